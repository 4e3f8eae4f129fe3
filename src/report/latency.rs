//! The latency benchmarks as one table, for the terminal and the page.

use crate::report::format;
use crate::report::table::{Align, Table};
use crate::run::record::{RunRecord, is_client_bound};

/// Every latency benchmark of the run: Criterion's estimate, the server's
/// CPU per request, how busy the client was, and whether that makes the
/// figure the client's.
pub fn latency_table(run: &RunRecord) -> Table {
    let headers = [
        "server",
        "route",
        "estimate",
        "cpu/req",
        "client busy",
        "note",
    ];
    let mut table = Table::new(&headers)
        .aligned(1, Align::Left)
        .aligned(5, Align::Left);
    for s in &run.servers {
        for (route, latency) in &s.latency {
            let estimate = latency.estimate.map(|e| format::duration_ns(e.point_ns));
            let cpu = latency.server_cpu_per_request_ns().map(format::duration_ns);
            let busy = latency.client_busy.map(format::percent);
            let note = if is_client_bound(latency.client_busy) {
                "client-bound"
            } else {
                ""
            };
            table.push(vec![
                s.name.clone(),
                route.to_string(),
                estimate.unwrap_or_else(|| "-".into()),
                cpu.unwrap_or_else(|| "n/a".into()),
                busy.unwrap_or_else(|| "n/a".into()),
                note.to_owned(),
            ]);
        }
    }
    table
}
