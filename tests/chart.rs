//! The Helm chart (charts/berth) and the Kustomize prod overlay, checked offline: helm 3 and
//! helm 4 lint and render, renders against golden files and Kubernetes schemas, and assertions
//! on what the renders mean (names, selectors, probes, secrets, impossible values).
//!
//! Tools come from `tests/setup/helm.sh` (helm 3 and 4, and kubectl for kustomize, under
//! /opt/berth-tools or $BERTH_TOOLS; kubernetes-validate for python3). A missing tool fails the test with
//! the command to run; nothing is skipped. After a deliberate chart change, `tests/chart/regen.sh`
//! regenerates the golden files and kustomize/base.

use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHART: &str = "charts/berth";
const RELEASE: &str = "berth";
const NAMESPACE: &str = "berth";
/// (golden file name, values file)
const VALUES: [(&str, &str); 3] = [
    ("default", "values.yaml"),
    ("dev", "values-dev.yaml"),
    ("prod", "values-prod.yaml"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tools_dir() -> PathBuf {
    std::env::var_os("BERTH_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/berth-tools"))
}

/// The helm binary of one major version, or a failure telling how to install it.
fn helm(major: u32) -> PathBuf {
    let path = tools_dir().join(format!("helm{major}")).join("helm");
    assert!(
        path.is_file(),
        "{} is missing: run `bash tests/setup/helm.sh` first",
        path.display()
    );
    path
}

fn helms() -> [(u32, PathBuf); 2] {
    [(3, helm(3)), (4, helm(4))]
}

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `helm template berth charts/berth -n berth -f charts/berth/<values> <extra...>`.
fn template(helm: &Path, values: &str, extra: &[&str]) -> Output {
    run(Command::new(helm)
        .args(["template", RELEASE, CHART, "--namespace", NAMESPACE])
        .arg("--values")
        .arg(format!("{CHART}/{values}"))
        .args(extra))
}

fn render(values: &str, extra: &[&str]) -> String {
    let out = template(&helm(3), values, extra);
    assert!(
        out.ok,
        "helm template -f {values} {extra:?} failed:\n{}",
        out.stderr
    );
    out.stdout
}

fn docs(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).expect("YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

fn golden(name: &str) -> String {
    let path = root().join(format!("tests/chart/golden/{name}.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run tests/chart/regen.sh to create it",
            path.display()
        )
    })
}

/// kubectl for `kubectl kustomize`: the one tests/setup/helm.sh installs, else the PATH's.
fn kubectl() -> PathBuf {
    let tools = tools_dir().join("kubectl").join("kubectl");
    if tools.is_file() {
        return tools;
    }
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("kubectl").is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{} is missing (and no kubectl on PATH): run `bash tests/setup/helm.sh` first",
        tools.display()
    );
    PathBuf::from("kubectl")
}

fn kustomize(dir: &str) -> String {
    let out = run(Command::new(kubectl()).args(["kustomize", dir]));
    assert!(out.ok, "kubectl kustomize {dir} failed:\n{}", out.stderr);
    out.stdout
}

/// Value at a dotted path ("spec.template.spec"); numeric segments index sequences.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for seg in path.split('.') {
        cur = match seg.parse::<usize>() {
            Ok(i) => &cur[i],
            Err(_) => &cur[seg],
        };
    }
    cur
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    at(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string: {:?}", at(v, path)))
}

fn find<'a>(all: &'a [Value], kind: &str, name: &str) -> &'a Value {
    all.iter()
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name} in the render"))
}

fn of_kind<'a>(all: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    all.iter().filter(move |d| d["kind"].as_str() == Some(kind))
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    serde_yaml::from_value(v.clone()).unwrap_or_else(|e| panic!("not a string map: {v:?}: {e}"))
}

fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    string_map(selector)
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
}

/// Every pair of `selector` is in `labels`: the selector selects pods carrying those labels.
fn assert_selects(what: &str, selector: &Value, labels: &BTreeMap<String, String>) {
    let sel = string_map(selector);
    assert!(!sel.is_empty(), "{what}: empty selector");
    for (k, v) in &sel {
        assert_eq!(
            labels.get(k),
            Some(v),
            "{what}: selector {k}={v} does not match the pod labels {labels:?}"
        );
    }
}

fn berth_conf(all: &[Value]) -> String {
    find(all, "ConfigMap", "berth")["data"]["berth.conf"]
        .as_str()
        .expect("berth.conf in the ConfigMap")
        .to_string()
}

fn conf_value(conf: &str, directive: &str) -> Option<String> {
    conf.lines()
        .filter_map(|l| l.trim().split_once(' '))
        .find(|(d, _)| *d == directive)
        .map(|(_, v)| v.trim().to_string())
}

/// Every container (init, main, sidecar) of a pod spec.
fn containers(pod_spec: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|k| pod_spec[*k].as_sequence())
        .flatten()
        .collect()
}

fn pod_specs(all: &[Value]) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for d in all {
        let name = format!("{} {}", s(d, "kind"), s(d, "metadata.name"));
        match d["kind"].as_str() {
            Some("StatefulSet") => out.push((name, at(d, "spec.template.spec"))),
            Some("Pod") => out.push((name, &d["spec"])),
            _ => {}
        }
    }
    out
}

fn first_difference(a: &str, b: &str) -> String {
    let (mut al, mut bl) = (a.lines(), b.lines());
    for n in 1.. {
        match (al.next(), bl.next()) {
            (None, None) => return "identical".into(),
            (x, y) if x == y => continue,
            (x, y) => return format!("line {n}: expected {y:?}, got {x:?}"),
        }
    }
    unreachable!()
}

#[test]
fn helm_lint_is_strict_clean_on_helm3_and_helm4() {
    for (major, helm) in helms() {
        for (_, values) in VALUES {
            let out = run(Command::new(&helm)
                .args(["lint", "--strict", CHART, "--namespace", NAMESPACE])
                .arg("--values")
                .arg(format!("{CHART}/{values}")));
            let text = format!("{}{}", out.stdout, out.stderr);
            assert!(
                out.ok && text.contains("0 chart(s) failed"),
                "helm {major} lint --strict -f {values}:\n{text}"
            );
            for bad in ["[WARNING]", "[ERROR]"] {
                assert!(
                    !text.contains(bad),
                    "helm {major} lint -f {values}:\n{text}"
                );
            }
        }
    }
}

#[test]
fn renders_match_golden_files() {
    for (name, values) in VALUES {
        let want = golden(name);
        for (major, helm) in helms() {
            let out = template(&helm, values, &[]);
            assert!(out.ok, "helm {major} template -f {values}:\n{}", out.stderr);
            assert!(
                out.stdout == want,
                "helm {major} render of {values} differs from tests/chart/golden/{name}.yaml \
                 ({}); if the change is deliberate run tests/chart/regen.sh and review the diff",
                first_difference(&out.stdout, &want)
            );
        }
    }
}

/// The newest Kubernetes version kubernetes-validate has schemas for.
fn latest_kubernetes() -> String {
    let out = run(Command::new("python3").args([
        "-c",
        "import kubernetes_validate.utils as u; print(u.latest_version())",
    ]));
    assert!(
        out.ok,
        "kubernetes-validate is missing: run `bash tests/setup/helm.sh` first\n{}",
        out.stderr
    );
    out.stdout.trim().to_string()
}

fn validate(file: &Path, version: &str) -> Output {
    run(Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "-k", version])
        .arg(file))
}

#[test]
fn renders_validate_against_kubernetes_1_28_and_latest() {
    let latest = latest_kubernetes();
    let dir = std::env::temp_dir().join(format!("berth-chart-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files: Vec<PathBuf> = VALUES
        .iter()
        .map(|(name, _)| root().join(format!("tests/chart/golden/{name}.yaml")))
        .collect();
    let overlay = dir.join("overlay-prod.yaml");
    std::fs::write(&overlay, kustomize("kustomize/overlays/prod")).unwrap();
    files.push(overlay);
    // Strict mode must really reject unknown fields, or passing proves nothing.
    let typo = dir.join("typo.yaml");
    std::fs::write(
        &typo,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  clusterIP: None\n  publishNotReadyAdresses: true\n",
    )
    .unwrap();
    for version in ["1.28.0", latest.as_str()] {
        assert!(
            !validate(&typo, version).ok,
            "kubernetes-validate --strict accepted an unknown field"
        );
        for f in &files {
            let out = validate(f, version);
            let text = format!("{}{}", out.stdout, out.stderr);
            assert!(
                out.ok,
                "{} fails Kubernetes {version}:\n{text}",
                f.display()
            );
            // Only the Prometheus Operator's CRD has no schema here; everything else is checked.
            for line in text.lines().filter(|l| !l.starts_with("INFO")) {
                assert!(
                    line.contains("kind ServiceMonitor with api version monitoring.coreos.com/v1"),
                    "{} against Kubernetes {version}: {line}",
                    f.display()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pods_and_pvcs_are_named_for_statefulset_dns() {
    for (name, _) in VALUES {
        let all = docs(&golden(name));
        let sts = find(&all, "StatefulSet", "berth");
        let headless = find(&all, "Service", "berth-headless");
        let client = find(&all, "Service", "berth");
        let conf = berth_conf(&all);
        let cluster = name == "prod";

        assert_eq!(s(sts, "spec.serviceName"), "berth-headless", "{name}");
        assert_eq!(s(headless, "spec.clusterIP"), "None", "{name}");
        assert_eq!(
            at(headless, "spec.publishNotReadyAddresses").as_bool(),
            Some(true),
            "{name}: peers must resolve pods that are not ready yet"
        );
        assert_ne!(
            client["spec"]["clusterIP"].as_str(),
            Some("None"),
            "{name}: the client Service is a normal ClusterIP Service"
        );
        assert!(client["spec"]["publishNotReadyAddresses"].is_null());

        let replicas = at(sts, "spec.replicas").as_u64().unwrap();
        assert_eq!(replicas, if cluster { 3 } else { 1 }, "{name}");

        // PVCs data-<sts>-<i>, mounted at /data.
        let vct = at(sts, "spec.volumeClaimTemplates.0");
        assert_eq!(s(vct, "metadata.name"), "data", "{name}");
        assert!(!s(vct, "spec.resources.requests.storage").is_empty());
        let mounts = at(sts, "spec.template.spec.containers.0.volumeMounts");
        assert!(
            mounts
                .as_sequence()
                .unwrap()
                .iter()
                .any(|m| m["name"] == "data" && m["mountPath"] == "/data"),
            "{name}: the data volume is mounted at /data"
        );
        let retention = at(sts, "spec.persistentVolumeClaimRetentionPolicy");
        if name != "dev" {
            assert_eq!(retention["whenDeleted"], "Retain", "{name}");
            assert_eq!(retention["whenScaled"], "Retain", "{name}");
        }
        assert_eq!(s(sts, "spec.podManagementPolicy"), "Parallel", "{name}");
        for i in 0..replicas {
            let pod = format!("berth-{i}");
            let pvc = format!("data-berth-{i}");
            let dns = format!("{pod}.berth-headless.{NAMESPACE}.svc.cluster.local");
            assert!(pvc.len() <= 63 && dns.split('.').all(|l| l.len() <= 63));
        }

        assert_eq!(conf_value(&conf, "dir").as_deref(), Some("/data"));
        if cluster {
            // The server builds the same DNS names from these; they must match the objects.
            assert_eq!(conf_value(&conf, "cluster-enabled").as_deref(), Some("yes"));
            assert_eq!(
                conf_value(&conf, "cluster-statefulset").as_deref(),
                Some(s(sts, "metadata.name"))
            );
            assert_eq!(
                conf_value(&conf, "cluster-service").as_deref(),
                Some(s(headless, "metadata.name"))
            );
            assert_eq!(
                conf_value(&conf, "cluster-namespace").as_deref(),
                Some(s(sts, "metadata.namespace"))
            );
            assert_eq!(
                conf_value(&conf, "cluster-domain").as_deref(),
                Some("cluster.local")
            );
            assert_eq!(
                conf_value(&conf, "cluster-shards"),
                Some(replicas.to_string())
            );
        } else {
            assert_eq!(conf_value(&conf, "cluster-enabled"), None, "{name}");
        }
    }

    // A long name is cut so "<fullname>-headless" and "<fullname>-<i>" stay DNS labels.
    let long = "a".repeat(52);
    let all = docs(&render(
        "values-prod.yaml",
        &["--set", &format!("fullnameOverride={long}")],
    ));
    let sts = find(&all, "StatefulSet", &long);
    assert_eq!(s(sts, "spec.serviceName"), format!("{long}-headless"));
    assert!(format!("{long}-headless").len() <= 63);
    assert!(format!("data-{long}-99").len() <= 63);
    let schema = template(
        &helm(3),
        "values.yaml",
        &["--set", &format!("fullnameOverride={long}b")],
    );
    assert!(!schema.ok, "a 53-character fullnameOverride is rejected");
}

#[test]
fn pdb_and_anti_affinity_select_the_pods() {
    for (name, _) in VALUES {
        let all = docs(&golden(name));
        let sts = find(&all, "StatefulSet", "berth");
        let labels = string_map(at(sts, "spec.template.metadata.labels"));
        assert_selects(
            &format!("{name}: StatefulSet"),
            at(sts, "spec.selector.matchLabels"),
            &labels,
        );
        for svc in of_kind(&all, "Service") {
            assert_selects(
                &format!("{name}: Service {}", s(svc, "metadata.name")),
                at(svc, "spec.selector"),
                &labels,
            );
        }
        let pdbs: Vec<_> = of_kind(&all, "PodDisruptionBudget").collect();
        if name == "dev" {
            assert!(pdbs.is_empty(), "dev disables the PDB");
        } else {
            assert_eq!(pdbs.len(), 1, "{name}");
            assert_eq!(at(pdbs[0], "spec.maxUnavailable").as_u64(), Some(1));
            assert_selects(
                &format!("{name}: PDB"),
                at(pdbs[0], "spec.selector.matchLabels"),
                &labels,
            );
        }
        let spec = at(sts, "spec.template.spec");
        let anti = &spec["affinity"]["podAntiAffinity"];
        if name == "dev" {
            assert!(anti.is_null(), "dev has no anti-affinity");
        } else {
            let term = at(
                anti,
                "preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm",
            );
            assert_eq!(s(term, "topologyKey"), "kubernetes.io/hostname");
            assert_selects(
                &format!("{name}: anti-affinity"),
                at(term, "labelSelector.matchLabels"),
                &labels,
            );
        }
        if let Some(spread) = spec["topologySpreadConstraints"].as_sequence() {
            for c in spread {
                assert_selects(
                    &format!("{name}: topologySpreadConstraint"),
                    at(c, "labelSelector.matchLabels"),
                    &labels,
                );
            }
        }
        for np in of_kind(&all, "NetworkPolicy") {
            assert_selects(
                &format!("{name}: NetworkPolicy"),
                at(np, "spec.podSelector.matchLabels"),
                &labels,
            );
            // Peer traffic: the release's own pods may reach the client port.
            assert_selects(
                &format!("{name}: NetworkPolicy peer rule"),
                at(np, "spec.ingress.0.from.0.podSelector.matchLabels"),
                &labels,
            );
        }
        // The helm test pod is no server pod: no Service, PDB or anti-affinity counts it (a PDB
        // over a pod without a controller blocks evictions), yet the NetworkPolicy lets it in.
        let test_pod = string_map(at(find(&all, "Pod", "berth-test"), "metadata.labels"));
        assert!(!selects(at(sts, "spec.selector.matchLabels"), &test_pod));
        for svc in of_kind(&all, "Service") {
            assert!(!selects(at(svc, "spec.selector"), &test_pod), "{name}");
        }
        for pdb in &pdbs {
            assert!(!selects(at(pdb, "spec.selector.matchLabels"), &test_pod));
        }
        for np in of_kind(&all, "NetworkPolicy") {
            let peers = at(np, "spec.ingress.0.from").as_sequence().unwrap();
            assert!(
                peers
                    .iter()
                    .any(|p| selects(&p["podSelector"]["matchLabels"], &test_pod)),
                "{name}: the NetworkPolicy lets the helm test pod reach the client port"
            );
        }
        for sm in of_kind(&all, "ServiceMonitor") {
            let metrics = find(&all, "Service", "berth-metrics");
            assert_selects(
                &format!("{name}: ServiceMonitor"),
                at(sm, "spec.selector.matchLabels"),
                &string_map(at(metrics, "metadata.labels")),
            );
        }
    }
    // The hard preset requires one pod per node, with the same selector.
    let all = docs(&render(
        "values-prod.yaml",
        &["--set", "podAntiAffinityPreset=hard"],
    ));
    let sts = find(&all, "StatefulSet", "berth");
    let term = at(
        sts,
        "spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.0",
    );
    assert_selects(
        "hard anti-affinity",
        at(term, "labelSelector.matchLabels"),
        &string_map(at(sts, "spec.template.metadata.labels")),
    );
}

#[test]
fn no_secret_values_in_container_args() {
    const PASSWORD: &str = "s3cret-Pa55word-never-rendered";
    // The chart never takes a password value: only a Secret's name and key.
    let out = template(
        &helm(3),
        "values-prod.yaml",
        &["--set", &format!("auth.password={PASSWORD}")],
    );
    assert!(!out.ok, "auth.password is not a value of this chart");
    let out = template(
        &helm(3),
        "values-prod.yaml",
        &["--set", &format!("config.extra.requirepass={PASSWORD}")],
    );
    assert!(
        !out.ok
            && out
                .stderr
                .contains("requirepass goes through auth.existingSecret")
    );

    let all = docs(&golden("prod"));
    assert_eq!(
        of_kind(&all, "Secret").count(),
        0,
        "the chart never creates (or generates) a Secret"
    );
    let conf = berth_conf(&all);
    assert_eq!(conf_value(&conf, "requirepass"), None);
    assert_eq!(
        conf_value(&conf, "requirepass-file").as_deref(),
        Some("/etc/berth/secret/password")
    );
    let specs = pod_specs(&all);
    assert_eq!(specs.len(), 2, "the StatefulSet and the helm test pod");
    for (what, spec) in specs {
        // The password file comes from the existing Secret, mounted read-only.
        let vol = spec["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "password")
            .unwrap_or_else(|| panic!("{what}: no password volume"));
        assert_eq!(s(vol, "secret.secretName"), "berth-auth");
        for c in containers(spec) {
            let cname = s(c, "name");
            for key in ["command", "args"] {
                for arg in c[key].as_sequence().into_iter().flatten() {
                    let arg = arg.as_str().unwrap_or_default();
                    let password_flag = arg == "-a"
                        || arg.contains("requirepass")
                        || (arg.starts_with("--pass") && arg != "--password-file");
                    assert!(
                        !password_flag,
                        "{what} container {cname}: {key} carries a password: {arg:?}"
                    );
                }
            }
            for env in c["env"].as_sequence().into_iter().flatten() {
                assert!(
                    env["valueFrom"]["secretKeyRef"].is_null(),
                    "{what} container {cname}: the password goes through a file, not env"
                );
            }
        }
        let main = &containers(spec)[0];
        if what.starts_with("StatefulSet") {
            assert_eq!(
                main["args"],
                serde_yaml::from_str::<Value>("[/etc/berth/berth.conf]").unwrap(),
                "{what}: the server gets only its config file path"
            );
        }
    }
    for entry in std::fs::read_dir(root().join(CHART).join("templates")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).unwrap();
            for generator in [
                "randAlpha",
                "randAscii",
                "randNumeric",
                "genPrivateKey",
                "lookup",
            ] {
                assert!(
                    !text.contains(generator),
                    "{}: the chart never generates or looks up secrets ({generator})",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn probes_use_the_http_health_port_and_allow_a_long_data_dir_open() {
    for (name, _) in VALUES {
        let all = docs(&golden(name));
        let sts = find(&all, "StatefulSet", "berth");
        let c = at(sts, "spec.template.spec.containers.0");
        let conf = berth_conf(&all);
        let http = c["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "http")
            .expect("a port named http");
        assert_eq!(
            Some(http["containerPort"].as_u64().unwrap().to_string()),
            conf_value(&conf, "http-port"),
            "{name}: the http port is the server's http-port"
        );
        for (probe, path) in [
            ("startupProbe", "/startupz"),
            ("livenessProbe", "/livez"),
            ("readinessProbe", "/readyz"),
        ] {
            let p = &c[probe];
            assert_eq!(s(p, "httpGet.path"), path, "{name} {probe}");
            assert_eq!(s(p, "httpGet.port"), "http", "{name} {probe}");
            assert!(p["exec"].is_null(), "{name}: no shell in the image");
        }
        let startup = &c["startupProbe"];
        let budget = startup["periodSeconds"].as_u64().unwrap()
            * startup["failureThreshold"].as_u64().unwrap();
        assert!(
            budget >= 1800,
            "{name}: the startup probe allows only {budget} s to open the data dir"
        );
        let grace = at(sts, "spec.template.spec.terminationGracePeriodSeconds")
            .as_u64()
            .unwrap();
        assert!(
            (30..=120).contains(&grace),
            "{name}: grace period {grace} s"
        );
        assert!(at(sts, "spec.minReadySeconds").as_u64().is_some());
    }
}

#[test]
fn config_changes_roll_the_pods() {
    let checksum = |extra: &[&str]| {
        let all = docs(&render("values-prod.yaml", extra));
        s(
            find(&all, "StatefulSet", "berth"),
            "spec.template.metadata.annotations.checksum/config",
        )
        .to_string()
    };
    let base = checksum(&[]);
    assert_eq!(base.len(), 64, "a sha256 of the rendered berth.conf");
    assert_eq!(base, checksum(&[]), "stable across renders");
    assert_ne!(base, checksum(&["--set", "config.appendfsync=everysec"]));
    assert_ne!(base, checksum(&["--set", "config.extra.hz=20"]));
}

#[test]
fn pods_run_with_secure_defaults() {
    for (name, _) in VALUES {
        let all = docs(&golden(name));
        for (what, spec) in pod_specs(&all) {
            let what = format!("{name}: {what}");
            assert_eq!(
                spec["automountServiceAccountToken"].as_bool(),
                Some(false),
                "{what}"
            );
            let psc = &spec["securityContext"];
            assert_eq!(psc["runAsNonRoot"].as_bool(), Some(true), "{what}");
            assert_eq!(psc["runAsUser"].as_u64(), Some(10001), "{what}");
            assert_eq!(psc["runAsGroup"].as_u64(), Some(10001), "{what}");
            assert_eq!(psc["fsGroup"].as_u64(), Some(10001), "{what}");
            assert_eq!(s(psc, "seccompProfile.type"), "RuntimeDefault", "{what}");
            for c in containers(spec) {
                let csc = &c["securityContext"];
                assert_eq!(
                    csc["readOnlyRootFilesystem"].as_bool(),
                    Some(true),
                    "{what}"
                );
                assert_eq!(
                    csc["allowPrivilegeEscalation"].as_bool(),
                    Some(false),
                    "{what}"
                );
                assert_eq!(csc["capabilities"]["drop"][0], "ALL", "{what}");
            }
        }
        for sa in of_kind(&all, "ServiceAccount") {
            assert_eq!(sa["automountServiceAccountToken"].as_bool(), Some(false));
        }
    }
}

#[test]
fn helm_test_pod_checks_through_the_service_with_the_berth_image() {
    for (name, _) in VALUES {
        let all = docs(&golden(name));
        let pod = find(&all, "Pod", "berth-test");
        assert_eq!(pod["metadata"]["annotations"]["helm.sh/hook"], "test");
        let sts = find(&all, "StatefulSet", "berth");
        let c = at(pod, "spec.containers.0");
        assert_eq!(
            s(c, "image"),
            s(sts, "spec.template.spec.containers.0.image"),
            "{name}: the test runs the berth image's own client"
        );
        let args: Vec<&str> = c["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            args[..3],
            ["check", "--host", "berth.berth.svc.cluster.local"]
        );
        assert_eq!(args[3..5], ["--port", "6379"]);
        assert_eq!(
            args.contains(&"--cluster"),
            name == "prod",
            "{name}: {args:?}"
        );
        assert_eq!(
            args.contains(&"--password-file"),
            name == "prod",
            "{name}: {args:?}"
        );
    }
}

/// Drops what the prod overlay adds or changes (and the berth container's resources, which it
/// replaces), so the rest can be compared with the base.
fn strip_overlay(mut doc: Value) -> Value {
    fn drop_labels(m: &mut Value) {
        if let Some(l) = m["labels"].as_mapping_mut() {
            l.remove("environment");
            l.remove("team");
        }
    }
    drop_labels(&mut doc["metadata"]);
    if doc["kind"] == "StatefulSet" {
        drop_labels(&mut doc["spec"]["template"]["metadata"]);
        for vct in doc["spec"]["volumeClaimTemplates"]
            .as_sequence_mut()
            .into_iter()
            .flatten()
        {
            drop_labels(&mut vct["metadata"]);
        }
        let spec = &mut doc["spec"]["template"]["spec"];
        spec.as_mapping_mut().unwrap().remove("imagePullSecrets");
        let keep = |name: &str| !["log-exporter", "logs", "log-exporter-config"].contains(&name);
        for list in ["containers", "volumes"] {
            spec[list]
                .as_sequence_mut()
                .unwrap()
                .retain(|v| keep(v["name"].as_str().unwrap()));
        }
        let berth = &mut spec["containers"][0];
        berth.as_mapping_mut().unwrap().remove("resources");
        // The overlay's only argument change: the log goes to the shared volume.
        let args = berth["args"].as_sequence_mut().unwrap();
        if args.len() == 3 && args[1] == "--logfile" && args[2] == "/var/log/berth/berth.log" {
            args.truncate(1);
        }
        berth["volumeMounts"]
            .as_sequence_mut()
            .unwrap()
            .retain(|v| keep(v["name"].as_str().unwrap()));
    }
    doc
}

#[test]
fn kustomize_overlay_adds_pull_secret_and_sidecar_without_touching_the_chart() {
    let overlay_dir = root().join("kustomize/overlays/prod");
    let kustomization = std::fs::read_to_string(overlay_dir.join("kustomization.yaml")).unwrap();
    // Kustomize v5 idioms.
    assert!(kustomization.contains("\npatches:"));
    assert!(!kustomization.contains("patchesStrategicMerge"));
    assert!(!kustomization.contains("commonLabels"));
    assert!(kustomization.contains("includeSelectors: false"));
    for entry in std::fs::read_dir(&overlay_dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains("charts/"),
            "the overlay builds on the base render only"
        );
    }

    let base = docs(&kustomize("kustomize/base"));
    let built = docs(&kustomize("kustomize/overlays/prod"));
    let sts = find(&built, "StatefulSet", "berth");
    let spec = at(sts, "spec.template.spec");
    assert!(
        spec["imagePullSecrets"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "registry-credentials"),
        "the overlay's imagePullSecret"
    );
    let names: Vec<&str> = spec["containers"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["berth", "log-exporter"]);
    assert_eq!(
        at(spec, "containers.0")["args"],
        serde_yaml::from_str::<Value>(
            "[/etc/berth/berth.conf, --logfile, /var/log/berth/berth.log]"
        )
        .unwrap(),
        "berth logs to the volume the sidecar tails"
    );
    let sidecar = at(spec, "containers.1");
    assert!(s(sidecar, "image").contains("fluent-bit"));
    assert_eq!(s(at(spec, "containers.0"), "resources.requests.cpu"), "2");
    // Labels reach metadata and pod templates, never the immutable selector.
    assert_eq!(s(sts, "metadata.labels.environment"), "prod");
    assert_eq!(s(sts, "spec.template.metadata.labels.environment"), "prod");
    assert!(at(sts, "spec.selector.matchLabels.environment").is_null());
    for svc in of_kind(&built, "Service") {
        assert!(svc["spec"]["selector"]["environment"].is_null());
    }
    // The namespace is baked into berth.conf (shards find each other by DNS with it).
    for d in &built {
        assert_eq!(s(d, "metadata.namespace"), NAMESPACE, "{d:?}");
    }
    assert_eq!(
        conf_value(&berth_conf(&built), "cluster-namespace").as_deref(),
        Some(NAMESPACE),
        "overlay namespace and the base's cluster-namespace must agree"
    );
    // The generated fluent-bit ConfigMap is referenced under its hashed name.
    let generated = of_kind(&built, "ConfigMap")
        .map(|c| s(c, "metadata.name"))
        .find(|n| n.starts_with("berth-log-exporter-"))
        .expect("the fluent-bit ConfigMap");
    assert!(spec["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|v| v["configMap"]["name"].as_str() == Some(generated)));

    // Everything else is exactly the chart's render.
    for b in &base {
        let kind = s(b, "kind");
        let name = s(b, "metadata.name");
        let o = strip_overlay(find(&built, kind, name).clone());
        let b = strip_overlay(b.clone());
        assert_eq!(o, b, "the overlay changed {kind} {name} beyond its patches");
    }
    assert_eq!(
        built.len(),
        base.len() + 1,
        "base objects + the fluent-bit ConfigMap"
    );
}

#[test]
fn kustomize_base_is_fresh() {
    let committed = std::fs::read_to_string(root().join("kustomize/base/berth.yaml")).unwrap();
    for (major, helm) in helms() {
        let out = template(&helm, "values-prod.yaml", &["--skip-tests"]);
        assert!(out.ok, "helm {major}: {}", out.stderr);
        let body: String = committed
            .lines()
            .skip_while(|l| l.starts_with("# GENERATED") || l.starts_with("# helm template"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            body == out.stdout,
            "kustomize/base/berth.yaml is stale against helm {major} ({}): run tests/chart/regen.sh",
            first_difference(&out.stdout, &body)
        );
    }
    assert!(
        !committed.contains("berth-test"),
        "the helm test pod stays out of the kustomize base"
    );
}

#[test]
fn impossible_values_fail_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["mode=cluster", "persistence.enabled=false"],
            "mode=cluster requires persistence.enabled=true",
        ),
        (
            &["mode=cluster", "cluster.shards=0"],
            "cluster.shards must be at least 1 (got 0)",
        ),
        (
            &["cluster.shards=-2"],
            "cluster.shards must be at least 1 (got -2)",
        ),
        (
            &["auth.enabled=true"],
            "auth.enabled=true requires auth.existingSecret",
        ),
        (
            &["auth.existingSecret=pw"],
            "auth.existingSecret is set but auth.enabled=false",
        ),
        (
            &["metrics.serviceMonitor.enabled=true"],
            "metrics.serviceMonitor.enabled=true requires metrics.enabled=true",
        ),
        (
            &["config.httpPort=6379"],
            "config.port and config.httpPort must differ",
        ),
        (
            &["updateStrategy.partition=2"],
            "updateStrategy.partition (2) is above the pod count (1)",
        ),
        (
            &["updateStrategy.type=OnDelete", "updateStrategy.partition=1"],
            "updateStrategy.partition only applies to type=RollingUpdate",
        ),
        (
            &["config.cacheSize=1gb"],
            "config.cacheSize (1gb) needs resources.limits.memory (768Mi) of at least twice it plus 128Mi",
        ),
        (
            &["resources.limits.memory=383Mi"],
            "config.cacheSize (128mb) needs resources.limits.memory (383Mi) of at least twice it plus 128Mi",
        ),
        (
            &["config.extra.cluster-shards=5"],
            "config.extra.cluster-shards is set by the chart",
        ),
    ];
    for (major, helm) in helms() {
        for (sets, message) in cases {
            let mut args = Vec::new();
            for set in *sets {
                args.extend(["--set", set]);
            }
            let out = template(&helm, "values.yaml", &args);
            assert!(!out.ok, "helm {major} accepted {sets:?}");
            assert!(
                out.stderr.contains("berth: invalid values") && out.stderr.contains(message),
                "helm {major} {sets:?}: expected {message:?} in:\n{}",
                out.stderr
            );
        }
        // Standalone without persistence is allowed (an emptyDir).
        let out = template(
            &helm,
            "values.yaml",
            &["--set", "persistence.enabled=false"],
        );
        assert!(out.ok, "{}", out.stderr);
        let all = docs(&out.stdout);
        let sts = find(&all, "StatefulSet", "berth");
        assert!(at(sts, "spec.volumeClaimTemplates").is_null());
        assert!(at(sts, "spec.template.spec.volumes")
            .as_sequence()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "data" && !v["emptyDir"].is_null()));
    }
}

#[test]
fn schema_rejects_typos() {
    let cases: &[(&str, &str)] = &[
        ("persistance.size=1Gi", "persistance"),
        ("config.appendfsinc=always", "appendfsinc"),
        ("cluster.shard=3", "shard"),
        ("mode=clustered", "mode"),
        ("config.appendfsync=sometimes", "appendfsync"),
        ("cluster.shards=three", "shards"),
        (
            "persistence.retentionPolicy.whenDeleted=Keep",
            "whenDeleted",
        ),
        ("podManagementPolicy=Ordered", "podManagementPolicy"),
        ("updateStrategy.type=Recreate", "type"),
        ("podAntiAffinityPreset=medium", "podAntiAffinityPreset"),
        ("config.logFormat=yaml", "logFormat"),
        ("metrics.servicemonitor.enabled=true", "servicemonitor"),
    ];
    for (major, helm) in helms() {
        for (set, key) in cases {
            let out = template(&helm, "values.yaml", &["--set", set]);
            assert!(!out.ok, "helm {major} accepted --set {set}");
            let err = out.stderr.to_lowercase();
            assert!(
                err.contains("schema") && err.contains(&key.to_lowercase()),
                "helm {major} --set {set}: the error should name the schema and {key:?}:\n{}",
                out.stderr
            );
        }
        // And the documented values pass.
        for (_, values) in VALUES {
            assert!(template(&helm, values, &[]).ok);
        }
    }
}

#[test]
fn chart_readme_documents_every_value_and_the_runbooks() {
    let readme = std::fs::read_to_string(root().join(CHART).join("README.md")).unwrap();
    let values: Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join(CHART).join("values.yaml")).unwrap(),
    )
    .unwrap();
    // Documented whole rather than key by key.
    const WHOLE: [&str; 3] = [
        "resources",
        "podSecurityContext",
        "containerSecurityContext",
    ];
    fn leaves(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v.as_mapping() {
            Some(m) if !m.is_empty() && !WHOLE.contains(&prefix) => {
                for (k, v) in m {
                    let k = k.as_str().unwrap();
                    let path = if prefix.is_empty() {
                        k.to_string()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&path, v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    let mut keys = Vec::new();
    leaves("", &values, &mut keys);
    assert!(keys.len() > 50);
    for key in keys {
        assert!(
            readme.contains(&format!("| `{key}` |")),
            "charts/berth/README.md's values table lacks `{key}`"
        );
    }
    for topic in [
        "--cascade=orphan",
        "`podManagementPolicy: Parallel`",
        "`appendfsync always` in prod",
        "helm test",
        "helm upgrade",
    ] {
        assert!(readme.contains(topic), "charts/berth/README.md: {topic}");
    }
}

#[test]
fn notes_explain_how_to_connect_without_putting_the_password_in_a_command_line() {
    // helm 4 renders NOTES.txt offline (`install --dry-run=client`); helm 3 needs a cluster.
    let notes = |values: &str| {
        let out = run(Command::new(helm(4))
            .args(["install", RELEASE, CHART, "--namespace", NAMESPACE])
            .args(["--dry-run=client", "--values"])
            .arg(format!("{CHART}/{values}")));
        assert!(
            out.ok,
            "helm 4 install --dry-run -f {values}:\n{}",
            out.stderr
        );
        let at = out.stdout.find("NOTES:").expect("NOTES in the output");
        out.stdout[at..].to_string()
    };
    let prod = notes("values-prod.yaml");
    for want in [
        "3-shard cluster",
        "redis-cli -c -h berth -p 6379",
        "berth-0.berth-headless.berth.svc.cluster.local",
        "--password-file /etc/berth/secret/password --cluster",
        "helm test berth -n berth",
    ] {
        assert!(
            prod.replace("<i>", "0").contains(want),
            "prod NOTES lack {want:?}:\n{prod}"
        );
    }
    let dev = notes("values-dev.yaml");
    assert!(
        dev.contains("kubectl -n berth port-forward svc/berth 6379:redis"),
        "{dev}"
    );
    assert!(!dev.contains("redis-cli -c"), "{dev}");
    for text in [&prod, &dev] {
        assert!(
            !text.contains(" -a "),
            "no password on a command line:\n{text}"
        );
    }
}
