//! Strings: the value is stored inline in the key's metadata record, so GET is one read and
//! SET one write.

use crate::error::{CmdError, CmdResult};
pub use crate::storage::record::{FLAG_NOINT, FLAG_RAW};
use crate::storage::{encode_string, Kind, Record, Store};

/// The record of a string key, or None; WRONGTYPE for other types.
pub fn get(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Option<Record>> {
    match store.get(db, key)? {
        Some(r) if r.kind() != Kind::String => Err(CmdError::WrongType),
        other => Ok(other),
    }
}

/// Stores a string value with an absolute expiry (0 = none).
pub fn set(
    store: &mut Store,
    db: usize,
    key: &[u8],
    value: &[u8],
    expire_at: u64,
) -> CmdResult<()> {
    set_flagged(store, db, key, value, expire_at, 0)
}

/// Stores a string with encoding flags: `FLAG_RAW` for values modified in place (APPEND,
/// SETRANGE, SETBIT), `FLAG_NOINT` for computed floats (INCRBYFLOAT), as OBJECT ENCODING reports.
pub fn set_flagged(
    store: &mut Store,
    db: usize,
    key: &[u8],
    value: &[u8],
    expire_at: u64,
    flags: u8,
) -> CmdResult<()> {
    store.put(db, key, encode_string(value, expire_at, flags))
}

/// The integer value of a string key (0 when missing), for INCR and friends.
pub fn get_int(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<(i64, u64)> {
    match get(store, db, key)? {
        Some(r) => {
            let v = crate::util::num::parse_i64(r.str_value()).ok_or(CmdError::NotInteger)?;
            Ok((v, r.expire_at()))
        }
        None => Ok((0, 0)),
    }
}

/// Redis's `checkStringLength`: a string may not grow past proto-max-bulk-len bytes.
pub fn check_len(size: u64, append: u64, max_len: i64) -> CmdResult<()> {
    match size.checked_add(append) {
        Some(total) if total <= max_len.max(0) as u64 => Ok(()),
        _ => Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// The inclusive range `[start, end]` over `len` units after Redis's string index rules
/// (GETRANGE, BITCOUNT, BITPOS): negative indexes count from the end, then both are clamped to
/// the string. None when the range is empty.
pub fn clamp_range(start: i64, end: i64, len: i64) -> Option<(u64, u64)> {
    let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (start, end) = (norm(start), norm(end).min(len - 1));
    (start <= end).then_some((start as u64, end as u64))
}

/// One range of an LCS IDX reply: inclusive byte ranges in both strings, and their length.
pub struct LcsMatch {
    pub a: (usize, usize),
    pub b: (usize, usize),
    pub len: usize,
}

/// The longest common subsequence of two strings and the matching ranges, last first.
pub struct Lcs {
    pub len: usize,
    pub text: Vec<u8>,
    pub matches: Vec<LcsMatch>,
}

/// Bytes of the dynamic-programming table LCS needs (Redis refuses above proto-max-bulk-len).
pub fn lcs_table_bytes(a: &[u8], b: &[u8]) -> u64 {
    (a.len() as u64 + 1)
        .saturating_mul(b.len() as u64 + 1)
        .saturating_mul(4)
}

/// Port of Redis's `lcsCommand` algorithm; `trace` also walks back the table for the text and the
/// ranges (LEN alone does not need them).
pub fn lcs(a: &[u8], b: &[u8], trace: bool) -> Lcs {
    let (alen, blen) = (a.len(), b.len());
    let w = blen + 1;
    let mut t = vec![0u32; (alen + 1) * w];
    for i in 1..=alen {
        for j in 1..=blen {
            t[i * w + j] = if a[i - 1] == b[j - 1] {
                t[(i - 1) * w + j - 1] + 1
            } else {
                t[(i - 1) * w + j].max(t[i * w + j - 1])
            };
        }
    }
    let len = t[alen * w + blen] as usize;
    let mut out = Lcs {
        len,
        text: Vec::new(),
        matches: Vec::new(),
    };
    if !trace {
        return out;
    }
    out.text = vec![0u8; len];
    let mut idx = len;
    // `astart == alen` means no range is open.
    let (mut astart, mut aend, mut bstart, mut bend) = (alen, 0, 0, 0);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            out.text[idx - 1] = a[i - 1];
            if astart == alen {
                (astart, aend, bstart, bend) = (i - 1, i - 1, j - 1, j - 1);
            } else if astart == i && bstart == j {
                astart -= 1;
                bstart -= 1;
            } else {
                emit = true;
            }
            if astart == 0 || bstart == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if t[(i - 1) * w + j] > t[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = astart != alen;
        }
        if emit {
            out.matches.push(LcsMatch {
                a: (astart, aend),
                b: (bstart, bend),
                len: aend - astart + 1,
            });
            astart = alen;
        }
    }
    out
}
