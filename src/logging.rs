//! Logging through tracing: Redis's loglevel names, text or JSON lines on stdout, or appended to
//! `logfile` when it is set (as Redis does). Colours only on a terminal. The level can be changed
//! at run time (CONFIG SET loglevel) through a reload handle on the filter.

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::fmt::writer::BoxMakeWriter;
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

/// Starts logging; the error (a log file that cannot be opened) is one line for the caller.
pub fn init(loglevel: &str, json: bool, logfile: &str) -> Result<(), String> {
    let (filter, handle) = reload::Layer::new(env_filter(loglevel));
    let _ = FILTER.set(handle);
    let writer = if logfile.is_empty() {
        BoxMakeWriter::new(std::io::stdout)
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| format!("cannot open logfile '{logfile}': {e}"))?;
        BoxMakeWriter::new(std::sync::Mutex::new(file))
    };
    let ansi = logfile.is_empty() && std::io::stdout().is_terminal();
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer);
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(fmt.json().flatten_event(true)).init();
    } else {
        registry.with(fmt).init();
    }
    Ok(())
}

/// Applies a new Redis loglevel to the running logger (a no-op before `init`).
pub fn set_level(loglevel: &str) {
    if let Some(handle) = FILTER.get() {
        let _ = handle.reload(env_filter(loglevel));
    }
}
