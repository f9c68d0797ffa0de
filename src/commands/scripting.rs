//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD/EXISTS/FLUSH/KILL/HELP. The VM, the
//! `redis.*` API and reply conversions live in `crate::scripting`.

use bytes::Bytes;

use super::args::{help_reply, int, is};
use super::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;

const EVAL: &str = "noscript stale skip_monitor no_mandatory_keys movablekeys";
const EVAL_RO: &str = "readonly noscript stale skip_monitor no_mandatory_keys movablekeys";
const ACL: &str = "@slow @scripting";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("eval", -3, EVAL, (0, 0, 0), ACL, "scripting", "2.6.0", "Execute a Lua script server side", eval),
    cmd("evalsha", -3, EVAL, (0, 0, 0), ACL, "scripting", "2.6.0", "Execute a Lua script server side", evalsha),
    cmd("eval_ro", -3, EVAL_RO, (0, 0, 0), ACL, "scripting", "7.0.0", "Execute a read-only Lua script server side", eval_ro),
    cmd("evalsha_ro", -3, EVAL_RO, (0, 0, 0), ACL, "scripting", "7.0.0", "Execute a read-only Lua script server side", evalsha_ro),
    Command {
        subcommands: &[
            cmd("script|help", 2, "loading stale", (0, 0, 0), ACL, "scripting", "5.0.0", "Show helpful text about the different subcommands", help),
            cmd("script|debug", 3, "noscript", (0, 0, 0), ACL, "scripting", "3.2.0", "Set the debug mode for executed scripts.", debug),
            cmd("script|flush", -2, "noscript", (0, 0, 0), ACL, "scripting", "2.6.0", "Remove all the scripts from the script cache.", flush),
            cmd("script|load", 3, "noscript stale", (0, 0, 0), ACL, "scripting", "2.6.0", "Load the specified Lua script into the script cache.", load),
            cmd("script|kill", 2, "noscript allow_busy", (0, 0, 0), ACL, "scripting", "2.6.0", "Kill the script currently in execution.", kill),
            cmd("script|exists", -3, "noscript", (0, 0, 0), ACL, "scripting", "2.6.0", "Check existence of scripts in the script cache.", exists),
        ],
        ..cmd("script", -2, "", (0, 0, 0), "@slow", "scripting", "2.6.0", "A container for Lua scripts management commands", container)
    },
];

/// KEYS and ARGV of `EVAL script numkeys key… arg…` (also FCALL's), with Redis's errors.
pub fn keys_and_args(args: &[Bytes]) -> CmdResult<(&[Bytes], &[Bytes])> {
    let numkeys = int(&args[2])?;
    if numkeys < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    let numkeys = numkeys as usize;
    if numkeys > args.len() - 3 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    Ok((&args[3..3 + numkeys], &args[3 + numkeys..]))
}

/// At the top level of a batch, hands the script to the connection (which runs it on the
/// blocking pool, see `server::connection`) instead of running it here; inside MULTI/EXEC, or
/// on the blocking pool itself, it runs inline. The deferred reply is never sent.
///
/// The script commands are `skip_monitor`, yet Redis shows them in MONITOR as they start to
/// run (before the commands the script runs, whether or not the script then fails): this is
/// that point, once per run.
pub fn defer(ctx: &mut Ctx, args: &[Bytes], run: super::Handler) -> Option<CmdResult<Reply>> {
    if !std::mem::take(&mut ctx.session.defer_script) {
        if ctx
            .shared
            .monitors
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
        {
            crate::server::connection::feed_monitors(ctx.shared, ctx.session, args);
        }
        return None;
    }
    ctx.session.script_job = Some(crate::scripting::Job {
        args: args.to_vec(),
        run,
    });
    Some(Ok(Reply::Nil))
}

fn eval(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    defer(ctx, args, eval).unwrap_or_else(|| run(ctx, args, false, false))
}

fn evalsha(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    defer(ctx, args, evalsha).unwrap_or_else(|| run(ctx, args, true, false))
}

fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    defer(ctx, args, eval_ro).unwrap_or_else(|| run(ctx, args, false, true))
}

fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    defer(ctx, args, evalsha_ro).unwrap_or_else(|| run(ctx, args, true, true))
}

fn run(ctx: &mut Ctx, args: &[Bytes], by_sha: bool, ro: bool) -> CmdResult<Reply> {
    let (keys, argv) = keys_and_args(args)?;
    let engine = &ctx.shared.scripting;
    let sha = if by_sha {
        String::from_utf8_lossy(&args[1]).to_ascii_lowercase()
    } else {
        engine.load(&args[1])?
    };
    engine.eval(ctx, &sha, keys, argv, ro)
}

fn load(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::bulk(ctx.shared.scripting.load(&args[2])?))
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let engine = &ctx.shared.scripting;
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|sha| Reply::Integer(engine.exists(sha) as i64))
            .collect(),
    ))
}

fn flush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 3 || (args.len() == 3 && !is(&args[2], "sync") && !is(&args[2], "async")) {
        return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
    }
    ctx.shared.scripting.flush();
    Ok(Reply::Ok)
}

fn kill(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    ctx.shared.scripting.kill()
}

fn debug(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if is(&args[2], "no") {
        return Ok(Reply::Ok);
    }
    if is(&args[2], "yes") || is(&args[2], "sync") {
        // The Lua debugger (LDB) is not implemented.
        return Err(CmdError::err(
            "SCRIPT DEBUG YES/SYNC is not supported by berth",
        ));
    }
    Err(CmdError::err("Use SCRIPT DEBUG YES/SYNC/NO"))
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    ))
}
