//! Child processes the harness starts for a server (builds and the server
//! itself): none outlives the harness, and none leaves a pipe unread.

use std::io::{BufRead, BufReader};
#[cfg(target_os = "linux")]
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// How many lines of a failed build's output the error keeps.
const BUILD_ERROR_LINES: usize = 40;

/// Runs a build, passing its stderr through (cargo's progress) and keeping
/// the last lines for the error if it fails. Its stdout is discarded.
pub(crate) fn run_teeing_output(server: &str, mut command: Command) -> Result<()> {
    let shown = format!("{command:?}");
    // A build (cargo, python -m venv, pip) must not outlive the harness
    // either: pip writing into a venv the next run removes, say.
    die_with_parent(&mut command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::RunCommand {
            server: server.to_owned(),
            command: shown.clone(),
            source,
        })?;
    let mut tail = std::collections::VecDeque::with_capacity(BUILD_ERROR_LINES);
    if let Some(stderr) = child.stderr.take() {
        // Read to the end whatever the bytes: stopping at a line that is not
        // UTF-8 would leave the child blocked on a full pipe.
        for line in BufReader::new(stderr)
            .split(b'\n')
            .map_while(std::io::Result::ok)
        {
            let line = String::from_utf8_lossy(&line).into_owned();
            eprintln!("{line}");
            if tail.len() == BUILD_ERROR_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
    let status = child.wait().map_err(|source| Error::RunCommand {
        server: server.to_owned(),
        command: shown.clone(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Build {
            server: server.to_owned(),
            command: shown,
            output: Vec::from(tail).join("\n"),
        })
    }
}

/// On Linux the child gets SIGKILL when the thread that spawned it exits,
/// which covers the harness being killed (even by SIGKILL).
pub(crate) fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: prctl, getppid and _exit are async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}
