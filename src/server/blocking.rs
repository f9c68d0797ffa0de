//! Clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX,
//! BZMPOP).
//!
//! A blocking command whose keys are all empty does not wait inside its handler (handlers run
//! under the keyspace lock): it leaves a `BlockRequest` in the session, and the connection
//! registers a waiter here and awaits its reply, a timeout or a disconnect.
//!
//! Each (db, key) has a FIFO queue of waiters. A command that creates a list or sorted set at a
//! key with waiters `signal`s it; once that command completes (still under the keyspace lock),
//! the connection calls `serve`, which runs the blocked operation of each waiter on that key in
//! arrival order until the key is empty, and sends each served waiter its reply; waiters for
//! another type than the key holds (a BLPOP client on a key that became a sorted set) are
//! passed over and keep waiting, as in Redis. A waiter is
//! served by at most one key and leaves every queue when served, timed out or disconnected
//! (`cancel`); a disconnected waiter consumes nothing.
//!
//! `serve` runs after every command the connection dispatches, so a future EXEC serves the
//! waiters once the whole transaction completed, as Redis does. Commands that make a list
//! appear by other means (RENAME, COPY, MOVE, RESTORE, SORT ... STORE) should `signal` their
//! destination when it is a list or a sorted set; SWAPDB signals whole databases (`signal_db`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::protocol::reply::Reply;
use crate::storage::Store;

/// What a blocked client runs when one of its keys gets elements.
#[derive(Debug, Clone)]
pub enum BlockOp {
    /// BLPOP/BRPOP (`count == None`: reply `[key, element]`) and BLMPOP (`Some(n)`: reply
    /// `[key, [elements]]`).
    Pop { left: bool, count: Option<u64> },
    /// BLMOVE/BRPOPLPUSH: reply the moved element.
    Move {
        from_left: bool,
        dst: Bytes,
        to_left: bool,
    },
    /// BZPOPMIN/BZPOPMAX (`count == None`: reply `[key, member, score]`) and BZMPOP
    /// (`Some(n)`: reply `[key, [[member, score], ...]]`).
    ZPop { max: bool, count: Option<u64> },
}

/// What a handler asks for instead of replying: block on `keys` (of the session's db).
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub keys: Vec<Bytes>,
    /// `None` waits forever.
    pub timeout: Option<Duration>,
    pub op: BlockOp,
}

/// The outcome of running a blocked operation on a key.
pub enum Served {
    /// The key is empty: this waiter and the ones after it keep waiting.
    Nothing,
    /// The key holds another type than this waiter pops: it keeps waiting, the next waiters
    /// are tried.
    Skip,
    /// The reply, and the (db, key) of a list that the operation created (BLMOVE's destination).
    Reply(Reply, Option<Bytes>),
}

/// Runs a waiter's operation on one key of its db.
pub type ServeFn = fn(&mut Store, usize, &Bytes, &BlockOp) -> Served;

struct Waiter {
    client: u64,
    db: usize,
    keys: Vec<Bytes>,
    op: BlockOp,
    tx: oneshot::Sender<Reply>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    waiters: HashMap<u64, Waiter>,
    queues: HashMap<(usize, Bytes), VecDeque<u64>>,
    ready: VecDeque<(usize, Bytes)>,
}

#[derive(Default)]
pub struct Blocking {
    state: Mutex<State>,
    /// Number of waiters, read without the lock on every list write.
    count: AtomicUsize,
    has_ready: AtomicBool,
}

impl Blocking {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a waiter; its reply arrives on the receiver.
    pub fn register(
        &self,
        client: u64,
        db: usize,
        req: BlockRequest,
    ) -> (u64, oneshot::Receiver<Reply>) {
        let (tx, rx) = oneshot::channel();
        let mut s = self.state();
        s.next_id += 1;
        let id = s.next_id;
        for k in &req.keys {
            let q = s.queues.entry((db, k.clone())).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
        s.waiters.insert(
            id,
            Waiter {
                client,
                db,
                keys: req.keys,
                op: req.op,
                tx,
            },
        );
        self.count.fetch_add(1, Ordering::SeqCst);
        (id, rx)
    }

    fn remove(&self, s: &mut State, id: u64) -> Option<Waiter> {
        let w = s.waiters.remove(&id)?;
        for k in &w.keys {
            let qk = (w.db, k.clone());
            if let Some(q) = s.queues.get_mut(&qk) {
                q.retain(|&x| x != id);
                if q.is_empty() {
                    s.queues.remove(&qk);
                }
            }
        }
        self.count.fetch_sub(1, Ordering::SeqCst);
        Some(w)
    }

    /// Removes a waiter that timed out or went away. False when it was already served (its
    /// reply is in its receiver).
    pub fn cancel(&self, id: u64) -> bool {
        let mut s = self.state();
        self.remove(&mut s, id).is_some()
    }

    /// CLIENT UNBLOCK: ends the wait of client `client` with `reply`. False when it is not
    /// blocked.
    pub fn unblock(&self, client: u64, reply: Reply) -> bool {
        let mut s = self.state();
        let Some(id) = s
            .waiters
            .iter()
            .find(|(_, w)| w.client == client)
            .map(|(&id, _)| id)
        else {
            return false;
        };
        if let Some(w) = self.remove(&mut s, id) {
            let _ = w.tx.send(reply);
        }
        true
    }

    /// Clients currently blocked (INFO's `blocked_clients`).
    pub fn blocked_clients(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Notes that `key` in `db` may now have elements for its waiters.
    pub fn signal(&self, db: usize, key: &[u8]) {
        if self.count.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut s = self.state();
        let k = (db, Bytes::copy_from_slice(key));
        if s.queues.contains_key(&k) && !s.ready.contains(&k) {
            s.ready.push_back(k);
            self.has_ready.store(true, Ordering::SeqCst);
        }
    }

    /// Notes that any key of `db` may now have elements (SWAPDB).
    pub fn signal_db(&self, db: usize) {
        if self.count.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut s = self.state();
        let keys: Vec<(usize, Bytes)> = s.queues.keys().filter(|k| k.0 == db).cloned().collect();
        for k in keys {
            if !s.ready.contains(&k) {
                s.ready.push_back(k);
                self.has_ready.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Whether `serve` has work.
    pub fn has_ready(&self) -> bool {
        self.has_ready.load(Ordering::SeqCst)
    }

    /// Serves the waiters of every signalled key, in the order they blocked, each with one
    /// run of its operation. Call with the keyspace locked, after a command completed.
    pub fn serve(&self, store: &mut Store, run: ServeFn) {
        loop {
            let next = {
                let mut s = self.state();
                let k = s.ready.pop_front();
                if k.is_none() {
                    self.has_ready.store(false, Ordering::SeqCst);
                }
                k
            };
            let Some((db, key)) = next else { return };
            // The waiters queued on the key when serving starts, in arrival order.
            let ids: Vec<u64> = {
                let s = self.state();
                match s.queues.get(&(db, key.clone())) {
                    Some(q) => q.iter().copied().collect(),
                    None => continue,
                }
            };
            for id in ids {
                // Locked while the operation runs, so that a waiter timing out meanwhile
                // cannot lose what was popped for it.
                let mut s = self.state();
                let Some(op) = s.waiters.get(&id).map(|w| w.op.clone()) else {
                    continue;
                };
                match run(store, db, &key, &op) {
                    Served::Nothing => break,
                    Served::Skip => continue,
                    Served::Reply(reply, created) => {
                        if let Some(w) = self.remove(&mut s, id) {
                            let _ = w.tx.send(reply);
                        }
                        if let Some(dst) = created {
                            let k = (db, dst);
                            if s.queues.contains_key(&k) && !s.ready.contains(&k) {
                                s.ready.push_back(k);
                            }
                        }
                    }
                }
            }
        }
    }
}
