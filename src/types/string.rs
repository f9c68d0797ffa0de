//! Strings: the value is stored inline in the key's metadata record, so GET is one read and
//! SET one write.

use crate::error::{CmdError, CmdResult};
use crate::storage::{encode_string, Kind, Record, Store};

/// The record of a string key, or None; WRONGTYPE for other types.
pub fn get(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Option<Record>> {
    match store.get(db, key)? {
        Some(r) if r.kind() != Kind::String => Err(CmdError::WrongType),
        other => Ok(other),
    }
}

/// Stores a string value with an absolute expiry (0 = none).
pub fn set(
    store: &mut Store,
    db: usize,
    key: &[u8],
    value: &[u8],
    expire_at: u64,
) -> CmdResult<()> {
    store.put(db, key, encode_string(value, expire_at, 0))
}

/// Stores a string modified in place (APPEND, SETRANGE, SETBIT): Redis reports it as `raw`.
pub fn set_raw(
    store: &mut Store,
    db: usize,
    key: &[u8],
    value: &[u8],
    expire_at: u64,
) -> CmdResult<()> {
    store.put(
        db,
        key,
        encode_string(value, expire_at, crate::storage::record::FLAG_RAW),
    )
}

/// The integer value of a string key (0 when missing), for INCR and friends.
pub fn get_int(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<(i64, u64)> {
    match get(store, db, key)? {
        Some(r) => {
            let v = crate::util::num::parse_i64(r.str_value()).ok_or(CmdError::NotInteger)?;
            Ok((v, r.expire_at()))
        }
        None => Ok((0, 0)),
    }
}
