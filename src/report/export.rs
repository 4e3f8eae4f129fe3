//! Exports of one run for tools people already use:
//! - Bencher Metric Format JSON, for `bencher run --adapter json`
//!   ([`bencher_metric_format`]);
//! - github-action-benchmark's `customSmallerIsBetter` JSON
//!   ([`github_action_benchmark`]);
//! - a markdown summary for pull requests ([`markdown_summary`]);
//! - all three as files in one directory ([`write_all`]).
//!
//! Every figure is smaller-is-better. JSON cannot hold NaN or infinity, so
//! the JSON exports skip a metric whose value is not finite, and ignore
//! bounds and readings that are not.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::compare::figures::{Figure, MemoryFigure, Metric, Phase};
use crate::compare::verdict::Comparison;
use crate::error::Result;
use crate::load::Route;
use crate::measure::estimate::Statistic;
use crate::record::RunRecord;
use crate::report::comparison::ComparisonView;
use crate::report::format;
use crate::report::run_view::RunView;
use crate::report::table::{Table, escape_markdown, one_line};

/// The BMF file [`write_all`] writes.
pub const BENCHER_FILE: &str = "bencher.json";
/// The github-action-benchmark file [`write_all`] writes.
pub const GITHUB_ACTION_BENCHMARK_FILE: &str = "github-action-benchmark.json";
/// The markdown file [`write_all`] writes.
pub const SUMMARY_FILE: &str = "summary.md";

/// The comparison of the run (with a baseline, or B against A), every row
/// with its change, interval, rounds, p-value and verdict; absent when the
/// run compared nothing.
pub const COMPARISON_FILE: &str = "comparison.json";

// ---------------------------------------------------------------------------
// Intervals

/// Where an interval around a value comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum IntervalKind {
    /// The 95 % confidence interval of the latency estimate.
    Confidence(Statistic),
    /// Min..max of this many independent readings.
    Readings(usize),
}

/// An interval that contains its metric's value.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Interval {
    lower: f64,
    upper: f64,
    kind: IntervalKind,
}

impl Interval {
    fn half_width(&self) -> f64 {
        (self.upper - self.lower) / 2.0
    }
}

/// The metric's confidence interval if it has one, else the min..max of its
/// readings (if several); `None` when neither is finite or the interval does
/// not contain the value.
fn interval(metric: &Metric) -> Option<Interval> {
    let interval = confidence_interval(metric).or_else(|| readings_range(metric))?;
    (interval.lower <= metric.value && metric.value <= interval.upper).then_some(interval)
}

fn confidence_interval(metric: &Metric) -> Option<Interval> {
    match (metric.lower, metric.upper) {
        (Some(lower), Some(upper)) if lower.is_finite() && upper.is_finite() => Some(Interval {
            lower,
            upper,
            kind: IntervalKind::Confidence(metric.statistic.unwrap_or(Statistic::Mean)),
        }),
        _ => None,
    }
}

fn readings_range(metric: &Metric) -> Option<Interval> {
    let finite: Vec<f64> = metric
        .readings
        .iter()
        .copied()
        .filter(|r| r.is_finite())
        .collect();
    if finite.len() < 2 {
        return None;
    }
    Some(Interval {
        lower: finite.iter().copied().fold(f64::INFINITY, f64::min),
        upper: finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        kind: IntervalKind::Readings(finite.len()),
    })
}

/// The metrics a JSON export can hold: finite values, the first of each
/// `server/name` key only.
fn exportable(metrics: &[Metric]) -> Vec<&Metric> {
    let mut seen = std::collections::BTreeSet::new();
    metrics
        .iter()
        .filter(|m| m.value.is_finite() && seen.insert(m.key()))
        .collect()
}

// ---------------------------------------------------------------------------
// Bencher Metric Format

/// The run in Bencher Metric Format
/// (<https://bencher.dev/docs/reference/bencher-metric-format/>):
/// `{ benchmark: { measure: { value, lower_value?, upper_value? } } }`.
///
/// Benchmarks and measures:
/// - `latency-<route>` → benchmark `<server>/<route>`, Bencher's built-in
///   measure `latency` (ns), bounds from the 95 % confidence interval;
/// - memory figures (bytes) → benchmark `<server>/memory`, one measure per
///   figure named like it (`rss-before`, `uss-after`, ...);
/// - `burst-<figure>` → benchmark `<server>/burst`, measures
///   `time-per-call` (nanoseconds per call)
///   and `failure-rate` (a fraction in 0..=1);
/// - `startup-time` → benchmark `<server>/startup`, measure `startup-time`
///   (ns);
/// - anything else → benchmark `<server>/other`, measure named like it.
///
/// Figures with several readings get their min..max as bounds. Metrics whose
/// value is not finite are skipped (JSON cannot hold NaN), and so are bounds
/// that are not finite or do not contain the value. When two metrics have
/// the same `server/name`, the first wins.
pub fn bencher_metric_format(metrics: &[Metric]) -> Value {
    let mut benchmarks: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for metric in exportable(metrics) {
        let (benchmark, measure) = bencher_place(metric);
        benchmarks
            .entry(benchmark)
            .or_default()
            .entry(measure)
            .or_insert_with(|| bencher_metric(metric));
    }
    benchmarks
        .into_iter()
        .map(|(benchmark, measures)| (benchmark, Value::Object(measures.into_iter().collect())))
        .collect::<Map<String, Value>>()
        .into()
}

/// (benchmark name, measure slug) of a metric; see [`bencher_metric_format`].
fn bencher_place(metric: &Metric) -> (String, String) {
    let server = &metric.server;
    let name = metric.figure.name();
    match metric.figure {
        Figure::Latency(route) => (format!("{server}/{route}"), "latency".to_owned()),
        Figure::LatencyCpuPerRequest(route) => {
            (format!("{server}/{route}"), "cpu-per-request".to_owned())
        }
        Figure::LatencyPercentile(route, p) => {
            // Bencher's measure slugs take no dots: `latency-p99-9`.
            let slug = format!("latency-{}", p.name()).replace('.', "-");
            (format!("{server}/{route}"), slug)
        }
        Figure::BurstPeakRss => (format!("{server}/burst"), "peak-rss".to_owned()),
        Figure::BurstCpuPerRequest => (format!("{server}/burst"), "cpu-per-request".to_owned()),
        Figure::BurstTimePerCall => (format!("{server}/burst"), "time-per-call".to_owned()),
        Figure::BurstFailureRate => (format!("{server}/burst"), "failure-rate".to_owned()),
        Figure::Instructions(route) => (
            format!("{server}/{route}"),
            "instructions-per-request".to_owned(),
        ),
        Figure::LatencyAllocations(route) => (
            format!("{server}/{route}"),
            "allocations-per-request".to_owned(),
        ),
        Figure::LatencyAllocatedBytes(route) => (
            format!("{server}/{route}"),
            "allocated-bytes-per-request".to_owned(),
        ),
        Figure::BurstAllocations => (
            format!("{server}/burst"),
            "allocations-per-request".to_owned(),
        ),
        Figure::BurstAllocatedBytes => (
            format!("{server}/burst"),
            "allocated-bytes-per-request".to_owned(),
        ),
        Figure::BurstPeakLiveHeap => (format!("{server}/burst"), "peak-live-heap".to_owned()),
        Figure::LiveHeap(_) | Figure::AllocatorOverhead(_) => (format!("{server}/memory"), name),
        Figure::StartupTime => (format!("{server}/startup"), name),
        Figure::Memory(..) => (format!("{server}/memory"), name),
        Figure::SweepTimePerRequest(c) => (
            format!("{server}/hello/c{c}"),
            "time-per-request".to_owned(),
        ),
        Figure::RatePercentile(route, percent, p) => {
            let slug = format!("latency-{}", p.name()).replace('.', "-");
            (format!("{server}/{route}/rate-{percent}pct"), slug)
        }
    }
}

fn bencher_metric(metric: &Metric) -> Value {
    let mut measure = Map::new();
    measure.insert("value".into(), json!(metric.value));
    if let Some(interval) = interval(metric) {
        measure.insert("lower_value".into(), json!(interval.lower));
        measure.insert("upper_value".into(), json!(interval.upper));
    }
    Value::Object(measure)
}

// ---------------------------------------------------------------------------
// github-action-benchmark

/// The run in github-action-benchmark's `customSmallerIsBetter` format
/// (<https://github.com/benchmark-action/github-action-benchmark>): an array
/// of `{ name, unit, value, range?, extra? }`, in the metrics' order.
///
/// `name` is `<server>/<metric name>`, `unit` is `ns`, `bytes` or `ratio`;
/// `range` is `± X`, the half-width of the confidence interval or of the
/// readings' min..max, when known; `extra` says which of the two it is.
/// Metrics whose value is not finite are skipped (JSON cannot hold NaN);
/// when two metrics have the same name, the first wins.
pub fn github_action_benchmark(metrics: &[Metric]) -> Value {
    exportable(metrics)
        .into_iter()
        .map(github_action_entry)
        .collect()
}

fn github_action_entry(metric: &Metric) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), json!(metric.key()));
    entry.insert("unit".into(), json!(metric.unit().as_str()));
    entry.insert("value".into(), json!(metric.value));
    if let Some(interval) = interval(metric) {
        let range = format!("± {}", significant(interval.half_width()));
        entry.insert("range".into(), json!(range));
        entry.insert("extra".into(), json!(interval_description(&interval)));
    }
    Value::Object(entry)
}

fn interval_description(interval: &Interval) -> String {
    let (lower, upper) = (significant(interval.lower), significant(interval.upper));
    match interval.kind {
        IntervalKind::Confidence(statistic) => {
            format!("{}, 95% CI {lower}..{upper}", statistic.name())
        }
        IntervalKind::Readings(n) => format!("median of {n} readings, {lower}..{upper}"),
    }
}

/// `x` with four significant digits (at least all integer digits), trailing
/// zeros dropped: `1250`, `0.0025`, `12.35`.
fn significant(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 12) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

// ---------------------------------------------------------------------------
// Markdown

/// A column of the figures table: which metric, its header, how to show it.
struct Column {
    figure: Figure,
    header: &'static str,
    format: fn(f64) -> String,
}

/// The latency of each request, in µs, then these.
const FIGURE_COLUMNS: [Column; 6] = [
    Column {
        figure: Figure::Memory(Phase::Before, MemoryFigure::Rss),
        header: "rss before (MiB)",
        format: format::mib_number,
    },
    Column {
        figure: Figure::Memory(Phase::After, MemoryFigure::Rss),
        header: "rss after (MiB)",
        format: format::mib_number,
    },
    Column {
        figure: Figure::Memory(Phase::After, MemoryFigure::Uss),
        header: "uss after (MiB)",
        format: format::mib_number,
    },
    Column {
        figure: Figure::Memory(Phase::After, MemoryFigure::Anonymous),
        header: "anon after (MiB)",
        format: format::mib_number,
    },
    Column {
        figure: Figure::BurstTimePerCall,
        header: "burst (s/call)",
        format: format::seconds_number,
    },
    Column {
        figure: Figure::BurstFailureRate,
        header: "failures (%)",
        format: format::percent_number,
    },
];

/// A markdown summary for a pull request: the run's parameters, a table of
/// the main figures per server (latency in µs, memory in MiB, burst seconds
/// per call, failure rate in %; `-` when not measured), and, with a
/// comparison, a table of every figure against the baseline (regressions
/// first, then improvements, missing, new and within-noise figures) followed
/// by the comparison's warnings. `|` in cells is escaped.
pub fn markdown_summary(
    run: &RunRecord,
    metrics: &[Metric],
    comparison: Option<&Comparison>,
) -> String {
    let view = RunView::of(run);
    let mut out = String::from("## framework-bench\n\n");
    out.push_str(&view.parameters_line());
    out.push_str(&format!(".\n\nConditions: {}.\n\n", view.conditions));
    out.push_str(&figures_table(&run.routes(), metrics));
    if let Some(comparison) = comparison {
        out.push('\n');
        out.push_str(&comparison_section(comparison));
    }
    out.push_str(&run_tables(&view));
    out
}

/// The run's own tables (round 1's memory, the burst, latency, ...),
/// folded so that the summary stays short in a pull request.
fn run_tables(view: &RunView) -> String {
    let mut out = String::from("\n<details><summary>This run's tables</summary>\n\n");
    for section in &view.sections {
        out.push_str(&format!("**{}**\n\n", escape_markdown(&section.title)));
        out.push_str(&section.table.to_markdown());
        out.push('\n');
    }
    for failure in &view.failures {
        out.push_str(&format!(
            "Failed: {}: {}\n\n",
            escape_markdown(&failure.server),
            escape_markdown(&failure.first_line)
        ));
    }
    out.push_str("</details>\n");
    out
}

fn figures_table(routes: &[Route], metrics: &[Metric]) -> String {
    let latency: Vec<String> = routes.iter().map(|r| format!("{r} (µs)")).collect();
    let mut headers = vec!["server"];
    headers.extend(latency.iter().map(String::as_str));
    headers.extend(FIGURE_COLUMNS.iter().map(|c| c.header));
    let mut table = Table::new(&headers);
    for server in servers_in_order(metrics) {
        let mut row = vec![server.to_owned()];
        row.extend(routes.iter().map(|&route| {
            let column = Column {
                figure: Figure::Latency(route),
                header: "",
                format: format::us_number,
            };
            figure_cell(metrics, server, &column)
        }));
        row.extend(
            FIGURE_COLUMNS
                .iter()
                .map(|column| figure_cell(metrics, server, column)),
        );
        table.push(row);
    }
    table.to_markdown()
}

/// Server names in the order they first appear.
fn servers_in_order(metrics: &[Metric]) -> Vec<&str> {
    let mut servers: Vec<&str> = Vec::new();
    for metric in metrics {
        if !servers.contains(&metric.server.as_str()) {
            servers.push(&metric.server);
        }
    }
    servers
}

fn figure_cell(metrics: &[Metric], server: &str, column: &Column) -> String {
    let value = metrics
        .iter()
        .find(|m| m.server == server && m.figure == column.figure)
        .map(|m| m.value);
    match value {
        None => "-".to_owned(),
        Some(v) if !v.is_finite() => "n/a".to_owned(),
        Some(v) => (column.format)(v),
    }
}

/// The comparison: what changed, then the figures within noise folded in a
/// `<details>` block, then the warnings.
fn comparison_section(comparison: &Comparison) -> String {
    let view = ComparisonView::of(comparison);
    let mut out = format!("### {}\n\n{}\n\n", one_line(&view.title), view.counts);
    if !view.changed.rows.is_empty() {
        out.push_str(&view.changed.to_markdown());
    }
    if !view.within_noise.rows.is_empty() {
        let _ = write!(
            out,
            "{}<details><summary>{} {}</summary>\n\n{}\n</details>\n",
            if view.changed.rows.is_empty() {
                ""
            } else {
                "\n"
            },
            view.within_noise.rows.len(),
            view.quiet_label,
            view.within_noise.to_markdown()
        );
    }
    if !view.failures.is_empty() {
        out.push_str("\nFailed:\n\n");
        for failure in &view.failures {
            let _ = writeln!(out, "- {}", one_line(failure));
        }
    }
    if !view.warnings.is_empty() {
        out.push_str("\nWarnings:\n\n");
        for warning in &view.warnings {
            let _ = writeln!(out, "- {}", one_line(warning));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Files

/// Writes [`BENCHER_FILE`] and [`GITHUB_ACTION_BENCHMARK_FILE`] (pretty
/// JSON) and [`SUMMARY_FILE`] into `dir` (created if needed), each
/// atomically, and returns their paths in that order.
pub fn write_all(
    dir: &Path,
    run: &RunRecord,
    metrics: &[Metric],
    comparison: Option<&Comparison>,
) -> Result<Vec<PathBuf>> {
    let bencher = dir.join(BENCHER_FILE);
    let github = dir.join(GITHUB_ACTION_BENCHMARK_FILE);
    let summary = dir.join(SUMMARY_FILE);
    crate::fs::write_json(&bencher, &bencher_metric_format(metrics))?;
    crate::fs::write_json(&github, &github_action_benchmark(metrics))?;
    let markdown = markdown_summary(run, metrics, comparison);
    crate::fs::write_atomically(&summary, markdown.as_bytes())?;
    let compared = dir.join(COMPARISON_FILE);
    match comparison {
        Some(comparison) => crate::fs::write_json(&compared, comparison)?,
        // A file from an earlier run would pass for this run's.
        None => {
            let _ = std::fs::remove_file(&compared);
        }
    }
    Ok(vec![bencher, github, summary, compared])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::figures::Unit;
    use crate::compare::verdict::{Row, Verdict};
    use crate::measure::memory::MemorySnapshot;
    use crate::record::HarnessRecord;
    use std::collections::BTreeSet;

    const MIB: f64 = crate::units::BYTES_PER_MIB;

    fn metric(server: &str, name: &str, unit: Unit, value: f64) -> Metric {
        let figure: Figure = name.parse().unwrap();
        assert_eq!(figure.unit(), unit, "{name}");
        Metric::point(server, figure, value)
    }

    fn with_ci(metric: Metric, lower: f64, upper: f64) -> Metric {
        Metric {
            lower: Some(lower),
            upper: Some(upper),
            statistic: Some(Statistic::Slope),
            ..metric
        }
    }

    fn with_readings(metric: Metric, readings: &[f64]) -> Metric {
        Metric {
            readings: readings.to_vec(),
            ..metric
        }
    }

    /// Two servers: latency with a confidence interval, memory with and
    /// without readings, burst and startup figures.
    fn fixture() -> Vec<Metric> {
        use Unit::{Bytes, Nanoseconds, Ratio};
        vec![
            with_ci(
                metric("axum", "latency-hello", Nanoseconds, 52_340.0),
                51_000.0,
                53_500.0,
            ),
            with_ci(
                metric("axum", "latency-json", Nanoseconds, 55_000.0),
                54_500.0,
                56_000.0,
            ),
            with_readings(
                metric("axum", "rss-before", Bytes, 3.25 * MIB),
                &[3.0 * MIB, 3.25 * MIB, 3.5 * MIB],
            ),
            metric("axum", "uss-after", Bytes, 1.25 * MIB),
            with_readings(
                metric("axum", "burst-time-per-call", Nanoseconds, 206_000.0),
                &[150_000.0, 206_000.0, 250_000.0],
            ),
            metric("axum", "burst-failure-rate", Ratio, 0.0065),
            metric("axum", "startup-time", Nanoseconds, 4_100_000.0),
            with_ci(
                metric("tide", "latency-hello", Nanoseconds, 61_000.0),
                60_000.0,
                64_000.0,
            ),
            with_readings(
                metric("tide", "rss-after", Bytes, 4.5 * MIB),
                &[4.25 * MIB, 4.5 * MIB, 4.75 * MIB],
            ),
            metric("tide", "anonymous-after", Bytes, 0.75 * MIB),
        ]
    }

    fn snapshot() -> MemorySnapshot {
        MemorySnapshot::new(7, 10 * 1024 * 1024, 130 * 1024 * 1024)
    }

    fn run() -> RunRecord {
        RunRecord {
            started_at_unix: 0,
            finished_at_unix: 1,
            environment: Default::default(),
            harness: HarnessRecord {
                version: "0.1.0".into(),
                before: snapshot(),
                after: None,
            },
            servers: Vec::new(),
            ..crate::fixtures::run()
        }
    }

    fn row(
        server: &str,
        metric: &str,
        unit: Unit,
        baseline: Option<f64>,
        now: Option<f64>,
        verdict: Verdict,
    ) -> Row {
        let change = match (baseline, now) {
            (Some(b), Some(n)) if b != 0.0 => Some((n - b) / b),
            _ => None,
        };
        let figure: Figure = metric.parse().unwrap();
        assert_eq!(figure.unit(), unit, "{metric}");
        Row {
            server: server.into(),
            figure,
            baseline,
            now,
            change,
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
                row(
                    "axum",
                    "latency-hello",
                    Unit::Nanoseconds,
                    Some(60_000.0),
                    Some(52_340.0),
                    Verdict::Improved,
                ),
                row(
                    "axum",
                    "rss-before",
                    Unit::Bytes,
                    Some(3.0 * MIB),
                    Some(3.25 * MIB),
                    Verdict::WithinNoise,
                ),
                row(
                    "axum",
                    "startup-time",
                    Unit::Nanoseconds,
                    None,
                    Some(4_100_000.0),
                    Verdict::New,
                ),
                row(
                    "tide",
                    "latency-hello",
                    Unit::Nanoseconds,
                    Some(50_000.0),
                    Some(61_000.0),
                    Verdict::Regressed,
                ),
                row(
                    "tide",
                    "burst-failure-rate",
                    Unit::Ratio,
                    Some(0.0),
                    Some(0.05),
                    Verdict::Regressed,
                ),
                row(
                    "tide",
                    "uss-after",
                    Unit::Bytes,
                    Some(1.0 * MIB),
                    None,
                    Verdict::Missing,
                ),
            ],
            warnings: vec!["baseline ran on another CPU (x) than this run (y)".into()],
        }
    }

    #[test]
    fn bencher_metric_format_snapshot() {
        let text = serde_json::to_string_pretty(&bencher_metric_format(&fixture())).unwrap();
        let expected = r#"{
  "axum/burst": {
    "failure-rate": {
      "value": 0.0065
    },
    "time-per-call": {
      "lower_value": 150000.0,
      "upper_value": 250000.0,
      "value": 206000.0
    }
  },
  "axum/hello": {
    "latency": {
      "lower_value": 51000.0,
      "upper_value": 53500.0,
      "value": 52340.0
    }
  },
  "axum/json": {
    "latency": {
      "lower_value": 54500.0,
      "upper_value": 56000.0,
      "value": 55000.0
    }
  },
  "axum/memory": {
    "rss-before": {
      "lower_value": 3145728.0,
      "upper_value": 3670016.0,
      "value": 3407872.0
    },
    "uss-after": {
      "value": 1310720.0
    }
  },
  "axum/startup": {
    "startup-time": {
      "value": 4100000.0
    }
  },
  "tide/hello": {
    "latency": {
      "lower_value": 60000.0,
      "upper_value": 64000.0,
      "value": 61000.0
    }
  },
  "tide/memory": {
    "anonymous-after": {
      "value": 786432.0
    },
    "rss-after": {
      "lower_value": 4456448.0,
      "upper_value": 4980736.0,
      "value": 4718592.0
    }
  }
}"#;
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn github_action_benchmark_snapshot() {
        let text = serde_json::to_string_pretty(&github_action_benchmark(&fixture())).unwrap();
        let expected = r#"[
  {
    "extra": "slope, 95% CI 51000..53500",
    "name": "axum/latency-hello",
    "range": "± 1250",
    "unit": "ns",
    "value": 52340.0
  },
  {
    "extra": "slope, 95% CI 54500..56000",
    "name": "axum/latency-json",
    "range": "± 750",
    "unit": "ns",
    "value": 55000.0
  },
  {
    "extra": "median of 3 readings, 3145728..3670016",
    "name": "axum/rss-before",
    "range": "± 262144",
    "unit": "bytes",
    "value": 3407872.0
  },
  {
    "name": "axum/uss-after",
    "unit": "bytes",
    "value": 1310720.0
  },
  {
    "extra": "median of 3 readings, 150000..250000",
    "name": "axum/burst-time-per-call",
    "range": "± 50000",
    "unit": "ns",
    "value": 206000.0
  },
  {
    "name": "axum/burst-failure-rate",
    "unit": "ratio",
    "value": 0.0065
  },
  {
    "name": "axum/startup-time",
    "unit": "ns",
    "value": 4100000.0
  },
  {
    "extra": "slope, 95% CI 60000..64000",
    "name": "tide/latency-hello",
    "range": "± 2000",
    "unit": "ns",
    "value": 61000.0
  },
  {
    "extra": "median of 3 readings, 4456448..4980736",
    "name": "tide/rss-after",
    "range": "± 262144",
    "unit": "bytes",
    "value": 4718592.0
  },
  {
    "name": "tide/anonymous-after",
    "unit": "bytes",
    "value": 786432.0
  }
]"#;
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn markdown_summary_snapshot() {
        let text = markdown_summary(&run(), &fixture(), Some(&comparison()));
        let (text, run_tables) = text
            .split_once("\n<details><summary>This run's tables")
            .unwrap();
        assert!(
            run_tables.contains("**Memory before the burst (MiB)**"),
            "{run_tables}"
        );
        let text = format!("{}\n", text.trim_end());
        let expected = "\
## framework-bench

Mode: benchmark, Requests per burst: 2000, Timeout: 1.0 s, Workers per server: 1, Settle: 2.0 s, Latency connections: 1, Rounds per server: 5.

Conditions: servers on CPUs 1, client on CPUs 0; listen backlog 2000.

| server | hello (µs) | json (µs) | rss before (MiB) | rss after (MiB) | uss after (MiB) | anon after (MiB) | burst (s/call) | failures (%) |
| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| axum | 52.3 | 55.0 | 3.25 | - | 1.25 | - | 0.00021 | 0.7 |
| tide | 61.0 | - | - | 4.50 | - | 0.75 | - | - |

### Compared with baseline `main`

6 figures: 2 regressed, 1 missing, 1 improved, 0 withheld, 0 not comparable, 1 new, 0 not judged, 0 inconclusive, 1 within noise.

| server | figure | baseline | now | change | 95 % interval | rounds | verdict | why |
| :--- | :--- | ---: | ---: | ---: | ---: | ---: | :--- | :--- |
| tide | latency hello | 50.0 µs | 61.0 µs | +22.0% | - | - | REGRESSED |  |
| tide | burst failures | 0.0% | 5.0% | - | - | - | REGRESSED |  |
| tide | USS after | 1.00 MiB | - | - | - | - | MISSING |  |
| axum | latency hello | 60.0 µs | 52.3 µs | -12.8% | - | - | improved |  |
| axum | startup time | - | 4.10 ms | - | - | - | new |  |

<details><summary>1 within noise</summary>

| server | figure | baseline | now | change | 95 % interval | rounds | verdict | why |
| :--- | :--- | ---: | ---: | ---: | ---: | ---: | :--- | :--- |
| axum | RSS before | 3.00 MiB | 3.25 MiB | +8.3% | - | - | within noise |  |

</details>

Failed:

- tide latency-hello: regressed
- tide burst-failure-rate: regressed
- tide uss-after: missing

Warnings:

- baseline ran on another CPU (x) than this run (y)
";
        assert_eq!(text, expected, "\n{text}");
    }

    /// Metrics a JSON export must cope with: a NaN value, an infinite
    /// reading, a confidence interval that misses its value, a duplicate.
    fn odd_metrics() -> Vec<Metric> {
        let mut metrics = fixture();
        metrics.push(metric("warp", "rss-before", Unit::Bytes, f64::NAN));
        metrics.push(with_ci(
            metric("warp", "latency-hello", Unit::Nanoseconds, 70_000.0),
            71_000.0,
            f64::NAN,
        ));
        metrics.push(with_readings(
            metric("warp", "uss-after", Unit::Bytes, 2.0 * MIB),
            &[f64::INFINITY, 2.0 * MIB, 2.5 * MIB],
        ));
        metrics.push(with_ci(
            metric("warp", "latency-json", Unit::Nanoseconds, 80_000.0),
            81_000.0,
            82_000.0,
        ));
        metrics.push(metric("axum", "uss-after", Unit::Bytes, 9.0 * MIB));
        metrics
    }

    fn finite_number(value: &Value, what: &str) -> f64 {
        let n = value
            .as_f64()
            .unwrap_or_else(|| panic!("{what} is not a number: {value}"));
        assert!(n.is_finite(), "{what} is not finite");
        n
    }

    /// The documented BMF shape: benchmark -> measure -> { value,
    /// lower_value?, upper_value? }, with lower <= value <= upper.
    fn check_bencher_shape(bmf: &Value) {
        let benchmarks = bmf.as_object().expect("top level is an object");
        for (benchmark, measures) in benchmarks {
            assert!(!benchmark.is_empty());
            let measures = measures
                .as_object()
                .expect("a benchmark is an object of measures");
            assert!(!measures.is_empty(), "{benchmark} has no measures");
            for (measure, metric) in measures {
                let what = format!("{benchmark} {measure}");
                assert!(
                    !measure.is_empty() && measure.len() <= 64,
                    "{what}: measure slug length"
                );
                let metric = metric.as_object().expect("a measure is an object");
                for key in metric.keys() {
                    assert!(
                        ["value", "lower_value", "upper_value"].contains(&key.as_str()),
                        "{what}: key {key}"
                    );
                }
                let value = finite_number(&metric["value"], &what);
                if let Some(lower) = metric.get("lower_value") {
                    assert!(
                        finite_number(lower, &what) <= value,
                        "{what}: lower > value"
                    );
                }
                if let Some(upper) = metric.get("upper_value") {
                    assert!(
                        value <= finite_number(upper, &what),
                        "{what}: value > upper"
                    );
                }
            }
        }
    }

    /// The documented customSmallerIsBetter shape: an array of { name, unit,
    /// value, range?, extra? }, names unique.
    fn check_github_action_shape(entries: &Value) {
        let entries = entries.as_array().expect("top level is an array");
        let mut names = BTreeSet::new();
        for entry in entries {
            let entry = entry.as_object().expect("an entry is an object");
            for key in entry.keys() {
                assert!(
                    ["name", "unit", "value", "range", "extra"].contains(&key.as_str()),
                    "key {key}"
                );
            }
            let name = entry["name"].as_str().expect("name is a string");
            assert!(names.insert(name.to_owned()), "name {name} twice");
            assert!(entry["unit"].is_string(), "{name}: unit is a string");
            finite_number(&entry["value"], name);
            for optional in ["range", "extra"] {
                if let Some(text) = entry.get(optional) {
                    assert!(text.is_string(), "{name}: {optional} is a string");
                }
            }
        }
    }

    #[test]
    fn bencher_metric_format_has_the_documented_shape() {
        check_bencher_shape(&bencher_metric_format(&fixture()));
        check_bencher_shape(&bencher_metric_format(&odd_metrics()));
        check_bencher_shape(&bencher_metric_format(&[]));
    }

    #[test]
    fn github_action_benchmark_has_the_documented_shape() {
        check_github_action_shape(&github_action_benchmark(&fixture()));
        check_github_action_shape(&github_action_benchmark(&odd_metrics()));
        check_github_action_shape(&github_action_benchmark(&[]));
    }

    #[test]
    fn odd_values_are_skipped_or_dropped_not_exported() {
        let bmf = bencher_metric_format(&odd_metrics());
        assert!(
            bmf["warp/memory"].get("rss-before").is_none(),
            "NaN value skipped"
        );
        assert_eq!(
            bmf["warp/hello"]["latency"],
            json!({ "value": 70_000.0 }),
            "NaN bound dropped"
        );
        assert_eq!(
            bmf["warp/json"]["latency"],
            json!({ "value": 80_000.0 }),
            "CI missing its value dropped"
        );
        let uss = &bmf["warp/memory"]["uss-after"];
        assert_eq!(
            (uss["lower_value"].as_f64(), uss["upper_value"].as_f64()),
            (Some(2.0 * MIB), Some(2.5 * MIB))
        );
        assert_eq!(
            bmf["axum/memory"]["uss-after"]["value"],
            json!(1.25 * MIB),
            "first duplicate wins"
        );

        let github = github_action_benchmark(&odd_metrics());
        let names: Vec<&str> = github
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&"warp/rss-before"));
        assert_eq!(names.len(), fixture().len() + 3);

        let text = markdown_summary(&run(), &odd_metrics(), None);
        assert!(
            text.contains("| warp | 70.0 | 80.0 | n/a | - | 2.00 | - | - | - |"),
            "\n{text}"
        );
    }

    /// Unescaped `|` in a line.
    fn pipes(line: &str) -> usize {
        let bytes = line.as_bytes();
        (0..bytes.len())
            .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
            .count()
    }

    /// Each table (consecutive lines starting with `|`) as its lines.
    fn tables(text: &str) -> Vec<Vec<&str>> {
        let mut tables: Vec<Vec<&str>> = Vec::new();
        let mut in_table = false;
        for line in text.lines() {
            let is_row = line.starts_with('|');
            match (is_row, in_table) {
                (true, true) => tables.last_mut().unwrap().push(line),
                (true, false) => tables.push(vec![line]),
                _ => {}
            }
            in_table = is_row;
        }
        tables
    }

    #[test]
    fn markdown_tables_are_rectangular_and_regressions_come_first() {
        let text = markdown_summary(&run(), &fixture(), Some(&comparison()));
        let tables = tables(&text);
        let run_sections = RunView::of(&run()).sections.len();
        assert_eq!(tables.len(), 3 + run_sections, "\n{text}");
        assert_eq!(tables[0].len(), 2 + 2, "header, separator, two servers");
        // What changed, then what is within noise: every row once.
        assert_eq!(
            tables[1].len() + tables[2].len(),
            4 + comparison().rows.len()
        );
        for table in &tables {
            let columns = pipes(table[0]);
            for line in table {
                assert_eq!(pipes(line), columns, "{line}");
            }
        }
        let verdicts: Vec<&str> = tables[1][2..]
            .iter()
            .map(|l| l.rsplit(" | ").nth(1).unwrap())
            .collect();
        assert_eq!(verdicts[..2], ["REGRESSED", "REGRESSED"]);
        assert!(verdicts[2..].iter().all(|v| !v.contains("REGRESSED")));
    }

    #[test]
    fn markdown_escapes_pipes_in_cells() {
        let metrics = vec![metric("ax|um", "rss-before", Unit::Bytes, MIB)];
        let mut comparison = comparison();
        comparison.rows = vec![row(
            "ax|um",
            "rss-before",
            Unit::Bytes,
            Some(MIB),
            Some(MIB),
            Verdict::WithinNoise,
        )];
        let text = markdown_summary(&run(), &metrics, Some(&comparison));
        assert!(text.contains("| ax\\|um | - | - | 1.00 |"), "\n{text}");
        assert!(text.contains("| ax\\|um | RSS before |"), "\n{text}");
        for table in tables(&text) {
            let columns = pipes(table[0]);
            assert!(table.iter().all(|line| pipes(line) == columns), "\n{text}");
        }
    }

    #[test]
    fn markdown_without_comparison_or_metrics() {
        let text = markdown_summary(&run(), &[], None);
        assert!(!text.contains("baseline"));
        assert_eq!(tables(&text).len(), 1 + RunView::of(&run()).sections.len());
        assert_eq!(tables(&text)[0].len(), 2, "header and separator only");
    }

    #[test]
    fn significant_keeps_four_digits() {
        assert_eq!(significant(1250.0), "1250");
        assert_eq!(significant(262_144.4), "262144");
        assert_eq!(significant(12.345_678), "12.35");
        assert_eq!(significant(0.002_5), "0.0025");
        assert_eq!(significant(0.0), "0");
    }

    #[test]
    fn write_all_writes_three_files_that_parse_back() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(format!("export-{nanos}"));
        let paths = write_all(&dir, &run(), &fixture(), Some(&comparison())).unwrap();
        let names: Vec<_> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                BENCHER_FILE,
                GITHUB_ACTION_BENCHMARK_FILE,
                SUMMARY_FILE,
                COMPARISON_FILE
            ]
        );
        assert!(paths.iter().all(|p| p.starts_with(&dir)));

        let read = |path: &PathBuf| std::fs::read_to_string(path).unwrap();
        let bencher: Value = serde_json::from_str(&read(&paths[0])).unwrap();
        assert_eq!(bencher, bencher_metric_format(&fixture()));
        let github: Value = serde_json::from_str(&read(&paths[1])).unwrap();
        assert_eq!(github, github_action_benchmark(&fixture()));
        assert_eq!(
            read(&paths[2]),
            markdown_summary(&run(), &fixture(), Some(&comparison()))
        );

        let compared: Comparison = serde_json::from_str(&read(&paths[3])).unwrap();
        assert_eq!(compared, comparison());

        // A second write replaces the files; a run that compared nothing
        // leaves no comparison behind.
        write_all(&dir, &run(), &[], None).unwrap();
        assert_eq!(read(&paths[0]).trim(), "{}");
        assert!(!paths[3].exists());
    }

    #[test]
    fn write_all_reports_an_unwritable_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"not a directory").unwrap();
        let err = write_all(&file.join("sub"), &run(), &fixture(), None).unwrap_err();
        assert!(err.to_string().contains("cannot write"), "{err}");
    }
}
