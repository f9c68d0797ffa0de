//! Per-connection state, and the registry entry CLIENT LIST/KILL see.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::Notify;

use super::pubsub::Subscriber;

/// What other connections may see of a client (CLIENT LIST) and do to it (CLIENT KILL).
pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub created: Instant,
    pub info: Mutex<ClientInfo>,
    killed: AtomicBool,
    pub kill_signal: Notify,
    /// Pub/Sub bytes queued for this client and not yet written (shared with its `Subscriber`):
    /// CLIENT LIST's `omem`.
    pub out_pending: Arc<AtomicUsize>,
    /// The socket's file descriptor (`fd`); -1 for internal clients, as Redis shows its own.
    pub fd: AtomicI32,
}

/// A snapshot of the session, refreshed after every batch of commands.
#[derive(Clone)]
pub struct ClientInfo {
    pub name: Bytes,
    pub lib_name: Bytes,
    pub lib_ver: Bytes,
    pub db: usize,
    pub resp: u8,
    pub last_cmd: &'static str,
    pub last_active: Instant,
    pub monitor: bool,
    pub no_evict: bool,
    pub no_touch: bool,
    /// The ACL user the client is authenticated as.
    pub user: Arc<str>,
    /// Channel, pattern and shard channel subscriptions.
    pub subs: [usize; 3],
    /// Blocked in BLPOP and friends, or held by CLIENT PAUSE (flag `b`).
    pub blocked: bool,
    /// Commands queued in MULTI (flag `x`), -1 outside a transaction.
    pub multi: i64,
    /// Query buffer use while a command runs (the request itself plus what follows it), and
    /// the buffer's free space: CLIENT LIST's `qbuf`, `qbuf-free`.
    pub qbuf: usize,
    pub qbuf_free: usize,
    /// Bytes of the running command's arguments (`argv-mem`).
    pub argv_mem: usize,
    /// Size of the last socket read (`rbp`).
    pub last_read: usize,
}

impl ClientHandle {
    pub fn new(id: u64, addr: String, laddr: String) -> Arc<Self> {
        Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created: Instant::now(),
            info: Mutex::new(ClientInfo {
                name: Bytes::new(),
                lib_name: Bytes::new(),
                lib_ver: Bytes::new(),
                db: 0,
                resp: 2,
                last_cmd: "NULL",
                last_active: Instant::now(),
                monitor: false,
                no_evict: false,
                no_touch: false,
                user: Arc::from(crate::acl::DEFAULT_USER),
                subs: [0; 3],
                blocked: false,
                multi: -1,
                qbuf: 0,
                qbuf_free: 0,
                argv_mem: 0,
                last_read: 0,
            }),
            killed: AtomicBool::new(false),
            kill_signal: Notify::new(),
            out_pending: Default::default(),
            fd: AtomicI32::new(-1),
        })
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill_signal.notify_one();
    }

    /// Marks the client blocked (or not) for CLIENT LIST.
    pub fn set_blocked(&self, blocked: bool) {
        self.info.lock().unwrap_or_else(|e| e.into_inner()).blocked = blocked;
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    pub fn snapshot(&self) -> ClientInfo {
        self.info.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Pub/Sub subscriptions of any kind make a client of type `pubsub` (CLIENT LIST TYPE,
    /// CLIENT KILL TYPE); every other berth client is `normal`.
    pub fn is_pubsub(&self) -> bool {
        self.snapshot().subs.iter().any(|&n| n > 0)
    }

    /// Seconds since the connection was accepted (`age`).
    pub fn age(&self) -> u64 {
        self.created.elapsed().as_secs()
    }

    /// The CLIENT LIST / CLIENT INFO line, with Redis 7.0's fields in its order (7.2's
    /// `lib-name`/`lib-ver` are not shown, as the reference server does not show them).
    pub fn describe(&self) -> String {
        let i = self.snapshot();
        let now = Instant::now();
        // Flag letters in the order of Redis's getClientInfoString.
        let mut flags = String::new();
        if i.monitor {
            flags.push('O');
        }
        if i.subs.iter().any(|&n| n > 0) {
            flags.push('P');
        }
        if i.multi >= 0 {
            flags.push('x');
        }
        if i.blocked {
            flags.push('b');
        }
        if i.no_evict {
            flags.push('e');
        }
        if i.no_touch {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let omem = self.out_pending.load(Ordering::Relaxed);
        // Reply blocks of 16 KiB, as Redis's output list counts them.
        let oll = omem.div_ceil(16 * 1024);
        let tot_mem = i.qbuf + i.qbuf_free + i.argv_mem + omem;
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs=16384 rbp={} obl=0 oll={} omem={} tot-mem={} events={} cmd={} user={} redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd.load(Ordering::Relaxed),
            String::from_utf8_lossy(&i.name),
            now.duration_since(self.created).as_secs(),
            now.duration_since(i.last_active).as_secs(),
            flags,
            i.db,
            i.subs[0],
            i.subs[1],
            i.subs[2],
            i.multi,
            i.qbuf,
            i.qbuf_free,
            i.argv_mem,
            i.last_read,
            oll,
            omem,
            tot_mem,
            if omem > 0 { "rw" } else { "r" },
            i.last_cmd,
            i.user,
            i.resp,
        )
    }
}

/// What a command asked the connection to do after its reply is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Continue,
    Close,
    Monitor,
    Shutdown,
}

/// State owned by one connection's task.
pub struct Session {
    pub id: u64,
    pub db: usize,
    pub resp3: bool,
    pub authenticated: bool,
    /// The ACL user commands run as (`default` until AUTH).
    pub user: Arc<str>,
    /// The ACL generation at which `user` was found unrestricted (see `commands::run`).
    pub unrestricted_at: Option<u64>,
    pub name: Bytes,
    pub lib_name: Bytes,
    pub lib_ver: Bytes,
    pub no_evict: bool,
    pub no_touch: bool,
    pub last_cmd: &'static str,
    pub after: After,
    pub handle: Arc<ClientHandle>,
    /// This connection's Pub/Sub mailbox and subscriptions (by `pubsub::Kind` index).
    pub subscriber: Subscriber,
    pub subs: [BTreeSet<Bytes>; 3],
    /// Set by a blocking command that found nothing: the connection blocks instead of replying.
    pub block: Option<super::blocking::BlockRequest>,
    /// Inside MULTI: the queued commands (see `commands::transaction`).
    pub multi: Option<crate::commands::transaction::Multi>,
    /// Running commands that must not block (EXEC's queue; Redis's `CLIENT_DENY_BLOCKING`,
    /// which scripts set too): blocking commands answer as if timed out.
    pub deny_blocking: bool,
    /// A write inside a command that is not itself flagged `write` (EXEC) succeeded: the
    /// connection waits for durability as after any write. Taken by the connection.
    pub wrote: bool,
    /// Keys this client WATCHes, as (logical db, key); the registry is in the `Store`.
    pub watched: Vec<(usize, Bytes)>,
    /// CLIENT REPLY: OFF silences every reply; SKIP silences the next command's reply
    /// (`reply_skip_next` becomes `reply_skip` once the SKIP command itself is done).
    pub reply_off: bool,
    pub reply_skip: bool,
    pub reply_skip_next: bool,
    /// Query buffer figures while a command runs, for CLIENT LIST (see `ClientInfo`).
    pub qbuf: usize,
    pub qbuf_free: usize,
    pub argv_mem: usize,
    pub last_read: usize,
    /// Set by `execute()` around a top-level EVAL/FCALL: the handler defers the script (to
    /// `script_job`) instead of running it inline, so it runs off the runtime thread.
    pub defer_script: bool,
    pub script_job: Option<crate::scripting::Job>,
}

impl Session {
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool, subscriber: Subscriber) -> Self {
        Session {
            id: handle.id,
            db: 0,
            resp3: false,
            authenticated,
            user: Arc::from(crate::acl::DEFAULT_USER),
            unrestricted_at: None,
            name: Bytes::new(),
            lib_name: Bytes::new(),
            lib_ver: Bytes::new(),
            no_evict: false,
            no_touch: false,
            last_cmd: "NULL",
            after: After::Continue,
            handle,
            subscriber,
            subs: Default::default(),
            block: None,
            multi: None,
            deny_blocking: false,
            wrote: false,
            watched: Vec::new(),
            reply_off: false,
            reply_skip: false,
            reply_skip_next: false,
            qbuf: 0,
            qbuf_free: 0,
            argv_mem: 0,
            last_read: 0,
            defer_script: false,
            script_job: None,
        }
    }

    /// The session a deferred script runs with on the blocking pool: this client's identity,
    /// database and protocol (a SELECT inside a script does not change the caller's database,
    /// as in Redis 7).
    pub fn for_script(&self) -> Session {
        let subscriber = Subscriber {
            tx: self.subscriber.tx.clone(),
            pending: self.subscriber.pending.clone(),
            handle: self.handle.clone(),
        };
        let mut s = Session::new(self.handle.clone(), self.authenticated, subscriber);
        s.db = self.db;
        s.resp3 = self.resp3;
        s.name = self.name.clone();
        s.no_touch = self.no_touch;
        // redis.call runs with the caller's permissions.
        s.user = self.user.clone();
        s.unrestricted_at = self.unrestricted_at;
        s
    }

    /// In RESP2, a connection with any subscription only takes Pub/Sub commands.
    pub fn in_pubsub_context(&self) -> bool {
        !self.resp3 && self.subs.iter().any(|s| !s.is_empty())
    }

    /// Channel plus pattern subscriptions: the count SUBSCRIBE and PSUBSCRIBE replies carry.
    pub fn sub_count(&self) -> usize {
        self.subs[0].len() + self.subs[1].len()
    }

    /// Runs as `user` from now on (AUTH, HELLO AUTH, RESET), visible to CLIENT LIST and
    /// ACL DELUSER at once.
    pub fn set_user(&mut self, user: &str, authenticated: bool) {
        self.user = Arc::from(user);
        self.unrestricted_at = None;
        self.authenticated = authenticated;
        self.handle
            .info
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .user = self.user.clone();
    }

    /// Copies what CLIENT LIST shows into the shared handle.
    pub fn publish(&self) {
        let mut i = self.handle.info.lock().unwrap_or_else(|e| e.into_inner());
        i.name = self.name.clone();
        i.lib_name = self.lib_name.clone();
        i.lib_ver = self.lib_ver.clone();
        i.db = self.db;
        i.resp = if self.resp3 { 3 } else { 2 };
        i.last_cmd = self.last_cmd;
        i.last_active = Instant::now();
        i.monitor = self.after == After::Monitor;
        i.no_evict = self.no_evict;
        i.no_touch = self.no_touch;
        i.subs = [self.subs[0].len(), self.subs[1].len(), self.subs[2].len()];
        i.multi = self.multi.as_ref().map_or(-1, |m| m.queue.len() as i64);
        i.qbuf = self.qbuf;
        i.qbuf_free = self.qbuf_free;
        i.argv_mem = self.argv_mem;
        i.last_read = self.last_read;
        i.user = self.user.clone();
    }

    /// A client that `timeout` never disconnects: subscribed clients wait for messages, as in
    /// Redis (blocked and paused clients wait elsewhere and are not timed out either).
    pub fn exempt_from_timeout(&self) -> bool {
        self.subs.iter().any(|s| !s.is_empty())
    }
}
