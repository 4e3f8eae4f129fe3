//! A server's heap, counted by the preload library `tools/alloc-count`:
//! every `malloc`, `free` and the rest the process makes goes through it,
//! and it adds what each did to counters in a page shared with the
//! harness ([`HeapCounters`]). The harness reads the page at any moment,
//! with no system call, even after the process ended.
//!
//! Bytes are the allocator's usable sizes, so allocated minus freed is the
//! live heap: what the server holds, which does not depend on how glibc
//! keeps freed memory. RSS minus the live heap is the allocator's share.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The environment variable that names the page to the library.
pub const COUNTERS_ENV: &str = "FRAMEWORK_BENCH_HEAP_COUNTERS";

/// The page's slots, as `tools/alloc-count/src/lib.rs` lays them out.
const MAGIC: usize = 0;
const ALLOCATIONS: usize = 1;
const FREES: usize = 2;
const REALLOCATIONS: usize = 3;
const BYTES_ALLOCATED: usize = 4;
const BYTES_FREED: usize = 5;
const PEAK_LIVE: usize = 6;
const PROCESSES: usize = 7;
const SLOTS: usize = 8;
const MAGIC_VALUE: u64 = u64::from_le_bytes(*b"fbheap01");
const PAGE_BYTES: usize = 4096;

/// The counters of one process (and any it forks), as a shared mapping of
/// the page file.
#[derive(Debug)]
pub struct HeapCounters {
    path: PathBuf,
    page: *mut AtomicU64,
}

// SAFETY: the mapping is only read and written through atomics, and lives
// until `drop`.
unsafe impl Send for HeapCounters {}
// SAFETY: as above.
unsafe impl Sync for HeapCounters {}

impl HeapCounters {
    /// A fresh page at `path` (replacing any file there), mapped for reading.
    pub fn create(path: &Path) -> Result<HeapCounters> {
        let write_error = |source| Error::WriteFile {
            path: path.to_owned(),
            source,
        };
        // A new file, so that a process of an earlier launch that still
        // holds the old one cannot write into this one.
        let _ = std::fs::remove_file(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(write_error)?;
        file.set_len(PAGE_BYTES as u64).map_err(write_error)?;
        // SAFETY: a shared mapping of a file of PAGE_BYTES, unmapped in drop.
        let mapped = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            return Err(write_error(std::io::Error::last_os_error()));
        }
        Ok(HeapCounters {
            path: path.to_owned(),
            page: mapped.cast(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn slots(&self) -> &[AtomicU64; SLOTS] {
        // SAFETY: a page-aligned mapping of PAGE_BYTES, alive while self is.
        unsafe { &*self.page.cast::<[AtomicU64; SLOTS]>() }
    }

    /// The counters now; `None` until the library has counted anything in
    /// this process (it never does in a statically linked one).
    pub fn read(&self) -> Option<HeapSnapshot> {
        let slots = self.slots();
        if slots[MAGIC].load(Relaxed) != MAGIC_VALUE {
            return None;
        }
        let at = |slot: usize| slots[slot].load(Relaxed);
        Some(HeapSnapshot {
            allocations: at(ALLOCATIONS),
            frees: at(FREES),
            reallocations: at(REALLOCATIONS),
            bytes_allocated: at(BYTES_ALLOCATED),
            bytes_freed: at(BYTES_FREED),
            peak_live_bytes: at(PEAK_LIVE),
            processes: at(PROCESSES),
        })
    }

    /// Starts a new peak from the live heap now, as `clear_refs` does for
    /// RSS: the next reading's peak is this phase's own.
    pub fn reset_peak(&self) {
        if let Some(now) = self.read() {
            self.slots()[PEAK_LIVE].store(now.live_bytes(), Relaxed);
        }
    }
}

impl Drop for HeapCounters {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `create`, unmapped once.
        unsafe { libc::munmap(self.page.cast(), PAGE_BYTES) };
    }
}

/// The counters at one moment, since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeapSnapshot {
    /// Blocks made (`malloc`, `calloc`, the aligned ones, `realloc` of
    /// nothing).
    pub allocations: u64,
    pub frees: u64,
    /// Blocks moved or resized by `realloc`.
    pub reallocations: u64,
    /// Usable bytes of every block made.
    pub bytes_allocated: u64,
    pub bytes_freed: u64,
    /// The most live bytes since the harness last reset the peak.
    pub peak_live_bytes: u64,
    /// Processes that counted into the page (more than 1 if the server
    /// forks or runs other programs).
    pub processes: u64,
}

impl HeapSnapshot {
    /// The bytes the process holds: allocated minus freed.
    pub fn live_bytes(&self) -> u64 {
        self.bytes_allocated.saturating_sub(self.bytes_freed)
    }

    /// What the process did between `earlier` and this reading.
    pub fn since(&self, earlier: &HeapSnapshot) -> HeapActivity {
        let calls = |s: &HeapSnapshot| s.allocations + s.reallocations;
        HeapActivity {
            allocations: calls(self).saturating_sub(calls(earlier)),
            frees: self.frees.saturating_sub(earlier.frees),
            bytes_allocated: self.bytes_allocated.saturating_sub(earlier.bytes_allocated),
            peak_live_bytes: self.peak_live_bytes,
        }
    }
}

/// The heap calls of one phase (a burst, a latency reading).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeapActivity {
    /// Blocks made or resized.
    pub allocations: u64,
    pub frees: u64,
    pub bytes_allocated: u64,
    /// The most live bytes during the phase (its peak was reset first).
    pub peak_live_bytes: u64,
}

impl HeapActivity {
    pub fn allocations_per_request(&self, requests: usize) -> Option<f64> {
        (requests > 0).then(|| self.allocations as f64 / requests as f64)
    }

    pub fn bytes_per_request(&self, requests: usize) -> Option<f64> {
        (requests > 0).then(|| self.bytes_allocated as f64 / requests as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> (tempfile::TempDir, HeapCounters) {
        let dir = tempfile::tempdir().unwrap();
        let counters = HeapCounters::create(&dir.path().join("x.heap")).unwrap();
        (dir, counters)
    }

    #[test]
    fn a_page_nothing_counted_into_reads_as_not_counted() {
        let (_dir, counters) = counters();
        assert_eq!(counters.read(), None);
    }

    /// What the library writes, written by hand: the reader sees it.
    #[test]
    fn reads_the_library_layout_and_resets_the_peak_to_the_live_heap() {
        let (_dir, counters) = counters();
        let slots = counters.slots();
        slots[ALLOCATIONS].store(10, Relaxed);
        slots[REALLOCATIONS].store(2, Relaxed);
        slots[FREES].store(4, Relaxed);
        slots[BYTES_ALLOCATED].store(10_000, Relaxed);
        slots[BYTES_FREED].store(4_000, Relaxed);
        slots[PEAK_LIVE].store(9_000, Relaxed);
        slots[PROCESSES].store(1, Relaxed);
        slots[MAGIC].store(MAGIC_VALUE, Relaxed);
        let before = counters.read().unwrap();
        assert_eq!(before.live_bytes(), 6_000);
        counters.reset_peak();
        assert_eq!(counters.read().unwrap().peak_live_bytes, 6_000);
        slots[ALLOCATIONS].store(15, Relaxed);
        slots[BYTES_ALLOCATED].store(12_000, Relaxed);
        let activity = counters.read().unwrap().since(&before);
        assert_eq!(activity.allocations, 5);
        assert_eq!(activity.bytes_allocated, 2_000);
        assert_eq!(activity.allocations_per_request(5), Some(1.0));
        assert_eq!(activity.bytes_per_request(0), None);
    }

    #[test]
    fn a_new_page_replaces_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.heap");
        std::fs::write(&path, vec![0xffu8; 4096]).unwrap();
        let counters = HeapCounters::create(&path).unwrap();
        assert_eq!(counters.read(), None);
    }
}
