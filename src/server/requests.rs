//! A manifest's requests, its readiness and what it says of its settings,
//! read and checked before anything starts. Every error names the field
//! (`requests[1].method`); the caller adds the file.
//!
//! ```toml
//! ready = { line_contains = "Serving HTTP on" }   # or "line" (the contract's), or "probe"
//! burst = "hello"                 # the request the burst sends: the first if absent
//! mix = { hello = 3, item = 1 }   # what the sweep and constant-rate runs send: the first alone if absent
//!
//! [[requests]]
//! name = "item"                   # latency-item/<server>
//! method = "POST"                 # GET if absent
//! path = "/items"
//! headers = { content-type = "application/json" }
//! body = '{"name":"x"}'           # or body_file = "item.json", in the server's folder
//! expect = { status = 201, length = 27 }   # or body = "...", body_file = "...", or neither (any body)
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::load::request::{
    BodyCheck, Expect, MAX_MIX_WEIGHT, Method, Mix, RequestSet, RequestSpec,
};
use crate::load::route::{Route, is_valid_name};

/// How the harness knows a server is ready for its first request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// The contract's ready line, `listening on 127.0.0.1:PORT`, as the
    /// first line on stdout; the server picks its port (`{port}` is 0).
    ContractLine,
    /// A line on stdout or stderr holding this text (`{port}` filled);
    /// the harness picks the port.
    LineContains(String),
    /// Nothing printed: the harness picks the port and sends the first
    /// request until it gets the expected answer.
    Probe,
}

impl Readiness {
    /// Whether the server follows the contract's command line too: it is
    /// then given `--backlog N` unless its `run` places `{backlog}`.
    pub fn is_contract(&self) -> bool {
        matches!(self, Readiness::ContractLine)
    }
}

/// The manifest's request fields, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequest {
    name: String,
    method: Option<String>,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    body_file: Option<PathBuf>,
    expect: Option<RawExpect>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpect {
    status: Option<i64>,
    body: Option<String>,
    body_file: Option<PathBuf>,
    length: Option<u64>,
}

/// Headers the client sets itself.
const CLIENT_HEADERS: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// The manifest's requests as a set; none gives the contract's. `dir` is
/// the server's folder, where body files are read from.
pub(crate) fn request_set(
    raw: Vec<RawRequest>,
    burst: Option<String>,
    mix: Option<BTreeMap<String, i64>>,
    dir: &Path,
) -> Result<RequestSet, String> {
    if raw.is_empty() {
        if burst.is_some() || mix.is_some() {
            return Err("`burst` and `mix` name requests: declare them with `[[requests]]`".into());
        }
        return Ok(RequestSet::contract());
    }
    let mut requests = Vec::with_capacity(raw.len());
    let mut names = BTreeSet::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let request = request(raw, dir).map_err(|e| format!("`requests[{i}].{e}"))?;
        if !names.insert(request.name) {
            return Err(format!(
                "`requests[{i}].name`: two requests are named `{}`",
                request.name
            ));
        }
        requests.push(request);
    }
    let index_of = |field: &str, name: &str| {
        requests
            .iter()
            .position(|r| r.name.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = requests.iter().map(|r| r.name.name()).collect();
                format!(
                    "`{field}`: no request is named `{name}`; declared: {}",
                    known.join(", ")
                )
            })
    };
    let burst = match burst {
        Some(name) => index_of("burst", &name)?,
        None => 0,
    };
    let mix = match mix {
        None => Mix::single(requests[0].clone()),
        Some(weights) => {
            let mut entries = Vec::new();
            for (name, weight) in &weights {
                let i = index_of(&format!("mix.{name}"), name)?;
                let weight = u32::try_from(*weight)
                    .ok()
                    .filter(|w| (1..=MAX_MIX_WEIGHT).contains(w))
                    .ok_or_else(|| {
                        format!("`mix.{name}`: a weight is 1 to {MAX_MIX_WEIGHT}, not {weight}")
                    })?;
                entries.push((i, weight));
            }
            // Declared order, whatever the table's.
            entries.sort_unstable();
            let entries = entries
                .into_iter()
                .map(|(i, w)| (requests[i].clone(), w))
                .collect();
            Mix::weighted(entries).ok_or_else(|| {
                format!(
                    "`mix`: one request at least, the weights adding up to {MAX_MIX_WEIGHT} at most"
                )
            })?
        }
    };
    Ok(RequestSet::declared(requests, burst, mix))
}

/// One request; an error starts with its field (`method`: ...).
fn request(raw: RawRequest, dir: &Path) -> Result<RequestSpec, String> {
    if !is_valid_name(&raw.name) {
        return Err(format!(
            "name`: `{}` must be lowercase letters, digits, `-` or `_`, starting with a letter (40 at most)",
            raw.name
        ));
    }
    let method = match raw.method.as_deref() {
        None => Method::Get,
        Some(text) => Method::parse(text).ok_or_else(|| {
            let known: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
            format!(
                "method`: unknown method `{text}`; known: {}",
                known.join(", ")
            )
        })?,
    };
    if !raw.path.starts_with('/') {
        return Err(format!("path`: `{}` must start with `/`", raw.path));
    }
    if raw
        .path
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(format!(
            "path`: `{}` holds a space or a control character",
            raw.path
        ));
    }
    let headers = headers(raw.headers)?;
    let body = body("", raw.body, raw.body_file, dir)?.unwrap_or_default();
    let expect = expect(raw.expect.unwrap_or_default(), dir)?;
    Ok(RequestSpec {
        name: Route::new(&raw.name),
        method,
        path: raw.path,
        headers,
        body,
        expect,
    })
}

fn headers(raw: BTreeMap<String, String>) -> Result<Vec<(String, String)>, String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    raw.into_iter()
        .map(|(name, value)| {
            if name.is_empty() || !name.chars().all(token) {
                return Err(format!("headers`: `{name}` is not a header name"));
            }
            if CLIENT_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(format!(
                    "headers`: `{name}` is set by the client (it sets {})",
                    CLIENT_HEADERS.join(", ")
                ));
            }
            if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
                return Err(format!("headers.{name}`: a value is one line"));
            }
            Ok((name, value))
        })
        .collect()
}

/// A body given inline or from a file in the server's folder (`prefix` is
/// `expect.` for the expected one); `None` if neither.
fn body(
    prefix: &str,
    inline: Option<String>,
    file: Option<PathBuf>,
    dir: &Path,
) -> Result<Option<Vec<u8>>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!(
            "{prefix}body`: give `{prefix}body` or `{prefix}body_file`, not both"
        )),
        (Some(text), None) => Ok(Some(text.into_bytes())),
        (None, Some(file)) => {
            let plain =
                file.is_relative() && file.components().all(|c| matches!(c, Component::Normal(_)));
            if !plain {
                return Err(format!(
                    "{prefix}body_file`: `{}` must be a path inside the server's folder",
                    file.display()
                ));
            }
            let path = dir.join(&file);
            std::fs::read(&path)
                .map(Some)
                .map_err(|err| format!("{prefix}body_file`: cannot read {}: {err}", path.display()))
        }
        (None, None) => Ok(None),
    }
}

fn expect(raw: RawExpect, dir: &Path) -> Result<Expect, String> {
    let status = raw.status.unwrap_or(200);
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| format!("expect.status`: {status} is not a status (100 to 599)"))?;
    if status < 200 {
        return Err(format!(
            "expect.status`: {status} is an interim answer, never the last (200 to 599)"
        ));
    }
    let exact = body("expect.", raw.body, raw.body_file, dir)?;
    let body = match (exact, raw.length) {
        (Some(_), Some(_)) => {
            return Err("expect`: give an exact body or a length, not both".into());
        }
        (Some(bytes), None) => BodyCheck::Exact(bytes),
        (None, Some(length)) => BodyCheck::Length(length),
        (None, None) => BodyCheck::Any,
    };
    let bodiless = matches!(status, 204 | 304);
    let wants_bytes = match &body {
        BodyCheck::Exact(bytes) => !bytes.is_empty(),
        BodyCheck::Length(n) => *n > 0,
        BodyCheck::Any => false,
    };
    if bodiless && wants_bytes {
        return Err(format!(
            "expect`: a {status} has no body, so none can be checked"
        ));
    }
    Ok(Expect { status, body })
}

/// `ready`, as written: `"line"`, `"probe"` or `{ line_contains = "..." }`.
pub(crate) fn readiness(raw: Option<toml::Value>) -> Result<Readiness, String> {
    let Some(raw) = raw else {
        return Ok(Readiness::ContractLine);
    };
    let bad = || {
        "`ready`: \"line\" (the contract's ready line), \"probe\" (the harness picks the port and sends the first request until it is answered as expected), or { line_contains = \"...\" } (a line of the server's own on stdout or stderr)".to_owned()
    };
    match raw {
        toml::Value::String(word) if word == "line" => Ok(Readiness::ContractLine),
        toml::Value::String(word) if word == "probe" => Ok(Readiness::Probe),
        toml::Value::Table(table) if table.len() == 1 => match table.get("line_contains") {
            Some(toml::Value::String(text)) if !text.trim().is_empty() => {
                Ok(Readiness::LineContains(text.clone()))
            }
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}
