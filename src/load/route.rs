//! The routes of the server contract that timed load requests.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The path the readiness probe (and the burst) asks for.
pub const PROBE_PATH: &str = "/hello/World";

/// A route of the contract (see `servers/README.md`), by short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// `GET /hello/World`: `text/plain` greeting.
    Hello,
    /// `GET /json`: a small JSON object.
    Json,
}

impl Route {
    /// Every route, in the order benchmarks and reports list them.
    pub const ALL: [Route; 2] = [Route::Hello, Route::Json];

    /// The short name used in benchmark ids and figure names.
    pub fn name(self) -> &'static str {
        match self {
            Route::Hello => "hello",
            Route::Json => "json",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Route::Hello => "/hello/World",
            Route::Json => "/json",
        }
    }

    /// The exact body the contract requires, from the contract crate itself.
    pub fn expected_body(self) -> String {
        match self {
            Route::Hello => server_contract::greeting("World"),
            Route::Json => server_contract::JSON_BODY.to_owned(),
        }
    }

    /// The route with this short name.
    pub fn from_name(name: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bodies_are_the_contracts() {
        for route in Route::ALL {
            assert_eq!(Route::from_name(route.name()), Some(route));
        }
        assert_eq!(Route::from_name("nope"), None);
        assert_eq!(Route::Hello.expected_body(), "Hello, World!");
        assert_eq!(
            Route::Json.expected_body(),
            r#"{"message":"Hello, World!"}"#
        );
    }
}
