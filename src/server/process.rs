//! The guard around a running server process.
//!
//! A [`ServerProcess`] owns the child from spawn to reap: the child runs in
//! its own process group (Ctrl-C in the terminal reaches only the harness),
//! dies with the harness on Linux (`PR_SET_PDEATHSIG`), writes everything but
//! its ready line to a log file, and is stopped with SIGTERM, then SIGKILL
//! after a deadline. `Drop` kills and reaps whatever is still running.
//!
//! The group is always killed before the child is reaped: until then the
//! child's pid, which names the group, cannot be reused. And because a
//! Ctrl-C (or SIGTERM, SIGHUP) would end the harness without running any
//! `Drop`, and `PR_SET_PDEATHSIG` reaches only the direct child, the first
//! start installs a handler that kills every live server group and then
//! lets the signal end the harness as it would have.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::conditions::CpuList;
use crate::error::{Error, Result, describe_status};
use crate::load::RequestSpec;
use crate::measure::heap::{COUNTERS_ENV, HeapCounters};
use crate::server::built::BuiltServer;
use crate::server::child::die_with_parent;
use crate::server::manifest::{Readiness, RunValues};

/// The ready line's prefix; the rest is `127.0.0.1:PORT`.
pub const READY_PREFIX: &str = "listening on ";

pub use crate::load::route::PROBE_PATH;

/// How often the harness looks again while it waits for a child.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// How many ports a server that is given one is tried on before its start
/// fails.
const PORT_ATTEMPTS: usize = 3;

/// How many lines of a server's log an error quotes.
const LOG_TAIL_LINES: usize = 15;

/// How a server is started and stopped.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The port to ask for; 0 lets the server pick a free one.
    pub port: u16,
    /// Worker threads to ask for (`{workers}` in the manifest).
    pub workers: usize,
    /// Where `<server>.log` is written.
    pub log_dir: PathBuf,
    /// Deadline for the ready line (or the server's own start line), and
    /// again for the expected answer to its first request.
    pub ready_timeout: Duration,
    /// Deadline between SIGTERM and SIGKILL.
    pub stop_timeout: Duration,
    /// `--backlog N` for the server; `None` keeps its own default.
    pub backlog: Option<u32>,
    /// The CPUs the server, and everything it starts, may run on; `None`
    /// leaves it unpinned.
    pub cpus: Option<CpuList>,
    /// Start the server with address-space randomisation off (what
    /// `setarch -R` does), so that every launch lays out its heap and
    /// stacks the same way.
    pub no_aslr: bool,
    /// Count the server's heap: the launcher then builds the counting
    /// library (once) and sets `heap_library`.
    pub count_heap: bool,
    /// The preload library that counts the server's heap
    /// (`tools/alloc-count`); `None` counts nothing. A Python server then
    /// runs with `PYTHONMALLOC=malloc`, so that its objects go through it.
    pub heap_library: Option<PathBuf>,
    /// Run the server under valgrind's callgrind, its dumps in this folder
    /// (see `run::callgrind`).
    pub callgrind_dir: Option<PathBuf>,
}

impl LaunchOptions {
    pub fn new(log_dir: impl Into<PathBuf>, workers: usize) -> LaunchOptions {
        LaunchOptions {
            port: 0,
            workers,
            log_dir: log_dir.into(),
            ready_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(3),
            backlog: None,
            cpus: None,
            no_aslr: false,
            count_heap: false,
            heap_library: None,
            callgrind_dir: None,
        }
    }
}

/// How a server ended after [`ServerProcess::shutdown`].
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    pub status: ExitStatus,
    /// It stopped as it should: exit 0, as the contract asks, or, for a
    /// server that does not follow the contract (no ready line of ours),
    /// the SIGTERM's default action, which is how most servers stop.
    pub clean: bool,
    /// From SIGTERM to exit.
    pub stop_time: Duration,
}

/// What the stdout reader thread reports.
enum StdoutEvent {
    Line(String),
    Eof,
}

/// A running server; see the module docs.
pub struct ServerProcess {
    name: String,
    child: Option<Child>,
    pid: u32,
    /// From the ready line; port 0 only inside [`ServerProcess::start`],
    /// which returns no process until the ready line has given it.
    addr: SocketAddr,
    log_path: PathBuf,
    startup_time: Duration,
    stop_timeout: Duration,
    stdout_events: Receiver<StdoutEvent>,
    /// The page its heap is counted into, when it is.
    heap: Option<Arc<HeapCounters>>,
    /// Whether dying of SIGTERM is a clean stop (see [`Stopped::clean`]).
    sigterm_ends_it: bool,
}

impl ServerProcess {
    /// Spawns the server, waits until it says it is ready (see
    /// [`Readiness`]), then until its first request (the contract's `GET
    /// /hello/World`) is answered with the expected status. Any failure
    /// kills and reaps the child before it returns.
    pub fn start(server: &BuiltServer, options: &LaunchOptions) -> Result<ServerProcess> {
        let picks_port = !server.spec.ready.is_contract() && options.port == 0;
        if !picks_port {
            return ServerProcess::start_on(server, options, options.port);
        }
        // A server that prints no ready line is given a port the harness
        // picked, so that the harness knows where to look. Another process
        // may take it first: then the server fails to bind it, or another
        // server answers on it, and the start is tried again on another.
        let mut attempt = 1;
        loop {
            let port = free_port().map_err(|source| Error::Spawn {
                server: server.spec.name.clone(),
                program: PathBuf::from("(a free loopback port)"),
                source,
            })?;
            match ServerProcess::start_on(server, options, port) {
                Err(Error::ExitedBeforeReady { .. } | Error::PortTaken { .. })
                    if attempt < PORT_ATTEMPTS =>
                {
                    attempt += 1;
                }
                started => return started,
            }
        }
    }

    /// [`ServerProcess::start`] with `port` in `{port}`.
    fn start_on(server: &BuiltServer, options: &LaunchOptions, port: u16) -> Result<ServerProcess> {
        let name = server.spec.name.clone();
        let ready = &server.spec.ready;
        let argv = server.spec.command_line(&RunValues {
            bin: server.bin.as_deref(),
            python: server.python.as_deref(),
            port,
            workers: options.workers,
            backlog: options.backlog,
        });
        let argv = match &options.callgrind_dir {
            Some(dir) => callgrind_argv(&argv, dir),
            None => argv,
        };
        let program = PathBuf::from(&argv[0]);
        if program.components().count() > 1 && !program.is_file() {
            return Err(Error::ProgramMissing {
                server: name,
                program,
            });
        }
        let log_path = options.log_dir.join(format!("{name}.log"));
        let log = create_log(&log_path)?;
        let log_copy = || {
            log.try_clone().map_err(|source| Error::WriteFile {
                path: log_path.clone(),
                source,
            })
        };
        let wanted_line = match ready {
            Readiness::LineContains(text) => Some(text.replace("{port}", &port.to_string())),
            Readiness::ContractLine | Readiness::Probe => None,
        };
        let stderr = match wanted_line {
            Some(_) => Stdio::piped(),
            None => Stdio::from(log_copy()?),
        };
        let mut command = Command::new(&program);
        command
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0);
        die_with_parent(&mut command);
        if let Some(cpus) = &options.cpus {
            pin_child(&mut command, cpus);
        }
        if options.no_aslr {
            no_address_randomisation(&mut command);
        }
        let heap = match &options.heap_library {
            Some(library) => {
                let page = options.log_dir.join(format!("{name}.heap"));
                let counters = HeapCounters::create(&page)?;
                count_heap(&mut command, library, &counters);
                Some(Arc::new(counters))
            }
            None => None,
        };
        kill_servers_on_termination_signals();

        let spawned_at = Instant::now();
        let mut child = command.spawn().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => Error::ProgramMissing {
                server: name.clone(),
                program: program.clone(),
            },
            _ => Error::Spawn {
                server: name.clone(),
                program: program.clone(),
                source,
            },
        })?;
        register_group(child.id());
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, events) = mpsc::channel();
        spawn_line_reader(stdout, log_copy()?, wanted_line.clone(), sender.clone());
        if let Some(stderr) = child.stderr.take() {
            spawn_line_reader(stderr, log_copy()?, wanted_line.clone(), sender);
        }
        let mut process = ServerProcess {
            name,
            pid: child.id(),
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_path,
            startup_time: Duration::ZERO,
            stop_timeout: options.stop_timeout,
            stdout_events: events,
            heap,
            sigterm_ends_it: !ready.is_contract(),
        };
        let here = SocketAddr::from(([127, 0, 0, 1], port));
        let addr = match (ready, wanted_line) {
            (Readiness::ContractLine, _) => process.wait_for_ready_line(options.ready_timeout)?,
            (_, Some(text)) => {
                process.wait_for_line_with(&text, options.ready_timeout)?;
                here
            }
            (_, None) => here,
        };
        process.addr = addr;
        let first = server.spec.requests.first();
        process.wait_for_first_answer(addr, first, options.ready_timeout)?;
        process.startup_time = spawned_at.elapsed();
        process.check_loopback_only()?;
        if !ready.is_contract() {
            process.check_listens_on(here)?;
        }
        Ok(process)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The address from the ready line.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// From spawn to the expected answer to its first request.
    pub fn startup_time(&self) -> Duration {
        self.startup_time
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The page its heap is counted into, when it is.
    pub fn heap(&self) -> Option<Arc<HeapCounters>> {
        self.heap.clone()
    }

    /// Errors with [`Error::Crashed`] if the server has exited; `during`
    /// says when, e.g. "during the burst".
    pub fn check_alive(&mut self, during: &str) -> Result<()> {
        match self.try_wait() {
            Some(status) => Err(Error::Crashed {
                server: self.name.clone(),
                status: describe_status(status),
                during: during.to_owned(),
                log: self.log_path.clone(),
                tail: log_tail(&self.log_path),
            }),
            None => Ok(()),
        }
    }

    /// SIGTERM to the server's process group, a wait of up to the stop
    /// timeout, then SIGKILL. The child is always reaped.
    pub fn shutdown(mut self) -> Result<Stopped> {
        let sent_at = Instant::now();
        if self.try_wait().is_none() {
            signal_group(self.pid, Signal::SIGTERM);
        }
        let deadline = sent_at + self.stop_timeout;
        while self.try_wait().is_none() {
            if Instant::now() >= deadline {
                self.kill_and_reap();
                return Err(self.stop_timeout_error());
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        let stop_time = sent_at.elapsed();
        // Anything the server left in its group goes too.
        match self.kill_and_reap() {
            Some(status) => Ok(Stopped {
                clean: status.success()
                    || (self.sigterm_ends_it && status.signal() == Some(Signal::SIGTERM as i32)),
                status,
                stop_time,
            }),
            None => Err(Error::Crashed {
                server: self.name.clone(),
                status: "exit status unknown (could not be reaped)".into(),
                during: "while it was stopped".into(),
                log: self.log_path.clone(),
                tail: log_tail(&self.log_path),
            }),
        }
    }

    /// SIGKILL to the group while the child is not reaped yet, then reap.
    fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        signal_group(self.pid, Signal::SIGKILL);
        let _ = child.kill();
        let status = child.wait().ok();
        forget_group(self.pid);
        status
    }

    fn stop_timeout_error(&self) -> Error {
        Error::StopTimeout {
            server: self.name.clone(),
            timeout: self.stop_timeout,
            log: self.log_path.clone(),
        }
    }

    /// The contract: a server listens on loopback only.
    fn check_loopback_only(&self) -> Result<()> {
        if !cfg!(target_os = "linux") {
            return Ok(());
        }
        let addrs = crate::server::sockets::listening_addrs(self.pid)?;
        match addrs.into_iter().find(|addr| !addr.ip().is_loopback()) {
            Some(addr) => Err(Error::NotLoopback {
                server: self.name.clone(),
                addr,
            }),
            None => Ok(()),
        }
    }

    /// The answer to the readiness probe came from this server: it listens
    /// on the port it was given.
    fn check_listens_on(&self, addr: SocketAddr) -> Result<()> {
        if !cfg!(target_os = "linux") {
            return Ok(());
        }
        let addrs = crate::server::sockets::listening_addrs(self.pid)?;
        match addrs.iter().any(|a| a.port() == addr.port()) {
            true => Ok(()),
            false => Err(Error::PortTaken {
                server: self.name.clone(),
                port: addr.port(),
            }),
        }
    }

    /// The child's exit status once it has exited, without reaping it (see
    /// the module docs); `None` while it runs.
    fn try_wait(&mut self) -> Option<ExitStatus> {
        peek_exit(self.child.as_mut()?)
    }

    fn wait_for_ready_line(&mut self, timeout: Duration) -> Result<SocketAddr> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.stdout_events.recv_timeout(POLL_INTERVAL) {
                Ok(StdoutEvent::Line(line)) => return self.parse_ready_line(&line),
                Ok(StdoutEvent::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.exited_before_ready());
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if self.try_wait().is_some() {
                return Err(self.exited_before_ready());
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(timeout, "the ready line on stdout".into()));
            }
        }
    }

    fn parse_ready_line(&self, line: &str) -> Result<SocketAddr> {
        let bad = || Error::BadReadyLine {
            server: self.name.clone(),
            line: line.to_owned(),
        };
        let addr: SocketAddr = line
            .trim_end()
            .strip_prefix(READY_PREFIX)
            .ok_or_else(bad)?
            .parse()
            .map_err(|_| bad())?;
        // The contract: loopback only, and a real port.
        if !addr.ip().is_loopback() || addr.port() == 0 {
            return Err(bad());
        }
        Ok(addr)
    }

    /// Waits for a line holding `text` on stdout or stderr.
    fn wait_for_line_with(&mut self, text: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.stdout_events.recv_timeout(POLL_INTERVAL) {
                Ok(StdoutEvent::Line(_)) => return Ok(()),
                // The other stream may still bring it; exiting is seen below.
                Ok(StdoutEvent::Eof) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL_INTERVAL),
            }
            if self.try_wait().is_some() {
                return Err(self.exited_before_ready());
            }
            if Instant::now() >= deadline {
                let waiting_for = format!("a line holding `{text}` on stdout or stderr");
                return Err(self.not_ready(timeout, waiting_for));
            }
        }
    }

    /// Sends the first request, on a fresh connection each time, until it
    /// is answered with the status it expects (its body is the load's to
    /// check: a wrong one is a failure the burst names).
    fn wait_for_first_answer(
        &mut self,
        addr: SocketAddr,
        request: &RequestSpec,
        timeout: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no answer yet");
        let expected = request.expect.status;
        let bytes = request.bytes(addr);
        loop {
            if self.try_wait().is_some() {
                return Err(self.exited_before_ready());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let waiting_for =
                    format!("a {expected} from {} (last: {last})", request.describe());
                return Err(self.not_ready(timeout, waiting_for));
            }
            match probe_bytes(addr, &bytes, left.min(Duration::from_secs(1))) {
                Ok(status) if status == expected => return Ok(()),
                Ok(status) => last = format!("answered {status}"),
                Err(err) => last = err.to_string(),
            }
            std::thread::sleep(POLL_INTERVAL.min(left));
        }
    }

    fn exited_before_ready(&mut self) -> Error {
        // The child may still be closing; give it a moment to be reaped.
        let deadline = Instant::now() + Duration::from_secs(1);
        let status = loop {
            match self.try_wait() {
                Some(status) => break describe_status(status),
                None if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
                None => break "closed stdout, still running".to_owned(),
            }
        };
        self.drain_stdout(deadline);
        Error::ExitedBeforeReady {
            server: self.name.clone(),
            status,
            log: self.log_path.clone(),
            tail: log_tail(&self.log_path),
        }
    }

    fn not_ready(&mut self, timeout: Duration, waiting_for: String) -> Error {
        Error::NotReady {
            server: self.name.clone(),
            timeout,
            waiting_for,
            log: self.log_path.clone(),
            tail: log_tail(&self.log_path),
        }
    }

    /// Lets the reader thread copy what is left of stdout into the log.
    fn drain_stdout(&self, deadline: Instant) {
        while let Ok(event) = self
            .stdout_events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if matches!(event, StdoutEvent::Eof) {
                break;
            }
        }
    }
}

/// The command line that runs `argv` under callgrind, with instrumentation
/// off until the harness turns it on, its dumps in `dir`.
pub fn callgrind_argv(argv: &[String], dir: &Path) -> Vec<String> {
    let out = dir.join("callgrind.%p");
    let mut wrapped = vec![
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        "--instr-atstart=no".to_owned(),
        format!("--callgrind-out-file={}", out.display()),
    ];
    wrapped.extend(argv.iter().cloned());
    wrapped
}

/// Loads the counting library into the server (ahead of any preload it
/// already has) and names its page; Python allocates through `malloc` then,
/// not its own pools, so that its objects are counted too.
fn count_heap(command: &mut Command, library: &Path, counters: &HeapCounters) {
    let mut preload = library.as_os_str().to_owned();
    if let Some(existing) = std::env::var_os("LD_PRELOAD").filter(|p| !p.is_empty()) {
        preload.push(" ");
        preload.push(existing);
    }
    command
        .env("LD_PRELOAD", preload)
        .env(COUNTERS_ENV, counters.path())
        .env("PYTHONMALLOC", "malloc");
}

impl Drop for ServerProcess {
    /// Best effort, never panics: kill the group, then reap the child.
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// Process groups of the servers running now: what a signal handler kills.
static LIVE_GROUPS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

fn register_group(pid: u32) {
    live_groups().insert(pid);
}

fn forget_group(pid: u32) {
    live_groups().remove(&pid);
}

fn live_groups() -> std::sync::MutexGuard<'static, BTreeSet<u32>> {
    LIVE_GROUPS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Once per harness process: on SIGINT, SIGTERM or SIGHUP, SIGKILL every
/// live server group, then end the harness the way the signal would have.
/// Best effort: if the handler cannot be installed, `PR_SET_PDEATHSIG`
/// still takes the direct children along.
fn kill_servers_on_termination_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("framework-bench-signals".into())
            .spawn(move || {
                let Some(signal) = signals.forever().next() else {
                    return;
                };
                // Held until the end: no server starts after this.
                let groups = live_groups();
                for &pid in groups.iter() {
                    signal_group(pid, Signal::SIGKILL);
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            });
    });
}

/// The exit status of `child` if it has exited, leaving it unreaped.
#[cfg(target_os = "linux")]
fn peek_exit(child: &mut Child) -> Option<ExitStatus> {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    use std::os::unix::process::ExitStatusExt;
    let pid = Pid::from_raw(i32::try_from(child.id()).ok()?);
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    match waitid(Id::Pid(pid), flags) {
        Ok(WaitStatus::Exited(_, code)) => Some(ExitStatus::from_raw((code & 0xff) << 8)),
        Ok(WaitStatus::Signaled(_, signal, core)) => Some(ExitStatus::from_raw(
            signal as i32 | if core { 0x80 } else { 0 },
        )),
        Ok(_) => None,
        // Already reaped (not by us): std still knows the status.
        Err(_) => child.try_wait().ok().flatten(),
    }
}

#[cfg(not(target_os = "linux"))]
fn peek_exit(child: &mut Child) -> Option<ExitStatus> {
    child.try_wait().ok().flatten()
}

fn signal_group(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        // ESRCH (already gone) is fine.
        let _ = killpg(Pid::from_raw(pid), signal);
    }
}

/// Pins the child, and so every thread and process it starts, to `cpus`,
/// before it runs a line of its own code.
fn pin_child(command: &mut Command, cpus: &CpuList) {
    #[cfg(target_os = "linux")]
    {
        let set = crate::conditions::cpu_set(cpus);
        // SAFETY: sched_setaffinity is a plain system call; `set` was built
        // before the fork and is only read.
        unsafe {
            command.pre_exec(move || {
                let size = std::mem::size_of::<libc::cpu_set_t>();
                if libc::sched_setaffinity(0, size, &set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (command, cpus);
}

/// Turns address-space randomisation off for the child and what it
/// starts (`personality(ADDR_NO_RANDOMIZE)`, kept across exec).
fn no_address_randomisation(command: &mut Command) {
    #[cfg(target_os = "linux")]
    // SAFETY: personality is a plain system call with no pointer argument.
    unsafe {
        command.pre_exec(|| {
            // 0xffffffff reads the current persona without changing it.
            let current = libc::personality(0xffff_ffff);
            if current == -1
                || libc::personality(
                    (current as libc::c_ulong) | libc::ADDR_NO_RANDOMIZE as libc::c_ulong,
                ) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

fn create_log(path: &Path) -> Result<File> {
    let write_err = |source| Error::WriteFile {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    File::options()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(write_err)
}

/// Reads one of the child's output streams on a thread of its own, so
/// that the child never blocks on a full pipe. Without `wanted`, the first
/// line is the event (the contract's ready line) and the rest is copied to
/// the log; with it, every line is copied and the first that holds
/// `wanted` is also the event. Either way one event at most, then `Eof`:
/// a server that logs every request never fills the channel.
fn spawn_line_reader(
    stream: impl Read + Send + 'static,
    mut log: File,
    wanted: Option<String>,
    tx: mpsc::Sender<StdoutEvent>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        // Bytes, not text: a line that is not UTF-8 must not stop the
        // copying, or the server's next write would find the pipe closed.
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line);
            let found = wanted.as_deref().is_none_or(|wanted| text.contains(wanted));
            if found {
                let _ = tx.send(StdoutEvent::Line(text.into_owned()));
                if wanted.is_some() {
                    let _ = log.write_all(&line);
                }
                // One event at most: the rest goes to the log as it comes.
                let _ = std::io::copy(&mut reader, &mut log);
                break;
            }
            let _ = log.write_all(&line);
            line.clear();
        }
        let _ = log.flush();
        let _ = tx.send(StdoutEvent::Eof);
    });
}

/// A loopback port free a moment ago, for a server that cannot pick its
/// own and say which. Another process could take it before the server
/// binds it: the server then exits with its own error, named as such.
fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// The last lines of a log file, indented, or a note that it is empty.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return "    (the log is empty)".to_owned();
    }
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..]
        .iter()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One `GET path` on a fresh connection; the response's status code.
pub fn probe_status(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<u16> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    probe_bytes(addr, request.as_bytes(), timeout)
}

/// One request, as bytes, on a fresh connection; the response's status
/// code. The connection is closed once the status line is read.
fn probe_bytes(addr: SocketAddr, request: &[u8], timeout: Duration) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(request)?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line)?;
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP status line: {:?}", status_line.trim_end()),
            )
        })
}

/// Raises the open-files soft limit to at least `needed` (children inherit
/// it). Returns the new soft limit, or an error naming what is needed.
pub fn ensure_open_files(needed: u64) -> Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| Error::Rlimit(e.into()))?;
    if soft >= needed {
        return Ok(soft);
    }
    if hard < needed {
        return Err(Error::OpenFilesLimit { needed, hard });
    }
    setrlimit(Resource::RLIMIT_NOFILE, needed, hard).map_err(|e| Error::Rlimit(e.into()))?;
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callgrind_wraps_the_command_line_with_instrumentation_off_at_start() {
        let argv = vec![
            "/bin/server".to_owned(),
            "--port".to_owned(),
            "0".to_owned(),
        ];
        let wrapped = callgrind_argv(&argv, Path::new("/tmp/x"));
        assert_eq!(wrapped[0], "valgrind");
        assert!(wrapped.contains(&"--instr-atstart=no".to_owned()));
        assert!(wrapped.contains(&"--callgrind-out-file=/tmp/x/callgrind.%p".to_owned()));
        assert_eq!(&wrapped[4..], &argv[..]);
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let path = std::env::temp_dir().join(format!("fb-tail-{}.log", std::process::id()));
        let text: String = (1..=40).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let tail = log_tail(&path);
        assert_eq!(tail.lines().count(), LOG_TAIL_LINES);
        assert!(tail.ends_with("    line 40"));
        assert!(!tail.contains("line 25\n"));
        std::fs::write(&path, "").unwrap();
        assert!(log_tail(&path).contains("empty"));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn open_files_limit_is_raised_or_explained() {
        use nix::sys::resource::{Resource, getrlimit};
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let wanted = hard.min(2048);
        assert!(ensure_open_files(wanted).unwrap() >= wanted);
        if hard < u64::MAX {
            let err = ensure_open_files(hard + 1).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("needs {} open files", hard + 1))
            );
        }
    }
}
