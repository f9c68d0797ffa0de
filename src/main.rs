//! `berth-server [config-file] [--directive value ...]`, like redis-server;
//! `berth-server check [...]` checks a running server (see `berth::check`).

/// See Cargo.toml: the system allocator's slow path dominated reply-heavy commands.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its option enum in `mimalloc.h`, v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays with the process before mimalloc hands it back to the kernel.
/// At mimalloc's default (1 s), the journal buffers, sort scratch and map tables of one burst
/// were gone by the next, and the kernel zeroed every page again when it was touched: with
/// the log thread's copies, half of the background threads' CPU during a ZADD burst into a
/// big sorted set. Ten seconds keeps memory across back-to-back bursts and still returns it
/// from an idle server.
const PURGE_DELAY_MS: std::ffi::c_long = 10_000;

fn keep_freed_memory() {
    // SAFETY: called first thing in `main`, before any other thread exists (mimalloc's
    // option setter is not thread-safe); the option only changes when freed memory is purged.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}

fn main() {
    keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "check") {
        std::process::exit(berth::check::run(&args[1..]));
    }
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("berth-server v={}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("Usage: berth-server [/path/to/berth.conf] [--directive value ...]");
        println!("       berth-server check [--host H] [--port P] [--password-file F] [--cluster]");
        println!(
            "Directives: {}",
            berth::config::DIRECTIVES
                .iter()
                .map(|d| d.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
        return;
    }
    let config = match berth::config::Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => fail(&e),
    };
    if let Err(e) = berth::logging::init(
        &config.get("loglevel"),
        config.get("log-format") == "json",
        &config.get("logfile"),
    ) {
        fail(&e);
    }
    // Commands run one at a time under the keyspace lock (as in Redis), so one thread serving
    // every connection avoids lock handoffs; more threads help only when parsing and I/O dominate.
    let threads = config.get_i64("io-threads").max(1) as usize;
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => fail(&format!("cannot start runtime: {e}")),
    };
    if let Err(e) = runtime.block_on(berth::server::run(config)) {
        fail(&e);
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("berth-server: {msg}");
    std::process::exit(1);
}
