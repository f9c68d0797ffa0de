//! The harness as StatefulSet controller, kubelet and DNS: runs a rendered StatefulSet's pods as
//! `berth-server` processes, each in its own network, mount and UTS namespace (see README.md).

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::common::BIN;
use super::net::{run_ok, Host, Net};
use super::render::{EnvValue, Probe, Render, Service, Source, StatefulSet};

/// Longest wait for a pod to pass its probes (the rendered startupProbe allows an hour).
const READY_LIMIT: Duration = Duration::from_secs(60);

/// A running pod: its process and its network namespace (deleted with it).
pub struct Pod {
    pub name: String,
    pub ip: Ipv4Addr,
    child: Child,
    _host: Host,
}

impl Pod {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The hostname the process sees (its UTS namespace).
    pub fn hostname(&self) -> String {
        let pid = self.pid().to_string();
        run_ok(Command::new("nsenter").args(["-t", &pid, "-u", "hostname"]))
            .trim()
            .to_owned()
    }

    /// The process's environment (`/proc/<pid>/environ`).
    pub fn environ(&self) -> Vec<String> {
        let raw = fs::read(format!("/proc/{}/environ", self.pid())).unwrap_or_default();
        raw.split(|&b| b == 0)
            .filter(|v| !v.is_empty())
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// The mount options of `/` as the process sees it (its mount namespace).
    pub fn root_mount_options(&self) -> String {
        let info =
            fs::read_to_string(format!("/proc/{}/mountinfo", self.pid())).unwrap_or_default();
        info.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.get(4) == Some(&"/"))
            .and_then(|f| f.get(5).map(|o| o.to_string()))
            .unwrap_or_default()
    }

    /// The process's real uid.
    pub fn uid(&self) -> u32 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One StatefulSet "installed": its pods, their volumes and DNS records.
pub struct Cluster {
    pub net: Net,
    pub sts: StatefulSet,
    pub services: Vec<Service>,
    /// The password clients use: the harness's Secret content at `requirepass-file`, if any.
    pub password: Option<String>,
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    pods: Vec<Option<Pod>>,
    ready: Vec<bool>,
    /// When false, `sync_dns` publishes nothing (pods racing their own records).
    pub dns_enabled: bool,
    /// Mount points this harness created on the host, removed on drop (deepest first).
    created: Vec<PathBuf>,
    /// What the controller did, in order: (`Spawned` or `Ready`, ordinal).
    pub events: Vec<(Event, usize)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Spawned,
    Ready,
}

impl Cluster {
    /// Reads the render and prepares the network; no pod runs yet. `secrets` are the Secrets
    /// the render references (name -> key -> content): the harness creates them, as an
    /// operator would before `helm install`.
    pub fn new(tag: &str, render: &Render, secrets: &[(&str, &str, &str)]) -> Cluster {
        let sts = render.statefulset();
        let mut map: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (name, key, value) in secrets {
            map.entry(name.to_string())
                .or_default()
                .insert(key.to_string(), value.to_string());
        }
        for s in &sts.image_pull_secrets {
            assert!(
                map.contains_key(s),
                "imagePullSecret {s} is referenced but was not created"
            );
            println!("  e2e: imagePullSecret {s} present (no image is pulled)");
        }
        let pass_file = render.conf_value("requirepass-file").map(PathBuf::from);
        let mut password = None;
        for m in &sts.mounts {
            if let Source::Secret { name, items, .. } = &m.source {
                for (key, path) in items {
                    if pass_file.as_deref() == Some(&m.path.join(path)) {
                        password = Some(map[name][key].clone());
                    }
                }
            }
        }
        let services = render.services();
        for s in &services {
            assert_eq!(
                s.namespace, sts.namespace,
                "Service {} selects pods of another namespace",
                s.name
            );
        }
        let n = sts.replicas;
        Cluster {
            net: Net::new(tag),
            services,
            sts,
            password,
            secrets: map,
            pods: (0..n).map(|_| None).collect(),
            ready: vec![false; n],
            dns_enabled: true,
            created: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn pod_name(&self, i: usize) -> String {
        format!("{}-{i}", self.sts.name)
    }

    /// `<pod>.<headless service>.<namespace>.svc.cluster.local`.
    pub fn pod_fqdn(&self, i: usize) -> String {
        format!(
            "{}.{}.{}.svc.cluster.local",
            self.pod_name(i),
            self.sts.service_name,
            self.sts.namespace
        )
    }

    pub fn service_fqdn(&self, name: &str) -> String {
        format!("{name}.{}.svc.cluster.local", self.sts.namespace)
    }

    /// The client Service: the one that is neither headless nor for metrics.
    pub fn client_service(&self) -> String {
        let s = self
            .services
            .iter()
            .find(|s| !s.headless && !s.name.ends_with("-metrics"))
            .expect("a client Service");
        self.service_fqdn(&s.name)
    }

    pub fn headless_service(&self) -> String {
        self.service_fqdn(&self.sts.service_name)
    }

    pub fn pod(&self, i: usize) -> Option<&Pod> {
        self.pods[i].as_ref()
    }

    /// Creates every pod: in ordinal order, each ready before the next (OrderedReady), or all at
    /// once and then waits for all (Parallel).
    pub fn create_all(&mut self) {
        let n = self.sts.replicas;
        if self.sts.parallel {
            for i in 0..n {
                self.spawn(i);
            }
            self.sync_dns();
            for i in 0..n {
                self.wait_ready(i);
            }
        } else {
            for i in 0..n {
                self.spawn(i);
                self.sync_dns();
                self.wait_ready(i);
            }
        }
    }

    /// Creates pod `i` (same name, same claim, new namespace and IP) and waits until ready.
    pub fn create(&mut self, i: usize) {
        self.spawn(i);
        self.sync_dns();
        self.wait_ready(i);
    }

    /// SIGKILLs pod `i` (a node failure or OOM kill): its IP and records go away.
    pub fn kill(&mut self, i: usize) {
        let pod = self.pods[i].take().expect("pod exists");
        drop(pod);
        self.ready[i] = false;
        self.sync_dns();
    }

    /// Deletes pod `i` as the kubelet does: SIGTERM, the grace period, then SIGKILL. Returns
    /// the exit status if the process ended within the grace period.
    pub fn delete(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        self.ready[i] = false;
        self.sync_dns();
        let mut pod = self.pods[i].take().expect("pod exists");
        unsafe { libc::kill(pod.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + self.sts.grace;
        let status = loop {
            if let Ok(Some(st)) = pod.child.try_wait() {
                break Some(st);
            }
            if Instant::now() > deadline {
                println!("  e2e: {} outlived its grace period: SIGKILL", pod.name);
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(pod);
        self.sync_dns();
        status
    }

    /// A RollingUpdate as the controller does it: from the highest ordinal down to the
    /// partition, each pod deleted (SIGTERM, grace) and recreated, and ready before the next;
    /// `between` runs after each pod is back (e.g. wait for the cluster to converge).
    pub fn rolling_restart(&mut self, mut between: impl FnMut(&Cluster, usize)) {
        for i in (self.sts.partition..self.sts.replicas).rev() {
            let status = self.delete(i);
            println!("  e2e: {} terminated: {status:?}", self.pod_name(i));
            self.create(i);
            between(self, i);
        }
    }

    /// Publishes the records kube-dns would: each pod's name, the headless Service (every pod
    /// when publishNotReadyAddresses, else ready ones) and the other Services (ready pods: no
    /// kube-proxy here, so a ClusterIP Service name resolves to its endpoints).
    pub fn sync_dns(&self) {
        if !self.dns_enabled {
            return;
        }
        for i in 0..self.pods.len() {
            let ips: Vec<Ipv4Addr> = self.pods[i].iter().map(|p| p.ip).collect();
            self.net.set_dns_all(&self.pod_fqdn(i), &ips);
        }
        for s in &self.services {
            let ips: Vec<Ipv4Addr> = (0..self.pods.len())
                .filter(|&i| s.publish_not_ready || self.ready[i])
                .filter_map(|i| self.pods[i].as_ref().map(|p| p.ip))
                .collect();
            self.net.set_dns_all(&self.service_fqdn(&s.name), &ips);
        }
    }

    /// The claim `data-<sts>-<i>`'s directory: it outlives the pod.
    pub fn claim_dir(&self, claim: &str, i: usize) -> PathBuf {
        self.net
            .dir()
            .join("pvc")
            .join(format!("{claim}-{}", self.pod_name(i)))
    }

    /// A file in pod `i`'s current volume `volume` (an emptyDir or a ConfigMap/Secret copy).
    pub fn empty_dir_file(&self, i: usize, volume: &str, file: &str) -> PathBuf {
        let n = self
            .sts
            .mounts
            .iter()
            .position(|m| m.name == volume)
            .unwrap_or_else(|| panic!("no volume {volume}"));
        let pod_dir = self.net.dir().join("pods").join(self.pod_name(i));
        pod_dir.join(format!("vol{n}")).join(file)
    }

    /// Creates `path` (and missing parents) on the host as a mount point, remembering what it
    /// created. `file`: the mount point is a file (a subPath mount of a file).
    fn mount_point(&mut self, path: &Path, file: bool) {
        let dir = if file { path.parent().unwrap() } else { path };
        let mut missing = Vec::new();
        let mut p = Some(dir);
        while let Some(d) = p.filter(|d| !d.exists()) {
            missing.push(d.to_path_buf());
            p = d.parent();
        }
        for d in missing.into_iter().rev() {
            fs::create_dir(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
            self.created.push(d);
        }
        if file && !path.exists() {
            File::create(path).expect("mount point file");
            self.created.push(path.to_path_buf());
        }
    }

    fn spawn(&mut self, i: usize) {
        assert!(self.pods[i].is_none(), "pod {i} already exists");
        let name = self.pod_name(i);
        let pod_dir = self.net.dir().join("pods").join(&name);
        let _ = fs::remove_dir_all(&pod_dir); // volumes other than claims are per incarnation
        fs::create_dir_all(&pod_dir).expect("pod dir");
        let (uid, gid) = self.sts.run_as.unwrap_or((0, 0));
        let fs_group = self.sts.fs_group.unwrap_or(gid);

        // (source, target, read-only) bind mounts, in volumeMounts order.
        let mut binds: Vec<(PathBuf, PathBuf, bool)> = Vec::new();
        for (n, m) in self.sts.mounts.clone().iter().enumerate() {
            let vol = pod_dir.join(format!("vol{n}"));
            let src = match &m.source {
                Source::Claim(claim) => {
                    let dir = self.claim_dir(claim, i);
                    fs::create_dir_all(&dir).expect("claim dir");
                    // fsGroup: the volume belongs to the pod's group.
                    chown(&dir, uid, fs_group);
                    dir
                }
                Source::Files { files, mode } => {
                    fs::create_dir_all(&vol).expect("volume dir");
                    for (f, content) in files {
                        write_file(&vol.join(f), content, *mode, 0);
                    }
                    vol
                }
                Source::Secret { name, items, mode } => {
                    let data = self
                        .secrets
                        .get(name)
                        .unwrap_or_else(|| panic!("Secret {name} was not created by the test"));
                    fs::create_dir_all(&vol).expect("volume dir");
                    for (key, path) in items {
                        let content = data
                            .get(key)
                            .unwrap_or_else(|| panic!("Secret {name} has no key {key}"));
                        write_file(&vol.join(path), content, *mode, fs_group);
                    }
                    vol
                }
                Source::EmptyDir => {
                    fs::create_dir_all(&vol).expect("volume dir");
                    // As the kubelet makes it: world-writable (0777), group fsGroup.
                    chown(&vol, 0, fs_group);
                    fs::set_permissions(&vol, fs::Permissions::from_mode(0o777)).unwrap();
                    vol
                }
            };
            let src = match &m.sub_path {
                Some(sub) => src.join(sub),
                None => src,
            };
            self.mount_point(&m.path, src.is_file());
            binds.push((src, m.path.clone(), m.read_only));
        }

        let host = self.net.add_host(&name);
        let ip = host.ip;
        // The image's entrypoint is berth-server; a rendered `command` must name it.
        let mut args = self.sts.command.clone();
        if let Some(first) = args.first() {
            assert!(first.ends_with("berth-server"), "command {args:?}");
            args.remove(0);
        }
        args.extend(self.sts.args.iter().cloned());
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.net.dir().join(format!("{name}.log")))
            .expect("pod log");
        let env: Vec<(String, String)> = self
            .sts
            .env
            .iter()
            .map(|(k, v)| (k.clone(), self.env_value(k, v, &name, ip)))
            .collect();
        let mut cmd = host.cmd(BIN);
        cmd.args(&args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOSTNAME", &name)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        enter_pod(&mut cmd, &name, &binds, &self.sts, fs_group);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start pod {name}: {e}"));
        self.pods[i] = Some(Pod {
            name,
            ip,
            child,
            _host: host,
        });
        self.events.push((Event::Spawned, i));
    }

    /// An env value for pod `name` at `ip`, as the kubelet resolves it.
    fn env_value(&self, var: &str, v: &EnvValue, name: &str, ip: Ipv4Addr) -> String {
        match v {
            EnvValue::Literal(s) => s.clone(),
            EnvValue::Field(path) => match path.as_str() {
                "metadata.name" => name.to_owned(),
                "metadata.namespace" => self.sts.namespace.clone(),
                "status.podIP" => ip.to_string(),
                "spec.nodeName" => "e2e-node".to_owned(),
                "spec.serviceAccountName" => "default".to_owned(),
                other => panic!("env {var}: fieldRef {other} is not emulated"),
            },
            EnvValue::SecretKey(secret, key) => self
                .secrets
                .get(secret)
                .and_then(|m| m.get(key))
                .unwrap_or_else(|| panic!("env {var}: Secret {secret} key {key} was not created"))
                .clone(),
        }
    }

    /// Polls the rendered startup and readiness probes on the pod's IP (every 100 ms, not the
    /// rendered periods) until both pass; then the pod is ready and joins its Services.
    pub fn wait_ready(&mut self, i: usize) {
        let probes: Vec<Probe> = [&self.sts.startup, &self.sts.readiness]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let deadline = Instant::now() + READY_LIMIT;
        let mut next = 0;
        while next < probes.len() {
            let pod = self.pods[i].as_mut().expect("pod exists");
            let (name, ip) = (pod.name.clone(), pod.ip);
            if let Ok(Some(st)) = pod.child.try_wait() {
                panic!("pod {name} exited ({st}):\n{}", self.log_tail(i));
            }
            assert!(
                Instant::now() < deadline,
                "pod {name} not ready: {} failing\n{}",
                probes[next].path,
                self.log_tail(i)
            );
            let p = &probes[next];
            if http_get(SocketAddr::from((ip, p.port)), &p.path) == Some(200) {
                next += 1;
            } else {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        // The kubelet starts liveness checks with readiness: a live pod must pass it at once.
        if let Some(p) = &self.sts.liveness {
            let ip = self.pods[i].as_ref().expect("pod exists").ip;
            assert_eq!(
                http_get(SocketAddr::from((ip, p.port)), &p.path),
                Some(200),
                "pod {i} ready but its livenessProbe {} fails",
                p.path
            );
        }
        self.ready[i] = true;
        self.events.push((Event::Ready, i));
        self.sync_dns();
    }

    /// The last lines of pod `i`'s log (all its incarnations).
    pub fn log_tail(&self, i: usize) -> String {
        let log = fs::read_to_string(self.net.dir().join(format!("{}.log", self.pod_name(i))))
            .unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// redis-cli in the client namespace (with the password when the install has one).
    pub fn cli(&self, host: &str, args: &[&str]) -> String {
        let mut cmd = self.net.client_cmd("redis-cli");
        cmd.args(["-h", host, "-p", &self.redis_port().to_string()]);
        if let Some(pw) = &self.password {
            cmd.args(["-a", pw, "--no-auth-warning"]);
        }
        run_ok(cmd.args(args)).trim().to_owned()
    }

    pub fn redis_port(&self) -> u16 {
        self.sts.ports["redis"]
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A failed scenario shows the pods' logs here: the scratch directory holding them is
        // removed with everything else.
        if std::thread::panicking() {
            for i in 0..self.pods.len() {
                eprintln!(
                    "--- {} log (last lines):\n{}",
                    self.pod_name(i),
                    self.log_tail(i)
                );
            }
        }
        self.pods.iter_mut().for_each(|p| drop(p.take()));
        for p in self.created.drain(..).rev() {
            let _ = if p.is_dir() {
                fs::remove_dir(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

fn chown(path: &Path, uid: u32, gid: u32) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::chown(c.as_ptr(), uid, gid) }, 0, "chown");
}

fn write_file(path: &Path, content: &str, mode: u32, gid: u32) {
    fs::create_dir_all(path.parent().unwrap()).expect("volume dir");
    fs::write(path, content).expect("volume file");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    chown(path, 0, gid);
}

/// What the container runtime does between fork and exec, after `Host::cmd` entered the pod's
/// network namespace (and bound its resolv.conf): a private mount namespace where the pod's
/// volumes are bind-mounted at their mountPaths, a UTS namespace whose hostname is the pod name
/// (berth takes its StatefulSet and ordinal from it), then the pod's user and groups.
fn enter_pod(
    cmd: &mut Command,
    name: &str,
    binds: &[(PathBuf, PathBuf, bool)],
    sts: &StatefulSet,
    fs_group: u32,
) {
    let run_as = sts.run_as;
    let (read_only_root, no_new_privs, drop_caps) =
        (sts.read_only_root, sts.no_new_privs, sts.drop_all_caps);
    let cstr = |p: &Path| CString::new(p.as_os_str().as_bytes()).expect("path");
    let binds: Vec<(CString, CString, bool)> = binds
        .iter()
        .map(|(s, t, ro)| (cstr(s), cstr(t), *ro))
        .collect();
    let hostname = CString::new(name).unwrap();
    let ok = |r: libc::c_int| {
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    // Only raw syscalls on data prepared above: no allocation between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let null: *const libc::c_char = std::ptr::null();
            let no_data: *const libc::c_void = std::ptr::null();
            ok(libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWUTS))?;
            // Mounts below stay in this namespace: never propagate to the host.
            let private = libc::MS_REC | libc::MS_PRIVATE;
            ok(libc::mount(null, c"/".as_ptr(), null, private, no_data))?;
            let h = hostname.as_bytes();
            ok(libc::sethostname(h.as_ptr().cast(), h.len()))?;
            for (src, target, read_only) in &binds {
                ok(libc::mount(
                    src.as_ptr(),
                    target.as_ptr(),
                    null,
                    libc::MS_BIND,
                    no_data,
                ))?;
                if *read_only {
                    let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
                    ok(libc::mount(null, target.as_ptr(), null, flags, no_data))?;
                }
            }
            // readOnlyRootFilesystem: this namespace's `/` turns read-only; the volumes are
            // mounts of their own and keep their modes.
            if read_only_root {
                let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
                ok(libc::mount(null, c"/".as_ptr(), null, flags, no_data))?;
            }
            if drop_caps {
                // Every capability out of the bounding set (the kernel knows at most 64).
                for cap in 0..64 {
                    if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                        break;
                    }
                }
            }
            if no_new_privs {
                ok(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
            }
            if let Some((uid, gid)) = run_as {
                let groups = [gid, fs_group];
                ok(libc::setgroups(2, groups.as_ptr()))?;
                ok(libc::setgid(gid))?;
                ok(libc::setuid(uid))?;
            }
            Ok(())
        });
    }
}

/// Status code of `GET path` on `addr` (the kubelet's httpGet probe), None if unreachable.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    let _ = s.take(4096).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1)?.parse().ok()
}
