//! TODO-free placeholder: filled in by its family's work.

use super::Command;

pub static COMMANDS: &[Command] = &[];
