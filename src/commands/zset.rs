//! Sorted set commands: ZADD and friends, ranges by rank/score/lex, removals, pops, random
//! members, the ZUNION/ZINTER/ZDIFF family, ZSCAN, and the blocking pops (BZPOPMIN, BZPOPMAX,
//! BZMPOP, through `server::blocking` like the list ones). Parsing and error order follow Redis
//! 7.0's `t_zset.c`; the storage encoding lives in `types/zset.rs`. Every command that creates a
//! sorted set signals its key (`created`) so that blocked clients are served.

use crate::storage::events::ZSET;
use std::collections::HashMap;

use bytes::Bytes;

use super::args::{cursor, int, is, scan_opts, scan_reply};
use super::list::{block, timeout};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::server::blocking::{BlockOp, Served};
use crate::storage::scan::random_u64;
use crate::storage::{Kind, Store};
use crate::types::collection::{self, Coll};
use crate::types::zset::{self, Entry, LexBound, LexRange, ScoreRange};
use crate::util::glob::glob_match;
use crate::util::num::{fmt_double, strtod};

const W: &str = "@write @sortedset @slow";
const WF: &str = "@write @sortedset @fast";
const R: &str = "@read @sortedset @slow";
const RF: &str = "@read @sortedset @fast";
const BF: &str = "@write @sortedset @fast @blocking";
const BS: &str = "@write @sortedset @slow @blocking";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("zadd", -4, "write denyoom fast", (1, 1, 1), WF, "sorted-set", "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", zadd),
    cmd("zincrby", 4, "write denyoom fast", (1, 1, 1), WF, "sorted-set", "1.2.0", "Increment the score of a member in a sorted set", zincrby),
    cmd("zrem", -3, "write fast", (1, 1, 1), WF, "sorted-set", "1.2.0", "Remove one or more members from a sorted set", zrem),
    cmd("zcard", 2, "readonly fast", (1, 1, 1), RF, "sorted-set", "1.2.0", "Get the number of members in a sorted set", zcard),
    cmd("zscore", 3, "readonly fast", (1, 1, 1), RF, "sorted-set", "1.2.0", "Get the score associated with the given member in a sorted set", zscore),
    cmd("zmscore", -3, "readonly fast", (1, 1, 1), RF, "sorted-set", "6.2.0", "Get the score associated with the given members in a sorted set", zmscore),
    cmd("zrank", -3, "readonly fast", (1, 1, 1), RF, "sorted-set", "2.0.0", "Determine the index of a member in a sorted set", zrank),
    cmd("zrevrank", -3, "readonly fast", (1, 1, 1), RF, "sorted-set", "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", zrevrank),
    cmd("zcount", 4, "readonly fast", (1, 1, 1), RF, "sorted-set", "2.0.0", "Count the members in a sorted set with scores within the given values", zcount),
    cmd("zlexcount", 4, "readonly fast", (1, 1, 1), RF, "sorted-set", "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", zlexcount),
    cmd("zrange", -4, "readonly", (1, 1, 1), R, "sorted-set", "1.2.0", "Return a range of members in a sorted set", zrange),
    cmd("zrangestore", -5, "write denyoom", (1, 2, 1), W, "sorted-set", "6.2.0", "Store a range of members from sorted set into another key", zrangestore),
    cmd("zrangebyscore", -4, "readonly", (1, 1, 1), R, "sorted-set", "1.0.5", "Return a range of members in a sorted set, by score", zrangebyscore),
    cmd("zrevrangebyscore", -4, "readonly", (1, 1, 1), R, "sorted-set", "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", zrevrangebyscore),
    cmd("zrangebylex", -4, "readonly", (1, 1, 1), R, "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range", zrangebylex),
    cmd("zrevrangebylex", -4, "readonly", (1, 1, 1), R, "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", zrevrangebylex),
    cmd("zrevrange", -4, "readonly", (1, 1, 1), R, "sorted-set", "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", zrevrange),
    cmd("zremrangebyrank", 4, "write", (1, 1, 1), W, "sorted-set", "2.0.0", "Remove all members in a sorted set within the given indexes", zremrangebyrank),
    cmd("zremrangebyscore", 4, "write", (1, 1, 1), W, "sorted-set", "1.2.0", "Remove all members in a sorted set within the given scores", zremrangebyscore),
    cmd("zremrangebylex", 4, "write", (1, 1, 1), W, "sorted-set", "2.8.9", "Remove all members in a sorted set between the given lexicographical range", zremrangebylex),
    cmd("zpopmin", -2, "write fast", (1, 1, 1), WF, "sorted-set", "5.0.0", "Remove and return members with the lowest scores in a sorted set", zpopmin),
    cmd("zpopmax", -2, "write fast", (1, 1, 1), WF, "sorted-set", "5.0.0", "Remove and return members with the highest scores in a sorted set", zpopmax),
    cmd("zmpop", -4, "write movablekeys", (0, 0, 0), W, "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set", zmpop),
    cmd("zrandmember", -2, "readonly", (1, 1, 1), R, "sorted-set", "6.2.0", "Get one or multiple random elements from a sorted set", zrandmember),
    cmd("zunion", -3, "readonly movablekeys", (0, 0, 0), R, "sorted-set", "6.2.0", "Add multiple sorted sets", zunion),
    cmd("zinter", -3, "readonly movablekeys", (0, 0, 0), R, "sorted-set", "6.2.0", "Intersect multiple sorted sets", zinter),
    cmd("zdiff", -3, "readonly movablekeys", (0, 0, 0), R, "sorted-set", "6.2.0", "Subtract multiple sorted sets", zdiff),
    cmd("zunionstore", -4, "write denyoom movablekeys", (1, 1, 1), W, "sorted-set", "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key", zunionstore),
    cmd("zinterstore", -4, "write denyoom movablekeys", (1, 1, 1), W, "sorted-set", "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key", zinterstore),
    cmd("zdiffstore", -4, "write denyoom movablekeys", (1, 1, 1), W, "sorted-set", "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key", zdiffstore),
    cmd("bzpopmin", -3, "write noscript blocking fast", (1, -2, 1), BF, "sorted-set", "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", bzpopmin),
    cmd("bzpopmax", -3, "write noscript blocking fast", (1, -2, 1), BF, "sorted-set", "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", bzpopmax),
    cmd("bzmpop", -5, "write blocking movablekeys", (0, 0, 0), BS, "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set or block until one is available", bzmpop),
    cmd("zscan", -3, "readonly", (1, 1, 1), R, "sorted-set", "2.8.0", "Incrementally iterate sorted sets elements and associated scores", zscan),
    cmd("zintercard", -3, "readonly movablekeys", (0, 0, 0), R, "sorted-set", "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result", zintercard),
];

// ---- argument parsing ----

/// A score argument (ZADD, ZINCRBY): `getDoubleFromObject` rules.
fn score_arg(a: &[u8]) -> CmdResult<f64> {
    strtod(a, true).ok_or(CmdError::NotFloat)
}

/// A score range, `zslParseRange` rules (`(` for exclusive, `-inf`/`+inf`).
fn score_range(min: &[u8], max: &[u8]) -> CmdResult<ScoreRange> {
    fn bound(a: &[u8]) -> Option<(f64, bool)> {
        match a.first() {
            Some(b'(') => strtod(&a[1..], false).map(|v| (v, true)),
            _ => strtod(a, false).map(|v| (v, false)),
        }
    }
    match (bound(min), bound(max)) {
        (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        }),
        _ => Err(CmdError::err("min or max is not a float")),
    }
}

/// A lex range, `zslParseLexRange` rules (`[a`, `(a`, `-`, `+`).
fn lex_range(min: &[u8], max: &[u8]) -> CmdResult<LexRange> {
    fn bound(a: &[u8]) -> Option<LexBound> {
        match a {
            b"+" => Some(LexBound::PosInf),
            b"-" => Some(LexBound::NegInf),
            [b'(', rest @ ..] => Some(LexBound::Excl(rest.to_vec())),
            [b'[', rest @ ..] => Some(LexBound::Incl(rest.to_vec())),
            _ => None,
        }
    }
    match (bound(min), bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(CmdError::err("min or max not valid string range item")),
    }
}

/// `getRangeLongFromObjectOrReply` with a custom message (used for non-integers too).
fn int_in(a: &[u8], min: i64, max: i64, msg: &str) -> CmdResult<i64> {
    match int(a) {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(CmdError::err(msg)),
    }
}

// ---- replies ----

fn dbl(d: f64) -> Reply {
    Reply::Double(Bytes::from(fmt_double(d)))
}

fn bulk(m: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(m))
}

/// Members, with scores as RESP3 pairs or a flat RESP2 array.
fn entries_reply(resp3: bool, entries: Vec<Entry>, withscores: bool) -> Reply {
    if !withscores {
        return Reply::Array(entries.iter().map(|(m, _)| bulk(m)).collect());
    }
    popped_reply(&entries, resp3)
}

/// Wakes the clients blocked on `key`, where a sorted set was just created or grown.
fn created(ctx: &Ctx, key: &[u8]) {
    ctx.shared.blocking.signal(ctx.db(), key);
}

/// Writes `entries` as the new sorted set at `dst` (replacing any value; deleting it when
/// `entries` is empty). Returns the count. `event` names the command for notifications.
fn store_entries(
    ctx: &mut Ctx,
    dst: &[u8],
    entries: &[Entry],
    event: &'static str,
) -> CmdResult<i64> {
    let db = ctx.db();
    let store = ctx.store();
    let mut c = collection::fresh(store, db, dst, Kind::ZSet)?;
    for (m, s) in entries {
        zset::set(store, &mut c, m, None, *s);
    }
    zset::save(store, db, dst, &c)?;
    if !entries.is_empty() {
        store.notify(ZSET, event, db, dst);
        created(ctx, dst);
    }
    Ok(entries.len() as i64)
}

// ---- ZADD / ZINCRBY ----

fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zadd_generic(ctx, args, false)
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zadd_generic(ctx, args, true)
}

/// ZADD, and ZINCRBY as ZADD with INCR (as Redis: ZINCRBY's increment may even parse as a flag).
fn zadd_generic(ctx: &mut Ctx, args: &[Bytes], incr_cmd: bool) -> CmdResult<Reply> {
    let (mut nx, mut xx, mut ch, mut incr, mut gt, mut lt) =
        (false, false, false, incr_cmd, false, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "nx") {
            nx = true;
        } else if is(a, "xx") {
            xx = true;
        } else if is(a, "ch") {
            ch = true;
        } else if is(a, "incr") {
            incr = true;
        } else if is(a, "gt") {
            gt = true;
        } else if is(a, "lt") {
            lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = args.len() - i;
    if elements % 2 == 1 || elements == 0 {
        return Err(CmdError::Syntax);
    }
    if nx && xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && elements > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let pairs = args[i..]
        .chunks(2)
        .map(|p| Ok((score_arg(&p[0])?, &p[1])))
        .collect::<CmdResult<Vec<_>>>()?;
    let db = ctx.db();
    let store = ctx.store();
    let nothing = || {
        if incr {
            Reply::Nil
        } else {
            Reply::Integer(0)
        }
    };
    let mut c = match zset::get(store, db, &args[1])? {
        Some(c) => c,
        None if xx => return Ok(nothing()),
        None => zset::get_or_new(store, db, &args[1])?,
    };
    let (mut added, mut updated, mut processed) = (0, 0, 0);
    let mut last = 0.0;
    // Plain ZADD sets each score whatever it was: one lookup reads the old score and writes the
    // new one.
    let plain = !(nx || xx || incr || gt || lt);
    for (score, member) in pairs {
        if plain {
            match zset::replace(store, &mut c, member, score)? {
                None => added += 1,
                Some(cur) if cur != score => updated += 1,
                Some(_) => {}
            }
            processed += 1;
            last = score;
            continue;
        }
        match zset::score(store, &c, member)? {
            Some(cur) => {
                if nx {
                    continue;
                }
                let mut s = score;
                if incr {
                    s += cur;
                    if s.is_nan() {
                        return Err(CmdError::err("resulting score is not a number (NaN)"));
                    }
                }
                if (lt && s >= cur) || (gt && s <= cur) {
                    continue;
                }
                processed += 1;
                last = s;
                if s != cur {
                    zset::set(store, &mut c, member, Some(cur), s);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                zset::set(store, &mut c, member, None, score);
                added += 1;
                processed += 1;
                last = score;
            }
        }
    }
    if added > 0 {
        zset::save(store, db, &args[1], &c)?;
        created(ctx, &args[1]);
    }
    if added + updated > 0 {
        let event = if incr { "zincr" } else { "zadd" };
        ctx.notify(ZSET, event, &args[1]);
    }
    Ok(if incr {
        if processed > 0 {
            dbl(last)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Integer(if ch { added + updated } else { added })
    })
}

// ---- point reads and removals ----

fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut c) = zset::get(store, db, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0;
    for m in &args[2..] {
        if zset::remove(store, &mut c, m)?.is_some() {
            removed += 1;
        }
    }
    if removed > 0 {
        store.notify(ZSET, "zrem", db, &args[1]);
        zset::save(store, db, &args[1], &c)?;
    }
    Ok(Reply::Integer(removed))
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let c = zset::get(ctx.store(), db, &args[1])?;
    Ok(Reply::Integer(c.map_or(0, |c| c.size as i64)))
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let Some(c) = zset::get(store, db, &args[1])? else {
        return Ok(Reply::Nil);
    };
    Ok(zset::score(store, &c, &args[2])?.map_or(Reply::Nil, dbl))
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let c = zset::get(store, db, &args[1])?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for m in &args[2..] {
        let s = match &c {
            Some(c) => zset::score(store, c, m)?,
            None => None,
        };
        out.push(s.map_or(Reply::Nil, dbl));
    }
    Ok(Reply::Array(out))
}

fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    rank_generic(ctx, args, true)
}

/// ZRANK/ZREVRANK, with Redis 7.2's WITHSCORE.
fn rank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult<Reply> {
    if args.len() > 4 {
        return Err(CmdError::Arity(
            if rev { "zrevrank" } else { "zrank" }.into(),
        ));
    }
    let withscore = match args.get(3) {
        Some(a) if is(a, "withscore") => true,
        Some(_) => return Err(CmdError::Syntax),
        None => false,
    };
    let null = if withscore {
        Reply::NilArray
    } else {
        Reply::Nil
    };
    let db = ctx.db();
    let store = ctx.store();
    let Some(c) = zset::get(store, db, &args[1])? else {
        return Ok(null);
    };
    let Some(score) = zset::score(store, &c, &args[2])? else {
        return Ok(null);
    };
    let rank = Reply::Integer(zset::rank(store, &c, &args[2], score, rev)? as i64);
    Ok(if withscore {
        Reply::Array(vec![rank, dbl(score)])
    } else {
        rank
    })
}

fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let r = score_range(&args[2], &args[3])?;
    let db = ctx.db();
    let store = ctx.store();
    let Some(c) = zset::get(store, db, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(zset::count_by_score(store, &c, &r)? as i64))
}

fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let r = lex_range(&args[2], &args[3])?;
    let db = ctx.db();
    let store = ctx.store();
    let Some(c) = zset::get(store, db, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let n = zset::range_by_lex(store, &c, &r, false, 0, usize::MAX)?.len();
    Ok(Reply::Integer(n as i64))
}

// ---- ZRANGE family ----

#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// A rank range clamped as Redis does; None when empty.
fn clamp_ranks(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    Some((start as u64, end.min(len - 1) as u64))
}

/// Redis's `zrangeGenericCommand`: every ZRANGE variant and ZRANGESTORE. `first` is the index of
/// the source key; `dst` is ZRANGESTORE's destination; `rev` None means REV may be given.
fn zrange_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    first: usize,
    dst: Option<&Bytes>,
    mut rangetype: RangeType,
    rev: Option<bool>,
) -> CmdResult<Reply> {
    let key = &args[first];
    let (mut minidx, mut maxidx) = (first + 1, first + 2);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut direction = rev;
    let mut j = first + 3;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if dst.is_none() && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = int(&args[j + 1])?;
            limit = int(&args[j + 2])?;
            j += 2;
        } else if direction.is_none() && is(a, "rev") {
            direction = Some(true);
        } else if rangetype == RangeType::Auto && is(a, "bylex") {
            rangetype = RangeType::Lex;
        } else if rangetype == RangeType::Auto && is(a, "byscore") {
            rangetype = RangeType::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = direction.unwrap_or(false);
    if rangetype == RangeType::Auto {
        rangetype = RangeType::Rank;
    }
    if limit != -1 && rangetype == RangeType::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rangetype == RangeType::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && rangetype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match rangetype {
        RangeType::Score => Parsed::Score(score_range(&args[minidx], &args[maxidx])?),
        RangeType::Lex => Parsed::Lex(lex_range(&args[minidx], &args[maxidx])?),
        _ => Parsed::Rank(int(&args[minidx])?, int(&args[maxidx])?),
    };
    let db = ctx.db();
    let resp3 = ctx.session.resp3;
    let store = ctx.store();
    // ZRANGESTORE reads its source as ZRANGE does (a miss is a `keymiss`).
    let c = store.reading(|s| zset::get(s, db, key))?;
    let entries = match c {
        None => Vec::new(),
        Some(c) => {
            // A negative offset yields nothing; a negative count means no limit.
            let limit = if limit < 0 {
                usize::MAX
            } else {
                limit as usize
            };
            match parsed {
                Parsed::Rank(start, end) => match clamp_ranks(start, end, c.size) {
                    Some((s, e)) => zset::range_by_rank(store, &c, s, e, rev)?,
                    None => Vec::new(),
                },
                _ if offset < 0 => Vec::new(),
                Parsed::Score(r) => {
                    zset::range_by_score(store, &c, &r, rev, offset as usize, limit)?
                }
                Parsed::Lex(r) => zset::range_by_lex(store, &c, &r, rev, offset as usize, limit)?,
            }
        }
    };
    match dst {
        Some(dst) => Ok(Reply::Integer(store_entries(
            ctx,
            dst,
            &entries,
            "zrangestore",
        )?)),
        None => Ok(entries_reply(resp3, entries, withscores)),
    }
}

fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, RangeType::Auto, None)
}

fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let dst = args[1].clone();
    zrange_generic(ctx, args, 2, Some(&dst), RangeType::Auto, None)
}

fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, RangeType::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, RangeType::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, RangeType::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, RangeType::Lex, Some(true))
}

fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, RangeType::Rank, Some(true))
}

// ---- ZREMRANGEBY* ----

fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    remrange(ctx, args, "zremrangebyrank", |store, c| {
        match clamp_ranks(start, end, c.size) {
            Some((s, e)) => zset::range_by_rank(store, c, s, e, false),
            None => Ok(Vec::new()),
        }
    })
}

fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let r = score_range(&args[2], &args[3])?;
    remrange(ctx, args, "zremrangebyscore", |store, c| {
        zset::range_by_score(store, c, &r, false, 0, usize::MAX)
    })
}

fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let r = lex_range(&args[2], &args[3])?;
    remrange(ctx, args, "zremrangebylex", |store, c| {
        zset::range_by_lex(store, c, &r, false, 0, usize::MAX)
    })
}

fn remrange(
    ctx: &mut Ctx,
    args: &[Bytes],
    event: &'static str,
    select: impl FnOnce(&mut Store, &Coll) -> CmdResult<Vec<Entry>>,
) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let Some(mut c) = zset::get(store, db, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let entries = select(store, &c)?;
    if !entries.is_empty() {
        zset::remove_entries(store, &mut c, &entries);
        store.notify(ZSET, event, db, &args[1]);
        zset::save(store, db, &args[1], &c)?;
    }
    Ok(Reply::Integer(entries.len() as i64))
}

// ---- pops ----

fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zpop_minmax(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zpop_minmax(ctx, args, true)
}

fn zpop_minmax(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult<Reply> {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        Some(a) => Some(int_in(
            a,
            0,
            i64::MAX,
            "value is out of range, must be positive",
        )?),
        None => None,
    };
    // RESP3 nests [member, score] pairs only when a count was given.
    let nested = ctx.session.resp3 && count.is_some();
    zpop_generic(ctx, &args[1..2], max, false, count, nested)
}

/// Removes the `n` lowest (highest when `max`) members of `c`, stored at `key`.
fn pop_entries(
    store: &mut Store,
    db: usize,
    key: &[u8],
    c: &mut Coll,
    n: u64,
    max: bool,
) -> CmdResult<Vec<Entry>> {
    let entries = zset::range_by_rank(store, c, 0, n.clamp(1, c.size.max(1)) - 1, max)?;
    zset::remove_entries(store, c, &entries);
    store.notify(ZSET, if max { "zpopmax" } else { "zpopmin" }, db, key);
    zset::save(store, db, key, c)?;
    Ok(entries)
}

/// Members with scores: `[[member, score], ...]` when `nested`, else a flat member, score list.
fn popped_reply(entries: &[Entry], nested: bool) -> Reply {
    if nested {
        Reply::Array(
            entries
                .iter()
                .map(|(m, s)| Reply::Array(vec![bulk(m), dbl(*s)]))
                .collect(),
        )
    } else {
        Reply::Array(
            entries
                .iter()
                .flat_map(|(m, s)| [bulk(m), dbl(*s)])
                .collect(),
        )
    }
}

/// Redis's `genericZpopCommand`: pops from the first non-empty key of `keys`.
fn zpop_generic(
    ctx: &mut Ctx,
    keys: &[Bytes],
    max: bool,
    emit_key: bool,
    count: Option<i64>,
    nested: bool,
) -> CmdResult<Reply> {
    let db = ctx.db();
    let store = ctx.store();
    let mut found = None;
    for key in keys {
        if let Some(c) = zset::get(store, db, key)? {
            found = Some((key, c));
            break;
        }
    }
    let Some((key, mut c)) = found else {
        return Ok(if emit_key {
            Reply::NilArray
        } else {
            Reply::Array(Vec::new())
        });
    };
    if count == Some(0) {
        return Ok(Reply::Array(Vec::new()));
    }
    let n = count.unwrap_or(1).max(1) as u64;
    let entries = pop_entries(store, db, key, &mut c, n, max)?;
    let body = popped_reply(&entries, nested);
    Ok(if emit_key {
        Reply::Array(vec![Reply::Bulk(key.clone()), body])
    } else {
        body
    })
}

/// ZMPOP/BZMPOP arguments from `numkeys` on: the keys, MAX, and the count (1 by default).
fn mpop_args(args: &[Bytes]) -> CmdResult<(&[Bytes], bool, i64)> {
    let numkeys = int_in(&args[0], 1, i64::MAX, "numkeys should be greater than 0")? as u64;
    let where_idx = match 1u64.checked_add(numkeys) {
        Some(w) if w < args.len() as u64 => w as usize,
        _ => return Err(CmdError::Syntax),
    };
    let max = if is(&args[where_idx], "min") {
        false
    } else if is(&args[where_idx], "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count.is_none() && is(&args[j], "count") && more > 0 {
            j += 1;
            count = Some(int_in(
                &args[j],
                1,
                i64::MAX,
                "count should be greater than 0",
            )?);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok((&args[1..where_idx], max, count.unwrap_or(1)))
}

fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, max, count) = mpop_args(&args[1..])?;
    zpop_generic(ctx, keys, max, true, Some(count), true)
}

// ---- blocking pops ----

fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bzpop(ctx, args, false)
}

fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bzpop(ctx, args, true)
}

/// BZPOPMIN/BZPOPMAX: `[key, member, score]` from the first non-empty key, or block.
fn bzpop(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult<Reply> {
    let t = timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    let db = ctx.db();
    let store = ctx.store();
    for k in keys {
        if let Some(mut c) = zset::get(store, db, k)? {
            let entries = pop_entries(store, db, k, &mut c, 1, max)?;
            return Ok(bzpop_reply(k, &entries));
        }
    }
    Ok(block(
        ctx,
        keys.to_vec(),
        t,
        BlockOp::ZPop { max, count: None },
    ))
}

fn bzpop_reply(key: &Bytes, entries: &[Entry]) -> Reply {
    let mut out = vec![Reply::Bulk(key.clone())];
    if let Some((m, s)) = entries.first() {
        out.extend([bulk(m), dbl(*s)]);
    }
    Reply::Array(out)
}

/// BZMPOP: ZMPOP's reply, or block. The arguments are checked before the timeout, as Redis.
fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, max, count) = mpop_args(&args[2..])?;
    let t = timeout(&args[1])?;
    let reply = zpop_generic(ctx, keys, max, true, Some(count), true)?;
    if !matches!(reply, Reply::NilArray) {
        return Ok(reply);
    }
    let op = BlockOp::ZPop {
        max,
        count: Some(count as u64),
    };
    Ok(block(ctx, keys.to_vec(), t, op))
}

/// Runs a blocked BZPOPMIN/BZPOPMAX/BZMPOP on `key` (see `server::blocking`).
pub fn serve_blocked(store: &mut Store, db: usize, key: &Bytes, op: &BlockOp) -> Served {
    let BlockOp::ZPop { max, count } = *op else {
        return Served::Skip;
    };
    let mut c = match zset::get(store, db, key) {
        Ok(Some(c)) => c,
        Ok(None) => return Served::Nothing,
        // The key holds another type now: the client keeps waiting, as in Redis.
        Err(CmdError::WrongType) => return Served::Skip,
        Err(e) => return Served::Reply(Reply::from(e), None),
    };
    match pop_entries(store, db, key, &mut c, count.unwrap_or(1), max) {
        Ok(entries) => {
            let reply = match count {
                None => bzpop_reply(key, &entries),
                Some(_) => {
                    Reply::Array(vec![Reply::Bulk(key.clone()), popped_reply(&entries, true)])
                }
            };
            Served::Reply(reply, None)
        }
        Err(e) => Served::Reply(Reply::from(e), None),
    }
}

// ---- ZSCAN ----

/// ZSCAN walks the member entries only (never the score index); a set still in Redis's
/// listpack size class is returned whole in score order with cursor 0, as Redis does. Scores are bulk strings
/// in RESP3 too, as in Redis 7.0.
fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let cur = cursor(&args[2])?;
    let db = ctx.db();
    // As Redis: a missing key answers before the options are parsed.
    let Some(c) = zset::get(ctx.store(), db, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (pattern, count) = scan_opts(&args[3..])?;
    let keep = |m: &[u8]| pattern.is_none_or(|p| glob_match(p, m, false));
    let mut out = Vec::new();
    if zset::encoding(&c.extra) == "listpack" {
        // Whole, in score order like Redis's listpack.
        for (m, score) in zset::all(ctx.store(), &c)? {
            if keep(&m) {
                out.extend([bulk(&m), Reply::bulk(fmt_double(score))]);
            }
        }
        return Ok(scan_reply(0, out));
    }
    let members = Coll {
        prefix: zset::member_space(&c),
        ..c
    };
    let (next, found) = collection::scan_members(ctx.store(), &members, cur, count, false, keep)?;
    for (m, v) in found {
        let Some(score) = zset::decode_score(&v) else {
            continue;
        };
        out.extend([bulk(&m), Reply::bulk(fmt_double(score))]);
    }
    Ok(scan_reply(next, out))
}

// ---- ZRANDMEMBER ----

/// The largest negative-count ZRANDMEMBER reply built (Redis has no limit but memory).
const MAX_RANDOM_REPLY: u64 = 1 << 24;

fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let resp3 = ctx.session.resp3;
    if args.len() < 3 {
        let store = ctx.store();
        let Some(c) = zset::get(store, db, &args[1])? else {
            return Ok(Reply::Nil);
        };
        return Ok(zset::random_member(store, &c)?.map_or(Reply::Nil, |m| bulk(&m)));
    }
    let count = match int(&args[2]) {
        Ok(v) if v != i64::MIN => v,
        Ok(_) => {
            return Err(CmdError::err(
                "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ))
        }
        Err(e) => return Err(e),
    };
    let withscores = match args.len() {
        3 => false,
        4 if is(&args[3], "withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    let store = ctx.store();
    let Some(c) = zset::get(store, db, &args[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    if count > 0 && count as u64 >= c.size {
        // The whole set, highest score first, as Redis replies (no randomness involved).
        let mut all = zset::all(store, &c)?;
        all.reverse();
        return Ok(entries_reply(resp3, all, withscores));
    }
    let mut all = zset::all(store, &c)?;
    let picked: Vec<Entry> = if count < 0 {
        let n = count.unsigned_abs();
        // Redis would try to build a reply of any size; a reply this large cannot be built here.
        if n > MAX_RANDOM_REPLY {
            return Err(CmdError::err("value is out of range"));
        }
        (0..n)
            .map(|_| all[(random_u64() % all.len() as u64) as usize].clone())
            .collect()
    } else {
        // Distinct members: a partial Fisher-Yates shuffle.
        let n = (count as u64).min(all.len() as u64) as usize;
        for i in 0..n {
            let j = i + (random_u64() % (all.len() - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(n);
        all
    };
    Ok(entries_reply(resp3, picked, withscores))
}

// ---- ZUNION / ZINTER / ZDIFF ----

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Redis's `zunionInterAggregate`.
fn aggregate(target: &mut f64, val: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += val;
            // inf + -inf: Redis's convention is 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input of a set operation: a sorted set, or a plain set whose members score 1.
struct Source {
    coll: Option<Coll>,
    weight: f64,
}

impl Source {
    fn size(&self) -> u64 {
        self.coll.as_ref().map_or(0, |c| c.size)
    }

    fn entries(&self, store: &mut Store) -> CmdResult<Vec<Entry>> {
        match &self.coll {
            None => Ok(Vec::new()),
            Some(c) if c.kind == Kind::ZSet => zset::all(store, c),
            // A set (types/set.rs): each member is `element -> empty`.
            Some(c) => Ok(store
                .member_range(
                    &c.prefix,
                    std::ops::Bound::Unbounded,
                    std::ops::Bound::Unbounded,
                    false,
                    usize::MAX,
                )?
                .into_iter()
                .map(|(m, _)| (m, 1.0))
                .collect()),
        }
    }

    fn score(&self, store: &mut Store, member: &[u8]) -> CmdResult<Option<f64>> {
        match &self.coll {
            None => Ok(None),
            Some(c) if c.kind == Kind::ZSet => zset::score(store, c, member),
            Some(c) => Ok(store.member_get(&c.member_key(member))?.map(|_| 1.0)),
        }
    }
}

/// Redis's `zunionInterDiffGenericCommand`.
fn setop(
    ctx: &mut Ctx,
    args: &[Bytes],
    dst: Option<&Bytes>,
    numkeys_idx: usize,
    op: Op,
    card_only: bool,
) -> CmdResult<Reply> {
    let name = args[0].to_ascii_lowercase();
    let setnum = int(&args[numkeys_idx])?;
    if setnum < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            String::from_utf8_lossy(&name)
        )));
    }
    if setnum as u64 > (args.len() - numkeys_idx - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let db = ctx.db();
    let resp3 = ctx.session.resp3;
    let store = ctx.store();
    let mut src = Vec::with_capacity(setnum);
    for key in &args[numkeys_idx + 1..numkeys_idx + 1 + setnum] {
        let coll = match store.reading(|s| s.get(db, key))? {
            None => None,
            Some(r) if r.kind() == Kind::ZSet || r.kind() == Kind::Set => {
                collection::get(store, db, key, r.kind())?
            }
            Some(_) => return Err(CmdError::WrongType),
        };
        src.push(Source { coll, weight: 1.0 });
    }
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0i64;
    let mut j = numkeys_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != Op::Diff && !card_only && remaining > setnum && is(a, "weights") {
            j += 1;
            for s in src.iter_mut() {
                s.weight = strtod(&args[j], true)
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
                j += 1;
            }
        } else if op != Op::Diff && !card_only && remaining >= 2 && is(a, "aggregate") {
            let v = &args[j + 1];
            how = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if card_only && remaining >= 2 && is(a, "limit") {
            limit = int_in(&args[j + 1], 0, i64::MAX, "LIMIT can't be negative")?;
            j += 2;
        } else if !card_only && dst.is_none() && is(a, "withscores") {
            withscores = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    // Redis orders inputs from the smallest (a stable sort keeps equal sizes in order).
    if op != Op::Diff {
        src.sort_by_key(|s| s.size());
    }
    let mut result: Vec<Entry> = Vec::new();
    match op {
        Op::Inter => {
            if src[0].size() > 0 {
                'outer: for (m, s0) in src[0].entries(store)? {
                    let mut score = src[0].weight * s0;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for other in &src[1..] {
                        match other.score(store, &m)? {
                            Some(v) => aggregate(&mut score, v * other.weight, how),
                            None => continue 'outer,
                        }
                    }
                    result.push((m, score));
                    if card_only && limit > 0 && result.len() as i64 >= limit {
                        break;
                    }
                }
            }
        }
        Op::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            for s in &src {
                for (m, v) in s.entries(store)? {
                    let mut score = s.weight * v;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(&m) {
                        Some(t) => aggregate(t, score, how),
                        None => {
                            acc.insert(m, score);
                        }
                    }
                }
            }
            result = acc.into_iter().collect();
        }
        Op::Diff => {
            'diff: for (m, s0) in src[0].entries(store)? {
                for other in &src[1..] {
                    if other.score(store, &m)?.is_some() {
                        continue 'diff;
                    }
                }
                result.push((m, s0));
            }
        }
    }
    if card_only {
        return Ok(Reply::Integer(result.len() as i64));
    }
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    match dst {
        Some(dst) => {
            let event = match op {
                Op::Union => "zunionstore",
                Op::Inter => "zinterstore",
                Op::Diff => "zdiffstore",
            };
            Ok(Reply::Integer(store_entries(ctx, dst, &result, event)?))
        }
        None => Ok(entries_reply(resp3, result, withscores)),
    }
}

fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop(ctx, args, None, 1, Op::Union, false)
}

fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop(ctx, args, None, 1, Op::Inter, false)
}

fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop(ctx, args, None, 1, Op::Diff, false)
}

fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let dst = args[1].clone();
    setop(ctx, args, Some(&dst), 2, Op::Union, false)
}

fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let dst = args[1].clone();
    setop(ctx, args, Some(&dst), 2, Op::Inter, false)
}

fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let dst = args[1].clone();
    setop(ctx, args, Some(&dst), 2, Op::Diff, false)
}

fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop(ctx, args, None, 1, Op::Inter, true)
}
