//! Waiting until a server's memory has stopped moving before it is read.
//!
//! The seed slept 2 s before each reading. Here the server is read every
//! [`SETTLE_INTERVAL`] until its RSS and anonymous memory have been the same
//! in [`STABLE_READINGS`] readings in a row, and read then; the wait is
//! capped (`FRAMEWORK_BENCH_SETTLE`, the seed's 2 s by default), and a
//! server still moving at the cap is read at the cap. How long it took, and
//! whether it settled, is recorded with the reading.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::measure::memory::{MemorySnapshot, Sampler};
use crate::units::duration_ns;

/// Time between two readings while settling.
pub const SETTLE_INTERVAL: Duration = Duration::from_millis(25);
/// Readings in a row with the same RSS and anonymous memory that count as
/// settled: three intervals, 75 ms, without a page gained or lost.
pub const STABLE_READINGS: usize = 4;

/// How one settle went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settle {
    /// From the start of the settle to the reading kept.
    #[serde(with = "duration_ns", rename = "waited_ns")]
    pub waited: Duration,
    /// False when the memory was still moving at the cap (or the cap was 0):
    /// the reading was taken at the cap.
    pub settled: bool,
}

/// Reads `pid` until its memory is still, or until `cap` has passed; returns
/// the last reading. `check` runs before every reading (a crashed server is
/// an error, never a reading of a zombie), and `sleep` waits between them.
pub fn settle(
    sampler: &mut dyn Sampler,
    pid: u32,
    cap: Duration,
    check: &mut dyn FnMut() -> Result<()>,
    sleep: &mut dyn FnMut(Duration),
) -> Result<(MemorySnapshot, Settle)> {
    let start = Instant::now();
    let mut still = Stillness::default();
    loop {
        check()?;
        let snapshot = sampler.snapshot(pid)?;
        let waited = start.elapsed();
        if still.observe(&snapshot) >= STABLE_READINGS {
            return Ok((
                snapshot,
                Settle {
                    waited,
                    settled: true,
                },
            ));
        }
        if waited >= cap {
            return Ok((
                snapshot,
                Settle {
                    waited,
                    settled: false,
                },
            ));
        }
        sleep(SETTLE_INTERVAL.min(cap - waited));
    }
}

/// How many readings in a row had the same resident and anonymous memory.
#[derive(Debug, Default)]
struct Stillness {
    last: Option<(u64, Option<u64>)>,
    same: usize,
}

impl Stillness {
    fn observe(&mut self, snapshot: &MemorySnapshot) -> usize {
        let key = (snapshot.rss_bytes, snapshot.anonymous_bytes);
        if self.last == Some(key) {
            self.same += 1;
        } else {
            self.last = Some(key);
            self.same = 1;
        }
        self.same
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives RSS from a script, then repeats its last value.
    struct Script {
        rss: Vec<u64>,
        calls: usize,
    }

    impl Sampler for Script {
        fn snapshot(&mut self, pid: u32) -> Result<MemorySnapshot> {
            let rss = self.rss[self.calls.min(self.rss.len() - 1)];
            self.calls += 1;
            Ok(MemorySnapshot {
                anonymous_bytes: Some(rss / 2),
                ..MemorySnapshot::new(pid, rss, 0)
            })
        }

        fn rss_vms(&mut self, _pid: u32) -> Result<(u64, u64)> {
            unreachable!("settling reads whole snapshots")
        }
    }

    fn no_sleep(_: Duration) {}

    #[test]
    fn settles_after_four_equal_readings() {
        let mut script = Script {
            rss: vec![10, 20, 30, 30, 30, 30, 99],
            calls: 0,
        };
        let (snapshot, settle) = settle(
            &mut script,
            1,
            Duration::from_secs(60),
            &mut || Ok(()),
            &mut no_sleep,
        )
        .unwrap();
        assert_eq!(script.calls, 6);
        assert_eq!(snapshot.rss_bytes, 30);
        assert!(settle.settled);
    }

    #[test]
    fn memory_still_moving_at_the_cap_is_read_at_the_cap_and_said_so() {
        let mut script = Script {
            rss: (1..10_000).collect(),
            calls: 0,
        };
        let cap = Duration::from_millis(30);
        let mut sleep = |d: Duration| std::thread::sleep(d);
        let (snapshot, settle) = settle(&mut script, 1, cap, &mut || Ok(()), &mut sleep).unwrap();
        assert!(!settle.settled);
        assert!(settle.waited >= cap, "{:?}", settle.waited);
        assert_eq!(snapshot.rss_bytes, script.calls as u64);
    }

    #[test]
    fn a_zero_cap_reads_once() {
        let mut script = Script {
            rss: vec![5],
            calls: 0,
        };
        let (_, settle) = settle(
            &mut script,
            1,
            Duration::ZERO,
            &mut || Ok(()),
            &mut no_sleep,
        )
        .unwrap();
        assert_eq!((script.calls, settle.settled), (1, false));
    }

    #[test]
    fn a_failed_check_ends_the_settle_with_its_error() {
        let mut script = Script {
            rss: vec![5],
            calls: 0,
        };
        let mut check = || Err(crate::Error::ProcessGone { pid: 1 });
        let err = settle(
            &mut script,
            1,
            Duration::from_secs(1),
            &mut check,
            &mut no_sleep,
        );
        assert!(err.is_err());
        assert_eq!(script.calls, 0);
    }
}
