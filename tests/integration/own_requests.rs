//! Servers measured on requests their manifests declare, and servers that
//! follow no contract of ours: a POST with a JSON body checked by status
//! and length, a server that prints nothing, a line of a server's own, and
//! Python's standard-library `http.server` through a whole test-mode run.

use std::time::Duration;

use framework_bench::error::Error;
use framework_bench::load::hammer::LoadPlan;
use framework_bench::load::{BodyCheck, Mix, RequestSpec, Route};
use framework_bench::record::{RunRecord, ServerRecord};
use framework_bench::server::manifest::{Readiness, Setting};
use framework_bench::server::process::{ServerProcess, probe_status};

use crate::bench_run::{fresh_home, run_bench, text};
use crate::util::{built, options, run_hammer};

fn request(server: &str, name: &str) -> RequestSpec {
    built(server)
        .spec
        .requests
        .get(Route::new(name))
        .unwrap_or_else(|| panic!("{server} declares {name}"))
        .clone()
}

/// `n` requests of `mix` on one keep-alive connection.
fn send(
    addr: std::net::SocketAddr,
    mix: Mix,
    n: usize,
) -> framework_bench::load::hammer::HammerReport {
    let mut plan = LoadPlan::keep_alive(n, 1, Duration::from_secs(10));
    plan.mix = mix;
    run_hammer(addr, &plan)
}

#[test]
fn a_post_with_a_json_body_is_checked_by_its_status_and_length() {
    let server = ServerProcess::start(&built("items"), &options(1)).unwrap();
    let addr = server.addr();
    let create = request("items", "create-item");
    let report = send(addr, Mix::single(create.clone()), 100);
    assert_eq!(report.successes, 100, "{report}");
    assert_eq!(report.counts.get("201"), Some(&100), "{report}");

    // One byte off: the length check fails every answer, by name.
    let mut short = create.clone();
    short.expect.body = BodyCheck::Length(49);
    let report = send(addr, Mix::single(short), 10);
    assert_eq!(report.successes, 0, "{report}");
    assert_eq!(report.counts.get("201-wrong-body"), Some(&10), "{report}");

    // Another status expected: the 201s are counted, as failures.
    let mut wrong_status = create.clone();
    wrong_status.expect.status = 200;
    let report = send(addr, Mix::single(wrong_status), 10);
    assert_eq!(report.successes, 0, "{report}");
    assert_eq!(report.counts.get("201"), Some(&10), "{report}");

    // The header matters: without it the server answers 415, which that
    // request expects.
    let untyped = request("items", "untyped-item");
    let mix = Mix::weighted(vec![(create, 3), (untyped, 1)]).unwrap();
    let report = send(addr, mix, 100);
    assert_eq!(report.successes, 100, "{report}");
    assert_eq!(report.counts.get("201"), Some(&75), "{report}");
    assert_eq!(report.counts.get("415"), Some(&25), "{report}");
    assert!(server.shutdown().unwrap().clean);
}

#[test]
fn a_server_that_prints_nothing_is_ready_once_its_first_request_is_answered() {
    let silent = built("silent");
    assert_eq!(silent.spec.ready, Readiness::Probe);
    assert_eq!(
        silent.spec.not_settable(),
        [Setting::Backlog, Setting::Workers]
    );
    let server = ServerProcess::start(&silent, &options(1)).unwrap();
    assert_ne!(server.addr().port(), 0, "the harness picked its port");
    let status = probe_status(server.addr(), "/hello/World", Duration::from_secs(5));
    assert_eq!(status.unwrap(), 200);
    assert!(server.startup_time() > Duration::ZERO);
    let stopped = server.shutdown().unwrap();
    assert!(stopped.clean && stopped.status.success());
}

#[test]
fn a_start_line_that_never_comes_is_named_in_the_error() {
    let mut silent = built("silent");
    silent.spec.ready = Readiness::LineContains("Started on port {port}".into());
    let mut options = options(1);
    options.ready_timeout = Duration::from_millis(500);
    let err = ServerProcess::start(&silent, &options)
        .err()
        .expect("never ready");
    let Error::NotReady { waiting_for, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        waiting_for.starts_with("a line holding `Started on port "),
        "{err}"
    );
    assert!(waiting_for.ends_with("` on stdout or stderr"), "{err}");
    assert!(!waiting_for.contains("{port}"), "the port is filled: {err}");
}

fn server<'a>(run: &'a RunRecord, name: &str) -> &'a ServerRecord {
    run.servers
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} in the run"))
}

#[test]
fn declared_requests_and_a_standard_library_server_go_through_a_whole_test_run() {
    let home = fresh_home("own-requests");
    let servers = "tests/fixtures/items,servers/examples/http-server";
    // A generous timeout: http.server listens with a backlog of 5, and a
    // SYN it drops is sent again after 1 s, then 3 s.
    let envs = [
        ("FRAMEWORK_BENCH_SERVERS", servers),
        ("FRAMEWORK_BENCH_TIMEOUT", "30"),
    ];
    let output = run_bench(&home, &envs, &[]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for bench in [
        "memory-items/rss-after",
        "latency-create-item/items",
        "latency-untyped-item/items",
        "throughput-create-item+untyped-item/items/c1",
        "memory-http-server/rss-before",
        "memory-http-server/rss-after",
        "latency-hello-file/http-server",
        "latency-json-file/http-server",
        "throughput-hello-file/http-server/c1",
    ] {
        assert!(
            stdout.contains(&format!("Testing {bench}\n")),
            "{bench}\n{stdout}"
        );
    }
    for contract in ["latency-hello/items", "latency-json/http-server"] {
        assert!(!stdout.contains(contract), "{stdout}");
    }
    // The tables name the requests and what could not be set.
    assert!(stdout.contains("POST /items (34 bytes)"), "{stdout}");
    assert!(stdout.contains("201, 50 bytes"), "{stdout}");
    assert!(
        stdout.contains("(backlog, workers: not settable, its own default)"),
        "{stdout}"
    );

    let latest = home.join("framework-bench").join("latest.json");
    let run = RunRecord::load(&latest).unwrap();
    let items = server(&run, "items");
    assert_eq!(items.error, None);
    let burst = items.rounds[0].burst.as_ref().unwrap();
    assert_eq!(
        burst.counts.get("201"),
        Some(&burst.n_requests),
        "{burst:?}"
    );
    for name in ["create-item", "untyped-item"] {
        let latency = &items.latency[&Route::new(name)];
        assert!(latency.requests.count > 0, "{name}");
        assert!(items.rounds[0].probes[&Route::new(name)].n_requests > 0);
    }
    assert!(
        items
            .constant_rate
            .iter()
            .all(|r| r.route == Route::new("create-item+untyped-item")),
        "{:?}",
        items.constant_rate
    );
    let loads = items.loads.as_ref().expect("declared");
    assert!(
        loads
            .burst
            .starts_with("POST /items [content-type: application/json]")
    );
    assert!(items.not_settable.is_empty(), "the contract's flags");

    let python = server(&run, "http-server");
    assert_eq!(python.error, None, "{stderr}");
    assert_eq!(python.not_settable, [Setting::Backlog, Setting::Workers]);
    // Its command line as run: the port the harness picked, nothing added.
    let port = python.command.last().expect("a command");
    assert!(
        port.parse::<u16>().is_ok_and(|p| p > 0),
        "{:?}",
        python.command
    );
    assert!(!python.command.iter().any(|a| a.starts_with("--backlog")));
    assert!(
        python
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("Python 3"))
    );
    let round = &python.rounds[0];
    let (before, after) = (
        round.before.as_ref().unwrap(),
        round.after.as_ref().unwrap(),
    );
    assert!(before.rss_bytes > 0 && after.rss_bytes > 0);
    // Its listen queue of 5 drops SYNs: on a busy machine some requests
    // may time out even at 30 s, but every answer it gave was right.
    let burst = round.burst.as_ref().unwrap();
    assert!(
        burst
            .counts
            .keys()
            .all(|k| ["200", "timeout", "refused", "reset"].contains(&k.as_str())),
        "{burst:?}"
    );
    assert_ne!(burst.counts.get("200"), None, "{burst:?}");
    let hello = &python.latency[&Route::new("hello-file")];
    assert!(hello.requests.count > 0 && hello.closed_by_server > Some(0));
    assert!(python.stops.iter().all(|s| s.clean), "{:?}", python.stops);
}
