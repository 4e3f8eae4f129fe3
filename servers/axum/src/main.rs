//! framework-bench server for axum: see `servers/README.md` for the contract.

use axum::serve::ListenerExt;
use axum::{Json, Router, extract::Path, routing::get};
use serde::Serialize;
use server_contract::{
    Args, Inject, JSON_MESSAGE, SHUTDOWN_GRACE, announce, exit_with_error, greeting,
};

const NAME: &str = "server-axum";

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

/// The regression injected for the verdicts' own measurement; none unless
/// `--inject-*` was given.
static INJECT: std::sync::OnceLock<Inject> = std::sync::OnceLock::new();

fn inject() -> Inject {
    INJECT.get().copied().unwrap_or_default()
}

async fn hello(Path(name): Path<String>) -> String {
    inject().per_request();
    greeting(&name)
}

async fn json() -> Json<Message> {
    inject().per_request();
    Json(Message {
        message: JSON_MESSAGE,
    })
}

fn main() {
    let args = Args::from_env_or_exit(NAME);
    let _ = INJECT.set(args.inject);
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
    let app = Router::new()
        .route("/hello/{name}", get(hello))
        .route("/json", get(json));
    let listener = bind(&args).await.unwrap_or_else(|err| {
        exit_with_error(NAME, &format!("cannot bind {}: {err}", args.addr()), 1)
    });
    let addr = listener
        .local_addr()
        .unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
    let nodelay = args.nodelay;
    let listener = listener.tap_io(move |stream| {
        inject().keep_for_connection();
        if nodelay {
            // Failing to set it only costs latency; the request still works.
            let _ = stream.set_nodelay(true);
        }
    });
    announce(addr);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
}

/// Without `--backlog`: tokio's `TcpListener::bind`, as axum's docs use it
/// (mio's backlog, 128). With it: the same socket (SO_REUSEADDR, bind) made
/// through `TcpSocket`, which takes a backlog.
async fn bind(args: &Args) -> std::io::Result<tokio::net::TcpListener> {
    let Some(backlog) = args.backlog else {
        return tokio::net::TcpListener::bind(args.addr()).await;
    };
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(args.addr())?;
    socket.listen(backlog.get())
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
