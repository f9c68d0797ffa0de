//! Clustered-mode scenarios: three berth pods in their own namespaces, peers found through
//! dnsmasq, driven with redis-cli, redis-py, the `redis` crate and raw RESP.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth::util::crc16::key_slot;

use super::common::Raw;
use super::net::{run_for, run_ok, Net};
use super::{cli, pod_dns, Node};

const SHARDS: usize = 3;
/// Ordinal `i`'s slots with three shards.
const RANGES: [(u16, u16); SHARDS] = [(0, 5460), (5461, 10922), (10923, 16383)];

fn owner(key: &str) -> usize {
    let slot = key_slot(key.as_bytes());
    RANGES
        .iter()
        .position(|r| (r.0..=r.1).contains(&slot))
        .unwrap_or(0)
}

/// Three pods of StatefulSet `berth` with their DNS records; `extra(i)` adds flags for pod `i`.
struct Pods {
    net: Net,
    nodes: Vec<Option<Node>>,
    extra: Vec<Vec<String>>,
}

impl Pods {
    /// Starts every pod before any DNS record exists, as pods racing their own records do,
    /// then publishes the records.
    fn start(tag: &str, extra: impl Fn(usize) -> Vec<String>) -> Pods {
        let net = Net::new(tag);
        let mut pods = Pods {
            net,
            nodes: Vec::new(),
            extra: (0..SHARDS).map(extra).collect(),
        };
        for i in 0..SHARDS {
            let node = pods.spawn(i);
            pods.nodes.push(Some(node));
        }
        for i in 0..SHARDS {
            pods.net.set_dns(&pod_dns(i), Some(pods.node(i).ip()));
        }
        pods
    }

    fn spawn(&self, i: usize) -> Node {
        let mut args: Vec<String> = [
            "--cluster-enabled",
            "yes",
            "--cluster-statefulset",
            "berth",
            "--cluster-ordinal",
            &i.to_string(),
            "--cluster-shards",
            &SHARDS.to_string(),
            "--cluster-node-timeout",
            "2000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(self.extra[i].iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let dir = self.net.dir().join(format!("berth-{i}"));
        Node::start(self.net.add_host(&format!("berth-{i}")), &dir, &args)
    }

    fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("pod is running")
    }

    /// A raw connection to pod `i`, authenticated when the pods have a password.
    fn raw(&self, i: usize) -> Raw {
        let mut c = Raw::connect_to(self.node(i).addr());
        if let Some(p) = self.extra[i].iter().position(|a| a == "--requirepass") {
            assert_eq!(c.cmd(&["AUTH", &self.extra[i][p + 1]]), "+OK\r\n");
        }
        c
    }

    fn info(&self, i: usize) -> String {
        self.raw(i).cmd(&["CLUSTER", "INFO"])
    }

    /// Waits until pod `i` sees every slot served and says `cluster_state:ok`.
    fn wait_all_ok(&self, i: usize) {
        wait(Duration::from_secs(30), || {
            let info = self.info(i);
            (info.contains("cluster_state:ok\r\n") && info.contains("cluster_slots_ok:16384\r\n"))
                .then_some(())
                .ok_or(info)
        });
    }

    fn kill(&mut self, i: usize) {
        drop(self.nodes[i].take());
    }

    /// Pod `i` rescheduled: a new namespace with a new IP, the same data dir, DNS re-pointed.
    fn reschedule(&mut self, i: usize) {
        let old = self.nodes[i].as_ref().map(|n| n.ip());
        self.kill(i);
        let node = self.spawn(i);
        assert_ne!(Some(node.ip()), old);
        self.net.set_dns(&pod_dns(i), Some(node.ip()));
        self.nodes[i] = Some(node);
    }
}

/// Polls `f` until it succeeds; panics with its last complaint after `limit`.
fn wait<T>(limit: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if start.elapsed() > limit => panic!("not within {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// redis-py's RedisCluster, started from pod 0's DNS name in the client namespace.
fn redis_py(net: &Net, body: &str) -> String {
    let script = format!(
        "import redis\nfrom redis.cluster import RedisCluster\n\
         rc = RedisCluster(host={:?}, port=6379, socket_timeout=5)\n{body}",
        pod_dns(0)
    );
    let out = run_for(
        net.client_cmd("python3").args(["-c", &script]),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "redis-py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const PY_WRITE: &str = "for i in range(10000):\n    rc.set(f'py:{i}', i)\nprint('written')";
const PY_READ: &str = "bad = [i for i in range(10000) if rc.get(f'py:{i}') != str(i).encode()]\n\
                       print('missing', len(bad))";

/// Child mode: the `redis` crate's cluster client, seeded with one DNS name, writes and reads
/// `n` keys.
pub fn child_cluster_rw(seed: &str, prefix: &str, n: &str) {
    use redis::Commands;
    let n: usize = n.parse().expect("count");
    let client = redis::cluster::ClusterClient::new(vec![format!("redis://{seed}:6379/")])
        .expect("cluster client");
    let mut con = client.get_connection().expect("cluster connection");
    for i in 0..n {
        let _: () = con.set(format!("{prefix}:{i}"), i).expect("SET");
    }
    let mut missing = 0;
    for i in 0..n {
        let v: Option<usize> = con.get(format!("{prefix}:{i}")).expect("GET");
        if v != Some(i) {
            missing += 1;
        }
    }
    println!("rust wrote {n} missing {missing}");
}

pub fn full_cluster() {
    let mut pods = Pods::start("full", |_| Vec::new());
    for i in 0..SHARDS {
        pods.wait_all_ok(i);
    }
    let net = &pods.net;

    // Topology: stable ids, one line per pod, its IP, its DNS name, its slot range.
    let ids: Vec<String> = (0..SHARDS)
        .map(|i| cli(net, &pod_dns(i), &["CLUSTER", "MYID"]))
        .collect();
    let nodes = cli(net, &pod_dns(0), &["CLUSTER", "NODES"]);
    for (i, id) in ids.iter().enumerate() {
        let line = nodes
            .lines()
            .find(|l| l.starts_with(id.as_str()))
            .unwrap_or_else(|| panic!("pod {i} missing from {nodes}"));
        let flags = if i == 0 { "myself,master" } else { "master" };
        let (a, b) = RANGES[i];
        let want_start = format!(
            "{id} {}:6379@6379,{} {flags} - ",
            pods.node(i).ip(),
            pod_dns(i)
        );
        assert!(line.starts_with(&want_start), "{line}\nwant {want_start}");
        assert!(
            line.ends_with(&format!(" {} connected {a}-{b}", i + 1)),
            "{line}"
        );
    }
    // Links: our health links to both peers, and theirs to us.
    let links = pods.raw(0).cmd(&["CLUSTER", "LINKS"]);
    assert_eq!(links.matches("$2\r\nto\r\n").count(), 2, "{links}");
    assert_eq!(links.matches("$4\r\nfrom\r\n").count(), 2, "{links}");
    let shards = cli(net, &pod_dns(1), &["CLUSTER", "SHARDS"]);
    assert!(
        shards.contains(&pod_dns(2)),
        "hostnames in CLUSTER SHARDS: {shards}"
    );

    // redis-cli -c follows MOVED between pods; foo lives on pod 2.
    assert_eq!(owner("foo"), 2);
    assert_eq!(cli(net, &pod_dns(0), &["-c", "SET", "foo", "bar"]), "OK");
    assert_eq!(cli(net, &pod_dns(1), &["-c", "GET", "foo"]), "bar");
    assert_eq!(
        cli(net, &pod_dns(0), &["GET", "foo"]),
        format!("MOVED 12182 {}:6379", pods.node(2).ip())
    );

    let check = run_ok(net.client_cmd("redis-cli").args([
        "--cluster",
        "check",
        &format!("{}:6379", pod_dns(1)),
    ]));
    assert!(
        check.contains("[OK] All nodes agree about slots configuration."),
        "{check}"
    );
    assert!(check.contains("[OK] All 16384 slots covered."), "{check}");
    assert!(
        !check.contains("[ERR]") && !check.contains("[WARNING]"),
        "{check}"
    );

    // The image's own client (helm test) finds the pods by name and follows MOVED.
    let checked = run_ok(net.client_cmd(super::common::BIN).args([
        "check",
        "--host",
        &pod_dns(0),
        "--cluster",
    ]));
    assert!(
        checked.trim_end().ends_with(", cluster_state:ok)"),
        "{checked}"
    );

    // PUBLISH reaches subscribers on every node; shard channels stay with the slot's owner.
    let (mut sub1, mut sub2) = (pods.raw(1), pods.raw(2));
    for sub in [&mut sub1, &mut sub2] {
        assert_eq!(
            sub.cmd(&["SUBSCRIBE", "news"]),
            "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
        );
    }
    assert_eq!(pods.raw(0).cmd(&["PUBLISH", "news", "hi"]), ":0\r\n");
    for sub in [&mut sub1, &mut sub2] {
        assert_eq!(
            sub.read_reply()
                .map(|r| String::from_utf8_lossy(&r).into_owned()),
            Some("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n".to_string())
        );
    }
    let moved = format!("-MOVED 12182 {}:6379\r\n", pods.node(2).ip());
    assert_eq!(pods.raw(0).cmd(&["SSUBSCRIBE", "foo"]), moved);
    assert_eq!(pods.raw(0).cmd(&["SPUBLISH", "foo", "x"]), moved);
    assert_eq!(
        sub2.cmd(&["SSUBSCRIBE", "foo"]),
        "*3\r\n$10\r\nssubscribe\r\n$3\r\nfoo\r\n:1\r\n"
    );
    assert_eq!(pods.raw(2).cmd(&["SPUBLISH", "foo", "x"]), ":1\r\n");
    assert_eq!(
        sub2.read_reply()
            .map(|r| String::from_utf8_lossy(&r).into_owned()),
        Some("*3\r\n$8\r\nsmessage\r\n$3\r\nfoo\r\n$1\r\nx\r\n".to_string())
    );
    drop((sub1, sub2));

    // Cluster clients from one seed name: redis-py and the redis crate, 10,000 keys each.
    assert_eq!(redis_py(net, PY_WRITE), "written");
    assert_eq!(redis_py(net, PY_READ), "missing 0");
    let exe = std::env::current_exe().expect("current exe");
    let rust = run_for(
        net.client_cmd(exe)
            .args(["child", "cluster-rw", &pod_dns(0), "rs", "10000"]),
        Duration::from_secs(120),
    );
    assert_eq!(
        String::from_utf8_lossy(&rust.stdout).trim(),
        "rust wrote 10000 missing 0",
        "{}",
        String::from_utf8_lossy(&rust.stderr)
    );
    let per_pod: Vec<i64> = (0..SHARDS)
        .map(|i| {
            let r = pods.raw(i).cmd(&["DBSIZE"]);
            r.trim_start_matches(':').trim().parse().unwrap_or(-1)
        })
        .collect();
    assert_eq!(
        per_pod.iter().sum::<i64>(),
        20001,
        "keys per pod {per_pod:?}"
    );
    assert!(
        per_pod.iter().all(|&n| n > 6000),
        "keys spread over the pods: {per_pod:?}"
    );

    // Everysec: give the last writes their second before the crash.
    std::thread::sleep(Duration::from_millis(1500));
    pods.kill(1);
    wait(Duration::from_secs(20), || {
        let info = pods.info(0);
        info.contains("cluster_slots_fail:5462\r\n")
            .then_some(())
            .ok_or(info)
    });
    let (mut c0, mut c2) = (pods.raw(0), pods.raw(2));
    for i in 0..10000 {
        let key = format!("py:{i}");
        let want = format!("${}\r\n{i}\r\n", i.to_string().len());
        match owner(&key) {
            0 => assert_eq!(c0.cmd(&["GET", &key]), want),
            2 => assert_eq!(c2.cmd(&["GET", &key]), want),
            _ => assert_eq!(
                c0.cmd(&["GET", &key]),
                "-CLUSTERDOWN Hash slot not served\r\n"
            ),
        }
    }
    let nodes = pods.raw(2).cmd(&["CLUSTER", "NODES"]);
    assert!(
        nodes
            .lines()
            .any(|l| l.starts_with(&ids[1]) && l.contains(" master,fail - ")),
        "{nodes}"
    );

    // Rescheduled with its volume on a new IP: found again through DNS, every key back.
    pods.reschedule(1);
    for i in 0..SHARDS {
        pods.wait_all_ok(i);
    }
    assert_eq!(redis_py(&pods.net, PY_READ), "missing 0");
    let nodes = cli(&pods.net, &pod_dns(0), &["CLUSTER", "NODES"]);
    assert!(
        nodes.contains(&format!("{} {}:6379@6379,", ids[1], pods.node(1).ip())),
        "new IP in {nodes}"
    );

    // Hostname endpoints: MOVED names the owner's DNS name, which clients resolve.
    for i in 0..SHARDS {
        assert_eq!(
            pods.raw(i).cmd(&[
                "CONFIG",
                "SET",
                "cluster-preferred-endpoint-type",
                "hostname"
            ]),
            "+OK\r\n"
        );
    }
    assert_eq!(
        cli(&pods.net, &pod_dns(0), &["GET", "foo"]),
        format!("MOVED 12182 {}:6379", pod_dns(2))
    );
    assert_eq!(cli(&pods.net, &pod_dns(0), &["-c", "GET", "foo"]), "bar");
    assert_eq!(redis_py(&pods.net, "print(rc.get('foo'))"), "b'bar'");

    // An announced hostname reaches the peers with their next probe.
    assert_eq!(
        pods.raw(2).cmd(&[
            "CONFIG",
            "SET",
            "cluster-announce-hostname",
            "pod-two.example"
        ]),
        "+OK\r\n"
    );
    wait(Duration::from_secs(10), || {
        let moved = pods.raw(0).cmd(&["GET", "foo"]);
        (moved == "-MOVED 12182 pod-two.example:6379\r\n")
            .then_some(())
            .ok_or(moved)
    });
}

/// A hash tag whose keys all live on pod `i`.
fn tag_on(i: usize) -> String {
    (0..)
        .map(|n| format!("t{n}"))
        .find(|t| owner(t) == i)
        .unwrap_or_default()
}

pub fn crash_always() {
    let pass = "s3cret";
    let mut pods = Pods::start("crash", |i| {
        let mut a = vec!["--requirepass".to_string(), pass.to_string()];
        if i == 1 {
            a.extend(["--appendfsync".to_string(), "always".to_string()]);
        }
        a
    });
    // Health checks authenticate: all peers are seen up.
    for i in 0..SHARDS {
        pods.wait_all_ok(i);
    }
    let tag = tag_on(1);
    let mut expected_total = 0;
    for round in 0..3 {
        let addr = pods.node(1).addr();
        let acked = Arc::new(AtomicI64::new(-1));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (acked, stop, tag) = (acked.clone(), stop.clone(), tag.clone());
            std::thread::spawn(move || {
                let mut c = Raw::connect_to(addr);
                c.cmd(&["AUTH", pass]);
                let mut i = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("{{{tag}}}:{round}:{i}");
                    if c.try_cmd(&["SET", &key, &i.to_string()]).as_deref() != Some("+OK\r\n") {
                        break;
                    }
                    acked.store(i, Ordering::SeqCst);
                    i += 1;
                }
            })
        };
        std::thread::sleep(Duration::from_millis(700));
        pods.reschedule(1);
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("writer thread");
        let last = acked.load(Ordering::SeqCst);
        assert!(last > 10, "round {round}: only {last} writes acknowledged");
        let mut c = pods.raw(1);
        for i in 0..=last {
            let key = format!("{{{tag}}}:{round}:{i}");
            assert_eq!(
                c.cmd(&["GET", &key]),
                format!("${}\r\n{i}\r\n", i.to_string().len()),
                "round {round}: acknowledged write {key} lost ({last} acknowledged)"
            );
        }
        expected_total += last + 1;
        let n = c.cmd(&["DBSIZE"]);
        let n: i64 = n.trim_start_matches(':').trim().parse().unwrap_or(-1);
        // The write in flight at the kill may or may not have landed.
        assert!(
            n >= expected_total && n <= expected_total + round + 1,
            "round {round}: {n} keys, {expected_total} acknowledged"
        );
    }
    for i in 0..SHARDS {
        pods.wait_all_ok(i);
    }
}

pub fn shard_count_mismatch() {
    let pods = Pods::start("mismatch", |i| {
        if i == 2 {
            vec!["--cluster-shards".to_string(), "4".to_string()]
        } else {
            Vec::new()
        }
    });
    let info = wait(Duration::from_secs(30), || {
        let info = pods.info(0);
        info.contains("cluster_slots_fail:5461\r\n")
            .then_some(info.clone())
            .ok_or(info)
    });
    assert!(
        info.contains("announces cluster-shards 4, this node has 3"),
        "{info}"
    );
    let mut c0 = pods.raw(0);
    assert_eq!(
        c0.cmd(&["GET", "foo"]),
        "-CLUSTERDOWN Hash slot not served\r\n"
    );
    assert_eq!(c0.cmd(&["SET", "b", "1"]), "+OK\r\n");
    // Pod 2 sees the others announcing 3 and serves only its own range of four shards.
    let info2 = wait(Duration::from_secs(30), || {
        let info = pods.info(2);
        info.contains("announces cluster-shards 3, this node has 4")
            .then_some(info.clone())
            .ok_or(info)
    });
    assert!(info2.contains("cluster_size:4\r\n"), "{info2}");
}
