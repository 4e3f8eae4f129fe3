//! The project's folders: where manifests live and where every output goes.

use std::path::PathBuf;

/// The project's folders: where manifests live and where output goes.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The folder holding the root `Cargo.toml` and `Cargo.lock`.
    pub root: PathBuf,
    /// Cargo's target directory (`CARGO_TARGET_DIR`, else `root/target`).
    pub target_dir: PathBuf,
}

impl Workspace {
    /// The workspace at `root`, honouring `CARGO_TARGET_DIR` as cargo does.
    pub fn at(root: impl Into<PathBuf>) -> Workspace {
        let root = root.into();
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => root.join(dir),
            _ => root.join("target"),
        };
        Workspace { root, target_dir }
    }

    /// The folder whose `*/server.toml` files describe the built-in servers.
    pub fn servers_dir(&self) -> PathBuf {
        self.root.join("servers")
    }

    /// Where the harness writes its own files (server builds, logs).
    pub fn harness_dir(&self) -> PathBuf {
        self.target_dir.join("framework-bench")
    }

    /// The target directory used for server builds only.
    pub fn server_target_dir(&self) -> PathBuf {
        self.harness_dir().join("servers")
    }

    /// Per-server log files of stdout and stderr.
    pub fn log_dir(&self) -> PathBuf {
        self.harness_dir().join("logs")
    }
}

/// Criterion's output directory, found the way Criterion finds it.
pub fn criterion_home(workspace: &Workspace) -> PathBuf {
    match std::env::var_os("CRITERION_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace.target_dir.join("criterion"),
    }
}
