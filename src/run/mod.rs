//! One `cargo bench` run: Criterion's arguments read as Criterion reads them
//! ([`args`]), the Criterion wiring ([`bench`]), the orchestration of the
//! servers through their phases ([`suite`]), and the run record it writes
//! ([`record`]).

pub mod args;
pub mod bench;
pub mod record;
pub mod suite;
