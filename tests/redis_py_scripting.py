"""redis-py scripting against berth: `python3 tests/redis_py_scripting.py <port>`.

EVAL/EVALSHA through redis-py's Script objects (register_script), error classes, RESP3
conversions, and FUNCTION LOAD/FCALL. Exits non-zero with the failing check on any mismatch.
Run by tests/scripting.rs, which starts the server.
"""

import sys

import redis


def check(what, got, expected):
    if got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")


def raises(what, exc_class, text, f):
    try:
        f()
    except exc_class as e:
        if text not in str(e):
            raise AssertionError(f"{what}: error {e!r} lacks {text!r}")
        return
    raise AssertionError(f"{what}: no {exc_class.__name__} raised")


def scripts(r):
    r.flushall()
    check("eval", r.eval("return {KEYS[1], ARGV[1], 3.9}", 1, "k", "v"), [b"k", b"v", 3])
    incr = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    check("script call", incr(keys=["n"], args=[5]), 5)
    check("script again (EVALSHA)", incr(keys=["n"], args=[5]), 10)
    check("script exists", r.script_exists(incr.sha), [True])
    check("script flush", r.script_flush(), True)
    check("script reloaded on NOSCRIPT", incr(keys=["n"], args=[1]), 11)
    check("status reply", r.eval("return redis.status_reply('FINE')", 0), b"FINE")
    check("nil", r.eval("return nil", 0), None)
    raises("error reply", redis.ResponseError, "My err", lambda: r.eval("return redis.error_reply('My err')", 0))
    raises("raised", redis.ResponseError, "Unknown Redis command called from script",
           lambda: r.eval("return redis.call('nosuch')", 0))
    raises("evalsha missing", redis.exceptions.NoScriptError, "No matching script",
           lambda: r.evalsha("0" * 40, 0))
    raises("read only", redis.ResponseError, "Write commands are not allowed from read-only scripts",
           lambda: r.eval_ro("return redis.call('set', KEYS[1], 'x')", 1, "k"))
    check("eval_ro", r.eval_ro("return redis.call('get', KEYS[1])", 1, "n"), b"11")
    check("cjson", r.eval("return cjson.encode({a=1})", 0), b'{"a":1}')


def resp3(r3):
    r3.hset("h", "f", "v")
    check("resp3 map", r3.eval("redis.setresp(3) return redis.call('hgetall', KEYS[1])", 1, "h"), {b"f": b"v"})
    check("resp3 double", r3.eval("return {double=1.5}", 0), 1.5)
    check("resp3 bool", r3.eval("redis.setresp(3) return true", 0), True)


def functions(r):
    r.function_flush()
    lib = "#!lua name=pylib\nredis.register_function('echo', function(keys, args) return args[1] end)"
    check("function load", r.function_load(lib), b"pylib")
    check("fcall", r.fcall("echo", 0, "hi"), b"hi")
    check("fcall_ro refused", isinstance(_err(lambda: r.fcall_ro("echo", 0, "hi")), redis.ResponseError), True)
    listing = r.function_list()
    check("function list", listing[0][b"library_name"] if isinstance(listing[0], dict) else listing[0][1], b"pylib")
    payload = r.function_dump()
    check("function flush", r.function_flush(), True)
    check("function restore", r.function_restore(payload), True)
    check("fcall after restore", r.fcall("echo", 0, "again"), b"again")


def _err(f):
    try:
        f()
    except Exception as e:  # noqa: BLE001 - the caller checks the class
        return e
    return None


def main():
    port = int(sys.argv[1])
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
    scripts(r)
    functions(r)
    r3 = redis.Redis(host="127.0.0.1", port=port, protocol=3, socket_timeout=30)
    resp3(r3)
    print("ok")


if __name__ == "__main__":
    main()
