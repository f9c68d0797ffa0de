//! SLOWLOG GET/LEN/RESET/HELP over `server::slowlog` (entries are recorded in `commands::run`).

use bytes::Bytes;

use super::args::{help_reply, int, text};
use super::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;

const ADMIN: &str = "admin loading stale";
const DANGER: &str = "@admin @slow @dangerous";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[Command {
    subcommands: &[
        cmd("slowlog|get", -2, ADMIN, (0, 0, 0), DANGER, "server", "2.2.12", "Get the slow log's entries", get),
        cmd("slowlog|reset", 2, ADMIN, (0, 0, 0), DANGER, "server", "2.2.12", "Clear all entries from the slow log", reset),
        cmd("slowlog|len", 2, ADMIN, (0, 0, 0), DANGER, "server", "2.2.12", "Get the slow log's length", len),
        cmd("slowlog|help", 2, "loading stale", (0, 0, 0), "@slow", "server", "6.2.0", "Show helpful text about the different subcommands", help),
    ],
    ..cmd("slowlog", -2, "", (0, 0, 0), "@slow", "server", "2.2.12", "A container for slow log commands", container)
}];

/// `SLOWLOG GET [count]`: newest first, 10 by default, all with -1. Each entry is
/// id, unix time, microseconds, arguments, client address, client name.
fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 3 {
        return Err(CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
            text(&args[1])
        )));
    }
    let count = match args.get(2) {
        None => Some(10),
        Some(a) => match int(a) {
            Ok(-1) => None,
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::err("count should be greater than or equal to -1")),
        },
    };
    Ok(ctx.shared.slowlog.newest(count, |entries| {
        Reply::Array(
            entries
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Integer(e.id as i64),
                        Reply::Integer(e.time as i64),
                        Reply::Integer(e.micros as i64),
                        Reply::Array(e.args.iter().cloned().map(Reply::Bulk).collect()),
                        Reply::bulk_str(&e.addr),
                        Reply::Bulk(e.name.clone()),
                    ])
                })
                .collect(),
        )
    }))
}

fn reset(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    ctx.shared.slowlog.reset();
    Ok(Reply::Ok)
}

fn len(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Integer(ctx.shared.slowlog.len() as i64))
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    ))
}
