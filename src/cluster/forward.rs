//! PUBLISH across the cluster. The node a client publishes to delivers to its own subscribers
//! and queues the message for every peer; one task per peer sends its queue, in batches, as
//! `CLUSTER BERTH-PUBLISH channel message`, which delivers on that node only and is never
//! forwarded again. Delivery is best effort, as on Redis's cluster bus: messages for a peer
//! that is not up, or beyond a full queue (`QUEUE`), are dropped.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::health::{command, node_timeout, Link};
use super::{Cluster, Health, Node};
use crate::server::Shared;

/// Messages waiting for one peer.
pub const QUEUE: usize = 10_000;
const BATCH: usize = 512;

pub type Queue = mpsc::Sender<(Bytes, Bytes)>;

pub fn queue() -> (Queue, mpsc::Receiver<(Bytes, Bytes)>) {
    mpsc::channel(QUEUE)
}

pub fn spawn_all(shared: &Arc<Shared>, cluster: &Arc<Cluster>) {
    for node in cluster.peers() {
        let Some(rx) = node.forward_rx.lock().ok().and_then(|mut r| r.take()) else {
            continue;
        };
        let (shared, cluster) = (shared.clone(), cluster.clone());
        let ordinal = node.ordinal as usize;
        tokio::spawn(async move { run(&shared, &cluster, ordinal, rx).await });
    }
}

async fn run(
    shared: &Shared,
    cluster: &Cluster,
    ordinal: usize,
    mut rx: mpsc::Receiver<(Bytes, Bytes)>,
) {
    let node = &cluster.nodes[ordinal];
    let mut link: Option<Link> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        if node.health() != Health::Up {
            link = None;
            continue;
        }
        let request: Vec<u8> = batch
            .iter()
            .flat_map(|(c, m)| command(&[b"CLUSTER", b"BERTH-PUBLISH", c, m]))
            .collect();
        // One retry on a fresh link: the old one may point at a pod that has moved.
        for _ in 0..2 {
            if link.is_none() {
                link = open(shared, cluster, node).await;
            }
            let Some(l) = link.as_mut() else { break };
            match l
                .exchange(&request, batch.len(), node_timeout(shared))
                .await
            {
                Ok(_) => break,
                Err(e) => {
                    tracing::debug!(peer = %node.fqdn, error = %e, "forwarding PUBLISH failed");
                    link = None;
                }
            }
        }
    }
}

async fn open(shared: &Shared, cluster: &Cluster, node: &Node) -> Option<Link> {
    let ip = node.info().ip?;
    let addr = SocketAddr::new(ip, cluster.port);
    Link::open(shared, cluster, addr, node_timeout(shared))
        .await
        .ok()
}
