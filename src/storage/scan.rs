//! Key iteration beyond `scan_db`: resumable SCAN steps that report where they stopped, and
//! RANDOMKEY. Both walk the keys of one database in stored order (hash slot, then key).

use std::sync::atomic::{AtomicU64, Ordering};

use super::keys::{meta_db_prefix, meta_slot_prefix, prefix_end};
use super::{now_ms, Record, Store};
use crate::error::CmdResult;

/// Where a SCAN step starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFrom<'a> {
    /// At the first key of a hash slot.
    SlotStart(u16),
    /// Just after a key (of the given slot).
    After(u16, &'a [u8]),
}

/// Where the next SCAN step should start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanNext {
    Done,
    SlotStart(u16),
    After(u16, Vec<u8>),
}

/// Splits a stored meta key into (slot, user key).
fn slot_and_key(k: &[u8]) -> (u16, &[u8]) {
    (u16::from_be_bytes([k[2], k[3]]), &k[4..])
}

impl Store {
    /// Visits live keys of `db` from `from`, calling `f` for each, until `count` keys were
    /// visited. With `whole_slots` the step only ends at a slot boundary (after `count`), so it
    /// can be resumed from the slot number alone. Expired keys met on the way are deleted.
    pub fn scan_step(
        &mut self,
        db: usize,
        from: ScanFrom,
        count: usize,
        whole_slots: bool,
        mut f: impl FnMut(&[u8], &Record),
    ) -> CmdResult<ScanNext> {
        self.sync()?;
        let pdb = self.phys(db);
        let prefix = meta_db_prefix(pdb);
        let start = match from {
            ScanFrom::SlotStart(slot) => meta_slot_prefix(pdb, slot).to_vec(),
            ScanFrom::After(slot, key) => {
                let mut s = meta_slot_prefix(pdb, slot).to_vec();
                s.extend_from_slice(key);
                s.push(0);
                s
            }
        };
        let end = prefix_end(&prefix).unwrap_or_default();
        let now = now_ms();
        let mut expired = Vec::new();
        let mut visited = 0;
        let mut last: Option<(u16, Vec<u8>)> = None;
        let mut next = ScanNext::Done;
        for item in self.tree.range(start..end) {
            let (k, v) = item?;
            let v = super::spill::load(&self.tree, &k, v)?;
            let (slot, key) = slot_and_key(&k);
            if visited >= count {
                match &last {
                    Some((last_slot, _)) if whole_slots && *last_slot == slot => {}
                    Some((last_slot, last_key)) if !whole_slots => {
                        next = ScanNext::After(*last_slot, last_key.clone());
                        break;
                    }
                    _ => {
                        next = ScanNext::SlotStart(slot);
                        break;
                    }
                }
            }
            let Some(rec) = Record::from_raw(v) else {
                continue;
            };
            if rec.is_expired(now) {
                expired.push(key.to_vec());
                continue;
            }
            f(key, &rec);
            visited += 1;
            last = Some((slot, key.to_vec()));
        }
        self.remove_expired(db, pdb, expired)?;
        Ok(next)
    }

    /// A random live key of `db`, or None when it has none. The pick is a random hash slot,
    /// then a random key among the first few of the next non-empty slot: uniform enough for
    /// sampling, without counting keys.
    pub fn random_key(&mut self, db: usize) -> CmdResult<Option<Vec<u8>>> {
        self.sync()?;
        let pdb = self.phys(db);
        let prefix = meta_db_prefix(pdb);
        let pivot = meta_slot_prefix(pdb, (random_u64() % 16384) as u16).to_vec();
        let end = prefix_end(&prefix).unwrap_or_default();
        let now = now_ms();
        let mut expired = Vec::new();
        let mut candidates: Vec<Vec<u8>> = Vec::new();
        let mut slot_of_first = None;
        // From the pivot to the end, then wrap around to the start of the database.
        let ranges = [(pivot.clone(), end), (prefix.to_vec(), pivot)];
        'outer: for (from, to) in ranges {
            for item in self.tree.range(from..to) {
                let (k, v) = item?;
                let v = super::spill::load(&self.tree, &k, v)?;
                let (slot, key) = slot_and_key(&k);
                if slot_of_first.is_some_and(|s| s != slot) || candidates.len() >= 64 {
                    break 'outer;
                }
                match Record::from_raw(v) {
                    Some(r) if r.is_expired(now) => expired.push(key.to_vec()),
                    Some(_) => {
                        slot_of_first = Some(slot);
                        candidates.push(key.to_vec());
                    }
                    None => {}
                }
            }
            if !candidates.is_empty() {
                break;
            }
        }
        self.remove_expired(db, pdb, expired)?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let pick = (random_u64() % candidates.len() as u64) as usize;
        Ok(Some(candidates.swap_remove(pick)))
    }

    /// Lazy expiry of keys met while iterating (deleted after the iterator is done), each with
    /// its `expired` event.
    fn remove_expired(&mut self, db: usize, pdb: u8, keys: Vec<Vec<u8>>) -> CmdResult<()> {
        for key in keys {
            self.remove_meta(pdb, &key, &super::keys::meta_key(pdb, &key))?;
            self.notify(super::events::EXPIRED, "expired", db, &key);
        }
        Ok(())
    }
}

/// A fast non-cryptographic random number (xorshift64*), seeded from the clock.
pub fn random_u64() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = now_ms() ^ 0x9E37_79B9_7F4A_7C15 ^ (std::process::id() as u64) << 32;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    STATE.store(x, Ordering::Relaxed);
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}
