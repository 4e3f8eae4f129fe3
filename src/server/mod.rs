//! Servers: described by data (`servers/*/server.toml`), built each on its
//! own so that features never unify across them (a Python server in a venv
//! of its own), started behind a guard
//! that no child outlives, and checked to listen on loopback only.

pub mod build;
pub mod built;
pub mod child;
pub mod manifest;
pub mod process;
pub mod requests;
pub mod sockets;
pub mod venv;
