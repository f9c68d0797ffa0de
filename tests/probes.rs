//! What Kubernetes and `helm test` use without a shell in the image: the HTTP side port
//! (`/livez`, `/readyz`, `/startupz`, `/metrics`) and `berth-server check`.

mod common;
use common::{free_port, Server, BIN};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

/// One HTTP/1.1 request; returns the whole response.
fn http(port: u16, method: &str, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

fn with_http() -> (Server, u16) {
    let hp = free_port();
    let s = Server::start(&["--http-port", &hp.to_string()]);
    (s, hp)
}

#[test]
fn health_endpoints_answer_once_the_server_serves() {
    let (_s, hp) = with_http();
    for path in ["/livez", "/readyz", "/startupz"] {
        assert_eq!(
            http(hp, "GET", path),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
            "{path}"
        );
    }
    assert!(http(hp, "GET", "/nope").starts_with("HTTP/1.1 404 Not Found\r\n"));
    assert!(http(hp, "POST", "/livez").starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    assert!(http(hp, "HEAD", "/readyz").ends_with("\r\n\r\n"));
}

#[test]
fn metrics_carry_info_figures_keyspace_and_command_counts() {
    let (s, hp) = with_http();
    s.cli(&["SET", "a", "1"]);
    s.cli(&["SET", "b", "2"]);
    s.cli(&["GET", "a"]);
    let m = http(hp, "GET", "/metrics");
    assert!(
        m.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"),
        "{m}"
    );
    for line in [
        "# TYPE berth_db_keys gauge\nberth_db_keys{db=\"0\"} 2\n",
        "# TYPE berth_commands_total counter\n",
        "berth_commands_total{cmd=\"set\"} 2\n",
        "berth_commands_total{cmd=\"get\"} 1\n",
        "# TYPE berth_total_commands_processed counter\n",
        "# TYPE berth_connected_clients gauge\n",
    ] {
        assert!(m.contains(line), "missing {line:?} in\n{m}");
    }
}

#[test]
fn no_http_port_by_default() {
    let s = Server::start(&[]);
    let out = s.cli(&["CONFIG", "GET", "http-port"]);
    assert_eq!(out, "http-port\n0\n");
}

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("check")
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_subcommand_exercises_a_server_and_says_ok() {
    let s = Server::start(&[]);
    let (code, out, _) = check(&["--port", &s.port.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "berth check: ok (PING, SET, GET, DEL via 127.0.0.1:{})\n",
            s.port
        )
    );
    assert_eq!(s.cli(&["DBSIZE"]), "0\n", "the check cleans up its key");
}

#[test]
fn check_subcommand_authenticates_from_a_password_file() {
    let s = Server::start(&["--requirepass", "pw"]);
    let dir = common::temp_dir("pwfile");
    let file = dir.join("password");
    std::fs::write(&file, "pw\n").expect("write");
    let file = file.to_string_lossy().into_owned();
    let port = s.port.to_string();
    assert_eq!(check(&["--port", &port, "--password-file", &file]).0, 0);
    let (code, _, err) = check(&["--port", &port]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "berth check: FAILED: expected +PONG, got -NOAUTH Authentication required.\n"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn check_subcommand_fails_with_one_line_when_nothing_listens() {
    let port = free_port().to_string();
    let (code, out, err) = check(&["--port", &port]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with(&format!(
            "berth check: FAILED: cannot connect to 127.0.0.1:{port}: "
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn check_subcommand_requires_cluster_state_ok_with_cluster() {
    let s = Server::start(&[]);
    let port = s.port.to_string();
    let (code, _, err) = check(&["--port", &port, "--cluster"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("ERR This instance has cluster support disabled"),
        "{err}"
    );
    let c = Server::start(common::ONE_SHARD_CLUSTER);
    let (code, out, _) = check(&["--port", &c.port.to_string(), "--cluster"]);
    assert_eq!(code, 0);
    assert!(out.ends_with(", cluster_state:ok)\n"), "{out}");
}
