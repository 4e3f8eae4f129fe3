//! Measures the lean client on its own against a running server, to set it
//! beside wrk with the same connections and CPU placement:
//!
//! ```text
//! taskset -c 0 cargo run --release --example lean_load -- 127.0.0.1:PORT 16 400000
//! ```
//!
//! Arguments: address, connections, requests; prints requests per second
//! and the mean latency.

use std::time::Duration;

use framework_bench::load::lean::{ClosedLoop, run};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, connections, requests] = args.as_slice() else {
        eprintln!("usage: lean_load ADDR CONNECTIONS REQUESTS");
        std::process::exit(2);
    };
    let (Ok(addr), Ok(connections), Ok(n_requests)) =
        (addr.parse(), connections.parse(), requests.parse())
    else {
        eprintln!("lean_load: bad arguments {args:?}");
        std::process::exit(2);
    };
    let plan = ClosedLoop {
        addr,
        path: "/hello/World".into(),
        expected_body: b"Hello, World!".to_vec(),
        connections,
        n_requests,
        threads: 1,
        keep_alive: true,
        timeout: Duration::from_secs(5),
    };
    let report = run(&plan);
    println!(
        "{} ok, {:?} failed, {:.0} req/s, mean {:.1} us",
        report.successes,
        report.failures,
        report.requests_per_second(),
        report.latency.mean() / 1e3
    );
}
