//! The conditions a run measures under, chosen once before any server
//! starts and recorded with every figure: the listen backlog every server
//! gets, and the CPUs the servers and the client run on.
//!
//! On Linux the servers are pinned to one CPU set and the harness's load
//! and latency threads to a disjoint one, so that client and server never
//! share a core by chance (which made latency bimodal: 18 to 57 µs for the
//! same binary). Elsewhere, or on one CPU, nothing is pinned, and the
//! record says so.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A sorted set of CPU numbers, written like the kernel's lists: `1`,
/// `2-3`, `0,2`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct CpuList(Vec<usize>);

impl CpuList {
    pub fn new(mut cpus: Vec<usize>) -> CpuList {
        cpus.sort_unstable();
        cpus.dedup();
        CpuList(cpus)
    }

    pub fn cpus(&self) -> &[usize] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn overlaps(&self, other: &CpuList) -> bool {
        self.0.iter().any(|cpu| other.0.contains(cpu))
    }

    fn without(&self, other: &CpuList) -> CpuList {
        CpuList(
            self.0
                .iter()
                .copied()
                .filter(|c| !other.0.contains(c))
                .collect(),
        )
    }
}

impl FromStr for CpuList {
    type Err = String;

    fn from_str(text: &str) -> Result<CpuList, String> {
        let mut cpus = Vec::new();
        for part in text.split(',').map(str::trim) {
            let range = match part.split_once('-') {
                Some((first, last)) => (cpu_number(first)?, cpu_number(last)?),
                None => (cpu_number(part)?, cpu_number(part)?),
            };
            if range.0 > range.1 {
                return Err(format!("`{part}` is a range that runs backwards"));
            }
            cpus.extend(range.0..=range.1);
        }
        Ok(CpuList::new(cpus))
    }
}

/// CPUs a `cpu_set_t` can name; a larger number cannot exist here.
const MAX_CPUS: usize = 1024;

fn cpu_number(text: &str) -> Result<usize, String> {
    let cpu: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a CPU number"))?;
    if cpu >= MAX_CPUS {
        return Err(format!(
            "CPU {cpu} is beyond the {MAX_CPUS} a CPU set can hold"
        ));
    }
    Ok(cpu)
}

impl fmt::Display for CpuList {
    /// Consecutive CPUs as ranges: `0-3,6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let mut i = 0;
        while i < self.0.len() {
            let start = self.0[i];
            while i + 1 < self.0.len() && self.0[i + 1] == self.0[i] + 1 {
                i += 1;
            }
            let end = self.0[i];
            parts.push(if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            });
            i += 1;
        }
        f.write_str(&parts.join(","))
    }
}

impl From<CpuList> for String {
    fn from(list: CpuList) -> String {
        list.to_string()
    }
}

impl TryFrom<String> for CpuList {
    type Error = String;

    fn try_from(text: String) -> Result<CpuList, String> {
        if text.is_empty() {
            return Ok(CpuList::default());
        }
        text.parse()
    }
}

/// Where servers and the client run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Placement {
    /// False when nothing is pinned: `FRAMEWORK_BENCH_PIN=off`, one CPU, or
    /// not Linux. Both lists are then every CPU the harness may use.
    pub pinned: bool,
    pub server_cpus: CpuList,
    pub client_cpus: CpuList,
}

/// Why a placement was refused, to be named with its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementError {
    /// (which list, the message)
    Bad(&'static str, String),
}

impl Placement {
    /// Chooses the CPUs from the knobs (`None` when unset) and the CPUs the
    /// harness may use. Default on N CPUs: the client gets the first half
    /// (at least one), the servers the rest; on two CPUs, client 0, server 1.
    pub fn choose(
        pin: bool,
        server: Option<CpuList>,
        client: Option<CpuList>,
        allowed: &CpuList,
    ) -> Result<Placement, PlacementError> {
        // A bad list is refused even when nothing will be pinned: a typo
        // must not pass silently because `PIN=off` was set too.
        for (which, list) in [("SERVER_CPUS", &server), ("CLIENT_CPUS", &client)] {
            if let Some(list) = list {
                check_list(which, list, allowed)?;
            }
        }
        if !pin || allowed.len() < 2 || !cfg!(target_os = "linux") {
            return Ok(Placement::unpinned(allowed));
        }
        // The variable to name: the one set by hand, the server's if both.
        let named = if server.is_none() && client.is_some() {
            "CLIENT_CPUS"
        } else {
            "SERVER_CPUS"
        };
        let (server, client) = match (server, client) {
            (Some(s), Some(c)) => (s, c),
            (Some(s), None) => (s.clone(), allowed.without(&s)),
            (None, Some(c)) => (allowed.without(&c), c),
            (None, None) => {
                let half = allowed.len() / 2;
                let client = CpuList(allowed.0[..half].to_vec());
                (allowed.without(&client), client)
            }
        };
        if server.is_empty() || client.is_empty() {
            let message = format!(
                "servers and client each need a CPU (server CPUs: {server}, client CPUs: {client})"
            );
            return Err(PlacementError::Bad(named, message));
        }
        if server.overlaps(&client) {
            let message = format!("server CPUs {server} overlap client CPUs {client}");
            return Err(PlacementError::Bad(named, message));
        }
        Ok(Placement {
            pinned: true,
            server_cpus: server,
            client_cpus: client,
        })
    }

    fn unpinned(allowed: &CpuList) -> Placement {
        Placement {
            pinned: false,
            server_cpus: allowed.clone(),
            client_cpus: allowed.clone(),
        }
    }
}

fn check_list(
    which: &'static str,
    list: &CpuList,
    allowed: &CpuList,
) -> Result<(), PlacementError> {
    if list.is_empty() {
        return Err(PlacementError::Bad(which, "an empty CPU list".into()));
    }
    let missing: Vec<usize> = list
        .0
        .iter()
        .copied()
        .filter(|c| !allowed.0.contains(c))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        let message = format!(
            "CPU {} does not exist here (this machine has {allowed})",
            CpuList(missing)
        );
        Err(PlacementError::Bad(which, message))
    }
}

/// The listen backlog every server gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BacklogSetting {
    /// One that holds the whole burst (the burst size), capped at what the
    /// kernel allows (`net.core.somaxconn`).
    #[default]
    Burst,
    /// Each framework's own default, as shipped.
    FrameworkDefault,
    /// This many, for every server.
    Fixed(NonZeroU32),
}

impl BacklogSetting {
    /// The backlog to pass as `--backlog`; `None` for the framework's own.
    pub fn resolve(self, n_requests: usize, somaxconn: Option<u32>) -> Option<u32> {
        let cap = somaxconn.unwrap_or(u32::MAX);
        match self {
            BacklogSetting::Burst => Some(u32::try_from(n_requests).unwrap_or(u32::MAX).min(cap)),
            BacklogSetting::FrameworkDefault => None,
            BacklogSetting::Fixed(n) => Some(n.get().min(cap)),
        }
    }
}

impl FromStr for BacklogSetting {
    type Err = ();

    fn from_str(text: &str) -> Result<BacklogSetting, ()> {
        match text.trim() {
            "default" => Ok(BacklogSetting::FrameworkDefault),
            "burst" => Ok(BacklogSetting::Burst),
            n => n.parse().map(BacklogSetting::Fixed).map_err(drop),
        }
    }
}

/// What a run measured under that is not a parameter: the backlog every
/// server got and the kernel's cap on it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Conditions {
    /// The `--backlog` every server got; `None`: each framework's own.
    pub backlog: Option<u32>,
    /// `net.core.somaxconn`, the kernel's cap on every backlog.
    pub somaxconn: Option<u32>,
}

/// `net.core.somaxconn`: the kernel caps every listen backlog at it.
pub fn somaxconn() -> Option<u32> {
    let text = std::fs::read_to_string("/proc/sys/net/core/somaxconn").ok()?;
    text.trim().parse().ok()
}

/// The CPUs this process may run on.
pub fn allowed_cpus() -> CpuList {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set, and
        // sched_getaffinity writes at most its size.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if unsafe { libc::sched_getaffinity(0, size, &mut set) } == 0 {
            let max = 8 * size;
            // SAFETY: CPU_ISSET reads within the set for cpu < 8 * size.
            let cpus = (0..max).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) });
            return CpuList::new(cpus.collect());
        }
    }
    let n = std::thread::available_parallelism().map_or(1, usize::from);
    CpuList::new((0..n).collect())
}

/// The CPU set for `sched_setaffinity`, built before a fork so that the
/// child only makes the call.
#[cfg(target_os = "linux")]
pub fn cpu_set(cpus: &CpuList) -> libc::cpu_set_t {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes within
    // it for cpu < 8 * size, checked here.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let max = 8 * std::mem::size_of::<libc::cpu_set_t>();
    for &cpu in cpus.cpus().iter().filter(|&&cpu| cpu < max) {
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    set
}

/// Pins the calling thread to `cpus`.
pub fn pin_current_thread(cpus: &CpuList) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let set = cpu_set(cpus);
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: pid 0 is the calling thread; `set` is a valid set.
        if unsafe { libc::sched_setaffinity(0, size, &set) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let _ = cpus;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> CpuList {
        text.parse().unwrap()
    }

    #[test]
    fn cpu_lists_parse_like_the_kernels_and_print_back() {
        assert_eq!(list("1").cpus(), [1]);
        assert_eq!(list("2-3").cpus(), [2, 3]);
        assert_eq!(list("0,2").cpus(), [0, 2]);
        assert_eq!(list("3,0-1,1").cpus(), [0, 1, 3]);
        assert_eq!(list("0-3,6").to_string(), "0-3,6");
        for bad in ["", "x", "1-", "3-1", "1,,2", "-1", "0-4000000000", "1024"] {
            assert!(bad.parse::<CpuList>().is_err(), "{bad}");
        }
    }

    #[test]
    fn two_cpus_split_into_client_0_and_server_1() {
        let p = Placement::choose(true, None, None, &list("0-1")).unwrap();
        assert!(p.pinned || !cfg!(target_os = "linux"));
        if p.pinned {
            assert_eq!(
                (p.client_cpus.cpus(), p.server_cpus.cpus()),
                (&[0][..], &[1][..])
            );
        }
        let four = Placement::choose(true, None, None, &list("0-3")).unwrap();
        if four.pinned {
            assert_eq!(
                (four.client_cpus.to_string(), four.server_cpus.to_string()),
                ("0-1".into(), "2-3".into())
            );
        }
    }

    #[test]
    fn one_cpu_or_pin_off_pins_nothing() {
        let one = Placement::choose(true, None, None, &list("0")).unwrap();
        assert!(!one.pinned);
        assert_eq!(one.server_cpus, one.client_cpus);
        let off = Placement::choose(false, Some(list("1")), None, &list("0-1")).unwrap();
        assert!(!off.pinned);
    }

    #[test]
    fn bad_lists_are_refused_naming_the_list() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let allowed = list("0-1");
        let err = |server: Option<&str>, client: Option<&str>| {
            let PlacementError::Bad(which, message) =
                Placement::choose(true, server.map(list), client.map(list), &allowed).unwrap_err();
            (which, message)
        };
        let (which, message) = err(Some("7"), None);
        assert_eq!(which, "SERVER_CPUS");
        assert!(message.contains("CPU 7 does not exist"), "{message}");
        assert_eq!(err(None, Some("5")).0, "CLIENT_CPUS");
        assert!(err(Some("0-1"), Some("1")).1.contains("overlap"));
        assert!(err(Some("0-1"), None).1.contains("each need a CPU"));
        // Only the client list set by hand: the error names it, not the
        // server's list the user never wrote.
        let (which, message) = err(None, Some("0-1"));
        assert_eq!(which, "CLIENT_CPUS");
        assert!(message.contains("each need a CPU"), "{message}");
    }

    #[test]
    fn a_bad_list_is_refused_even_when_nothing_is_pinned() {
        let refused = Placement::choose(false, Some(list("7")), None, &list("0-1"));
        assert!(
            matches!(refused, Err(PlacementError::Bad("SERVER_CPUS", ref m)) if m.contains("CPU 7")),
            "{refused:?}"
        );
        let one_cpu = Placement::choose(true, None, Some(list("3")), &list("0"));
        assert!(matches!(
            one_cpu,
            Err(PlacementError::Bad("CLIENT_CPUS", _))
        ));
    }

    #[test]
    fn the_backlog_holds_the_burst_up_to_the_kernels_cap() {
        assert_eq!(BacklogSetting::Burst.resolve(2000, Some(4096)), Some(2000));
        assert_eq!(BacklogSetting::Burst.resolve(9000, Some(4096)), Some(4096));
        assert_eq!(
            BacklogSetting::FrameworkDefault.resolve(2000, Some(4096)),
            None
        );
        let fixed: BacklogSetting = "64".parse().unwrap();
        assert_eq!(fixed.resolve(2000, None), Some(64));
        assert_eq!("default".parse(), Ok(BacklogSetting::FrameworkDefault));
        assert!("0".parse::<BacklogSetting>().is_err());
        assert!("lots".parse::<BacklogSetting>().is_err());
    }
}
