//! The counts: the heap (counted by the preload library), instructions
//! per request (callgrind) and the leak check, as tables every output lays
//! out. Each heap figure is the median over the server's heap rounds (the
//! rounds with the heap counted), with how far they spread (half their
//! range, as a share of the median).

use crate::compare::figures::{self, Figure, Metric, Phase};
use crate::compare::leak::LeakCheck;
use crate::record::RunRecord;
use crate::report::format;
use crate::report::table::{Align, Table};
use crate::units::bytes_text;

/// The heap table's figures, in column order, with their headers.
const HEAP_COLUMNS: [(Figure, &str); 6] = [
    (Figure::BurstAllocations, "burst allocs/req"),
    (Figure::BurstAllocatedBytes, "burst bytes/req"),
    (Figure::LiveHeap(Phase::Before), "live before"),
    (Figure::BurstPeakLiveHeap, "live peak"),
    (Figure::LiveHeap(Phase::After), "live after"),
    (Figure::AllocatorOverhead(Phase::After), "allocator after"),
];

/// True when any server's heap was counted, or said why it was not.
pub fn has_heap(run: &RunRecord) -> bool {
    run.servers.iter().any(|s| {
        s.heap_not_counted.is_some()
            || s.rounds
                .iter()
                .any(|r| r.heap_before.is_some() || r.heap_after.is_some())
    })
}

/// One row per server: the burst's and the live heap's figures, or why
/// they were not counted.
pub fn heap_table(run: &RunRecord) -> Table {
    let metrics = figures::collect(run);
    let mut headers = vec!["server"];
    headers.extend(HEAP_COLUMNS.iter().map(|&(_, h)| h));
    headers.push("note");
    let mut table = Table::new(&headers).aligned(HEAP_COLUMNS.len() + 1, Align::Left);
    for server in &run.servers {
        let mut row = vec![server.name.clone()];
        row.extend(
            HEAP_COLUMNS
                .iter()
                .map(|&(figure, _)| cell(find(&metrics, &server.name, figure))),
        );
        row.push(heap_note(run, server));
        table.push(row);
    }
    table
}

/// One row per server and request it was sent: allocations and bytes
/// allocated per request. A row per request, not a column, so servers
/// that declare different requests do not widen the table.
pub fn heap_per_request_table(run: &RunRecord) -> Table {
    let metrics = figures::collect(run);
    let mut table =
        Table::new(&["server", "request", "allocs/req", "bytes/req"]).aligned(1, Align::Left);
    for server in &run.servers {
        for route in run.routes() {
            let allocs = find(&metrics, &server.name, Figure::LatencyAllocations(route));
            let bytes = find(&metrics, &server.name, Figure::LatencyAllocatedBytes(route));
            if allocs.is_none() && bytes.is_none() {
                continue;
            }
            table.push(vec![
                server.name.clone(),
                route.name().to_owned(),
                cell(allocs),
                cell(bytes),
            ]);
        }
    }
    table
}

/// A server's figure among the run's.
fn find<'a>(metrics: &'a [Metric], server: &str, figure: Figure) -> Option<&'a Metric> {
    metrics
        .iter()
        .find(|m| m.server == server && m.figure == figure)
}

fn heap_note(run: &RunRecord, server: &crate::record::ServerRecord) -> String {
    if let Some(reason) = &server.heap_not_counted {
        return format!("not counted: {reason}");
    }
    let python = server.command.iter().any(|arg| arg.contains("python"));
    let processes = server
        .rounds
        .iter()
        .filter_map(|r| r.heap_after.map(|h| h.processes))
        .max()
        .unwrap_or(1);
    let notes = [
        (python, "PYTHONMALLOC=malloc"),
        (processes > 1, "counts every process it started"),
        (
            !run.config.count_heap,
            "not counted (FRAMEWORK_BENCH_HEAP=off)",
        ),
    ];
    format::notes(&notes)
}

/// `12.0 ±0.1%`: the median and its rounds' spread.
fn cell(metric: Option<&Metric>) -> String {
    let Some(metric) = metric else {
        return "-".to_owned();
    };
    let value = match metric.unit() {
        // Bytes per request and a live heap of a few KiB read best in
        // their own scale, not all in MiB.
        crate::compare::figures::Unit::Bytes => bytes_text(metric.value),
        unit => format::value(unit, Some(metric.value)),
    };
    match spread(metric) {
        Some(spread) if metric.readings.len() > 1 => format!("{value} ±{:.1}%", spread * 100.0),
        _ => value,
    }
}

/// Half the readings' range as a share of their median.
pub fn spread(metric: &Metric) -> Option<f64> {
    let min = metric.readings.iter().copied().reduce(f64::min)?;
    let max = metric.readings.iter().copied().reduce(f64::max)?;
    (metric.value.abs() > 0.0).then(|| (max - min) / 2.0 / metric.value.abs())
}

/// True when a server has instructions counted or said why not.
pub fn has_instructions(run: &RunRecord) -> bool {
    run.servers
        .iter()
        .any(|s| !s.instructions.is_empty() || s.instructions_not_counted.is_some())
}

/// Instructions per request of each route, with the batches' spread.
pub fn instructions_table(run: &RunRecord) -> Table {
    let metrics = figures::collect(run);
    let routes = run.routes();
    let mut headers = vec!["server"];
    headers.extend(routes.iter().map(|r| r.name()));
    headers.push("note");
    let mut table = Table::new(&headers).aligned(routes.len() + 1, Align::Left);
    for server in &run.servers {
        let of = |route| find(&metrics, &server.name, Figure::Instructions(route));
        let note = server
            .instructions_not_counted
            .clone()
            .map(|reason| format!("not counted: {reason}"))
            .unwrap_or_default();
        let mut row = vec![server.name.clone()];
        row.extend(routes.iter().map(|&r| cell(of(r))));
        row.push(note);
        table.push(row);
    }
    table
}

/// True when a server has a leak check.
pub fn has_leak_checks(run: &RunRecord) -> bool {
    run.servers.iter().any(|s| s.leak.is_some())
}

/// Each server's leak check: its memory after each burst, and the verdict.
pub fn leak_table(run: &RunRecord) -> Table {
    let mut table = Table::new(&[
        "server",
        "bursts",
        "live heap after each (MiB)",
        "rss after each (MiB)",
        "live heap/burst",
        "rss/burst",
        "verdict",
    ])
    .aligned(2, Align::Left)
    .aligned(3, Align::Left)
    .aligned(6, Align::Left);
    for server in &run.servers {
        let Some(leak) = &server.leak else { continue };
        let check = LeakCheck::of(&server.name, leak);
        let list = |values: Vec<Option<u64>>| {
            values
                .into_iter()
                .map(|v| v.map_or("-".to_owned(), |b| format::mib_number(b as f64)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let live = list(leak.bursts.iter().map(|p| p.live_heap_bytes).collect());
        let rss = list(leak.bursts.iter().map(|p| Some(p.rss_bytes)).collect());
        let slope = |fit: Option<crate::compare::leak::Fit>| {
            fit.map_or("-".to_owned(), |f| bytes_text(f.bytes_per_burst))
        };
        let live_fit = check
            .verdict_fit
            .filter(|f| f.source == crate::compare::leak::Source::LiveHeap);
        table.push(vec![
            server.name.clone(),
            leak.bursts.len().to_string(),
            live,
            rss,
            slope(live_fit),
            slope(check.rss_fit),
            check.verdict_text(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn the_heap_table_shows_medians_with_their_spread_and_why_a_server_was_not_counted() {
        let mut run = fixtures::full_run();
        run.config.count_heap = true;
        run.servers[1].heap_not_counted = Some("statically linked".into());
        let table = heap_table(&run);
        let axum = &table.rows[0];
        assert_eq!(axum[3], "1.00 MiB ±0.0%");
        let warp = &table.rows[1];
        assert_eq!(warp[1], "-");
        assert_eq!(warp.last().unwrap(), "not counted: statically linked");
        let per_request = heap_per_request_table(&run);
        // 14 allocations per request in every round: no spread to show.
        assert_eq!(per_request.rows[0][..3], ["axum", "hello", "14.0 ±0.0%"]);
        assert!(
            per_request.rows.iter().all(|row| row[0] == "axum"),
            "a server not counted has no rows: {:?}",
            per_request.rows
        );
    }

    #[test]
    fn servers_that_declare_different_requests_add_rows_not_columns() {
        let mut run = fixtures::full_run();
        run.config.count_heap = true;
        let contract_rows = heap_per_request_table(&run).rows.len();
        // axum declares one request of its own, `hello-file`, beside a
        // server measured on the contract's.
        let mut declared = crate::load::request::contract().remove(0);
        declared.name = crate::load::Route::new("hello-file");
        let mix = crate::load::Mix::weighted(vec![(declared.clone(), 1)]).unwrap();
        let set = crate::load::request::RequestSet::declared(vec![declared.clone()], 0, mix);
        let axum = &mut run.servers[0];
        axum.requests = crate::record::RequestInfo::of(&set);
        for round in &mut axum.rounds {
            let probe = round.probes.remove(&crate::load::Route::HELLO).unwrap();
            round.probes = [(declared.name, probe)].into();
        }
        let table = heap_per_request_table(&run);
        assert_eq!(table.columns.len(), 4);
        assert_eq!((contract_rows, table.rows.len()), (2, 1));
        assert_eq!(table.rows[0][..3], ["axum", "hello-file", "14.0 ±0.0%"]);
    }

    #[test]
    fn instructions_and_the_leak_check_have_their_tables() {
        let run = fixtures::full_run();
        assert!(has_instructions(&run) && has_leak_checks(&run));
        let table = instructions_table(&run);
        assert!(
            table.rows[0][1].starts_with("16.7 k ±"),
            "{:?}",
            table.rows[0]
        );
        let leak = leak_table(&run);
        assert_eq!(leak.rows.len(), 1);
        assert_eq!(leak.rows[0][6], "no leak (live heap)");
    }
}
