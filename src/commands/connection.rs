//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET.

use bytes::Bytes;

use super::args::{int, Opts};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::server::session::After;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("ping", -1, "fast", (0, 0, 0), "@fast @connection", "connection", "1.0.0", "Returns the server's liveliness response.", ping),
    cmd("echo", 2, "fast", (0, 0, 0), "@fast @connection", "connection", "1.0.0", "Returns the given string.", echo),
    cmd("hello", -1, "noscript loading stale fast no_auth allow_busy", (0, 0, 0), "@fast @connection", "connection", "6.0.0", "Handshakes with the Redis server.", hello),
    cmd("auth", -2, "noscript loading stale fast no_auth allow_busy", (0, 0, 0), "@fast @connection", "connection", "1.0.0", "Authenticates the connection.", auth),
    cmd("select", 2, "loading stale fast", (0, 0, 0), "@fast @connection", "connection", "1.0.0", "Changes the selected database.", select),
    cmd("quit", -1, "noscript loading stale fast no_auth allow_busy", (0, 0, 0), "@fast @connection", "connection", "1.0.0", "Closes the connection.", quit),
    cmd("reset", 1, "noscript loading stale fast no_auth allow_busy", (0, 0, 0), "@fast @connection", "connection", "6.2.0", "Resets the connection.", reset),
];

fn ping(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.session.in_pubsub_context() && args.len() <= 2 {
        // A subscribed RESP2 connection gets PING's answer in the shape of a message.
        let arg = args.get(1).cloned().unwrap_or_default();
        return Ok(Reply::Array(vec![
            Reply::bulk_str("pong"),
            Reply::Bulk(arg),
        ]));
    }
    match args.len() {
        1 => Ok(Reply::status("PONG")),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(CmdError::Arity("ping".into())),
    }
}

fn echo(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Bulk(args[1].clone()))
}

fn auth(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (user, pass) = match args.len() {
        2 => {
            // The one-argument form keeps its old error when there is no password to check.
            if !ctx.shared.acl.default_requires_auth() {
                return Err(CmdError::err("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
            }
            (&b"default"[..], &args[1][..])
        }
        3 => (&args[1][..], &args[2][..]),
        _ => return Err(CmdError::Syntax),
    };
    super::acl::login(ctx, user, pass, &args[0])?;
    Ok(Reply::Ok)
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let mut resp3 = ctx.session.resp3;
    let mut opts = Opts::new(&args[1..]);
    if args.len() >= 2 {
        let ver = int(&args[1])
            .map_err(|_| CmdError::err("Protocol version is not an integer or out of range"))?;
        opts.next_upper();
        if !(2..=3).contains(&ver) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        resp3 = ver == 3;
    }
    let mut name = None;
    let mut authed = false;
    while let Some(opt) = opts.next_upper() {
        match opt.as_str() {
            "AUTH" if opts.remaining() >= 2 => {
                let user = opts.value()?.clone();
                let pass = opts.value()?.clone();
                super::acl::login(ctx, &user, &pass, &args[0])?;
                authed = true;
            }
            "SETNAME" if opts.remaining() >= 1 => {
                let n = opts.value()?.clone();
                super::client::validate_name(&n)?;
                name = Some(n);
            }
            _ => {
                return Err(CmdError::err(format!(
                    "Syntax error in HELLO option '{}'",
                    opt.to_lowercase()
                )))
            }
        }
    }
    if !ctx.session.authenticated && !authed && ctx.shared.acl.default_requires_auth() {
        return Err(CmdError::msg("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(n) = name {
        ctx.session.name = n;
    }
    ctx.session.resp3 = resp3;
    Ok(Reply::Map(vec![
        (Reply::bulk_str("server"), Reply::bulk_str("redis")),
        (
            Reply::bulk_str("version"),
            Reply::bulk_str(super::info::REDIS_VERSION),
        ),
        (
            Reply::bulk_str("proto"),
            Reply::Integer(if resp3 { 3 } else { 2 }),
        ),
        (Reply::bulk_str("id"), Reply::Integer(ctx.session.id as i64)),
        (Reply::bulk_str("mode"), Reply::bulk_str("standalone")),
        (Reply::bulk_str("role"), Reply::bulk_str("master")),
        (Reply::bulk_str("modules"), Reply::Array(vec![])),
    ]))
}

fn select(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = int(&args[1])?;
    if ctx.shared.cluster.is_some() && db != 0 {
        return Err(CmdError::err("SELECT is not allowed in cluster mode"));
    }
    if db < 0 || db as usize >= ctx.store().databases() {
        return Err(CmdError::DbIndex);
    }
    ctx.session.db = db as usize;
    Ok(Reply::Ok)
}

fn quit(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    ctx.session.after = After::Close;
    Ok(Reply::Ok)
}

fn reset(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    super::pubsub::unsubscribe_all(ctx.shared, ctx.session);
    super::transaction::abandon(ctx);
    let s = &mut *ctx.session;
    s.db = 0;
    s.resp3 = false;
    s.name = Bytes::new();
    s.no_evict = false;
    s.no_touch = false;
    // Back to the default user, authenticated only if it needs no password (clientSetDefaultAuth).
    s.set_user(
        crate::acl::DEFAULT_USER,
        !ctx.shared.acl.default_requires_auth(),
    );
    Ok(Reply::status("RESET"))
}
