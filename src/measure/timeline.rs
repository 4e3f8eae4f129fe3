//! A server's memory over a burst and the settle after it: RSS (and the
//! live heap, when it is counted) read about every millisecond by a thread
//! of the harness, on the client's CPUs, so the server's own CPU is left
//! alone. A sample costs one `pread` of `/proc/PID/statm` and two loads
//! from the heap page; the thread measures its own CPU time, which the
//! record keeps beside the curve.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::conditions::{CpuList, pin_current_thread};
use crate::measure::heap::HeapCounters;

/// How often the sampler reads.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(1);

/// The most samples one timeline takes (a minute at the interval): the
/// sampler stops there even if nobody stops it.
pub const MAX_SAMPLES: usize = 60_000;

/// The most points a timeline keeps in the record: each is the largest
/// RSS of its stretch of samples, so a peak is never smoothed away.
pub const KEPT_POINTS: usize = 1_000;

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Microseconds since the burst began.
    pub at_us: u64,
    pub rss_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_heap_bytes: Option<u64>,
}

/// A burst's memory over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// When the burst's last answer came, microseconds from its start.
    pub burst_end_us: u64,
    /// Samples taken (before keeping at most [`KEPT_POINTS`]).
    pub samples_taken: usize,
    /// The sampler thread's own CPU time: what the curve cost.
    pub sampler_cpu_ns: u64,
    pub samples: Vec<Sample>,
}

impl Timeline {
    /// The sampler's CPU time as a share of the time it ran.
    pub fn sampler_share(&self) -> f64 {
        let span_us = self.samples.last().map_or(0, |s| s.at_us).max(1);
        self.sampler_cpu_ns as f64 / (span_us as f64 * 1e3)
    }
}

/// The sampling thread, from the burst's start until [`Sampler::stop`].
pub struct Sampler {
    started: Instant,
    burst_end: Option<Duration>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(Vec<Sample>, u64)>>,
}

impl Sampler {
    /// Starts sampling `pid` now. `None` when its statm cannot be opened.
    pub fn start(
        pid: u32,
        heap: Option<Arc<HeapCounters>>,
        cpus: Option<CpuList>,
    ) -> Option<Sampler> {
        let statm = File::open(format!("/proc/{pid}/statm")).ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("timeline".into())
                .spawn(move || {
                    if let Some(cpus) = cpus {
                        let _ = pin_current_thread(&cpus);
                    }
                    sample_until(&statm, heap.as_deref(), started, &stop)
                })
                .ok()?
        };
        Some(Sampler {
            started,
            burst_end: None,
            stop,
            thread: Some(thread),
        })
    }

    /// The burst's last answer came now.
    pub fn mark_burst_end(&mut self) {
        self.burst_end = Some(self.started.elapsed());
    }

    /// Stops the thread; the timeline, with at most [`KEPT_POINTS`].
    pub fn stop(mut self) -> Option<Timeline> {
        self.stop.store(true, Ordering::Relaxed);
        let (samples, cpu_ns) = self.thread.take()?.join().ok()?;
        Some(Timeline {
            burst_end_us: self.burst_end.map_or(0, |d| d.as_micros() as u64),
            samples_taken: samples.len(),
            sampler_cpu_ns: cpu_ns,
            samples: keep_peaks(&samples, KEPT_POINTS),
        })
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Samples every [`SAMPLE_INTERVAL`] until `stop`, a failed read (the
/// process is gone) or [`MAX_SAMPLES`]; the samples and the thread's CPU
/// time in nanoseconds.
fn sample_until(
    statm: &File,
    heap: Option<&HeapCounters>,
    started: Instant,
    stop: &AtomicBool,
) -> (Vec<Sample>, u64) {
    let page_bytes = page_bytes();
    let mut samples = Vec::with_capacity(4096);
    let mut buf = [0u8; 128];
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) && samples.len() < MAX_SAMPLES {
        let Some(rss_pages) = read_rss_pages(statm, &mut buf) else {
            break;
        };
        samples.push(Sample {
            at_us: started.elapsed().as_micros() as u64,
            rss_bytes: rss_pages * page_bytes,
            live_heap_bytes: heap.and_then(HeapCounters::read).map(|h| h.live_bytes()),
        });
        next += SAMPLE_INTERVAL;
        let now = Instant::now();
        match next.checked_duration_since(now) {
            Some(wait) => std::thread::sleep(wait),
            // Behind (the thread was not scheduled): start again from now.
            None => next = now,
        }
    }
    (samples, thread_cpu_ns())
}

/// statm's second field: resident pages.
fn read_rss_pages(statm: &File, buf: &mut [u8]) -> Option<u64> {
    let n = statm.read_at(buf, 0).ok().filter(|&n| n > 0)?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

fn page_bytes() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// The calling thread's CPU time.
fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a timespec to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0 {
        return 0;
    }
    (now.tv_sec as u64) * 1_000_000_000 + now.tv_nsec as u64
}

/// At most `points` samples: each stretch of samples becomes the one with
/// the largest RSS, at its own time.
pub fn keep_peaks(samples: &[Sample], points: usize) -> Vec<Sample> {
    if samples.len() <= points || points == 0 {
        return samples.to_vec();
    }
    let stretch = samples.len().div_ceil(points);
    samples
        .chunks(stretch)
        .filter_map(|chunk| chunk.iter().max_by_key(|s| s.rss_bytes).copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_us: u64, rss_bytes: u64) -> Sample {
        Sample {
            at_us,
            rss_bytes,
            live_heap_bytes: None,
        }
    }

    #[test]
    fn keeping_fewer_points_keeps_every_peak() {
        let samples: Vec<Sample> = (0..10_000).map(|i| sample(i, i % 997)).collect();
        let kept = keep_peaks(&samples, 100);
        assert!(kept.len() <= 100);
        assert_eq!(kept.iter().map(|s| s.rss_bytes).max(), Some(996));
        assert!(kept.windows(2).all(|w| w[0].at_us < w[1].at_us));
        assert_eq!(keep_peaks(&samples[..50], 100).len(), 50);
    }

    /// The harness itself, sampled: a reading about every interval, from
    /// the start to the stop, each with a real RSS, and no more than one
    /// per interval (the cost is bounded by construction).
    #[test]
    fn samples_through_the_whole_span_at_most_once_per_interval() {
        let mut sampler = Sampler::start(std::process::id(), None, None).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        sampler.mark_burst_end();
        std::thread::sleep(Duration::from_millis(60));
        let span = sampler.started.elapsed();
        let timeline = sampler.stop().unwrap();
        let most = span.as_micros() as usize / SAMPLE_INTERVAL.as_micros() as usize + 2;
        assert!(timeline.samples_taken >= 1, "{timeline:?}");
        assert!(
            timeline.samples_taken <= most,
            "{} > {most}",
            timeline.samples_taken
        );
        assert!(timeline.samples.iter().all(|s| s.rss_bytes > 0));
        assert!(timeline.burst_end_us >= 60_000);
        assert!(timeline.sampler_cpu_ns > 0);
    }

    #[test]
    fn a_process_that_is_gone_gives_no_sampler() {
        assert!(Sampler::start(u32::MAX - 1, None, None).is_none());
    }
}
