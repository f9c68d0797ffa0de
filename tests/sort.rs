//! SORT and SORT_RO, byte for byte as Redis 7.0 answers them (expectations checked against
//! redis-server 7.0.15). Sets are sorted numerically or with ALPHA, where Redis's unspecified
//! set order cannot show.

mod common;
use common::{
    array, bulk, check, check_new, Raw, Server, NOT_INT, ONE_SHARD_CLUSTER, SYNTAX, WRONGTYPE,
};

const NOT_DOUBLE: &str = "-ERR One or more scores can't be converted into double\r\n";

#[test]
fn sort_orders_lists_sets_and_sorted_sets_numerically_and_alphabetically() {
    check_new(&[
        (&["RPUSH", "l", "3", "1", "10", "2", "1.5", "-1"], ":6\r\n"),
        (&["SORT", "l"], &array(&["-1", "1", "1.5", "2", "3", "10"])),
        (
            &["SORT", "l", "DESC"],
            &array(&["10", "3", "2", "1.5", "1", "-1"]),
        ),
        (
            &["SORT", "l", "ALPHA"],
            &array(&["-1", "1", "1.5", "10", "2", "3"]),
        ),
        (&["SADD", "s", "5", "30", "4", "100"], ":4\r\n"),
        (&["SORT", "s"], &array(&["4", "5", "30", "100"])),
        (
            &["SORT", "s", "ALPHA", "DESC"],
            &array(&["5", "4", "30", "100"]),
        ),
        // A sorted set sorts its members, not its scores.
        (&["ZADD", "z", "1", "30", "2", "4", "3", "100"], ":3\r\n"),
        (&["SORT", "z"], &array(&["4", "30", "100"])),
        (&["SORT_RO", "z", "ALPHA"], &array(&["100", "30", "4"])),
        (&["SORT", "nokey"], "*0\r\n"),
    ]);
}

#[test]
fn sort_limit_clamps_like_redis() {
    check_new(&[
        (&["RPUSH", "l", "5", "4", "3", "2", "1"], ":5\r\n"),
        (&["SORT", "l", "LIMIT", "1", "2"], &array(&["2", "3"])),
        (&["SORT", "l", "LIMIT", "-5", "2"], &array(&["1", "2"])),
        (&["SORT", "l", "LIMIT", "3", "-1"], &array(&["4", "5"])),
        (&["SORT", "l", "LIMIT", "3", "100"], &array(&["4", "5"])),
        (&["SORT", "l", "LIMIT", "5", "1"], "*0\r\n"),
        (&["SORT", "l", "LIMIT", "0", "0"], "*0\r\n"),
        (
            &["SORT", "l", "DESC", "LIMIT", "0", "2"],
            &array(&["5", "4"]),
        ),
        (&["SORT", "l", "LIMIT", "a", "1"], NOT_INT),
        (&["SORT", "l", "LIMIT", "1"], SYNTAX),
    ]);
}

#[test]
fn sort_by_constant_keeps_native_order_with_limit_and_desc() {
    check_new(&[
        (&["RPUSH", "l", "b", "c", "a"], ":3\r\n"),
        (&["SORT", "l", "BY", "nosort"], &array(&["b", "c", "a"])),
        (
            &["SORT", "l", "BY", "nosort", "DESC"],
            &array(&["a", "c", "b"]),
        ),
        (
            &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "5"],
            &array(&["c", "b"]),
        ),
        // A sorted set's native order is by score.
        (&["ZADD", "z", "3", "x", "1", "y", "2", "w"], ":3\r\n"),
        (&["SORT", "z", "BY", "nosort"], &array(&["y", "w", "x"])),
        (
            &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "1"],
            &array(&["w"]),
        ),
        // Intsets are kept in ascending order.
        (&["SADD", "s", "30", "-2", "7"], ":3\r\n"),
        (&["SORT", "s", "BY", "nosort"], &array(&["-2", "7", "30"])),
        // With STORE a set is sorted ALPHA instead.
        (&["SORT", "s", "BY", "nosort", "STORE", "d"], ":3\r\n"),
        (&["LRANGE", "d", "0", "-1"], &array(&["-2", "30", "7"])),
    ]);
}

#[test]
fn sort_by_and_get_patterns_read_strings_and_hash_fields() {
    check_new(&[
        (&["RPUSH", "l", "1", "2", "3"], ":3\r\n"),
        (&["MSET", "w_1", "30", "w_2", "10", "w_3", "20"], "+OK\r\n"),
        (&["HSET", "h_1", "f", "b"], ":1\r\n"),
        (&["HSET", "h_3", "f", "a"], ":1\r\n"),
        (&["SORT", "l", "BY", "w_*"], &array(&["2", "3", "1"])),
        (
            &["SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*"],
            &array(&["2", "10", "3", "20", "1", "30"]),
        ),
        // Missing hash fields and keys of another type are nil.
        (
            &["SORT", "l", "GET", "h_*->f", "GET", "h_*->g", "GET", "l"],
            "*9\r\n$1\r\nb\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$1\r\na\r\n$-1\r\n$-1\r\n",
        ),
        // Missing BY values sort first under ALPHA (the input order among them).
        (
            &["SORT", "l", "BY", "h_*->f", "ALPHA"],
            &array(&["2", "3", "1"]),
        ),
        // Missing numeric weights are 0: ties fall back to comparing the elements.
        (&["SORT", "l", "BY", "nope_*"], &array(&["1", "2", "3"])),
        (
            &["SORT", "l", "BY", "nope_*", "DESC"],
            &array(&["3", "2", "1"]),
        ),
        (&["SET", "w_2", "abc"], "+OK\r\n"),
        (&["SORT", "l", "BY", "w_*"], NOT_DOUBLE),
        (
            &["SORT", "l", "BY", "w_*", "ALPHA"],
            &array(&["3", "1", "2"]),
        ),
        (&["RPUSH", "bad", "1", "x"], ":2\r\n"),
        (&["SORT", "bad"], NOT_DOUBLE),
    ]);
}

#[test]
fn sort_weights_parse_like_strtod() {
    check_new(&[
        (&["RPUSH", "l", " 4", "0x10", "", "1e2", "-inf"], ":5\r\n"),
        (&["SORT", "l"], &array(&["-inf", "", " 4", "0x10", "1e2"])),
        (&["RPUSH", "l", "4 "], ":6\r\n"),
        (&["SORT", "l"], NOT_DOUBLE),
        (&["RPUSH", "m", "1e400"], ":1\r\n"),
        (&["SORT", "m"], NOT_DOUBLE),
        (&["RPUSH", "n", "nan"], ":1\r\n"),
        (&["SORT", "n"], NOT_DOUBLE),
    ]);
}

#[test]
fn sort_store_writes_a_list_and_an_empty_result_deletes_the_destination() {
    check_new(&[
        (&["RPUSH", "l", "2", "3", "1"], ":3\r\n"),
        (&["SET", "d", "x"], "+OK\r\n"),
        (&["EXPIRE", "d", "100"], ":1\r\n"),
        (&["SORT", "l", "STORE", "d"], ":3\r\n"),
        (&["TYPE", "d"], "+list\r\n"),
        (&["TTL", "d"], ":-1\r\n"),
        (&["LRANGE", "d", "0", "-1"], &array(&["1", "2", "3"])),
        // GET values are stored; missing ones as empty strings.
        (&["SET", "w_2", "two"], "+OK\r\n"),
        (
            &["SORT", "l", "GET", "#", "GET", "w_*", "STORE", "d"],
            ":6\r\n",
        ),
        (
            &["LRANGE", "d", "0", "-1"],
            &array(&["1", "", "2", "two", "3", ""]),
        ),
        // The source itself may be the destination.
        (&["SORT", "l", "DESC", "STORE", "l"], ":3\r\n"),
        (&["LRANGE", "l", "0", "-1"], &array(&["3", "2", "1"])),
        (&["SORT", "nokey", "STORE", "d"], ":0\r\n"),
        (&["EXISTS", "d"], ":0\r\n"),
        (&["SORT", "l", "LIMIT", "0", "0", "STORE", "l"], ":0\r\n"),
        (&["EXISTS", "l"], ":0\r\n"),
    ]);
}

#[test]
fn sort_rejects_bad_types_and_options() {
    check_new(&[
        (&["SET", "str", "1"], "+OK\r\n"),
        (&["SORT", "str"], WRONGTYPE),
        (&["HSET", "h", "a", "1"], ":1\r\n"),
        (&["SORT_RO", "h"], WRONGTYPE),
        (&["RPUSH", "l", "1"], ":1\r\n"),
        (&["SORT_RO", "l", "STORE", "d"], SYNTAX),
        (&["SORT", "l", "BOGUS"], SYNTAX),
        (&["SORT", "l", "GET"], SYNTAX),
        (&["SORT", "l", "BY"], SYNTAX),
        // Options are parsed before the key is read.
        (&["SORT", "str", "BOGUS"], SYNTAX),
        (
            &["SORT"],
            "-ERR wrong number of arguments for 'sort' command\r\n",
        ),
        (&["EXISTS", "d"], ":0\r\n"),
    ]);
}

#[test]
fn sort_converts_a_listpack_sorted_set_to_skiplist() {
    check_new(&[
        (&["ZADD", "z", "1", "a"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "z"], &bulk("listpack")),
        (&["SORT_RO", "z", "ALPHA"], &array(&["a"])),
        (&["OBJECT", "ENCODING", "z"], &bulk("skiplist")),
    ]);
}

#[test]
fn sort_replies_in_resp3_with_null_for_missing_gets() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.resp3 = true;
    assert!(c.cmd(&["HELLO", "3"]).starts_with('%'));
    check(
        &mut c,
        &[
            (&["RPUSH", "l", "b", "a"], ":2\r\n"),
            (&["SET", "w_a", "1"], "+OK\r\n"),
            (
                &["SORT", "l", "ALPHA", "GET", "#", "GET", "w_*"],
                "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n_\r\n",
            ),
            (&["SORT", "l", "ALPHA", "STORE", "d"], ":2\r\n"),
        ],
    );
}

#[test]
fn command_getkeys_for_sort_names_the_key_and_the_last_store() {
    check_new(&[
        (
            &[
                "COMMAND", "GETKEYS", "SORT", "k", "GET", "store", "STORE", "d",
            ],
            &array(&["k", "d"]),
        ),
        (
            &[
                "COMMAND", "GETKEYS", "SORT", "k", "STORE", "a", "STORE", "b",
            ],
            &array(&["k", "b"]),
        ),
        (
            &["COMMAND", "GETKEYS", "SORT_RO", "k", "BY", "w_*"],
            &array(&["k"]),
        ),
    ]);
}

#[test]
fn sort_patterns_are_refused_in_cluster_mode() {
    let s = Server::start(ONE_SHARD_CLUSTER);
    check(
        &mut s.raw(),
        &[
            (&["RPUSH", "l", "2", "1"], ":2\r\n"),
            (&["SORT", "l"], &array(&["1", "2"])),
            (&["SORT", "l", "BY", "nosort"], &array(&["2", "1"])),
            (
                &["SORT", "l", "BY", "w_*"],
                "-ERR BY option of SORT denied in Cluster mode.\r\n",
            ),
            (
                &["SORT_RO", "l", "GET", "#"],
                "-ERR GET option of SORT denied in Cluster mode.\r\n",
            ),
            // The STORE destination must be in the key's slot.
            (
                &["SORT", "l", "STORE", "other"],
                "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
            ),
            (&["SORT", "{l}", "STORE", "{l}d"], ":0\r\n"),
        ],
    );
}

#[test]
fn sort_store_wakes_a_client_blocked_on_the_destination() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut blocked = s.raw();
    c.cmd(&["RPUSH", "l", "2", "1"]);
    blocked.send_raw(&Raw::encode(&[b"BLPOP", b"d", b"5"]));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(c.cmd(&["SORT", "l", "STORE", "d"]), ":2\r\n");
    let reply = blocked.read_reply().expect("BLPOP reply");
    assert_eq!(String::from_utf8_lossy(&reply), array(&["d", "1"]));
    assert_eq!(c.cmd(&["LRANGE", "d", "0", "-1"]), array(&["2"]));
}

#[test]
fn redis_crate_sorts_with_by_and_get() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let _: () = redis::cmd("RPUSH")
        .arg("ids")
        .arg(&[2, 1, 3])
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("MSET")
        .arg(&["name_1", "one", "name_2", "two"])
        .query(&mut c)
        .unwrap();
    let names: Vec<Option<String>> = redis::cmd("SORT")
        .arg("ids")
        .arg("GET")
        .arg("name_*")
        .query(&mut c)
        .unwrap();
    assert_eq!(names, vec![Some("one".into()), Some("two".into()), None]);
}

#[test]
fn sort_by_with_limit_leaves_ties_where_redis_partial_quicksort_does() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let elements: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let mut push = vec!["RPUSH", "l"];
    push.extend(elements.iter().map(String::as_str));
    assert_eq!(c.cmd(&push), ":20\r\n");
    for i in (1..=20).step_by(2) {
        assert_eq!(c.cmd(&["SET", &format!("w_{i}"), "x"]), "+OK\r\n");
    }
    check(
        &mut c,
        &[
            // Without a partial LIMIT the sort is stable: missing weights first, input order.
            (
                &["SORT", "l", "BY", "w_*", "ALPHA"],
                &array(&[
                    "2", "4", "6", "8", "10", "12", "14", "16", "18", "20", "1", "3", "5", "7",
                    "9", "11", "13", "15", "17", "19",
                ]),
            ),
            (
                &["SORT", "l", "BY", "w_*", "ALPHA", "LIMIT", "0", "5"],
                &array(&["20", "12", "4", "14", "8"]),
            ),
            (
                &["SORT", "l", "BY", "w_*", "ALPHA", "LIMIT", "8", "4"],
                &array(&["10", "6", "11", "3"]),
            ),
            (
                &["SORT", "l", "BY", "w_*", "ALPHA", "DESC", "LIMIT", "1", "3"],
                &array(&["3", "5", "7"]),
            ),
        ],
    );
}

#[test]
fn sort_store_results_survive_sigkill_with_appendfsync_always() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    {
        let mut c = s.raw();
        c.cmd(&["RPUSH", "l", "3", "1", "2"]);
        c.cmd(&["ZADD", "z", "1", "b", "2", "a"]);
        assert_eq!(c.cmd(&["SORT", "l", "STORE", "sorted"]), ":3\r\n");
        assert_eq!(c.cmd(&["SORT", "z", "ALPHA", "STORE", "zs"]), ":2\r\n");
        c.cmd(&["SET", "gone", "x"]);
        assert_eq!(c.cmd(&["SORT", "nokey", "STORE", "gone"]), ":0\r\n");
    }
    s.kill9();
    s.restart();
    check(
        &mut s.raw(),
        &[
            (&["LRANGE", "sorted", "0", "-1"], &array(&["1", "2", "3"])),
            (&["LRANGE", "zs", "0", "-1"], &array(&["a", "b"])),
            (&["EXISTS", "gone"], ":0\r\n"),
            (&["OBJECT", "ENCODING", "z"], &bulk("skiplist")),
            (&["LRANGE", "l", "0", "-1"], &array(&["3", "1", "2"])),
        ],
    );
}
