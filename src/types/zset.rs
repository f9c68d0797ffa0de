//! Sorted sets: members with a score, ordered by (score, member).
//!
//! # Encoding
//!
//! A sorted set is a collection record (`Kind::ZSet`, size = member count, `extra` = flags: the
//! OBJECT ENCODING, see `ENC_SKIPLIST`, and whether index writes skip the memtable map, see
//! `QUEUED_INDEX_FROM`) and two entries per member under the collection's member prefix, told
//! apart by the first sub-key byte:
//!
//! | sub-key                      | value                        |
//! |------------------------------|------------------------------|
//! | `m` member                   | score: f64 bits, big-endian  |
//! | `s` ordered-score:u64 member | empty (the score index)      |
//!
//! The ordered score is the f64 bit pattern with the sign bit flipped for positives and every
//! bit flipped for negatives, so byte order is numeric order (-0.0 is stored as 0.0; NaN never
//! reaches the store). ZSCORE and ZADD are point operations on `m` plus an index update; score
//! and lex ranges are ordered scans of the `s` index. Lex ranges follow Redis's rule that all
//! members share one score: the index is walked in order and members compared, exactly as Redis
//! walks a listpack (when every member does have the same score, the scan seeks directly).
//! Ranks are not stored: a rank query walks the index from the nearer end, O(min(rank,
//! size - rank)) as in Kvrocks; ranges by rank start from the nearer end too.

use std::ops::Bound;

use crate::error::CmdResult;
use crate::storage::{Kind, Store};
use crate::types::collection::{self, Coll};

const MEMBER: u8 = b'm';
/// What comes before a member in the sub-key of its point entry (`m`).
pub const POINT_TAG: &[u8] = &[MEMBER];
const INDEX: u8 = b's';

/// Redis 7.0 keeps a sorted set as a listpack up to `zset-max-listpack-entries` (128) members of
/// at most `zset-max-listpack-value` (64) bytes, and never converts back. The record's `extra`
/// is one byte, `ENC_SKIPLIST`, once a set has outgrown that, so OBJECT ENCODING is exact
/// without reading members.
pub const LISTPACK_ENTRIES: u64 = 128;
pub const LISTPACK_VALUE: usize = 64;
const ENC_SKIPLIST: u8 = 1;

/// Once a set has held more than this many members, `extra[1]` is set, and never cleared for
/// its version: its index entries are then written without the memtable map
/// (`Store::index_put`, `index_delete`). In a big set each score change would otherwise probe
/// the map twice at random places (two cache misses: most of ZADD's cost on a million members);
/// nothing reads index entries by point, so they need no map slot. Small sets keep the map,
/// where a hot member's index writes fold into one before reaching sled. The flag never goes
/// back because a key written around the map must not be written through it again while
/// queued (see `Memtable::queue_only`).
const QUEUED_INDEX_FROM: u64 = 4096;

/// OBJECT ENCODING of a sorted set from its record's `extra`.
pub fn encoding(extra: &[u8]) -> &'static str {
    if extra.first() == Some(&ENC_SKIPLIST) {
        "skiplist"
    } else {
        "listpack"
    }
}

/// Converts the OBJECT ENCODING flag to skiplist, as Redis 7.0's SORT does to any sorted set it
/// reads (`zsetConvert`). Call `save` afterwards.
pub fn convert_to_skiplist(c: &mut Coll) {
    set_flag(c, 0, ENC_SKIPLIST);
}

fn set_flag(c: &mut Coll, at: usize, value: u8) {
    if c.extra.len() <= at {
        c.extra.resize(at + 1, 0);
    }
    c.extra[at] = value;
}

fn index_queued(c: &Coll) -> bool {
    c.extra.get(1) == Some(&1)
}

/// Order-preserving bytes of a score.
pub fn ord_bits(score: f64) -> u64 {
    let score = if score == 0.0 { 0.0 } else { score };
    let bits = score.to_bits();
    if bits >> 63 == 0 {
        bits | (1 << 63)
    } else {
        !bits
    }
}

fn from_ord_bits(o: u64) -> f64 {
    if o >> 63 == 1 {
        f64::from_bits(o & !(1 << 63))
    } else {
        f64::from_bits(!o)
    }
}

fn index_sub(score: f64, member: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(member.len() + 9);
    k.push(INDEX);
    k.extend_from_slice(&ord_bits(score).to_be_bytes());
    k.extend_from_slice(member);
    k
}

/// The prefix of the member entries (`m`): a ZSCAN walks the sub-keys under it (each one a
/// member) and reads each score with `decode_score`. The `s` index is not for scanning.
pub fn member_space(c: &Coll) -> Vec<u8> {
    c.member_key(&[MEMBER])
}

/// The score stored in a member entry's value.
pub fn decode_score(value: &[u8]) -> Option<f64> {
    <[u8; 8]>::try_from(value).ok().map(f64::from_be_bytes)
}

/// The sorted set at `key`, if any (WRONGTYPE for another type).
pub fn get(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Option<Coll>> {
    collection::get(store, db, key, Kind::ZSet)
}

pub fn get_or_new(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Coll> {
    collection::get_or_new(store, db, key, Kind::ZSet)
}

pub fn save(store: &mut Store, db: usize, key: &[u8], c: &Coll) -> CmdResult<()> {
    collection::save(store, db, key, c)
}

/// Calls `f` with the stored key of `member`'s entry (`m` member).
fn with_member_key<R>(c: &Coll, member: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    collection::with_key(&c.prefix, &[&[MEMBER], member], f)
}

/// Calls `f` with the stored key of `member`'s index entry at `score` (`s` score member).
fn with_index_key<R>(c: &Coll, score: f64, member: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    let bits = ord_bits(score).to_be_bytes();
    collection::with_key(&c.prefix, &[&[INDEX], &bits, member], f)
}

/// The score of `member`.
pub fn score(store: &mut Store, c: &Coll, member: &[u8]) -> CmdResult<Option<f64>> {
    Ok(with_member_key(c, member, |k| store.member_get(k))?.and_then(|v| decode_score(&v)))
}

/// A new member: counts it and switches the encoding flag once the set outgrows a listpack.
fn count_new(c: &mut Coll, member: &[u8]) {
    c.size += 1;
    if c.size > LISTPACK_ENTRIES || member.len() > LISTPACK_VALUE {
        set_flag(c, 0, ENC_SKIPLIST);
    }
    if c.size > QUEUED_INDEX_FROM {
        set_flag(c, 1, 1);
    }
}

/// Adds (`present`) or removes `member`'s index entry at `score`; it did not exist, or did.
fn index_write(store: &mut Store, c: &Coll, score: f64, member: &[u8], present: bool) {
    let queued = index_queued(c);
    with_index_key(c, score, member, |k| match (queued, present) {
        (true, true) => store.index_put(k),
        (true, false) => store.index_delete(k),
        (false, true) => store.member_put(k, &[]),
        (false, false) => store.member_delete(k),
    });
}

/// Sets `member`'s score; `old` is its current score (None when it is new).
pub fn set(store: &mut Store, c: &mut Coll, member: &[u8], old: Option<f64>, new: f64) {
    let new = if new == 0.0 { 0.0 } else { new };
    if let Some(o) = old {
        if ord_bits(o) == ord_bits(new) {
            return;
        }
        // The old index entry is known to exist: a blind delete.
        index_write(store, c, o, member, false);
    } else {
        count_new(c, member);
    }
    with_member_key(c, member, |k| store.member_put(k, &new.to_be_bytes()));
    index_write(store, c, new, member, true);
}

/// Sets `member`'s score to `new` whatever it was (ZADD without NX/XX/GT/LT/INCR), reading the
/// old score in the same memtable lookup that writes the new one; returns the old score. The
/// set's watchers are touched only when the score changes.
pub fn replace(store: &mut Store, c: &mut Coll, member: &[u8], new: f64) -> CmdResult<Option<f64>> {
    let new = if new == 0.0 { 0.0 } else { new };
    let old = with_member_key(c, member, |k| store.member_replace(k, &new.to_be_bytes()))?
        .and_then(|v| decode_score(&v));
    match old {
        Some(o) if ord_bits(o) == ord_bits(new) => return Ok(old),
        Some(o) => index_write(store, c, o, member, false),
        None => count_new(c, member),
    }
    index_write(store, c, new, member, true);
    Ok(old)
}

/// Removes `member`; returns its score if it was there.
pub fn remove(store: &mut Store, c: &mut Coll, member: &[u8]) -> CmdResult<Option<f64>> {
    // Read and delete the member entry in one memtable lookup.
    let Some(old) =
        with_member_key(c, member, |k| store.member_take(k))?.and_then(|v| decode_score(&v))
    else {
        return Ok(None);
    };
    index_write(store, c, old, member, false);
    c.size = c.size.saturating_sub(1);
    Ok(Some(old))
}

/// A bound of a score range (`(1.5` is exclusive).
#[derive(Debug, Clone, Copy)]
pub struct ScoreRange {
    pub min: f64,
    pub minex: bool,
    pub max: f64,
    pub maxex: bool,
}

impl ScoreRange {
    /// True when no score can lie in the range (Redis's `zslIsInRange` early exit).
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }

    pub fn contains(&self, s: f64) -> bool {
        let above = if self.minex {
            s > self.min
        } else {
            s >= self.min
        };
        let below = if self.maxex {
            s < self.max
        } else {
            s <= self.max
        };
        above && below
    }

    /// Index sub-key bounds (after the `s` byte): scores as ordered u64 intervals.
    fn bounds(&self) -> (Vec<u8>, Vec<u8>) {
        let lo = ord_bits(self.min) + self.minex as u64;
        // Exclusive upper end: the first ordered value past the range.
        let hi = ord_bits(self.max) as u128 + (!self.maxex) as u128;
        let mut l = vec![INDEX];
        l.extend_from_slice(&lo.to_be_bytes());
        let h = if hi > u64::MAX as u128 {
            vec![INDEX + 1]
        } else {
            let mut h = vec![INDEX];
            h.extend_from_slice(&(hi as u64).to_be_bytes());
            h
        };
        (l, h)
    }
}

/// One end of a lex range.
#[derive(Debug, Clone)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    pub fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(b) => m >= b.as_slice(),
            LexBound::Excl(b) => m > b.as_slice(),
        }
    }

    pub fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(b) => m <= b.as_slice(),
            LexBound::Excl(b) => m < b.as_slice(),
        }
    }

    /// Redis's `zslIsInLexRange` early exit.
    pub fn is_empty(&self) -> bool {
        use LexBound::*;
        match (&self.min, &self.max) {
            (PosInf, _) | (_, NegInf) => true,
            (NegInf, _) | (_, PosInf) => false,
            (Incl(a), Incl(b)) => a > b,
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => a >= b,
        }
    }
}

/// An index entry: (member, score).
pub type Entry = (Vec<u8>, f64);

fn decode_index(sub: &[u8]) -> Option<Entry> {
    // Sub-keys returned by range scans of the index exclude the leading `s`.
    let bits = u64::from_be_bytes(sub.get(..8)?.try_into().ok()?);
    Some((sub[8..].to_vec(), from_ord_bits(bits)))
}

fn index_prefix(c: &Coll) -> Vec<u8> {
    c.member_key(&[INDEX])
}

/// Index entries between two sub-key bounds (relative to the index prefix).
fn scan(
    store: &mut Store,
    c: &Coll,
    from: Bound<&[u8]>,
    to: Bound<&[u8]>,
    rev: bool,
    limit: usize,
) -> CmdResult<Vec<Entry>> {
    if c.size == 0 || limit == 0 {
        return Ok(Vec::new());
    }
    let prefix = index_prefix(c);
    Ok(store
        .member_range(&prefix, from, to, rev, limit)?
        .iter()
        .filter_map(|(k, _)| decode_index(k))
        .collect())
}

/// Members by rank, `start..=stop` already clamped to `0..size` (forward ranks, or ranks from the
/// end when `rev`), in reply order. Scans from whichever end of the index is nearer.
pub fn range_by_rank(
    store: &mut Store,
    c: &Coll,
    start: u64,
    stop: u64,
    rev: bool,
) -> CmdResult<Vec<Entry>> {
    let n = c.size;
    if start > stop || start >= n {
        return Ok(Vec::new());
    }
    let stop = stop.min(n - 1);
    let want = (stop - start + 1) as usize;
    // From the requested end: stop+1 entries; from the other end: n-start entries.
    let mut out = if stop < n - start {
        let mut v = scan(
            store,
            c,
            Bound::Unbounded,
            Bound::Unbounded,
            rev,
            (stop + 1) as usize,
        )?;
        v.drain(..start as usize);
        v
    } else {
        let mut v = scan(
            store,
            c,
            Bound::Unbounded,
            Bound::Unbounded,
            !rev,
            (n - start) as usize,
        )?;
        v.reverse();
        v
    };
    out.truncate(want);
    Ok(out)
}

/// Members with a score in `r`, in score order (or reversed), skipping `offset`, at most
/// `limit`.
pub fn range_by_score(
    store: &mut Store,
    c: &Coll,
    r: &ScoreRange,
    rev: bool,
    offset: usize,
    limit: usize,
) -> CmdResult<Vec<Entry>> {
    if r.is_empty() {
        return Ok(Vec::new());
    }
    let (lo, hi) = r.bounds();
    let (lo, hi) = (&lo[1..], &hi[1..]);
    let mut v = scan(
        store,
        c,
        Bound::Included(lo),
        if hi.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Excluded(hi)
        },
        rev,
        offset.saturating_add(limit),
    )?;
    v.drain(..offset.min(v.len()));
    Ok(v)
}

/// How many members have a score in `r`, from the ranks of the first and last of them (as
/// Redis): O(distance of those two from the nearer ends), not O(count).
pub fn count_by_score(store: &mut Store, c: &Coll, r: &ScoreRange) -> CmdResult<u64> {
    let first = range_by_score(store, c, r, false, 0, 1)?;
    let last = range_by_score(store, c, r, true, 0, 1)?;
    let (Some((fm, fs)), Some((lm, ls))) = (first.first(), last.first()) else {
        return Ok(0);
    };
    let a = rank(store, c, fm, *fs, false)?;
    let b = rank(store, c, lm, *ls, false)?;
    Ok(b + 1 - a.min(b + 1))
}

/// Members in a lex range, Redis's way (see the module doc), skipping `offset`, at most `limit`.
pub fn range_by_lex(
    store: &mut Store,
    c: &Coll,
    r: &LexRange,
    rev: bool,
    offset: usize,
    limit: usize,
) -> CmdResult<Vec<Entry>> {
    if r.is_empty() || c.size == 0 || limit == 0 {
        return Ok(Vec::new());
    }
    let first = scan(store, c, Bound::Unbounded, Bound::Unbounded, false, 1)?;
    let last = scan(store, c, Bound::Unbounded, Bound::Unbounded, true, 1)?;
    let (Some(first), Some(last)) = (first.first(), last.first()) else {
        return Ok(Vec::new());
    };
    // Redis's `zzlIsInLexRange`: nothing when the last member is below min or the first above max.
    if !r.gte_min(&last.0) || !r.lte_max(&first.0) {
        return Ok(Vec::new());
    }
    if ord_bits(first.1) == ord_bits(last.1) {
        // One score: the index is in member order, seek to the bounds.
        let score = ord_bits(first.1).to_be_bytes();
        let join = |b: &LexBound| match b {
            LexBound::Incl(m) => Bound::Included([&score[..], m].concat()),
            LexBound::Excl(m) => Bound::Excluded([&score[..], m].concat()),
            _ => Bound::Unbounded,
        };
        let (lo, hi) = (join(&r.min), join(&r.max));
        let mut v = scan(
            store,
            c,
            bref(&lo),
            bref(&hi),
            rev,
            offset.saturating_add(limit),
        )?;
        v.drain(..offset.min(v.len()));
        return Ok(v);
    }
    // Mixed scores: walk the index as Redis walks a listpack. The range starts at the first
    // member >= min (backward: the last <= max), which must itself be in range; `offset`
    // entries are skipped unchecked, then members are taken while in range.
    let all = scan(
        store,
        c,
        Bound::Unbounded,
        Bound::Unbounded,
        rev,
        usize::MAX,
    )?;
    let begins = |m: &[u8]| if rev { r.lte_max(m) } else { r.gte_min(m) };
    let inside = |m: &[u8]| if rev { r.gte_min(m) } else { r.lte_max(m) };
    let Some(start) = all.iter().position(|e| begins(&e.0)) else {
        return Ok(Vec::new());
    };
    if !inside(&all[start].0) {
        return Ok(Vec::new());
    }
    Ok(all
        .into_iter()
        .skip(start.saturating_add(offset))
        .take(limit)
        .take_while(|e| inside(&e.0))
        .collect())
}

fn bref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v),
        Bound::Excluded(v) => Bound::Excluded(v),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The 0-based rank of `member` (whose score is `score`), from the start or from the end.
/// O(min(rank, size - rank)): the index is walked from both ends (see `Store::member_rank`).
pub fn rank(store: &mut Store, c: &Coll, member: &[u8], score: f64, rev: bool) -> CmdResult<u64> {
    let me = index_sub(score, member);
    let before = store.member_rank(&index_prefix(c), &me[1..], c.size)?;
    Ok(if rev {
        c.size.saturating_sub(before + 1)
    } else {
        before
    })
}

/// A random member without reading the set (see `collection::random_under`).
pub fn random_member(store: &mut Store, c: &Coll) -> CmdResult<Option<Vec<u8>>> {
    Ok(collection::random_under(store, &member_space(c))?.map(|(member, _)| member))
}

/// Every member with its score, in score order.
pub fn all(store: &mut Store, c: &Coll) -> CmdResult<Vec<Entry>> {
    scan(
        store,
        c,
        Bound::Unbounded,
        Bound::Unbounded,
        false,
        usize::MAX,
    )
}

/// Removes the given entries (as returned by the range functions).
pub fn remove_entries(store: &mut Store, c: &mut Coll, entries: &[Entry]) {
    for (m, s) in entries {
        with_member_key(c, m, |k| store.member_delete(k));
        index_write(store, c, *s, m, false);
        c.size = c.size.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_score_bytes_sort_numerically() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1e-300,
            0.0,
            1e-300,
            1.0,
            2.5,
            1e300,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(ord_bits(w[0]) < ord_bits(w[1]), "{} < {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(from_ord_bits(ord_bits(x)), x);
        }
        assert_eq!(ord_bits(-0.0), ord_bits(0.0));
    }
}
