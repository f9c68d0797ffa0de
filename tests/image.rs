//! The container image (docker/Dockerfile), built and run for real: a static berth-server (glibc
//! linked statically) in a FROM scratch image, built with a Docker engine this test starts in a
//! temp dir. The image is built from its `prebuilt` stage, which copies the binary built here,
//! so nothing is pulled from a registry.
//!
//! Needs root and dockerd (`bash tests/setup/docker.sh` installs Debian's docker.io). Without
//! them the test prints one line saying why and passes; as root with dockerd installed, an
//! engine that does not start is a failure.

mod common;
use common::Raw;

use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Where the Dockerfile's `prebuilt` stage expects the binary (relative to the build context).
const STATIC_BIN: &str = "target/static/x86_64-unknown-linux-gnu/release/berth-server";
const UID: u32 = 10001;

#[test]
fn runtime_image_serves_and_keeps_data_in_its_volume() {
    let Some(cli) = usable_docker() else { return };
    build_static_binary();
    let engine = Engine::start(cli);

    let image = format!("berth-test:{}", std::process::id());
    let build = engine.docker_out(&[
        "build",
        "--progress=plain",
        "-f",
        "docker/Dockerfile",
        "--build-arg",
        "BINARY_FROM=prebuilt",
        "-t",
        &image,
        ROOT,
    ]);
    let log = String::from_utf8_lossy(&build.stderr);
    assert!(build.status.success(), "docker build failed:\n{log}");
    // docker/Dockerfile.dockerignore keeps target/ (gigabytes) out of the build context.
    let context_mb = context_size_mb(&log);
    assert!(
        context_mb.is_some_and(|mb| mb < 50.0),
        "build context is {context_mb:?} MB, the ignore file was not applied:\n{log}"
    );

    // What the chart relies on: UID/GID 10001, the entrypoint reading /etc/berth/berth.conf,
    // /data a volume, 6379 exposed, SIGTERM to stop.
    let config = |field: &str| engine.docker(&["image", "inspect", "-f", field, &image]);
    assert_eq!(config("{{.Config.User}}"), "10001:10001");
    assert_eq!(
        config("{{json .Config.Entrypoint}}"),
        r#"["/usr/local/bin/berth-server"]"#
    );
    assert_eq!(
        config("{{json .Config.Cmd}}"),
        r#"["/etc/berth/berth.conf"]"#
    );
    assert_eq!(config("{{json .Config.Volumes}}"), r#"{"/data":{}}"#);
    assert_eq!(
        config("{{json .Config.ExposedPorts}}"),
        r#"{"6379/tcp":{}}"#
    );
    assert_eq!(config("{{.Config.StopSignal}}"), "SIGTERM");
    let size: u64 = config("{{.Size}}").parse().expect("image size");
    say(&format!("image built: {:.1} MB", size as f64 / 1e6));

    // `docker run` with nothing but a named volume: the image's own CMD and config.
    let volume = format!("berth-test-data-{}", std::process::id());
    engine.docker(&["volume", "create", &volume]);
    let mount = format!("{volume}:/data");
    let first = engine.docker(&["run", "-d", "-v", &mount, &image]);

    let addr = engine.wait_for_ping(&first);
    assert_eq!(
        engine.process_ids(&first),
        (UID, UID),
        "the server runs as UID/GID 10001"
    );
    let mut c = Raw::connect_to(addr);
    assert_eq!(
        c.cmd(&["SET", "greeting", "hello from the volume"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["INCRBY", "counter", "41"]), ":41\r\n");
    drop(c);

    // The volume (not the container's own layer) holds the database, owned by 10001.
    let data =
        PathBuf::from(engine.docker(&["volume", "inspect", "-f", "{{.Mountpoint}}", &volume]));
    let meta = std::fs::metadata(&data).expect("volume directory");
    assert_eq!((meta.uid(), meta.gid()), (UID, UID), "{}", data.display());
    assert!(
        std::fs::read_dir(&data)
            .expect("read volume")
            .next()
            .is_some(),
        "the server wrote nothing into its volume {}",
        data.display()
    );

    // `docker stop` sends SIGTERM: the server flushes and exits 0, well before the kill timeout.
    engine.stop_cleanly(&first);

    // The same container started again.
    engine.docker(&["start", &first]);
    let addr = engine.wait_for_ping(&first);
    let mut c = Raw::connect_to(addr);
    assert_eq!(
        c.cmd(&["GET", "greeting"]),
        "$21\r\nhello from the volume\r\n",
        "after a container restart"
    );
    drop(c);
    engine.stop_cleanly(&first);

    // A new container on the same volume: the data lives in the volume.
    engine.docker(&["rm", &first]);
    let second = engine.docker(&["run", "-d", "-v", &mount, &image]);
    let addr = engine.wait_for_ping(&second);
    let mut c = Raw::connect_to(addr);
    assert_eq!(
        c.cmd(&["GET", "greeting"]),
        "$21\r\nhello from the volume\r\n",
        "in a new container on the same volume"
    );
    assert_eq!(c.cmd(&["INCR", "counter"]), ":42\r\n");
    drop(c);
    engine.stop_cleanly(&second);
    // Containers, image and volume go with the engine's data root when `engine` drops.
}

/// The docker CLI to use, or None (after one line saying why) where no engine can be started.
/// BuildKit (which builds only the stages the target needs) is required: docker.io's own
/// /usr/bin/docker (20.10) has it built in; a newer docker needs the buildx plugin.
fn usable_docker() -> Option<PathBuf> {
    if unsafe { libc::geteuid() } != 0 {
        say("image test skipped: starting a Docker engine needs root");
        return None;
    }
    if !runs("dockerd", &["--version"]) {
        say("image test skipped: no dockerd (`bash tests/setup/docker.sh` installs docker.io)");
        return None;
    }
    if Path::new("/usr/bin/docker").exists() {
        return Some("/usr/bin/docker".into());
    }
    assert!(
        runs("docker", &["buildx", "version"]),
        "dockerd is installed but no docker CLI with BuildKit: install docker.io \
         (bash tests/setup/docker.sh) or the buildx plugin"
    );
    Some("docker".into())
}

/// One line on stderr that `cargo test` shows even for a passing test (it captures only the
/// print macros).
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds the static binary the image's `prebuilt` stage copies, in its own target dir
/// (cargo does nothing when it is fresh), and checks it has no dynamic loader.
/// The size BuildKit reports for the last "transferring context: 7.72MB" line, in MB.
fn context_size_mb(log: &str) -> Option<f64> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("transferring context: "))?;
    let size = line
        .split("transferring context: ")
        .nth(1)?
        .split_whitespace()
        .next()?;
    let unit_at = size.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = size.split_at(unit_at);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "B" => n / 1e6,
        "kB" | "KB" => n / 1e3,
        "MB" => n,
        "GB" => n * 1e3,
        _ => return None,
    })
}

fn build_static_binary() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(ROOT)
        .args([
            "build",
            "--release",
            "--locked",
            "--bin",
            "berth-server",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--target-dir",
            "target/static",
        ])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .stdin(Stdio::null())
        .status()
        .expect("run cargo");
    assert!(status.success(), "static build of berth-server failed");
    let elf = std::fs::read(Path::new(ROOT).join(STATIC_BIN)).expect("static binary");
    assert!(
        !has_interpreter(&elf),
        "{STATIC_BIN} is dynamically linked: it would not run in a FROM scratch image"
    );
}

/// Whether an ELF64 little-endian executable asks for a dynamic loader (a PT_INTERP header).
fn has_interpreter(elf: &[u8]) -> bool {
    assert_eq!(
        &elf[..6],
        b"\x7fELF\x02\x01",
        "not a 64-bit little-endian ELF"
    );
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}

/// A dockerd of our own: data root, sockets and config in a temp dir, containers on a bridge
/// made for it. Dropping it stops the engine (and so its containers), removes the bridge and
/// the temp dir with every image, container and volume in it.
struct Engine {
    cli: PathBuf,
    dir: PathBuf,
    bridge: String,
    dockerd: Option<Child>,
}

impl Engine {
    fn start(cli: PathBuf) -> Engine {
        let dir = common::temp_dir("image");
        let pid = std::process::id();
        let bridge = format!("bbr{}", pid % 1_000_000);
        let mut engine = Engine {
            cli,
            dir: dir.clone(),
            bridge: bridge.clone(),
            dockerd: None,
        };
        // Our own bridge, not docker0: a Docker engine already on the machine keeps its own.
        let subnet = free_subnet();
        ip(&["link", "add", &bridge, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("10.202.{subnet}.1/24"),
            "dev",
            &bridge,
        ]);
        ip(&["link", "set", &bridge, "up"]);

        std::fs::create_dir_all(dir.join("config")).unwrap();
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("root"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .args(["--storage-driver", "vfs"])
            .args(["--bridge", &bridge])
            .args(["--iptables=false", "--ip-masq=false", "--ip6tables=false"])
            // Apart from any other engine's containerd objects.
            .args(["--containerd-namespace", &format!("berth-test-{pid}")])
            .args([
                "--containerd-plugins-namespace",
                &format!("berth-test-{pid}-plugins"),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn dockerd");
        engine.dockerd = Some(child);

        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if engine.docker_out(&["version"]).status.success() {
                return engine;
            }
            let exited = engine.dockerd.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "dockerd did not start ({exited:?}); its log:\n{}",
                    engine.log()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn docker_out(&self, args: &[&str]) -> Output {
        Command::new(&self.cli)
            .args(args)
            .env(
                "DOCKER_HOST",
                format!("unix://{}", self.dir.join("docker.sock").display()),
            )
            .env("DOCKER_CONFIG", self.dir.join("config"))
            .env("DOCKER_BUILDKIT", "1")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .stdin(Stdio::null())
            .output()
            .expect("run docker")
    }

    /// Runs docker, which must succeed; returns its trimmed stdout.
    fn docker(&self, args: &[&str]) -> String {
        let out = self.docker_out(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn inspect(&self, container: &str, field: &str) -> String {
        self.docker(&["inspect", "-f", field, container])
    }

    /// Waits until the container's server answers PING on 6379 at the container's own address.
    fn wait_for_ping(&self, container: &str) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let running = self.inspect(container, "{{.State.Running}}") == "true";
            let ip = self.inspect(container, "{{.NetworkSettings.IPAddress}}");
            if running && !ip.is_empty() {
                let addr: SocketAddr = format!("{ip}:6379").parse().expect("container address");
                if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
                    let mut c = Raw::connect_to(addr);
                    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
                    return addr;
                }
            }
            if !running && self.inspect(container, "{{.State.Status}}") == "exited"
                || Instant::now() > deadline
            {
                panic!(
                    "the container's server did not answer on {ip}:6379 ({}); its output:\n{}",
                    self.inspect(container, "{{.State.Status}} {{.State.ExitCode}}"),
                    self.logs(container)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn logs(&self, container: &str) -> String {
        let out = self.docker_out(&["logs", container]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The real (UID, GID) of the container's main process, from the host's /proc.
    fn process_ids(&self, container: &str) -> (u32, u32) {
        let pid = self.inspect(container, "{{.State.Pid}}");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
        let id = |key: &str| -> u32 {
            let line = status.lines().find(|l| l.starts_with(key)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        };
        (id("Uid:"), id("Gid:"))
    }

    /// `docker stop` (SIGTERM, SIGKILL after 20 s): the server must exit 0 on the SIGTERM.
    fn stop_cleanly(&self, container: &str) {
        let started = Instant::now();
        self.docker(&["stop", "-t", "20", container]);
        let code = self.inspect(container, "{{.State.ExitCode}}");
        assert_eq!(
            code,
            "0",
            "exit code after SIGTERM; output:\n{}",
            self.logs(container)
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "stopping took {:?}",
            started.elapsed()
        );
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(mut dockerd) = self.dockerd.take() {
            // SIGTERM: dockerd stops its containers and its containerd, then exits.
            unsafe { libc::kill(dockerd.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while dockerd.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    eprintln!("dockerd did not stop in 30 s; killing it");
                    let _ = dockerd.kill();
                    let _ = dockerd.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        // Anything still mounted under the temp dir (network namespaces, if dockerd was killed).
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let prefix = self.dir.to_string_lossy().into_owned();
        let mut ours: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        ours.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in ours {
            let _ = Command::new("umount").args(["-l", m]).status();
        }
        let _ = Command::new("ip")
            .args(["link", "delete", &self.bridge])
            .stderr(Stdio::null())
            .status();
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("could not remove {}: {e}", self.dir.display());
        }
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (iproute2) is installed");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// K such that 10.202.K.0/24 is on no interface of this machine.
fn free_subnet() -> u32 {
    let addrs = Command::new("ip")
        .args(["-4", "-o", "addr"])
        .output()
        .expect("ip (iproute2) is installed");
    let addrs = String::from_utf8_lossy(&addrs.stdout);
    let start = std::process::id() % 250;
    (0..250)
        .map(|i| (start + i) % 250 + 1)
        .find(|k| !addrs.contains(&format!(" 10.202.{k}.")))
        .expect("a free 10.202.K.0/24")
}
