//! Write-behind record cache in front of sled.
//!
//! sled costs microseconds per operation; Redis answers in a fraction of that. So commands work
//! against an in-memory map of stored keys: reads are served from it (loading from sled on a
//! miss), writes land in it and are queued. The queue is applied to sled as one atomic `Batch`
//! ("a swap") by the background flusher, on another thread, or inline when a command needs sled
//! to be current (range scans) or the queue grows too big.
//!
//! Every swap happens under the keyspace lock, between commands, so a batch always holds whole
//! commands. A batch is applied through a journal: first the whole batch is written as one sled
//! value under `j | seq` in a tree of its own, then each entry, then the journal value is removed;
//! `Store::open` replays journals left by a crash. The journal tree is separate because a batch can
//! be megabytes: sled stores a node that large as a blob file and rewrites it on every change, so a
//! journal sharing leaves with the keyspace would be rewritten by each entry of its own batch. sled recovers a prefix of its log, so a crash never leaves half a
//! command (or half a transaction) on disk. (sled's own `apply_batch` would do this too, but it
//! holds a global lock that stalls every concurrent read for the whole batch.)
//!
//! A transaction (EXEC) may need sled current midway (a range read applies the queue inline),
//! which would put part of it on disk. So while an atomic unit is open the memtable remembers
//! the value each key had before the unit first wrote it; an inline apply first writes those
//! values as one undo record (`u` in the journal tree), and the unit's end applies the rest and
//! removes the record. After a crash, `replay_journal` completes interrupted batches and then
//! rolls an unfinished unit back: the transaction is entirely absent.
//!
//! Batches are applied in swap order; `applied` is the write sequence number up to which sled is
//! current. Entries whose latest write is applied are clean and may be evicted to respect the
//! memory budget; dirty entries stay until applied.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use sled::{IVec, Tree};

/// Per-entry bookkeeping overhead counted against the budget (map slot, allocations).
const OVERHEAD: usize = 64;
/// Rough size of a queued entry, to compare the queue with the memory budget.
const ENTRY_ESTIMATE: usize = 128;

/// A map key that keeps stored keys of up to 46 bytes inline (a Redis key of up to 42 bytes plus
/// its 4-byte prefix), so a lookup compares keys without chasing a pointer.
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
            MemKey::Inline { len, buf } => &buf[..*len as usize],
            MemKey::Heap(b) => b,
        }
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
    /// Write sequence of the latest change; 0 for values loaded from sled.
    ver: u64,
    /// In the dirty queue (changed since the last swap).
    queued: bool,
    /// Read or written since the last eviction pass: spared once (a CLOCK's reference bit), so
    /// hot keys stay while a bulk load streams through.
    used: bool,
}

/// State shared with the thread applying a swapped batch.
#[derive(Default)]
struct Applied {
    /// sled holds every write with a sequence number up to this.
    upto: AtomicU64,
    /// True while a swapped batch is being applied outside the keyspace lock.
    in_flight: Mutex<bool>,
    done: Condvar,
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

/// The journal-tree key of the undo record of an unfinished atomic unit.
const UNDO: &[u8] = b"u";

pub struct Memtable {
    map: HashMap<MemKey, Slot, ahash::RandomState>,
    atomic: Option<Atomic>,
    dirty: Vec<IVec>,
    bytes: usize,
    limit: usize,
    seq: u64,
    applied: Arc<Applied>,
    journal: Tree,
    /// Collection versions created by this process none of whose members was ever evicted:
    /// every member they have is in the map, so a miss means "no such member" without asking
    /// sled (new fields, set members and scores cost no disk read).
    resident: HashSet<u64, ahash::RandomState>,
}

/// Versions tracked as resident at most; past this the set starts over (only an optimization).
const RESIDENT_MAX: usize = 1 << 20;

/// A batch taken out of the memtable, to be written to sled.
pub struct Swap {
    entries: Vec<(IVec, Option<IVec>)>,
    /// Written before the entries: how to roll back an atomic unit they are part of.
    undo: Option<Vec<(IVec, Option<IVec>)>>,
    upto: u64,
    applied: Arc<Applied>,
    journal: Tree,
}

pub const JOURNAL: u8 = b'j';

impl Swap {
    /// Writes the batch to sled through the journal (blocking) and publishes that it is applied.
    pub fn apply(self, tree: &Tree) -> sled::Result<()> {
        let res = match &self.undo {
            Some(undo) => self.journal.insert(UNDO, encode_journal(undo)).map(|_| ()),
            None => Ok(()),
        }
        .and_then(|_| write_journaled(&self.journal, tree, self.upto, &self.entries));
        if res.is_ok() {
            self.applied.upto.fetch_max(self.upto, Ordering::SeqCst);
        }
        let mut busy = self
            .applied
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *busy = false;
        self.applied.done.notify_all();
        res
    }
}

fn journal_key(seq: u64) -> [u8; 9] {
    let mut k = [JOURNAL; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn write_journaled(
    journal: &Tree,
    tree: &Tree,
    seq: u64,
    entries: &[(IVec, Option<IVec>)],
) -> sled::Result<()> {
    let jk = journal_key(seq);
    if entries.len() > 1 {
        journal.insert(jk, encode_journal(entries))?;
    }
    for (k, v) in entries {
        match v {
            Some(v) => tree.insert(k, v.clone())?,
            None => tree.remove(k)?,
        };
    }
    if entries.len() > 1 {
        journal.remove(jk)?;
    }
    Ok(())
}

/// `[present:u8 keylen:u32 key (vallen:u32 val)?]*`
fn encode_journal(entries: &[(IVec, Option<IVec>)]) -> Vec<u8> {
    let size: usize = entries
        .iter()
        .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, |v| v.len()))
        .sum();
    let mut out = Vec::with_capacity(size);
    for (k, v) in entries {
        out.push(v.is_some() as u8);
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        if let Some(v) = v {
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v);
        }
    }
    out
}

fn decode_journal(mut b: &[u8]) -> Option<Vec<(IVec, Option<IVec>)>> {
    let mut out = Vec::new();
    let take = |b: &mut &[u8], n: usize| -> Option<Vec<u8>> {
        let (head, rest) = (b.get(..n)?, b.get(n..)?);
        *b = rest;
        Some(head.to_vec())
    };
    while !b.is_empty() {
        let present = take(&mut b, 1)?[0] == 1;
        let klen = u32::from_be_bytes(take(&mut b, 4)?.try_into().ok()?) as usize;
        let key = take(&mut b, klen)?;
        let val = if present {
            let vlen = u32::from_be_bytes(take(&mut b, 4)?.try_into().ok()?) as usize;
            Some(IVec::from(take(&mut b, vlen)?))
        } else {
            None
        };
        out.push((IVec::from(key), val));
    }
    Some(out)
}

/// Completes batches a crash interrupted. Run at open, before anything reads the tree. Journals
/// written inside the keyspace tree (by earlier versions) are replayed first.
pub fn replay_journal(journal: &Tree, tree: &Tree) -> sled::Result<usize> {
    let mut replayed = 0;
    for source in [tree, journal] {
        for item in source.scan_prefix([JOURNAL]) {
            let (jk, blob) = item?;
            if let Some(entries) = decode_journal(&blob) {
                for (k, v) in entries {
                    match v {
                        Some(v) => tree.insert(k, v)?,
                        None => tree.remove(k)?,
                    };
                }
            }
            source.remove(jk)?;
            replayed += 1;
        }
    }
    // A transaction cut short: restore what its keys held before it.
    if let Some(blob) = journal.get(UNDO)? {
        for (k, v) in decode_journal(&blob).unwrap_or_default() {
            match v {
                Some(v) => tree.insert(k, v)?,
                None => tree.remove(k)?,
            };
        }
        journal.remove(UNDO)?;
        replayed += 1;
    }
    Ok(replayed)
}

impl Memtable {
    /// A memtable of `limit` bytes whose batches are journaled in `journal`.
    pub fn new(limit: usize, journal: Tree) -> Self {
        Memtable {
            map: HashMap::default(),
            atomic: None,
            dirty: Vec::new(),
            bytes: 0,
            limit,
            seq: 0,
            applied: Arc::default(),
            journal,
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

    /// A member key of a resident version: absent from the map means absent everywhere.
    fn known_absent(&self, key: &[u8]) -> bool {
        !self.resident.is_empty()
            && super::keys::member_version(key).is_some_and(|v| self.resident.contains(&v))
    }

    /// The current value of `key`, loading it from sled on a miss.
    pub fn get(&mut self, tree: &Tree, key: &[u8]) -> sled::Result<Option<IVec>> {
        if let Some(slot) = self.map.get_mut(key) {
            slot.used = true;
            return Ok(slot.val.clone());
        }
        if self.known_absent(key) {
            return Ok(None);
        }
        let val = tree.get(key)?;
        self.cache(MemKey::new(key), val.clone());
        Ok(val)
    }

    fn cache(&mut self, key: MemKey, val: Option<IVec>) {
        self.bytes += key.len() + val.as_ref().map_or(0, |v| v.len()) + OVERHEAD;
        self.map.insert(
            key,
            Slot {
                val,
                ver: 0,
                queued: false,
                used: true,
            },
        );
        if self.bytes > self.limit {
            self.evict();
        }
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
            None => tree.get(key),
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
        if let Some(a) = &mut self.atomic {
            if !a.undo.contains_key(key) {
                let before = match self.map.get(key) {
                    Some(slot) => Before::Known(slot.val.clone()),
                    None => Before::Unknown,
                };
                a.undo.insert(key.to_vec(), before);
            }
        }
        let add = val.as_ref().map_or(0, |v| v.len());
        let old = match self.map.get_mut(key) {
            Some(slot) => {
                self.bytes = self.bytes + add - slot.val.as_ref().map_or(0, |v| v.len());
                slot.ver = self.seq;
                slot.used = true;
                if !slot.queued {
                    slot.queued = true;
                    self.dirty.push(IVec::from(key));
                }
                Some(std::mem::replace(&mut slot.val, val))
            }
            None => {
                self.bytes += key.len() + add + OVERHEAD;
                self.map.insert(
                    MemKey::new(key),
                    Slot {
                        val,
                        ver: self.seq,
                        queued: true,
                        used: true,
                    },
                );
                self.dirty.push(IVec::from(key));
                None
            }
        };
        if self.bytes > self.limit {
            self.evict();
        }
        old
    }

    pub fn dirty_count(&self) -> usize {
        self.dirty.len()
    }

    /// The queue holds a quarter of the budget: time to apply it in the background.
    pub fn should_apply(&self) -> bool {
        self.dirty.len() * ENTRY_ESTIMATE > self.limit / 4
    }

    /// The queue holds half of the budget: apply it inline, bounding memory under write bursts.
    pub fn too_dirty(&self) -> bool {
        self.dirty.len() * ENTRY_ESTIMATE > self.limit / 2
    }

    /// Takes every queued write as one batch. Waits for a previous batch still being applied, so
    /// batches reach sled in order. None when nothing is queued.
    pub fn swap(&mut self) -> Option<Swap> {
        self.wait_applied();
        if self.dirty.is_empty() {
            return None;
        }
        let mut entries = Vec::with_capacity(self.dirty.len());
        for key in self.dirty.drain(..) {
            if let Some(slot) = self.map.get_mut(&key[..]) {
                slot.queued = false;
                entries.push((key, slot.val.clone()));
            }
        }
        // In key order, sled walks its tree sequentially: far fewer cache misses than random order.
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        *self
            .applied
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = true;
        Some(Swap {
            entries,
            undo: None,
            upto: self.seq,
            applied: self.applied.clone(),
            journal: self.journal.clone(),
        })
    }

    /// Opens an atomic unit: until `end_atomic`, inline applies are covered by an undo record.
    pub fn begin_atomic(&mut self) {
        self.atomic = Some(Atomic::default());
    }

    pub fn in_atomic(&self) -> bool {
        self.atomic.is_some()
    }

    /// Closes the atomic unit. If part of it reached sled, the rest is applied now and then the
    /// undo record removed; otherwise its writes stay queued, to reach sled in one batch.
    pub fn end_atomic(&mut self, tree: &Tree) -> sled::Result<()> {
        let Some(a) = self.atomic.take() else {
            return Ok(());
        };
        if a.spilled {
            self.sync(tree)?;
            self.journal.remove(UNDO)?;
        }
        Ok(())
    }

    /// Blocks until no swapped batch is being applied.
    pub fn wait_applied(&self) {
        let mut busy = self
            .applied
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while *busy {
            busy = self
                .applied
                .done
                .wait(busy)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Makes sled current: applies everything queued, inline.
    pub fn sync(&mut self, tree: &Tree) -> sled::Result<()> {
        let Some(mut swap) = self.swap() else {
            return Ok(());
        };
        if let Some(a) = &mut self.atomic {
            if !a.undo.is_empty() {
                // No batch is in flight (swap waited), so sled holds the value of every key
                // the map did not know.
                let mut undo = Vec::with_capacity(a.undo.len());
                for (k, before) in a.undo.iter_mut() {
                    if let Before::Unknown = before {
                        *before = Before::Known(tree.get(k)?);
                    }
                    if let Before::Known(v) = before {
                        undo.push((IVec::from(&k[..]), v.clone()));
                    }
                }
                swap.undo = Some(undo);
                a.spilled = true;
            }
        }
        swap.apply(tree)
    }

    /// Drops clean entries until the map is back under 90% of its budget.
    fn evict(&mut self) {
        let upto = self.applied.upto.load(Ordering::SeqCst);
        let target = self.limit / 10 * 9;
        let mut bytes = self.bytes;
        let resident = &mut self.resident;
        // Second chance: a pass spares (and clears) entries used since the previous pass; a
        // second pass runs only if the first could not free enough.
        for _ in 0..2 {
            self.map.retain(|k, slot| {
                if bytes <= target || slot.ver > upto || slot.queued {
                    return true;
                }
                if std::mem::take(&mut slot.used) {
                    return true;
                }
                bytes -= k.len() + slot.val.as_ref().map_or(0, |v| v.len()) + OVERHEAD;
                if let Some(v) = super::keys::member_version(k.as_slice()) {
                    resident.remove(&v);
                }
                false
            });
            if bytes <= target {
                break;
            }
        }
        self.bytes = bytes;
    }

    /// Forgets everything cached (after the tree was changed behind the memtable's back).
    pub fn clear_clean(&mut self) {
        let upto = self.applied.upto.load(Ordering::SeqCst);
        self.resident.clear();
        self.map.retain(|_, s| s.ver > upto || s.queued);
        self.bytes = self
            .map
            .iter()
            .map(|(k, s)| k.len() + s.val.as_ref().map_or(0, |v| v.len()) + OVERHEAD)
            .sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_roundtrips_sets_and_deletes() {
        let entries = vec![
            (IVec::from(&b"a"[..]), Some(IVec::from(&b"1"[..]))),
            (IVec::from(&b"b"[..]), None),
        ];
        assert_eq!(decode_journal(&encode_journal(&entries)), Some(entries));
    }

    #[test]
    fn replay_rolls_back_an_unfinished_atomic_unit() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let journal = db.open_tree("j").unwrap();
        tree.insert(b"a", &b"old"[..]).unwrap();
        let mut mem = Memtable::new(1 << 20, journal.clone());
        mem.begin_atomic();
        mem.put(&tree, b"a", Some(IVec::from(&b"new"[..]))).unwrap();
        mem.put_blind(b"b", Some(IVec::from(&b"x"[..])));
        // A range read midway applies the unit so far: an undo record covers it.
        mem.sync(&tree).unwrap();
        mem.put_blind(b"c", Some(IVec::from(&b"y"[..])));
        assert_eq!(tree.get(b"a").unwrap(), Some(IVec::from(&b"new"[..])));
        assert!(journal.get(UNDO).unwrap().is_some());
        // Crash here: the unit is rolled back.
        assert_eq!(replay_journal(&journal, &tree).unwrap(), 1);
        assert_eq!(tree.get(b"a").unwrap(), Some(IVec::from(&b"old"[..])));
        assert_eq!(tree.get(b"b").unwrap(), None);
        assert!(journal.get(UNDO).unwrap().is_none());
    }

    #[test]
    fn a_finished_atomic_unit_leaves_no_undo_record() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let journal = db.open_tree("j").unwrap();
        let mut mem = Memtable::new(1 << 20, journal.clone());
        mem.begin_atomic();
        mem.put_blind(b"a", Some(IVec::from(&b"1"[..])));
        mem.sync(&tree).unwrap();
        mem.put_blind(b"b", Some(IVec::from(&b"2"[..])));
        mem.end_atomic(&tree).unwrap();
        assert_eq!(tree.get(b"b").unwrap(), Some(IVec::from(&b"2"[..])));
        assert!(journal.get(UNDO).unwrap().is_none());
        assert_eq!(replay_journal(&journal, &tree).unwrap(), 0);
    }

    #[test]
    fn eviction_spares_keys_used_since_the_last_pass() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let mut m = Memtable::new(64 * 1024, db.open_tree("j").unwrap());
        m.put_blind(b"hot", Some(IVec::from(&b"v"[..])));
        m.sync(&tree).unwrap();
        // A bulk load many times the budget streams through; the hot key is read meanwhile.
        for i in 0..20_000u32 {
            m.put_blind(&i.to_be_bytes(), Some(IVec::from(&[0u8; 16][..])));
            if i % 20 == 0 {
                assert!(m.map.contains_key(&b"hot"[..]), "hot key evicted at {i}");
                m.get(&tree, b"hot").unwrap();
            }
            if i % 100 == 0 {
                m.sync(&tree).unwrap();
            }
        }
        // Cold entries did go: the map stayed near its budget.
        assert!(m.map.len() < 2_000, "{} entries kept", m.map.len());
    }

    #[test]
    fn replay_completes_an_interrupted_batch() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let journal = db.open_tree("j").unwrap();
        tree.insert(b"gone", &b"x"[..]).unwrap();
        let entries = vec![
            (IVec::from(&b"new"[..]), Some(IVec::from(&b"v"[..]))),
            (IVec::from(&b"gone"[..]), None),
        ];
        journal
            .insert(journal_key(7), encode_journal(&entries))
            .unwrap();
        // A journal left inside the keyspace tree by an earlier version is replayed too.
        let legacy = vec![(IVec::from(&b"old"[..]), Some(IVec::from(&b"w"[..])))];
        tree.insert(journal_key(3), encode_journal(&legacy))
            .unwrap();
        assert_eq!(replay_journal(&journal, &tree).unwrap(), 2);
        assert_eq!(tree.get(b"new").unwrap(), Some(IVec::from(&b"v"[..])));
        assert_eq!(tree.get(b"old").unwrap(), Some(IVec::from(&b"w"[..])));
        assert_eq!(tree.get(b"gone").unwrap(), None);
        assert!(tree.scan_prefix([JOURNAL]).next().is_none());
        assert!(journal.is_empty());
    }
}
