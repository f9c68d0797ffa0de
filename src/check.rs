//! `berth-server check`: a one-shot client that proves a server (or a whole cluster) serves.
//! The container image holds no shell and no redis-cli, so `helm test` runs the server binary
//! itself in this mode.
//!
//! `berth-server check [--host H] [--port P] [--password-file F] [--cluster]`: PING, then SET,
//! GET and DEL of a fresh key (following `-MOVED` to the owner in a cluster), and with
//! `--cluster` also `cluster_state:ok` from CLUSTER INFO. Prints one line; exit code 0 when
//! everything answered as expected, 1 otherwise.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::types::OwnedFrame;

const TIMEOUT: Duration = Duration::from_secs(5);

struct Options {
    host: String,
    port: u16,
    password: Option<String>,
    cluster: bool,
}

/// Runs the check; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    match options(args).and_then(|o| check(&o)) {
        Ok(summary) => {
            println!("berth check: ok ({summary})");
            0
        }
        Err(e) => {
            eprintln!("berth check: FAILED: {e}");
            1
        }
    }
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        host: "127.0.0.1".into(),
        port: 6379,
        password: None,
        cluster: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--host" | "-h" => o.host = value()?,
            "--port" | "-p" => o.port = value()?.parse().map_err(|_| "bad --port".to_string())?,
            "--password-file" => {
                let path = value()?;
                let pass = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {path}: {e}"))?;
                o.password = Some(pass.trim_end_matches(['\r', '\n']).to_string());
            }
            "--cluster" => o.cluster = true,
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    Ok(o)
}

fn check(o: &Options) -> Result<String, String> {
    let first = resolve(&o.host, o.port)?;
    let mut conn = Conn::open(first, o)?;
    expect(conn.call(&["PING"])?, "+PONG")?;
    let key = format!(
        "berth-check:{}:{}",
        std::process::id(),
        crate::storage::now_ms()
    );
    let mut owner = first;
    let reply = follow(o, &mut owner, &["SET", &key, "ok"])?;
    expect(reply, "+OK")?;
    expect(follow(o, &mut owner, &["GET", &key])?, "$ok")?;
    expect(follow(o, &mut owner, &["DEL", &key])?, ":1")?;
    let mut summary = format!("PING, SET, GET, DEL via {first}");
    if o.cluster {
        let info = text(&conn.call(&["CLUSTER", "INFO"])?);
        if !info.contains("cluster_state:ok") {
            let state = info.lines().next().unwrap_or("no reply").trim();
            return Err(format!("{first} says {state}"));
        }
        summary.push_str(", cluster_state:ok");
    }
    Ok(summary)
}

/// Sends a keyed command to `owner`, moving to the node a `-MOVED` names (at most 3 times).
fn follow(o: &Options, owner: &mut SocketAddr, args: &[&str]) -> Result<OwnedFrame, String> {
    for _ in 0..4 {
        let reply = Conn::open(*owner, o)?.call(args)?;
        if let OwnedFrame::Error(e) = &reply {
            if let Some(rest) = e.strip_prefix("MOVED ") {
                let endpoint = rest.split_whitespace().nth(1).unwrap_or("");
                let (host, port) = endpoint
                    .rsplit_once(':')
                    .ok_or(format!("bad redirect '{e}'"))?;
                let port = port.parse().map_err(|_| format!("bad redirect '{e}'"))?;
                *owner = resolve(host, port)?;
                continue;
            }
        }
        return Ok(reply);
    }
    Err(format!("too many redirects for {}", args[0]))
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    // Names go through hickory (the pod's resolv.conf), as the server's own lookups do: the
    // image is static and carries no NSS modules.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let ip = runtime.block_on(async {
        let resolver = hickory_resolver::TokioResolver::builder_tokio()
            .map_err(|e| format!("resolver: {e}"))?
            .build();
        let found = resolver
            .lookup_ip(host)
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?;
        found.iter().next().ok_or(format!("cannot resolve {host}"))
    })?;
    Ok(SocketAddr::new(ip, port))
}

struct Conn {
    stream: TcpStream,
    addr: SocketAddr,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr, o: &Options) -> Result<Conn, String> {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = stream.set_read_timeout(Some(TIMEOUT));
        let mut c = Conn {
            stream,
            addr,
            buf: Vec::new(),
        };
        if let Some(p) = &o.password {
            expect(c.call(&["AUTH", p])?, "+OK")?;
        }
        Ok(c)
    }

    fn call(&mut self, args: &[&str]) -> Result<OwnedFrame, String> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        let addr = self.addr;
        let io = |e: std::io::Error| format!("{addr}: {e}");
        self.stream.write_all(&req).map_err(io)?;
        loop {
            match decode(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used);
                    return Ok(frame);
                }
                Ok(None) => {
                    let mut chunk = [0u8; 4096];
                    let n = self.stream.read(&mut chunk).map_err(io)?;
                    if n == 0 {
                        return Err(format!("{addr} closed the connection"));
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) => return Err(format!("{addr} sent a bad reply: {e}")),
            }
        }
    }
}

/// Compares a reply with `+STATUS`, `$bulk` or `:int` shorthand.
fn expect(reply: OwnedFrame, want: &str) -> Result<(), String> {
    let got = match &reply {
        OwnedFrame::SimpleString(s) => format!("+{}", String::from_utf8_lossy(s)),
        OwnedFrame::BulkString(s) => format!("${}", String::from_utf8_lossy(s)),
        OwnedFrame::Integer(i) => format!(":{i}"),
        OwnedFrame::Error(e) => format!("-{e}"),
        OwnedFrame::Null => "(nil)".to_string(),
        OwnedFrame::Array(_) => "(array)".to_string(),
    };
    if got == want {
        Ok(())
    } else {
        Err(format!("expected {want}, got {got}"))
    }
}

fn text(f: &OwnedFrame) -> String {
    match f {
        OwnedFrame::BulkString(s) | OwnedFrame::SimpleString(s) => {
            String::from_utf8_lossy(s).into_owned()
        }
        OwnedFrame::Error(e) => e.clone(),
        _ => String::new(),
    }
}
