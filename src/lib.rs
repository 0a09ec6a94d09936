//! pg-rust-pool: a PostgreSQL connection pool for Node.js whose engine is Rust.
//!
//! The core modules (`config`, `error`, `pool`, `client`, `query`, `split`, `convert`, `result`)
//! hold no napi types, so `cargo test` exercises them without Node. The napi edge is `options` (the
//! JS-facing shapes and their conversions), `manager` (the exported pool class) and `client_edge`
//! (the checked-out client class).
#![deny(clippy::all)]
#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod convert;
pub mod error;
pub mod params;
pub mod pool;
pub mod query;
pub mod result;
pub mod split;
pub mod statements;

mod client_edge;
mod manager;
mod options;
