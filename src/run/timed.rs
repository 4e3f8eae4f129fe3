//! The timed benchmarks of a server (latency per route, the throughput
//! sweep) and what each measured over Criterion's samples.

use std::time::Duration;

use crate::config::BenchConfig;
use crate::load::hammer::{HammerReport, LoadPlan};
use crate::load::{Mix, Route};
use crate::measure::cpu::PhaseCost;
use crate::measure::estimate::Timings;
use crate::record::{LatencyRecord, is_client_bound};

/// The latency client's timeout is never shorter than this, whatever the
/// burst's: a keep-alive request on an idle server takes microseconds, and a
/// short timeout would only turn a scheduling hiccup into a failure.
const LATENCY_TIMEOUT_FLOOR: Duration = Duration::from_secs(5);

/// How latency estimates are made from the samples the suite timed: the
/// settings Criterion uses for the same benchmarks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimateSettings {
    pub sample_size: usize,
    pub confidence_level: f64,
    pub n_resamples: usize,
}

impl EstimateSettings {
    /// Criterion 0.8's defaults: 100 samples, 95 % confidence, 100,000
    /// bootstrap resamples.
    pub const CRITERION_DEFAULT: EstimateSettings = EstimateSettings {
        sample_size: 100,
        confidence_level: 0.95,
        n_resamples: 100_000,
    };
}

/// A timed Criterion benchmark of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timed {
    /// A route's latency.
    Latency(Route),
    /// The throughput sweep at this many connections.
    Throughput(usize),
}

impl std::fmt::Display for Timed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Timed::Latency(route) => write!(f, "latency {route}"),
            Timed::Throughput(c) => write!(f, "throughput c{c}"),
        }
    }
}

/// Everything one timed benchmark measured over its samples: the latency
/// of every measured request, Criterion's samples for the estimate, and the
/// cost.
///
/// Criterion warms up with 1, 2, 4, ... iterations a call, then measures
/// with calls that start lower (`d, 2d, ..., nd` in linear sampling, from
/// about a thousandth of the last warm-up call here). So a call with fewer
/// iterations than the one before begins the measurement: the percentiles,
/// the CPU cost and the closed connections restart there, and leave out
/// the warm-up, the first request on a fresh process and the connection's
/// setup, as Criterion's estimate does.
#[derive(Default)]
pub struct TimedSamples {
    histogram: Option<hdrhistogram::Histogram<u64>>,
    timings: Timings,
    cost: Option<PhaseCost>,
    /// Successful requests and their wall time over every sample.
    successes: u64,
    wall: Duration,
    closed_by_server: u64,
    /// The last call's iterations.
    last_iters: u64,
    /// Requests in flight at once: one for a ping-pong.
    concurrency: usize,
}

impl TimedSamples {
    pub fn add(&mut self, report: &HammerReport, iters: u64, cost: PhaseCost) {
        if iters < self.last_iters {
            self.histogram = None;
            self.cost = None;
            self.closed_by_server = 0;
        }
        self.last_iters = iters;
        self.concurrency = report.concurrency;
        let histogram = self
            .histogram
            .get_or_insert_with(crate::load::hammer::latency_histogram);
        // Same bounds on both sides, so adding cannot fail.
        let _ = histogram.add(&report.latency);
        self.timings.push(iters, report.wall_time);
        self.cost = Some(self.cost.map_or(cost, |total| total.plus(cost)));
        self.successes += report.successes as u64;
        self.wall += report.wall_time;
        self.closed_by_server += report.closed_by_server as u64;
    }

    /// Successful requests per second over every sample, warm-up included.
    pub fn requests_per_second(&self) -> Option<f64> {
        let seconds = self.wall.as_secs_f64();
        (seconds > 0.0 && self.successes > 0).then(|| self.successes as f64 / seconds)
    }

    pub fn into_record(
        self,
        settings: Option<EstimateSettings>,
        client_cpus: usize,
    ) -> LatencyRecord {
        let estimate = settings.and_then(|s| {
            self.timings
                .estimate(s.sample_size, s.confidence_level, s.n_resamples)
        });
        let requests = self.histogram.as_ref().map_or_else(
            || crate::load::hammer::summarize(&crate::load::hammer::latency_histogram()),
            crate::load::hammer::summarize,
        );
        // The client threads that took part: one per connection at most.
        let threads = client_cpus.min(self.concurrency).max(1);
        let client_busy = self.cost.and_then(|c| c.client_busy(threads));
        LatencyRecord {
            requests,
            estimate,
            server_cpu_time: self.cost.and_then(|c| c.server_cpu),
            client_busy,
            client_bound: is_client_bound(client_busy),
            closed_by_server: Some(self.closed_by_server),
        }
    }
}

/// The plan of one latency sample: `iters` requests of `mix` (one
/// request, for a latency benchmark).
pub fn latency_plan(mix: Mix, iters: u64, config: &BenchConfig) -> LoadPlan {
    let n_requests = usize::try_from(iters).unwrap_or(usize::MAX);
    let timeout = config.timeout.max(LATENCY_TIMEOUT_FLOOR);
    let mut plan = LoadPlan::keep_alive(n_requests, config.concurrency, timeout);
    plan.mix = mix;
    // One failure already fails the server; don't wait out the rest.
    plan.stop_on_failure = true;
    plan
}

/// One sample of the throughput sweep: `iters` rounds of `connections`
/// requests of `mix` (the contract's: `/hello/World`) over that many
/// keep-alive connections.
pub fn throughput_plan(mix: Mix, connections: usize, iters: u64, config: &BenchConfig) -> LoadPlan {
    let connections = connections.max(1);
    let rounds = usize::try_from(iters).unwrap_or(usize::MAX);
    let mut plan = latency_plan(mix, 1, config);
    plan.n_requests = rounds.saturating_mul(connections);
    plan.concurrency = connections;
    plan
}

/// A sweep step's record with its estimate per request: Criterion timed
/// rounds of `connections` requests.
pub fn per_request(record: LatencyRecord, connections: usize) -> LatencyRecord {
    LatencyRecord {
        estimate: record.estimate.map(|e| e.divided_by(connections as f64)),
        ..record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_plans_reuse_connections_and_expect_the_contracts_body() {
        let config = BenchConfig {
            concurrency: 2,
            ..BenchConfig::default()
        };
        let plan = latency_plan(
            Mix::single(crate::load::request::contract().remove(1)),
            10,
            &config,
        );
        assert_eq!(
            plan.connections,
            crate::load::hammer::Connections::KeepAlive
        );
        assert_eq!((plan.n_requests, plan.concurrency), (10, 2));
        assert_eq!(plan.mix.first().path, "/json");
        assert_eq!(
            plan.mix.first().expect,
            crate::load::Expect::ok_with(server_contract::JSON_BODY)
        );
        assert_eq!(plan.timeout, LATENCY_TIMEOUT_FLOOR);
    }

    #[test]
    fn a_sweep_sample_keeps_every_connection_busy_for_each_iteration() {
        let hello = Mix::single(crate::load::request::contract().remove(0));
        let plan = throughput_plan(hello.clone(), 16, 3, &BenchConfig::default());
        assert_eq!((plan.n_requests, plan.concurrency), (48, 16));
        assert_eq!(plan.mix, hello);
    }

    fn report(latency_ns: u64, n: usize) -> HammerReport {
        let plan = LoadPlan::keep_alive(n, 1, Duration::from_secs(5));
        let mut collector = crate::load::hammer::Collector::new(&plan);
        for _ in 0..n {
            collector.record(crate::load::hammer::RequestResult {
                latency: Duration::from_nanos(latency_ns),
                outcome: crate::load::hammer::Outcome::Status {
                    code: 200,
                    status_ok: true,
                    body_ok: true,
                },
            });
        }
        collector.finish(Duration::from_nanos(latency_ns * n as u64))
    }

    #[test]
    fn percentiles_leave_out_the_warm_up_as_the_estimate_does() {
        let mut samples = TimedSamples::default();
        // Warm-up: a slow first request (connect, cold caches), then 2, 4.
        for (iters, ns) in [(1, 5_000_000), (2, 60_000), (4, 60_000)] {
            samples.add(&report(ns, iters as usize), iters, PhaseCost::default());
        }
        // Measurement: 2, 4, ..., 20 at 50 us.
        for i in 1..=10 {
            samples.add(&report(50_000, 2 * i), 2 * i as u64, PhaseCost::default());
        }
        let record = samples.into_record(None, 1);
        assert_eq!(record.requests.count, 110);
        assert!(record.requests.max_ns < 51_000, "{:?}", record.requests);
    }

    #[test]
    fn client_busy_is_of_the_client_threads_that_took_part() {
        let busy = |concurrency: usize, harness_ms: u64| {
            let mut samples = TimedSamples::default();
            let mut sample = report(50_000, 100);
            sample.concurrency = concurrency;
            let cost = PhaseCost {
                server_cpu: Some(Duration::from_millis(1)),
                harness_cpu: Some(Duration::from_millis(harness_ms)),
                wall: Duration::from_millis(10),
            };
            samples.add(&sample, 100, cost);
            // Two client CPUs, as on this machine with more cores.
            let record = samples.into_record(None, 2);
            (record.client_busy, record.client_bound)
        };
        // One thread took part: 9 ms of 10 is 90 % of it, not 45 % of two
        // CPUs.
        assert_eq!(busy(1, 6), (Some(0.6), false));
        let (share, bound) = busy(1, 9);
        assert!((share.unwrap() - 0.9).abs() < 1e-9 && !bound);
        // Sixteen connections over both threads: 60 % busy is not bound.
        assert_eq!(busy(16, 12), (Some(0.6), false));
        assert_eq!(busy(16, 19), (Some(0.95), true));
    }
}
