//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO. They work on
//! string values; the bit arithmetic lives in `types::bitmap`, this file parses and replies.

use crate::storage::events::{GENERIC, STRING};
use bytes::Bytes;

use super::args::{int, is, Opts};
use super::{cmd, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::storage::record::FLAG_RAW;
use crate::types::bitmap::{self, BitOp, FieldType, Overflow};
use crate::types::string;
use crate::util::num::parse_i64;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd("setbit", 4, "write denyoom", (1, 1, 1), "@write @bitmap @slow", "bitmap", "2.2.0", "Sets or clears the bit at offset in the string value stored at key", setbit),
    cmd("getbit", 3, "readonly fast", (1, 1, 1), "@read @bitmap @fast", "bitmap", "2.2.0", "Returns the bit value at offset in the string value stored at key", getbit),
    cmd("bitcount", -2, "readonly", (1, 1, 1), "@read @bitmap @slow", "bitmap", "2.6.0", "Count set bits in a string", bitcount),
    cmd("bitpos", -3, "readonly", (1, 1, 1), "@read @bitmap @slow", "bitmap", "2.8.7", "Find first bit set or clear in a string", bitpos),
    cmd("bitop", -4, "write denyoom", (2, -1, 1), "@write @bitmap @slow", "bitmap", "2.6.0", "Perform bitwise operations between strings", bitop),
    cmd("bitfield", -2, "write denyoom", (1, 1, 1), "@write @bitmap @slow", "bitmap", "3.2.0", "Perform arbitrary bitfield integer operations on strings", bitfield),
    cmd("bitfield_ro", -2, "readonly fast", (1, 1, 1), "@read @bitmap @fast", "bitmap", "6.0.0", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", bitfield_ro),
];

/// A bit offset argument, limited to proto-max-bulk-len bytes. With `hash_width` (BITFIELD),
/// `#N` means N fields of that width.
fn bit_offset(ctx: &Ctx, arg: &[u8], hash_width: Option<u32>) -> CmdResult<u64> {
    let err = || CmdError::err("bit offset is not an integer or out of range");
    let (digits, width) = match (arg, hash_width) {
        ([b'#', rest @ ..], Some(w)) if !rest.is_empty() => (rest, w as i64),
        _ => (arg, 1),
    };
    // Redis multiplies without an overflow check; a wrapped result is refused below or used.
    let offset = parse_i64(digits).ok_or_else(err)?.wrapping_mul(width);
    if offset < 0 || (offset >> 3) >= ctx.shared.config.proto_max_bulk_len() {
        return Err(err());
    }
    Ok(offset as u64)
}

/// BYTE (default) or BIT, the unit of BITCOUNT and BITPOS ranges; true for BIT.
fn bit_unit(arg: &[u8]) -> CmdResult<bool> {
    if is(arg, "BIT") {
        Ok(true)
    } else if is(arg, "BYTE") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// The inclusive bit range for a BITCOUNT/BITPOS `start end` over a string of `len` bytes.
fn bit_range(start: i64, end: i64, len: usize, in_bits: bool) -> Option<(u64, u64)> {
    let units = if in_bits { len as i64 * 8 } else { len as i64 };
    let (a, b) = string::clamp_range(start, end, units)?;
    Some(if in_bits { (a, b) } else { (a * 8, b * 8 + 7) })
}

/// The record of a string key, None when missing, WRONGTYPE for other types.
fn read(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Option<crate::storage::Record>> {
    let db = ctx.db();
    string::get(ctx.store(), db, key)
}

fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let offset = bit_offset(ctx, &args[2], None)?;
    let on = match parse_i64(&args[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Err(CmdError::err("bit is not an integer or out of range")),
    };
    let rec = read(ctx, &args[1])?;
    let mut value = rec.as_ref().map_or(Vec::new(), |r| r.str_value().to_vec());
    let old = bitmap::get_bit(&value, offset);
    let old_len = value.len();
    bitmap::grow_to_bit(&mut value, offset);
    bitmap::set_bit(&mut value, offset, on);
    // Redis unshares the value to a raw string even when the bit does not change.
    let unchanged = rec
        .as_ref()
        .is_some_and(|r| r.flags() & FLAG_RAW != 0 && old == on && old_len == value.len());
    if !unchanged {
        let expire = rec.as_ref().map_or(0, |r| r.expire_at());
        let db = ctx.db();
        string::set_flagged(ctx.store(), db, &args[1], &value, expire, string::FLAG_RAW)?;
    }
    // Redis reports SETBIT only when the string changed (a bit flipped or the string grew).
    if old != on || old_len != value.len() {
        ctx.notify(STRING, "setbit", &args[1]);
    }
    Ok(Reply::Integer(old as i64))
}

fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let offset = bit_offset(ctx, &args[2], None)?;
    let rec = read(ctx, &args[1])?;
    let bit = rec.is_some_and(|r| bitmap::get_bit(r.str_value(), offset));
    Ok(Reply::Integer(bit as i64))
}

fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    // Redis looks the key up before parsing the range: a missing key answers 0 to anything.
    let Some(rec) = read(ctx, &args[1])? else {
        return Ok(Reply::Integer(0));
    };
    let s = rec.str_value();
    let range = match args.len() {
        2 => bit_range(0, -1, s.len(), false),
        4 | 5 => {
            let (start, end) = (int(&args[2])?, int(&args[3])?);
            // Redis answers an inverted negative range before it reads BYTE|BIT.
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Integer(0));
            }
            let in_bits = args.len() == 5 && bit_unit(&args[4])?;
            bit_range(start, end, s.len(), in_bits)
        }
        _ => return Err(CmdError::Syntax),
    };
    Ok(Reply::Integer(
        range.map_or(0, |(a, b)| bitmap::count_ones(s, a, b)) as i64,
    ))
}

fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let bit = match int(&args[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::err("The bit argument must be 1 or 0.")),
    };
    // A missing key is an endless run of zero bits.
    let Some(rec) = read(ctx, &args[1])? else {
        return Ok(Reply::Integer(if bit { -1 } else { 0 }));
    };
    let s = rec.str_value();
    let len = s.len() as i64;
    let (range, end_given) = match args.len() {
        3 => (bit_range(0, -1, s.len(), false), false),
        4..=6 => {
            let start = int(&args[3])?;
            let in_bits = args.len() == 6 && bit_unit(&args[5])?;
            let end = match args.get(4) {
                Some(e) => int(e)?,
                None => len - 1,
            };
            (bit_range(start, end, s.len(), in_bits), args.len() > 4)
        }
        _ => return Err(CmdError::Syntax),
    };
    let Some((first, last)) = range else {
        return Ok(Reply::Integer(-1));
    };
    let pos = match bitmap::position(s, bit, first, last) {
        Some(p) => p as i64,
        // Without an explicit end the string is seen as padded with zeros: the first clear bit
        // is the one just after the range.
        None if !bit && !end_given => ((last >> 3) as i64 + 1) * 8,
        None => -1,
    };
    Ok(Reply::Integer(pos))
}

fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let op = match Opts::new(&args[1..2]).next_upper().as_deref() {
        Some("AND") => BitOp::And,
        Some("OR") => BitOp::Or,
        Some("XOR") => BitOp::Xor,
        Some("NOT") => BitOp::Not,
        _ => return Err(CmdError::Syntax),
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let mut values = Vec::with_capacity(args.len() - 3);
    for key in &args[3..] {
        let rec = ctx.reading(|ctx| read(ctx, key))?;
        values.push(rec.map_or(Bytes::new(), |r| r.str_bytes()));
    }
    let srcs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
    let result = bitmap::bitop(op, &srcs);
    let db = ctx.db();
    let store = ctx.store();
    // An empty result deletes the destination; otherwise it is replaced, TTL dropped.
    if result.is_empty() {
        if store.delete(db, &args[2])? {
            ctx.notify(GENERIC, "del", &args[2]);
        }
    } else {
        string::set_flagged(store, db, &args[2], &result, 0, string::FLAG_RAW)?;
        ctx.notify(STRING, "set", &args[2]);
    }
    Ok(Reply::Integer(result.len() as i64))
}

fn field_type(arg: &[u8]) -> CmdResult<FieldType> {
    let err = || {
        CmdError::err(
            "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    // Redis reads the type as a C string: it ends at the first NUL byte.
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let bits = parse_i64(&arg[1..]).ok_or_else(err)?;
    if bits < 1 || bits > if signed { 64 } else { 63 } {
        return Err(err());
    }
    Ok(FieldType {
        signed,
        bits: bits as u32,
    })
}

enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

struct Field {
    op: FieldOp,
    t: FieldType,
    offset: u64,
    overflow: Overflow,
}

/// Parses BITFIELD's operations; also returns the highest bit a write touches.
fn parse_fields(ctx: &Ctx, args: &[Bytes]) -> CmdResult<(Vec<Field>, Option<u64>)> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest: Option<u64> = None;
    let mut i = 0;
    while i < args.len() {
        let rest = args.len() - i - 1;
        let sub = &args[i];
        let writes = if is(sub, "GET") && rest >= 2 {
            false
        } else if (is(sub, "SET") || is(sub, "INCRBY")) && rest >= 3 {
            true
        } else if is(sub, "OVERFLOW") && rest >= 1 {
            overflow = match Opts::new(&args[i + 1..i + 2]).next_upper().as_deref() {
                Some("WRAP") => Overflow::Wrap,
                Some("SAT") => Overflow::Sat,
                Some("FAIL") => Overflow::Fail,
                _ => return Err(CmdError::err("Invalid OVERFLOW type specified")),
            };
            i += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let t = field_type(&args[i + 1])?;
        let offset = bit_offset(ctx, &args[i + 2], Some(t.bits))?;
        let op = if writes {
            let last = offset + t.bits as u64 - 1;
            highest = Some(highest.map_or(last, |h| h.max(last)));
            let v = int(&args[i + 3])?;
            if is(sub, "SET") {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        } else {
            FieldOp::Get
        };
        fields.push(Field {
            op,
            t,
            offset,
            overflow,
        });
        i += if writes { 4 } else { 3 };
    }
    Ok((fields, highest))
}

fn bitfield_with(ctx: &mut Ctx, args: &[Bytes], read_only: bool) -> CmdResult<Reply> {
    let (fields, highest) = parse_fields(ctx, &args[2..])?;
    if read_only && highest.is_some() {
        return Err(CmdError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    // Without writes, BITFIELD looks its key up as a read (a miss is a `keymiss`).
    let rec = match highest {
        None => ctx.reading(|ctx| read(ctx, &args[1]))?,
        Some(_) => read(ctx, &args[1])?,
    };
    let mut value = rec.as_ref().map_or(Vec::new(), |r| r.str_value().to_vec());
    let Some(highest) = highest else {
        let replies = fields
            .iter()
            .map(|f| Reply::Integer(bitmap::get_field(&value, f.offset, f.t)))
            .collect();
        return Ok(Reply::Array(replies));
    };
    // Writes first grow the string to cover every field written, even those that then fail.
    bitmap::grow_to_bit(&mut value, highest);
    let mut replies = Vec::with_capacity(fields.len());
    let mut changed = false;
    for f in &fields {
        let old = bitmap::get_field(&value, f.offset, f.t);
        let (new, reply_new) = match f.op {
            FieldOp::Get => {
                replies.push(Reply::Integer(old));
                continue;
            }
            FieldOp::Set(v) => (bitmap::add(v, 0, f.t, f.overflow), false),
            FieldOp::IncrBy(by) => (bitmap::add(old, by, f.t, f.overflow), true),
        };
        replies.push(match new {
            Some(n) => {
                bitmap::set_field(&mut value, f.offset, f.t, n);
                changed = true;
                Reply::Integer(if reply_new { n } else { old })
            }
            None => Reply::Nil,
        });
    }
    let expire = rec.as_ref().map_or(0, |r| r.expire_at());
    let db = ctx.db();
    string::set_flagged(ctx.store(), db, &args[1], &value, expire, string::FLAG_RAW)?;
    // One event per command, when some field was written (an overflow FAIL writes nothing).
    if changed {
        ctx.notify(STRING, "setbit", &args[1]);
    }
    Ok(Reply::Array(replies))
}

fn bitfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bitfield_with(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bitfield_with(ctx, args, true)
}
