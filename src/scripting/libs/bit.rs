//! LuaBitOp's `bit` library: 32-bit operations on Lua numbers.

use mlua::{Lua, Table, Value, Variadic};

use super::{arg_error, type_name};

/// LuaBitOp's `barg`: a number to int32 by adding 2^52+2^51 and taking the low word, which
/// wraps modulo 2^32 and rounds as the FPU does.
fn barg(lua: &Lua, args: &[Value], i: usize, func: &str) -> mlua::Result<i32> {
    let v = args.get(i).cloned().unwrap_or(Value::Nil);
    let n = match &v {
        Value::Integer(n) => *n as f64,
        Value::Number(n) => *n,
        Value::String(_) => lua.coerce_number(v.clone())?.unwrap_or(f64::NAN),
        _ => f64::NAN,
    };
    if n.is_nan() && !matches!(v, Value::Number(_)) {
        let got = if matches!(v, Value::Nil) && i >= args.len() {
            "no value"
        } else {
            type_name(&v)
        };
        return Err(arg_error(
            lua,
            i + 1,
            func,
            &format!("number expected, got {got}"),
        ));
    }
    Ok(((n + 6_755_399_441_055_744.0).to_bits() as u32) as i32)
}

fn num(b: i32) -> f64 {
    b as f64
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    macro_rules! unary {
        ($name:literal, $f:expr) => {
            t.raw_set(
                $name,
                lua.create_function(|lua, args: Variadic<Value>| {
                    let f: fn(i32) -> i32 = $f;
                    Ok(num(f(barg(lua, &args, 0, $name)?)))
                })?,
            )?;
        };
    }
    macro_rules! fold {
        ($name:literal, $f:expr) => {
            t.raw_set(
                $name,
                lua.create_function(|lua, args: Variadic<Value>| {
                    let f: fn(i32, i32) -> i32 = $f;
                    let mut acc = barg(lua, &args, 0, $name)?;
                    for i in 1..args.len() {
                        acc = f(acc, barg(lua, &args, i, $name)?);
                    }
                    Ok(num(acc))
                })?,
            )?;
        };
    }
    macro_rules! shift {
        ($name:literal, $f:expr) => {
            t.raw_set(
                $name,
                lua.create_function(|lua, args: Variadic<Value>| {
                    let f: fn(i32, u32) -> i32 = $f;
                    let b = barg(lua, &args, 0, $name)?;
                    let n = barg(lua, &args, 1, $name)? as u32 & 31;
                    Ok(num(f(b, n)))
                })?,
            )?;
        };
    }
    unary!("tobit", |b| b);
    unary!("bnot", |b| !b);
    unary!("bswap", |b| b.swap_bytes());
    fold!("band", |a, b| a & b);
    fold!("bor", |a, b| a | b);
    fold!("bxor", |a, b| a ^ b);
    shift!("lshift", |b, n| ((b as u32) << n) as i32);
    shift!("rshift", |b, n| ((b as u32) >> n) as i32);
    shift!("arshift", |b, n| b >> n);
    shift!("rol", |b, n| (b as u32).rotate_left(n) as i32);
    shift!("ror", |b, n| (b as u32).rotate_right(n) as i32);
    t.raw_set(
        "tohex",
        lua.create_function(|lua, args: Variadic<Value>| {
            let mut b = barg(lua, &args, 0, "tohex")? as u32;
            let mut n = if args.len() < 2 {
                8
            } else {
                barg(lua, &args, 1, "tohex")?
            };
            let digits: &[u8; 16] = if n < 0 {
                n = -n;
                b"0123456789ABCDEF"
            } else {
                b"0123456789abcdef"
            };
            let n = n.min(8) as usize;
            let mut buf = vec![0u8; n];
            for i in (0..n).rev() {
                buf[i] = digits[(b & 15) as usize];
                b >>= 4;
            }
            lua.create_string(&buf)
        })?,
    )?;
    Ok(t)
}
