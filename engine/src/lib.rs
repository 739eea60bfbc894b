//! Tidings' IMAP engine: a sans-IO server core. Bytes in, bytes out; storage behind the
//! [`store::Store`] trait; time passed in by the host. No sockets, threads, clocks or files.
//!
//! Layers, from the wire inwards: [`codec`] frames and parses client commands and
//! [`response`] encodes server responses; [`session`] runs the IMAP state machine against a
//! [`store::Store`]; [`mime`] and [`search`] answer FETCH and SEARCH from parsed messages.
#![forbid(unsafe_code)]

pub mod codec;
pub mod command;
pub mod harness;
pub mod mime;
pub mod response;
pub mod search;
pub mod session;
pub mod store;
pub mod types;
