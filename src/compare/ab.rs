//! An A/B comparison interleaved in one run: B's figures judged against
//! A's, round by round. Round `i` of A ran next to round `i` of B (the plan
//! alternates A B B A ...), so the test is paired: the machine's drift over
//! the run falls on both sides of each pair and out of the verdict.

use crate::compare::figures::{self, Metric};
use crate::compare::loads::{self, keep_comparable};
use crate::compare::verdict::{Comparison, Judgement, compare};
use crate::config::AbPair;
use crate::load::request::Loads;
use crate::record::{RunRecord, ServerRecord};

/// B against A, with the control read beside each side's rounds; `None`
/// when the run was not an A/B run.
pub fn interleaved(run: &RunRecord, judgement: &Judgement) -> Option<Comparison> {
    let pair = run.config.ab.as_ref()?;
    let metrics = figures::collect(run);
    let side = |name: &str| -> Vec<Metric> {
        let mut side: Vec<Metric> = metrics
            .iter()
            .filter(|m| m.server == name)
            .map(|m| Metric {
                server: pair.b.clone(),
                ..m.clone()
            })
            .collect();
        side.extend(control(run, name));
        side
    };
    let find = |name: &str| run.servers.iter().find(|s| s.name == name);
    let loads = |name: &str| {
        find(name)
            .map(ServerRecord::loads)
            .unwrap_or_else(Loads::contract)
    };
    let (a_loads, b_loads) = (loads(&pair.a), loads(&pair.b));
    let (a_side, _) = keep_comparable(side(&pair.a), &a_loads, &b_loads);
    let (b_side, dropped) = keep_comparable(side(&pair.b), &a_loads, &b_loads);
    let rows = compare(&a_side, &b_side, &judgement.paired());
    let mut warnings = warnings(run, pair);
    warnings.extend(loads::warning(
        &format!("{} and {}", pair.a, pair.b),
        &dropped,
    ));
    Some(Comparison {
        baseline_name: pair.a.clone(),
        rows,
        warnings,
        failures: failures(run),
        interleaved: true,
    })
}

/// The responder's readings beside one server's rounds.
fn control(run: &RunRecord, name: &str) -> Option<Metric> {
    let server = run.servers.iter().find(|s| s.name == name)?;
    figures::control_metric(server.rounds.iter())
}

/// What differs between the two servers besides their code.
fn warnings(run: &RunRecord, pair: &AbPair) -> Vec<String> {
    let find = |name: &str| run.servers.iter().find(|s| s.name == name);
    let (Some(a), Some(b)) = (find(&pair.a), find(&pair.b)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if a.workers != b.workers {
        out.push(format!(
            "workers differ: {} {}, {} {}",
            a.name, a.workers, b.name, b.workers
        ));
    }
    if a.rounds.len() != b.rounds.len() {
        out.push(format!(
            "{} ran {} rounds, {} ran {}: the rounds are not paired",
            a.name,
            a.rounds.len(),
            b.name,
            b.rounds.len()
        ));
    }
    out
}

fn failures(run: &RunRecord) -> Vec<String> {
    run.servers
        .iter()
        .filter_map(|s| {
            let error = s.error.as_deref()?.lines().next()?;
            Some(format!("{} failed: {error}", s.name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::load::Route;

    /// An A/B run of axum against a copy whose rounds all read 10 % more
    /// latency and the same memory, with a drift both share.
    fn ab_run(slower: f64) -> RunRecord {
        let mut run = fixtures::full_run();
        run.servers.truncate(1);
        let drift = [1.0, 1.05, 1.1, 1.15, 1.2, 1.25];
        let a = &mut run.servers[0];
        a.rounds = drift
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut round = fixtures::round(100 + i as u32, 16.0 + 0.01 * i as f64);
                let probe = |us: f64| crate::record::ProbeRecord {
                    n_requests: 2000,
                    wall_time: std::time::Duration::from_secs_f64(us * 1e-6 * 2000.0),
                    requests: a.latency[&Route::HELLO].requests.clone(),
                    server_cpu_time: None,
                    heap: None,
                };
                round.probes.insert(Route::HELLO, probe(80.0 * d));
                round.control = Some(probe(70.0 * d));
                round
            })
            .collect();
        let mut b = a.clone();
        b.name = "axum-copy".into();
        for (i, round) in b.rounds.iter_mut().enumerate() {
            let probe = round.probes.get_mut(&Route::HELLO).unwrap();
            // Each pair a little apart, as two processes are.
            let wobble = if i % 2 == 0 { 1.004 } else { 0.996 };
            probe.wall_time = probe.wall_time.mul_f64(slower * wobble);
        }
        run.servers.push(b);
        run.config.ab = Some(AbPair {
            a: "axum".into(),
            b: "axum-copy".into(),
        });
        run
    }

    #[test]
    fn a_ten_percent_slower_b_is_a_regression_despite_the_drift() {
        let comparison = interleaved(&ab_run(1.10), &Judgement::default()).unwrap();
        let row = |name: &str| {
            comparison
                .rows
                .iter()
                .find(|r| r.figure.name() == name && r.server == "axum-copy")
                .unwrap()
        };
        let latency = row("latency-hello");
        assert_eq!(latency.verdict, crate::compare::verdict::Verdict::Regressed);
        assert!((latency.change.unwrap() - 0.10).abs() < 0.01, "{latency:?}");
        assert_eq!(
            row("rss-after").verdict,
            crate::compare::verdict::Verdict::WithinNoise
        );
        assert!(comparison.interleaved);
        assert_eq!(comparison.failed(), ["axum-copy latency-hello: regressed"]);
    }

    #[test]
    fn the_same_code_twice_is_within_noise() {
        let comparison = interleaved(&ab_run(1.0), &Judgement::default()).unwrap();
        assert!(comparison.failed().is_empty(), "{:?}", comparison.rows);
    }

    #[test]
    fn a_run_that_is_not_ab_has_no_interleaved_comparison() {
        assert!(interleaved(&fixtures::full_run(), &Judgement::default()).is_none());
    }
}
