//! Numbers as Redis parses and prints them.
//!
//! Integers follow `string2ll` (no spaces, no `+`, no leading zeros, no `-0`). Floats that Redis
//! computes in `long double` (INCRBYFLOAT, HINCRBYFLOAT) are computed by the same C code Redis
//! uses (`longdouble.c`), because an `f64` gives different digits (0.1+0.2 prints `0.3` in Redis).

use std::ffi::c_char;

extern "C" {
    fn berth_ld_add(
        a: *const c_char,
        alen: usize,
        b: *const c_char,
        blen: usize,
        out: *mut c_char,
        outlen: usize,
    ) -> i32;
    fn berth_fmt_g17(d: f64, out: *mut c_char, outlen: usize) -> i32;
    fn berth_strtod(s: *const c_char, slen: usize, strict: i32, out: *mut f64) -> i32;
    fn berth_sort_strtod(s: *const c_char, slen: usize, out: *mut f64) -> i32;
    fn berth_timeout_ms(s: *const c_char, slen: usize, out: *mut i64) -> i32;
}

/// Strict integer parse, as Redis's `string2ll`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Float parse as Redis's `string2d`/`strtod`: no leading space, whole string consumed, NaN refused.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let lower = text.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("inf") || lower.contains("nan") {
                return None;
            }
            text.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// A double parsed by C's `strtod` as Redis uses it (hex floats, `inf`, `infinity` accepted).
/// `strict`: `getDoubleFromObject` (ZADD scores, weights): no leading space, no overflow or
/// underflow. Not strict: `zslParseRange` (score range bounds): an empty string is 0, leading
/// spaces and overflow to infinity are accepted. NaN is always refused.
pub fn strtod(s: &[u8], strict: bool) -> Option<f64> {
    let mut out = 0.0f64;
    // SAFETY: the C function reads exactly slen bytes and writes one double.
    let ok = unsafe {
        berth_strtod(
            s.as_ptr() as *const c_char,
            s.len(),
            strict as i32,
            &mut out,
        )
    };
    (ok == 1).then_some(out)
}

/// A SORT weight as `sort.c` parses it with `strtod`: the text up to the first NUL byte, leading
/// spaces allowed, an empty string is 0; None when strtod stops early, overflows or underflows
/// (ERANGE), or gives NaN.
pub fn sort_strtod(s: &[u8]) -> Option<f64> {
    let mut out = 0.0f64;
    // SAFETY: the C function reads exactly slen bytes and writes one double.
    let ok = unsafe { berth_sort_strtod(s.as_ptr() as *const c_char, s.len(), &mut out) };
    (ok == 1).then_some(out)
}

/// Why INCRBYFLOAT failed.
#[derive(Debug, PartialEq, Eq)]
pub enum LdAddError {
    NotAFloat,
    NanOrInfinity,
}

/// `a + b` in long double, printed as Redis's `ld2string(LD_STR_HUMAN)`.
pub fn long_double_add(a: &[u8], b: &[u8]) -> Result<Vec<u8>, LdAddError> {
    let mut out = vec![0u8; 5 * 1024 + 32];
    // SAFETY: the C function reads exactly alen/blen bytes and writes at most outlen bytes.
    let n = unsafe {
        berth_ld_add(
            a.as_ptr() as *const c_char,
            a.len(),
            b.as_ptr() as *const c_char,
            b.len(),
            out.as_mut_ptr() as *mut c_char,
            out.len(),
        )
    };
    match n {
        -1 => Err(LdAddError::NotAFloat),
        n if n < 0 => Err(LdAddError::NanOrInfinity),
        n => {
            out.truncate(n as usize);
            Ok(out)
        }
    }
}

/// A blocking timeout in seconds converted to milliseconds in long double, as Redis's
/// `getTimeoutFromObjectOrReply` (rounded up; out of range comes out negative). None when the
/// argument is not a float.
pub fn timeout_ms(s: &[u8]) -> Option<i64> {
    let mut out = 0i64;
    // SAFETY: the C function reads exactly slen bytes and writes one i64.
    let ok = unsafe { berth_timeout_ms(s.as_ptr() as *const c_char, s.len(), &mut out) };
    (ok == 1).then_some(out)
}

/// A double printed as Redis 7.0 prints replies (`%.17g`, `inf`, `-inf`).
pub fn fmt_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let mut out = [0u8; 64];
    // SAFETY: writes at most out.len() bytes including the terminator.
    let n = unsafe { berth_fmt_g17(d, out.as_mut_ptr() as *mut c_char, out.len()) };
    String::from_utf8_lossy(&out[..n.max(0) as usize]).into_owned()
}

/// An integer as decimal bytes.
pub fn i64_bytes(n: i64) -> bytes::Bytes {
    let mut buf = [0u8; 20];
    bytes::Bytes::copy_from_slice(crate::protocol::reply::fmt_i64(n, &mut buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_strictly() {
        assert_eq!(parse_i64(b"123"), Some(123));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"+1"), None);
    }

    #[test]
    fn long_double_add_prints_like_redis() {
        assert_eq!(long_double_add(b"10.50", b"0.1").unwrap(), b"10.6");
        assert_eq!(long_double_add(b"0.3", b"0").unwrap(), b"0.3");
        assert_eq!(long_double_add(b"5.0e3", b"2.0e2").unwrap(), b"5200");
        assert_eq!(long_double_add(b"abc", b"1"), Err(LdAddError::NotAFloat));
        assert_eq!(long_double_add(b"1", b" 1"), Err(LdAddError::NotAFloat));
        assert_eq!(
            long_double_add(b"1", b"inf"),
            Err(LdAddError::NanOrInfinity)
        );
    }

    #[test]
    fn doubles_print_with_17_digits() {
        assert_eq!(fmt_double(1.1), "1.1000000000000001");
        assert_eq!(fmt_double(3.0), "3");
        assert_eq!(fmt_double(f64::NEG_INFINITY), "-inf");
    }
}
