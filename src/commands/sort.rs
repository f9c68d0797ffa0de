//! SORT and SORT_RO over lists, sets and sorted sets, as Redis 7.0's `sort.c`: BY weights
//! (`*` substituted by the element, `key->field` for hash fields, a pattern without `*` to keep
//! the native order), LIMIT, GET (`#` for the element), ASC/DESC, ALPHA, and STORE into a list.
//!
//! Ordering matches `sortCompare`: numeric weights compare as doubles and ties fall back to the
//! elements as binary strings; ALPHA compares the elements (or BY values, a missing one first)
//! as C strings (`strcoll` in the C locale) without STORE and as binary strings with STORE, ties
//! keeping the input order (glibc's `qsort` is a stable merge sort) except with BY and a LIMIT
//! that leaves elements out, where Redis runs its partial quicksort (`pqsort.c`, ported here
//! step for step so that ties land where Redis puts them).

use crate::storage::events::LIST;
use std::cmp::Ordering;

use bytes::Bytes;

use super::args::{int, is};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::storage::{Kind, Store};
use crate::types::{collection, hash, list, set, zset};
use crate::util::num::sort_strtod;

const ACL_SORT: &str = "@write @set @sortedset @list @slow @dangerous";
const ACL_SORT_RO: &str = "@read @set @sortedset @list @slow @dangerous";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("sort", -2, "write denyoom movablekeys", (1, 1, 1), ACL_SORT, "generic", "1.0.0", "Sort the elements in a list, set or sorted set", sort),
    cmd("sort_ro", -2, "readonly movablekeys", (1, 1, 1), ACL_SORT_RO, "generic", "7.0.0", "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", sort_ro),
];

fn sort(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    sort_generic(ctx, args, true)
}

/// One element being sorted: the element, its numeric weight, its ALPHA BY value.
struct Item {
    obj: Bytes,
    score: f64,
    cmp: Option<Bytes>,
}

/// A byte string as C sees it: up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is replaced
/// by the element and the string key (or, with `->field`, the hash field) is read. None when
/// the pattern has no `*`, the key is missing or of another type, or the field is missing.
fn lookup(store: &mut Store, db: usize, pattern: &[u8], subst: &Bytes) -> CmdResult<Option<Bytes>> {
    if pattern.first() == Some(&b'#') && c_str(pattern).len() == 1 {
        return Ok(Some(subst.clone()));
    }
    let pat = c_str(pattern);
    let Some(star) = pat.iter().position(|&c| c == b'*') else {
        return Ok(None);
    };
    // `->` after the `*` with something after it names a hash field (to the pattern's end).
    let arrow = pat[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&at| at + 2 < pat.len());
    let (key_end, field) = match arrow {
        Some(at) => (at, Some(&pattern[at + 2..])),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(key_end + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let Some(rec) = store.get(db, &key)? else {
        return Ok(None);
    };
    match field {
        Some(field) => {
            if rec.kind() != Kind::Hash {
                return Ok(None);
            }
            let Some(h) = hash::get(store, db, &key)? else {
                return Ok(None);
            };
            Ok(hash::field(store, &h, field)?.map(|v| Bytes::copy_from_slice(&v)))
        }
        None if rec.kind() == Kind::String => Ok(Some(rec.str_bytes())),
        None => Ok(None),
    }
}

/// The elements of the key to sort in their native order: a list's order, a sorted set's score
/// order, a set's (intsets ascending as Redis keeps them). None when the key is missing.
fn native(store: &mut Store, db: usize, key: &[u8], kind: Kind) -> CmdResult<Vec<Bytes>> {
    Ok(match kind {
        Kind::List => match list::get(store, db, key)? {
            Some(l) => l.all(store)?,
            None => Vec::new(),
        },
        Kind::Set => match set::get(store, db, key)? {
            Some(c) => {
                let mut all: Vec<Bytes> = collection::members(store, &c)?
                    .into_iter()
                    .map(|(m, _)| Bytes::from(m))
                    .collect();
                set::intset_order(&mut all, |m| m);
                all
            }
            None => Vec::new(),
        },
        Kind::ZSet => match zset::get(store, db, key)? {
            Some(mut c) => {
                let all = zset::all(store, &c)?;
                if zset::encoding(&c.extra) != "skiplist" {
                    zset::convert_to_skiplist(&mut c);
                    zset::save(store, db, key, &c)?;
                }
                all.into_iter().map(|(m, _)| Bytes::from(m)).collect()
            }
            None => Vec::new(),
        },
        _ => return Err(CmdError::WrongType),
    })
}

fn sort_generic(ctx: &mut Ctx, args: &[Bytes], readonly: bool) -> CmdResult<Reply> {
    let clustered = ctx.shared.cluster.is_some();
    let (mut desc, mut alpha, mut dontsort) = (false, false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut sortby: Option<&Bytes> = None;
    let mut storekey: Option<&Bytes> = None;
    let mut gets: Vec<&Bytes> = Vec::new();
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if is(a, "asc") {
            desc = false;
        } else if is(a, "desc") {
            desc = true;
        } else if is(a, "alpha") {
            alpha = true;
        } else if is(a, "limit") && left >= 2 {
            limit_start = int(&args[j + 1])?;
            limit_count = int(&args[j + 2])?;
            j += 2;
        } else if !readonly && is(a, "store") && left >= 1 {
            storekey = Some(&args[j + 1]);
            j += 1;
        } else if is(a, "by") && left >= 1 {
            sortby = Some(&args[j + 1]);
            if !c_str(&args[j + 1]).contains(&b'*') {
                dontsort = true;
            } else if clustered {
                return Err(CmdError::err("BY option of SORT denied in Cluster mode."));
            }
            j += 1;
        } else if is(a, "get") && left >= 1 {
            if clustered {
                return Err(CmdError::err("GET option of SORT denied in Cluster mode."));
            }
            gets.push(&args[j + 1]);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }

    let db = ctx.db();
    // SORT reads its key and BY/GET patterns as read commands do (misses are `keymiss`).
    ctx.reading = true;
    let store = ctx.store();
    let (kind, exists) = match store.get(db, &args[1])? {
        Some(rec) if matches!(rec.kind(), Kind::List | Kind::Set | Kind::ZSet) => {
            (rec.kind(), true)
        }
        Some(_) => return Err(CmdError::WrongType),
        None => (Kind::List, false),
    };
    // A set's native order is not defined: STORE sorts it (Redis does so for replication).
    if dontsort && kind == Kind::Set && storekey.is_some() {
        dontsort = false;
        alpha = true;
        sortby = None;
    }
    // A missing key is looked up once (one `keymiss` event, as Redis).
    let mut elements = if exists {
        native(store, db, &args[1], kind)?
    } else {
        Vec::new()
    };

    let len = elements.len() as i64;
    let start = limit_start.clamp(0, len);
    let count = limit_count.clamp(-1, len);
    let (mut start, mut end) = (
        start,
        if count < 0 {
            len - 1
        } else {
            start + count - 1
        },
    );
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);

    // Lists and sorted sets keep their native order, reversed by DESC, when nothing is sorted.
    if dontsort && kind != Kind::Set && desc {
        elements.reverse();
    }
    let mut items: Vec<Item> = elements
        .into_iter()
        .map(|obj| Item {
            obj,
            score: 0.0,
            cmp: None,
        })
        .collect();

    if !dontsort {
        let mut conversion_error = false;
        for it in items.iter_mut() {
            let by = match sortby {
                Some(p) => match lookup(store, db, p, &it.obj)? {
                    Some(v) => v,
                    None => continue,
                },
                None => it.obj.clone(),
            };
            if alpha {
                if sortby.is_some() {
                    it.cmp = Some(by);
                }
            } else {
                match sort_strtod(&by) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        if conversion_error {
            return Err(CmdError::err(
                "One or more scores can't be converted into double",
            ));
        }
        let (bypattern, binary) = (sortby.is_some(), storekey.is_some());
        let order = |a: &Item, b: &Item| {
            let o = compare(a, b, alpha, bypattern, binary);
            if desc {
                o.reverse()
            } else {
                o
            }
        };
        if bypattern && (start != 0 || end != len - 1) {
            pqsort(&mut items, &order, start, end);
        } else {
            items.sort_by(order);
        }
    }

    let picked: &[Item] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let Some(dst) = storekey else {
        let mut out = Vec::with_capacity(picked.len() * gets.len().max(1));
        for it in picked {
            if gets.is_empty() {
                out.push(Reply::Bulk(it.obj.clone()));
            }
            for g in &gets {
                out.push(Reply::opt_bulk(lookup(store, db, g, &it.obj)?));
            }
        }
        return Ok(Reply::Array(out));
    };
    let mut values = Vec::with_capacity(picked.len() * gets.len().max(1));
    for it in picked {
        if gets.is_empty() {
            values.push(it.obj.clone());
        }
        for g in &gets {
            values.push(lookup(store, db, g, &it.obj)?.unwrap_or_default());
        }
    }
    store.events.reading = false;
    let mut l = list::fresh(store, db, dst)?;
    for v in &values {
        l.push(store, false, v);
    }
    list::save(store, db, dst, &mut l)?;
    if !values.is_empty() {
        store.notify(LIST, "sortstore", db, dst);
        ctx.shared.blocking.signal(db, dst);
    }
    Ok(Reply::Integer(values.len() as i64))
}

/// Redis's `sortCompare` before DESC: `alpha` compares strings (BY values when `bypattern`, a
/// missing one first), as binary strings when `binary` (STORE), else as C strings.
fn compare(a: &Item, b: &Item, alpha: bool, bypattern: bool, binary: bool) -> Ordering {
    let strings = |x: &[u8], y: &[u8]| {
        if binary {
            x.cmp(y)
        } else {
            c_str(x).cmp(c_str(y))
        }
    };
    if !alpha {
        return a
            .score
            .partial_cmp(&b.score)
            .filter(|o| o.is_ne())
            .unwrap_or_else(|| a.obj.cmp(&b.obj));
    }
    if !bypattern {
        return strings(&a.obj, &b.obj);
    }
    match (&a.cmp, &b.cmp) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => strings(x, y),
    }
}

/// Redis's `pqsort` (NetBSD's qsort, Bentley & McIlroy, skipping the partitions that fall
/// outside `lrange..=rrange`), step for step: it is not stable, and the order it leaves equal
/// elements in is part of SORT's reply.
fn pqsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering, lrange: i64, rrange: i64) {
    let n = v.len();
    pq(v, 0, n, cmp, lrange, rrange);
}

fn pq<T>(
    v: &mut [T],
    mut base: usize,
    mut n: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
    lrange: i64,
    rrange: i64,
) {
    let c = |v: &[T], i: usize, j: usize| cmp(&v[i], &v[j]);
    let med3 = |v: &[T], a: usize, b: usize, m: usize| {
        if c(v, a, b).is_lt() {
            if c(v, b, m).is_lt() {
                b
            } else if c(v, a, m).is_lt() {
                m
            } else {
                a
            }
        } else if c(v, b, m).is_gt() {
            b
        } else if c(v, a, m).is_lt() {
            a
        } else {
            m
        }
    };
    let insertion = |v: &mut [T], base: usize, n: usize| {
        for pm in base + 1..base + n {
            let mut pl = pm;
            while pl > base && c(v, pl - 1, pl).is_gt() {
                v.swap(pl, pl - 1);
                pl -= 1;
            }
        }
    };
    // A partition [lo, lo + cnt) is skipped when the wanted range lies wholly on one side.
    let outside = |lo: usize, cnt: usize| {
        let (lo, hi) = (lo as i64, (lo + cnt) as i64 - 1);
        (lrange < lo && rrange < lo) || (lrange > hi && rrange > hi)
    };
    loop {
        if n < 7 {
            insertion(v, base, n);
            return;
        }
        let mut pm = base + n / 2;
        if n > 7 {
            let mut pl = base;
            let mut pn = base + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d);
                pm = med3(v, pm - d, pm, pm + d);
                pn = med3(v, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, pl, pm, pn);
        }
        v.swap(base, pm);
        let mut swapped = false;
        let (mut pa, mut pb) = (base + 1, base + 1);
        let (mut pc, mut pd) = (base + n - 1, base + n - 1);
        loop {
            while pb <= pc {
                let r = c(v, pb, base);
                if r.is_gt() {
                    break;
                }
                if r.is_eq() {
                    swapped = true;
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = c(v, pc, base);
                if r.is_lt() {
                    break;
                }
                if r.is_eq() {
                    swapped = true;
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            swapped = true;
            pb += 1;
            pc -= 1;
        }
        if !swapped {
            insertion(v, base, n);
            return;
        }
        let pn = base + n;
        let r = (pa - base).min(pb - pa);
        for i in 0..r {
            v.swap(base + i, pb - r + i);
        }
        let r = (pd - pc).min(pn - pd - 1);
        for i in 0..r {
            v.swap(pb + i, pn - r + i);
        }
        let r = pb - pa;
        if r > 1 && !outside(base, r) {
            pq(v, base, r, cmp, lrange, rrange);
        }
        let r = pd - pc;
        if r > 1 {
            base = pn - r;
            n = r;
            if !outside(base, n) {
                continue;
            }
        }
        return;
    }
}
