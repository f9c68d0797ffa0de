//! Who this pod is: StatefulSet name and ordinal (from the hostname `<sts>-<ordinal>` unless
//! the directives say otherwise), and the DNS names and IDs of every member.

use crate::config::Config;
use crate::util::hexid::hex_id;

/// Where Kubernetes mounts the pod's namespace name.
const NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

#[derive(Debug, Clone)]
pub struct Identity {
    pub statefulset: String,
    pub ordinal: u32,
    pub shards: u32,
    pub service: String,
    pub namespace: String,
    pub domain: String,
}

impl Identity {
    /// Reads the `cluster-*` directives, filling the blanks from the hostname and the pod's
    /// service account namespace. Errors are one line for the startup message.
    pub fn from_config(cfg: &Config) -> Result<Identity, String> {
        let mut statefulset = cfg.get("cluster-statefulset");
        let mut ordinal = cfg.get_i64("cluster-ordinal");
        if statefulset.is_empty() || ordinal < 0 {
            let host = hostname();
            let (sts, ord) = split_hostname(&host).ok_or_else(|| {
                format!(
                    "cluster mode: hostname '{host}' is not '<statefulset>-<ordinal>'; \
                     set cluster-statefulset and cluster-ordinal"
                )
            })?;
            if statefulset.is_empty() {
                statefulset = sts.to_string();
            }
            if ordinal < 0 {
                ordinal = ord as i64;
            }
        }
        let mut service = cfg.get("cluster-service");
        if service.is_empty() {
            service = format!("{statefulset}-headless");
        }
        let mut namespace = cfg.get("cluster-namespace");
        if namespace.is_empty() {
            namespace = std::fs::read_to_string(NAMESPACE_FILE)
                .map(|s| s.trim().to_string())
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "default".to_string());
        }
        Ok(Identity {
            statefulset,
            ordinal: ordinal as u32,
            shards: cfg.get_i64("cluster-shards") as u32,
            service,
            namespace,
            domain: cfg.get("cluster-domain"),
        })
    }

    /// The stable DNS name of member `i`: `<sts>-<i>.<service>.<namespace>.svc.<domain>`.
    pub fn fqdn(&self, i: u32) -> String {
        format!(
            "{}-{i}.{}.{}.svc.{}",
            self.statefulset, self.service, self.namespace, self.domain
        )
    }

    /// Node ID of member `i`: derived from the StatefulSet name and ordinal only, so it survives
    /// restarts, rescheduling and IP changes.
    pub fn node_id(&self, i: u32) -> String {
        hex_id(format!("berth-node/{}/{i}", self.statefulset).as_bytes())
    }

    /// Shard ID of member `i` (each shard is one node until replicas exist).
    pub fn shard_id(&self, i: u32) -> String {
        hex_id(format!("berth-shard/{}/{i}", self.statefulset).as_bytes())
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `berth-2` → (`berth`, 2); the StatefulSet name itself may contain dashes.
fn split_hostname(host: &str) -> Option<(&str, u32)> {
    let short = host.split('.').next()?;
    let (sts, ord) = short.rsplit_once('-')?;
    if sts.is_empty() || ord.is_empty() || !ord.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((sts, ord.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_split_at_the_last_dash() {
        assert_eq!(split_hostname("berth-0"), Some(("berth", 0)));
        assert_eq!(split_hostname("my-berth-12"), Some(("my-berth", 12)));
        assert_eq!(split_hostname("berth-3.example"), Some(("berth", 3)));
        assert_eq!(split_hostname("berth"), None);
        assert_eq!(split_hostname("berth-x"), None);
        assert_eq!(split_hostname("-1"), None);
    }
}
