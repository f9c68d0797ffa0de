//! The Kubernetes objects the harness runs, read from a real render: `helm template` (dev and
//! prod values) or `kubectl kustomize` (the prod overlay). Only what the harness needs is kept;
//! anything it cannot emulate is either ignored with a log line or a test failure.

use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::net::run_for;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tool(rel: &str, hint: &str) -> PathBuf {
    let path = Path::new("/opt/berth-tools").join(rel);
    assert!(path.is_file(), "{} is missing: {hint}", path.display());
    path
}

/// `helm template <release> charts/berth -n <namespace> -f charts/berth/<values>`.
pub fn helm(release: &str, namespace: &str, values: &str) -> Render {
    helm_with(release, namespace, values, &[])
}

/// `helm` with extra arguments (e.g. `--set updateStrategy.partition=1`).
pub fn helm_with(release: &str, namespace: &str, values: &str, extra: &[&str]) -> Render {
    let helm = tool("helm3/helm", "run `bash tests/setup/helm.sh` first");
    let out = run_for(
        Command::new(helm)
            .current_dir(root())
            .args(["template", release, "charts/berth", "-n", namespace, "-f"])
            .arg(Path::new("charts/berth").join(values))
            .args(extra),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "helm template -f {values}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Render::parse(&String::from_utf8_lossy(&out.stdout))
}

/// `kubectl kustomize <dir>` (dir relative to the repository root).
pub fn kustomize(dir: &str) -> Render {
    let kubectl = tool("kubectl/kubectl", "run `bash tests/setup/helm.sh` first");
    let out = run_for(
        Command::new(kubectl)
            .current_dir(root())
            .args(["kustomize", dir]),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "kubectl kustomize {dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Render::parse(&String::from_utf8_lossy(&out.stdout))
}

/// All documents of one render.
pub struct Render {
    pub docs: Vec<Value>,
}

/// Walks `a.b.c` through mappings; Null when missing.
pub fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .unwrap_or(&NULL)
}

pub fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    at(v, path).as_str().unwrap_or("")
}

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or(&[])
}

impl Render {
    fn parse(text: &str) -> Render {
        let docs = serde_yaml::Deserializer::from_str(text)
            .map(|d| serde::Deserialize::deserialize(d).expect("render is YAML"))
            .filter(|v: &Value| !v.is_null())
            .collect();
        Render { docs }
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.docs.iter().filter(move |d| str_at(d, "kind") == kind)
    }

    fn find<'a>(&'a self, kind: &'a str, name: &str) -> Option<&'a Value> {
        self.of_kind(kind)
            .find(|d| str_at(d, "metadata.name") == name)
    }

    /// The one StatefulSet, with its pod template resolved against the render's ConfigMaps.
    pub fn statefulset(&self) -> StatefulSet {
        let all: Vec<&Value> = self.of_kind("StatefulSet").collect();
        assert_eq!(all.len(), 1, "the render has one StatefulSet");
        let sts = all[0];
        let spec = at(sts, "spec");
        let pod = at(spec, "template.spec");
        let containers = seq(at(pod, "containers"));
        let main = containers
            .iter()
            .find(|c| str_at(c, "name") == "berth")
            .expect("a container named berth");
        for c in containers {
            if str_at(c, "name") != "berth" {
                println!(
                    "  e2e: container {:?} ({}) is not run by the harness",
                    str_at(c, "name"),
                    str_at(c, "image")
                );
            }
        }
        let ports: BTreeMap<String, u16> = seq(at(main, "ports"))
            .iter()
            .map(|p| {
                let port = at(p, "containerPort").as_u64().expect("containerPort");
                (str_at(p, "name").to_owned(), port as u16)
            })
            .collect();
        let probe = |which: &str| {
            let p = at(main, which);
            (!p.is_null()).then(|| {
                let port = at(p, "httpGet.port");
                let port = match port.as_u64() {
                    Some(n) => n as u16,
                    None => ports[port.as_str().expect("probe port")],
                };
                Probe {
                    path: str_at(p, "httpGet.path").to_owned(),
                    port,
                }
            })
        };
        let claims: Vec<String> = seq(at(spec, "volumeClaimTemplates"))
            .iter()
            .map(|c| str_at(c, "metadata.name").to_owned())
            .collect();
        let volumes = seq(at(pod, "volumes"));
        let mut mounts = Vec::new();
        for m in seq(at(main, "volumeMounts")) {
            let name = str_at(m, "name");
            let sub_path = str_at(m, "subPath");
            let source = if claims.iter().any(|c| c == name) {
                Source::Claim(name.to_owned())
            } else {
                let v = volumes
                    .iter()
                    .find(|v| str_at(v, "name") == name)
                    .unwrap_or_else(|| panic!("volume {name} is not in the pod spec"));
                if !at(v, "configMap").is_null() {
                    let cm = str_at(v, "configMap.name");
                    let data = self
                        .find("ConfigMap", cm)
                        .map(|c| string_map(at(c, "data")))
                        .unwrap_or_else(|| panic!("ConfigMap {cm} is not in the render"));
                    Source::Files {
                        files: items(at(v, "configMap.items"), data),
                        mode: at(v, "configMap.defaultMode").as_u64().unwrap_or(0o644) as u32,
                    }
                } else if !at(v, "secret").is_null() {
                    Source::Secret {
                        name: str_at(v, "secret.secretName").to_owned(),
                        items: seq(at(v, "secret.items"))
                            .iter()
                            .map(|i| (str_at(i, "key").to_owned(), str_at(i, "path").to_owned()))
                            .collect(),
                        mode: at(v, "secret.defaultMode").as_u64().unwrap_or(0o644) as u32,
                    }
                } else if !at(v, "emptyDir").is_null() {
                    Source::EmptyDir
                } else {
                    panic!(
                        "volume {name}: only configMap, secret, emptyDir and claims are emulated"
                    )
                }
            };
            mounts.push(Mount {
                name: name.to_owned(),
                path: PathBuf::from(str_at(m, "mountPath")),
                sub_path: (!sub_path.is_empty()).then(|| sub_path.to_owned()),
                read_only: at(m, "readOnly").as_bool().unwrap_or(false),
                source,
            });
        }
        assert!(
            at(main, "envFrom").is_null(),
            "envFrom is not emulated: list variables under env"
        );
        let env = seq(at(main, "env"))
            .iter()
            .map(|e| {
                let name = str_at(e, "name").to_owned();
                let value = if let Some(v) = at(e, "value").as_str() {
                    EnvValue::Literal(v.to_owned())
                } else if !at(e, "valueFrom.fieldRef").is_null() {
                    EnvValue::Field(str_at(e, "valueFrom.fieldRef.fieldPath").to_owned())
                } else if !at(e, "valueFrom.secretKeyRef").is_null() {
                    EnvValue::SecretKey(
                        str_at(e, "valueFrom.secretKeyRef.name").to_owned(),
                        str_at(e, "valueFrom.secretKeyRef.key").to_owned(),
                    )
                } else if !at(e, "valueFrom.configMapKeyRef").is_null() {
                    let cm = str_at(e, "valueFrom.configMapKeyRef.name");
                    let key = str_at(e, "valueFrom.configMapKeyRef.key");
                    let data = self
                        .find("ConfigMap", cm)
                        .map(|c| string_map(at(c, "data")))
                        .unwrap_or_else(|| {
                            panic!("env {name}: ConfigMap {cm} is not in the render")
                        });
                    let v = data
                        .get(key)
                        .unwrap_or_else(|| panic!("env {name}: ConfigMap {cm} has no key {key}"));
                    EnvValue::Literal(v.clone())
                } else if at(e, "value").is_null() && at(e, "valueFrom").is_null() {
                    EnvValue::Literal(String::new())
                } else {
                    panic!("env {name}: this valueFrom is not emulated")
                };
                (name, value)
            })
            .collect();
        let security = |k: &str| at(main, &format!("securityContext.{k}"));
        let uid = |k: &str| {
            at(main, &format!("securityContext.{k}"))
                .as_u64()
                .or_else(|| at(pod, &format!("securityContext.{k}")).as_u64())
                .map(|n| n as u32)
        };
        StatefulSet {
            name: str_at(sts, "metadata.name").to_owned(),
            namespace: str_at(sts, "metadata.namespace").to_owned(),
            service_name: str_at(spec, "serviceName").to_owned(),
            replicas: at(spec, "replicas").as_u64().unwrap_or(1) as usize,
            parallel: str_at(spec, "podManagementPolicy") == "Parallel",
            partition: at(spec, "updateStrategy.rollingUpdate.partition")
                .as_u64()
                .unwrap_or(0) as usize,
            grace: Duration::from_secs(
                at(pod, "terminationGracePeriodSeconds")
                    .as_u64()
                    .unwrap_or(30),
            ),
            args: seq(at(main, "args"))
                .iter()
                .map(|a| a.as_str().expect("string arg").to_owned())
                .collect(),
            command: seq(at(main, "command"))
                .iter()
                .map(|a| a.as_str().expect("string command").to_owned())
                .collect(),
            env,
            startup: probe("startupProbe"),
            readiness: probe("readinessProbe"),
            liveness: probe("livenessProbe"),
            read_only_root: security("readOnlyRootFilesystem")
                .as_bool()
                .unwrap_or(false),
            no_new_privs: !security("allowPrivilegeEscalation")
                .as_bool()
                .unwrap_or(true),
            drop_all_caps: seq(security("capabilities.drop"))
                .iter()
                .any(|c| c.as_str() == Some("ALL")),
            ports,
            mounts,
            run_as: uid("runAsUser").zip(uid("runAsGroup")),
            fs_group: at(pod, "securityContext.fsGroup")
                .as_u64()
                .map(|n| n as u32),
            image_pull_secrets: seq(at(pod, "imagePullSecrets"))
                .iter()
                .map(|s| str_at(s, "name").to_owned())
                .collect(),
        }
    }

    /// The Services selecting the StatefulSet's pods (all Services of the render do here).
    pub fn services(&self) -> Vec<Service> {
        self.of_kind("Service")
            .map(|s| Service {
                name: str_at(s, "metadata.name").to_owned(),
                namespace: str_at(s, "metadata.namespace").to_owned(),
                headless: str_at(s, "spec.clusterIP") == "None",
                publish_not_ready: at(s, "spec.publishNotReadyAddresses")
                    .as_bool()
                    .unwrap_or(false),
            })
            .collect()
    }

    /// `berth.conf` as rendered into the StatefulSet's ConfigMap.
    pub fn conf_value(&self, directive: &str) -> Option<String> {
        self.of_kind("ConfigMap")
            .filter_map(|c| at(c, "data").get("berth.conf")?.as_str())
            .flat_map(str::lines)
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(directive)).then(|| w.collect::<Vec<_>>().join(" "))
            })
    }
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let k = k.as_str().unwrap_or("").to_owned();
            (k, v.as_str().unwrap_or("").to_owned())
        })
        .collect()
}

/// A ConfigMap volume's files: its `items` (key -> path) or every key as a file.
fn items(items: &Value, data: BTreeMap<String, String>) -> BTreeMap<String, String> {
    if items.is_null() {
        return data;
    }
    seq(items)
        .iter()
        .map(|i| {
            let key = str_at(i, "key");
            (str_at(i, "path").to_owned(), data[key].clone())
        })
        .collect()
}

#[derive(Clone, Debug)]
pub struct Probe {
    pub path: String,
    pub port: u16,
}

#[derive(Clone, Debug)]
pub enum Source {
    /// A volumeClaimTemplate: the pod's own directory `data-<sts>-<i>`, kept across pod deaths.
    Claim(String),
    /// A ConfigMap volume: file name -> content.
    Files {
        files: BTreeMap<String, String>,
        mode: u32,
    },
    /// A Secret volume: its content is the harness's (the chart only references the Secret).
    Secret {
        name: String,
        items: Vec<(String, String)>,
        mode: u32,
    },
    EmptyDir,
}

#[derive(Clone, Debug)]
pub struct Mount {
    /// The volume's name in the pod spec.
    pub name: String,
    pub path: PathBuf,
    pub sub_path: Option<String>,
    pub read_only: bool,
    pub source: Source,
}

#[derive(Clone, Debug)]
pub struct StatefulSet {
    pub name: String,
    pub namespace: String,
    pub service_name: String,
    pub replicas: usize,
    pub parallel: bool,
    pub partition: usize,
    pub grace: Duration,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub env: Vec<(String, EnvValue)>,
    pub ports: BTreeMap<String, u16>,
    pub startup: Option<Probe>,
    pub readiness: Option<Probe>,
    pub liveness: Option<Probe>,
    /// securityContext: `/` read-only in the pod's mount namespace.
    pub read_only_root: bool,
    /// securityContext `allowPrivilegeEscalation: false`: PR_SET_NO_NEW_PRIVS.
    pub no_new_privs: bool,
    /// securityContext `capabilities.drop: [ALL]`: the bounding set emptied.
    pub drop_all_caps: bool,
    pub mounts: Vec<Mount>,
    pub run_as: Option<(u32, u32)>,
    pub fs_group: Option<u32>,
    pub image_pull_secrets: Vec<String>,
}

/// A container env value as rendered: literal (also `configMapKeyRef`, read from the render), or
/// resolved per pod when it starts (the downward API, Secrets the test created).
#[derive(Clone, Debug)]
pub enum EnvValue {
    Literal(String),
    /// `fieldRef.fieldPath`: metadata.name, metadata.namespace, status.podIP, spec.nodeName, …
    Field(String),
    /// `secretKeyRef` (name, key).
    SecretKey(String, String),
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub namespace: String,
    pub headless: bool,
    pub publish_not_ready: bool,
}
