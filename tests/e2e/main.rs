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

use std::sync::mpsc;
use std::time::{Duration, Instant};

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters = filters(&args);
    let chosen: Vec<_> = SCENARIOS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f)))
        .collect();
    if args.iter().any(|a| a == "--list") {
        chosen.iter().for_each(|(name, _)| println!("{name}: test"));
        return;
    }
    if !net::require_root_for("e2e tests") {
        return;
    }
    let mut failed = Vec::new();
    for (name, scenario) in &chosen {
        let _watchdog = watchdog(name);
        let start = Instant::now();
        let ok = std::panic::catch_unwind(scenario).is_ok();
        println!(
            "scenario {name} ... {} ({:.1}s)",
            if ok { "ok" } else { "FAILED" },
            start.elapsed().as_secs_f64()
        );
        if !ok {
            failed.push(*name);
        }
    }
    println!(
        "e2e: {} passed, {} failed {failed:?}",
        chosen.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
}

/// Plain words among the arguments; values of libtest options that take one are not filters.
fn filters(args: &[String]) -> Vec<&str> {
    const TAKES_VALUE: &[&str] = &[
        "--test-threads",
        "--format",
        "--color",
        "--logfile",
        "--skip",
        "--shuffle-seed",
        "-Z",
    ];
    let mut out = Vec::new();
    let mut skip_next = false;
    for a in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        skip_next = TAKES_VALUE.contains(&a.as_str());
        if !a.starts_with('-') {
            out.push(a.as_str());
        }
    }
    out
}

/// Exits the process (after removing this process's namespaces) if the scenario outlives
/// `SCENARIO_LIMIT`; dropping the returned sender disarms it. Mount points the harness created
/// under / (e.g. /data, /etc/berth) are left empty then.
fn watchdog(name: &'static str) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(SCENARIO_LIMIT) {
            eprintln!("scenario {name} hung for {SCENARIO_LIMIT:?}; giving up");
            println!("scenario {name} ... FAILED");
            net::cleanup_this_process();
            std::process::exit(1);
        }
    });
    tx
}
