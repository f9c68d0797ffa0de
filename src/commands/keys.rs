//! Generic key commands: existence and deletion, renaming and copying, iteration (KEYS, SCAN,
//! RANDOMKEY), expiry, OBJECT introspection, and DUMP/RESTORE.
//!
//! Keys of collection types are stored as a record plus member entries named after the key, so
//! RENAME, MOVE, COPY and DUMP/RESTORE refuse them with an explicit error until the collection
//! types bring their own member copying.

use crate::storage::events::GENERIC;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;

use super::args::{cursor, int, is, scan_count, Opts};
use super::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::storage::record::{FLAG_NOINT, FLAG_RAW};
use crate::storage::scan::{ScanFrom, ScanNext};
use crate::storage::Store;
use crate::storage::{encode_string, now_ms, Kind, Record};
use crate::types::{collection, dump, hash, set, zset};
use crate::util::glob::glob_match;
use crate::util::num::parse_i64;

const KEY_RW: &str = "@keyspace @write @slow";
const KEY_WF: &str = "@keyspace @write @fast";
const KEY_RF: &str = "@keyspace @read @fast";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("del", -2, "write", (1, -1, 1), KEY_RW, "generic", "1.0.0", "Delete a key", del),
    cmd("unlink", -2, "write fast", (1, -1, 1), KEY_WF, "generic", "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", del),
    cmd("exists", -2, "readonly fast", (1, -1, 1), KEY_RF, "generic", "1.0.0", "Determine if a key exists", exists),
    cmd("touch", -2, "readonly fast", (1, -1, 1), KEY_RF, "generic", "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified.", exists),
    cmd("type", 2, "readonly fast", (1, 1, 1), KEY_RF, "generic", "1.0.0", "Determine the type stored at key", type_),
    cmd("rename", 3, "write", (1, 2, 1), KEY_RW, "generic", "1.0.0", "Rename a key", rename),
    cmd("renamenx", 3, "write fast", (1, 2, 1), KEY_WF, "generic", "1.0.0", "Rename a key, only if the new key does not exist", renamenx),
    cmd("copy", -3, "write denyoom", (1, 2, 1), KEY_RW, "generic", "6.2.0", "Copy a key", copy),
    cmd("move", 3, "write fast", (1, 1, 1), KEY_WF, "generic", "1.0.0", "Move a key to another database", move_),
    cmd("keys", 2, "readonly", (0, 0, 0), "@keyspace @read @slow @dangerous", "generic", "1.0.0", "Find all keys matching the given pattern", keys),
    cmd("scan", -2, "readonly", (0, 0, 0), "@keyspace @read @slow", "generic", "2.8.0", "Incrementally iterate the keys space", scan),
    cmd("randomkey", 1, "readonly", (0, 0, 0), "@keyspace @read @slow", "generic", "1.0.0", "Return a random key from the keyspace", randomkey),
    cmd("expire", -3, "write fast", (1, 1, 1), KEY_WF, "generic", "1.0.0", "Set a key's time to live in seconds", expire),
    cmd("pexpire", -3, "write fast", (1, 1, 1), KEY_WF, "generic", "2.6.0", "Set a key's time to live in milliseconds", pexpire),
    cmd("expireat", -3, "write fast", (1, 1, 1), KEY_WF, "generic", "1.2.0", "Set the expiration for a key as a UNIX timestamp", expireat),
    cmd("pexpireat", -3, "write fast", (1, 1, 1), KEY_WF, "generic", "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", pexpireat),
    cmd("ttl", 2, "readonly fast", (1, 1, 1), KEY_RF, "generic", "1.0.0", "Get the time to live for a key in seconds", ttl),
    cmd("pttl", 2, "readonly fast", (1, 1, 1), KEY_RF, "generic", "2.6.0", "Get the time to live for a key in milliseconds", pttl),
    cmd("expiretime", 2, "readonly fast", (1, 1, 1), KEY_RF, "generic", "7.0.0", "Get the expiration Unix timestamp for a key", expiretime),
    cmd("pexpiretime", 2, "readonly fast", (1, 1, 1), KEY_RF, "generic", "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds", pexpiretime),
    cmd("persist", 2, "write fast", (1, 1, 1), KEY_WF, "generic", "2.2.0", "Remove the expiration from a key", persist),
    Command {
        subcommands: OBJECT_SUBCOMMANDS,
        ..cmd("object", -2, "", (0, 0, 0), "@slow", "generic", "2.2.3", "A container for object introspection commands", container)
    },
    cmd("dump", 2, "readonly", (1, 1, 1), "@keyspace @read @slow", "generic", "2.6.0", "Return a serialized version of the value stored at the specified key.", dump_),
    cmd("restore", -4, "write denyoom", (1, 1, 1), "@keyspace @write @slow @dangerous", "generic", "2.6.0", "Create a key using the provided serialized value, previously obtained using DUMP.", restore),
];

static OBJECT_SUBCOMMANDS: &[Command] = &[
    cmd(
        "object|encoding",
        3,
        "readonly",
        (2, 2, 1),
        "@keyspace @read @slow",
        "generic",
        "2.2.3",
        "Inspect the internal encoding of a Redis object",
        object_encoding,
    ),
    cmd(
        "object|refcount",
        3,
        "readonly",
        (2, 2, 1),
        "@keyspace @read @slow",
        "generic",
        "2.2.3",
        "Get the number of references to the value of the key",
        object_refcount,
    ),
    cmd(
        "object|idletime",
        3,
        "readonly",
        (2, 2, 1),
        "@keyspace @read @slow",
        "generic",
        "2.2.3",
        "Get the time since a Redis object was last accessed",
        object_idletime,
    ),
    cmd(
        "object|freq",
        3,
        "readonly",
        (2, 2, 1),
        "@keyspace @read @slow",
        "generic",
        "4.0.0",
        "Get the logarithmic access frequency counter of a Redis object",
        object_freq,
    ),
    cmd(
        "object|help",
        2,
        "loading stale",
        (0, 0, 0),
        "@keyspace @slow",
        "generic",
        "6.2.0",
        "Show helpful text about the different subcommands",
        object_help,
    ),
];

/// DEL and UNLINK (deletion is O(1) for every type, so UNLINK has nothing to defer).
fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let mut n = 0;
    for key in &args[1..] {
        if store.delete(db, key)? {
            store.notify(GENERIC, "del", db, key);
            n += 1;
        }
    }
    Ok(Reply::Integer(n))
}

/// EXISTS and TOUCH: live keys among the arguments, repeats counted. TOUCH has no access time
/// to update (OBJECT IDLETIME counts from the last write).
fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let mut n = 0;
    for key in &args[1..] {
        n += store.get(db, key)?.is_some() as i64;
    }
    Ok(Reply::Integer(n))
}

fn type_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let name = match ctx.store().get(db, &args[1])? {
        Some(r) => r.kind().name(),
        None => "none",
    };
    Ok(Reply::status(name))
}

/// The record `dst` gets when `rec` (the record of `src`) is renamed, moved or copied there. A
/// string's value is in its record; a collection's members are copied under a fresh version (the
/// source's are garbage-collected once it is deleted or replaced).
fn moved_record(
    store: &mut Store,
    (db, src): (usize, &[u8]),
    (dst_db, dst): (usize, &[u8]),
    rec: &Record,
) -> CmdResult<Vec<u8>> {
    if rec.kind() == Kind::String {
        return Ok(rec.raw().to_vec());
    }
    collection::duplicate(store, db, src, dst_db, dst)?.ok_or(CmdError::NoSuchKey)
}

/// A list or sorted set arriving at `dst` (RENAME, COPY, MOVE) serves clients blocked on that
/// key.
fn wake_blocked(ctx: &Ctx, rec: &Record, db: usize, dst: &[u8]) {
    if matches!(rec.kind(), Kind::List | Kind::ZSet) {
        ctx.shared.blocking.signal(db, dst);
    }
}

fn same_object() -> CmdError {
    CmdError::err("source and destination objects are the same")
}

/// RENAME and RENAMENX: the record moves as is (value, TTL, write time), in one batch.
fn rename_with(ctx: &mut Ctx, args: &[Bytes], nx: bool) -> CmdResult<Reply> {
    let (src, dst) = (&args[1], &args[2]);
    let db = ctx.db();
    let store = ctx.store();
    let rec = store.get(db, src)?.ok_or(CmdError::NoSuchKey)?;
    let done = if nx { Reply::Integer(1) } else { Reply::Ok };
    if src == dst {
        return Ok(if nx { Reply::Integer(0) } else { done });
    }
    if nx && store.get(db, dst)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    let moved = moved_record(store, (db, src), (db, dst), &rec)?;
    // Redis deletes a destination before adding the moved key: it counts as `new`.
    store.delete(db, dst)?;
    store.put_many(vec![
        (db, dst.to_vec(), Some(moved)),
        (db, src.to_vec(), None),
    ])?;
    store.notify(GENERIC, "rename_from", db, src);
    store.notify(GENERIC, "rename_to", db, dst);
    wake_blocked(ctx, &rec, db, dst);
    Ok(done)
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    rename_with(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    rename_with(ctx, args, true)
}

/// A database index argument, checked against the configured count.
fn db_index(ctx: &mut Ctx, arg: &[u8]) -> CmdResult<usize> {
    let v = int(arg)?;
    if v < 0 || v as usize >= ctx.store().databases() {
        return Err(CmdError::DbIndex);
    }
    Ok(v as usize)
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst) = (&args[1], &args[2]);
    let mut target = None;
    let mut replace = false;
    let mut opts = Opts::new(&args[3..]);
    while let Some(opt) = opts.next_upper() {
        match opt.as_str() {
            "DB" if opts.remaining() >= 1 => {
                let v = int(opts.value()?)?;
                target = Some(v);
            }
            "REPLACE" => replace = true,
            _ => return Err(CmdError::Syntax),
        }
    }
    let db = ctx.db();
    if ctx.shared.cluster.is_some() && target.is_some_and(|t| t != 0) {
        return Err(CmdError::err(
            "Copying to another database is not allowed in cluster mode",
        ));
    }
    let dst_db = match target {
        Some(v) if v < 0 || v as usize >= ctx.store().databases() => return Err(CmdError::DbIndex),
        Some(v) => v as usize,
        None => db,
    };
    if dst_db == db && src == dst {
        return Err(same_object());
    }
    let store = ctx.store();
    let Some(rec) = store.reading(|s| s.get(db, src))? else {
        return Ok(Reply::Integer(0));
    };
    if !replace && store.get(dst_db, dst)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    // A copy is a new value: same bytes, encoding flags and TTL, written now.
    let record = match rec.kind() {
        Kind::String => encode_string(rec.str_value(), rec.expire_at(), rec.flags()),
        _ => moved_record(store, (db, src), (dst_db, dst), &rec)?,
    };
    // A replaced destination is deleted first, as Redis does (the copy counts as `new`).
    store.delete(dst_db, dst)?;
    store.put(dst_db, dst, record)?;
    store.notify(GENERIC, "copy_to", dst_db, dst);
    wake_blocked(ctx, &rec, dst_db, dst);
    Ok(Reply::Integer(1))
}

fn move_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.shared.cluster.is_some() {
        return Err(CmdError::err("MOVE is not allowed in cluster mode"));
    }
    let key = &args[1];
    let dst_db = db_index(ctx, &args[2])?;
    let db = ctx.db();
    if dst_db == db {
        return Err(same_object());
    }
    let store = ctx.store();
    let Some(rec) = store.get(db, key)? else {
        return Ok(Reply::Integer(0));
    };
    if store.get(dst_db, key)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    let moved = moved_record(store, (db, key), (dst_db, key), &rec)?;
    store.put_many(vec![
        (dst_db, key.to_vec(), Some(moved)),
        (db, key.to_vec(), None),
    ])?;
    store.notify(GENERIC, "move_from", db, key);
    store.notify(GENERIC, "move_to", dst_db, key);
    wake_blocked(ctx, &rec, dst_db, key);
    Ok(Reply::Integer(1))
}

/// A MATCH pattern; a lone `*` matches every key, the empty key included (as Redis).
struct Pattern<'a>(Option<&'a [u8]>);

impl<'a> Pattern<'a> {
    fn new(p: &'a [u8]) -> Self {
        Pattern((p != b"*").then_some(p))
    }

    fn matches(&self, key: &[u8]) -> bool {
        self.0.is_none_or(|p| glob_match(p, key, false))
    }
}

fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let pattern = Pattern::new(&args[1]);
    let db = ctx.db();
    let mut out = Vec::new();
    ctx.store().scan_db(db, None, |key, _| {
        if pattern.matches(key) {
            out.push(Reply::Bulk(Bytes::copy_from_slice(key)));
        }
        true
    })?;
    Ok(Reply::Array(out))
}

// SCAN cursors.
//
// Keys are stored in (hash slot, key) order and a scan step resumes just after the last key it
// returned, so every key present for the whole scan is returned (keys added or removed during it
// may or may not be). A cursor is `slot << 48 | token`: the token names the exact resume key in a
// bounded server-side table. When the token is 0, or unknown (evicted, or from before a restart),
// the step restarts at the beginning of the slot and runs to a slot boundary: some keys come back
// twice, which SCAN allows, none are skipped, and the scan still always progresses.

const TOKEN_BITS: u32 = 48;
const TOKEN_MASK: u64 = (1 << TOKEN_BITS) - 1;
/// Bounds of the resume-key table: at most this many positions, and this many key bytes.
const CURSOR_ENTRIES: usize = 4096;
const CURSOR_BYTES: usize = 16 << 20;

#[derive(Default)]
struct Cursors {
    next: u64,
    bytes: usize,
    keys: HashMap<u64, (u16, Vec<u8>)>,
    order: VecDeque<u64>,
}

impl Cursors {
    fn register(&mut self, slot: u16, key: Vec<u8>) -> u64 {
        self.next = (self.next % TOKEN_MASK) + 1;
        let token = self.next;
        self.bytes += key.len();
        if let Some((_, old)) = self.keys.insert(token, (slot, key)) {
            self.bytes -= old.len();
        }
        self.order.push_back(token);
        while self.order.len() > CURSOR_ENTRIES || self.bytes > CURSOR_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, k)) = self.keys.remove(&oldest) {
                self.bytes -= k.len();
            }
        }
        (slot as u64) << TOKEN_BITS | token
    }

    fn position(&self, cursor: u64) -> Option<&(u16, Vec<u8>)> {
        let slot = cursor_slot(cursor);
        self.keys
            .get(&(cursor & TOKEN_MASK))
            .filter(|(s, _)| *s == slot)
    }
}

fn cursor_slot(cursor: u64) -> u16 {
    ((cursor >> TOKEN_BITS) & 0x3FFF) as u16
}

static CURSORS: Mutex<Option<Cursors>> = Mutex::new(None);

fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let cursor = cursor(&args[1])?;
    let mut pattern = Pattern(None);
    let mut type_filter: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut opts = Opts::new(&args[2..]);
    while let Some(opt) = opts.next_upper() {
        match opt.as_str() {
            "COUNT" if opts.remaining() >= 1 => count = scan_count(opts.value()?)?,
            "MATCH" if opts.remaining() >= 1 => pattern = Pattern::new(opts.value()?),
            "TYPE" if opts.remaining() >= 1 => type_filter = Some(opts.value()?),
            _ => return Err(CmdError::Syntax),
        }
    }
    let resume = {
        let table = CURSORS.lock().unwrap_or_else(|e| e.into_inner());
        table.as_ref().and_then(|t| t.position(cursor)).cloned()
    };
    let (from, whole_slots) = match &resume {
        _ if cursor == 0 => (ScanFrom::SlotStart(0), false),
        Some((slot, key)) => (ScanFrom::After(*slot, key), false),
        None => (ScanFrom::SlotStart(cursor_slot(cursor)), true),
    };
    let db = ctx.db();
    let mut out = Vec::new();
    let next = ctx
        .store()
        .scan_step(db, from, count, whole_slots, |key, rec| {
            let type_ok = type_filter.is_none_or(|t| is(t, rec.kind().name()));
            if type_ok && pattern.matches(key) {
                out.push(Reply::Bulk(Bytes::copy_from_slice(key)));
            }
        })?;
    let next_cursor = match next {
        ScanNext::Done => 0,
        ScanNext::SlotStart(slot) => (slot as u64) << TOKEN_BITS,
        ScanNext::After(slot, key) => {
            let mut table = CURSORS.lock().unwrap_or_else(|e| e.into_inner());
            table
                .get_or_insert_with(Cursors::default)
                .register(slot, key)
        }
    };
    Ok(Reply::Array(vec![
        Reply::bulk(next_cursor.to_string()),
        Reply::Array(out),
    ]))
}

fn randomkey(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    Ok(Reply::opt_bulk(
        ctx.store().random_key(db)?.map(Bytes::from),
    ))
}

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT: `unit_ms` is 1000 for seconds, `absolute` for the AT forms.
fn expire_with(
    ctx: &mut Ctx,
    args: &[Bytes],
    unit_ms: i64,
    absolute: bool,
    name: &str,
) -> CmdResult<Reply> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        match String::from_utf8_lossy(opt).to_ascii_uppercase().as_str() {
            "NX" => nx = true,
            "XX" => xx = true,
            "GT" => gt = true,
            "LT" => lt = true,
            _ => {
                return Err(CmdError::err(format!(
                    "Unsupported option {}",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let invalid = || CmdError::err(format!("invalid expire time in '{name}' command"));
    let now = now_ms() as i64;
    let base = if absolute { 0 } else { now };
    let when = int(&args[2])?
        .checked_mul(unit_ms)
        .and_then(|w| w.checked_add(base))
        .ok_or_else(invalid)?;
    let db = ctx.db();
    let key = &args[1];
    let store = ctx.store();
    let Some(rec) = store.get(db, key)? else {
        return Ok(Reply::Integer(0));
    };
    // 0 means no TTL, which GT treats as infinite and LT as larger than anything.
    let current = rec.expire_at() as i64;
    let refused = (nx && current != 0)
        || (xx && current == 0)
        || (gt && (current == 0 || when <= current))
        || (lt && current != 0 && when >= current);
    if refused {
        return Ok(Reply::Integer(0));
    }
    if when <= now {
        // An expiry already in the past deletes the key, as Redis does.
        store.delete(db, key)?;
        store.notify(GENERIC, "del", db, key);
    } else {
        store.put(db, key, rec.with_expire(when as u64))?;
        store.notify(GENERIC, "expire", db, key);
    }
    Ok(Reply::Integer(1))
}

fn expire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    expire_with(ctx, args, 1000, false, "expire")
}

fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    expire_with(ctx, args, 1, false, "pexpire")
}

fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    expire_with(ctx, args, 1000, true, "expireat")
}

fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    expire_with(ctx, args, 1, true, "pexpireat")
}

/// TTL/PTTL (`absolute` false) and EXPIRETIME/PEXPIRETIME: -2 without key, -1 without TTL;
/// seconds are rounded as Redis rounds them.
fn ttl_with(ctx: &mut Ctx, args: &[Bytes], ms: bool, absolute: bool) -> CmdResult<Reply> {
    let db = ctx.db();
    let Some(rec) = ctx.store().get(db, &args[1])? else {
        return Ok(Reply::Integer(-2));
    };
    let at = rec.expire_at() as i64;
    if at == 0 {
        return Ok(Reply::Integer(-1));
    }
    let v = if absolute {
        at
    } else {
        (at - now_ms() as i64).max(0)
    };
    // Rounded to seconds in wide arithmetic: Redis answers 9223372036854776 for i64::MAX ms.
    Ok(Reply::Integer(if ms {
        v
    } else {
        ((v as i128 + 500) / 1000) as i64
    }))
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    ttl_with(ctx, args, false, false)
}

fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    ttl_with(ctx, args, true, false)
}

fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    ttl_with(ctx, args, false, true)
}

fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    ttl_with(ctx, args, true, true)
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    match store.get(db, &args[1])? {
        Some(rec) if rec.expire_at() != 0 => {
            store.put(db, &args[1], rec.with_expire(0))?;
            store.notify(GENERIC, "persist", db, &args[1]);
            Ok(Reply::Integer(1))
        }
        _ => Ok(Reply::Integer(0)),
    }
}

/// The record of the OBJECT subcommand's key; None replies nil.
fn object_key(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Option<Record>> {
    let db = ctx.db();
    // OBJECT inspects without a `keymiss` event (Redis's LOOKUP_NONOTIFY).
    ctx.reading = false;
    ctx.store().get(db, &args[2])
}

fn lfu_policy(ctx: &Ctx) -> bool {
    ctx.shared.config.get("maxmemory-policy").contains("lfu")
}

/// The encoding Redis would give a string value: `int` for a canonical 64-bit integer,
/// `embstr` up to 44 bytes, else `raw`; strings modified in place are always `raw`, and
/// computed floats are never `int`.
fn string_encoding(rec: &Record) -> &'static str {
    let v = rec.str_value();
    if rec.flags() & FLAG_RAW != 0 {
        "raw"
    } else if rec.flags() & FLAG_NOINT == 0 && v.len() <= 20 && parse_i64(v).is_some() {
        "int"
    } else if v.len() <= 44 {
        "embstr"
    } else {
        "raw"
    }
}

fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(rec) = object_key(ctx, args)? else {
        return Ok(Reply::Nil);
    };
    match rec.kind() {
        Kind::String => Ok(Reply::bulk_str(string_encoding(&rec))),
        // Redis 7.0 always encodes lists as quicklists.
        Kind::List => Ok(Reply::bulk_str("quicklist")),
        Kind::Hash => Ok(Reply::bulk_str(hash::encoding(rec.extra()))),
        Kind::Set => Ok(Reply::bulk_str(set::encoding(rec.extra()))),
        Kind::ZSet => Ok(Reply::bulk_str(zset::encoding(rec.extra()))),
    }
}

fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(rec) = object_key(ctx, args)? else {
        return Ok(Reply::Nil);
    };
    // Redis shares the objects of the integers 0..9999 (refcount INT_MAX) unless an LRU/LFU
    // policy is in force with a memory limit.
    let policy = ctx.shared.config.get("maxmemory-policy");
    let sharing = ctx.shared.config.get_i64("maxmemory") == 0
        || !(policy.contains("lru") || policy.contains("lfu"));
    let shared_int = rec.kind() == Kind::String
        && string_encoding(&rec) == "int"
        && parse_i64(rec.str_value()).is_some_and(|n| (0..10000).contains(&n));
    Ok(Reply::Integer(if sharing && shared_int {
        i32::MAX as i64
    } else {
        1
    }))
}

fn idle_ms(rec: &Record) -> u64 {
    now_ms().saturating_sub(rec.written_at())
}

/// Seconds since the key's value was last written (reads are not tracked, so that GET costs
/// nothing extra).
fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(rec) = object_key(ctx, args)? else {
        return Ok(Reply::Nil);
    };
    if lfu_policy(ctx) {
        return Err(CmdError::err("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    Ok(Reply::Integer((idle_ms(&rec) / 1000) as i64))
}

/// Redis's LFU counter starts at 5 for a new value and decays by one per idle minute. Reads are
/// not tracked, so this is the counter of a key not read since its last write.
fn object_freq(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(rec) = object_key(ctx, args)? else {
        return Ok(Reply::Nil);
    };
    if !lfu_policy(ctx) {
        return Err(CmdError::err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    const LFU_INIT_VAL: u64 = 5;
    let minutes = idle_ms(&rec) / 60_000;
    Ok(Reply::Integer(LFU_INIT_VAL.saturating_sub(minutes) as i64))
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(
        OBJECT_HELP.iter().map(|l| Reply::status(l)).collect(),
    ))
}

fn dump_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    match ctx.store().get(db, &args[1])? {
        Some(rec) => Ok(Reply::Bulk(Bytes::from(dump::encode(
            ctx.store(),
            db,
            &args[1],
            &rec,
        )?))),
        None => Ok(Reply::Nil),
    }
}

fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let (mut replace, mut absttl) = (false, false);
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut opts = Opts::new(&args[4..]);
    while let Some(opt) = opts.next_upper() {
        match opt.as_str() {
            "REPLACE" => replace = true,
            "ABSTTL" => absttl = true,
            "IDLETIME" if opts.remaining() >= 1 && freq.is_none() => {
                let v = int(opts.value()?)?;
                if v < 0 {
                    return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
                }
                idle = Some(v);
            }
            "FREQ" if opts.remaining() >= 1 && idle.is_none() => {
                let v = int(opts.value()?)?;
                if !(0..=255).contains(&v) {
                    return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
                }
                freq = Some(v);
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    let db = ctx.db();
    if !replace && ctx.store().get(db, key)?.is_some() {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let ttl = int(&args[2])?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    let obj = dump::check(&args[3])?;
    let parsed = dump::validate(obj)?;
    let now = now_ms() as i64;
    let expire_at = match ttl {
        0 => 0,
        t if absttl => t,
        t => t.saturating_add(now),
    };
    if expire_at != 0 && expire_at <= now {
        // Already expired: nothing is created (a replaced key is gone).
        if replace && ctx.store().delete(db, key)? {
            ctx.notify(GENERIC, "del", key);
        }
        return Ok(Reply::Ok);
    }
    let mut record = dump::restore(ctx.store(), db, key, obj, parsed.kind, expire_at as u64)?;
    // FREQ is accepted but has nothing to set: access frequency is not tracked.
    if let (Some(secs), false) = (idle, lfu_policy(ctx)) {
        let written = (now as u64).saturating_sub((secs as u64).saturating_mul(1000));
        if let Some(rec) = Record::from_raw(record.clone().into()) {
            record = rec.with_written_at(written);
        }
    }
    // A replaced key is deleted first, as Redis does (the restored key counts as `new`).
    if replace {
        ctx.store().delete(db, key)?;
    }
    ctx.store().put(db, key, record)?;
    ctx.notify(GENERIC, "restore", key);
    if parsed.kind == Kind::List {
        ctx.shared.blocking.signal(db, key);
    }
    Ok(Reply::Ok)
}
