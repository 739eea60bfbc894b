//! Message structure, parsed once at append time with `mail-parser`: ENVELOPE, BODYSTRUCTURE,
//! section extraction and BINARY decoding. (Stub: being written.)

use serde::{Deserialize, Serialize};

/// A message's structure, computed once when the message is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedMessage {}

impl ParsedMessage {
    /// Parses raw message bytes.
    pub fn parse(_raw: &[u8]) -> ParsedMessage {
        ParsedMessage {}
    }
}

// TEMPORARY STUBS for type-checking the session; replaced on merge.
use crate::command::{Partial, Section};
use crate::response::Value;
use std::borrow::Cow;
#[derive(Debug)]
pub enum BinaryError { UnknownCte, Parse }
impl ParsedMessage {
    pub fn envelope(&self) -> Value { Value::Nil }
    pub fn body_structure(&self, _e: bool) -> Value { Value::Nil }
    pub fn section<'a>(&self, raw: &'a [u8], _s: &Section) -> Result<Cow<'a, [u8]>, ()> { Ok(Cow::Borrowed(raw)) }
    pub fn binary<'a>(&self, raw: &'a [u8], _s: &Section) -> Result<Cow<'a, [u8]>, BinaryError> { Ok(Cow::Borrowed(raw)) }
}
pub fn normalize_line_endings(raw: &[u8]) -> Cow<'_, [u8]> { Cow::Borrowed(raw) }
pub fn apply_partial(d: &[u8], _p: Option<Partial>) -> &[u8] { d }
pub fn replace_nul(d: &[u8]) -> Cow<'_, [u8]> { Cow::Borrowed(d) }
