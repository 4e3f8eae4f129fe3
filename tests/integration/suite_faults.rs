//! A run over several servers goes on when one of them fails mid-run.

use framework_bench::config::BenchConfig;
use framework_bench::load::Route;
use framework_bench::record::RunMode;
use framework_bench::run::executor::Run;
use framework_bench::run::plan::Filter;
use framework_bench::server::manifest::ServerSpec;

use crate::util::{assert_gone, built, fixtures_dir, test_log_dir, workspace};

/// A test-mode run over `specs` with a burst of 3 and one worker.
fn three_request_run(specs: Vec<ServerSpec>) -> Run {
    let config = BenchConfig {
        n_requests: 3,
        workers: 1,
        ..BenchConfig::default()
    };
    test_run(config, specs)
}

fn test_run(config: BenchConfig, specs: Vec<ServerSpec>) -> Run {
    let mut run = Run::new(&workspace(), config, RunMode::Test, specs).unwrap();
    run.set_log_dir(test_log_dir());
    run
}

/// Executes the default plan's benchmarks that match `pattern`, `iters`
/// iterations each.
fn execute(run: &mut Run, pattern: &str, iters: u64) {
    let plan = run.default_plan(&Filter::matching(pattern).unwrap());
    run.execute_plan(&plan, iters);
}

#[test]
fn a_server_answering_500_mid_run_is_named_and_the_run_goes_on() {
    built("misbehaving"); // build once, with the other fixtures
    let specs: Vec<ServerSpec> = ServerSpec::load_dir(&fixtures_dir())
        .unwrap()
        .into_iter()
        .filter(|s| s.name == "status-500-after-1" || s.name == "misbehaving")
        .collect();
    let mut run = three_request_run(specs);

    // Each process answers its readiness probe, then only 500: the burst
    // records them as outcomes, the latency benchmark fails the server.
    execute(&mut run, "^(memory|latency)-", 10);

    let record = run.finish();
    let bad = record
        .servers
        .iter()
        .find(|s| s.name == "status-500-after-1")
        .unwrap();
    let bad_round = &bad.rounds[0];
    assert_eq!(
        bad_round.burst.as_ref().unwrap().counts.get("500"),
        Some(&3)
    );
    // Round 1's latency reading, after the burst, sends one request first
    // (its batches start at one): the first 500 fails the server there.
    let error = bad.error.as_deref().unwrap();
    assert!(
        error.starts_with("status-500-after-1 failed 1 of 1 requests to GET /hello/World during its round's hello latency reading: 500: 1"),
        "{error}"
    );
    let good = record
        .servers
        .iter()
        .find(|s| s.name == "misbehaving")
        .unwrap();
    assert_eq!(good.error, None);
    let good_round = &good.rounds[0];
    assert_eq!(good_round.burst.as_ref().unwrap().success_rate, 1.0);
    assert!(good.latency[&Route::HELLO].requests.count >= 10);
    assert!(good.latency[&Route::JSON].requests.count >= 10);
    // A failed route keeps no latency: nothing of it may pass for measured.
    assert!(bad.latency.is_empty(), "{:?}", bad.latency.keys());
    // Once failed, its benchmarks are skipped, not retried: no process was
    // started for its heap round or either latency benchmark.
    assert_eq!(bad.stops.len() + 3, good.stops.len());
    assert_gone(bad_round.pid);
    assert_gone(good_round.pid);
}

#[test]
fn a_wrong_body_is_named_in_the_sweep_and_in_the_constant_rate_runs() {
    built("misbehaving");
    let specs: Vec<ServerSpec> = ServerSpec::load_dir(&fixtures_dir())
        .unwrap()
        .into_iter()
        .filter(|s| s.name == "wrong-body-after-1")
        .collect();
    let config = BenchConfig {
        workers: 1,
        sweep: vec![4],
        ..BenchConfig::default()
    };
    let name = "wrong-body-after-1";
    let mut run = test_run(config, specs);
    // The readiness probe got the one right body; every request after it
    // carries a wrong one, and the sweep names it.
    execute(&mut run, &format!("throughput-hello/{name}/c4"), 2);
    let run = run.finish();
    assert!(run.servers[0].throughput.is_empty());
    assert!(run.servers[0].constant_rate.is_empty());
    let error = run.servers[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("200-wrong-body"), "{error}");
    assert!(error.contains("throughput c4"), "{error}");

    // A server whose bodies turn wrong after the sweep: the constant-rate
    // runs count every wrong body by name.
    let mut late = ServerSpec::load_dir(&fixtures_dir())
        .unwrap()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap();
    let after = late.run.iter().position(|a| a == "--after").unwrap();
    late.run[after + 1] = "40".into();
    late.name = "wrong-body-after-40".into();
    let config = BenchConfig {
        workers: 1,
        sweep: vec![4],
        rates: vec![200],
        ..BenchConfig::default()
    };
    let mut run = test_run(config, vec![late]);
    // 1 probe + 2 rounds of 4 in the sweep: all right; then the rate runs.
    execute(&mut run, "throughput-hello/wrong-body-after-40/c4", 2);
    let run = run.finish();
    assert!(run.servers[0].throughput.contains_key(&4));
    let rates = &run.servers[0].constant_rate;
    assert_eq!(rates.len(), 2, "{rates:?}");
    let wrong: usize = rates
        .iter()
        .filter_map(|r| r.counts.get("200-wrong-body"))
        .sum();
    assert!(wrong > 0, "{rates:?}");
    // A wrong body is no throughput: the run that got them (`/hello`; the
    // fixture spoils only that route) did not keep its rate.
    let hello = &rates[0];
    assert_eq!(hello.route, Route::HELLO);
    assert!(hello.counts.contains_key("200-wrong-body"), "{hello:?}");
    assert!(!hello.valid(), "{hello:?}");
}

#[test]
fn a_python_server_without_python_is_named_and_the_others_are_measured() {
    use framework_bench::server::manifest::{BuildStep, PythonVenv, VersionSource};
    built("misbehaving");
    let dir = test_log_dir().join("no-python-server");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("requirements.txt"), "bottle==0.13.4\n").unwrap();
    let no_python = ServerSpec {
        name: "no-python".into(),
        description: String::new(),
        group: "python".into(),
        manifest: dir.join("server.toml"),
        dir,
        version: VersionSource::PythonPackage("bottle".into()),
        build: Some(BuildStep::PythonVenv(PythonVenv {
            requirements: "requirements.txt".into(),
            python: "framework-bench-no-such-python3".into(),
        })),
        run: vec![
            "{python}".into(),
            "app.py".into(),
            "--port".into(),
            "{port}".into(),
        ],
        ready: framework_bench::server::manifest::Readiness::ContractLine,
        requests: framework_bench::load::request::RequestSet::contract(),
    };
    let mut specs: Vec<ServerSpec> = ServerSpec::load_dir(&fixtures_dir())
        .unwrap()
        .into_iter()
        .filter(|s| s.name == "misbehaving")
        .collect();
    specs.insert(0, no_python);
    let mut run = three_request_run(specs);
    execute(&mut run, "^memory-", 1);

    let record = run.finish();
    let failed = record
        .servers
        .iter()
        .find(|s| s.name == "no-python")
        .unwrap();
    let error = failed.error.as_deref().unwrap();
    assert!(
        error.starts_with("no-python: cannot run `framework-bench-no-such-python3 -c"),
        "{error}"
    );
    assert!(failed.rounds.iter().all(|r| r.burst.is_none()));
    let measured = record
        .servers
        .iter()
        .find(|s| s.name == "misbehaving")
        .unwrap();
    assert_eq!(measured.error, None);
    assert_eq!(measured.rounds[0].burst.as_ref().unwrap().success_rate, 1.0);
}
