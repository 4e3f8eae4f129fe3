//! A tiny std-only HTTP/1.1 server that follows the contract until told to
//! break it. The harness's fault tests start it; it is never benchmarked.
//!
//! `server-misbehaving --port N [--workers W] [--nodelay] [--backlog B] --mode MODE [--after K]`
//!
//! Modes: `ok`, `silent` (as `ok`, without the ready line), `exit-at-start`, `never-ready` (binds, prints nothing),
//! `mute` (prints the ready line, never answers), `crash-after` (aborts on
//! request K+1), `ignore-sigterm`, `wrong-body` and `status-500` (from
//! request K+1 on), `with-child` (serves like `ok`, after starting a
//! `sleep 600` in its own process group, as a multi-process server would),
//! `stall-accept` (accepts K connections, then never accepts again: later
//! connections wait in the listen queue until it is full, and then the
//! kernel drops their SYNs).
//!
//! Beside the contract's routes it serves `POST /items`, for requests
//! declared in a manifest: a JSON body sent with `content-type:
//! application/json` is answered `201 Created` with `{"id":1,"item":BODY}`
//! (16 bytes more than the body); without that header, `415`.
//!
//! Hostile modes answer the first K requests (the readiness probe) right,
//! then break HTTP in one way each: `absurd-chunk` (a chunk size of
//! 2^64 - 1), `endless-head` (headers that never end), `long-body` (more
//! bytes than its Content-Length), `endless-body` (a body until close that
//! never ends), `trickle` (the right answer with a padding header, one byte every 50 ms),
//! `random-bytes`, `reset` (a TCP reset instead of an answer),
//! `two-lengths` (two different Content-Lengths), `continue` (an unasked
//! `100 Continue`, then the right answer: a client must skip it) and
//! `glued` (the right answer twice in one write). An endless answer stops
//! after `ENDLESS_CAP_BYTES` or when the client has gone.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Ok,
    /// Serves like `ok`, but prints no ready line: a server whose readiness
    /// the harness must find out by sending its first request.
    Silent,
    ExitAtStart,
    NeverReady,
    Mute,
    CrashAfter,
    IgnoreSigterm,
    WrongBody,
    Status500,
    WithChild,
    StallAccept,
    AbsurdChunk,
    EndlessHead,
    LongBody,
    EndlessBody,
    Trickle,
    RandomBytes,
    Reset,
    TwoLengths,
    Continue,
    Glued,
}

/// The trickled answer's first line and a header that pads it.
const TRICKLE_STATUS_LINE: &[u8] = b"HTTP/1.1 200 OK\r\n";
const TRICKLE_PADDING: &[u8] = b"HTTP/1.1 200 OK\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

/// Where an endless answer stops, if the client has not gone by then.
const ENDLESS_CAP_BYTES: usize = 256 * 1024 * 1024;

struct Options {
    port: u16,
    mode: Mode,
    after: usize,
    backlog: Option<i32>,
}

fn fail(message: &str) -> ! {
    eprintln!("server-misbehaving: error: {message}");
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut options = Options {
        port: 0,
        mode: Mode::Ok,
        after: 0,
        backlog: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail(&format!("`{arg}` needs a value")))
        };
        match arg.as_str() {
            "--port" => options.port = value().parse().unwrap_or_else(|_| fail("bad --port")),
            "--after" => options.after = value().parse().unwrap_or_else(|_| fail("bad --after")),
            "--workers" => drop(value()),
            "--nodelay" => {}
            "--backlog" => {
                let backlog = value().parse().unwrap_or_else(|_| fail("bad --backlog"));
                options.backlog = Some(backlog);
            }
            "--mode" => {
                options.mode = match value().as_str() {
                    "ok" => Mode::Ok,
                    "silent" => Mode::Silent,
                    "exit-at-start" => Mode::ExitAtStart,
                    "never-ready" => Mode::NeverReady,
                    "mute" => Mode::Mute,
                    "crash-after" => Mode::CrashAfter,
                    "ignore-sigterm" => Mode::IgnoreSigterm,
                    "wrong-body" => Mode::WrongBody,
                    "status-500" => Mode::Status500,
                    "with-child" => Mode::WithChild,
                    "stall-accept" => Mode::StallAccept,
                    "absurd-chunk" => Mode::AbsurdChunk,
                    "endless-head" => Mode::EndlessHead,
                    "long-body" => Mode::LongBody,
                    "endless-body" => Mode::EndlessBody,
                    "trickle" => Mode::Trickle,
                    "random-bytes" => Mode::RandomBytes,
                    "reset" => Mode::Reset,
                    "two-lengths" => Mode::TwoLengths,
                    "continue" => Mode::Continue,
                    "glued" => Mode::Glued,
                    other => fail(&format!("unknown mode `{other}`")),
                }
            }
            other => fail(&format!("unknown argument `{other}`")),
        }
    }
    options
}

fn main() {
    let options = parse_args();
    if options.mode == Mode::ExitAtStart {
        fail("exiting at start, as asked");
    }
    // The contract: SIGTERM ends the server with exit 0 (this server has no
    // requests worth draining), unless it is told to ignore it.
    let on_sigterm = if options.mode == Mode::IgnoreSigterm {
        libc::SIG_IGN
    } else {
        exit_cleanly as extern "C" fn(libc::c_int) as libc::sighandler_t
    };
    // SAFETY: installed before any thread exists; the handler only calls
    // `_exit`, which is async-signal-safe.
    unsafe { libc::signal(libc::SIGTERM, on_sigterm) };
    if options.mode == Mode::WithChild {
        // Inherits our process group, not our PR_SET_PDEATHSIG: only a kill
        // of the group ends it. Its pid goes to the log.
        match std::process::Command::new("sleep").arg("600").spawn() {
            Ok(child) => eprintln!("server-misbehaving: started child pid {}", child.id()),
            Err(err) => fail(&format!("cannot start a child: {err}")),
        }
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port))
        .unwrap_or_else(|err| fail(&format!("cannot bind port {}: {err}", options.port)));
    if let Some(backlog) = options.backlog {
        // SAFETY: listen(2) on the socket `listener` owns; on a socket that
        // already listens, Linux only updates the backlog.
        if unsafe { libc::listen(listener.as_raw_fd(), backlog) } != 0 {
            fail(&format!(
                "cannot set backlog {backlog}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    if options.mode == Mode::NeverReady {
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
    if options.mode != Mode::Silent {
        println!(
            "listening on {}",
            listener.local_addr().expect("bound socket has an address")
        );
    }
    std::io::stdout().flush().expect("stdout is open");
    let served = Arc::new(AtomicUsize::new(0));
    let limit = match options.mode {
        Mode::StallAccept => options.after,
        _ => usize::MAX,
    };
    for stream in listener.incoming().flatten().take(limit) {
        let served = Arc::clone(&served);
        let (mode, after) = (options.mode, options.after);
        std::thread::spawn(move || serve_connection(stream, mode, after, &served));
    }
    // `stall-accept`: never accept again; later connections wait in the
    // listen queue until it is full, then the kernel drops their SYNs.
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

extern "C" fn exit_cleanly(_signal: libc::c_int) {
    // SAFETY: `_exit` is async-signal-safe.
    unsafe { libc::_exit(0) }
}

fn serve_connection(stream: TcpStream, mode: Mode, after: usize, served: &AtomicUsize) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(stream) => stream,
        Err(_) => return,
    });
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        if mode == Mode::Mute {
            std::thread::sleep(Duration::from_secs(3600));
        }
        let n = served.fetch_add(1, Ordering::SeqCst) + 1;
        let misbehaving = n > after;
        if mode == Mode::CrashAfter && misbehaving {
            std::process::abort();
        }
        let response = match request.method.as_str() {
            "POST" => create_item(&request),
            _ => respond(&request.path, mode, misbehaving),
        };
        let written = if misbehaving {
            hostile(&mut writer, mode, &response)
        } else {
            writer.write_all(response.as_bytes())
        };
        if written.is_err() {
            return;
        }
    }
}

/// Breaks HTTP as `mode` says, in place of `response`; an error ends the
/// connection.
fn hostile(writer: &mut TcpStream, mode: Mode, response: &str) -> std::io::Result<()> {
    let ok = response.as_bytes();
    match mode {
        Mode::AbsurdChunk => writer.write_all(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\nHello",
        ),
        Mode::EndlessHead => {
            writer.write_all(b"HTTP/1.1 200 OK\r\n")?;
            endless(
                writer,
                b"x-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
            )
        }
        Mode::LongBody => writer.write_all(&[ok, b" and more bytes than announced"].concat()),
        Mode::EndlessBody => {
            writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n")?;
            endless(writer, &[b'x'; 4096])
        }
        // With its padding, over 300 bytes: 15 s, past every timeout.
        Mode::Trickle => [TRICKLE_PADDING, &ok[TRICKLE_STATUS_LINE.len()..]]
            .concat()
            .iter()
            .try_for_each(|byte| {
                std::thread::sleep(Duration::from_millis(50));
                writer.write_all(std::slice::from_ref(byte))
            }),
        Mode::RandomBytes => writer.write_all(&random_bytes(256)),
        Mode::Reset => {
            // SO_LINGER 0: close sends RST instead of FIN.
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: setsockopt on a socket this thread owns, with a
            // linger struct of the size given.
            unsafe {
                libc::setsockopt(
                    writer.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&raw const linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
            Err(std::io::Error::other("reset"))
        }
        Mode::TwoLengths => writer.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\ncontent-length: 14\r\n\r\nHello, World!",
        ),
        Mode::Continue => writer.write_all(&[b"HTTP/1.1 100 Continue\r\n\r\n", ok].concat()),
        Mode::Glued => writer.write_all(&[ok, ok].concat()),
        _ => writer.write_all(ok),
    }
}

/// Writes `piece` again and again until the client goes or the cap.
fn endless(writer: &mut TcpStream, piece: &[u8]) -> std::io::Result<()> {
    let mut written = 0;
    while written < ENDLESS_CAP_BYTES {
        writer.write_all(piece)?;
        written += piece.len();
    }
    Ok(())
}

/// Bytes from a small xorshift generator seeded by the clock.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut state = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
        | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The most body bytes a request may carry.
const MAX_REQUEST_BODY: usize = 64 * 1024;

/// One request: its method, path, whether it said its body is JSON, and
/// its body.
struct Request {
    method: String,
    path: String,
    json: bool,
    body: Vec<u8>,
}

/// Reads one request, its body by Content-Length; `None` at end of stream
/// or for a request it cannot read.
fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let (mut length, mut json) = (0usize, false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        if header == "\r\n" || header == "\n" {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "content-type" => json = value.starts_with("application/json"),
            _ => {}
        }
    }
    if length > MAX_REQUEST_BODY {
        return None;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let mut words = request_line.split_whitespace();
    Some(Request {
        method: words.next()?.to_owned(),
        path: words.next()?.to_owned(),
        json,
        body,
    })
}

/// `POST /items`: 201 with the body wrapped, 415 without a JSON content
/// type, 404 elsewhere.
fn create_item(request: &Request) -> String {
    let (status, body) = match (request.path.as_str(), request.json) {
        ("/items", true) => (
            "201 Created",
            format!(
                "{{\"id\":1,\"item\":{}}}",
                String::from_utf8_lossy(&request.body)
            ),
        ),
        ("/items", false) => ("415 Unsupported Media Type", String::new()),
        _ => ("404 Not Found", String::new()),
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn respond(path: &str, mode: Mode, misbehaving: bool) -> String {
    let (status, content_type, body) = match path.strip_prefix("/hello/") {
        _ if misbehaving && mode == Mode::Status500 => (
            "500 Internal Server Error",
            "text/plain; charset=utf-8",
            "boom".to_owned(),
        ),
        Some(name) if misbehaving && mode == Mode::WrongBody => (
            "200 OK",
            "text/plain; charset=utf-8",
            format!("Hello, {name}?"),
        ),
        Some(name) => (
            "200 OK",
            "text/plain; charset=utf-8",
            format!("Hello, {name}!"),
        ),
        None if path == "/json" => (
            "200 OK",
            "application/json",
            r#"{"message":"Hello, World!"}"#.to_owned(),
        ),
        None => ("404 Not Found", "text/plain; charset=utf-8", String::new()),
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}
