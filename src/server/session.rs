//! Per-connection state, and the registry entry CLIENT LIST/KILL see.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Blocked in BLPOP and friends (flag `b`).
    pub blocked: bool,
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
            }),
            killed: AtomicBool::new(false),
            kill_signal: Notify::new(),
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

    /// The CLIENT LIST / CLIENT INFO line, fields as Redis 7.
    pub fn describe(&self) -> String {
        let i = self.snapshot();
        let now = Instant::now();
        let mut flags = String::new();
        if i.monitor {
            flags.push('O');
        }
        if i.no_evict {
            flags.push('e');
        }
        if i.no_touch {
            flags.push('T');
        }
        if i.subs.iter().any(|&n| n > 0) {
            flags.push('P');
        }
        if i.blocked {
            flags.push('b');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            String::from_utf8_lossy(&i.name),
            now.duration_since(self.created).as_secs(),
            now.duration_since(i.last_active).as_secs(),
            flags,
            i.db,
            i.subs[0],
            i.subs[1],
            i.subs[2],
            i.last_cmd,
            i.user,
            i.resp,
            String::from_utf8_lossy(&i.lib_name),
            String::from_utf8_lossy(&i.lib_ver),
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
        }
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
        i.user = self.user.clone();
    }
}
