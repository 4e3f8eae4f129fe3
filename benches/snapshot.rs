//! What one memory reading costs the harness, so that the sampler stays
//! cheap next to what it measures:
//! - `harness-snapshot/full`: a whole [`MemorySnapshot`] (sysinfo's
//!   `/proc/PID/statm`, then `smaps_rollup`, `status` and `stat`), as taken
//!   before and after every burst;
//! - `harness-snapshot/rss-vms`: the RSS and VMS reading that Criterion's
//!   memory benchmarks repeat.
//!
//! Both read the harness's own process, which maps more memory and runs more
//! threads than any of the servers (`smaps_rollup` walks every mapping), so
//! a server's reading costs at most this much.
//!
//! [`MemorySnapshot`]: framework_bench::measure::memory::MemorySnapshot

use criterion::{Criterion, criterion_group, criterion_main};
use framework_bench::measure::memory::{ProcSampler, Sampler};

fn snapshot_cost(c: &mut Criterion) {
    let pid = std::process::id();
    let mut group = c.benchmark_group("harness-snapshot");
    // Made inside the closures: setup code here would run even in `--list`.
    let mut sampler: Option<ProcSampler> = None;
    group.bench_function("full", |b| {
        let sampler = sampler.get_or_insert_with(new_sampler);
        b.iter(|| sampler.snapshot(pid).expect("the harness can read itself"));
    });
    group.bench_function("rss-vms", |b| {
        let sampler = sampler.get_or_insert_with(new_sampler);
        b.iter(|| sampler.rss_vms(pid).expect("the harness can read itself"));
    });
    group.finish();
}

fn new_sampler() -> ProcSampler {
    ProcSampler::new().expect("sysinfo can read /proc")
}

criterion_group!(benches, snapshot_cost);
criterion_main!(benches);
