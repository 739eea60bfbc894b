//! Incremental command decoder: frames lines and literals from any chunking of the input and
//! parses complete commands with the nom grammar in `parse`, within [`Limits`].
//!
//! ```
//! use tidings_engine::codec::{Decoded, Decoder, Limits};
//! use tidings_engine::command::CommandBody;
//!
//! let mut dec = Decoder::new(Limits::default());
//! dec.feed(b"a1 LOGIN {3}\r\n");
//! assert_eq!(dec.next(), Some(Decoded::NeedContinuation)); // the session sends "+ ..."
//! assert_eq!(dec.next(), None);                            // and waits for the literal
//! dec.feed(b"bob secret\r\na2 NOOP\r\n");
//! match dec.next() {
//!     Some(Decoded::Command(cmd)) => {
//!         assert_eq!(cmd.tag, "a1");
//!         assert!(matches!(cmd.body, CommandBody::Login { .. }));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! assert!(matches!(dec.next(), Some(Decoded::Command(c)) if c.body == CommandBody::Noop));
//! assert_eq!(dec.next(), None);
//! ```
//!
//! The API: [`Decoder::new`] with [`Limits`], [`Decoder::feed`] bytes, then
//! [`Decoder::next`] until `None` (see [`Decoder`] for the call order, [`Decoded`] for the
//! items, [`DecodeError::outcome`] for how to answer an error); [`Decoder::expect_line`] for
//! AUTHENTICATE and IDLE, [`Decoder::discard_buffered`] at STARTTLS.
//!
//! Grammar notes (where the RFCs leave a choice):
//! - Commands end in CRLF; a bare LF ends the line (so the stream stays in sync) but the
//!   command is `BAD`. A literal is announced with `}` CRLF. Lines read after
//!   [`Decoder::expect_line`] may end in a bare LF.
//! - Quoted strings may hold UTF-8 (RFC 9051), not other 8-bit bytes: send those as literals.
//! - `BODY[0]` is refused (`BAD`): part numbers are `nz-number`.
//! - A partial may be `<start>` without a length; a length must be non-zero.
//! - `ALL`, `FAST` and `FULL` only stand alone: `(FAST)` is `BAD`.
//! - `\Recent` cannot be stored or appended (`BAD`).
//! - An APPEND date-time's day may be `07`, ` 7` or `7`.
//! - `SEARCH LARGER`/`SMALLER` sizes past `u32::MAX` saturate.
//! - Non-zero numbers (sequence numbers, part numbers, partial lengths) have no leading zeros.
//! - `AUTHENTICATE mech ` with an empty initial response is `BAD` (send `=`); the initial
//!   response is checked for base64 syntax only.
//! - Before asking for a `+`, the command up to a synchronizing literal is checked against
//!   the grammar (for its first 8 literals), so e.g. `a FROB {5}` is `BAD` at once.
//! - `ID ()` is accepted as an empty list; ENABLE capabilities and the AUTHENTICATE
//!   mechanism are upper-cased.
//! - Mailbox names and LIST patterns must be canonical modified UTF-7 ([`decode_mailbox`]);
//!   8-bit names are `BAD`.

mod decoder;
mod error;
mod limits;
pub(crate) mod parse;
mod utf7;

pub use decoder::{Decoder, PendingLiteral};
pub use error::{DecodeError, DecodeErrorKind, Outcome};
pub use limits::Limits;
pub use utf7::{decode_mailbox, encode_mailbox, Utf7Error};

use crate::command::Command;

/// One item from [`Decoder::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete, valid command.
    Command(Command),
    /// A synchronizing literal `{n}` was announced and accepted (its command is valid so far
    /// and within limits): the session must now send `+ ...` (the decoder writes nothing).
    /// Not emitted for `{n+}`. See also [`Decoder::pending_literal`] and
    /// [`Decoder::refuse_literal`].
    NeedContinuation,
    /// The line asked for with [`Decoder::expect_line`], without its CRLF.
    Line(Vec<u8>),
    /// A command that cannot be executed; [`DecodeError::outcome`] says how to answer.
    Error(DecodeError),
}
