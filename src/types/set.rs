//! Sets: one member entry per element.
//!
//! | member sub-key | member value |
//! |----------------|--------------|
//! | element bytes  | empty        |
//!
//! The record's `extra` is one byte, `ENC_HASHTABLE` once the set has outgrown Redis 7.0's
//! intset encoding (an element that is not a canonical 64-bit integer, or more than
//! `set-max-intset-entries` = 512 elements). Redis never converts back, so neither does the flag:
//! OBJECT ENCODING is exact without reading members. (The listpack set encoding is Redis 7.2.)
//!
//! Elements are stored in byte order. Redis replies with an intset in ascending numeric order
//! ("-5" < "2" < "10"), and builds SUNION/SDIFF results (and SPOP of a whole set) as intsets
//! whenever they fit: whole-set replies are sorted at reply time by `intset_order`. Hashtable
//! order is Redis's hash order, which no client can rely on.

use super::collection::{self, Coll};
use crate::error::CmdResult;
use crate::storage::{Kind, Store};
use crate::util::num::parse_i64;

pub const INTSET_ENTRIES: u64 = 512;
const ENC_HASHTABLE: u8 = 1;

pub fn get(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Option<Coll>> {
    collection::get(store, db, key, Kind::Set)
}

pub fn get_or_new(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Coll> {
    collection::get_or_new(store, db, key, Kind::Set)
}

pub fn contains(store: &mut Store, c: &Coll, member: &[u8]) -> CmdResult<bool> {
    Ok(store.member_get(&c.member_key(member))?.is_some())
}

/// Adds an element; true when it is new. Call `collection::save` afterwards.
pub fn add(store: &mut Store, c: &mut Coll, member: &[u8]) -> CmdResult<bool> {
    let k = c.member_key(member);
    if store.member_get(&k)?.is_some() {
        return Ok(false);
    }
    store.member_put(&k, b"");
    c.size += 1;
    if c.size > INTSET_ENTRIES || parse_i64(member).is_none() {
        c.extra = vec![ENC_HASHTABLE];
    }
    Ok(true)
}

/// Removes an element; true when it was present. Call `collection::save` afterwards.
pub fn remove(store: &mut Store, c: &mut Coll, member: &[u8]) -> CmdResult<bool> {
    collection::remove_member(store, c, member)
}

/// What OBJECT ENCODING reports for a set record's `extra`.
pub fn encoding(extra: &[u8]) -> &'static str {
    if extra.first() == Some(&ENC_HASHTABLE) {
        "hashtable"
    } else {
        "intset"
    }
}

/// True while Redis would still hold the set as an intset (SSCAN returns it whole).
pub fn is_compact(c: &Coll) -> bool {
    c.extra.first() != Some(&ENC_HASHTABLE)
}

/// Puts a whole-set reply in Redis's order when Redis would hold it as an intset: every element
/// an integer and at most `INTSET_ENTRIES` of them, in ascending numeric order. Any other set
/// has no defined order and is left as it is (at most 512 parses: cheap next to the read).
pub fn intset_order<T>(items: &mut Vec<T>, elem: impl Fn(&T) -> &[u8]) {
    if items.len() as u64 > INTSET_ENTRIES {
        return;
    }
    let Some(nums) = items
        .iter()
        .map(|t| parse_i64(elem(t)))
        .collect::<Option<Vec<i64>>>()
    else {
        return;
    };
    let mut keyed: Vec<(i64, T)> = nums.into_iter().zip(items.drain(..)).collect();
    keyed.sort_unstable_by_key(|(n, _)| *n);
    items.extend(keyed.into_iter().map(|(_, t)| t));
}
