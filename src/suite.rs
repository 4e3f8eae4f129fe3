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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::build::{Builder, BuiltServer, Workspace};
use crate::config::BenchConfig;
use crate::error::{Error, Result};
use crate::hammer::{Connections, LatencySummary, LoadPlan, hammer, hammer_with, http_client};
use crate::manifest::{RunValues, ServerSpec};
use crate::memory::{MemorySnapshot, ProcSampler, Sampler};
use crate::process::{LaunchOptions, ServerProcess};
use crate::units::{duration_ns, option_duration_ns};

/// The schema name written into every run file.
pub const RUN_SCHEMA: &str = "framework-bench/run/v1";

/// The routes Criterion measures, by short name.
pub const ROUTES: [Route; 2] = [
    Route {
        name: "hello",
        path: "/hello/World",
        expected_body: "Hello, World!",
    },
    Route {
        name: "json",
        path: "/json",
        expected_body: r#"{"message":"Hello, World!"}"#,
    },
];

/// A route of the contract that the latency benchmarks request.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub name: &'static str,
    pub path: &'static str,
    pub expected_body: &'static str,
}

/// Criterion's mode, as far as the suite needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunMode {
    Benchmark,
    /// `--test`, or the bench binary run without `--bench` (`cargo test
    /// --benches`): every selected benchmark once, a small burst.
    Test,
    /// `--profile-time`: benchmarks run for a profiler as in a full run, but
    /// Criterion analyses and saves nothing.
    Profile,
}

impl RunMode {
    /// Criterion's own rule: test mode with `--test`, or when cargo did not
    /// pass `--bench`.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> RunMode {
        let has = |flag: &str| args.iter().any(|a| a.as_ref() == flag);
        if has("--test") || !has("--bench") {
            RunMode::Test
        } else if flag_value(args, "--profile-time").is_some() {
            RunMode::Profile
        } else {
            RunMode::Benchmark
        }
    }
}

/// The value of a Criterion flag given as `FLAG VALUE` or `FLAG=VALUE`.
pub fn flag_value<'a, S: AsRef<str>>(args: &'a [S], flag: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, arg)| {
        let arg = arg.as_ref();
        if arg == flag {
            args.get(i + 1).map(AsRef::as_ref)
        } else {
            arg.strip_prefix(flag)?.strip_prefix('=')
        }
    })
}

/// Before or after the burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Before,
    After,
}

/// A memory figure Criterion reads repeatedly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Rss,
    Vms,
}

/// Marks a benchmark skipped because its server failed; the failure is in
/// the server's record already.
#[derive(Debug, Clone, Copy)]
pub struct Skipped;

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

/// One independent pass of the memory phase on a fresh process: start,
/// settle, before, burst, settle, after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub pid: Option<u32>,
    #[serde(with = "option_duration_ns", rename = "startup_time_ns")]
    pub startup_time: Option<Duration>,
    pub before: Option<MemorySnapshot>,
    pub burst: Option<BurstRecord>,
    pub after: Option<MemorySnapshot>,
}

/// Everything measured on one server in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerRecord {
    pub name: String,
    pub description: String,
    pub version: Option<String>,
    pub workers: usize,
    pub command: Vec<String>,
    pub pid: Option<u32>,
    #[serde(with = "option_duration_ns", rename = "startup_time_ns")]
    pub startup_time: Option<Duration>,
    pub before: Option<MemorySnapshot>,
    pub burst: Option<BurstRecord>,
    pub after: Option<MemorySnapshot>,
    /// Just before the stop, after the latency benchmarks.
    pub end: Option<MemorySnapshot>,
    /// Route name -> percentiles of every request Criterion's latency
    /// benchmark sent (warm-up included).
    pub latency: BTreeMap<String, LatencySummary>,
    /// Every process of this server that was stopped, in order.
    pub stops: Vec<StopRecord>,
    pub error: Option<String>,
    /// Rounds 2.. of the memory phase, each on a fresh process (round 1 is
    /// the fields above: the process Criterion measures).
    #[serde(default)]
    pub extra_rounds: Vec<RoundRecord>,
}

impl ServerRecord {
    /// Every round, the first being the main process's.
    pub fn rounds(&self) -> Vec<RoundRecord> {
        let first = RoundRecord {
            pid: self.pid,
            startup_time: self.startup_time,
            before: self.before.clone(),
            burst: self.burst.clone(),
            after: self.after.clone(),
        };
        let first = first.before.is_some().then_some(first);
        first
            .into_iter()
            .chain(self.extra_rounds.iter().cloned())
            .collect()
    }
}

/// The harness's own memory, as the seed's `main` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarnessRecord {
    pub version: String,
    pub before: MemorySnapshot,
    pub after: Option<MemorySnapshot>,
}

/// One run, as written to `<criterion dir>/framework-bench/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: String,
    pub mode: RunMode,
    pub started_at_unix: u64,
    pub finished_at_unix: u64,
    pub config: BenchConfig,
    pub cpus: usize,
    pub environment: crate::environment::Environment,
    pub harness: HarnessRecord,
    pub servers: Vec<ServerRecord>,
}

/// A server's slot in the run.
struct Slot {
    spec: ServerSpec,
    record: ServerRecord,
    /// The one process of this server that runs now, if any.
    process: Option<ServerProcess>,
    client: Option<reqwest::Client>,
    histograms: BTreeMap<&'static str, hdrhistogram::Histogram<u64>>,
    failed: bool,
}

/// The run; see the module docs.
pub struct Suite {
    workspace: Workspace,
    config: BenchConfig,
    mode: RunMode,
    specs: Vec<ServerSpec>,
    builder: Builder,
    runtime: tokio::runtime::Runtime,
    sampler: ProcSampler,
    slots: BTreeMap<String, Slot>,
    harness: HarnessRecord,
    environment: crate::environment::Environment,
    started_at: SystemTime,
}

impl Suite {
    /// Reads the manifests under `servers/`, and prepares the open-files
    /// limit. Any error here stops the run before a server starts.
    pub fn new(workspace: Workspace, config: BenchConfig, mode: RunMode) -> Result<Suite> {
        let specs = ServerSpec::load_dir(&workspace.servers_dir())?;
        Suite::with_specs(workspace, config, mode, specs)
    }

    /// A run over the given servers.
    pub fn with_specs(
        workspace: Workspace,
        config: BenchConfig,
        mode: RunMode,
        specs: Vec<ServerSpec>,
    ) -> Result<Suite> {
        let config = match mode {
            RunMode::Benchmark | RunMode::Profile => config,
            RunMode::Test => config.for_test_mode(),
        };
        crate::process::ensure_open_files(config.open_files_needed())?;
        let mut sampler = ProcSampler::new()?;
        let harness = HarnessRecord {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            before: sampler.snapshot_self()?,
            after: None,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        Ok(Suite {
            environment: crate::environment::Environment::capture(&workspace.root),
            builder: Builder::new(&workspace),
            workspace,
            config,
            mode,
            specs,
            runtime,
            sampler,
            slots: BTreeMap::new(),
            harness,
            started_at: SystemTime::now(),
        })
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

    /// The pid of the server's process, once it is in `phase`: started,
    /// settled and read; for `After` also burst, settled and read again.
    pub fn memory_pid(&mut self, name: &str, phase: Phase) -> Result<u32, Skipped> {
        self.ensure_running(name)?;
        if phase == Phase::After && self.slot(name).record.burst.is_none() {
            let result = self.burst_and_read(name);
            self.or_fail(name, result)?;
        }
        Ok(self
            .slot(name)
            .record
            .pid
            .expect("a started server has a pid"))
    }

    /// One reading of `figure`, in bytes.
    pub fn read_figure(&mut self, name: &str, pid: u32, figure: Figure) -> Result<u64, Skipped> {
        let during = "while its memory was read";
        // A dead child that is not reaped yet still has a /proc entry whose
        // statm reads all zeros: check first, so a crash is never 0 bytes.
        let result = self
            .slot_mut(name)
            .process
            .as_mut()
            .map_or(Ok(()), |p| p.check_alive(during));
        self.or_fail(name, result)?;
        let result = self.sampler.rss_vms(pid).map_err(|err| {
            let process = self.slots.get_mut(name).and_then(|s| s.process.as_mut());
            crash_or(process, err, during)
        });
        let (rss, vms) = self.or_fail(name, result)?;
        Ok(match figure {
            Figure::Rss => rss,
            Figure::Vms => vms,
        })
    }

    /// Ends the memory phase of a server: stops its process, then runs the
    /// remaining rounds, each on a fresh process, alone.
    pub fn finish_memory(&mut self, name: &str) {
        let Some(slot) = self.slots.get(name) else {
            return;
        };
        let burst_done = slot.record.burst.is_some() && !slot.failed;
        self.stop(name);
        if !burst_done {
            return;
        }
        for round in 2..=self.config.rounds {
            let result = self.extra_round(name);
            match self.or_fail(name, result) {
                Ok(record) => {
                    eprintln!(
                        "framework-bench: {name}: round {round} of {} done",
                        self.config.rounds
                    );
                    self.slot_mut(name).record.extra_rounds.push(record);
                }
                Err(Skipped) => return,
            }
        }
    }

    /// Sends `iters` requests to `route` over the configured number of
    /// keep-alive connections and returns the wall time they took. Any
    /// request that is not a 200 with the contract's body fails the server.
    pub fn measure_latency(
        &mut self,
        name: &str,
        route: &Route,
        iters: u64,
    ) -> Result<Duration, Skipped> {
        self.ensure_running(name)?;
        let timeout = self.config.timeout.max(Duration::from_secs(5));
        let slot = self.slot_mut(name);
        let addr = slot.process.as_ref().expect("running").addr();
        let client = match &slot.client {
            Some(client) => Ok(client.clone()),
            None => http_client(Connections::KeepAlive, timeout),
        };
        let client = self.or_fail(name, client)?;
        let plan = latency_plan(route, iters, &self.config);
        let report = self.runtime.block_on(hammer_with(&client, addr, &plan));
        let slot = self.slot_mut(name);
        slot.client = Some(client);
        if report.successes as u64 == iters {
            // Only whole samples count: a route with a histogram is one that
            // Criterion measured in this run. Same bounds on both sides, so
            // adding cannot fail.
            let _ = slot
                .histograms
                .entry(route.name)
                .or_insert_with(crate::hammer::latency_histogram)
                .add(&report.latency);
            return Ok(report.wall_time);
        }
        // Criterion abandons the benchmark: no estimate of this route is
        // written in this run, so none may be read back as if it were.
        slot.histograms.remove(route.name);
        let failed = Error::RequestsFailed {
            server: name.to_owned(),
            failed: iters as usize - report.successes,
            sent: iters as usize,
            path: route.path.to_owned(),
            during: "during the latency benchmark".into(),
            outcomes: report.counter_text(),
        };
        let err = crash_or(
            slot.process.as_mut(),
            failed,
            "during the latency benchmark",
        );
        self.or_fail(name, Err(err))
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
                .cloned()
                .expect("benchmarks are registered for known servers");
            self.slots
                .insert(name.to_owned(), new_slot(spec, self.config.workers));
        }
        let slot = self.slot(name);
        if slot.failed {
            return Err(Skipped);
        }
        if slot.process.is_some() {
            return Ok(());
        }
        let first = slot.record.pid.is_none();
        let result = self.start(name, first);
        self.or_fail(name, result)
    }

    /// Stops the server's running process, if any, reading its memory one
    /// last time and recording how it ended.
    pub fn stop(&mut self, name: &str) {
        let Some(slot) = self.slots.get_mut(name) else {
            return;
        };
        let Some(mut process) = slot.process.take() else {
            return;
        };
        slot.client = None;
        let first = slot.record.pid == Some(process.pid());
        if first && process.check_alive("before it was stopped").is_ok() {
            slot.record.end = self.sampler.snapshot(process.pid()).ok();
        }
        let stop = shut_down(process);
        let record = &mut self.slot_mut(name).record;
        if !stop.clean && record.error.is_none() {
            let message = format!(
                "{name} (pid {}) did not stop cleanly on SIGTERM: {}",
                stop.pid, stop.exit
            );
            eprintln!("framework-bench: {message}");
            record.error = Some(message);
        }
        record.stops.push(stop);
    }

    /// Stops every running server.
    pub fn stop_all(&mut self) {
        let names: Vec<String> = self.slots.keys().cloned().collect();
        for name in names {
            self.stop(&name);
        }
    }

    /// Stops what still runs and returns the run's record.
    pub fn finish(mut self) -> RunRecord {
        self.stop_all();
        self.harness.after = self.sampler.snapshot_self().ok();
        let unix = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let servers = self
            .slots
            .into_values()
            .map(|mut slot| {
                for (route, histogram) in &slot.histograms {
                    slot.record
                        .latency
                        .insert((*route).to_owned(), crate::hammer::summarize(histogram));
                }
                slot.record
            })
            .collect();
        RunRecord {
            schema: RUN_SCHEMA.to_owned(),
            mode: self.mode,
            started_at_unix: unix(self.started_at),
            finished_at_unix: unix(SystemTime::now()),
            config: self.config,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            environment: self.environment,
            harness: self.harness,
            servers,
        }
    }

    /// Where run files go: Criterion's output directory (`CRITERION_HOME`,
    /// else the target directory's `criterion`), under `framework-bench/`.
    pub fn output_dir(&self) -> PathBuf {
        criterion_home(&self.workspace).join("framework-bench")
    }

    fn slot(&self, name: &str) -> &Slot {
        self.slots.get(name).expect("the server has a slot")
    }

    fn slot_mut(&mut self, name: &str) -> &mut Slot {
        self.slots.get_mut(name).expect("the server has a slot")
    }

    fn launch_options(&self) -> LaunchOptions {
        let mut options = LaunchOptions::new(self.workspace.log_dir(), self.config.workers);
        options.ready_timeout = self.config.ready_timeout;
        options
    }

    /// Starts a process; the first of the run also settles and reads memory.
    fn start(&mut self, name: &str, first: bool) -> Result<()> {
        let spec = self.slot(name).spec.clone();
        let built: BuiltServer = self.builder.build(&spec)?;
        let options = self.launch_options();
        let process = ServerProcess::start(&built, &options)?;
        eprintln!(
            "framework-bench: started {name} {} (pid {}, {} workers) in {:.1} ms",
            built.version,
            process.pid(),
            options.workers,
            process.startup_time().as_secs_f64() * 1e3
        );
        let slot = self.slots.get_mut(name).expect("the server has a slot");
        slot.process = Some(process);
        if !first {
            return Ok(());
        }
        slot.record.version = Some(built.version.clone());
        slot.record.command = spec.command_line(&RunValues {
            bin: built.bin.as_deref(),
            port: options.port,
            workers: options.workers,
        });
        let process = slot.process.as_mut().expect("just started");
        slot.record.pid = Some(process.pid());
        slot.record.startup_time = Some(process.startup_time());
        let before = settle_and_read(
            &mut self.sampler,
            process,
            self.config.settle,
            "while it settled",
        )?;
        self.slot_mut(name).record.before = Some(before);
        Ok(())
    }

    /// The seed's burst on the running process, then settle and read.
    fn burst_and_read(&mut self, name: &str) -> Result<()> {
        let slot = self.slots.get_mut(name).expect("started");
        let process = slot.process.as_mut().expect("running");
        let burst = run_burst(&self.runtime, &self.config, process)?;
        slot.record.burst = Some(burst);
        let after = settle_and_read(
            &mut self.sampler,
            process,
            self.config.settle,
            "after the burst",
        )?;
        slot.record.after = Some(after);
        Ok(())
    }

    /// One more round on a fresh process, run alone and stopped at the end.
    fn extra_round(&mut self, name: &str) -> Result<RoundRecord> {
        let spec = self.slot(name).spec.clone();
        let built = self.builder.build(&spec)?;
        let mut process = ServerProcess::start(&built, &self.launch_options())?;
        let settle = self.config.settle;
        let before = settle_and_read(&mut self.sampler, &mut process, settle, "while it settled")?;
        let burst = run_burst(&self.runtime, &self.config, &mut process)?;
        let after = settle_and_read(&mut self.sampler, &mut process, settle, "after the burst")?;
        let round = RoundRecord {
            pid: Some(process.pid()),
            startup_time: Some(process.startup_time()),
            before: Some(before),
            burst: Some(burst),
            after: Some(after),
        };
        let stop = shut_down(process);
        self.slot_mut(name).record.stops.push(stop);
        Ok(round)
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

fn new_slot(spec: ServerSpec, workers: usize) -> Slot {
    Slot {
        record: ServerRecord {
            name: spec.name.clone(),
            description: spec.description.clone(),
            version: None,
            workers,
            command: Vec::new(),
            pid: None,
            startup_time: None,
            before: None,
            burst: None,
            after: None,
            end: None,
            latency: BTreeMap::new(),
            stops: Vec::new(),
            error: None,
            extra_rounds: Vec::new(),
        },
        spec,
        process: None,
        client: None,
        histograms: BTreeMap::new(),
        failed: false,
    }
}

/// Waits `settle` (the seed's pause before reading), then snapshots.
fn settle_and_read(
    sampler: &mut ProcSampler,
    process: &mut ServerProcess,
    settle: Duration,
    during: &str,
) -> Result<MemorySnapshot> {
    std::thread::sleep(settle);
    process.check_alive(during)?;
    sampler
        .snapshot(process.pid())
        .map_err(|err| crash_or(Some(process), err, during))
}

/// The seed's burst against `process`; a crash during it is the error.
fn run_burst(
    runtime: &tokio::runtime::Runtime,
    config: &BenchConfig,
    process: &mut ServerProcess,
) -> Result<BurstRecord> {
    let plan = LoadPlan::burst(config.n_requests, config.timeout);
    let report = runtime.block_on(hammer(process.addr(), &plan))?;
    eprintln!("framework-bench: {}: burst of {report}", process.name());
    process.check_alive("during the burst")?;
    Ok(BurstRecord {
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
    })
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

fn latency_plan(route: &Route, iters: u64, config: &BenchConfig) -> LoadPlan {
    let n_requests = usize::try_from(iters).unwrap_or(usize::MAX);
    let mut plan = LoadPlan::keep_alive(
        n_requests,
        config.concurrency,
        config.timeout.max(Duration::from_secs(5)),
    );
    plan.path = route.path.to_owned();
    plan.expected_body = route.expected_body.to_owned();
    // One failure already fails the server; don't wait out the rest.
    plan.stop_on_failure = true;
    plan
}

/// Criterion's output directory, found the way Criterion finds it.
pub fn criterion_home(workspace: &Workspace) -> PathBuf {
    match std::env::var_os("CRITERION_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace.target_dir.join("criterion"),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// folder, flushed to disk, then renamed over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let err = |source| Error::WriteFile {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Writes the run file and `latest.json` beside it; returns the run file.
pub fn save_run(record: &RunRecord, dir: &Path) -> Result<PathBuf> {
    let json = serde_json::to_vec_pretty(record).expect("run records serialize");
    let path = dir.join(format!("run-{}.json", record.started_at_unix));
    write_atomically(&path, &json)?;
    write_atomically(&dir.join("latest.json"), &json)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_follows_criterions_rule() {
        assert_eq!(
            RunMode::from_args(&["bench", "--bench"]),
            RunMode::Benchmark
        );
        assert_eq!(
            RunMode::from_args(&["bench", "--bench", "axum"]),
            RunMode::Benchmark
        );
        assert_eq!(
            RunMode::from_args(&["bench", "--bench", "--test"]),
            RunMode::Test
        );
        assert_eq!(RunMode::from_args(&["bench"]), RunMode::Test);
        assert_eq!(RunMode::from_args(&["bench", "axum"]), RunMode::Test);
        assert_eq!(
            RunMode::from_args(&["bench", "--bench", "--profile-time", "5"]),
            RunMode::Profile
        );
        assert_eq!(
            RunMode::from_args(&["bench", "--bench", "--profile-time=5"]),
            RunMode::Profile
        );
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("fb-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("latest.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["latest.json"]);
        // A folder in the way is an error that names the path.
        let blocked = dir.join("blocked");
        std::fs::create_dir_all(blocked.join("x")).unwrap();
        let err = write_atomically(&blocked, b"x").unwrap_err().to_string();
        assert!(err.contains("blocked"), "{err}");
    }

    #[test]
    fn latency_plans_reuse_connections() {
        let config = BenchConfig {
            concurrency: 2,
            ..BenchConfig::default()
        };
        let plan = latency_plan(&ROUTES[1], 10, &config);
        assert_eq!(plan.connections, Connections::KeepAlive);
        assert_eq!((plan.n_requests, plan.concurrency), (10, 2));
        assert_eq!(plan.path, "/json");
    }
}
