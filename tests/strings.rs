//! String commands, byte for byte as Redis 7.0 answers them (every expectation was checked against
//! redis-server 7.0.15).

mod common;
use common::{bulk, check, check_new, Raw, Server, NOT_FLOAT, NOT_INT, SYNTAX, WRONGTYPE};

use std::time::Duration;

use berth::storage::{encode_collection, Kind, Store};

/// A server whose db 0 holds `list`, a key of a non-string type, written through the storage
/// layer before start (so WRONGTYPE can be tested without the list commands).
fn server_with_list() -> (Server, std::path::PathBuf) {
    let dir = common::temp_dir("strings");
    {
        let mut store = Store::open(&dir, 1 << 20, 16).expect("open store");
        let rec = encode_collection(Kind::List, 0, 1, 1, &[]);
        store.put(0, b"list", rec).expect("seed list");
        store.flush().expect("flush");
    }
    (Server::start_in(&dir, &[]), dir)
}

/// Asserts that `key` still has the short TTL it was given: gone after it passes.
fn assert_expires(c: &mut Raw, key: &str) {
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(c.cmd(&["GET", key]), "$-1\r\n", "{key} should have expired");
}

#[test]
fn set_options_follow_redis_rules() {
    check_new(&[
        (&["SET", "k", "v", "KEEPTTL", "KEEPTTL"], "+OK\r\n"),
        (&["SET", "k", "v", "EX", "10", "EX", "20"], "+OK\r\n"),
        (&["SET", "k", "v", "EX", "0", "BLAH"], SYNTAX),
        (&["SET", "k", "v", "EX", "abc", "XX", "NX"], SYNTAX),
        (&["SET", "k", "v", "PX", "100", "EX", "10"], SYNTAX),
        (&["SET", "k", "v", "KEEPTTL", "EX", "10"], SYNTAX),
        (&["SET", "k", "v", "EX"], SYNTAX),
        (&["SET", "k", "v", "EX", "abc"], NOT_INT),
        (
            &["SET", "k", "v", "EX", "0"],
            "-ERR invalid expire time in 'set' command\r\n",
        ),
        (
            &["SET", "k", "v", "EX", "9223372036854775"],
            "-ERR invalid expire time in 'set' command\r\n",
        ),
        (
            &["SET", "k", "v", "PX", "9223372036854775000"],
            "-ERR invalid expire time in 'set' command\r\n",
        ),
        (&["SET", "k", "v1", "NX", "GET"], "$1\r\nv\r\n"),
        (&["GET", "k"], "$1\r\nv\r\n"),
        (&["SET", "k", "v2", "GET", "GET"], "$1\r\nv\r\n"),
        (&["SET", "k", "v3", "XX"], "+OK\r\n"),
        (&["SET", "nx", "v", "XX"], "$-1\r\n"),
        (&["SET", "nx", "v", "XX", "GET"], "$-1\r\n"),
        (&["SET", "nx", "v", "NX"], "+OK\r\n"),
        (&["SET", "nx", "w", "NX"], "$-1\r\n"),
        (&["SET", "k", "v", "PXAT", "1"], "+OK\r\n"),
        (&["GET", "k"], "$-1\r\n"),
    ]);
}

#[test]
fn set_keepttl_keeps_and_plain_set_drops_the_ttl() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SET", "a", "1", "PX", "300"], "+OK\r\n"),
            (&["SET", "a", "2", "KEEPTTL"], "+OK\r\n"),
            (&["SET", "b", "1", "PX", "300"], "+OK\r\n"),
            (&["SET", "b", "2"], "+OK\r\n"),
            (&["SET", "c", "1", "PX", "300"], "+OK\r\n"),
            (&["GETSET", "c", "2"], "$1\r\n1\r\n"),
        ],
    );
    assert_expires(&mut c, "a");
    assert_eq!(c.cmd(&["GET", "b"]), "$1\r\n2\r\n");
    assert_eq!(c.cmd(&["GET", "c"]), "$1\r\n2\r\n");
}

#[test]
fn setnx_setex_psetex_getset_getdel_reply_like_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SETNX", "k", "v"], ":1\r\n"),
            (&["SETNX", "k", "w"], ":0\r\n"),
            (
                &["SETEX", "k", "0", "v"],
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
            (&["SETEX", "k", "abc", "v"], NOT_INT),
            (
                &["PSETEX", "k", "-5", "v"],
                "-ERR invalid expire time in 'psetex' command\r\n",
            ),
            (&["SETEX", "k", "10", "v2"], "+OK\r\n"),
            (&["GETSET", "k", "v3"], "$2\r\nv2\r\n"),
            (&["GETSET", "new", "x"], "$-1\r\n"),
            (&["GETDEL", "k"], "$2\r\nv3\r\n"),
            (&["GETDEL", "k"], "$-1\r\n"),
            (&["GET", "k"], "$-1\r\n"),
            (&["PSETEX", "p", "300", "v"], "+OK\r\n"),
        ],
    );
    assert_expires(&mut c, "p");
}

#[test]
fn getex_parses_options_before_looking_at_the_key() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SET", "k", "v"], "+OK\r\n"),
            (&["GETEX", "k", "PERSIST", "PERSIST"], "$1\r\nv\r\n"),
            (&["GETEX", "k", "EX", "10", "EX", "20"], "$1\r\nv\r\n"),
            (&["GETEX", "k", "PERSIST", "EX", "10"], SYNTAX),
            (&["GETEX", "k", "KEEPTTL"], SYNTAX),
            (&["GETEX", "k", "NX"], SYNTAX),
            (&["GETEX", "k", "EX"], SYNTAX),
            // The expiry is validated only for an existing string.
            (&["GETEX", "nokey", "EX", "abc"], "$-1\r\n"),
            (&["GETEX", "k", "EX", "abc"], NOT_INT),
            (
                &["GETEX", "k", "EX", "0"],
                "-ERR invalid expire time in 'getex' command\r\n",
            ),
            (&["GETEX", "k", "PX", "300"], "$1\r\nv\r\n"),
            (&["SET", "p", "v", "PX", "300"], "+OK\r\n"),
            (&["GETEX", "p", "PERSIST"], "$1\r\nv\r\n"),
            (&["SET", "q", "v"], "+OK\r\n"),
            (&["GETEX", "q", "EXAT", "1"], "$1\r\nv\r\n"),
            (&["GET", "q"], "$-1\r\n"),
        ],
    );
    assert_expires(&mut c, "k");
    assert_eq!(c.cmd(&["GET", "p"]), "$1\r\nv\r\n");
}

#[test]
fn mget_mset_msetnx_reply_like_redis() {
    let (s, dir) = server_with_list();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &["MSET", "a", "1", "b"],
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            (
                &["MSETNX", "a", "1", "b"],
                "-ERR wrong number of arguments for 'msetnx' command\r\n",
            ),
            (&["MSET", "a", "1", "b", "2"], "+OK\r\n"),
            (&["MSETNX", "a", "1", "c", "3"], ":0\r\n"),
            (&["MSETNX", "c", "3", "d", "4"], ":1\r\n"),
            (
                &["MGET", "a", "b", "c", "d", "list", "none"],
                "*6\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$-1\r\n$-1\r\n",
            ),
        ],
    );
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn incr_family_checks_integers_and_overflow() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["INCR", "n"], ":1\r\n"),
            (&["INCRBY", "n", "9"], ":10\r\n"),
            (&["DECR", "n"], ":9\r\n"),
            (&["DECRBY", "n", "5"], ":4\r\n"),
            (
                &["DECRBY", "n", "-9223372036854775808"],
                "-ERR decrement would overflow\r\n",
            ),
            (&["INCRBY", "n", "abc"], NOT_INT),
            (
                &["INCRBY", "n", "9223372036854775800"],
                ":9223372036854775804\r\n",
            ),
            (
                &["INCRBY", "n", "4"],
                "-ERR increment or decrement would overflow\r\n",
            ),
            (&["DECRBY", "n", "9223372036854775807"], ":-3\r\n"),
            (&["SET", "n", "9223372036854775807"], "+OK\r\n"),
            (
                &["INCR", "n"],
                "-ERR increment or decrement would overflow\r\n",
            ),
            (&["SET", "n", "-9223372036854775808"], "+OK\r\n"),
            (
                &["DECR", "n"],
                "-ERR increment or decrement would overflow\r\n",
            ),
            (&["SET", "n", "010"], "+OK\r\n"),
            (&["INCR", "n"], NOT_INT),
            (&["SET", "n", " 1"], "+OK\r\n"),
            (&["INCR", "n"], NOT_INT),
            (&["SET", "n", "1.5"], "+OK\r\n"),
            (&["INCR", "n"], NOT_INT),
            (&["SET", "t", "10", "PX", "300"], "+OK\r\n"),
            (&["INCRBY", "t", "5"], ":15\r\n"),
        ],
    );
    assert_expires(&mut c, "t");
}

#[test]
fn incrbyfloat_formats_like_redis_long_double() {
    check_new(&[
        (&["SET", "f", "10.5"], "+OK\r\n"),
        (&["INCRBYFLOAT", "f", "0.1"], &bulk("10.6")),
        (&["GET", "f"], &bulk("10.6")),
        (&["SET", "f", "5.0e3"], "+OK\r\n"),
        (&["INCRBYFLOAT", "f", "2.0e2"], &bulk("5200")),
        (&["INCRBYFLOAT", "f", "0x10"], &bulk("5216")),
        (&["INCRBYFLOAT", "new", "3"], &bulk("3")),
        (&["INCRBYFLOAT", "new", "-3"], &bulk("0")),
        (&["INCRBYFLOAT", "new", "1.5e-5"], &bulk("0.000015")),
        (&["INCRBYFLOAT", "g", "0.1"], &bulk("0.1")),
        (&["INCRBYFLOAT", "g", "0.2"], &bulk("0.3")),
    ]);
}

#[test]
fn incrbyfloat_rejects_bad_floats_and_infinity() {
    check_new(&[
        (&["SET", "f", "1"], "+OK\r\n"),
        (&["INCRBYFLOAT", "f", "abc"], NOT_FLOAT),
        (&["INCRBYFLOAT", "f", " 1"], NOT_FLOAT),
        (&["INCRBYFLOAT", "f", ""], NOT_FLOAT),
        (
            &["INCRBYFLOAT", "f", "inf"],
            "-ERR increment would produce NaN or Infinity\r\n",
        ),
        (&["INCRBYFLOAT", "f", "1e4933"], NOT_FLOAT),
        (&["SET", "f", "abc"], "+OK\r\n"),
        (&["INCRBYFLOAT", "f", "1"], NOT_FLOAT),
        (&["GET", "f"], &bulk("abc")),
    ]);
}

#[test]
fn incrbyfloat_keeps_the_ttl() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "f", "1.5", "PX", "300"]), "+OK\r\n");
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "1"]), bulk("2.5"));
    assert_expires(&mut c, "f");
}

#[test]
fn append_and_strlen_reply_lengths() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["APPEND", "k", "hello"], ":5\r\n"),
            (&["APPEND", "k", " world"], ":11\r\n"),
            (&["APPEND", "k", ""], ":11\r\n"),
            (&["GET", "k"], &bulk("hello world")),
            (&["STRLEN", "k"], ":11\r\n"),
            (&["STRLEN", "nokey"], ":0\r\n"),
            (&["SET", "num", "123"], "+OK\r\n"),
            (&["APPEND", "num", "4"], ":4\r\n"),
            (&["GET", "num"], &bulk("1234")),
            (&["SET", "t", "v", "PX", "300"], "+OK\r\n"),
            (&["APPEND", "t", "x"], ":2\r\n"),
        ],
    );
    assert_expires(&mut c, "t");
}

#[test]
fn getrange_and_substr_handle_negative_and_out_of_range_indexes() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let empty = "$0\r\n\r\n";
    check(
        &mut c,
        &[
            (&["SET", "s", "Hello World"], "+OK\r\n"),
            (&["GETRANGE", "s", "0", "4"], &bulk("Hello")),
            (&["GETRANGE", "s", "-5", "-1"], &bulk("World")),
            (&["GETRANGE", "s", "-1", "-5"], empty),
            (&["GETRANGE", "s", "-100", "-200"], empty),
            (&["GETRANGE", "s", "-100", "-1"], &bulk("Hello World")),
            (&["GETRANGE", "s", "0", "100"], &bulk("Hello World")),
            (&["GETRANGE", "s", "5", "3"], empty),
            (&["GETRANGE", "s", "100", "200"], empty),
            (&["GETRANGE", "s", "-1", "-1"], &bulk("d")),
            (
                &[
                    "GETRANGE",
                    "s",
                    "-9223372036854775808",
                    "9223372036854775807",
                ],
                &bulk("Hello World"),
            ),
            (&["GETRANGE", "nokey", "0", "-1"], empty),
            (&["GETRANGE", "s", "a", "1"], NOT_INT),
            (&["GETRANGE", "s", "0", "b"], NOT_INT),
            (&["SUBSTR", "s", "0", "4"], &bulk("Hello")),
            (&["SUBSTR", "s", "-3", "-1"], &bulk("rld")),
            (&["SET", "e", ""], "+OK\r\n"),
            (&["GETRANGE", "e", "0", "-1"], empty),
        ],
    );
}

#[test]
fn setrange_pads_with_zeros_and_checks_offsets() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SETRANGE", "k", "5", "hi"], ":7\r\n"),
            (&["GET", "k"], "$7\r\n\0\0\0\0\0hi\r\n"),
            (&["SETRANGE", "k", "0", "ab"], ":7\r\n"),
            (&["GET", "k"], "$7\r\nab\0\0\0hi\r\n"),
            (&["SETRANGE", "k", "0", ""], ":7\r\n"),
            (
                &["SETRANGE", "k", "-1", "x"],
                "-ERR offset is out of range\r\n",
            ),
            (&["SETRANGE", "k", "x", "x"], NOT_INT),
            (
                &["SETRANGE", "k", "536870911", "xx"],
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
            ),
            // Writing nothing on a missing key creates nothing, whatever the offset.
            (&["SETRANGE", "none", "0", ""], ":0\r\n"),
            (&["SETRANGE", "none", "10", ""], ":0\r\n"),
            (&["GET", "none"], "$-1\r\n"),
            (&["SETRANGE", "none", "536870912", ""], ":0\r\n"),
            (&["SET", "t", "v", "PX", "300"], "+OK\r\n"),
            (&["SETRANGE", "t", "3", "x"], ":4\r\n"),
        ],
    );
    assert_expires(&mut c, "t");
}

#[test]
fn string_growth_is_limited_by_proto_max_bulk_len() {
    let s = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.raw();
    let too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    check(
        &mut c,
        &[
            (&["SETRANGE", "k", "1048575", "x"], ":1048576\r\n"),
            (&["SETRANGE", "k2", "1048576", "x"], too_big),
            (&["APPEND", "k", "x"], too_big),
            (&["SETRANGE", "k", "1048575", "y"], ":1048576\r\n"),
        ],
    );
}

#[test]
fn lcs_replies_text_length_and_ranges() {
    check_new(
        &[
            (&["MSET", "a", "ohmytext", "b", "mynewtext"], "+OK\r\n"),
            (&["LCS", "a", "b"], &bulk("mytext")),
            (&["LCS", "a", "b", "LEN"], ":6\r\n"),
            (
                &["LCS", "a", "b", "IDX"],
                "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
            ),
            (
                &["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
                "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
            ),
            (
                &["LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "-4"],
                "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
            ),
            (&["LCS", "a", "missing"], "$0\r\n\r\n"),
            (&["LCS", "x", "y", "IDX"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
            (&["MSET", "c", "ABCBDAB", "d", "BDCABA"], "+OK\r\n"),
            (&["LCS", "c", "d"], &bulk("BDAB")),
        ],
    );
}

#[test]
fn lcs_idx_is_a_map_in_resp3() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["MSET", "a", "ohmytext", "b", "mynewtext"]);
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        c.cmd(&["LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "3"]),
        "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
}

#[test]
fn lcs_rejects_bad_options() {
    check_new(&[
        (
            &["LCS", "a", "b", "IDX", "LEN"],
            "-ERR If you want both the length and indexes, please just use IDX.\r\n",
        ),
        (&["LCS", "a", "b", "MINMATCHLEN"], SYNTAX),
        (&["LCS", "a", "b", "MINMATCHLEN", "x"], NOT_INT),
        (&["LCS", "a", "b", "FOO"], SYNTAX),
    ]);
}

#[test]
fn lcs_refuses_tables_larger_than_proto_max_bulk_len() {
    let s = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.raw();
    let long = "a".repeat(1000);
    c.cmd(&["SET", "a", &long]);
    assert_eq!(
        c.cmd(&["LCS", "a", "a", "LEN"]),
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n"
    );
}

#[test]
fn string_commands_on_other_types_return_wrongtype() {
    let (s, dir) = server_with_list();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["GET", "list"], WRONGTYPE),
            (&["SET", "list", "v", "GET"], WRONGTYPE),
            (&["GETSET", "list", "v"], WRONGTYPE),
            (&["GETDEL", "list"], WRONGTYPE),
            (&["GETEX", "list", "EX", "abc"], WRONGTYPE),
            (&["INCR", "list"], WRONGTYPE),
            (&["INCRBYFLOAT", "list", "1"], WRONGTYPE),
            (&["APPEND", "list", "x"], WRONGTYPE),
            (&["STRLEN", "list"], WRONGTYPE),
            (&["GETRANGE", "list", "0", "1"], WRONGTYPE),
            (&["GETRANGE", "list", "a", "1"], NOT_INT),
            (&["SETRANGE", "list", "0", ""], WRONGTYPE),
            (
                &["SETRANGE", "list", "-1", "x"],
                "-ERR offset is out of range\r\n",
            ),
            (
                &["LCS", "list", "nokey"],
                "-ERR The specified keys must contain string values\r\n",
            ),
            (&["SETNX", "list", "v"], ":0\r\n"),
            (&["SET", "list", "v"], "+OK\r\n"),
            (&["GET", "list"], "$1\r\nv\r\n"),
        ],
    );
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}
