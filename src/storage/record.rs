//! The metadata record stored under every user key (layout in `storage/mod.rs`).

use bytes::Bytes;

/// Redis data types. The discriminant is what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String = 0,
    List = 1,
    Set = 2,
    ZSet = 3,
    Hash = 4,
}

impl Kind {
    fn from_u8(v: u8) -> Kind {
        match v & 0x0F {
            1 => Kind::List,
            2 => Kind::Set,
            3 => Kind::ZSet,
            4 => Kind::Hash,
            _ => Kind::String,
        }
    }

    /// The name TYPE reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::ZSet => "zset",
            Kind::Hash => "hash",
        }
    }
}

/// Flag bit: the string was modified in place (APPEND, SETRANGE, SETBIT), so Redis would report
/// encoding `raw` even when short.
pub const FLAG_RAW: u8 = 0x10;

/// Flag bit: the value was produced as text by the server (INCRBYFLOAT), so Redis would never
/// encode it as `int` even when it reads as an integer.
pub const FLAG_NOINT: u8 = 0x20;

/// `kind|flags:u8 expire_at_ms:u64 written_s:u32`: the write time (seconds, as coarse as Redis's
/// LRU clock) serves OBJECT IDLETIME without any bookkeeping on reads. Kept small so that short
/// records stay inline in sled's `IVec` (22 bytes).
const HEADER: usize = 13;
const COLL_HEADER: usize = HEADER + 16;

/// A stored metadata record: a cheap handle on the bytes sled returned.
#[derive(Debug, Clone)]
pub struct Record {
    raw: sled::IVec,
}

impl Record {
    pub fn from_raw(raw: sled::IVec) -> Option<Record> {
        (raw.len() >= HEADER).then_some(Record { raw })
    }

    pub fn kind(&self) -> Kind {
        Kind::from_u8(self.raw[0])
    }

    pub fn flags(&self) -> u8 {
        self.raw[0] & 0xF0
    }

    /// Absolute expiry in unix milliseconds, 0 when the key has none.
    pub fn expire_at(&self) -> u64 {
        u64::from_be_bytes(self.raw[1..9].try_into().unwrap_or_default())
    }

    /// Unix milliseconds of the last write of the value (OBJECT IDLETIME counts from it).
    pub fn written_at(&self) -> u64 {
        u32::from_be_bytes(self.raw[9..13].try_into().unwrap_or_default()) as u64 * 1000
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        let at = self.expire_at();
        at != 0 && at <= now_ms
    }

    /// Whether the record has expired by now (the clock is read only for a record with a TTL).
    pub fn expired_now(&self) -> bool {
        self.expire_at() != 0 && self.is_expired(super::now_ms())
    }

    /// The value of a string.
    pub fn str_value(&self) -> &[u8] {
        &self.raw[HEADER..]
    }

    pub fn str_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.str_value())
    }

    /// Version of a collection's member entries (0 for strings).
    pub fn version(&self) -> u64 {
        if self.kind() == Kind::String || self.raw.len() < COLL_HEADER {
            return 0;
        }
        u64::from_be_bytes(self.raw[HEADER..HEADER + 8].try_into().unwrap_or_default())
    }

    /// Member count of a collection; byte length of a string.
    pub fn size(&self) -> u64 {
        if self.kind() == Kind::String {
            return self.str_value().len() as u64;
        }
        if self.raw.len() < COLL_HEADER {
            return 0;
        }
        u64::from_be_bytes(
            self.raw[HEADER + 8..COLL_HEADER]
                .try_into()
                .unwrap_or_default(),
        )
    }

    /// Type-specific bytes after a collection's header (list head/tail, …).
    pub fn extra(&self) -> &[u8] {
        if self.raw.len() < COLL_HEADER {
            return &[];
        }
        &self.raw[COLL_HEADER..]
    }

    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The same record with another expiry.
    pub fn with_expire(&self, expire_at: u64) -> Vec<u8> {
        let mut v = self.raw.to_vec();
        v[1..9].copy_from_slice(&expire_at.to_be_bytes());
        v
    }

    /// The same record with another write time (RESTORE ... IDLETIME).
    pub fn with_written_at(&self, written_ms: u64) -> Vec<u8> {
        let mut v = self.raw.to_vec();
        v[9..13].copy_from_slice(&secs_u32(written_ms).to_be_bytes());
        v
    }
}

/// The `written_s` field for a record written now.
fn written_now() -> [u8; 4] {
    (super::now_s_coarse().min(u32::MAX as u64) as u32).to_be_bytes()
}

fn secs_u32(ms: u64) -> u32 {
    (ms / 1000).min(u32::MAX as u64) as u32
}

/// The member version of an encoded record (0 for strings), without parsing it whole.
pub fn version_of(raw: &[u8]) -> u64 {
    match raw.first() {
        Some(&b) if Kind::from_u8(b) != Kind::String && raw.len() >= COLL_HEADER => {
            u64::from_be_bytes(raw[HEADER..HEADER + 8].try_into().unwrap_or_default())
        }
        _ => 0,
    }
}

/// Encodes a string record.
pub fn encode_string(value: &[u8], expire_at: u64, flags: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER + value.len());
    v.push(Kind::String as u8 | flags);
    v.extend_from_slice(&expire_at.to_be_bytes());
    v.extend_from_slice(&written_now());
    v.extend_from_slice(value);
    v
}

/// Encodes a collection record.
pub fn encode_collection(
    kind: Kind,
    expire_at: u64,
    version: u64,
    size: u64,
    extra: &[u8],
) -> Vec<u8> {
    let mut v = Vec::with_capacity(COLL_HEADER + extra.len());
    v.push(kind as u8);
    v.extend_from_slice(&expire_at.to_be_bytes());
    v.extend_from_slice(&written_now());
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(&size.to_be_bytes());
    v.extend_from_slice(extra);
    v
}
