//! CONFIG GET/SET/RESETSTAT/REWRITE/HELP, with the server started from a real config file.
//! Error texts were checked against redis-server 7.0.15.

mod common;
use common::{free_port, temp_dir, wait_for_server, Raw, Server, BIN};

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A server started as `berth-server <config file>`, its stdout captured.
struct FileServer {
    child: Child,
    port: u16,
    conf: PathBuf,
    dir: PathBuf,
}

impl FileServer {
    fn start(extra_lines: &str) -> FileServer {
        let dir = temp_dir("conf");
        let port = free_port();
        let conf = dir.join("berth.conf");
        let text = format!(
            "# berth test config\nport {port}\nbind 127.0.0.1\ndir {}\nloglevel warning\n{extra_lines}",
            dir.join("data").display()
        );
        std::fs::write(&conf, text).unwrap();
        FileServer::spawn(conf, dir, port)
    }

    fn spawn(conf: PathBuf, dir: PathBuf, port: u16) -> FileServer {
        let mut child = Command::new(BIN)
            .arg(&conf)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        wait_for_server(port, &mut child);
        FileServer {
            child,
            port,
            conf,
            dir,
        }
    }

    fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// Shuts down through SHUTDOWN and returns what the server logged.
    fn shutdown(&mut self) -> String {
        let mut c = self.raw();
        c.send_raw(b"*1\r\n$8\r\nSHUTDOWN\r\n");
        let _ = c.read_reply();
        self.child.wait().unwrap();
        let mut out = String::new();
        if let Some(mut s) = self.child.stdout.take() {
            s.read_to_string(&mut out).unwrap();
        }
        out
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn config_get_reads_values_from_the_config_file() {
    let s = FileServer::start("maxclients 77\nappendfsync always\n");
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "appendfsync", "port"]),
        format!(
            "*4\r\n$4\r\nport\r\n${}\r\n{}\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n",
            s.port.to_string().len(),
            s.port
        )
    );
}

#[test]
fn config_get_matches_glob_patterns_once_each() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("max*")
        .arg("*clients")
        .query(&mut c)
        .unwrap();
    let names: Vec<&str> = got.iter().step_by(2).map(|s| s.as_str()).collect();
    assert_eq!(names, ["maxclients", "maxmemory", "maxmemory-policy"]);
    let mut raw = s.raw();
    assert_eq!(raw.cmd(&["CONFIG", "GET", "nope"]), "*0\r\n");
    assert_eq!(
        raw.cmd(&["CONFIG", "GET"]),
        "-ERR wrong number of arguments for 'config|get' command\r\n"
    );
}

#[test]
fn config_get_is_a_map_in_resp3() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "timeout"]),
        "%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
    );
}

#[test]
fn config_set_applies_several_pairs() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "timeout", "30", "MAXMEMORY", "1mb"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "timeout"]),
        "*2\r\n$7\r\ntimeout\r\n$2\r\n30\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n"
    );
}

#[test]
fn config_set_rejects_bad_values_without_applying_any() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let failed = |name: &str, why: &str| {
        format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - {why}\r\n")
    };
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "timeout", "5", "maxclients", "abc"]),
        failed("maxclients", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "timeout"]),
        "*2\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "foo", "bar"]),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", "1x"]),
        failed("maxmemory", "argument must be a memory value")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "timeout", "-1"]),
        failed(
            "timeout",
            "argument must be between 0 and 2147483647 inclusive"
        )
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxclients", "0"]),
        failed(
            "maxclients",
            "argument must be between 1 and 4294967295 inclusive"
        )
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "protected-mode", "maybe"]),
        failed("protected-mode", "argument must be 'yes' or 'no'")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "appendfsync", "foo"]),
        failed(
            "appendfsync",
            "argument(s) must be one of the following: everysec, always, no"
        )
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "foo"]),
        failed("maxmemory-policy", "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "daemonize", "yes"]),
        failed("daemonize", "can't set immutable config")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "hz", "1", "hz", "2"]),
        failed("hz", "duplicate parameter")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "timeout", "5", "hz"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "timeout"]),
        "-ERR wrong number of arguments for 'config|set' command\r\n"
    );
}

#[test]
fn config_set_requirepass_applies_to_new_connections() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "requirepass", "s3cret"]),
        "+OK\r\n"
    );
    // The connection that set it stays authenticated, as in Redis.
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    let mut other = s.raw();
    assert_eq!(
        other.cmd(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        other.cmd(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(other.cmd(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(other.cmd(&["GET", "k"]), "$-1\r\n");
}

#[test]
fn config_set_loglevel_changes_what_is_logged() {
    let mut quiet = FileServer::start("");
    assert!(!quiet.shutdown().contains("ready to exit"));
    let mut s = FileServer::start("");
    assert_eq!(
        s.raw().cmd(&["CONFIG", "SET", "loglevel", "notice"]),
        "+OK\r\n"
    );
    assert!(s.shutdown().contains("ready to exit"));
}

#[test]
fn config_rewrite_persists_set_values_in_the_file() {
    let mut s = FileServer::start("# keep this comment\ntimeout 10\n");
    let mut c = s.raw();
    c.cmd(&["CONFIG", "SET", "timeout", "20", "maxclients", "500"]);
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&s.conf).unwrap();
    assert!(text.contains("# keep this comment\n"), "{text}");
    assert!(text.contains("\ntimeout 20\n"), "{text}");
    assert!(
        text.contains("\n\n# Generated by CONFIG REWRITE\nmaxclients 500\n"),
        "{text}"
    );
    assert!(!text.contains("timeout 10"), "{text}");
    s.shutdown();
    let s = FileServer::spawn(s.conf.clone(), s.dir.clone(), s.port);
    assert_eq!(
        s.raw().cmd(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$3\r\n500\r\n"
    );
}

#[test]
fn config_rewrite_without_a_file_is_an_error() {
    let s = Server::start(&[]);
    assert_eq!(
        s.raw().cmd(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
}

#[test]
fn config_resetstat_clears_counters() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["GET", "a"]);
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let info = c.cmd(&["INFO", "stats"]);
    assert!(info.contains("\r\nkeyspace_hits:0\r\n"), "{info}");
    assert!(
        info.contains("\r\ntotal_commands_processed:1\r\n"),
        "{info}"
    );
    let cmdstats = c.cmd(&["INFO", "commandstats"]);
    assert!(!cmdstats.contains("cmdstat_get"), "{cmdstats}");
}

#[test]
fn config_help_lists_subcommands() {
    let s = Server::start(&[]);
    let reply = s.raw().cmd(&["CONFIG", "HELP"]);
    assert!(reply.starts_with(
        "*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET <pattern>\r\n"
    ));
    assert!(reply.ends_with("+HELP\r\n+    Prints this help.\r\n"));
}

#[test]
fn config_get_shows_requirepass_only_by_name() {
    let s = Server::start(&["--requirepass", "pw"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "requirepass"]),
        "*2\r\n$11\r\nrequirepass\r\n$2\r\npw\r\n"
    );
    assert!(!c
        .cmd(&["CONFIG", "GET", "*"])
        .contains("$11\r\nrequirepass\r\n"));
}

#[test]
fn config_set_maxclients_applies_to_new_connections() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxclients", "1"]), "+OK\r\n");
    let mut other = s.raw();
    assert_eq!(
        other.read_reply().as_deref(),
        Some(&b"-ERR max number of clients reached\r\n"[..])
    );
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn logfile_receives_the_log_without_terminal_colours() {
    let dir = common::temp_dir("logfile");
    let log = dir.join("berth.log");
    let log_arg = log.to_string_lossy().into_owned();
    let mut s = Server::start(&["--logfile", &log_arg, "--loglevel", "notice"]);
    assert_eq!(s.raw().cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(s.terminate(), Some(0));
    let text = std::fs::read_to_string(&log).expect("log file");
    assert!(
        text.contains("berth-server ready to accept connections"),
        "{text}"
    );
    assert!(text.contains("ready to exit"), "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes in a file: {text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unopenable_logfile_stops_the_start_with_one_line() {
    let dir = common::temp_dir("badlog");
    let out = std::process::Command::new(common::BIN)
        .args([
            "--port",
            "0",
            "--logfile",
            "/nonexistent-dir/berth.log",
            "--dir",
        ])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "berth-server: cannot open logfile '/nonexistent-dir/berth.log': No such file or directory (os error 2)\n"
    );
    let _ = std::fs::remove_dir_all(dir);
}
