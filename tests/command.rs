//! COMMAND and its subcommands, plus dispatch errors (arity, unknown command/subcommand).
//! Exact replies were checked against redis-server 7.0.15.

mod common;
use common::Server;

/// `COMMAND INFO get` exactly as Redis 7.0 sends it.
const GET_INFO: &str = "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";

/// `COMMAND INFO config|get` exactly as Redis 7.0 sends it.
const CONFIG_GET_INFO: &str = "*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n";

#[test]
fn command_count_matches_command_listing() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let count: usize = redis::cmd("COMMAND").arg("COUNT").query(&mut c).unwrap();
    let all: Vec<redis::Value> = redis::cmd("COMMAND").query(&mut c).unwrap();
    assert_eq!(all.len(), count);
    assert!(count > 30);
    assert_eq!(s.cli(&["COMMAND", "COUNT"]), format!("{count}\n"));
    let mut raw = s.raw();
    assert_eq!(
        raw.cmd(&["COMMAND", "COUNT", "x"]),
        "-ERR wrong number of arguments for 'command|count' command\r\n"
    );
}

#[test]
fn command_info_has_redis_7_shape() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["COMMAND", "INFO", "get"]),
        format!("*1\r\n{GET_INFO}")
    );
    assert_eq!(
        c.cmd(&["COMMAND", "INFO", "GET"]),
        format!("*1\r\n{GET_INFO}")
    );
    assert_eq!(
        c.cmd(&["COMMAND", "INFO", "nosuch", "config|get"]),
        format!("*2\r\n$-1\r\n{CONFIG_GET_INFO}")
    );
}

#[test]
fn command_info_of_a_container_lists_subcommands() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let reply = c.cmd(&["COMMAND", "INFO", "config"]);
    assert!(reply.starts_with(
        "*1\r\n*10\r\n$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*5\r\n*10\r\n"
    ));
    assert!(reply.contains(CONFIG_GET_INFO));
}

#[test]
fn command_info_uses_sets_in_resp3() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    // The harness's RESP3 decoder cannot hold maps inside sets (Redis sends them), so read the
    // bytes directly: the whole reply fits in one read.
    c.send_raw(&common::Raw::encode(&[b"COMMAND", b"INFO", b"get"]));
    let mut buf = [0u8; 4096];
    let n = std::io::Read::read(&mut c.stream, &mut buf).unwrap();
    let reply = String::from_utf8_lossy(&buf[..n]);
    assert!(reply.starts_with(
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n"
    ));
}

#[test]
fn command_docs_gives_summary_since_group_and_complexity() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["COMMAND", "DOCS", "dbsize", "nosuch"]),
        "*2\r\n$6\r\ndbsize\r\n*8\r\n$7\r\nsummary\r\n$50\r\nReturn the number of keys in the selected database\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"
    );
    assert_eq!(c.cmd(&["COMMAND", "DOCS", "nosuch"]), "*0\r\n");
    let config = c.cmd(&["COMMAND", "DOCS", "config"]);
    assert!(config.contains("$11\r\nsubcommands\r\n*10\r\n"), "{config}");
    assert!(config.contains("$10\r\nconfig|get\r\n"));
}

#[test]
fn command_list_filters_by_pattern_and_category() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let mut conf: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("PATTERN")
        .arg("conf*")
        .query(&mut c)
        .unwrap();
    conf.sort();
    assert_eq!(
        conf,
        [
            "config",
            "config|get",
            "config|help",
            "config|resetstat",
            "config|rewrite",
            "config|set"
        ]
    );
    let admin: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("admin")
        .query(&mut c)
        .unwrap();
    assert!(admin.contains(&"shutdown".to_string()));
    assert!(!admin.contains(&"get".to_string()));
    let all: Vec<String> = redis::cmd("COMMAND").arg("LIST").query(&mut c).unwrap();
    assert!(all.contains(&"get".to_string()) && all.contains(&"client|kill".to_string()));
    let mut raw = s.raw();
    assert_eq!(
        raw.cmd(&["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]),
        "*0\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"]),
        "*0\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "LIST", "foo"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.cmd(&["COMMAND", "LIST", "FILTERBY", "foo", "x"]),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn command_getkeys_follows_key_positions() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "SET", "a", "b"]),
        "*1\r\n$1\r\na\r\n"
    );
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "mset", "a", "1", "b"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYSANDFLAGS", "get", "a"]),
        "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n"
    );
    // SET's key flags depend on its GET option.
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b"]),
        "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+OW\r\n+update\r\n"
    );
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b", "GET"]),
        "*1\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"
    );
}

#[test]
fn command_getkeys_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let cases: [(&[&str], &str); 6] = [
        (&["nosuch", "a"], "-ERR Invalid command specified\r\n"),
        (&["config", "nosuch"], "-ERR Invalid command specified\r\n"),
        (&["ping", "x"], "-ERR The command has no key arguments\r\n"),
        (
            &["config", "get", "x"],
            "-ERR The command has no key arguments\r\n",
        ),
        (
            &["get", "a", "b"],
            "-ERR Invalid number of arguments specified for command\r\n",
        ),
        (
            &["get"],
            "-ERR wrong number of arguments for 'command|getkeys' command\r\n",
        ),
    ];
    for (args, expected) in cases {
        let mut cmd = vec!["COMMAND", "GETKEYS"];
        cmd.extend_from_slice(args);
        assert_eq!(c.cmd(&cmd), expected, "{args:?}");
    }
}

#[test]
fn dispatch_reports_arity_and_unknown_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        c.cmd(&["NOSUCH", "a", "b"]),
        "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG"]),
        "-ERR wrong number of arguments for 'config' command\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "NOSUCH"]),
        "-ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.\r\n"
    );
    assert_eq!(
        c.cmd(&["CLIENT", "SETNAME", "a", "b"]),
        "-ERR wrong number of arguments for 'client|setname' command\r\n"
    );
}

#[test]
fn command_help_lists_subcommands() {
    let s = Server::start(&[]);
    let reply = s.raw().cmd(&["COMMAND", "HELP"]);
    assert!(reply.starts_with(
        "*21\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+(no subcommand)\r\n"
    ));
    assert!(reply.ends_with("+HELP\r\n+    Prints this help.\r\n"));
}

#[test]
fn command_info_carries_redis_tips() {
    let s = Server::start(&[]);
    let reply = s.raw().cmd(&["COMMAND", "INFO", "dbsize"]);
    assert_eq!(
        reply,
        "*1\r\n*10\r\n$6\r\ndbsize\r\n:1\r\n*2\r\n+readonly\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@keyspace\r\n+@read\r\n+@fast\r\n*2\r\n$25\r\nrequest_policy:all_shards\r\n$23\r\nresponse_policy:agg_sum\r\n*0\r\n*0\r\n"
    );
}

#[test]
fn command_info_carries_redis_key_specs() {
    let s = Server::start(&[]);
    assert_eq!(
        s.raw().cmd(&["COMMAND", "INFO", "mset"]),
        "*1\r\n*10\r\n$4\r\nmset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n*3\r\n+@write\r\n+@string\r\n+@slow\r\n*2\r\n$26\r\nrequest_policy:multi_shard\r\n$29\r\nresponse_policy:all_succeeded\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:2\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
}

#[test]
fn command_docs_carries_redis_arguments_and_history() {
    let s = Server::start(&[]);
    // Exactly redis-server 7.0.15's reply; redis-cli builds its hints from the arguments.
    assert_eq!(
        s.raw().cmd(&["COMMAND", "DOCS", "config|get"]),
        "*2\r\n$10\r\nconfig|get\r\n*12\r\n$7\r\nsummary\r\n$42\r\nGet the values of configuration parameters\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$62\r\nO(N) when N is the number of configuration parameters provided\r\n$7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n7.0.0\r\n$65\r\nAdded the ability to pass multiple pattern parameters in one call\r\n$9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
    );
}
