//! One server over a run: its record, and the state it is in. Idle, running
//! (with its process and the latency client's connection), or failed (with
//! the error that failed it). A failure is a value: it is printed once,
//! stops the process, stays in the state, and reaches the record.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{BenchConfig, BurstShape, RATE_PERCENTS};
use crate::error::{Error, Result};
use crate::load::hammer::{LoadPlan, Pacing};
use crate::load::request::RequestSet;
use crate::load::{Mix, Route};
use crate::measure::cpu::{PhaseMeter, peak_rss_bytes, reset_peak_rss};
use crate::measure::fds::{open_files, wait_until_held};
use crate::measure::heap::HeapCounters;
use crate::measure::memory::{MemoryFigure, MemorySnapshot, Sampler};
use crate::measure::netstat::TcpCounters;
use crate::measure::settle::{Settle, settle};
use crate::measure::timeline;
use crate::record::{
    BurstRecord, InstructionsRecord, LeakPoint, LeakRecord, Phase, ProbeRecord, RateRecord,
    RequestInfo, RoundRecord, ServerRecord, StopRecord, is_client_bound,
};
use crate::run::callgrind;
use crate::run::probe;
use crate::run::seams::{BenchClient, Launcher, Load, Server};
use crate::run::timed::{EstimateSettings, Timed, TimedSamples, latency_plan, per_request};
use crate::server::built::BuiltServer;
use crate::server::manifest::{RunValues, ServerSpec, Setting};
use crate::server::process::LaunchOptions;

/// How long each constant-rate run lasts (a tenth of it in test mode).
pub const RATE_RUN: Duration = Duration::from_secs(2);

/// What every session uses and none owns: the seams, the knobs and how
/// processes are launched.
pub struct Tools {
    pub launcher: Box<dyn Launcher>,
    pub sampler: Box<dyn Sampler>,
    pub load: Box<dyn Load>,
    /// How the settle waits between readings.
    pub sleep: fn(Duration),
    pub config: BenchConfig,
    pub launch: LaunchOptions,
    /// Constant-rate runs last a tenth of [`RATE_RUN`] when set.
    pub short_rate_runs: bool,
    /// The rates the baseline's constant-rate figures were taken at, by
    /// server, route and share of the maximum: a comparison's runs use
    /// them, so that both sides carry the same load.
    pub baseline_rates: BaselineRates,
    /// Whether callgrind can run here, looked up once: why not, if not.
    pub callgrind: std::cell::OnceCell<Option<String>>,
}

impl Tools {
    /// Why the callgrind pass cannot run, if it cannot; said once a run.
    pub fn callgrind_unavailable(&self) -> Option<String> {
        self.callgrind
            .get_or_init(|| {
                let reason = callgrind::unavailable();
                if let Some(reason) = &reason {
                    eprintln!("framework-bench: instructions per request skipped: {reason}");
                }
                reason
            })
            .clone()
    }
}

/// (server, route, percent of its maximum) -> requests per second.
pub type BaselineRates = BTreeMap<(String, Route, u8), u32>;

/// A server's state.
enum State {
    Idle,
    Running(Running),
    Failed(Error),
}

/// A running process of the server.
struct Running {
    server: Box<dyn Server>,
    /// The memory round this process is (an index into the record's
    /// rounds); `None` for a process of timed benchmarks.
    round: Option<usize>,
    /// The client side of the benchmark that runs now.
    client: BenchClient,
    /// Started with the heap counter (whether or not it could count).
    counted: bool,
    /// Its heap counters, when its heap is counted.
    heap: Option<Arc<HeapCounters>>,
    /// The round's memory over time, from its burst to the settle after.
    timeline: Option<timeline::Sampler>,
}

/// One server over the run.
pub struct Session {
    spec: ServerSpec,
    /// `[3/6] rocket`: the server and its place in the run, for progress.
    label: String,
    record: ServerRecord,
    state: State,
    built: Option<BuiltServer>,
    /// What each timed benchmark measured so far.
    timed: BTreeMap<Timed, TimedSamples>,
}

impl Session {
    /// Server `index` (from 0) of `of`.
    pub fn new(spec: ServerSpec, workers: usize, index: usize, of: usize) -> Session {
        let mut record = ServerRecord::new(&spec.name, &spec.description, workers);
        if spec.requests.is_declared() {
            record.requests = RequestInfo::of(&spec.requests);
            record.loads = Some(spec.requests.loads());
        }
        record.not_settable = spec.not_settable();
        Session {
            label: format!("[{}/{of}] {}", index + 1, spec.name),
            record,
            spec,
            state: State::Idle,
            built: None,
            timed: BTreeMap::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// What the server is measured on.
    pub fn requests(&self) -> &RequestSet {
        &self.spec.requests
    }

    /// One line as the server enters a phase: `[3/6] rocket: round 2 of 3`.
    pub fn progress(&self, phase: &str) {
        eprintln!("framework-bench: {}: {phase}", self.label);
    }

    /// The error that failed the server, if one did.
    pub fn failure(&self) -> Option<&Error> {
        match &self.state {
            State::Failed(err) => Some(err),
            _ => None,
        }
    }

    /// True once the run built (or tried to build) the server: only such
    /// servers are in the run record.
    pub fn touched(&self) -> bool {
        self.built.is_some() || self.failure().is_some()
    }

    /// True while a process started with the heap counter runs.
    pub fn counted(&self) -> bool {
        matches!(&self.state, State::Running(running) if running.counted)
    }

    /// True until a failure: the server's steps still run.
    pub fn usable(&self) -> bool {
        self.failure().is_none()
    }

    /// Records `err` against the server (printed once; the first error is
    /// the record's), stops its process so it cannot disturb the others,
    /// and keeps the error as the server's state.
    pub fn fail(&mut self, tools: &mut Tools, err: Error) {
        let message = err.to_string();
        eprintln!("framework-bench: {message}");
        self.record.error.get_or_insert(message);
        self.stop(tools);
        self.state = State::Failed(err);
    }

    /// A sweep step is over: its connections close, so that none is held
    /// open through the next step or the rate runs. (The latency client's
    /// one connection closes when the process stops, as it always did.)
    pub fn end_sweep_step(&mut self) {
        if let State::Running(running) = &mut self.state {
            running.client.end_sweep_step();
        }
    }

    /// Forgets what a timed benchmark measured: Criterion abandoned it.
    pub fn forget(&mut self, timed: Timed) {
        self.timed.remove(&timed);
    }

    /// Builds the server (once) and starts a process of it. `round` makes
    /// the process a memory round; round 1 records what ran.
    pub fn start(&mut self, tools: &mut Tools, round: Option<u32>, counted: bool) -> Result<()> {
        self.stop(tools);
        let built = self.build(tools)?;
        let launch = LaunchOptions {
            count_heap: counted && tools.config.count_heap,
            ..tools.launch.clone()
        };
        let server = tools.launcher.start(&built, &launch)?;
        let workers = match self.record.not_settable.contains(&Setting::Workers) {
            true => "its own workers".to_owned(),
            false => format!("{} workers", tools.launch.workers),
        };
        eprintln!(
            "framework-bench: started {} {} (pid {}, {workers}) in {:.1} ms",
            self.spec.name,
            built.version,
            server.pid(),
            server.startup_time().as_secs_f64() * 1e3
        );
        if round == Some(1) {
            self.record.version = Some(built.version.clone());
            let mut values = run_values(&built, &tools.launch);
            if !self.spec.ready.is_contract() {
                // The port the harness picked for it, not the 0 others get.
                values.port = server.addr().port();
            }
            self.record.command = self.spec.command_line(&values);
        }
        let heap = match launch.count_heap {
            true => self.counted_heap(server.as_ref()),
            false => None,
        };
        let round = round.map(|_| {
            let started = RoundRecord {
                counted: launch.count_heap,
                ..RoundRecord::started(server.pid(), server.startup_time())
            };
            self.record.rounds.push(started);
            self.record.rounds.len() - 1
        });
        self.state = State::Running(Running {
            server,
            round,
            client: BenchClient::default(),
            counted: launch.count_heap,
            heap,
            timeline: None,
        });
        Ok(())
    }

    /// The process's heap counters when its heap is counted; otherwise
    /// `None`, with the reason kept (once) when the run counts heaps.
    fn counted_heap(&mut self, server: &dyn Server) -> Option<Arc<HeapCounters>> {
        if self.record.heap_not_counted.is_some() {
            return None;
        }
        let reason = match server.heap() {
            Some(counters) if counters.read().is_some() => return Some(counters),
            Some(_) => {
                "its process never called malloc through the dynamic linker (statically linked, or another C library)"
            }
            None => "the heap counter is not available (see the message above)",
        };
        self.not_counted(reason);
        None
    }

    /// The server's heap is not counted: said once, and no figure of it
    /// is kept, so that it can never read as 0.
    fn not_counted(&mut self, reason: &str) {
        eprintln!(
            "framework-bench: {}: heap not counted: {reason}",
            self.spec.name
        );
        self.record.heap_not_counted = Some(reason.to_owned());
        for round in &mut self.record.rounds {
            round.heap_before = None;
            round.heap_after = None;
            for probe in round.probes.values_mut() {
                probe.heap = None;
            }
            if let Some(burst) = &mut round.burst {
                burst.heap = None;
            }
        }
        if let State::Running(running) = &mut self.state {
            running.heap = None;
        }
    }

    fn build(&mut self, tools: &mut Tools) -> Result<BuiltServer> {
        if let Some(built) = &self.built {
            return Ok(built.clone());
        }
        let built = tools.launcher.build(&self.spec)?;
        self.built = Some(built.clone());
        Ok(built)
    }

    /// Waits until the memory is still and keeps the reading in the round.
    pub fn settle(&mut self, tools: &mut Tools, phase: Phase) -> Result<()> {
        let cap = tools.config.settle;
        let during = match phase {
            Phase::Before => "while it settled",
            Phase::After => "after the burst",
        };
        let (running, round) = self.running_round()?;
        let reading = settle_and_read(tools, running.server.as_mut(), cap, during)?;
        let heap = running.heap.as_deref().and_then(HeapCounters::read);
        match phase {
            Phase::Before => {
                round.read_before(reading);
                round.heap_before = heap;
            }
            Phase::After => {
                round.read_after(reading);
                round.heap_after = heap;
                round.timeline = running.timeline.take().and_then(timeline::Sampler::stop);
            }
        }
        Ok(())
    }

    /// The seed's burst on the running round's process.
    pub fn burst(&mut self, tools: &mut Tools) -> Result<()> {
        let name = self.spec.name.clone();
        let mix = Mix::single(self.spec.requests.burst().clone());
        let (running, round) = self.running_round()?;
        let burst = run_burst(&name, &mix, tools, running)?;
        let no_allocation = burst.heap.is_some_and(|heap| heap.allocations == 0);
        round.burst = Some(burst);
        if no_allocation {
            self.not_counted(
                "not one allocation through malloc in its burst: a custom global allocator, most likely",
            );
        }
        Ok(())
    }

    /// The round's latency reading of every route.
    pub fn probe(&mut self, tools: &mut Tools) -> Result<()> {
        let name = self.spec.name.clone();
        let requests = self.spec.requests.clone();
        let (running, round) = self.running_round()?;
        let target = probe::Target {
            name: &name,
            addr: running.server.addr(),
            pid: Some(running.server.pid()),
            heap: running.heap.as_deref(),
        };
        // A heap round's reading gives allocations per request only, the
        // same in every request: a tenth as many requests say it.
        let config = match running.counted {
            true => BenchConfig {
                probe_requests: (tools.config.probe_requests / 10).max(1),
                ..tools.config.clone()
            },
            false => tools.config.clone(),
        };
        for request in requests.all() {
            let route = request.name;
            let during = format!("during its round's {route} latency reading");
            let reading = probe::probe(tools.load.as_ref(), &target, request, &config)
                .map_err(|err| crash_or(running.server.as_mut(), err, &during))?;
            round.probes.insert(route, reading);
        }
        Ok(())
    }

    /// One burst of the leak check on the running process, then a settle
    /// and a reading of its memory (and live heap, when counted).
    pub fn leak_burst(&mut self, tools: &mut Tools) -> Result<()> {
        let name = self.spec.name.clone();
        let cap = tools.config.settle;
        let mix = Mix::single(self.spec.requests.burst().clone());
        let running = self.running()?;
        let burst = run_burst(&name, &mix, tools, running)?;
        running.timeline = None;
        let during = "after a burst of its leak check";
        let (snapshot, _) = settle_and_read(tools, running.server.as_mut(), cap, during)?;
        let point = LeakPoint {
            success_rate: burst.success_rate,
            rss_bytes: snapshot.rss_bytes,
            live_heap_bytes: running
                .heap
                .as_deref()
                .and_then(HeapCounters::read)
                .map(|heap| heap.live_bytes()),
        };
        let pid = running.server.pid();
        let leak = self.record.leak.get_or_insert_with(|| LeakRecord {
            pid,
            requests_per_burst: burst.n_requests,
            bursts: Vec::new(),
        });
        leak.bursts.push(point);
        Ok(())
    }

    /// Instructions per request of every route, on a process of its own
    /// under callgrind. A failure here is the pass's, not the server's:
    /// it is kept in the record, and the rest of the run goes on.
    pub fn instructions(&mut self, tools: &mut Tools) {
        if !self.usable() {
            return;
        }
        if let Some(reason) = tools.callgrind_unavailable() {
            self.record.instructions_not_counted = Some(reason);
            return;
        }
        self.stop(tools);
        self.progress("instructions per request (callgrind)");
        if let Err(err) = self.count_instructions(tools) {
            eprintln!("framework-bench: {err}");
            self.record.instructions_not_counted = Some(err.to_string());
        }
    }

    fn count_instructions(&mut self, tools: &mut Tools) -> Result<()> {
        let built = self.build(tools)?;
        let dir = tools
            .launch
            .log_dir
            .join(format!("{}.callgrind", self.spec.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| Error::WriteFile {
            path: dir.clone(),
            source,
        })?;
        let options = LaunchOptions {
            callgrind_dir: Some(dir.clone()),
            count_heap: false,
            heap_library: None,
            ready_timeout: tools.launch.ready_timeout * callgrind::SLOWER,
            ..tools.launch.clone()
        };
        let mut counted: BTreeMap<Route, InstructionsRecord> = BTreeMap::new();
        for _ in 0..callgrind::LAUNCHES {
            for (route, record) in self.count_one_launch(tools, &built, &options, &dir)? {
                let all = counted.entry(route).or_insert_with(|| InstructionsRecord {
                    batches: Vec::new(),
                    ..record.clone()
                });
                all.batches.extend(record.batches);
            }
        }
        self.record.instructions = counted;
        Ok(())
    }

    /// One process under callgrind: one batch of every route.
    fn count_one_launch(
        &mut self,
        tools: &mut Tools,
        built: &BuiltServer,
        options: &LaunchOptions,
        dir: &std::path::Path,
    ) -> Result<BTreeMap<Route, InstructionsRecord>> {
        let mut server = tools.launcher.start(built, options)?;
        let target = callgrind::Target {
            name: &self.spec.name,
            addr: server.addr(),
            pid: server.pid(),
            dir,
        };
        let mut counted = BTreeMap::new();
        for request in self.spec.requests.all() {
            match callgrind::count(tools.load.as_ref(), &target, request, 1) {
                Ok(record) => {
                    counted.insert(request.name, record);
                }
                Err(err) => {
                    let err = crash_or(server.as_mut(), err, "under callgrind");
                    let _ = shut_down(server);
                    return Err(err);
                }
            }
        }
        self.record.stops.push(shut_down(server));
        Ok(counted)
    }

    /// Keeps the control's reading, taken beside this round, in the round.
    pub fn record_control(&mut self, control: ProbeRecord) {
        if let Ok((_, round)) = self.running_round() {
            round.control = Some(control);
        }
    }

    /// One reading of `figure` (RSS or VMS) of the running process, in bytes.
    pub fn read_memory(&mut self, tools: &mut Tools, figure: MemoryFigure) -> Result<u64> {
        // A dead child that is not reaped yet still has a /proc entry whose
        // statm reads all zeros: check first, so a crash is never 0 bytes.
        let during = "while its memory was read";
        let running = self.running()?;
        running.server.check_alive(during)?;
        let (rss, vms) = tools
            .sampler
            .rss_vms(running.server.pid())
            .map_err(|err| crash_or(running.server.as_mut(), err, during))?;
        Ok(match figure {
            MemoryFigure::Vms => vms,
            _ => rss,
        })
    }

    /// One sample of a timed benchmark: the plan's requests, their cost on
    /// both sides, kept with the benchmark's other samples. A failed
    /// sample drops what the benchmark measured: Criterion abandons it, and
    /// no figure of it may be reported as if it had been measured.
    pub fn timed_sample(
        &mut self,
        tools: &mut Tools,
        timed: Timed,
        plan: &LoadPlan,
        iters: u64,
    ) -> Result<Duration> {
        let result = self.send_timed(tools, timed, plan);
        match result {
            Ok((report, cost)) => {
                let wall = report.wall_time;
                self.timed
                    .entry(timed)
                    .or_default()
                    .add(&report, iters, cost);
                Ok(wall)
            }
            Err(err) => {
                self.timed.remove(&timed);
                Err(err)
            }
        }
    }

    fn send_timed(
        &mut self,
        tools: &mut Tools,
        timed: Timed,
        plan: &LoadPlan,
    ) -> Result<(
        crate::load::hammer::HammerReport,
        crate::measure::cpu::PhaseCost,
    )> {
        let name = self.spec.name.clone();
        let running = self.running()?;
        let (addr, pid) = (running.server.addr(), running.server.pid());
        let meter = PhaseMeter::start(pid);
        let report = running
            .client
            .send(tools.load.as_ref(), addr, timed, plan)?;
        let cost = meter.stop();
        if report.successes != plan.n_requests {
            let during = format!("during the {timed} benchmark");
            let failed = Error::RequestsFailed {
                server: name,
                failed: plan.n_requests - report.successes,
                sent: plan.n_requests,
                path: plan.mix.requests_text(),
                during: during.clone(),
                outcomes: report.counter_text(),
            };
            return Err(crash_or(running.server.as_mut(), failed, &during));
        }
        Ok((report, cost))
    }

    /// Open-loop runs on every route after the sweep: at 50 % and 90 % of
    /// the most requests per second the sweep measured (over the
    /// connections that gave it), or at `FRAMEWORK_BENCH_RATE`.
    pub fn rate_runs(&mut self, tools: &mut Tools) -> Result<()> {
        let Some((connections, max)) = self.sweep_max() else {
            return Ok(());
        };
        let rates: Vec<(Option<u8>, u32)> = if tools.config.rates.is_empty() {
            let at = |p: u8| (max * f64::from(p) / 100.0).max(1.0) as u32;
            RATE_PERCENTS.iter().map(|&p| (Some(p), at(p))).collect()
        } else {
            tools.config.rates.iter().map(|&r| (None, r)).collect()
        };
        for mix in self.spec.requests.rate_loads() {
            let route = mix.name();
            for &(percent, own) in &rates {
                let rate = self.baseline_rate(tools, route, percent).unwrap_or(own);
                self.progress(&format!("{route} at {rate} requests/s"));
                let record = self.rate_run(tools, &mix, connections, percent, rate)?;
                self.record.constant_rate.push(record);
            }
        }
        Ok(())
    }

    /// The rate the baseline ran `route` at, at this share of its maximum:
    /// a regression of the maximum must not lower the load it is judged
    /// under.
    fn baseline_rate(&self, tools: &Tools, route: Route, percent: Option<u8>) -> Option<u32> {
        let key = (self.spec.name.clone(), route, percent?);
        let rate = *tools.baseline_rates.get(&key)?;
        self.progress(&format!(
            "{route} at {percent}% of the maximum: the baseline's {rate} requests/s",
            percent = key.2
        ));
        Some(rate)
    }

    /// The sweep's best connection count and its requests per second.
    fn sweep_max(&self) -> Option<(usize, f64)> {
        self.timed
            .iter()
            .filter_map(|(timed, samples)| match timed {
                Timed::Throughput(c) => Some((*c, samples.requests_per_second()?)),
                Timed::Latency(_) => None,
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn rate_run(
        &mut self,
        tools: &mut Tools,
        mix: &Mix,
        connections: usize,
        percent_of_max: Option<u8>,
        rate: u32,
    ) -> Result<RateRecord> {
        let name = self.spec.name.clone();
        let running = self.running()?;
        let (addr, pid) = (running.server.addr(), running.server.pid());
        let run_for = if tools.short_rate_runs {
            RATE_RUN / 10
        } else {
            RATE_RUN
        };
        let route = mix.name();
        let plan = rate_plan(mix.clone(), connections, rate, run_for, &tools.config);
        let meter = PhaseMeter::start(pid);
        let report = tools.load.run(addr, &plan)?;
        let cost = meter.stop();
        let threads = tools.load.threads().min(plan.concurrency);
        let record = RateRecord {
            route,
            percent_of_max,
            connections: plan.concurrency,
            target_per_second: rate,
            achieved_per_second: report.requests_per_second(),
            requests: report.latency_summary(),
            counts: report.counts.clone(),
            server_cpu_time: cost.server_cpu,
            client_busy: cost.client_busy(threads),
            closed_by_server: Some(report.closed_by_server as u64),
            lateness: report.lateness.clone(),
        };
        if !record.valid() {
            let late_p99 = record
                .lateness
                .as_ref()
                .map_or(0.0, |l| l.p99_ns as f64 / 1e6);
            eprintln!(
                "framework-bench: {name}: {route} at {rate}/s achieved {:.0}/s ({:.1} %), sends late by {late_p99:.2} ms at p99: not valid at that rate; {}",
                record.achieved_per_second,
                record.achieved_share() * 100.0,
                report.counter_text()
            );
        }
        Ok(record)
    }

    /// Stops the running process, if any: round 1's is read one last time,
    /// and how it ended is recorded. A process that did not stop cleanly is
    /// the server's error, unless an earlier one is.
    pub fn stop(&mut self, tools: &mut Tools) {
        if !matches!(self.state, State::Running(_)) {
            return; // idle, or failed: a failure stays the server's state
        }
        let State::Running(mut running) = std::mem::replace(&mut self.state, State::Idle) else {
            return;
        };
        running.client.close();
        let first = running.round == Some(0);
        if first && running.server.check_alive("before it was stopped").is_ok() {
            self.record.end = tools.sampler.snapshot(running.server.pid()).ok();
        }
        let stop = shut_down(running.server);
        if !stop.clean && self.record.error.is_none() {
            let message = format!(
                "{} (pid {}) did not stop cleanly on SIGTERM: {}",
                self.spec.name, stop.pid, stop.exit
            );
            eprintln!("framework-bench: {message}");
            self.record.error = Some(message);
        }
        self.record.stops.push(stop);
    }

    /// The server's record with its timed benchmarks made from what was
    /// timed: percentiles always, the estimate only when `settings` is
    /// given (a full benchmark run) and Criterion completed the measurement.
    pub fn into_record(
        self,
        settings: Option<EstimateSettings>,
        client_cpus: usize,
    ) -> ServerRecord {
        let mut record = self.record;
        if let State::Failed(err) = &self.state {
            record.error.get_or_insert_with(|| err.to_string());
        }
        for (timed, samples) in self.timed {
            let latency = samples.into_record(settings, client_cpus);
            match timed {
                Timed::Latency(route) => record.latency.insert(route, latency),
                Timed::Throughput(c) => record.throughput.insert(c, per_request(latency, c)),
            };
        }
        record
    }

    fn running(&mut self) -> Result<&mut Running> {
        match &mut self.state {
            State::Running(running) => Ok(running),
            _ => Err(Error::NotRunning {
                server: self.spec.name.clone(),
            }),
        }
    }

    /// The running process and the memory round it is.
    fn running_round(&mut self) -> Result<(&mut Running, &mut RoundRecord)> {
        let not_running = || Error::NotRunning {
            server: self.spec.name.clone(),
        };
        let State::Running(running) = &mut self.state else {
            return Err(not_running());
        };
        let round = running
            .round
            .and_then(|i| self.record.rounds.get_mut(i))
            .ok_or_else(not_running)?;
        Ok((running, round))
    }
}

fn run_values<'a>(built: &'a BuiltServer, launch: &LaunchOptions) -> RunValues<'a> {
    RunValues {
        bin: built.bin.as_deref(),
        python: built.python.as_deref(),
        port: launch.port,
        workers: launch.workers,
        backlog: launch.backlog,
    }
}

/// A constant-rate run's plan: `rate` requests per second for `run_for`.
fn rate_plan(
    mix: Mix,
    connections: usize,
    rate: u32,
    run_for: Duration,
    config: &BenchConfig,
) -> LoadPlan {
    let rate_nz = NonZeroU32::new(rate.max(1)).unwrap_or(NonZeroU32::MIN);
    let mut plan = latency_plan(mix, 1, config);
    plan.n_requests = ((f64::from(rate) * run_for.as_secs_f64()) as usize).max(1);
    plan.concurrency = connections.clamp(1, plan.n_requests);
    plan.pacing = Pacing::Rate(rate_nz);
    plan.stop_on_failure = false;
    plan
}

/// Waits until the server's memory is still, at most `cap`, then reads it.
fn settle_and_read(
    tools: &mut Tools,
    server: &mut dyn Server,
    cap: Duration,
    during: &str,
) -> Result<(MemorySnapshot, Settle)> {
    let pid = server.pid();
    let settled = {
        let mut check = || server.check_alive(during);
        let mut sleep = tools.sleep;
        settle(tools.sampler.as_mut(), pid, cap, &mut check, &mut sleep)
    };
    settled.map_err(|err| crash_or(server, err, during))
}

/// The seed's burst against `server`; a crash during it is the error.
fn run_burst(
    name: &str,
    mix: &Mix,
    tools: &mut Tools,
    running: &mut Running,
) -> Result<BurstRecord> {
    let server = running.server.as_mut();
    let heap = running.heap.as_deref();
    let config = &tools.config;
    let held_shape = config.burst == BurstShape::Held;
    let mut plan = match config.burst {
        BurstShape::Held => LoadPlan::held_burst(config.n_requests, config.timeout),
        BurstShape::AsIs => LoadPlan::burst(config.n_requests, config.timeout),
    };
    plan.mix = mix.clone();
    let pid = server.pid();
    // The peak is the burst's own only if the reset worked.
    let peak_reset = reset_peak_rss(pid).is_ok();
    let files_before = open_files(pid);
    let mut held = None;
    // With the held shape, the requests go once the server holds every
    // connection, or after one timeout: it may never accept them all.
    let mut gate = || {
        if let (true, Some(before)) = (held_shape, files_before) {
            held = Some(wait_until_held(pid, before, plan.n_requests, plan.timeout));
        }
    };
    if let Some(heap) = heap {
        heap.reset_peak();
    }
    let heap_before = heap.and_then(HeapCounters::read);
    let placement = &config.placement;
    let client_cpus = placement.pinned.then(|| placement.client_cpus.clone());
    let mut sampler = timeline::Sampler::start(pid, running.heap.clone(), client_cpus);
    let counters = TcpCounters::read();
    let meter = PhaseMeter::start(pid);
    let report = tools.load.run_gated(server.addr(), &plan, &mut gate)?;
    let cost = meter.stop();
    if let Some(sampler) = &mut sampler {
        sampler.mark_burst_end();
    }
    running.timeline = sampler;
    let heap_after = heap.and_then(HeapCounters::read);
    let network = counters.zip(TcpCounters::read()).map(|(b, a)| a.since(&b));
    server.check_alive("during the burst")?;
    let burst = BurstRecord {
        network,
        peak_rss_bytes: peak_reset.then(|| peak_rss_bytes(pid)).flatten(),
        server_cpu_time: cost.server_cpu,
        client_busy: cost.client_busy(tools.load.threads().min(plan.concurrency)),
        held_connections: held,
        heap: heap_before
            .zip(heap_after)
            .map(|(before, after)| after.since(&before)),
        ..BurstRecord::from(&report)
    };
    let burst = BurstRecord {
        client_bound: is_client_bound(burst.client_busy),
        ..burst
    };
    eprintln!(
        "framework-bench: {name}: burst of {} requests in {:.3} s: {:.1}% success, {}",
        burst.n_requests,
        burst.wall_time.as_secs_f64(),
        burst.success_rate * 100.0,
        burst.outcome_text()
    );
    Ok(burst)
}

/// If the server has exited, the crash is the real error.
fn crash_or(server: &mut dyn Server, err: Error, during: &str) -> Error {
    match server.check_alive(during) {
        Err(crash) => crash,
        Ok(()) => err,
    }
}

/// SIGTERM, deadline, SIGKILL; how it went.
fn shut_down(server: Box<dyn Server>) -> StopRecord {
    let pid = server.pid();
    let sent_at = std::time::Instant::now();
    match server.shutdown() {
        Ok(stopped) => StopRecord {
            pid,
            exit: crate::error::describe_status(stopped.status),
            clean: stopped.clean,
            stop_time: stopped.stop_time,
        },
        Err(err) => {
            eprintln!("framework-bench: {err}");
            StopRecord {
                pid,
                exit: "killed after the stop deadline".into(),
                clean: false,
                stop_time: sent_at.elapsed(),
            }
        }
    }
}
