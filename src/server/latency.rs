//! The latency monitor (Redis's latency.c, reduced): with `latency-monitor-threshold` > 0,
//! commands that take at least that many milliseconds add a sample to the `command` event
//! (`fast-command` for commands flagged fast). Each event keeps its last 160 samples, one per
//! second (the worst of that second), and its all-time maximum.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Samples kept per event, as Redis's LATENCY_TS_LEN.
const SAMPLES: usize = 160;

#[derive(Clone, Copy)]
pub struct Sample {
    /// Unix time, seconds.
    pub time: u64,
    pub ms: u64,
}

#[derive(Default)]
pub struct Series {
    pub samples: VecDeque<Sample>,
    pub max: u64,
}

#[derive(Default)]
pub struct Latency {
    events: Mutex<BTreeMap<&'static str, Series>>,
}

impl Latency {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Series>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, event: &'static str, ms: u64) {
        let time = crate::storage::now_ms() / 1000;
        let mut events = self.lock();
        let series = events.entry(event).or_default();
        series.max = series.max.max(ms);
        match series.samples.back_mut() {
            Some(last) if last.time == time => last.ms = last.ms.max(ms),
            _ => {
                series.samples.push_back(Sample { time, ms });
                if series.samples.len() > SAMPLES {
                    series.samples.pop_front();
                }
            }
        }
    }

    /// Runs `f` over every event with samples, by name.
    pub fn with_events<R>(&self, f: impl FnOnce(&BTreeMap<&'static str, Series>) -> R) -> R {
        f(&self.lock())
    }

    /// Forgets the named events (all when `names` is empty); returns how many existed.
    pub fn reset(&self, names: &[&[u8]]) -> usize {
        let mut events = self.lock();
        if names.is_empty() {
            let n = events.len();
            events.clear();
            return n;
        }
        let mut n = 0;
        for name in names {
            let found = events.keys().find(|k| k.as_bytes() == *name).copied();
            if let Some(k) = found {
                events.remove(k);
                n += 1;
            }
        }
        n
    }
}
