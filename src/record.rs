//! The run record: everything one `cargo bench` run measured, as written to
//! `<criterion dir>/framework-bench/run-<unix time>.json` and `latest.json`.
//!
//! Pure data: the comparison and report stages read it without depending on
//! the orchestration that filled it in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::conditions::Conditions;
use crate::config::BenchConfig;
use crate::error::{Error, Result};
use crate::load::Route;
use crate::load::hammer::{Connections, HammerReport, LatencySummary};
use crate::load::request::{Loads, RequestSet};
use crate::measure::cpu::{CLIENT_BOUND_BUSY, per_request_ns};
use crate::measure::environment::Environment;
use crate::measure::estimate::Estimate;
use crate::measure::heap::{HeapActivity, HeapSnapshot};
use crate::measure::memory::MemorySnapshot;
use crate::measure::netstat::TcpCounters;
use crate::measure::settle::Settle;
use crate::measure::timeline::Timeline;
use crate::server::manifest::Setting;
use crate::units::{duration_ns, option_duration_ns};

/// The schema name written into every run file. Version 3 records how late
/// an open loop's client sent its requests; version 2 keeps rounds as a
/// list (version 1 stored round 1 as flat fields of the server).
pub const RUN_SCHEMA: &str = "framework-bench/run/v5";

/// Before or after the seed's burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Before,
    After,
}

impl Phase {
    pub const ALL: [Phase; 2] = [Phase::Before, Phase::After];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::After => "after",
        }
    }
}

/// Criterion's mode, as far as the harness needs to know it.
///
/// Mirrors Criterion's private `Mode` (criterion-0.8.2 lib.rs:299-308) plus `LoadBaseline`,
/// which Criterion expresses as `Mode::Benchmark` with `load_baseline` set: the
/// benchmarks are *not* run, their samples are read from a saved baseline
/// (criterion-0.8.2 analysis/mod.rs:64-80) and analysed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunMode {
    /// Measure and analyse every benchmark that passes the filter.
    Benchmark,
    /// Run each benchmark once to see that it works; nothing is measured or written.
    Test,
    /// Iterate each benchmark for `profile_time`; no analysis, no baseline files.
    Profile,
    /// Print the names of the benchmarks; nothing runs.
    List,
    /// Re-analyse samples loaded from `--load-baseline`; nothing runs.
    LoadBaseline,
}

impl RunMode {
    /// Whether benchmark routines are executed at all in this mode.
    pub fn runs_routines(self) -> bool {
        matches!(self, RunMode::Benchmark | RunMode::Test | RunMode::Profile)
    }

    /// Whether Criterion analyses results (and so reads/writes baselines) in this mode.
    pub fn analyses_results(self) -> bool {
        matches!(self, RunMode::Benchmark | RunMode::LoadBaseline)
    }
}

/// One run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: String,
    pub mode: RunMode,
    pub started_at_unix: u64,
    pub finished_at_unix: u64,
    /// From the start of the run to its record, builds included.
    #[serde(with = "duration_ns", rename = "wall_time_ns")]
    pub wall_time: Duration,
    pub config: BenchConfig,
    /// What the run measured under, beyond its parameters.
    pub conditions: Conditions,
    pub environment: Environment,
    pub harness: HarnessRecord,
    pub servers: Vec<ServerRecord>,
    /// The client's own ceiling at each connection count of the sweep: the
    /// same client against a trivial responder in the harness, on the
    /// server CPUs. Empty when no sweep ran.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_ceiling: BTreeMap<usize, LatencyRecord>,
    /// The client's own floor: `latency-hello` with the same sequential
    /// client against the trivial responder in the harness. A latency
    /// figure near it measured the client and the kernel, not the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_floor: Option<LatencyRecord>,
    /// Where the run's time went, by kind of step (`start`, `settle`,
    /// `burst`, `probe`, `stop`, ...; builds are in `start`); the rest of
    /// `wall_time` is Criterion's benchmarks and their analysis.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub time_by_step_ns: BTreeMap<String, u64>,
}

/// The harness's own memory, as the seed's `main` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarnessRecord {
    pub version: String,
    pub before: MemorySnapshot,
    pub after: Option<MemorySnapshot>,
}

/// The name the client's own ceiling goes by, in the sweep's benchmark
/// IDs, its progress lines and its table rows.
pub const CLIENT_CEILING: &str = "client-ceiling";

/// The name of the client's floor in the latency benchmarks and tables.
pub const CLIENT_FLOOR: &str = "client-floor";

/// Everything measured on one server in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerRecord {
    pub name: String,
    pub description: String,
    pub version: Option<String>,
    pub workers: usize,
    pub command: Vec<String>,
    /// The memory phase, once per fresh process: start, settle, before,
    /// burst, settle, after. Round 1 is the process Criterion's memory
    /// benchmarks read.
    pub rounds: Vec<RoundRecord>,
    /// Just before round 1's process stopped.
    pub end: Option<MemorySnapshot>,
    /// What each route's latency benchmark measured in this run.
    pub latency: BTreeMap<Route, LatencyRecord>,
    /// The concurrency sweep on `/hello/World`: connections -> what the
    /// closed loop over that many keep-alive connections measured (its
    /// estimate is time per request, the inverse of throughput).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub throughput: BTreeMap<usize, LatencyRecord>,
    /// Open-loop runs at fixed rates, after the sweep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constant_rate: Vec<RateRecord>,
    /// Every process of this server that was stopped, in order.
    pub stops: Vec<StopRecord>,
    pub error: Option<String>,
    /// Why its heap was not counted although the run counts heaps (a
    /// statically linked binary, a custom allocator): its heap figures are
    /// absent, never 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_not_counted: Option<String>,
    /// Bursts in a row on one more process, for the leak verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leak: Option<LeakRecord>,
    /// Instructions per request of each route, counted by callgrind.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub instructions: BTreeMap<Route, InstructionsRecord>,
    /// Why the instructions were not counted, when the run asked for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions_not_counted: Option<String>,
    /// The requests its manifest declared, as people read them; empty for
    /// a server sent the contract's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestInfo>,
    /// What its figures were measured on, for a server that declared its
    /// requests (absent: the contract's); see [`Loads`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loads: Option<Loads>,
    /// The settings it could not be given the same as every other server:
    /// its manifest has no way to pass them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_settable: Vec<Setting>,
}

/// One declared request, as a table shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInfo {
    pub name: Route,
    /// `POST /items (12 bytes)`.
    pub sent: String,
    /// `201, 27 bytes`.
    pub expect: String,
    /// Whether the burst sends it.
    pub burst: bool,
    /// Its weight in the sweep's and constant-rate runs' mix, if in it.
    pub weight: Option<u32>,
}

impl RequestInfo {
    /// Each request of `set`, with its part in the burst and the mix.
    pub fn of(set: &RequestSet) -> Vec<RequestInfo> {
        set.all()
            .iter()
            .map(|r| RequestInfo {
                name: r.name,
                sent: r.describe(),
                expect: r.expect.describe(),
                burst: set.burst().name == r.name,
                weight: set
                    .sweep()
                    .entries()
                    .find(|(m, _)| m.name == r.name)
                    .map(|(_, w)| w),
            })
            .collect()
    }
}

/// Bursts in a row on one process, each followed by a settle: whether its
/// memory keeps rising from burst to burst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakRecord {
    pub pid: u32,
    pub requests_per_burst: usize,
    /// After each burst, in order.
    pub bursts: Vec<LeakPoint>,
}

/// The memory after one burst of [`LeakRecord`], settled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LeakPoint {
    pub success_rate: f64,
    pub rss_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_heap_bytes: Option<u64>,
}

/// Instructions of a route's requests, counted by callgrind in batches
/// on a keep-alive connection after a warm-up, one batch per process: each
/// batch is a reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionsRecord {
    pub requests_per_batch: usize,
    /// Instructions the server executed over each batch.
    pub batches: Vec<u64>,
}

impl InstructionsRecord {
    pub fn per_request(&self) -> Vec<f64> {
        let n = self.requests_per_batch.max(1) as f64;
        self.batches.iter().map(|&i| i as f64 / n).collect()
    }
}

/// One independent pass of the memory phase on a fresh process. A round cut
/// short by a failure keeps what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub pid: u32,
    #[serde(with = "duration_ns", rename = "startup_time_ns")]
    pub startup_time: Duration,
    pub before: Option<MemorySnapshot>,
    /// How long the server took to settle before `before` was read.
    pub settle_before: Option<Settle>,
    pub burst: Option<BurstRecord>,
    pub after: Option<MemorySnapshot>,
    /// How long the server took to settle after the burst.
    pub settle_after: Option<Settle>,
    /// Each route's latency on this round's process, measured after its
    /// memory was read: the round's reading of every latency figure.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub probes: BTreeMap<Route, ProbeRecord>,
    /// The harness's own responder measured the same way right after:
    /// the control that says whether the machine moved between runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<ProbeRecord>,
    /// The process ran with the heap counter: its heap figures are read,
    /// and none of its time or memory figures (counting costs time).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub counted: bool,
    /// The heap counters when `before` was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_before: Option<HeapSnapshot>,
    /// The heap counters when `after` was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_after: Option<HeapSnapshot>,
    /// The server's memory through the burst and the settle after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
}

/// One round's latency of a route: a closed loop of `n_requests` on one
/// keep-alive connection, after a warm-up on the same connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRecord {
    pub n_requests: usize,
    #[serde(with = "duration_ns", rename = "wall_time_ns")]
    pub wall_time: Duration,
    pub requests: LatencySummary,
    /// The server's CPU time over the measured requests; absent for the
    /// responder, which runs in the harness.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "option_duration_ns",
        rename = "server_cpu_time_ns"
    )]
    pub server_cpu_time: Option<Duration>,
    /// The server's heap calls over the measured requests, when counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<HeapActivity>,
}

impl ProbeRecord {
    /// Wall time per request: what Criterion estimates, for this round.
    pub fn per_request_ns(&self) -> Option<f64> {
        (self.n_requests > 0).then(|| self.wall_time.as_nanos() as f64 / self.n_requests as f64)
    }

    pub fn server_cpu_per_request_ns(&self) -> Option<f64> {
        let cpu = self.server_cpu_time?;
        (self.n_requests > 0).then(|| cpu.as_nanos() as f64 / self.n_requests as f64)
    }
}

/// The seed's burst, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurstRecord {
    pub n_requests: usize,
    pub concurrency: usize,
    pub connections: Connections,
    #[serde(with = "duration_ns", rename = "timeout_ns")]
    pub timeout: Duration,
    #[serde(with = "duration_ns", rename = "wall_time_ns")]
    pub wall_time: Duration,
    pub seconds_per_call: f64,
    pub success_rate: f64,
    pub requests_per_second: f64,
    /// Outcome label -> count: `200`, `500`, `200-wrong-body`, `timeout`, ...
    pub counts: BTreeMap<String, usize>,
    pub latency: LatencySummary,
    /// How the kernel's TCP counters rose over the burst: what failed
    /// requests were (a full listen queue drops SYNs).
    pub network: Option<TcpCounters>,
    /// The server's peak resident memory during the burst (VmHWM, reset
    /// just before it).
    pub peak_rss_bytes: Option<u64>,
    /// The server's CPU time over the burst.
    #[serde(with = "option_duration_ns", rename = "server_cpu_time_ns")]
    pub server_cpu_time: Option<Duration>,
    /// The share of the client CPUs' time the harness used over the burst.
    pub client_busy: Option<f64>,
    /// The client was busy above [`CLIENT_BOUND_BUSY`]: the burst measured
    /// the client, not the server.
    #[serde(default)]
    pub client_bound: bool,
    /// With every connection opened first ([`Connections::Held`]): how
    /// many of them the server held (its open files above those it had
    /// before) when the requests were sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_connections: Option<usize>,
    /// The server's heap calls over the burst, and its live heap's peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<HeapActivity>,
}

/// One open-loop run at a fixed rate: latency from when each request was
/// due, so a stall shows in every request it delayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRecord {
    pub route: Route,
    /// The share of the server's closed-loop maximum this rate was set
    /// to, in percent; `None` when the rate came from
    /// `FRAMEWORK_BENCH_RATE`.
    pub percent_of_max: Option<u8>,
    /// Keep-alive connections the requests went over: those at which the
    /// sweep found the maximum.
    pub connections: usize,
    pub target_per_second: u32,
    /// Successful requests per second of the run's wall time.
    pub achieved_per_second: f64,
    /// Percentiles of every answered request, from when it was due.
    pub requests: LatencySummary,
    /// Outcome label -> count.
    pub counts: BTreeMap<String, usize>,
    #[serde(with = "option_duration_ns", rename = "server_cpu_time_ns")]
    pub server_cpu_time: Option<Duration>,
    pub client_busy: Option<f64>,
    /// As [`LatencyRecord::closed_by_server`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by_server: Option<u64>,
    /// How late the client itself sent each request: past its due time, or
    /// past the answer that held its connection beyond it.
    pub lateness: Option<LatencySummary>,
}

/// How late the client may send at p99 before a rate run is not valid: its
/// latency would then be partly the client's own delay.
pub const LATE_SEND_BOUND: Duration = Duration::from_millis(1);

impl RateRecord {
    /// As [`LatencyRecord::connection_per_request`].
    pub fn connection_per_request(&self) -> bool {
        closes_connections(self.closed_by_server, self.requests.count)
    }

    /// The achieved share of the target rate.
    pub fn achieved_share(&self) -> f64 {
        self.achieved_per_second / f64::from(self.target_per_second.max(1))
    }

    /// Whether the run kept its rate: at least
    /// [`crate::load::hammer::VALID_RATE_SHARE`] of it.
    pub fn valid(&self) -> bool {
        self.achieved_share() >= crate::load::hammer::VALID_RATE_SHARE && !self.sent_late()
    }

    /// The client's own lateness at p99 was beyond [`LATE_SEND_BOUND`].
    pub fn sent_late(&self) -> bool {
        let bound = u64::try_from(LATE_SEND_BOUND.as_nanos()).unwrap_or(u64::MAX);
        self.lateness
            .as_ref()
            .is_some_and(|l| l.count > 0 && l.p99_ns > bound)
    }

    /// The server's CPU time per request, in nanoseconds.
    pub fn server_cpu_per_request_ns(&self) -> Option<f64> {
        per_request_ns(self.server_cpu_time?, self.requests.count)
    }
}

/// One timed Criterion benchmark on one server: a route's latency, or one
/// connection count of the throughput sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyRecord {
    /// Percentiles of the measured requests: from the first call of
    /// Criterion's measurement on, so the warm-up, the first request on a
    /// fresh process and the connection's setup are left out, as they are
    /// from the estimate.
    pub requests: LatencySummary,
    /// The estimate Criterion prints, computed from the samples this run
    /// timed; absent when the benchmark did not complete a measurement
    /// (test mode, profile mode, a failure).
    pub estimate: Option<Estimate>,
    /// The server's CPU time over every request of `requests`.
    #[serde(with = "option_duration_ns", rename = "server_cpu_time_ns")]
    pub server_cpu_time: Option<Duration>,
    /// The share of the client CPUs' time the harness used.
    pub client_busy: Option<f64>,
    /// The client was busy above [`CLIENT_BOUND_BUSY`]: the figure
    /// measured the client, not the server.
    #[serde(default)]
    pub client_bound: bool,
    /// Answers after which the server closed its keep-alive connection.
    /// Absent in run files written before it was counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by_server: Option<u64>,
}

/// Above this share of the client's ceiling, a server's throughput measured
/// the client as much as the server.
pub const CEILING_SHARE_BOUND: f64 = 0.8;

impl LatencyRecord {
    /// A sweep step's requests per second as a share of the client's own
    /// ceiling at the same connection count.
    pub fn share_of_ceiling(&self, ceiling: Option<&LatencyRecord>) -> Option<f64> {
        let ceiling = ceiling?.requests_per_second()?;
        Some(self.requests_per_second()? / ceiling)
    }

    /// Whether a sweep step measured the client: its client CPUs were busy
    /// above the bound, or it came within [`CEILING_SHARE_BOUND`] of the
    /// ceiling.
    pub fn sweep_client_bound(&self, ceiling: Option<&LatencyRecord>) -> bool {
        let share = self.share_of_ceiling(ceiling);
        self.client_bound || share.is_some_and(|s| s > CEILING_SHARE_BOUND)
    }

    /// The time per request this figure stands for: Criterion's estimate,
    /// else (a test-mode run) the median request.
    pub fn per_request_ns(&self) -> Option<f64> {
        match self.estimate {
            Some(estimate) => Some(estimate.point_ns),
            None => (self.requests.count > 0).then_some(self.requests.p50_ns as f64),
        }
    }

    /// The client's own floor as a share of this latency figure: 1 when the
    /// server added nothing to the client's round trip.
    pub fn share_of_floor(&self, floor: Option<&LatencyRecord>) -> Option<f64> {
        let figure = self.per_request_ns()?;
        (figure > 0.0).then_some(floor?.per_request_ns()? / figure)
    }

    /// Whether a latency benchmark measured the client: its threads were
    /// busy above the bound, or the client's floor is within
    /// [`CEILING_SHARE_BOUND`] of the figure. (A one-at-a-time client
    /// blocks in `read` while the server works: only the floor can say.)
    pub fn latency_client_bound(&self, floor: Option<&LatencyRecord>) -> bool {
        let share = self.share_of_floor(floor);
        self.client_bound || share.is_some_and(|s| s > CEILING_SHARE_BOUND)
    }

    /// The server closed its connection after (nearly) every answer, so
    /// each request paid for a new connection as well (bottle's HTTP/1.0,
    /// werkzeug's `Connection: close`).
    pub fn connection_per_request(&self) -> bool {
        closes_connections(self.closed_by_server, self.requests.count)
    }

    /// Requests per second from the estimate of time per request.
    pub fn requests_per_second(&self) -> Option<f64> {
        let ns = self.estimate?.point_ns;
        (ns > 0.0).then(|| 1e9 / ns)
    }

    /// The server's CPU time per request, in nanoseconds.
    pub fn server_cpu_per_request_ns(&self) -> Option<f64> {
        per_request_ns(self.server_cpu_time?, self.requests.count)
    }
}

/// The server closed the connection after at least 90 % of the answers.
fn closes_connections(closed_by_server: Option<u64>, answers: u64) -> bool {
    closed_by_server.is_some_and(|n| answers > 0 && n.saturating_mul(10) >= answers * 9)
}

/// Whether a phase measured the client rather than the server.
pub fn is_client_bound(client_busy: Option<f64>) -> bool {
    client_busy.is_some_and(|busy| busy > CLIENT_BOUND_BUSY)
}

/// How one of a server's processes ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRecord {
    pub pid: u32,
    pub exit: String,
    pub clean: bool,
    #[serde(with = "duration_ns", rename = "stop_time_ns")]
    pub stop_time: Duration,
}

impl From<&HammerReport> for BurstRecord {
    fn from(report: &HammerReport) -> BurstRecord {
        BurstRecord {
            n_requests: report.n_requests,
            concurrency: report.concurrency,
            connections: report.connections,
            timeout: report.timeout,
            wall_time: report.wall_time,
            seconds_per_call: report.seconds_per_call(),
            success_rate: report.success_rate(),
            requests_per_second: report.requests_per_second(),
            counts: report.counts.clone(),
            latency: report.latency_summary(),
            network: None,
            peak_rss_bytes: None,
            server_cpu_time: None,
            client_busy: None,
            client_bound: false,
            held_connections: None,
            heap: None,
        }
    }
}

impl BurstRecord {
    /// The burst's peak over the idle memory before it, per connection the
    /// server held: what one more connection costs it.
    pub fn peak_bytes_per_held_connection(&self, before_rss_bytes: u64) -> Option<f64> {
        let held = self.held_connections.filter(|&n| n > 0)?;
        let peak = self.peak_rss_bytes?;
        Some(peak.saturating_sub(before_rss_bytes) as f64 / held as f64)
    }

    /// The server's CPU time per request of the burst, in nanoseconds.
    pub fn server_cpu_per_request_ns(&self) -> Option<f64> {
        per_request_ns(self.server_cpu_time?, self.n_requests as u64)
    }

    /// The seed's counter with each failure's cause as the kernel counted
    /// it: `200: 1157, timeout: 843 (843 SYNs dropped: listen queue full)`.
    /// A failed burst always names a cause, including that the kernel
    /// dropped and reset nothing (the server answered too late).
    pub fn outcome_text(&self) -> String {
        let counter = crate::load::hammer::counter_text(&self.counts);
        match &self.network {
            Some(network) if self.success_rate < 1.0 => {
                let timeouts = self.counts.contains_key("timeout");
                format!("{counter} ({})", failure_causes(network, timeouts))
            }
            _ => counter,
        }
    }
}

/// What the kernel's TCP counters say about a burst's failures, in words.
fn failure_causes(network: &TcpCounters, timeouts: bool) -> String {
    let mut causes = Vec::new();
    if network.listen_overflows > 0 {
        causes.push(format!(
            "{} SYNs dropped: listen queue full",
            network.listen_overflows
        ));
    }
    let other_drops = network
        .listen_drops
        .saturating_sub(network.listen_overflows);
    if other_drops > 0 {
        causes.push(format!("{other_drops} SYNs dropped by the listener"));
    }
    if network.syn_retransmits > 0 {
        causes.push(format!("{} SYNs sent again", network.syn_retransmits));
    }
    if network.resets_sent > 0 {
        causes.push(format!("{} resets sent", network.resets_sent));
    }
    if network.established_resets > 0 {
        causes.push(format!("{} connections reset", network.established_resets));
    }
    if causes.is_empty() && timeouts {
        "no SYN dropped and no reset: the server answered too late".to_owned()
    } else if causes.is_empty() {
        "no SYN dropped and no reset".to_owned()
    } else {
        causes.join(", ")
    }
}

impl ServerRecord {
    /// A record with nothing measured yet.
    pub fn new(name: &str, description: &str, workers: usize) -> ServerRecord {
        ServerRecord {
            name: name.to_owned(),
            description: description.to_owned(),
            version: None,
            workers,
            command: Vec::new(),
            rounds: Vec::new(),
            end: None,
            latency: BTreeMap::new(),
            throughput: BTreeMap::new(),
            constant_rate: Vec::new(),
            stops: Vec::new(),
            error: None,
            heap_not_counted: None,
            leak: None,
            instructions: BTreeMap::new(),
            instructions_not_counted: None,
            requests: Vec::new(),
            loads: None,
            not_settable: Vec::new(),
        }
    }

    /// What its figures were measured on: the contract's loads unless it
    /// declared its own.
    pub fn loads(&self) -> Loads {
        self.loads.clone().unwrap_or_else(Loads::contract)
    }

    /// Round 1, the process Criterion's memory benchmarks read.
    pub fn first_round(&self) -> Option<&RoundRecord> {
        self.rounds.first()
    }
}

impl RoundRecord {
    /// A round whose process just started.
    pub fn started(pid: u32, startup_time: Duration) -> RoundRecord {
        RoundRecord {
            pid,
            startup_time,
            before: None,
            settle_before: None,
            burst: None,
            after: None,
            settle_after: None,
            probes: BTreeMap::new(),
            control: None,
            counted: false,
            heap_before: None,
            heap_after: None,
            timeline: None,
        }
    }

    /// Keeps the settled reading before the burst.
    pub fn read_before(&mut self, (snapshot, settle): (MemorySnapshot, Settle)) {
        self.before = Some(snapshot);
        self.settle_before = Some(settle);
    }

    /// Keeps the settled reading after the burst.
    pub fn read_after(&mut self, (snapshot, settle): (MemorySnapshot, Settle)) {
        self.after = Some(snapshot);
        self.settle_after = Some(settle);
    }
}

impl RunRecord {
    /// Every request its servers were measured on, by name: the contract's
    /// (for any server that declared none) first, then the others as the
    /// servers declared them.
    pub fn routes(&self) -> Vec<Route> {
        let mut routes = Vec::new();
        let contract =
            self.servers.is_empty() || self.servers.iter().any(|s| s.requests.is_empty());
        if contract {
            routes.extend(Route::CONTRACT);
        }
        for route in self
            .servers
            .iter()
            .flat_map(|s| s.requests.iter().map(|r| r.name))
        {
            if !routes.contains(&route) {
                routes.push(route);
            }
        }
        routes
    }

    /// What the request of this name sends, as people read it (`GET
    /// /hello/World`): a declared one as its server declared it.
    pub fn request_text(&self, route: Route) -> String {
        let declared = self
            .servers
            .iter()
            .flat_map(|s| &s.requests)
            .find(|r| r.name == route)
            .map(|r| r.sent.clone());
        declared
            .or_else(|| crate::load::request::contract_request(route).map(|r| r.describe()))
            .unwrap_or_else(|| route.to_string())
    }

    /// Reads a run file of this schema; any other is refused with a message
    /// naming the file and both schemas.
    pub fn load(path: &Path) -> Result<RunRecord> {
        let bad = |message: String| Error::BadRunFile {
            path: path.to_owned(),
            expected: RUN_SCHEMA,
            message,
        };
        let text = crate::fs::read_to_string(path)?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|err| bad(format!("not JSON: {err}")))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(RUN_SCHEMA) => serde_json::from_value(value).map_err(|err| bad(err.to_string())),
            Some(other) => Err(bad(format!(
                "its schema is `{other}`; run `cargo bench` again to write a `{RUN_SCHEMA}` file"
            ))),
            None => Err(bad("it has no `schema` field".into())),
        }
    }

    /// Writes the run file and `latest.json` beside it; returns the run file.
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(format!("run-{}.json", self.started_at_unix));
        crate::fs::write_json(&path, self)?;
        crate::fs::write_json(&dir.join("latest.json"), self)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn a_run_file_round_trips_and_other_schemas_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let run = fixtures::run();
        let path = run.save(dir.path()).unwrap();
        assert_eq!(RunRecord::load(&path).unwrap(), run);
        assert_eq!(
            RunRecord::load(&dir.path().join("latest.json")).unwrap(),
            run
        );

        let old = dir.path().join("old.json");
        std::fs::write(&old, r#"{"schema":"framework-bench/run/v1","servers":[]}"#).unwrap();
        let err = RunRecord::load(&old).unwrap_err().to_string();
        assert!(err.contains("old.json"), "{err}");
        assert!(err.contains("framework-bench/run/v1"), "{err}");
        assert!(err.contains(RUN_SCHEMA), "{err}");
        std::fs::write(&old, "{").unwrap();
        let err = RunRecord::load(&old).unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn a_failed_burst_names_its_cause() {
        let burst = |ok: usize, timeouts: usize, network: Option<TcpCounters>| {
            let mut counts = BTreeMap::from([("200".to_owned(), ok)]);
            if timeouts > 0 {
                counts.insert("timeout".to_owned(), timeouts);
            }
            BurstRecord {
                counts,
                success_rate: ok as f64 / (ok + timeouts) as f64,
                network,
                ..fixtures::burst()
            }
        };
        let overflowed = TcpCounters {
            listen_overflows: 843,
            listen_drops: 843,
            syn_retransmits: 843,
            ..TcpCounters::default()
        };
        assert_eq!(
            burst(1157, 843, Some(overflowed)).outcome_text(),
            "200: 1157, timeout: 843 (843 SYNs dropped: listen queue full, 843 SYNs sent again)"
        );
        assert_eq!(
            burst(1990, 10, Some(TcpCounters::default())).outcome_text(),
            "200: 1990, timeout: 10 (no SYN dropped and no reset: the server answered too late)"
        );
        // A whole burst needs no cause; without the counters none is given.
        assert_eq!(burst(2000, 0, Some(overflowed)).outcome_text(), "200: 2000");
        assert_eq!(
            burst(1990, 10, None).outcome_text(),
            "200: 1990, timeout: 10"
        );
        // Failures that are not timeouts are not called late answers.
        let wrong = BurstRecord {
            counts: BTreeMap::from([("200".to_owned(), 1990), ("500".to_owned(), 10)]),
            ..burst(1990, 10, Some(TcpCounters::default()))
        };
        assert_eq!(
            wrong.outcome_text(),
            "200: 1990, 500: 10 (no SYN dropped and no reset)"
        );
    }

    #[test]
    fn rounds_are_a_list_in_the_file() {
        let json = serde_json::to_value(fixtures::run()).unwrap();
        let rounds = &json["servers"][0]["rounds"];
        assert_eq!(rounds.as_array().map(Vec::len), Some(3));
        assert!(json["servers"][0].get("before").is_none());
        assert_eq!(
            json["servers"][0]["latency"]["hello"]["estimate"]["statistic"],
            "slope"
        );
    }

    #[test]
    fn a_latency_figure_near_the_clients_floor_is_client_bound() {
        let at = |ns: f64| {
            let mut record = fixtures::run().servers[0].latency[&Route::HELLO].clone();
            record.client_bound = false;
            record.estimate.as_mut().unwrap().point_ns = ns;
            record
        };
        let floor = at(60_000.0);
        assert!(
            at(70_000.0).latency_client_bound(Some(&floor)),
            "86 % of it is the floor"
        );
        assert!(!at(90_000.0).latency_client_bound(Some(&floor)), "67 %");
        assert!(
            !at(70_000.0).latency_client_bound(None),
            "no floor measured"
        );
        assert_eq!(at(120_000.0).share_of_floor(Some(&floor)), Some(0.5));
    }

    /// The committed example of a run file: the fixture run, as written.
    const GOLDEN: &str = "tests/fixtures/run-v5.json";

    /// Every field path of a JSON value with its type: the file's shape.
    fn shape(value: &serde_json::Value, at: &str, out: &mut std::collections::BTreeSet<String>) {
        use serde_json::Value;
        match value {
            Value::Object(map) => {
                for (key, field) in map {
                    shape(field, &format!("{at}.{key}"), out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    shape(item, &format!("{at}[]"), out);
                }
            }
            Value::Null => drop(out.insert(format!("{at}: null"))),
            Value::Bool(_) => drop(out.insert(format!("{at}: bool"))),
            Value::Number(_) => drop(out.insert(format!("{at}: number"))),
            Value::String(_) => drop(out.insert(format!("{at}: string"))),
        }
    }

    #[test]
    fn the_run_file_keeps_the_committed_shape() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        let written = serde_json::to_string_pretty(&fixtures::full_run()).unwrap() + "\n";
        if std::env::var_os("FRAMEWORK_BENCH_BLESS").is_some() {
            std::fs::write(&path, &written).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap();
        let fields = |text: &str| {
            let mut out = std::collections::BTreeSet::new();
            shape(&serde_json::from_str(text).unwrap(), "", &mut out);
            out
        };
        let (now, committed) = (fields(&written), fields(&golden));
        assert_eq!(
            now.difference(&committed).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "fields the run file gained: bump RUN_SCHEMA, then FRAMEWORK_BENCH_BLESS=1 cargo test --lib record"
        );
        assert_eq!(
            committed.difference(&now).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "fields the run file lost: bump RUN_SCHEMA, then FRAMEWORK_BENCH_BLESS=1 cargo test --lib record"
        );
        assert_eq!(golden, written, "the same fields, other values or order");
        // The committed file is a run file this version reads.
        assert_eq!(RunRecord::load(&path).unwrap(), fixtures::full_run());
    }

    #[test]
    fn the_golden_run_file_has_every_field_the_schema_can_hold() {
        let golden =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN))
                .unwrap();
        let mut fields = std::collections::BTreeSet::new();
        shape(&serde_json::from_str(&golden).unwrap(), "", &mut fields);
        // No field is pinned only as `null`: each optional one is filled
        // somewhere, so that its type is pinned too.
        let only_null: Vec<&String> = fields
            .iter()
            .filter(|f| f.ends_with(": null"))
            .filter(|f| {
                let path = f.trim_end_matches(": null");
                !fields
                    .iter()
                    .any(|g| g.starts_with(path) && !g.ends_with(": null"))
            })
            .collect();
        assert_eq!(only_null, Vec::<&String>::new());
    }
}
