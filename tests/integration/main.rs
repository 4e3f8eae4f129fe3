//! Integration tests that drive real server processes. One test binary, with
//! its fixtures in `util`.

mod bench_run;
mod contract;
mod faults;
mod measure;
mod util;
