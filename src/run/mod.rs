//! One run's orchestration: Criterion's arguments read as Criterion reads
//! them ([`args`]), and the servers taken through their phases ([`suite`]).

pub mod args;
pub mod suite;
