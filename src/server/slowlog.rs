//! The slow log: commands that ran for at least `slowlog-log-slower-than` microseconds, newest
//! first, at most `slowlog-max-len` of them (Redis's slowlog.c).

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;

/// Arguments kept per entry; the last kept slot says how many more there were.
const MAX_ARGS: usize = 32;
/// Bytes kept per argument; the rest is summarised.
const MAX_ARG_BYTES: usize = 128;

pub struct Entry {
    pub id: u64,
    /// Unix time, seconds.
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

#[derive(Default)]
pub struct SlowLog {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<Entry>,
    /// Ids keep counting across SLOWLOG RESET, as in Redis.
    next_id: u64,
}

impl SlowLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an entry for `args` (command name first), dropping the oldest past `max_len`.
    /// `command` is the table name (`config|set`) that decides which arguments are secret.
    pub fn push(
        &self,
        command: &str,
        args: &[Bytes],
        micros: u64,
        addr: &str,
        name: &Bytes,
        max_len: usize,
    ) {
        let time = crate::storage::now_ms() / 1000;
        let args = shown_args(command, args);
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.push_front(Entry {
            id,
            time,
            micros,
            args,
            addr: addr.to_string(),
            name: name.clone(),
        });
        inner.entries.truncate(max_len);
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        self.lock().entries.clear();
    }

    /// Runs `f` over the newest `count` entries (all when None).
    pub fn newest<R>(
        &self,
        count: Option<usize>,
        f: impl FnOnce(&mut dyn Iterator<Item = &Entry>) -> R,
    ) -> R {
        let inner = self.lock();
        let n = count.unwrap_or(inner.entries.len());
        f(&mut inner.entries.iter().take(n))
    }
}

/// The arguments as the slow log keeps them: secrets redacted, then at most 32 arguments of at
/// most 128 bytes each, with Redis's "... (N more arguments)" / "... (N more bytes)" markers.
fn shown_args(command: &str, args: &[Bytes]) -> Vec<Bytes> {
    let secret = secret_args(command, args);
    let kept = args.len().min(MAX_ARGS);
    let mut out = Vec::with_capacity(kept);
    for (i, a) in args.iter().take(kept).enumerate() {
        if kept != args.len() && i == kept - 1 {
            let more = args.len() - kept + 1;
            out.push(Bytes::from(format!("... ({more} more arguments)")));
        } else if secret.contains(&i) {
            out.push(Bytes::from_static(b"(redacted)"));
        } else if a.len() > MAX_ARG_BYTES {
            let mut s = a[..MAX_ARG_BYTES].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_ARG_BYTES).as_bytes());
            out.push(Bytes::from(s));
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// Positions of arguments Redis redacts from the slow log (passwords and ACL rules).
fn secret_args(command: &str, args: &[Bytes]) -> Vec<usize> {
    use crate::commands::args::is;
    match command {
        "auth" | "acl|setuser" => (if command == "auth" { 1 } else { 2 }..args.len()).collect(),
        "hello" => (2..args.len())
            .find(|&i| is(&args[i], "auth"))
            .map_or_else(Vec::new, |i| vec![i + 1, i + 2]),
        "config|set" => (2..args.len())
            .step_by(2)
            .filter(|&i| is(&args[i], "requirepass") || is(&args[i], "masterauth"))
            .map(|i| i + 1)
            .collect(),
        "migrate" => {
            let mut out = Vec::new();
            for (i, a) in args.iter().enumerate().skip(6) {
                if is(a, "auth") {
                    out.push(i + 1);
                } else if is(a, "auth2") {
                    out.extend([i + 1, i + 2]);
                }
            }
            out
        }
        _ => Vec::new(),
    }
}
