//! Lua scripting for EVAL and FCALL: one Lua 5.1 VM for the server, as in Redis.
//!
//! The VM is mlua with its vendored PUC Lua 5.1 (the same interpreter Redis embeds, so number
//! formatting, `tostring`, string patterns and table iteration behave the same), compiled from
//! source by the crate so the server needs no system Lua. mlua is maintained, safe to call into
//! (Lua errors become Rust values, never longjmps over Rust frames), and its scoped callbacks
//! let `redis.call` borrow the calling connection's `Ctx` for exactly one run.
//!
//! A script runs under the caller's keyspace lock (`Ctx::store`), so it is atomic like a MULTI.
//! `redis.call` goes through `commands::resolve` and `commands::run`, so arity, auth, cluster
//! routing and statistics follow the command table; scripts add their own checks (`noscript`
//! commands, writes from read-only scripts) with Redis's error texts.

pub mod convert;
mod functions;
mod libs;

pub use functions::{ListOptions, CATALOG as FUNCTIONS_CATALOG};

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::chunk::ChunkMode;
use mlua::{
    Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, Variadic, VmState,
};
use tokio::sync::Notify;

use crate::commands::{self, Ctx, Resolved};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;

const PRELUDE: &str = include_str!("prelude.lua");

/// The chunk name of EVAL scripts: errors read `user_script:1: …` and `on @user_script:1.`
pub const EVAL_CHUNK: &str = "@user_script";

/// Flags a script declares in its `#!lua flags=…` shebang.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flags {
    /// The script has a shebang: it is not in Redis's "eval compatibility mode".
    pub shebang: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

impl Flags {
    /// Sets a flag by its Redis name; false for an unknown name.
    pub fn set(&mut self, name: &str) -> bool {
        match name {
            "no-writes" => self.no_writes = true,
            "allow-oom" => self.allow_oom = true,
            "allow-stale" => self.allow_stale = true,
            "no-cluster" => self.no_cluster = true,
            "allow-cross-slot-keys" => self.allow_cross_slot_keys = true,
            _ => return false,
        }
        true
    }
}

/// Splits `#!lua flags=a,b` off a script body (Redis's `evalExtractShebangFlags`). Returns the
/// flags and the body to compile: the shebang line is blanked, not removed, so line numbers in
/// errors stay those of the script as sent.
pub fn parse_shebang(body: &[u8]) -> CmdResult<(Flags, &[u8])> {
    let mut flags = Flags::default();
    if !body.starts_with(b"#!") {
        return Ok((flags, body));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err(CmdError::err("Invalid script shebang"));
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_whitespace();
    let engine = parts.next().unwrap_or_default();
    if !engine.eq_ignore_ascii_case("#!lua") {
        return Err(CmdError::err(format!(
            "Unexpected engine in script shebang: {engine}"
        )));
    }
    flags.shebang = true;
    for part in parts {
        let Some(list) = part
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("flags="))
            .map(|_| &part[6..])
        else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {part}")));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            if !flags.set(flag) {
                return Err(CmdError::err(format!(
                    "Unexpected flag in script shebang: {flag}"
                )));
            }
        }
    }
    Ok((flags, &body[end..]))
}

/// Lowercase hex SHA1, the name of an EVAL script.
pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// The scripting engine: the VM and the EVAL script cache, behind one mutex (always taken
/// after the keyspace lock, never before it).
pub struct Engine {
    vm: Mutex<Vm>,
    /// The script running off the connection tasks, seen by everyone else without the locks.
    run: Arc<Running>,
}

impl Default for Engine {
    fn default() -> Self {
        let run = Arc::new(Running::default());
        let vm = Vm::new(run.clone()).expect("the Lua prelude is valid");
        Engine {
            vm: Mutex::new(vm),
            run,
        }
    }
}

/// The state of the script that holds the keyspace lock on the blocking pool (see
/// `server::connection`): other clients wait for it, then answer BUSY past
/// `busy-reply-threshold`, and SCRIPT KILL asks it to stop.
#[derive(Default)]
pub struct Running {
    running: AtomicBool,
    /// When it started, in ms since `epoch`.
    started_ms: AtomicU64,
    epoch: OnceLock<Instant>,
    /// It ran a write command: it can no longer be killed.
    wrote: AtomicBool,
    /// SCRIPT KILL asked it to stop; the VM's hook raises the error at the next check.
    kill: AtomicBool,
    /// FUNCTION library and function counts, for FUNCTION STATS during a script.
    libraries: std::sync::atomic::AtomicUsize,
    functions: std::sync::atomic::AtomicUsize,
    /// The FCALL running off the connection tasks (its arguments), for FUNCTION STATS.
    fcall: Mutex<Option<Vec<Bytes>>>,
    /// The error replies of the commands the current script called: INFO errorstats counted
    /// them, so the script failing with one of them is not counted again.
    inner_errors: Mutex<Vec<String>>,
    /// The last script failed with such an error (read once by `error_already_counted`).
    counted_error: AtomicBool,
    ended: Notify,
}

impl Running {
    fn now_ms(&self) -> u64 {
        self.epoch.get_or_init(Instant::now).elapsed().as_millis() as u64
    }
}

/// A script command deferred by `execute()` to run on the blocking pool: its arguments and the
/// handler that runs it inline.
pub struct Job {
    pub args: Vec<Bytes>,
    pub run: commands::Handler,
}

/// The commands `execute()` defers to the blocking pool when sent at top level.
pub fn deferrable(name: &str) -> bool {
    matches!(
        name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

struct Script {
    func: Function,
    flags: Flags,
}

struct Vm {
    lua: Lua,
    /// The globals (libraries, KEYS, ARGV), read-only for scripts.
    globals: Table,
    /// The `redis` table, where each run binds `call`, `pcall` and `setresp`.
    redis: Table,
    /// `xpcall(f, handler)` with Redis's error handler.
    run: Function,
    /// The same for a FUNCTION: `xpcall(function() return f(keys, args) end, handler)`.
    run_fn: Function,
    /// The globals' read-only metatable (function libraries' environments use it too).
    readonly: Table,
    /// What EVAL scripts run in: the read-only proxy of the globals (Redis's read-only `_G`).
    env: Table,
    /// The prelude's `protect(t)`: a read-only proxy of `t`, as scripts see library tables.
    protect: Function,
    scripts: HashMap<String, Script>,
    /// FUNCTION libraries by name, and their functions by name.
    libraries: std::collections::BTreeMap<String, functions::Library>,
    functions: HashMap<String, functions::Func>,
}

/// An error a `redis.*` function raises: the Lua error value is mlua's wrapper around it, which
/// the prelude's error handler and `pcall` turn back into Redis's `{err=…}` / message string
/// (a Rust function raising keeps the caller's frame for the error position, even in
/// `return redis.call(…)`, where a Lua wrapper would be tail-called away).
#[derive(Debug)]
enum ScriptError {
    /// An error reply (`CODE message`), as a Redis error table carries it.
    Reply(String),
    /// A plain Lua error string (a library's `user_script:1: …`); `ERR ` is added when it ends
    /// the script, and `pcall` returns it as is.
    Text(String),
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::Reply(s) | ScriptError::Text(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for ScriptError {}

/// A plain Lua error string raised from Rust (see `ScriptError::Text`).
fn string_error(text: String) -> mlua::Error {
    mlua::Error::external(ScriptError::Text(text))
}

/// Raises `text` (which starts with its error code) as a script error.
fn raise<T>(text: &str) -> mlua::Result<T> {
    Err(mlua::Error::external(ScriptError::Reply(
        text.trim_end_matches(['\r', '\n']).to_string(),
    )))
}

/// What one run may do and has done.
struct RunState {
    /// The script's protocol (`redis.setresp`).
    resp3: bool,
    /// EVAL_RO/FCALL_RO, or a script declared `no-writes`.
    read_only: bool,
}

impl Vm {
    fn new(run: Arc<Running>) -> mlua::Result<Vm> {
        // SAFETY: the debug library is loaded only for the prelude's error handler, which keeps
        // a private reference; the prelude removes `debug` from what scripts can reach. No C
        // module loader (`package`) is opened.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        libs::open(&lua, &lua.globals())?;
        // SCRIPT KILL: checked every few thousand instructions. The error repeats at each
        // check, so a script's own pcall cannot swallow it for long.
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(10_000),
            move |_, _| {
                if run.kill.load(SeqCst) {
                    return raise("ERR Script killed by user with SCRIPT KILL...");
                }
                Ok(VmState::Continue)
            },
        )?;
        let rust = helpers(&lua)?;
        let (run, run_fn, readonly, redis, env, protect, real) = lua
            .load(PRELUDE)
            .set_name("=berth")
            .call::<(Function, Function, Table, Table, Table, Function, Table)>(rust)?;
        lua.set_named_registry_value(libs::PROXIES, real)?;
        let globals = lua.globals();
        Ok(Vm {
            lua,
            globals,
            redis,
            run,
            run_fn,
            readonly,
            env,
            protect,
            scripts: HashMap::new(),
            libraries: Default::default(),
            functions: HashMap::new(),
        })
    }

    /// Compiles a script body in the sandbox (an EVAL script).
    fn compile(&self, body: &[u8], chunk: &str) -> CmdResult<Function> {
        self.compile_in(body, chunk, self.env.clone())
            .map_err(|msg| CmdError::err(format!("Error compiling script (new function): {msg}")))
    }

    /// Compiles with `env` as environment (a read-only proxy); the error is Lua's message.
    fn compile_in(&self, body: &[u8], chunk: &str, env: Table) -> Result<Function, String> {
        let chunk = self
            .lua
            .load(body)
            .set_name(chunk)
            .set_mode(ChunkMode::Text)
            .set_environment(env);
        chunk.into_function().map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => message,
            e => e.to_string(),
        })
    }

    /// Compiles and caches an EVAL script (once per body); returns its SHA1.
    fn load(&mut self, body: &[u8]) -> CmdResult<String> {
        let sha = sha1_hex(body);
        if !self.scripts.contains_key(&sha) {
            let (flags, code) = parse_shebang(body)?;
            let func = self.compile(code, EVAL_CHUNK)?;
            self.scripts.insert(sha.clone(), Script { func, flags });
        }
        Ok(sha)
    }

    /// Runs a compiled script with KEYS and ARGV (globals for EVAL, arguments for a FUNCTION,
    /// `fcall`); `name` is what errors call it (the SHA1 of an EVAL script, a function's name).
    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        ctx: &mut Ctx,
        func: &Function,
        name: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        read_only: bool,
        fcall: bool,
    ) -> Reply {
        // A SELECT inside the script does not change the caller's database (Redis 7).
        let db = ctx.session.db;
        let run = &ctx.shared.scripting.run;
        lock(&run.inner_errors).clear();
        // A script is atomic on disk as it is for clients, like EXEC: a range read midway
        // applies its writes so far inline, under an undo record (see `Store::begin_atomic`).
        let opened = !read_only && ctx.store().begin_atomic();
        let mut reply = match self.try_call(ctx, func, name, keys, argv, read_only, fcall) {
            Ok(reply) => reply,
            Err(e) => Reply::error(format!("ERR {e}")),
        };
        if opened {
            if let Err(e) = ctx.store().end_atomic() {
                reply = e.into();
            }
        }
        let run = &ctx.shared.scripting.run;
        let counted = match &reply {
            Reply::Error(e) => lock(&run.inner_errors)
                .iter()
                .any(|inner| e.starts_with(inner.as_bytes())),
            _ => false,
        };
        run.counted_error.store(counted, SeqCst);
        ctx.session.db = db;
        reply
    }

    #[allow(clippy::too_many_arguments)]
    fn try_call(
        &self,
        ctx: &mut Ctx,
        func: &Function,
        name: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        read_only: bool,
        fcall: bool,
    ) -> mlua::Result<Reply> {
        let lua = &self.lua;
        let strings = |list: &[Bytes]| {
            lua.create_sequence_from(list.iter().map(|b| lua.create_string(b).ok()))
        };
        let (keys, argv) = (strings(keys)?, strings(argv)?);
        if !fcall {
            self.globals.raw_set("KEYS", keys.clone())?;
            self.globals.raw_set("ARGV", argv.clone())?;
        }
        let state = RefCell::new(RunState {
            resp3: false,
            read_only,
        });
        let ctx = RefCell::new(ctx);
        let reply = lua.scope(|scope| {
            let call = scope.create_function(|lua, args: Variadic<Value>| {
                match call_command(lua, &mut ctx.borrow_mut(), &mut state.borrow_mut(), args)? {
                    Ok(value) => Ok(value),
                    Err(text) => raise(&text),
                }
            })?;
            let pcall =
                scope.create_function(|lua, args: Variadic<Value>| {
                    match call_command(lua, &mut ctx.borrow_mut(), &mut state.borrow_mut(), args)? {
                        Ok(value) => Ok(value),
                        Err(text) => error_table(lua, &text),
                    }
                })?;
            let setresp = scope.create_function(|lua, args: Variadic<Value>| {
                let version = match (args.len(), args.first()) {
                    (1, Some(v)) => lua.coerce_integer(v.clone()).ok().flatten(),
                    _ => return raise("ERR redis.setresp() requires one argument."),
                };
                match version {
                    Some(v @ (2 | 3)) => {
                        state.borrow_mut().resp3 = v == 3;
                        Ok(())
                    }
                    _ => raise("ERR RESP version must be 2 or 3."),
                }
            })?;
            self.redis.raw_set("call", call)?;
            self.redis.raw_set("pcall", pcall)?;
            self.redis.raw_set("setresp", setresp)?;
            let out: MultiValue = if fcall {
                self.run_fn.call((func.clone(), keys, argv))?
            } else {
                self.run.call(func.clone())?
            };
            let mut out = out.into_iter();
            let ok = matches!(out.next(), Some(Value::Boolean(true)));
            let value = out.next().unwrap_or(Value::Nil);
            Ok(if ok {
                convert::from_lua(&value, state.borrow().resp3)
            } else {
                error_reply(&value, name)
            })
        });
        for f in ["call", "pcall", "setresp"] {
            self.redis.raw_set(f, Value::Nil)?;
        }
        reply
    }
}
/// The reply for an error raised by a script: the handler's `{err, source, line}` table with
/// Redis's ` script: <name>, on <source>:<line>.` suffix.
fn error_reply(value: &Value, name: &str) -> Reply {
    let Value::Table(t) = value else {
        return Reply::error(format!("ERR unknown error script: {name}."));
    };
    let err = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.to_string_lossy(),
        _ => "ERR unknown error".to_string(),
    };
    let source = t.raw_get::<Option<String>>("source").ok().flatten();
    let line = t.raw_get::<Option<i64>>("line").ok().flatten();
    match (source, line) {
        (Some(source), Some(line)) => {
            Reply::error(format!("{err} script: {name}, on {source}:{line}."))
        }
        _ => Reply::error(format!("{err} script: {name}.")),
    }
}

/// A Lua error table `{err = text}`; `text` starts with its error code.
fn error_table(lua: &Lua, text: &str) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", text.trim_end_matches(['\r', '\n']))?;
    Ok(Value::Table(t))
}

/// `redis.call`/`redis.pcall`: the reply, or the error text (`CODE message`) that `call` raises
/// and `pcall` returns as `{err=…}`.
fn call_command(
    lua: &Lua,
    ctx: &mut Ctx,
    state: &mut RunState,
    args: Variadic<Value>,
) -> mlua::Result<Result<Value, String>> {
    let failure = |text: &str| Ok(Err(text.to_string()));
    if args.is_empty() {
        return failure("ERR Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args.iter() {
        let s = match a {
            Value::String(_) | Value::Integer(_) | Value::Number(_) => {
                lua.coerce_string(a.clone())?
            }
            _ => None,
        };
        let Some(s) = s else {
            return failure("ERR Lua redis lib command arguments must be strings or integers");
        };
        argv.push(Bytes::copy_from_slice(&s.as_bytes()));
    }
    let entry = match commands::resolve(&argv) {
        Resolved::Run(entry) => entry,
        Resolved::Error(Reply::Error(e)) if e.starts_with(b"ERR wrong number of arguments") => {
            return failure("ERR Wrong number of args calling Redis command from script")
        }
        Resolved::Error(_) => return failure("ERR Unknown Redis command called from script"),
    };
    if entry.flags & commands::NOSCRIPT != 0 {
        return failure("ERR This Redis command is not allowed from script");
    }
    // Checked here, before `commands::run` would, for the script's own error text and log entry.
    if let Err(denied) = commands::acl::allowed(ctx, entry, &argv) {
        let text = commands::acl::deny_in(ctx, &denied, &argv, commands::acl::Context::Lua);
        return failure(&text);
    }
    if entry.flags & commands::WRITE != 0 && state.read_only {
        return failure("ERR Write commands are not allowed from read-only scripts.");
    }
    if entry.flags & commands::WRITE != 0 {
        ctx.shared.scripting.run.wrote.store(true, SeqCst);
    }
    // The command replies in the script's protocol, not the caller's.
    let caller_resp3 = std::mem::replace(&mut ctx.session.resp3, state.resp3);
    let reply = commands::run(ctx, entry, &argv);
    ctx.session.resp3 = caller_resp3;
    // MONITOR shows what a script runs once it ran, in the database it left selected, as
    // Redis's call() feeds monitors.
    if ctx.shared.monitors.load(SeqCst) > 0 && entry.flags & commands::SKIP_MONITOR == 0 {
        crate::server::connection::feed_monitors_as(ctx.shared, ctx.session.db, "lua", &argv);
    }
    // Nothing blocks inside a script (blocking commands are `noscript`; this is a backstop).
    ctx.session.block = None;
    match reply {
        Reply::Error(e) => {
            let text = String::from_utf8_lossy(&e).into_owned();
            let trimmed = text.trim_end_matches(['\r', '\n']).to_string();
            lock(&ctx.shared.scripting.run.inner_errors).push(trimmed);
            Ok(Err(text))
        }
        reply => Ok(Ok(convert::to_lua(lua, reply, state.resp3)?)),
    }
}

/// `redis.error_reply`'s normalisation (Redis's `luaPushErrorBuff`): a leading `-` is dropped,
/// and a message without an error code gets `ERR`.
fn normalize_error(s: &[u8]) -> String {
    let s = String::from_utf8_lossy(s.strip_prefix(b"-").unwrap_or(s)).into_owned();
    if s.contains(' ') {
        s
    } else {
        format!("ERR {s}")
    }
}

/// The Rust side of the prelude's `redis` table.
fn helpers(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "sha1hex",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.len() != 1 {
                return raise("ERR wrong number of arguments");
            }
            let data = lua
                .coerce_string(args[0].clone())?
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_default();
            Ok(Value::String(lua.create_string(sha1_hex(&data))?))
        })?,
    )?;
    t.raw_set(
        "error_reply",
        lua.create_function(|lua, args: Variadic<Value>| match args.first() {
            Some(Value::String(s)) if args.len() == 1 => {
                error_table(lua, &normalize_error(&s.as_bytes()))
            }
            _ => error_table(lua, "ERR wrong number or type of arguments"),
        })?,
    )?;
    t.raw_set(
        "status_reply",
        lua.create_function(|lua, args: Variadic<Value>| match args.first() {
            Some(Value::String(s)) if args.len() == 1 => {
                let t = lua.create_table()?;
                t.raw_set("ok", s.clone())?;
                Ok(Value::Table(t))
            }
            _ => error_table(lua, "ERR wrong number or type of arguments"),
        })?,
    )?;
    t.raw_set(
        "log",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.len() < 2 {
                return raise("ERR redis.log() requires two arguments or more.");
            }
            let level = match &args[0] {
                Value::Integer(n) => *n,
                Value::Number(n) => *n as i64,
                _ => return raise("ERR First argument must be a number (log level)."),
            };
            let mut msg = String::new();
            for a in args.iter().skip(1) {
                if let Some(s) = lua.coerce_string(a.clone())? {
                    if !msg.is_empty() {
                        msg.push(' ');
                    }
                    msg.push_str(&s.to_string_lossy());
                }
            }
            match level {
                0 | 1 => tracing::debug!(target: "script", "{msg}"),
                2 => tracing::info!(target: "script", "{msg}"),
                3 => tracing::warn!(target: "script", "{msg}"),
                _ => return raise("ERR Invalid debug level."),
            }
            Ok(Value::Nil)
        })?,
    )?;
    t.raw_set(
        "acl_check_cmd",
        lua.create_function(|lua, args: Variadic<Value>| {
            let Some(name) = args.first() else {
                return raise("ERR Please specify at least one argument for this redis lib call");
            };
            let name = lua
                .coerce_string(name.clone())?
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_default();
            if commands::lookup(&name).is_none() {
                return raise("ERR Invalid command passed to redis.acl_check_cmd()");
            }
            // Every user may run every command (berth has one user).
            Ok(Value::Boolean(true))
        })?,
    )?;
    t.raw_set(
        "error_text",
        // The text of an error raised from Rust: for the error handler's `{err=…}` table, or
        // (`for_pcall`) for what `pcall` returns.
        lua.create_function(|_, (err, for_pcall): (Value, bool)| {
            Ok(match err {
                Value::Error(e) => match e.downcast_ref::<ScriptError>() {
                    Some(ScriptError::Reply(text)) => text.clone(),
                    Some(ScriptError::Text(text)) if for_pcall => text.clone(),
                    Some(ScriptError::Text(text)) => format!("ERR {text}"),
                    None => format!("ERR {e}"),
                },
                _ => "ERR unknown error".to_string(),
            })
        })?,
    )?;
    let version = crate::commands::info::REDIS_VERSION;
    t.raw_set("version", version)?;
    let num = version
        .split('.')
        .map(|p| p.parse::<i64>().unwrap_or(0))
        .fold(0, |acc, p| (acc << 8) | p);
    t.raw_set("version_num", num)?;
    Ok(t)
}

/// A std mutex whose poisoning is ignored (the data stays consistent: plain values).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Whether the script that just ended failed with the error of a command it called, which
    /// INFO errorstats counted already (as Redis's `ignore_error_stats_update`).
    pub fn error_already_counted(&self) -> bool {
        self.run.counted_error.swap(false, SeqCst)
    }

    fn vm(&self) -> std::sync::MutexGuard<'_, Vm> {
        self.vm.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// SCRIPT LOAD (and the first EVAL of a body): compiles and caches; returns the SHA1.
    pub fn load(&self, body: &[u8]) -> CmdResult<String> {
        self.vm().load(body)
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.vm().scripts.contains_key(&sha)
    }

    /// SCRIPT FLUSH: forgets every EVAL script.
    pub fn flush(&self) {
        let mut vm = self.vm();
        vm.scripts.clear();
        let _ = vm.lua.gc_collect();
    }

    /// EVAL/EVALSHA and their _RO forms. `sha` names a cached script (EVAL loads it first).
    pub fn eval(
        &self,
        ctx: &mut Ctx,
        sha: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        ro_command: bool,
    ) -> CmdResult<Reply> {
        let vm = self.vm();
        let Some(script) = vm.scripts.get(sha) else {
            return Err(CmdError::msg(
                "NOSCRIPT No matching script. Please use EVAL.",
            ));
        };
        let flags = script.flags;
        if ro_command && flags.shebang && !flags.no_writes {
            return Err(CmdError::err(
                "Can not execute a script with write flag using *_ro command.",
            ));
        }
        let func = script.func.clone();
        let read_only = ro_command || flags.no_writes;
        Ok(vm.call(ctx, &func, sha, keys, argv, read_only, false))
    }
}

impl Engine {
    /// Marks a deferred script as running (before it is handed to the blocking pool); `args`
    /// is its command (an FCALL shows in FUNCTION STATS).
    pub fn begin(&self, args: &[Bytes]) {
        let run = &self.run;
        let fcall = args[0].len() >= 5 && args[0][..5].eq_ignore_ascii_case(b"fcall");
        *run.fcall.lock().unwrap_or_else(|e| e.into_inner()) = fcall.then(|| args.to_vec());
        run.started_ms.store(run.now_ms(), SeqCst);
        run.wrote.store(false, SeqCst);
        run.kill.store(false, SeqCst);
        run.running.store(true, SeqCst);
    }

    /// The deferred script finished and released the keyspace lock.
    pub fn end(&self) {
        *self.run.fcall.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.run.running.store(false, SeqCst);
        self.run.kill.store(false, SeqCst);
        self.run.ended.notify_waiters();
    }

    pub fn is_running(&self) -> bool {
        self.run.running.load(SeqCst)
    }

    /// A script has run longer than `threshold_ms`: other clients get BUSY.
    pub fn is_busy(&self, threshold_ms: i64) -> bool {
        self.is_running()
            && self
                .run
                .now_ms()
                .saturating_sub(self.run.started_ms.load(SeqCst))
                >= threshold_ms.max(0) as u64
    }

    /// Waits while a script runs and is under `threshold_ms` (the keyspace lock is taken then);
    /// returns when none runs or it went past the threshold.
    pub async fn wait_turn(&self, threshold_ms: i64) {
        loop {
            let ended = self.run.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if !self.is_running() || self.is_busy(threshold_ms) {
                return;
            }
            let elapsed = self
                .run
                .now_ms()
                .saturating_sub(self.run.started_ms.load(SeqCst));
            let left = (threshold_ms.max(0) as u64).saturating_sub(elapsed);
            tokio::select! {
                _ = &mut ended => {}
                _ = tokio::time::sleep(Duration::from_millis(left.max(1))) => {}
            }
        }
    }

    /// Waits until no deferred script holds the keyspace lock (background tasks call this
    /// before locking, so they never block the runtime thread behind a long script).
    pub async fn idle(&self) {
        loop {
            let ended = self.run.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if !self.is_running() {
                return;
            }
            ended.await;
        }
    }

    fn running_function(&self) -> bool {
        self.run
            .fcall
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// While a script runs past the threshold: whether a command must get BUSY. Only
    /// `allow_busy` commands run, where SCRIPT KILL only answers during an EVAL and FUNCTION
    /// KILL/STATS only during an FCALL, as in Redis.
    pub fn refuses_while_busy(&self, name: &str, flags: u32) -> bool {
        let function = self.running_function();
        let allowed = flags & commands::ALLOW_BUSY != 0
            && match name {
                "script|kill" => !function,
                "function|kill" | "function|stats" => function,
                _ => true,
            };
        !allowed
    }

    /// `-BUSY`, naming the KILL command that applies.
    pub fn busy_error(&self) -> Reply {
        Reply::error(format!(
            "BUSY Redis is busy running a script. You can only call {} KILL or SHUTDOWN NOSAVE.",
            if self.running_function() {
                "FUNCTION"
            } else {
                "SCRIPT"
            }
        ))
    }

    /// SCRIPT KILL / FUNCTION KILL.
    pub fn kill(&self) -> CmdResult<Reply> {
        if !self.is_running() {
            return Err(CmdError::msg("NOTBUSY No scripts in execution right now."));
        }
        if self.run.wrote.load(SeqCst) {
            return Err(CmdError::msg(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
            ));
        }
        self.run.kill.store(true, SeqCst);
        Ok(Reply::Ok)
    }
}
