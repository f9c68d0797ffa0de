//! When writes reach the disk: `appendfsync always|everysec|no`.
//!
//! Commands write to the memtable (see `storage/memtable.rs`); batches of those writes go to the
//! writer threads (`storage/pipeline.rs`), which log each batch to sled's journal at once and
//! apply it to the keyspace tree later, in the background. The flusher task makes the log
//! durable:
//! - `always`: a connection that wrote asks for durability and waits before sending its
//!   replies. Requests arriving while a flush runs are served together by the next one
//!   (group commit).
//! - `everysec`: hand over and flush once a second, so at most about a second of acknowledged
//!   writes is lost on power loss. Handing over once a second also folds repeated writes to a
//!   key.
//! - `no`: hand over once a second, flush every 30 seconds (the OS's usual write-back horizon
//!   for Redis's `no`).
//!
//! Durability waits only for the journal write, never for the tree: a burst of writes is
//! acknowledged at memory speed while the tree catches up in the background. When writes queue
//! up faster than a second's worth, connections hand them over early (`Store::needs_apply`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;

use crate::config::Fsync;
use crate::server::Shared;
use crate::storage::pipeline::Progress;

/// How often queued writes are applied to sled (and, under `everysec`, flushed).
const APPLY_EVERY: Duration = Duration::from_secs(1);
/// The flush horizon of `appendfsync no`.
const NO_FSYNC_EVERY: Duration = Duration::from_secs(30);
/// How long writing to disk may keep failing before the server exits. sled keeps its first IO
/// error (a full disk) for the life of the process, so every later write fails too: a server
/// that stayed up would answer reads and PING, pass its probes, and leave every writer waiting
/// for durability forever. Exiting, as redis-server does on an AOF write error under `always`,
/// lets the orchestrator restart it; nothing still waiting was acknowledged.
const FAIL_FOR: Duration = Duration::from_secs(1);

pub struct Durability {
    requested: AtomicU64,
    durable: watch::Sender<u64>,
    wake: Notify,
    apply_early: AtomicBool,
    /// Backpressure's queue: one permit, handed out in arrival order (see `wait_for_room`).
    room_turn: Semaphore,
}

impl Default for Durability {
    fn default() -> Self {
        Durability {
            requested: AtomicU64::new(0),
            durable: watch::channel(0).0,
            wake: Notify::new(),
            apply_early: AtomicBool::new(false),
            room_turn: Semaphore::new(1),
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

    /// Backpressure: while more writes wait for sled's apply thread than the memory budget
    /// allows, a connection that wrote waits here (after sending its replies, without the
    /// keyspace lock) before running more commands.
    ///
    /// Waiters go in arrival order, and a connection arriving while others wait queues behind
    /// them even if there is room just then, so a connection cannot be passed over for as long
    /// as others keep taking the room first. Only the first in line watches the budget, on a
    /// blocking thread.
    pub async fn wait_for_room(&self, progress: &Arc<Progress>) {
        if !progress.over_budget() && self.room_turn.available_permits() > 0 {
            return;
        }
        // The semaphore is never closed: an error cannot happen, and would only skip the wait.
        let _turn = self.room_turn.acquire().await;
        if progress.over_budget() {
            let progress = progress.clone();
            let _ = tokio::task::spawn_blocking(move || progress.wait_for_room()).await;
        }
    }

    /// Asks for queued writes to be applied now rather than at the next tick.
    pub fn apply_soon(&self) {
        if !self.apply_early.swap(true, Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }
}

/// The flusher task. Also the only place that updates LASTSAVE.
pub async fn run(shared: Arc<Shared>) {
    let d = &shared.durability;
    let mut next_apply = Instant::now() + APPLY_EVERY;
    let mut last_flush = Instant::now();
    let mut failing_since: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = d.wake.notified() => {}
            _ = tokio::time::sleep_until(next_apply) => {}
        }
        let target = d.requested.load(Ordering::SeqCst);
        let pending = target > *d.durable.borrow();
        let now = Instant::now();
        let due = now >= next_apply;
        let early = d.apply_early.swap(false, Ordering::SeqCst);
        if !(pending || due || early) {
            continue;
        }
        if due {
            next_apply = now + APPLY_EVERY;
        }
        let flush = pending
            || match shared.config.fsync() {
                Fsync::Always | Fsync::Everysec => due,
                Fsync::No => now.duration_since(last_flush) >= NO_FSYNC_EVERY,
            };
        let res = if flush {
            flush_now(&shared).await
        } else {
            hand_over(&shared).await.map(|_| ())
        };
        if let Err(e) = res {
            tracing::error!(error = %e, "writing to disk failed");
            if failing_since.get_or_insert(now).elapsed() >= FAIL_FOR {
                eprintln!("berth-server: cannot write to disk ({e}); exiting");
                std::process::exit(1);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        failing_since = None;
        if flush {
            last_flush = now;
            d.durable.send_replace(target);
        }
    }
}

/// Hands the queued writes to the writer threads; returns the sequence number they cover and
/// the threads' progress marks.
async fn hand_over(shared: &Shared) -> Result<(u64, Arc<Progress>), String> {
    // A running script holds the keyspace lock; never block the runtime thread behind it.
    shared.scripting.idle().await;
    let mut store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
    let seq = store.submit().map_err(|e| e.to_string())?;
    Ok((seq, store.progress()))
}

/// Makes every write so far durable: hands the queue over, waits until the journal holds it
/// and flushes sled, without holding the keyspace lock.
pub async fn flush_now(shared: &Shared) -> Result<(), String> {
    let (seq, progress) = hand_over(shared).await?;
    let db = shared.flusher.clone();
    tokio::task::spawn_blocking(move || {
        progress.wait_logged(seq)?;
        db.flush().map(|_| ()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    shared
        .last_save
        .store(crate::storage::now_ms() / 1000, Ordering::Relaxed);
    Ok(())
}
