//! Auth, ACL users and protected mode, driven over TCP with raw RESP, the `redis` crate and
//! redis-cli. Exact texts were checked against redis-server 7.0.15 (and `acl_replies_match_redis`
//! compares a sequence of ACL commands with a real one).

mod common;
use common::{array, bulk, temp_dir, Raw, RealRedis, Server};

use std::time::{Duration, Instant};

const NOAUTH: &str = "-NOAUTH Authentication required.\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
const NOPERM_KEY: &str =
    "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
const NOPERM_CHANNEL: &str =
    "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n";
/// SHA-256 of "pw".
const PW_HASH: &str = "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4";

fn noperm_cmd(name: &str) -> String {
    format!("-NOPERM this user has no permissions to run the '{name}' command\r\n")
}

/// A raw connection already authenticated as `user`.
fn login(s: &Server, user: &str, pass: &str) -> Raw {
    let mut c = s.raw();
    assert_eq!(c.cmd(&["AUTH", user, pass]), "+OK\r\n");
    c
}

/// The application user of the issue: everything but FLUSHALL, CONFIG and the other
/// dangerous commands, on its own keys.
fn app_user(s: &Server) {
    let mut admin = s.raw();
    assert_eq!(
        admin.cmd(&[
            "ACL",
            "SETUSER",
            "app",
            "on",
            ">pw",
            "~app:*",
            "+@all",
            "-@dangerous"
        ]),
        "+OK\r\n"
    );
}

#[test]
fn user_without_dangerous_commands_cannot_flushall_or_config() {
    let s = Server::start(&[]);
    app_user(&s);
    let client = redis::Client::open(format!("redis://app:pw@127.0.0.1:{}/", s.port)).unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("app:1")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let v: String = redis::cmd("GET").arg("app:1").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let err = redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap_err();
    assert_eq!(err.code(), Some("NOPERM"));
    assert_eq!(
        err.detail(),
        Some("this user has no permissions to run the 'flushall' command")
    );
    let whoami: String = redis::cmd("ACL").arg("WHOAMI").query(&mut con).unwrap();
    assert_eq!(whoami, "app");

    let mut c = login(&s, "app", "pw");
    assert_eq!(c.cmd(&["FLUSHALL"]), noperm_cmd("flushall"));
    assert_eq!(c.cmd(&["CONFIG", "GET", "port"]), noperm_cmd("config|get"));
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", "1"]),
        noperm_cmd("config|set")
    );
    assert_eq!(c.cmd(&["ACL", "LIST"]), noperm_cmd("acl|list"));
    // Not dangerous: allowed.
    assert_eq!(c.cmd(&["ACL", "WHOAMI"]), bulk("app"));
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    // The data survived.
    assert_eq!(s.raw().cmd(&["GET", "app:1"]), bulk("v"));
}

#[test]
fn key_patterns_limit_keys_and_their_access() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin
            .cmd(&["ACL", "SETUSER", "k", "on", "nopass", "+@all", "~app:*", "%R~ro:*", "%W~wo:*"]),
        "+OK\r\n"
    );
    admin.cmd(&["SET", "ro:1", "r"]);
    let mut c = login(&s, "k", "x");
    // Access follows the key specs: ACCESS (the value is returned) needs read; INSERT, DELETE
    // and UPDATE need write (replies as redis-server 7.0.15's).
    let cases: &[(&[&str], &str)] = &[
        (&["SET", "app:1", "v"], "+OK\r\n"),
        (&["GET", "app:1"], "$1\r\nv\r\n"),
        (&["GET", "other"], NOPERM_KEY),
        (&["MSET", "app:2", "x", "other", "y"], NOPERM_KEY),
        (&["GET", "ro:1"], "$1\r\nr\r\n"),
        (&["SET", "ro:1", "x"], NOPERM_KEY),
        (&["SET", "wo:1", "x"], "+OK\r\n"),
        (&["SET", "wo:1", "x", "GET"], NOPERM_KEY),
        (&["DEL", "wo:1"], ":1\r\n"),
        (&["LPUSH", "wo:l", "a"], ":1\r\n"),
        (&["LLEN", "wo:l"], ":1\r\n"),
        (&["INCR", "wo:n"], NOPERM_KEY),
        (&["APPEND", "wo:a", "x"], ":1\r\n"),
        (&["RENAME", "app:1", "other"], NOPERM_KEY),
        (&["RPOPLPUSH", "ro:1", "wo:1"], NOPERM_KEY),
    ];
    for (args, want) in cases {
        assert_eq!(c.cmd(args), *want, "reply to {args:?}");
    }
    assert_eq!(admin.cmd(&["EXISTS", "other"]), ":0\r\n");
}

#[test]
fn channel_patterns_limit_publish_and_subscribe() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmd(&["ACL", "SETUSER", "p", "on", "nopass", "+@all", "&news.*"]),
        "+OK\r\n"
    );
    let mut c = login(&s, "p", "x");
    assert_eq!(c.cmd(&["PUBLISH", "news.1", "m"]), ":0\r\n");
    assert_eq!(c.cmd(&["PUBLISH", "sports", "m"]), NOPERM_CHANNEL);
    assert_eq!(c.cmd(&["SUBSCRIBE", "news.1", "sports"]), NOPERM_CHANNEL);
    // A pattern subscription must name an allowed pattern literally.
    assert_eq!(c.cmd(&["PSUBSCRIBE", "news.1*"]), NOPERM_CHANNEL);
    assert_eq!(
        c.cmd(&["PSUBSCRIBE", "news.*"]),
        "*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:1\r\n"
    );
}

#[test]
fn revoking_a_channel_disconnects_its_subscribers() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    admin.cmd(&[
        "ACL", "SETUSER", "p", "on", "nopass", "+@all", "&news.*", "&alerts",
    ]);
    let mut news = login(&s, "p", "x");
    assert_eq!(
        news.cmd(&["SUBSCRIBE", "news.1"]),
        "*3\r\n$9\r\nsubscribe\r\n$6\r\nnews.1\r\n:1\r\n"
    );
    let mut alerts = login(&s, "p", "x");
    alerts.cmd(&["PSUBSCRIBE", "alerts"]);
    let mut other = s.raw(); // the default user, subscribed to the same channel
    other.cmd(&["SUBSCRIBE", "news.1"]);
    assert_eq!(
        admin.cmd(&["ACL", "SETUSER", "p", "resetchannels", "&alerts"]),
        "+OK\r\n"
    );
    assert!(news.is_closed());
    assert_eq!(admin.cmd(&["PUBLISH", "alerts", "m"]), ":1\r\n");
    assert_eq!(
        String::from_utf8(alerts.read_reply().unwrap()).unwrap(),
        "*4\r\n$8\r\npmessage\r\n$6\r\nalerts\r\n$6\r\nalerts\r\n$1\r\nm\r\n"
    );
    assert_eq!(admin.cmd(&["PUBLISH", "news.1", "m"]), ":1\r\n");
}

#[test]
fn auth_noauth_and_wrongpass() {
    let s = Server::start(&["--requirepass", "pw"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "k"]), NOAUTH);
    assert_eq!(c.cmd(&["ACL", "WHOAMI"]), NOAUTH);
    assert_eq!(c.cmd(&["AUTH", "nope"]), WRONGPASS);
    assert_eq!(c.cmd(&["AUTH", "default", "nope"]), WRONGPASS);
    assert_eq!(c.cmd(&["AUTH", "ghost", "pw"]), WRONGPASS);
    assert_eq!(c.cmd(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(c.cmd(&["ACL", "WHOAMI"]), bulk("default"));
    // requirepass is the default user's password.
    assert_eq!(
        c.cmd(&["ACL", "LIST"]),
        array(&[format!("user default on #{PW_HASH} ~* &* +@all")])
    );
    // A disabled user cannot log in, even with the right password.
    c.cmd(&["ACL", "SETUSER", "off-user", "off", ">pw", "+@all"]);
    assert_eq!(c.cmd(&["AUTH", "off-user", "pw"]), WRONGPASS);
    // HELLO AUTH logs in and switches protocol in one step.
    let mut h = s.raw();
    assert!(h
        .cmd(&["HELLO", "2", "AUTH", "default", "bad"])
        .starts_with("-WRONGPASS"));
    assert!(h
        .cmd(&["HELLO", "2", "AUTH", "default", "pw"])
        .starts_with("*14\r\n$6\r\nserver\r\n"));
    assert_eq!(h.cmd(&["ACL", "WHOAMI"]), bulk("default"));
    // RESET logs out.
    assert_eq!(h.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(h.cmd(&["GET", "k"]), NOAUTH);
}

#[test]
fn auth_with_one_argument_needs_a_default_password() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    // Named users work without any requirepass.
    c.cmd(&["ACL", "SETUSER", "bob", "on", ">b", "+@all", "~*"]);
    assert_eq!(c.cmd(&["AUTH", "bob", "b"]), "+OK\r\n");
    assert_eq!(c.cmd(&["ACL", "WHOAMI"]), bulk("bob"));
    assert!(c.cmd(&["CLIENT", "INFO"]).contains(" user=bob "));
}

#[test]
fn config_set_requirepass_changes_the_default_user() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", "pw"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["ACL", "GETUSER", "default"]),
        format!("*12\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$9\r\npasswords\r\n*1\r\n$64\r\n{PW_HASH}\r\n$8\r\ncommands\r\n$5\r\n+@all\r\n$4\r\nkeys\r\n$2\r\n~*\r\n$8\r\nchannels\r\n$2\r\n&*\r\n$9\r\nselectors\r\n*0\r\n")
    );
    assert_eq!(s.raw().cmd(&["PING"]), NOAUTH);
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["ACL", "LIST"]),
        array(&["user default on nopass ~* &* +@all"])
    );
    assert_eq!(s.raw().cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn acl_list_getuser_and_cat_exact_replies() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let setuser: &[&str] = &[
        "ACL",
        "SETUSER",
        "alice",
        "on",
        ">p1",
        "+@all",
        "-flushall",
        "-@dangerous",
        "~app:*",
        "%R~ro:*",
        "&chan*",
        "+config|get",
    ];
    assert_eq!(c.cmd(setuser), "+OK\r\n");
    assert_eq!(c.cmd(&["ACL", "SETUSER", "bob"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["ACL", "SETUSER", "sel", "on", "nopass", "+get", "~a*", "(+set", "~b*", "&c)"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["ACL", "LIST"]),
        array(&[
            "user alice on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~app:* %R~ro:* resetchannels &chan* +@all -@dangerous +config|get",
            "user bob off resetchannels -@all",
            "user default on nopass ~* &* +@all",
            "user sel on nopass ~a* resetchannels -@all +get (~b* resetchannels &c -@all +set)",
        ])
    );
    assert_eq!(
        c.cmd(&["ACL", "USERS"]),
        array(&["alice", "bob", "default", "sel"])
    );
    let getuser_sel_resp2 = "*12\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$6\r\nnopass\r\n$9\r\npasswords\r\n*0\r\n$8\r\ncommands\r\n$10\r\n-@all +get\r\n$4\r\nkeys\r\n$3\r\n~a*\r\n$8\r\nchannels\r\n$0\r\n\r\n$9\r\nselectors\r\n*1\r\n*6\r\n$8\r\ncommands\r\n$10\r\n-@all +set\r\n$4\r\nkeys\r\n$3\r\n~b*\r\n$8\r\nchannels\r\n$2\r\n&c\r\n";
    assert_eq!(c.cmd(&["ACL", "GETUSER", "sel"]), getuser_sel_resp2);
    assert_eq!(c.cmd(&["ACL", "GETUSER", "nobody"]), "$-1\r\n");
    // RESP3: a map, flags as a set, selectors as maps.
    let mut c3 = s.raw();
    c3.resp3 = true;
    c3.cmd(&["HELLO", "3"]);
    assert_eq!(
        c3.cmd(&["ACL", "GETUSER", "sel"]),
        "%6\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$6\r\nnopass\r\n$9\r\npasswords\r\n*0\r\n$8\r\ncommands\r\n$10\r\n-@all +get\r\n$4\r\nkeys\r\n$3\r\n~a*\r\n$8\r\nchannels\r\n$0\r\n\r\n$9\r\nselectors\r\n*1\r\n%3\r\n$8\r\ncommands\r\n$10\r\n-@all +set\r\n$4\r\nkeys\r\n$3\r\n~b*\r\n$8\r\nchannels\r\n$2\r\n&c\r\n"
    );
    assert_eq!(
        c.cmd(&["ACL", "CAT"]),
        array(&[
            "keyspace",
            "read",
            "write",
            "set",
            "sortedset",
            "list",
            "hash",
            "string",
            "bitmap",
            "hyperloglog",
            "geo",
            "stream",
            "pubsub",
            "admin",
            "fast",
            "slow",
            "blocking",
            "dangerous",
            "connection",
            "transaction",
            "scripting",
        ])
    );
    let dangerous = c.cmd(&["ACL", "CAT", "dangerous"]);
    for name in [
        "flushall",
        "flushdb",
        "keys",
        "config|set",
        "client|kill",
        "acl|setuser",
    ] {
        assert!(dangerous.contains(&bulk(name)), "{name} in @dangerous");
    }
    assert!(!dangerous.contains(&bulk("get")));
    assert_eq!(
        c.cmd(&["ACL", "CAT", "nope"]),
        "-ERR Unknown category 'nope'\r\n"
    );
}

#[test]
fn setuser_errors_as_redis() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let err = |m: &str, why: &str| format!("-ERR Error in ACL SETUSER modifier '{m}': {why}\r\n");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["u", "foo"], err("foo", "Syntax error")),
        (vec!["u", "+nosuch"], err("+nosuch", "Unknown command or category name in ACL")),
        (vec!["u", "+@nosuch"], err("+@nosuch", "Unknown command or category name in ACL")),
        (vec!["u", "-get|x"], err("-get|x", "Unknown command or category name in ACL")),
        (vec!["u", "+config|get|x"], err("+config|get|x", "Allowing first-arg of a subcommand is not supported")),
        (vec!["u", "<nope"], err("<nope", "The password you are trying to remove from the user does not exist")),
        (vec!["u", "#abc"], err("#abc", "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")),
        (vec!["u", "allkeys", "~a"], err("~a", "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")),
        (vec!["u", "allchannels", "&a"], err("&a", "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")),
        (vec!["u", "(+get"], "-ERR Unmatched parenthesis in acl selector starting at '(+get'.\r\n".into()),
    ];
    for (rules, want) in &cases {
        let mut args = vec!["ACL", "SETUSER"];
        args.extend(rules);
        assert_eq!(&c.cmd(&args), want, "reply to {args:?}");
    }
    // An empty rule does nothing.
    assert_eq!(c.cmd(&["ACL", "SETUSER", "e", "", "on"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["ACL", "LIST"]),
        array(&[
            "user default on nopass ~* &* +@all",
            "user e on resetchannels -@all"
        ])
    );
    // A failed SETUSER changes nothing, not even the rules before the bad one.
    assert_eq!(
        c.cmd(&["ACL", "SETUSER", "u", "on", "bad"]),
        err("bad", "Syntax error")
    );
    assert_eq!(c.cmd(&["ACL", "GETUSER", "u"]), "$-1\r\n");
    assert_eq!(
        c.cmd(&["ACL", "DELUSER", "default"]),
        "-ERR The 'default' user cannot be removed\r\n"
    );
}

/// Runs every command on both servers (one connection each) and compares the replies.
#[test]
fn acl_replies_match_redis() {
    let berth = Server::start(&[]);
    let redis = RealRedis::start();
    let script: &[&[&str]] = &[
        &[
            "ACL",
            "SETUSER",
            "app",
            "on",
            ">secret",
            "~a",
            "+@all",
            "-@dangerous",
            "&x*",
        ],
        &["ACL", "GETUSER", "app"],
        &["ACL", "DRYRUN", "app", "flushall"],
        &["ACL", "DRYRUN", "app", "get", "a"],
        &["ACL", "DRYRUN", "app", "get", "b"],
        &["ACL", "DRYRUN", "app", "publish", "y", "m"],
        &["ACL", "DRYRUN", "app", "psubscribe", "x*"],
        &["ACL", "DRYRUN", "app", "get"],
        &["ACL", "DRYRUN", "nouser", "get", "b"],
        &["ACL", "DRYRUN", "app", "nocmd"],
        &["ACL", "DRYRUN", "app", "config", "get", "x"],
        &[
            "ACL",
            "SETUSER",
            "t",
            "allcommands",
            "-select",
            "+select|1",
            "+select|2",
        ],
        &["ACL", "GETUSER", "t"],
        &["ACL", "DRYRUN", "t", "select", "1"],
        &["ACL", "DRYRUN", "t", "select", "3"],
        &["ACL", "SETUSER", "t", "reset"],
        &["ACL", "LIST"],
        &["ACL", "SETUSER", "c", "+@all", "-@write"],
        &[
            "ACL", "SETUSER", "d", "-@all", "+@string", "+@list", "-lpush", "+@pubsub",
        ],
        &[
            "ACL", "SETUSER", "e", "%R~r", "%W~w", "%RW~rw", "~a", "%R~a",
        ],
        &["ACL", "LIST"],
        &["ACL", "DELUSER", "nouser", "c", "d", "e"],
        &["ACL", "GENPASS", "0"],
        &["ACL", "GENPASS", "5", "5"],
        &["ACL", "LOAD"],
        &["ACL", "SAVE"],
        &["ACL", "LOG", "x"],
        &["ACL", "CAT", "a", "b"],
        &["ACL", "WHOAMI", "x"],
        &["ACL", "GETUSER"],
        &["ACL", "HELP"],
        &["AUTH", "app", "wrong"],
        &["AUTH", "app", "secret"],
        &["ACL", "WHOAMI"],
        &["FLUSHALL"],
        &["GET", "b"],
        &["PUBLISH", "y", "m"],
    ];
    let (mut b, mut r) = (berth.raw(), Raw::connect(redis.port));
    for args in script {
        assert_eq!(b.cmd(args), r.cmd(args), "reply to {args:?}");
    }
    let genpass = b.cmd(&["ACL", "GENPASS"]);
    assert_eq!(genpass.len(), "$64\r\n".len() + 64 + 2);
    assert_eq!(b.cmd(&["ACL", "GENPASS", "5"]).len(), "$2\r\n".len() + 4);
}

#[test]
fn acl_log_records_denials() {
    let s = Server::start(&[]);
    app_user(&s);
    let mut c = login(&s, "app", "pw");
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["GET", "secret"]);
    s.raw().cmd(&["AUTH", "app", "wrong"]);
    let mut admin = s.raw();
    let log = admin.cmd(&["ACL", "LOG"]);
    assert!(log.starts_with("*3\r\n*14\r\n$5\r\ncount\r\n:1\r\n$6\r\nreason\r\n$4\r\nauth\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$4\r\nAUTH\r\n$8\r\nusername\r\n$3\r\napp\r\n$11\r\nage-seconds\r\n"), "{log}");
    assert!(log.contains("$5\r\ncount\r\n:1\r\n$6\r\nreason\r\n$3\r\nkey\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$6\r\nsecret\r\n"), "{log}");
    // The two FLUSHALLs are one entry counted twice.
    assert!(log.contains("$5\r\ncount\r\n:2\r\n$6\r\nreason\r\n$7\r\ncommand\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$8\r\nflushall\r\n$8\r\nusername\r\n$3\r\napp\r\n"), "{log}");
    assert!(log.contains(" cmd=flushall user=app "), "{log}");
    assert!(admin.cmd(&["ACL", "LOG", "1"]).starts_with("*1\r\n*14\r\n"));
    // RESP3: maps, and the age as a double.
    let mut c3 = s.raw();
    c3.resp3 = true;
    c3.cmd(&["HELLO", "3"]);
    let log3 = c3.cmd(&["ACL", "LOG", "1"]);
    assert!(
        log3.starts_with("*1\r\n%7\r\n$5\r\ncount\r\n:1\r\n"),
        "{log3}"
    );
    assert!(log3.contains("$11\r\nage-seconds\r\n,"), "{log3}");
    assert_eq!(admin.cmd(&["ACL", "LOG", "RESET"]), "+OK\r\n");
    assert_eq!(admin.cmd(&["ACL", "LOG"]), "*0\r\n");
}

#[test]
fn acl_save_and_load_round_trip_through_the_aclfile() {
    let dir = temp_dir("aclfile");
    let file = dir.join("users.acl");
    std::fs::write(&file, "user default on nopass ~* &* +@all\nuser ops on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* &* +@all -@dangerous\n").unwrap();
    let path = file.to_str().unwrap();
    let s = Server::start(&["--aclfile", path]);
    let mut c = s.raw();
    // Loaded at startup.
    assert_eq!(c.cmd(&["ACL", "USERS"]), array(&["default", "ops"]));
    assert_eq!(
        login(&s, "ops", "pw").cmd(&["FLUSHALL"]),
        noperm_cmd("flushall")
    );
    c.cmd(&[
        "ACL",
        "SETUSER",
        "app",
        "on",
        ">pw",
        "~app:*",
        "+@read",
        "+@write",
        "-@dangerous",
    ]);
    let before = c.cmd(&["ACL", "LIST"]);
    assert_eq!(c.cmd(&["ACL", "SAVE"]), "+OK\r\n");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        saved
            .lines()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .len(),
        3
    );
    assert!(before.contains(saved.lines().next().unwrap()));
    // Changes after the save are undone by LOAD.
    c.cmd(&["ACL", "DELUSER", "app"]);
    c.cmd(&["ACL", "SETUSER", "temp", "on"]);
    assert_eq!(c.cmd(&["ACL", "LOAD"]), "+OK\r\n");
    assert_eq!(c.cmd(&["ACL", "LIST"]), before);
    // A bad file changes nothing (errors as redis-server 7.0.15 reports them).
    std::fs::write(&file, "user x on bogus\nuser y on\nuser y off\nfoo bar\n").unwrap();
    assert_eq!(
        c.cmd(&["ACL", "LOAD"]),
        format!("-ERR {path}:1: Syntax error. WARNING: Duplicate user 'y' found on line 3. {path}:4 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n")
    );
    assert_eq!(c.cmd(&["ACL", "LIST"]), before);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        c.cmd(&["ACL", "LOAD"]),
        format!("-ERR Error loading ACLs, opening file '{path}': No such file or directory\r\n")
    );
    // SAVE creates it again.
    assert_eq!(c.cmd(&["ACL", "SAVE"]), "+OK\r\n");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), saved);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn acl_load_and_save_need_an_aclfile() {
    let s = Server::start(&[]);
    let want = "-ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.\r\n";
    assert_eq!(s.raw().cmd(&["ACL", "LOAD"]), want);
    assert_eq!(s.raw().cmd(&["ACL", "SAVE"]), want);
}

/// A server started from a config file (`dir`, `port`, `bind` plus `lines`), killed on drop.
struct ConfServer {
    child: std::process::Child,
    port: u16,
    conf: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl ConfServer {
    fn start(tag: &str, lines: &str) -> ConfServer {
        let dir = temp_dir(tag);
        let conf = dir.join("berth.conf");
        let port = common::free_port();
        std::fs::write(
            &conf,
            format!(
                "dir {}\nport {port}\nbind 127.0.0.1\n{lines}",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let child = ConfServer::spawn(&conf, port);
        ConfServer {
            child,
            port,
            conf,
            dir,
        }
    }

    fn spawn(conf: &std::path::Path, port: u16) -> std::process::Child {
        let mut child = std::process::Command::new(common::BIN)
            .arg(conf)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        common::wait_for_server(port, &mut child);
        child
    }

    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = ConfServer::spawn(&self.conf, self.port);
    }
}

impl Drop for ConfServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn user_directives_in_the_config_file_define_users() {
    let s = ConfServer::start(
        "aclconf",
        "user worker on >pw ~jobs:* +@list +@connection\n",
    );
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmd(&["AUTH", "worker", "pw"]), "+OK\r\n");
    assert_eq!(c.cmd(&["LPUSH", "jobs:1", "a"]), ":1\r\n");
    assert_eq!(c.cmd(&["SET", "jobs:2", "a"]), noperm_cmd("set"));
}

#[test]
fn config_rewrite_writes_the_users_into_the_config_file() {
    let mut s = ConfServer::start("aclrewrite", "user bob on >x ~* +get\n# keep\n");
    let mut c = Raw::connect(s.port);
    c.cmd(&["ACL", "SETUSER", "carol", "on", "nopass"]);
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), "+OK\r\n");
    // As redis-server 7.0.15 rewrites it: users in name order, the first in place of the old
    // `user` line, the others after the marker.
    let text = std::fs::read_to_string(&s.conf).unwrap();
    let head = format!(
        "dir {}\nport {}\nbind 127.0.0.1\n",
        s.dir.join("data").display(),
        s.port
    );
    assert_eq!(
        text,
        format!("{head}user bob on #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 ~* resetchannels -@all +get\n# keep\n\n# Generated by CONFIG REWRITE\nuser carol on nopass resetchannels -@all\nuser default on nopass ~* &* +@all\n")
    );
    s.restart();
    assert_eq!(
        Raw::connect(s.port).cmd(&["ACL", "USERS"]),
        array(&["bob", "carol", "default"])
    );
}

#[test]
fn deluser_disconnects_that_users_clients() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    admin.cmd(&["ACL", "SETUSER", "bob", "on", ">b", "+@all", "~*"]);
    let mut b1 = login(&s, "bob", "b");
    let mut b2 = login(&s, "bob", "b");
    let mut other = s.raw();
    assert_eq!(
        admin.cmd(&["CLIENT", "LIST"]).matches(" user=bob ").count(),
        2
    );
    assert_eq!(admin.cmd(&["ACL", "DELUSER", "bob", "ghost"]), ":1\r\n");
    assert!(b1.is_closed());
    assert!(b2.is_closed());
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
    // Deleting your own user answers, then closes.
    admin.cmd(&["ACL", "SETUSER", "self", "on", "nopass", "+@all"]);
    let mut me = login(&s, "self", "x");
    assert_eq!(me.cmd(&["ACL", "DELUSER", "self"]), ":1\r\n");
    assert!(me.is_closed());
    let deadline = Instant::now() + Duration::from_secs(5);
    while admin.cmd(&["CLIENT", "LIST"]).contains(" user=bob ") {
        assert!(Instant::now() < deadline, "bob's clients still listed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn client_kill_user_disconnects_that_users_clients() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    admin.cmd(&["ACL", "SETUSER", "bob", "on", "nopass", "+@all"]);
    let mut bob = login(&s, "bob", "x");
    let mut other = s.raw();
    assert_eq!(
        admin.cmd(&["CLIENT", "KILL", "USER", "nouser"]),
        "-ERR No such user 'nouser'\r\n"
    );
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "USER", "bob"]), ":1\r\n");
    assert!(bob.is_closed());
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn redis_cli_authenticates_as_a_named_user() {
    let s = Server::start(&["--requirepass", "pw"]);
    let out = s.cli(&[
        "--no-auth-warning",
        "-a",
        "pw",
        "ACL",
        "SETUSER",
        "app",
        "on",
        ">apw",
        "+@all",
        "-@dangerous",
        "~*",
    ]);
    assert_eq!(out, "OK\n");
    let out = s.cli(&[
        "--no-auth-warning",
        "--user",
        "app",
        "--pass",
        "apw",
        "ACL",
        "WHOAMI",
    ]);
    assert_eq!(out, "app\n");
    let out = s.cli(&[
        "--no-auth-warning",
        "--user",
        "app",
        "--pass",
        "apw",
        "FLUSHALL",
    ]);
    assert_eq!(
        out,
        "NOPERM this user has no permissions to run the 'flushall' command\n\n"
    );
    let out = s.cli(&["PING"]);
    assert_eq!(out, "NOAUTH Authentication required.\n\n");
}

/// A non-loopback IPv4 address of this machine, if it has one.
fn outside_address() -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["-o", "-4", "addr", "show", "scope", "global"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let word = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    Some(word.split('/').next()?.to_string())
}

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

#[test]
fn protected_mode_refuses_outside_clients_without_a_password() {
    let Some(ip) = outside_address() else {
        eprintln!("SKIPPED: no non-loopback IPv4 address on this machine to connect from");
        return;
    };
    let bind = format!("127.0.0.1 {ip}");
    // Default: protected mode on, no password: outside clients are told why and closed.
    let s = Server::start(&["--bind", &bind]);
    let mut outside = Raw::connect_to((ip.as_str(), s.port));
    assert_eq!(
        String::from_utf8(outside.read_reply().unwrap()).unwrap(),
        DENIED
    );
    assert!(outside.is_closed());
    assert_eq!(s.raw().cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(
        s.raw().cmd(&["CONFIG", "GET", "protected-mode"]),
        array(&["protected-mode", "yes"])
    );
    // Turning it off (from loopback) lets them in.
    s.raw().cmd(&["CONFIG", "SET", "protected-mode", "no"]);
    assert_eq!(
        Raw::connect_to((ip.as_str(), s.port)).cmd(&["PING"]),
        "+PONG\r\n"
    );
    // With a password, outside clients connect and must authenticate.
    let p = Server::start(&["--bind", &bind, "--requirepass", "pw"]);
    let mut c = Raw::connect_to((ip.as_str(), p.port));
    assert_eq!(c.cmd(&["PING"]), NOAUTH);
    assert_eq!(c.cmd(&["AUTH", "pw"]), "+OK\r\n");
    // `--protected-mode no` at startup.
    let n = Server::start(&["--bind", &bind, "--protected-mode", "no"]);
    assert_eq!(
        Raw::connect_to((ip.as_str(), n.port)).cmd(&["PING"]),
        "+PONG\r\n"
    );
}

#[test]
fn protected_mode_matches_redis_from_outside() {
    let Some(ip) = outside_address() else {
        eprintln!("SKIPPED: no non-loopback IPv4 address on this machine to connect from");
        return;
    };
    let redis = RealRedis::start_with(&["--bind", &format!("127.0.0.1 {ip}")]);
    let mut c = Raw::connect_to((ip.as_str(), redis.port));
    assert_eq!(String::from_utf8(c.read_reply().unwrap()).unwrap(), DENIED);
}

#[test]
fn scripts_run_with_the_callers_permissions() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmd(&[
            "ACL",
            "SETUSER",
            "app",
            "on",
            ">pw",
            "~*",
            "+@all",
            "-flushall"
        ]),
        "+OK\r\n"
    );
    let mut app = s.raw();
    assert_eq!(app.cmd(&["AUTH", "app", "pw"]), "+OK\r\n");
    let reply = app.cmd(&["EVAL", "return redis.call('flushall')", "0"]);
    assert_eq!(
        reply,
        "-ERR The user executing the script can't run this command or subcommand script: \
         d530a22111e074618d24a380340dd3d8bc48af4a, on @user_script:1.\r\n"
    );
    assert_eq!(
        app.cmd(&["EVAL", "return redis.call('set', 'k', 'v')", "0"]),
        "+OK\r\n"
    );
}

/// ACL LOG's entries as (count, reason, context, object), newest first.
fn log_entries(c: &mut Raw) -> Vec<String> {
    let log = c.cmd(&["ACL", "LOG"]);
    let fields: Vec<&str> = log.split("\r\n").collect();
    let after = |i: usize, name: &str| {
        (fields.get(i) == Some(&name))
            .then(|| fields.get(i + 2).copied())
            .flatten()
    };
    let mut out = Vec::new();
    for i in 0..fields.len() {
        if fields[i] == "count" {
            let count = fields.get(i + 1).map_or("", |c| c.trim_start_matches(':'));
            let reason = after(i + 3, "reason").unwrap_or("");
            let context = after(i + 7, "context").unwrap_or("");
            let object = after(i + 11, "object").unwrap_or("");
            out.push(format!("{count} {reason} {context} {object}"));
        }
    }
    out
}

/// A denial inside a script is the script's error (`ERR The user executing the script ...`)
/// logged with context `lua`; a queued command the rules no longer allow fails at EXEC with
/// Redis's `NOPERM ACLs rules changed ...` and is logged with context `multi`.
#[test]
fn denials_in_scripts_and_exec_match_redis() {
    let berth = Server::start(&[]);
    let redis = RealRedis::start();
    let mut logs = Vec::new();
    for port in [berth.port, redis.port] {
        let (mut a, mut b) = (Raw::connect(port), Raw::connect(port));
        let mut replies = Vec::new();
        let mut run = |c: &mut Raw, args: &[&str]| replies.push(c.cmd(args));
        run(
            &mut a,
            &["ACL", "SETUSER", "u", "on", "nopass", "~*", "&*", "+@all"],
        );
        run(
            &mut a,
            &[
                "ACL", "SETUSER", "lim", "on", "nopass", "~k", "&c", "+@all", "-set",
            ],
        );
        run(&mut a, &["AUTH", "lim", "x"]);
        run(&mut a, &["EVAL", "return redis.call('set','k','v')", "0"]);
        run(&mut a, &["EVAL", "return redis.call('get','zz')", "0"]);
        run(
            &mut a,
            &["EVAL", "return redis.call('publish','zz','x')", "0"],
        );
        run(&mut a, &["EVAL", "return redis.pcall('get','zz')", "0"]);
        run(&mut a, &["EVAL", "return redis.pcall('get','k')", "0"]);
        run(&mut b, &["AUTH", "u", "x"]);
        run(&mut b, &["MULTI"]);
        run(&mut b, &["SET", "k", "1"]);
        run(&mut b, &["GET", "k"]);
        run(&mut b, &["GET", "other"]);
        run(&mut b, &["PUBLISH", "ch", "x"]);
        run(&mut a, &["AUTH", "default", "x"]);
        run(
            &mut a,
            &[
                "ACL",
                "SETUSER",
                "u",
                "-set",
                "resetkeys",
                "~k",
                "resetchannels",
            ],
        );
        run(&mut b, &["EXEC"]);
        logs.push((replies, log_entries(&mut a)));
    }
    assert_eq!(logs[0], logs[1]);
    assert_eq!(
        logs[0].1,
        [
            "1 channel multi ch",
            "1 key multi other",
            "1 command multi set",
            "2 key lua zz",
            "1 channel lua zz",
            "1 command lua set"
        ]
    );
}
