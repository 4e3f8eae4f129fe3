//! `cargo bench`: every framework's memory before and after the seed's burst,
//! and its per-request latency, through Criterion. The work is in
//! `framework_bench::run::bench`.

fn main() {
    std::process::exit(framework_bench::run::bench::main(env!(
        "CARGO_MANIFEST_DIR"
    )));
}
