//! Differential test: the same seeded random command sequences go to berth and to a real
//! `redis-server`, and every reply must be identical byte for byte.
//!
//! Commands come from one table, `GENERATORS`: to cover a new command, add a line there. Keys
//! come from a small space (8 names per case) and values mix integers, floats, text and empty
//! strings, so type and parse errors run as often as the happy paths. Every case uses its own
//! key prefix, so cases need no FLUSHALL between them.
//!
//! Odd seeds speak RESP2, even seeds RESP3; every third case is sent as one pipelined write.
//! Replies that are inherently nondeterministic (HELLO's server id, timing) are not compared, and
//! expirations are either far in the future or already in the past, never racing the clock.
//!
//! Set `BERTH_DIFF_SEED` to replay one seed, `BERTH_DIFF_CASES` to change the case count.

mod common;
use common::{Raw, RealRedis, Server};

/// splitmix64: tiny, seedable, good enough to pick commands.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// What a generator sees: the RNG and the case's key prefix.
struct Gen {
    rng: Rng,
    prefix: String,
}

const KEYS: usize = 8;

impl Gen {
    fn key(&mut self) -> String {
        format!("{}k{}", self.prefix, self.rng.below(KEYS))
    }

    fn keys(&mut self, max: usize) -> Vec<String> {
        let n = 1 + self.rng.below(max);
        (0..n).map(|_| self.key()).collect()
    }

    /// A value that is sometimes an integer, a float, text or empty.
    fn value(&mut self) -> String {
        const VALUES: &[&str] = &[
            "0",
            "1",
            "-1",
            "42",
            "007",
            "+5",
            "-0",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "3.14",
            "1e3",
            "-2.5",
            "inf",
            "nan",
            "",
            " ",
            "hello",
            "12 ",
            " 12",
            "a b c",
            "\u{e9}t\u{e9}",
            "0x10",
        ];
        if self.rng.chance(20) {
            return (self.rng.next() as i64 % 2000 - 1000).to_string();
        }
        self.rng.pick(VALUES).to_string()
    }

    /// An integer argument, sometimes not an integer or at the edges of i64.
    fn int(&mut self) -> String {
        const INTS: &[&str] = &[
            "1",
            "-1",
            "0",
            "100",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "1.5",
            "abc",
            "",
            " 1",
        ];
        if self.rng.chance(50) {
            return (self.rng.next() as i64 % 1000).to_string();
        }
        self.rng.pick(INTS).to_string()
    }

    /// An expiry amount: far in the future (never races the clock), or invalid.
    fn ttl(&mut self, unit_ms: bool) -> String {
        match self.rng.below(8) {
            0 => "0".into(),
            1 => "-5".into(),
            2 => "abc".into(),
            3 => "9223372036854775807".into(),
            4 => "1.5".into(),
            _ => {
                let secs = 1000 + self.rng.below(100_000);
                (if unit_ms { secs * 1000 } else { secs }).to_string()
            }
        }
    }

    /// An absolute expiry: far future, already past, or invalid.
    fn at(&mut self, unit_ms: bool) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let secs = match self.rng.below(4) {
            0 => 1 + self.rng.below(1000) as u64,
            1 => return self.ttl(unit_ms),
            _ => now + 10_000 + self.rng.below(100_000) as u64,
        };
        (if unit_ms { secs * 1000 } else { secs }).to_string()
    }

    /// Options for SET / GETEX: a random subset, sometimes conflicting or malformed.
    fn expire_opts(&mut self, out: &mut Vec<String>) {
        match self.rng.below(9) {
            0 => out.extend(["EX".into(), self.ttl(false)]),
            1 => out.extend(["PX".into(), self.ttl(true)]),
            2 => out.extend(["EXAT".into(), self.at(false)]),
            3 => out.extend(["PXAT".into(), self.at(true)]),
            4 => out.push("EX".into()), // missing value
            _ => {}
        }
    }
}

type Generator = fn(&mut Gen) -> Vec<String>;

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// One generator per command; the weight is how many times it is listed in the draw.
static GENERATORS: &[(u32, Generator)] = &[
    (8, |g| vec!["GET".into(), g.key()]),
    // Pub/Sub without subscribers (a subscribed connection would leave the case's context).
    (1, |g| vec!["PUBLISH".into(), g.key(), g.value()]),
    (1, |g| vec!["SPUBLISH".into(), g.key(), g.value()]),
    (1, |g| {
        vec!["PUBSUB".into(), "NUMSUB".into(), g.key(), g.key()]
    }),
    (8, |g| {
        let mut c = vec!["SET".into(), g.key(), g.value()];
        for _ in 0..g.rng.below(3) {
            match g.rng.below(7) {
                0 => c.push("NX".into()),
                1 => c.push("XX".into()),
                2 => c.push("GET".into()),
                3 => c.push("KEEPTTL".into()),
                4 => c.push(g.rng.pick(&["nx", "get", "keepttl", "BOGUS"]).into()),
                _ => g.expire_opts(&mut c),
            }
        }
        c
    }),
    (3, |g| vec!["SETNX".into(), g.key(), g.value()]),
    (2, |g| {
        vec!["SETEX".into(), g.key(), g.ttl(false), g.value()]
    }),
    (2, |g| {
        vec!["PSETEX".into(), g.key(), g.ttl(true), g.value()]
    }),
    (3, |g| vec!["GETSET".into(), g.key(), g.value()]),
    (3, |g| vec!["GETDEL".into(), g.key()]),
    (3, |g| {
        let mut c = vec!["GETEX".into(), g.key()];
        if g.rng.chance(20) {
            c.push("PERSIST".into());
        } else {
            g.expire_opts(&mut c);
        }
        if g.rng.chance(10) {
            c.push("EX".into());
            c.push("100".into());
        }
        c
    }),
    (3, |g| {
        let mut c = vec!["MGET".into()];
        c.extend(g.keys(5));
        c
    }),
    (3, |g| {
        let mut c = vec!["MSET".into()];
        for k in g.keys(4) {
            c.push(k);
            c.push(g.value());
        }
        if g.rng.chance(10) {
            c.pop(); // odd argument count
        }
        c
    }),
    (2, |g| {
        let mut c = vec!["MSETNX".into()];
        for k in g.keys(3) {
            c.push(k);
            c.push(g.value());
        }
        c
    }),
    (6, |g| vec!["INCR".into(), g.key()]),
    (4, |g| vec!["DECR".into(), g.key()]),
    (4, |g| vec!["INCRBY".into(), g.key(), g.int()]),
    (4, |g| vec!["DECRBY".into(), g.key(), g.int()]),
    (1, |g| vec!["ECHO".into(), g.value()]),
    (1, |g| {
        let mut c = v(&["PING"]);
        for _ in 0..g.rng.below(3) {
            c.push(g.value());
        }
        c
    }),
    (1, |g| {
        vec![
            "SELECT".into(),
            g.rng.pick(&["0", "1", "2", "15", "16", "-1", "x"]).into(),
        ]
    }),
    // Wrong arity and unknown commands: the error texts must match too.
    (1, |g| {
        let name = g.rng.pick(&[
            "GET", "SET", "INCR", "incrby", "GETSET", "MGET", "ECHO", "SELECT",
        ]);
        v(&[name])
    }),
    (1, |g| vec!["NOSUCHCMD".into(), g.key(), g.value()]),
    // More strings.
    (3, |g| vec!["APPEND".into(), g.key(), g.value()]),
    (2, |g| vec!["STRLEN".into(), g.key()]),
    (3, |g| {
        let by = g
            .rng
            .pick(&["0.1", "-1.5", "3", "1e2", "abc", "inf", "", "5.0e3"]);
        vec!["INCRBYFLOAT".into(), g.key(), by.into()]
    }),
    (2, |g| vec!["GETRANGE".into(), g.key(), g.int(), g.int()]),
    (1, |g| vec!["SUBSTR".into(), g.key(), g.int(), g.int()]),
    (2, |g| {
        let off = g.rng.pick(&["0", "1", "5", "-1", "x", "536870912"]);
        vec!["SETRANGE".into(), g.key(), off.into(), g.value()]
    }),
    (1, |g| {
        let mut c = vec!["LCS".into(), g.key(), g.key()];
        match g.rng.below(4) {
            0 => c.push("LEN".into()),
            1 => c.extend([
                "IDX".into(),
                "MINMATCHLEN".into(),
                "1".into(),
                "WITHMATCHLEN".into(),
            ]),
            _ => {}
        }
        c
    }),
    // Bitmaps.
    (2, |g| {
        let off = g.rng.pick(&["0", "7", "13", "100", "-1", "x"]);
        let bit = g.rng.pick(&["0", "1", "1", "2"]);
        vec!["SETBIT".into(), g.key(), off.into(), bit.into()]
    }),
    (1, |g| {
        vec![
            "GETBIT".into(),
            g.key(),
            g.rng.pick(&["0", "3", "100", "-1"]).into(),
        ]
    }),
    (2, |g| {
        let mut c = vec!["BITCOUNT".into(), g.key()];
        if g.rng.chance(60) {
            c.extend([g.int(), g.int()]);
            if g.rng.chance(40) {
                c.push(g.rng.pick(&["BYTE", "BIT", "bit", "NOPE"]).into());
            }
        }
        c
    }),
    (2, |g| {
        let mut c = vec![
            "BITPOS".into(),
            g.key(),
            g.rng.pick(&["0", "1", "2"]).into(),
        ];
        for _ in 0..g.rng.below(3) {
            c.push(g.int());
        }
        c
    }),
    (1, |g| {
        let op = g.rng.pick(&["AND", "OR", "XOR", "NOT", "nand"]);
        let mut c = vec!["BITOP".into(), op.into(), g.key()];
        c.extend(g.keys(3));
        c
    }),
    (1, |g| {
        let ty = g.rng.pick(&["u8", "i8", "i16", "u4", "i64", "u64", "x"]);
        let off = g.rng.pick(&["0", "3", "#1", "-1"]);
        match g.rng.below(3) {
            0 => vec![
                "BITFIELD".into(),
                g.key(),
                "GET".into(),
                ty.into(),
                off.into(),
            ],
            1 => vec![
                "BITFIELD".into(),
                g.key(),
                "SET".into(),
                ty.into(),
                off.into(),
                g.int(),
            ],
            _ => {
                let ov = g.rng.pick(&["WRAP", "SAT", "FAIL"]);
                let by = g.int();
                vec![
                    "BITFIELD".into(),
                    g.key(),
                    "OVERFLOW".into(),
                    ov.into(),
                    "INCRBY".into(),
                    ty.into(),
                    off.into(),
                    by,
                ]
            }
        }
    }),
    // Generic key commands.
    (3, |g| {
        let mut c = vec![g
            .rng
            .pick(&["DEL", "UNLINK", "EXISTS", "TOUCH"])
            .to_string()];
        c.extend(g.keys(3));
        c
    }),
    (2, |g| vec!["TYPE".into(), g.key()]),
    (2, |g| {
        vec![g.rng.pick(&["RENAME", "RENAMENX"]).into(), g.key(), g.key()]
    }),
    (1, |g| {
        let mut c = vec!["COPY".into(), g.key(), g.key()];
        if g.rng.chance(30) {
            c.extend(["DB".into(), g.rng.pick(&["0", "1", "16", "x"]).into()]);
        }
        if g.rng.chance(40) {
            c.push("REPLACE".into());
        }
        c
    }),
    (1, |g| {
        vec![
            "MOVE".into(),
            g.key(),
            g.rng.pick(&["0", "1", "2", "16", "-1"]).into(),
        ]
    }),
    (3, |g| {
        let (name, unit_ms, abs) = match g.rng.below(4) {
            0 => ("EXPIRE", false, false),
            1 => ("PEXPIRE", true, false),
            2 => ("EXPIREAT", false, true),
            _ => ("PEXPIREAT", true, true),
        };
        let when = if abs { g.at(unit_ms) } else { g.ttl(unit_ms) };
        let mut c = vec![name.into(), g.key(), when];
        for _ in 0..g.rng.below(3) {
            c.push(g.rng.pick(&["NX", "XX", "GT", "LT", "nx", "BAD"]).into());
        }
        c
    }),
    (3, |g| {
        let name = g
            .rng
            .pick(&["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST"]);
        vec![name.into(), g.key()]
    }),
    (1, |g| vec!["KEYS".into(), format!("{}*", g.prefix)]),
    (1, |g| vec!["OBJECT".into(), "ENCODING".into(), g.key()]),
    // hashes and sets (on the same keys as strings, so WRONGTYPE paths run)
    (5, |g| {
        let name = g.rng.pick(&["HSET", "HSET", "HMSET", "hset"]);
        let mut c = vec![name.into(), g.key()];
        for _ in 0..1 + g.rng.below(3) {
            c.push(g.field());
            c.push(g.value());
        }
        if g.rng.chance(5) {
            c.pop(); // odd argument count
        }
        c
    }),
    (2, |g| vec!["HSETNX".into(), g.key(), g.field(), g.value()]),
    (4, |g| vec!["HGET".into(), g.key(), g.field()]),
    (2, |g| {
        let mut c = vec!["HMGET".into(), g.key()];
        for _ in 0..1 + g.rng.below(3) {
            c.push(g.field());
        }
        c
    }),
    (3, |g| {
        let mut c = vec!["HDEL".into(), g.key()];
        for _ in 0..1 + g.rng.below(3) {
            c.push(g.field());
        }
        c
    }),
    (2, |g| {
        let name = g.rng.pick(&["HLEN", "HKEYS", "HVALS", "HGETALL"]);
        vec![name.into(), g.key()]
    }),
    (2, |g| {
        let name = g.rng.pick(&["HSTRLEN", "HEXISTS"]);
        vec![name.into(), g.key(), g.field()]
    }),
    (3, |g| vec!["HINCRBY".into(), g.key(), g.field(), g.int()]),
    (2, |g| {
        let by = g
            .rng
            .pick(&["0.1", "-1.5", "3", "1e2", "abc", "inf", "", "5.0e3"]);
        vec!["HINCRBYFLOAT".into(), g.key(), g.field(), by.into()]
    }),
    (2, |g| {
        let mut c = vec!["HRANDFIELD".into(), g.key()];
        if g.rng.chance(70) {
            c.push(g.count());
            if g.rng.chance(50) {
                c.push(g.rng.pick(&["WITHVALUES", "withvalues", "BAD"]).into());
            }
        }
        c
    }),
    (2, |g| {
        let mut c = vec!["HSCAN".into(), g.key()];
        g.scan_args(&mut c);
        c
    }),
    (5, |g| {
        let mut c = vec!["SADD".into(), g.key()];
        for _ in 0..1 + g.rng.below(4) {
            c.push(g.member());
        }
        c
    }),
    (3, |g| {
        let mut c = vec!["SREM".into(), g.key()];
        for _ in 0..1 + g.rng.below(3) {
            c.push(g.member());
        }
        c
    }),
    (2, |g| {
        let name = g.rng.pick(&["SCARD", "SMEMBERS"]);
        vec![name.into(), g.key()]
    }),
    (2, |g| vec!["SISMEMBER".into(), g.key(), g.member()]),
    (1, |g| {
        let mut c = vec!["SMISMEMBER".into(), g.key()];
        for _ in 0..1 + g.rng.below(3) {
            c.push(g.member());
        }
        c
    }),
    // SPOP only where the outcome is deterministic: everything, nothing, or an error.
    (1, |g| {
        let count = g.rng.pick(&["100", "0", "-1", "x"]);
        let mut c = vec!["SPOP".into(), g.key(), count.into()];
        if g.rng.chance(5) {
            c.push("1".into());
        }
        c
    }),
    (2, |g| {
        let mut c = vec!["SRANDMEMBER".into(), g.key()];
        if g.rng.chance(70) {
            c.push(g.count());
        }
        c
    }),
    (2, |g| vec!["SMOVE".into(), g.key(), g.key(), g.member()]),
    (3, |g| {
        let name = g.rng.pick(&[
            "SINTER",
            "SUNION",
            "SDIFF",
            "SINTERSTORE",
            "SUNIONSTORE",
            "SDIFFSTORE",
        ]);
        let mut c = vec![name.into()];
        c.extend(g.keys(3));
        if name.ends_with("STORE") {
            c.push(g.key());
        }
        c
    }),
    (1, |g| {
        let keys = g.keys(3);
        let numkeys = if g.rng.chance(90) {
            keys.len().to_string()
        } else {
            g.rng.pick(&["0", "9", "x"]).into()
        };
        let mut c = vec!["SINTERCARD".into(), numkeys];
        c.extend(keys);
        if g.rng.chance(40) {
            c.push("LIMIT".into());
            c.push(g.rng.pick(&["0", "1", "2", "-1", "x"]).into());
        }
        c
    }),
    (2, |g| {
        let mut c = vec!["SSCAN".into(), g.key()];
        g.scan_args(&mut c);
        c
    }),
    // sorted sets
    (14, |g| {
        let mut c = vec!["ZADD".into(), g.zkey()];
        for _ in 0..g.rng.below(3) {
            c.push(
                g.rng
                    .pick(&["NX", "XX", "GT", "LT", "CH", "INCR", "ch"])
                    .into(),
            );
        }
        // Often one score for every member, so lex ranges see the sets they are meant for.
        let same = g.rng.chance(40);
        for _ in 0..1 + g.rng.below(5) {
            c.push(if same { "0".into() } else { g.zscore() });
            c.push(g.zmember());
        }
        if g.rng.chance(5) {
            c.pop();
        }
        c
    }),
    (3, |g| {
        vec!["ZINCRBY".into(), g.zkey(), g.zscore(), g.zmember()]
    }),
    (3, |g| {
        let mut c = vec!["ZREM".into(), g.zkey()];
        for _ in 0..1 + g.rng.below(3) {
            c.push(g.zmember());
        }
        c
    }),
    (2, |g| vec!["ZCARD".into(), g.zkey()]),
    (2, |g| vec!["ZSCORE".into(), g.zkey(), g.zmember()]),
    (1, |g| {
        vec!["ZMSCORE".into(), g.zkey(), g.zmember(), g.zmember()]
    }),
    (2, |g| {
        let name = g.rng.pick(&["ZRANK", "ZREVRANK"]);
        vec![name.into(), g.zkey(), g.zmember()]
    }),
    (2, |g| {
        vec!["ZCOUNT".into(), g.zkey(), g.zbound(), g.zbound()]
    }),
    (2, |g| {
        vec!["ZLEXCOUNT".into(), g.zkey(), g.zlex(), g.zlex()]
    }),
    (6, |g| {
        let mut c = vec!["ZRANGE".into(), g.zkey()];
        g.zrange_args(&mut c, true);
        c
    }),
    (2, |g| {
        let mut c = vec!["ZRANGESTORE".into(), g.zkey(), g.zkey()];
        g.zrange_args(&mut c, false);
        c
    }),
    (3, |g| {
        let name = g.rng.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]);
        let mut c = vec![name.into(), g.zkey(), g.zbound(), g.zbound()];
        g.zrange_opts(&mut c, &["WITHSCORES"]);
        c
    }),
    (3, |g| {
        let name = g.rng.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]);
        let mut c = vec![name.into(), g.zkey(), g.zlex(), g.zlex()];
        g.zrange_opts(&mut c, &[]);
        c
    }),
    (2, |g| {
        let mut c = vec!["ZREVRANGE".into(), g.zkey(), g.zrank(), g.zrank()];
        if g.rng.chance(50) {
            c.push("WITHSCORES".into());
        }
        c
    }),
    (2, |g| match g.rng.below(3) {
        0 => vec!["ZREMRANGEBYRANK".into(), g.zkey(), g.zrank(), g.zrank()],
        1 => vec!["ZREMRANGEBYSCORE".into(), g.zkey(), g.zbound(), g.zbound()],
        _ => vec!["ZREMRANGEBYLEX".into(), g.zkey(), g.zlex(), g.zlex()],
    }),
    (2, |g| {
        let name = g.rng.pick(&["ZPOPMIN", "ZPOPMAX"]);
        let mut c = vec![name.into(), g.zkey()];
        if g.rng.chance(50) {
            c.push(g.rng.pick(&["0", "1", "2", "10", "-1", "x"]).into());
        }
        if g.rng.chance(5) {
            c.push("1".into());
        }
        c
    }),
    (1, |g| {
        let keys = g.zkeys(3);
        let mut n = keys.len().to_string();
        if g.rng.chance(10) {
            n = g.rng.pick(&["0", "-1", "x", "9"]).into();
        }
        let mut c = vec!["ZMPOP".into(), n];
        c.extend(keys);
        c.push(g.rng.pick(&["MIN", "MAX", "max", "BAD"]).into());
        if g.rng.chance(50) {
            c.push("COUNT".into());
            c.push(g.rng.pick(&["1", "2", "10", "0", "-1", "x"]).into());
        }
        c
    }),
    (2, |g| {
        let mut c = vec!["ZRANDMEMBER".into(), g.zkey()];
        if g.rng.chance(70) {
            let counts = ["0", "1", "3", "20", "-1", "-5", "x", "-9223372036854775808"];
            c.push(g.rng.pick(&counts).into());
            if g.rng.chance(50) {
                c.push(g.rng.pick(&["WITHSCORES", "withscores", "BAD"]).into());
            }
        }
        c
    }),
    (4, |g| {
        let name = g.rng.pick(&[
            "ZUNION",
            "ZINTER",
            "ZDIFF",
            "ZUNIONSTORE",
            "ZINTERSTORE",
            "ZDIFFSTORE",
        ]);
        let store = name.ends_with("STORE");
        let mut c = vec![name.to_string()];
        if store {
            c.push(g.zkey());
        }
        g.zsetop_args(&mut c, !store, false);
        c
    }),
    (1, |g| {
        let mut c = vec!["ZINTERCARD".into()];
        g.zsetop_args(&mut c, false, true);
        c
    }),
    // lists (mostly on their own key names, so lists grow long; sometimes on the shared ones)
    (4, |g| {
        let mut c = vec![
            g.rng
                .pick(&["LPUSH", "RPUSH", "lpush", "RPUSHX", "LPUSHX"])
                .to_string(),
            g.lkey(),
        ];
        for _ in 0..1 + g.rng.below(4) {
            c.push(g.elem());
        }
        c
    }),
    (3, |g| {
        let mut c = vec![g.rng.pick(&["LPOP", "RPOP"]).to_string(), g.lkey()];
        if g.rng.chance(40) {
            c.push(g.rng.pick(&["0", "1", "2", "5", "-1", "x"]).into());
        }
        c
    }),
    (2, |g| vec!["LLEN".into(), g.lkey()]),
    (2, |g| vec!["LINDEX".into(), g.lkey(), g.lindex()]),
    (2, |g| vec!["LSET".into(), g.lkey(), g.lindex(), g.elem()]),
    (3, |g| {
        vec!["LRANGE".into(), g.lkey(), g.lindex(), g.lindex()]
    }),
    (1, |g| {
        vec!["LTRIM".into(), g.lkey(), g.lindex(), g.lindex()]
    }),
    (2, |g| {
        let wh = g.rng.pick(&["BEFORE", "AFTER", "after", "MIDDLE"]);
        vec!["LINSERT".into(), g.lkey(), wh.into(), g.elem(), g.elem()]
    }),
    (2, |g| vec!["LREM".into(), g.lkey(), g.lindex(), g.elem()]),
    (2, |g| {
        let mut c = vec!["LPOS".into(), g.lkey(), g.elem()];
        for _ in 0..g.rng.below(3) {
            let opt = g.rng.pick(&["RANK", "COUNT", "MAXLEN", "rank", "BAD"]);
            c.push(opt.into());
            c.push(g.rng.pick(&["0", "1", "2", "-1", "-2", "3", "x"]).into());
        }
        c
    }),
    (2, |g| {
        let (a, b) = (g.side(), g.side());
        vec!["LMOVE".into(), g.lkey(), g.lkey(), a, b]
    }),
    (1, |g| vec!["RPOPLPUSH".into(), g.lkey(), g.lkey()]),
    (2, |g| {
        let mut c = vec!["LMPOP".to_string()];
        c.extend(g.lmpop_args());
        c
    }),
    (1, |g| {
        let name = g.rng.pick(&["BLPOP", "BRPOP"]);
        let mut c = vec![name.to_string()];
        c.extend(g.lkeys(3));
        c.push(g.btimeout());
        c
    }),
    (1, |g| {
        let (a, b) = (g.side(), g.side());
        vec!["BLMOVE".into(), g.lkey(), g.lkey(), a, b, g.btimeout()]
    }),
    (1, |g| {
        vec!["BRPOPLPUSH".into(), g.lkey(), g.lkey(), g.btimeout()]
    }),
    (1, |g| {
        let mut c = vec!["BLMPOP".to_string(), g.btimeout()];
        c.extend(g.lmpop_args());
        c
    }),
    // Strings and generic commands on the list keys (WRONGTYPE both ways, emptied lists gone).
    (3, |g| {
        let name = g
            .rng
            .pick(&["GET", "TYPE", "EXISTS", "DEL", "STRLEN", "TTL", "PERSIST"]);
        vec![name.into(), g.lkey()]
    }),
    (2, |g| {
        let name = g.rng.pick(&["SET", "APPEND", "GETSET", "SETNX"]);
        vec![name.into(), g.lkey(), g.elem()]
    }),
    (1, |g| vec!["INCR".into(), g.lkey()]),
    (1, |g| vec!["EXPIRE".into(), g.lkey(), g.ttl(false)]),
    // sort (weights for BY/GET: strings `w_<element>` and hashes `h_<element>`)
    (2, |g| {
        let key = g.sort_key("w");
        vec!["SET".into(), key, g.sort_weight()]
    }),
    (2, |g| {
        let key = g.sort_key("h");
        let field = g.rng.pick(&["f", "f", "g"]).to_string();
        vec!["HSET".into(), key, field, g.sort_weight()]
    }),
    (1, |g| {
        let kind = g.rng.pick(&["w", "h"]);
        vec!["DEL".into(), g.sort_key(kind)]
    }),
    // SORT's own keys: sets, sorted sets, and sometimes a string or hash (WRONGTYPE).
    (3, |g| {
        let mut c = vec!["SADD".into(), g.sort_src()];
        for _ in 0..1 + g.rng.below(4) {
            c.push(g.sort_elem());
        }
        c
    }),
    (3, |g| {
        let mut c = vec!["ZADD".into(), g.sort_src()];
        for _ in 0..1 + g.rng.below(4) {
            c.push(g.sort_weight_number());
            c.push(g.sort_elem());
        }
        c
    }),
    (1, |g| {
        let name = g.rng.pick(&["SET", "HSET", "DEL", "SREM", "ZREM"]);
        let mut c = vec![name.to_string(), g.sort_src(), g.sort_elem()];
        if name == "HSET" {
            c.push("v".into());
        }
        c
    }),
    (6, |g| g.sort_cmd(false)),
    (2, |g| g.sort_cmd(true)),
    // zset blocking and scan (tiny timeouts only: an empty key blocks both servers that long)
    (1, |g| {
        let name = g.rng.pick(&["BZPOPMIN", "BZPOPMAX", "bzpopmin"]);
        let mut c = vec![name.to_string()];
        c.extend(g.zkeys(3));
        c.push(g.btimeout());
        c
    }),
    (1, |g| {
        let mut c = vec!["BZMPOP".to_string(), g.btimeout()];
        c.extend(g.bzmpop_args());
        c
    }),
    (2, |g| {
        let mut c = vec!["ZSCAN".into(), g.zkey()];
        g.scan_args(&mut c);
        c
    }),
    // dump: the RDB type DUMP writes follows the key's type and OBJECT ENCODING; the payload
    // bytes are compared where the member order is defined (see `ordered_replies`)
    (1, |g| vec!["DUMP".into(), g.key()]),
    (1, |g| vec!["DUMP".into(), g.lkey()]),
    (1, |g| vec!["DUMP".into(), g.zkey()]),
    // transactions: MULTI opens a block that the commands drawn next are queued in, until an
    // EXEC or DISCARD is drawn (weighted so blocks hold about a dozen commands). One connection:
    // its own writes break its WATCHes. EXEC replies are compared element by element.
    (6, |_| v(&["MULTI"])),
    (20, |_| v(&["EXEC"])),
    (3, |_| v(&["DISCARD"])),
    (4, |g| {
        let mut c = vec!["WATCH".into()];
        c.extend(g.keys(3));
        c
    }),
    (1, |_| v(&["UNWATCH"])),
    (1, |g| g.transaction_misuse()),
    // notify: notify-keyspace-events as CONFIG SET checks it and CONFIG GET writes it back
    (1, |g| {
        let flags = g.notify_flags();
        vec![
            "CONFIG".into(),
            "SET".into(),
            "notify-keyspace-events".into(),
            flags,
        ]
    }),
    (1, |_| {
        vec![
            "CONFIG".into(),
            "GET".into(),
            "notify-keyspace-events".into(),
        ]
    }),
    // client: CLIENT PAUSE/REPLY/TRACKING/KILL arguments, SLOWLOG and LATENCY (only forms
    // whose replies do not depend on timing or on which connection asks; see `client_admin`)
    (2, |g| g.client_admin()),
    (1, |g| g.slowlog_or_latency()),
    // scripting: script templates calling redis.call/pcall on the case's keys, reply
    // conversions both ways, raised errors (which name the script's SHA1) and bad numkeys
    (6, |g| g.eval_cmd("EVAL")),
    (1, |g| g.eval_cmd("EVAL_RO")),
    (1, |g| {
        let body = g.rng.pick(SCRIPTS);
        let sha = sha1_smol::Sha1::from(body).digest().to_string();
        let mut c = vec!["EVALSHA".to_string(), sha, "1".into(), g.key()];
        c.push(g.value());
        c
    }),
    // order: integer-only sets (intsets answer in numeric order) and hashes rewritten in place,
    // on keys of their own, so whole-collection replies have Redis's order to compare
    (3, |g| {
        let mut c = vec!["SADD".into(), g.okey("i")];
        for _ in 0..1 + g.rng.below(4) {
            c.push(g.int_member());
        }
        c
    }),
    (1, |g| vec!["SREM".into(), g.okey("i"), g.int_member()]),
    (3, |g| {
        let name = g.rng.pick(&[
            "SMEMBERS", "SINTER", "SUNION", "SDIFF", "SSCAN", "SPOP", "DUMP",
        ]);
        let mut c = vec![name.into(), g.okey("i")];
        match name {
            "SSCAN" => c.push("0".into()),
            "SPOP" => c.push("100".into()),
            "SINTER" | "SUNION" | "SDIFF" => c.push(g.okey("i")),
            _ => {}
        }
        c
    }),
    (3, |g| {
        let mut c = vec!["HSET".into(), g.okey("o")];
        for _ in 0..1 + g.rng.below(3) {
            c.push(g.rng.pick(&["a", "b", "c", "10", "2", "zz"]).into());
            c.push(g.value());
        }
        c
    }),
    (1, |g| {
        let f = g.rng.pick(&["a", "b", "c", "10", "2", "zz"]);
        vec!["HDEL".into(), g.okey("o"), f.into()]
    }),
    (3, |g| {
        let name = g
            .rng
            .pick(&["HGETALL", "HKEYS", "HVALS", "HSCAN", "DUMP", "HINCRBY"]);
        let mut c = vec![name.into(), g.okey("o")];
        match name {
            "HSCAN" => c.push("0".into()),
            "HINCRBY" => c.extend(["a".into(), "1".into()]),
            _ => {}
        }
        c
    }),
    // acl: users named after the case's prefix get random rules (some invalid); DRYRUN asks
    // whether they may run a command (the decision, not ACL LIST's wording, which depends on
    // how many commands each category holds)
    (2, |g| {
        let mut c = vec!["ACL".into(), "SETUSER".into(), g.acl_user()];
        for _ in 0..1 + g.rng.below(4) {
            c.push(g.acl_rule());
        }
        c
    }),
    (2, |g| {
        let mut c = vec!["ACL".into(), "DRYRUN".into(), g.acl_user()];
        c.extend(g.acl_command());
        c
    }),
];

// Helpers of the reply-order generators.
impl Gen {
    /// One of two keys of a family of its own (`i`: integer sets, `o`: hashes).
    fn okey(&mut self, family: &str) -> String {
        format!("{}{family}{}", self.prefix, self.rng.below(2))
    }

    /// An integer set member: negatives and several digit counts, so that numeric order and byte
    /// order differ.
    fn int_member(&mut self) -> String {
        self.rng
            .pick(&[
                "-7",
                "-100",
                "0",
                "2",
                "10",
                "100",
                "3",
                "-1",
                "65536",
                "4294967296",
            ])
            .into()
    }
}

impl Gen {
    /// A key for a sorted set command: mostly from a few keys that only sorted set (and generic)
    /// commands touch, so sets grow and ranges have something to return; otherwise a shared key
    /// that strings use too (WRONGTYPE both ways).
    fn zkey(&mut self) -> String {
        if self.rng.chance(65) {
            format!("{}z{}", self.prefix, self.rng.below(4))
        } else {
            self.key()
        }
    }

    fn zkeys(&mut self, max: usize) -> Vec<String> {
        let n = 1 + self.rng.below(max);
        (0..n).map(|_| self.zkey()).collect()
    }

    /// A sorted set member (a small space, so members repeat).
    fn zmember(&mut self) -> String {
        self.rng
            .pick(&["a", "b", "c", "d", "e", "aa", "ab", "", "1", "z"])
            .into()
    }

    /// A score argument: numbers, infinities, hex, and things that are not floats.
    fn zscore(&mut self) -> String {
        const SCORES: &[&str] = &[
            "0", "1", "-1", "2.5", "-2.5", "inf", "-inf", "+inf", "1e3", "0x10", "nan", "abc", "",
            " 1", "3.14", "1e400", "-0", "0.1",
        ];
        if self.rng.chance(40) {
            return (self.rng.next() as i64 % 20 - 10).to_string();
        }
        self.rng.pick(SCORES).into()
    }

    /// A score range bound, sometimes exclusive or malformed.
    fn zbound(&mut self) -> String {
        const BOUNDS: &[&str] = &[
            "-inf", "+inf", "inf", "(1", "(2.5", "0", "1", "5", "(0", "abc", "(", "(inf", "",
            "nan", "(-inf", "2.5",
        ];
        if self.rng.chance(40) {
            let n = self.rng.next() as i64 % 12 - 6;
            return if self.rng.chance(30) {
                format!("({n}")
            } else {
                n.to_string()
            };
        }
        self.rng.pick(BOUNDS).into()
    }

    /// A lex range bound, sometimes malformed.
    fn zlex(&mut self) -> String {
        self.rng
            .pick(&[
                "-", "+", "[a", "(a", "[b", "(c", "[aa", "[", "(", "a", "++", "[e", "(z", "[",
            ])
            .into()
    }

    /// A rank: mostly small, sometimes not an integer or at the edges.
    fn zrank(&mut self) -> String {
        if self.rng.chance(80) {
            return (self.rng.next() as i64 % 12 - 6).to_string();
        }
        self.int()
    }

    /// Random ZRANGE options after the range (LIMIT, REV, WITHSCORES, sometimes junk).
    fn zrange_opts(&mut self, c: &mut Vec<String>, extra: &[&str]) {
        for _ in 0..self.rng.below(3) {
            match self.rng.below(4 + extra.len()) {
                0 | 1 => {
                    c.push("LIMIT".into());
                    c.push(self.rng.pick(&["0", "1", "2", "-1", "x"]).into());
                    if self.rng.chance(95) {
                        c.push(self.rng.pick(&["1", "2", "-1", "0", "10"]).into());
                    }
                }
                2 => c.push(
                    self.rng
                        .pick(&["REV", "BYSCORE", "BYLEX", "withscores"])
                        .into(),
                ),
                3 => {
                    if self.rng.chance(20) {
                        c.push("BOGUS".into());
                    }
                }
                i => c.push(extra[i - 4].into()),
            }
        }
    }

    /// ZRANGE/ZRANGESTORE arguments after the key(s): a rank, score or lex range and options.
    fn zrange_args(&mut self, c: &mut Vec<String>, withscores: bool) {
        match self.rng.below(3) {
            0 => {
                c.extend([self.zrank(), self.zrank()]);
            }
            1 => {
                c.extend([self.zbound(), self.zbound()]);
                c.push("BYSCORE".into());
            }
            _ => {
                c.extend([self.zlex(), self.zlex()]);
                c.push("BYLEX".into());
            }
        }
        if self.rng.chance(30) {
            c.push("REV".into());
        }
        self.zrange_opts(c, if withscores { &["WITHSCORES"] } else { &[] });
    }

    /// numkeys, keys, then WEIGHTS / AGGREGATE / WITHSCORES / LIMIT options, sometimes wrong.
    fn zsetop_args(&mut self, c: &mut Vec<String>, withscores: bool, card: bool) {
        let keys = self.zkeys(3);
        let n = if self.rng.chance(8) {
            self.rng.pick(&["0", "-1", "x", "5"]).to_string()
        } else {
            keys.len().to_string()
        };
        c.push(n);
        let count = keys.len();
        c.extend(keys);
        for _ in 0..self.rng.below(3) {
            match self.rng.below(5) {
                0 => {
                    c.push("WEIGHTS".into());
                    for _ in 0..count {
                        c.push(
                            self.rng
                                .pick(&["1", "2", "-1", "0", "0.5", "inf", "x"])
                                .into(),
                        );
                    }
                }
                1 => {
                    c.push("AGGREGATE".into());
                    c.push(self.rng.pick(&["SUM", "MIN", "MAX", "max", "AVG"]).into());
                }
                2 if withscores => c.push("WITHSCORES".into()),
                3 if card => {
                    c.push("LIMIT".into());
                    c.push(self.rng.pick(&["0", "1", "2", "-1", "x"]).into());
                }
                _ => {
                    if self.rng.chance(20) {
                        c.push("WITHSCORES".into());
                    }
                }
            }
        }
    }
}

impl Gen {
    /// A key of the list commands' own key space.
    fn lkey(&mut self) -> String {
        if self.rng.chance(25) {
            return self.key();
        }
        format!("{}l{}", self.prefix, self.rng.below(4))
    }

    fn lkeys(&mut self, max: usize) -> Vec<String> {
        let n = 1 + self.rng.below(max);
        (0..n).map(|_| self.lkey()).collect()
    }

    /// A list element from a small set, so that LREM, LPOS and LINSERT find matches.
    fn elem(&mut self) -> String {
        self.rng.pick(&["a", "b", "c", "1", "", "a b"]).into()
    }

    fn lindex(&mut self) -> String {
        self.rng
            .pick(&[
                "0",
                "1",
                "2",
                "-1",
                "-2",
                "5",
                "-10",
                "100",
                "x",
                "9223372036854775807",
            ])
            .into()
    }

    fn side(&mut self) -> String {
        self.rng.pick(&["LEFT", "RIGHT", "left", "UP"]).into()
    }

    /// A blocking timeout: short (nothing else can push during a case), or invalid.
    fn btimeout(&mut self) -> String {
        self.rng
            .pick(&["0.01", "0.01", "0.01", "-1", "x", "nan"])
            .into()
    }

    /// `numkeys key... LEFT|RIGHT [COUNT n]`, sometimes malformed.
    fn lmpop_args(&mut self) -> Vec<String> {
        let keys = self.lkeys(3);
        let numkeys = match self.rng.below(10) {
            0 => "0".to_string(),
            1 => (keys.len() + 1).to_string(),
            2 => "x".to_string(),
            _ => keys.len().to_string(),
        };
        let mut c = vec![numkeys];
        c.extend(keys);
        c.push(self.side());
        if self.rng.chance(50) {
            c.push("COUNT".into());
            c.push(self.rng.pick(&["1", "2", "10", "0", "-1", "x"]).into());
        }
        c
    }
}

impl Gen {
    /// An element of the lists, sorted sets or sets, whose weights SORT BY/GET read.
    fn sort_elem(&mut self) -> String {
        self.rng
            .pick(&[
                "a", "b", "c", "1", "", "a b", "d", "aa", "z", "0", "42", "-1", "3.14",
            ])
            .into()
    }

    /// The weight key (`w`: string, `h`: hash) of a random element.
    fn sort_key(&mut self, kind: &str) -> String {
        let elem = self.sort_elem();
        format!("{}{kind}_{elem}", self.prefix)
    }

    /// A weight: mostly numbers (equal ones too), sometimes not a number.
    fn sort_weight(&mut self) -> String {
        self.rng
            .pick(&[
                "1", "2", "-3", "0.5", "10", "1e2", "2", " 7", "x", "", "inf", "0x1f",
            ])
            .into()
    }

    /// A score for SORT's sorted sets.
    fn sort_weight_number(&mut self) -> String {
        self.rng.pick(&["1", "2", "-3", "0.5", "10", "2"]).into()
    }

    /// A key of SORT's own space for sets and sorted sets. (Not the sorted set commands' keys:
    /// SORT converts a sorted set to a skiplist, where Redis's lex ranges over mixed scores
    /// depend on random skiplist levels.)
    fn sort_src(&mut self) -> String {
        format!("{}s{}", self.prefix, self.rng.below(4))
    }

    /// SORT or SORT_RO with random options. Keys of the lists-only space take any option; on
    /// SORT's set keys (sets, whose order Redis does not define) options that expose the
    /// native order are left out: BY a constant without STORE, and ALPHA with a BY pattern
    /// (ties keep the input order).
    fn sort_cmd(&mut self, ro: bool) -> Vec<String> {
        let list_only = self.rng.chance(50);
        let key = if list_only {
            format!("{}l{}", self.prefix, self.rng.below(4))
        } else {
            self.sort_src()
        };
        let mut c = vec![if ro { "SORT_RO" } else { "SORT" }.to_string(), key];
        let store = !ro && self.rng.chance(30) || ro && self.rng.chance(5);
        let alpha = self.rng.chance(35);
        let by = match self.rng.below(6) {
            0 if list_only || store => Some("nosort".to_string()),
            1 | 2 if list_only || !alpha => Some(format!("{}w_*", self.prefix)),
            3 if list_only || !alpha => Some(format!("{}h_*->f", self.prefix)),
            _ => None,
        };
        let mut opts: Vec<Vec<String>> = Vec::new();
        if alpha {
            opts.push(vec!["ALPHA".into()]);
        }
        if let Some(by) = by {
            opts.push(vec!["BY".into(), by]);
        }
        if self.rng.chance(30) {
            opts.push(vec![self.rng.pick(&["ASC", "DESC", "desc"]).into()]);
        }
        if self.rng.chance(30) {
            let start = self.rng.pick(&["0", "1", "2", "-1", "5", "x"]).to_string();
            let count = self.rng.pick(&["0", "1", "2", "3", "-1", "10"]).to_string();
            opts.push(vec!["LIMIT".into(), start, count]);
        }
        for _ in 0..self.rng.below(3) {
            let pattern = match self.rng.below(6) {
                0 => "#".to_string(),
                1 | 2 => format!("{}w_*", self.prefix),
                3 => format!("{}h_*->f", self.prefix),
                4 => format!("{}h_*->g", self.prefix),
                _ => format!("{}k*", self.prefix),
            };
            opts.push(vec!["GET".into(), pattern]);
        }
        if store {
            let dst = if self.rng.chance(70) {
                self.lkey()
            } else {
                self.key()
            };
            opts.push(vec!["STORE".into(), dst]);
        }
        if self.rng.chance(3) {
            opts.push(vec![self.rng.pick(&["BOGUS", "LIMIT", "GET"]).into()]);
        }
        // Options in any order.
        for i in (1..opts.len()).rev() {
            let j = self.rng.below(i + 1);
            opts.swap(i, j);
        }
        c.extend(opts.into_iter().flatten());
        c
    }
}

/// Makes replies that legitimately differ between two servers comparable: remaining TTLs depend on
/// when each server received the command, and KEYS has no defined order; nor has a collection
/// unless `ordered` (Redis's encoding defines it, see `ordered_replies`): then it is kept as is.
fn normalize(args: &[String], reply: String, ordered: bool) -> String {
    let name = args[0].to_ascii_uppercase();
    match name.as_str() {
        // Redis's order is defined here (listpack hashes, intsets; see `encoding_probes`).
        "HKEYS" | "HVALS" | "HGETALL" | "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "SPOP"
        | "HSCAN" | "SSCAN" | "DUMP"
            if ordered =>
        {
            reply
        }
        "TTL" | "PTTL" | "EXPIRETIME" | "PEXPIRETIME" => match reply.strip_prefix(':') {
            Some(n) if n.trim_end().parse::<i64>().is_ok_and(|n| n > 0) => ":positive\r\n".into(),
            _ => reply,
        },
        "KEYS" | "HKEYS" | "HVALS" | "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "SPOP" => {
            sort_elements(&reply, 1)
        }
        "HGETALL" => sort_elements(&reply, 2),
        // A payload's first byte is its RDB type.
        "DUMP" if reply.starts_with('$') && !reply.starts_with("$-1") => {
            let ty = reply
                .split_once("\r\n")
                .and_then(|(_, p)| p.as_bytes().first().copied());
            format!("$dump of RDB type {ty:?}")
        }
        // Random picks: only the shape (type and length) is comparable.
        "HRANDFIELD" | "SRANDMEMBER" | "ZRANDMEMBER" => match reply.as_bytes().first() {
            Some(b'*') | Some(b'~') => reply.split("\r\n").next().unwrap_or("").into(),
            Some(b'$') if !reply.starts_with("$-1") => "$bulk".into(),
            _ => reply,
        },
        "HSCAN" | "SSCAN" | "ZSCAN" => {
            // *2, $len, cursor, *n, elements: sort the elements (pairs for HSCAN, ZSCAN).
            let lines: Vec<&str> = reply.splitn(4, "\r\n").collect();
            if reply.starts_with("*2\r\n") && lines.len() == 4 {
                let per = if name == "SSCAN" { 1 } else { 2 };
                let head = lines[..3].join("\r\n");
                return format!("{head}\r\n{}", sort_elements(lines[3], per));
            }
            reply
        }
        _ => reply,
    }
}

/// `normalize` over a connection's replies in order. Commands queued by MULTI answer QUEUED;
/// their replies come in EXEC's array, normalized element by element.
fn normalize_all(sent: &[Vec<String>], replies: Vec<String>, ordered: &[bool]) -> Vec<String> {
    let mut queued: Option<Vec<&Vec<String>>> = None;
    let mut out = Vec::with_capacity(replies.len());
    for (i, (c, r)) in sent.iter().zip(replies).enumerate() {
        let name = c[0].to_ascii_uppercase();
        out.push(match (name.as_str(), &mut queued) {
            ("MULTI", None) => {
                if r == "+OK\r\n" {
                    queued = Some(Vec::new());
                }
                r
            }
            ("EXEC", q) => match q.take() {
                Some(cmds) => normalize_exec(&cmds, r),
                None => r,
            },
            ("DISCARD" | "RESET", q) => {
                *q = None;
                r
            }
            (_, Some(q)) => {
                if r == "+QUEUED\r\n" {
                    q.push(c);
                }
                r
            }
            (_, None) => normalize(c, r, ordered[i]),
        });
    }
    out
}

/// EXEC's array with each element normalized by the command that produced it.
fn normalize_exec(cmds: &[&Vec<String>], reply: String) -> String {
    let Some(rest) = reply.strip_prefix(&format!("*{}\r\n", cmds.len())) else {
        return reply;
    };
    let mut rest = rest.as_bytes();
    let mut out = format!("*{}\r\n", cmds.len());
    for c in cmds {
        // Bulks first: a binary payload read as lossy UTF-8 no longer matches its length. RESP2's
        // null array and null bulk (also nested) are not RESP3 frames.
        let bulk = rest.starts_with(b"$") && !rest.starts_with(b"$-1");
        let len = match (bulk, redis_protocol::resp3::decode::complete::decode(rest)) {
            (true, _) => lossy_bulk_len(rest),
            (false, Ok(Some((_, n)))) => Some(n),
            _ => redis_protocol::resp2::decode::decode(rest)
                .ok()
                .flatten()
                .map(|(_, n)| n),
        };
        let Some(len) = len else {
            return reply;
        };
        out.push_str(&normalize(
            c,
            String::from_utf8_lossy(&rest[..len]).into_owned(),
            false,
        ));
        rest = &rest[len..];
    }
    out
}

/// The length of a bulk reply, also when its binary payload (a DUMP) was read as lossy UTF-8,
/// which only makes it longer: it ends at the first CRLF from its declared length on.
fn lossy_bulk_len(rest: &[u8]) -> Option<usize> {
    let crlf = |from: usize| {
        rest.get(from..)?
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| from + p)
    };
    let head_end = crlf(0)?;
    let declared: usize = std::str::from_utf8(rest.get(1..head_end)?)
        .ok()?
        .parse()
        .ok()?;
    let start = head_end + 2;
    Some(crlf(start + declared)? + 2)
}

/// An aggregate reply (array, set or map) with its elements sorted, `per` elements at a time
/// (2 for field/value pairs): collections have no defined order.
fn sort_elements(reply: &str, per: usize) -> String {
    let mut lines: Vec<&str> = reply.split("\r\n").collect();
    if lines.len() <= 2 || !matches!(reply.as_bytes()[0], b'*' | b'~' | b'%') {
        return reply.to_string();
    }
    let body = &lines[1..lines.len() - 1];
    // Each element is a bulk string: a `$len` line and its text.
    let mut groups: Vec<String> = body.chunks(2 * per).map(|p| p.join("\r\n")).collect();
    groups.sort();
    let head = lines.remove(0).to_string();
    format!("{head}\r\n{}\r\n", groups.join("\r\n"))
}

fn draw(g: &mut Gen) -> Vec<String> {
    let total: u32 = GENERATORS.iter().map(|(w, _)| w).sum();
    let mut n = g.rng.below(total as usize) as u32;
    for (w, f) in GENERATORS {
        if n < *w {
            return f(g);
        }
        n -= w;
    }
    unreachable!("weights cover the draw")
}

/// Redis 7.0's SORT tests `errno == ERANGE` after `strtod` without clearing errno first, so a
/// stale ERANGE from an earlier command on the connection (a ZADD score of 1e400, …) makes it
/// refuse valid weights. Before each SORT/SORT_RO both servers get a command that clears errno
/// and changes nothing (`ZADD key XX 0 x` on a missing key parses its score with errno reset);
/// its reply is not compared. Returns the commands to send and which replies to compare.
fn with_errno_resets(commands: &[Vec<String>], prefix: &str) -> (Vec<Vec<String>>, Vec<bool>) {
    let mut sent = Vec::new();
    let mut compared = Vec::new();
    for c in commands {
        if c[0].eq_ignore_ascii_case("SORT") || c[0].eq_ignore_ascii_case("SORT_RO") {
            sent.push(v(&["ZADD", &format!("{prefix}errno"), "XX", "0", "x"]));
            compared.push(false);
        }
        sent.push(c.clone());
        compared.push(true);
    }
    (sent, compared)
}

fn run_case(seed: u64, berth: &mut Raw, redis: &mut Raw, steps: usize) {
    let mut g = Gen {
        rng: Rng(seed),
        prefix: format!("s{seed}:"),
    };
    // Every other case runs in RESP3. HELLO's own reply (server id, version) is not compared.
    let resp3 = seed.is_multiple_of(2);
    // A case may end inside MULTI or with keys watched: each starts from a reset connection.
    for c in [&mut *berth, &mut *redis] {
        assert_eq!(c.cmd(&["RESET"]), "+RESET\r\n");
        c.resp3 = resp3;
        c.cmd(&["HELLO", if resp3 { "3" } else { "2" }]);
    }
    // Both connections start each case in db 0.
    assert_eq!(berth.cmd(&["SELECT", "0"]), redis.cmd(&["SELECT", "0"]));
    let commands: Vec<Vec<String>> = (0..steps).map(|_| draw(&mut g)).collect();
    let (sent, compared) = with_errno_resets(&commands, &g.prefix);
    let (sent, compared, probes) = with_encoding_probes(sent, compared);
    let pipelined = seed.is_multiple_of(3);
    let (expected, got): (Vec<String>, Vec<String>) = if pipelined {
        (pipeline(redis, &sent), pipeline(berth, &sent))
    } else {
        sent.iter()
            .map(|args| {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                (redis.cmd(&refs), berth.cmd(&refs))
            })
            .unzip()
    };
    let ordered = ordered_replies(&sent, &probes, &expected);
    let (expected, got) = (
        normalize_all(&sent, expected, &ordered),
        normalize_all(&sent, got, &ordered),
    );
    let keep = |replies: Vec<String>| -> Vec<String> {
        replies
            .into_iter()
            .zip(&compared)
            .filter(|(_, &c)| c)
            .map(|(r, _)| r)
            .collect()
    };
    let (expected, got) = (keep(expected), keep(got));
    for (i, (want, have)) in expected.iter().zip(&got).enumerate() {
        if want != have {
            let tail: Vec<String> = commands[i.saturating_sub(15)..=i]
                .iter()
                .map(|c| format!("{c:?}"))
                .collect();
            panic!(
                "seed {seed} (resp3: {resp3}, pipelined: {pipelined}): replies differ for {:?}\n \
                 redis: {want:?}\n berth: {have:?}\nlast commands:\n  {}\n\
                 replay with BERTH_DIFF_SEED={seed}",
                commands[i],
                tail.join("\n  ")
            );
        }
    }
}

/// Whole-collection replies have Redis's order only for some encodings (a listpack hash in
/// insertion order, an intset ascending; hashtables in hash order, which berth does not copy).
/// Before each such command sent outside MULTI, both servers get `OBJECT ENCODING` of its keys
/// (changes nothing; not compared): Redis's answers say whether the reply's order is compared.
/// Returns the commands to send, which replies to compare, and how many probes precede each.
fn with_encoding_probes(
    commands: Vec<Vec<String>>,
    compared: Vec<bool>,
) -> (Vec<Vec<String>>, Vec<bool>, Vec<usize>) {
    let mut sent = Vec::new();
    let mut out_compared = Vec::new();
    let mut probes = Vec::new();
    let mut in_multi = false;
    for (c, cmp) in commands.into_iter().zip(compared) {
        let name = c[0].to_ascii_uppercase();
        let keys: &[String] = match name.as_str() {
            _ if in_multi || c.len() < 2 => &[],
            "HKEYS" | "HVALS" | "HGETALL" | "HSCAN" | "SMEMBERS" | "SSCAN" | "SPOP" | "DUMP" => {
                &c[1..2]
            }
            "SINTER" | "SUNION" | "SDIFF" => &c[1..],
            _ => &[],
        };
        for k in keys {
            sent.push(v(&["OBJECT", "ENCODING", k]));
            out_compared.push(false);
            probes.push(0);
        }
        probes.push(keys.len());
        match name.as_str() {
            "MULTI" => in_multi = true,
            "EXEC" | "DISCARD" | "RESET" => in_multi = false,
            _ => {}
        }
        sent.push(c);
        out_compared.push(cmp);
    }
    (sent, out_compared, probes)
}

/// Which replies keep their order when normalized: those whose probes (Redis's OBJECT ENCODING
/// replies just before them) all name an encoding with a defined order, or a missing key. A
/// DUMP payload is compared whole for these and for strings (only its type byte otherwise).
fn ordered_replies(sent: &[Vec<String>], probes: &[usize], redis: &[String]) -> Vec<bool> {
    let defined = |r: &str, dump: bool| {
        let enc = r.split("\r\n").nth(1).unwrap_or("");
        r == "$-1\r\n"
            || r == "_\r\n"
            || matches!(enc, "listpack" | "intset")
            || (dump && matches!(enc, "int" | "embstr" | "raw"))
    };
    (0..sent.len())
        .map(|i| {
            let n = probes[i];
            let dump = sent[i][0].eq_ignore_ascii_case("DUMP");
            n > 0 && redis[i - n..i].iter().all(|r| defined(r, dump))
        })
        .collect()
}

/// Sends every command in one write, then reads the replies in order.
fn pipeline(c: &mut Raw, commands: &[Vec<String>]) -> Vec<String> {
    let mut out = Vec::new();
    for args in commands {
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        out.extend(Raw::encode(&refs));
    }
    c.send_raw(&out);
    commands
        .iter()
        .map(|_| String::from_utf8_lossy(&c.read_reply().expect("pipelined reply")).into_owned())
        .collect()
}

// Hash and set generator helpers.
impl Gen {
    /// A hash field: few names, so fields collide; sometimes long (past listpack's 64 bytes).
    fn field(&mut self) -> String {
        if self.rng.chance(2) {
            return "f".repeat(65);
        }
        self.rng.pick(&["a", "b", "c", "f1", "f2", "10", ""]).into()
    }

    /// A set member: integers (intset) and text (hashtable) mixed.
    fn member(&mut self) -> String {
        self.rng
            .pick(&["1", "2", "3", "10", "-7", "007", "a", "b", "x y", ""])
            .into()
    }

    /// A count for HRANDFIELD / SRANDMEMBER.
    fn count(&mut self) -> String {
        self.rng
            .pick(&[
                "0",
                "1",
                "2",
                "100",
                "-1",
                "-3",
                "x",
                "-9223372036854775808",
                "4611686018427387904",
            ])
            .into()
    }

    /// The cursor and options of HSCAN/SSCAN: cursor 0 with a COUNT that covers every small
    /// collection (Redis then answers in one step too), or malformed options.
    fn scan_args(&mut self, c: &mut Vec<String>) {
        c.push(self.rng.pick(&["0", "0", "0", "x"]).into());
        if self.rng.chance(40) {
            c.push("MATCH".into());
            c.push(self.rng.pick(&["*", "a*", "1?", "[ab]*"]).into());
        }
        match self.rng.below(6) {
            0 => c.extend(["COUNT".into(), "0".into()]),
            1 => c.push("COUNT".into()),
            2 => c.push("NOVALUES".into()),
            _ => c.extend(["COUNT".into(), "1000".into()]),
        }
    }
}

// Sorted set blocking generator helpers.
impl Gen {
    /// BZMPOP's `numkeys key... MIN|MAX [COUNT n]`, sometimes malformed.
    fn bzmpop_args(&mut self) -> Vec<String> {
        let keys = self.zkeys(3);
        let mut n = keys.len().to_string();
        if self.rng.chance(10) {
            n = self.rng.pick(&["0", "-1", "x", "9"]).into();
        }
        let mut c = vec![n];
        c.extend(keys);
        c.push(self.rng.pick(&["MIN", "MAX", "min", "BAD"]).into());
        if self.rng.chance(50) {
            c.push("COUNT".into());
            c.push(self.rng.pick(&["1", "2", "10", "0", "-1", "x"]).into());
        }
        c
    }
}

// Keyspace notification generator helpers.
impl Gen {
    /// A `notify-keyspace-events` value: a few flag letters in any order, sometimes a bad one.
    fn notify_flags(&mut self) -> String {
        let letters = [
            "K", "E", "A", "g", "$", "l", "s", "h", "z", "x", "e", "t", "m", "d", "n",
        ];
        let mut out = String::new();
        for _ in 0..self.rng.below(6) {
            out.push_str(self.rng.pick(&letters));
        }
        if self.rng.chance(10) {
            out.push_str(self.rng.pick(&["q", " ", "k"]));
        }
        out
    }
}

// Client management and diagnostics generator helpers.
impl Gen {
    /// CLIENT subcommands that change nothing lasting: a 0 ms pause, bad arguments, tracking
    /// queries. Valid KILL filters and REPLY OFF/SKIP are left to tests/client_admin.rs.
    fn client_admin(&mut self) -> Vec<String> {
        let ms = self.rng.pick(&["0", "-1", "abc", "1.5"]);
        match self.rng.below(6) {
            0 => {
                let mut c = v(&["CLIENT", "PAUSE", ms]);
                if self.rng.chance(60) {
                    c.push(self.rng.pick(&["WRITE", "all", "none"]).into());
                }
                c
            }
            1 => v(&[
                "CLIENT",
                self.rng.pick(&["UNPAUSE", "GETREDIR", "TRACKINGINFO"]),
            ]),
            2 => v(&["CLIENT", "REPLY", self.rng.pick(&["ON", "on", "maybe"])]),
            3 => v(&[
                "CLIENT",
                self.rng.pick(&["TRACKING", "CACHING", "NO-EVICT"]),
                self.rng.pick(&["off", "maybe", "no"]),
            ]),
            4 => {
                let (opt, value) = match self.rng.below(4) {
                    0 => ("ID", self.rng.pick(&["0", "-5", "abc"])),
                    1 => ("TYPE", self.rng.pick(&["foo", "master", "slave"])),
                    2 => ("SKIPME", "maybe"),
                    _ => ("USER", "nobody"),
                };
                v(&["CLIENT", "KILL", opt, value])
            }
            _ => v(&["CLIENT", "LIST", "TYPE", self.rng.pick(&["replica", "bad"])]),
        }
    }

    /// SLOWLOG and LATENCY forms with fixed replies (the latency monitor is off on both).
    fn slowlog_or_latency(&mut self) -> Vec<String> {
        match self.rng.below(5) {
            0 => {
                let mut c = v(&["SLOWLOG", "GET", self.rng.pick(&["-2", "abc", "1.5"])]);
                if self.rng.chance(30) {
                    c.push("1".into());
                }
                c
            }
            1 => v(&["SLOWLOG", self.rng.pick(&["HELP", "NOPE"])]),
            2 => v(&[
                "LATENCY",
                self.rng.pick(&["LATEST", "DOCTOR", "HELP", "RESET"]),
            ]),
            3 => v(&["LATENCY", self.rng.pick(&["HISTORY", "GRAPH"]), "command"]),
            _ => vec!["LATENCY".into(), "RESET".into(), self.key()],
        }
    }
}

/// Script templates for EVAL: KEYS[1] is one of the case's keys, ARGV[1] a generated value.
const SCRIPTS: &[&str] = &[
    "return redis.call('get', KEYS[1])",
    "return redis.call('incr', KEYS[1])",
    "return redis.pcall('incr', KEYS[1])",
    "redis.call('set', KEYS[1], ARGV[1]) return redis.call('strlen', KEYS[1])",
    "return {redis.call('type', KEYS[1]), redis.call('exists', KEYS[1])}",
    "return redis.call('lrange', KEYS[1], 0, -1)",
    "return tonumber(ARGV[1])",
    "return {ARGV[1], tonumber(ARGV[1]), true, false, nil, 1}",
    "return #redis.call('hgetall', KEYS[1])",
    "return redis.call('rpush', KEYS[1], ARGV[1])",
    "redis.setresp(3) return redis.call('hgetall', KEYS[1])",
    "redis.setresp(3) return {redis.call('get', KEYS[1]) == nil, redis.call('zscore', KEYS[1], ARGV[1])}",
    "return cjson.encode({ARGV[1], tonumber(ARGV[1])})",
    "return redis.call('zscore', KEYS[1], ARGV[1])",
    "local ok, e = pcall(redis.call, 'lpush', KEYS[1], ARGV[1]) return {tostring(ok), e}",
    "return {err = 'ERR ' .. ARGV[1]}",
    "return redis.status_reply(ARGV[1])",
    "return x",
];

// Scripting generator helpers.
impl Gen {
    /// `EVAL[_RO] <template> 1 <key> <value>`, sometimes with a bad numkeys.
    fn eval_cmd(&mut self, name: &str) -> Vec<String> {
        let body = self.rng.pick(SCRIPTS).to_string();
        let numkeys = if self.rng.chance(10) {
            self.rng.pick(&["x", "-1", "9"]).to_string()
        } else {
            "1".into()
        };
        let key = match self.rng.below(3) {
            0 => self.key(),
            1 => self.lkey(),
            _ => self.zkey(),
        };
        vec![name.into(), body, numkeys, key, self.value()]
    }
}

// ACL generator helpers.
impl Gen {
    fn acl_user(&mut self) -> String {
        format!("{}u{}", self.prefix, self.rng.below(2))
    }

    /// One ACL SETUSER rule: flags, passwords, key and channel patterns on the case's keys,
    /// commands and categories, and now and then a malformed one.
    fn acl_rule(&mut self) -> String {
        let key = self.key();
        let fixed = self.rng.pick(&[
            "on",
            "off",
            "nopass",
            "resetpass",
            ">pw",
            "<pw",
            "allkeys",
            "resetkeys",
            "allchannels",
            "resetchannels",
            "allcommands",
            "nocommands",
            "reset",
            "+@all",
            "-@all",
            "+@read",
            "-@write",
            "+@string",
            "-@list",
            "+@keyspace",
            "-@dangerous",
            "+@fast",
            "-@slow",
            "+@pubsub",
            "+get",
            "-get",
            "+set",
            "-flushall",
            "+config|get",
            "-config",
            "+select|0",
            "+@nosuch",
            "+nosuch",
            "bogus",
            "#abc",
            "%X~k",
            "+config|get|x",
            "-get|x",
        ]);
        match self.rng.below(6) {
            0 => format!("~{key}"),
            1 => format!("%R~{key}"),
            2 => format!("%W~{key}"),
            3 => format!("&{key}"),
            _ => fixed.into(),
        }
    }

    /// A command to DRYRUN, reading or writing the case's keys or channels.
    fn acl_command(&mut self) -> Vec<String> {
        let (k, v) = (self.key(), self.value());
        let c: Vec<&str> = match self.rng.below(9) {
            0 => vec!["GET", &k],
            1 => vec!["SET", &k, &v],
            2 => vec!["LPUSH", &k, &v],
            3 => vec!["LLEN", &k],
            4 => vec!["PUBLISH", &k, &v],
            5 => vec!["SUBSCRIBE", &k],
            6 => vec!["FLUSHALL"],
            7 => vec!["CONFIG", "GET", "port"],
            _ => vec!["SELECT", "0"],
        };
        c.into_iter().map(String::from).collect()
    }
}

#[test]
fn random_command_sequences_reply_exactly_like_redis() {
    let redis = RealRedis::start();
    let berth = Server::start(&[]);
    let mut r = Raw::connect(redis.port);
    let mut b = berth.raw();
    if let Some(seed) = std::env::var("BERTH_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        run_case(seed, &mut b, &mut r, 200);
        return;
    }
    let cases: u64 = std::env::var("BERTH_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(800);
    for seed in 1..=cases {
        run_case(seed, &mut b, &mut r, 100);
    }
}

// Transaction generator helpers.
impl Gen {
    /// Misused transaction commands: wrong arity (a refused EXEC discards the block) or
    /// commands refused inside MULTI (they fail the block: EXEC answers EXECABORT).
    fn transaction_misuse(&mut self) -> Vec<String> {
        match self.rng.below(5) {
            0 => v(&["EXEC", "now"]),
            1 => v(&["WATCH"]),
            2 => v(&["MULTI", "x"]),
            3 => v(&["DISCARD", "x"]),
            _ => v(&["UNWATCH", "x"]),
        }
    }
}

/// Point commands pipelined against collections big enough for berth to look ahead and
/// prefetch their members, in a database big enough for it to prefetch records too
/// (`src/commands/lookahead.rs`, both from 16,384), reply as Redis does, including when a
/// command in the pipeline changes or deletes the collection the requests after it name, and
/// when a request names the wrong type.
#[test]
fn pipelined_point_commands_on_big_collections_reply_like_redis() {
    const MEMBERS: usize = 20_000;
    let redis = RealRedis::start();
    let berth = Server::start(&[]);
    let mut r = Raw::connect(redis.port);
    let mut b = berth.raw();
    let mut fill = Vec::new();
    for start in (0..MEMBERS).step_by(1000) {
        let command = |name: &str, key: &str| vec![name.to_string(), key.to_string()];
        let (mut h, mut st, mut z) = (
            command("HSET", "bigh"),
            command("SADD", "bigs"),
            command("ZADD", "bigz"),
        );
        let mut strings = vec!["MSET".to_string()];
        for i in start..start + 1000 {
            strings.extend([format!("k{i}"), format!("{i}")]);
            h.extend([format!("f{i}"), format!("{i}")]);
            st.push(format!("m{i}"));
            z.extend([format!("{i}"), format!("m{i}")]);
        }
        fill.extend([h, st, z, strings]);
    }
    assert_eq!(pipeline(&mut r, &fill), pipeline(&mut b, &fill));

    let mut rng = Rng(7);
    let mut commands = Vec::new();
    for round in 0..3000 {
        let i = rng.below(MEMBERS + 200);
        let (f, m, n) = (
            format!("f{i}"),
            format!("m{i}"),
            (rng.below(100)).to_string(),
        );
        let k = format!("k{i}");
        let c: Vec<String> = match rng.below(20) {
            0 => vec![
                "HSET".into(),
                "bigh".into(),
                f,
                n.clone(),
                format!("f{}", i + 1),
                n,
            ],
            1 => vec!["HGET".into(), "bigh".into(), f],
            2 => vec!["HMGET".into(), "bigh".into(), f, format!("f{}", i / 2)],
            3 => vec!["HDEL".into(), "bigh".into(), f],
            4 => vec!["HINCRBY".into(), "bigh".into(), f, n],
            5 => vec!["SADD".into(), "bigs".into(), m, format!("x{i}")],
            6 => vec!["SREM".into(), "bigs".into(), m],
            7 => vec!["SMISMEMBER".into(), "bigs".into(), m, format!("x{i}")],
            8 => vec!["ZADD".into(), "bigz".into(), "CH".into(), n, m],
            9 => vec![
                "ZADD".into(),
                "bigz".into(),
                "XX".into(),
                "INCR".into(),
                n,
                m,
            ],
            10 => vec!["ZINCRBY".into(), "bigz".into(), n, m],
            11 => vec!["ZMSCORE".into(), "bigz".into(), m, format!("m{}", i / 3)],
            12 => vec!["ZREM".into(), "bigz".into(), m],
            // The wrong type, through the same member arguments.
            13 => vec!["SISMEMBER".into(), "bigh".into(), m],
            14 => vec!["HGET".into(), "bigz".into(), f],
            15 => vec!["ZSCORE".into(), "bigz".into(), m],
            16 => vec!["GET".into(), k],
            17 => vec!["INCRBY".into(), k, n],
            18 => vec!["SET".into(), k, m],
            _ => vec!["DEL".into(), k, format!("k{}", i + 7)],
        };
        commands.push(c);
        // Now and then the collections themselves change under the requests that follow.
        if round == 1000 {
            commands.push(vec!["RENAME".into(), "bigh".into(), "bigh2".into()]);
            commands.push(vec![
                "HSET".into(),
                "bigh".into(),
                "f1".into(),
                "new".into(),
            ]);
        }
        if round == 2000 {
            commands.push(vec!["DEL".into(), "bigs".into()]);
            commands.push(vec!["RENAME".into(), "bigh2".into(), "bigs".into()]);
        }
    }
    commands.extend(
        [
            ["HLEN", "bigh"],
            ["SCARD", "bigs"],
            ["ZCARD", "bigz"],
            ["TYPE", "bigs"],
            ["EXISTS", "k5"],
        ]
        .map(|c| c.map(String::from).to_vec()),
    );
    for batch in commands.chunks(500) {
        let (want, got) = (pipeline(&mut r, batch), pipeline(&mut b, batch));
        for ((c, w), g) in batch.iter().zip(&want).zip(&got) {
            assert_eq!(g, w, "reply to {c:?}");
        }
    }
}
