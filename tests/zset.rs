//! Sorted set commands, byte for byte as Redis 7.0 answers them (every expectation in the
//! table-driven tests was produced by redis-server 7.0.15), plus RESP3, the `redis` crate,
//! redis-cli, larger sets (rank scans from either end, the lex seek) and a SIGKILL restart.

mod common;
use common::{
    array, bulk, check, check_new, reply, send, wait_blocked, Raw, Server, NIL_ARRAY, WRONGTYPE,
};
use std::thread;
use std::time::{Duration, Instant};

fn hello3(c: &mut Raw) {
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
}

#[test]
fn zadd_counts_added_members_and_ch_counts_changed_ones() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2", "b", "3", "c"], ":3\r\n"),
            (&["ZADD", "z", "1", "a", "5", "b", "4", "d"], ":1\r\n"),
            (&["ZADD", "z", "CH", "1", "a", "6", "b", "4", "d", "7", "e"], ":2\r\n"),
            (&["ZADD", "z", "ch", "6", "b"], ":0\r\n"),
            (&["ZRANGE", "z", "0", "-1", "WITHSCORES"], "*10\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nb\r\n$1\r\n6\r\n$1\r\ne\r\n$1\r\n7\r\n"),
            (&["TYPE", "z"], "+zset\r\n"),
            (&["ZCARD", "z"], ":5\r\n"),
        ],
    );
}

#[test]
fn zadd_nx_xx_gt_lt_follow_redis_rules() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "5", "a"], ":1\r\n"),
            (&["ZADD", "z", "NX", "1", "a", "2", "b"], ":1\r\n"),
            (&["ZADD", "z", "XX", "9", "a", "3", "c"], ":0\r\n"),
            (
                &["ZADD", "z", "GT", "CH", "4", "a", "10", "b", "1", "n"],
                ":2\r\n",
            ),
            (&["ZADD", "z", "LT", "CH", "4", "a", "10", "b"], ":1\r\n"),
            (
                &["ZADD", "z", "XX", "GT", "CH", "100", "a", "100", "zz"],
                ":1\r\n",
            ),
            (&["ZADD", "z", "xx", "lt", "ch", "1", "a"], ":1\r\n"),
            (
                &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
                "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nn\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n10\r\n",
            ),
            (&["ZADD", "nokey", "XX", "1", "a"], ":0\r\n"),
            (&["ZADD", "nokey", "XX", "INCR", "1", "a"], "$-1\r\n"),
            (&["EXISTS", "nokey"], ":0\r\n"),
        ],
    );
}

#[test]
fn zadd_option_errors_match_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &["ZADD", "z"],
                "-ERR wrong number of arguments for 'zadd' command\r\n",
            ),
            (
                &["ZADD", "z", "1"],
                "-ERR wrong number of arguments for 'zadd' command\r\n",
            ),
            (&["ZADD", "z", "NX", "1"], "-ERR syntax error\r\n"),
            (&["ZADD", "z", "1", "a", "2"], "-ERR syntax error\r\n"),
            (
                &["ZADD", "z", "NX", "XX", "1", "a"],
                "-ERR XX and NX options at the same time are not compatible\r\n",
            ),
            (
                &["ZADD", "z", "NX", "GT", "1", "a"],
                "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
            ),
            (
                &["ZADD", "z", "NX", "LT", "1", "a"],
                "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
            ),
            (
                &["ZADD", "z", "GT", "LT", "1", "a"],
                "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
            ),
            (
                &["ZADD", "z", "INCR", "1", "a", "2", "b"],
                "-ERR INCR option supports a single increment-element pair\r\n",
            ),
            (
                &["ZADD", "z", "abc", "a"],
                "-ERR value is not a valid float\r\n",
            ),
            (
                &["ZADD", "z", "nan", "a"],
                "-ERR value is not a valid float\r\n",
            ),
            (
                &["ZADD", "z", " 1", "a"],
                "-ERR value is not a valid float\r\n",
            ),
            (
                &["ZADD", "z", "1e400", "a"],
                "-ERR value is not a valid float\r\n",
            ),
            (
                &["ZADD", "z", "", "a"],
                "-ERR value is not a valid float\r\n",
            ),
            (
                &["ZADD", "z", "1", "a", "BOGUS", "2"],
                "-ERR value is not a valid float\r\n",
            ),
            (&["EXISTS", "z"], ":0\r\n"),
        ],
    );
}

#[test]
fn zadd_accepts_what_strtod_accepts() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "0x10", "hex"], ":1\r\n"),
            (&["ZADD", "z", "inf", "i", "-inf", "ni", "+inf", "pi", "1e3", "e", "-0", "negzero", "1.5e-3", "small"], ":6\r\n"),
            (&["ZRANGE", "z", "0", "-1", "WITHSCORES"], "*14\r\n$2\r\nni\r\n$4\r\n-inf\r\n$7\r\nnegzero\r\n$1\r\n0\r\n$5\r\nsmall\r\n$6\r\n0.0015\r\n$3\r\nhex\r\n$2\r\n16\r\n$1\r\ne\r\n$4\r\n1000\r\n$1\r\ni\r\n$3\r\ninf\r\n$2\r\npi\r\n$3\r\ninf\r\n"),
        ],
    );
}

#[test]
fn zadd_incr_and_zincrby_reply_the_new_score() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "INCR", "1.5", "a"], "$3\r\n1.5\r\n"),
            (&["ZADD", "z", "INCR", "1", "a"], "$3\r\n2.5\r\n"),
            (&["ZADD", "z", "NX", "INCR", "1", "a"], "$-1\r\n"),
            (&["ZADD", "z", "XX", "INCR", "1", "nope"], "$-1\r\n"),
            (&["ZADD", "z", "GT", "INCR", "-1", "a"], "$-1\r\n"),
            (&["ZADD", "z", "LT", "INCR", "-1", "a"], "$3\r\n1.5\r\n"),
            (
                &["ZINCRBY", "z", "0.1", "b"],
                "$19\r\n0.10000000000000001\r\n",
            ),
            (
                &["ZINCRBY", "z", "0.2", "b"],
                "$19\r\n0.30000000000000004\r\n",
            ),
            (
                &["ZINCRBY", "z", "1e300", "c"],
                "$23\r\n1.0000000000000001e+300\r\n",
            ),
            (&["ZINCRBY", "z", "inf", "c"], "$3\r\ninf\r\n"),
            (
                &["ZINCRBY", "z", "abc", "c"],
                "-ERR value is not a valid float\r\n",
            ),
            (&["ZINCRBY", "z", "nx", "c"], "-ERR syntax error\r\n"),
            (&["ZINCRBY", "nokey2", "5", "m"], "$1\r\n5\r\n"),
            (&["ZSCORE", "nokey2", "m"], "$1\r\n5\r\n"),
        ],
    );
}

#[test]
fn zincrby_to_nan_is_rejected() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "inf", "a"], ":1\r\n"),
            (
                &["ZINCRBY", "z", "-inf", "a"],
                "-ERR resulting score is not a number (NaN)\r\n",
            ),
            (
                &["ZADD", "z", "INCR", "-inf", "a"],
                "-ERR resulting score is not a number (NaN)\r\n",
            ),
            (&["ZSCORE", "z", "a"], "$3\r\ninf\r\n"),
        ],
    );
}

#[test]
fn zscore_zmscore_zcard_read_scores() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1.1", "a", "2", "b"], ":2\r\n"),
            (&["ZSCORE", "z", "a"], "$18\r\n1.1000000000000001\r\n"),
            (&["ZSCORE", "z", "nope"], "$-1\r\n"),
            (&["ZSCORE", "nokey", "a"], "$-1\r\n"),
            (
                &["ZMSCORE", "z", "a", "nope", "b"],
                "*3\r\n$18\r\n1.1000000000000001\r\n$-1\r\n$1\r\n2\r\n",
            ),
            (&["ZMSCORE", "nokey", "a", "b"], "*2\r\n$-1\r\n$-1\r\n"),
            (&["ZCARD", "z"], ":2\r\n"),
            (&["ZCARD", "nokey"], ":0\r\n"),
        ],
    );
}

#[test]
fn zrem_deletes_members_and_the_emptied_key() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2", "b", "3", "c"], ":3\r\n"),
            (&["ZREM", "z", "a", "nope", "a"], ":1\r\n"),
            (&["ZREM", "z", "nope"], ":0\r\n"),
            (&["ZREM", "nokey", "a"], ":0\r\n"),
            (&["ZREM", "z", "b", "c"], ":2\r\n"),
            (&["EXISTS", "z"], ":0\r\n"),
            (&["TYPE", "z"], "+none\r\n"),
            (&["ZCARD", "z"], ":0\r\n"),
        ],
    );
}

#[test]
fn zrank_and_zrevrank_count_from_either_end() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &["ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d"],
                ":4\r\n",
            ),
            (&["ZRANK", "z", "a"], ":0\r\n"),
            (&["ZRANK", "z", "d"], ":3\r\n"),
            (&["ZREVRANK", "z", "a"], ":3\r\n"),
            (&["ZREVRANK", "z", "d"], ":0\r\n"),
            (&["ZRANK", "z", "nope"], "$-1\r\n"),
            (&["ZRANK", "nokey", "a"], "$-1\r\n"),
        ],
    );
}

#[test]
fn zrange_by_rank_clamps_like_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5", "f", "-inf", "g", "+inf", "h"], ":8\r\n"),
            (&["ZRANGE", "z", "0", "-1"], "*8\r\n$1\r\ng\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\nh\r\n"),
            (&["ZRANGE", "z", "0", "-1", "WITHSCORES"], "*16\r\n$1\r\ng\r\n$4\r\n-inf\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nf\r\n$1\r\n5\r\n$1\r\nh\r\n$3\r\ninf\r\n"),
            (&["ZRANGE", "z", "-3", "-1", "WITHSCORES"], "*6\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nf\r\n$1\r\n5\r\n$1\r\nh\r\n$3\r\ninf\r\n"),
            (&["ZRANGE", "z", "2", "1"], "*0\r\n"),
            (&["ZRANGE", "z", "5", "100"], "*3\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\nh\r\n"),
            (&["ZRANGE", "z", "-100", "2"], "*3\r\n$1\r\ng\r\n$1\r\na\r\n$1\r\nb\r\n"),
            (&["ZRANGE", "z", "100", "200"], "*0\r\n"),
            (&["ZRANGE", "z", "0", "-1", "REV", "WITHSCORES"], "*16\r\n$1\r\nh\r\n$3\r\ninf\r\n$1\r\nf\r\n$1\r\n5\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\ng\r\n$4\r\n-inf\r\n"),
            (&["ZRANGE", "z", "1", "3", "REV"], "*3\r\n$1\r\nf\r\n$1\r\ne\r\n$1\r\nd\r\n"),
            (&["ZRANGE", "z", "6", "7", "REV"], "*2\r\n$1\r\na\r\n$1\r\ng\r\n"),
            (&["ZREVRANGE", "z", "0", "2", "WITHSCORES"], "*6\r\n$1\r\nh\r\n$3\r\ninf\r\n$1\r\nf\r\n$1\r\n5\r\n$1\r\ne\r\n$1\r\n5\r\n"),
            (&["ZREVRANGE", "z", "-2", "-1"], "*2\r\n$1\r\na\r\n$1\r\ng\r\n"),
            (&["ZRANGE", "nokey", "0", "-1"], "*0\r\n"),
            (&["ZRANGE", "z", "x", "1"], "-ERR value is not an integer or out of range\r\n"),
        ],
    );
}

#[test]
fn zrange_by_score_handles_exclusive_and_infinite_bounds() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5", "f", "-inf", "g", "+inf", "h"], ":8\r\n"),
            (&["ZRANGE", "z", "(1", "5", "BYSCORE"], "*5\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"),
            (&["ZRANGE", "z", "(1", "(5", "BYSCORE", "WITHSCORES"], "*6\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n"),
            (&["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "3"], "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
            (&["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "3"], "*3\r\n$1\r\nf\r\n$1\r\ne\r\n$1\r\nd\r\n"),
            (&["ZRANGE", "z", "5", "1", "BYSCORE", "REV"], "*6\r\n$1\r\nf\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"),
            (&["ZRANGE", "z", "1", "5", "BYSCORE", "REV"], "*0\r\n"),
            (&["ZRANGE", "z", "1", "1", "BYSCORE"], "*1\r\n$1\r\na\r\n"),
            (&["ZRANGE", "z", "(1", "1", "BYSCORE"], "*0\r\n"),
            (&["ZRANGE", "z", "(-inf", "(+inf", "BYSCORE"], "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"),
            (&["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES", "LIMIT", "2", "2"], "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
            (&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "2", "-1"], "*6\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\nh\r\n"),
            (&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-2", "1"], "*0\r\n"),
            (&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "2", "0"], "*0\r\n"),
            (&["ZRANGEBYSCORE", "z", "", "3"], "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
            (&["ZRANGEBYSCORE", "z", " 2", "3"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
            (&["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"], "*16\r\n$1\r\nh\r\n$3\r\ninf\r\n$1\r\nf\r\n$1\r\n5\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\ng\r\n$4\r\n-inf\r\n"),
            (&["ZREVRANGEBYSCORE", "z", "4", "2", "LIMIT", "1", "1"], "*1\r\n$1\r\nc\r\n"),
            (&["ZREVRANGEBYSCORE", "z", "2", "4"], "*0\r\n"),
            (&["ZRANGE", "z", "x", "1", "BYSCORE"], "-ERR min or max is not a float\r\n"),
            (&["ZRANGEBYSCORE", "z", "1", "nan"], "-ERR min or max is not a float\r\n"),
            (&["ZRANGEBYSCORE", "z", "(", "1"], "*1\r\n$1\r\na\r\n"),
            (&["ZRANGEBYSCORE", "z", "-inf", "+inf", "REV"], "-ERR syntax error\r\n"),
            (&["ZRANGEBYSCORE", "z", "-inf", "+inf", "BYSCORE"], "-ERR syntax error\r\n"),
            (&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1"], "-ERR syntax error\r\n"),
            (&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "x", "1"], "-ERR value is not an integer or out of range\r\n"),
        ],
    );
}

#[test]
fn zrange_by_lex_walks_members_in_order() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g"], ":7\r\n"),
            (&["ZRANGE", "l", "-", "+", "BYLEX"], "*7\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n"),
            (&["ZRANGE", "l", "[b", "(e", "BYLEX"], "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
            (&["ZRANGE", "l", "+", "-", "BYLEX", "REV", "LIMIT", "0", "2"], "*2\r\n$1\r\ng\r\n$1\r\nf\r\n"),
            (&["ZRANGEBYLEX", "l", "-", "[c"], "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
            (&["ZRANGEBYLEX", "l", "-", "(c"], "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
            (&["ZRANGEBYLEX", "l", "[aaa", "(g"], "*5\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"),
            (&["ZRANGEBYLEX", "l", "[e", "+", "LIMIT", "1", "1"], "*1\r\n$1\r\nf\r\n"),
            (&["ZRANGEBYLEX", "l", "(g", "+"], "*0\r\n"),
            (&["ZRANGEBYLEX", "l", "[c", "[a"], "*0\r\n"),
            (&["ZREVRANGEBYLEX", "l", "[c", "-"], "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"),
            (&["ZREVRANGEBYLEX", "l", "(g", "[aaa"], "*5\r\n$1\r\nf\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n"),
            (&["ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "2", "3"], "*3\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n"),
            (&["ZRANGEBYLEX", "l", "b", "c"], "-ERR min or max not valid string range item\r\n"),
            (&["ZRANGEBYLEX", "l", "++", "-"], "-ERR min or max not valid string range item\r\n"),
            (&["ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"], "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"),
            (&["ZRANGE", "l", "a", "b", "BYLEX"], "-ERR min or max not valid string range item\r\n"),
        ],
    );
}

#[test]
fn zrange_by_lex_with_mixed_scores_walks_like_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &[
                    "ZADD", "m", "3", "a", "1", "b", "2", "c", "5", "d", "4", "e",
                ],
                ":5\r\n",
            ),
            (
                &["ZRANGEBYLEX", "m", "[b", "[d"],
                "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n",
            ),
            (
                &["ZRANGEBYLEX", "m", "-", "+"],
                "*5\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\ne\r\n$1\r\nd\r\n",
            ),
            (
                &["ZRANGEBYLEX", "m", "[c", "+"],
                "*4\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\ne\r\n$1\r\nd\r\n",
            ),
            (&["ZRANGEBYLEX", "m", "-", "[a"], "*0\r\n"),
            (
                &["ZREVRANGEBYLEX", "m", "[c", "-"],
                "*3\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nb\r\n",
            ),
            (
                &["ZREVRANGEBYLEX", "m", "+", "[c", "LIMIT", "1", "5"],
                "*1\r\n$1\r\ne\r\n",
            ),
            (&["ZLEXCOUNT", "m", "[b", "[d"], ":3\r\n"),
            (&["ZREMRANGEBYLEX", "m", "[b", "[c"], ":3\r\n"),
            (&["ZRANGE", "m", "0", "-1"], "*2\r\n$1\r\ne\r\n$1\r\nd\r\n"),
        ],
    );
}

#[test]
fn zrange_option_conflicts_are_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a"], ":1\r\n"),
            (&["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"], "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
            (&["ZRANGE", "z", "0", "1", "LIMIT", "0"], "-ERR syntax error\r\n"),
            (&["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"], "-ERR syntax error\r\n"),
            (&["ZRANGE", "z", "0", "1", "REV", "REV"], "-ERR syntax error\r\n"),
            (&["ZRANGE", "z", "0", "1", "foo"], "-ERR syntax error\r\n"),
            (&["ZRANGE", "z", "[a", "[b", "BYLEX", "WITHSCORES"], "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"),
            (&["ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"], "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
            (&["ZREVRANGE", "z", "0", "1", "REV"], "-ERR syntax error\r\n"),
            (&["ZRANGEBYLEX", "z", "-", "+", "BYLEX"], "-ERR syntax error\r\n"),
            (&["ZRANGE", "z", "0", "1", "LIMIT", "x", "y", "BYSCORE"], "-ERR value is not an integer or out of range\r\n"),
        ],
    );
}

#[test]
fn zrangestore_replaces_the_destination() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
                ":4\r\n",
            ),
            (&["SET", "d", "string"], "+OK\r\n"),
            (&["ZRANGESTORE", "d", "z", "0", "1"], ":2\r\n"),
            (
                &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
                "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
            (
                &[
                    "ZRANGESTORE",
                    "d",
                    "z",
                    "(1",
                    "+inf",
                    "BYSCORE",
                    "LIMIT",
                    "0",
                    "2",
                ],
                ":2\r\n",
            ),
            (
                &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
                "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
            (&["ZRANGESTORE", "d", "z", "[c", "+", "BYLEX"], ":2\r\n"),
            (
                &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
                "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
            ),
            (&["ZRANGESTORE", "d", "z", "0", "1", "REV"], ":2\r\n"),
            (
                &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
                "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
            ),
            (&["ZRANGESTORE", "d", "z", "5", "4"], ":0\r\n"),
            (&["EXISTS", "d"], ":0\r\n"),
            (
                &["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"],
                "-ERR syntax error\r\n",
            ),
            (&["ZRANGESTORE", "z", "z", "1", "2"], ":2\r\n"),
            (
                &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
                "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
            (&["ZRANGESTORE", "d", "nokey", "0", "-1"], ":0\r\n"),
            (&["SET", "str", "x"], "+OK\r\n"),
            (
                &["ZRANGESTORE", "d", "str", "0", "-1"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
        ],
    );
}

#[test]
fn zcount_and_zlexcount_count_ranges() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &[
                    "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
                ],
                ":5\r\n",
            ),
            (&["ZCOUNT", "z", "-inf", "+inf"], ":5\r\n"),
            (&["ZCOUNT", "z", "(1", "5"], ":4\r\n"),
            (&["ZCOUNT", "z", "(1", "(5"], ":3\r\n"),
            (&["ZCOUNT", "z", "5", "1"], ":0\r\n"),
            (
                &["ZCOUNT", "z", "x", "y"],
                "-ERR min or max is not a float\r\n",
            ),
            (&["ZCOUNT", "nokey", "1", "2"], ":0\r\n"),
            (&["ZADD", "l", "0", "a", "0", "b", "0", "c"], ":3\r\n"),
            (&["ZLEXCOUNT", "l", "-", "+"], ":3\r\n"),
            (&["ZLEXCOUNT", "l", "[b", "+"], ":2\r\n"),
            (&["ZLEXCOUNT", "l", "(b", "+"], ":1\r\n"),
            (
                &["ZLEXCOUNT", "l", "x", "y"],
                "-ERR min or max not valid string range item\r\n",
            ),
            (&["ZLEXCOUNT", "nokey", "-", "+"], ":0\r\n"),
        ],
    );
}

#[test]
fn zremrangeby_rank_score_and_lex_remove_ranges() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &[
                    "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
                ],
                ":5\r\n",
            ),
            (&["ZREMRANGEBYRANK", "z", "0", "0"], ":1\r\n"),
            (&["ZREMRANGEBYRANK", "z", "-1", "-1"], ":1\r\n"),
            (&["ZREMRANGEBYRANK", "z", "5", "10"], ":0\r\n"),
            (
                &["ZREMRANGEBYRANK", "z", "x", "1"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                &["ZRANGE", "z", "0", "-1"],
                "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
            ),
            (&["ZREMRANGEBYSCORE", "z", "(2", "3"], ":1\r\n"),
            (
                &["ZREMRANGEBYSCORE", "z", "x", "3"],
                "-ERR min or max is not a float\r\n",
            ),
            (&["ZRANGE", "z", "0", "-1"], "*2\r\n$1\r\nb\r\n$1\r\nd\r\n"),
            (&["ZREMRANGEBYRANK", "z", "0", "-1"], ":2\r\n"),
            (&["EXISTS", "z"], ":0\r\n"),
            (&["ZREMRANGEBYRANK", "nokey", "0", "-1"], ":0\r\n"),
            (&["ZREMRANGEBYSCORE", "nokey", "0", "1"], ":0\r\n"),
            (&["ZADD", "l", "0", "a", "0", "b", "0", "c"], ":3\r\n"),
            (&["ZREMRANGEBYLEX", "l", "[b", "+"], ":2\r\n"),
            (
                &["ZREMRANGEBYLEX", "l", "x", "y"],
                "-ERR min or max not valid string range item\r\n",
            ),
            (&["ZRANGE", "l", "0", "-1"], "*1\r\n$1\r\na\r\n"),
            (&["ZREMRANGEBYLEX", "l", "-", "+"], ":1\r\n"),
            (&["EXISTS", "l"], ":0\r\n"),
        ],
    );
}

#[test]
fn zpopmin_and_zpopmax_pop_from_the_ends() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &[
                    "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
                ],
                ":5\r\n",
            ),
            (&["ZPOPMIN", "z"], "*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
            (&["ZPOPMAX", "z"], "*2\r\n$1\r\ne\r\n$1\r\n5\r\n"),
            (
                &["ZPOPMIN", "z", "2"],
                "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
            (&["ZPOPMIN", "z", "0"], "*0\r\n"),
            (
                &["ZPOPMIN", "z", "-1"],
                "-ERR value is out of range, must be positive\r\n",
            ),
            (
                &["ZPOPMIN", "z", "x"],
                "-ERR value is out of range, must be positive\r\n",
            ),
            (&["ZPOPMIN", "z", "1", "2"], "-ERR syntax error\r\n"),
            (&["ZPOPMAX", "z", "10"], "*2\r\n$1\r\nd\r\n$1\r\n4\r\n"),
            (&["EXISTS", "z"], ":0\r\n"),
            (&["ZPOPMIN", "z"], "*0\r\n"),
            (&["ZPOPMIN", "z", "3"], "*0\r\n"),
        ],
    );
}

#[test]
fn zmpop_pops_from_the_first_non_empty_key() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &[
                    "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
                ],
                ":5\r\n",
            ),
            (&["ZADD", "y", "10", "x"], ":1\r\n"),
            (
                &["ZMPOP", "2", "nokey", "z", "MIN"],
                "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
            ),
            (
                &["ZMPOP", "2", "nokey", "z", "MAX", "COUNT", "2"],
                "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\ne\r\n$1\r\n5\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n",
            ),
            (&["ZMPOP", "1", "nokey", "MIN"], "*-1\r\n"),
            (
                &["ZMPOP", "0", "z", "MIN"],
                "-ERR numkeys should be greater than 0\r\n",
            ),
            (
                &["ZMPOP", "x", "z", "MIN"],
                "-ERR numkeys should be greater than 0\r\n",
            ),
            (&["ZMPOP", "3", "z", "MIN"], "-ERR syntax error\r\n"),
            (&["ZMPOP", "1", "z", "FOO"], "-ERR syntax error\r\n"),
            (
                &["ZMPOP", "1", "z", "MIN", "COUNT"],
                "-ERR syntax error\r\n",
            ),
            (
                &["ZMPOP", "1", "z", "MIN", "COUNT", "0"],
                "-ERR count should be greater than 0\r\n",
            ),
            (
                &["ZMPOP", "1", "z", "MIN", "COUNT", "x"],
                "-ERR count should be greater than 0\r\n",
            ),
            (
                &["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "2"],
                "-ERR syntax error\r\n",
            ),
            (
                &["ZMPOP", "2", "y", "z", "MAX", "COUNT", "10"],
                "*2\r\n$1\r\ny\r\n*1\r\n*2\r\n$1\r\nx\r\n$2\r\n10\r\n",
            ),
            (
                &["ZMPOP", "1", "z", "MIN", "COUNT", "100"],
                "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
            (&["EXISTS", "z"], ":0\r\n"),
        ],
    );
}

#[test]
fn zrandmember_checks_count_and_type() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZRANDMEMBER", "nokey"], "$-1\r\n"),
            (&["ZRANDMEMBER", "nokey", "5"], "*0\r\n"),
            (&["ZRANDMEMBER", "nokey", "5", "WITHSCORES"], "*0\r\n"),
            (&["ZRANDMEMBER", "nokey", "x"], "-ERR value is not an integer or out of range\r\n"),
            (&["ZADD", "y", "1.5", "x"], ":1\r\n"),
            (&["ZRANDMEMBER", "y", "1", "foo"], "-ERR syntax error\r\n"),
            (&["ZRANDMEMBER", "y", "1", "WITHSCORES", "extra"], "-ERR syntax error\r\n"),
            (&["ZRANDMEMBER", "y"], "$1\r\nx\r\n"),
            (&["ZRANDMEMBER", "y", "0"], "*0\r\n"),
            (&["ZRANDMEMBER", "y", "5"], "*1\r\n$1\r\nx\r\n"),
            (&["ZRANDMEMBER", "y", "5", "WITHSCORES"], "*2\r\n$1\r\nx\r\n$3\r\n1.5\r\n"),
            (&["ZRANDMEMBER", "y", "-3"], "*3\r\n$1\r\nx\r\n$1\r\nx\r\n$1\r\nx\r\n"),
            (&["ZRANDMEMBER", "y", "-2", "WITHSCORES"], "*4\r\n$1\r\nx\r\n$3\r\n1.5\r\n$1\r\nx\r\n$3\r\n1.5\r\n"),
            (&["ZRANDMEMBER", "y", "9223372036854775807", "WITHSCORES"], "-ERR value is out of range\r\n"),
            (&["ZRANDMEMBER", "y", "-9223372036854775808"], "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"),
        ],
    );
}

#[test]
fn zunion_zinter_zdiff_combine_scores() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "a", "1", "x", "2", "y", "3", "z"], ":3\r\n"),
            (&["ZADD", "b", "10", "y", "20", "z", "30", "w"], ":3\r\n"),
            (&["ZADD", "c", "100", "z"], ":1\r\n"),
            (&["ZUNION", "2", "a", "b"], "*4\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\nw\r\n"),
            (&["ZUNION", "2", "a", "b", "WITHSCORES"], "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"),
            (&["ZUNION", "2", "a", "b", "WEIGHTS", "2", "3", "WITHSCORES"], "*8\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$2\r\n34\r\n$1\r\nz\r\n$2\r\n66\r\n$1\r\nw\r\n$2\r\n90\r\n"),
            (&["ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"], "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n$1\r\nw\r\n$2\r\n30\r\n"),
            (&["ZUNION", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"], "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n$1\r\nw\r\n$2\r\n30\r\n"),
            (&["ZUNION", "3", "a", "b", "nokey", "WITHSCORES"], "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"),
            (&["ZINTER", "2", "a", "b", "WITHSCORES"], "*4\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n"),
            (&["ZINTER", "3", "a", "b", "c", "WITHSCORES"], "*2\r\n$1\r\nz\r\n$3\r\n123\r\n"),
            (&["ZINTER", "2", "a", "nokey"], "*0\r\n"),
            (&["ZINTER", "2", "a", "b", "WEIGHTS", "1", "-1", "AGGREGATE", "MAX", "WITHSCORES"], "*4\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n"),
            (&["ZINTER", "2", "a", "a", "WITHSCORES"], "*6\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$1\r\n4\r\n$1\r\nz\r\n$1\r\n6\r\n"),
            (&["ZDIFF", "2", "a", "b", "WITHSCORES"], "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
            (&["ZDIFF", "2", "b", "a", "WITHSCORES"], "*2\r\n$1\r\nw\r\n$2\r\n30\r\n"),
            (&["ZDIFF", "1", "b"], "*3\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\nw\r\n"),
            (&["ZDIFF", "2", "nokey", "a"], "*0\r\n"),
            (&["ZADD", "inf", "1", "x"], ":1\r\n"),
            (&["ZADD", "inf2", "1", "x"], ":1\r\n"),
            (&["ZUNION", "2", "inf", "inf2", "WEIGHTS", "inf", "-inf", "WITHSCORES"], "*2\r\n$1\r\nx\r\n$1\r\n0\r\n"),
            (&["ZINTER", "2", "inf", "inf2", "WEIGHTS", "inf", "-inf", "WITHSCORES"], "*2\r\n$1\r\nx\r\n$1\r\n0\r\n"),
            (&["ZADD", "ninf", "-inf", "x"], ":1\r\n"),
            (&["ZUNION", "2", "ninf", "inf", "WEIGHTS", "0", "1", "WITHSCORES"], "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
            (&["ZINTER", "2", "ninf", "inf", "WEIGHTS", "0", "1", "AGGREGATE", "MIN", "WITHSCORES"], "*2\r\n$1\r\nx\r\n$1\r\n0\r\n"),
        ],
    );
}

#[test]
fn zunion_family_errors_match_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "a", "1", "x"], ":1\r\n"),
            (&["SET", "str", "v"], "+OK\r\n"),
            (
                &["ZUNION", "2", "a", "b", "AGGREGATE", "foo"],
                "-ERR syntax error\r\n",
            ),
            (
                &["ZUNION", "2", "a", "b", "WEIGHTS", "1"],
                "-ERR syntax error\r\n",
            ),
            (
                &["ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"],
                "-ERR weight value is not a float\r\n",
            ),
            (
                &["ZUNION", "0", "a"],
                "-ERR at least 1 input key is needed for 'zunion' command\r\n",
            ),
            (
                &["ZUNION", "-1", "a"],
                "-ERR at least 1 input key is needed for 'zunion' command\r\n",
            ),
            (
                &["ZUNION", "x", "a"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["ZUNION", "3", "a", "b"], "-ERR syntax error\r\n"),
            (&["ZUNION", "1", "a", "AGGREGATE"], "-ERR syntax error\r\n"),
            (
                &["ZDIFF", "2", "a", "b", "AGGREGATE", "SUM"],
                "-ERR syntax error\r\n",
            ),
            (
                &["ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"],
                "-ERR syntax error\r\n",
            ),
            (
                &["ZUNION", "2", "a", "str"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZUNION", "2", "a", "str", "WEIGHTS", "x", "y"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZINTER", "0", "a"],
                "-ERR at least 1 input key is needed for 'zinter' command\r\n",
            ),
            (
                &["ZDIFFSTORE", "d", "0", "a"],
                "-ERR at least 1 input key is needed for 'zdiffstore' command\r\n",
            ),
            (
                &["ZUNIONSTORE", "d", "1", "a", "WITHSCORES"],
                "-ERR syntax error\r\n",
            ),
        ],
    );
}

#[test]
fn zstore_commands_replace_or_delete_the_destination() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "a", "1", "x", "2", "y", "3", "z"], ":3\r\n"),
            (&["ZADD", "b", "10", "y", "20", "z", "30", "w"], ":3\r\n"),
            (&["SET", "d", "string"], "+OK\r\n"),
            (&["ZUNIONSTORE", "d", "2", "a", "b"], ":4\r\n"),
            (&["ZRANGE", "d", "0", "-1", "WITHSCORES"], "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"),
            (&["ZINTERSTORE", "d", "2", "a", "b", "AGGREGATE", "MAX"], ":2\r\n"),
            (&["ZRANGE", "d", "0", "-1", "WITHSCORES"], "*4\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n"),
            (&["ZDIFFSTORE", "d", "2", "a", "b"], ":1\r\n"),
            (&["ZRANGE", "d", "0", "-1", "WITHSCORES"], "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
            (&["ZINTERSTORE", "d", "2", "a", "nokey"], ":0\r\n"),
            (&["EXISTS", "d"], ":0\r\n"),
            (&["ZUNIONSTORE", "a", "2", "a", "b", "WEIGHTS", "1", "2"], ":4\r\n"),
            (&["ZRANGE", "a", "0", "-1", "WITHSCORES"], "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n22\r\n$1\r\nz\r\n$2\r\n43\r\n$1\r\nw\r\n$2\r\n60\r\n"),
        ],
    );
}

#[test]
fn zintercard_counts_with_a_limit() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "a", "1", "x", "2", "y", "3", "z"], ":3\r\n"),
            (&["ZADD", "b", "10", "y", "20", "z", "30", "w"], ":3\r\n"),
            (&["ZINTERCARD", "2", "a", "b"], ":2\r\n"),
            (&["ZINTERCARD", "2", "a", "b", "LIMIT", "1"], ":1\r\n"),
            (&["ZINTERCARD", "2", "a", "b", "LIMIT", "0"], ":2\r\n"),
            (
                &["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"],
                "-ERR LIMIT can't be negative\r\n",
            ),
            (
                &["ZINTERCARD", "2", "a", "b", "LIMIT", "x"],
                "-ERR LIMIT can't be negative\r\n",
            ),
            (
                &["ZINTERCARD", "2", "a", "b", "LIMIT"],
                "-ERR syntax error\r\n",
            ),
            (
                &["ZINTERCARD", "0", "a"],
                "-ERR at least 1 input key is needed for 'zintercard' command\r\n",
            ),
            (
                &["ZINTERCARD", "x", "a"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["ZINTERCARD", "3", "a", "b"], "-ERR syntax error\r\n"),
            (&["ZINTERCARD", "1", "nokey"], ":0\r\n"),
            (
                &["ZINTERCARD", "2", "a", "b", "WEIGHTS", "1", "1"],
                "-ERR syntax error\r\n",
            ),
        ],
    );
}

#[test]
fn zset_commands_on_a_string_are_wrongtype() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SET", "s", "str"], "+OK\r\n"),
            (
                &["ZADD", "s", "1", "a"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZINCRBY", "s", "1", "a"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZSCORE", "s", "a"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZMSCORE", "s", "a"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZRANGE", "s", "0", "-1"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZRANGEBYSCORE", "s", "0", "1"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZRANGEBYLEX", "s", "-", "+"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZCARD", "s"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZRANK", "s", "a"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZREVRANK", "s", "a"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZREM", "s", "a"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZCOUNT", "s", "0", "1"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZLEXCOUNT", "s", "-", "+"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZPOPMIN", "s"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZPOPMAX", "s", "2"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZMPOP", "1", "s", "MIN"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZRANDMEMBER", "s"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZRANDMEMBER", "s", "1"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZRANGESTORE", "d", "s", "0", "-1"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZUNION", "1", "s"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZINTER", "1", "s"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZDIFF", "1", "s"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZUNIONSTORE", "d", "1", "s"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZINTERCARD", "1", "s"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZREMRANGEBYRANK", "s", "0", "1"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZREMRANGEBYSCORE", "s", "0", "1"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["ZREMRANGEBYLEX", "s", "-", "+"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (&["GET", "s"], "$3\r\nstr\r\n"),
            (&["ZADD", "z", "1", "a"], ":1\r\n"),
            (
                &["GET", "z"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["INCR", "z"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["APPEND", "z", "x"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
        ],
    );
}

#[test]
fn resp3_replies_scores_as_doubles() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    hello3(&mut c);
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2.5", "b", "3", "c"], ":3\r\n"),
            (
                &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
                "*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,3\r\n",
            ),
            (
                &["ZRANGE", "z", "0", "-1"],
                "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
            ),
            (
                &[
                    "ZREVRANGEBYSCORE",
                    "z",
                    "+inf",
                    "-inf",
                    "WITHSCORES",
                    "LIMIT",
                    "0",
                    "2",
                ],
                "*2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
            ),
            (&["ZSCORE", "z", "b"], ",2.5\r\n"),
            (&["ZSCORE", "z", "nope"], "_\r\n"),
            (&["ZMSCORE", "z", "a", "nope"], "*2\r\n,1\r\n_\r\n"),
            (&["ZINCRBY", "z", "1", "a"], ",2\r\n"),
            (
                &["ZADD", "z", "INCR", "0.1", "a"],
                ",2.1000000000000001\r\n",
            ),
            (&["ZADD", "z", "NX", "INCR", "1", "a"], "_\r\n"),
            (
                &["ZPOPMIN", "z"],
                "*2\r\n$1\r\na\r\n,2.1000000000000001\r\n",
            ),
            (&["ZPOPMIN", "z", "1"], "*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"),
            (&["ZPOPMAX", "z", "0"], "*0\r\n"),
            (&["ZPOPMIN", "nokey"], "*0\r\n"),
            (&["ZPOPMIN", "nokey", "1"], "*0\r\n"),
            (&["ZADD", "z", "1", "a", "2.5", "b", "3", "c"], ":2\r\n"),
            (
                &["ZMPOP", "1", "z", "MAX"],
                "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n",
            ),
            (&["ZMPOP", "1", "nokey", "MAX"], "_\r\n"),
            (&["ZRANDMEMBER", "nokey"], "_\r\n"),
            (
                &["ZUNION", "1", "z", "WITHSCORES"],
                "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
            ),
            (
                &["ZINTER", "1", "z", "WITHSCORES"],
                "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
            ),
            (
                &["ZDIFF", "1", "z", "WITHSCORES"],
                "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
            ),
            (&["ZADD", "inf", "inf", "x", "-inf", "y"], ":2\r\n"),
            (
                &["ZRANGE", "inf", "0", "-1", "WITHSCORES"],
                "*2\r\n*2\r\n$1\r\ny\r\n,-inf\r\n*2\r\n$1\r\nx\r\n,inf\r\n",
            ),
        ],
    );
}

// WITHSCORE is Redis 7.2 (the differential oracle is 7.0): expected bytes written by hand.
#[test]
fn zrank_withscore_replies_rank_and_score() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2.5", "b", "3", "c"], ":3\r\n"),
            (
                &["ZRANK", "z", "b", "WITHSCORE"],
                "*2\r\n:1\r\n$3\r\n2.5\r\n",
            ),
            (
                &["ZREVRANK", "z", "b", "withscore"],
                "*2\r\n:1\r\n$3\r\n2.5\r\n",
            ),
            (
                &["ZREVRANK", "z", "a", "WITHSCORE"],
                "*2\r\n:2\r\n$1\r\n1\r\n",
            ),
            (&["ZRANK", "z", "nope", "WITHSCORE"], "*-1\r\n"),
            (&["ZRANK", "nokey", "a", "WITHSCORE"], "*-1\r\n"),
            (&["ZRANK", "z", "a", "WITHSCORES"], "-ERR syntax error\r\n"),
            (
                &["ZRANK", "z", "a", "WITHSCORE", "x"],
                "-ERR wrong number of arguments for 'zrank' command\r\n",
            ),
        ],
    );
    hello3(&mut c);
    check(
        &mut c,
        &[
            (&["ZRANK", "z", "c", "WITHSCORE"], "*2\r\n:2\r\n,3\r\n"),
            (&["ZRANK", "z", "nope", "WITHSCORE"], "_\r\n"),
            (&["ZRANK", "z", "nope"], "_\r\n"),
        ],
    );
}

#[test]
fn large_zset_ranks_and_ranges_scan_from_either_end() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    // 300 members with scores 0..299 added in a scrambled order.
    let n = 300usize;
    let mut args: Vec<String> = vec!["ZADD".into(), "big".into()];
    for i in 0..n {
        let k = (i * 7) % n;
        args.push(k.to_string());
        args.push(format!("m{k:03}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&refs), format!(":{n}\r\n"));
    let name = |i: usize| format!("m{i:03}");
    for i in [0, 1, 149, 150, 298, 299] {
        assert_eq!(c.cmd(&["ZRANK", "big", &name(i)]), format!(":{i}\r\n"));
        assert_eq!(
            c.cmd(&["ZREVRANK", "big", &name(i)]),
            format!(":{}\r\n", n - 1 - i)
        );
    }
    let want = |r: std::ops::RangeInclusive<usize>| array(&r.map(name).collect::<Vec<_>>());
    let want_rev =
        |r: std::ops::RangeInclusive<usize>| array(&r.rev().map(name).collect::<Vec<_>>());
    assert_eq!(c.cmd(&["ZRANGE", "big", "0", "2"]), want(0..=2));
    assert_eq!(c.cmd(&["ZRANGE", "big", "-3", "-1"]), want(297..=299));
    assert_eq!(c.cmd(&["ZRANGE", "big", "280", "285"]), want(280..=285));
    assert_eq!(c.cmd(&["ZRANGE", "big", "10", "290"]), want(10..=290));
    assert_eq!(c.cmd(&["ZREVRANGE", "big", "0", "2"]), want_rev(297..=299));
    assert_eq!(c.cmd(&["ZREVRANGE", "big", "295", "299"]), want_rev(0..=4));
    assert_eq!(
        c.cmd(&["ZRANGE", "big", "(100", "105", "BYSCORE"]),
        want(101..=105)
    );
    assert_eq!(
        c.cmd(&["ZRANGE", "big", "105", "(100", "BYSCORE", "REV", "LIMIT", "1", "2"]),
        want_rev(103..=104)
    );
    assert_eq!(c.cmd(&["ZCOUNT", "big", "-inf", "(150"]), ":150\r\n");
    let mut seen = std::collections::HashSet::new();
    for _ in 0..60 {
        let m = c.cmd(&["ZRANDMEMBER", "big"]);
        assert!(m.starts_with("$4\r\nm"), "{m:?}");
        seen.insert(m);
    }
    assert!(seen.len() > 10, "random members too concentrated: {seen:?}");
    assert_eq!(c.cmd(&["ZREMRANGEBYRANK", "big", "0", "99"]), ":100\r\n");
    assert_eq!(c.cmd(&["ZRANK", "big", &name(100)]), ":0\r\n");
    assert_eq!(c.cmd(&["ZCARD", "big"]), ":200\r\n");
}

#[test]
fn large_zset_with_one_score_seeks_lex_ranges() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut args: Vec<String> = vec!["ZADD".into(), "lex".into()];
    for i in (0..500).rev() {
        args.push("0".into());
        args.push(format!("w{i:04}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&refs), ":500\r\n");
    let name = |i: usize| format!("w{i:04}");
    let want = |r: std::ops::RangeInclusive<usize>| array(&r.map(name).collect::<Vec<_>>());
    assert_eq!(
        c.cmd(&["ZRANGEBYLEX", "lex", "[w0100", "(w0105"]),
        want(100..=104)
    );
    assert_eq!(
        c.cmd(&["ZREVRANGEBYLEX", "lex", "(w0300", "-", "LIMIT", "2", "2"]),
        array(&[name(297), name(296)])
    );
    assert_eq!(c.cmd(&["ZLEXCOUNT", "lex", "(w0100", "+"]), ":399\r\n");
    assert_eq!(c.cmd(&["ZREMRANGEBYLEX", "lex", "-", "(w0250"]), ":250\r\n");
    assert_eq!(c.cmd(&["ZRANGE", "lex", "0", "0"]), array(&[name(250)]));
}

#[test]
fn zrandmember_picks_members_of_the_set() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]),
        ":3\r\n"
    );
    for _ in 0..20 {
        let one = c.cmd(&["ZRANDMEMBER", "z"]);
        assert!(["a", "b", "c"].iter().any(|m| one == bulk(m)), "{one:?}");
    }
    // A count of at least the size gives the whole set, highest score first (as Redis 7.0).
    assert_eq!(
        c.cmd(&["ZRANDMEMBER", "z", "10"]),
        array(&["c".to_string(), "b".to_string(), "a".to_string()])
    );
    assert_eq!(
        c.cmd(&["ZRANDMEMBER", "z", "3", "WITHSCORES"]),
        "*6\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    // A smaller positive count gives distinct members.
    for _ in 0..10 {
        let two = c.cmd(&["ZRANDMEMBER", "z", "2"]);
        let picked: Vec<&str> = ["a", "b", "c"]
            .into_iter()
            .filter(|m| two.contains(&bulk(m)))
            .collect();
        assert_eq!(picked.len(), 2, "{two:?}");
    }
    let two = c.cmd(&["ZRANDMEMBER", "z", "2"]);
    assert!(two.starts_with("*2\r\n"), "{two:?}");
    let neg = c.cmd(&["ZRANDMEMBER", "z", "-7", "WITHSCORES"]);
    assert!(neg.starts_with("*14\r\n"), "{neg:?}");
    // Redis would build a reply of any size; berth refuses one it cannot build.
    assert_eq!(
        c.cmd(&["ZRANDMEMBER", "z", "-1000000000"]),
        "-ERR value is out of range\r\n"
    );
}

#[test]
fn redis_crate_reads_scores_and_ranges() {
    let s = Server::start(&[]);
    let mut con = s.client();
    let added: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(1.5)
        .arg("a")
        .arg(2)
        .arg("b")
        .query(&mut con)
        .unwrap();
    assert_eq!(added, 2);
    let score: f64 = redis::cmd("ZSCORE")
        .arg("z")
        .arg("a")
        .query(&mut con)
        .unwrap();
    assert_eq!(score, 1.5);
    let incr: f64 = redis::cmd("ZINCRBY")
        .arg("z")
        .arg(0.25)
        .arg("b")
        .query(&mut con)
        .unwrap();
    assert_eq!(incr, 2.25);
    let range: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg("z")
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut con)
        .unwrap();
    assert_eq!(range, vec![("a".to_string(), 1.5), ("b".to_string(), 2.25)]);
    let missing: Option<f64> = redis::cmd("ZSCORE")
        .arg("z")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(missing, None);
    let err = redis::cmd("ZADD")
        .arg("z")
        .arg("NX")
        .arg("XX")
        .arg(1)
        .arg("a")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("XX and NX options"), "{err}");
}

#[test]
fn redis_cli_prints_zset_replies() {
    let s = Server::start(&[]);
    assert_eq!(s.cli(&["ZADD", "z", "1", "a", "0.1", "b"]), "2\n");
    assert_eq!(
        s.cli(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        "b\n0.10000000000000001\na\n1\n"
    );
    assert_eq!(s.cli(&["ZCARD", "z"]), "2\n");
    assert_eq!(s.cli(&["-3", "ZSCORE", "z", "a"]), "1\n");
}

#[test]
fn zsets_survive_sigkill_with_appendfsync_always() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut c = s.raw();
    let mut args: Vec<String> = vec!["ZADD".into(), "big".into()];
    for i in 0..200 {
        args.push(format!("{}.5", i));
        args.push(format!("m{i}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&refs), ":200\r\n");
    assert_eq!(
        c.cmd(&["ZADD", "small", "-inf", "lo", "inf", "hi"]),
        ":2\r\n"
    );
    assert_eq!(c.cmd(&["ZINCRBY", "big", "1000", "m0"]), "$6\r\n1000.5\r\n");
    assert_eq!(c.cmd(&["ZREM", "big", "m1"]), ":1\r\n");
    assert_eq!(c.cmd(&["ZADD", "gone", "1", "x"]), ":1\r\n");
    assert_eq!(c.cmd(&["ZPOPMIN", "gone"]), "*2\r\n$1\r\nx\r\n$1\r\n1\r\n");
    assert_eq!(
        c.cmd(&["ZUNIONSTORE", "u", "2", "big", "small"]),
        ":201\r\n"
    );
    s.kill9();
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["ZCARD", "big"]), ":199\r\n");
    assert_eq!(c.cmd(&["ZSCORE", "big", "m0"]), "$6\r\n1000.5\r\n");
    assert_eq!(c.cmd(&["ZSCORE", "big", "m1"]), "$-1\r\n");
    assert_eq!(
        c.cmd(&["ZRANGE", "big", "0", "1"]),
        array(&["m2".to_string(), "m3".to_string()])
    );
    assert_eq!(c.cmd(&["ZRANK", "big", "m0"]), ":198\r\n");
    assert_eq!(
        c.cmd(&["ZRANGE", "small", "0", "-1", "WITHSCORES"]),
        "*4\r\n$2\r\nlo\r\n$4\r\n-inf\r\n$2\r\nhi\r\n$3\r\ninf\r\n"
    );
    assert_eq!(c.cmd(&["EXISTS", "gone"]), ":0\r\n");
    assert_eq!(c.cmd(&["ZCARD", "u"]), ":201\r\n");
    assert_eq!(c.cmd(&["TYPE", "u"]), "+zset\r\n");
}

#[test]
fn object_encoding_follows_redis_listpack_limits() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let long = "x".repeat(65);
    check(
        &mut c,
        &[
            (&["ZADD", "small", "1", "a"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "small"], "$8\r\nlistpack\r\n"),
            (&["ZADD", "small", "2", &long], ":1\r\n"),
            (&["OBJECT", "ENCODING", "small"], "$8\r\nskiplist\r\n"),
            // Redis never converts back.
            (&["ZREM", "small", &long], ":1\r\n"),
            (&["OBJECT", "ENCODING", "small"], "$8\r\nskiplist\r\n"),
            // A stored result is encoded afresh.
            (&["ZUNIONSTORE", "copy", "1", "small"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "copy"], "$8\r\nlistpack\r\n"),
        ],
    );
    let mut args: Vec<String> = vec!["ZADD".into(), "many".into()];
    for i in 0..128 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&refs), ":128\r\n");
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "many"]), "$8\r\nlistpack\r\n");
    assert_eq!(c.cmd(&["ZADD", "many", "200", "one-more"]), ":1\r\n");
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "many"]), "$8\r\nskiplist\r\n");
}
#[test]
fn command_getkeys_finds_sorted_set_keys() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (
                &[
                    "COMMAND", "GETKEYS", "ZUNION", "2", "a", "b", "WEIGHTS", "1", "2",
                ],
                "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
            ),
            (
                &["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b"],
                "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n",
            ),
            (
                &["COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN"],
                "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
            ),
            (
                &[
                    "COMMAND",
                    "GETKEYS",
                    "ZINTERCARD",
                    "2",
                    "a",
                    "b",
                    "LIMIT",
                    "1",
                ],
                "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
            ),
            (
                &["COMMAND", "GETKEYS", "ZRANGESTORE", "d", "s", "0", "1"],
                "*2\r\n$1\r\nd\r\n$1\r\ns\r\n",
            ),
            (
                &["COMMAND", "GETKEYS", "ZADD", "k", "1", "a"],
                "*1\r\n$1\r\nk\r\n",
            ),
        ],
    );
}

/// A server whose db 0 holds the plain set `s` = {y, q}, written through the storage layer in
/// the set encoding (`element -> empty`), so set inputs of ZUNION & co. can be tested here.
fn server_with_set() -> Server {
    use berth::storage::{encode_collection, Kind, Store};
    let dir = common::temp_dir("zset-set");
    {
        let mut store = Store::open(&dir, 1 << 20, 16).expect("open store");
        let version = store.new_version().expect("version");
        let prefix = store.member_prefix(0, b"s", version);
        for m in [&b"y"[..], b"q"] {
            store.member_put(&[&prefix[..], m].concat(), b"");
        }
        let rec = encode_collection(Kind::Set, 0, version, 2, &[1]);
        store.put(0, b"s", rec).expect("seed set");
        store.flush().expect("flush");
    }
    Server::start_in(&dir, &[])
}

#[test]
fn plain_sets_are_inputs_with_score_one() {
    let s = server_with_set();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "a", "1", "x", "2", "y", "3", "z"], ":3\r\n"),
            (
                &["ZUNION", "2", "a", "s", "WITHSCORES"],
                "*8\r\n$1\r\nq\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n3\r\n$1\r\nz\r\n$1\r\n3\r\n",
            ),
            (
                &["ZINTER", "2", "s", "a", "WITHSCORES"],
                "*2\r\n$1\r\ny\r\n$1\r\n3\r\n",
            ),
            (
                &["ZDIFF", "2", "s", "a", "WITHSCORES"],
                "*2\r\n$1\r\nq\r\n$1\r\n1\r\n",
            ),
            (&["ZINTERSTORE", "d", "2", "a", "s", "WEIGHTS", "1", "10"], ":1\r\n"),
            (
                &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
                "*2\r\n$1\r\ny\r\n$2\r\n12\r\n",
            ),
            (&["ZINTERCARD", "2", "s", "a"], ":1\r\n"),
            (
                &["ZRANGESTORE", "d", "s", "0", "-1"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
        ],
    );
}
#[test]
fn zset_writes_keep_the_ttl_and_stored_results_drop_it() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2", "b"], ":2\r\n"),
            (&["EXPIRE", "z", "1000"], ":1\r\n"),
            (&["ZADD", "z", "3", "c"], ":1\r\n"),
            (&["ZINCRBY", "z", "1", "a"], "$1\r\n2\r\n"),
            (&["ZREM", "z", "b"], ":1\r\n"),
            (&["ZPOPMIN", "z"], "*2\r\n$1\r\na\r\n$1\r\n2\r\n"),
            (&["PERSIST", "z"], ":1\r\n"),
            (&["EXPIRE", "z", "1000"], ":1\r\n"),
            (&["ZUNIONSTORE", "z", "1", "z"], ":1\r\n"),
            (&["PERSIST", "z"], ":0\r\n"),
            (&["EXPIRE", "z", "1000"], ":1\r\n"),
            (&["ZRANGESTORE", "z", "z", "0", "-1"], ":1\r\n"),
            (&["PERSIST", "z"], ":0\r\n"),
        ],
    );
}

#[test]
fn a_deleted_or_overwritten_zset_leaves_no_members_behind() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2", "b"], ":2\r\n"),
            (&["DEL", "z"], ":1\r\n"),
            (&["ZADD", "z", "3", "c"], ":1\r\n"),
            (
                &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
                "*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
            (&["SET", "z", "str"], "+OK\r\n"),
            (
                &["ZADD", "z", "1", "a"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (&["GET", "z"], "$3\r\nstr\r\n"),
            (&["DEL", "z"], ":1\r\n"),
            (&["ZADD", "z", "4", "d"], ":1\r\n"),
            (
                &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
                "*2\r\n$1\r\nd\r\n$1\r\n4\r\n",
            ),
            (&["ZCARD", "z"], ":1\r\n"),
            (&["ZUNIONSTORE", "z", "1", "z", "WEIGHTS", "2"], ":1\r\n"),
            (
                &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
                "*2\r\n$1\r\nd\r\n$1\r\n8\r\n",
            ),
        ],
    );
}

// ---- blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) and ZSCAN ----

#[test]
fn bzpopmin_and_bzpopmax_pop_at_once_from_the_first_non_empty_key() {
    check_new(&[
        (&["ZADD", "z", "1", "a", "2.5", "b", "3", "c"], ":3\r\n"),
        (&["SET", "s", "x"], "+OK\r\n"),
        (
            &["BZPOPMIN", "nx", "z", "0"],
            &array(&["z".to_string(), "a".to_string(), "1".to_string()]),
        ),
        (
            &["BZPOPMAX", "z", "s", "0"],
            &array(&["z".to_string(), "c".to_string(), "3".to_string()]),
        ),
        (&["BZPOPMIN", "s", "z", "0"], WRONGTYPE),
        (
            &["BZPOPMIN", "z", "x"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            &["BZPOPMIN", "z", "nan"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (&["BZPOPMIN", "z", "-1"], "-ERR timeout is negative\r\n"),
        (&["BZPOPMIN", "z", "-0.5"], "-ERR timeout is negative\r\n"),
        (&["BZPOPMIN", "z", "inf"], "-ERR timeout is negative\r\n"),
        (
            &["BZPOPMIN", "z"],
            "-ERR wrong number of arguments for 'bzpopmin' command\r\n",
        ),
        (
            &["BZPOPMAX", "z", "0.01"],
            &array(&["z".to_string(), "b".to_string(), "2.5".to_string()]),
        ),
        (&["EXISTS", "z"], ":0\r\n"),
        (&["BZPOPMIN", "z", "0.01"], NIL_ARRAY),
        (&["BZPOPMAX", "nx", "z", "0.01"], NIL_ARRAY),
        (
            &["COMMAND", "GETKEYS", "BZPOPMIN", "a", "b", "0"],
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
    ]);
}

#[test]
fn bzmpop_replies_like_zmpop_and_checks_arguments_before_the_timeout() {
    check_new(&[
        (&["ZADD", "z", "1", "a", "2.5", "b", "3", "c"], ":3\r\n"),
        (&["SET", "s", "x"], "+OK\r\n"),
        (
            &["BZMPOP", "0.01", "2", "nx", "z", "MIN", "COUNT", "2"],
            "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
        ),
        (
            &["BZMPOP", "x", "1", "z", "MIN"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            &["BZMPOP", "x", "0", "z", "MIN"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (&["BZMPOP", "x", "1", "z", "foo"], "-ERR syntax error\r\n"),
        (
            &["BZMPOP", "-1", "1", "z", "MIN"],
            "-ERR timeout is negative\r\n",
        ),
        (
            &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "0"],
            "-ERR count should be greater than 0\r\n",
        ),
        (
            &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "1", "COUNT", "2"],
            "-ERR syntax error\r\n",
        ),
        (
            &["BZMPOP", "0", "2", "z"],
            "-ERR wrong number of arguments for 'bzmpop' command\r\n",
        ),
        (&["BZMPOP", "0", "1", "s", "MIN"], WRONGTYPE),
        (
            &["BZMPOP", "0", "2", "z", "s", "MAX", "COUNT", "9"],
            "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
        ),
        (&["BZMPOP", "0.01", "1", "z", "MAX"], NIL_ARRAY),
        (
            &["COMMAND", "GETKEYS", "BZMPOP", "0", "2", "a", "b", "MIN"],
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
    ]);
}

#[test]
fn blocking_zset_pops_reply_doubles_and_null_in_resp3() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut c = s.raw();
    hello3(&mut c);
    check(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2.5", "b", "3", "c"], ":3\r\n"),
            (
                &["BZPOPMIN", "z", "0"],
                "*3\r\n$1\r\nz\r\n$1\r\na\r\n,1\r\n",
            ),
            (
                &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "1"],
                "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
            ),
            (
                &["BZPOPMAX", "z", "0"],
                "*3\r\n$1\r\nz\r\n$1\r\nc\r\n,3\r\n",
            ),
            (&["BZPOPMIN", "z", "0.01"], "_\r\n"),
            (&["BZMPOP", "0.01", "1", "z", "MIN"], "_\r\n"),
        ],
    );
    // Served after blocking: the same shapes.
    send(&mut c, &["BZPOPMAX", "z", "0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", "z", "1.5", "x", "-2", "y"]);
    assert_eq!(reply(&mut c), "*3\r\n$1\r\nz\r\n$1\r\nx\r\n,1.5\r\n");
    send(&mut c, &["BZMPOP", "0", "1", "w", "MIN", "COUNT", "5"]);
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", "w", "1", "p"]);
    assert_eq!(
        reply(&mut c),
        "*2\r\n$1\r\nw\r\n*1\r\n*2\r\n$1\r\np\r\n,1\r\n"
    );
}

#[test]
fn clients_blocked_on_a_zset_are_served_in_arrival_order() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut waiters: Vec<Raw> = (0..3).map(|_| s.raw()).collect();
    send(&mut waiters[0], &["BZPOPMIN", "q", "0"]);
    wait_blocked(&mut admin, 1);
    send(&mut waiters[1], &["BZPOPMAX", "q", "0"]);
    wait_blocked(&mut admin, 2);
    send(&mut waiters[2], &["BZPOPMIN", "q", "0"]);
    wait_blocked(&mut admin, 3);
    assert_eq!(admin.cmd(&["ZADD", "q", "1", "a", "2", "b"]), ":2\r\n");
    assert_eq!(
        reply(&mut waiters[0]),
        array(&["q".to_string(), "a".to_string(), "1".to_string()])
    );
    assert_eq!(
        reply(&mut waiters[1]),
        array(&["q".to_string(), "b".to_string(), "2".to_string()])
    );
    // Each served client took one member: the set is gone and the third still waits.
    assert_eq!(admin.cmd(&["EXISTS", "q"]), ":0\r\n");
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZINCRBY", "q", "7", "c"]), "$1\r\n7\r\n");
    assert_eq!(
        reply(&mut waiters[2]),
        array(&["q".to_string(), "c".to_string(), "7".to_string()])
    );
    wait_blocked(&mut admin, 0);
    assert_eq!(waiters[0].cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn a_client_blocked_on_several_zset_keys_gets_the_one_that_was_filled() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    send(&mut w, &["BZPOPMIN", "k1", "k2", "0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", "k2", "5", "x", "6", "y"]);
    assert_eq!(
        reply(&mut w),
        array(&["k2".to_string(), "x".to_string(), "5".to_string()])
    );
    // BZMPOP with COUNT takes up to COUNT members of the filled key.
    send(
        &mut w,
        &["BZMPOP", "0", "2", "k1", "k3", "MAX", "COUNT", "2"],
    );
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", "k3", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        reply(&mut w),
        "*2\r\n$2\r\nk3\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(admin.cmd(&["ZCARD", "k3"]), ":1\r\n");
    send(&mut w, &["BZMPOP", "0", "1", "k4", "MIN", "COUNT", "10"]);
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", "k4", "1", "a", "2", "b"]);
    assert_eq!(
        reply(&mut w),
        "*2\r\n$2\r\nk4\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(admin.cmd(&["EXISTS", "k4"]), ":0\r\n");
}

#[test]
fn bzpop_timeout_is_fractional_seconds_and_replies_a_null_array() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let start = Instant::now();
    assert_eq!(c.cmd(&["BZPOPMIN", "nx", "0.2"]), NIL_ARRAY);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(190),
        "returned after {took:?}"
    );
    assert!(took < Duration::from_secs(2), "returned after {took:?}");
    assert_eq!(c.cmd(&["BZPOPMAX", "nx", "ny", "0.05"]), NIL_ARRAY);
    assert_eq!(c.cmd(&["BZMPOP", "0.1", "1", "nx", "MIN"]), NIL_ARRAY);
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    // Milliseconds are computed in long double and rounded up, as Redis does: -0.001 s is
    // just above -1 ms there, so it means "no timeout" rather than a negative one.
    check(
        &mut c,
        &[
            (&["ZADD", "t", "1", "a", "2", "b"], ":2\r\n"),
            (
                &["BZPOPMIN", "t", "-0.001"],
                &array(&["t".to_string(), "a".to_string(), "1".to_string()]),
            ),
            (&["BZPOPMIN", "t", "9.3e15"], "-ERR timeout is negative\r\n"),
            (&["BZPOPMIN", "t", "1e400"], "-ERR timeout is negative\r\n"),
            (
                &["BZPOPMIN", "t", "0x10"],
                &array(&["t".to_string(), "b".to_string(), "2".to_string()]),
            ),
        ],
    );
    let mut admin = s.raw();
    wait_blocked(&mut admin, 0);
}

#[test]
fn a_client_disconnecting_while_blocked_on_a_zset_consumes_nothing() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    {
        let mut gone = s.raw();
        send(&mut gone, &["BZPOPMIN", "q", "0"]);
        wait_blocked(&mut admin, 1);
        gone.stream
            .shutdown(std::net::Shutdown::Both)
            .expect("shutdown");
    }
    wait_blocked(&mut admin, 0);
    let mut w = s.raw();
    send(&mut w, &["BZPOPMIN", "q", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZADD", "q", "1", "a", "2", "b"]), ":2\r\n");
    assert_eq!(
        reply(&mut w),
        array(&["q".to_string(), "a".to_string(), "1".to_string()])
    );
    assert_eq!(
        admin.cmd(&["ZRANGE", "q", "0", "-1", "WITHSCORES"]),
        array(&["b".to_string(), "2".to_string()])
    );
}

#[test]
fn zset_stores_rename_copy_and_move_serve_blocked_zset_clients() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut by_union = s.raw();
    let mut by_range = s.raw();
    let mut by_rename = s.raw();
    let mut by_copy = s.raw();
    let mut by_move = s.raw();
    send(&mut by_union, &["BZPOPMIN", "union", "0"]);
    send(&mut by_range, &["BZPOPMAX", "ranged", "0"]);
    send(&mut by_rename, &["BZPOPMIN", "renamed", "0"]);
    send(&mut by_copy, &["BZMPOP", "0", "1", "copied", "MAX"]);
    assert_eq!(by_move.cmd(&["SELECT", "1"]), "+OK\r\n");
    send(&mut by_move, &["BZPOPMIN", "moved", "0"]);
    wait_blocked(&mut admin, 5);
    assert_eq!(
        admin.cmd(&["ZADD", "src", "1", "a", "2", "b", "3", "c"]),
        ":3\r\n"
    );
    assert_eq!(admin.cmd(&["ZUNIONSTORE", "union", "1", "src"]), ":3\r\n");
    assert_eq!(
        reply(&mut by_union),
        array(&["union".to_string(), "a".to_string(), "1".to_string()])
    );
    assert_eq!(
        admin.cmd(&["ZRANGESTORE", "ranged", "src", "0", "1"]),
        ":2\r\n"
    );
    assert_eq!(
        reply(&mut by_range),
        array(&["ranged".to_string(), "b".to_string(), "2".to_string()])
    );
    assert_eq!(admin.cmd(&["RENAME", "src", "renamed"]), "+OK\r\n");
    assert_eq!(
        reply(&mut by_rename),
        array(&["renamed".to_string(), "a".to_string(), "1".to_string()])
    );
    assert_eq!(admin.cmd(&["COPY", "renamed", "copied"]), ":1\r\n");
    assert_eq!(
        reply(&mut by_copy),
        "*2\r\n$6\r\ncopied\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(admin.cmd(&["MOVE", "renamed", "1"]), ":1\r\n");
    assert_eq!(admin.cmd(&["RENAME", "copied", "x"]), "+OK\r\n");
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(admin.cmd(&["RENAME", "renamed", "moved"]), "+OK\r\n");
    assert_eq!(
        reply(&mut by_move),
        array(&["moved".to_string(), "b".to_string(), "2".to_string()])
    );
    assert_eq!(
        admin.cmd(&["ZRANGE", "moved", "0", "-1"]),
        array(&["c".to_string()])
    );
    wait_blocked(&mut admin, 0);
}

#[test]
fn zinterstore_and_zdiffstore_serve_blocked_clients_but_an_empty_result_does_not() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    send(&mut w, &["BZPOPMIN", "dst", "0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", "a", "1", "x", "2", "y"]);
    admin.cmd(&["ZADD", "b", "5", "y"]);
    assert_eq!(admin.cmd(&["ZINTERSTORE", "dst", "2", "a", "nx"]), ":0\r\n");
    assert_eq!(admin.cmd(&["ZDIFFSTORE", "dst", "1", "nx"]), ":0\r\n");
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZINTERSTORE", "dst", "2", "a", "b"]), ":1\r\n");
    assert_eq!(
        reply(&mut w),
        array(&["dst".to_string(), "y".to_string(), "7".to_string()])
    );
    send(&mut w, &["BZPOPMAX", "dst", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZDIFFSTORE", "dst", "2", "a", "b"]), ":1\r\n");
    assert_eq!(
        reply(&mut w),
        array(&["dst".to_string(), "x".to_string(), "1".to_string()])
    );
}

#[test]
fn list_and_zset_waiters_on_one_key_are_served_by_its_type() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut lister = s.raw();
    let mut zsetter = s.raw();
    send(&mut lister, &["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    send(&mut zsetter, &["BZPOPMIN", "k", "0"]);
    wait_blocked(&mut admin, 2);
    // A sorted set at the key serves the sorted-set client; the list client keeps waiting.
    assert_eq!(admin.cmd(&["ZADD", "k", "1", "m"]), ":1\r\n");
    assert_eq!(
        reply(&mut zsetter),
        array(&["k".to_string(), "m".to_string(), "1".to_string()])
    );
    wait_blocked(&mut admin, 1);
    send(&mut zsetter, &["BZPOPMIN", "k", "0"]);
    wait_blocked(&mut admin, 2);
    assert_eq!(admin.cmd(&["RPUSH", "k", "e"]), ":1\r\n");
    assert_eq!(
        reply(&mut lister),
        array(&["k".to_string(), "e".to_string()])
    );
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZADD", "k", "2", "n"]), ":1\r\n");
    assert_eq!(
        reply(&mut zsetter),
        array(&["k".to_string(), "n".to_string(), "2".to_string()])
    );
    wait_blocked(&mut admin, 0);
}

#[test]
fn zscan_of_a_small_zset_returns_everything_in_score_order_with_cursor_0() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let all = "*2\r\n$1\r\n0\r\n*10\r\n$1\r\nh\r\n$4\r\n-inf\r\n$1\r\nd\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\ng\r\n$3\r\ninf\r\n";
    check(
        &mut c,
        &[
            (
                &[
                    "ZADD", "z", "1", "a", "2.5", "b", "0.1", "d", "inf", "g", "-inf", "h",
                ],
                ":5\r\n",
            ),
            (&["SET", "s", "x"], "+OK\r\n"),
            (&["ZSCAN", "z", "0"], all),
            (&["ZSCAN", "z", "123", "COUNT", "1"], all),
            (
                &["ZSCAN", "z", "0", "MATCH", "[ab]"],
                "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
            ),
            (&["ZSCAN", "z", "0", "COUNT", "0"], "-ERR syntax error\r\n"),
            (&["ZSCAN", "z", "0", "foo"], "-ERR syntax error\r\n"),
            (&["ZSCAN", "z", "x"], "-ERR invalid cursor\r\n"),
            (&["ZSCAN", "s", "0"], WRONGTYPE),
            (&["ZSCAN", "nx", "0", "foo"], "*2\r\n$1\r\n0\r\n*0\r\n"),
        ],
    );
    // RESP3 keeps the scores as bulk strings, as Redis 7.0 does.
    hello3(&mut c);
    assert_eq!(c.cmd(&["ZSCAN", "z", "0"]), all);
}

#[test]
fn zscan_over_a_large_zset_returns_every_member_with_its_score() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let n = 1000;
    let mut args: Vec<String> = vec!["ZADD".into(), "big".into()];
    for i in 0..n {
        args.push(format!("{}", i as f64 * 0.5 - 100.0));
        args.push(format!("m{i}"));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&argv), format!(":{n}\r\n"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "big"]), "$8\r\nskiplist\r\n");
    let mut seen = std::collections::HashMap::new();
    let mut cursor = "0".to_string();
    let mut steps = 0;
    loop {
        let mut r = redis::cmd("ZSCAN");
        r.arg("big").arg(&cursor).arg("COUNT").arg(37);
        let mut conn = s.client();
        let (next, items): (String, Vec<String>) = r.query(&mut conn).expect("zscan");
        for p in items.chunks(2) {
            seen.insert(p[0].clone(), p[1].clone());
        }
        steps += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(steps > 20, "only {steps} steps");
    assert_eq!(seen.len(), n);
    for i in 0..n {
        let want = format!("{}", i as f64 * 0.5 - 100.0);
        assert_eq!(seen.get(&format!("m{i}")), Some(&want), "member m{i}");
    }
}

#[test]
fn blocking_zset_pops_route_by_their_keys_in_cluster_mode() {
    let s = Server::start(common::ONE_SHARD_CLUSTER);
    let cross = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["BZPOPMIN", "a", "b", "0"], cross),
            (&["BZPOPMAX", "a", "b", "0"], cross),
            (&["BZMPOP", "0", "2", "a", "b", "MIN"], cross),
            (&["ZADD", "{t}a", "1", "x"], ":1\r\n"),
            (
                &["BZPOPMIN", "{t}b", "{t}a", "0"],
                &array(&["{t}a".to_string(), "x".to_string(), "1".to_string()]),
            ),
            (&["ZADD", "{t}b", "2", "y"], ":1\r\n"),
            (
                &["BZMPOP", "0", "2", "{t}a", "{t}b", "MAX"],
                "*2\r\n$4\r\n{t}b\r\n*1\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n",
            ),
            (&["ZSCAN", "{t}b", "0"], "*2\r\n$1\r\n0\r\n*0\r\n"),
        ],
    );
}

#[test]
fn client_unblock_and_swapdb_end_a_blocking_zset_pop() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    let id = w.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end().to_string();
    send(&mut w, &["BZPOPMIN", "q", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), ":1\r\n");
    assert_eq!(reply(&mut w), NIL_ARRAY);
    send(&mut w, &["BZMPOP", "0", "1", "q", "MIN"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), ":1\r\n");
    assert_eq!(
        reply(&mut w),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    // A sorted set swapped into the client's database serves it.
    send(&mut w, &["BZPOPMAX", "q", "0"]);
    wait_blocked(&mut admin, 1);
    check(
        &mut admin,
        &[
            (&["SELECT", "1"], "+OK\r\n"),
            (&["ZADD", "q", "1", "a", "2", "b"], ":2\r\n"),
            (&["SWAPDB", "0", "1"], "+OK\r\n"),
        ],
    );
    assert_eq!(
        reply(&mut w),
        array(&["q".to_string(), "b".to_string(), "2".to_string()])
    );
    wait_blocked(&mut admin, 0);
    assert_eq!(
        w.cmd(&["ZRANGE", "q", "0", "-1"]),
        array(&["a".to_string()])
    );
}

#[test]
fn no_member_is_lost_or_duplicated_when_timeouts_race_with_zadds() {
    let s = Server::start(&[]);
    let port = s.port;
    let poppers: Vec<_> = (0..6)
        .map(|i| {
            thread::spawn(move || {
                let mut c = Raw::connect(port);
                let name = if i % 2 == 0 { "BZPOPMIN" } else { "BZPOPMAX" };
                let mut got = Vec::new();
                let start = Instant::now();
                while start.elapsed() < Duration::from_millis(1500) {
                    let r = c.cmd(&[name, "q", "0.01"]);
                    if r != NIL_ARRAY {
                        // [key, member, score]: the member is the fourth line from the end.
                        let v = r.rsplit("\r\n").nth(3).expect("member").to_string();
                        got.push(v);
                    }
                }
                got
            })
        })
        .collect();
    let mut adder = s.raw();
    let mut added = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1200) {
        let n = added.to_string();
        adder.cmd(&["ZADD", "q", &n, &n]);
        added += 1;
        if added % 7 == 0 {
            thread::sleep(Duration::from_millis(3));
        }
    }
    let mut all: Vec<String> = poppers
        .into_iter()
        .flat_map(|t| t.join().expect("popper"))
        .collect();
    let rest = adder.cmd(&["ZRANGE", "q", "0", "-1"]);
    for line in rest.split("\r\n").skip(2).step_by(2) {
        if !line.is_empty() {
            all.push(line.to_string());
        }
    }
    let mut nums: Vec<usize> = all.iter().map(|v| v.parse().expect("number")).collect();
    nums.sort();
    assert_eq!(nums, (0..added).collect::<Vec<_>>());
    wait_blocked(&mut adder, 0);
}
