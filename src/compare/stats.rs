//! The statistics of a verdict: a test of two sets of round readings,
//! and the false-alarm control over a whole table of them.
//!
//! Each figure has one reading per round (a fresh server process). Two
//! sets of readings are compared on a log scale, so the change is a ratio
//! and a figure's size does not matter:
//! - unpaired (a saved baseline against this run): Welch's t-test on the
//!   log readings;
//! - paired (an interleaved A/B run, rounds A B B A ...): a one-sample
//!   t-test on the log ratios of the rounds that ran next to each other,
//!   so the machine's drift over the run falls out of each pair.
//!
//! A t-test, not a rank test: with five rounds a side, an exact rank test
//! can never get below p = 0.008, and a table of about 170 figures needs
//! far smaller p-values before one can be called changed (see
//! [`benjamini_hochberg`]).
//!
//! One odd round is set aside before the test when it lies more than 3.5
//! robust standard deviations from its side's median (the modified z-score
//! of Iglewicz and Hoaglin, with the median absolute deviation); only with
//! five readings or more, and at most one per side. Without that rule an
//! odd round either hides a change (it widens the spread) or makes one.

/// How readings are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Positive quantities (time, bytes): the change is a ratio.
    Ratio,
    /// Shares that may be 0 (a failure rate): the change is a difference.
    Difference,
}

/// Whether the two sides' rounds are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// Independent runs: a saved baseline against this one.
    Unpaired,
    /// Round `i` of one side ran next to round `i` of the other.
    Paired,
}

/// What a test found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// Now against the baseline: a ratio (geometric means, or the
    /// geometric mean of the pairs' ratios), or a difference.
    pub change: f64,
    /// The change's 95 % interval.
    pub low: f64,
    pub high: f64,
    /// Two-sided p-value of "no change".
    pub p: f64,
    /// Readings used on each side, after any odd round was set aside.
    pub used: (usize, usize),
    /// An odd round was set aside (on either side, or from the pairs).
    pub set_aside: usize,
}

/// The modified z-score beyond which a reading is an odd one out
/// (Iglewicz and Hoaglin, 1993).
const ODD_Z: f64 = 3.5;

/// The fewest readings a side needs before one can be set aside.
const ODD_MIN_READINGS: usize = 5;

/// The level of the interval shown beside a change.
const INTERVAL_LEVEL: f64 = 0.95;

/// Tests `now` against `base`. `None` with fewer than two usable readings
/// on a side (or pairs), or readings a ratio cannot be taken of.
pub fn test(base: &[f64], now: &[f64], scale: Scale, design: Design) -> Option<TestResult> {
    let transform = |values: &[f64]| -> Option<Vec<f64>> {
        match scale {
            Scale::Ratio => values
                .iter()
                .map(|&v| (v > 0.0 && v.is_finite()).then(|| v.ln()))
                .collect(),
            Scale::Difference => values.iter().map(|&v| v.is_finite().then_some(v)).collect(),
        }
    };
    let (base, now) = (transform(base)?, transform(now)?);
    let (estimate, used, set_aside) = match design {
        Design::Paired if base.len() == now.len() => {
            let differences: Vec<f64> = base.iter().zip(&now).map(|(b, n)| n - b).collect();
            let (kept, odd) = without_odd_one(&differences);
            let n = kept.len();
            (one_sample(&kept)?, (n, n), odd)
        }
        _ => {
            let (base, odd_base) = without_odd_one(&base);
            let (now, odd_now) = without_odd_one(&now);
            let used = (base.len(), now.len());
            (welch(&base, &now)?, used, odd_base + odd_now)
        }
    };
    let back = |x: f64| match scale {
        Scale::Ratio => x.exp(),
        Scale::Difference => x,
    };
    let half = estimate.quantile(0.5 + INTERVAL_LEVEL / 2.0) * estimate.se;
    Some(TestResult {
        change: back(estimate.mean),
        low: back(estimate.mean - half),
        high: back(estimate.mean + half),
        p: estimate.p_value(),
        used,
        set_aside,
    })
}

/// A mean difference with its standard error and degrees of freedom.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    mean: f64,
    se: f64,
    df: f64,
}

impl Estimate {
    fn p_value(self) -> f64 {
        if self.se == 0.0 {
            return if self.mean == 0.0 { 1.0 } else { 0.0 };
        }
        two_sided_p(self.mean / self.se, self.df)
    }

    fn quantile(self, probability: f64) -> f64 {
        t_quantile(probability, self.df)
    }
}

fn mean_and_variance(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance)
}

fn welch(base: &[f64], now: &[f64]) -> Option<Estimate> {
    if base.len() < 2 || now.len() < 2 {
        return None;
    }
    let (m1, v1) = mean_and_variance(base);
    let (m2, v2) = mean_and_variance(now);
    let (a, b) = (v1 / base.len() as f64, v2 / now.len() as f64);
    let se = (a + b).sqrt();
    let df = if se == 0.0 {
        (base.len() + now.len() - 2) as f64
    } else {
        (a + b).powi(2) / (a.powi(2) / (base.len() - 1) as f64 + b.powi(2) / (now.len() - 1) as f64)
    };
    Some(Estimate {
        mean: m2 - m1,
        se,
        df,
    })
}

fn one_sample(differences: &[f64]) -> Option<Estimate> {
    if differences.len() < 2 {
        return None;
    }
    let (mean, variance) = mean_and_variance(differences);
    Some(Estimate {
        mean,
        se: (variance / differences.len() as f64).sqrt(),
        df: (differences.len() - 1) as f64,
    })
}

/// The readings without their one odd reading, if they have one; and how
/// many were set aside (0 or 1).
fn without_odd_one(values: &[f64]) -> (Vec<f64>, usize) {
    if values.len() < ODD_MIN_READINGS {
        return (values.to_vec(), 0);
    }
    let median = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    let mad = median_of(deviations.clone());
    if mad == 0.0 {
        return (values.to_vec(), 0);
    }
    let score = |d: f64| 0.6745 * d / mad;
    let (worst, deviation) = deviations
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, 0.0));
    if score(deviation) <= ODD_Z {
        return (values.to_vec(), 0);
    }
    let kept = values
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != worst)
        .map(|(_, v)| *v)
        .collect();
    (kept, 1)
}

/// The median of a non-empty slice (mean of the middle two when even);
/// NaN for an empty one.
pub fn median(values: &[f64]) -> f64 {
    median_of(values.to_vec())
}

fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Which of `p_values` are discoveries at false-discovery rate `q`
/// (Benjamini and Hochberg, 1995). When nothing changed, the chance of any
/// discovery in the whole table is at most `q`: the false-alarm rate of a
/// table, not of one figure. When some figures did change, the others need
/// less evidence than a Bonferroni correction would ask of them.
pub fn benjamini_hochberg(p_values: &[f64], q: f64) -> Vec<bool> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let largest = order
        .iter()
        .enumerate()
        .rev()
        .find(|&(rank, &i)| p_values[i] <= q * (rank + 1) as f64 / m as f64)
        .map(|(rank, _)| rank);
    let mut discoveries = vec![false; m];
    if let Some(largest) = largest {
        for &i in &order[..=largest] {
            discoveries[i] = true;
        }
    }
    discoveries
}

/// P(|T| >= |t|) for Student's t with `df` degrees of freedom.
pub fn two_sided_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { 1.0 } else { 0.0 };
    }
    regularized_beta(df / (df + t * t), df / 2.0, 0.5).clamp(0.0, 1.0)
}

/// The `probability` quantile of Student's t with `df` degrees of freedom,
/// for `probability` in (0.5, 1).
pub fn t_quantile(probability: f64, df: f64) -> f64 {
    let tail = 2.0 * (1.0 - probability);
    let (mut low, mut high) = (0.0_f64, 1.0_f64);
    while two_sided_p(high, df) > tail && high < 1e12 {
        high *= 2.0;
    }
    for _ in 0..200 {
        let mid = (low + high) / 2.0;
        if two_sided_p(mid, df) > tail {
            low = mid;
        } else {
            high = mid;
        }
    }
    (low + high) / 2.0
}

/// The regularized incomplete beta function I_x(a, b), by its continued
/// fraction (Numerical Recipes, `betai` and `betacf`).
fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = COEFFICIENTS[1..]
        .iter()
        .enumerate()
        .fold(COEFFICIENTS[0], |sum, (i, c)| {
            sum + c / (x + (i + 1) as f64)
        });
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn student_t_matches_published_tables() {
        // Two-sided critical values at 0.05 and 0.01 (any t table).
        for (df, t05, t01) in [
            (1.0, 12.706, 63.657),
            (4.0, 2.776, 4.604),
            (8.0, 2.306, 3.355),
            (30.0, 2.042, 2.750),
        ] {
            assert!(close(two_sided_p(t05, df), 0.05, 1e-4), "df {df}");
            assert!(close(two_sided_p(t01, df), 0.01, 1e-4), "df {df}");
            assert!(close(t_quantile(0.975, df), t05, 1e-3), "df {df}");
        }
        assert_eq!(two_sided_p(0.0, 5.0), 1.0);
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
    }

    #[test]
    fn welch_agrees_with_a_worked_example() {
        // Five rounds 5 % apart, each within about 2 % of its side's mean.
        let a = [100.0, 102.0, 98.0, 101.0, 99.0];
        let b: Vec<f64> = a.iter().map(|v| v * 1.05).collect();
        let b = [b[0] * 1.01, b[1], b[2] * 0.99, b[3], b[4]];
        let result = test(&a, &b, Scale::Ratio, Design::Unpaired).unwrap();
        assert!(close(result.change, 1.05, 0.005), "{result:?}");
        assert!(result.p < 0.01, "{result:?}");
        assert!(result.low > 1.0 && result.high < 1.1, "{result:?}");
        assert_eq!(result.used, (5, 5));
    }

    #[test]
    fn unchanged_readings_are_not_a_change() {
        let a = [74.1, 81.0, 91.5, 78.0, 80.2];
        let b = [80.0, 76.3, 88.1, 79.9, 83.0];
        let result = test(&a, &b, Scale::Ratio, Design::Unpaired).unwrap();
        assert!(result.p > 0.2, "{result:?}");
        assert!(result.low < 1.0 && result.high > 1.0);
    }

    #[test]
    fn pairing_removes_a_drift_both_sides_share() {
        // The machine slows by a third over the run; B is 10 % slower than
        // A in every pair.
        let a = [60.0, 66.0, 72.0, 78.0, 84.0, 90.0];
        let b: Vec<f64> = a.iter().map(|v| v * 1.10 + 0.3).collect();
        let paired = test(&a, &b, Scale::Ratio, Design::Paired).unwrap();
        assert!(paired.p < 1e-4, "{paired:?}");
        assert!(close(paired.change, 1.10, 0.01));
        let unpaired = test(&a, &b, Scale::Ratio, Design::Unpaired).unwrap();
        assert!(
            unpaired.p > 0.05,
            "the drift hides it unpaired: {unpaired:?}"
        );
    }

    #[test]
    fn one_odd_round_is_set_aside_and_hides_nothing() {
        // The audit's case, with five rounds: one baseline round at 9 MiB.
        let base = [3.0, 3.1, 9.0, 3.05, 2.95];
        let now = [8.0, 8.1, 8.2, 8.05, 7.95];
        let result = test(&base, &now, Scale::Ratio, Design::Unpaired).unwrap();
        assert_eq!(result.set_aside, 1);
        assert_eq!(result.used, (4, 5));
        assert!(result.p < 1e-6 && result.change > 2.5, "{result:?}");
        // And one odd round does not make a change out of nothing.
        let base = [3.0, 3.1, 3.05, 3.02, 2.98];
        let now = [3.01, 3.08, 9.0, 3.03, 2.99];
        let result = test(&base, &now, Scale::Ratio, Design::Unpaired).unwrap();
        assert_eq!(result.set_aside, 1);
        assert!(result.p > 0.5, "{result:?}");
    }

    #[test]
    fn too_few_readings_or_zeros_give_no_ratio() {
        assert!(test(&[1.0], &[2.0, 3.0], Scale::Ratio, Design::Unpaired).is_none());
        assert!(test(&[0.0, 1.0], &[2.0, 3.0], Scale::Ratio, Design::Unpaired).is_none());
        let rate = test(
            &[0.0, 0.0],
            &[0.0, 0.0],
            Scale::Difference,
            Design::Unpaired,
        )
        .unwrap();
        assert_eq!((rate.change, rate.p), (0.0, 1.0));
        let worse = test(
            &[0.0, 0.0],
            &[0.5, 0.5],
            Scale::Difference,
            Design::Unpaired,
        )
        .unwrap();
        assert_eq!((worse.change, worse.p), (0.5, 0.0));
    }

    #[test]
    fn benjamini_hochberg_steps_up() {
        // m = 5, q = 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05.
        let p = [0.04, 0.001, 0.5, 0.025, 0.011];
        assert_eq!(
            benjamini_hochberg(&p, 0.05),
            [true, true, false, true, true]
        );
        assert_eq!(benjamini_hochberg(&[0.02, 0.9], 0.05), [true, false]);
        assert_eq!(benjamini_hochberg(&[0.03, 0.9], 0.05), [false, false]);
        assert!(benjamini_hochberg(&[], 0.05).is_empty());
    }
}
