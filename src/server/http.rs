//! The HTTP side port (`http-port`): health endpoints for Kubernetes probes and Prometheus
//! metrics, so that probes need neither a shell nor a client in the image.
//!
//! - `/livez`: 200 while the process runs, also while the data directory is still opening, so a
//!   liveness probe never kills a pod that is loading.
//! - `/readyz` and `/startupz`: 200 once this node serves clients; 503 while loading or
//!   shutting down. Only this node's state counts, never its peers': a rollout must not wait
//!   for pods that do not exist yet.
//! - `/metrics`: INFO's numeric fields (and the cluster's state in cluster mode) in the
//!   Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Shared;

/// Where the server is in its life, as the probes see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Loading = 0,
    Serving = 1,
    Stopping = 2,
}

#[derive(Default)]
pub struct Health {
    phase: AtomicU8,
    shared: OnceLock<Arc<Shared>>,
}

impl Health {
    pub fn set(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            1 => Phase::Serving,
            2 => Phase::Stopping,
            _ => Phase::Loading,
        }
    }

    /// The server, once its store is open (metrics need it).
    pub fn attach(&self, shared: Arc<Shared>) {
        let _ = self.shared.set(shared);
    }
}

pub async fn serve(listener: TcpListener, health: Arc<Health>) {
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, health.clone()));
        }
    }
}

async fn answer(mut stream: TcpStream, health: Arc<Health>) {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        true
    };
    if !matches!(
        tokio::time::timeout(Duration::from_secs(5), read).await,
        Ok(true)
    ) {
        return;
    }
    let line = String::from_utf8_lossy(&buf);
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    // INFO reads the keyspace: wait out a running script instead of blocking the runtime
    // thread (and the probes) on the keyspace lock.
    if path == "/metrics" {
        if let Some(shared) = health.shared.get() {
            shared.scripting.idle().await;
        }
    }
    let ready = health.phase() == Phase::Serving;
    let (status, body) = match (method, path) {
        ("GET" | "HEAD", "/livez") => (200, "ok\n".to_string()),
        ("GET" | "HEAD", "/readyz" | "/startupz") if ready => (200, "ok\n".to_string()),
        ("GET" | "HEAD", "/readyz" | "/startupz") => (503, phase_text(health.phase())),
        ("GET" | "HEAD", "/metrics") => match health.shared.get() {
            Some(shared) => (200, metrics(shared)),
            None => (503, phase_text(health.phase())),
        },
        ("GET" | "HEAD", _) => (404, "not found\n".to_string()),
        _ => (405, "method not allowed\n".to_string()),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let content_type = if path == "/metrics" {
        "text/plain; version=0.0.4"
    } else {
        "text/plain"
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn phase_text(p: Phase) -> String {
    match p {
        Phase::Loading => "loading the data directory\n",
        Phase::Serving => "ok\n",
        Phase::Stopping => "shutting down\n",
    }
    .to_string()
}

/// Counters among INFO's fields (the rest are gauges).
const COUNTERS: &[&str] = &[
    "total_connections_received",
    "total_commands_processed",
    "total_net_input_bytes",
    "total_net_output_bytes",
    "rejected_connections",
    "expired_keys",
    "evicted_keys",
    "keyspace_hits",
    "keyspace_misses",
    "total_error_replies",
];

/// INFO (every section) as Prometheus metrics named `berth_<field>`; keyspace and command
/// statistics become labelled series.
fn metrics(shared: &Arc<Shared>) -> String {
    let info = crate::commands::info_for_metrics(shared);
    let mut out = String::new();
    let mut typed = std::collections::HashSet::new();
    let mut emit = |out: &mut String, name: &str, kind: &str, labels: &str, value: f64| {
        if typed.insert(name.to_string()) {
            let _ = writeln!(out, "# TYPE {name} {kind}");
        }
        let _ = writeln!(out, "{name}{labels} {value}");
    };
    for line in info.lines() {
        let Some((field, value)) = line.trim_end().split_once(':') else {
            continue;
        };
        if let Some(db) = field
            .strip_prefix("db")
            .filter(|d| d.parse::<u32>().is_ok())
        {
            for kv in value.split(',') {
                if let Some((k, v)) = kv.split_once('=') {
                    if let (Ok(v), "keys" | "expires") = (v.parse::<f64>(), k) {
                        let name = format!("berth_db_{k}");
                        emit(&mut out, &name, "gauge", &format!("{{db=\"{db}\"}}"), v);
                    }
                }
            }
        } else if let Some(cmd) = field.strip_prefix("cmdstat_") {
            let labels = format!("{{cmd=\"{cmd}\"}}");
            for kv in value.split(',') {
                match kv.split_once('=') {
                    Some(("calls", v)) => {
                        let v = v.parse().unwrap_or(0.0);
                        emit(&mut out, "berth_commands_total", "counter", &labels, v);
                    }
                    Some(("usec", v)) => {
                        let v = v.parse::<f64>().unwrap_or(0.0) / 1e6;
                        let name = "berth_commands_duration_seconds_total";
                        emit(&mut out, name, "counter", &labels, v);
                    }
                    _ => {}
                }
            }
        } else if let Ok(v) = value.parse::<f64>() {
            let kind = if COUNTERS.contains(&field) {
                "counter"
            } else {
                "gauge"
            };
            emit(&mut out, &format!("berth_{field}"), kind, "", v);
        }
    }
    if let Some(c) = &shared.cluster {
        let ok = f64::from(u8::from(c.state_ok(&shared.config)));
        emit(&mut out, "berth_cluster_state_ok", "gauge", "", ok);
        let failed = c.slots_failed() as f64;
        emit(&mut out, "berth_cluster_slots_fail", "gauge", "", failed);
        for n in c.peers() {
            let up = f64::from(u8::from(n.health() == crate::cluster::Health::Up));
            let labels = format!("{{ordinal=\"{}\",node=\"{}\"}}", n.ordinal, n.fqdn);
            emit(&mut out, "berth_cluster_peer_up", "gauge", &labels, up);
        }
    }
    out
}
