//! The command table and dispatch.
//!
//! Each family module (`strings`, `keys`, …) exports `COMMANDS`, a static table in the shape of
//! Redis's command JSON files: name, arity, flags, key positions, ACL categories, docs, handler.
//! That data drives dispatch, arity and auth errors, COMMAND/COMMAND INFO/COMMAND DOCS, and (later)
//! cluster routing from key positions. Handlers parse their arguments and build a reply; the
//! storage encoding lives in `types/` and `storage/`.

pub mod acl;
pub mod args;
pub mod bitmap;
pub mod client;
pub mod cluster;
pub mod command;
pub mod config;
pub mod connection;
pub mod function;
pub mod hash;
pub mod info;
pub mod keys;
pub mod latency;
pub mod list;
pub mod lookahead;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod slowlog;
pub mod sort;
pub mod strings;
pub mod transaction;
pub mod zset;

use std::collections::HashMap;
use std::sync::{MutexGuard, OnceLock, TryLockError};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::server::notify;
use crate::server::session::Session;
use crate::server::Shared;
use crate::storage::Store;

pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult<Reply>;

/// One command (or subcommand, named `parent|sub`), as data.
pub struct Command {
    pub name: &'static str,
    /// Redis arity: exact count when positive, minimum count when negative (name included).
    pub arity: i32,
    /// Space-separated Redis command flags (`write denyoom`, `readonly fast`, …).
    pub flags: &'static str,
    /// First key, last key (negative counts from the end), step; (0, 0, 0) without keys.
    pub keys: (i32, i32, i32),
    /// Space-separated ACL categories (`@read @string @fast`).
    pub acl: &'static str,
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [Command],
}

/// Builds a table entry without subcommands.
#[allow(clippy::too_many_arguments)]
pub const fn cmd(
    name: &'static str,
    arity: i32,
    flags: &'static str,
    keys: (i32, i32, i32),
    acl: &'static str,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> Command {
    Command {
        name,
        arity,
        flags,
        keys,
        acl,
        group,
        since,
        summary,
        handler,
        subcommands: &[],
    }
}

/// Handler of container commands: only reached when the subcommand is missing.
pub fn container(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Err(CmdError::Syntax)
}

pub const WRITE: u32 = 1;
pub const READONLY: u32 = 1 << 1;
pub const NO_AUTH: u32 = 1 << 2;
pub const ADMIN: u32 = 1 << 3;
pub const FAST: u32 = 1 << 4;
pub const NOSCRIPT: u32 = 1 << 5;
pub const SKIP_MONITOR: u32 = 1 << 6;
pub const MOVABLE_KEYS: u32 = 1 << 7;
pub const LOADING: u32 = 1 << 8;
pub const STALE: u32 = 1 << 9;
pub const DENYOOM: u32 = 1 << 10;
pub const NO_MULTI: u32 = 1 << 11;
/// Allowed while a RESP2 connection has subscriptions (not a Redis flag: derived from names).
pub const PUBSUB_CONTEXT: u32 = 1 << 12;
pub const SKIP_SLOWLOG: u32 = 1 << 13;
/// Redis's internal `may_replicate` flag (not shown by COMMAND INFO, so derived from names):
/// commands that CLIENT PAUSE WRITE holds although they are not writes.
pub const MAY_REPLICATE: u32 = 1 << 14;
/// Runs while a script is busy (SCRIPT KILL, SHUTDOWN).
pub const ALLOW_BUSY: u32 = 1 << 15;

fn flag_bits(flags: &str) -> u32 {
    flags
        .split_whitespace()
        .map(|f| match f {
            "write" => WRITE,
            "readonly" => READONLY,
            "no_auth" => NO_AUTH,
            "admin" => ADMIN,
            "fast" => FAST,
            "noscript" => NOSCRIPT,
            "skip_monitor" => SKIP_MONITOR,
            "movablekeys" => MOVABLE_KEYS,
            "loading" => LOADING,
            "stale" => STALE,
            "denyoom" => DENYOOM,
            "no_multi" => NO_MULTI,
            "skip_slowlog" => SKIP_SLOWLOG,
            "allow_busy" => ALLOW_BUSY,
            _ => 0,
        })
        .fold(0, |a, b| a | b)
}

/// A command resolved for dispatch, with its statistics slot.
pub struct Entry {
    pub cmd: &'static Command,
    pub flags: u32,
    pub index: usize,
    pub subs: HashMap<String, Entry>,
}

pub struct Table {
    pub top: HashMap<String, Entry>,
    /// Every command and subcommand, by statistics index.
    pub all: Vec<&'static Command>,
}

/// Runs a blocked client's operation on `key` (see `server::blocking`): lists or sorted sets.
pub fn serve_blocked(
    store: &mut Store,
    db: usize,
    key: &Bytes,
    op: &crate::server::blocking::BlockOp,
) -> crate::server::blocking::Served {
    use crate::server::blocking::BlockOp;
    match op {
        BlockOp::Pop { .. } | BlockOp::Move { .. } => list::serve_blocked(store, db, key, op),
        BlockOp::ZPop { .. } => zset::serve_blocked(store, db, key, op),
    }
}

/// All families, in the order COMMAND lists them.
pub fn families() -> [&'static [Command]; 22] {
    [
        connection::COMMANDS,
        acl::COMMANDS,
        server::COMMANDS,
        config::COMMANDS,
        client::COMMANDS,
        command::COMMANDS,
        info::COMMANDS,
        keys::COMMANDS,
        sort::COMMANDS,
        strings::COMMANDS,
        bitmap::COMMANDS,
        hash::COMMANDS,
        list::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        cluster::COMMANDS,
        pubsub::COMMANDS,
        transaction::COMMANDS,
        slowlog::COMMANDS,
        latency::COMMANDS,
        scripting::COMMANDS,
        function::COMMANDS,
    ]
}

pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut all = Vec::new();
        let mut top = HashMap::new();
        for family in families() {
            for c in family {
                let entry = make_entry(c, &mut all);
                top.insert(c.name.to_string(), entry);
            }
        }
        Table { top, all }
    })
}

fn make_entry(c: &'static Command, all: &mut Vec<&'static Command>) -> Entry {
    let index = all.len();
    all.push(c);
    let subs = c
        .subcommands
        .iter()
        .map(|s| {
            let short = s.name.split('|').nth(1).unwrap_or(s.name).to_string();
            (short, make_entry(s, all))
        })
        .collect();
    let context = matches!(
        c.name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    );
    let may_replicate = matches!(
        c.name,
        "publish" | "spublish" | "pfcount" | "eval" | "evalsha" | "fcall"
    );
    Entry {
        cmd: c,
        flags: flag_bits(c.flags)
            | if context { PUBSUB_CONTEXT } else { 0 }
            | if may_replicate { MAY_REPLICATE } else { 0 },
        index,
        subs,
    }
}

/// Looks up a command by its (case-insensitive) name.
pub fn lookup(name: &[u8]) -> Option<&'static Entry> {
    if name.len() > 32 {
        return None;
    }
    let mut buf = [0u8; 32];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table().top.get(std::str::from_utf8(lower).ok()?)
}

/// Resolves the entry that will run: the subcommand entry for container commands.
pub enum Resolved {
    Run(&'static Entry),
    Error(Reply),
}

pub fn resolve(args: &[Bytes]) -> Resolved {
    let Some(entry) = lookup(&args[0]) else {
        return Resolved::Error(unknown_command(args));
    };
    let entry = if entry.subs.is_empty() {
        entry
    } else {
        if args.len() < 2 {
            // A container whose arity allows it runs bare (COMMAND); others need a subcommand.
            if entry.cmd.arity == -1 {
                return Resolved::Run(entry);
            }
            return Resolved::Error(arity_error(entry.cmd.name));
        }
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        match entry.subs.get(&sub) {
            Some(s) => s,
            None => {
                return Resolved::Error(Reply::error(format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    truncate(&args[1], 128),
                    entry.cmd.name.to_ascii_uppercase()
                )))
            }
        }
    };
    let arity = entry.cmd.arity;
    let n = args.len() as i32;
    if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
        return Resolved::Error(arity_error(entry.cmd.name));
    }
    Resolved::Run(entry)
}

fn truncate(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&b[..b.len().min(max)]).into_owned()
}

pub fn arity_error(name: &str) -> Reply {
    Reply::from(CmdError::Arity(name.to_string()))
}

fn unknown_command(args: &[Bytes]) -> Reply {
    let mut list = String::new();
    for a in &args[1..] {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push_str(&format!("'{}' ", truncate(a, room)));
    }
    Reply::error(format!(
        "ERR unknown command '{}', with args beginning with: {}",
        truncate(&args[0], 128),
        list
    ))
}

/// The keyspace just locked, told which keyspace events to record.
fn prepared<'g>(shared: &Shared, mut store: MutexGuard<'g, Store>) -> MutexGuard<'g, Store> {
    store.events.mask = notify::record_mask(shared.config.notify_flags());
    store
}

/// What a handler sees: the server, this client's session, and (on first use) the locked keyspace.
pub struct Ctx<'a, 'g> {
    pub shared: &'a Shared,
    pub session: &'a mut Session,
    guard: &'a mut Option<MutexGuard<'g, Store>>,
    lock: &'g std::sync::Mutex<Store>,
    /// The running command only reads: its lookups that miss are `keymiss` events.
    pub reading: bool,
}

impl<'a, 'g> Ctx<'a, 'g> {
    pub fn new(
        shared: &'a Shared,
        session: &'a mut Session,
        guard: &'a mut Option<MutexGuard<'g, Store>>,
        lock: &'g std::sync::Mutex<Store>,
    ) -> Self {
        Ctx {
            shared,
            session,
            guard,
            lock,
            reading: false,
        }
    }

    /// The keyspace, locked for the rest of the batch so each command is atomic. Taking the lock
    /// also gives the store the current notify-keyspace-events classes to record.
    pub fn store(&mut self) -> &mut Store {
        let (lock, shared) = (self.lock, self.shared);
        let store = self.guard.get_or_insert_with(|| {
            prepared(shared, lock.lock().unwrap_or_else(|e| e.into_inner()))
        });
        store.events.reading = self.reading;
        store
    }

    /// The keyspace if it is locked already or free now; None rather than a wait (a script
    /// may hold it for good). For work that may be skipped, such as prefetching.
    pub fn try_store(&mut self) -> Option<&mut Store> {
        if self.guard.is_none() {
            let store = match self.lock.try_lock() {
                Ok(store) => store,
                Err(TryLockError::Poisoned(e)) => e.into_inner(),
                Err(TryLockError::WouldBlock) => return None,
            };
            *self.guard = Some(prepared(self.shared, store));
        }
        Some(self.store())
    }

    /// Records a keyspace event on `key` in the client's database (see `server::notify`).
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        let db = self.db();
        self.store().notify(class, event, db, key);
    }

    /// Runs `f` with lookups made as a read command makes them (a miss is a `keymiss` event):
    /// for the source keys that some write commands read (Redis's `lookupKeyRead`).
    pub fn reading<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let was = std::mem::replace(&mut self.reading, true);
        let out = f(self);
        self.reading = was;
        if let Some(store) = self.guard.as_mut() {
            store.events.reading = was;
        }
        out
    }

    /// Publishes the keyspace events recorded so far, if the keyspace is locked, and ends the
    /// command's `keymiss` reporting (blocked-client service reads the store after it).
    pub fn publish_events(&mut self) {
        if let Some(store) = self.guard.as_mut() {
            store.events.reading = false;
            notify::publish_pending(self.shared, store);
        }
    }

    /// The client's selected database.
    pub fn db(&self) -> usize {
        self.session.db
    }

    /// Releases the keyspace lock (before blocking work such as a flush).
    pub fn unlock(&mut self) {
        self.publish_events();
        *self.guard = None;
    }
}

/// Runs one resolved command: auth and ACL checks, cluster routing, context checks, then the
/// handler, or, inside MULTI, queues it.
pub fn run(ctx: &mut Ctx, entry: &'static Entry, args: &[Bytes]) -> Reply {
    if entry.flags & NO_AUTH == 0
        && !ctx.session.authenticated
        && ctx.shared.acl.default_requires_auth()
    {
        return reject(ctx, entry, Reply::error("NOAUTH Authentication required."));
    }
    if let Err(denied) = acl::allowed(ctx, entry, args) {
        let reply = acl::deny(ctx, &denied, args);
        return reject(ctx, entry, reply);
    }
    if let Some(cluster) = &ctx.shared.cluster {
        // EXEC routes the whole transaction: its commands must share one slot served here.
        let routed = match &ctx.session.multi {
            Some(m) if entry.cmd.name == "exec" => route(
                cluster,
                &ctx.shared.config,
                m.queue.iter().map(|(e, a)| (*e, &a[..])),
            ),
            _ => route(cluster, &ctx.shared.config, [(entry, args)]),
        };
        if let Err(reply) = routed {
            ctx.shared.stats.reject(entry.index, &reply);
            // As Redis: a redirected EXEC discards the transaction, other commands fail it.
            if entry.cmd.name == "exec" {
                transaction::abandon(ctx);
            } else if let Some(m) = &mut ctx.session.multi {
                m.failed = true;
            }
            return reply;
        }
    }
    if ctx.session.in_pubsub_context() && entry.flags & PUBSUB_CONTEXT == 0 {
        let reply = Reply::error(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            entry.cmd.name
        ));
        return reject(ctx, entry, reply);
    }
    let queuing = ctx.session.multi.as_ref().is_some_and(|m| !m.running);
    if queuing && !transaction::runs_in_multi(entry) {
        if entry.flags & NO_MULTI != 0 {
            let reply = Reply::error("ERR Command not allowed inside a transaction");
            return reject(ctx, entry, reply);
        }
        return transaction::queue(ctx, entry, args);
    }
    call(ctx, entry, args)
}

/// A command refused before running: counted as rejected; inside MULTI it fails the transaction.
fn reject(ctx: &mut Ctx, entry: &Entry, reply: Reply) -> Reply {
    let reply = transaction::rejected(ctx, entry.cmd.name.as_bytes(), reply);
    ctx.shared.stats.reject(entry.index, &reply);
    reply
}

/// Runs a command's handler and records its statistics (directly, or from EXEC).
pub fn call(ctx: &mut Ctx, entry: &'static Entry, args: &[Bytes]) -> Reply {
    let start = Instant::now();
    ctx.reading = entry.flags & READONLY != 0;
    let reply = match (entry.cmd.handler)(ctx, args) {
        Ok(r) => r,
        Err(e) => Reply::from(e),
    };
    ctx.publish_events();
    // A script handed to the blocking pool is accounted for when it has run (see
    // `server::connection`), with its real duration and outcome.
    if ctx.session.script_job.is_some() {
        return reply;
    }
    account(ctx, entry, args, start.elapsed(), &reply);
    reply
}

/// Records a command's run in commandstats, the slowlog and the latency monitor.
pub fn account(ctx: &mut Ctx, entry: &Entry, args: &[Bytes], took: Duration, reply: &Reply) {
    let stats = &ctx.shared.stats;
    stats.record(entry.index, took, reply.is_error());
    // A script failing with the error of a command it called: that error was counted already
    // (Redis's `ignore_error_stats_update`).
    if !(entry.cmd.group == "scripting" && ctx.shared.scripting.error_already_counted()) {
        stats.error_reply(reply);
    }
    // One comparison each when the command was fast: both thresholds are cached atomics.
    let micros = took.as_micros() as u64;
    let config = &ctx.shared.config;
    let slower_than = config.slowlog_slower_than();
    if slower_than >= 0 && micros >= slower_than as u64 && entry.flags & SKIP_SLOWLOG == 0 {
        ctx.shared.slowlog.push(
            entry.cmd.name,
            args,
            micros,
            &ctx.session.handle.addr,
            &ctx.session.name,
            config.get_i64("slowlog-max-len") as usize,
        );
    }
    let threshold = config.latency_threshold();
    if threshold > 0 && micros / 1000 >= threshold as u64 {
        let event = if entry.flags & FAST != 0 {
            "fast-command"
        } else {
            "command"
        };
        ctx.shared.latency.add(event, micros / 1000);
    }
}

/// Clustered mode: runs keyed commands here only if their keys share one slot that this node
/// serves (Redis's `getNodeByQuery`); keyless commands always run.
fn route<'a>(
    cluster: &crate::cluster::Cluster,
    config: &crate::config::Config,
    commands: impl IntoIterator<Item = (&'a Entry, &'a [Bytes])>,
) -> Result<(), Reply> {
    let mut slot = None;
    let mut check = |key: &[u8]| -> Result<(), Reply> {
        let s = crate::util::crc16::key_slot(key);
        match slot {
            Some(prev) if prev != s => Err(Reply::error(
                "CROSSSLOT Keys in request don't hash to the same slot",
            )),
            _ => {
                slot = Some(s);
                Ok(())
            }
        }
    };
    for (entry, args) in commands {
        if entry.flags & MOVABLE_KEYS != 0 {
            for i in command::movable_key_positions(args) {
                check(&args[i])?;
            }
        } else {
            let (first, last, step) = entry.cmd.keys;
            if first > 0 {
                let argc = args.len() as i32;
                let last = if last < 0 { argc + last } else { last }.min(argc - 1);
                let mut i = first;
                while i <= last {
                    check(&args[i as usize])?;
                    i += step.max(1);
                }
            }
        }
    }
    match slot {
        Some(s) => cluster.route(config, s),
        None => Ok(()),
    }
}

/// INFO's full text for the metrics endpoint, produced through the INFO code path with a
/// session of its own (not registered as a client).
pub fn info_for_metrics(shared: &std::sync::Arc<Shared>) -> String {
    let handle = crate::server::session::ClientHandle::new(0, String::new(), String::new());
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let subscriber = crate::server::pubsub::Subscriber {
        tx,
        pending: Default::default(),
        handle: handle.clone(),
    };
    let mut session = Session::new(handle, true, subscriber);
    let mut guard = None;
    let mut ctx = Ctx::new(shared, &mut session, &mut guard, &shared.store);
    info::render(&mut ctx, &["everything".to_string()])
}
