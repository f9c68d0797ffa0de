//! INFO.

use super::Command;

/// The Redis version berth is compatible with (reported where clients look for a version).
pub const REDIS_VERSION: &str = "7.0.15";

pub static COMMANDS: &[Command] = &[];
