//! Test support: starts the real `berth-server` binary on a free port with its own data
//! directory, and talks to it over TCP with real clients (raw RESP, the `redis` crate, redis-cli).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_berth-server");

/// A port nobody listens on right now, never handed out twice in this test process.
///
/// Ports come from below the kernel's ephemeral range (`ip_local_port_range`), counting up from
/// an offset derived from the pid. Inside that range a port found free by `bind(0)` can, before
/// the server binds it, be taken as the source port of any outgoing connection, or be handed
/// by `bind(0)` to a parallel test for a moment, which makes a startup probe see a listener that
/// is not the server. Below the range only explicit binds take ports.
pub fn free_port() -> u16 {
    use std::sync::atomic::AtomicU32;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (lo, _) = ephemeral_range();
    let (first, span) = if lo >= 12_000 {
        (lo - 10_000, 10_000)
    } else {
        (1024, lo.saturating_sub(1024).max(1))
    };
    let start = std::process::id() * 211;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = first + (start.wrapping_add(n)) % span;
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range starting at {lo}");
}

/// The kernel's ephemeral port range (Linux default 32768-60999).
fn ephemeral_range() -> (u32, u32) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .filter_map(|t| t.parse::<u32>().ok());
    match (it.next(), it.next()) {
        (Some(lo), Some(hi)) => (lo, hi),
        _ => (32768, 60999),
    }
}

/// A fresh, empty directory under the system temp dir, removed by the caller (or `Server`).
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "berth-test-{}-{}-{}",
        tag,
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub struct Server {
    pub child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    pub args: Vec<String>,
    keep_dir: bool,
}

impl Server {
    /// Starts a server with its own data dir and extra `--directive value` flags.
    pub fn start(extra: &[&str]) -> Server {
        let dir = temp_dir("srv");
        let mut s = Server::start_in(&dir, extra);
        s.keep_dir = false;
        s
    }

    /// Starts a server on an existing data dir (kept on drop).
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut s = Server {
            child: None,
            port,
            dir: dir.to_path_buf(),
            args,
            keep_dir: true,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(BIN);
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--loglevel")
            .arg("warning")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn berth-server");
        wait_for_server(self.port, &mut child);
        self.child = Some(child);
    }

    /// Restarts on the same dir and port after a stop or kill.
    pub fn restart(&mut self) {
        self.spawn();
    }

    /// SIGKILL, no cleanup by the server.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for exit; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        unsafe_kill(c.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A raw RESP connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// A `redis` crate connection.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("redis client connection")
    }

    /// Runs redis-cli against this server and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Waits until the process `child` itself listens on `port`, as the kernel's socket table
/// says: a successful TCP connect is no proof, since it can reach a socket that is not the
/// server's (and sending a command would show in the server's stats). Panics, with the exit
/// status, if the process exits first.
pub fn wait_for_server(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("server for port {port} exited at startup ({status})");
        }
        if listens_on(child.id(), port) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("server on port {port} did not start");
}

/// True when process `pid` owns a listening TCP socket on `port` (any address).
fn listens_on(pid: u32, port: u16) -> bool {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            // sl local_address rem_address st ... uid timeout inode
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) && f.get(3) == Some(&"0A") {
                if let Some(inode) = f.get(9) {
                    inodes.push(format!("socket:[{inode}]"));
                }
            }
        }
    }
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .map(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
            .unwrap_or(false)
    })
}

pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli is installed (apt-get install redis-tools)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A plain TCP connection that sends commands and returns each reply's exact RESP bytes.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pub resp3: bool,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        Raw::connect_to(("127.0.0.1", port))
    }

    /// Connects to any address (e.g. a server bound inside a network namespace).
    pub fn connect_to(addr: impl std::net::ToSocketAddrs + std::fmt::Debug) -> Raw {
        let stream = TcpStream::connect(&addr).unwrap_or_else(|e| panic!("connect {addr:?}: {e}"));
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        Raw {
            stream,
            buf: Vec::new(),
            resp3: false,
        }
    }

    /// Encodes a command as a RESP array of bulk strings.
    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Sends a command and returns the reply, exactly as received (e.g. "$1\r\nv\r\n").
    pub fn cmd(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bytes(&args)
    }

    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> String {
        let req = Raw::encode(args);
        self.stream.write_all(&req).expect("write");
        String::from_utf8_lossy(&self.read_reply().expect("reply")).into_owned()
    }

    /// Sends a command that answers with several replies (SUBSCRIBE a b) and reads as many
    /// replies as `want` holds, so that a missing or extra reply shows up as a mismatch.
    pub fn cmd_expecting(&mut self, args: &[&str], want: &str) -> String {
        let mut frames = 0;
        let mut rest = want.as_bytes();
        while let Ok(Some((_, n))) = redis_protocol::resp3::decode::complete::decode(rest) {
            rest = &rest[n..];
            frames += 1;
        }
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.stream.write_all(&Raw::encode(&args)).expect("write");
        let mut out = String::new();
        for _ in 0..frames.max(1) {
            out.push_str(&String::from_utf8_lossy(&self.read_reply().expect("reply")));
        }
        out
    }

    /// Like `cmd`, but None when the connection fails (a server killed mid-request).
    pub fn try_cmd(&mut self, args: &[&str]) -> Option<String> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.stream.write_all(&Raw::encode(&args)).ok()?;
        Some(String::from_utf8_lossy(&self.read_reply()?).into_owned())
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one complete reply; None when the server closed the connection first.
    pub fn read_reply(&mut self) -> Option<Vec<u8>> {
        loop {
            let len = if self.resp3 {
                redis_protocol::resp3::decode::complete::decode(&self.buf)
                    .ok()
                    .flatten()
                    .map(|(_, n)| n)
            } else {
                redis_protocol::resp2::decode::decode(&self.buf)
                    .ok()
                    .flatten()
                    .map(|(_, n)| n)
            };
            if let Some(n) = len {
                return Some(self.buf.drain(..n).collect());
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// True when the server has closed this connection.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .ok();
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }
}

/// A real redis-server on a free loopback port, killed on drop.
pub struct RealRedis {
    child: Child,
    pub port: u16,
    dir: std::path::PathBuf,
}

impl RealRedis {
    pub fn start() -> RealRedis {
        RealRedis::start_with(&[])
    }

    /// Starts it with extra `--directive value` flags (e.g. cluster mode).
    pub fn start_with(extra: &[&str]) -> RealRedis {
        let port = free_port();
        let dir = temp_dir("redis");
        // Cluster mode's bus port defaults to port + 10000, inside the ephemeral range, where an
        // outgoing connection may hold it: pick it below the range like the port itself.
        let bus: Vec<String> = if extra.contains(&"--cluster-enabled") {
            vec!["--cluster-port".into(), free_port().to_string()]
        } else {
            Vec::new()
        };
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(&bus)
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): differential tests need the reference \
                     Redis 7; run tests/run-all.sh, which installs it (apt-get install redis-server)"
                )
            });
        wait_for_server(port, &mut child);
        RealRedis { child, port, dir }
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Flags for a one-shard cluster (ordinal 0 of StatefulSet `berth`) that owns every slot.
pub const ONE_SHARD_CLUSTER: &[&str] = &[
    "--cluster-enabled",
    "yes",
    "--cluster-statefulset",
    "berth",
    "--cluster-ordinal",
    "0",
    "--cluster-shards",
    "1",
];

/// Redis's common error replies, exactly as sent.
pub const WRONGTYPE: &str =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
pub const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
pub const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
pub const SYNTAX: &str = "-ERR syntax error\r\n";

/// A command and its exact expected reply.
pub type Case<'a> = (&'a [&'a str], &'a str);

/// Sends each command and asserts its exact reply.
pub fn check(c: &mut Raw, cases: &[Case]) {
    for (args, want) in cases {
        assert_eq!(c.cmd(args), *want, "reply to {args:?}");
    }
}

/// Starts a fresh server and checks each command's exact reply on one connection.
pub fn check_new(cases: &[Case]) {
    let s = Server::start(&[]);
    check(&mut s.raw(), cases);
}

/// The RESP2 bytes of a bulk string.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// The RESP2 bytes of an array of bulk strings.
pub fn array<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(&bulk(i.as_ref()));
    }
    out
}

/// RESP2's null array (a blocking command's timeout).
pub const NIL_ARRAY: &str = "*-1\r\n";

/// Sends a command without reading its reply (for clients that block).
pub fn send(c: &mut Raw, args: &[&str]) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.send_raw(&Raw::encode(&args));
}

/// The next reply's bytes, as text.
pub fn reply(c: &mut Raw) -> String {
    String::from_utf8(c.read_reply().expect("reply")).expect("utf8")
}

/// Waits until INFO reports `n` blocked clients.
pub fn wait_blocked(c: &mut Raw, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    let start = Instant::now();
    while !c.cmd(&["INFO", "clients"]).contains(&want) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never reached {want}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// This connection's CLIENT ID.
pub fn client_id(c: &mut Raw) -> u64 {
    c.cmd(&["CLIENT", "ID"])[1..].trim().parse().unwrap()
}

/// The CLIENT LIST/INFO lines inside a bulk reply.
pub fn lines(reply: &str) -> Vec<String> {
    let body = &reply[reply.find("\r\n").unwrap() + 2..reply.len() - 2];
    body.lines().map(str::to_string).collect()
}

/// The value of `name=` in a CLIENT LIST/INFO line.
pub fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ')
        .find_map(|f| f.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

/// A memory figure of a process in KiB from /proc (`VmRSS`, `VmHWM` for the peak).
pub fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} line"))
}
