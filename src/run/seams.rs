//! What a run does to the world outside the harness, behind traits: launch a
//! server process ([`Launcher`], [`Server`]), read its memory
//! ([`Sampler`](crate::measure::memory::Sampler)) and send it load
//! ([`Load`], [`Sequential`]). The real implementations here use processes,
//! `/proc` and sockets; the orchestration's tests drive whole plans through
//! scripted fakes of the same traits, without a process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::conditions::{CpuList, Placement, allowed_cpus, pin_current_thread};
use crate::error::Result;
use crate::load::Route;
use crate::load::client::{KeepAlive, LoadClient};
use crate::load::hammer::{HammerReport, LoadPlan};
use crate::load::pool::Pool;
use crate::measure::heap::HeapCounters;
use crate::run::timed::Timed;
use crate::server::build::{Builder, build_heap_library};
use crate::server::built::BuiltServer;
use crate::server::manifest::ServerSpec;
use crate::server::process::{LaunchOptions, ServerProcess, Stopped};
use crate::workspace::Workspace;

/// Builds servers and starts their processes.
pub trait Launcher {
    /// Builds the server `spec` describes (once per run; later calls reuse
    /// the build) and resolves its version.
    fn build(&mut self, spec: &ServerSpec) -> Result<BuiltServer>;

    /// Starts one process of a built server and waits until it is ready.
    fn start(&mut self, built: &BuiltServer, options: &LaunchOptions) -> Result<Box<dyn Server>>;
}

/// One running server process, from ready to reaped.
pub trait Server {
    fn pid(&self) -> u32;
    fn addr(&self) -> SocketAddr;
    /// From spawn to the first 200 of the readiness probe.
    fn startup_time(&self) -> Duration;
    /// An error naming the exit status if the process has ended; `during`
    /// says what the harness was doing.
    fn check_alive(&mut self, during: &str) -> Result<()>;
    /// SIGTERM, a deadline, then SIGKILL; how the process ended.
    fn shutdown(self: Box<Self>) -> Result<Stopped>;
    /// The page its heap is counted into; `None` when it is not counted.
    fn heap(&self) -> Option<Arc<HeapCounters>> {
        None
    }
}

/// Sends load to a server.
pub trait Load {
    /// Runs `plan` against `addr` on the client's threads.
    fn run(&self, addr: SocketAddr, plan: &LoadPlan) -> Result<HammerReport>;

    /// As [`Load::run`], calling `gate` once the client is set up (its
    /// connections open) and before it sends anything.
    fn run_gated(
        &self,
        addr: SocketAddr,
        plan: &LoadPlan,
        gate: &mut dyn FnMut(),
    ) -> Result<HammerReport> {
        gate();
        self.run(addr, plan)
    }

    /// Opens the sequential latency client's keep-alive connection.
    fn connect(&self, addr: SocketAddr, plan: &LoadPlan) -> Result<Box<dyn Sequential>>;

    /// Client threads with `plan`'s connections open, kept for the
    /// samples of one benchmark (the sweep's closed loops).
    fn pool(&self, addr: SocketAddr, plan: &LoadPlan) -> Result<Box<dyn Pooled>>;

    /// How many client threads [`Load::run`] uses.
    fn threads(&self) -> usize;
}

/// Client threads and connections kept across samples.
pub trait Pooled {
    /// Sends `plan.n_requests` requests over the kept connections.
    fn run(&mut self, plan: &LoadPlan) -> HammerReport;
}

impl Pooled for Pool {
    fn run(&mut self, plan: &LoadPlan) -> HammerReport {
        Pool::run(self, plan)
    }
}

/// A keep-alive connection that sends one request at a time.
pub trait Sequential {
    /// Sends `plan.n_requests` requests, one after another.
    fn run(&mut self, plan: &LoadPlan) -> HammerReport;
}

/// The client side of one timed benchmark, kept across its samples: the
/// sequential client's connection for a one-at-a-time latency benchmark,
/// the pool of threads and connections for a sweep step.
#[derive(Default)]
pub struct BenchClient {
    connection: Option<(Route, Box<dyn Sequential>)>,
    pool: Option<(usize, Box<dyn Pooled>)>,
}

impl BenchClient {
    /// One sample of `timed` to `addr`, over what is kept (made on the
    /// first sample, or when the route or connection count changes).
    pub fn send(
        &mut self,
        load: &dyn Load,
        addr: SocketAddr,
        timed: Timed,
        plan: &LoadPlan,
    ) -> Result<HammerReport> {
        match timed {
            Timed::Latency(route) if plan.concurrency == 1 => {
                let connection = match self.connection.take() {
                    Some((r, connection)) if r == route => connection,
                    _ => load.connect(addr, plan)?,
                };
                Ok(self.connection.insert((route, connection)).1.run(plan))
            }
            Timed::Throughput(connections) => {
                let pool = match self.pool.take() {
                    Some((c, pool)) if c == connections => pool,
                    other => {
                        // Another count's connections close first.
                        drop(other);
                        load.pool(addr, plan)?
                    }
                };
                Ok(self.pool.insert((connections, pool)).1.run(plan))
            }
            Timed::Latency(_) => load.run(addr, plan),
        }
    }

    /// A sweep step is over: its connections close, so that none is held
    /// open through the next step or the rate runs.
    pub fn end_sweep_step(&mut self) {
        self.pool = None;
    }

    /// Closes everything kept.
    pub fn close(&mut self) {
        self.connection = None;
        self.pool = None;
    }
}

/// The real launcher: cargo or venv builds, and guarded child processes.
pub struct ProcessLauncher {
    builder: Builder,
    workspace: Workspace,
    /// The heap counter's build, once tried: its path, or why it failed.
    heap_library: Option<std::result::Result<PathBuf, String>>,
}

impl ProcessLauncher {
    pub fn new(workspace: &Workspace) -> ProcessLauncher {
        ProcessLauncher {
            builder: Builder::new(workspace),
            workspace: workspace.clone(),
            heap_library: None,
        }
    }

    /// The heap counter, built on first use. A failed build is told once;
    /// the servers then run uncounted, and say so.
    fn heap_library(&mut self) -> Option<PathBuf> {
        let workspace = &self.workspace;
        let built = self.heap_library.get_or_insert_with(|| {
            build_heap_library(workspace).map_err(|err| {
                eprintln!("framework-bench: the heap will not be counted: {err}");
                err.to_string()
            })
        });
        built.as_ref().ok().cloned()
    }
}

impl Launcher for ProcessLauncher {
    fn build(&mut self, spec: &ServerSpec) -> Result<BuiltServer> {
        self.builder.build(spec)
    }

    fn start(&mut self, built: &BuiltServer, options: &LaunchOptions) -> Result<Box<dyn Server>> {
        let mut options = options.clone();
        if options.count_heap && options.heap_library.is_none() {
            options.heap_library = self.heap_library();
        }
        Ok(Box::new(ServerProcess::start(built, &options)?))
    }
}

impl Server for ServerProcess {
    fn pid(&self) -> u32 {
        ServerProcess::pid(self)
    }

    fn addr(&self) -> SocketAddr {
        ServerProcess::addr(self)
    }

    fn startup_time(&self) -> Duration {
        ServerProcess::startup_time(self)
    }

    fn check_alive(&mut self, during: &str) -> Result<()> {
        ServerProcess::check_alive(self, during)
    }

    fn shutdown(self: Box<Self>) -> Result<Stopped> {
        ServerProcess::shutdown(*self)
    }

    fn heap(&self) -> Option<Arc<HeapCounters>> {
        ServerProcess::heap(self)
    }
}

/// The real load: the event-loop client (one pinned thread per client CPU),
/// and the sequential client run on the calling thread, pinned to the
/// client CPUs while it sends. Between phases the calling thread gets every
/// CPU back, so that Criterion's analysis (and the threads it starts) is not
/// confined to the client's share.
pub struct ClientLoad {
    load: LoadClient,
    /// The client CPUs while a phase runs, and every CPU after; `None` when
    /// nothing is pinned.
    pins: Option<(CpuList, CpuList)>,
}

impl ClientLoad {
    pub fn new(placement: &Placement) -> ClientLoad {
        let load = if placement.pinned {
            LoadClient::pinned(placement.client_cpus.clone())
        } else {
            LoadClient::unpinned(placement.client_cpus.len())
        };
        let pins = placement
            .pinned
            .then(|| (placement.client_cpus.clone(), allowed_cpus()));
        ClientLoad { load, pins }
    }
}

impl Load for ClientLoad {
    fn run(&self, addr: SocketAddr, plan: &LoadPlan) -> Result<HammerReport> {
        self.load.run(addr, plan)
    }

    fn run_gated(
        &self,
        addr: SocketAddr,
        plan: &LoadPlan,
        gate: &mut dyn FnMut(),
    ) -> Result<HammerReport> {
        self.load.run_gated(addr, plan, gate)
    }

    fn connect(&self, addr: SocketAddr, plan: &LoadPlan) -> Result<Box<dyn Sequential>> {
        let connection = KeepAlive::new(addr, &plan.mix, plan.timeout)?;
        Ok(Box::new(PinnedKeepAlive {
            connection,
            pins: self.pins.clone(),
        }))
    }

    fn pool(&self, addr: SocketAddr, plan: &LoadPlan) -> Result<Box<dyn Pooled>> {
        Ok(Box::new(self.load.pool(addr, plan)?))
    }

    fn threads(&self) -> usize {
        self.load.threads()
    }
}

/// The sequential client, run pinned to the client CPUs.
struct PinnedKeepAlive {
    connection: KeepAlive,
    pins: Option<(CpuList, CpuList)>,
}

impl Sequential for PinnedKeepAlive {
    fn run(&mut self, plan: &LoadPlan) -> HammerReport {
        let connection = &mut self.connection;
        pinned(self.pins.as_ref(), || connection.run(plan))
    }
}

/// Runs `phase` on the calling thread, pinned to the client CPUs of `pins`.
fn pinned<T>(pins: Option<&(CpuList, CpuList)>, phase: impl FnOnce() -> T) -> T {
    // Best effort: an unpinned phase still measures, and the pinning test
    // checks the affinity.
    let _restore = pins.map(|(client, all)| {
        let _ = pin_current_thread(client);
        RestoreCpus(all)
    });
    phase()
}

/// Gives the calling thread every CPU back when a phase ends, also when it
/// ends by a panic.
struct RestoreCpus<'a>(&'a CpuList);

impl Drop for RestoreCpus<'_> {
    fn drop(&mut self) {
        let _ = pin_current_thread(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequential_client_runs_on_the_client_cpus_only() {
        let allowed = allowed_cpus();
        if allowed.len() < 2 {
            eprintln!("one CPU only: nothing to pin apart");
            return;
        }
        let placement = Placement::choose(true, None, None, &allowed).unwrap();
        let load = ClientLoad::new(&placement);
        let affinity = || {
            let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
            let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:"));
            line.unwrap().split_whitespace().nth(1).unwrap().to_owned()
        };
        let during = pinned(load.pins.as_ref(), affinity);
        assert_eq!(during, placement.client_cpus.to_string(), "during a phase");
        assert_eq!(affinity(), allowed.to_string(), "the caller between phases");
        assert_eq!(load.threads(), placement.client_cpus.len());
    }
}
