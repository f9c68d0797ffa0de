//! Hashes: one member entry per field.
//!
//! | member sub-key | member value |
//! |----------------|--------------|
//! | field bytes    | field value  |
//!
//! The record's `extra` is one byte, `ENC_HASHTABLE` once the hash has outgrown Redis's listpack
//! encoding (more than `hash-max-listpack-entries` = 512 fields, or a field or value longer than
//! `hash-max-listpack-value` = 64 bytes). Redis never converts back, so neither does the flag:
//! OBJECT ENCODING is exact without reading members. Point commands (HGET, HSET, HINCRBY, …)
//! touch only their fields' entries.

use super::collection::{self, Coll};
use crate::error::CmdResult;
use crate::storage::{IVec, Kind, Store};

/// Redis 7.0 defaults for the listpack encoding.
pub const LISTPACK_ENTRIES: u64 = 512;
pub const LISTPACK_VALUE: usize = 64;
const ENC_HASHTABLE: u8 = 1;

pub fn get(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Option<Coll>> {
    collection::get(store, db, key, Kind::Hash)
}

pub fn get_or_new(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Coll> {
    collection::get_or_new(store, db, key, Kind::Hash)
}

pub fn field(store: &mut Store, c: &Coll, field: &[u8]) -> CmdResult<Option<IVec>> {
    store.member_get(&c.member_key(field))
}

/// Sets a field; true when it is new. Call `collection::save` afterwards.
pub fn set(store: &mut Store, c: &mut Coll, field: &[u8], value: &[u8]) -> CmdResult<bool> {
    let k = c.member_key(field);
    let new = store.member_swap(&k, value)?.is_none();
    if new {
        c.size += 1;
    }
    if field.len() > LISTPACK_VALUE || value.len() > LISTPACK_VALUE || c.size > LISTPACK_ENTRIES {
        c.extra = vec![ENC_HASHTABLE];
    }
    Ok(new)
}

/// Removes a field; true when it existed. Call `collection::save` afterwards.
pub fn del(store: &mut Store, c: &mut Coll, field: &[u8]) -> CmdResult<bool> {
    collection::remove_member(store, c, field)
}

/// What OBJECT ENCODING reports for a hash record's `extra`.
pub fn encoding(extra: &[u8]) -> &'static str {
    if extra.first() == Some(&ENC_HASHTABLE) {
        "hashtable"
    } else {
        "listpack"
    }
}
