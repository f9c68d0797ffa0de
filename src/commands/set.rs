//! Set commands: membership as point reads and writes (SADD, SREM, SISMEMBER, SMOVE touch one
//! entry per element), random elements, the algebra (SINTER, SUNION, SDIFF and their STORE and
//! CARD forms) and SSCAN.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::args::{cursor, int, scan_opts, scan_reply, signed_count};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::storage::events::{GENERIC, SET};
use crate::storage::{encode_collection, Kind, Store};
use crate::types::collection::{self, Coll};
use crate::types::set;
use crate::util::glob::glob_match;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("sadd", -3, "write denyoom fast", (1, 1, 1), "@write @set @fast", "set", "1.0.0", "Add one or more members to a set", sadd),
    cmd("srem", -3, "write fast", (1, 1, 1), "@write @set @fast", "set", "1.0.0", "Remove one or more members from a set", srem),
    cmd("scard", 2, "readonly fast", (1, 1, 1), "@read @set @fast", "set", "1.0.0", "Get the number of members in a set", scard),
    cmd("sismember", 3, "readonly fast", (1, 1, 1), "@read @set @fast", "set", "1.0.0", "Determine if a given value is a member of a set", sismember),
    cmd("smismember", -3, "readonly fast", (1, 1, 1), "@read @set @fast", "set", "6.2.0", "Returns the membership associated with the given elements for a set", smismember),
    cmd("smembers", 2, "readonly", (1, 1, 1), "@read @set @slow", "set", "1.0.0", "Get all the members in a set", smembers),
    cmd("spop", -2, "write fast", (1, 1, 1), "@write @set @fast", "set", "1.0.0", "Remove and return one or multiple random members from a set", spop),
    cmd("srandmember", -2, "readonly", (1, 1, 1), "@read @set @slow", "set", "1.0.0", "Get one or multiple random members from a set", srandmember),
    cmd("smove", 4, "write fast", (1, 2, 1), "@write @set @fast", "set", "1.0.0", "Move a member from one set to another", smove),
    cmd("sinter", -2, "readonly", (1, -1, 1), "@read @set @slow", "set", "1.0.0", "Intersect multiple sets", sinter),
    cmd("sintercard", -3, "readonly movablekeys", (0, 0, 0), "@read @set @slow", "set", "7.0.0", "Intersect multiple sets and return the cardinality of the result", sintercard),
    cmd("sinterstore", -3, "write denyoom", (1, -1, 1), "@write @set @slow", "set", "1.0.0", "Intersect multiple sets and store the resulting set in a key", sinterstore),
    cmd("sunion", -2, "readonly", (1, -1, 1), "@read @set @slow", "set", "1.0.0", "Add multiple sets", sunion),
    cmd("sunionstore", -3, "write denyoom", (1, -1, 1), "@write @set @slow", "set", "1.0.0", "Add multiple sets and store the resulting set in a key", sunionstore),
    cmd("sdiff", -2, "readonly", (1, -1, 1), "@read @set @slow", "set", "1.0.0", "Subtract multiple sets", sdiff),
    cmd("sdiffstore", -3, "write denyoom", (1, -1, 1), "@write @set @slow", "set", "1.0.0", "Subtract multiple sets and store the resulting set in a key", sdiffstore),
    cmd("sscan", -3, "readonly", (1, 1, 1), "@read @set @slow", "set", "2.8.0", "Incrementally iterate Set elements", sscan),
];

fn bulk(v: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(v))
}

fn set_reply(members: impl IntoIterator<Item = Vec<u8>>) -> Reply {
    Reply::Set(members.into_iter().map(|m| bulk(&m)).collect())
}

fn read(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Option<Coll>> {
    let db = ctx.db();
    set::get(ctx.store(), db, key)
}

fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let mut c = set::get_or_new(store, db, &args[1])?;
    let mut added = 0;
    for m in &args[2..] {
        if set::add(store, &mut c, m)? {
            added += 1;
        }
    }
    if added > 0 {
        collection::save(store, db, &args[1], &c)?;
        store.notify(SET, "sadd", db, &args[1]);
    }
    Ok(Reply::Integer(added))
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut c) = set::get(store, db, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0;
    for m in &args[2..] {
        if set::remove(store, &mut c, m)? {
            removed += 1;
        }
    }
    if removed > 0 {
        store.notify(SET, "srem", db, &args[1]);
        collection::save(store, db, &args[1], &c)?;
    }
    Ok(Reply::Integer(removed))
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Integer(
        read(ctx, &args[1])?.map_or(0, |c| c.size as i64),
    ))
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(c) = read(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(
        set::contains(ctx.store(), &c, &args[2])? as i64
    ))
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let c = read(ctx, &args[1])?;
    let store = ctx.store();
    let mut out = Vec::with_capacity(args.len() - 2);
    for m in &args[2..] {
        let found = match &c {
            Some(c) => set::contains(store, c, m)?,
            None => false,
        };
        out.push(Reply::Integer(found as i64));
    }
    Ok(Reply::Array(out))
}

/// Every element of the set at `key` in stored (byte) order; empty when it does not exist.
fn all(store: &mut Store, c: &Option<Coll>) -> CmdResult<Vec<Vec<u8>>> {
    match c {
        Some(c) => Ok(collection::members(store, c)?
            .into_iter()
            .map(|(m, _)| m)
            .collect()),
        None => Ok(Vec::new()),
    }
}

/// A whole-set reply, in Redis's order (see `set::intset_order`).
fn whole_reply(mut members: Vec<Vec<u8>>) -> Reply {
    set::intset_order(&mut members, |m| m);
    set_reply(members)
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let c = read(ctx, &args[1])?;
    Ok(whole_reply(all(ctx.store(), &c)?))
}

fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let count = match args.len() {
        2 => None,
        3 => {
            let positive = || CmdError::err("value is out of range, must be positive");
            let n = int(&args[2]).map_err(|_| positive())?;
            if n < 0 {
                return Err(positive());
            }
            Some(n as u64)
        }
        _ => return Err(CmdError::Syntax),
    };
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut c) = set::get(store, db, &args[1])? else {
        return Ok(match count {
            None => Reply::Nil,
            Some(_) => Reply::Set(Vec::new()),
        });
    };
    let picks = match count {
        None => collection::random_member(store, &c)?.into_iter().collect(),
        Some(0) => Vec::new(),
        Some(n) => collection::random_distinct(store, &c, n)?,
    };
    if !picks.is_empty() {
        store.notify(SET, "spop", db, &args[1]);
    }
    let (size, popped) = (c.size, picks.len() as u64);
    let whole = popped >= size;
    // Redis pops most of a set (at most a fifth of the count left behind) by setting the rest
    // aside: its reply is what the set held, in the set's order.
    let most = (size - popped.min(size)).saturating_mul(5) <= popped;
    if whole {
        // Everything popped: delete the key, its members are collected in the background.
        store.delete(db, &args[1])?;
        store.notify(GENERIC, "del", db, &args[1]);
    } else if !picks.is_empty() {
        for (m, _) in &picks {
            set::remove(store, &mut c, m)?;
        }
        collection::save(store, db, &args[1], &c)?;
    }
    let mut members: Vec<Vec<u8>> = picks.into_iter().map(|(m, _)| m).collect();
    Ok(match count {
        None => members.pop().map_or(Reply::Nil, |m| bulk(&m)),
        // As Redis: popping the whole set answers it as SUNION would, in its order.
        Some(_) if whole || (most && set::is_compact(&c)) => whole_reply(members),
        Some(_) => set_reply(members),
    })
}

fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let n = match args.len() {
        2 => None,
        3 => Some(signed_count(&args[2])?),
        _ => return Err(CmdError::Syntax),
    };
    let Some(c) = read(ctx, &args[1])? else {
        return Ok(match n {
            None => Reply::Nil,
            Some(_) => Reply::Array(Vec::new()),
        });
    };
    let store = ctx.store();
    let picks = match n {
        None => {
            let pick = collection::random_member(store, &c)?;
            return Ok(pick.map_or(Reply::Nil, |(m, _)| bulk(&m)));
        }
        Some(0) => Vec::new(),
        Some(n) if n < 0 => collection::random_repeated(store, &c, n.unsigned_abs())?,
        Some(n) if n as u64 >= c.size => {
            // As Redis: a count covering the set answers the whole set, in its order.
            let mut all = collection::members(store, &c)?;
            set::intset_order(&mut all, |(m, _)| m);
            all
        }
        Some(n) => collection::random_distinct(store, &c, n as u64)?,
    };
    Ok(Reply::Array(
        picks.into_iter().map(|(m, _)| bulk(&m)).collect(),
    ))
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let db = ctx.db();
    let store = ctx.store();
    let src_set = set::get(store, db, src)?;
    // As Redis: a missing source answers 0 before the destination's type is checked.
    let Some(mut s) = src_set else {
        return Ok(Reply::Integer(0));
    };
    let mut d = set::get_or_new(store, db, dst)?;
    if src == dst {
        return Ok(Reply::Integer(set::contains(store, &s, member)? as i64));
    }
    if !set::remove(store, &mut s, member)? {
        return Ok(Reply::Integer(0));
    }
    store.notify(SET, "srem", db, src);
    collection::save(store, db, src, &s)?;
    if set::add(store, &mut d, member)? {
        collection::save(store, db, dst, &d)?;
        store.notify(SET, "sadd", db, dst);
    }
    Ok(Reply::Integer(1))
}

/// Looks up every key as a set (WRONGTYPE for any other type, even after a missing one).
fn read_all(ctx: &mut Ctx, keys: &[Bytes]) -> CmdResult<Vec<Option<Coll>>> {
    keys.iter().map(|k| read(ctx, k)).collect()
}

/// The intersection of `sets`, at most `limit` elements: the smallest set's elements checked
/// against the others by point reads.
fn inter(store: &mut Store, sets: Vec<Option<Coll>>, limit: usize) -> CmdResult<Vec<Vec<u8>>> {
    let Some(mut sets) = sets.into_iter().collect::<Option<Vec<Coll>>>() else {
        return Ok(Vec::new());
    };
    sets.sort_by_key(|c| c.size);
    let Some((first, rest)) = sets.split_first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    'members: for (m, _) in collection::members(store, first)? {
        if out.len() >= limit {
            break;
        }
        for other in rest {
            if other.prefix != first.prefix && !set::contains(store, other, &m)? {
                continue 'members;
            }
        }
        out.push(m);
    }
    Ok(out)
}

fn union(store: &mut Store, sets: &[Option<Coll>]) -> CmdResult<Vec<Vec<u8>>> {
    let mut out = BTreeSet::new();
    for c in sets {
        out.extend(all(store, c)?);
    }
    Ok(out.into_iter().collect())
}

fn diff(store: &mut Store, sets: &[Option<Coll>]) -> CmdResult<Vec<Vec<u8>>> {
    let Some((first, rest)) = sets.split_first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    'members: for m in all(store, first)? {
        for c in rest.iter().flatten() {
            if set::contains(store, c, &m)? {
                continue 'members;
            }
        }
        out.push(m);
    }
    Ok(out)
}

/// Replaces `dst` with a new set of `members` (deletes it when empty); returns the size.
/// `event` names the command for keyspace notifications.
fn store_result(
    ctx: &mut Ctx,
    dst: &[u8],
    members: Vec<Vec<u8>>,
    event: &'static str,
) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    if members.is_empty() {
        if store.delete(db, dst)? {
            store.notify(GENERIC, "del", db, dst);
        }
        return Ok(Reply::Integer(0));
    }
    let mut c = collection::fresh(store, db, dst, Kind::Set)?;
    for m in &members {
        set::add(store, &mut c, m)?;
    }
    store.put(
        db,
        dst,
        encode_collection(Kind::Set, 0, c.version, c.size, &c.extra),
    )?;
    store.notify(SET, event, db, dst);
    Ok(Reply::Integer(c.size as i64))
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let sets = read_all(ctx, &args[1..])?;
    Ok(whole_reply(inter(ctx.store(), sets, usize::MAX)?))
}

fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let sets = ctx.reading(|ctx| read_all(ctx, &args[2..]))?;
    let members = inter(ctx.store(), sets, usize::MAX)?;
    store_result(ctx, &args[1], members, "sinterstore")
}

fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let numkeys = int(&args[1])
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    if numkeys > args.len() as i64 - 2 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let keys_end = 2 + numkeys as usize;
    let mut limit = 0i64;
    let mut i = keys_end;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"LIMIT") && i + 1 < args.len() {
            limit = int(&args[i + 1])
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let sets = read_all(ctx, &args[2..keys_end])?;
    let limit = if limit == 0 {
        usize::MAX
    } else {
        limit as usize
    };
    Ok(Reply::Integer(inter(ctx.store(), sets, limit)?.len() as i64))
}

fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let sets = read_all(ctx, &args[1..])?;
    Ok(whole_reply(union(ctx.store(), &sets)?))
}

fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let sets = ctx.reading(|ctx| read_all(ctx, &args[2..]))?;
    let members = union(ctx.store(), &sets)?;
    store_result(ctx, &args[1], members, "sunionstore")
}

fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let sets = read_all(ctx, &args[1..])?;
    Ok(whole_reply(diff(ctx.store(), &sets)?))
}

fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let sets = ctx.reading(|ctx| read_all(ctx, &args[2..]))?;
    let members = diff(ctx.store(), &sets)?;
    store_result(ctx, &args[1], members, "sdiffstore")
}

fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let cur = cursor(&args[2])?;
    // As Redis: a missing key answers before the options are parsed.
    let Some(c) = read(ctx, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (pattern, count) = scan_opts(&args[3..])?;
    let keep = |m: &[u8]| pattern.is_none_or(|p| glob_match(p, m, false));
    let whole = set::is_compact(&c);
    let (next, mut found) = collection::scan_members(ctx.store(), &c, cur, count, whole, keep)?;
    if whole {
        // An intset comes whole, in ascending numeric order.
        set::intset_order(&mut found, |(m, _)| m);
    }
    Ok(scan_reply(
        next,
        found.into_iter().map(|(m, _)| bulk(&m)).collect(),
    ))
}
