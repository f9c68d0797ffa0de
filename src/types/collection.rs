//! What every collection type (hash, list, set, sorted set) shares: its metadata record and the
//! rules Redis applies to all of them.
//!
//! The record holds the member version, the member count and type-specific `extra` bytes (list
//! head/tail, …); each member is its own entry under `Store::member_prefix(db, key, version)`
//! followed by a sub-key that the type module defines. A collection emptied by removals is
//! deleted, as in Redis (EXISTS 0, TYPE none); its key never holds an empty collection.

use crate::error::{CmdError, CmdResult};
use crate::storage::{encode_collection, Kind, Store};

/// A collection's record, decoded for one command. Change `size`/`extra`, then `save`.
#[derive(Debug, Clone)]
pub struct Coll {
    pub kind: Kind,
    pub expire_at: u64,
    pub version: u64,
    pub size: u64,
    pub extra: Vec<u8>,
    /// The member prefix: a member's stored key is `prefix` + its sub-key.
    pub prefix: Vec<u8>,
    /// False for a collection made by `get_or_new` and not stored yet.
    pub exists: bool,
}

impl Coll {
    /// The stored key of the member with sub-key `sub`.
    pub fn member_key(&self, sub: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + sub.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(sub);
        k
    }
}

/// The collection at `key` when it exists and is a `kind`; WRONGTYPE when the key holds
/// another type.
pub fn get(store: &mut Store, db: usize, key: &[u8], kind: Kind) -> CmdResult<Option<Coll>> {
    let Some(rec) = store.get(db, key)? else {
        return Ok(None);
    };
    if rec.kind() != kind {
        return Err(CmdError::WrongType);
    }
    Ok(Some(Coll {
        kind,
        expire_at: rec.expire_at(),
        version: rec.version(),
        size: rec.size(),
        extra: rec.extra().to_vec(),
        prefix: store.member_prefix(db, key, rec.version()),
        exists: true,
    }))
}

/// The collection at `key`, or a new empty one under a fresh version (stored by `save` once it
/// has members). WRONGTYPE when the key holds another type.
pub fn get_or_new(store: &mut Store, db: usize, key: &[u8], kind: Kind) -> CmdResult<Coll> {
    if let Some(c) = get(store, db, key, kind)? {
        return Ok(c);
    }
    let version = store.new_version()?;
    Ok(Coll {
        kind,
        expire_at: 0,
        version,
        size: 0,
        extra: Vec::new(),
        prefix: store.member_prefix(db, key, version),
        exists: false,
    })
}

/// Stores the record after its members changed: an empty collection is deleted (and was never
/// created when it did not exist).
pub fn save(store: &mut Store, db: usize, key: &[u8], c: &Coll) -> CmdResult<()> {
    if c.size == 0 {
        if c.exists {
            store.delete(db, key)?;
        }
        return Ok(());
    }
    store.put(
        db,
        key,
        encode_collection(c.kind, c.expire_at, c.version, c.size, &c.extra),
    )
}
