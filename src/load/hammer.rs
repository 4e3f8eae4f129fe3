//! What load is and what it comes to: the plan (how many requests, how
//! many at once, which connection policy, the timeout), each request's
//! [`Outcome`] as a value, and the [`Collector`] that merges them into a
//! [`HammerReport`] after the clock stops. The client that sends the
//! requests is [`crate::load::client`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::load::Mix;
use crate::load::http1::Http1Error;

/// How requests use connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Connections {
    /// Every request opens (and closes) its own connection, as the seed did.
    PerRequest,
    /// Requests reuse keep-alive connections, `concurrency` of them.
    KeepAlive,
    /// Every request has its own connection, as with `PerRequest`, but all
    /// are opened before the first request is sent: the server holds every
    /// one of them when the requests arrive.
    Held,
}

/// An open loop that achieved less than this share of its rate did not run
/// at that rate: its latency is not that rate's.
pub const VALID_RATE_SHARE: f64 = 0.99;

/// When each connection sends its next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// Closed loop: the next request goes when the answer to the last has
    /// arrived.
    #[default]
    Closed,
    /// Open loop: this many requests per second over all connections, each
    /// on a schedule. A request's latency counts from when the schedule
    /// meant to send it, so a stall that delays the requests after it is
    /// measured, not hidden (coordinated omission corrected, as wrk2 does).
    Rate(std::num::NonZeroU32),
}

/// What to send, how many, how fast and for how long at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPlan {
    pub n_requests: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub connections: Connections,
    /// Per-request timeout, from connect to the last byte of the body.
    pub timeout: Duration,
    /// What it sends, and what a success must be: one request, or a
    /// weighted mix.
    pub mix: Mix,
    /// Stop sending at the first request that is not a success, so that a
    /// server that stops answering costs one timeout per worker, not one
    /// per remaining request. The rest count as `unfinished`.
    pub stop_on_failure: bool,
    pub pacing: Pacing,
}

impl LoadPlan {
    /// The seed's burst: all `n_requests` at once, each on its own connection.
    pub fn burst(n_requests: usize, timeout: Duration) -> LoadPlan {
        LoadPlan {
            n_requests,
            concurrency: n_requests.max(1),
            connections: Connections::PerRequest,
            timeout,
            mix: Mix::single(crate::load::request::contract().remove(0)),
            stop_on_failure: false,
            pacing: Pacing::Closed,
        }
    }

    /// The burst with every connection opened first: see
    /// [`Connections::Held`].
    pub fn held_burst(n_requests: usize, timeout: Duration) -> LoadPlan {
        LoadPlan {
            connections: Connections::Held,
            ..LoadPlan::burst(n_requests, timeout)
        }
    }

    /// `n_requests` over `concurrency` keep-alive connections.
    pub fn keep_alive(n_requests: usize, concurrency: usize, timeout: Duration) -> LoadPlan {
        LoadPlan {
            concurrency: concurrency.clamp(1, n_requests.max(1)),
            connections: Connections::KeepAlive,
            ..LoadPlan::burst(n_requests, timeout)
        }
    }

    /// The longest the whole hammer may take: every worker's share of
    /// requests each timing out, plus slack for scheduling.
    pub fn time_bound(&self) -> Duration {
        let rounds = self.n_requests.div_ceil(self.concurrency.max(1)) as u32;
        let closed = self.timeout * rounds.max(1) + Duration::from_secs(2);
        match self.pacing {
            Pacing::Closed => closed,
            // The schedule's own length, then the last request's timeout.
            Pacing::Rate(rate) => closed.max(
                Duration::from_secs_f64(self.n_requests as f64 / f64::from(rate.get()))
                    + self.timeout
                    + Duration::from_secs(2),
            ),
        }
    }

    /// The schedule's spacing between two requests on one connection;
    /// `None` for a closed loop.
    pub fn interval_per_connection(&self) -> Option<Duration> {
        match self.pacing {
            Pacing::Closed => None,
            Pacing::Rate(rate) => Some(Duration::from_secs_f64(
                self.concurrency.max(1) as f64 / f64::from(rate.get()),
            )),
        }
    }
}

/// Why a request got no HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    Timeout,
    /// Connection refused.
    Refused,
    /// Connection reset or closed early.
    Reset,
    /// Any other failure to connect.
    Connect,
    /// Bytes that are not an answer the client can read, and why.
    BadAnswer(Http1Error),
    Other,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Refused => "refused",
            ErrorKind::Reset => "reset",
            ErrorKind::Connect => "connect-error",
            ErrorKind::BadAnswer(why) => why.as_str(),
            ErrorKind::Other => "error",
        }
    }
}

/// What one request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// An answer: its status, whether that is the expected one, and
    /// whether its body passed the request's check.
    Status {
        code: u16,
        status_ok: bool,
        body_ok: bool,
    },
    Failed(ErrorKind),
}

impl Outcome {
    /// An answer as the request expects: the contract's requests, a 200
    /// whose body is exactly theirs.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Status {
                status_ok: true,
                body_ok: true,
                ..
            }
        )
    }

    /// The answer `code` to a request expecting `expect`.
    pub fn answer(code: u16, expect: &crate::load::Expect, body_ok: bool) -> Outcome {
        Outcome::Status {
            code,
            status_ok: code == expect.status,
            body_ok,
        }
    }

    /// The key this outcome is counted under: `200`, `500`,
    /// `200-wrong-body`, `timeout`, ...
    pub fn label(self) -> String {
        match self {
            Outcome::Status {
                code,
                status_ok: true,
                body_ok: false,
            } => format!("{code}-wrong-body"),
            Outcome::Status { code, .. } => code.to_string(),
            Outcome::Failed(kind) => kind.as_str().to_owned(),
        }
    }
}

/// One request's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestResult {
    pub latency: Duration,
    pub outcome: Outcome,
}

/// Percentiles of a latency histogram, in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub min_ns: u64,
    pub mean_ns: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    /// Absent (0) in run files written before it was recorded.
    #[serde(default)]
    pub p999_ns: u64,
    pub max_ns: u64,
}

/// The merged outcome of a hammer.
#[derive(Debug, Clone)]
pub struct HammerReport {
    pub n_requests: usize,
    pub concurrency: usize,
    pub connections: Connections,
    pub timeout: Duration,
    /// From the first request sent to the last one finished.
    pub wall_time: Duration,
    /// Outcome label -> count, e.g. `{"200": 1987, "timeout": 13}`.
    pub counts: BTreeMap<String, usize>,
    pub successes: usize,
    /// Latency of every request that got a status, successful or not;
    /// under an open loop, from when each was due.
    pub latency: Histogram<u64>,
    /// Under an open loop, how late the client sent each request of its own
    /// doing (see [`Collector::record_lateness`]).
    pub lateness: Option<LatencySummary>,
    pub pacing: Pacing,
    /// Answers after which the server closed the connection (HTTP/1.0,
    /// `Connection: close`): under keep-alive, the next request on that
    /// connection pays for a new one.
    pub closed_by_server: usize,
}

impl HammerReport {
    /// Total wall time / requests, as the seed printed it.
    pub fn seconds_per_call(&self) -> f64 {
        self.wall_time.as_secs_f64() / self.n_requests.max(1) as f64
    }

    /// Successes / requests, in 0..=1.
    pub fn success_rate(&self) -> f64 {
        self.successes as f64 / self.n_requests.max(1) as f64
    }

    /// Successful requests per second of wall time: timeouts, errors and
    /// unfinished requests are not throughput.
    pub fn requests_per_second(&self) -> f64 {
        self.successes as f64 / self.wall_time.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Achieved over intended rate of an open loop; `None` for a closed
    /// one. Below [`VALID_RATE_SHARE`] the run is not valid at its rate.
    pub fn achieved_share_of_rate(&self) -> Option<f64> {
        match self.pacing {
            Pacing::Closed => None,
            Pacing::Rate(rate) => Some(self.requests_per_second() / f64::from(rate.get())),
        }
    }

    /// `200: 1987, timeout: 13`, the seed's `Counter(...)` with names.
    pub fn counter_text(&self) -> String {
        counter_text(&self.counts)
    }

    pub fn latency_summary(&self) -> LatencySummary {
        summarize(&self.latency)
    }
}

/// Outcome counts as the seed's `Counter(...)` printed them, with names:
/// `200: 1987, timeout: 13`, most frequent first.
pub fn counter_text(counts: &BTreeMap<String, usize>) -> String {
    let mut counts: Vec<_> = counts.iter().collect();
    counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    counts
        .iter()
        .map(|(label, n)| format!("{label}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An empty latency histogram in nanoseconds: 1 ns to 1 hour, 3 significant
/// digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("static histogram bounds are valid")
}

/// Percentiles of a latency histogram in nanoseconds.
pub fn summarize(h: &Histogram<u64>) -> LatencySummary {
    LatencySummary {
        count: h.len(),
        min_ns: if h.is_empty() { 0 } else { h.min() },
        mean_ns: h.mean().round() as u64,
        p50_ns: h.value_at_quantile(0.50),
        p90_ns: h.value_at_quantile(0.90),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        max_ns: h.max(),
    }
}

impl fmt::Display for HammerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests in {:.3} s: {:.4} s/call, {:.1}% success, {}",
            self.n_requests,
            self.wall_time.as_secs_f64(),
            self.seconds_per_call(),
            self.success_rate() * 100.0,
            self.counter_text()
        )
    }
}

/// Merges request results into a report.
pub struct Collector {
    plan: LoadPlan,
    counts: BTreeMap<Outcome, usize>,
    latency: Histogram<u64>,
    /// Under an open loop: how late the client itself sent each request.
    lateness: Option<Histogram<u64>>,
    closed_by_server: usize,
}

impl Collector {
    pub fn new(plan: &LoadPlan) -> Collector {
        Collector {
            plan: plan.clone(),
            counts: BTreeMap::new(),
            latency: latency_histogram(),
            lateness: matches!(plan.pacing, Pacing::Rate(_)).then(latency_histogram),
            closed_by_server: 0,
        }
    }

    /// How late the client sent a request of an open loop: past its due
    /// time, or past the previous answer when that came after it.
    pub fn record_lateness(&mut self, late: Duration) {
        if let Some(lateness) = &mut self.lateness {
            let ns = u64::try_from(late.as_nanos()).unwrap_or(u64::MAX);
            lateness.saturating_record(ns.max(1));
        }
    }

    /// The server closed the connection after an answer.
    pub fn closed_by_server(&mut self) {
        self.closed_by_server += 1;
    }

    pub fn record(&mut self, result: RequestResult) {
        *self.counts.entry(result.outcome).or_default() += 1;
        if let Outcome::Status { .. } = result.outcome {
            let ns = u64::try_from(result.latency.as_nanos()).unwrap_or(u64::MAX);
            self.latency.saturating_record(ns.max(1));
        }
    }

    /// Adds another collector's results (another client thread's).
    pub fn merge(&mut self, other: Collector) {
        for (outcome, n) in other.counts {
            *self.counts.entry(outcome).or_default() += n;
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        if let (Some(mine), Some(theirs)) = (&mut self.lateness, &other.lateness) {
            let _ = mine.add(theirs);
        }
        self.closed_by_server += other.closed_by_server;
    }

    /// The report; requests that were never sent or never finished (the
    /// time bound cut them off) are counted as `unfinished`.
    pub fn finish(self, wall_time: Duration) -> HammerReport {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut successes = 0;
        for (outcome, n) in &self.counts {
            *counts.entry(outcome.label()).or_default() += n;
            if outcome.is_success() {
                successes += n;
            }
        }
        let recorded: usize = self.counts.values().sum();
        if recorded < self.plan.n_requests {
            counts.insert("unfinished".into(), self.plan.n_requests - recorded);
        }
        HammerReport {
            n_requests: self.plan.n_requests,
            concurrency: self.plan.concurrency,
            connections: self.plan.connections,
            timeout: self.plan.timeout,
            wall_time,
            counts,
            successes,
            latency: self.latency,
            lateness: self.lateness.as_ref().map(summarize),
            pacing: self.plan.pacing,
            closed_by_server: self.closed_by_server,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(ms: u64, outcome: Outcome) -> RequestResult {
        RequestResult {
            latency: Duration::from_millis(ms),
            outcome,
        }
    }

    const OK: Outcome = Outcome::Status {
        code: 200,
        status_ok: true,
        body_ok: true,
    };

    #[test]
    fn collector_merges_outcomes_like_the_seed_counter() {
        let plan = LoadPlan::burst(6, Duration::from_secs(1));
        let mut collector = Collector::new(&plan);
        collector.record(result(1, OK));
        collector.record(result(2, OK));
        collector.record(result(
            3,
            Outcome::Status {
                code: 200,
                status_ok: true,
                body_ok: false,
            },
        ));
        collector.record(result(
            4,
            Outcome::Status {
                code: 500,
                status_ok: false,
                body_ok: false,
            },
        ));
        collector.record(result(1000, Outcome::Failed(ErrorKind::Timeout)));
        let report = collector.finish(Duration::from_millis(600));
        assert_eq!(report.successes, 2);
        assert!((report.success_rate() - 2.0 / 6.0).abs() < 1e-9);
        assert!((report.seconds_per_call() - 0.1).abs() < 1e-9);
        assert_eq!(
            report.counter_text(),
            "200: 2, 200-wrong-body: 1, 500: 1, timeout: 1, unfinished: 1"
        );
        // Timeouts carry no latency; the four answers do.
        let summary = report.latency_summary();
        assert_eq!(summary.count, 4);
        assert!(summary.max_ns >= 3_990_000 && summary.max_ns <= 4_010_000);
        assert!(summary.min_ns >= 990_000 && summary.min_ns <= 1_010_000);
    }

    #[test]
    fn plans_are_bounded() {
        let burst = LoadPlan::burst(2000, Duration::from_secs(1));
        assert_eq!(burst.concurrency, 2000);
        assert_eq!(burst.time_bound(), Duration::from_secs(3));
        let keep_alive = LoadPlan::keep_alive(100, 4, Duration::from_millis(500));
        assert_eq!(
            keep_alive.time_bound(),
            Duration::from_millis(500 * 25 + 2000)
        );
        assert_eq!(
            LoadPlan::keep_alive(3, 8, Duration::from_secs(1)).concurrency,
            3
        );
    }
}
