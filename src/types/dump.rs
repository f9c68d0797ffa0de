//! DUMP/RESTORE payloads in Redis's own format, so that keys move between berth and Redis 7.0
//! both ways (MIGRATE-like tooling, `redis-cli --cluster import`, users copying keys).
//!
//! ```text
//! rdb-type:u8 | rdb-value | rdb-version:u16 LE | crc64:u64 LE (over everything before it)
//! ```
//!
//! DUMP writes RDB version 10 (Redis 7.0) and the RDB types Redis 7.0 writes for the same
//! OBJECT ENCODING: `RDB_TYPE_STRING`; a listpack hash as `RDB_TYPE_HASH_LISTPACK` (fields in
//! insertion order, as Redis), a larger one as `RDB_TYPE_HASH`; an intset
//! as `RDB_TYPE_SET_INTSET` (sorted, narrowest width), others as `RDB_TYPE_SET`; a listpack
//! sorted set as `RDB_TYPE_ZSET_LISTPACK` in (score, member) order with text scores, a larger one
//! as `RDB_TYPE_ZSET_2` (binary scores); a list as `RDB_TYPE_LIST_QUICKLIST_2` with packed
//! listpack nodes cut where Redis cuts a list pushed from the right. Listpack entries take
//! integer encodings as in `lpEncodeGetType`, and every string is written as `rdbSaveRawString`
//! writes it (small integers in the `RDB_ENC_INT*` forms, strings over 20 bytes LZF-compressed
//! by the same algorithm). So payloads are Redis's byte for byte wherever the member order
//! agrees (strings, intsets, listpack hashes, sorted sets, lists built by RPUSH).
//!
//! RESTORE reads everything Redis 7.0 loads for these types: the plain encodings, intsets,
//! listpacks, ziplists, quicklists (both versions, PLAIN and PACKED nodes) and LZF-compressed
//! strings. A payload is parsed twice: once to validate it (nothing is written for a bad one:
//! `ERR Bad data format`), then again to stream the members into the store one by one, under a
//! fresh version; the type modules' rules set the OBJECT ENCODING flag as members arrive.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::error::{CmdError, CmdResult};
use crate::storage::{encode_collection, encode_string, Kind, Record, Store};
use crate::types::collection::{self, Coll};
use crate::types::list::{self, List};
use crate::types::{hash, set, zset};
use crate::util::num::{fmt_double, parse_i64, strtod};

/// The RDB version DUMP writes and the highest one RESTORE accepts (Redis 7.0's).
pub const RDB_VERSION: u16 = 10;

const RDB_TYPE_STRING: u8 = 0;
const RDB_TYPE_LIST: u8 = 1;
const RDB_TYPE_SET: u8 = 2;
const RDB_TYPE_ZSET: u8 = 3;
const RDB_TYPE_HASH: u8 = 4;
const RDB_TYPE_ZSET_2: u8 = 5;
const RDB_TYPE_LIST_ZIPLIST: u8 = 10;
const RDB_TYPE_SET_INTSET: u8 = 11;
const RDB_TYPE_ZSET_ZIPLIST: u8 = 12;
const RDB_TYPE_HASH_ZIPLIST: u8 = 13;
const RDB_TYPE_LIST_QUICKLIST: u8 = 14;
const RDB_TYPE_HASH_LISTPACK: u8 = 16;
const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;

const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// A list node holds at most this many listpack bytes (Redis's `list-max-listpack-size -2`).
const NODE_BYTES: usize = 8192;

/// Whether a quicklist node of `node` listpack bytes takes one more element of `sz` bytes, by
/// Redis 7.0's estimate (`_quicklistNodeAllowInsert`: 8 bytes of overhead per entry), so that a
/// list pushed from the right gets Redis's node boundaries.
fn node_takes(node: usize, sz: usize) -> bool {
    node + sz + 8 <= NODE_BYTES
}

fn wrong() -> CmdError {
    CmdError::err("DUMP payload version or checksum are wrong")
}

fn bad() -> CmdError {
    CmdError::err("Bad data format")
}

// ---------------------------------------------------------------------------------------------
// DUMP

/// Serializes a key's value as Redis's DUMP does.
pub fn encode(store: &mut Store, db: usize, key: &[u8], rec: &Record) -> CmdResult<Vec<u8>> {
    let mut out = Vec::new();
    match rec.kind() {
        Kind::String => {
            out.push(RDB_TYPE_STRING);
            put_string(&mut out, rec.str_value());
        }
        Kind::Hash => {
            let c = coll(store, db, key, Kind::Hash)?;
            let all = hash::all(store, &c)?;
            if hash::is_listpack(&c) {
                // As Redis: the fields and values in one listpack, in insertion order.
                out.push(RDB_TYPE_HASH_LISTPACK);
                let mut lp = Listpack::new();
                for (field, value) in &all {
                    lp.push(field);
                    lp.push(value);
                }
                put_string(&mut out, &lp.finish());
            } else {
                out.push(RDB_TYPE_HASH);
                put_len(&mut out, all.len() as u64);
                for (field, value) in &all {
                    put_string(&mut out, field);
                    put_string(&mut out, value);
                }
            }
        }
        Kind::Set => {
            let c = coll(store, db, key, Kind::Set)?;
            let all = collection::members(store, &c)?;
            let ints: Option<Vec<i64>> = if set::is_compact(&c) {
                all.iter().map(|(m, _)| parse_i64(m)).collect()
            } else {
                None
            };
            if let Some(mut ints) = ints {
                // As Redis: an intset, sorted, in the narrowest width that holds every element.
                ints.sort_unstable();
                let width = ints.iter().fold(2usize, |w, &v| {
                    w.max(if i16::try_from(v).is_ok() {
                        2
                    } else if i32::try_from(v).is_ok() {
                        4
                    } else {
                        8
                    })
                });
                let mut blob = Vec::with_capacity(8 + width * ints.len());
                blob.extend_from_slice(&(width as u32).to_le_bytes());
                blob.extend_from_slice(&(ints.len() as u32).to_le_bytes());
                for v in ints {
                    blob.extend_from_slice(&v.to_le_bytes()[..width]);
                }
                out.push(RDB_TYPE_SET_INTSET);
                put_string(&mut out, &blob);
            } else {
                out.push(RDB_TYPE_SET);
                put_len(&mut out, all.len() as u64);
                for (member, _) in &all {
                    put_string(&mut out, member);
                }
            }
        }
        Kind::ZSet => {
            let c = coll(store, db, key, Kind::ZSet)?;
            let space = zset::member_space(&c);
            use std::ops::Bound::Unbounded;
            let all = store.member_range(&space, Unbounded, Unbounded, false, usize::MAX)?;
            let mut scored = Vec::with_capacity(all.len());
            for (member, score) in all {
                let score = zset::decode_score(&score)
                    .ok_or_else(|| CmdError::Storage("sorted set score unreadable".into()))?;
                scored.push((member, score));
            }
            if zset::encoding(&c.extra) == "listpack" {
                // As Redis: member, score pairs in (score, member) order, scores as text.
                scored
                    .sort_by(|a, b| (zset::ord_bits(a.1), &a.0).cmp(&(zset::ord_bits(b.1), &b.0)));
                let mut lp = Listpack::new();
                for (member, score) in &scored {
                    lp.push(member);
                    lp.push(fmt_double(*score).as_bytes());
                }
                out.push(RDB_TYPE_ZSET_LISTPACK);
                put_string(&mut out, &lp.finish());
            } else {
                out.push(RDB_TYPE_ZSET_2);
                put_len(&mut out, scored.len() as u64);
                for (member, score) in &scored {
                    put_string(&mut out, member);
                    out.extend_from_slice(&score.to_le_bytes());
                }
            }
        }
        Kind::List => {
            let l = list::get(store, db, key)?
                .ok_or_else(|| CmdError::Storage("list vanished".into()))?;
            out.push(RDB_TYPE_LIST_QUICKLIST_2);
            let all = l.all(store)?;
            let mut nodes: Vec<Vec<u8>> = Vec::new();
            let mut lp = Listpack::new();
            for e in &all {
                if lp.count > 0 && !node_takes(lp.bytes(), e.len()) {
                    nodes.push(std::mem::replace(&mut lp, Listpack::new()).finish());
                }
                lp.push(e);
            }
            if lp.count > 0 {
                nodes.push(lp.finish());
            }
            put_len(&mut out, nodes.len() as u64);
            for n in &nodes {
                put_len(&mut out, QUICKLIST_NODE_PACKED);
                put_string(&mut out, n);
            }
        }
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    out.extend_from_slice(&crc64(&out).to_le_bytes());
    Ok(out)
}

/// RDB opcode of a function library (`RDB_OPCODE_FUNCTION2`).
const RDB_OPCODE_FUNCTION2: u8 = 245;

/// FUNCTION DUMP's payload: each library's code as an RDB function record, then the footer.
pub fn functions_payload<'a>(codes: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(RDB_OPCODE_FUNCTION2);
        put_string(&mut out, code);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    out.extend_from_slice(&crc64(&out).to_le_bytes());
    out
}

/// The library codes of a FUNCTION RESTORE payload.
pub fn parse_functions_payload(payload: &[u8]) -> CmdResult<Vec<Vec<u8>>> {
    check(payload)?;
    let body = &payload[..payload.len() - 10];
    let mut r = Reader { buf: body, pos: 0 };
    let mut codes = Vec::new();
    while r.pos < body.len() {
        if r.byte()? != RDB_OPCODE_FUNCTION2 {
            return Err(CmdError::err("given type is not a function"));
        }
        codes.push(r.string()?.into_owned());
    }
    Ok(codes)
}

fn coll(store: &mut Store, db: usize, key: &[u8], kind: Kind) -> CmdResult<Coll> {
    collection::get(store, db, key, kind)?
        .ok_or_else(|| CmdError::Storage("collection vanished".into()))
}

/// An RDB length.
fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// An RDB string: a canonical integer that fits 32 bits in its integer form (as Redis's
/// `rdbTryIntegerEncoding`), anything else raw.
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64(s) {
            if let Ok(b) = i8::try_from(v) {
                out.extend_from_slice(&[0xC0, b as u8]);
                return;
            }
            if let Ok(h) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&h.to_le_bytes());
                return;
            }
            if let Ok(w) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&w.to_le_bytes());
                return;
            }
        }
    }
    // Redis compresses strings longer than 20 bytes when that saves more than 4 bytes.
    if s.len() > 20 {
        if let Some(c) = lzf_compress(s, s.len() - 4) {
            out.push(0xC3);
            put_len(out, c.len() as u64);
            put_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// LZF compression exactly as Redis's `lzf_c.c` (HLOG 16, VERY_FAST, a zeroed hash table), so
/// payloads match Redis's byte for byte. `None` when the output would not fit `out_len` bytes.
fn lzf_compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    const HLOG: u32 = 16;
    const HSIZE: u32 = 1 << HLOG;
    const MAX_LIT: usize = 1 << 5;
    const MAX_OFF: usize = 1 << 13;
    const MAX_REF: usize = (1 << 8) + (1 << 3);
    let n = input.len();
    if n == 0 || out_len == 0 {
        return None;
    }
    let idx =
        |h: u32| ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & (HSIZE - 1)) as usize;
    let mut htab = vec![0u32; HSIZE as usize];
    // `out` has slack: every write is checked against `out_len` as lzf_c.c checks it.
    let mut out = vec![0u8; out_len + 4];
    let mut lit: usize = 0;
    let mut op: usize = 1;
    let mut ip: usize = 0;
    let mut hval: u32 = ((input[0] as u32) << 8) | input.get(1).copied().unwrap_or(0) as u32;
    while ip + 2 < n {
        hval = (hval << 8) | input[ip + 2] as u32;
        let slot = idx(hval);
        let r = htab[slot] as usize;
        htab[slot] = ip as u32;
        let off = ip.wrapping_sub(r).wrapping_sub(1);
        if r < ip
            && off < MAX_OFF
            && r > 0
            && input[r + 2] == input[ip + 2]
            && input[r] == input[ip]
            && input[r + 1] == input[ip + 1]
        {
            let mut len: usize = 2;
            let maxlen = (n - ip - len).min(MAX_REF);
            if op + 3 + 1 >= out_len && op - (lit == 0) as usize + 3 + 1 >= out_len {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= (lit == 0) as usize;
            'm: {
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if input[r + len] != input[ip + len] {
                            break 'm;
                        }
                    }
                }
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1;
            ip += len + 1;
            if ip + 2 >= n {
                break;
            }
            ip -= 2;
            hval = ((input[ip] as u32) << 8) | input[ip + 1] as u32;
            hval = (hval << 8) | input[ip + 2] as u32;
            htab[idx(hval)] = ip as u32;
            ip += 1;
            hval = (hval << 8) | input[ip + 2] as u32;
            htab[idx(hval)] = ip as u32;
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_len {
        return None;
    }
    while ip < n {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= (lit == 0) as usize;
    out.truncate(op);
    Some(out)
}

/// A listpack being built (string entries only; Redis reads them whatever their content).
struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Listpack {
    fn new() -> Listpack {
        Listpack {
            buf: vec![0; 6],
            count: 0,
        }
    }

    fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    fn push(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        // Integers get an integer encoding, as Redis's `lpEncodeGetType` gives them.
        if let Some(v) = parse_i64(s) {
            if (0..=127).contains(&v) {
                self.buf.push(v as u8);
            } else if (-4096..=4095).contains(&v) {
                let u = (v & 0x1FFF) as u16;
                self.buf.push(0xC0 | (u >> 8) as u8);
                self.buf.push(u as u8);
            } else if let Ok(h) = i16::try_from(v) {
                self.buf.push(0xF1);
                self.buf.extend_from_slice(&h.to_le_bytes());
            } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                self.buf.push(0xF2);
                self.buf.extend_from_slice(&v.to_le_bytes()[..3]);
            } else if let Ok(w) = i32::try_from(v) {
                self.buf.push(0xF3);
                self.buf.extend_from_slice(&w.to_le_bytes());
            } else {
                self.buf.push(0xF4);
                self.buf.extend_from_slice(&v.to_le_bytes());
            }
        } else {
            if n < 64 {
                self.buf.push(0x80 | n as u8);
            } else if n < 4096 {
                self.buf.push(0xE0 | (n >> 8) as u8);
                self.buf.push(n as u8);
            } else {
                self.buf.push(0xF0);
                self.buf.extend_from_slice(&(n as u32).to_le_bytes());
            }
            self.buf.extend_from_slice(s);
        }
        let len = self.buf.len() - start;
        // The entry's length for walking backwards (`lpEncodeBacklen`): 7-bit groups, the most
        // significant first; every group but that one carries the 128 flag.
        let groups = (1..5).take_while(|g| len >> (7 * g) != 0).count() + 1;
        let enc: Vec<u8> = (0..groups)
            .rev()
            .map(|g| ((len >> (7 * g)) & 127) as u8 | if g + 1 == groups { 0 } else { 128 })
            .collect();
        self.buf.extend_from_slice(&enc);
        self.count += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

// ---------------------------------------------------------------------------------------------
// RESTORE

/// Checks a payload's footer (RDB version, checksum) and returns what to parse: the whole
/// payload, footer included, since Redis's loader reads from the same buffer (a value that runs
/// into the footer is read as Redis reads it).
pub fn check(payload: &[u8]) -> CmdResult<&[u8]> {
    if payload.len() < 10 {
        return Err(wrong());
    }
    let footer = &payload[payload.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(wrong());
    }
    let (data, sum) = payload.split_at(payload.len() - 8);
    let sum = u64::from_le_bytes(sum.try_into().map_err(|_| wrong())?);
    if crc64(data) != sum {
        return Err(wrong());
    }
    Ok(payload)
}

/// One unit of a value, as parsed.
enum Item<'a> {
    /// A string's whole value.
    Value(Cow<'a, [u8]>),
    /// A list element or a set member.
    Elem(Cow<'a, [u8]>),
    Field(Cow<'a, [u8]>, Cow<'a, [u8]>),
    Scored(Cow<'a, [u8]>, f64),
}

/// What a valid payload holds: its kind and how many items.
pub struct Parsed {
    pub kind: Kind,
    pub items: u64,
}

/// Validates a payload's value (from `check`) without storing anything. Duplicates are refused
/// where Redis 7.0 refuses them: set and sorted set members, and the fields of a hash too large
/// for a listpack (a smaller one Redis loads as is, corrupt; berth keeps the last value).
pub fn validate(obj: &[u8]) -> CmdResult<Parsed> {
    let mut items = 0u64;
    let mut seen: HashSet<Cow<[u8]>> = HashSet::new();
    let mut duplicate = false;
    let t = obj.first().copied();
    let dedup = matches!(
        t,
        Some(RDB_TYPE_SET | RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 | RDB_TYPE_HASH)
    );
    let kind = walk(obj, &mut |it| {
        items += 1;
        if dedup {
            let name = match it {
                Item::Elem(m) | Item::Scored(m, _) | Item::Field(m, _) => m,
                Item::Value(_) => return Ok(()),
            };
            duplicate |= !seen.insert(name);
        }
        Ok(())
    })?;
    let hash_tolerates = t == Some(RDB_TYPE_HASH) && items <= hash::LISTPACK_ENTRIES;
    if items == 0 || (duplicate && !hash_tolerates) {
        // Redis refuses empty collections (and a string is always one item).
        return Err(bad());
    }
    Ok(Parsed { kind, items })
}

/// Builds the record for `key` from a validated payload value (`kind` from `validate`), storing a collection's members
/// under a fresh version. The caller stores the returned record (replacing whatever `key` held).
pub fn restore(
    store: &mut Store,
    db: usize,
    key: &[u8],
    obj: &[u8],
    kind: Kind,
    expire_at: u64,
) -> CmdResult<Vec<u8>> {
    if kind == Kind::String {
        let mut value = Vec::new();
        walk(obj, &mut |it| {
            if let Item::Value(v) = it {
                value = v.into_owned();
            }
            Ok(())
        })?;
        return Ok(encode_string(&value, expire_at, 0));
    }
    let version = store.new_version()?;
    let mut c = Coll {
        kind,
        expire_at,
        version,
        size: 0,
        extra: Vec::new(),
        prefix: store.member_prefix(db, key, version),
        exists: false,
    };
    if kind == Kind::List {
        let mut l = List {
            coll: c,
            head: list::MID,
            tail: list::MID,
        };
        walk(obj, &mut |it| {
            if let Item::Elem(e) = it {
                l.push(store, false, &e);
                store.bound_queue()?;
            }
            Ok(())
        })?;
        l.coll.size = l.len();
        return Ok(encode_collection(
            kind,
            expire_at,
            version,
            l.coll.size,
            &l.extra(),
        ));
    }
    walk(obj, &mut |it| {
        match it {
            Item::Field(f, v) => {
                hash::set(store, &mut c, &f, &v)?;
            }
            Item::Elem(m) => {
                set::add(store, &mut c, &m)?;
            }
            Item::Scored(m, s) => {
                let old = zset::score(store, &c, &m)?;
                zset::set(store, &mut c, &m, old, s);
            }
            Item::Value(_) => {}
        }
        store.bound_queue()
    })?;
    Ok(encode_collection(
        kind, expire_at, version, c.size, &c.extra,
    ))
}

type Sink<'s, 'a> = dyn FnMut(Item<'a>) -> CmdResult<()> + 's;

/// Parses a value, handing each item to `f`; returns the key type.
fn walk<'a>(obj: &'a [u8], f: &mut Sink<'_, 'a>) -> CmdResult<Kind> {
    let mut r = Reader { buf: obj, pos: 0 };
    let t = r.byte()?;
    match t {
        RDB_TYPE_STRING => {
            f(Item::Value(r.string()?))?;
            Ok(Kind::String)
        }
        RDB_TYPE_LIST | RDB_TYPE_SET => {
            let n = r.len()?;
            for _ in 0..n {
                f(Item::Elem(r.string()?))?;
            }
            Ok(if t == RDB_TYPE_LIST {
                Kind::List
            } else {
                Kind::Set
            })
        }
        RDB_TYPE_HASH => {
            let n = r.len()?;
            for _ in 0..n {
                let field = r.string()?;
                let value = r.string()?;
                f(Item::Field(field, value))?;
            }
            Ok(Kind::Hash)
        }
        RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => {
            let n = r.len()?;
            for _ in 0..n {
                let m = r.string()?;
                let s = if t == RDB_TYPE_ZSET_2 {
                    f64::from_le_bytes(r.take(8)?.try_into().map_err(|_| bad())?)
                } else {
                    r.text_double()?
                };
                if s.is_nan() {
                    return Err(bad());
                }
                f(Item::Scored(m, s))?;
            }
            Ok(Kind::ZSet)
        }
        RDB_TYPE_SET_INTSET => {
            let blob = r.string()?;
            intset(&blob, &mut |v| f(Item::Elem(Cow::Owned(v))))?;
            Ok(Kind::Set)
        }
        RDB_TYPE_LIST_ZIPLIST => {
            let blob = r.string()?;
            ziplist(&blob, &mut |e| f(Item::Elem(Cow::Owned(e.into_owned()))))?;
            Ok(Kind::List)
        }
        RDB_TYPE_HASH_ZIPLIST | RDB_TYPE_HASH_LISTPACK => {
            let blob = r.string()?;
            let mut pending: Option<Vec<u8>> = None;
            let mut each = |e: Cow<[u8]>| match pending.take() {
                None => {
                    pending = Some(e.into_owned());
                    Ok(())
                }
                Some(field) => f(Item::Field(Cow::Owned(field), Cow::Owned(e.into_owned()))),
            };
            if t == RDB_TYPE_HASH_LISTPACK {
                listpack(&blob, &mut each)?;
            } else {
                ziplist(&blob, &mut each)?;
            }
            if pending.is_some() {
                return Err(bad());
            }
            Ok(Kind::Hash)
        }
        RDB_TYPE_ZSET_ZIPLIST | RDB_TYPE_ZSET_LISTPACK => {
            let blob = r.string()?;
            let mut pending: Option<Vec<u8>> = None;
            let mut each = |e: Cow<[u8]>| match pending.take() {
                None => {
                    pending = Some(e.into_owned());
                    Ok(())
                }
                Some(member) => {
                    // Redis reads these scores with a bare strtod: garbage is 0.
                    let s = strtod(&e, false).unwrap_or(0.0);
                    f(Item::Scored(Cow::Owned(member), s))
                }
            };
            if t == RDB_TYPE_ZSET_LISTPACK {
                listpack(&blob, &mut each)?;
            } else {
                ziplist(&blob, &mut each)?;
            }
            if pending.is_some() {
                return Err(bad());
            }
            Ok(Kind::ZSet)
        }
        RDB_TYPE_LIST_QUICKLIST | RDB_TYPE_LIST_QUICKLIST_2 => {
            let nodes = r.len()?;
            for _ in 0..nodes {
                let container = if t == RDB_TYPE_LIST_QUICKLIST_2 {
                    r.len()?
                } else {
                    QUICKLIST_NODE_PACKED
                };
                let blob = r.string()?;
                let mut each = |e: Cow<[u8]>| f(Item::Elem(Cow::Owned(e.into_owned())));
                match container {
                    QUICKLIST_NODE_PLAIN => each(blob)?,
                    QUICKLIST_NODE_PACKED if t == RDB_TYPE_LIST_QUICKLIST_2 => {
                        listpack(&blob, &mut each)?
                    }
                    QUICKLIST_NODE_PACKED => ziplist(&blob, &mut each)?,
                    _ => return Err(bad()),
                }
            }
            Ok(Kind::List)
        }
        _ => Err(bad()),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// An RDB length, or a special string encoding.
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> CmdResult<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(bad)?;
        let s = self.buf.get(self.pos..end).ok_or_else(bad)?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> CmdResult<u8> {
        Ok(self.take(1)?[0])
    }

    fn raw_len(&mut self) -> CmdResult<Len> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3F) as u64),
            1 => Len::Plain((((b & 0x3F) as u64) << 8) | self.byte()? as u64),
            3 => Len::Encoded(b & 0x3F),
            _ => match b {
                0x80 => Len::Plain(
                    u32::from_be_bytes(self.take(4)?.try_into().map_err(|_| bad())?) as u64,
                ),
                0x81 => Len::Plain(u64::from_be_bytes(
                    self.take(8)?.try_into().map_err(|_| bad())?,
                )),
                _ => return Err(bad()),
            },
        })
    }

    fn len(&mut self) -> CmdResult<u64> {
        match self.raw_len()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => Err(bad()),
        }
    }

    fn usize_len(&mut self) -> CmdResult<usize> {
        usize::try_from(self.len()?).map_err(|_| bad())
    }

    fn string(&mut self) -> CmdResult<Cow<'a, [u8]>> {
        match self.raw_len()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| bad())?;
                Ok(Cow::Borrowed(self.take(n)?))
            }
            Len::Encoded(0) => Ok(int_bytes(self.byte()? as i8 as i64)),
            Len::Encoded(1) => {
                let b = self.take(2)?;
                Ok(int_bytes(i16::from_le_bytes([b[0], b[1]]) as i64))
            }
            Len::Encoded(2) => {
                let b = self.take(4)?;
                Ok(int_bytes(
                    i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64
                ))
            }
            Len::Encoded(3) => {
                let clen = self.usize_len()?;
                let len = self.usize_len()?;
                let data = self.take(clen)?;
                Ok(Cow::Owned(lzf_decompress(data, len)?))
            }
            Len::Encoded(_) => Err(bad()),
        }
    }

    /// A score of the old `RDB_TYPE_ZSET`: a length byte and its text, or a special value.
    fn text_double(&mut self) -> CmdResult<f64> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(n as usize)?;
                strtod(text, false).ok_or_else(bad)
            }
        }
    }
}

fn int_bytes(v: i64) -> Cow<'static, [u8]> {
    Cow::Owned(v.to_string().into_bytes())
}

/// LZF decompression (Redis's `lzf_d.c`); the output must be exactly `len` bytes.
fn lzf_decompress(input: &[u8], len: usize) -> CmdResult<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(len.min(input.len().saturating_mul(64)));
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(i..i + run).ok_or_else(bad)?;
            if out.len() + run > len {
                return Err(bad());
            }
            out.extend_from_slice(lit);
            i += run;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += *input.get(i).ok_or_else(bad)? as usize;
                i += 1;
            }
            let low = *input.get(i).ok_or_else(bad)? as usize;
            i += 1;
            n += 2;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            if back > out.len() || out.len() + n > len {
                return Err(bad());
            }
            let from = out.len() - back;
            for k in 0..n {
                let b = out[from + k];
                out.push(b);
            }
        }
    }
    if out.len() != len {
        return Err(bad());
    }
    Ok(out)
}

/// The entries of an intset (Redis's `intset.c`): encoding:u32 LE (2, 4 or 8), length:u32 LE,
/// then the integers little-endian.
fn intset(blob: &[u8], f: &mut dyn FnMut(Vec<u8>) -> CmdResult<()>) -> CmdResult<()> {
    if blob.len() < 8 {
        return Err(bad());
    }
    let enc = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let n = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if !matches!(enc, 2 | 4 | 8) || blob.len() != 8 + n.checked_mul(enc).ok_or_else(bad)? {
        return Err(bad());
    }
    for chunk in blob[8..].chunks_exact(enc) {
        let v = match enc {
            2 => i16::from_le_bytes([chunk[0], chunk[1]]) as i64,
            4 => i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as i64,
            _ => i64::from_le_bytes(chunk.try_into().map_err(|_| bad())?),
        };
        f(v.to_string().into_bytes())?;
    }
    Ok(())
}

/// Sign-extends the low `bits` bits of `v`.
fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64)
}

/// The entries of a listpack (Redis's `listpack.c`): total-bytes:u32 LE, count:u16 LE, the
/// entries (encoding, data, back-length), 0xFF.
fn listpack<'b>(
    blob: &'b [u8],
    f: &mut dyn FnMut(Cow<'b, [u8]>) -> CmdResult<()>,
) -> CmdResult<()> {
    if blob.len() < 7 || le(&blob[..4]) != blob.len() as u64 || blob[blob.len() - 1] != 0xFF {
        return Err(bad());
    }
    let declared = le(&blob[4..6]);
    let end = blob.len() - 1;
    let mut p = 6;
    let mut count = 0u64;
    let get = |from: usize, n: usize| blob.get(from..from + n).filter(|_| from + n <= end);
    while p < end {
        let b = blob[p];
        let (header, data_len, value): (usize, usize, Option<i64>) = if b & 0x80 == 0 {
            (1, 0, Some((b & 0x7F) as i64))
        } else if b & 0xC0 == 0x80 {
            (1, (b & 0x3F) as usize, None)
        } else if b & 0xE0 == 0xC0 {
            let lo = *get(p + 1, 1).ok_or_else(bad)?.first().ok_or_else(bad)?;
            let v = (((b & 0x1F) as u64) << 8) | lo as u64;
            (2, 0, Some(sign_extend(v, 13)))
        } else if b & 0xF0 == 0xE0 {
            let lo = *get(p + 1, 1).ok_or_else(bad)?.first().ok_or_else(bad)?;
            (2, (((b & 0x0F) as usize) << 8) | lo as usize, None)
        } else {
            match b {
                0xF0 => (5, le(get(p + 1, 4).ok_or_else(bad)?) as usize, None),
                0xF1 => (
                    3,
                    0,
                    Some(sign_extend(le(get(p + 1, 2).ok_or_else(bad)?), 16)),
                ),
                0xF2 => (
                    4,
                    0,
                    Some(sign_extend(le(get(p + 1, 3).ok_or_else(bad)?), 24)),
                ),
                0xF3 => (
                    5,
                    0,
                    Some(sign_extend(le(get(p + 1, 4).ok_or_else(bad)?), 32)),
                ),
                0xF4 => (9, 0, Some(le(get(p + 1, 8).ok_or_else(bad)?) as i64)),
                _ => return Err(bad()),
            }
        };
        let entry = header.checked_add(data_len).ok_or_else(bad)?;
        let back = match entry {
            0..=127 => 1,
            128..=16383 => 2,
            16384..=2097151 => 3,
            2097152..=268435455 => 4,
            _ => 5,
        };
        let item = match value {
            Some(v) => int_bytes(v),
            None => Cow::Borrowed(get(p + header, data_len).ok_or_else(bad)?),
        };
        p = p
            .checked_add(entry + back)
            .filter(|&q| q <= end)
            .ok_or_else(bad)?;
        count += 1;
        f(item)?;
    }
    if declared != u16::MAX as u64 && declared != count {
        return Err(bad());
    }
    Ok(())
}

/// The entries of a ziplist (Redis's `ziplist.c`): bytes:u32 LE, tail:u32 LE, count:u16 LE,
/// entries (previous length, encoding, data), 0xFF.
fn ziplist<'b>(blob: &'b [u8], f: &mut dyn FnMut(Cow<'b, [u8]>) -> CmdResult<()>) -> CmdResult<()> {
    if blob.len() < 11 || le(&blob[..4]) != blob.len() as u64 || blob[blob.len() - 1] != 0xFF {
        return Err(bad());
    }
    let declared = le(&blob[8..10]);
    let end = blob.len() - 1;
    let get = |from: usize, n: usize| blob.get(from..from + n).filter(|_| from + n <= end);
    let mut p = 10;
    let mut count = 0u64;
    while p < end {
        p += if blob[p] < 254 { 1 } else { 5 };
        let b = *get(p, 1).ok_or_else(bad)?.first().ok_or_else(bad)?;
        let (header, data_len, value): (usize, usize, Option<i64>) = match b >> 6 {
            0 => (1, (b & 0x3F) as usize, None),
            1 => {
                let lo = *get(p + 1, 1).ok_or_else(bad)?.first().ok_or_else(bad)?;
                (2, (((b & 0x3F) as usize) << 8) | lo as usize, None)
            }
            2 => {
                let n = get(p + 1, 4).ok_or_else(bad)?;
                (
                    5,
                    u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize,
                    None,
                )
            }
            _ => match b {
                0xC0 => (
                    3,
                    0,
                    Some(sign_extend(le(get(p + 1, 2).ok_or_else(bad)?), 16)),
                ),
                0xD0 => (
                    5,
                    0,
                    Some(sign_extend(le(get(p + 1, 4).ok_or_else(bad)?), 32)),
                ),
                0xE0 => (9, 0, Some(le(get(p + 1, 8).ok_or_else(bad)?) as i64)),
                0xF0 => (
                    4,
                    0,
                    Some(sign_extend(le(get(p + 1, 3).ok_or_else(bad)?), 24)),
                ),
                0xFE => (
                    2,
                    0,
                    Some(sign_extend(le(get(p + 1, 1).ok_or_else(bad)?), 8)),
                ),
                0xF1..=0xFD => (1, 0, Some((b & 0x0F) as i64 - 1)),
                _ => return Err(bad()),
            },
        };
        let item = match value {
            Some(v) => int_bytes(v),
            None => Cow::Borrowed(get(p + header, data_len).ok_or_else(bad)?),
        };
        p = p
            .checked_add(header + data_len)
            .filter(|&q| q <= end)
            .ok_or_else(bad)?;
        count += 1;
        f(item)?;
    }
    if declared != u16::MAX as u64 && declared != count {
        return Err(bad());
    }
    Ok(())
}

/// CRC-64/Jones (reflected, polynomial 0xad93d23594c935a9, init 0), table driven.
pub fn crc64(data: &[u8]) -> u64 {
    static TABLE: [u64; 256] = table();
    data.iter().fold(0u64, |crc, &b| {
        TABLE[((crc ^ b as u64) & 0xFF) as usize] ^ (crc >> 8)
    })
}

const fn table() -> [u64; 256] {
    // The reflected polynomial.
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut j = 0;
        while j < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            j += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis_check_value() {
        // Redis's crc64 test vector.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    fn items(obj: &[u8]) -> CmdResult<(Kind, Vec<String>)> {
        let mut out = Vec::new();
        let kind = walk(obj, &mut |it| {
            out.push(match it {
                Item::Value(v) | Item::Elem(v) => String::from_utf8_lossy(&v).into_owned(),
                Item::Field(a, b) => format!(
                    "{}={}",
                    String::from_utf8_lossy(&a),
                    String::from_utf8_lossy(&b)
                ),
                Item::Scored(m, s) => format!("{}:{s}", String::from_utf8_lossy(&m)),
            });
            Ok(())
        })?;
        Ok((kind, out))
    }

    /// A ziplist of "f", 5, "g", 300 (string, 4-bit immediate, string, int16 entries).
    fn ziplist_blob() -> Vec<u8> {
        let mut z = Vec::new();
        z.extend_from_slice(&23u32.to_le_bytes());
        z.extend_from_slice(&18u32.to_le_bytes());
        z.extend_from_slice(&4u16.to_le_bytes());
        z.extend_from_slice(b"\x00\x01f\x03\xf6\x02\x01g\x03\xc0\x2c\x01\xff");
        assert_eq!(z.len(), 23);
        z
    }

    #[test]
    fn older_encodings_redis_7_still_loads_decode() {
        let z = ziplist_blob();
        let mut obj = vec![RDB_TYPE_HASH_ZIPLIST, z.len() as u8];
        obj.extend_from_slice(&z);
        assert_eq!(
            items(&obj).expect("hash ziplist"),
            (Kind::Hash, vec!["f=5".into(), "g=300".into()])
        );
        let mut obj = vec![RDB_TYPE_LIST_QUICKLIST, 1, z.len() as u8];
        obj.extend_from_slice(&z);
        assert_eq!(
            items(&obj).expect("quicklist").1,
            ["f", "5", "g", "300"].map(String::from)
        );
        let mut obj = vec![RDB_TYPE_ZSET_ZIPLIST, z.len() as u8];
        obj.extend_from_slice(&z);
        assert_eq!(
            items(&obj).expect("zset ziplist"),
            (Kind::ZSet, vec!["f:5".into(), "g:300".into()])
        );
        let obj = b"\x03\x02\x01a\x031.5\x01b\xfe";
        assert_eq!(
            items(obj).expect("zset"),
            (Kind::ZSet, vec!["a:1.5".into(), "b:inf".into()])
        );
        let obj = b"\x01\x02\x01a\xc0\xff";
        assert_eq!(
            items(obj).expect("list"),
            (Kind::List, vec!["a".into(), "-1".into()])
        );
    }

    #[test]
    fn listpack_entries_decode_and_roundtrip() {
        let mut lp = Listpack::new();
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 200];
        for e in [&b"a"[..], b"", &mid, &long, b"-12"] {
            lp.push(e);
        }
        let blob = lp.finish();
        let mut got = Vec::new();
        listpack(&blob, &mut |e| {
            got.push(e.into_owned());
            Ok(())
        })
        .expect("listpack");
        assert_eq!(got, vec![b"a".to_vec(), vec![], mid, long, b"-12".to_vec()]);
        // Integer entries as Redis writes them: 7-bit, 13-bit, 16, 24, 32, 64-bit.
        let ints: &[u8] = b"\x05\x01\xc1\xff\x02\xf1\x00\x80\x03\xf2\x00\x00\x80\x04\xf3\x01\x00\x00\x00\x05\xf4\xff\xff\xff\xff\xff\xff\xff\xff\x09";
        let mut blob = Vec::new();
        blob.extend_from_slice(&((ints.len() + 7) as u32).to_le_bytes());
        blob.extend_from_slice(&6u16.to_le_bytes());
        blob.extend_from_slice(ints);
        blob.push(0xFF);
        let mut got = Vec::new();
        listpack(&blob, &mut |e| {
            got.push(String::from_utf8_lossy(&e).into_owned());
            Ok(())
        })
        .expect("ints");
        assert_eq!(
            got,
            ["5", "511", "-32768", "-8388608", "1", "-1"].map(String::from)
        );
    }

    #[test]
    fn lzf_compression_roundtrips() {
        let mut samples: Vec<Vec<u8>> = vec![
            b"abc".repeat(400),
            (0..=255u8).cycle().take(3000).collect(),
            b"hello hello hello world, hello world!".to_vec(),
            vec![0; 70000],
        ];
        let mut x = 12345u64;
        samples.push(
            (0..5000)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    b"abcd"[(x >> 60) as usize % 4]
                })
                .collect(),
        );
        for s in samples {
            let c = lzf_compress(&s, s.len() - 4).expect("compressible");
            assert!(c.len() < s.len());
            assert_eq!(lzf_decompress(&c, s.len()).expect("decompress"), s);
        }
        let noise: Vec<u8> = (0..100u32)
            .map(|i| (i.wrapping_mul(2654435761u32) >> 13) as u8)
            .collect();
        assert_eq!(lzf_compress(&noise, noise.len() - 4), None);
    }

    #[test]
    fn lzf_literal_and_backreference() {
        // "aaaaaaaaaa": a literal 'a' then a back-reference of length 9 at distance 1.
        let c = [0x00, b'a', 0xE0, 0x00, 0x00];
        assert_eq!(lzf_decompress(&c, 10).expect("lzf"), vec![b'a'; 10]);
        assert!(lzf_decompress(&c, 11).is_err());
        assert!(lzf_decompress(&[0x20, 0x05], 3).is_err());
    }

    #[test]
    fn bad_payloads_are_refused() {
        assert_eq!(check(b""), Err(wrong()));
        let mut p = vec![0u8, 1, b'x'];
        p.extend_from_slice(&11u16.to_le_bytes());
        let sum = crc64(&p);
        p.extend_from_slice(&sum.to_le_bytes());
        assert_eq!(check(&p), Err(wrong()), "a newer RDB version");
        for obj in [
            &b"\x00"[..],
            b"\x00\x05ab",
            b"\x02\x00",
            b"\x08\x00",
            b"\x11\x03abc",
        ] {
            assert!(validate(obj).is_err(), "{obj:?}");
        }
    }
}
