//! ACL users and selectors: Redis 7.0's rule language (ACL SETUSER), permission checks, and the
//! descriptions ACL LIST / ACL GETUSER print.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::catalog::{self, CATEGORIES};
use crate::util::glob::glob_match;

/// Why a rule was rejected; `Display` is Redis's text after `Error in ACL SETUSER modifier '…': `.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    Unknown,
    Syntax,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSub,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSub => "Allowing first-arg of a subcommand is not supported",
        })
    }
}

/// What a denied command tripped over, in Redis's order of relevance (ACL_DENIED_*).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    /// The command (its full name, `config|set`).
    Command(&'static str),
    /// The key at this argument position.
    Key(usize),
    /// The channel (or pattern) at this argument position.
    Channel(usize),
}

impl Denied {
    fn rank(&self) -> (u8, usize) {
        match self {
            Denied::Command(_) => (1, 0),
            Denied::Key(i) => (2, *i),
            Denied::Channel(i) => (4, *i),
        }
    }
}

/// A key pattern with the access it grants (`~p` both, `%R~p` read, `%W~p` write).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPattern {
    pub pattern: String,
    pub read: bool,
    pub write: bool,
}

/// One set of command, key and channel permissions. A user has a root selector and any number
/// of extra ones (`(…)` rules); a command runs if any selector allows it.
#[derive(Debug, Clone)]
pub struct Selector {
    /// Allowed commands, by `catalog::items()` index.
    allowed: Vec<bool>,
    /// Set only by `+@all`: the user also gets commands added later, and ACL LIST starts from
    /// `+@all` rather than `-@all` (Redis's reserved command bit).
    future: bool,
    /// `+select|0`: a command allowed only with these first arguments.
    firstargs: BTreeMap<usize, Vec<String>>,
    allkeys: bool,
    keys: Vec<KeyPattern>,
    allchannels: bool,
    channels: Vec<String>,
}

impl Selector {
    pub fn new(allchannels: bool) -> Selector {
        Selector {
            allowed: vec![false; catalog::items().len()],
            future: false,
            firstargs: BTreeMap::new(),
            allkeys: false,
            keys: Vec::new(),
            allchannels,
            channels: Vec::new(),
        }
    }

    /// Allows or denies a command, and a container's subcommands with it (ACLChangeSelectorPerm).
    fn change(&mut self, index: usize, allow: bool) {
        self.allowed[index] = allow;
        self.firstargs.remove(&index);
        for sub in catalog::items()[index].subs.clone() {
            self.allowed[sub] = allow;
        }
    }

    fn change_category(&mut self, bit: u32, allow: bool) {
        for (i, item) in catalog::items().iter().enumerate() {
            if item.cats & bit != 0 {
                self.change(i, allow);
            }
        }
    }

    fn set_all(&mut self, allow: bool) {
        self.allowed.iter_mut().for_each(|b| *b = allow);
        self.future = allow;
        self.firstargs.clear();
    }

    /// Applies one selector rule (ACLSetSelector).
    pub fn apply(&mut self, op: &str) -> Result<(), RuleError> {
        let lower = op.to_ascii_lowercase();
        match lower.as_str() {
            "allkeys" | "~*" => {
                self.allkeys = true;
                self.keys.clear();
            }
            "resetkeys" => {
                self.allkeys = false;
                self.keys.clear();
            }
            "allchannels" | "&*" => {
                self.allchannels = true;
                self.channels.clear();
            }
            "resetchannels" => {
                self.allchannels = false;
                self.channels.clear();
            }
            "allcommands" | "+@all" => self.set_all(true),
            "nocommands" | "-@all" => self.set_all(false),
            _ => match op.as_bytes().first() {
                Some(b'~') | Some(b'%') => self.add_key_pattern(op)?,
                Some(b'&') => {
                    if self.allchannels {
                        return Err(RuleError::ChannelAfterAll);
                    }
                    let pattern = &op[1..];
                    if pattern.contains(|c: char| c.is_ascii_whitespace()) {
                        return Err(RuleError::Syntax);
                    }
                    if !self.channels.iter().any(|c| c == pattern) {
                        self.channels.push(pattern.to_string());
                    }
                }
                Some(&sign @ (b'+' | b'-')) => {
                    let allow = sign == b'+';
                    let name = &lower[1..];
                    if let Some(cat) = name.strip_prefix('@') {
                        let bit = catalog::category(cat).ok_or(RuleError::Unknown)?;
                        self.change_category(bit, allow);
                    } else if !allow || !name.contains('|') {
                        // `-cmd|sub` only names real subcommands (first args cannot be denied).
                        let index = catalog::find(name).ok_or(RuleError::Unknown)?;
                        self.change(index, allow);
                    } else {
                        self.allow_with_first_arg(&op[1..])?;
                    }
                }
                _ => return Err(RuleError::Syntax),
            },
        }
        Ok(())
    }

    /// `~pattern`, `%R~pattern`, `%W~pattern`, `%RW~pattern`.
    fn add_key_pattern(&mut self, op: &str) -> Result<(), RuleError> {
        if self.allkeys {
            return Err(RuleError::KeyAfterAll);
        }
        let (read, write, pattern) = if let Some(rest) = op.strip_prefix('%') {
            let (mut read, mut write) = (false, false);
            let mut chars = rest.char_indices();
            let parsed = loop {
                match chars.next() {
                    Some((_, 'R' | 'r')) if !read => read = true,
                    Some((_, 'W' | 'w')) if !write => write = true,
                    Some((i, '~')) => break (read, write, &rest[i + 1..]),
                    // Redis 7.0 takes `%R` alone as an empty pattern.
                    None => break (read, write, ""),
                    _ => return Err(RuleError::Syntax),
                }
            };
            if !read && !write {
                return Err(RuleError::Syntax);
            }
            parsed
        } else {
            (true, true, &op[1..])
        };
        if pattern.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(RuleError::Syntax);
        }
        if pattern == "*" && read && write {
            self.allkeys = true;
            self.keys.clear();
            return Ok(());
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(k) => {
                k.read |= read;
                k.write |= write;
            }
            None => self.keys.push(KeyPattern {
                pattern: pattern.to_string(),
                read,
                write,
            }),
        }
        Ok(())
    }

    /// `+container|sub` allows a subcommand; `+cmd|arg` allows a plain command only with that
    /// first argument (Redis's deprecated first-arg rules, as for `+select|0`).
    fn allow_with_first_arg(&mut self, spec: &str) -> Result<(), RuleError> {
        let (parent, sub) = spec.rsplit_once('|').ok_or(RuleError::Syntax)?;
        let index = catalog::find(parent).ok_or(RuleError::Unknown)?;
        let item = &catalog::items()[index];
        if item.is_sub {
            return Err(RuleError::FirstArgOfSub);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !item.subs.is_empty() {
            let sub_index = catalog::find(spec).ok_or(RuleError::Unknown)?;
            self.change(sub_index, true);
        } else {
            let args = self.firstargs.entry(index).or_default();
            if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                args.push(sub.to_string());
            }
        }
        Ok(())
    }

    fn unrestricted(&self) -> bool {
        self.allkeys && self.allchannels && self.allowed.iter().all(|&b| b)
    }

    /// Can this selector run the command (ACLSelectorCheckCmd)? `index` is the resolved
    /// (sub)command's; `keys` gives the key positions of `args` and their key-spec flags.
    pub fn check(
        &self,
        index: usize,
        no_auth: bool,
        args: &[bytes::Bytes],
        keys: &mut dyn FnMut() -> Vec<(usize, &'static str)>,
    ) -> Result<(), Denied> {
        let item = &catalog::items()[index];
        if !no_auth && !self.allowed[index] {
            let first_ok = args.len() >= 2
                && self.firstargs.get(&index).is_some_and(|list| {
                    list.iter()
                        .any(|a| a.as_bytes().eq_ignore_ascii_case(&args[1]))
                });
            if !first_ok {
                return Err(Denied::Command(item.cmd.name));
            }
        }
        if !self.allkeys {
            for (pos, flags) in keys() {
                if !self.key_allowed(&args[pos], flags) {
                    return Err(Denied::Key(pos));
                }
            }
        }
        if !self.allchannels {
            if let Some((positions, literal)) = channel_positions(item.cmd.name, args.len()) {
                for pos in positions {
                    if !self.channel_allowed(&args[pos], literal) {
                        return Err(Denied::Channel(pos));
                    }
                }
            }
        }
        Ok(())
    }

    /// A key passes when a pattern with the access its key spec needs matches it: `access`
    /// needs read; `insert`, `delete` and `update` need write (ACLSelectorCheckKey).
    fn key_allowed(&self, key: &[u8], flags: &str) -> bool {
        let (mut read, mut write) = (false, false);
        for f in flags.split_whitespace() {
            match f.to_ascii_lowercase().as_str() {
                "access" => read = true,
                "insert" | "delete" | "update" => write = true,
                _ => {}
            }
        }
        self.keys.iter().any(|k| {
            (k.read || !read) && (k.write || !write) && glob_match(k.pattern.as_bytes(), key, false)
        })
    }

    /// Channels match the patterns; a PSUBSCRIBE pattern must equal one literally.
    fn channel_allowed(&self, channel: &[u8], literal: bool) -> bool {
        self.channels.iter().any(|p| {
            if literal {
                p.as_bytes() == channel
            } else {
                glob_match(p.as_bytes(), channel, false)
            }
        })
    }

    /// Key patterns as ACL GETUSER shows them (`~*` for allkeys).
    pub fn describe_keys(&self) -> String {
        if self.allkeys {
            return "~*".into();
        }
        self.keys
            .iter()
            .map(|k| match (k.read, k.write) {
                (true, true) => format!("~{}", k.pattern),
                (true, false) => format!("%R~{}", k.pattern),
                (false, true) => format!("%W~{}", k.pattern),
                (false, false) => format!("%~{}", k.pattern),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Channel patterns as ACL GETUSER shows them (`&*` for allchannels).
    pub fn describe_channels(&self) -> String {
        if self.allchannels {
            return "&*".into();
        }
        self.channels
            .iter()
            .map(|c| format!("&{c}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The rules Redis 7.0's ACLDescribeSelectorCommandRules finds for the allowed set: start
    /// from `+@all` or `-@all`, apply categories while one covers more than it misses, then
    /// fix single commands and list first-arg rules (in table order; Redis uses hash order).
    pub fn describe_commands(&self) -> String {
        let mut rules = Vec::new();
        let additive = !self.future;
        let mut fake = Selector::new(false);
        fake.set_all(!additive);
        rules.push(if additive { "-@all" } else { "+@all" }.to_string());
        // What is left to explain: applied categories are taken away from it. Each round picks
        // the category that fits best (fewest commands wrong, then most right).
        let mut left = self.clone();
        let items = catalog::items();
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best: Option<(usize, usize, usize)> = None;
            for (j, done) in applied.iter().enumerate() {
                if *done {
                    continue;
                }
                let bit = 1u32 << j;
                let (mut on, mut off) = (0, 0);
                for (i, item) in items.iter().enumerate() {
                    if item.cats & bit != 0 {
                        if left.allowed[i] {
                            on += 1;
                        } else {
                            off += 1;
                        }
                    }
                }
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                let better = match best {
                    None => true,
                    Some((_, d, s)) => diff < d || (diff == d && same > s),
                };
                if same > diff && better {
                    best = Some((j, diff, same));
                }
            }
            let Some((j, _, _)) = best else { break };
            let bit = 1u32 << j;
            fake.change_category(bit, additive);
            left.change_category(bit, !additive);
            let sign = if additive { '+' } else { '-' };
            rules.push(format!("{sign}@{}", CATEGORIES[j]));
            applied[j] = true;
        }
        for (i, item) in items.iter().enumerate() {
            if self.allowed[i] != fake.allowed[i] {
                let sign = if self.allowed[i] { '+' } else { '-' };
                rules.push(format!("{sign}{}", item.cmd.name));
                fake.change(i, self.allowed[i]);
            }
            if !self.allowed[i] {
                for arg in self.firstargs.get(&i).into_iter().flatten() {
                    rules.push(format!("+{}|{arg}", item.cmd.name));
                }
            }
        }
        rules.join(" ")
    }

    /// The selector as ACL LIST prints it: keys, channels, commands.
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        let keys = self.describe_keys();
        if !keys.is_empty() {
            out.push(keys);
        }
        if self.allchannels {
            out.push("&*".into());
        } else {
            out.push("resetchannels".into());
            let channels = self.describe_channels();
            if !channels.is_empty() {
                out.push(channels);
            }
        }
        out.push(self.describe_commands());
        out.join(" ")
    }
}

/// Which arguments of a Pub/Sub command are channels, and whether they are matched literally
/// (PSUBSCRIBE patterns); None for commands without channels.
fn channel_positions(name: &str, argc: usize) -> Option<(std::ops::Range<usize>, bool)> {
    match name {
        "publish" | "spublish" => Some((1..2, false)),
        "subscribe" | "ssubscribe" => Some((1..argc, false)),
        "psubscribe" => Some((1..argc, true)),
        _ => None,
    }
}

/// SHA-256 as 64 lowercase hex characters: how passwords are stored and shown.
pub fn hash_password(pass: &[u8]) -> String {
    Sha256::digest(pass)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    /// `sanitize-payload` (Some(true)) or `skip-sanitize-payload` (Some(false)); shown only
    /// once set, as Redis.
    pub sanitize: Option<bool>,
    /// SHA-256 hex digests, in the order they were added.
    pub passwords: Vec<String>,
    pub root: Selector,
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user as ACL SETUSER creates it: off, no passwords, no commands, no keys, channels
    /// per `acl-pubsub-default`.
    pub fn new(name: &str, allchannels: bool) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            root: Selector::new(allchannels),
            selectors: Vec::new(),
        }
    }

    /// Applies one rule (ACLSetUser). `allchannels` is `acl-pubsub-default`, used by `reset`
    /// and by new selectors.
    pub fn apply(&mut self, op: &str, allchannels: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(()); // as Redis: an empty rule does nothing
        }
        let lower = op.to_ascii_lowercase();
        match lower.as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            "skip-sanitize-payload" => self.sanitize = Some(false),
            "sanitize-payload" => self.sanitize = Some(true),
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            "clearselectors" => self.selectors.clear(),
            "reset" => {
                for rule in ["resetpass", "resetkeys", "resetchannels"] {
                    self.apply(rule, allchannels)?;
                }
                if allchannels {
                    self.apply("allchannels", allchannels)?;
                }
                for rule in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                    self.apply(rule, allchannels)?;
                }
            }
            _ => match op.as_bytes().first() {
                Some(b'>') => self.add_password(hash_password(&op.as_bytes()[1..])),
                Some(b'#') => self.add_password(valid_hash(&op[1..])?),
                Some(b'<') => self.remove_password(&hash_password(&op.as_bytes()[1..]))?,
                Some(b'!') => self.remove_password(&valid_hash(&op[1..])?)?,
                Some(b'(') if op.ends_with(')') => {
                    let mut selector = Selector::new(allchannels);
                    for rule in op[1..op.len() - 1].split_whitespace() {
                        selector.apply(rule)?;
                    }
                    self.selectors.push(selector);
                }
                _ => self.root.apply(op)?,
            },
        }
        Ok(())
    }

    fn add_password(&mut self, hash: String) {
        if !self.passwords.contains(&hash) {
            self.passwords.push(hash);
        }
        self.nopass = false;
    }

    fn remove_password(&mut self, hash: &str) -> Result<(), RuleError> {
        let at = self
            .passwords
            .iter()
            .position(|p| p == hash)
            .ok_or(RuleError::NoSuchPassword)?;
        self.passwords.remove(at);
        self.nopass = false;
        Ok(())
    }

    pub fn password_ok(&self, pass: &[u8]) -> bool {
        self.nopass || self.passwords.contains(&hash_password(pass))
    }

    /// True when nothing can be denied: the fast path of every command.
    pub fn unrestricted(&self) -> bool {
        self.root.unrestricted()
    }

    /// Checks every selector; when all deny, the most relevant denial (Redis's rule: a key or
    /// channel beats the command, a later argument beats an earlier one).
    pub fn check(
        &self,
        index: usize,
        no_auth: bool,
        args: &[bytes::Bytes],
        keys: &mut dyn FnMut() -> Vec<(usize, &'static str)>,
    ) -> Result<(), Denied> {
        let mut worst: Option<Denied> = None;
        for s in std::iter::once(&self.root).chain(&self.selectors) {
            match s.check(index, no_auth, args, keys) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    if worst.as_ref().is_none_or(|w| d.rank() > w.rank()) {
                        worst = Some(d);
                    }
                }
            }
        }
        Err(worst.unwrap_or(Denied::Command(catalog::items()[index].cmd.name)))
    }

    /// May this user stay subscribed to `name` (a PSUBSCRIBE pattern when `literal`)? Any
    /// selector's channels count, as in Redis's ACLKillPubsubClientsIfNeeded.
    pub fn may_subscribe(&self, name: &[u8], literal: bool) -> bool {
        std::iter::once(&self.root)
            .chain(&self.selectors)
            .any(|s| s.allchannels || s.channel_allowed(name, literal))
    }

    /// The flags ACL GETUSER lists and ACL LIST prints.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        match self.sanitize {
            Some(false) => flags.push("skip-sanitize-payload"),
            Some(true) => flags.push("sanitize-payload"),
            None => {}
        }
        flags
    }

    /// The user as one ACL LIST / ACL file line.
    pub fn describe(&self) -> String {
        let mut out = vec![format!("user {}", self.name)];
        out.extend(self.flags().iter().map(|f| f.to_string()));
        out.extend(self.passwords.iter().map(|p| format!("#{p}")));
        out.push(self.root.describe());
        out.extend(self.selectors.iter().map(|s| format!("({})", s.describe())));
        out.join(" ")
    }
}

fn valid_hash(h: &str) -> Result<String, RuleError> {
    if h.len() == 64 && h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(h.to_string())
    } else {
        Err(RuleError::BadHash)
    }
}
