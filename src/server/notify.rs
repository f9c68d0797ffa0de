//! Keyspace notifications: the `notify-keyspace-events` flags and the publishing of recorded
//! events (`storage::events`) on Redis's channels.
//!
//! An event `e` on key `k` of database `n` is published as message `e` on
//! `__keyspace@n__:k` (flag K) and as message `k` on `__keyevent@n__:e` (flag E), in that order,
//! through ordinary Pub/Sub delivery.

use bytes::Bytes;

use super::Shared;
use crate::storage::events::*;
use crate::storage::Store;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `t`: streams (berth has none; the letter is accepted).
pub const STREAM: u32 = 1 << 10;
/// `d`: module events (accepted; berth has no modules).
pub const MODULE: u32 = 1 << 12;
/// `A`: Redis's alias for `g$lshzxetd` (not `m`, not `n`).
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Letters in the order Redis writes them back (after `A`, which stands for the whole run).
const CLASS_LETTERS: [(char, u32); 11] = [
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
    ('n', NEW),
];

/// Parses a flags string as Redis's `keyspaceEventsStringToFlags`; None on an unknown letter.
pub fn parse_flags(s: &str) -> Option<u32> {
    s.chars().try_fold(0, |flags, c| {
        let bit = match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            c => CLASS_LETTERS.iter().find(|(l, _)| *l == c)?.1,
        };
        Some(flags | bit)
    })
}

/// The canonical string CONFIG GET shows, as Redis's `keyspaceEventsFlagsToString`: `A` replaces
/// the class letters when all of `ALL` are set (and then, as in Redis, `n` is not written).
pub fn flags_to_string(flags: u32) -> String {
    format_flags(flags, false)
}

/// The form the configuration keeps: Redis's string, but with `n` kept after `A`, so that
/// "AKEn" still publishes `new` events although CONFIG GET shows "AKE" as Redis does.
pub fn flags_to_stored(flags: u32) -> String {
    format_flags(flags, true)
}

fn format_flags(flags: u32, keep_new: bool) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
        if keep_new && flags & NEW != 0 {
            s.push('n');
        }
    } else {
        s.extend(
            CLASS_LETTERS
                .iter()
                .filter(|(_, bit)| flags & bit != 0)
                .map(|(l, _)| l),
        );
    }
    for (letter, bit) in [('K', KEYSPACE), ('E', KEYEVENT), ('m', KEY_MISS)] {
        if flags & bit != 0 {
            s.push(letter);
        }
    }
    s
}

/// The classes the store should record: none unless some channel (K or E) is on.
pub fn record_mask(flags: u32) -> u32 {
    if flags & (KEYSPACE | KEYEVENT) == 0 {
        0
    } else {
        flags
    }
}

/// Publishes and clears the events `store` recorded.
pub fn publish_pending(shared: &Shared, store: &mut Store) {
    if store.events.is_empty() {
        return;
    }
    let flags = shared.config.notify_flags();
    for e in store.events.take() {
        if flags & KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{}__:", e.db).into_bytes();
            channel.extend_from_slice(&e.key);
            shared.pubsub.publish(
                &Bytes::from(channel),
                &Bytes::from_static(e.event.as_bytes()),
            );
        }
        if flags & KEYEVENT != 0 {
            let channel = format!("__keyevent@{}__:{}", e.db, e.event);
            shared
                .pubsub
                .publish(&Bytes::from(channel), &Bytes::from(e.key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_back_as_redis_writes_them() {
        let norm = |s: &str| parse_flags(s).map(flags_to_string);
        assert_eq!(norm("KEA").as_deref(), Some("AKE"));
        assert_eq!(norm("Kl").as_deref(), Some("lK"));
        assert_eq!(norm("g$lshzxetdnmKE").as_deref(), Some("AKEm"));
        assert_eq!(norm("An").as_deref(), Some("A"));
        assert_eq!(norm("gn").as_deref(), Some("gn"));
        assert_eq!(norm("").as_deref(), Some(""));
        assert_eq!(norm("Eq"), None);
        assert_eq!(
            parse_flags("AKEn").map(flags_to_stored).as_deref(),
            Some("AnKE")
        );
        assert_eq!(parse_flags("AnKE"), parse_flags("AKEn"));
    }
}
