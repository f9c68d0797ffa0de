//! The Lua libraries Redis loads besides the standard ones: `cjson`, `cmsgpack`, `bit` and
//! `struct`, written in Rust after lua-cjson 2.1, lua-cmsgpack 0.4, LuaBitOp 1.0 and struct.c
//! (the versions Redis 7 vendors): no maintained crate ships those C libraries for mlua, and their observable
//! behaviour (number formats, array detection, error texts) is small enough to reproduce.

mod bit;
mod cjson;
mod cmsgpack;
mod structlib;

use mlua::{Lua, Table};

/// Registers the libraries as globals.
pub fn open(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    globals.raw_set("cjson", cjson::open(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::open(lua)?)?;
    globals.raw_set("bit", bit::open(lua)?)?;
    globals.raw_set("struct", structlib::open(lua)?)?;
    Ok(())
}

/// The registry key of the prelude's map from read-only proxies to the tables they show.
pub const PROXIES: &str = "berth.readonly_proxies";

/// The table a read-only proxy shows (or `t` itself), so that encoding a library table
/// (`cjson.encode(string)`) sees its contents as in Redis.
pub fn unproxy(lua: &Lua, t: &Table) -> mlua::Result<Table> {
    let proxies: Table = lua.named_registry_value(PROXIES)?;
    Ok(proxies
        .raw_get::<Option<Table>>(t)?
        .unwrap_or_else(|| t.clone()))
}

/// An error raised by a library function: `user_script:1: <msg>` (the position of the calling
/// line, as `luaL_error` gives it), reported as `ERR …` when it ends the script.
pub fn lib_error(lua: &Lua, msg: impl AsRef<str>) -> mlua::Error {
    let place = lua
        .inspect_stack(1, |d| {
            let src = d.source().short_src.map(|s| s.into_owned());
            match (src, d.current_line()) {
                (Some(src), Some(line)) => format!("{src}:{line}: "),
                _ => String::new(),
            }
        })
        .unwrap_or_default();
    super::string_error(format!("{place}{}", msg.as_ref()))
}

/// `bad argument #n to 'f' (msg)`, as `luaL_argerror` words it.
pub fn arg_error(lua: &Lua, n: usize, func: &str, msg: &str) -> mlua::Error {
    lib_error(lua, format!("bad argument #{n} to '{func}' ({msg})"))
}

/// Lua's name of a value's type, for argument errors.
pub fn type_name(v: &mlua::Value) -> &'static str {
    v.type_name()
}
