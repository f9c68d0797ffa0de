//! Large values, stored in pieces so that sled's cache stays within its budget.
//!
//! sled keeps up to 17 entries in a leaf. A leaf larger than a quarter of a log segment (128 KB)
//! is written as a blob of its own, and sled's page cache then counts the leaf by the size of
//! its pointer in the log, not by its size in memory: such leaves are never evicted, and the
//! process grows with the data (20,000 values of 100 KB held 1.5 GB of memory under a 32 MB
//! cache). So no entry of the keyspace tree holds more than `PIECE` bytes of value:
//!
//! | stored key             | value                                          |
//! |------------------------|------------------------------------------------|
//! | key (any, see `mod.rs`) | the value, if at most `PIECE` bytes; else a stub: `MAGIC len:u64` |
//! | `v` key index:u32      | piece `index` of the value (`PIECE` bytes, the last one shorter) |
//!
//! A value that begins with `MAGIC` is stored in pieces whatever its length, so an entry is a
//! stub exactly when it begins with `MAGIC`, and values written before this encoding existed
//! read back unchanged. Pieces are looked up one by one (a key's pieces are not one range when
//! another key extends it). Only the writer threads write here, one entry at a time, and a
//! reader never reads a key whose write is in progress (the memtable holds it until applied),
//! so a reader never sees a stub with another value's pieces. A crash in the middle of an entry
//! is repaired by the journal replaying it; pieces of a spilled value overwritten by a small one
//! can then stay behind (disk space only, removed by the key's next spilled write).

use std::io;

use sled::{IVec, Tree};

/// The largest value stored in the entry itself, and the size of a piece.
pub const PIECE: usize = 4096;
/// How a stub begins (no record kind byte is 0xff, and no command writes this by accident).
const MAGIC: &[u8; 8] = b"\xffberth\x00\x01";
/// The first byte of a piece's key.
pub const PIECES: u8 = b'v';

fn piece_key(key: &[u8], index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 5);
    k.push(PIECES);
    k.extend_from_slice(key);
    k.extend_from_slice(&(index as u32).to_be_bytes());
    k
}

/// The length of the value a stub stands for; None for a value stored whole.
fn stub_len(v: &[u8]) -> Option<u64> {
    let len = v.strip_prefix(MAGIC)?;
    Some(u64::from_be_bytes(len.try_into().ok()?))
}

fn piece_count(len: u64) -> u64 {
    len.div_ceil(PIECE as u64)
}

/// Whether `value` is stored in pieces: then writing it takes several sled operations, and
/// a crash midway leaves it torn unless a journal replays the write.
pub fn spills(value: &[u8]) -> bool {
    value.len() > PIECE || value.starts_with(MAGIC)
}

/// Sets (`Some`) or removes (`None`) the value of `key` in the keyspace tree.
pub fn write(tree: &Tree, key: &[u8], val: Option<&IVec>) -> sled::Result<()> {
    let (old, kept) = match val {
        Some(v) if !spills(v) => (tree.insert(key, v.clone())?, 0),
        Some(v) => {
            // Pieces first: a stub is never in the tree before its pieces are.
            for (i, piece) in v.chunks(PIECE).enumerate() {
                tree.insert(piece_key(key, i as u64), piece)?;
            }
            let mut stub = MAGIC.to_vec();
            stub.extend_from_slice(&(v.len() as u64).to_be_bytes());
            (tree.insert(key, stub)?, piece_count(v.len() as u64))
        }
        None => (tree.remove(key)?, 0),
    };
    let old_count = old.as_deref().and_then(stub_len).map_or(0, piece_count);
    // The old value's pieces past the new one's; after a spilled write, also any a crash left
    // (the first absent piece ends them).
    let mut i = kept;
    while i < old_count {
        tree.remove(piece_key(key, i))?;
        i += 1;
    }
    if kept > 0 {
        while tree.remove(piece_key(key, i))?.is_some() {
            i += 1;
        }
    }
    Ok(())
}

/// The value of `key` in the keyspace tree.
pub fn get(tree: &Tree, key: &[u8]) -> sled::Result<Option<IVec>> {
    match tree.get(key)? {
        Some(v) => load(tree, key, v).map(Some),
        None => Ok(None),
    }
}

/// The value an entry of the keyspace tree (read by a scan) stands for.
pub fn load(tree: &Tree, key: &[u8], entry: IVec) -> sled::Result<IVec> {
    let Some(len) = stub_len(&entry) else {
        return Ok(entry);
    };
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..piece_count(len) {
        let piece = tree.get(piece_key(key, i))?.ok_or_else(|| {
            sled::Error::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a piece of a large value is missing (key {:?})",
                    IVec::from(key)
                ),
            ))
        })?;
        out.extend_from_slice(&piece);
    }
    Ok(IVec::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (sled::Db, Tree) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let t = db.open_tree("k").unwrap();
        (db, t)
    }

    fn pieces(t: &Tree) -> usize {
        t.scan_prefix([PIECES]).count()
    }

    fn value(len: usize, seed: u8) -> IVec {
        IVec::from(
            (0..len)
                .map(|i| (i as u8).wrapping_mul(31) ^ seed)
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_large_value_reads_back_whole_and_no_entry_holds_more_than_a_piece() {
        let (_db, t) = tree();
        let v = value(100_000, 1);
        write(&t, b"k", Some(&v)).unwrap();
        assert_eq!(get(&t, b"k").unwrap(), Some(v));
        assert_eq!(pieces(&t), 25);
        assert!(t.iter().all(|e| e.unwrap().1.len() <= PIECE));
        let (k, raw) = t.scan_prefix(b"k").next().unwrap().unwrap();
        assert_eq!(load(&t, &k, raw).unwrap().len(), 100_000);
    }

    #[test]
    fn overwriting_or_deleting_a_large_value_leaves_no_pieces_behind() {
        let (_db, t) = tree();
        write(&t, b"k", Some(&value(100_000, 1))).unwrap();
        write(&t, b"k", Some(&value(10_000, 2))).unwrap();
        assert_eq!(pieces(&t), 3);
        assert_eq!(get(&t, b"k").unwrap(), Some(value(10_000, 2)));
        write(&t, b"k", Some(&value(10, 3))).unwrap();
        assert_eq!(pieces(&t), 0);
        assert_eq!(get(&t, b"k").unwrap(), Some(value(10, 3)));
        write(&t, b"k", Some(&value(PIECE + 1, 4))).unwrap();
        write(&t, b"k", None).unwrap();
        assert_eq!(pieces(&t), 0);
        assert_eq!(get(&t, b"k").unwrap(), None);
    }

    #[test]
    fn pieces_a_crash_left_are_removed_by_the_next_large_write() {
        let (_db, t) = tree();
        write(&t, b"k", Some(&value(50_000, 1))).unwrap();
        // As if a crash struck after the stub of a smaller value replaced the old one.
        t.insert(b"k", &b"small"[..]).unwrap();
        write(&t, b"k", Some(&value(9_000, 2))).unwrap();
        assert_eq!(pieces(&t), 3);
        assert_eq!(get(&t, b"k").unwrap(), Some(value(9_000, 2)));
    }

    #[test]
    fn a_value_that_looks_like_a_stub_is_stored_as_itself() {
        let (_db, t) = tree();
        let mut fake = MAGIC.to_vec();
        fake.extend_from_slice(&1_000_000u64.to_be_bytes());
        let fake = IVec::from(fake);
        write(&t, b"k", Some(&fake)).unwrap();
        assert_eq!(get(&t, b"k").unwrap(), Some(fake));
        write(&t, b"e", Some(&IVec::from(&b""[..]))).unwrap();
        assert_eq!(get(&t, b"e").unwrap(), Some(IVec::from(&b""[..])));
    }

    #[test]
    fn keys_that_extend_each_other_keep_their_own_pieces() {
        let (_db, t) = tree();
        let long_key = [b"k".as_slice(), &[0, 0, 0, 0], b"x"].concat();
        write(&t, b"k", Some(&value(20_000, 1))).unwrap();
        write(&t, &long_key, Some(&value(30_000, 2))).unwrap();
        write(&t, b"k", None).unwrap();
        assert_eq!(get(&t, &long_key).unwrap(), Some(value(30_000, 2)));
        assert_eq!(pieces(&t), 8);
    }
}
