//! The apply thread's backlog: logged batches waiting to reach the tree, and which of their
//! writes a later write of the same key shadows.
//!
//! During a burst the apply thread holds off (see `pipeline.rs`), so a key is often written
//! again before its earlier write reaches the tree: a list element pushed and then popped, a
//! score index entry added and then removed, a hot member rewritten in the next batch, an index
//! entry queued twice in one batch (`Memtable::queue_only`). Only a key's last write matters to
//! the tree, so the apply thread skips the others, as an LSM compaction drops shadowed
//! versions: each skip saves a B-tree update, the costliest step of a write.
//!
//! Skipping is safe because the shadowing write is logged: every batch here has its journal
//! value (the log thread hands batches over only after logging them, and a batch whose logging
//! failed shadows nothing). Should the process die after the earlier batch's journal value is
//! removed, the restart replays the later batch, logged before that removal, from the journal.
//!
//! Deletes can need no tree work either. A write queued *fresh* (sled did not have the key and
//! nothing pending wrote it: a new list element, a new member of a collection created by this
//! process) leaves the tree without the key when skipped; so does every skipped write after it.
//! The last write of such a chain then finds the tree without the key, and if it is a delete
//! it is skipped too: a list element pushed and popped within a burst never costs sled
//! anything.
//!
//! `latest` maps a hash of each key to the position of its last write in the backlog. A hash
//! collision never skips a write: a write is skipped only when the entry `latest` points to has
//! the very same key. The hash is the members map's (`KeyHash`), used as the map's own: eight
//! neighbouring list elements, which a sorted batch visits one after another, share a probe
//! start, so indexing, skipping and forgetting a burst of pushes or pops touches one stretch
//! of the map per eight writes rather than a random one per write (a cache miss apiece in a
//! map of millions: an eighth of the apply thread's time on 2,000,000 LPUSHes).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::mpsc;

use super::memtable::{KeyHash, Swap};
use super::pipeline::Progress;

/// The last write of a key in the backlog.
#[derive(Clone, Copy)]
struct Last {
    /// Its batch (by `upto`: unique and increasing) and its index there.
    at: (u64, u32),
    /// Every earlier write of the key in the backlog was skipped and the first was fresh: the
    /// tree does not have the key.
    absent: bool,
}

pub struct Backlog {
    arrivals: mpsc::Receiver<Swap>,
    /// Logged batches not yet applied, oldest first, each sorted by key.
    batches: VecDeque<Swap>,
    latest: HashMap<u64, Last, BuildHasherDefault<Prehashed>>,
    hasher: KeyHash,
}

/// `latest`'s keys are hashes already (`KeyHash`): the map takes them as they are, keeping the
/// grouping of neighbouring list elements.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is ever called; fold anything else in rather than lose it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Past this many slots, an emptied `latest` is dropped rather than kept for the next burst.
const KEEP_SLOTS: usize = 1 << 16;

impl Backlog {
    pub fn new(arrivals: mpsc::Receiver<Swap>) -> Backlog {
        Backlog {
            arrivals,
            batches: VecDeque::new(),
            latest: HashMap::default(),
            hasher: KeyHash::grouped(),
        }
    }

    /// The oldest batch, to apply; waits for one when the backlog is empty. None once the
    /// pipeline is gone. Its writes stay indexed until `forget`, so that it can ask about them.
    ///
    /// A batch arriving at an empty backlog is indexed only once `progress` stops holding off:
    /// sorting it and hashing its keys (a tenth of a second for an eighth of the default
    /// budget) is tree work too, and during a burst that CPU belongs to the commands.
    pub fn oldest(&mut self, progress: &Progress) -> Option<Swap> {
        if self.batches.is_empty() {
            let swap = self.arrivals.recv().ok()?;
            progress.hold_off();
            self.push(swap);
        }
        self.take_arrivals();
        self.batches.pop_front()
    }

    /// Indexes the batches logged since the last look.
    pub fn take_arrivals(&mut self) {
        while let Ok(swap) = self.arrivals.try_recv() {
            self.push(swap);
        }
    }

    fn push(&mut self, mut swap: Swap) {
        swap.sort();
        if swap.is_logged() {
            let upto = swap.upto();
            for (i, key) in swap.keys().enumerate() {
                let (at, hash) = ((upto, i as u32), self.hasher.hash_one(key));
                let absent = match self.latest.get(&hash) {
                    // The write it replaces as the last will be skipped: the tree stays
                    // without the key until this one.
                    Some(last) if last.absent => self.key_at(last.at, &swap) == Some(key),
                    _ => false,
                };
                self.latest.insert(hash, Last { at, absent });
            }
        }
        self.batches.push_back(swap);
    }

    /// The key written at `at`, in `current` (a batch not in `batches`) or a queued batch.
    fn key_at<'a>(&'a self, at: (u64, u32), current: &'a Swap) -> Option<&'a [u8]> {
        if at.0 == current.upto() {
            return current.key(at.1 as usize);
        }
        self.batches
            .binary_search_by_key(&at.0, Swap::upto)
            .ok()
            .and_then(|b| self.batches[b].key(at.1 as usize))
    }

    /// Whether write `i` of `swap` (the batch being applied, taken by `oldest`) can be skipped:
    /// a later write of its key shadows it, or it deletes a key the tree does not have.
    pub fn skip(&mut self, swap: &Swap, i: usize) -> bool {
        let Some(key) = swap.key(i) else {
            return false;
        };
        let hash = self.hasher.hash_one(key);
        let Some(&last) = self.latest.get(&hash) else {
            return false;
        };
        let at = (swap.upto(), i as u32);
        if last.at == at {
            return swap.is_delete(i) && (last.absent || swap.is_fresh(i));
        }
        if self.key_at(last.at, swap) != Some(key) {
            return false;
        }
        if swap.is_fresh(i) {
            if let Some(last) = self.latest.get_mut(&hash) {
                last.absent = true;
            }
        }
        true
    }

    /// Drops the index entries of an applied batch.
    pub fn forget(&mut self, swap: &Swap) {
        let upto = swap.upto();
        for (i, key) in swap.keys().enumerate() {
            if let Entry::Occupied(o) = self.latest.entry(self.hasher.hash_one(key)) {
                if o.get().at == (upto, i as u32) {
                    o.remove();
                }
            }
        }
        if self.batches.is_empty() && self.latest.capacity() > KEEP_SLOTS {
            self.latest = HashMap::default();
        }
    }
}
