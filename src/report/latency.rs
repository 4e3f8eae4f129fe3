//! The latency benchmarks as one table, for the terminal and the page.

use crate::report::format;
use crate::report::table::{Align, Table};
use crate::run::record::RunRecord;

/// Every latency benchmark of the run: the estimate Criterion printed (its
/// statistic and confidence interval), percentiles of every request the
/// benchmark sent, the server's CPU per request, how busy the client was,
/// and whether that makes the figure the client's.
pub fn latency_table(run: &RunRecord) -> Table {
    let headers = [
        "server",
        "route",
        "statistic",
        "estimate",
        "interval",
        "p50",
        "p99",
        "max",
        "cpu/req",
        "client busy",
        "note",
    ];
    let mut table = Table::new(&headers)
        .aligned(1, Align::Left)
        .aligned(2, Align::Left)
        .aligned(10, Align::Left);
    for s in &run.servers {
        for (route, latency) in &s.latency {
            let estimate = latency.estimate;
            let interval = estimate.map(|e| {
                format!(
                    "{:.0}% [{}, {}]",
                    e.confidence_level * 100.0,
                    format::duration_ns(e.lower_ns),
                    format::duration_ns(e.upper_ns)
                )
            });
            let requests = &latency.requests;
            let percentile = |ns: u64| match requests.count {
                0 => "-".to_owned(),
                _ => format::duration_ns(ns as f64),
            };
            let note = if latency.client_bound {
                "client-bound"
            } else {
                ""
            };
            table.push(vec![
                s.name.clone(),
                route.to_string(),
                estimate.map_or("-", |e| e.statistic.name()).to_owned(),
                estimate.map_or_else(|| "-".into(), |e| format::duration_ns(e.point_ns)),
                interval.unwrap_or_else(|| "-".into()),
                percentile(requests.p50_ns),
                percentile(requests.p99_ns),
                percentile(requests.max_ns),
                latency
                    .server_cpu_per_request_ns()
                    .map_or_else(|| "n/a".into(), format::duration_ns),
                latency
                    .client_busy
                    .map_or_else(|| "n/a".into(), format::percent),
                note.to_owned(),
            ]);
        }
    }
    table
}
