//! Server responses and their encoding.

pub mod value;

pub use value::Value;
