//! Byte layout of every stored key (see the encoding table in `storage/mod.rs`).

use crate::util::crc16::key_slot;

pub const META: u8 = b'm';
pub const DATA: u8 = b'd';
pub const EXPIRE: u8 = b'e';
pub const GC: u8 = b'g';
pub const CATALOG: u8 = b'c';

/// `m | db | slot | key`. Built on the stack: short keys become an inline `IVec` without
/// allocating (this runs for every command).
pub fn meta_key(db: u8, key: &[u8]) -> sled::IVec {
    let head = meta_slot_prefix(db, key_slot(key));
    let mut buf = [0u8; 64];
    if key.len() <= buf.len() - 4 {
        buf[..4].copy_from_slice(&head);
        buf[4..4 + key.len()].copy_from_slice(key);
        return sled::IVec::from(&buf[..4 + key.len()]);
    }
    let mut k = Vec::with_capacity(4 + key.len());
    k.extend_from_slice(&head);
    k.extend_from_slice(key);
    sled::IVec::from(k)
}

/// Appends `meta_key(db, key)` to `out`.
pub fn push_meta_key(db: u8, key: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&meta_slot_prefix(db, key_slot(key)));
    out.extend_from_slice(key);
}

/// The range holding every key of one database: `m | db`.
pub fn meta_db_prefix(db: u8) -> [u8; 2] {
    [META, db]
}

/// The range holding every key of one hash slot: `m | db | slot`.
pub fn meta_slot_prefix(db: u8, slot: u16) -> [u8; 4] {
    let s = slot.to_be_bytes();
    [META, db, s[0], s[1]]
}

/// Splits a meta key into (db, user key).
pub fn parse_meta_key(k: &[u8]) -> Option<(u8, &[u8])> {
    if k.len() < 4 || k[0] != META {
        return None;
    }
    Some((k[1], &k[4..]))
}

/// `e | when_ms | db | slot | key`: time-ordered, so due keys are a prefix scan.
pub fn expire_key(when: u64, db: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(12 + key.len());
    k.push(EXPIRE);
    k.extend_from_slice(&when.to_be_bytes());
    k.push(db);
    k.extend_from_slice(&key_slot(key).to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// Splits an expiry index key into (when, db, user key).
pub fn parse_expire_key(k: &[u8]) -> Option<(u64, u8, &[u8])> {
    if k.len() < 12 || k[0] != EXPIRE {
        return None;
    }
    let when = u64::from_be_bytes(k[1..9].try_into().ok()?);
    Some((when, k[9], &k[12..]))
}

/// `d | db | slot | keylen | key | version`: the prefix of every member entry of one
/// collection version. The length makes `key` unambiguous; the version makes a deleted or
/// overwritten collection's members unreachable at once.
pub fn member_prefix(db: u8, key: &[u8], version: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(16 + key.len());
    k.push(DATA);
    k.push(db);
    k.extend_from_slice(&key_slot(key).to_be_bytes());
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// The collection version a member entry (`d` key) belongs to.
pub fn member_version(k: &[u8]) -> Option<u64> {
    if k.first() != Some(&DATA) {
        return None;
    }
    let keylen = u32::from_be_bytes(k.get(4..8)?.try_into().ok()?) as usize;
    let at = 8usize.checked_add(keylen)?;
    Some(u64::from_be_bytes(k.get(at..at + 8)?.try_into().ok()?))
}

/// The (db, user key) of a collection member entry.
pub fn parse_member_key(k: &[u8]) -> Option<(u8, &[u8])> {
    if k.len() < 8 || k[0] != DATA {
        return None;
    }
    let len = u32::from_be_bytes(k[4..8].try_into().ok()?) as usize;
    Some((k[1], k.get(8..8 + len)?))
}

/// `g | <member prefix without its tag>`: a collection version whose members await deletion.
pub fn gc_key(member_prefix: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(member_prefix.len());
    k.push(GC);
    k.extend_from_slice(&member_prefix[1..]);
    k
}

pub fn catalog_key(name: &str) -> Vec<u8> {
    let mut k = vec![CATALOG];
    k.extend_from_slice(name.as_bytes());
    k
}

/// The smallest key greater than every key starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_version_reads_the_version_after_the_key() {
        let mut k = member_prefix(3, b"some{key}", 0x0102_0304_0506_0708);
        k.extend_from_slice(b"field");
        assert_eq!(member_version(&k), Some(0x0102_0304_0506_0708));
        assert_eq!(member_version(&meta_key(3, b"x")), None);
        assert_eq!(member_version(&k[..12]), None);
    }
}
