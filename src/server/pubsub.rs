//! Pub/Sub: which connections listen to which channels, patterns and shard channels, and
//! delivery into their connections' queues.
//!
//! Each connection owns an unbounded queue that its task drains into the socket. A subscriber
//! that does not read cannot hold unbounded memory: once its undelivered messages pass
//! `PENDING_LIMIT` bytes (Redis's pubsub output buffer hard limit, 32 MB), it is disconnected.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

use crate::protocol::reply::Reply;
use crate::util::glob::glob_match;

pub const PENDING_LIMIT: usize = 32 * 1024 * 1024;

/// The three subscription spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

/// One delivered message; `reply` shapes it as Redis sends it.
#[derive(Debug, Clone)]
pub struct Message {
    pub pattern: Option<Bytes>,
    pub channel: Bytes,
    pub payload: Bytes,
    pub shard: bool,
}

impl Message {
    pub fn reply(&self) -> Reply {
        let mut items = Vec::with_capacity(4);
        match (&self.pattern, self.shard) {
            (Some(p), _) => {
                items.push(Reply::bulk_str("pmessage"));
                items.push(Reply::Bulk(p.clone()));
            }
            (None, true) => items.push(Reply::bulk_str("smessage")),
            (None, false) => items.push(Reply::bulk_str("message")),
        }
        items.push(Reply::Bulk(self.channel.clone()));
        items.push(Reply::Bulk(self.payload.clone()));
        Reply::Push(items)
    }

    /// Bytes counted against the subscriber's limit.
    pub fn size(&self) -> usize {
        self.channel.len() + self.payload.len() + self.pattern.as_ref().map_or(0, |p| p.len()) + 32
    }
}

/// A connection's mailbox.
#[derive(Clone)]
pub struct Subscriber {
    pub tx: UnboundedSender<Message>,
    /// Bytes queued and not yet written to the socket.
    pub pending: Arc<AtomicUsize>,
    pub handle: Arc<super::session::ClientHandle>,
}

impl Subscriber {
    fn deliver(&self, msg: Message) {
        let size = msg.size();
        if self.pending.fetch_add(size, Ordering::Relaxed) + size > PENDING_LIMIT {
            tracing::warn!(
                client = self.handle.id,
                "closing subscriber over the pubsub output limit"
            );
            self.handle.kill();
            return;
        }
        if self.tx.send(msg).is_err() {
            self.pending.fetch_sub(size, Ordering::Relaxed);
        }
    }
}

type Subscribers = HashMap<Bytes, HashMap<u64, Subscriber>>;

#[derive(Default)]
pub struct PubSub {
    inner: Mutex<[Subscribers; 3]>,
}

fn index(kind: Kind) -> usize {
    kind as usize
}

impl PubSub {
    fn lock(&self) -> std::sync::MutexGuard<'_, [Subscribers; 3]> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn subscribe(&self, kind: Kind, name: &Bytes, sub: &Subscriber) {
        self.lock()[index(kind)]
            .entry(name.clone())
            .or_default()
            .insert(sub.handle.id, sub.clone());
    }

    pub fn unsubscribe(&self, kind: Kind, name: &[u8], id: u64) {
        let mut all = self.lock();
        let map = &mut all[index(kind)];
        if let Some(subs) = map.get_mut(name) {
            subs.remove(&id);
            if subs.is_empty() {
                map.remove(name);
            }
        }
    }

    /// PUBLISH: channel subscribers, then every matching pattern. Returns deliveries.
    pub fn publish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let all = self.lock();
        let mut n = 0;
        if let Some(subs) = all[index(Kind::Channel)].get(channel) {
            for s in subs.values() {
                s.deliver(Message {
                    pattern: None,
                    channel: channel.clone(),
                    payload: payload.clone(),
                    shard: false,
                });
                n += 1;
            }
        }
        for (pattern, subs) in &all[index(Kind::Pattern)] {
            if glob_match(pattern, channel, false) {
                for s in subs.values() {
                    s.deliver(Message {
                        pattern: Some(pattern.clone()),
                        channel: channel.clone(),
                        payload: payload.clone(),
                        shard: false,
                    });
                    n += 1;
                }
            }
        }
        n
    }

    /// SPUBLISH: shard channel subscribers only.
    pub fn spublish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let all = self.lock();
        let Some(subs) = all[index(Kind::Shard)].get(channel) else {
            return 0;
        };
        for s in subs.values() {
            s.deliver(Message {
                pattern: None,
                channel: channel.clone(),
                payload: payload.clone(),
                shard: true,
            });
        }
        subs.len()
    }

    /// Active channels (or shard channels) matching `pattern`, for PUBSUB CHANNELS.
    pub fn channels(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let mut out: Vec<Bytes> = self.lock()[index(kind)]
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect();
        out.sort();
        out
    }

    pub fn count(&self, kind: Kind, name: &[u8]) -> usize {
        self.lock()[index(kind)].get(name).map_or(0, |s| s.len())
    }

    /// Every subscription (kind, channel or pattern, subscriber), for ACL changes that revoke
    /// channels.
    pub fn subscriptions(&self) -> Vec<(Kind, Bytes, Arc<super::session::ClientHandle>)> {
        let all = self.lock();
        let mut out = Vec::new();
        for (kind, map) in [Kind::Channel, Kind::Pattern, Kind::Shard]
            .iter()
            .zip(all.iter())
        {
            for (name, subs) in map {
                out.extend(
                    subs.values()
                        .map(|s| (*kind, name.clone(), s.handle.clone())),
                );
            }
        }
        out
    }

    /// Pattern subscriptions across all clients (PUBSUB NUMPAT).
    pub fn numpat(&self) -> usize {
        self.lock()[index(Kind::Pattern)]
            .values()
            .map(|s| s.len())
            .sum()
    }
}
