//! Looking ahead at pipelined requests, to prefetch what they will look up.
//!
//! In a big map a lookup is two dependent cache misses (see `storage/map.rs`): a point command
//! on a big collection (HSET into a hash of a million fields) spends most of its time waiting
//! for its member's entry, and any command on a database of a million keys waits for its
//! record the same way. When a client pipelines, the requests after the one running are
//! already in the connection's buffer: reading their keys and members first and prefetching
//! all their entries at once makes those misses overlap. Measured with
//! `tests/bench/scaling.sh`: see the README.
//!
//! Looking ahead costs a second read of each request and, for members, a record lookup, which
//! small maps do not repay (their entries stay in the caches). So records are prefetched only
//! in databases of `BIG_KEYSPACE` keys, members only in collections of
//! `collection::PREFETCH_FROM`, and the look only runs while it keeps finding some: a look
//! that finds none pauses it for `PAUSE` batches.

use crate::protocol::request;
use crate::storage::{Kind, Store, PREFETCH_MAX};
use crate::types::collection;

/// Requests looked at ahead, at most, per batch.
const LOOK_MAX: usize = 32;
/// Batches (reads) skipped after a look that found nothing to prefetch.
const PAUSE: u8 = 32;
/// Databases of at least this many keys get the records of pipelined requests prefetched:
/// a smaller one's records map stays in the CPU caches.
const BIG_KEYSPACE: u64 = 16_384;

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

/// Calls `f` with the arguments of each complete request at the start of `buf`, up to
/// `LOOK_MAX` of them.
fn for_each_request<'a>(mut buf: &'a [u8], mut f: impl FnMut(&[&'a [u8]])) {
    let mut args = Vec::with_capacity(8);
    for _ in 0..LOOK_MAX {
        let Some(len) = request::peek(buf, &mut args) else {
            break;
        };
        buf = &buf[len..];
        f(&args);
    }
}

/// The point command `args` is, with a key and a member.
fn point_of(args: &[&[u8]]) -> Option<&'static Point> {
    let name = args.first()?;
    let p = POINTS
        .iter()
        .find(|p| name.eq_ignore_ascii_case(p.name.as_bytes()))?;
    (args.len() >= 3).then_some(p)
}

/// Command names resolved in one look: a pipeline tends to repeat one command.
#[derive(Default)]
struct Names<'a> {
    last: Option<(&'a [u8], Option<&'static super::Entry>)>,
}

impl<'a> Names<'a> {
    /// The first key `args` names, by the command table's key positions (none for commands
    /// whose keys move, or that have subcommands).
    fn first_key(&mut self, args: &[&'a [u8]]) -> Option<&'a [u8]> {
        let name = *args.first()?;
        let entry = match self.last {
            Some((last, entry)) if last == name => entry,
            _ => {
                let entry = super::lookup(name);
                self.last = Some((name, entry));
                entry
            }
        }?;
        let first = entry.cmd.keys.0;
        if first <= 0 || !entry.subs.is_empty() || entry.flags & super::MOVABLE_KEYS != 0 {
            return None;
        }
        args.get(first as usize).copied()
    }
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

    /// Prefetches what the complete requests at the start of `buf` (up to `LOOK_MAX` of them)
    /// will look up in database `db`: their keys' records when the database holds at least
    /// `BIG_KEYSPACE` keys, then the member entries of point commands on collections of at
    /// least `collection::PREFETCH_FROM` members. Pauses when there is neither. A hint: `buf`
    /// and the store are left as they were.
    pub fn prefetch(&mut self, store: &Store, db: usize, buf: &[u8]) {
        let records = store.dbsize(db) >= BIG_KEYSPACE;
        let points = self.collect_keys(records.then_some((store, db)), buf);
        let mut found = !self.ends.is_empty();
        if found {
            store.prefetch(self.keys());
        }
        if points {
            // Reads the records just prefetched: their misses overlap the first one's.
            self.collect_members(store, db, buf);
            if !self.ends.is_empty() {
                store.prefetch(self.keys());
                found = true;
            }
        }
        if !found {
            self.paused = PAUSE;
        }
    }

    /// Gathers the stored record keys of the requests' first keys into `keys`, given a store
    /// (a key named again right after itself once, and none when only one key is named); says
    /// whether any request is a point command.
    fn collect_keys(&mut self, records: Option<(&Store, usize)>, buf: &[u8]) -> bool {
        self.keys.clear();
        self.ends.clear();
        let (keys, ends) = (&mut self.keys, &mut self.ends);
        let mut points = false;
        let mut last = None;
        let mut names = Names::default();
        for_each_request(buf, |args| {
            points |= point_of(args).is_some();
            let Some((store, db)) = records else {
                return;
            };
            let Some(key) = names.first_key(args) else {
                return;
            };
            if last != Some(key) {
                last = Some(key);
                store.record_key(db, key, keys);
                ends.push(keys.len());
            }
        });
        // Requests that all name one key find its record in the caches after the first.
        if self.ends.len() < 2 {
            self.ends.clear();
        }
        points
    }

    /// Gathers the stored keys of the point commands' members into `keys`.
    fn collect_members(&mut self, store: &Store, db: usize, buf: &[u8]) {
        self.keys.clear();
        self.ends.clear();
        let (keys, ends) = (&mut self.keys, &mut self.ends);
        for_each_request(buf, |args| {
            // No more than one prefetch takes (HMGET may name thousands of fields).
            let room = PREFETCH_MAX.saturating_sub(ends.len());
            let Some(p) = point_of(args).filter(|_| room > 0) else {
                return;
            };
            let first = if p.first == 0 {
                zadd_members(args)
            } else {
                p.first
            };
            let count = if p.step == 0 { 1 } else { room };
            let members = args.iter().skip(first).step_by(p.step.max(1)).take(count);
            collection::point_keys(store, db, args[1], p.kind, members.copied(), keys, ends);
        });
    }

    /// The keys gathered by the last `collect_keys` or `collect_members`.
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

    /// A store in a fresh temporary directory (removed by the caller).
    fn store(tag: &str) -> (Store, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("berth-lookahead-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (Store::open(&dir, 8 << 20, 16).expect("open store"), dir)
    }

    #[test]
    fn point_commands_on_big_collections_have_their_member_keys_gathered() {
        let (mut store, dir) = store("members");
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
        look.collect_members(&store, 0, &buf);
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
    fn members_gathered_stop_at_what_one_prefetch_takes() {
        let (mut store, dir) = store("cap");
        let version = store.new_version().expect("version");
        let size = collection::PREFETCH_FROM;
        let record = encode_collection(Kind::Set, 0, version, size, &[]);
        store.put(0, b"s", record).expect("put");
        let members: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
        let mut args = vec!["SMISMEMBER", "s"];
        args.extend(members.iter().map(String::as_str));
        let buf = [request(&args), request(&["SISMEMBER", "s", "x"])].concat();
        let mut look = Lookahead::default();
        look.collect_members(&store, 0, &buf);
        let prefix = store.member_prefix(0, b"s", version);
        let want: Vec<Vec<u8>> = members[..PREFETCH_MAX]
            .iter()
            .map(|m| [&prefix[..], m.as_bytes()].concat())
            .collect();
        assert_eq!(look.keys().map(<[u8]>::to_vec).collect::<Vec<_>>(), want);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn records_are_gathered_by_the_command_tables_first_key() {
        let args = |s: &'static str| s.split(' ').map(str::as_bytes).collect::<Vec<_>>();
        let mut names = Names::default();
        let mut key = |s| {
            let k = names.first_key(&args(s));
            k.map(|k| String::from_utf8_lossy(k).into_owned())
        };
        assert_eq!(key("get k1").as_deref(), Some("k1"));
        assert_eq!(key("MSET a 1 b 2").as_deref(), Some("a"));
        assert_eq!(key("ZADD z 1 m").as_deref(), Some("z"));
        assert_eq!(key("GET"), None);
        assert_eq!(key("PING"), None);
        assert_eq!(key("NOSUCHCOMMAND k"), None);
        // Keys that move (EVAL's come after a count), subcommands (OBJECT ENCODING k).
        assert_eq!(key("EVAL return 1 1 k"), None);
        assert_eq!(key("OBJECT ENCODING k"), None);

        let mut look = Lookahead::default();
        let buf = [
            request(&["GET", "a"]),
            request(&["PING"]),
            request(&["HSET", "h", "f", "v"]),
        ]
        .concat();
        let (store, dir) = store("records");
        let with = Some((&store, 0));
        assert!(look.collect_keys(with, &buf), "HSET is a point command");
        let record = |k: &[u8]| {
            let mut out = Vec::new();
            store.record_key(0, k, &mut out);
            out
        };
        let keys: Vec<Vec<u8>> = look.keys().map(<[u8]>::to_vec).collect();
        assert_eq!(keys, [record(b"a"), record(b"h")]);
        assert!(!look.collect_keys(None, &buf[..buf.len() - 3]));
        assert_eq!(look.keys().count(), 0);
        // One key only: its record is not worth fetching ahead.
        assert!(!look.collect_keys(with, &buf[..buf.len() - 3]));
        assert_eq!(look.keys().count(), 0);
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
