//! Access control as Redis 7.0: users with passwords and permission rules (`user`), the
//! registry every connection checks commands against (`Acl`), the ACL LOG of denials, and the
//! `aclfile`.
//!
//! `requirepass` is the `default` user's password, as in Redis 7: setting it gives the default
//! user that one password, clearing it makes the default user `nopass`.

pub mod catalog;
pub mod user;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use bytes::Bytes;

pub use user::{Denied, RuleError, User};

use crate::config::Config;

/// The name every connection starts as.
pub const DEFAULT_USER: &str = "default";

/// One ACL LOG entry; repeated denials of the same kind within a minute are counted in one.
pub struct LogEntry {
    pub count: u64,
    pub reason: &'static str,
    pub context: &'static str,
    pub object: String,
    pub username: String,
    pub updated: Instant,
    pub client_info: String,
}

/// Entries older than this are not merged with a new identical one (Redis's 60 s).
const LOG_GROUPING_SECS: u64 = 60;

pub struct Acl {
    users: RwLock<BTreeMap<String, User>>,
    log: Mutex<VecDeque<LogEntry>>,
    /// Bumped by every change to the users: a connection that found its user unrestricted
    /// skips the check (and the lock) until the next change.
    generation: AtomicU64,
    /// The default user is on and `nopass` (nobody needs to authenticate), read per request.
    default_open: AtomicBool,
}

/// `acl-pubsub-default`: do new users (and `reset`) get all channels?
pub fn pubsub_default_all(config: &Config) -> bool {
    config.get("acl-pubsub-default") == "allchannels"
}

impl Acl {
    /// The users at startup: `default` (with `requirepass`), then the config file's `user`
    /// lines or the `aclfile` (Redis refuses both at once).
    pub fn from_config(config: &Config) -> Result<Acl, String> {
        let acl = Acl {
            users: RwLock::new(BTreeMap::new()),
            log: Mutex::new(VecDeque::new()),
            generation: AtomicU64::new(0),
            default_open: AtomicBool::new(true),
        };
        let mut users = BTreeMap::new();
        let aclfile = config.get("aclfile");
        if !aclfile.is_empty() && !config.users.is_empty() {
            return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
        }
        for words in &config.users {
            add_user(&mut users, words, pubsub_default_all(config)).map_err(|e| match e {
                LineError::NotUser => "'user' needs a username".to_string(),
                LineError::Duplicate(_) => {
                    "Duplicate user found. A user can only be defined once in config files"
                        .to_string()
                }
                LineError::Rule(e) => format!("Error in user declaration: {e}"),
            })?;
        }
        // A `user default` line (CONFIG REWRITE writes one) wins over requirepass, as in Redis
        // where configured users replace the default user after the config is read.
        let default_defined = users.contains_key(DEFAULT_USER);
        users
            .entry(DEFAULT_USER.to_string())
            .or_insert_with(default_user);
        acl.update(|current| *current = users);
        if !default_defined {
            acl.set_default_password(&config.get("requirepass"));
        }
        if !aclfile.is_empty() {
            acl.load(&aclfile, config)?;
        }
        Ok(acl)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, User>> {
        self.users.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Every change to the users goes through here, so that the cached facts follow it.
    fn update<T>(&self, f: impl FnOnce(&mut BTreeMap<String, User>) -> T) -> T {
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut users);
        let open = users
            .get(DEFAULT_USER)
            .is_some_and(|u| u.nopass && u.enabled);
        self.default_open.store(open, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        out
    }

    /// Changes with every change to the users (see `check`).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// `requirepass` changed: the default user gets exactly that password, or `nopass`.
    pub fn set_default_password(&self, pass: &str) {
        self.update(|users| {
            if let Some(u) = users.get_mut(DEFAULT_USER) {
                let _ = u.apply("resetpass", false);
                let rule = if pass.is_empty() {
                    "nopass".to_string()
                } else {
                    format!(">{pass}")
                };
                let _ = u.apply(&rule, false);
            }
        })
    }

    /// Do clients have to authenticate (the default user has a password or is off)? Redis's
    /// `authRequired`, without the per-client part.
    pub fn default_requires_auth(&self) -> bool {
        !self.default_open.load(Ordering::SeqCst)
    }

    /// Protected mode applies while the default user has no password.
    pub fn default_is_nopass(&self) -> bool {
        self.read().get(DEFAULT_USER).is_some_and(|u| u.nopass)
    }

    /// Checks a username/password pair: the user exists, is on, and the password is one of its
    /// own (any password for `nopass` users).
    pub fn authenticate(&self, user: &[u8], pass: &[u8]) -> bool {
        let name = String::from_utf8_lossy(user);
        self.read()
            .get(name.as_ref())
            .is_some_and(|u| u.enabled && u.password_ok(pass))
    }

    /// Can `user` run the resolved command `index` with `args`? `keys` lists key positions
    /// with their key-spec flags, computed only when a key pattern has to be checked. Ok(true)
    /// when the user may run anything (the caller may skip checks until `generation` changes).
    pub fn check(
        &self,
        user: &str,
        index: usize,
        no_auth: bool,
        args: &[Bytes],
        keys: &mut dyn FnMut() -> Vec<(usize, &'static str)>,
    ) -> Result<bool, Denied> {
        let users = self.read();
        let Some(u) = users.get(user) else {
            // A deleted user's connections are being closed; they run nothing meanwhile.
            return Err(Denied::Command(catalog::items()[index].cmd.name));
        };
        if u.unrestricted() {
            return Ok(true);
        }
        u.check(index, no_auth, args, keys).map(|_| false)
    }

    pub fn exists(&self, user: &str) -> bool {
        self.read().contains_key(user)
    }

    /// ACL SETUSER: all rules apply or none (the user is changed on a copy).
    pub fn setuser(&self, name: &str, rules: &[String], config: &Config) -> Result<(), String> {
        let all = pubsub_default_all(config);
        self.update(|users| {
            let mut u = users
                .get(name)
                .cloned()
                .unwrap_or_else(|| User::new(name, all));
            for rule in rules {
                u.apply(rule, all)
                    .map_err(|e| format!("Error in ACL SETUSER modifier '{rule}': {e}"))?;
            }
            users.insert(name.to_string(), u);
            Ok(())
        })
    }

    /// ACL DELUSER: the names that existed and were removed (`default` cannot be).
    pub fn deluser(&self, names: &[String]) -> Vec<String> {
        self.update(|users| {
            names
                .iter()
                .filter(|n| users.remove(n.as_str()).is_some())
                .cloned()
                .collect()
        })
    }

    pub fn get(&self, name: &str) -> Option<User> {
        self.read().get(name).cloned()
    }

    /// Every user, sorted by name (as Redis's radix tree lists them).
    pub fn users(&self) -> Vec<User> {
        self.read().values().cloned().collect()
    }

    /// ACL LOAD: replaces every user with the file's (keeping `default` if the file omits
    /// it). Nothing changes when any line is wrong.
    pub fn load(&self, path: &str, config: &Config) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "Error loading ACLs, opening file '{path}': {}",
                os_error(&e)
            )
        })?;
        let mut users = BTreeMap::new();
        let mut errors = String::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let n = n + 1;
            match parse_user_line(&mut users, line, pubsub_default_all(config)) {
                Ok(()) => {}
                Err(LineError::NotUser) => {
                    errors += &format!(
                        "{path}:{n} should start with user keyword followed by the username. "
                    )
                }
                Err(LineError::Duplicate(name)) => {
                    errors += &format!("WARNING: Duplicate user '{name}' found on line {n}. ")
                }
                Err(LineError::Rule(e)) => errors += &format!("{path}:{n}: {e}. "),
            }
        }
        if !errors.is_empty() {
            errors += "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";
            return Err(errors);
        }
        // The default user keeps existing: the file's replaces it, or it is reset to Redis's
        // initial default user.
        users
            .entry(DEFAULT_USER.to_string())
            .or_insert_with(default_user);
        self.update(|current| *current = users);
        Ok(())
    }

    /// ACL SAVE: every user, one ACL LIST line each, written atomically.
    pub fn save(&self, path: &str) -> Result<(), String> {
        let mut text = String::new();
        for u in self.users() {
            text += &u.describe();
            text.push('\n');
        }
        let tmp = format!("{path}.tmp-{}", std::process::id());
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("Opening temp ACL file for ACL SAVE: {}", os_error(&e))
            })
    }

    /// Adds a denial to ACL LOG, merged into a recent identical entry when there is one.
    /// `context` is where the command was: `toplevel`, `multi` (EXEC) or `lua` (a script).
    pub fn log_denial(
        &self,
        max_len: usize,
        reason: &'static str,
        context: &'static str,
        object: String,
        username: String,
        client_info: String,
    ) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let same = log.iter().position(|e| {
            e.reason == reason
                && e.context == context
                && e.object == object
                && e.username == username
                && now.duration_since(e.updated).as_secs() < LOG_GROUPING_SECS
        });
        let entry = match same.and_then(|i| log.remove(i)) {
            Some(mut e) => {
                e.count += 1;
                e.updated = now;
                e.client_info = client_info;
                e
            }
            None => LogEntry {
                count: 1,
                reason,
                context,
                object,
                username,
                updated: now,
                client_info,
            },
        };
        log.push_front(entry);
        log.truncate(max_len);
    }

    /// Runs `f` over the newest `count` log entries.
    pub fn log_entries<T>(&self, count: usize, f: impl Fn(&LogEntry) -> T) -> Vec<T> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().take(count).map(f).collect()
    }

    pub fn log_reset(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Redis's initial default user: on, nopass, all keys, channels and commands.
fn default_user() -> User {
    let mut u = User::new(DEFAULT_USER, true);
    for rule in ["on", "nopass", "~*", "&*", "+@all"] {
        let _ = u.apply(rule, true);
    }
    u
}

/// Why a `user` line was rejected (texts differ between the aclfile and the config file).
enum LineError {
    NotUser,
    Duplicate(String),
    Rule(String),
}

/// `user <name> <rule> ...`, an aclfile line.
fn parse_user_line(
    users: &mut BTreeMap<String, User>,
    line: &str,
    allchannels: bool,
) -> Result<(), LineError> {
    let words: Vec<String> = crate::protocol::request::split_args(line.as_bytes())
        .ok_or(LineError::NotUser)?
        .into_iter()
        .map(|w| String::from_utf8_lossy(&w).into_owned())
        .collect();
    if words.first().map(String::as_str) != Some("user") || words.len() < 2 {
        return Err(LineError::NotUser);
    }
    add_user(users, &words[1..], allchannels)
}

/// A user from `<name> <rule> ...` (an aclfile line or a config `user` directive, after the
/// `user` keyword). A user may only be defined once.
fn add_user(
    users: &mut BTreeMap<String, User>,
    words: &[String],
    allchannels: bool,
) -> Result<(), LineError> {
    let Some(name) = words.first() else {
        return Err(LineError::NotUser);
    };
    if users.contains_key(name) {
        return Err(LineError::Duplicate(name.clone()));
    }
    let rules = merge_selectors(&words[1..]).map_err(LineError::Rule)?;
    let mut u = User::new(name, allchannels);
    for rule in &rules {
        u.apply(rule, allchannels)
            .map_err(|e| LineError::Rule(e.to_string()))?;
    }
    users.insert(name.clone(), u);
    Ok(())
}

/// Joins a selector written across several arguments (`(+get` `~x)`) into one rule, as
/// ACLMergeSelectorArguments does.
pub fn merge_selectors(args: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    for a in args {
        match open.as_mut() {
            Some(sel) => {
                sel.push(' ');
                sel.push_str(a);
                if a.ends_with(')') {
                    out.extend(open.take());
                }
            }
            None if a.starts_with('(') && !a.ends_with(')') => open = Some(a.clone()),
            None => out.push(a.clone()),
        }
    }
    if let Some(sel) = open {
        let first = sel.split(' ').next().unwrap_or("");
        return Err(format!(
            "Unmatched parenthesis in acl selector starting at '{first}'."
        ));
    }
    Ok(out)
}

/// An io::Error as C's strerror text (what Redis prints), without Rust's " (os error N)".
fn os_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
