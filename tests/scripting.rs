//! Lua scripting (EVAL, EVALSHA, the _RO forms, SCRIPT …): the redis.* API, reply conversions
//! both ways, error texts, sandbox and shebang flags, with exact replies. Every table of cases is
//! replayed against a real redis-server 7 too, so the expected bytes are Redis's own.

mod common;
use common::{bulk, check, Raw, RealRedis, Server, WRONGTYPE};

/// Runs `f` against berth and against the reference redis-server.
fn on_both(f: impl Fn(&mut Raw)) {
    ports_of_both(|port| f(&mut Raw::connect(port)));
}

/// Runs `f` with the port of berth, then of the reference redis-server.
fn ports_of_both(f: impl Fn(u16)) {
    let s = Server::start(&[]);
    f(s.port);
    let r = RealRedis::start();
    f(r.port);
}

/// `-<msg> script: <sha>, on @user_script:<line>.` as Redis 7 words a script's runtime error.
fn script_err(msg: &str, body: &str, line: u32) -> String {
    format!(
        "-{msg} script: {}, on @user_script:{line}.\r\n",
        sha1_smol::Sha1::from(body).digest()
    )
}

/// EVAL `body` with no keys.
fn eval(c: &mut Raw, body: &str) -> String {
    c.cmd(&["EVAL", body, "0"])
}

#[test]
fn lua_values_convert_to_replies_as_redis() {
    on_both(|c| {
        check(
            c,
            &[
                (&["EVAL", "return 1", "0"], ":1\r\n"),
                (&["EVAL", "return 3.99", "0"], ":3\r\n"),
                (&["EVAL", "return -3.99", "0"], ":-3\r\n"),
                (&["EVAL", "return 1e20", "0"], ":-9223372036854775808\r\n"),
                (&["EVAL", "return 'x'", "0"], "$1\r\nx\r\n"),
                (&["EVAL", "return true", "0"], ":1\r\n"),
                (&["EVAL", "return false", "0"], "$-1\r\n"),
                (&["EVAL", "return nil", "0"], "$-1\r\n"),
                (
                    &["EVAL", "return {1,2,3.7,'x',nil,5}", "0"],
                    "*4\r\n:1\r\n:2\r\n:3\r\n$1\r\nx\r\n",
                ),
                (
                    &["EVAL", "return {1,{2,{3}},{}}", "0"],
                    "*3\r\n:1\r\n*2\r\n:2\r\n*1\r\n:3\r\n*0\r\n",
                ),
                (
                    &["EVAL", "return {1,false,3}", "0"],
                    "*3\r\n:1\r\n$-1\r\n:3\r\n",
                ),
                (&["EVAL", "return {ok='fine'}", "0"], "+fine\r\n"),
                (&["EVAL", "return {err='bad'}", "0"], "-bad\r\n"),
                (&["EVAL", "return {double=1.5}", "0"], "$3\r\n1.5\r\n"),
                (
                    &["EVAL", "return {map={a=1}}", "0"],
                    "*2\r\n$1\r\na\r\n:1\r\n",
                ),
                (&["EVAL", "return {set={a=true}}", "0"], "*1\r\n$1\r\na\r\n"),
                (&["EVAL", "return {big_number='123'}", "0"], "$3\r\n123\r\n"),
                (
                    &[
                        "EVAL",
                        "return KEYS[1] .. ARGV[1] .. #KEYS .. #ARGV",
                        "1",
                        "k",
                        "v",
                    ],
                    "$4\r\nkv11\r\n",
                ),
                (
                    &["EVAL", "return tostring(9007199254740993)", "0"],
                    "$18\r\n9.007199254741e+15\r\n",
                ),
            ],
        );
    });
}

#[test]
fn command_replies_convert_to_lua_as_redis() {
    on_both(|c| {
        c.cmd(&["HSET", "h", "a", "1"]);
        c.cmd(&["ZADD", "z", "1.5", "m"]);
        c.cmd(&["SET", "s", "v"]);
        check(
            c,
            &[
                (
                    &["EVAL", "return redis.call('get', 'nokey')", "0"],
                    "$-1\r\n",
                ),
                (
                    &["EVAL", "return type(redis.call('get', 'nokey'))", "0"],
                    "$7\r\nboolean\r\n",
                ),
                (
                    &["EVAL", "return redis.call('set', 's', 'w')", "0"],
                    "+OK\r\n",
                ),
                (
                    &["EVAL", "return redis.call('set', 's', 'w')['ok']", "0"],
                    "$2\r\nOK\r\n",
                ),
                (
                    &["EVAL", "return redis.call('hgetall', 'h')", "0"],
                    "*2\r\n$1\r\na\r\n$1\r\n1\r\n",
                ),
                (
                    &["EVAL", "return redis.call('zscore', 'z', 'm')", "0"],
                    "$3\r\n1.5\r\n",
                ),
                (
                    &["EVAL", "return redis.call('incr', 'n') + 1", "0"],
                    ":2\r\n",
                ),
                (
                    &["EVAL", "return redis.call('type', 'h')", "0"],
                    "+hash\r\n",
                ),
            ],
        );
    });
}

#[test]
fn setresp_3_converts_resp3_types_both_ways() {
    on_both(|c| {
        c.cmd(&["HSET", "h", "a", "1"]);
        c.cmd(&["ZADD", "z", "1.5", "m"]);
        let cases: &[(&str, &str)] = &[
            ("redis.setresp(3); return true", ":1\r\n"),
            ("redis.setresp(3); return false", ":0\r\n"),
            (
                "redis.setresp(3); local r = redis.call('hgetall','h'); return {type(r.map), r.map.a}",
                "*2\r\n$5\r\ntable\r\n$1\r\n1\r\n",
            ),
            (
                "redis.setresp(3); local r = redis.call('zscore','z','m'); return {type(r), r.double}",
                "*2\r\n$5\r\ntable\r\n:1\r\n",
            ),
            (
                "redis.setresp(3); return type(redis.call('get','nokey'))",
                "$3\r\nnil\r\n",
            ),
            (
                "redis.setresp(3); return redis.call('hgetall','h')",
                "*2\r\n$1\r\na\r\n$1\r\n1\r\n",
            ),
            ("redis.setresp(3); return redis.call('zscore','z','m')", "$3\r\n1.5\r\n"),
        ];
        for (body, want) in cases {
            assert_eq!(eval(c, body), *want, "{body}");
        }
        // A RESP3 caller sees the RESP3 types.
        c.resp3 = true;
        c.cmd(&["HELLO", "3"]);
        let cases: &[(&str, &str)] = &[
            ("return {double=1.5}", ",1.5\r\n"),
            ("return {map={a=1}}", "%1\r\n$1\r\na\r\n:1\r\n"),
            ("return {set={a=true}}", "~1\r\n$1\r\na\r\n"),
            ("return {big_number='123'}", "(123\r\n"),
            (
                "return {verbatim_string={format='txt',string='abc'}}",
                "=7\r\ntxt:abc\r\n",
            ),
            ("return true", ":1\r\n"),
            ("return false", "_\r\n"),
            ("redis.setresp(3); return false", "#f\r\n"),
            ("redis.setresp(3); return true", "#t\r\n"),
            (
                "redis.setresp(3); return redis.call('hgetall','h')",
                "%1\r\n$1\r\na\r\n$1\r\n1\r\n",
            ),
            (
                "redis.setresp(3); return redis.call('zscore','z','m')",
                ",1.5\r\n",
            ),
            ("return redis.call('zscore','z','m')", "$3\r\n1.5\r\n"),
        ];
        for (body, want) in cases {
            assert_eq!(eval(c, body), *want, "{body}");
        }
    });
}

#[test]
fn script_errors_carry_redis_texts_and_positions() {
    on_both(|c| {
        c.cmd(&["RPUSH", "l", "a"]);
        let runtime: &[(&str, &str, u32)] = &[
            (
                "return x",
                "ERR user_script:1: Script attempted to access nonexistent global variable 'x'",
                1,
            ),
            (
                "x=1",
                "ERR user_script:1: Attempt to modify a readonly table",
                1,
            ),
            (
                "function f() end",
                "ERR user_script:1: Attempt to modify a readonly table",
                1,
            ),
            (
                "return redis.call('nosuch')",
                "ERR Unknown Redis command called from script",
                1,
            ),
            (
                "return redis.call('set','a')",
                "ERR Wrong number of args calling Redis command from script",
                1,
            ),
            (
                "return redis.call('incr','l')",
                WRONGTYPE.trim_start_matches('-').trim_end(),
                1,
            ),
            (
                "\n\nreturn redis.call('incr','l')",
                WRONGTYPE.trim_start_matches('-').trim_end(),
                3,
            ),
            (
                "return redis.call('eval','return 1','0')",
                "ERR This Redis command is not allowed from script",
                1,
            ),
            (
                "return redis.call('blpop','l','0')",
                "ERR This Redis command is not allowed from script",
                1,
            ),
            (
                "return redis.call()",
                "ERR Please specify at least one argument for this redis lib call",
                1,
            ),
            (
                "return redis.call('get', {})",
                "ERR Lua redis lib command arguments must be strings or integers",
                1,
            ),
            (
                "return redis.call('get', 'a', 1.5)",
                "ERR Wrong number of args calling Redis command from script",
                1,
            ),
            ("error('boom')", "ERR user_script:1: boom", 1),
            ("error({err='X boom'})", "X boom", 1),
            ("error('x', 0)", "ERR x", 1),
            ("error()", "ERR nil", 1),
            (
                "local t = nil; return t.x",
                "ERR user_script:1: attempt to index local 't' (a nil value)",
                1,
            ),
            (
                "return os.time()",
                "ERR user_script:1: Script attempted to access nonexistent global variable 'os'",
                1,
            ),
            (
                "return io",
                "ERR user_script:1: Script attempted to access nonexistent global variable 'io'",
                1,
            ),
            (
                "return redis.setresp(4)",
                "ERR RESP version must be 2 or 3.",
                1,
            ),
            (
                "return redis.setresp()",
                "ERR redis.setresp() requires one argument.",
                1,
            ),
            ("return redis.sha1hex()", "ERR wrong number of arguments", 1),
            (
                "redis.log(1)",
                "ERR redis.log() requires two arguments or more.",
                1,
            ),
            (
                "redis.log('a','b')",
                "ERR First argument must be a number (log level).",
                1,
            ),
            ("redis.log(7,'b')", "ERR Invalid debug level.", 1),
        ];
        for (body, msg, line) in runtime {
            assert_eq!(eval(c, body), script_err(msg, body, *line), "{body}");
        }
        check(
            c,
            &[
                (
                    &["EVAL", "return redis.pcall('nosuch')", "0"],
                    "-ERR Unknown Redis command called from script\r\n",
                ),
                (&["EVAL", "return redis.pcall('incr','l')", "0"], WRONGTYPE),
                (
                    &["EVAL", "local ok, e = pcall(redis.call, 'incr', 'l'); return {tostring(ok), e}", "0"],
                    "*2\r\n$5\r\nfalse\r\n$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n",
                ),
                (&["EVAL", "return redis.error_reply('My err')", "0"], "-My err\r\n"),
                (&["EVAL", "return redis.error_reply('-My err')", "0"], "-My err\r\n"),
                (&["EVAL", "return redis.error_reply('Nospace')", "0"], "-ERR Nospace\r\n"),
                (
                    &["EVAL", "return redis.error_reply(1)", "0"],
                    "-ERR wrong number or type of arguments\r\n",
                ),
                (&["EVAL", "return redis.status_reply('FINE')", "0"], "+FINE\r\n"),
                (
                    &["EVAL", "syntax error here", "0"],
                    "-ERR Error compiling script (new function): user_script:1: '=' expected near 'error'\r\n",
                ),
                (
                    &["EVAL", "return 1", "-1"],
                    "-ERR Number of keys can't be negative\r\n",
                ),
                (
                    &["EVAL", "return 1", "2", "a"],
                    "-ERR Number of keys can't be greater than number of args\r\n",
                ),
                (
                    &["EVAL", "return 1", "x"],
                    "-ERR value is not an integer or out of range\r\n",
                ),
                (&["EVAL", "return 1"], "-ERR wrong number of arguments for 'eval' command\r\n"),
            ],
        );
    });
}

#[test]
fn read_only_scripts_refuse_writes() {
    on_both(|c| {
        let set = "return redis.call('set', KEYS[1], 'x')";
        assert_eq!(
            c.cmd(&["EVAL_RO", set, "1", "k"]),
            script_err(
                "ERR Write commands are not allowed from read-only scripts.",
                set,
                1
            )
        );
        let declared = "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')";
        assert_eq!(
            c.cmd(&["EVAL", declared, "1", "k"]),
            script_err(
                "ERR Write commands are not allowed from read-only scripts.",
                declared,
                2
            )
        );
        check(
            c,
            &[
                (
                    &["EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k"],
                    "$-1\r\n",
                ),
                (&["EVAL", "#!lua\nreturn 1", "0"], ":1\r\n"),
                (
                    &["EVAL_RO", "#!lua\nreturn 1", "0"],
                    "-ERR Can not execute a script with write flag using *_ro command.\r\n",
                ),
                (
                    &["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"],
                    ":1\r\n",
                ),
                (
                    &["EVAL", "#!lua flags=no-writes,bogus\nreturn 1", "0"],
                    "-ERR Unexpected flag in script shebang: bogus\r\n",
                ),
                (
                    &["EVAL", "#!python\nreturn 1", "0"],
                    "-ERR Unexpected engine in script shebang: #!python\r\n",
                ),
                (
                    &["EVAL", "#!lua name=x\nreturn 1", "0"],
                    "-ERR Unknown lua shebang option: name=x\r\n",
                ),
                (&["GET", "k"], "$-1\r\n"),
            ],
        );
    });
}

#[test]
fn script_cache_load_exists_flush_and_evalsha() {
    on_both(|c| {
        let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"; // sha1("return 1")
        check(
            c,
            &[
                (
                    &["EVALSHA", sha, "0"],
                    "-NOSCRIPT No matching script. Please use EVAL.\r\n",
                ),
                (&["SCRIPT", "LOAD", "return 1"], &bulk(sha)),
                (&["SCRIPT", "EXISTS", sha, "0000"], "*2\r\n:1\r\n:0\r\n"),
                (&["EVALSHA", &sha.to_uppercase(), "0"], ":1\r\n"),
                (&["EVALSHA_RO", sha, "0"], ":1\r\n"),
                (&["SCRIPT", "FLUSH"], "+OK\r\n"),
                (&["SCRIPT", "EXISTS", sha], "*1\r\n:0\r\n"),
                (&["EVAL", "return 1", "0"], ":1\r\n"),
                (&["SCRIPT", "EXISTS", sha], "*1\r\n:1\r\n"),
                (&["SCRIPT", "FLUSH", "ASYNC"], "+OK\r\n"),
                (
                    &["SCRIPT", "FLUSH", "bogus"],
                    "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n",
                ),
                (
                    &["SCRIPT", "LOAD", "return ("],
                    "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n",
                ),
                (&["SCRIPT", "KILL"], "-NOTBUSY No scripts in execution right now.\r\n"),
                (&["SCRIPT", "DEBUG", "NO"], "+OK\r\n"),
                (&["SCRIPT", "DEBUG", "bogus"], "-ERR Use SCRIPT DEBUG YES/SYNC/NO\r\n"),
                (
                    &["EVAL", "redis.call('select', 1) redis.call('set', 'dbk', 'x') return 1", "0"],
                    ":1\r\n",
                ),
                (&["GET", "dbk"], "$-1\r\n"),
                (&["SELECT", "1"], "+OK\r\n"),
                (&["GET", "dbk"], "$1\r\nx\r\n"),
                (&["SELECT", "0"], "+OK\r\n"),
                (
                    &["EVAL", "return redis.sha1hex('')", "0"],
                    &bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
                ),
            ],
        );
    });
}

#[test]
fn sandbox_exposes_the_globals_redis_exposes() {
    on_both(|c| {
        // The libraries Redis loads, and none of os/io/debug/print/require.
        let body = "local t = {} for _, k in ipairs({'os','io','debug','print','require','dofile','loadfile','setfenv','getfenv','package'}) do t[#t+1] = tostring(rawget(_G, k)) end return t";
        let nils = eval(c, body);
        assert_eq!(nils, format!("*10\r\n{}", "$3\r\nnil\r\n".repeat(10)));
        check(
            c,
            &[
                (
                    &["EVAL", "return {type(string), type(table), type(math), type(coroutine), type(loadstring), type(unpack)}", "0"],
                    "*6\r\n$5\r\ntable\r\n$5\r\ntable\r\n$5\r\ntable\r\n$5\r\ntable\r\n$8\r\nfunction\r\n$8\r\nfunction\r\n",
                ),
                (&["EVAL", "return string.format('%d %s %.3f', 5, 'x', 1.5)", "0"], "$9\r\n5 x 1.500\r\n"),
                (&["EVAL", "return redis.REDIS_VERSION_NUM", "0"], ":458767\r\n"),
            ],
        );
    });
}

#[test]
fn scripts_are_atomic_and_see_their_own_writes() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let body =
        "for i = 1, 100 do redis.call('rpush', KEYS[1], i) end return redis.call('llen', KEYS[1])";
    assert_eq!(c.cmd(&["EVAL", body, "1", "list"]), ":100\r\n");
    assert_eq!(c.cmd(&["LINDEX", "list", "-1"]), bulk("100"));
    // An error half-way keeps what ran before it (no rollback), as in Redis.
    let partial = "redis.call('set', 'before', '1') redis.call('incr', 'list') redis.call('set', 'after', '1')";
    assert!(c.cmd(&["EVAL", partial, "0"]).starts_with("-WRONGTYPE"));
    assert_eq!(
        c.cmd(&["MGET", "before", "after"]),
        "*2\r\n$1\r\n1\r\n$-1\r\n"
    );
}

#[test]
fn redis_crate_scripts_load_and_invoke() {
    let s = Server::start(&[]);
    let mut con = s.client();
    let script =
        redis::Script::new("redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])");
    let got: String = script.key("k").arg("v").invoke(&mut con).expect("invoke");
    assert_eq!(got, "v");
    // The second invoke goes through EVALSHA.
    let got: String = script.key("k").arg("w").invoke(&mut con).expect("invoke");
    assert_eq!(got, "w");
    let err = redis::cmd("EVAL")
        .arg("return redis.call('nosuch')")
        .arg(0)
        .query::<()>(&mut con)
        .expect_err("unknown command");
    assert!(
        err.to_string()
            .contains("Unknown Redis command called from script"),
        "{err}"
    );
}

#[test]
fn redis_cli_eval_prints_replies() {
    let s = Server::start(&[]);
    assert_eq!(
        s.cli(&["EVAL", "return {1, 'two', {ok='three'}}", "0"]),
        "1\ntwo\nthree\n"
    );
}

#[test]
fn cjson_cmsgpack_bit_and_struct_libraries_behave_as_redis() {
    on_both(|c| {
        let cases: &[(&str, &str)] = &[
            (
                "return cjson.encode({1,2,'a/b',{x=1.5},true,false})",
                "$33\r\n[1,2,\"a\\/b\",{\"x\":1.5},true,false]\r\n",
            ),
            ("return cjson.encode({})", "$2\r\n{}\r\n"),
            ("return cjson.encode({[1]=1,[3]=3})", "$10\r\n[1,null,3]\r\n"),
            ("return cjson.encode(1e20)", "$5\r\n1e+20\r\n"),
            ("return cjson.encode(cjson.null)", "$4\r\nnull\r\n"),
            ("return cjson.decode('[1,2,null,3]')", "*4\r\n:1\r\n:2\r\n$-1\r\n:3\r\n"),
            (
                "local t = cjson.decode('{\"a\":[1,2.5,\"x\"],\"b\":null}') return {t.a[2], type(t.b), tostring(t.b == cjson.null)}",
                "*3\r\n:2\r\n$8\r\nuserdata\r\n$4\r\ntrue\r\n",
            ),
            (
                "return cmsgpack.pack({1,2,{a=1}}, 'abc', 1.5, -1, 300, nil, true)",
                "$22\r\n\u{93}\u{1}\u{2}\u{81}\u{a1}a\u{1}\u{a3}abc\u{ca}?\u{c0}\0\0\u{ff}\u{cd}\u{1},\u{c0}\u{c3}\r\n",
            ),
            (
                "return {cmsgpack.unpack(cmsgpack.pack({1,2,3}, 'x', 5))}",
                "*3\r\n*3\r\n:1\r\n:2\r\n:3\r\n$1\r\nx\r\n:5\r\n",
            ),
            (
                "return {bit.band(7,3), bit.bor(1,2,4), bit.tohex(255), bit.tohex(-1, -4), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.bnot(0), bit.tobit(2^32+5), bit.bswap(1), bit.rol(1, 33), bit.bxor(5,1)}",
                "*12\r\n:3\r\n:7\r\n$8\r\n000000ff\r\n$4\r\nFFFF\r\n:-2147483648\r\n:15\r\n:-4\r\n:-1\r\n:5\r\n:16777216\r\n:2\r\n:4\r\n",
            ),
        ];
        for (body, want) in cases {
            // The msgpack case holds bytes above 0x7f: compare them as Latin-1.
            let got = c.cmd_bytes(&[b"EVAL", body.as_bytes(), b"0"]);
            let want: String = if body.contains("cmsgpack.pack({1,2,{a=1}}") {
                String::from_utf8_lossy(&want.chars().map(|ch| ch as u8).collect::<Vec<u8>>())
                    .into_owned()
            } else {
                want.to_string()
            };
            assert_eq!(got, want, "{body}");
        }
        let errors: &[(&str, &str)] = &[
            (
                "return cjson.encode({[1]=1,[30]=3})",
                "ERR user_script:1: Cannot serialise table: excessively sparse array",
            ),
            (
                "return cjson.encode(0/0)",
                "ERR user_script:1: Cannot serialise number: must not be NaN or Inf",
            ),
            (
                "return cjson.decode('nul')",
                "ERR user_script:1: Expected value but found invalid token at character 1",
            ),
            (
                "return cmsgpack.unpack(string.char(0xcd))",
                "ERR user_script:1: Missing bytes in input.",
            ),
            (
                "return bit.band('x')",
                "ERR user_script:1: bad argument #1 to 'band' (number expected, got string)",
            ),
            (
                "return struct.pack('q', 1)",
                "ERR user_script:1: bad argument #1 to 'pack' (invalid format option 'q')",
            ),
            (
                "return struct.size('s')",
                "ERR user_script:1: bad argument #1 to 'size' (option 's' has no fixed size)",
            ),
        ];
        let structs: &[(&str, &str)] = &[
            (
                "return {struct.unpack('>i2 <H b B l d f s c3 x', struct.pack('>i2 <H b B l d f s c3 x', 258, 513, -1, 255, -5, 1.5, 2.5, 'ab', 'xyz'))}",
                "*10\r\n:258\r\n:513\r\n:-1\r\n:255\r\n:-5\r\n:1\r\n:2\r\n$2\r\nab\r\n$3\r\nxyz\r\n:34\r\n",
            ),
            ("return struct.size('!4 b i')", ":8\r\n"),
            ("return {struct.unpack('b c0', struct.pack('b c0', 3, 'abc'))}", "*2\r\n$3\r\nabc\r\n:5\r\n"),
            ("return {struct.unpack('i9 i9', struct.pack('i9 i9', -2, 7))}", "*3\r\n:-2\r\n:7\r\n:19\r\n"),
        ];
        for (body, want) in structs {
            assert_eq!(eval(c, body), *want, "{body}");
        }
        for (body, msg) in errors {
            assert_eq!(eval(c, body), script_err(msg, body, 1), "{body}");
        }
    });
}

/// A script that spins for `ms` milliseconds of server time (Lua has no sleep).
fn spin(ms: u32) -> String {
    format!(
        "local t = redis.call('time') local start = t[1] * 1000 + t[2] / 1000 \
         while true do t = redis.call('time') if t[1] * 1000 + t[2] / 1000 - start >= {ms} then break end end \
         return 'done'"
    )
}

/// Sends GET until the reply is BUSY (the other client's script may start late on a loaded
/// machine); returns that reply.
fn until_busy(c: &mut Raw) -> String {
    let start = std::time::Instant::now();
    loop {
        let r = c.cmd(&["GET", "busy-probe"]);
        if r.starts_with("-BUSY") {
            return r;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "never BUSY: {r}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn clients_wait_for_a_script_under_the_busy_threshold() {
    let s = Server::start(&["--busy-reply-threshold", "5000"]);
    let mut a = s.raw();
    let mut b = s.raw();
    b.cmd(&["SET", "k", "v"]);
    common::send(&mut a, &["EVAL", &spin(1000), "0"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    assert_eq!(b.cmd(&["GET", "k"]), bulk("v"));
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(common::reply(&mut a), bulk("done"));
}

#[test]
fn busy_script_is_killed_by_script_kill() {
    ports_of_both(|port| {
        let mut b = Raw::connect(port);
        b.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
        let mut a = Raw::connect(port);
        let body = "local i = 0 while true do i = i + 1 end";
        common::send(&mut a, &["EVAL", body, "0"]);
        assert_eq!(
            until_busy(&mut b),
            "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
        );
        assert_eq!(b.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
        assert_eq!(
            common::reply(&mut a),
            script_err("ERR Script killed by user with SCRIPT KILL...", body, 1)
        );
        assert_eq!(b.cmd(&["GET", "k"]), "$-1\r\n");
        assert_eq!(
            b.cmd(&["SCRIPT", "KILL"]),
            "-NOTBUSY No scripts in execution right now.\r\n"
        );
    });
}

#[test]
fn connection_commands_answer_during_a_busy_script() {
    ports_of_both(|port| {
        let mut b = Raw::connect(port);
        b.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
        let mut a = Raw::connect(port);
        common::send(&mut a, &["EVAL", "while true do end", "0"]);
        until_busy(&mut b);
        // allow_busy in Redis 7.0's table: AUTH, HELLO, RESET, QUIT (and MULTI & co.).
        assert_eq!(
            b.cmd(&["AUTH", "foo"]),
            "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
        );
        assert_eq!(
            b.cmd(&["AUTH", "a", "b"]),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        assert!(b
            .cmd(&["HELLO", "2"])
            .starts_with("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n"));
        assert_eq!(b.cmd(&["RESET"]), "+RESET\r\n");
        assert!(b.cmd(&["PING"]).starts_with("-BUSY "));
        let mut c = Raw::connect(port);
        assert_eq!(c.cmd(&["QUIT"]), "+OK\r\n");
        assert!(c.read_reply().is_none(), "QUIT closes the connection");
        assert_eq!(b.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
        common::reply(&mut a);
    });
}

#[test]
fn sigterm_during_a_script_shuts_down_once_it_is_killed() {
    let mut s = Server::start(&["--busy-reply-threshold", "100"]);
    let mut a = s.raw();
    let mut b = s.raw();
    b.cmd(&["SET", "k", "v"]);
    common::send(&mut a, &["EVAL", "while true do end", "0"]);
    until_busy(&mut b);
    let pid = s.child.as_ref().map(|c| c.id()).expect("running");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    // As Redis: the shutdown waits for the script, and the server still answers meanwhile,
    // new clients included, so SCRIPT KILL can reach it.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut c = s.raw();
    assert!(c.cmd(&["PING"]).starts_with("-BUSY "));
    assert_eq!(c.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
    let child = s.child.as_mut().expect("running");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().ok().flatten().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never exited"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // It was a graceful shutdown: the data is there after a restart.
    s.restart();
    assert_eq!(s.raw().cmd(&["GET", "k"]), bulk("v"));
}

#[test]
fn monitor_shows_scripts_and_the_commands_they_run() {
    ports_of_both(|port| {
        let mut m = Raw::connect(port);
        let mut c = Raw::connect(port);
        let lib = "#!lua name=ml\nredis.register_function('mf', function(k, a) return redis.call('ping') end)";
        c.cmd(&["FUNCTION", "LOAD", "REPLACE", lib]);
        assert_eq!(m.cmd(&["MONITOR"]), "+OK\r\n");
        let body = "redis.call('set','a','b') redis.call('select','3') redis.pcall('nosuch') redis.pcall('set', 'x') return redis.call('get','a')";
        c.cmd(&["EVAL", body, "0"]);
        c.cmd(&["MULTI"]);
        c.cmd(&["EVAL", "return redis.call('ping')", "0"]);
        c.cmd(&["EXEC"]);
        c.cmd(&["FCALL", "mf", "0"]);
        c.cmd(&["EVALSHA", "1234", "0"]);
        c.cmd(&["EVAL", "return 1", "x"]);
        c.cmd(&["PING"]);
        // Lines without the timestamp, the connection's address as `client`.
        let me = "127.0.0.1:";
        let lines: Vec<String> = (0..13)
            .map(|_| {
                let line =
                    String::from_utf8(m.read_reply().expect("a monitor line")).expect("utf8");
                let rest = line
                    .split_once(' ')
                    .map(|x| x.1)
                    .unwrap_or_default()
                    .to_string();
                match rest.find(me) {
                    Some(at) => {
                        let end = rest[at..].find(']').map_or(rest.len(), |e| at + e);
                        format!("{}client{}", &rest[..at], &rest[end..])
                    }
                    None => rest,
                }
            })
            .collect();
        let body_repr = body;
        assert_eq!(
            lines,
            [
                format!("[0 client] \"EVAL\" \"{body_repr}\" \"0\"\r\n"),
                "[0 lua] \"set\" \"a\" \"b\"\r\n".into(),
                "[3 lua] \"select\" \"3\"\r\n".into(),
                "[3 lua] \"get\" \"a\"\r\n".into(),
                "[0 client] \"MULTI\"\r\n".into(),
                "[0 client] \"EVAL\" \"return redis.call('ping')\" \"0\"\r\n".into(),
                "[0 lua] \"ping\"\r\n".into(),
                "[0 client] \"EXEC\"\r\n".into(),
                "[0 client] \"FCALL\" \"mf\" \"0\"\r\n".into(),
                "[0 lua] \"ping\"\r\n".into(),
                "[0 client] \"EVALSHA\" \"1234\" \"0\"\r\n".into(),
                "[0 client] \"EVAL\" \"return 1\" \"x\"\r\n".into(),
                "[0 client] \"PING\"\r\n".into(),
            ]
        );
    });
}

#[test]
fn script_errors_update_errorstats_and_eval_commandstats() {
    on_both(|c| {
        c.cmd(&["SET", "s", "x"]);
        c.cmd(&["CONFIG", "RESETSTAT"]);
        for body in [
            "redis.pcall('incr','s') return 1",
            "return redis.call('incr','s')",
            "error('x')",
            "return redis.error_reply('MY thing')",
            "return {err='OTHER bad'}",
            "return redis.pcall('lpush','s','a')",
        ] {
            eval(c, body);
        }
        c.cmd(&["EVAL", "return 1", "x"]);
        // A script failing with a called command's error counts it once (the command's).
        assert_eq!(
            c.cmd(&["INFO", "errorstats"]),
            bulk("# Errorstats\r\nerrorstat_ERR:count=4\r\nerrorstat_MY:count=1\r\nerrorstat_OTHER:count=1\r\nerrorstat_WRONGTYPE:count=1\r\n")
        );
        let stats = c.cmd(&["INFO", "commandstats"]);
        let eval_line = stats
            .split("\r\n")
            .find(|l| l.starts_with("cmdstat_eval:"))
            .expect("cmdstat_eval");
        assert!(
            eval_line.starts_with("cmdstat_eval:calls=7,"),
            "{eval_line}"
        );
        assert!(
            eval_line.ends_with(",rejected_calls=0,failed_calls=6"),
            "{eval_line}"
        );
        assert!(c
            .cmd(&["INFO", "stats"])
            .contains("total_error_replies:7\r\n"));
        // The time recorded is the script's own run.
        c.cmd(&["CONFIG", "RESETSTAT"]);
        eval(c, &spin(30));
        let stats = c.cmd(&["INFO", "commandstats"]);
        let usec: u64 = stats
            .split("cmdstat_eval:calls=1,usec=")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .expect("usec");
        assert!(usec >= 30_000, "{stats}");
    });
}

#[test]
fn script_that_wrote_is_unkillable_until_shutdown_nosave() {
    let s = Server::start(&["--busy-reply-threshold", "100"]);
    let mut a = s.raw();
    let mut b = s.raw();
    common::send(
        &mut a,
        &["EVAL", "redis.call('set','x','1') while true do end", "0"],
    );
    until_busy(&mut b);
    assert_eq!(
        b.cmd(&["SCRIPT", "KILL"]),
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"
    );
    common::send(&mut b, &["SHUTDOWN", "NOSAVE"]);
    assert!(b.read_reply().is_none(), "the server exits");
}

const LIB1: &str = "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)";
const LIB_RO: &str = "#!lua name=lib3\nredis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}";
const LIB_W: &str = "#!lua name=lib4\nredis.register_function{function_name='w', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end}";

#[test]
fn function_load_and_fcall_as_redis() {
    on_both(|c| {
        check(
            c,
            &[
                (&["FUNCTION", "LOAD", "return 1"], "-ERR Missing library metadata\r\n"),
                (&["FUNCTION", "LOAD", "#!lua\nreturn 1"], "-ERR Library name was not given\r\n"),
                (
                    &["FUNCTION", "LOAD", "#!lua name=a-b\nreturn 1"],
                    "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n",
                ),
                (&["FUNCTION", "LOAD", "#!py name=x\nreturn 1"], "-ERR Engine 'py' not found\r\n"),
                (
                    &["FUNCTION", "LOAD", "#!lua name=x foo=bar\nreturn 1"],
                    "-ERR Invalid metadata value given: foo=bar\r\n",
                ),
                (&["FUNCTION", "LOAD", "#!lua name=lib1\nreturn 1"], "-ERR No functions registered\r\n"),
                (
                    &["FUNCTION", "LOAD", "#!lua name=lib1\nlocal x = ("],
                    "-ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'\r\n",
                ),
                (&["FUNCTION", "LOAD", LIB1], "$4\r\nlib1\r\n"),
                (&["FUNCTION", "LOAD", LIB1], "-ERR Library 'lib1' already exists\r\n"),
                (
                    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('f1', function() return 1 end)"],
                    "-ERR Function f1 already exists\r\n",
                ),
                (&["FUNCTION", "LOAD", "REPLACE", LIB1], "$4\r\nlib1\r\n"),
                (&["FUNCTION", "LOAD", LIB_RO], "$4\r\nlib3\r\n"),
                (&["FUNCTION", "LOAD", LIB_W], "$4\r\nlib4\r\n"),
                (
                    &["FUNCTION", "LOAD", "#!lua name=lib5\nredis.register_function{function_name='bad', callback=function() end, flags={'bogus'}}"],
                    "-ERR Error registering functions: ERR unknown flag given\r\n",
                ),
                (
                    &["FUNCTION", "LOAD", "#!lua name=lib5\nredis.register_function{function_name='bad', callback=function() end, foo=1}"],
                    "-ERR Error registering functions: ERR unknown argument given to redis.register_function\r\n",
                ),
                (
                    &["FUNCTION", "LOAD", "#!lua name=lib5\nredis.register_function('bad')"],
                    "-ERR Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).\r\n",
                ),
                (
                    &["FUNCTION", "LOAD", "#!lua name=lib5\nredis.call('ping')"],
                    "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n",
                ),
                (
                    &["FUNCTION", "LOAD", "#!lua name=lib5\nx = 1"],
                    "-ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table\r\n",
                ),
                (&["FCALL", "f1", "1", "k", "a"], "*2\r\n$1\r\nk\r\n$1\r\na\r\n"),
                (&["FCALL", "nosuch", "0"], "-ERR Function not found\r\n"),
                (&["FCALL", "f1", "x"], "-ERR Bad number of keys provided\r\n"),
                (&["FCALL", "f1", "5"], "-ERR Number of keys can't be greater than number of args\r\n"),
                (&["FCALL", "w", "1", "k", "v"], "+OK\r\n"),
                (&["FCALL_RO", "ro", "1", "k"], "$1\r\nv\r\n"),
                (
                    &["FCALL_RO", "w", "1", "k", "v"],
                    "-ERR Can not execute a script with write flag using *_ro command.\r\n",
                ),
                (
                    &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "lib3"],
                    &format!(
                        "*1\r\n*8\r\n$12\r\nlibrary_name\r\n$4\r\nlib3\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n$12\r\nlibrary_code\r\n{}",
                        bulk(LIB_RO)
                    ),
                ),
                (&["FUNCTION", "LIST", "LIBRARYNAME"], "-ERR library name argument was not given\r\n"),
                (&["FUNCTION", "LIST", "bogus"], "-ERR Unknown argument bogus\r\n"),
                (
                    &["FUNCTION", "STATS"],
                    "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:3\r\n$15\r\nfunctions_count\r\n:3\r\n",
                ),
                (&["FUNCTION", "DELETE", "lib4"], "+OK\r\n"),
                (&["FUNCTION", "DELETE", "lib4"], "-ERR Library not found\r\n"),
                (&["FUNCTION", "KILL"], "-NOTBUSY No scripts in execution right now.\r\n"),
                (&["FUNCTION", "FLUSH"], "+OK\r\n"),
                (&["FUNCTION", "LIST"], "*0\r\n"),
            ],
        );
        let body = "#!lua name=lib6\nredis.register_function('f6', function() return x end)";
        c.cmd(&["FUNCTION", "LOAD", body]);
        assert_eq!(
            c.cmd(&["FCALL", "f6", "0"]),
            "-ERR user_function:2: Script attempted to access nonexistent global variable 'x' script: f6, on @user_function:2.\r\n"
        );
    });
}

#[test]
fn function_dump_restores_the_libraries() {
    on_both(|c| {
        c.cmd(&["FUNCTION", "LOAD", LIB1]);
        let payload = c.read_dump();
        check(
            c,
            &[
                (&["FUNCTION", "FLUSH"], "+OK\r\n"),
                (&["FCALL", "f1", "0"], "-ERR Function not found\r\n"),
            ],
        );
        assert_eq!(c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload]), "+OK\r\n");
        assert_eq!(
            c.cmd(&["FCALL", "f1", "1", "k", "a"]),
            "*2\r\n$1\r\nk\r\n$1\r\na\r\n"
        );
        assert_eq!(
            c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload]),
            "-ERR Library lib1 already exists\r\n"
        );
        assert_eq!(
            c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload, b"REPLACE"]),
            "+OK\r\n"
        );
        assert_eq!(
            c.cmd_bytes(&[b"FUNCTION", b"RESTORE", b"garbage-payload"]),
            "-ERR DUMP payload version or checksum are wrong\r\n"
        );
    });
}

#[test]
fn functions_survive_a_restart() {
    let mut s = Server::start(&[]);
    assert_eq!(s.raw().cmd(&["FUNCTION", "LOAD", LIB1]), "$4\r\nlib1\r\n");
    s.terminate();
    s.restart();
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["FCALL", "f1", "1", "k", "a"]),
        "*2\r\n$1\r\nk\r\n$1\r\na\r\n"
    );
    assert_eq!(c.cmd(&["FUNCTION", "DELETE", "lib1"]), "+OK\r\n");
    s.terminate();
    s.restart();
    assert_eq!(s.raw().cmd(&["FUNCTION", "LIST"]), "*0\r\n");
}

trait DumpExt {
    fn read_dump(&mut self) -> Vec<u8>;
}

impl DumpExt for Raw {
    /// FUNCTION DUMP's payload bytes.
    fn read_dump(&mut self) -> Vec<u8> {
        self.send_raw(&Raw::encode(&[b"FUNCTION", b"DUMP"]));
        let reply = self.read_reply().expect("reply");
        let start = reply.iter().position(|&b| b == b'\n').expect("header") + 1;
        reply[start..reply.len() - 2].to_vec()
    }
}

/// redis-py (Script objects, NOSCRIPT reload, error classes, RESP3, functions): the checks live
/// in tests/redis_py_scripting.py.
#[test]
fn redis_py_scripts_and_functions_work() {
    let s = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/redis_py_scripting.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(s.port.to_string())
        .output()
        .expect("python3 with redis-py (tests/run-all.sh installs it)");
    assert!(
        out.status.success(),
        "tests/redis_py_scripting.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lua_time_limit_is_an_alias_of_busy_reply_threshold() {
    on_both(|c| {
        check(
            c,
            &[
                (&["CONFIG", "SET", "lua-time-limit", "1234"], "+OK\r\n"),
                (
                    &["CONFIG", "GET", "busy-reply-threshold"],
                    "*2\r\n$20\r\nbusy-reply-threshold\r\n$4\r\n1234\r\n",
                ),
                (
                    &["CONFIG", "GET", "lua-time-limit"],
                    "*2\r\n$14\r\nlua-time-limit\r\n$4\r\n1234\r\n",
                ),
            ],
        );
    });
}

#[test]
fn busy_function_is_reported_by_function_stats_and_killed_by_function_kill() {
    ports_of_both(|port| {
        let mut b = Raw::connect(port);
        b.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
        let lib = "#!lua name=spinlib\nredis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)";
        assert_eq!(b.cmd(&["FUNCTION", "LOAD", lib]), bulk("spinlib"));
        let mut a = Raw::connect(port);
        common::send(&mut a, &["FCALL", "spin", "0"]);
        let busy = "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";
        assert_eq!(until_busy(&mut b), busy);
        assert_eq!(b.cmd(&["SCRIPT", "KILL"]), busy);
        let stats = b.cmd(&["FUNCTION", "STATS"]);
        assert!(
            stats.starts_with("*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:"),
            "{stats}"
        );
        assert_eq!(b.cmd(&["FUNCTION", "KILL"]), "+OK\r\n");
        assert_eq!(
            common::reply(&mut a),
            "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n"
        );
    });
}

#[test]
fn globals_and_library_tables_are_read_only_as_redis() {
    let readonly = "ERR user_script:1: Attempt to modify a readonly table";
    // Raw writes (rawset, setmetatable, table.insert) fail in C: no position prefix.
    let raw_readonly = "ERR Attempt to modify a readonly table";
    on_both(|c| {
        for body in [
            "redis.x = 1",
            "string.foo = 1",
            "cjson.x = 1",
            "cmsgpack.x = 1",
            "bit.x = 1",
            "struct.x = 1",
            "math.x = 1",
            "table.x = 1",
            "coroutine.x = 1",
            "redis.call = nil",
            "_G.x = 1",
            "_G.redis = nil",
            "getmetatable('').__index.upper = nil",
            "getmetatable('').__index = 1 return 1",
            "string = nil return 1",
            "KEYS = 1 return 1",
        ] {
            assert_eq!(eval(c, body), script_err(readonly, body, 1), "{body}");
        }
        for body in [
            "rawset(redis, 'x', 1)",
            "rawset(_G, 'x', 1)",
            "setmetatable(redis, {}) return 1",
            "table.insert(redis, 1) return 1",
        ] {
            assert_eq!(eval(c, body), script_err(raw_readonly, body, 1), "{body}");
        }
        // The encoders see a library table's contents.
        let body = "return cjson.encode(string)";
        assert_eq!(
            eval(c, body),
            script_err(
                "ERR user_script:1: Cannot serialise function: type not supported",
                body,
                1
            )
        );
        // KEYS/ARGV and the script's own tables stay writable; iterating and raw reads of
        // library tables see their contents.
        check(
            c,
            &[
                (&["EVAL", "KEYS[5] = 1 return 1", "0"], ":1\r\n"),
                (
                    &["EVAL", "table.insert(ARGV, 'x') return #ARGV", "0"],
                    ":1\r\n",
                ),
                (
                    &["EVAL", "for k,v in pairs(string) do end return 1", "0"],
                    ":1\r\n",
                ),
                (
                    &[
                        "EVAL",
                        "local t = {} t.x = 1 rawset(t, 'y', 2) return t.x + t.y",
                        "0",
                    ],
                    ":3\r\n",
                ),
                (
                    &[
                        "EVAL",
                        "local n = 0 for k in pairs(redis) do n = n + 1 end return n > 5",
                        "0",
                    ],
                    ":1\r\n",
                ),
                (&["EVAL", "return next(math) ~= nil", "0"], ":1\r\n"),
                (
                    &[
                        "EVAL",
                        "table.remove(redis) table.sort(string) return 1",
                        "0",
                    ],
                    ":1\r\n",
                ),
                (
                    &["EVAL", "return tostring(rawget(redis, 'call') ~= nil)", "0"],
                    "$4\r\ntrue\r\n",
                ),
                (
                    &["EVAL", "return tostring(getmetatable(redis))", "0"],
                    "$3\r\nnil\r\n",
                ),
                (&["EVAL", "return rawequal(_G, _G._G)", "0"], ":1\r\n"),
                (
                    &[
                        "EVAL",
                        "return ('abc'):upper() .. table.concat({'a','b'}, ',')",
                        "0",
                    ],
                    "$6\r\nABCa,b\r\n",
                ),
            ],
        );
        // A function library's code and its functions see the same read-only tables.
        c.cmd(&["FUNCTION", "FLUSH"]);
        assert_eq!(
            c.cmd(&["FUNCTION", "LOAD", "#!lua name=lib\nredis.x = 1"]),
            "-ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table\r\n"
        );
        // While loading, the code sees only `redis` (register_function, log, LOG_*,
        // REDIS_VERSION*); its functions see every global once loaded.
        let missing = |name: &str| {
            format!("-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable '{name}'\r\n")
        };
        for (read, name) in [
            ("string", "string"),
            ("_G", "_G"),
            ("redis.call", "call"),
            ("redis.sha1hex", "sha1hex"),
        ] {
            let code = format!("#!lua name=lib\nlocal x = {read} redis.register_function('f', function() return 1 end)");
            assert_eq!(c.cmd(&["FUNCTION", "LOAD", &code]), missing(name), "{read}");
        }
        let code = "#!lua name=lib\nlocal x = redis.LOG_DEBUG + redis.REDIS_VERSION_NUM redis.register_function('f', function() return string.upper('a') end)";
        assert_eq!(c.cmd(&["FUNCTION", "LOAD", code]), bulk("lib"));
        assert_eq!(c.cmd(&["FCALL", "f", "0"]), bulk("A"));
        c.cmd(&["FUNCTION", "FLUSH"]);
        let lib = "#!lua name=lib\n\
            redis.register_function('setredis', function() redis.x = 1 end)\n\
            redis.register_function('setstring', function() string.upper = nil end)\n\
            redis.register_function('rawset', function() rawset(_G, 'a', 1) end)\n\
            redis.register_function('args', function(k, a) k[3] = 1 table.insert(a, 'x') return #a end)";
        assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib]), bulk("lib"));
        let fn_err = |msg: &str, name: &str, line: u32| {
            format!("-{msg} script: {name}, on @user_function:{line}.\r\n")
        };
        let at =
            |line: u32| format!("ERR user_function:{line}: Attempt to modify a readonly table");
        assert_eq!(
            c.cmd(&["FCALL", "setredis", "0"]),
            fn_err(&at(2), "setredis", 2)
        );
        assert_eq!(
            c.cmd(&["FCALL", "setstring", "0"]),
            fn_err(&at(3), "setstring", 3)
        );
        assert_eq!(
            c.cmd(&["FCALL", "rawset", "0"]),
            fn_err(raw_readonly, "rawset", 4)
        );
        assert_eq!(c.cmd(&["FCALL", "args", "0"]), ":1\r\n");
        c.cmd(&["FUNCTION", "FLUSH"]);
    });
}
