//! The machine and toolchain a run was taken on, so that a comparison can
//! warn when two runs are not like for like.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};
use sysinfo::{CpuRefreshKind, System};

/// How far total memory may differ before two machines count as different.
const MEMORY_TOLERANCE_PERCENT: u64 = 5;

/// Where a run was taken. Fields a platform cannot give are `None`; the
/// default knows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub cpu_model: Option<String>,
    pub cpus: usize,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
    pub os: Option<String>,
    pub rustc: Option<String>,
    /// `git rev-parse HEAD`, with `-dirty` when the tree has changes.
    pub git_commit: Option<String>,
}

impl Environment {
    /// Reads this machine (through sysinfo, so it means the same on every
    /// platform); `repo` is the checkout whose commit to record.
    pub fn capture(repo: &Path) -> Environment {
        let (cpu_model, memory_bytes) = cpu_and_memory();
        Environment {
            cpu_model,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            memory_bytes,
            kernel: System::kernel_version().ok(),
            os: System::long_os_version().ok(),
            rustc: command_line(
                Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
                    .arg("--version"),
            ),
            git_commit: git_commit(repo),
        }
    }

    /// What differs between `self` (a baseline) and `now` in ways that make
    /// figures less comparable. The git commit is expected to differ.
    pub fn differences(&self, now: &Environment) -> Vec<String> {
        let mut notes = Vec::new();
        let mut differ = |what: &str, a: String, b: String| {
            if a != b {
                notes.push(format!("{what} differs: baseline {a}, now {b}"));
            }
        };
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
        differ("CPU", show(&self.cpu_model), show(&now.cpu_model));
        differ("CPU count", self.cpus.to_string(), now.cpus.to_string());
        differ("rustc", show(&self.rustc), show(&now.rustc));
        differ("kernel", show(&self.kernel), show(&now.kernel));
        differ("OS", show(&self.os), show(&now.os));
        if let (Some(a), Some(b)) = (self.memory_bytes, now.memory_bytes) {
            // MemTotal moves by a few MiB between boots of the same machine.
            if a.abs_diff(b) * 100 > a * MEMORY_TOLERANCE_PERCENT {
                differ(
                    "memory",
                    format!("{} MiB", a >> 20),
                    format!("{} MiB", b >> 20),
                );
            }
        }
        notes
    }
}

/// The CPU's brand and the total memory, where the platform gives them.
fn cpu_and_memory() -> (Option<String>, Option<u64>) {
    let Ok(mut system) = System::new() else {
        return (None, None);
    };
    system.refresh_memory();
    system.refresh_cpu_list(CpuRefreshKind::nothing());
    let brand = system
        .cpus()
        .first()
        .map(|cpu| cpu.brand().trim().to_owned());
    let memory = Some(system.total_memory()).filter(|bytes| *bytes > 0);
    (brand.filter(|b| !b.is_empty()), memory)
}

fn command_line(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}

fn git_commit(repo: &Path) -> Option<String> {
    let head = command_line(
        Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["rev-parse", "HEAD"]),
    )?;
    let dirty = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_this_machine() {
        let env = Environment::capture(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(env.cpus >= 1);
        if cfg!(target_os = "linux") {
            assert!(env.memory_bytes.unwrap() > 0);
            assert!(env.kernel.is_some() && env.os.is_some());
            assert!(env.cpu_model.is_some());
        }
        assert!(
            env.rustc
                .as_deref()
                .is_some_and(|r| r.starts_with("rustc "))
        );
    }

    #[test]
    fn differences_name_what_changed() {
        let env = Environment::capture(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(env.differences(&env).is_empty());
        let other = Environment {
            cpu_model: Some("Another CPU".into()),
            rustc: Some("rustc 1.99.0".into()),
            git_commit: Some("abc".into()),
            ..env.clone()
        };
        let notes = env.differences(&other);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("CPU differs"));
        assert!(notes[1].contains("rustc 1.99.0"));
    }
}
