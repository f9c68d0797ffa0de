//! One client connection: read, parse every complete request, run the batch under one keyspace
//! lock, wait for durability if the policy asks, write all replies at once.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::pubsub::{Message, Subscriber};
use super::session::{After, ClientHandle, Session};
use super::Shared;
use crate::commands::{self, Ctx, Resolved};
use crate::config::Fsync;
use crate::protocol::reply::Reply;
use crate::protocol::request::{Limits, ProtocolError, RequestParser, QUERY_LIMIT};

const READ_CHUNK: usize = 16 * 1024;

pub async fn serve(stream: TcpStream, addr: SocketAddr, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let laddr = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let id = shared.next_client_id();
    let handle = ClientHandle::new(id, addr.to_string(), laddr);
    shared.stats.connections_received.fetch_add(1, Relaxed);
    let admitted = {
        let mut clients = shared.clients.lock().unwrap_or_else(|e| e.into_inner());
        let ok = (clients.len() as i64) < shared.config.maxclients();
        if ok {
            clients.insert(id, handle.clone());
        }
        ok
    };
    if !admitted {
        shared.stats.rejected_connections.fetch_add(1, Relaxed);
        let mut s = stream;
        let _ = s.write_all(b"-ERR max number of clients reached\r\n").await;
        return;
    }
    if protected_mode_refuses(&shared, &addr) {
        let mut s = stream;
        let _ = s.write_all(PROTECTED_MODE_DENIED).await;
        shared
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        return;
    }
    // As Redis's clientSetDefaultAuth: with a password-less default user there is nothing to
    // authenticate.
    let authenticated = !shared.acl.default_requires_auth();
    let (tx, mailbox) = mpsc::unbounded_channel();
    let subscriber = Subscriber {
        tx,
        pending: Default::default(),
        handle: handle.clone(),
    };
    let mut session = Session::new(handle.clone(), authenticated, subscriber);
    let res = Connection {
        stream,
        shared: &shared,
        inbuf: BytesMut::with_capacity(READ_CHUNK),
        out: BytesMut::new(),
        mailbox,
        handle: handle.clone(),
        blocked: None,
    }
    .run(&mut session)
    .await;
    crate::commands::pubsub::unsubscribe_all(&shared, &mut session);
    if let Err(e) = res {
        tracing::debug!(client = id, error = %e, "connection closed");
    }
    if session.after == After::Monitor {
        shared.monitors.fetch_sub(1, Relaxed);
    }
    shared
        .clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
}

/// Redis 7's reply to a client refused by protected mode (then the connection is closed).
const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Protected mode (Redis's clientAcceptHandler): while `protected-mode yes` and the default
/// user has no password, only loopback peers (127.0.0.1, ::1) are served.
fn protected_mode_refuses(shared: &Shared, addr: &SocketAddr) -> bool {
    let loopback = match addr.ip() {
        std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(ip) => {
            ip == std::net::Ipv6Addr::LOCALHOST
                || ip.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
        }
    };
    !loopback && shared.config.get("protected-mode") == "yes" && shared.acl.default_is_nopass()
}

struct Connection<'a> {
    stream: TcpStream,
    shared: &'a Shared,
    inbuf: BytesMut,
    out: BytesMut,
    /// Pub/Sub messages for this client.
    mailbox: mpsc::UnboundedReceiver<Message>,
    handle: Arc<ClientHandle>,
    /// Set when a command blocked the client (see `server::blocking`).
    blocked: Option<Blocked>,
}

/// A client waiting in `server::blocking`.
struct Blocked {
    id: u64,
    rx: tokio::sync::oneshot::Receiver<Reply>,
    timeout: Option<Duration>,
}

impl Connection<'_> {
    async fn run(&mut self, session: &mut Session) -> std::io::Result<()> {
        let mut parser = RequestParser::new();
        let mut shutdown = self.shared.shutdown.subscribe();
        let handle = session.handle.clone();
        loop {
            let timeout = self.shared.config.timeout_secs();
            let idle = if timeout > 0 {
                Duration::from_secs(timeout as u64)
            } else {
                Duration::from_secs(86400 * 365)
            };
            if self.inbuf.capacity() - self.inbuf.len() < READ_CHUNK {
                self.inbuf.reserve(READ_CHUNK);
            }
            let n = tokio::select! {
                r = self.stream.read_buf(&mut self.inbuf) => r?,
                Some(msg) = self.mailbox.recv() => {
                    self.deliver(session, msg).await?;
                    continue;
                }
                _ = handle.kill_signal.notified() => return Ok(()),
                _ = super::until_shutdown(&mut shutdown) => return Ok(()),
                _ = tokio::time::sleep(idle) => return Ok(()),
            };
            if n == 0 {
                return Ok(());
            }
            self.shared
                .stats
                .net_input_bytes
                .fetch_add(n as u64, Relaxed);
            loop {
                let (wrote, protocol_error) = self.execute(session, &mut parser);
                if protocol_error == Some(QUERY_LIMIT) {
                    tracing::warn!(
                        client = session.id,
                        "closing client that reached max query buffer length"
                    );
                    return Ok(());
                }
                if let Some(e) = protocol_error {
                    Reply::error(format!("ERR Protocol error: {}", e.0))
                        .encode(&mut self.out, session.resp3);
                    session.after = After::Close;
                }
                if wrote && self.shared.config.fsync() == Fsync::Always {
                    self.shared.durability.wait_durable().await;
                }
                self.flush_out().await?;
                session.publish();
                match session.after {
                    After::Continue => {}
                    After::Close => return Ok(()),
                    After::Shutdown => {
                        self.shared.shutdown.send_replace(true);
                        return Ok(());
                    }
                    After::Monitor => return self.monitor(session).await,
                }
                if handle.is_killed() {
                    return Ok(());
                }
                // A blocking command stopped the batch: wait, reply, then run what followed it.
                let Some(blocked) = self.blocked.take() else {
                    break;
                };
                handle.set_blocked(true);
                let waited = self.wait_blocked(blocked, &mut shutdown).await;
                handle.set_blocked(false);
                let Some(reply) = waited? else {
                    return Ok(());
                };
                if self.shared.config.fsync() == Fsync::Always {
                    self.shared.durability.wait_durable().await;
                }
                reply.encode(&mut self.out, session.resp3);
                self.flush_out().await?;
            }
        }
    }

    /// Waits until a blocked client is served (its reply), times out (null array), or goes
    /// away (None: it leaves the queues without consuming anything). Input that arrives
    /// meanwhile is buffered for after the reply, as Redis does.
    async fn wait_blocked(
        &mut self,
        blocked: Blocked,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<Option<Reply>> {
        let blocking = &self.shared.blocking;
        let Blocked {
            id,
            mut rx,
            timeout,
        } = blocked;
        let sleep = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(86400 * 365 * 30)));
        tokio::pin!(sleep);
        let handle = self.handle.clone();
        loop {
            if self.inbuf.capacity() - self.inbuf.len() < READ_CHUNK {
                self.inbuf.reserve(READ_CHUNK);
            }
            tokio::select! {
                r = &mut rx => return Ok(Some(r.unwrap_or(Reply::NilArray))),
                r = self.stream.read_buf(&mut self.inbuf) => match r {
                    Ok(n) if n > 0 => continue,
                    other => {
                        if !blocking.cancel(id) {
                            tracing::debug!(client = handle.id, "served client went away");
                        }
                        return other.map(|_| None);
                    }
                },
                _ = &mut sleep => {
                    if blocking.cancel(id) {
                        return Ok(Some(Reply::NilArray));
                    }
                    // Served just as it timed out: the reply is on its way.
                    return Ok(Some(rx.await.unwrap_or(Reply::NilArray)));
                }
                _ = handle.kill_signal.notified() => {
                    blocking.cancel(id);
                    return Ok(None);
                }
                _ = super::until_shutdown(shutdown) => {
                    blocking.cancel(id);
                    return Ok(None);
                }
            }
        }
    }

    /// Parses and runs every complete request in the input buffer, holding the keyspace lock
    /// (taken on first use) for the whole batch. Returns whether anything may have been written,
    /// and the protocol error that ended the batch, if any.
    fn execute(
        &mut self,
        session: &mut Session,
        parser: &mut RequestParser,
    ) -> (bool, Option<ProtocolError>) {
        let shared = self.shared;
        let mut guard = None;
        let mut wrote = false;
        while session.after == After::Continue {
            // Limits follow the auth state at the time each request is parsed, as in Redis.
            let limits = Limits {
                max_request_bytes: shared.config.query_buffer_limit(),
                max_bulk_len: shared.config.proto_max_bulk_len(),
                authenticated: session.authenticated || !shared.acl.default_requires_auth(),
            };
            let args = match parser.parse(&mut self.inbuf, limits) {
                Ok(Some(args)) if args.is_empty() => continue,
                Ok(Some(args)) => args,
                Ok(None) => break,
                Err(e) => return (wrote, Some(e)),
            };
            let reply = match commands::resolve(&args) {
                Resolved::Error(r) => {
                    shared.stats.error_replies.fetch_add(1, Relaxed);
                    r
                }
                Resolved::Run(entry) => {
                    if shared.monitors.load(Relaxed) > 0
                        && entry.flags & commands::SKIP_MONITOR == 0
                    {
                        feed_monitors(shared, session, &args);
                    }
                    session.last_cmd = entry.cmd.name;
                    let mut ctx = Ctx::new(shared, session, &mut guard, &shared.store);
                    let reply = commands::run(&mut ctx, entry, &args);
                    if entry.flags & commands::WRITE != 0 && !reply.is_error() {
                        wrote = true;
                    }
                    // Clients blocked on keys this command filled are served now that it
                    // completed (in the order they blocked).
                    if shared.blocking.has_ready() {
                        if let Some(store) = guard.as_mut() {
                            shared.blocking.serve(store, commands::serve_blocked);
                        }
                    }
                    if let Some(req) = session.block.take() {
                        let timeout = req.timeout;
                        let (id, rx) = shared.blocking.register(session.id, session.db, req);
                        self.blocked = Some(Blocked { id, rx, timeout });
                        break;
                    }
                    reply
                }
            };
            reply.encode(&mut self.out, session.resp3);
        }
        // A write burst outpacing the background flusher is applied inline to bound memory.
        if let Some(store) = guard.as_mut() {
            if store.needs_apply() {
                shared.durability.apply_soon();
            }
            if store.needs_sync() {
                if let Err(e) = store.sync() {
                    tracing::error!(error = %e, "applying writes to sled failed");
                }
            }
        }
        (wrote, None)
    }

    /// Writes a Pub/Sub message and whatever else is already queued.
    async fn deliver(&mut self, session: &Session, first: Message) -> std::io::Result<()> {
        let mut next = Some(first);
        let mut size = 0;
        while let Some(msg) = next {
            size += msg.size();
            msg.reply().encode(&mut self.out, session.resp3);
            next = self.mailbox.try_recv().ok();
        }
        session.subscriber.pending.fetch_sub(size, Relaxed);
        // A subscriber that stopped reading blocks this write; being killed for it (past the
        // output limit) must still end the connection.
        let handle = session.handle.clone();
        tokio::select! {
            r = self.flush_out() => r,
            _ = handle.kill_signal.notified() => Err(std::io::ErrorKind::ConnectionAborted.into()),
        }
    }

    async fn flush_out(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            self.shared
                .stats
                .net_output_bytes
                .fetch_add(self.out.len() as u64, Relaxed);
            self.stream.write_all(&self.out).await?;
            self.out.clear();
            if self.out.capacity() > 1 << 20 {
                self.out = BytesMut::new();
            }
        }
        Ok(())
    }

    /// MONITOR mode: stream every command until the client goes away.
    async fn monitor(&mut self, session: &mut Session) -> std::io::Result<()> {
        let mut rx = self.shared.monitor_tx.subscribe();
        let mut shutdown = self.shared.shutdown.subscribe();
        let handle = session.handle.clone();
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(line) => self.stream.write_all(&line).await?,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return Ok(()),
                },
                r = self.stream.read_buf(&mut self.inbuf) => {
                    if r? == 0 { return Ok(()); }
                    // Redis ignores commands from a monitor except QUIT/RESET; we close on QUIT.
                    if self.inbuf.windows(4).any(|w| w.eq_ignore_ascii_case(b"quit")) {
                        return Ok(());
                    }
                    self.inbuf.clear();
                }
                _ = handle.kill_signal.notified() => return Ok(()),
                _ = super::until_shutdown(&mut shutdown) => return Ok(()),
            }
        }
    }
}

/// Formats a command as MONITOR shows it: `+<time> [<db> <addr>] "arg" ...`.
fn feed_monitors(shared: &Shared, session: &Session, args: &[Bytes]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        session.db,
        session.handle.addr
    );
    for a in args {
        line.push(' ');
        line.push_str(&repr(a));
    }
    line.push_str("\r\n");
    let _ = shared.monitor_tx.send(Bytes::from(line));
}

/// Quotes bytes as Redis's `sdscatrepr`.
pub fn repr(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}
