//! Tidings' native host as a library: the durable [`store::FileStore`] and (later) the
//! listeners, TLS and tools the `tidings` binary is built from.

#![forbid(unsafe_code)]

pub mod store;
