//! framework-bench: what a Rust web framework costs, measured on real server
//! processes: memory before and after load, per-request latency, throughput.
//!
//! The library does the work; the bench targets in `benches/` and the
//! `framework-bench` binary only wire it up. Folders follow the stages of a
//! run, in the order data flows through them:
//! - [`server`]: what a server is (manifest), how it is built, and the guard
//!   around its running process;
//! - [`load`]: the bounded HTTP load sent to a server and its outcomes;
//! - [`measure`]: readings of a process (memory, CPU time), the machine, and
//!   Criterion's bytes measurement;
//! - [`run`]: one `cargo bench` run: Criterion's arguments, the orchestration
//!   of the servers, and the run record it writes;
//! - [`compare`]: typed figures made from a run record, baselines, verdicts;
//! - [`report`]: every output, each rendering the same models.
//!
//! [`config`], [`conditions`], [`error`], [`fs`] and [`units`] are used by
//! every stage.

pub mod compare;
pub mod conditions;
pub mod config;
pub mod error;
pub mod fs;
pub mod load;
pub mod measure;
pub mod report;
pub mod run;
pub mod server;
pub mod units;

#[cfg(test)]
pub(crate) mod fixtures;

pub use error::{Error, Result};
