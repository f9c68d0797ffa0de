//! Redis types on top of the keyspace: each module owns its type's operations and encoding.

pub mod bitmap;
pub mod collection;
pub mod dump;
pub mod list;
pub mod string;
