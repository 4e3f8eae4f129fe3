//! framework-bench server for rocket: see `servers/README.md` for the contract.

use rocket::config::{Config, LogLevel, Shutdown};
use rocket::fairing::AdHoc;
use rocket::http::ContentType;
use rocket::{get, routes};
use server_contract::{Args, JSON_MESSAGE, announce, exit_with_error, greeting};

const NAME: &str = "server-rocket";

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
    let result = runtime.block_on(
        rocket::custom(figment)
            .mount("/", routes![hello, json])
            .attach(AdHoc::on_liftoff("ready line", |rocket| {
                Box::pin(async move {
                    let config = rocket.config();
                    announce((config.address, config.port).into());
                })
            }))
            .launch(),
    );
    runtime.shutdown_timeout(std::time::Duration::from_millis(250));
    if let Err(err) = result {
        exit_with_error(NAME, &err, 1);
    }
}
