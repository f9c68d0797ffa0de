//! Hashes: one member entry per field.
//!
//! | member sub-key | member value            |
//! |----------------|-------------------------|
//! | field bytes    | seq:u64 BE, field value |
//!
//! `seq` is the field's insertion number, so that whole-hash replies (HGETALL, HKEYS, HVALS,
//! HSCAN, DUMP, …) come in Redis's listpack order: insertion order, a field overwritten keeping
//! its place, a field deleted and re-added going to the end. Point commands still touch only
//! their fields' entries; a whole-hash reply sorts by `seq` (at most `LISTPACK_ENTRIES` fields,
//! so the sort is cheap). Once hashtable-encoded, Redis's order is its hash order, which no
//! client can rely on: berth then replies in field byte order and skips the sort.
//!
//! The record's `extra` is `flags:u8 next_seq:u64 BE`. Flag `ENC_HASHTABLE` is set once the hash
//! has outgrown Redis's listpack encoding (more than `hash-max-listpack-entries` = 512 fields, or
//! a field or value longer than `hash-max-listpack-value` = 64 bytes); Redis never converts back,
//! so neither does the flag: OBJECT ENCODING is exact without reading members. Flag `SEQUENCED`
//! says the values carry the `seq` prefix. Hashes written before sequences existed have an
//! `extra` of at most the flags byte, without `SEQUENCED`: their values are bare and read as
//! sequence 0 (field byte order), and they stay in that format (upgrading them would rewrite
//! every field).

use super::collection::{self, Coll, Member};
use crate::error::{CmdError, CmdResult};
use crate::storage::{IVec, Kind, Store};

/// Redis 7.0 defaults for the listpack encoding.
pub const LISTPACK_ENTRIES: u64 = 512;
pub const LISTPACK_VALUE: usize = 64;
const ENC_HASHTABLE: u8 = 1;
const SEQUENCED: u8 = 2;
const SEQ_LEN: usize = 8;

pub fn get(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Option<Coll>> {
    collection::get(store, db, key, Kind::Hash)
}

pub fn get_or_new(store: &mut Store, db: usize, key: &[u8]) -> CmdResult<Coll> {
    collection::get_or_new(store, db, key, Kind::Hash)
}

fn flags(c: &Coll) -> u8 {
    c.extra.first().copied().unwrap_or(0)
}

fn sequenced(c: &Coll) -> bool {
    flags(c) & SEQUENCED != 0 && c.extra.len() > SEQ_LEN
}

/// True while Redis would hold the hash as a listpack (ordered replies, HSCAN in one step).
pub fn is_listpack(c: &Coll) -> bool {
    flags(c) & ENC_HASHTABLE == 0
}

/// A stored field value as (seq, value); a bare legacy value is sequence 0.
fn decode(c: &Coll, raw: IVec) -> CmdResult<(u64, IVec)> {
    if !sequenced(c) {
        return Ok((0, raw));
    }
    let seq = raw
        .get(..SEQ_LEN)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| CmdError::Storage("hash field unreadable".into()))?;
    Ok((seq, raw.subslice(SEQ_LEN, raw.len() - SEQ_LEN)))
}

/// A field's value.
pub fn field(store: &mut Store, c: &Coll, field: &[u8]) -> CmdResult<Option<IVec>> {
    match store.member_get(&c.member_key(field))? {
        Some(raw) => Ok(Some(decode(c, raw)?.1)),
        None => Ok(None),
    }
}

/// Sets a field; true when it is new. Call `collection::save` afterwards.
pub fn set(store: &mut Store, c: &mut Coll, field: &[u8], value: &[u8]) -> CmdResult<bool> {
    if c.size == 0 {
        // A new hash (an existing one always has fields): sequenced from its first field.
        c.extra = vec![SEQUENCED];
        c.extra.extend_from_slice(&0u64.to_be_bytes());
    }
    let k = c.member_key(field);
    let new = if !sequenced(c) {
        store.member_swap(&k, value)?.is_none()
    } else if is_listpack(c) {
        // An overwritten field keeps its place: read its sequence first.
        let old = store.member_get(&k)?;
        let new = old.is_none();
        let seq = match old {
            Some(raw) => decode(c, raw)?.0,
            None => next_seq(c),
        };
        store.member_put(&k, &with_seq(seq, value));
        new
    } else {
        // Hashtable order is free: one blind swap, the sequence only keeps values uniform.
        let seq = next_seq(c);
        store.member_swap(&k, &with_seq(seq, value))?.is_none()
    };
    if new {
        c.size += 1;
    }
    if field.len() > LISTPACK_VALUE || value.len() > LISTPACK_VALUE || c.size > LISTPACK_ENTRIES {
        if let Some(f) = c.extra.first_mut() {
            *f |= ENC_HASHTABLE;
        } else {
            c.extra = vec![ENC_HASHTABLE];
        }
    }
    Ok(new)
}

/// Takes the next insertion sequence of a sequenced hash.
fn next_seq(c: &mut Coll) -> u64 {
    let Some(b) = c.extra.get_mut(1..1 + SEQ_LEN) else {
        return 0;
    };
    let seq = u64::from_be_bytes(b.try_into().unwrap_or_default());
    b.copy_from_slice(&seq.wrapping_add(1).to_be_bytes());
    seq
}

fn with_seq(seq: u64, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(SEQ_LEN + value.len());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(value);
    v
}

/// Removes a field; true when it existed. Call `collection::save` afterwards.
pub fn del(store: &mut Store, c: &mut Coll, field: &[u8]) -> CmdResult<bool> {
    collection::remove_member(store, c, field)
}

/// Every (field, value) in Redis's order (see the module doc). Reads the whole hash: only for
/// replies that need all of it.
pub fn all(store: &mut Store, c: &Coll) -> CmdResult<Vec<Member>> {
    let raw = collection::members(store, c)?;
    in_order(c, raw)
}

/// Stored members (from `collection`'s readers) as (field, value): the sequences stripped, and
/// for a listpack hash sorted into insertion order. For a whole hash or a listpack-ordered pick.
pub fn in_order(c: &Coll, raw: Vec<Member>) -> CmdResult<Vec<Member>> {
    let mut seqd = raw
        .into_iter()
        .map(|(f, v)| Ok((decode(c, v)?, f)))
        .collect::<CmdResult<Vec<_>>>()?;
    if is_listpack(c) && sequenced(c) {
        seqd.sort_by_key(|((seq, _), _)| *seq);
    }
    Ok(seqd.into_iter().map(|((_, v), f)| (f, v)).collect())
}

/// Stored members as (field, value), in the order given (random picks, HSCAN steps).
pub fn values(c: &Coll, raw: Vec<Member>) -> CmdResult<Vec<Member>> {
    raw.into_iter()
        .map(|(f, v)| Ok((f, decode(c, v)?.1)))
        .collect()
}

/// What OBJECT ENCODING reports for a hash record's `extra`.
pub fn encoding(extra: &[u8]) -> &'static str {
    if extra.first().is_some_and(|f| f & ENC_HASHTABLE != 0) {
        "hashtable"
    } else {
        "listpack"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::encode_collection;

    /// A store in a fresh temporary directory (removed by the caller).
    fn store(tag: &str) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("berth-hash-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir, 8 << 20, 16).expect("open store");
        (store, dir)
    }

    fn strings(all: Vec<Member>) -> Vec<(String, String)> {
        all.into_iter()
            .map(|(f, v)| {
                let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                (s(&f), s(&v))
            })
            .collect()
    }

    #[test]
    fn a_hash_written_before_sequences_reads_in_field_order_and_stays_bare() {
        let (mut store, dir) = store("legacy");
        // The previous encoding: `extra` empty, bare values.
        let version = store.new_version().expect("version");
        let prefix = store.member_prefix(0, b"h", version);
        for (f, v) in [("b", "2"), ("a", "1")] {
            store.member_put(&[prefix.as_slice(), f.as_bytes()].concat(), v.as_bytes());
        }
        let record = encode_collection(Kind::Hash, 0, version, 2, &[]);
        store.put(0, b"h", record).expect("put");

        let mut c = get(&mut store, 0, b"h").expect("get").expect("exists");
        assert_eq!(
            field(&mut store, &c, b"a").expect("field").as_deref(),
            Some(&b"1"[..])
        );
        assert!(set(&mut store, &mut c, b"c", b"3").expect("set"));
        assert!(!set(&mut store, &mut c, b"a", b"9").expect("set"));
        collection::save(&mut store, 0, b"h", &c).expect("save");

        let c = get(&mut store, 0, b"h").expect("get").expect("exists");
        assert!(!sequenced(&c), "a legacy hash is not rewritten");
        let want = [("a", "9"), ("b", "2"), ("c", "3")];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect();
        assert_eq!(strings(all(&mut store, &c).expect("all")), want);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_new_hash_orders_fields_by_insertion() {
        let (mut store, dir) = store("seq");
        let mut c = get_or_new(&mut store, 0, b"h").expect("new");
        for (f, v) in [("z", "1"), ("a", "2"), ("m", "3"), ("z", "4")] {
            set(&mut store, &mut c, f.as_bytes(), v.as_bytes()).expect("set");
        }
        collection::save(&mut store, 0, b"h", &c).expect("save");
        let c = get(&mut store, 0, b"h").expect("get").expect("exists");
        let got: Vec<String> = strings(all(&mut store, &c).expect("all"))
            .into_iter()
            .map(|(f, v)| format!("{f}={v}"))
            .collect();
        assert_eq!(got, ["z=4", "a=2", "m=3"]);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
