//! The machine and toolchain a run was taken on, so that a comparison can
//! warn when two runs are not like for like.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

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
    /// Reads this machine; `repo` is the checkout whose commit to record.
    pub fn capture(repo: &Path) -> Environment {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        Environment {
            cpu_model: field(&cpuinfo, "model name"),
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            memory_bytes: field(&meminfo, "MemTotal")
                .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kb| kb * 1024),
            kernel: nix::sys::utsname::uname()
                .ok()
                .map(|u| u.release().to_string_lossy().into_owned()),
            os: field(&os_release, "PRETTY_NAME").map(|v| v.trim_matches('"').to_owned()),
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
            if a.abs_diff(b) > a / 20 {
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

/// `key : value` from /proc/cpuinfo, /proc/meminfo or `key=value` from
/// os-release.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':').or_else(|| line.split_once('='))?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
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
    fn reads_proc_style_fields() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n";
        assert_eq!(
            field(cpuinfo, "model name").as_deref(),
            Some("AMD EPYC 7B13")
        );
        assert_eq!(
            field("PRETTY_NAME=\"Debian 12\"\n", "PRETTY_NAME").as_deref(),
            Some("\"Debian 12\"")
        );
        assert_eq!(field("", "x"), None);
    }

    #[test]
    fn captures_this_machine() {
        let env = Environment::capture(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(env.cpus >= 1);
        if cfg!(target_os = "linux") {
            assert!(env.memory_bytes.unwrap() > 0);
            assert!(env.kernel.is_some());
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
