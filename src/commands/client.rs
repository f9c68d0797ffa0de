//! CLIENT subcommands.

use super::Command;
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[Command] = &[];

/// Client names may not contain spaces or special characters (Redis's rule).
pub fn validate_name(name: &[u8]) -> CmdResult<()> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}
