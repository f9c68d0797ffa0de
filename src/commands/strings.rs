//! String commands: GET/SET and friends, counters, ranges, multi-key MGET/MSET.

use bytes::Bytes;

use super::args::{expire_at, int, Opts};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::storage::{encode_string, now_ms};
use crate::types::string;

const RW: &str = "write denyoom";
const RWF: &str = "write denyoom fast";

pub static COMMANDS: &[Command] = &[
    cmd("get", 2, "readonly fast", (1, 1, 1), "@read @string @fast", "string", "1.0.0", "Returns the string value of a key.", get),
    cmd("set", -3, RW, (1, 1, 1), "@write @string @slow", "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
    cmd("setnx", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", setnx),
    cmd("setex", 4, RW, (1, 1, 1), "@write @string @slow", "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", setex),
    cmd("psetex", 4, RW, (1, 1, 1), "@write @string @slow", "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", psetex),
    cmd("getset", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", getset),
    cmd("getdel", 2, "write fast", (1, 1, 1), "@write @string @fast", "string", "6.2.0", "Returns the string value of a key after deleting the key.", getdel),
    cmd("getex", -2, "write fast", (1, 1, 1), "@write @string @fast", "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", getex),
    cmd("mget", -2, "readonly fast", (1, -1, 1), "@read @string @fast", "string", "1.0.0", "Atomically returns the string values of one or more keys.", mget),
    cmd("mset", -3, RW, (1, -1, 2), "@write @string @slow", "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", mset),
    cmd("msetnx", -3, RW, (1, -1, 2), "@write @string @slow", "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", msetnx),
    cmd("incr", 2, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", incr),
    cmd("decr", 2, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", decr),
    cmd("incrby", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrby),
    cmd("decrby", 3, RWF, (1, 1, 1), "@write @string @fast", "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", decrby),
];

fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let rec = string::get(ctx.store(), db, &args[1])?;
    ctx.shared.stats.hit(rec.is_some());
    Ok(Reply::opt_bulk(rec.map(|r| r.str_bytes())))
}

/// When SET writes, and what happens to the TTL.
#[derive(Default)]
struct SetOpts {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    expire_at: Option<u64>,
}

fn parse_set_opts(args: &[Bytes]) -> CmdResult<SetOpts> {
    let mut o = SetOpts::default();
    let mut opts = Opts::new(args);
    while let Some(opt) = opts.next_upper() {
        let has_expire = o.expire_at.is_some() || o.keepttl;
        match opt.as_str() {
            "NX" if !o.xx => o.nx = true,
            "XX" if !o.nx => o.xx = true,
            "GET" => o.get = true,
            "KEEPTTL" if !has_expire => o.keepttl = true,
            "EX" | "PX" | "EXAT" | "PXAT" if !has_expire => {
                let v = opts.value()?;
                let (unit, abs) = match opt.as_str() {
                    "EX" => (1000, false),
                    "PX" => (1, false),
                    "EXAT" => (1000, true),
                    _ => (1, true),
                };
                o.expire_at = Some(expire_at(v, unit, abs, "set")?);
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    Ok(o)
}

/// The shared core of SET, SETNX, SETEX, PSETEX, GETSET: returns whether the write happened and
/// the old value (when `want_old`).
fn set_with(
    ctx: &mut Ctx,
    key: &[u8],
    value: &[u8],
    o: &SetOpts,
) -> CmdResult<(bool, Option<Bytes>)> {
    let db = ctx.db();
    let store = ctx.store();
    // A plain SET needs nothing from the old value: skip the read (the hot path).
    let old = if o.get {
        string::get(store, db, key)?
    } else if o.nx || o.xx || o.keepttl {
        store.get(db, key)?
    } else {
        None
    };
    if (o.nx && old.is_some()) || (o.xx && old.is_none()) {
        return Ok((false, old.map(|r| r.str_bytes())));
    }
    let expire = match (o.expire_at, o.keepttl) {
        (Some(at), _) => at,
        (None, true) => old.as_ref().map_or(0, |r| r.expire_at()),
        _ => 0,
    };
    if expire != 0 && expire <= now_ms() {
        // An expiry already in the past deletes the key, as Redis does.
        store.delete(db, key)?;
    } else {
        string::set(store, db, key, value, expire)?;
    }
    Ok((true, old.map(|r| r.str_bytes())))
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let o = parse_set_opts(&args[3..])?;
    let (done, old) = set_with(ctx, &args[1], &args[2], &o)?;
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
    let (done, _) = set_with(ctx, &args[1], &args[2], &o)?;
    Ok(Reply::Integer(done as i64))
}

fn setex_with(ctx: &mut Ctx, args: &[Bytes], unit: i64, name: &str) -> CmdResult<Reply> {
    let at = expire_at(&args[2], unit, false, name)?;
    let o = SetOpts {
        expire_at: Some(at),
        ..Default::default()
    };
    set_with(ctx, &args[1], &args[3], &o)?;
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
    let (_, old) = set_with(ctx, &args[1], &args[2], &o)?;
    Ok(Reply::opt_bulk(old))
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let Some(rec) = string::get(store, db, &args[1])? else {
        return Ok(Reply::Nil);
    };
    store.delete(db, &args[1])?;
    Ok(Reply::Bulk(rec.str_bytes()))
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let mut new_expire = None;
    let mut opts = Opts::new(&args[2..]);
    while let Some(opt) = opts.next_upper() {
        if new_expire.is_some() {
            return Err(CmdError::Syntax);
        }
        new_expire = Some(match opt.as_str() {
            "EX" => expire_at(opts.value()?, 1000, false, "getex")?,
            "PX" => expire_at(opts.value()?, 1, false, "getex")?,
            "EXAT" => expire_at(opts.value()?, 1000, true, "getex")?,
            "PXAT" => expire_at(opts.value()?, 1, true, "getex")?,
            "PERSIST" => 0,
            _ => return Err(CmdError::Syntax),
        });
    }
    let db = ctx.db();
    let store = ctx.store();
    let Some(rec) = string::get(store, db, &args[1])? else {
        return Ok(Reply::Nil);
    };
    match new_expire {
        Some(at) if at != 0 && at <= now_ms() => {
            store.delete(db, &args[1])?;
        }
        Some(at) if at != rec.expire_at() => store.put(db, &args[1], rec.with_expire(at))?,
        _ => {}
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
            Some(r) if r.kind() == crate::storage::Kind::String => Reply::Bulk(r.str_bytes()),
            _ => Reply::Nil,
        };
        out.push(v);
    }
    Ok(Reply::Array(out))
}

fn mset_pairs(args: &[Bytes], name: &str) -> CmdResult<()> {
    if args.len() % 2 == 0 {
        return Err(CmdError::Arity(name.into()));
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    mset_pairs(args, "mset")?;
    let db = ctx.db();
    let ops = args[1..]
        .chunks(2)
        .map(|kv| (db, kv[0].to_vec(), Some(encode_string(&kv[1], 0, 0))))
        .collect();
    ctx.store().put_many(ops)?;
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
    let ops = args[1..]
        .chunks(2)
        .map(|kv| (db, kv[0].to_vec(), Some(encode_string(&kv[1], 0, 0))))
        .collect();
    store.put_many(ops)?;
    Ok(Reply::Integer(1))
}

/// Adds `by` to the integer at `key`, keeping its TTL.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let (cur, expire) = string::get_int(store, db, key)?;
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    let text = crate::util::num::i64_bytes(new);
    string::set(store, db, key, &text, expire)?;
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
