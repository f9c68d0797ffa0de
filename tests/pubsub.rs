//! Pub/Sub: confirmations, delivery and the RESP2 subscribed context, with exact replies. The
//! single-connection tables are replayed against a real redis-server too.

mod common;
use common::{check, Case, Raw, RealRedis, Server};

use std::time::{Duration, Instant};

const CONTEXT_ERR: &str =
    "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n";

fn confirm(word: &str, name: &str, n: usize) -> String {
    format!(
        "*3\r\n${}\r\n{word}\r\n${}\r\n{name}\r\n:{n}\r\n",
        word.len(),
        name.len()
    )
}

/// RESP2: the subscribed context, confirmations and their counts.
fn resp2_cases() -> Vec<(Vec<&'static str>, String)> {
    vec![
        (
            vec!["UNSUBSCRIBE"],
            "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n".into(),
        ),
        (
            vec!["PUNSUBSCRIBE"],
            "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n".into(),
        ),
        (
            vec!["SUNSUBSCRIBE"],
            "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n".into(),
        ),
        (
            vec!["SUBSCRIBE", "a", "b", "a"],
            confirm("subscribe", "a", 1)
                + &confirm("subscribe", "b", 2)
                + &confirm("subscribe", "a", 2),
        ),
        (vec!["PSUBSCRIBE", "p*"], confirm("psubscribe", "p*", 3)),
        (vec!["SSUBSCRIBE", "s"], confirm("ssubscribe", "s", 1)),
        (
            vec!["GET", "x"],
            format!("-ERR Can't execute 'get': {CONTEXT_ERR}"),
        ),
        (
            vec!["PUBSUB", "NUMSUB", "a"],
            format!("-ERR Can't execute 'pubsub|numsub': {CONTEXT_ERR}"),
        ),
        (vec!["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n".into()),
        (
            vec!["PING", "hi"],
            "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n".into(),
        ),
        (vec!["UNSUBSCRIBE", "b"], confirm("unsubscribe", "b", 2)),
        (vec!["UNSUBSCRIBE", "zz"], confirm("unsubscribe", "zz", 2)),
        (vec!["PUNSUBSCRIBE", "p*"], confirm("punsubscribe", "p*", 1)),
        (vec!["SUNSUBSCRIBE", "s"], confirm("sunsubscribe", "s", 0)),
        (vec!["UNSUBSCRIBE", "a"], confirm("unsubscribe", "a", 0)),
        // Out of the context again.
        (vec!["GET", "x"], "$-1\r\n".into()),
        (vec!["PING"], "+PONG\r\n".into()),
        (
            vec!["SUBSCRIBE"],
            "-ERR wrong number of arguments for 'subscribe' command\r\n".into(),
        ),
        (
            vec!["PUBLISH", "a"],
            "-ERR wrong number of arguments for 'publish' command\r\n".into(),
        ),
        (vec!["PUBLISH", "a", "m"], ":0\r\n".into()),
        (vec!["SPUBLISH", "a", "m"], ":0\r\n".into()),
        (vec!["PUBSUB", "NUMPAT"], ":0\r\n".into()),
        (vec!["PUBSUB", "CHANNELS"], "*0\r\n".into()),
        (vec!["PUBSUB", "NUMSUB"], "*0\r\n".into()),
        (
            vec!["PUBSUB", "SHARDNUMSUB", "s"],
            "*2\r\n$1\r\ns\r\n:0\r\n".into(),
        ),
        (
            vec!["PUBSUB", "FOO"],
            "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n".into(),
        ),
        (vec!["SUBSCRIBE", "c"], confirm("subscribe", "c", 1)),
        (vec!["RESET"], "+RESET\r\n".into()),
        (vec!["GET", "x"], "$-1\r\n".into()),
    ]
}

fn run_cases(c: &mut Raw, cases: &[(Vec<&str>, String)]) {
    for (args, want) in cases {
        assert_eq!(&c.cmd_expecting(args, want), want, "reply to {args:?}");
    }
}

#[test]
fn subscribed_resp2_connection_takes_only_pubsub_commands() {
    run_cases(&mut Server::start(&[]).raw(), &resp2_cases());
}

#[test]
fn subscribed_context_table_matches_real_redis() {
    run_cases(&mut Raw::connect(RealRedis::start().port), &resp2_cases());
}

const RESP3: &[Case] = &[
    (
        &["SUBSCRIBE", "a"],
        ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
    ),
    // RESP3 connections keep running ordinary commands while subscribed.
    (&["GET", "x"], "_\r\n"),
    (&["PING"], "+PONG\r\n"),
    (
        &["PUNSUBSCRIBE"],
        ">3\r\n$12\r\npunsubscribe\r\n_\r\n:1\r\n",
    ),
    (
        &["UNSUBSCRIBE", "a"],
        ">3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n",
    ),
    (
        &["PUBSUB", "NUMSUB", "a", "b"],
        "*4\r\n$1\r\na\r\n:0\r\n$1\r\nb\r\n:0\r\n",
    ),
];

#[test]
fn resp3_subscriptions_are_push_messages() {
    for port in [Server::start(&[]).port, RealRedis::start().port] {
        let mut c = Raw::connect(port);
        c.resp3 = true;
        c.cmd(&["HELLO", "3"]);
        check(&mut c, RESP3);
    }
}

#[test]
fn messages_reach_channel_pattern_and_shard_subscribers() {
    let s = Server::start(&[]);
    let mut sub = s.raw();
    sub.cmd(&["SUBSCRIBE", "news"]);
    sub.cmd(&["PSUBSCRIBE", "n*"]);
    sub.cmd(&["SSUBSCRIBE", "shard"]);
    let mut publisher = s.raw();
    assert_eq!(publisher.cmd(&["PUBLISH", "news", "hi"]), ":2\r\n");
    assert_eq!(
        sub.read_reply()
            .map(|r| String::from_utf8_lossy(&r).into_owned())
            .as_deref(),
        Some("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
    );
    assert_eq!(
        sub.read_reply()
            .map(|r| String::from_utf8_lossy(&r).into_owned())
            .as_deref(),
        Some("*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
    );
    assert_eq!(publisher.cmd(&["PUBLISH", "other", "x"]), ":0\r\n");
    assert_eq!(publisher.cmd(&["SPUBLISH", "shard", "s1"]), ":1\r\n");
    assert_eq!(
        sub.read_reply()
            .map(|r| String::from_utf8_lossy(&r).into_owned())
            .as_deref(),
        Some("*3\r\n$8\r\nsmessage\r\n$5\r\nshard\r\n$2\r\ns1\r\n")
    );
    assert_eq!(
        publisher.cmd(&["PUBSUB", "NUMSUB", "news"]),
        "*2\r\n$4\r\nnews\r\n:1\r\n"
    );
    assert_eq!(publisher.cmd(&["PUBSUB", "NUMPAT"]), ":1\r\n");
    assert_eq!(
        publisher.cmd(&["PUBSUB", "CHANNELS", "n*"]),
        "*1\r\n$4\r\nnews\r\n"
    );
    assert_eq!(
        publisher.cmd(&["PUBSUB", "SHARDCHANNELS"]),
        "*1\r\n$5\r\nshard\r\n"
    );
    let list = publisher.cmd(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=P db=0 sub=1 psub=1 ssub=1 "), "{list}");
    // A closed subscriber is forgotten.
    drop(sub);
    let deadline = Instant::now() + Duration::from_secs(5);
    while publisher.cmd(&["PUBLISH", "news", "again"]) != ":0\r\n" {
        assert!(Instant::now() < deadline, "subscriber still counted");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(publisher.cmd(&["PUBSUB", "NUMPAT"]), ":0\r\n");
}

#[test]
fn subscriber_that_never_reads_is_disconnected_past_the_output_limit() {
    let s = Server::start(&[]);
    let mut sub = s.raw();
    sub.cmd(&["SUBSCRIBE", "flood"]);
    let mut publisher = s.raw();
    let payload = "x".repeat(1 << 20);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = publisher.cmd(&["PUBLISH", "flood", &payload]);
        if n == ":0\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "slow subscriber never dropped");
    }
    // What was already in the socket arrives, then the end of the stream.
    sub.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .ok();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut sub.stream, &mut buf) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("subscriber connection still open: {e}"),
        }
    }
}

#[test]
fn redis_py_pubsub_round_trip() {
    let s = Server::start(&[]);
    let script = format!(
        "import redis, time\n\
         r = redis.Redis(port={}, protocol=3)\n\
         p = r.pubsub()\n\
         p.subscribe('c1')\n\
         p.psubscribe('c*')\n\
         assert p.get_message(timeout=5)['type'] == 'subscribe'\n\
         assert p.get_message(timeout=5)['type'] == 'psubscribe'\n\
         assert r.publish('c1', 'hello') == 2\n\
         got = [p.get_message(timeout=5) for _ in range(2)]\n\
         print(sorted((m['type'], m['data']) for m in got))",
        s.port
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[('message', b'hello'), ('pmessage', b'hello')]"
    );
}
