//! FUNCTION libraries (Redis 7 functions): `#!lua name=<lib>` code that registers named
//! functions with `redis.register_function` when loaded; FCALL runs them with KEYS and ARGV
//! as arguments. Libraries live in the scripting VM and, as their codes, in the store's
//! catalog (entry `functions`, in FUNCTION DUMP's format), so they survive a restart.

use std::cell::RefCell;

use bytes::Bytes;
use mlua::{Function, Table, Value, Variadic};

use super::{raise, Engine, Flags, Vm};
use crate::commands::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;

/// The chunk name of library code: errors read `user_function:2: …`.
const CHUNK: &str = "@user_function";

/// The catalog entry holding every library's code.
pub const CATALOG: &str = "functions";

pub struct Library {
    pub code: Bytes,
    /// Its functions' names, in registration order.
    pub functions: Vec<String>,
}

pub struct Func {
    pub library: String,
    pub func: Function,
    pub flags: Flags,
    pub description: Option<String>,
}

/// What `redis.register_function` collected while a library loads.
struct Registered {
    name: String,
    func: Function,
    flags: Flags,
    description: Option<String>,
}

/// FUNCTION LIST's options.
#[derive(Default)]
pub struct ListOptions {
    pub with_code: bool,
    pub pattern: Option<Bytes>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

const BAD_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// Reads `#!lua name=<lib>`: the library name and the code to compile (shebang line blanked).
fn parse_metadata(code: &[u8]) -> CmdResult<(String, &[u8])> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::err("Missing library metadata"));
    }
    let end = code.iter().position(|&c| c == b'\n').unwrap_or(code.len());
    let line = String::from_utf8_lossy(&code[..end]);
    let mut parts = line.split_whitespace();
    let engine = parts.next().unwrap_or("#!");
    let engine = engine.get(2..).unwrap_or_default();
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Engine '{engine}' not found")));
    }
    let mut name = None;
    for part in parts {
        match part.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => {
                return Err(CmdError::err(format!(
                    "Invalid metadata value given: {part}"
                )))
            }
        }
    }
    let name = name.ok_or_else(|| CmdError::err("Library name was not given"))?;
    if !valid_name(&name) {
        return Err(CmdError::msg(BAD_NAME));
    }
    Ok((name, &code[end..]))
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=…,
/// callback=…, flags={…}, description=…}`.
fn parse_registration(args: Variadic<Value>) -> mlua::Result<Registered> {
    let (name, func, flags, description) = match args.len() {
        1 => {
            let Value::Table(t) = &args[0] else {
                return raise("ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
            };
            let (mut name, mut func, mut flags, mut description) =
                (None, None, Flags::default(), None);
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                let key = match &k {
                    Value::String(s) => s.to_string_lossy(),
                    _ => return raise(
                        "ERR named argument key given to redis.register_function is not a string",
                    ),
                };
                match (key.as_str(), v) {
                    ("function_name", Value::String(s)) => name = Some(s.to_string_lossy()),
                    ("function_name", _) => return raise("ERR function_name argument given to redis.register_function must be a string"),
                    ("description", Value::String(s)) => description = Some(s.to_string_lossy()),
                    ("description", _) => return raise("ERR description argument given to redis.register_function must be a string"),
                    ("callback", Value::Function(f)) => func = Some(f),
                    ("callback", _) => return raise("ERR callback argument given to redis.register_function must be a function"),
                    ("flags", Value::Table(list)) => {
                        for flag in list.sequence_values::<Value>() {
                            match flag? {
                                Value::String(s) if flags.set(&s.to_string_lossy()) => {}
                                _ => return raise("ERR unknown flag given"),
                            }
                        }
                    }
                    ("flags", _) => return raise("ERR flags argument to redis.register_function must be a table representing function flags"),
                    _ => return raise("ERR unknown argument given to redis.register_function"),
                }
            }
            let Some(name) = name else {
                return raise("ERR redis.register_function must get a function name argument");
            };
            let Some(func) = func else {
                return raise("ERR redis.register_function must get a callback argument");
            };
            (name, func, flags, description)
        }
        2 => {
            match (&args[0], &args[1]) {
                (Value::String(n), Value::Function(f)) => {
                    (n.to_string_lossy(), f.clone(), Flags::default(), None)
                }
                (Value::String(_), _) => {
                    return raise(
                        "ERR callback argument given to redis.register_function must be a function",
                    )
                }
                _ => return raise(
                    "ERR function_name argument given to redis.register_function must be a string",
                ),
            }
        }
        _ => return raise("ERR wrong number of arguments to redis.register_function"),
    };
    if !valid_name(&name) {
        return raise(BAD_NAME);
    }
    Ok(Registered {
        name,
        func,
        flags: Flags {
            shebang: true,
            ..flags
        },
        description,
    })
}

impl Vm {
    /// FUNCTION LOAD: compiles and runs the library code, which registers its functions, and
    /// installs them (replacing the library of the same name with `replace`).
    fn load_library(&mut self, code: &[u8], replace: bool) -> CmdResult<String> {
        let (name, body) = parse_metadata(code)?;
        if !replace && self.libraries.contains_key(&name) {
            return Err(CmdError::err(format!("Library '{name}' already exists")));
        }
        let lua_err = |e: mlua::Error| CmdError::err(format!("Error registering functions: {e}"));
        // The library's own environment: the read-only globals, with a `redis` table that only
        // registers functions (and logs) while the code loads. Scripts see both through
        // read-only proxies, as Redis marks them read-only.
        let env = self.lua.create_table().map_err(lua_err)?;
        let loading = self.lua.create_table().map_err(lua_err)?;
        // What Redis 7.0's load-time `redis` table holds (besides register_function).
        for k in [
            "log",
            "LOG_DEBUG",
            "LOG_VERBOSE",
            "LOG_NOTICE",
            "LOG_WARNING",
            "REDIS_VERSION",
            "REDIS_VERSION_NUM",
        ] {
            let v: Value = self.redis.raw_get(k).map_err(lua_err)?;
            loading.raw_set(k, v).map_err(lua_err)?;
        }
        loading
            .set_metatable(Some(self.readonly.clone()))
            .map_err(lua_err)?;
        let protect = |t: &Table| self.protect.call::<Table>(t.clone()).map_err(lua_err);
        env.raw_set("redis", protect(&loading)?).map_err(lua_err)?;
        // While the code loads, Redis 7.0 shows it nothing but `redis`: every other global
        // read fails as a missing one.
        env.set_metatable(Some(self.readonly.clone()))
            .map_err(lua_err)?;
        let chunk = self
            .compile_in(body, CHUNK, protect(&env)?)
            .map_err(|msg| CmdError::err(format!("Error compiling function: {msg}")))?;
        let registered = RefCell::new(Vec::<Registered>::new());
        let outcome = self.lua.scope(|scope| {
            let register = scope.create_function(|_, args: Variadic<Value>| {
                registered.borrow_mut().push(parse_registration(args)?);
                Ok(())
            })?;
            loading.raw_set("register_function", register)?;
            let out: mlua::MultiValue = self.run.call(chunk)?;
            let mut out = out.into_iter();
            let ok = matches!(out.next(), Some(Value::Boolean(true)));
            let err = match out.next() {
                Some(Value::Table(t)) => t.raw_get::<Option<String>>("err").ok().flatten(),
                _ => None,
            };
            Ok((ok, err))
        });
        let (ok, err) = outcome.map_err(lua_err)?;
        if !ok {
            return Err(CmdError::err(format!(
                "Error registering functions: {}",
                err.unwrap_or_else(|| "ERR unknown error".into())
            )));
        }
        let registered = registered.into_inner();
        if registered.is_empty() {
            return Err(CmdError::err("No functions registered"));
        }
        let mut names = Vec::new();
        for r in &registered {
            if names.contains(&r.name) {
                return Err(CmdError::err("Function already exists in the library"));
            }
            if let Some(f) = self.functions.get(&r.name) {
                if f.library != name {
                    return Err(CmdError::err(format!("Function {} already exists", r.name)));
                }
            }
            names.push(r.name.clone());
        }
        // Once loaded, the library's functions see the globals and the whole `redis` table
        // (its proxy).
        let redis: Table = self.globals.raw_get("redis").map_err(lua_err)?;
        env.raw_set("redis", redis).map_err(lua_err)?;
        env.set_metatable(Some(self.env_metatable().map_err(lua_err)?))
            .map_err(lua_err)?;
        self.delete_library(&name);
        for r in registered {
            self.functions.insert(
                r.name.clone(),
                Func {
                    library: name.clone(),
                    func: r.func,
                    flags: r.flags,
                    description: r.description,
                },
            );
        }
        self.libraries.insert(
            name.clone(),
            Library {
                code: Bytes::copy_from_slice(code),
                functions: names,
            },
        );
        Ok(name)
    }

    /// A library environment's metatable: reads fall through to the globals (whose own
    /// metatable errors on missing names); writes fail as on the globals.
    fn env_metatable(&self) -> mlua::Result<Table> {
        let mt = self.lua.create_table()?;
        mt.raw_set("__index", self.globals.clone())?;
        mt.raw_set("__newindex", self.readonly.raw_get::<Value>("__newindex")?)?;
        Ok(mt)
    }

    fn delete_library(&mut self, name: &str) -> bool {
        let Some(lib) = self.libraries.remove(name) else {
            return false;
        };
        for f in lib.functions {
            self.functions.remove(&f);
        }
        true
    }

    fn dump(&self) -> Vec<u8> {
        crate::types::dump::functions_payload(self.libraries.values().map(|l| &l.code[..]))
    }
}

impl Engine {
    fn counts(&self, vm: &Vm) {
        use std::sync::atomic::Ordering::SeqCst;
        self.run.libraries.store(vm.libraries.len(), SeqCst);
        self.run.functions.store(vm.functions.len(), SeqCst);
    }

    /// Persists the libraries after a change (FUNCTION LOAD/DELETE/FLUSH/RESTORE).
    fn persist(&self, ctx: &mut Ctx, vm: &Vm) {
        self.counts(vm);
        let value = (!vm.libraries.is_empty()).then(|| vm.dump());
        ctx.store().set_catalog(CATALOG, value);
    }

    /// Loads the libraries saved in the catalog (at startup).
    pub fn restore_saved(&self, payload: &[u8]) {
        let codes = match crate::types::dump::parse_functions_payload(payload) {
            Ok(codes) => codes,
            Err(e) => {
                tracing::error!(error = %e, "saved function libraries are unreadable");
                return;
            }
        };
        let mut vm = self.vm();
        for code in codes {
            if let Err(e) = vm.load_library(&code, true) {
                tracing::error!(error = %e, "a saved function library failed to load");
            }
        }
        self.counts(&vm);
    }

    pub fn function_load(&self, ctx: &mut Ctx, code: &[u8], replace: bool) -> CmdResult<String> {
        let mut vm = self.vm();
        let name = vm.load_library(code, replace)?;
        self.persist(ctx, &vm);
        Ok(name)
    }

    pub fn function_delete(&self, ctx: &mut Ctx, name: &[u8]) -> CmdResult<Reply> {
        let mut vm = self.vm();
        if !vm.delete_library(&String::from_utf8_lossy(name)) {
            return Err(CmdError::err("Library not found"));
        }
        self.persist(ctx, &vm);
        Ok(Reply::Ok)
    }

    pub fn function_flush(&self, ctx: &mut Ctx) {
        let mut vm = self.vm();
        vm.libraries.clear();
        vm.functions.clear();
        self.persist(ctx, &vm);
    }

    pub fn function_dump(&self) -> Vec<u8> {
        self.vm().dump()
    }

    /// FUNCTION RESTORE with policy FLUSH, APPEND or REPLACE. All or nothing: on an error the
    /// previous libraries are loaded back.
    pub fn function_restore(&self, ctx: &mut Ctx, payload: &[u8], policy: &str) -> CmdResult<()> {
        let codes = crate::types::dump::parse_functions_payload(payload)?;
        let mut vm = self.vm();
        let before: Vec<Bytes> = vm.libraries.values().map(|l| l.code.clone()).collect();
        if policy == "flush" {
            vm.libraries.clear();
            vm.functions.clear();
        }
        let mut result = Ok(());
        for code in &codes {
            if policy == "append" {
                let (name, _) = parse_metadata(code)?;
                if vm.libraries.contains_key(&name) {
                    result = Err(CmdError::err(format!("Library {name} already exists")));
                    break;
                }
            }
            if let Err(e) = vm.load_library(code, policy == "replace") {
                result = Err(e);
                break;
            }
        }
        if result.is_err() {
            vm.libraries.clear();
            vm.functions.clear();
            for code in before {
                let _ = vm.load_library(&code, true);
            }
        }
        self.persist(ctx, &vm);
        result
    }

    pub fn function_list(&self, opts: &ListOptions) -> Reply {
        let vm = self.vm();
        let libs = vm
            .libraries
            .iter()
            .filter(|(name, _)| {
                opts.pattern
                    .as_ref()
                    .is_none_or(|p| crate::util::glob::glob_match(p, name.as_bytes(), false))
            })
            .map(|(name, lib)| {
                let functions = lib
                    .functions
                    .iter()
                    .filter_map(|f| vm.functions.get(f).map(|def| (f, def)))
                    .map(|(f, def)| {
                        Reply::Map(vec![
                            (Reply::bulk_str("name"), Reply::bulk_str(f)),
                            (
                                Reply::bulk_str("description"),
                                def.description
                                    .as_deref()
                                    .map_or(Reply::Nil, Reply::bulk_str),
                            ),
                            (Reply::bulk_str("flags"), Reply::Set(flag_names(&def.flags))),
                        ])
                    })
                    .collect();
                let mut fields = vec![
                    (Reply::bulk_str("library_name"), Reply::bulk_str(name)),
                    (Reply::bulk_str("engine"), Reply::bulk_str("LUA")),
                    (Reply::bulk_str("functions"), Reply::Array(functions)),
                ];
                if opts.with_code {
                    fields.push((
                        Reply::bulk_str("library_code"),
                        Reply::Bulk(lib.code.clone()),
                    ));
                }
                Reply::Map(fields)
            })
            .collect();
        Reply::Array(libs)
    }

    /// FUNCTION STATS, without the VM lock (it answers while a script runs).
    pub fn function_stats(&self) -> Reply {
        use std::sync::atomic::Ordering::SeqCst;
        let engine = Reply::Map(vec![
            (
                Reply::bulk_str("libraries_count"),
                Reply::Integer(self.run.libraries.load(SeqCst) as i64),
            ),
            (
                Reply::bulk_str("functions_count"),
                Reply::Integer(self.run.functions.load(SeqCst) as i64),
            ),
        ]);
        let fcall = self
            .run
            .fcall
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let running = match fcall {
            Some(args) if self.is_running() => {
                let started = self.run.started_ms.load(SeqCst);
                Reply::Map(vec![
                    (Reply::bulk_str("name"), Reply::Bulk(args[1].clone())),
                    (
                        Reply::bulk_str("command"),
                        Reply::Array(args.into_iter().map(Reply::Bulk).collect()),
                    ),
                    (
                        Reply::bulk_str("duration_ms"),
                        Reply::Integer(self.run.now_ms().saturating_sub(started) as i64),
                    ),
                ])
            }
            _ => Reply::Nil,
        };
        Reply::Map(vec![
            (Reply::bulk_str("running_script"), running),
            (
                Reply::bulk_str("engines"),
                Reply::Map(vec![(Reply::bulk_str("LUA"), engine)]),
            ),
        ])
    }

    /// FCALL / FCALL_RO (`args` is the whole command).
    pub fn fcall(
        &self,
        ctx: &mut Ctx,
        args: &[Bytes],
        keys: &[Bytes],
        argv: &[Bytes],
        ro_command: bool,
    ) -> CmdResult<Reply> {
        let vm = self.vm();
        let name = String::from_utf8_lossy(&args[1]).into_owned();
        let Some(f) = vm.functions.get(&name) else {
            return Err(CmdError::err("Function not found"));
        };
        if ro_command && !f.flags.no_writes {
            return Err(CmdError::err(
                "Can not execute a script with write flag using *_ro command.",
            ));
        }
        let (func, read_only) = (f.func.clone(), ro_command || f.flags.no_writes);
        Ok(vm.call(ctx, &func, &name, keys, argv, read_only, true))
    }
}

fn flag_names(flags: &Flags) -> Vec<Reply> {
    [
        (flags.no_writes, "no-writes"),
        (flags.allow_oom, "allow-oom"),
        (flags.allow_stale, "allow-stale"),
        (flags.no_cluster, "no-cluster"),
        (flags.allow_cross_slot_keys, "allow-cross-slot-keys"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| Reply::Status(Bytes::from_static(name.as_bytes())))
    .collect()
}
