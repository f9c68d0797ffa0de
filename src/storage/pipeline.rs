//! How swapped batches reach sled: logged first, applied later.
//!
//! A batch taken out of the memtable (`Swap`) goes through two threads, in swap order:
//! - the **log** thread writes it to the journal tree as one value (cheap: one large sequential
//!   write). Once sled is flushed after that, the batch is durable: a restart replays it. The
//!   flusher waits only for this step, so `everysec` and group commits never wait for the tree.
//! - the **apply** thread inserts its entries into the keyspace tree, then drops the journal
//!   value. This is most of sled's CPU cost (a B-tree insert per entry); like a storage
//!   engine's compaction, it catches up once a burst is over.
//!
//! The apply thread runs at normal priority. In the idle class (`SCHED_IDLE`) it got next to no
//! CPU while any other thread on the machine was runnable, so beside a busy neighbour every
//! writer held back by backpressure, and every command needing the tree current, stalled for
//! minutes (`tests/busy_machine.rs`); the benchmarks showed no gain from the idle class, since
//! holding off (below) already keeps it out of bursts.
//!
//! During a burst of commands the apply thread does not even take the idle moments: on a small
//! machine those are the gaps between a client's pipelines, and filling them with B-tree work
//! costs the commands their caches and their wake-up latency (a third of the throughput of a
//! list benchmark on two cores). So while the memtable is busy (`BUSY_OPS` operations per
//! `WINDOW`), the apply thread holds off, for up to `MAX_HOLD` at a time, until three
//! quarters of the budget wait or somebody waits for the tree (`wait_applied`): a burst is acknowledged at memory speed,
//! and the tree catches up when it ends. Under sustained load the limits make it run anyway.
//!
//! Entries of a batch not yet applied stay in the memtable (they are dirty until `applied`
//! passes them), so reads never miss them. Memory stays bounded: when the entries waiting for
//! the apply thread, with those still queued in the memtable, outgrow half the memtable budget
//! (in count or in bytes), connections that write wait, in arrival order, after sending
//! their replies and before running more commands (backpressure, without holding the keyspace
//! lock), and the background cleanup of deleted collections pauses; the apply thread, no longer
//! competing with commands, runs at full speed. It reports progress every `APPLY_CHUNK` entries,
//! so such a wait lasts as long as the overage, not a whole batch.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::backlog::Backlog;
use super::memtable::Swap;

/// Entries applied between two progress reports of the apply thread: about 2.5 ms of tree
/// work, so writers waiting for room (`wait_for_room`) are let in that often.
pub const APPLY_CHUNK: usize = 512;
/// How often the apply thread looks at the command rate while holding off.
const LOOK_EVERY: Duration = Duration::from_millis(5);
/// The shortest time over which the command rate is judged.
const WINDOW: Duration = Duration::from_millis(20);
/// Memtable operations per `WINDOW` that make the server busy (100K per second).
const BUSY_OPS: u64 = 2000;
/// The longest the apply thread holds off in a row.
const MAX_HOLD: Duration = Duration::from_secs(2);

/// Writes submitted and not yet in the tree: how many, and their size (keys and values).
#[derive(Default, Clone, Copy)]
pub struct Load {
    pub entries: usize,
    pub bytes: usize,
}

impl Load {
    pub fn add(&mut self, other: Load) {
        self.entries += other.entries;
        self.bytes += other.bytes;
    }

    pub fn sub(&mut self, other: Load) {
        self.entries = self.entries.saturating_sub(other.entries);
        self.bytes = self.bytes.saturating_sub(other.bytes);
    }
}

/// Where batches are: submitted, logged (in the journal), applied (in the tree).
pub struct Progress {
    /// Every write with a sequence number up to this is in the tree (read without the lock by
    /// eviction).
    pub upto: AtomicU64,
    /// `Marks::pending` (entries, bytes), copied to be read without locking.
    pending: (AtomicUsize, AtomicUsize),
    /// Writes still in the memtable's queue (entries, bytes): they count against the budget
    /// too, so handing a queue over (an eighth of the budget at once) does not take the total
    /// past the budget in one step, to hold every writer until the apply thread has worked
    /// the whole overage off (over a second, measured on 5 million pipelined LPUSHes).
    queued: (AtomicUsize, AtomicUsize),
    /// The budget: this many entries, or this many bytes (large values), may wait for the
    /// apply thread.
    room: Load,
    /// Memtable operations so far (reads and writes): how busy the server is.
    ops: AtomicU64,
    /// Threads waiting for the tree to be current: the apply thread must not hold off.
    hurry: AtomicUsize,
    /// The apply thread's last judgement of how busy the server is.
    look: Mutex<Look>,
    /// The apply thread is waiting in `hold_off`.
    holding: AtomicBool,
    /// Writes the apply thread skipped because a later write of the key shadowed them.
    pub skipped: AtomicU64,
    marks: Mutex<Marks>,
    changed: Condvar,
}

/// The apply thread's last look at `ops` (`Progress::hold_off`): the count, when, and whether
/// the window it closed was idle.
struct Look {
    ops: u64,
    at: Instant,
    idle: bool,
}

impl Look {
    /// Whether a chunk may run now, `ops` operations having been counted by `at`. Judges the
    /// window since the last judgement once it is `WINDOW` long; until then, the last verdict
    /// stands.
    fn may_run(&mut self, ops: u64, at: Instant) -> bool {
        let elapsed = at.duration_since(self.at);
        if elapsed >= WINDOW {
            let done = ops.wrapping_sub(self.ops) as u128;
            let busy = done * WINDOW.as_nanos() >= BUSY_OPS as u128 * elapsed.as_nanos();
            *self = Look {
                ops,
                at,
                idle: !busy,
            };
        }
        self.idle
    }
}

#[derive(Default)]
pub struct Marks {
    /// Highest write sequence handed to the pipeline (or applied inline).
    pub submitted: u64,
    pub logged: u64,
    pub applied: u64,
    /// Writes submitted and not yet in the tree.
    pub pending: Load,
    /// The last failure to write the journal, reported to whoever waits for durability.
    pub error: Option<String>,
}

/// `used` when the budget is exactly full.
const FULL: usize = 1000;

impl Progress {
    /// Progress marks for a memtable that lets `room` of submitted writes wait for the apply
    /// thread.
    pub fn new(room: Load) -> Progress {
        Progress {
            upto: AtomicU64::new(0),
            pending: Default::default(),
            queued: Default::default(),
            room,
            ops: AtomicU64::new(0),
            hurry: AtomicUsize::new(0),
            holding: AtomicBool::new(false),
            look: Mutex::new(Look {
                ops: 0,
                at: Instant::now(),
                idle: false,
            }),
            skipped: AtomicU64::new(0),
            marks: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    /// How full the budget is with `pending`, in thousandths: by count or by size, whichever
    /// is fuller.
    fn used_by(&self, pending: Load) -> usize {
        let part = |n: usize, room: usize| n.saturating_mul(FULL) / room.max(1);
        part(pending.entries, self.room.entries).max(part(pending.bytes, self.room.bytes))
    }

    /// How full the budget is with the writes pending and queued.
    fn used(&self) -> usize {
        let load = |(entries, bytes): &(AtomicUsize, AtomicUsize)| Load {
            entries: entries.load(Ordering::Relaxed),
            bytes: bytes.load(Ordering::Relaxed),
        };
        let mut total = load(&self.pending);
        total.add(load(&self.queued));
        self.used_by(total)
    }

    /// The memtable's queue now holds `entries` writes of `bytes` (keys and values).
    #[inline]
    pub fn set_queued(&self, entries: usize, bytes: usize) {
        self.queued.0.store(entries, Ordering::Relaxed);
        self.queued.1.store(bytes, Ordering::Relaxed);
    }

    /// More writes wait for the apply thread than the budget allows: writers should wait
    /// (`wait_for_room`) before adding more, the background cleanup should pause.
    pub fn over_budget(&self) -> bool {
        self.used() > FULL
    }

    /// A quarter of the budget waits for the apply thread: background work should not add to it.
    pub fn crowded(&self) -> bool {
        self.used() > FULL / 4
    }

    /// Blocks until the writes waiting for the apply thread fit in the budget again.
    pub fn wait_for_room(&self) {
        drop(self.wait_until(|_| self.used() <= FULL));
    }

    /// Counts a memtable operation. Only the keyspace lock's holder calls it, so a plain load
    /// and store suffice.
    #[inline]
    pub fn tick(&self) {
        self.ops
            .store(self.ops.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// The apply thread's wait before each chunk: while commands keep the memtable busy and
    /// nothing forces the tree to catch up, it leaves the CPU to them (see the module docs).
    /// Busy means `BUSY_OPS` memtable operations per `WINDOW`, judged over windows of at
    /// least `WINDOW`, so a command thread briefly off the CPU (the log thread's turn, a map
    /// resize) does not count as the end of a burst. A window judged idle lets chunks run
    /// without waiting until the next judgement, which covers the time they took: an idle
    /// server's backlog is applied without pauses. (Judging only after a full window while
    /// waiting between chunks, as before, made every 2.5 ms chunk wait out the rest of a
    /// 20 ms window: 1.8M writes took 73 s to apply on an idle server instead of 9.5.)
    pub fn hold_off(&self) {
        let start = Instant::now();
        let mut look = self.look.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.used() >= FULL / 4 * 3
                || self.hurry.load(Ordering::SeqCst) > 0
                || start.elapsed() >= MAX_HOLD
            {
                *look = Look {
                    ops: self.ops.load(Ordering::Relaxed),
                    at: Instant::now(),
                    idle: false,
                };
                break;
            }
            if look.may_run(self.ops.load(Ordering::Relaxed), Instant::now()) {
                break;
            }
            self.holding.store(true, Ordering::Relaxed);
            std::thread::sleep(LOOK_EVERY);
        }
        self.holding.store(false, Ordering::Relaxed);
    }

    /// The apply thread is holding off: a burst is on.
    pub fn holding_off(&self) -> bool {
        self.holding.load(Ordering::Relaxed)
    }

    pub fn marks(&self) -> MutexGuard<'_, Marks> {
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the marks and wakes every waiter.
    pub fn update(&self, f: impl FnOnce(&mut Marks)) {
        let mut m = self.marks();
        f(&mut m);
        self.upto.store(m.applied, Ordering::SeqCst);
        self.pending.0.store(m.pending.entries, Ordering::Relaxed);
        self.pending.1.store(m.pending.bytes, Ordering::Relaxed);
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
        self.hurry.fetch_add(1, Ordering::SeqCst);
        drop(self.wait_until(|m| m.applied >= m.submitted));
        self.hurry.fetch_sub(1, Ordering::SeqCst);
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
                for mut swap in logs {
                    let res = swap.log();
                    // After logging, so durability does not wait for it; here rather than in
                    // the apply thread, whose pauses hold up writers waiting for room. Not
                    // during a burst, where it would take CPU from the commands: the apply
                    // thread sorts the batch once the burst is over. (300,000 ZADDs into a
                    // 1,000,000-member set: sorting the 900,000 writes took 0.1-0.2 s.)
                    if !log_progress.holding_off() {
                        swap.sort();
                    }
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
                let mut backlog = Backlog::new(applies);
                while let Some(mut swap) = backlog.oldest(&progress) {
                    let upto = swap.upto();
                    let res = swap.apply_tree(&progress, &mut backlog);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn look_at(start: Instant) -> Look {
        Look {
            ops: 0,
            at: start,
            idle: false,
        }
    }

    #[test]
    fn chunks_after_an_idle_window_run_without_waiting_for_the_next_window() {
        let t0 = Instant::now();
        let mut look = look_at(t0);
        // Within the first window nothing is judged yet: hold off.
        assert!(!look.may_run(0, t0 + WINDOW / 2));
        // The window closes idle: run, and keep running until the next window closes.
        assert!(look.may_run(0, t0 + WINDOW));
        let chunk = Duration::from_micros(2500);
        for i in 1..8 {
            assert!(look.may_run(0, t0 + WINDOW + chunk * i));
        }
    }

    #[test]
    fn a_burst_during_free_chunks_holds_off_at_the_next_window() {
        let t0 = Instant::now();
        let mut look = look_at(t0);
        assert!(look.may_run(10, t0 + WINDOW));
        // Commands arrive while chunks run; the verdict stands until the window closes.
        assert!(look.may_run(10 + BUSY_OPS, t0 + WINDOW + WINDOW / 2));
        assert!(!look.may_run(10 + BUSY_OPS, t0 + WINDOW * 2));
        // A busy verdict also stands until the next window closes.
        assert!(!look.may_run(10 + BUSY_OPS, t0 + WINDOW * 2 + WINDOW / 2));
        assert!(look.may_run(10 + BUSY_OPS, t0 + WINDOW * 3));
    }

    #[test]
    fn a_busy_rate_is_judged_over_the_whole_window() {
        let t0 = Instant::now();
        let mut look = look_at(t0);
        // BUSY_OPS over two windows is half the busy rate: idle.
        assert!(look.may_run(BUSY_OPS, t0 + WINDOW * 2));
        let mut look = look_at(t0);
        assert!(!look.may_run(BUSY_OPS * 2, t0 + WINDOW * 2));
    }
}
