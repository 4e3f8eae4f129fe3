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
use crate::compare::verdict::{Comparison, Thresholds, compare};
use crate::conditions::Conditions;
use crate::config::BenchConfig;
use crate::error::{Error, Result};
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: Option<String>,
    pub workers: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The phases whose client was the bottleneck (`burst`,
    /// `latency-hello`, ...): their figures measured the client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_bound: Vec<String>,
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
    /// not measure at all, as with a filter (`cargo bench -- axum`), is left
    /// out and counted in a warning, not called missing. A server that
    /// failed in this run keeps its figures in scope, so they show as
    /// missing.
    pub fn compare(&self, now: &Summary, thresholds: &Thresholds) -> Comparison {
        let measured: BTreeSet<(&str, Stage)> = now
            .metrics
            .iter()
            .map(|m| (m.server.as_str(), m.figure.stage()))
            .collect();
        let failed = |server: &str| now.servers.get(server).is_some_and(|s| s.error.is_some());
        let (in_scope, out_of_scope): (Vec<Metric>, Vec<Metric>) =
            self.metrics.iter().cloned().partition(|m| {
                failed(&m.server) || measured.contains(&(m.server.as_str(), m.figure.stage()))
            });
        let mut warnings = self.warnings(now, &measured);
        if !out_of_scope.is_empty() {
            warnings.push(format!(
                "{} figures of the baseline were not measured in this run (a filter, or the opt-in sweep not run) and are not compared",
                out_of_scope.len()
            ));
        }
        Comparison {
            baseline_name: self.name.clone(),
            rows: compare(&in_scope, &now.metrics, thresholds),
            warnings,
        }
    }

    fn warnings(&self, now: &Summary, measured: &BTreeSet<(&str, Stage)>) -> Vec<String> {
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
        let base = summary(vec![metric("axum", "rss-before", 3.0 * 1024.0 * 1024.0)]);
        let mut now = summary(vec![metric("axum", "rss-before", 9.0 * 1024.0 * 1024.0)]);
        now.config.workers = base.config.workers + 2;
        now.servers.get_mut("axum").unwrap().version = Some("0.9.0".into());
        let comparison = base.compare(&now, &Thresholds::default());
        assert!(comparison.any_regressed());
        assert_eq!(comparison.warnings.len(), 2, "{:?}", comparison.warnings);
        assert!(
            comparison.warnings[0].starts_with("parameters differ"),
            "{:?}",
            comparison.warnings
        );
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
        let comparison = base.compare(&now, &Thresholds::default());
        let rows: Vec<_> = comparison.rows.iter().map(|r| r.figure.name()).collect();
        assert_eq!(rows, ["latency-hello"]);
        assert!(
            comparison
                .warnings
                .iter()
                .any(|w| w.starts_with("2 figures of the baseline were not measured")),
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
        let rows = base.compare(&now, &Thresholds::default()).rows;
        let names: Vec<_> = rows.iter().map(|r| r.figure.name()).collect();
        assert_eq!(names, ["rss-before"]);
        let base = summary(vec![metric("axum", "latency-hello", 40e3)]);
        let now = summary(vec![metric("axum", "latency-hello", 41e3)]);
        // A server that failed in this run keeps its figures: missing.
        let mut failed = now.clone();
        failed.servers.get_mut("axum").unwrap().error = Some("crashed".into());
        failed.metrics.clear();
        let comparison = base.compare(&failed, &Thresholds::default());
        let verdicts: Vec<_> = comparison.rows.iter().map(|r| r.verdict).collect();
        assert_eq!(verdicts, [crate::compare::verdict::Verdict::Missing]);
    }

    #[test]
    fn a_change_in_client_bound_phases_is_warned_about() {
        let base = summary(vec![
            metric("axum", "latency-hello", 40e3),
            metric("axum", "burst-time-per-call", 40e3),
        ]);
        let mut now = base.clone();
        now.servers.get_mut("axum").unwrap().client_bound = vec!["burst".into()];
        let warnings = base.compare(&now, &Thresholds::default()).warnings;
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
        let warnings = bound
            .compare(&latency_only, &Thresholds::default())
            .warnings;
        assert!(
            !warnings.iter().any(|w| w.contains("client-bound")),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_client_bound_sweep_step_is_a_client_bound_phase_that_is_warned_about() {
        let mut run = crate::fixtures::run();
        let step = run.servers[0].latency[&crate::load::Route::Hello].clone();
        run.servers[0].throughput.insert(16, step.clone());
        run.servers[0].throughput.insert(64, step);
        let metrics = crate::compare::figures::collect(&run);
        let base = Summary::of_run(&run, metrics.clone());
        run.servers[0].throughput.get_mut(&64).unwrap().client_bound = true;
        let now = Summary::of_run(&run, metrics);
        let name = &run.servers[0].name;
        assert_eq!(now.servers[name].client_bound, ["sweep-c64"]);
        let warnings = base.compare(&now, &Thresholds::default()).warnings;
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
        let rows = old.compare(&old, &Thresholds::default()).rows;
        assert_eq!(rows.len(), old.metrics.len());
        assert!(old.metrics.len() > 80, "{}", old.metrics.len());
        let now_reference = load_named(
            &committed_baseline_path(Path::new(env!("CARGO_MANIFEST_DIR")), "reference-2core"),
            "reference-2core",
        )
        .unwrap();
        let comparison = old.compare(&now_reference, &Thresholds::default());
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
    fn the_committed_reference_baseline_still_loads_and_compares() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = committed_baseline_path(root, "reference-2core");
        let reference = load_named(&path, "reference-2core").unwrap();
        assert!(reference.metrics.len() > 50, "{}", reference.metrics.len());
        let comparison = reference.compare(&reference, &Thresholds::default());
        assert_eq!(comparison.rows.len(), reference.metrics.len());
        assert!(
            comparison
                .rows
                .iter()
                .all(|r| r.verdict == crate::compare::verdict::Verdict::WithinNoise)
        );
        // Saved again, it keeps every figure's name and unit.
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("copy.json");
        reference.save(&copy).unwrap();
        assert_eq!(Summary::load(&copy).unwrap(), reference);
    }
}
