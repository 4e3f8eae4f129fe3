//! A run made into typed figures per server: what baselines store,
//! comparisons judge and exports publish.
//!
//! A [`Figure`] knows what it measures, its phase and its unit; its name on
//! disk (`rss-before`, `latency-hello`, ...) is made from it at the edge and
//! parsed only when a file is read, never to decide behaviour.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::load::Route;
use crate::load::hammer::LatencySummary;
use crate::measure::estimate::Statistic;
pub use crate::measure::memory::MemoryFigure;
pub use crate::record::Phase;
use crate::record::{CLIENT_FLOOR, RunRecord, ServerRecord};

/// What a figure's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    Nanoseconds,
    Bytes,
    /// A fraction in 0..=1.
    Ratio,
    /// A count per request: instructions, allocations.
    Count,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Nanoseconds => "ns",
            Unit::Bytes => "bytes",
            Unit::Ratio => "ratio",
            Unit::Count => "count",
        }
    }
}

/// A percentile of every request a latency benchmark sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Percentile {
    P50,
    P90,
    P99,
    P999,
    Max,
}

impl Percentile {
    pub const ALL: [Percentile; 5] = [
        Percentile::P50,
        Percentile::P90,
        Percentile::P99,
        Percentile::P999,
        Percentile::Max,
    ];

    /// `p50`, `p90`, `p99`, `p99.9`, `max`.
    pub fn name(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
            Percentile::P999 => "p99.9",
            Percentile::Max => "max",
        }
    }

    /// This percentile of `summary`, in nanoseconds; `None` where the
    /// summary has none (no requests, or p99.9 in an older run file).
    pub fn of(self, summary: &LatencySummary) -> Option<u64> {
        let ns = match self {
            Percentile::P50 => summary.p50_ns,
            Percentile::P90 => summary.p90_ns,
            Percentile::P99 => summary.p99_ns,
            Percentile::P999 => summary.p999_ns,
            Percentile::Max => summary.max_ns,
        };
        (summary.count > 0 && ns > 0).then_some(ns)
    }
}

/// The part of a run a figure comes from; see [`Figure::stage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Start and the idle memory before the burst: every round, and any
    /// first start (a latency benchmark's too) records them.
    Before,
    /// The burst and the memory after it.
    Burst,
    Latency(Route),
    Sweep(usize),
    Rate(Route, u8),
    /// The callgrind pass.
    Instructions,
}

impl Stage {
    /// The phase name a summary lists a client-bound stage under (`burst`,
    /// `latency-hello`); `None` for a stage that has no client-bound check.
    pub fn phase_name(self) -> Option<String> {
        match self {
            Stage::Burst => Some("burst".to_owned()),
            Stage::Latency(route) => Some(format!("latency-{route}")),
            Stage::Sweep(connections) => Some(format!("sweep-c{connections}")),
            Stage::Before | Stage::Rate(..) | Stage::Instructions => None,
        }
    }
}

/// The smallest change in instructions per request a comparison reports.
/// Over five runs of unchanged code (2026-12-02, this project's 2-core
/// machine) the count moved by at most 0.14 % (axum, actix-web, warp, bottle,
/// tornado), 0.7 % (rocket `/json`) and 1.7 % (tide, whose async-std timers
/// vary): the readings are launches, so a verdict's test sees that
/// variation, and 1 % is what is worth a maintainer's look.
pub const INSTRUCTIONS_FLOOR: f64 = 0.01;

/// The smallest change in allocations, bytes allocated or live heap a
/// comparison reports. Over the same five runs, allocations per request
/// moved by at most 0.3 % for the Rust servers and bottle, by 3.4 % for
/// tornado (and its bytes per request by 19 %, its live heap after the
/// burst by 37 %): the heap rounds are fresh processes, so the test sees
/// that too.
pub const HEAP_FLOOR: f64 = 0.02;

/// The name of a sweep figure on disk, before its connection count.
const SWEEP_PREFIX: &str = "time-per-request-c";

/// What a figure measures. The variant order is the order reports list
/// figures in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Figure {
    /// Instructions the server executes per request of a route (callgrind):
    /// first, as the clearest signal of a change in the code.
    Instructions(Route),
    /// Heap allocations (and reallocations) per request of a route's
    /// latency readings.
    LatencyAllocations(Route),
    /// Bytes those allocations asked for (usable sizes), per request.
    LatencyAllocatedBytes(Route),
    /// Heap allocations per request of the burst, connections included.
    BurstAllocations,
    BurstAllocatedBytes,
    /// The bytes the server holds on its heap (allocated minus freed),
    /// before or after the burst.
    LiveHeap(Phase),
    /// The most the server held on its heap during the burst.
    BurstPeakLiveHeap,
    /// RSS minus the live heap: what the allocator (and everything not on
    /// the heap) keeps resident. Shown, not judged: the allocator decides
    /// it, by timing.
    AllocatorOverhead(Phase),
    /// Time per request of a route's latency benchmark.
    Latency(Route),
    /// The server's CPU time per request of a route's latency benchmark.
    LatencyCpuPerRequest(Route),
    /// A percentile of every request of a route's latency benchmark.
    LatencyPercentile(Route, Percentile),
    /// A memory figure of an idle server before or after the burst.
    Memory(Phase, MemoryFigure),
    /// Spawn to the first 200.
    StartupTime,
    /// The burst's wall time divided by its requests (the seed's s/call).
    BurstTimePerCall,
    /// The share of the burst's requests that did not succeed.
    BurstFailureRate,
    /// The server's peak resident memory during the burst.
    BurstPeakRss,
    /// The server's CPU time per request of the burst.
    BurstCpuPerRequest,
    /// Time per request of the throughput sweep at this many connections:
    /// the inverse of its requests per second.
    SweepTimePerRequest(usize),
    /// A percentile of a route's open-loop run at this percent of the
    /// server's maximum, from when each request was due.
    RatePercentile(Route, u8, Percentile),
}

impl Figure {
    pub fn unit(self) -> Unit {
        match self {
            Figure::Latency(_)
            | Figure::LatencyCpuPerRequest(_)
            | Figure::LatencyPercentile(..)
            | Figure::StartupTime
            | Figure::BurstTimePerCall
            | Figure::BurstCpuPerRequest
            | Figure::SweepTimePerRequest(_)
            | Figure::RatePercentile(..) => Unit::Nanoseconds,
            Figure::Memory(..)
            | Figure::BurstPeakRss
            | Figure::LatencyAllocatedBytes(_)
            | Figure::BurstAllocatedBytes
            | Figure::LiveHeap(_)
            | Figure::BurstPeakLiveHeap
            | Figure::AllocatorOverhead(_) => Unit::Bytes,
            Figure::BurstFailureRate => Unit::Ratio,
            Figure::Instructions(_) | Figure::LatencyAllocations(_) | Figure::BurstAllocations => {
                Unit::Count
            }
        }
    }

    /// The smallest change a comparison reports for a count, which does
    /// not depend on the machine's speed; `None` for the figures judged
    /// against the run's minimum effect. See [`INSTRUCTIONS_FLOOR`].
    pub fn floor(self) -> Option<f64> {
        match self {
            Figure::Instructions(_) => Some(INSTRUCTIONS_FLOOR),
            Figure::LatencyAllocations(_)
            | Figure::LatencyAllocatedBytes(_)
            | Figure::BurstAllocations
            | Figure::BurstAllocatedBytes
            | Figure::LiveHeap(_)
            | Figure::BurstPeakLiveHeap => Some(HEAP_FLOOR),
            _ => None,
        }
    }

    /// False for a figure shown but never judged.
    pub fn is_judged(self) -> bool {
        !matches!(self, Figure::AllocatorOverhead(_))
    }

    /// The name on disk: `latency-hello`, `rss-before`, `startup-time`, ...
    pub fn name(self) -> String {
        match self {
            Figure::Instructions(route) => format!("instructions-per-request-{}", route.name()),
            Figure::LatencyAllocations(route) => {
                format!("allocations-per-request-{}", route.name())
            }
            Figure::LatencyAllocatedBytes(route) => {
                format!("allocated-bytes-per-request-{}", route.name())
            }
            Figure::BurstAllocations => "burst-allocations-per-request".to_owned(),
            Figure::BurstAllocatedBytes => "burst-allocated-bytes-per-request".to_owned(),
            Figure::LiveHeap(phase) => format!("live-heap-{}", phase.name()),
            Figure::BurstPeakLiveHeap => "burst-peak-live-heap".to_owned(),
            Figure::AllocatorOverhead(phase) => format!("allocator-overhead-{}", phase.name()),
            Figure::Latency(route) => format!("latency-{}", route.name()),
            Figure::LatencyCpuPerRequest(route) => format!("cpu-per-request-{}", route.name()),
            Figure::LatencyPercentile(route, p) => format!("latency-{}-{}", route.name(), p.name()),
            Figure::Memory(phase, memory) => format!("{}-{}", memory.name(), phase.name()),
            Figure::StartupTime => "startup-time".to_owned(),
            Figure::BurstTimePerCall => "burst-time-per-call".to_owned(),
            Figure::BurstFailureRate => "burst-failure-rate".to_owned(),
            Figure::BurstPeakRss => "burst-peak-rss".to_owned(),
            Figure::BurstCpuPerRequest => "burst-cpu-per-request".to_owned(),
            Figure::SweepTimePerRequest(c) => format!("{SWEEP_PREFIX}{c}"),
            Figure::RatePercentile(route, percent, p) => {
                format!("rate-{}-{percent}pct-{}", route.name(), p.name())
            }
        }
    }

    /// The name shown to people: `latency hello`, `RSS before`, ...
    pub fn label(self) -> String {
        match self {
            Figure::Instructions(route) => format!("instructions/request {}", route.name()),
            Figure::LatencyAllocations(route) => format!("allocations/request {}", route.name()),
            Figure::LatencyAllocatedBytes(route) => {
                format!("bytes allocated/request {}", route.name())
            }
            Figure::BurstAllocations => "burst allocations/request".to_owned(),
            Figure::BurstAllocatedBytes => "burst bytes allocated/request".to_owned(),
            Figure::LiveHeap(phase) => format!("live heap {}", phase.name()),
            Figure::BurstPeakLiveHeap => "burst peak live heap".to_owned(),
            Figure::AllocatorOverhead(phase) => format!("allocator overhead {}", phase.name()),
            Figure::Latency(route) => format!("latency {}", route.name()),
            Figure::LatencyCpuPerRequest(route) => format!("CPU/request {}", route.name()),
            Figure::LatencyPercentile(route, p) => format!("latency {} {}", route.name(), p.name()),
            Figure::Memory(phase, memory) => format!("{} {}", memory.label(), phase.name()),
            Figure::StartupTime => "startup time".to_owned(),
            Figure::BurstTimePerCall => "burst time/call".to_owned(),
            Figure::BurstFailureRate => "burst failures".to_owned(),
            Figure::BurstPeakRss => "burst peak RSS".to_owned(),
            Figure::BurstCpuPerRequest => "burst CPU/request".to_owned(),
            Figure::SweepTimePerRequest(c) => format!("time/request at c{c}"),
            Figure::RatePercentile(route, percent, p) => {
                format!("{} at {percent} % of max, {}", route.name(), p.name())
            }
        }
    }

    /// The part of a run that measures this figure: the start and idle
    /// memory, the burst, a route's latency benchmark, or a step of the
    /// sweep. A filter selects stages, so a comparison judges only the
    /// stages a run measured.
    pub fn stage(self) -> Stage {
        match self {
            Figure::Instructions(_) => Stage::Instructions,
            Figure::Latency(route)
            | Figure::LatencyCpuPerRequest(route)
            | Figure::LatencyAllocations(route)
            | Figure::LatencyAllocatedBytes(route)
            | Figure::LatencyPercentile(route, _) => Stage::Latency(route),
            Figure::SweepTimePerRequest(c) => Stage::Sweep(c),
            Figure::RatePercentile(route, percent, _) => Stage::Rate(route, percent),
            Figure::StartupTime
            | Figure::Memory(Phase::Before, _)
            | Figure::LiveHeap(Phase::Before)
            | Figure::AllocatorOverhead(Phase::Before) => Stage::Before,
            Figure::Memory(Phase::After, _)
            | Figure::LiveHeap(Phase::After)
            | Figure::AllocatorOverhead(Phase::After)
            | Figure::BurstAllocations
            | Figure::BurstAllocatedBytes
            | Figure::BurstPeakLiveHeap
            | Figure::BurstTimePerCall
            | Figure::BurstFailureRate
            | Figure::BurstPeakRss
            | Figure::BurstCpuPerRequest => Stage::Burst,
        }
    }

    /// True for the figures whose value is an estimate Criterion prints.
    pub fn is_estimate(self) -> bool {
        matches!(self, Figure::Latency(_) | Figure::SweepTimePerRequest(_))
    }

    /// True for figures that measure time: a machine that got slower moves
    /// them all.
    pub fn is_time(self) -> bool {
        self.unit() == Unit::Nanoseconds
    }

    /// Every figure a run of the contract's requests can report, in report
    /// order.
    pub fn all() -> Vec<Figure> {
        Figure::all_of(&Route::CONTRACT)
    }

    /// Every figure a run of these requests can report (constant-rate
    /// figures for each as a load of its own), in report order.
    pub fn all_of(routes: &[Route]) -> Vec<Figure> {
        let counts = routes.iter().copied().flat_map(|r| {
            [
                Figure::Instructions(r),
                Figure::LatencyAllocations(r),
                Figure::LatencyAllocatedBytes(r),
            ]
        });
        let heap = Phase::ALL
            .into_iter()
            .flat_map(|p| [Figure::LiveHeap(p), Figure::AllocatorOverhead(p)]);
        let latency = routes.iter().copied().map(Figure::Latency);
        let latency_cpu = routes.iter().copied().map(Figure::LatencyCpuPerRequest);
        let percentiles = routes
            .iter()
            .copied()
            .flat_map(|r| Percentile::ALL.map(|p| Figure::LatencyPercentile(r, p)));
        let rate = routes.iter().copied().flat_map(|r| {
            let pct = crate::config::COMPARED_RATE_PERCENT;
            Percentile::ALL.map(|p| Figure::RatePercentile(r, pct, p))
        });
        let memory = Phase::ALL
            .into_iter()
            .flat_map(|p| MemoryFigure::ALL.map(|m| Figure::Memory(p, m)));
        counts
            .chain([
                Figure::BurstAllocations,
                Figure::BurstAllocatedBytes,
                Figure::BurstPeakLiveHeap,
            ])
            .chain(heap)
            .chain(latency)
            .chain(latency_cpu)
            .chain(percentiles)
            .chain(rate)
            .chain(memory)
            .chain([
                Figure::StartupTime,
                Figure::BurstTimePerCall,
                Figure::BurstFailureRate,
                Figure::BurstPeakRss,
                Figure::BurstCpuPerRequest,
            ])
            .collect()
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Figure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Figure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Figure, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A figure name this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown figure `{0}`")]
pub struct UnknownFigure(pub String);

impl FromStr for Figure {
    type Err = UnknownFigure;

    fn from_str(name: &str) -> Result<Figure, UnknownFigure> {
        if let Some(figure) = rate_figure(name) {
            return Ok(figure);
        }
        if let Some(c) = name.strip_prefix(SWEEP_PREFIX) {
            return match c.parse::<usize>() {
                // One spelling per figure: `c16`, never `c016`.
                Ok(n) if n.to_string() == c => Ok(Figure::SweepTimePerRequest(n)),
                _ => Err(UnknownFigure(name.to_owned())),
            };
        }
        if let Some(figure) = request_figure(name) {
            return Ok(figure);
        }
        Figure::all()
            .into_iter()
            .find(|figure| figure.name() == name)
            .ok_or_else(|| UnknownFigure(name.to_owned()))
    }
}

/// A request's name as a figure's name carries it: a valid name, or a
/// mix's names joined by `+`.
fn route_in_name(text: &str) -> Option<Route> {
    text.split('+')
        .all(crate::load::route::is_valid_name)
        .then(|| Route::new(text))
}

/// A figure of one request, whatever its name: `latency-<request>`,
/// `latency-<request>-p99`, `instructions-per-request-<request>`, ...
/// (a request's name never ends in a percentile's, so each spelling has
/// one reading).
fn request_figure(name: &str) -> Option<Figure> {
    type Make = fn(Route) -> Figure;
    let prefixes: [(&str, Make); 4] = [
        ("instructions-per-request-", Figure::Instructions),
        ("allocations-per-request-", Figure::LatencyAllocations),
        (
            "allocated-bytes-per-request-",
            Figure::LatencyAllocatedBytes,
        ),
        ("cpu-per-request-", Figure::LatencyCpuPerRequest),
    ];
    for (prefix, make) in prefixes {
        if let Some(rest) = name.strip_prefix(prefix) {
            return route_in_name(rest).map(make);
        }
    }
    let rest = name.strip_prefix("latency-")?;
    for p in Percentile::ALL {
        if let Some(route) = rest.strip_suffix(&format!("-{}", p.name())) {
            return route_in_name(route).map(|r| Figure::LatencyPercentile(r, p));
        }
    }
    route_in_name(rest).map(Figure::Latency)
}

/// `rate-<route>-<N>pct-<percentile>` at any share, so a baseline with
/// shares this version no longer compares still loads.
fn rate_figure(name: &str) -> Option<Figure> {
    let rest = name.strip_prefix("rate-")?;
    let (route_and_percent, percentile) = rest.rsplit_once("pct-")?;
    let (route, percent) = route_and_percent.rsplit_once('-')?;
    let route = route_in_name(route)?;
    let (percent, percentile) = (percent, percentile);
    let percent: u8 = percent
        .parse()
        .ok()
        .filter(|p: &u8| p.to_string() == percent)?;
    let percentile = Percentile::ALL
        .into_iter()
        .find(|p| p.name() == percentile)?;
    Some(Figure::RatePercentile(route, percent, percentile))
}

/// One figure of one server: a point value, optionally an interval, and the
/// independent readings it was made from (one per round), if several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "MetricFile", try_from = "MetricFile")]
pub struct Metric {
    pub server: String,
    pub figure: Figure,
    /// Every figure here is smaller-is-better.
    pub value: f64,
    /// The confidence interval of the estimate, for latency.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// Which statistic `value` is, for latency (Criterion's estimate).
    pub statistic: Option<Statistic>,
    /// The independent readings behind `value` (their median), one per
    /// round (a fresh process), in the order the rounds ran.
    pub readings: Vec<f64>,
    /// What the figure was measured under. A merged baseline keeps each
    /// figure's own, so a figure from an older run is never judged under
    /// the newer run's parameters.
    pub setup: Option<Setup>,
}

/// The parameters a figure depends on, kept with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    pub n_requests: usize,
    pub timeout_ns: u64,
    pub workers: usize,
    pub concurrency: usize,
    /// `None`: each framework's own.
    pub backlog: Option<u32>,
    pub server_cpus: String,
    pub client_cpus: String,
    pub probe_requests: usize,
    /// The target rate of a constant-rate figure, requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_second: Option<u32>,
}

impl Setup {
    /// The setup of every figure of `run`.
    pub fn of(run: &RunRecord) -> Setup {
        let config = &run.config;
        let placement = |cpus: &crate::conditions::CpuList| match config.placement.pinned {
            true => cpus.to_string(),
            false => "any".to_owned(),
        };
        Setup {
            n_requests: config.n_requests,
            timeout_ns: u64::try_from(config.timeout.as_nanos()).unwrap_or(u64::MAX),
            workers: config.workers,
            concurrency: config.concurrency,
            backlog: run.conditions.backlog,
            server_cpus: placement(&config.placement.server_cpus),
            client_cpus: placement(&config.placement.client_cpus),
            probe_requests: config.probe_requests,
            rate_per_second: None,
        }
    }

    /// What differs of what a figure of `stage` depends on, as `workers 4
    /// -> 1`; empty when nothing does. The burst's size and timeout matter
    /// to the burst's figures only, the latency readings' length and
    /// connections to latency only: another round reading length does not
    /// make memory figures incomparable.
    pub fn differences(&self, now: &Setup, stage: Stage) -> Vec<String> {
        let burst = stage == Stage::Burst;
        let latency = matches!(stage, Stage::Latency(_));
        let load = matches!(stage, Stage::Burst | Stage::Sweep(_) | Stage::Rate(..));
        let show = |n: usize| n.to_string();
        let backlog = |b: Option<u32>| b.map_or("framework's own".to_owned(), |b| b.to_string());
        let rate = |r: Option<u32>| r.map_or("-".to_owned(), |r| format!("{r}/s"));
        let checks = [
            (
                burst,
                "requests",
                show(self.n_requests),
                show(now.n_requests),
            ),
            (
                burst,
                "timeout ns",
                self.timeout_ns.to_string(),
                now.timeout_ns.to_string(),
            ),
            (true, "workers", show(self.workers), show(now.workers)),
            (
                latency,
                "connections",
                show(self.concurrency),
                show(now.concurrency),
            ),
            (load, "backlog", backlog(self.backlog), backlog(now.backlog)),
            (
                true,
                "server CPUs",
                self.server_cpus.clone(),
                now.server_cpus.clone(),
            ),
            (
                true,
                "client CPUs",
                self.client_cpus.clone(),
                now.client_cpus.clone(),
            ),
            (
                latency,
                "probe requests",
                show(self.probe_requests),
                show(now.probe_requests),
            ),
            (
                true,
                "rate",
                rate(self.rate_per_second),
                rate(now.rate_per_second),
            ),
        ];
        checks
            .into_iter()
            .filter(|(relevant, _, was, is)| *relevant && was != is)
            .map(|(_, name, was, is)| format!("{name} {was} -> {is}"))
            .collect()
    }
}

impl Metric {
    /// A point figure with nothing else known.
    pub fn point(server: &str, figure: Figure, value: f64) -> Metric {
        Metric {
            server: server.to_owned(),
            figure,
            value,
            lower: None,
            upper: None,
            statistic: None,
            readings: Vec::new(),
            setup: None,
        }
    }

    pub fn unit(&self) -> Unit {
        self.figure.unit()
    }

    /// `server/name`, the key exports use.
    pub fn key(&self) -> String {
        format!("{}/{}", self.server, self.figure)
    }
}

/// A metric as it is on disk (summary schema v1): the figure by name, with
/// its unit written beside it for readers that do not know the figure.
#[derive(Serialize, Deserialize)]
struct MetricFile {
    server: String,
    name: String,
    unit: Unit,
    value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lower: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upper: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    statistic: Option<Statistic>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    readings: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    setup: Option<Setup>,
}

impl From<Metric> for MetricFile {
    fn from(m: Metric) -> MetricFile {
        MetricFile {
            server: m.server,
            name: m.figure.name(),
            unit: m.figure.unit(),
            value: m.value,
            lower: m.lower,
            upper: m.upper,
            statistic: m.statistic,
            readings: m.readings,
            setup: m.setup,
        }
    }
}

impl TryFrom<MetricFile> for Metric {
    type Error = String;

    fn try_from(f: MetricFile) -> Result<Metric, String> {
        let figure: Figure = f.name.parse().map_err(|e: UnknownFigure| e.to_string())?;
        if figure.unit() != f.unit {
            return Err(format!(
                "figure `{}` is in {}, the file says {}",
                f.name,
                figure.unit().as_str(),
                f.unit.as_str()
            ));
        }
        Ok(Metric {
            server: f.server,
            figure,
            value: f.value,
            lower: f.lower,
            upper: f.upper,
            statistic: f.statistic,
            readings: f.readings,
            setup: f.setup,
        })
    }
}

/// Every figure of a run, sorted by server then figure. A figure's
/// readings are its rounds'; latency's value is the estimate Criterion
/// printed when it ran the benchmark, every other value the median of the
/// rounds. The control (the harness's responder beside each round) is the
/// figures of [`CLIENT_FLOOR`].
pub fn collect(run: &RunRecord) -> Vec<Metric> {
    let setup = Setup::of(run);
    let mut metrics: BTreeMap<(String, Figure), Metric> = BTreeMap::new();
    let rounds_and_counts = run.servers.iter().flat_map(|server| {
        round_metrics(server)
            .into_iter()
            .chain(instruction_metrics(server))
    });
    for metric in rounds_and_counts {
        metrics.insert((metric.server.clone(), metric.figure), metric);
    }
    let criterion = run.servers.iter().flat_map(|server| {
        latency_metrics(server)
            .chain(sweep_metrics(server))
            .chain(rate_metrics(server))
    });
    for metric in criterion {
        let key = (metric.server.clone(), metric.figure);
        match metrics.get_mut(&key) {
            Some(rounds) if metric.figure.is_estimate() => {
                rounds.value = metric.value;
                rounds.lower = metric.lower;
                rounds.upper = metric.upper;
                rounds.statistic = metric.statistic;
            }
            Some(_) => {}
            None => {
                metrics.insert(key, metric);
            }
        }
    }
    let rounds = run.servers.iter().flat_map(|s| &s.rounds);
    if let Some(control) = control_metric(rounds) {
        metrics.insert((control.server.clone(), control.figure), control);
    }
    metrics
        .into_values()
        .map(|metric| {
            let mut setup = setup.clone();
            setup.rate_per_second = rate_of(run, &metric);
            Metric {
                setup: Some(setup),
                ..metric
            }
        })
        .collect()
}

/// The control: the responder's latency read beside each of `rounds`, in
/// the order they ran.
pub fn control_metric<'a>(
    rounds: impl Iterator<Item = &'a crate::record::RoundRecord>,
) -> Option<Metric> {
    let readings: Vec<f64> = rounds
        .filter_map(|r| r.control.as_ref()?.per_request_ns())
        .collect();
    (!readings.is_empty()).then(|| Metric {
        readings: readings.clone(),
        ..Metric::point(
            CLIENT_FLOOR,
            Figure::Latency(Route::HELLO),
            median(&readings),
        )
    })
}

/// The target rate of a constant-rate figure.
fn rate_of(run: &RunRecord, metric: &Metric) -> Option<u32> {
    let Figure::RatePercentile(route, percent, _) = metric.figure else {
        return None;
    };
    let server = run.servers.iter().find(|s| s.name == metric.server)?;
    server
        .constant_rate
        .iter()
        .find(|r| r.route == route && r.percent_of_max == Some(percent))
        .map(|r| r.target_per_second)
}

fn latency_metrics(server: &ServerRecord) -> impl Iterator<Item = Metric> + '_ {
    server.latency.iter().flat_map(move |(route, record)| {
        // Only a benchmark Criterion completed has figures. Its CPU time
        // per request is over every request it sent, warm-up included.
        let estimate = record.estimate;
        let latency = estimate.map(|estimate| Metric {
            lower: Some(estimate.lower_ns),
            upper: Some(estimate.upper_ns),
            statistic: Some(estimate.statistic),
            ..Metric::point(&server.name, Figure::Latency(*route), estimate.point_ns)
        });
        let cpu = estimate
            .and(record.server_cpu_per_request_ns())
            .map(|ns| Metric::point(&server.name, Figure::LatencyCpuPerRequest(*route), ns));
        let percentiles = Percentile::ALL.into_iter().filter_map(move |p| {
            let ns = estimate.and(p.of(&record.requests))?;
            let figure = Figure::LatencyPercentile(*route, p);
            Some(Metric::point(&server.name, figure, ns as f64))
        });
        latency.into_iter().chain(cpu).chain(percentiles)
    })
}

/// The throughput sweep's time per request, from the estimates this run
/// computed.
fn sweep_metrics(server: &ServerRecord) -> impl Iterator<Item = Metric> + '_ {
    server.throughput.iter().filter_map(|(&c, record)| {
        let estimate = record.estimate?;
        Some(Metric {
            lower: Some(estimate.lower_ns),
            upper: Some(estimate.upper_ns),
            statistic: Some(estimate.statistic),
            ..Metric::point(
                &server.name,
                Figure::SweepTimePerRequest(c),
                estimate.point_ns,
            )
        })
    })
}

/// Percentiles of the open-loop runs at the compared share of the maximum
/// ([`crate::config::COMPARED_RATE_PERCENT`]), where the run kept its rate
/// (a run that did not is no figure of that rate).
fn rate_metrics(server: &ServerRecord) -> impl Iterator<Item = Metric> + '_ {
    server
        .constant_rate
        .iter()
        .filter(|run| run.valid())
        .filter(|run| run.percent_of_max == Some(crate::config::COMPARED_RATE_PERCENT))
        .flat_map(move |run| {
            let percent = run.percent_of_max;
            Percentile::ALL.into_iter().filter_map(move |p| {
                let figure = Figure::RatePercentile(run.route, percent?, p);
                let ns = p.of(&run.requests)?;
                Some(Metric::point(&server.name, figure, ns as f64))
            })
        })
}

/// Memory, burst and startup figures: the median over the server's rounds.
///
/// Only rounds of the memory phase count: a round with a burst, or any
/// round of a server that failed. A first start for a latency benchmark or
/// the sweep alone reads its idle memory too, but one reading of one start
/// is no median of rounds (actix-web's startup read 16 and 68 ms in two
/// such runs).
fn round_metrics(server: &ServerRecord) -> Vec<Metric> {
    let mut readings: BTreeMap<Figure, Vec<f64>> = BTreeMap::new();
    let rounds = server
        .rounds
        .iter()
        .filter(|r| r.burst.is_some() || server.error.is_some());
    for (figure, value) in rounds.flat_map(round_readings) {
        readings.entry(figure).or_default().push(value);
    }
    readings
        .into_iter()
        .map(|(figure, readings)| Metric {
            readings: readings.clone(),
            ..Metric::point(&server.name, figure, median(&readings))
        })
        .collect()
}

/// Every reading one round gives, by figure: a round with its heap
/// counted gives the heap figures only (counting costs the server time),
/// any other round every figure but those.
fn round_readings(round: &crate::record::RoundRecord) -> Vec<(Figure, f64)> {
    if round.counted {
        return heap_readings(round);
    }
    let mut out = vec![(Figure::StartupTime, round.startup_time.as_nanos() as f64)];
    for (phase, snapshot) in [(Phase::Before, &round.before), (Phase::After, &round.after)] {
        let Some(snapshot) = snapshot else { continue };
        out.extend(MemoryFigure::ALL.into_iter().filter_map(|memory| {
            let bytes = memory.of(snapshot)?;
            Some((Figure::Memory(phase, memory), bytes as f64))
        }));
    }
    if let Some(burst) = &round.burst {
        out.push((Figure::BurstTimePerCall, burst.seconds_per_call * 1e9));
        out.push((Figure::BurstFailureRate, 1.0 - burst.success_rate));
        if let Some(peak) = burst.peak_rss_bytes {
            out.push((Figure::BurstPeakRss, peak as f64));
        }
        if let Some(ns) = burst.server_cpu_per_request_ns() {
            out.push((Figure::BurstCpuPerRequest, ns));
        }
    }
    for (&route, probe) in &round.probes {
        out.extend(probe_readings(route, probe));
    }
    out
}

/// A round's heap figures, where its heap was counted.
fn heap_readings(round: &crate::record::RoundRecord) -> Vec<(Figure, f64)> {
    let mut out = Vec::new();
    let phases = [
        (Phase::Before, &round.heap_before, &round.before),
        (Phase::After, &round.heap_after, &round.after),
    ];
    for (phase, heap, memory) in phases {
        let Some(heap) = heap else { continue };
        let live = heap.live_bytes() as f64;
        out.push((Figure::LiveHeap(phase), live));
        if let Some(memory) = memory {
            let overhead = memory.rss_bytes as f64 - live;
            out.push((Figure::AllocatorOverhead(phase), overhead));
        }
    }
    for (&route, probe) in &round.probes {
        let Some(heap) = &probe.heap else { continue };
        let n = probe.n_requests;
        out.extend(
            [
                (
                    Figure::LatencyAllocations(route),
                    heap.allocations_per_request(n),
                ),
                (
                    Figure::LatencyAllocatedBytes(route),
                    heap.bytes_per_request(n),
                ),
            ]
            .into_iter()
            .filter_map(|(figure, value)| Some((figure, value?))),
        );
    }
    if let Some(burst) = &round.burst
        && let Some(heap) = &burst.heap
    {
        let n = burst.n_requests;
        out.extend(
            [
                (Figure::BurstAllocations, heap.allocations_per_request(n)),
                (Figure::BurstAllocatedBytes, heap.bytes_per_request(n)),
                (Figure::BurstPeakLiveHeap, Some(heap.peak_live_bytes as f64)),
            ]
            .into_iter()
            .filter_map(|(figure, value)| Some((figure, value?))),
        );
    }
    out
}

/// A round's latency reading of one route as figures.
fn probe_readings(
    route: Route,
    probe: &crate::record::ProbeRecord,
) -> impl Iterator<Item = (Figure, f64)> + '_ {
    let latency = probe
        .per_request_ns()
        .map(|ns| (Figure::Latency(route), ns));
    let cpu = probe
        .server_cpu_per_request_ns()
        .map(|ns| (Figure::LatencyCpuPerRequest(route), ns));
    let percentiles = Percentile::ALL.into_iter().filter_map(move |p| {
        let ns = p.of(&probe.requests)?;
        Some((Figure::LatencyPercentile(route, p), ns as f64))
    });
    latency.into_iter().chain(cpu).chain(percentiles)
}

/// Instructions per request of each route: one reading per batch.
fn instruction_metrics(server: &ServerRecord) -> impl Iterator<Item = Metric> + '_ {
    server.instructions.iter().filter_map(|(&route, record)| {
        let readings = record.per_request();
        (!readings.is_empty()).then(|| Metric {
            readings: readings.clone(),
            ..Metric::point(&server.name, Figure::Instructions(route), median(&readings))
        })
    })
}

pub use crate::compare::stats::median;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::record::LatencyRecord;

    #[test]
    fn median_of_odd_even_and_unsorted() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn a_declared_requests_figures_parse_back_under_its_own_name() {
        let routes = [
            Route::new("create-item"),
            Route::new("get_1"),
            Route::new("hello+json"),
        ];
        for figure in Figure::all_of(&routes) {
            assert_eq!(figure.name().parse::<Figure>(), Ok(figure), "{figure}");
        }
        assert_eq!(
            "rate-create-item+hello-50pct-p99".parse::<Figure>(),
            Ok(Figure::RatePercentile(
                Route::new("create-item+hello"),
                50,
                Percentile::P99
            ))
        );
        for bad in [
            "latency-",
            "latency-Hello",
            "latency-a b",
            "cpu-per-request-+x",
        ] {
            assert!(bad.parse::<Figure>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_figure_name_parses_back_to_itself_and_keeps_its_old_spelling() {
        for figure in Figure::all() {
            assert_eq!(figure.name().parse::<Figure>(), Ok(figure));
        }
        let names: Vec<String> = Figure::all().into_iter().map(Figure::name).collect();
        // The names baselines on disk already use.
        for old in [
            "latency-hello",
            "latency-json",
            "rss-before",
            "vms-after",
            "anonymous-after",
            "pss-before",
            "uss-after",
            "startup-time",
            "burst-time-per-call",
            "burst-failure-rate",
        ] {
            assert!(names.iter().any(|n| n == old), "{old}");
        }
        assert!("anon-after".parse::<Figure>().is_err());
        for c in [1, 16, 256] {
            let sweep = Figure::SweepTimePerRequest(c);
            assert_eq!(sweep.name(), format!("time-per-request-c{c}"));
            assert_eq!(sweep.name().parse::<Figure>(), Ok(sweep));
        }
        let old_share: Figure = "rate-json-90pct-p99.9".parse().unwrap();
        assert_eq!(
            old_share,
            Figure::RatePercentile(Route::JSON, 90, Percentile::P999)
        );
        assert_eq!(old_share.name(), "rate-json-90pct-p99.9");
        for bad in [
            "rate-json-090pct-p50",
            "rate-X-50pct-p50",
            "rate-hello-50pct-p42",
        ] {
            assert!(bad.parse::<Figure>().is_err(), "{bad}");
        }
        for bad in [
            "time-per-request-c",
            "time-per-request-c016",
            "time-per-request-cx",
        ] {
            assert!(bad.parse::<Figure>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_metric_on_disk_with_the_wrong_unit_is_refused() {
        let json = r#"{"server":"axum","name":"rss-before","unit":"nanoseconds","value":1.0}"#;
        let err = serde_json::from_str::<Metric>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rss-before"), "{err}");
        let json = r#"{"server":"axum","name":"rss-before","unit":"bytes","value":1.0}"#;
        let metric: Metric = serde_json::from_str(json).unwrap();
        assert_eq!(
            metric.figure,
            Figure::Memory(Phase::Before, MemoryFigure::Rss)
        );
        assert_eq!(
            serde_json::to_string(&metric).unwrap(),
            r#"{"server":"axum","name":"rss-before","unit":"bytes","value":1.0}"#
        );
    }

    #[test]
    fn a_run_gives_medians_over_rounds_and_latency_from_its_estimates() {
        let metrics = collect(&fixtures::run());
        let find = |figure: Figure| {
            metrics
                .iter()
                .find(|m| m.figure == figure)
                .unwrap_or_else(|| panic!("{figure}"))
        };
        let rss_after = find(Figure::Memory(Phase::After, MemoryFigure::Rss));
        assert_eq!(rss_after.value, 16.0 * fixtures::MIB);
        assert_eq!(
            rss_after.readings,
            [
                15.0 * fixtures::MIB,
                16.0 * fixtures::MIB,
                17.0 * fixtures::MIB
            ]
        );
        let hello = find(Figure::Latency(Route::HELLO));
        assert_eq!(hello.value, fixtures::HELLO_SLOPE_NS);
        assert_eq!(hello.statistic, Some(Statistic::Slope));
        // json was run but has no estimate (e.g. test mode): no figure.
        assert!(
            metrics
                .iter()
                .all(|m| m.figure != Figure::Latency(Route::JSON))
        );
        let failures = find(Figure::BurstFailureRate);
        assert_eq!(failures.value, 0.0);
        assert_eq!(failures.unit(), Unit::Ratio);
        // Sorted by server, then in figure order: latency first.
        assert_eq!(metrics[0].figure, Figure::Latency(Route::HELLO));
        // Every percentile of the requests of a benchmark with an estimate.
        let requests = &fixtures::run().servers[0].latency[&Route::HELLO].requests;
        for p in Percentile::ALL {
            let metric = find(Figure::LatencyPercentile(Route::HELLO, p));
            assert_eq!(Some(metric.value as u64), p.of(requests), "{p:?}");
        }
        assert!(
            metrics
                .iter()
                .all(|m| m.figure != Figure::LatencyPercentile(Route::JSON, Percentile::P50))
        );
    }

    #[test]
    fn a_start_without_its_burst_gives_no_round_figures() {
        let mut run = fixtures::run();
        let server = &mut run.servers[0];
        server.rounds.truncate(1);
        server.rounds[0].burst = None;
        server.rounds[0].after = None;
        let metrics = collect(&run);
        assert!(
            metrics.iter().all(|m| m.figure.stage() != Stage::Before),
            "a latency-only start is not a round"
        );
        run.servers[0].error = Some("crashed in its burst".into());
        let metrics = collect(&run);
        assert!(metrics.iter().any(|m| m.figure == Figure::StartupTime));
    }

    #[test]
    fn the_sweep_gives_time_per_request_at_each_connection_count() {
        let mut run = fixtures::run();
        let hello = run.servers[0].latency[&Route::HELLO].clone();
        run.servers[0].throughput.insert(16, hello.clone());
        run.servers[0].throughput.insert(
            64,
            LatencyRecord {
                estimate: None,
                ..hello
            },
        );
        let metrics = collect(&run);
        let sweep: Vec<Figure> = metrics
            .iter()
            .map(|m| m.figure)
            .filter(|f| matches!(f, Figure::SweepTimePerRequest(_)))
            .collect();
        // c64 has no estimate (test mode): no figure.
        assert_eq!(sweep, [Figure::SweepTimePerRequest(16)]);
    }
}
