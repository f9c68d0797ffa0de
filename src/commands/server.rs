//! Server commands: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, LASTSAVE, SAVE, BGSAVE, SHUTDOWN,
//! MONITOR.
//!
//! berth has no RDB snapshot: every write already goes to the store. SAVE and BGSAVE therefore
//! both make everything durable now (a synchronous store flush) and count as a save for
//! LASTSAVE and `rdb_changes_since_last_save`.

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;

use super::args::{int, is};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::server::session::After;
use crate::storage::now_ms;

const DANGER: &str = "@admin @slow @dangerous";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("dbsize", 1, "readonly fast", (0, 0, 0), "@keyspace @read @fast", "server", "1.0.0", "Return the number of keys in the selected database", dbsize),
    cmd("flushdb", -1, "write", (0, 0, 0), "@keyspace @write @slow @dangerous", "server", "1.0.0", "Remove all keys from the current database", flushdb),
    cmd("flushall", -1, "write", (0, 0, 0), "@keyspace @write @slow @dangerous", "server", "1.0.0", "Remove all keys from all databases", flushall),
    cmd("swapdb", 3, "write fast", (0, 0, 0), "@keyspace @write @fast @dangerous", "server", "4.0.0", "Swaps two Redis databases", swapdb),
    cmd("time", 1, "loading stale fast", (0, 0, 0), "@fast", "server", "2.6.0", "Return the current server time", time),
    cmd("lastsave", 1, "loading stale fast", (0, 0, 0), "@admin @fast @dangerous", "server", "1.0.0", "Get the UNIX time stamp of the last successful save to disk", lastsave),
    cmd("save", 1, "admin noscript no_async_loading no_multi", (0, 0, 0), DANGER, "server", "1.0.0", "Synchronously save the dataset to disk", save),
    cmd("bgsave", -1, "admin noscript no_async_loading", (0, 0, 0), DANGER, "server", "1.0.0", "Asynchronously save the dataset to disk", bgsave),
    cmd("shutdown", -1, "admin noscript loading stale no_multi allow_busy", (0, 0, 0), DANGER, "server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server", shutdown),
    cmd("monitor", 1, "admin noscript loading stale", (0, 0, 0), DANGER, "server", "1.0.0", "Listen for all requests received by the server in real time", monitor),
];

fn dbsize(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    Ok(Reply::Integer(ctx.store().dbsize(db) as i64))
}

/// The optional `ASYNC|SYNC` of FLUSHDB/FLUSHALL. Both delete now: the store's deletion is
/// already cheap (collections are reclaimed in the background).
fn flush_mode(args: &[Bytes]) -> CmdResult<()> {
    match args {
        [_] => Ok(()),
        [_, mode] if is(mode, "async") || is(mode, "sync") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    flush_mode(args)?;
    let db = ctx.db();
    ctx.store().flush_db(db)?;
    Ok(Reply::Ok)
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    flush_mode(args)?;
    let store = ctx.store();
    for db in 0..store.databases() {
        store.flush_db(db)?;
    }
    Ok(Reply::Ok)
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.shared.cluster.is_some() {
        return Err(CmdError::err("SWAPDB is not allowed in cluster mode"));
    }
    let a = int(&args[1]).map_err(|_| CmdError::err("invalid first DB index"))?;
    let b = int(&args[2]).map_err(|_| CmdError::err("invalid second DB index"))?;
    let store = ctx.store();
    let n = store.databases() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(CmdError::DbIndex);
    }
    if a != b {
        store.swap_db(a as usize, b as usize)?;
        // Clients blocked on keys that now hold lists are served (Redis's
        // `scanDatabaseForReadyKeys`).
        ctx.shared.blocking.signal_db(a as usize);
        ctx.shared.blocking.signal_db(b as usize);
    }
    Ok(Reply::Ok)
}

fn time(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Reply::Array(vec![
        Reply::bulk(now.as_secs().to_string()),
        Reply::bulk(now.subsec_micros().to_string()),
    ]))
}

fn lastsave(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Integer(ctx.shared.last_save.load(Relaxed) as i64))
}

/// Flushes the store while holding the keyspace lock, so the save covers every write
/// acknowledged before it, then records the save.
fn save_now(ctx: &mut Ctx) -> CmdResult<()> {
    let store = ctx.store();
    store.flush()?;
    store.dirty = 0;
    ctx.shared.last_save.store(now_ms() / 1000, Relaxed);
    Ok(())
}

fn save(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    save_now(ctx)?;
    Ok(Reply::Ok)
}

fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    match args {
        [_] => {}
        [_, opt] if is(opt, "schedule") => {}
        _ => return Err(CmdError::Syntax),
    }
    save_now(ctx)?;
    Ok(Reply::status("Background saving started"))
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`. berth always flushes on the way out (the
/// data is the append-only store, which Redis fsyncs even with NOSAVE), so the save options
/// are only validated. On success, like Redis, the client gets no reply: the connection closes.
fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (mut nosave, mut save, mut other, mut abort) = (false, false, false, false);
    for a in &args[1..] {
        if is(a, "nosave") {
            nosave = true;
        } else if is(a, "save") {
            save = true;
        } else if is(a, "now") || is(a, "force") {
            other = true;
        } else if is(a, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // Shutdown starts as soon as it is asked for and is never pending.
        return Err(CmdError::err("No shutdown in progress."));
    }
    ctx.session.after = After::Shutdown;
    Ok(Reply::Raw(Bytes::new()))
}

fn monitor(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    // Redis refuses MONITOR from a client that must not block (inside EXEC) with this text.
    if ctx.session.deny_blocking {
        return Err(CmdError::err(
            "MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    ctx.session.after = After::Monitor;
    ctx.shared.monitors.fetch_add(1, Relaxed);
    Ok(Reply::Ok)
}
