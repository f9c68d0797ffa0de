//! End-to-end tests of the StatefulSet as rendered: the chart (and the Kustomize prod overlay)
//! is rendered with real helm/kubectl, and its pods run as `berth-server` processes, each in its
//! own network, mount and UTS namespace, found through real DNS (dnsmasq). See README.md here.
//!
//! A plain `main` (harness = false), like tests/cluster: scenarios run one after another, each
//! printing `scenario NAME ... ok|FAILED`; the process exits 1 if any failed. A plain-word
//! argument runs only the scenarios whose name contains it. Without root the tests print one
//! line and pass.
//!
//! Run: `cargo test --release --test e2e [-- NAME]` as root.

#[path = "../common/mod.rs"]
mod common;
#[path = "../cluster/net.rs"]
mod net;
mod render;
mod scenarios;
mod sts;

use std::time::Duration;

/// Last resort against a hung scenario; every step has its own, shorter timeout.
const SCENARIO_LIMIT: Duration = Duration::from_secs(300);

const SCENARIOS: &[(&str, fn())] = &[
    (
        "dev_install_standalone_pod_through_client_service",
        scenarios::dev_install,
    ),
    (
        "prod_install_three_shards_redis_cli_cluster_check_redis_py",
        scenarios::prod_install,
    ),
    (
        "prod_overlay_kustomize_build_sidecar_ignored_pull_secret_checked",
        scenarios::prod_overlay,
    ),
    (
        "ordered_ready_pods_created_one_by_one_each_after_readiness",
        scenarios::ordered_ready,
    ),
    (
        "pet_test_prod_pod_1_killed_other_shards_answer_recreated_with_new_ip",
        scenarios::pet_prod,
    ),
    (
        "pet_test_dev_single_pod_killed_and_recreated",
        scenarios::pet_dev,
    ),
    (
        "rolling_restart_under_load_reverse_order_partition_no_acked_write_lost",
        scenarios::rolling_restart,
    ),
    (
        "dns_late_pods_start_before_records_and_converge",
        scenarios::dns_late,
    ),
];

fn main() {
    net::run_suite("e2e", SCENARIOS, SCENARIO_LIMIT);
}
