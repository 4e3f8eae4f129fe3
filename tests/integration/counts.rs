//! The counts on real processes: the heap counter on a program with known
//! allocations, the leak verdict on a server that leaks and one that does
//! not, instructions per request over two launches, and the burst's
//! timeline.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use framework_bench::compare::figures::INSTRUCTIONS_FLOOR;
use framework_bench::compare::leak::LeakCheck;
use framework_bench::conditions::{Placement, allowed_cpus};
use framework_bench::load::hammer::LoadPlan;
use framework_bench::measure::heap::{COUNTERS_ENV, HeapCounters};
use framework_bench::measure::timeline::Sampler;
use framework_bench::record::{LeakPoint, LeakRecord};
use framework_bench::run::callgrind;
use framework_bench::run::seams::ClientLoad;
use framework_bench::server::build::build_heap_library;
use framework_bench::server::process::ServerProcess;

use crate::util::{built, options, run_hammer, test_log_dir, workspace};

/// The counting library, built once per test run.
fn heap_library() -> std::path::PathBuf {
    static LIBRARY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    LIBRARY
        .get_or_init(|| build_heap_library(&workspace()).expect("the heap counter builds"))
        .clone()
}

/// `alloc-fixture N K M` under the library: exactly N allocations of K
/// bytes and M frees between its two handshakes.
#[test]
fn the_counting_layer_counts_exactly_a_programs_known_allocations() {
    let library = heap_library();
    let fixture = library.with_file_name("alloc-fixture");
    let dir = test_log_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let counters = HeapCounters::create(&dir.join("fixture.heap")).unwrap();
    // 1000 bytes is a usable size of its own in glibc (a 1008-byte chunk).
    let (n, k, m) = (500u64, 1000u64, 200u64);
    let mut child = Command::new(&fixture)
        .args([n, k, m].map(|v| v.to_string()))
        .env("LD_PRELOAD", &library)
        .env(COUNTERS_ENV, counters.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let before = counters.read().expect("the library counted the start");
    stdin.write_all(b"g").unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "done");
    let after = counters.read().unwrap();
    stdin.write_all(b"g").unwrap();
    assert!(child.wait().unwrap().success());
    let activity = after.since(&before);
    assert_eq!(activity.allocations, n, "{before:?} {after:?}");
    assert_eq!(activity.frees, m);
    assert_eq!(activity.bytes_allocated, n * k);
    assert_eq!(after.live_bytes() - before.live_bytes(), (n - m) * k);
    assert_eq!(after.processes, 1);
}

/// Bursts in a row on one process of `name`, counted; its leak check.
fn leak_check(name: &str) -> LeakCheck {
    let mut launch = options(1);
    launch.heap_library = Some(heap_library());
    let server = ServerProcess::start(&built(name), &launch).unwrap();
    let heap = server.heap().expect("counted");
    let plan = LoadPlan::burst(500, Duration::from_secs(5));
    let mut bursts = Vec::new();
    for _ in 0..5 {
        let report = run_hammer(server.addr(), &plan);
        assert_eq!(report.successes, 500, "{}", report.counter_text());
        bursts.push(LeakPoint {
            success_rate: 1.0,
            rss_bytes: 0,
            live_heap_bytes: Some(settled_live_heap(&heap)),
        });
    }
    server.shutdown().unwrap();
    let record = LeakRecord {
        pid: 0,
        requests_per_burst: 500,
        bursts,
    };
    LeakCheck::of(name, &record)
}

/// The live heap once the burst's connections are closed: the same in two
/// readings 50 ms apart (at most 5 s).
fn settled_live_heap(heap: &Arc<HeapCounters>) -> u64 {
    let mut last = heap.read().unwrap().live_bytes();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        let now = heap.read().unwrap().live_bytes();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

#[test]
fn a_server_that_leaks_per_request_gets_a_leak_verdict_and_the_same_server_without_gets_none() {
    let leaky = leak_check("axum-leaky");
    assert!(leaky.is_leak(), "{leaky:?}");
    // 1 KiB a request, as glibc grants it: 1032 usable bytes.
    let per_request = leaky.verdict_fit.unwrap().bytes_per_request;
    assert!((per_request - 1032.0).abs() < 1032.0 * 0.1, "{leaky:?}");
    let axum = leak_check("axum");
    assert!(!axum.is_leak(), "{axum:?}");
}

fn instructions_per_request(load: &ClientLoad) -> f64 {
    let dir = test_log_dir().join("callgrind");
    std::fs::create_dir_all(&dir).unwrap();
    let mut launch = options(1);
    launch.callgrind_dir = Some(dir.clone());
    launch.ready_timeout = Duration::from_secs(60);
    let server = ServerProcess::start(&built("axum"), &launch).unwrap();
    let target = callgrind::Target {
        name: "axum",
        addr: server.addr(),
        pid: server.pid(),
        dir: &dir,
    };
    let record = callgrind::count(
        load,
        &target,
        &framework_bench::load::request::contract()[0],
        3,
    )
    .unwrap();
    server.shutdown().unwrap();
    let mut per_request = record.per_request();
    per_request.sort_by(f64::total_cmp);
    per_request[per_request.len() / 2]
}

#[test]
fn instructions_per_request_of_two_launches_are_within_the_floor() {
    if let Some(reason) = callgrind::unavailable() {
        eprintln!("skipped: {reason}");
        return;
    }
    let placement = Placement::choose(false, None, None, &allowed_cpus()).unwrap();
    let load = ClientLoad::new(&placement);
    let first = instructions_per_request(&load);
    let second = instructions_per_request(&load);
    assert!(first > 1000.0, "{first}");
    let apart = (first / second - 1.0).abs();
    assert!(apart < INSTRUCTIONS_FLOOR, "{first} and {second}: {apart}");
}

#[test]
fn the_timeline_has_samples_through_the_whole_burst_and_its_cost_is_bounded() {
    let mut launch = options(1);
    launch.heap_library = Some(heap_library());
    let server = ServerProcess::start(&built("axum"), &launch).unwrap();
    let mut sampler = Sampler::start(server.pid(), server.heap(), None).unwrap();
    let report = run_hammer(
        server.addr(),
        &LoadPlan::burst(2000, Duration::from_secs(5)),
    );
    sampler.mark_burst_end();
    std::thread::sleep(Duration::from_millis(200));
    let timeline = sampler.stop().unwrap();
    server.shutdown().unwrap();
    assert_eq!(report.successes, 2000, "{}", report.counter_text());
    let end = timeline.burst_end_us;
    let during: Vec<u64> = timeline
        .samples
        .iter()
        .map(|s| s.at_us)
        .filter(|&at| at <= end)
        .collect();
    assert!(!during.is_empty(), "{timeline:?}");
    assert!(
        timeline.samples.iter().any(|s| s.at_us > end),
        "the settle too"
    );
    // No stretch of the burst without a sample longer than half of it.
    let gaps = std::iter::once(0)
        .chain(during.iter().copied())
        .chain([end])
        .collect::<Vec<_>>();
    let widest = gaps.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        widest <= end / 2 + 5_000,
        "a gap of {widest} µs in {end} µs"
    );
    assert!(timeline.samples.iter().all(|s| s.live_heap_bytes.is_some()));
    // At most one sample per interval, so a bounded cost.
    let span_ms = timeline.samples.last().unwrap().at_us / 1000 + 1;
    assert!(timeline.samples_taken as u64 <= span_ms + 1);
}
