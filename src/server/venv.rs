//! Python servers: one virtual environment per server folder, under the
//! target directory, made with the standard library's `venv` and filled
//! from the folder's pinned requirements by pip.
//!
//! A venv is reused while its stamp (the base interpreter's version and the
//! requirements file's text) still matches, and made again when either
//! changes. It is made under a temporary name and renamed into place once
//! pip has finished, so a venv that is there is whole: an interrupted build
//! leaves only a `.partial-PID` folder, which the next build removes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::server::build::{Workspace, run_teeing_output};
use crate::server::manifest::{PythonVenv, ServerSpec};

/// The file inside a finished venv that says what it was made from.
const STAMP_FILE: &str = "framework-bench-stamp";

/// The folder of `spec`'s venv: one per server folder, so that a server's
/// variants share it.
pub fn venv_dir(workspace: &Workspace, spec: &ServerSpec) -> PathBuf {
    let folder = spec
        .dir
        .file_name()
        .map_or_else(|| spec.name.clone().into(), ToOwned::to_owned);
    workspace.harness_dir().join("venvs").join(folder)
}

/// The interpreter inside a venv.
pub fn venv_python(dir: &Path) -> PathBuf {
    dir.join("bin").join("python")
}

/// The venv's interpreter, making the venv first if it is missing or was
/// made from other requirements or another base interpreter.
pub fn ensure_venv(workspace: &Workspace, spec: &ServerSpec, venv: &PythonVenv) -> Result<PathBuf> {
    let requirements = spec.dir.join(&venv.requirements);
    let stamp = stamp(spec, venv, &requirements)?;
    let dir = venv_dir(workspace, spec);
    let python = venv_python(&dir);
    let current = std::fs::read_to_string(dir.join(STAMP_FILE)).ok();
    if current.as_deref() == Some(stamp.as_str()) && python.is_file() {
        return Ok(python);
    }
    eprintln!(
        "framework-bench: building {} (a venv at {} from {})",
        spec.name,
        dir.display(),
        requirements.display()
    );
    make_venv(spec, venv, &requirements, &dir, &stamp)?;
    Ok(python)
}

/// What a venv is made from: the base interpreter's version and the
/// requirements' text. Running the interpreter here is also what finds a
/// missing `python3`.
fn stamp(spec: &ServerSpec, venv: &PythonVenv, requirements: &Path) -> Result<String> {
    let text = crate::fs::read_to_string(requirements)?;
    let version = base_version(spec, &venv.python)?;
    Ok(format!("python {version}\n{text}"))
}

fn base_version(spec: &ServerSpec, python: &str) -> Result<String> {
    let argv = [python, "-c", "import sys; print(sys.version)"];
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::RunCommand {
            server: spec.name.clone(),
            command: argv.join(" "),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() && !stdout.is_empty() {
        Ok(stdout)
    } else {
        Err(Error::Build {
            server: spec.name.clone(),
            command: argv.join(" "),
            output: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

fn make_venv(
    spec: &ServerSpec,
    venv: &PythonVenv,
    requirements: &Path,
    dir: &Path,
    stamp: &str,
) -> Result<()> {
    let partial = partial_dir(dir);
    let result = fill_partial(spec, venv, requirements, &partial, stamp)
        .and_then(|()| move_into_place(&partial, dir));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

fn partial_dir(dir: &Path) -> PathBuf {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("venv");
    dir.with_file_name(format!("{name}.partial-{}", std::process::id()))
}

fn fill_partial(
    spec: &ServerSpec,
    venv: &PythonVenv,
    requirements: &Path,
    partial: &Path,
    stamp: &str,
) -> Result<()> {
    let io_error = |source| Error::WriteFile {
        path: partial.to_owned(),
        source,
    };
    match std::fs::remove_dir_all(partial) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(io_error(err)),
        _ => {}
    }
    if let Some(parent) = partial.parent() {
        std::fs::create_dir_all(parent).map_err(io_error)?;
    }
    let mut make = Command::new(&venv.python);
    make.args(["-m", "venv"]).arg(partial);
    run_teeing_output(&spec.name, make)?;
    let mut install = Command::new(venv_python(partial));
    install
        .args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args(["--no-input", "--require-virtualenv", "-r"])
        .arg(requirements)
        .current_dir(&spec.dir);
    run_teeing_output(&spec.name, install)?;
    crate::fs::write_atomically(&partial.join(STAMP_FILE), stamp.as_bytes())
}

/// Replaces `dir` with `partial`. Another process may have put a venv
/// there meanwhile; the rename then fails and is tried once more.
fn move_into_place(partial: &Path, dir: &Path) -> Result<()> {
    let mut result = Ok(());
    for _ in 0..2 {
        match std::fs::remove_dir_all(dir) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                result = Err(err);
                continue;
            }
            _ => {}
        }
        result = std::fs::rename(partial, dir);
        if result.is_ok() {
            break;
        }
    }
    result.map_err(|source| Error::WriteFile {
        path: dir.to_owned(),
        source,
    })
}

/// The installed version of `distribution` in the venv at `dir`.
pub fn installed_version(dir: &Path, distribution: &str) -> std::result::Result<String, String> {
    let python = venv_python(dir);
    let script = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))";
    let output = Command::new(&python)
        .args(["-c", script, distribution])
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run {}: {err}", python.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() && !stdout.is_empty() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        Err(format!(
            "`{distribution}` is not installed in {}: {}",
            dir.display(),
            last.unwrap_or("no output")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::manifest::{BuildStep, VersionSource};

    /// A workspace of its own and a server folder holding `requirements`.
    fn setup(test: &str, requirements: &str, python: &str) -> (Workspace, ServerSpec, PythonVenv) {
        let root = std::env::temp_dir().join(format!(
            "framework-bench-venv-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("servers").join("pyserver");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("requirements.txt"), requirements).unwrap();
        let venv = PythonVenv {
            requirements: "requirements.txt".into(),
            python: python.to_owned(),
        };
        let spec = ServerSpec {
            name: "pyserver".into(),
            description: String::new(),
            group: "python".into(),
            manifest: dir.join("server.toml"),
            dir,
            version: VersionSource::PythonPackage("pip".into()),
            build: Some(BuildStep::PythonVenv(venv.clone())),
            run: vec!["{python}".into(), "{port}".into()],
        };
        let workspace = Workspace {
            target_dir: root.join("target"),
            root,
        };
        (workspace, spec, venv)
    }

    #[test]
    fn a_missing_interpreter_names_the_server_and_the_command() {
        let (workspace, spec, venv) = setup("no-python", "", "framework-bench-no-such-python3");
        let err = ensure_venv(&workspace, &spec, &venv)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("pyserver: cannot run"), "{err}");
        assert!(err.contains("framework-bench-no-such-python3 -c"), "{err}");
        assert!(!venv_dir(&workspace, &spec).exists());
    }

    #[test]
    fn an_interpreter_without_venv_fails_with_its_words() {
        // A stand-in interpreter: it knows its version but has no `venv`.
        let (workspace, spec, mut venv) = setup("no-venv-module", "", "");
        let fake = workspace.root.join("python-without-venv");
        std::fs::write(
            &fake,
            "#!/bin/sh\n[ \"$1\" = -c ] && { echo 3.99.0; exit 0; }\n\
             echo \"$0: No module named venv\" >&2; exit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        venv.python = fake.display().to_string();
        let err = ensure_venv(&workspace, &spec, &venv)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("pyserver: build failed"), "{err}");
        assert!(err.contains("-m") && err.contains("venv"), "{err}");
        assert!(err.contains("No module named venv"), "{err}");
        assert!(!venv_dir(&workspace, &spec).exists());
        let leftovers = std::fs::read_dir(workspace.harness_dir().join("venvs"))
            .map(Iterator::count)
            .unwrap_or(0);
        assert_eq!(leftovers, 0, "a partial venv was left behind");
    }

    #[test]
    fn a_failed_install_names_the_server_and_pip() {
        // No index: what an offline machine sees.
        let (workspace, spec, venv) = setup(
            "offline",
            "--no-index\nframework-bench-no-such-package==1.0\n",
            "python3",
        );
        let err = ensure_venv(&workspace, &spec, &venv)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("pyserver: build failed"), "{err}");
        assert!(err.contains("pip") && err.contains("install"), "{err}");
        assert!(err.contains("framework-bench-no-such-package"), "{err}");
        assert!(!venv_dir(&workspace, &spec).exists());
    }

    #[test]
    fn a_venv_is_reused_until_its_requirements_change() {
        let (workspace, spec, venv) = setup("reuse", "# nothing to install\n", "python3");
        let python = ensure_venv(&workspace, &spec, &venv).unwrap();
        assert!(python.is_file());
        assert_eq!(
            installed_version(&venv_dir(&workspace, &spec), "pip").map(|v| v.is_empty()),
            Ok(false)
        );
        // A file put into the venv survives a reuse and not a rebuild.
        let marker = venv_dir(&workspace, &spec).join("marker");
        std::fs::write(&marker, "").unwrap();
        ensure_venv(&workspace, &spec, &venv).unwrap();
        assert!(marker.exists(), "an unchanged venv was made again");
        std::fs::write(spec.dir.join("requirements.txt"), "# changed\n").unwrap();
        ensure_venv(&workspace, &spec, &venv).unwrap();
        assert!(
            !marker.exists(),
            "a changed requirements file was not installed"
        );
        let err = installed_version(&venv_dir(&workspace, &spec), "no-such-dist").unwrap_err();
        assert!(err.contains("no-such-dist"), "{err}");
    }
}
