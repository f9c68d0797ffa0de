//! The wire protocol as clients see it: inline commands, pipelining, RESP3, and protocol errors
//! with Redis's exact texts (checked against redis-server 7.0.15). A protocol error closes only
//! the offending connection; hostile input never crashes the server or makes it allocate what a
//! header merely declares.

mod common;
use common::{Raw, Server};

use std::io::{Read, Write};
use std::time::Duration;

/// Sends raw bytes on a fresh connection and returns everything the server answers until it
/// closes the connection (or goes quiet), plus whether it closed.
fn exchange(s: &Server, bytes: &[u8]) -> (String, bool) {
    let mut c = s.raw();
    c.stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok();
    c.send_raw(bytes);
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    let closed = loop {
        match c.stream.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// The protocol error reply and a closed connection, while another connection keeps working.
fn assert_protocol_error(s: &Server, bytes: &[u8], text: &str) {
    let mut other = s.raw();
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
    let (reply, closed) = exchange(s, bytes);
    assert_eq!(reply, format!("-ERR Protocol error: {text}\r\n"));
    assert!(closed, "connection must be closed after {text:?}");
    assert_eq!(other.cmd(&["ECHO", "still here"]), "$10\r\nstill here\r\n");
}

/// Resident memory of a process in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    common::proc_kib(pid, "VmRSS")
}

fn pid(s: &Server) -> u32 {
    s.child.as_ref().expect("server running").id()
}

#[test]
fn inline_commands_are_split_like_redis() {
    let s = Server::start(&[]);
    let (reply, closed) = exchange(
        &s,
        b"PING\r\nSET k 'a\\'b'\r\nGET k\r\nECHO \"a\\x41\\n\"\r\n\r\n\nPING\n  SET  sp   \"hello world\"  \r\nGET sp\r\n",
    );
    assert_eq!(
        reply,
        "+PONG\r\n+OK\r\n$3\r\na'b\r\n$3\r\naA\n\r\n+PONG\r\n+OK\r\n$11\r\nhello world\r\n"
    );
    assert!(!closed);
}

#[test]
fn empty_and_negative_multibulk_counts_are_ignored() {
    let s = Server::start(&[]);
    let (reply, closed) = exchange(&s, b"*0\r\n*-1\r\nPING\r\n");
    assert_eq!(reply, "+PONG\r\n");
    assert!(!closed);
}

#[test]
fn thousand_pipelined_commands_reply_in_order() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut batch = Vec::new();
    for i in 0..500 {
        let (k, v) = (format!("key:{i}"), format!("value-{i}"));
        batch.extend(Raw::encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
        batch.extend(Raw::encode(&[b"GET", k.as_bytes()]));
    }
    c.send_raw(&batch);
    for i in 0..500 {
        assert_eq!(c.read_reply().expect("SET reply"), b"+OK\r\n");
        let v = format!("value-{i}");
        let expected = format!("${}\r\n{v}\r\n", v.len());
        assert_eq!(
            String::from_utf8_lossy(&c.read_reply().expect("GET reply")),
            expected
        );
    }
    assert_eq!(c.cmd(&["INCR", "after"]), ":1\r\n");
}

#[test]
fn hello_3_switches_to_resp3() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "missing"]), "$-1\r\n");
    c.resp3 = true;
    let hello = c.cmd(&["HELLO", "3"]);
    assert!(
        hello.starts_with("%7\r\n$6\r\nserver\r\n"),
        "HELLO 3 must answer a 7-entry map, got {hello:?}"
    );
    assert!(hello.contains("$5\r\nproto\r\n:3\r\n"), "{hello:?}");
    assert_eq!(c.cmd(&["GET", "missing"]), "_\r\n");
    assert_eq!(c.cmd(&["MGET", "missing", "x"]), "*2\r\n_\r\n_\r\n");
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd(&["INCR", "n"]), ":1\r\n");
    c.resp3 = false;
    let hello2 = c.cmd(&["HELLO", "2"]);
    assert!(hello2.starts_with("*14\r\n$6\r\nserver\r\n"), "{hello2:?}");
    assert_eq!(c.cmd(&["GET", "missing"]), "$-1\r\n");
    assert_eq!(
        c.cmd(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
}

#[test]
fn invalid_multibulk_length_closes_only_that_connection() {
    let s = Server::start(&[]);
    assert_protocol_error(&s, b"*abc\r\n", "invalid multibulk length");
    assert_protocol_error(&s, b"*3000000000\r\n", "invalid multibulk length");
}

#[test]
fn invalid_bulk_length_closes_only_that_connection() {
    let s = Server::start(&[]);
    assert_protocol_error(&s, b"*1\r\n$abc\r\n", "invalid bulk length");
    assert_protocol_error(&s, b"*1\r\n$-1\r\n", "invalid bulk length");
    assert_protocol_error(&s, b"*1\r\n$600000000\r\n", "invalid bulk length");
}

#[test]
fn non_bulk_argument_is_a_protocol_error() {
    let s = Server::start(&[]);
    assert_protocol_error(&s, b"*1\r\n:1\r\n", "expected '$', got ':'");
}

#[test]
fn inline_request_over_64k_is_too_big() {
    let s = Server::start(&[]);
    assert_protocol_error(&s, &vec![b'x'; 70_000], "too big inline request");
}

#[test]
fn unbalanced_quotes_in_inline_request() {
    let s = Server::start(&[]);
    assert_protocol_error(&s, b"SET \"a\r\n", "unbalanced quotes in request");
    assert_protocol_error(&s, b"SET 'a\r\n", "unbalanced quotes in request");
}

#[test]
fn bulk_longer_than_proto_max_bulk_len_is_refused() {
    let s = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.raw();
    let ok = vec![b'a'; 1024 * 1024];
    assert_eq!(c.cmd_bytes(&[b"SET", b"k", &ok]), "+OK\r\n");
    assert_protocol_error(
        &s,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n",
        "invalid bulk length",
    );
}

#[test]
fn declared_sizes_without_data_do_not_allocate() {
    let s = Server::start(&[]);
    let before = rss_kib(pid(&s));
    // Each of these promises hundreds of MB (or a billion arguments) and sends nothing more.
    let mut idle = Vec::new();
    for header in [
        &b"*1000000000\r\n"[..],
        b"*1000000000\r\n$3\r\nSET\r\n",
        b"*2\r\n$3\r\nGET\r\n$500000000\r\n",
        b"*1\r\n$536870912\r\n",
    ] {
        let mut c = s.raw();
        c.send_raw(header);
        idle.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.raw().cmd(&["PING"]), "+PONG\r\n");
    let after = rss_kib(pid(&s));
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} KiB to {after} KiB on declared-but-unsent sizes"
    );
}

#[test]
fn unknown_command_and_wrong_arity_texts() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["foo", "a", "b"]),
        "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(
        c.cmd(&["NOPE"]),
        "-ERR unknown command 'NOPE', with args beginning with: \r\n"
    );
    assert_eq!(
        c.cmd(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        c.cmd(&["set", "k"]),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
    assert_eq!(
        c.cmd(&["GET", "a", "b"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    let (reply, closed) = exchange(&s, b"foo a b\r\nGET\r\n");
    assert_eq!(
        reply,
        "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n\
         -ERR wrong number of arguments for 'get' command\r\n"
    );
    assert!(!closed);
}

#[test]
fn random_garbage_on_many_connections_never_crashes_the_server() {
    let mut s = Server::start(&[]);
    let port = s.port;
    let threads: Vec<_> = (0..16u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut seed = 0x2545_f491_4f6c_dd1d ^ (t + 1).wrapping_mul(0x9e37_79b9);
                let mut next = move || {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed
                };
                for _ in 0..25 {
                    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                        continue;
                    };
                    c.set_read_timeout(Some(Duration::from_millis(50))).ok();
                    // Garbage, sometimes dressed as the start of a valid request.
                    let prefixes: [&[u8]; 5] = [b"", b"*", b"*2\r\n$", b"*1\r\n$3\r\n", b"\""];
                    let mut bytes = prefixes[(next() % 5) as usize].to_vec();
                    let n = (next() % 2048) as usize;
                    bytes.extend((0..n).map(|_| next() as u8));
                    let _ = c.write_all(&bytes);
                    let mut sink = [0u8; 4096];
                    let _ = c.read(&mut sink);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("garbage thread");
    }
    let child = s.child.as_mut().expect("server running");
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "server exited"
    );
    assert_eq!(s.raw().cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(s.raw().cmd(&["SET", "k", "v"]), "+OK\r\n");
}

#[test]
fn request_past_client_query_buffer_limit_closes_the_connection() {
    let s = Server::start(&["--client-query-buffer-limit", "1mb"]);
    let mut other = s.raw();
    // Empty arguments cost almost no bytes on the wire but still hold memory: they count too.
    let mut bytes = b"*10000000\r\n".to_vec();
    for _ in 0..50_000 {
        bytes.extend_from_slice(b"$0\r\n\r\n");
    }
    let (reply, closed) = exchange(&s, &bytes);
    assert_eq!(reply, "");
    assert!(closed, "the connection must be closed");
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
}
