//! The latency benchmarks as one table, for the terminal and the page.

use crate::compare::figures::Percentile;
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
        "p90",
        "p99",
        "p99.9",
        "max",
        "cpu/req",
        "client busy",
        "note",
    ];
    let mut table = Table::new(&headers)
        .aligned(1, Align::Left)
        .aligned(2, Align::Left)
        .aligned(12, Align::Left);
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
            let percentile = |p: Percentile| {
                p.of(&latency.requests)
                    .map_or_else(|| "-".to_owned(), |ns| format::duration_ns(ns as f64))
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
                percentile(Percentile::P50),
                percentile(Percentile::P90),
                percentile(Percentile::P99),
                percentile(Percentile::P999),
                percentile(Percentile::Max),
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
