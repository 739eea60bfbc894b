//! BINARY[part] and BINARY.SIZE (RFC 3516): a part's content with its
//! Content-Transfer-Encoding removed; lenient where Dovecot is, an error where the data is bad.

use std::borrow::Cow;

use thiserror::Error;

use super::{header, slice, ParsedMessage, Part, PartKind};
use crate::command::Section;

/// Why a BINARY fetch cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BinaryError {
    /// The part's Content-Transfer-Encoding is not one we decode: `NO [UNKNOWN-CTE]`.
    #[error("unknown Content-Transfer-Encoding {0}")]
    UnknownCte(String),
    /// The encoded data is invalid: `NO [PARSE]`.
    #[error("invalid data in MIME part")]
    Parse,
    /// The section itself is invalid (e.g. `MIME` without a part number).
    #[error(transparent)]
    Section(#[from] super::SectionError),
}

/// Whether BINARY content must be sent as a `~{n}` literal8: it contains NUL (RFC 3516 §4.2).
pub fn needs_literal8(data: &[u8]) -> bool {
    data.contains(&0)
}

impl ParsedMessage {
    /// `BINARY[section]` content (RFC 3516): the part body with its transfer encoding decoded.
    /// `BINARY[]` is the whole message; a `HEADER`/`MIME`/`TEXT` specifier is answered like
    /// `BODY[...]` (accepted leniently, as Dovecot does). A part that does not exist is empty.
    pub fn binary<'a>(
        &self,
        raw: &'a [u8],
        section: &Section,
    ) -> Result<Cow<'a, [u8]>, BinaryError> {
        if section.part.is_empty() || section.text.is_some() {
            return Ok(self.section(raw, section)?);
        }
        let Some(part) = self.resolve(&section.part) else {
            return Ok(Cow::Borrowed(&[]));
        };
        if let PartKind::Multipart(_) = part.kind {
            let mut out = Vec::new();
            rewrite_body(part, raw, &mut out)?;
            return Ok(Cow::Owned(out));
        }
        decode(part.encoding.as_deref(), part.body(raw))
    }

    /// `BINARY.SIZE[section]`: the size of what [`ParsedMessage::binary`] returns.
    pub fn binary_size(&self, raw: &[u8], section: &Section) -> Result<u64, BinaryError> {
        self.binary(raw, section).map(|d| d.len() as u64)
    }
}

/// Whether a part's transfer encoding is one that changes the bytes.
fn is_encoded(part: &Part) -> bool {
    part.encoding.as_deref().is_some_and(|c| {
        ![&b"7bit"[..], b"8bit", b"binary"]
            .iter()
            .any(|x| c.eq_ignore_ascii_case(x))
    })
}

/// Writes a whole part (header and body) with every encoded leaf decoded: its
/// Content-Transfer-Encoding field is replaced by `binary` at the end of its header, as Dovecot
/// does for BINARY of a multipart.
fn rewrite_part(part: &Part, raw: &[u8], out: &mut Vec<u8>) -> Result<(), BinaryError> {
    if matches!(part.kind, PartKind::Leaf) && is_encoded(part) {
        let decoded = decode(part.encoding.as_deref(), part.body(raw))?;
        let mut pos = part.header_start as usize;
        let mut head = Vec::new();
        for f in header::fields(part.header(raw), pos) {
            if f.name(raw)
                .eq_ignore_ascii_case(b"Content-Transfer-Encoding")
            {
                head.extend_from_slice(raw.get(pos..f.start).unwrap_or_default());
                pos = f.end;
            }
        }
        head.extend_from_slice(raw.get(pos..part.header_end as usize).unwrap_or_default());
        if part.has_blank {
            let h = head.strip_suffix(b"\n").unwrap_or(&head);
            let h = h.strip_suffix(b"\r").unwrap_or(h);
            out.extend_from_slice(h);
        } else {
            out.extend_from_slice(&head);
        }
        out.extend_from_slice(b"Content-Transfer-Encoding: binary\r\n");
        if part.has_blank {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&decoded);
        return Ok(());
    }
    out.extend_from_slice(slice(raw, part.header_start, part.body_start));
    rewrite_body(part, raw, out)
}

/// Writes a part's body, decoding encoded leaves inside it (multiparts and messages).
fn rewrite_body(part: &Part, raw: &[u8], out: &mut Vec<u8>) -> Result<(), BinaryError> {
    let children: Vec<&Part> = match &part.kind {
        PartKind::Multipart(c) => c.iter().collect(),
        PartKind::Message(_, inner) => vec![inner.as_ref()],
        PartKind::Leaf => Vec::new(),
    };
    let mut pos = part.body_start;
    for c in children {
        if c.header_start < pos || c.body_end > part.body_end {
            continue;
        }
        out.extend_from_slice(slice(raw, pos, c.header_start));
        rewrite_part(c, raw, out)?;
        pos = c.body_end;
    }
    out.extend_from_slice(slice(raw, pos, part.body_end));
    Ok(())
}

/// Decodes `body` by its Content-Transfer-Encoding.
fn decode<'a>(cte: Option<&[u8]>, body: &'a [u8]) -> Result<Cow<'a, [u8]>, BinaryError> {
    let cte = cte.unwrap_or(b"7bit");
    if [&b"7bit"[..], b"8bit", b"binary"]
        .iter()
        .any(|c| cte.eq_ignore_ascii_case(c))
    {
        Ok(Cow::Borrowed(body))
    } else if cte.eq_ignore_ascii_case(b"base64") {
        base64(body).map(Cow::Owned)
    } else if cte.eq_ignore_ascii_case(b"quoted-printable") {
        quoted_printable(body).map(Cow::Owned)
    } else {
        Err(BinaryError::UnknownCte(
            String::from_utf8_lossy(cte).into_owned(),
        ))
    }
}

fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Base64 that skips whitespace anywhere and accepts a missing final padding; anything else
/// outside the alphabet, or data after the padding, is [`BinaryError::Parse`].
pub(crate) fn base64(data: &[u8]) -> Result<Vec<u8>, BinaryError> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut n = 0u8;
    let mut padded = false;
    for &b in data {
        if b.is_ascii_whitespace() {
            continue;
        }
        if b == b'=' {
            padded = true;
            continue;
        }
        if padded {
            return Err(BinaryError::Parse);
        }
        let v = b64_value(b).ok_or(BinaryError::Parse)?;
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        0 => {}
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => return Err(BinaryError::Parse),
    }
    Ok(out)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Quoted-printable (RFC 2045 §6.7): trailing whitespace on a line is dropped, `=` at a line
/// end is a soft break (also at the very end), hex digits may be lower case; any other `=` is
/// [`BinaryError::Parse`].
pub(crate) fn quoted_printable(data: &[u8]) -> Result<Vec<u8>, BinaryError> {
    let mut out = Vec::with_capacity(data.len());
    let mut lines = data.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        let mut line = line.strip_suffix(b"\r").unwrap_or(line);
        while let [rest @ .., b' ' | b'\t'] = line {
            line = rest;
        }
        let (line, soft) = match line.strip_suffix(b"=") {
            Some(l) => (l, true),
            None => (line, false),
        };
        let mut i = 0;
        while let Some(&b) = line.get(i) {
            if b == b'=' {
                let h = line.get(i + 1).copied().and_then(hex);
                let l = line.get(i + 2).copied().and_then(hex);
                match (h, l) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(BinaryError::Parse),
                }
                i += 3;
            } else {
                out.push(b);
                i += 1;
            }
        }
        if !soft && !last {
            out.extend_from_slice(b"\r\n");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_lenient_on_whitespace_and_padding() {
        assert_eq!(base64(b"aGVs bG8=\r\n").unwrap(), b"hello");
        assert_eq!(base64(b"aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64(b"aGVsbG8=x"), Err(BinaryError::Parse));
        assert_eq!(base64(b"a*b="), Err(BinaryError::Parse));
    }

    #[test]
    fn quoted_printable_soft_breaks_and_errors() {
        assert_eq!(
            quoted_printable(b"a=3d=3D  \r\nb= \r\nc").unwrap(),
            b"a==\r\nbc"
        );
        assert_eq!(quoted_printable(b"end=").unwrap(), b"end");
        assert_eq!(quoted_printable(b"=ZZ"), Err(BinaryError::Parse));
        assert_eq!(quoted_printable(b"a = b"), Err(BinaryError::Parse));
    }
}
