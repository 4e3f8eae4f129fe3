//! A run's own tables, built once from its record: the parameters, the
//! conditions, the servers, memory before and after the burst, the burst,
//! latency, the sweep, the constant-rate runs and the failures, with their
//! order, rounding and wording. The terminal, the page and the markdown
//! summary only lay them out (as [`super::comparison::ComparisonView`] does
//! for a comparison).

use crate::measure::memory::{MemoryFigure, MemorySnapshot};
use crate::record::{BurstRecord, RunMode, RunRecord, ServerRecord};
use crate::report::format;
use crate::report::heap;
use crate::report::latency::{CLIENT_BOUND, latency_table};
use crate::report::table::{Align, Table};

/// The harness's own row in the memory tables.
pub const HARNESS_ROW: &str = "main (harness)";

/// Everything a run shows about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// What the run was asked to do, in order: (label, value).
    pub parameters: Vec<(&'static str, String)>,
    /// Where servers and client ran, and the backlog every server got.
    pub conditions: String,
    /// The run's tables, in the order every output shows them.
    pub sections: Vec<Section>,
    pub failures: Vec<Failure>,
}

/// One table of the run, with its title and what it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub kind: SectionKind,
    /// The title, with the table's unit where all its numbers share one.
    pub title: String,
    pub table: Table,
}

/// Which of the run's tables a section is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Servers,
    /// The requests servers declared in their manifests.
    Requests,
    MemoryBefore,
    Burst,
    MemoryAfter,
    Heap,
    /// Allocations per request: a row per server and request.
    HeapPerRequest,
    Instructions,
    LeakCheck,
    Latency,
    Throughput,
    ConstantRate,
}

/// A server that failed: the first line of its error, and the whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub server: String,
    pub first_line: String,
    pub message: String,
}

impl RunView {
    pub fn of(run: &RunRecord) -> RunView {
        RunView {
            parameters: parameters(run),
            conditions: conditions(run),
            sections: sections(run),
            failures: failures(run),
        }
    }

    /// The section of `kind`, if the run has one.
    pub fn section(&self, kind: SectionKind) -> Option<&Section> {
        self.sections.iter().find(|s| s.kind == kind)
    }

    /// `Mode: Benchmark, Requests per burst: 2000, ...` on one line.
    pub fn parameters_line(&self) -> String {
        self.parameters
            .iter()
            .map(|(label, value)| format!("{label}: {value}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn parameters(run: &RunRecord) -> Vec<(&'static str, String)> {
    let c = &run.config;
    vec![
        ("Mode", mode_name(run.mode).to_owned()),
        ("Requests per burst", c.n_requests.to_string()),
        ("Timeout", format::seconds(c.timeout)),
        ("Workers per server", c.workers.to_string()),
        ("Settle", format::seconds(c.settle)),
        ("Latency connections", c.concurrency.to_string()),
        ("Rounds per server", c.rounds.to_string()),
    ]
}

pub fn mode_name(mode: RunMode) -> &'static str {
    match mode {
        RunMode::Benchmark => "benchmark",
        RunMode::Test => "test (one pass, small burst)",
        RunMode::Profile => "profile (no latency estimates)",
        RunMode::List => "list",
        RunMode::LoadBaseline => "load baseline",
    }
}

fn conditions(run: &RunRecord) -> String {
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
    format!("{cpus}; listen backlog {backlog}")
}

fn sections(run: &RunRecord) -> Vec<Section> {
    let c = &run.config;
    let mut sections = vec![section(
        SectionKind::Servers,
        "Servers".into(),
        crate::report::servers::servers_table(run),
    )];
    if run.servers.iter().any(|s| !s.requests.is_empty()) {
        sections.push(section(
            SectionKind::Requests,
            "Requests declared in manifests (the others get the contract's: GET /hello/World and GET /json)".into(),
            crate::report::servers::requests_table(run),
        ));
    }
    sections.extend([
        section(
            SectionKind::MemoryBefore,
            "Memory before the burst (MiB)".into(),
            before_table(run),
        ),
        section(
            SectionKind::Burst,
            format!(
                "Burst: {} requests at once, each on its own connection{}, {} timeout",
                c.n_requests,
                match c.burst {
                    crate::config::BurstShape::Held =>
                        ", all opened and held by the server before the first is sent",
                    crate::config::BurstShape::AsIs => " as it goes (the seed's shape)",
                },
                format::seconds(c.timeout)
            ),
            burst_table(run),
        ),
        section(
            SectionKind::MemoryAfter,
            "Memory after the burst (MiB, change from before)".into(),
            after_table(run),
        ),
    ]);
    sections.extend(count_sections(run));
    sections.extend(timed_sections(run));
    sections
}

/// The heap, the instructions and the leak check, where the run has them.
fn count_sections(run: &RunRecord) -> Vec<Section> {
    let mut sections = Vec::new();
    if heap::has_heap(run) {
        sections.push(section(
            SectionKind::Heap,
            format!(
                "Heap: every malloc and free counted (a preload library) in {} more rounds per server; their median ±half their range. Live heap = allocated minus freed; allocator = RSS minus live heap",
                run.config.heap_rounds()
            ),
            heap::heap_table(run),
        ));
        let per_request = heap::heap_per_request_table(run);
        if !per_request.rows.is_empty() {
            sections.push(section(
                SectionKind::HeapPerRequest,
                "Heap per request: allocations and bytes allocated per request of each request, on keep-alive connections (the heap rounds' latency readings), their median ±half their range".into(),
                per_request,
            ));
        }
    }
    if heap::has_instructions(run) {
        sections.push(section(
            SectionKind::Instructions,
            format!(
                "Instructions per request (valgrind's callgrind): the median of {} launches, {} keep-alive requests each, ±half their range",
                crate::run::callgrind::LAUNCHES,
                crate::run::callgrind::BATCH_REQUESTS
            ),
            heap::instructions_table(run),
        ));
    }
    if heap::has_leak_checks(run) {
        sections.push(section(
            SectionKind::LeakCheck,
            "Leak check: bursts in a row on one process; the memory after each, settled, fitted from the second burst on".into(),
            heap::leak_table(run),
        ));
    }
    sections
}

/// Latency, the sweep and the constant-rate runs, where the run has them.
fn timed_sections(run: &RunRecord) -> Vec<Section> {
    let mut sections = Vec::new();
    if run.servers.iter().any(|s| !s.latency.is_empty()) {
        sections.push(section(
            SectionKind::Latency,
            "Latency (the estimate Criterion printed, with its interval; percentiles of the measured requests, warm-up left out; server CPU per request)".into(),
            latency_table(run),
        ));
    }
    if !run.client_ceiling.is_empty() || run.servers.iter().any(|s| !s.throughput.is_empty()) {
        sections.push(section(
            SectionKind::Throughput,
            "Throughput: GET /hello/World (or the mix a manifest declares) over C keep-alive connections, beside the client's own ceiling (a responder in the harness)".into(),
            crate::report::throughput::throughput_table(run),
        ));
    }
    if run.servers.iter().any(|s| !s.constant_rate.is_empty()) {
        sections.push(section(
            SectionKind::ConstantRate,
            "Constant rate: an open loop at a share of each server's maximum, latency from when each request was due".into(),
            crate::report::throughput::rate_table(run),
        ));
    }
    sections
}

fn section(kind: SectionKind, title: String, table: Table) -> Section {
    Section { kind, title, table }
}

fn failures(run: &RunRecord) -> Vec<Failure> {
    run.servers
        .iter()
        .filter_map(|s| {
            let message = s.error.clone()?;
            Some(Failure {
                server: s.name.clone(),
                first_line: message.lines().next().unwrap_or_default().to_owned(),
                message,
            })
        })
        .collect()
}

/// A column of the memory tables: a memory figure, or the thread count.
#[derive(Debug, Clone, Copy)]
enum MemoryColumn {
    Figure(MemoryFigure),
    Threads,
}

impl MemoryColumn {
    const ALL: [MemoryColumn; 6] = [
        MemoryColumn::Figure(MemoryFigure::Rss),
        MemoryColumn::Figure(MemoryFigure::Vms),
        MemoryColumn::Figure(MemoryFigure::Uss),
        MemoryColumn::Figure(MemoryFigure::Pss),
        MemoryColumn::Figure(MemoryFigure::Anonymous),
        MemoryColumn::Threads,
    ];

    fn header(self) -> &'static str {
        match self {
            MemoryColumn::Figure(MemoryFigure::Anonymous) => "anon",
            MemoryColumn::Figure(MemoryFigure::Rss) => "rss",
            MemoryColumn::Figure(MemoryFigure::Vms) => "vms",
            MemoryColumn::Figure(MemoryFigure::Uss) => "uss",
            MemoryColumn::Figure(MemoryFigure::Pss) => "pss",
            MemoryColumn::Threads => "threads",
        }
    }

    fn value(self, snapshot: &MemorySnapshot) -> Option<u64> {
        match self {
            MemoryColumn::Figure(figure) => figure.of(snapshot),
            MemoryColumn::Threads => snapshot.threads,
        }
    }

    fn cell(self, snapshot: Option<&MemorySnapshot>) -> String {
        let Some(snapshot) = snapshot else {
            return "-".into();
        };
        match (self, self.value(snapshot)) {
            (_, None) => "n/a".into(),
            (MemoryColumn::Threads, Some(threads)) => threads.to_string(),
            (MemoryColumn::Figure(_), Some(bytes)) => format::mib_number(bytes as f64),
        }
    }

    fn change_cell(
        self,
        before: Option<&MemorySnapshot>,
        after: Option<&MemorySnapshot>,
    ) -> String {
        let (Some(before), Some(after)) = (before, after) else {
            return "-".into();
        };
        match (self, self.value(before), self.value(after)) {
            (_, _, None) => "n/a".into(),
            (MemoryColumn::Threads, Some(b), Some(a)) => {
                format!("{a} ({:+})", a as i64 - b as i64)
            }
            (MemoryColumn::Figure(_), Some(b), Some(a)) if b > 0 => format!(
                "{} ({})",
                format::mib_number(a as f64),
                format::change(Some((a as f64 - b as f64) / b as f64))
            ),
            (MemoryColumn::Figure(_), _, Some(a)) => format::mib_number(a as f64),
            (MemoryColumn::Threads, None, Some(a)) => a.to_string(),
        }
    }
}

fn before_table(run: &RunRecord) -> Table {
    let mut headers = vec!["server", "version", "pid", "startup"];
    headers.extend(MemoryColumn::ALL.map(MemoryColumn::header));
    let mut table = Table::new(&headers).aligned(1, Align::Left);
    let memory = |snapshot: Option<&MemorySnapshot>| MemoryColumn::ALL.map(|c| c.cell(snapshot));
    for s in &run.servers {
        let first = s.first_round();
        let mut row = vec![
            s.name.clone(),
            s.version.clone().unwrap_or_else(|| "-".into()),
            first.map_or("-".into(), |r| r.pid.to_string()),
            first.map_or("-".into(), |r| format::millis(r.startup_time)),
        ];
        row.extend(memory(first.and_then(|r| r.before.as_ref())));
        table.push(row);
    }
    let h = &run.harness;
    let mut row = vec![
        HARNESS_ROW.into(),
        h.version.clone(),
        h.before.pid.to_string(),
        String::new(),
    ];
    row.extend(memory(Some(&h.before)));
    table.push(row);
    table
}

fn after_table(run: &RunRecord) -> Table {
    let mut headers = vec!["server"];
    headers.extend(MemoryColumn::ALL.map(MemoryColumn::header));
    let mut table = Table::new(&headers);
    let change = |before, after| MemoryColumn::ALL.map(|c| c.change_cell(before, after));
    for s in &run.servers {
        let first = s.first_round();
        let mut row = vec![s.name.clone()];
        row.extend(change(
            first.and_then(|r| r.before.as_ref()),
            first.and_then(|r| r.after.as_ref()),
        ));
        table.push(row);
    }
    let h = &run.harness;
    let mut row = vec![HARNESS_ROW.into()];
    row.extend(change(Some(&h.before), h.after.as_ref()));
    table.push(row);
    table
}

/// p50 and p99 are of the answered requests: failures (counted in the
/// counter) have no latency to give.
const BURST_HEADERS: [&str; 11] = [
    "server",
    "total",
    "s/call",
    "success",
    "p50 answered",
    "p99 answered",
    "peak rss",
    "held",
    "peak/conn",
    "cpu/req",
    "counter",
];

fn burst_table(run: &RunRecord) -> Table {
    let mut table = Table::new(&BURST_HEADERS).aligned(BURST_HEADERS.len() - 1, Align::Left);
    for s in &run.servers {
        let mut row = vec![s.name.clone()];
        let round = s.first_round();
        let before = round.and_then(|r| Some(r.before.as_ref()?.rss_bytes));
        match round.and_then(|r| r.burst.as_ref()) {
            Some(b) => row.extend(burst_cells(b, before)),
            None => row.extend(not_run(s)),
        }
        table.push(row);
    }
    table
}

fn not_run(server: &ServerRecord) -> [String; 10] {
    let why = if server.error.is_some() {
        "(not run: failed)"
    } else {
        "(not run)"
    };
    let mut cells = ["-"; 10].map(String::from);
    cells[9] = why.into();
    cells
}

/// A burst's cells; a figure the kernel did not give is `n/a`, and a burst
/// whose client was the bottleneck says so.
fn burst_cells(b: &BurstRecord, before_rss_bytes: Option<u64>) -> [String; 10] {
    let peak = b
        .peak_rss_bytes
        .map_or("n/a".into(), |p| format::mib_number(p as f64));
    let held = b.held_connections.map_or("-".into(), |n| n.to_string());
    let per_connection = before_rss_bytes
        .and_then(|before| b.peak_bytes_per_held_connection(before))
        .map_or("-".into(), |bytes| format!("{:.1} KiB", bytes / 1024.0));
    let cpu = b
        .server_cpu_per_request_ns()
        .map_or("n/a".into(), format::duration_ns);
    let mut outcomes = b.outcome_text();
    if b.client_bound {
        outcomes.push_str(&format!(" [{CLIENT_BOUND}]"));
    }
    let percentile = |ns: u64| {
        if b.latency.count == 0 {
            "-".to_owned()
        } else {
            format::duration_ns(ns as f64)
        }
    };
    [
        format!("{:.3} s", b.wall_time.as_secs_f64()),
        format!("{:.5}", b.seconds_per_call),
        format::percent(b.success_rate),
        percentile(b.latency.p50_ns),
        percentile(b.latency.p99_ns),
        peak,
        held,
        per_connection,
        cpu,
        outcomes,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sections_come_in_the_seeds_order_and_the_harness_has_its_rows() {
        let view = RunView::of(&crate::fixtures::full_run());
        let kinds: Vec<SectionKind> = view.sections.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SectionKind::Servers,
                SectionKind::MemoryBefore,
                SectionKind::Burst,
                SectionKind::MemoryAfter,
                SectionKind::Heap,
                SectionKind::HeapPerRequest,
                SectionKind::Instructions,
                SectionKind::LeakCheck,
                SectionKind::Latency,
                SectionKind::Throughput,
                SectionKind::ConstantRate,
            ]
        );
        let before = &view.section(SectionKind::MemoryBefore).unwrap().table;
        assert_eq!(before.rows.last().unwrap()[0], HARNESS_ROW);
        assert_eq!(view.failures.len(), 1);
        assert_eq!(view.failures[0].server, "warp");
    }

    #[test]
    fn a_burst_that_did_not_run_says_why() {
        let mut run = crate::fixtures::full_run();
        run.servers[1].rounds[0].burst = None;
        let view = RunView::of(&run);
        let burst = &view.section(SectionKind::Burst).unwrap().table;
        assert_eq!(burst.rows[1].last().unwrap(), "(not run: failed)");
        assert_eq!(burst.rows[0][3], "100.0%");
    }

    #[test]
    fn memory_after_shows_each_change_from_before() {
        let view = RunView::of(&crate::fixtures::run());
        let after = &view.section(SectionKind::MemoryAfter).unwrap().table;
        // The fixture: 3 MiB before, 15 MiB after round 1's burst.
        assert_eq!(after.rows[0][1], "15.00 (+400.0%)");
        assert_eq!(after.rows[0][6], "3 (+0)");
    }
}
