//! Every built-in server meets the contract of `servers/README.md`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use framework_bench::measure::memory::{ProcSampler, Sampler};
use framework_bench::server::process::ServerProcess;
use framework_bench::server::sockets::listening_addrs;

use framework_bench::server::manifest::RunValues;

use crate::util::{
    FRAMEWORKS, PYTHON_FRAMEWORKS, assert_gone, built, http_get, options, run_with_deadline,
};

macro_rules! per_server {
    ($check:ident: $($test:ident => $server:literal),* $(,)?) => {
        $( #[test] fn $test() { $check($server) } )*
    };
}

per_server!(serves_the_contract:
    axum_serves_the_contract => "axum",
    actix_web_serves_the_contract => "actix-web",
    warp_serves_the_contract => "warp",
    rocket_serves_the_contract => "rocket",
    tide_serves_the_contract => "tide",
    tide_nodelay_serves_the_contract => "tide-nodelay",
    bottle_serves_the_contract => "bottle",
    cherrypy_serves_the_contract => "cherrypy",
    flask_serves_the_contract => "flask",
    tornado_serves_the_contract => "tornado",
    web_py_serves_the_contract => "web.py",
);

per_server!(workers_flag_sets_the_worker_count:
    axum_workers_flag => "axum",
    actix_web_workers_flag => "actix-web",
    warp_workers_flag => "warp",
    rocket_workers_flag => "rocket",
    tide_workers_flag => "tide",
);

per_server!(backlog_flag_sets_the_listen_backlog:
    axum_backlog_flag => "axum",
    actix_web_backlog_flag => "actix-web",
    warp_backlog_flag => "warp",
    rocket_backlog_flag => "rocket",
    tide_backlog_flag => "tide",
    tide_nodelay_backlog_flag => "tide-nodelay",
    bottle_backlog_flag => "bottle",
    cherrypy_backlog_flag => "cherrypy",
    flask_backlog_flag => "flask",
    tornado_backlog_flag => "tornado",
    web_py_backlog_flag => "web.py",
);

per_server!(rejects_bad_arguments:
    axum_rejects_bad_arguments => "axum",
    actix_web_rejects_bad_arguments => "actix-web",
    warp_rejects_bad_arguments => "warp",
    rocket_rejects_bad_arguments => "rocket",
    tide_rejects_bad_arguments => "tide",
    bottle_rejects_bad_arguments => "bottle",
    cherrypy_rejects_bad_arguments => "cherrypy",
    flask_rejects_bad_arguments => "flask",
    tornado_rejects_bad_arguments => "tornado",
    web_py_rejects_bad_arguments => "web.py",
);

per_server!(workers_flag_sets_the_pool_size:
    cherrypy_workers_flag => "cherrypy",
    web_py_workers_flag => "web.py",
);

per_server!(workers_flag_is_ignored_by_a_one_thread_server:
    bottle_workers_flag_is_ignored => "bottle",
    flask_workers_flag_is_ignored => "flask",
    tornado_workers_flag_is_ignored => "tornado",
);

fn serves_the_contract(name: &str) {
    // The contract's 2 s: past it the harness turns to SIGKILL and errors.
    let mut launch = options(1);
    launch.stop_timeout = Duration::from_secs(2);
    let server = ServerProcess::start(&built(name), &launch).unwrap();
    let addr = server.addr();
    assert!(
        addr.ip().is_loopback() && addr.port() != 0,
        "{name}: {addr}"
    );

    let hello = http_get(addr, "/hello/World");
    assert_eq!(hello.status, 200, "{name}");
    assert_eq!(
        hello.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{name}"
    );
    assert_eq!(hello.body, b"Hello, World!", "{name}");
    assert_eq!(
        http_get(addr, "/hello/Ferris").body,
        b"Hello, Ferris!",
        "{name}"
    );

    let json = http_get(addr, "/json");
    assert_eq!(json.status, 200, "{name}");
    assert_eq!(
        json.header("content-type"),
        Some("application/json"),
        "{name}"
    );
    assert_eq!(json.body, br#"{"message":"Hello, World!"}"#, "{name}");

    assert_eq!(http_get(addr, "/nope").status, 404, "{name}");
    assert_eq!(http_get(addr, "/hello").status, 404, "{name}");
    // CherryPy would take a query parameter for the name.
    assert_eq!(http_get(addr, "/hello?name=World").status, 404, "{name}");

    let listening = listening_addrs(server.pid()).unwrap();
    assert!(listening.contains(&addr), "{name}: {listening:?}");
    assert!(
        listening.iter().all(|a| a.ip().is_loopback()),
        "{name}: {listening:?}"
    );

    // An idle keep-alive connection must not hold up SIGTERM.
    let mut idle = TcpStream::connect(addr).unwrap();
    write!(idle, "GET /hello/World HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut first_bytes = [0u8; 12];
    idle.read_exact(&mut first_bytes).unwrap();
    // bottle's wsgiref answers HTTP/1.0 (and closes), the others HTTP/1.1.
    let status_line: &[u8] = if name == "bottle" {
        b"HTTP/1.0 200"
    } else {
        b"HTTP/1.1 200"
    };
    assert_eq!(
        &first_bytes,
        status_line,
        "{name}: {}",
        String::from_utf8_lossy(&first_bytes)
    );

    let pid = server.pid();
    let stopped = server.shutdown().unwrap_or_else(|err| panic!("{err}"));
    assert!(stopped.status.success(), "{name}: {:?}", stopped.status);
    assert_gone(pid);
}

/// `--workers W` starts exactly W worker threads: some thread name
/// (`tokio-rt-worker`, `actix-rt|system`, `rocket-worker-t`,
/// `async-std/runti`) is held by exactly W threads for W = 1, 2 and 4.
/// Counting names rather than all threads keeps helper threads that a
/// runtime starts on demand (async-std's blocking pool) out of it.
fn workers_flag_sets_the_worker_count(name: &str) {
    let mut threads_with_one_worker = None;
    let mut names_at = |workers| {
        let server = ServerProcess::start(&built(name), &options(workers)).unwrap();
        if workers == 1 {
            let snapshot = ProcSampler::new().unwrap().snapshot(server.pid()).unwrap();
            threads_with_one_worker = snapshot.threads;
        }
        thread_names(server.pid())
    };
    let (one, two, four) = (names_at(1), names_at(2), names_at(4));
    let worker_name = one.iter().find(|(thread, n)| {
        **n == 1 && two.get(*thread) == Some(&2) && four.get(*thread) == Some(&4)
    });
    assert!(
        worker_name.is_some(),
        "{name}: no thread name counts 1, 2, 4 workers: {one:?} / {two:?} / {four:?}"
    );
    // The snapshot's thread count (the same process as W = 1) sees the
    // worker and the main thread at least.
    let threads = threads_with_one_worker.unwrap();
    assert!(threads >= 2, "{name}: {threads} threads with 1 worker");
}

/// Each framework's own backlog, as listed in the README.
fn default_backlog(name: &str) -> u32 {
    match name {
        "actix-web" => 1024,
        // socketserver's `request_queue_size` and cheroot's.
        "bottle" | "cherrypy" | "web.py" => 5,
        _ => 128,
    }
}

/// How many threads the server runs with `--workers W`.
fn threads_with_workers(name: &str, workers: usize) -> usize {
    let server = ServerProcess::start(&built(name), &options(workers)).unwrap();
    // Give a pool that starts its threads after the ready line time to.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::read_dir(format!("/proc/{}/task", server.pid()))
        .unwrap()
        .count()
}

/// A Python server whose pool is sized by `--workers`: Python names no
/// threads, so the count of all threads moves with W.
fn workers_flag_sets_the_pool_size(name: &str) {
    let one = threads_with_workers(name, 1);
    let four = threads_with_workers(name, 4);
    assert_eq!(
        four,
        one + 3,
        "{name}: {one} threads with 1 worker, {four} with 4"
    );
}

/// A server with no thread count to set (as servers/README.md says).
fn workers_flag_is_ignored_by_a_one_thread_server(name: &str) {
    let one = threads_with_workers(name, 1);
    let four = threads_with_workers(name, 4);
    assert_eq!(
        one, four,
        "{name}: {one} threads with 1 worker, {four} with 4"
    );
}

/// `--backlog N` listens with exactly N (`ss` shows a listening socket's
/// backlog as Send-Q); without it, the framework's own default.
fn backlog_flag_sets_the_listen_backlog(name: &str) {
    let backlog_of = |backlog: Option<u32>| {
        let mut launch = options(1);
        launch.backlog = backlog;
        let server = ServerProcess::start(&built(name), &launch).unwrap();
        listen_backlog(server.addr().port())
    };
    assert_eq!(backlog_of(Some(777)), 777, "{name} with --backlog 777");
    assert_eq!(backlog_of(None), default_backlog(name), "{name} as shipped");
}

/// The Send-Q column of the listening socket on `port`, from `ss -ltn`.
fn listen_backlog(port: u16) -> u32 {
    let filter = format!("sport = :{port}");
    let output = Command::new("ss")
        .args(["-ltnH", &filter])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no listener on {port}"));
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// Thread name (`/proc/PID/task/TID/comm`) -> how many threads have it.
fn thread_names(pid: u32) -> std::collections::BTreeMap<String, usize> {
    let mut names = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let comm = std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap_or_default();
        *names.entry(comm.trim_end().to_owned()).or_default() += 1;
    }
    names
}

/// The server's command line before its arguments: the binary, or the
/// interpreter and the script.
fn program(name: &str) -> Command {
    let server = built(name);
    let argv = server.spec.command_line(&RunValues {
        bin: server.bin.as_deref(),
        python: server.python.as_deref(),
        port: 0,
        workers: 1,
        backlog: None,
    });
    let end = argv.iter().position(|arg| arg == "--port").unwrap();
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..end]);
    command
}

fn rejects_bad_arguments(name: &str) {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    let cases: [&[&str]; 6] = [
        &["--port", "http"],
        &["--port", "0", "--frobnicate"],
        &["--port", "0", "--workers", "0"],
        &["--port", "0", "--backlog", "0"],
        &["--workers", "2"],
        &["--port", &taken_port],
    ];
    for args in cases {
        let output = run_with_deadline(program(name).args(args), Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name} {args:?} exited 0");
        assert!(
            output.stdout.is_empty(),
            "{name} {args:?} printed a ready line"
        );
        let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{name} {args:?}: {stderr}");
        assert!(lines[0].contains("error"), "{name} {args:?}: {stderr}");
    }
}

#[test]
fn the_contract_list_covers_every_manifest() {
    let specs = framework_bench::server::manifest::ServerSpec::load_dir(
        &crate::util::workspace().servers_dir(),
    )
    .unwrap();
    // The injected variants are axum's own binary, there to measure the
    // verdicts; axum covers them.
    let names: Vec<_> = specs
        .iter()
        .filter(|s| s.group != framework_bench::server::manifest::INJECTED_GROUP)
        .map(|s| s.name.as_str())
        .collect();
    let mut expected = FRAMEWORKS.to_vec();
    expected.extend(PYTHON_FRAMEWORKS);
    expected.sort();
    assert_eq!(names, expected);
}
