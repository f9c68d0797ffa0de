//! Replies and their RESP2/RESP3 encoding.
//!
//! Handlers build a `Reply`; the connection encodes it for the client's protocol version. RESP3-only
//! types degrade exactly as Redis degrades them for RESP2 clients (maps become flat arrays, doubles
//! become bulk strings, booleans become integers, null becomes `$-1` or `*-1`).

use bytes::{BufMut, Bytes, BytesMut};

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Ok,
    Status(Bytes),
    /// Full error line without the leading `-`, e.g. `ERR syntax error`.
    Error(Bytes),
    Integer(i64),
    Bulk(Bytes),
    /// Null bulk in RESP2 (`$-1`), `_` in RESP3.
    Nil,
    /// Null array in RESP2 (`*-1`), `_` in RESP3.
    NilArray,
    Array(Vec<Reply>),
    /// Map in RESP3, flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// Set in RESP3, array in RESP2.
    Set(Vec<Reply>),
    /// Double in RESP3, bulk string in RESP2; carries Redis's textual form.
    Double(Bytes),
    Bool(bool),
    /// Big number (`(`) in RESP3, bulk string in RESP2 (a script's `{big_number=…}`).
    BigNumber(Bytes),
    /// Verbatim string (`=`) in RESP3, bulk in RESP2 (INFO, CLIENT INFO, LATENCY DOCTOR).
    Verbatim(Bytes),
    /// Out-of-band push (`>` in RESP3, array in RESP2).
    Push(Vec<Reply>),
    /// Already-encoded bytes (used for cached replies).
    Raw(Bytes),
    /// An array of bulk strings built in one buffer (LRANGE): no allocation per element.
    /// Encodes exactly as an `Array` of `Bulk`s.
    Bulks(Box<BulkList>),
}

/// Bulk strings stored back to back as their RESP encoding (`$len\r\n…\r\n`), the same in
/// RESP2 and RESP3: encoding the list is one copy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkList {
    count: usize,
    resp: Vec<u8>,
}

impl BulkList {
    /// An empty list with room for `bytes` bytes of elements.
    pub fn with_capacity(bytes: usize) -> BulkList {
        BulkList {
            count: 0,
            resp: Vec::with_capacity(bytes),
        }
    }

    #[inline]
    pub fn push(&mut self, b: &[u8]) {
        // Short elements (most list elements, members, fields) have a one-digit length: their
        // header is one 4-byte copy.
        if b.len() < 10 {
            self.resp.reserve(b.len() + 6);
            self.resp
                .extend_from_slice(&[b'$', b'0' + b.len() as u8, b'\r', b'\n']);
        } else {
            let mut buf = itoa_buf();
            let len = fmt_i64(b.len() as i64, &mut buf);
            self.resp.reserve(len.len() + b.len() + 5);
            self.resp.push(b'$');
            self.resp.extend_from_slice(len);
            self.resp.extend_from_slice(b"\r\n");
        }
        self.resp.extend_from_slice(b);
        self.resp.extend_from_slice(b"\r\n");
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The elements, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut rest = &self.resp[..];
        std::iter::from_fn(move || {
            // `$len\r\n` then `len` bytes then `\r\n`, as `push` wrote them.
            let nl = rest.iter().position(|&c| c == b'\n')?;
            let len: usize = std::str::from_utf8(&rest[1..nl - 1]).ok()?.parse().ok()?;
            let item = &rest[nl + 1..nl + 1 + len];
            rest = &rest[nl + 1 + len + 2..];
            Some(item)
        })
    }

    /// The same reply as a tree of `Bulk`s.
    pub fn to_array(&self) -> Reply {
        Reply::Array(
            self.iter()
                .map(|b| Reply::Bulk(Bytes::copy_from_slice(b)))
                .collect(),
        )
    }
}

impl Reply {
    pub fn status(s: &'static str) -> Reply {
        Reply::Status(Bytes::from_static(s.as_bytes()))
    }

    pub fn error(s: impl Into<String>) -> Reply {
        Reply::Error(Bytes::from(s.into()))
    }

    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    pub fn bulk_str(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    pub fn opt_bulk(b: Option<Bytes>) -> Reply {
        b.map_or(Reply::Nil, Reply::Bulk)
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends the encoding of this reply to `out`.
    pub fn encode(&self, out: &mut BytesMut, resp3: bool) {
        match self {
            Reply::Ok => out.put_slice(b"+OK\r\n"),
            Reply::Status(s) => line(out, b'+', s),
            Reply::Error(s) => line(out, b'-', s),
            Reply::Integer(n) => int_line(out, b':', *n),
            Reply::Bulk(b) => bulk(out, b),
            Reply::Nil if resp3 => out.put_slice(b"_\r\n"),
            Reply::Nil => out.put_slice(b"$-1\r\n"),
            Reply::NilArray if resp3 => out.put_slice(b"_\r\n"),
            Reply::NilArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                int_line(out, b'*', items.len() as i64);
                items.iter().for_each(|i| i.encode(out, resp3));
            }
            Reply::Set(items) => {
                int_line(out, if resp3 { b'~' } else { b'*' }, items.len() as i64);
                items.iter().for_each(|i| i.encode(out, resp3));
            }
            Reply::Push(items) => {
                int_line(out, if resp3 { b'>' } else { b'*' }, items.len() as i64);
                items.iter().for_each(|i| i.encode(out, resp3));
            }
            Reply::Map(pairs) => {
                if resp3 {
                    int_line(out, b'%', pairs.len() as i64);
                } else {
                    int_line(out, b'*', 2 * pairs.len() as i64);
                }
                for (k, v) in pairs {
                    k.encode(out, resp3);
                    v.encode(out, resp3);
                }
            }
            Reply::Double(d) if resp3 => line(out, b',', d),
            Reply::Double(d) => bulk(out, d),
            Reply::Bool(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Bool(b) => int_line(out, b':', *b as i64),
            Reply::BigNumber(n) if resp3 => line(out, b'(', n),
            Reply::BigNumber(n) => bulk(out, n),
            Reply::Verbatim(v) if resp3 => {
                int_line(out, b'=', v.len() as i64 + 4);
                out.put_slice(b"txt:");
                out.put_slice(v);
                out.put_slice(b"\r\n");
            }
            Reply::Verbatim(v) => bulk(out, v),
            Reply::Raw(b) => out.put_slice(b),
            Reply::Bulks(list) => {
                out.reserve(list.resp.len() + 24);
                int_line(out, b'*', list.count as i64);
                out.put_slice(&list.resp);
            }
        }
    }
}

impl From<crate::error::CmdError> for Reply {
    fn from(e: crate::error::CmdError) -> Reply {
        Reply::Error(Bytes::from(e.to_string()))
    }
}

fn line(out: &mut BytesMut, prefix: u8, s: &[u8]) {
    out.reserve(s.len() + 3);
    out.put_u8(prefix);
    // A status or error line must not contain CR or LF; Redis replaces them with spaces.
    if s.iter().any(|&c| c == b'\r' || c == b'\n') {
        out.extend(
            s.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
    } else {
        out.put_slice(s);
    }
    out.put_slice(b"\r\n");
}

fn int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    let mut buf = itoa_buf();
    out.put_u8(prefix);
    out.put_slice(fmt_i64(n, &mut buf));
    out.put_slice(b"\r\n");
}

fn bulk(out: &mut BytesMut, b: &[u8]) {
    out.reserve(b.len() + 16);
    int_line(out, b'$', b.len() as i64);
    out.put_slice(b);
    out.put_slice(b"\r\n");
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Formats an integer without allocating.
pub fn fmt_i64(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: Reply, resp3: bool) -> String {
        let mut out = BytesMut::new();
        r.encode(&mut out, resp3);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn map_degrades_to_flat_array_in_resp2() {
        let m = Reply::Map(vec![(Reply::bulk_str("a"), Reply::Integer(1))]);
        assert_eq!(enc(m.clone(), false), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(m, true), "%1\r\n$1\r\na\r\n:1\r\n");
    }

    #[test]
    fn bulk_list_encodes_as_an_array_of_bulks() {
        let mut l = BulkList::with_capacity(0);
        for b in [&b"a"[..], b"", b"0123456789ab\r\n"] {
            l.push(b);
        }
        let tree = l.to_array();
        assert_eq!(l.iter().count(), 3);
        for resp3 in [false, true] {
            assert_eq!(
                enc(Reply::Bulks(Box::new(l.clone())), resp3),
                enc(tree.clone(), resp3)
            );
        }
        assert_eq!(
            enc(Reply::Bulks(Box::default()), false),
            enc(Reply::Array(vec![]), false)
        );
    }

    #[test]
    fn integers_format_at_extremes() {
        assert_eq!(
            enc(Reply::Integer(i64::MIN), false),
            ":-9223372036854775808\r\n"
        );
        assert_eq!(enc(Reply::Nil, true), "_\r\n");
    }
}
