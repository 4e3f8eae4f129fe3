//! The latency benchmarks as one table, for the terminal and the page.

use crate::compare::figures::Percentile;
use crate::load::Route;
use crate::record::{CLIENT_FLOOR, LatencyRecord, RunRecord};
use crate::report::format;
use crate::report::table::{Align, Table};

/// A figure that measured the client rather than the server.
pub const CLIENT_BOUND: &str = "client-bound";

/// The server closed each keep-alive connection after one answer: most
/// requests also paid for a new connection.
pub const CONNECTION_PER_REQUEST: &str = "server closes: a connection per request";

/// Every latency benchmark of the run: the estimate Criterion printed (its
/// statistic and confidence interval), percentiles of every measured request the
/// benchmark sent, the server's CPU per request, how busy the client was,
/// and whether that makes the figure the client's.
pub fn latency_table(run: &RunRecord) -> Table {
    let headers = [
        "server",
        "request",
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
    let floor = run
        .client_floor
        .iter()
        .map(|floor| (CLIENT_FLOOR, Route::HELLO, floor));
    let servers = run.servers.iter().flat_map(|s| {
        s.latency
            .iter()
            .map(move |(route, latency)| (s.name.as_str(), *route, latency))
    });
    for (name, route, latency) in floor.chain(servers) {
        table.push(latency_row(name, route, latency));
    }
    table
}

/// One benchmark's row: `name` is a server, or the client's floor.
fn latency_row(name: &str, route: Route, latency: &LatencyRecord) -> Vec<String> {
    let estimate = latency.estimate;
    let interval = estimate.map(|e| {
        format!(
            "{:.0}% [{}, {}]",
            e.confidence_level * 100.0,
            format::duration_ns(e.lower_ns),
            format::duration_ns(e.upper_ns)
        )
    });
    let percentile = |p: Percentile| format::percentile(p, &latency.requests);
    let note = format::notes(&[
        (latency.client_bound, CLIENT_BOUND),
        (latency.connection_per_request(), CONNECTION_PER_REQUEST),
    ]);
    vec![
        name.to_owned(),
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
        note,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_closes_every_connection_is_named_in_its_row() {
        let mut run = crate::fixtures::run();
        let kept_alive = latency_table(&run).to_terminal();
        assert!(!kept_alive.contains(CONNECTION_PER_REQUEST), "{kept_alive}");

        let server = &mut run.servers[0];
        let hello = server.latency.get_mut(&crate::load::Route::HELLO).unwrap();
        hello.closed_by_server = Some(hello.requests.count);
        hello.client_bound = true;
        let text = latency_table(&run).to_terminal();
        let row = text.lines().find(|l| l.contains("hello")).unwrap();
        assert!(
            row.contains(&format!("{CLIENT_BOUND}; {CONNECTION_PER_REQUEST}")),
            "{text}"
        );
    }
}
