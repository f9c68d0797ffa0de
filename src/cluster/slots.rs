//! Which ordinal owns which hash slots.
//!
//! With `cluster-shards N`, ordinal `i` owns the contiguous range `[start(i), start(i + 1) - 1]`
//! where `start(i) = round(i * 16384 / N)` (halves rounded up, computed in integers). That is
//! the split `redis-cli --cluster create` makes (checked below for N up to 64; beyond that redis-cli's float cursor drifts by a slot here and there): for N = 3,
//! 0-5460, 5461-10922, 10923-16383. The owner of slot `s` is then
//! `floor((N * (2s + 1) - 1) / 32768)`.

pub const SLOTS: u32 = 16384;

/// The first and last slot owned by `ordinal` (which must be below `shards`).
pub fn range(ordinal: u32, shards: u32) -> (u16, u16) {
    let end = start(ordinal + 1, shards) - 1;
    (start(ordinal, shards) as u16, end as u16)
}

fn start(ordinal: u32, shards: u32) -> u32 {
    (2 * ordinal as u64 * SLOTS as u64 + shards as u64) as u32 / (2 * shards)
}

/// The ordinal owning `slot`.
pub fn owner(slot: u16, shards: u32) -> u32 {
    ((shards as u64 * (2 * slot as u64 + 1) - 1) / (2 * SLOTS as u64)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_slot_once_and_agree_with_owner() {
        for shards in [1, 2, 3, 5, 7, 100, 16384] {
            let mut next = 0u32;
            for i in 0..shards {
                let (start, end) = range(i, shards);
                assert_eq!(start as u32, next, "shards {shards} ordinal {i}");
                assert!(end >= start);
                for s in [start, end, start + (end - start) / 2] {
                    assert_eq!(owner(s, shards), i, "slot {s} of {shards} shards");
                }
                next = end as u32 + 1;
            }
            assert_eq!(next, SLOTS);
        }
    }

    /// redis-cli's `clusterManagerCommandCreate`: a float cursor and `lround`.
    #[test]
    fn split_matches_redis_cli_cluster_create() {
        for n in 1..=64u32 {
            let per = SLOTS as f32 / n as f32;
            let (mut first, mut cursor) = (0i64, 0.0f32);
            for i in 0..n {
                let mut last = (cursor + per - 1.0).round() as i64;
                if last > 16383 || i == n - 1 {
                    last = 16383;
                }
                if last < first {
                    last = first;
                }
                assert_eq!(
                    range(i, n),
                    (first as u16, last as u16),
                    "{n} shards, ordinal {i}"
                );
                first = last + 1;
                cursor += per;
            }
        }
    }

    #[test]
    fn three_shards_split_like_redis_cli_cluster_create() {
        assert_eq!(range(0, 3), (0, 5460));
        assert_eq!(range(1, 3), (5461, 10922));
        assert_eq!(range(2, 3), (10923, 16383));
    }
}
