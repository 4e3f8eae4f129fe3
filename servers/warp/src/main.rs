//! framework-bench server for warp: see `servers/README.md` for the contract.

use serde::Serialize;
use server_contract::{Args, JSON_MESSAGE, SHUTDOWN_GRACE, announce, exit_with_error, greeting};
use warp::Filter;

const NAME: &str = "server-warp";

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

fn main() {
    let args = Args::from_env_or_exit(NAME);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = args.workers {
        runtime.worker_threads(workers.get());
    }
    let runtime = runtime
        .enable_all()
        .build()
        .unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
    runtime.block_on(serve(args));
}

async fn serve(args: Args) {
    let hello = warp::path!("hello" / String).map(|name: String| greeting(&name));
    let json = warp::path!("json").map(|| {
        warp::reply::json(&Message {
            message: JSON_MESSAGE,
        })
    });
    let routes = warp::get().and(hello.or(json));

    let listener = bind(&args).unwrap_or_else(|err| {
        exit_with_error(NAME, &format!("cannot bind {}: {err}", args.addr()), 1)
    });
    let addr = listener
        .local_addr()
        .unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
    announce(addr);
    warp::serve(routes)
        .incoming(listener)
        .graceful(shutdown_signal())
        .run()
        .await;
}

/// The backlog warp's own `bind` listens with (tokio's `TcpListener::bind`,
/// through mio), kept when `--backlog` is not given.
const WARP_DEFAULT_BACKLOG: u32 = 128;

/// warp's acceptor trait is private, so `--nodelay` is set on the listening
/// socket: Linux copies TCP_NODELAY to every socket it accepts.
fn bind(args: &Args) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    if args.nodelay {
        socket.set_nodelay(true)?;
    }
    socket.bind(args.addr())?;
    socket.listen(args.backlog_or(WARP_DEFAULT_BACKLOG))
}

/// Resolves on SIGTERM or SIGINT, and exits the process if in-flight requests
/// have not finished within the grace period.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term =
        signal(SignalKind::terminate()).unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
    let mut int =
        signal(SignalKind::interrupt()).unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tokio::spawn(async {
        tokio::time::sleep(SHUTDOWN_GRACE).await;
        std::process::exit(0);
    });
}
