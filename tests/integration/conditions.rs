//! Controlled conditions on real processes: servers pinned to their CPUs,
//! and a burst's failures named by their cause.

use std::time::Duration;

use framework_bench::conditions::{BacklogSetting, CpuList, allowed_cpus};
use framework_bench::config::BenchConfig;
use framework_bench::record::RunMode;
use framework_bench::run::executor::Run;
use framework_bench::run::plan::Filter;
use framework_bench::server::manifest::ServerSpec;
use framework_bench::server::process::ServerProcess;

use crate::util::{built, fixtures_dir, options, test_log_dir, workspace};

/// `Cpus_allowed_list` of every thread of `pid`.
fn thread_affinities(pid: u32) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .map(|task| {
            let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
            let line = status
                .lines()
                .find(|l| l.starts_with("Cpus_allowed_list:"))
                .unwrap();
            line.split_whitespace().nth(1).unwrap().to_owned()
        })
        .collect()
}

#[test]
fn a_pinned_server_runs_every_thread_on_the_server_cpus() {
    let allowed = allowed_cpus();
    if allowed.len() < 2 {
        return; // nothing to pin to apart from the client
    }
    let last = allowed.cpus()[allowed.len() - 1];
    let mut launch = options(2);
    launch.cpus = Some(CpuList::new(vec![last]));
    let server = ServerProcess::start(&built("axum"), &launch).unwrap();
    let affinities = thread_affinities(server.pid());
    assert!(affinities.len() >= 3, "{affinities:?}");
    assert!(
        affinities.iter().all(|a| *a == last.to_string()),
        "{affinities:?}"
    );
}

#[test]
fn a_server_that_stops_accepting_has_its_dropped_syns_named() {
    built("misbehaving");
    let specs: Vec<ServerSpec> = ServerSpec::load_dir(&fixtures_dir())
        .unwrap()
        .into_iter()
        .filter(|s| s.name == "stall-accept-after-1")
        .collect();
    let config = BenchConfig {
        n_requests: 40,
        test_n_requests: 40,
        timeout: Duration::from_secs(1),
        backlog: "1".parse::<BacklogSetting>().unwrap(),
        ..BenchConfig::default()
    };
    let mut run = Run::new(&workspace(), config, RunMode::Test, specs).unwrap();
    run.set_log_dir(test_log_dir());
    let plan =
        run.default_plan(&Filter::matching("memory-stall-accept-after-1/rss-after").unwrap());
    run.execute_plan(&plan, 1);
    let run = run.finish();
    let burst = run.servers[0].rounds[0].burst.clone().unwrap();
    let network = burst.network.expect("Linux has TCP counters");
    assert!(network.listen_overflows >= 1, "{network:?}");
    assert!(
        burst.counts.get("timeout").is_some_and(|n| *n > 0),
        "{:?}",
        burst.counts
    );
    let text = burst.outcome_text();
    assert!(text.contains("SYNs dropped: listen queue full"), "{text}");
    assert_eq!(run.conditions.backlog, Some(1));
}
