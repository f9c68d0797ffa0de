//! Keyspace notifications (`notify-keyspace-events`): the events each write command publishes,
//! compared message for message with a real redis-server 7 running the same script; expired
//! events from lazy and active expiry; flag filtering; CONFIG SET/GET normalization; redis-py.

mod common;
use common::{array, Raw, RealRedis, Server};

use std::time::{Duration, Instant};

/// A subscriber to every keyspace and keyevent channel (plus `done`, which ends a stream).
fn subscriber(port: u16) -> Raw {
    let mut sub = Raw::connect(port);
    sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    sub.cmd(&["SUBSCRIBE", "done"]);
    sub
}

/// Reads messages up to the `done` message, each as "channel payload".
fn messages_until_done(sub: &mut Raw) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let frame = String::from_utf8_lossy(&sub.read_reply().expect("message")).into_owned();
        let parts: Vec<&str> = frame.split("\r\n").collect();
        // *3 $7 message $4 done … or *4 $8 pmessage $len pattern $len channel $len payload
        match parts.get(2) {
            Some(&"message") => return out,
            Some(&"pmessage") => out.push(format!("{} {}", parts[6], parts[8])),
            _ => panic!("unexpected frame {frame:?}"),
        }
    }
}

/// Runs `script` (one command per line, words split on spaces) with notifications set to
/// `flags`; returns each reply and the published messages, in order.
fn run_script(port: u16, flags: &str, script: &[&str]) -> (Vec<String>, Vec<String>) {
    let mut c = Raw::connect(port);
    assert_eq!(c.cmd(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", flags]),
        "+OK\r\n"
    );
    let mut sub = subscriber(port);
    let replies = script
        .iter()
        .map(|line| {
            let args: Vec<&str> = line.split(' ').collect();
            format!("{line} -> {}", c.cmd(&args))
        })
        .collect();
    c.cmd(&["PUBLISH", "done", "x"]);
    (replies, messages_until_done(&mut sub))
}

/// Runs `script` on berth and on a real Redis 7 and asserts the same replies and the same
/// notification stream (all classes, keyspace and keyevent channels, `new` events included).
fn same_as_redis(script: &[&str]) {
    same_as_redis_with("AKEn", script);
}

fn same_as_redis_with(flags: &str, script: &[&str]) {
    let berth = Server::start(&[]);
    let redis = RealRedis::start();
    let (want_replies, want) = run_script(redis.port, flags, script);
    let (got_replies, got) = run_script(berth.port, flags, script);
    assert_eq!(got_replies, want_replies, "replies differ from Redis");
    assert_eq!(got, want, "notifications differ from Redis");
    assert!(!want.is_empty());
}

#[test]
fn string_commands_notify_as_redis() {
    same_as_redis(&[
        "SET s v",
        "SET s w",
        "SET s x EX 100",
        "SET s y KEEPTTL",
        "SET s z NX",
        "SET s2 z XX",
        "SET s a GET",
        "SETNX s b",
        "SETNX s3 b",
        "SETEX s4 100 v",
        "PSETEX s5 100000 v",
        "GETSET s c",
        "GETSET s6 c",
        "MSET m1 1 m2 2",
        "MSETNX m1 1 m3 3",
        "MSETNX m4 4 m5 5",
        "INCR n",
        "INCRBY n 5",
        "DECR n",
        "DECRBY n 2",
        "INCRBYFLOAT f 1.5",
        "INCR s",
        "APPEND s more",
        "APPEND a1 new",
        "SETRANGE s 1 XY",
        "SETRANGE sr 3 abc",
        "SETRANGE sr 0 ",
        "GETEX s EX 100",
        "GETEX s PERSIST",
        "GETEX s",
        "GETDEL s",
        "GETDEL s",
        "SETBIT b 7 1",
        "SETBIT b 7 1",
        "BITOP OR bo b b",
        "BITOP AND bo missing1 missing2",
        "BITFIELD bf SET u8 0 255",
        "BITFIELD bf GET u8 0",
        "BITFIELD bf INCRBY u8 0 1",
    ]);
}

#[test]
fn generic_commands_notify_as_redis() {
    same_as_redis(&[
        "SET k v",
        "SET k2 v",
        "DEL k k2 missing",
        "SET k v",
        "UNLINK k",
        "SET a 1",
        "RENAME a b",
        "SET c 1",
        "RENAME b c",
        "RENAMENX c d",
        "SET e 1",
        "RENAMENX d e",
        "COPY d f",
        "COPY d f",
        "COPY d f REPLACE",
        "COPY d g DB 1",
        "MOVE d 2",
        "SET h 1",
        "MOVE h 2",
        "SET x 1",
        "EXPIRE x 100",
        "PEXPIRE x 100000",
        "EXPIREAT x 99999999999",
        "PEXPIREAT x 99999999999000",
        "EXPIRE x 100 NX",
        "PERSIST x",
        "PERSIST x",
        "EXPIRE x -1",
        "SET y 1",
        "PEXPIREAT y 1",
        "SET z 1",
        "LPUSH l c b a",
        "SORT l ALPHA STORE sorted",
        "SORT missing STORE sorted",
        "SORT l ALPHA LIMIT 0 0 STORE sorted2",
        "SET db1 1",
        "FLUSHDB",
    ]);
}

/// Errors and no-ops publish nothing; TTLs carried by writes publish what Redis publishes.
#[test]
fn errors_and_no_ops_notify_as_redis() {
    same_as_redis(&[
        "SET s v",
        "LPUSH s a",
        "INCR s",
        "HSET s f v",
        "SADD s m",
        "ZADD s 1 m",
        "RENAME missing x",
        "SET n 1",
        "INCRBY n x",
        "EXPIRE s abc",
        "ZADD z NX XX 1 a",
        "LSET missing 0 a",
        "SETRANGE s -1 x",
        "GETEX s EX 0",
        "SET s v EX 0",
        "ZADD z 1 a",
        "ZADD z INCR 1 b 2 c",
        "ZINCRBY z x a",
        "PEXPIRE s 100000",
        "SET s w KEEPTTL",
        "PERSIST s",
        "LPUSH l a",
        "EXPIRE l 100",
        "RPUSH l b",
        "LPOP l 0",
        "SPOP nothing 3",
        "HDEL nothing f",
        "ZREM nothing a",
        "LREM nothing 0 a",
        "LTRIM nothing 0 1",
        "DEL nothing",
        "PERSIST nothing",
        "EXPIRE nothing 10",
        "MOVE nothing 1",
        "COPY nothing x",
        "SMOVE nothing x a",
        "LMOVE nothing x LEFT LEFT",
        "SINTERSTORE nothing2 nothing",
        "APPEND s ''",
        "SETRANGE s 0 ''",
        "BITFIELD s GET u8 0",
        "SELECT 5",
        "SET k5 v",
        "DEL k5",
    ]);
}

/// Read commands that look up a missing key publish `keymiss` (flag m), one per key looked up,
/// and so do the write commands that read source keys as GET does; other writes do not, nor do
/// OBJECT, SCAN and KEYS.
#[test]
fn key_misses_notify_as_redis() {
    same_as_redis_with(
        "KEm",
        &[
            "SET present v",
            "GET m1",
            "GET present",
            "MGET m2 present m3",
            "EXISTS m4",
            "TYPE m5",
            "TTL m6",
            "PTTL m7",
            "EXPIRETIME m8",
            "TOUCH m9",
            "HGET m10 f",
            "HGETALL m11",
            "HMGET m12 f g",
            "LRANGE m13 0 -1",
            "LINDEX m14 0",
            "LLEN m15",
            "LPOS m16 a",
            "SMEMBERS m17",
            "SISMEMBER m18 a",
            "SINTER m19 m20",
            "SUNION m21",
            "SDIFF m22 m23",
            "SCARD m24",
            "SRANDMEMBER m25",
            "SINTERCARD 1 m26",
            "ZRANGE m27 0 -1",
            "ZSCORE m28 a",
            "ZRANK m29 a",
            "ZCARD m30",
            "ZUNION 1 m31",
            "ZRANDMEMBER m32",
            "ZSCAN m33 0",
            "HSCAN m34 0",
            "SSCAN m35 0",
            "STRLEN m36",
            "GETRANGE m37 0 1",
            "GETBIT m38 1",
            "BITCOUNT m39",
            "BITPOS m40 1",
            "BITFIELD_RO m41 GET u8 0",
            "LCS m42 m43",
            "DUMP m44",
            "SORT_RO m45",
            "OBJECT ENCODING m46",
            "SCAN 0 MATCH m47",
            "KEYS m48",
            "INCR m49",
            "LPUSH m50 a",
            "RENAME m51 x",
            "EXPIRE m52 10",
            "LMPOP 1 m53 LEFT",
            "HRANDFIELD m54",
            // Write commands that read source keys as GET does.
            "GETDEL w1",
            "COPY w2 d2",
            "SORT w3",
            "SORT w4 STORE d4",
            "SINTERSTORE d5 w5 w5b",
            "SUNIONSTORE d6 w6",
            "SDIFFSTORE d7 w7",
            "ZUNIONSTORE d8 1 w8",
            "ZINTERSTORE d9 1 w9",
            "ZDIFFSTORE d10 1 w10",
            "ZRANGESTORE d11 w11 0 -1",
            "LMOVE w12 d12 LEFT LEFT",
            "SMOVE w14 d14 a",
            "BITOP OR d15 w15",
            "GETEX w16",
            "GETSET w17 v",
            "SET w18 v GET",
            "APPEND w19 x",
            "HINCRBY w21 f 1",
            "SPOP w22",
            "ZPOPMIN w24",
            "SETNX w26 v",
            "BITFIELD w41 GET u8 0",
            "BITFIELD w42 SET u8 0 1",
            "RPUSH L a b",
            "SORT L BY wb_* GET wg_*",
            "SORT L BY wb_* GET wg_* STORE dL",
        ],
    );
}

/// DUMP on each server (payloads are the same format, but not sent through the script).
#[test]
fn restore_notifies_as_redis() {
    let run = |port: u16| {
        let mut c = Raw::connect(port);
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "AKEn"]);
        c.cmd(&["SET", "src", "v"]);
        c.cmd(&["SET", "dst", "old"]);
        let mut sub = subscriber(port);
        let mut dump = Raw::connect(port);
        dump.send_raw(&Raw::encode(&[b"DUMP", b"src"]));
        let payload = dump.read_reply().expect("dump");
        // "$<len>\r\n<payload>\r\n" → payload
        let start = payload.iter().position(|&b| b == b'\n').expect("bulk") + 1;
        let payload = &payload[start..payload.len() - 2];
        let mut replies = Vec::new();
        for args in [
            &[&b"RESTORE"[..], b"new", b"0", payload][..],
            &[b"RESTORE", b"dst", b"0", payload, b"REPLACE"],
            &[b"RESTORE", b"ttl", b"100000", payload],
        ] {
            replies.push(c.cmd_bytes(args));
        }
        c.cmd(&["PUBLISH", "done", "x"]);
        (replies, messages_until_done(&mut sub))
    };
    let berth = Server::start(&[]);
    let redis = RealRedis::start();
    assert_eq!(run(berth.port), run(redis.port));
}

#[test]
fn list_commands_notify_as_redis() {
    same_as_redis(&[
        "LPUSH l a b",
        "RPUSH l c d e",
        "LPUSHX l z",
        "LPUSHX nol z",
        "RPUSHX l y",
        "LPOP l",
        "RPOP l",
        "LPOP l 2",
        "LPOP nol",
        "LSET l 0 X",
        "LINSERT l BEFORE X W",
        "LINSERT l AFTER missing Q",
        "RPUSH l X X",
        "LREM l 1 X",
        "LREM l 0 nothing",
        "LTRIM l 0 1",
        "LTRIM l 0 -1",
        "RPUSH src 1 2 3",
        "LMOVE src dst LEFT RIGHT",
        "LMOVE src dst RIGHT LEFT",
        "RPOPLPUSH src dst",
        "RPOPLPUSH src dst",
        "LMOVE dst dst LEFT RIGHT",
        "LMPOP 2 none dst LEFT COUNT 2",
        "LMPOP 1 dst RIGHT COUNT 5",
        "RPUSH one a",
        "LPOP one",
        "RPUSH t a b",
        "LTRIM t 5 10",
        "RPUSH r a",
        "LREM r 0 a",
        "BLPOP bl 0.01",
        "RPUSH bl a",
        "BLPOP bl 1",
        "RPUSH bm a b",
        "BLMOVE bm bd LEFT LEFT 1",
        "BRPOPLPUSH bm bd 1",
        "RPUSH bp a",
        "BRPOP bp 1",
        "RPUSH bmp a b",
        "BLMPOP 1 1 bmp LEFT COUNT 5",
    ]);
}

#[test]
fn set_commands_notify_as_redis() {
    same_as_redis(&[
        "SADD s a b c",
        "SADD s a",
        "SREM s a zz",
        "SREM s zz",
        "SADD one x",
        "SPOP one",
        "SADD two x",
        "SPOP two 5",
        "SPOP missing",
        "SADD three z",
        "SPOP three 0",
        "SMOVE s d b",
        "SMOVE s d c",
        "SMOVE s d c",
        "SADD a 1 2 3",
        "SADD b 2 3 4",
        "SINTERSTORE i a b",
        "SUNIONSTORE u a b",
        "SDIFFSTORE df a b",
        "SINTERSTORE i a missing",
        "SINTERSTORE i2 a missing",
        "SUNIONSTORE u missing1 missing2",
        "SDIFFSTORE df b b",
        "SREM a 1 2 3",
    ]);
}

#[test]
fn hash_commands_notify_as_redis() {
    same_as_redis(&[
        "HSET h a 1 b 2",
        "HSET h a 1",
        "HSETNX h a 2",
        "HSETNX h c 3",
        "HMSET h d 4",
        "HINCRBY h n 5",
        "HINCRBYFLOAT h f 1.5",
        "HDEL h a zz",
        "HDEL h zz",
        "HDEL h b c d n f",
        "HSET h2 x y",
        "HINCRBY h2 x 1",
    ]);
}

#[test]
fn sorted_set_commands_notify_as_redis() {
    same_as_redis(&[
        "ZADD z 1 a 2 b 3 c",
        "ZADD z 1 a",
        "ZADD z 5 a",
        "ZADD z INCR 1 a",
        "ZADD z NX 9 a",
        "ZADD z XX 9 new",
        "ZADD z XX CH 7 a",
        "ZADD z GT 1 a",
        "ZINCRBY z 2 b",
        "ZINCRBY z2 2 b",
        "ZREM z c zz",
        "ZREM z zz",
        "ZADD r 1 a 2 b 3 c 4 d 5 e 6 f",
        "ZREMRANGEBYRANK r 0 0",
        "ZREMRANGEBYRANK r 50 60",
        "ZREMRANGEBYSCORE r 2 3",
        "ZREMRANGEBYLEX r [a [e",
        "ZREMRANGEBYSCORE r 0 100",
        "ZADD p 1 a 2 b 3 c",
        "ZPOPMIN p",
        "ZPOPMAX p",
        "ZPOPMIN p 5",
        "ZPOPMIN p",
        "ZADD m 1 a 2 b",
        "ZMPOP 2 none m MIN COUNT 1",
        "ZMPOP 1 m MAX COUNT 9",
        "ZADD x 1 a 2 b",
        "ZADD y 2 b 3 c",
        "ZUNIONSTORE u 2 x y",
        "ZINTERSTORE i 2 x y",
        "ZDIFFSTORE d 2 x y",
        "ZINTERSTORE i 2 x missing",
        "ZDIFFSTORE d2 1 missing",
        "ZRANGESTORE rs x 0 -1",
        "ZRANGESTORE rs x 5 6",
        "ZADD bz 1 a",
        "BZPOPMIN bz 1",
        "ZADD bz 1 a 2 b",
        "BZPOPMAX bz 1",
        "BZMPOP 1 1 bz MIN COUNT 3",
    ]);
}

/// A subscriber that reads `n` messages within a deadline, as "channel payload".
fn read_messages(sub: &mut Raw, n: usize) -> Vec<String> {
    sub.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok();
    (0..n)
        .map(|_| {
            let frame = String::from_utf8_lossy(&sub.read_reply().expect("message")).into_owned();
            let parts: Vec<&str> = frame.split("\r\n").collect();
            format!("{} {}", parts[6], parts[8])
        })
        .collect()
}

#[test]
fn active_expiry_publishes_expired_after_the_key_is_gone() {
    let s = Server::start(&["--notify-keyspace-events", "Ex", "--hz", "100"]);
    let mut sub = subscriber(s.port);
    let mut c = s.raw();
    c.cmd(&["SET", "k", "v", "PX", "50"]);
    // Nobody reads the key: the background cycle removes it and reports it.
    assert_eq!(read_messages(&mut sub, 1), ["__keyevent@0__:expired k"]);
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn lazy_expiry_publishes_expired_before_the_command_event() {
    // hz 1: one active cycle a second. Its event gives the cycle's phase; the next key expires
    // and is read well before the next cycle, so only the read can remove it.
    let s = Server::start(&["--notify-keyspace-events", "KEA", "--hz", "1"]);
    let mut sub = subscriber(s.port);
    let mut c = s.raw();
    c.cmd(&["SET", "first", "v", "PX", "1"]);
    assert_eq!(
        read_messages(&mut sub, 6),
        [
            "__keyspace@0__:first set",
            "__keyevent@0__:set first",
            "__keyspace@0__:first expire",
            "__keyevent@0__:expire first",
            "__keyspace@0__:first expired",
            "__keyevent@0__:expired first",
        ]
    );
    let cycle = Instant::now();
    c.cmd(&["SET", "k", "v", "PX", "20"]);
    assert_eq!(read_messages(&mut sub, 4).len(), 4);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.cmd(&["APPEND", "k", "x"]), ":1\r\n");
    assert!(
        cycle.elapsed() < Duration::from_millis(900),
        "machine too slow"
    );
    assert_eq!(
        read_messages(&mut sub, 4),
        [
            "__keyspace@0__:k expired",
            "__keyevent@0__:expired k",
            "__keyspace@0__:k append",
            "__keyevent@0__:append k",
        ]
    );
}

#[test]
fn flags_filter_classes_and_channels() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut sub = subscriber(s.port);
    // Off by default: nothing is published.
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["LPUSH", "l", "a"]);
    // Only list events, only on keyspace channels.
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Kl"]);
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["DEL", "k"]);
    c.cmd(&["RPUSH", "l", "b"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["RPUSH", "l", "b"]);
    // Only generic events on keyevent channels; `new` only with n.
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Egn"]);
    c.cmd(&["SET", "k2", "v"]);
    c.cmd(&["DEL", "k2"]);
    // A class without K or E publishes nothing.
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "A"]);
    c.cmd(&["SET", "k3", "v"]);
    c.cmd(&["PUBLISH", "done", "x"]);
    assert_eq!(
        messages_until_done(&mut sub),
        [
            "__keyspace@0__:l rpush",
            "__keyspace@3__:l rpush",
            "__keyevent@3__:new k2",
            "__keyevent@3__:del k2",
        ]
    );
}

#[test]
fn config_reads_flags_back_in_redis_order() {
    let s = Server::start(&["--notify-keyspace-events", "lK"]);
    let mut c = s.raw();
    let get = |c: &mut Raw| c.cmd(&["CONFIG", "GET", "notify-keyspace-events"]);
    assert_eq!(get(&mut c), array(&["notify-keyspace-events", "lK"]));
    for (set, want) in [
        ("KEA", "AKE"),
        ("Kl", "lK"),
        ("g$lshzxetdnmKE", "AKEm"),
        ("An", "A"),
        ("xEgn", "gxnE"),
        ("", ""),
    ] {
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "notify-keyspace-events", set]),
            "+OK\r\n"
        );
        assert_eq!(
            get(&mut c),
            array(&["notify-keyspace-events", want]),
            "{set}"
        );
    }
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Eq"]),
        "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - \
         Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"
    );
    assert_eq!(get(&mut c), array(&["notify-keyspace-events", ""]));
}

#[test]
fn redis_py_receives_keyspace_notifications() {
    let s = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/notify_py.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(s.port.to_string())
        .output()
        .expect("python3 with redis-py (run tests/run-all.sh, which installs it)");
    assert!(
        out.status.success(),
        "tests/notify_py.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A client blocked in BLPOP / BLMOVE / BZPOPMIN and served by another client's push: the pop
/// is published after the push that served it, as Redis publishes it.
#[test]
fn serving_a_blocked_client_notifies_as_redis() {
    let run = |port: u16| {
        let mut c = Raw::connect(port);
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "AKEn"]);
        let mut sub = subscriber(port);
        let mut replies = Vec::new();
        for (block, feed) in [
            (&["BLPOP", "l", "0"][..], &["RPUSH", "l", "a"][..]),
            (
                &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"],
                &["LPUSH", "src", "b", "c"],
            ),
            (&["BZPOPMIN", "z", "0"], &["ZADD", "z", "1", "m"]),
        ] {
            let mut blocked = Raw::connect(port);
            common::send(&mut blocked, block);
            common::wait_blocked(&mut c, 1);
            replies.push(c.cmd(feed));
            replies.push(common::reply(&mut blocked));
        }
        c.cmd(&["PUBLISH", "done", "x"]);
        (replies, messages_until_done(&mut sub))
    };
    let berth = Server::start(&[]);
    let redis = RealRedis::start();
    let want = run(redis.port);
    assert!(!want.1.is_empty());
    assert_eq!(run(berth.port), want);
}

/// A RESP3 client subscribed to its own keyspace events gets them before the reply of the
/// command that caused them, byte for byte as Redis sends them.
#[test]
fn resp3_client_gets_its_own_events_before_the_reply() {
    let run = |port: u16| {
        let mut c = Raw::connect(port);
        c.resp3 = true;
        c.cmd(&["HELLO", "3"]);
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        c.cmd(&["SUBSCRIBE", "__keyspace@0__:k"]);
        c.cmd(&["SUBSCRIBE", "__keyevent@0__:set"]);
        // The push(es) and the reply arrive together: read the frames the write produced.
        common::send(&mut c, &["SET", "k", "v"]);
        let frames: Vec<String> = (0..3).map(|_| common::reply(&mut c)).collect();
        frames.concat()
    };
    let berth = Server::start(&[]);
    let redis = RealRedis::start();
    let want = run(redis.port);
    assert!(want.ends_with("+OK\r\n"), "{want:?}");
    assert_eq!(run(berth.port), want);
}

/// "AKEn" reads back as "AKE" (Redis writes no `n` after `A`) but still publishes `new`, as in
/// Redis; given on the command line, it works the same.
#[test]
fn all_classes_with_new_keep_new_events() {
    let s = Server::start(&["--notify-keyspace-events", "AKEn"]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "notify-keyspace-events"]),
        array(&["notify-keyspace-events", "AKE"])
    );
    let mut sub = subscriber(s.port);
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["PUBLISH", "done", "x"]);
    assert_eq!(
        messages_until_done(&mut sub),
        [
            "__keyspace@0__:k new",
            "__keyevent@0__:new k",
            "__keyspace@0__:k set",
            "__keyevent@0__:set k",
        ]
    );
}

/// Expired events name the logical database the key is in when it expires (after SWAPDB too).
#[test]
fn expired_events_follow_swapped_databases() {
    let s = Server::start(&["--notify-keyspace-events", "Ex", "--hz", "100"]);
    let mut sub = subscriber(s.port);
    let mut c = s.raw();
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["SET", "k", "v", "PX", "100"]);
    c.cmd(&["SWAPDB", "0", "1"]);
    assert_eq!(read_messages(&mut sub, 1), ["__keyevent@0__:expired k"]);
}
