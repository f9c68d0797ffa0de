//! lua-cjson's `cjson.encode`, `cjson.decode` and `cjson.null`, with its defaults as Redis
//! ships them: numbers printed with `%.14g`, `/` escaped, an empty table encodes as `{}`, a
//! table with only positive integer keys is an array (excessively sparse ones are an error),
//! JSON null decodes to `cjson.null` (a light userdata NULL).

use mlua::{LightUserData, Lua, Table, Value};

use super::lib_error;

/// Nesting limit of lua-cjson (`encode_max_depth`, `decode_max_depth`).
const MAX_DEPTH: usize = 1000;

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "encode",
        lua.create_function(|lua, v: mlua::MultiValue| {
            if v.len() != 1 {
                return Err(lua_arg_count(lua, "encode"));
            }
            let mut out = Vec::new();
            encode(lua, &v[0], 0, &mut out)?;
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "decode",
        lua.create_function(|lua, v: mlua::MultiValue| {
            let s = match v.front() {
                Some(Value::String(s)) if v.len() == 1 => s.as_bytes().to_vec(),
                _ => return Err(lua_arg_count(lua, "decode")),
            };
            let json: serde_json::Value = serde_json::from_slice(&s).map_err(|e| {
                // lua-cjson names the start of the bad token; serde_json the byte it stopped at.
                let mut at = e.column().saturating_sub(1).min(s.len());
                while at > 0 && s[at - 1].is_ascii_alphanumeric() {
                    at -= 1;
                }
                let at = at + 1;
                lib_error(
                    lua,
                    format!("Expected value but found invalid token at character {at}"),
                )
            })?;
            to_lua(lua, &json, 0)
        })?,
    )?;
    t.raw_set("null", Value::LightUserData(null()))?;
    Ok(t)
}

fn null() -> LightUserData {
    LightUserData(std::ptr::null_mut())
}

fn lua_arg_count(lua: &Lua, f: &str) -> mlua::Error {
    lib_error(
        lua,
        format!("bad argument #1 to '{f}' (expected 1 argument)"),
    )
}

fn encode(lua: &Lua, v: &Value, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(_) | Value::Number(_) => number(lua, v, out)?,
        Value::String(s) => string(&s.as_bytes(), out),
        Value::Table(t) => {
            let t = &super::unproxy(lua, t)?;
            if depth >= MAX_DEPTH {
                return Err(lib_error(lua, "Cannot serialise, excessive nesting (1001)"));
            }
            match array_length(lua, t)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode(lua, &t.raw_get::<Value>(i)?, depth + 1, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, v) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => string(&s.as_bytes(), out),
                            Value::Integer(_) | Value::Number(_) => {
                                out.push(b'"');
                                number(lua, &k, out)?;
                                out.push(b'"');
                            }
                            other => {
                                return Err(lib_error(
                                    lua,
                                    format!(
                                        "Cannot serialise {}: table key must be a number or string",
                                        other.type_name()
                                    ),
                                ))
                            }
                        }
                        out.push(b':');
                        encode(lua, &v, depth + 1, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(lib_error(
                lua,
                format!("Cannot serialise {}: type not supported", other.type_name()),
            ))
        }
    }
    Ok(())
}

/// lua-cjson's `lua_array_length`: Some(max index) when every key is a positive integer
/// (None otherwise); an array sparser than half full past index 10 is an error.
fn array_length(lua: &Lua, t: &Table) -> mlua::Result<Option<usize>> {
    let (mut max, mut items) = (0usize, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(n) => n as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n < 1.0 || n.floor() != n {
            return Ok(None);
        }
        max = max.max(n as usize);
        items += 1;
    }
    if max > items * 2 && max > 10 {
        return Err(lib_error(
            lua,
            "Cannot serialise table: excessively sparse array",
        ));
    }
    Ok(Some(max))
}

fn number(lua: &Lua, v: &Value, out: &mut Vec<u8>) -> mlua::Result<()> {
    let n = match v {
        Value::Integer(n) => *n as f64,
        Value::Number(n) => *n,
        _ => 0.0,
    };
    if !n.is_finite() {
        return Err(lib_error(
            lua,
            "Cannot serialise number: must not be NaN or Inf",
        ));
    }
    // Lua's own number formatting is lua-cjson's `%.14g`.
    if let Some(s) = lua.coerce_string(Value::Number(n))? {
        out.extend_from_slice(&s.as_bytes());
    }
    Ok(())
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            c if c < 32 || c == 127 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn to_lua(lua: &Lua, v: &serde_json::Value, depth: usize) -> mlua::Result<Value> {
    use serde_json::Value as J;
    if depth > MAX_DEPTH {
        return Err(lib_error(lua, "Found too many nested data structures"));
    }
    Ok(match v {
        J::Null => Value::LightUserData(null()),
        J::Bool(b) => Value::Boolean(*b),
        J::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        J::String(s) => Value::String(lua.create_string(s)?),
        J::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item, depth + 1)?)?;
            }
            Value::Table(t)
        }
        J::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, item) in map {
                t.raw_set(k.as_str(), to_lua(lua, item, depth + 1)?)?;
            }
            Value::Table(t)
        }
    })
}
