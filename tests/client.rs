//! CLIENT subcommands. Replies and error texts were checked against redis-server 7.0.15
//! (SETINFO and NO-TOUCH against Redis 7.2's definitions).

mod common;
use common::{client_id, field, lines, Server};

#[test]
fn client_id_is_unique_per_connection() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let ia = client_id(&mut a);
    let mut b = s.raw();
    let ib = client_id(&mut b);
    assert!(ia > 0 && ib > ia);
    assert_eq!(client_id(&mut a), ia);
    assert_eq!(
        a.cmd(&["CLIENT", "ID", "x"]),
        "-ERR wrong number of arguments for 'client|id' command\r\n"
    );
}

#[test]
fn client_setname_and_getname() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "worker-1"]), "+OK\r\n");
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    assert_eq!(
        c.cmd(&["CLIENT", "SETNAME", "a b"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), "$-1\r\n");
}

#[test]
fn client_list_shows_every_connection_in_redis_field_order() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    a.cmd(&["PING"]);
    let mut b = s.raw();
    b.cmd(&["SELECT", "2"]);
    b.cmd(&["CLIENT", "SETNAME", "bee"]);
    let list = lines(&a.cmd(&["CLIENT", "LIST"]));
    assert_eq!(list.len(), 2);
    let names: Vec<&str> = list.iter().map(|l| field(l, "name")).collect();
    assert_eq!(names, ["", "bee"]);
    assert_eq!(field(&list[1], "db"), "2");
    assert_eq!(field(&list[0], "cmd"), "client|list");
    assert_eq!(field(&list[0], "id"), client_id(&mut a).to_string());
    let keys: Vec<&str> = list[0]
        .split(' ')
        .map(|f| f.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp"
        ]
    );
    assert_eq!(field(&list[0], "laddr"), s.addr());
    assert_eq!(
        field(&list[0], "addr"),
        a.stream.local_addr().unwrap().to_string()
    );
}

#[test]
fn client_list_filters_by_type_and_id() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let ib = client_id(&mut b);
    assert_eq!(
        lines(&a.cmd(&["CLIENT", "LIST", "TYPE", "normal"])).len(),
        2
    );
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]), "$0\r\n\r\n");
    assert_eq!(
        a.cmd(&["CLIENT", "LIST", "TYPE", "foo"]),
        "-ERR Unknown client type 'foo'\r\n"
    );
    let only_b = lines(&a.cmd(&["CLIENT", "LIST", "ID", &ib.to_string(), "99999"]));
    assert_eq!(only_b.len(), 1);
    assert_eq!(field(&only_b[0], "id"), ib.to_string());
    assert_eq!(
        a.cmd(&["CLIENT", "LIST", "ID", "abc"]),
        "-ERR Invalid client ID\r\n"
    );
    assert_eq!(a.cmd(&["CLIENT", "LIST", "foo"]), "-ERR syntax error\r\n");
}

#[test]
fn client_info_describes_this_connection() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["CLIENT", "SETNAME", "me"]);
    let reply = c.cmd(&["CLIENT", "INFO"]);
    assert!(reply.ends_with("\n\r\n"));
    let line = &lines(&reply)[0];
    assert_eq!(field(line, "name"), "me");
    assert_eq!(field(line, "cmd"), "client|info");
    assert_eq!(field(line, "flags"), "N");
    assert_eq!(field(line, "resp"), "2");
}

#[test]
fn client_kill_by_id_closes_another_connection() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let ib = client_id(&mut b).to_string();
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &ib]), ":1\r\n");
    assert!(b.is_closed());
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &ib]), ":0\r\n");
    assert_eq!(a.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn client_kill_old_form_takes_an_address() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    b.cmd(&["PING"]);
    let addr = b.stream.local_addr().unwrap().to_string();
    assert_eq!(a.cmd(&["CLIENT", "KILL", &addr]), "+OK\r\n");
    assert!(b.is_closed());
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "1.2.3.4:5"]),
        "-ERR No such client\r\n"
    );
}

#[test]
fn client_kill_filters_skip_the_caller_unless_told() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    b.cmd(&["PING"]);
    let addr = s.addr();
    assert_eq!(a.cmd(&["CLIENT", "KILL", "LADDR", &addr]), ":1\r\n");
    assert!(b.is_closed());
    assert_eq!(a.cmd(&["CLIENT", "KILL", "USER", "default"]), ":0\r\n");
    let me = client_id(&mut a).to_string();
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "ID", &me, "SKIPME", "no"]),
        ":1\r\n"
    );
    assert!(a.is_closed());
}

#[test]
fn client_kill_reports_bad_filters() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let cases = [
        (
            &["ID", "abc"][..],
            "-ERR client-id should be greater than 0\r\n",
        ),
        (
            &["ID", "0"][..],
            "-ERR client-id should be greater than 0\r\n",
        ),
        (&["foo", "bar"][..], "-ERR syntax error\r\n"),
        (&["SKIPME", "maybe"][..], "-ERR syntax error\r\n"),
        (&["SKIPME", "no", "ID"][..], "-ERR syntax error\r\n"),
        (&["TYPE", "foo"][..], "-ERR Unknown client type 'foo'\r\n"),
        (&["USER", "nobody"][..], "-ERR No such user 'nobody'\r\n"),
    ];
    for (args, expected) in cases {
        let mut cmd = vec!["CLIENT", "KILL"];
        cmd.extend_from_slice(args);
        assert_eq!(c.cmd(&cmd), expected, "{args:?}");
    }
}

#[test]
fn client_no_evict_and_no_touch_show_as_flags() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    assert_eq!(field(&lines(&c.cmd(&["CLIENT", "INFO"]))[0], "flags"), "e");
    assert_eq!(c.cmd(&["CLIENT", "NO-TOUCH", "ON"]), "+OK\r\n");
    assert_eq!(field(&lines(&c.cmd(&["CLIENT", "INFO"]))[0], "flags"), "eT");
    c.cmd(&["CLIENT", "NO-EVICT", "off"]);
    c.cmd(&["CLIENT", "NO-TOUCH", "off"]);
    assert_eq!(field(&lines(&c.cmd(&["CLIENT", "INFO"]))[0], "flags"), "N");
    assert_eq!(
        c.cmd(&["CLIENT", "NO-EVICT", "maybe"]),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn client_setinfo_sets_library_name_and_version() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["CLIENT", "SETINFO", "lib-ver", "5.0.1"]), "+OK\r\n");
    // Redis 7.0's CLIENT LIST has no lib-name/lib-ver fields, so berth's does not show them.
    let line = &lines(&c.cmd(&["CLIENT", "INFO"]))[0];
    assert!(!line.contains("lib-name="), "{line}");
    assert_eq!(
        c.cmd(&["CLIENT", "SETINFO", "foo", "x"]),
        "-ERR Unrecognized option 'foo'\r\n"
    );
}

#[test]
fn client_help_and_unknown_subcommand() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let help = c.cmd(&["CLIENT", "HELP"]);
    assert!(
        help.contains("\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n")
    );
    assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
    assert_eq!(
        c.cmd(&["CLIENT", "NOPE"]),
        "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"
    );
}

#[test]
fn redis_crate_sees_client_name() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("rs")
        .query(&mut c)
        .unwrap();
    let name: Option<String> = redis::cmd("CLIENT").arg("GETNAME").query(&mut c).unwrap();
    assert_eq!(name.as_deref(), Some("rs"));
}
