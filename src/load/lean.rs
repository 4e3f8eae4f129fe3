//! A lean closed-loop HTTP/1.1 client: one current-thread runtime per
//! client thread, each connection sending prebuilt request bytes and
//! reading the answer with [`crate::load::http1`], its results kept in the
//! thread's own histogram and counts, merged after the clock stops. Nothing
//! is shared between requests: no channel, no lock, no atomic.
//!
//! Not yet used by the suite's timed phases (issue 14 wires it in); it is
//! here with its tests and can be measured on its own.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::load::hammer::latency_histogram;
use crate::load::http1::{self, Parsed};

/// A closed loop: `connections` connections, each sending its next request
/// when the answer to the last has arrived, `n_requests` in all.
#[derive(Debug, Clone)]
pub struct ClosedLoop {
    pub addr: SocketAddr,
    pub path: String,
    pub expected_body: Vec<u8>,
    pub connections: usize,
    pub n_requests: usize,
    /// Client threads, each with its own runtime and share of connections.
    pub threads: usize,
    /// Reuse connections; otherwise one new connection per request.
    pub keep_alive: bool,
    /// Per request.
    pub timeout: Duration,
}

/// What a closed loop came to.
#[derive(Debug)]
pub struct LoopReport {
    pub successes: usize,
    /// Failure kind -> count: `500`, `200-wrong-body`, `timeout`, `refused`,
    /// `closed`, `bad-response`, ...
    pub failures: BTreeMap<String, usize>,
    pub wall_time: Duration,
    /// Latency of every request that got a whole response, ns.
    pub latency: Histogram<u64>,
}

impl LoopReport {
    pub fn requests_per_second(&self) -> f64 {
        self.successes as f64 / self.wall_time.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// One thread's results, merged after the clock stops.
struct Tally {
    successes: usize,
    failures: BTreeMap<String, usize>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            successes: 0,
            failures: BTreeMap::new(),
            latency: latency_histogram(),
        }
    }

    fn fail(&mut self, kind: &str) {
        *self.failures.entry(kind.to_owned()).or_default() += 1;
    }
}

/// Runs the loop; blocks until every request is answered, failed or timed
/// out.
pub fn run(plan: &ClosedLoop) -> LoopReport {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\n{}\r\n",
        plan.path,
        plan.addr,
        if plan.keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        }
    )
    .into_bytes();
    let threads = plan.threads.clamp(1, plan.connections.max(1));
    let started = Instant::now();
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let connections = share(plan.connections, threads, t);
                let requests = share(plan.n_requests, threads, t);
                let request = &request;
                scope.spawn(move || run_thread(plan, request, connections, requests))
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let wall_time = started.elapsed();
    merge(tallies, wall_time)
}

/// Part `index` of `total` split into `parts` near-equal parts.
fn share(total: usize, parts: usize, index: usize) -> usize {
    total / parts + usize::from(index < total % parts)
}

fn merge(tallies: Vec<Tally>, wall_time: Duration) -> LoopReport {
    let mut report = LoopReport {
        successes: 0,
        failures: BTreeMap::new(),
        wall_time,
        latency: latency_histogram(),
    };
    for tally in tallies {
        report.successes += tally.successes;
        for (kind, n) in tally.failures {
            *report.failures.entry(kind).or_default() += n;
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = report.latency.add(&tally.latency);
    }
    report
}

fn run_thread(plan: &ClosedLoop, request: &[u8], connections: usize, requests: usize) -> Tally {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let Ok(runtime) = runtime else {
        let mut tally = Tally::new();
        *tally.failures.entry("runtime".into()).or_default() += requests;
        return tally;
    };
    runtime.block_on(async {
        let local = tokio::task::LocalSet::new();
        let tasks: Vec<_> = (0..connections)
            .map(|c| {
                let n = share(requests, connections.max(1), c);
                local.spawn_local(run_connection(plan.clone(), request.to_vec(), n))
            })
            .collect();
        local
            .run_until(async {
                let mut tally = Tally::new();
                for task in tasks {
                    if let Ok(t) = task.await {
                        tally.successes += t.successes;
                        for (kind, n) in t.failures {
                            *tally.failures.entry(kind).or_default() += n;
                        }
                        let _ = tally.latency.add(&t.latency);
                    }
                }
                tally
            })
            .await
    })
}

async fn run_connection(plan: ClosedLoop, request: Vec<u8>, n_requests: usize) -> Tally {
    let mut tally = Tally::new();
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(1024);
    for _ in 0..n_requests {
        let sent_at = Instant::now();
        let outcome = tokio::time::timeout(
            plan.timeout,
            one_request(&plan, &request, &mut stream, &mut buf),
        )
        .await;
        match outcome {
            Err(_) => {
                stream = None;
                tally.fail("timeout");
            }
            Ok(Err(kind)) => {
                stream = None;
                tally.fail(kind);
            }
            Ok(Ok(response)) => {
                let ns = u64::try_from(sent_at.elapsed().as_nanos()).unwrap_or(u64::MAX);
                tally.latency.saturating_record(ns.max(1));
                if !plan.keep_alive || response.close {
                    stream = None;
                }
                match (response.status, response.body == plan.expected_body) {
                    (200, true) => tally.successes += 1,
                    (200, false) => tally.fail("200-wrong-body"),
                    (status, _) => tally.fail(&status.to_string()),
                }
            }
        }
    }
    tally
}

/// Sends one request (connecting first if needed) and reads its response.
async fn one_request(
    plan: &ClosedLoop,
    request: &[u8],
    stream: &mut Option<TcpStream>,
    buf: &mut Vec<u8>,
) -> Result<http1::Response, &'static str> {
    if stream.is_none() {
        let connected = TcpStream::connect(plan.addr)
            .await
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::ConnectionRefused => "refused",
                _ => "connect",
            })?;
        let _ = connected.set_nodelay(true);
        *stream = Some(connected);
    }
    let Some(socket) = stream.as_mut() else {
        return Err("connect");
    };
    socket.write_all(request).await.map_err(|_| "write")?;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.map_err(|_| "read")?;
        if n == 0 {
            return http1::parse_at_eof(buf).map_err(|_| "closed");
        }
        buf.extend_from_slice(&chunk[..n]);
        match http1::parse(buf) {
            Ok(Parsed::Complete(response)) => return Ok(response),
            Ok(Parsed::Partial) => {}
            Err(_) => return Err("bad-response"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up() {
        for (total, parts) in [(10, 3), (2, 4), (2000, 7), (0, 2)] {
            let sum: usize = (0..parts).map(|i| share(total, parts, i)).sum();
            assert_eq!(sum, total, "{total}/{parts}");
        }
    }

    /// A loopback server answering every request on a connection with
    /// `response`, for `n` connections.
    fn canned_server(response: &'static [u8]) -> SocketAddr {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 || stream.write_all(response).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    fn plan(addr: SocketAddr, keep_alive: bool) -> ClosedLoop {
        ClosedLoop {
            addr,
            path: "/hello/World".into(),
            expected_body: b"Hello, World!".to_vec(),
            connections: 4,
            n_requests: 200,
            threads: 2,
            keep_alive,
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn every_request_is_answered_and_checked() {
        let ok = canned_server(b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nHello, World!");
        for keep_alive in [true, false] {
            let report = run(&plan(ok, keep_alive));
            assert_eq!(report.successes, 200, "{:?}", report.failures);
            assert_eq!(report.latency.len(), 200);
        }
        let wrong = canned_server(b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nHello, World?");
        let report = run(&plan(wrong, true));
        assert_eq!(report.failures.get("200-wrong-body"), Some(&200));
    }

    #[test]
    fn a_closed_port_is_refused_not_a_hang() {
        let addr = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let report = run(&plan(addr, true));
        assert_eq!(report.successes, 0);
        assert_eq!(report.failures.get("refused"), Some(&200));
    }
}
