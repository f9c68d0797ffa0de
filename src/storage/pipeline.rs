//! How swapped batches reach sled: logged first, applied later.
//!
//! A batch taken out of the memtable (`Swap`) goes through two threads, in swap order:
//! - the **log** thread writes it to the journal tree as one value (cheap: one large sequential
//!   write). Once sled is flushed after that, the batch is durable: a restart replays it. The
//!   flusher waits only for this step, so `everysec` and group commits never wait for the tree.
//! - the **apply** thread inserts its entries into the keyspace tree, then drops the journal
//!   value. This is most of sled's CPU cost (a B-tree insert per entry), so it runs at idle
//!   priority (`SCHED_IDLE`): like a storage engine's compaction, it uses CPU nobody else wants
//!   and catches up once a burst is over.
//!
//! Entries of a batch not yet applied stay in the memtable (they are dirty until `applied`
//! passes them), so reads never miss them. Memory stays bounded: when the entries waiting for
//! the apply thread outgrow half the memtable budget, connections that write wait after sending
//! their replies and before running more commands (backpressure, without holding the keyspace
//! lock), and the background cleanup of deleted collections pauses; the apply thread, no longer
//! competing with commands, runs at full speed. It reports progress every few thousand entries,
//! so such a wait lasts as long as the overage, not a whole batch.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::memtable::Swap;

/// Entries applied between two progress reports of the apply thread.
pub const APPLY_CHUNK: usize = 4096;

/// Where batches are: submitted, logged (in the journal), applied (in the tree).
pub struct Progress {
    /// Every write with a sequence number up to this is in the tree (read without the lock by
    /// eviction).
    pub upto: AtomicU64,
    /// Entries submitted and not yet applied (a copy of `Marks::pending`, read without locking).
    pending: AtomicUsize,
    /// How many such entries fit in the memory budget.
    room: usize,
    marks: Mutex<Marks>,
    changed: Condvar,
}

#[derive(Default)]
pub struct Marks {
    /// Highest write sequence handed to the pipeline (or applied inline).
    pub submitted: u64,
    pub logged: u64,
    pub applied: u64,
    /// Entries submitted and not yet in the tree.
    pub pending: usize,
    /// The last failure to write the journal, reported to whoever waits for durability.
    pub error: Option<String>,
}

impl Progress {
    /// Progress marks for a memtable that lets `room` submitted entries wait for the apply
    /// thread.
    pub fn new(room: usize) -> Progress {
        Progress {
            upto: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            room,
            marks: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    /// Entries waiting for the apply thread.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// More entries wait for the apply thread than the budget allows: writers should wait
    /// (`wait_for_room`) before adding more, the background cleanup should pause.
    pub fn over_budget(&self) -> bool {
        self.pending() > self.room
    }

    /// A quarter of the budget waits for the apply thread: background work should not add to it.
    pub fn crowded(&self) -> bool {
        self.pending() > self.room / 4
    }

    /// Blocks until the entries waiting for the apply thread fit in the budget again.
    pub fn wait_for_room(&self) {
        drop(self.wait_until(|m| m.pending <= self.room));
    }

    pub fn marks(&self) -> MutexGuard<'_, Marks> {
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the marks and wakes every waiter.
    pub fn update(&self, f: impl FnOnce(&mut Marks)) {
        let mut m = self.marks();
        f(&mut m);
        self.upto.store(m.applied, Ordering::SeqCst);
        self.pending.store(m.pending, Ordering::SeqCst);
        drop(m);
        self.changed.notify_all();
    }

    /// Blocks until `done` holds.
    pub fn wait_until(&self, done: impl Fn(&Marks) -> bool) -> MutexGuard<'_, Marks> {
        let mut m = self.marks();
        while !done(&m) {
            m = self.changed.wait(m).unwrap_or_else(|e| e.into_inner());
        }
        m
    }

    /// Blocks until every write up to `seq` is in the journal; then a sled flush makes it
    /// durable.
    pub fn wait_logged(&self, seq: u64) -> Result<(), String> {
        let mut m = self.wait_until(|m| m.logged >= seq || m.error.is_some());
        match m.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Blocks until everything submitted is in the tree.
    pub fn wait_applied(&self) {
        drop(self.wait_until(|m| m.applied >= m.submitted));
    }
}

/// The two threads, reached through the log thread's queue.
pub struct Pipeline {
    /// None when the threads could not be started: batches are then written inline.
    to_log: Option<mpsc::Sender<Swap>>,
}

impl Pipeline {
    pub fn start(progress: Arc<Progress>) -> Pipeline {
        let (to_log, logs) = mpsc::channel::<Swap>();
        let (to_apply, applies) = mpsc::channel::<Swap>();
        let log_progress = progress.clone();
        let logger = std::thread::Builder::new()
            .name("berth-log".into())
            .spawn(move || {
                for swap in logs {
                    let res = swap.log();
                    log_progress.update(|m| {
                        m.logged = m.logged.max(swap.upto());
                        if let Err(e) = &res {
                            m.error = Some(e.to_string());
                        }
                    });
                    if let Err(e) = res {
                        tracing::error!(error = %e, "writing the journal failed");
                    }
                    if to_apply.send(swap).is_err() {
                        return;
                    }
                }
            });
        let applier = std::thread::Builder::new()
            .name("berth-apply".into())
            .spawn(move || {
                lower_priority();
                for mut swap in applies {
                    let upto = swap.upto();
                    let res = swap.apply_tree(|n| progress.update(|m| m.pending -= n));
                    if let Err(e) = res {
                        tracing::error!(error = %e, "applying writes to sled failed");
                    }
                    progress.update(|m| m.applied = m.applied.max(upto));
                }
            });
        match (logger, applier) {
            (Ok(_), Ok(_)) => Pipeline {
                to_log: Some(to_log),
            },
            _ => {
                tracing::warn!("no background writer threads; writing batches inline");
                Pipeline { to_log: None }
            }
        }
    }

    /// Queues a batch; gives it back if it must be written inline.
    pub fn send(&self, swap: Swap) -> Result<(), Swap> {
        match &self.to_log {
            Some(tx) => tx.send(swap).map_err(|e| e.0),
            None => Err(swap),
        }
    }
}

/// Puts the calling thread in the idle scheduling class (Linux scheduling is per thread), or at
/// least at the lowest niceness.
fn lower_priority() {
    // SAFETY: plain syscalls on the calling thread; failure only leaves the priority unchanged.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 19);
        }
    }
}
