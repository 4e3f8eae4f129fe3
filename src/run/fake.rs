//! Scripted fakes of the three seams, and tests that drive whole plans
//! through them: no process is started, no socket opened, and each test
//! checks the run record its plan produces.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::rc::Rc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::load::hammer::{Collector, ErrorKind, HammerReport, LoadPlan, Outcome, RequestResult};
use crate::measure::memory::{MemorySnapshot, Sampler};
use crate::run::seams::{Launcher, Load, Pooled, Sequential, Server};
use crate::server::built::BuiltServer;
use crate::server::manifest::ServerSpec;
use crate::server::process::{LaunchOptions, Stopped};

/// Pids far above any kernel's `pid_max`, so that nothing in `/proc`
/// answers for a fake server.
const FAKE_PID_BASE: u32 = 0x4000_0000;
const MIB: u64 = 1 << 20;
/// What every fake request takes.
pub const FAKE_LATENCY: Duration = Duration::from_micros(50);

/// How a scripted server misbehaves; the default is a perfect server.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Its build fails.
    pub build_fails: bool,
    /// Its n-th process (from 1) is dead as soon as it is ready.
    pub crashes_in_start: Option<usize>,
    /// Its memory never stops moving.
    pub never_settles: bool,
    /// Every answer carries a wrong body.
    pub wrong_body: bool,
    /// SIGTERM does not stop it; it is killed after the deadline.
    pub ignores_sigterm: bool,
}

/// Everything the fakes share: the scripts, and what happened.
#[derive(Default)]
pub struct World {
    scripts: BTreeMap<String, Script>,
    /// Port -> server name, for the load to know whom it talks to.
    ports: BTreeMap<u16, String>,
    starts: BTreeMap<String, usize>,
    /// Pids of processes that are running, and whether each is alive.
    alive: BTreeMap<u32, bool>,
    /// The memory readings so far, which a moving server grows by.
    readings: u64,
    /// What happened, in order: `start axum`, `stop axum`, `load axum 2000`.
    pub events: Vec<String>,
}

pub type Shared = Rc<RefCell<World>>;

/// A world with these servers' scripts.
pub fn world(scripts: &[(&str, Script)]) -> Shared {
    let world = World {
        scripts: scripts
            .iter()
            .map(|(name, script)| ((*name).to_owned(), script.clone()))
            .collect(),
        ..World::default()
    };
    Rc::new(RefCell::new(world))
}

impl World {
    fn script(&self, name: &str) -> Script {
        self.scripts.get(name).cloned().unwrap_or_default()
    }

    /// The pids of processes still running.
    pub fn running(&self) -> Vec<u32> {
        self.alive.keys().copied().collect()
    }
}

pub struct FakeLauncher(pub Shared);

impl Launcher for FakeLauncher {
    fn build(&mut self, spec: &ServerSpec) -> Result<BuiltServer> {
        let world = self.0.borrow();
        if world.script(&spec.name).build_fails {
            return Err(Error::Build {
                server: spec.name.clone(),
                command: "cargo build".into(),
                output: "error[E0425]: scripted".into(),
            });
        }
        Ok(BuiltServer {
            spec: spec.clone(),
            version: "1.0.0".into(),
            bin: Some(PathBuf::from("/nonexistent/fake-server")),
            python: None,
        })
    }

    fn start(&mut self, built: &BuiltServer, _: &LaunchOptions) -> Result<Box<dyn Server>> {
        let mut world = self.0.borrow_mut();
        let name = built.spec.name.clone();
        let start = {
            let starts = world.starts.entry(name.clone()).or_default();
            *starts += 1;
            *starts
        };
        let pid = FAKE_PID_BASE + u32::try_from(world.events.len()).unwrap_or(0);
        let port = u16::try_from(10_000 + world.ports.len()).unwrap_or(u16::MAX);
        let alive = world.script(&name).crashes_in_start != Some(start);
        world.alive.insert(pid, alive);
        world.ports.insert(port, name.clone());
        world.events.push(format!("start {name}"));
        Ok(Box::new(FakeServer {
            world: Rc::clone(&self.0),
            name,
            pid,
            port,
        }))
    }
}

struct FakeServer {
    world: Shared,
    name: String,
    pid: u32,
    port: u16,
}

impl Server for FakeServer {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn startup_time(&self) -> Duration {
        Duration::from_millis(3)
    }

    fn check_alive(&mut self, during: &str) -> Result<()> {
        if self.world.borrow().alive.get(&self.pid) == Some(&true) {
            return Ok(());
        }
        Err(Error::Crashed {
            server: self.name.clone(),
            status: "killed by SIGSEGV".into(),
            during: during.to_owned(),
            log: PathBuf::from("fake.log"),
            tail: String::new(),
        })
    }

    fn shutdown(self: Box<Self>) -> Result<Stopped> {
        let mut world = self.world.borrow_mut();
        world.alive.remove(&self.pid);
        world.events.push(format!("stop {}", self.name));
        if world.script(&self.name).ignores_sigterm {
            return Err(Error::StopTimeout {
                server: self.name.clone(),
                timeout: Duration::from_secs(5),
                log: PathBuf::from("fake.log"),
            });
        }
        Ok(Stopped {
            status: ExitStatus::from_raw(0),
            clean: true,
            stop_time: Duration::from_millis(1),
        })
    }
}

/// Reading n is 10 MiB for a still server (so it settles at once), and
/// 10 + n MiB for one that never settles; VMS is 100 MiB more.
pub struct FakeSampler(pub Shared);

impl Sampler for FakeSampler {
    fn snapshot(&mut self, pid: u32) -> Result<MemorySnapshot> {
        let (rss, vms) = self.rss_vms(pid)?;
        Ok(MemorySnapshot::new(pid, rss, vms))
    }

    fn rss_vms(&mut self, pid: u32) -> Result<(u64, u64)> {
        let mut world = self.0.borrow_mut();
        world.readings += 1;
        let moving = world.alive.contains_key(&pid)
            && world
                .ports
                .values()
                .any(|name| world.script(name).never_settles);
        let rss = if moving {
            (10 + world.readings) * MIB
        } else {
            10 * MIB
        };
        Ok((rss, rss + 100 * MIB))
    }
}

/// Answers every request of a plan at once, as its server's script says.
pub struct FakeLoad(pub Shared);

impl FakeLoad {
    fn answer(&self, addr: SocketAddr, plan: &LoadPlan) -> HammerReport {
        let mut world = self.0.borrow_mut();
        let name = world.ports.get(&addr.port()).cloned().unwrap_or_default();
        let alive = world.alive.values().any(|alive| *alive);
        let script = world.script(&name);
        world
            .events
            .push(format!("load {name} {}", plan.n_requests));
        let outcome = match (alive, script.wrong_body) {
            (false, _) => Outcome::Failed(ErrorKind::Refused),
            (true, wrong) => Outcome::Status {
                code: 200,
                status_ok: true,
                body_ok: !wrong,
            },
        };
        let mut collector = Collector::new(plan);
        for _ in 0..plan.n_requests {
            collector.record(RequestResult {
                latency: FAKE_LATENCY,
                outcome,
            });
        }
        let n = u32::try_from(plan.n_requests.max(1)).unwrap_or(u32::MAX);
        collector.finish(FAKE_LATENCY * n)
    }
}

impl Load for FakeLoad {
    fn run(&self, addr: SocketAddr, plan: &LoadPlan) -> Result<HammerReport> {
        Ok(self.answer(addr, plan))
    }

    fn connect(&self, addr: SocketAddr, _: &LoadPlan) -> Result<Box<dyn Sequential>> {
        Ok(Box::new(FakeConnection {
            load: FakeLoad(Rc::clone(&self.0)),
            addr,
        }))
    }

    fn pool(&self, addr: SocketAddr, _: &LoadPlan) -> Result<Box<dyn Pooled>> {
        Ok(Box::new(FakeConnection {
            load: FakeLoad(Rc::clone(&self.0)),
            addr,
        }))
    }

    fn threads(&self) -> usize {
        1
    }
}

impl Pooled for FakeConnection {
    fn run(&mut self, plan: &LoadPlan) -> HammerReport {
        self.load.answer(self.addr, plan)
    }
}

struct FakeConnection {
    load: FakeLoad,
    addr: SocketAddr,
}

impl Sequential for FakeConnection {
    fn run(&mut self, plan: &LoadPlan) -> HammerReport {
        self.load.answer(self.addr, plan)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::config::BenchConfig;
    use crate::record::{Phase, RunMode, RunRecord, ServerRecord};
    use crate::run::executor::{Run, Seams};
    use crate::run::plan::{Bench, Filter, Plan, ServerId, Step};
    use crate::server::manifest::VersionSource;
    use crate::workspace::Workspace;

    fn spec(name: &str) -> ServerSpec {
        ServerSpec {
            name: name.to_owned(),
            description: format!("{name}, scripted"),
            group: "rust".into(),
            manifest: PathBuf::from(format!("/nonexistent/{name}/server.toml")),
            dir: PathBuf::from(format!("/nonexistent/{name}")),
            version: VersionSource::Value("1.0.0".into()),
            build: None,
            run: vec!["{bin}".into(), "--port".into(), "{port}".into()],
            ready: crate::server::manifest::Readiness::ContractLine,
            requests: crate::load::request::RequestSet::contract(),
        }
    }

    /// A run over `scripts` through the fakes: two rounds, a burst of 20,
    /// and a settle cap of 60 ms.
    fn run(world: &Shared, names: &[&str], mode: RunMode) -> Run {
        let config = BenchConfig {
            n_requests: 20,
            rounds: 2,
            settle: Duration::from_millis(60),
            ..BenchConfig::default()
        };
        let seams = Seams {
            launcher: Box::new(FakeLauncher(Rc::clone(world))),
            sampler: Box::new(FakeSampler(Rc::clone(world))),
            load: Box::new(FakeLoad(Rc::clone(world))),
            // A still server settles in four readings, with no wait.
            sleep: |_| {},
        };
        let workspace = Workspace::at(std::env::temp_dir().join("framework-bench-fake"));
        let specs = names.iter().map(|n| spec(n)).collect();
        Run::with_seams(&workspace, config, mode, specs, seams).unwrap()
    }

    /// The default plan for `pattern`, executed with 5 iterations a sample.
    fn execute(world: &Shared, names: &[&str], pattern: &str) -> RunRecord {
        let mut run = run(world, names, RunMode::Benchmark);
        let plan = run.default_plan(&Filter::matching(pattern).unwrap());
        run.execute_plan(&plan, 5);
        run.finish()
    }

    fn server<'a>(record: &'a RunRecord, name: &str) -> &'a ServerRecord {
        record.servers.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn rate_runs_take_the_baselines_rate_where_it_has_one() {
        let world = world(&[]);
        let mut run = run(&world, &["axum"], RunMode::Test);
        run.set_baseline_rates(BTreeMap::from([(
            ("axum".to_owned(), crate::load::Route::HELLO, 50),
            1234,
        )]));
        let plan = run.default_plan(&Filter::matching("throughput").unwrap());
        run.execute_plan(&plan, 5);
        let record = run.finish();
        let rates: Vec<(crate::load::Route, Option<u8>, u32)> = server(&record, "axum")
            .constant_rate
            .iter()
            .map(|r| (r.route, r.percent_of_max, r.target_per_second))
            .collect();
        assert!(
            rates.contains(&(crate::load::Route::HELLO, Some(50), 1234)),
            "{rates:?}"
        );
        // Where the baseline has none, the run's own maximum sets it.
        assert!(
            rates
                .iter()
                .any(|&(route, percent, rate)| route == crate::load::Route::JSON
                    && percent == Some(50)
                    && rate != 1234),
            "{rates:?}"
        );
    }

    #[test]
    fn a_default_plan_fills_every_round_and_benchmark_of_the_record() {
        let world = world(&[]);
        let record = execute(&world, &["axum", "warp"], ".");
        for name in ["axum", "warp"] {
            let server = server(&record, name);
            assert_eq!(server.error, None);
            assert_eq!(server.version.as_deref(), Some("1.0.0"));
            assert_eq!(server.command[0], "/nonexistent/fake-server");
            // Two rounds, then two with the heap counted.
            assert_eq!(server.rounds.len(), 4);
            let counted: Vec<bool> = server.rounds.iter().map(|r| r.counted).collect();
            assert_eq!(counted, [false, false, true, true]);
            for round in &server.rounds {
                assert_eq!(round.before.as_ref().unwrap().rss_bytes, 10 * MIB);
                assert!(round.settle_before.unwrap().settled);
                assert_eq!(round.burst.as_ref().unwrap().success_rate, 1.0);
                assert_eq!(round.after.as_ref().unwrap().vms_bytes, 110 * MIB);
            }
            assert!(server.end.is_some(), "round 1 is read at its stop");
            assert_eq!(server.latency.len(), 2);
            // Four rounds and two latency processes, each stopped cleanly.
            assert_eq!(server.stops.len(), 6);
            assert!(server.stops.iter().all(|s| s.clean));
        }
        assert!(world.borrow().running().is_empty(), "nothing left running");
    }

    #[test]
    fn a_filtered_run_records_only_the_servers_it_measured() {
        let world = world(&[]);
        let record = execute(&world, &["axum", "warp"], "latency-json/warp");
        let names: Vec<&str> = record.servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["warp"]);
        let warp = &record.servers[0];
        assert_eq!(warp.rounds.len(), 1, "its first process is round 1");
        assert!(warp.rounds[0].burst.is_none());
        assert_eq!(
            warp.latency.keys().collect::<Vec<_>>(),
            [&crate::load::Route::JSON]
        );
    }

    #[test]
    fn only_one_process_runs_at_a_time() {
        let world = world(&[]);
        execute(&world, &["axum", "warp", "tide"], ".");
        let mut running = 0;
        for event in &world.borrow().events {
            if event.starts_with("start") {
                running += 1;
            } else if event.starts_with("stop") {
                running -= 1;
            }
            assert!(running <= 1, "{:?}", world.borrow().events);
        }
    }

    #[test]
    fn a_crash_in_round_two_fails_that_server_only() {
        let crashing = Script {
            crashes_in_start: Some(2),
            ..Script::default()
        };
        let world = world(&[("axum", crashing)]);
        let record = execute(&world, &["axum", "warp"], ".");
        let axum = server(&record, "axum");
        let error = axum.error.as_deref().unwrap();
        assert!(
            error.starts_with("axum crashed (killed by SIGSEGV) while it settled"),
            "{error}"
        );
        assert_eq!(axum.rounds.len(), 2, "round 2 is kept with its pid");
        assert!(axum.rounds[1].before.is_none());
        assert!(axum.latency.is_empty(), "no benchmark after the failure");
        assert_eq!(axum.stops.len(), 2);
        let warp = server(&record, "warp");
        assert_eq!((warp.error.as_deref(), warp.latency.len()), (None, 2));
    }

    #[test]
    fn a_settle_that_never_settles_is_read_at_its_cap_and_said() {
        let moving = Script {
            never_settles: true,
            ..Script::default()
        };
        let world = world(&[("axum", moving)]);
        let started = Instant::now();
        let record = execute(&world, &["axum"], "^memory-");
        let round = &server(&record, "axum").rounds[0];
        let settle = round.settle_before.unwrap();
        assert!(!settle.settled);
        assert!(settle.waited >= Duration::from_millis(60), "{settle:?}");
        assert_eq!(server(&record, "axum").error, None);
        // Four settles of two rounds, each at its cap, and little else.
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_wrong_body_fails_the_latency_benchmark_and_drops_what_it_measured() {
        let wrong = Script {
            wrong_body: true,
            ..Script::default()
        };
        let world = world(&[("axum", wrong)]);
        let record = execute(&world, &["axum", "warp"], "^latency-");
        let axum = server(&record, "axum");
        let error = axum.error.as_deref().unwrap();
        assert!(
            error.starts_with("axum failed 5 of 5 requests to GET /hello/World during the latency hello benchmark: 200-wrong-body: 5"),
            "{error}"
        );
        assert!(axum.latency.is_empty());
        assert_eq!(server(&record, "warp").latency.len(), 2);
    }

    #[test]
    fn a_failed_build_is_named_and_nothing_of_that_server_starts() {
        let broken = Script {
            build_fails: true,
            ..Script::default()
        };
        let world = world(&[("axum", broken)]);
        let record = execute(&world, &["axum", "warp"], ".");
        let axum = server(&record, "axum");
        assert!(
            axum.error
                .as_deref()
                .unwrap()
                .starts_with("axum: build failed (cargo build)")
        );
        assert!(axum.rounds.is_empty() && axum.stops.is_empty());
        assert!(!world.borrow().events.iter().any(|e| e == "start axum"));
        assert_eq!(server(&record, "warp").rounds.len(), 4);
    }

    #[test]
    fn a_server_that_cannot_be_stopped_is_named_and_the_run_goes_on() {
        let stubborn = Script {
            ignores_sigterm: true,
            ..Script::default()
        };
        let world = world(&[("axum", stubborn)]);
        let record = execute(&world, &["axum", "warp"], "^memory-");
        let axum = server(&record, "axum");
        let error = axum.error.as_deref().unwrap();
        assert!(
            error.contains("did not stop cleanly on SIGTERM: killed after the stop deadline"),
            "{error}"
        );
        assert!(axum.stops.iter().all(|s| !s.clean));
        assert_eq!(axum.rounds.len(), 4, "a dirty stop measures on");
        assert_eq!(server(&record, "warp").error, None);
    }

    #[test]
    fn a_failed_servers_benchmarks_are_not_begun() {
        let world = world(&[(
            "axum",
            Script {
                crashes_in_start: Some(1),
                ..Script::default()
            },
        )]);
        let mut run = run(&world, &["axum"], RunMode::Benchmark);
        let axum = ServerId(0);
        run.execute(&Step::Start {
            server: axum,
            round: Some(1),
        });
        run.execute(&Step::Settle {
            server: axum,
            phase: Phase::Before,
        });
        let bench = Bench::Latency {
            server: axum,
            route: crate::load::Route::HELLO,
        };
        assert!(!run.begin(&bench));
        assert!(run.measure(&bench, 3).is_err());
        let record = run.finish();
        assert!(record.servers[0].error.is_some());
    }

    #[test]
    fn a_plan_is_data_another_order_runs_without_new_code() {
        // Two servers' rounds interleaved, A B B A: the executor needs
        // nothing new to run it.
        let world = world(&[]);
        let mut run = run(&world, &["a", "b"], RunMode::Benchmark);
        let round = |server, round| {
            vec![
                Step::Start {
                    server: ServerId(server),
                    round: Some(round),
                },
                Step::Settle {
                    server: ServerId(server),
                    phase: Phase::Before,
                },
                Step::Burst {
                    server: ServerId(server),
                },
                Step::Settle {
                    server: ServerId(server),
                    phase: Phase::After,
                },
                Step::Stop {
                    server: ServerId(server),
                },
            ]
        };
        let steps = [round(0, 1), round(1, 1), round(1, 2), round(0, 2)].concat();
        run.execute_plan(&Plan { steps }, 1);
        let record = run.finish();
        assert!(
            record
                .servers
                .iter()
                .all(|s| s.rounds.len() == 2 && s.error.is_none())
        );
        let order: Vec<String> = world
            .borrow()
            .events
            .iter()
            .filter(|e| e.starts_with("start"))
            .cloned()
            .collect();
        assert_eq!(order, ["start a", "start b", "start b", "start a"]);
    }

    #[test]
    fn an_ab_run_alternates_whole_rounds_with_readings_and_no_criterion_benchmark() {
        let world = world(&[]);
        let config = BenchConfig {
            n_requests: 20,
            rounds: 4,
            // Heap rounds: see the plan's tests and the default run's.
            count_heap: false,
            settle: Duration::from_millis(60),
            ab: Some(crate::config::AbPair {
                a: "b".into(),
                b: "a".into(),
            }),
            ..BenchConfig::default()
        };
        let seams = Seams {
            launcher: Box::new(FakeLauncher(Rc::clone(&world))),
            sampler: Box::new(FakeSampler(Rc::clone(&world))),
            load: Box::new(FakeLoad(Rc::clone(&world))),
            sleep: |_| {},
        };
        let workspace = Workspace::at(std::env::temp_dir().join("framework-bench-fake"));
        let specs = vec![spec("a"), spec("b")];
        let mut run =
            Run::with_seams(&workspace, config, RunMode::Benchmark, specs, seams).unwrap();
        // Criterion's filter does not apply to an A/B run.
        let plan = run.default_plan(&Filter::matching("nothing-matches").unwrap());
        assert_eq!(plan.benches().count(), 0);
        run.execute_plan(&plan, 1);
        let record = run.finish();
        for server in &record.servers {
            assert_eq!(server.error, None);
            assert_eq!(server.rounds.len(), 4, "{}", server.name);
            assert!(server.rounds.iter().all(|r| r.probes.len() == 2));
            // The pairs cancel the drift: no control is read in an A/B run.
            assert!(server.rounds.iter().all(|r| r.control.is_none()));
            assert!(server.latency.is_empty(), "no Criterion benchmark");
        }
        let order: Vec<String> = world
            .borrow()
            .events
            .iter()
            .filter(|e| e.starts_with("start"))
            .cloned()
            .collect();
        // A is `b` here: the pair's order, not the manifests'.
        assert_eq!(
            order,
            [
                "start b", "start a", "start a", "start b", "start b", "start a", "start a",
                "start b"
            ]
        );
    }

    #[test]
    fn a_panic_while_measuring_fails_that_server_only() {
        let world = world(&[]);
        let mut run = run(&world, &["axum", "warp"], RunMode::Benchmark);
        let plan = run.default_plan(&Filter::matching("^latency-hello/(axum|warp)$").unwrap());
        let axum = Bench::Latency {
            server: ServerId(0),
            route: crate::load::Route::HELLO,
        };
        for step in &plan.steps {
            match step {
                Step::Bench(bench) if *bench == axum => {
                    assert!(run.begin(bench));
                    run.measure(bench, 5).unwrap();
                    // As the pipeline does when measuring panicked.
                    run.fail_by_panic(bench, "index out of bounds".into());
                }
                Step::Bench(bench) => {
                    if run.begin(bench) {
                        run.measure(bench, 5).unwrap();
                    }
                }
                step => run.execute(step),
            }
        }
        let record = run.finish();
        let axum = server(&record, "axum");
        assert_eq!(
            axum.error.as_deref(),
            Some("axum: the harness panicked while measuring it: index out of bounds")
        );
        assert!(
            axum.latency.is_empty(),
            "nothing of it may pass for measured"
        );
        assert_eq!(server(&record, "warp").error, None);
        assert!(world.borrow().running().is_empty());
    }
}
