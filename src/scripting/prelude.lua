-- berth's scripting prelude: the `redis` table, the sandbox and the error handler, run once
-- when the VM starts. Rust passes its helpers in `rust`. Chunk name "=berth": the error handler
-- skips these frames so error positions point into the user's script, as in Redis.
local rust = ...
local G = _G
local dbg, error, type, tostring, rawset, xpcall, pcall, setmetatable, ipairs =
  debug, error, type, tostring, rawset, xpcall, pcall, setmetatable, ipairs
local error_text = rust.error_text

local redis = {}
-- call, pcall and setresp are bound per run (they borrow the caller's connection).
redis.sha1hex = rust.sha1hex
redis.log = rust.log
redis.error_reply = rust.error_reply
redis.status_reply = rust.status_reply
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = rust.version, rust.version_num
-- Replication controls are no-ops: berth has no replicas and always replicates effects.
redis.replicate_commands = function() return true end
redis.set_repl = function() end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.acl_check_cmd = rust.acl_check_cmd
G.redis = redis

-- What Redis 7 does not expose.
for _, name in ipairs({ "print", "dofile", "loadfile", "getfenv", "setfenv", "newproxy",
  "debug", "io", "os", "package", "require", "module" }) do
  rawset(G, name, nil)
end

-- Redis's __redis__err__handler: every error becomes a table {err=, source=, line=} naming the
-- position in the user's code (skipping C functions and this prelude).
local function handler(err)
  local level = 2
  local i = dbg.getinfo(level, "Sl")
  while i and (i.what == "C" or i.source == "=berth") do
    level = level + 1
    i = dbg.getinfo(level, "Sl")
  end
  if type(err) == "userdata" then
    err = { err = error_text(err, false) }
  elseif type(err) ~= "table" then
    err = { err = "ERR " .. tostring(err) }
  end
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end
rawset(G, "__redis__err__handler", handler)

-- Redis's pcall: an error table caught from redis.call or error({err=...}) is returned as its
-- message string.
local function caught(e)
  if type(e) == "userdata" then
    return error_text(e, true)
  end
  if type(e) == "table" and type(e.err) == "string" then
    return e.err
  end
  return e
end
local function pcall_result(ok, ...)
  if ok then
    return ok, ...
  end
  return false, caught((...))
end
G.pcall = function(...)
  return pcall_result(pcall(...))
end

-- Globals are read-only for scripts, as in Redis 7: reading a missing one and creating one fail.
local readonly = {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __newindex = function()
    error("Attempt to modify a readonly table", 2)
  end,
}
setmetatable(G, readonly)

-- Redis 7 marks _G and every library table read-only with a patched Lua
-- (lua_enablereadonlytable). berth runs stock Lua, so scripts see read-only proxies instead:
-- an empty table whose __index is the real table and whose __newindex raises, so even
-- assigning an existing field (`string = nil`, `redis.call = nil`) fails. `real` maps each
-- proxy back to its table; the raw-access functions below see through it.
local real = setmetatable({}, { __mode = "k" })
local base = {
  pairs = pairs, ipairs = ipairs, next = next, rawget = rawget, rawset = rawset,
  unpack = unpack, getmetatable = getmetatable, setmetatable = setmetatable,
  insert = table.insert, remove = table.remove, sort = table.sort, concat = table.concat,
  getn = table.getn, maxn = table.maxn, setn = table.setn,
}
local function protect(t)
  local p = setmetatable({}, { __index = t, __newindex = readonly.__newindex, __metatable = false })
  real[p] = t
  return p
end

-- Raw access reads the real table; raw writes to a protected one fail without a position,
-- as the patched C functions do. A table function that would not write (removing from or
-- sorting a table with too few elements) just runs, as in Redis.
local function through(f)
  return function(t, ...)
    return f(real[t] or t, ...)
  end
end
local function guarded(f, min)
  return function(t, ...)
    local r = real[t]
    if r and (min == nil or #r >= min) then
      error("Attempt to modify a readonly table", 0)
    end
    return f(r or t, ...)
  end
end
G.pairs, G.ipairs, G.next, G.rawget, G.unpack =
  through(base.pairs), through(base.ipairs), through(base.next), through(base.rawget),
  through(base.unpack)
G.rawset, G.setmetatable = guarded(base.rawset), guarded(base.setmetatable)
table.insert, table.remove, table.sort =
  guarded(base.insert), guarded(base.remove, 1), guarded(base.sort, 2)
table.concat, table.getn, table.maxn = through(base.concat), through(base.getn), through(base.maxn)
if base.setn then
  table.setn = guarded(base.setn)
end

-- The string metatable and the globals' metatable are read-only too; getmetatable shows the
-- proxies (and nil for a library table, which has no metatable of its own in Redis).
local string_meta = base.getmetatable("")
local shown = { [readonly] = protect(readonly) }
G.getmetatable = function(v)
  local m = base.getmetatable(real[v] or v)
  return shown[m] or m
end

-- Every library table (and `redis`) becomes its proxy; _G is the scripts' environment.
for k, v in base.pairs(G) do
  if type(v) == "table" and v ~= G then
    base.rawset(G, k, protect(v))
  end
end
string_meta.__index = G.string
shown[string_meta] = protect(string_meta)
local env = protect(G)
base.rawset(G, "_G", env)

-- Runs an EVAL script; runs a FUNCTION with its KEYS and ARGV tables; the read-only
-- metatable, for function libraries' environments; the real `redis` table (Rust binds
-- redis.call per run); the scripts' environment; `protect`, for function libraries; and the
-- proxy-to-table map, for the Rust encoders (cjson, cmsgpack).
return function(f)
  return xpcall(f, handler)
end, function(f, keys, args)
  return xpcall(function()
    return f(keys, args)
  end, handler)
end, readonly, redis, env, protect, real
