//! Logging through tracing: Redis's loglevel names, text or JSON lines on stdout.

use tracing_subscriber::EnvFilter;

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

pub fn init(loglevel: &str, json: bool) {
    let filter = EnvFilter::new(format!("berth={0},berth_server={0}", filter_for(loglevel)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
