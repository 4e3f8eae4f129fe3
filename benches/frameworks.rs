//! `cargo bench`: every framework's memory before and after the seed's burst,
//! and its per-request latency, through Criterion. The work is in
//! `framework_bench::pipeline`.

fn main() {
    std::process::exit(framework_bench::pipeline::main(env!("CARGO_MANIFEST_DIR")));
}
