//! Baseline against now, figure by figure, with a verdict for each.
//!
//! Every figure has one reading per round (a fresh process). A figure is
//! called changed when two things hold:
//! - the rounds say so: a t-test of the two sides' log readings (see
//!   [`crate::compare::stats`]), with the whole table's false-alarm rate
//!   held at [`Judgement::false_alarm_rate`] (Benjamini-Hochberg);
//! - the change is worth reporting: larger than
//!   [`Judgement::min_effect`], as Criterion's noise threshold.
//!
//! A figure not shown to change is "within noise" only when its 95 %
//! interval lies within the minimum effect; otherwise it is
//! "inconclusive": the rounds could not tell, and the row says how large a
//! change the interval still allows.
//!
//! No floor is tuned to a machine: how much a figure wobbles is read from
//! its own rounds in both runs. The one constant, the minimum effect, says
//! what is worth a maintainer's attention, not how noisy a machine was.
//!
//! Every figure is smaller-is-better: a change up is "regressed", down
//! "improved". A figure that cannot be judged says why: a statistic or a
//! parameter that differs, a single reading, a machine that moved.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::compare::figures::{Figure, Metric, Unit};
use crate::compare::stats::{self, Design, Scale};

/// What a change amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Improved,
    Regressed,
    /// No change worth reporting: either shown to differ by less than the
    /// minimum effect, or not shown to differ with the whole 95 % interval
    /// within the minimum effect.
    WithinNoise,
    /// Not shown to differ, but the interval reaches beyond the minimum
    /// effect: the rounds cannot tell a change of that size from noise.
    Inconclusive,
    /// Measured now, not in the baseline.
    New,
    /// In the baseline, and now attempted but not measured: a failure.
    Missing,
    /// A time figure, when the control says the machine moved.
    Withheld,
    /// Measured under another statistic or other parameters.
    NotComparable,
    /// Too few rounds on a side to test (a figure of one process).
    NotJudged,
}

impl Verdict {
    /// Not shown to change: within noise, or inconclusive. Outputs fold
    /// these rows.
    pub fn is_quiet(self) -> bool {
        matches!(self, Verdict::WithinNoise | Verdict::Inconclusive)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "REGRESSED",
            Verdict::WithinNoise => "within noise",
            Verdict::Inconclusive => "inconclusive",
            Verdict::New => "new",
            Verdict::Missing => "MISSING",
            Verdict::Withheld => "withheld",
            Verdict::NotComparable => "not comparable",
            Verdict::NotJudged => "not judged",
        })
    }
}

/// How a comparison decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// The smallest change reported, as a share (0.05: 5 %): Criterion's
    /// `--noise-threshold` when given. For a failure rate, in points.
    pub min_effect: f64,
    /// The chance that a comparison of unchanged code calls any figure of
    /// the table changed: Criterion's `--significance-level` when given.
    pub false_alarm_rate: f64,
    /// Whether the two sides' rounds ran in pairs (an interleaved A/B run).
    pub design: Design,
}

/// The smallest change a comparison reports when Criterion's
/// `--noise-threshold` is not given: 5 %. Criterion's own default (1 %)
/// suits a micro-benchmark's estimate over thousands of iterations, not a
/// figure read once per server process; 5 % is below every regression the
/// suite is meant to catch (+10 % latency, +15 % memory or CPU).
pub const MIN_EFFECT: f64 = 0.05;

/// Criterion's default significance level, used as the whole table's
/// false-alarm rate.
pub const FALSE_ALARM_RATE: f64 = 0.05;

impl Default for Judgement {
    fn default() -> Self {
        Judgement {
            min_effect: MIN_EFFECT,
            false_alarm_rate: FALSE_ALARM_RATE,
            design: Design::Unpaired,
        }
    }
}

impl Judgement {
    /// Criterion's `--noise-threshold` and `--significance-level`, where
    /// given.
    pub fn from_criterion(noise_threshold: Option<f64>, significance: Option<f64>) -> Judgement {
        Judgement {
            min_effect: noise_threshold.unwrap_or(MIN_EFFECT),
            false_alarm_rate: significance.unwrap_or(FALSE_ALARM_RATE),
            ..Judgement::default()
        }
    }

    pub fn paired(self) -> Judgement {
        Judgement {
            design: Design::Paired,
            ..self
        }
    }
}

/// One figure compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub server: String,
    pub figure: Figure,
    pub baseline: Option<f64>,
    pub now: Option<f64>,
    /// The change the rounds show: now over baseline minus one (a failure
    /// rate: the difference).
    pub change: Option<f64>,
    /// The change's 95 % interval, on the same scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<(f64, f64)>,
    /// The test's p-value, before the table's correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// The rounds the test used on each side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<(usize, usize)>,
    pub verdict: Verdict,
    /// Why a figure was not judged, or what was set aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline_name: String,
    pub rows: Vec<Row>,
    /// Differences between the two environments that make figures less
    /// comparable (another CPU, another rustc, other parameters).
    pub warnings: Vec<String>,
    /// What makes the comparison fail besides a regression: a server that
    /// failed, a rate run that did not hold its rate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// B against A in one run, rounds interleaved; `baseline_name` is A.
    #[serde(default)]
    pub interleaved: bool,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regressed)
    }

    pub fn any_regressed(&self) -> bool {
        self.regressions().next().is_some()
    }

    /// Why the comparison fails, one line each: every regressed or missing
    /// figure and every failure. Empty when it passes. The control's own
    /// rows are not the servers': they withhold, never fail.
    pub fn failed(&self) -> Vec<String> {
        let rows = self.rows.iter().filter(|r| !r.is_control());
        let rows = rows.filter_map(|row| match row.verdict {
            Verdict::Regressed => Some(format!("{} {}: regressed", row.server, row.figure)),
            Verdict::Missing => Some(format!("{} {}: missing", row.server, row.figure)),
            _ => None,
        });
        rows.chain(self.failures.iter().cloned()).collect()
    }
}

/// Compares every figure present on either side, sorted by server, then
/// figure.
pub fn compare(baseline: &[Metric], now: &[Metric], judgement: &Judgement) -> Vec<Row> {
    let index = |metrics: &[Metric]| -> BTreeMap<(String, Figure), Metric> {
        metrics
            .iter()
            .map(|m| ((m.server.clone(), m.figure), m.clone()))
            .collect()
    };
    let (mut base, now) = (index(baseline), index(now));
    let mut rows: Vec<(Row, Option<stats::TestResult>)> = now
        .into_iter()
        .map(|(key, now)| match base.remove(&key) {
            Some(base) => tested(&base, &now, judgement),
            None => (one_sided(&now, Verdict::New), None),
        })
        .collect();
    rows.extend(
        base.values()
            .map(|base| (one_sided(base, Verdict::Missing), None)),
    );
    let mut rows = judged(rows, judgement);
    rows.sort_by(|a, b| (&a.server, a.figure).cmp(&(&b.server, b.figure)));
    rows
}

impl Row {
    pub fn unit(&self) -> Unit {
        self.figure.unit()
    }

    /// A row of the control, not of a server.
    pub fn is_control(&self) -> bool {
        self.server == crate::record::CLIENT_FLOOR
    }
}

/// A figure on one side only: new (now) or missing (baseline).
fn one_sided(metric: &Metric, verdict: Verdict) -> Row {
    let value = Some(metric.value);
    Row {
        server: metric.server.clone(),
        figure: metric.figure,
        baseline: (verdict == Verdict::Missing).then_some(metric.value),
        now: if verdict == Verdict::New { value } else { None },
        change: None,
        interval: None,
        p: None,
        rounds: None,
        verdict,
        reason: None,
    }
}

/// The scale a figure's change is taken on.
fn scale(figure: Figure) -> Scale {
    match figure.unit() {
        Unit::Ratio => Scale::Difference,
        Unit::Nanoseconds | Unit::Bytes | Unit::Count => Scale::Ratio,
    }
}

/// Both sides of a figure: the test of their rounds, or why there is none.
fn tested(base: &Metric, now: &Metric, judgement: &Judgement) -> (Row, Option<stats::TestResult>) {
    let row = Row {
        server: base.server.clone(),
        figure: base.figure,
        baseline: Some(base.value),
        now: Some(now.value),
        change: None,
        interval: None,
        p: None,
        rounds: None,
        verdict: Verdict::NotJudged,
        reason: None,
    };
    if !base.figure.is_judged() {
        let reason = "shown, not judged: the allocator decides it, by timing".to_owned();
        return (
            Row {
                reason: Some(reason),
                ..row
            },
            None,
        );
    }
    if let Some(reason) = incomparable(base, now) {
        return (
            Row {
                verdict: Verdict::NotComparable,
                reason: Some(reason),
                ..row
            },
            None,
        );
    }
    let scale = scale(base.figure);
    let Some(test) = stats::test(&base.readings, &now.readings, scale, judgement.design) else {
        let reason = format!(
            "{} and {} readings: a test needs two a side",
            base.readings.len().max(1),
            now.readings.len().max(1)
        );
        return (
            Row {
                reason: Some(reason),
                ..row
            },
            None,
        );
    };
    let relative = |x: f64| match scale {
        Scale::Ratio => x - 1.0,
        Scale::Difference => x,
    };
    let row = Row {
        change: Some(relative(test.change)),
        interval: Some((relative(test.low), relative(test.high))),
        p: Some(test.p),
        rounds: Some(test.used),
        reason: (test.set_aside > 0).then(|| "one odd round set aside".to_owned()),
        ..row
    };
    (row, Some(test))
}

/// Why two sides cannot be compared: another statistic, other parameters.
fn incomparable(base: &Metric, now: &Metric) -> Option<String> {
    if let (Some(was), Some(is)) = (base.statistic, now.statistic)
        && was != is
    {
        return Some(format!(
            "Criterion's {was:?} in the baseline, its {is:?} now"
        ));
    }
    let (Some(was), Some(is)) = (&base.setup, &now.setup) else {
        return None;
    };
    let differences = was.differences(is, base.figure.stage());
    (!differences.is_empty()).then(|| format!("measured under {}", differences.join(", ")))
}

/// The verdicts of the tested rows: a discovery at the table's
/// false-alarm rate, by at least the minimum effect.
fn judged(rows: Vec<(Row, Option<stats::TestResult>)>, judgement: &Judgement) -> Vec<Row> {
    let p_values: Vec<f64> = rows
        .iter()
        .filter_map(|(_, t)| Some(t.as_ref()?.p))
        .collect();
    let mut discoveries =
        stats::benjamini_hochberg(&p_values, judgement.false_alarm_rate).into_iter();
    rows.into_iter()
        .map(|(row, test)| {
            let Some(_) = test else { return row };
            let discovered = discoveries.next().unwrap_or(false);
            let change = row.change.unwrap_or(0.0);
            let (low, high) = row.interval.unwrap_or((change, change));
            let floor = row.figure.floor().unwrap_or(judgement.min_effect);
            let within = |x: f64| x.abs() <= floor;
            let verdict = match (discovered, within(change)) {
                (true, false) if change > 0.0 => Verdict::Regressed,
                (true, false) => Verdict::Improved,
                (true, true) => Verdict::WithinNoise,
                (false, _) if within(low) && within(high) => Verdict::WithinNoise,
                (false, _) => Verdict::Inconclusive,
            };
            Row { verdict, ..row }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::figures::Setup;
    use crate::measure::estimate::Statistic;

    fn metric(name: &str, readings: &[f64]) -> Metric {
        let figure: Figure = name.parse().unwrap();
        Metric {
            readings: readings.to_vec(),
            ..Metric::point("axum", figure, crate::compare::figures::median(readings))
        }
    }

    fn verdict_of(name: &str, base: &[f64], now: &[f64]) -> Row {
        let rows = compare(
            &[metric(name, base)],
            &[metric(name, now)],
            &Judgement::default(),
        );
        rows.into_iter().next().unwrap()
    }

    /// Five rounds around `centre`, about 2 % apart.
    fn rounds(centre: f64) -> Vec<f64> {
        [0.98, 1.01, 1.0, 0.99, 1.02]
            .iter()
            .map(|f| f * centre)
            .collect()
    }

    const MIB: f64 = crate::units::BYTES_PER_MIB;

    #[test]
    fn ten_percent_slower_in_every_round_is_a_regression() {
        let row = verdict_of("latency-hello", &rounds(80_000.0), &rounds(88_000.0));
        assert_eq!(row.verdict, Verdict::Regressed, "{row:?}");
        let (low, high) = row.interval.unwrap();
        assert!(low > 0.05 && high < 0.15, "{row:?}");
        assert!((row.change.unwrap() - 0.10).abs() < 0.01);
        assert_eq!(row.rounds, Some((5, 5)));
        let row = verdict_of("latency-hello", &rounds(88_000.0), &rounds(80_000.0));
        assert_eq!(row.verdict, Verdict::Improved);
    }

    #[test]
    fn a_real_change_below_the_minimum_effect_is_not_reported() {
        // 3 % in every round: the rounds see it, but it is under 5 %.
        let row = verdict_of("rss-before", &rounds(10.0 * MIB), &rounds(10.3 * MIB));
        assert!(row.p.unwrap() < 0.05);
        assert_eq!(row.verdict, Verdict::WithinNoise);
    }

    #[test]
    fn readings_that_overlap_widely_are_inconclusive_not_unchanged() {
        // axum's RSS after the burst wandered 21.8 to 29.5 MiB: the rounds
        // cannot tell a change of 10 % either way, and say so.
        let base = [21.8, 27.1, 24.0, 29.5, 22.9].map(|v| v * MIB);
        let now = [26.0, 22.4, 28.8, 25.1, 27.9].map(|v| v * MIB);
        let row = verdict_of("rss-after", &base, &now);
        assert_eq!(row.verdict, Verdict::Inconclusive);
        let (low, high) = row.interval.unwrap();
        assert!(low < -0.05 && high > 0.05, "{row:?}");
        // Tight rounds that agree are within noise.
        let row = verdict_of("rss-after", &rounds(25.0 * MIB), &rounds(25.2 * MIB));
        assert_eq!(row.verdict, Verdict::WithinNoise, "{row:?}");
    }

    #[test]
    fn one_odd_baseline_round_no_longer_hides_a_regression() {
        // The audit's case: one baseline round at 9 MiB made a band of
        // 6 MiB, so 3.1 -> 8.1 MiB was "within noise".
        let base = [3.0, 3.1, 9.0, 3.05, 2.95].map(|v| v * MIB);
        let now = [8.0, 8.1, 8.2, 8.05, 7.95].map(|v| v * MIB);
        let row = verdict_of("rss-before", &base, &now);
        assert_eq!(row.verdict, Verdict::Regressed, "{row:?}");
        assert_eq!(row.reason.as_deref(), Some("one odd round set aside"));
    }

    #[test]
    fn another_statistic_or_other_parameters_are_not_judged() {
        let with = |statistic| Metric {
            statistic: Some(statistic),
            ..metric("latency-hello", &rounds(80_000.0))
        };
        let rows = compare(
            &[with(Statistic::Slope)],
            &[with(Statistic::Mean)],
            &Judgement::default(),
        );
        assert_eq!(rows[0].verdict, Verdict::NotComparable);
        assert!(
            rows[0].reason.as_ref().unwrap().contains("Slope"),
            "{rows:?}"
        );

        let setup = |workers| Setup {
            n_requests: 2000,
            timeout_ns: 1_000_000_000,
            workers,
            concurrency: 1,
            backlog: Some(2000),
            server_cpus: "1".into(),
            client_cpus: "0".into(),
            probe_requests: 2000,
            rate_per_second: None,
        };
        let under = |workers, centre| Metric {
            setup: Some(setup(workers)),
            ..metric("rss-after", &rounds(centre))
        };
        let rows = compare(&[under(4, 10.0)], &[under(1, 20.0)], &Judgement::default());
        assert_eq!(rows[0].verdict, Verdict::NotComparable);
        assert_eq!(
            rows[0].reason.as_deref(),
            Some("measured under workers 4 -> 1")
        );
        // Longer latency readings do not make a memory figure incomparable;
        // they do make a latency figure so.
        let reading = |probe_requests, name: &str, centre| Metric {
            setup: Some(Setup {
                probe_requests,
                ..setup(1)
            }),
            ..metric(name, &rounds(centre))
        };
        let rows = compare(
            &[
                reading(3000, "rss-after", 10.0),
                reading(3000, "latency-hello", 80.0),
            ],
            &[
                reading(4000, "rss-after", 10.0),
                reading(4000, "latency-hello", 80.0),
            ],
            &Judgement::default(),
        );
        let verdicts: Vec<Verdict> = rows.iter().map(|r| r.verdict).collect();
        assert_eq!(verdicts, [Verdict::NotComparable, Verdict::WithinNoise]);
        assert_eq!(
            rows[0].reason.as_deref(),
            Some("measured under probe requests 3000 -> 4000")
        );
    }

    #[test]
    fn a_single_reading_is_shown_not_judged() {
        let row = verdict_of("time-per-request-c16", &[10.0], &[30.0]);
        assert_eq!(row.verdict, Verdict::NotJudged);
        assert!(row.reason.unwrap().contains("two a side"));
    }

    #[test]
    fn figures_on_one_side_only_are_new_or_missing_and_missing_fails() {
        let a = [metric("rss-before", &rounds(1.0))];
        let b = [metric("vms-before", &rounds(1.0))];
        let rows = compare(&a, &b, &Judgement::default());
        assert_eq!(rows[0].figure.name(), "rss-before");
        assert_eq!(rows[0].verdict, Verdict::Missing);
        assert_eq!(rows[1].verdict, Verdict::New);
        let comparison = Comparison {
            baseline_name: "base".into(),
            rows,
            warnings: Vec::new(),
            failures: Vec::new(),
            interleaved: false,
        };
        assert_eq!(comparison.failed(), ["axum rss-before: missing"]);
    }

    /// A deterministic stand-in for noise: about normal, sd 1.
    fn noise(state: &mut u64) -> f64 {
        (0..12)
            .map(|_| {
                *state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (*state >> 11) as f64 / (1u64 << 53) as f64
            })
            .sum::<f64>()
            - 6.0
    }

    #[test]
    fn a_table_of_unchanged_figures_rarely_calls_any_changed() {
        // 20 comparisons of 170 unchanged figures, each five rounds a side
        // with 3 % noise: the table's false-alarm rate is 5 %, so at most
        // a few of the 20 may have any verdict at all.
        let mut state = 7;
        let mut tables_with_a_verdict = 0;
        for _ in 0..20 {
            let mut side = || -> Vec<Metric> {
                (0..170)
                    .map(|i| Metric {
                        server: format!("s{i}"),
                        ..metric(
                            "rss-after",
                            &(0..5)
                                .map(|_| 100.0 * (1.0 + 0.03 * noise(&mut state)))
                                .collect::<Vec<_>>(),
                        )
                    })
                    .collect()
            };
            let (base, now) = (side(), side());
            let rows = compare(&base, &now, &Judgement::default());
            if rows.iter().any(|r| !r.verdict.is_quiet()) {
                tables_with_a_verdict += 1;
            }
        }
        assert!(tables_with_a_verdict <= 2, "{tables_with_a_verdict} of 20");
    }
}
