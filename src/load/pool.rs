//! Client threads kept across the samples of one benchmark: each with its
//! event loop and its keep-alive connections, opened before the first
//! sample. A sample then only sends: no thread is spawned, no runtime
//! built and no connection opened or closed while Criterion times it, and
//! its clock runs from the start line to the last answer.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::conditions::{CpuList, pin_current_thread};
use crate::error::Result;
use crate::load::client::{
    LoadClient, StartLine, Target, check_loopback, connection, open_connections, part,
};
use crate::load::hammer::{Collector, HammerReport, LoadPlan};

type Stream = Option<tokio::net::TcpStream>;

/// What one thread sends in one sample.
struct Job {
    target: Arc<Target>,
    requests: usize,
    line: Arc<StartLine>,
}

/// A thread of the pool: where its jobs go and its answers come from.
struct Worker {
    jobs: Option<Sender<Job>>,
    done: Receiver<(Collector, Instant)>,
    handle: Option<JoinHandle<()>>,
}

/// The pool; its threads end, and their connections close, when it drops.
pub struct Pool {
    addr: SocketAddr,
    workers: Vec<Worker>,
}

impl LoadClient {
    /// Threads for closed-loop keep-alive samples of `plan`'s shape (its
    /// connections and timeout) to a loopback `addr`; each opens its
    /// connections before it takes the first sample, at most one timeout
    /// each.
    pub fn pool(&self, addr: SocketAddr, plan: &LoadPlan) -> Result<Pool> {
        check_loopback(addr)?;
        let threads = self.threads().clamp(1, plan.concurrency.max(1));
        let workers = (0..threads)
            .map(|t| {
                let connections = part(plan.concurrency, threads, t).max(1);
                spawn_worker(addr, connections, plan.timeout, self.cpu_of(t), t)
            })
            .collect();
        Ok(Pool { addr, workers })
    }
}

fn spawn_worker(
    addr: SocketAddr,
    connections: usize,
    timeout: Duration,
    cpu: Option<usize>,
    index: usize,
) -> Worker {
    let (jobs, queue) = channel::<Job>();
    let (answers, done) = channel();
    let handle = std::thread::Builder::new()
        .name(format!("fb-pool-{index}"))
        .spawn(move || worker(addr, connections, timeout, cpu, &queue, &answers))
        .ok();
    Worker {
        jobs: handle.is_some().then_some(jobs),
        done,
        handle,
    }
}

/// One pool thread: pinned, its runtime and connections made once, then a
/// sample per job until the pool drops.
fn worker(
    addr: SocketAddr,
    connections: usize,
    timeout: Duration,
    cpu: Option<usize>,
    jobs: &Receiver<Job>,
    answers: &Sender<(Collector, Instant)>,
) {
    if let Some(cpu) = cpu {
        // Best effort, as the one-run client's threads.
        let _ = pin_current_thread(&CpuList::new(vec![cpu]));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let mut streams: Vec<Stream> = match &runtime {
        Ok(runtime) => runtime.block_on(open_connections(addr, connections, timeout)),
        Err(_) => (0..connections).map(|_| None).collect(),
    };
    while let Ok(job) = jobs.recv() {
        let ticket = job.line.ticket();
        let Ok(runtime) = &runtime else {
            // Its requests count as unfinished.
            drop(ticket);
            let _ = answers.send((Collector::new(&job.target.plan), Instant::now()));
            continue;
        };
        let opened = ticket.arrive();
        let (collector, kept) = sample(runtime, &job, std::mem::take(&mut streams), opened);
        streams = kept;
        if answers.send((collector, Instant::now())).is_err() {
            return;
        }
    }
}

/// One sample's requests over the thread's connections; the collector and
/// the connections, kept for the next sample.
fn sample(
    runtime: &tokio::runtime::Runtime,
    job: &Job,
    streams: Vec<Stream>,
    opened: Instant,
) -> (Collector, Vec<Stream>) {
    let collector = Rc::new(RefCell::new(Collector::new(&job.target.plan)));
    let kept: Rc<RefCell<Vec<Stream>>> = Rc::new(RefCell::new(Vec::new()));
    kept.borrow_mut().resize_with(streams.len(), || None);
    let local = tokio::task::LocalSet::new();
    let n = streams.len();
    let stop_taking_at = opened + job.target.sending_window();
    for (c, stream) in streams.into_iter().enumerate() {
        let requests = part(job.requests, n, c);
        let (target, collector, kept) = (
            Arc::clone(&job.target),
            Rc::clone(&collector),
            Rc::clone(&kept),
        );
        local.spawn_local(async move {
            let stream = connection(&target, &collector, stream, requests, None, stop_taking_at);
            let stream = stream.await;
            if let Some(slot) = kept.borrow_mut().get_mut(c) {
                *slot = stream;
            }
        });
    }
    runtime.block_on(local);
    let collector = collector.replace(Collector::new(&job.target.plan));
    (collector, kept.take())
}

impl Pool {
    /// Sends `plan`'s requests over the pool's connections (a connection
    /// lost on the way is opened again, as the one-run client does) and
    /// waits for every answer. The clock runs from the start line to the
    /// last answer.
    pub fn run(&mut self, plan: &LoadPlan) -> HammerReport {
        let target = Arc::new(Target::new(self.addr, plan));
        let line = Arc::new(StartLine::default());
        let threads = self.workers.len();
        let mut sent = Vec::with_capacity(threads);
        for (t, worker) in self.workers.iter().enumerate() {
            let job = Job {
                target: Arc::clone(&target),
                requests: part(plan.n_requests, threads, t),
                line: Arc::clone(&line),
            };
            sent.push(
                worker
                    .jobs
                    .as_ref()
                    .is_some_and(|jobs| jobs.send(job).is_ok()),
            );
        }
        let started = line.open_when_ready(sent.iter().filter(|s| **s).count());
        let mut merged = Collector::new(plan);
        let mut last = started;
        for (worker, accepted) in self.workers.iter().zip(sent) {
            // A thread that died answers nothing: its share is unfinished.
            if let (true, Ok((collector, finished))) = (accepted, worker.done.recv()) {
                merged.merge(collector);
                last = last.max(finished);
            }
        }
        merged.finish(last.saturating_duration_since(started))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            // Closing the queue ends the thread's loop.
            worker.jobs = None;
        }
        for worker in &mut self.workers {
            if let Some(handle) = worker.handle.take() {
                let _ = handle.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::responder::Responder;

    #[test]
    fn a_pool_keeps_its_connections_across_samples() {
        let responder = Responder::start(None).unwrap();
        let client = LoadClient::unpinned(2);
        let shape = LoadPlan::keep_alive(16, 4, Duration::from_secs(5));
        let mut pool = client.pool(responder.addr(), &shape).unwrap();
        for round in 1..=3 {
            let plan = LoadPlan::keep_alive(4 * round, 4, Duration::from_secs(5));
            let report = pool.run(&plan);
            assert_eq!(report.successes, 4 * round, "{report}");
            assert!(report.wall_time > Duration::ZERO);
        }
        assert_eq!(
            responder.connections_accepted(),
            4,
            "opened once, before the first sample"
        );
    }
}
