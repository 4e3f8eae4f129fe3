//! The library's typed errors. Each names the server (or file) it is about, so
//! a message on its own tells the user what broke and where to look.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Everything that can go wrong in the harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot serialize {path}: {source}")]
    Serialize {
        path: PathBuf,
        source: serde_json::Error,
    },

    #[error("{path} is not a {expected} file this version can read: {message}")]
    BadRunFile {
        path: PathBuf,
        expected: &'static str,
        message: String,
    },

    #[error("no run recorded yet at {path}: run `cargo bench` first")]
    NoLatestRun { path: PathBuf },

    #[error(
        "the latest run at {path} was a {mode} run; run a full `cargo bench`, then this command"
    )]
    LatestRunNotFull { path: PathBuf, mode: String },

    #[error("cannot draw the chart `{title}`: {message}")]
    Chart { title: String, message: String },

    #[error("invalid server manifest {path}: {message}")]
    InvalidManifest { path: PathBuf, message: String },

    #[error("no server manifests (*/server.toml) under {0}")]
    NoManifests(PathBuf),

    #[error("two servers are named `{name}`: {first} and {second}")]
    DuplicateServer {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },

    #[error("cannot resolve the version of {server}: {message}")]
    Version { server: String, message: String },

    #[error("{server}: build failed ({command}):\n{output}")]
    Build {
        server: String,
        command: String,
        output: String,
    },

    #[error("{server}: cannot run `{command}`: {source}")]
    RunCommand {
        server: String,
        command: String,
        source: std::io::Error,
    },

    #[error("{server}: program `{program}` not found (was it built?)")]
    ProgramMissing { server: String, program: PathBuf },

    #[error("{server}: instructions not counted: {message}")]
    Callgrind { server: String, message: String },

    #[error("{server}: cannot start `{program}`: {source}")]
    Spawn {
        server: String,
        program: PathBuf,
        source: std::io::Error,
    },

    #[error("{server} exited before it was ready ({status}); log {log}:\n{tail}")]
    ExitedBeforeReady {
        server: String,
        status: String,
        log: PathBuf,
        tail: String,
    },

    #[error("{server} was not ready within {timeout:?}: {waiting_for}; log {log}:\n{tail}")]
    NotReady {
        server: String,
        timeout: Duration,
        waiting_for: String,
        log: PathBuf,
        tail: String,
    },

    #[error("{server} printed `{line}` instead of the ready line `listening on 127.0.0.1:PORT`")]
    BadReadyLine { server: String, line: String },

    #[error("{server} listens on {addr}, beyond loopback; the harness only runs loopback servers")]
    NotLoopback {
        server: String,
        addr: std::net::SocketAddr,
    },

    #[error(
        "{server} does not listen on port {port}, which the harness picked for it: another process took the port and answered"
    )]
    PortTaken { server: String, port: u16 },

    #[error(
        "FRAMEWORK_BENCH_SERVERS names `{word}`, which is no server or group; the servers are {servers}; the groups are {groups}"
    )]
    UnknownServer {
        word: String,
        servers: String,
        groups: String,
    },

    #[error("cannot start the client-ceiling responder: {0}")]
    Responder(#[source] std::io::Error),

    #[error("the load client only sends to loopback addresses, not {addr}")]
    LoadBeyondLoopback { addr: std::net::SocketAddr },

    #[error("{server} crashed ({status}) {during}; log {log}:\n{tail}")]
    Crashed {
        server: String,
        status: String,
        during: String,
        log: PathBuf,
        tail: String,
    },

    #[error("{server} did not exit within {timeout:?} of SIGTERM and was killed; log {log}")]
    StopTimeout {
        server: String,
        timeout: Duration,
        log: PathBuf,
    },

    #[error("cannot read {path} for pid {pid}: {source}")]
    ReadProc {
        pid: u32,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot parse {path} for pid {pid}: {message}")]
    ParseProc {
        pid: u32,
        path: PathBuf,
        message: String,
    },

    #[error("{server} has no running process")]
    NotRunning { server: String },

    #[error("{server}: the harness panicked while measuring it: {message}")]
    HarnessPanic { server: String, message: String },

    #[error("invalid benchmark filter `{pattern}`: {message}")]
    Filter { pattern: String, message: String },

    #[error("process {pid} is gone")]
    ProcessGone { pid: u32 },

    #[error(
        "the burst needs {needed} open files but the hard limit is {hard}; \
         raise it (e.g. `ulimit -Hn {needed}` as root) or lower the request count"
    )]
    OpenFilesLimit { needed: u64, hard: u64 },

    #[error("cannot change the open-files limit: {0}")]
    Rlimit(#[source] std::io::Error),

    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),

    #[error("{server} failed {failed} of {sent} requests to {path} {during}: {outcomes}")]
    RequestsFailed {
        server: String,
        failed: usize,
        sent: usize,
        path: String,
        during: String,
        outcomes: String,
    },

    #[error("no baseline `{name}` at {path}")]
    UnknownBaseline { name: String, path: PathBuf },

    #[error("{path} is not a framework-bench baseline this version can read: {message}")]
    BadBaseline { path: PathBuf, message: String },

    #[error("invalid value {value:?} for {name}: {allowed}")]
    InvalidSetting {
        name: String,
        value: String,
        allowed: String,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `exit status: 0`, `signal 9 (SIGKILL)`, as a short readable string.
pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => {
            let name = nix::sys::signal::Signal::try_from(signal)
                .map(|s| s.as_str())
                .unwrap_or("unknown");
            format!("killed by signal {signal} ({name})")
        }
        (None, None) => status.to_string(),
    }
}
