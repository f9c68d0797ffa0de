//! Incremental request parser: RESP multibulk and inline commands.
//!
//! Why not `redis_protocol::decode`: clients only ever send arrays of bulk strings (or inline
//! lines), and the server must (a) accept inline commands, (b) enforce Redis's limits before
//! buffering anything, and (c) never re-parse a half-received multibulk from its start. This parser
//! keeps its position between reads: finished arguments are split off the buffer (zero-copy) as
//! soon as they are complete, so a 1M-argument request arriving in small reads costs O(n).

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request or header line, as Redis's PROTO_INLINE_MAX_SIZE.
pub const INLINE_MAX: usize = 64 * 1024;
/// Largest multibulk count accepted.
pub const MULTIBULK_MAX: i64 = 1024 * 1024 * 1024;
/// Arguments pre-allocated for a multibulk: a huge declared count must not reserve memory.
const PREALLOC_ARGS: usize = 1024;
/// Bulk strings at least this big get their buffer reserved up front (as Redis's PROTO_MBULK_BIG_ARG).
const BIG_ARG: usize = 32 * 1024;

/// A protocol violation: the text after `-ERR Protocol error: `; the connection is then closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

/// Limits that depend on configuration and on the client's authentication state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bulk_len: i64,
    /// Memory one request may hold while it arrives (`client-query-buffer-limit`).
    pub max_request_bytes: usize,
    /// Unauthenticated clients are limited to tiny requests, as Redis 7 does.
    pub authenticated: bool,
}

#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments still expected in the current multibulk (0 = between requests).
    remaining: usize,
    /// Length of the bulk string being read, once its `$` header was parsed.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
    /// Memory held by `args` (with per-argument overhead), checked against the limit.
    held: usize,
}

/// Per-argument bookkeeping counted against the request limit, so a flood of empty arguments
/// is bounded too.
const ARG_OVERHEAD: usize = 48;

/// The error that closes a connection without a reply, as Redis does when a client's query
/// buffer passes `client-query-buffer-limit`.
pub const QUERY_LIMIT: ProtocolError = ProtocolError("client query buffer limit reached");

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// True between requests: the buffer then starts with the next request's first byte.
    pub fn is_between_requests(&self) -> bool {
        self.remaining == 0 && self.bulk_len.is_none()
    }

    /// Parses one complete request from `buf`, consuming it. `Ok(None)` means more bytes are needed;
    /// an empty inline line or `*0` yields `Some(vec![])`, which callers skip.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.remaining == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return parse_inline(buf);
            }
            let Some(line) = take_line(buf, ProtocolError("too big mbulk count string"))? else {
                return Ok(None);
            };
            let count = parse_int(&line[1..]).ok_or(ProtocolError("invalid multibulk length"))?;
            if count > MULTIBULK_MAX {
                return Err(ProtocolError("invalid multibulk length"));
            }
            if !limits.authenticated && count > 10 {
                return Err(ProtocolError("unauthenticated multibulk length"));
            }
            if count <= 0 {
                return Ok(Some(Vec::new()));
            }
            self.remaining = count as usize;
            self.args = Vec::with_capacity(self.remaining.min(PREALLOC_ARGS));
        }
        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    if buf[0] != b'$' {
                        return Err(expected_dollar(buf[0]));
                    }
                    let Some(line) = take_line(buf, ProtocolError("too big bulk count string"))?
                    else {
                        return Ok(None);
                    };
                    let len = parse_int(&line[1..]).ok_or(ProtocolError("invalid bulk length"))?;
                    if len < 0 || len > limits.max_bulk_len {
                        return Err(ProtocolError("invalid bulk length"));
                    }
                    if !limits.authenticated && len > 16384 {
                        return Err(ProtocolError("unauthenticated bulk length"));
                    }
                    let len = len as usize;
                    if len >= BIG_ARG {
                        buf.reserve(len + 2);
                    }
                    self.bulk_len = Some(len);
                    len
                }
            };
            if buf.len() < len + 2 {
                return Ok(None);
            }
            let arg = buf.split_to(len).freeze();
            // Redis does not check the trailing CRLF of a bulk string either; it skips two bytes.
            buf.advance(2);
            self.held += arg.len() + ARG_OVERHEAD;
            if self.held > limits.max_request_bytes {
                return Err(QUERY_LIMIT);
            }
            self.args.push(arg);
            self.bulk_len = None;
            self.remaining -= 1;
        }
        self.held = 0;
        Ok(Some(std::mem::take(&mut self.args)))
    }
}

/// Reads, without consuming, the complete multibulk request at the start of `buf`: its
/// arguments go into `args` (slices of `buf`) and its length is returned. None when `buf` does
/// not start with a complete, well-formed multibulk (an inline request, a partial one, or one
/// `parse` would reject: it will say why). For looking ahead at pipelined requests; limits are
/// `parse`'s business, this only reads what is already buffered.
pub fn peek<'a>(buf: &'a [u8], args: &mut Vec<&'a [u8]>) -> Option<usize> {
    args.clear();
    let (count, mut at) = peek_header(buf, b'*')?;
    for _ in 0..count {
        let (len, start) = peek_header(buf.get(at..)?, b'$')?;
        let start = at + start;
        let end = start.checked_add(len)?;
        args.push(buf.get(start..end)?);
        at = end + 2;
        if at > buf.len() {
            return None;
        }
    }
    Some(at)
}

/// A `<kind><non-negative decimal>\r\n` line at the start of `buf`: its number and length.
fn peek_header(buf: &[u8], kind: u8) -> Option<(usize, usize)> {
    if buf.first() != Some(&kind) {
        return None;
    }
    let end = memchr(b'\r', &buf[..buf.len().min(32)])?;
    let n = parse_int(&buf[1..end]).filter(|n| *n >= 0)?;
    (end + 1 < buf.len()).then_some((n as usize, end + 2))
}

fn expected_dollar(got: u8) -> ProtocolError {
    // Redis prints the offending byte; the message must be static here, so the common cases
    // are spelled out and anything else is reported generically.
    match got {
        b'*' => ProtocolError("expected '$', got '*'"),
        b':' => ProtocolError("expected '$', got ':'"),
        b'+' => ProtocolError("expected '$', got '+'"),
        b'-' => ProtocolError("expected '$', got '-'"),
        b'\r' => ProtocolError("expected '$', got '\r'"),
        b'\n' => ProtocolError("expected '$', got '\n'"),
        _ => ProtocolError("expected '$'"),
    }
}

/// Splits a `\r\n`-terminated line off the buffer (without the terminator).
fn take_line(
    buf: &mut BytesMut,
    too_big: ProtocolError,
) -> Result<Option<BytesMut>, ProtocolError> {
    match memchr(b'\r', buf) {
        Some(pos) if pos + 1 < buf.len() => {
            if pos > INLINE_MAX {
                return Err(too_big);
            }
            let line = buf.split_to(pos);
            buf.advance(2);
            Ok(Some(line))
        }
        Some(pos) if pos > INLINE_MAX => Err(too_big),
        Some(_) => Ok(None),
        None if buf.len() > INLINE_MAX => Err(too_big),
        None => Ok(None),
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Strict decimal integer, as Redis's string2ll (no sign on zero-length, no spaces).
fn parse_int(s: &[u8]) -> Option<i64> {
    crate::util::num::parse_i64(s)
}

/// An inline command: one line, split like a shell (`sdssplitargs`).
fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError("too big inline request"));
        }
        return Ok(None);
    };
    if nl > INLINE_MAX {
        return Err(ProtocolError("too big inline request"));
    }
    let mut line = buf.split_to(nl + 1);
    line.truncate(nl);
    if line.last() == Some(&b'\r') {
        line.truncate(nl - 1);
    }
    let args = split_args(&line).ok_or(ProtocolError("unbalanced quotes in request"))?;
    Ok(Some(args.into_iter().map(Bytes::from).collect()))
}

/// Redis's `sdssplitargs`: whitespace-separated words, "double quotes" with C escapes
/// (\n \r \t \b \a \\ \" \xHH) and 'single quotes' (only \' escaped). A closing quote must be
/// followed by whitespace or the end. Returns None on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex(line[i + 2]), hex(line[i + 3])) {
                        cur.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else if in_sq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                }
                cur.push(c);
                i += 1;
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
                i += 1;
            }
        }
        out.push(cur);
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_request_bytes: 1 << 30,
        max_bulk_len: 512 * 1024 * 1024,
        authenticated: true,
    };

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(req) = p.parse(&mut buf, LIMITS)? {
            out.push(req);
        }
        Ok(out)
    }

    #[test]
    fn peek_reads_complete_multibulks_without_consuming_them() {
        let buf = b"*3\r\n$4\r\nHSET\r\n$1\r\nh\r\n$2\r\nf1\r\n*1\r\n$4\r\nPI";
        let mut args = Vec::new();
        let n = peek(buf, &mut args);
        assert_eq!(n, Some(29));
        assert_eq!(args, [&b"HSET"[..], b"h", b"f1"]);
        // The next request is cut short; inline requests and garbage are not read either.
        assert_eq!(peek(&buf[29..], &mut args), None);
        assert_eq!(peek(b"PING\r\n", &mut args), None);
        assert_eq!(peek(b"*1\r\n$-1\r\n", &mut args), None);
        assert_eq!(peek(b"*1\r\n$99999999999999999999\r\n", &mut args), None);
        assert_eq!(peek(b"*1\r\n$1\r\nx", &mut args), None);
        assert_eq!(peek(b"*1\r\n$1\r\nx\r\n", &mut args), Some(11));
    }

    #[test]
    fn multibulk_and_inline_requests_parse() {
        let reqs = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset a \"b c\"\r\n").unwrap();
        assert_eq!(reqs[0], vec![Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(reqs[1], vec![Bytes::from("PING")]);
        assert_eq!(
            reqs[2],
            vec![Bytes::from("set"), Bytes::from("a"), Bytes::from("b c")]
        );
    }

    #[test]
    fn request_split_across_reads_resumes() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        for b in input.iter() {
            buf.extend_from_slice(&[*b]);
            if let Some(r) = p.parse(&mut buf, LIMITS).unwrap() {
                got = Some(r);
            }
        }
        assert_eq!(got.unwrap().len(), 3);
        assert!(buf.is_empty());
    }

    #[test]
    fn limits_give_redis_error_texts() {
        assert_eq!(
            parse_all(b"*2\r\n$3\r\nGET\r\n:1\r\n"),
            Err(ProtocolError("expected '$', got ':'"))
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n"),
            Err(ProtocolError("invalid bulk length"))
        );
        assert_eq!(
            parse_all(b"*2000000000\r\n"),
            Err(ProtocolError("invalid multibulk length"))
        );
        assert_eq!(
            parse_all(b"*x\r\n"),
            Err(ProtocolError("invalid multibulk length"))
        );
        assert_eq!(
            parse_all(b"SET \"a\r\n"),
            Err(ProtocolError("unbalanced quotes in request"))
        );
        let long = vec![b'a'; INLINE_MAX + 10];
        assert_eq!(
            parse_all(&long),
            Err(ProtocolError("too big inline request"))
        );
    }

    #[test]
    fn many_empty_arguments_hit_the_request_limit() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*100000\r\n"[..]);
        for _ in 0..1000 {
            buf.extend_from_slice(b"$0\r\n\r\n");
        }
        let small = Limits {
            max_request_bytes: 10_000,
            ..LIMITS
        };
        assert_eq!(p.parse(&mut buf, small), Err(QUERY_LIMIT));
    }

    #[test]
    fn split_args_handles_escapes() {
        assert_eq!(
            split_args(br#"a "\x41\n" 'it\'s'"#).unwrap(),
            vec![b"a".to_vec(), b"A\n".to_vec(), b"it's".to_vec()]
        );
    }
}
