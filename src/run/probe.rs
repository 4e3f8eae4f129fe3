//! A round's own latency reading: every route of the server, then the
//! harness's responder beside it. Criterion's latency benchmark runs once
//! per server and prints its estimate; these readings, one per round (a
//! fresh process), are what a verdict tests, because two runs differ by
//! more than one run's own interval says (see `compare::stats`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::config::BenchConfig;
use crate::error::{Error, Result};
use crate::load::hammer::{LoadPlan, counter_text, latency_histogram, summarize};
use crate::load::{Mix, RequestSpec};
use crate::measure::cpu::PhaseMeter;
use crate::measure::heap::HeapCounters;
use crate::record::ProbeRecord;
use crate::run::seams::{Load, Sequential};
use crate::run::timed::latency_plan;

/// Who is probed: a server process (its CPU is metered) or the responder.
pub struct Target<'a> {
    pub name: &'a str,
    pub addr: SocketAddr,
    pub pid: Option<u32>,
    /// Its heap counters, when they are counted.
    pub heap: Option<&'a HeapCounters>,
}

/// How long a route's measured requests may take in one round, and a
/// tenth of it for the warm-up: a server that answers slowly (tide as
/// shipped waits about 40 ms per answer for a delayed ACK) gives fewer
/// requests, not a longer run.
pub const PROBE_TIME: Duration = Duration::from_millis(500);

/// The most requests sent between two looks at the clock; batches start at
/// one request and double up to it, so a slow server overshoots the
/// budget by about as long as it has already taken at most.
const BATCH: usize = 100;

/// Up to `config.probe_requests` requests of `route` one at a time on one
/// keep-alive connection, within [`PROBE_TIME`], after up to a tenth as
/// many (and a tenth of the time) on it to warm up. Every request must
/// succeed.
pub fn probe(
    load: &dyn Load,
    target: &Target<'_>,
    request: &RequestSpec,
    config: &BenchConfig,
) -> Result<ProbeRecord> {
    let route = request.name;
    let n_requests = config.probe_requests.max(1);
    let plan = latency_plan(Mix::single(request.clone()), n_requests as u64, config);
    let mut client = load.connect(target.addr, &plan)?;
    let during = format!("during its round's {route} latency reading");
    let warm_up = (n_requests / 10).max(1);
    let warmed = send_for(client.as_mut(), &plan, warm_up, PROBE_TIME / 10);
    if warmed.failed() {
        return Err(warmed.error(target.name, &plan, &during));
    }
    let heap_before = target.heap.and_then(HeapCounters::read);
    let meter = target.pid.map(PhaseMeter::start);
    let sent = send_for(client.as_mut(), &plan, n_requests, PROBE_TIME);
    let cost = meter.map(PhaseMeter::stop);
    let heap_after = target.heap.and_then(HeapCounters::read);
    if sent.failed() {
        return Err(sent.error(target.name, &plan, &during));
    }
    Ok(ProbeRecord {
        n_requests: sent.requests,
        wall_time: sent.wall_time,
        requests: summarize(&sent.latency),
        server_cpu_time: cost.and_then(|c| c.server_cpu),
        heap: heap_before
            .zip(heap_after)
            .map(|(before, after)| after.since(&before)),
    })
}

/// What a probe sent: every request answered, unless it failed.
struct Sent {
    requests: usize,
    successes: usize,
    wall_time: Duration,
    latency: hdrhistogram::Histogram<u64>,
    counts: BTreeMap<String, usize>,
}

impl Sent {
    fn failed(&self) -> bool {
        self.successes != self.requests
    }

    fn error(&self, server: &str, plan: &LoadPlan, during: &str) -> Error {
        Error::RequestsFailed {
            server: server.to_owned(),
            failed: self.requests - self.successes,
            sent: self.requests,
            path: plan.mix.requests_text(),
            during: during.to_owned(),
            outcomes: counter_text(&self.counts),
        }
    }
}

/// Batches of `plan`'s request until `n_requests` are sent or `budget` is
/// spent, or a batch has a failure.
fn send_for(
    client: &mut dyn Sequential,
    plan: &LoadPlan,
    n_requests: usize,
    budget: Duration,
) -> Sent {
    let started = Instant::now();
    let mut sent = Sent {
        requests: 0,
        successes: 0,
        wall_time: Duration::ZERO,
        latency: latency_histogram(),
        counts: BTreeMap::new(),
    };
    let mut size = 1;
    while sent.requests < n_requests && (sent.requests == 0 || started.elapsed() < budget) {
        let batch = LoadPlan {
            n_requests: size.min(n_requests - sent.requests),
            ..plan.clone()
        };
        size = (size * 2).min(BATCH);
        let report = client.run(&batch);
        sent.requests += batch.n_requests;
        sent.successes += report.successes;
        sent.wall_time += report.wall_time;
        // Same bounds on both sides, so adding cannot fail.
        let _ = sent.latency.add(&report.latency);
        for (outcome, count) in report.counts {
            *sent.counts.entry(outcome).or_default() += count;
        }
        if sent.failed() {
            break;
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::hammer::{Collector, HammerReport, Outcome, RequestResult};
    use crate::run::seams::Pooled;

    /// A server that answers every request after `each`.
    struct Slow {
        each: Duration,
    }

    impl Sequential for Slow {
        fn run(&mut self, plan: &LoadPlan) -> HammerReport {
            let mut collector = Collector::new(plan);
            for _ in 0..plan.n_requests {
                std::thread::sleep(self.each);
                collector.record(RequestResult {
                    latency: self.each,
                    outcome: Outcome::Status {
                        code: 200,
                        status_ok: true,
                        body_ok: true,
                    },
                });
            }
            collector.finish(self.each * plan.n_requests as u32)
        }
    }

    impl Load for Slow {
        fn run(&self, _: SocketAddr, _: &LoadPlan) -> Result<HammerReport> {
            unreachable!("a probe connects")
        }
        fn connect(&self, _: SocketAddr, _: &LoadPlan) -> Result<Box<dyn Sequential>> {
            Ok(Box::new(Slow { each: self.each }))
        }
        fn pool(&self, _: SocketAddr, _: &LoadPlan) -> Result<Box<dyn Pooled>> {
            unreachable!("a probe connects")
        }
        fn threads(&self) -> usize {
            1
        }
    }

    #[test]
    fn a_slow_server_gives_fewer_requests_not_a_longer_probe() {
        // 5 ms an answer: 2000 requests would take 10 s.
        let load = Slow {
            each: Duration::from_millis(5),
        };
        let target = Target {
            name: "slow",
            addr: "127.0.0.1:9".parse().unwrap(),
            pid: None,
            heap: None,
        };
        let started = Instant::now();
        let reading = probe(
            &load,
            &target,
            &crate::load::request::contract()[0],
            &BenchConfig::default(),
        )
        .unwrap();
        let took = started.elapsed();
        // One batch past the budget at most, warm-up included.
        let bound = PROBE_TIME + PROBE_TIME / 10 + 2 * Duration::from_millis(5 * BATCH as u64);
        assert!(took < bound, "{took:?}");
        assert!(
            reading.n_requests >= BATCH && reading.n_requests < 2000,
            "{reading:?}"
        );
        assert_eq!(reading.requests.count, reading.n_requests as u64);
        let per_request = reading.per_request_ns().unwrap();
        assert!((per_request - 5e6).abs() < 1e3, "{per_request}");
    }
}
