//! Transactions: MULTI/EXEC/DISCARD/WATCH/UNWATCH with exact replies (the single-connection
//! tables and the WATCH table are replayed against a real redis-server too), the counter case
//! under 50 concurrent clients, and a crash in the middle of a stream of large EXECs.

mod common;
use common::{bulk, check, reply, send, wait_blocked, Case, Raw, RealRedis, Server};

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

const EXECABORT: &str = "-EXECABORT Transaction discarded because of previous errors.\r\n";
const QUEUED: &str = "+QUEUED\r\n";

/// Runs `cases` on a fresh berth and on a real Redis 7: both must give these exact replies.
fn check_both(cases: &[Case]) {
    let s = Server::start(&[]);
    check(&mut s.raw(), cases);
    let r = RealRedis::start();
    check(&mut Raw::connect(r.port), cases);
}

#[test]
fn transaction_errors_have_redis_texts() {
    check_both(&[
        (&["EXEC"], "-ERR EXEC without MULTI\r\n"),
        (&["DISCARD"], "-ERR DISCARD without MULTI\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["MULTI"], "-ERR MULTI calls can not be nested\r\n"),
        (
            &["WATCH", "k"],
            "-ERR WATCH inside MULTI is not allowed\r\n",
        ),
        (&["SET", "k", "v"], QUEUED),
        (&["EXEC"], "*1\r\n+OK\r\n"),
        (
            &["DISCARD", "x"],
            "-ERR wrong number of arguments for 'discard' command\r\n",
        ),
        (
            &["WATCH"],
            "-ERR wrong number of arguments for 'watch' command\r\n",
        ),
        (&["UNWATCH"], "+OK\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["UNWATCH"], QUEUED),
        (&["DISCARD"], "+OK\r\n"),
        (&["DISCARD"], "-ERR DISCARD without MULTI\r\n"),
    ]);
}

#[test]
fn exec_replies_with_each_commands_reply_and_a_runtime_error_fails_only_its_command() {
    check_both(&[
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "s", "x"], QUEUED),
        (&["INCR", "s"], QUEUED),
        (&["RPUSH", "l", "a", "b"], QUEUED),
        (&["GET", "s"], QUEUED),
        (&["LRANGE", "l", "0", "-1"], QUEUED),
        (&["EXEC"],
            "*5\r\n+OK\r\n-ERR value is not an integer or out of range\r\n:2\r\n$1\r\nx\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["EXEC"], "*0\r\n"),
        // SELECT inside the transaction applies to the commands queued after it.
        (&["MULTI"], "+OK\r\n"),
        (&["SELECT", "1"], QUEUED),
        (&["SET", "s", "one"], QUEUED),
        (&["EXEC"], "*2\r\n+OK\r\n+OK\r\n"),
        (&["GET", "s"], "$3\r\none\r\n"),
    ]);
}

#[test]
fn queuing_errors_make_exec_abort_and_discard_the_transaction() {
    check_both(&[
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "a", "1"], QUEUED),
        (&["GET"], "-ERR wrong number of arguments for 'get' command\r\n"),
        (&["EXEC"], EXECABORT),
        (&["GET", "a"], "$-1\r\n"),
        (&["EXEC"], "-ERR EXEC without MULTI\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (
            &["NOSUCH", "x"],
            "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
        ),
        (&["EXEC"], EXECABORT),
        // no_multi commands are refused, and fail the transaction.
        (&["MULTI"], "+OK\r\n"),
        (&["SAVE"], "-ERR Command not allowed inside a transaction\r\n"),
        (&["SET", "a", "1"], QUEUED),
        (&["EXEC"], EXECABORT),
        (&["GET", "a"], "$-1\r\n"),
        // A refused EXEC discards the transaction and says why.
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "a", "1"], QUEUED),
        (
            &["EXEC", "x"],
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
        ),
        (&["EXEC"], "-ERR EXEC without MULTI\r\n"),
        (&["GET", "a"], "$-1\r\n"),
    ]);
}

#[test]
fn blocking_commands_inside_exec_answer_as_if_timed_out() {
    check_both(&[
        (&["MULTI"], "+OK\r\n"),
        (&["BLPOP", "l", "0"], QUEUED),
        (&["BRPOP", "l", "0"], QUEUED),
        (&["BLMOVE", "l", "m", "LEFT", "LEFT", "0"], QUEUED),
        (&["BRPOPLPUSH", "l", "m", "0"], QUEUED),
        (&["BLMPOP", "0", "1", "l", "LEFT"], QUEUED),
        (&["BZPOPMIN", "z", "0"], QUEUED),
        (&["BZPOPMAX", "z", "0"], QUEUED),
        (&["BZMPOP", "0", "1", "z", "MIN"], QUEUED),
        (&["BLPOP", "l", "-1"], QUEUED),
        (&["RPUSH", "l", "x"], QUEUED),
        (&["BLPOP", "l", "0"], QUEUED),
        (&["EXEC"],
            "*11\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n*-1\r\n*-1\r\n*-1\r\n-ERR timeout is negative\r\n:1\r\n*2\r\n$1\r\nl\r\n$1\r\nx\r\n"),
    ]);
}

#[test]
fn exec_in_resp3_uses_resp3_replies_and_null_for_a_broken_watch() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.resp3 = true;
    assert!(c.cmd(&["HELLO", "3"]).starts_with('%'));
    let cases: &[Case] = &[
        (&["MULTI"], "+OK\r\n"),
        (&["HSET", "h", "f", "v"], QUEUED),
        (&["HGETALL", "h"], QUEUED),
        (&["BLPOP", "l", "0"], QUEUED),
        (&["EXEC"], "*3\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n_\r\n"),
        (&["WATCH", "h"], "+OK\r\n"),
        (&["HSET", "h", "f", "w"], ":0\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["EXEC"], "_\r\n"),
    ];
    check(&mut c, cases);
    let r = RealRedis::start();
    let mut c = Raw::connect(r.port);
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    check(&mut c, cases);
}

/// What a watcher's EXEC gives after another client runs `breaker` (after `setup`).
fn watch_outcome(port: u16, setup: &[&[&str]], breaker: &[&[&str]]) -> &'static str {
    let mut a = Raw::connect(port);
    let mut b = Raw::connect(port);
    a.cmd(&["FLUSHALL"]);
    for c in setup {
        a.cmd(c);
    }
    assert_eq!(a.cmd(&["WATCH", "k"]), "+OK\r\n");
    for c in breaker {
        b.cmd(c);
    }
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    match a.cmd(&["EXEC"]).as_str() {
        "*-1\r\n" => "broken",
        "*1\r\n+PONG\r\n" => "kept",
        other => panic!("unexpected EXEC reply {other:?}"),
    }
}

type WatchCase<'a> = (&'a [&'a [&'a str]], &'a [&'a [&'a str]], &'a str);

/// WATCH is broken by every change to the key, and only by changes Redis counts as one.
#[rustfmt::skip]
const WATCH_CASES: &[WatchCase] = &[
    (&[&["SET", "k", "1"]], &[&["SET", "k", "2"]], "broken"),
    (&[&["SET", "k", "1"]], &[&["SET", "k", "1"]], "broken"),
    (&[&["SET", "k", "1"]], &[&["SET", "k", "2", "NX"]], "kept"),
    (&[], &[&["SET", "k", "2", "XX"]], "kept"),
    (&[&["SET", "k", "1"]], &[&["DEL", "k"]], "broken"),
    (&[], &[&["DEL", "k"]], "kept"),
    (&[&["SET", "k", "1"]], &[&["UNLINK", "k"]], "broken"),
    (&[&["SET", "k", "1"]], &[&["EXPIRE", "k", "100"]], "broken"),
    (&[&["SET", "k", "1"]], &[&["PERSIST", "k"]], "kept"),
    (&[&["SET", "k", "1"]], &[&["GET", "k"]], "kept"),
    (&[&["SET", "k", "1"]], &[&["INCRBY", "k", "0"]], "broken"),
    (&[&["SET", "k", "1"]], &[&["FLUSHDB"]], "broken"),
    (&[], &[&["FLUSHDB"]], "kept"),
    (&[&["SET", "k", "1"]], &[&["FLUSHALL"]], "broken"),
    (&[], &[&["FLUSHALL"]], "kept"),
    (&[&["SET", "k", "1"]], &[&["SWAPDB", "0", "1"]], "broken"),
    (&[], &[&["SELECT", "1"], &["SET", "k", "1"], &["SWAPDB", "0", "1"]], "broken"),
    (&[], &[&["SWAPDB", "0", "1"]], "kept"),
    (&[&["SET", "k", "1"]], &[&["SWAPDB", "2", "3"]], "kept"),
    (&[&["SET", "j", "1"]], &[&["RENAME", "j", "k"]], "broken"),
    (&[&["SET", "k", "1"]], &[&["RENAME", "k", "j"]], "broken"),
    (&[&["SET", "k", "1"]], &[&["MOVE", "k", "1"]], "broken"),
    (&[], &[&["SELECT", "1"], &["SET", "k", "1"]], "kept"),
    (&[&["SET", "j", "1"]], &[&["COPY", "j", "k"]], "broken"),
    (&[&["SET", "k", "1"]], &[&["DUMP", "k"]], "kept"),
    (&[&["HSET", "k", "f", "v"]], &[&["HSET", "k", "f", "w"]], "broken"),
    (&[&["HSET", "k", "f", "v"]], &[&["HSET", "k", "f", "v"]], "broken"),
    (&[&["HSET", "k", "f", "v"]], &[&["HSETNX", "k", "f", "w"]], "kept"),
    (&[&["HSET", "k", "f", "v"]], &[&["HDEL", "k", "x"]], "kept"),
    (&[&["HSET", "k", "f", "1"]], &[&["HINCRBY", "k", "f", "0"]], "broken"),
    (&[&["SADD", "k", "m"]], &[&["SADD", "k", "m"]], "kept"),
    (&[&["SADD", "k", "m"]], &[&["SREM", "k", "x"]], "kept"),
    (&[&["SADD", "k", "m"]], &[&["SPOP", "k"]], "broken"),
    (&[&["ZADD", "k", "1", "m"]], &[&["ZADD", "k", "1", "m"]], "kept"),
    (&[&["ZADD", "k", "1", "m"]], &[&["ZADD", "k", "2", "m"]], "broken"),
    (&[&["ZADD", "k", "1", "m"]], &[&["ZINCRBY", "k", "0", "m"]], "kept"),
    (&[&["LPUSH", "k", "a"]], &[&["LPUSH", "k", "b"]], "broken"),
    (&[&["LPUSH", "k", "a"]], &[&["LREM", "k", "0", "x"]], "kept"),
    (&[&["LPUSH", "k", "a"]], &[&["LSET", "k", "0", "a"]], "broken"),
    (&[&["RPUSH", "k", "a"]], &[&["LMOVE", "k", "k", "LEFT", "RIGHT"]], "broken"),
    (&[], &[&["LPOP", "k"]], "kept"),
    (&[&["SETBIT", "k", "1", "1"]], &[&["SETBIT", "k", "1", "1"]], "kept"),
    (&[&["LPUSH", "j", "1"]], &[&["SORT", "j", "STORE", "k"]], "broken"),
];

#[test]
fn watch_is_broken_by_the_changes_redis_counts() {
    let s = Server::start(&[]);
    let r = RealRedis::start();
    for (setup, breaker, want) in WATCH_CASES {
        let case = format!("setup {setup:?}, then {breaker:?}");
        assert_eq!(
            watch_outcome(r.port, setup, breaker),
            *want,
            "redis: {case}"
        );
        assert_eq!(
            watch_outcome(s.port, setup, breaker),
            *want,
            "berth: {case}"
        );
    }
}

#[test]
fn watch_is_broken_by_expiry_and_by_own_writes_and_forgotten_by_unwatch_and_discard() {
    let s = Server::start(&[]);
    let r = RealRedis::start();
    for port in [s.port, r.port] {
        let mut c = Raw::connect(port);
        // A watched key that expires breaks the watch, although nobody touched it.
        c.cmd(&["SET", "k", "1", "PX", "100"]);
        c.cmd(&["WATCH", "k"]);
        thread::sleep(Duration::from_millis(300));
        check(&mut c, &[(&["MULTI"], "+OK\r\n"), (&["EXEC"], "*-1\r\n")]);
        // A key already expired when watched is simply absent.
        c.cmd(&["SET", "k", "1", "PX", "20"]);
        thread::sleep(Duration::from_millis(100));
        #[rustfmt::skip]
        check(&mut c, &[
            (&["WATCH", "k"], "+OK\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["EXEC"], "*0\r\n"),
            // The watching client's own write breaks it too.
            (&["WATCH", "k"], "+OK\r\n"),
            (&["SET", "k", "2"], "+OK\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["EXEC"], "*-1\r\n"),
            // Watching again does not mend a broken watch.
            (&["WATCH", "k"], "+OK\r\n"),
            (&["SET", "k", "3"], "+OK\r\n"),
            (&["WATCH", "k"], "+OK\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["EXEC"], "*-1\r\n"),
            // UNWATCH forgets the watch (and its broken state).
            (&["WATCH", "k"], "+OK\r\n"),
            (&["SET", "k", "4"], "+OK\r\n"),
            (&["UNWATCH"], "+OK\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["EXEC"], "*0\r\n"),
            // So does DISCARD.
            (&["WATCH", "k"], "+OK\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["DISCARD"], "+OK\r\n"),
            (&["SET", "k", "5"], "+OK\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["EXEC"], "*0\r\n"),
            // And EXEC: the next transaction watches nothing.
            (&["WATCH", "k"], "+OK\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["EXEC"], "*0\r\n"),
            (&["SET", "k", "6"], "+OK\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["EXEC"], "*0\r\n"),
            // And RESET.
            (&["WATCH", "k"], "+OK\r\n"),
            (&["SET", "k", "7"], "+OK\r\n"),
            (&["RESET"], "+RESET\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["EXEC"], "*0\r\n"),
        ]);
    }
}

#[test]
fn a_watch_is_on_a_key_of_one_database() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    a.cmd(&["SELECT", "2"]);
    a.cmd(&["WATCH", "k"]);
    b.cmd(&["SET", "k", "db0"]);
    check(&mut a, &[(&["MULTI"], "+OK\r\n"), (&["EXEC"], "*0\r\n")]);
    a.cmd(&["WATCH", "k"]);
    b.cmd(&["SELECT", "2"]);
    b.cmd(&["SET", "k", "db2"]);
    check(&mut a, &[(&["MULTI"], "+OK\r\n"), (&["EXEC"], "*-1\r\n")]);
}

#[test]
fn a_closed_watchers_watch_is_dropped() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    a.cmd(&["WATCH", "k"]);
    drop(a);
    thread::sleep(Duration::from_millis(100));
    let mut b = s.raw();
    // The registry no longer holds the key: writes to it are plain writes again.
    b.cmd(&["SET", "k", "1"]);
    b.cmd(&["WATCH", "k"]);
    check(&mut b, &[(&["MULTI"], "+OK\r\n"), (&["EXEC"], "*0\r\n")]);
}

#[test]
fn exec_serves_clients_blocked_on_keys_it_filled() {
    let s = Server::start(&[]);
    let mut waiter = s.raw();
    let mut c = s.raw();
    send(&mut waiter, &["BLPOP", "q", "0"]);
    wait_blocked(&mut c, 1);
    check(
        &mut c,
        &[
            (&["MULTI"], "+OK\r\n"),
            (&["RPUSH", "q", "a"], QUEUED),
            (&["RPUSH", "q", "b"], QUEUED),
            (&["EXEC"], "*2\r\n:1\r\n:2\r\n"),
        ],
    );
    assert_eq!(reply(&mut waiter), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(c.cmd(&["LRANGE", "q", "0", "-1"]), "*1\r\n$1\r\nb\r\n");
}

#[test]
fn client_list_shows_the_queued_count_and_flag_x() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let info = c.cmd(&["CLIENT", "INFO"]);
    assert!(
        info.contains(" flags=N ") && info.contains(" multi=-1 "),
        "{info}"
    );
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["GET", "a"]);
    let list = s.raw().cmd(&["CLIENT", "LIST"]);
    assert!(
        list.contains(" flags=x ") && list.contains(" multi=2 "),
        "{list}"
    );
    // Inside EXEC the transaction is still shown, as Redis does.
    c.cmd(&["CLIENT", "INFO"]);
    let exec = c.cmd(&["EXEC"]);
    assert!(
        exec.contains(" flags=x ") && exec.contains(" multi=3 "),
        "{exec}"
    );
    let info = c.cmd(&["CLIENT", "INFO"]);
    assert!(
        info.contains(" flags=N ") && info.contains(" multi=-1 "),
        "{info}"
    );
}

#[test]
fn noauth_while_queuing_fails_the_transaction_and_a_refused_exec_says_why() {
    let s = Server::start(&["--requirepass", "pw"]);
    let r = RealRedis::start_with(&["--requirepass", "pw"]);
    for port in [s.port, r.port] {
        let mut c = Raw::connect(port);
        check(
            &mut c,
            &[
                (
                    &["EXEC"],
                    "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n",
                ),
                (&["MULTI"], "-NOAUTH Authentication required.\r\n"),
                (&["AUTH", "pw"], "+OK\r\n"),
                (&["MULTI"], "+OK\r\n"),
                (&["AUTH", "pw"], QUEUED),
                (&["SET", "a", "1"], QUEUED),
                (&["EXEC"], "*2\r\n+OK\r\n+OK\r\n"),
            ],
        );
    }
}

#[test]
fn exec_in_cluster_mode_needs_one_slot_for_the_whole_transaction() {
    let s = Server::start(common::ONE_SHARD_CLUSTER);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["MULTI"], "+OK\r\n"),
            (&["SET", "a", "1"], QUEUED),
            (&["SET", "b", "2"], QUEUED),
            (
                &["EXEC"],
                "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
            ),
            (&["EXEC"], "-ERR EXEC without MULTI\r\n"),
            (&["GET", "a"], "$-1\r\n"),
            (&["MULTI"], "+OK\r\n"),
            (&["SET", "{t}a", "1"], QUEUED),
            (&["SET", "{t}b", "2"], QUEUED),
            (&["EXEC"], "*2\r\n+OK\r\n+OK\r\n"),
        ],
    );
}

/// The seeds' counter: read-increment-write with WATCH/MULTI/EXEC from 50 clients at once
/// never hands out a number twice, and the counter ends at the number of successes.
#[test]
fn watch_counter_under_50_concurrent_clients_never_hands_out_a_number_twice() {
    const CLIENTS: usize = 50;
    const EACH: usize = 4;
    let s = Server::start(&[]);
    let url = format!("redis://127.0.0.1:{}/", s.port);
    let handed = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let url = url.clone();
            let handed = handed.clone();
            thread::spawn(move || {
                let mut con = redis::Client::open(url.as_str())
                    .unwrap()
                    .get_connection()
                    .unwrap();
                let mut got = 0;
                while got < EACH {
                    let _: () = redis::cmd("WATCH").arg("counter").query(&mut con).unwrap();
                    let cur: Option<i64> =
                        redis::cmd("GET").arg("counter").query(&mut con).unwrap();
                    let next = cur.unwrap_or(0) + 1;
                    let _: () = redis::cmd("MULTI").query(&mut con).unwrap();
                    let _: () = redis::cmd("SET")
                        .arg("counter")
                        .arg(next)
                        .query(&mut con)
                        .unwrap();
                    let res: Option<Vec<String>> = redis::cmd("EXEC").query(&mut con).unwrap();
                    if res.is_some() {
                        handed.lock().unwrap().push(next);
                        got += 1;
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let handed = handed.lock().unwrap();
    let unique: HashSet<i64> = handed.iter().copied().collect();
    assert_eq!(unique.len(), handed.len(), "a number was handed out twice");
    assert_eq!(handed.len(), CLIENTS * EACH);
    let final_value = s.raw().cmd(&["GET", "counter"]);
    assert_eq!(final_value, bulk(&(CLIENTS * EACH).to_string()));
}

/// The value a unit tagged `tag` writes: padded, so that a unit fills sled's log buffers and
/// reaches its file midway more often (a crash then finds more of it on disk).
fn unit_value(tag: u64) -> String {
    format!("{tag}:{}", "x".repeat(400))
}

/// One large transaction: 200 strings and a hash of 200 fields set to `unit_value(tag)`, and a
/// sorted-set score `tag`, with a range read after every 20 strings (each applies the
/// transaction so far to sled inline, so a crash finds part of it there: the undo record must
/// roll it back).
fn big_exec(tag: u64) -> Vec<u8> {
    let (t, v) = (tag.to_string(), unit_value(tag));
    let mut req = Raw::encode(&[b"MULTI"]);
    req.extend(Raw::encode(&[b"ZADD", b"z", t.as_bytes(), b"m"]));
    for i in 0..200 {
        req.extend(Raw::encode(&[
            b"SET",
            format!("s{i}").as_bytes(),
            v.as_bytes(),
        ]));
        if i % 20 == 0 {
            req.extend(Raw::encode(&[b"ZRANGE", b"z", b"0", b"-1", b"WITHSCORES"]));
        }
    }
    let mut hset: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"h".to_vec()];
    for i in 0..200 {
        hset.push(format!("f{i}").into_bytes());
        hset.push(v.clone().into_bytes());
    }
    let hset: Vec<&[u8]> = hset.iter().map(|a| &a[..]).collect();
    req.extend(Raw::encode(&hset));
    req.extend(Raw::encode(&[b"EXEC"]));
    req
}

/// `big_exec`'s writes, in that order, as one script.
const BIG_SCRIPT: &str = "
redis.call('ZADD', 'z', ARGV[1], 'm')
for i = 0, 199 do
  redis.call('SET', 's' .. i, ARGV[2])
  if i % 20 == 0 then redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES') end
end
local args = {}
for i = 0, 199 do
  args[#args + 1] = 'f' .. i
  args[#args + 1] = ARGV[2]
end
redis.call('HSET', 'h', unpack(args))
return 1";

fn big_eval(tag: u64) -> Vec<u8> {
    Raw::encode(&[
        b"EVAL",
        BIG_SCRIPT.as_bytes(),
        b"0",
        tag.to_string().as_bytes(),
        unit_value(tag).as_bytes(),
    ])
}

/// A way to send one large atomic unit: its request, how many replies come before the one
/// that says it ran, and how that one starts.
struct Unit {
    request: fn(u64) -> Vec<u8>,
    replies_before: usize,
    done: &'static [u8],
}

/// EXEC: MULTI, ZADD, 200 SETs, 10 ZRANGEs, HSET answer 213 replies, then EXEC's array of 212.
const EXEC_UNIT: Unit = Unit {
    request: big_exec,
    replies_before: 213,
    done: b"*212\r\n",
};

const EVAL_UNIT: Unit = Unit {
    request: big_eval,
    replies_before: 0,
    done: b":1\r\n",
};

/// Streams large units until the connection dies; returns the last tag acknowledged.
fn stream_units(port: u16, unit: &Unit, first: u64) -> u64 {
    let mut c = Raw::connect(port);
    let mut acked = first - 1;
    for tag in first.. {
        if std::io::Write::write_all(&mut c.stream, &(unit.request)(tag)).is_err() {
            return acked;
        }
        for _ in 0..unit.replies_before {
            if c.read_reply().is_none() {
                return acked;
            }
        }
        match c.read_reply() {
            Some(r) if r.starts_with(unit.done) => acked = tag,
            Some(r) => panic!(
                "the unit failed: {}",
                String::from_utf8_lossy(&r[..r.len().min(200)])
            ),
            None => return acked,
        }
    }
    acked
}

/// Kills the server (`appendfsync always`) six times while `unit`s stream in, and checks after
/// each restart that every acknowledged unit is there and the last one is whole or absent.
fn crash_during_large_units(unit: &'static Unit) {
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut next = 1;
    for round in 0..6u64 {
        let port = s.port;
        let writer = thread::spawn(move || stream_units(port, unit, next));
        // Another client's writes keep group commits (sled flushes) running while the units
        // apply their first halves inline: a flush then catches whatever sled holds.
        let other = thread::spawn(move || {
            let mut c = Raw::connect(port);
            for i in 0.. {
                if c.try_cmd(&["SET", "other", &i.to_string()]).is_none() {
                    break;
                }
            }
        });
        thread::sleep(Duration::from_millis(400 + round * 173 % 300));
        s.kill9();
        let acked = writer.join().expect("writer");
        other.join().expect("other writer");
        s.restart();
        let mut c = s.raw();
        let tag = match c.cmd(&["GET", "s0"]).as_str() {
            "$-1\r\n" => 0,
            r => r
                .lines()
                .nth(1)
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .parse()
                .unwrap(),
        };
        assert!(
            tag >= acked,
            "round {round}: acknowledged unit {acked} lost (found {tag})"
        );
        let (want, score) = if tag == 0 {
            ("$-1\r\n".to_string(), "$-1\r\n".to_string())
        } else {
            (bulk(&unit_value(tag)), bulk(&tag.to_string()))
        };
        for i in 0..200 {
            assert_eq!(
                c.cmd(&["GET", &format!("s{i}")]),
                want,
                "round {round}: s{i}"
            );
            assert_eq!(
                c.cmd(&["HGET", "h", &format!("f{i}")]),
                want,
                "round {round}: f{i}"
            );
        }
        assert_eq!(c.cmd(&["ZSCORE", "z", "m"]), score, "round {round}: z");
        next = tag.max(acked) + 1;
    }
    assert!(next > 3, "too few units were acknowledged to mean anything");
}

#[test]
fn crash_during_large_execs_leaves_each_transaction_entirely_present_or_absent() {
    crash_during_large_units(&EXEC_UNIT);
}

#[test]
fn crash_during_large_scripts_leaves_each_script_entirely_present_or_absent() {
    crash_during_large_units(&EVAL_UNIT);
}

#[test]
fn monitor_shows_queued_commands_when_exec_runs_them() {
    let s = Server::start(&[]);
    let r = RealRedis::start();
    for port in [s.port, r.port] {
        let mut m = Raw::connect(port);
        assert_eq!(m.cmd(&["MONITOR"]), "+OK\r\n");
        let mut c = Raw::connect(port);
        for cmd in [
            &["MULTI"][..],
            &["SET", "a", "1"],
            &["GET", "a"],
            &["EXEC"],
            &["MULTI"],
            &["SET", "b", "1"],
            &["DISCARD"],
            &["PING"],
        ] {
            c.cmd(cmd);
        }
        let mut fed = Vec::new();
        for _ in 0..7 {
            let line = reply(&mut m);
            // `+<time> [0 <addr>] "cmd" ...`: keep the command.
            fed.push(line.split_once("] ").unwrap().1.trim_end().to_string());
        }
        assert_eq!(
            fed,
            [
                r#""MULTI""#,
                r#""SET" "a" "1""#,
                r#""GET" "a""#,
                r#""EXEC""#,
                r#""MULTI""#,
                r#""DISCARD""#,
                r#""PING""#
            ],
            "port {port}"
        );
    }
}

#[test]
fn redis_crate_atomic_pipelines_run_as_transactions() {
    let s = Server::start(&[]);
    let mut con = s.client();
    let (n, v): (i64, String) = redis::pipe()
        .atomic()
        .cmd("INCRBY")
        .arg("n")
        .arg(5)
        .cmd("SET")
        .arg("s")
        .arg("x")
        .ignore()
        .cmd("GET")
        .arg("s")
        .query(&mut con)
        .unwrap();
    assert_eq!((n, v.as_str()), (5, "x"));
    // redis::transaction retries the closure until EXEC succeeds under its WATCH.
    let mut other = s.client();
    let mut first = true;
    let total: (i64,) = redis::transaction(&mut con, &["n"], |con, pipe| {
        let cur: i64 = redis::cmd("GET").arg("n").query(con)?;
        if first {
            // Another client changes the key after WATCH: the first attempt must fail.
            first = false;
            let _: () = redis::cmd("SET").arg("n").arg(100).query(&mut other)?;
        }
        pipe.set("n", cur + 1).ignore().get("n").query(con)
    })
    .unwrap();
    assert_eq!(total, (101,));
}

#[test]
fn other_clients_never_see_half_a_transaction() {
    let s = Server::start(&[]);
    let port = s.port;
    let writer = thread::spawn(move || {
        let mut c = Raw::connect(port);
        for i in 0..300 {
            let i = i.to_string();
            c.cmd(&["MULTI"]);
            c.cmd(&["SET", "a", &i]);
            c.cmd(&["SET", "b", &i]);
            assert_eq!(c.cmd(&["EXEC"]), "*2\r\n+OK\r\n+OK\r\n");
        }
    });
    let mut r = s.raw();
    let mut seen = 0;
    while !writer.is_finished() {
        // MGET is one command: it runs before or after a whole EXEC, never between its SETs.
        let got = r.cmd(&["MGET", "a", "b"]);
        let body = got.strip_prefix("*2\r\n").expect("MGET array");
        let (a, b) = body.split_at(body.len() / 2);
        assert_eq!(a, b, "MGET saw half a transaction: {got:?}");
        seen += 1;
    }
    writer.join().expect("writer");
    assert!(seen > 0);
}

#[test]
fn a_script_queued_in_multi_runs_its_commands_when_exec_runs_it() {
    check_both(&[
        (&["MULTI"], "+OK\r\n"),
        (
            &[
                "EVAL",
                "redis.call('set', KEYS[1], 'v') return redis.call('get', KEYS[1])",
                "1",
                "k",
            ],
            QUEUED,
        ),
        (&["INCR", "n"], QUEUED),
        (&["EXEC"], "*2\r\n$1\r\nv\r\n:1\r\n"),
        (&["GET", "k"], "$1\r\nv\r\n"),
    ]);
}
