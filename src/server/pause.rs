//! CLIENT PAUSE: holds clients' commands (all of them, or only those that write) until
//! CLIENT UNPAUSE or the pause's end time. A held connection waits asynchronously in
//! `connection.rs`; nothing blocks a runtime thread.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Write = 1,
    All = 2,
}

#[derive(Default)]
pub struct Pause {
    /// 0 (none), 1 (write) or 2 (all): the one load every command pays when nothing is paused.
    mode: AtomicU8,
    end: Mutex<Option<Instant>>,
    /// Wakes held clients on CLIENT UNPAUSE.
    resumed: Notify,
    /// Clients waiting in `wait` (INFO's blocked_clients counts them).
    held: AtomicUsize,
}

impl Pause {
    /// Starts or extends a pause: as Redis, the stricter mode and the later end time win.
    pub fn pause(&self, mode: Mode, until: Instant) {
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        // A pause that ended by itself (nobody has noticed yet) does not combine with this one.
        if self.mode.load(Ordering::SeqCst) == 0 || end.is_none_or(|t| t <= Instant::now()) {
            *end = None;
            self.mode.store(0, Ordering::SeqCst);
        }
        *end = Some(end.map_or(until, |e| e.max(until)));
        self.mode.fetch_max(mode as u8, Ordering::SeqCst);
    }

    pub fn unpause(&self) {
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        *end = None;
        self.mode.store(0, Ordering::SeqCst);
        self.resumed.notify_waiters();
    }

    /// The end of the current pause, if a command of this kind must wait for it.
    /// `writes` is true for commands that write or may replicate (PUBLISH, EVAL, PFCOUNT …).
    pub fn holds(&self, writes: bool) -> Option<Instant> {
        let mode = self.mode.load(Ordering::Relaxed);
        if mode == 0 || (mode == Mode::Write as u8 && !writes) {
            return None;
        }
        // Checked and cleared under the lock so a concurrent CLIENT PAUSE is not lost.
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        match *end {
            Some(t) if t > Instant::now() => Some(t),
            _ => {
                *end = None;
                self.mode.store(0, Ordering::SeqCst);
                None
            }
        }
    }

    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Waits until the pause that holds a command of this kind is over.
    pub async fn wait(&self, writes: bool) {
        self.held.fetch_add(1, Ordering::Relaxed);
        // Counted down however the wait ends (including the caller dropping it).
        struct Held<'a>(&'a AtomicUsize);
        impl Drop for Held<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let _held = Held(&self.held);
        loop {
            let resumed = self.resumed.notified();
            tokio::pin!(resumed);
            resumed.as_mut().enable();
            let Some(end) = self.holds(writes) else {
                return;
            };
            tokio::select! {
                _ = resumed => {}
                _ = tokio::time::sleep_until(end.into()) => {}
            }
        }
    }
}
