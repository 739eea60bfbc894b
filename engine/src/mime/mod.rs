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
