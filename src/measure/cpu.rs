//! Exact per-phase figures of a process, without polling: its CPU time in
//! nanoseconds (the process's CPU-time clock, which counts every thread,
//! exited ones included; not the 10 ms ticks of `/proc/PID/stat`) and the peak of its resident memory over a phase
//! (`VmHWM`, reset through `/proc/PID/clear_refs`). A figure the kernel will
//! not give is `None`, never zero.

use std::time::Duration;

/// The CPU time `pid` has used so far, every thread counted, exited ones
/// too (`clock_getcpuclockid`). Processes the server started are not its
/// own: a multi-process server's children are not counted.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    process_clock(pid).or_else(|| live_threads_cpu_time(pid))
}

#[cfg(target_os = "linux")]
fn process_clock(pid: u32) -> Option<Duration> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    let mut clock: libc::clockid_t = 0;
    // SAFETY: both calls only write the out-parameters given.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } != 0 {
        return None;
    }
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    if unsafe { libc::clock_gettime(clock, &mut time) } != 0 {
        return None;
    }
    let seconds = u64::try_from(time.tv_sec).ok()?;
    let nanos = u32::try_from(time.tv_nsec).ok()?;
    Some(Duration::new(seconds, nanos))
}

#[cfg(not(target_os = "linux"))]
fn process_clock(_pid: u32) -> Option<Duration> {
    None
}

/// The live threads' on-CPU time from schedstat, where the process clock
/// cannot be read.
fn live_threads_cpu_time(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total_ns: Option<u64> = None;
    for task in tasks.flatten() {
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok();
        let Some(ns) = schedstat.as_deref().and_then(first_field) else {
            continue; // the thread ended while we read
        };
        total_ns = Some(total_ns.unwrap_or(0).saturating_add(ns));
    }
    // No thread read (schedstat off in this kernel): absent, not zero.
    total_ns.map(Duration::from_nanos)
}

fn first_field(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

/// Resets `pid`'s peak resident memory (VmHWM) to its current RSS.
pub fn reset_peak_rss(pid: u32) -> std::io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// `pid`'s peak resident memory since its start or the last reset, bytes.
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time per request, in nanoseconds.
pub fn per_request_ns(cpu: Duration, requests: u64) -> Option<f64> {
    (requests > 0).then(|| cpu.as_nanos() as f64 / requests as f64)
}

/// What one timed phase cost: the server's CPU time, the harness's (the
/// client's) and the wall time, to tell server cost per request and whether
/// the client was the bottleneck.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PhaseCost {
    pub server_cpu: Option<Duration>,
    pub harness_cpu: Option<Duration>,
    pub wall: Duration,
}

/// Started just before a timed phase; [`PhaseMeter::stop`] just after.
pub struct PhaseMeter {
    server_pid: u32,
    server_cpu: Option<Duration>,
    harness_cpu: Option<Duration>,
    started: std::time::Instant,
}

impl PhaseMeter {
    pub fn start(server_pid: u32) -> PhaseMeter {
        PhaseMeter {
            server_pid,
            server_cpu: cpu_time(server_pid),
            harness_cpu: cpu_time(std::process::id()),
            started: std::time::Instant::now(),
        }
    }

    pub fn stop(self) -> PhaseCost {
        let wall = self.started.elapsed();
        let spent =
            |before: Option<Duration>, pid: u32| Some(cpu_time(pid)?.saturating_sub(before?));
        PhaseCost {
            server_cpu: spent(self.server_cpu, self.server_pid),
            harness_cpu: spent(self.harness_cpu, std::process::id()),
            wall,
        }
    }
}

/// Above this share of its threads' time the client, not the server, set
/// the pace of a concurrent load: the figure measured the client.
pub const CLIENT_BOUND_BUSY: f64 = 0.9;

impl PhaseCost {
    /// Two phases' costs together (a benchmark's many samples).
    pub fn plus(self, other: PhaseCost) -> PhaseCost {
        let add = |a: Option<Duration>, b: Option<Duration>| Some(a? + b?);
        PhaseCost {
            server_cpu: add(self.server_cpu, other.server_cpu),
            harness_cpu: add(self.harness_cpu, other.harness_cpu),
            wall: self.wall + other.wall,
        }
    }

    /// The share of the client threads' time the harness was on a CPU:
    /// `threads` is how many took part (one for a latency benchmark, at most
    /// one per connection for the sweep), not how many CPUs the client has.
    pub fn client_busy(&self, threads: usize) -> Option<f64> {
        let capacity = self.wall.as_secs_f64() * threads.max(1) as f64;
        let harness = self.harness_cpu?.as_secs_f64();
        (capacity > 0.0).then(|| harness / capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_first_schedstat_field() {
        assert_eq!(first_field("957475637 1234 56\n"), Some(957_475_637));
        assert_eq!(first_field(""), None);
    }

    #[test]
    fn reads_this_process_exactly() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let me = std::process::id();
        let before = cpu_time(me).unwrap();
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {}
        let spent = cpu_time(me).unwrap() - before;
        // Not a speed check: spinning 30 ms of wall time is at least
        // a few ms on a CPU, far finer than a 10 ms tick.
        assert!(spent > Duration::ZERO, "{spent:?}");
        reset_peak_rss(me).unwrap();
        assert!(peak_rss_bytes(me).unwrap() > 0);
        assert_eq!(per_request_ns(Duration::from_micros(10), 4), Some(2500.0));
        assert_eq!(per_request_ns(Duration::from_micros(10), 0), None);
    }

    #[test]
    fn a_busy_client_is_told_from_an_idle_one() {
        let cost = |harness_ms: u64, wall_ms: u64| PhaseCost {
            server_cpu: Some(Duration::from_millis(1)),
            harness_cpu: Some(Duration::from_millis(harness_ms)),
            wall: Duration::from_millis(wall_ms),
        };
        assert_eq!(cost(95, 100).client_busy(1), Some(0.95));
        assert_eq!(cost(95, 100).client_busy(2), Some(0.475));
        assert_eq!(cost(0, 0).client_busy(1), None);
        let both = cost(10, 100).plus(cost(30, 100));
        assert!((both.client_busy(1).unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(both.server_cpu, Some(Duration::from_millis(2)));
        let unknown = PhaseCost {
            harness_cpu: None,
            ..cost(1, 1)
        };
        assert_eq!(unknown.client_busy(1), None);
    }
}
