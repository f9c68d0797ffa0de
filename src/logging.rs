//! Logging through tracing: Redis's loglevel names, text or JSON lines on stdout. The level can
//! be changed at run time (CONFIG SET loglevel) through a reload handle on the filter.

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Maps Redis's levels onto tracing's.
pub fn filter_for(loglevel: &str) -> &'static str {
    match loglevel {
        "debug" => "debug",
        "verbose" => "debug",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    }
}

fn env_filter(loglevel: &str) -> EnvFilter {
    EnvFilter::new(format!("berth={0},berth_server={0}", filter_for(loglevel)))
}

pub fn init(loglevel: &str, json: bool) {
    let (filter, handle) = reload::Layer::new(env_filter(loglevel));
    let _ = FILTER.set(handle);
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(fmt.json().flatten_event(true)).init();
    } else {
        registry.with(fmt).init();
    }
}

/// Applies a new Redis loglevel to the running logger (a no-op before `init`).
pub fn set_level(loglevel: &str) {
    if let Some(handle) = FILTER.get() {
        let _ = handle.reload(env_filter(loglevel));
    }
}
