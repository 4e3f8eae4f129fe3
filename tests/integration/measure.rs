//! Each built-in server started, snapshotted, hammered with a small burst,
//! and stopped, as the bench will do.

use std::time::Duration;

use framework_bench::load::hammer::LoadPlan;
use framework_bench::measure::memory::{ProcSampler, Sampler};
use framework_bench::server::process::ServerProcess;

use crate::util::{assert_gone, built, options, run_hammer};

macro_rules! per_server {
    ($($test:ident => $server:literal),* $(,)?) => {
        $( #[test] fn $test() { start_snapshot_burst_stop($server) } )*
    };
}

per_server!(
    axum_is_measured => "axum",
    actix_web_is_measured => "actix-web",
    warp_is_measured => "warp",
    rocket_is_measured => "rocket",
    tide_is_measured => "tide",
    tide_nodelay_is_measured => "tide-nodelay",
);

/// VmRSS from /proc/PID/status, in bytes.
fn vm_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

fn start_snapshot_burst_stop(name: &str) {
    let server = ServerProcess::start(&built(name), &options(2)).unwrap();
    let pid = server.pid();
    assert!(server.startup_time() > Duration::ZERO);
    let mut sampler = ProcSampler::new().unwrap();

    let before = sampler.snapshot(pid).unwrap();
    let rss_now = vm_rss_bytes(pid);
    let diff = before.rss_bytes.abs_diff(rss_now);
    assert!(
        diff <= rss_now / 20,
        "{name}: snapshot {} vs /proc {rss_now}",
        before.rss_bytes
    );
    assert!(before.vms_bytes > before.rss_bytes, "{name}");
    let uss = before.uss_bytes.unwrap();
    let pss = before.pss_bytes.unwrap();
    assert!(
        uss > 0 && uss <= pss && pss <= before.rss_bytes,
        "{name}: {before:?}"
    );
    assert!(
        before.anonymous_bytes.unwrap() <= before.rss_bytes,
        "{name}"
    );
    assert!(before.peak_rss_bytes.unwrap() >= before.rss_bytes, "{name}");

    let report = run_hammer(
        server.addr(),
        &LoadPlan::burst(100, Duration::from_secs(10)),
    );
    assert_eq!(report.successes, 100, "{name}: {report}");
    assert_eq!(report.counter_text(), "200: 100", "{name}");
    assert_eq!(report.latency_summary().count, 100);

    let after = sampler.snapshot(pid).unwrap();
    assert!(
        after.cpu_time.unwrap() >= before.cpu_time.unwrap(),
        "{name}"
    );
    assert!(after.peak_rss_bytes >= before.peak_rss_bytes, "{name}");

    let keep_alive = run_hammer(
        server.addr(),
        &LoadPlan::keep_alive(50, 2, Duration::from_secs(10)),
    );
    assert_eq!(keep_alive.successes, 50, "{name}: {keep_alive}");

    let stopped = server.shutdown().unwrap();
    assert!(stopped.status.success(), "{name}: {:?}", stopped.status);
    assert_gone(pid);
}
