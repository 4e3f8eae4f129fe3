//! The name of a request: the key of every figure a request gives
//! (`latency-<name>/<server>`, `rate-<name>-p50`, ...).
//!
//! A server's requests are data (its manifest's `[[requests]]`, or the
//! contract's two), so their names are known only when the manifests are
//! read. A name is interned once and then copied freely: figures, records
//! and plans key by it without a clone per use.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The path the readiness probe of a contract server asks for.
pub const PROBE_PATH: &str = "/hello/World";

/// A request's name, as figures and benchmark ids carry it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route(&'static str);

/// Every name interned so far: each is leaked once, however often it is
/// read back (a run file, a baseline, a manifest).
static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

impl Route {
    /// The contract's `GET /hello/World`.
    pub const HELLO: Route = Route("hello");
    /// The contract's `GET /json`.
    pub const JSON: Route = Route("json");
    /// The contract's requests, in the order benchmarks and reports list
    /// them.
    pub const CONTRACT: [Route; 2] = [Route::HELLO, Route::JSON];

    /// The route of this name. Any text is kept as given; a manifest's
    /// names are checked where they are read ([`is_valid_name`]).
    pub fn new(name: &str) -> Route {
        if let Some(known) = Route::CONTRACT.into_iter().find(|r| r.0 == name) {
            return known;
        }
        let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&known) = interned.get(name) {
            return Route(known);
        }
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        interned.insert(leaked);
        Route(leaked)
    }

    /// The name used in benchmark ids and figure names.
    pub fn name(self) -> &'static str {
        self.0
    }
}

/// Whether `name` may name a request: lowercase letters, digits, `-` and
/// `_`, starting with a letter, as a figure's name and a benchmark id need
/// (`+` joins the names of a mix).
pub fn is_valid_name(name: &str) -> bool {
    // A figure's name puts a percentile after it: `latency-<name>-p99`.
    let percentile_like = ["-p50", "-p90", "-p99", "-max"]
        .iter()
        .any(|suffix| name.ends_with(suffix));
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.len() <= 40
        && !percentile_like
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Route({:?})", self.0)
    }
}

impl Serialize for Route {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Route, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Route::new(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_interned_once_and_compares_by_its_text() {
        let a = Route::new("create-user");
        let b = Route::new(&String::from("create-user"));
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.name(), b.name()));
        assert_eq!(Route::new("hello"), Route::HELLO);
        assert!(Route::HELLO < Route::JSON);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"create-user\"");
        assert_eq!(serde_json::from_str::<Route>(&json).unwrap(), a);
    }

    #[test]
    fn names_are_what_a_figure_and_a_benchmark_id_can_carry() {
        for good in ["hello", "create-user", "get_item2"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in [
            "", "Hello", "2x", "a b", "a/b", "a+b", "é", "get-max", "x-p99",
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
