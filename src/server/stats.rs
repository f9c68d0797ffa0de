//! Server counters for INFO stats and INFO commandstats.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

#[derive(Default)]
pub struct CmdStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub expired_keys: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
    pub commands: Vec<CmdStat>,
}

impl Stats {
    pub fn new(commands: usize) -> Self {
        Stats {
            commands: (0..commands).map(|_| CmdStat::default()).collect(),
            ..Default::default()
        }
    }

    pub fn record(&self, index: usize, took: Duration, failed: bool) {
        self.commands_processed.fetch_add(1, Relaxed);
        if let Some(s) = self.commands.get(index) {
            s.calls.fetch_add(1, Relaxed);
            s.usec.fetch_add(took.as_micros() as u64, Relaxed);
            if failed {
                s.failed.fetch_add(1, Relaxed);
            }
        }
        if failed {
            self.error_replies.fetch_add(1, Relaxed);
        }
    }

    pub fn reject(&self, index: usize) {
        self.error_replies.fetch_add(1, Relaxed);
        if let Some(s) = self.commands.get(index) {
            s.rejected.fetch_add(1, Relaxed);
        }
    }

    pub fn hit(&self, hit: bool) {
        if hit {
            self.keyspace_hits.fetch_add(1, Relaxed);
        } else {
            self.keyspace_misses.fetch_add(1, Relaxed);
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.commands_processed,
            &self.rejected_connections,
            &self.expired_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
        ] {
            c.store(0, Relaxed);
        }
        for s in &self.commands {
            s.calls.store(0, Relaxed);
            s.usec.store(0, Relaxed);
            s.rejected.store(0, Relaxed);
            s.failed.store(0, Relaxed);
        }
    }
}
