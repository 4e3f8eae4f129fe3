//! The leak verdict: one process, several bursts in a row, its memory read
//! after each once it settled. A steady rise from burst to burst is a leak;
//! memory that rises in the first burst and then stays is a pool filled
//! once, not a leak.
//!
//! The memory after each burst, from the second on (the first fills what
//! a server keeps for good), is fitted against the burst's index by least
//! squares. A leak is a slope that is
//! - shown to be above zero: a one-sided t-test of the slope against how
//!   far the points scatter around the line, at [`FALSE_ALARM_RATE`];
//! - and worth reporting: over the fitted bursts the memory rises by more
//!   than [`HEAP_FLOOR`] of its level.
//!
//! The live heap is fitted when it was counted (it does not depend on how
//! the allocator keeps freed memory); RSS otherwise, and always shown.

use serde::Serialize;

use crate::compare::figures::HEAP_FLOOR;
use crate::compare::stats::two_sided_p;
use crate::compare::verdict::FALSE_ALARM_RATE;
use crate::record::LeakRecord;

/// The fewest bursts fitted (after the first is left out): a slope needs
/// a third point to say how far the points scatter around it.
pub const FITTED_BURSTS: usize = 3;

/// Which memory a fit is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    LiveHeap,
    Rss,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::LiveHeap => "live heap",
            Source::Rss => "RSS",
        }
    }
}

/// A straight line through the memory after each burst.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    pub source: Source,
    /// Bytes more after each burst than after the one before.
    pub bytes_per_burst: f64,
    pub bytes_per_request: f64,
    /// The one-sided p-value of a slope above zero.
    pub p: f64,
    /// The memory's mean level over the fitted bursts.
    pub level_bytes: f64,
    /// Bursts fitted.
    pub bursts: usize,
}

impl Fit {
    /// A steady rise beyond noise, and worth reporting.
    pub fn is_leak(&self) -> bool {
        let rise = self.bytes_per_burst * (self.bursts - 1) as f64;
        self.p < FALSE_ALARM_RATE && rise > HEAP_FLOOR * self.level_bytes
    }
}

/// A server's leak check: the fit the verdict is on, and RSS's beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeakCheck {
    pub server: String,
    /// On the live heap when counted, else on RSS; `None` with too few
    /// bursts.
    pub verdict_fit: Option<Fit>,
    pub rss_fit: Option<Fit>,
    pub bursts: usize,
}

impl LeakCheck {
    pub fn of(server: &str, record: &LeakRecord) -> LeakCheck {
        let fitted = record.bursts.get(1..).unwrap_or_default();
        let per_burst = record.requests_per_burst;
        let rss: Vec<f64> = fitted.iter().map(|p| p.rss_bytes as f64).collect();
        let live: Option<Vec<f64>> = fitted
            .iter()
            .map(|p| p.live_heap_bytes.map(|b| b as f64))
            .collect();
        let rss_fit = fit(Source::Rss, &rss, per_burst);
        let verdict_fit = match live {
            Some(live) if !live.is_empty() => fit(Source::LiveHeap, &live, per_burst),
            _ => rss_fit,
        };
        LeakCheck {
            server: server.to_owned(),
            verdict_fit,
            rss_fit,
            bursts: record.bursts.len(),
        }
    }

    pub fn is_leak(&self) -> bool {
        self.verdict_fit.is_some_and(|f| f.is_leak())
    }

    /// `leak: 1.02 KiB per request (live heap)`, `no leak`, or why there
    /// is no verdict.
    pub fn verdict_text(&self) -> String {
        match self.verdict_fit {
            None => format!(
                "not judged: {} bursts, a fit needs {}",
                self.bursts,
                FITTED_BURSTS + 1
            ),
            Some(fit) if fit.is_leak() => format!(
                "LEAK: {} per request ({})",
                crate::units::bytes_text(fit.bytes_per_request),
                fit.source.label()
            ),
            Some(fit) => format!("no leak ({})", fit.source.label()),
        }
    }
}

/// The least-squares line through `values` against their index.
fn fit(source: Source, values: &[f64], requests_per_burst: usize) -> Option<Fit> {
    let n = values.len();
    if n < FITTED_BURSTS {
        return None;
    }
    let nf = n as f64;
    let mean_x = (nf - 1.0) / 2.0;
    let mean_y = values.iter().sum::<f64>() / nf;
    let sxx: f64 = (0..n).map(|i| (i as f64 - mean_x).powi(2)).sum();
    let sxy: f64 = values
        .iter()
        .enumerate()
        .map(|(i, y)| (i as f64 - mean_x) * (y - mean_y))
        .sum();
    let slope = sxy / sxx;
    let residual: f64 = values
        .iter()
        .enumerate()
        .map(|(i, y)| (y - mean_y - slope * (i as f64 - mean_x)).powi(2))
        .sum();
    let se = (residual / (nf - 2.0) / sxx).sqrt();
    let p = match (se > 0.0, slope > 0.0) {
        (true, _) => {
            let two_sided = two_sided_p(slope / se, nf - 2.0);
            if slope > 0.0 {
                two_sided / 2.0
            } else {
                1.0 - two_sided / 2.0
            }
        }
        // Every point on the line: certain, one way or the other.
        (false, true) => 0.0,
        (false, false) => 1.0,
    };
    Some(Fit {
        source,
        bytes_per_burst: slope,
        bytes_per_request: slope / requests_per_burst.max(1) as f64,
        p,
        level_bytes: mean_y,
        bursts: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::LeakPoint;

    const MIB: u64 = 1 << 20;

    fn record(live: &[u64], rss: &[u64]) -> LeakRecord {
        LeakRecord {
            pid: 1,
            requests_per_burst: 2000,
            bursts: live
                .iter()
                .zip(rss)
                .map(|(&live, &rss)| LeakPoint {
                    success_rate: 1.0,
                    rss_bytes: rss,
                    live_heap_bytes: Some(live),
                })
                .collect(),
        }
    }

    #[test]
    fn a_steady_rise_is_a_leak_with_its_bytes_per_request() {
        // 1 KiB per request of 2000 a burst, with a little scatter.
        let live: Vec<u64> = (0..6)
            .map(|i| MIB + i * 2000 * 1024 + (i % 2) * 4096)
            .collect();
        let check = LeakCheck::of("leaky", &record(&live, &[30 * MIB; 6]));
        assert!(check.is_leak(), "{check:?}");
        let fit = check.verdict_fit.unwrap();
        assert_eq!(fit.source, Source::LiveHeap);
        assert!((fit.bytes_per_request - 1024.0).abs() < 10.0, "{fit:?}");
        assert!(
            check.verdict_text().starts_with("LEAK: "),
            "{}",
            check.verdict_text()
        );
    }

    #[test]
    fn memory_that_rises_once_and_stays_is_no_leak() {
        let live = [MIB, 5 * MIB, 5 * MIB + 100, 5 * MIB - 50, 5 * MIB + 20];
        let rss = [10 * MIB, 30 * MIB, 29 * MIB, 31 * MIB, 30 * MIB];
        let check = LeakCheck::of("pool", &record(&live, &rss));
        assert!(!check.is_leak(), "{check:?}");
        assert_eq!(check.verdict_text(), "no leak (live heap)");
    }

    #[test]
    fn a_rise_within_the_noise_floor_is_no_leak() {
        // 100 bytes per burst on 5 MiB: steady, but 0.006 % a burst.
        let live: Vec<u64> = (0..6).map(|i| 5 * MIB + i * 100).collect();
        let check = LeakCheck::of("tiny", &record(&live, &[30 * MIB; 6]));
        assert!(!check.is_leak(), "{check:?}");
    }

    #[test]
    fn without_a_counted_heap_rss_is_judged_and_too_few_bursts_are_not() {
        let mut leaky = record(&[0; 5], &[10 * MIB, 20 * MIB, 30 * MIB, 40 * MIB, 50 * MIB]);
        for point in &mut leaky.bursts {
            point.live_heap_bytes = None;
        }
        let check = LeakCheck::of("rss", &leaky);
        assert_eq!(check.verdict_fit.unwrap().source, Source::Rss);
        assert!(check.is_leak());
        leaky.bursts.truncate(3);
        let check = LeakCheck::of("short", &leaky);
        assert!(check.verdict_fit.is_none());
        assert!(check.verdict_text().starts_with("not judged"));
    }
}
