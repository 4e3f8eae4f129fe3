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

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

use crate::compare::figures::MemoryFigure;
use crate::compare::verdict::{Comparison, Verdict};
use crate::error::{Error, Result};
use crate::measure::memory::MemorySnapshot;
use crate::record::RunMode;
use crate::record::{RunRecord, ServerRecord};
use crate::report::comparison::ComparisonView;
use crate::report::latency::latency_table;
use crate::report::table::escape_html as escape;

/// The page's directory under Criterion's home, and its Criterion group id.
pub const DIRECTORY_NAME: &str = "framework-bench-memory";

use crate::units::BYTES_PER_MIB;
const CHART_SIZE_PX: (u32, u32) = (960, 340);
const LEGEND_HEIGHT_PX: u32 = 30;
/// Fewer servers than this still get bars of a sensible width.
const MIN_CHART_SLOTS: usize = 4;
const CHART_LABEL_MAX_CHARS: usize = 18;
const BEFORE_COLOUR: RGBColor = RGBColor(0x6b, 0x9b, 0xc8);
const AFTER_COLOUR: RGBColor = RGBColor(0x2f, 0x55, 0x8a);
const GRID_COLOUR: RGBColor = RGBColor(0xe6, 0xe9, 0xed);
const AXIS_COLOUR: RGBColor = RGBColor(0x8c, 0x95, 0x9f);
const TEXT_COLOUR: RGBColor = RGBColor(0x3d, 0x44, 0x4d);

pub(crate) const STYLE: &str = include_str!("page.css");

/// The whole page for a run, with the comparison against a baseline when
/// there is one.
pub fn render(run: &RunRecord, comparison: Option<&Comparison>) -> String {
    let mut html = String::with_capacity(64 * 1024);
    html.push_str(&head());
    html.push_str("<body>\n<main>\n");
    html.push_str(&header(run, comparison));
    html.push_str(&failures_section(run));
    if let Some(comparison) = comparison {
        html.push_str(&comparison_section(comparison));
    }
    html.push_str(&charts_section(run));
    html.push_str(&servers_section(run));
    html.push_str(&memory_section(run));
    html.push_str(&burst_section(run));
    html.push_str(&latency_section(run));
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

fn header(run: &RunRecord, comparison: Option<&Comparison>) -> String {
    let c = &run.config;
    let servers_failed = run.servers.iter().filter(|s| s.error.is_some()).count();
    let mut summary = format!("{} server(s)", run.servers.len());
    if servers_failed > 0 {
        let _ = write!(
            summary,
            ", <span class=\"warn\">{servers_failed} failed</span>"
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
    let params = [
        ("Requests per burst", c.n_requests.to_string()),
        ("Timeout", format!("{:.1} s", c.timeout.as_secs_f64())),
        ("Workers per server", c.workers.to_string()),
        ("Settle", format!("{:.1} s", c.settle.as_secs_f64())),
        ("Latency connections", c.concurrency.to_string()),
        ("Listen backlog", backlog_text(run)),
        ("CPUs", placement_text(&c.placement)),
        ("Rounds per server", c.rounds.to_string()),
        ("Mode", mode_name(run.mode).to_owned()),
        ("Machine CPUs", run.environment.cpus.to_string()),
        ("Started", utc_time(run.started_at_unix)),
        (
            "Took",
            elapsed_text(run.finished_at_unix.saturating_sub(run.started_at_unix)),
        ),
    ];
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

fn failures_section(run: &RunRecord) -> String {
    let failed: Vec<&ServerRecord> = run.servers.iter().filter(|s| s.error.is_some()).collect();
    if failed.is_empty() {
        return String::new();
    }
    let mut html = String::from("<section>\n<h2>Failed</h2>\n<ul class=\"failures\">\n");
    for server in failed {
        let error = server.error.as_deref().unwrap_or_default();
        let first_line = error.lines().next().unwrap_or_default();
        let _ = write!(
            html,
            "<li><strong>{}</strong>: {}",
            escape(&server.name),
            escape(first_line)
        );
        if error.trim_end().lines().count() > 1 {
            let _ = write!(
                html,
                "<details><summary>full message</summary><pre>{}</pre></details>",
                escape(error)
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
            "<details><summary>{} within noise</summary>\n{}</details>\n",
            view.within_noise.rows.len(),
            view.within_noise.to_html("wide comparison")
        );
    }
    html.push_str("</section>\n");
    html
}

fn memory_section(run: &RunRecord) -> String {
    let mut html = String::from("<section>\n<h2>Memory before and after the burst</h2>\n");
    let max_rounds = run.servers.iter().map(|s| s.rounds.len()).max();
    let rounds_note = match max_rounds {
        Some(n) if n > 1 => format!(
            " Figures are from round 1 of {n} (each round a fresh process); \
             the comparison uses the median over rounds."
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        html,
        "<p class=\"note\">MiB (threads: a count); change from before to after; \
         anon: anonymous memory (heap, stacks).{rounds_note}</p>"
    );
    html.push_str("<div class=\"cards\">\n");
    for server in &run.servers {
        html.push_str(&server_card(server));
    }
    let harness = &run.harness;
    html.push_str(&memory_card(
        "harness",
        Some(&format!("framework-bench {}", harness.version)),
        Some(&harness.before),
        harness.after.as_ref(),
        false,
    ));
    html.push_str("</div>\n</section>\n");
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

fn servers_section(run: &RunRecord) -> String {
    let mut html = String::from("<section>\n<h2>Servers</h2>\n");
    html.push_str(&crate::report::servers::servers_table(run).to_html("servers"));
    html.push_str("</section>\n");
    html
}

fn latency_section(run: &RunRecord) -> String {
    if run.servers.iter().all(|s| s.latency.is_empty()) {
        return String::new();
    }
    let mut html = String::from("<section>\n<h2>Latency</h2>\n");
    html.push_str(
        "<p class=\"note\">Criterion's estimate per request, the server's CPU time per \
         request, and how busy the client CPUs were; above 90 % the figure measured \
         the client (client-bound).</p>\n",
    );
    html.push_str(&latency_table(run).to_html("wide latency"));
    for route in crate::load::Route::ALL {
        let lines = crate::report::percentile_chart::lines(run, route);
        if lines.is_empty() {
            continue;
        }
        let title = format!("{} percentiles", route.path());
        let _ = writeln!(html, "<div class=\"chart\">\n<h3>{}</h3>", escape(&title));
        match crate::report::percentile_chart::svg(&title, &lines) {
            Ok(svg) => html.push_str(&svg),
            Err(err) => {
                let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(&err.to_string()));
            }
        }
        html.push_str("</div>\n");
    }
    html.push_str("</section>\n");
    html.push_str(&throughput_section(run));
    html
}

fn throughput_section(run: &RunRecord) -> String {
    if run.client_ceiling.is_empty() && run.servers.iter().all(|s| s.throughput.is_empty()) {
        return String::new();
    }
    let mut html = String::from("<section>\n<h2>Throughput</h2>\n");
    let _ = writeln!(
        html,
        "<p class=\"note\">Requests per second to <code>/hello/World</code> over C keep-alive \
         connections, beside the client's own ceiling: the same client against a responder \
         in the harness, on the server CPUs. Within {} of the ceiling, or with the client \
         CPUs busy above {}, the figure is client-bound.</p>",
        crate::report::format::percent(crate::record::CEILING_SHARE_BOUND),
        crate::report::format::percent(crate::measure::cpu::CLIENT_BOUND_BUSY),
    );
    html.push_str(&crate::report::throughput::throughput_table(run).to_html("wide throughput"));
    if run.servers.iter().any(|s| !s.constant_rate.is_empty()) {
        let _ = writeln!(
            html,
            "<h3>Constant rate</h3>\n<p class=\"note\">An open loop at a share of each \
             server's maximum from the sweep (the table's <em>of max</em>), or at the rates \
             <code>FRAMEWORK_BENCH_RATE</code> names: latency counts from when each request \
             was due, so a stall shows in every request it delayed. A run below {} of its \
             rate is not valid at that rate.</p>",
            crate::report::format::percent(crate::load::hammer::VALID_RATE_SHARE),
        );
        html.push_str(&crate::report::throughput::rate_table(run).to_html("wide rate"));
    }
    html.push_str("</section>\n");
    html
}

fn burst_section(run: &RunRecord) -> String {
    let c = &run.config;
    let mut html = String::from("<section>\n<h2>Burst</h2>\n");
    let _ = writeln!(
        html,
        "<p class=\"note\">{} requests at once, each on its own connection, {:.1} s timeout. \
         Latency of every request that got a status.</p>",
        c.n_requests,
        c.timeout.as_secs_f64()
    );
    html.push_str(
        "<table class=\"wide burst\">\n<thead><tr><th>server</th>\
         <th class=\"num\">total (s)</th><th class=\"num\">s/call</th>\
         <th class=\"num\">success</th><th class=\"num\">p50 (ms)</th>\
         <th class=\"num\">p99 (ms)</th><th class=\"num\">peak RSS (MiB)</th>\
         <th class=\"num\">server CPU/request (µs)</th><th>outcomes</th></tr></thead>\n<tbody>\n",
    );
    for server in &run.servers {
        html.push_str(&burst_row(server));
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
    html
}

// ------------------------------------------------------------------- parts

fn server_card(server: &ServerRecord) -> String {
    let subtitle = match &server.version {
        Some(version) => format!("{version} · {} workers", server.workers),
        None => format!("{} workers", server.workers),
    };
    let first = server.first_round();
    memory_card(
        &server.name,
        Some(&subtitle),
        first.and_then(|r| r.before.as_ref()),
        first.and_then(|r| r.after.as_ref()),
        server.error.is_some(),
    )
}

fn memory_card(
    name: &str,
    subtitle: Option<&str>,
    before: Option<&MemorySnapshot>,
    after: Option<&MemorySnapshot>,
    failed: bool,
) -> String {
    let class = if failed { "card failed" } else { "card" };
    let mut html = format!("<div class=\"{class}\">\n<h3>{}", escape(name));
    if let Some(subtitle) = subtitle {
        let _ = write!(html, " <span class=\"muted\">{}</span>", escape(subtitle));
    }
    html.push_str("</h3>\n");
    if before.is_none() && after.is_none() {
        let why = if failed {
            "failed before its first snapshot"
        } else {
            "no snapshot"
        };
        let _ = writeln!(html, "<p class=\"note\">{why}</p>\n</div>");
        return html;
    }
    html.push_str(
        "<table>\n<thead><tr><th></th><th class=\"num\">before</th>\
         <th class=\"num\">after</th><th class=\"num\">change</th></tr></thead>\n<tbody>\n",
    );
    for figure in CardRow::all() {
        html.push_str(&figure_row(figure, before, after));
    }
    html.push_str("</tbody>\n</table>\n</div>\n");
    html
}

/// A row of a memory card: one of the memory figures the comparison
/// judges, or the thread count.
#[derive(Debug, Clone, Copy)]
enum CardRow {
    Memory(MemoryFigure),
    Threads,
}

impl CardRow {
    fn all() -> impl Iterator<Item = CardRow> {
        MemoryFigure::ALL
            .into_iter()
            .map(CardRow::Memory)
            .chain([CardRow::Threads])
    }

    fn name(self) -> &'static str {
        match self {
            CardRow::Memory(MemoryFigure::Anonymous) => "anon",
            CardRow::Memory(figure) => figure.label(),
            CardRow::Threads => "threads",
        }
    }

    fn value(self, snapshot: &MemorySnapshot) -> Option<u64> {
        match self {
            CardRow::Memory(figure) => figure.of(snapshot),
            CardRow::Threads => snapshot.threads,
        }
    }

    fn is_bytes(self) -> bool {
        matches!(self, CardRow::Memory(_))
    }
}

fn figure_row(
    figure: CardRow,
    before: Option<&MemorySnapshot>,
    after: Option<&MemorySnapshot>,
) -> String {
    let before_value = before.and_then(|s| figure.value(s));
    let after_value = after.and_then(|s| figure.value(s));
    let show = |value: Option<u64>, snapshot: Option<&MemorySnapshot>| match (value, snapshot) {
        (Some(v), _) if figure.is_bytes() => format!("{:.2}", mib(v)),
        (Some(v), _) => v.to_string(),
        (None, Some(_)) => "n/a".to_owned(),
        (None, None) => "–".to_owned(),
    };
    let change = match (before_value, after_value) {
        (Some(b), Some(a)) if figure.is_bytes() => percent_change(b as f64, a as f64),
        (Some(b), Some(a)) => format!("{:+}", a as i64 - b as i64),
        _ => "–".to_owned(),
    };
    format!(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num muted\">{change}</td></tr>\n",
        figure.name(),
        show(before_value, before),
        show(after_value, after),
    )
}

fn burst_row(server: &ServerRecord) -> String {
    let name = escape(&server.name);
    let Some(burst) = server.first_round().and_then(|r| r.burst.as_ref()) else {
        let why = if server.error.is_some() {
            "not run (failed)"
        } else {
            "not run"
        };
        return format!(
            "<tr><td>{name}</td><td class=\"num muted\" colspan=\"7\">–</td>\
             <td class=\"muted\">{why}</td></tr>\n"
        );
    };
    let success_class = if burst.success_rate < 1.0 {
        "num warn"
    } else {
        "num"
    };
    let ns_to_ms = |ns: u64| ns as f64 / 1e6;
    let peak = burst
        .peak_rss_bytes
        .map_or("n/a".into(), |b| format!("{:.2}", mib(b)));
    let cpu = burst.server_cpu_per_request_ns();
    let cpu = cpu.map_or("n/a".into(), |ns| format!("{:.1}", ns / 1e3));
    let mut outcomes = burst.outcome_text();
    if burst.client_bound {
        outcomes.push_str(" [client-bound: this measured the client]");
    }
    format!(
        "<tr><td>{name}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.5}</td>\
         <td class=\"{success_class}\">{:.1}%</td><td class=\"num\">{:.2}</td>\
         <td class=\"num\">{:.2}</td><td class=\"num\">{peak}</td>\
         <td class=\"num\">{cpu}</td><td>{}</td></tr>\n",
        burst.wall_time.as_secs_f64(),
        burst.seconds_per_call,
        burst.success_rate * 100.0,
        ns_to_ms(burst.latency.p50_ns),
        ns_to_ms(burst.latency.p99_ns),
        escape(&outcomes),
    )
}

// ------------------------------------------------------------------ charts

/// One server's bars in a chart, in MiB.
#[derive(Debug, Clone, PartialEq)]
struct ServerBars {
    label: String,
    before_mib: Option<f64>,
    after_mib: Option<f64>,
}

/// Reads one of a server's bars, in MiB.
type BarValue = fn(&ServerBars) -> Option<f64>;

/// The servers with at least one snapshot giving `figure`.
fn chart_bars(run: &RunRecord, figure: MemoryFigure) -> Vec<ServerBars> {
    run.servers
        .iter()
        .map(|s| ServerBars {
            label: chart_label(&s.name),
            before_mib: s
                .first_round()
                .and_then(|r| r.before.as_ref())
                .and_then(|s| figure.of(s))
                .map(mib),
            after_mib: s
                .first_round()
                .and_then(|r| r.after.as_ref())
                .and_then(|s| figure.of(s))
                .map(mib),
        })
        .filter(|bars| bars.before_mib.is_some() || bars.after_mib.is_some())
        .collect()
}

fn chart_label(name: &str) -> String {
    if name.chars().count() <= CHART_LABEL_MAX_CHARS {
        return name.to_owned();
    }
    let mut label: String = name.chars().take(CHART_LABEL_MAX_CHARS - 1).collect();
    label.push('…');
    label
}

/// A grouped bar chart (before and after per server) as an inline `<svg>`.
fn bar_chart_svg(title: &str, bars: &[ServerBars]) -> Result<String> {
    let chart_error = |err: &dyn std::fmt::Display| Error::Chart {
        title: title.to_owned(),
        message: err.to_string(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE_PX).into_drawing_area();
        draw_bar_chart(&root, bars).map_err(|err| chart_error(&err))?;
        root.present().map_err(|err| chart_error(&err))?;
    }
    // HTML5 puts an inline <svg> in the SVG namespace by itself; dropping
    // the attribute keeps the page free of URLs.
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    Ok(svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", escape(title)),
        1,
    ))
}

fn draw_bar_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    bars: &[ServerBars],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (legend_area, plot_area) = root.split_vertically(LEGEND_HEIGHT_PX);
    draw_legend(&legend_area)?;

    let x_range = slot_range(bars.len()).with_key_points(slot_centres(bars.len()));
    let top_mib = axis_top_mib(bars);
    let y_decimals = if top_mib < 5.0 { 1 } else { 0 };

    let mut chart = ChartBuilder::on(&plot_area)
        .margin_left(8)
        .margin_right(16)
        .margin_bottom(4)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, 0.0..top_mib)?;
    let x_label = |x: &i32| {
        server_at(*x)
            .and_then(|i| bars.get(i))
            .map_or_else(String::new, |b| b.label.clone())
    };
    let y_label = |y: &f64| format!("{y:.y_decimals$}");
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID_COLOUR)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS_COLOUR)
        .y_labels(6)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style(("sans-serif", 16).into_font().color(&TEXT_COLOUR))
        .axis_desc_style(("sans-serif", 16).into_font().color(&TEXT_COLOUR))
        .y_desc("MiB")
        .draw()?;

    let phases: [(i32, RGBColor, BarValue); 2] = [
        (0, BEFORE_COLOUR, |b| b.before_mib),
        (1, AFTER_COLOUR, |b| b.after_mib),
    ];
    for (phase, colour, value) in phases {
        let series = bars.iter().enumerate().filter_map(|(i, b)| {
            let (left, right) = bar_span(i, phase);
            value(b).map(|v| Rectangle::new([(left, 0.0), (right, v)], colour.filled()))
        });
        chart.draw_series(series)?;
        let labels = bars.iter().enumerate().filter_map(|(i, b)| {
            let (left, right) = bar_span(i, phase);
            let style = ("sans-serif", 14)
                .into_font()
                .color(&TEXT_COLOUR)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            value(b).map(|v| {
                EmptyElement::at(((left + right) / 2, v))
                    + Text::new(bar_value_text(v), (0, -3), style)
            })
        });
        chart.draw_series(labels)?;
    }
    Ok(())
}

/// Width of one server's slot on the x axis, in axis units (plotters'
/// integer axes take a label formatter; its f64 axis with fixed key points
/// does not).
const SLOT_UNITS: i32 = 1000;

/// The x axis: one slot per server, centred in at least
/// `MIN_CHART_SLOTS` slots so that a lone server's bars stay narrow.
fn slot_range(n_servers: usize) -> std::ops::Range<i32> {
    let n_slots = n_servers.max(MIN_CHART_SLOTS) as i32;
    let padding = (n_slots - n_servers as i32) * SLOT_UNITS / 2;
    -padding..n_servers as i32 * SLOT_UNITS + padding
}

fn slot_centres(n_servers: usize) -> Vec<i32> {
    (0..n_servers as i32)
        .map(|i| i * SLOT_UNITS + SLOT_UNITS / 2)
        .collect()
}

/// The server whose slot is centred on `x`.
fn server_at(x: i32) -> Option<usize> {
    let from_first_centre = x - SLOT_UNITS / 2;
    (from_first_centre >= 0 && from_first_centre % SLOT_UNITS == 0)
        .then_some((from_first_centre / SLOT_UNITS) as usize)
}

/// The x span of a server's bar: `phase` 0 is before, 1 after.
fn bar_span(index: usize, phase: i32) -> (i32, i32) {
    const BAR_UNITS: i32 = 340;
    const GAP_UNITS: i32 = 20;
    let centre = index as i32 * SLOT_UNITS + SLOT_UNITS / 2;
    let left = centre - BAR_UNITS - GAP_UNITS / 2 + phase * (BAR_UNITS + GAP_UNITS);
    (left, left + BAR_UNITS)
}

fn bar_value_text(value_mib: f64) -> String {
    if value_mib < 10.0 {
        format!("{value_mib:.2}")
    } else {
        format!("{value_mib:.1}")
    }
}

/// Room above the tallest bar for its label.
fn axis_top_mib(bars: &[ServerBars]) -> f64 {
    let max_mib = bars
        .iter()
        .flat_map(|b| [b.before_mib, b.after_mib])
        .flatten()
        .fold(0.0, f64::max);
    if max_mib > 0.0 { max_mib * 1.15 } else { 1.0 }
}

/// Two swatches above the plot, drawn in pixels.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = ("sans-serif", 16)
        .into_font()
        .color(&TEXT_COLOUR)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let mut x_px = 68;
    let y_px = 16;
    for (label, colour, width_px) in [
        ("before the burst", BEFORE_COLOUR, 150),
        ("after the burst", AFTER_COLOUR, 150),
    ] {
        area.draw(&Rectangle::new(
            [(x_px, y_px - 6), (x_px + 12, y_px + 6)],
            colour.filled(),
        ))?;
        area.draw(&Text::new(label, (x_px + 18, y_px), style.clone()))?;
        x_px += width_px;
    }
    Ok(())
}

// ---------------------------------------------------------------- helpers

fn mib(bytes: u64) -> f64 {
    bytes as f64 / BYTES_PER_MIB
}

fn percent_change(before: f64, after: f64) -> String {
    if before > 0.0 {
        let change_percent = (after - before) / before * 100.0;
        // Past 100 %, the decimal is noise to the reader.
        let decimals = if change_percent.abs() >= 100.0 { 0 } else { 1 };
        format!("{change_percent:+.decimals$}%")
    } else {
        "–".to_owned()
    }
}

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

fn mode_name(mode: RunMode) -> &'static str {
    match mode {
        RunMode::Benchmark => "benchmark",
        RunMode::Test => "test (small burst, no settle)",
        RunMode::Profile => "profile (no latency estimates)",
        RunMode::List | RunMode::LoadBaseline => "no benchmarks run",
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
    use crate::record::{BurstRecord, HarnessRecord, RoundRecord};
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
            noise: Some(0.5 * BYTES_PER_MIB),
            verdict,
        }
    }

    fn comparison() -> Comparison {
        Comparison {
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
        assert!(
            page.contains("<td>RSS</td><td class=\"num\">3.00</td><td class=\"num\">12.50</td>")
        );
        assert!(page.contains("+317%") && page.contains("+0.0%"));
        assert!(page.contains("200: 1980, timeout: 20"));
        assert!(page.contains("<td class=\"num\">1.50</td><td class=\"num\">9.25</td>"));
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
        assert!(page.contains("failed before its first snapshot"));
        assert!(page.contains("not run (failed)"));
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
        let latency = &page[page.find("<h2>Latency</h2>").expect("a latency section")..];
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
        assert!(page.contains("<td>USS</td><td class=\"num\">n/a</td>"));
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
            chart_label("abcdefghijklmnopqrstuvwxyz"),
            "abcdefghijklmnopq…"
        );
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
