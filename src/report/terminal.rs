//! The terminal: the run's tables, in the spirit of the seed's printout
//! (memory before, the burst, memory after with the change, and the
//! harness's own row), and the comparison with a baseline.

use std::fmt::Write;

use crate::compare::verdict::Comparison;
use crate::record::RunRecord;
use crate::report::comparison::ComparisonView;
use crate::report::run_view::RunView;

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
        let mut label = view.quiet_label.clone();
        if let Some(first) = label.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        let _ = writeln!(out, "\n{label}:");
        out.push_str(&view.within_noise.to_terminal());
    }
    let _ = writeln!(out, "{}", view.counts);
    for failure in &view.failures {
        let _ = writeln!(out, "failed: {failure}");
    }
    out
}

/// The whole table for a run: the [`RunView`]'s sections, one after another.
pub fn render(run: &RunRecord) -> String {
    let view = RunView::of(run);
    let mut out = format!(
        "framework-bench: {}
",
        view.parameters_line()
    );
    let _ = writeln!(out, "Conditions: {}", view.conditions);
    for section in &view.sections {
        let _ = writeln!(out, "\n{}", section.title);
        out.push_str(&section.table.to_terminal());
    }
    if !view.failures.is_empty() {
        let _ = writeln!(out, "\nFailed");
        for failure in &view.failures {
            let _ = writeln!(out, "{}: {}", failure.server, failure.first_line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::hammer::{Connections, LatencySummary};
    use crate::measure::memory::MemorySnapshot;
    use crate::measure::netstat::TcpCounters;
    use crate::record::ServerRecord;
    use crate::record::{BurstRecord, HarnessRecord, RoundRecord};
    use crate::units::BYTES_PER_MIB as MIB;
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
framework-bench: Mode: benchmark, Requests per burst: 2000, Timeout: 1.0 s, Workers per server: 1, Settle: 2.0 s, Latency connections: 1, Rounds per server: 5
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

Burst: 2000 requests at once, each on its own connection, all opened and held by the server before the first is sent, 1.0 s timeout
server    total   s/call  success  p50 answered  p99 answered  peak rss  held  peak/conn   cpu/req  counter
axum    0.412 s  0.00021    99.4%          2 ns          4 ns     20.00     -          -  100.0 µs  200: 1987, timeout: 13 (13 SYNs dropped: listen queue full)
tide          -        -        -             -             -         -     -          -         -  (not run: failed)

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
        assert!(
            text.ends_with("2 within noise.\nfailed: axum rss-before: regressed\nfailed: rocket latency-hello: missing\n"),
            "{text}"
        );
    }
}
