//! The scenarios: installs of the rendered chart driven with real clients (redis-cli, redis-py).

use std::time::Duration;

use super::net::run_for;
use super::render;
use super::sts::{Cluster, Event};

/// The Secret prod values reference (`auth.existingSecret`): the harness creates its content.
const PASSWORD: &str = "e2e-test-password";
const PROD_SECRETS: &[(&str, &str, &str)] = &[("berth-auth", "password", PASSWORD)];

/// redis-py in the client namespace: `prelude` connects as `rc`, then `body`; its stdout.
fn python(c: &Cluster, body: &str) -> String {
    let script = format!(
        "import redis\nfrom redis.cluster import RedisCluster\n\
         rc = RedisCluster(host={:?}, port={}, password={:?}, socket_timeout=5)\n{body}",
        c.headless_service(),
        c.redis_port(),
        c.password.clone().unwrap_or_default(),
    );
    let out = run_for(
        c.net.client_cmd("python3").args(["-c", &script]),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "redis-py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Dev values: one standalone pod; SET, GET, INCR through the client Service's name.
pub fn dev_install() {
    let r = render::helm("dev", "dev", "values-dev.yaml");
    let mut c = Cluster::new("dev", &r, &[]);
    assert_eq!(c.sts.replicas, 1);
    c.create_all();
    let svc = c.client_service();
    assert_eq!(c.cli(&svc, &["SET", "greeting", "hello"]), "OK");
    assert_eq!(c.cli(&svc, &["GET", "greeting"]), "hello");
    assert_eq!(c.cli(&svc, &["INCR", "counter"]), "1");
    assert_eq!(c.cli(&svc, &["INCR", "counter"]), "2");
    // As the container runtime would run it: hostname = pod name, the render's runAsUser.
    let pod = c.pod(0).expect("pod 0");
    assert_eq!(pod.hostname(), "dev-berth-0");
    assert_eq!(pod.uid(), c.sts.run_as.map_or(0, |(uid, _)| uid));
}

/// Prod values: three shards from the render (password from the Secret file), through any
/// pod's name with `redis-cli -c`, `--cluster check` clean, and redis-py RedisCluster from the
/// headless Service's name writing and reading 10,000 keys.
pub fn prod_install() {
    let r = render::helm("prod", "prod", "values-prod.yaml");
    let mut c = Cluster::new("prod", &r, PROD_SECRETS);
    prod_checks(&mut c);
}

/// The prod scenario from the Kustomize prod overlay: its fluent-bit sidecar is not run (a log
/// line says so), its imagePullSecret must have been created, and berth's `--logfile` lands in
/// the shared emptyDir.
pub fn prod_overlay() {
    let r = render::kustomize("kustomize/overlays/prod");
    let secrets = [
        ("berth-auth", "password", PASSWORD),
        (
            "registry-credentials",
            ".dockerconfigjson",
            "{\"auths\":{}}",
        ),
    ];
    let mut c = Cluster::new("overlay", &r, &secrets);
    assert_eq!(c.sts.image_pull_secrets, ["registry-credentials"]);
    prod_checks(&mut c);
    let log = c.empty_dir_file(0, "logs", "berth.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.is_empty(), "{} is empty", log.display());
}

fn prod_checks(c: &mut Cluster) {
    assert_eq!(c.sts.replicas, 3);
    c.create_all();
    wait_cluster_ok(c);
    for i in 0..c.sts.replicas {
        let pod = c.pod_fqdn(i);
        let key = format!("key-via-{i}");
        assert_eq!(c.cli(&pod, &["-c", "SET", &key, "v"]), "OK");
        for j in 0..c.sts.replicas {
            assert_eq!(c.cli(&c.pod_fqdn(j), &["-c", "GET", &key]), "v");
        }
    }
    let check = cluster_check(c, 0);
    assert!(check.contains("[OK] All 16384 slots covered"), "{check}");
    assert!(
        !check.contains("[ERR]") && !check.contains("[WARNING]"),
        "{check}"
    );
    let n = python(
        c,
        "for i in range(10000):\n    rc.set(f'k{i}', f'v{i}')\n\
         bad = [i for i in range(10000) if rc.get(f'k{i}') != f'v{i}'.encode()]\n\
         assert not bad, bad[:10]\nprint(len(bad))",
    );
    assert_eq!(n, "0");
    let total: usize = (0..c.sts.replicas)
        .map(|i| c.cli(&c.pod_fqdn(i), &["DBSIZE"]).parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, 10_000 + c.sts.replicas, "keys over all shards");
}

/// OrderedReady (prod values with `podManagementPolicy=OrderedReady`): the controller creates
/// each pod only once the previous one passes its rendered readiness probe, and the shards still
/// form a cluster (readiness is per pod, never the cluster's). The same install checks the pod
/// as the kubelet sets it up: downward-API env from `extraEnv`, a read-only root filesystem.
pub fn ordered_ready() {
    let env = r#"[{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},
        {"name":"POD_IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}},
        {"name":"BERTH_PASSWORD","valueFrom":{"secretKeyRef":{"name":"berth-auth","key":"password"}}}]"#;
    let r = render::helm_with(
        "ord",
        "ord",
        "values-prod.yaml",
        &[
            "--set",
            "podManagementPolicy=OrderedReady",
            "--set-json",
            &format!("extraEnv={}", env.replace('\n', "")),
        ],
    );
    let mut c = Cluster::new("ord", &r, PROD_SECRETS);
    assert!(!c.sts.parallel);
    c.create_all();
    let expected: Vec<(Event, usize)> = (0..c.sts.replicas)
        .flat_map(|i| [(Event::Spawned, i), (Event::Ready, i)])
        .collect();
    assert_eq!(
        c.events, expected,
        "OrderedReady: each pod ready before the next"
    );
    wait_cluster_ok(&c);
    let check = cluster_check(&c, 2);
    assert!(check.contains("[OK] All 16384 slots covered"), "{check}");
    let pod = c.pod(1).expect("pod 1");
    let environ = pod.environ();
    for var in [
        "POD_NAME=ord-berth-1".to_string(),
        format!("POD_IP={}", pod.ip),
        format!("BERTH_PASSWORD={PASSWORD}"),
    ] {
        assert!(environ.contains(&var), "{var} not in {environ:?}");
    }
    assert!(
        c.sts.read_only_root,
        "the chart sets readOnlyRootFilesystem"
    );
    let opts = pod.root_mount_options();
    assert!(opts.split(',').any(|o| o == "ro"), "/ mounted {opts}");
}

fn count_lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Waits until the writer's acknowledgement file has `n` lines.
fn wait_acks(path: &std::path::Path, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while count_lines(path) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "writer acknowledged {} writes, waiting for {n}",
            count_lines(path)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Rolling restart under load: a redis-py writer keeps writing (recording each acknowledged
/// key) while the harness restarts the pods in reverse ordinal order down to the partition
/// (`--set updateStrategy.partition=1`: pod 0 keeps running); no acknowledged write is lost.
pub fn rolling_restart() {
    let r = render::helm_with(
        "roll",
        "roll",
        "values-prod.yaml",
        &["--set", "updateStrategy.partition=1"],
    );
    let mut c = Cluster::new("roll", &r, PROD_SECRETS);
    assert_eq!(c.sts.partition, 1);
    c.create_all();
    wait_cluster_ok(&c);
    let stop = c.net.dir().join("stop-writer");
    let acked = c.net.dir().join("acked");
    let script = format!(
        "import redis, os, time\nfrom redis.cluster import RedisCluster\n\
         rc = RedisCluster(host={:?}, port={}, password={:?}, socket_timeout=2,\n\
         \x20   socket_connect_timeout=0.5)\n\
         out = open({:?}, 'w')\nn = 0\n\
         while not os.path.exists({:?}):\n\
         \x20   n += 1\n\
         \x20   try:\n\
         \x20       rc.set(f'w{{n}}', str(n))\n\
         \x20       out.write(f'{{n}}\\n'); out.flush()\n\
         \x20   except Exception:\n\
         \x20       time.sleep(0.05)\n",
        c.headless_service(),
        c.redis_port(),
        c.password.clone().unwrap_or_default(),
        acked.display().to_string(),
        stop.display().to_string(),
    );
    let mut writer = c
        .net
        .client_cmd("python3")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("writer");
    // Under load means the writer is acknowledging writes before the restart and again after
    // it (a slow machine may take seconds to start python or to reconnect).
    wait_acks(&acked, 50);
    let pod0 = c.pod(0).expect("pod 0").pid();
    c.rolling_restart(|c, _| wait_cluster_ok(c));
    assert_eq!(
        c.pod(0).expect("pod 0").pid(),
        pod0,
        "pod 0 is below the partition"
    );
    wait_acks(&acked, count_lines(&acked) + 50);
    std::fs::write(&stop, "").unwrap();
    let st = writer.wait().expect("writer");
    assert!(st.success(), "writer: {st}");
    let acked: Vec<String> = std::fs::read_to_string(&acked)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        acked.len() > 100,
        "only {} writes acknowledged",
        acked.len()
    );
    let check = python(
        &c,
        &format!(
            "acked = open({:?}).read().split()\n\
             lost = [n for n in acked if rc.get(f'w{{n}}') != n.encode()]\n\
             print(len(acked), len(lost), lost[:5])",
            c.net.dir().join("acked").display().to_string()
        ),
    );
    assert!(
        check.ends_with(" 0 []"),
        "acknowledged writes lost: {check}"
    );
    println!("  e2e: {check}");
}

/// `redis-cli --cluster check` against pod `i` (by IP: the tool wants an address).
fn cluster_check(c: &Cluster, i: usize) -> String {
    let addr = format!("{}:{}", c.pod(i).expect("pod").ip, c.redis_port());
    let mut cmd = c.net.client_cmd("redis-cli");
    if let Some(pw) = &c.password {
        cmd.args(["-a", pw, "--no-auth-warning"]);
    }
    let out = run_for(
        cmd.args(["--cluster", "check", &addr]),
        Duration::from_secs(30),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until every pod reports `cluster_state:ok` with every slot ok (with
/// cluster-require-full-coverage no, the state alone stays ok while peers are unreachable).
fn wait_cluster_ok(c: &Cluster) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for i in 0..c.sts.replicas {
        loop {
            let info = c.cli(&c.pod_fqdn(i), &["CLUSTER", "INFO"]);
            if info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pod {i}: {info}\n{}",
                c.log_tail(i)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// redis-py: the keys `k0`..`k9999` whose slot `pod1` owns or not, read one by one; prints
/// `ok <n>` with the number read back correctly and the failures.
const READ_BACK: &str = "\
def read(keep):
    good, bad = 0, []
    for i in range(10000):
        k = f'k{i}'
        if not keep(rc.keyslot(k)):
            continue
        try:
            if rc.get(k) == f'v{i}'.encode():
                good += 1
            else:
                bad.append(k)
        except Exception as e:
            bad.append(f'{k}: {e!r}')
    return good, bad
";

/// Slots of ordinal 1 of 3 shards (berth: ordinal i owns the i-th third of the slots).
const POD1_SLOTS: &str = "(lambda s: 5461 <= s <= 10922)";

/// The pet test in cluster mode: 10,000 keys, pod-1 SIGKILLed; the other shards' keys keep
/// answering; pod-1 comes back with a new IP on its claim; every key reads back, cluster ok.
pub fn pet_prod() {
    let r = render::helm("pet", "pet", "values-prod.yaml");
    let mut c = Cluster::new("pet", &r, PROD_SECRETS);
    c.create_all();
    wait_cluster_ok(&c);
    python(&c, "for i in range(10000):\n    rc.set(f'k{i}', f'v{i}')");
    let old_ip = c.pod(1).expect("pod 1").ip;
    c.kill(1);
    let others = python(
        &c,
        &format!(
            "{READ_BACK}good, bad = read(lambda s: not {POD1_SLOTS}(s))\n\
             print(good, len(bad), bad[:5])"
        ),
    );
    let good: usize = others.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        others.contains(" 0 []"),
        "other shards during the outage: {others}"
    );
    assert!(
        good > 6000,
        "other shards hold two thirds of the keys: {others}"
    );
    c.create(1);
    assert_ne!(
        c.pod(1).expect("pod 1").ip,
        old_ip,
        "a recreated pod gets a new IP"
    );
    wait_cluster_ok(&c);
    let all = python(
        &c,
        &format!("{READ_BACK}good, bad = read(lambda s: True)\nprint(good, len(bad), bad[:5])"),
    );
    assert_eq!(all, "10000 0 []");
}

/// The pet test in dev mode: the single pod SIGKILLed and recreated on its claim. Dev values
/// use appendfsync everysec, so the test waits 2 s after the last write before the kill (the
/// window everysec may lose is documented, not tested here).
pub fn pet_dev() {
    let r = render::helm("petdev", "petdev", "values-dev.yaml");
    let mut c = Cluster::new("petdev", &r, &[]);
    c.create_all();
    let svc = c.client_service();
    let script = format!(
        "import redis\nr = redis.Redis(host={svc:?}, port={}, socket_timeout=5)\n\
         p = r.pipeline(transaction=False)\n\
         for i in range(10000):\n    p.set(f'k{{i}}', f'v{{i}}')\n\
         p.execute()\nprint(r.dbsize())",
        c.redis_port()
    );
    let out = run_for(
        c.net.client_cmd("python3").args(["-c", &script]),
        Duration::from_secs(60),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "10000");
    std::thread::sleep(Duration::from_secs(2));
    let old_ip = c.pod(0).expect("pod 0").ip;
    c.kill(0);
    c.create(0);
    assert_ne!(c.pod(0).expect("pod 0").ip, old_ip);
    assert_eq!(c.cli(&svc, &["DBSIZE"]), "10000");
    assert_eq!(c.cli(&svc, &["GET", "k9999"]), "v9999");
}

/// DNS late: every pod starts before any record exists (reached here by IP only); once the
/// records appear the cluster converges without restarts.
pub fn dns_late() {
    let r = render::helm("late", "late", "values-prod.yaml");
    let mut c = Cluster::new("late", &r, PROD_SECRETS);
    c.dns_enabled = false;
    c.create_all();
    std::thread::sleep(Duration::from_secs(1));
    for i in 0..c.sts.replicas {
        let ip = c.pod(i).expect("pod").ip.to_string();
        let info = c.cli(&ip, &["CLUSTER", "INFO"]);
        // cluster-require-full-coverage no: the state stays ok, the peers' slots are pfail.
        assert!(
            !info.contains("cluster_slots_ok:16384"),
            "pod {i} reaches its peers without their records:\n{info}"
        );
        assert!(c.net.resolve(&c.pod_fqdn(i)).is_none());
    }
    c.dns_enabled = true;
    c.sync_dns();
    wait_cluster_ok(&c);
    let check = cluster_check(&c, 2);
    assert!(check.contains("[OK] All 16384 slots covered"), "{check}");
    for i in 0..c.sts.replicas {
        assert_eq!(
            c.cli(&c.pod_fqdn(i), &["-c", "SET", &format!("late{i}"), "x"]),
            "OK"
        );
    }
}
