//! List commands: pushes and pops on both ends, indexes and ranges, LINSERT/LREM/LTRIM/LPOS,
//! LMOVE and LMPOP, and the blocking forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP), which
//! block through `server::blocking` when every key is empty.

use std::time::Duration;

use bytes::Bytes;

use super::args::{int, is, Opts};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::server::blocking::{BlockOp, BlockRequest, Served};
use crate::storage::events::LIST;
use crate::storage::Store;
use crate::types::list::{self, List};

const BLOCK: &str = "@write @list @slow @blocking";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("lpush", -3, "write denyoom fast", (1, 1, 1), "@write @list @fast", "list", "1.0.0", "Prepend one or multiple elements to a list", lpush),
    cmd("rpush", -3, "write denyoom fast", (1, 1, 1), "@write @list @fast", "list", "1.0.0", "Append one or multiple elements to a list", rpush),
    cmd("lpushx", -3, "write denyoom fast", (1, 1, 1), "@write @list @fast", "list", "2.2.0", "Prepend an element to a list, only if the list exists", lpushx),
    cmd("rpushx", -3, "write denyoom fast", (1, 1, 1), "@write @list @fast", "list", "2.2.0", "Append an element to a list, only if the list exists", rpushx),
    cmd("lpop", -2, "write fast", (1, 1, 1), "@write @list @fast", "list", "1.0.0", "Remove and get the first elements in a list", lpop),
    cmd("rpop", -2, "write fast", (1, 1, 1), "@write @list @fast", "list", "1.0.0", "Remove and get the last elements in a list", rpop),
    cmd("llen", 2, "readonly fast", (1, 1, 1), "@read @list @fast", "list", "1.0.0", "Get the length of a list", llen),
    cmd("lindex", 3, "readonly", (1, 1, 1), "@read @list @slow", "list", "1.0.0", "Get an element from a list by its index", lindex),
    cmd("lset", 4, "write denyoom", (1, 1, 1), "@write @list @slow", "list", "1.0.0", "Set the value of an element in a list by its index", lset),
    cmd("lrange", 4, "readonly", (1, 1, 1), "@read @list @slow", "list", "1.0.0", "Get a range of elements from a list", lrange),
    cmd("ltrim", 4, "write", (1, 1, 1), "@write @list @slow", "list", "1.0.0", "Trim a list to the specified range", ltrim),
    cmd("linsert", 5, "write denyoom", (1, 1, 1), "@write @list @slow", "list", "2.2.0", "Insert an element before or after another element in a list", linsert),
    cmd("lrem", 4, "write", (1, 1, 1), "@write @list @slow", "list", "1.0.0", "Remove elements from a list", lrem),
    cmd("lpos", -3, "readonly", (1, 1, 1), "@read @list @slow", "list", "6.0.6", "Return the index of matching elements on a list", lpos),
    cmd("lmove", 5, "write denyoom", (1, 2, 1), "@write @list @slow", "list", "6.2.0", "Pop an element from a list, push it to another list and return it", lmove),
    cmd("rpoplpush", 3, "write denyoom", (1, 2, 1), "@write @list @slow", "list", "1.2.0", "Remove the last element in a list, prepend it to another list and return it", rpoplpush),
    cmd("lmpop", -4, "write movablekeys", (0, 0, 0), "@write @list @slow", "list", "7.0.0", "Pop elements from a list", lmpop),
    cmd("blpop", -3, "write noscript blocking", (1, -2, 1), BLOCK, "list", "2.0.0", "Remove and get the first element in a list, or block until one is available", blpop),
    cmd("brpop", -3, "write noscript blocking", (1, -2, 1), BLOCK, "list", "2.0.0", "Remove and get the last element in a list, or block until one is available", brpop),
    cmd("blmove", 6, "write denyoom noscript blocking", (1, 2, 1), BLOCK, "list", "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", blmove),
    cmd("brpoplpush", 4, "write denyoom noscript blocking", (1, 2, 1), BLOCK, "list", "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", brpoplpush),
    cmd("blmpop", -5, "write blocking movablekeys", (0, 0, 0), BLOCK, "list", "7.0.0", "Pop elements from a list, or block until one is available", blmpop),
];

/// Stores `l` and wakes the clients blocked on `key` when the list was just created.
fn save(ctx: &mut Ctx, key: &[u8], l: &mut List) -> CmdResult<()> {
    let db = ctx.db();
    if list::save(ctx.store(), db, key, l)? {
        ctx.shared.blocking.signal(db, key);
    }
    Ok(())
}

fn push(ctx: &mut Ctx, args: &[Bytes], left: bool, only_existing: bool) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let mut l = if only_existing {
        match list::get(store, db, &args[1])? {
            Some(l) => l,
            None => return Ok(Reply::Integer(0)),
        }
    } else {
        list::get_or_new(store, db, &args[1])?
    };
    for v in &args[2..] {
        l.push(store, left, v);
    }
    let len = l.len();
    save(ctx, &args[1], &mut l)?;
    ctx.notify(LIST, push_event(left), &args[1]);
    Ok(Reply::Integer(len as i64))
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    push(ctx, args, true, false)
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    push(ctx, args, false, false)
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    push(ctx, args, true, true)
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    push(ctx, args, false, true)
}

fn push_event(left: bool) -> &'static str {
    if left {
        "lpush"
    } else {
        "rpush"
    }
}

fn pop_event(left: bool) -> &'static str {
    if left {
        "lpop"
    } else {
        "rpop"
    }
}

/// Pops up to `count` elements from one end of an existing list and stores it.
fn pop_n(
    store: &mut Store,
    db: usize,
    key: &[u8],
    l: &mut List,
    left: bool,
    count: u64,
) -> CmdResult<Vec<Reply>> {
    let mut out = Vec::new();
    while (out.len() as u64) < count {
        match l.pop(store, left)? {
            Some(v) => out.push(Reply::Bulk(v)),
            None => break,
        }
    }
    if !out.is_empty() {
        store.notify(LIST, pop_event(left), db, key);
    }
    list::save(store, db, key, l)?;
    Ok(out)
}

fn pop(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult<Reply> {
    if args.len() > 3 {
        let name = if left { "lpop" } else { "rpop" };
        return Err(CmdError::Arity(name.into()));
    }
    let count = match args.get(2) {
        Some(a) => Some(
            int(a)
                .ok()
                .filter(|&n| n >= 0)
                .ok_or_else(|| CmdError::err("value is out of range, must be positive"))?
                as u64,
        ),
        None => None,
    };
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut l) = list::get(store, db, &args[1])? else {
        return Ok(match count {
            Some(_) => Reply::NilArray,
            None => Reply::Nil,
        });
    };
    match count {
        None => {
            let items = pop_n(store, db, &args[1], &mut l, left, 1)?;
            Ok(items.into_iter().next().unwrap_or(Reply::Nil))
        }
        Some(n) => Ok(Reply::Array(pop_n(store, db, &args[1], &mut l, left, n)?)),
    }
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    pop(ctx, args, true)
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    pop(ctx, args, false)
}

fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let l = list::get(ctx.store(), db, &args[1])?;
    Ok(Reply::Integer(l.map_or(0, |l| l.len() as i64)))
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    // Redis looks the key up before it parses the index.
    let Some(l) = list::get(store, db, &args[1])? else {
        return Ok(Reply::Nil);
    };
    let i = int(&args[2])?;
    match l.index(i) {
        Some(i) => Ok(Reply::Bulk(l.get(store, i)?)),
        None => Ok(Reply::Nil),
    }
}

fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut l) = list::get(store, db, &args[1])? else {
        return Err(CmdError::NoSuchKey);
    };
    let i = int(&args[2])?;
    let i = l
        .index(i)
        .ok_or_else(|| CmdError::err("index out of range"))?;
    l.set(store, i, &args[3]);
    store.dirty += 1;
    store.notify(LIST, "lset", db, &args[1]);
    Ok(Reply::Ok)
}

/// Redis's start/end normalization for LRANGE and LTRIM: the inclusive 0-based range, or None
/// when it is empty.
fn clamp_range(len: u64, start: i64, end: i64) -> Option<(u64, u64)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as u64, end.min(len - 1) as u64))
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let db = ctx.db();
    let store = ctx.store();
    let Some(l) = list::get(store, db, &args[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(match clamp_range(l.len(), start, end) {
        Some((from, to)) => Reply::Bulks(Box::new(l.range_reply(store, from, to)?)),
        None => Reply::Array(Vec::new()),
    })
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut l) = list::get(store, db, &args[1])? else {
        return Ok(Reply::Ok);
    };
    let keep = clamp_range(l.len(), start, end);
    l.trim(store, keep)?;
    store.notify(LIST, "ltrim", db, &args[1]);
    list::save(store, db, &args[1], &mut l)?;
    Ok(Reply::Ok)
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut l) = list::get(store, db, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let old = l.all(store)?;
    let Some(p) = old.iter().position(|v| v == &args[3]) else {
        return Ok(Reply::Integer(-1));
    };
    let at = if after { p + 1 } else { p };
    let mut new = old.clone();
    new.insert(at, args[4].clone());
    // Shift the shorter side.
    let anchor_left = at >= old.len() / 2;
    l.rewrite(store, &old, &new, anchor_left);
    save(ctx, &args[1], &mut l)?;
    ctx.notify(LIST, "linsert", &args[1]);
    Ok(Reply::Integer(new.len() as i64))
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let count = int(&args[2])?;
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut l) = list::get(store, db, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let old = l.all(store)?;
    let limit = if count == 0 {
        u64::MAX
    } else {
        count.unsigned_abs()
    };
    let mut removed = 0u64;
    let mut keep = |v: &Bytes| {
        if removed < limit && v == &args[3] {
            removed += 1;
            false
        } else {
            true
        }
    };
    let new: Vec<Bytes> = if count < 0 {
        let mut n: Vec<Bytes> = old.iter().rev().filter(|v| keep(v)).cloned().collect();
        n.reverse();
        n
    } else {
        old.iter().filter(|v| keep(v)).cloned().collect()
    };
    if removed > 0 {
        l.rewrite(store, &old, &new, count >= 0);
        store.notify(LIST, "lrem", db, &args[1]);
        list::save(store, db, &args[1], &mut l)?;
    }
    Ok(Reply::Integer(removed as i64))
}

fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut opts = Opts::new(&args[3..]);
    while let Some(opt) = opts.next_upper() {
        match opt.as_str() {
            "RANK" => {
                rank = int(opts.value()?)?;
                if rank == 0 {
                    return Err(CmdError::err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
                }
            }
            "COUNT" => {
                let err = || CmdError::err("COUNT can't be negative");
                let n = int(opts.value()?).map_err(|_| err())?;
                count = Some(u64::try_from(n).map_err(|_| err())?);
            }
            "MAXLEN" => {
                let err = || CmdError::err("MAXLEN can't be negative");
                let n = int(opts.value()?).map_err(|_| err())?;
                maxlen = u64::try_from(n).map_err(|_| err())?;
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    let db = ctx.db();
    let store = ctx.store();
    let l = list::get(store, db, &args[1])?;
    let len = l.as_ref().map_or(0, |l| l.len());
    let want = match count {
        Some(0) => u64::MAX,
        Some(n) => n,
        None => 1,
    };
    let mut found = Vec::new();
    if let Some(l) = &l {
        // Redis negates the rank in a long: i64::MIN stays negative and matches at once.
        let mut skip = if rank == i64::MIN {
            0
        } else {
            rank.unsigned_abs() - 1
        };
        let scan = if maxlen == 0 { len } else { maxlen.min(len) };
        for step in 0..scan {
            let i = if rank > 0 { step } else { len - 1 - step };
            if l.get(store, i)? == args[2] {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                found.push(Reply::Integer(i as i64));
                if found.len() as u64 >= want {
                    break;
                }
            }
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(found),
        None => found.into_iter().next().unwrap_or(Reply::Nil),
    })
}

fn side(arg: &[u8]) -> CmdResult<bool> {
    if is(arg, "left") {
        Ok(true)
    } else if is(arg, "right") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// LMOVE's core: pops from `src` and pushes to `dst`. None when `src` does not exist. Returns
/// the element and whether `dst` was created. Events in Redis's order: the push on `dst`, then
/// the pop on `src` (and its `del` when emptied).
fn move_one(
    store: &mut Store,
    db: usize,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> CmdResult<Option<(Bytes, bool)>> {
    let Some(mut s) = list::get(store, db, src)? else {
        return Ok(None);
    };
    if src == dst {
        let Some(v) = s.pop(store, from_left)? else {
            return Ok(None);
        };
        s.push(store, to_left, &v);
        list::save(store, db, src, &mut s)?;
        store.notify(LIST, push_event(to_left), db, dst);
        store.notify(LIST, pop_event(from_left), db, src);
        return Ok(Some((v, false)));
    }
    // Redis checks the destination's type before popping.
    let mut d = list::get_or_new(store, db, dst)?;
    let Some(v) = s.pop(store, from_left)? else {
        return Ok(None);
    };
    d.push(store, to_left, &v);
    let created = list::save(store, db, dst, &mut d)?;
    store.notify(LIST, push_event(to_left), db, dst);
    store.notify(LIST, pop_event(from_left), db, src);
    list::save(store, db, src, &mut s)?;
    Ok(Some((v, created)))
}

fn lmove_with(ctx: &mut Ctx, src: &Bytes, dst: &Bytes, from: bool, to: bool) -> CmdResult<Reply> {
    let db = ctx.db();
    match move_one(ctx.store(), db, src, dst, from, to)? {
        Some((v, created)) => {
            if created {
                ctx.shared.blocking.signal(db, dst);
            }
            Ok(Reply::Bulk(v))
        }
        None => Ok(Reply::Nil),
    }
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (from, to) = (side(&args[3])?, side(&args[4])?);
    lmove_with(ctx, &args[1], &args[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    lmove_with(ctx, &args[1], &args[2], false, true)
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` (from `args[0]`): keys, side, count.
fn parse_mpop(args: &[Bytes]) -> CmdResult<(Vec<Bytes>, bool, u64)> {
    let numkeys_err = || CmdError::err("numkeys should be greater than 0");
    let n = int(&args[0]).map_err(|_| numkeys_err())?;
    if n <= 0 {
        return Err(numkeys_err());
    }
    let n = n as usize;
    if n >= args.len() - 1 {
        return Err(CmdError::Syntax);
    }
    let keys = args[1..=n].to_vec();
    let left = side(&args[n + 1])?;
    let mut count = None;
    let mut opts = Opts::new(&args[n + 2..]);
    while let Some(opt) = opts.next_upper() {
        match opt.as_str() {
            "COUNT" if count.is_none() => {
                let c = int(opts.value()?)
                    .ok()
                    .filter(|&c| c > 0)
                    .ok_or_else(|| CmdError::err("count should be greater than 0"))?;
                count = Some(c as u64);
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    Ok((keys, left, count.unwrap_or(1)))
}

/// LMPOP's reply from the first non-empty key, if any.
fn mpop_first(
    store: &mut Store,
    db: usize,
    keys: &[Bytes],
    left: bool,
    count: u64,
) -> CmdResult<Option<Reply>> {
    for k in keys {
        if let Some(mut l) = list::get(store, db, k)? {
            let items = pop_n(store, db, k, &mut l, left, count)?;
            return Ok(Some(Reply::Array(vec![
                Reply::Bulk(k.clone()),
                Reply::Array(items),
            ])));
        }
    }
    Ok(None)
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, left, count) = parse_mpop(&args[1..])?;
    let db = ctx.db();
    Ok(mpop_first(ctx.store(), db, &keys, left, count)?.unwrap_or(Reply::NilArray))
}

/// A blocking timeout in seconds (Redis's `getTimeoutFromObjectOrReply`): None waits forever.
pub(crate) fn timeout(arg: &[u8]) -> CmdResult<Option<Duration>> {
    let ms = crate::util::num::timeout_ms(arg)
        .ok_or_else(|| CmdError::err("timeout is not a float or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    if ms == 0 {
        return Ok(None);
    }
    // Far beyond any real wait: cap so the deadline stays representable.
    Ok(Some(Duration::from_millis((ms as u64).min(1 << 52))))
}

/// Blocks the client on `keys`: the connection registers it and replies when it is served.
/// Inside EXEC (a client that must not block), Redis does not block: the command answers as if
/// it timed out.
pub(crate) fn block(
    ctx: &mut Ctx,
    keys: Vec<Bytes>,
    timeout: Option<Duration>,
    op: BlockOp,
) -> Reply {
    if ctx.session.deny_blocking {
        return match op {
            BlockOp::Move { .. } => Reply::Nil,
            _ => Reply::NilArray,
        };
    }
    ctx.session.block = Some(BlockRequest { keys, timeout, op });
    Reply::NilArray
}

fn bpop(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult<Reply> {
    let t = timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    let db = ctx.db();
    let store = ctx.store();
    for k in keys {
        if let Some(mut l) = list::get(store, db, k)? {
            let items = pop_n(store, db, k, &mut l, left, 1)?;
            let mut out = vec![Reply::Bulk(k.clone())];
            out.extend(items);
            return Ok(Reply::Array(out));
        }
    }
    Ok(block(
        ctx,
        keys.to_vec(),
        t,
        BlockOp::Pop { left, count: None },
    ))
}

fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bpop(ctx, args, true)
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bpop(ctx, args, false)
}

fn blmove_with(
    ctx: &mut Ctx,
    args: &[Bytes],
    from_left: bool,
    to_left: bool,
    t: &[u8],
) -> CmdResult<Reply> {
    let t = timeout(t)?;
    let reply = lmove_with(ctx, &args[1], &args[2], from_left, to_left)?;
    if !matches!(reply, Reply::Nil) {
        return Ok(reply);
    }
    let op = BlockOp::Move {
        from_left,
        dst: args[2].clone(),
        to_left,
    };
    Ok(block(ctx, vec![args[1].clone()], t, op))
}

fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (from, to) = (side(&args[3])?, side(&args[4])?);
    blmove_with(ctx, args, from, to, &args[5])
}

fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    blmove_with(ctx, args, false, true, &args[3])
}

fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, left, count) = parse_mpop(&args[2..])?;
    let t = timeout(&args[1])?;
    let db = ctx.db();
    if let Some(r) = mpop_first(ctx.store(), db, &keys, left, count)? {
        return Ok(r);
    }
    let op = BlockOp::Pop {
        left,
        count: Some(count),
    };
    Ok(block(ctx, keys, t, op))
}

/// Runs a blocked client's operation on `key` (see `server::blocking`).
pub fn serve_blocked(store: &mut Store, db: usize, key: &Bytes, op: &BlockOp) -> Served {
    // A key holding another type now keeps the client waiting, as in Redis.
    if let Err(CmdError::WrongType) = list::get(store, db, key) {
        return Served::Skip;
    }
    let result = (|| -> CmdResult<Option<(Reply, Option<Bytes>)>> {
        match op {
            BlockOp::Pop { left, count } => {
                let Some(mut l) = list::get(store, db, key)? else {
                    return Ok(None);
                };
                let items = pop_n(store, db, key, &mut l, *left, count.unwrap_or(1))?;
                let reply = match count {
                    None => {
                        let mut out = vec![Reply::Bulk(key.clone())];
                        out.extend(items);
                        Reply::Array(out)
                    }
                    Some(_) => Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Array(items)]),
                };
                Ok(Some((reply, None)))
            }
            BlockOp::Move {
                from_left,
                dst,
                to_left,
            } => {
                let moved = move_one(store, db, key, dst, *from_left, *to_left)?;
                Ok(moved.map(|(v, created)| (Reply::Bulk(v), created.then(|| dst.clone()))))
            }
            // Served by `zset::serve_blocked`.
            BlockOp::ZPop { .. } => Ok(None),
        }
    })();
    match result {
        Ok(Some((reply, created))) => Served::Reply(reply, created),
        Ok(None) => Served::Nothing,
        Err(e) => Served::Reply(Reply::from(e), None),
    }
}
