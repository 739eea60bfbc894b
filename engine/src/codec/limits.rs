//! Bounds on what one command may make the decoder buffer: line bytes, literal bytes and
//! nesting depth. Each is checked before bytes are stored, never after.

/// How much one command may make the [`Decoder`](super::Decoder) hold, and how deeply it may
/// nest. A command over a limit is answered with an error and the stream stays in sync (see
/// [`DecodeErrorKind`](super::DecodeErrorKind)); memory never follows a size a client merely
/// announces.
///
/// With these limits the decoder holds at most about
/// `max_line + max_small_literal + max_literal` bytes of one command (see
/// [`Decoder::buffered`](super::Decoder::buffered)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes a command may have outside its literals: all of its lines together,
    /// CRLFs included. Also bounds a line read after [`Decoder::expect_line`](super::Decoder::expect_line).
    pub max_line: usize,
    /// The largest APPEND message literal (`{n}`, `{n+}` or `~{n}`).
    pub max_literal: usize,
    /// The most bytes all the other literals of one command may hold together (a LOGIN
    /// password, a SEARCH string, a mailbox name sent as a literal, ...).
    pub max_small_literal: usize,
    /// The deepest nesting of search keys: each parenthesised group, `NOT` and `OR` is one
    /// level. Deeper commands are answered `BAD`.
    pub max_depth: usize,
}

impl Limits {
    /// 64 KiB lines (Dovecot's `imap_max_line_length`), 64 MiB messages, 64 KiB of other
    /// literals per command, 64 levels of search nesting.
    pub const DEFAULT: Limits = Limits {
        max_line: 64 * 1024,
        max_literal: 64 * 1024 * 1024,
        max_small_literal: 64 * 1024,
        max_depth: 64,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
