//! What swarmbench's Rust servers share: their command line, and for the two servers
//! without an HTTP library (tokio, rust-std), the request scanner.

pub mod args;
pub mod scan;
