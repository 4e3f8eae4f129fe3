//! The comparison with a baseline as one model: which rows, in which order,
//! with which text, and the count line. The terminal, the markdown summary
//! and the HTML page render this model and decide nothing themselves.
//!
//! What changed comes first (regressions, improvements, then figures on one
//! side only); the figures within noise follow, for outputs to fold.

use crate::compare::verdict::{Comparison, Row, Verdict};
use crate::report::format;
use crate::report::table::{Align, Table};

/// The order verdicts are listed in: what needs attention first.
pub const VERDICT_ORDER: [Verdict; 9] = [
    Verdict::Regressed,
    Verdict::Missing,
    Verdict::Improved,
    Verdict::Withheld,
    Verdict::NotComparable,
    Verdict::New,
    Verdict::NotJudged,
    Verdict::Inconclusive,
    Verdict::WithinNoise,
];

/// A comparison, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComparisonView {
    /// `Compared with baseline `NAME``.
    pub title: String,
    /// `90 figures: 1 regressed, 0 improved, 0 missing, 0 new, 89 within noise.`
    pub counts: String,
    pub warnings: Vec<String>,
    /// Why the comparison fails (regressed or missing figures, failed
    /// servers, rates not held); empty when it passes.
    pub failures: Vec<String>,
    /// Regressed, improved, missing and new rows, in that order.
    pub changed: Table,
    /// The verdict of each row of `changed`.
    pub changed_verdicts: Vec<Verdict>,
    /// The rows not shown to change: within noise or inconclusive.
    pub within_noise: Table,
    /// What those rows are: `within noise`, or `within noise or
    /// inconclusive` when some are.
    pub quiet_label: String,
}

impl ComparisonView {
    pub fn of(comparison: &Comparison) -> ComparisonView {
        let (changed, within_noise): (Vec<&Row>, Vec<&Row>) = rows_in_order(comparison)
            .into_iter()
            .partition(|row| !row.verdict.is_quiet());
        ComparisonView {
            title: title(comparison),
            counts: count_line(&comparison.rows),
            warnings: comparison.warnings.clone(),
            failures: comparison.failed(),
            changed_verdicts: changed.iter().map(|row| row.verdict).collect(),
            changed: table(&changed),
            quiet_label: if within_noise
                .iter()
                .any(|r| r.verdict == Verdict::Inconclusive)
            {
                "within noise or inconclusive".to_owned()
            } else {
                "within noise".to_owned()
            },
            within_noise: table(&within_noise),
        }
    }
}

/// What is compared with what.
fn title(comparison: &Comparison) -> String {
    let b = comparison.rows.iter().find(|r| !r.is_control());
    match (comparison.interleaved, b) {
        (true, Some(b)) => format!(
            "`{}` (B) against `{}` (A), rounds interleaved in this run",
            b.server, comparison.baseline_name
        ),
        (true, None) => format!(
            "Against `{}` (A), rounds interleaved",
            comparison.baseline_name
        ),
        (false, _) => format!("Compared with baseline `{}`", comparison.baseline_name),
    }
}

/// The rows by verdict (see [`VERDICT_ORDER`]), each verdict's rows by
/// server, then figure.
fn rows_in_order(comparison: &Comparison) -> Vec<&Row> {
    let mut rows: Vec<&Row> = comparison.rows.iter().collect();
    rows.sort_by_key(|row| (verdict_rank(row.verdict), row.server.clone(), row.figure));
    rows
}

fn verdict_rank(verdict: Verdict) -> usize {
    VERDICT_ORDER
        .iter()
        .position(|v| *v == verdict)
        .unwrap_or(VERDICT_ORDER.len())
}

/// Every verdict's count, in [`VERDICT_ORDER`], zeros included, so the line
/// reads the same in every run.
fn count_line(rows: &[Row]) -> String {
    let counts: Vec<String> = VERDICT_ORDER
        .iter()
        .map(|verdict| {
            let n = rows.iter().filter(|r| r.verdict == *verdict).count();
            format!("{n} {}", verdict.to_string().to_lowercase())
        })
        .collect();
    format!("{} figures: {}.", rows.len(), counts.join(", "))
}

fn table(rows: &[&Row]) -> Table {
    let mut table = Table::new(&[
        "server",
        "figure",
        "baseline",
        "now",
        "change",
        "95 % interval",
        "rounds",
        "verdict",
        "why",
    ])
    .aligned(1, Align::Left)
    .aligned(7, Align::Left)
    .aligned(8, Align::Left);
    for row in rows {
        table.push(cells(row));
    }
    table
}

fn cells(row: &Row) -> Vec<String> {
    vec![
        row.server.clone(),
        row.figure.label(),
        format::value(row.unit(), row.baseline),
        format::value(row.unit(), row.now),
        format::change(row.change),
        interval_text(row.interval),
        rounds_text(row.rounds),
        row.verdict.to_string(),
        row.reason.clone().unwrap_or_default(),
    ]
}

/// The change's interval: `+8.1% .. +12.3%`; `-` without a test.
fn interval_text(interval: Option<(f64, f64)>) -> String {
    match interval {
        Some((low, high)) => format!(
            "{} .. {}",
            format::change(Some(low)),
            format::change(Some(high))
        ),
        None => "-".to_owned(),
    }
}

/// The rounds each side's test used: `5 v 5`.
fn rounds_text(rounds: Option<(usize, usize)>) -> String {
    rounds.map_or_else(|| "-".to_owned(), |(a, b)| format!("{a} v {b}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::compare::figures::{Figure, MemoryFigure, Metric, Phase};
    use crate::compare::verdict::{Judgement, compare};
    use crate::load::Route;
    use crate::units::BYTES_PER_MIB;

    /// A comparison with one regression, one improvement, one new, one
    /// missing and two figures within noise, in no particular order.
    pub(crate) fn comparison() -> Comparison {
        let rss = Figure::Memory(Phase::Before, MemoryFigure::Rss);
        let vms = Figure::Memory(Phase::Before, MemoryFigure::Vms);
        let hello = Figure::Latency(Route::HELLO);
        let base = vec![
            rounds("warp", rss, 3.0 * BYTES_PER_MIB),
            rounds("axum", rss, 3.0 * BYTES_PER_MIB),
            rounds("axum", vms, 140.0 * BYTES_PER_MIB),
            rounds("axum", hello, 50_000.0),
            rounds("rocket", hello, 60_000.0),
        ];
        let now = vec![
            rounds("axum", rss, 9.0 * BYTES_PER_MIB),
            rounds("warp", rss, 3.1 * BYTES_PER_MIB),
            rounds("axum", vms, 140.2 * BYTES_PER_MIB),
            rounds("axum", hello, 20_000.0),
            rounds("tide", hello, 70_000.0),
        ];
        Comparison {
            failures: Vec::new(),
            interleaved: false,
            baseline_name: "mine".into(),
            rows: compare(&base, &now, &Judgement::default()),
            warnings: vec!["rustc differs: baseline a, now b".into()],
        }
    }

    /// Five rounds about 1 % apart around `value`.
    fn rounds(server: &str, figure: Figure, value: f64) -> Metric {
        Metric {
            readings: [0.99, 1.0, 1.01, 1.005, 0.995].map(|f| f * value).to_vec(),
            ..Metric::point(server, figure, value)
        }
    }

    #[test]
    fn what_changed_comes_first_then_what_is_within_noise() {
        let view = ComparisonView::of(&comparison());
        let verdicts: Vec<&str> = view.changed.rows.iter().map(|r| r[7].as_str()).collect();
        assert_eq!(verdicts, ["REGRESSED", "MISSING", "improved", "new"]);
        assert_eq!(
            view.changed.rows[0][..6],
            [
                "axum",
                "RSS before",
                "3.00 MiB",
                "9.00 MiB",
                "+200.0%",
                "+196.6% .. +203.5%"
            ]
        );
        let quiet: Vec<(&str, &str)> = view
            .within_noise
            .rows
            .iter()
            .map(|r| (r[0].as_str(), r[1].as_str()))
            .collect();
        assert_eq!(quiet, [("axum", "VMS before"), ("warp", "RSS before")]);
        assert_eq!(
            view.counts,
            "6 figures: 1 regressed, 1 missing, 1 improved, 0 withheld, 0 not comparable, 1 new, 0 not judged, 0 inconclusive, 2 within noise."
        );
    }
}
