//! A run flattened into named figures per server: what baselines store,
//! comparisons judge and exports publish.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::memory::MemorySnapshot;
use crate::suite::{ROUTES, RunRecord, ServerRecord};

/// What a figure's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    Nanoseconds,
    Bytes,
    /// A fraction in 0..=1.
    Ratio,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Nanoseconds => "ns",
            Unit::Bytes => "bytes",
            Unit::Ratio => "ratio",
        }
    }
}

/// One figure of one server: a point value, optionally an interval, and the
/// independent readings it was made from (one per round), if several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub server: String,
    /// e.g. `latency-hello`, `rss-before`, `burst-time-per-call`.
    pub name: String,
    pub unit: Unit,
    /// Every figure here is smaller-is-better.
    pub value: f64,
    /// Criterion's 95 % confidence interval of the mean, for latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    /// The independent readings behind `value` (their median), e.g. one per
    /// round of the memory phase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<f64>,
}

impl Metric {
    /// `server/name`, the key baselines and exports use.
    pub fn key(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

/// The memory figures a snapshot gives, by name suffix.
pub const MEMORY_FIGURES: [&str; 5] = ["rss", "vms", "uss", "pss", "anonymous"];

fn memory_figure(snapshot: &MemorySnapshot, figure: &str) -> Option<u64> {
    match figure {
        "rss" => Some(snapshot.rss_bytes),
        "vms" => Some(snapshot.vms_bytes),
        "uss" => snapshot.uss_bytes,
        "pss" => snapshot.pss_bytes,
        "anonymous" => snapshot.anonymous_bytes,
        _ => None,
    }
}

/// Criterion's estimate of a latency benchmark's mean, in ns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
}

/// Reads `<criterion>/latency-<route>/<server>/<which>/estimates.json`,
/// where `which` is `new` or a baseline name.
pub fn criterion_estimate(
    criterion_home: &Path,
    route: &str,
    server: &str,
    which: &str,
) -> Option<Estimate> {
    #[derive(Deserialize)]
    struct Estimates {
        mean: PointEstimate,
    }
    #[derive(Deserialize)]
    struct PointEstimate {
        point_estimate: f64,
        confidence_interval: Interval,
    }
    #[derive(Deserialize)]
    struct Interval {
        lower_bound: f64,
        upper_bound: f64,
    }
    let path = criterion_home
        .join(format!("latency-{route}"))
        .join(server)
        .join(which)
        .join("estimates.json");
    let estimates: Estimates = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    Some(Estimate {
        mean: estimates.mean.point_estimate,
        lower: estimates.mean.confidence_interval.lower_bound,
        upper: estimates.mean.confidence_interval.upper_bound,
    })
}

/// Every figure of a run. `latency` gives Criterion's estimate for
/// (route, server), when there is one.
pub fn collect(run: &RunRecord, latency: impl Fn(&str, &str) -> Option<Estimate>) -> Vec<Metric> {
    let mut metrics = Vec::new();
    for server in &run.servers {
        for route in ROUTES {
            if let Some(e) = latency(route.name, &server.name) {
                metrics.push(Metric {
                    server: server.name.clone(),
                    name: format!("latency-{}", route.name),
                    unit: Unit::Nanoseconds,
                    value: e.mean,
                    lower: Some(e.lower),
                    upper: Some(e.upper),
                    readings: Vec::new(),
                });
            }
        }
        metrics.extend(round_metrics(server));
    }
    metrics
}

/// Memory, burst and startup figures: the median over the server's rounds.
fn round_metrics(server: &ServerRecord) -> Vec<Metric> {
    let rounds = server.rounds();
    let mut by_name: BTreeMap<String, (Unit, Vec<f64>)> = BTreeMap::new();
    let mut push = |name: String, unit: Unit, value: Option<f64>| {
        if let Some(value) = value {
            by_name
                .entry(name)
                .or_insert((unit, Vec::new()))
                .1
                .push(value);
        }
    };
    for round in &rounds {
        push(
            "startup-time".into(),
            Unit::Nanoseconds,
            round.startup_time.map(|t| t.as_nanos() as f64),
        );
        for (phase, snapshot) in [("before", &round.before), ("after", &round.after)] {
            for figure in MEMORY_FIGURES {
                let value = snapshot.as_ref().and_then(|s| memory_figure(s, figure));
                push(
                    format!("{figure}-{phase}"),
                    Unit::Bytes,
                    value.map(|v| v as f64),
                );
            }
        }
        if let Some(burst) = &round.burst {
            push(
                "burst-time-per-call".into(),
                Unit::Nanoseconds,
                Some(burst.seconds_per_call * 1e9),
            );
            push(
                "burst-failure-rate".into(),
                Unit::Ratio,
                Some(1.0 - burst.success_rate),
            );
        }
    }
    by_name
        .into_iter()
        .map(|(name, (unit, readings))| Metric {
            server: server.name.clone(),
            name,
            unit,
            value: median(&readings),
            lower: None,
            upper: None,
            readings: if readings.len() > 1 {
                readings
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// The median of a non-empty slice (mean of the middle two when even).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_unsorted() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
