//! CONFIG GET/SET/RESETSTAT/REWRITE/HELP over the directive table in `crate::config`.

use bytes::Bytes;

use super::args::{help_reply, text};
use super::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;

const ADMIN: &str = "admin noscript loading stale";
const DANGER: &str = "@admin @slow @dangerous";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[Command {
    subcommands: &[
        cmd("config|get", -3, ADMIN, (0, 0, 0), DANGER, "server", "2.0.0", "Get the values of configuration parameters", get),
        cmd("config|set", -4, ADMIN, (0, 0, 0), DANGER, "server", "2.0.0", "Set configuration parameters to the given values", set),
        cmd("config|resetstat", 2, ADMIN, (0, 0, 0), DANGER, "server", "2.0.0", "Reset the stats returned by INFO", resetstat),
        cmd("config|rewrite", 2, ADMIN, (0, 0, 0), DANGER, "server", "2.8.0", "Rewrite the configuration file with the in memory configuration", rewrite),
        cmd("config|help", 2, "loading stale", (0, 0, 0), "@slow", "server", "5.0.0", "Show helpful text about the different subcommands", help),
    ],
    ..cmd("config", -2, "", (0, 0, 0), "@slow", "server", "2.0.0", "A container for server configuration commands", container)
}];

/// `CONFIG GET pattern [pattern ...]`: a map of every matching directive (flat array in RESP2).
/// Secret directives (requirepass) only show up when asked for by their exact name.
fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let patterns: Vec<&[u8]> = args[2..].iter().map(|p| &p[..]).collect();
    let config = &ctx.shared.config;
    let pairs = config
        .matching(&patterns)
        .into_iter()
        .filter(|(name, _)| {
            let secret = crate::config::directive(name).is_some_and(|d| d.secret);
            !secret
                || patterns
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(name.as_bytes()))
        })
        .map(|(name, value)| (Reply::bulk_str(name), Reply::bulk(value)))
        .collect();
    Ok(Reply::Map(pairs))
}

/// `CONFIG SET name value [name value ...]`: all pairs are checked before any is applied.
fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let rest = &args[2..];
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(String, String)> = rest
        .chunks(2)
        .map(|p| (text(&p[0]).to_ascii_lowercase(), text(&p[1])))
        .collect();
    let config = &ctx.shared.config;
    config.set_many(&pairs).map_err(CmdError::err)?;
    // requirepass is the default user's password (Redis 7).
    if pairs.iter().any(|(name, _)| name == "requirepass") {
        ctx.shared
            .acl
            .set_default_password(&config.get("requirepass"));
    }
    // Most directives are read live; the log filter has to be told.
    if pairs.iter().any(|(name, _)| name == "loglevel") {
        crate::logging::set_level(&config.get("loglevel"));
    }
    // The store records events by its own copy of the flags, taken when the batch locked it.
    if pairs
        .iter()
        .any(|(name, _)| name == "notify-keyspace-events")
    {
        let mask = crate::server::notify::record_mask(config.notify_flags());
        ctx.store().events.mask = mask;
    }
    Ok(Reply::Ok)
}

fn resetstat(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    ctx.shared.stats.reset();
    Ok(Reply::Ok)
}

fn rewrite(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    // Users live in the config file unless an aclfile holds them.
    let users: Vec<String> = if ctx.shared.config.get("aclfile").is_empty() {
        ctx.shared
            .acl
            .users()
            .iter()
            .map(|u| u.describe())
            .collect()
    } else {
        Vec::new()
    };
    ctx.shared.config.rewrite(&users).map_err(CmdError::err)?;
    Ok(Reply::Ok)
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    ))
}
