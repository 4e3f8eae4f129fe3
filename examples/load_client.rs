//! The suite's load client on its own against a running server, to set it
//! beside wrk with the same connections and CPU placement:
//!
//! ```text
//! cargo run --release --example load_client -- 127.0.0.1:PORT 16 400000 0
//! wrk -t1 -c16 -d5s http://127.0.0.1:PORT/hello/World   # under taskset -c 0
//! ```
//!
//! Arguments: address, connections, requests, and the client CPU list
//! (`0`, `0-1`; `-` for unpinned). One connection runs the sequential
//! keep-alive client the latency benchmarks use; more run the pinned event
//! loops of the timed phases. Prints requests per second and the mean,
//! p50 and p99 latency.

use std::time::Duration;

use framework_bench::conditions::CpuList;
use framework_bench::load::client::{KeepAlive, LoadClient};
use framework_bench::load::hammer::LoadPlan;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, connections, requests, cpus] = args.as_slice() else {
        eprintln!("usage: load_client ADDR CONNECTIONS REQUESTS CPUS");
        std::process::exit(2);
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
    plan.path = "/hello/World".into();
    plan.expected_body = "Hello, World!".into();
    let report = if connections == 1 {
        if let Some(cpus) = &cpus {
            let _ = framework_bench::conditions::pin_current_thread(cpus);
        }
        let one = KeepAlive::new(addr, &plan.path, &plan.expected_body, plan.timeout);
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
