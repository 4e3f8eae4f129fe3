//! Judging a run: typed figures made once from a run record
//! ([`figures`]), summaries saved as baselines ([`baseline`]), and the
//! verdict of each figure against a baseline with its noise floor
//! ([`verdict`]). Pure data in, data out: no processes, no I/O but the
//! baseline files.

pub mod ab;
pub mod baseline;
pub mod figures;
pub mod leak;
pub mod loads;
pub mod stats;
pub mod verdict;
