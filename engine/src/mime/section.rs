//! BODY[section] extraction (RFC 9051 §6.4.5) from stored part offsets, with Dovecot's
//! answers for sections that do not exist (empty content, not an error).

use std::borrow::Cow;

use thiserror::Error;

use super::header;
use super::{ParsedMessage, Part, PartKind};
use crate::command::{Section, SectionText};

/// A section specifier that cannot be answered (the session sends `BAD`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SectionError {
    /// `MIME` without a part number (`BODY[MIME]`).
    #[error("MIME section specifier needs a part number")]
    MimeWithoutPart,
}

/// Appends `field` followed by a line end (added if the field had none).
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(field);
    if !field.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
}

impl ParsedMessage {
    /// The part a non-empty part path names, or `None` when there is none. `N.1` of a leaf
    /// part is the part itself; a number after a message/rfc822 part indexes the parts of the
    /// encapsulated message.
    pub(crate) fn resolve(&self, path: &[u32]) -> Option<&Part> {
        let mut cur = &self.root;
        for (i, &n) in path.iter().enumerate() {
            let container = match &cur.kind {
                PartKind::Message(_, inner) if i > 0 => inner.as_ref(),
                _ => cur,
            };
            let idx = usize::try_from(n).ok()?.checked_sub(1)?;
            cur = match &container.kind {
                PartKind::Multipart(children) => children.get(idx)?,
                _ if idx == 0 => container,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// `BODY[section]` content (before any `<partial>`). A section that names no part gives
    /// empty content, as Dovecot does.
    pub fn section<'a>(
        &self,
        raw: &'a [u8],
        section: &Section,
    ) -> Result<Cow<'a, [u8]>, SectionError> {
        if section.part.is_empty() {
            return Ok(match &section.text {
                None => Cow::Borrowed(raw),
                Some(SectionText::Mime) => return Err(SectionError::MimeWithoutPart),
                Some(text) => message_text(&self.root, raw, text),
            });
        }
        let Some(part) = self.resolve(&section.part) else {
            return Ok(Cow::Borrowed(&[]));
        };
        Ok(match &section.text {
            None => Cow::Borrowed(part.body(raw)),
            Some(SectionText::Mime) => Cow::Borrowed(part.header(raw)),
            Some(text) => match &part.kind {
                PartKind::Message(_, inner) => message_text(inner, raw, text),
                _ => Cow::Borrowed(&[]),
            },
        })
    }
}

/// HEADER, TEXT or HEADER.FIELDS of the message whose top part is `top`.
fn message_text<'a>(top: &Part, raw: &'a [u8], text: &SectionText) -> Cow<'a, [u8]> {
    match text {
        SectionText::Header => Cow::Borrowed(top.header(raw)),
        SectionText::Text => Cow::Borrowed(top.body(raw)),
        SectionText::Mime => Cow::Borrowed(top.header(raw)),
        SectionText::HeaderFields { not, fields } => {
            let mut out = Vec::new();
            let mut pos = top.header_start as usize;
            for f in header::fields(top.header(raw), top.header_start as usize) {
                // A line without a colon is a field no name matches (kept by .NOT).
                let gap = raw.get(pos..f.start).unwrap_or_default();
                if *not && !header::trim(gap).is_empty() {
                    out.extend_from_slice(gap);
                }
                pos = f.end;
                let name = f.name(raw);
                let listed = fields
                    .iter()
                    .any(|n| name.eq_ignore_ascii_case(n.as_bytes()));
                if listed != *not {
                    push_field(&mut out, f.raw(raw));
                }
            }
            // HEADER.FIELDS always ends with the blank line; .NOT only when the header has one.
            if !*not || top.has_blank {
                out.extend_from_slice(b"\r\n");
            }
            Cow::Owned(out)
        }
    }
}
