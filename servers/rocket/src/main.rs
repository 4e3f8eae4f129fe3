//! framework-bench server for rocket: see `servers/README.md` for the contract.

use std::net::SocketAddr;

use rocket::config::{Config, LogLevel, Shutdown};
use rocket::fairing::AdHoc;
use rocket::http::ContentType;
use rocket::{get, routes};
use server_contract::{Args, JSON_MESSAGE, announce, exit_with_error, greeting};

const NAME: &str = "server-rocket";

/// Rocket 0.5 binds its own socket (tokio's `TcpListener::bind`, backlog
/// 128) and takes no bound listener, so `--backlog` finds that socket among
/// the process's descriptors and calls listen(2) on it again: on a socket
/// that already listens, Linux only updates the backlog. Called at liftoff:
/// bound, not yet accepting.
fn relisten(addr: SocketAddr, backlog: u32) -> std::io::Result<()> {
    use std::os::fd::{BorrowedFd, RawFd};
    let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let name = entry?.file_name();
        let Some(fd) = name.to_str().and_then(|n| n.parse::<RawFd>().ok()) else {
            continue;
        };
        // SAFETY: borrowed only for these calls; nothing closes descriptors
        // during liftoff, and a stale or non-socket descriptor only makes the
        // calls fail.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        let bound_here = socket.local_addr().ok().and_then(|a| a.as_socket()) == Some(addr);
        if bound_here && socket.is_listener().unwrap_or(false) {
            return socket.listen(backlog);
        }
    }
    let message = format!("no listening socket on {addr}");
    Err(std::io::Error::new(std::io::ErrorKind::NotFound, message))
}

#[get("/hello/<name>")]
fn hello(name: &str) -> String {
    greeting(name)
}

/// Rocket's `Json` needs the non-default `json` feature; serde_json is what it
/// would call.
#[get("/json")]
fn json() -> (ContentType, String) {
    let body = serde_json::json!({ "message": JSON_MESSAGE });
    (ContentType::JSON, body.to_string())
}

fn main() {
    let args = Args::from_env_or_exit(NAME);
    // Rocket sets TCP_NODELAY on every connection itself: `--nodelay` is a no-op.
    let shutdown = Shutdown {
        grace: 1,
        mercy: 0,
        ..Shutdown::default()
    };
    // Figment keeps honouring Rocket.toml and ROCKET_* as a user would expect,
    // but the contract's values win.
    let mut figment = Config::figment()
        .merge((Config::ADDRESS, args.addr().ip()))
        .merge((Config::PORT, args.port))
        .merge((Config::LOG_LEVEL, LogLevel::Off))
        .merge((Config::CLI_COLORS, false))
        .merge((Config::SHUTDOWN, shutdown));
    if let Some(workers) = args.workers {
        figment = figment.merge((Config::WORKERS, workers.get()));
    }
    let config: Config = figment
        .extract()
        .unwrap_or_else(|err| exit_with_error(NAME, &err, 2));
    // `rocket::execute` would size its runtime from the default figment only,
    // so build the same runtime it builds, with the merged worker count.
    let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
        .thread_name("rocket-worker-thread")
        .worker_threads(config.workers)
        .max_blocking_threads(config.max_blocking)
        .enable_all()
        .build()
        .unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
    let backlog = args.backlog;
    let result = runtime.block_on(
        rocket::custom(figment)
            .mount("/", routes![hello, json])
            // One fairing for both: liftoff fairings run concurrently, and
            // the ready line must come after the backlog is set.
            .attach(AdHoc::on_liftoff("backlog and ready line", move |rocket| {
                Box::pin(async move {
                    let config = rocket.config();
                    let addr = SocketAddr::from((config.address, config.port));
                    if let Some(backlog) = backlog {
                        relisten(addr, backlog.get()).unwrap_or_else(|err| {
                            let message = format!("cannot set backlog {backlog} on {addr}: {err}");
                            exit_with_error(NAME, &message, 1)
                        });
                    }
                    announce(addr);
                })
            }))
            .launch(),
    );
    runtime.shutdown_timeout(std::time::Duration::from_millis(250));
    if let Err(err) = result {
        exit_with_error(NAME, &err, 1);
    }
}
