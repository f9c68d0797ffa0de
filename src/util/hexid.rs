//! 40-hex-character identifiers (the shape of Redis run IDs and node IDs).

/// A deterministic 40-hex-character digest of `seed` (FNV-1a, five chained rounds). Not a
/// cryptographic hash: node IDs only need to be stable and distinct.
pub fn hex_id(seed: &[u8]) -> String {
    let mut out = String::with_capacity(80);
    let mut h: u64 = 0xcbf29ce484222325;
    for round in 0..5u8 {
        for &b in seed.iter().chain(&[round]) {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(40);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(hex_id(b"berth/0"), hex_id(b"berth/0"));
        assert_ne!(hex_id(b"berth/0"), hex_id(b"berth/1"));
        assert_eq!(hex_id(b"x").len(), 40);
        assert!(hex_id(b"x").bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
