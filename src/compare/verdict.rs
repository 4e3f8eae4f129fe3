//! Baseline against now, figure by figure, with a verdict for each.
//!
//! A change is "within noise" unless it is larger than the noise band:
//! - for a figure with several independent readings (memory, burst and
//!   startup: one per round), the band is the largest of its floor (see
//!   [`Thresholds`]), the spread (max - min) of the baseline's readings and
//!   the spread of this run's;
//! - for latency (the estimate Criterion printed: slope or mean), the band is the largest of its
//!   relative floor and the two 95 % confidence intervals' half-widths added.
//!
//! Every figure is smaller-is-better: above the band is "regressed", below
//! it "improved". Relative floors are taken from the smaller of the two
//! values, so the band is symmetric in ratio: with a 20 % floor, 100 to 121
//! regresses and 121 to 100 improves (a floor relative to the baseline
//! alone would make large improvements harder to reach than regressions).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::compare::figures::{Figure, MemoryFigure, Metric, Percentile, Phase, Unit};

/// What a change amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Improved,
    Regressed,
    WithinNoise,
    /// Measured now, not in the baseline.
    New,
    /// In the baseline, not measured now.
    Missing,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "REGRESSED",
            Verdict::WithinNoise => "within noise",
            Verdict::New => "new",
            Verdict::Missing => "missing",
        })
    }
}

/// The noise floors: the largest move of each kind of figure between eight
/// default runs of unchanged code on the 2-core reference machine
/// (2026-12-01; servers on CPU 1, client on CPU 0, backlog 2000, the lean
/// load client), with a margin (see the README). A relative floor is taken
/// of the smaller value, so it is a bound on max/min - 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Relative floor of latency estimates. Measured: up to 22.2 % (rocket
    /// json in one run whose tail grew: p50 +7 %, p99 2.5x), otherwise up to
    /// 12.7 %.
    pub latency_relative: f64,
    /// Relative floor of a latency benchmark's p50, which a slow episode
    /// moves least. Measured: up to 10.9 %.
    pub latency_p50_relative: f64,
    /// Relative floor of a latency benchmark's p90. Measured: up to 25.1 %.
    pub latency_p90_relative: f64,
    /// Relative floor of a latency benchmark's p99. Measured: up to 157 %
    /// (the same run), otherwise up to 41.6 %.
    pub latency_p99_relative: f64,
    /// Relative floor of a latency benchmark's p99.9 and maximum, decided
    /// by a few stalled requests. Measured: up to 9.2x (p99.9) and 3.2x
    /// (max); a stall like tide's 44 ms Nagle wait (over 1000x) still shows.
    pub latency_extreme_relative: f64,
    /// Absolute floor of resident figures (rss, uss, pss) before the burst,
    /// bytes. Measured: up to 203 KiB (11.1 % of tide's 1.9 MiB PSS).
    pub resident_bytes: f64,
    /// Absolute floor of anonymous memory before the burst, bytes.
    pub anonymous_bytes: f64,
    /// Relative floor of memory figures before the burst, and of VMS.
    pub memory_relative: f64,
    /// Absolute floor of VMS, bytes. Measured: within 1.1 %; one more thread
    /// maps a 64 MiB malloc arena, a real change.
    pub vms_bytes: f64,
    /// Relative floor of resident and anonymous memory after the burst: it
    /// follows how many of the burst's connections the server held at
    /// once. Measured: up to 96.9 % (tide anonymous, 10.1 to 19.9 MiB)
    /// over eight runs; a later run, the first on a freshly started
    /// machine, whose bursts were slower (axum 0.121 s against about
    /// 0.07 s), moved axum's anonymous memory after the burst 14.59 to
    /// 5.57 MiB (162 %).
    pub after_burst_relative: f64,
    /// Relative floor of the burst's peak RSS. Measured: up to 53.8 %.
    pub burst_peak_relative: f64,
    /// Relative floor of the server's CPU per request in the burst.
    /// Measured: up to 45.2 %.
    pub burst_cpu_relative: f64,
    /// Relative floor of burst time per call and startup time. Measured: up
    /// to 38.7 % (tide startup), 36.5 % (actix-web burst) over eight runs;
    /// a later run moved rocket's burst time per call 50.4 %.
    pub timing_relative: f64,
    /// Absolute floor of the burst's failure rate.
    pub failure_rate: f64,
    /// Relative floor of server CPU time per request of a latency
    /// benchmark. Measured: up to 16.7 %.
    pub cpu_per_request_relative: f64,
    /// Relative floor of the throughput sweep's time per request. Measured
    /// over three sweeps: up to 38.8 % (tide as shipped at 16
    /// connections), median 6.6 %.
    pub sweep_relative: f64,
    /// Relative floor of the p50 of an open loop at half the maximum.
    /// Measured over three runs: up to 59.1 %.
    pub rate_p50_relative: f64,
    /// Relative floor of an open loop's p90 to maximum: a few queued
    /// requests decide them. Measured over three runs: up to 31x (p99).
    pub rate_tail_relative: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            latency_relative: 0.25,
            latency_p50_relative: 0.15,
            latency_p90_relative: 0.35,
            latency_p99_relative: 2.0,
            latency_extreme_relative: 20.0,
            resident_bytes: 512.0 * 1024.0,
            anonymous_bytes: 256.0 * 1024.0,
            memory_relative: 0.05,
            vms_bytes: 1024.0 * 1024.0,
            after_burst_relative: 2.0,
            burst_peak_relative: 0.75,
            burst_cpu_relative: 0.60,
            timing_relative: 0.70,
            failure_rate: 0.02,
            cpu_per_request_relative: 0.25,
            sweep_relative: 0.50,
            rate_p50_relative: 0.80,
            rate_tail_relative: 50.0,
        }
    }
}

impl Thresholds {
    /// The floor of the noise band for `figure` with baseline value `base`.
    fn floor(&self, figure: Figure, base: f64) -> f64 {
        let relative = |r: f64| r * base.abs();
        match figure {
            Figure::Latency(_) => relative(self.latency_relative),
            Figure::LatencyPercentile(_, Percentile::P50) => relative(self.latency_p50_relative),
            Figure::LatencyPercentile(_, Percentile::P90) => relative(self.latency_p90_relative),
            Figure::LatencyPercentile(_, Percentile::P99) => relative(self.latency_p99_relative),
            Figure::LatencyPercentile(_, Percentile::P999 | Percentile::Max) => {
                relative(self.latency_extreme_relative)
            }
            Figure::RatePercentile(_, _, Percentile::P50) => relative(self.rate_p50_relative),
            Figure::RatePercentile(..) => relative(self.rate_tail_relative),
            Figure::SweepTimePerRequest(_) => relative(self.sweep_relative),
            Figure::Memory(_, MemoryFigure::Vms) => {
                self.vms_bytes.max(relative(self.memory_relative))
            }
            Figure::Memory(Phase::After, _) => relative(self.after_burst_relative),
            Figure::BurstPeakRss => relative(self.burst_peak_relative),
            Figure::BurstCpuPerRequest => relative(self.burst_cpu_relative),
            Figure::Memory(Phase::Before, MemoryFigure::Anonymous) => {
                self.anonymous_bytes.max(relative(self.memory_relative))
            }
            Figure::Memory(Phase::Before, _) => {
                self.resident_bytes.max(relative(self.memory_relative))
            }
            Figure::BurstFailureRate => self.failure_rate,
            Figure::LatencyCpuPerRequest(_) => relative(self.cpu_per_request_relative),
            Figure::StartupTime | Figure::BurstTimePerCall => relative(self.timing_relative),
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
    /// (now - baseline) / baseline.
    pub change: Option<f64>,
    /// The half-width of the noise band, in the figure's unit.
    pub noise: Option<f64>,
    pub verdict: Verdict,
}

/// A whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline_name: String,
    pub rows: Vec<Row>,
    /// Differences between the two environments that make figures less
    /// comparable (another CPU, another rustc, other parameters).
    pub warnings: Vec<String>,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regressed)
    }

    pub fn any_regressed(&self) -> bool {
        self.regressions().next().is_some()
    }
}

/// Compares every figure present on either side, sorted by server, then
/// figure.
pub fn compare(baseline: &[Metric], now: &[Metric], thresholds: &Thresholds) -> Vec<Row> {
    let index = |metrics: &[Metric]| -> BTreeMap<(String, Figure), Metric> {
        metrics
            .iter()
            .map(|m| ((m.server.clone(), m.figure), m.clone()))
            .collect()
    };
    let (mut base, now) = (index(baseline), index(now));
    let mut rows: Vec<Row> = now
        .into_iter()
        .map(|(key, now)| match base.remove(&key) {
            Some(base) => judged(&base, &now, thresholds),
            None => one_sided(&now, Verdict::New),
        })
        .collect();
    rows.extend(base.values().map(|base| one_sided(base, Verdict::Missing)));
    rows.sort_by(|a, b| (&a.server, a.figure).cmp(&(&b.server, b.figure)));
    rows
}

impl Row {
    pub fn unit(&self) -> Unit {
        self.figure.unit()
    }
}

/// A figure on one side only: new (now) or missing (baseline).
fn one_sided(metric: &Metric, verdict: Verdict) -> Row {
    let value = Some(metric.value);
    Row {
        server: metric.server.clone(),
        figure: metric.figure,
        baseline: if verdict == Verdict::Missing {
            value
        } else {
            None
        },
        now: if verdict == Verdict::New { value } else { None },
        change: None,
        noise: None,
        verdict,
    }
}

fn judged(base: &Metric, now: &Metric, thresholds: &Thresholds) -> Row {
    let delta = now.value - base.value;
    // The floor is relative to the smaller value: `now` when it went down.
    let noise = if delta >= 0.0 {
        noise_band(base, now, thresholds)
    } else {
        noise_band(now, base, thresholds)
    };
    let verdict = if delta.abs() <= noise {
        Verdict::WithinNoise
    } else if delta > 0.0 {
        Verdict::Regressed
    } else {
        Verdict::Improved
    };
    Row {
        server: base.server.clone(),
        figure: base.figure,
        baseline: Some(base.value),
        now: Some(now.value),
        change: (base.value != 0.0).then(|| delta / base.value),
        noise: Some(noise),
        verdict,
    }
}

fn noise_band(base: &Metric, now: &Metric, thresholds: &Thresholds) -> f64 {
    let floor = thresholds.floor(base.figure, base.value);
    let half_width = |m: &Metric| match (m.lower, m.upper) {
        (Some(lower), Some(upper)) => (upper - lower) / 2.0,
        _ => 0.0,
    };
    let spread = |m: &Metric| {
        let max = m.readings.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = m.readings.iter().copied().fold(f64::INFINITY, f64::min);
        if m.readings.len() > 1 { max - min } else { 0.0 }
    };
    floor
        .max(half_width(base) + half_width(now))
        .max(spread(base))
        .max(spread(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, unit: Unit, value: f64, readings: &[f64]) -> Metric {
        let figure: Figure = name.parse().unwrap();
        assert_eq!(figure.unit(), unit);
        Metric {
            readings: readings.to_vec(),
            ..Metric::point("axum", figure, value)
        }
    }

    const MIB: f64 = crate::units::BYTES_PER_MIB;

    #[test]
    fn rss_moving_300_kib_is_noise_but_2_mib_is_a_regression() {
        let t = Thresholds::default();
        let base = [metric("rss-before", Unit::Bytes, 3.2 * MIB, &[])];
        let wobble = [metric(
            "rss-before",
            Unit::Bytes,
            3.2 * MIB + 300.0 * 1024.0,
            &[],
        )];
        assert_eq!(compare(&base, &wobble, &t)[0].verdict, Verdict::WithinNoise);
        let grown = [metric("rss-before", Unit::Bytes, 5.2 * MIB, &[])];
        let row = &compare(&base, &grown, &t)[0];
        assert_eq!(row.verdict, Verdict::Regressed);
        assert!((row.change.unwrap() - 2.0 / 3.2).abs() < 1e-9);
        let shrunk = [metric("rss-before", Unit::Bytes, 1.0 * MIB, &[])];
        assert_eq!(compare(&base, &shrunk, &t)[0].verdict, Verdict::Improved);
    }

    #[test]
    fn a_wide_spread_of_readings_widens_the_band() {
        let t = Thresholds::default();
        let base = [metric(
            "rss-before",
            Unit::Bytes,
            14.0 * MIB,
            &[12.0 * MIB, 14.0 * MIB, 19.0 * MIB],
        )];
        let now = [metric(
            "rss-before",
            Unit::Bytes,
            18.0 * MIB,
            &[17.0 * MIB, 18.0 * MIB, 18.5 * MIB],
        )];
        let row = &compare(&base, &now, &t)[0];
        assert_eq!(row.noise, Some(7.0 * MIB));
        assert_eq!(row.verdict, Verdict::WithinNoise);
    }

    #[test]
    fn latency_uses_the_relative_floor_and_confidence_intervals() {
        let t = Thresholds::default();
        let with_ci = |value: f64, half: f64| Metric {
            lower: Some(value - half),
            upper: Some(value + half),
            ..metric("latency-hello", Unit::Nanoseconds, value, &[])
        };
        let base = [with_ci(100_000.0, 2_000.0)];
        // Three tenths more is flagged; the run-to-run wobble is not.
        assert_eq!(
            compare(&base, &[with_ci(123_000.0, 2_000.0)], &t)[0].verdict,
            Verdict::WithinNoise
        );
        assert_eq!(
            compare(&base, &[with_ci(130_000.0, 2_000.0)], &t)[0].verdict,
            Verdict::Regressed
        );
        // Wide intervals swallow the same change.
        let wide = [with_ci(100_000.0, 20_000.0)];
        assert_eq!(
            compare(&wide, &[with_ci(130_000.0, 20_000.0)], &t)[0].verdict,
            Verdict::WithinNoise
        );
    }

    #[test]
    fn one_thread_fewer_shows_in_vms_and_after_burst_memory_is_loose() {
        let t = Thresholds::default();
        let vms = |v: f64| [metric("vms-before", Unit::Bytes, v * MIB, &[])];
        assert_eq!(
            compare(&vms(204.8), &vms(140.8), &t)[0].verdict,
            Verdict::Improved
        );
        assert_eq!(
            compare(&vms(204.8), &vms(205.5), &t)[0].verdict,
            Verdict::WithinNoise
        );
        let after = |v: f64| [metric("rss-after", Unit::Bytes, v * MIB, &[])];
        // axum's anonymous memory after the burst moved 5.57 -> 14.59 MiB
        // between two runs of unchanged code.
        assert_eq!(
            compare(&after(5.57), &after(14.59), &t)[0].verdict,
            Verdict::WithinNoise
        );
        assert_eq!(
            compare(&after(5.57), &after(17.0), &t)[0].verdict,
            Verdict::Regressed
        );
        // The burst's peak: actix-web's 11.0 -> 17.0 MiB between two runs.
        let peak = |v: f64| [metric("burst-peak-rss", Unit::Bytes, v * MIB, &[])];
        assert_eq!(
            compare(&peak(11.0), &peak(17.0), &t)[0].verdict,
            Verdict::WithinNoise
        );
        assert_eq!(
            compare(&peak(11.0), &peak(22.0), &t)[0].verdict,
            Verdict::Regressed
        );
    }

    #[test]
    fn the_latency_floor_is_symmetric_in_ratio() {
        let t = Thresholds::default();
        let latency = |us: f64| [metric("latency-hello", Unit::Nanoseconds, us * 1e3, &[])];
        let verdict = |from: f64, to: f64| compare(&latency(from), &latency(to), &t)[0].verdict;
        assert_eq!(verdict(44_000.0, 150.0), Verdict::Improved);
        assert_eq!(verdict(130.0, 100.0), Verdict::Improved);
        assert_eq!(verdict(120.0, 100.0), Verdict::WithinNoise);
        assert_eq!(verdict(100.0, 124.0), Verdict::WithinNoise);
        assert_eq!(verdict(100.0, 130.0), Verdict::Regressed);
    }

    #[test]
    fn a_stalled_request_shows_in_the_extremes_and_one_slow_request_does_not() {
        let t = Thresholds::default();
        let max = |us: f64| {
            [metric(
                "latency-hello-max",
                Unit::Nanoseconds,
                us * 1e3,
                &[],
            )]
        };
        let verdict = |from: f64, to: f64| compare(&max(from), &max(to), &t)[0].verdict;
        // warp's max moved 1.05 -> 4.37 ms between runs of unchanged code.
        assert_eq!(verdict(1_050.0, 4_370.0), Verdict::WithinNoise);
        // A Nagle stall (tide as shipped) is 44 ms against about 30 µs.
        assert_eq!(verdict(30.0, 44_000.0), Verdict::Regressed);
    }

    #[test]
    fn figures_on_one_side_only_are_new_or_missing() {
        let t = Thresholds::default();
        let a = [metric("rss-before", Unit::Bytes, 1.0, &[])];
        let b = [metric("vms-before", Unit::Bytes, 1.0, &[])];
        let rows = compare(&a, &b, &t);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].figure.name(), "rss-before");
        assert_eq!(rows[0].verdict, Verdict::Missing);
        assert_eq!(rows[1].verdict, Verdict::New);
    }
}
