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

use crate::build::Workspace;
use crate::config::BenchConfig;
use crate::measurement::Bytes;
use crate::suite::{Figure, Phase, ROUTES, RunMode, Skipped, Suite, save_run};

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
    let suite = BenchConfig::from_env()
        .and_then(|config| Suite::new(Workspace::at(workspace_root), config, mode));
    let mut suite = match suite {
        Ok(suite) => suite,
        Err(err) => {
            eprintln!("framework-bench: error: {err}");
            return 2;
        }
    };
    let mut bytes = Criterion::default()
        .with_measurement(Bytes)
        .configure_from_args();
    let mut time = Criterion::default().configure_from_args();
    memory_benches(&mut bytes, &mut suite);
    latency_benches(&mut time, &mut suite);
    suite.stop_all();
    // The HTML index lists every benchmark on disk, memory ones included.
    time.final_summary();
    finish(suite)
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

fn finish(suite: Suite) -> i32 {
    if !suite.any_started() {
        return 0; // --list, or a filter that matched no server
    }
    let dir = suite.output_dir();
    let record = suite.finish();
    println!("\n{}", crate::table::render(&record));
    match save_run(&record, &dir) {
        Ok(path) => println!("framework-bench: this run's figures: {}", path.display()),
        Err(err) => {
            eprintln!("framework-bench: error: {err}");
            return 1;
        }
    }
    let failed: Vec<&str> = record
        .servers
        .iter()
        .filter(|s| s.error.is_some())
        .map(|s| s.name.as_str())
        .collect();
    if failed.is_empty() {
        0
    } else {
        eprintln!("framework-bench: failed: {}", failed.join(", "));
        1
    }
}
