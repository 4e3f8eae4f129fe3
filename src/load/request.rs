//! What the client sends and what counts as its answer: requests as data.
//!
//! A server's manifest may declare its own requests (`[[requests]]` in its
//! `server.toml`); one that declares none gets the contract's two
//! ([`contract`]). Every phase sends one of them, or a
//! weighted [`Mix`] of them, from bytes built once per run.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::load::Route;

/// The methods a request may use: every one whose answer carries a body
/// framed as the reader knows (HEAD's answer has a length and no body, so
/// it is not among them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    /// The method spelled `text`, exactly (methods are case-sensitive).
    pub fn parse(text: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// Whether a request of this method says its body's length even when
    /// empty (RFC 9110: a user agent should for methods that define a
    /// meaning for a body).
    fn sends_length(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an answer's body must be for the request to succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyCheck {
    /// Exactly these bytes.
    Exact(Vec<u8>),
    /// Any bytes, this many.
    Length(u64),
    /// Any body.
    Any,
}

/// What counts as success: a status, and a body check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    pub status: u16,
    pub body: BodyCheck,
}

impl Expect {
    /// A 200 with exactly `body`: what the contract's requests expect.
    pub fn ok_with(body: impl Into<Vec<u8>>) -> Expect {
        Expect {
            status: 200,
            body: BodyCheck::Exact(body.into()),
        }
    }

    /// How a table says it: `200, 13 bytes exactly`, `201, 27 bytes`,
    /// `200, any body`.
    pub fn describe(&self) -> String {
        match &self.body {
            BodyCheck::Exact(bytes) => format!("{}, {} bytes exactly", self.status, bytes.len()),
            BodyCheck::Length(n) => format!("{}, {n} bytes", self.status),
            BodyCheck::Any => format!("{}, any body", self.status),
        }
    }
}

/// One request a server is measured on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    pub name: Route,
    pub method: Method,
    /// Starts with `/`.
    pub path: String,
    /// Sent in this order after `Host`; never `Host`, `Content-Length`,
    /// `Transfer-Encoding` or `Connection`, which the client sets.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub expect: Expect,
}

impl RequestSpec {
    /// A GET of `path` expecting a 200 with exactly `body`.
    pub fn get(name: Route, path: &str, body: impl Into<Vec<u8>>) -> RequestSpec {
        RequestSpec {
            name,
            method: Method::Get,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            expect: Expect::ok_with(body),
        }
    }

    /// The request as bytes for a server at `addr`, built once per run: the
    /// request line, `Host`, the declared headers, a `Content-Length` when
    /// there is a body (or the method expects one), then the body. No
    /// `Connection` header: with [`crate::load::hammer::Connections::PerRequest`]
    /// the client closes the connection after the answer, as the seed's
    /// `requests.get` did, rather than asking the server to, which would
    /// change what the server holds.
    pub fn bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\n", self.method, self.path);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !self.body.is_empty() || self.method.sends_length() {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Everything that makes it the request it is, in one line: two
    /// requests of the same signature are the same load, and their figures
    /// compare. Bodies are named by length and FNV-1a hash.
    pub fn signature(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| format!("{}: {v}", n.to_ascii_lowercase()))
            .collect();
        let expect = match &self.expect.body {
            BodyCheck::Exact(bytes) => format!("{} bytes {}", bytes.len(), fnv1a(bytes)),
            BodyCheck::Length(n) => format!("{n} bytes"),
            BodyCheck::Any => "any body".to_owned(),
        };
        format!(
            "{} {} [{}] body {} bytes {} -> {} {expect}",
            self.method,
            self.path,
            headers.join("; "),
            self.body.len(),
            fnv1a(&self.body),
            self.expect.status
        )
    }

    /// `GET /hello/World` or `POST /items (27 bytes)`.
    pub fn describe(&self) -> String {
        match self.body.len() {
            0 => format!("{} {}", self.method, self.path),
            n => format!("{} {} ({n} bytes)", self.method, self.path),
        }
    }
}

/// The contract's two requests (`servers/README.md`), with the bodies from
/// the contract crate itself: what a server that declares none is
/// measured on.
pub fn contract() -> Vec<RequestSpec> {
    vec![
        RequestSpec::get(
            Route::HELLO,
            crate::load::route::PROBE_PATH,
            server_contract::greeting("World"),
        ),
        RequestSpec::get(Route::JSON, "/json", server_contract::JSON_BODY),
    ]
}

/// The contract's request of this name.
pub fn contract_request(route: Route) -> Option<RequestSpec> {
    contract().into_iter().find(|r| r.name == route)
}

/// The most a mix's weights may add up to: its order is a cycle of that
/// many requests.
pub const MAX_MIX_WEIGHT: u32 = 1000;

/// What one load sends: one request, or several by weight. Request `k` of
/// a connection is [`Mix::pick`]`(k)`: a fixed cycle in which each request
/// comes as often as its weight says, spread out (smooth weighted round
/// robin), so that any stretch of the load holds about the declared shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    entries: Arc<[(RequestSpec, u32)]>,
    order: Arc<[u16]>,
}

impl Mix {
    /// One request alone.
    pub fn single(request: RequestSpec) -> Mix {
        Mix::weighted(vec![(request, 1)]).expect("one request of weight 1 is a mix")
    }

    /// Requests by weight; `None` if there are none, or more than
    /// `u16::MAX`, or a weight is 0, or the weights add up to more than
    /// [`MAX_MIX_WEIGHT`] (a manifest's mix is checked before, with a
    /// message).
    pub fn weighted(entries: Vec<(RequestSpec, u32)>) -> Option<Mix> {
        let total: u32 = entries.iter().map(|(_, w)| *w).sum();
        let fits = !entries.is_empty()
            && entries.len() <= usize::from(u16::MAX)
            && entries.iter().all(|(_, w)| *w > 0)
            && total <= MAX_MIX_WEIGHT;
        fits.then(|| Mix {
            order: smooth_order(&entries).into(),
            entries: entries.into(),
        })
    }

    /// The request a connection sends `k`-th.
    pub fn pick(&self, k: usize) -> &RequestSpec {
        &self.entries[usize::from(self.order[k % self.order.len()])].0
    }

    /// Its requests and their weights, in declared order.
    pub fn entries(&self) -> impl Iterator<Item = (&RequestSpec, u32)> {
        self.entries.iter().map(|(r, w)| (r, *w))
    }

    /// The request at `index` in [`Mix::entries`].
    pub fn pick_by_index(&self, index: usize) -> &RequestSpec {
        &self.entries[index].0
    }

    /// The index in [`Mix::entries`] of the request sent `k`-th.
    pub fn pick_index(&self, k: usize) -> usize {
        usize::from(self.order[k % self.order.len()])
    }

    /// The figures' key: the request's own name, or the names joined by
    /// `+` (`hello+json`).
    pub fn name(&self) -> Route {
        match &*self.entries {
            [(one, _)] => one.name,
            many => {
                let names: Vec<&str> = many.iter().map(|(r, _)| r.name.name()).collect();
                Route::new(&names.join("+"))
            }
        }
    }

    /// The first request: what a single-request phase of this mix sends.
    pub fn first(&self) -> &RequestSpec {
        &self.entries[0].0
    }

    /// `GET /hello/World`, or `GET /a, POST /b (12 bytes)`: what it sends.
    pub fn requests_text(&self) -> String {
        self.entries
            .iter()
            .map(|(r, _)| r.describe())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Its request's signature, or for several their signatures with
    /// their weights: see [`RequestSpec::signature`].
    pub fn signature(&self) -> String {
        match &*self.entries {
            [(one, _)] => one.signature(),
            many => many
                .iter()
                .map(|(r, w)| format!("{w} x {}", r.signature()))
                .collect::<Vec<_>>()
                .join(" + "),
        }
    }

    /// `hello` or `hello ×3 + json ×1`.
    pub fn describe(&self) -> String {
        match &*self.entries {
            [(one, _)] => one.name.to_string(),
            many => many
                .iter()
                .map(|(r, w)| format!("{} ×{w}", r.name))
                .collect::<Vec<_>>()
                .join(" + "),
        }
    }
}

/// The 64-bit FNV-1a hash of `bytes`, in hex: a body's fingerprint.
fn fnv1a(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Smooth weighted round robin (nginx's): each step every entry gains its
/// weight, the largest is picked and loses the total.
fn smooth_order(entries: &[(RequestSpec, u32)]) -> Vec<u16> {
    let total: i64 = entries.iter().map(|(_, w)| i64::from(*w)).sum();
    let mut current = vec![0i64; entries.len()];
    (0..total)
        .map(|_| {
            for (c, (_, w)) in current.iter_mut().zip(entries) {
                *c += i64::from(*w);
            }
            let (best, _) = current
                .iter()
                .enumerate()
                .max_by_key(|&(i, c)| (*c, std::cmp::Reverse(i)))
                .unwrap_or((0, &0));
            current[best] -= total;
            u16::try_from(best).unwrap_or(0)
        })
        .collect()
}

/// What a server's figures were measured on: the signature of each
/// request (and mix) by name, of the burst's request and of the sweep's
/// load. A figure compares with another server's, or a baseline's, only
/// where both were sent the same; a record without it was sent the
/// contract's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loads {
    pub requests: BTreeMap<Route, String>,
    pub burst: String,
    pub sweep: String,
}

impl Loads {
    /// What a server that declares no requests is sent.
    pub fn contract() -> Loads {
        RequestSet::contract().loads()
    }
}

/// The requests one server is measured on, and which phase sends which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSet {
    requests: Vec<RequestSpec>,
    /// The index of the request the burst sends.
    burst: usize,
    /// What the sweep and the constant-rate runs send.
    mix: Mix,
    declared: bool,
}

impl RequestSet {
    /// The contract's two requests: the burst and the sweep send `hello`,
    /// the constant-rate runs each of them alone, as before requests were
    /// data (so that their figures keep their names).
    pub fn contract() -> RequestSet {
        let requests = contract();
        RequestSet {
            mix: Mix::single(requests[0].clone()),
            requests,
            burst: 0,
            declared: false,
        }
    }

    /// A manifest's own requests (at least one), the burst's by index, and
    /// the mix of the sweep and the constant-rate runs.
    pub fn declared(requests: Vec<RequestSpec>, burst: usize, mix: Mix) -> RequestSet {
        assert!(burst < requests.len(), "the burst's request is one of them");
        RequestSet {
            requests,
            burst,
            mix,
            declared: true,
        }
    }

    /// Every request, in declared order: each gets a latency benchmark.
    pub fn all(&self) -> &[RequestSpec] {
        &self.requests
    }

    pub fn names(&self) -> impl Iterator<Item = Route> + '_ {
        self.requests.iter().map(|r| r.name)
    }

    /// The request of this name.
    pub fn get(&self, name: Route) -> Option<&RequestSpec> {
        self.requests.iter().find(|r| r.name == name)
    }

    /// What the burst sends.
    pub fn burst(&self) -> &RequestSpec {
        &self.requests[self.burst]
    }

    /// The first request: what readiness is probed with.
    pub fn first(&self) -> &RequestSpec {
        &self.requests[0]
    }

    /// What the throughput sweep sends.
    pub fn sweep(&self) -> &Mix {
        &self.mix
    }

    /// What each constant-rate run sends: the mix, or for the contract
    /// each of its requests alone.
    pub fn rate_loads(&self) -> Vec<Mix> {
        match self.declared {
            true => vec![self.mix.clone()],
            false => self.requests.iter().cloned().map(Mix::single).collect(),
        }
    }

    /// Whether the manifest declared them (or they are the contract's).
    pub fn is_declared(&self) -> bool {
        self.declared
    }

    /// What each of its figures was measured on, by what they are keyed
    /// by: see [`Loads`].
    pub fn loads(&self) -> Loads {
        let mut requests: BTreeMap<Route, String> = self
            .requests
            .iter()
            .map(|r| (r.name, r.signature()))
            .collect();
        for mix in self.rate_loads() {
            requests.insert(mix.name(), mix.signature());
        }
        Loads {
            requests,
            burst: self.burst().signature(),
            sweep: self.mix.signature(),
        }
    }

    /// The load of this name: a request alone, or the mix (`hello+json`).
    pub fn load_named(&self, name: Route) -> Option<Mix> {
        if self.mix.name() == name {
            return Some(self.mix.clone());
        }
        self.get(name).cloned().map(Mix::single)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:8080".parse().unwrap()
    }

    #[test]
    fn a_get_is_the_bytes_it_always_was() {
        let hello = &contract()[0];
        assert_eq!(
            hello.bytes(addr()),
            b"GET /hello/World HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
        );
        assert_eq!(hello.expect, Expect::ok_with("Hello, World!"));
        assert_eq!(
            contract()[1].expect.body,
            BodyCheck::Exact(server_contract::JSON_BODY.into())
        );
    }

    #[test]
    fn a_post_carries_its_headers_its_body_and_their_length() {
        let post = RequestSpec {
            name: Route::new("create"),
            method: Method::Post,
            path: "/items".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"name":"x"}"#.to_vec(),
            expect: Expect {
                status: 201,
                body: BodyCheck::Length(27),
            },
        };
        assert_eq!(
            String::from_utf8(post.bytes(addr())).unwrap(),
            "POST /items HTTP/1.1\r\nHost: 127.0.0.1:8080\r\ncontent-type: application/json\r\nContent-Length: 12\r\n\r\n{\"name\":\"x\"}"
        );
        let empty = RequestSpec {
            body: Vec::new(),
            headers: Vec::new(),
            ..post
        };
        assert!(
            String::from_utf8(empty.bytes(addr()))
                .unwrap()
                .ends_with("Content-Length: 0\r\n\r\n")
        );
        assert_eq!(empty.expect.describe(), "201, 27 bytes");
    }

    #[test]
    fn methods_are_spelled_exactly() {
        for method in Method::ALL {
            assert_eq!(Method::parse(method.as_str()), Some(method));
        }
        assert_eq!(Method::parse("get"), None);
        assert_eq!(Method::parse("HEAD"), None);
    }

    #[test]
    fn a_mix_sends_each_request_as_often_as_its_weight_spread_out() {
        let [hello, json] = <[RequestSpec; 2]>::try_from(contract()).unwrap();
        let mix = Mix::weighted(vec![(hello, 3), (json, 1)]).unwrap();
        let names: Vec<&str> = (0..8).map(|k| mix.pick(k).name.name()).collect();
        assert_eq!(
            names,
            [
                "hello", "hello", "json", "hello", "hello", "hello", "json", "hello"
            ]
        );
        assert_eq!(mix.name(), Route::new("hello+json"));
        assert_eq!(mix.describe(), "hello ×3 + json ×1");
        let single = Mix::single(contract().remove(1));
        assert_eq!(single.name(), Route::JSON);
        assert!((0..5).all(|k| single.pick(k).name == Route::JSON));
        assert!(Mix::weighted(vec![(contract().remove(0), 0)]).is_none());
        assert!(Mix::weighted(Vec::new()).is_none());
        assert!(Mix::weighted(vec![(contract().remove(0), MAX_MIX_WEIGHT + 1)]).is_none());
    }
}
