//! Tidings in the browser: the sans-IO engine compiled to wasm32, mail kept in IndexedDB,
//! and a small wasm-bindgen API (`Engine`, `Connection`) for the page, the shim and Node.
//!
//! Everything that touches JS exists only on `wasm32`; the record encoding and the message
//! summary are plain Rust so they build and test on the host too.
#![forbid(unsafe_code)]

// The batch-read helpers are pure Rust so their rules are tested on the host; only the
// IndexedDB store uses them.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod batch;
pub mod records;
pub mod summary;

#[cfg(target_arch = "wasm32")]
pub mod any_store;
#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
mod connection;
#[cfg(target_arch = "wasm32")]
pub mod idb;

#[cfg(target_arch = "wasm32")]
pub use api::{Connection, Engine};
#[cfg(target_arch = "wasm32")]
pub use idb::IndexedDbStore;
