//! A round's own latency reading: every route of the server, then the
//! harness's responder beside it. Criterion's latency benchmark runs once
//! per server and prints its estimate; these readings, one per round (a
//! fresh process), are what a verdict tests, because two runs differ by
//! more than one run's own interval says (see `compare::stats`).

use std::net::SocketAddr;

use crate::config::BenchConfig;
use crate::error::{Error, Result};
use crate::load::Route;
use crate::measure::cpu::PhaseMeter;
use crate::record::ProbeRecord;
use crate::run::seams::Load;
use crate::run::timed::latency_plan;

/// Who is probed: a server process (its CPU is metered) or the responder.
pub struct Target<'a> {
    pub name: &'a str,
    pub addr: SocketAddr,
    pub pid: Option<u32>,
}

/// `config.probe_requests` requests of `route` one at a time on one
/// keep-alive connection, after a tenth as many on it to warm up. Every
/// request must succeed.
pub fn probe(
    load: &dyn Load,
    target: &Target<'_>,
    route: Route,
    config: &BenchConfig,
) -> Result<ProbeRecord> {
    let n_requests = config.probe_requests.max(1);
    let warm_up = latency_plan(route, (n_requests as u64 / 10).max(1), config);
    let measured = latency_plan(route, n_requests as u64, config);
    let mut client = load.connect(target.addr, &measured)?;
    let warmed = client.run(&warm_up);
    let meter = target.pid.map(PhaseMeter::start);
    let report = client.run(&measured);
    let cost = meter.map(PhaseMeter::stop);
    for (plan, report) in [(&warm_up, &warmed), (&measured, &report)] {
        if report.successes != plan.n_requests {
            return Err(Error::RequestsFailed {
                server: target.name.to_owned(),
                failed: plan.n_requests - report.successes,
                sent: plan.n_requests,
                path: plan.path.clone(),
                during: format!("during its round's {route} latency reading"),
                outcomes: report.counter_text(),
            });
        }
    }
    Ok(ProbeRecord {
        n_requests,
        wall_time: report.wall_time,
        requests: report.latency_summary(),
        server_cpu_time: cost.and_then(|c| c.server_cpu),
    })
}
