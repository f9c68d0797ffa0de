//! Clustered mode: every pod of the StatefulSet works out the whole cluster from its own
//! identity, with no `nodes.conf`, no `CLUSTER MEET` and no init step.
//!
//! - **Identity** (`identity.rs`): StatefulSet name and ordinal from the hostname
//!   (`<sts>-<ordinal>`) or the `cluster-statefulset`/`cluster-ordinal` directives. Member `i` is
//!   `<sts>-<i>.<cluster-service>.<cluster-namespace>.svc.<cluster-domain>`; node IDs are derived
//!   from the StatefulSet name and ordinal, so they survive restarts and IP changes.
//! - **Slots** (`slots.rs`): `cluster-shards N` splits the 16384 slots into N contiguous
//!   ranges by ordinal. Ownership is static; nothing is stored about it.
//! - **Health** (`health.rs`): one task per peer resolves the peer's DNS name through
//!   hickory (again after every failure, so a rescheduled pod is found at its new IP), keeps a
//!   link to its client port and probes it. A peer silent for `cluster-node-timeout` is `fail`;
//!   a peer that answers with another identity or another shard count is `fail` too, with the
//!   reason in the log and in CLUSTER INFO.
//! - **PUBLISH** (`forward.rs`) reaches every node's subscribers; shard channels are routed
//!   like keys.
//! - **Routing** (here): a keyed command runs only when its slot is ours; otherwise `-MOVED`
//!   to the owner, or `-CLUSTERDOWN` when the owner is failing.

pub mod forward;
pub mod health;
pub mod identity;
pub mod slots;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

use bytes::Bytes;

use crate::config::Config;
use crate::protocol::reply::Reply;
pub use identity::Identity;

/// What this node knows of a member's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Health {
    /// Not reached yet since start (within the node timeout).
    Unknown = 0,
    Up = 1,
    /// Unreachable for less than the node timeout (`fail?` in CLUSTER NODES).
    Pfail = 2,
    /// Unreachable for longer than the node timeout.
    Fail = 3,
    /// Reachable but disagrees with us about who it is or how many shards there are.
    Mismatch = 4,
}

impl Health {
    fn from_u8(v: u8) -> Health {
        match v {
            1 => Health::Up,
            2 => Health::Pfail,
            3 => Health::Fail,
            4 => Health::Mismatch,
            _ => Health::Unknown,
        }
    }

    /// Slots of a member in this state are not served by anyone.
    pub fn is_failed(self) -> bool {
        matches!(self, Health::Fail | Health::Mismatch)
    }
}

/// One member of the cluster (ordinal `0..shards`), as this node sees it.
pub struct Node {
    pub ordinal: u32,
    pub id: String,
    pub shard_id: String,
    pub fqdn: String,
    pub slots: (u16, u16),
    pub myself: bool,
    health: AtomicU8,
    pub info: Mutex<NodeInfo>,
    /// PUBLISH messages on their way to this peer (see `forward.rs`).
    forward_tx: forward::Queue,
    pub forward_rx: Mutex<Option<tokio::sync::mpsc::Receiver<(Bytes, Bytes)>>>,
}

/// What the health task last learned of a peer.
#[derive(Debug, Default, Clone)]
pub struct NodeInfo {
    /// The address its DNS name resolved to most recently.
    pub ip: Option<IpAddr>,
    /// The hostname it announces (its DNS name unless `cluster-announce-hostname` is set).
    pub hostname: Option<String>,
    pub ping_sent_ms: u64,
    pub pong_recv_ms: u64,
    /// Why it is failing, for the log and CLUSTER INFO.
    pub problem: Option<String>,
    /// When the current link to it was opened (ms since the epoch), if one is open.
    pub link_since_ms: Option<u64>,
}

impl Node {
    fn new(ident: &Identity, i: u32) -> Node {
        let myself = i == ident.ordinal;
        let (forward_tx, forward_rx) = forward::queue();
        Node {
            ordinal: i,
            id: ident.node_id(i),
            shard_id: ident.shard_id(i),
            fqdn: ident.fqdn(i),
            slots: if i < ident.shards {
                slots::range(i, ident.shards)
            } else {
                (0, 0)
            },
            myself,
            health: AtomicU8::new(if myself { Health::Up } else { Health::Unknown } as u8),
            info: Mutex::new(NodeInfo::default()),
            forward_tx,
            forward_rx: Mutex::new(Some(forward_rx)),
        }
    }

    pub fn health(&self) -> Health {
        Health::from_u8(self.health.load(Ordering::Relaxed))
    }

    pub fn set_health(&self, h: Health) {
        self.health.store(h as u8, Ordering::Relaxed);
    }

    pub fn info(&self) -> NodeInfo {
        self.info.lock().map(|i| i.clone()).unwrap_or_default()
    }
}

pub struct Cluster {
    pub ident: Identity,
    /// Members `0..shards`; a misconfigured node (ordinal ≥ shards) is not among them.
    pub nodes: Vec<Node>,
    /// Set when this node's own configuration keeps it from serving anything.
    pub own_problem: Option<String>,
    pub port: u16,
    /// Health probes sent and answered (CLUSTER INFO's message counters).
    pub sent: AtomicU64,
    pub received: AtomicU64,
}

impl Cluster {
    pub fn new(ident: Identity, port: u16) -> Cluster {
        let nodes = (0..ident.shards).map(|i| Node::new(&ident, i)).collect();
        let own_problem = (ident.ordinal >= ident.shards).then(|| {
            format!(
                "ordinal {} is outside cluster-shards {}: this node owns no slots and serves no keys",
                ident.ordinal, ident.shards
            )
        });
        Cluster {
            ident,
            nodes,
            own_problem,
            port,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    pub fn probes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn probes_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// This node when its ordinal is outside `cluster-shards` (it owns no slots).
    pub fn myself_outside(&self) -> Node {
        Node::new(&self.ident, self.ident.ordinal)
    }

    /// Everything keeping slots from being served, for CLUSTER INFO.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self.own_problem.iter().cloned().collect();
        for n in self.peers() {
            if n.health().is_failed() {
                if let Some(p) = n.info().problem {
                    out.push(p);
                }
            }
        }
        out
    }

    pub fn my_id(&self) -> String {
        self.ident.node_id(self.ident.ordinal)
    }

    pub fn my_shard_id(&self) -> String {
        self.ident.shard_id(self.ident.ordinal)
    }

    /// The peers this node watches.
    pub fn peers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| !n.myself)
    }

    /// Queues a PUBLISH for every peer's subscribers (best effort: dropped when a queue is full).
    pub fn forward_publish(&self, channel: &Bytes, message: &Bytes) {
        for n in self.peers() {
            let _ = n.forward_tx.try_send((channel.clone(), message.clone()));
        }
    }

    /// Number of slots whose owner is failing.
    pub fn slots_failed(&self) -> u32 {
        self.nodes
            .iter()
            .filter(|n| n.health().is_failed())
            .map(|n| (n.slots.1 - n.slots.0) as u32 + 1)
            .sum()
    }

    /// `cluster_state:ok`: our own configuration is sound and, under
    /// `cluster-require-full-coverage yes`, every slot's owner is reachable.
    pub fn state_ok(&self, cfg: &Config) -> bool {
        if self.own_problem.is_some() {
            return false;
        }
        if self.nodes.iter().any(|n| n.health().is_failed()) {
            return cfg.get("cluster-require-full-coverage") != "yes";
        }
        true
    }

    /// Decides where a command touching `slot` runs: here (Ok), or the error that sends the
    /// client elsewhere.
    pub fn route(&self, cfg: &Config, slot: u16) -> Result<(), Reply> {
        if !self.state_ok(cfg) {
            return Err(Reply::error("CLUSTERDOWN The cluster is down"));
        }
        let node = &self.nodes[slots::owner(slot, self.ident.shards) as usize];
        if node.myself {
            return Ok(());
        }
        if node.health().is_failed() {
            return Err(not_served());
        }
        match self.endpoint(cfg, node, None) {
            Some(ep) => Err(Reply::error(format!("MOVED {slot} {ep}:{}", self.port))),
            None => Err(not_served()),
        }
    }

    /// The endpoint clients should use for `node`, by `cluster-preferred-endpoint-type`.
    /// `local_ip` is the address the asking client reached this node at (our own IP as far as
    /// it is concerned). None when unknown (a peer never resolved).
    pub fn endpoint(&self, cfg: &Config, node: &Node, local_ip: Option<IpAddr>) -> Option<String> {
        match cfg.get("cluster-preferred-endpoint-type").as_str() {
            "hostname" => Some(self.hostname(cfg, node)),
            "unknown-endpoint" => Some("?".to_string()),
            _ => self.ip(cfg, node, local_ip).map(|ip| ip.to_string()),
        }
    }

    /// A member's IP: ours is `cluster-announce-ip` or the address the client used; a peer's
    /// is its DNS name's current address.
    pub fn ip(&self, cfg: &Config, node: &Node, local_ip: Option<IpAddr>) -> Option<IpAddr> {
        if node.myself {
            return cfg.get("cluster-announce-ip").parse().ok().or(local_ip);
        }
        node.info().ip
    }

    /// A member's hostname: ours is `cluster-announce-hostname`, or our DNS name when unset; a
    /// peer's is what it announced, or its DNS name before we have heard from it.
    pub fn hostname(&self, cfg: &Config, node: &Node) -> String {
        if node.myself {
            let h = cfg.get("cluster-announce-hostname");
            return if h.is_empty() { node.fqdn.clone() } else { h };
        }
        node.info().hostname.unwrap_or_else(|| node.fqdn.clone())
    }
}

fn not_served() -> Reply {
    Reply::error("CLUSTERDOWN Hash slot not served")
}
