//! Lists on the keyspace.
//!
//! # Layout
//!
//! The collection record's `extra` is `head:u64 tail:u64` (big-endian): the list's elements have
//! the sequence numbers `head..tail` (tail exclusive), so `size == tail - head`. Element `i` (0
//! from the left) is the member entry whose sub-key is `head + i` as 8 big-endian bytes (byte
//! order is list order) and whose value is the element itself. A new list starts at
//! `MID = 2^63` with `head == tail`, so pushes on either side never wrap. LPUSH/RPUSH/LPOP/RPOP,
//! LINDEX and LSET are single member operations; LRANGE reads its indexes by point gets.
//! LINSERT and LREM rewrite the elements between the change and one end of the list (they are
//! O(N), as in Redis); LTRIM deletes the trimmed elements one by one (or the whole key).

use bytes::Bytes;

use super::collection::{self, Coll};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::BulkList;
use crate::storage::{Kind, Store};

/// Where a new list's head and tail start.
pub const MID: u64 = 1 << 63;

/// A list's record, decoded for one command: change it with its methods, then `save`.
pub struct List {
    pub coll: Coll,
    pub head: u64,
    pub tail: u64,
}

fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn corrupt() -> CmdError {
    CmdError::Storage("list element missing".into())
}

impl List {
    fn from_coll(coll: Coll) -> List {
        let word = |r: std::ops::Range<usize>| {
            coll.extra
                .get(r)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
        };
        let (head, tail) = match (word(0..8), word(8..16)) {
            (Some(h), Some(t)) if t >= h => (h, t),
            _ => (MID, MID),
        };
        List { coll, head, tail }
    }

    pub fn len(&self) -> u64 {
        self.tail - self.head
    }

    pub fn is_empty(&self) -> bool {
        self.tail == self.head
    }

    /// The record's `extra` for the list's current head and tail.
    pub fn extra(&self) -> Vec<u8> {
        let mut extra = Vec::with_capacity(16);
        extra.extend_from_slice(&self.head.to_be_bytes());
        extra.extend_from_slice(&self.tail.to_be_bytes());
        extra
    }

    /// Whether the list was stored before this command.
    pub fn existed(&self) -> bool {
        self.coll.exists
    }

    /// Resolves a Redis index (negative counts from the end) to 0-based, if in range.
    pub fn index(&self, i: i64) -> Option<u64> {
        let len = self.len() as i64;
        let i = if i < 0 { len.checked_add(i)? } else { i };
        (0..len).contains(&i).then_some(i as u64)
    }

    fn key(&self, seq: u64) -> Vec<u8> {
        self.coll.member_key(&seq_key(seq))
    }

    /// Calls `f` with the member key of `seq`, built on the stack (the single-element
    /// operations allocate no key).
    fn with_key<R>(&self, seq: u64, f: impl FnOnce(&[u8]) -> R) -> R {
        collection::with_key(&self.coll.prefix, &[&seq_key(seq)], f)
    }

    /// Element `i` (0-based, `i < len`).
    pub fn get(&self, store: &mut Store, i: u64) -> CmdResult<Bytes> {
        let v = self
            .with_key(self.head + i, |k| store.member_get(k))?
            .ok_or_else(corrupt)?;
        Ok(Bytes::from_owner(v))
    }

    /// Replaces element `i` (0-based, `i < len`).
    pub fn set(&mut self, store: &mut Store, i: u64, v: &[u8]) {
        self.with_key(self.head + i, |k| store.member_put(k, v));
    }

    pub fn push(&mut self, store: &mut Store, left: bool, v: &[u8]) {
        let seq = if left {
            self.head -= 1;
            self.head
        } else {
            self.tail += 1;
            self.tail - 1
        };
        self.with_key(seq, |k| store.member_put(k, v));
    }

    pub fn pop(&mut self, store: &mut Store, left: bool) -> CmdResult<Option<Bytes>> {
        if self.is_empty() {
            return Ok(None);
        }
        let seq = if left { self.head } else { self.tail - 1 };
        let v = self
            .with_key(seq, |k| store.member_take(k))?
            .ok_or_else(corrupt)?;
        if left {
            self.head += 1;
        } else {
            self.tail -= 1;
        }
        Ok(Some(Bytes::from_owner(v)))
    }

    /// Elements `from..=to` (0-based, in range).
    pub fn range(&self, store: &mut Store, from: u64, to: u64) -> CmdResult<Vec<Bytes>> {
        // One key buffer for the whole range: only the sequence number at its end changes.
        let mut key = self.key(self.head + from);
        let at = key.len() - 8;
        (from..=to)
            .map(|i| {
                key[at..].copy_from_slice(&seq_key(self.head + i));
                let v = store.member_get(&key)?.ok_or_else(corrupt)?;
                Ok(Bytes::from_owner(v))
            })
            .collect()
    }

    /// Elements `from..=to` (0-based, in range) as a reply (LRANGE): each element is copied
    /// into one buffer, without an allocation per element.
    pub fn range_reply(&self, store: &mut Store, from: u64, to: u64) -> CmdResult<BulkList> {
        let n = (to - from + 1) as usize;
        let mut out = BulkList::with_capacity(n.min(4096) * 16);
        let mut key = self.key(self.head + from);
        let at = key.len() - 8;
        for i in from..=to {
            key[at..].copy_from_slice(&seq_key(self.head + i));
            let found = store.member_get_with(&key, |v| v.map(|v| out.push(v)).is_some())?;
            if !found {
                return Err(corrupt());
            }
        }
        Ok(out)
    }

    /// Every element, in order.
    pub fn all(&self, store: &mut Store) -> CmdResult<Vec<Bytes>> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        self.range(store, 0, self.len() - 1)
    }

    /// Keeps elements `from..=to` (0-based) and deletes the others; `None` empties the list.
    pub fn trim(&mut self, store: &mut Store, keep: Option<(u64, u64)>) -> CmdResult<()> {
        let (from, to) = match keep {
            Some((f, t)) if f <= t && t < self.len() => (f, t),
            _ => (self.len(), self.len()),
        };
        let (new_head, new_tail) = if from == self.len() {
            (self.tail, self.tail)
        } else {
            (self.head + from, self.head + to + 1)
        };
        if new_head == new_tail && self.coll.exists {
            // The whole list goes: `save` deletes the key, its members are collected later.
            self.head = new_head;
            return Ok(());
        }
        for seq in (self.head..new_head).chain(new_tail..self.tail) {
            store.member_remove(&self.key(seq))?;
        }
        self.head = new_head;
        self.tail = new_tail;
        Ok(())
    }

    /// Replaces the elements `old` (the whole list) by `new`, keeping the head in place when
    /// `anchor_left` (else the tail), and writing only the positions that change.
    pub fn rewrite(&mut self, store: &mut Store, old: &[Bytes], new: &[Bytes], anchor_left: bool) {
        let (o, n) = (old.len() as u64, new.len() as u64);
        if anchor_left {
            for i in 0..n {
                let changed = old.get(i as usize) != Some(&new[i as usize]);
                if changed {
                    store.member_put(&self.key(self.head + i), &new[i as usize]);
                }
            }
            for i in n..o {
                let _ = store.member_remove(&self.key(self.head + i));
            }
            self.tail = self.head + n;
        } else {
            // Position from the right: j = 1 is the last element.
            for j in 1..=n {
                let new_v = &new[(n - j) as usize];
                let changed = j > o || old[(o - j) as usize] != new_v;
                if changed {
                    store.member_put(&self.key(self.tail - j), new_v);
                }
            }
            for j in n + 1..=o {
                let _ = store.member_remove(&self.key(self.tail - j));
            }
            self.head = self.tail - n;
        }
    }
}

/// The list at `key`, if any; WRONGTYPE for another type.
pub fn get(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Option<List>> {
    Ok(collection::get(store, db, key, Kind::List)?.map(List::from_coll))
}

/// The list at `key`, or a new empty one.
pub fn get_or_new(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<List> {
    Ok(List::from_coll(collection::get_or_new(
        store,
        db,
        key,
        Kind::List,
    )?))
}

/// A new empty list that will replace whatever `key` holds (SORT ... STORE): no type check;
/// saved empty, it deletes the key.
pub fn fresh(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<List> {
    Ok(List::from_coll(collection::fresh(
        store,
        db,
        key,
        Kind::List,
    )?))
}

/// Stores the record after the elements changed (an emptied list is deleted). Returns whether
/// a list now exists at `key` that did not before (BLPOP and friends wake on it).
pub fn save(store: &mut Store, db: usize, key: &[u8], l: &mut List) -> CmdResult<bool> {
    l.coll.size = l.len();
    l.coll.extra = l.extra();
    collection::save(store, db, key, &l.coll)?;
    let created = !l.coll.exists && l.coll.size > 0;
    l.coll.exists = l.coll.size > 0;
    Ok(created)
}
