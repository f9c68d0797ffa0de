//! Generic key commands: exact replies (checked against Redis 7.0), expiry, SCAN guarantees,
//! cross-database moves and DUMP/RESTORE.
//!
//! The deterministic cases are tables of (command, exact RESP reply). `tables_match_real_redis`
//! replays every table against a real redis-server started by the test, so the expectations
//! stay verified against Redis 7.

mod common;
use common::{check, Case, Raw, Server};

use std::collections::HashSet;
use std::time::Duration;

const DEL_EXISTS_TYPE: &[Case] = &[
    (&["SET", "a", "1"], "+OK\r\n"),
    (&["SET", "b", "2"], "+OK\r\n"),
    (&["EXISTS", "a", "a", "b", "nokey"], ":3\r\n"),
    (&["TOUCH", "a", "a", "nokey"], ":2\r\n"),
    (&["TYPE", "a"], "+string\r\n"),
    (&["TYPE", "nokey"], "+none\r\n"),
    (&["DEL", "a", "a", "nokey"], ":1\r\n"),
    (&["UNLINK", "b", "nokey"], ":1\r\n"),
    (&["EXISTS", "a", "b"], ":0\r\n"),
    (
        &["DEL"],
        "-ERR wrong number of arguments for 'del' command\r\n",
    ),
    (
        &["EXISTS"],
        "-ERR wrong number of arguments for 'exists' command\r\n",
    ),
    (
        &["TYPE"],
        "-ERR wrong number of arguments for 'type' command\r\n",
    ),
];

const RENAME: &[Case] = &[
    (&["SET", "a", "1"], "+OK\r\n"),
    (&["RENAME", "a", "a"], "+OK\r\n"),
    (&["RENAMENX", "a", "a"], ":0\r\n"),
    (&["RENAME", "nokey", "x"], "-ERR no such key\r\n"),
    (&["RENAME", "nokey", "nokey"], "-ERR no such key\r\n"),
    (&["RENAMENX", "nokey", "x"], "-ERR no such key\r\n"),
    (&["PEXPIRE", "a", "100000"], ":1\r\n"),
    (&["SET", "b", "2", "EX", "500"], "+OK\r\n"),
    (&["RENAMENX", "a", "b"], ":0\r\n"),
    // The source TTL moves with the value; the destination's own TTL is gone.
    (&["RENAME", "a", "b"], "+OK\r\n"),
    (&["EXISTS", "a"], ":0\r\n"),
    (&["GET", "b"], "$1\r\n1\r\n"),
    (&["TTL", "b"], ":100\r\n"),
    (&["RENAMENX", "b", "c"], ":1\r\n"),
    (&["GET", "c"], "$1\r\n1\r\n"),
    (&["TTL", "c"], ":100\r\n"),
    (&["SET", "p", "x"], "+OK\r\n"),
    (&["RENAME", "p", "c"], "+OK\r\n"),
    (&["TTL", "c"], ":-1\r\n"),
    (
        &["RENAME", "a"],
        "-ERR wrong number of arguments for 'rename' command\r\n",
    ),
];

const COPY: &[Case] = &[
    (&["SET", "b", "2"], "+OK\r\n"),
    (
        &["COPY", "b", "b"],
        "-ERR source and destination objects are the same\r\n",
    ),
    (
        &["COPY", "b", "c", "DB", "99"],
        "-ERR DB index is out of range\r\n",
    ),
    (
        &["COPY", "b", "c", "DB", "-1"],
        "-ERR DB index is out of range\r\n",
    ),
    (
        &["COPY", "b", "c", "DB", "x"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["COPY", "b", "c", "DB"], "-ERR syntax error\r\n"),
    (&["COPY", "b", "c", "foo"], "-ERR syntax error\r\n"),
    (&["COPY", "nokey", "c"], ":0\r\n"),
    (&["COPY", "b", "b", "DB", "1"], ":1\r\n"),
    (&["SET", "c", "old"], "+OK\r\n"),
    (&["COPY", "b", "c"], ":0\r\n"),
    (&["GET", "c"], "$3\r\nold\r\n"),
    (&["EXPIRE", "b", "100"], ":1\r\n"),
    (&["COPY", "b", "c", "REPLACE", "replace"], ":1\r\n"),
    (&["GET", "c"], "$1\r\n2\r\n"),
    (&["TTL", "c"], ":100\r\n"),
    (&["GET", "b"], "$1\r\n2\r\n"),
    (&["SELECT", "1"], "+OK\r\n"),
    (&["GET", "b"], "$1\r\n2\r\n"),
    (&["TTL", "b"], ":-1\r\n"),
    (&["SELECT", "0"], "+OK\r\n"),
    (
        &["COPY", "b"],
        "-ERR wrong number of arguments for 'copy' command\r\n",
    ),
];

const MOVE: &[Case] = &[
    (&["SET", "b", "2", "EX", "100"], "+OK\r\n"),
    (
        &["MOVE", "b", "0"],
        "-ERR source and destination objects are the same\r\n",
    ),
    (&["MOVE", "b", "99"], "-ERR DB index is out of range\r\n"),
    (&["MOVE", "b", "-1"], "-ERR DB index is out of range\r\n"),
    (
        &["MOVE", "b", "x"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["MOVE", "nokey", "1"], ":0\r\n"),
    (&["MOVE", "b", "1"], ":1\r\n"),
    (&["EXISTS", "b"], ":0\r\n"),
    (&["SET", "b", "here"], "+OK\r\n"),
    (&["MOVE", "b", "1"], ":0\r\n"),
    (&["GET", "b"], "$4\r\nhere\r\n"),
    (&["SELECT", "1"], "+OK\r\n"),
    (&["GET", "b"], "$1\r\n2\r\n"),
    (&["TTL", "b"], ":100\r\n"),
    (&["MOVE", "b", "0"], ":0\r\n"),
    (&["SELECT", "0"], "+OK\r\n"),
];

const KEYS: &[Case] = &[
    (&["SET", "", "empty"], "+OK\r\n"),
    (&["KEYS", "*"], "*1\r\n$0\r\n\r\n"),
    (&["KEYS", "?"], "*0\r\n"),
    (&["DEL", ""], ":1\r\n"),
    (&["SET", "hello", "1"], "+OK\r\n"),
    (&["KEYS", "h[ae]llo"], "*1\r\n$5\r\nhello\r\n"),
    (&["KEYS", "h*o"], "*1\r\n$5\r\nhello\r\n"),
    (&["KEYS", "H*"], "*0\r\n"),
    (&["KEYS", "nomatch*"], "*0\r\n"),
    (
        &["KEYS"],
        "-ERR wrong number of arguments for 'keys' command\r\n",
    ),
];

const SCAN_ERRORS: &[Case] = &[
    (&["SET", "k", "v"], "+OK\r\n"),
    (&["SCAN", "x"], "-ERR invalid cursor\r\n"),
    (&["SCAN", "-"], "-ERR invalid cursor\r\n"),
    (&["SCAN", " 1"], "-ERR invalid cursor\r\n"),
    (&["SCAN", "18446744073709551616"], "-ERR invalid cursor\r\n"),
    (&["SCAN", "0", "COUNT", "0"], "-ERR syntax error\r\n"),
    (&["SCAN", "0", "COUNT", "-1"], "-ERR syntax error\r\n"),
    (
        &["SCAN", "0", "COUNT", "x"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (&["SCAN", "0", "MATCH"], "-ERR syntax error\r\n"),
    (&["SCAN", "0", "foo", "bar"], "-ERR syntax error\r\n"),
    (&["SCAN", "0", "TYPE", "nosuch"], "*2\r\n$1\r\n0\r\n*0\r\n"),
    (
        &["SCAN", "0", "TYPE", "STRING"],
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n",
    ),
    (&["SCAN", "0", "MATCH", "x*"], "*2\r\n$1\r\n0\r\n*0\r\n"),
    (
        &["SCAN", "0", "MATCH", "k", "COUNT", "100"],
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n",
    ),
    (
        &["SCAN", "", "COUNT", "100"],
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n",
    ),
    (
        &["SCAN"],
        "-ERR wrong number of arguments for 'scan' command\r\n",
    ),
];

const EXPIRE: &[Case] = &[
    (&["SET", "a", "1"], "+OK\r\n"),
    (
        &["EXPIRE", "a", "10", "nx", "xx"],
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    ),
    (
        &["EXPIRE", "nokey", "x", "NX", "GT"],
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    ),
    (
        &["EXPIRE", "a", "10", "GT", "LT"],
        "-ERR GT and LT options at the same time are not compatible\r\n",
    ),
    (
        &["EXPIRE", "a", "10", "foo"],
        "-ERR Unsupported option foo\r\n",
    ),
    (
        &["EXPIRE", "a", "abc"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["EXPIRE", "a", "9999999999999999"],
        "-ERR invalid expire time in 'expire' command\r\n",
    ),
    (
        &["PEXPIRE", "a", "9223372036854775807"],
        "-ERR invalid expire time in 'pexpire' command\r\n",
    ),
    (
        &["EXPIREAT", "a", "9999999999999999"],
        "-ERR invalid expire time in 'expireat' command\r\n",
    ),
    (&["EXPIRE", "nokey", "10"], ":0\r\n"),
    // No TTL counts as infinite: GT never applies, LT always does.
    (&["EXPIRE", "a", "10", "GT"], ":0\r\n"),
    (&["EXPIRE", "a", "10", "XX"], ":0\r\n"),
    (&["EXPIRE", "a", "10", "LT"], ":1\r\n"),
    (&["EXPIRE", "a", "20", "GT"], ":1\r\n"),
    (&["EXPIRE", "a", "5", "GT"], ":0\r\n"),
    (&["EXPIRE", "a", "30", "LT"], ":0\r\n"),
    (&["EXPIRE", "a", "10", "NX"], ":0\r\n"),
    (&["EXPIRE", "a", "10", "xx"], ":1\r\n"),
    (&["TTL", "a"], ":10\r\n"),
    (&["PERSIST", "a"], ":1\r\n"),
    (&["PERSIST", "a"], ":0\r\n"),
    (&["PERSIST", "nokey"], ":0\r\n"),
    (&["TTL", "a"], ":-1\r\n"),
    (&["PEXPIREAT", "a", "99999999999500"], ":1\r\n"),
    (&["EXPIRETIME", "a"], ":100000000000\r\n"),
    (&["PEXPIRETIME", "a"], ":99999999999500\r\n"),
    (&["EXPIREAT", "a", "99999999999"], ":1\r\n"),
    (&["PEXPIRETIME", "a"], ":99999999999000\r\n"),
    // A time in the past deletes the key and counts as done.
    (&["EXPIREAT", "a", "-5"], ":1\r\n"),
    (&["EXISTS", "a"], ":0\r\n"),
    (&["SET", "a", "1"], "+OK\r\n"),
    (&["EXPIRE", "a", "0"], ":1\r\n"),
    (&["GET", "a"], "$-1\r\n"),
    (&["SET", "a", "1"], "+OK\r\n"),
    (&["PEXPIRE", "a", "-1"], ":1\r\n"),
    (&["EXISTS", "a"], ":0\r\n"),
    (&["TTL", "nokey"], ":-2\r\n"),
    (&["PTTL", "nokey"], ":-2\r\n"),
    (&["EXPIRETIME", "nokey"], ":-2\r\n"),
    (&["PEXPIRETIME", "nokey"], ":-2\r\n"),
    (&["SET", "p", "1"], "+OK\r\n"),
    (&["PTTL", "p"], ":-1\r\n"),
    (&["EXPIRETIME", "p"], ":-1\r\n"),
    (&["PEXPIRETIME", "p"], ":-1\r\n"),
    (
        &["EXPIRE", "p"],
        "-ERR wrong number of arguments for 'expire' command\r\n",
    ),
];

const OBJECT: &[Case] = &[
    (&["SET", "e", ""], "+OK\r\n"),
    (&["OBJECT", "ENCODING", "e"], "$6\r\nembstr\r\n"),
    (&["SET", "n", "123"], "+OK\r\n"),
    (&["OBJECT", "ENCODING", "n"], "$3\r\nint\r\n"),
    (&["OBJECT", "REFCOUNT", "n"], ":2147483647\r\n"),
    (&["SET", "n", "10000"], "+OK\r\n"),
    (&["OBJECT", "REFCOUNT", "n"], ":1\r\n"),
    (&["SET", "n", "-0"], "+OK\r\n"),
    (&["OBJECT", "ENCODING", "n"], "$6\r\nembstr\r\n"),
    (&["SET", "n", "01"], "+OK\r\n"),
    (&["OBJECT", "encoding", "n"], "$6\r\nembstr\r\n"),
    (&["SET", "n", "9223372036854775807"], "+OK\r\n"),
    (&["OBJECT", "ENCODING", "n"], "$3\r\nint\r\n"),
    (&["OBJECT", "REFCOUNT", "n"], ":1\r\n"),
    (&["SET", "n", "9223372036854775808"], "+OK\r\n"),
    (&["OBJECT", "ENCODING", "n"], "$6\r\nembstr\r\n"),
    (&["SET", "n", " 1"], "+OK\r\n"),
    (&["OBJECT", "ENCODING", "n"], "$6\r\nembstr\r\n"),
    (&["SET", "big", "12345678901234567890123456789012345678901234"], "+OK\r\n"),
    (&["OBJECT", "ENCODING", "big"], "$6\r\nembstr\r\n"),
    (&["SET", "big", "123456789012345678901234567890123456789012345"], "+OK\r\n"),
    (&["OBJECT", "ENCODING", "big"], "$3\r\nraw\r\n"),
    (&["OBJECT", "ENCODING", "nokey"], "$-1\r\n"),
    (&["OBJECT", "REFCOUNT", "nokey"], "$-1\r\n"),
    (&["OBJECT", "IDLETIME", "nokey"], "$-1\r\n"),
    (&["OBJECT", "FREQ", "nokey"], "$-1\r\n"),
    (&["OBJECT", "IDLETIME", "e"], ":0\r\n"),
    (&["OBJECT", "FREQ", "e"], "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"),
    (&["OBJECT", "foo"], "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"),
    (&["OBJECT"], "-ERR wrong number of arguments for 'object' command\r\n"),
    (&["OBJECT", "ENCODING"], "-ERR wrong number of arguments for 'object|encoding' command\r\n"),
    (&["OBJECT", "HELP"], "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n+    Return the kind of internal representation used in order to store the value\r\n+    associated with a <key>.\r\n+FREQ <key>\r\n+    Return the access frequency index of the <key>. The returned integer is\r\n+    proportional to the logarithm of the recent access frequency of the key.\r\n+IDLETIME <key>\r\n+    Return the idle time of the <key>, that is the approximated number of\r\n+    seconds elapsed since the last access to the key.\r\n+REFCOUNT <key>\r\n+    Return the number of references of the value associated with the specified\r\n+    <key>.\r\n+HELP\r\n+    Prints this help.\r\n"),
];

/// Run with `maxmemory-policy allkeys-lfu`.
const OBJECT_LFU: &[Case] = &[
    (&["SET", "k", "v"], "+OK\r\n"),
    (&["OBJECT", "IDLETIME", "k"], "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"),
    (&["OBJECT", "FREQ", "k"], ":5\r\n"),
];

const RESTORE_ERRORS: &[Case] = &[
    (&["SET", "a", "1"], "+OK\r\n"),
    (&["DUMP", "nokey"], "$-1\r\n"),
    (
        &["RESTORE", "k", "0", "bad"],
        "-ERR DUMP payload version or checksum are wrong\r\n",
    ),
    (
        &["RESTORE", "k", "0", ""],
        "-ERR DUMP payload version or checksum are wrong\r\n",
    ),
    (
        &["RESTORE", "a", "0", "bad"],
        "-BUSYKEY Target key name already exists.\r\n",
    ),
    (
        &["RESTORE", "a", "x", "bad"],
        "-BUSYKEY Target key name already exists.\r\n",
    ),
    (
        &["RESTORE", "k", "-1", "x"],
        "-ERR Invalid TTL value, must be >= 0\r\n",
    ),
    (
        &["RESTORE", "k", "x", "x"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["RESTORE", "k", "0", "x", "IDLETIME", "-1"],
        "-ERR Invalid IDLETIME value, must be >= 0\r\n",
    ),
    (
        &["RESTORE", "k", "0", "x", "IDLETIME", "x"],
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        &["RESTORE", "k", "0", "x", "FREQ", "256"],
        "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n",
    ),
    (
        &["RESTORE", "k", "0", "x", "IDLETIME", "5", "FREQ", "5"],
        "-ERR syntax error\r\n",
    ),
    (&["RESTORE", "k", "0", "x", "foo"], "-ERR syntax error\r\n"),
    (
        &["RESTORE", "k", "0", "x", "REPLACE", "replace", "ABSTTL"],
        "-ERR DUMP payload version or checksum are wrong\r\n",
    ),
    (
        &["RESTORE", "k", "0"],
        "-ERR wrong number of arguments for 'restore' command\r\n",
    ),
];

#[test]
fn del_exists_touch_and_type() {
    check(&mut Server::start(&[]).raw(), DEL_EXISTS_TYPE);
}

#[test]
fn rename_moves_value_and_ttl() {
    check(&mut Server::start(&[]).raw(), RENAME);
}

#[test]
fn copy_within_and_across_databases() {
    check(&mut Server::start(&[]).raw(), COPY);
}

#[test]
fn move_to_another_database_keeps_ttl() {
    check(&mut Server::start(&[]).raw(), MOVE);
}

#[test]
fn keys_matches_globs_and_lone_star_matches_empty_key() {
    check(&mut Server::start(&[]).raw(), KEYS);
}

#[test]
fn scan_options_and_errors() {
    check(&mut Server::start(&[]).raw(), SCAN_ERRORS);
}

#[test]
fn expire_options_errors_and_past_times() {
    check(&mut Server::start(&[]).raw(), EXPIRE);
}

#[test]
fn object_subcommands() {
    check(&mut Server::start(&[]).raw(), OBJECT);
}

#[test]
fn object_under_lfu_policy() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    check(&mut s.raw(), OBJECT_LFU);
}

#[test]
fn restore_errors() {
    check(&mut Server::start(&[]).raw(), RESTORE_ERRORS);
}

/// Replays every table against a real redis-server (see the module comment).
#[test]
fn tables_match_real_redis() {
    let oracle = common::RealRedis::start();
    let port = oracle.port;
    let tables = [
        DEL_EXISTS_TYPE,
        RENAME,
        COPY,
        MOVE,
        KEYS,
        SCAN_ERRORS,
        EXPIRE,
        OBJECT,
        OBJECT_LFU,
        RESTORE_ERRORS,
    ];
    for t in tables {
        let mut c = Raw::connect(port);
        assert_eq!(c.cmd(&["FLUSHALL"]), "+OK\r\n");
        let lfu = if t == OBJECT_LFU {
            "allkeys-lfu"
        } else {
            "noeviction"
        };
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "maxmemory-policy", lfu]),
            "+OK\r\n"
        );
        check(&mut c, t);
    }
}

/// Runs a full SCAN with the given options and returns every key it returned.
fn scan_all(c: &mut redis::Connection, extra: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(&cursor).arg(extra);
        let (next, keys): (String, Vec<String>) = cmd.query(c).expect("scan");
        out.extend(keys);
        cursor = next;
        if cursor == "0" {
            return out;
        }
    }
    panic!("SCAN did not finish");
}

fn set_keys(c: &mut redis::Connection, keys: impl IntoIterator<Item = String>) {
    let mut p = redis::pipe();
    for k in keys {
        p.cmd("SET").arg(k).arg("v").ignore();
    }
    p.query::<()>(c).expect("set");
}

#[test]
fn scan_returns_every_key_once_when_nothing_changes() {
    let s = Server::start(&[]);
    let mut c = s.client();
    set_keys(&mut c, (0..500).map(|i| format!("key:{i}")));
    let got = scan_all(&mut c, &["COUNT", "7"]);
    assert_eq!(got.len(), 500);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 500);
    let matched = scan_all(&mut c, &["MATCH", "key:1?", "COUNT", "3"]);
    let want: HashSet<String> = (10..20).map(|i| format!("key:{i}")).collect();
    assert_eq!(matched.into_iter().collect::<HashSet<_>>(), want);
}

#[test]
fn scan_returns_keys_present_throughout_despite_concurrent_changes() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let mut w = s.client();
    // Stable keys, some sharing one hash slot so cursors stop in the middle of a slot.
    let stable: Vec<String> = (0..300)
        .map(|i| format!("s:{i}"))
        .chain((0..100).map(|i| format!("{{tag}}:s:{i}")))
        .collect();
    set_keys(&mut c, stable.clone());
    set_keys(&mut c, (0..200).map(|i| format!("gone:{i}")));
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut step = 0;
    loop {
        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(5)
            .query(&mut c)
            .expect("scan");
        seen.extend(keys);
        // Between steps, another client adds and removes keys.
        let _: () = redis::cmd("SET")
            .arg(format!("new:{step}"))
            .arg("v")
            .query(&mut w)
            .expect("set");
        let _: () = redis::cmd("SET")
            .arg(format!("{{tag}}:new:{step}"))
            .arg("v")
            .query(&mut w)
            .expect("set");
        let _: i64 = redis::cmd("DEL")
            .arg(format!("gone:{step}"))
            .query(&mut w)
            .expect("del");
        step += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
        assert!(step < 10_000, "SCAN did not finish");
    }
    for k in &stable {
        assert!(seen.contains(k), "{k} was never returned");
    }
}

#[test]
fn scan_cursor_stays_valid_across_a_restart() {
    let mut s = Server::start(&[]);
    let mut c = s.client();
    // All in one slot: the cursor points in the middle of it.
    let keys: Vec<String> = (0..50).map(|i| format!("{{one}}:{i}")).collect();
    set_keys(&mut c, keys.clone());
    let (cursor, first): (String, Vec<String>) = redis::cmd("SCAN")
        .arg("0")
        .arg("COUNT")
        .arg(10)
        .query(&mut c)
        .expect("scan");
    assert_ne!(cursor, "0");
    assert_eq!(first.len(), 10);
    assert_eq!(s.terminate(), Some(0));
    s.restart();
    let mut c = s.client();
    let mut seen: HashSet<String> = first.into_iter().collect();
    let mut cursor = cursor;
    while cursor != "0" {
        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(10)
            .query(&mut c)
            .expect("scan");
        seen.extend(keys);
        cursor = next;
    }
    assert_eq!(seen, keys.into_iter().collect::<HashSet<_>>());
}

#[test]
fn scan_type_filter_and_unknown_cursor() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    // An arbitrary cursor is accepted and the scan still ends.
    let reply = c.cmd(&["SCAN", "123456", "COUNT", "1000"]);
    assert!(reply.starts_with("*2\r\n$1\r\n0\r\n"), "{reply}");
    assert_eq!(
        c.cmd(&["SCAN", "0", "TYPE", "list"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
}

#[test]
fn randomkey_returns_a_live_key_or_nil() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["RANDOMKEY"]), "$-1\r\n");
    assert_eq!(c.cmd(&["SET", "only", "v"]), "+OK\r\n");
    assert_eq!(c.cmd(&["RANDOMKEY"]), "$4\r\nonly\r\n");
    let mut r = s.client();
    set_keys(&mut r, (0..50).map(|i| format!("k{i}")));
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let k: String = redis::cmd("RANDOMKEY").query(&mut r).expect("randomkey");
        seen.insert(k);
    }
    assert!(seen.len() > 5, "RANDOMKEY is not random: {seen:?}");
    assert_eq!(c.cmd(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(c.cmd(&["RANDOMKEY"]), "$-1\r\n");
}

#[test]
fn expired_keys_are_invisible_to_every_command() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v", "PX", "100"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "", "v", "PX", "100"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "stay", "v"]), "+OK\r\n");
    assert_eq!(c.cmd(&["EXISTS", "k"]), ":1\r\n");
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(c.cmd(&["KEYS", "*"]), "*1\r\n$4\r\nstay\r\n");
    assert_eq!(
        c.cmd(&["SCAN", "0"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nstay\r\n"
    );
    assert_eq!(c.cmd(&["GET", "k"]), "$-1\r\n");
    assert_eq!(c.cmd(&["EXISTS", "k", ""]), ":0\r\n");
    assert_eq!(c.cmd(&["TTL", "k"]), ":-2\r\n");
    assert_eq!(c.cmd(&["TYPE", "k"]), "+none\r\n");
    assert_eq!(c.cmd(&["RANDOMKEY"]), "$4\r\nstay\r\n");
    assert_eq!(c.cmd(&["RENAME", "k", "x"]), "-ERR no such key\r\n");
    assert_eq!(c.cmd(&["DUMP", "k"]), "$-1\r\n");
}

#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let mut s = Server::start(&[]);
    let mut c = s.client();
    let mut p = redis::pipe();
    for i in 0..400 {
        p.cmd("SET")
            .arg(format!("t{i}"))
            .arg("v")
            .arg("PX")
            .arg(100)
            .ignore();
    }
    for i in 0..5 {
        p.cmd("SET").arg(format!("keep{i}")).arg("v").ignore();
    }
    p.query::<()>(&mut c).expect("set");
    // DBSIZE reads no key, so only active expiry can bring it down. Expiry index entries reach
    // sled with the memtable's once-a-second apply, so allow a few seconds.
    let mut raw = s.raw();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while raw.cmd(&["DBSIZE"]) != ":5\r\n" && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(raw.cmd(&["DBSIZE"]), ":5\r\n");
    assert_eq!(s.terminate(), Some(0));
    let store = berth::storage::Store::open(&s.dir, 1 << 20, 16).expect("open store");
    assert_eq!(store.dbsize(0), 5);
    assert_eq!(store.expires_count(0), 0);
}

#[test]
fn dump_restore_roundtrip_with_ttl_and_options() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let value: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let _: () = redis::cmd("SET")
        .arg("src")
        .arg(&value)
        .arg("EX")
        .arg(100)
        .query(&mut c)
        .expect("set");
    let payload: Vec<u8> = redis::cmd("DUMP").arg("src").query(&mut c).expect("dump");
    let restore = |c: &mut redis::Connection, args: &[&str]| -> redis::RedisResult<String> {
        redis::cmd("RESTORE")
            .arg(args[0])
            .arg(args[1])
            .arg(&payload)
            .arg(&args[2..])
            .query(c)
    };
    assert_eq!(restore(&mut c, &["dst", "0"]).expect("restore"), "OK");
    let got: Vec<u8> = redis::cmd("GET").arg("dst").query(&mut c).expect("get");
    assert_eq!(got, value);
    let ttl: i64 = redis::cmd("TTL").arg("dst").query(&mut c).expect("ttl");
    assert_eq!(ttl, -1);
    let err = restore(&mut c, &["dst", "0"]).expect_err("busy");
    assert_eq!(err.code(), Some("BUSYKEY"));
    assert_eq!(
        restore(&mut c, &["dst", "5000", "REPLACE"]).expect("replace"),
        "OK"
    );
    let pttl: i64 = redis::cmd("PTTL").arg("dst").query(&mut c).expect("pttl");
    assert!((4000..=5000).contains(&pttl), "{pttl}");
    let at = 99_999_999_999_000i64;
    assert_eq!(
        restore(&mut c, &["abs", &at.to_string(), "ABSTTL"]).expect("abs"),
        "OK"
    );
    let got: i64 = redis::cmd("PEXPIRETIME")
        .arg("abs")
        .query(&mut c)
        .expect("t");
    assert_eq!(got, at);
    // A TTL already in the past creates nothing (and REPLACE removes the old key).
    assert_eq!(
        restore(&mut c, &["past", "1", "ABSTTL"]).expect("past"),
        "OK"
    );
    assert_eq!(
        restore(&mut c, &["dst", "1", "ABSTTL", "REPLACE"]).expect("past"),
        "OK"
    );
    let n: i64 = redis::cmd("EXISTS")
        .arg("past")
        .arg("dst")
        .query(&mut c)
        .expect("exists");
    assert_eq!(n, 0);
    // IDLETIME sets how long ago the value was (notionally) last written.
    assert_eq!(
        restore(&mut c, &["idle", "0", "IDLETIME", "1000"]).expect("idle"),
        "OK"
    );
    let idle: i64 = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("idle")
        .query(&mut c)
        .expect("idle");
    assert!((1000..1005).contains(&idle), "{idle}");
    // The payload is checked: one flipped byte is refused.
    let mut bad = payload.clone();
    bad[5] ^= 0xFF;
    let err: redis::RedisResult<String> = redis::cmd("RESTORE")
        .arg("x")
        .arg(0)
        .arg(&bad)
        .query(&mut c);
    assert_eq!(
        err.expect_err("corrupt").detail(),
        Some("DUMP payload version or checksum are wrong")
    );
}

#[test]
fn dump_payload_survives_a_restart() {
    let mut s = Server::start(&[]);
    let mut c = s.client();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut c)
        .expect("set");
    let payload: Vec<u8> = redis::cmd("DUMP").arg("k").query(&mut c).expect("dump");
    assert_eq!(s.terminate(), Some(0));
    s.restart();
    let mut c = s.client();
    let again: Vec<u8> = redis::cmd("DUMP").arg("k").query(&mut c).expect("dump");
    assert_eq!(payload, again);
}

#[test]
fn object_idletime_counts_from_last_write() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(1100));
    // Write times are kept in whole seconds (like Redis's LRU clock), so 1.1 s reads as 1 or 2.
    let idle = c.cmd(&["OBJECT", "IDLETIME", "k"]);
    assert!(idle == ":1\r\n" || idle == ":2\r\n", "idle time {idle:?}");
    assert_eq!(c.cmd(&["SET", "k", "w"]), "+OK\r\n");
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "k"]), ":0\r\n");
}

#[test]
fn rename_copy_move_are_atomic_and_durable() {
    let mut s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "a", "1", "EX", "100"]), "+OK\r\n");
    assert_eq!(c.cmd(&["RENAME", "a", "b"]), "+OK\r\n");
    assert_eq!(c.cmd(&["COPY", "b", "c", "DB", "2"]), ":1\r\n");
    assert_eq!(c.cmd(&["MOVE", "b", "1"]), ":1\r\n");
    assert_eq!(s.terminate(), Some(0));
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["KEYS", "*"]), "*0\r\n");
    assert_eq!(c.cmd(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "b"]), "$1\r\n1\r\n");
    assert_ttl_near_100(&c.cmd(&["TTL", "b"]));
    assert_eq!(c.cmd(&["SELECT", "2"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "c"]), "$1\r\n1\r\n");
    assert_ttl_near_100(&c.cmd(&["TTL", "c"]));
}

/// A TTL of 100 seconds set before a restart (which takes a moment).
fn assert_ttl_near_100(reply: &str) {
    assert!(
        [":100\r\n", ":99\r\n", ":98\r\n"].contains(&reply),
        "{reply:?}"
    );
}
