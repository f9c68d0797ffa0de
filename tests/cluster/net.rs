//! Network fixture for clustered-mode tests: "pods" on one machine, each in its own Linux network
//! namespace with its own IP on one L2 segment, plus dnsmasq serving their DNS names.
//!
//! Layout of a `Net` with subnet 10.201.K.0/24 (K unique among live `Net`s on the machine):
//! - `berth-<pid>-K-sw`: a "switch" namespace holding the bridge `br0` (10.201.K.1) and dnsmasq
//!   listening on it. The bridge lives in its own namespace so the host's firewall and its
//!   `net.bridge.bridge-nf-call-iptables` (1 when br_netfilter is in the kernel, as here; Docker
//!   hosts also DROP forwarded packets) never see pod traffic, and no host sysctl has to change.
//! - this process's namespace: veth `bb<pid>n<K>` with 10.201.K.2, so tests reach pods by IP.
//! - `berth-<pid>-K-client`: 10.201.K.3, where tests run clients that resolve names.
//! - `berth-<pid>-K-<name>` from `add_host`: 10.201.K.10 and up, never reused within a `Net`.
//!
//! Processes enter a namespace the way `ip netns exec` does: `setns` plus a private bind mount of
//! `/etc/netns/<ns>/resolv.conf` over `/etc/resolv.conf` (a pod's resolv.conf: dnsmasq, kube
//! search domains, ndots:5), so getaddrinfo (redis-cli, redis-py) and hickory-resolver both ask
//! dnsmasq. Everything is removed on drop (also when a test panics); namespaces left by a killed
//! run are removed by the next one (their names carry the dead pid).

#![allow(dead_code)] // a fixture: not every scenario uses every part

use std::ffi::{CString, OsStr};
use std::fs::{self, File};
use std::io::{self, Read};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// Time allowed for one `ip`/`getent` call, and for dnsmasq to start answering a change.
const STEP: Duration = Duration::from_secs(10);

/// True when this process may create network namespaces. Otherwise prints the one skip line:
/// the caller then returns success. Being root but unable to run `ip` is a hard failure.
pub fn require_root() -> bool {
    require_root_for("cluster tests")
}

/// `require_root` with the skip line naming `what` (e.g. "e2e tests").
pub fn require_root_for(what: &str) -> bool {
    // CAP_NET_ADMIN (12) and CAP_SYS_ADMIN (21): root in an unprivileged container has neither.
    let caps = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("CapEff:"))?.to_owned();
            u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
        })
        .unwrap_or(0);
    let need = (1 << 12) | (1 << 21);
    if unsafe { libc::geteuid() } != 0 || caps & need != need {
        println!("{what} skipped: need root for network namespaces (run as root, as CI does)");
        return false;
    }
    run(Command::new("ip").args(["netns", "list"]));
    true
}

/// The `main` of a scenario suite (tests/cluster, tests/e2e; harness = false): runs the
/// scenarios whose name contains a plain-word argument (all without one) one after another,
/// each printing `scenario NAME ... ok|FAILED (seconds)` and guarded by a watchdog of `limit`,
/// then `<suite>: N passed, M failed [...]`; exits 1 if any failed. `--list` lists them.
/// Without root it prints one `<suite> tests skipped` line and passes.
pub fn run_suite(suite: &str, scenarios: &[(&'static str, fn())], limit: Duration) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters = filters(&args);
    let chosen: Vec<_> = scenarios
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f)))
        .collect();
    if args.iter().any(|a| a == "--list") {
        chosen.iter().for_each(|(name, _)| println!("{name}: test"));
        return;
    }
    if !require_root_for(&format!("{suite} tests")) {
        return;
    }
    let mut failed = Vec::new();
    for (name, scenario) in &chosen {
        let _watchdog = watchdog(name, limit);
        let start = Instant::now();
        let ok = std::panic::catch_unwind(scenario).is_ok();
        println!(
            "scenario {name} ... {} ({:.1}s)",
            if ok { "ok" } else { "FAILED" },
            start.elapsed().as_secs_f64()
        );
        if !ok {
            failed.push(*name);
        }
    }
    println!(
        "{suite}: {} passed, {} failed {failed:?}",
        chosen.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
}

/// Plain words among the arguments; values of libtest options that take one are not filters.
fn filters(args: &[String]) -> Vec<&str> {
    const TAKES_VALUE: &[&str] = &[
        "--test-threads",
        "--format",
        "--color",
        "--logfile",
        "--skip",
        "--shuffle-seed",
        "-Z",
    ];
    let mut out = Vec::new();
    let mut skip_next = false;
    for a in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        skip_next = TAKES_VALUE.contains(&a.as_str());
        if !a.starts_with('-') {
            out.push(a.as_str());
        }
    }
    out
}

/// Exits the process (after removing this process's namespaces) if the scenario outlives
/// `limit`; dropping the returned sender disarms it. Mount points a harness created under /
/// are left empty then.
fn watchdog(name: &'static str, limit: Duration) -> std::sync::mpsc::Sender<()> {
    use std::sync::mpsc;
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("scenario {name} hung for {limit:?}; giving up");
            println!("scenario {name} ... FAILED");
            cleanup_this_process();
            std::process::exit(1);
        }
    });
    tx
}

/// One isolated network with dnsmasq and a client namespace. See the module doc.
pub struct Net {
    pub tag: String,
    /// The bridge's address, where dnsmasq answers.
    pub dns_ip: Ipv4Addr,
    /// This (the test) process's address on the segment.
    pub host_ip: Ipv4Addr,
    k: u8,
    prefix: String,
    sw: String,
    uplink: String,
    dir: PathBuf,
    dnsmasq: Mutex<Option<Child>>,
    client: Option<Host>,
    next: AtomicU8,
}

impl Net {
    /// Builds the network and starts dnsmasq; panics (after cleaning up) if anything fails.
    pub fn new(tag: &str) -> Net {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| {
            let dead = |pid: u32| !Path::new(&format!("/proc/{pid}")).exists();
            sweep(dead);
            // Scratch dirs of killed runs: berth-test-net-<tag>-<pid>-<n>.
            for entry in fs::read_dir(std::env::temp_dir())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = entry.file_name().to_string_lossy().into_owned();
                let pid = name.rsplit('-').nth(1).and_then(|p| p.parse().ok());
                if name.starts_with("berth-test-net-") && pid.is_some_and(dead) {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        });

        let pid = std::process::id();
        let lock = lock_file();
        let k = free_subnet();
        let mut net = Net {
            tag: tag.to_owned(),
            dns_ip: Ipv4Addr::new(10, 201, k, 1),
            host_ip: Ipv4Addr::new(10, 201, k, 2),
            k,
            prefix: format!("berth-{pid}-{k}-"),
            sw: format!("berth-{pid}-{k}-sw"),
            uplink: format!("bb{pid}n{k}"),
            dir: crate::common::temp_dir(&format!("net-{tag}")),
            dnsmasq: Mutex::new(None),
            client: None,
            next: AtomicU8::new(10),
        };
        let (sw, uplink) = (net.sw.as_str(), net.uplink.as_str());
        ip(&format!("netns add {sw}"));
        // A fixed MAC: otherwise the bridge takes its lowest port's MAC, so adding a pod can
        // change it and namespaces' ARP caches then send to a dead MAC for ~30 s.
        ip(&format!(
            "-n {sw} link add br0 address 02:bb:0a:c9:{k:02x}:01 type bridge"
        ));
        ip(&format!("-n {sw} addr add {}/24 dev br0", net.dns_ip));
        ip(&format!("-n {sw} link set br0 up"));
        ip(&format!(
            "link add {uplink} type veth peer name uplink netns {sw}"
        ));
        ip(&format!("-n {sw} link set uplink master br0 up"));
        ip(&format!("addr add {}/24 dev {uplink}", net.host_ip));
        ip(&format!("link set {uplink} up"));
        drop(lock); // the subnet is now visible to other processes' `free_subnet`

        let hosts = net.dir.join("hosts");
        fs::create_dir_all(&hosts).expect("hostsdir");
        let log = File::create(net.dir.join("dnsmasq.log")).expect("dnsmasq log");
        let mut cmd = Command::new("dnsmasq");
        cmd.args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
        ])
        .arg(format!("--hostsdir={}", hosts.display()))
        .arg(format!("--listen-address={}", net.dns_ip))
        .args([
            "--bind-interfaces",
            "--port=53",
            "--pid-file=",
            "--user=root",
        ])
        // TTL 0: a moved pod's new IP is seen at once. `--local`: unknown cluster names get
        // NXDOMAIN as from kube-dns, not REFUSED (there is no upstream server).
        .args(["--local-ttl=0", "--local=/cluster.local/"])
        .args(["--log-facility=-", "--log-queries"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
        enter(&mut cmd, &net.sw);
        let dnsmasq = cmd
            .spawn()
            .expect("start dnsmasq (apt-get install dnsmasq)");
        *net.dnsmasq.get_mut().unwrap() = Some(dnsmasq);

        net.client = Some(net.make_host("client", 3));
        // Like kube-dns's own name; waiting for it proves dnsmasq answers the client namespace.
        net.set_dns("kube-dns.kube-system.svc.cluster.local", Some(net.dns_ip));
        net
    }

    /// A new pod namespace with the next unused IP. Same `name` again (after the old `Host` is
    /// dropped) is a pod that moved: same name, new IP.
    pub fn add_host(&self, name: &str) -> Host {
        let octet = self.next.fetch_add(1, Ordering::SeqCst);
        assert!(
            (10..255).contains(&octet),
            "net {}: out of addresses",
            self.tag
        );
        self.make_host(name, octet)
    }

    fn make_host(&self, name: &str, octet: u8) -> Host {
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "host name {name:?}: use letters, digits and '-'"
        );
        let host = Host {
            name: name.to_owned(),
            ns: format!("{}{name}", self.prefix),
            ip: Ipv4Addr::new(10, 201, self.k, octet),
            sw: self.sw.clone(),
            veth: format!("v{octet}"),
        };
        let (ns, sw, veth) = (host.ns.as_str(), self.sw.as_str(), host.veth.as_str());
        ip(&format!("netns add {ns}"));
        ip(&format!(
            "-n {sw} link add {veth} type veth peer name eth0 netns {ns}"
        ));
        ip(&format!("-n {sw} link set {veth} master br0 up"));
        ip(&format!("-n {ns} addr add {}/24 dev eth0", host.ip));
        ip(&format!("-n {ns} link set eth0 up"));
        ip(&format!("-n {ns} link set lo up"));
        ip(&format!("-n {ns} route add default via {}", self.dns_ip));
        let etc = Path::new("/etc/netns").join(ns);
        fs::create_dir_all(&etc).expect("/etc/netns");
        let resolv = format!(
            "nameserver {}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\n\
             options ndots:5 timeout:1 attempts:2\n",
            self.dns_ip
        );
        fs::write(etc.join("resolv.conf"), resolv).expect("resolv.conf");
        host
    }

    /// Publishes `fqdn` -> `ip` (None removes it) and waits until the client namespace's
    /// resolver returns exactly that. dnsmasq re-reads hostsdir files on change (inotify).
    pub fn set_dns(&self, fqdn: &str, ip: Option<Ipv4Addr>) {
        assert!(
            !fqdn.is_empty()
                && fqdn
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c)),
            "bad DNS name {fqdn:?}"
        );
        let file = self.dir.join("hosts").join(fqdn);
        match ip {
            Some(ip) => fs::write(&file, format!("{ip} {fqdn}\n")).expect("write hosts file"),
            None => fs::remove_file(&file).expect("remove hosts file"),
        }
        let deadline = Instant::now() + STEP;
        loop {
            let got = self.resolve(fqdn);
            if got == ip {
                return;
            }
            let exited = self.dnsmasq.lock().unwrap().as_mut().map(|c| c.try_wait());
            if let Some(Ok(Some(st))) = exited {
                panic!(
                    "net {}: dnsmasq exited ({st})\n{}",
                    self.tag,
                    self.dnsmasq_log()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "net {}: {fqdn} resolves to {got:?}, want {ip:?}\n{}",
                    self.tag,
                    self.dnsmasq_log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Publishes `fqdn` -> every address of `ips` (one hosts line each, as a headless Service
    /// has one A record per pod; empty removes the name) and waits until the client
    /// namespace's resolver returns exactly that set.
    pub fn set_dns_all(&self, fqdn: &str, ips: &[Ipv4Addr]) {
        let file = self.dir.join("hosts").join(fqdn);
        let mut want: Vec<Ipv4Addr> = ips.to_vec();
        want.sort();
        want.dedup();
        if want.is_empty() {
            let _ = fs::remove_file(&file);
        } else {
            let lines: String = want.iter().map(|ip| format!("{ip} {fqdn}\n")).collect();
            fs::write(&file, lines).expect("write hosts file");
        }
        let deadline = Instant::now() + STEP;
        loop {
            let got = self.resolve_all(fqdn);
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "net {}: {fqdn} resolves to {got:?}, want {want:?}\n{}",
                self.tag,
                self.dnsmasq_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every IPv4 address `name` resolves to in the client namespace, sorted.
    pub fn resolve_all(&self, name: &str) -> Vec<Ipv4Addr> {
        let out = run(self.client_cmd("getent").args(["ahostsv4", name]));
        let text = String::from_utf8_lossy(&out.stdout);
        let mut ips: Vec<Ipv4Addr> = text
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        ips.sort();
        ips.dedup();
        ips
    }

    /// What `name` resolves to (IPv4, getaddrinfo) in the client namespace.
    pub fn resolve(&self, name: &str) -> Option<Ipv4Addr> {
        let out = run(self.client_cmd("getent").args(["ahostsv4", name]));
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace().next().and_then(|a| a.parse().ok())
    }

    /// The namespace tests run clients in (10.201.K.3).
    pub fn client(&self) -> &Host {
        self.client.as_ref().expect("client namespace")
    }

    /// A command that runs `program` in the client namespace, e.g. redis-cli, python3, or
    /// `std::env::current_exe()` to run Rust code there.
    pub fn client_cmd(&self, program: impl AsRef<OsStr>) -> Command {
        self.client().cmd(program)
    }

    /// A scratch directory for data dirs and logs, removed with the `Net` (kept after a panic).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn dnsmasq_log(&self) -> String {
        let log = fs::read_to_string(self.dir.join("dnsmasq.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("dnsmasq log (last lines):\n{}", tail.join("\n"))
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let dnsmasq = self.dnsmasq.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(mut c) = dnsmasq.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.client = None;
        let prefix = self.prefix.clone();
        sweep_where(|name| name.starts_with(&prefix) || name == self.uplink);
        // Cleaned up also after a failure: what the failure needs is printed first.
        if std::thread::panicking() {
            eprintln!("net {}: {}", self.tag, self.dnsmasq_log());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A pod: a namespace with one IP. Dropping it kills what runs inside and deletes it.
pub struct Host {
    pub name: String,
    /// The namespace's name, as `ip netns` shows it.
    pub ns: String,
    pub ip: Ipv4Addr,
    sw: String,
    veth: String,
}

impl Host {
    /// A command that runs `program` in this namespace.
    pub fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        enter(&mut cmd, &self.ns);
        cmd
    }

    /// Spawns `cmd` (stdio, env and args as set by the caller) in this namespace.
    pub fn spawn(&self, cmd: &mut Command) -> Child {
        enter(cmd, &self.ns);
        cmd.spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?} in {}: {e}", self.ns))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        kill_all_in(&self.ns);
        // Deleting our end removes the pair at once; a namespace's devices go asynchronously.
        let _ = exec(Command::new("ip").args(["-n", &self.sw, "link", "del", &self.veth]));
        let _ = exec(Command::new("ip").args(["netns", "del", &self.ns]));
        let _ = fs::remove_dir_all(Path::new("/etc/netns").join(&self.ns));
    }
}

/// Makes `cmd` run in namespace `ns`, as `ip netns exec` would (without forking `ip`, so the
/// caller's `Child` is the program itself and its stdio settings hold).
fn enter(cmd: &mut Command, ns: &str) {
    let netns = File::open(format!("/run/netns/{ns}"))
        .unwrap_or_else(|e| panic!("open /run/netns/{ns}: {e}"));
    let resolv = Path::new("/etc/netns").join(ns).join("resolv.conf");
    let resolv = resolv
        .exists()
        .then(|| CString::new(resolv.into_os_string().into_vec()).expect("path"));
    let ok = |r: libc::c_int| {
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    // Between fork and exec only raw syscalls run; everything they need is prepared above.
    unsafe {
        cmd.pre_exec(move || {
            ok(libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET))?;
            if let Some(resolv) = &resolv {
                let null = std::ptr::null();
                ok(libc::unshare(libc::CLONE_NEWNS))?;
                // Private to this process: the bind mount must not reach the host's /etc.
                let flags = libc::MS_SLAVE | libc::MS_REC;
                ok(libc::mount(
                    null,
                    c"/".as_ptr(),
                    null,
                    flags,
                    std::ptr::null(),
                ))?;
                let target = c"/etc/resolv.conf".as_ptr();
                ok(libc::mount(
                    resolv.as_ptr(),
                    target,
                    null,
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
            }
            Ok(())
        });
    }
}

/// Removes what this process created (for a watchdog that exits without unwinding).
pub fn cleanup_this_process() {
    let me = std::process::id();
    sweep(|pid| pid == me);
}

/// Removes namespaces, uplinks and /etc/netns dirs whose owner pid matches `owner`.
fn sweep(owner: impl Fn(u32) -> bool) {
    sweep_where(|name| owner_pid(name).is_some_and(&owner));
}

/// `berth-<pid>-<k>-...` (namespaces, /etc/netns dirs) or `bb<pid>n<k>` (uplinks) -> pid.
fn owner_pid(name: &str) -> Option<u32> {
    let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).count();
    if let Some(rest) = name.strip_prefix("berth-") {
        let n = digits(rest);
        let after = rest[n..].strip_prefix('-')?;
        let m = digits(after);
        (n > 0 && m > 0 && after[m..].starts_with('-')).then(|| rest[..n].parse().ok())?
    } else {
        let rest = name.strip_prefix("bb")?;
        let n = digits(rest);
        let k = rest[n..].strip_prefix('n')?;
        (n > 0 && !k.is_empty() && k.chars().all(|c| c.is_ascii_digit()))
            .then(|| rest[..n].parse().ok())?
    }
}

fn sweep_where(pick: impl Fn(&str) -> bool) {
    let text = |out: io::Result<Output>| {
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    for line in text(exec(Command::new("ip").args(["-o", "link", "show"]))).lines() {
        // "12: bb123n0@if3: <...>"
        let name = line.split(": ").nth(1).unwrap_or("");
        let name = name.split('@').next().unwrap_or("");
        if name.starts_with("bb") && pick(name) {
            let _ = exec(Command::new("ip").args(["link", "del", name]));
        }
    }
    for line in text(exec(Command::new("ip").args(["netns", "list"]))).lines() {
        let ns = line.split_whitespace().next().unwrap_or("");
        if ns.starts_with("berth-") && pick(ns) {
            kill_all_in(ns);
            let _ = exec(Command::new("ip").args(["netns", "del", ns]));
        }
    }
    for entry in fs::read_dir("/etc/netns").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("berth-") && pick(&name) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// SIGKILLs every process in namespace `ns` (a deleted pod takes its processes with it).
fn kill_all_in(ns: &str) {
    if let Ok(out) = exec(Command::new("ip").args(["netns", "pids", ns])) {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// Serialises subnet choice among processes: held from picking K until its address is set.
fn lock_file() -> File {
    let f = File::create("/run/berth-netns.lock").expect("create /run/berth-netns.lock");
    assert_eq!(
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) },
        0,
        "flock"
    );
    f
}

/// A K whose 10.201.K.0/24 no address or route here uses, never one this process used before.
fn free_subnet() -> u8 {
    static NEXT: AtomicU8 = AtomicU8::new(0);
    let out = run(Command::new("ip").args(["-4", "-o", "addr", "show"])).stdout;
    let routes = run(Command::new("ip").args(["-4", "route", "show", "table", "all"])).stdout;
    let used = String::from_utf8_lossy(&out).into_owned() + &String::from_utf8_lossy(&routes);
    loop {
        let k = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(k < 255, "no free 10.201.K.0/24 subnet left");
        if !used.contains(&format!(" 10.201.{k}.")) {
            return k;
        }
    }
}

/// `ip ARGS` (split at spaces), panicking with its stderr on failure.
fn ip(args: &str) {
    let out = run(Command::new("ip").args(args.split(' ')));
    assert!(
        out.status.success(),
        "ip {args}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// Runs `cmd` to completion with output captured; panics if it cannot start or takes over 10 s.
pub fn run(cmd: &mut Command) -> Output {
    run_for(cmd, STEP)
}

/// Like `run` with a chosen time limit (the process is killed when it is over).
pub fn run_for(cmd: &mut Command, limit: Duration) -> Output {
    exec_for(cmd, limit).unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// Runs `cmd` and returns its stdout; panics unless it exits 0 (stderr in the message).
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn exec(cmd: &mut Command) -> io::Result<Output> {
    exec_for(cmd, STEP)
}

fn exec_for(cmd: &mut Command, limit: Duration) -> io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Pipes are drained by threads so a chatty child cannot block on a full pipe.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|r| Box::new(r) as _));
    let err = drain(child.stderr.take().map(|r| Box::new(r) as _));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("timed out after {limit:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}
