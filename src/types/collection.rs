//! What every collection type (hash, list, set, sorted set) shares: its metadata record and the
//! rules Redis applies to all of them.
//!
//! The record holds the member version, the member count and type-specific `extra` bytes (list
//! head/tail, …); each member is its own entry under `Store::member_prefix(db, key, version)`
//! followed by a sub-key that the type module defines. A collection emptied by removals is
//! deleted, as in Redis (EXISTS 0, TYPE none); its key never holds an empty collection.

use std::collections::{HashMap, VecDeque};
use std::ops::Bound::{Excluded, Included, Unbounded};
use std::sync::Mutex;

use crate::storage::IVec;

use crate::error::{CmdError, CmdResult};
use crate::storage::events::GENERIC;
use crate::storage::keys::prefix_end;
use crate::storage::scan::random_u64;
use crate::storage::{encode_collection, Kind, Store};

/// A collection's record, decoded for one command. Change `size`/`extra`, then `save`.
#[derive(Debug, Clone)]
pub struct Coll {
    pub kind: Kind,
    pub expire_at: u64,
    pub version: u64,
    pub size: u64,
    pub extra: Vec<u8>,
    /// The member prefix: a member's stored key is `prefix` + its sub-key.
    pub prefix: Vec<u8>,
    /// False for a collection made by `get_or_new` and not stored yet.
    pub exists: bool,
}

impl Coll {
    /// The stored key of the member with sub-key `sub`.
    pub fn member_key(&self, sub: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + sub.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(sub);
        k
    }
}

/// Calls `f` with the stored key `prefix` + `parts` (a member key), built on the stack when it
/// is short: the per-member operations of the write commands allocate no key.
#[inline]
pub fn with_key<R>(prefix: &[u8], parts: &[&[u8]], f: impl FnOnce(&[u8]) -> R) -> R {
    let len = prefix.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut stack = [0u8; 192];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap
    };
    buf[..prefix.len()].copy_from_slice(prefix);
    let mut at = prefix.len();
    for p in parts {
        buf[at..at + p.len()].copy_from_slice(p);
        at += p.len();
    }
    f(buf)
}

/// The collection at `key` when it exists and is a `kind`; WRONGTYPE when the key holds
/// another type.
pub fn get(store: &mut Store, db: usize, key: &[u8], kind: Kind) -> CmdResult<Option<Coll>> {
    let Some(rec) = store.get(db, key)? else {
        return Ok(None);
    };
    if rec.kind() != kind {
        return Err(CmdError::WrongType);
    }
    Ok(Some(Coll {
        kind,
        expire_at: rec.expire_at(),
        version: rec.version(),
        size: rec.size(),
        extra: rec.extra().to_vec(),
        prefix: store.member_prefix(db, key, rec.version()),
        exists: true,
    }))
}

/// The collection at `key`, or a new empty one under a fresh version (stored by `save` once it
/// has members). WRONGTYPE when the key holds another type.
pub fn get_or_new(store: &mut Store, db: usize, key: &[u8], kind: Kind) -> CmdResult<Coll> {
    match get(store, db, key, kind)? {
        Some(c) => Ok(c),
        None => empty(store, db, key, kind, false),
    }
}

/// A new empty collection under a fresh version that will replace whatever `key` holds (the
/// STORE forms): no type check; saved empty, it deletes the key.
pub fn fresh(store: &mut Store, db: usize, key: &[u8], kind: Kind) -> CmdResult<Coll> {
    let exists = store.get(db, key)?.is_some();
    empty(store, db, key, kind, exists)
}

fn empty(store: &mut Store, db: usize, key: &[u8], kind: Kind, exists: bool) -> CmdResult<Coll> {
    let version = store.new_version()?;
    Ok(Coll {
        kind,
        expire_at: 0,
        version,
        size: 0,
        extra: Vec::new(),
        prefix: store.member_prefix(db, key, version),
        exists,
    })
}

/// Collections of at least this many members get the entries of pipelined commands'
/// members prefetched (`point_keys`). A smaller collection in use stays in the CPU caches
/// anyway: 16,384 map entries of about 100 bytes fill most of a 2 MiB L2 cache.
pub const PREFETCH_FROM: u64 = 16_384;

/// What comes before a member in the sub-key of its point entry, for the kinds that have
/// them (see each type's encoding table): hash fields and set elements are their own
/// sub-keys, sorted set members are tagged. Lists are addressed by position, not by member.
fn point_tag(kind: Kind) -> Option<&'static [u8]> {
    match kind {
        Kind::Hash | Kind::Set => Some(b""),
        Kind::ZSet => Some(super::zset::POINT_TAG),
        Kind::List | Kind::String => None,
    }
}

/// Appends to `out` the stored keys of the point entries of `members` in `key`'s collection
/// (each key's end offset to `ends`), when `key` holds a `kind` of at least `PREFETCH_FROM`
/// members. Reads only what the memtable holds and changes
/// nothing: the keys are for `Store::prefetch`, a hint that may go stale (the key
/// expires or changes before the command runs) at the cost of a wasted fetch.
pub fn point_keys<'m>(
    store: &Store,
    db: usize,
    key: &[u8],
    kind: Kind,
    members: impl Iterator<Item = &'m [u8]>,
    out: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) {
    let Some(tag) = point_tag(kind) else {
        return;
    };
    let Some(rec) = store.peek(db, key) else {
        return;
    };
    if rec.kind() != kind || rec.size() < PREFETCH_FROM {
        return;
    }
    let prefix = store.member_prefix(db, key, rec.version());
    for member in members {
        out.extend_from_slice(&prefix);
        out.extend_from_slice(tag);
        out.extend_from_slice(member);
        ends.push(out.len());
    }
}

/// Removes the member with sub-key `sub`; true when it existed. Call `save` afterwards.
pub fn remove_member(store: &mut Store, c: &mut Coll, sub: &[u8]) -> CmdResult<bool> {
    let removed = store.member_remove(&c.member_key(sub))?;
    if removed {
        c.size -= 1;
    }
    Ok(removed)
}

/// Stores the record after its members changed: an empty collection is deleted (and was never
/// created when it did not exist), with Redis's `del` event. Commands record their own event
/// before saving a removal, so that `del` follows it as in Redis.
pub fn save(store: &mut Store, db: usize, key: &[u8], c: &Coll) -> CmdResult<()> {
    if c.size == 0 {
        if c.exists && store.delete(db, key)? {
            store.notify(GENERIC, "del", db, key);
        }
        return Ok(());
    }
    store.put(
        db,
        key,
        encode_collection(c.kind, c.expire_at, c.version, c.size, &c.extra),
    )
}

/// A member as read: (sub-key, value).
pub type Member = (Vec<u8>, IVec);

/// Every member of `c` in sub-key order, as (sub-key, value). Reads the whole collection: only
/// for replies that need all of it.
pub fn members(store: &mut Store, c: &Coll) -> CmdResult<Vec<Member>> {
    store.member_range(&c.prefix, Unbounded, Unbounded, false, usize::MAX)
}

/// Collections up to this size are sampled from a full read; larger ones by random seeks.
const SAMPLE_FULL_READ: u64 = 1024;

/// Single picks read collections up to this size whole, so that their picks are uniform.
const SAMPLE_ONE_FULL_READ: u64 = 128;

/// One random member. Small collections are read whole and picked from uniformly; larger ones
/// by a descent through the sub-keys (`random_under`).
pub fn random_member(store: &mut Store, c: &Coll) -> CmdResult<Option<Member>> {
    if c.size <= SAMPLE_ONE_FULL_READ {
        return Ok(random_distinct(store, c, 1)?.into_iter().next());
    }
    random_under(store, &c.prefix)
}

/// A random entry under `space` (a member prefix), as (sub-key, value), without reading them
/// all: a descent through the sub-keys' byte trie. With the bytes chosen so far, the first and
/// the last entry under them are read; at the first byte where those two differ, a byte is drawn
/// uniformly between theirs (an entry that ends there is one more outcome), and the descent
/// goes on under the first entry at or after it. Two seeks per level, and a shared prefix is
/// skipped at once. Uniform when sub-keys are evenly spread (`f:000000`..`f:999999`); an entry
/// after a gap in the bytes used at its level is picked more often, but every entry is
/// reachable and no cluster is picked exclusively. Exact uniformity would need stored ranks.
pub fn random_under(store: &mut Store, space: &[u8]) -> CmdResult<Option<Member>> {
    let first_from = |store: &mut Store, from: &[u8]| -> CmdResult<Option<Member>> {
        Ok(store
            .member_range(space, Included(from), Unbounded, false, 1)?
            .pop())
    };
    let Some(mut lo) = first_from(store, &[])? else {
        return Ok(None);
    };
    // `lo` is the first entry under its first `chosen` bytes, the prefix drawn so far.
    let mut chosen = 0;
    loop {
        let end = prefix_end(&lo.0[..chosen]);
        let to = end.as_deref().map_or(Unbounded, Excluded);
        let last = store.member_range(space, Included(&lo.0[..chosen]), to, true, 1)?;
        let Some(hi) = last.into_iter().next().filter(|hi| hi.0 != lo.0) else {
            return Ok(Some(lo));
        };
        // `hi` sorts after `lo`: at the first difference `lo` ends or has the smaller byte.
        let common = lo.0.iter().zip(&hi.0).take_while(|(a, b)| a == b).count();
        let Some(&hi_byte) = hi.0.get(common) else {
            return Ok(Some(lo));
        };
        let (lo_byte, ends) = match lo.0.get(common) {
            Some(&b) => (b as u64, 0),
            None => (0, 1),
        };
        let r = random_u64() % (hi_byte as u64 - lo_byte + 1 + ends);
        if r < ends {
            return Ok(Some(lo));
        }
        let mut pivot = hi.0[..common].to_vec();
        pivot.push((lo_byte + r - ends) as u8);
        // Some entry is at or after the pivot: `hi` is.
        lo = first_from(store, &pivot)?.unwrap_or(hi);
        chosen = common + 1;
    }
}

/// `n` distinct random members (all of them when `n >= size`), in no particular order.
pub fn random_distinct(store: &mut Store, c: &Coll, n: u64) -> CmdResult<Vec<Member>> {
    if n >= c.size || c.size <= SAMPLE_FULL_READ || n > c.size / 4 {
        let mut all = members(store, c)?;
        let n = (n as usize).min(all.len());
        // Partial Fisher-Yates: the first n slots become a uniform sample.
        for i in 0..n {
            let j = i + (random_u64() % (all.len() - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(n);
        return Ok(all);
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n as usize);
    let mut attempts = 0;
    while (out.len() as u64) < n && attempts < 4 * n {
        attempts += 1;
        if let Some(m) = random_member(store, c)? {
            if seen.insert(m.0.clone()) {
                out.push(m);
            }
        }
    }
    // Unlucky seeks: complete with the members that follow the last pick.
    let mut from = out.last().map(|m| m.0.clone()).unwrap_or_default();
    let mut visited = 0u64;
    while (out.len() as u64) < n && visited <= c.size + 64 {
        let next = store.member_range(&c.prefix, Excluded(&from), Unbounded, false, 64)?;
        let wrapped = next.is_empty();
        let batch = if wrapped {
            store.member_range(&c.prefix, Unbounded, Unbounded, false, 64)?
        } else {
            next
        };
        if batch.is_empty() {
            break;
        }
        for m in batch {
            visited += 1;
            from = m.0.clone();
            if (out.len() as u64) < n && seen.insert(m.0.clone()) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// `n` random members, possibly repeated (the negative counts of HRANDFIELD/SRANDMEMBER).
pub fn random_repeated(store: &mut Store, c: &Coll, n: u64) -> CmdResult<Vec<Member>> {
    if c.size <= SAMPLE_FULL_READ {
        let all = members(store, c)?;
        if all.is_empty() {
            return Ok(Vec::new());
        }
        return Ok((0..n)
            .map(|_| all[(random_u64() % all.len() as u64) as usize].clone())
            .collect());
    }
    let mut out = Vec::with_capacity(n.min(1 << 20) as usize);
    for _ in 0..n {
        match random_member(store, c)? {
            Some(m) => out.push(m),
            None => break,
        }
    }
    Ok(out)
}

/// Copies every member of `src` under `dst_prefix` (RENAME, COPY, MOVE of a collection: the
/// destination gets a fresh version, the source's old members are garbage-collected later).
pub fn copy_members(store: &mut Store, src: &Coll, dst_prefix: &[u8]) -> CmdResult<()> {
    for (sub, value) in members(store, src)? {
        let mut k = dst_prefix.to_vec();
        k.extend_from_slice(&sub);
        store.member_put(&k, &value);
    }
    Ok(())
}

/// The collection record of `rec` at `key` in `db`, copied under a fresh version to `dst_db`:
/// returns the destination's record bytes, to be stored by the caller in the same command.
pub fn duplicate(
    store: &mut Store,
    db: usize,
    key: &[u8],
    dst_db: usize,
    dst_key: &[u8],
) -> CmdResult<Option<Vec<u8>>> {
    let Some(rec) = store.get(db, key)? else {
        return Ok(None);
    };
    let Some(c) = get(store, db, key, rec.kind())? else {
        return Ok(None);
    };
    let version = store.new_version()?;
    let dst_prefix = store.member_prefix(dst_db, dst_key, version);
    copy_members(store, &c, &dst_prefix)?;
    Ok(Some(encode_collection(
        c.kind,
        c.expire_at,
        version,
        c.size,
        &c.extra,
    )))
}

// SCAN-family cursors (HSCAN, SSCAN, ZSCAN).
//
// Members are stored in sub-key order and a step resumes just after the last sub-key it
// returned, so every member present for the whole scan is returned at least once (members added
// or removed meanwhile may or may not be). Redis's cursor is an opaque integer, so the resume
// sub-key lives in a bounded server-side table: the cursor is a token naming (member prefix,
// last sub-key). A cursor that is unknown (evicted, from before a restart, made up) or that
// belongs to another collection restarts the scan from the first member: members may come back
// twice, which the SCAN contract allows, but none is skipped. Collections small enough for
// Redis's compact encodings are returned whole in one step with cursor 0, as Redis does.

/// Bounds of the resume table: at most this many positions and this many sub-key bytes.
const CURSOR_ENTRIES: usize = 4096;
const CURSOR_BYTES: usize = 16 << 20;

#[derive(Default)]
struct Cursors {
    next: u64,
    bytes: usize,
    positions: HashMap<u64, (Vec<u8>, Vec<u8>)>,
    order: VecDeque<u64>,
}

impl Cursors {
    fn register(&mut self, prefix: Vec<u8>, sub: Vec<u8>) -> u64 {
        // Tokens stay below 2^53 so clients that parse cursors as doubles keep them exact.
        self.next = self.next % ((1 << 53) - 1) + 1;
        let token = self.next;
        self.bytes += prefix.len() + sub.len();
        if let Some((p, s)) = self.positions.insert(token, (prefix, sub)) {
            self.bytes -= p.len() + s.len();
        }
        self.order.push_back(token);
        while self.order.len() > CURSOR_ENTRIES || self.bytes > CURSOR_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((p, s)) = self.positions.remove(&oldest) {
                self.bytes -= p.len() + s.len();
            }
        }
        token
    }
}

static CURSORS: Mutex<Option<Cursors>> = Mutex::new(None);

/// One step of a SCAN-family iteration over `c`: up to `count` members after `cursor`'s
/// position (all of them when `whole`: the compact encodings), and the next cursor (0 at the
/// end). `keep` filters what is returned (MATCH) without affecting the position.
pub fn scan_members(
    store: &mut Store,
    c: &Coll,
    cursor: u64,
    count: usize,
    whole: bool,
    mut keep: impl FnMut(&[u8]) -> bool,
) -> CmdResult<(u64, Vec<Member>)> {
    // A compact collection is returned whole whatever the cursor, as Redis does.
    let resume = if cursor == 0 || whole {
        None
    } else {
        let table = CURSORS.lock().unwrap_or_else(|e| e.into_inner());
        table
            .as_ref()
            .and_then(|t| t.positions.get(&cursor))
            .filter(|(p, _)| *p == c.prefix)
            .map(|(_, s)| s.clone())
    };
    let from = match &resume {
        Some(s) => Excluded(s.as_slice()),
        None => Unbounded,
    };
    let limit = if whole { usize::MAX } else { count.max(1) };
    // One member past the step tells whether the scan goes on.
    let mut batch =
        store.member_range(&c.prefix, from, Unbounded, false, limit.saturating_add(1))?;
    let more = batch.len() > limit;
    batch.truncate(limit);
    let next = match batch.last() {
        Some((last, _)) if more => {
            let mut table = CURSORS.lock().unwrap_or_else(|e| e.into_inner());
            table
                .get_or_insert_with(Cursors::default)
                .register(c.prefix.clone(), last.clone())
        }
        _ => 0,
    };
    Ok((next, batch.into_iter().filter(|(s, _)| keep(s)).collect()))
}
