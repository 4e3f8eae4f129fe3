//! Memory (and CPU time) snapshots of a process.
//!
//! `rss_bytes` and `vms_bytes` come from sysinfo, as the seed's psutil figures
//! did, so they mean the same on every platform. On Linux the rest comes from
//! `/proc/PID/smaps_rollup`, `/proc/PID/status` and `/proc/PID/stat`; a field a
//! platform cannot give is `None`, never zero.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::error::{Error, Result};

/// One reading of a process's memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySnapshot {
    pub pid: u32,
    /// Resident set size (sysinfo; `/proc/PID/statm` on Linux).
    pub rss_bytes: u64,
    /// Virtual memory size (sysinfo; `/proc/PID/statm` on Linux).
    pub vms_bytes: u64,
    /// Unique set size: private clean + private dirty pages.
    pub uss_bytes: Option<u64>,
    /// Proportional set size: private pages plus a share of shared ones.
    pub pss_bytes: Option<u64>,
    /// Anonymous memory: heap, stacks, and other memory not backed by a file.
    pub anonymous_bytes: Option<u64>,
    pub swap_bytes: Option<u64>,
    /// Peak resident set size (VmHWM) since the process started, or since
    /// the reset just before its last burst.
    pub peak_rss_bytes: Option<u64>,
    pub threads: Option<u64>,
    /// User plus system CPU time the process has used so far.
    #[serde(with = "crate::units::option_duration_ns", rename = "cpu_time_ns")]
    pub cpu_time: Option<Duration>,
}

impl MemorySnapshot {
    /// A reading with RSS and VMS only; the other figures unknown.
    pub fn new(pid: u32, rss_bytes: u64, vms_bytes: u64) -> MemorySnapshot {
        MemorySnapshot {
            pid,
            rss_bytes,
            vms_bytes,
            uss_bytes: None,
            pss_bytes: None,
            anonymous_bytes: None,
            swap_bytes: None,
            peak_rss_bytes: None,
            threads: None,
            cpu_time: None,
        }
    }
}

/// A memory figure of a snapshot (what the comparison judges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemoryFigure {
    Rss,
    Vms,
    Uss,
    Pss,
    Anonymous,
}

impl MemoryFigure {
    pub const ALL: [MemoryFigure; 5] = [
        MemoryFigure::Rss,
        MemoryFigure::Vms,
        MemoryFigure::Uss,
        MemoryFigure::Pss,
        MemoryFigure::Anonymous,
    ];

    /// The name on disk (`rss`, ..., `anonymous`).
    pub fn name(self) -> &'static str {
        match self {
            MemoryFigure::Rss => "rss",
            MemoryFigure::Vms => "vms",
            MemoryFigure::Uss => "uss",
            MemoryFigure::Pss => "pss",
            MemoryFigure::Anonymous => "anonymous",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            MemoryFigure::Rss => "RSS",
            MemoryFigure::Vms => "VMS",
            MemoryFigure::Uss => "USS",
            MemoryFigure::Pss => "PSS",
            MemoryFigure::Anonymous => "anonymous",
        }
    }

    /// The figure's bytes in `snapshot`, if the platform gave it.
    pub fn of(self, snapshot: &MemorySnapshot) -> Option<u64> {
        match self {
            MemoryFigure::Rss => Some(snapshot.rss_bytes),
            MemoryFigure::Vms => Some(snapshot.vms_bytes),
            MemoryFigure::Uss => snapshot.uss_bytes,
            MemoryFigure::Pss => snapshot.pss_bytes,
            MemoryFigure::Anonymous => snapshot.anonymous_bytes,
        }
    }
}

/// Something that reads a process's memory: the real `/proc` reader, or a
/// fake in tests of code that consumes readings.
pub trait Sampler {
    /// Every figure of the process.
    fn snapshot(&mut self, pid: u32) -> Result<MemorySnapshot>;

    /// RSS and VMS only, in bytes: the cheap reading that Criterion's
    /// memory benchmarks repeat.
    fn rss_vms(&mut self, pid: u32) -> Result<(u64, u64)>;
}

/// The real sampler: sysinfo plus `/proc` on Linux.
pub struct ProcSampler {
    system: System,
    clock_ticks_per_second: u64,
}

impl ProcSampler {
    pub fn new() -> Result<Self> {
        let system = System::new().map_err(|err| Error::ReadProc {
            pid: std::process::id(),
            path: PathBuf::from("/proc"),
            source: std::io::Error::other(err.to_string()),
        })?;
        Ok(ProcSampler {
            system,
            clock_ticks_per_second: clock_ticks_per_second(),
        })
    }

    /// A snapshot of the calling process (the harness itself).
    pub fn snapshot_self(&mut self) -> Result<MemorySnapshot> {
        self.snapshot(std::process::id())
    }
}

impl Sampler for ProcSampler {
    /// One small `/proc` file on Linux (`statm`, through sysinfo).
    fn rss_vms(&mut self, pid: u32) -> Result<(u64, u64)> {
        let sys_pid = Pid::from_u32(pid);
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[sys_pid]),
            true,
            ProcessRefreshKind::nothing().with_memory(),
        );
        let process = self
            .system
            .process(sys_pid)
            .ok_or(Error::ProcessGone { pid })?;
        Ok((process.memory(), process.virtual_memory()))
    }

    fn snapshot(&mut self, pid: u32) -> Result<MemorySnapshot> {
        let (rss_bytes, vms_bytes) = self.rss_vms(pid)?;
        let mut snapshot = MemorySnapshot::new(pid, rss_bytes, vms_bytes);
        if cfg!(target_os = "linux") {
            add_linux_fields(&mut snapshot, self.clock_ticks_per_second)?;
        }
        Ok(snapshot)
    }
}

fn add_linux_fields(snapshot: &mut MemorySnapshot, ticks_per_second: u64) -> Result<()> {
    let pid = snapshot.pid;
    let rollup = SmapsRollup::parse(&read_proc(pid, "smaps_rollup")?);
    snapshot.uss_bytes = rollup.uss_bytes();
    snapshot.pss_bytes = rollup.pss_bytes;
    snapshot.anonymous_bytes = rollup.anonymous_bytes;
    snapshot.swap_bytes = rollup.swap_bytes;
    let status = Status::parse(&read_proc(pid, "status")?);
    snapshot.peak_rss_bytes = status.peak_rss_bytes;
    snapshot.threads = status.threads;
    let stat_path = proc_path(pid, "stat");
    snapshot.cpu_time = Some(
        parse_cpu_time(&read_proc(pid, "stat")?, ticks_per_second).map_err(|message| {
            Error::ParseProc {
                pid,
                path: stat_path,
                message,
            }
        })?,
    );
    Ok(())
}

fn proc_path(pid: u32, file: &str) -> PathBuf {
    Path::new("/proc").join(pid.to_string()).join(file)
}

fn read_proc(pid: u32, file: &str) -> Result<String> {
    let path = proc_path(pid, file);
    std::fs::read_to_string(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::ProcessGone { pid }
        } else {
            Error::ReadProc { pid, path, source }
        }
    })
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// `Key:   1234 kB` lines, as in smaps_rollup and status, in bytes.
fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let mut parts = rest.split_whitespace();
        let value: u64 = parts.next()?.parse().ok()?;
        match parts.next() {
            Some("kB") => Some(value * 1024),
            None => Some(value),
            Some(_) => None,
        }
    })
}

/// The fields of `/proc/PID/smaps_rollup` that a snapshot uses.
#[derive(Debug, Default, PartialEq, Eq)]
struct SmapsRollup {
    pss_bytes: Option<u64>,
    private_clean_bytes: Option<u64>,
    private_dirty_bytes: Option<u64>,
    anonymous_bytes: Option<u64>,
    swap_bytes: Option<u64>,
}

impl SmapsRollup {
    fn parse(text: &str) -> Self {
        SmapsRollup {
            pss_bytes: kb_field(text, "Pss"),
            private_clean_bytes: kb_field(text, "Private_Clean"),
            private_dirty_bytes: kb_field(text, "Private_Dirty"),
            anonymous_bytes: kb_field(text, "Anonymous"),
            swap_bytes: kb_field(text, "Swap"),
        }
    }

    fn uss_bytes(&self) -> Option<u64> {
        Some(self.private_clean_bytes? + self.private_dirty_bytes?)
    }
}

/// The fields of `/proc/PID/status` that a snapshot uses.
#[derive(Debug, Default, PartialEq, Eq)]
struct Status {
    peak_rss_bytes: Option<u64>,
    threads: Option<u64>,
}

impl Status {
    fn parse(text: &str) -> Self {
        Status {
            peak_rss_bytes: kb_field(text, "VmHWM"),
            threads: kb_field(text, "Threads"),
        }
    }
}

/// utime + stime from `/proc/PID/stat` (fields 14 and 15, counted after the
/// command name, which may itself hold spaces and parentheses).
fn parse_cpu_time(stat: &str, ticks_per_second: u64) -> Result<Duration, String> {
    let after_comm = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or("no `)` after the command name")?;
    // after_comm starts with field 3 (state); utime is field 14.
    let mut fields = after_comm.split_whitespace().skip(11);
    let mut next_ticks = |name: &str| -> Result<u64, String> {
        fields
            .next()
            .ok_or(format!("no {name} field"))?
            .parse()
            .map_err(|err| format!("bad {name}: {err}"))
    };
    let ticks = next_ticks("utime")? + next_ticks("stime")?;
    Ok(Duration::from_nanos(
        ticks.saturating_mul(1_000_000_000) / ticks_per_second.max(1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS_ROLLUP: &str = "\
55d0c4a4e000-7ffd5a5f1000 ---p 00000000 00:00 0                          [rollup]
Rss:                3196 kB
Pss:                1520 kB
Pss_Dirty:           236 kB
Pss_Anon:            212 kB
Pss_File:           1308 kB
Pss_Shmem:             0 kB
Shared_Clean:       1836 kB
Shared_Dirty:          0 kB
Private_Clean:      1124 kB
Private_Dirty:       236 kB
Referenced:         3196 kB
Anonymous:           212 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  8 kB
SwapPss:               8 kB
Locked:                0 kB
";

    const STATUS: &str = "\
Name:\tserver-axum
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t  140100 kB
VmSize:\t  140036 kB
VmHWM:\t    3300 kB
VmRSS:\t    3196 kB
RssAnon:\t     212 kB
Threads:\t3
";

    #[test]
    fn parses_smaps_rollup() {
        let rollup = SmapsRollup::parse(SMAPS_ROLLUP);
        assert_eq!(rollup.pss_bytes, Some(1520 * 1024));
        assert_eq!(rollup.uss_bytes(), Some((1124 + 236) * 1024));
        assert_eq!(rollup.anonymous_bytes, Some(212 * 1024));
        // `SwapPss` must not be mistaken for `Swap`, nor `Pss_Anon` for `Pss`.
        assert_eq!(rollup.swap_bytes, Some(8 * 1024));
    }

    #[test]
    fn missing_fields_are_absent_not_zero() {
        let rollup = SmapsRollup::parse("Rss: 10 kB\nPss: 5 kB\n");
        assert_eq!(rollup.uss_bytes(), None);
        assert_eq!(rollup.anonymous_bytes, None);
        assert_eq!(Status::parse(""), Status::default());
    }

    #[test]
    fn parses_status() {
        let status = Status::parse(STATUS);
        assert_eq!(status.peak_rss_bytes, Some(3300 * 1024));
        assert_eq!(status.threads, Some(3));
    }

    #[test]
    fn parses_cpu_time_after_a_tricky_command_name() {
        // comm holds a space and a `)`; utime = 250, stime = 50 ticks.
        let stat = "4242 (my (weird) srv) S 1 4242 4242 0 -1 4194560 \
                    100 0 0 0 250 50 0 0 20 0 3 0 12345 140036096 799";
        assert_eq!(parse_cpu_time(stat, 100).unwrap(), Duration::from_secs(3));
        assert!(parse_cpu_time("4242 no-parens S", 100).is_err());
        assert!(parse_cpu_time("4242 (x) S 1 2", 100).is_err());
    }

    #[test]
    fn snapshot_of_self_matches_proc_status() {
        let mut sampler = ProcSampler::new().unwrap();
        let snapshot = sampler.snapshot_self().unwrap();
        assert_eq!(snapshot.pid, std::process::id());
        assert!(snapshot.rss_bytes > 0);
        assert!(snapshot.vms_bytes >= snapshot.rss_bytes);
        if cfg!(target_os = "linux") {
            let uss = snapshot.uss_bytes.unwrap();
            let pss = snapshot.pss_bytes.unwrap();
            assert!(uss <= pss && pss <= snapshot.rss_bytes + 64 * 1024);
            assert!(snapshot.threads.unwrap() >= 1);
            assert!(snapshot.peak_rss_bytes.unwrap() >= snapshot.rss_bytes / 2);
        }
    }

    #[test]
    fn a_vanished_process_is_an_error() {
        let mut sampler = ProcSampler::new().unwrap();
        // Pids are below 2^22 on Linux.
        let err = sampler.snapshot(u32::MAX - 7).unwrap_err();
        assert!(matches!(err, Error::ProcessGone { .. }), "{err}");
    }
}
