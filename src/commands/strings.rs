//! String commands: GET/SET and friends, counters (INCR*, INCRBYFLOAT), APPEND and ranges,
//! multi-key MGET/MSET, LCS.

use bytes::Bytes;

use super::args::{expire_at, int, Opts};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::storage::events::{GENERIC, STRING};
use crate::storage::{encode_string, now_ms, Kind};
use crate::types::string;
use crate::util::num::{long_double_add, LdAddError};

const RW: &str = "write denyoom";
const RWF: &str = "write denyoom fast";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("get", 2, "readonly fast", (1, 1, 1), "@read @string @fast", "string", "1.0.0", "Get the value of a key", get),
    cmd("set", -3, RW, (1, 1, 1), "@write @string @slow", "string", "1.0.0", "Set the string value of a key", set),
    cmd("setnx", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Set the value of a key, only if the key does not exist", setnx),
    cmd("setex", 4, RW, (1, 1, 1), "@write @string @slow", "string", "2.0.0", "Set the value and expiration of a key", setex),
    cmd("psetex", 4, RW, (1, 1, 1), "@write @string @slow", "string", "2.6.0", "Set the value and expiration in milliseconds of a key", psetex),
    cmd("getset", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Set the string value of a key and return its old value", getset),
    cmd("getdel", 2, "write fast", (1, 1, 1), "@write @string @fast", "string", "6.2.0", "Get the value of a key and delete the key", getdel),
    cmd("getex", -2, "write fast", (1, 1, 1), "@write @string @fast", "string", "6.2.0", "Get the value of a key and optionally set its expiration", getex),
    cmd("mget", -2, "readonly fast", (1, -1, 1), "@read @string @fast", "string", "1.0.0", "Get the values of all the given keys", mget),
    cmd("mset", -3, RW, (1, -1, 2), "@write @string @slow", "string", "1.0.1", "Set multiple keys to multiple values", mset),
    cmd("msetnx", -3, RW, (1, -1, 2), "@write @string @slow", "string", "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist", msetnx),
    cmd("incr", 2, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Increment the integer value of a key by one", incr),
    cmd("decr", 2, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Decrement the integer value of a key by one", decr),
    cmd("incrby", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Increment the integer value of a key by the given amount", incrby),
    cmd("decrby", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Decrement the integer value of a key by the given number", decrby),
    cmd("incrbyfloat", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "2.6.0", "Increment the float value of a key by the given amount", incrbyfloat),
    cmd("append", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "2.0.0", "Append a value to a key", append),
    cmd("strlen", 2, "readonly fast", (1, 1, 1), "@read @string @fast", "string", "2.2.0", "Get the length of the value stored in a key", strlen),
    cmd("getrange", 4, "readonly", (1, 1, 1), "@read @string @slow", "string", "2.4.0", "Get a substring of the string stored at a key", getrange),
    cmd("substr", 4, "readonly", (1, 1, 1), "@read @string @slow", "string", "1.0.0", "Get a substring of the string stored at a key", getrange),
    cmd("setrange", 4, RW, (1, 1, 1), "@write @string @slow", "string", "2.2.0", "Overwrite part of a string at key starting at the specified offset", setrange),
    cmd("lcs", -3, "readonly", (1, 2, 1), "@read @string @slow", "string", "7.0.0", "Find longest common substring", lcs),
];

fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let rec = string::get(ctx.store(), db, &args[1])?;
    ctx.shared.stats.hit(rec.is_some());
    Ok(Reply::opt_bulk(rec.map(|r| r.str_bytes())))
}

/// Options of SET and GETEX, parsed as Redis's `parseExtendedStringArgumentsOrReply`. The expiry
/// argument is only validated after the whole line parsed, so syntax errors win.
#[derive(Default)]
struct SetOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// (milliseconds per unit, absolute) and the argument of EX, PX, EXAT or PXAT.
    expire: Option<((i64, bool), &'a [u8])>,
}

fn expire_kind(opt: &str) -> Option<(i64, bool)> {
    match opt {
        "EX" => Some((1000, false)),
        "PX" => Some((1, false)),
        "EXAT" => Some((1000, true)),
        "PXAT" => Some((1, true)),
        _ => None,
    }
}

impl<'a> SetOpts<'a> {
    /// SET's options when `for_set`, else GETEX's. An option may repeat (the last expiry wins)
    /// but not combine with a conflicting one.
    fn parse(args: &'a [Bytes], for_set: bool) -> CmdResult<SetOpts<'a>> {
        let mut o = SetOpts::default();
        let mut opts = Opts::new(args);
        while let Some(opt) = opts.next_upper() {
            match opt.as_str() {
                "NX" if for_set && !o.xx => o.nx = true,
                "XX" if for_set && !o.nx => o.xx = true,
                "GET" if for_set => o.get = true,
                "KEEPTTL" if for_set && o.expire.is_none() => o.keepttl = true,
                "PERSIST" if !for_set && o.expire.is_none() => o.persist = true,
                _ => match expire_kind(&opt) {
                    Some(kind)
                        if !o.keepttl && !o.persist && o.expire.is_none_or(|(k, _)| k == kind) =>
                    {
                        o.expire = Some((kind, opts.value()?));
                    }
                    _ => return Err(CmdError::Syntax),
                },
            }
        }
        Ok(o)
    }

    /// The absolute expiry in unix milliseconds, if an expiry option was given.
    fn expire_at(&self, command: &str) -> CmdResult<Option<u64>> {
        self.expire
            .map(|((unit, abs), arg)| expire_at(arg, unit, abs, command))
            .transpose()
    }
}

/// The shared core of SET, SETNX, SETEX, PSETEX, GETSET: returns whether the write happened and
/// the old value (read with a type check when `o.get`).
fn set_with(
    ctx: &mut Ctx,
    key: &[u8],
    value: &[u8],
    o: &SetOpts,
    expire_at: Option<u64>,
) -> CmdResult<(bool, Option<Bytes>)> {
    let db = ctx.db();
    let store = ctx.store();
    // A plain SET needs nothing from the old value: skip the read (the hot path).
    let old = if o.get {
        // SET GET and GETSET read the old value as GET does (a miss is a `keymiss`).
        store.reading(|s| string::get(s, db, key))?
    } else if o.nx || o.xx || o.keepttl {
        store.get(db, key)?
    } else {
        None
    };
    if (o.nx && old.is_some()) || (o.xx && old.is_none()) {
        return Ok((false, old.map(|r| r.str_bytes())));
    }
    let expire = match (expire_at, o.keepttl) {
        (Some(at), _) => at,
        (None, true) => old.as_ref().map_or(0, |r| r.expire_at()),
        _ => 0,
    };
    // An expiry already in the past is stored as it is, as Redis 7.0 does: the key reads as
    // absent and expires (with its `expired` event) like any other.
    string::set(store, db, key, value, expire)?;
    ctx.notify(STRING, "set", key);
    if expire_at.is_some() {
        ctx.notify(GENERIC, "expire", key);
    }
    Ok((true, old.map(|r| r.str_bytes())))
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let o = SetOpts::parse(&args[3..], true)?;
    let at = o.expire_at("set")?;
    let (done, old) = set_with(ctx, &args[1], &args[2], &o, at)?;
    Ok(match (o.get, done) {
        (true, _) => Reply::opt_bulk(old),
        (false, true) => Reply::Ok,
        (false, false) => Reply::Nil,
    })
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let o = SetOpts {
        nx: true,
        ..Default::default()
    };
    let (done, _) = set_with(ctx, &args[1], &args[2], &o, None)?;
    Ok(Reply::Integer(done as i64))
}

fn setex_with(ctx: &mut Ctx, args: &[Bytes], unit: i64, name: &str) -> CmdResult<Reply> {
    let at = expire_at(&args[2], unit, false, name)?;
    set_with(ctx, &args[1], &args[3], &SetOpts::default(), Some(at))?;
    Ok(Reply::Ok)
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setex_with(ctx, args, 1000, "setex")
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setex_with(ctx, args, 1, "psetex")
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let o = SetOpts {
        get: true,
        ..Default::default()
    };
    let (_, old) = set_with(ctx, &args[1], &args[2], &o, None)?;
    Ok(Reply::opt_bulk(old))
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    ctx.reading = true;
    let store = ctx.store();
    let Some(rec) = string::get(store, db, &args[1])? else {
        return Ok(Reply::Nil);
    };
    store.delete(db, &args[1])?;
    ctx.notify(GENERIC, "del", &args[1]);
    Ok(Reply::Bulk(rec.str_bytes()))
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let o = SetOpts::parse(&args[2..], false)?;
    let db = ctx.db();
    ctx.reading = true;
    let store = ctx.store();
    let Some(rec) = string::get(store, db, &args[1])? else {
        return Ok(Reply::Nil);
    };
    // Redis validates the expiry only once the key is known to be a string.
    let new_expire = if o.persist {
        Some(0)
    } else {
        o.expire_at("getex")?
    };
    match new_expire {
        Some(at) if at != 0 && at <= now_ms() => {
            store.delete(db, &args[1])?;
            ctx.notify(GENERIC, "del", &args[1]);
        }
        Some(at) => {
            if at != rec.expire_at() {
                store.put(db, &args[1], rec.with_expire(at))?;
            }
            // Redis reports PERSIST only when it removed a TTL, an expiry whenever one is set.
            if at != 0 {
                ctx.notify(GENERIC, "expire", &args[1]);
            } else if rec.expire_at() != 0 {
                ctx.notify(GENERIC, "persist", &args[1]);
            }
        }
        None => {}
    }
    Ok(Reply::Bulk(rec.str_bytes()))
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let mut out = Vec::with_capacity(args.len() - 1);
    for key in &args[1..] {
        // MGET answers nil for keys of other types instead of failing.
        let v = match store.get(db, key)? {
            Some(r) if r.kind() == Kind::String => Reply::Bulk(r.str_bytes()),
            _ => Reply::Nil,
        };
        out.push(v);
    }
    Ok(Reply::Array(out))
}

fn mset_pairs(args: &[Bytes], name: &str) -> CmdResult<()> {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Arity(name.into()));
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    mset_pairs(args, "mset")?;
    set_each(ctx, args)?;
    Ok(Reply::Ok)
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    mset_pairs(args, "msetnx")?;
    let db = ctx.db();
    let store = ctx.store();
    for kv in args[1..].chunks(2) {
        if store.get(db, &kv[0])?.is_some() {
            return Ok(Reply::Integer(0));
        }
    }
    set_each(ctx, args)?;
    Ok(Reply::Integer(1))
}

/// MSET's and MSETNX's writes, key by key with each key's `set` event as Redis orders them
/// (the batch still reaches the disk as one unit: the memtable hands sled whole commands).
fn set_each(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<()> {
    let db = ctx.db();
    for kv in args[1..].chunks(2) {
        ctx.store().put(db, &kv[0], encode_string(&kv[1], 0, 0))?;
        ctx.notify(STRING, "set", &kv[0]);
    }
    Ok(())
}

/// Adds `by` to the integer at `key`, keeping its TTL.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let (cur, expire) = string::get_int(store, db, key)?;
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    let text = crate::util::num::i64_bytes(new);
    string::set(store, db, key, &text, expire)?;
    ctx.notify(STRING, "incrby", key);
    Ok(Reply::Integer(new))
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let by = int(&args[2])?;
    incr_by(ctx, &args[1], by)
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let by = int(&args[2])?;
    if by == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_by(ctx, &args[1], -by)
}

fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let rec = string::get(store, db, &args[1])?;
    let current = rec.as_ref().map_or(&b"0"[..], |r| r.str_value());
    let new = long_double_add(current, &args[2]).map_err(|e| match e {
        LdAddError::NotAFloat => CmdError::NotFloat,
        LdAddError::NanOrInfinity => CmdError::err("increment would produce NaN or Infinity"),
    })?;
    let expire = rec.as_ref().map_or(0, |r| r.expire_at());
    string::set_flagged(store, db, &args[1], &new, expire, string::FLAG_NOINT)?;
    ctx.notify(STRING, "incrbyfloat", &args[1]);
    Ok(Reply::Bulk(Bytes::from(new)))
}

fn append(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let max_len = ctx.shared.config.proto_max_bulk_len();
    let db = ctx.db();
    let store = ctx.store();
    let Some(rec) = string::get(store, db, &args[1])? else {
        string::set(store, db, &args[1], &args[2], 0)?;
        ctx.notify(STRING, "append", &args[1]);
        return Ok(Reply::Integer(args[2].len() as i64));
    };
    let old = rec.str_value();
    string::check_len(old.len() as u64, args[2].len() as u64, max_len)?;
    let value = [old, &args[2][..]].concat();
    string::set_flagged(
        store,
        db,
        &args[1],
        &value,
        rec.expire_at(),
        string::FLAG_RAW,
    )?;
    ctx.notify(STRING, "append", &args[1]);
    Ok(Reply::Integer(value.len() as i64))
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let rec = string::get(ctx.store(), db, &args[1])?;
    Ok(Reply::Integer(
        rec.map_or(0, |r| r.str_value().len() as i64),
    ))
}

/// GETRANGE and its old name SUBSTR.
fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let db = ctx.db();
    let Some(rec) = string::get(ctx.store(), db, &args[1])? else {
        return Ok(Reply::Bulk(Bytes::new()));
    };
    let s = rec.str_value();
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    Ok(Reply::Bulk(
        match string::clamp_range(start, end, s.len() as i64) {
            Some((a, b)) => Bytes::copy_from_slice(&s[a as usize..=b as usize]),
            None => Bytes::new(),
        },
    ))
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let offset = int(&args[2])?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let value = &args[3];
    let max_len = ctx.shared.config.proto_max_bulk_len();
    let db = ctx.db();
    let store = ctx.store();
    let rec = string::get(store, db, &args[1])?;
    let old = rec.as_ref().map_or(&[][..], |r| r.str_value());
    // Writing nothing creates nothing and leaves the string as it is.
    if value.is_empty() {
        return Ok(Reply::Integer(old.len() as i64));
    }
    string::check_len(offset as u64, value.len() as u64, max_len)?;
    let offset = offset as usize;
    let mut new = old.to_vec();
    if new.len() < offset + value.len() {
        new.resize(offset + value.len(), 0);
    }
    new[offset..offset + value.len()].copy_from_slice(value);
    let expire = rec.as_ref().map_or(0, |r| r.expire_at());
    string::set_flagged(store, db, &args[1], &new, expire, string::FLAG_RAW)?;
    ctx.notify(STRING, "setrange", &args[1]);
    Ok(Reply::Integer(new.len() as i64))
}

fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let max_len = ctx.shared.config.proto_max_bulk_len();
    let db = ctx.db();
    let store = ctx.store();
    let mut values = Vec::with_capacity(2);
    for key in &args[1..3] {
        match store.get(db, key)? {
            Some(r) if r.kind() != Kind::String => {
                return Err(CmdError::err(
                    "The specified keys must contain string values",
                ))
            }
            r => values.push(r.map_or(Bytes::new(), |r| r.str_bytes())),
        }
    }
    let (mut idx, mut len_only, mut with_len, mut min_len) = (false, false, false, 0);
    let mut opts = Opts::new(&args[3..]);
    while let Some(opt) = opts.next_upper() {
        match opt.as_str() {
            "IDX" => idx = true,
            "LEN" => len_only = true,
            "WITHMATCHLEN" => with_len = true,
            "MINMATCHLEN" if opts.remaining() > 0 => min_len = int(opts.value()?)?.max(0),
            _ => return Err(CmdError::Syntax),
        }
    }
    if idx && len_only {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (a, b) = (&values[0], &values[1]);
    if string::lcs_table_bytes(a, b) > max_len.max(0) as u64 {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let found = string::lcs(a, b, !len_only);
    if len_only {
        return Ok(Reply::Integer(found.len as i64));
    }
    if !idx {
        return Ok(Reply::Bulk(Bytes::from(found.text)));
    }
    let range = |(s, e): (usize, usize)| {
        Reply::Array(vec![Reply::Integer(s as i64), Reply::Integer(e as i64)])
    };
    let matches = found
        .matches
        .iter()
        .filter(|m| m.len as i64 >= min_len)
        .map(|m| {
            let mut item = vec![range(m.a), range(m.b)];
            if with_len {
                item.push(Reply::Integer(m.len as i64));
            }
            Reply::Array(item)
        })
        .collect();
    Ok(Reply::Map(vec![
        (Reply::bulk_str("matches"), Reply::Array(matches)),
        (Reply::bulk_str("len"), Reply::Integer(found.len as i64)),
    ]))
}
