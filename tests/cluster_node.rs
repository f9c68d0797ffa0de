//! Clustered mode on one machine without network namespaces: a one-shard cluster checked
//! reply for reply against a real one-node Redis Cluster, and a lone member of a three-shard
//! cluster whose peers cannot be reached (MOVED by hostname, CLUSTERDOWN, misconfiguration).
//! The multi-node scenarios with real DNS live in `tests/cluster/`.

mod common;
use common::{check, Case, RealRedis, Server};

use std::time::{Duration, Instant};

const CROSSSLOT: &str = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";

/// `{t}` hashes to slot 15891 (CLUSTER KEYSLOT confirms it in the table). GETKEYSINSLOT's
/// order is unspecified (Redis lists newest first, berth in key order), so only one-key slots
/// are listed here.
const ONE_SHARD: &[Case] = &[
    (&["CLUSTER", "KEYSLOT", "foo"], ":12182\r\n"),
    (&["CLUSTER", "KEYSLOT", "{t}a"], ":15891\r\n"),
    (&["CLUSTER", "KEYSLOT", "{}a"], ":10875\r\n"),
    (&["MSET", "a", "1", "b", "2"], CROSSSLOT),
    (&["MSET", "{t}a", "1", "{t}b", "2"], "+OK\r\n"),
    (&["MGET", "{t}a", "{t}b"], "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
    (&["EXISTS", "{t}a", "{t}b", "{t}c"], ":2\r\n"),
    (&["DEL", "a", "{t}a"], CROSSSLOT),
    (&["RENAME", "{t}a", "b"], CROSSSLOT),
    (&["CLUSTER", "COUNTKEYSINSLOT", "15891"], ":2\r\n"),
    (&["SET", "foo", "x"], "+OK\r\n"),
    (
        &["CLUSTER", "GETKEYSINSLOT", "12182", "10"],
        "*1\r\n$3\r\nfoo\r\n",
    ),
    (&["CLUSTER", "GETKEYSINSLOT", "12182", "0"], "*0\r\n"),
    (&["CLUSTER", "COUNTKEYSINSLOT", "0"], ":0\r\n"),
    (
        &["CLUSTER", "COUNTKEYSINSLOT", "16384"],
        "-ERR Invalid slot\r\n",
    ),
    (
        &["CLUSTER", "COUNTKEYSINSLOT", "-1"],
        "-ERR Invalid slot\r\n",
    ),
    (&["CLUSTER", "COUNTKEYSINSLOT", "x"], common::NOT_INT),
    (
        &["CLUSTER", "GETKEYSINSLOT", "0", "-1"],
        "-ERR Invalid slot or number of keys\r\n",
    ),
    (
        &["CLUSTER", "GETKEYSINSLOT", "16384", "1"],
        "-ERR Invalid slot or number of keys\r\n",
    ),
    (&["CLUSTER", "GETKEYSINSLOT", "0", "x"], common::NOT_INT),
    (&["SELECT", "0"], "+OK\r\n"),
    (
        &["SELECT", "1"],
        "-ERR SELECT is not allowed in cluster mode\r\n",
    ),
    (
        &["MOVE", "{t}a", "1"],
        "-ERR MOVE is not allowed in cluster mode\r\n",
    ),
    (
        &["SWAPDB", "0", "1"],
        "-ERR SWAPDB is not allowed in cluster mode\r\n",
    ),
    (
        &["COPY", "{t}a", "{t}c", "DB", "1"],
        "-ERR Copying to another database is not allowed in cluster mode\r\n",
    ),
    (&["COPY", "{t}a", "{t}c", "DB", "0"], ":1\r\n"),
    (&["READONLY"], "+OK\r\n"),
    (&["READWRITE"], "+OK\r\n"),
    (&["ASKING"], "+OK\r\n"),
    (
        &["CLUSTER"],
        "-ERR wrong number of arguments for 'cluster' command\r\n",
    ),
    (
        &["CLUSTER", "KEYSLOT"],
        "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n",
    ),
    (&["PING"], "+PONG\r\n"),
];

const STANDALONE: &[Case] = &[
    (
        &["CLUSTER", "INFO"],
        "-ERR This instance has cluster support disabled\r\n",
    ),
    (
        &["CLUSTER", "KEYSLOT", "foo"],
        "-ERR This instance has cluster support disabled\r\n",
    ),
    (
        &["READONLY"],
        "-ERR This instance has cluster support disabled\r\n",
    ),
    (&["MSET", "a", "1", "b", "2"], "+OK\r\n"),
    (&["SELECT", "1"], "+OK\r\n"),
];

fn one_shard() -> Server {
    Server::start(common::ONE_SHARD_CLUSTER)
}

/// A real one-node Redis Cluster owning every slot.
fn real_one_node_cluster() -> RealRedis {
    let r = RealRedis::start_with(&["--cluster-enabled", "yes"]);
    let mut c = common::Raw::connect(r.port);
    assert_eq!(
        c.cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]),
        "+OK\r\n"
    );
    wait_until(Duration::from_secs(10), || {
        c.cmd(&["CLUSTER", "INFO"]).contains("cluster_state:ok")
    });
    r
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn one_shard_cluster_replies_like_redis() {
    let s = one_shard();
    check(&mut s.raw(), ONE_SHARD);
}

#[test]
fn one_shard_table_matches_a_real_redis_cluster() {
    let r = real_one_node_cluster();
    check(&mut common::Raw::connect(r.port), ONE_SHARD);
}

#[test]
fn standalone_has_no_cluster_and_all_databases() {
    check(&mut Server::start(&[]).raw(), STANDALONE);
    check(
        &mut common::Raw::connect(RealRedis::start().port),
        STANDALONE,
    );
}

#[test]
fn one_shard_cluster_passes_redis_cli_cluster_check() {
    let s = one_shard();
    let out = common::redis_cli(
        s.port,
        &["--cluster", "check", &format!("127.0.0.1:{}", s.port)],
    );
    assert!(
        out.contains("[OK] All nodes agree about slots configuration."),
        "{out}"
    );
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
    assert!(!out.contains("[ERR]"), "{out}");
}

#[test]
fn getkeysinslot_lists_a_slot_in_key_order_up_to_the_count() {
    let s = one_shard();
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["MSET", "{t}b", "1", "{t}a", "2", "{t}c", "3"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CLUSTER", "GETKEYSINSLOT", "15891", "2"]),
        "*2\r\n$4\r\n{t}a\r\n$4\r\n{t}b\r\n"
    );
    assert_eq!(c.cmd(&["CLUSTER", "COUNTKEYSINSLOT", "15891"]), ":3\r\n");
}

#[test]
fn node_ids_are_derived_from_statefulset_and_ordinal() {
    let a = one_shard();
    let b = one_shard();
    let id = a.cli(&["CLUSTER", "MYID"]);
    assert_eq!(id.trim().len(), 40);
    assert_eq!(id, b.cli(&["CLUSTER", "MYID"]));
    let nodes = a.cli(&["CLUSTER", "NODES"]);
    assert_eq!(
        nodes.trim(),
        format!(
            "{} 127.0.0.1:{1}@{1},berth-0.berth-headless.default.svc.cluster.local \
             myself,master - 0 0 1 connected 0-16383",
            id.trim(),
            a.port
        )
    );
}

/// Ordinal 0 of 3 shards; its peers' names resolve nowhere, so they are unknown and then failed.
fn lonely(extra: &[&str]) -> Server {
    let mut args = vec![
        "--cluster-enabled",
        "yes",
        "--cluster-statefulset",
        "berth",
        "--cluster-ordinal",
        "0",
        "--cluster-shards",
        "3",
        "--cluster-node-timeout",
        "1000",
        "--cluster-namespace",
        "nowhere",
        "--cluster-domain",
        "invalid",
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn keys_of_other_shards_are_moved_to_the_owner_hostname() {
    let s = lonely(&["--cluster-preferred-endpoint-type", "hostname"]);
    let mut c = s.raw();
    // "foo" is slot 12182: ordinal 2 of 3 (10923-16383).
    assert_eq!(
        c.cmd(&["GET", "foo"]),
        format!(
            "-MOVED 12182 berth-2.berth-headless.nowhere.svc.invalid:{}\r\n",
            s.port
        )
    );
    // "a" is slot 15495 (ordinal 2), "b" is 3300 (ordinal 0: ours).
    assert_eq!(c.cmd(&["SET", "b", "1"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "b"]), "$1\r\n1\r\n");
    assert_eq!(c.cmd(&["MGET", "a", "b"]), CROSSSLOT);
    // Keyless commands run anywhere.
    assert_eq!(c.cmd(&["DBSIZE"]), ":1\r\n");
}

#[test]
fn unreachable_owner_slots_answer_clusterdown_while_own_slots_serve() {
    let s = lonely(&[]);
    let mut c = s.raw();
    wait_until(Duration::from_secs(15), || {
        c.cmd(&["CLUSTER", "INFO"])
            .contains("cluster_slots_fail:10923")
    });
    assert_eq!(
        c.cmd(&["GET", "foo"]),
        "-CLUSTERDOWN Hash slot not served\r\n"
    );
    assert_eq!(c.cmd(&["SET", "b", "1"]), "+OK\r\n");
    let info = c.cmd(&["CLUSTER", "INFO"]);
    assert!(info.contains("cluster_state:ok\r\n"), "{info}");
    assert!(info.contains("cluster_slots_ok:5461\r\n"), "{info}");
    assert!(
        info.contains("berth_problems:cannot resolve berth-1."),
        "{info}"
    );
    let nodes = s.cli(&["CLUSTER", "NODES"]);
    let peer = nodes
        .lines()
        .find(|l| l.contains("berth-1."))
        .expect("peer line");
    assert!(peer.contains(" master,fail,noaddr - "), "{nodes}");
    assert!(peer.ends_with(" disconnected 5461-10922"), "{nodes}");
}

#[test]
fn require_full_coverage_refuses_every_keyed_command_when_a_shard_fails() {
    let s = lonely(&["--cluster-require-full-coverage", "yes"]);
    let mut c = s.raw();
    wait_until(Duration::from_secs(15), || {
        c.cmd(&["CLUSTER", "INFO"]).contains("cluster_state:fail")
    });
    assert_eq!(c.cmd(&["GET", "b"]), "-CLUSTERDOWN The cluster is down\r\n");
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "cluster-require-full-coverage", "no"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["GET", "b"]), "$-1\r\n");
}

#[test]
fn ordinal_outside_the_shard_count_serves_nothing_and_says_why() {
    let s = Server::start(&[
        "--cluster-enabled",
        "yes",
        "--cluster-statefulset",
        "berth",
        "--cluster-ordinal",
        "3",
        "--cluster-shards",
        "3",
        "--cluster-domain",
        "invalid",
    ]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["SET", "b", "1"]),
        "-CLUSTERDOWN The cluster is down\r\n"
    );
    let info = c.cmd(&["CLUSTER", "INFO"]);
    assert!(info.contains("cluster_state:fail\r\n"), "{info}");
    assert!(info.contains("cluster_known_nodes:4\r\n"), "{info}");
    assert!(
        info.contains("berth_problems:ordinal 3 is outside cluster-shards 3"),
        "{info}"
    );
    let nodes = s.cli(&["CLUSTER", "NODES"]);
    let me = nodes.lines().next().unwrap_or_default();
    assert!(me.contains("myself,master - 0 0 0 connected"), "{nodes}");
    assert!(
        me.ends_with("connected"),
        "no slots for a misconfigured node: {nodes}"
    );
}

#[test]
fn bad_hostname_without_overrides_exits_with_one_line() {
    // The test machine's hostname is not `<sts>-<ordinal>` unless it ends in digits.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    if host
        .rsplit_once('-')
        .is_some_and(|(_, o)| o.parse::<u32>().is_ok())
    {
        eprintln!("skipping: this machine's hostname '{host}' looks like a StatefulSet pod");
        return;
    }
    let dir = common::temp_dir("badhost");
    let out = std::process::Command::new(common::BIN)
        .args(["--port", "0", "--cluster-enabled", "yes", "--dir"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("is not '<statefulset>-<ordinal>'"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
