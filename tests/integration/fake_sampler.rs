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
use framework_bench::run::suite::{EstimateSettings, Suite};
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
        ..BenchConfig::default()
    };
    let sampler = Box::new(Scripted { readings: 0 });
    let mut suite =
        Suite::with_sampler(workspace(), config, RunMode::Benchmark, specs, sampler).unwrap();
    suite.set_log_dir(test_log_dir());
    suite.set_estimate_settings(EstimateSettings {
        sample_size: 10,
        confidence_level: 0.95,
        n_resamples: 1000,
    });

    // Reading 1 was the harness's own, at the start.
    suite.enter_phase("misbehaving", Phase::Before).unwrap(); // reading 2
    assert_eq!(
        suite.read_figure("misbehaving", MemoryFigure::Rss).unwrap(),
        42 * MIB
    );
    suite.enter_phase("misbehaving", Phase::After).unwrap(); // reading 3
    assert_eq!(
        suite.read_figure("misbehaving", MemoryFigure::Vms).unwrap(),
        142 * MIB
    );
    suite.finish_memory("misbehaving"); // end: 4; round 2: 5 and 6
    for iters in criterion_calls() {
        let took = suite
            .measure_latency("misbehaving", Route::Hello, iters)
            .unwrap();
        assert!(took > Duration::ZERO);
    }
    suite.stop_all();
    let run = suite.finish(); // the harness again: 7

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

    // The estimate is the slope of the ten samples, not of the warm-up.
    let hello = &server.latency[&Route::Hello];
    assert_eq!(hello.requests.count, criterion_calls().iter().sum::<u64>());
    let estimate = hello.estimate.expect("a complete measurement is estimated");
    assert_eq!(
        (estimate.statistic, estimate.n_samples),
        (Statistic::Slope, 10)
    );
    assert!(estimate.lower_ns <= estimate.point_ns && estimate.point_ns <= estimate.upper_ns);
    assert!(
        !server.latency.contains_key(&Route::Json),
        "json was never measured"
    );

    // Figures: medians over the rounds, latency from the estimate.
    let summary = Summary::of_run(&run, figures::collect(&run));
    let value = |figure: Figure| {
        let metric = summary.metrics.iter().find(|m| m.figure == figure);
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
        value(Figure::Latency(Route::Hello)).map(|v| v.0),
        Some(estimate.point_ns)
    );
    assert_eq!(value(Figure::BurstFailureRate).map(|v| v.0), Some(0.0));
}
