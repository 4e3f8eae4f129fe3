//! Python servers: one virtual environment per server folder, under the
//! target directory, made with the standard library's `venv` and filled
//! from the folder's pinned requirements by pip.
//!
//! A venv is reused while its stamp (the base interpreter's version and the
//! requirements file's text) still matches, and made again when either
//! changes. The stamp is written last, once pip has finished, so a venv
//! that an interrupted build left has none and is made again. Builds take a
//! lock file beside the venv, so that two processes (a test run and the
//! bench it starts, say) never build or delete the same venv at once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::server::child::run_teeing_output;
use crate::server::manifest::{PythonVenv, ServerSpec};
use crate::workspace::Workspace;

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
    if is_current(&dir, &stamp) {
        return Ok(python);
    }
    let _lock = lock_beside(spec, &dir)?;
    // Another process may have made it while this one waited.
    if is_current(&dir, &stamp) {
        return Ok(python);
    }
    eprintln!(
        "framework-bench: building {} (a venv at {} from {})",
        spec.name,
        dir.display(),
        requirements.display()
    );
    let result = make_venv(spec, venv, &requirements, &dir, &stamp);
    if result.is_err() {
        // Half a venv is no use to anyone; the next build starts afresh.
        let _ = std::fs::remove_dir_all(&dir);
    }
    result.map(|()| python)
}

fn is_current(dir: &Path, stamp: &str) -> bool {
    let current = std::fs::read_to_string(dir.join(STAMP_FILE)).ok();
    current.as_deref() == Some(stamp) && venv_python(dir).is_file()
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

/// An exclusive lock on `DIR.lock`, held until the file is dropped; it
/// waits while another process builds the same venv.
fn lock_beside(spec: &ServerSpec, dir: &Path) -> Result<File> {
    // Appended, not `with_extension`: `venvs/web.py` must not lock `web`.
    let mut name = dir.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let fail = |err: std::io::Error| Error::Build {
        server: spec.name.clone(),
        command: format!("lock {}", path.display()),
        output: err.to_string(),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let file = File::create(&path).map_err(fail)?;
    file.lock().map_err(fail)?;
    Ok(file)
}

/// `python -m venv DIR`, then `pip install -r requirements`, then the
/// stamp, with the lock held.
fn make_venv(
    spec: &ServerSpec,
    venv: &PythonVenv,
    requirements: &Path,
    dir: &Path,
    stamp: &str,
) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::Build {
                server: spec.name.clone(),
                command: format!("remove the old venv at {}", dir.display()),
                output: err.to_string(),
            });
        }
        _ => {}
    }
    let mut make = Command::new(&venv.python);
    make.args(["-m", "venv"]).arg(dir);
    run_teeing_output(&spec.name, make)?;
    let mut install = Command::new(venv_python(dir));
    install
        .args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args(["--no-input", "--require-virtualenv", "-r"])
        .arg(requirements)
        .current_dir(&spec.dir);
    run_teeing_output(&spec.name, install)?;
    crate::fs::write_atomically(&dir.join(STAMP_FILE), stamp.as_bytes())
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
            ready: crate::server::manifest::Readiness::ContractLine,
            requests: crate::load::request::RequestSet::contract(),
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
        assert!(
            !venv_dir(&workspace, &spec).exists(),
            "half a venv was left"
        );
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
    fn a_venv_is_made_once_and_again_when_its_requirements_or_stamp_change() {
        let (workspace, spec, venv) = setup("reuse", "# nothing to install\n", "python3");
        // Two builders at once (a test run and its bench): one builds, the
        // other waits for the lock and finds the venv made.
        let built: Vec<PathBuf> = std::thread::scope(|scope| {
            let build = || scope.spawn(|| ensure_venv(&workspace, &spec, &venv).unwrap());
            let (a, b) = (build(), build());
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        assert!(built.iter().all(|python| python.is_file()));
        let dir = venv_dir(&workspace, &spec);
        assert_eq!(
            installed_version(&dir, "pip").map(|v| v.is_empty()),
            Ok(false)
        );
        // A file put into the venv survives a reuse and not a rebuild.
        let marker = dir.join("marker");
        std::fs::write(&marker, "").unwrap();
        ensure_venv(&workspace, &spec, &venv).unwrap();
        assert!(marker.exists(), "an unchanged venv was made again");
        std::fs::write(spec.dir.join("requirements.txt"), "# changed\n").unwrap();
        ensure_venv(&workspace, &spec, &venv).unwrap();
        assert!(
            !marker.exists(),
            "a changed requirements file was not installed"
        );
        // What an interrupted build leaves: a venv without its stamp.
        std::fs::write(&marker, "").unwrap();
        std::fs::remove_file(dir.join(STAMP_FILE)).unwrap();
        ensure_venv(&workspace, &spec, &venv).unwrap();
        assert!(!marker.exists(), "a venv without a stamp was used");
        let err = installed_version(&dir, "no-such-dist").unwrap_err();
        assert!(err.contains("no-such-dist"), "{err}");
    }
}
