//! Hash commands, byte for byte as Redis 7.0 answers them (expectations checked against
//! redis-server 7.0.15). Whole-hash replies of a listpack hash come in insertion order, as
//! Redis's: the order tests at the end run each sequence against a real redis-server too.

mod common;
use common::{
    array, bulk, check, check_new, Raw, RealRedis, Server, NOT_FLOAT, NOT_INT, SYNTAX, WRONGTYPE,
};

use std::time::Duration;

#[test]
fn hset_hget_and_friends_reply_like_redis() {
    check_new(&[
        (&["HSET", "h", "a", "1", "b", "2"], ":2\r\n"),
        (&["HSET", "h", "b", "3", "c", "4"], ":1\r\n"),
        (&["HGET", "h", "b"], "$1\r\n3\r\n"),
        (&["HGET", "h", "zz"], "$-1\r\n"),
        (&["HGET", "nokey", "a"], "$-1\r\n"),
        (&["HLEN", "h"], ":3\r\n"),
        (&["HLEN", "nokey"], ":0\r\n"),
        (&["HSTRLEN", "h", "a"], ":1\r\n"),
        (&["HSTRLEN", "h", "zz"], ":0\r\n"),
        (&["HEXISTS", "h", "a"], ":1\r\n"),
        (&["HEXISTS", "h", "zz"], ":0\r\n"),
        (&["HEXISTS", "nokey", "a"], ":0\r\n"),
        (
            &["HMGET", "h", "a", "zz", "c"],
            "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n4\r\n",
        ),
        (&["HMGET", "nokey", "a", "b"], "*2\r\n$-1\r\n$-1\r\n"),
        (&["HMSET", "h", "d", "5"], "+OK\r\n"),
        (&["HSETNX", "h", "d", "6"], ":0\r\n"),
        (&["HSETNX", "h", "e", "6"], ":1\r\n"),
        (&["HSETNX", "new", "f", "v"], ":1\r\n"),
        (&["HKEYS", "h"], &array(&["a", "b", "c", "d", "e"])),
        (&["HVALS", "h"], &array(&["1", "3", "4", "5", "6"])),
        (&["HGETALL", "new"], &array(&["f", "v"])),
        (&["HKEYS", "nokey"], "*0\r\n"),
        (&["HGETALL", "nokey"], "*0\r\n"),
        (&["TYPE", "h"], "+hash\r\n"),
    ]);
}

#[test]
fn hset_with_odd_pairs_is_an_arity_error() {
    check_new(&[
        (
            &["HSET", "h", "a"],
            "-ERR wrong number of arguments for 'hset' command\r\n",
        ),
        (
            &["HSET", "h", "a", "1", "b"],
            "-ERR wrong number of arguments for 'hset' command\r\n",
        ),
        (
            &["HMSET", "h", "a", "1", "b"],
            "-ERR wrong number of arguments for 'hmset' command\r\n",
        ),
        (&["EXISTS", "h"], ":0\r\n"),
    ]);
}

#[test]
fn hdel_of_the_last_field_deletes_the_key() {
    check_new(&[
        (&["HSET", "h", "a", "1", "b", "2"], ":2\r\n"),
        (&["HDEL", "h", "a", "zz", "a"], ":1\r\n"),
        (&["HDEL", "nokey", "a"], ":0\r\n"),
        (&["EXISTS", "h"], ":1\r\n"),
        (&["HDEL", "h", "b"], ":1\r\n"),
        (&["EXISTS", "h"], ":0\r\n"),
        (&["TYPE", "h"], "+none\r\n"),
        (&["HLEN", "h"], ":0\r\n"),
    ]);
}

#[test]
fn hash_commands_on_a_string_return_wrongtype() {
    check_new(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["HSET", "s", "a", "1"], WRONGTYPE),
        (&["HGET", "s", "a"], WRONGTYPE),
        (&["HMGET", "s", "a"], WRONGTYPE),
        (&["HDEL", "s", "a"], WRONGTYPE),
        (&["HLEN", "s"], WRONGTYPE),
        (&["HGETALL", "s"], WRONGTYPE),
        (&["HINCRBY", "s", "a", "1"], WRONGTYPE),
        (&["HINCRBYFLOAT", "s", "a", "1"], WRONGTYPE),
        (&["HRANDFIELD", "s"], WRONGTYPE),
        (&["HRANDFIELD", "s", "0"], WRONGTYPE),
        (&["HSCAN", "s", "0", "COUNT", "0"], WRONGTYPE),
        (&["HSET", "h", "a", "1"], ":1\r\n"),
        (&["GET", "h"], WRONGTYPE),
        (&["APPEND", "h", "x"], WRONGTYPE),
        (&["SET", "h", "v"], "+OK\r\n"),
        (&["GET", "h"], "$1\r\nv\r\n"),
    ]);
}

#[test]
fn hincrby_on_non_integer_field_returns_error() {
    check_new(&[
        (&["HSET", "h", "s", "x", "n", "10"], ":2\r\n"),
        (
            &["HINCRBY", "h", "s", "1"],
            "-ERR hash value is not an integer\r\n",
        ),
        (&["HINCRBY", "h", "n", "x"], NOT_INT),
        (&["HINCRBY", "h", "n", "-15"], ":-5\r\n"),
        (&["HINCRBY", "h", "new", "7"], ":7\r\n"),
        (&["HINCRBY", "fresh", "f", "3"], ":3\r\n"),
        (&["HSET", "h", "big", "9223372036854775800"], ":1\r\n"),
        (
            &["HINCRBY", "h", "big", "8"],
            "-ERR increment or decrement would overflow\r\n",
        ),
        (&["HGET", "h", "big"], "$19\r\n9223372036854775800\r\n"),
        (&["HINCRBY", "nokey", "f", "x"], NOT_INT),
        (&["EXISTS", "nokey"], ":0\r\n"),
    ]);
}

#[test]
fn hincrbyfloat_formats_like_redis_and_rejects_bad_values() {
    check_new(&[
        (&["HSET", "h", "a", "3.0", "s", "x"], ":2\r\n"),
        (&["HINCRBYFLOAT", "h", "a", "1"], "$1\r\n4\r\n"),
        (&["HINCRBYFLOAT", "h", "a", "0.1"], "$3\r\n4.1\r\n"),
        (&["HINCRBYFLOAT", "h", "d", "5.0e3"], "$4\r\n5000\r\n"),
        (&["HINCRBYFLOAT", "h", "s", "1"], "-ERR hash value is not a float\r\n"),
        (&["HINCRBYFLOAT", "h", "a", "abc"], NOT_FLOAT),
        (&["HINCRBYFLOAT", "h", "a", "inf"], "-ERR value is NaN or Infinity\r\n"),
        (&["HSET", "h", "m", "1e308"], ":1\r\n"),
        (
            &["HINCRBYFLOAT", "h", "m", "1e308"],
            &bulk(
                "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096",
            ),
        ),
    ]);
}

#[test]
fn hrandfield_counts_follow_redis_rules() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["HSET", "h", "a", "1", "b", "2", "c", "3"], ":3\r\n"),
            (&["HRANDFIELD", "nokey"], "$-1\r\n"),
            (&["HRANDFIELD", "nokey", "5"], "*0\r\n"),
            (&["HRANDFIELD", "h", "0"], "*0\r\n"),
            (&["HRANDFIELD", "h", "1", "foo"], SYNTAX),
            (&["HRANDFIELD", "h", "x"], NOT_INT),
            (
                &["HRANDFIELD", "h", "-9223372036854775808"],
                "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
            ),
            (
                &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
                "-ERR value is out of range\r\n",
            ),
            (
                &["HRANDFIELD", "h", "-9223372036854775807", "withvalues"],
                "-ERR value is out of range\r\n",
            ),
        ],
    );
    let one = c.cmd(&["HRANDFIELD", "h"]);
    assert!(["a", "b", "c"].iter().any(|f| one == bulk(f)), "{one}");
    // A positive count gives distinct fields, all of them when it exceeds the size.
    let all = c.cmd(&["HRANDFIELD", "h", "10"]);
    assert!(all.starts_with("*3\r\n"), "{all}");
    for f in ["a", "b", "c"] {
        assert!(all.contains(&bulk(f)), "{all}");
    }
    let two = c.cmd(&["HRANDFIELD", "h", "2"]);
    assert!(two.starts_with("*2\r\n"), "{two}");
    // A negative count may repeat fields and returns exactly that many.
    let many = c.cmd(&["HRANDFIELD", "h", "-7"]);
    assert!(many.starts_with("*7\r\n"), "{many}");
    // WITHVALUES: flat pairs in RESP2, two-element arrays in RESP3.
    let wv = c.cmd(&["HRANDFIELD", "h", "-2", "WITHVALUES"]);
    assert!(wv.starts_with("*4\r\n"), "{wv}");
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    let wv3 = c.cmd(&["HRANDFIELD", "h", "3", "WITHVALUES"]);
    assert!(wv3.starts_with("*3\r\n*2\r\n"), "{wv3}");
    assert!(wv3.contains("$1\r\nb\r\n$1\r\n2\r\n"), "{wv3}");
}

#[test]
fn hgetall_is_a_map_in_resp3() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    check(
        &mut c,
        &[
            (&["HSET", "h", "a", "1", "b", "2"], ":2\r\n"),
            (
                &["HGETALL", "h"],
                "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
            (&["HGETALL", "nokey"], "%0\r\n"),
            (&["HKEYS", "h"], &array(&["a", "b"])),
            (&["HGET", "h", "zz"], "_\r\n"),
        ],
    );
}

#[test]
fn hash_encoding_turns_hashtable_past_listpack_limits_and_stays() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let long = "x".repeat(65);
    check(
        &mut c,
        &[
            (&["HSET", "h", "a", "1"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "h"], "$8\r\nlistpack\r\n"),
            (&["HSET", "h", "b", &long], ":1\r\n"),
            (&["OBJECT", "ENCODING", "h"], "$9\r\nhashtable\r\n"),
            (&["HDEL", "h", "b"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "h"], "$9\r\nhashtable\r\n"),
            (&["HSET", "g", &long, "1"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "g"], "$9\r\nhashtable\r\n"),
        ],
    );
    for i in 0..512 {
        c.cmd(&["HSET", "big", &format!("f{i}"), "v"]);
    }
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "big"]), "$8\r\nlistpack\r\n");
    c.cmd(&["HSET", "big", "one-more", "v"]);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "big"]), "$9\r\nhashtable\r\n");
}

/// Runs a whole HSCAN and returns every field seen (with repeats) and the number of calls.
fn hscan_all(c: &mut Raw, key: &str, count: &str) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        calls += 1;
        let reply = c.cmd(&["HSCAN", key, &cursor, "COUNT", count]);
        let lines: Vec<&str> = reply.split("\r\n").collect();
        // *2, $n, cursor, *m, then $len/value lines.
        cursor = lines[2].to_string();
        let items: Vec<&str> = lines[4..].iter().skip(1).step_by(2).copied().collect();
        for pair in items.chunks(2) {
            seen.push(pair[0].to_string());
        }
        if cursor == "0" || calls > 10_000 {
            return (seen, calls);
        }
    }
}

#[test]
fn hscan_returns_every_field_of_a_large_hash() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    for i in 0..600 {
        c.cmd(&["HSET", "h", &format!("f{i:03}"), &i.to_string()]);
    }
    let (seen, calls) = hscan_all(&mut c, "h", "7");
    assert!(calls > 10, "a hashtable hash is scanned in steps: {calls}");
    let mut uniq = seen.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 600);
    // Fields present for the whole scan are returned even when others change meanwhile.
    let mut cursor = "0".to_string();
    let mut got = std::collections::BTreeSet::new();
    let mut step = 0;
    loop {
        let reply = c.cmd(&["HSCAN", "h", &cursor, "COUNT", "20"]);
        let lines: Vec<&str> = reply.split("\r\n").collect();
        cursor = lines[2].to_string();
        for f in lines[4..].iter().skip(1).step_by(4) {
            got.insert(f.to_string());
        }
        step += 1;
        c.cmd(&["HDEL", "h", &format!("f{:03}", 599 - step)]);
        c.cmd(&["HSET", "h", &format!("new{step}"), "v"]);
        if cursor == "0" {
            break;
        }
    }
    for i in 0..(599 - step) {
        assert!(got.contains(&format!("f{i:03}")), "f{i:03} missing");
    }
}

#[test]
fn hscan_of_a_small_hash_returns_everything_at_once() {
    check_new(&[
        (&["HSET", "h", "a", "1", "b", "2", "c", "3"], ":3\r\n"),
        (
            &["HSCAN", "h", "0", "COUNT", "1"],
            "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
        ),
        (
            &["HSCAN", "h", "0", "MATCH", "b*"],
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
        ),
        (&["HSCAN", "nokey", "0", "COUNT", "0"], "*2\r\n$1\r\n0\r\n*0\r\n"),
        (&["HSCAN", "h", "0", "COUNT", "0"], SYNTAX),
        (&["HSCAN", "h", "0", "NOVALUES"], SYNTAX),
        (&["HSCAN", "h", "0", "MATCH"], SYNTAX),
        (&["HSCAN", "h", "x"], "-ERR invalid cursor\r\n"),
    ]);
}

#[test]
fn expire_on_a_hash_works_and_an_expired_hash_is_gone() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["HSET", "h", "a", "1"], ":1\r\n"),
            (&["PEXPIRE", "h", "300"], ":1\r\n"),
            (&["HSET", "h", "b", "2"], ":1\r\n"),
            (&["PERSIST", "nokey"], ":0\r\n"),
        ],
    );
    let ttl = c.cmd(&["PTTL", "h"]);
    assert!(ttl.starts_with(':') && ttl != ":-1\r\n", "{ttl}");
    std::thread::sleep(Duration::from_millis(450));
    check(
        &mut c,
        &[
            (&["EXISTS", "h"], ":0\r\n"),
            (&["HGET", "h", "a"], "$-1\r\n"),
            (&["HLEN", "h"], ":0\r\n"),
            (&["HSET", "h", "c", "3"], ":1\r\n"),
            (&["HGETALL", "h"], &array(&["c", "3"])),
            (&["TTL", "h"], ":-1\r\n"),
        ],
    );
}

#[test]
fn rename_copy_and_move_carry_a_hash() {
    check_new(&[
        (&["HSET", "h", "a", "1", "b", "2"], ":2\r\n"),
        (&["EXPIRE", "h", "1000"], ":1\r\n"),
        (&["RENAME", "h", "h2"], "+OK\r\n"),
        (&["EXISTS", "h"], ":0\r\n"),
        (&["HGETALL", "h2"], &array(&["a", "1", "b", "2"])),
        (&["TTL", "h2"], ":1000\r\n"),
        (&["COPY", "h2", "h3"], ":1\r\n"),
        (&["HSET", "h3", "c", "3"], ":1\r\n"),
        (&["HLEN", "h2"], ":2\r\n"),
        (&["HLEN", "h3"], ":3\r\n"),
        (&["SET", "str", "v"], "+OK\r\n"),
        (&["COPY", "h3", "str"], ":0\r\n"),
        (&["COPY", "h3", "str", "REPLACE"], ":1\r\n"),
        (&["HGET", "str", "c"], "$1\r\n3\r\n"),
        (&["MOVE", "h3", "1"], ":1\r\n"),
        (&["EXISTS", "h3"], ":0\r\n"),
        (&["SELECT", "1"], "+OK\r\n"),
        (&["HGETALL", "h3"], &array(&["a", "1", "b", "2", "c", "3"])),
        (&["COPY", "h3", "h2", "DB", "0"], ":0\r\n"),
        (&["COPY", "h3", "h4", "DB", "0"], ":1\r\n"),
        (&["SELECT", "0"], "+OK\r\n"),
        (&["HLEN", "h4"], ":3\r\n"),
        (&["RENAME", "h4", "h2"], "+OK\r\n"),
        (&["HLEN", "h2"], ":3\r\n"),
        (&["OBJECT", "ENCODING", "h2"], "$8\r\nlistpack\r\n"),
    ]);
}

#[test]
fn hashes_survive_sigkill_with_appendfsync_always() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut c = s.raw();
    for i in 0..600 {
        c.cmd(&["HSET", "big", &format!("f{i}"), &i.to_string()]);
    }
    check(
        &mut c,
        &[
            (&["HSET", "h", "a", "1", "b", "2"], ":2\r\n"),
            (&["HDEL", "h", "a"], ":1\r\n"),
            (&["HINCRBY", "h", "n", "5"], ":5\r\n"),
            (&["HSET", "gone", "x", "1"], ":1\r\n"),
            (&["HDEL", "gone", "x"], ":1\r\n"),
        ],
    );
    s.kill9();
    s.restart();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["HGETALL", "h"], &array(&["b", "2", "n", "5"])),
            (&["HLEN", "big"], ":600\r\n"),
            (&["HGET", "big", "f599"], "$3\r\n599\r\n"),
            (&["EXISTS", "gone"], ":0\r\n"),
            (&["OBJECT", "ENCODING", "big"], "$9\r\nhashtable\r\n"),
        ],
    );
}

#[test]
fn a_hash_recreated_after_del_or_set_holds_only_its_new_fields() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    for i in 0..300 {
        c.cmd(&["HSET", "h", &format!("f{i:03}"), "v"]);
    }
    check(
        &mut c,
        &[
            (&["DEL", "h"], ":1\r\n"),
            (&["HSET", "h", "f001", "new"], ":1\r\n"),
            (&["HGETALL", "h"], &array(&["f001", "new"])),
            (&["HGET", "h", "f002"], "$-1\r\n"),
            (&["SET", "h", "str"], "+OK\r\n"),
            (&["HSET", "h", "x", "1"], WRONGTYPE),
            (&["DEL", "h"], ":1\r\n"),
            (&["HINCRBY", "h", "f001", "2"], ":2\r\n"),
            (&["HLEN", "h"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "h"], "$8\r\nlistpack\r\n"),
        ],
    );
}

#[test]
fn redis_crate_and_redis_cli_read_hashes() {
    use std::collections::HashMap;
    let s = Server::start(&[]);
    let mut c = s.client();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg(&[("a", "1"), ("b", "2")])
        .query(&mut c)
        .expect("hset");
    let all: HashMap<String, String> = redis::cmd("HGETALL")
        .arg("h")
        .query(&mut c)
        .expect("hgetall");
    assert_eq!(all.get("a").map(String::as_str), Some("1"));
    assert_eq!(all.len(), 2);
    let n: i64 = redis::cmd("HINCRBY")
        .arg("h")
        .arg("a")
        .arg(41)
        .query(&mut c)
        .expect("hincrby");
    assert_eq!(n, 42);
    // HSCAN through the crate's iterator visits every field.
    for i in 0..200 {
        let _: () = redis::cmd("HSET")
            .arg("big")
            .arg(format!("f{i}"))
            .arg(i)
            .query(&mut c)
            .expect("hset");
    }
    let fields: redis::RedisResult<Vec<(String, String)>> = redis::cmd("HSCAN")
        .arg("big")
        .cursor_arg(0)
        .arg("COUNT")
        .arg(13)
        .clone()
        .iter(&mut c)
        .expect("hscan")
        .collect();
    let fields = fields.expect("hscan items");
    let uniq: std::collections::BTreeSet<_> = fields.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(uniq.len(), 200);
    assert_eq!(s.cli(&["HGET", "h", "b"]).trim(), "2");
    assert_eq!(s.cli(&["HLEN", "big"]).trim(), "200");
}

/// With a tiny cache the memtable evicts members of a hash created by this process; a field
/// missing from memory must then be looked up on disk again, never taken as absent.
#[test]
fn fields_evicted_from_a_small_cache_are_still_found() {
    let s = Server::start(&["--cache-size", "1mb"]);
    let mut c = s.client();
    let n = 20_000;
    let mut p = redis::pipe();
    for i in 0..n {
        p.cmd("HSET")
            .arg("h")
            .arg(format!("f{i}"))
            .arg(format!("v{i}"));
        p.cmd("SADD").arg("s").arg(format!("m{i}"));
    }
    let added: Vec<i64> = p.query(&mut c).expect("fill");
    assert!(added.iter().all(|&a| a == 1));
    let mut p = redis::pipe();
    for i in 0..n {
        p.cmd("HSET")
            .arg("h")
            .arg(format!("f{i}"))
            .arg(format!("w{i}"));
        p.cmd("SADD").arg("s").arg(format!("m{i}"));
    }
    let again: Vec<i64> = p.query(&mut c).expect("overwrite");
    assert!(
        again.iter().all(|&a| a == 0),
        "existing members reported new"
    );
    let len: (i64, i64) = redis::pipe()
        .cmd("HLEN")
        .arg("h")
        .cmd("SCARD")
        .arg("s")
        .query(&mut c)
        .expect("len");
    assert_eq!(len, (n, n));
    let v: String = redis::cmd("HGET")
        .arg("h")
        .arg("f7")
        .query(&mut c)
        .expect("hget");
    assert_eq!(v, "w7");
}

// Reply order: a listpack hash answers in insertion order (see src/types/hash.rs).

/// Runs `cases` on berth and on a real redis-server 7, asserting the exact replies on both.
fn check_both(cases: &[common::Case]) {
    let (s, redis) = (Server::start(&[]), RealRedis::start());
    let (mut b, mut r) = (s.raw(), Raw::connect(redis.port));
    for (args, want) in cases {
        assert_eq!(r.cmd(args), *want, "redis-server's reply to {args:?}");
        assert_eq!(b.cmd(args), *want, "berth's reply to {args:?}");
    }
}

#[test]
fn hgetall_keeps_insertion_order_through_overwrite_delete_and_readd() {
    let all = array(&["b", "10", "c", "3", "a", "5"]);
    check_both(&[
        (&["HSET", "h", "b", "1", "a", "2", "c", "3"], ":3\r\n"),
        // Overwritten fields keep their place; a deleted one comes back at the end.
        (&["HSET", "h", "b", "9"], ":0\r\n"),
        (&["HDEL", "h", "a"], ":1\r\n"),
        (&["HSET", "h", "a", "5"], ":1\r\n"),
        (&["HINCRBY", "h", "b", "1"], ":10\r\n"),
        (&["HGETALL", "h"], &all),
        (&["HKEYS", "h"], &array(&["b", "c", "a"])),
        (&["HVALS", "h"], &array(&["10", "3", "5"])),
        (&["HSETNX", "h", "c", "x"], ":0\r\n"),
        (&["HINCRBYFLOAT", "h", "c", "0.5"], &bulk("3.5")),
        (&["HMSET", "h", "0", "z", "b", "y"], "+OK\r\n"),
        (&["HKEYS", "h"], &array(&["b", "c", "a", "0"])),
        (&["HMGET", "h", "b", "c", "0"], &array(&["y", "3.5", "z"])),
        (&["HSTRLEN", "h", "c"], ":3\r\n"),
    ]);
}

#[test]
fn hscan_and_whole_hrandfield_follow_insertion_order() {
    check_both(&[
        (&["HSET", "h", "z", "1", "m", "2", "a", "3"], ":3\r\n"),
        (
            &["HSCAN", "h", "0"],
            &format!(
                "*2\r\n{}{}",
                bulk("0"),
                array(&["z", "1", "m", "2", "a", "3"])
            ),
        ),
        (
            &["HSCAN", "h", "0", "MATCH", "[az]"],
            &format!("*2\r\n{}{}", bulk("0"), array(&["z", "1", "a", "3"])),
        ),
        (&["HRANDFIELD", "h", "3"], &array(&["z", "m", "a"])),
        (
            &["HRANDFIELD", "h", "10", "WITHVALUES"],
            &array(&["z", "1", "m", "2", "a", "3"]),
        ),
    ]);
}

#[test]
fn copy_rename_and_restore_keep_a_hash_in_insertion_order() {
    let order = array(&["q", "1", "b", "2", "x", "3"]);
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["HSET", "h", "q", "1", "b", "2", "x", "3"]);
    check(
        &mut c,
        &[
            (&["COPY", "h", "h2"], ":1\r\n"),
            (&["HGETALL", "h2"], &order),
            (&["RENAME", "h2", "h3"], "+OK\r\n"),
            (&["HGETALL", "h3"], &order),
            (&["MOVE", "h3", "1"], ":1\r\n"),
            (&["SELECT", "1"], "+OK\r\n"),
            (&["HGETALL", "h3"], &order),
            // Fields added after the copy go to its end.
            (&["HSET", "h3", "a", "4"], ":1\r\n"),
            (&["HKEYS", "h3"], &array(&["q", "b", "x", "a"])),
        ],
    );
}

/// DUMP of `key`: the payload bytes (the reply is binary, so it is read raw).
fn dump(c: &mut Raw, key: &str) -> Vec<u8> {
    c.send_raw(&Raw::encode(&[b"DUMP", key.as_bytes()]));
    let reply = c.read_reply().expect("DUMP reply");
    let start = reply
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("bulk header")
        + 2;
    assert_eq!(reply[0], b'$', "DUMP {key}: {reply:?}");
    reply[start..reply.len() - 2].to_vec()
}

#[test]
fn dump_of_a_listpack_hash_is_byte_identical_to_redis() {
    let (s, redis) = (Server::start(&[]), RealRedis::start());
    let (mut b, mut r) = (s.raw(), Raw::connect(redis.port));
    let writes: &[&[&str]] = &[
        &[
            "HSET", "h", "zeta", "1", "alpha", "hello", "mid", "-12345", "b", "",
        ],
        &["HSET", "h", "zeta", "overwritten"],
        &["HDEL", "h", "alpha"],
        &[
            "HSET",
            "h",
            "alpha",
            "back at the end, longer than twenty bytes",
        ],
        &["HINCRBY", "h", "mid", "5"],
    ];
    for w in writes {
        assert_eq!(b.cmd(w), r.cmd(w), "{w:?}");
    }
    assert_eq!(dump(&mut b, "h"), dump(&mut r, "h"));
    // Redis's payload restored into berth keeps Redis's order, and dumps back identical.
    let payload = dump(&mut r, "h");
    let reply = b.cmd_bytes(&[b"RESTORE", b"h2", b"0", &payload]);
    assert_eq!(reply, "+OK\r\n");
    assert_eq!(b.cmd(&["HGETALL", "h2"]), r.cmd(&["HGETALL", "h"]));
    assert_eq!(dump(&mut b, "h2"), dump(&mut r, "h"));
}

#[test]
fn hrandfield_picks_of_a_listpack_hash_follow_insertion_order() {
    // As Redis's listpack sampling (checked against 7.0.15): distinct picks keep the hash's
    // order. Fields are inserted in reverse byte order so both orders differ.
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut hset = vec!["HSET".to_string(), "h".into()];
    for i in (10..40).rev() {
        hset.extend([format!("f{i}"), format!("v{i}")]);
    }
    let args: Vec<&str> = hset.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&args), ":30\r\n");
    for _ in 0..10 {
        let reply = c.cmd(&["HRANDFIELD", "h", "5"]);
        let picks: Vec<i64> = reply
            .split("\r\n")
            .filter_map(|l| l.strip_prefix('f'))
            .map(|n| n.parse().expect("field number"))
            .collect();
        assert_eq!(picks.len(), 5, "{reply:?}");
        assert!(
            picks.windows(2).all(|w| w[0] > w[1]),
            "not in insertion order: {picks:?}"
        );
    }
}
