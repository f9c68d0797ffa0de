//! Redis types on top of the keyspace: each module owns its type's operations and encoding.

pub mod bitmap;
pub mod collection;
pub mod dump;
pub mod hash;
pub mod list;
pub mod set;
pub mod string;
pub mod zset;
