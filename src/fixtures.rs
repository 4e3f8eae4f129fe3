//! Test fixtures shared by the unit tests: one run record, built once.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::conditions::Placement;
use crate::config::BenchConfig;
use crate::load::Route;
use crate::load::hammer::{Connections, LatencySummary};
use crate::measure::environment::Environment;
use crate::measure::estimate::{Estimate, Statistic};
use crate::measure::heap::{HeapActivity, HeapSnapshot};
use crate::measure::memory::MemorySnapshot;
use crate::measure::timeline::{Sample, Timeline};
use crate::record::RunMode;
use crate::record::{
    BurstRecord, HarnessRecord, LatencyRecord, ProbeRecord, RUN_SCHEMA, RoundRecord, RunRecord,
    ServerRecord, StopRecord,
};
use crate::record::{InstructionsRecord, LeakPoint, LeakRecord};

pub const MIB: f64 = crate::units::BYTES_PER_MIB;
/// The estimate of axum's `latency-hello` in [`run`].
pub const HELLO_SLOPE_NS: f64 = 52_340.0;

/// A snapshot with every figure known: RSS `rss_mib`, the rest derived.
pub fn snapshot(pid: u32, rss_mib: f64) -> MemorySnapshot {
    let rss = (rss_mib * MIB) as u64;
    MemorySnapshot {
        uss_bytes: Some(rss / 2),
        pss_bytes: Some(rss * 3 / 4),
        anonymous_bytes: Some(rss / 4),
        swap_bytes: Some(0),
        peak_rss_bytes: Some(rss),
        threads: Some(3),
        cpu_time: Some(Duration::from_millis(10)),
        ..MemorySnapshot::new(pid, rss, 140 * MIB as u64)
    }
}

pub fn latency(count: u64) -> LatencySummary {
    LatencySummary {
        count,
        min_ns: 40_000,
        mean_ns: 52_000,
        p50_ns: 51_000,
        p90_ns: 60_000,
        p99_ns: 80_000,
        p999_ns: 80_000,
        max_ns: 200_000,
    }
}

/// A burst of 2000 that all succeeded in 0.5 s.
pub fn burst() -> BurstRecord {
    BurstRecord {
        n_requests: 2000,
        concurrency: 2000,
        connections: Connections::PerRequest,
        timeout: Duration::from_secs(1),
        wall_time: Duration::from_millis(500),
        seconds_per_call: 0.00025,
        success_rate: 1.0,
        requests_per_second: 4000.0,
        counts: BTreeMap::from([("200".to_owned(), 2000)]),
        latency: latency(2000),
        network: Some(Default::default()),
        peak_rss_bytes: Some(20 * MIB as u64),
        server_cpu_time: Some(Duration::from_millis(200)),
        client_busy: Some(0.5),
        client_bound: false,
        held_connections: None,
        heap: None,
    }
}

/// A round: 3 MiB before the burst, `after_mib` after it.
pub fn round(pid: u32, after_mib: f64) -> RoundRecord {
    RoundRecord {
        before: Some(snapshot(pid, 3.0)),
        burst: Some(burst()),
        after: Some(snapshot(pid, after_mib)),
        ..RoundRecord::started(pid, Duration::from_millis(8))
    }
}

/// axum: three rounds (15, 16, 17 MiB after the burst), hello estimated,
/// json measured without an estimate.
pub fn server() -> ServerRecord {
    let estimate = Estimate {
        statistic: Statistic::Slope,
        point_ns: HELLO_SLOPE_NS,
        lower_ns: 51_000.0,
        upper_ns: 53_500.0,
        confidence_level: 0.95,
        n_samples: 100,
    };
    ServerRecord {
        version: Some("0.8.9".into()),
        command: vec!["server-axum".into(), "--port".into(), "0".into()],
        rounds: vec![round(100, 15.0), round(101, 16.0), round(102, 17.0)],
        end: Some(snapshot(100, 15.5)),
        latency: BTreeMap::from([
            (
                Route::HELLO,
                LatencyRecord {
                    requests: latency(5000),
                    estimate: Some(estimate),
                    server_cpu_time: Some(Duration::from_millis(150)),
                    client_busy: Some(0.6),
                    client_bound: false,
                    closed_by_server: Some(0),
                },
            ),
            (
                Route::JSON,
                LatencyRecord {
                    requests: latency(1),
                    estimate: None,
                    server_cpu_time: None,
                    client_busy: None,
                    client_bound: false,
                    closed_by_server: Some(0),
                },
            ),
        ]),
        stops: vec![StopRecord {
            pid: 100,
            exit: "exit status 0".into(),
            clean: true,
            stop_time: Duration::from_millis(5),
        }],
        ..ServerRecord::new("axum", "axum 0.8 on tokio", 2)
    }
}

/// A server with one round, as the report tests draw them.
pub fn server_with(
    name: &str,
    version: &str,
    round: RoundRecord,
    error: Option<&str>,
) -> ServerRecord {
    ServerRecord {
        version: Some(version.into()),
        rounds: vec![round],
        error: error.map(str::to_owned),
        ..ServerRecord::new(name, "", 2)
    }
}

/// A benchmark-mode run of [`server`].
pub fn run() -> RunRecord {
    RunRecord {
        schema: RUN_SCHEMA.to_owned(),
        mode: RunMode::Benchmark,
        started_at_unix: 1_795_000_000,
        finished_at_unix: 1_795_000_090,
        wall_time: Duration::from_secs(90),
        // Fixed, so that no output depends on this machine's CPUs.
        config: BenchConfig {
            workers: 1,
            placement: Placement {
                pinned: true,
                server_cpus: "1".parse().unwrap_or_default(),
                client_cpus: "0".parse().unwrap_or_default(),
            },
            ..BenchConfig::default()
        },
        conditions: crate::conditions::Conditions {
            backlog: Some(2000),
            somaxconn: Some(4096),
        },
        environment: Environment {
            cpus: 2,
            ..Environment::default()
        },
        harness: HarnessRecord {
            version: "0.1.0".into(),
            before: snapshot(1, 4.0),
            after: Some(snapshot(1, 20.0)),
        },
        servers: vec![server()],
        client_ceiling: BTreeMap::new(),
        client_floor: None,
        time_by_step_ns: BTreeMap::new(),
    }
}

/// [`run`] with every field the run file can hold filled in somewhere: the
/// sweep, its ceiling, a constant-rate run, the settles, the environment,
/// and a second server that failed. The committed example run file
/// (`tests/fixtures/run-v5.json`) is this run, written.
pub fn full_run() -> RunRecord {
    use crate::measure::settle::Settle;
    use crate::record::RateRecord;
    let mut run = run();
    run.environment = Environment {
        cpu_model: Some("AMD EPYC".into()),
        cpus: 2,
        memory_bytes: Some(24 << 30),
        kernel: Some("6.18.0".into()),
        os: Some("Debian GNU/Linux 12".into()),
        rustc: Some("rustc 1.95.0".into()),
        git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
    };
    let hello = run.servers[0].latency[&Route::HELLO].clone();
    let sweep_step = |client_bound| LatencyRecord {
        client_bound,
        ..hello.clone()
    };
    run.client_ceiling = BTreeMap::from([(16, sweep_step(false))]);
    run.client_floor = Some(hello.clone());
    run.time_by_step_ns = BTreeMap::from([
        ("burst".to_owned(), 400_000_000),
        ("probe".to_owned(), 1_800_000_000),
    ]);
    let axum = &mut run.servers[0];
    for round in &mut axum.rounds {
        round.settle_before = Some(Settle {
            waited: Duration::from_millis(100),
            settled: true,
        });
        round.settle_after = Some(Settle {
            waited: Duration::from_millis(300),
            settled: false,
        });
        let probe = |us: u64, cpu| ProbeRecord {
            n_requests: 2000,
            wall_time: Duration::from_micros(us * 2000),
            requests: latency(2000),
            server_cpu_time: cpu,
            heap: cpu.map(|_| HeapActivity {
                allocations: 2000 * 14,
                frees: 2000 * 14,
                bytes_allocated: 2000 * 5_120,
                peak_live_bytes: 2 * MIB as u64,
            }),
        };
        round.probes = BTreeMap::from([
            (Route::HELLO, probe(80, Some(Duration::from_millis(60)))),
            (Route::JSON, probe(82, Some(Duration::from_millis(62)))),
        ]);
        round.control = Some(probe(70, None));
        if let Some(burst) = &mut round.burst {
            burst.connections = crate::load::hammer::Connections::Held;
            burst.held_connections = Some(2000);
            burst.heap = Some(HeapActivity {
                allocations: 2000 * 40,
                frees: 2000 * 38,
                bytes_allocated: 2000 * 80_000,
                peak_live_bytes: 30 * MIB as u64,
            });
        }
        let heap = |live: u64| HeapSnapshot {
            allocations: 1_000,
            frees: 800,
            reallocations: 20,
            bytes_allocated: live + MIB as u64,
            bytes_freed: MIB as u64,
            peak_live_bytes: live,
            processes: 1,
        };
        round.heap_before = Some(heap(MIB as u64));
        round.heap_after = Some(heap(6 * MIB as u64));
        round.timeline = Some(Timeline {
            burst_end_us: 200_000,
            samples_taken: 4,
            sampler_cpu_ns: 40_000,
            samples: [(0, 3), (100_000, 20), (200_000, 18), (400_000, 16)]
                .map(|(at_us, mib)| Sample {
                    at_us,
                    rss_bytes: mib * MIB as u64,
                    live_heap_bytes: Some(mib * MIB as u64 / 2),
                })
                .to_vec(),
        });
    }
    // The heap rounds after them: the same phases, with the heap counted
    // (and no control); the others then carry no heap figure.
    let counted: Vec<RoundRecord> = axum
        .rounds
        .iter()
        .map(|round| RoundRecord {
            counted: true,
            control: None,
            pid: round.pid + 10,
            ..round.clone()
        })
        .collect();
    for round in &mut axum.rounds {
        round.heap_before = None;
        round.heap_after = None;
        for probe in round.probes.values_mut() {
            probe.heap = None;
        }
        if let Some(burst) = &mut round.burst {
            burst.heap = None;
        }
        if let Some(timeline) = &mut round.timeline {
            for sample in &mut timeline.samples {
                sample.live_heap_bytes = None;
            }
        }
    }
    axum.rounds.extend(counted);
    axum.instructions = BTreeMap::from([(
        Route::HELLO,
        InstructionsRecord {
            requests_per_batch: 1000,
            batches: vec![16_700_000, 16_720_000, 16_690_000],
        },
    )]);
    axum.leak = Some(LeakRecord {
        pid: 110,
        requests_per_burst: 2000,
        bursts: (0..4)
            .map(|i| LeakPoint {
                success_rate: 1.0,
                rss_bytes: (16 + i) * MIB as u64,
                live_heap_bytes: Some(6 * MIB as u64 + i * 1000),
            })
            .collect(),
    });
    axum.throughput = BTreeMap::from([(16, sweep_step(true))]);
    axum.constant_rate = vec![RateRecord {
        route: Route::HELLO,
        percent_of_max: Some(50),
        connections: 16,
        target_per_second: 20_000,
        achieved_per_second: 19_990.0,
        requests: latency(40_000),
        counts: BTreeMap::from([("200".to_owned(), 40_000)]),
        server_cpu_time: Some(Duration::from_millis(900)),
        client_busy: Some(0.4),
        closed_by_server: Some(0),
        lateness: Some(LatencySummary {
            count: 40_000,
            min_ns: 1_000,
            mean_ns: 20_000,
            p50_ns: 15_000,
            p90_ns: 40_000,
            p99_ns: 90_000,
            p999_ns: 400_000,
            max_ns: 2_000_000,
        }),
    }];
    let failed = ServerRecord {
        error: Some("warp crashed (killed by SIGSEGV) during the burst".into()),
        // Every field of a route's record filled, json's too.
        latency: BTreeMap::from([(Route::JSON, hello.clone())]),
        ..server_with("warp", "0.4.3", round(200, 15.0), None)
    };
    run.servers.push(failed);
    run
}
