//! Clustered-mode tests: berth servers as "pods", each in its own network namespace with its own
//! IP, found through real DNS (dnsmasq). See `net.rs` for the fixture.
//!
//! A plain `main` (harness = false): scenarios run one after another, each printing
//! `scenario NAME ... ok|FAILED`; the process exits 1 if any failed. A plain-word argument runs
//! only the scenarios whose name contains it; other arguments (`--nocapture`, ...) are ignored.
//! `<test binary> child ...` is child mode: code that a scenario runs in another namespace by
//! re-executing this binary (see `child`). Without root the tests print one line and pass.
//!
//! Run: `cargo test --release --test cluster [-- NAME]` as root.

#[path = "../common/mod.rs"]
mod common;
mod net;
mod scenarios;

use common::{Raw, BIN};
use net::{run, run_ok, Host, Net};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Last resort against a hung scenario; every step has its own, shorter timeout.
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

const SCENARIOS: &[(&str, fn())] = &[
    ("netns_dns_demo", netns_dns_demo),
    (
        "cluster_forms_from_dns_serves_clients_and_survives_a_rescheduled_pod",
        scenarios::full_cluster,
    ),
    (
        "crash_in_always_mode_loses_no_acknowledged_write",
        scenarios::crash_always,
    ),
    (
        "peer_with_another_shard_count_is_reported_and_not_served",
        scenarios::shard_count_mismatch,
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "child") {
        return child(&args[1..]);
    }
    net::run_suite("cluster", SCENARIOS, SCENARIO_LIMIT);
}

/// Child mode, run by scenarios inside a namespace via `net.client_cmd(current_exe())`.
/// `child resolve NAME`: prints each IP that NAME resolves to (std's getaddrinfo), one a line.
fn child(args: &[String]) {
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["resolve", name] => match (name, 0).to_socket_addrs() {
            Ok(addrs) => addrs.for_each(|a| println!("{}", a.ip())),
            Err(e) => {
                eprintln!("resolve {name}: {e}");
                std::process::exit(2);
            }
        },
        ["cluster-rw", seed, prefix, n] => scenarios::child_cluster_rw(seed, prefix, n),
        _ => {
            eprintln!("unknown child mode {args:?}");
            std::process::exit(2);
        }
    }
}

/// A berth-server "pod": runs in `host`'s namespace on its IP, port 6379. Killed on drop
/// (SIGKILL), then the namespace goes with `host`.
struct Node {
    host: Host,
    child: Child,
    dir: PathBuf,
}

impl Node {
    const PORT: u16 = 6379;

    fn start(host: Host, dir: &Path, extra: &[&str]) -> Node {
        std::fs::create_dir_all(dir).expect("data dir");
        let child = host.spawn(
            Command::new(BIN)
                .args([
                    "--port",
                    &Node::PORT.to_string(),
                    "--bind",
                    &host.ip.to_string(),
                ])
                .arg("--dir")
                .arg(dir)
                .args(["--loglevel", "warning"])
                // Peers and the test's clients connect from other namespaces: without a
                // password, protected mode (on by default, as in Redis) would refuse them.
                .args(["--protected-mode", "no"])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        );
        let mut node = Node {
            host,
            child,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&node.addr(), Duration::from_millis(200)).is_err() {
            if let Ok(Some(st)) = node.child.try_wait() {
                panic!("berth-server in {} exited at startup ({st})", node.host.ns);
            }
            assert!(
                Instant::now() < deadline,
                "berth-server in {} did not start",
                node.host.ns
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        node
    }

    fn ip(&self) -> Ipv4Addr {
        self.host.ip
    }

    fn addr(&self) -> SocketAddr {
        (self.host.ip, Node::PORT).into()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pod's DNS name behind the headless service, as a StatefulSet gets it.
fn pod_dns(i: usize) -> String {
    format!("berth-{i}.berth-headless.default.svc.cluster.local")
}

/// redis-cli in the client namespace against `host` (a DNS name) on port 6379; trimmed stdout.
fn cli(net: &Net, host: &str, args: &[&str]) -> String {
    let port = Node::PORT.to_string();
    let out = run_ok(
        net.client_cmd("redis-cli")
            .args(["-h", host, "-p", &port])
            .args(args),
    );
    out.trim().to_owned()
}

/// The IPs a Rust program in the client namespace resolves `name` to (re-exec in child mode).
fn resolve_in_client(net: &Net, name: &str) -> Vec<String> {
    let exe = std::env::current_exe().expect("current exe");
    let out = run_ok(net.client_cmd(exe).args(["child", "resolve", name]));
    out.lines().map(str::to_owned).collect()
}

/// Two standalone servers as pods on one port, reached by DNS name from the client namespace
/// (redis-cli, redis-py, Rust) and by IP from here; then pod 1 dies, comes back in a new
/// namespace with a new IP on its old data dir, and its re-pointed name reaches its old data.
fn netns_dns_demo() {
    let net = Net::new("demo");
    let n0 = Node::start(net.add_host("berth-0"), &net.dir().join("berth-0"), &[]);
    let always = ["--appendfsync", "always"];
    let n1 = Node::start(net.add_host("berth-1"), &net.dir().join("berth-1"), &always);
    net.set_dns(&pod_dns(0), Some(n0.ip()));
    net.set_dns(&pod_dns(1), Some(n1.ip()));

    assert_eq!(cli(&net, &pod_dns(0), &["SET", "k", "v"]), "OK");
    assert_eq!(cli(&net, &pod_dns(0), &["GET", "k"]), "v");
    // The search domains of a pod's resolv.conf work too.
    assert_eq!(cli(&net, "berth-0.berth-headless", &["GET", "k"]), "v");
    assert_eq!(Raw::connect_to(n0.addr()).cmd(&["GET", "k"]), "$1\r\nv\r\n");

    assert_eq!(cli(&net, &pod_dns(1), &["SET", "durable", "yes"]), "OK");
    assert_eq!(
        cli(&net, &pod_dns(1), &["GET", "k"]),
        "",
        "pods are separate servers"
    );
    let py = format!(
        "import redis; print(redis.Redis(host={:?}, port=6379, socket_timeout=5).get('durable'))",
        pod_dns(1)
    );
    assert_eq!(
        run_ok(net.client_cmd("python3").args(["-c", &py])).trim(),
        "b'yes'"
    );
    assert_eq!(resolve_in_client(&net, &pod_dns(1)), [n1.ip().to_string()]);

    // Pod 1 is SIGKILLed and rescheduled: new namespace, new IP, same volume.
    let (old_ip, old_addr, dir) = (n1.ip(), n1.addr(), n1.dir.clone());
    drop(n1);
    let n1 = Node::start(net.add_host("berth-1"), &dir, &always);
    assert_ne!(n1.ip(), old_ip);
    net.set_dns(&pod_dns(1), Some(n1.ip()));
    assert_eq!(resolve_in_client(&net, &pod_dns(1)), [n1.ip().to_string()]);
    assert_eq!(cli(&net, &pod_dns(1), &["GET", "durable"]), "yes");
    assert_eq!(Raw::connect_to(n1.addr()).cmd(&["PING"]), "+PONG\r\n");
    assert!(
        TcpStream::connect_timeout(&old_addr, Duration::from_millis(300)).is_err(),
        "old IP {old_ip} still answers"
    );

    // A removed name is gone for clients (NXDOMAIN), and pod 0 was never disturbed.
    net.set_dns(&pod_dns(1), None);
    let gone = run(net
        .client_cmd("redis-cli")
        .args(["-h", &pod_dns(1), "PING"]));
    assert!(!gone.status.success(), "redis-cli reached a removed name");
    assert_eq!(cli(&net, &pod_dns(0), &["GET", "k"]), "v");
}
