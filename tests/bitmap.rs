//! Bitmap commands, byte for byte as Redis 7.0 answers them (every expectation was checked against
//! redis-server 7.0.15).

mod common;
use common::{check, check_new, Raw, Server, NOT_INT, SYNTAX, WRONGTYPE};

use std::time::Duration;

use berth::storage::{encode_collection, Kind, Store};

const BAD_OFFSET: &str = "-ERR bit offset is not an integer or out of range\r\n";
const BAD_BIT: &str = "-ERR bit is not an integer or out of range\r\n";
const BAD_TYPE: &str = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";

/// Sets `key` to arbitrary bytes.
fn set_bytes(c: &mut Raw, key: &str, value: &[u8]) {
    assert_eq!(c.cmd_bytes(&[b"SET", key.as_bytes(), value]), "+OK\r\n");
}

/// Asserts the exact bytes stored at `key` (the text replies of `Raw::cmd` are lossy UTF-8).
fn assert_value(c: &mut Raw, key: &str, want: &[u8]) {
    c.send_raw(&Raw::encode(&[b"GET", key.as_bytes()]));
    let reply = c.read_reply().expect("GET reply");
    let mut expected = format!("${}\r\n", want.len()).into_bytes();
    expected.extend_from_slice(want);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(reply, expected, "value of {key}");
}

/// A server whose db 0 holds `list`, a key of a non-string type, written through the storage
/// layer before start (so WRONGTYPE can be tested without the list commands).
fn server_with_list() -> (Server, std::path::PathBuf) {
    let dir = common::temp_dir("bitmap");
    {
        let mut store = Store::open(&dir, 1 << 20, 16).expect("open store");
        let rec = encode_collection(Kind::List, 0, 1, 1, &[]);
        store.put(0, b"list", rec).expect("seed list");
        store.flush().expect("flush");
    }
    (Server::start_in(&dir, &[]), dir)
}

#[test]
fn setbit_and_getbit_read_and_grow_the_string() {
    check_new(&[
        (&["SETBIT", "bm", "7", "1"], ":0\r\n"),
        (&["GET", "bm"], "$1\r\n\x01\r\n"),
        (&["SETBIT", "bm", "7", "1"], ":1\r\n"),
        (&["SETBIT", "bm", "7", "0"], ":1\r\n"),
        (&["SETBIT", "bm", "100", "1"], ":0\r\n"),
        (&["STRLEN", "bm"], ":13\r\n"),
        (&["GETBIT", "bm", "100"], ":1\r\n"),
        (&["GETBIT", "bm", "101"], ":0\r\n"),
        (&["GETBIT", "bm", "100000"], ":0\r\n"),
        (&["GETBIT", "missing", "5"], ":0\r\n"),
        (&["GETBIT", "bm", "4294967295"], ":0\r\n"),
        (&["SET", "num", "12345"], "+OK\r\n"),
        (&["GETBIT", "num", "2"], ":1\r\n"),
        (&["GETBIT", "num", "3"], ":1\r\n"),
        (&["SETBIT", "num", "2", "0"], ":1\r\n"),
        (&["GET", "num"], "$5\r\n\x112345\r\n"),
    ]);
}

#[test]
fn setbit_rejects_bad_offsets_and_values() {
    check_new(&[
        (&["SETBIT", "bm", "1", "2"], BAD_BIT),
        (&["SETBIT", "bm", "1", "-1"], BAD_BIT),
        (&["SETBIT", "bm", "1", "x"], BAD_BIT),
        (&["SETBIT", "bm", "-1", "1"], BAD_OFFSET),
        (&["SETBIT", "bm", "x", "1"], BAD_OFFSET),
        (&["SETBIT", "bm", "4294967296", "1"], BAD_OFFSET),
        (&["SETBIT", "bm", "4294967295", "x"], BAD_BIT),
        (&["GETBIT", "bm", "4294967296"], BAD_OFFSET),
        (&["GETBIT", "bm", "-1"], BAD_OFFSET),
        (&["GET", "bm"], "$-1\r\n"),
    ]);
}

#[test]
fn bit_offsets_are_limited_by_proto_max_bulk_len() {
    let s = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SETBIT", "k", "8388607", "1"], ":0\r\n"),
            (&["SETBIT", "k", "8388608", "1"], BAD_OFFSET),
            (&["GETBIT", "k", "8388608"], BAD_OFFSET),
            (
                &["BITFIELD", "f", "SET", "u8", "#1048575", "1"],
                "*1\r\n:0\r\n",
            ),
            (&["BITFIELD", "f", "SET", "u8", "#1048576", "1"], BAD_OFFSET),
            (
                &["BITFIELD", "f", "SET", "u16", "8388600", "1"],
                "*1\r\n:256\r\n",
            ),
            (&["STRLEN", "f"], ":1048577\r\n"),
        ],
    );
}

#[test]
fn setbit_keeps_the_ttl() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "t", "a", "PX", "300"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SETBIT", "t", "100", "1"]), ":0\r\n");
    assert_eq!(
        c.cmd(&["BITFIELD", "t", "INCRBY", "u8", "0", "1"]),
        "*1\r\n:98\r\n"
    );
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(c.cmd(&["GET", "t"]), "$-1\r\n");
}

#[test]
fn bitcount_counts_byte_and_bit_ranges() {
    check_new(&[
        (&["SET", "k", "foobar"], "+OK\r\n"),
        (&["BITCOUNT", "k"], ":26\r\n"),
        (&["BITCOUNT", "k", "0", "0"], ":4\r\n"),
        (&["BITCOUNT", "k", "1", "1"], ":6\r\n"),
        (&["BITCOUNT", "k", "1", "1", "BYTE"], ":6\r\n"),
        (&["BITCOUNT", "k", "5", "30", "BIT"], ":17\r\n"),
        (&["BITCOUNT", "k", "0", "-1", "bit"], ":26\r\n"),
        (&["BITCOUNT", "k", "-1", "-1", "BIT"], ":0\r\n"),
        (&["BITCOUNT", "k", "-5", "-1", "BIT"], ":2\r\n"),
        (&["BITCOUNT", "k", "-100", "-200"], ":0\r\n"),
        (&["BITCOUNT", "k", "-200", "-100"], ":4\r\n"),
        (&["BITCOUNT", "k", "-100", "100"], ":26\r\n"),
        (&["BITCOUNT", "k", "100", "200"], ":0\r\n"),
        (&["BITCOUNT", "k", "3", "1"], ":0\r\n"),
        (
            &[
                "BITCOUNT",
                "k",
                "9223372036854775807",
                "-9223372036854775808",
            ],
            ":0\r\n",
        ),
        (
            &[
                "BITCOUNT",
                "k",
                "-9223372036854775808",
                "9223372036854775807",
                "BIT",
            ],
            ":26\r\n",
        ),
        (&["SET", "e", ""], "+OK\r\n"),
        (&["BITCOUNT", "e"], ":0\r\n"),
        (&["BITCOUNT", "e", "0", "-1", "BIT"], ":0\r\n"),
    ]);
}

#[test]
fn bitcount_parses_the_range_only_for_existing_keys() {
    check_new(&[
        (&["BITCOUNT", "missing", "a", "b"], ":0\r\n"),
        (&["BITCOUNT", "missing", "1"], ":0\r\n"),
        (&["SET", "k", "foobar"], "+OK\r\n"),
        (&["BITCOUNT", "k", "1"], SYNTAX),
        (&["BITCOUNT", "k", "1", "2", "3"], SYNTAX),
        (&["BITCOUNT", "k", "1", "2", "BIT", "x"], SYNTAX),
        (&["BITCOUNT", "k", "a", "1"], NOT_INT),
        (&["BITCOUNT", "k", "0", "-1", "foo"], SYNTAX),
    ]);
}

#[test]
fn bitpos_finds_set_and_clear_bits() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    set_bytes(&mut c, "k", b"\xff\xf0\x00");
    check(
        &mut c,
        &[
            (&["BITPOS", "k", "0"], ":12\r\n"),
            (&["BITPOS", "k", "1"], ":0\r\n"),
            (&["BITPOS", "k", "0", "0"], ":12\r\n"),
            (&["BITPOS", "k", "1", "2"], ":-1\r\n"),
            (&["BITPOS", "k", "1", "2", "-1"], ":-1\r\n"),
            (&["BITPOS", "k", "0", "0", "0"], ":-1\r\n"),
            (&["BITPOS", "k", "0", "0", "1"], ":12\r\n"),
            (&["BITPOS", "k", "0", "7", "11", "BIT"], ":-1\r\n"),
            (&["BITPOS", "k", "0", "7", "15", "BIT"], ":12\r\n"),
            (&["BITPOS", "k", "1", "12", "23", "BIT"], ":-1\r\n"),
            (&["BITPOS", "k", "1", "-14", "-1", "bit"], ":10\r\n"),
            (&["BITPOS", "k", "1", "-100", "-200"], ":0\r\n"),
            (&["BITPOS", "k", "1", "5", "3"], ":-1\r\n"),
            (
                &[
                    "BITPOS",
                    "k",
                    "1",
                    "9223372036854775807",
                    "-9223372036854775808",
                    "BIT",
                ],
                ":-1\r\n",
            ),
        ],
    );
}

#[test]
fn bitpos_clear_bit_without_end_returns_the_bit_after_the_string() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    set_bytes(&mut c, "ones", b"\xff\xff\xff");
    set_bytes(&mut c, "zeros", b"\x00\x00");
    check(
        &mut c,
        &[
            (&["BITPOS", "ones", "0"], ":24\r\n"),
            (&["BITPOS", "ones", "0", "1"], ":24\r\n"),
            (&["BITPOS", "ones", "0", "2"], ":24\r\n"),
            (&["BITPOS", "ones", "0", "-1"], ":24\r\n"),
            (&["BITPOS", "ones", "0", "1", "-1"], ":-1\r\n"),
            (&["BITPOS", "ones", "0", "0", "-1", "BIT"], ":-1\r\n"),
            (&["BITPOS", "ones", "0", "3"], ":-1\r\n"),
            (&["BITPOS", "ones", "1", "3"], ":-1\r\n"),
            (&["BITPOS", "zeros", "1"], ":-1\r\n"),
            (&["BITPOS", "zeros", "0"], ":0\r\n"),
            (&["BITPOS", "zeros", "0", "3", "-1", "BIT"], ":3\r\n"),
            (&["BITPOS", "missing", "0"], ":0\r\n"),
            (&["BITPOS", "missing", "1"], ":-1\r\n"),
            (&["SET", "e", ""], "+OK\r\n"),
            (&["BITPOS", "e", "0"], ":-1\r\n"),
            (&["BITPOS", "e", "1"], ":-1\r\n"),
        ],
    );
}

#[test]
fn bitpos_rejects_bad_arguments() {
    check_new(&[
        (&["BITPOS", "missing", "0", "abc"], ":0\r\n"),
        (
            &["BITPOS", "missing", "2"],
            "-ERR The bit argument must be 1 or 0.\r\n",
        ),
        (&["BITPOS", "missing", "x"], NOT_INT),
        (&["SET", "k", "a"], "+OK\r\n"),
        (&["BITPOS", "k", "1", "abc"], NOT_INT),
        (&["BITPOS", "k", "1", "0", "abc"], NOT_INT),
        (&["BITPOS", "k", "0", "3", "BIT"], NOT_INT),
        (&["BITPOS", "k", "1", "0", "-1", "foo"], SYNTAX),
        (&["BITPOS", "k", "1", "0", "-1", "BIT", "extra"], SYNTAX),
    ]);
}

#[test]
fn bitop_combines_sources_padded_with_zeros() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    set_bytes(&mut c, "a", b"\xf0\x0f");
    set_bytes(&mut c, "b", b"\xff");
    let cases: &[(&[&str], &str, &[u8])] = &[
        (&["BITOP", "AND", "d", "a", "b"], ":2\r\n", b"\xf0\x00"),
        (&["BITOP", "or", "d", "a", "b"], ":2\r\n", b"\xff\x0f"),
        (&["BITOP", "Xor", "d", "a", "b", "a"], ":2\r\n", b"\xff\x00"),
        (&["BITOP", "NOT", "d", "a"], ":2\r\n", b"\x0f\xf0"),
        (
            &["BITOP", "AND", "d", "a", "missing"],
            ":2\r\n",
            b"\x00\x00",
        ),
        (&["BITOP", "AND", "d", "a"], ":2\r\n", b"\xf0\x0f"),
    ];
    for (cmd, reply, value) in cases {
        assert_eq!(c.cmd(cmd), *reply, "reply to {cmd:?}");
        assert_value(&mut c, "d", value);
    }
}

#[test]
fn bitop_with_empty_result_deletes_the_destination() {
    check_new(&[
        (&["SET", "d", "v"], "+OK\r\n"),
        (&["BITOP", "AND", "d", "missing", "missing2"], ":0\r\n"),
        (&["GET", "d"], "$-1\r\n"),
        (&["SET", "d", "v"], "+OK\r\n"),
        (&["SET", "e", ""], "+OK\r\n"),
        (&["BITOP", "NOT", "d", "e"], ":0\r\n"),
        (&["GET", "d"], "$-1\r\n"),
    ]);
}

#[test]
fn bitop_rejects_bad_operations() {
    check_new(&[
        (
            &["BITOP", "NOT", "d", "a", "b"],
            "-ERR BITOP NOT must be called with a single source key.\r\n",
        ),
        (&["BITOP", "FOO", "d", "a"], SYNTAX),
        (
            &["BITOP", "AND", "d"],
            "-ERR wrong number of arguments for 'bitop' command\r\n",
        ),
    ]);
}

#[test]
fn bitop_replaces_the_destination_and_drops_its_ttl() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SET", "a", "x"], "+OK\r\n"),
            (&["SET", "d", "old", "PX", "300"], "+OK\r\n"),
            (&["BITOP", "OR", "d", "a"], ":1\r\n"),
        ],
    );
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(c.cmd(&["GET", "d"]), "$1\r\nx\r\n");
}

#[test]
fn bitfield_gets_sets_and_increments() {
    check_new(&[
        (&["BITFIELD", "k", "SET", "u8", "0", "255"], "*1\r\n:0\r\n"),
        (
            &[
                "BITFIELD", "k", "GET", "u8", "0", "GET", "i8", "0", "GET", "u4", "0", "GET", "i4",
                "4",
            ],
            "*4\r\n:255\r\n:-1\r\n:15\r\n:-1\r\n",
        ),
        (
            &["BITFIELD", "k", "INCRBY", "u8", "0", "10"],
            "*1\r\n:9\r\n",
        ),
        (
            &[
                "BITFIELD", "k", "set", "u8", "#2", "7", "get", "u8", "16", "get", "u8", "#2",
                "get", "u8", "#100",
            ],
            "*4\r\n:0\r\n:7\r\n:7\r\n:0\r\n",
        ),
        (&["STRLEN", "k"], ":3\r\n"),
        (
            &[
                "BITFIELD", "k", "SET", "i5", "#3", "-3", "GET", "i5", "#3", "GET", "u5", "15",
            ],
            "*3\r\n:0\r\n:-3\r\n:29\r\n",
        ),
        (&["BITFIELD", "k"], "*0\r\n"),
        (&["BITFIELD", "new", "GET", "u8", "0"], "*1\r\n:0\r\n"),
        (&["GET", "new"], "$-1\r\n"),
        (&["SET", "num", "12345"], "+OK\r\n"),
        (
            &["BITFIELD", "num", "GET", "u8", "0", "SET", "u8", "0", "97"],
            "*2\r\n:49\r\n:49\r\n",
        ),
        (&["GET", "num"], "$5\r\na2345\r\n"),
    ]);
}

#[test]
fn bitfield_overflow_policies_wrap_saturate_or_fail() {
    check_new(&[
        (&["BITFIELD", "k", "SET", "u8", "0", "255"], "*1\r\n:0\r\n"),
        (
            &[
                "BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "10",
            ],
            "*1\r\n:255\r\n",
        ),
        (
            &[
                "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "10",
            ],
            "*1\r\n$-1\r\n",
        ),
        (
            &[
                "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "-300",
            ],
            "*1\r\n$-1\r\n",
        ),
        (
            &[
                "BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "-300",
            ],
            "*1\r\n:0\r\n",
        ),
        (
            &[
                "BITFIELD", "k", "OVERFLOW", "WRAP", "INCRBY", "u8", "0", "-300",
            ],
            "*1\r\n:212\r\n",
        ),
        (
            &["BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u8", "0", "-1"],
            "*1\r\n:212\r\n",
        ),
        (
            &["BITFIELD", "k", "OVERFLOW", "WRAP", "SET", "u8", "0", "-1"],
            "*1\r\n:255\r\n",
        ),
        (
            &["BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u8", "0", "256"],
            "*1\r\n$-1\r\n",
        ),
        (
            &[
                "BITFIELD", "k", "SET", "i8", "0", "127", "INCRBY", "i8", "0", "1",
            ],
            "*2\r\n:-1\r\n:-128\r\n",
        ),
        (
            &[
                "BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100", "INCRBY", "i8",
                "0", "-300",
            ],
            "*2\r\n:-28\r\n:-128\r\n",
        ),
        (
            &[
                "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1", "OVERFLOW", "WRAP",
                "INCRBY", "i8", "0", "-200",
            ],
            "*2\r\n$-1\r\n:-72\r\n",
        ),
        (
            &["BITFIELD", "k", "INCRBY", "u2", "0", "7", "OVERFLOW", "SAT"],
            "*1\r\n:1\r\n",
        ),
        (
            &[
                "BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u8", "8", "1000",
            ],
            "*1\r\n$-1\r\n",
        ),
        (&["GET", "f"], "$2\r\n\x00\x00\r\n"),
    ]);
}

#[test]
fn bitfield_handles_64_bit_signed_and_63_bit_unsigned_fields() {
    check_new(&[
        (
            &[
                "BITFIELD",
                "k",
                "SET",
                "i64",
                "0",
                "9223372036854775807",
                "INCRBY",
                "i64",
                "0",
                "1",
            ],
            "*2\r\n:0\r\n:-9223372036854775808\r\n",
        ),
        (
            &[
                "BITFIELD",
                "k",
                "OVERFLOW",
                "SAT",
                "INCRBY",
                "i64",
                "0",
                "-1",
                "INCRBY",
                "i64",
                "0",
                "9223372036854775807",
                "INCRBY",
                "i64",
                "0",
                "2",
            ],
            "*3\r\n:-9223372036854775808\r\n:-1\r\n:1\r\n",
        ),
        (
            &[
                "BITFIELD",
                "k",
                "OVERFLOW",
                "FAIL",
                "SET",
                "i64",
                "0",
                "-9223372036854775808",
                "INCRBY",
                "i64",
                "0",
                "-1",
            ],
            "*2\r\n:1\r\n$-1\r\n",
        ),
        (
            &[
                "BITFIELD",
                "k",
                "SET",
                "u63",
                "0",
                "9223372036854775807",
                "INCRBY",
                "u63",
                "0",
                "1",
            ],
            "*2\r\n:4611686018427387904\r\n:0\r\n",
        ),
        (
            &[
                "BITFIELD",
                "k",
                "OVERFLOW",
                "SAT",
                "INCRBY",
                "u63",
                "0",
                "-1",
                "INCRBY",
                "u63",
                "0",
                "9223372036854775807",
            ],
            "*2\r\n:0\r\n:9223372036854775807\r\n",
        ),
        (
            &[
                "BITFIELD", "k", "GET", "u63", "0", "GET", "i64", "0", "GET", "u1", "0", "GET",
                "i1", "0",
            ],
            "*4\r\n:9223372036854775807\r\n:-2\r\n:1\r\n:-1\r\n",
        ),
    ]);
}

#[test]
fn bitfield_rejects_bad_types_offsets_and_subcommands() {
    check_new(&[
        (&["BITFIELD", "k", "GET"], SYNTAX),
        (&["BITFIELD", "k", "GET", "u8"], SYNTAX),
        (&["BITFIELD", "k", "SET", "u8", "0"], SYNTAX),
        (&["BITFIELD", "k", "INCRBY", "u8", "0"], SYNTAX),
        (&["BITFIELD", "k", "OVERFLOW"], SYNTAX),
        (&["BITFIELD", "k", "FOO"], SYNTAX),
        (
            &["BITFIELD", "k", "OVERFLOW", "FOO"],
            "-ERR Invalid OVERFLOW type specified\r\n",
        ),
        (&["BITFIELD", "k", "GET", "u64", "0"], BAD_TYPE),
        (&["BITFIELD", "k", "GET", "I8", "0"], BAD_TYPE),
        (&["BITFIELD", "k", "GET", "i65", "0"], BAD_TYPE),
        (&["BITFIELD", "k", "GET", "i0", "0"], BAD_TYPE),
        (&["BITFIELD", "k", "GET", "u", "0"], BAD_TYPE),
        (&["BITFIELD", "k", "GET", "", "0"], BAD_TYPE),
        (&["BITFIELD", "k", "GET", "i08", "0"], BAD_TYPE),
        (&["BITFIELD", "k", "GET", "u8", "-1"], BAD_OFFSET),
        (&["BITFIELD", "k", "GET", "u8", "#-1"], BAD_OFFSET),
        (&["BITFIELD", "k", "GET", "u8", "#"], BAD_OFFSET),
        (&["BITFIELD", "k", "GET", "u8", "4294967296"], BAD_OFFSET),
        (
            &["BITFIELD", "k", "GET", "u8", "4294967295"],
            "*1\r\n:0\r\n",
        ),
        (&["BITFIELD", "k", "GET", "i64", "#67108864"], BAD_OFFSET),
        (
            &["BITFIELD", "k", "GET", "i64", "#67108863"],
            "*1\r\n:0\r\n",
        ),
        (&["BITFIELD", "k", "SET", "u8", "0", "x"], NOT_INT),
        (
            &["BITFIELD", "k", "SET", "u8", "0", "1", "GET", "u8", "x"],
            BAD_OFFSET,
        ),
        (&["GET", "k"], "$-1\r\n"),
    ]);
}

#[test]
fn bitfield_ro_only_reads() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let ro_only = "-ERR BITFIELD_RO only supports the GET subcommand\r\n";
    check(
        &mut c,
        &[
            (&["SET", "k", "ab"], "+OK\r\n"),
            (
                &["BITFIELD_RO", "k", "GET", "u8", "0", "GET", "i16", "4"],
                "*2\r\n:97\r\n:5664\r\n",
            ),
            (&["BITFIELD_RO", "k", "SET", "u8", "0", "1"], ro_only),
            (&["BITFIELD_RO", "k", "INCRBY", "u8", "0", "1"], ro_only),
            (&["BITFIELD_RO", "k", "SET", "u8", "0", "x"], NOT_INT),
            (
                &["BITFIELD_RO", "k", "OVERFLOW", "FAIL", "GET", "u8", "0"],
                "*1\r\n:97\r\n",
            ),
            (&["BITFIELD_RO", "k", "GET", "u8", "0", "GET"], SYNTAX),
            (
                &["BITFIELD_RO", "missing", "GET", "u8", "0"],
                "*1\r\n:0\r\n",
            ),
            (&["BITFIELD_RO", "k"], "*0\r\n"),
        ],
    );
}

#[test]
fn bitmap_commands_on_other_types_return_wrongtype() {
    let (s, dir) = server_with_list();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["SETBIT", "list", "0", "1"], WRONGTYPE),
            (&["SETBIT", "list", "-1", "1"], BAD_OFFSET),
            (&["GETBIT", "list", "0"], WRONGTYPE),
            (&["BITCOUNT", "list", "0", "1"], WRONGTYPE),
            (&["BITCOUNT", "list", "a"], WRONGTYPE),
            (&["BITPOS", "list", "1"], WRONGTYPE),
            (
                &["BITPOS", "list", "2"],
                "-ERR The bit argument must be 1 or 0.\r\n",
            ),
            (&["BITOP", "AND", "d", "list"], WRONGTYPE),
            (&["BITOP", "OR", "list", "missing"], ":0\r\n"),
            (&["GET", "list"], "$-1\r\n"),
        ],
    );
    drop(s);
    let (s, dir2) = server_with_list();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["BITFIELD", "list", "GET", "u8", "0"], WRONGTYPE),
            (&["BITFIELD", "list", "SET", "u8", "0", "1"], WRONGTYPE),
            (&["BITFIELD", "list", "GET", "u64", "0"], BAD_TYPE),
            (&["BITFIELD_RO", "list", "GET", "u8", "0"], WRONGTYPE),
            (
                &["BITFIELD_RO", "list", "SET", "u8", "0", "1"],
                "-ERR BITFIELD_RO only supports the GET subcommand\r\n",
            ),
            (&["BITOP", "OR", "list", "x"], ":0\r\n"),
        ],
    );
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(dir2);
}
