//! The keyspace on sled: the only module that touches the storage engine.
//!
//! # Encoding
//!
//! Everything lives in one sled tree (`keyspace`; write batches in progress are journaled beside
//! it, see `journal.rs`); all access goes through a write-behind memtable that
//! hands sled whole commands at a time. The first byte of a stored key says what it is:
//!
//! | stored key                                         | value                      |
//! |----------------------------------------------------|----------------------------|
//! | `m` db:u8 slot:u16 key                             | metadata record            |
//! | `d` db:u8 slot:u16 keylen:u32 key version:u64 sub  | one collection member      |
//! | `e` when_ms:u64 db:u8 slot:u16 key                 | empty (expiry index)       |
//! | `g` db:u8 slot:u16 keylen:u32 key version:u64      | empty (members to delete)  |
//! | `c` name                                           | server catalog (db map)    |
//! | `v` stored-key index:u32                           | a piece of a large value (`spill.rs`) |
//!
//! Integers are big-endian so byte order is numeric order. `db` is the *physical* database
//! (SWAPDB swaps a persisted logical→physical map instead of moving keys). `slot` is the Redis
//! Cluster hash slot (CRC16 of the key or its `{tag}`, mod 16384): the keys of one slot are one
//! contiguous range, which makes COUNTKEYSINSLOT, GETKEYSINSLOT and slot migration range scans.
//!
//! A metadata record is `kind|flags:u8 expire_at_ms:u64 written_s:u32` followed, for strings, by
//! the value itself (one read serves GET), and for collections by `version:u64 size:u64 extra`.
//! The layout lives in `record.rs`. Each member
//! of a collection is its own `d` entry under the record's version. Deleting or overwriting a
//! collection only rewrites its record and adds a `g` entry; a background task removes the stale
//! members, so DEL of a huge key is O(1).
//!
//! Expiry is checked on every read (an expired key is deleted and reported absent) and, in the
//! background, by scanning the `e` index up to now. Index entries are written before the record
//! they describe and validated against it when due, so a crash between two writes leaves at most
//! a stale index entry, never a key that cannot expire.

pub mod backlog;
pub mod events;
pub mod journal;
pub mod keys;
mod map;
pub mod memtable;
pub mod pipeline;
pub mod record;
pub mod scan;
pub mod spill;
pub mod watch;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub use sled::IVec;
use sled::Tree;

use crate::error::CmdResult;
use events::Events;
use journal::Journal;
use keys::*;
use memtable::Memtable;
/// Keys one `Store::prefetch` call fetches at most.
pub use memtable::PREFETCH_MAX;
pub use record::{encode_collection, encode_string, Kind, Record};

/// Current unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Current unix time in whole seconds, from the kernel's coarse clock: it reads a value the
/// kernel keeps (updated every tick) instead of the time-stamp counter, so it costs a few
/// nanoseconds where `now_ms` costs tens. For record write times, which only need seconds.
pub fn now_s_coarse() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0;
    if ok {
        ts.tv_sec.max(0) as u64
    } else {
        now_ms() / 1000
    }
}

/// Why the data directory could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("data directory '{0}' is in use by another berth-server process")]
    Locked(String),
    #[error("data directory '{0}' is not usable: {1}")]
    Unusable(String, String),
}

/// A key of a logical database.
pub type DbKey = (usize, Vec<u8>);

/// Counters kept in memory so DBSIZE and INFO keyspace are O(1); rebuilt by one scan at open.
#[derive(Debug, Default, Clone)]
struct DbCounts {
    keys: u64,
    expires: u64,
}

pub struct Store {
    db: sled::Db,
    tree: Tree,
    /// Every read and write goes through the memtable (see `memtable.rs`).
    mem: Memtable,
    /// sled's page cache capacity, as sled counts it (see `Store::open`).
    sled_cache: u64,
    /// Logical database index → physical database byte.
    dbmap: Vec<u8>,
    /// Indexed by physical database.
    counts: Vec<DbCounts>,
    /// Writes since the last explicit save (INFO's rdb_changes_since_last_save).
    pub dirty: u64,
    /// Stale collection members may await deletion (so idle GC cycles skip the scan).
    gc_pending: bool,
    /// The `g` entry being cleaned and the last member deleted from it.
    gc_cursor: Option<(Vec<u8>, Vec<u8>)>,
    /// WATCHed keys; every write below reports its key here (`touch`).
    watches: watch::Watches,
    /// Keyspace events not yet published (see `events.rs`).
    pub events: Events,
}

/// How the cache budget is used (INFO memory): the memtable's entries, the bytes they are
/// counted at and its budget; sled's page cache capacity as sled counts it.
pub struct CacheUsage {
    pub memtable_entries: usize,
    pub memtable_bytes: usize,
    pub memtable_limit: usize,
    pub sled_cache_capacity: u64,
}

/// How many bytes of memory sled's page cache takes per byte it counts (see `Store::open`).
const SLED_CACHE_FACTOR: u64 = 5;

impl Store {
    /// Opens (or creates) the store under `dir`. Half the cache budget goes to sled's page
    /// cache, half to the memtable. sled counts a cached page at its size on disk, and keeps
    /// it in memory at about five times that for small entries (measured: 75 MB resident for a
    /// 16 MB `cache_capacity`), so it is told a fifth of its half.
    pub fn open(dir: &Path, cache_bytes: u64, databases: usize) -> Result<Store, OpenError> {
        let shown = dir.display().to_string();
        let unusable =
            |e: &dyn std::fmt::Display| OpenError::Unusable(shown.clone(), e.to_string());
        std::fs::create_dir_all(dir).map_err(|e| unusable(&e))?;
        // sled reports a read-only directory late and obscurely: probe it first.
        let probe = dir.join(".berth-write-test");
        std::fs::write(&probe, b"ok")
            .and_then(|_| std::fs::remove_file(&probe))
            .map_err(|e| unusable(&e))?;
        let sled_cache = cache_bytes / 2 / SLED_CACHE_FACTOR;
        let db = sled::Config::new()
            .path(dir.join("sled"))
            .cache_capacity(sled_cache)
            .flush_every_ms(None)
            .open()
            .map_err(|e| {
                let text = e.to_string();
                if text.contains("could not acquire lock") || text.contains("WouldBlock") {
                    OpenError::Locked(shown.clone())
                } else {
                    unusable(&text)
                }
            })?;
        let tree = db.open_tree("keyspace").map_err(|e| unusable(&e))?;
        let journal = Journal::open(&db).map_err(|e| unusable(&e))?;
        let replayed = journal.replay(&tree).map_err(|e| unusable(&e))?;
        if replayed > 0 {
            tracing::info!(
                batches = replayed,
                "completed write batches interrupted by a crash"
            );
        }
        let mut store = Store {
            db,
            tree,
            mem: Memtable::new((cache_bytes / 2) as usize, journal),
            sled_cache,
            dbmap: Vec::new(),
            counts: vec![DbCounts::default(); 256],
            dirty: 0,
            gc_pending: true,
            gc_cursor: None,
            watches: Default::default(),
            events: Events::default(),
        };
        store.load_dbmap(databases).map_err(|e| unusable(&e))?;
        store.recount().map_err(|e| unusable(&e))?;
        Ok(store)
    }

    fn load_dbmap(&mut self, databases: usize) -> CmdResult<()> {
        let mut map: Vec<u8> = match self.mem.get(&self.tree, &catalog_key("dbmap"))? {
            Some(v) => v.to_vec(),
            None => Vec::new(),
        };
        // Databases added since the map was written map to themselves.
        for i in map.len()..databases {
            map.push(i as u8);
        }
        self.dbmap = map;
        Ok(())
    }

    fn recount(&mut self) -> CmdResult<()> {
        for item in self.tree.scan_prefix([META]) {
            let (k, v) = item?;
            let v = spill::load(&self.tree, &k, v)?;
            if let (Some((db, _)), Some(rec)) = (parse_meta_key(&k), Record::from_raw(v)) {
                let c = &mut self.counts[db as usize];
                c.keys += 1;
                if rec.expire_at() != 0 {
                    c.expires += 1;
                }
            }
        }
        Ok(())
    }

    pub fn databases(&self) -> usize {
        self.dbmap.len()
    }

    fn phys(&self, db: usize) -> u8 {
        self.dbmap.get(db).copied().unwrap_or(db as u8)
    }

    /// Keys in a logical database, including expired keys not yet reclaimed (as Redis).
    pub fn dbsize(&self, db: usize) -> u64 {
        self.counts[self.phys(db) as usize].keys
    }

    pub fn expires_count(&self, db: usize) -> u64 {
        self.counts[self.phys(db) as usize].expires
    }

    /// Reads a live key's record. An expired key is deleted on the spot and reported absent.
    pub fn get(&mut self, db: usize, key: &[u8]) -> CmdResult<Option<Record>> {
        let pdb = self.phys(db);
        let mk = meta_key(pdb, key);
        let Some(rec) = self.mem.get(&self.tree, &mk)?.and_then(Record::from_raw) else {
            self.key_miss(db, key);
            return Ok(None);
        };
        if rec.expired_now() {
            self.remove_meta(pdb, key, &mk)?;
            self.events.push(events::EXPIRED, "expired", db, key);
            self.key_miss(db, key);
            return Ok(None);
        }
        Ok(Some(rec))
    }

    #[inline]
    fn key_miss(&mut self, db: usize, key: &[u8]) {
        if self.events.reading {
            self.events.push(events::KEY_MISS, "keymiss", db, key);
        }
    }

    /// Runs `f` with lookups made as a read command makes them (Redis's `lookupKeyRead`): a miss
    /// is a `keymiss` event. For the source keys that some write commands read.
    pub fn reading<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> T {
        let was = std::mem::replace(&mut self.events.reading, true);
        let out = f(self);
        self.events.reading = was;
        out
    }

    /// Records a keyspace event on `key` of logical `db` (published after the command).
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        self.events.push(class, event, db, key);
    }

    /// Reads a record without deleting it when expired.
    fn get_raw(&mut self, pdb: u8, key: &[u8]) -> CmdResult<Option<Record>> {
        Ok(self
            .mem
            .get(&self.tree, &meta_key(pdb, key))?
            .and_then(Record::from_raw))
    }

    /// Stores a record under `key`, replacing whatever was there.
    pub fn put(&mut self, db: usize, key: &[u8], record: Vec<u8>) -> CmdResult<()> {
        let pdb = self.phys(db);
        let new_expire = expire_of(&record);
        if new_expire != 0 {
            self.mem
                .put_blind(&expire_key(new_expire, pdb, key), Some(IVec::default()));
        }
        let new_version = record::version_of(&record);
        let old = self
            .mem
            .put(&self.tree, &meta_key(pdb, key), Some(record.into()))?
            .and_then(Record::from_raw);
        self.touch(pdb, key);
        self.after_replace(pdb, key, old.as_ref(), Some((new_expire, new_version)));
        // Redis emits `new` where it adds a key to its dictionary: a key that was absent, or
        // whose expired record it removed first. (Skipped, clock read included, when off.)
        if self.events.mask & (events::EXPIRED | events::NEW) != 0 {
            match &old {
                Some(o) if o.expired_now() => {
                    self.events.push(events::EXPIRED, "expired", db, key);
                    self.events.push(events::NEW, "new", db, key);
                }
                Some(_) => {}
                None => self.events.push(events::NEW, "new", db, key),
            }
        }
        self.dirty += 1;
        Ok(())
    }

    /// Deletes `key`; true when a live key was removed.
    pub fn delete(&mut self, db: usize, key: &[u8]) -> CmdResult<bool> {
        let pdb = self.phys(db);
        match self.remove_meta(pdb, key, &meta_key(pdb, key))? {
            Some(old) => {
                self.dirty += 1;
                let expired = old.expired_now();
                if expired {
                    self.events.push(events::EXPIRED, "expired", db, key);
                }
                Ok(!expired)
            }
            None => Ok(false),
        }
    }

    fn remove_meta(&mut self, pdb: u8, key: &[u8], mk: &[u8]) -> CmdResult<Option<Record>> {
        let old = self
            .mem
            .put(&self.tree, mk, None)?
            .and_then(Record::from_raw);
        if old.is_some() {
            self.touch(pdb, key);
        }
        self.after_replace(pdb, key, old.as_ref(), None);
        Ok(old)
    }

    /// Bookkeeping after the record of `key` went from `old` to a record with (expiry, member
    /// version) `new` (`None` = deleted): counters, stale expiry entry, stale collection members.
    fn after_replace(
        &mut self,
        pdb: u8,
        key: &[u8],
        old: Option<&Record>,
        new: Option<(u64, u64)>,
    ) {
        let c = &mut self.counts[pdb as usize];
        let old_expire = old.map_or(0, |o| o.expire_at());
        let new_expire = new.map_or(0, |n| n.0);
        let new_version = new.map(|n| n.1);
        match (old.is_some(), new.is_some()) {
            (false, true) => c.keys += 1,
            (true, false) => c.keys = c.keys.saturating_sub(1),
            _ => {}
        }
        if old_expire != 0 {
            c.expires = c.expires.saturating_sub(1);
        }
        if new_expire != 0 {
            c.expires += 1;
        }
        if old_expire != 0 && old_expire != new_expire {
            self.mem.put_blind(&expire_key(old_expire, pdb, key), None);
        }
        if let Some(old) = old {
            // A collection's members die with its version: a record rewritten under the same
            // version (a size change) keeps them.
            if old.kind() != Kind::String && new_version != Some(old.version()) {
                self.mem.put_blind(
                    &gc_key(&member_prefix(pdb, key, old.version())),
                    Some(IVec::default()),
                );
                self.gc_pending = true;
            }
        }
    }

    /// Applies several key replacements as one unit (MSET, RENAME, MOVE, COPY). The memtable
    /// hands sled whole commands only, so they reach the disk together. `None` deletes.
    pub fn put_many(&mut self, ops: Vec<(usize, Vec<u8>, Option<Vec<u8>>)>) -> CmdResult<()> {
        for (db, key, rec) in ops {
            match rec {
                Some(r) => self.put(db, &key, r)?,
                None => {
                    self.delete(db, &key)?;
                }
            }
        }
        Ok(())
    }

    /// Live keys of a database in stored order (slot, then key), starting after `after`
    /// (a position returned earlier). Calls `f` with each key and record until it returns false.
    /// Returns the position to resume from, or None at the end.
    pub fn scan_db(
        &mut self,
        db: usize,
        after: Option<&[u8]>,
        mut f: impl FnMut(&[u8], &Record) -> bool,
    ) -> CmdResult<Option<Vec<u8>>> {
        self.sync()?;
        let pdb = self.phys(db);
        let prefix = meta_db_prefix(pdb);
        let start: Vec<u8> = match after {
            Some(pos) => {
                let mut s = prefix.to_vec();
                s.extend_from_slice(pos);
                s.push(0);
                s
            }
            None => prefix.to_vec(),
        };
        let end = prefix_end(&prefix).unwrap_or_default();
        let now = now_ms();
        let mut expired = Vec::new();
        let mut resume = None;
        for item in self.tree.range(start..end) {
            let (k, v) = item?;
            let v = spill::load(&self.tree, &k, v)?;
            let Some(rec) = Record::from_raw(v) else {
                continue;
            };
            if rec.is_expired(now) {
                expired.push(k[4..].to_vec());
                continue;
            }
            if !f(&k[4..], &rec) {
                resume = Some(k[2..].to_vec());
                break;
            }
        }
        for key in expired {
            self.remove_meta(pdb, &key, &meta_key(pdb, &key))?;
            self.events.push(events::EXPIRED, "expired", db, &key);
        }
        Ok(resume)
    }

    /// Keys stored in one hash slot of a database (cluster mode), in order.
    pub fn slot_keys(&mut self, db: usize, slot: u16, limit: usize) -> CmdResult<Vec<Vec<u8>>> {
        self.sync()?;
        let prefix = meta_slot_prefix(self.phys(db), slot);
        let now = now_ms();
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(prefix) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            let v = spill::load(&self.tree, &k, v)?;
            if Record::from_raw(v).is_some_and(|r| !r.is_expired(now)) {
                out.push(k[4..].to_vec());
            }
        }
        Ok(out)
    }

    /// Deletes every key of a logical database.
    pub fn flush_db(&mut self, db: usize) -> CmdResult<()> {
        self.sync()?;
        let pdb = self.phys(db);
        let keys: Vec<IVec> = self
            .tree
            .scan_prefix(meta_db_prefix(pdb))
            .keys()
            .collect::<Result<_, _>>()?;
        for k in keys {
            let key = k[4..].to_vec();
            self.remove_meta(pdb, &key, &k)?;
        }
        self.dirty += 1;
        Ok(())
    }

    /// A server-wide catalog entry (`c` name), e.g. the FUNCTION libraries.
    pub fn catalog(&mut self, name: &str) -> CmdResult<Option<Vec<u8>>> {
        Ok(self
            .mem
            .get(&self.tree, &catalog_key(name))?
            .map(|v| v.to_vec()))
    }

    /// Writes (or with None removes) a catalog entry; durable like any write.
    pub fn set_catalog(&mut self, name: &str, value: Option<Vec<u8>>) {
        self.mem
            .put_blind(&catalog_key(name), value.map(Into::into));
        self.dirty += 1;
    }

    /// Swaps two logical databases by rewriting the persisted map (O(1)).
    pub fn swap_db(&mut self, a: usize, b: usize) -> CmdResult<()> {
        // As Redis: a watched key of either database is touched if it exists on either side.
        for (db, key) in self.watches.keys_in(&[a, b]) {
            let (pa, pb) = (self.phys(a), self.phys(b));
            if self.get_raw(pa, &key)?.is_some() || self.get_raw(pb, &key)?.is_some() {
                self.watches.touch(db, &key);
            }
        }
        self.dbmap.swap(a, b);
        self.mem
            .put_blind(&catalog_key("dbmap"), Some(self.dbmap.clone().into()));
        self.dirty += 1;
        Ok(())
    }

    /// A new, never reused version number for a collection.
    pub fn new_version(&mut self) -> CmdResult<u64> {
        let v = self.db.generate_id()?;
        self.mem.mark_resident(v);
        Ok(v)
    }

    /// Deletes up to `limit` keys whose expiry is due. Returns the (logical db, key) pairs
    /// removed, and whether more may be due. Reads the index from sled without a sync: entries
    /// not yet applied are seen on a later cycle, entries deleted in the memtable are skipped.
    pub fn expire_cycle(&mut self, limit: usize) -> CmdResult<(Vec<DbKey>, bool)> {
        let mut end = vec![EXPIRE];
        end.extend_from_slice(&(now_ms() + 1).to_be_bytes());
        // Entries already deleted in the memtable (not yet applied) are skipped, not counted.
        let mut due = Vec::new();
        for ek in self.tree.range(vec![EXPIRE]..end).keys() {
            let ek = ek?;
            if self.mem.get(&self.tree, &ek)?.is_some() {
                due.push(ek);
                if due.len() == limit {
                    break;
                }
            }
        }
        let mut removed = Vec::new();
        for ek in &due {
            self.mem.put_blind(ek, None);
            let Some((when, pdb, key)) = parse_expire_key(ek) else {
                continue;
            };
            let key = key.to_vec();
            // The entry is stale unless the record still carries this expiry.
            if self
                .get_raw(pdb, &key)?
                .is_some_and(|r| r.expire_at() == when)
            {
                self.remove_meta(pdb, &key, &meta_key(pdb, &key))?;
                self.dirty += 1;
                if let Some(db) = self.dbmap.iter().position(|&p| p == pdb) {
                    self.events.push(events::EXPIRED, "expired", db, &key);
                    removed.push((db, key));
                }
            }
        }
        Ok((removed, due.len() == limit))
    }

    /// Removes up to `limit` stale collection members. Returns how many entries were removed.
    ///
    /// Reads sled without a sync (a sync would apply the whole queue inline, stalling every
    /// client): a stale version's members are never written again, so sled is current for them
    /// except for this task's own deletes still queued, which `gc_cursor` skips. A `g` entry
    /// still queued in the memtable is found once the flusher has applied it.
    pub fn gc_cycle(&mut self, limit: usize) -> CmdResult<usize> {
        use std::ops::Bound;
        if !self.gc_pending {
            return Ok(0);
        }
        let mut found = None;
        for gk in self.tree.scan_prefix([GC]).keys() {
            let gk = gk?;
            // Entries already deleted in the memtable (not yet applied) are done.
            if self.mem.get(&self.tree, &gk)?.is_some() {
                found = Some(gk);
                break;
            }
        }
        let Some(gk) = found else {
            if self.mem.dirty_count() == 0 {
                self.gc_pending = false;
            }
            return Ok(0);
        };
        let mut prefix = gk.to_vec();
        prefix[0] = DATA;
        let start = match &self.gc_cursor {
            Some((k, last)) if k[..] == gk[..] => Bound::Excluded(last.clone()),
            _ => Bound::Included(prefix.clone()),
        };
        let end = match prefix_end(&prefix) {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        let members: Vec<IVec> = self
            .tree
            .range::<Vec<u8>, _>((start, end))
            .keys()
            .take(limit)
            .collect::<Result<_, _>>()?;
        for m in &members {
            self.mem.put_blind(m, None);
        }
        match members.last() {
            Some(last) if members.len() == limit => {
                self.gc_cursor = Some((gk.to_vec(), last.to_vec()));
            }
            _ => {
                self.mem.put_blind(&gk, None);
                self.gc_cursor = None;
            }
        }
        Ok(members.len().max(1))
    }

    /// Applies every queued write to sled, inline (before range scans).
    pub fn sync(&mut self) -> CmdResult<()> {
        self.mem.sync(&self.tree)?;
        Ok(())
    }

    /// Hands the queued writes to the writer threads (see `pipeline.rs`); returns the write
    /// sequence number to pass to `Progress::wait_logged` before flushing.
    pub fn submit(&mut self) -> CmdResult<u64> {
        // The flusher takes the lock between batches, so an atomic unit still open here was
        // abandoned (a command panicked inside EXEC): close it rather than let its undo record
        // grow and later roll back writes made after it.
        if self.mem.in_atomic() {
            tracing::error!("closing a transaction left open");
            if let Err(e) = self.mem.end_atomic(&self.tree) {
                tracing::error!(error = %e, "applying an abandoned transaction failed");
            }
        }
        Ok(self.mem.submit(&self.tree)?)
    }

    /// The writer threads' progress marks, to wait on without holding the keyspace lock.
    pub fn progress(&self) -> std::sync::Arc<pipeline::Progress> {
        self.mem.progress()
    }

    /// Hands queued writes over before the next periodic tick when there are enough of them (a
    /// burst, or one command writing millions of members). Inside an atomic unit they are
    /// written inline instead, under its undo record. Blocks only under backpressure.
    pub fn bound_queue(&mut self) -> CmdResult<()> {
        if !self.mem.should_apply() {
            return Ok(());
        }
        if self.mem.in_atomic() {
            self.sync()
        } else {
            self.mem.submit(&self.tree)?;
            Ok(())
        }
    }

    pub fn queued_writes(&self) -> usize {
        self.mem.dirty_count()
    }

    /// How the cache budget is used, for INFO memory.
    pub fn cache_usage(&self) -> CacheUsage {
        let (entries, bytes, limit) = self.mem.usage();
        CacheUsage {
            memtable_entries: entries,
            memtable_bytes: bytes,
            memtable_limit: limit,
            sled_cache_capacity: self.sled_cache,
        }
    }

    /// Makes every write so far durable (blocking).
    pub fn flush(&mut self) -> CmdResult<()> {
        self.sync()?;
        self.db.flush()?;
        Ok(())
    }

    /// A cloneable handle for flushing without holding the keyspace lock.
    pub fn flusher(&self) -> sled::Db {
        self.db.clone()
    }

    /// Bytes on disk (INFO persistence / memory).
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// `key`'s record as the memtable holds it, expired or not, without loading it from sled
    /// or recording anything: for hints that must cost no disk read (see `prefetch`).
    pub fn peek(&self, db: usize, key: &[u8]) -> Option<Record> {
        let raw = self.mem.peek(&meta_key(self.phys(db), key))?;
        Record::from_raw(raw.clone())
    }

    /// Starts bringing the memtable entries of these stored keys (records, see `record_key`,
    /// or members) into the CPU caches, for the commands about to look them up (see
    /// `storage/map.rs`). A hint: changes nothing.
    pub fn prefetch<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        self.mem.prefetch(keys);
    }

    /// Appends the stored key of `key`'s record in logical `db` to `out` (for `prefetch`).
    pub fn record_key(&self, db: usize, key: &[u8], out: &mut Vec<u8>) {
        push_meta_key(self.phys(db), key, out);
    }

    /// One collection member entry.
    pub fn member_get(&mut self, k: &[u8]) -> CmdResult<Option<IVec>> {
        Ok(self.mem.get(&self.tree, k)?)
    }

    /// Calls `f` with one collection member entry's value (None when absent), without handing
    /// the value around: for replies that copy many members (LRANGE).
    #[inline]
    pub fn member_get_with<R>(
        &mut self,
        k: &[u8],
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> CmdResult<R> {
        Ok(self.mem.get_with(&self.tree, k, f)?)
    }

    /// Writes a member entry and returns its previous value, in one memtable lookup.
    pub fn member_swap(&mut self, k: &[u8], v: &[u8]) -> CmdResult<Option<IVec>> {
        self.touch_member(k);
        Ok(self.mem.put(&self.tree, k, Some(v.into()))?)
    }

    /// Writes a member entry and returns its previous value, in one memtable lookup, touching
    /// the collection's watchers only when the value changed (ZADD of a member's own score
    /// leaves WATCH intact, as in Redis).
    pub fn member_replace(&mut self, k: &[u8], v: &[u8]) -> CmdResult<Option<IVec>> {
        let old = self.mem.put(&self.tree, k, Some(v.into()))?;
        if old.as_deref() != Some(v) {
            self.touch_member(k);
        }
        Ok(old)
    }

    pub fn member_put(&mut self, k: &[u8], v: &[u8]) {
        self.touch_member(k);
        self.mem.put_blind(k, Some(v.into()));
    }

    /// Deletes a member entry without reading it (the caller knows it exists, or does not care).
    pub fn member_delete(&mut self, k: &[u8]) {
        self.touch_member(k);
        self.mem.put_blind(k, None);
    }

    /// Adds an empty index entry that ordered scans read and nothing reads by point (a sorted
    /// set's score index), and that did not exist: queued without a memtable lookup (see
    /// `Memtable::queue_only`). The member entry written with it touches WATCH.
    pub fn index_put(&mut self, k: &[u8]) {
        self.mem.queue_only(k, Some(IVec::default()), None);
    }

    /// Deletes an index entry written by `index_put` that exists.
    pub fn index_delete(&mut self, k: &[u8]) {
        self.mem.queue_only(k, None, Some(IVec::default()));
    }

    pub fn member_remove(&mut self, k: &[u8]) -> CmdResult<bool> {
        Ok(self.member_take(k)?.is_some())
    }

    /// Deletes a member entry and returns its value, in one memtable lookup.
    pub fn member_take(&mut self, k: &[u8]) -> CmdResult<Option<IVec>> {
        let old = self.mem.put(&self.tree, k, None)?;
        if old.is_some() {
            self.touch_member(k);
        }
        Ok(old)
    }

    /// Starts a unit of writes that must reach the disk entirely or not at all (EXEC, a
    /// script): until `end_atomic`, an inline apply a command needs is covered by an undo
    /// record. Returns false inside a unit already open (a script run by EXEC), which then
    /// covers this one: the caller must not end it.
    pub fn begin_atomic(&mut self) -> bool {
        self.mem.begin_atomic()
    }

    /// Ends the unit opened by `begin_atomic`.
    pub fn end_atomic(&mut self) -> CmdResult<()> {
        self.mem.end_atomic(&self.tree)?;
        Ok(())
    }

    /// Starts watching `key` of logical `db` for `client` (WATCH).
    pub fn watch(&mut self, db: usize, key: &[u8], client: u64) {
        self.watches.add(db, key, client);
    }

    /// Stops every watch of `client` (the keys it watched) and clears its broken flag.
    pub fn unwatch(&mut self, client: u64, watched: &[(usize, bytes::Bytes)]) {
        self.watches.remove(client, watched);
    }

    /// True when a key `client` watches changed since it watched it.
    pub fn watch_broken(&self, client: u64) -> bool {
        self.watches.is_broken(client)
    }

    /// Signals that `key` of logical `db` was modified where no stored entry changes (as Redis's
    /// `signalModifiedKey` for writes that leave the value as it was, e.g. LTRIM keeping all).
    pub fn touch_logical(&mut self, db: usize, key: &[u8]) {
        if !self.watches.is_empty() {
            self.watches.touch(db, key);
        }
    }

    /// A record of physical database `pdb` changed: watchers of the key are broken.
    #[inline]
    fn touch(&mut self, pdb: u8, key: &[u8]) {
        if self.watches.is_empty() {
            return;
        }
        if let Some(db) = self.dbmap.iter().position(|&p| p == pdb) {
            self.watches.touch(db, key);
        }
    }

    /// A collection member changed: its collection's watchers are broken.
    #[inline]
    fn touch_member(&mut self, k: &[u8]) {
        if self.watches.is_empty() {
            return;
        }
        if let Some((pdb, key)) = parse_member_key(k) {
            if let Some(db) = self.dbmap.iter().position(|&p| p == pdb) {
                self.watches.touch(db, key);
            }
        }
    }

    /// Members under a prefix, in order (applies queued writes first).
    pub fn member_scan(&mut self, prefix: &[u8]) -> CmdResult<Vec<(IVec, IVec)>> {
        self.sync()?;
        self.tree
            .scan_prefix(prefix)
            .map(|r| {
                let (k, v) = r?;
                let v = spill::load(&self.tree, &k, v)?;
                Ok((k, v))
            })
            .collect()
    }

    /// The prefix of every member entry of `key`'s collection `version` in logical `db`
    /// (member sub-keys follow it; see the encoding table).
    pub fn member_prefix(&self, db: usize, key: &[u8], version: u64) -> Vec<u8> {
        member_prefix(self.phys(db), key, version)
    }

    /// Members whose sub-key (the bytes after `prefix`) lies within `from..to`, in sub-key
    /// order or reversed, at most `limit`, as (sub-key, value). Applies queued writes first:
    /// the memtable is a hash map, so ordered reads go to sled.
    pub fn member_range(
        &mut self,
        prefix: &[u8],
        from: std::ops::Bound<&[u8]>,
        to: std::ops::Bound<&[u8]>,
        rev: bool,
        limit: usize,
    ) -> CmdResult<Vec<(Vec<u8>, IVec)>> {
        use std::ops::Bound;
        self.sync()?;
        let join = |b: &[u8]| {
            let mut k = prefix.to_vec();
            k.extend_from_slice(b);
            k
        };
        let lo = match from {
            Bound::Included(b) => Bound::Included(join(b)),
            Bound::Excluded(b) => Bound::Excluded(join(b)),
            Bound::Unbounded => Bound::Included(prefix.to_vec()),
        };
        let hi = match to {
            Bound::Included(b) => Bound::Included(join(b)),
            Bound::Excluded(b) => Bound::Excluded(join(b)),
            Bound::Unbounded => match prefix_end(prefix) {
                Some(end) => Bound::Excluded(end),
                None => Bound::Unbounded,
            },
        };
        let iter = self.tree.range::<Vec<u8>, _>((lo, hi));
        let strip = |r: sled::Result<(IVec, IVec)>| -> CmdResult<(Vec<u8>, IVec)> {
            let (k, v) = r?;
            let v = spill::load(&self.tree, &k, v)?;
            Ok((k[prefix.len()..].to_vec(), v))
        };
        if rev {
            iter.rev().take(limit).map(strip).collect()
        } else {
            iter.take(limit).map(strip).collect()
        }
    }

    /// How many members sort before the member with sub-key `at`, in a collection of `total`
    /// members that holds it. Both sides of `at` are walked in step, so this costs
    /// O(min(before, after)) entries: ranks are not stored (as in Kvrocks).
    pub fn member_rank(&mut self, prefix: &[u8], at: &[u8], total: u64) -> CmdResult<u64> {
        use std::ops::Bound;
        self.sync()?;
        let key = [prefix, at].concat();
        let end = match prefix_end(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        let mut below = self.tree.range::<Vec<u8>, _>((
            Bound::Included(prefix.to_vec()),
            Bound::Excluded(key.clone()),
        ));
        let mut above = self.tree.range::<Vec<u8>, _>((Bound::Excluded(key), end));
        let mut n = 0u64;
        loop {
            match below.next() {
                None => return Ok(n),
                Some(r) => r.map(|_| ())?,
            }
            match above.next() {
                None => return Ok(total.saturating_sub(n + 1)),
                Some(r) => r.map(|_| ())?,
            }
            n += 1;
        }
    }
}

fn expire_of(record: &[u8]) -> u64 {
    record
        .get(1..9)
        .map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap_or_default()))
}
