//! Commands are atomic under concurrency: many clients incrementing one counter never lose or
//! repeat an increment.

mod common;
use common::Server;

use std::collections::HashSet;
use std::io::Write;

const CLIENTS: usize = 50;
const INCRS: usize = 10_000;

#[test]
fn fifty_clients_incrementing_one_key_never_lose_or_repeat_a_value() {
    let s = Server::start(&[]);
    let port = s.port;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = common::Raw::connect(port);
                let incr = common::Raw::encode(&[b"INCR", b"counter"]);
                // Pipelined in small batches so the test stays fast; each INCR is still one
                // command with its own reply.
                let mut seen = Vec::with_capacity(INCRS);
                for _ in 0..INCRS / 100 {
                    let batch: Vec<u8> = incr.repeat(100);
                    c.stream.write_all(&batch).expect("write");
                    for _ in 0..100 {
                        let reply = c.read_reply().expect("INCR reply");
                        let text = String::from_utf8_lossy(&reply);
                        let n: i64 = text
                            .strip_prefix(':')
                            .and_then(|t| t.trim_end().parse().ok())
                            .unwrap_or_else(|| panic!("INCR replied {text:?}"));
                        seen.push(n);
                    }
                }
                seen
            })
        })
        .collect();
    let mut all = HashSet::with_capacity(CLIENTS * INCRS);
    for t in threads {
        for n in t.join().expect("client thread") {
            assert!(all.insert(n), "INCR returned {n} twice");
        }
    }
    assert_eq!(all.len(), CLIENTS * INCRS);
    assert_eq!(all.iter().min(), Some(&1));
    assert_eq!(all.iter().max(), Some(&((CLIENTS * INCRS) as i64)));
    assert_eq!(s.raw().cmd(&["GET", "counter"]), "$6\r\n500000\r\n");
}
