//! framework-bench: what a Rust web framework costs, measured on real server
//! processes: memory before and after load, per-request latency, throughput.
//!
//! The library does the work; the bench targets in `benches/` and the
//! `framework-bench` binary only wire it up. Folders follow the stages of a
//! run, in the order data flows through them:
//! - [`measure`]: readings of a process (memory, CPU time), the machine, and
//!   Criterion's bytes measurement;
//! - [`load`]: the bounded HTTP load sent to a server and its outcomes;
//! - [`server`]: what a server is (manifest), how it is built, and the guard
//!   around its running process;
//! - [`record`]: the run record, the schema every later stage reads;
//! - [`run`]: one `cargo bench` run: Criterion's arguments and the
//!   orchestration of the servers;
//! - [`compare`]: typed figures made from a run record, baselines, verdicts;
//! - [`report`]: every output, each rendering the same models;
//! - [`pipeline`]: the `cargo bench` job, the one place that wires the
//!   stages, Criterion and the reports together.
//!
//! [`config`], [`conditions`], [`error`], [`fs`], [`units`] and [`workspace`]
//! are used by every stage. No module imports from a stage after its own:
//! `tests` in this file read every `use crate::` and check it.

pub mod compare;
pub mod conditions;
pub mod config;
pub mod error;
pub mod fs;
pub mod load;
pub mod measure;
pub mod pipeline;
pub mod record;
pub mod report;
pub mod run;
pub mod server;
pub mod units;
pub mod workspace;

#[cfg(test)]
pub(crate) mod fixtures;

pub use error::{Error, Result};

/// The stages in the order data flows through them; a module may import
/// from its own stage and from any earlier one, never from a later one.
#[cfg(test)]
const STAGES: [&[&str]; 9] = [
    &["error", "units", "fs", "conditions", "workspace", "config"],
    &["measure"],
    &["load"],
    &["server"],
    &["record"],
    &["run"],
    &["compare"],
    &["report"],
    &["pipeline"],
];

#[cfg(test)]
mod tests {
    use super::STAGES;

    fn stage_of(module: &str) -> Option<usize> {
        STAGES.iter().position(|stage| stage.contains(&module))
    }

    /// The top-level modules a file's production code names as `crate::X`,
    /// `crate::{X::.., Y}` included.
    fn crate_imports(source: &str) -> Vec<String> {
        let production = source.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
        let mut found = Vec::new();
        for (at, _) in production.match_indices("crate::") {
            let rest = &production[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 1;
                let end = group
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '{' => 1,
                            '}' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .map_or(group.len(), |(i, _)| i);
                found.extend(top_level_items(&group[..end]));
            } else {
                found.push(leading_ident(rest));
            }
        }
        found.retain(|name| !name.is_empty());
        found
    }

    /// `a::b, c::{d, e}, f` gives `a`, `c`, `f`.
    fn top_level_items(group: &str) -> Vec<String> {
        let mut items = Vec::new();
        let mut depth = 0;
        let mut start = true;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => start = true,
                c if start && !c.is_whitespace() => {
                    items.push(leading_ident(&group[i..]));
                    start = false;
                }
                _ => {}
            }
        }
        items
    }

    fn leading_ident(text: &str) -> String {
        text.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    }

    /// Every `.rs` file under `dir`, with the top-level module it belongs to.
    fn sources(dir: &std::path::Path, module: Option<&str>, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let owner = module.map_or(stem.clone(), str::to_owned);
            if path.is_dir() {
                sources(&path, Some(&owner), out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((owner, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }

    #[test]
    fn no_module_imports_from_a_later_stage() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, None, &mut files);
        let mut upward = Vec::new();
        let mut checked = 0;
        for (module, source) in &files {
            // The crate root, the binary and the test fixtures stand above
            // every stage.
            let Some(own) = stage_of(module) else {
                assert!(
                    ["lib", "main", "fixtures"].contains(&module.as_str()),
                    "{module} is in no stage: add it to STAGES"
                );
                continue;
            };
            for import in crate_imports(source) {
                checked += 1;
                let target = stage_of(&import).unwrap_or_else(|| {
                    assert!(
                        ["Error", "Result"].contains(&import.as_str()),
                        "{module} imports crate::{import}, which is in no stage"
                    );
                    0
                });
                if target > own {
                    upward.push(format!("{module} -> {import}"));
                }
            }
        }
        assert!(
            checked > 100,
            "only {checked} imports found: the reader is broken"
        );
        assert_eq!(
            upward,
            Vec::<String>::new(),
            "imports against the stage order"
        );
    }

    #[test]
    fn the_import_reader_sees_grouped_and_nested_paths() {
        let source = "use crate::{a::b, c::{d, e}, f};\nfn x() { crate::g::h(); }\n#[cfg(test)]\nmod tests { use crate::z; }";
        assert_eq!(crate_imports(source), ["a", "c", "f", "g"]);
    }
}
