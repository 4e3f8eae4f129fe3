//! The run's knobs, read once from `FRAMEWORK_BENCH_*` environment variables
//! into one validated configuration. Criterion's own flags stay Criterion's.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::conditions::{BacklogSetting, CpuList, Placement, PlacementError, allowed_cpus};
use crate::error::{Error, Result};

/// The group of a manifest that names none: the servers a plain run measures.
pub const DEFAULT_GROUP: &str = "rust";

/// The prefix of every environment variable the suite reads.
pub const ENV_PREFIX: &str = "FRAMEWORK_BENCH_";

/// Every knob: (suffix, what it means, default shown to users).
pub const KNOBS: [(&str, &str, &str); 22] = [
    ("REQUESTS", "requests in the burst (the seed's N)", "2000"),
    (
        "TIMEOUT",
        "per-request timeout of the burst, seconds",
        "1.0",
    ),
    (
        "SETTLE",
        "the longest wait for memory to stop moving, after start and after the burst, seconds",
        "2.0",
    ),
    (
        "WORKERS",
        "worker threads every server is started with",
        "the machine's CPUs",
    ),
    (
        "CONCURRENCY",
        "keep-alive connections of the latency client",
        "1",
    ),
    (
        "ROUNDS",
        "independent rounds (fresh processes) of start, burst, snapshots and latency readings per server",
        "5",
    ),
    (
        "PROBE_REQUESTS",
        "requests of each round's latency reading per route (at most 0.5 s of them), after a tenth as many to warm up; half as many for the control",
        "3000",
    ),
    (
        "READY_TIMEOUT",
        "deadline for a server's ready line (or its own start line), and again for the expected answer to its first request, seconds",
        "10",
    ),
    (
        "BACKLOG",
        "listen backlog of every server: a number, or `default` for each framework's own",
        "the burst size, capped at net.core.somaxconn",
    ),
    (
        "SERVER_CPUS",
        "CPUs the servers are pinned to, e.g. `1`, `2-3`, `0,2`",
        "the second half of the CPUs",
    ),
    (
        "CLIENT_CPUS",
        "CPUs the harness's load and latency threads are pinned to",
        "the first half of the CPUs",
    ),
    ("PIN", "`off`: pin nothing", "on"),
    (
        "ASLR",
        "`off`: start servers with address-space randomisation off (`setarch -R`)",
        "on",
    ),
    (
        "BURST",
        "the burst's shape: `held` opens every connection, waits until the server holds them all, then sends every request; `as-is` is the seed's, each request connecting as it goes",
        "held",
    ),
    (
        "HEAP",
        "`off`: do not count the servers' heap (a preload library counts every malloc and free: allocations per request, live heap; Python servers run with `PYTHONMALLOC=malloc` for it)",
        "counted",
    ),
    (
        "LEAK_BURSTS",
        "bursts in a row on one more process of each server, for the leak verdict (at least 4); `off` for none",
        "off",
    ),
    (
        "INSTRUCTIONS",
        "`on`: instructions per request of every route, counted by valgrind's callgrind on one more process of each server (skipped, with a message, where valgrind is missing)",
        "off",
    ),
    (
        "SWEEP",
        "the throughput sweep's connection counts (`1,16,64,256`), `on` for those, `off` for none; test mode always runs it",
        "off",
    ),
    (
        "SERVERS",
        "which servers run: names and groups (`rust`, `python`, `all`), or a path to a server's folder (`servers/examples/http-server`), comma-separated",
        "rust",
    ),
    (
        "AB",
        "two servers compared in one run, their rounds interleaved A B B A (`tide,tide-nodelay`): B's figures judged against A's; exit 1 on a regression",
        "off",
    ),
    (
        "RATE",
        "the constant-rate runs' requests per second (`20000,50000`), instead of 50 % and 90 % of each server's maximum",
        "50 % and 90 % of the sweep's maximum",
    ),
    (
        "TEST_REQUESTS",
        "requests in the burst in Criterion's test mode",
        "50",
    ),
];

/// One run's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    pub n_requests: usize,
    #[serde(with = "crate::units::duration_ns", rename = "timeout_ns")]
    pub timeout: Duration,
    #[serde(with = "crate::units::duration_ns", rename = "settle_ns")]
    pub settle: Duration,
    pub workers: usize,
    pub concurrency: usize,
    pub rounds: usize,
    /// Requests of each round's latency reading per route.
    #[serde(default = "default_probe_requests")]
    pub probe_requests: usize,
    #[serde(with = "crate::units::duration_ns", rename = "ready_timeout_ns")]
    pub ready_timeout: Duration,
    pub test_n_requests: usize,
    /// Absent in runs before the controlled conditions: read as the burst
    /// backlog, which those runs did not have (a comparison warns).
    #[serde(default)]
    pub backlog: BacklogSetting,
    #[serde(default)]
    pub placement: Placement,
    /// The connection counts of the throughput sweep; empty: no sweep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<usize>,
    /// Which servers run: names and groups (`rust`, `python`, `all`),
    /// checked against the manifests when the run starts.
    #[serde(default = "default_servers")]
    pub servers: Vec<String>,
    /// Address-space randomisation for the servers (off: `setarch -R`).
    #[serde(default = "yes")]
    pub aslr: bool,
    /// The burst's shape.
    #[serde(default)]
    pub burst: BurstShape,
    /// An interleaved A/B run of two servers: `servers` is then the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<AbPair>,
    /// The constant-rate runs' rates; empty: fractions of each server's
    /// maximum ([`RATE_PERCENTS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<u32>,
    /// Count the servers' heap with the preload library (false in runs
    /// before it).
    #[serde(default)]
    pub count_heap: bool,
    /// Bursts in a row on one more process of each server, for the leak
    /// verdict; 0: none.
    #[serde(default)]
    pub leak_bursts: usize,
    /// Count instructions per request with callgrind.
    #[serde(default)]
    pub instructions: bool,
}

/// Rounds with the heap counted, after the others (see
/// [`BenchConfig::heap_rounds`]).
pub const HEAP_ROUNDS: usize = 3;

/// The fewest bursts of a leak check: the first fills what a server keeps
/// for good and is left out, and a slope needs three more points to say
/// how far they scatter around it.
pub const MIN_LEAK_BURSTS: usize = 4;

fn yes() -> bool {
    true
}

/// How the burst's connections meet the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BurstShape {
    /// Every connection opened first, the server seen holding them all
    /// (its open files), then every request sent: the same peak load in
    /// every run.
    #[default]
    Held,
    /// The seed's: each request connects as it goes, so how many the
    /// server holds at once depends on timing. Absent in older run files:
    /// they had this shape.
    AsIs,
}

/// The two servers of an interleaved A/B run: B is judged against A.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbPair {
    pub a: String,
    pub b: String,
}

/// Rounds a side of an A/B run has unless `FRAMEWORK_BENCH_ROUNDS` says
/// otherwise. Measured on the project's 2-core machine (2026-12-02): a
/// round's latency reading scatters by about 8 % between fresh processes,
/// so 8 pairs caught +10 % latency in 8 to 12 of 20 A/B runs; 16 pairs
/// keep the run within a minute. (With five pairs, a single change needs
/// t > 7 at 4 degrees of freedom.)
pub const AB_ROUNDS: usize = 16;

/// The constant-rate runs by default: these shares, in percent, of the
/// server's closed-loop maximum from the sweep.
pub const RATE_PERCENTS: [u8; 2] = [50, 90];

/// The constant-rate share whose percentiles the comparison judges. At
/// 90 % of the maximum a server is near saturation and the open loop is
/// bimodal (axum `/json` p50 from 25 µs to 21 ms over three runs of
/// unchanged code): shown, not compared.
pub const COMPARED_RATE_PERCENT: u8 = 50;

fn default_probe_requests() -> usize {
    3000
}

fn default_servers() -> Vec<String> {
    vec![DEFAULT_GROUP.to_owned()]
}

/// The sweep's connection counts by default: one connection (latency's
/// inverse), a few per CPU, and the loads at which servers differ most in
/// published sweeps.
pub const DEFAULT_SWEEP: [usize; 4] = [1, 16, 64, 256];

/// The most connections a sweep may ask for: each is an open file in the
/// harness and in the server.
pub const MAX_SWEEP_CONNECTIONS: usize = 4096;

impl Default for BenchConfig {
    fn default() -> Self {
        let allowed = allowed_cpus();
        let placement = Placement::choose(true, None, None, &allowed)
            .unwrap_or_else(|_| Placement::choose(false, None, None, &allowed).unwrap_or_default());
        BenchConfig {
            n_requests: 2000,
            timeout: Duration::from_secs(1),
            settle: Duration::from_secs(2),
            workers: placement.server_cpus.len().max(1),
            concurrency: 1,
            rounds: 5,
            probe_requests: default_probe_requests(),
            ready_timeout: Duration::from_secs(10),
            test_n_requests: 50,
            backlog: BacklogSetting::Burst,
            placement,
            sweep: Vec::new(),
            rates: Vec::new(),
            servers: default_servers(),
            ab: None,
            aslr: true,
            burst: BurstShape::Held,
            count_heap: true,
            leak_bursts: 0,
            instructions: false,
        }
    }
}

impl BenchConfig {
    /// Reads the process environment. A `FRAMEWORK_BENCH_*` variable that
    /// is not a knob (a typo would otherwise be ignored without a word) or
    /// whose value is not UTF-8 is an error too.
    pub fn from_env() -> Result<BenchConfig> {
        check_names(std::env::vars_os())?;
        BenchConfig::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (the environment, or a map in tests).
    /// The first bad value is an error naming the variable, the value and
    /// what is allowed.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<BenchConfig> {
        let defaults = BenchConfig::default();
        let var = |suffix: &str| {
            let name = format!("{ENV_PREFIX}{suffix}");
            get(&name).map(|value| (name, value))
        };
        let placement = placement(&var)?;
        let workers = count(var("WORKERS"))?.unwrap_or(placement.server_cpus.len().max(1));
        let ab = ab_pair(var("AB"))?;
        let servers = match (&ab, var("SERVERS")) {
            (Some(_), Some((name, value))) => {
                return Err(Error::InvalidSetting {
                    name,
                    value,
                    allowed: format!(
                        "nothing with {ENV_PREFIX}AB, which names the run's two servers"
                    ),
                });
            }
            (Some(pair), None) => vec![pair.a.clone(), pair.b.clone()],
            (None, listed) => servers(listed)?.unwrap_or(defaults.servers),
        };
        let rounds = match &ab {
            Some(_) => AB_ROUNDS,
            None => defaults.rounds,
        };
        Ok(BenchConfig {
            ab,
            aslr: on_off(var("ASLR"))?.unwrap_or(defaults.aslr),
            burst: burst_shape(var("BURST"))?.unwrap_or(defaults.burst),
            count_heap: heap(var("HEAP"))?.unwrap_or(defaults.count_heap),
            leak_bursts: leak_bursts(var("LEAK_BURSTS"))?.unwrap_or(defaults.leak_bursts),
            instructions: on_off(var("INSTRUCTIONS"))?.unwrap_or(defaults.instructions),
            backlog: backlog(var("BACKLOG"))?.unwrap_or(defaults.backlog),
            placement,
            workers,
            n_requests: count(var("REQUESTS"))?.unwrap_or(defaults.n_requests),
            timeout: seconds(var("TIMEOUT"), false)?.unwrap_or(defaults.timeout),
            settle: seconds(var("SETTLE"), true)?.unwrap_or(defaults.settle),
            concurrency: count(var("CONCURRENCY"))?.unwrap_or(defaults.concurrency),
            rounds: count(var("ROUNDS"))?.unwrap_or(rounds),
            probe_requests: count(var("PROBE_REQUESTS"))?.unwrap_or(defaults.probe_requests),
            ready_timeout: seconds(var("READY_TIMEOUT"), false)?.unwrap_or(defaults.ready_timeout),
            test_n_requests: count(var("TEST_REQUESTS"))?.unwrap_or(defaults.test_n_requests),
            sweep: sweep(var("SWEEP"))?.unwrap_or(defaults.sweep),
            rates: rates(var("RATE"))?.unwrap_or(defaults.rates),
            servers,
        })
    }

    /// The same run, shrunk for Criterion's test mode: a small burst, one
    /// round and no settling, so CI starts and checks every server quickly.
    pub fn for_test_mode(&self) -> BenchConfig {
        BenchConfig {
            n_requests: self.n_requests.min(self.test_n_requests),
            settle: Duration::ZERO,
            rounds: 1,
            probe_requests: self.probe_requests.min(self.test_n_requests),
            // Test mode runs every group once, the sweep's too.
            sweep: if self.sweep.is_empty() {
                DEFAULT_SWEEP.to_vec()
            } else {
                self.sweep.clone()
            },
            ..self.clone()
        }
    }

    /// Rounds with the heap counted: [`HEAP_ROUNDS`] (1 in test mode), none
    /// with `FRAMEWORK_BENCH_HEAP=off`. Counting costs a server time (the
    /// counter's own work, and `PYTHONMALLOC=malloc` for Python), so these
    /// rounds come after the others and give the heap figures only; what
    /// they count does not depend on the machine's speed, so three
    /// readings are enough.
    pub fn heap_rounds(&self) -> usize {
        match self.count_heap {
            true => HEAP_ROUNDS.min(self.rounds.max(1)),
            false => 0,
        }
    }

    /// The most connections the run opens at once: the burst's, or the
    /// sweep's largest count.
    pub fn largest_load(&self) -> usize {
        let sweep = self.sweep.iter().copied().max().unwrap_or(0);
        self.n_requests.max(sweep)
    }

    /// The open files one burst needs (client and server each hold one per
    /// connection), with room for everything else.
    pub fn open_files_needed(&self) -> u64 {
        // The ceiling's responder runs in the harness: both ends of each of
        // its connections are the harness's files.
        let connections = 2 * self.sweep.iter().copied().max().unwrap_or(0);
        self.n_requests.max(connections) as u64 + 256
    }
}

/// Every variable with the prefix must be a knob, with a UTF-8 value.
fn check_names(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<()> {
    for (name, value) in vars {
        let Some(suffix) = name.to_str().and_then(|n| n.strip_prefix(ENV_PREFIX)) else {
            continue;
        };
        let known = KNOBS.iter().any(|(knob, _, _)| *knob == suffix);
        let allowed = if !known {
            let names: Vec<String> = KNOBS
                .iter()
                .map(|(k, _, _)| format!("{ENV_PREFIX}{k}"))
                .collect();
            format!("not a knob; the knobs are {}", names.join(", "))
        } else if value.to_str().is_none() {
            "UTF-8 text".to_owned()
        } else {
            continue;
        };
        return Err(Error::InvalidSetting {
            name: name.to_string_lossy().into_owned(),
            value: value.to_string_lossy().into_owned(),
            allowed,
        });
    }
    Ok(())
}

/// Where servers and client run, from `PIN`, `SERVER_CPUS` and `CLIENT_CPUS`.
fn placement(var: &dyn Fn(&str) -> Option<(String, String)>) -> Result<Placement> {
    let pin = match var("PIN") {
        None => true,
        Some((_, v)) if v.trim() == "on" => true,
        Some((_, v)) if v.trim() == "off" => false,
        Some((name, value)) => {
            let allowed = "`on` or `off`".into();
            return Err(Error::InvalidSetting {
                name,
                value,
                allowed,
            });
        }
    };
    let allowed = allowed_cpus();
    let server = cpu_list(var("SERVER_CPUS"), &allowed)?;
    let client = cpu_list(var("CLIENT_CPUS"), &allowed)?;
    Placement::choose(pin, server, client, &allowed).map_err(
        |PlacementError::Bad(which, message)| {
            let name = format!("{ENV_PREFIX}{which}");
            let value = var(which).map(|(_, v)| v).unwrap_or_default();
            Error::InvalidSetting {
                name,
                value,
                allowed: message,
            }
        },
    )
}

fn cpu_list(var: Option<(String, String)>, allowed: &CpuList) -> Result<Option<CpuList>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    value
        .parse()
        .map(Some)
        .map_err(|message: String| Error::InvalidSetting {
            name,
            value,
            allowed: format!("a CPU list such as `1`, `2-3` or `0,2` of CPUs {allowed}: {message}"),
        })
}

fn backlog(var: Option<(String, String)>) -> Result<Option<BacklogSetting>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    value.parse().map(Some).map_err(|()| Error::InvalidSetting {
        name,
        value,
        allowed: "a whole number of at least 1, or `default`".into(),
    })
}

/// `off`, `on` (the default counts) or a comma list of connection counts.
fn sweep(var: Option<(String, String)>) -> Result<Option<Vec<usize>>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    let list = match value.trim() {
        "off" => Some(Vec::new()),
        "on" => Some(DEFAULT_SWEEP.to_vec()),
        list => list
            .split(',')
            .map(|c| c.trim().parse::<usize>().ok())
            .map(|c| c.filter(|&c| (1..=MAX_SWEEP_CONNECTIONS).contains(&c)))
            .collect::<Option<Vec<usize>>>(),
    };
    match list {
        Some(mut list) => {
            list.sort_unstable();
            list.dedup();
            Ok(Some(list))
        }
        None => Err(Error::InvalidSetting {
            name,
            value,
            allowed: format!(
                "`on`, `off`, or connection counts from 1 to {MAX_SWEEP_CONNECTIONS} separated by commas, e.g. `1,16,64,256`"
            ),
        }),
    }
}

/// A comma list of server names and groups; which exist is checked
/// against the manifests.
fn servers(var: Option<(String, String)>) -> Result<Option<Vec<String>>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    let words: Vec<String> = value.split(',').map(|w| w.trim().to_owned()).collect();
    // A word with a `/` is a path to a server's folder or manifest.
    let word_ok = |w: &String| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    };
    if words.iter().all(word_ok) {
        Ok(Some(words))
    } else {
        Err(Error::InvalidSetting {
            name,
            value,
            allowed: "server names or groups (`rust`, `python`, `all`), or paths to a server's folder (`servers/examples/http-server`), separated by commas".into(),
        })
    }
}

/// `on` or `off`.
fn on_off(var: Option<(String, String)>) -> Result<Option<bool>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    match value.trim() {
        "on" => Ok(Some(true)),
        "off" => Ok(Some(false)),
        _ => Err(Error::InvalidSetting {
            name,
            value,
            allowed: "`on` or `off`".into(),
        }),
    }
}

/// `counted` or `off`.
fn heap(var: Option<(String, String)>) -> Result<Option<bool>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    match value.trim() {
        "counted" | "on" => Ok(Some(true)),
        "off" => Ok(Some(false)),
        _ => Err(Error::InvalidSetting {
            name,
            value,
            allowed: "`counted` or `off`".into(),
        }),
    }
}

/// `off`, or a number of bursts of at least [`MIN_LEAK_BURSTS`].
fn leak_bursts(var: Option<(String, String)>) -> Result<Option<usize>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    match value.trim() {
        "off" | "0" => Ok(Some(0)),
        text => match text.parse::<usize>() {
            Ok(n) if (MIN_LEAK_BURSTS..=100).contains(&n) => Ok(Some(n)),
            _ => Err(Error::InvalidSetting {
                name,
                value,
                allowed: format!("`off`, or {MIN_LEAK_BURSTS} to 100 bursts"),
            }),
        },
    }
}

/// `held` or `as-is`.
fn burst_shape(var: Option<(String, String)>) -> Result<Option<BurstShape>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    match value.trim() {
        "held" => Ok(Some(BurstShape::Held)),
        "as-is" => Ok(Some(BurstShape::AsIs)),
        _ => Err(Error::InvalidSetting {
            name,
            value,
            allowed: "`held` or `as-is`".into(),
        }),
    }
}

/// `a,b`: two distinct server names.
fn ab_pair(var: Option<(String, String)>) -> Result<Option<AbPair>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    if value.trim() == "off" {
        return Ok(None);
    }
    let words = servers(Some((name.clone(), value.clone())))?.unwrap_or_default();
    match words.as_slice() {
        [a, b] if a != b => Ok(Some(AbPair {
            a: a.clone(),
            b: b.clone(),
        })),
        _ => Err(Error::InvalidSetting {
            name,
            value,
            allowed:
                "two different server names separated by a comma (`tide,tide-nodelay`), or `off`"
                    .into(),
        }),
    }
}

/// A comma list of requests per second, each at least 1.
fn rates(var: Option<(String, String)>) -> Result<Option<Vec<u32>>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    let list: Option<Vec<u32>> = value
        .split(',')
        .map(|r| r.trim().parse::<u32>().ok().filter(|&r| r >= 1))
        .collect();
    list.map(Some).ok_or_else(|| Error::InvalidSetting {
        name,
        value,
        allowed: "requests per second, whole numbers of at least 1 separated by commas, e.g. `20000,50000`".into(),
    })
}

/// A whole number of at least 1.
fn count(var: Option<(String, String)>) -> Result<Option<usize>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    match value.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(Some(n)),
        _ => Err(Error::InvalidSetting {
            name,
            value,
            allowed: "a whole number of at least 1".into(),
        }),
    }
}

/// Seconds as a decimal number, finite, positive (or zero if allowed).
fn seconds(var: Option<(String, String)>, zero_ok: bool) -> Result<Option<Duration>> {
    let Some((name, value)) = var else {
        return Ok(None);
    };
    let parsed = value.trim().parse::<f64>().ok();
    // Below a millisecond a timeout means nothing (and 1e-12 would round
    // to a zero Duration).
    match parsed {
        Some(s) if s.is_finite() && (s >= 0.001 || (zero_ok && s == 0.0)) && s <= 3600.0 => {
            Ok(Some(Duration::from_secs_f64(s)))
        }
        _ => Err(Error::InvalidSetting {
            name,
            value,
            allowed: if zero_ok {
                "seconds: 0, or a number from 0.001 to 3600 (e.g. 0.5)".into()
            } else {
                "seconds, a number from 0.001 (above 0) to 3600 (e.g. 0.5)".into()
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<BenchConfig> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (format!("{ENV_PREFIX}{k}"), v.to_string()))
            .collect();
        BenchConfig::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn an_ab_run_names_two_different_servers_and_nothing_else() {
        let vars = |pairs: &[(&str, &str)]| {
            let map: std::collections::BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (format!("{ENV_PREFIX}{k}"), (*v).to_owned()))
                .collect();
            BenchConfig::from_vars(|name| map.get(name).cloned())
        };
        let config = vars(&[("AB", "tide,tide-nodelay")]).unwrap();
        assert_eq!(config.servers, ["tide", "tide-nodelay"]);
        assert_eq!(config.rounds, AB_ROUNDS);
        let ab = config.ab.unwrap();
        assert_eq!((ab.a.as_str(), ab.b.as_str()), ("tide", "tide-nodelay"));
        assert_eq!(
            vars(&[("AB", "axum,warp"), ("ROUNDS", "4")])
                .unwrap()
                .rounds,
            4
        );
        assert_eq!(vars(&[("AB", "off")]).unwrap().ab, None);
        for bad in ["axum", "axum,axum", "a,b,c", "axum,"] {
            let err = vars(&[("AB", bad)]).unwrap_err().to_string();
            assert!(err.contains("FRAMEWORK_BENCH_AB"), "{err}");
        }
        let err = vars(&[("AB", "axum,warp"), ("SERVERS", "axum")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("FRAMEWORK_BENCH_SERVERS"), "{err}");
    }

    #[test]
    fn defaults_are_the_seeds() {
        let config = config(&[]).unwrap();
        assert_eq!(config.n_requests, 2000);
        assert_eq!(config.timeout, Duration::from_secs(1));
        assert_eq!(config.settle, Duration::from_secs(2));
        assert!(config.workers >= 1);
        assert_eq!(config.concurrency, 1);
    }

    #[test]
    fn reads_every_knob() {
        let config = config(&[
            ("REQUESTS", "500"),
            ("TIMEOUT", "0.5"),
            ("SETTLE", "0"),
            ("WORKERS", "3"),
            ("CONCURRENCY", "4"),
            ("ROUNDS", "5"),
            ("READY_TIMEOUT", "30"),
            ("TEST_REQUESTS", "7"),
        ])
        .unwrap();
        assert_eq!(config.n_requests, 500);
        assert_eq!(config.timeout, Duration::from_millis(500));
        assert_eq!(config.settle, Duration::ZERO);
        assert_eq!(
            (config.workers, config.concurrency, config.rounds),
            (3, 4, 5)
        );
        assert_eq!(config.ready_timeout, Duration::from_secs(30));
        let test = config.for_test_mode();
        assert_eq!(
            (test.n_requests, test.settle, test.rounds),
            (7, Duration::ZERO, 1)
        );
    }

    #[test]
    fn the_sweep_is_opt_in_except_in_test_mode() {
        assert_eq!(config(&[]).unwrap().sweep, Vec::<usize>::new());
        assert_eq!(config(&[]).unwrap().for_test_mode().sweep, DEFAULT_SWEEP);
        assert_eq!(config(&[("SWEEP", "on")]).unwrap().sweep, DEFAULT_SWEEP);
        assert_eq!(config(&[("SWEEP", "64, 1,64")]).unwrap().sweep, vec![1, 64]);
        assert!(config(&[("SWEEP", "off")]).unwrap().sweep.is_empty());
    }

    #[test]
    fn bad_values_name_the_variable_the_value_and_the_rule() {
        let cases = [
            ("REQUESTS", "0", "a whole number of at least 1"),
            ("REQUESTS", "lots", "a whole number"),
            ("REQUESTS", "-5", "a whole number"),
            ("TIMEOUT", "-1", "above 0"),
            ("TIMEOUT", "0", "above 0"),
            ("TIMEOUT", "NaN", "above 0"),
            ("TIMEOUT", "1e-12", "from 0.001"),
            ("SETTLE", "inf", "0.001 to 3600"),
            ("WORKERS", "0", "at least 1"),
            ("SWEEP", "0,16", "connection counts from 1 to 4096"),
            ("SWEEP", "16,,64", "connection counts"),
            ("SWEEP", "9000", "connection counts"),
            ("SWEEP", "", "connection counts"),
            ("RATE", "0", "requests per second"),
            ("SERVERS", "", "server names or groups"),
            ("SERVERS", "rust,,axum", "server names or groups"),
            ("RATE", "fast", "requests per second"),
        ];
        for (knob, value, rule) in cases {
            let err = config(&[(knob, value)]).unwrap_err().to_string();
            assert!(err.contains(&format!("{ENV_PREFIX}{knob}")), "{err}");
            assert!(err.contains(&format!("{value:?}")), "{err}");
            assert!(err.contains(rule), "{err}");
        }
    }

    #[test]
    fn unknown_names_and_non_utf8_values_are_errors() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt;
        let var = |name: &str, value: OsString| (OsString::from(name), value);
        let typo = [var("FRAMEWORK_BENCH_REQUEST", "100".into())];
        let err = check_names(typo).unwrap_err().to_string();
        assert!(
            err.contains("FRAMEWORK_BENCH_REQUEST") && err.contains("FRAMEWORK_BENCH_REQUESTS"),
            "{err}"
        );
        let binary = [var(
            "FRAMEWORK_BENCH_TIMEOUT",
            OsString::from_vec(vec![0xff]),
        )];
        assert!(
            check_names(binary)
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
        let fine = [
            var("FRAMEWORK_BENCH_TIMEOUT", "0.5".into()),
            var("PATH", OsString::from_vec(vec![0xff])),
        ];
        assert!(check_names(fine).is_ok());
    }

    #[test]
    fn every_knob_is_documented_in_the_readme() {
        let readme = include_str!("../README.md");
        for (suffix, _, _) in KNOBS {
            assert!(
                readme.contains(&format!("{ENV_PREFIX}{suffix}")),
                "{suffix}"
            );
        }
    }
}
