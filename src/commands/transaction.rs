//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC, `commands::run` queues every command (after the same checks as when
//! it runs: arity, auth, cluster routing) and answers `+QUEUED`; a command refused while queuing
//! marks the transaction failed, and EXEC then discards it with `-EXECABORT`.
//!
//! EXEC runs the queue within the connection's batch, under the one keyspace lock, so no other
//! client sees a transaction half done. On disk it is one unit too: the store holds its writes
//! back from the background flusher, and an inline apply a command needs mid-transaction (a range
//! read) is covered by an undo record (see `Store::begin_atomic`).
//!
//! WATCH registers keys in the store's watch registry, which every write reports to (see
//! `storage/watch.rs`): no command can forget to break a watch.

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;

use super::{cmd, Command, Ctx, Entry};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::server::session::Session;

const FAST: &str = "noscript loading stale fast allow_busy";
const ACL: &str = "@fast @transaction";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("multi", 1, FAST, (0, 0, 0), ACL, "transactions", "1.2.0", "Mark the start of a transaction block", multi),
    cmd("exec", 1, "noscript loading stale skip_slowlog", (0, 0, 0), "@slow @transaction", "transactions", "1.2.0", "Execute all commands issued after MULTI", exec),
    cmd("discard", 1, FAST, (0, 0, 0), ACL, "transactions", "2.0.0", "Discard all commands issued after MULTI", discard),
    cmd("watch", -2, FAST, (1, -1, 1), ACL, "transactions", "2.2.0", "Watch the given keys to determine execution of the MULTI/EXEC block", watch),
    cmd("unwatch", 1, FAST, (0, 0, 0), ACL, "transactions", "2.2.0", "Forget about all watched keys", unwatch),
];

/// A transaction being queued.
#[derive(Default)]
pub struct Multi {
    pub queue: Vec<(&'static Entry, Vec<Bytes>)>,
    /// A command was refused while queuing: EXEC aborts (Redis's `CLIENT_DIRTY_EXEC`).
    pub failed: bool,
    /// EXEC is running the queue: commands a queued command runs (a script's `redis.call`)
    /// run at once instead of being queued.
    pub running: bool,
}

/// Commands that run even inside MULTI instead of being queued (as Redis's `processCommand`).
pub fn runs_in_multi(entry: &Entry) -> bool {
    matches!(
        entry.cmd.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// True for commands MONITOR shows only when they run (as Redis, which feeds monitors after a
/// command executes): queued commands, at EXEC, and EXEC itself, after them.
pub fn monitored_later(session: &Session, entry: &Entry) -> bool {
    entry.cmd.name == "exec" || (session.multi.is_some() && !runs_in_multi(entry))
}

/// Shows a command that ran to MONITOR clients.
fn feed_monitors(ctx: &Ctx, entry: &Entry, args: &[Bytes]) {
    if ctx.shared.monitors.load(Relaxed) > 0 && entry.flags & super::SKIP_MONITOR == 0 {
        crate::server::connection::feed_monitors(ctx.shared, ctx.session, args);
    }
}

/// Queues a command of an open transaction.
pub fn queue(ctx: &mut Ctx, entry: &'static Entry, args: &[Bytes]) -> Reply {
    if let Some(m) = &mut ctx.session.multi {
        m.queue.push((entry, args.to_vec()));
    }
    Reply::status("QUEUED")
}

/// A command (named `name`) was refused before running. Inside MULTI that fails the
/// transaction; a refused EXEC discards it and says why, as Redis's `execCommandAbort`.
pub fn rejected(ctx: &mut Ctx, name: &[u8], reply: Reply) -> Reply {
    if name.eq_ignore_ascii_case(b"exec") {
        abandon(ctx);
        let Reply::Error(e) = &reply else {
            return reply;
        };
        let text = String::from_utf8_lossy(e);
        let text = text.strip_prefix("ERR ").unwrap_or(&text);
        return Reply::error(format!(
            "EXECABORT Transaction discarded because of: {}",
            text.trim_end()
        ));
    }
    if let Some(m) = &mut ctx.session.multi {
        m.failed = true;
    }
    reply
}

/// Leaves the transaction, if any, and forgets every watched key (Redis's
/// `discardTransaction`; also RESET and EXEC).
pub fn abandon(ctx: &mut Ctx) {
    ctx.session.multi = None;
    forget_watches(ctx);
}

fn forget_watches(ctx: &mut Ctx) {
    if ctx.session.watched.is_empty() {
        return;
    }
    let watched = std::mem::take(&mut ctx.session.watched);
    let id = ctx.session.id;
    ctx.store().unwatch(id, &watched);
}

/// Drops a closing connection's watches (it holds no keyspace lock).
pub fn disconnect(shared: &crate::server::Shared, session: &mut crate::server::session::Session) {
    if !session.watched.is_empty() {
        let watched = std::mem::take(&mut session.watched);
        let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
        store.unwatch(session.id, &watched);
    }
}

fn multi(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    if ctx.session.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    ctx.session.multi = Some(Multi::default());
    Ok(Reply::Ok)
}

fn discard(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    if ctx.session.multi.is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    abandon(ctx);
    Ok(Reply::Ok)
}

fn exec(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let reply = run_queued(ctx);
    if let Some(entry) = super::lookup(b"exec") {
        feed_monitors(ctx, entry, args);
    }
    reply
}

fn run_queued(ctx: &mut Ctx) -> CmdResult<Reply> {
    let Some(multi) = ctx.session.multi.as_ref() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    if multi.failed {
        abandon(ctx);
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    // Redis 7: a watched key that expired since WATCH breaks it even if nobody touched it.
    // Reading an expired key deletes it, which reports the change to the registry.
    for i in 0..ctx.session.watched.len() {
        let (db, key) = ctx.session.watched[i].clone();
        ctx.store().get(db, &key)?;
    }
    let id = ctx.session.id;
    let broken = !ctx.session.watched.is_empty() && ctx.store().watch_broken(id);
    forget_watches(ctx);
    if broken {
        ctx.session.multi = None;
        return Ok(Reply::NilArray);
    }
    // The queue stays in the session while it runs: CLIENT INFO inside EXEC shows it, as Redis.
    let n = ctx.session.multi.as_ref().map_or(0, |m| m.queue.len());
    let mut replies = Vec::with_capacity(n);
    ctx.session.deny_blocking = true;
    if let Some(m) = ctx.session.multi.as_mut() {
        m.running = true;
    }
    ctx.store().begin_atomic();
    for i in 0..n {
        let Some((entry, args)) = ctx
            .session
            .multi
            .as_ref()
            .and_then(|m| m.queue.get(i))
            .map(|(e, a)| (*e, a.clone()))
        else {
            break;
        };
        feed_monitors(ctx, entry, &args);
        // As Redis: the rules may have changed since the command was queued.
        if let Err(denied) = super::acl::allowed(ctx, entry, &args) {
            let text = super::acl::deny_in(ctx, &denied, &args, super::acl::Context::Multi);
            replies.push(Reply::error(text));
            continue;
        }
        let reply = super::call(ctx, entry, &args);
        if entry.flags & super::WRITE != 0 && !reply.is_error() {
            ctx.session.wrote = true;
        }
        replies.push(reply);
    }
    ctx.session.deny_blocking = false;
    ctx.session.multi = None;
    ctx.store().end_atomic()?;
    Ok(Reply::Array(replies))
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.session.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let db = ctx.db();
    let id = ctx.session.id;
    for key in &args[1..] {
        if ctx
            .session
            .watched
            .iter()
            .any(|(d, k)| *d == db && k == key)
        {
            continue;
        }
        let store = ctx.store();
        // A key already expired is deleted first: it is absent from now on, not a change.
        store.get(db, key)?;
        store.watch(db, key, id);
        ctx.session.watched.push((db, key.clone()));
    }
    Ok(Reply::Ok)
}

fn unwatch(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    forget_watches(ctx);
    Ok(Reply::Ok)
}
