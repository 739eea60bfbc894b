//! What the decoder reports when a command cannot be used, and which single wire answer each
//! report calls for (`BAD`, `NO [TOOBIG]`, `* BAD` or `BYE`).

use std::fmt;

/// Why a command was refused. Each kind maps to exactly one answer: see [`DecodeError::outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeErrorKind {
    /// The command does not follow the grammar, or names an unknown command: `BAD`.
    Syntax,
    /// The command's lines together exceed [`Limits::max_line`](super::Limits::max_line), or a
    /// line read after `expect_line` does: `BAD`. The rest of the command (its literals
    /// included) was skipped without being stored.
    LineTooLong,
    /// Search keys nest deeper than [`Limits::max_depth`](super::Limits::max_depth): `BAD`.
    TooDeep,
    /// A literal over its limit. For a synchronizing `{n}` literal the client waits for a `+`
    /// it will not get, so the command is dropped and answered `NO [TOOBIG]`. A
    /// non-synchronizing `{n+}` literal was already on its way: its bytes were skipped
    /// (not stored) to the real end of the command, answered `BAD [TOOBIG]` (RFC 7888 §4).
    LiteralTooBig {
        /// `true` for `{n}` (answer `NO`), `false` for `{n+}` (answer `BAD`).
        synchronizing: bool,
    },
    /// The stream cannot be resynchronised (a literal announcement whose size cannot be read):
    /// answer `* BYE` and close. The decoder stays failed: [`next`](super::Decoder::next)
    /// returns `None` from then on.
    Fatal,
}

/// The answer a [`DecodeError`] calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// `tag BAD ...`, or `* BAD ...` when no tag could be read.
    Bad,
    /// `tag NO ...` (only with a tag; without one the outcome is `Bad`).
    No,
    /// `* BYE ...`, then close the connection.
    Bye,
}

/// A command the decoder could not turn into a [`Command`](crate::command::Command).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// The command's tag, when its first line had a valid one. `None` means the answer is
    /// untagged (`* BAD`).
    pub tag: Option<String>,
    /// What went wrong, which fixes the answer.
    pub kind: DecodeErrorKind,
    /// Human-readable text for the answer, e.g. `FETCH: expected fetch attribute at "FOO)"`.
    pub message: String,
}

impl DecodeError {
    pub(crate) fn new(
        tag: Option<String>,
        kind: DecodeErrorKind,
        message: impl Into<String>,
    ) -> Self {
        DecodeError {
            tag,
            kind,
            message: message.into(),
        }
    }

    /// Which answer to send. `tag` says whether it is tagged.
    pub fn outcome(&self) -> Outcome {
        match self.kind {
            DecodeErrorKind::Fatal => Outcome::Bye,
            DecodeErrorKind::LiteralTooBig {
                synchronizing: true,
            } if self.tag.is_some() => Outcome::No,
            _ => Outcome::Bad,
        }
    }

    /// The response code to put in the answer: `TOOBIG` for literals over their limit.
    pub fn response_code(&self) -> Option<&'static str> {
        match self.kind {
            DecodeErrorKind::LiteralTooBig { .. } => Some("TOOBIG"),
            _ => None,
        }
    }

    /// Whether the connection must be closed ([`Outcome::Bye`]).
    pub fn is_fatal(&self) -> bool {
        self.kind == DecodeErrorKind::Fatal
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Bad => "BAD",
            Outcome::No => "NO",
            Outcome::Bye => "BYE",
        })
    }
}
