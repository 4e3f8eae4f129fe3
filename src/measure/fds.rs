//! How many files a process has open: a server holds one per accepted
//! connection, so its count says how many of a burst's connections it
//! holds.

use std::time::{Duration, Instant};

/// The entries of `/proc/PID/fd`; `None` when they cannot be read.
pub fn open_files(pid: u32) -> Option<usize> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(entries.count())
}

/// How often the wait below reads the count: reading 2000 entries takes
/// well under a millisecond.
const POLL: Duration = Duration::from_millis(1);

/// Waits until `pid` has `connections` more open files than `before`, at
/// most `deadline`; the most it was seen to hold above `before`.
pub fn wait_until_held(pid: u32, before: usize, connections: usize, deadline: Duration) -> usize {
    let started = Instant::now();
    let mut most = 0;
    loop {
        let held = open_files(pid).map_or(0, |n| n.saturating_sub(before));
        most = most.max(held);
        if most >= connections || started.elapsed() >= deadline {
            return most;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_this_process_files_and_sees_new_ones() {
        let pid = std::process::id();
        let before = open_files(pid).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _accepted = listener.accept().unwrap();
        // The listener, the client's end and the accepted end.
        assert!(wait_until_held(pid, before, 3, Duration::from_secs(5)) >= 3);
        assert_eq!(open_files(u32::MAX), None);
    }
}
