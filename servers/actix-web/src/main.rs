//! framework-bench server for actix-web: see `servers/README.md` for the contract.

use actix_web::{App, HttpServer, web};
use serde::Serialize;
use server_contract::{Args, JSON_MESSAGE, SHUTDOWN_GRACE, announce, exit_with_error, greeting};

const NAME: &str = "server-actix-web";

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn hello(name: web::Path<String>) -> String {
    greeting(&name)
}

async fn json() -> web::Json<Message> {
    web::Json(Message {
        message: JSON_MESSAGE,
    })
}

fn main() {
    let args = Args::from_env_or_exit(NAME);
    // actix-server stops accepting on SIGTERM/SIGINT and waits for in-flight
    // requests up to `shutdown_timeout` (whole seconds).
    let result = actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(|| {
            App::new()
                .route("/hello/{name}", web::get().to(hello))
                .route("/json", web::get().to(json))
        })
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
        if let Some(workers) = args.workers {
            server = server.workers(workers.get());
        }
        if args.nodelay {
            server = server.tcp_nodelay(true);
        }
        if let Some(backlog) = args.backlog {
            // Read by `bind`, so set before it (actix-web's default: 1024).
            server = server.backlog(backlog.get());
        }
        let server = server.bind(args.addr()).unwrap_or_else(|err| {
            exit_with_error(NAME, &format!("cannot bind {}: {err}", args.addr()), 1)
        });
        let addr = server.addrs()[0];
        let running = server.run();
        announce(addr);
        running.await
    });
    result.unwrap_or_else(|err| exit_with_error(NAME, &err, 1));
}
