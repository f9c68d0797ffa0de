//! Keyspace events waiting to be published (keyspace notifications).
//!
//! Whoever changes a key records what happened here, in order: command handlers, the type
//! modules, blocked-client service, and the store itself for what only it sees (a key found
//! expired, a key created). The server publishes the queue after each command and each active
//! expiry cycle (`server::notify`), so subscribers see events in the order Redis emits them and
//! an `expired` event only once the key is gone.
//!
//! The classes are the bits of `notify-keyspace-events`; `mask` holds the enabled ones (zero
//! unless K or E is set too), so recording costs one branch when notifications are off.

/// `g`: DEL, EXPIRE, RENAME, … (type-independent commands).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key removed because its time to live ran out.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key evicted for maxmemory.
pub const EVICTED: u32 = 1 << 9;
/// `m`: a read command looked up a key that does not exist (event `keymiss`).
pub const KEY_MISS: u32 = 1 << 11;
/// `n`: a key created.
pub const NEW: u32 = 1 << 14;

/// One event: `event` happened to `key` of logical database `db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: &'static str,
    pub db: usize,
    pub key: Vec<u8>,
}

/// The queue of events not yet published.
#[derive(Debug, Default)]
pub struct Events {
    /// Classes to record (the enabled notify-keyspace-events classes).
    pub mask: u32,
    /// The running command reads (Redis's `lookupKeyRead`): a lookup that misses is a `keymiss`.
    pub reading: bool,
    queue: Vec<Event>,
}

impl Events {
    /// Records `event` on `key` when its class is enabled.
    #[inline]
    pub fn push(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.mask & class == 0 {
            return;
        }
        self.queue.push(Event {
            event,
            db,
            key: key.to_vec(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The recorded events, oldest first, leaving the queue empty.
    pub fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.queue)
    }
}
