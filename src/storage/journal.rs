//! The journal: write batches on their way to the keyspace tree, kept until they are in it, so
//! that a crash never leaves half a batch (half a command, half a transaction) on disk.
//!
//! A batch is one value (its keys prefix-coded, see `encode`), under `j | seq` in the
//! `journal` tree; dropped once the batch is in the keyspace tree. Except large ones: a
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

/// The first byte of a batch in the current format. A batch in the first format (before
/// keys were prefix-coded) starts with an entry's present flag, 0 or 1, or is empty.
const FORMAT_PREFIXED: u8 = 0xb2;

/// Encodes a batch: `FORMAT_PREFIXED`, then per entry `present:u8 shared:varint
/// suffixlen:varint suffix (vallen:varint val)?`, where `shared` is how many leading bytes the
/// key has in common with the previous entry's key. A batch is in queue order, and a burst of
/// writes into one collection queues keys that differ only in their last bytes (list sequence
/// numbers, members after the same collection prefix): 3,000,000 LPUSHes log about 10 bytes
/// each instead of about 40, and every byte saved is saved three times over (the encoding,
/// sled's copy of the value, its write to disk), on the thread that competes with commands
/// for the CPU during a burst.
pub fn encode<K: AsRef<[u8]>>(entries: &[(K, Option<IVec>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + entries.len() * 16);
    out.push(FORMAT_PREFIXED);
    let mut prev: &[u8] = &[];
    for (k, v) in entries {
        let k = k.as_ref();
        let shared = k.iter().zip(prev).take_while(|(a, b)| a == b).count();
        out.push(v.is_some() as u8);
        put_varint(&mut out, shared);
        put_varint(&mut out, k.len() - shared);
        out.extend_from_slice(&k[shared..]);
        if let Some(v) = v {
            put_varint(&mut out, v.len());
            out.extend_from_slice(v);
        }
        prev = k;
    }
    out
}

/// Decodes a batch in either format; None if it is malformed.
pub fn decode(b: &[u8]) -> Option<Vec<(IVec, Option<IVec>)>> {
    match b.split_first() {
        Some((&FORMAT_PREFIXED, rest)) => decode_prefixed(rest),
        _ => decode_plain(b),
    }
}

fn decode_prefixed(mut b: &[u8]) -> Option<Vec<(IVec, Option<IVec>)>> {
    let mut out: Vec<(IVec, Option<IVec>)> = Vec::new();
    let mut key = Vec::new();
    while let Some((&present, rest)) = b.split_first() {
        b = rest;
        let shared = take_varint(&mut b)?;
        let suffix = take_varint(&mut b)?;
        if shared > key.len() {
            return None;
        }
        key.truncate(shared);
        key.extend_from_slice(take(&mut b, suffix)?);
        let val = match present {
            0 => None,
            _ => {
                let n = take_varint(&mut b)?;
                Some(IVec::from(take(&mut b, n)?))
            }
        };
        out.push((IVec::from(&key[..]), val));
    }
    Some(out)
}

/// The first format: `[present:u8 keylen:u32 key (vallen:u32 val)?]*`, lengths big-endian.
/// Still read, so that a journal left by an older version replays.
fn decode_plain(mut b: &[u8]) -> Option<Vec<(IVec, Option<IVec>)>> {
    let mut out = Vec::new();
    let len = |b: &mut &[u8]| -> Option<usize> {
        Some(u32::from_be_bytes(take(b, 4)?.try_into().ok()?) as usize)
    };
    while let Some((&present, rest)) = b.split_first() {
        b = rest;
        let klen = len(&mut b)?;
        let key = IVec::from(take(&mut b, klen)?);
        let val = if present == 1 {
            let vlen = len(&mut b)?;
            Some(IVec::from(take(&mut b, vlen)?))
        } else {
            None
        };
        out.push((key, val));
    }
    Some(out)
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = (b.get(..n)?, b.get(n..)?);
    *b = rest;
    Some(head)
}

/// LEB128: seven bits a byte, low bits first, the top bit set on all but the last byte.
fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_varint(b: &mut &[u8]) -> Option<usize> {
    let mut n = 0usize;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        n |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(items: &[(&[u8], Option<&[u8]>)]) -> Vec<(IVec, Option<IVec>)> {
        items
            .iter()
            .map(|(k, v)| (IVec::from(*k), v.map(IVec::from)))
            .collect()
    }

    #[test]
    fn batches_round_trip_with_shared_prefixes_deletes_and_long_values() {
        let long = vec![7u8; 300];
        let entries = batch(&[
            (b"d-list-0001", Some(b"a")),
            (b"d-list-0002", Some(b"")),
            (b"d-list-0002", None),
            (b"d", Some(&long)),
            (b"", None),
            (b"x-unrelated", Some(b"v")),
        ]);
        let encoded = encode(&entries);
        assert_eq!(encoded[0], FORMAT_PREFIXED);
        assert_eq!(decode(&encoded), Some(entries));
        assert_eq!(decode(&encode::<IVec>(&[])), Some(vec![]));
    }

    #[test]
    fn neighbouring_keys_cost_only_their_differing_suffix() {
        let entries: Vec<(IVec, Option<IVec>)> = (0u64..1000)
            .map(|i| {
                let key = [&b"d\0\x08some-list-prefix"[..], &i.to_be_bytes()].concat();
                (IVec::from(key), Some(IVec::from(&b"xyz"[..])))
            })
            .collect();
        // present, shared, suffix length, 1 or 2 suffix bytes, value length, value.
        assert!(encode(&entries).len() < 1 + 1000 * 9);
        assert_eq!(decode(&encode(&entries)), Some(entries));
    }

    #[test]
    fn batches_in_the_first_format_still_decode() {
        let mut plain = vec![1u8];
        plain.extend_from_slice(&3u32.to_be_bytes());
        plain.extend_from_slice(b"key");
        plain.extend_from_slice(&2u32.to_be_bytes());
        plain.extend_from_slice(b"vv");
        plain.push(0);
        plain.extend_from_slice(&4u32.to_be_bytes());
        plain.extend_from_slice(b"gone");
        assert_eq!(
            decode(&plain),
            Some(batch(&[(b"key", Some(b"vv")), (b"gone", None)]))
        );
    }

    #[test]
    fn malformed_batches_decode_to_none() {
        let good = encode(&batch(&[(b"abc", Some(b"value"))]));
        assert_eq!(decode(&good[..good.len() - 1]), None);
        // A shared prefix longer than the previous key.
        assert_eq!(decode(&[FORMAT_PREFIXED, 0, 5, 0]), None);
        // A varint that never ends.
        assert_eq!(decode(&[FORMAT_PREFIXED, 0, 0xff, 0xff]), None);
    }
}
