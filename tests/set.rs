//! Set commands, byte for byte as Redis 7.0 answers them (expectations checked against
//! redis-server 7.0.15). Intsets answer in ascending numeric order, as Redis's (the order tests
//! at the end run against a real redis-server too); hashtable sets have no defined order and
//! are compared as sets.

mod common;
use common::{array, bulk, check, check_new, Raw, RealRedis, Server, NOT_INT, SYNTAX, WRONGTYPE};

use std::collections::BTreeSet;

/// The bulk strings of a flat array reply, as a set.
fn elements(reply: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    lines[1..]
        .iter()
        .skip(1)
        .step_by(2)
        .map(|s| s.to_string())
        .collect()
}

fn count_of(reply: &str) -> usize {
    reply[1..reply.find('\r').unwrap_or(1)].parse().unwrap_or(0)
}

#[test]
fn sadd_srem_and_membership_reply_like_redis() {
    check_new(&[
        (&["SADD", "s", "a", "b", "a"], ":2\r\n"),
        (&["SADD", "s", "b", "c"], ":1\r\n"),
        (&["SCARD", "s"], ":3\r\n"),
        (&["SCARD", "nokey"], ":0\r\n"),
        (&["SISMEMBER", "s", "a"], ":1\r\n"),
        (&["SISMEMBER", "s", "z"], ":0\r\n"),
        (&["SISMEMBER", "nokey", "a"], ":0\r\n"),
        (
            &["SMISMEMBER", "s", "a", "z", "c"],
            "*3\r\n:1\r\n:0\r\n:1\r\n",
        ),
        (&["SMISMEMBER", "nokey", "a", "b"], "*2\r\n:0\r\n:0\r\n"),
        (&["SMEMBERS", "s"], &array(&["a", "b", "c"])),
        (&["SMEMBERS", "nokey"], "*0\r\n"),
        (&["SREM", "s", "a", "z", "a"], ":1\r\n"),
        (&["SREM", "nokey", "a"], ":0\r\n"),
        (&["SREM", "s", "b", "c"], ":2\r\n"),
        (&["EXISTS", "s"], ":0\r\n"),
        (&["TYPE", "s"], "+none\r\n"),
    ]);
}

#[test]
fn set_commands_on_a_string_return_wrongtype() {
    check_new(&[
        (&["SET", "str", "v"], "+OK\r\n"),
        (&["SADD", "s", "a"], ":1\r\n"),
        (&["SADD", "str", "a"], WRONGTYPE),
        (&["SREM", "str", "a"], WRONGTYPE),
        (&["SCARD", "str"], WRONGTYPE),
        (&["SMEMBERS", "str"], WRONGTYPE),
        (&["SPOP", "str"], WRONGTYPE),
        (&["SRANDMEMBER", "str", "2"], WRONGTYPE),
        (&["SINTER", "nokey", "str"], WRONGTYPE),
        (&["SUNION", "s", "str"], WRONGTYPE),
        (&["SDIFF", "nokey", "str"], WRONGTYPE),
        (&["SINTERSTORE", "d", "s", "str"], WRONGTYPE),
        (&["SINTERCARD", "2", "s", "str"], WRONGTYPE),
        (&["SMOVE", "str", "s", "a"], WRONGTYPE),
        (&["SMOVE", "s", "str", "a"], WRONGTYPE),
        (&["SMOVE", "nokey", "str", "a"], ":0\r\n"),
        (&["SSCAN", "str", "0", "COUNT", "0"], WRONGTYPE),
        (&["GET", "s"], WRONGTYPE),
        (&["HGET", "s", "a"], WRONGTYPE),
        (&["SADD", "h", "a"], ":1\r\n"),
    ]);
}

#[test]
fn spop_and_srandmember_counts_follow_redis_rules() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SADD", "s", "1", "2", "3", "a"], ":4\r\n"),
            (&["SPOP", "nokey"], "$-1\r\n"),
            (&["SPOP", "nokey", "2"], "*0\r\n"),
            (&["SPOP", "s", "0"], "*0\r\n"),
            (
                &["SPOP", "s", "-1"],
                "-ERR value is out of range, must be positive\r\n",
            ),
            (
                &["SPOP", "s", "x"],
                "-ERR value is out of range, must be positive\r\n",
            ),
            (&["SPOP", "s", "1", "2"], SYNTAX),
            (&["SRANDMEMBER", "s", "1", "2"], SYNTAX),
            (&["SRANDMEMBER", "s", "x"], NOT_INT),
            (&["SRANDMEMBER", "nokey"], "$-1\r\n"),
            (&["SRANDMEMBER", "nokey", "3"], "*0\r\n"),
            (&["SRANDMEMBER", "s", "0"], "*0\r\n"),
            (
                &["SRANDMEMBER", "s", "-9223372036854775808"],
                "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
            ),
        ],
    );
    let all = c.cmd(&["SRANDMEMBER", "s", "10"]);
    assert_eq!(count_of(&all), 4, "{all}");
    assert_eq!(elements(&all).len(), 4, "{all}");
    let rep = c.cmd(&["SRANDMEMBER", "s", "-9"]);
    assert_eq!(count_of(&rep), 9, "{rep}");
    let two = c.cmd(&["SRANDMEMBER", "s", "2"]);
    assert_eq!(elements(&two).len(), 2, "{two}");
    let one = c.cmd(&["SPOP", "s"]);
    assert_eq!(c.cmd(&["SCARD", "s"]), ":3\r\n");
    let popped = one.split("\r\n").nth(1).unwrap_or_default().to_string();
    assert_eq!(c.cmd(&["SISMEMBER", "s", &popped]), ":0\r\n");
    let two = c.cmd(&["SPOP", "s", "2"]);
    assert_eq!(elements(&two).len(), 2, "{two}");
    assert_eq!(c.cmd(&["SCARD", "s"]), ":1\r\n");
    let rest = c.cmd(&["SPOP", "s", "5"]);
    assert_eq!(elements(&rest).len(), 1, "{rest}");
    assert_eq!(c.cmd(&["EXISTS", "s"]), ":0\r\n");
    // RESP3: SPOP with a count is a set, SRANDMEMBER with a count an array.
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    check(
        &mut c,
        &[
            (&["SADD", "t", "x"], ":1\r\n"),
            (&["SRANDMEMBER", "t", "1"], "*1\r\n$1\r\nx\r\n"),
            (&["SPOP", "nokey", "1"], "~0\r\n"),
            (&["SPOP", "nokey"], "_\r\n"),
            (&["SPOP", "t", "1"], "~1\r\n$1\r\nx\r\n"),
        ],
    );
}

#[test]
fn smove_moves_one_member_and_deletes_an_emptied_source() {
    check_new(&[
        (&["SADD", "a", "x", "y"], ":2\r\n"),
        (&["SMOVE", "a", "b", "x"], ":1\r\n"),
        (&["SMOVE", "a", "b", "zz"], ":0\r\n"),
        (&["SMOVE", "nokey", "b", "x"], ":0\r\n"),
        (&["SMOVE", "a", "a", "y"], ":1\r\n"),
        (&["SMOVE", "a", "a", "zz"], ":0\r\n"),
        (&["SADD", "b", "y"], ":1\r\n"),
        (&["SMOVE", "a", "b", "y"], ":1\r\n"),
        (&["EXISTS", "a"], ":0\r\n"),
        (&["SMEMBERS", "b"], &array(&["x", "y"])),
    ]);
}

#[test]
fn set_algebra_replies_like_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SADD", "a", "p", "q", "r", "s"], ":4\r\n"),
            (&["SADD", "b", "q", "r", "t"], ":3\r\n"),
            (&["SADD", "c", "r", "s", "t"], ":3\r\n"),
            (&["SINTER", "a", "b"], &array(&["q", "r"])),
            (&["SINTER", "a", "b", "c"], &array(&["r"])),
            (&["SINTER", "a", "nokey"], "*0\r\n"),
            (&["SINTER", "a"], &array(&["p", "q", "r", "s"])),
            (&["SDIFF", "a", "b"], &array(&["p", "s"])),
            (&["SDIFF", "a", "b", "c"], &array(&["p"])),
            (&["SDIFF", "nokey", "a"], "*0\r\n"),
            (&["SDIFF", "a", "nokey"], &array(&["p", "q", "r", "s"])),
            (&["SINTERCARD", "2", "a", "b"], ":2\r\n"),
            (&["SINTERCARD", "2", "a", "b", "LIMIT", "1"], ":1\r\n"),
            (&["SINTERCARD", "2", "a", "b", "limit", "0"], ":2\r\n"),
            (&["SINTERCARD", "2", "a", "nokey"], ":0\r\n"),
            (
                &["SINTERCARD", "0", "a"],
                "-ERR numkeys should be greater than 0\r\n",
            ),
            (
                &["SINTERCARD", "x", "a"],
                "-ERR numkeys should be greater than 0\r\n",
            ),
            (
                &["SINTERCARD", "3", "a", "b"],
                "-ERR Number of keys can't be greater than number of args\r\n",
            ),
            (
                &["SINTERCARD", "1", "a", "LIMIT", "-1"],
                "-ERR LIMIT can't be negative\r\n",
            ),
            (
                &["SINTERCARD", "1", "a", "LIMIT", "x"],
                "-ERR LIMIT can't be negative\r\n",
            ),
            (&["SINTERCARD", "1", "a", "LIMIT"], SYNTAX),
            (&["SET", "dst", "v"], "+OK\r\n"),
            (&["EXPIRE", "dst", "100"], ":1\r\n"),
            (&["SINTERSTORE", "dst", "a", "b"], ":2\r\n"),
            (&["TTL", "dst"], ":-1\r\n"),
            (&["SMEMBERS", "dst"], &array(&["q", "r"])),
            (&["SINTERSTORE", "dst", "a", "nokey"], ":0\r\n"),
            (&["EXISTS", "dst"], ":0\r\n"),
            (&["SDIFFSTORE", "a", "a", "b"], ":2\r\n"),
            (&["SMEMBERS", "a"], &array(&["p", "s"])),
            (&["SDIFFSTORE", "a", "a", "a"], ":0\r\n"),
            (&["EXISTS", "a"], ":0\r\n"),
            (&["SADD", "n", "3", "1", "2"], ":3\r\n"),
            (&["SUNIONSTORE", "u", "n", "nokey"], ":3\r\n"),
            (&["OBJECT", "ENCODING", "u"], "$6\r\nintset\r\n"),
            (&["SUNIONSTORE", "u", "b", "c"], ":4\r\n"),
            (&["OBJECT", "ENCODING", "u"], "$9\r\nhashtable\r\n"),
        ],
    );
    let u = c.cmd(&["SUNION", "b", "c", "nokey"]);
    assert_eq!(
        elements(&u),
        ["q", "r", "s", "t"].iter().map(|s| s.to_string()).collect()
    );
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    check(
        &mut c,
        &[
            (&["SMEMBERS", "nokey"], "~0\r\n"),
            (&["SINTER", "b", "nokey"], "~0\r\n"),
            (&["SDIFF", "b", "c"], "~1\r\n$1\r\nq\r\n"),
        ],
    );
}

#[test]
fn set_encoding_is_intset_until_a_non_integer_or_513_members() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SADD", "i", "1", "-5", "9223372036854775807"], ":3\r\n"),
            (&["OBJECT", "ENCODING", "i"], "$6\r\nintset\r\n"),
            (&["SADD", "i", "x"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "i"], "$9\r\nhashtable\r\n"),
            (&["SREM", "i", "x"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "i"], "$9\r\nhashtable\r\n"),
            (&["SADD", "z", "007"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "z"], "$9\r\nhashtable\r\n"),
        ],
    );
    for i in 0..512 {
        c.cmd(&["SADD", "big", &i.to_string()]);
    }
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "big"]), "$6\r\nintset\r\n");
    c.cmd(&["SADD", "big", "512"]);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "big"]), "$9\r\nhashtable\r\n");
}

/// Runs a whole SSCAN; returns every element seen (with repeats) and the number of calls.
fn sscan_all(c: &mut Raw, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        calls += 1;
        let mut args = vec!["SSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let reply = c.cmd(&args);
        let lines: Vec<&str> = reply.split("\r\n").collect();
        let next = lines[2].to_string();
        seen.extend(lines[4..].iter().skip(1).step_by(2).map(|s| s.to_string()));
        cursor = next;
        if cursor == "0" || calls > 10_000 {
            return (seen, calls);
        }
    }
}

#[test]
fn sscan_visits_every_member_once_per_step_and_matches() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    for i in 0..250 {
        c.cmd(&["SADD", "s", &format!("m{i}")]);
    }
    let (seen, calls) = sscan_all(&mut c, "s", &["COUNT", "9"]);
    assert!(calls > 10, "{calls}");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 250);
    let (matched, _) = sscan_all(&mut c, "s", &["MATCH", "m1?", "COUNT", "50"]);
    let want: BTreeSet<String> = (10..20).map(|i| format!("m{i}")).collect();
    assert_eq!(matched.into_iter().collect::<BTreeSet<_>>(), want);
    // A cursor the server does not know (made up, or from before a restart) starts over.
    let reply = c.cmd(&["SSCAN", "s", "123456789", "COUNT", "5"]);
    assert!(reply.contains("$2\r\nm0\r\n"), "{reply}");
    check(
        &mut c,
        &[
            (&["SADD", "small", "2", "1"], ":2\r\n"),
            (
                &["SSCAN", "small", "0", "COUNT", "1"],
                "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
            ),
            (&["SSCAN", "nokey", "0"], "*2\r\n$1\r\n0\r\n*0\r\n"),
            (&["SSCAN", "small", "0", "TYPE", "set"], SYNTAX),
        ],
    );
}

#[test]
fn rename_and_move_carry_a_set_and_its_encoding() {
    check_new(&[
        (&["SADD", "s", "1", "2"], ":2\r\n"),
        (&["RENAME", "s", "t"], "+OK\r\n"),
        (&["SMEMBERS", "t"], &array(&["1", "2"])),
        (&["OBJECT", "ENCODING", "t"], "$6\r\nintset\r\n"),
        (&["SADD", "t", "x"], ":1\r\n"),
        (&["RENAMENX", "t", "u"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "u"], "$9\r\nhashtable\r\n"),
        (&["MOVE", "u", "2"], ":1\r\n"),
        (&["SELECT", "2"], "+OK\r\n"),
        (&["SCARD", "u"], ":3\r\n"),
        (&["COPY", "u", "v"], ":1\r\n"),
        (&["SREM", "u", "1", "2", "x"], ":3\r\n"),
        (&["SCARD", "v"], ":3\r\n"),
    ]);
}

#[test]
fn sets_survive_sigkill_with_appendfsync_always() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut c = s.raw();
    for i in 0..600 {
        c.cmd(&["SADD", "big", &i.to_string()]);
    }
    check(
        &mut c,
        &[
            (&["SADD", "s", "a", "b", "c"], ":3\r\n"),
            (&["SREM", "s", "b"], ":1\r\n"),
            (&["SADD", "o", "x"], ":1\r\n"),
            (&["SINTERSTORE", "o", "s", "s"], ":2\r\n"),
        ],
    );
    s.kill9();
    s.restart();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SMEMBERS", "s"], &array(&["a", "c"])),
            (&["SMEMBERS", "o"], &array(&["a", "c"])),
            (&["SCARD", "big"], ":600\r\n"),
            (&["SISMEMBER", "big", "599"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "big"], "$9\r\nhashtable\r\n"),
        ],
    );
}

#[test]
fn random_picks_cover_small_and_large_sets() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SADD", "small", "a", "b", "c"]);
    let mut hits = std::collections::BTreeMap::new();
    for _ in 0..300 {
        *hits.entry(c.cmd(&["SRANDMEMBER", "small"])).or_insert(0) += 1;
    }
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(hits.values().all(|n| *n > 50), "not uniform: {hits:?}");
    // A set past the full-read threshold is sampled by seeks: picks stay distinct and valid.
    let members: Vec<String> = (0..3000).map(|i| format!("m{i:05}")).collect();
    for chunk in members.chunks(500) {
        let mut args = vec!["SADD", "big"];
        args.extend(chunk.iter().map(String::as_str));
        c.cmd(&args);
    }
    let picks = c.cmd(&["SRANDMEMBER", "big", "50"]);
    assert_eq!(count_of(&picks), 50, "{picks}");
    assert_eq!(elements(&picks).len(), 50, "{picks}");
    let rep = c.cmd(&["SRANDMEMBER", "big", "-20"]);
    assert_eq!(count_of(&rep), 20, "{rep}");
    let popped = c.cmd(&["SPOP", "big", "100"]);
    let popped = elements(&popped);
    assert_eq!(popped.len(), 100);
    assert_eq!(c.cmd(&["SCARD", "big"]), ":2900\r\n");
    for m in popped.iter().take(10) {
        assert_eq!(c.cmd(&["SISMEMBER", "big", m]), ":0\r\n");
    }
    let one = c.cmd(&["SPOP", "big"]);
    assert!(one.starts_with("$6\r\nm"), "{one}");
    assert_eq!(c.cmd(&["SCARD", "big"]), ":2899\r\n");
}

// Reply order: an intset (and any whole-set result Redis builds as one) is numeric ascending.

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
fn smembers_of_an_intset_is_in_numeric_order() {
    let sorted = array(&["-100", "-5", "0", "2", "10", "123456789012"]);
    check_both(&[
        (
            &["SADD", "s", "10", "-5", "2", "123456789012", "0", "-100"],
            ":6\r\n",
        ),
        (&["OBJECT", "ENCODING", "s"], &bulk("intset")),
        (&["SMEMBERS", "s"], &sorted),
        (
            &["SSCAN", "s", "0"],
            &format!("*2\r\n{}{sorted}", bulk("0")),
        ),
        (&["SRANDMEMBER", "s", "6"], &sorted),
        (&["SORT", "s", "BY", "nosort"], &sorted),
        (&["SPOP", "s", "100"], &sorted),
    ]);
}

#[test]
fn set_algebra_of_intsets_replies_in_numeric_order() {
    check_both(&[
        (&["SADD", "a", "10", "-5", "2", "100", "0"], ":5\r\n"),
        (&["SADD", "b", "2", "10", "7"], ":3\r\n"),
        (&["SINTER", "b", "a"], &array(&["2", "10"])),
        (
            &["SUNION", "b", "a"],
            &array(&["-5", "0", "2", "7", "10", "100"]),
        ),
        (&["SDIFF", "a", "b"], &array(&["-5", "0", "100"])),
        (&["SUNIONSTORE", "u", "a", "b"], ":6\r\n"),
        (
            &["SMEMBERS", "u"],
            &array(&["-5", "0", "2", "7", "10", "100"]),
        ),
    ]);
}

#[test]
fn sunion_and_sdiff_build_an_intset_even_from_a_hashtable_set() {
    // `h` is hashtable-encoded for good, but holds only integers once "a" is gone: Redis's
    // SUNION/SDIFF (and SPOP of everything) build their result as an intset, so it is sorted.
    let sorted = array(&["-3", "4", "5", "9", "10", "20", "30", "40", "50"]);
    check_both(&[
        (
            &[
                "SADD", "h", "a", "50", "40", "30", "20", "10", "9", "5", "4", "-3",
            ],
            ":10\r\n",
        ),
        (&["SREM", "h", "a"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "h"], &bulk("hashtable")),
        (&["SUNION", "h"], &sorted),
        (&["SDIFF", "h", "missing"], &sorted),
        (&["SPOP", "h", "9"], &sorted),
    ]);
}

/// The bulk strings of a flat array reply, in order.
fn in_order(reply: &str) -> Vec<String> {
    reply
        .split("\r\n")
        .skip(2)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn spop_of_most_of_an_intset_answers_in_numeric_order() {
    // As Redis (checked against 7.0.15): with at most a fifth of the count left behind, the
    // popped elements come in the intset's order.
    let s = Server::start(&[]);
    let mut c = s.raw();
    for _ in 0..5 {
        c.cmd(&["DEL", "p"]);
        let add = [
            "SADD", "p", "50", "-3", "7", "1000", "2", "9", "11", "-40", "6", "8",
        ];
        assert_eq!(c.cmd(&add), ":10\r\n");
        let popped = in_order(&c.cmd(&["SPOP", "p", "9"]));
        assert_eq!(popped.len(), 9);
        let nums: Vec<i64> = popped.iter().map(|m| m.parse().expect("integer")).collect();
        assert!(
            nums.windows(2).all(|w| w[0] < w[1]),
            "not ascending: {nums:?}"
        );
    }
}

/// Sets, hashes and sorted sets past the full-read threshold pick members by a descent through
/// their sub-keys: repeated picks must spread over every member, not return a few again and
/// again (4000 picks of 2000 members: a uniform draw hits about 1730 of them, at most ~10 times).
#[test]
fn random_picks_from_large_collections_spread_over_every_member() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let members: Vec<String> = (0..2000).map(|i| format!("m{i:05}")).collect();
    for chunk in members.chunks(500) {
        let mut sadd = vec!["SADD", "s"];
        let mut hset = vec!["HSET", "h"];
        let mut zadd = vec!["ZADD", "z"];
        for m in chunk {
            sadd.push(m);
            hset.extend([m.as_str(), "v"]);
            zadd.extend(["1", m.as_str()]);
        }
        c.cmd(&sadd);
        c.cmd(&hset);
        c.cmd(&zadd);
    }
    for cmd in ["SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER"] {
        let key = &cmd[..1].to_lowercase();
        let reply = c.cmd(&[cmd, key, "-4000"]);
        assert_eq!(count_of(&reply), 4000, "{cmd}");
        let mut hits = std::collections::HashMap::new();
        for m in reply
            .split("\r\n")
            .skip(2)
            .step_by(2)
            .filter(|m| !m.is_empty())
        {
            *hits.entry(m.to_string()).or_insert(0) += 1;
        }
        let most = hits.values().max().copied().unwrap_or(0);
        assert!(hits.keys().all(|m| members.contains(m)), "{cmd}: {hits:?}");
        assert!(
            hits.len() > 1400,
            "{cmd}: only {} distinct picks",
            hits.len()
        );
        assert!(most < 30, "{cmd}: one member picked {most} times");
    }
}
