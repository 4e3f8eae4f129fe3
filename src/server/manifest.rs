//! Servers described by data: one `server.toml` per folder under `servers/`.
//!
//! ```toml
//! name = "axum"
//! description = "axum on tokio and hyper"
//! group = "rust"                        # what FRAMEWORK_BENCH_SERVERS selects by
//! version = { cargo_lock = "axum" }     # or { python_package = "..." }, { command = [..] }, { value = "1.2" }
//! build = { cargo_package = "server-axum" }   # or { python_venv = {..} }, { command = [..] }, or omitted
//! run = ["{bin}", "--port", "{port}", "--workers", "{workers}"]
//!
//! [[variants]]                          # optional: the same build, more arguments
//! name = "axum-nodelay"
//! extra_args = ["--nodelay"]                # group = "..." puts it in a group of its own
//! ```
//!
//! A Python server:
//!
//! ```toml
//! name = "bottle"
//! group = "python"
//! version = { python_package = "bottle" }
//! build = { python_venv = { requirements = "requirements.txt" } }   # python = "python3"
//! run = ["{python}", "{dir}/app.py", "--port", "{port}", "--workers", "{workers}"]
//! ```
//!
//! Placeholders in `run`: `{bin}` (the binary of `build.cargo_package`),
//! `{python}` (the interpreter of `build.python_venv`), `{dir}` (the
//! manifest's folder), `{port}`, `{workers}` and `{backlog}`.
//! A server that prints the contract's ready line follows the contract's
//! command line too: the harness appends `--backlog N` unless its `run`
//! places `{backlog}` (or `FRAMEWORK_BENCH_BACKLOG=default`). Any other
//! server gets the backlog and the workers only where `run` places them;
//! [`ServerSpec::not_settable`] says which it cannot be given.
//!
//! A manifest may also say how readiness is known (`ready`), and declare
//! the requests the server is measured on (`[[requests]]`, `burst`, `mix`):
//! see [`crate::server::requests`]. Without them it is the contract's
//! ready line and the contract's two requests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::load::request::RequestSet;
pub use crate::server::requests::Readiness;
use crate::server::requests::{RawRequest, readiness, request_set};

/// The manifest's file name inside each server folder.
pub const MANIFEST_FILE: &str = "server.toml";

/// Where a server's reported version comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum VersionSource {
    /// The resolved version of this crate in the workspace's `Cargo.lock`,
    /// as a dependency of the server's cargo package.
    CargoLock(String),
    /// The trimmed stdout of a command run in the manifest's folder.
    Command(Vec<String>),
    /// A fixed string.
    Value(String),
    /// The installed version of this distribution in the server's Python
    /// virtual environment (`importlib.metadata.version`).
    PythonPackage(String),
}

/// How a server is built before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BuildStep {
    /// `cargo build --release -p PACKAGE`, on its own; `{bin}` is its binary.
    CargoPackage(String),
    /// Any command, run in the manifest's folder.
    Command(Vec<String>),
    /// A Python virtual environment under the target directory with the
    /// requirements installed; `{python}` is its interpreter.
    PythonVenv(PythonVenv),
}

/// `build = { python_venv = { requirements = "requirements.txt" } }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonVenv {
    /// The pinned requirements, relative to the manifest's folder.
    pub requirements: PathBuf,
    /// The interpreter that makes the venv (`python3` from `PATH`).
    #[serde(default = "default_python")]
    pub python: String,
}

fn default_python() -> String {
    "python3".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    #[serde(default)]
    description: String,
    /// Which group of `FRAMEWORK_BENCH_SERVERS` the server is in.
    #[serde(default = "default_group")]
    group: String,
    version: VersionSource,
    build: Option<BuildStep>,
    run: Vec<String>,
    /// How readiness is known (see [`Readiness`]).
    ready: Option<toml::Value>,
    /// The request the burst sends.
    burst: Option<String>,
    /// What the sweep and the constant-rate runs send, by weight.
    mix: Option<BTreeMap<String, i64>>,
    #[serde(default)]
    requests: Vec<RawRequest>,
    #[serde(default)]
    variants: Vec<RawVariant>,
}

/// The selection word for every server.
pub const ALL_SERVERS: &str = "all";

/// The group of servers with a regression injected on purpose, for
/// measuring the verdicts: selected by name or by this group, never by
/// `all`.
pub const INJECTED_GROUP: &str = "injected";

/// The servers `wanted` names, in the order of `specs`: each word is a
/// server's name, a group (`rust`, `python`, ...) or `all`. A word that is
/// none of these is an error listing what there is.
pub fn select(specs: Vec<ServerSpec>, wanted: &[String]) -> Result<Vec<ServerSpec>> {
    for word in wanted {
        let known =
            word == ALL_SERVERS || specs.iter().any(|s| &s.name == word || &s.group == word);
        if !known {
            let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            let mut groups: Vec<&str> = specs.iter().map(|s| s.group.as_str()).collect();
            groups.sort_unstable();
            groups.dedup();
            groups.push(ALL_SERVERS);
            return Err(Error::UnknownServer {
                word: word.clone(),
                servers: names.join(", "),
                groups: groups.join(", "),
            });
        }
    }
    let chosen = |s: &ServerSpec| {
        wanted.iter().any(|w| {
            (w == ALL_SERVERS && s.group != INJECTED_GROUP) || *w == s.name || *w == s.group
        })
    };
    Ok(specs.into_iter().filter(chosen).collect())
}

/// The servers `wanted` names among those under `servers_dir` (see
/// [`select`]), then those of every word that is a path (it holds a `/`):
/// a server's folder, or its manifest, anywhere. A path's servers are all
/// run, variants included, but for any in the `injected` group. Two
/// servers of one name are an error.
pub fn load_selected(servers_dir: &Path, wanted: &[String]) -> Result<Vec<ServerSpec>> {
    let (paths, words): (Vec<&String>, Vec<&String>) = wanted.iter().partition(|w| w.contains('/'));
    let words: Vec<String> = words.into_iter().cloned().collect();
    let mut chosen = match words.is_empty() {
        true => Vec::new(),
        false => select(ServerSpec::load_dir(servers_dir)?, &words)?,
    };
    for path in paths {
        let path = Path::new(path);
        let manifest = match path.is_dir() {
            true => path.join(MANIFEST_FILE),
            false => path.to_owned(),
        };
        for spec in ServerSpec::load(&manifest)? {
            if spec.group == INJECTED_GROUP {
                continue;
            }
            if let Some(first) = chosen.iter().find(|s| s.name == spec.name) {
                return Err(Error::DuplicateServer {
                    name: spec.name,
                    first: first.manifest.clone(),
                    second: manifest,
                });
            }
            chosen.push(spec);
        }
    }
    Ok(chosen)
}

pub use crate::config::DEFAULT_GROUP;

fn default_group() -> String {
    DEFAULT_GROUP.to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    name: String,
    #[serde(default)]
    description: String,
    /// The variant's own group; the manifest's when absent.
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    extra_args: Vec<String>,
}

/// One server the harness can build, start and measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub name: String,
    pub description: String,
    /// `rust`, `python`, ...: what `FRAMEWORK_BENCH_SERVERS` selects by.
    pub group: String,
    /// The folder holding the manifest.
    pub dir: PathBuf,
    pub manifest: PathBuf,
    pub version: VersionSource,
    pub build: Option<BuildStep>,
    /// The command line template, placeholders unfilled.
    pub run: Vec<String>,
    /// How the harness knows it is ready.
    pub ready: Readiness,
    /// What it is measured on: its manifest's requests, or the contract's.
    pub requests: RequestSet,
}

/// A setting the harness gives every server the same, where it can.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    /// The listen backlog (`--backlog N`, or `{backlog}`).
    Backlog,
    /// The worker threads (`{workers}`).
    Workers,
}

impl Setting {
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::Backlog => "backlog",
            Setting::Workers => "workers",
        }
    }
}

/// What fills the placeholders of a run template.
#[derive(Debug, Clone)]
pub struct RunValues<'a> {
    pub bin: Option<&'a Path>,
    /// The interpreter of a `python_venv` build.
    pub python: Option<&'a Path>,
    pub port: u16,
    pub workers: usize,
    /// Appended as `--backlog N` when set; unset keeps the server's default.
    pub backlog: Option<u32>,
}

impl ServerSpec {
    /// Reads one manifest; a manifest with variants gives several specs.
    pub fn load(manifest: &Path) -> Result<Vec<ServerSpec>> {
        let text = std::fs::read_to_string(manifest).map_err(|source| Error::ReadFile {
            path: manifest.to_owned(),
            source,
        })?;
        let invalid = |message: String| Error::InvalidManifest {
            path: manifest.to_owned(),
            message,
        };
        let raw: RawManifest = toml::from_str(&text).map_err(|err| invalid(err.to_string()))?;
        let dir = manifest
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_owned);
        let ready = readiness(raw.ready).map_err(invalid)?;
        let requests = request_set(raw.requests, raw.burst, raw.mix, &dir).map_err(invalid)?;
        let base = ServerSpec {
            name: raw.name,
            description: raw.description,
            group: raw.group,
            dir,
            manifest: manifest.to_owned(),
            version: raw.version,
            build: raw.build,
            run: raw.run,
            ready,
            requests,
        };
        base.validate().map_err(invalid)?;
        let mut specs = vec![base.clone()];
        for variant in raw.variants {
            let mut spec = base.clone();
            spec.name = variant.name;
            if !variant.description.is_empty() {
                spec.description = variant.description;
            }
            if let Some(group) = variant.group {
                spec.group = group;
            }
            spec.run.extend(variant.extra_args);
            spec.validate().map_err(invalid)?;
            specs.push(spec);
        }
        Ok(specs)
    }

    /// Reads every `*/server.toml` directly under `servers_dir`, sorted by
    /// name. Any broken manifest fails the whole load: a run never goes on
    /// with a silently smaller set of servers.
    pub fn load_dir(servers_dir: &Path) -> Result<Vec<ServerSpec>> {
        let entries = std::fs::read_dir(servers_dir).map_err(|source| Error::ReadFile {
            path: servers_dir.to_owned(),
            source,
        })?;
        let mut manifests: Vec<PathBuf> = entries
            .filter_map(|entry| Some(entry.ok()?.path().join(MANIFEST_FILE)))
            .filter(|path| path.is_file())
            .collect();
        manifests.sort();
        if manifests.is_empty() {
            return Err(Error::NoManifests(servers_dir.to_owned()));
        }
        let mut by_name: BTreeMap<String, ServerSpec> = BTreeMap::new();
        for manifest in manifests {
            for spec in ServerSpec::load(&manifest)? {
                if let Some(first) = by_name.get(&spec.name) {
                    return Err(Error::DuplicateServer {
                        name: spec.name,
                        first: first.manifest.clone(),
                        second: manifest,
                    });
                }
                by_name.insert(spec.name.clone(), spec);
            }
        }
        Ok(by_name.into_values().collect())
    }

    fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !name_ok {
            return Err(format!(
                "name `{}` must be non-empty ASCII letters, digits, `-`, `_` or `.`",
                self.name
            ));
        }
        let group_ok = !self.group.is_empty()
            && self.group != ALL_SERVERS
            && self
                .group
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !group_ok {
            return Err(format!(
                "group `{}` must be ASCII letters, digits, `-` or `_`, and not `{ALL_SERVERS}`",
                self.group
            ));
        }
        if self.run.is_empty() {
            return Err("`run` must name a program".into());
        }
        if !self.run.iter().any(|arg| arg.contains("{port}")) {
            return Err("`run` must pass `{port}` to the server".into());
        }
        let uses_bin = self.run.iter().any(|arg| arg.contains("{bin}"));
        let has_cargo_build = matches!(self.build, Some(BuildStep::CargoPackage(_)));
        if uses_bin && !has_cargo_build {
            return Err("`{bin}` needs `build = { cargo_package = \"...\" }`".into());
        }
        let uses_python = self.run.iter().any(|arg| arg.contains("{python}"));
        let has_venv = self.python_venv().is_some();
        if uses_python && !has_venv {
            return Err("`{python}` needs `build = { python_venv = { ... } }`".into());
        }
        if matches!(self.version, VersionSource::PythonPackage(_)) && !has_venv {
            return Err(
                "`version.python_package` needs `build = { python_venv = { ... } }`".into(),
            );
        }
        if let Some(venv) = self.python_venv() {
            let plain = venv.requirements.is_relative()
                && venv
                    .requirements
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !plain {
                return Err(format!(
                    "`build.python_venv.requirements` must be a path inside the server's folder, not `{}`",
                    venv.requirements.display()
                ));
            }
            if venv.python.is_empty() {
                return Err("`build.python_venv.python` is empty".into());
            }
        }
        if let Some(BuildStep::Command(command)) = &self.build
            && command.is_empty()
        {
            return Err("`build.command` is empty".into());
        }
        if let VersionSource::Command(command) = &self.version
            && command.is_empty()
        {
            return Err("`version.command` is empty".into());
        }
        for arg in &self.run {
            check_placeholders(arg)?;
            // It must be possible to leave it out whole: see command_line.
            let alone =
                arg == BACKLOG || (arg.starts_with('-') && arg.ends_with(&format!("={BACKLOG}")));
            if arg.contains(BACKLOG) && !alone {
                return Err(format!(
                    "`{arg}`: `{BACKLOG}` is an argument of its own (after its flag) or `--flag={BACKLOG}`, so that it can be left out with FRAMEWORK_BENCH_BACKLOG=default"
                ));
            }
        }
        Ok(())
    }

    /// The cargo package this server is built from, if any.
    pub fn cargo_package(&self) -> Option<&str> {
        match &self.build {
            Some(BuildStep::CargoPackage(package)) => Some(package),
            _ => None,
        }
    }

    /// The virtual environment this server is built into, if any.
    pub fn python_venv(&self) -> Option<&PythonVenv> {
        match &self.build {
            Some(BuildStep::PythonVenv(venv)) => Some(venv),
            _ => None,
        }
    }

    /// The command line with every placeholder filled.
    pub fn command_line(&self, values: &RunValues<'_>) -> Vec<String> {
        let bin = values
            .bin
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let python = values
            .python
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let dir = self.dir.display().to_string();
        let backlog = values.backlog.map(|b| b.to_string());
        let mut argv: Vec<String> = Vec::with_capacity(self.run.len() + 2);
        for arg in &self.run {
            if arg.contains(BACKLOG) && backlog.is_none() {
                // No backlog to give: the argument goes, and the flag
                // before it (`--backlog`, `{backlog}`) with it.
                let flag = argv
                    .last()
                    .is_some_and(|prev: &String| prev.starts_with('-') && !prev.contains('='));
                if flag && !arg.starts_with('-') {
                    argv.pop();
                }
                continue;
            }
            argv.push(
                arg.replace("{bin}", &bin)
                    .replace("{python}", &python)
                    .replace("{dir}", &dir)
                    .replace("{port}", &values.port.to_string())
                    .replace("{workers}", &values.workers.to_string())
                    .replace(BACKLOG, backlog.as_deref().unwrap_or_default()),
            );
        }
        if let Some(backlog) = backlog
            && self.ready.is_contract()
            && !self.places(BACKLOG)
        {
            argv.extend(["--backlog".to_owned(), backlog]);
        }
        argv
    }

    /// Whether `run` places this placeholder.
    fn places(&self, placeholder: &str) -> bool {
        self.run.iter().any(|arg| arg.contains(placeholder))
    }

    /// The settings this server cannot be given: the backlog unless it
    /// follows the contract or places `{backlog}`, the workers unless it
    /// places `{workers}`. A row says so.
    pub fn not_settable(&self) -> Vec<Setting> {
        let backlog = self.ready.is_contract() || self.places(BACKLOG);
        let workers = self.places("{workers}");
        [(Setting::Backlog, backlog), (Setting::Workers, workers)]
            .into_iter()
            .filter(|(_, settable)| !settable)
            .map(|(setting, _)| setting)
            .collect()
    }
}

const BACKLOG: &str = "{backlog}";

const PLACEHOLDERS: [&str; 6] = ["{bin}", "{python}", "{dir}", "{port}", "{workers}", BACKLOG];

fn check_placeholders(arg: &str) -> Result<(), String> {
    let mut rest = arg;
    while let Some(start) = rest.find('{') {
        let tail = &rest[start..];
        match PLACEHOLDERS.iter().find(|p| tail.starts_with(*p)) {
            Some(p) => rest = &tail[p.len()..],
            None => {
                return Err(format!(
                    "unknown placeholder in `{arg}`; known: {}",
                    PLACEHOLDERS.join(", ")
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_manifest(dir: &Path, folder: &str, text: &str) -> PathBuf {
        let folder = dir.join(folder);
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(MANIFEST_FILE);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "framework-bench-manifest-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const AXUM: &str = r#"
name = "axum"
version = { cargo_lock = "axum" }
build = { cargo_package = "server-axum" }
run = ["{bin}", "--port", "{port}", "--workers", "{workers}"]

[[variants]]
name = "axum-nodelay"
extra_args = ["--nodelay"]

[[variants]]
name = "axum-same"
group = "injected"
"#;

    #[test]
    fn a_variant_may_sit_in_a_group_of_its_own() {
        let dir = temp_dir("variant-group");
        let specs = ServerSpec::load(&write_manifest(&dir, "axum", AXUM)).unwrap();
        let groups: Vec<(&str, &str)> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.group.as_str()))
            .collect();
        assert_eq!(
            groups,
            [
                ("axum", "rust"),
                ("axum-nodelay", "rust"),
                ("axum-same", "injected")
            ]
        );
        assert_eq!(specs[2].run, specs[0].run);
    }

    #[test]
    fn all_leaves_the_injected_servers_out_and_names_still_reach_them() {
        let dir = temp_dir("select-injected");
        let specs = ServerSpec::load(&write_manifest(&dir, "axum", AXUM)).unwrap();
        let names = |wanted: &[&str]| -> Vec<String> {
            let wanted: Vec<String> = wanted.iter().map(|w| (*w).to_owned()).collect();
            select(specs.clone(), &wanted)
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        assert_eq!(names(&["all"]), ["axum", "axum-nodelay"]);
        assert_eq!(names(&["axum-same"]), ["axum-same"]);
        assert_eq!(names(&[INJECTED_GROUP]), ["axum-same"]);
    }

    #[test]
    fn loads_a_manifest_with_a_variant() {
        let dir = temp_dir("variant");
        let specs = ServerSpec::load(&write_manifest(&dir, "axum", AXUM)).unwrap();
        assert_eq!(specs.len(), 3);
        assert_eq!(specs[0].name, "axum");
        assert_eq!(specs[0].cargo_package(), Some("server-axum"));
        assert_eq!(specs[0].version, VersionSource::CargoLock("axum".into()));
        assert_eq!(specs[1].name, "axum-nodelay");
        let values = RunValues {
            bin: Some(Path::new("/t/server-axum")),
            python: None,
            port: 0,
            workers: 2,
            backlog: Some(2000),
        };
        assert_eq!(
            specs[1].command_line(&values),
            [
                "/t/server-axum",
                "--port",
                "0",
                "--workers",
                "2",
                "--nodelay",
                "--backlog",
                "2000"
            ]
        );
    }

    #[test]
    fn a_script_server_needs_no_cargo() {
        let dir = temp_dir("script");
        let text = r#"
name = "bottle"
version = { command = ["python3", "-c", "import bottle; print(bottle.__version__)"] }
run = ["python3", "{dir}/app.py", "--port={port}"]
"#;
        let specs = ServerSpec::load(&write_manifest(&dir, "bottle", text)).unwrap();
        let line = specs[0].command_line(&RunValues {
            bin: None,
            python: None,
            port: 8080,
            workers: 1,
            backlog: None,
        });
        assert_eq!(line[1], format!("{}/app.py", dir.join("bottle").display()));
        assert_eq!(line[2], "--port=8080");
    }

    #[test]
    fn a_python_server_runs_the_interpreter_of_its_venv() {
        let dir = temp_dir("python");
        let text = r#"
name = "bottle"
group = "python"
version = { python_package = "bottle" }
build = { python_venv = { requirements = "requirements.txt" } }
run = ["{python}", "{dir}/app.py", "--port", "{port}", "--workers", "{workers}"]
"#;
        let specs = ServerSpec::load(&write_manifest(&dir, "bottle", text)).unwrap();
        let venv = specs[0].python_venv().unwrap();
        assert_eq!(venv.requirements, Path::new("requirements.txt"));
        assert_eq!(venv.python, "python3");
        assert_eq!(
            specs[0].version,
            VersionSource::PythonPackage("bottle".into())
        );
        let line = specs[0].command_line(&RunValues {
            bin: None,
            python: Some(Path::new("/v/bottle/bin/python")),
            port: 0,
            workers: 1,
            backlog: Some(2000),
        });
        let app = format!("{}/app.py", dir.join("bottle").display());
        assert_eq!(
            line,
            [
                "/v/bottle/bin/python",
                &app,
                "--port",
                "0",
                "--workers",
                "1",
                "--backlog",
                "2000"
            ]
        );
    }

    #[test]
    fn broken_manifests_name_the_file_and_the_problem() {
        let dir = temp_dir("broken");
        let cases = [
            ("syntax", "name = \n", "invalid server manifest"),
            (
                "unknown-key",
                "name = \"x\"\nversion = { value = \"1\" }\nrun = [\"a\", \"{port}\"]\nport = 3\n",
                "unknown field",
            ),
            (
                "no-port",
                "name = \"x\"\nversion = { value = \"1\" }\nrun = [\"a\"]\n",
                "{port}",
            ),
            (
                "bin-without-cargo",
                "name = \"x\"\nversion = { value = \"1\" }\nrun = [\"{bin}\", \"{port}\"]\n",
                "cargo_package",
            ),
            (
                "bad-placeholder",
                "name = \"x\"\nversion = { value = \"1\" }\nrun = [\"a\", \"{port}\", \"{threads}\"]\n",
                "unknown placeholder",
            ),
            (
                "backlog-inside",
                "name = \"x\"\nversion = { value = \"1\" }\nrun = [\"sh\", \"-c\", \"srv {port} -b {backlog}\"]\n",
                "is an argument of its own",
            ),
            (
                "bad-name",
                "name = \"../x\"\nversion = { value = \"1\" }\nrun = [\"a\", \"{port}\"]\n",
                "name",
            ),
            (
                "python-without-venv",
                "name = \"x\"\nversion = { value = \"1\" }\nrun = [\"{python}\", \"{port}\"]\n",
                "python_venv",
            ),
            (
                "package-version-without-venv",
                "name = \"x\"\nversion = { python_package = \"x\" }\nrun = [\"a\", \"{port}\"]\n",
                "python_venv",
            ),
            (
                "requirements-outside",
                "name = \"x\"\nversion = { value = \"1\" }\n\
                 build = { python_venv = { requirements = \"../../etc/x.txt\" } }\n\
                 run = [\"{python}\", \"{port}\"]\n",
                "inside the server's folder",
            ),
            (
                "venv-unknown-key",
                "name = \"x\"\nversion = { value = \"1\" }\n\
                 build = { python_venv = { requirements = \"r.txt\", pyton = \"3\" } }\n\
                 run = [\"{python}\", \"{port}\"]\n",
                "unknown field",
            ),
        ];
        for (folder, text, expected) in cases {
            let path = write_manifest(&dir, folder, text);
            let err = ServerSpec::load(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{folder}: {err}");
            assert!(err.contains(&path.display().to_string()), "{folder}: {err}");
        }
    }

    /// A third-party server with every request field, for the tests below.
    const OWN: &str = r#"
name = "own"
version = { value = "1" }
run = ["python3", "-u", "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
ready = { line_contains = "port {port}" }
burst = "item"
mix = { page = 3, item = 1 }

[[requests]]
name = "page"
path = "/hello.txt"

[[requests]]
name = "item"
method = "POST"
path = "/items?x=1"
headers = { content-type = "application/json", x-trace = "on" }
body_file = "item.json"
expect = { status = 201, length = 27 }

[[requests]]
name = "exact"
method = "PUT"
path = "/e"
body = "abc"
expect = { body_file = "www/e.txt" }

[[requests]]
name = "inline"
method = "DELETE"
path = "/i"
expect = { status = 204, body = "" }
"#;

    fn own_dir(tag: &str) -> (PathBuf, PathBuf) {
        let dir = temp_dir(tag);
        let manifest = write_manifest(&dir, "own", OWN);
        let folder = manifest.parent().unwrap().to_owned();
        std::fs::write(folder.join("item.json"), br#"{"name":"x"}"#).unwrap();
        std::fs::create_dir_all(folder.join("www")).unwrap();
        std::fs::write(folder.join("www/e.txt"), "done").unwrap();
        (folder, manifest)
    }

    #[test]
    fn declared_requests_are_read_field_by_field_with_their_defaults() {
        use crate::load::{BodyCheck, Method, Route};
        let (_, manifest) = own_dir("own-fields");
        let spec = ServerSpec::load(&manifest).unwrap().remove(0);
        assert_eq!(spec.ready, Readiness::LineContains("port {port}".into()));
        let set = &spec.requests;
        assert!(set.is_declared());
        let names: Vec<&str> = set.names().map(Route::name).collect();
        assert_eq!(names, ["page", "item", "exact", "inline"]);
        let page = &set.all()[0];
        assert_eq!(
            (page.method, page.path.as_str()),
            (Method::Get, "/hello.txt")
        );
        assert_eq!(
            (page.expect.status, &page.expect.body),
            (200, &BodyCheck::Any)
        );
        assert!(page.body.is_empty() && page.headers.is_empty());
        let item = &set.all()[1];
        assert_eq!(item.method, Method::Post);
        assert_eq!(item.path, "/items?x=1");
        assert_eq!(
            item.headers,
            [
                ("content-type".to_owned(), "application/json".to_owned()),
                ("x-trace".to_owned(), "on".to_owned())
            ]
        );
        assert_eq!(item.body, br#"{"name":"x"}"#);
        assert_eq!(
            (item.expect.status, &item.expect.body),
            (201, &BodyCheck::Length(27))
        );
        let exact = &set.all()[2];
        assert_eq!(
            (exact.method, exact.body.as_slice()),
            (Method::Put, &b"abc"[..])
        );
        assert_eq!(exact.expect.body, BodyCheck::Exact(b"done".to_vec()));
        let inline = &set.all()[3];
        assert_eq!(inline.expect.status, 204);
        assert_eq!(inline.expect.body, BodyCheck::Exact(Vec::new()));
        assert_eq!(set.burst().name, Route::new("item"));
        assert_eq!(set.sweep().describe(), "page ×3 + item ×1");
        assert_eq!(set.rate_loads().len(), 1);
        assert_eq!(
            spec.not_settable(),
            [Setting::Backlog, Setting::Workers],
            "no {{backlog}}, no {{workers}}, no contract"
        );
        let line = spec.command_line(&RunValues {
            bin: None,
            python: None,
            port: 8123,
            workers: 2,
            backlog: Some(2000),
        });
        assert_eq!(
            line.last().map(String::as_str),
            Some("8123"),
            "nothing appended"
        );
    }

    #[test]
    fn a_manifest_without_requests_is_measured_on_the_contracts() {
        let dir = temp_dir("contract-requests");
        let spec = ServerSpec::load(&write_manifest(&dir, "axum", AXUM))
            .unwrap()
            .remove(0);
        assert_eq!(spec.requests, crate::load::request::RequestSet::contract());
        assert_eq!(spec.ready, Readiness::ContractLine);
        assert!(spec.not_settable().is_empty());
        let defaults = "name = \"x\"\nversion = { value = \"1\" }\nrun = [\"a\", \"{port}\"]\nready = \"probe\"\n[[requests]]\nname = \"one\"\npath = \"/\"\n";
        let spec = ServerSpec::load(&write_manifest(&dir, "x", defaults))
            .unwrap()
            .remove(0);
        assert_eq!(spec.ready, Readiness::Probe);
        assert_eq!(spec.requests.burst().name.name(), "one");
        assert_eq!(spec.requests.sweep().describe(), "one");
    }

    #[test]
    fn backlog_and_workers_reach_a_server_only_where_its_template_places_them() {
        let dir = temp_dir("backlog-placeholder");
        let text = "name = \"x\"\nversion = { value = \"1\" }\nready = \"probe\"\nrun = [\"srv\", \"{port}\", \"--backlog\", \"{backlog}\", \"-t={workers}\"]\n";
        let spec = ServerSpec::load(&write_manifest(&dir, "x", text))
            .unwrap()
            .remove(0);
        assert!(spec.not_settable().is_empty());
        let line = |backlog| {
            spec.command_line(&RunValues {
                bin: None,
                python: None,
                port: 9,
                workers: 3,
                backlog,
            })
        };
        assert_eq!(line(Some(512)), ["srv", "9", "--backlog", "512", "-t=3"]);
        // FRAMEWORK_BENCH_BACKLOG=default: the flag goes with its value.
        assert_eq!(line(None), ["srv", "9", "-t=3"]);
    }

    #[test]
    fn bad_requests_are_refused_naming_the_file_and_the_field() {
        let (folder, _) = own_dir("own-bad");
        let base = "name = \"x\"\nversion = { value = \"1\" }\nrun = [\"a\", \"{port}\"]\n";
        let one =
            |fields: &str| format!("{base}[[requests]]\nname = \"r\"\npath = \"/\"\n{fields}");
        let cases = [
            (
                "method",
                one("method = \"FETCH\"\n"),
                "`requests[0].method`: unknown method `FETCH`",
            ),
            (
                "lower-method",
                one("method = \"post\"\n"),
                "`requests[0].method`",
            ),
            (
                "path",
                format!("{base}[[requests]]\nname = \"r\"\npath = \"hello\"\n"),
                "`requests[0].path`: `hello` must start with `/`",
            ),
            (
                "both-bodies",
                one("body = \"a\"\nbody_file = \"item.json\"\n"),
                "`requests[0].body`: give `body` or `body_file`, not both",
            ),
            (
                "missing-body-file",
                one("body_file = \"nope.json\"\n"),
                "`requests[0].body_file`: cannot read",
            ),
            (
                "body-file-outside",
                one("body_file = \"../x\"\n"),
                "must be a path inside the server's folder",
            ),
            (
                "missing-expected-file",
                one("expect = { body_file = \"nope\" }\n"),
                "`requests[0].expect.body_file`",
            ),
            (
                "expected-both",
                one("expect = { body = \"a\", body_file = \"item.json\" }\n"),
                "`requests[0].expect.body`",
            ),
            (
                "body-and-length",
                one("expect = { body = \"a\", length = 1 }\n"),
                "`requests[0].expect`: give an exact body or a length",
            ),
            (
                "status-low",
                one("expect = { status = 99 }\n"),
                "`requests[0].expect.status`: 99 is not a status (100 to 599)",
            ),
            (
                "status-high",
                one("expect = { status = 600 }\n"),
                "`requests[0].expect.status`: 600",
            ),
            (
                "status-interim",
                one("expect = { status = 101 }\n"),
                "`requests[0].expect.status`: 101 is an interim answer",
            ),
            (
                "no-content-length",
                one("expect = { status = 204, length = 3 }\n"),
                "`requests[0].expect`: a 204 has no body",
            ),
            (
                "status-huge",
                one("expect = { status = 70000 }\n"),
                "70000 is not a status",
            ),
            (
                "duplicate",
                format!("{}[[requests]]\nname = \"r\"\npath = \"/b\"\n", one("")),
                "`requests[1].name`: two requests are named `r`",
            ),
            (
                "bad-name",
                format!("{base}[[requests]]\nname = \"Big One\"\npath = \"/\"\n"),
                "`requests[0].name`",
            ),
            (
                "percentile-name",
                format!("{base}[[requests]]\nname = \"get-max\"\npath = \"/\"\n"),
                "`requests[0].name`",
            ),
            (
                "client-header",
                one("headers = { Content-Length = \"3\" }\n"),
                "`requests[0].headers`: `Content-Length` is set by the client",
            ),
            (
                "header-newline",
                one("headers = { x-a = \"1\\r\\nx-b: 2\" }\n"),
                "`requests[0].headers.x-a`: a value is one line",
            ),
            (
                "unknown-field",
                one("expect = { code = 200 }\n"),
                "unknown field `code`",
            ),
            (
                "burst-unknown",
                format!("burst = \"nope\"\n{}", one("")),
                "`burst`: no request is named `nope`; declared: r",
            ),
            (
                "burst-without-requests",
                format!("burst = \"r\"\n{base}"),
                "declare them with `[[requests]]`",
            ),
            (
                "ready",
                format!("ready = \"soon\"\n{base}"),
                "`ready`: \"line\"",
            ),
            (
                "ready-empty",
                format!("ready = {{ line_contains = \"\" }}\n{base}"),
                "`ready`",
            ),
        ];
        for (tag, text, expected) in cases {
            let path = folder.join(format!("{tag}.toml"));
            std::fs::write(&path, &text).unwrap();
            let err = ServerSpec::load(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{tag}: {err}");
            assert!(err.contains(&path.display().to_string()), "{tag}: {err}");
        }
        // A weight of 0, and one beyond the cycle's length.
        for (weight, tag) in [(0, "zero"), (1001, "huge")] {
            let text = format!("mix = {{ r = {weight} }}\n{}", one(""));
            let path = folder.join(format!("weight-{tag}.toml"));
            std::fs::write(&path, &text).unwrap();
            let err = ServerSpec::load(&path).unwrap_err().to_string();
            assert!(
                err.contains(&format!("`mix.r`: a weight is 1 to 1000, not {weight}")),
                "{err}"
            );
        }
        let path = folder.join("mix-unknown.toml");
        std::fs::write(&path, format!("mix = {{ q = 1 }}\n{}", one(""))).unwrap();
        let err = ServerSpec::load(&path).unwrap_err().to_string();
        assert!(err.contains("`mix.q`: no request is named `q`"), "{err}");
    }

    fn spec(name: &str, group: &str) -> ServerSpec {
        ServerSpec {
            name: name.into(),
            group: group.into(),
            ..ServerSpec::load(&write_manifest(&temp_dir(name), name, AXUM))
                .unwrap()
                .remove(0)
        }
    }

    #[test]
    fn servers_are_selected_by_name_group_or_all_and_unknown_words_are_refused() {
        let specs = vec![
            spec("actix-web", "rust"),
            spec("axum", "rust"),
            spec("flask", "python"),
        ];
        let names = |wanted: &[&str]| -> Vec<String> {
            let wanted: Vec<String> = wanted.iter().map(|w| w.to_string()).collect();
            select(specs.clone(), &wanted)
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        assert_eq!(names(&["rust"]), ["actix-web", "axum"]);
        assert_eq!(names(&["python", "axum"]), ["axum", "flask"]);
        assert_eq!(names(&["all"]), ["actix-web", "axum", "flask"]);
        let err = select(specs.clone(), &["rocket".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`rocket`"), "{err}");
        assert!(err.contains("actix-web, axum, flask"), "{err}");
        assert!(err.contains("python, rust, all"), "{err}");
    }

    #[test]
    fn a_group_must_be_a_plain_word_and_not_all() {
        for bad in ["all", "", "r s"] {
            let dir = temp_dir(&format!("group-{}", bad.len()));
            let text = format!("group = \"{bad}\"\n{AXUM}");
            let manifest = write_manifest(&dir, "a", &text);
            let err = ServerSpec::load(&manifest).unwrap_err().to_string();
            // The message, not the path (which holds `group-N` too).
            assert!(
                err.contains(&format!("group `{bad}` must be")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn load_dir_sorts_and_rejects_duplicates() {
        let dir = temp_dir("dir");
        write_manifest(
            &dir,
            "b",
            "name = \"b\"\nversion = { value = \"1\" }\nrun = [\"x\", \"{port}\"]\n",
        );
        write_manifest(&dir, "a", AXUM);
        std::fs::create_dir_all(dir.join("not-a-server")).unwrap();
        let names: Vec<_> = ServerSpec::load_dir(&dir)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["axum", "axum-nodelay", "axum-same", "b"]);

        write_manifest(
            &dir,
            "c",
            "name = \"b\"\nversion = { value = \"1\" }\nrun = [\"x\", \"{port}\"]\n",
        );
        let err = ServerSpec::load_dir(&dir).unwrap_err();
        assert!(matches!(err, Error::DuplicateServer { .. }), "{err}");

        let empty = temp_dir("empty");
        assert!(matches!(
            ServerSpec::load_dir(&empty),
            Err(Error::NoManifests(_))
        ));
    }
}
