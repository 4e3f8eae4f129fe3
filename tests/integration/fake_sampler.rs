//! The run's orchestration with a scripted sampler: every memory figure in
//! the record, the figures and the summary is the one the sampler gave, in
//! the order the phases read them. The server is the tiny `misbehaving`
//! fixture (answering correctly), not a framework.

use std::time::Duration;

use framework_bench::compare::baseline::Summary;
use framework_bench::compare::figures::{self, Figure, MemoryFigure, Phase};
use framework_bench::config::BenchConfig;
use framework_bench::load::Route;
use framework_bench::measure::estimate::Statistic;
use framework_bench::measure::memory::{MemorySnapshot, Sampler};
use framework_bench::record::RunMode;
use framework_bench::run::executor::{Measured, Run, Seams};
use framework_bench::run::plan::{Bench, Filter, Step};
use framework_bench::run::seams::{ClientLoad, ProcessLauncher};
use framework_bench::run::timed::EstimateSettings;
use framework_bench::server::manifest::ServerSpec;

use crate::util::{built, fixtures_dir, test_log_dir, workspace};

const MIB: u64 = 1 << 20;

/// Reading n (from 1) is n MiB of RSS and 100 + n MiB of VMS.
struct Scripted {
    readings: u64,
}

impl Scripted {
    fn next(&mut self) -> (u64, u64) {
        self.readings += 1;
        (self.readings * MIB, (100 + self.readings) * MIB)
    }
}

impl Sampler for Scripted {
    fn snapshot(&mut self, pid: u32) -> framework_bench::Result<MemorySnapshot> {
        let (rss, vms) = self.next();
        Ok(MemorySnapshot::new(pid, rss, vms))
    }

    /// What Criterion's memory benchmarks repeat: always 42 MiB.
    fn rss_vms(&mut self, _pid: u32) -> framework_bench::Result<(u64, u64)> {
        Ok((42 * MIB, 142 * MIB))
    }
}

/// Calls Criterion would make of a latency benchmark: warm-up 1, 2, 4, then
/// ten linear samples 3, 6, ..., 30.
fn criterion_calls() -> Vec<u64> {
    [1, 2, 4]
        .into_iter()
        .chain((1..=10).map(|i| 3 * i))
        .collect()
}

#[test]
fn a_run_records_what_the_sampler_read_and_estimates_latency_from_its_samples() {
    built("misbehaving");
    let specs: Vec<ServerSpec> = ServerSpec::load_dir(&fixtures_dir())
        .unwrap()
        .into_iter()
        .filter(|s| s.name == "misbehaving")
        .collect();
    let config = BenchConfig {
        n_requests: 5,
        settle: Duration::ZERO,
        workers: 1,
        rounds: 2,
        // The scripted readings are the usual rounds'; the heap rounds
        // have tests of their own.
        count_heap: false,
        ..BenchConfig::default()
    };
    let workspace = workspace();
    let seams = Seams {
        launcher: Box::new(ProcessLauncher::new(&workspace)),
        sampler: Box::new(Scripted { readings: 0 }),
        load: Box::new(ClientLoad::new(&config.placement)),
        sleep: std::thread::sleep,
    };
    let mut run = Run::with_seams(&workspace, config, RunMode::Benchmark, specs, seams).unwrap();
    run.set_log_dir(test_log_dir());
    run.set_estimate_settings(EstimateSettings {
        sample_size: 10,
        confidence_level: 0.95,
        n_resamples: 1000,
    });

    // Reading 1 was the harness's own, at the start. Round 1 settles
    // before (2) and after its burst (3), is read at its stop (4); round 2
    // reads 5 and 6. Criterion's memory samples read 42 and 142 MiB.
    let plan = run.default_plan(&Filter::matching("^memory-|^latency-hello/").unwrap());
    for step in &plan.steps {
        match step {
            Step::Bench(bench @ Bench::Memory { figure, .. }) => {
                let bytes = match figure {
                    MemoryFigure::Vms => 142 * MIB,
                    _ => 42 * MIB,
                };
                assert!(run.begin(bench));
                assert_eq!(run.measure(bench, 2).unwrap(), Measured::Bytes(2 * bytes));
            }
            Step::Bench(bench) => {
                assert!(run.begin(bench));
                for iters in criterion_calls() {
                    let Measured::Time(took) = run.measure(bench, iters).unwrap() else {
                        panic!("latency is timed");
                    };
                    assert!(took > Duration::ZERO);
                }
            }
            step => run.execute(step),
        }
    }
    let run = run.finish(); // the harness again: 7

    let server = &run.servers[0];
    assert_eq!(server.error, None);
    let rss = |s: &Option<MemorySnapshot>| s.as_ref().map(|s| s.rss_bytes / MIB);
    let rounds: Vec<_> = server
        .rounds
        .iter()
        .map(|r| (rss(&r.before), rss(&r.after)))
        .collect();
    assert_eq!(rounds, [(Some(2), Some(3)), (Some(5), Some(6))]);
    assert_eq!(rss(&server.end), Some(4));
    assert_eq!(run.harness.before.rss_bytes, MIB);
    assert_eq!(rss(&run.harness.after), Some(7));

    // The estimate is the slope of the ten samples, not of the warm-up, and
    // the percentiles are of their requests: 3 + 6 + ... + 30.
    let hello = &server.latency[&Route::HELLO];
    assert_eq!(hello.requests.count, (1..=10).map(|i| 3 * i).sum::<u64>());
    let estimate = hello.estimate.expect("a complete measurement is estimated");
    assert_eq!(
        (estimate.statistic, estimate.n_samples),
        (Statistic::Slope, 10)
    );
    assert!(estimate.lower_ns <= estimate.point_ns && estimate.point_ns <= estimate.upper_ns);
    assert!(
        !server.latency.contains_key(&Route::JSON),
        "json was never measured"
    );

    // Figures: medians over the rounds, latency from the estimate.
    let summary = Summary::of_run(&run, figures::collect(&run));
    let value = |figure: Figure| {
        let metric = summary
            .metrics
            .iter()
            .find(|m| m.figure == figure && m.server == server.name);
        metric.map(|m| (m.value, m.readings.clone()))
    };
    let rss_before = Figure::Memory(Phase::Before, MemoryFigure::Rss);
    let vms_after = Figure::Memory(Phase::After, MemoryFigure::Vms);
    let mib = |n: u64| (n * MIB) as f64;
    assert_eq!(
        value(rss_before),
        Some((mib(7) / 2.0, vec![mib(2), mib(5)]))
    );
    assert_eq!(
        value(vms_after),
        Some((mib(209) / 2.0, vec![mib(103), mib(106)]))
    );
    assert_eq!(
        value(Figure::Latency(Route::HELLO)).map(|v| v.0),
        Some(estimate.point_ns)
    );
    assert_eq!(value(Figure::BurstFailureRate).map(|v| v.0), Some(0.0));
}
