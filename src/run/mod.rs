//! One run's orchestration: Criterion's arguments read as Criterion reads
//! them ([`args`]), the run as a [`plan`] of steps over server
//! [`session`]s, executed by the [`executor`] through the [`seams`] around
//! processes, memory readings and load; [`timed`] holds what the timed
//! benchmarks measured.

pub mod args;
pub mod callgrind;
pub mod executor;
#[cfg(test)]
pub(crate) mod fake;
pub mod plan;
pub mod probe;
pub mod seams;
pub mod session;
pub mod timed;
