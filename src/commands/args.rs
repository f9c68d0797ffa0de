//! Shared argument parsing: every handler reads numbers and options through these, so error
//! texts are uniform and match Redis.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::util::num;

pub fn int(arg: &[u8]) -> CmdResult<i64> {
    num::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// A non-negative integer; negative values give `msg` (Redis has per-command texts).
pub fn uint(arg: &[u8], msg: &str) -> CmdResult<u64> {
    let v = int(arg)?;
    if v < 0 {
        return Err(CmdError::err(msg));
    }
    Ok(v as u64)
}

pub fn float(arg: &[u8]) -> CmdResult<f64> {
    num::parse_f64(arg).ok_or(CmdError::NotFloat)
}

/// Case-insensitive keyword comparison.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// Walks optional arguments: `while let Some(opt) = it.next_upper()`.
pub struct Opts<'a> {
    args: &'a [Bytes],
    pos: usize,
}

impl<'a> Opts<'a> {
    pub fn new(args: &'a [Bytes]) -> Self {
        Opts { args, pos: 0 }
    }

    /// The next option, uppercased (keywords are ASCII).
    pub fn next_upper(&mut self) -> Option<String> {
        let a = self.args.get(self.pos)?;
        self.pos += 1;
        Some(String::from_utf8_lossy(a).to_ascii_uppercase())
    }

    /// The value after an option; a missing value is a syntax error.
    pub fn value(&mut self) -> CmdResult<&'a Bytes> {
        let a = self.args.get(self.pos).ok_or(CmdError::Syntax)?;
        self.pos += 1;
        Ok(a)
    }

    pub fn remaining(&self) -> usize {
        self.args.len() - self.pos
    }
}

/// Parses a cursor as Redis does (`strtoul`: optional sign, digits, no overflow).
pub fn cursor(arg: &[u8]) -> CmdResult<u64> {
    let invalid = || CmdError::err("invalid cursor");
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if arg.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let v: u64 = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid)?;
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// Converts a relative or absolute expiry argument into unix milliseconds, with Redis's checks.
/// `unit_ms` is 1000 for seconds, 1 for milliseconds. `command` names the command in the error.
pub fn expire_at(arg: &[u8], unit_ms: i64, absolute: bool, command: &str) -> CmdResult<u64> {
    let v = int(arg)?;
    let invalid = || CmdError::err(format!("invalid expire time in '{command}' command"));
    if v <= 0 {
        return Err(invalid());
    }
    let ms = v.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if absolute {
        ms
    } else {
        ms.checked_add(crate::storage::now_ms() as i64)
            .ok_or_else(invalid)?
    };
    Ok(at as u64)
}

/// The reply of `<COMMAND> HELP`, in Redis's shape: a header, the given lines, then HELP itself.
pub fn help_reply(command: &str, lines: &[&str]) -> Reply {
    let mut out = vec![Reply::Status(Bytes::from(format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    )))];
    for line in lines.iter().chain(&["HELP", "    Prints this help."]) {
        out.push(Reply::Status(Bytes::copy_from_slice(line.as_bytes())));
    }
    Reply::Array(out)
}

/// The options of HSCAN, SSCAN and ZSCAN after the cursor: `MATCH pattern` (None for `*`, which
/// matches everything) and `COUNT n` (at least 1).
pub fn scan_opts(args: &[Bytes]) -> CmdResult<(Option<&[u8]>, usize)> {
    let mut pattern = None;
    let mut count = 10usize;
    let mut opts = Opts::new(args);
    while let Some(opt) = opts.next_upper() {
        match opt.as_str() {
            "COUNT" if opts.remaining() >= 1 => count = scan_count(opts.value()?)?,
            "MATCH" if opts.remaining() >= 1 => {
                let p = opts.value()?;
                pattern = (p.as_ref() != b"*").then_some(p.as_ref());
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    Ok((pattern, count))
}

/// The SCAN family's COUNT argument: a positive integer, else a syntax error (as Redis).
pub fn scan_count(arg: &[u8]) -> CmdResult<usize> {
    match int(arg)? {
        n if n >= 1 => Ok(n as usize),
        _ => Err(CmdError::Syntax),
    }
}

/// The reply of the SCAN family: the next cursor and the elements found.
pub fn scan_reply(next: u64, elements: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(elements)])
}

/// A count argument in `-LONG_MAX..=LONG_MAX`, with Redis's range error (HRANDFIELD,
/// SRANDMEMBER, ZRANDMEMBER).
pub fn signed_count(arg: &[u8]) -> CmdResult<i64> {
    let v = int(arg)?;
    if v == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(v)
}
