//! Command errors with Redis's exact texts. `Display` gives the full error line sent after `-`.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum CmdError {
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR DB index is out of range")]
    DbIndex,
    #[error("ERR wrong number of arguments for '{0}' command")]
    Arity(String),
    #[error("ERR storage error: {0}")]
    Storage(String),
    /// Any other error; the string is the whole line, starting with its code (`ERR ...`).
    #[error("{0}")]
    Other(String),
}

impl CmdError {
    pub fn msg(s: impl Into<String>) -> Self {
        CmdError::Other(s.into())
    }

    /// An `ERR`-coded error from its message.
    pub fn err(s: impl AsRef<str>) -> Self {
        CmdError::Other(format!("ERR {}", s.as_ref()))
    }
}

impl From<sled::Error> for CmdError {
    fn from(e: sled::Error) -> Self {
        CmdError::Storage(e.to_string())
    }
}

pub type CmdResult<T> = Result<T, CmdError>;
