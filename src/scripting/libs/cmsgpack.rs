//! lua-cmsgpack's `cmsgpack.pack(...)` and `cmsgpack.unpack(data)`: MessagePack with the
//! library's choices (smallest integer encoding, float32 when exact, str8 for 32..255-byte
//! strings, a table is an array when its keys are exactly 1..n).

use mlua::{Lua, MultiValue, Table, Value};

use super::lib_error;

/// lua-cmsgpack's LUACMSGPACK_MAX_NESTING: deeper tables encode as nil.
const MAX_NESTING: usize = 16;

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(super::arg_error(
                    lua,
                    0,
                    "pack",
                    "MessagePack pack needs input.",
                ));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                encode(lua, v, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, data: mlua::LuaString| {
            let data = data.as_bytes().to_vec();
            let mut pos = 0;
            let mut out = Vec::new();
            while pos < data.len() {
                out.push(decode(lua, &data, &mut pos)?);
            }
            Ok(MultiValue::from_iter(out))
        })?,
    )?;
    Ok(t)
}

fn encode(lua: &Lua, v: &Value, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => int(*n, out),
        Value::Number(n) => {
            let n = *n;
            if n.is_finite() && (n as i64) as f64 == n {
                int(n as i64, out);
            } else if (n as f32) as f64 == n || n.is_nan() {
                out.push(0xca);
                out.extend_from_slice(&(n as f32).to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        Value::String(s) => {
            let s = s.as_bytes();
            let len = s.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(&s);
        }
        Value::Table(t) if depth < MAX_NESTING => {
            let t = &super::unproxy(lua, t)?;
            if let Some(n) = array_len(lua, t)? {
                header(out, n, 0x90, 0xdc, 0xdd);
                for i in 1..=n {
                    encode(lua, &t.raw_get::<Value>(i)?, depth + 1, out)?;
                }
            } else {
                let pairs: Vec<(Value, Value)> = t.pairs().collect::<mlua::Result<_>>()?;
                header(out, pairs.len(), 0x80, 0xde, 0xdf);
                for (k, v) in pairs {
                    encode(lua, &k, depth + 1, out)?;
                    encode(lua, &v, depth + 1, out)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

fn header(out: &mut Vec<u8>, n: usize, fix: u8, b16: u8, b32: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// `table_is_an_array`: every key a positive integer (numeric strings count, as with
/// `lua_isnumber`) and as many keys as the largest one.
fn array_len(lua: &Lua, t: &Table) -> mlua::Result<Option<usize>> {
    let (mut max, mut count) = (0usize, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match &k {
            Value::Integer(n) => *n as f64,
            Value::Number(n) => *n,
            Value::String(_) => match lua.coerce_number(k.clone())? {
                Some(n) => n,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        if n <= 0.0 || n.floor() != n {
            return Ok(None);
        }
        max = max.max(n as usize);
        count += 1;
    }
    Ok((max == count).then_some(max))
}

fn int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn take<'a>(lua: &Lua, data: &'a [u8], pos: &mut usize, n: usize) -> mlua::Result<&'a [u8]> {
    if data.len() - *pos < n {
        return Err(lib_error(lua, "Missing bytes in input."));
    }
    let s = &data[*pos..*pos + n];
    *pos += n;
    Ok(s)
}

fn be(lua: &Lua, data: &[u8], pos: &mut usize, n: usize) -> mlua::Result<u64> {
    Ok(take(lua, data, pos, n)?
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

fn decode(lua: &Lua, data: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let tag = take(lua, data, pos, 1)?[0];
    let num = |n: f64| Ok(Value::Number(n));
    match tag {
        0x00..=0x7f => num(tag as f64),
        0xe0..=0xff => num(tag as i8 as f64),
        0xc0 => Ok(Value::Nil),
        0xc2 => Ok(Value::Boolean(false)),
        0xc3 => Ok(Value::Boolean(true)),
        0xcc => num(be(lua, data, pos, 1)? as f64),
        0xcd => num(be(lua, data, pos, 2)? as f64),
        0xce => num(be(lua, data, pos, 4)? as f64),
        0xcf => num(be(lua, data, pos, 8)? as f64),
        0xd0 => num(be(lua, data, pos, 1)? as u8 as i8 as f64),
        0xd1 => num(be(lua, data, pos, 2)? as u16 as i16 as f64),
        0xd2 => num(be(lua, data, pos, 4)? as u32 as i32 as f64),
        0xd3 => num(be(lua, data, pos, 8)? as i64 as f64),
        0xca => num(f32::from_bits(be(lua, data, pos, 4)? as u32) as f64),
        0xcb => num(f64::from_bits(be(lua, data, pos, 8)?)),
        0xa0..=0xbf => bytes(lua, data, pos, (tag & 0x1f) as usize),
        0xd9 | 0xc4 => {
            let n = be(lua, data, pos, 1)? as usize;
            bytes(lua, data, pos, n)
        }
        0xda | 0xc5 => {
            let n = be(lua, data, pos, 2)? as usize;
            bytes(lua, data, pos, n)
        }
        0xdb | 0xc6 => {
            let n = be(lua, data, pos, 4)? as usize;
            bytes(lua, data, pos, n)
        }
        0x90..=0x9f => array(lua, data, pos, (tag & 0x0f) as usize),
        0xdc => {
            let n = be(lua, data, pos, 2)? as usize;
            array(lua, data, pos, n)
        }
        0xdd => {
            let n = be(lua, data, pos, 4)? as usize;
            array(lua, data, pos, n)
        }
        0x80..=0x8f => map(lua, data, pos, (tag & 0x0f) as usize),
        0xde => {
            let n = be(lua, data, pos, 2)? as usize;
            map(lua, data, pos, n)
        }
        0xdf => {
            let n = be(lua, data, pos, 4)? as usize;
            map(lua, data, pos, n)
        }
        _ => Err(lib_error(lua, "Bad data format in input.")),
    }
}

fn bytes(lua: &Lua, data: &[u8], pos: &mut usize, n: usize) -> mlua::Result<Value> {
    Ok(Value::String(lua.create_string(take(lua, data, pos, n)?)?))
}

fn array(lua: &Lua, data: &[u8], pos: &mut usize, n: usize) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    for i in 1..=n {
        t.raw_set(i, decode(lua, data, pos)?)?;
    }
    Ok(Value::Table(t))
}

fn map(lua: &Lua, data: &[u8], pos: &mut usize, n: usize) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    for _ in 0..n {
        let k = decode(lua, data, pos)?;
        let v = decode(lua, data, pos)?;
        if !matches!(k, Value::Nil) {
            t.raw_set(k, v)?;
        }
    }
    Ok(Value::Table(t))
}
