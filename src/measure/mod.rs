//! Measurements of a process and of the machine: memory and CPU-time
//! snapshots behind the [`memory::Sampler`] seam, waiting until a server's
//! memory is still ([`settle`]), Criterion's latency
//! estimate made from the samples the suite timed ([`estimate`]), the
//! environment a run happened in, and the [`bytes::Bytes`] measurement that
//! lets Criterion carry memory figures.

pub mod bytes;
pub mod cpu;
pub mod environment;
pub mod estimate;
pub mod fds;
pub mod heap;
pub mod memory;
pub mod netstat;
pub mod settle;
pub mod timeline;
