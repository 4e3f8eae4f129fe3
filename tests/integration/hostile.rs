//! Servers that answer the readiness probe and then break HTTP, one way
//! each: every phase ends with a named outcome within its time bound, and
//! the run goes on to measure the next server.

use std::time::{Duration, Instant};

use framework_bench::config::BenchConfig;
use framework_bench::record::{RunMode, RunRecord};
use framework_bench::run::executor::Run;
use framework_bench::run::plan::Filter;
use framework_bench::server::manifest::ServerSpec;

use crate::util::{built, fixtures_dir, test_log_dir, workspace};

/// Each hostile variant, and what its answers are counted as. `None` for
/// the one that must pass: an unasked `100 Continue` is skipped.
const HOSTILE: [(&str, &[&str]); 10] = [
    (
        "absurd-chunk-after-1",
        &["bad answer: body or chunk over 16 MiB"],
    ),
    ("endless-head-after-1", &["bad answer: head over 64 KiB"]),
    ("long-body-after-1", &["bad answer: bytes after the answer"]),
    // The body is capped at 16 MiB; a slow machine may reach the timeout first.
    (
        "endless-body-after-1",
        &["bad answer: body or chunk over 16 MiB", "timeout"],
    ),
    ("trickle-after-1", &["timeout"]),
    ("random-bytes-after-1", &["bad answer: not HTTP/1.1"]),
    ("reset-after-1", &["reset"]),
    ("two-lengths-after-1", &["bad answer: bad Content-Length"]),
    ("glued-after-1", &["bad answer: bytes after the answer"]),
    ("continue-after-1", &[]),
];

/// A test-mode run over `hostile` then the well-behaved `misbehaving`: the
/// burst, a latency benchmark and a sweep step of each.
fn run_after(hostile: &str) -> (RunRecord, Duration) {
    let specs: Vec<ServerSpec> = ServerSpec::load_dir(&fixtures_dir())
        .unwrap()
        .into_iter()
        .filter(|s| s.name == hostile || s.name == "misbehaving")
        .collect();
    assert_eq!(specs.len(), 2, "{hostile}");
    let config = BenchConfig {
        n_requests: 20,
        test_n_requests: 20,
        timeout: Duration::from_secs(2),
        workers: 1,
        sweep: vec![4],
        ..BenchConfig::default()
    };
    let mut run = Run::new(&workspace(), config, RunMode::Test, specs).unwrap();
    run.set_log_dir(test_log_dir());
    let both = format!("({hostile}|misbehaving)");
    let pattern =
        format!("^(memory-{both}/rss-after|latency-hello/{both}|throughput-hello/{both}/c4)$");
    let plan = run.default_plan(&Filter::matching(&pattern).unwrap());
    let started = Instant::now();
    run.execute_plan(&plan, 5);
    (run.finish(), started.elapsed())
}

#[test]
fn every_hostile_server_gets_a_named_outcome_and_the_next_server_is_measured() {
    built("misbehaving");
    let only = std::env::var("HOSTILE_ONLY").ok();
    for (name, outcomes) in HOSTILE {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let (record, took) = run_after(name);
        let hostile = record.servers.iter().find(|s| s.name == name).unwrap();
        let next = record
            .servers
            .iter()
            .find(|s| s.name == "misbehaving")
            .unwrap();
        assert_eq!(next.error, None, "{name}: the next server");
        assert!(
            next.latency
                .contains_key(&framework_bench::load::Route::HELLO),
            "{name}"
        );
        // Burst, latency (its first failure ends it) and the sweep's step,
        // each within its timeout; a generous bound on the lot.
        assert!(took < Duration::from_secs(60), "{name} took {took:?}");
        let burst = hostile.rounds[0].burst.as_ref().expect("the burst ran");
        if outcomes.is_empty() {
            assert_eq!(hostile.error, None, "{name}");
            assert_eq!(burst.success_rate, 1.0, "{name}: {:?}", burst.counts);
            continue;
        }
        let named = |text: &str| outcomes.iter().any(|o| text.contains(o));
        assert!(
            burst.counts.keys().any(|k| named(k)),
            "{name}: burst {:?}",
            burst.counts
        );
        let error = hostile.error.as_deref().unwrap_or_default();
        assert!(named(error), "{name}: {error}");
        assert!(
            hostile.latency.is_empty() && hostile.throughput.is_empty(),
            "{name}"
        );
    }
    // Reported, not asserted: other tests in this binary share the process.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: ?");
    eprintln!("hostile servers: the test process's peak RSS {peak}");
}
