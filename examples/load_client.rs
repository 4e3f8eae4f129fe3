//! The suite's load client on its own against a running server, to set it
//! beside wrk with the same connections and CPU placement:
//!
//! ```text
//! cargo run --release --example load_client -- 127.0.0.1:PORT 16 400000 0
//! wrk -t1 -c16 -d5s http://127.0.0.1:PORT/hello/World   # under taskset -c 0
//! ```
//!
//! Arguments: address, connections, requests, and the client CPU list
//! (`0`, `0-1`; `-` for unpinned); a fifth, a JSON body, sends it as
//! `POST /items` instead (`wrk -s post.lua` is its yardstick). One connection runs the sequential
//! keep-alive client the latency benchmarks use; more run the pinned event
//! loops of the timed phases. Prints requests per second and the mean,
//! p50 and p99 latency.

use std::time::Duration;

use framework_bench::conditions::CpuList;
use framework_bench::load::client::{KeepAlive, LoadClient};
use framework_bench::load::hammer::LoadPlan;
use framework_bench::load::{BodyCheck, Expect, Method, Mix, RequestSpec, Route};

/// `GET /hello/World`, or with a body, `POST /items` of it as JSON,
/// expecting a 201 of any body (the misbehaving test server's route; any
/// server answering 201 there will do).
fn request(post_body: Option<&str>) -> Mix {
    let Some(body) = post_body else {
        return Mix::single(framework_bench::load::request::contract().remove(0));
    };
    Mix::single(RequestSpec {
        name: Route::new("item"),
        method: Method::Post,
        path: "/items".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
        expect: Expect {
            status: 201,
            body: BodyCheck::Any,
        },
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, connections, requests, cpus, post_body) = match args.as_slice() {
        [a, c, r, cpus] => (a, c, r, cpus, None),
        [a, c, r, cpus, body] => (a, c, r, cpus, Some(body)),
        _ => {
            eprintln!("usage: load_client ADDR CONNECTIONS REQUESTS CPUS [POST-BODY]");
            std::process::exit(2);
        }
    };
    let (Ok(addr), Ok(connections), Ok(n_requests)) =
        (addr.parse(), connections.parse::<usize>(), requests.parse())
    else {
        eprintln!("load_client: bad arguments {args:?}");
        std::process::exit(2);
    };
    let cpus: Option<CpuList> = match cpus.as_str() {
        "-" => None,
        list => match list.parse() {
            Ok(cpus) => Some(cpus),
            Err(err) => {
                eprintln!("load_client: bad CPU list {list:?}: {err}");
                std::process::exit(2);
            }
        },
    };
    let mut plan = LoadPlan::keep_alive(n_requests, connections, Duration::from_secs(5));
    plan.mix = request(post_body.map(String::as_str));
    let report = if connections == 1 {
        if let Some(cpus) = &cpus {
            let _ = framework_bench::conditions::pin_current_thread(cpus);
        }
        let one = KeepAlive::new(addr, &plan.mix, plan.timeout);
        match one {
            Ok(mut one) => one.run(&plan),
            Err(err) => {
                eprintln!("load_client: {err}");
                std::process::exit(2);
            }
        }
    } else {
        let client = cpus.map_or_else(|| LoadClient::unpinned(1), LoadClient::pinned);
        match client.run(addr, &plan) {
            Ok(report) => report,
            Err(err) => {
                eprintln!("load_client: {err}");
                std::process::exit(2);
            }
        }
    };
    let latency = report.latency_summary();
    println!(
        "{report}\n{:.0} req/s, mean {:.1} us, p50 {:.1} us, p99 {:.1} us",
        report.requests_per_second(),
        latency.mean_ns as f64 / 1e3,
        latency.p50_ns as f64 / 1e3,
        latency.p99_ns as f64 / 1e3
    );
}
