//! The journal: write batches on their way to the keyspace tree, kept until they are in it, so
//! that a crash never leaves half a batch (half a command, half a transaction) on disk.
//!
//! A batch is one value, `[present:u8 keylen:u32 key (vallen:u32 val)?]*`, under `j | seq` in
//! the `journal` tree; dropped once the batch is in the keyspace tree. Except large ones: a
//! batch of `OWN_TREE_BYTES` or more gets a sled tree of its own, `journal/<seq:u64 BE>`
//! (the value under the empty key), and applying it drops the tree. sled keeps up to 16
//! entries in a leaf and rewrites a leaf whole on every change, so batches of megabytes sharing
//! the journal tree were rewritten by every batch logged or removed beside them: on 3,000,000
//! pipelined LPUSHes a tree per large batch cut the bytes written from 633-692 per request to
//! 441-469. Small batches stay in the shared tree: creating and dropping a tree costs more
//! than rewriting a small leaf (with `appendfsync always`, a tree per batch made SET -P 1 a
//! quarter slower and LPUSH half as fast).
//!
//! The `journal` tree also keeps the undo record of an atomic unit that reached sled midway
//! (`u`). Batches written inline (`write_journaled`) go there too; they are never pending
//! together with pipelined ones (an inline write first waits for the pipeline to drain).
//!
//! Either way the batch is durable once sled is flushed after it is written; `replay` at open
//! completes whatever is left, in sequence order.

use sled::{Db, IVec, Tree};

use super::memtable::write_entries;

/// The first byte of a batch's key in the `journal` tree (and, in versions before the journal
/// had a tree of its own, in the keyspace tree).
pub const JOURNAL: u8 = b'j';
/// The `journal`-tree key of the undo record of an unfinished atomic unit.
pub const UNDO: &[u8] = b"u";
/// The name prefix of the per-batch trees.
const BATCH_TREE: &[u8] = b"journal/";
/// Batches this large (encoded) get a tree of their own.
const OWN_TREE_BYTES: usize = 64 << 10;

#[derive(Clone)]
pub struct Journal {
    db: Db,
    tree: Tree,
}

/// Where a logged batch is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Logged {
    /// Under `entry_key(seq)` in the journal tree.
    Entry,
    /// In a tree of its own.
    OwnTree,
}

/// Where a batch left by a crash lives.
enum Left {
    Entry(IVec),
    BatchTree(IVec),
}

impl Journal {
    pub fn open(db: &Db) -> sled::Result<Journal> {
        Ok(Journal {
            db: db.clone(),
            tree: db.open_tree("journal")?,
        })
    }

    /// Logs a pipelined batch: in a tree of its own if it is large.
    pub fn log_batch<K: AsRef<[u8]>>(
        &self,
        seq: u64,
        entries: &[(K, Option<IVec>)],
    ) -> sled::Result<Logged> {
        let value = encode(entries);
        if value.len() < OWN_TREE_BYTES {
            self.tree.insert(entry_key(seq), value)?;
            return Ok(Logged::Entry);
        }
        self.db.open_tree(batch_tree(seq))?.insert([], value)?;
        Ok(Logged::OwnTree)
    }

    /// Drops a logged batch once it is in the keyspace tree.
    pub fn drop_batch(&self, seq: u64, at: Logged) -> sled::Result<()> {
        match at {
            Logged::Entry => self.remove(&entry_key(seq)),
            Logged::OwnTree => self.db.drop_tree(batch_tree(seq)).map(drop),
        }
    }

    /// Writes a record (an inline batch under `entry_key`, or `UNDO`) to the `journal` tree.
    pub fn put<K: AsRef<[u8]>>(
        &self,
        key: &[u8],
        entries: &[(K, Option<IVec>)],
    ) -> sled::Result<()> {
        self.tree.insert(key, encode(entries))?;
        Ok(())
    }

    pub fn remove(&self, key: &[u8]) -> sled::Result<()> {
        self.tree.remove(key)?;
        Ok(())
    }

    /// Nothing is journaled.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
            && !self
                .db
                .tree_names()
                .iter()
                .any(|n| n.starts_with(BATCH_TREE))
    }

    /// Completes batches a crash interrupted, in sequence order, then rolls back an atomic unit
    /// cut short. Run at open, before anything reads `keyspace`. Batches an earlier version
    /// journaled inside the keyspace tree come first. Returns how many records it replayed.
    pub fn replay(&self, keyspace: &Tree) -> sled::Result<usize> {
        let mut replayed = 0;
        for item in keyspace.scan_prefix([JOURNAL]) {
            let (key, blob) = item?;
            write_entries(keyspace, &decode(&blob).unwrap_or_default())?;
            keyspace.remove(key)?;
            replayed += 1;
        }
        let mut left = Vec::new();
        for item in self.tree.scan_prefix([JOURNAL]) {
            let (key, _) = item?;
            left.push((seq_of(&key[1..]), Left::Entry(key)));
        }
        for name in self.db.tree_names() {
            if let Some(seq) = name.strip_prefix(BATCH_TREE) {
                left.push((seq_of(seq), Left::BatchTree(name)));
            }
        }
        left.sort_by_key(|(seq, _)| *seq);
        for (_, at) in left {
            match at {
                Left::Entry(key) => {
                    if let Some(blob) = self.tree.get(&key)? {
                        write_entries(keyspace, &decode(&blob).unwrap_or_default())?;
                    }
                    self.tree.remove(key)?;
                }
                Left::BatchTree(name) => {
                    if let Some(blob) = self.db.open_tree(&name)?.get([])? {
                        write_entries(keyspace, &decode(&blob).unwrap_or_default())?;
                    }
                    self.db.drop_tree(name)?;
                }
            }
            replayed += 1;
        }
        // A transaction cut short: restore what its keys held before it.
        if let Some(blob) = self.tree.get(UNDO)? {
            write_entries(keyspace, &decode(&blob).unwrap_or_default())?;
            self.tree.remove(UNDO)?;
            replayed += 1;
        }
        Ok(replayed)
    }

    #[cfg(test)]
    pub fn get(&self, key: &[u8]) -> Option<IVec> {
        self.tree.get(key).ok().flatten()
    }
}

/// The `journal`-tree key of an inline batch.
pub fn entry_key(seq: u64) -> [u8; 9] {
    let mut k = [JOURNAL; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn batch_tree(seq: u64) -> Vec<u8> {
    [BATCH_TREE, &seq.to_be_bytes()[..]].concat()
}

/// A big-endian sequence number; anything malformed sorts first.
fn seq_of(b: &[u8]) -> u64 {
    b.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

pub fn encode<K: AsRef<[u8]>>(entries: &[(K, Option<IVec>)]) -> Vec<u8> {
    let size: usize = entries
        .iter()
        .map(|(k, v)| 9 + k.as_ref().len() + v.as_ref().map_or(0, |v| v.len()))
        .sum();
    let mut out = Vec::with_capacity(size);
    for (k, v) in entries {
        let k = k.as_ref();
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

pub fn decode(mut b: &[u8]) -> Option<Vec<(IVec, Option<IVec>)>> {
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
