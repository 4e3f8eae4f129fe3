//! What a build gives the launcher: a server ready to start.

use std::path::PathBuf;

use crate::server::manifest::ServerSpec;

/// A server ready to start: its spec, resolved version and built binary.
#[derive(Debug, Clone)]
pub struct BuiltServer {
    pub spec: ServerSpec,
    pub version: String,
    /// The cargo binary, for specs built with `cargo_package`.
    pub bin: Option<PathBuf>,
    /// The venv's interpreter, for specs built with `python_venv`.
    pub python: Option<PathBuf>,
}
