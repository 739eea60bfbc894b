//! Message structure, parsed once at append time: the MIME part tree with byte offsets and the
//! header data ENVELOPE and BODYSTRUCTURE need, so FETCH never re-parses a message.
//!
//! The structure follows Dovecot 2.3's parser where the RFCs leave room (see
//! `shared/testdata/golden/README.md`): boundaries are matched as line prefixes, innermost
//! first; the line end before a delimiter belongs to the delimiter; a part whose body starts
//! without a blank line takes its first lines as a header; a multipart without parts gets one
//! empty text/plain part. Header fields are split by `mail-parser`'s header tokenizer.
//!
//! How the session writes FETCH items from a stored message `raw` and its `ParsedMessage`:
//! - `ENVELOPE` / `BODYSTRUCTURE` / `BODY`: [`ParsedMessage::envelope`],
//!   [`ParsedMessage::body_structure`] (strings pick quoted or literal form by content);
//! - `RFC822.SIZE`: [`ParsedMessage::size`];
//! - `BODY[s]<p>`: `Value::Literal(replace_nul(apply_partial(&section(raw, s)?, p)))`;
//! - `BINARY[s]<p>`: [`ParsedMessage::binary`], then [`apply_partial`]; send `~{n}` when
//!   [`needs_literal8`]; `BINARY.SIZE`: [`ParsedMessage::binary_size`].
//!   [`BinaryError::UnknownCte`] is `NO [UNKNOWN-CTE]`, [`BinaryError::Parse`] `NO [PARSE]`.

mod binary;
mod bodystructure;
mod envelope;
mod header;
mod section;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use binary::{needs_literal8, BinaryError};
pub use envelope::{Address, Envelope};
pub use section::SectionError;

use crate::command::Partial;

/// Deepest MIME nesting we follow; deeper parts are treated as opaque leaves.
const MAX_DEPTH: usize = 64;

/// A message's structure, computed once when the message is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedMessage {
    /// Size of the stored message in octets (RFC822.SIZE).
    pub size: u64,
    /// The top-level part: the message header and its body.
    pub(crate) root: Part,
    /// The top-level ENVELOPE data.
    pub(crate) envelope: Envelope,
}

/// MIME parameters (`name`, `value`) in Dovecot's order.
pub(crate) type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// One MIME part: where its header and body are, and its BODYSTRUCTURE fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Part {
    pub header_start: u64,
    /// End of the header block, including the blank line when there is one.
    pub header_end: u64,
    pub body_start: u64,
    pub body_end: u64,
    /// Whether the header ended with a blank line.
    pub has_blank: bool,
    pub media_type: Vec<u8>,
    pub media_subtype: Vec<u8>,
    /// Content-Type parameters; `None` is NIL.
    pub params: Option<Params>,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    /// Content-Transfer-Encoding as written; `None` means 7bit.
    pub encoding: Option<Vec<u8>>,
    pub md5: Option<Vec<u8>>,
    /// Disposition type and parameters.
    pub disposition: Option<(Vec<u8>, Params)>,
    pub language: Option<Vec<Vec<u8>>>,
    pub location: Option<Vec<u8>>,
    /// LF count of the body.
    pub lines: u64,
    pub kind: PartKind,
}

/// What a part contains.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PartKind {
    /// A single body.
    #[default]
    Leaf,
    /// `multipart/*`: its parts, never empty.
    Multipart(Vec<Part>),
    /// `message/rfc822`: the encapsulated message's envelope and top part.
    Message(Box<Envelope>, Box<Part>),
}

impl Part {
    /// The body bytes.
    pub(crate) fn body<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        slice(raw, self.body_start, self.body_end)
    }
    /// The header bytes.
    pub(crate) fn header<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        slice(raw, self.header_start, self.header_end)
    }
    /// An empty text/plain part at `pos` (stands in for the parts of a broken multipart).
    fn empty_at(pos: usize) -> Part {
        let pos = pos as u64;
        Part {
            header_start: pos,
            header_end: pos,
            body_start: pos,
            body_end: pos,
            media_type: b"text".to_vec(),
            media_subtype: b"plain".to_vec(),
            params: Some(vec![(b"charset".to_vec(), b"us-ascii".to_vec())]),
            ..Part::default()
        }
    }
}

/// `raw[start..end]`, empty when out of range.
fn slice(raw: &[u8], start: u64, end: u64) -> &[u8] {
    let (Ok(s), Ok(e)) = (usize::try_from(start), usize::try_from(end)) else {
        return &[];
    };
    raw.get(s..e).unwrap_or_default()
}

impl ParsedMessage {
    /// Parses raw message bytes (as stored: after [`normalize_line_endings`]). Never fails: a
    /// broken message still gets a structure, as Dovecot gives it one.
    pub fn parse(raw: &[u8]) -> ParsedMessage {
        let mut scanner = Scanner {
            raw,
            stack: Vec::new(),
        };
        let (root, _) = scanner.part(0, false, 0);
        let envelope = Envelope::from_header(raw, &header::fields(root.header(raw), 0));
        ParsedMessage {
            size: raw.len() as u64,
            root,
            envelope,
        }
    }
}

/// A delimiter line found while scanning.
#[derive(Debug, Clone, Copy)]
struct Hit {
    /// Start of the delimiter line.
    line: usize,
    /// Index of the boundary in the stack.
    owner: usize,
    /// `--boundary--`.
    close: bool,
    /// Start of the line after the delimiter.
    after: usize,
    /// End of the content before the delimiter (the line end before it belongs to it).
    end: usize,
}

/// Walks the message once, keeping the boundaries of the enclosing multiparts.
struct Scanner<'a> {
    raw: &'a [u8],
    stack: Vec<Vec<u8>>,
}

impl Scanner<'_> {
    /// The start of the line after `p`, or the end of the message.
    fn next_line(&self, p: usize) -> usize {
        match self
            .raw
            .get(p..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            Some(i) => p + i + 1,
            None => self.raw.len(),
        }
    }

    /// If the line at `p` is a delimiter of an enclosing multipart (innermost first), which.
    fn delimiter_at(&self, p: usize, from: usize) -> Option<Hit> {
        let line = self.raw.get(p..)?.strip_prefix(b"--")?;
        let (owner, b) = self
            .stack
            .iter()
            .enumerate()
            .rev()
            .find(|(_, b)| line.starts_with(b))?;
        let close = line.get(b.len()..).is_some_and(|r| r.starts_with(b"--"));
        let end = if p >= from + 2 && self.raw.get(p - 2..p) == Some(b"\r\n") {
            p - 2
        } else if p > from && self.raw.get(p - 1) == Some(&b'\n') {
            p - 1
        } else {
            p
        };
        Some(Hit {
            line: p,
            owner,
            close,
            after: self.next_line(p),
            end,
        })
    }

    /// Scans lines from `from` to the next delimiter; returns where the content ends.
    fn to_delimiter(&self, from: usize) -> (usize, Option<Hit>) {
        if self.stack.is_empty() {
            return (self.raw.len(), None);
        }
        let mut p = from;
        while p < self.raw.len() {
            if let Some(hit) = self.delimiter_at(p, from) {
                return (hit.end, Some(hit));
            }
            p = self.next_line(p);
        }
        (self.raw.len(), None)
    }

    /// Parses the part whose header starts at `start`. Returns the part and the delimiter that
    /// ended it (if any).
    fn part(&mut self, start: usize, in_digest: bool, depth: usize) -> (Part, Option<Hit>) {
        // The header: up to a blank line, or a delimiter, or the end.
        let mut p = start;
        let mut header_end = self.raw.len();
        let mut body_start = self.raw.len();
        let mut has_blank = false;
        let mut hit = None;
        while p < self.raw.len() {
            if let Some(h) = self.delimiter_at(p, start) {
                header_end = h.end;
                body_start = h.end;
                hit = Some(h);
                break;
            }
            let next = self.next_line(p);
            let line = self.raw.get(p..next).unwrap_or_default();
            if line == b"\r\n" || line == b"\n" {
                // A header that is only a blank line right before a delimiter: the line end
                // belongs to the delimiter.
                if p != start || self.delimiter_at(next, start).is_none() {
                    header_end = next;
                    body_start = next;
                    has_blank = true;
                    break;
                }
            }
            p = next;
        }
        let fields = header::fields(self.raw.get(start..header_end).unwrap_or_default(), start);
        let mut part = Part {
            header_start: start as u64,
            header_end: header_end as u64,
            body_start: body_start as u64,
            has_blank,
            ..Part::default()
        };
        bodystructure::fill_fields(&mut part, self.raw, &fields, in_digest);

        let is_multipart = part.media_type.eq_ignore_ascii_case(b"multipart");
        let is_message = part.media_type.eq_ignore_ascii_case(b"message")
            && part.media_subtype.eq_ignore_ascii_case(b"rfc822");
        let boundary = part
            .params
            .iter()
            .flatten()
            .find(|(k, _)| k.eq_ignore_ascii_case(b"boundary"))
            .map(|(_, v)| v.clone())
            .filter(|b| !b.is_empty());

        let (body_end, hit) = if hit.is_some() {
            // The header ran into a delimiter: no body.
            if is_multipart {
                part.kind = PartKind::Multipart(vec![Part::empty_at(body_start)]);
            } else if is_message {
                part.kind = PartKind::Message(Box::default(), Box::new(Part::empty_at(body_start)));
            }
            (body_start, hit)
        } else if depth >= MAX_DEPTH {
            self.to_delimiter(body_start)
        } else if is_multipart && boundary.is_some() {
            self.multipart(&mut part, boundary.unwrap_or_default(), body_start, depth)
        } else if is_multipart {
            part.kind = PartKind::Multipart(vec![Part::empty_at(body_start)]);
            self.to_delimiter(body_start)
        } else if is_message {
            let (inner, hit) = self.part(body_start, false, depth + 1);
            let env = Envelope::from_header(
                self.raw,
                &header::fields(inner.header(self.raw), inner.header_start as usize),
            );
            // The encapsulated header ran into the delimiter (074): the part keeps the line end.
            let end = match hit {
                Some(h) if !inner.has_blank && inner.header_end == h.end as u64 => h.line,
                _ => inner.body_end as usize,
            };
            part.kind = PartKind::Message(Box::new(env), Box::new(inner));
            (end, hit)
        } else {
            self.to_delimiter(body_start)
        };
        part.body_end = body_end.max(body_start) as u64;
        part.lines = part.body(self.raw).iter().filter(|&&b| b == b'\n').count() as u64;
        (part, hit)
    }

    /// Parses a multipart body from `from`; fills the children of `part`.
    fn multipart(
        &mut self,
        part: &mut Part,
        boundary: Vec<u8>,
        from: usize,
        depth: usize,
    ) -> (usize, Option<Hit>) {
        let digest = part.media_subtype.eq_ignore_ascii_case(b"digest");
        self.stack.push(boundary);
        let me = self.stack.len() - 1;
        let mut children = Vec::new();
        let (mut end, mut hit) = self.to_delimiter(from);
        loop {
            match hit {
                Some(h) if h.owner == me && !h.close => {
                    let (child, next) = self.part(h.after, digest, depth + 1);
                    end = child.body_end as usize;
                    children.push(child);
                    hit = next;
                }
                Some(h) if h.owner == me => {
                    // Close delimiter: the epilogue runs to an outer delimiter or the end.
                    self.stack.pop();
                    let (e, next) = self.to_delimiter(h.after);
                    end = e;
                    hit = next;
                    break;
                }
                _ => {
                    if let Some(h) = hit {
                        end = h.end;
                    }
                    self.stack.pop();
                    break;
                }
            }
        }
        if children.is_empty() {
            children.push(Part::empty_at(end));
        }
        part.kind = PartKind::Multipart(children);
        (end, hit)
    }
}

/// Converts bare LF line ends to CRLF, as Dovecot does at APPEND. Borrows when there is none.
pub fn normalize_line_endings(raw: &[u8]) -> Cow<'_, [u8]> {
    let bare = raw
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || raw.get(i - 1) != Some(&b'\r')));
    if !bare {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    Cow::Owned(out)
}

/// Applies a `<start.length>` partial: bytes past the end give an empty result, a range that
/// runs past the end is cut short.
pub fn apply_partial(data: &[u8], partial: Option<Partial>) -> &[u8] {
    let Some(p) = partial else {
        return data;
    };
    let start = (p.start as usize).min(data.len());
    let rest = data.get(start..).unwrap_or_default();
    match p.length {
        Some(len) => rest
            .get(..(len as usize).min(rest.len()))
            .unwrap_or_default(),
        None => rest,
    }
}

/// Replaces NUL with 0x80 for a plain `{n}` literal (RFC 3501 literals cannot carry NUL), as
/// Dovecot does for `BODY[...]`. Borrows when there is no NUL.
pub fn replace_nul(data: &[u8]) -> Cow<'_, [u8]> {
    if data.contains(&0) {
        Cow::Owned(
            data.iter()
                .map(|&b| if b == 0 { 0x80 } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(data)
    }
}

#[cfg(test)]
mod tests;
