//! framework-bench: what a Rust web framework costs, measured on real server
//! processes: memory before and after load, per-request latency, throughput.
//!
//! The library does the work; the bench targets in `benches/` only wire it
//! up. Stages, one module each:
//! - [`manifest`]: servers described by data (`servers/*/server.toml`);
//! - [`build`]: building each server on its own and resolving its version;
//! - [`process`]: the guard around a running server;
//! - [`sockets`]: which addresses a process listens on (loopback check);
//! - [`memory`]: memory and CPU-time snapshots of a process;
//! - [`hammer`]: bounded HTTP load and its merged report.

pub mod baseline;
pub mod bench;
pub mod build;
pub mod compare;
pub mod config;
pub mod environment;
pub mod error;
pub mod export;
pub mod hammer;
pub mod manifest;
pub mod measurement;
pub mod memory;
pub mod metrics;
pub mod process;
pub mod report_page;
pub mod sockets;
pub mod suite;
pub mod table;
pub mod units;

pub use error::{Error, Result};
