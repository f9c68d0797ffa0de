"""redis-py receives keyspace notifications from berth: `python3 tests/notify_py.py <port>`.

The usual application pattern (cache invalidation): enable notifications with CONFIG SET,
listen with `pubsub().psubscribe`, read messages with `get_message`. Run by tests/notify.rs.
"""

import sys
import time

import redis


def check(what, got, expected):
    if got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")


def next_message(p):
    deadline = time.time() + 10
    while time.time() < deadline:
        m = p.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if m is not None:
            return m
    raise AssertionError("no message within 10 s")


def main(port):
    for protocol in (2, 3):
        r = redis.Redis(port=port, protocol=protocol)
        r.flushall()
        check("config set", r.config_set("notify-keyspace-events", "KEA"), True)
        check("config get", r.config_get("notify-keyspace-events"), {"notify-keyspace-events": "AKE"})
        p = r.pubsub()
        p.psubscribe("__keyspace@0__:user:*")
        p.subscribe("__keyevent@0__:expired")
        # Wait for both subscription confirmations before writing.
        seen = 0
        while seen < 2:
            m = p.get_message(timeout=1.0)
            if m is not None and m["type"] in ("psubscribe", "subscribe"):
                seen += 1
        r.set("user:1", "alice")
        m = next_message(p)
        check("pmessage", (m["type"], m["pattern"], m["channel"], m["data"]),
              ("pmessage", b"__keyspace@0__:user:*", b"__keyspace@0__:user:1", b"set"))
        r.hset("user:2", mapping={"name": "bob"})
        check("hset", next_message(p)["data"], b"hset")
        r.pexpire("user:1", 30)
        check("expire", next_message(p)["data"], b"expire")
        m = next_message(p)
        check("expired", (m["channel"], m["data"]), (b"__keyspace@0__:user:1", b"expired"))
        m = next_message(p)
        check("keyevent", (m["type"], m["channel"], m["data"]),
              ("message", b"__keyevent@0__:expired", b"user:1"))
        r.delete("user:2")
        check("del", next_message(p)["data"], b"del")
        p.close()
        r.config_set("notify-keyspace-events", "")
        r.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
    print("ok")
