//! When writes reach the disk: `appendfsync always|everysec|no`.
//!
//! Commands write to the memtable (see `storage/memtable.rs`); one flusher task moves those
//! writes to sled (on a blocking thread, outside the keyspace lock) and makes sled durable:
//! - `always`: a connection that wrote asks for durability and waits before sending its
//!   replies. Requests arriving while a flush runs are served together by the next one
//!   (group commit).
//! - `everysec`: apply and flush once a second, so at most about a second of acknowledged
//!   writes is lost on power loss. Applying once a second also folds repeated writes to a key.
//! - `no`: apply once a second, flush every 30 seconds (the OS's usual write-back horizon for
//!   Redis's `no`).
//!
//! When writes queue up faster than that, connections ask for an early apply.
//!
//! Periodic applies run on their own thread at a lower CPU priority (nice 10), like a storage
//! engine's background compaction: commands keep the CPU while the machine is busy, and the
//! applier catches up when it is not. If it falls far behind (`Store::needs_sync`), a connection
//! hands the queue over at once and waits for the batch in progress (`hand_off`), which bounds
//! memory. Group commits (`always`) apply at normal priority.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::config::Fsync;
use crate::server::Shared;
use crate::storage::memtable::Swap;

/// How often queued writes are applied to sled (and, under `everysec`, flushed).
const APPLY_EVERY: Duration = Duration::from_secs(1);
/// The flush horizon of `appendfsync no`.
const NO_FSYNC_EVERY: Duration = Duration::from_secs(30);

pub struct Durability {
    background: Applier,
    requested: AtomicU64,
    durable: watch::Sender<u64>,
    wake: Notify,
    apply_early: AtomicBool,
}

impl Default for Durability {
    fn default() -> Self {
        Durability {
            background: Applier::spawn(),
            requested: AtomicU64::new(0),
            durable: watch::channel(0).0,
            wake: Notify::new(),
            apply_early: AtomicBool::new(false),
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

    /// Hands every queued write to the applier thread now, for a write burst that outpaces the
    /// periodic apply. Blocks only while the batch before it is still being applied: that wait
    /// is the backpressure bounding memory, and this thread never does sled's work itself, so
    /// commands keep running while the batch is applied.
    pub fn hand_off(&self, store: &mut crate::storage::Store) {
        let Some(swap) = store.take_swap() else {
            return;
        };
        let (done, _) = tokio::sync::oneshot::channel();
        if let Err((swap, tree, _)) = self.background.submit((swap, store.tree(), done)) {
            if let Err(e) = swap.apply(&tree) {
                tracing::error!(error = %e, "applying writes to sled failed");
            }
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
        // A client waits on a group commit: apply at normal priority. Otherwise in the background.
        let res = if flush {
            flush_with(&shared, !pending).await
        } else {
            apply_queued(&shared, true).await
        };
        if let Err(e) = res {
            tracing::error!(error = %e, "writing to disk failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        if flush {
            last_flush = now;
            d.durable.send_replace(target);
        }
    }
}

/// A thread that applies swaps at a lower CPU priority.
struct Applier {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<ApplyJob>>,
}

type ApplyJob = (
    Swap,
    sled::Tree,
    tokio::sync::oneshot::Sender<sled::Result<()>>,
);

impl Applier {
    fn spawn() -> Applier {
        let (tx, rx) = std::sync::mpsc::channel::<ApplyJob>();
        let spawned = std::thread::Builder::new()
            .name("berth-apply".into())
            .spawn(move || {
                lower_priority();
                for (swap, tree, done) in rx {
                    let _ = done.send(swap.apply(&tree));
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no background apply thread; applying on the blocking pool");
        }
        Applier {
            jobs: std::sync::Mutex::new(tx),
        }
    }

    /// Hands a swap to the thread; None if the thread is gone (the caller applies it itself).
    fn submit(&self, job: ApplyJob) -> Result<(), ApplyJob> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.send(job).map_err(|e| e.0)
    }
}

/// Lowers the calling thread's CPU priority (Linux niceness is per thread).
fn lower_priority() {
    // SAFETY: plain syscalls on the calling thread; failure only leaves the priority unchanged.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Applies the memtable's queued writes to sled outside the keyspace lock: on the low-priority
/// thread (`background`) or on the blocking pool.
async fn apply_queued(shared: &Shared, background: bool) -> Result<(), String> {
    // A running script holds the keyspace lock; never block the runtime thread behind it.
    shared.scripting.idle().await;
    let swap = shared
        .store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take_swap();
    let Some(swap) = swap else { return Ok(()) };
    let tree = shared.tree.clone();
    let job = if background {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        match shared.durability.background.submit((swap, tree, done_tx)) {
            Ok(()) => {
                return done_rx
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
            Err(job) => job,
        }
    } else {
        let (done_tx, _) = tokio::sync::oneshot::channel();
        (swap, tree, done_tx)
    };
    let (swap, tree, _) = job;
    tokio::task::spawn_blocking(move || swap.apply(&tree))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Applies queued writes and flushes sled, without holding the keyspace lock.
pub async fn flush_now(shared: &Shared) -> Result<(), String> {
    flush_with(shared, false).await
}

async fn flush_with(shared: &Shared, background: bool) -> Result<(), String> {
    apply_queued(shared, background).await?;
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
