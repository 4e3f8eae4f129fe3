//! The command line, ready line and responses that every framework-bench
//! server shares (see `servers/README.md`). Standard library only, so that
//! depending on it cannot change any framework's dependency features.

use std::fmt;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

/// The body of `GET /json`, byte for byte.
pub const JSON_BODY: &str = r#"{"message":"Hello, World!"}"#;

/// The message serialised by `GET /json`.
pub const JSON_MESSAGE: &str = "Hello, World!";

/// How long a server lets in-flight requests finish after SIGTERM or SIGINT
/// before it exits anyway. The contract allows 2 s in total.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// The body of `GET /hello/{name}`.
pub fn greeting(name: &str) -> String {
    format!("Hello, {name}!")
}

/// The parsed command line: `--port N [--workers W] [--nodelay] [--backlog B]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The port to bind on 127.0.0.1; 0 asks the OS for a free one.
    pub port: u16,
    /// Worker threads that serve requests; `None` keeps the framework's default.
    pub workers: Option<NonZeroUsize>,
    /// Set TCP_NODELAY on accepted connections.
    pub nodelay: bool,
    /// The listen(2) backlog; `None` keeps the framework's default. Linux
    /// caps it at `net.core.somaxconn`.
    pub backlog: Option<NonZeroU32>,
    /// A known regression to inject, for measuring what the suite's
    /// verdicts catch. Off unless asked for.
    pub inject: Inject,
}

/// A regression a server injects into itself without any change to its
/// framework: `--inject-spin-us N` busy-waits N µs before each response,
/// `--inject-keep-bytes N` keeps N bytes (written, so resident) for every
/// accepted connection, for as long as the process lives,
/// `--inject-leak-bytes N` leaks N bytes for every request, and
/// `--inject-allocations N` makes N more short-lived allocations (of 64
/// bytes, freed at once) for every request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inject {
    pub spin: std::time::Duration,
    pub keep_bytes_per_connection: usize,
    pub leak_bytes_per_request: usize,
    pub allocations_per_request: usize,
}

/// The environment variables that inject a regression into a server the
/// harness starts under its usual name (a saved baseline's comparison),
/// where no flag can be added: as `--inject-spin-us` and
/// `--inject-keep-bytes`.
pub const INJECT_SPIN_US_VAR: &str = "SERVER_CONTRACT_INJECT_SPIN_US";
pub const INJECT_KEEP_BYTES_VAR: &str = "SERVER_CONTRACT_INJECT_KEEP_BYTES";

impl Inject {
    /// What the environment injects; an unreadable value is an error.
    pub fn from_env() -> Result<Inject, ArgsError> {
        Inject::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Inject, ArgsError> {
        let mut inject = Inject::default();
        if let Some(us) = get(INJECT_SPIN_US_VAR) {
            let us: u64 = parse_value(INJECT_SPIN_US_VAR, Some(us))?;
            inject.spin = std::time::Duration::from_micros(us);
        }
        if let Some(bytes) = get(INJECT_KEEP_BYTES_VAR) {
            inject.keep_bytes_per_connection = parse_value(INJECT_KEEP_BYTES_VAR, Some(bytes))?;
        }
        Ok(inject)
    }

    /// `self` where it injects anything, else `other`'s.
    pub fn or(self, other: Inject) -> Inject {
        Inject {
            spin: if self.spin.is_zero() {
                other.spin
            } else {
                self.spin
            },
            keep_bytes_per_connection: if self.keep_bytes_per_connection == 0 {
                other.keep_bytes_per_connection
            } else {
                self.keep_bytes_per_connection
            },
            leak_bytes_per_request: if self.leak_bytes_per_request == 0 {
                other.leak_bytes_per_request
            } else {
                self.leak_bytes_per_request
            },
            allocations_per_request: if self.allocations_per_request == 0 {
                other.allocations_per_request
            } else {
                self.allocations_per_request
            },
        }
    }

    /// Everything injected into one request: the busy wait, the leak and
    /// the extra allocations.
    pub fn per_request(&self) {
        self.spin();
        if self.leak_bytes_per_request > 0 {
            let leaked = vec![0x5a_u8; self.leak_bytes_per_request];
            // Leaked on purpose: the regression is a leak.
            std::mem::forget(std::hint::black_box(leaked));
        }
        for _ in 0..self.allocations_per_request {
            // Kept from the optimiser, freed at once.
            drop(std::hint::black_box(Box::new([0u8; 64])));
        }
    }

    /// Busy-waits the injected time (nothing when none is set).
    pub fn spin(&self) {
        if self.spin.is_zero() {
            return;
        }
        let until = std::time::Instant::now() + self.spin;
        while std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
    }

    /// Keeps the injected bytes for one accepted connection.
    pub fn keep_for_connection(&self) {
        if self.keep_bytes_per_connection == 0 {
            return;
        }
        let kept = vec![0x5a_u8; self.keep_bytes_per_connection];
        // Leaked on purpose: the regression is memory the server keeps.
        std::mem::forget(std::hint::black_box(kept));
    }
}

/// A command line that breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgsError(String);

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgsError {}

impl Args {
    /// Parses `std::env::args`, or prints a one-line error naming `server` and
    /// exits with status 2.
    pub fn from_env_or_exit(server: &str) -> Args {
        let injected = Inject::from_env().unwrap_or_else(|err| exit_with_error(server, &err, 2));
        match Args::parse(std::env::args().skip(1)) {
            Ok(mut args) => {
                args.inject = args.inject.or(injected);
                args
            }
            Err(err) => exit_with_error(server, &err, 2),
        }
    }

    /// Parses the arguments after the program name.
    pub fn parse<I, S>(args: I) -> Result<Args, ArgsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut port = None;
        let mut workers = None;
        let mut nodelay = false;
        let mut backlog = None;
        let mut inject = Inject::default();
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--port" => port = Some(parse_value(&arg, args.next())?),
                "--workers" => workers = Some(parse_value(&arg, args.next())?),
                "--nodelay" => nodelay = true,
                "--backlog" => backlog = Some(parse_value(&arg, args.next())?),
                "--inject-spin-us" => {
                    let us: u64 = parse_value(&arg, args.next())?;
                    inject.spin = std::time::Duration::from_micros(us);
                }
                "--inject-keep-bytes" => {
                    inject.keep_bytes_per_connection = parse_value(&arg, args.next())?;
                }
                "--inject-leak-bytes" => {
                    inject.leak_bytes_per_request = parse_value(&arg, args.next())?;
                }
                "--inject-allocations" => {
                    inject.allocations_per_request = parse_value(&arg, args.next())?;
                }
                other => return Err(ArgsError(format!("unknown argument `{other}`"))),
            }
        }
        let port = port.ok_or_else(|| ArgsError("missing required `--port N`".into()))?;
        Ok(Args {
            port,
            workers,
            nodelay,
            backlog,
            inject,
        })
    }

    /// The address to bind: always loopback.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The backlog as listen(2) takes it.
    pub fn backlog_or(&self, default: u32) -> u32 {
        self.backlog.map_or(default, NonZeroU32::get)
    }

    /// The worker count, or `default` when `--workers` was not given.
    pub fn workers_or(&self, default: usize) -> usize {
        self.workers.map_or(default, NonZeroUsize::get)
    }
}

fn parse_value<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, ArgsError>
where
    T::Err: fmt::Display,
{
    let value = value.ok_or_else(|| ArgsError(format!("`{flag}` needs a value")))?;
    value
        .parse()
        .map_err(|err| ArgsError(format!("invalid value `{value}` for `{flag}`: {err}")))
}

/// Prints the ready line, `listening on 127.0.0.1:PORT`, and flushes. Call it
/// once, when the socket accepts connections.
pub fn announce(addr: SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    // If stdout is gone the harness is gone too; nothing useful is left to do.
    let _ = writeln!(stdout, "listening on {addr}");
    let _ = stdout.flush();
}

/// Prints `server: error: message` on one line of stderr and exits.
pub fn exit_with_error(server: &str, message: &dyn fmt::Display, code: i32) -> ! {
    eprintln!("{server}: error: {message}");
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_regressions_are_off_unless_asked_for() {
        let plain = parse(&["--port", "0"]).unwrap();
        assert_eq!(plain.inject, Inject::default());
        let injected = parse(&[
            "--port",
            "0",
            "--inject-spin-us",
            "8",
            "--inject-keep-bytes",
            "6144",
        ])
        .unwrap();
        assert_eq!(injected.inject.spin, std::time::Duration::from_micros(8));
        assert_eq!(injected.inject.keep_bytes_per_connection, 6144);
        let started = std::time::Instant::now();
        injected.inject.spin();
        assert!(started.elapsed() >= std::time::Duration::from_micros(8));
        assert!(parse(&["--port", "0", "--inject-spin-us", "x"]).is_err());
        let from_env =
            Inject::from_vars(|name| (name == INJECT_SPIN_US_VAR).then(|| "5".to_owned())).unwrap();
        assert_eq!(from_env.spin, std::time::Duration::from_micros(5));
        assert_eq!(injected.inject.or(from_env), injected.inject);
        assert_eq!(Inject::default().or(from_env), from_env);
        assert!(Inject::from_vars(|_| Some("many".into())).is_err());
    }

    fn parse(args: &[&str]) -> Result<Args, ArgsError> {
        Args::parse(args.iter().copied())
    }

    #[test]
    fn parses_all_flags() {
        let args = parse(&[
            "--port",
            "0",
            "--workers",
            "3",
            "--nodelay",
            "--backlog",
            "2000",
        ])
        .unwrap();
        assert_eq!(args.port, 0);
        assert_eq!(args.workers, NonZeroUsize::new(3));
        assert!(args.nodelay);
        assert_eq!(args.backlog_or(128), 2000);
        assert_eq!(args.addr().to_string(), "127.0.0.1:0");
    }

    #[test]
    fn workers_default_to_the_framework() {
        let args = parse(&["--port", "8080"]).unwrap();
        assert_eq!(args.workers, None);
        assert_eq!(args.workers_or(7), 7);
        assert!(!args.nodelay);
        assert_eq!(args.backlog, None);
        assert_eq!(args.backlog_or(128), 128);
    }

    #[test]
    fn rejects_bad_arguments() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "missing required `--port N`"),
            (&["--port"], "`--port` needs a value"),
            (&["--port", "http"], "invalid value `http` for `--port`"),
            (&["--port", "70000"], "invalid value `70000` for `--port`"),
            (&["--port", "1", "--workers", "0"], "invalid value `0`"),
            (
                &["--port", "1", "--backlog", "0"],
                "invalid value `0` for `--backlog`",
            ),
            (&["--port", "1", "--backlog"], "`--backlog` needs a value"),
            (
                &["--port", "1", "--verbose"],
                "unknown argument `--verbose`",
            ),
        ];
        for (args, expected) in cases {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }

    #[test]
    fn bodies_match_the_contract() {
        assert_eq!(greeting("World"), "Hello, World!");
        assert_eq!(
            JSON_BODY,
            format!(r#"{{"message":"{JSON_MESSAGE}"}}"#).as_str()
        );
    }
}
