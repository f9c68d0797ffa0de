//! Roberto Ierusalimschy's `struct` library (struct.pack, struct.unpack, struct.size) as Redis
//! ships it: `<` `>` `!n` set endianness and alignment (default: native order, alignment 1);
//! `b B h H l L T i[n] I[n]` integers, `f d` floats, `s` zero-terminated strings, `c[n]` fixed
//! strings (`c0`: the whole string when packing, the previous number's length when unpacking),
//! `x` a padding byte.

use mlua::{Lua, MultiValue, Table, Value};

use super::{arg_error, lib_error};

/// The largest integer size and the `!` default alignment (struct.c's MAXINTSIZE, MAXALIGN).
const MAX_INT: usize = 32;
const MAX_ALIGN: usize = 8;

struct Header {
    little: bool,
    align: usize,
}

/// One parsed option: its letter and size.
fn next_option(
    lua: &Lua,
    func: &str,
    fmt: &[u8],
    i: &mut usize,
    h: &mut Header,
) -> mlua::Result<Option<(u8, usize)>> {
    while *i < fmt.len() {
        let opt = fmt[*i];
        *i += 1;
        let mut num = |default: usize| -> usize {
            if *i < fmt.len() && fmt[*i].is_ascii_digit() {
                let mut n = 0usize;
                while *i < fmt.len() && fmt[*i].is_ascii_digit() {
                    n = n
                        .saturating_mul(10)
                        .saturating_add((fmt[*i] - b'0') as usize);
                    *i += 1;
                }
                n
            } else {
                default
            }
        };
        let size = match opt {
            b'b' | b'B' | b'x' => 1,
            b'h' | b'H' => 2,
            b'l' | b'L' | b'T' => 8,
            b'f' => 4,
            b'd' => 8,
            b's' => 0,
            b'c' => num(1),
            b'i' | b'I' => {
                let n = num(4);
                if n > MAX_INT {
                    return Err(lib_error(
                        lua,
                        format!("integral size {n} is larger than limit of {MAX_INT}"),
                    ));
                }
                n
            }
            b' ' => continue,
            b'>' => {
                h.little = false;
                continue;
            }
            b'<' => {
                h.little = true;
                continue;
            }
            b'!' => {
                h.align = num(MAX_ALIGN);
                continue;
            }
            c => {
                return Err(arg_error(
                    lua,
                    1,
                    func,
                    &format!("invalid format option '{}'", c as char),
                ))
            }
        };
        return Ok(Some((opt, size)));
    }
    Ok(None)
}

/// Padding before an option of `size` at offset `len` (struct.c's `gettoalign`).
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    if !size.is_power_of_two() {
        return 0;
    }
    (size - (len & (size - 1))) & (size - 1)
}

fn number(lua: &Lua, v: Option<&Value>, n: usize) -> mlua::Result<f64> {
    match v {
        Some(Value::Integer(i)) => Ok(*i as f64),
        Some(Value::Number(f)) => Ok(*f),
        Some(v @ Value::String(_)) => lua
            .coerce_number(v.clone())?
            .ok_or_else(|| arg_error(lua, n, "pack", "number expected, got string")),
        other => Err(arg_error(
            lua,
            n,
            "pack",
            &format!(
                "number expected, got {}",
                other.map_or("no value", |v| v.type_name())
            ),
        )),
    }
}

/// `size` bytes of `v`; past 8 bytes, a signed value is sign-extended (struct.c shifts a
/// `long long`).
fn put_int(out: &mut Vec<u8>, v: u64, size: usize, little: bool, signed: bool) {
    let bytes = v.to_le_bytes();
    let fill = if signed && (v as i64) < 0 { 0xff } else { 0 };
    let mut b: Vec<u8> = (0..size)
        .map(|i| if i < 8 { bytes[i] } else { fill })
        .collect();
    if !little {
        b.reverse();
    }
    out.extend_from_slice(&b);
}

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::LuaString> {
    let args: Vec<Value> = args.into_iter().collect();
    let fmt = match args.first() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        _ => return Err(arg_error(lua, 1, "pack", "string expected")),
    };
    let mut h = Header {
        little: cfg!(target_endian = "little"),
        align: 1,
    };
    let (mut out, mut i, mut arg) = (Vec::new(), 0, 1);
    while let Some((opt, mut size)) = next_option(lua, "pack", &fmt, &mut i, &mut h)? {
        out.resize(out.len() + to_align(out.len(), &h, opt, size), 0);
        match opt {
            b'b' | b'h' | b'l' | b'i' => {
                let n = number(lua, args.get(arg), arg + 1)?;
                put_int(&mut out, n as i64 as u64, size, h.little, true);
                arg += 1;
            }
            b'B' | b'H' | b'L' | b'T' | b'I' => {
                let n = number(lua, args.get(arg), arg + 1)?;
                put_int(&mut out, n as u64, size, h.little, false);
                arg += 1;
            }
            b'x' => out.push(0),
            b'f' => {
                let n = number(lua, args.get(arg), arg + 1)? as f32;
                let mut b = n.to_le_bytes();
                if !h.little {
                    b.reverse();
                }
                out.extend_from_slice(&b);
                arg += 1;
            }
            b'd' => {
                let n = number(lua, args.get(arg), arg + 1)?;
                let mut b = n.to_le_bytes();
                if !h.little {
                    b.reverse();
                }
                out.extend_from_slice(&b);
                arg += 1;
            }
            b'c' | b's' => {
                let s = match args.get(arg) {
                    Some(v @ (Value::String(_) | Value::Integer(_) | Value::Number(_))) => lua
                        .coerce_string(v.clone())?
                        .map(|s| s.as_bytes().to_vec())
                        .unwrap_or_default(),
                    _ => return Err(arg_error(lua, arg + 1, "pack", "string expected")),
                };
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(arg_error(lua, arg + 1, "pack", "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
                arg += 1;
            }
            _ => {}
        }
    }
    lua.create_string(&out)
}

fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let args: Vec<Value> = args.into_iter().collect();
    let (fmt, data) = match (args.first(), args.get(1)) {
        (Some(Value::String(f)), Some(Value::String(d))) => {
            (f.as_bytes().to_vec(), d.as_bytes().to_vec())
        }
        (Some(Value::String(_)), _) => return Err(arg_error(lua, 2, "unpack", "string expected")),
        _ => return Err(arg_error(lua, 1, "unpack", "string expected")),
    };
    let mut pos = match args.get(2) {
        Some(v) => (lua.coerce_number(v.clone())?.unwrap_or(1.0) as i64 - 1).max(0) as usize,
        None => 0,
    };
    let mut h = Header {
        little: cfg!(target_endian = "little"),
        align: 1,
    };
    let mut out: Vec<Value> = Vec::new();
    let mut i = 0;
    let short = |lua: &Lua| arg_error(lua, 2, "unpack", "data string too short");
    while let Some((opt, mut size)) = next_option(lua, "unpack", &fmt, &mut i, &mut h)? {
        pos += to_align(pos, &h, opt, size);
        if pos + size > data.len() {
            return Err(short(lua));
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let mut b = data[pos..pos + size].to_vec();
                if !h.little {
                    b.reverse();
                }
                let mut v: u64 = 0;
                for (k, byte) in b.iter().enumerate().take(8) {
                    v |= (*byte as u64) << (8 * k);
                }
                let signed = opt.is_ascii_lowercase();
                let n = if signed && size < 8 && size > 0 {
                    let shift = 64 - 8 * size as u32;
                    (((v << shift) as i64) >> shift) as f64
                } else if signed {
                    v as i64 as f64
                } else {
                    v as f64
                };
                out.push(Value::Number(n));
            }
            b'x' => {}
            b'f' => {
                let mut b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or([0; 4]);
                if !h.little {
                    b.reverse();
                }
                out.push(Value::Number(f32::from_le_bytes(b) as f64));
            }
            b'd' => {
                let mut b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or([0; 8]);
                if !h.little {
                    b.reverse();
                }
                out.push(Value::Number(f64::from_le_bytes(b)));
            }
            b'c' => {
                if size == 0 {
                    let prev = match out.pop() {
                        Some(Value::Number(n)) => n as usize,
                        Some(Value::Integer(n)) => n as usize,
                        _ => {
                            return Err(arg_error(
                                lua,
                                2,
                                "unpack",
                                "format 'c0' needs a previous size",
                            ))
                        }
                    };
                    size = prev;
                    if pos + size > data.len() {
                        return Err(short(lua));
                    }
                }
                out.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(lib_error(lua, "unfinished string in data"));
                };
                out.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                size = end + 1;
            }
            _ => {}
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(MultiValue::from_iter(out))
}

fn size(lua: &Lua, fmt: mlua::LuaString) -> mlua::Result<f64> {
    let fmt = fmt.as_bytes().to_vec();
    let mut h = Header {
        little: cfg!(target_endian = "little"),
        align: 1,
    };
    let (mut pos, mut i) = (0usize, 0);
    while let Some((opt, size)) = next_option(lua, "size", &fmt, &mut i, &mut h)? {
        if opt == b's' {
            return Err(arg_error(lua, 1, "size", "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(arg_error(lua, 1, "size", "option 'c0' has no fixed size"));
        }
        pos += to_align(pos, &h, opt, size) + size;
    }
    Ok(pos as f64)
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    Ok(t)
}
