//! The `cargo bench` job: Criterion groups wired to a [`Suite`].
//!
//! Groups, in the order they run:
//! - `memory-<server>`, one per server, with `rss-before`, `vms-before`,
//!   `rss-after`, `vms-after`: each iteration reads the figure once from the
//!   server's idle process, before or after its burst (the first "after"
//!   benchmark triggers the burst and the settle). The remaining rounds run
//!   when the group is done.
//! - `latency-hello`, `latency-json`: one function per server, each on a
//!   fresh process; an iteration is one request on a keep-alive connection
//!   (`Throughput::Elements(1)`).
//!
//! Servers start lazily inside the selected benchmarks (never in `--list`
//! mode, never for filtered-out servers), outside Criterion's timed code,
//! and only one server process runs at a time.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use criterion::measurement::Measurement;
use criterion::{Bencher, BenchmarkGroup, Criterion, SamplingMode, Throughput};

use crate::baseline::{self, Summary, criterion_baseline_path, render_comparison, validate_name};
use crate::build::Workspace;
use crate::compare::{Comparison, Thresholds};
use crate::config::BenchConfig;
use crate::measurement::Bytes;
use crate::metrics::{self, criterion_estimate};
use crate::suite::{
    Figure, Phase, ROUTES, RunMode, RunRecord, Skipped, Suite, criterion_home, flag_value, save_run,
};

/// The benchmarks of each `memory-<server>` group: (id, phase, figure).
pub const MEMORY_BENCHES: [(&str, Phase, Figure); 4] = [
    ("rss-before", Phase::Before, Figure::Rss),
    ("vms-before", Phase::Before, Figure::Vms),
    ("rss-after", Phase::After, Figure::Rss),
    ("vms-after", Phase::After, Figure::Vms),
];

/// Runs the whole job; returns the process exit code: 0, 1 if any server
/// failed, 2 if the run could not start.
pub fn main(workspace_root: &str) -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let mode = RunMode::from_args(&args);
    let baselines = BaselineFlags::from_args(&args);
    let suite = baselines
        .validate()
        .and_then(|()| BenchConfig::from_env())
        .and_then(|config| Suite::new(Workspace::at(workspace_root), config, mode));
    let mut suite = match suite {
        Ok(suite) => suite,
        Err(err) => {
            eprintln!("framework-bench: error: {err}");
            return 2;
        }
    };
    // No plots (and so no HTML pages) for memory: its samples are constant
    // readings, and Criterion 0.8's t-test plot panics (kde.rs, index out of
    // bounds) when a baseline and a run are both constant and equal. Memory
    // has its own report page; Criterion's index still lists these benches.
    let mut bytes = Criterion::default()
        .with_measurement(Bytes)
        .configure_from_args()
        .without_plots();
    let mut time = Criterion::default().configure_from_args();
    memory_benches(&mut bytes, &mut suite);
    latency_benches(&mut time, &mut suite);
    suite.stop_all();
    let home = criterion_home(&Workspace::at(workspace_root));
    let code = finish(suite, &home, &baselines);
    // The HTML index lists every benchmark on disk, memory ones included, and
    // links the memory report page written just before.
    time.final_summary();
    code
}

/// Criterion's baseline flags, read the way Criterion reads them: by
/// default a run compares with `base` (if present) and then saves itself as
/// `base`; `--save-baseline NAME` does the same with NAME; `--baseline NAME`
/// (or `--baseline-lenient NAME`) compares with NAME and saves nothing;
/// `--discard-baseline` saves nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineFlags {
    pub save: Option<String>,
    pub compare: Option<String>,
    /// `--baseline`: a missing baseline is an error.
    pub strict: bool,
}

impl BaselineFlags {
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> BaselineFlags {
        let value = |flag: &str| flag_value(args, flag).map(str::to_owned);
        let discard = args.iter().any(|a| a.as_ref() == "--discard-baseline");
        if let Some(name) = value("--baseline") {
            return BaselineFlags {
                save: None,
                compare: Some(name),
                strict: true,
            };
        }
        if let Some(name) = value("--baseline-lenient") {
            return BaselineFlags {
                save: None,
                compare: Some(name),
                strict: false,
            };
        }
        let name = value("--save-baseline").unwrap_or_else(|| "base".to_owned());
        BaselineFlags {
            save: (!discard).then(|| name.clone()),
            compare: Some(name),
            strict: false,
        }
    }

    /// Names that could escape their folder are refused before a run starts.
    pub fn validate(&self) -> crate::Result<()> {
        self.save
            .iter()
            .chain(&self.compare)
            .try_for_each(|name| validate_name(name))
    }
}

fn memory_benches(criterion: &mut Criterion<Bytes>, suite: &mut Suite) {
    for name in suite.server_names() {
        let mut group = criterion.benchmark_group(format!("memory-{name}"));
        group.sampling_mode(SamplingMode::Flat);
        for (id, phase, figure) in MEMORY_BENCHES {
            bench_or_skip(&mut group, id, |b| {
                let pid = suite.memory_pid(&name, phase).unwrap_or_else(skip);
                b.iter_custom(|iters| {
                    (0..iters).fold(0u64, |total, _| {
                        let bytes = suite.read_figure(&name, pid, figure).unwrap_or_else(skip);
                        total.saturating_add(bytes)
                    })
                });
            });
        }
        group.finish();
        suite.finish_memory(&name);
    }
}

fn latency_benches(criterion: &mut Criterion, suite: &mut Suite) {
    for route in ROUTES {
        let mut group = criterion.benchmark_group(format!("latency-{}", route.name));
        group.throughput(Throughput::Elements(1));
        for name in suite.server_names() {
            bench_or_skip(&mut group, &name, |b| {
                suite.ensure_running(&name).unwrap_or_else(skip);
                b.iter_custom(|iters| {
                    suite
                        .measure_latency(&name, &route, iters)
                        .unwrap_or_else(skip)
                });
            });
            suite.stop(&name);
        }
        group.finish();
    }
}

/// Ends a benchmark whose server failed. `resume_unwind` does not run the
/// panic hook, so nothing is printed; [`bench_or_skip`] catches it.
fn skip<T>(_: Skipped) -> T {
    resume_unwind(Box::new(Skipped))
}

/// `group.bench_function`, except that a [`Skipped`] server ends only its
/// own benchmark. Criterion records a benchmark after it ran, so nothing of
/// a skipped one is left in the group.
fn bench_or_skip<M: Measurement>(
    group: &mut BenchmarkGroup<'_, M>,
    id: &str,
    f: impl FnMut(&mut Bencher<'_, M>),
) {
    let ran = catch_unwind(AssertUnwindSafe(|| {
        group.bench_function(id, f);
    }));
    if let Err(payload) = ran
        && !payload.is::<Skipped>()
    {
        resume_unwind(payload);
    }
}

/// Records the run: table, run file, summary, baselines, exports and the
/// memory report page. Returns the exit code.
fn finish(suite: Suite, criterion_home: &std::path::Path, flags: &BaselineFlags) -> i32 {
    if !suite.any_started() {
        return 0; // --list, or a filter that matched no server
    }
    let dir = suite.output_dir();
    let record = suite.finish();
    let summary = Summary::of_run(&record, run_metrics(&record, criterion_home));
    println!("\n{}", crate::table::render(&record));
    let mut code = 0;
    let comparison = match record.mode {
        RunMode::Benchmark => compare_with_baseline(&dir, flags, &summary, &mut code),
        RunMode::Test | RunMode::Profile => None,
    };
    if let Some(comparison) = &comparison {
        println!("{}", render_comparison(comparison));
    }
    let written = write_outputs(
        &dir,
        criterion_home,
        &record,
        &summary,
        comparison.as_ref(),
        flags,
    );
    match written {
        Ok(path) => println!("framework-bench: this run's figures: {}", path.display()),
        Err(err) => {
            eprintln!("framework-bench: error: {err}");
            code = 1;
        }
    }
    let failed: Vec<&str> = record
        .servers
        .iter()
        .filter(|s| s.error.is_some())
        .map(|s| s.name.as_str())
        .collect();
    if !failed.is_empty() {
        eprintln!("framework-bench: failed: {}", failed.join(", "));
        code = 1;
    }
    code
}

/// The run's figures; latency only where Criterion measured it in this run.
fn run_metrics(record: &RunRecord, criterion_home: &std::path::Path) -> Vec<metrics::Metric> {
    metrics::collect(record, |route, server| {
        let measured_now = record.mode == RunMode::Benchmark
            && record
                .servers
                .iter()
                .any(|s| s.name == server && s.latency.contains_key(route));
        measured_now
            .then(|| criterion_estimate(criterion_home, route, server, "new"))
            .flatten()
    })
}

fn compare_with_baseline(
    dir: &std::path::Path,
    flags: &BaselineFlags,
    summary: &Summary,
    code: &mut i32,
) -> Option<Comparison> {
    let name = flags.compare.as_deref()?;
    match baseline::load_named(&criterion_baseline_path(dir, name), name) {
        Ok(base) => Some(base.compare(summary, &Thresholds::default())),
        Err(err) if flags.strict => {
            eprintln!("framework-bench: error: {err}");
            *code = 1;
            None
        }
        Err(crate::Error::UnknownBaseline { .. }) => None,
        Err(err) => {
            eprintln!("framework-bench: warning: {err}; not compared");
            None
        }
    }
}

/// Writes every output of the run; returns the run file's path.
fn write_outputs(
    dir: &std::path::Path,
    criterion_home: &std::path::Path,
    record: &RunRecord,
    summary: &Summary,
    comparison: Option<&Comparison>,
    flags: &BaselineFlags,
) -> crate::Result<std::path::PathBuf> {
    let run_file = save_run(record, dir)?;
    summary.save(&dir.join("latest-summary.json"))?;
    crate::export::write_all(dir, record, &summary.metrics, comparison)?;
    let page = crate::report_page::write(criterion_home, record, comparison)?;
    println!("framework-bench: memory report: {}", page.display());
    if let (Some(name), RunMode::Benchmark) = (&flags.save, record.mode) {
        save_baseline(dir, name, summary)?;
    }
    Ok(run_file)
}

/// Saves the run as baseline `name`, keeping the figures of servers this
/// run did not measure (a filtered run). A baseline that exists but cannot
/// be read is an error and stays as it is: it is never silently replaced.
fn save_baseline(dir: &std::path::Path, name: &str, summary: &Summary) -> crate::Result<()> {
    let path = criterion_baseline_path(dir, name);
    let merged = match baseline::load_named(&path, name) {
        Ok(old) => old.merged_with(summary),
        Err(crate::Error::UnknownBaseline { .. }) => summary.clone(),
        Err(err) => return Err(err),
    };
    Summary {
        name: name.to_owned(),
        ..merged
    }
    .save(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> BaselineFlags {
        BaselineFlags::from_args(args)
    }

    #[test]
    fn baseline_flags_follow_criterion() {
        let default = flags(&["bench", "--bench"]);
        assert_eq!(
            (
                default.save.as_deref(),
                default.compare.as_deref(),
                default.strict
            ),
            (Some("base"), Some("base"), false)
        );
        let save = flags(&["bench", "--bench", "--save-baseline", "before"]);
        assert_eq!(
            (save.save.as_deref(), save.compare.as_deref()),
            (Some("before"), Some("before"))
        );
        let strict = flags(&["bench", "--bench", "--baseline=before"]);
        assert_eq!(
            (strict.save, strict.compare.as_deref(), strict.strict),
            (None, Some("before"), true)
        );
        let lenient = flags(&["bench", "--baseline-lenient", "x"]);
        assert_eq!((lenient.save, lenient.strict), (None, false));
        assert_eq!(flags(&["bench", "--discard-baseline"]).save, None);
        assert!(
            flags(&["bench", "--save-baseline", "../up"])
                .validate()
                .is_err()
        );
        assert!(
            flags(&["bench", "--baseline", "ok-name"])
                .validate()
                .is_ok()
        );
    }
}
