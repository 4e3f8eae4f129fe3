//! The throughput sweep as one table, for the terminal and the page: each
//! server's requests per second at each connection count, beside the
//! client's own ceiling at the same count.

use crate::compare::figures::Percentile;
use crate::record::{CLIENT_CEILING, LatencyRecord, RunRecord};
use crate::report::format;
use crate::report::latency::{CLIENT_BOUND, CONNECTION_PER_REQUEST};
use crate::report::table::{Align, Table};

/// `118.2k req/s`.
pub fn rate(per_second: f64) -> String {
    if per_second >= 1000.0 {
        format!("{:.1}k req/s", per_second / 1000.0)
    } else {
        format!("{per_second:.0} req/s")
    }
}

/// Every sweep benchmark of the run, the client's ceiling first.
pub fn throughput_table(run: &RunRecord) -> Table {
    let headers = [
        "server",
        "connections",
        "throughput",
        "p50",
        "p99",
        "max",
        "cpu/req",
        "client ceiling",
        "of ceiling",
        "note",
    ];
    let mut table = Table::new(&headers).aligned(9, Align::Left);
    for (&c, record) in &run.client_ceiling {
        table.push(row(CLIENT_CEILING, c, record, None));
    }
    for s in &run.servers {
        for (&c, record) in &s.throughput {
            table.push(row(&s.name, c, record, run.client_ceiling.get(&c)));
        }
    }
    table
}

fn row(
    name: &str,
    connections: usize,
    record: &LatencyRecord,
    ceiling: Option<&LatencyRecord>,
) -> Vec<String> {
    let percentile = |p: Percentile| format::percentile(p, &record.requests);
    let note = format::notes(&[
        (record.sweep_client_bound(ceiling), CLIENT_BOUND),
        (record.connection_per_request(), CONNECTION_PER_REQUEST),
    ]);
    vec![
        name.to_owned(),
        connections.to_string(),
        record
            .requests_per_second()
            .map_or_else(|| "-".into(), rate),
        percentile(Percentile::P50),
        percentile(Percentile::P99),
        percentile(Percentile::Max),
        record
            .server_cpu_per_request_ns()
            .map_or_else(|| "n/a".into(), format::duration_ns),
        ceiling
            .and_then(LatencyRecord::requests_per_second)
            .map_or_else(|| "-".into(), rate),
        record
            .share_of_ceiling(ceiling)
            .map_or_else(|| "-".into(), format::percent),
        note,
    ]
}

/// Every open-loop run: its target and achieved rate, whether it kept it,
/// and percentiles from when each request was due.
pub fn rate_table(run: &RunRecord) -> Table {
    let headers = [
        "server", "request", "target", "of max", "achieved", "p50", "p90", "p99", "p99.9", "max",
        "cpu/req", "late p99", "note",
    ];
    let mut table = Table::new(&headers)
        .aligned(1, Align::Left)
        .aligned(12, Align::Left);
    for s in &run.servers {
        for r in &s.constant_rate {
            let percentile = |p: Percentile| format::percentile(p, &r.requests);
            table.push(vec![
                s.name.clone(),
                r.route.to_string(),
                rate(f64::from(r.target_per_second)),
                r.percent_of_max
                    .map_or_else(|| "-".into(), |p| format!("{p}%")),
                format!(
                    "{} ({})",
                    rate(r.achieved_per_second),
                    format::percent(r.achieved_share())
                ),
                percentile(Percentile::P50),
                percentile(Percentile::P90),
                percentile(Percentile::P99),
                percentile(Percentile::P999),
                percentile(Percentile::Max),
                r.server_cpu_per_request_ns()
                    .map_or_else(|| "n/a".into(), format::duration_ns),
                r.lateness
                    .as_ref()
                    .map_or_else(|| "n/a".into(), |l| format::duration_ns(l.p99_ns as f64)),
                format::notes(&[
                    (!r.valid(), "not valid at this rate"),
                    (r.sent_late(), "the client sent late"),
                    (r.connection_per_request(), CONNECTION_PER_REQUEST),
                ]),
            ]);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::hammer::LatencySummary;
    use crate::measure::estimate::{Estimate, Statistic};

    fn at(ns_per_request: f64) -> LatencyRecord {
        LatencyRecord {
            estimate: Some(Estimate {
                statistic: Statistic::Slope,
                point_ns: ns_per_request,
                lower_ns: ns_per_request * 0.99,
                upper_ns: ns_per_request * 1.01,
                confidence_level: 0.95,
                n_samples: 100,
            }),
            ..crate::fixtures::run().servers[0]
                .latency
                .values()
                .next()
                .cloned()
                .unwrap()
        }
    }

    #[test]
    fn a_rate_run_that_fell_short_is_marked_and_is_no_figure() {
        use crate::record::RateRecord;
        let mut run = crate::fixtures::run();
        let requests = run.servers[0]
            .latency
            .values()
            .next()
            .unwrap()
            .requests
            .clone();
        let at = |route, percent: u8, achieved: f64| RateRecord {
            route,
            percent_of_max: Some(percent),
            connections: 16,
            target_per_second: 100_000,
            achieved_per_second: achieved,
            requests: requests.clone(),
            counts: [("200".to_owned(), 200_000)].into(),
            server_cpu_time: None,
            client_busy: None,
            closed_by_server: Some(0),
            lateness: None,
        };
        let (hello, json) = (crate::load::Route::HELLO, crate::load::Route::JSON);
        run.servers[0].constant_rate = vec![
            at(hello, 50, 99_500.0),
            at(hello, 90, 80_000.0),
            // Short at 50 %, the compared share: it must give no figure.
            at(json, 50, 70_000.0),
        ];
        let text = rate_table(&run).to_terminal();
        let kept = text.lines().find(|l| l.contains("99.5k")).unwrap();
        assert!(
            kept.contains("99.5%") && !kept.contains("not valid"),
            "{text}"
        );
        let short = text.lines().find(|l| l.contains("80.0k")).unwrap();
        assert!(short.contains("not valid at this rate"), "{text}");
        let rate_figures: Vec<_> = crate::compare::figures::collect(&run)
            .into_iter()
            .filter_map(|m| match m.figure {
                crate::compare::figures::Figure::RatePercentile(route, pct, _) => {
                    Some((route, pct))
                }
                _ => None,
            })
            .collect();
        assert!(!rate_figures.is_empty(), "the valid 50 % run is a figure");
        assert!(
            rate_figures.iter().all(|&f| f == (hello, 50)),
            "{rate_figures:?}"
        );
        // A run that kept its rate but whose client sent late is not valid
        // either: its latency would be partly the client's.
        let mut late = at(hello, 50, 99_500.0);
        late.lateness = Some(LatencySummary {
            p99_ns: 1_500_000,
            ..requests.clone()
        });
        assert!(!late.valid() && late.sent_late());
        run.servers[0].constant_rate = vec![late];
        let text = rate_table(&run).to_terminal();
        assert!(text.contains("the client sent late"), "{text}");
    }

    #[test]
    fn a_server_near_the_ceiling_is_client_bound() {
        let mut run = crate::fixtures::run();
        run.client_ceiling.insert(16, at(4_000.0)); // 250k req/s
        run.servers[0].throughput.insert(16, at(8_000.0)); // 125k: half
        run.servers[0].throughput.insert(64, at(8_000.0)); // no ceiling measured
        let mut near = run.servers[0].clone();
        near.name = "near".into();
        near.throughput = [(16, at(4_500.0))].into(); // 222k: 89 %
        run.servers.push(near);
        let text = throughput_table(&run).to_terminal();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("client-ceiling"), "{text}");
        assert!(lines[1].contains("250.0k req/s"), "{text}");
        let axum16 = lines.iter().find(|l| l.contains("125.0k req/s")).unwrap();
        assert!(
            axum16.contains("50.0%") && !axum16.contains("client-bound"),
            "{text}"
        );
        let near = lines.iter().find(|l| l.starts_with("near")).unwrap();
        assert!(
            near.contains("88.9%") && near.contains("client-bound"),
            "{text}"
        );
        assert_eq!(rate(950.0), "950 req/s");
    }
}
