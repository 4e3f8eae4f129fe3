//! Executes a [`Plan`]: each step acts on one server's [`Session`], or on
//! the client's ceiling. A step of a server that failed does nothing; a
//! step that fails fails its server (see [`Session::fail`]) and the run goes
//! on with the others. Criterion's benchmarks call [`Run::read_memory`] and
//! [`Run::sample`] between the steps, and only their `Err` becomes
//! Criterion's skip, at the bench boundary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::conditions::{Conditions, somaxconn};
use crate::config::BenchConfig;
use crate::error::Result;
use crate::load::request::RequestSet;
use crate::load::responder::Responder;
use crate::load::{Mix, Route};
use crate::measure::cpu::PhaseCost;
use crate::measure::environment::Environment;
use crate::measure::memory::{ProcSampler, Sampler};
use crate::record::{
    CLIENT_CEILING, CLIENT_FLOOR, HarnessRecord, LatencyRecord, RUN_SCHEMA, RunMode, RunRecord,
};
use crate::run::plan::{Bench, Filter, Plan, Selection, ServerId, Step};
use crate::run::probe;
use crate::run::seams::{BenchClient, ClientLoad, Launcher, Load, ProcessLauncher};
use crate::run::session::{Session, Tools};
use crate::run::timed::{
    EstimateSettings, Timed, TimedSamples, latency_plan, per_request, throughput_plan,
};
use crate::server::manifest::ServerSpec;
use crate::server::process::LaunchOptions;
use crate::workspace::Workspace;

/// A benchmark whose server failed: the failure is in its session already.
#[derive(Debug, Clone, Copy)]
pub struct Skipped;

/// The seams of a run: launching, reading, loading, and waiting.
pub struct Seams {
    pub launcher: Box<dyn Launcher>,
    pub sampler: Box<dyn Sampler>,
    pub load: Box<dyn Load>,
    /// How the settle waits between readings.
    pub sleep: fn(Duration),
}

impl Seams {
    /// Real processes, `/proc` and sockets.
    pub fn real(workspace: &Workspace, config: &BenchConfig) -> Result<Seams> {
        Ok(Seams {
            launcher: Box::new(ProcessLauncher::new(workspace)),
            sampler: Box::new(ProcSampler::new()?),
            load: Box::new(ClientLoad::new(&config.placement)),
            sleep: std::thread::sleep,
        })
    }
}

/// One run in progress: every server's session, and what the run shares.
pub struct Run {
    tools: Tools,
    mode: RunMode,
    estimates: EstimateSettings,
    sessions: Vec<Session>,
    harness: HarnessRecord,
    environment: Environment,
    conditions: Conditions,
    started_at: SystemTime,
    clock: Instant,
    /// (benchmark) whose start was announced.
    announced: BTreeSet<Bench>,
    controls: Controls,
    any_started: bool,
    /// Time spent in each kind of step.
    time_by_step: BTreeMap<&'static str, Duration>,
}

/// The client's own yardsticks: the responder in the harness they are
/// measured on, the client side kept across a benchmark's samples, and
/// what each measured: the floor (`Timed::Latency`) and the ceiling at each
/// connection count of the sweep (`Timed::Throughput`).
#[derive(Default)]
struct Controls {
    responder: Option<Responder>,
    client: BenchClient,
    samples: BTreeMap<Timed, TimedSamples>,
}

impl Run {
    /// A run over `specs` through real processes.
    pub fn new(
        workspace: &Workspace,
        config: BenchConfig,
        mode: RunMode,
        specs: Vec<ServerSpec>,
    ) -> Result<Run> {
        let seams = Seams::real(workspace, &config)?;
        Run::with_seams(workspace, config, mode, specs, seams)
    }

    /// A run over `specs` through `seams`. Any error here stops the run
    /// before a server starts.
    pub fn with_seams(
        workspace: &Workspace,
        config: BenchConfig,
        mode: RunMode,
        specs: Vec<ServerSpec>,
        mut seams: Seams,
    ) -> Result<Run> {
        let config = match mode {
            RunMode::Test => config.for_test_mode(),
            _ => config,
        };
        crate::server::process::ensure_open_files(config.open_files_needed())?;
        let harness = HarnessRecord {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            before: seams.sampler.snapshot(std::process::id())?,
            after: None,
        };
        let conditions = conditions_of(&config);
        announce_conditions(&config, &conditions);
        let sessions = sessions(specs, config.workers);
        let launch = launch_options(&config, &conditions, workspace.log_dir());
        Ok(Run {
            tools: Tools {
                launcher: seams.launcher,
                sampler: seams.sampler,
                load: seams.load,
                sleep: seams.sleep,
                launch,
                short_rate_runs: mode == RunMode::Test,
                baseline_rates: BTreeMap::new(),
                callgrind: std::cell::OnceCell::new(),
                config,
            },
            mode,
            estimates: EstimateSettings::CRITERION_DEFAULT,
            sessions,
            harness,
            environment: Environment::capture(&workspace.root),
            conditions,
            started_at: SystemTime::now(),
            clock: Instant::now(),
            announced: BTreeSet::new(),
            controls: Controls::default(),
            any_started: false,
            time_by_step: BTreeMap::new(),
        })
    }

    /// Writes the servers' logs under `dir` instead of the workspace's
    /// (tests give each run its own).
    pub fn set_log_dir(&mut self, dir: PathBuf) {
        self.tools.launch.log_dir = dir;
    }

    /// How latency estimates are made; Criterion's defaults unless set.
    pub fn set_estimate_settings(&mut self, settings: EstimateSettings) {
        self.estimates = settings;
    }

    /// The rates a baseline's constant-rate figures were taken at: the
    /// run's rate runs use them (see [`crate::run::session::BaselineRates`]).
    pub fn set_baseline_rates(&mut self, rates: crate::run::session::BaselineRates) {
        self.tools.baseline_rates = rates;
    }

    pub fn config(&self) -> &BenchConfig {
        &self.tools.config
    }

    pub fn mode(&self) -> RunMode {
        self.mode
    }

    /// Every server's name; a [`ServerId`] indexes this.
    pub fn names(&self) -> Vec<String> {
        self.sessions.iter().map(|s| s.name().to_owned()).collect()
    }

    /// True once any server was started (false in `--list` mode, or when the
    /// filter matched nothing).
    pub fn any_started(&self) -> bool {
        self.any_started
    }

    /// The default plan over this run's servers, for `filter`; for an A/B
    /// run, its interleaved rounds (Criterion's filter does not apply:
    /// no Criterion benchmark runs).
    pub fn default_plan(&self, filter: &Filter) -> Plan {
        let names = self.names();
        if let Some(pair) = &self.tools.config.ab {
            let id = |name: &str| names.iter().position(|n| n == name).map(ServerId);
            if let (Some(a), Some(b), true) = (id(&pair.a), id(&pair.b), self.mode.runs_routines())
            {
                return Plan::interleaved(a, b, &self.tools.config);
            }
        }
        let routes: Vec<Vec<Route>> = self
            .sessions
            .iter()
            .map(|s| s.requests().names().collect())
            .collect();
        let sweeps: Vec<Route> = self
            .sessions
            .iter()
            .map(|s| s.requests().sweep().name())
            .collect();
        Plan::default_run(&Selection {
            names: &names,
            routes: &routes,
            sweeps: &sweeps,
            config: &self.tools.config,
            filter,
            runs_routines: self.mode.runs_routines(),
        })
    }

    /// Runs one step that is not a benchmark, and counts its time.
    pub fn execute(&mut self, step: &Step) {
        let started = Instant::now();
        self.execute_step(step);
        *self.time_by_step.entry(step.kind()).or_default() += started.elapsed();
    }

    fn execute_step(&mut self, step: &Step) {
        match *step {
            Step::Start { server, round } => self.start(server, round, false),
            Step::StartCounted { server, round } => self.start(server, round, true),
            Step::Settle { server, phase } => {
                self.act(server, |session, tools| session.settle(tools, phase));
            }
            Step::Burst { server } => self.act(server, |session, tools| session.burst(tools)),
            Step::Probe { server } => {
                self.act(server, |session, tools| session.probe(tools));
                // An A/B run's pairs cancel the machine's drift themselves;
                // its time goes to more rounds instead. A heap round gives
                // no time figure, so it needs no control.
                let counted = self.sessions.get(server.0).is_some_and(Session::counted);
                if self.tools.config.ab.is_none() && !counted {
                    self.probe_control(server);
                }
            }
            Step::RateRuns { server } => {
                self.act(server, |session, tools| session.rate_runs(tools));
            }
            Step::Stop { server } => {
                if let Some(session) = self.sessions.get_mut(server.0) {
                    session.stop(&mut self.tools);
                }
            }
            Step::LeakBurst { server } => {
                self.act(server, |session, tools| session.leak_burst(tools));
            }
            Step::Instructions { server } => {
                if let Some(session) = self.sessions.get_mut(server.0) {
                    session.instructions(&mut self.tools);
                }
            }
            Step::StartResponder => self.start_responder(),
            Step::StopResponder => self.stop_responder(),
            Step::Bench(_) => {}
        }
    }

    /// Runs every step, each benchmark as `iters` iterations once: the plan
    /// as `--test` runs it, for the orchestration's own tests.
    pub fn execute_plan(&mut self, plan: &Plan, iters: u64) {
        for step in &plan.steps {
            match step {
                Step::Bench(bench) => {
                    if self.begin(bench) {
                        let _ = self.measure(bench, iters);
                        self.end(bench);
                    }
                }
                step => self.execute(step),
            }
        }
    }

    /// Announces a benchmark; false when its server has failed, so that it
    /// is not run at all.
    pub fn begin(&mut self, bench: &Bench) -> bool {
        let Some(server) = bench.server() else {
            return true;
        };
        let Some(session) = self.sessions.get(server.0) else {
            return false;
        };
        if !session.usable() {
            return false;
        }
        // In --list and --load-baseline modes nothing runs: say nothing.
        if self.mode.runs_routines() && self.announced.insert(*bench) {
            match bench {
                Bench::Latency { route, .. } => {
                    session.progress(&Timed::Latency(*route).to_string())
                }
                Bench::Throughput { connections, .. } => {
                    session.progress(&Timed::Throughput(*connections).to_string());
                }
                Bench::Memory { .. } | Bench::Ceiling { .. } | Bench::Floor => {}
            }
        }
        true
    }

    /// A benchmark is over: a sweep step's connections close, so that none
    /// is held open through the next step or the rate runs.
    pub fn end(&mut self, bench: &Bench) {
        match *bench {
            Bench::Throughput { server, .. } => {
                if let Some(session) = self.sessions.get_mut(server.0) {
                    session.end_sweep_step();
                }
            }
            Bench::Ceiling { .. } => self.controls.client.end_sweep_step(),
            Bench::Memory { .. } | Bench::Latency { .. } | Bench::Floor => {}
        }
    }

    /// One Criterion sample of a benchmark: bytes summed over `iters`
    /// readings for memory, wall time for the timed ones.
    pub fn measure(&mut self, bench: &Bench, iters: u64) -> Result<Measured, Skipped> {
        match *bench {
            Bench::Memory { server, figure, .. } => (0..iters)
                .try_fold(0u64, |total, _| {
                    let bytes = self.read_memory(server, figure)?;
                    Ok(total.saturating_add(bytes))
                })
                .map(Measured::Bytes),
            Bench::Latency { server, route } => {
                let request = self.requests(server)?.get(route).ok_or(Skipped)?;
                let plan = latency_plan(Mix::single(request.clone()), iters, &self.tools.config);
                self.sample(server, Timed::Latency(route), &plan, iters)
                    .map(Measured::Time)
            }
            Bench::Throughput {
                server,
                connections,
                ..
            } => {
                let mix = self.requests(server)?.sweep().clone();
                let plan = throughput_plan(mix, connections, iters, &self.tools.config);
                self.sample(server, Timed::Throughput(connections), &plan, iters)
                    .map(Measured::Time)
            }
            Bench::Ceiling { connections } => {
                let plan = throughput_plan(hello(), connections, iters, &self.tools.config);
                let timed = Timed::Throughput(connections);
                self.measure_control(bench, timed, &plan, iters)
                    .map(Measured::Time)
            }
            Bench::Floor => {
                let plan = latency_plan(hello(), iters, &self.tools.config);
                let timed = Timed::Latency(crate::load::Route::HELLO);
                self.measure_control(bench, timed, &plan, iters)
                    .map(Measured::Time)
            }
        }
    }

    /// A panic of the harness's own while it measured `bench`: the server
    /// fails with it, as with any error; the client's floor or ceiling
    /// loses what it measured.
    pub fn fail_by_panic(&mut self, bench: &Bench, message: String) {
        let Some(server) = bench.server() else {
            eprintln!("framework-bench: the harness panicked measuring the client: {message}");
            self.controls.samples.clear();
            return;
        };
        if let Some(session) = self.sessions.get_mut(server.0) {
            match *bench {
                Bench::Latency { route, .. } => session.forget(Timed::Latency(route)),
                Bench::Throughput { connections, .. } => {
                    session.forget(Timed::Throughput(connections));
                }
                Bench::Memory { .. } | Bench::Ceiling { .. } | Bench::Floor => {}
            }
            let err = crate::Error::HarnessPanic {
                server: session.name().to_owned(),
                message,
            };
            session.fail(&mut self.tools, err);
        }
    }

    fn read_memory(
        &mut self,
        server: ServerId,
        figure: crate::measure::memory::MemoryFigure,
    ) -> Result<u64, Skipped> {
        self.on_server(server, |session, tools| session.read_memory(tools, figure))
    }

    /// What `server` is measured on.
    fn requests(&self, server: ServerId) -> Result<&RequestSet, Skipped> {
        self.sessions
            .get(server.0)
            .map(Session::requests)
            .ok_or(Skipped)
    }

    fn sample(
        &mut self,
        server: ServerId,
        timed: Timed,
        plan: &crate::load::hammer::LoadPlan,
        iters: u64,
    ) -> Result<Duration, Skipped> {
        self.on_server(server, |session, tools| {
            session.timed_sample(tools, timed, plan, iters)
        })
    }

    /// A step on a server: its failure is the server's, kept in its session.
    fn act(
        &mut self,
        server: ServerId,
        action: impl FnOnce(&mut Session, &mut Tools) -> Result<()>,
    ) {
        let _recorded_in_the_session = self.on_server(server, action);
    }

    /// Runs `action` on a server that has not failed; an error fails it.
    fn on_server<T>(
        &mut self,
        server: ServerId,
        action: impl FnOnce(&mut Session, &mut Tools) -> Result<T>,
    ) -> Result<T, Skipped> {
        let session = self.sessions.get_mut(server.0).ok_or(Skipped)?;
        if !session.usable() {
            return Err(Skipped);
        }
        action(session, &mut self.tools).map_err(|err| {
            session.fail(&mut self.tools, err);
            Skipped
        })
    }

    fn start(&mut self, server: ServerId, round: Option<u32>, counted: bool) {
        let rounds = self.tools.config.rounds + self.tools.config.heap_rounds();
        if let Some(session) = self.sessions.get(server.0)
            && session.usable()
        {
            match round {
                Some(1) => {
                    session.progress("build");
                    self.any_started = true;
                }
                Some(round) if counted => {
                    session.progress(&format!("round {round} of {rounds}, heap counted"));
                }
                Some(round) => session.progress(&format!("round {round} of {rounds}")),
                None => {}
            }
        }
        self.act(server, |session, tools| {
            session.start(tools, round, counted)?;
            if round == Some(1) {
                session.progress(&format!("round 1 of {rounds}"));
            }
            Ok(())
        });
    }

    fn start_responder(&mut self) {
        let placement = &self.tools.config.placement;
        let cpus = placement.pinned.then_some(&placement.server_cpus);
        // A run of the client's floor or ceiling alone is a run too.
        self.any_started = true;
        match Responder::start(cpus) {
            Ok(responder) => self.controls.responder = Some(responder),
            Err(err) => eprintln!("framework-bench: the client's floor and ceiling: {err}"),
        }
    }

    /// The control beside a round: the harness's responder, on the server
    /// CPUs, read as the round's server was. A responder of its own, so
    /// that no connection of the floor's or ceiling's is in the way.
    fn probe_control(&mut self, server: ServerId) {
        let Some(session) = self.sessions.get_mut(server.0) else {
            return;
        };
        if !session.usable() {
            return;
        }
        let placement = &self.tools.config.placement;
        let cpus = placement.pinned.then_some(&placement.server_cpus);
        let reading = Responder::start(cpus).and_then(|responder| {
            let target = probe::Target {
                name: CLIENT_FLOOR,
                addr: responder.addr(),
                pid: None,
                heap: None,
            };
            let hello = hello();
            // Half a server's reading: the control is read beside every
            // round of every server, so its rounds are many.
            let config = BenchConfig {
                probe_requests: (self.tools.config.probe_requests / 2).max(1),
                ..self.tools.config.clone()
            };
            probe::probe(self.tools.load.as_ref(), &target, hello.first(), &config)
        });
        match reading {
            Ok(reading) => session.record_control(reading),
            Err(err) => eprintln!(
                "framework-bench: the control beside {}: {err}",
                session.name()
            ),
        }
    }

    /// A sample against the harness's own responder, on the server CPUs,
    /// with the client a server's benchmark uses: the client's floor (one
    /// request at a time) or its ceiling (a sweep step).
    fn measure_control(
        &mut self,
        bench: &Bench,
        timed: Timed,
        plan: &crate::load::hammer::LoadPlan,
        iters: u64,
    ) -> Result<Duration, Skipped> {
        let name = match timed {
            Timed::Latency(_) => CLIENT_FLOOR,
            Timed::Throughput(_) => CLIENT_CEILING,
        };
        if self.announced.insert(*bench) {
            eprintln!("framework-bench: {name}: {timed}");
        }
        let responder = self.controls.responder.as_ref();
        let addr = responder.map(Responder::addr).ok_or(Skipped)?;
        let started = Instant::now();
        let sent = self
            .controls
            .client
            .send(self.tools.load.as_ref(), addr, timed, plan);
        // The responder runs in the harness: no CPU figure of either side
        // would mean anything here.
        let cost = PhaseCost {
            wall: started.elapsed(),
            ..PhaseCost::default()
        };
        let failed = match &sent {
            Ok(report) if report.successes == plan.n_requests => None,
            Ok(report) => Some(report.to_string()),
            Err(err) => Some(err.to_string()),
        };
        if let Some(why) = failed {
            eprintln!("framework-bench: {name}: {why}");
            self.controls.samples.remove(&timed);
            return Err(Skipped);
        }
        let report = sent.map_err(|_| Skipped)?;
        let samples = self.controls.samples.entry(timed).or_default();
        samples.add(&report, iters, cost);
        Ok(report.wall_time)
    }

    /// Stops every process that still runs.
    pub fn stop_all(&mut self) {
        for session in &mut self.sessions {
            session.stop(&mut self.tools);
        }
        self.stop_responder();
    }

    /// Closes the client's connections to the responder, then stops it.
    fn stop_responder(&mut self) {
        self.controls.client.close();
        self.controls.responder = None;
    }

    /// Stops what still runs and returns the run's record.
    pub fn finish(mut self) -> RunRecord {
        self.stop_all();
        release_freed_memory();
        self.harness.after = self.tools.sampler.snapshot(std::process::id()).ok();
        let client_cpus = self.tools.config.placement.client_cpus.len();
        let settings = (self.mode == RunMode::Benchmark).then_some(self.estimates);
        let mut client_floor = None;
        let mut client_ceiling: BTreeMap<usize, LatencyRecord> = BTreeMap::new();
        for (timed, samples) in std::mem::take(&mut self.controls.samples) {
            let record = samples.into_record(settings, client_cpus);
            match timed {
                Timed::Latency(_) => client_floor = Some(record),
                Timed::Throughput(c) => drop(client_ceiling.insert(c, per_request(record, c))),
            }
        }
        let mut servers: Vec<_> = self
            .sessions
            .into_iter()
            .filter(Session::touched)
            .map(|session| session.into_record(settings, client_cpus))
            .collect();
        // Only here is the ceiling known: a sweep step near it is stored as
        // client-bound, so that a comparison warns about it.
        for server in &mut servers {
            for (c, step) in &mut server.throughput {
                step.client_bound = step.sweep_client_bound(client_ceiling.get(c));
            }
            for latency in server.latency.values_mut() {
                latency.client_bound = latency.latency_client_bound(client_floor.as_ref());
            }
        }
        RunRecord {
            schema: RUN_SCHEMA.to_owned(),
            mode: self.mode,
            started_at_unix: unix_seconds(self.started_at),
            finished_at_unix: unix_seconds(SystemTime::now()),
            wall_time: self.clock.elapsed(),
            config: self.tools.config,
            conditions: self.conditions,
            environment: self.environment,
            harness: self.harness,
            servers,
            client_ceiling,
            client_floor,
            time_by_step_ns: self
                .time_by_step
                .into_iter()
                .map(|(kind, time)| {
                    let ns = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
                    (kind.to_owned(), ns)
                })
                .collect(),
        }
    }
}

/// What one sample of a benchmark measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measured {
    Bytes(u64),
    Time(Duration),
}

/// The conditions every server gets: one backlog for every load the run
/// sends (the burst, and the sweep's most connections).
fn conditions_of(config: &BenchConfig) -> Conditions {
    let cap = somaxconn();
    Conditions {
        backlog: config.backlog.resolve(config.largest_load(), cap),
        somaxconn: cap,
    }
}

fn sessions(specs: Vec<ServerSpec>, workers: usize) -> Vec<Session> {
    let of = specs.len();
    specs
        .into_iter()
        .enumerate()
        .map(|(i, spec)| Session::new(spec, workers, i, of))
        .collect()
}

fn launch_options(
    config: &BenchConfig,
    conditions: &Conditions,
    log_dir: PathBuf,
) -> LaunchOptions {
    let mut options = LaunchOptions::new(log_dir, config.workers);
    options.ready_timeout = config.ready_timeout;
    options.backlog = conditions.backlog;
    let placement = &config.placement;
    options.cpus = placement.pinned.then(|| placement.server_cpus.clone());
    options.no_aslr = !config.aslr;
    options
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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

/// The contract's `GET /hello/World` alone: what the client's floor and
/// ceiling, and the control beside each round, send to the responder.
fn hello() -> Mix {
    Mix::single(crate::load::request::contract().remove(0))
}
