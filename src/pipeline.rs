//! The `cargo bench` job: the run's [`Plan`] executed through Criterion,
//! then every output written. The one place that wires the stages, Criterion
//! and the reports together.
//!
//! Criterion's groups, in the order the default plan runs them:
//! - `memory-<server>`, one per server, with `rss-before`, `vms-before`,
//!   `rss-after`, `vms-after`: each iteration reads the figure once from the
//!   server's idle round-1 process, before or after its burst (the plan's
//!   burst and settle run between them). The other rounds follow the group.
//! - `latency-hello`, `latency-json`: one function per server, each on a
//!   fresh process; an iteration is one request on a keep-alive connection
//!   (`Throughput::Elements(1)`).
//! - `throughput-hello` (opt-in sweep): the client's ceiling, then each
//!   server's connection counts.
//!
//! Servers start only for the benchmarks Criterion's filter selects (never
//! in `--list` mode), outside Criterion's timed code, and only one server
//! process runs at a time.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{Bencher, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};

use crate::compare::baseline::{self, Summary, criterion_baseline_path, validate_name};
use crate::compare::figures;
use crate::compare::verdict::{Comparison, Judgement};
use crate::config::BenchConfig;
use crate::measure::bytes::Bytes;
use crate::record::{RunMode, RunRecord};
use crate::report::criterion_pages;
use crate::run::args::{BaselineFlags, CriterionArgs};
use crate::run::executor::{Measured, Run, Skipped};
use crate::run::plan::{Bench, Filter, Plan, Segment, Step};
use crate::run::timed::EstimateSettings;
use crate::server::manifest::ServerSpec;
use crate::workspace::{Workspace, criterion_home};

#[cfg(panic = "abort")]
compile_error!(
    "a failed server ends its benchmark by unwinding: build benches with panic = \"unwind\""
);

/// Runs the whole job; returns the process exit code: 0; 1 if any server
/// failed, a strict `--baseline NAME` could not be compared with or its
/// comparison failed (a regressed or missing figure, a rate not held), or
/// the outputs could not be written; 2 if the run could not start. The
/// default comparison with `base` reports, as Criterion's does.
pub fn main(workspace_root: &str) -> i32 {
    one_malloc_arena();
    let workspace = Workspace::at(workspace_root);
    let args = match CriterionArgs::from_env() {
        Ok(args) => args,
        Err(err) if err.is_help_request() => {
            // Criterion prints its help and exits 0, as it always did.
            let _ = Criterion::default().configure_from_args();
            return 0;
        }
        Err(err) => {
            eprintln!("framework-bench: error: invalid Criterion arguments: {err}");
            return 2;
        }
    };
    let (args, mut run, plan) = match prepare(&workspace, args) {
        Ok(prepared) => prepared,
        Err(err) => {
            eprintln!("framework-bench: error: {err}");
            return 2;
        }
    };
    // No plots (and so no HTML pages) for memory: its samples are constant
    // readings, and Criterion 0.8's t-test plot panics (kde.rs, index out of
    // bounds) when a baseline and a run are both constant and equal. The
    // suite writes the pages Criterion's index links for them
    // (report::criterion_pages), from the rounds.
    let mut bytes = memory_defaults(Criterion::default().with_measurement(Bytes))
        .configure_from_args()
        .without_plots();
    let mut time = latency_defaults(Criterion::default()).configure_from_args();
    if !args.baselines.writes_new {
        // A group's summary plot reads every benchmark's `new/sample.json`,
        // which `--discard-baseline` never writes: Criterion 0.8.2 panics on
        // it (plot/plotters_backend/summary.rs:199).
        time = time.without_plots();
    }
    execute(&plan, &mut run, &mut bytes, &mut time);
    run.stop_all();
    let judgement = Judgement::from_criterion(args.noise_threshold, args.significance_level);
    let code = finish(run, &workspace, &args.baselines, &judgement);
    // The HTML index lists every benchmark on disk, memory ones included, and
    // links the memory report page and each memory benchmark's page, written
    // just before.
    outside_the_suite("Criterion's final summary", || time.final_summary());
    code
}

/// Runs Criterion's own reporting: a panic in it is a warning, never the
/// end of the run (the run file and the tables come first, or still come).
fn outside_the_suite(what: &str, report: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(report)) {
        let message = panic_message(payload.as_ref());
        eprintln!("framework-bench: warning: {what} failed ({message}); the run goes on");
    }
}

/// What a panic said, as far as its payload is text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic".to_owned())
}

/// Keeps the harness to one glibc malloc arena, before any thread starts.
/// Criterion's analysis threads and the client threads would each get an
/// arena that keeps what they freed: the harness read 30.5 MiB RSS after an
/// `axum`-only run with the default arenas, 19.9 MiB with two and 12.9 MiB
/// with one. The client's per-request allocations are small and served by
/// each thread's own cache, so one arena costs it no lock. Servers are
/// other processes and keep glibc's defaults.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before the
    // harness starts any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Samples of a memory benchmark: the fewest Criterion accepts. Each reads
/// an idle server whose RSS and VMS do not move, so more samples would only
/// repeat the same reading; the figures that carry the run-to-run spread
/// are the rounds.
const MEMORY_SAMPLE_SIZE: usize = 10;
/// Warm-up and sampling of a memory benchmark: one reading costs about
/// 50 µs, so 50 ms is about a thousand readings over the ten samples.
const MEMORY_WARM_UP: Duration = Duration::from_millis(10);
const MEMORY_MEASUREMENT: Duration = Duration::from_millis(50);
/// Warm-up and sampling of a latency benchmark: at 50-100 µs a request, 1 s
/// is 10,000 to 20,000 keep-alive requests over Criterion's 100 samples,
/// and 0.3 s of warm-up (3,000 to 6,000 requests) reaches the server's
/// steady state (connection open, caches warm). The estimate is what
/// Criterion prints; the verdicts come from the rounds' own readings, so
/// the second the estimate had before (2 s) went to them instead.
/// Criterion's defaults (3 s and 5 s) gave no narrower spread between runs
/// on this machine (see the README).
const LATENCY_WARM_UP: Duration = Duration::from_millis(300);
const LATENCY_MEASUREMENT: Duration = Duration::from_secs(1);
/// Bootstrap resamples of a latency benchmark's interval. Criterion's
/// 100,000 cost about 2 s per benchmark here, nearly all of it drawing the
/// resampled distributions, and move the interval's bounds by about 1 % of
/// its width against 10,000 (a test in `measure::estimate` shows it). The
/// samples, and so the point estimate, are the same.
pub const LATENCY_RESAMPLES: usize = 10_000;

/// The memory defaults, set before `configure_from_args` so that
/// `--sample-size`, `--warm-up-time` and `--measurement-time` still win.
fn memory_defaults(criterion: Criterion<Bytes>) -> Criterion<Bytes> {
    criterion
        .sample_size(MEMORY_SAMPLE_SIZE)
        .warm_up_time(MEMORY_WARM_UP)
        .measurement_time(MEMORY_MEASUREMENT)
}

/// The latency defaults; the command line still wins, as for memory.
fn latency_defaults(criterion: Criterion) -> Criterion {
    criterion
        .warm_up_time(LATENCY_WARM_UP)
        .measurement_time(LATENCY_MEASUREMENT)
        .nresamples(LATENCY_RESAMPLES)
}

/// Reads Criterion's arguments and the knobs, and makes the run and its
/// plan; any error here stops the run before a server starts.
fn prepare(
    workspace: &Workspace,
    args: CriterionArgs,
) -> crate::Result<(CriterionArgs, Run, Plan)> {
    validate_baseline_names(&args.baselines)?;
    let filter = Filter::new(&args.benchmark_filter)?;
    let config = BenchConfig::from_env()?;
    let specs = crate::server::manifest::load_selected(&workspace.servers_dir(), &config.servers)?;
    if let Some(pair) = &config.ab {
        check_ab_servers(pair, &specs)?;
    }
    let mut run = Run::new(workspace, config, args.mode, specs)?;
    run.set_estimate_settings(estimate_settings(&args));
    if let Some(base) = baseline_to_compare(workspace, &args) {
        run.set_baseline_rates(base.rates());
    }
    let plan = run.default_plan(&filter);
    Ok((args, run, plan))
}

/// The baseline this run will be compared with, if it exists and reads:
/// its constant-rate runs set the rates of this run's. Any problem with it
/// is reported where the comparison is made.
fn baseline_to_compare(workspace: &Workspace, args: &CriterionArgs) -> Option<Summary> {
    let name = args.baselines.compare.as_deref()?;
    if args.mode != RunMode::Benchmark {
        return None;
    }
    let dir = criterion_home(workspace).join("framework-bench");
    baseline::load_named(&criterion_baseline_path(&dir, name), name).ok()
}

/// Both sides of an A/B run must be servers, not groups.
fn check_ab_servers(pair: &crate::config::AbPair, specs: &[ServerSpec]) -> crate::Result<()> {
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    if names.len() == 2 && names.contains(&pair.a.as_str()) && names.contains(&pair.b.as_str()) {
        return Ok(());
    }
    Err(crate::Error::InvalidSetting {
        name: format!("{}AB", crate::config::ENV_PREFIX),
        value: format!("{},{}", pair.a, pair.b),
        allowed: "two server names (not groups) of the manifests".into(),
    })
}

/// The settings Criterion analyses the latency samples with.
fn estimate_settings(args: &CriterionArgs) -> EstimateSettings {
    let default = EstimateSettings::CRITERION_DEFAULT;
    EstimateSettings {
        sample_size: args.sample_size.unwrap_or(default.sample_size),
        confidence_level: args.confidence_level.unwrap_or(default.confidence_level),
        n_resamples: args.nresamples.unwrap_or(LATENCY_RESAMPLES),
    }
}

/// Baseline names that could escape their folder are refused before a run
/// starts.
fn validate_baseline_names(flags: &BaselineFlags) -> crate::Result<()> {
    flags
        .save
        .iter()
        .chain(&flags.compare)
        .try_for_each(|name| validate_name(name))
}

/// Executes the plan: each group of benchmarks through Criterion (memory
/// with the bytes measurement, the rest with wall time), every other step
/// between them.
fn execute(plan: &Plan, run: &mut Run, bytes: &mut Criterion<Bytes>, time: &mut Criterion) {
    let names = run.names();
    for segment in plan.segments(&names) {
        match segment {
            Segment::Step(step) => run.execute(step),
            Segment::Group { name, steps } => {
                let what = format!("Criterion's summary of `{name}`");
                if matches!(steps.first(), Some(Step::Bench(Bench::Memory { .. }))) {
                    let mut group = bytes.benchmark_group(name);
                    group.sampling_mode(SamplingMode::Flat);
                    run_group(&mut group, steps, run, &names);
                    outside_the_suite(&what, || group.finish());
                } else {
                    let mut group = time.benchmark_group(name);
                    run_group(&mut group, steps, run, &names);
                    outside_the_suite(&what, || group.finish());
                }
            }
        }
    }
}

/// The steps of one Criterion group: its benchmarks, and the steps
/// between them. A benchmark of a server that failed is not run.
fn run_group<M: Measurement>(
    group: &mut BenchmarkGroup<'_, M>,
    steps: &[Step],
    run: &mut Run,
    names: &[String],
) where
    M::Value: FromMeasured,
{
    for step in steps {
        let Step::Bench(bench) = step else {
            run.execute(step);
            continue;
        };
        if !run.begin(bench) {
            continue;
        }
        if let Some(throughput) = bench.throughput() {
            group.throughput(throughput);
        }
        let id = match bench.function(names) {
            (function, Some(parameter)) => {
                BenchId::Parameter(BenchmarkId::new(function, parameter))
            }
            (function, None) => BenchId::Name(function),
        };
        bench_or_skip(group, id, &bench.id(names), |b| {
            b.iter_custom(|iters| {
                // A panic in the harness's own measuring fails the server
                // like any other error; only Criterion's panics pass on.
                let measured = catch_unwind(AssertUnwindSafe(|| run.measure(bench, iters)))
                    .unwrap_or_else(|payload| {
                        run.fail_by_panic(bench, panic_message(payload.as_ref()));
                        Err(Skipped)
                    });
                M::Value::from_measured(measured.unwrap_or_else(skip))
            });
        });
        run.end(bench);
    }
}

/// A sample as the measurement of its group counts it.
trait FromMeasured {
    fn from_measured(measured: Measured) -> Self;
}

impl FromMeasured for u64 {
    fn from_measured(measured: Measured) -> u64 {
        match measured {
            Measured::Bytes(bytes) => bytes,
            Measured::Time(time) => u64::try_from(time.as_nanos()).unwrap_or(u64::MAX),
        }
    }
}

impl FromMeasured for Duration {
    fn from_measured(measured: Measured) -> Duration {
        match measured {
            Measured::Time(time) => time,
            Measured::Bytes(bytes) => Duration::from_nanos(bytes),
        }
    }
}

/// Ends a benchmark whose server failed. `resume_unwind` does not run the
/// panic hook, so nothing is printed; [`bench_or_skip`] catches it.
fn skip<T>(_: Skipped) -> T {
    resume_unwind(Box::new(Skipped))
}

/// `group.bench_function`, except that a [`Skipped`] server ends only its
/// own benchmark. Criterion records a benchmark after it ran, so nothing of
/// a skipped one is left in the group. A panic in Criterion's analysis of
/// the benchmark ends that benchmark with a warning, not the run.
fn bench_or_skip<M: Measurement>(
    group: &mut BenchmarkGroup<'_, M>,
    id: BenchId,
    full_id: &str,
    f: impl FnMut(&mut Bencher<'_, M>),
) {
    let ran = catch_unwind(AssertUnwindSafe(|| match id {
        BenchId::Name(name) => {
            group.bench_function(name, f);
        }
        BenchId::Parameter(id) => {
            group.bench_function(id, f);
        }
    }));
    if let Err(payload) = ran
        && !payload.is::<Skipped>()
    {
        let what = format!("Criterion's benchmark `{full_id}`");
        outside_the_suite(&what, || resume_unwind(payload));
    }
}

/// A benchmark's id in its group: a name, or a function and a parameter
/// (Criterion's own conversion trait is sealed).
enum BenchId {
    Name(String),
    Parameter(BenchmarkId),
}

/// Records the run: table, run file, summary, baselines, exports and the
/// memory report page. Returns the exit code.
fn finish(run: Run, workspace: &Workspace, flags: &BaselineFlags, judgement: &Judgement) -> i32 {
    if !run.any_started() {
        return 0; // --list, or a filter that matched no server
    }
    let criterion_home = criterion_home(workspace);
    let dir = criterion_home.join("framework-bench");
    let record = run.finish();
    let summary = Summary::of_run(&record, figures::collect(&record));
    println!("\n{}", crate::report::terminal::render(&record));
    let interleaved = crate::compare::ab::interleaved(&record, judgement);
    let compared = match (record.mode, &interleaved) {
        (RunMode::Benchmark, None) => compare_with_baseline(&dir, flags, &summary, judgement),
        _ => Ok(None),
    };
    let compared_ok = compared.as_ref().ok().and_then(Option::as_ref);
    let shown = interleaved.as_ref().or(compared_ok.map(|c| &c.comparison));
    if let Some(comparison) = shown {
        println!("{}", crate::report::terminal::comparison(comparison));
    }
    let written = write_outputs(
        &dir,
        &criterion_home,
        &record,
        &summary,
        Outputs {
            comparison: shown,
            base: compared_ok,
        },
        flags,
    );
    // An A/B run, and a comparison asked for by name (`--baseline NAME`),
    // gate the exit code; the default comparison with `base` informs, as
    // Criterion's does.
    let comparison_failures = match (&interleaved, compared_ok, flags.strict) {
        (Some(ab), _, _) => ab.failed(),
        (None, Some(compared), true) => compared.comparison.failed(),
        _ => Vec::new(),
    };
    let outcome = RunOutcome {
        comparison_failures,
        baseline_error: compared.as_ref().err().map(ToString::to_string),
        write_error: written.as_ref().err().map(ToString::to_string),
        failed_servers: failed_servers(&record),
    };
    if let Ok(path) = &written {
        println!("framework-bench: this run's figures: {}", path.display());
    }
    println!("framework-bench: {}", time_line(&record));
    outcome.report()
}

/// `the run took 61.2 s: start 3.1 s, settle 4.0 s, ..., Criterion's
/// benchmarks and the rest 30.2 s`.
fn time_line(record: &RunRecord) -> String {
    let total = record.wall_time.as_secs_f64();
    let steps: Vec<(String, f64)> = record
        .time_by_step_ns
        .iter()
        .map(|(kind, ns)| (kind.clone(), *ns as f64 / 1e9))
        .collect();
    let counted: f64 = steps.iter().map(|(_, s)| s).sum();
    let parts: Vec<String> = steps
        .iter()
        .map(|(kind, s)| format!("{kind} {s:.1} s"))
        .chain([format!(
            "Criterion's benchmarks and the rest {:.1} s",
            (total - counted).max(0.0)
        )])
        .collect();
    format!("the run took {total:.1} s: {}", parts.join(", "))
}

/// What decides a run's exit code, kept apart from the run so it can be
/// tested.
#[derive(Debug, Default, PartialEq)]
struct RunOutcome {
    /// A strict `--baseline NAME` that could not be compared with.
    baseline_error: Option<String>,
    write_error: Option<String>,
    failed_servers: Vec<String>,
    /// Why a comparison with a named baseline failed.
    comparison_failures: Vec<String>,
}

impl RunOutcome {
    /// Prints what went wrong; returns 1 if anything did, else 0.
    fn report(&self) -> i32 {
        let errors = self.baseline_error.iter().chain(&self.write_error);
        let mut code = 0;
        for error in errors {
            eprintln!("framework-bench: error: {error}");
            code = 1;
        }
        if !self.failed_servers.is_empty() {
            eprintln!(
                "framework-bench: failed: {}",
                self.failed_servers.join(", ")
            );
            code = 1;
        }
        for failure in &self.comparison_failures {
            eprintln!("framework-bench: comparison failed: {failure}");
            code = 1;
        }
        code
    }
}

fn failed_servers(record: &RunRecord) -> Vec<String> {
    record
        .servers
        .iter()
        .filter(|s| s.error.is_some())
        .map(|s| s.name.clone())
        .collect()
}

/// The comparison with the baseline the flags name, if there is one. A
/// missing baseline is an error only for a strict `--baseline`.
fn compare_with_baseline(
    dir: &Path,
    flags: &BaselineFlags,
    summary: &Summary,
    judgement: &Judgement,
) -> crate::Result<Option<Compared>> {
    let Some(name) = flags.compare.as_deref() else {
        return Ok(None);
    };
    match baseline::load_named(&criterion_baseline_path(dir, name), name) {
        Ok(base) => Ok(Some(Compared {
            comparison: base.compare(summary, judgement),
            name: name.to_owned(),
            base,
        })),
        Err(err) if flags.strict => Err(err),
        Err(crate::Error::UnknownBaseline { .. }) => Ok(None),
        Err(err) => {
            eprintln!("framework-bench: warning: {err}; not compared");
            Ok(None)
        }
    }
}

/// A run compared with a saved baseline: the verdicts, and the baseline's
/// own figures (its rounds) for the memory pages.
#[derive(Debug)]
struct Compared {
    name: String,
    base: Summary,
    comparison: Comparison,
}

/// The comparison the outputs show (an A/B run's, or the baseline's), and
/// the baseline behind it for the memory pages.
struct Outputs<'a> {
    comparison: Option<&'a Comparison>,
    base: Option<&'a Compared>,
}

/// Writes every output of the run; returns the run file's path.
fn write_outputs(
    dir: &Path,
    criterion_home: &Path,
    record: &RunRecord,
    summary: &Summary,
    outputs: Outputs<'_>,
    flags: &BaselineFlags,
) -> crate::Result<PathBuf> {
    let run_file = record.save(dir)?;
    summary.save(&dir.join("latest-summary.json"))?;
    // An A/B run's figures are of two builds side by side, not a run to
    // compare later ones with.
    let saves = record.mode == RunMode::Benchmark && record.config.ab.is_none();
    if let (Some(name), true) = (&flags.save, saves) {
        save_baseline(dir, name, summary)?;
    }
    let (comparison, compared) = (outputs.comparison, outputs.base);
    crate::report::export::write_all(dir, record, &summary.metrics, comparison)?;
    let page = crate::report::page::write(criterion_home, record, comparison)?;
    println!("framework-bench: memory report: {}", page.display());
    if record.mode == RunMode::Benchmark {
        // Before Criterion's index is drawn, so that it links them.
        let base = compared.map(|c| criterion_pages::Base {
            name: &c.name,
            summary: &c.base,
        });
        criterion_pages::write(criterion_home, summary, base.as_ref())?;
    }
    Ok(run_file)
}

/// Saves the run as baseline `name`, keeping the figures of servers this
/// run did not measure (a filtered run). A baseline that exists but cannot
/// be read is an error and stays as it is: it is never silently replaced.
fn save_baseline(dir: &Path, name: &str, summary: &Summary) -> crate::Result<()> {
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
    use crate::fixtures;

    fn flags(save: Option<&str>, compare: Option<&str>, strict: bool) -> BaselineFlags {
        BaselineFlags {
            save: save.map(str::to_owned),
            compare: compare.map(str::to_owned),
            strict,
            writes_new: true,
        }
    }

    #[test]
    fn a_panic_in_criterions_reporting_is_a_warning_not_the_end_of_the_run() {
        let mut after = false;
        outside_the_suite("a report", || panic!("index out of bounds"));
        outside_the_suite("a report", || after = true);
        assert!(after);
    }

    #[test]
    fn names_that_escape_their_folder_are_refused_before_a_run() {
        assert!(validate_baseline_names(&flags(Some("../up"), None, false)).is_err());
        assert!(validate_baseline_names(&flags(None, Some("ok-name"), true)).is_ok());
    }

    #[test]
    fn exit_codes_say_what_went_wrong() {
        assert_eq!(RunOutcome::default().report(), 0);
        let failed = RunOutcome {
            failed_servers: vec!["axum".into()],
            ..RunOutcome::default()
        };
        assert_eq!(failed.report(), 1);
        let strict = RunOutcome {
            baseline_error: Some("no baseline `x`".into()),
            ..RunOutcome::default()
        };
        assert_eq!(strict.report(), 1);
    }

    #[test]
    fn a_strict_baseline_that_is_missing_is_an_error_a_lenient_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let summary = Summary::of_run(&fixtures::run(), figures::collect(&fixtures::run()));
        let strict = compare_with_baseline(
            dir.path(),
            &flags(None, Some("gone"), true),
            &summary,
            &Judgement::default(),
        );
        assert!(strict.unwrap_err().to_string().contains("gone"));
        let lenient = compare_with_baseline(
            dir.path(),
            &flags(None, Some("gone"), false),
            &summary,
            &Judgement::default(),
        );
        assert!(lenient.unwrap().is_none());
    }

    #[test]
    fn saving_a_baseline_merges_and_the_next_run_compares_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let run = fixtures::run();
        let summary = Summary::of_run(&run, figures::collect(&run));
        save_baseline(dir.path(), "mine", &summary).unwrap();
        let compared = compare_with_baseline(
            dir.path(),
            &flags(None, Some("mine"), true),
            &summary,
            &Judgement::default(),
        )
        .unwrap();
        let comparison = compared.unwrap().comparison;
        assert_eq!(comparison.baseline_name, "mine");
        assert_eq!(comparison.rows.len(), summary.metrics.len());
        assert!(!comparison.any_regressed());
        // `base` was never written.
        assert!(!criterion_baseline_path(dir.path(), "base").exists());
    }
}
