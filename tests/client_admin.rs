//! Client management and diagnostics: CLIENT LIST fields, CLIENT KILL filters, CLIENT PAUSE /
//! UNPAUSE, CLIENT REPLY, `timeout`, `maxclients`, SLOWLOG and LATENCY. Replies and error
//! texts were taken from redis-server 7.0.15; field sets are compared with a live one.

mod common;
use std::time::{Duration, Instant};

use common::{array, bulk, client_id, field, lines, reply, send, Raw, RealRedis, Server};

fn keys(line: &str) -> Vec<String> {
    line.split(' ')
        .map(|f| f.split('=').next().unwrap().to_string())
        .collect()
}

/// Sends a command and returns how long its reply took.
fn timed(c: &mut Raw, args: &[&str]) -> (String, Duration) {
    let start = Instant::now();
    let r = c.cmd(args);
    (r, start.elapsed())
}

#[test]
fn client_list_has_redis_7_0_fields_in_order() {
    let redis = RealRedis::start();
    let s = Server::start(&[]);
    let theirs = lines(&Raw::connect(redis.port).cmd(&["CLIENT", "LIST"]));
    let mut c = s.raw();
    let ours = lines(&c.cmd(&["CLIENT", "LIST"]));
    assert_eq!(keys(&ours[0]), keys(&theirs[0]));
    // The running command's own request, as Redis's query buffer holds it.
    assert_eq!(field(&ours[0], "qbuf"), "26");
    assert_eq!(field(&ours[0], "argv-mem"), "10");
    assert_eq!(field(&ours[0], "cmd"), "client|list");
    assert_eq!(field(&ours[0], "events"), "r");
}

#[test]
fn client_list_shows_subscribers_as_pubsub_type_with_flag_p() {
    let s = Server::start(&[]);
    let mut sub = s.raw();
    sub.cmd(&["SUBSCRIBE", "news"]);
    let mut c = s.raw();
    let me = client_id(&mut c).to_string();
    let pubsub = lines(&c.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]));
    assert_eq!(pubsub.len(), 1);
    assert_eq!(field(&pubsub[0], "flags"), "P");
    assert_eq!(field(&pubsub[0], "sub"), "1");
    assert_eq!(field(&pubsub[0], "cmd"), "subscribe");
    let normal = lines(&c.cmd(&["CLIENT", "LIST", "TYPE", "NORMAL"]));
    assert_eq!(normal.len(), 1);
    assert_eq!(field(&normal[0], "id"), me);
    assert_eq!(c.cmd(&["CLIENT", "LIST", "TYPE", "master"]), "$0\r\n\r\n");
    assert_eq!(c.cmd(&["CLIENT", "LIST", "TYPE", "replica"]), "$0\r\n\r\n");
    assert_eq!(c.cmd(&["CLIENT", "LIST", "ID"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd(&["CLIENT", "LIST", "ID", &me, "x"]),
        "-ERR Invalid client ID\r\n"
    );
    // Killing by type closes the subscriber only.
    assert_eq!(c.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":1\r\n");
    assert!(sub.is_closed());
}

#[test]
fn client_list_flags_a_client_blocked_in_blpop() {
    let s = Server::start(&[]);
    let mut b = s.raw();
    send(&mut b, &["BLPOP", "q", "0"]);
    let mut c = s.raw();
    common::wait_blocked(&mut c, 1);
    let all = lines(&c.cmd(&["CLIENT", "LIST"]));
    let blocked = all.iter().find(|l| field(l, "cmd") == "blpop").unwrap();
    assert_eq!(field(blocked, "flags"), "b");
    c.cmd(&["RPUSH", "q", "x"]);
    assert_eq!(reply(&mut b), array(&["q", "x"]));
}

#[test]
fn client_kill_by_addr_filter_counts_killed_clients() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    b.cmd(&["PING"]);
    let addr = b.stream.local_addr().unwrap().to_string();
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ADDR", &addr]), ":1\r\n");
    assert!(b.is_closed());
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ADDR", &addr]), ":0\r\n");
    // Three arguments are the old form, whatever the word.
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "user"]),
        "-ERR No such client\r\n"
    );
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", &addr, "x"]),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn client_kill_by_user_kills_every_other_client_of_that_user() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let mut c = s.raw();
    b.cmd(&["PING"]);
    c.cmd(&["PING"]);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "USER", "default"]), ":2\r\n");
    assert!(b.is_closed());
    assert!(c.is_closed());
    assert_eq!(a.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "USER", "default", "SKIPME", "yes", "ID", "99"]),
        ":0\r\n"
    );
}

#[test]
fn client_kill_skipme_no_kills_the_caller_after_its_reply() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let addr = a.stream.local_addr().unwrap().to_string();
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "ADDR", &addr, "SKIPME", "no"]),
        ":1\r\n"
    );
    assert!(a.is_closed());
}

#[test]
fn client_kill_maxage_kills_only_older_clients() {
    let s = Server::start(&[]);
    let mut old = s.raw();
    old.cmd(&["PING"]);
    std::thread::sleep(Duration::from_millis(2100));
    let mut young = s.raw();
    assert_eq!(young.cmd(&["CLIENT", "KILL", "MAXAGE", "1"]), ":1\r\n");
    assert!(old.is_closed());
    assert_eq!(young.cmd(&["CLIENT", "KILL", "MAXAGE", "100"]), ":0\r\n");
    assert_eq!(
        young.cmd(&["CLIENT", "KILL", "MAXAGE", "x"]),
        "-ERR maxage is not an integer or out of range\r\n"
    );
}

#[test]
fn client_pause_write_lets_reads_through_and_holds_writes_until_unpause() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut w = s.raw();
    let mut r = s.raw();
    w.cmd(&["SET", "k", "old"]);
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "60000", "WRITE"]), "+OK\r\n");
    send(&mut w, &["SET", "k", "new"]);
    let mut p = s.raw();
    send(&mut p, &["PUBLISH", "ch", "m"]);
    // Held clients count as blocked and show the command they wait to run.
    common::wait_blocked(&mut admin, 2);
    let mut held: Vec<String> = lines(&admin.cmd(&["CLIENT", "LIST"]))
        .iter()
        .filter(|l| field(l, "flags") == "b")
        .map(|l| field(l, "cmd").to_string())
        .collect();
    held.sort();
    assert_eq!(held, ["publish", "set"]);
    // Reads, and admin commands, run while the writes wait.
    let (got, took) = timed(&mut r, &["GET", "k"]);
    assert_eq!(got, bulk("old"));
    assert!(took < Duration::from_secs(5));
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert_eq!(reply(&mut w), "+OK\r\n");
    assert_eq!(reply(&mut p), ":0\r\n");
    assert_eq!(r.cmd(&["GET", "k"]), bulk("new"));
}

#[test]
fn client_pause_all_holds_every_command_until_it_times_out() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(700)
        .arg("ALL")
        .query(&mut c)
        .unwrap();
    let start = Instant::now();
    // Even CLIENT UNPAUSE waits under ALL, as in Redis: only the timeout ends this pause.
    let mut other = s.raw();
    assert_eq!(other.cmd(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert!(
        start.elapsed() >= Duration::from_millis(600),
        "{:?}",
        start.elapsed()
    );
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn client_pause_held_commands_keep_their_pipeline_order() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.send_raw(b"CLIENT PAUSE 300 WRITE\r\nINCR n\r\nGET n\r\nINCR n\r\n");
    assert_eq!(reply(&mut c), "+OK\r\n");
    assert_eq!(reply(&mut c), ":1\r\n");
    assert_eq!(reply(&mut c), bulk("1"));
    assert_eq!(reply(&mut c), ":2\r\n");
}

#[test]
fn client_pause_rejects_bad_arguments_as_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    common::check(
        &mut c,
        &[
            (
                &["CLIENT", "PAUSE", "abc"],
                "-ERR timeout is not an integer or out of range\r\n",
            ),
            (&["CLIENT", "PAUSE", "-1"], "-ERR timeout is negative\r\n"),
            (
                &["CLIENT", "PAUSE", "10", "foo"],
                "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n",
            ),
            (
                &["CLIENT", "PAUSE", "10", "write", "x"],
                "-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n",
            ),
            (
                &["CLIENT", "PAUSE"],
                "-ERR wrong number of arguments for 'client|pause' command\r\n",
            ),
            (
                &["CLIENT", "UNPAUSE", "x"],
                "-ERR wrong number of arguments for 'client|unpause' command\r\n",
            ),
            (&["CLIENT", "UNPAUSE"], "+OK\r\n"),
        ],
    );
}

#[test]
fn client_reply_off_skip_and_on_control_replies() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.send_raw(
        b"CLIENT REPLY OFF\r\nPING\r\nSET k v\r\nCLIENT REPLY ON\r\nGET k\r\n\
          CLIENT REPLY SKIP\r\nPING skipped\r\nPING shown\r\n\
          CLIENT REPLY SKIP\r\nNOPE\r\nPING after-error\r\n",
    );
    assert_eq!(reply(&mut c), "+OK\r\n");
    assert_eq!(reply(&mut c), bulk("v"));
    assert_eq!(reply(&mut c), bulk("shown"));
    assert_eq!(reply(&mut c), bulk("after-error"));
    assert_eq!(
        c.cmd(&["CLIENT", "REPLY", "maybe"]),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn client_tracking_is_off_and_says_so() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    common::check(
        &mut c,
        &[
            (&["CLIENT", "TRACKING", "off"], "+OK\r\n"),
            (&["CLIENT", "TRACKING", "foo"], "-ERR syntax error\r\n"),
            (&["CLIENT", "GETREDIR"], ":-1\r\n"),
            (
                &["CLIENT", "CACHING", "yes"],
                "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n",
            ),
            (
                &["CLIENT", "TRACKINGINFO"],
                "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n",
            ),
        ],
    );
}

#[test]
fn client_help_matches_redis_7_0_plus_berth_extras() {
    let redis = RealRedis::start();
    let s = Server::start(&[]);
    let theirs = common::redis_cli(redis.port, &["CLIENT", "HELP"]);
    let ours = s.cli(&["CLIENT", "HELP"]);
    // berth adds 7.2's SETINFO and NO-TOUCH just before HELP.
    let extras = "SETINFO <option> <value>\n    Set client meta attr. Options are:\n    * LIB-NAME: the client lib name.\n    * LIB-VER: the client lib version.\nNO-TOUCH (ON|OFF)\n    Will not touch LRU/LFU stats when this mode is on.\n";
    assert_eq!(ours.replace(extras, ""), theirs);
}

#[test]
fn timeout_disconnects_idle_clients_but_not_subscribers_or_blocked_ones() {
    let s = Server::start(&["--timeout", "1"]);
    let mut idle = s.raw();
    idle.cmd(&["PING"]);
    let mut sub = s.raw();
    sub.cmd(&["SUBSCRIBE", "ch"]);
    let mut blocked = s.raw();
    send(&mut blocked, &["BLPOP", "q", "0"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(idle.is_closed());
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PUBLISH", "ch", "hi"]), ":1\r\n");
    assert_eq!(reply(&mut sub), array(&["message", "ch", "hi"]));
    c.cmd(&["RPUSH", "q", "x"]);
    assert_eq!(reply(&mut blocked), array(&["q", "x"]));
}

#[test]
fn maxclients_refuses_extra_connections_with_redis_error() {
    let s = Server::start(&["--maxclients", "2"]);
    let mut a = s.raw();
    let mut b = s.raw();
    a.cmd(&["PING"]);
    b.cmd(&["PING"]);
    let mut c = s.raw();
    assert_eq!(
        String::from_utf8(c.read_reply().unwrap()).unwrap(),
        "-ERR max number of clients reached\r\n"
    );
    assert!(c.is_closed());
    assert!(a
        .cmd(&["INFO", "stats"])
        .contains("rejected_connections:1\r\n"));
}

/// The entries of SLOWLOG GET as (args, client name), newest first.
fn slowlog(c: &mut redis::Connection, count: i64) -> Vec<(Vec<String>, String)> {
    let entries: Vec<(u64, u64, u64, Vec<String>, String, String)> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(count)
        .query(c)
        .unwrap();
    entries
        .into_iter()
        .map(|(_, _, _, args, _, name)| (args, name))
        .collect()
}

#[test]
fn slowlog_with_threshold_zero_logs_every_command_with_its_client() {
    let s = Server::start(&["--slowlog-log-slower-than", "0"]);
    let mut c = s.client();
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut c).unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("app")
        .query(&mut c)
        .unwrap();
    let log = slowlog(&mut c, -1);
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        log,
        [
            (strs(&["CLIENT", "SETNAME", "app"]), "app".to_string()),
            (strs(&["SET", "k", "v"]), String::new()),
            (strs(&["SLOWLOG", "RESET"]), String::new()),
        ]
    );
    // Raw entry shape: id, time, duration, args, address, name.
    let mut raw = s.raw();
    let entry = raw.cmd(&["SLOWLOG", "GET", "1"]);
    let addr = c_addr(&entry);
    assert!(entry.starts_with("*1\r\n*6\r\n:"), "{entry}");
    assert!(addr.starts_with("127.0.0.1:"), "{entry}");
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut c).unwrap();
    assert_eq!(len, 5);
}

/// The client address of the first SLOWLOG GET entry.
fn c_addr(reply: &str) -> String {
    reply
        .split("\r\n")
        .find(|l| l.starts_with("127.0.0.1:"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn slowlog_with_threshold_minus_one_logs_nothing() {
    let s = Server::start(&["--slowlog-log-slower-than", "-1"]);
    let mut c = s.raw();
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["GET", "k"]);
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), ":0\r\n");
    assert_eq!(c.cmd(&["SLOWLOG", "GET"]), "*0\r\n");
}

#[test]
fn slowlog_truncates_arguments_and_redacts_secrets_as_redis() {
    let s = Server::start(&["--slowlog-log-slower-than", "0"]);
    // Connected first: the redis crate's own connection setup is logged too.
    let mut r = s.client();
    let mut c = s.raw();
    let long = "x".repeat(200);
    c.cmd(&["SET", &long, "v"]);
    let mut many = vec!["RPUSH".to_string(), "l".to_string()];
    many.extend((0..40).map(|i| i.to_string()));
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    c.cmd(&refs);
    c.cmd(&["AUTH", "secret"]);
    c.cmd(&["CONFIG", "SET", "requirepass", ""]);
    c.cmd(&["HELLO", "2", "AUTH", "default", ""]);
    let log = slowlog(&mut r, 5);
    assert_eq!(log[0].0, ["HELLO", "2", "AUTH", "(redacted)", "(redacted)"]);
    assert_eq!(log[1].0, ["CONFIG", "SET", "requirepass", "(redacted)"]);
    assert_eq!(log[2].0, ["AUTH", "(redacted)"]);
    let rpush = &log[3].0;
    assert_eq!(rpush.len(), 32);
    assert_eq!(rpush[30], "28");
    assert_eq!(rpush[31], "... (11 more arguments)");
    assert_eq!(
        log[4].0[1],
        format!("{}... (72 more bytes)", "x".repeat(128))
    );
}

#[test]
fn slowlog_keeps_at_most_slowlog_max_len_entries() {
    let s = Server::start(&["--slowlog-log-slower-than", "0", "--slowlog-max-len", "2"]);
    let mut c = s.raw();
    for _ in 0..5 {
        c.cmd(&["PING"]);
    }
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), ":2\r\n");
    assert_eq!(c.cmd(&["SLOWLOG", "RESET"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), ":1\r\n");
}

#[test]
fn slowlog_errors_and_help_match_redis() {
    let redis = RealRedis::start();
    let s = Server::start(&[]);
    let mut ours = s.raw();
    let mut theirs = Raw::connect(redis.port);
    for args in [
        &["SLOWLOG", "GET", "abc"][..],
        &["SLOWLOG", "GET", "-2"],
        &["SLOWLOG", "GET", "1", "2"],
        &["SLOWLOG", "LEN", "x"],
        &["SLOWLOG", "FOO"],
        &["SLOWLOG", "HELP"],
        &["SLOWLOG"],
    ] {
        assert_eq!(ours.cmd(args), theirs.cmd(args), "{args:?}");
    }
}

#[test]
fn latency_subcommands_answer_as_redis_with_the_monitor_off() {
    let redis = RealRedis::start();
    let s = Server::start(&[]);
    let mut ours = s.raw();
    let mut theirs = Raw::connect(redis.port);
    for args in [
        &["LATENCY", "LATEST"][..],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "RESET"],
        &["LATENCY", "RESET", "command", "nope"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "HELP"],
        &["LATENCY", "FOO"],
        &["LATENCY", "HISTORY"],
        &["CONFIG", "GET", "latency-monitor-threshold"],
    ] {
        assert_eq!(ours.cmd(args), theirs.cmd(args), "{args:?}");
    }
    assert_eq!(
        s.cli(&["LATENCY", "DOCTOR"]),
        common::redis_cli(redis.port, &["LATENCY", "DOCTOR"])
    );
}

#[test]
fn latency_monitor_records_slow_commands_as_command_events() {
    // A 1 ms threshold: the first KEYS over many keys in a debug build takes longer.
    let s = Server::start(&["--latency-monitor-threshold", "1"]);
    let mut c = s.raw();
    assert!(c.cmd(&["LATENCY", "DOCTOR"]).contains("no latency spike"));
    let mut i = 0;
    while c.cmd(&["LATENCY", "LATEST"]) == "*0\r\n" {
        let args: Vec<String> = (0..2000).map(|j| format!("k{i}-{j}")).collect();
        let mut mset = vec!["MSET"];
        for a in &args {
            mset.push(a);
            mset.push("v");
        }
        c.cmd(&mset);
        i += 1;
        assert!(i < 50, "no command reached 1 ms");
    }
    let latest = c.cmd(&["LATENCY", "LATEST"]);
    assert!(
        latest.starts_with("*1\r\n*4\r\n$7\r\ncommand\r\n:"),
        "{latest}"
    );
    let history = c.cmd(&["LATENCY", "HISTORY", "command"]);
    assert!(history.starts_with("*1\r\n*2\r\n:"), "{history}");
    let doctor = c.cmd(&["LATENCY", "DOCTOR"]);
    assert!(doctor.contains("1. command: 1 latency spikes"), "{doctor}");
    let graph = c.cmd(&["LATENCY", "GRAPH", "command"]);
    assert!(graph.contains("command - high "), "{graph}");
    assert_eq!(c.cmd(&["LATENCY", "RESET", "command"]), ":1\r\n");
    assert_eq!(c.cmd(&["LATENCY", "LATEST"]), "*0\r\n");
}

#[test]
fn latency_histogram_reports_cumulative_power_of_two_buckets_per_command() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    for _ in 0..3 {
        c.cmd(&["SET", "k", "v"]);
    }
    assert_eq!(c.cmd(&["LATENCY", "HISTOGRAM", "nosuch"]), "*0\r\n");
    let reply = c.cmd(&["LATENCY", "HISTOGRAM", "SET", "nosuch"]);
    let head = "*2\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:3\r\n$14\r\nhistogram_usec\r\n*";
    assert!(reply.starts_with(head), "{reply}");
    // Pairs of (bucket in µs, calls so far): Redis's HDR bucket labels, counts growing to 3.
    let numbers: Vec<u64> = reply
        .split("\r\n")
        .filter_map(|l| l.strip_prefix(':'))
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    let labels = [
        1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454,
    ];
    for pair in numbers.chunks(2) {
        assert!(labels.contains(&pair[0]) || pair[0] > 8454, "{reply}");
    }
    assert_eq!(numbers.last(), Some(&3));
}

#[test]
fn client_reply_off_still_delivers_pubsub_messages() {
    // Redis 7.0.15 pushes messages to a client whose replies are off.
    let s = Server::start(&[]);
    let mut sub = s.raw();
    sub.resp3 = true;
    sub.cmd(&["HELLO", "3"]);
    sub.cmd(&["SUBSCRIBE", "ch"]);
    send(&mut sub, &["CLIENT", "REPLY", "OFF"]);
    send(&mut sub, &["SET", "k", "v"]);
    let mut p = s.raw();
    let start = Instant::now();
    while p.cmd(&["GET", "k"]) != bulk("v") {
        assert!(start.elapsed() < Duration::from_secs(10));
    }
    assert_eq!(p.cmd(&["PUBLISH", "ch", "hi"]), ":1\r\n");
    assert_eq!(
        reply(&mut sub),
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
    );
}

#[test]
fn client_pause_write_after_an_expired_pause_all_lets_reads_through() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "50", "ALL"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let mut admin = s.raw();
    // Nothing ran during the first pause, so only this call sees it over.
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "60000", "WRITE"]), "+OK\r\n");
    let (got, took) = timed(&mut c, &["GET", "k"]);
    assert_eq!(got, "$-1\r\n");
    assert!(took < Duration::from_secs(5));
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
}
