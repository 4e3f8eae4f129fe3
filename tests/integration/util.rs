//! Fixtures: the workspace, servers built once per test run, plain HTTP,
//! and checks that processes are gone.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use framework_bench::load::client::LoadClient;
use framework_bench::load::hammer::{HammerReport, LoadPlan};
use framework_bench::server::build::build_servers;
use framework_bench::server::built::BuiltServer;
use framework_bench::server::manifest::ServerSpec;
use framework_bench::server::process::LaunchOptions;
use framework_bench::workspace::Workspace;

/// The five frameworks, and tide's TCP_NODELAY variant.
pub const FRAMEWORKS: [&str; 6] = [
    "axum",
    "actix-web",
    "warp",
    "rocket",
    "tide",
    "tide-nodelay",
];

/// The seed's five, each on its own built-in server (`group = "python"`).
pub const PYTHON_FRAMEWORKS: [&str; 5] = ["bottle", "cherrypy", "flask", "tornado", "web.py"];

pub fn workspace() -> Workspace {
    Workspace::at(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures_dir() -> PathBuf {
    workspace().root.join("tests").join("fixtures")
}

/// Every built-in and fixture server, built once per test run.
pub fn built(name: &str) -> BuiltServer {
    static BUILT: OnceLock<Vec<BuiltServer>> = OnceLock::new();
    let all = BUILT.get_or_init(|| {
        let workspace = workspace();
        let mut specs = ServerSpec::load_dir(&workspace.servers_dir()).expect("built-in manifests");
        specs.extend(ServerSpec::load_dir(&fixtures_dir()).expect("fixture manifests"));
        build_servers(&workspace, &specs)
            .into_iter()
            .map(|built| built.unwrap_or_else(|err| panic!("{err}")))
            .collect()
    });
    all.iter()
        .find(|server| server.spec.name == name)
        .unwrap_or_else(|| panic!("no server named {name}"))
        .clone()
}

/// Launch options with a log directory of their own, so that tests running
/// in parallel never truncate each other's server logs.
pub fn options(workers: usize) -> LaunchOptions {
    LaunchOptions::new(test_log_dir(), workers)
}

/// A log directory no other test of this launch uses.
pub fn test_log_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = format!("{}-{n}", std::process::id());
    workspace().log_dir().join("tests").join(dir)
}

/// The plan through the suite's load client, on two unpinned threads.
pub fn run_hammer(addr: SocketAddr, plan: &LoadPlan) -> HammerReport {
    LoadClient::unpinned(2).run(addr, plan).unwrap()
}

/// A parsed HTTP/1.1 response.
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// `GET path` with `Connection: close`, read to the end.
pub fn http_get(addr: SocketAddr, path: &str) -> HttpResponse {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let rest = &raw[split + 4..];
    // web.py answers chunked: take the framing off.
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// A whole chunked body, framing removed; panics on a malformed one.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size = std::str::from_utf8(&rest[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// True while `/proc/PID` exists (a zombie counts: it is not reaped yet).
pub fn pid_exists(pid: u32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
}

/// True while any process is left in process group `pgid`.
pub fn group_exists(pgid: u32) -> bool {
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid as i32), None).is_ok()
}

/// How many live (not zombie) processes are in process group `pgid`.
pub fn group_size(pgid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| live_member_of(stat, pgid))
        .count()
}

/// `/proc/PID/stat` is `pid (comm) state ppid pgrp ...`; comm may hold
/// spaces and parentheses, so fields are counted after the last `)`.
fn live_member_of(stat: &str, pgid: u32) -> bool {
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let mut fields = stat[close + 1..].split_whitespace();
    let state = fields.next();
    let pgrp = fields.nth(1).and_then(|f| f.parse::<u32>().ok());
    state != Some("Z") && pgrp == Some(pgid)
}

/// Asserts that nothing of a server started with pid `pid` is left.
pub fn assert_gone(pid: u32) {
    assert!(!pid_exists(pid), "process {pid} is still there");
    assert!(!group_exists(pid), "process group {pid} still has members");
}

/// Waits up to `deadline` for `check` to hold.
pub fn eventually(deadline: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    check()
}

/// Runs a command that must end by itself; kills it and fails if it hangs.
/// Its output is read while it runs, so a full pipe never blocks it.
pub fn run_with_deadline(command: &mut Command, deadline: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = read_all_in_background(child.stdout.take().unwrap());
    let stderr = read_all_in_background(child.stderr.take().unwrap());
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still ran after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn read_all_in_background(
    mut pipe: impl std::io::Read + Send + 'static,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}
