//! DUMP and RESTORE in Redis's payload format: keys of every type move between berth and a real
//! redis-server 7.0 both ways, and bad payloads are refused as Redis refuses them.

mod common;
use common::{RealRedis, Server};

use berth::types::dump::crc64;
use redis::{Connection, Value};

fn conn(port: u16) -> Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("client")
        .get_connection()
        .expect("connect")
}

fn q<T: redis::FromRedisValue>(c: &mut Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])))
}

fn try_q(c: &mut Connection, args: &[&[u8]]) -> Result<String, String> {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<String>(c).map_err(|e| {
        format!(
            "{} {}",
            e.code().unwrap_or("?"),
            e.detail().unwrap_or_default()
        )
    })
}

/// A key's type and whole contents in a comparable form (sets and hashes sorted).
fn contents(c: &mut Connection, key: &str) -> (String, Vec<Vec<u8>>) {
    let k = key.as_bytes();
    let t: String = q(c, &[b"TYPE", k]);
    let mut v: Vec<Vec<u8>> = match t.as_str() {
        "string" => vec![q(c, &[b"GET", k])],
        "list" => q(c, &[b"LRANGE", k, b"0", b"-1"]),
        "set" => q(c, &[b"SMEMBERS", k]),
        "zset" => q(c, &[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]),
        "hash" => {
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = q(c, &[b"HGETALL", k]);
            let mut pairs = pairs;
            pairs.sort();
            pairs.into_iter().flat_map(|(a, b)| [a, b]).collect()
        }
        other => panic!("{key}: type {other}"),
    };
    if t == "set" {
        v.sort();
    }
    (t, v)
}

fn encoding(c: &mut Connection, key: &str) -> String {
    q(c, &[b"OBJECT", b"ENCODING", key.as_bytes()])
}

fn cmd(c: &mut Connection, args: Vec<Vec<u8>>) {
    let mut r = redis::cmd(std::str::from_utf8(&args[0]).expect("name"));
    for a in &args[1..] {
        r.arg(a.as_slice());
    }
    let _: Value = r.query(c).expect("populate");
}

fn words(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// Keys of every type in small (compact) and large encodings, long compressible values
/// included. Returns their names.
fn populate(c: &mut Connection) -> Vec<String> {
    let long = "abc".repeat(400);
    let mut binary: Vec<u8> = (0..=255u8).collect();
    binary.extend((0..300u32).map(|i| (i * 7 % 251) as u8));
    cmd(c, words(&["SET", "s_short", "hello"]));
    cmd(c, words(&["SET", "s_int", "12345"]));
    cmd(c, words(&["SET", "s_neg", "-7"]));
    cmd(c, words(&["SET", "s_bigint", "123456789012"]));
    cmd(c, words(&["SET", "s_notint", "007"]));
    cmd(c, words(&["SET", "s_long", &long]));
    cmd(c, vec![b"SET".to_vec(), b"s_bin".to_vec(), binary.clone()]);
    cmd(c, words(&["SET", "s_empty", ""]));
    cmd(
        c,
        words(&["SET", "s_lzf_short", "abcabcabcabcabcabcabcabcabc"]),
    );

    cmd(
        c,
        words(&[
            "HSET",
            "h_small",
            "a",
            "1",
            "b",
            "x",
            "n",
            "123456789012",
            "e",
            "",
        ]),
    );
    let mut h = words(&["HSET", "h_big"]);
    for i in 0..300 {
        h.push(format!("field:{i}").into_bytes());
        h.push(format!("{}", i * 1000 - 77).into_bytes());
    }
    cmd(c, h);
    cmd(c, words(&["HSET", "h_longval", "f", &long, "g", "1"]));

    cmd(
        c,
        words(&[
            "SADD",
            "set_int",
            "1",
            "2",
            "-7",
            "100000",
            "5000000000",
            "-32769",
        ]),
    );
    let mut s = words(&["SADD", "set_bigint"]);
    s.extend((0..600).map(|i| format!("{}", i * 3 - 50).into_bytes()));
    cmd(c, s);
    cmd(c, words(&["SADD", "set_str", "a", "b", "c", "12"]));
    let mut s = words(&["SADD", "set_big"]);
    s.extend((0..1000).map(|i| format!("member-{i}").into_bytes()));
    cmd(c, s);

    cmd(
        c,
        words(&[
            "ZADD", "z_small", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "-0.125", "e", "7",
            "12",
        ]),
    );
    let mut z = words(&["ZADD", "z_big"]);
    for i in 0..300 {
        z.push(format!("{}", i as f64 * 0.5 - 20.0).into_bytes());
        z.push(format!("m{i}").into_bytes());
    }
    cmd(c, z);
    cmd(
        c,
        words(&["ZADD", "z_long", "3.14159", &long, "1e100", "x"]),
    );

    cmd(
        c,
        words(&[
            "RPUSH",
            "l_small",
            "a",
            "1",
            "-100",
            "70000",
            "",
            "5000000000",
            "b",
        ]),
    );
    let mut l = words(&["RPUSH", "l_big"]);
    l.extend((0..5000).map(|i| format!("element number {i}").into_bytes()));
    cmd(c, l);
    cmd(c, words(&["RPUSH", "l_long", &long, "x", &long]));
    cmd(
        c,
        vec![b"RPUSH".to_vec(), b"l_bin".to_vec(), binary, b"1".to_vec()],
    );

    [
        "s_short",
        "s_int",
        "s_neg",
        "s_bigint",
        "s_notint",
        "s_long",
        "s_bin",
        "s_empty",
        "s_lzf_short",
        "h_small",
        "h_big",
        "h_longval",
        "set_int",
        "set_bigint",
        "set_str",
        "set_big",
        "z_small",
        "z_big",
        "z_long",
        "l_small",
        "l_big",
        "l_long",
        "l_bin",
    ]
    .map(String::from)
    .to_vec()
}

/// Moves every key from `from` to `to` by DUMP and RESTORE and checks that `to` reads the same
/// contents, with the same OBJECT ENCODING for collections.
fn transfer(from: &mut Connection, to: &mut Connection, keys: &[String]) {
    for key in keys {
        let payload: Vec<u8> = q(from, &[b"DUMP", key.as_bytes()]);
        let ok = try_q(to, &[b"RESTORE", key.as_bytes(), b"0", &payload]);
        assert_eq!(ok, Ok("OK".to_string()), "RESTORE {key}");
        assert_eq!(contents(to, key), contents(from, key), "contents of {key}");
        assert_eq!(encoding(to, key), encoding(from, key), "encoding of {key}");
    }
}

#[test]
fn redis_dumps_of_every_type_restore_in_berth() {
    let redis = RealRedis::start();
    let berth = Server::start(&[]);
    let mut r = conn(redis.port);
    let mut b = berth.client();
    let keys = populate(&mut r);
    transfer(&mut r, &mut b, &keys);
}

#[test]
fn berth_dumps_of_every_type_restore_in_redis() {
    let redis = RealRedis::start();
    let berth = Server::start(&[]);
    let mut r = conn(redis.port);
    let mut b = berth.client();
    let keys = populate(&mut b);
    transfer(&mut b, &mut r, &keys);
}

#[test]
fn redis_plain_list_nodes_restore_in_berth() {
    // Elements above the packed threshold get PLAIN quicklist nodes.
    let redis = RealRedis::start_with(&["--enable-debug-command", "yes"]);
    let berth = Server::start(&[]);
    let mut r = conn(redis.port);
    let mut b = berth.client();
    let _: Value = q(&mut r, &[b"DEBUG", b"QUICKLIST-PACKED-THRESHOLD", b"100"]);
    let big = "p".repeat(500);
    cmd(
        &mut r,
        words(&["RPUSH", "l_plain", "a", &big, "b", &big, "c"]),
    );
    transfer(&mut r, &mut b, &["l_plain".to_string()]);
}

#[test]
fn payloads_match_redis_byte_for_byte_where_encodings_agree() {
    let redis = RealRedis::start();
    let berth = Server::start(&[]);
    let mut r = conn(redis.port);
    let mut b = berth.client();
    let long = "abc".repeat(400);
    let text = "The quick brown fox jumps over the lazy dog; the lazy dog sleeps. ".repeat(30);
    let mixed: String = (0..2000u32)
        .map(|i| char::from(b'a' + (i.wrapping_mul(2654435761) >> 28) as u8 % 7))
        .collect();
    let cases: &[&[&str]] = &[
        &["SET", "k", &long],
        &["SET", "k", &text],
        &["SET", "k", &mixed],
        &[
            "SET",
            "k",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ],
        &["SET", "k", "abcdefghijklmnopqrstuvwxyz"],
        &["SADD", "k", &text],
        &["SET", "k", "hello"],
        &["SET", "k", "12345"],
        &["SET", "k", "-1"],
        &["SET", "k", "2147483647"],
        &["SET", "k", "2147483648"],
        &["SET", "k", "01"],
        &["SADD", "k", "member"],
        &["RPUSH", "k", "a", "bb", "ccc"],
        &["RPUSH", "k", &text[..60], &text[5..90], &text[..200], "x"],
    ];
    let mut cases: Vec<Vec<String>> = cases
        .iter()
        .map(|c| c.iter().map(|a| a.to_string()).collect())
        .collect();
    let mut push = |parts: Vec<String>| cases.push(parts);
    // Compact encodings: Redis's listpack order is insertion order for hashes (fields are
    // inserted sorted here, berth's order) and (score, member) for sorted sets; intsets sort.
    push(
        [
            "HSET", "k", "a", "1", "b", "-3000", "c", "hello", "d", "70000", "e", "", "f",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([text[..100].to_string()].into_iter().take(0))
        .chain(["5000000000".to_string()])
        .collect(),
    );
    push(
        ["SADD", "k", "5", "-1", "300", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    push(
        ["SADD", "k", "5", "-100000", "7"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    push(
        ["SADD", "k", "5", "9000000000"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    let mut many = vec!["SADD".to_string(), "k".to_string()];
    many.extend((0..400).map(|i| (i * 37 % 1000).to_string()));
    push(many);
    push(
        [
            "ZADD", "k", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "0.1", "e", "1", "0",
            "100000", "x", "-3", "12",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    let mut zbig = vec!["ZADD".to_string(), "k".to_string()];
    for i in 0..100 {
        zbig.push(format!("{}", i as f64 / 3.0));
        zbig.push(format!("member:{i}"));
    }
    push(zbig);
    push(
        [
            "RPUSH",
            "k",
            "1",
            "-1",
            "127",
            "128",
            "-4096",
            "4095",
            "40000",
            "-8388608",
            "2147483647",
            "9223372036854775807",
            "x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    let mut lbig = vec!["RPUSH".to_string(), "k".to_string()];
    lbig.extend((0..5000).map(|i| format!("element number {i}")));
    push(lbig);
    let mut lmixed = vec!["RPUSH".to_string(), "k".to_string()];
    lmixed.extend((0..3000).map(|i| match i % 4 {
        0 => i.to_string(),
        1 => "y".repeat(i % 300),
        2 => text[..(i % 500)].to_string(),
        _ => format!("{i}.5"),
    }));
    push(lmixed);
    for case in &cases {
        let case: Vec<&str> = case.iter().map(|s| s.as_str()).collect();
        let case = &case;
        cmd(&mut r, words(&["DEL", "k"]));
        cmd(&mut b, words(&["DEL", "k"]));
        cmd(&mut r, words(case));
        cmd(&mut b, words(case));
        let want: Vec<u8> = q(&mut r, &[b"DUMP", b"k"]);
        let got: Vec<u8> = q(&mut b, &[b"DUMP", b"k"]);
        let first_diff = got.iter().zip(&want).position(|(a, b)| a != b);
        assert!(
            got == want,
            "DUMP after {:?}: {} bytes, Redis {} bytes, first difference at {first_diff:?}: {:?} vs {:?}",
            &case[..case.len().min(8)],
            got.len(),
            want.len(),
            &got[..got.len().min(40)],
            &want[..want.len().min(40)],
        );
    }
}

#[test]
fn collection_payloads_are_deterministic() {
    let s = Server::start(&[]);
    let mut b = s.client();
    // 65 bytes without a repeated 3-byte sequence: too long for a listpack, not compressible.
    let wide = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-";
    cmd(&mut b, words(&["HSET", "hl", "f", "1", "g", "v"]));
    cmd(&mut b, words(&["HSET", "h", "f", "1", "g", wide]));
    cmd(&mut b, words(&["ZADD", "zl", "1.5", "m", "-2", "7"]));
    cmd(&mut b, words(&["ZADD", "z", "1.5", wide]));
    cmd(&mut b, words(&["SADD", "si", "300", "-2"]));
    cmd(&mut b, words(&["SADD", "s", "x", "y"]));
    cmd(&mut b, words(&["RPUSH", "l", "a", "12"]));
    let dump = |b: &mut Connection, k: &[u8]| -> Vec<u8> {
        let p: Vec<u8> = q(b, &[b"DUMP", k]);
        assert_eq!(&p[p.len() - 10..p.len() - 8], b"\x0a\x00", "RDB version 10");
        assert_eq!(crc64(&p[..p.len() - 8]).to_le_bytes(), p[p.len() - 8..]);
        p[..p.len() - 10].to_vec()
    };
    // RDB_TYPE_HASH_LISTPACK: an 18-byte listpack of f, 1 (7-bit integer), g, v.
    assert_eq!(
        dump(&mut b, b"hl"),
        b"\x10\x12\x12\x00\x00\x00\x04\x00\x81f\x02\x01\x01\x81g\x02\x81v\x02\xff"
    );
    // RDB_TYPE_HASH: count, then field and value strings (1 as an 8-bit RDB integer).
    let mut h = b"\x04\x02\x01f\xc0\x01\x01g\x40\x41".to_vec();
    h.extend_from_slice(wide.as_bytes());
    assert_eq!(dump(&mut b, b"h"), h);
    // RDB_TYPE_ZSET_LISTPACK: (score, member) order, scores as text or integers.
    assert_eq!(
        dump(&mut b, b"zl"),
        b"\x11\x14\x14\x00\x00\x00\x04\x00\x07\x01\xdf\xfe\x02\x81m\x02\x831.5\x04\xff"
    );
    // RDB_TYPE_ZSET_2: member strings and little-endian binary scores.
    let mut z = b"\x05\x01\x40\x41".to_vec();
    z.extend_from_slice(wide.as_bytes());
    z.extend_from_slice(&1.5f64.to_le_bytes());
    assert_eq!(dump(&mut b, b"z"), z);
    // RDB_TYPE_SET_INTSET: 16-bit entries, sorted.
    assert_eq!(
        dump(&mut b, b"si"),
        b"\x0b\x0c\x02\x00\x00\x00\x02\x00\x00\x00\xfe\xff\x2c\x01"
    );
    assert_eq!(dump(&mut b, b"s"), b"\x02\x02\x01x\x01y");
    // RDB_TYPE_LIST_QUICKLIST_2: one packed node holding a listpack.
    assert_eq!(
        dump(&mut b, b"l"),
        b"\x12\x01\x02\x0c\x0c\x00\x00\x00\x02\x00\x81a\x02\x0c\x01\xff"
    );
}

/// A payload around an RDB value, with Redis 7.0's footer.
fn payload(obj: &[u8]) -> Vec<u8> {
    let mut p = obj.to_vec();
    p.extend_from_slice(&10u16.to_le_bytes());
    let sum = crc64(&p);
    p.extend_from_slice(&sum.to_le_bytes());
    p
}

#[test]
fn malformed_payloads_are_refused_as_redis_does() {
    let redis = RealRedis::start();
    let berth = Server::start(&[]);
    let mut r = conn(redis.port);
    let mut b = berth.client();
    let mut newer = b"\x00\x01x".to_vec();
    newer.extend_from_slice(&11u16.to_le_bytes());
    let sum = crc64(&newer);
    newer.extend_from_slice(&sum.to_le_bytes());
    let cases: Vec<Vec<u8>> = vec![
        newer,
        payload(b"\x02\x00"),
        payload(b"\x04\x00"),
        payload(b"\x08\x01"),
        payload(b"\x00\x30ab"),
        payload(b"\x02\x02\x01a"),
        payload(b"\x10\x03abc"),
        payload(b"\x0b\x04\x02\x00\x00\x00"),
        payload(b"\x12\x01\x03\x01a"),
        payload(b"\x05\x01\x01m\x00\x00\x00\x00\x00\x00\xf8\x7f"),
        payload(b"\x00\xc3\x02\x05\x00a"),
        payload(b"\x02\x02\x01a\x01a"),
        payload(
            b"\x05\x02\x01m\x00\x00\x00\x00\x00\x00\xf0\x3f\x01m\x00\x00\x00\x00\x00\x00\x00\x40",
        ),
    ];
    // A hash too large for a listpack, with one field twice.
    let mut big = b"\x04\x42\x58".to_vec();
    for i in 0..600 {
        let f = format!("f{}", i.min(598));
        big.push(f.len() as u8);
        big.extend_from_slice(f.as_bytes());
        big.extend_from_slice(b"\x01v");
    }
    let mut cases = cases;
    cases.push(payload(&big));
    for (i, p) in cases.iter().enumerate() {
        let want = try_q(&mut r, &[b"RESTORE", b"k", b"0", p]);
        let got = try_q(&mut b, &[b"RESTORE", b"k", b"0", p]);
        assert_eq!(got, want, "case {i}: {p:?}");
        assert!(want.is_err(), "case {i}");
    }
    let exists: i64 = q(&mut b, &[b"EXISTS", b"k"]);
    assert_eq!(exists, 0);
}

#[test]
fn restore_of_collections_honours_replace_ttl_and_idletime() {
    let s = Server::start(&[]);
    let mut b = s.client();
    cmd(&mut b, words(&["HSET", "h", "a", "1", "b", "2"]));
    let p: Vec<u8> = q(&mut b, &[b"DUMP", b"h"]);
    cmd(&mut b, words(&["HSET", "dst", "old", "x", "c", "3"]));
    assert_eq!(
        try_q(&mut b, &[b"RESTORE", b"dst", b"0", &p]),
        Err("BUSYKEY Target key name already exists.".into())
    );
    assert_eq!(
        try_q(
            &mut b,
            &[
                b"RESTORE",
                b"dst",
                b"5000",
                &p,
                b"REPLACE",
                b"IDLETIME",
                b"100"
            ]
        ),
        Ok("OK".into())
    );
    assert_eq!(contents(&mut b, "dst"), contents(&mut b, "h"));
    let pttl: i64 = q(&mut b, &[b"PTTL", b"dst"]);
    assert!((4000..=5000).contains(&pttl), "{pttl}");
    let idle: i64 = q(&mut b, &[b"OBJECT", b"IDLETIME", b"dst"]);
    assert!((100..105).contains(&idle), "{idle}");
    // Writes after the restore land on the restored hash only.
    cmd(&mut b, words(&["HSET", "dst", "z", "9"]));
    let n: i64 = q(&mut b, &[b"HLEN", b"dst"]);
    assert_eq!(n, 3);
    let n: i64 = q(&mut b, &[b"HLEN", b"h"]);
    assert_eq!(n, 2);
    // Already expired: nothing is created and REPLACE removes the old key.
    assert_eq!(
        try_q(
            &mut b,
            &[b"RESTORE", b"dst", b"1", &p, b"ABSTTL", b"REPLACE"]
        ),
        Ok("OK".into())
    );
    let n: i64 = q(&mut b, &[b"EXISTS", b"dst"]);
    assert_eq!(n, 0);
}

#[test]
fn restore_of_a_list_serves_a_blocked_client() {
    let s = Server::start(&[]);
    let mut b = s.client();
    cmd(&mut b, words(&["RPUSH", "src", "x", "y"]));
    let p: Vec<u8> = q(&mut b, &[b"DUMP", b"src"]);
    let addr = s.addr();
    let waiter = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://{addr}/"))
            .expect("client")
            .get_connection()
            .expect("connect");
        let got: Vec<String> = redis::cmd("BLPOP")
            .arg("dst")
            .arg(5)
            .query(&mut c)
            .expect("blpop");
        got
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        try_q(&mut b, &[b"RESTORE", b"dst", b"0", &p]),
        Ok("OK".into())
    );
    assert_eq!(waiter.join().expect("join"), vec!["dst", "x"]);
    let rest: Vec<String> = q(&mut b, &[b"LRANGE", b"dst", b"0", b"-1"]);
    assert_eq!(rest, vec!["y"]);
}

#[test]
fn restored_collections_survive_a_crash() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut b = s.client();
    let keys = populate(&mut b);
    let mut payloads = Vec::new();
    for k in &keys {
        let p: Vec<u8> = q(&mut b, &[b"DUMP", k.as_bytes()]);
        payloads.push((k.clone(), p));
    }
    let before: Vec<_> = keys.iter().map(|k| contents(&mut b, k)).collect();
    cmd(&mut b, words(&["FLUSHALL"]));
    for (k, p) in &payloads {
        assert_eq!(
            try_q(&mut b, &[b"RESTORE", k.as_bytes(), b"0", p]),
            Ok("OK".into())
        );
    }
    s.kill9();
    s.restart();
    let mut b = s.client();
    let after: Vec<_> = keys.iter().map(|k| contents(&mut b, k)).collect();
    assert_eq!(after, before);
}
