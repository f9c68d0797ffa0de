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

/// Indexing and forgetting a batch of half a million writes takes the apply thread tens of
/// milliseconds (a map probe apiece); done at once, nothing is applied meanwhile, and under a
/// sustained load every writer waiting for room waits that long too. So both are done in steps
/// of this many writes between chunks of tree work (`step`): a step costs about what a chunk
/// does. Smaller steps let indexing lag further behind the batch being applied, which then
/// misses skips (a quarter of this size skipped an eighth fewer writes of an LPUSH + RPOP
/// burst). Measured on 5,000,000 pipelined LPUSHes: the command thread's longest idle wait for
/// room went from 21 ms to under 9 ms, p99 from 10-18 ms to about 8.
const STEP: usize = 16384;

pub struct Backlog {
    arrivals: mpsc::Receiver<Swap>,
    /// Indexed batches not yet applied, oldest first, with their keys' hashes.
    batches: VecDeque<(Swap, Vec<u64>)>,
    /// Logged batches not yet wholly indexed, in arrival order: the first is indexed as far as
    /// `partial` holds its hashes. Batches are indexed strictly in order, so an entry of
    /// `latest` always points to the latest write indexed so far.
    arrived: VecDeque<Swap>,
    partial: Vec<u64>,
    /// The hashes of the batch being applied (taken by `oldest`).
    current: Vec<u64>,
    /// Applied batches whose index entries are still to be removed, each with how far that got.
    /// An entry left behind only points to a batch no longer in the backlog, which `key_at`
    /// does not find: it never causes a skip, so forgetting may lag.
    forgetting: VecDeque<(u64, Vec<u64>, usize)>,
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
            arrived: VecDeque::new(),
            partial: Vec::new(),
            current: Vec::new(),
            forgetting: VecDeque::new(),
            latest: HashMap::default(),
            hasher: KeyHash::grouped(),
        }
    }

    /// The oldest batch, to apply; waits for one when the backlog is empty. None once the
    /// pipeline is gone. Its writes stay indexed until `forget`, so that it can ask about them.
    ///
    /// A batch arriving at an empty backlog is indexed only once `progress` stops holding off:
    /// sorting it (unless the log thread did) and hashing its keys (a tenth of a second for an
    /// eighth of the default budget) is tree work too, and during a burst that CPU belongs to
    /// the commands.
    pub fn oldest(&mut self, progress: &Progress) -> Option<Swap> {
        if self.batches.is_empty() && self.arrived.is_empty() {
            self.idle();
            let swap = self.arrivals.recv().ok()?;
            progress.hold_off();
            self.arrived.push_back(swap);
        }
        self.receive();
        // The oldest batch is indexed whole before it is applied; later ones in steps.
        while self.batches.is_empty() {
            let front = self.arrived.front()?;
            let left = front.write_count().saturating_sub(self.partial.len());
            self.index(left.max(1));
        }
        let (swap, hashes) = self.batches.pop_front()?;
        self.current = hashes;
        Some(swap)
    }

    /// Between chunks of tree work: takes in the batches logged meanwhile and
    /// does a step of indexing (first) and forgetting.
    pub fn step(&mut self) {
        self.receive();
        let left = self.index(STEP);
        self.forget_some(left);
    }

    fn receive(&mut self) {
        while let Ok(swap) = self.arrivals.try_recv() {
            self.arrived.push_back(swap);
        }
    }

    /// Nothing left to apply: every index entry is stale, so the map is cleared whole.
    fn idle(&mut self) {
        self.forgetting.clear();
        if self.latest.capacity() > KEEP_SLOTS {
            self.latest = HashMap::default();
        } else {
            self.latest.clear();
        }
    }

    /// Indexes up to `budget` writes of the arrived batches, in order; returns what is left
    /// of the budget.
    fn index(&mut self, mut budget: usize) -> usize {
        while budget > 0 {
            let start = self.partial.len();
            if start == 0 {
                // Positions are indexed: the order must be final (a no-op if the log thread
                // sorted the batch already).
                if let Some(swap) = self.arrived.front_mut() {
                    swap.sort();
                }
            }
            let Some(swap) = self.arrived.front() else {
                break;
            };
            let n = swap.write_count();
            let end = n.min(start.saturating_add(budget));
            if swap.is_logged() {
                let upto = swap.upto();
                for i in start..end {
                    let Some(key) = swap.key(i) else { break };
                    let hash = self.hasher.hash_one(key);
                    let absent = match self.latest.get(&hash) {
                        // The write it replaces as the last will be skipped: the tree stays
                        // without the key until this one.
                        Some(last) if last.absent => self.key_at(last.at, swap) == Some(key),
                        _ => false,
                    };
                    self.latest.insert(
                        hash,
                        Last {
                            at: (upto, i as u32),
                            absent,
                        },
                    );
                    self.partial.push(hash);
                }
            } else {
                // A batch whose logging failed shadows nothing: it is not indexed.
                self.partial.resize(end, 0);
            }
            budget -= end - start;
            if end == n {
                let hashes = std::mem::take(&mut self.partial);
                if let Some(swap) = self.arrived.pop_front() {
                    self.batches.push_back((swap, hashes));
                }
            }
        }
        budget
    }

    /// The key written at `at`, in `other` (the batch being applied or indexed, not in
    /// `batches`) or an indexed batch.
    fn key_at<'a>(&'a self, at: (u64, u32), other: &'a Swap) -> Option<&'a [u8]> {
        if at.0 == other.upto() {
            return other.key(at.1 as usize);
        }
        self.batches
            .binary_search_by_key(&at.0, |(s, _)| s.upto())
            .ok()
            .and_then(|b| self.batches[b].0.key(at.1 as usize))
    }

    /// Whether write `i` of `swap` (the batch being applied, taken by `oldest`) can be skipped:
    /// a later write of its key shadows it, or it deletes a key the tree does not have.
    pub fn skip(&mut self, swap: &Swap, i: usize) -> bool {
        let (Some(key), Some(&hash)) = (swap.key(i), self.current.get(i)) else {
            return false;
        };
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

    /// The batch being applied is in the tree: its index entries are to be removed (in steps).
    pub fn forget(&mut self, swap: &Swap) {
        let hashes = std::mem::take(&mut self.current);
        if swap.is_logged() {
            self.forgetting.push_back((swap.upto(), hashes, 0));
        }
    }

    /// Removes up to `budget` index entries of applied batches, oldest first.
    fn forget_some(&mut self, mut budget: usize) {
        while budget > 0 {
            let Some((upto, hashes, done)) = self.forgetting.front_mut() else {
                return;
            };
            let end = hashes.len().min(done.saturating_add(budget));
            for (i, &hash) in hashes.iter().enumerate().take(end).skip(*done) {
                if let Entry::Occupied(o) = self.latest.entry(hash) {
                    if o.get().at == (*upto, i as u32) {
                        o.remove();
                    }
                }
            }
            budget -= end - *done;
            *done = end;
            if end == hashes.len() {
                self.forgetting.pop_front();
            }
        }
    }
}
