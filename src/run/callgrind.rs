//! Instructions per request, counted by valgrind's callgrind: a count
//! that does not depend on the machine's speed or mood (two launches of an
//! unchanged axum counted the same requests within 0.23 %).
//!
//! The server runs under `valgrind --tool=callgrind --instr-atstart=no`,
//! so nothing is counted while it starts; [`LAUNCHES`] processes of it,
//! one after another, because the count moves more between launches than
//! between batches of one process (tide's by up to 1.7 % between runs,
//! 2026-12-02), and a verdict must see that. On each, for each route, on
//! one keep-alive connection: a warm-up, then a batch of [`BATCH_REQUESTS`]
//! between `callgrind_control -i on` and `-i off`, dumped on its own: each
//! launch's batch is a reading.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::load::{Mix, RequestSpec};
use crate::record::InstructionsRecord;
use crate::run::seams::Load;
use crate::run::timed::latency_plan;

/// Requests of each measured batch. The count per request is exact to
/// about 0.2 % at this size, and a server that answers slowly as shipped
/// (tide waits about 40 ms per answer for a delayed ACK) still gets
/// through its batches in well under a minute.
pub const BATCH_REQUESTS: usize = 250;
/// Processes per server, each giving one reading of each route.
pub const LAUNCHES: usize = 3;
/// Requests sent first on the connection, not counted.
pub const WARM_UP_REQUESTS: usize = 100;
/// A request's deadline under callgrind, which runs a server about 50
/// times slower (and a Python one slower still).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times longer a server takes to be ready under callgrind than
/// the run's ready timeout allows without it.
pub const SLOWER: u32 = 10;
/// How long a dump may take to appear.
const DUMP_DEADLINE: Duration = Duration::from_secs(10);

/// Why the pass cannot run on this machine, if it cannot: valgrind and
/// `callgrind_control` must both run.
pub fn unavailable() -> Option<String> {
    let runs = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    };
    match (runs("valgrind"), runs("callgrind_control")) {
        (true, true) => None,
        _ => Some(
            "valgrind is not installed: install it (`apt-get install valgrind`) to count instructions per request".to_owned(),
        ),
    }
}

/// What the pass needs of the running process.
pub struct Target<'a> {
    pub name: &'a str,
    pub addr: std::net::SocketAddr,
    pub pid: u32,
    /// Where its dumps are written.
    pub dir: &'a Path,
}

/// Counts `request`'s instructions over `batches` batches on `target`.
pub fn count(
    load: &dyn Load,
    target: &Target<'_>,
    request: &RequestSpec,
    batches: usize,
) -> Result<InstructionsRecord> {
    let route = request.name;
    let mix = Mix::single(request.clone());
    let mut plan = latency_plan(mix, WARM_UP_REQUESTS as u64, &Default::default());
    plan.timeout = REQUEST_TIMEOUT;
    let mut client = load.connect(target.addr, &plan)?;
    let during = format!("while callgrind counted its {route} requests");
    let mut send = |n_requests: usize| {
        let batch = crate::load::hammer::LoadPlan {
            n_requests,
            ..plan.clone()
        };
        let report = client.run(&batch);
        match report.successes == n_requests {
            true => Ok(()),
            false => Err(Error::RequestsFailed {
                server: target.name.to_owned(),
                failed: n_requests - report.successes,
                sent: n_requests,
                path: batch.mix.requests_text(),
                during: during.clone(),
                outcomes: report.counter_text(),
            }),
        }
    };
    send(WARM_UP_REQUESTS)?;
    let mut counted = Vec::with_capacity(batches);
    for _ in 0..batches {
        control(target, "-i", Some("on"))?;
        send(BATCH_REQUESTS)?;
        control(target, "-i", Some("off"))?;
        counted.push(dump(target)?);
    }
    Ok(InstructionsRecord {
        requests_per_batch: BATCH_REQUESTS,
        batches: counted,
    })
}

/// `callgrind_control FLAG [VALUE] PID`.
fn control(target: &Target<'_>, flag: &str, value: Option<&str>) -> Result<()> {
    let mut command = Command::new("callgrind_control");
    command.arg(flag);
    if let Some(value) = value {
        command.arg(value);
    }
    command.arg(target.pid.to_string());
    let output = command.output().map_err(|source| Error::Spawn {
        server: target.name.to_owned(),
        program: PathBuf::from("callgrind_control"),
        source,
    })?;
    match output.status.success() {
        true => Ok(()),
        false => Err(Error::Callgrind {
            server: target.name.to_owned(),
            message: format!(
                "callgrind_control {flag} {} failed: {}",
                value.unwrap_or_default(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        }),
    }
}

/// Dumps the counts since the last dump; their total of instructions.
fn dump(target: &Target<'_>) -> Result<u64> {
    let before = dumps(target);
    control(target, "-d", None)?;
    let deadline = Instant::now() + DUMP_DEADLINE;
    loop {
        let now = dumps(target);
        if let Some(newest) = now.iter().find(|path| !before.contains(path)) {
            // The dump is written whole before callgrind_control returns;
            // a file still being written is read again.
            if let Some(total) = std::fs::read_to_string(newest)
                .ok()
                .and_then(|text| totals(&text))
            {
                return Ok(total);
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Callgrind {
                server: target.name.to_owned(),
                message: format!("no dump appeared in {}", target.dir.display()),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The dump files of the target's process, `callgrind.PID.N`.
fn dumps(target: &Target<'_>) -> Vec<PathBuf> {
    let prefix = format!("callgrind.{}.", target.pid);
    let Ok(entries) = std::fs::read_dir(target.dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix))
        })
        .collect()
}

/// The `totals:` line of a dump: its instructions (the first event).
fn totals(dump: &str) -> Option<u64> {
    let line = dump.lines().find(|line| line.starts_with("totals:"))?;
    line["totals:".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_of_a_dump() {
        let dump = "version: 1\ncmd: x\nevents: Ir\nsummary: 0\nfn=(1)\n0 5\ntotals: 4227037\n";
        assert_eq!(totals(dump), Some(4_227_037));
        assert_eq!(totals("summary: 3\n"), None);
    }
}
