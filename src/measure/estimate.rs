//! Criterion's latency estimate, computed from the samples the harness timed itself.
//!
//! Criterion 0.8.2 prints one headline estimate per benchmark, `time: [lower point upper]`
//! (`report.rs:564-585`). It is `Estimates::typical` (`estimate.rs:115-117`): the slope when
//! Criterion sampled linearly, otherwise the mean. Both come only from the `(iters, elapsed)`
//! pairs that `iter_custom` returned in the measurement phase (`analysis/mod.rs:124-157`). So
//! the harness can recompute that number from its own record. It then never reads
//! `estimates.json`, which may be left over from an earlier run, and which `--discard-baseline`
//! never writes.
//!
//! # What Criterion 0.8.2 does, and what this module copies
//!
//! * **Warm-up** (`routine.rs:279-304`): Criterion calls the routine with 1, 2, 4, ... iterations
//!   (`b.iters` starts at 1 and is doubled with `wrapping_mul(2)`). It stops once *its own*
//!   wall-clock time of those calls passes `warm_up_time` (`bencher.rs:136-139`,
//!   `bencher.rs:489-495` for `to_async`). It ignores the `Duration`s the routine returns during
//!   warm-up, and so does this module: the warm-up is never part of the estimate.
//! * **Sampling mode** (`lib.rs:1378-1474`): `Linear` times `d, 2d, ..., n*d` iterations. `Flat`
//!   times `n` samples of the same count. `Auto` picks `Flat` only when linear sampling would take
//!   more than twice `measurement_time`, judged from the warm-up's mean time per iteration. The
//!   harness cannot see that choice, so we infer it from the iteration counts.
//! * **Sample size**: at least 10 (`lib.rs:519`, `benchmark_group.rs:97`, `lib.rs:1093`). A
//!   group's own `sample_size` wins over `--sample-size`. `--sample-size` wins over the builder
//!   value, because `criterion_group!` calls `configure_from_args` after the config expression
//!   (`macros.rs:67`, `benchmark.rs:41`). So the harness may not know the real count. That is
//!   why the measurement phase is found from the shape of the calls, not from `sample_size`.
//! * **Quick mode** (`--quick`, `routine.rs:94-135`): no warm-up. Criterion calls the routine with
//!   1, 2, 4, ... iterations until two successive calls agree within `significance_level`
//!   (after at least 100 ms), or until `measurement_time` has passed. It then analyses only the
//!   **last two** calls, `(n, t_prev)` and `(2n, t_now)`, as a *linear* sample of size 2. If the very
//!   first call already takes longer than `measurement_time`, it invents a second sample
//!   `t.next_up()` (`routine.rs:107-113`). That single call looks exactly like a `--test` run,
//!   which Criterion does not analyse, so we return `None` for it.
//! * **Statistics** (`analysis/mod.rs:124-157`, `analysis/mod.rs:269-337`):
//!   - per-sample average `avg_i = elapsed_i / iters_i`, where `elapsed_i` is
//!     `Duration::as_nanos() as f64` (`measurement.rs:256-258`);
//!   - **mean** `= (0 + avg_0 + avg_1 + ...) / n`, a left fold (`stats/univariate/sample.rs:52-56`,
//!     `stats/mod.rs:103-110`);
//!   - **slope** of the least-squares line through the origin
//!     `= Σ iters_i·elapsed_i / Σ iters_i²`, each sum a left fold from 0
//!     (`stats/bivariate/regression.rs:20-28`, `stats/mod.rs:94-101`);
//!   - Tukey outliers are classified (`analysis/mod.rs:141`) but only for the report. Neither
//!     estimate drops them. No sample is removed. A sample that took zero time stops the
//!     analysis (`analysis/mod.rs:114-122`), and we return `None`.
//! * **Confidence interval** (`stats/mod.rs:40-57`, `stats/univariate/percentiles.rs:20-38`):
//!   Criterion resamples the samples with replacement `nresamples` times and computes the same
//!   statistic on each resample. It sorts the results and reads the percentiles at
//!   `50·(1 − cl)` and `50·(1 + cl)`, interpolating linearly between ranks. Its generator is
//!   seeded from the clock (`stats/rand_util.rs`). Ours is a fixed-seed SplitMix64. **So our
//!   bounds are a bootstrap interval of the same statistic and can differ a little from the ones
//!   Criterion printed. Our point estimate is the same number.**
//!
//! Nothing here covers `--load-baseline` (no routine calls), `--profile-time`, or runs under
//! `cargo-criterion`, which does its own analysis.

use std::ops::Add;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Criterion rejects smaller sample sizes (`lib.rs:519`, `benchmark_group.rs:97`, `lib.rs:1093`).
const MIN_SAMPLE_SIZE: usize = 10;

/// Quick mode always analyses the last two calls (`routine.rs:128-130`).
const QUICK_SAMPLE_SIZE: usize = 2;

/// Any fixed seed works. It is fixed so the same timings always give the same interval.
const BOOTSTRAP_SEED: u64 = 0x5EED_C817_E510_0001;

/// Every call Criterion made of one benchmark's `iter_custom` routine, in order (warm-up included).
#[derive(Debug, Clone, Default)]
pub struct Timings {
    calls: Vec<(u64, Duration)>,
}

/// Which statistic Criterion reports as its estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statistic {
    /// The slope through the origin of elapsed time against iterations (linear sampling and
    /// quick mode).
    Slope,
    /// The mean of the per-sample times per iteration (flat sampling).
    Mean,
}

impl Statistic {
    /// `slope` or `mean`, as Criterion names them.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Slope => "slope",
            Statistic::Mean => "mean",
        }
    }
}

/// A point estimate in ns per iteration and its confidence interval.
///
/// `point_ns` is the number Criterion prints. `lower_ns`/`upper_ns` are a bootstrap interval of
/// the same statistic, drawn from our own fixed-seed generator. They are close to Criterion's
/// bounds but not equal to them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The statistic Criterion reported for this sampling mode.
    pub statistic: Statistic,
    /// Criterion's point estimate, in ns per iteration.
    pub point_ns: f64,
    /// Lower bound of the bootstrap percentile interval, in ns per iteration.
    pub lower_ns: f64,
    /// Upper bound of the bootstrap percentile interval, in ns per iteration.
    pub upper_ns: f64,
    /// The confidence level of `lower_ns..=upper_ns`, for example 0.95.
    pub confidence_level: f64,
    /// How many samples the estimate used: Criterion's sample size, or 2 in quick mode.
    pub n_samples: usize,
}

impl Estimate {
    /// The same estimate for one `n`th of an iteration: an iteration of
    /// `n` requests gives the time per request.
    pub fn divided_by(self, n: f64) -> Estimate {
        Estimate {
            point_ns: self.point_ns / n,
            lower_ns: self.lower_ns / n,
            upper_ns: self.upper_ns / n,
            ..self
        }
    }
}

impl Timings {
    /// Records one call of the routine: the iteration count Criterion asked for and the time
    /// the routine returned to it.
    pub fn push(&mut self, iters: u64, elapsed: Duration) {
        self.calls.push((iters, elapsed));
    }

    /// Forgets all calls. Call this before each benchmark, so that one benchmark's calls are
    /// never read as another's warm-up.
    pub fn clear(&mut self) {
        self.calls.clear();
    }

    /// How many calls were recorded.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call was recorded.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Criterion's headline estimate for the recorded run, with a bootstrap interval at
    /// `confidence_level` from `n_resamples` resamples.
    ///
    /// The measurement phase is found from the shape of the calls. `sample_size` alone is not
    /// enough, because `--sample-size` can override it and quick mode ignores it:
    ///
    /// * **Normal run**: a warm-up of 1, 2, 4, ... iterations, then at least 10 samples. Linear
    ///   samples are `d, 2d, ..., n*d` and give [`Statistic::Slope`]. Flat samples all have the
    ///   same count and give [`Statistic::Mean`]. A different sample count from `sample_size` is
    ///   accepted. `sample_size` only settles one case. When the flat count `c` is the next
    ///   power of two after the warm-up, the last warm-up call looks like the first sample.
    ///   There we take the split whose sample count equals `sample_size`, and return `None`
    ///   if neither does.
    /// * **Quick run** (`--quick`): every call is 1, 2, 4, ... and there are at least two.
    ///   The last two calls are a linear sample of two ([`Statistic::Slope`]).
    ///
    /// Returns `None` when the calls do not look like one complete Criterion measurement. That
    /// covers:
    /// * no calls;
    /// * one call: a `--test` run, or quick mode's rare single-call exit;
    /// * calls that fit neither shape, such as an unfinished run or two benchmarks without
    ///   [`Timings::clear`] between them;
    /// * an ambiguous flat split;
    /// * a sample that took zero time, which Criterion refuses to analyse;
    /// * `confidence_level` outside `(0, 1)`, or `n_resamples == 0`.
    ///
    /// A normal run cut off during warm-up, and a `--profile-time` run, can look like a quick
    /// run. Ask for an estimate only after Criterion has finished a real measurement.
    pub fn estimate(
        &self,
        sample_size: usize,
        confidence_level: f64,
        n_resamples: usize,
    ) -> Option<Estimate> {
        let valid_level = confidence_level > 0.0 && confidence_level < 1.0;
        if !valid_level || n_resamples == 0 {
            return None;
        }
        let (statistic, samples) = self.measurement_phase(sample_size)?;
        if samples.iter().any(|&(_, elapsed_ns)| elapsed_ns == 0.0) {
            return None;
        }
        let point_ns = statistic_ns(statistic, &samples);
        let (lower_ns, upper_ns) =
            bootstrap_interval_ns(statistic, &samples, confidence_level, n_resamples)?;
        Some(Estimate {
            statistic,
            point_ns,
            lower_ns,
            upper_ns,
            confidence_level,
            n_samples: samples.len(),
        })
    }

    /// The statistic Criterion used and the samples as `(iters, elapsed_ns)`. These are the
    /// same `f64`s Criterion builds (`routine.rs:200`, `measurement.rs:256-258`).
    fn measurement_phase(&self, sample_size: usize) -> Option<(Statistic, Vec<(f64, f64)>)> {
        let iters: Vec<u64> = self.calls.iter().map(|&(n, _)| n).collect();
        let (statistic, n_samples) =
            normal_phase(&iters, sample_size).or_else(|| quick_phase(&iters))?;
        let first = self.calls.len().checked_sub(n_samples)?;
        let samples = self
            .calls
            .get(first..)?
            .iter()
            .map(|&(n, elapsed)| (n as f64, elapsed.as_nanos() as f64))
            .collect();
        Some((statistic, samples))
    }
}

/// A normal run's statistic and sample count: a non-empty warm-up, then at least 10
/// linear or flat samples.
fn normal_phase(iters: &[u64], sample_size: usize) -> Option<(Statistic, usize)> {
    if let Some(n) = linear_tail_len(iters) {
        return is_normal_split(iters, n).then_some((Statistic::Slope, n));
    }
    let run = flat_tail_len(iters);
    // The flat run may start with the warm-up's last call, so the sample count is `run` or
    // `run - 1`.
    let candidates = [Some(run), run.checked_sub(1)];
    let mut valid = candidates
        .into_iter()
        .flatten()
        .filter(|&n| is_normal_split(iters, n));
    let n = match (valid.next(), valid.next()) {
        (Some(n), None) => n,
        (Some(a), Some(b)) => [a, b].into_iter().find(|&n| n == sample_size)?,
        _ => return None,
    };
    Some((Statistic::Mean, n))
}

/// Whether the last `n_samples` calls can be a normal run's samples: there are enough of
/// them, and everything before them is a complete warm-up.
fn is_normal_split(iters: &[u64], n_samples: usize) -> bool {
    let Some(warm_up_len) = iters.len().checked_sub(n_samples) else {
        return false;
    };
    let warm_up = iters.get(..warm_up_len).unwrap_or_default();
    n_samples >= MIN_SAMPLE_SIZE && !warm_up.is_empty() && is_doubling_from_one(warm_up)
}

/// A quick run is only the doubling calls. Criterion analyses the last two as linear samples.
fn quick_phase(iters: &[u64]) -> Option<(Statistic, usize)> {
    let doubling = iters.len() >= QUICK_SAMPLE_SIZE && is_doubling_from_one(iters);
    doubling.then_some((Statistic::Slope, QUICK_SAMPLE_SIZE))
}

/// Whether the counts are 1, 2, 4, ..., as Criterion's warm-up and quick mode call them.
/// Doubling uses `wrapping_mul` as Criterion does (`routine.rs:302`).
fn is_doubling_from_one(iters: &[u64]) -> bool {
    let powers = std::iter::successors(Some(1u64), |&n| Some(n.wrapping_mul(2)));
    iters.iter().zip(powers).all(|(&n, power)| n == power)
}

/// How many trailing calls form linear sampling `d, 2d, ..., n*d`. This is `None` when the
/// tail is not linear.
///
/// The last two counts fix `d`, so `n = last / d`. That makes the linear tail unique. It can
/// never absorb a warm-up call `2^w`, because that would need `d = 2·2^w` and `2d = 3·2^w`.
fn linear_tail_len(iters: &[u64]) -> Option<usize> {
    let mut from_end = iters.iter().rev();
    let (&last, &before) = (from_end.next()?, from_end.next()?);
    let step = last.checked_sub(before).filter(|&d| d > 0)?;
    if !last.is_multiple_of(step) {
        return None;
    }
    let n = usize::try_from(last / step).ok()?;
    let tail = iters.get(iters.len().checked_sub(n)?..)?;
    let is_linear = tail
        .iter()
        .zip(1u64..)
        .all(|(&count, k)| step.checked_mul(k) == Some(count));
    is_linear.then_some(n)
}

/// How many trailing calls have the same iteration count as the last one.
fn flat_tail_len(iters: &[u64]) -> usize {
    let Some(&last) = iters.last() else {
        return 0;
    };
    iters.iter().rev().take_while(|&&n| n == last).count()
}

/// The statistic over `(iters, elapsed_ns)` samples, using Criterion's formula and order of
/// summation.
fn statistic_ns(statistic: Statistic, samples: &[(f64, f64)]) -> f64 {
    match statistic {
        Statistic::Slope => slope_ns(samples),
        Statistic::Mean => mean_ns(samples),
    }
}

/// `Slope::fit` (`stats/bivariate/regression.rs:20-28`): `Σxy / Σx²`, each sum a left fold
/// from 0.
fn slope_ns(samples: &[(f64, f64)]) -> f64 {
    let xy = samples.iter().fold(0.0, |acc, &(x, y)| acc + x * y);
    let x2 = samples.iter().fold(0.0, |acc, &(x, _)| acc + x * x);
    xy / x2
}

/// `Sample::mean` of the per-sample averages (`analysis/mod.rs:124-128`,
/// `stats/univariate/sample.rs:52-56`): a left fold of `elapsed / iters` from 0, divided by n.
fn mean_ns(samples: &[(f64, f64)]) -> f64 {
    let sum = samples.iter().map(|&(x, y)| y / x).fold(0.0, Add::add);
    sum / samples.len() as f64
}

/// The bootstrap percentile interval of `statistic` at `confidence_level`. It resamples
/// whole samples with replacement, as Criterion does (`stats/univariate/resamples.rs`,
/// `stats/bivariate/resamples.rs`).
fn bootstrap_interval_ns(
    statistic: Statistic,
    samples: &[(f64, f64)],
    confidence_level: f64,
    n_resamples: usize,
) -> Option<(f64, f64)> {
    let mut rng = SplitMix64(BOOTSTRAP_SEED);
    let mut resample = samples.to_vec();
    let mut distribution_ns: Vec<f64> = (0..n_resamples)
        .map(|_| {
            for slot in resample.iter_mut() {
                let drawn = samples.get(rng.below(samples.len())).copied();
                *slot = drawn.unwrap_or(*slot);
            }
            statistic_ns(statistic, &resample)
        })
        .collect();
    distribution_ns.sort_unstable_by(f64::total_cmp);
    // Criterion's exact percentile arguments (`stats/mod.rs:53-56`).
    let lower_ns = percentile(&distribution_ns, 50.0 * (1.0 - confidence_level))?;
    let upper_ns = percentile(&distribution_ns, 50.0 * (1.0 + confidence_level))?;
    Some((lower_ns, upper_ns))
}

/// `Percentiles::at` (`stats/univariate/percentiles.rs:20-38`) on sorted values: rank
/// `p/100·(len−1)`, interpolated linearly between its floor and the next value. Unlike
/// Criterion, it never reads past the end of the slice.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last_index = sorted.len().checked_sub(1)?;
    if p >= 100.0 {
        return sorted.last().copied();
    }
    let rank = (p / 100.0) * last_index as f64;
    let integer = rank.floor();
    let fraction = rank - integer;
    let index = integer as usize;
    let floor = *sorted.get(index)?;
    let ceiling = sorted.get(index + 1).copied().unwrap_or(floor);
    Some(floor + (ceiling - floor) * fraction)
}

/// SplitMix64 (Steele, Lea & Flood, 2014): small, fast, and good enough to pick bootstrap
/// indices. It needs no new crate.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..len`, by multiply-shift. Its bias is at most `len / 2^64`.
    fn below(&mut self, len: usize) -> usize {
        ((u128::from(self.next_u64()) * len as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CL: f64 = 0.95;
    const RESAMPLES: usize = 10_000;

    fn ns(n: u64) -> Duration {
        Duration::from_nanos(n)
    }

    /// Warm-up calls 1, 2, 4, ..., with durations the estimate must ignore.
    fn warm_up(timings: &mut Timings, calls: u32, elapsed: Duration) {
        for i in 0..calls {
            timings.push(1 << i, elapsed);
        }
    }

    /// Linear samples `d, 2d, ..., n*d`, each taking `ns_per_iter(i)` per iteration.
    fn linear(timings: &mut Timings, d: u64, n: u64, ns_per_iter: impl Fn(u64) -> u64) {
        for k in 1..=n {
            timings.push(k * d, ns(k * d * ns_per_iter(k)));
        }
    }

    fn noisy(k: u64) -> u64 {
        1000 + (k * 7919) % 97
    }

    #[test]
    fn slope_of_an_exact_line() {
        let mut timings = Timings::default();
        warm_up(&mut timings, 5, ns(123));
        linear(&mut timings, 3, 20, |_| 1500);
        let estimate = timings.estimate(20, CL, RESAMPLES).unwrap();
        assert_eq!(estimate.statistic, Statistic::Slope);
        assert_eq!(estimate.n_samples, 20);
        assert_eq!(estimate.point_ns, 1500.0);
        assert_eq!((estimate.lower_ns, estimate.upper_ns), (1500.0, 1500.0));
    }

    #[test]
    fn ten_thousand_resamples_give_the_interval_of_a_hundred_thousand() {
        // 100 linear samples of a noisy ~1 µs request, as a latency
        // benchmark takes them: the interval's bounds from 10,000 resamples
        // (the suite's default) and from 100,000 (Criterion's) differ by a
        // small part of the interval's own width.
        let mut timings = Timings::default();
        warm_up(&mut timings, 5, ns(50));
        linear(&mut timings, 4, 100, |k| {
            1000 + (k * 7919) % 211 + (k * k) % 37
        });
        let few = timings.estimate(100, CL, 10_000).unwrap();
        let many = timings.estimate(100, CL, 100_000).unwrap();
        assert_eq!(few.point_ns, many.point_ns);
        let width = many.upper_ns - many.lower_ns;
        assert!(width > 0.0);
        for (a, b) in [(few.lower_ns, many.lower_ns), (few.upper_ns, many.upper_ns)] {
            assert!((a - b).abs() < 0.05 * width, "{few:?} vs {many:?}");
        }
    }

    #[test]
    fn slope_matches_criterion_formula_on_noise() {
        let mut timings = Timings::default();
        warm_up(&mut timings, 3, ns(5));
        linear(&mut timings, 2, 15, noisy);
        let xs: Vec<f64> = (1..=15).map(|k| (2 * k) as f64).collect();
        let ys: Vec<f64> = (1..=15).map(|k| (2 * k * noisy(k)) as f64).collect();
        let xy = xs.iter().zip(&ys).fold(0.0, |acc, (x, y)| acc + x * y);
        let x2 = xs.iter().fold(0.0, |acc, x| acc + x * x);
        let estimate = timings.estimate(15, CL, RESAMPLES).unwrap();
        assert_eq!(estimate.point_ns.to_bits(), (xy / x2).to_bits());
    }

    #[test]
    fn mean_of_flat_samples() {
        let mut timings = Timings::default();
        warm_up(&mut timings, 4, ns(9));
        let elapsed_ns = [
            50_000, 51_000, 49_500, 50_250, 52_000, 50_000, 49_000, 50_500, 51_500, 50_750,
        ];
        for &t in &elapsed_ns {
            timings.push(50, ns(t));
        }
        let expected = elapsed_ns
            .iter()
            .map(|&t| t as f64 / 50.0)
            .fold(0.0, Add::add)
            / 10.0;
        let estimate = timings.estimate(10, CL, RESAMPLES).unwrap();
        assert_eq!(estimate.statistic, Statistic::Mean);
        assert_eq!(estimate.n_samples, 10);
        assert_eq!(estimate.point_ns.to_bits(), expected.to_bits());
    }

    #[test]
    fn warm_up_calls_are_ignored() {
        let mut quick_warm_up = Timings::default();
        warm_up(&mut quick_warm_up, 2, ns(1));
        linear(&mut quick_warm_up, 5, 12, noisy);
        let mut slow_warm_up = Timings::default();
        warm_up(&mut slow_warm_up, 9, Duration::from_secs(3));
        linear(&mut slow_warm_up, 5, 12, noisy);
        let a = quick_warm_up.estimate(12, CL, RESAMPLES).unwrap();
        let b = slow_warm_up.estimate(12, CL, RESAMPLES).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn incomplete_measurement_is_none() {
        let mut timings = Timings::default();
        assert_eq!(timings.estimate(10, CL, RESAMPLES), None);
        timings.push(1, ns(10));
        assert_eq!(
            timings.estimate(10, CL, RESAMPLES),
            None,
            "single call: --test"
        );
        let mut short = Timings::default();
        warm_up(&mut short, 3, ns(1));
        linear(&mut short, 4, 9, noisy);
        assert_eq!(short.estimate(10, CL, RESAMPLES), None, "9 samples");
        let mut no_warm_up = Timings::default();
        linear(&mut no_warm_up, 4, 10, noisy);
        assert_eq!(no_warm_up.estimate(10, CL, RESAMPLES), None, "no warm-up");
    }

    #[test]
    fn two_benchmarks_without_clear_is_none() {
        let mut timings = Timings::default();
        for _ in 0..2 {
            warm_up(&mut timings, 3, ns(1));
            linear(&mut timings, 4, 10, noisy);
        }
        assert_eq!(timings.estimate(10, CL, RESAMPLES), None);
        timings.clear();
        assert!(timings.is_empty());
        warm_up(&mut timings, 3, ns(1));
        linear(&mut timings, 4, 10, noisy);
        assert_eq!(timings.len(), 13);
        assert!(timings.estimate(10, CL, RESAMPLES).is_some());
    }

    #[test]
    fn zero_time_sample_is_none() {
        let mut timings = Timings::default();
        warm_up(&mut timings, 3, ns(1));
        linear(&mut timings, 4, 10, |k| if k == 5 { 0 } else { 1000 });
        assert_eq!(timings.estimate(10, CL, RESAMPLES), None);
    }

    #[test]
    fn invalid_parameters_are_none() {
        let mut timings = Timings::default();
        warm_up(&mut timings, 3, ns(1));
        linear(&mut timings, 4, 10, noisy);
        assert_eq!(timings.estimate(10, 0.0, RESAMPLES), None);
        assert_eq!(timings.estimate(10, 1.0, RESAMPLES), None);
        assert_eq!(timings.estimate(10, f64::NAN, RESAMPLES), None);
        assert_eq!(timings.estimate(10, CL, 0), None);
    }

    #[test]
    fn sample_count_from_shape_when_cli_overrides_sample_size() {
        let mut timings = Timings::default();
        warm_up(&mut timings, 6, ns(1));
        linear(&mut timings, 8, 20, noisy);
        let estimate = timings.estimate(100, CL, RESAMPLES).unwrap();
        assert_eq!(estimate.n_samples, 20);
    }

    #[test]
    fn linear_samples_continuing_the_doubling_are_not_warm_up() {
        // Warm-up 1, 2, 4, then d = 8: the samples 8, 16 also double.
        let mut timings = Timings::default();
        warm_up(&mut timings, 3, ns(1));
        linear(&mut timings, 8, 10, noisy);
        assert_eq!(timings.estimate(10, CL, RESAMPLES).unwrap().n_samples, 10);
    }

    #[test]
    fn flat_count_equal_to_next_power_of_two_uses_sample_size() {
        // 1, 2, 4, 8 then ten more 8s: eleven samples, or a warm-up ending at 8 and ten samples.
        let mut timings = Timings::default();
        warm_up(&mut timings, 3, ns(1));
        for k in 0..11 {
            timings.push(8, ns(8000 + k * 10));
        }
        assert_eq!(timings.estimate(10, CL, RESAMPLES).unwrap().n_samples, 10);
        assert_eq!(timings.estimate(11, CL, RESAMPLES).unwrap().n_samples, 11);
        assert_eq!(timings.estimate(100, CL, RESAMPLES), None);
        let ten = timings.estimate(10, CL, RESAMPLES).unwrap().point_ns;
        let expected = (1..11)
            .map(|k| (8000 + k * 10) as f64 / 8.0)
            .fold(0.0, Add::add)
            / 10.0;
        assert_eq!(ten.to_bits(), expected.to_bits());
    }

    #[test]
    fn flat_count_of_one_after_single_warm_up_call() {
        // A warm-up of one call (1 iteration), then flat samples of 1 iteration.
        let mut timings = Timings::default();
        for k in 0..11 {
            timings.push(1, ns(1000 + k));
        }
        let estimate = timings.estimate(100, CL, RESAMPLES).unwrap();
        assert_eq!(
            (estimate.statistic, estimate.n_samples),
            (Statistic::Mean, 10)
        );
    }

    #[test]
    fn quick_mode_uses_the_last_two_doubling_calls() {
        let mut timings = Timings::default();
        for (i, t) in [900u64, 1900, 3800, 8100, 15_900].into_iter().enumerate() {
            timings.push(1 << i, ns(t));
        }
        let estimate = timings.estimate(100, CL, RESAMPLES).unwrap();
        let expected: f64 = (8.0 * 8100.0 + 16.0 * 15_900.0) / (8.0 * 8.0 + 16.0 * 16.0);
        assert_eq!(estimate.statistic, Statistic::Slope);
        assert_eq!(estimate.n_samples, 2);
        assert_eq!(estimate.point_ns.to_bits(), expected.to_bits());
    }

    #[test]
    fn interval_contains_the_point() {
        let mut timings = Timings::default();
        warm_up(&mut timings, 4, ns(1));
        linear(&mut timings, 6, 50, noisy);
        let e = timings.estimate(50, CL, RESAMPLES).unwrap();
        assert!(e.lower_ns < e.point_ns && e.point_ns < e.upper_ns, "{e:?}");
        assert_eq!(e.confidence_level, CL);
        let mut flat = Timings::default();
        warm_up(&mut flat, 4, ns(1));
        for k in 0..30 {
            flat.push(40, ns(40 * noisy(k)));
        }
        let e = flat.estimate(30, CL, RESAMPLES).unwrap();
        assert!(e.lower_ns < e.point_ns && e.point_ns < e.upper_ns, "{e:?}");
    }

    #[test]
    fn results_are_deterministic() {
        let mut timings = Timings::default();
        warm_up(&mut timings, 4, ns(1));
        linear(&mut timings, 6, 30, noisy);
        let first = timings.estimate(30, CL, RESAMPLES).unwrap();
        let second = timings.clone().estimate(30, CL, RESAMPLES).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn percentile_interpolates_like_criterion() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&sorted, 0.0), Some(1.0));
        assert_eq!(percentile(&sorted, 50.0), Some(3.0));
        assert_eq!(percentile(&sorted, 62.5), Some(3.5));
        assert_eq!(percentile(&sorted, 100.0), Some(5.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn statistic_serializes_kebab_case() {
        assert_eq!(
            serde_json::to_string(&Statistic::Slope).unwrap(),
            "\"slope\""
        );
        assert_eq!(
            serde_json::from_str::<Statistic>("\"mean\"").unwrap(),
            Statistic::Mean
        );
    }
}
