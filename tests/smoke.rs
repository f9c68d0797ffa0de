//! The server starts, answers, and keeps data across a restart.

mod common;
use common::Server;

#[test]
fn ping_set_get_roundtrip() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(c.cmd(&["GET", "missing"]), "$-1\r\n");
    assert_eq!(s.cli(&["INCR", "n"]), "1\n");
}

#[test]
fn data_survives_sigterm_restart() {
    let mut s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(s.terminate(), Some(0));
    s.restart();
    assert_eq!(s.raw().cmd(&["GET", "k"]), "$1\r\nv\r\n");
}
