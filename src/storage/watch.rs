//! WATCH: which clients watch which keys, and which of them saw a watched key change.
//!
//! The registry lives in the `Store`, next to the writes, so no command can forget to signal a
//! change: every record write or delete and every collection member write reports its key here
//! (see `Store::touch`). That costs one `is_empty` branch while nobody watches. Keys are
//! registered by *logical* database, as Redis watches a database slot, not its contents: after
//! SWAPDB a watcher keeps watching the same index.

use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub struct Watches {
    /// Watched key → (logical db, client id) of every watcher. Keyed by the bare key so a
    /// touch looks it up without allocating.
    keys: HashMap<Vec<u8>, Vec<(usize, u64)>>,
    /// Clients whose watched key changed since they watched it (Redis's `CLIENT_DIRTY_CAS`).
    broken: HashSet<u64>,
}

impl Watches {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn add(&mut self, db: usize, key: &[u8], client: u64) {
        let watchers = self.keys.entry(key.to_vec()).or_default();
        if !watchers.contains(&(db, client)) {
            watchers.push((db, client));
        }
    }

    /// Forgets `client`'s watches (the keys it registered) and its broken flag.
    pub fn remove(&mut self, client: u64, watched: &[(usize, bytes::Bytes)]) {
        for (db, key) in watched {
            if let Some(watchers) = self.keys.get_mut(&key[..]) {
                watchers.retain(|&w| w != (*db, client));
                if watchers.is_empty() {
                    self.keys.remove(&key[..]);
                }
            }
        }
        self.broken.remove(&client);
    }

    /// `key` of logical database `db` changed: every client watching it is broken.
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        if let Some(watchers) = self.keys.get(key) {
            for &(d, client) in watchers {
                if d == db {
                    self.broken.insert(client);
                }
            }
        }
    }

    pub fn is_broken(&self, client: u64) -> bool {
        self.broken.contains(&client)
    }

    /// Every watched (db, key) in databases `dbs`.
    pub fn keys_in(&self, dbs: &[usize]) -> Vec<(usize, Vec<u8>)> {
        let mut out = Vec::new();
        for (key, watchers) in &self.keys {
            for &(db, _) in watchers {
                if dbs.contains(&db)
                    && !out
                        .iter()
                        .any(|(d, k): &(usize, Vec<u8>)| *d == db && k == key)
                {
                    out.push((db, key.clone()));
                }
            }
        }
        out
    }
}
