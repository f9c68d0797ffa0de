//! The server: shared state, listeners, background tasks and graceful shutdown.

pub mod blocking;
pub mod connection;
pub mod durability;
pub mod http;
pub mod latency;
pub mod notify;
pub mod pause;
pub mod pubsub;
pub mod session;
pub mod slowlog;
pub mod stats;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

use crate::cluster::{self, Cluster, Identity};
use crate::config::Config;
use crate::storage::Store;
use session::ClientHandle;

/// Everything connections share.
pub struct Shared {
    pub store: Mutex<Store>,
    /// A handle on the engine for flushing without the keyspace lock.
    pub flusher: sled::Db,
    /// The sled writer threads' progress, for backpressure without the keyspace lock.
    pub progress: Arc<crate::storage::pipeline::Progress>,
    pub config: Config,
    pub stats: stats::Stats,
    pub durability: durability::Durability,
    pub clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    next_client_id: AtomicU64,
    /// MONITOR feed; `monitors` counts subscribers so the hot path skips formatting.
    pub monitor_tx: broadcast::Sender<Bytes>,
    pub monitors: AtomicUsize,
    pub shutdown: watch::Sender<bool>,
    pub started: Instant,
    pub run_id: String,
    pub last_save: AtomicU64,
    pub port: u16,
    pub pubsub: pubsub::PubSub,
    /// Clients blocked on list keys.
    pub blocking: blocking::Blocking,
    /// Clustered mode, when `cluster-enabled yes`.
    pub cluster: Option<Arc<Cluster>>,
    /// CLIENT PAUSE state.
    pub pause: pause::Pause,
    pub slowlog: slowlog::SlowLog,
    pub latency: latency::Latency,
    /// The Lua VM and script cache (EVAL, FCALL).
    pub scripting: crate::scripting::Engine,
    /// Users and their permissions.
    pub acl: crate::acl::Acl,
}

impl Shared {
    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    pub fn client_count(&self) -> usize {
        self.clients.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// The configured password (the default user's), which peers use to reach each other.
    pub fn requirepass(&self) -> String {
        self.config.get("requirepass")
    }

    /// Kills every connection authenticated as one of `users` (ACL DELUSER, ACL LOAD), except
    /// `except`, which the caller closes after its reply.
    pub fn kill_clients_of(&self, users: &[String], except: u64) {
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        for c in clients.values() {
            if c.id != except && users.iter().any(|u| **u == *c.snapshot().user) {
                c.kill();
            }
        }
    }
}

/// 40 hex chars, unique per process start (not security sensitive).
fn run_id() -> String {
    let seed = format!(
        "{:?}{}{}",
        Instant::now(),
        std::process::id(),
        crate::storage::now_ms()
    );
    crate::util::hexid::hex_id(seed.as_bytes())
}

/// Turns transparent huge pages off for this process, as Redis does (`disable-thp`). The
/// allocator asks for huge pages, and memory it frees and reuses is then faulted back in 2 MB
/// at a time: a burst spent a fifth of the command thread zeroing pages, and LRANGE_100 ran at
/// 69K to 80K requests/s with huge pages against 92K to 96K without.
fn disable_thp() {
    // SAFETY: prctl with integer arguments only; it changes a flag of this process.
    let ret = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if ret != 0 {
        tracing::warn!("could not turn transparent huge pages off (prctl failed)");
    }
}

/// Opens the store, binds, and serves until SIGTERM/SIGINT or SHUTDOWN. Errors are one line.
pub async fn run(config: Config) -> Result<(), String> {
    if config.get("disable-thp") == "yes" {
        disable_thp();
    }
    let port: u16 = config.get_i64("port") as u16;
    let databases = config.get_i64("databases") as usize;
    let cache = config.get_i64("cache-size") as u64;
    let dir = config.dir();
    let cluster = if config.get("cluster-enabled") == "yes" {
        Some(Arc::new(Cluster::new(
            Identity::from_config(&config)?,
            port,
        )))
    } else {
        None
    };
    // Probes answer while the data directory opens (live, not yet ready).
    let health = Arc::new(http::Health::default());
    let http_port = config.get_i64("http-port") as u16;
    if http_port != 0 {
        for l in bind_all(&config.get("bind"), http_port).await? {
            tokio::spawn(http::serve(l, health.clone()));
        }
    }
    let acl = crate::acl::Acl::from_config(&config)?;
    let store = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || Store::open(&dir, cache, databases))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let listeners = bind_all(&config.get("bind"), port).await?;
    let shared = Arc::new(Shared {
        flusher: store.flusher(),
        progress: store.progress(),
        store: Mutex::new(store),
        stats: stats::Stats::new(crate::commands::table().all.len()),
        durability: Default::default(),
        clients: Mutex::new(BTreeMap::new()),
        next_client_id: AtomicU64::new(1),
        monitor_tx: broadcast::channel(4096).0,
        monitors: AtomicUsize::new(0),
        shutdown: watch::channel(false).0,
        started: Instant::now(),
        run_id: run_id(),
        last_save: AtomicU64::new(crate::storage::now_ms() / 1000),
        port,
        config,
        cluster,
        pubsub: Default::default(),
        blocking: Default::default(),
        pause: Default::default(),
        slowlog: Default::default(),
        latency: Default::default(),
        scripting: Default::default(),
        acl,
    });
    // FUNCTION libraries saved in the catalog.
    let saved = shared
        .store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .catalog(crate::scripting::FUNCTIONS_CATALOG);
    match saved {
        Ok(Some(payload)) => shared.scripting.restore_saved(&payload),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "reading saved function libraries failed"),
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        mode = if shared.cluster.is_some() { "cluster" } else { "standalone" },
        port,
        dir = %dir.display(),
        appendfsync = %shared.config.get("appendfsync"),
        pid = std::process::id(),
        "berth-server ready to accept connections"
    );
    if let Some(c) = &shared.cluster {
        log_cluster_identity(c);
        cluster::health::spawn_all(&shared, c);
        cluster::forward::spawn_all(&shared, c);
    }
    tokio::spawn(durability::run(shared.clone()));
    tokio::spawn(expire_task(shared.clone()));
    tokio::spawn(gc_task(shared.clone()));
    for listener in listeners {
        tokio::spawn(accept_loop(listener, shared.clone()));
    }
    health.attach(shared.clone());
    health.set(http::Phase::Serving);
    wait_for_shutdown(&shared).await;
    health.set(http::Phase::Stopping);
    tracing::info!("shutting down: finishing in-flight commands");
    drain_clients(&shared).await;
    // Everything durable, and the tree caught up, so the next start replays no journal.
    let last = shared.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = last.store.lock().unwrap_or_else(|e| e.into_inner());
        store.flush()
    })
    .await
    .map_err(|e| format!("final flush failed: {e}"))?
    .map_err(|e| format!("final flush failed: {e}"))?;
    tracing::info!("berth-server is now ready to exit, bye bye");
    Ok(())
}

fn log_cluster_identity(c: &Cluster) {
    let me = c.ident.ordinal;
    match &c.own_problem {
        Some(p) => tracing::error!(problem = %p, "cluster misconfigured"),
        None => {
            let (first, last) = cluster::slots::range(me, c.ident.shards);
            tracing::info!(
                node_id = %c.my_id(),
                ordinal = me,
                shards = c.ident.shards,
                slots = %format!("{first}-{last}"),
                name = %c.ident.fqdn(me),
                "cluster identity"
            );
        }
    }
}

async fn bind_all(bind: &str, port: u16) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::new();
    for addr in bind.split_whitespace() {
        let (optional, addr) = match addr.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, addr),
        };
        let host = match addr {
            "*" => "0.0.0.0".to_string(),
            "::*" => "::".to_string(),
            a => a.to_string(),
        };
        let sock = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        match TcpListener::bind(&sock).await {
            Ok(l) => out.push(l),
            Err(_) if optional => {}
            Err(e) => return Err(format!("cannot listen on {sock}: {e}")),
        }
    }
    if out.is_empty() {
        return Err(format!("no address to listen on (bind '{bind}')"));
    }
    Ok(out)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            res = listener.accept() => match res {
                Ok((stream, addr)) => {
                    let shared = shared.clone();
                    tokio::spawn(connection::serve(stream, addr, shared));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = until_shutdown(&mut shutdown) => return,
        }
    }
}

async fn wait_for_shutdown(shared: &Shared) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut shutdown = shared.shutdown.subscribe();
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        until_shutdown(&mut shutdown).await;
        return;
    };
    let signalled = tokio::select! {
        _ = term.recv() => { tracing::info!("received SIGTERM"); true }
        _ = int.recv() => { tracing::info!("received SIGINT"); true }
        _ = until_shutdown(&mut shutdown) => { tracing::info!("SHUTDOWN requested by a client"); false }
    };
    // A signal during a script schedules the shutdown for when the script ends, as in Redis:
    // the server keeps serving meanwhile, so SCRIPT KILL (or SHUTDOWN NOSAVE, for a script that
    // wrote) can still reach it; closing the listeners now would leave an endless script
    // holding the keyspace lock with nobody able to stop it.
    if signalled && shared.scripting.is_running() {
        tracing::warn!("a script is running: shutting down once it ends");
        tokio::select! {
            _ = shared.scripting.idle() => {}
            _ = until_shutdown(&mut shutdown) => {}
        }
    }
    shared.shutdown.send_replace(true);
}

/// Resolves once shutdown has begun (the watch guard is not held across awaits).
pub async fn until_shutdown(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await.map(|_| ());
}

/// Connections finish their current batch and close; give them a few seconds.
async fn drain_clients(shared: &Shared) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while shared.client_count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Active expiry: removes due keys nobody reads, a bounded chunk per lock hold.
async fn expire_task(shared: Arc<Shared>) {
    loop {
        let hz = shared.config.get_i64("hz").clamp(1, 500) as u64;
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        // As in Redis, keys do not expire actively while CLIENT PAUSE holds writes.
        if shared.pause.holds(true).is_some() {
            continue;
        }
        loop {
            shared.scripting.idle().await;
            let res = {
                let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
                store.events.mask = notify::record_mask(shared.config.notify_flags());
                let res = store.expire_cycle(200);
                // Published once the keys are gone, still under the lock so that no command
                // can recreate a key before its `expired` event is out.
                notify::publish_pending(&shared, &mut store);
                res
            };
            match res {
                Ok((removed, more)) => {
                    shared
                        .stats
                        .expired_keys
                        .fetch_add(removed.len() as u64, Ordering::Relaxed);
                    if !more {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "active expiry failed");
                    break;
                }
            }
        }
    }
}

/// Removes members of deleted or overwritten collections in the background.
async fn gc_task(shared: Arc<Shared>) {
    loop {
        shared.scripting.idle().await;
        // Cleanup is the apply thread's least urgent work: it waits while writes queue for it.
        if shared.progress.crowded() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let (res, queued) = {
            let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
            (store.gc_cycle(1000), store.queued_writes())
        };
        match res {
            Ok(0) => tokio::time::sleep(Duration::from_millis(100)).await,
            // Deletes go through the write queue: have the flusher apply them in small batches
            // rather than let them pile up into a long apply.
            Ok(_) if queued > 20_000 => {
                shared.durability.apply_soon();
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Ok(_) => tokio::task::yield_now().await,
            Err(e) => {
                tracing::error!(error = %e, "background cleanup failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
