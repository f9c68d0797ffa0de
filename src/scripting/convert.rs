//! Reply conversions between Redis and Lua, both ways, with Redis 7.0's rules.
//!
//! Redis → Lua (what `redis.call` returns) depends on the script's protocol (`redis.setresp`):
//! in RESP2 a null is `false`, a status is `{ok=…}`, a map is a flat array; in RESP3 a null is
//! `nil`, maps/sets/doubles/booleans keep their own shapes (`{map=…}`, `{set=…}`, `{double=…}`).
//! Lua → Redis (what a script returns) reads tables by their marker field (`err`, `ok`, `double`,
//! `big_number`, `map`, `set`, `verbatim_string`), else as an array that stops at the first nil.

use bytes::Bytes;
use mlua::{Lua, Table, Value};

use crate::protocol::reply::Reply;

/// A command's reply as the script sees it. Errors are not converted here: `redis.call` raises
/// them and `redis.pcall` returns them (see `error_table`).
pub fn to_lua(lua: &Lua, reply: Reply, resp3: bool) -> mlua::Result<Value> {
    Ok(match reply {
        Reply::Ok => marker(lua, "ok", Value::String(lua.create_string("OK")?))?,
        Reply::Status(s) => marker(lua, "ok", Value::String(lua.create_string(&s)?))?,
        Reply::Error(e) => marker(lua, "err", Value::String(lua.create_string(&e)?))?,
        Reply::Integer(n) => Value::Number(n as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(&b)?),
        Reply::Nil | Reply::NilArray if resp3 => Value::Nil,
        // Redis's RESP2 null converts to false, so that it can sit inside an array.
        Reply::Nil | Reply::NilArray | Reply::Raw(_) => Value::Boolean(false),
        Reply::Array(items) | Reply::Push(items) => sequence(lua, items, resp3)?,
        Reply::Bulks(list) => {
            let t = lua.create_table_with_capacity(list.len(), 0)?;
            for (i, b) in list.iter().enumerate() {
                t.raw_set(i + 1, lua.create_string(b)?)?;
            }
            Value::Table(t)
        }
        Reply::Set(items) if resp3 => {
            let set = lua.create_table()?;
            for item in items {
                set.raw_set(to_lua(lua, item, resp3)?, true)?;
            }
            marker(lua, "set", Value::Table(set))?
        }
        Reply::Set(items) => sequence(lua, items, resp3)?,
        Reply::Map(pairs) if resp3 => {
            let map = lua.create_table()?;
            for (k, v) in pairs {
                map.raw_set(to_lua(lua, k, resp3)?, to_lua(lua, v, resp3)?)?;
            }
            marker(lua, "map", Value::Table(map))?
        }
        Reply::Map(pairs) => sequence(
            lua,
            pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            resp3,
        )?,
        Reply::Double(d) if resp3 => {
            let n = crate::util::num::parse_f64(&d).unwrap_or(0.0);
            marker(lua, "double", Value::Number(n))?
        }
        Reply::Double(d) => Value::String(lua.create_string(&d)?),
        Reply::BigNumber(n) if resp3 => {
            marker(lua, "big_number", Value::String(lua.create_string(&n)?))?
        }
        Reply::BigNumber(n) => Value::String(lua.create_string(&n)?),
        Reply::Bool(b) if resp3 => Value::Boolean(b),
        Reply::Bool(b) => Value::Number(b as i64 as f64),
        Reply::Verbatim(v) if resp3 => {
            let t = lua.create_table()?;
            t.raw_set("format", "txt")?;
            t.raw_set("string", lua.create_string(&v)?)?;
            marker(lua, "verbatim_string", Value::Table(t))?
        }
        Reply::Verbatim(v) => Value::String(lua.create_string(&v)?),
    })
}

fn marker(lua: &Lua, field: &str, value: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(field, value)?;
    Ok(Value::Table(t))
}

fn sequence(lua: &Lua, items: Vec<Reply>, resp3: bool) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.into_iter().enumerate() {
        t.raw_set(i + 1, to_lua(lua, item, resp3)?)?;
    }
    Ok(Value::Table(t))
}

/// A script's return value as a reply. `resp3` is the script's protocol: booleans are real
/// booleans only after `redis.setresp(3)`.
pub fn from_lua(value: &Value, resp3: bool) -> Reply {
    match value {
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) if resp3 => Reply::Bool(*b),
        Value::Boolean(true) => Reply::Integer(1),
        Value::Integer(n) => Reply::Integer(*n),
        Value::Number(n) => Reply::Integer(c_cast(*n)),
        Value::Table(t) => from_table(t, resp3),
        _ => Reply::Nil,
    }
}

fn from_table(t: &Table, resp3: bool) -> Reply {
    let field = |name: &str| t.raw_get::<Value>(name).unwrap_or(Value::Nil);
    if let Value::String(e) = field("err") {
        return Reply::Error(Bytes::copy_from_slice(&e.as_bytes()));
    }
    if let Value::String(s) = field("ok") {
        return Reply::Status(Bytes::copy_from_slice(&s.as_bytes()));
    }
    match field("double") {
        Value::Number(n) => return Reply::Double(crate::util::num::fmt_double(n).into()),
        Value::Integer(n) => return Reply::Double(crate::util::num::fmt_double(n as f64).into()),
        _ => {}
    }
    if let Value::String(s) = field("big_number") {
        return Reply::BigNumber(Bytes::copy_from_slice(&s.as_bytes()));
    }
    if let Value::Table(m) = field("map") {
        let pairs = m
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, v)| (from_lua(&k, resp3), from_lua(&v, resp3)))
            .collect();
        return Reply::Map(pairs);
    }
    if let Value::Table(s) = field("set") {
        let items = s
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| from_lua(&k, resp3))
            .collect();
        return Reply::Set(items);
    }
    if let Value::Table(v) = field("verbatim_string") {
        if let (Ok(Value::String(_)), Ok(Value::String(s))) =
            (v.raw_get::<Value>("format"), v.raw_get::<Value>("string"))
        {
            return Reply::Verbatim(Bytes::copy_from_slice(&s.as_bytes()));
        }
    }
    // An array: elements 1, 2, … up to the first nil.
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(from_lua(&v, resp3)),
        }
    }
    Reply::Array(items)
}

/// C's `(long long)` cast of a double as x86-64 does it (Redis's conversion of Lua numbers):
/// truncation toward zero, and the "integer indefinite" value for NaN and out-of-range numbers
/// (NaN is outside every range).
pub fn c_cast(n: f64) -> i64 {
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}
