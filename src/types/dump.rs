//! The DUMP/RESTORE payload: berth's own stable format (not Redis's RDB encoding).
//!
//! ```text
//! version:u8 | kind:u8 | body | crc64:u64 (little-endian, over everything before it)
//! ```
//!
//! `kind` is the stored `Kind` discriminant. For strings the body is the value itself. Collections
//! will use `count:u64` followed by their members, each as `len:u32 bytes` (plus a score for
//! sorted sets); their kinds are rejected until then. The checksum is CRC-64/Jones, the one
//! Redis uses for its own payloads. A new layout gets a new version byte; old versions stay
//! readable.

use crate::error::{CmdError, CmdResult};
use crate::storage::{Kind, Record};

pub const VERSION: u8 = 1;

/// What a payload holds, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    String(Vec<u8>),
}

/// Serializes a key's value. Collections are refused explicitly (their members are separate
/// entries this format does not carry yet).
pub fn encode(rec: &Record) -> CmdResult<Vec<u8>> {
    let Kind::String = rec.kind() else {
        return Err(unsupported("DUMP", rec.kind()));
    };
    let value = rec.str_value();
    let mut out = Vec::with_capacity(value.len() + 10);
    out.push(VERSION);
    out.push(Kind::String as u8);
    out.extend_from_slice(value);
    out.extend_from_slice(&crc64(&out).to_le_bytes());
    Ok(out)
}

/// Checks and decodes a payload.
pub fn decode(payload: &[u8]) -> CmdResult<Value> {
    let wrong = || CmdError::err("DUMP payload version or checksum are wrong");
    if payload.len() < 10 || payload[0] != VERSION {
        return Err(wrong());
    }
    let (data, sum) = payload.split_at(payload.len() - 8);
    let sum = u64::from_le_bytes(sum.try_into().map_err(|_| wrong())?);
    if crc64(data) != sum {
        return Err(wrong());
    }
    match data[1] {
        k if k == Kind::String as u8 => Ok(Value::String(data[2..].to_vec())),
        _ => Err(CmdError::err("Bad data format")),
    }
}

/// The error for a type a key command cannot handle yet.
pub fn unsupported(command: &str, kind: Kind) -> CmdError {
    CmdError::err(format!(
        "{command} of {} keys is not supported yet",
        kind.name()
    ))
}

/// CRC-64/Jones (reflected, polynomial 0xad93d23594c935a9, init 0), table driven.
pub fn crc64(data: &[u8]) -> u64 {
    static TABLE: [u64; 256] = table();
    data.iter().fold(0u64, |crc, &b| {
        TABLE[((crc ^ b as u64) & 0xFF) as usize] ^ (crc >> 8)
    })
}

const fn table() -> [u64; 256] {
    // The reflected polynomial.
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut j = 0;
        while j < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            j += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis_check_value() {
        // Redis's crc64 test vector.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn string_payload_roundtrips_and_detects_corruption() {
        let raw = crate::storage::encode_string(b"hello", 0, 0);
        let rec = Record::from_raw(raw.into()).expect("record");
        let mut p = encode(&rec).expect("encode");
        assert_eq!(decode(&p), Ok(Value::String(b"hello".to_vec())));
        p[3] ^= 1;
        assert!(decode(&p).is_err());
        assert!(decode(b"").is_err());
    }

    #[test]
    fn collections_are_refused_explicitly() {
        let raw = crate::storage::encode_collection(Kind::List, 0, 7, 3, &[]);
        let rec = Record::from_raw(raw.into()).expect("record");
        assert_eq!(
            encode(&rec),
            Err(CmdError::err("DUMP of list keys is not supported yet"))
        );
    }
}
