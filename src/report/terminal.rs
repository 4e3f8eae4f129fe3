//! The terminal: the run's tables, in the spirit of the seed's printout
//! (memory before, the burst, memory after with the change, and the
//! harness's own row), and the comparison with a baseline.

use std::fmt::Write;

use crate::compare::verdict::Comparison;
use crate::measure::memory::MemorySnapshot;
use crate::record::{BurstRecord, RunRecord, ServerRecord};
use crate::report::comparison::ComparisonView;
use crate::report::latency::latency_table;
use crate::report::table::{Align, Table};
use crate::units::BYTES_PER_MIB as MIB;

/// The comparison: what changed first, then the figures within noise.
pub fn comparison(comparison: &Comparison) -> String {
    let view = ComparisonView::of(comparison);
    let mut out = format!("{}\n", view.title);
    for warning in &view.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    if view.changed.rows.is_empty() {
        out.push_str("Nothing changed beyond noise.\n");
    } else {
        out.push_str(&view.changed.to_terminal());
    }
    if !view.within_noise.rows.is_empty() {
        let _ = writeln!(out, "\nWithin noise:");
        out.push_str(&view.within_noise.to_terminal());
    }
    let _ = writeln!(out, "{}", view.counts);
    out
}

/// The whole table for a run.
pub fn render(run: &RunRecord) -> String {
    let mut out = String::new();
    let c = &run.config;
    let _ = writeln!(
        out,
        "framework-bench ({:?} mode): {} requests per burst, {:.1} s timeout, {} workers per server, settle {:.1} s, {} latency connection(s)",
        run.mode,
        c.n_requests,
        c.timeout.as_secs_f64(),
        c.workers,
        c.settle.as_secs_f64(),
        c.concurrency
    );
    let _ = writeln!(out, "{}", conditions_line(run));
    let _ = writeln!(out, "\nServers");
    out.push_str(&crate::report::servers::servers_table(run).to_terminal());
    let _ = writeln!(out, "\nMemory before the burst (MiB)");
    out.push_str(&before_table(run));
    let _ = writeln!(
        out,
        "\nBurst: {} requests at once, each on its own connection, {:.1} s timeout",
        c.n_requests,
        c.timeout.as_secs_f64()
    );
    out.push_str(&burst_table(run));
    let _ = writeln!(out, "\nMemory after the burst (MiB, change from before)");
    out.push_str(&after_table(run));
    if run.servers.iter().any(|s| !s.latency.is_empty()) {
        let _ = writeln!(
            out,
            "\nLatency (the estimate Criterion printed, with its interval; percentiles of every request sent; server CPU per request)"
        );
        out.push_str(&latency_table(run).to_terminal());
    }
    if !run.client_ceiling.is_empty() || run.servers.iter().any(|s| !s.throughput.is_empty()) {
        let _ = writeln!(
            out,
            "\nThroughput: /hello/World over C keep-alive connections, beside the client's own ceiling (a responder in the harness)"
        );
        out.push_str(&crate::report::throughput::throughput_table(run).to_terminal());
    }
    if run.servers.iter().any(|s| !s.constant_rate.is_empty()) {
        let _ = writeln!(
            out,
            "\nConstant rate: an open loop at a share of each server's maximum, latency from when each request was due"
        );
        out.push_str(&crate::report::throughput::rate_table(run).to_terminal());
    }
    let failed: Vec<&ServerRecord> = run.servers.iter().filter(|s| s.error.is_some()).collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\nFailed");
        for server in failed {
            let error = server.error.as_deref().unwrap_or_default();
            let _ = writeln!(
                out,
                "{}: {}",
                server.name,
                error.lines().next().unwrap_or("")
            );
        }
    }
    out
}

/// The conditions every server was measured under.
fn conditions_line(run: &RunRecord) -> String {
    let p = &run.config.placement;
    let cpus = if p.pinned {
        format!(
            "servers on CPUs {}, client on CPUs {}",
            p.server_cpus, p.client_cpus
        )
    } else {
        format!("not pinned (CPUs {})", p.server_cpus)
    };
    let backlog = run
        .conditions
        .backlog
        .map_or("each framework's own".to_owned(), |b| b.to_string());
    format!("Conditions: {cpus}; listen backlog {backlog}")
}

fn before_table(run: &RunRecord) -> String {
    let mut table = Table::new(&[
        "server", "version", "pid", "startup", "rss", "vms", "uss", "pss", "anon", "threads",
    ])
    .aligned(1, Align::Left);
    for s in &run.servers {
        let first = s.first_round();
        let mut row = vec![
            s.name.clone(),
            s.version.clone().unwrap_or_else(|| "-".into()),
            first.map_or("-".into(), |r| r.pid.to_string()),
            first.map_or("-".into(), |r| {
                format!("{:.1} ms", r.startup_time.as_secs_f64() * 1e3)
            }),
        ];
        row.extend(memory_cells(first.and_then(|r| r.before.as_ref())));
        table.push(row);
    }
    let h = &run.harness;
    let mut row = vec![
        "main (harness)".into(),
        h.version.clone(),
        h.before.pid.to_string(),
        String::new(),
    ];
    row.extend(memory_cells(Some(&h.before)));
    table.push(row);
    table.to_terminal()
}

fn burst_table(run: &RunRecord) -> String {
    let headers = [
        "server", "total", "s/call", "success", "peak rss", "cpu/req", "counter",
    ];
    let mut table = Table::new(&headers).aligned(6, Align::Left);
    for s in &run.servers {
        let mut row = vec![s.name.clone()];
        match s.first_round().and_then(|r| r.burst.as_ref()) {
            Some(b) => row.extend(burst_cells(b)),
            None => row.extend(["-", "-", "-", "-", "-", "(not run)"].map(String::from)),
        }
        table.push(row);
    }
    table.to_terminal()
}

/// A burst's cells; a figure the kernel did not give is `n/a`, and a burst
/// whose client was the bottleneck says so.
fn burst_cells(b: &BurstRecord) -> [String; 6] {
    let peak = b
        .peak_rss_bytes
        .map_or("n/a".into(), |p| format!("{:.2}", p as f64 / MIB));
    let cpu = b.server_cpu_per_request_ns();
    let cpu = cpu.map_or("n/a".into(), |ns| format!("{:.1} µs", ns / 1e3));
    let mut outcomes = b.outcome_text();
    if b.client_bound {
        outcomes.push_str(" [client-bound]");
    }
    [
        format!("{:.3} s", b.wall_time.as_secs_f64()),
        format!("{:.5}", b.seconds_per_call),
        format!("{:.1}%", b.success_rate * 100.0),
        peak,
        cpu,
        outcomes,
    ]
}

fn after_table(run: &RunRecord) -> String {
    let mut table = Table::new(&["server", "rss", "vms", "uss", "pss", "anon", "threads"]);
    for s in &run.servers {
        let first = s.first_round();
        let mut row = vec![s.name.clone()];
        row.extend(change_cells(
            first.and_then(|r| r.before.as_ref()),
            first.and_then(|r| r.after.as_ref()),
        ));
        table.push(row);
    }
    let h = &run.harness;
    let mut row = vec!["main (harness)".into()];
    row.extend(change_cells(Some(&h.before), h.after.as_ref()));
    table.push(row);
    table.to_terminal()
}

/// rss, vms, uss, pss, anon (MiB) and threads.
fn figures(s: &MemorySnapshot) -> [Option<f64>; 6] {
    let mib = |b: u64| b as f64 / MIB;
    [
        Some(mib(s.rss_bytes)),
        Some(mib(s.vms_bytes)),
        s.uss_bytes.map(mib),
        s.pss_bytes.map(mib),
        s.anonymous_bytes.map(mib),
        s.threads.map(|t| t as f64),
    ]
}

fn memory_cells(snapshot: Option<&MemorySnapshot>) -> Vec<String> {
    match snapshot {
        None => vec!["-".into(); 6],
        Some(s) => {
            let f = figures(s);
            f.iter()
                .enumerate()
                .map(|(i, v)| match (i, v) {
                    (_, None) => "n/a".into(),
                    (5, Some(t)) => format!("{t:.0}"),
                    (_, Some(v)) => format!("{v:.2}"),
                })
                .collect()
        }
    }
}

fn change_cells(before: Option<&MemorySnapshot>, after: Option<&MemorySnapshot>) -> Vec<String> {
    let (Some(before), Some(after)) = (before, after) else {
        return vec!["-".into(); 6];
    };
    figures(before)
        .iter()
        .zip(figures(after))
        .enumerate()
        .map(|(i, (b, a))| match (b, a) {
            (_, None) => "n/a".into(),
            (Some(b), Some(a)) if i == 5 => format!("{a:.0} ({:+})", a as i64 - *b as i64),
            (Some(b), Some(a)) if *b > 0.0 => format!("{a:.2} ({:+.1}%)", (a - b) / b * 100.0),
            (_, Some(a)) => format!("{a:.2}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::hammer::{Connections, LatencySummary};
    use crate::measure::netstat::TcpCounters;
    use crate::record::{BurstRecord, HarnessRecord, RoundRecord};
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn snapshot(pid: u32, rss_mib: f64) -> MemorySnapshot {
        MemorySnapshot {
            uss_bytes: Some((1.25 * MIB) as u64),
            pss_bytes: Some((1.5 * MIB) as u64),
            anonymous_bytes: Some((0.25 * MIB) as u64),
            swap_bytes: Some(0),
            peak_rss_bytes: Some((rss_mib * MIB) as u64),
            threads: Some(3),
            cpu_time: Some(Duration::from_millis(5)),
            ..MemorySnapshot::new(pid, (rss_mib * MIB) as u64, (130.0 * MIB) as u64)
        }
    }

    fn server(name: &str, error: Option<&str>) -> ServerRecord {
        let round = RoundRecord {
            before: Some(snapshot(42, 3.0)),
            burst: error.is_none().then(|| BurstRecord {
                n_requests: 2000,
                concurrency: 2000,
                connections: Connections::PerRequest,
                timeout: Duration::from_secs(1),
                wall_time: Duration::from_millis(412),
                seconds_per_call: 0.000206,
                success_rate: 0.9935,
                requests_per_second: 4854.0,
                counts: BTreeMap::from([("200".into(), 1987), ("timeout".into(), 13)]),
                latency: LatencySummary {
                    count: 1987,
                    min_ns: 1,
                    mean_ns: 2,
                    p50_ns: 2,
                    p90_ns: 3,
                    p99_ns: 4,
                    p999_ns: 4,
                    max_ns: 5,
                },
                network: Some(TcpCounters {
                    listen_overflows: 13,
                    ..TcpCounters::default()
                }),
                ..crate::fixtures::burst()
            }),
            after: error.is_none().then(|| snapshot(42, 3.3)),
            ..RoundRecord::started(42, Duration::from_micros(4100))
        };
        crate::fixtures::server_with(name, "0.8.9", round, error)
    }

    #[test]
    fn renders_the_seeds_three_blocks_and_failures() {
        let run = RunRecord {
            started_at_unix: 0,
            finished_at_unix: 1,
            environment: Default::default(),
            harness: HarnessRecord {
                version: "0.1.0".into(),
                before: snapshot(7, 10.0),
                after: Some(snapshot(7, 12.0)),
            },
            servers: vec![
                server("axum", None),
                server("tide", Some("tide crashed (signal 6)\nlog...")),
            ],
            ..crate::fixtures::run()
        };
        let table = render(&run);
        let expected = "\
framework-bench (Benchmark mode): 2000 requests per burst, 1.0 s timeout, 1 workers per server, settle 2.0 s, 1 latency connection(s)
Conditions: servers on CPUs 1, client on CPUs 0; listen backlog 2000

Servers
server  version  served by
axum    0.8.9
tide    0.8.9

Memory before the burst (MiB)
server          version  pid  startup    rss     vms   uss   pss  anon  threads
axum            0.8.9     42   4.1 ms   3.00  130.00  1.25  1.50  0.25        3
tide            0.8.9     42   4.1 ms   3.00  130.00  1.25  1.50  0.25        3
main (harness)  0.1.0      7           10.00  130.00  1.25  1.50  0.25        3

Burst: 2000 requests at once, each on its own connection, 1.0 s timeout
server    total   s/call  success  peak rss   cpu/req  counter
axum    0.412 s  0.00021    99.4%     20.00  100.0 µs  200: 1987, timeout: 13 (13 SYNs dropped: listen queue full)
tide          -        -        -         -         -  (not run)

Memory after the burst (MiB, change from before)
server                     rss             vms           uss           pss          anon  threads
axum             3.30 (+10.0%)  130.00 (+0.0%)  1.25 (+0.0%)  1.50 (+0.0%)  0.25 (+0.0%)   3 (+0)
tide                         -               -             -             -             -        -
main (harness)  12.00 (+20.0%)  130.00 (+0.0%)  1.25 (+0.0%)  1.50 (+0.0%)  0.25 (+0.0%)   3 (+0)

Failed
tide: tide crashed (signal 6)
";
        assert_eq!(table, expected, "\n{table}");
    }

    #[test]
    fn the_comparison_leads_with_what_changed() {
        let text = comparison(&crate::report::comparison::tests::comparison());
        let regressed = text.find("REGRESSED").unwrap();
        let within = text.find("Within noise:").unwrap();
        assert!(regressed < within, "{text}");
        assert!(
            text.starts_with("Compared with baseline `mine`\nwarning: rustc differs"),
            "{text}"
        );
        assert!(text.ends_with("2 within noise.\n"), "{text}");
    }
}
