//! Server counters for INFO stats and INFO commandstats.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use crate::protocol::reply::Reply;

#[derive(Default)]
pub struct CmdStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    /// Calls by duration, in the power-of-two nanosecond buckets LATENCY HISTOGRAM reports
    /// (see `latency_bucket`).
    pub histogram: [AtomicU64; LATENCY_BUCKETS],
}

/// Buckets 2^10 ns (1 µs) to 2^30 ns (1.07 s): Redis's histograms record 1 µs to 1 s.
pub const LATENCY_BUCKETS: usize = 21;
const FIRST_BUCKET_LOG2: u32 = 10;

/// The bucket of a call that took `micros`, as Redis's HDR histogram (2 significant digits)
/// iterated logarithmically from 1024 ns counts it: bucket k holds durations up to 2^k ns plus
/// that value's equivalence range (2^(k-7) ns).
pub fn latency_bucket(micros: u64) -> usize {
    let ns = micros.saturating_mul(1000).clamp(1024, 1_000_000_000);
    (0..LATENCY_BUCKETS)
        .find(|&i| ns <= latency_bucket_limit_ns(i))
        .unwrap_or(LATENCY_BUCKETS - 1)
}

/// The largest duration, in ns, that bucket `i` counts.
fn latency_bucket_limit_ns(i: usize) -> u64 {
    let k = FIRST_BUCKET_LOG2 + i as u32;
    (1u64 << k) + (1u64 << (k - 7)) - 1
}

/// The label LATENCY HISTOGRAM gives bucket `i`, in µs (1, 2, 4, 8, 16, 33, 66, 132 …).
pub fn latency_bucket_micros(i: usize) -> u64 {
    latency_bucket_limit_ns(i) / 1000
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
    /// Error replies by error code (`ERR`, `WRONGTYPE` …), for INFO errorstats.
    pub errors: Mutex<BTreeMap<String, u64>>,
    pub commands: Vec<CmdStat>,
}

impl Stats {
    pub fn new(commands: usize) -> Self {
        Stats {
            commands: (0..commands).map(|_| CmdStat::default()).collect(),
            ..Default::default()
        }
    }

    /// An error reply sent to a client: total_error_replies, and its code (the first word, as
    /// Redis's `afterErrorReply`) in INFO errorstats.
    pub fn error_reply(&self, reply: &Reply) {
        let Reply::Error(e) = reply else {
            return;
        };
        self.error_replies.fetch_add(1, Relaxed);
        let code = e.split(|&c| c == b' ').next().unwrap_or_default();
        let code = String::from_utf8_lossy(code).into_owned();
        *self
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(code)
            .or_default() += 1;
    }

    /// A command's run; a failed one's error reply is counted by `error_reply`.
    pub fn record(&self, index: usize, took: Duration, failed: bool) {
        self.commands_processed.fetch_add(1, Relaxed);
        if let Some(s) = self.commands.get(index) {
            s.calls.fetch_add(1, Relaxed);
            let micros = took.as_micros() as u64;
            s.usec.fetch_add(micros, Relaxed);
            s.histogram[latency_bucket(micros)].fetch_add(1, Relaxed);
            if failed {
                s.failed.fetch_add(1, Relaxed);
            }
        }
    }

    pub fn reject(&self, index: usize, reply: &Reply) {
        self.error_reply(reply);
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
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for s in &self.commands {
            s.calls.store(0, Relaxed);
            s.usec.store(0, Relaxed);
            s.rejected.store(0, Relaxed);
            s.failed.store(0, Relaxed);
            for b in &s.histogram {
                b.store(0, Relaxed);
            }
        }
    }
}
