//! COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP), all
//! read from the command table.
//!
//! What the table does not carry comes from redis-server 7.0.15's own COMMAND DOCS and COMMAND
//! INFO, for the commands berth shares with Redis: complexity, tips and key specifications in
//! `redis-7.0-docs.tsv`, and arguments, history and doc flags in `redis-7.0-docs.resp3` (Redis's
//! RESP3 reply, kept as sent). A command Redis
//! lacks gets one `range` key spec derived from its legacy (first, last, step) positions.
//!
//! GETKEYS follows the key specs as Redis's `getKeysUsingKeySpecs` does; the two commands whose
//! specs cannot be followed (SORT's STORE, MIGRATE's KEYS) have their own rules, as in Redis.

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use super::args::{help_reply, is, text};
use super::{cmd, families, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::util::glob::glob_match;

const CMD: &str = "loading stale";
const ACL: &str = "@slow @connection";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[Command {
    subcommands: &[
        cmd("command|count", 2, CMD, (0, 0, 0), ACL, "server", "2.8.13", "Get total number of Redis commands", count),
        cmd("command|info", -2, CMD, (0, 0, 0), ACL, "server", "2.8.13", "Get array of specific Redis command details, or all when no argument is given.", info),
        cmd("command|docs", -2, CMD, (0, 0, 0), ACL, "server", "7.0.0", "Get array of specific Redis command documentation", docs),
        cmd("command|list", -2, CMD, (0, 0, 0), ACL, "server", "7.0.0", "Get an array of Redis command names", list),
        cmd("command|getkeys", -4, CMD, (0, 0, 0), ACL, "server", "2.8.13", "Extract keys given a full Redis command", getkeys),
        cmd("command|getkeysandflags", -4, CMD, (0, 0, 0), ACL, "server", "7.0.0", "Extract keys and access flags given a full Redis command", getkeysandflags),
        cmd("command|help", 2, CMD, (0, 0, 0), ACL, "server", "5.0.0", "Show helpful text about the different subcommands", help),
    ],
    ..cmd("command", -1, CMD, (0, 0, 0), ACL, "server", "2.8.13", "Get array of Redis command details", all)
}];

/// Every top-level command, in table order.
fn top_level() -> impl Iterator<Item = &'static Command> {
    families().into_iter().flat_map(|f| f.iter())
}

/// Finds a command by name; `parent|sub` names a subcommand.
fn find(name: &[u8]) -> Option<&'static Command> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let (parent, sub) = match name.split_once('|') {
        Some((p, s)) => (p, Some(s)),
        None => (name.as_str(), None),
    };
    let entry = super::lookup(parent.as_bytes())?;
    match sub {
        None => Some(entry.cmd),
        Some(s) => entry.subs.get(s).map(|e| e.cmd),
    }
}

/// Where a key spec starts looking for keys.
#[derive(Clone, Copy)]
enum Begin {
    Index(i64),
    /// The argument after `keyword`, searched from `startfrom` (backwards when negative).
    Keyword(&'static str, i64),
    Unknown,
}

/// How a key spec finds keys from its start.
#[derive(Clone, Copy)]
enum Find {
    Range {
        lastkey: i64,
        keystep: i64,
        limit: i64,
    },
    Keynum {
        keynumidx: i64,
        firstkey: i64,
        keystep: i64,
    },
    Unknown,
}

#[derive(Clone, Copy)]
struct KeySpec {
    notes: &'static str,
    flags: &'static str,
    begin: Begin,
    find: Find,
}

/// Redis 7.0's metadata for one command.
#[derive(Default)]
struct Meta {
    complexity: &'static str,
    tips: &'static str,
    specs: Vec<KeySpec>,
}

fn parse_spec(s: &'static str) -> Option<KeySpec> {
    let mut parts = s.split('|');
    let (flags, begin, find) = (parts.next()?, parts.next()?, parts.next()?);
    let notes = parts.next().unwrap_or("");
    let words: Vec<&str> = begin.split(' ').collect();
    let num = |w: Option<&&str>| w.and_then(|w| w.parse::<i64>().ok());
    let begin = match words[0] {
        "index" => Begin::Index(num(words.get(1))?),
        "keyword" => Begin::Keyword(words.get(1)?, num(words.get(2))?),
        _ => Begin::Unknown,
    };
    let w: Vec<&str> = find.split(' ').collect();
    let find = match w[0] {
        "range" => Find::Range {
            lastkey: num(w.get(1))?,
            keystep: num(w.get(2))?,
            limit: num(w.get(3))?,
        },
        "keynum" => Find::Keynum {
            keynumidx: num(w.get(1))?,
            firstkey: num(w.get(2))?,
            keystep: num(w.get(3))?,
        },
        _ => Find::Unknown,
    };
    Some(KeySpec {
        notes,
        flags,
        begin,
        find,
    })
}

/// Redis 7.0's metadata of a command, if Redis has it.
fn redis_meta(name: &str) -> Option<&'static Meta> {
    static META: OnceLock<HashMap<&'static str, Meta>> = OnceLock::new();
    let meta = META.get_or_init(|| {
        include_str!("redis-7.0-docs.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split('\t');
                let name = f.next()?;
                let meta = Meta {
                    complexity: f.next().unwrap_or(""),
                    tips: f.next().unwrap_or(""),
                    specs: f
                        .next()
                        .unwrap_or("")
                        .split(';')
                        .filter(|s| !s.is_empty())
                        .filter_map(parse_spec)
                        .collect(),
                };
                Some((name, meta))
            })
            .collect()
    });
    meta.get(name)
}

fn has_flag(c: &Command, flag: &str) -> bool {
    c.flags.split_whitespace().any(|f| f == flag)
}

/// The command's key specs: Redis's own, or one derived from the legacy positions.
fn key_specs(c: &Command) -> Vec<KeySpec> {
    if let Some(meta) = redis_meta(c.name) {
        return meta.specs.clone();
    }
    let (first, last, step) = c.keys;
    if first == 0 {
        return Vec::new();
    }
    vec![KeySpec {
        notes: "",
        flags: if has_flag(c, "write") {
            "RW update"
        } else {
            "RO access"
        },
        begin: Begin::Index(first as i64),
        find: Find::Range {
            lastkey: if last < 0 {
                last as i64
            } else {
                (last - first) as i64
            },
            keystep: step as i64,
            limit: 0,
        },
    }]
}

fn statuses(words: &str) -> Vec<Reply> {
    words
        .split_whitespace()
        .map(|w| Reply::Status(Bytes::copy_from_slice(w.as_bytes())))
        .collect()
}

fn map(pairs: Vec<(&str, Reply)>) -> Reply {
    Reply::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Reply::bulk_str(k), v))
            .collect(),
    )
}

fn spec_reply(s: &KeySpec) -> Reply {
    let search = |kind: &str, spec: Vec<(&str, Reply)>| {
        map(vec![("type", Reply::bulk_str(kind)), ("spec", map(spec))])
    };
    let begin = match s.begin {
        Begin::Index(i) => search("index", vec![("index", Reply::Integer(i))]),
        Begin::Keyword(k, from) => search(
            "keyword",
            vec![
                ("keyword", Reply::bulk_str(k)),
                ("startfrom", Reply::Integer(from)),
            ],
        ),
        Begin::Unknown => search("unknown", Vec::new()),
    };
    let find = match s.find {
        Find::Range {
            lastkey,
            keystep,
            limit,
        } => search(
            "range",
            vec![
                ("lastkey", Reply::Integer(lastkey)),
                ("keystep", Reply::Integer(keystep)),
                ("limit", Reply::Integer(limit)),
            ],
        ),
        Find::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => search(
            "keynum",
            vec![
                ("keynumidx", Reply::Integer(keynumidx)),
                ("firstkey", Reply::Integer(firstkey)),
                ("keystep", Reply::Integer(keystep)),
            ],
        ),
        Find::Unknown => search("unknown", Vec::new()),
    };
    let mut fields = Vec::new();
    if !s.notes.is_empty() {
        fields.push(("notes", Reply::bulk_str(s.notes)));
    }
    fields.push(("flags", Reply::Set(statuses(s.flags))));
    fields.push(("begin_search", begin));
    fields.push(("find_keys", find));
    map(fields)
}

/// One command's COMMAND INFO entry (Redis 7 shape, ten elements).
fn info_reply(c: &Command) -> Reply {
    let tips = redis_meta(c.name).map_or("", |m| m.tips);
    Reply::Array(vec![
        Reply::bulk_str(c.name),
        Reply::Integer(c.arity as i64),
        Reply::Set(statuses(c.flags)),
        Reply::Integer(c.keys.0 as i64),
        Reply::Integer(c.keys.1 as i64),
        Reply::Integer(c.keys.2 as i64),
        Reply::Set(statuses(c.acl)),
        Reply::Set(tips.split_whitespace().map(Reply::bulk_str).collect()),
        Reply::Set(key_specs(c).iter().map(spec_reply).collect()),
        Reply::Set(c.subcommands.iter().map(info_reply).collect()),
    ])
}

/// Reads one value of Redis's own RESP3 output (the stored COMMAND DOCS extract).
fn read_resp3(b: &'static [u8], pos: &mut usize) -> Option<Reply> {
    let kind = *b.get(*pos)?;
    let end = *pos + b.get(*pos..)?.windows(2).position(|w| w == b"\r\n")?;
    let head = &b[*pos + 1..end];
    *pos = end + 2;
    let len = || std::str::from_utf8(head).ok()?.parse::<usize>().ok();
    Some(match kind {
        b'+' => Reply::Status(Bytes::from_static(head)),
        b':' => Reply::Integer(crate::util::num::parse_i64(head)?),
        b'$' => {
            let n = len()?;
            let v = b.get(*pos..*pos + n)?;
            *pos += n + 2;
            Reply::Bulk(Bytes::from_static(v))
        }
        b'*' | b'~' => {
            let items = (0..len()?)
                .map(|_| read_resp3(b, pos))
                .collect::<Option<Vec<_>>>()?;
            if kind == b'*' {
                Reply::Array(items)
            } else {
                Reply::Set(items)
            }
        }
        b'%' => Reply::Map(
            (0..len()?)
                .map(|_| Some((read_resp3(b, pos)?, read_resp3(b, pos)?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

/// The documentation fields the table lacks (arguments, history, doc flags, deprecation), as
/// Redis 7.0 replies them, by command name. redis-cli builds its hints from the arguments.
fn redis_doc_fields(name: &str) -> &'static [(Reply, Reply)] {
    static DOCS: OnceLock<HashMap<Bytes, Vec<(Reply, Reply)>>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        let mut pos = 0;
        match read_resp3(include_bytes!("redis-7.0-docs.resp3"), &mut pos) {
            Some(Reply::Map(pairs)) => pairs
                .into_iter()
                .filter_map(|(k, v)| match (k, v) {
                    (Reply::Bulk(name), Reply::Map(fields)) => Some((name, fields)),
                    _ => None,
                })
                .collect(),
            _ => HashMap::new(),
        }
    });
    docs.get(name.as_bytes()).map_or(&[], |f| f.as_slice())
}

fn docs_reply(c: &Command) -> Reply {
    let mut fields = vec![
        (Reply::bulk_str("summary"), Reply::bulk_str(c.summary)),
        (Reply::bulk_str("since"), Reply::bulk_str(c.since)),
        (Reply::bulk_str("group"), Reply::bulk_str(c.group)),
    ];
    let complexity = redis_meta(c.name).map_or("", |m| m.complexity);
    if !complexity.is_empty() {
        fields.push((Reply::bulk_str("complexity"), Reply::bulk_str(complexity)));
    }
    fields.extend(redis_doc_fields(c.name).iter().cloned());
    if !c.subcommands.is_empty() {
        fields.push((
            Reply::bulk_str("subcommands"),
            Reply::Map(
                c.subcommands
                    .iter()
                    .map(|s| (Reply::bulk_str(s.name), docs_reply(s)))
                    .collect(),
            ),
        ));
    }
    Reply::Map(fields)
}

fn all(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(top_level().map(info_reply).collect()))
}

fn count(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Integer(top_level().count() as i64))
}

fn info(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() == 2 {
        return Ok(Reply::Array(top_level().map(info_reply).collect()));
    }
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|n| find(n).map_or(Reply::Nil, info_reply))
            .collect(),
    ))
}

fn docs(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let pairs = if args.len() == 2 {
        top_level()
            .map(|c| (Reply::bulk_str(c.name), docs_reply(c)))
            .collect()
    } else {
        args[2..]
            .iter()
            .filter_map(|n| find(n))
            .map(|c| (Reply::bulk_str(c.name), docs_reply(c)))
            .collect()
    };
    Ok(Reply::Map(pairs))
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`: names of
/// commands and subcommands.
fn list(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let filter: Box<dyn Fn(&Command) -> bool> = match args {
        [_, _] => Box::new(|_| true),
        [_, _, by, kind, value] if is(by, "filterby") => {
            let value = value.clone();
            if is(kind, "module") {
                // berth has no modules.
                Box::new(|_| false)
            } else if is(kind, "aclcat") {
                let cat = format!("@{}", text(&value).to_ascii_lowercase());
                Box::new(move |c| c.acl.split_whitespace().any(|a| a == cat))
            } else if is(kind, "pattern") {
                Box::new(move |c| glob_match(&value, c.name.as_bytes(), true))
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let names = top_level()
        .flat_map(|c| std::iter::once(c).chain(c.subcommands.iter()))
        .filter(|c| filter(c))
        .map(|c| Reply::bulk_str(c.name))
        .collect();
    Ok(Reply::Array(names))
}

/// A key's position in the full command and its access flags.
type Key = (usize, &'static str);

/// The keys of `argv` (a full command), as `COMMAND GETKEYS` reports them.
fn keys_of(argv: &[Bytes]) -> CmdResult<Vec<Key>> {
    let mut c = find(&argv[0]).ok_or_else(|| CmdError::err("Invalid command specified"))?;
    if !c.subcommands.is_empty() && argv.len() >= 2 {
        let name = format!("{}|{}", c.name, text(&argv[1]));
        c = find(name.as_bytes()).ok_or_else(|| CmdError::err("Invalid command specified"))?;
    }
    let specs = key_specs(c);
    if specs.is_empty() && !has_flag(c, "movablekeys") {
        return Err(CmdError::err("The command has no key arguments"));
    }
    let argc = argv.len() as i64;
    if (c.arity > 0 && c.arity as i64 != argc) || argc < -(c.arity as i64) {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let mut keys = spec_keys(&specs, argv)
        .or_else(|| special_keys(c.name, argv))
        .unwrap_or_default();
    if let Some(flags) = variable_flags(c.name, argv) {
        keys.iter_mut().for_each(|k| k.1 = flags);
    }
    if keys.is_empty() && !has_flag(c, "no_mandatory_keys") {
        return Err(CmdError::err("Invalid arguments specified for command"));
    }
    Ok(keys)
}

/// The keys of `argv` (a full command) with their key-spec flags (`RW access update`), as
/// ACL key patterns check them; empty when it has none.
pub fn keys_with_flags(argv: &[Bytes]) -> Vec<(usize, &'static str)> {
    keys_of(argv).unwrap_or_default()
}

/// Positions of the keys in `argv` (a full command) for commands whose keys move
/// (`movablekeys`); empty when none can be found.
pub fn movable_key_positions(argv: &[Bytes]) -> Vec<usize> {
    keys_of(argv)
        .map(|keys| keys.into_iter().map(|(i, _)| i).collect())
        .unwrap_or_default()
}

/// Follows key specs over `argv` (Redis's `getKeysUsingKeySpecs`). None when a spec cannot be
/// followed (unknown, incomplete, or the arguments do not fit it).
fn spec_keys(specs: &[KeySpec], argv: &[Bytes]) -> Option<Vec<Key>> {
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for spec in specs {
        if spec.flags.split(' ').any(|f| f == "not_key") {
            continue;
        }
        let mut first = match spec.begin {
            Begin::Index(i) => i,
            Begin::Keyword(word, from) => {
                let found = if from > 0 {
                    (from..argc - 1).find(|&i| is(&argv[i as usize], word))
                } else {
                    (1..=argc + from)
                        .rev()
                        .find(|&i| is(&argv[i as usize], word))
                };
                match found {
                    Some(i) => i + 1,
                    None => continue,
                }
            }
            Begin::Unknown => return None,
        };
        let (last, step) = match spec.find {
            Find::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, keystep)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                if keynumidx >= argc - first {
                    return None;
                }
                let n = crate::util::num::parse_i64(&argv[(first + keynumidx) as usize])
                    .filter(|&n| n >= 0)?;
                first += firstkey;
                (first.checked_add(n)? - 1, keystep)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc || step <= 0 {
            return None;
        }
        keys.extend(
            (first..=last)
                .step_by(step as usize)
                .map(|i| (i as usize, spec.flags)),
        );
        if spec.flags.split(' ').any(|f| f == "incomplete") {
            return None;
        }
    }
    Some(keys)
}

/// Redis's own key rules for the commands whose key specs cannot describe them.
fn special_keys(name: &str, argv: &[Bytes]) -> Option<Vec<Key>> {
    let keyword = |word: &str| argv.iter().position(|a| is(a, word));
    match name {
        "sort" | "sort_ro" => {
            // Redis's sortGetKeys: the options' arguments are skipped, the last STORE wins.
            let mut keys = vec![(1, "RO access")];
            if name == "sort" {
                let mut store = None;
                let mut i = 2;
                while i < argv.len() {
                    if is(&argv[i], "limit") {
                        i += 2;
                    } else if is(&argv[i], "get") || is(&argv[i], "by") {
                        i += 1;
                    } else if is(&argv[i], "store") && i + 1 < argv.len() {
                        store = Some(i + 1);
                    }
                    i += 1;
                }
                if let Some(at) = store {
                    keys.push((at, "OW update"));
                }
            }
            Some(keys)
        }
        "migrate" => {
            let flags = "RW access delete";
            match keyword("keys") {
                Some(at) if argv.get(3).is_some_and(|k| k.is_empty()) => {
                    Some((at + 1..argv.len()).map(|i| (i, flags)).collect())
                }
                _ => Some(vec![(3, flags)]),
            }
        }
        _ => None,
    }
}

/// Key flags of the commands whose specs say `variable_flags`: they depend on the arguments.
fn variable_flags(name: &str, argv: &[Bytes]) -> Option<&'static str> {
    let any = |from: usize, words: &[&str]| {
        argv.iter()
            .skip(from)
            .any(|a| words.iter().any(|w| is(a, w)))
    };
    match name {
        "set" if any(3, &["get"]) => Some("RW access update"),
        "set" => Some("OW update"),
        "bitfield" if any(2, &["set", "incrby"]) => Some("RW access update"),
        "bitfield" => Some("RO access"),
        _ => None,
    }
}

fn getkeys(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let argv = &args[2..];
    Ok(Reply::Array(
        keys_of(argv)?
            .into_iter()
            .map(|(i, _)| Reply::Bulk(argv[i].clone()))
            .collect(),
    ))
}

fn getkeysandflags(_: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let argv = &args[2..];
    Ok(Reply::Array(
        keys_of(argv)?
            .into_iter()
            .map(|(i, flags)| {
                Reply::Array(vec![
                    Reply::Bulk(argv[i].clone()),
                    Reply::Set(statuses(flags)),
                ])
            })
            .collect(),
    ))
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys Redis's specs (or special rules) give for a command line, as `keys_of` finds them
    /// (none when the arguments do not fit); `''` is an empty argument.
    fn keys(line: &str) -> Vec<String> {
        let argv: Vec<Bytes> = line
            .split(' ')
            .map(|w| Bytes::from(if w == "''" { "" } else { w }.to_string()))
            .collect();
        let name = text(&argv[0]);
        let specs = &redis_meta(&name).unwrap().specs;
        let found = spec_keys(specs, &argv).or_else(|| special_keys(&name, &argv));
        found
            .unwrap_or_default()
            .iter()
            .map(|(i, _)| text(&argv[*i]))
            .collect()
    }

    // Expected keys are redis-server 7.0.15's COMMAND GETKEYS answers.
    #[test]
    fn movable_keys_follow_redis_key_specs() {
        let cases: &[(&str, &[&str])] = &[
            ("zunionstore d 2 a b WEIGHTS 1 2", &["d", "a", "b"]),
            ("eval s 2 k1 k2 a1", &["k1", "k2"]),
            ("eval s 0", &[]),
            ("xread COUNT 2 STREAMS s1 s2 0 0", &["s1", "s2"]),
            ("xreadgroup GROUP g c STREAMS s >", &["s"]),
            ("sort k BY w STORE dst", &["k", "dst"]),
            ("sort k GET store STORE d", &["k", "d"]),
            ("sort k STORE a STORE b", &["k", "b"]),
            ("sort store", &["store"]),
            ("sort k LIMIT store 1 STORE", &["k"]),
            ("sort_ro k STORE d", &["k"]),
            ("migrate h 1 '' 0 5 KEYS a b", &["a", "b"]),
            ("migrate h 1 k 0 5", &["k"]),
            ("lmpop 2 a b LEFT", &["a", "b"]),
            ("georadius k 0 0 1 km STORE d", &["k", "d"]),
            ("mset a 1 b", &["a", "b"]),
        ];
        for (line, expected) in cases {
            assert_eq!(keys(line), *expected, "{line}");
        }
    }

    #[test]
    fn stored_redis_docs_parse_completely() {
        let fields = redis_doc_fields("set");
        assert!(fields
            .iter()
            .any(|(k, v)| *k == Reply::bulk_str("arguments")
                && matches!(v, Reply::Array(a) if a.len() == 5)));
        assert!(!redis_doc_fields("config|get").is_empty());
        assert_eq!(redis_meta("mset").map(|m| m.specs.len()), Some(1));
    }

    #[test]
    fn numkeys_beyond_the_arguments_is_invalid() {
        assert!(keys("zunionstore d 5 a").is_empty());
        assert!(keys("eval s -1").is_empty());
    }
}
