//! The wire protocol: requests in (`request`), replies out (`reply`).

pub mod reply;
pub mod request;
