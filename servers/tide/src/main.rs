//! framework-bench server for tide: see `servers/README.md` for the contract.
//!
//! tide 0.16's own `listen` never sets TCP_NODELAY and offers no way to stop
//! accepting. This file runs the same accept loop as tide's `TcpListener`
//! (`tide/src/listener/tcp_listener.rs`: `async_h1::accept` around
//! `Server::respond`, one task per connection) so that SIGTERM can stop it
//! and `--nodelay` can set TCP_NODELAY; without `--nodelay`, connections are
//! exactly as tide leaves them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_std::net::{TcpListener, TcpStream};
use async_std::task;
use futures_lite::FutureExt;
use serde::Serialize;
use server_contract::{Args, JSON_MESSAGE, SHUTDOWN_GRACE, announce, exit_with_error, greeting};
use tide::{Body, Request, Response};

const NAME: &str = "server-tide";

/// tide's default text mime prints as `text/plain;charset=utf-8`; the
/// contract's bytes have a space.
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

fn main() {
    let args = Args::from_env_or_exit(NAME);
    if let Some(workers) = args.workers {
        // SAFETY: no other thread exists yet; async-std reads the variable
        // once, when its executor first starts.
        unsafe { std::env::set_var("ASYNC_STD_THREAD_COUNT", workers.to_string()) };
    }
    task::block_on(serve(args));
}

/// async-std binds with std's backlog, 128, and cannot choose another; on a
/// socket that already listens, Linux's listen(2) only updates the backlog.
fn set_backlog(listener: &impl std::os::fd::AsRawFd, backlog: u32) -> std::io::Result<()> {
    let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
    // SAFETY: listen(2) on a socket that `listener` owns and keeps open.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn app() -> tide::Server<()> {
    let mut app = tide::new();
    app.at("/hello/:name").get(|req: Request<()>| async move {
        let name = req.param("name")?;
        Ok(Response::builder(200)
            .body(greeting(name))
            .header("content-type", TEXT_PLAIN)
            .build())
    });
    app.at("/json").get(|_| async {
        let body = Body::from_json(&Message {
            message: JSON_MESSAGE,
        })?;
        Ok(Response::builder(200).body(body).build())
    });
    app
}

async fn serve(args: Args) {
    let app = app();
    let listener = TcpListener::bind(args.addr()).await.unwrap_or_else(|err| {
        exit_with_error(NAME, &format!("cannot bind {}: {err}", args.addr()), 1)
    });
    if let Some(backlog) = args.backlog {
        set_backlog(&listener, backlog.get()).unwrap_or_else(|err| {
            let message = format!("cannot set backlog {backlog} on {}: {err}", args.addr());
            exit_with_error(NAME, &message, 1)
        });
    }
    let addr = listener
        .local_addr()
        .unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
    let stop = shutdown_signal();
    let in_flight = Arc::new(AtomicUsize::new(0));
    announce(addr);
    loop {
        let accepted = async { Some(listener.accept().await) }
            .or(async {
                let _ = stop.recv().await;
                None
            })
            .await;
        match accepted {
            None => break,
            Some(Ok((stream, _))) => {
                if args.nodelay {
                    let _ = stream.set_nodelay(true);
                }
                handle_connection(app.clone(), stream, Arc::clone(&in_flight));
            }
            // tide pauses on errors that are not transient (e.g. EMFILE).
            Some(Err(_)) => task::sleep(Duration::from_millis(500)).await,
        }
    }
    drain(&in_flight).await;
}

fn handle_connection(app: tide::Server<()>, stream: TcpStream, in_flight: Arc<AtomicUsize>) {
    task::spawn(async move {
        let local_addr = stream.local_addr().ok();
        let peer_addr = stream.peer_addr().ok();
        let _ = async_h1::accept(stream, |mut req| {
            let app = app.clone();
            let in_flight = Arc::clone(&in_flight);
            async move {
                in_flight.fetch_add(1, Ordering::SeqCst);
                req.set_local_addr(local_addr);
                req.set_peer_addr(peer_addr);
                let res = app.respond(req).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                res
            }
        })
        .await;
    });
}

/// Waits until no request is being handled, or the grace period is over.
async fn drain(in_flight: &AtomicUsize) {
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        task::sleep(Duration::from_millis(5)).await;
    }
}

/// A channel that receives once SIGTERM or SIGINT arrives.
fn shutdown_signal() -> async_std::channel::Receiver<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])
        .unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
    let (tx, rx) = async_std::channel::bounded(1);
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = tx.send_blocking(());
        }
    });
    rx
}
