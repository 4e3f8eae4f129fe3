//! The hammer: a bounded number of HTTP requests to a loopback server.
//!
//! One loop serves every policy: `concurrency` workers take request numbers
//! from a shared counter until `n_requests` are taken, each request on a new
//! connection ([`Connections::PerRequest`], the seed's burst) or on pooled
//! keep-alive connections. Each request's outcome is a value the worker
//! keeps; after the clock stops, a [`Collector`] merges them all into a
//! [`HammerReport`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How requests use connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Connections {
    /// Every request opens (and closes) its own connection, as the seed did.
    PerRequest,
    /// Requests reuse pooled keep-alive connections, one per worker.
    KeepAlive,
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
    pub path: String,
    /// The exact body a success must carry.
    pub expected_body: String,
    /// Stop sending at the first request that is not a success, so that a
    /// server that stops answering costs one timeout per worker, not one
    /// per remaining request. The rest count as `unfinished`.
    pub stop_on_failure: bool,
}

impl LoadPlan {
    /// The seed's burst: all `n_requests` at once, each on its own connection.
    pub fn burst(n_requests: usize, timeout: Duration) -> LoadPlan {
        LoadPlan {
            n_requests,
            concurrency: n_requests.max(1),
            connections: Connections::PerRequest,
            timeout,
            path: crate::server::process::PROBE_PATH.to_owned(),
            expected_body: "Hello, World!".to_owned(),
            stop_on_failure: false,
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
        self.timeout * rounds.max(1) + Duration::from_secs(2)
    }
}

/// Why a request got no HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    Timeout,
    /// Connection refused.
    Refused,
    /// Connection reset or closed early.
    Reset,
    /// Any other failure to connect.
    Connect,
    Other,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Refused => "refused",
            ErrorKind::Reset => "reset",
            ErrorKind::Connect => "connect-error",
            ErrorKind::Other => "error",
        }
    }

    fn of(err: &reqwest::Error) -> ErrorKind {
        if err.is_timeout() {
            return ErrorKind::Timeout;
        }
        let io_kind = std::iter::successors(Some(err as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .find_map(|e| e.downcast_ref::<std::io::Error>().map(std::io::Error::kind));
        use std::io::ErrorKind as Io;
        match io_kind {
            Some(Io::ConnectionRefused) => ErrorKind::Refused,
            Some(
                Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof,
            ) => ErrorKind::Reset,
            Some(Io::TimedOut) => ErrorKind::Timeout,
            _ if err.is_connect() => ErrorKind::Connect,
            _ => ErrorKind::Other,
        }
    }
}

/// What one request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Status { code: u16, body_ok: bool },
    Failed(ErrorKind),
}

impl Outcome {
    /// A 200 whose body is exactly the expected one.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Status {
                code: 200,
                body_ok: true
            }
        )
    }

    /// The key this outcome is counted under: `200`, `500`,
    /// `200-wrong-body`, `timeout`, ...
    pub fn label(self) -> String {
        match self {
            Outcome::Status {
                code: 200,
                body_ok: false,
            } => "200-wrong-body".to_owned(),
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
    /// Latency of every request that got a status, successful or not.
    pub latency: Histogram<u64>,
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
}

impl Collector {
    pub fn new(plan: &LoadPlan) -> Collector {
        Collector {
            plan: plan.clone(),
            counts: BTreeMap::new(),
            latency: latency_histogram(),
        }
    }

    pub fn record(&mut self, result: RequestResult) {
        *self.counts.entry(result.outcome).or_default() += 1;
        if let Outcome::Status { .. } = result.outcome {
            let ns = u64::try_from(result.latency.as_nanos()).unwrap_or(u64::MAX);
            self.latency.saturating_record(ns.max(1));
        }
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
        }
    }
}

/// An HTTP client for loopback servers, set up for a connection policy.
pub fn http_client(connections: Connections, timeout: Duration) -> Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .tcp_nodelay(true);
    let builder = match connections {
        Connections::PerRequest => builder.pool_max_idle_per_host(0),
        Connections::KeepAlive => builder.pool_idle_timeout(None),
    };
    builder.build().map_err(Error::HttpClient)
}

/// Sends one GET and classifies the answer.
pub async fn send_one(client: &reqwest::Client, url: &str, expected_body: &str) -> RequestResult {
    let start = Instant::now();
    let outcome = match client.get(url).send().await {
        Ok(response) => {
            let code = response.status().as_u16();
            match response.bytes().await {
                Ok(body) => Outcome::Status {
                    code,
                    body_ok: body == expected_body.as_bytes(),
                },
                Err(err) => Outcome::Failed(ErrorKind::of(&err)),
            }
        }
        Err(err) => Outcome::Failed(ErrorKind::of(&err)),
    };
    RequestResult {
        latency: start.elapsed(),
        outcome,
    }
}

/// Runs the plan against a loopback server with a client of its own.
/// Never sends more than `n_requests`, never runs past
/// [`LoadPlan::time_bound`].
pub async fn hammer(addr: SocketAddr, plan: &LoadPlan) -> Result<HammerReport> {
    let client = http_client(plan.connections, plan.timeout)?;
    hammer_with(&client, addr, plan).await
}

/// Runs the plan with `client`, whose pool (for keep-alive plans) outlives
/// the call. With one worker the loop runs on the calling task: no spawn, no
/// cross-thread wake-up per request. Workers only push plain results; the
/// histogram is filled after the clock has stopped.
pub async fn hammer_with(
    client: &reqwest::Client,
    addr: SocketAddr,
    plan: &LoadPlan,
) -> Result<HammerReport> {
    if !addr.ip().is_loopback() {
        return Err(Error::LoadBeyondLoopback { addr });
    }
    let target = Target {
        url: format!("http://{addr}{}", plan.path).into(),
        expected_body: plan.expected_body.as_str().into(),
        n_requests: plan.n_requests,
        taken: Arc::new(AtomicUsize::new(0)),
        failed: Arc::new(AtomicBool::new(false)),
        stop_on_failure: plan.stop_on_failure,
        // Stop taking requests early enough that the last can time out.
        stop_taking_at: Instant::now() + plan.time_bound().saturating_sub(plan.timeout),
    };
    let workers = plan.concurrency.clamp(1, plan.n_requests.max(1));
    let mut results = Vec::with_capacity(plan.n_requests.min(1 << 20));
    let started = Instant::now();
    if workers == 1 {
        target.work(client, &mut results).await;
    } else {
        let share = plan.n_requests.div_ceil(workers);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let (target, client) = (target.clone(), client.clone());
            set.spawn(async move {
                let mut own = Vec::with_capacity(share);
                target.work(&client, &mut own).await;
                own
            });
        }
        let join_all = async {
            while let Some(done) = set.join_next().await {
                if let Ok(own) = done {
                    results.extend(own);
                }
            }
        };
        // Workers stop by themselves; this only guards against a stuck one.
        let _ = tokio::time::timeout(plan.time_bound(), join_all).await;
        set.abort_all();
    }
    let wall_time = started.elapsed();
    let mut collector = Collector::new(plan);
    results
        .into_iter()
        .for_each(|result| collector.record(result));
    Ok(collector.finish(wall_time))
}

/// What every worker shares: where to send, what to expect, how many.
#[derive(Clone)]
struct Target {
    url: Arc<str>,
    expected_body: Arc<str>,
    n_requests: usize,
    taken: Arc<AtomicUsize>,
    /// Set by the first failure when `stop_on_failure`; every worker stops.
    failed: Arc<AtomicBool>,
    stop_on_failure: bool,
    stop_taking_at: Instant,
}

impl Target {
    /// The one request loop: take a request number, send, keep the result.
    async fn work(&self, client: &reqwest::Client, results: &mut Vec<RequestResult>) {
        while Instant::now() < self.stop_taking_at
            && !self.failed.load(Ordering::Relaxed)
            && self.taken.fetch_add(1, Ordering::Relaxed) < self.n_requests
        {
            let result = send_one(client, &self.url, &self.expected_body).await;
            if self.stop_on_failure && !result.outcome.is_success() {
                self.failed.store(true, Ordering::Relaxed);
            }
            results.push(result);
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
                body_ok: false,
            },
        ));
        collector.record(result(
            4,
            Outcome::Status {
                code: 500,
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

    #[tokio::test]
    async fn stop_on_failure_sends_no_more_after_the_first_failure() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut plan = LoadPlan::keep_alive(50, 1, Duration::from_secs(1));
        plan.stop_on_failure = true;
        let report = hammer(addr, &plan).await.unwrap();
        assert_eq!(report.counts.get("refused"), Some(&1), "{report}");
        assert_eq!(report.counts.get("unfinished"), Some(&49), "{report}");
        assert_eq!(report.requests_per_second(), 0.0);
    }

    #[tokio::test]
    async fn a_closed_port_gives_refused_not_a_hang() {
        // Bind then drop: the port is (almost certainly) closed now.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let plan = LoadPlan::keep_alive(3, 1, Duration::from_secs(1));
        let report = hammer(addr, &plan).await.unwrap();
        assert_eq!(report.successes, 0);
        assert_eq!(report.counts.get("refused"), Some(&3), "{report}");
    }
}
