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
use crate::commands::lookahead::Lookahead;
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
    {
        use std::os::fd::AsRawFd;
        handle.fd.store(stream.as_raw_fd(), Relaxed);
    }
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
        pending: handle.out_pending.clone(),
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
        postponed: None,
        owner: shared.clone(),
        lookahead: Lookahead::default(),
    }
    .run(&mut session)
    .await;
    crate::commands::pubsub::unsubscribe_all(&shared, &mut session);
    crate::commands::transaction::disconnect(&shared, &mut session);
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
    /// A command held by CLIENT PAUSE, and whether it writes: it runs first once the pause ends.
    postponed: Option<(Vec<Bytes>, bool)>,
    /// The same server, owned: a deferred script takes it to the blocking pool.
    owner: Arc<Shared>,
    /// Prefetches what pipelined requests will touch (see `commands::lookahead`).
    lookahead: Lookahead,
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
            let idle = if timeout > 0 && !session.exempt_from_timeout() {
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
            session.last_read = n;
            self.shared
                .stats
                .net_input_bytes
                .fetch_add(n as u64, Relaxed);
            loop {
                // While a script holds the keyspace lock, wait for it (up to the busy
                // threshold) rather than block this thread on the lock.
                if self.shared.scripting.is_running() {
                    let threshold = self.shared.config.get_i64("busy-reply-threshold");
                    self.shared.scripting.wait_turn(threshold).await;
                }
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
                // Let the other connections with input run their commands first, then write:
                // replies leave in one burst per event-loop turn, as Redis writes them before
                // it sleeps, so a client wakes once for all of them instead of once per reply.
                if !self.out.is_empty() {
                    tokio::task::yield_now().await;
                }
                self.flush_out().await?;
                if wrote {
                    self.shared
                        .durability
                        .wait_for_room(&self.shared.progress)
                        .await;
                }
                session.publish();
                match session.after {
                    After::Continue => {}
                    After::Close => return Ok(()),
                    After::Shutdown if self.shared.scripting.is_running() => {
                        // SHUTDOWN NOSAVE against a script that cannot be killed: the script
                        // holds the keyspace lock for good, so exit the hard way, as Redis does.
                        tracing::warn!("shutdown while a script is running: exiting now");
                        std::process::exit(0);
                    }
                    After::Shutdown => {
                        self.shared.shutdown.send_replace(true);
                        return Ok(());
                    }
                    After::Monitor => return self.monitor(session).await,
                }
                if handle.is_killed() {
                    return Ok(());
                }
                // CLIENT PAUSE holds the batch's next command: wait, then run it and the rest.
                if let Some((_, writes)) = &self.postponed {
                    if !self.wait_unpaused(*writes, &mut shutdown).await? {
                        return Ok(());
                    }
                    continue;
                }
                // A script stopped the batch: run it on the blocking pool, reply, then run
                // what followed it.
                if let Some(job) = session.script_job.take() {
                    let reply = self.run_script(session, job).await;
                    if self.shared.config.fsync() == Fsync::Always {
                        self.shared.durability.wait_durable().await;
                    }
                    reply.encode(&mut self.out, session.resp3);
                    self.flush_out().await?;
                    continue;
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
                if !session.reply_off {
                    reply.encode(&mut self.out, session.resp3);
                }
                self.flush_out().await?;
            }
        }
    }

    /// Waits, without blocking the runtime, until CLIENT PAUSE no longer holds the postponed
    /// command; false when the client went away or the server is shutting down meanwhile.
    /// The client shows as blocked (flag `b`) while it waits, as in Redis.
    async fn wait_unpaused(
        &mut self,
        writes: bool,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<bool> {
        let handle = self.handle.clone();
        let pause = &self.shared.pause;
        handle.set_blocked(true);
        let wait = pause.wait(writes);
        tokio::pin!(wait);
        let res = loop {
            if self.inbuf.capacity() - self.inbuf.len() < READ_CHUNK {
                self.inbuf.reserve(READ_CHUNK);
            }
            tokio::select! {
                _ = &mut wait => break Ok(true),
                // Input that arrives meanwhile is buffered for after the held command.
                r = self.stream.read_buf(&mut self.inbuf) => match r {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => break Ok(false),
                    Err(e) => break Err(e),
                },
                _ = handle.kill_signal.notified() => break Ok(false),
                _ = super::until_shutdown(shutdown) => break Ok(false),
            }
        };
        handle.set_blocked(false);
        res
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
        // A hint: skipped rather than waiting for the keyspace (a script may hold it).
        if self.postponed.is_none() && parser.is_between_requests() && self.lookahead.due() {
            let mut ctx = Ctx::new(shared, session, &mut guard, &shared.store);
            let db = ctx.db();
            if let Some(store) = ctx.try_store() {
                self.lookahead.prefetch(store, db, &self.inbuf);
            }
        }
        while session.after == After::Continue {
            // Limits follow the auth state at the time each request is parsed, as in Redis.
            let limits = Limits {
                max_request_bytes: shared.config.query_buffer_limit(),
                max_bulk_len: shared.config.proto_max_bulk_len(),
                authenticated: session.authenticated || !shared.acl.default_requires_auth(),
            };
            let (args, held) = match self.postponed.take() {
                Some((args, _)) => (args, true),
                None => match parser.parse(&mut self.inbuf, limits) {
                    Ok(Some(args)) if args.is_empty() => continue,
                    Ok(Some(args)) => (args, false),
                    Ok(None) => break,
                    Err(e) => return (wrote, Some(e)),
                },
            };
            let reply = match commands::resolve(&args) {
                Resolved::Error(r) => {
                    shared.stats.error_reply(&r);
                    if session.multi.is_some() || args[0].eq_ignore_ascii_case(b"exec") {
                        let mut ctx = Ctx::new(shared, session, &mut guard, &shared.store);
                        commands::transaction::rejected(&mut ctx, &args[0], r)
                    } else {
                        r
                    }
                }
                // A script past busy-reply-threshold holds the lock: only SCRIPT KILL and
                // the like run (`run` waited for the threshold before this batch).
                Resolved::Run(entry)
                    if shared.scripting.is_running()
                        && shared
                            .scripting
                            .refuses_while_busy(entry.cmd.name, entry.flags) =>
                {
                    let busy = shared.scripting.busy_error();
                    shared.stats.error_reply(&busy);
                    busy
                }
                Resolved::Run(entry) => {
                    let writes = entry.flags & (commands::WRITE | commands::MAY_REPLICATE) != 0;
                    // What CLIENT LIST shows of this client while the command runs (or waits).
                    session.last_cmd = entry.cmd.name;
                    session.argv_mem = args.iter().map(|a| a.len()).sum();
                    if shared.pause.holds(writes).is_some() {
                        self.postponed = Some((args, writes));
                        break;
                    }
                    session.qbuf = self.inbuf.len() + if held { 0 } else { request_len(&args) };
                    session.qbuf_free = self.inbuf.capacity() - self.inbuf.len();
                    if shared.monitors.load(Relaxed) > 0
                        && entry.flags & commands::SKIP_MONITOR == 0
                        && !commands::transaction::monitored_later(session, entry)
                    {
                        feed_monitors(shared, session, &args);
                    }
                    session.defer_script = crate::scripting::deferrable(entry.cmd.name);
                    let mut ctx = Ctx::new(shared, session, &mut guard, &shared.store);
                    let reply = commands::run(&mut ctx, entry, &args);
                    session.defer_script = false;
                    if session.script_job.is_some() {
                        break;
                    }
                    // A write queued by MULTI waits for its EXEC, which reports its writes.
                    // Scripts may write through redis.call whatever their own flags say.
                    let may_write =
                        entry.flags & commands::WRITE != 0 || entry.cmd.group == "scripting";
                    if may_write && !reply.is_error() && session.multi.is_none() {
                        wrote = true;
                    }
                    wrote |= std::mem::take(&mut session.wrote);
                    // Clients blocked on keys this command filled are served now that it
                    // completed (in the order they blocked).
                    if shared.blocking.has_ready() {
                        if let Some(store) = guard.as_mut() {
                            shared.blocking.serve(store, commands::serve_blocked);
                            super::notify::publish_pending(shared, store);
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
            // CLIENT REPLY OFF/SKIP: the reply is dropped; SKIP's effect moves to the next
            // command once the current one is done.
            // Messages published meanwhile, this command's own keyspace events included, go
            // before its reply, as Redis writes them.
            self.drain_mailbox(session, None);
            if !(session.reply_off || session.reply_skip) {
                reply.encode(&mut self.out, session.resp3);
            }
            session.reply_skip = std::mem::take(&mut session.reply_skip_next);
        }
        session.qbuf = self.inbuf.len();
        // A command held by CLIENT PAUSE keeps its arguments, as Redis shows them.
        if self.postponed.is_none() {
            session.argv_mem = 0;
        }
        // A write burst outpacing the once-a-second hand-over: hand the queue over now.
        if let Some(store) = guard.as_mut() {
            hand_over_early(store);
        }
        (wrote, None)
    }

    /// Runs a deferred EVAL/FCALL on the blocking pool, which takes the keyspace lock for the
    /// whole script (atomic, like a MULTI) while this runtime thread keeps serving: other
    /// clients wait for it, and get BUSY once it runs past `busy-reply-threshold`.
    async fn run_script(&self, session: &Session, job: crate::scripting::Job) -> Reply {
        let shared = self.owner.clone();
        let mut script_session = session.for_script();
        shared.scripting.begin(&job.args);
        let task = tokio::task::spawn_blocking(move || {
            let mut guard = None;
            let reply = {
                let mut ctx = Ctx::new(&shared, &mut script_session, &mut guard, &shared.store);
                let start = std::time::Instant::now();
                let reply = (job.run)(&mut ctx, &job.args).unwrap_or_else(Reply::from);
                // The EVAL/FCALL entry's stats, slowlog and latency get the script's real run.
                if let Resolved::Run(entry) = commands::resolve(&job.args) {
                    commands::account(&mut ctx, entry, &job.args, start.elapsed(), &reply);
                }
                reply
            };
            if let Some(store) = guard.as_mut() {
                if shared.blocking.has_ready() {
                    shared.blocking.serve(store, commands::serve_blocked);
                }
                hand_over_early(store);
            }
            drop(guard);
            shared.scripting.end();
            reply
        });
        task.await.unwrap_or_else(|e| {
            // The script thread panicked: the lock guard was dropped while unwinding.
            self.shared.scripting.end();
            Reply::error(format!("ERR script failed: {e}"))
        })
    }

    /// Encodes `first` and every Pub/Sub message already queued into the output buffer.
    fn drain_mailbox(&mut self, session: &Session, first: Option<Message>) {
        let mut next = first.or_else(|| self.mailbox.try_recv().ok());
        let mut size = 0;
        while let Some(msg) = next {
            size += msg.size();
            msg.reply().encode(&mut self.out, session.resp3);
            next = self.mailbox.try_recv().ok();
        }
        if size > 0 {
            session.subscriber.pending.fetch_sub(size, Relaxed);
        }
    }

    /// Writes a Pub/Sub message and whatever else is already queued.
    async fn deliver(&mut self, session: &Session, first: Message) -> std::io::Result<()> {
        self.drain_mailbox(session, Some(first));
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

/// The size of a request in RESP's multibulk form (what Redis's query buffer held for it).
fn request_len(args: &[Bytes]) -> usize {
    let digits = |n: usize| n.checked_ilog10().unwrap_or(0) as usize + 1;
    args.iter()
        .map(|a| 1 + digits(a.len()) + 2 + a.len() + 2)
        .sum::<usize>()
        + 1
        + digits(args.len())
        + 2
}

/// Formats a command as MONITOR shows it: `+<time> [<db> <addr>] "arg" ...`.
pub fn feed_monitors(shared: &Shared, session: &Session, args: &[Bytes]) {
    feed_monitors_as(shared, session.db, &session.handle.addr, args);
}

/// A MONITOR line for a command run by `client` in `db`: a connection's address, or `lua` for
/// a command a script runs (Redis's `[0 lua] "set" …`).
pub fn feed_monitors_as(shared: &Shared, db: usize, client: &str, args: &[Bytes]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        db,
        client
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

/// Hands queued writes to the writer threads when more than the periodic hand-over should hold
/// (blocks only under backpressure, see `storage/pipeline.rs`).
fn hand_over_early(store: &mut crate::storage::Store) {
    if let Err(e) = store.bound_queue() {
        tracing::error!(error = %e, "handing writes to sled failed");
    }
}
