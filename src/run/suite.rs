//! One run of the suite: the servers, the state each is in, and everything
//! measured on them, recorded as data.
//!
//! Only one server process runs at any time, so that no server's memory
//! (USS and PSS count shared pages) or latency depends on another. A
//! server's first process is started the first time a selected benchmark
//! needs it and taken through the seed's phases: start, settle, snapshot
//! ("before"), burst, settle, snapshot ("after"); Criterion's memory
//! benchmarks read it in those phases. Then it stops, and the remaining
//! rounds repeat the phases on fresh processes, so each figure has several
//! independent readings. Each latency benchmark gets a fresh process,
//! stopped after it. A failure in any phase is recorded against that server
//! (and printed once); its remaining benchmarks are skipped and the run goes
//! on with the others.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::conditions::{
    Conditions, CpuList, Placement, allowed_cpus, pin_current_thread, somaxconn,
};
use crate::config::{BenchConfig, RATE_PERCENTS};
use crate::error::{Error, Result};
use crate::load::Route;
use crate::load::client::{KeepAlive, LoadClient};
use crate::load::hammer::{HammerReport, LoadPlan, Pacing};
use crate::load::responder::Responder;
use crate::measure::cpu::{PhaseCost, PhaseMeter, peak_rss_bytes, reset_peak_rss};
use crate::measure::environment::Environment;
use crate::measure::estimate::Timings;
use crate::measure::memory::MemoryFigure;
use crate::measure::memory::{MemorySnapshot, ProcSampler, Sampler};
use crate::measure::netstat::TcpCounters;
use crate::measure::settle::{Settle, settle};
use crate::record::Phase;
use crate::record::RunMode;
use crate::record::{
    BurstRecord, CLIENT_CEILING, HarnessRecord, LatencyRecord, RUN_SCHEMA, RateRecord, RoundRecord,
    RunRecord, ServerRecord, StopRecord, is_client_bound,
};
use crate::server::build::Builder;
use crate::server::built::BuiltServer;
use crate::server::manifest::{RunValues, ServerSpec};
use crate::server::process::{LaunchOptions, ServerProcess};
use crate::workspace::Workspace;

/// The latency client's timeout is never shorter than this, whatever the
/// burst's: a keep-alive request on an idle server takes microseconds, and a
/// short timeout would only turn a scheduling hiccup into a failure.
const LATENCY_TIMEOUT_FLOOR: Duration = Duration::from_secs(5);

/// Marks a benchmark skipped because its server failed; the failure is in
/// the server's record already.
#[derive(Debug, Clone, Copy)]
pub struct Skipped;

/// How latency estimates are made from the samples the suite timed: the
/// settings Criterion uses for the same benchmarks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimateSettings {
    pub sample_size: usize,
    pub confidence_level: f64,
    pub n_resamples: usize,
}

/// A server's slot in the run.
struct Slot {
    spec: ServerSpec,
    record: ServerRecord,
    /// The one process of this server that runs now, if any.
    process: Option<ServerProcess>,
    /// The sequential latency client's connection, kept across samples.
    connection: Option<(Route, KeepAlive)>,
    /// What each timed benchmark of this server measured so far.
    timed: BTreeMap<Timed, TimedSamples>,
    failed: bool,
}

/// The run; see the module docs.
pub struct Suite {
    workspace: Workspace,
    config: BenchConfig,
    mode: RunMode,
    estimates: EstimateSettings,
    specs: Vec<ServerSpec>,
    builder: Builder,
    client: Client,
    sampler: Box<dyn Sampler>,
    slots: BTreeMap<String, Slot>,
    harness: HarnessRecord,
    environment: Environment,
    started_at: SystemTime,
    clock: Instant,
    conditions: Conditions,
    /// (server, benchmark) pairs whose start was announced.
    announced: BTreeSet<(String, Timed)>,
    /// Where each server's log goes: `<target>/framework-bench/logs`
    /// unless set (tests give each suite its own).
    log_dir: PathBuf,
    /// The responder the client's ceiling is measured against, while the
    /// sweep's ceiling benchmarks run.
    responder: Option<Responder>,
    /// What each ceiling benchmark measured.
    ceiling: BTreeMap<usize, TimedSamples>,
}

impl Suite {
    /// Reads the manifests under `servers/`, and prepares the open-files
    /// limit. Any error here stops the run before a server starts.
    pub fn new(workspace: Workspace, config: BenchConfig, mode: RunMode) -> Result<Suite> {
        let specs = ServerSpec::load_dir(&workspace.servers_dir())?;
        let specs = crate::server::manifest::select(specs, &config.servers)?;
        Suite::with_specs(workspace, config, mode, specs)
    }

    /// A run over the given servers, read with the real `/proc` sampler.
    pub fn with_specs(
        workspace: Workspace,
        config: BenchConfig,
        mode: RunMode,
        specs: Vec<ServerSpec>,
    ) -> Result<Suite> {
        let sampler = Box::new(ProcSampler::new()?);
        Suite::with_sampler(workspace, config, mode, specs, sampler)
    }

    /// A run over the given servers whose memory `sampler` reads.
    pub fn with_sampler(
        workspace: Workspace,
        config: BenchConfig,
        mode: RunMode,
        specs: Vec<ServerSpec>,
        mut sampler: Box<dyn Sampler>,
    ) -> Result<Suite> {
        let config = match mode {
            RunMode::Test => config.for_test_mode(),
            _ => config,
        };
        crate::server::process::ensure_open_files(config.open_files_needed())?;
        let harness = HarnessRecord {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            before: sampler.snapshot(std::process::id())?,
            after: None,
        };
        let cap = somaxconn();
        let conditions = Conditions {
            // One backlog for every load the run sends: the burst, and the
            // sweep's most connections.
            backlog: config.backlog.resolve(config.largest_load(), cap),
            somaxconn: cap,
        };
        announce_conditions(&config, &conditions);
        let client = Client::new(&config.placement);
        Ok(Suite {
            log_dir: workspace.log_dir(),
            environment: Environment::capture(&workspace.root),
            builder: Builder::new(&workspace),
            workspace,
            config,
            mode,
            estimates: EstimateSettings::CRITERION_DEFAULT,
            specs,
            client,
            sampler,
            slots: BTreeMap::new(),
            harness,
            started_at: SystemTime::now(),
            clock: Instant::now(),
            conditions,
            announced: BTreeSet::new(),
            responder: None,
            ceiling: BTreeMap::new(),
        })
    }

    /// Writes the servers' logs under `dir` instead of the workspace's.
    pub fn set_log_dir(&mut self, dir: PathBuf) {
        self.log_dir = dir;
    }

    /// How latency estimates are made; Criterion's defaults unless set.
    pub fn set_estimate_settings(&mut self, settings: EstimateSettings) {
        self.estimates = settings;
    }

    pub fn config(&self) -> &BenchConfig {
        &self.config
    }

    pub fn mode(&self) -> RunMode {
        self.mode
    }

    /// Every server the manifests describe, by name.
    pub fn server_names(&self) -> Vec<String> {
        self.specs.iter().map(|spec| spec.name.clone()).collect()
    }

    /// True once any server was started (false in `--list` mode, or when the
    /// filter matched nothing).
    pub fn any_started(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Makes sure the server's round-1 process is in `phase`: started,
    /// settled and read; for `After` also burst, settled and read again.
    pub fn enter_phase(&mut self, name: &str, phase: Phase) -> Result<(), Skipped> {
        self.ensure_running(name)?;
        let burst_done = self.first_round(name).is_some_and(|r| r.burst.is_some());
        if phase == Phase::After && !burst_done {
            let result = self.burst_and_read(name);
            self.or_fail(name, result)?;
        }
        Ok(())
    }

    /// One reading of `figure` (RSS or VMS) of the running process, in bytes.
    pub fn read_figure(&mut self, name: &str, figure: MemoryFigure) -> Result<u64, Skipped> {
        let result = self.rss_vms_of(name);
        let (rss, vms) = self.or_fail(name, result)?;
        Ok(match figure {
            MemoryFigure::Vms => vms,
            _ => rss,
        })
    }

    /// Ends the memory phase of a server: stops its process, then runs the
    /// remaining rounds, each on a fresh process, alone.
    pub fn finish_memory(&mut self, name: &str) {
        let Some(slot) = self.slots.get(name) else {
            return;
        };
        let burst_done = !slot.failed
            && slot
                .record
                .rounds
                .first()
                .is_some_and(|r| r.burst.is_some());
        self.stop(name);
        if !burst_done {
            return;
        }
        for round in 2..=self.config.rounds {
            self.progress(name, &format!("round {round} of {}", self.config.rounds));
            let result = self.extra_round(name);
            if self.or_fail(name, result).is_err() {
                return;
            }
        }
    }

    /// Sends `iters` requests to `route` over the configured number of
    /// keep-alive connections and returns the wall time they took. Any
    /// request that is not a 200 with the contract's body fails the server.
    pub fn measure_latency(
        &mut self,
        name: &str,
        route: Route,
        iters: u64,
    ) -> Result<Duration, Skipped> {
        let plan = latency_plan(route, iters, &self.config);
        self.measure_timed(name, Timed::Latency(route), &plan, iters)
    }

    /// Sends `iters` requests to `/hello/World` over `connections`
    /// keep-alive connections (one step of the throughput sweep) and
    /// returns the wall time they took.
    pub fn measure_throughput(
        &mut self,
        name: &str,
        connections: usize,
        iters: u64,
    ) -> Result<Duration, Skipped> {
        let plan = throughput_plan(connections, iters, &self.config);
        self.measure_timed(name, Timed::Throughput(connections), &plan, iters)
    }

    /// The same as [`Suite::measure_throughput`] against the harness's own
    /// responder, on the server CPUs: the client's ceiling.
    pub fn measure_ceiling(&mut self, connections: usize, iters: u64) -> Result<Duration, Skipped> {
        if self.responder.is_none() {
            let placement = &self.config.placement;
            let cpus = placement.pinned.then_some(&placement.server_cpus);
            let started = Responder::start(cpus).map_err(|err| {
                eprintln!("framework-bench: client ceiling: {err}");
                Skipped
            })?;
            self.responder = Some(started);
        }
        // Each connection count once, as a server's benchmarks are.
        let timed = Timed::Throughput(connections);
        if self.announced.insert((CLIENT_CEILING.to_owned(), timed)) {
            eprintln!("framework-bench: client ceiling: {timed}");
        }
        let addr = self
            .responder
            .as_ref()
            .map(Responder::addr)
            .ok_or(Skipped)?;
        let plan = throughput_plan(connections, iters, &self.config);
        let started = Instant::now();
        let report = self.client.load.run(addr, &plan).map_err(|_| Skipped)?;
        // The responder runs in the harness: no CPU figure of either side
        // would mean anything here.
        let cost = PhaseCost {
            wall: started.elapsed(),
            ..PhaseCost::default()
        };
        if report.successes != plan.n_requests {
            eprintln!("framework-bench: client ceiling: {report}");
            self.ceiling.remove(&connections);
            return Err(Skipped);
        }
        let samples = self.ceiling.entry(connections).or_default();
        samples.add(&report, iters, cost);
        Ok(report.wall_time)
    }

    /// Open-loop runs on a server after its sweep, on every route: at 50 %
    /// and 90 % of the most requests per second the sweep measured (over
    /// the connections that gave it), or at `FRAMEWORK_BENCH_RATE`. Each
    /// lasts [`RATE_RUN`] (a tenth of it in test mode). A failure is
    /// recorded against the server, as in any phase.
    pub fn constant_rate(&mut self, name: &str) {
        if self.slots.get(name).is_none_or(|slot| slot.failed) {
            return;
        }
        let Some((connections, max)) = self.sweep_max(name) else {
            return;
        };
        let rates: Vec<(Option<u8>, u32)> = if self.config.rates.is_empty() {
            let at = |p: u8| (max * f64::from(p) / 100.0).max(1.0) as u32;
            RATE_PERCENTS.iter().map(|&p| (Some(p), at(p))).collect()
        } else {
            self.config.rates.iter().map(|&r| (None, r)).collect()
        };
        for route in Route::ALL {
            for &(percent, rate) in &rates {
                self.progress(name, &format!("{route} at {rate} requests/s"));
                let result = self.rate_run(name, route, connections, percent, rate);
                if self.or_fail(name, result).is_err() {
                    return;
                }
            }
        }
    }

    /// The sweep's best connection count and its requests per second.
    fn sweep_max(&self, name: &str) -> Option<(usize, f64)> {
        let slot = self.slots.get(name)?;
        slot.timed
            .iter()
            .filter_map(|(timed, samples)| match timed {
                Timed::Throughput(c) => Some((*c, samples.requests_per_second()?)),
                Timed::Latency(_) => None,
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn rate_run(
        &mut self,
        name: &str,
        route: Route,
        connections: usize,
        percent_of_max: Option<u8>,
        rate: u32,
    ) -> Result<()> {
        self.ensure_running(name)
            .map_err(|Skipped| Error::NotRunning {
                server: name.to_owned(),
            })?;
        let (addr, pid) = {
            let process = self.running(name)?;
            (process.addr(), process.pid())
        };
        let run_for = match self.mode {
            RunMode::Test => RATE_RUN / 10,
            _ => RATE_RUN,
        };
        let rate_nz = NonZeroU32::new(rate.max(1)).unwrap_or(NonZeroU32::MIN);
        let mut plan = latency_plan(route, 1, &self.config);
        plan.n_requests = ((f64::from(rate) * run_for.as_secs_f64()) as usize).max(1);
        plan.concurrency = connections.clamp(1, plan.n_requests);
        plan.pacing = Pacing::Rate(rate_nz);
        plan.stop_on_failure = false;
        let meter = PhaseMeter::start(pid);
        let report = self.client.load.run(addr, &plan)?;
        let cost = meter.stop();
        let client_cpus = self.config.placement.client_cpus.len();
        let record = RateRecord {
            route,
            percent_of_max,
            connections: plan.concurrency,
            target_per_second: rate,
            achieved_per_second: report.requests_per_second(),
            requests: report.latency_summary(),
            counts: report.counts.clone(),
            server_cpu_time: cost.server_cpu,
            client_busy: cost.client_busy(client_cpus),
            closed_by_server: Some(report.closed_by_server as u64),
        };
        if !record.valid() {
            eprintln!(
                "framework-bench: {name}: {route} at {rate}/s achieved {:.0}/s ({:.1} %): not valid at that rate; {}",
                record.achieved_per_second,
                record.achieved_share() * 100.0,
                report.counter_text()
            );
        }
        let slot = self.slots.get_mut(name).ok_or_else(|| Error::NotRunning {
            server: name.to_owned(),
        })?;
        slot.record.constant_rate.push(record);
        Ok(())
    }

    /// Stops the responder once the ceiling benchmarks are done.
    pub fn stop_ceiling(&mut self) {
        self.responder = None;
    }

    /// One sample of `iters` Criterion iterations of a timed benchmark.
    fn measure_timed(
        &mut self,
        name: &str,
        timed: Timed,
        plan: &LoadPlan,
        iters: u64,
    ) -> Result<Duration, Skipped> {
        if self.announced.insert((name.to_owned(), timed)) {
            self.progress(name, &timed.to_string());
        }
        self.ensure_running(name)?;
        let result = self.timed_sample(name, timed, plan, iters);
        let slot = self.slots.get_mut(name).ok_or(Skipped)?;
        if result.is_err() {
            // Criterion abandons the benchmark: no figure of it may be
            // reported as if it had been measured.
            slot.timed.remove(&timed);
        }
        self.or_fail(name, result)
    }

    /// Builds and starts the server if no process of it runs, so that only
    /// one process is measured at a time. The first start of a run also
    /// settles and reads the "before" snapshot.
    pub fn ensure_running(&mut self, name: &str) -> Result<(), Skipped> {
        if !self.slots.contains_key(name) {
            let spec = self
                .specs
                .iter()
                .find(|spec| spec.name == name)
                .ok_or(Skipped)?;
            let slot = new_slot(spec.clone(), self.config.workers);
            self.slots.insert(name.to_owned(), slot);
        }
        let slot = self.slots.get(name).ok_or(Skipped)?;
        if slot.failed {
            return Err(Skipped);
        }
        if slot.process.is_some() {
            return Ok(());
        }
        let first = slot.record.rounds.is_empty();
        let result = self.start(name, first);
        self.or_fail(name, result)
    }

    /// Stops the server's running process, if any, reading its memory one
    /// last time (round 1's process) and recording how it ended.
    pub fn stop(&mut self, name: &str) {
        let Some(slot) = self.slots.get_mut(name) else {
            return;
        };
        let Some(mut process) = slot.process.take() else {
            return;
        };
        slot.connection = None;
        let first = slot.record.rounds.first().map(|r| r.pid) == Some(process.pid());
        if first && process.check_alive("before it was stopped").is_ok() {
            slot.record.end = self.sampler.snapshot(process.pid()).ok();
        }
        let stop = shut_down(process);
        if !stop.clean && slot.record.error.is_none() {
            let message = format!(
                "{name} (pid {}) did not stop cleanly on SIGTERM: {}",
                stop.pid, stop.exit
            );
            eprintln!("framework-bench: {message}");
            slot.record.error = Some(message);
        }
        slot.record.stops.push(stop);
    }

    pub fn stop_all(&mut self) {
        let names: Vec<String> = self.slots.keys().cloned().collect();
        for name in names {
            self.stop(&name);
        }
    }

    /// Stops what still runs and returns the run's record.
    pub fn finish(mut self) -> RunRecord {
        self.stop_all();
        release_freed_memory();
        self.harness.after = self.sampler.snapshot(std::process::id()).ok();
        let estimated = self.mode == RunMode::Benchmark;
        let settings = self.estimates;
        let client_cpus = self.config.placement.client_cpus.len();
        let settings = estimated.then_some(settings);
        let client_ceiling: BTreeMap<usize, LatencyRecord> = std::mem::take(&mut self.ceiling)
            .into_iter()
            .map(|(c, samples)| {
                (
                    c,
                    per_request(samples.into_record(settings, client_cpus), c),
                )
            })
            .collect();
        let mut servers: Vec<ServerRecord> = self
            .slots
            .into_values()
            .map(|slot| slot.into_record(settings, client_cpus))
            .collect();
        // Only here is the ceiling known: a sweep step near it is stored as
        // client-bound, so that a comparison warns about it.
        for server in &mut servers {
            for (c, step) in &mut server.throughput {
                step.client_bound = step.sweep_client_bound(client_ceiling.get(c));
            }
        }
        RunRecord {
            schema: RUN_SCHEMA.to_owned(),
            mode: self.mode,
            started_at_unix: unix_seconds(self.started_at),
            finished_at_unix: unix_seconds(SystemTime::now()),
            wall_time: self.clock.elapsed(),
            config: self.config,
            conditions: self.conditions,
            environment: self.environment,
            harness: self.harness,
            servers,
            client_ceiling,
        }
    }

    /// Where run files go: Criterion's output directory (`CRITERION_HOME`,
    /// else the target directory's `criterion`), under `framework-bench/`.
    pub fn output_dir(&self) -> PathBuf {
        criterion_home(&self.workspace).join("framework-bench")
    }

    /// One line as a server enters a phase: `[3/6] rocket: round 2 of 3`.
    fn progress(&self, name: &str, phase: &str) {
        let position = self.specs.iter().position(|s| s.name == name);
        let of = self.specs.len();
        eprintln!(
            "framework-bench: [{}/{of}] {name}: {phase}",
            position.map_or(0, |i| i + 1)
        );
    }

    fn first_round(&self, name: &str) -> Option<&RoundRecord> {
        self.slots.get(name)?.record.rounds.first()
    }

    /// The server's running process; an error if none runs.
    fn running(&mut self, name: &str) -> Result<&mut ServerProcess> {
        self.slots
            .get_mut(name)
            .and_then(|slot| slot.process.as_mut())
            .ok_or_else(|| Error::NotRunning {
                server: name.to_owned(),
            })
    }

    fn rss_vms_of(&mut self, name: &str) -> Result<(u64, u64)> {
        // A dead child that is not reaped yet still has a /proc entry whose
        // statm reads all zeros: check first, so a crash is never 0 bytes.
        let during = "while its memory was read";
        let process = self
            .slots
            .get_mut(name)
            .and_then(|slot| slot.process.as_mut())
            .ok_or_else(|| Error::NotRunning {
                server: name.to_owned(),
            })?;
        process.check_alive(during)?;
        let reading = self.sampler.rss_vms(process.pid());
        reading.map_err(|err| crash_or(Some(process), err, during))
    }

    /// One sample of a timed benchmark: the plan's requests, their cost on
    /// both sides, kept with the benchmark's other samples.
    fn timed_sample(
        &mut self,
        name: &str,
        timed: Timed,
        plan: &LoadPlan,
        iters: u64,
    ) -> Result<Duration> {
        let (addr, pid) = {
            let process = self.running(name)?;
            (process.addr(), process.pid())
        };
        let slot = self.slots.get_mut(name).ok_or_else(|| Error::NotRunning {
            server: name.to_owned(),
        })?;
        let meter = PhaseMeter::start(pid);
        let report = match timed {
            Timed::Latency(route) if plan.concurrency == 1 => {
                let connection = match slot.connection.take() {
                    Some((r, connection)) if r == route => connection,
                    _ => KeepAlive::new(addr, &plan.path, &plan.expected_body, plan.timeout)?,
                };
                let connection = &mut slot.connection.insert((route, connection)).1;
                self.client.sequential(|| connection.run(plan))
            }
            _ => self.client.load.run(addr, plan)?,
        };
        let cost = meter.stop();
        if report.successes != plan.n_requests {
            let during = format!("during the {timed} benchmark");
            let failed = Error::RequestsFailed {
                server: name.to_owned(),
                failed: plan.n_requests - report.successes,
                sent: plan.n_requests,
                path: plan.path.clone(),
                during: during.clone(),
                outcomes: report.counter_text(),
            };
            return Err(crash_or(slot.process.as_mut(), failed, &during));
        }
        slot.timed
            .entry(timed)
            .or_default()
            .add(&report, iters, cost);
        Ok(report.wall_time)
    }

    fn launch_options(&self) -> LaunchOptions {
        let mut options = LaunchOptions::new(&self.log_dir, self.config.workers);
        options.ready_timeout = self.config.ready_timeout;
        options.backlog = self.conditions.backlog;
        let placement = &self.config.placement;
        options.cpus = placement.pinned.then(|| placement.server_cpus.clone());
        options
    }

    fn build_and_start(&mut self, name: &str) -> Result<(BuiltServer, ServerProcess)> {
        let spec = self
            .slots
            .get(name)
            .map(|s| s.spec.clone())
            .ok_or_else(|| Error::NotRunning {
                server: name.to_owned(),
            })?;
        let built = self.builder.build(&spec)?;
        let options = self.launch_options();
        let process = ServerProcess::start(&built, &options)?;
        eprintln!(
            "framework-bench: started {name} {} (pid {}, {} workers) in {:.1} ms",
            built.version,
            process.pid(),
            options.workers,
            process.startup_time().as_secs_f64() * 1e3
        );
        Ok((built, process))
    }

    /// Starts a process; the first of the run is round 1: it records what
    /// ran, settles and reads memory.
    fn start(&mut self, name: &str, first: bool) -> Result<()> {
        if first {
            self.progress(name, "build");
        }
        let (built, mut process) = self.build_and_start(name)?;
        if first {
            self.progress(name, &format!("round 1 of {}", self.config.rounds));
        }
        let mut round = RoundRecord::started(process.pid(), process.startup_time());
        let before = if first {
            let settle = self.config.settle;
            let sampler = self.sampler.as_mut();
            Some(settle_and_read(
                sampler,
                &mut process,
                settle,
                "while it settled",
            ))
        } else {
            None
        };
        let command = self.command_line(name, &built);
        let Some(slot) = self.slots.get_mut(name) else {
            return Ok(());
        };
        slot.process = Some(process);
        if !first {
            return Ok(());
        }
        slot.record.version = Some(built.version);
        slot.record.command = command;
        // A failed settle keeps the round (pid, startup) and is the error.
        let result = before.transpose().map(|reading| {
            if let Some(reading) = reading {
                round.read_before(reading);
            }
        });
        slot.record.rounds.push(round);
        result
    }

    fn command_line(&self, name: &str, built: &BuiltServer) -> Vec<String> {
        let options = self.launch_options();
        let values = RunValues {
            bin: built.bin.as_deref(),
            python: built.python.as_deref(),
            port: options.port,
            workers: options.workers,
            backlog: options.backlog,
        };
        self.slots
            .get(name)
            .map(|slot| slot.spec.command_line(&values))
            .unwrap_or_default()
    }

    /// The seed's burst on round 1's process, then settle and read.
    fn burst_and_read(&mut self, name: &str) -> Result<()> {
        let settle = self.config.settle;
        let slot = self.slots.get_mut(name).ok_or_else(|| Error::NotRunning {
            server: name.to_owned(),
        })?;
        let (Some(process), Some(round)) = (slot.process.as_mut(), slot.record.rounds.first_mut())
        else {
            return Err(Error::NotRunning {
                server: name.to_owned(),
            });
        };
        round.burst = Some(run_burst(&self.client, &self.config, process)?);
        let sampler = self.sampler.as_mut();
        round.read_after(settle_and_read(
            sampler,
            process,
            settle,
            "after the burst",
        )?);
        Ok(())
    }

    /// One more round on a fresh process, run alone and stopped at the end.
    fn extra_round(&mut self, name: &str) -> Result<()> {
        let (_, mut process) = self.build_and_start(name)?;
        let settle = self.config.settle;
        let mut round = RoundRecord::started(process.pid(), process.startup_time());
        let result = (|| {
            let sampler = self.sampler.as_mut();
            round.read_before(settle_and_read(
                sampler,
                &mut process,
                settle,
                "while it settled",
            )?);
            round.burst = Some(run_burst(&self.client, &self.config, &mut process)?);
            round.read_after(settle_and_read(
                sampler,
                &mut process,
                settle,
                "after the burst",
            )?);
            Ok(())
        })();
        let stop = shut_down(process);
        if let Some(slot) = self.slots.get_mut(name) {
            slot.record.rounds.push(round);
            slot.record.stops.push(stop);
        }
        result
    }

    /// Passes `Ok` through; records an error against the server (printed
    /// once, the server stopped so it cannot disturb the others) as `Skipped`.
    fn or_fail<T>(&mut self, name: &str, result: Result<T>) -> Result<T, Skipped> {
        result.map_err(|err| {
            let message = err.to_string();
            eprintln!("framework-bench: {message}");
            if let Some(slot) = self.slots.get_mut(name) {
                slot.failed = true;
                slot.record.error.get_or_insert(message);
            }
            self.stop(name);
            Skipped
        })
    }
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

impl Slot {
    /// The server's record with its timed benchmarks made from what was
    /// timed: percentiles always, the estimate only when `settings` is
    /// given (a full benchmark run) and Criterion completed the measurement.
    fn into_record(
        mut self,
        settings: Option<EstimateSettings>,
        client_cpus: usize,
    ) -> ServerRecord {
        for (timed, samples) in self.timed {
            let record = samples.into_record(settings, client_cpus);
            match timed {
                Timed::Latency(route) => self.record.latency.insert(route, record),
                Timed::Throughput(c) => self.record.throughput.insert(c, per_request(record, c)),
            };
        }
        self.record
    }
}

/// A timed Criterion benchmark of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timed {
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
/// of every request, Criterion's samples for the estimate, and the cost.
#[derive(Default)]
struct TimedSamples {
    histogram: Option<hdrhistogram::Histogram<u64>>,
    timings: Timings,
    cost: Option<PhaseCost>,
    /// Successful requests and their wall time over every sample.
    successes: u64,
    wall: Duration,
    closed_by_server: u64,
}

impl TimedSamples {
    fn add(&mut self, report: &HammerReport, iters: u64, cost: PhaseCost) {
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
    fn requests_per_second(&self) -> Option<f64> {
        let seconds = self.wall.as_secs_f64();
        (seconds > 0.0 && self.successes > 0).then(|| self.successes as f64 / seconds)
    }

    fn into_record(self, settings: Option<EstimateSettings>, client_cpus: usize) -> LatencyRecord {
        let estimate = settings.and_then(|s| {
            self.timings
                .estimate(s.sample_size, s.confidence_level, s.n_resamples)
        });
        let requests = self.histogram.as_ref().map_or_else(
            || crate::load::hammer::summarize(&crate::load::hammer::latency_histogram()),
            crate::load::hammer::summarize,
        );
        let client_busy = self.cost.and_then(|c| c.client_busy(client_cpus));
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

fn new_slot(spec: ServerSpec, workers: usize) -> Slot {
    Slot {
        record: ServerRecord::new(&spec.name, &spec.description, workers),
        spec,
        process: None,
        connection: None,
        timed: BTreeMap::new(),
        failed: false,
    }
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Waits until the server's memory is still, at most `cap`, then reads it.
fn settle_and_read(
    sampler: &mut dyn Sampler,
    process: &mut ServerProcess,
    cap: Duration,
    during: &str,
) -> Result<(MemorySnapshot, Settle)> {
    let pid = process.pid();
    let settled = {
        let mut check = || process.check_alive(during);
        settle(sampler, pid, cap, &mut check, &mut std::thread::sleep)
    };
    settled.map_err(|err| crash_or(Some(process), err, during))
}

/// The seed's burst against `process`; a crash during it is the error.
fn run_burst(
    client: &Client,
    config: &BenchConfig,
    process: &mut ServerProcess,
) -> Result<BurstRecord> {
    let plan = LoadPlan::burst(config.n_requests, config.timeout);
    let pid = process.pid();
    // The peak is the burst's own only if the reset worked.
    let peak_reset = reset_peak_rss(pid).is_ok();
    let counters = TcpCounters::read();
    let meter = PhaseMeter::start(pid);
    let report = client.load.run(process.addr(), &plan)?;
    let cost = meter.stop();
    let network = counters.zip(TcpCounters::read()).map(|(b, a)| a.since(&b));
    process.check_alive("during the burst")?;
    let burst = BurstRecord {
        network,
        peak_rss_bytes: peak_reset.then(|| peak_rss_bytes(pid)).flatten(),
        server_cpu_time: cost.server_cpu,
        client_busy: cost.client_busy(config.placement.client_cpus.len()),
        ..BurstRecord::from(&report)
    };
    let burst = BurstRecord {
        client_bound: is_client_bound(burst.client_busy),
        ..burst
    };
    eprintln!(
        "framework-bench: {}: burst of {} requests in {:.3} s: {:.1}% success, {}",
        process.name(),
        burst.n_requests,
        burst.wall_time.as_secs_f64(),
        burst.success_rate * 100.0,
        burst.outcome_text()
    );
    Ok(burst)
}

/// The client side of a run: the load client (one pinned thread and event
/// loop per client CPU) and the pinning of the calling thread while it
/// drives the sequential latency client. Between phases the calling thread
/// gets every CPU back, so that Criterion's analysis (and the threads it
/// starts) is not confined to the client's share.
struct Client {
    load: LoadClient,
    /// The client CPUs while a phase runs, and every CPU after; `None` when
    /// nothing is pinned.
    pins: Option<(CpuList, CpuList)>,
}

impl Client {
    fn new(placement: &Placement) -> Client {
        let load = if placement.pinned {
            LoadClient::pinned(placement.client_cpus.clone())
        } else {
            LoadClient::unpinned(placement.client_cpus.len())
        };
        let pins = placement
            .pinned
            .then(|| (placement.client_cpus.clone(), allowed_cpus()));
        Client { load, pins }
    }

    /// Runs `phase` on the calling thread, pinned to the client CPUs.
    fn sequential<T>(&self, phase: impl FnOnce() -> T) -> T {
        // Best effort: an unpinned phase still measures, and the pinning
        // test checks the affinity.
        let _restore = self.pins.as_ref().map(|(client, all)| {
            let _ = pin_current_thread(client);
            RestoreCpus(all)
        });
        phase()
    }
}

/// Gives the calling thread every CPU back when a phase ends, also when it
/// ends by a panic.
struct RestoreCpus<'a>(&'a CpuList);

impl Drop for RestoreCpus<'_> {
    fn drop(&mut self) {
        let _ = pin_current_thread(self.0);
    }
}

/// Says once where servers and client run and which backlog they get.
fn announce_conditions(config: &BenchConfig, conditions: &Conditions) {
    let p = &config.placement;
    let placement = if p.pinned {
        format!(
            "servers on CPUs {}, client on CPUs {}",
            p.server_cpus, p.client_cpus
        )
    } else {
        format!(
            "not pinned (CPUs {}): client and servers share them",
            p.server_cpus
        )
    };
    let backlog = conditions
        .backlog
        .map_or("each framework's own".to_owned(), |b| b.to_string());
    let cap = conditions
        .somaxconn
        .map_or("unknown".to_owned(), |c| c.to_string());
    eprintln!(
        "framework-bench: {placement}; {} workers per server; listen backlog {backlog} (somaxconn {cap})",
        config.workers
    );
}

/// If the server has exited, the crash is the real error.
fn crash_or(process: Option<&mut ServerProcess>, err: Error, during: &str) -> Error {
    match process.map(|p| p.check_alive(during)) {
        Some(Err(crash)) => crash,
        _ => err,
    }
}

/// SIGTERM, deadline, SIGKILL; how it went.
fn shut_down(process: ServerProcess) -> StopRecord {
    let pid = process.pid();
    let sent_at = std::time::Instant::now();
    match process.shutdown() {
        Ok(stopped) => StopRecord {
            pid,
            exit: crate::error::describe_status(stopped.status),
            clean: stopped.status.success(),
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

fn latency_plan(route: Route, iters: u64, config: &BenchConfig) -> LoadPlan {
    let n_requests = usize::try_from(iters).unwrap_or(usize::MAX);
    let timeout = config.timeout.max(LATENCY_TIMEOUT_FLOOR);
    let mut plan = LoadPlan::keep_alive(n_requests, config.concurrency, timeout);
    plan.path = route.path().to_owned();
    plan.expected_body = route.expected_body();
    // One failure already fails the server; don't wait out the rest.
    plan.stop_on_failure = true;
    plan
}

/// One sample of the throughput sweep: `iters` rounds of `connections`
/// requests to `/hello/World` over that many keep-alive connections.
fn throughput_plan(connections: usize, iters: u64, config: &BenchConfig) -> LoadPlan {
    let connections = connections.max(1);
    let rounds = usize::try_from(iters).unwrap_or(usize::MAX);
    let mut plan = latency_plan(Route::Hello, 1, config);
    plan.n_requests = rounds.saturating_mul(connections);
    plan.concurrency = connections;
    plan
}

/// A sweep step's record with its estimate per request: Criterion timed
/// rounds of `connections` requests.
fn per_request(record: LatencyRecord, connections: usize) -> LatencyRecord {
    LatencyRecord {
        estimate: record.estimate.map(|e| e.divided_by(connections as f64)),
        ..record
    }
}

/// Gives the heap's free pages back to the kernel before the harness reads
/// its own memory, so that the figure is what the harness holds, not what
/// its allocator keeps of what it freed (Criterion's analysis frees most of
/// what it allocates).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How long each constant-rate run lasts.
const RATE_RUN: Duration = Duration::from_secs(2);

/// Criterion's output directory, found the way Criterion finds it.
pub fn criterion_home(workspace: &Workspace) -> PathBuf {
    match std::env::var_os("CRITERION_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace.target_dir.join("criterion"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequential_client_runs_on_the_client_cpus_only() {
        let allowed = crate::conditions::allowed_cpus();
        if allowed.len() < 2 {
            return;
        }
        let placement = Placement::choose(true, None, None, &allowed).unwrap();
        let client = Client::new(&placement);
        let affinity = || {
            let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
            let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:"));
            line.unwrap().split_whitespace().nth(1).unwrap().to_owned()
        };
        let during = client.sequential(affinity);
        assert_eq!(during, placement.client_cpus.to_string(), "during a phase");
        assert_eq!(affinity(), allowed.to_string(), "the caller between phases");
        assert_eq!(client.load.threads(), placement.client_cpus.len());
    }

    #[test]
    fn latency_plans_reuse_connections_and_expect_the_contracts_body() {
        let config = BenchConfig {
            concurrency: 2,
            ..BenchConfig::default()
        };
        let plan = latency_plan(Route::Json, 10, &config);
        assert_eq!(
            plan.connections,
            crate::load::hammer::Connections::KeepAlive
        );
        assert_eq!((plan.n_requests, plan.concurrency), (10, 2));
        assert_eq!(plan.path, "/json");
        assert_eq!(plan.expected_body, server_contract::JSON_BODY);
        assert_eq!(plan.timeout, LATENCY_TIMEOUT_FLOOR);
    }
}
