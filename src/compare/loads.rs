//! Whether two figures were measured on the same load: two servers (or a
//! server and its baseline) are compared on a request only where both were
//! sent it under the same name with the same expectation, and on the burst
//! and the sweep only where both sent the same there.

use crate::compare::figures::{Figure, Metric, Stage};
use crate::load::request::Loads;

/// The signature of what `figure` was measured on in `loads`; `None` for
/// a figure no load decides (the idle memory and the start), or of a
/// request these loads never sent.
pub fn load_of(figure: Figure, loads: &Loads) -> Option<&str> {
    let route = match (figure.stage(), figure) {
        (Stage::Before, _) => return None,
        (Stage::Burst, _) => return Some(&loads.burst),
        (Stage::Sweep(_), _) => return Some(&loads.sweep),
        (Stage::Latency(route) | Stage::Rate(route, _), _) => route,
        (Stage::Instructions, Figure::Instructions(route)) => route,
        (Stage::Instructions, _) => return None,
    };
    loads.requests.get(&route).map(String::as_str)
}

/// Whether `figure` of a server sent `a` compares with that of one sent
/// `b`: unless both sent it, differently. A figure only one side has is
/// kept, so that the comparison shows it as new or missing.
pub fn same_load(figure: Figure, a: &Loads, b: &Loads) -> bool {
    match (load_of(figure, a), load_of(figure, b)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Splits `metrics` (of `a`'s or `b`'s figures) into those measured on the
/// same load on both sides and the names of those that were not.
pub fn keep_comparable(metrics: Vec<Metric>, a: &Loads, b: &Loads) -> (Vec<Metric>, Vec<String>) {
    let mut dropped = Vec::new();
    let kept = metrics
        .into_iter()
        .filter(|m| {
            let same = same_load(m.figure, a, b);
            if !same {
                dropped.push(m.figure.name());
            }
            same
        })
        .collect();
    dropped.sort();
    dropped.dedup();
    (kept, dropped)
}

/// The warning for figures left out: what differed.
pub fn warning(what: &str, dropped: &[String]) -> Option<String> {
    (!dropped.is_empty()).then(|| {
        format!(
            "{what} sent different requests (another method, path, headers, body or expectation) for {} figures, not compared: {}",
            dropped.len(),
            dropped.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::figures::Percentile;
    use crate::load::Route;
    use crate::load::request::{BodyCheck, Mix, RequestSet, contract};

    /// The contract's two requests declared in a manifest, the json one
    /// checked by length only, the burst sending json.
    fn declared() -> Loads {
        let mut requests = contract();
        requests[1].expect.body = BodyCheck::Length(27);
        let mix = Mix::single(requests[0].clone());
        RequestSet::declared(requests, 1, mix).loads()
    }

    #[test]
    fn figures_compare_only_where_both_sides_sent_the_same() {
        let (contract, declared) = (Loads::contract(), declared());
        let same = |figure| same_load(figure, &contract, &declared);
        assert!(same(Figure::Latency(Route::HELLO)));
        assert!(same(Figure::Instructions(Route::HELLO)));
        assert!(!same(Figure::Latency(Route::JSON)), "another expectation");
        assert!(!same(Figure::RatePercentile(
            Route::JSON,
            50,
            Percentile::P50
        )));
        assert!(!same(Figure::BurstTimePerCall), "another burst request");
        assert!(same(Figure::SweepTimePerRequest(16)));
        assert!(same(Figure::StartupTime), "no load decides it");
        assert!(
            same(Figure::Latency(Route::new("other"))),
            "sent by neither"
        );
        assert!(same_load(
            Figure::Latency(Route::JSON),
            &declared,
            &declared
        ));
    }

    #[test]
    fn the_contracts_requests_declared_by_hand_are_the_contracts_loads() {
        let by_hand = RequestSet::declared(contract(), 0, Mix::single(contract().remove(0)));
        assert_eq!(by_hand.loads(), Loads::contract());
        let mix = Mix::weighted(contract().into_iter().map(|r| (r, 1)).collect()).unwrap();
        let mixed = RequestSet::declared(contract(), 0, mix).loads();
        for route in Route::CONTRACT {
            let figure = Figure::Latency(route);
            assert!(same_load(figure, &mixed, &Loads::contract()), "{figure}");
        }
        assert!(!same_load(
            Figure::SweepTimePerRequest(1),
            &mixed,
            &Loads::contract()
        ));
    }

    #[test]
    fn what_was_left_out_is_named() {
        let metrics = vec![
            Metric::point("a", Figure::Latency(Route::HELLO), 1.0),
            Metric::point("a", Figure::Latency(Route::JSON), 1.0),
        ];
        let (kept, dropped) = keep_comparable(metrics, &Loads::contract(), &declared());
        assert_eq!(kept.len(), 1);
        assert_eq!(dropped, ["latency-json"]);
        let text = warning("a and b", &dropped).unwrap();
        assert!(text.contains("latency-json"), "{text}");
        assert!(warning("a and b", &[]).is_none());
    }
}
