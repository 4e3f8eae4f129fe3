//! A lean HTTP/1.1 response reader for timed requests: it finds the status
//! and the framing (Content-Length, chunked, or until close) and hands back
//! the body for an exact comparison, and nothing more. It is the parsing
//! half of a client that writes prebuilt request bytes (the design wrk
//! uses), so that a timed request costs the client as little as possible.
//!
//! It never waits and never panics: given the bytes read so far it says
//! complete, not yet, or why the bytes cannot be a response.

use std::fmt;

/// The most headers a response may have.
const MAX_HEADERS: usize = 32;

/// A whole response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The body, chunked framing removed.
    pub body: Vec<u8>,
    /// Bytes of the buffer this response took.
    pub consumed: usize,
    /// The server said it will close the connection.
    pub close: bool,
}

/// What the bytes read so far amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Read more.
    Partial,
    Complete(Response),
}

/// Why bytes are not a valid response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Http1Error {
    /// Not HTTP/1.x, or a malformed head.
    Garbage(String),
    /// A Content-Length that is not a number, or two that differ.
    BadLength,
    /// A malformed chunk size or chunk end.
    BadChunk,
    /// More bytes arrived than the response announced (nothing was asked
    /// for them).
    BodyTooLong { extra: usize },
    /// The connection closed before the response was whole.
    ClosedEarly,
}

impl fmt::Display for Http1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Http1Error::Garbage(why) => write!(f, "not an HTTP/1.1 response: {why}"),
            Http1Error::BadLength => f.write_str("bad Content-Length"),
            Http1Error::BadChunk => f.write_str("bad chunked encoding"),
            Http1Error::BodyTooLong { extra } => {
                write!(f, "{extra} bytes beyond the announced body")
            }
            Http1Error::ClosedEarly => f.write_str("connection closed mid-response"),
        }
    }
}

impl std::error::Error for Http1Error {}

/// How the body's end is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// The response in `buf` (everything read on the connection since the
/// request was sent). `Partial` until it is whole; bytes beyond it are an
/// error, as the client sends one request at a time.
pub fn parse(buf: &[u8]) -> Result<Parsed, Http1Error> {
    let Some((status, head_len, framing, close)) = head(buf)? else {
        return Ok(Parsed::Partial);
    };
    let rest = &buf[head_len..];
    let body = match framing {
        Framing::Length(n) if rest.len() < n => return Ok(Parsed::Partial),
        Framing::Length(n) if rest.len() > n => {
            return Err(Http1Error::BodyTooLong {
                extra: rest.len() - n,
            });
        }
        Framing::Length(n) => (rest.to_vec(), n),
        Framing::Chunked => match dechunk(rest)? {
            None => return Ok(Parsed::Partial),
            Some((_, used)) if used < rest.len() => {
                let extra = rest.len() - used;
                return Err(Http1Error::BodyTooLong { extra });
            }
            Some(done) => done,
        },
        Framing::UntilClose => return Ok(Parsed::Partial),
    };
    Ok(Parsed::Complete(Response {
        status,
        body: body.0,
        consumed: head_len + body.1,
        close,
    }))
}

/// The connection closed after `buf` was read: a response that runs until
/// close is now whole; any other that is not is an error.
pub fn parse_at_eof(buf: &[u8]) -> Result<Response, Http1Error> {
    if let Parsed::Complete(response) = parse(buf)? {
        return Ok(response);
    }
    match head(buf)? {
        Some((status, head_len, Framing::UntilClose, _)) => Ok(Response {
            status,
            body: buf[head_len..].to_vec(),
            consumed: buf.len(),
            close: true,
        }),
        _ => Err(Http1Error::ClosedEarly),
    }
}

/// The status, the head's length, the framing and `Connection: close`, once
/// the head is whole.
fn head(buf: &[u8]) -> Result<Option<(u16, usize, Framing, bool)>, Http1Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(err) => return Err(Http1Error::Garbage(err.to_string())),
    };
    let status = response.code.unwrap_or(0);
    let mut framing = None;
    // HTTP/1.0 closes unless the server says keep-alive (RFC 9112 9.3);
    // HTTP/1.1 keeps the connection unless it says close.
    let http_1_0 = response.version == Some(0);
    let mut close = http_1_0;
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.parse().map_err(|_| Http1Error::BadLength)?;
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
    // A response that cannot have a body (RFC 9112 6.3).
    let bodiless = status == 204 || status == 304 || (100..200).contains(&status);
    let framing = match framing {
        _ if bodiless => Framing::Length(0),
        Some(framing) => framing,
        None => Framing::UntilClose,
    };
    Ok(Some((status, head_len, framing, close)))
}

/// The body of a chunked message and the bytes it took, once the last
/// chunk and the trailer's end have arrived.
fn dechunk(mut rest: &[u8]) -> Result<Option<(Vec<u8>, usize)>, Http1Error> {
    let total = rest.len();
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find_crlf(rest) else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| Http1Error::BadChunk)?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| Http1Error::BadChunk)?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(trailer_end(rest).map(|used| (body, total - rest.len() + used)));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        if &rest[size..size + 2] != b"\r\n" {
            return Err(Http1Error::BadChunk);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// The length of the trailer section and its final empty line, once whole.
fn trailer_end(rest: &[u8]) -> Option<usize> {
    let mut used = 0;
    loop {
        let line_end = find_crlf(&rest[used..])?;
        used += line_end + 2;
        if line_end == 0 {
            return Some(used);
        }
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nHello, World!";
    const CHUNKED: &[u8] =
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n7\r\nHello, \r\n6;ext=1\r\nWorld!\r\n0\r\n\r\n";

    fn complete(bytes: &[u8]) -> Response {
        match parse(bytes) {
            Ok(Parsed::Complete(response)) => response,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_whole_response_gives_status_and_body() {
        let response = complete(HELLO);
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"Hello, World!");
        assert_eq!(response.consumed, HELLO.len());
        assert!(!response.close);
    }

    #[test]
    fn every_split_of_the_bytes_is_partial_until_the_last() {
        for bytes in [HELLO, CHUNKED] {
            for end in 0..bytes.len() {
                assert_eq!(parse(&bytes[..end]), Ok(Parsed::Partial), "{end}");
            }
            assert_eq!(complete(bytes).body, b"Hello, World!");
        }
    }

    #[test]
    fn chunked_bodies_are_joined_and_trailers_skipped() {
        let response = complete(CHUNKED);
        assert_eq!(response.body, b"Hello, World!");
        let with_trailer =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-t: 1\r\n\r\n";
        assert_eq!(complete(with_trailer).body, b"ok");
        let bad = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(parse(bad), Err(Http1Error::BadChunk));
        let no_crlf = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokXX";
        assert_eq!(parse(no_crlf), Err(Http1Error::BadChunk));
    }

    #[test]
    fn a_body_longer_than_announced_is_an_error() {
        let mut long = HELLO.to_vec();
        long.extend_from_slice(b"!!");
        assert_eq!(parse(&long), Err(Http1Error::BodyTooLong { extra: 2 }));
        let mut chunked = CHUNKED.to_vec();
        chunked.push(b'x');
        assert_eq!(parse(&chunked), Err(Http1Error::BodyTooLong { extra: 1 }));
    }

    #[test]
    fn a_connection_closed_mid_body_is_named() {
        assert_eq!(
            parse_at_eof(&HELLO[..HELLO.len() - 3]),
            Err(Http1Error::ClosedEarly)
        );
        assert_eq!(parse_at_eof(&CHUNKED[..40]), Err(Http1Error::ClosedEarly));
        assert_eq!(parse_at_eof(b""), Err(Http1Error::ClosedEarly));
        assert_eq!(parse_at_eof(HELLO).map(|r| r.status), Ok(200));
    }

    #[test]
    fn http_1_0_closes_unless_the_server_keeps_the_connection() {
        let closed = |bytes: &[u8]| match parse(bytes) {
            Ok(Parsed::Complete(response)) => response.close,
            other => panic!("{other:?}"),
        };
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
        let bytes = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nHello";
        assert_eq!(parse(bytes), Ok(Parsed::Partial));
        let response = parse_at_eof(bytes).unwrap();
        assert_eq!(
            (response.body.as_slice(), response.close),
            (&b"Hello"[..], true)
        );
    }

    #[test]
    fn garbage_and_bad_lengths_are_errors_not_panics() {
        assert!(matches!(
            parse(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(Http1Error::Garbage(_))
        ));
        assert!(matches!(
            parse(b"\x00\xff\xfe\r\n"),
            Err(Http1Error::Garbage(_))
        ));
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
        assert_eq!(complete(no_content).body, b"");
    }
}
