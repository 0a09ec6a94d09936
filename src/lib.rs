//! pg-rust-pool: a PostgreSQL connection pool for Node.js whose engine is Rust.
//!
//! The core modules hold no napi types, so `cargo test` exercises them without Node. The napi
//! edge is `options` (the JS-facing shapes and their conversions), `manager` (the exported pool
//! class, clients included, by handle: `handles`), `delivery` (call outcomes on their way to
//! JS), `copies` (COPY's calls), `notifications` (LISTEN/NOTIFY calls, and notifications on their
//! way to JS) and `streams` (streams of a query's rows, by handle). docs/architecture.md draws the
//! layers and follows one query through them.
#![deny(clippy::all)]
#![warn(missing_docs)]

pub mod busy_poll;
pub mod circuit;
pub mod client;
pub mod config;
pub mod connect;
pub mod connection;
pub mod convert;
pub mod copy;
pub mod cursor;
pub mod deadline;
pub mod engine;
pub mod error;
pub mod events;
pub mod gather;
pub mod handles;
pub mod health;
pub mod listen;
pub mod log;
pub mod metrics;
pub mod params;
pub mod pinned;
pub mod pool;
pub mod query;
pub mod quick;
pub mod redact;
pub mod result;
pub mod share;
pub mod simple;
pub mod split;
pub mod statements;
pub mod stats;
pub mod txstate;
pub mod typeinfo;
pub mod wire;

mod copies;
mod delivery;
mod manager;
mod notifications;
mod options;
mod streams;
