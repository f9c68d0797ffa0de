//! Commands and categories as ACL rules see them, derived from the command table
//! (`commands::table()`): the table's `acl` field is the one source of categories.

use std::ops::Range;
use std::sync::OnceLock;

use crate::commands::{self, Command};

/// Redis 7.0's categories, in Redis's order (ACL CAT lists them so; ACL LIST tries them so).
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// One command or subcommand, by its statistics index in `commands::table().all`.
pub struct Item {
    pub cmd: &'static Command,
    /// Bit `1 << i` for each category `CATEGORIES[i]` the command belongs to.
    pub cats: u32,
    /// The indexes of a container's subcommands (empty otherwise).
    pub subs: Range<usize>,
    pub is_sub: bool,
}

/// Every command and subcommand, indexed like `commands::table().all` (a container is followed
/// by its subcommands, as the table builds them).
pub fn items() -> &'static [Item] {
    static ITEMS: OnceLock<Vec<Item>> = OnceLock::new();
    ITEMS.get_or_init(|| {
        let all = &commands::table().all;
        let mut items: Vec<Item> = all
            .iter()
            .map(|c| Item {
                cmd: c,
                cats: category_bits(c.acl),
                subs: 0..0,
                is_sub: c.name.contains('|'),
            })
            .collect();
        for (i, c) in all.iter().enumerate() {
            if !c.subcommands.is_empty() {
                items[i].subs = i + 1..i + 1 + c.subcommands.len();
            }
        }
        items
    })
}

fn category_bits(acl: &str) -> u32 {
    acl.split_whitespace()
        .filter_map(|c| category(c.trim_start_matches('@')))
        .fold(0, |a, b| a | b)
}

/// A category's bit, by (case-insensitive) name.
pub fn category(name: &str) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// The index of a command (`get`) or subcommand (`config|get`), as ACL rules name them.
pub fn find(name: &str) -> Option<usize> {
    let (parent, sub) = match name.split_once('|') {
        Some((p, s)) => (p, Some(s)),
        None => (name, None),
    };
    let entry = commands::lookup(parent.as_bytes())?;
    match sub {
        None => Some(entry.index),
        Some(s) => entry.subs.get(&s.to_ascii_lowercase()).map(|e| e.index),
    }
}
