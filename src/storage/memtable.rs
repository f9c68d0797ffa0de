//! Write-behind record cache in front of sled.
//!
//! sled costs microseconds per operation; Redis answers in a fraction of that. So commands work
//! against an in-memory map of stored keys: reads are served from it (loading from sled on a
//! miss), writes land in it and are queued. The queue is taken out as one batch ("a swap")
//! between commands, under the keyspace lock, so a batch always holds whole commands. Batches go
//! to sled through `pipeline.rs`: first logged (the whole batch written as one value, see
//! `journal.rs`; durable once sled is flushed), later applied entry by entry to the keyspace
//! tree in the background, after which its journal record is dropped. `Store::open` replays
//! records left by a crash, in order, so a crash never leaves half a command (or half a
//! transaction) on disk.
//! (sled's own `apply_batch` would be atomic too, but it holds a global lock that stalls every
//! concurrent read for the whole batch, and it makes durability wait for the whole tree work.)
//!
//! A command that needs sled current (range scans) waits for the pipeline and writes the rest
//! of the queue inline (`sync`). A transaction (EXEC, or a script) may need that midway, which
//! would put part of it on disk. So while an atomic unit is open the memtable remembers the value
//! each key had before the unit first wrote it; each inline write first writes those values as
//! one undo record (`u` in the journal tree), and the unit's end applies the rest (under a last
//! undo record) and removes the record. After a crash, `Journal::replay` completes logged
//! batches and then rolls an unfinished unit back: the transaction is entirely absent.
//!
//! Batches are applied in swap order; `Progress::upto` is the write sequence number up to which
//! the tree is current. Entries whose latest write is applied are clean and may be evicted to
//! respect the memory budget; others stay, so a read never misses a write sled has not got yet.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

use sled::{IVec, Tree};

use super::backlog::Backlog;
use super::journal::{self, Journal, Logged, UNDO};
use super::map::{self, Entry, Occupied};
use super::pipeline::{self, Load, Pipeline, Progress};
use super::spill;

/// What one map entry takes beyond its key's and value's heap bytes (`heap`): its bucket and
/// control byte, twice over, since `grow_early` keeps the tables between about a quarter and
/// seven eighths full. About 210 bytes; it used to be counted as 64 plus key and value.
const ENTRY_COST: usize = 2 * (std::mem::size_of::<(MemKey, Slot)>() + 1);
/// Rough size of a queued entry, to compare the queue with the memory budget.
const ENTRY_ESTIMATE: usize = 128;

/// A map key that keeps stored keys of up to 46 bytes inline (a Redis key of up to 42 bytes plus
/// its 4-byte prefix), so a lookup compares keys without chasing a pointer.
///
/// A queued copy of an inline key may be marked *fresh* (the top bit of `len`): when it was
/// queued, sled did not have the key and no earlier write of it was pending, so deleting it
/// needs no tree work, and nor does any later write that cancels it out (see `backlog.rs`).
#[derive(Clone)]
enum MemKey {
    Inline { len: u8, buf: [u8; 46] },
    Heap(Box<[u8]>),
}

impl MemKey {
    fn new(key: &[u8]) -> Self {
        let mut buf = [0u8; 46];
        match buf.get_mut(..key.len()) {
            Some(dst) => {
                dst.copy_from_slice(key);
                MemKey::Inline {
                    len: key.len() as u8,
                    buf,
                }
            }
            None => MemKey::Heap(key.into()),
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            MemKey::Inline { len, buf } => &buf[..(*len & !FRESH) as usize],
            MemKey::Heap(b) => b,
        }
    }

    /// This key marked fresh if `fresh` (long keys, kept on the heap, never are).
    fn marked_fresh(mut self, fresh: bool) -> Self {
        if let (MemKey::Inline { len, .. }, true) = (&mut self, fresh) {
            *len |= FRESH;
        }
        self
    }

    fn is_fresh(&self) -> bool {
        matches!(self, MemKey::Inline { len, .. } if len & FRESH != 0)
    }
}

/// The heap bytes an entry of `key` holding `val` keeps outside its bucket: a key too long to
/// be inline, a value too long for `IVec`'s inline form (22 bytes) with its reference count.
fn heap(key: &[u8], val: Option<&IVec>) -> usize {
    let key = if key.len() > 46 { key.len() } else { 0 };
    key + val.map_or(0, |v| if v.len() > 22 { v.len() + 16 } else { 0 })
}

/// The mark of a fresh key in `MemKey::Inline`'s `len` (lengths need 6 bits).
const FRESH: u8 = 0x80;

impl AsRef<[u8]> for MemKey {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::borrow::Borrow<[u8]> for MemKey {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

// Hash and Eq must agree with `[u8]`'s for lookups by `&[u8]` through `Borrow`.
impl std::hash::Hash for MemKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl PartialEq for MemKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for MemKey {}

struct Slot {
    val: Option<IVec>,
    /// Write sequence of the latest change; 0 for values loaded from sled. Above
    /// `Memtable::taken`, the slot is in the dirty queue, at `pos`.
    ver: u64,
    pos: u32,
    /// Read or written since the last eviction pass: spared once (a CLOCK's reference bit), so
    /// hot keys stay while a bulk load streams through.
    used: bool,
    /// Queued (`ver` above `Memtable::taken`) and already in `Memtable::deleted`: a key deleted
    /// and set again and again within one batch is buried once.
    graved: bool,
}

/// An atomic unit of writes in progress (see the module docs).
#[derive(Default)]
struct Atomic {
    /// Each key the unit wrote → its value before that; `Unknown` when the key was not in the
    /// map (sled's value, read when the undo record is written).
    undo: HashMap<Vec<u8>, Before>,
    /// An undo record is on disk: some of the unit's writes may be in sled.
    spilled: bool,
}

enum Before {
    Known(Option<IVec>),
    Unknown,
}

type Map = map::Map<MemKey, Slot, KeyHash>;

/// How the maps hash stored keys: aHash (fast, seeded per process against collision attacks),
/// except for list elements in the members map (`grouped`). A list element's sub-key, the
/// key's last 8 bytes, is its sequence number, which starts at 2^63 (`list::MID`); there it
/// counts without its low 3 bits towards the bucket. So eight neighbouring elements share a
/// probe start and sit in adjacent buckets: LPUSH, RPOP and LRANGE touch one stretch of memory
/// per eight elements instead of one random bucket each (a cache miss apiece in a big map).
/// The low 3 bits go into the tag bits that the map compares before a key (the top 7), so the
/// eight do not match each other's probes. Other member keys whose last 8 bytes look like a
/// sequence number (first byte 0x7f or 0x80, rare in text) group too: at most eight keys
/// share a probe start beyond chance.
#[derive(Clone, Default)]
pub(super) struct KeyHash {
    state: ahash::RandomState,
    grouped: bool,
}

impl KeyHash {
    /// The hash of the members maps, which groups neighbouring list elements.
    pub(super) fn grouped() -> KeyHash {
        KeyHash {
            grouped: true,
            ..Default::default()
        }
    }
}

impl std::hash::BuildHasher for KeyHash {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher {
            inner: self.state.build_hasher(),
            grouped: self.grouped,
            low: 0,
        }
    }
}

pub(super) struct KeyHasher {
    inner: ahash::AHasher,
    grouped: bool,
    low: u64,
}

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let split = bytes.len().checked_sub(8).filter(|_| self.grouped);
        let parts = split.map(|at| bytes.split_at(at));
        match parts.filter(|(_, tail)| matches!(tail[0], 0x7f | 0x80)) {
            Some((head, tail)) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(tail);
                let seq = u64::from_be_bytes(word);
                self.inner.write(head);
                self.inner.write_u64(seq >> 3);
                self.low = seq & 7;
            }
            None => self.inner.write(bytes),
        }
    }

    // A slice's length prefix arrives here: it must not be taken for a sub-key.
    fn write_usize(&mut self, n: usize) {
        self.inner.write_usize(n);
    }

    fn finish(&self) -> u64 {
        self.inner.finish() ^ (self.low << 57)
    }
}

/// Which of the two map families holds `key`: records and index entries, or members.
fn family(key: &[u8]) -> usize {
    (key.first() == Some(&super::keys::DATA)) as usize
}

/// Each family of maps is this many maps (shards), chosen by hash. A map grows by moving every
/// entry into a table twice the size at once: a shard holds a 64th of the entries, so its move
/// is a 64th of one big map's (and `grow_early` keeps the 64 moves from coming together).
const SHARDS: usize = 64;
/// Maps in all: both families' shards.
const SHARDS_TOTAL: usize = 2 * SHARDS;

/// The shard of `key` within its family, by a multiply-mix (a few nanoseconds; the maps' own
/// hash is keyed and costs more). A list element mixes its collection's version (the 8 bytes
/// before the sub-key) with its sequence number without the low 3 bits, so neighbouring
/// elements (see `KeyHash`) share a shard; any other key mixes every 8-byte word of itself.
/// Not keyed: keys made to share a shard only make that shard one big map again, as every map
/// was before sharding.
#[inline]
fn shard(key: &[u8]) -> usize {
    const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
    let word = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or_default());
    let f = family(key);
    let n = key.len();
    let x = if f == 1 && n >= 16 && matches!(key[n - 8], 0x7f | 0x80) {
        let seq = word(&key[n - 8..]) >> 3;
        (word(&key[n - 16..n - 8]) ^ seq.wrapping_mul(MIX)).wrapping_mul(MIX)
    } else if n >= 8 {
        // Whole words, then the last 8 bytes (overlapping the last whole word if need be).
        let mut x = 0u64;
        for chunk in key[..n - 8].chunks_exact(8) {
            x = (x ^ word(chunk)).wrapping_mul(MIX).rotate_left(29);
        }
        (x ^ word(&key[n - 8..])).wrapping_mul(MIX)
    } else {
        let mut last = [0u8; 8];
        last[..n].copy_from_slice(key);
        u64::from_be_bytes(last).wrapping_mul(MIX)
    };
    f * SHARDS + (x >> 58) as usize
}

pub struct Memtable {
    /// Records and index entries, then collection members (`d` keys): two families of
    /// `SHARDS` maps each, so the maps that GET, SET and INCR probe stay small and
    /// cache-friendly however many members the collections hold.
    maps: Vec<Map>,
    atomic: Option<Atomic>,
    /// Keys changed since the last swap with their latest values, so taking a batch needs no
    /// map lookups. Keys stay inline like the map's (no allocation per write).
    dirty: Batch,
    /// Emptied queues of written batches come back here (see `Swap`'s `drop`)...
    spare: (mpsc::Sender<Batch>, mpsc::Receiver<Batch>),
    /// ... and wait to become later queues (see `Spares`).
    spares: Spares<(MemKey, Option<IVec>)>,
    /// The write sequence number when the queue was last taken: slots written since are in it.
    taken: u64,
    /// Bytes written (keys and values) since the queue was last taken: with large values a
    /// queue must be handed over long before its entry count says so.
    queued_bytes: usize,
    bytes: usize,
    limit: usize,
    seq: u64,
    progress: Arc<Progress>,
    pipeline: Pipeline,
    /// After eviction went round every map without reaching its target (everything left was
    /// dirty or recently used): the applied mark and byte count then. No new pass runs until
    /// writes were applied or the map grew by a tenth of its budget, so a map full of
    /// unapplied writes does not rescan itself on every write.
    evict_stuck: Option<(u64, usize)>,
    /// Eviction's clock hand: the next map to sweep; and the applied mark with how many maps
    /// were swept in a row without freeing anything since it last moved (a whole round of
    /// such sweeps means stuck).
    hand: usize,
    swept: (u64, usize),
    /// Keys deleted by each submitted batch, with the batch's sequence number: dropped from the
    /// map once that batch is applied (`bury`).
    graves: VecDeque<(u64, Vec<MemKey>)>,
    /// Keys deleted through the map since the last swap: the next batch's graves. Collected
    /// as they are written, not by filtering the batch: index deletes queued around the map
    /// (`queue_only`) have no map entry to bury, and a big sorted set queues hundreds of
    /// thousands of them a second.
    deleted: Vec<MemKey>,
    /// Emptied graves vectors, to become later `deleted` ones (see `Spares`).
    spare_graves: Spares<MemKey>,
    journal: Arc<Journal>,
    /// Collection versions created by this process none of whose members was ever evicted:
    /// every member they have is in the map, so a miss means "no such member" without asking
    /// sled (new fields, set members and scores cost no disk read).
    resident: HashSet<u64, ahash::RandomState>,
}

/// Keys one `prefetch` call fetches at most: more would not be in the caches any more by the
/// time the commands that look them up run.
pub const PREFETCH_MAX: usize = 64;

/// Versions tracked as resident at most; past this the set starts over (only an optimization).
const RESIDENT_MAX: usize = 1 << 20;

/// A batch taken out of the memtable, to be written to sled (see `pipeline.rs`).
pub struct Swap {
    entries: Vec<(MemKey, Option<IVec>)>,
    /// The entries' count and size, as the pipeline's budget counts them.
    load: Load,
    /// Where the emptied entry vector goes back to, for the memtable's next queue.
    recycle: mpsc::Sender<Batch>,
    /// Written before the entries: how to roll back an atomic unit they are part of.
    undo: Option<Vec<(IVec, Option<IVec>)>>,
    upto: u64,
    /// In the journal: a restart would replay it (see `backlog.rs`).
    logged: Option<Logged>,
    /// In key order (`sort`).
    sorted: bool,
    journal: Arc<Journal>,
    tree: Tree,
}

type Batch = Vec<(MemKey, Option<IVec>)>;

/// Emptied vectors (write queues, graves) waiting to become later ones. A vector written for
/// the first time, or growing, makes the kernel zero fresh pages: a burst into a big sorted set
/// spent a fifth of the command thread doing that for its queues, and an RPOP burst a twentieth
/// for its graves. With every vector that can be in flight at once kept, a burst fills memory
/// the previous one already faulted in.
struct Spares<T> {
    kept: Vec<Vec<T>>,
}

impl<T> Default for Spares<T> {
    fn default() -> Self {
        Spares { kept: Vec::new() }
    }
}

impl<T> Spares<T> {
    /// An empty vector with room for `full` elements: the smallest kept one that has it, or a
    /// new one. Kept vectors too small, or beyond `keep` elements of room in all, are freed.
    fn take(&mut self, full: usize, keep: usize) -> Vec<T> {
        self.kept
            .sort_unstable_by_key(|v| std::cmp::Reverse(v.capacity()));
        let mut room = 0;
        self.kept.retain(|v| {
            let fits = v.capacity() >= full && room + v.capacity() <= keep;
            room += if fits { v.capacity() } else { 0 };
            fits
        });
        self.kept.pop().unwrap_or_else(|| Vec::with_capacity(full))
    }

    fn give(&mut self, mut v: Vec<T>) {
        v.clear();
        self.kept.push(v);
    }
}

impl Drop for Swap {
    /// A queue of a million writes is tens of megabytes; growing a fresh one for every batch
    /// made the kernel zero new pages for a tenth of the command thread's time. So the written
    /// batch's vector, emptied, becomes a later queue.
    fn drop(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.clear();
        let _ = self.recycle.send(entries);
    }
}

impl Swap {
    /// In key order, sled walks its tree sequentially: far fewer cache misses than in random
    /// order. Done once, after logging (or before an inline write), not under the keyspace
    /// lock: by the log thread unless a burst is on, else by the apply thread before indexing
    /// the batch (see `pipeline.rs`). Stable: a key written through `queue_only` may appear
    /// more than once, and the last write must win.
    pub fn sort(&mut self) {
        if !self.sorted {
            self.entries
                .sort_by(|a, b| a.0.as_slice().cmp(b.0.as_slice()));
            self.sorted = true;
        }
    }

    /// The write sequence number the batch brings sled up to.
    pub fn upto(&self) -> u64 {
        self.upto
    }

    /// Writes the batch to the journal as one value (and the undo record before it, if any):
    /// after a sled flush it is durable, and a restart replays it.
    pub fn log(&mut self) -> sled::Result<()> {
        if let Some(undo) = &self.undo {
            self.journal.put(UNDO, undo)?;
        }
        self.logged = Some(self.journal.log_batch(self.upto, &self.entries)?);
        Ok(())
    }

    pub fn is_logged(&self) -> bool {
        self.logged.is_some()
    }

    /// How many writes the batch holds.
    pub fn write_count(&self) -> usize {
        self.entries.len()
    }

    pub fn key(&self, i: usize) -> Option<&[u8]> {
        self.entries.get(i).map(|(k, _)| k.as_slice())
    }

    /// Write `i` is to a key sled did not have, with nothing pending for it (see `MemKey`).
    pub fn is_fresh(&self, i: usize) -> bool {
        self.entries.get(i).is_some_and(|(k, _)| k.is_fresh())
    }

    pub fn is_delete(&self, i: usize) -> bool {
        self.entries.get(i).is_some_and(|(_, v)| v.is_none())
    }

    /// Writes a logged batch (sorted, taken from `backlog`) to the tree, except writes a later
    /// one shadows, then drops its journal value. Reports to `progress` every `APPLY_CHUNK`
    /// entries; before each chunk it holds off while the server is busy, then takes in the
    /// batches logged meanwhile (more shadowed writes to skip).
    pub fn apply_tree(&mut self, progress: &Progress, backlog: &mut Backlog) -> sled::Result<()> {
        let mut res = Ok(());
        let mut skipped = 0;
        for start in (0..self.entries.len()).step_by(pipeline::APPLY_CHUNK) {
            let end = self.entries.len().min(start + pipeline::APPLY_CHUNK);
            if res.is_ok() {
                progress.hold_off();
                backlog.step();
                res = (start..end).try_for_each(|i| {
                    if backlog.skip(self, i) {
                        skipped += 1;
                        return Ok(());
                    }
                    write_entries(&self.tree, &self.entries[i..=i])
                });
            }
            // Counted even after a failure, so nobody waits forever on a lost batch.
            progress.update(|m| m.pending.sub(load_of(&self.entries[start..end])));
        }
        progress.skipped.fetch_add(skipped, Ordering::Relaxed);
        backlog.forget(self);
        res?;
        if let Some(at) = self.logged {
            self.journal.drop_batch(self.upto, at)?;
        }
        Ok(())
    }

    /// Writes the batch inline, journaled unless it is one small entry (see `write_journaled`).
    fn write_now(&mut self) -> sled::Result<()> {
        self.sort();
        if let Some(undo) = &self.undo {
            self.journal.put(UNDO, undo)?;
        }
        write_journaled(&self.journal, &self.tree, self.upto, &self.entries)
    }
}

/// How much of the pipeline's budget `entries` take.
fn load_of(entries: &[(MemKey, Option<IVec>)]) -> Load {
    Load {
        entries: entries.len(),
        bytes: entries
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()))
            .sum(),
    }
}

pub(super) fn write_entries<K: AsRef<[u8]>>(
    tree: &Tree,
    entries: &[(K, Option<IVec>)],
) -> sled::Result<()> {
    for (k, v) in entries {
        spill::write(tree, k.as_ref(), v.as_ref())?;
    }
    Ok(())
}

fn write_journaled(
    journal: &Journal,
    tree: &Tree,
    seq: u64,
    entries: &[(MemKey, Option<IVec>)],
) -> sled::Result<()> {
    let jk = journal::entry_key(seq);
    // One small entry is one sled insert, atomic on its own; a spilled value is several.
    let journaled = entries.len() > 1
        || entries
            .iter()
            .any(|(_, v)| v.as_ref().is_some_and(|v| spill::spills(v)));
    if journaled {
        journal.put(&jk, entries)?;
    }
    write_entries(tree, entries)?;
    if journaled {
        journal.remove(&jk)?;
    }
    Ok(())
}

impl Memtable {
    /// A memtable of `limit` bytes whose batches are journaled in `journal`.
    pub fn new(limit: usize, journal: Journal) -> Self {
        let progress = Arc::new(Progress::new(Load {
            entries: limit / 2 / ENTRY_ESTIMATE,
            bytes: limit / 2,
        }));
        let grouped = KeyHash::grouped();
        Memtable {
            maps: (0..SHARDS)
                .map(|_| Map::default())
                .chain((0..SHARDS).map(|_| Map::with_hasher(grouped.clone())))
                .collect(),
            atomic: None,
            dirty: Vec::new(),
            spare: mpsc::channel(),
            spares: Spares::default(),
            taken: 0,
            queued_bytes: 0,
            bytes: 0,
            limit,
            seq: 0,
            pipeline: Pipeline::start(progress.clone()),
            progress,
            evict_stuck: None,
            hand: 0,
            swept: (0, 0),
            graves: VecDeque::new(),
            deleted: Vec::new(),
            spare_graves: Spares::default(),
            journal: Arc::new(journal),
            resident: HashSet::default(),
        }
    }

    /// Declares a brand-new collection version: it has no members anywhere yet.
    pub fn mark_resident(&mut self, version: u64) {
        if self.resident.len() >= RESIDENT_MAX {
            self.resident.clear();
        }
        self.resident.insert(version);
    }

    /// The map that holds `key`: its family's shard (see `shard`).
    #[inline]
    fn shard(&self, key: &[u8]) -> usize {
        shard(key)
    }

    /// After a new entry in map `i`. A family's shards fill at the same rate, so left alone
    /// they would all reach the map's growth point together, and a doubling's 64 table moves
    /// would land in one stretch of commands (measured: replies held up 0.3 to 0.5 s at about
    /// 2 million list elements). So each shard grows a little early, at its own fraction of
    /// its capacity, from 5/8 (shard 0) to nearly full (the last): the moves of one doubling
    /// spread over the inserts that take the maps from 5/8 to full. Tables are emptier on
    /// average for it (at least 5/16 full instead of 7/16).
    #[inline]
    fn grow_early(&mut self, i: usize) {
        let map = &mut self.maps[i];
        let cap = map.capacity();
        let at = cap / 8 * 5 + cap / 8 * 3 * (i % SHARDS) / SHARDS;
        if cap >= 1024 && map.len() >= at {
            map.reserve(cap - map.len() + 1);
        }
    }

    /// A member key of a resident version: absent from the map means absent everywhere.
    fn known_absent(&self, key: &[u8]) -> bool {
        !self.resident.is_empty()
            && super::keys::member_version(key).is_some_and(|v| self.resident.contains(&v))
    }

    /// Calls `f` with the current value of `key` (loading it from sled on a miss), without
    /// handing the value around: for replies that copy many entries (LRANGE), where moving an
    /// `IVec` out through a `Result` costs more than the lookup.
    #[inline]
    pub fn get_with<R>(
        &mut self,
        tree: &Tree,
        key: &[u8],
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> sled::Result<R> {
        let i = self.shard(key);
        if let Some(slot) = self.maps[i].get_mut(key) {
            self.progress.tick();
            slot.used = true;
            return Ok(f(slot.val.as_deref()));
        }
        let v = self.get(tree, key)?;
        Ok(f(v.as_deref()))
    }

    /// The value the map holds for `key`, if it holds one: no load from sled, no mark of use.
    /// For hints (see `prefetch`), which must cost no disk read and change nothing.
    pub fn peek(&self, key: &[u8]) -> Option<&IVec> {
        self.maps[self.shard(key)].get(key)?.val.as_ref()
    }

    /// Starts bringing the map entries of `keys` (at most `PREFETCH_MAX`) into the CPU caches,
    /// for lookups to come: first every key's control bytes, then every key's entry, so their
    /// cache misses overlap (see `map.rs`).
    pub fn prefetch<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        let mut at = [(0usize, 0u64); PREFETCH_MAX];
        let mut n = 0;
        for (key, slot) in keys.zip(at.iter_mut()) {
            let i = self.shard(key);
            let hash = self.maps[i].hash(key);
            self.maps[i].prefetch_probe(hash);
            *slot = (i, hash);
            n += 1;
        }
        for &(i, hash) in &at[..n] {
            self.maps[i].prefetch_entry(hash);
        }
    }

    /// The current value of `key`, loading it from sled on a miss.
    pub fn get(&mut self, tree: &Tree, key: &[u8]) -> sled::Result<Option<IVec>> {
        self.progress.tick();
        let i = self.shard(key);
        if let Some(slot) = self.maps[i].get_mut(key) {
            slot.used = true;
            return Ok(slot.val.clone());
        }
        if self.known_absent(key) {
            return Ok(None);
        }
        let val = spill::get(tree, key)?;
        self.cache(MemKey::new(key), val.clone());
        Ok(val)
    }

    fn cache(&mut self, key: MemKey, val: Option<IVec>) {
        self.bytes += ENTRY_COST + heap(key.as_slice(), val.as_ref());
        let i = self.shard(key.as_slice());
        self.maps[i].insert(
            key,
            Slot {
                val,
                ver: 0,
                pos: 0,
                used: true,
                graved: false,
            },
        );
        self.grow_early(i);
        self.maybe_evict();
    }

    /// Sets (`Some`) or deletes (`None`) `key`, returning the previous value.
    pub fn put(
        &mut self,
        tree: &Tree,
        key: &[u8],
        val: Option<IVec>,
    ) -> sled::Result<Option<IVec>> {
        match self.write(key, val) {
            Some(old) => Ok(old),
            None if self.known_absent(key) => Ok(None),
            // Unknown to the map, so no queued or in-flight write touches it in sled: sled's
            // value is still the previous one, even after this write was queued.
            None => spill::get(tree, key),
        }
    }

    /// Sets or deletes `key` without learning its previous value (index and member entries).
    pub fn put_blind(&mut self, key: &[u8], val: Option<IVec>) {
        self.write(key, val);
    }

    /// Records a write and queues the key, in one map lookup. Returns the value the map held,
    /// or None when the key was not in the map.
    fn write(&mut self, key: &[u8], val: Option<IVec>) -> Option<Option<IVec>> {
        self.seq += 1;
        self.progress.tick();
        let shard = self.shard(key);
        if let Some(a) = &mut self.atomic {
            if !a.undo.contains_key(key) {
                let before = match self.maps[shard].get(key) {
                    Some(slot) => Before::Known(slot.val.clone()),
                    None => Before::Unknown,
                };
                a.undo.insert(key.to_vec(), before);
            }
        }
        let add = val.as_ref().map_or(0, |v| v.len());
        self.queued_bytes += key.len() + add;
        let delete = val.is_none();
        // One hash and one probe whether the key is new or not.
        let old = match self.maps[shard].entry(MemKey::new(key)) {
            Entry::Occupied(mut o) => {
                let queued = o.value().ver > self.taken;
                if !queued {
                    self.dirty.push((o.key().clone(), val.clone()));
                }
                let grave = delete && !(queued && o.value().graved);
                if grave {
                    self.deleted.push(o.key().clone());
                }
                let slot = o.value_mut();
                self.bytes = self.bytes + heap(key, val.as_ref()) - heap(key, slot.val.as_ref());
                if queued {
                    self.dirty[slot.pos as usize].1 = val.clone();
                } else {
                    slot.pos = (self.dirty.len() - 1) as u32;
                    slot.graved = false;
                }
                slot.graved |= grave;
                slot.ver = self.seq;
                slot.used = true;
                Some(std::mem::replace(&mut slot.val, val))
            }
            Entry::Vacant(v) => {
                self.bytes += ENTRY_COST + heap(key, val.as_ref());
                // A key the map does not hold: nothing pending writes it, so whether sled has
                // it is whether its collection version is resident (`known_absent`, inlined
                // for the borrow of `maps`).
                let fresh = !delete
                    && super::keys::member_version(key).is_some_and(|v| self.resident.contains(&v));
                let pos = self.dirty.len() as u32;
                self.dirty
                    .push((v.key().clone().marked_fresh(fresh), val.clone()));
                if delete {
                    self.deleted.push(v.key().clone());
                }
                v.insert(Slot {
                    val,
                    ver: self.seq,
                    pos,
                    used: true,
                    graved: delete,
                });
                None
            }
        };
        if old.is_none() {
            self.grow_early(shard);
        }
        self.progress
            .set_queued(self.dirty.len(), self.queued_bytes);
        self.maybe_evict();
        old
    }

    /// Queues a write of an entry that only ordered reads see (a sorted set's score index),
    /// without entering it in the map: no hash probe, no cache miss. Ordered reads `sync`
    /// first, so they see it; nothing reads such keys by point. The same key may then be
    /// queued more than once in a batch (written in queue order). `before` is the entry's value
    /// before this write, which the caller knows: an atomic unit's undo record needs it.
    ///
    /// A key written here must never be written through the map while such a write may still
    /// be queued (the map rewrites its queued entry in place, which would reorder the two).
    /// Index entries are written through the map only when their collection version is
    /// created (COPY, RENAME, MOVE), before any write through here.
    pub fn queue_only(&mut self, key: &[u8], val: Option<IVec>, before: Option<IVec>) {
        self.seq += 1;
        self.progress.tick();
        if let Some(a) = &mut self.atomic {
            if !a.undo.contains_key(key) {
                a.undo.insert(key.to_vec(), Before::Known(before));
            }
        }
        self.queued_bytes += key.len() + val.as_ref().map_or(0, |v| v.len());
        self.dirty.push((MemKey::new(key), val));
        self.progress
            .set_queued(self.dirty.len(), self.queued_bytes);
        self.maybe_evict();
    }

    pub fn dirty_count(&self) -> usize {
        self.dirty.len()
    }

    /// Entries held, the bytes they are counted at, and the budget (INFO memory).
    pub fn usage(&self) -> (usize, usize, usize) {
        let entries = self.maps.iter().map(|m| m.len()).sum();
        (entries, self.bytes, self.limit)
    }

    /// The queue holds an eighth of the budget, in entries or in bytes: time to hand it to the
    /// writer threads, in batches small enough that backpressure waits stay short.
    pub fn should_apply(&self) -> bool {
        self.dirty.len() * ENTRY_ESTIMATE > self.limit / 8 || self.queued_bytes > self.limit / 8
    }

    /// Takes every queued write as one batch, in key order. None when nothing is queued.
    fn take(&mut self, tree: &Tree) -> Option<Swap> {
        self.bury();
        if self.dirty.is_empty() {
            return None;
        }
        self.taken = self.seq;
        self.queued_bytes = 0;
        let next = self.next_queue();
        let entries = std::mem::replace(&mut self.dirty, next);
        self.progress.set_queued(0, 0);
        if !self.deleted.is_empty() {
            let (full, keep) = self.spare_sizes();
            let next = self.spare_graves.take(full, keep);
            let deleted = std::mem::replace(&mut self.deleted, next);
            self.graves.push_back((self.seq, deleted));
        }
        Some(Swap {
            load: load_of(&entries),
            entries,
            recycle: self.spare.0.clone(),
            undo: None,
            upto: self.seq,
            logged: None,
            sorted: false,
            journal: self.journal.clone(),
            tree: tree.clone(),
        })
    }

    /// An empty queue for the writes after a swap.
    fn next_queue(&mut self) -> Batch {
        for v in self.spare.1.try_iter() {
            self.spares.give(v);
        }
        let (full, keep) = self.spare_sizes();
        self.spares.take(full, keep)
    }

    /// For `Spares::take`: room for a whole batch (`should_apply`) and the commands that
    /// overshoot it, so a queue does not grow midway; and as many entries as may wait for the
    /// apply thread, plus the queue and a batch being logged (spares beyond that would only
    /// hold memory). A batch's graves are at most its entries.
    fn spare_sizes(&self) -> (usize, usize) {
        let full = self.limit / 8 / ENTRY_ESTIMATE * 5 / 4;
        (full, self.limit / 2 / ENTRY_ESTIMATE + 2 * full)
    }

    /// Forgets deletions sled has applied. A deleted key's entry only says "absent", which sled
    /// now says too; kept, such entries would pile up (every popped list element, every member
    /// of a dropped collection) and make the map grow and rehash without end.
    fn bury(&mut self) {
        let upto = self.progress.upto.load(Ordering::SeqCst);
        while self.graves.front().is_some_and(|(seq, _)| *seq <= upto) {
            let Some((_, mut keys)) = self.graves.pop_front() else {
                break;
            };
            for key in keys.drain(..) {
                let i = self.shard(key.as_slice());
                let map = &mut self.maps[i];
                if map
                    .get(key.as_slice())
                    .is_some_and(|s| s.val.is_none() && s.ver <= upto)
                {
                    map.remove(key.as_slice());
                    self.bytes = self
                        .bytes
                        .saturating_sub(ENTRY_COST + heap(key.as_slice(), None));
                }
            }
            self.spare_graves.give(keys);
        }
    }

    /// Hands every queued write to the writer threads (see `pipeline.rs`) and returns the write
    /// sequence number covered: once `Progress::wait_logged` passes it, a sled flush makes
    /// every write so far durable. Never waits for the apply thread: backpressure is the
    /// writers' business (`Progress::over_budget`), outside the keyspace lock.
    pub fn submit(&mut self, tree: &Tree) -> sled::Result<u64> {
        let Some(swap) = self.take(tree) else {
            return Ok(self.seq);
        };
        let (upto, load) = (swap.upto(), swap.load);
        self.progress.update(|m| {
            m.submitted = upto;
            m.pending.add(load);
        });
        if let Err(mut swap) = self.pipeline.send(swap) {
            let res = swap.write_now();
            self.progress.update(|m| {
                m.pending.sub(load);
                m.logged = m.logged.max(upto);
                m.applied = m.applied.max(upto);
            });
            res?;
        }
        Ok(self.seq)
    }

    /// Shared progress marks, to wait for durability without holding the keyspace lock.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// Opens an atomic unit: until `end_atomic`, inline applies are covered by an undo record.
    /// Inside an open unit (a script run by EXEC) it opens nothing and returns false: the
    /// outer unit covers the inner one, and only its opener ends it.
    pub fn begin_atomic(&mut self) -> bool {
        if self.atomic.is_some() {
            return false;
        }
        self.atomic = Some(Atomic::default());
        true
    }

    pub fn in_atomic(&self) -> bool {
        self.atomic.is_some()
    }

    /// Closes the atomic unit. If part of it reached sled, the rest is applied now and then the
    /// undo record removed; otherwise its writes stay queued, to reach sled in one batch.
    pub fn end_atomic(&mut self, tree: &Tree) -> sled::Result<()> {
        if self.close_atomic(tree)? {
            self.journal.remove(UNDO)?;
        }
        Ok(())
    }

    /// `end_atomic` up to removing the undo record; returns whether there is one. The unit
    /// stays open through its last inline apply, so the record is rewritten to cover that
    /// batch's keys too: a crash before the removal replays the batch and then rolls back all
    /// of it. (Closed first, the last batch went out under the previous record, and a crash
    /// there left the end of a transaction on disk without its beginning.)
    fn close_atomic(&mut self, tree: &Tree) -> sled::Result<bool> {
        let spilled = self.atomic.as_ref().is_some_and(|a| a.spilled);
        let res = if spilled { self.sync(tree) } else { Ok(()) };
        self.atomic = None;
        res.map(|()| spilled)
    }

    /// Makes sled current: applies everything queued, inline.
    pub fn sync(&mut self, tree: &Tree) -> sled::Result<()> {
        self.progress.wait_applied();
        let Some(mut swap) = self.take(tree) else {
            return Ok(());
        };
        if let Some(a) = &mut self.atomic {
            if !a.undo.is_empty() {
                // Every submitted batch is applied, so sled holds the value of every key the
                // map did not know.
                let mut undo = Vec::with_capacity(a.undo.len());
                for (k, before) in a.undo.iter_mut() {
                    if let Before::Unknown = before {
                        *before = Before::Known(spill::get(tree, k)?);
                    }
                    if let Before::Known(v) = before {
                        undo.push((IVec::from(&k[..]), v.clone()));
                    }
                }
                swap.undo = Some(undo);
                a.spilled = true;
            }
        }
        let upto = swap.upto();
        swap.write_now()?;
        self.progress.update(|m| {
            m.submitted = m.submitted.max(upto);
            m.logged = m.logged.max(upto);
            m.applied = m.applied.max(upto);
        });
        Ok(())
    }

    fn maybe_evict(&mut self) {
        if self.bytes <= self.limit {
            return;
        }
        if let Some((upto, bytes)) = self.evict_stuck {
            if upto == self.progress.upto.load(Ordering::SeqCst)
                && self.bytes < bytes + self.limit / 10
            {
                return;
            }
        }
        self.evict();
    }

    /// Drops clean entries until the map is back under 90% of its budget, sweeping at most
    /// `EVICT_MAPS` maps per call from where the last call stopped, so one call's work is a
    /// 32nd of the entries at most, however many millions the maps hold.
    fn evict(&mut self) {
        const EVICT_MAPS: usize = 4;
        let upto = self.progress.upto.load(Ordering::SeqCst);
        let target = self.limit / 10 * 9;
        let mut bytes = self.bytes;
        let resident = &mut self.resident;
        if self.swept.0 != upto {
            self.swept = (upto, 0);
        }
        // Second chance (CLOCK): a sweep spares, and clears, the mark of entries used since
        // the map's previous sweep; those not used again by the next one go then.
        for _ in 0..EVICT_MAPS {
            if bytes <= target {
                break;
            }
            let map = &mut self.maps[self.hand];
            self.hand = (self.hand + 1) % SHARDS_TOTAL;
            let before = bytes;
            map.retain(|k, slot| {
                // Not yet applied (queued or in the pipeline): sled does not have it yet.
                if bytes <= target || slot.ver > upto {
                    return true;
                }
                if std::mem::take(&mut slot.used) {
                    return true;
                }
                bytes -= ENTRY_COST + heap(k.as_slice(), slot.val.as_ref());
                if let Some(v) = super::keys::member_version(k.as_slice()) {
                    resident.remove(&v);
                }
                false
            });
            // Only a round of sweeps that frees nothing means stuck: a read-only workload
            // never moves the applied mark, and must still evict what it loads.
            self.swept.1 = if bytes < before { 0 } else { self.swept.1 + 1 };
            map.shrink();
        }
        self.bytes = bytes;
        let stuck = bytes > target && self.swept.1 >= SHARDS_TOTAL;
        self.evict_stuck = stuck.then_some((upto, bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary sled database, its keyspace tree and journal, and a 1 MiB memtable over them
    /// (the database is returned so that it lives as long as the test).
    fn fixture() -> (sled::Db, Tree, Journal, Memtable) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let journal = Journal::open(&db).unwrap();
        let m = Memtable::new(1 << 20, journal.clone());
        (db, tree, journal, m)
    }

    #[test]
    fn journal_roundtrips_sets_and_deletes() {
        let entries = vec![
            (IVec::from(&b"a"[..]), Some(IVec::from(&b"1"[..]))),
            (IVec::from(&b"b"[..]), None),
        ];
        assert_eq!(journal::decode(&journal::encode(&entries)), Some(entries));
    }

    #[test]
    fn replay_rolls_back_an_unfinished_atomic_unit() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let journal = Journal::open(&db).unwrap();
        tree.insert(b"a", &b"old"[..]).unwrap();
        let mut mem = Memtable::new(1 << 20, journal.clone());
        mem.begin_atomic();
        mem.put(&tree, b"a", Some(IVec::from(&b"new"[..]))).unwrap();
        mem.put_blind(b"b", Some(IVec::from(&b"x"[..])));
        // A range read midway applies the unit so far: an undo record covers it.
        mem.sync(&tree).unwrap();
        mem.put_blind(b"c", Some(IVec::from(&b"y"[..])));
        assert_eq!(tree.get(b"a").unwrap(), Some(IVec::from(&b"new"[..])));
        assert!(journal.get(UNDO).is_some());
        // Crash here: the unit is rolled back.
        assert_eq!(journal.replay(&tree).unwrap(), 1);
        assert_eq!(tree.get(b"a").unwrap(), Some(IVec::from(&b"old"[..])));
        assert_eq!(tree.get(b"b").unwrap(), None);
        assert!(journal.get(UNDO).is_none());
    }

    #[test]
    fn a_crash_after_the_last_apply_of_an_atomic_unit_rolls_all_of_it_back() {
        let (_db, tree, journal, mut mem) = fixture();
        tree.insert(b"a", &b"old"[..]).unwrap();
        tree.insert(b"c", &b"old"[..]).unwrap();
        mem.begin_atomic();
        mem.put(&tree, b"a", Some(IVec::from(&b"new"[..]))).unwrap();
        mem.sync(&tree).unwrap();
        // Written only after the midway apply: the last apply's batch holds them.
        mem.put(&tree, b"c", Some(IVec::from(&b"new"[..]))).unwrap();
        mem.put_blind(b"d", Some(IVec::from(&b"new"[..])));
        // The unit's end, cut short before its undo record is removed.
        assert!(mem.close_atomic(&tree).unwrap());
        assert_eq!(tree.get(b"c").unwrap(), Some(IVec::from(&b"new"[..])));
        journal.replay(&tree).unwrap();
        assert_eq!(tree.get(b"a").unwrap(), Some(IVec::from(&b"old"[..])));
        assert_eq!(tree.get(b"c").unwrap(), Some(IVec::from(&b"old"[..])));
        assert_eq!(tree.get(b"d").unwrap(), None);
    }

    #[test]
    fn a_finished_atomic_unit_leaves_no_undo_record() {
        let (_db, tree, journal, mut mem) = fixture();
        mem.begin_atomic();
        mem.put_blind(b"a", Some(IVec::from(&b"1"[..])));
        mem.sync(&tree).unwrap();
        mem.put_blind(b"b", Some(IVec::from(&b"2"[..])));
        mem.end_atomic(&tree).unwrap();
        assert_eq!(tree.get(b"b").unwrap(), Some(IVec::from(&b"2"[..])));
        assert!(journal.get(UNDO).is_none());
        assert_eq!(journal.replay(&tree).unwrap(), 0);
    }

    #[test]
    fn submitted_batches_reach_the_tree_in_order_and_leave_no_journal() {
        let (_db, tree, journal, mut m) = fixture();
        let mut last = 0;
        for round in 0..50u32 {
            for k in 0..100u32 {
                let v = (round * 1000 + k).to_be_bytes();
                m.put_blind(&k.to_be_bytes(), Some(IVec::from(&v[..])));
            }
            last = m.submit(&tree).unwrap();
        }
        m.progress().wait_logged(last).unwrap();
        m.progress().wait_applied();
        for k in 0..100u32 {
            let want = (49 * 1000 + k).to_be_bytes();
            assert_eq!(
                tree.get(k.to_be_bytes()).unwrap(),
                Some(IVec::from(&want[..]))
            );
        }
        assert!(journal.is_empty());
        assert_eq!(m.progress().marks().pending.entries, 0);
    }

    #[test]
    fn a_large_batch_is_applied_and_its_journal_tree_dropped() {
        let (db, tree, journal, mut m) = fixture();
        let value = IVec::from(vec![b'v'; 1000]);
        for k in 0..200u32 {
            m.put_blind(&k.to_be_bytes(), Some(value.clone()));
        }
        let last = m.submit(&tree).unwrap();
        m.progress().wait_logged(last).unwrap();
        m.progress().wait_applied();
        assert_eq!(tree.len(), 200);
        assert!(journal.is_empty());
        assert!(!db.tree_names().iter().any(|n| n.starts_with(b"journal/")));
    }

    #[test]
    fn a_busy_server_does_not_hold_off_a_reader_waiting_for_the_tree() {
        let (_db, tree, _, mut m) = fixture();
        m.put_blind(b"a", Some(IVec::from(&b"1"[..])));
        m.submit(&tree).unwrap();
        // Commands keep the memtable busy: the apply thread would hold off.
        let progress = m.progress();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let busy = {
            let (progress, stop) = (progress.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    progress.tick();
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        let started = std::time::Instant::now();
        m.sync(&tree).unwrap();
        let waited = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        busy.join().unwrap();
        assert_eq!(tree.get(b"a").unwrap(), Some(IVec::from(&b"1"[..])));
        assert!(
            waited < std::time::Duration::from_secs(1),
            "waited {waited:?}"
        );
    }

    #[test]
    fn queue_only_writes_of_one_key_reach_the_tree_in_write_order() {
        let (_db, tree, _, mut m) = fixture();
        // Index entries flip between present and absent many times within one batch, among
        // other keys: the batch is sorted, and only the last write of each may win.
        for i in 0..2000u32 {
            let v = (i % 2 == 0).then(|| IVec::from(&i.to_be_bytes()[..]));
            m.queue_only(b"k", v, None);
            m.queue_only(&i.to_be_bytes(), Some(IVec::from(&b"x"[..])), None);
        }
        m.queue_only(b"gone", Some(IVec::default()), None);
        m.queue_only(b"gone", None, Some(IVec::default()));
        m.submit(&tree).unwrap();
        m.sync(&tree).unwrap();
        assert_eq!(tree.get(b"k").unwrap(), None);
        assert_eq!(tree.get(b"gone").unwrap(), None);
        m.queue_only(b"k", Some(IVec::from(&b"last"[..])), None);
        m.sync(&tree).unwrap();
        assert_eq!(tree.get(b"k").unwrap(), Some(IVec::from(&b"last"[..])));
    }

    fn iv(v: &[u8]) -> Option<IVec> {
        Some(IVec::from(v))
    }

    #[test]
    fn writes_shadowed_by_later_logged_writes_never_reach_the_tree() {
        let (_db, tree, journal, mut m) = fixture();
        for k in [b"a", b"b", b"c"] {
            m.put_blind(k, iv(b"1"));
        }
        let mut first = m.take(&tree).unwrap();
        first.log().unwrap();
        m.put_blind(b"a", iv(b"2"));
        m.put_blind(b"b", None);
        // Within one batch too: an index entry added, then removed.
        m.queue_only(b"i", iv(b"x"), None);
        m.queue_only(b"i", None, iv(b"x"));
        let mut second = m.take(&tree).unwrap();
        second.log().unwrap();
        m.put_blind(b"c", iv(b"3"));
        // Not logged (its journal write failed): it must not shadow anything.
        let third = m.take(&tree).unwrap();

        let (tx, rx) = mpsc::channel();
        for swap in [first, second, third] {
            tx.send(swap).unwrap();
        }
        let progress = Progress::new(Load {
            entries: 1000,
            bytes: 1 << 20,
        });
        let mut backlog = Backlog::new(rx);
        let mut oldest = backlog.oldest(&progress).unwrap();
        oldest.apply_tree(&progress, &mut backlog).unwrap();
        assert_eq!(tree.get(b"a").unwrap(), None);
        assert_eq!(tree.get(b"b").unwrap(), None);
        assert_eq!(tree.get(b"c").unwrap(), iv(b"1"));
        assert_eq!(progress.skipped.load(Ordering::Relaxed), 2);

        // A crash here: the journal still holds the shadowing batch, which the restart
        // applies (the unlogged third one is lost, as an unflushed write is).
        assert_eq!(journal.replay(&tree).unwrap(), 1);
        assert_eq!(tree.get(b"a").unwrap(), iv(b"2"));
        assert_eq!(tree.get(b"b").unwrap(), None);
        assert_eq!(tree.get(b"i").unwrap(), None);
        assert_eq!(tree.get(b"c").unwrap(), iv(b"1"));

        // Without the crash, the rest of the backlog ends in the same state plus the third.
        let mut second = backlog.oldest(&progress).unwrap();
        second.apply_tree(&progress, &mut backlog).unwrap();
        assert_eq!(progress.skipped.load(Ordering::Relaxed), 3);
        let mut third = backlog.oldest(&progress).unwrap();
        third.apply_tree(&progress, &mut backlog).unwrap();
        assert_eq!(tree.get(b"a").unwrap(), iv(b"2"));
        assert_eq!(tree.get(b"c").unwrap(), iv(b"3"));
        assert_eq!(tree.get(b"i").unwrap(), None);
        assert!(journal.is_empty());
    }

    /// Batches larger than an indexing step are indexed a step at a time while the older one
    /// is applied: writes applied before their shadowing batch was indexed are merely not
    /// skipped, and the tree ends exactly as the last writes left it.
    #[test]
    fn batches_indexed_in_steps_still_end_with_the_last_writes() {
        let (_db, tree, journal, mut m) = fixture();
        let key = |i: u32| format!("k{i:06}").into_bytes();
        let n = 40_000;
        let mut swaps = Vec::new();
        for round in [&b"1"[..], b"2"] {
            for i in 0..n {
                m.put_blind(&key(i), iv(round));
            }
            let mut swap = m.take(&tree).unwrap();
            swap.log().unwrap();
            swap.sort();
            swaps.push(swap);
        }
        let (tx, rx) = mpsc::channel();
        for swap in swaps {
            tx.send(swap).unwrap();
        }
        drop(tx);
        let progress = Progress::new(Load {
            entries: 1 << 20,
            bytes: 1 << 30,
        });
        let mut backlog = Backlog::new(rx);
        while let Some(mut swap) = backlog.oldest(&progress) {
            swap.apply_tree(&progress, &mut backlog).unwrap();
        }
        let skipped = progress.skipped.load(Ordering::Relaxed);
        assert!(skipped > 0 && skipped < n as u64, "skipped {skipped}");
        for i in 0..n {
            assert_eq!(tree.get(key(i)).unwrap(), iv(b"2"));
        }
        assert!(journal.is_empty());
    }

    /// A member entry key of collection `key` at `version` (see `keys::member_version`).
    fn member(key: &[u8], version: u64, member: &[u8]) -> Vec<u8> {
        let mut k = vec![super::super::keys::DATA, 0, 0, 0];
        k.extend_from_slice(&(key.len() as u32).to_be_bytes());
        k.extend_from_slice(key);
        k.extend_from_slice(&version.to_be_bytes());
        k.extend_from_slice(member);
        k
    }

    #[test]
    fn a_new_member_written_and_deleted_within_the_backlog_costs_the_tree_nothing() {
        let (_db, tree, _, mut m) = fixture();
        // A collection created by this process: sled has none of its members.
        m.mark_resident(7);
        let new = member(b"list", 7, b"e1");
        // One sled has (an older collection): its delete must reach the tree.
        let old = member(b"hash", 3, b"f1");
        tree.insert(&old, &b"v0"[..]).unwrap();
        m.put_blind(&new, iv(b"x"));
        m.put_blind(&old, iv(b"v1"));
        let mut batches = vec![m.take(&tree).unwrap()];
        m.put_blind(&new, None);
        m.put_blind(&old, None);
        batches.push(m.take(&tree).unwrap());
        let (tx, rx) = mpsc::channel();
        for mut swap in batches {
            swap.log().unwrap();
            tx.send(swap).unwrap();
        }
        let progress = Progress::new(Load {
            entries: 1000,
            bytes: 1 << 20,
        });
        let mut backlog = Backlog::new(rx);
        for _ in 0..2 {
            let mut swap = backlog.oldest(&progress).unwrap();
            swap.apply_tree(&progress, &mut backlog).unwrap();
        }
        assert_eq!(tree.get(&new).unwrap(), None);
        assert_eq!(tree.get(&old).unwrap(), None);
        // Both writes of the new member, and the overwritten write of the old one.
        assert_eq!(progress.skipped.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_logged_batch_is_replayed_even_if_never_applied() {
        let (_db, tree, journal, mut m) = fixture();
        m.put_blind(b"a", Some(IVec::from(&b"1"[..])));
        let mut swap = m.take(&tree).unwrap();
        swap.log().unwrap();
        // Crash before the apply step: the restart completes the batch.
        assert_eq!(journal.replay(&tree).unwrap(), 1);
        assert_eq!(tree.get(b"a").unwrap(), Some(IVec::from(&b"1"[..])));
    }

    #[test]
    fn eviction_spares_keys_used_since_the_last_pass() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let mut m = Memtable::new(64 * 1024, Journal::open(&db).unwrap());
        m.put_blind(b"hot", Some(IVec::from(&b"v"[..])));
        m.sync(&tree).unwrap();
        // A bulk load many times the budget streams through; the hot key is read meanwhile.
        for i in 0..20_000u32 {
            m.put_blind(&i.to_be_bytes(), Some(IVec::from(&[0u8; 16][..])));
            if i % 20 == 0 {
                assert!(
                    m.maps[m.shard(b"hot")].contains_key(&b"hot"[..]),
                    "hot key evicted at {i}"
                );
                m.get(&tree, b"hot").unwrap();
            }
            if i % 100 == 0 {
                m.sync(&tree).unwrap();
            }
        }
        // Cold entries did go: the map stayed near its budget.
        let kept: usize = m.maps.iter().map(|m| m.len()).sum();
        assert!(kept < 2_000, "{kept} entries kept");
    }

    #[test]
    fn reads_alone_keep_the_map_within_its_budget() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        for i in 0..100_000u32 {
            tree.insert(i.to_be_bytes(), &b"v"[..]).unwrap();
        }
        let mut m = Memtable::new(256 * 1024, Journal::open(&db).unwrap());
        // Nothing is written, so the applied mark never moves: eviction must not take that
        // for "everything left is dirty" (it once did, and the map grew to hold every key).
        for round in 0..3 {
            for i in 0..100_000u32 {
                assert_eq!(
                    m.get(&tree, &i.to_be_bytes()).unwrap().as_deref(),
                    Some(&b"v"[..])
                );
            }
            let kept: usize = m.maps.iter().map(|m| m.len()).sum();
            assert!(
                m.bytes <= m.limit,
                "round {round}: {} bytes counted",
                m.bytes
            );
            assert!(
                kept * ENTRY_COST <= m.limit,
                "round {round}: {kept} entries kept"
            );
        }
        // And the tables gave their room back as they emptied.
        let buckets: usize = m.maps.iter().map(|m| m.capacity()).sum();
        assert!(buckets * ENTRY_COST / 2 < 2 * m.limit, "{buckets} buckets");
    }

    #[test]
    fn replay_completes_interrupted_batches_in_sequence_order() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let journal = Journal::open(&db).unwrap();
        tree.insert(b"gone", &b"x"[..]).unwrap();
        let set = |k: &[u8], v: &[u8]| (IVec::from(k), Some(IVec::from(v)));
        // Pipelined batches, a large one in a tree of its own, and an inline one, mixed.
        let big = vec![b'z'; 100 << 10];
        let at = journal.log_batch(5, &[set(b"new", &big)]).unwrap();
        assert_eq!(at, Logged::OwnTree);
        let inline = vec![set(b"new", b"v"), (IVec::from(&b"gone"[..]), None)];
        journal.put(&journal::entry_key(7), &inline).unwrap();
        let at = journal.log_batch(9, &[set(b"late", b"z")]).unwrap();
        assert_eq!(at, Logged::Entry);
        // A journal left inside the keyspace tree by an earlier version is replayed too.
        let legacy = vec![set(b"old", b"w")];
        tree.insert(journal::entry_key(3), journal::encode(&legacy))
            .unwrap();
        assert!(!journal.is_empty());
        assert_eq!(journal.replay(&tree).unwrap(), 4);
        assert_eq!(tree.get(b"new").unwrap(), Some(IVec::from(&b"v"[..])));
        assert_eq!(tree.get(b"late").unwrap(), Some(IVec::from(&b"z"[..])));
        assert_eq!(tree.get(b"old").unwrap(), Some(IVec::from(&b"w"[..])));
        assert_eq!(tree.get(b"gone").unwrap(), None);
        assert!(tree.scan_prefix([journal::JOURNAL]).next().is_none());
        assert!(journal.is_empty());
    }

    /// A list element's key: some member prefix, then its sequence number.
    fn element(seq: u64) -> Vec<u8> {
        let mut k = b"d\0\0\0\0\0\0\x06mylist\0\0\0\0\0\0\0\x07".to_vec();
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }

    #[test]
    fn neighbouring_list_elements_share_a_probe_start_but_not_a_tag() {
        use std::hash::BuildHasher;
        let h = KeyHash {
            grouped: true,
            ..Default::default()
        };
        let hash = |k: &[u8]| h.hash_one(k);
        let start = |x: u64| x & ((1 << 57) - 1);
        let tag = |x: u64| x >> 57;
        let first = hash(&element(crate::types::list::MID));
        for i in 1..8 {
            let other = hash(&element(crate::types::list::MID + i));
            assert_eq!(start(other), start(first));
            assert_ne!(tag(other), tag(first));
        }
        // The next eight start elsewhere; so do the eight before (below MID: first byte 0x7f).
        assert_ne!(
            start(hash(&element(crate::types::list::MID + 8))),
            start(first)
        );
        let below = hash(&element(crate::types::list::MID - 8));
        assert_ne!(start(below), start(first));
        assert_eq!(
            start(hash(&element(crate::types::list::MID - 1))),
            start(below)
        );
        // A stored key hashes as the slice it holds (lookups go by slice).
        let k = element(crate::types::list::MID + 3);
        assert_eq!(h.hash_one(MemKey::new(&k)), hash(&k));
    }

    #[test]
    fn text_members_and_the_records_map_hash_every_byte() {
        use std::hash::BuildHasher;
        let grouped = KeyHash {
            grouped: true,
            ..Default::default()
        };
        let plain = KeyHash::default();
        let start = |x: u64| x & ((1 << 57) - 1);
        for h in [&grouped, &plain] {
            let a = h.hash_one(&b"d\0\0\0\0\0\0\x01h\0\0\0\0\0\0\0\x01field:00"[..]);
            let b = h.hash_one(&b"d\0\0\0\0\0\0\x01h\0\0\0\0\0\0\0\x01field:01"[..]);
            assert_ne!(start(a), start(b));
        }
        let a = plain.hash_one(&element(crate::types::list::MID)[..]);
        let b = plain.hash_one(&element(crate::types::list::MID + 1)[..]);
        assert_ne!(start(a), start(b));
    }

    #[test]
    fn shards_keep_list_neighbours_together_and_spread_everything_else() {
        let mid = crate::types::list::MID;
        let first = shard(&element(mid));
        for i in 1..8 {
            assert_eq!(shard(&element(mid + i)), first);
        }
        let elements: HashSet<usize> = (0..10_000).map(|i| shard(&element(mid + 8 * i))).collect();
        assert_eq!(elements.len(), SHARDS);
        assert!(elements.iter().all(|s| (SHARDS..2 * SHARDS).contains(s)));
        let records: HashSet<usize> = (0..10_000)
            .map(|i| shard(format!("m\0\x12\x34key:{i:012}").as_bytes()))
            .collect();
        assert_eq!(records.len(), SHARDS);
        assert!(records.iter().all(|s| *s < SHARDS));
        // Fields that differ only at their start still spread.
        let fields: HashSet<usize> = (0..10_000)
            .map(|i| shard(format!("d\0\x12\x34\0\0\0\x01h{i}:created_at").as_bytes()))
            .collect();
        assert_eq!(fields.len(), SHARDS);
    }

    #[test]
    fn shards_of_a_family_do_not_all_grow_at_once() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let mut m = Memtable::new(1 << 30, Journal::open(&db).unwrap());
        let caps = |m: &Memtable| m.maps.iter().map(|m| m.capacity()).collect::<Vec<_>>();
        let mut before = caps(&m);
        let mut growths = Vec::new();
        for i in 0..400_000u32 {
            m.put_blind(format!("k:{i}").as_bytes(), Some(IVec::from(&b"v"[..])));
            let now = caps(&m);
            let grown = before
                .iter()
                .zip(&now)
                .filter(|(b, n)| n > b && **b >= 1024);
            growths.extend(grown.map(|_| i));
            before = now;
        }
        // Every 2,000 inserts, at most a few of the 64 tables move (all 64 did, unstaggered).
        let crowded = growths.windows(9).find(|w| w[8] - w[0] < 2_000);
        assert!(growths.len() >= SHARDS, "only {} growths", growths.len());
        assert!(crowded.is_none(), "nine tables grew within {crowded:?}");
    }
}
