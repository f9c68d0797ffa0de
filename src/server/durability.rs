//! When writes reach the disk: `appendfsync always|everysec|no`.
//!
//! sled makes writes durable only on `flush()`. One flusher task owns all flushing:
//! - `always`: a connection that wrote asks for a flush and waits before sending its replies.
//!   Requests that arrive while a flush runs are served together by the next one (group commit).
//! - `everysec`: flush once a second, so at most about a second of acknowledged writes is lost.
//! - `no`: flush every 30 seconds (the OS's usual write-back horizon for Redis's `no`).
//!
//! The same task applies the memtable's queued writes to sled every few milliseconds, on a
//! blocking thread, so commands rarely wait for sled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::config::Fsync;
use crate::server::Shared;

pub struct Durability {
    requested: AtomicU64,
    durable: watch::Sender<u64>,
    wake: Notify,
}

impl Default for Durability {
    fn default() -> Self {
        Durability {
            requested: AtomicU64::new(0),
            durable: watch::channel(0).0,
            wake: Notify::new(),
        }
    }
}

impl Durability {
    /// Waits until every write applied before this call is on disk.
    pub async fn wait_durable(&self) {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake.notify_one();
        let mut rx = self.durable.subscribe();
        // The sender lives as long as the server; an error only means shutdown.
        let _ = rx.wait_for(|&done| done >= ticket).await;
    }
}

/// The flusher task. Also the only place that updates LASTSAVE.
pub async fn run(shared: Arc<Shared>) {
    let d = &shared.durability;
    let mut last_periodic = tokio::time::Instant::now();
    loop {
        let period = match shared.config.fsync() {
            Fsync::Always | Fsync::Everysec => Duration::from_secs(1),
            Fsync::No => Duration::from_secs(30),
        };
        let deadline = last_periodic + period;
        let apply_tick = tokio::time::Instant::now() + APPLY_EVERY;
        tokio::select! {
            _ = d.wake.notified() => {}
            _ = tokio::time::sleep_until(deadline.min(apply_tick)) => {}
        }
        let target = d.requested.load(Ordering::SeqCst);
        let pending = target > *d.durable.borrow();
        let periodic = tokio::time::Instant::now() >= deadline;
        if !pending && !periodic {
            if let Err(e) = apply_queued(&shared).await {
                tracing::error!(error = %e, "applying writes to sled failed");
            }
            continue;
        }
        if periodic {
            last_periodic = tokio::time::Instant::now();
        }
        if let Err(e) = flush_now(&shared).await {
            tracing::error!(error = %e, "flush to disk failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        d.durable.send_replace(target);
    }
}

/// How often queued memtable writes are handed to sled.
const APPLY_EVERY: Duration = Duration::from_millis(200);

/// Applies the memtable's queued writes to sled on a blocking thread, outside the keyspace lock.
async fn apply_queued(shared: &Shared) -> Result<(), String> {
    let swap = shared
        .store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take_swap();
    let Some(swap) = swap else { return Ok(()) };
    let tree = shared.tree.clone();
    tokio::task::spawn_blocking(move || swap.apply(&tree))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Applies queued writes and flushes sled, without holding the keyspace lock.
pub async fn flush_now(shared: &Shared) -> Result<(), String> {
    apply_queued(shared).await?;
    let db = shared.flusher.clone();
    tokio::task::spawn_blocking(move || db.flush().map(|_| ()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    shared
        .last_save
        .store(crate::storage::now_ms() / 1000, Ordering::Relaxed);
    Ok(())
}
