//! Server commands: DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, TIME, LASTSAVE, SAVE/BGSAVE, SHUTDOWN,
//! MONITOR and INFO. Expected replies were checked against redis-server 7.0.15.

mod common;
use common::Server;

use std::collections::HashMap;
use std::time::Duration;

/// INFO's `field:value` lines as a map (section headers and blank lines skipped).
fn info_fields(reply: &str) -> HashMap<String, String> {
    reply
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('$'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn dbsize_counts_keys_of_the_selected_db() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "2"]);
    assert_eq!(c.cmd(&["DBSIZE"]), ":2\r\n");
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn flushdb_empties_only_the_selected_db() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["SET", "b", "1"]);
    assert_eq!(c.cmd(&["FLUSHDB", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
    c.cmd(&["SELECT", "0"]);
    assert_eq!(c.cmd(&["DBSIZE"]), ":1\r\n");
    assert_eq!(c.cmd(&["FLUSHDB", "sync"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.cmd(&["FLUSHDB", "foo"]), "-ERR syntax error\r\n");
}

#[test]
fn flushall_empties_every_db() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["SET", "b", "1"]);
    assert_eq!(
        c.cmd(&["FLUSHALL", "SYNC", "ASYNC"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmd(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
    c.cmd(&["SELECT", "0"]);
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn swapdb_swaps_contents_and_checks_indexes() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(c.cmd(&["SWAPDB", "0", "1"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), "$-1\r\n");
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd(&["GET", "a"]), "$1\r\n1\r\n");
    assert_eq!(c.cmd(&["SWAPDB", "1", "1"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["SWAPDB", "a", "1"]),
        "-ERR invalid first DB index\r\n"
    );
    assert_eq!(
        c.cmd(&["SWAPDB", "0", "b"]),
        "-ERR invalid second DB index\r\n"
    );
    assert_eq!(
        c.cmd(&["SWAPDB", "0", "99"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["SWAPDB", "-1", "0"]),
        "-ERR DB index is out of range\r\n"
    );
}

#[test]
fn time_returns_seconds_and_microseconds() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query(&mut c).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 2);
    assert!(micros < 1_000_000);
}

#[test]
fn save_and_bgsave_update_lastsave_and_reset_changes() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let before: u64 = c.cmd(&["LASTSAVE"])[1..].trim().parse().unwrap();
    c.cmd(&["SET", "a", "1"]);
    let fields = info_fields(&c.cmd(&["INFO", "persistence"]));
    assert_eq!(fields["rdb_changes_since_last_save"], "1");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(c.cmd(&["SAVE"]), "+OK\r\n");
    let after: u64 = c.cmd(&["LASTSAVE"])[1..].trim().parse().unwrap();
    assert!(after > before);
    let fields = info_fields(&c.cmd(&["INFO", "persistence"]));
    assert_eq!(fields["rdb_changes_since_last_save"], "0");
    assert_eq!(fields["rdb_last_save_time"], after.to_string());
    c.cmd(&["SET", "b", "1"]);
    assert_eq!(c.cmd(&["BGSAVE"]), "+Background saving started\r\n");
    assert_eq!(
        c.cmd(&["BGSAVE", "SCHEDULE"]),
        "+Background saving started\r\n"
    );
    assert_eq!(c.cmd(&["BGSAVE", "foo"]), "-ERR syntax error\r\n");
}

#[test]
fn shutdown_exits_zero_and_data_persists() {
    let mut s = Server::start(&["--appendfsync", "no"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    c.send_raw(b"*1\r\n$8\r\nSHUTDOWN\r\n");
    assert_eq!(c.read_reply(), None, "SHUTDOWN closes without a reply");
    let status = s.child.take().unwrap().wait().unwrap();
    assert_eq!(status.code(), Some(0));
    s.restart();
    assert_eq!(s.raw().cmd(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn shutdown_options_are_validated() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(c.cmd(&["SHUTDOWN", "foo"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd(&["SHUTDOWN", "NOSAVE", "SAVE"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd(&["SHUTDOWN", "ABORT", "NOW"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn monitor_streams_other_clients_commands() {
    let s = Server::start(&[]);
    let mut m = s.raw();
    assert_eq!(m.cmd(&["MONITOR"]), "+OK\r\n");
    // The monitor subscribes to the feed just after sending +OK.
    std::thread::sleep(Duration::from_millis(200));
    let mut c = s.raw();
    c.cmd(&["SET", "mk", "hello world"]);
    let line = String::from_utf8(m.read_reply().unwrap()).unwrap();
    assert!(
        line.ends_with(" \"SET\" \"mk\" \"hello world\"\r\n"),
        "{line}"
    );
    assert!(line.starts_with('+'));
}

#[test]
fn info_memory_shows_how_cache_size_is_spent() {
    let s = Server::start(&["--cache-size", "64mb"]);
    let mut c = s.raw();
    for i in 0..1000 {
        c.cmd(&["SET", &format!("k{i}"), "v"]);
    }
    let f = info_fields(&c.cmd(&["INFO", "memory"]));
    assert_eq!(f["berth_cache_size"], "67108864");
    // Half for the memtable; sled is told a fifth of the other half (it keeps ~5x that).
    assert_eq!(f["berth_memtable_limit"], "33554432");
    assert_eq!(f["berth_sled_cache_capacity"], "6710886");
    let entries: usize = f["berth_memtable_entries"].parse().unwrap();
    let bytes: usize = f["berth_memtable_bytes"].parse().unwrap();
    assert!(entries >= 1000, "{entries} entries");
    // Each entry is counted at its hash-table bucket at least, not at its key and value.
    assert!(
        bytes >= entries * 100,
        "{bytes} bytes for {entries} entries"
    );
    assert!(bytes <= 33554432, "{bytes} bytes");
}

#[test]
fn info_default_has_redis_sections_and_fields() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "1", "EX", "100"]);
    c.cmd(&["GET", "a"]);
    c.cmd(&["GET", "nope"]);
    let reply = c.cmd(&["INFO"]);
    assert!(reply.starts_with('$'));
    let body = &reply[reply.find("\r\n").unwrap() + 2..];
    assert!(body.starts_with("# Server\r\nredis_version:7.0.15\r\n"));
    let headers: Vec<&str> = body.split("\r\n").filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    assert!(body.contains("\r\n\r\n# Clients\r\n"));
    let f = info_fields(&reply);
    assert_eq!(f["tcp_port"], s.port.to_string());
    assert_eq!(f["berth_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(f["connected_clients"], "1");
    assert_eq!(f["role"], "master");
    assert_eq!(f["connected_slaves"], "0");
    assert_eq!(f["aof_enabled"], "1");
    assert_eq!(f["mem_allocator"], "mimalloc");
    assert_eq!(f["keyspace_hits"], "1");
    assert_eq!(f["keyspace_misses"], "1");
    assert_eq!(f["db0"], "keys=2,expires=1,avg_ttl=0");
    assert!(!f.contains_key("db1"));
    for num in [
        "uptime_in_seconds",
        "used_memory",
        "rdb_last_save_time",
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "expired_keys",
        "process_id",
        "blocked_clients",
    ] {
        assert!(f[num].parse::<u64>().is_ok(), "{num}: {}", f[num]);
    }
    for num in ["used_cpu_sys", "used_cpu_user"] {
        assert!(f[num].parse::<f64>().is_ok(), "{num}: {}", f[num]);
    }
    assert!(!f.keys().any(|k| k.starts_with("cmdstat_")));
}

#[test]
fn info_sections_can_be_picked() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["INFO", "keyspace"]), "$12\r\n# Keyspace\r\n\r\n");
    assert_eq!(c.cmd(&["INFO", "nosuch"]), "$0\r\n\r\n");
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(
        c.cmd(&["INFO", "KEYSPACE"]),
        "$44\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n\r\n"
    );
    let both = c.cmd(&["INFO", "keyspace", "replication"]);
    let body = &both[both.find("\r\n").unwrap() + 2..];
    assert!(body.starts_with("# Replication\r\nrole:master\r\n"));
    assert!(body.contains("\r\n\r\n# Keyspace\r\ndb0:"));
}

#[test]
fn info_commandstats_reports_calls_and_failures() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "x"]);
    c.cmd(&["INCR", "a"]);
    c.cmd(&["CONFIG", "GET", "hz"]);
    let f = info_fields(&c.cmd(&["INFO", "commandstats"]));
    let set = &f["cmdstat_set"];
    assert!(set.starts_with("calls=1,usec="), "{set}");
    assert!(set.ends_with(",rejected_calls=0,failed_calls=0"), "{set}");
    assert!(f["cmdstat_incr"].ends_with(",rejected_calls=0,failed_calls=1"));
    assert!(f["cmdstat_config|get"].starts_with("calls=1,"));
    let all = info_fields(&c.cmd(&["INFO", "all"]));
    assert!(all.contains_key("cmdstat_set") && all.contains_key("redis_version"));
    let everything = c.cmd(&["INFO", "everything"]);
    assert!(everything.contains("\r\n# Modules\r\n\r\n# Commandstats\r\ncmdstat_"));
}

#[test]
fn info_is_verbatim_in_resp3() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.resp3 = true;
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        c.cmd(&["INFO", "keyspace"]),
        "=16\r\ntxt:# Keyspace\r\n\r\n"
    );
}

/// `THP_enabled` of a process, from /proc (None on kernels that do not report it).
fn thp_enabled(pid: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))?;
    Some(line.trim().to_string())
}

/// `disable-thp yes` (the default, as in Redis) turns transparent huge pages off for the server
/// process; `no` leaves it as any other process (this test's own).
#[test]
fn disable_thp_turns_transparent_huge_pages_off_for_the_process() {
    let Some(own) = thp_enabled("self") else {
        eprintln!("skipped: this kernel does not report THP_enabled in /proc/<pid>/status");
        return;
    };
    for (flag, expected) in [("yes", "0".to_string()), ("no", own)] {
        let s = Server::start(&["--disable-thp", flag]);
        let pid = s.child.as_ref().expect("server running").id();
        assert_eq!(
            thp_enabled(&pid.to_string()),
            Some(expected),
            "disable-thp {flag}"
        );
        let mut c = s.client();
        let got: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("disable-thp")
            .query(&mut c)
            .expect("config get");
        assert_eq!(got, ["disable-thp", flag]);
    }
}
