//! ACL subcommands (CAT, DELUSER, DRYRUN, GENPASS, GETUSER, LIST, LOAD, LOG, SAVE, SETUSER,
//! USERS, WHOAMI, HELP), and the permission check `commands::run` applies to every command.
//! Users, rules and the log live in `crate::acl`.

use std::io::Read;

use bytes::Bytes;

use super::args::{help_reply, int, is, text};
use super::{cmd, container, Command, Ctx, Entry, Resolved};
use crate::acl::{self, catalog, Denied, User};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::server::session::After;
use crate::server::Shared;

const ADMIN: &str = "admin noscript loading stale";
const NS: &str = "noscript loading stale";
const DANGER: &str = "@admin @slow @dangerous";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[Command {
    subcommands: &[
        cmd("acl|cat", -2, NS, (0, 0, 0), "@slow", "server", "6.0.0", "List the ACL categories or the commands inside a category", cat),
        cmd("acl|deluser", -3, ADMIN, (0, 0, 0), DANGER, "server", "6.0.0", "Remove the specified ACL users and the associated rules", deluser),
        cmd("acl|dryrun", -4, ADMIN, (0, 0, 0), DANGER, "server", "7.0.0", "Returns whether the user can execute the given command without executing the command.", dryrun),
        cmd("acl|genpass", -2, NS, (0, 0, 0), "@slow", "server", "6.0.0", "Generate a pseudorandom secure password to use for ACL users", genpass),
        cmd("acl|getuser", 3, ADMIN, (0, 0, 0), DANGER, "server", "6.0.0", "Get the rules for a specific ACL user", getuser),
        cmd("acl|list", 2, ADMIN, (0, 0, 0), DANGER, "server", "6.0.0", "List the current ACL rules in ACL config file format", list),
        cmd("acl|load", 2, ADMIN, (0, 0, 0), DANGER, "server", "6.0.0", "Reload the ACLs from the configured ACL file", load),
        cmd("acl|log", -2, ADMIN, (0, 0, 0), DANGER, "server", "6.0.0", "List latest events denied because of ACLs in place", log),
        cmd("acl|save", 2, ADMIN, (0, 0, 0), DANGER, "server", "6.0.0", "Save the current ACL rules in the configured ACL file", save),
        cmd("acl|setuser", -3, ADMIN, (0, 0, 0), DANGER, "server", "6.0.0", "Modify or create the rules for a specific ACL user", setuser),
        cmd("acl|users", 2, ADMIN, (0, 0, 0), DANGER, "server", "6.0.0", "List the username of all the configured ACL rules", users),
        cmd("acl|whoami", 2, NS, (0, 0, 0), "@slow", "server", "6.0.0", "Return the name of the user associated to the current connection", whoami),
        cmd("acl|help", 2, "loading stale", (0, 0, 0), "@slow", "server", "6.0.0", "Show helpful text about the different subcommands", help),
    ],
    ..cmd("acl", -2, "", (0, 0, 0), "@slow", "server", "6.0.0", "A container for Access List Control commands", container)
}];

/// Can `user` run this resolved command with `args`? Key positions are only worked out for a
/// user whose key patterns have to be checked. Ok(true): the user may run anything.
pub fn permission(
    shared: &Shared,
    user: &str,
    entry: &Entry,
    args: &[Bytes],
) -> Result<bool, Denied> {
    let no_auth = entry.flags & super::NO_AUTH != 0;
    shared.acl.check(user, entry.index, no_auth, args, &mut || {
        if entry.cmd.keys.0 == 0 && entry.flags & super::MOVABLE_KEYS == 0 {
            Vec::new()
        } else {
            super::command::keys_with_flags(args)
        }
    })
}

/// Whether this connection's user may run the command with `args`. A user found unrestricted
/// stays so until the users change, so the hot path takes no lock.
pub fn allowed(ctx: &mut Ctx, entry: &Entry, args: &[Bytes]) -> Result<(), Denied> {
    let generation = ctx.shared.acl.generation();
    if ctx.session.unrestricted_at == Some(generation) {
        return Ok(());
    }
    if permission(ctx.shared, &ctx.session.user, entry, args)? {
        ctx.session.unrestricted_at = Some(generation);
    }
    Ok(())
}

/// Where a denied command ran, as ACL LOG's `context` names it; each has its own error text.
#[derive(Clone, Copy)]
pub enum Context {
    Toplevel,
    /// Re-checked at EXEC: the rules changed after the command was queued.
    Multi,
    /// Called by a script.
    Lua,
}

/// Logs a denied command in ACL LOG and returns the error text to reply with (without the
/// `-` and the line end), as Redis words it for `context`.
pub fn deny_in(ctx: &mut Ctx, denied: &Denied, args: &[Bytes], context: Context) -> String {
    let (reason, object) = match denied {
        Denied::Command(name) => ("command", name.to_string()),
        Denied::Key(i) => ("key", text(&args[*i])),
        Denied::Channel(i) => ("channel", text(&args[*i])),
    };
    let context_name = match context {
        Context::Toplevel => "toplevel",
        Context::Multi => "multi",
        Context::Lua => "lua",
    };
    let username = ctx.session.user.to_string();
    log_denial(ctx, reason, context_name, object, username);
    match (context, denied) {
        (Context::Toplevel, Denied::Command(name)) => {
            format!("NOPERM this user has no permissions to run the '{name}' command")
        }
        (Context::Toplevel, Denied::Key(_)) => {
            "NOPERM this user has no permissions to access one of the keys used as arguments".into()
        }
        (Context::Toplevel, Denied::Channel(_)) => {
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .into()
        }
        (Context::Multi, _) => format!(
            "NOPERM ACLs rules changed between the moment the transaction was accumulated and \
             the EXEC call. This command is no longer allowed for the following reason: {}",
            match denied {
                Denied::Command(_) => "no permission to execute the command or subcommand",
                Denied::Key(_) => "no permission to touch the specified keys",
                Denied::Channel(_) =>
                    "no permission to access one of the channels used as arguments",
            }
        ),
        (Context::Lua, Denied::Command(_)) => {
            "ERR The user executing the script can't run this command or subcommand".into()
        }
        (Context::Lua, Denied::Key(_)) => "ERR The user executing the script can't access at \
             least one of the keys mentioned in the command arguments"
            .into(),
        (Context::Lua, Denied::Channel(_)) => {
            "ERR The user executing the script can't publish to the channel mentioned in the \
             command"
                .into()
        }
    }
}

/// The `-NOPERM` reply to a denied command, after logging it in ACL LOG.
pub fn deny(ctx: &mut Ctx, denied: &Denied, args: &[Bytes]) -> Reply {
    Reply::error(deny_in(ctx, denied, args, Context::Toplevel))
}

/// Records a denial (or a failed AUTH, reason `auth`) with this client's CLIENT LIST line.
pub fn log_denial(
    ctx: &mut Ctx,
    reason: &'static str,
    context: &'static str,
    object: String,
    username: String,
) {
    ctx.session.publish();
    let info = ctx.session.handle.describe();
    let max = ctx.shared.config.get_i64("acllog-max-len").max(0) as usize;
    ctx.shared
        .acl
        .log_denial(max, reason, context, object, username, info);
}

/// AUTH and HELLO AUTH: logs in as `user`, or logs the failure and returns WRONGPASS.
pub fn login(ctx: &mut Ctx, user: &[u8], pass: &[u8], command: &[u8]) -> CmdResult<()> {
    if ctx.shared.acl.authenticate(user, pass) {
        ctx.session.set_user(&String::from_utf8_lossy(user), true);
        return Ok(());
    }
    log_denial(ctx, "auth", "toplevel", text(command), text(user));
    Err(CmdError::msg(
        "WRONGPASS invalid username-password pair or user is disabled.",
    ))
}

fn cat(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    match args.len() {
        2 => Ok(Reply::Array(
            catalog::CATEGORIES
                .iter()
                .map(|c| Reply::bulk_str(c))
                .collect(),
        )),
        3 => {
            let name = text(&args[2]);
            let bit = catalog::category(&name)
                .ok_or_else(|| CmdError::err(format!("Unknown category '{name}'")))?;
            Ok(Reply::Array(
                catalog::items()
                    .iter()
                    .filter(|i| i.cats & bit != 0)
                    .map(|i| Reply::bulk_str(i.cmd.name))
                    .collect(),
            ))
        }
        _ => Err(too_many(args)),
    }
}

/// Subcommands with optional arguments reject extra ones with Redis's generic error.
fn too_many(args: &[Bytes]) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
        text(&args[1])
    ))
}

fn setuser(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let name = text(&args[2]);
    let rules: Vec<String> = args[3..].iter().map(|a| text(a)).collect();
    let rules = acl::merge_selectors(&rules).map_err(CmdError::err)?;
    ctx.shared
        .acl
        .setuser(&name, &rules, &ctx.shared.config)
        .map_err(CmdError::err)?;
    close_revoked_subscribers(ctx, &name);
    Ok(Reply::Ok)
}

/// Clients of `user` subscribed to a channel or pattern it may no longer use are
/// disconnected, as Redis 7 does after ACL SETUSER.
fn close_revoked_subscribers(ctx: &mut Ctx, user: &str) {
    let Some(u) = ctx.shared.acl.get(user) else {
        return;
    };
    for (kind, name, client) in ctx.shared.pubsub.subscriptions() {
        let literal = kind == crate::server::pubsub::Kind::Pattern;
        if *client.snapshot().user == *user && !u.may_subscribe(&name, literal) {
            if client.id == ctx.session.id {
                ctx.session.after = After::Close;
            } else {
                client.kill();
            }
        }
    }
}

/// Deletes users and disconnects their clients (this one after its reply).
fn deluser(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let names: Vec<String> = args[2..].iter().map(|a| text(a)).collect();
    if names.iter().any(|n| n == acl::DEFAULT_USER) {
        return Err(CmdError::err("The 'default' user cannot be removed"));
    }
    let removed = ctx.shared.acl.deluser(&names);
    close_clients_of(ctx, &removed);
    Ok(Reply::Integer(removed.len() as i64))
}

fn close_clients_of(ctx: &mut Ctx, users: &[String]) {
    ctx.shared.kill_clients_of(users, ctx.session.id);
    if users.iter().any(|u| **u == *ctx.session.user) {
        ctx.session.after = After::Close;
    }
}

fn getuser(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(u) = ctx.shared.acl.get(&text(&args[2])) else {
        return Ok(Reply::Nil);
    };
    Ok(describe_user(&u))
}

/// ACL GETUSER's map: flags, password hashes, and the root selector's rules, then the others.
fn describe_user(u: &User) -> Reply {
    let key = Reply::bulk_str;
    let mut fields = vec![
        (
            key("flags"),
            Reply::Set(u.flags().into_iter().map(Reply::bulk_str).collect()),
        ),
        (
            key("passwords"),
            Reply::Array(u.passwords.iter().map(|p| Reply::bulk_str(p)).collect()),
        ),
    ];
    fields.extend(selector_fields(&u.root));
    fields.push((
        key("selectors"),
        Reply::Array(
            u.selectors
                .iter()
                .map(|s| Reply::Map(selector_fields(s)))
                .collect(),
        ),
    ));
    Reply::Map(fields)
}

fn selector_fields(s: &acl::user::Selector) -> Vec<(Reply, Reply)> {
    vec![
        (
            Reply::bulk_str("commands"),
            Reply::bulk(s.describe_commands()),
        ),
        (Reply::bulk_str("keys"), Reply::bulk(s.describe_keys())),
        (
            Reply::bulk_str("channels"),
            Reply::bulk(s.describe_channels()),
        ),
    ]
}

fn list(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(
        ctx.shared
            .acl
            .users()
            .iter()
            .map(|u| Reply::bulk(u.describe()))
            .collect(),
    ))
}

fn users(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(
        ctx.shared
            .acl
            .users()
            .iter()
            .map(|u| Reply::bulk_str(&u.name))
            .collect(),
    ))
}

fn whoami(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::bulk_str(&ctx.session.user))
}

/// `ACL DRYRUN user command [arg ...]`: the permission check alone, with a readable verdict.
fn dryrun(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let user = text(&args[2]);
    if !ctx.shared.acl.exists(&user) {
        return Err(CmdError::err(format!("User '{user}' not found")));
    }
    let argv = &args[3..];
    let not_found = || CmdError::err(format!("Command '{}' not found", text(&argv[0])));
    let entry = match super::lookup(&argv[0]) {
        None => return Err(not_found()),
        Some(e) if !e.subs.is_empty() && argv.len() >= 2 => {
            let sub = text(&argv[1]).to_ascii_lowercase();
            e.subs.get(&sub).ok_or_else(not_found)?
        }
        Some(e) => e,
    };
    if let Resolved::Error(e) = super::resolve(argv) {
        return Ok(e);
    }
    Ok(match permission(ctx.shared, &user, entry, argv) {
        Ok(_) => Reply::Ok,
        Err(Denied::Command(name)) => Reply::bulk(format!(
            "This user has no permissions to run the '{name}' command"
        )),
        Err(Denied::Key(i)) => Reply::bulk(format!(
            "This user has no permissions to access the '{}' key",
            text(&argv[i])
        )),
        Err(Denied::Channel(i)) => Reply::bulk(format!(
            "This user has no permissions to access the '{}' channel",
            text(&argv[i])
        )),
    })
}

/// `ACL GENPASS [bits]`: random hex from the kernel, 4 bits per character (256 bits default).
fn genpass(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 3 {
        return Err(too_many(args));
    }
    let bits = match args.get(2) {
        Some(a) => {
            let n = int(a)?;
            if n <= 0 || n > 4096 {
                return Err(CmdError::err("ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"));
            }
            n as usize
        }
        None => 256,
    };
    let chars = bits.div_ceil(4);
    let mut raw = vec![0u8; chars.div_ceil(2)];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut raw))
        .map_err(|e| CmdError::err(format!("Failed to generate a password: {e}")))?;
    let mut hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(chars);
    Ok(Reply::bulk(hex))
}

const NO_ACLFILE: &str = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn aclfile(ctx: &Ctx) -> CmdResult<String> {
    let path = ctx.shared.config.get("aclfile");
    if path.is_empty() {
        return Err(CmdError::err(NO_ACLFILE));
    }
    Ok(path)
}

/// Replaces the users with the file's; clients of every user but `default` are disconnected,
/// as Redis frees (and so disconnects) all the old users.
fn load(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let path = aclfile(ctx)?;
    let before: Vec<String> = ctx
        .shared
        .acl
        .users()
        .into_iter()
        .map(|u| u.name)
        .filter(|n| n != acl::DEFAULT_USER)
        .collect();
    ctx.shared
        .acl
        .load(&path, &ctx.shared.config)
        .map_err(CmdError::err)?;
    close_clients_of(ctx, &before);
    Ok(Reply::Ok)
}

fn save(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let path = aclfile(ctx)?;
    ctx.shared.acl.save(&path).map_err(CmdError::err)?;
    Ok(Reply::Ok)
}

/// `ACL LOG [count | RESET]`: the newest entries first (10 by default).
fn log(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 3 {
        return Err(too_many(args));
    }
    let count = match args.get(2) {
        Some(a) if is(a, "reset") => {
            ctx.shared.acl.log_reset();
            return Ok(Reply::Ok);
        }
        Some(a) => int(a)?.max(0) as usize,
        None => 10,
    };
    let entries = ctx.shared.acl.log_entries(count, |e| {
        let age = e.updated.elapsed().as_millis() as f64 / 1000.0;
        let key = Reply::bulk_str;
        Reply::Map(vec![
            (key("count"), Reply::Integer(e.count as i64)),
            (key("reason"), key(e.reason)),
            (key("context"), key(e.context)),
            (key("object"), Reply::bulk(e.object.clone())),
            (key("username"), Reply::bulk(e.username.clone())),
            (
                key("age-seconds"),
                Reply::Double(crate::util::num::fmt_double(age).into()),
            ),
            (key("client-info"), Reply::bulk(e.client_info.clone())),
        ])
    });
    Ok(Reply::Array(entries))
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    ))
}
