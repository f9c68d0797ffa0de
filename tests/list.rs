//! List commands, byte for byte as Redis 7.0 answers them (expectations checked against
//! redis-server 7.0.15), the blocking commands, and lists across a SIGKILL.

mod common;
use common::{
    array, bulk, check, check_new, reply, send, wait_blocked, Raw, Server, NIL_ARRAY, NOT_INT,
    SYNTAX, WRONGTYPE,
};

use std::thread;
use std::time::{Duration, Instant};

use redis::Commands;

const NIL: &str = "$-1\r\n";
const OK: &str = "+OK\r\n";

#[test]
fn push_pop_and_index_on_both_ends() {
    let abc = array(&["y", "x", "a", "b", "c"]);
    check_new(&[
        (&["RPUSH", "l", "a", "b", "c"], ":3\r\n"),
        (&["LPUSH", "l", "x", "y"], ":5\r\n"),
        (&["LRANGE", "l", "0", "-1"], &abc),
        (&["LLEN", "l"], ":5\r\n"),
        (&["LLEN", "nx"], ":0\r\n"),
        (&["TYPE", "l"], "+list\r\n"),
        (&["OBJECT", "ENCODING", "l"], &bulk("quicklist")),
        (&["LINDEX", "l", "0"], &bulk("y")),
        (&["LINDEX", "l", "-1"], &bulk("c")),
        (&["LINDEX", "l", "5"], NIL),
        (&["LINDEX", "l", "-6"], NIL),
        (&["LINDEX", "nx", "0"], NIL),
        (&["LINDEX", "l", "x"], NOT_INT),
        // The key is looked up before the index is parsed.
        (&["LINDEX", "nx", "x"], NIL),
        (&["LSET", "nx", "x", "v"], "-ERR no such key\r\n"),
        (&["LPUSHX", "nx", "a"], ":0\r\n"),
        (&["RPUSHX", "nx", "a"], ":0\r\n"),
        (&["EXISTS", "nx"], ":0\r\n"),
        (&["LPUSHX", "l", "p"], ":6\r\n"),
        (&["RPUSHX", "l", "r1", "r2"], ":8\r\n"),
        (&["LPOP", "l"], &bulk("p")),
        (&["RPOP", "l"], &bulk("r2")),
        (&["LPOP", "l", "2"], &array(&["y", "x"])),
        (&["RPOP", "l", "2"], &array(&["r1", "c"])),
        (&["LPOP", "l", "0"], "*0\r\n"),
        (&["LPOP", "l", "10"], &array(&["a", "b"])),
        (&["EXISTS", "l"], ":0\r\n"),
        (&["TYPE", "l"], "+none\r\n"),
        (&["LPOP", "nx"], NIL),
        (&["LPOP", "nx", "1"], NIL_ARRAY),
        (&["RPOP", "nx", "0"], NIL_ARRAY),
        (
            &["LPOP", "l", "-1"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (
            &["LPOP", "l", "x"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (
            &["LPOP", "l", "1", "2"],
            "-ERR wrong number of arguments for 'lpop' command\r\n",
        ),
    ]);
}

#[test]
fn pop_of_missing_key_with_count_is_null_in_resp3() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    check(
        &mut c,
        &[
            (&["LPOP", "nx", "1"], "_\r\n"),
            (&["LPOP", "nx"], "_\r\n"),
            (&["LMPOP", "1", "nx", "LEFT"], "_\r\n"),
            (&["BLPOP", "nx", "0.01"], "_\r\n"),
        ],
    );
}

#[test]
fn lset_and_lrange_follow_redis_rules() {
    check_new(&[
        (&["RPUSH", "l", "a", "b", "c", "d"], ":4\r\n"),
        (&["LSET", "l", "0", "A"], OK),
        (&["LSET", "l", "-1", "D"], OK),
        (&["LSET", "l", "4", "x"], "-ERR index out of range\r\n"),
        (&["LSET", "nx", "0", "x"], "-ERR no such key\r\n"),
        (&["LSET", "l", "x", "x"], NOT_INT),
        (&["LRANGE", "l", "0", "-1"], &array(&["A", "b", "c", "D"])),
        (
            &["LRANGE", "l", "-100", "100"],
            &array(&["A", "b", "c", "D"]),
        ),
        (&["LRANGE", "l", "-2", "-1"], &array(&["c", "D"])),
        (&["LRANGE", "l", "2", "1"], "*0\r\n"),
        (&["LRANGE", "l", "4", "10"], "*0\r\n"),
        (&["LRANGE", "nx", "0", "-1"], "*0\r\n"),
        (&["LRANGE", "l", "a", "1"], NOT_INT),
    ]);
}

#[test]
fn ltrim_keeps_the_range_and_deletes_an_emptied_list() {
    check_new(&[
        (&["RPUSH", "t", "1", "2", "3", "4", "5", "6"], ":6\r\n"),
        (&["LTRIM", "t", "1", "-2"], OK),
        (&["LRANGE", "t", "0", "-1"], &array(&["2", "3", "4", "5"])),
        (&["LTRIM", "t", "-100", "100"], OK),
        (&["LLEN", "t"], ":4\r\n"),
        (&["LTRIM", "t", "-1", "-1"], OK),
        (&["LRANGE", "t", "0", "-1"], &array(&["5"])),
        (&["LTRIM", "t", "2", "1"], OK),
        (&["EXISTS", "t"], ":0\r\n"),
        (&["LTRIM", "nx", "0", "1"], OK),
        (&["LTRIM", "t", "0", "x"], NOT_INT),
        // A list made again at the key does not see the trimmed elements.
        (&["RPUSH", "t", "new"], ":1\r\n"),
        (&["LRANGE", "t", "0", "-1"], &array(&["new"])),
    ]);
}

#[test]
fn linsert_and_lrem_shift_elements() {
    check_new(&[
        (&["RPUSH", "l", "a", "b", "c", "d"], ":4\r\n"),
        (&["LINSERT", "l", "BEFORE", "a", "0"], ":5\r\n"),
        (&["LINSERT", "l", "after", "d", "e"], ":6\r\n"),
        (&["LINSERT", "l", "AFTER", "b", "b2"], ":7\r\n"),
        (&["LINSERT", "l", "BEFORE", "d", "c2"], ":8\r\n"),
        (
            &["LRANGE", "l", "0", "-1"],
            &array(&["0", "a", "b", "b2", "c", "c2", "d", "e"]),
        ),
        (&["LINSERT", "l", "AFTER", "zz", "x"], ":-1\r\n"),
        (&["LINSERT", "nx", "AFTER", "a", "x"], ":0\r\n"),
        (&["LINSERT", "l", "MIDDLE", "a", "x"], SYNTAX),
        (&["RPUSH", "r", "a", "b", "a", "c", "a", "d", "a"], ":7\r\n"),
        (&["LREM", "r", "2", "a"], ":2\r\n"),
        (
            &["LRANGE", "r", "0", "-1"],
            &array(&["b", "c", "a", "d", "a"]),
        ),
        (&["LREM", "r", "-1", "a"], ":1\r\n"),
        (&["LRANGE", "r", "0", "-1"], &array(&["b", "c", "a", "d"])),
        (&["LPUSH", "r", "a"], ":5\r\n"),
        (&["LREM", "r", "0", "a"], ":2\r\n"),
        (&["LRANGE", "r", "0", "-1"], &array(&["b", "c", "d"])),
        (&["LREM", "r", "0", "zz"], ":0\r\n"),
        (&["LREM", "nx", "0", "a"], ":0\r\n"),
        (&["LREM", "r", "x", "a"], NOT_INT),
        (&["LREM", "r", "0", "b"], ":1\r\n"),
        (&["LREM", "r", "0", "c"], ":1\r\n"),
        (&["LREM", "r", "0", "d"], ":1\r\n"),
        (&["EXISTS", "r"], ":0\r\n"),
    ]);
}

#[test]
fn lpos_rank_count_and_maxlen() {
    check_new(&[
        (&["RPUSH", "p", "a", "b", "c", "1", "2", "3", "c", "c"], ":8\r\n"),
        (&["LPOS", "p", "c"], ":2\r\n"),
        (&["LPOS", "p", "c", "RANK", "2"], ":6\r\n"),
        (&["LPOS", "p", "c", "RANK", "-1"], ":7\r\n"),
        (&["LPOS", "p", "c", "RANK", "-2"], ":6\r\n"),
        (&["LPOS", "p", "c", "COUNT", "0"], "*3\r\n:2\r\n:6\r\n:7\r\n"),
        (&["LPOS", "p", "c", "COUNT", "2"], "*2\r\n:2\r\n:6\r\n"),
        (&["LPOS", "p", "c", "COUNT", "0", "RANK", "-1"], "*3\r\n:7\r\n:6\r\n:2\r\n"),
        (&["LPOS", "p", "c", "MAXLEN", "1"], NIL),
        (&["LPOS", "p", "c", "COUNT", "0", "MAXLEN", "3", "RANK", "-1"], "*2\r\n:7\r\n:6\r\n"),
        (&["LPOS", "p", "zz"], NIL),
        (&["LPOS", "p", "zz", "COUNT", "0"], "*0\r\n"),
        (&["LPOS", "nx", "a"], NIL),
        (&["LPOS", "nx", "a", "COUNT", "1"], "*0\r\n"),
        (&["LPOS", "p", "c", "RANK", "5"], NIL),
        (
            &["LPOS", "p", "c", "RANK", "0"],
            "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n",
        ),
        (&["LPOS", "p", "c", "COUNT", "-1"], "-ERR COUNT can't be negative\r\n"),
        (&["LPOS", "p", "c", "MAXLEN", "-1"], "-ERR MAXLEN can't be negative\r\n"),
        (&["LPOS", "p", "c", "FOO"], SYNTAX),
        (&["LPOS", "p", "c", "COUNT", "x"], "-ERR COUNT can't be negative\r\n"),
        (&["LPOS", "p", "c", "MAXLEN", "x"], "-ERR MAXLEN can't be negative\r\n"),
        (&["LPOS", "p", "c", "RANK", "x"], NOT_INT),
        // Redis negates the rank in a long: the most negative one acts as -1.
        (&["LPOS", "p", "c", "RANK", "-9223372036854775808"], ":7\r\n"),
        (&["LPOS", "p", "c", "RANK"], SYNTAX),
    ]);
}

#[test]
fn lmove_rpoplpush_and_lmpop() {
    check_new(&[
        (&["RPUSH", "a", "1", "2", "3"], ":3\r\n"),
        (&["LMOVE", "a", "b", "LEFT", "RIGHT"], &bulk("1")),
        (&["LMOVE", "a", "b", "RIGHT", "LEFT"], &bulk("3")),
        (&["LRANGE", "b", "0", "-1"], &array(&["3", "1"])),
        (&["LMOVE", "b", "b", "LEFT", "RIGHT"], &bulk("3")),
        (&["LRANGE", "b", "0", "-1"], &array(&["1", "3"])),
        (&["RPOPLPUSH", "a", "c"], &bulk("2")),
        (&["EXISTS", "a"], ":0\r\n"),
        (&["RPOPLPUSH", "a", "c"], NIL),
        (&["LMOVE", "b", "c", "UP", "LEFT"], SYNTAX),
        (
            &["LMPOP", "2", "nx", "b", "LEFT"],
            "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n",
        ),
        (
            &["LMPOP", "2", "nx", "b", "RIGHT", "COUNT", "5"],
            "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n3\r\n",
        ),
        (&["LMPOP", "2", "nx", "b", "RIGHT"], NIL_ARRAY),
        (
            &["LMPOP", "0", "b", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (
            &["LMPOP", "x", "b", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (&["LMPOP", "3", "b", "LEFT"], SYNTAX),
        (&["LMPOP", "1", "b", "MIDDLE"], SYNTAX),
        (
            &["LMPOP", "1", "b", "LEFT", "COUNT", "0"],
            "-ERR count should be greater than 0\r\n",
        ),
        (
            &["LMPOP", "1", "b", "LEFT", "COUNT", "1", "COUNT", "2"],
            SYNTAX,
        ),
    ]);
}

#[test]
fn list_commands_on_a_string_are_wrongtype() {
    check_new(&[
        (&["SET", "s", "v"], OK),
        (&["RPUSH", "l", "x"], ":1\r\n"),
        (&["LPUSH", "s", "a"], WRONGTYPE),
        (&["RPUSHX", "s", "a"], WRONGTYPE),
        (&["LPOP", "s"], WRONGTYPE),
        (&["LLEN", "s"], WRONGTYPE),
        (&["LRANGE", "s", "0", "1"], WRONGTYPE),
        (&["LINDEX", "s", "0"], WRONGTYPE),
        (&["LPOS", "s", "a"], WRONGTYPE),
        (&["LMOVE", "s", "l", "LEFT", "LEFT"], WRONGTYPE),
        (&["LMOVE", "l", "s", "LEFT", "LEFT"], WRONGTYPE),
        (&["LMOVE", "nx", "s", "LEFT", "LEFT"], NIL),
        (&["LMPOP", "2", "nx", "s", "LEFT"], WRONGTYPE),
        (&["BLPOP", "nx", "s", "0"], WRONGTYPE),
        (&["GET", "l"], WRONGTYPE),
        (&["LRANGE", "l", "0", "-1"], &array(&["x"])),
    ]);
}

#[test]
fn lists_through_the_redis_crate_and_redis_cli() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let n: i64 = c.rpush("k", &["a", "b", "c"]).expect("rpush");
    assert_eq!(n, 3);
    let v: Vec<String> = c.lrange("k", 0, -1).expect("lrange");
    assert_eq!(v, ["a", "b", "c"]);
    let p: Option<String> = c.lpop("k", None).expect("lpop");
    assert_eq!(p.as_deref(), Some("a"));
    let (k, v): (String, String) = c.blpop("k", 0.0).expect("blpop");
    assert_eq!((k.as_str(), v.as_str()), ("k", "b"));
    assert_eq!(s.cli(&["LRANGE", "k", "0", "-1"]), "c\n");
    assert_eq!(s.cli(&["LPOS", "k", "c"]), "0\n");
    assert_eq!(s.cli(&["BRPOP", "nx", "0.05"]), "\n");
}

#[test]
fn blpop_returns_at_once_when_a_key_has_elements() {
    check_new(&[
        (&["RPUSH", "b", "x", "y"], ":2\r\n"),
        (&["BLPOP", "nx", "b", "0"], &array(&["b", "x"])),
        (&["BRPOP", "nx", "b", "0"], &array(&["b", "y"])),
        (&["BLPOP", "nx", "b", "0.01"], NIL_ARRAY),
        (&["BLPOP", "nx", "-1"], "-ERR timeout is negative\r\n"),
        (
            &["BLPOP", "nx", "abc"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            &["BLPOP", "nx", "nan"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            &["BLMPOP", "x", "1", "b", "LEFT"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            &["BLMPOP", "0", "0", "b", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (&["RPUSH", "b", "1", "2", "3"], ":3\r\n"),
        (
            &["BLMPOP", "0", "2", "nx", "b", "RIGHT", "COUNT", "2"],
            "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n",
        ),
        (&["BLMOVE", "b", "c", "RIGHT", "LEFT", "0"], &bulk("1")),
        (&["BRPOPLPUSH", "c", "d", "0"], &bulk("1")),
        (&["BLMOVE", "nx", "d", "LEFT", "LEFT", "0.01"], NIL_ARRAY),
        (&["BRPOPLPUSH", "nx", "d", "0.01"], NIL_ARRAY),
    ]);
}

#[test]
fn blocked_clients_are_served_in_arrival_order_one_element_each() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut waiters: Vec<Raw> = (0..3).map(|_| s.raw()).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, &["BLPOP", "q", "0"]);
        wait_blocked(&mut admin, i + 1);
    }
    assert_eq!(admin.cmd(&["RPUSH", "q", "a", "b"]), ":2\r\n");
    let r0 = String::from_utf8(waiters[0].read_reply().expect("reply")).expect("utf8");
    let r1 = String::from_utf8(waiters[1].read_reply().expect("reply")).expect("utf8");
    assert_eq!(r0, array(&["q", "a"]));
    assert_eq!(r1, array(&["q", "b"]));
    // Each served client took one element: the list is empty and the third still waits.
    assert_eq!(admin.cmd(&["EXISTS", "q"]), ":0\r\n");
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["LPUSH", "q", "c"]), ":1\r\n");
    let r2 = String::from_utf8(waiters[2].read_reply().expect("reply")).expect("utf8");
    assert_eq!(r2, array(&["q", "c"]));
    wait_blocked(&mut admin, 0);
    // The served clients go on with their next commands.
    assert_eq!(waiters[0].cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn a_client_blocked_on_several_keys_gets_the_key_that_was_pushed() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    send(&mut w, &["BRPOP", "k1", "k2", "0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd(&["RPUSH", "k2", "x", "y"]);
    assert_eq!(reply(&mut w), array(&["k2", "y"]));
    send(
        &mut w,
        &["BLMPOP", "0", "2", "k1", "k3", "LEFT", "COUNT", "5"],
    );
    wait_blocked(&mut admin, 1);
    admin.cmd(&["RPUSH", "k3", "1", "2"]);
    assert_eq!(
        reply(&mut w),
        "*2\r\n$2\r\nk3\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
}

#[test]
fn blocking_timeout_is_fractional_seconds() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let start = Instant::now();
    assert_eq!(c.cmd(&["BLPOP", "nx", "0.2"]), NIL_ARRAY);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(190),
        "returned after {took:?}"
    );
    assert!(took < Duration::from_secs(2), "returned after {took:?}");
    assert_eq!(c.cmd(&["BLMPOP", "0.1", "1", "nx", "LEFT"]), NIL_ARRAY);
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    let mut admin = s.raw();
    wait_blocked(&mut admin, 0);
}

#[test]
fn a_client_disconnecting_while_blocked_leaves_no_trace() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    {
        let mut gone = s.raw();
        send(&mut gone, &["BLPOP", "q", "0"]);
        wait_blocked(&mut admin, 1);
        gone.stream
            .shutdown(std::net::Shutdown::Both)
            .expect("shutdown");
    }
    wait_blocked(&mut admin, 0);
    let mut w = s.raw();
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", "q", "a", "b"]), ":2\r\n");
    assert_eq!(reply(&mut w), array(&["q", "a"]));
    assert_eq!(admin.cmd(&["LRANGE", "q", "0", "-1"]), array(&["b"]));
}

#[test]
fn blmove_wakes_and_can_wake_a_client_blocked_on_its_destination() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut mover = s.raw();
    let mut popper = s.raw();
    send(&mut mover, &["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]);
    wait_blocked(&mut admin, 1);
    send(&mut popper, &["BLPOP", "dst", "0"]);
    wait_blocked(&mut admin, 2);
    assert_eq!(admin.cmd(&["RPUSH", "src", "a", "b"]), ":2\r\n");
    assert_eq!(reply(&mut mover), bulk("b"));
    assert_eq!(reply(&mut popper), array(&["dst", "b"]));
    assert_eq!(admin.cmd(&["LRANGE", "src", "0", "-1"]), array(&["a"]));
    assert_eq!(admin.cmd(&["EXISTS", "dst"]), ":0\r\n");
    // BRPOPLPUSH with a timeout that passes.
    assert_eq!(mover.cmd(&["BRPOPLPUSH", "nx", "dst", "0.05"]), NIL_ARRAY);
}

#[test]
fn commands_pipelined_after_a_blocking_one_run_once_it_is_served() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    let mut req = Raw::encode(&[b"BLPOP", b"q", b"0"]);
    req.extend(Raw::encode(&[b"LLEN", b"q"]));
    w.send_raw(&req);
    wait_blocked(&mut admin, 1);
    admin.cmd(&["RPUSH", "q", "a", "b"]);
    assert_eq!(reply(&mut w), array(&["q", "a"]));
    assert_eq!(reply(&mut w), ":1\r\n");
}

#[test]
fn lists_survive_sigkill_with_appendfsync_always() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    {
        let mut c = s.raw();
        c.cmd(&["RPUSH", "l", "a", "b", "c", "d"]);
        c.cmd(&["LPUSH", "l", "z"]);
        c.cmd(&["LPOP", "l"]);
        c.cmd(&["LSET", "l", "1", "B"]);
        c.cmd(&["LINSERT", "l", "AFTER", "c", "c2"]);
        c.cmd(&["RPUSH", "gone", "x"]);
        c.cmd(&["RPOP", "gone"]);
        c.cmd(&["SELECT", "3"]);
        c.cmd(&["RPUSH", "other", "1"]);
    }
    s.kill9();
    s.restart();
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["LRANGE", "l", "0", "-1"]),
        array(&["a", "B", "c", "c2", "d"])
    );
    assert_eq!(c.cmd(&["LLEN", "l"]), ":5\r\n");
    assert_eq!(c.cmd(&["EXISTS", "gone"]), ":0\r\n");
    c.cmd(&["SELECT", "3"]);
    assert_eq!(c.cmd(&["LRANGE", "other", "0", "-1"]), array(&["1"]));
}

#[test]
fn multi_key_list_commands_route_by_their_keys_in_cluster_mode() {
    let s = Server::start(common::ONE_SHARD_CLUSTER);
    let cross = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["BLPOP", "a", "b", "0"], cross),
            (&["LMPOP", "2", "a", "b", "LEFT"], cross),
            (&["BLMPOP", "0", "2", "a", "b", "LEFT"], cross),
            (&["LMOVE", "a", "b", "LEFT", "LEFT"], cross),
            (&["RPUSH", "{t}a", "x"], ":1\r\n"),
            (&["BLPOP", "{t}b", "{t}a", "0"], &array(&["{t}a", "x"])),
            (&["RPUSH", "{t}b", "y"], ":1\r\n"),
            (
                &["LMPOP", "2", "{t}a", "{t}b", "LEFT"],
                "*2\r\n$4\r\n{t}b\r\n*1\r\n$1\r\ny\r\n",
            ),
            (
                &["COMMAND", "GETKEYS", "BLMPOP", "0", "2", "a", "b", "LEFT"],
                &array(&["a", "b"]),
            ),
            (
                &["COMMAND", "GETKEYS", "BLPOP", "a", "b", "0"],
                &array(&["a", "b"]),
            ),
        ],
    );
}

#[test]
fn a_blocked_client_waits_on_its_own_database_and_can_be_killed() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    assert_eq!(w.cmd(&["SELECT", "1"]), OK);
    let id = w.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end();
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut admin, 1);
    let list = admin.cmd(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains(&format!("id={id} ")))
        .expect("blocked client listed");
    assert!(
        line.contains(" flags=b ") && line.contains(" cmd=blpop "),
        "{line}"
    );
    // A push to the same name in db 0 is not for it.
    assert_eq!(admin.cmd(&["RPUSH", "q", "a"]), ":1\r\n");
    thread::sleep(Duration::from_millis(50));
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ID", id]), ":1\r\n");
    wait_blocked(&mut admin, 0);
    assert!(w.is_closed());
    admin.cmd(&["SELECT", "1"]);
    assert_eq!(admin.cmd(&["RPUSH", "q", "b"]), ":1\r\n");
    assert_eq!(admin.cmd(&["LLEN", "q"]), ":1\r\n");
    admin.cmd(&["SELECT", "0"]);
    assert_eq!(admin.cmd(&["LLEN", "q"]), ":1\r\n");
}

#[test]
fn no_element_is_lost_or_duplicated_when_timeouts_race_with_pushes() {
    let s = Server::start(&[]);
    let port = s.port;
    let poppers: Vec<_> = (0..6)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut got = Vec::new();
                let start = Instant::now();
                while start.elapsed() < Duration::from_millis(1500) {
                    let r = c.cmd(&["BLPOP", "q", "0.01"]);
                    if r != NIL_ARRAY {
                        let v = r.rsplit("\r\n").nth(1).expect("element").to_string();
                        got.push(v);
                    }
                }
                got
            })
        })
        .collect();
    let mut pusher = s.raw();
    let mut pushed = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1200) {
        pusher.cmd(&["RPUSH", "q", &pushed.to_string()]);
        pushed += 1;
        if pushed % 7 == 0 {
            thread::sleep(Duration::from_millis(3));
        }
    }
    let mut all: Vec<String> = poppers
        .into_iter()
        .flat_map(|t| t.join().expect("popper"))
        .collect();
    let rest = pusher.cmd(&["LRANGE", "q", "0", "-1"]);
    for line in rest.split("\r\n").skip(2).step_by(2) {
        if !line.is_empty() {
            all.push(line.to_string());
        }
    }
    let mut nums: Vec<usize> = all.iter().map(|v| v.parse().expect("number")).collect();
    nums.sort();
    assert_eq!(nums, (0..pushed).collect::<Vec<_>>());
    wait_blocked(&mut pusher, 0);
}

#[test]
fn blmove_to_a_destination_of_another_type_fails_the_blocked_client_and_keeps_the_element() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    send(&mut w, &["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["SET", "dst", "s"]), OK);
    assert_eq!(admin.cmd(&["RPUSH", "src", "a", "b"]), ":2\r\n");
    assert_eq!(reply(&mut w), WRONGTYPE);
    assert_eq!(admin.cmd(&["LRANGE", "src", "0", "-1"]), array(&["a", "b"]));
    wait_blocked(&mut admin, 0);
}

#[test]
fn client_unblock_ends_a_wait_with_a_timeout_or_an_error() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    let id = w.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end().to_string();
    check(
        &mut admin,
        &[
            (&["CLIENT", "UNBLOCK", &id], ":0\r\n"),
            (&["CLIENT", "UNBLOCK", "x"], NOT_INT),
            (
                &["CLIENT", "UNBLOCK", &id, "NOPE"],
                "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n",
            ),
            (
                &["CLIENT", "UNBLOCK", &id, "TIMEOUT", "x"],
                "-ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.\r\n",
            ),
        ],
    );
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), ":1\r\n");
    assert_eq!(reply(&mut w), NIL_ARRAY);
    send(&mut w, &["BLMOVE", "q", "d", "LEFT", "LEFT", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id, "error"]), ":1\r\n");
    assert_eq!(
        reply(&mut w),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    wait_blocked(&mut admin, 0);
    assert_eq!(w.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn swapdb_serves_clients_blocked_on_keys_that_now_hold_lists() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd(&["SELECT", "1"]);
    assert_eq!(admin.cmd(&["RPUSH", "q", "a", "b"]), ":2\r\n");
    assert_eq!(admin.cmd(&["SWAPDB", "0", "1"]), OK);
    assert_eq!(reply(&mut w), array(&["q", "a"]));
    assert_eq!(admin.cmd(&["LRANGE", "q", "0", "-1"]), "*0\r\n");
    admin.cmd(&["SELECT", "0"]);
    assert_eq!(admin.cmd(&["LRANGE", "q", "0", "-1"]), array(&["b"]));
}

#[test]
fn long_lists_match_redis_after_random_edits() {
    let redis = common::RealRedis::start();
    let s = Server::start(&[]);
    let mut r = Raw::connect(redis.port);
    let mut b = s.raw();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let elems = ["a", "b", "c", "d", "e"];
    for step in 0..3000 {
        let key = ["x", "y"][next(2) as usize];
        let e = elems[next(5) as usize].to_string();
        let i = (next(400) as i64 - 200).to_string();
        let j = (next(400) as i64 - 200).to_string();
        let cmd: Vec<String> = match next(20) {
            0..=4 => vec!["RPUSH".into(), key.into(), e.clone(), e],
            5..=8 => vec!["LPUSH".into(), key.into(), e],
            9 => vec!["LPOP".into(), key.into(), "3".into()],
            10 => vec!["RPOP".into(), key.into()],
            11 => vec!["LINSERT".into(), key.into(), "BEFORE".into(), e.clone(), e],
            12 => vec!["LINSERT".into(), key.into(), "AFTER".into(), e, "z".into()],
            13 => vec![
                "LREM".into(),
                key.into(),
                (next(5) as i64 - 2).to_string(),
                e,
            ],
            14 => vec!["LSET".into(), key.into(), i, e],
            15 if next(10) == 0 => vec!["LTRIM".into(), key.into(), i, j],
            16 => vec![
                "LMOVE".into(),
                key.into(),
                "y".into(),
                "LEFT".into(),
                "RIGHT".into(),
            ],
            17 => vec![
                "LPOS".into(),
                key.into(),
                e,
                "RANK".into(),
                "-2".into(),
                "COUNT".into(),
                "3".into(),
            ],
            _ => vec!["LINDEX".into(), key.into(), i],
        };
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(b.cmd(&args), r.cmd(&args), "step {step}: {args:?}");
        if step % 100 == 0 {
            for k in ["x", "y"] {
                let range = ["LRANGE", k, "0", "-1"];
                assert_eq!(b.cmd(&range), r.cmd(&range), "step {step}: contents of {k}");
            }
        }
    }
}

#[test]
fn rename_copy_and_move_of_a_list_serve_clients_blocked_on_the_destination() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut by_rename = s.raw();
    let mut by_copy = s.raw();
    let mut by_move = s.raw();
    send(&mut by_rename, &["BLPOP", "renamed", "0"]);
    send(&mut by_copy, &["BRPOP", "copied", "0"]);
    assert_eq!(by_move.cmd(&["SELECT", "1"]), "+OK\r\n");
    send(&mut by_move, &["BLPOP", "moved", "0"]);
    wait_blocked(&mut admin, 3);
    assert_eq!(admin.cmd(&["RPUSH", "src", "a", "b"]), ":2\r\n");
    assert_eq!(admin.cmd(&["RENAME", "src", "renamed"]), "+OK\r\n");
    assert_eq!(reply(&mut by_rename), array(&["renamed", "a"]));
    assert_eq!(admin.cmd(&["COPY", "renamed", "copied"]), ":1\r\n");
    assert_eq!(reply(&mut by_copy), array(&["copied", "b"]));
    assert_eq!(admin.cmd(&["EXISTS", "copied"]), ":0\r\n");
    assert_eq!(admin.cmd(&["RENAME", "renamed", "moved"]), "+OK\r\n");
    assert_eq!(admin.cmd(&["MOVE", "moved", "1"]), ":1\r\n");
    assert_eq!(reply(&mut by_move), array(&["moved", "b"]));
    assert_eq!(admin.cmd(&["DBSIZE"]), ":0\r\n");
}
