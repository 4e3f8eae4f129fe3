//! Integration tests that drive real server processes. One test binary, with
//! its fixtures in `util`.

mod baseline_cli;
mod bench_run;
mod conditions;
mod contract;
mod counts;
mod fake_sampler;
mod faults;
mod hostile;
mod measure;
mod own_requests;
mod suite_faults;
mod util;
