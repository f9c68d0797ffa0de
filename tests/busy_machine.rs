//! The server keeps answering on a machine whose cores are all busy with other work. Writers
//! past the write budget, and commands that need the tree current, wait for the apply thread;
//! when it ran in the idle CPU class it got next to no CPU beside busy neighbours, and they
//! waited as long as the neighbours kept the cores busy (in CI, a test beside it: minutes).
//! This runs alone in its binary, so its busy threads slow no other test.

mod common;
use common::Server;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Far beyond what the work takes (seconds in a debug build); with the apply thread in the idle
/// class, the first writes past the budget waited longer than this.
const STALL: Duration = Duration::from_secs(120);

/// A busy loop at normal priority on every core, until dropped.
struct Neighbours {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Neighbours {
    fn start() -> Neighbours {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                    }
                })
            })
            .collect();
        Neighbours { stop, threads }
    }
}

impl Drop for Neighbours {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// 200,000 fields are many times the write budget of a 16 MB cache, so writers wait for the
/// apply thread (backpressure), and HGETALL needs the tree current.
#[test]
fn writes_past_the_budget_and_a_full_read_finish_while_every_core_is_busy() {
    let s = Server::start(&["--cache-size", "16mb"]);
    let mut c = s.client();
    c.set_read_timeout(Some(STALL)).expect("read timeout");
    let _busy = Neighbours::start();
    let start = Instant::now();
    let fields = 200_000;
    for from in (0..fields).step_by(1000) {
        let mut p = redis::pipe();
        for i in from..from + 1000 {
            p.cmd("HSET").arg("h").arg(i).arg(i).ignore();
        }
        p.query::<()>(&mut c).expect("HSET pipeline");
        assert!(
            start.elapsed() < STALL,
            "writes stalled: {from} fields in {:?}",
            start.elapsed()
        );
    }
    let all: Vec<(u32, u32)> = redis::cmd("HGETALL")
        .arg("h")
        .query(&mut c)
        .expect("HGETALL");
    let took = start.elapsed();
    eprintln!("{fields} HSETs and HGETALL beside busy loops on every core: {took:?}");
    assert_eq!(all.len(), fields);
    assert!(all.iter().all(|(f, v)| f == v));
    assert!(took < STALL, "stalled: {took:?}");
}
