//! FCALL, FCALL_RO and FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/KILL/STATS/HELP. Libraries
//! are kept by `crate::scripting` (VM and catalog).

use bytes::Bytes;

use super::args::{help_reply, is};
use super::scripting::{defer, keys_and_args};
use super::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::scripting::ListOptions;

const FCALL: &str = "noscript stale skip_monitor no_mandatory_keys movablekeys";
const FCALL_RO: &str = "readonly noscript stale skip_monitor no_mandatory_keys movablekeys";
const ACL: &str = "@slow @scripting";
const WRITE_ACL: &str = "@write @slow @scripting";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("fcall", -3, FCALL, (0, 0, 0), ACL, "scripting", "7.0.0", "Invoke a function", fcall),
    cmd("fcall_ro", -3, FCALL_RO, (0, 0, 0), ACL, "scripting", "7.0.0", "Invoke a read-only function", fcall_ro),
    Command {
        subcommands: &[
            cmd("function|load", -3, "write denyoom noscript", (0, 0, 0), WRITE_ACL, "scripting", "7.0.0", "Create a function with the given arguments (name, code, description)", load),
            cmd("function|kill", 2, "noscript allow_busy", (0, 0, 0), ACL, "scripting", "7.0.0", "Kill the function currently in execution.", kill),
            cmd("function|help", 2, "loading stale", (0, 0, 0), ACL, "scripting", "7.0.0", "Show helpful text about the different subcommands", help),
            cmd("function|flush", -2, "write noscript", (0, 0, 0), WRITE_ACL, "scripting", "7.0.0", "Deleting all functions", flush),
            cmd("function|restore", -3, "write denyoom noscript", (0, 0, 0), WRITE_ACL, "scripting", "7.0.0", "Restore all the functions on the given payload", restore),
            cmd("function|dump", 2, "noscript", (0, 0, 0), ACL, "scripting", "7.0.0", "Dump all functions into a serialized binary payload", dump),
            cmd("function|delete", 3, "write noscript", (0, 0, 0), WRITE_ACL, "scripting", "7.0.0", "Delete a function by name", delete),
            cmd("function|list", -2, "noscript", (0, 0, 0), ACL, "scripting", "7.0.0", "List information about all the functions", list),
            cmd("function|stats", 2, "noscript allow_busy", (0, 0, 0), ACL, "scripting", "7.0.0", "Return information about the function currently running (name, description, duration)", stats),
        ],
        ..cmd("function", -2, "", (0, 0, 0), "@slow", "scripting", "7.0.0", "A container for function commands", container)
    },
];

fn fcall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    defer(ctx, args, fcall).unwrap_or_else(|| run(ctx, args, false))
}

fn fcall_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    defer(ctx, args, fcall_ro).unwrap_or_else(|| run(ctx, args, true))
}

fn run(ctx: &mut Ctx, args: &[Bytes], ro: bool) -> CmdResult<Reply> {
    if super::args::int(&args[2]).is_err() {
        return Err(CmdError::err("Bad number of keys provided"));
    }
    let (keys, argv) = keys_and_args(args)?;
    ctx.shared.scripting.fcall(ctx, args, keys, argv, ro)
}

fn load(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (replace, code) = match args.len() {
        3 => (false, &args[2]),
        4 if is(&args[2], "replace") => (true, &args[3]),
        4 => {
            return Err(CmdError::err(format!(
                "Unknown option given: {}",
                String::from_utf8_lossy(&args[2])
            )))
        }
        _ => return Err(CmdError::Syntax),
    };
    let name = ctx.shared.scripting.function_load(ctx, code, replace)?;
    Ok(Reply::bulk(name))
}

fn delete(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    ctx.shared.scripting.function_delete(ctx, &args[2])
}

fn flush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 3 || (args.len() == 3 && !is(&args[2], "sync") && !is(&args[2], "async")) {
        return Err(CmdError::err(
            "FUNCTION FLUSH only supports SYNC|ASYNC option",
        ));
    }
    ctx.shared.scripting.function_flush(ctx);
    Ok(Reply::Ok)
}

fn dump(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::bulk(ctx.shared.scripting.function_dump()))
}

fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let policy = match args.get(3) {
        None => "append".to_string(),
        Some(p) if is(p, "flush") || is(p, "append") || is(p, "replace") => {
            String::from_utf8_lossy(p).to_ascii_lowercase()
        }
        Some(_) => {
            return Err(CmdError::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    if args.len() > 4 {
        return Err(CmdError::Syntax);
    }
    ctx.shared
        .scripting
        .function_restore(ctx, &args[2], &policy)?;
    Ok(Reply::Ok)
}

fn list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let mut opts = ListOptions::default();
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "withcode") {
            opts.with_code = true;
        } else if is(&args[i], "libraryname") {
            let Some(p) = args.get(i + 1) else {
                return Err(CmdError::err("library name argument was not given"));
            };
            opts.pattern = Some(p.clone());
            i += 1;
        } else {
            return Err(CmdError::err(format!(
                "Unknown argument {}",
                String::from_utf8_lossy(&args[i])
            )));
        }
        i += 1;
    }
    Ok(ctx.shared.scripting.function_list(&opts))
}

fn stats(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(ctx.shared.scripting.function_stats())
}

fn kill(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    ctx.shared.scripting.kill()
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    ))
}
