//! Building servers and resolving their versions.
//!
//! Every cargo server is built on its own (`cargo build --release -p PKG`) in
//! a target directory that the harness never builds in, so cargo never unifies
//! its dependency features with the harness's or another server's.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::server::built::BuiltServer;
use crate::server::child::run_teeing_output;
use crate::server::manifest::{BuildStep, PythonVenv, ServerSpec, VersionSource};
use crate::server::venv::{ensure_venv, installed_version, venv_dir};
use crate::workspace::Workspace;

/// Builds servers, each cargo package once per run, and resolves their
/// versions. A failed build fails only the servers built from it.
pub struct Builder {
    workspace: Workspace,
    /// Each server once per run: every later start reuses its build and
    /// version (a Python server's version costs an interpreter start).
    built: BTreeMap<String, BuiltServer>,
    packages: BTreeMap<String, Result<PathBuf, String>>,
    /// Each venv once per run, by folder: a server's variants share it.
    venvs: BTreeMap<PathBuf, Result<PathBuf, String>>,
}

impl Builder {
    pub fn new(workspace: &Workspace) -> Builder {
        Builder {
            workspace: workspace.clone(),
            built: BTreeMap::new(),
            packages: BTreeMap::new(),
            venvs: BTreeMap::new(),
        }
    }

    pub fn build(&mut self, spec: &ServerSpec) -> Result<BuiltServer> {
        if let Some(built) = self.built.get(&spec.name)
            && built.spec == *spec
        {
            return Ok(built.clone());
        }
        let mut built = BuiltServer {
            spec: spec.clone(),
            version: String::new(),
            bin: None,
            python: None,
        };
        match &spec.build {
            Some(BuildStep::CargoPackage(package)) => {
                built.bin = Some(self.cargo_package(spec, package)?);
            }
            Some(BuildStep::PythonVenv(venv)) => {
                built.python = Some(self.python_venv(spec, venv)?);
            }
            Some(BuildStep::Command(command)) => run_build_command(spec, command)?,
            None => {}
        }
        built.version = resolve_version(&self.workspace, spec)?;
        self.built.insert(spec.name.clone(), built.clone());
        Ok(built)
    }

    fn cargo_package(&mut self, spec: &ServerSpec, package: &str) -> Result<PathBuf> {
        let workspace = &self.workspace;
        let result = self.packages.entry(package.to_owned()).or_insert_with(|| {
            build_cargo_package(workspace, &spec.name, package).map_err(|err| err.to_string())
        });
        result.clone().map_err(|message| Error::Build {
            server: spec.name.clone(),
            command: format!("cargo build --release -p {package}"),
            output: message,
        })
    }

    /// The venv's interpreter. A failure is told in full the first time; a
    /// variant built from the same folder then gets it as its own.
    fn python_venv(&mut self, spec: &ServerSpec, venv: &PythonVenv) -> Result<PathBuf> {
        let dir = venv_dir(&self.workspace, spec);
        if let Some(result) = self.venvs.get(&dir) {
            return result.clone().map_err(|message| Error::Build {
                server: spec.name.clone(),
                command: format!("the venv at {}", dir.display()),
                output: message,
            });
        }
        let result = ensure_venv(&self.workspace, spec, venv);
        self.venvs
            .insert(dir, result.as_ref().map_err(ToString::to_string).cloned());
        result
    }
}

/// Builds every spec; one result per spec, in order.
pub fn build_servers(workspace: &Workspace, specs: &[ServerSpec]) -> Vec<Result<BuiltServer>> {
    let mut builder = Builder::new(workspace);
    specs.iter().map(|spec| builder.build(spec)).collect()
}

/// The cargo that runs us (cargo sets `CARGO` for benches and tests).
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn build_cargo_package(workspace: &Workspace, server: &str, package: &str) -> Result<PathBuf> {
    let target_dir = workspace.server_target_dir();
    let mut command = cargo();
    command
        .current_dir(&workspace.root)
        .args(["build", "--release", "-p", package, "--target-dir"])
        .arg(&target_dir);
    eprintln!("framework-bench: building {server} (cargo build --release -p {package})");
    run_teeing_output(server, command)?;
    let bin = target_dir.join("release").join(package);
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(Error::ProgramMissing {
            server: server.to_owned(),
            program: bin,
        })
    }
}

/// The package of the preload library that counts a server's heap.
pub const HEAP_LIBRARY_PACKAGE: &str = "alloc-count";

/// Builds the library that counts a server's heap (`tools/alloc-count`),
/// beside the servers; its path.
pub fn build_heap_library(workspace: &Workspace) -> Result<PathBuf> {
    let target_dir = workspace.server_target_dir();
    let package = HEAP_LIBRARY_PACKAGE;
    let mut command = cargo();
    command
        .current_dir(&workspace.root)
        .args(["build", "--release", "-p", package, "--target-dir"])
        .arg(&target_dir);
    eprintln!("framework-bench: building the heap counter (cargo build --release -p {package})");
    run_teeing_output(package, command)?;
    let library = target_dir.join("release").join("liballoc_count.so");
    match library.is_file() {
        true => Ok(library),
        false => Err(Error::ProgramMissing {
            server: package.to_owned(),
            program: library,
        }),
    }
}

fn run_build_command(spec: &ServerSpec, argv: &[String]) -> Result<()> {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]).current_dir(&spec.dir);
    eprintln!(
        "framework-bench: building {} ({})",
        spec.name,
        argv.join(" ")
    );
    run_teeing_output(&spec.name, command)
}

/// The version a server reports, from its manifest's `version` source.
pub fn resolve_version(workspace: &Workspace, spec: &ServerSpec) -> Result<String> {
    let fail = |message: String| Error::Version {
        server: spec.name.clone(),
        message,
    };
    match &spec.version {
        VersionSource::Value(value) => Ok(value.clone()),
        VersionSource::PythonPackage(distribution) => {
            installed_version(&venv_dir(workspace, spec), distribution).map_err(fail)
        }
        VersionSource::CargoLock(krate) => {
            let package = spec
                .cargo_package()
                .ok_or_else(|| fail("`version.cargo_lock` needs `build.cargo_package`".into()))?;
            let lock_path = workspace.root.join("Cargo.lock");
            let text = std::fs::read_to_string(&lock_path).map_err(|source| Error::ReadFile {
                path: lock_path.clone(),
                source,
            })?;
            lockfile_version(&text, package, krate)
                .map_err(|message| fail(format!("{}: {message}", lock_path.display())))
        }
        VersionSource::Command(argv) => {
            let output = Command::new(&argv[0])
                .args(&argv[1..])
                .current_dir(&spec.dir)
                .stdin(Stdio::null())
                .output()
                .map_err(|err| fail(format!("cannot run {argv:?}: {err}")))?;
            let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if output.status.success() && !stdout.is_empty() {
                Ok(stdout)
            } else {
                Err(fail(format!(
                    "{argv:?} failed ({}): {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                )))
            }
        }
    }
}

/// The version of `krate` that `package` depends on, per a `Cargo.lock`.
fn lockfile_version(lockfile: &str, package: &str, krate: &str) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Lock {
        package: Vec<Package>,
    }
    #[derive(serde::Deserialize)]
    struct Package {
        name: String,
        version: String,
        #[serde(default)]
        dependencies: Vec<String>,
    }
    let lock: Lock = toml::from_str(lockfile).map_err(|err| err.to_string())?;
    let owner = lock
        .package
        .iter()
        .find(|p| p.name == package)
        .ok_or_else(|| format!("no package `{package}`"))?;
    // Entries are `name` when one version is locked, else `name version`.
    let entry = owner
        .dependencies
        .iter()
        .find(|d| d.split(' ').next() == Some(krate))
        .ok_or_else(|| format!("`{package}` does not depend on `{krate}`"))?;
    if let Some(version) = entry.split(' ').nth(1) {
        return Ok(version.to_owned());
    }
    let mut versions = lock.package.iter().filter(|p| p.name == krate);
    match (versions.next(), versions.next()) {
        (Some(p), None) => Ok(p.version.clone()),
        _ => Err(format!("`{krate}` is not locked exactly once")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "server-axum"
version = "0.1.0"
dependencies = ["axum", "tokio 1.54.1"]

[[package]]
name = "axum"
version = "0.8.9"

[[package]]
name = "tokio"
version = "1.54.1"

[[package]]
name = "tokio"
version = "0.2.25"
"#;

    #[test]
    fn versions_come_from_the_lockfile() {
        assert_eq!(
            lockfile_version(LOCK, "server-axum", "axum").unwrap(),
            "0.8.9"
        );
        assert_eq!(
            lockfile_version(LOCK, "server-axum", "tokio").unwrap(),
            "1.54.1"
        );
        // `axum-core` must not match `axum`, and missing things are errors.
        assert!(lockfile_version(LOCK, "server-axum", "axum-core").is_err());
        assert!(lockfile_version(LOCK, "server-warp", "warp").is_err());
        assert!(lockfile_version("not toml [", "a", "b").is_err());
    }

    #[test]
    fn the_real_lockfile_has_every_framework() {
        let workspace = Workspace::at(env!("CARGO_MANIFEST_DIR"));
        let specs = ServerSpec::load_dir(&workspace.servers_dir()).unwrap();
        let cargo_locked = specs
            .iter()
            .filter(|s| matches!(s.version, VersionSource::CargoLock(_)));
        assert!(cargo_locked.clone().count() >= 5);
        for spec in cargo_locked {
            let version = resolve_version(&workspace, spec).unwrap();
            assert!(version.split('.').count() >= 3, "{}: {version}", spec.name);
        }
    }

    #[test]
    fn a_failing_build_command_names_the_server() {
        let spec = ServerSpec {
            group: "rust".into(),
            name: "broken".into(),
            description: String::new(),
            dir: std::env::temp_dir(),
            manifest: std::env::temp_dir().join("server.toml"),
            version: VersionSource::Value("1".into()),
            build: Some(BuildStep::Command(vec![
                "sh".into(),
                "-c".into(),
                "echo 'error: no compiler today' >&2; exit 3".into(),
            ])),
            run: vec!["x".into(), "{port}".into()],
            ready: crate::server::manifest::Readiness::ContractLine,
            requests: crate::load::request::RequestSet::contract(),
        };
        let workspace = Workspace::at(env!("CARGO_MANIFEST_DIR"));
        let results = build_servers(&workspace, &[spec]);
        let err = results.into_iter().next().unwrap().unwrap_err().to_string();
        assert!(err.starts_with("broken: build failed"), "{err}");
        assert!(err.contains("no compiler today"), "{err}");
    }
}
