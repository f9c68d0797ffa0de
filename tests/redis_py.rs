//! redis-py, the most used Python client, works against berth (RESP2 and RESP3, pipelines).
//! The checks live in tests/redis_py.py; this test starts a server and runs them.

mod common;
use common::Server;

use std::process::Command;

#[test]
fn redis_py_client_works() {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import redis, sys; sys.exit(int(redis.__version__.split('.')[0]) < 5)",
        ])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "python3 with redis-py 5 or newer is required (pip install 'redis>=5'); \
             run tests/run-all.sh, which installs it"
        ),
    }
    let s = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/redis_py.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(s.port.to_string())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "tests/redis_py.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
