//! berth: a Redis-compatible, disk-persistent key-value server built for Kubernetes StatefulSets.
//!
//! Layers, outside in: `server` (connections, sessions, durability, background tasks) →
//! `protocol` (RESP in and out) → `commands` (the command table; handlers parse and reply) →
//! `types` (each Redis type's storage operations) → `storage` (the only module touching sled).
//! `acl` holds users and permissions (checked by `commands::run`). `cluster` holds clustered mode: identity, slot ownership, peer health, routing. `check` is
//! the binary's one-shot client mode (`berth-server check`), for `helm test`.

pub mod acl;
pub mod check;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod error;
pub mod logging;
pub mod protocol;
pub mod scripting;
pub mod server;
pub mod storage;
pub mod types;
pub mod util;
