//! CLIENT subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL, UNBLOCK, PAUSE, UNPAUSE, REPLY,
//! NO-EVICT, TRACKING (off only), CACHING, GETREDIR, TRACKINGINFO, and 7.2's SETINFO and
//! NO-TOUCH, HELP.
//!
//! Other connections are seen through the registry `shared.clients`. A berth client is of type
//! `pubsub` while it has subscriptions and `normal` otherwise (there are no replicas).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::args::{help_reply, int, is, text};
use super::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::server::pause::Mode;
use crate::server::session::{After, ClientHandle};

const NS: &str = "noscript loading stale";
const ADMIN: &str = "admin noscript loading stale";
const CONN: &str = "@slow @connection";
const DANGER: &str = "@admin @slow @dangerous @connection";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[Command {
    subcommands: &[
        cmd("client|id", 2, NS, (0, 0, 0), CONN, "connection", "5.0.0", "Returns the client ID for the current connection", id),
        cmd("client|setname", 3, NS, (0, 0, 0), CONN, "connection", "2.6.9", "Set the current connection name", setname),
        cmd("client|getname", 2, NS, (0, 0, 0), CONN, "connection", "2.6.9", "Get the current connection name", getname),
        cmd("client|list", -2, ADMIN, (0, 0, 0), DANGER, "connection", "2.4.0", "Get the list of client connections", list),
        cmd("client|info", 2, NS, (0, 0, 0), CONN, "connection", "6.2.0", "Returns information about the current client connection.", info),
        cmd("client|kill", -3, ADMIN, (0, 0, 0), DANGER, "connection", "2.4.0", "Kill the connection of a client", kill),
        cmd("client|unblock", -3, ADMIN, (0, 0, 0), DANGER, "connection", "5.0.0", "Unblock a client blocked in a blocking command from a different connection", unblock),
        cmd("client|setinfo", 4, NS, (0, 0, 0), CONN, "connection", "7.2.0", "Set client or connection specific info", setinfo),
        cmd("client|no-evict", 3, ADMIN, (0, 0, 0), DANGER, "connection", "7.0.0", "Set client eviction mode for the current connection", no_evict),
        cmd("client|no-touch", 3, NS, (0, 0, 0), CONN, "connection", "7.2.0", "Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.", no_touch),
        cmd("client|pause", -3, ADMIN, (0, 0, 0), DANGER, "connection", "2.9.50", "Stop processing commands from clients for some time", pause),
        cmd("client|unpause", 2, ADMIN, (0, 0, 0), DANGER, "connection", "6.2.0", "Resume processing of clients that were paused", unpause),
        cmd("client|reply", 3, NS, (0, 0, 0), CONN, "connection", "3.2.0", "Instruct the server whether to reply to commands", reply),
        cmd("client|tracking", -3, NS, (0, 0, 0), CONN, "connection", "6.0.0", "Enable or disable server assisted client side caching support", tracking),
        cmd("client|caching", 3, NS, (0, 0, 0), CONN, "connection", "6.0.0", "Instruct the server about tracking or not keys in the next request", caching),
        cmd("client|getredir", 2, NS, (0, 0, 0), CONN, "connection", "6.0.0", "Get tracking notifications redirection client ID if any", getredir),
        cmd("client|trackinginfo", 2, NS, (0, 0, 0), CONN, "connection", "6.2.0", "Return information about server assisted client side caching for the current connection", trackinginfo),
        cmd("client|help", 2, "loading stale", (0, 0, 0), CONN, "connection", "5.0.0", "Show helpful text about the different subcommands", help),
    ],
    ..cmd("client", -2, "", (0, 0, 0), "@slow", "connection", "2.4.0", "A container for client connection commands", container)
}];

/// Client names may not contain spaces or special characters (Redis's rule).
pub fn validate_name(name: &[u8]) -> CmdResult<()> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn id(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Integer(ctx.session.id as i64))
}

fn setname(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    validate_name(&args[2])?;
    ctx.session.name = args[2].clone();
    publish(ctx)
}

/// Shows a change to other clients' CLIENT LIST before this client gets its reply (the
/// connection otherwise publishes its state after writing the batch's replies).
fn publish(ctx: &mut Ctx) -> CmdResult<Reply> {
    ctx.session.publish();
    Ok(Reply::Ok)
}

fn getname(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let name = &ctx.session.name;
    Ok(if name.is_empty() {
        Reply::Nil
    } else {
        Reply::Bulk(name.clone())
    })
}

/// A `TYPE` argument: Some(true) for `pubsub`, Some(false) for `normal`, None for the types no
/// berth client has (`master`, `replica`, `slave`).
fn client_type(name: &[u8]) -> CmdResult<Option<bool>> {
    if is(name, "normal") {
        Ok(Some(false))
    } else if is(name, "pubsub") {
        Ok(Some(true))
    } else if is(name, "master") || is(name, "replica") || is(name, "slave") {
        Ok(None)
    } else {
        Err(CmdError::err(format!(
            "Unknown client type '{}'",
            text(name)
        )))
    }
}

fn has_type(h: &ClientHandle, t: Option<bool>) -> bool {
    t.is_some_and(|pubsub| h.is_pubsub() == pubsub)
}

/// Every live client, in id (connection) order, with this session's entry up to date. A killed
/// client stays registered until its connection task ends; it no longer counts.
fn clients(ctx: &Ctx) -> Vec<Arc<ClientHandle>> {
    ctx.session.publish();
    ctx.shared
        .clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter(|h| !h.is_killed())
        .cloned()
        .collect()
}

fn lines(handles: impl IntoIterator<Item = Arc<ClientHandle>>) -> Reply {
    let mut out = String::new();
    for h in handles {
        out.push_str(&h.describe());
        out.push('\n');
    }
    Reply::Verbatim(Bytes::from(out))
}

/// `CLIENT LIST [TYPE type | ID id [id ...]]`.
fn list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let all = clients(ctx);
    match args.len() {
        2 => Ok(lines(all)),
        4 if is(&args[2], "type") => {
            let t = client_type(&args[3])?;
            Ok(lines(all.into_iter().filter(|h| has_type(h, t))))
        }
        n if n > 3 && is(&args[2], "id") => {
            let mut ids = Vec::new();
            for a in &args[3..] {
                ids.push(int(a).map_err(|_| CmdError::err("Invalid client ID"))?);
            }
            Ok(lines(ids.into_iter().filter_map(|id| {
                all.iter().find(|h| h.id as i64 == id).cloned()
            })))
        }
        _ => Err(CmdError::Syntax),
    }
}

fn info(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    ctx.session.publish();
    Ok(lines([ctx.session.handle.clone()]))
}

/// Which clients `CLIENT KILL` targets.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    /// `TYPE`: as `client_type` gives it.
    kind: Option<Option<bool>>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    user: Option<String>,
    /// `MAXAGE` (Redis 7.4): clients connected for longer than this many seconds.
    max_age: Option<u64>,
    skipme: bool,
}

impl KillFilter {
    fn matches(&self, h: &ClientHandle, me: u64) -> bool {
        self.id.is_none_or(|id| id == h.id)
            && self.kind.is_none_or(|t| has_type(h, t))
            && self.user.as_ref().is_none_or(|u| **u == *h.snapshot().user)
            && self.max_age.is_none_or(|age| h.age() > age)
            && self
                .addr
                .as_ref()
                .is_none_or(|a| a[..] == *h.addr.as_bytes())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| a[..] == *h.laddr.as_bytes())
            && self.user.as_ref().is_none_or(|u| **u == *h.snapshot().user)
            && !(self.skipme && h.id == me)
    }
}

/// `CLIENT KILL ip:port` (old form: OK or "No such client") or
/// `CLIENT KILL <filter> <value> ...` (new form: the number of clients killed).
fn kill(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let old_form = args.len() == 3;
    let mut f = KillFilter {
        skipme: !old_form,
        ..Default::default()
    };
    if old_form {
        f.addr = Some(args[2].clone());
    } else {
        for pair in args[2..].chunks(2) {
            let [opt, value] = pair else {
                return Err(CmdError::Syntax);
            };
            if is(opt, "id") {
                let id = int(value).ok().filter(|&id| id > 0);
                let id = id.ok_or_else(|| CmdError::err("client-id should be greater than 0"))?;
                f.id = Some(id as u64);
            } else if is(opt, "type") {
                f.kind = Some(client_type(value)?);
            } else if is(opt, "addr") {
                f.addr = Some(value.clone());
            } else if is(opt, "laddr") {
                f.laddr = Some(value.clone());
            } else if is(opt, "user") {
                let user = text(value);
                if !ctx.shared.acl.exists(&user) {
                    return Err(CmdError::err(format!("No such user '{user}'")));
                }
                f.user = Some(user);
            } else if is(opt, "maxage") {
                let age = int(value)
                    .map_err(|_| CmdError::err("maxage is not an integer or out of range"))?;
                f.max_age = Some(age.max(0) as u64);
            } else if is(opt, "skipme") {
                f.skipme = if is(value, "yes") {
                    true
                } else if is(value, "no") {
                    false
                } else {
                    return Err(CmdError::Syntax);
                };
            } else {
                return Err(CmdError::Syntax);
            }
        }
    }
    let me = ctx.session.id;
    let mut killed = 0;
    for h in clients(ctx).iter().filter(|h| f.matches(h, me)) {
        if h.id == me {
            // Our own connection closes once this reply is written.
            ctx.session.after = After::Close;
        } else {
            h.kill();
        }
        killed += 1;
    }
    match (old_form, killed) {
        (true, 0) => Err(CmdError::err("No such client")),
        (true, _) => Ok(Reply::Ok),
        (false, n) => Ok(Reply::Integer(n)),
    }
}

/// `CLIENT SETINFO LIB-NAME|LIB-VER value` (Redis 7.2); an empty value clears the attribute.
fn setinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (attr, value) = (&args[2], &args[3]);
    let lib_name = is(attr, "lib-name");
    if !lib_name && !is(attr, "lib-ver") {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            text(attr)
        )));
    }
    if value.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            text(attr)
        )));
    }
    if lib_name {
        ctx.session.lib_name = value.clone();
    } else {
        ctx.session.lib_ver = value.clone();
    }
    publish(ctx)
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`: holds other clients' commands (and this client's next
/// ones) for `timeout` milliseconds or until CLIENT UNPAUSE.
fn pause(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 4 {
        return Err(CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            text(&args[1])
        )));
    }
    // The mode is checked before the timeout, as Redis does.
    let mode = match args.get(3) {
        None => Mode::All,
        Some(m) if is(m, "all") => Mode::All,
        Some(m) if is(m, "write") => Mode::Write,
        Some(_) => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let ms =
        int(&args[2]).map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let now = Instant::now();
    // A huge timeout is accepted as Redis accepts it: a pause that never ends by itself.
    let until = now
        .checked_add(Duration::from_millis(ms as u64))
        .unwrap_or_else(|| now + Duration::from_secs(86400 * 365 * 30));
    ctx.shared.pause.pause(mode, until);
    Ok(Reply::Ok)
}

fn unpause(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    ctx.shared.pause.unpause();
    Ok(Reply::Ok)
}

/// `CLIENT REPLY ON|OFF|SKIP`; OFF and SKIP have no reply of their own (the connection drops
/// replies while `reply_off`/`reply_skip` are set).
fn reply(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let s = &mut *ctx.session;
    if is(&args[2], "on") {
        s.reply_off = false;
        s.reply_skip = false;
        Ok(Reply::Ok)
    } else if is(&args[2], "off") {
        s.reply_off = true;
        Ok(Reply::Raw(Bytes::new()))
    } else if is(&args[2], "skip") {
        if !s.reply_off {
            s.reply_skip_next = true;
        }
        Ok(Reply::Raw(Bytes::new()))
    } else {
        Err(CmdError::Syntax)
    }
}

/// Client-side caching is not implemented: tracking stays off. `CLIENT TRACKING OFF` is
/// accepted (it is what clients send to make sure), ON is refused.
fn tracking(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    match on_off(&args[2])? {
        false => Ok(Reply::Ok),
        true => Err(CmdError::err(
            "client tracking (client-side caching) is not supported by berth",
        )),
    }
}

/// Redis's reply for a client that is not in tracking mode.
fn caching(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Err(CmdError::err(
        "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
    ))
}

fn getredir(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Integer(-1))
}

fn trackinginfo(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Map(vec![
        (
            Reply::bulk_str("flags"),
            Reply::Set(vec![Reply::bulk_str("off")]),
        ),
        (Reply::bulk_str("redirect"), Reply::Integer(-1)),
        (Reply::bulk_str("prefixes"), Reply::Array(Vec::new())),
    ]))
}

fn on_off(arg: &[u8]) -> CmdResult<bool> {
    if is(arg, "on") {
        Ok(true)
    } else if is(arg, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn no_evict(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    ctx.session.no_evict = on_off(&args[2])?;
    publish(ctx)
}

fn no_touch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    ctx.session.no_touch = on_off(&args[2])?;
    publish(ctx)
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: a blocked client answers as if its timeout passed, or
/// with an UNBLOCKED error.
fn unblock(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 4 {
        return Err(CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            text(&args[1])
        )));
    }
    let error = match args.get(3) {
        None => false,
        Some(a) if is(a, "timeout") => false,
        Some(a) if is(a, "error") => true,
        Some(_) => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let id = int(&args[2])?;
    let reply = if error {
        Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    } else {
        Reply::NilArray
    };
    let done = u64::try_from(id).is_ok_and(|id| ctx.shared.blocking.unblock(id, reply));
    Ok(Reply::Integer(done as i64))
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    ))
}
