//! Hash commands: fields as point reads and writes (HGET, HSET, HINCRBY touch one entry each),
//! whole-hash replies (HGETALL, HKEYS, HVALS), random fields and HSCAN.

use crate::storage::events::HASH;
use bytes::Bytes;

use super::args::{cursor, int, is, scan_opts, scan_reply, signed_count};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::types::collection::{self, Coll, Member};
use crate::types::hash;
use crate::util::glob::glob_match;
use crate::util::num::{i64_bytes, long_double_add, parse_i64, LdAddError};

const RWF: &str = "write denyoom fast";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("hset", -4, RWF, (1, 1, 1), "@write @hash @fast", "hash", "2.0.0", "Set the string value of a hash field", hset),
    cmd("hsetnx", 4, RWF, (1, 1, 1), "@write @hash @fast", "hash", "2.0.0", "Set the value of a hash field, only if the field does not exist", hsetnx),
    cmd("hget", 3, "readonly fast", (1, 1, 1), "@read @hash @fast", "hash", "2.0.0", "Get the value of a hash field", hget),
    cmd("hmget", -3, "readonly fast", (1, 1, 1), "@read @hash @fast", "hash", "2.0.0", "Get the values of all the given hash fields", hmget),
    cmd("hmset", -4, RWF, (1, 1, 1), "@write @hash @fast", "hash", "2.0.0", "Set multiple hash fields to multiple values", hmset),
    cmd("hdel", -3, "write fast", (1, 1, 1), "@write @hash @fast", "hash", "2.0.0", "Delete one or more hash fields", hdel),
    cmd("hlen", 2, "readonly fast", (1, 1, 1), "@read @hash @fast", "hash", "2.0.0", "Get the number of fields in a hash", hlen),
    cmd("hstrlen", 3, "readonly fast", (1, 1, 1), "@read @hash @fast", "hash", "3.2.0", "Get the length of the value of a hash field", hstrlen),
    cmd("hexists", 3, "readonly fast", (1, 1, 1), "@read @hash @fast", "hash", "2.0.0", "Determine if a hash field exists", hexists),
    cmd("hkeys", 2, "readonly", (1, 1, 1), "@read @hash @slow", "hash", "2.0.0", "Get all the fields in a hash", hkeys),
    cmd("hvals", 2, "readonly", (1, 1, 1), "@read @hash @slow", "hash", "2.0.0", "Get all the values in a hash", hvals),
    cmd("hgetall", 2, "readonly", (1, 1, 1), "@read @hash @slow", "hash", "2.0.0", "Get all the fields and values in a hash", hgetall),
    cmd("hincrby", 4, RWF, (1, 1, 1), "@write @hash @fast", "hash", "2.0.0", "Increment the integer value of a hash field by the given number", hincrby),
    cmd("hincrbyfloat", 4, RWF, (1, 1, 1), "@write @hash @fast", "hash", "2.6.0", "Increment the float value of a hash field by the given amount", hincrbyfloat),
    cmd("hrandfield", -2, "readonly", (1, 1, 1), "@read @hash @slow", "hash", "6.2.0", "Get one or multiple random fields from a hash", hrandfield),
    cmd("hscan", -3, "readonly", (1, 1, 1), "@read @hash @slow", "hash", "2.8.0", "Incrementally iterate hash fields and associated values", hscan),
];

fn bulk(v: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(v))
}

fn read(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Option<Coll>> {
    let db = ctx.db();
    hash::get(ctx.store(), db, key)
}

/// HSET and HMSET: field/value pairs after the key; an odd count is an arity error.
fn set_pairs(ctx: &mut Ctx, args: &[Bytes], name: &str) -> CmdResult<i64> {
    if args.len() % 2 == 1 {
        return Err(CmdError::Arity(name.into()));
    }
    let db = ctx.db();
    let store = ctx.store();
    let mut c = hash::get_or_new(store, db, &args[1])?;
    let mut added = 0;
    for pair in args[2..].chunks(2) {
        if hash::set(store, &mut c, &pair[0], &pair[1])? {
            added += 1;
        }
    }
    collection::save(store, db, &args[1], &c)?;
    store.notify(HASH, "hset", db, &args[1]);
    Ok(added)
}

fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Integer(set_pairs(ctx, args, "hset")?))
}

fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    set_pairs(ctx, args, "hmset")?;
    Ok(Reply::Ok)
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let mut c = hash::get_or_new(store, db, &args[1])?;
    if c.exists && hash::field(store, &c, &args[2])?.is_some() {
        return Ok(Reply::Integer(0));
    }
    hash::set(store, &mut c, &args[2], &args[3])?;
    collection::save(store, db, &args[1], &c)?;
    store.notify(HASH, "hset", db, &args[1]);
    Ok(Reply::Integer(1))
}

fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(c) = read(ctx, &args[1])? else {
        return Ok(Reply::Nil);
    };
    let v = hash::field(ctx.store(), &c, &args[2])?;
    Ok(v.map_or(Reply::Nil, |v| bulk(&v)))
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let c = read(ctx, &args[1])?;
    let store = ctx.store();
    let mut out = Vec::with_capacity(args.len() - 2);
    for f in &args[2..] {
        let v = match &c {
            Some(c) => hash::field(store, c, f)?,
            None => None,
        };
        out.push(v.map_or(Reply::Nil, |v| bulk(&v)));
    }
    Ok(Reply::Array(out))
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut c) = hash::get(store, db, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0;
    for f in &args[2..] {
        if hash::del(store, &mut c, f)? {
            removed += 1;
        }
    }
    if removed > 0 {
        store.notify(HASH, "hdel", db, &args[1]);
        collection::save(store, db, &args[1], &c)?;
    }
    Ok(Reply::Integer(removed))
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Integer(
        read(ctx, &args[1])?.map_or(0, |c| c.size as i64),
    ))
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(c) = read(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let v = hash::field(ctx.store(), &c, &args[2])?;
    Ok(Reply::Integer(v.map_or(0, |v| v.len() as i64)))
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(c) = read(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let v = hash::field(ctx.store(), &c, &args[2])?;
    Ok(Reply::Integer(v.is_some() as i64))
}

/// Every (field, value) of the hash at `key` in Redis's order; empty when it does not exist.
fn all(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Vec<Member>> {
    match read(ctx, key)? {
        Some(c) => hash::all(ctx.store(), &c),
        None => Ok(Vec::new()),
    }
}

fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let all = all(ctx, &args[1])?;
    Ok(Reply::Array(
        all.into_iter().map(|(f, _)| bulk(&f)).collect(),
    ))
}

fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let all = all(ctx, &args[1])?;
    Ok(Reply::Array(
        all.into_iter().map(|(_, v)| bulk(&v)).collect(),
    ))
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let all = all(ctx, &args[1])?;
    Ok(Reply::Map(
        all.into_iter().map(|(f, v)| (bulk(&f), bulk(&v))).collect(),
    ))
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let by = int(&args[3])?;
    let db = ctx.db();
    let store = ctx.store();
    let mut c = hash::get_or_new(store, db, &args[1])?;
    let cur = match hash::field(store, &c, &args[2])? {
        Some(v) => parse_i64(&v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
        None => 0,
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    hash::set(store, &mut c, &args[2], &i64_bytes(new))?;
    collection::save(store, db, &args[1], &c)?;
    store.notify(HASH, "hincrby", db, &args[1]);
    Ok(Reply::Integer(new))
}

fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    // The increment is checked on its own first: its errors come before the field's.
    match long_double_add(b"0", &args[3]) {
        Err(LdAddError::NotAFloat) => return Err(CmdError::NotFloat),
        Err(LdAddError::NanOrInfinity) => return Err(CmdError::err("value is NaN or Infinity")),
        Ok(_) => {}
    }
    let db = ctx.db();
    let store = ctx.store();
    let mut c = hash::get_or_new(store, db, &args[1])?;
    let cur = hash::field(store, &c, &args[2])?;
    let new = long_double_add(cur.as_deref().unwrap_or(b"0"), &args[3]).map_err(|e| match e {
        LdAddError::NotAFloat => CmdError::err("hash value is not a float"),
        LdAddError::NanOrInfinity => CmdError::err("increment would produce NaN or Infinity"),
    })?;
    hash::set(store, &mut c, &args[2], &new)?;
    collection::save(store, db, &args[1], &c)?;
    store.notify(HASH, "hincrbyfloat", db, &args[1]);
    Ok(Reply::Bulk(Bytes::from(new)))
}

fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() == 2 {
        let Some(c) = read(ctx, &args[1])? else {
            return Ok(Reply::Nil);
        };
        let pick = collection::random_member(ctx.store(), &c)?;
        return Ok(pick.map_or(Reply::Nil, |(f, _)| bulk(&f)));
    }
    let n = signed_count(&args[2])?;
    let withvalues = match args.len() {
        3 => false,
        4 if is(&args[3], "WITHVALUES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(CmdError::err("value is out of range"));
    }
    let Some(c) = read(ctx, &args[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let count = n.unsigned_abs();
    let store = ctx.store();
    let picks = if count == 0 {
        Vec::new()
    } else if n < 0 {
        hash::values(&c, collection::random_repeated(store, &c, count)?)?
    } else if count >= c.size {
        // As Redis: a count covering the hash answers the whole hash, in its order.
        hash::all(store, &c)?
    } else {
        // Distinct picks of a listpack hash come in its order, as Redis's listpack sampling.
        hash::in_order(&c, collection::random_distinct(store, &c, count)?)?
    };
    let resp3 = ctx.session.resp3;
    let mut out = Vec::with_capacity(picks.len() * if withvalues { 2 } else { 1 });
    for (f, v) in picks {
        match (withvalues, resp3) {
            (false, _) => out.push(bulk(&f)),
            (true, true) => out.push(Reply::Array(vec![bulk(&f), bulk(&v)])),
            (true, false) => out.extend([bulk(&f), bulk(&v)]),
        }
    }
    Ok(Reply::Array(out))
}

fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let cur = cursor(&args[2])?;
    // As Redis: a missing key answers before the options are parsed.
    let Some(c) = read(ctx, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (pattern, count) = scan_opts(&args[3..])?;
    let whole = hash::is_listpack(&c);
    let keep = |f: &[u8]| pattern.is_none_or(|p| glob_match(p, f, false));
    let (next, found) = collection::scan_members(ctx.store(), &c, cur, count, whole, keep)?;
    // A listpack hash comes whole, in Redis's (insertion) order.
    let found = if whole {
        hash::in_order(&c, found)?
    } else {
        hash::values(&c, found)?
    };
    let mut out = Vec::with_capacity(found.len() * 2);
    for (f, v) in found {
        out.extend([bulk(&f), bulk(&v)]);
    }
    Ok(scan_reply(next, out))
}
