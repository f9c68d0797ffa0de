//! CLIENT subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL, UNBLOCK, SETINFO, NO-EVICT,
//! NO-TOUCH, HELP.
//!
//! Other connections are seen through the registry `shared.clients`; every berth client is of
//! type `normal` (there are no replicas, and pub/sub state is not published to the registry).

use std::sync::Arc;

use bytes::Bytes;

use super::args::{help_reply, int, is, text};
use super::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
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

/// Client types of `TYPE`: true when berth's (all normal) clients are of that type.
fn type_matches_normal(name: &[u8]) -> CmdResult<bool> {
    if is(name, "normal") {
        Ok(true)
    } else if is(name, "master") || is(name, "replica") || is(name, "slave") || is(name, "pubsub") {
        Ok(false)
    } else {
        Err(CmdError::err(format!(
            "Unknown client type '{}'",
            text(name)
        )))
    }
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
            let normal = type_matches_normal(&args[3])?;
            Ok(lines(all.into_iter().filter(|_| normal)))
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
    normal: Option<bool>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    user: Option<String>,
    skipme: bool,
}

impl KillFilter {
    fn matches(&self, h: &ClientHandle, me: u64) -> bool {
        self.id.is_none_or(|id| id == h.id)
            && self.normal.unwrap_or(true)
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
                f.normal = Some(type_matches_normal(value)?);
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
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    ))
}
