//! The resumable framer: finds where each command ends (lines and the literals they announce)
//! in any chunking of the input, enforces the limits while doing so, and hands whole commands
//! to the grammar.

use super::error::{DecodeError, DecodeErrorKind};
use super::limits::Limits;
use super::parse::{self, Ctx};
use super::Decoded;

/// How many bytes at the end of a line can hold a literal announcement (`~{` 20 digits `+}`
/// CRLF fits). Announcements are only looked for there, so a line being skipped keeps just
/// this much of itself.
const ANNOUNCEMENT_WINDOW: usize = 32;

/// How many of a command's synchronizing literals are checked against the grammar before
/// the `+` is asked for. Each check re-parses the command so far, so checking every one of
/// thousands of tiny literals would cost time quadratic in the command's size; past this
/// many, a bad command is still answered `BAD`, only after its literals.
const PREFIX_CHECKS: usize = 8;

/// An incremental, bounded command decoder: bytes in ([`feed`](Decoder::feed)), commands
/// out ([`next`](Decoder::next)). Sans-IO: it never writes; it tells the caller when a `+`
/// continuation is due.
///
/// Call order: `feed` whatever arrived, then call `next` until it returns `None` ("need more
/// input"), acting on each item:
/// - [`Decoded::Command`]: execute it. After `AUTHENTICATE` or `IDLE`, call
///   [`expect_line`](Decoder::expect_line) before the next `next`; after `STARTTLS`, call
///   [`discard_buffered`](Decoder::discard_buffered) before switching the transport.
/// - [`Decoded::NeedContinuation`]: the command is valid so far (checked for its first
///   few literals) and within limits; send `+ ...` (or refuse with
///   [`refuse_literal`](Decoder::refuse_literal) and answer the tag), then keep calling `next`.
/// - [`Decoded::Line`]: the raw line asked for with `expect_line`.
/// - [`Decoded::Error`]: answer as [`DecodeError::outcome`] says; the stream is in sync
///   again unless it was [`Fatal`](DecodeErrorKind::Fatal), after which `next` returns `None`.
///
/// Any chunking of the same bytes gives the same items. Each byte is scanned once: the framer
/// keeps its position between calls.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    /// Input. Bytes before `start` are consumed (dropped at the next `feed`, so that a burst of
    /// pipelined commands is not moved once per command). The command being read starts at
    /// `start` (its lines and literals up to `scan`), unless it is being skipped, in which case
    /// only the tail of its current line is kept.
    buf: Vec<u8>,
    /// Where the command being read starts.
    start: usize,
    /// Bytes before this have been framed.
    scan: usize,
    /// Where the current line (fragment) starts.
    line_start: usize,
    state: State,
    msg: Message,
    /// The next command is a raw line (`expect_line`).
    expect_line: bool,
    /// A fatal error was reported: nothing more is decoded.
    failed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for the LF that ends the current line.
    Line,
    /// Inside literal data: this many bytes to go.
    Literal { remaining: u64 },
}

/// Bookkeeping for the command being read.
#[derive(Debug, Default)]
struct Message {
    /// Bytes of completed lines.
    line_bytes: usize,
    /// Bytes of accepted literals other than APPEND's message.
    small_literal_bytes: usize,
    /// Tag and command, read from the first line when first needed (a literal, an error).
    head: Option<Head>,
    /// APPEND's message literal was announced.
    append_message_seen: bool,
    /// This message is a raw line (decided when its first line ends or overflows).
    raw: Option<bool>,
    /// The message is bad: skip to its real end, then report this.
    poison: Option<DecodeError>,
    /// The synchronizing literal just announced (between `NeedContinuation` and its data).
    pending: Option<PendingLiteral>,
    /// How many prefix checks this command has had.
    prefix_checks: usize,
}

#[derive(Debug, Clone, Default)]
struct Head {
    tag: Option<String>,
    /// Upper-cased command name.
    command: String,
    /// Offset of the first argument in the first line.
    args_at: usize,
}

impl Head {
    /// Reads the tag and command name from the start of a first line (at most `max_line`
    /// bytes of it, so that the result does not depend on how much of it has arrived).
    fn read(line: &[u8]) -> Head {
        let Some(tag) = parse::tag_of(line) else {
            return Head::default();
        };
        let rest = &line[tag.len() + 1..];
        let n = rest
            .iter()
            .position(|&b| !b.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        Head {
            tag: Some(String::from_utf8_lossy(tag).into_owned()),
            command: rest[..n]
                .to_ascii_uppercase()
                .iter()
                .map(|&b| b as char)
                .collect(),
            args_at: tag.len() + 1 + n + 1,
        }
    }
}

/// A synchronizing literal waiting for the session's `+`: see [`Decoder::pending_literal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLiteral {
    /// The command's tag.
    pub tag: Option<String>,
    /// The command name, upper-cased (`APPEND`, `LOGIN`, ...).
    pub command: String,
    /// The announced size.
    pub size: u64,
}

/// A literal announced at the end of a line.
#[derive(Debug, Clone, Copy)]
struct Announcement {
    size: u64,
    sync: bool,
    /// Offset of `{` (or `~`) from the start of the line.
    at: usize,
}

/// Looks for `{n}`, `{n+}`, `~{n}` or `~{n+}` before the line's CRLF, within
/// [`ANNOUNCEMENT_WINDOW`]. `Err` when there is one but its size cannot be read.
fn announcement(line: &[u8]) -> Result<Option<Announcement>, ()> {
    let window_start = line.len().saturating_sub(ANNOUNCEMENT_WINDOW);
    let Some(body) = line.strip_suffix(b"}\r\n") else {
        return Ok(None);
    };
    let (body, sync) = match body.strip_suffix(b"+") {
        Some(b) => (b, false),
        None => (body, true),
    };
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let open = body.len() - digits;
    if digits == 0 || open == 0 || open - 1 < window_start || body[open - 1] != b'{' {
        return Ok(None);
    }
    let size = body[open..]
        .iter()
        .try_fold(0u64, |acc, &b| {
            acc.checked_mul(10)?.checked_add((b - b'0') as u64)
        })
        .ok_or(())?;
    let at = if open >= 2 && body[open - 2] == b'~' {
        open - 2
    } else {
        open - 1
    };
    Ok(Some(Announcement { size, sync, at }))
}

/// The first LF in `bytes`: eight bytes at a time (SWAR), as lines are mostly long runs of
/// other bytes.
fn find_lf(bytes: &[u8]) -> Option<usize> {
    const LF: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or_default()) ^ LF;
        // A zero byte (an LF) somewhere in the word sets a high bit here.
        if word.wrapping_sub(ONES) & !word & HIGHS != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| b == b'\n').map(|n| at + n)
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

impl Decoder {
    /// A decoder with these limits.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            buf: Vec::new(),
            start: 0,
            scan: 0,
            line_start: 0,
            state: State::Line,
            msg: Message::default(),
            expect_line: false,
            failed: false,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Buffers input, in any chunking. Input after a fatal error is dropped.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.failed {
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.scan -= self.start;
                self.line_start -= self.start;
                self.start = 0;
            }
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes held: unconsumed input plus the command being read. After `next` returned `None`
    /// this is at most `max_line + max_small_literal + max_literal` plus a few bytes.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether a fatal error was reported (the connection must close).
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Makes the next item one raw line, returned as [`Decoded::Line`] without its CRLF: the
    /// client's answer to an AUTHENTICATE challenge, or IDLE's `DONE`. Call it right after
    /// the command that asks for it; it takes effect from the next command boundary. A line
    /// over `max_line` gives a [`LineTooLong`](DecodeErrorKind::LineTooLong) error (no tag).
    pub fn expect_line(&mut self) {
        self.expect_line = true;
    }

    /// At the STARTTLS boundary: drops every byte buffered after the command just returned
    /// (plaintext a client or attacker sent before the handshake) and returns how many. Also
    /// cancels [`expect_line`](Decoder::expect_line).
    pub fn discard_buffered(&mut self) -> usize {
        let n = self.buffered();
        self.clear_buf();
        self.reset_message();
        self.expect_line = false;
        n
    }

    /// The synchronizing literal announced by the last [`Decoded::NeedContinuation`], until the
    /// next call to `next`: lets the session decide, e.g. refuse an APPEND in the wrong state.
    pub fn pending_literal(&self) -> Option<&PendingLiteral> {
        self.msg.pending.as_ref()
    }

    /// Refuses the literal announced by the last [`Decoded::NeedContinuation`]: the client
    /// gets no `+` and will not send it, so the command is dropped. Returns its tag, for the
    /// session's tagged `NO` or `BAD`. Call it right after `NeedContinuation`, before `next`;
    /// otherwise it does nothing and returns `None`.
    pub fn refuse_literal(&mut self) -> Option<String> {
        let pending = self.msg.pending.take()?;
        // The command ends where the literal's data would have started.
        self.consume(self.scan);
        pending.tag
    }

    /// The next decoded item, or `None` when more input is needed.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Decoded> {
        if self.failed {
            return None;
        }
        loop {
            match self.state {
                State::Literal { remaining } => {
                    self.msg.pending = None;
                    let avail = (self.buf.len() - self.scan) as u64;
                    if avail < remaining {
                        self.state = State::Literal {
                            remaining: remaining - avail,
                        };
                        self.scan = self.buf.len();
                        if self.msg.poison.is_some() {
                            self.clear_buf();
                        }
                        return None;
                    }
                    self.scan += remaining as usize;
                    self.line_start = self.scan;
                    self.state = State::Line;
                    if self.msg.poison.is_some() {
                        self.drop_framed();
                    }
                }
                State::Line => {
                    if let Some(item) = self.frame_line() {
                        return Some(item);
                    }
                    if self.state == State::Line {
                        // No complete line yet.
                        return None;
                    }
                }
            }
        }
    }

    /// Scans the current line. Returns an item when one is ready; `None` with the state
    /// still `Line` when the line is incomplete, or with the state `Literal` to go on.
    fn frame_line(&mut self) -> Option<Decoded> {
        let Some(lf) = find_lf(&self.buf[self.scan..]) else {
            self.scan = self.buf.len();
            let partial = self.buf.len() - self.line_start;
            if self.msg.poison.is_none() && self.msg.line_bytes + partial > self.limits.max_line {
                self.poison_line_too_long();
            }
            if self.msg.poison.is_some() {
                self.keep_line_tail();
            }
            return None;
        };
        let end = self.scan + lf + 1;
        self.scan = end;
        let line_len = end - self.line_start;
        if self.msg.poison.is_none() && self.msg.line_bytes + line_len > self.limits.max_line {
            self.poison_line_too_long();
        }
        let first_line = self.msg.line_bytes == 0 && self.msg.raw.is_none();
        self.msg.line_bytes += line_len;
        if first_line {
            self.msg.raw = Some(self.expect_line);
        }
        if self.msg.raw == Some(true) {
            self.expect_line = false;
            return Some(self.finish_raw_line(end));
        }
        let found = announcement(&self.buf[self.line_start..end]);
        let lit = match found {
            Ok(None) => return Some(self.finish_message(end)),
            Ok(Some(lit)) => lit,
            Err(()) => {
                let tag = self.head().tag.clone();
                self.failed = true;
                self.clear_buf();
                return Some(Decoded::Error(DecodeError::new(
                    tag,
                    DecodeErrorKind::Fatal,
                    "Literal size too large to read: cannot find the end of the command",
                )));
            }
        };
        self.read_head();
        if self.msg.poison.is_some() {
            if lit.sync {
                // The client waits for a `+` it will not get: the command ends here.
                return Some(self.finish_message(end));
            }
            self.skip_literal(lit.size);
            return None;
        }
        let (limit, is_message) = self.literal_limit(&lit);
        if lit.size > limit as u64 {
            let tag = self.msg.head.as_ref().and_then(|h| h.tag.clone());
            let what = if is_message { "message" } else { "literal" };
            let message = format!(
                "{what} of {} bytes is over the limit of {limit} bytes",
                lit.size
            );
            let err = DecodeError::new(
                tag,
                DecodeErrorKind::LiteralTooBig {
                    synchronizing: lit.sync,
                },
                message,
            );
            if lit.sync {
                self.consume(end);
                return Some(Decoded::Error(err));
            }
            self.msg.poison = Some(err);
            self.skip_literal(lit.size);
            return None;
        }
        if is_message {
            self.msg.append_message_seen = true;
        } else {
            self.msg.small_literal_bytes += lit.size as usize;
        }
        self.state = State::Literal {
            remaining: lit.size,
        };
        self.line_start = end;
        if !lit.sync {
            return None;
        }
        if self.msg.prefix_checks < PREFIX_CHECKS {
            self.msg.prefix_checks += 1;
            let ctx = Ctx::new(self.limits.max_depth);
            if let Err(e) = parse::check_prefix(&ctx, &self.buf[self.start..end]) {
                self.consume(end);
                return Some(Decoded::Error(e));
            }
        }
        let head = self.msg.head.clone().unwrap_or_default();
        self.msg.pending = Some(PendingLiteral {
            tag: head.tag,
            command: head.command,
            size: lit.size,
        });
        Some(Decoded::NeedContinuation)
    }

    /// The limit for an announced literal, and whether it is APPEND's message.
    fn literal_limit(&self, lit: &Announcement) -> (usize, bool) {
        let head = self.msg.head.as_ref();
        let is_append = head.is_some_and(|h| h.command == "APPEND");
        // APPEND's mailbox may itself be a literal: the first one, right after the command.
        let is_mailbox = self.line_start == self.start && head.is_some_and(|h| h.args_at == lit.at);
        if is_append && !is_mailbox && !self.msg.append_message_seen {
            (self.limits.max_literal, true)
        } else {
            let left = self
                .limits
                .max_small_literal
                .saturating_sub(self.msg.small_literal_bytes);
            (left, false)
        }
    }

    /// Marks the command as too long; from now on it is skipped without being stored.
    fn poison_line_too_long(&mut self) {
        self.msg.raw.get_or_insert(self.expect_line);
        let tag = self.head().tag.clone();
        self.msg.poison = Some(DecodeError::new(
            tag,
            DecodeErrorKind::LineTooLong,
            format!(
                "Command line too long (over {} bytes)",
                self.limits.max_line
            ),
        ));
    }

    /// Skips `size` bytes of literal data of a poisoned command.
    fn skip_literal(&mut self, size: u64) {
        self.state = State::Literal { remaining: size };
        self.line_start = self.scan;
        self.drop_framed();
    }

    /// Drops what is framed of a poisoned command.
    fn drop_framed(&mut self) {
        self.buf.drain(..self.scan);
        self.start = 0;
        self.scan = 0;
        self.line_start = 0;
    }

    /// Keeps only the end of a poisoned command's current line, where an announcement could be.
    fn keep_line_tail(&mut self) {
        let keep_from = self
            .buf
            .len()
            .saturating_sub(ANNOUNCEMENT_WINDOW)
            .max(self.line_start);
        self.buf.drain(..keep_from);
        self.start = 0;
        self.scan = self.buf.len();
        self.line_start = 0;
    }

    /// The command ends at `end`: parse it (or report why it was skipped).
    fn finish_message(&mut self, end: usize) -> Decoded {
        let item = match self.msg.poison.take() {
            Some(e) => Decoded::Error(e),
            None => {
                let ctx = Ctx::new(self.limits.max_depth);
                parse::parse_into(
                    &ctx,
                    &self.buf[self.start..end],
                    Decoded::Command,
                    Decoded::Error,
                )
            }
        };
        self.consume(end);
        item
    }

    /// The raw line asked for by `expect_line` ends at `end`.
    fn finish_raw_line(&mut self, end: usize) -> Decoded {
        let item = match self.msg.poison.take() {
            Some(e) => Decoded::Error(e),
            None => {
                let line = &self.buf[self.start..end];
                let line = line.strip_suffix(b"\n").unwrap_or(line);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                Decoded::Line(line.to_vec())
            }
        };
        self.consume(end);
        item
    }

    /// The tag and command of the message being read (see [`Decoder::read_head`]).
    fn head(&mut self) -> &Head {
        self.read_head();
        self.msg.head.get_or_insert_with(Head::default)
    }

    /// Reads the tag and command from the start of the command's first line, once; not for a
    /// raw line. Called before the buffer can lose the line's start (a poisoned command keeps
    /// only its tail).
    fn read_head(&mut self) {
        if self.msg.head.is_none() && self.msg.raw == Some(false) {
            let upto = self.buf.len().min(self.start + self.limits.max_line);
            self.msg.head = Some(Head::read(&self.buf[self.start..upto]));
        }
    }

    /// The message ends at `end`: the next one starts there.
    fn consume(&mut self, end: usize) {
        if end == self.buf.len() {
            self.clear_buf();
        } else {
            self.start = end;
        }
        self.reset_message();
    }

    /// Drops every buffered byte.
    fn clear_buf(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.scan = 0;
        self.line_start = 0;
    }

    fn reset_message(&mut self) {
        self.msg = Message::default();
        self.state = State::Line;
        self.scan = self.start;
        self.line_start = self.start;
    }
}

#[cfg(test)]
mod tests;
