//! Bit-level operations on string values (SETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD), ported from
//! Redis's `bitops.c`. Bit 0 is the most significant bit of the first byte. Reads past the end of
//! a string see zero bits, as in Redis.

/// The bit at `offset`.
pub fn get_bit(s: &[u8], offset: u64) -> bool {
    let Some(&byte) = usize::try_from(offset >> 3).ok().and_then(|i| s.get(i)) else {
        return false;
    };
    byte & (0x80 >> (offset & 7)) != 0
}

/// Sets the bit at `offset` (the string must already cover it).
pub fn set_bit(s: &mut [u8], offset: u64, on: bool) {
    let mask = 0x80 >> (offset & 7);
    let byte = &mut s[(offset >> 3) as usize];
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
}

/// Grows `s` with zero bytes so that bit `offset` exists.
pub fn grow_to_bit(s: &mut Vec<u8>, offset: u64) {
    let need = (offset >> 3) as usize + 1;
    if s.len() < need {
        s.resize(need, 0);
    }
}

/// Mask of the bits of byte `i` that lie inside the inclusive bit range `[first, last]`.
fn byte_mask(i: u64, first: u64, last: u64) -> u8 {
    let mut mask = 0xFFu8;
    if i == first >> 3 {
        mask &= 0xFF >> (first & 7);
    }
    if i == last >> 3 {
        mask &= 0xFF << (7 - (last & 7));
    }
    mask
}

/// Number of set bits in the inclusive bit range `[first, last]`, which lies inside `s`.
pub fn count_ones(s: &[u8], first: u64, last: u64) -> u64 {
    let (lo, hi) = ((first >> 3) as usize, (last >> 3) as usize);
    s[lo..=hi]
        .iter()
        .zip(lo as u64..)
        .map(|(&b, i)| (b & byte_mask(i, first, last)).count_ones() as u64)
        .sum()
}

/// Position of the first bit equal to `bit` in the inclusive bit range `[first, last]`, which lies
/// inside `s`.
pub fn position(s: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let (lo, hi) = ((first >> 3) as usize, (last >> 3) as usize);
    s[lo..=hi].iter().zip(lo as u64..).find_map(|(&b, i)| {
        let mask = byte_mask(i, first, last);
        // Look for a set bit in `b` (or in `!b` when searching for clear bits) inside the mask.
        let hits = if bit { b & mask } else { !b & mask };
        (hits != 0).then(|| i * 8 + hits.leading_zeros() as u64)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP over `srcs` (missing keys are empty strings): the result is as long as the longest
/// source, shorter sources padded with zero bytes. NOT takes exactly one source.
pub fn bitop(op: BitOp, srcs: &[&[u8]]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let byte = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    (0..maxlen)
        .map(|i| {
            let mut bytes = srcs.iter().map(|s| byte(s, i));
            let first = bytes.next().unwrap_or(0);
            match op {
                BitOp::Not => !first,
                BitOp::And => bytes.fold(first, |a, b| a & b),
                BitOp::Or => bytes.fold(first, |a, b| a | b),
                BitOp::Xor => bytes.fold(first, |a, b| a ^ b),
            }
        })
        .collect()
}

/// A BITFIELD integer type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldType {
    pub signed: bool,
    pub bits: u32,
}

/// What BITFIELD SET/INCRBY do when the value does not fit its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Reads a field as unsigned; bits past the end of `s` read as zero.
fn get_unsigned(s: &[u8], offset: u64, bits: u32) -> u64 {
    (0..bits as u64).fold(0u64, |v, j| (v << 1) | get_bit(s, offset + j) as u64)
}

/// Reads a field of type `t` at bit `offset`, sign-extended for signed types.
pub fn get_field(s: &[u8], offset: u64, t: FieldType) -> i64 {
    let v = get_unsigned(s, offset, t.bits);
    if t.signed && t.bits < 64 && v & (1 << (t.bits - 1)) != 0 {
        (v | (u64::MAX << t.bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `t.bits` bits of `value` at bit `offset` (the string must already cover them).
pub fn set_field(s: &mut [u8], offset: u64, t: FieldType, value: i64) {
    let value = value as u64;
    for j in 0..t.bits as u64 {
        let on = value & (1 << (t.bits as u64 - 1 - j)) != 0;
        set_bit(s, offset + j, on);
    }
}

/// `value + incr` for a field of type `t` under the overflow policy: the value to store, or None
/// when the policy is FAIL and the result does not fit. SET is `add(new, 0)`.
pub fn add(value: i64, incr: i64, t: FieldType, ow: Overflow) -> Option<i64> {
    if t.signed {
        add_signed(value, incr, t.bits, ow)
    } else {
        add_unsigned(value as u64, incr, t.bits, ow).map(|v| v as i64)
    }
}

/// Port of `checkSignedBitfieldOverflow`, including its wrap arithmetic.
fn add_signed(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wide = bits != 64;
    let limit = if value > max
        || (wide && incr > maxincr)
        || (value >= 0 && incr > 0 && incr > maxincr)
    {
        max
    } else if value < min || (wide && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        min
    } else {
        return Some(value.wrapping_add(incr));
    };
    match ow {
        Overflow::Fail => None,
        Overflow::Sat => Some(limit),
        Overflow::Wrap => {
            let mut c = (value as u64).wrapping_add(incr as u64);
            if bits < 64 {
                let mask = u64::MAX << bits;
                if c & (1 << (bits - 1)) != 0 {
                    c |= mask;
                } else {
                    c &= !mask;
                }
            }
            Some(c as i64)
        }
    }
}

/// Port of `checkUnsignedBitfieldOverflow` (`bits` is at most 63).
fn add_unsigned(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let limit = if value > max || (incr > 0 && incr > maxincr) {
        max
    } else if incr < 0 && incr < minincr {
        0
    } else {
        return Some(value.wrapping_add(incr as u64));
    };
    match ow {
        Overflow::Fail => None,
        Overflow::Sat => Some(limit),
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U8: FieldType = FieldType {
        signed: false,
        bits: 8,
    };
    const I8: FieldType = FieldType {
        signed: true,
        bits: 8,
    };

    #[test]
    fn counts_and_finds_bits_in_ranges() {
        let s = [0b0000_1111u8, 0b1111_0000];
        assert_eq!(count_ones(&s, 0, 15), 8);
        assert_eq!(count_ones(&s, 5, 9), 5);
        assert_eq!(position(&s, true, 0, 15), Some(4));
        assert_eq!(position(&s, false, 4, 11), None);
        assert_eq!(position(&s, false, 4, 13), Some(12));
        assert_eq!(position(&s, true, 12, 15), None);
    }

    #[test]
    fn fields_read_and_write_across_bytes() {
        let mut s = vec![0u8; 2];
        set_field(&mut s, 4, U8, 0xAB);
        assert_eq!(s, [0x0A, 0xB0]);
        assert_eq!(get_field(&s, 4, U8), 0xAB);
        assert_eq!(get_field(&s, 4, I8), 0xABu8 as i8 as i64);
        assert_eq!(get_field(&s, 12, U8), 0);
    }

    #[test]
    fn overflow_policies_match_redis() {
        assert_eq!(add(250, 10, U8, Overflow::Wrap), Some(4));
        assert_eq!(add(250, 10, U8, Overflow::Sat), Some(255));
        assert_eq!(add(250, 10, U8, Overflow::Fail), None);
        assert_eq!(add(-1, 0, U8, Overflow::Sat), Some(255));
        assert_eq!(add(120, 10, I8, Overflow::Wrap), Some(-126));
        assert_eq!(add(-120, -10, I8, Overflow::Sat), Some(-128));
    }

    proptest::proptest! {
        #[test]
        fn range_scans_match_a_bit_by_bit_walk(
            s in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..8),
            a in 0u64..64,
            b in 0u64..64,
            bit in proptest::prelude::any::<bool>(),
        ) {
            let bits = s.len() as u64 * 8;
            let (first, last) = (a.min(b) % bits, a.max(b) % bits);
            let (first, last) = (first.min(last), first.max(last));
            let walk: Vec<u64> = (first..=last).filter(|&i| get_bit(&s, i) == bit).collect();
            proptest::prop_assert_eq!(position(&s, bit, first, last), walk.first().copied());
            if bit {
                proptest::prop_assert_eq!(count_ones(&s, first, last), walk.len() as u64);
            }
        }

        #[test]
        fn field_arithmetic_matches_wide_integer_math(
            signed in proptest::prelude::any::<bool>(),
            bits in 1u32..=64,
            offset in 0u64..40,
            raw in proptest::prelude::any::<i64>(),
            incr in proptest::prelude::any::<i64>(),
        ) {
            let bits = if signed { bits } else { bits.min(63) };
            let t = FieldType { signed, bits };
            let mut s = vec![0u8; 14];
            set_field(&mut s, offset, t, raw);
            let old = get_field(&s, offset, t);
            let (min, max) = if signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            proptest::prop_assert!((min..=max).contains(&(old as i128)));
            let sum = old as i128 + incr as i128;
            let span = 1i128 << bits;
            let wrapped = (sum - min).rem_euclid(span) + min;
            proptest::prop_assert_eq!(add(old, incr, t, Overflow::Wrap), Some(wrapped as i64));
            proptest::prop_assert_eq!(add(old, incr, t, Overflow::Sat), Some(sum.clamp(min, max) as i64));
            let fits = (min..=max).contains(&sum);
            proptest::prop_assert_eq!(add(old, incr, t, Overflow::Fail), fits.then_some(sum as i64));
        }
    }
}
