//! Cluster commands: CLUSTER INFO/MYID/MYSHARDID/NODES/SLOTS/SHARDS/KEYSLOT/COUNTKEYSINSLOT/
//! GETKEYSINSLOT/LINKS/HELP, READONLY, READWRITE, ASKING. They read the topology from
//! `cluster::Cluster`; slot ownership is static (by ordinal), so the slot-moving subcommands
//! (ADDSLOTS, SETSLOT, MEET, …) do not exist here.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;

use super::args::{help_reply, int};
use super::{cmd, container, Command, Ctx};
use crate::cluster::{slots::SLOTS, Cluster, Health, Node};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::util::crc16::key_slot;

const INFO: &str = "stale";
const ACL: &str = "@slow";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { subcommands: &[
        cmd("cluster|info", 2, INFO, (0, 0, 0), ACL, "cluster", "3.0.0", "Provides info about Redis Cluster node state", info),
        cmd("cluster|myid", 2, INFO, (0, 0, 0), ACL, "cluster", "3.0.0", "Return the node id", myid),
        cmd("cluster|myshardid", 2, INFO, (0, 0, 0), ACL, "cluster", "7.2.0", "Return the node shard id", myshardid),
        cmd("cluster|nodes", 2, INFO, (0, 0, 0), ACL, "cluster", "3.0.0", "Get Cluster config for the node", nodes),
        cmd("cluster|slots", 2, INFO, (0, 0, 0), ACL, "cluster", "3.0.0", "Get array of Cluster slot to node mappings", slots),
        cmd("cluster|shards", 2, INFO, (0, 0, 0), ACL, "cluster", "7.0.0", "Get array of cluster slots to node mappings", shards),
        cmd("cluster|keyslot", 3, INFO, (0, 0, 0), ACL, "cluster", "3.0.0", "Returns the hash slot of the specified key", keyslot),
        cmd("cluster|countkeysinslot", 3, INFO, (0, 0, 0), ACL, "cluster", "3.0.0", "Return the number of local keys in the specified hash slot", countkeysinslot),
        cmd("cluster|getkeysinslot", 4, INFO, (0, 0, 0), ACL, "cluster", "3.0.0", "Return local key names in the specified hash slot", getkeysinslot),
        cmd("cluster|links", 2, INFO, (0, 0, 0), ACL, "cluster", "7.0.0", "Returns a list of all TCP links to and from peer nodes in cluster", links),
        cmd("cluster|berth-publish", 4, "pubsub loading stale fast", (0, 0, 0), "@pubsub @fast", "cluster", "0.1.0", "berth internal: delivers a PUBLISH forwarded by a peer to this node's subscribers only", berth_publish),
        cmd("cluster|help", 2, "loading stale", (0, 0, 0), ACL, "cluster", "5.0.0", "Show helpful text about the different subcommands", help),
    ], ..cmd("cluster", -2, "", (0, 0, 0), ACL, "cluster", "3.0.0", "A container for Redis Cluster commands", container) },
    cmd("readonly", 1, "loading stale fast", (0, 0, 0), "@fast @connection", "cluster", "3.0.0", "Enables read queries for a connection to a cluster replica node", ok),
    cmd("readwrite", 1, "loading stale fast", (0, 0, 0), "@fast @connection", "cluster", "3.0.0", "Disables read queries for a connection to a cluster replica node", ok),
    cmd("asking", 1, "fast", (0, 0, 0), "@fast @connection", "cluster", "3.0.0", "Sent by cluster clients after an -ASK redirect", ok),
];

/// The cluster, or Redis's error for a standalone server.
fn cluster(ctx: &Ctx) -> CmdResult<Arc<Cluster>> {
    ctx.shared
        .cluster
        .clone()
        .ok_or_else(|| CmdError::err("This instance has cluster support disabled"))
}

/// READONLY, READWRITE and ASKING: accepted (there are no replicas and no migrations).
fn ok(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    cluster(ctx)?;
    Ok(Reply::Ok)
}

/// The IP this client reached us at: our own address as far as it is concerned.
fn local_ip(ctx: &Ctx) -> Option<IpAddr> {
    ctx.session
        .handle
        .laddr
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.ip())
}

fn info(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let c = cluster(ctx)?;
    let cfg = &ctx.shared.config;
    let slot_count = |n: &Node| (n.slots.1 - n.slots.0) as u32 + 1;
    let count = |pred: fn(Health) -> bool| -> u32 {
        c.nodes
            .iter()
            .filter(|n| pred(n.health()))
            .map(slot_count)
            .sum()
    };
    let pfail = count(|h| matches!(h, Health::Pfail | Health::Unknown));
    let fail = count(Health::is_failed);
    let shards = c.ident.shards;
    let known = shards + u32::from(c.own_problem.is_some());
    let my_epoch = if c.own_problem.is_some() {
        0
    } else {
        c.ident.ordinal + 1
    };
    let mut text = format!(
        "cluster_state:{}\r\ncluster_slots_assigned:{SLOTS}\r\ncluster_slots_ok:{}\r\n\
         cluster_slots_pfail:{pfail}\r\ncluster_slots_fail:{fail}\r\ncluster_known_nodes:{known}\r\n\
         cluster_size:{shards}\r\ncluster_current_epoch:{shards}\r\ncluster_my_epoch:{my_epoch}\r\n\
         cluster_stats_messages_sent:{}\r\ncluster_stats_messages_received:{}\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n",
        if c.state_ok(cfg) { "ok" } else { "fail" },
        SLOTS - pfail - fail,
        c.probes_sent(),
        c.probes_received(),
    );
    let problems = c.problems();
    if !problems.is_empty() {
        text.push_str(&format!("berth_problems:{}\r\n", problems.join("; ")));
    }
    Ok(Reply::Verbatim(Bytes::from(text)))
}

fn myid(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::bulk(cluster(ctx)?.my_id()))
}

fn myshardid(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::bulk(cluster(ctx)?.my_shard_id()))
}

fn flags(node: &Node, has_ip: bool) -> String {
    let mut f = String::from(if node.myself {
        "myself,master"
    } else {
        "master"
    });
    match node.health() {
        Health::Pfail => f.push_str(",fail?"),
        Health::Fail | Health::Mismatch => f.push_str(",fail"),
        Health::Unknown | Health::Up => {}
    }
    if !has_ip {
        f.push_str(",noaddr");
    }
    f
}

/// One `CLUSTER NODES` line, in Redis 7's format:
/// `<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <epoch> <link> <slots>`.
/// Peers are checked over the client port, so the bus port shown is the client port.
fn node_line(c: &Cluster, ctx: &Ctx, node: &Node, slots: Option<(u16, u16)>, epoch: u32) -> String {
    let cfg = &ctx.shared.config;
    let ip = c.ip(cfg, node, local_ip(ctx));
    let addr = match ip {
        Some(ip) => format!("{ip}:{0}@{0}", c.port),
        None => ":0@0".to_string(),
    };
    let info = node.info();
    let (ping, pong) = if node.myself {
        (0, 0)
    } else {
        (info.ping_sent_ms, info.pong_recv_ms)
    };
    let link = if node.myself || info.link_since_ms.is_some() {
        "connected"
    } else {
        "disconnected"
    };
    let mut line = format!(
        "{} {addr},{} {} - {ping} {pong} {epoch} {link}",
        node.id,
        c.hostname(cfg, node),
        flags(node, ip.is_some()),
    );
    if let Some((a, b)) = slots {
        if a == b {
            line.push_str(&format!(" {a}"));
        } else {
            line.push_str(&format!(" {a}-{b}"));
        }
    }
    line
}

fn nodes(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let c = cluster(ctx)?;
    let mut text = String::new();
    if c.own_problem.is_some() {
        // A node outside cluster-shards still lists itself, owning nothing.
        let me = c.myself_outside();
        text.push_str(&node_line(&c, ctx, &me, None, 0));
        text.push('\n');
    }
    for node in &c.nodes {
        text.push_str(&node_line(
            &c,
            ctx,
            node,
            Some(node.slots),
            node.ordinal + 1,
        ));
        text.push('\n');
    }
    Ok(Reply::Verbatim(Bytes::from(text)))
}

/// A node as CLUSTER SLOTS lists it: preferred endpoint, port, id, then the other known
/// endpoints as a map (Redis 7's `addNodeToNodeReply`).
fn slots_node(c: &Cluster, ctx: &Ctx, node: &Node) -> Reply {
    let cfg = &ctx.shared.config;
    let preferred = cfg.get("cluster-preferred-endpoint-type");
    let ip = c.ip(cfg, node, local_ip(ctx)).map(|i| i.to_string());
    let endpoint = c
        .endpoint(cfg, node, local_ip(ctx))
        .unwrap_or_else(|| "?".to_string());
    let mut meta = Vec::new();
    if preferred != "ip" {
        meta.push((Reply::bulk_str("ip"), Reply::bulk(ip.unwrap_or_default())));
    }
    if preferred != "hostname" {
        meta.push((
            Reply::bulk_str("hostname"),
            Reply::bulk(c.hostname(cfg, node)),
        ));
    }
    Reply::Array(vec![
        Reply::bulk(endpoint),
        Reply::Integer(c.port as i64),
        Reply::bulk(node.id.clone()),
        Reply::Map(meta),
    ])
}

fn slots(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let c = cluster(ctx)?;
    let ranges = c
        .nodes
        .iter()
        .map(|n| {
            Reply::Array(vec![
                Reply::Integer(n.slots.0 as i64),
                Reply::Integer(n.slots.1 as i64),
                slots_node(&c, ctx, n),
            ])
        })
        .collect();
    Ok(Reply::Array(ranges))
}

fn shards(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let c = cluster(ctx)?;
    let cfg = &ctx.shared.config;
    let kv = |k: &str, v: Reply| (Reply::bulk_str(k), v);
    let out = c
        .nodes
        .iter()
        .map(|n| {
            let ip = c.ip(cfg, n, local_ip(ctx));
            let health = if n.health().is_failed() {
                "failed"
            } else {
                "online"
            };
            let node = Reply::Map(vec![
                kv("id", Reply::bulk(n.id.clone())),
                kv("port", Reply::Integer(c.port as i64)),
                kv(
                    "ip",
                    Reply::bulk(ip.map(|i| i.to_string()).unwrap_or_default()),
                ),
                kv(
                    "endpoint",
                    Reply::bulk(
                        c.endpoint(cfg, n, local_ip(ctx))
                            .unwrap_or_else(|| "?".into()),
                    ),
                ),
                kv("hostname", Reply::bulk(c.hostname(cfg, n))),
                kv("role", Reply::bulk_str("master")),
                kv("replication-offset", Reply::Integer(0)),
                kv("health", Reply::bulk_str(health)),
            ]);
            Reply::Map(vec![
                kv(
                    "slots",
                    Reply::Array(vec![
                        Reply::Integer(n.slots.0 as i64),
                        Reply::Integer(n.slots.1 as i64),
                    ]),
                ),
                kv("nodes", Reply::Array(vec![node])),
            ])
        })
        .collect();
    Ok(Reply::Array(out))
}

fn keyslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    cluster(ctx)?;
    Ok(Reply::Integer(key_slot(&args[2]) as i64))
}

/// A slot argument: an integer in 0..16384, else `msg`.
fn slot_arg(arg: &[u8], msg: &str) -> CmdResult<u16> {
    let s = int(arg)?;
    if !(0..SLOTS as i64).contains(&s) {
        return Err(CmdError::err(msg));
    }
    Ok(s as u16)
}

fn countkeysinslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    cluster(ctx)?;
    let slot = slot_arg(&args[2], "Invalid slot")?;
    let keys = ctx.store().slot_keys(0, slot, usize::MAX)?;
    Ok(Reply::Integer(keys.len() as i64))
}

fn getkeysinslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    cluster(ctx)?;
    let slot = int(&args[2])?;
    let max = int(&args[3])?;
    if !(0..SLOTS as i64).contains(&slot) || max < 0 {
        return Err(CmdError::err("Invalid slot or number of keys"));
    }
    let keys = ctx.store().slot_keys(0, slot as u16, max as usize)?;
    Ok(Reply::Array(keys.into_iter().map(Reply::bulk).collect()))
}

/// Links to peers (our health links) and from peers (their health connections, which name
/// themselves `berth-peer-<node id>`).
fn links(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let c = cluster(ctx)?;
    let link = |direction: &str, node: String, created: u64| {
        let kv = |k: &str, v: Reply| (Reply::bulk_str(k), v);
        Reply::Map(vec![
            kv("direction", Reply::bulk_str(direction)),
            kv("node", Reply::bulk(node)),
            kv("create-time", Reply::Integer(created as i64)),
            kv("events", Reply::bulk_str("r")),
            kv("send-buffer-allocated", Reply::Integer(0)),
            kv("send-buffer-used", Reply::Integer(0)),
        ])
    };
    let mut out = Vec::new();
    for node in c.peers() {
        if let Some(since) = node.info().link_since_ms {
            out.push(link("to", node.id.clone(), since));
        }
    }
    let now_ms = crate::storage::now_ms();
    let clients = ctx
        .shared
        .clients
        .lock()
        .map(|c| c.values().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    for client in clients {
        let name = client
            .info
            .lock()
            .map(|i| i.name.clone())
            .unwrap_or_default();
        if let Some(id) = name.strip_prefix(b"berth-peer-".as_slice()) {
            let age = client.created.elapsed().as_millis() as u64;
            out.push(link(
                "from",
                String::from_utf8_lossy(id).into_owned(),
                now_ms.saturating_sub(age),
            ));
        }
    }
    Ok(Reply::Array(out))
}

fn berth_publish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    cluster(ctx)?;
    let n = ctx.shared.pubsub.publish(&args[2], &args[3]);
    Ok(Reply::Integer(n as i64))
}

fn help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    cluster(ctx)?;
    Ok(help_reply(
        "CLUSTER",
        &[
            "COUNTKEYSINSLOT <slot>",
            "    Return the number of keys in <slot>.",
            "GETKEYSINSLOT <slot> <count>",
            "    Return key names stored by current node in a slot.",
            "INFO",
            "    Return information about the cluster.",
            "KEYSLOT <key>",
            "    Return the hash slot for <key>.",
            "LINKS",
            "    Return information about all network links between this node and its peers.",
            "    Output format is an array where each array element is a map containing attributes of a link",
            "MYID",
            "    Return the node id.",
            "MYSHARDID",
            "    Return the node's shard id.",
            "NODES",
            "    Return cluster configuration seen by node. Output format:",
            "    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
            "SHARDS",
            "    Return information about slot range mappings and the nodes associated with them.",
            "SLOTS",
            "    Return information about slots range mappings. Each range is made of:",
            "    start, end, master and replicas IP addresses, ports and ids",
            "BERTH-PUBLISH <channel> <message>",
            "    berth internal: deliver a message forwarded by a peer to this node's subscribers.",
        ],
    ))
}
