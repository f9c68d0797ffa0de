//! Peer discovery and health: one task per peer.
//!
//! The task resolves the peer's DNS name through hickory (system resolver configuration, no
//! cache, no hosts file: a rescheduled pod's new address must be seen at once), opens a link to
//! its client port, authenticates when `requirepass` is set, and probes it every
//! `cluster-node-timeout / 10` (between 100 ms and 1 s) with `CLUSTER MYID` and
//! `CONFIG GET cluster-shards cluster-announce-hostname`. Any failure drops the link and starts
//! over from DNS, with a backoff (100 ms doubling to 2 s) so that a pod whose peers' records
//! do not exist yet keeps retrying quietly.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::config::ResolveHosts;
use hickory_resolver::TokioResolver;
use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::types::OwnedFrame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Cluster, Health, Node};
use crate::server::Shared;
use crate::storage::now_ms;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Starts watching every peer.
pub fn spawn_all(shared: &Arc<Shared>, cluster: &Arc<Cluster>) {
    for node in cluster.peers() {
        let (shared, cluster) = (shared.clone(), cluster.clone());
        let ordinal = node.ordinal as usize;
        tokio::spawn(async move {
            let mut shutdown = shared.shutdown.subscribe();
            tokio::select! {
                _ = watch(&shared, &cluster, ordinal) => {}
                _ = crate::server::until_shutdown(&mut shutdown) => {}
            }
        });
    }
}

pub fn node_timeout(shared: &Shared) -> Duration {
    Duration::from_millis(shared.config.get_i64("cluster-node-timeout").max(1) as u64)
}

fn resolver() -> Result<TokioResolver, String> {
    let mut builder = TokioResolver::builder_tokio()
        .map_err(|e| format!("cannot read the system resolver configuration: {e}"))?;
    let opts = builder.options_mut();
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.timeout = Duration::from_secs(1);
    opts.attempts = 2;
    Ok(builder.build())
}

async fn watch(shared: &Shared, cluster: &Cluster, ordinal: usize) {
    let node = &cluster.nodes[ordinal];
    let mut last_ok = Instant::now();
    let mut backoff = MIN_BACKOFF;
    let mut resolver = None;
    loop {
        let problem = match resolver.as_ref() {
            Some(r) => link(shared, cluster, node, r, &mut last_ok, &mut backoff).await,
            None => match self::resolver() {
                Ok(r) => {
                    resolver = Some(r);
                    continue;
                }
                Err(e) => e,
            },
        };
        failing(shared, node, last_ok, problem);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Records a failed attempt: `fail?` until the node timeout has passed since the last good
/// probe, `fail` after. Logs each change of state once.
fn failing(shared: &Shared, node: &Node, last_ok: Instant, problem: String) {
    let before = node.health();
    let now = if last_ok.elapsed() >= node_timeout(shared) {
        Health::Fail
    } else if before == Health::Unknown {
        Health::Unknown
    } else {
        Health::Pfail
    };
    if let Ok(mut info) = node.info.lock() {
        info.problem = Some(problem.clone());
        info.link_since_ms = None;
    }
    if now != before {
        node.set_health(now);
        if now == Health::Fail {
            tracing::warn!(peer = %node.fqdn, %problem, "cluster peer marked as failing");
        } else {
            tracing::info!(peer = %node.fqdn, %problem, "cluster peer unreachable");
        }
    }
}

/// One link's life: resolve, connect, probe until something fails. Returns why it ended.
async fn link(
    shared: &Shared,
    cluster: &Cluster,
    node: &Node,
    resolver: &TokioResolver,
    last_ok: &mut Instant,
    backoff: &mut Duration,
) -> String {
    let timeout = node_timeout(shared);
    let ip = match resolve(resolver, &node.fqdn).await {
        Ok(ip) => ip,
        Err(e) => return e,
    };
    if let Ok(mut info) = node.info.lock() {
        info.ip = Some(ip);
    }
    let addr = SocketAddr::new(ip, cluster.port);
    let mut link = match Link::open(shared, cluster, addr, timeout).await {
        Ok(l) => l,
        Err(e) => return e,
    };
    if let Ok(mut info) = node.info.lock() {
        info.link_since_ms = Some(now_ms());
    }
    let probe = [
        command(&[b"CLUSTER", b"MYID"]),
        command(&[
            b"CONFIG",
            b"GET",
            b"cluster-shards",
            b"cluster-announce-hostname",
        ]),
    ]
    .concat();
    loop {
        if let Ok(mut info) = node.info.lock() {
            info.ping_sent_ms = now_ms();
        }
        cluster.sent.fetch_add(1, Ordering::Relaxed);
        let replies = match link.exchange(&probe, 2, timeout).await {
            Ok(r) => r,
            Err(e) => return format!("link to {addr}: {e}"),
        };
        cluster.received.fetch_add(1, Ordering::Relaxed);
        *last_ok = Instant::now();
        *backoff = MIN_BACKOFF;
        judge(cluster, node, &replies);
        let every = (timeout / 10).clamp(Duration::from_millis(100), Duration::from_secs(1));
        tokio::time::sleep(every).await;
    }
}

/// Reads a peer's answers to the probe and decides whether it is the member we expect.
fn judge(cluster: &Cluster, node: &Node, replies: &[OwnedFrame]) {
    let id = frame_text(replies.first());
    let (mut shards, mut hostname) = (String::new(), String::new());
    if let Some(OwnedFrame::Array(kv)) = replies.get(1) {
        for pair in kv.chunks(2) {
            let value = frame_text(pair.get(1));
            match frame_text(pair.first()).as_str() {
                "cluster-shards" => shards = value,
                "cluster-announce-hostname" => hostname = value,
                _ => {}
            }
        }
    }
    let problem = if id != node.id {
        Some(format!(
            "{} answers as node '{id}', not as ordinal {} of StatefulSet '{}'",
            node.fqdn, node.ordinal, cluster.ident.statefulset
        ))
    } else if shards != cluster.ident.shards.to_string() {
        Some(format!(
            "{} announces cluster-shards {shards}, this node has {}; its slots are not served",
            node.fqdn, cluster.ident.shards
        ))
    } else {
        None
    };
    let before = node.health();
    if let Ok(mut info) = node.info.lock() {
        info.pong_recv_ms = now_ms();
        info.hostname = Some(if hostname.is_empty() {
            node.fqdn.clone()
        } else {
            hostname
        });
        info.problem = problem.clone();
    }
    match problem {
        Some(p) => {
            node.set_health(Health::Mismatch);
            if before != Health::Mismatch {
                tracing::error!(peer = %node.fqdn, problem = %p, "cluster peer misconfigured");
            }
        }
        None => {
            node.set_health(Health::Up);
            if before != Health::Up {
                tracing::info!(peer = %node.fqdn, "cluster peer is up");
            }
        }
    }
}

async fn resolve(resolver: &TokioResolver, fqdn: &str) -> Result<IpAddr, String> {
    // The trailing dot makes the name absolute: no search domains, whatever ndots says.
    let lookup = resolver
        .lookup_ip(format!("{fqdn}."))
        .await
        .map_err(|e| format!("cannot resolve {fqdn}: {e}"))?;
    lookup
        .iter()
        .next()
        .ok_or_else(|| format!("cannot resolve {fqdn}: no address"))
}

/// A command as a RESP array of bulk strings.
pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A client connection to a peer's port, authenticated and named `berth-peer-<our id>` (so
/// the peer's CLUSTER LINKS can tell it from ordinary clients).
pub struct Link {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Link {
    pub async fn open(
        shared: &Shared,
        cluster: &Cluster,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<Link, String> {
        let connect = tokio::time::timeout(timeout.min(MAX_BACKOFF), TcpStream::connect(addr));
        let stream = match connect.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(format!("cannot connect to {addr}: {e}")),
            Err(_) => return Err(format!("cannot connect to {addr}: timed out")),
        };
        let _ = stream.set_nodelay(true);
        let mut link = Link {
            stream,
            buf: Vec::new(),
        };
        let mut hello: Vec<Vec<u8>> = Vec::new();
        let pass = shared.requirepass();
        if !pass.is_empty() {
            hello.push(command(&[b"AUTH", pass.as_bytes()]));
        }
        hello.push(command(&[
            b"CLIENT",
            b"SETNAME",
            format!("berth-peer-{}", cluster.my_id()).as_bytes(),
        ]));
        let replies = link.exchange(&hello.concat(), hello.len(), timeout).await?;
        if let Some(e) = replies.iter().find_map(|f| match f {
            OwnedFrame::Error(e) => Some(e),
            _ => None,
        }) {
            return Err(format!("{addr} refused our handshake: {e}"));
        }
        Ok(link)
    }

    /// Sends `request` and reads `count` replies, all within `timeout`.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<OwnedFrame>, String> {
        let (stream, buf) = (&mut self.stream, &mut self.buf);
        let work = async {
            stream.write_all(request).await.map_err(|e| e.to_string())?;
            let mut replies = Vec::with_capacity(count);
            while replies.len() < count {
                match decode(buf) {
                    Ok(Some((frame, used))) => {
                        buf.drain(..used);
                        replies.push(frame);
                    }
                    Ok(None) => {
                        let mut chunk = [0u8; 4096];
                        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
                        if n == 0 {
                            return Err("connection closed".to_string());
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    Err(e) => return Err(format!("bad reply: {e}")),
                }
            }
            Ok(replies)
        };
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or_else(|_| Err("no reply within cluster-node-timeout".to_string()))
    }
}

fn frame_text(f: Option<&OwnedFrame>) -> String {
    match f {
        Some(OwnedFrame::SimpleString(b)) | Some(OwnedFrame::BulkString(b)) => {
            String::from_utf8_lossy(b).into_owned()
        }
        _ => String::new(),
    }
}
