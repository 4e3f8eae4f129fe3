//! The client's own ceiling: a trivial HTTP/1.1 responder in the harness,
//! a loopback socket that answers every request with canned bytes, with
//! one thread (and event loop) per server CPU, pinned there. Measured with
//! the same client and connections as a server, it shows how fast the
//! client can go at all: a server's figure near it measured the client.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::conditions::{CpuList, pin_current_thread};
use crate::error::{Error, Result};

/// The canned answer: `/hello/World`'s body as the contract gives it.
fn canned_response() -> Vec<u8> {
    let body = server_contract::greeting("World");
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A running responder; stopped (its threads joined) on drop.
pub struct Responder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
}

impl Responder {
    /// Listens on 127.0.0.1 and serves from one thread per CPU of `cpus`
    /// (or one unpinned thread). A failure part-way stops the threads
    /// already started.
    pub fn start(cpus: Option<&CpuList>) -> Result<Responder> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(Error::Responder)?;
        listener.set_nonblocking(true).map_err(Error::Responder)?;
        let addr = listener.local_addr().map_err(Error::Responder)?;
        let stop = Arc::new(AtomicBool::new(false));
        let placements: Vec<Option<usize>> = match cpus {
            Some(cpus) if !cpus.is_empty() => cpus.cpus().iter().copied().map(Some).collect(),
            _ => vec![None],
        };
        // Built first, so that an error below drops it and stops what runs.
        let mut responder = Responder {
            addr,
            stop,
            threads: Vec::new(),
            accepted: Arc::new(AtomicUsize::new(0)),
        };
        for (i, cpu) in placements.into_iter().enumerate() {
            let listener = listener.try_clone().map_err(Error::Responder)?;
            let stop = Arc::clone(&responder.stop);
            let accepted = Arc::clone(&responder.accepted);
            let thread = std::thread::Builder::new()
                .name(format!("fb-responder-{i}"))
                .spawn(move || serve(listener, cpu, &stop, &accepted))
                .map_err(Error::Responder)?;
            responder.threads.push(thread);
        }
        Ok(responder)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections it has accepted.
    pub fn connections_accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake every accept loop so it sees the flag.
        for _ in &self.threads {
            let _ = std::net::TcpStream::connect(self.addr);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// One responder thread: pinned, one event loop accepting connections and
/// answering each request on them.
fn serve(listener: TcpListener, cpu: Option<usize>, stop: &AtomicBool, accepted: &AtomicUsize) {
    if let Some(cpu) = cpu {
        let _ = pin_current_thread(&CpuList::new(vec![cpu]));
    }
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let response: Arc<[u8]> = canned_response().into();
        while !stop.load(Ordering::Relaxed) {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of files, say: give the connections time to close
                // rather than spin on the server CPU.
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                continue;
            };
            accepted.fetch_add(1, Ordering::Relaxed);
            let response = Arc::clone(&response);
            tokio::task::spawn_local(answer(stream, response));
        }
    });
}

/// Answers every request on a connection until the client closes it: a
/// request ends at its blank line (the client sends no body).
async fn answer(mut stream: tokio::net::TcpStream, response: Arc<[u8]>) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 1024];
    // How much of the blank line `\r\n\r\n` the bytes so far end with.
    let mut matched = 0;
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut ends = 0;
        for &byte in &buf[..n] {
            matched = match (matched, byte) {
                (0 | 2, b'\r') | (1 | 3, b'\n') => matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if matched == 4 {
                ends += 1;
                matched = 0;
            }
        }
        for _ in 0..ends {
            if stream.write_all(&response).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::client::LoadClient;
    use crate::load::hammer::LoadPlan;
    use std::time::Duration;

    #[test]
    fn answers_the_client_with_the_contracts_body_and_stops() {
        let responder = Responder::start(None).unwrap();
        let mut plan = LoadPlan::keep_alive(500, 8, Duration::from_secs(5));
        plan.mix = crate::load::Mix::single(crate::load::request::contract().remove(0));
        let report = LoadClient::unpinned(1)
            .run(responder.addr(), &plan)
            .unwrap();
        assert_eq!(report.successes, 500, "{report}");
        let addr = responder.addr();
        drop(responder);
        assert!(std::net::TcpStream::connect(addr).is_err(), "stopped");
    }
}
