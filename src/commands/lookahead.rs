//! Looking ahead at pipelined requests, to prefetch the members they will touch.
//!
//! A point command on a big collection (HSET into a hash of a million fields) spends most of
//! its time waiting for two cache misses in the memtable map (see `storage/map.rs`). When a
//! client pipelines, the requests after the one running are already in the connection's
//! buffer: reading their keys and members first and prefetching all their entries at once
//! makes those misses overlap. Measured with `tests/bench/scaling.sh`: see the README.
//!
//! Looking ahead costs a second read of each request and a record lookup, which a small
//! collection does not repay (its entries stay in the caches). So the look only runs while it
//! keeps finding big collections: a look that finds none pauses it for `PAUSE` batches.

use crate::protocol::request;
use crate::storage::{Kind, Store};
use crate::types::collection;

/// Requests looked at ahead, at most, per batch.
const LOOK_MAX: usize = 32;
/// Batches (reads) skipped after a look that found nothing to prefetch.
const PAUSE: u8 = 32;

/// Where a command's members are: the argument of the first, and the step to the next
/// (0: it has one). `ZADD` is found by `zadd_members` (its options come first).
struct Point {
    name: &'static str,
    kind: Kind,
    first: usize,
    step: usize,
}

const fn point(name: &'static str, kind: Kind, first: usize, step: usize) -> Point {
    Point {
        name,
        kind,
        first,
        step,
    }
}

/// The commands that read or write members by point, with their member arguments.
#[rustfmt::skip]
static POINTS: &[Point] = &[
    point("hset", Kind::Hash, 2, 2),
    point("hget", Kind::Hash, 2, 0),
    point("hmset", Kind::Hash, 2, 2),
    point("hmget", Kind::Hash, 2, 1),
    point("hsetnx", Kind::Hash, 2, 0),
    point("hdel", Kind::Hash, 2, 1),
    point("hexists", Kind::Hash, 2, 0),
    point("hstrlen", Kind::Hash, 2, 0),
    point("hincrby", Kind::Hash, 2, 0),
    point("hincrbyfloat", Kind::Hash, 2, 0),
    point("sadd", Kind::Set, 2, 1),
    point("srem", Kind::Set, 2, 1),
    point("sismember", Kind::Set, 2, 0),
    point("smismember", Kind::Set, 2, 1),
    point("zadd", Kind::ZSet, 0, 2),
    point("zincrby", Kind::ZSet, 3, 0),
    point("zscore", Kind::ZSet, 2, 0),
    point("zmscore", Kind::ZSet, 2, 1),
    point("zrem", Kind::ZSet, 2, 1),
];

/// ZADD's first member: after the options and the first score.
fn zadd_members(args: &[&[u8]]) -> usize {
    const OPTIONS: [&[u8]; 6] = [b"nx", b"xx", b"gt", b"lt", b"ch", b"incr"];
    let options = args[2..]
        .iter()
        .take_while(|a| OPTIONS.iter().any(|o| a.eq_ignore_ascii_case(o)))
        .count();
    2 + options + 1
}

/// One connection's look-ahead state, with buffers kept between batches.
#[derive(Default)]
pub struct Lookahead {
    keys: Vec<u8>,
    ends: Vec<usize>,
    /// Batches still to skip (see the module docs).
    paused: u8,
}

impl Lookahead {
    /// Whether to look at the coming batch; counts the skipped ones.
    pub fn due(&mut self) -> bool {
        if self.paused > 0 {
            self.paused -= 1;
            return false;
        }
        true
    }

    /// Prefetches the member entries of the point commands at the start of `buf` (complete
    /// requests, up to `LOOK_MAX` of them) on big collections of database `db`; pauses when
    /// there are none. A hint: `buf` and the store are left as they were.
    pub fn prefetch(&mut self, store: &Store, db: usize, buf: &[u8]) {
        self.collect(store, db, buf);
        if self.ends.is_empty() {
            self.paused = PAUSE;
            return;
        }
        store.prefetch_members(self.keys());
    }

    /// Gathers the stored keys to prefetch into `keys` and `ends`.
    fn collect(&mut self, store: &Store, db: usize, mut buf: &[u8]) {
        let mut args = Vec::with_capacity(8);
        self.keys.clear();
        self.ends.clear();
        for _ in 0..LOOK_MAX {
            let Some(len) = request::peek(buf, &mut args) else {
                break;
            };
            buf = &buf[len..];
            let Some(p) = args.first().and_then(|name| {
                POINTS
                    .iter()
                    .find(|p| name.eq_ignore_ascii_case(p.name.as_bytes()))
            }) else {
                continue;
            };
            if args.len() < 3 {
                continue;
            }
            let first = if p.first == 0 {
                zadd_members(&args)
            } else {
                p.first
            };
            let count = if p.step == 0 { 1 } else { usize::MAX };
            let members = args.iter().skip(first).step_by(p.step.max(1)).take(count);
            collection::point_keys(
                store,
                db,
                args[1],
                p.kind,
                members.copied(),
                &mut self.keys,
                &mut self.ends,
            );
        }
    }

    /// The keys gathered by the last `collect`.
    fn keys(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let key = &self.keys[start..end];
            start = end;
            key
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::encode_collection;

    /// A RESP multibulk request.
    fn request(args: &[&str]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        out
    }

    #[test]
    fn point_commands_on_big_collections_have_their_member_keys_gathered() {
        let dir = std::env::temp_dir().join(format!("berth-lookahead-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = Store::open(&dir, 8 << 20, 16).expect("open store");
        let prefix = |store: &mut Store, key: &str, kind, size| {
            let version = store.new_version().expect("version");
            let record = encode_collection(kind, 0, version, size, &[]);
            store.put(0, key.as_bytes(), record).expect("put");
            store.member_prefix(0, key.as_bytes(), version)
        };
        let hash = prefix(&mut store, "bigh", Kind::Hash, collection::PREFETCH_FROM);
        let zset = prefix(
            &mut store,
            "bigz",
            Kind::ZSet,
            collection::PREFETCH_FROM + 1,
        );
        prefix(
            &mut store,
            "small",
            Kind::Hash,
            collection::PREFETCH_FROM - 1,
        );

        let mut buf = Vec::new();
        for r in [
            &["HSET", "bigh", "f1", "v1", "f2", "v2"][..],
            &["hget", "small", "f"],
            &["ZADD", "bigz", "nx", "CH", "1", "m1", "2", "m2"],
            &["SADD", "bigh", "wrong-kind"],
            &["GET", "bigh"],
            &["HGET", "bigh"],
            &["HINCRBY", "bigh", "n", "1"],
            &["ZINCRBY", "bigz", "5", "m3"],
        ] {
            buf.extend_from_slice(&request(r));
        }
        // A request not complete yet is left alone.
        buf.extend_from_slice(&request(&["HGET", "bigh", "late"])[..20]);

        let mut look = Lookahead::default();
        look.collect(&store, 0, &buf);
        let key = |p: &[u8], sub: &str| [p, sub.as_bytes()].concat();
        let want = [
            key(&hash, "f1"),
            key(&hash, "f2"),
            key(&zset, "mm1"),
            key(&zset, "mm2"),
            key(&hash, "n"),
            key(&zset, "mm3"),
        ];
        assert_eq!(look.keys().map(|k| k.to_vec()).collect::<Vec<_>>(), want);
        look.prefetch(&store, 0, &buf);
        assert!(look.due());

        // Nothing big: the look pauses for PAUSE batches.
        let small = request(&["HSET", "small", "f", "v"]);
        look.prefetch(&store, 0, &small);
        assert_eq!(look.keys().count(), 0);
        let skipped = std::iter::repeat_with(|| look.due())
            .take_while(|due| !due)
            .count();
        assert_eq!(skipped, PAUSE as usize);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn zadd_members_come_after_its_options_and_first_score() {
        let args = |s: &'static str| s.split(' ').map(str::as_bytes).collect::<Vec<_>>();
        assert_eq!(zadd_members(&args("ZADD k 1 m")), 3);
        assert_eq!(zadd_members(&args("ZADD k XX GT CH INCR 1 m")), 7);
        assert_eq!(zadd_members(&args("zadd k")), 3);
    }
}
