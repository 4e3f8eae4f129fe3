//! A lean HTTP/1.1 response reader for timed requests: it finds the status
//! and the framing (Content-Length, chunked, or until close) and compares
//! the body with the expected one as it arrives, and nothing more. It is the
//! parsing half of a client that writes prebuilt request bytes (the design
//! wrk uses), so that a timed request costs the client as little as
//! possible.
//!
//! The server is not trusted. The reader is total: every input gives an
//! outcome, never a panic, a hang or unbounded memory. It is fed the bytes
//! as they are read and resumes where it stopped, so its work is linear in
//! the answer's size however the bytes are split; it keeps only the head
//! (at most [`MAX_HEAD_BYTES`]) and never the body; and every length is
//! checked and capped. Interim `1xx` answers are skipped (RFC 9110 15.2).

use std::fmt;

use crate::load::request::BodyCheck;

/// The most headers a response may have.
const MAX_HEADERS: usize = 32;
/// The longest head the reader keeps.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The largest chunk, and the largest body, it reads.
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// How every answer begins.
const VERSION_PREFIX: &[u8] = b"HTTP/1.";

/// A whole answer: its status, whether its body was the expected one, and
/// whether the server will close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body_ok: bool,
    pub close: bool,
}

/// What the bytes fed so far amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Read more.
    Partial,
    Complete(Answer),
}

/// Why bytes are not a valid answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Http1Error {
    /// Not HTTP/1.x, or a malformed head.
    Garbage,
    /// A head longer than [`MAX_HEAD_BYTES`].
    HeadTooLong,
    /// A Content-Length that is not a number, or two that differ.
    BadLength,
    /// A malformed chunk size or chunk end.
    BadChunk,
    /// A chunk, or a body, larger than [`MAX_BODY_BYTES`].
    BodyTooLarge,
    /// Bytes after the whole answer (nothing was asked for them): a body
    /// longer than announced, or a second answer glued to the first.
    BytesAfterAnswer,
    /// `101 Switching Protocols`, which nothing asked for.
    UnaskedUpgrade,
    /// The connection closed before the answer was whole.
    ClosedEarly,
}

impl Http1Error {
    /// What the outcome is counted as.
    pub fn as_str(self) -> &'static str {
        match self {
            Http1Error::Garbage => "bad answer: not HTTP/1.1",
            Http1Error::HeadTooLong => "bad answer: head over 64 KiB",
            Http1Error::BadLength => "bad answer: bad Content-Length",
            Http1Error::BadChunk => "bad answer: bad chunked encoding",
            Http1Error::BodyTooLarge => "bad answer: body or chunk over 16 MiB",
            Http1Error::BytesAfterAnswer => "bad answer: bytes after the answer",
            Http1Error::UnaskedUpgrade => "bad answer: unasked 101 upgrade",
            Http1Error::ClosedEarly => "closed mid-answer",
        }
    }
}

impl fmt::Display for Http1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Http1Error {}

/// Where the reader is in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting the head; `scanned` bytes of it hold no blank line.
    Head {
        scanned: usize,
    },
    /// `left` bytes of a Content-Length body to come.
    Body {
        left: u64,
    },
    /// A body that ends when the connection does.
    UntilClose,
    /// A chunk-size line, collected in `line`.
    ChunkSize,
    /// `left` bytes of a chunk's data to come.
    ChunkData {
        left: u64,
    },
    /// The CRLF after a chunk's data; `seen` of its two bytes so far.
    ChunkEnd {
        seen: u8,
    },
    /// Trailer lines after the last chunk, up to an empty one.
    Trailer,
    Done,
}

/// The head of an answer, once whole.
#[derive(Debug, Clone, Copy)]
struct Head {
    status: u16,
    close: bool,
    framing: Framing,
}

/// How the body's end is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// Reads one answer at a time; [`Reader::start`] before each request.
#[derive(Debug, Clone)]
pub struct Reader {
    check: BodyCheck,
    state: State,
    /// The head so far, then a chunk-size or trailer line.
    line: Vec<u8>,
    status: u16,
    close: bool,
    /// Body bytes so far, and whether they match the expected body.
    body_len: u64,
    body_ok: bool,
}

impl Reader {
    /// A reader of answers whose body should be exactly `expected`.
    pub fn new(expected: &[u8]) -> Reader {
        Reader::checking(&BodyCheck::Exact(expected.to_vec()))
    }

    /// A reader of answers whose body `check` judges: exact bytes are
    /// compared as they arrive, a length when the body is whole.
    pub fn checking(check: &BodyCheck) -> Reader {
        Reader {
            check: check.clone(),
            state: State::Head { scanned: 0 },
            // A contract answer's head is about 100 to 200 bytes: one
            // allocation per connection, not one per doubling.
            line: Vec::with_capacity(256),
            status: 0,
            close: false,
            body_len: 0,
            body_ok: true,
        }
    }

    /// Forgets the last answer: the next bytes begin a new one. Keeps its
    /// buffer, so reading costs no allocation once warm.
    pub fn start(&mut self) {
        self.state = State::Head { scanned: 0 };
        self.line.clear();
        self.status = 0;
        self.close = false;
        self.body_len = 0;
        self.body_ok = true;
    }

    /// Takes the next bytes read on the connection.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<Progress, Http1Error> {
        while !bytes.is_empty() {
            if self.state == State::Done {
                return Err(Http1Error::BytesAfterAnswer);
            }
            let used = self.step(bytes)?;
            bytes = &bytes[used..];
        }
        Ok(self.progress())
    }

    /// The connection ended: an answer that runs until close is whole now;
    /// any other that is not whole never will be.
    pub fn eof(&mut self) -> Result<Answer, Http1Error> {
        match self.state {
            State::Done => Ok(self.answer()),
            State::UntilClose => {
                self.close = true;
                self.state = State::Done;
                Ok(self.answer())
            }
            _ => Err(Http1Error::ClosedEarly),
        }
    }

    fn progress(&self) -> Progress {
        match self.state {
            State::Done => Progress::Complete(self.answer()),
            _ => Progress::Partial,
        }
    }

    fn answer(&self) -> Answer {
        let body_ok = match &self.check {
            BodyCheck::Exact(expected) => self.body_ok && self.body_len == expected.len() as u64,
            BodyCheck::Length(n) => self.body_len == *n,
            BodyCheck::Any => true,
        };
        Answer {
            status: self.status,
            body_ok,
            close: self.close,
        }
    }

    /// Advances by one piece of the answer; returns the bytes it used.
    fn step(&mut self, bytes: &[u8]) -> Result<usize, Http1Error> {
        match self.state {
            State::Head { scanned } => self.head_bytes(bytes, scanned),
            State::Body { left } => Ok(self.body_bytes(bytes, left, false)),
            State::UntilClose => {
                if self.body_len.saturating_add(bytes.len() as u64) > MAX_BODY_BYTES {
                    return Err(Http1Error::BodyTooLarge);
                }
                self.compare(bytes);
                Ok(bytes.len())
            }
            State::ChunkSize => self.chunk_size_bytes(bytes),
            State::ChunkData { left } => Ok(self.body_bytes(bytes, left, true)),
            State::ChunkEnd { seen } => chunk_end_byte(bytes[0], seen).map(|state| {
                self.state = state;
                1
            }),
            State::Trailer => self.trailer_bytes(bytes),
            State::Done => Err(Http1Error::BytesAfterAnswer),
        }
    }

    /// Collects the head until its blank line, scanning each byte once.
    fn head_bytes(&mut self, bytes: &[u8], scanned: usize) -> Result<usize, Http1Error> {
        let room = MAX_HEAD_BYTES - self.line.len();
        let take = bytes.len().min(room);
        self.line.extend_from_slice(&bytes[..take]);
        // Bytes that cannot begin an answer need no blank line to be named.
        let start = self.line.len().min(VERSION_PREFIX.len());
        if self.line[..start] != VERSION_PREFIX[..start] {
            return Err(Http1Error::Garbage);
        }
        // The blank line may straddle the last feed: look back three bytes.
        let from = scanned.saturating_sub(3);
        let Some(blank_end) = blank_line_end(&self.line[from..]).map(|end| from + end) else {
            if take < bytes.len() {
                return Err(Http1Error::HeadTooLong);
            }
            self.state = State::Head {
                scanned: self.line.len(),
            };
            return Ok(take);
        };
        // httparse says where the head ends (a bare LF ends a line too).
        let (head, head_len) = parse_head(&self.line[..blank_end])?;
        // The bytes after the head go back to the caller's slice; they are
        // all of this feed, as the head ended in it.
        let unused = self.line.len() - head_len;
        let used = take.checked_sub(unused).ok_or(Http1Error::Garbage)?;
        self.line.clear();
        self.begin_body(head)?;
        Ok(used)
    }

    /// After a whole head: skip an interim answer, or start the body.
    fn begin_body(&mut self, head: Head) -> Result<(), Http1Error> {
        match head.status {
            101 => return Err(Http1Error::UnaskedUpgrade),
            100..=199 => {
                self.state = State::Head { scanned: 0 };
                return Ok(());
            }
            _ => {}
        }
        self.status = head.status;
        self.close = head.close;
        self.state = match head.framing {
            Framing::Length(0) => State::Done,
            Framing::Length(n) if n > MAX_BODY_BYTES => return Err(Http1Error::BodyTooLarge),
            Framing::Length(n) => State::Body { left: n },
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Ok(())
    }

    /// Body bytes of a known length, `left` of them to come, of a chunk or
    /// of a Content-Length body.
    fn body_bytes(&mut self, bytes: &[u8], left: u64, chunk: bool) -> usize {
        let take = usize::try_from(left).map_or(bytes.len(), |left| left.min(bytes.len()));
        self.compare(&bytes[..take]);
        let left = left - take as u64;
        self.state = match (left, chunk) {
            (0, false) => State::Done,
            (0, true) => State::ChunkEnd { seen: 0 },
            (left, false) => State::Body { left },
            (left, true) => State::ChunkData { left },
        };
        take
    }

    /// Compares body bytes with an exact expected body in place, and
    /// counts them.
    fn compare(&mut self, bytes: &[u8]) {
        if let BodyCheck::Exact(expected) = &self.check {
            let at = usize::try_from(self.body_len).unwrap_or(usize::MAX);
            let expected = expected.get(at..).unwrap_or_default();
            if expected.len() < bytes.len() || expected[..bytes.len()] != *bytes {
                self.body_ok = false;
            }
        }
        self.body_len = self.body_len.saturating_add(bytes.len() as u64);
    }

    fn chunk_size_bytes(&mut self, bytes: &[u8]) -> Result<usize, Http1Error> {
        let Some(used) = self.take_line(bytes, Http1Error::BadChunk)? else {
            return Ok(bytes.len());
        };
        let size = chunk_size(&self.line)?;
        self.line.clear();
        if self.body_len.saturating_add(size) > MAX_BODY_BYTES {
            return Err(Http1Error::BodyTooLarge);
        }
        self.state = match size {
            0 => State::Trailer,
            size => State::ChunkData { left: size },
        };
        Ok(used)
    }

    fn trailer_bytes(&mut self, bytes: &[u8]) -> Result<usize, Http1Error> {
        let Some(used) = self.take_line(bytes, Http1Error::HeadTooLong)? else {
            return Ok(bytes.len());
        };
        if self.line == b"\r\n" {
            self.state = State::Done;
        }
        self.line.clear();
        Ok(used)
    }

    /// Collects one CRLF-ended line into `line`; the bytes used once it is
    /// whole, `None` while it is not. A line past the head's cap is
    /// `too_long`.
    fn take_line(
        &mut self,
        bytes: &[u8],
        too_long: Http1Error,
    ) -> Result<Option<usize>, Http1Error> {
        let end = bytes.iter().position(|&b| b == b'\n');
        let take = end.map_or(bytes.len(), |at| at + 1);
        if self.line.len() + take > MAX_HEAD_BYTES {
            return Err(too_long);
        }
        self.line.extend_from_slice(&bytes[..take]);
        Ok(end.map(|_| take))
    }
}

/// The CRLF after a chunk's data, one byte at a time.
fn chunk_end_byte(byte: u8, seen: u8) -> Result<State, Http1Error> {
    match (seen, byte) {
        (0, b'\r') => Ok(State::ChunkEnd { seen: 1 }),
        (1, b'\n') => Ok(State::ChunkSize),
        _ => Err(Http1Error::BadChunk),
    }
}

/// A chunk-size line (`1a;ext=x\r\n`) as a size, checked.
fn chunk_size(line: &[u8]) -> Result<u64, Http1Error> {
    let line = line.strip_suffix(b"\r\n").ok_or(Http1Error::BadChunk)?;
    let text = std::str::from_utf8(line).map_err(|_| Http1Error::BadChunk)?;
    let digits = text.split(';').next().unwrap_or("").trim();
    if digits.is_empty() || digits.len() > 16 {
        return Err(Http1Error::BadChunk);
    }
    let size = u64::from_str_radix(digits, 16).map_err(|_| Http1Error::BadChunk)?;
    if size > MAX_BODY_BYTES {
        return Err(Http1Error::BodyTooLarge);
    }
    Ok(size)
}

/// Where the first empty line ends: a line end (`\n`, or `\r\n`) right
/// after another, as httparse reads them.
fn blank_line_end(bytes: &[u8]) -> Option<usize> {
    let crlf = find(bytes, b"\n\r\n").map(|at| at + 3);
    let lf = find(bytes, b"\n\n").map(|at| at + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The status, the framing and `Connection: close` of a whole head, and
/// the head's length as httparse reads it.
fn parse_head(bytes: &[u8]) -> Result<(Head, usize), Http1Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) | Err(_) => return Err(Http1Error::Garbage),
    };
    let status = response.code.ok_or(Http1Error::Garbage)?;
    let mut framing = None;
    // HTTP/1.0 closes unless the server says keep-alive (RFC 9112 9.3);
    // HTTP/1.1 keeps the connection unless it says close.
    let http_1_0 = response.version == Some(0);
    let mut close = http_1_0;
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value.parse().map_err(|_| Http1Error::BadLength)?;
            if matches!(framing, Some(Framing::Length(m)) if m != n) {
                return Err(Http1Error::BadLength);
            }
            framing.get_or_insert(Framing::Length(n));
        } else if header.name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().ends_with("chunked")
        {
            framing = Some(Framing::Chunked);
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = if http_1_0 {
                !value.eq_ignore_ascii_case("keep-alive")
            } else {
                value.eq_ignore_ascii_case("close")
            };
        }
    }
    // An answer that cannot have a body (RFC 9112 6.3).
    let bodiless = status == 204 || status == 304 || (100..200).contains(&status);
    let framing = match framing {
        _ if bodiless => Framing::Length(0),
        Some(framing) => framing,
        None => Framing::UntilClose,
    };
    Ok((
        Head {
            status,
            close,
            framing,
        },
        head_len,
    ))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"Hello, World!";
    const HELLO: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nHello, World!";
    const CHUNKED: &[u8] =
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n7\r\nHello, \r\n6;ext=1\r\nWorld!\r\n0\r\n\r\n";

    /// Feeds `bytes` in pieces cut at `cuts`, then the end if `eof`.
    fn read_split(bytes: &[u8], cuts: &[usize], eof: bool) -> Result<Progress, Http1Error> {
        let mut reader = Reader::new(BODY);
        let mut at = 0;
        let mut progress = Progress::Partial;
        for &cut in cuts.iter().chain([&bytes.len()]) {
            let cut = cut.clamp(at, bytes.len());
            progress = reader.feed(&bytes[at..cut])?;
            at = cut;
        }
        if eof {
            return reader.eof().map(Progress::Complete);
        }
        Ok(progress)
    }

    fn parse(bytes: &[u8]) -> Result<Progress, Http1Error> {
        read_split(bytes, &[], false)
    }

    fn complete(bytes: &[u8]) -> Answer {
        match parse(bytes) {
            Ok(Progress::Complete(answer)) => answer,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_whole_response_gives_status_and_body() {
        let answer = complete(HELLO);
        assert_eq!(
            (answer.status, answer.body_ok, answer.close),
            (200, true, false)
        );
    }

    #[test]
    fn every_split_of_the_bytes_is_partial_until_the_last() {
        for bytes in [HELLO, CHUNKED] {
            for end in 0..bytes.len() {
                assert_eq!(parse(&bytes[..end]), Ok(Progress::Partial), "{end}");
            }
            for cut in 0..bytes.len() {
                let answer = read_split(bytes, &[cut], false);
                assert_eq!(answer, Ok(Progress::Complete(complete(bytes))), "{cut}");
            }
        }
    }

    #[test]
    fn chunked_bodies_are_joined_and_trailers_skipped() {
        assert!(complete(CHUNKED).body_ok);
        let with_trailer =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-t: 1\r\n\r\n";
        let answer = complete(with_trailer);
        assert_eq!(
            (answer.status, answer.body_ok),
            (200, false),
            "ok is not the body"
        );
        let bad = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(parse(bad), Err(Http1Error::BadChunk));
        let no_crlf = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokXX";
        assert_eq!(parse(no_crlf), Err(Http1Error::BadChunk));
    }

    #[test]
    fn an_absurd_chunk_size_is_a_named_outcome_not_a_panic() {
        let absurd = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\nx";
        assert_eq!(parse(absurd), Err(Http1Error::BodyTooLarge));
        let longer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1ffffffffffffffff\r\n";
        assert_eq!(parse(longer), Err(Http1Error::BadChunk));
        let big = b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\n";
        assert_eq!(parse(big), Err(Http1Error::BadLength));
        let large = b"HTTP/1.1 200 OK\r\ncontent-length: 17000000\r\n\r\n";
        assert_eq!(parse(large), Err(Http1Error::BodyTooLarge));
    }

    /// Feeds `filler` up to `times` times; the first error, if any.
    fn feed_until_error(
        reader: &mut Reader,
        filler: &[u8],
        times: usize,
    ) -> Result<Progress, Http1Error> {
        let mut outcome = Ok(Progress::Partial);
        for _ in 0..times {
            outcome = reader.feed(filler);
            if outcome.is_err() {
                break;
            }
        }
        outcome
    }

    #[test]
    fn a_head_that_never_ends_stops_at_its_cap() {
        let mut reader = Reader::new(BODY);
        reader.feed(b"HTTP/1.1 200 OK\r\n").unwrap();
        let outcome = feed_until_error(&mut reader, &[b'x'; 4096], 20);
        assert_eq!(outcome, Err(Http1Error::HeadTooLong));
        assert!(reader.line.capacity() <= 2 * MAX_HEAD_BYTES);
    }

    #[test]
    fn a_body_until_close_is_capped() {
        let mut reader = Reader::new(BODY);
        reader.feed(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        let outcome = feed_until_error(&mut reader, &vec![b'x'; 1 << 20], 20);
        assert_eq!(outcome, Err(Http1Error::BodyTooLarge));
    }

    #[test]
    fn bytes_after_the_answer_are_an_error() {
        let mut long = HELLO.to_vec();
        long.extend_from_slice(b"!!");
        assert_eq!(parse(&long), Err(Http1Error::BytesAfterAnswer));
        let mut chunked = CHUNKED.to_vec();
        chunked.push(b'x');
        assert_eq!(parse(&chunked), Err(Http1Error::BytesAfterAnswer));
        let glued = [HELLO, HELLO].concat();
        assert_eq!(parse(&glued), Err(Http1Error::BytesAfterAnswer));
    }

    #[test]
    fn interim_answers_are_skipped_and_an_unasked_upgrade_is_refused() {
        let continued = [b"HTTP/1.1 100 Continue\r\n\r\n".as_slice(), HELLO].concat();
        assert_eq!(complete(&continued), complete(HELLO));
        let hints = [
            b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n".as_slice(),
            HELLO,
        ]
        .concat();
        assert_eq!(
            read_split(&hints, &[10, 30, 50], false),
            Ok(Progress::Complete(complete(HELLO)))
        );
        let upgrade = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\n\r\n";
        assert_eq!(parse(upgrade), Err(Http1Error::UnaskedUpgrade));
    }

    #[test]
    fn a_connection_closed_mid_body_is_named() {
        assert_eq!(
            read_split(&HELLO[..HELLO.len() - 3], &[], true),
            Err(Http1Error::ClosedEarly)
        );
        assert_eq!(
            read_split(&CHUNKED[..40], &[], true),
            Err(Http1Error::ClosedEarly)
        );
        assert_eq!(read_split(b"", &[], true), Err(Http1Error::ClosedEarly));
        assert_eq!(
            read_split(HELLO, &[], true),
            Ok(Progress::Complete(complete(HELLO)))
        );
    }

    #[test]
    fn http_1_0_closes_unless_the_server_keeps_the_connection() {
        let closed = |bytes: &[u8]| complete(bytes).close;
        // bottle's wsgiref: HTTP/1.0 with a length and no Connection header.
        assert!(closed(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"));
        assert!(!closed(
            b"HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\ncontent-length: 2\r\n\r\nok"
        ));
        assert!(!closed(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
        assert!(closed(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nok"
        ));
    }

    #[test]
    fn a_body_until_close_ends_at_eof() {
        let bytes = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nHello, World!";
        assert_eq!(parse(bytes), Ok(Progress::Partial));
        let Ok(Progress::Complete(answer)) = read_split(bytes, &[20], true) else {
            panic!("whole at the end");
        };
        assert_eq!((answer.body_ok, answer.close), (true, true));
    }

    #[test]
    fn garbage_and_bad_lengths_are_errors_not_panics() {
        assert_eq!(parse(b"SSH-2.0-OpenSSH\r\n\r\n"), Err(Http1Error::Garbage));
        // Named at once, with no blank line to wait for.
        assert_eq!(parse(b"\x8a\x01"), Err(Http1Error::Garbage));
        assert_eq!(parse(b"HTTP/2"), Err(Http1Error::Garbage));
        assert_eq!(parse(b"\x00\xff\xfe\r\n\r\n"), Err(Http1Error::Garbage));
        let bad = b"HTTP/1.1 200 OK\r\ncontent-length: lots\r\n\r\n";
        assert_eq!(parse(bad), Err(Http1Error::BadLength));
        let two = b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nx";
        assert_eq!(parse(two), Err(Http1Error::BadLength));
    }

    #[test]
    fn responses_without_a_body_are_whole_at_the_head() {
        let not_found = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(complete(not_found).status, 404);
        let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(complete(no_content).status, 204);
    }

    #[test]
    fn a_head_with_bare_line_feeds_is_read_as_httparse_reads_it() {
        let bare = b"HTTP/1.1 200 OK\ncontent-length: 13\n\nHello, World!";
        assert!(complete(bare).body_ok);
        for cut in 0..bare.len() {
            assert_eq!(
                read_split(bare, &[cut], false),
                Ok(Progress::Complete(complete(bare)))
            );
        }
    }

    #[test]
    fn a_wrong_or_short_body_is_not_ok() {
        let wrong = b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nHello, Wordl!";
        assert!(!complete(wrong).body_ok);
        let short = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nHello";
        assert!(!complete(short).body_ok);
    }

    #[test]
    fn a_length_or_any_body_is_checked_without_the_bytes() {
        let read = |check: BodyCheck, bytes: &[u8]| {
            let mut reader = Reader::checking(&check);
            match reader.feed(bytes) {
                Ok(Progress::Complete(answer)) => answer.body_ok,
                other => panic!("{other:?}"),
            }
        };
        assert!(read(BodyCheck::Length(13), HELLO));
        assert!(!read(BodyCheck::Length(12), HELLO));
        assert!(read(BodyCheck::Any, HELLO));
        assert!(read(BodyCheck::Length(13), CHUNKED));
        assert!(read(BodyCheck::Exact(BODY.to_vec()), CHUNKED));
        assert!(!read(BodyCheck::Exact(b"Hello, World?".to_vec()), CHUNKED));
    }

    #[test]
    fn a_reader_is_reused_answer_after_answer() {
        let mut reader = Reader::new(BODY);
        for bytes in [HELLO, CHUNKED, HELLO] {
            reader.start();
            assert!(matches!(reader.feed(bytes), Ok(Progress::Complete(a)) if a.body_ok));
        }
    }

    /// xorshift64*: a seeded generator, so a failure replays.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// A valid answer, then mutated: bytes flipped, cut, duplicated, or
    /// spliced with pieces that stress the parser.
    fn mutated(rng: &mut Rng) -> Vec<u8> {
        const PIECES: [&[u8]; 8] = [
            b"\r\n",
            b"ffffffffffffffff\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"content-length: 18446744073709551616\r\n",
            b"transfer-encoding: chunked\r\n",
            b"0\r\n\r\n",
            b";ext\r\n",
            b"\x00\xff",
        ];
        let base = [HELLO, CHUNKED][rng.below(2)];
        let mut bytes = base.to_vec();
        for _ in 0..rng.below(4) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(4) {
                0 if !bytes.is_empty() => {
                    let i = rng.below(bytes.len());
                    bytes[i] ^= 1 << rng.below(8);
                }
                1 => bytes.truncate(at),
                2 => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    bytes.splice(at..at, piece.iter().copied());
                }
                _ => {
                    let copy = bytes[at..].to_vec();
                    bytes.extend_from_slice(&copy);
                }
            }
        }
        bytes
    }

    /// Random cut points within `len`, in order.
    fn cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
        let mut cuts: Vec<usize> = (0..rng.below(6)).map(|_| rng.below(len + 1)).collect();
        cuts.sort_unstable();
        cuts
    }

    #[test]
    fn any_bytes_split_anywhere_give_one_outcome_and_no_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..20_000 {
            let bytes = if case % 4 == 0 {
                (0..rng.below(200)).map(|_| rng.next() as u8).collect()
            } else {
                mutated(&mut rng)
            };
            let eof = rng.below(2) == 0;
            let whole = read_split(&bytes, &[], eof);
            let split = read_split(&bytes, &cuts(&mut rng, bytes.len()), eof);
            assert_eq!(
                whole,
                split,
                "case {case}: {:?}",
                String::from_utf8_lossy(&bytes)
            );
            let byte_by_byte: Vec<usize> = (1..bytes.len()).collect();
            assert_eq!(whole, read_split(&bytes, &byte_by_byte, eof), "case {case}");
        }
    }

    #[test]
    fn a_large_answer_fed_a_byte_at_a_time_is_read_in_linear_work() {
        // 256 KiB in 4 KiB chunks, one byte per read: re-parsing from the
        // start on every read would take about 3e10 steps; this takes one
        // per byte.
        let mut answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..64 {
            answer.extend_from_slice(b"1000\r\n");
            answer.extend(std::iter::repeat_n(b'x', 4096));
            answer.extend_from_slice(b"\r\n");
        }
        answer.extend_from_slice(b"0\r\n\r\n");
        let mut reader = Reader::new(BODY);
        let mut last = Ok(Progress::Partial);
        for byte in &answer {
            last = reader.feed(std::slice::from_ref(byte));
        }
        assert!(matches!(last, Ok(Progress::Complete(a)) if a.status == 200 && !a.body_ok));
        assert!(reader.line.capacity() < 4096, "no body is kept");
    }
}
