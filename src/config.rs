//! Configuration directives, as data: the same table serves the config file, the command line
//! (`--directive value`) and CONFIG GET/SET/REWRITE.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU8, Ordering};
use std::sync::RwLock;

use crate::protocol::request::split_args;
use crate::server::notify;

/// How a directive's value is checked.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Int {
        min: i64,
        max: i64,
    },
    /// A byte size with Redis's units (`1gb`, `512mb`, `100k`).
    Memory,
    Bool,
    Enum(&'static [&'static str]),
    String,
    /// `notify-keyspace-events` flag letters: stored canonically (`notify::flags_to_stored`),
    /// shown by CONFIG GET as Redis shows them.
    KeyspaceEvents,
}

pub struct Directive {
    pub name: &'static str,
    pub default: &'static str,
    pub kind: Kind,
    /// Can CONFIG SET change it at run time?
    pub mutable: bool,
    /// Hidden from CONFIG GET * when sensitive (its value is still returned when asked by name).
    pub secret: bool,
}

const fn d(name: &'static str, default: &'static str, kind: Kind, mutable: bool) -> Directive {
    Directive {
        name,
        default,
        kind,
        mutable,
        secret: false,
    }
}

const INT: Kind = Kind::Int {
    min: 0,
    max: i64::MAX,
};

/// Redis's non-negative `int` directives.
const INT32: Kind = Kind::Int {
    min: 0,
    max: i32::MAX as i64,
};

/// Every directive berth knows. Redis directives without effect here are accepted (with their
/// Redis defaults) so that tools which read or set them keep working.
pub static DIRECTIVES: &[Directive] = &[
    d("port", "6379", Kind::Int { min: 0, max: 65535 }, false),
    d("http-port", "0", Kind::Int { min: 0, max: 65535 }, false),
    d("bind", "* -::*", Kind::String, false),
    d("dir", "./data", Kind::String, false),
    Directive {
        name: "requirepass",
        default: "",
        kind: Kind::String,
        mutable: true,
        secret: true,
    },
    d("requirepass-file", "", Kind::String, false),
    // Access control (src/acl/): users come from `user` lines or from this file, not both.
    d("aclfile", "", Kind::String, false),
    d("acllog-max-len", "128", INT, true),
    d(
        "acl-pubsub-default",
        "resetchannels",
        Kind::Enum(&["allchannels", "resetchannels"]),
        true,
    ),
    d(
        "appendfsync",
        "everysec",
        Kind::Enum(&["everysec", "always", "no"]),
        true,
    ),
    d("appendonly", "yes", Kind::Bool, false),
    d("databases", "16", Kind::Int { min: 1, max: 256 }, false),
    d(
        "maxclients",
        "10000",
        Kind::Int {
            min: 1,
            max: u32::MAX as i64,
        },
        true,
    ),
    d("timeout", "0", INT32, true),
    d("tcp-keepalive", "300", INT, true),
    d("proto-max-bulk-len", "536870912", Kind::Memory, true),
    d(
        "client-query-buffer-limit",
        "1073741824",
        Kind::Memory,
        true,
    ),
    // 2 GiB: the memtable's half then holds about 4.8M entries at their real size (see
    // README, Memory); at 1 GiB, redis-benchmark's own tests outgrew it and ran from sled.
    d("cache-size", "2147483648", Kind::Memory, false),
    d(
        "loglevel",
        "notice",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        true,
    ),
    d("log-format", "text", Kind::Enum(&["text", "json"]), false),
    d("io-threads", "1", Kind::Int { min: 1, max: 128 }, false),
    // Redis accepts any int and clamps to 1..=500 where used (as berth's expiry task does).
    d("hz", "10", INT32, true),
    d("save", "", Kind::String, true),
    d("maxmemory", "0", Kind::Memory, true),
    d(
        "maxmemory-policy",
        "noeviction",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        true,
    ),
    // As Redis: with no password for the default user, only loopback clients are served.
    d("protected-mode", "yes", Kind::Bool, true),
    d("lazyfree-lazy-user-flush", "no", Kind::Bool, true),
    d("daemonize", "no", Kind::Bool, false),
    d("disable-thp", "yes", Kind::Bool, false),
    d("pidfile", "", Kind::String, false),
    d("logfile", "", Kind::String, false),
    d(
        "slowlog-log-slower-than",
        "10000",
        Kind::Int {
            min: -1,
            max: i64::MAX,
        },
        true,
    ),
    d("slowlog-max-len", "128", INT, true),
    d("notify-keyspace-events", "", Kind::KeyspaceEvents, true),
    d("latency-monitor-threshold", "0", INT, true),
    d("busy-reply-threshold", "5000", INT, true),
    // Clustered mode (see src/cluster/mod.rs). Identity is fixed at startup.
    d("cluster-enabled", "no", Kind::Bool, false),
    d("cluster-statefulset", "", Kind::String, false),
    d(
        "cluster-ordinal",
        "-1",
        Kind::Int {
            min: -1,
            max: 16383,
        },
        false,
    ),
    d("cluster-service", "", Kind::String, false),
    d("cluster-namespace", "", Kind::String, false),
    d("cluster-domain", "cluster.local", Kind::String, false),
    d(
        "cluster-shards",
        "3",
        Kind::Int { min: 1, max: 16384 },
        false,
    ),
    d(
        "cluster-node-timeout",
        "15000",
        Kind::Int {
            min: 1,
            max: i64::MAX,
        },
        true,
    ),
    d("cluster-require-full-coverage", "no", Kind::Bool, true),
    d(
        "cluster-preferred-endpoint-type",
        "ip",
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        true,
    ),
    d("cluster-announce-hostname", "", Kind::String, true),
    d("cluster-announce-ip", "", Kind::String, true),
];

/// Old names Redis still accepts for a directive (CONFIG GET lists them too).
const ALIASES: &[(&str, &str)] = &[("lua-time-limit", "busy-reply-threshold")];

pub fn directive(name: &str) -> Option<&'static Directive> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map_or(name, |(_, target)| target);
    DIRECTIVES
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
}

/// Parses `1gb`, `100mb`, `10k`, `4096` as Redis's memtoll (k=1000, kb=1024, …).
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<i64>().ok()?.checked_mul(mul)
}

/// Checks a value against a directive and returns its canonical form.
pub fn validate(d: &Directive, value: &str) -> Result<String, String> {
    match d.kind {
        Kind::Int { min, max } => {
            let v: i64 = value
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if v < min || v > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(v.to_string())
        }
        Kind::Memory => {
            let v =
                parse_memory(value).ok_or_else(|| "argument must be a memory value".to_string())?;
            if v < 0 {
                return Err("argument must be a memory value".into());
            }
            Ok(v.to_string())
        }
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Enum(options) => options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(value))
            .map(|o| o.to_string())
            .ok_or_else(|| {
                "argument(s) must be one of the following: ".to_string() + &options.join(", ")
            }),
        Kind::String => Ok(value.to_string()),
        Kind::KeyspaceEvents => notify::parse_flags(value)
            .map(notify::flags_to_stored)
            .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()),
    }
}

/// Where the process configuration came from, for CONFIG REWRITE.
#[derive(Debug, Default)]
pub struct Source {
    pub file: Option<PathBuf>,
}

/// `appendfsync` as a number for lock-free reads on the write path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always = 0,
    Everysec = 1,
    No = 2,
}

/// The live configuration. Hot values are mirrored in atomics.
pub struct Config {
    values: RwLock<BTreeMap<&'static str, String>>,
    pub source: Source,
    /// `user <name> <rules...>` lines of the config file (and `--user` flags), applied by
    /// `acl::Acl::from_config`; each holds the words after `user`.
    pub users: Vec<Vec<String>>,
    fsync: AtomicU8,
    proto_max_bulk_len: AtomicI64,
    query_buffer_limit: AtomicI64,
    timeout: AtomicI64,
    maxclients: AtomicI64,
    notify_flags: AtomicU32,
    slowlog_slower_than: AtomicI64,
    latency_threshold: AtomicI64,
}

impl Config {
    /// Defaults, then the config file (if any), then `--directive value` flags.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut values: BTreeMap<&'static str, String> = DIRECTIVES
            .iter()
            .map(|d| (d.name, d.default.to_string()))
            .collect();
        let mut rest = args;
        let mut file = None;
        let mut users = Vec::new();
        if let Some(first) = rest.first() {
            if !first.starts_with("--") {
                let path = PathBuf::from(first);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read config file '{}': {e}", path.display()))?;
                for (n, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let words = split_args(line.as_bytes()).ok_or_else(|| {
                        format!(
                            "{}:{}: unbalanced quotes in '{line}'",
                            path.display(),
                            n + 1
                        )
                    })?;
                    let words: Vec<String> = words
                        .into_iter()
                        .map(|w| String::from_utf8_lossy(&w).into_owned())
                        .collect();
                    if words[0] == "user" {
                        users.push(words[1..].to_vec());
                        continue;
                    }
                    apply(&mut values, &words)
                        .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
                }
                file = Some(path);
                rest = &rest[1..];
            }
        }
        // Flags: `--name v1 [v2 ...]`, values run until the next `--`.
        let mut i = 0;
        while i < rest.len() {
            let Some(name) = rest[i].strip_prefix("--") else {
                return Err(format!(
                    "unexpected argument '{}' (directives are given as --name value)",
                    rest[i]
                ));
            };
            let mut words = vec![name.to_string()];
            i += 1;
            while i < rest.len() && !rest[i].starts_with("--") {
                words.push(rest[i].clone());
                i += 1;
            }
            if words[0] == "user" {
                users.push(words[1..].to_vec());
                continue;
            }
            apply(&mut values, &words)?;
        }
        if !values["requirepass-file"].is_empty() {
            let path = values["requirepass-file"].clone();
            let pass = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read requirepass-file '{path}': {e}"))?;
            values.insert(
                "requirepass",
                pass.trim_end_matches(['\r', '\n']).to_string(),
            );
        }
        let cfg = Config {
            values: RwLock::new(values),
            source: Source { file },
            users,
            fsync: AtomicU8::new(0),
            proto_max_bulk_len: AtomicI64::new(0),
            query_buffer_limit: AtomicI64::new(0),
            timeout: AtomicI64::new(0),
            maxclients: AtomicI64::new(0),
            notify_flags: AtomicU32::new(0),
            slowlog_slower_than: AtomicI64::new(0),
            latency_threshold: AtomicI64::new(0),
        };
        cfg.refresh_hot();
        Ok(cfg)
    }

    fn refresh_hot(&self) {
        let fsync = match self.get("appendfsync").as_str() {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::Everysec,
        };
        self.fsync.store(fsync as u8, Ordering::Relaxed);
        self.proto_max_bulk_len
            .store(self.get_i64("proto-max-bulk-len"), Ordering::Relaxed);
        self.query_buffer_limit
            .store(self.get_i64("client-query-buffer-limit"), Ordering::Relaxed);
        self.timeout
            .store(self.get_i64("timeout"), Ordering::Relaxed);
        self.maxclients
            .store(self.get_i64("maxclients"), Ordering::Relaxed);
        let flags = notify::parse_flags(&self.get("notify-keyspace-events")).unwrap_or(0);
        self.notify_flags.store(flags, Ordering::Relaxed);
        self.slowlog_slower_than
            .store(self.get_i64("slowlog-log-slower-than"), Ordering::Relaxed);
        self.latency_threshold
            .store(self.get_i64("latency-monitor-threshold"), Ordering::Relaxed);
    }

    pub fn get(&self, name: &str) -> String {
        self.values
            .read()
            .map(|v| v.get(name).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn get_i64(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    pub fn fsync(&self) -> Fsync {
        match self.fsync.load(Ordering::Relaxed) {
            0 => Fsync::Always,
            1 => Fsync::Everysec,
            _ => Fsync::No,
        }
    }

    pub fn proto_max_bulk_len(&self) -> i64 {
        self.proto_max_bulk_len.load(Ordering::Relaxed)
    }

    pub fn query_buffer_limit(&self) -> usize {
        self.query_buffer_limit.load(Ordering::Relaxed) as usize
    }

    pub fn timeout_secs(&self) -> i64 {
        self.timeout.load(Ordering::Relaxed)
    }

    pub fn maxclients(&self) -> i64 {
        self.maxclients.load(Ordering::Relaxed)
    }

    /// `notify-keyspace-events` as bits (see `server::notify`).
    pub fn notify_flags(&self) -> u32 {
        self.notify_flags.load(Ordering::Relaxed)
    }

    /// `slowlog-log-slower-than` in microseconds (negative: the slow log is off).
    pub fn slowlog_slower_than(&self) -> i64 {
        self.slowlog_slower_than.load(Ordering::Relaxed)
    }

    /// `latency-monitor-threshold` in milliseconds (0: the latency monitor is off).
    pub fn latency_threshold(&self) -> i64 {
        self.latency_threshold.load(Ordering::Relaxed)
    }

    pub fn dir(&self) -> PathBuf {
        PathBuf::from(self.get("dir"))
    }

    /// Every (name, value) pair whose name matches one of the glob patterns.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let values = match self.values.read() {
            Ok(v) => v,
            Err(_) => return Vec::new(),
        };
        let names = DIRECTIVES
            .iter()
            .map(|d| (d.name, d.name))
            .chain(ALIASES.iter().copied());
        names
            .filter(|(name, _)| {
                patterns
                    .iter()
                    .any(|p| crate::util::glob::glob_match(p, name.as_bytes(), true))
            })
            .map(|(name, target)| {
                let v = values.get(target).cloned().unwrap_or_default();
                match DIRECTIVES.iter().find(|d| d.name == target).map(|d| d.kind) {
                    // Shown as Redis shows it (see `notify::flags_to_stored`).
                    Some(Kind::KeyspaceEvents) => (
                        name,
                        notify::flags_to_string(notify::parse_flags(&v).unwrap_or(0)),
                    ),
                    _ => (name, v),
                }
            })
            .collect()
    }

    /// CONFIG SET of several directives: all are validated before any is applied.
    pub fn set_many(&self, pairs: &[(String, String)]) -> Result<(), String> {
        let mut checked: Vec<(&'static str, String)> = Vec::new();
        for (name, value) in pairs {
            let d = directive(name).ok_or_else(|| {
                format!("Unknown option or number of arguments for CONFIG SET - '{name}'")
            })?;
            if checked.iter().any(|(n, _)| *n == d.name) {
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{}') - duplicate parameter",
                    d.name
                ));
            }
            if !d.mutable {
                return Err(format!("CONFIG SET failed (possibly related to argument '{}') - can't set immutable config", d.name));
            }
            let v = validate(d, value).map_err(|e| {
                format!(
                    "CONFIG SET failed (possibly related to argument '{}') - {e}",
                    d.name
                )
            })?;
            checked.push((d.name, v));
        }
        if let Ok(mut values) = self.values.write() {
            for (name, v) in checked {
                values.insert(name, v);
            }
        }
        self.refresh_hot();
        Ok(())
    }

    /// CONFIG REWRITE: rewrites the config file, keeping comments and unknown lines, updating
    /// directives that differ from their defaults. `users` are the ACL users as `user` lines
    /// (empty when an aclfile holds them): they replace the file's `user` lines in order, the
    /// rest go after the marker, as Redis's rewriteConfigUserOption.
    pub fn rewrite(&self, users: &[String]) -> Result<(), String> {
        let Some(path) = &self.source.file else {
            return Err("The server is running without a config file".into());
        };
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let values = self
            .values
            .read()
            .map_err(|_| "config lock poisoned".to_string())?;
        let mut written = std::collections::HashSet::new();
        let mut out = String::new();
        let mut users = users.iter();
        for line in old.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if name == "user" {
                if let Some(u) = users.next() {
                    out += &format!("{u}\n");
                }
                continue;
            }
            match directive(name) {
                Some(d) if !line.trim_start().starts_with('#') => {
                    if written.insert(d.name) {
                        out += &format!("{} {}\n", d.name, quote(&values[d.name]));
                    }
                }
                _ => out += &format!("{line}\n"),
            }
        }
        // New lines go after Redis's marker, written once.
        const MARKER: &str = "# Generated by CONFIG REWRITE";
        let mut marked = old.lines().any(|l| l == MARKER);
        for d in DIRECTIVES {
            if !written.contains(d.name) && values[d.name] != d.default && d.name != "requirepass" {
                if !marked {
                    out += "\n";
                    out += MARKER;
                    out.push('\n');
                    marked = true;
                }
                out += &format!("{} {}\n", d.name, quote(&values[d.name]));
            }
        }
        for u in users {
            if !marked {
                out += "\n";
                out += MARKER;
                out.push('\n');
                marked = true;
            }
            out += &format!("{u}\n");
        }
        write_atomically(path, &out).map_err(|e| format!("Rewriting config file: {e}"))
    }
}

fn quote(v: &str) -> String {
    if v.is_empty() || v.contains([' ', '"', '\'', '\\']) {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("rewrite.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

fn apply(values: &mut BTreeMap<&'static str, String>, words: &[String]) -> Result<(), String> {
    let name = &words[0];
    let d = directive(name).ok_or_else(|| format!("unknown directive '{name}'"))?;
    let value = words[1..].join(" ");
    if words.len() < 2 && !matches!(d.kind, Kind::String | Kind::KeyspaceEvents) {
        return Err(format!("directive '{}' needs a value", d.name));
    }
    let v =
        validate(d, &value).map_err(|e| format!("bad value '{value}' for '{}': {e}", d.name))?;
    values.insert(d.name, v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_override_defaults() {
        let c = Config::from_args(&args(&["--port", "7000", "--appendfsync", "always"])).unwrap();
        assert_eq!(c.get("port"), "7000");
        assert_eq!(c.fsync(), Fsync::Always);
    }

    #[test]
    fn bad_directive_gives_one_line() {
        let e = Config::from_args(&args(&["--port", "abc"])).err().unwrap();
        assert_eq!(
            e,
            "bad value 'abc' for 'port': argument couldn't be parsed into an integer"
        );
        let e = Config::from_args(&args(&["--nope", "1"])).err().unwrap();
        assert_eq!(e, "unknown directive 'nope'");
    }

    #[test]
    fn memory_units_parse() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("100k"), Some(100_000));
        assert_eq!(parse_memory("x"), None);
    }
}
