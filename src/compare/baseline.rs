//! Baselines: a run's figures under a name, to compare later runs with.
//!
//! One format serves both kinds:
//! - `cargo bench -- --save-baseline NAME` keeps
//!   `<criterion dir>/framework-bench/baselines/NAME.json` next to
//!   Criterion's own baselines (Criterion's default, `base`, too);
//! - `framework-bench baseline save NAME` commits one to
//!   `target-baselines/NAME/baseline.json`.
//!
//! Every run also writes `<criterion dir>/framework-bench/latest-summary.json`
//! in this format; that is what `baseline save` copies and `baseline
//! compare` compares. Files are pretty JSON with sorted metrics, so they
//! diff well, and are written atomically.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::compare::figures::{Metric, Stage};
use crate::compare::loads;
use crate::compare::verdict::{Comparison, Judgement, Row, Verdict, compare};
use crate::conditions::Conditions;
use crate::config::BenchConfig;
use crate::error::{Error, Result};
use crate::load::request::Loads;
use crate::measure::environment::Environment;
use crate::record::RunMode;
use crate::record::RunRecord;

/// The longest baseline name: Criterion cuts directory names at 64 bytes.
const MAX_BASELINE_NAME: usize = 64;

/// The schema name in every summary and baseline file.
pub const SUMMARY_SCHEMA: &str = "framework-bench/summary/v1";

/// The run summary written next to each run, and the baseline format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: String,
    /// The baseline's name; `latest` for the summary of the last run.
    pub name: String,
    pub taken_at_unix: u64,
    pub mode: RunMode,
    pub environment: Environment,
    /// Every parameter of the run.
    pub config: BenchConfig,
    /// The backlog and the kernel's cap (absent in older baselines).
    #[serde(default)]
    pub conditions: Conditions,
    /// Server name -> what ran: framework version and worker count.
    pub servers: BTreeMap<String, ServerInfo>,
    /// Sorted by server, then figure.
    pub metrics: Vec<Metric>,
}

/// What a summary records of each server besides its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: Option<String>,
    pub workers: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The phases whose client was the bottleneck (`burst`,
    /// `latency-hello`, ...): their figures measured the client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_bound: Vec<String>,
    /// Constant-rate runs that did not hold their rate: their figures are
    /// not this run's, and a comparison fails on them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unheld_rates: Vec<UnheldRate>,
    /// What its figures were measured on, for a server that declared its
    /// requests (absent: the contract's, as in every older baseline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loads: Option<Loads>,
}

impl ServerInfo {
    fn loads(&self) -> Loads {
        self.loads.clone().unwrap_or_else(Loads::contract)
    }
}

/// A constant-rate run that achieved less than its rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnheldRate {
    pub route: crate::load::Route,
    pub percent_of_max: Option<u8>,
    pub target_per_second: u32,
    pub achieved_per_second: f64,
}

impl UnheldRate {
    fn stage(&self) -> Option<Stage> {
        Some(Stage::Rate(self.route, self.percent_of_max?))
    }
}

impl Summary {
    /// The summary of a run, given its figures.
    pub fn of_run(run: &RunRecord, mut metrics: Vec<Metric>) -> Summary {
        metrics.sort_by(|a, b| (&a.server, a.figure).cmp(&(&b.server, b.figure)));
        Summary {
            schema: SUMMARY_SCHEMA.to_owned(),
            name: "latest".to_owned(),
            taken_at_unix: run.finished_at_unix,
            mode: run.mode,
            environment: run.environment.clone(),
            config: run.config.clone(),
            conditions: run.conditions.clone(),
            servers: run
                .servers
                .iter()
                .map(|s| {
                    let info = ServerInfo {
                        client_bound: client_bound_phases(s),
                        unheld_rates: unheld_rates(s),
                        loads: s.loads.clone(),
                        version: s.version.clone(),
                        workers: s.workers,
                        error: s
                            .error
                            .as_deref()
                            .and_then(|e| e.lines().next())
                            .map(str::to_owned),
                    };
                    (s.name.clone(), info)
                })
                .collect(),
            metrics,
        }
    }

    /// Reads a summary, refusing other formats with a clear error.
    pub fn load(path: &Path) -> Result<Summary> {
        let text = crate::fs::read_to_string(path)?;
        let bad = |message: String| Error::BadBaseline {
            path: path.to_owned(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|err| bad(format!("not JSON: {err}")))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SUMMARY_SCHEMA) => {}
            Some(other) => {
                return Err(bad(format!(
                    "format `{other}`, expected `{SUMMARY_SCHEMA}`"
                )));
            }
            None => {
                return Err(bad(format!(
                    "no `schema` field; expected `{SUMMARY_SCHEMA}`"
                )));
            }
        }
        serde_json::from_value(value).map_err(|err| bad(err.to_string()))
    }

    /// Writes the summary as pretty JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fs::write_json(path, self)
    }

    /// This summary with `newer`'s figures and servers laid over it, per
    /// server and figure: what a filtered `--save-baseline` run measured
    /// replaces, the rest stays.
    pub fn merged_with(&self, newer: &Summary) -> Summary {
        let key = |m: &Metric| (m.server.clone(), m.figure);
        let mut metrics: BTreeMap<_, Metric> =
            self.metrics.iter().map(|m| (key(m), m.clone())).collect();
        metrics.extend(newer.metrics.iter().map(|m| (key(m), m.clone())));
        let mut servers = self.servers.clone();
        servers.extend(newer.servers.clone());
        Summary {
            servers,
            metrics: metrics.into_values().collect(),
            ..newer.clone()
        }
    }

    /// Compares `now` against this baseline.
    ///
    /// Only what `now` set out to measure is judged: a baseline figure
    /// whose server and stage (rounds, or one route's latency) this run did
    /// not attempt, as with a filter (`cargo bench -- axum`), is left out
    /// and counted in a warning. What it attempted and did not measure is
    /// missing: a server that failed, a rate run that did not hold its
    /// rate. Both fail the comparison.
    ///
    /// When the control (the harness's responder, read beside every round
    /// in both runs) moved, the machine did: time figures are withheld
    /// with the reason rather than called changed.
    pub fn compare(&self, now: &Summary, judgement: &Judgement) -> Comparison {
        let measured = now.attempted_stages();
        let failed = |server: &str| now.servers.get(server).is_some_and(|s| s.error.is_some());
        let (in_scope, out_of_scope): (Vec<Metric>, Vec<Metric>) =
            self.metrics.iter().cloned().partition(|m| {
                failed(&m.server) || measured.contains(&(m.server.clone(), m.figure.stage()))
            });
        let mut warnings = self.warnings(now, &measured);
        if !out_of_scope.is_empty() {
            warnings.push(format!(
                "{} figures of the baseline were not attempted in this run (a filter, or the opt-in sweep not run) and are not compared",
                out_of_scope.len()
            ));
        }
        let (in_scope, dropped) = self.same_loads(in_scope, now);
        warnings.extend(loads::warning("this run and the baseline", &dropped));
        let (now_metrics, _) = now.same_loads(now.metrics.clone(), self);
        let mut rows = compare(&in_scope, &now_metrics, judgement);
        warnings.extend(withhold_if_the_machine_moved(&mut rows));
        Comparison {
            baseline_name: self.name.clone(),
            rows,
            warnings,
            failures: now.failures(),
            interleaved: false,
        }
    }

    /// Of `metrics` (this summary's), those measured on the same load in
    /// `other` for their server; and the names of the others, by server.
    fn same_loads(&self, metrics: Vec<Metric>, other: &Summary) -> (Vec<Metric>, Vec<String>) {
        let loads =
            |summary: &Summary, server: &str| summary.servers.get(server).map(ServerInfo::loads);
        let mut dropped = Vec::new();
        let kept = metrics
            .into_iter()
            .filter(|m| {
                // A server only one side has: nothing to tell apart.
                let (Some(mine), Some(theirs)) = (loads(self, &m.server), loads(other, &m.server))
                else {
                    return true;
                };
                let same = crate::compare::loads::same_load(m.figure, &mine, &theirs);
                if !same {
                    dropped.push(format!("{} {}", m.server, m.figure));
                }
                same
            })
            .collect();
        (kept, dropped)
    }

    /// The rate each constant-rate figure was taken at, by server, route
    /// and share of the maximum: what a run compared with this baseline
    /// runs at, so that both carry the same load.
    pub fn rates(&self) -> BTreeMap<(String, crate::load::Route, u8), u32> {
        self.metrics
            .iter()
            .filter_map(|m| {
                let crate::compare::figures::Figure::RatePercentile(route, percent, _) = m.figure
                else {
                    return None;
                };
                let rate = m.setup.as_ref()?.rate_per_second?;
                Some(((m.server.clone(), route, percent), rate))
            })
            .collect()
    }

    /// (server, stage) of every figure this run measured, and of every
    /// rate run it attempted.
    fn attempted_stages(&self) -> BTreeSet<(String, Stage)> {
        let measured = self
            .metrics
            .iter()
            .map(|m| (m.server.clone(), m.figure.stage()));
        let unheld = self.servers.iter().flat_map(|(name, info)| {
            info.unheld_rates
                .iter()
                .filter_map(move |r| Some((name.clone(), r.stage()?)))
        });
        measured.chain(unheld).collect()
    }

    /// What fails this run besides its figures: failed servers, rates not
    /// held.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, info) in &self.servers {
            if let Some(error) = &info.error {
                out.push(format!("{name} failed: {error}"));
            }
            for rate in &info.unheld_rates {
                out.push(format!(
                    "{name}: {} at {}/s achieved {:.0}/s: the rate was not held",
                    rate.route, rate.target_per_second, rate.achieved_per_second
                ));
            }
        }
        out
    }

    fn warnings(&self, now: &Summary, measured: &BTreeSet<(String, Stage)>) -> Vec<String> {
        let mut warnings = self.environment.differences(&now.environment);
        if self.config.n_requests != now.config.n_requests
            || self.config.timeout != now.config.timeout
            || self.config.settle != now.config.settle
            || self.config.workers != now.config.workers
            || self.config.concurrency != now.config.concurrency
            || self.config.rounds != now.config.rounds
        {
            warnings.push(format!(
                "parameters differ: baseline {}, now {}",
                describe_config(&self.config),
                describe_config(&now.config)
            ));
        }
        warnings.extend(self.condition_warnings(now));
        if self.mode != now.mode {
            warnings.push(format!(
                "mode differs: baseline {:?}, now {:?}",
                self.mode, now.mode
            ));
        }
        for (server, info) in &now.servers {
            let Some(base) = self.servers.get(server) else {
                continue;
            };
            if base.version != info.version {
                warnings.push(format!(
                    "{server} version differs: baseline {}, now {}",
                    base.version.as_deref().unwrap_or("?"),
                    info.version.as_deref().unwrap_or("?")
                ));
            }
            // Only phases this run measured: a filter leaves the rest out.
            let phases: BTreeSet<String> = measured
                .iter()
                .filter(|(s, _)| s == server)
                .filter_map(|(_, stage)| stage.phase_name())
                .collect();
            let bound = |list: &[String]| -> Vec<String> {
                list.iter()
                    .filter(|p| phases.contains(*p))
                    .cloned()
                    .collect()
            };
            let (was, is) = (bound(&base.client_bound), bound(&info.client_bound));
            if was != is {
                warnings.push(format!(
                    "{server}: the client-bound phases differ: baseline {}, now {}",
                    phases_text(&was),
                    phases_text(&is)
                ));
            }
        }
        warnings
    }
}

impl Summary {
    /// The conditions that differ: backlog, kernel cap, CPU placement.
    fn condition_warnings(&self, now: &Summary) -> Vec<String> {
        let mut warnings = Vec::new();
        let backlog = |s: &Summary| match s.conditions.backlog {
            Some(n) => format!("{n}"),
            None => "each framework's own".to_owned(),
        };
        if self.conditions != now.conditions || self.config.backlog != now.config.backlog {
            warnings.push(format!(
                "listen backlog differs: baseline {} (somaxconn {:?}), now {} (somaxconn {:?})",
                backlog(self),
                self.conditions.somaxconn,
                backlog(now),
                now.conditions.somaxconn
            ));
        }
        if self.config.placement != now.config.placement {
            let show = |p: &crate::conditions::Placement| match p.pinned {
                true => format!(
                    "servers on CPUs {}, client on {}",
                    p.server_cpus, p.client_cpus
                ),
                false => "not pinned".to_owned(),
            };
            warnings.push(format!(
                "CPU placement differs: baseline {}, now {}",
                show(&self.config.placement),
                show(&now.config.placement)
            ));
        }
        warnings
    }
}

/// When the control's rows say the machine moved, every time figure of the
/// servers is withheld with the reason; returns the warning to show.
fn withhold_if_the_machine_moved(rows: &mut [Row]) -> Vec<String> {
    let control = rows
        .iter()
        .find(|r| r.is_control() && r.figure.is_time())
        .cloned();
    let Some(control) = control else {
        return vec![
            "no control in one of the runs (the responder read beside every round): a machine that moved would read as a change of every time figure".to_owned(),
        ];
    };
    let moved = matches!(control.verdict, Verdict::Regressed | Verdict::Improved);
    if !moved {
        return match control.verdict {
            Verdict::WithinNoise => Vec::new(),
            other => vec![format!(
                "the control could not be judged ({other}): a machine that moved would read as a change of every time figure"
            )],
        };
    }
    let change = control.change.unwrap_or(0.0);
    let reason = format!(
        "the machine is {:.0} % {} than when the baseline was taken (the harness's own responder, read beside every round)",
        change.abs() * 100.0,
        if change > 0.0 { "slower" } else { "faster" }
    );
    for row in rows.iter_mut() {
        let judged = matches!(
            row.verdict,
            Verdict::Regressed | Verdict::Improved | Verdict::WithinNoise | Verdict::Inconclusive
        );
        if judged && !row.is_control() && row.figure.is_time() {
            row.verdict = Verdict::Withheld;
            row.reason = Some(reason.clone());
        }
    }
    vec![format!("time figures withheld: {reason}")]
}

/// The rate runs of a server that did not hold their rate.
fn unheld_rates(server: &crate::record::ServerRecord) -> Vec<UnheldRate> {
    server
        .constant_rate
        .iter()
        .filter(|run| !run.valid())
        .map(|run| UnheldRate {
            route: run.route,
            percent_of_max: run.percent_of_max,
            target_per_second: run.target_per_second,
            achieved_per_second: run.achieved_per_second,
        })
        .collect()
}

fn phases_text(phases: &[String]) -> String {
    if phases.is_empty() {
        "none".to_owned()
    } else {
        phases.join(", ")
    }
}

/// Which of a server's phases were client-bound, named as
/// [`Stage::phase_name`] names them: a burst in any round, each latency
/// benchmark and each sweep step.
fn client_bound_phases(server: &crate::record::ServerRecord) -> Vec<String> {
    let burst = server.rounds.iter().filter_map(|r| r.burst.as_ref());
    let bursts = burst.filter(|b| b.client_bound).map(|_| Stage::Burst);
    let latency = server.latency.iter().filter(|(_, l)| l.client_bound);
    let sweep = server.throughput.iter().filter(|(_, t)| t.client_bound);
    bursts
        .take(1)
        .chain(latency.map(|(route, _)| Stage::Latency(*route)))
        .chain(sweep.map(|(c, _)| Stage::Sweep(*c)))
        .filter_map(Stage::phase_name)
        .collect()
}

fn describe_config(c: &BenchConfig) -> String {
    format!(
        "{} requests, {:.1} s timeout, {:.1} s settle, {} workers, {} connection(s), {} round(s)",
        c.n_requests,
        c.timeout.as_secs_f64(),
        c.settle.as_secs_f64(),
        c.workers,
        c.concurrency,
        c.rounds
    )
}

/// A baseline name: letters, digits, `.`, `_`, `-`; no path separators.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_BASELINE_NAME
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidSetting {
            name: "baseline name".into(),
            value: name.to_owned(),
            allowed: "1 to 64 ASCII letters, digits, `.`, `_` or `-`, not starting with `.`".into(),
        })
    }
}

/// `<criterion dir>/framework-bench/baselines/NAME.json`.
pub fn criterion_baseline_path(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join("baselines").join(format!("{name}.json"))
}

/// `<root>/target-baselines/NAME/baseline.json`.
pub fn committed_baseline_path(root: &Path, name: &str) -> PathBuf {
    root.join("target-baselines")
        .join(name)
        .join("baseline.json")
}

/// Loads a named baseline, or says which names exist.
pub fn load_named(path: &Path, name: &str) -> Result<Summary> {
    validate_name(name)?;
    if !path.is_file() {
        return Err(Error::UnknownBaseline {
            name: name.to_owned(),
            path: path.to_owned(),
        });
    }
    let mut summary = Summary::load(path)?;
    summary.name = name.to_owned();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn metric(server: &str, name: &str, value: f64) -> Metric {
        Metric::point(server, name.parse().unwrap(), value)
    }

    /// Five rounds about 1 % apart around `value`.
    fn rounds(server: &str, name: &str, value: f64) -> Metric {
        Metric {
            readings: [0.99, 1.0, 1.01, 1.005, 0.995].map(|f| f * value).to_vec(),
            ..metric(server, name, value)
        }
    }

    fn summary(metrics: Vec<Metric>) -> Summary {
        Summary {
            schema: SUMMARY_SCHEMA.into(),
            name: "latest".into(),
            taken_at_unix: 1,
            mode: RunMode::Benchmark,
            environment: Environment::capture(Path::new(env!("CARGO_MANIFEST_DIR"))),
            config: BenchConfig::default(),
            conditions: Conditions::default(),
            servers: BTreeMap::from([(
                "axum".into(),
                ServerInfo {
                    version: Some("0.8.9".into()),
                    workers: 2,
                    error: None,
                    client_bound: Vec::new(),
                    unheld_rates: Vec::new(),
                    loads: None,
                },
            )]),
            metrics,
        }
    }

    #[test]
    fn names_cannot_escape_their_folder() {
        for good in ["reference-2core", "base", "v1.2_x"] {
            validate_name(good).unwrap();
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "a\\b",
            ".hidden",
            "sp ace",
            &"x".repeat(65),
        ] {
            let err = validate_name(bad).unwrap_err().to_string();
            assert!(err.contains("baseline name"), "{bad}: {err}");
        }
    }

    #[test]
    fn save_load_round_trips_and_refuses_other_formats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        let s = summary(vec![metric("axum", "rss-before", 3.0)]);
        s.save(&path).unwrap();
        assert_eq!(Summary::load(&path).unwrap(), s);

        std::fs::write(
            &path,
            r#"{"schema":"framework-bench/summary/v0","metrics":[]}"#,
        )
        .unwrap();
        let err = Summary::load(&path).unwrap_err().to_string();
        assert!(err.contains("format `framework-bench/summary/v0`"), "{err}");
        std::fs::write(&path, "{ damaged").unwrap();
        assert!(
            Summary::load(&path)
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
        std::fs::write(&path, r#"{"schema":"framework-bench/summary/v1"}"#).unwrap();
        assert!(
            Summary::load(&path)
                .unwrap_err()
                .to_string()
                .contains("missing field")
        );
    }

    #[test]
    fn unknown_baselines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let err = load_named(&dir.join("nope.json"), "nope")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no baseline `nope`"), "{err}");
        let err = load_named(&dir.join("x.json"), "../x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("baseline name"), "{err}");
    }

    #[test]
    fn a_filtered_run_replaces_only_what_it_measured() {
        let old = summary(vec![
            metric("axum", "rss-before", 3.0),
            metric("warp", "rss-before", 4.0),
        ]);
        let new = summary(vec![metric("axum", "rss-before", 5.0)]);
        let merged = old.merged_with(&new);
        let values: Vec<_> = merged
            .metrics
            .iter()
            .map(|m| (m.server.as_str(), m.value))
            .collect();
        assert_eq!(values, [("axum", 5.0), ("warp", 4.0)]);
    }

    #[test]
    fn comparisons_warn_about_other_parameters_and_versions() {
        let base = summary(vec![rounds("axum", "rss-before", 3.0 * 1024.0 * 1024.0)]);
        let mut now = summary(vec![rounds("axum", "rss-before", 9.0 * 1024.0 * 1024.0)]);
        now.config.workers = base.config.workers + 2;
        now.servers.get_mut("axum").unwrap().version = Some("0.9.0".into());
        let comparison = base.compare(&now, &Judgement::default());
        assert!(comparison.any_regressed());
        let warned = |start: &str| comparison.warnings.iter().any(|w| w.starts_with(start));
        assert!(warned("parameters differ"), "{:?}", comparison.warnings);
        assert!(warned("axum version differs"), "{:?}", comparison.warnings);
        assert!(warned("no control"), "{:?}", comparison.warnings);
    }

    #[test]
    fn a_filtered_run_is_compared_only_on_what_it_measured() {
        let mib = 1024.0 * 1024.0;
        let base = summary(vec![
            metric("axum", "rss-before", 3.0 * mib),
            metric("axum", "latency-hello", 40e3),
            metric("warp", "rss-before", 4.0 * mib),
        ]);
        // `cargo bench -- latency-hello/axum`: warp and axum's rounds not run.
        let now = summary(vec![metric("axum", "latency-hello", 41e3)]);
        let comparison = base.compare(&now, &Judgement::default());
        let rows: Vec<_> = comparison.rows.iter().map(|r| r.figure.name()).collect();
        assert_eq!(rows, ["latency-hello"]);
        assert!(
            comparison
                .warnings
                .iter()
                .any(|w| w.starts_with("2 figures of the baseline were not attempted")),
            "{:?}",
            comparison.warnings
        );
        // A latency run starts the server, so it reads the idle memory and
        // the startup time, but it sends no burst: the burst's figures are
        // out of scope, not missing.
        let base = summary(vec![
            metric("axum", "rss-before", 3.0 * mib),
            metric("axum", "rss-after", 9.0 * mib),
            metric("axum", "burst-time-per-call", 40e3),
        ]);
        let now = summary(vec![metric("axum", "rss-before", 3.1 * mib)]);
        let rows = base.compare(&now, &Judgement::default()).rows;
        let names: Vec<_> = rows.iter().map(|r| r.figure.name()).collect();
        assert_eq!(names, ["rss-before"]);
        let base = summary(vec![metric("axum", "latency-hello", 40e3)]);
        let now = summary(vec![metric("axum", "latency-hello", 41e3)]);
        // A server that failed in this run keeps its figures: missing.
        let mut failed = now.clone();
        failed.servers.get_mut("axum").unwrap().error = Some("crashed".into());
        failed.metrics.clear();
        let comparison = base.compare(&failed, &Judgement::default());
        let verdicts: Vec<_> = comparison.rows.iter().map(|r| r.verdict).collect();
        assert_eq!(verdicts, [crate::compare::verdict::Verdict::Missing]);
    }

    #[test]
    fn a_baseline_gives_the_rates_its_rate_figures_were_taken_at() {
        let mut p50 = metric("axum", "rate-hello-50pct-p50", 40e3);
        p50.setup = Some(crate::compare::figures::Setup {
            n_requests: 2000,
            timeout_ns: 1,
            workers: 1,
            concurrency: 1,
            backlog: None,
            server_cpus: "1".into(),
            client_cpus: "0".into(),
            probe_requests: 4000,
            rate_per_second: Some(21_000),
        });
        let base = summary(vec![p50, rounds("axum", "rss-before", 3e6)]);
        assert_eq!(
            base.rates(),
            BTreeMap::from([(("axum".to_owned(), crate::load::Route::HELLO, 50), 21_000)])
        );
    }

    #[test]
    fn a_crashed_server_a_missing_figure_or_an_unheld_rate_fails_the_comparison() {
        let base = summary(vec![
            rounds("axum", "rss-before", 3e6),
            metric("axum", "rate-hello-50pct-p50", 40e3),
        ]);
        // Everything as before: nothing fails.
        let same = summary(vec![rounds("axum", "rss-before", 3e6)]);
        assert!(
            base.compare(&same, &Judgement::default())
                .failed()
                .is_empty()
        );
        // The rate run no longer held its rate: no figure, but a failure,
        // and the baseline's figure is missing, not out of scope.
        let mut unheld = same.clone();
        unheld.servers.get_mut("axum").unwrap().unheld_rates = vec![UnheldRate {
            route: crate::load::Route::HELLO,
            percent_of_max: Some(50),
            target_per_second: 20_000,
            achieved_per_second: 17_000.0,
        }];
        let failed = base.compare(&unheld, &Judgement::default()).failed();
        assert_eq!(
            failed,
            [
                "axum rate-hello-50pct-p50: missing",
                "axum: hello at 20000/s achieved 17000/s: the rate was not held"
            ]
        );
        // A server that crashed: its figures are missing and it failed.
        let mut crashed = summary(Vec::new());
        crashed.servers.get_mut("axum").unwrap().error = Some("crashed".into());
        let failed = base.compare(&crashed, &Judgement::default()).failed();
        assert!(
            failed.contains(&"axum failed: crashed".to_owned()),
            "{failed:?}"
        );
        assert!(
            failed.contains(&"axum rss-before: missing".to_owned()),
            "{failed:?}"
        );
    }

    #[test]
    fn a_machine_that_moved_withholds_time_verdicts_and_says_by_how_much() {
        let control = |ns| rounds(crate::record::CLIENT_FLOOR, "latency-hello", ns);
        let base = summary(vec![
            control(70e3),
            rounds("axum", "latency-hello", 80e3),
            rounds("axum", "rss-after", 20e6),
        ]);
        // Everything 20 % slower, the responder too; memory 30 % up.
        let now = summary(vec![
            control(84e3),
            rounds("axum", "latency-hello", 96e3),
            rounds("axum", "rss-after", 26e6),
        ]);
        let comparison = base.compare(&now, &Judgement::default());
        let verdict = |name: &str| {
            let row = comparison
                .rows
                .iter()
                .find(|r| r.server == "axum" && r.figure.name() == name)
                .unwrap();
            (row.verdict, row.reason.clone().unwrap_or_default())
        };
        let (latency, reason) = verdict("latency-hello");
        assert_eq!(latency, Verdict::Withheld);
        assert!(reason.starts_with("the machine is 20 % slower"), "{reason}");
        assert_eq!(verdict("rss-after").0, Verdict::Regressed);
        assert!(
            comparison
                .warnings
                .iter()
                .any(|w| w.starts_with("time figures withheld"))
        );
        // The control's own row withholds; it does not fail the comparison.
        assert_eq!(comparison.failed(), ["axum rss-after: regressed"]);
        // A control that held still lets the verdict stand.
        let still = summary(vec![control(70.5e3), rounds("axum", "latency-hello", 96e3)]);
        let comparison = base.compare(&still, &Judgement::default());
        assert!(comparison.any_regressed());
    }

    #[test]
    fn a_change_in_client_bound_phases_is_warned_about() {
        let base = summary(vec![
            metric("axum", "latency-hello", 40e3),
            metric("axum", "burst-time-per-call", 40e3),
        ]);
        let mut now = base.clone();
        now.servers.get_mut("axum").unwrap().client_bound = vec!["burst".into()];
        let warnings = base.compare(&now, &Judgement::default()).warnings;
        assert!(
            warnings.contains(
                &"axum: the client-bound phases differ: baseline none, now burst".to_owned()
            ),
            "{warnings:?}"
        );
        // A run that sent no burst says nothing of the burst's client.
        let mut latency_only = summary(vec![metric("axum", "latency-hello", 41e3)]);
        latency_only.servers.get_mut("axum").unwrap().client_bound = Vec::new();
        let mut bound = base.clone();
        bound.servers.get_mut("axum").unwrap().client_bound = vec!["burst".into()];
        let warnings = bound.compare(&latency_only, &Judgement::default()).warnings;
        assert!(
            !warnings.iter().any(|w| w.contains("client-bound")),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_client_bound_sweep_step_is_a_client_bound_phase_that_is_warned_about() {
        let mut run = crate::fixtures::run();
        let step = run.servers[0].latency[&crate::load::Route::HELLO].clone();
        run.servers[0].throughput.insert(16, step.clone());
        run.servers[0].throughput.insert(64, step);
        let metrics = crate::compare::figures::collect(&run);
        let base = Summary::of_run(&run, metrics.clone());
        run.servers[0].throughput.get_mut(&64).unwrap().client_bound = true;
        let now = Summary::of_run(&run, metrics);
        let name = &run.servers[0].name;
        assert_eq!(now.servers[name].client_bound, ["sweep-c64"]);
        let warnings = base.compare(&now, &Judgement::default()).warnings;
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("baseline none, now sweep-c64")),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_baseline_from_before_the_controlled_conditions_still_loads_and_compares() {
        // reference-2core as committed on 2026-11-22 (e22a209): no
        // conditions, placement, CPU or peak figures, latency as a mean.
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/baselines/reference-2core-2026-11-22.json");
        let old = Summary::load(&path).unwrap();
        assert_eq!(old.conditions, Conditions::default());
        let rows = old.compare(&old, &Judgement::default()).rows;
        assert_eq!(rows.len(), old.metrics.len());
        assert!(old.metrics.len() > 80, "{}", old.metrics.len());
        let now_reference = load_named(
            &committed_baseline_path(Path::new(env!("CARGO_MANIFEST_DIR")), "reference-2core"),
            "reference-2core",
        )
        .unwrap();
        let comparison = old.compare(&now_reference, &Judgement::default());
        assert!(
            comparison
                .warnings
                .iter()
                .any(|w| w.starts_with("parameters differ")),
            "{:?}",
            comparison.warnings
        );
        assert!(
            comparison
                .rows
                .iter()
                .any(|r| r.baseline.is_some() && r.now.is_some())
        );
    }

    #[test]
    fn the_contracts_requests_declared_by_hand_still_compare_with_the_committed_reference() {
        use crate::load::BodyCheck;
        use crate::load::request::{Mix, RequestSet, contract};
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let reference = load_named(
            &committed_baseline_path(root, "reference-2core"),
            "reference-2core",
        )
        .unwrap();
        let server = reference.metrics[0].server.clone();
        // The same two requests declared in a manifest: the same loads, so
        // every figure compares, under its old name.
        let mut same = reference.clone();
        let by_hand = RequestSet::declared(contract(), 0, Mix::single(contract().remove(0)));
        same.servers.get_mut(&server).unwrap().loads = Some(by_hand.loads());
        let comparison = reference.compare(&same, &Judgement::default());
        assert_eq!(comparison.rows.len(), reference.metrics.len());
        assert!(
            !comparison
                .warnings
                .iter()
                .any(|w| w.contains("sent different")),
            "{:?}",
            comparison.warnings
        );
        // `json` checked by its length only: another expectation, so its
        // figures are left out, by name; `hello`'s still compare.
        let mut requests = contract();
        requests[1].expect.body = BodyCheck::Length(27);
        let hello = Mix::single(requests[0].clone());
        let mut other = reference.clone();
        other.servers.get_mut(&server).unwrap().loads =
            Some(RequestSet::declared(requests, 0, hello).loads());
        let comparison = reference.compare(&other, &Judgement::default());
        let json_figures = reference
            .metrics
            .iter()
            .filter(|m| m.server == server && m.figure.name().contains("json"))
            .count();
        assert!(json_figures > 0);
        assert_eq!(
            comparison.rows.len(),
            reference.metrics.len() - json_figures
        );
        let warning = comparison
            .warnings
            .iter()
            .find(|w| w.contains("sent different requests"))
            .expect("a warning");
        assert!(
            warning.contains(&format!("{server} latency-json")),
            "{warning}"
        );
    }

    #[test]
    fn the_committed_reference_baseline_still_loads_and_compares() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = committed_baseline_path(root, "reference-2core");
        let reference = load_named(&path, "reference-2core").unwrap();
        assert!(reference.metrics.len() > 50, "{}", reference.metrics.len());
        let comparison = reference.compare(&reference, &Judgement::default());
        assert_eq!(comparison.rows.len(), reference.metrics.len());
        assert!(
            comparison
                .rows
                .iter()
                .all(|r| r.verdict.is_quiet() || r.verdict == Verdict::NotJudged),
            "{:?}",
            comparison.rows
        );
        // Saved again, it keeps every figure's name and unit.
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("copy.json");
        reference.save(&copy).unwrap();
        assert_eq!(Summary::load(&copy).unwrap(), reference);
    }
}
