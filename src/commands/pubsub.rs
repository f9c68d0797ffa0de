//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, SSUBSCRIBE,
//! SUNSUBSCRIBE, SPUBLISH and PUBSUB. The registry and delivery live in `server::pubsub`. In
//! clustered mode PUBLISH also reaches every other node's subscribers (`cluster::forward`);
//! shard channels are routed like keys and stay on the slot's owner.

use bytes::Bytes;

use super::args::help_reply;
use super::{cmd, container, Command, Ctx};
use crate::error::CmdResult;
use crate::protocol::reply::Reply;
use crate::server::pubsub::Kind;
use crate::server::session::Session;
use crate::server::Shared;

const SUB: &str = "pubsub noscript loading stale";
const PUB: &str = "pubsub loading stale fast";
const INFO: &str = "pubsub loading stale";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("subscribe", -2, SUB, (0, 0, 0), "@pubsub @slow", "pubsub", "2.0.0", "Listen for messages published to the given channels", subscribe),
    cmd("unsubscribe", -1, SUB, (0, 0, 0), "@pubsub @slow", "pubsub", "2.0.0", "Stop listening for messages posted to the given channels", unsubscribe),
    cmd("psubscribe", -2, SUB, (0, 0, 0), "@pubsub @slow", "pubsub", "2.0.0", "Listen for messages published to channels matching the given patterns", psubscribe),
    cmd("punsubscribe", -1, SUB, (0, 0, 0), "@pubsub @slow", "pubsub", "2.0.0", "Stop listening for messages posted to channels matching the given patterns", punsubscribe),
    cmd("publish", 3, PUB, (0, 0, 0), "@pubsub @fast", "pubsub", "2.0.0", "Post a message to a channel", publish),
    cmd("ssubscribe", -2, SUB, (1, -1, 1), "@pubsub @slow", "pubsub", "7.0.0", "Listen for messages published to the given shard channels", ssubscribe),
    cmd("sunsubscribe", -1, SUB, (1, -1, 1), "@pubsub @slow", "pubsub", "7.0.0", "Stop listening for messages posted to the given shard channels", sunsubscribe),
    cmd("spublish", 3, PUB, (1, 1, 1), "@pubsub @fast", "pubsub", "7.0.0", "Post a message to a shard channel", spublish),
    Command { subcommands: &[
        cmd("pubsub|channels", -2, INFO, (0, 0, 0), "@pubsub @slow", "pubsub", "2.8.0", "List active channels", channels),
        cmd("pubsub|numsub", -2, INFO, (0, 0, 0), "@pubsub @slow", "pubsub", "2.8.0", "Get the count of subscribers for channels", numsub),
        cmd("pubsub|numpat", 2, INFO, (0, 0, 0), "@pubsub @slow", "pubsub", "2.8.0", "Get the count of unique patterns pattern subscriptions", numpat),
        cmd("pubsub|shardchannels", -2, INFO, (0, 0, 0), "@pubsub @slow", "pubsub", "7.0.0", "List active shard channels", shardchannels),
        cmd("pubsub|shardnumsub", -2, INFO, (0, 0, 0), "@pubsub @slow", "pubsub", "7.0.0", "Get the count of subscribers for shard channels", shardnumsub),
        cmd("pubsub|help", 2, "loading stale", (0, 0, 0), "@slow", "pubsub", "6.2.0", "Show helpful text about the different subcommands", help),
    ], ..cmd("pubsub", -2, "", (0, 0, 0), "@slow", "pubsub", "2.8.0", "A container for Pub/Sub commands", container) },
];

fn kind_index(kind: Kind) -> usize {
    kind as usize
}

/// The `[kind, name, count]` confirmation Redis sends for each (un)subscription.
fn confirmation(word: &'static str, name: Option<Bytes>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::bulk_str(word),
        name.map_or(Reply::Nil, Reply::Bulk),
        Reply::Integer(count as i64),
    ])
}

/// The count a confirmation carries: shard subscriptions count apart from the others.
fn count(session: &Session, kind: Kind) -> usize {
    match kind {
        Kind::Shard => session.subs[kind_index(Kind::Shard)].len(),
        _ => session.sub_count(),
    }
}

fn add(ctx: &mut Ctx, args: &[Bytes], kind: Kind, word: &'static str) -> CmdResult<Reply> {
    let mut out = Vec::with_capacity(args.len() - 1);
    for name in &args[1..] {
        if ctx.session.subs[kind_index(kind)].insert(name.clone()) {
            ctx.shared
                .pubsub
                .subscribe(kind, name, &ctx.session.subscriber);
        }
        out.push(confirmation(
            word,
            Some(name.clone()),
            count(ctx.session, kind),
        ));
    }
    Ok(Reply::Raw(encode_all(out, ctx.session.resp3)))
}

fn remove(ctx: &mut Ctx, args: &[Bytes], kind: Kind, word: &'static str) -> CmdResult<Reply> {
    let replies = drop_subscriptions(ctx.shared, ctx.session, &args[1..], kind, word);
    Ok(Reply::Raw(encode_all(replies, ctx.session.resp3)))
}

/// Unsubscribes from `names` (all of this kind when empty) and returns the confirmations.
fn drop_subscriptions(
    shared: &Shared,
    session: &mut Session,
    names: &[Bytes],
    kind: Kind,
    word: &'static str,
) -> Vec<Reply> {
    let names: Vec<Bytes> = if names.is_empty() {
        session.subs[kind_index(kind)].iter().cloned().collect()
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        return vec![confirmation(word, None, count(session, kind))];
    }
    names
        .into_iter()
        .map(|name| {
            if session.subs[kind_index(kind)].remove(&name) {
                shared.pubsub.unsubscribe(kind, &name, session.id);
            }
            confirmation(word, Some(name), count(session, kind))
        })
        .collect()
}

/// Drops every subscription (RESET, and when the connection closes).
pub fn unsubscribe_all(shared: &Shared, session: &mut Session) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        if !session.subs[kind_index(kind)].is_empty() {
            drop_subscriptions(shared, session, &[], kind, "");
        }
    }
}

/// One command, several replies: they are sent back to back.
fn encode_all(replies: Vec<Reply>, resp3: bool) -> Bytes {
    let mut buf = bytes::BytesMut::new();
    for r in replies {
        r.encode(&mut buf, resp3);
    }
    buf.freeze()
}

fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    add(ctx, args, Kind::Channel, "subscribe")
}

fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    remove(ctx, args, Kind::Channel, "unsubscribe")
}

fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    add(ctx, args, Kind::Pattern, "psubscribe")
}

fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    remove(ctx, args, Kind::Pattern, "punsubscribe")
}

fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    add(ctx, args, Kind::Shard, "ssubscribe")
}

fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    remove(ctx, args, Kind::Shard, "sunsubscribe")
}

fn publish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let n = ctx.shared.pubsub.publish(&args[1], &args[2]);
    if let Some(cluster) = &ctx.shared.cluster {
        cluster.forward_publish(&args[1], &args[2]);
    }
    Ok(Reply::Integer(n as i64))
}

fn spublish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let n = ctx.shared.pubsub.spublish(&args[1], &args[2]);
    Ok(Reply::Integer(n as i64))
}

fn list(ctx: &mut Ctx, args: &[Bytes], kind: Kind) -> CmdResult<Reply> {
    let pattern = args.get(2).map(|p| p.as_ref());
    let names = ctx.shared.pubsub.channels(kind, pattern);
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

fn counts(ctx: &mut Ctx, args: &[Bytes], kind: Kind) -> CmdResult<Reply> {
    // A flat array in RESP3 too, as Redis 7 sends it.
    let mut out = Vec::with_capacity(2 * (args.len() - 2));
    for c in &args[2..] {
        out.push(Reply::Bulk(c.clone()));
        out.push(Reply::Integer(ctx.shared.pubsub.count(kind, c) as i64));
    }
    Ok(Reply::Array(out))
}

fn channels(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    list(ctx, args, Kind::Channel)
}

fn shardchannels(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    list(ctx, args, Kind::Shard)
}

fn numsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    counts(ctx, args, Kind::Channel)
}

fn shardnumsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    counts(ctx, args, Kind::Shard)
}

fn numpat(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Integer(ctx.shared.pubsub.numpat() as i64))
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    ))
}
