"""redis-py against berth: `python3 tests/redis_py.py <port>`.

Exercises what a Python application does first: connect, handshake (RESP2 and RESP3), strings,
counters, expirations and pipelines. Exits non-zero with the failing check on any mismatch.
Run by tests/redis_py.rs, which starts the server.
"""

import sys

import redis


def check(what, got, expected):
    if got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")


def strings(r, prefix):
    k = prefix + "k"
    check("ping", r.ping(), True)
    check("echo", r.echo("hi"), b"hi")
    check("set", r.set(k, "v"), True)
    check("get", r.get(k), b"v")
    check("get missing", r.get(prefix + "missing"), None)
    check("set nx on existing", r.set(k, "w", nx=True), None)
    check("set xx", r.set(k, "w", xx=True), True)
    check("set get", r.set(k, "x", get=True), b"w")
    check("setnx", r.setnx(prefix + "nx", 1), True)
    check("setnx again", r.setnx(prefix + "nx", 2), False)
    check("getset", r.getset(k, "y"), b"x")
    check("getdel", r.getdel(k), b"y")
    check("getdel gone", r.get(k), None)
    check("mset", r.mset({prefix + "a": "1", prefix + "b": "2"}), True)
    check("mget", r.mget([prefix + "a", prefix + "b", prefix + "c"]), [b"1", b"2", None])
    check("msetnx", r.msetnx({prefix + "a": "9", prefix + "z": "9"}), False)
    check("incr", r.incr(prefix + "n"), 1)
    check("incrby", r.incrby(prefix + "n", 41), 42)
    check("decr", r.decr(prefix + "n"), 41)
    check("decrby", r.decrby(prefix + "n", 40), 1)
    check("setex", r.setex(prefix + "ex", 100, "v"), True)
    check("psetex", r.psetex(prefix + "px", 100000, "v"), True)
    check("getex persist", r.getex(prefix + "ex", persist=True), b"v")
    check("getex ex", r.getex(prefix + "px", ex=50), b"v")
    r.set(prefix + "text", "abc")
    try:
        r.incr(prefix + "text")
        raise AssertionError("incr on text must fail")
    except redis.ResponseError as e:
        check("incr error", str(e), "value is not an integer or out of range")
    r.execute_command("SELECT", 1)
    check("db 1 is separate", r.get(prefix + "a"), None)
    r.execute_command("SELECT", 0)


def pipelines(r, prefix):
    p = r.pipeline(transaction=False)
    for i in range(200):
        p.set(f"{prefix}p{i}", i)
        p.incr(prefix + "pc")
    replies = p.execute()
    check("pipeline replies", replies[:2], [True, 1])
    check("pipeline last incr", replies[-1], 200)
    check("pipeline values", r.get(prefix + "p199"), b"199")
    p = r.pipeline(transaction=False)
    p.get(prefix + "p7")
    p.incr(prefix + "p8")
    p.get(prefix + "nothing")
    check("pipeline mixed", p.execute(), [b"7", 9, None])


def main():
    port = int(sys.argv[1])
    # RESP2 with bytes, RESP2 with decoded strings, then RESP3.
    r2 = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
    strings(r2, "r2:")
    pipelines(r2, "r2:")
    d = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    check("decoded get", d.get("r2:a"), "1")
    r3 = redis.Redis(host="127.0.0.1", port=port, protocol=3, socket_timeout=30)
    check("resp3 handshake", r3.ping(), True)
    check("resp3 proto", r3.connection_pool.get_connection().protocol in (3, "3"), True)
    strings(r3, "r3:")
    pipelines(r3, "r3:")
    hello = r3.execute_command("HELLO", 3)
    check("hello is a map", isinstance(hello, dict), True)
    check("hello proto", hello.get(b"proto"), 3)
    # A connection pool reused by many calls keeps working.
    pool = redis.ConnectionPool(host="127.0.0.1", port=port, max_connections=4)
    pooled = redis.Redis(connection_pool=pool)
    for i in range(50):
        pooled.incr("pooled")
    check("pooled counter", pooled.get("pooled"), b"50")
    print("redis-py checks passed")


if __name__ == "__main__":
    main()
