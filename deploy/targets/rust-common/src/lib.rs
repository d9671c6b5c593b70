//! What swarmbench's Rust servers share: their command line, for the two servers
//! without an HTTP library (tokio, rust-std), the request scanner, and for the servers
//! on tokio (feature `tokio`), waiting for the stop signal.

pub mod args;
pub mod scan;
#[cfg(feature = "tokio")]
pub mod shutdown;
