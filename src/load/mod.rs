//! Load: one bounded request loop with policies (the seed's burst of new
//! connections, keep-alive latency), each request's outcome kept as data and
//! merged after the clock stops ([`hammer`], on reqwest). [`lean`] and
//! [`http1`] are the wrk-class client that is to replace it in the timed
//! phases. Knows nothing of processes: it is given an address.

pub mod hammer;
pub mod http1;
pub mod lean;
pub mod route;

pub use route::Route;
