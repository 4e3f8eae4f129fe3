//! The memory page: one self-contained HTML page per run (inline CSS and
//! SVG, nothing fetched, so it works from `file://`), linked from
//! Criterion's own index.
//!
//! [`write`] puts the page at
//! `<criterion home>/framework-bench-memory/report/index.html` and a
//! `framework-bench-memory/new/benchmark.json` in the shape of Criterion's
//! `BenchmarkId`, which is how Criterion's `final_summary` finds entries for
//! `report/index.html`. With no function id and no value, Criterion's index
//! shows only the group's link, to `<make_filename_safe(group_id)>/report/
//! index.html`; so the group id must be the directory's name itself.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::compare::figures::MemoryFigure;
use crate::compare::verdict::{Comparison, Verdict};
use crate::error::Result;
use crate::record::RunRecord;
use crate::report::comparison::ComparisonView;
use crate::report::memory_chart::{bar_chart_svg, chart_bars};
use crate::report::run_view::{RunView, Section, SectionKind};
use crate::report::table::escape_html as escape;

/// The page's directory under Criterion's home, and its Criterion group id.
pub const DIRECTORY_NAME: &str = "framework-bench-memory";

pub(crate) const STYLE: &str = include_str!("page.css");

/// The whole page for a run, with the comparison against a baseline when
/// there is one.
pub fn render(run: &RunRecord, comparison: Option<&Comparison>) -> String {
    let view = RunView::of(run);
    let mut html = String::with_capacity(64 * 1024);
    html.push_str(&head());
    html.push_str("<body>\n<main>\n");
    html.push_str(&header(run, &view, comparison));
    html.push_str(&failures_section(&view));
    if let Some(comparison) = comparison {
        html.push_str(&comparison_section(comparison));
    }
    html.push_str(&charts_section(run));
    for section in &view.sections {
        html.push_str(&table_section(run, section));
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

/// Writes the page and the `benchmark.json` that makes Criterion's index
/// link it; returns the page's path.
pub fn write(
    criterion_home: &Path,
    run: &RunRecord,
    comparison: Option<&Comparison>,
) -> Result<PathBuf> {
    let dir = criterion_home.join(DIRECTORY_NAME);
    let page_path = dir.join("report").join("index.html");
    crate::fs::write_atomically(&page_path, render(run, comparison).as_bytes())?;
    let id_path = dir.join("new").join("benchmark.json");
    crate::fs::write_json(&id_path, &CriterionId::memory_page())?;
    Ok(page_path)
}

/// Criterion 0.8's `BenchmarkId`, field for field, as it serializes.
#[derive(Debug, Serialize)]
struct CriterionId {
    group_id: &'static str,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<()>,
    full_id: &'static str,
    directory_name: &'static str,
    title: &'static str,
}

impl CriterionId {
    fn memory_page() -> CriterionId {
        CriterionId {
            group_id: DIRECTORY_NAME,
            function_id: None,
            value_str: None,
            throughput: None,
            full_id: DIRECTORY_NAME,
            directory_name: DIRECTORY_NAME,
            title: DIRECTORY_NAME,
        }
    }
}

// ---------------------------------------------------------------- sections

fn head() -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>framework-bench: memory</title>\n<style>{STYLE}</style>\n</head>\n"
    )
}

fn header(run: &RunRecord, view: &RunView, comparison: Option<&Comparison>) -> String {
    let mut summary = format!("{} server(s)", run.servers.len());
    if !view.failures.is_empty() {
        let _ = write!(
            summary,
            ", <span class=\"warn\">{} failed</span>",
            view.failures.len()
        );
    }
    if let Some(comparison) = comparison {
        let regressions = comparison.regressions().count();
        let _ = write!(
            summary,
            ", {regressions} regression(s) against <code>{}</code>",
            escape(&comparison.baseline_name)
        );
    }
    let mut params = view.parameters.clone();
    params.extend([
        ("Listen backlog", backlog_text(run)),
        ("CPUs", placement_text(&run.config.placement)),
        ("Machine CPUs", run.environment.cpus.to_string()),
        ("Started", utc_time(run.started_at_unix)),
        (
            "Took",
            elapsed_text(run.finished_at_unix.saturating_sub(run.started_at_unix)),
        ),
    ]);
    let mut html = String::from("<header>\n<h1>framework-bench: memory</h1>\n");
    let _ = writeln!(
        html,
        "<p class=\"sub\">{summary} · <a href=\"../../report/index.html\">Criterion index</a></p>"
    );
    html.push_str("<dl class=\"params\">\n");
    for (name, value) in params {
        let _ = writeln!(
            html,
            "<div><dt>{name}</dt><dd>{}</dd></div>",
            escape(&value)
        );
    }
    html.push_str("</dl>\n</header>\n");
    html
}

fn failures_section(view: &RunView) -> String {
    if view.failures.is_empty() {
        return String::new();
    }
    let mut html = String::from("<section>\n<h2>Failed</h2>\n<ul class=\"failures\">\n");
    for failure in &view.failures {
        let _ = write!(
            html,
            "<li><strong>{}</strong>: {}",
            escape(&failure.server),
            escape(&failure.first_line)
        );
        if failure.message.trim_end().lines().count() > 1 {
            let _ = write!(
                html,
                "<details><summary>full message</summary><pre>{}</pre></details>",
                escape(&failure.message)
            );
        }
        html.push_str("</li>\n");
    }
    html.push_str("</ul>\n</section>\n");
    html
}

/// What changed against the baseline, then the figures within noise,
/// folded so they do not push the charts down.
fn comparison_section(comparison: &Comparison) -> String {
    let view = ComparisonView::of(comparison);
    let mut html = format!("<section>\n<h2>{}</h2>\n", escape(&view.title));
    let _ = writeln!(html, "<p>{}</p>", escape(&view.counts));
    if !view.failures.is_empty() {
        html.push_str("<ul class=\"failures\">\n");
        for failure in &view.failures {
            let _ = writeln!(html, "<li>failed: {}</li>", escape(failure));
        }
        html.push_str("</ul>\n");
    }
    if !view.warnings.is_empty() {
        html.push_str("<ul class=\"warnings\">\n");
        for warning in &view.warnings {
            let _ = writeln!(html, "<li>{}</li>", escape(warning));
        }
        html.push_str("</ul>\n");
    }
    if view.changed.rows.is_empty() {
        html.push_str("<p class=\"note\">Nothing changed beyond noise.</p>\n");
    } else {
        let row_class = |i: usize| match view.changed_verdicts.get(i) {
            Some(Verdict::Regressed) => Some("regressed"),
            Some(Verdict::Improved) => Some("improved"),
            _ => None,
        };
        html.push_str(
            &view
                .changed
                .to_html_with_row_classes("wide comparison", &row_class),
        );
    }
    if !view.within_noise.rows.is_empty() {
        let _ = write!(
            html,
            "<details><summary>{} {}</summary>\n{}</details>\n",
            view.within_noise.rows.len(),
            escape(&view.quiet_label),
            view.within_noise.to_html("wide comparison")
        );
    }
    html.push_str("</section>\n");
    html
}

fn charts_section(run: &RunRecord) -> String {
    let charts = [
        ("RSS: resident set size", MemoryFigure::Rss),
        ("USS: unique set size (private pages)", MemoryFigure::Uss),
        ("Anonymous memory (heap, stacks)", MemoryFigure::Anonymous),
    ];
    let mut html = String::from("<section>\n<h2>Charts</h2>\n");
    for (title, figure) in charts {
        let _ = writeln!(html, "<div class=\"chart\">\n<h3>{}</h3>", escape(title));
        let bars = chart_bars(run, figure);
        if bars.is_empty() {
            html.push_str("<p class=\"note\">No memory snapshots to chart.</p>\n");
        } else {
            match bar_chart_svg(title, &bars) {
                Ok(svg) => html.push_str(&svg),
                Err(err) => {
                    let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(&err.to_string()));
                }
            }
        }
        html.push_str("</div>\n");
    }
    html.push_str("</section>\n");
    html
}

/// One of the run's tables, with what the page says about it; latency
/// also gets its percentile charts.
fn table_section(run: &RunRecord, section: &Section) -> String {
    let mut html = format!("<section>\n<h2>{}</h2>\n", escape(&section.title));
    if let Some(note) = note(run, section.kind) {
        let _ = writeln!(html, "<p class=\"note\">{note}</p>");
    }
    html.push_str(&section.table.to_html(table_class(section.kind)));
    if section.kind == SectionKind::Latency {
        html.push_str(&percentile_charts(run));
    }
    if section.kind == SectionKind::Heap {
        html.push_str(&timeline_charts(run));
    }
    html.push_str("</section>\n");
    html
}

fn table_class(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Servers => "servers",
        SectionKind::Requests => "requests",
        SectionKind::MemoryBefore | SectionKind::MemoryAfter => "wide memory",
        SectionKind::Burst => "wide burst",
        SectionKind::Latency => "wide latency",
        SectionKind::Throughput => "wide throughput",
        SectionKind::ConstantRate => "wide rate",
        SectionKind::Heap => "wide heap",
        SectionKind::HeapPerRequest => "heap-per-request",
        SectionKind::Instructions => "instructions",
        SectionKind::LeakCheck => "wide leak",
    }
}

/// What the page says under a table's title (HTML).
fn note(run: &RunRecord, kind: SectionKind) -> Option<String> {
    let max_rounds = run.servers.iter().map(|s| s.rounds.len()).max();
    Some(match kind {
        SectionKind::Servers | SectionKind::HeapPerRequest => return None,
        SectionKind::Requests => "Each declared request has its own latency benchmark \
             (<code>latency-&lt;request&gt;/&lt;server&gt;</code>); the burst sends the one marked, the \
             sweep and the constant-rate runs the mix, by weight. Two servers are compared on a \
             request only where both declare it under the same name, sent and checked the same way."
            .into(),
        SectionKind::MemoryBefore | SectionKind::MemoryAfter => {
            let rounds = match max_rounds {
                Some(n) if n > 1 => format!(
                    " Figures are from round 1 of {n} (each round a fresh process); \
                     a comparison tests all the rounds."
                ),
                _ => String::new(),
            };
            format!("Threads: a count; anon: anonymous memory (heap, stacks).{rounds}")
        }
        SectionKind::Burst => "Latency of every request that got a status.".into(),
        SectionKind::Heap => "Counted by a preload library built from the workspace \
             (<code>tools/alloc-count</code>) that each server is started with in heap rounds \
             of their own, after its other rounds (counting costs the server time, so no time or \
             RSS figure comes from them): each <code>malloc</code>, <code>free</code> and the \
             rest, with their usable sizes. Allocations per request come from a heap round's \
             latency readings (keep-alive) and its burst (connections included); live heap is allocated minus freed, which does \
             not depend on when the allocator gives memory back; <em>allocator</em> is RSS minus \
             live heap, the part the allocator (and code, stacks) keeps, shown and never judged. \
             Python servers run with <code>PYTHONMALLOC=malloc</code> for it. A server whose \
             allocations cannot be seen is <em>not counted</em>, never 0. The charts show each \
             round's RSS through its burst and the settle after it, and a heap round's live \
             heap dashed."
            .into(),
        SectionKind::Instructions => "Instructions the server executed per request, counted by \
             valgrind's callgrind on processes of their own (with instrumentation on only for the \
             measured requests, after a warm-up): a count that does not depend on the machine's \
             speed."
            .into(),
        SectionKind::LeakCheck => "One process, several bursts in a row, its memory read after \
             each once it settled. A leak is a rise from burst to burst (from the second on) \
             shown by a t-test of the fitted slope and larger than 2 % of the level over the \
             bursts; memory that rises once and stays is a pool, not a leak."
            .into(),
        SectionKind::Latency => "Criterion's estimate per request, the server's CPU time per \
             request, and how busy the client's thread was. <code>client-floor</code> is the \
             same client against a do-nothing responder in the harness: a figure within 80 % \
             of it measured the client (client-bound)."
            .into(),
        SectionKind::Throughput => format!(
            "Requests per second to <code>/hello/World</code> (or the mix a server's manifest \
             declares) over C keep-alive connections, beside the client's own ceiling: the same client against a responder \
             in the harness, on the server CPUs. Within {} of the ceiling, or with the client \
             CPUs busy above {}, the figure is client-bound.",
            crate::report::format::percent(crate::record::CEILING_SHARE_BOUND),
            crate::report::format::percent(crate::measure::cpu::CLIENT_BOUND_BUSY),
        ),
        SectionKind::ConstantRate => format!(
            "An open loop at a share of each server's maximum from the sweep (the table's \
             <em>of max</em>), or at the rates <code>FRAMEWORK_BENCH_RATE</code> names: latency \
             counts from when each request was due, so a stall shows in every request it \
             delayed. A run below {} of its rate is not valid at that rate.",
            crate::report::format::percent(crate::load::hammer::VALID_RATE_SHARE),
        ),
    })
}

/// Each server's memory through its rounds' bursts.
fn timeline_charts(run: &RunRecord) -> String {
    let mut html = String::new();
    for server in &run.servers {
        let rounds = crate::report::timeline_chart::timelines(server);
        if rounds.is_empty() {
            continue;
        }
        let title = format!(
            "{}: memory through the burst and the settle after it",
            server.name
        );
        let _ = writeln!(html, "<div class=\"chart\">\n<h3>{}</h3>", escape(&title));
        match crate::report::timeline_chart::svg(&title, &rounds) {
            Ok(svg) => html.push_str(&svg),
            Err(err) => {
                let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(&err.to_string()));
            }
        }
        let cost: Vec<String> = rounds
            .iter()
            .map(|(_, t)| format!("{:.1} %", t.sampler_share() * 100.0))
            .collect();
        let _ = writeln!(
            html,
            "<p class=\"note\">Sampled every {} ms on the client's CPUs; the sampler's own CPU time, as a share of the time it ran: {}.</p>",
            crate::measure::timeline::SAMPLE_INTERVAL.as_millis(),
            cost.join(", ")
        );
        html.push_str("</div>\n");
    }
    html
}

fn percentile_charts(run: &RunRecord) -> String {
    let mut html = String::new();
    for route in run.routes() {
        let lines = crate::report::percentile_chart::lines(run, route);
        if lines.is_empty() {
            continue;
        }
        let title = format!("{} percentiles", run.request_text(route));
        let _ = writeln!(html, "<div class=\"chart\">\n<h3>{}</h3>", escape(&title));
        match crate::report::percentile_chart::svg(&title, &lines) {
            Ok(svg) => html.push_str(&svg),
            Err(err) => {
                let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(&err.to_string()));
            }
        }
        html.push_str("</div>\n");
    }
    html
}

// ---------------------------------------------------------------- helpers

fn backlog_text(run: &RunRecord) -> String {
    let cap = run
        .conditions
        .somaxconn
        .map_or(String::new(), |c| format!(" (somaxconn {c})"));
    match run.conditions.backlog {
        Some(n) => format!("{n} for every server{cap}"),
        None => format!("each framework's own{cap}"),
    }
}

fn placement_text(placement: &crate::conditions::Placement) -> String {
    if placement.pinned {
        format!(
            "servers {}, client {}",
            placement.server_cpus, placement.client_cpus
        )
    } else {
        format!("not pinned ({})", placement.server_cpus)
    }
}

fn elapsed_text(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

/// `2026-11-22 14:02 UTC`.
fn utc_time(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let seconds_of_day = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::verdict::Row;
    use crate::load::hammer::{Connections, LatencySummary};
    use crate::measure::memory::MemorySnapshot;
    use crate::record::ServerRecord;
    use crate::record::{BurstRecord, HarnessRecord, RoundRecord};
    use crate::units::BYTES_PER_MIB;
    use std::collections::BTreeMap;
    use std::time::Duration;

    const NASTY: &str = "x<b>&y";

    fn snapshot(rss_mib: f64) -> MemorySnapshot {
        MemorySnapshot {
            uss_bytes: Some((rss_mib / 2.0 * BYTES_PER_MIB) as u64),
            pss_bytes: Some((rss_mib / 1.5 * BYTES_PER_MIB) as u64),
            anonymous_bytes: Some((rss_mib / 4.0 * BYTES_PER_MIB) as u64),
            swap_bytes: Some(0),
            peak_rss_bytes: None,
            threads: Some(3),
            cpu_time: None,
            ..MemorySnapshot::new(
                42,
                (rss_mib * BYTES_PER_MIB) as u64,
                (130.0 * BYTES_PER_MIB) as u64,
            )
        }
    }

    fn burst() -> BurstRecord {
        BurstRecord {
            n_requests: 2000,
            concurrency: 2000,
            connections: Connections::PerRequest,
            timeout: Duration::from_secs(1),
            wall_time: Duration::from_millis(412),
            seconds_per_call: 0.000206,
            success_rate: 0.99,
            requests_per_second: 4854.0,
            counts: BTreeMap::from([("200".into(), 1980), ("timeout".into(), 20)]),
            latency: LatencySummary {
                count: 1980,
                min_ns: 100_000,
                mean_ns: 2_000_000,
                p50_ns: 1_500_000,
                p90_ns: 3_000_000,
                p99_ns: 9_250_000,
                p999_ns: 9_250_000,
                max_ns: 20_000_000,
            },
            ..crate::fixtures::burst()
        }
    }

    fn server(name: &str, error: Option<&str>, snapshots: bool) -> ServerRecord {
        let ok = error.is_none();
        let round = RoundRecord {
            before: snapshots.then(|| snapshot(3.0)),
            burst: ok.then(burst),
            after: (ok && snapshots).then(|| snapshot(12.5)),
            ..RoundRecord::started(42, Duration::from_millis(4))
        };
        crate::fixtures::server_with(name, "1.<2>", round, error)
    }

    fn run(servers: Vec<ServerRecord>) -> RunRecord {
        RunRecord {
            started_at_unix: 1_795_356_141,
            finished_at_unix: 1_795_356_578,
            environment: Default::default(),
            harness: HarnessRecord {
                version: "0.1.0".into(),
                before: snapshot(4.0),
                after: Some(snapshot(200.0)),
            },
            servers,
            ..crate::fixtures::run()
        }
    }

    fn sample_run() -> RunRecord {
        run(vec![
            server("axum", None, true),
            server(NASTY, None, true),
            server(
                "tide",
                Some("tide crashed <signal 6> & died\nlog tail line"),
                true,
            ),
            server("ghost", Some("ghost exited before it was ready"), false),
        ])
    }

    fn row(server: &str, metric: &str, verdict: Verdict) -> Row {
        Row {
            server: server.into(),
            figure: metric.parse().unwrap(),
            baseline: Some(3.0 * BYTES_PER_MIB),
            now: Some(5.0 * BYTES_PER_MIB),
            change: Some(2.0 / 3.0),
            interval: None,
            p: None,
            rounds: None,
            reason: None,
            verdict,
        }
    }

    fn comparison() -> Comparison {
        Comparison {
            failures: Vec::new(),
            interleaved: false,
            baseline_name: "main".into(),
            rows: vec![
                row("axum", "rss-before", Verdict::WithinNoise),
                row("warp", "uss-after", Verdict::Regressed),
            ],
            warnings: vec!["another rustc: 1.95 <then>".into()],
        }
    }

    fn assert_complete_offline_document(page: &str) {
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        for tag in [
            "<html lang=\"en\">",
            "<head>",
            "<meta charset=\"utf-8\">",
            "<title>",
            "<body>",
        ] {
            assert!(page.contains(tag), "{tag}");
        }
        assert!(page.trim_end().ends_with("</html>"));
        let lower = page.to_lowercase();
        assert!(!lower.contains("<script"));
        assert!(!lower.contains("http://") && !lower.contains("https://"));
        assert!(!lower.contains("<link") && !lower.contains("<img") && !lower.contains("@import"));
    }

    /// The part of the page between the "Charts" heading and the next section.
    fn charts_part(page: &str) -> &str {
        let start = page.find("<h2>Charts</h2>").expect("charts section");
        let end = page[start..].find("</section>").expect("section end");
        &page[start..start + end]
    }

    #[test]
    fn renders_a_complete_offline_page_with_three_charts() {
        let page = render(&sample_run(), None);
        assert_complete_offline_document(&page);
        assert_eq!(page.matches("<svg").count(), 3);
        assert_eq!(page.matches("</svg>").count(), 3);
        // Parameters, per-server tables and the burst.
        assert!(page.contains("<dd>2000</dd>") && page.contains("<dd>1.0 s</dd>"));
        assert!(
            page.contains("<dd>2026-11-22 14:02 UTC</dd>"),
            "started time"
        );
        // Memory after the burst, with its change from before.
        assert!(
            page.contains("<td class=\"num\">12.50 (+316.7%)</td>"),
            "{page}"
        );
        assert!(page.contains("+0.0%"));
        assert!(page.contains("200: 1980, timeout: 20"));
        assert!(page.contains("<td class=\"num\">1.50 ms</td><td class=\"num\">9.25 ms</td>"));
        assert!(page.contains("99.0%"));
        // No comparison section without a comparison.
        assert!(!page.contains("Against baseline"));
    }

    #[test]
    fn escapes_user_supplied_text() {
        let page = render(&sample_run(), None);
        assert!(!page.contains(NASTY));
        assert!(page.contains("x&lt;b&gt;&amp;y"));
        assert!(!page.contains("1.<2>") && page.contains("1.&lt;2&gt;"));
        assert!(!page.contains("<signal 6>"));
    }

    #[test]
    fn shows_failed_servers_with_the_first_line_of_their_error() {
        let page = render(&sample_run(), None);
        assert!(page.contains("<h2>Failed</h2>"));
        assert!(page.contains("<strong>tide</strong>: tide crashed &lt;signal 6&gt; &amp; died"));
        assert!(page.contains("<strong>ghost</strong>: ghost exited before it was ready"));
        assert!(page.contains("(not run: failed)"));
    }

    #[test]
    fn charts_leave_out_servers_without_snapshots() {
        let page = render(&sample_run(), None);
        let charts = charts_part(&page);
        assert!(charts.contains(">\naxum\n</text>") && charts.contains(">\ntide\n</text>"));
        assert!(charts.contains("x&lt;b&gt;&amp;y"));
        assert!(!charts.contains("ghost"));
        assert!(charts.contains("before the burst") && charts.contains("after the burst"));
        assert!(charts.contains(">\nMiB\n</text>"));
        assert!(
            charts.contains(">\n12.5\n</text>"),
            "a value label above a bar"
        );
    }

    #[test]
    fn shows_the_comparison_with_regressions_first_and_highlighted() {
        let page = render(&sample_run(), Some(&comparison()));
        assert_complete_offline_document(&page);
        assert!(page.contains("<h2>Compared with baseline `main`</h2>"));
        assert!(page.contains("1 regression(s) against <code>main</code>"));
        assert!(page.contains("<li>another rustc: 1.95 &lt;then&gt;</li>"));
        let regressed = page
            .find("<tr class=\"regressed\"><td>warp</td><td>USS after</td>")
            .expect("highlighted regression");
        let noise = page
            .find("<td>axum</td><td>RSS before</td>")
            .expect("noise row");
        assert!(regressed < noise, "regressions come first");
        assert!(page.contains("<td>REGRESSED</td>"));
        let charts = page.find("<h2>Charts</h2>").unwrap();
        let folded = page
            .find("<details><summary>1 within noise</summary>")
            .unwrap();
        assert!(
            regressed < charts && folded < charts,
            "what changed, then the pictures"
        );
        assert!(page.contains("<td class=\"num\">3.00 MiB</td><td class=\"num\">5.00 MiB</td>"));
        assert!(page.contains("+66.7%"));
    }

    #[test]
    fn shows_each_latency_benchmark_with_its_cpu_and_client_load() {
        let page = render(&crate::fixtures::run(), None);
        let latency = &page[page.find("<h2>Latency (").expect("a latency section")..];
        assert!(
            latency.contains(
                "<td>axum</td><td>hello</td><td>slope</td><td class=\"num\">52.3 µs</td>"
            ),
            "{latency}"
        );
        assert!(latency.contains("60.0%"), "client busy: {latency}");
    }

    #[test]
    fn renders_with_zero_servers() {
        let page = render(
            &run(Vec::new()),
            Some(&Comparison {
                failures: Vec::new(),
                interleaved: false,
                baseline_name: "empty".into(),
                rows: Vec::new(),
                warnings: Vec::new(),
            }),
        );
        assert_complete_offline_document(&page);
        assert_eq!(page.matches("<svg").count(), 0);
        assert_eq!(page.matches("No memory snapshots to chart.").count(), 3);
        assert!(page.contains("Nothing changed beyond noise."));
    }

    #[test]
    fn renders_a_single_server_and_missing_linux_figures() {
        let mut only = server("solo", None, true);
        let round = &mut only.rounds[0];
        for s in [round.before.as_mut(), round.after.as_mut()]
            .into_iter()
            .flatten()
        {
            s.uss_bytes = None;
            s.anonymous_bytes = None;
        }
        let page = render(&run(vec![only]), None);
        assert_eq!(page.matches("<svg").count(), 1);
        // USS and anonymous memory, before and after: not given, not zero.
        assert_eq!(
            page.matches("<td class=\"num\">n/a</td>").count(),
            4,
            "{page}"
        );
    }

    #[test]
    fn write_puts_the_page_and_the_benchmark_id_where_criterion_looks() {
        let home = std::env::temp_dir().join(format!("fb-report-page-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        let page_path = write(&home, &sample_run(), Some(&comparison())).unwrap();
        assert_eq!(
            page_path,
            home.join("framework-bench-memory/report/index.html")
        );
        let page = std::fs::read_to_string(&page_path).unwrap();
        assert_complete_offline_document(&page);

        let id_path = home.join("framework-bench-memory/new/benchmark.json");
        let id: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&id_path).unwrap()).unwrap();
        let object = id.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        let mut expected = [
            "group_id",
            "function_id",
            "value_str",
            "throughput",
            "full_id",
            "directory_name",
            "title",
        ];
        expected.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, expected);
        for key in ["function_id", "value_str", "throughput"] {
            assert!(object[key].is_null(), "{key}");
        }
        // Criterion's index links `<group_id made filename-safe>/report/`:
        // the group id is the directory's name, already filename-safe.
        assert_eq!(object["group_id"], "framework-bench-memory");
        assert_eq!(object["directory_name"], "framework-bench-memory");
        assert_eq!(object["full_id"], "framework-bench-memory");
        assert_eq!(object["title"], "framework-bench-memory");
        let names: Vec<_> = std::fs::read_dir(id_path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["benchmark.json"]);
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn formats_times_and_units() {
        assert_eq!(utc_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_time(1_795_356_141), "2026-11-22 14:02 UTC");
        assert_eq!(elapsed_text(437), "7 min 17 s");
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
