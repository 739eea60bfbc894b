//! The searchable text of one message, decoded with mail-parser: header fields (RFC 2047
//! words decoded, unfolded) and the text of its text parts (transfer-decoded, in UTF-8).

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MessagePart, PartType};

use super::text::fold;

/// One header field: its name (whitespace before the colon trimmed) and its value, unfolded,
/// with RFC 2047 encoded words decoded (the whitespace between adjacent words dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field name as written, e.g. `X-Space-Before-Colon`.
    pub name: String,
    /// The decoded value (folded, when it comes from the evaluator's cache).
    pub value: String,
}

/// A parser that reads every header field as unstructured text: a structured parse (of an
/// address list, say) would lose text a client may search for, such as a group name.
fn text_parser() -> MessageParser {
    // Registering one field makes mail-parser use the configured default for all others.
    MessageParser::new()
        .header_text(HeaderName::Subject)
        .default_header_text()
}

/// The parser for BODY and TEXT: MIME fields structured (needed to find and decode the
/// parts), every other field as unstructured text, so TEXT takes header values from this one
/// parse instead of parsing each header block again.
fn body_parser() -> MessageParser {
    MessageParser::new()
        .with_mime_headers()
        .default_header_text()
}

/// The fields of the header block at the start of `block`, in order, duplicates kept.
/// Anything after the header block is ignored.
pub fn header_fields(block: &[u8]) -> Vec<Field> {
    fields_with(&text_parser(), block)
}

fn fields_with(parser: &MessageParser, block: &[u8]) -> Vec<Field> {
    let Some(parsed) = parser.parse_headers(block) else {
        return Vec::new();
    };
    let Some(root) = parsed.parts.first() else {
        return Vec::new();
    };
    root.headers
        .iter()
        .map(|h| Field {
            name: h.name().to_string(),
            value: value_text(h.value()),
        })
        .collect()
}

fn value_text(v: &HeaderValue<'_>) -> String {
    match v {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(list) => list.join(" "),
        _ => String::new(),
    }
}

/// The folded text a BODY or TEXT key is matched against.
#[derive(Debug, Default)]
pub struct BodyText {
    /// One entry per searchable leaf part: its decoded content, folded.
    pub parts: Vec<String>,
    /// Every header field of every part and attached message as `name: value`, folded.
    /// Only filled when asked for (TEXT).
    pub headers: Vec<String>,
}

/// Decodes the body of `raw` for BODY (`with_headers` false) or TEXT (true).
///
/// What is searched, as Dovecot does: leaf parts whose type is `text/*` or `message/*` (or
/// that have no Content-Type), transfer-decoded and converted from their charset to UTF-8;
/// the bodies of attached messages, recursively. Not searched: binary parts (images,
/// `application/*`), multipart preambles and epilogues, and, for BODY, every header,
/// including the header of an attached message. TEXT adds all headers at every level.
///
/// A message with more than [`MAX_CONTENT_TYPE_FIELDS`] Content-Type fields is not parsed
/// as MIME (see there): its header and its body are searched as raw text instead.
pub fn body_text(raw: &[u8], with_headers: bool) -> BodyText {
    if content_type_fields(raw) > MAX_CONTENT_TYPE_FIELDS {
        return raw_text(raw, with_headers);
    }
    // mail-parser gives up on input without a header; the bytes are still searchable.
    let Some(message) = body_parser().parse(raw) else {
        return raw_text(raw, with_headers);
    };
    let mut out = BodyText::default();
    let header_parser = with_headers.then(text_parser);
    walk(&message, header_parser.as_ref(), &mut out);
    out
}

/// The fallback when MIME parsing is not possible: the header block and the rest, as text.
fn raw_text(raw: &[u8], with_headers: bool) -> BodyText {
    let split = header_end(raw);
    let lossy = |b: Option<&[u8]>| fold(&String::from_utf8_lossy(b.unwrap_or_default()));
    BodyText {
        parts: vec![lossy(raw.get(split..))],
        headers: if with_headers {
            vec![lossy(raw.get(..split))]
        } else {
            Vec::new()
        },
    }
}

/// mail-parser nests one value per attached-message level with no depth limit, and dropping
/// tens of thousands of levels overflows the stack (a 1.6 MB message is enough). Every
/// level needs its own Content-Type field, so counting them bounds the depth; real mail
/// stays far below this.
pub const MAX_CONTENT_TYPE_FIELDS: usize = 1000;

/// How many lines mail-parser could read as a Content-Type field: the bytes before the
/// first colon, whitespace removed (as mail-parser does), are `content-type` in any case.
/// Continuation and body lines are counted too; this is an upper bound.
fn content_type_fields(raw: &[u8]) -> usize {
    raw.split(|&b| b == b'\n')
        .filter(|line| {
            let name = match line.iter().position(|&b| b == b':') {
                Some(colon) => line.get(..colon).unwrap_or_default(),
                None => return false,
            };
            name.iter()
                .filter(|b| !b.is_ascii_whitespace())
                .map(|b| b.to_ascii_lowercase())
                .eq(b"content-type".iter().copied())
        })
        .count()
}

/// The offset just past the blank line that ends the header (the whole input if none).
fn header_end(raw: &[u8]) -> usize {
    let mut line_start = 0;
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' {
            let line = raw.get(line_start..i).unwrap_or_default();
            if line.is_empty() || line == b"\r" {
                return i + 1;
            }
            line_start = i + 1;
        }
    }
    raw.len()
}

fn walk(message: &Message<'_>, header_parser: Option<&MessageParser>, out: &mut BodyText) {
    let raw: &[u8] = message.raw_message.as_ref();
    for part in &message.parts {
        if let Some(parser) = header_parser {
            for h in &part.headers {
                let text = match h.value() {
                    HeaderValue::Text(_) | HeaderValue::TextList(_) => {
                        Some(field_line(h.name(), &value_text(h.value())))
                    }
                    _ => None,
                };
                match text {
                    Some(line) => out.headers.push(fold(&line)),
                    // A MIME field (parsed structured) or an empty one: read as text from
                    // its own bytes, as every field was read before.
                    None => {
                        let (start, end) = (h.offset_field as usize, h.offset_end as usize);
                        if let Some(block) = raw.get(start..end) {
                            for f in fields_with(parser, block) {
                                out.headers.push(fold(&field_line(&f.name, &f.value)));
                            }
                        }
                    }
                }
            }
        }
        match &part.body {
            PartType::Text(text) | PartType::Html(text) => {
                if is_textual(part) {
                    let text =
                        ascii_declared_as_utf8(part, raw).unwrap_or_else(|| text.to_string());
                    out.parts.push(fold(&text));
                }
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                if is_textual(part) {
                    out.parts.push(fold(&String::from_utf8_lossy(bytes)));
                }
            }
            PartType::Message(inner) => walk(inner, header_parser, out),
            PartType::Multipart(_) => {}
        }
    }
}

/// `name: value`, as TEXT searches a header field.
fn field_line(name: &str, value: &str) -> String {
    let mut line = String::with_capacity(name.len() + 2 + value.len());
    line.push_str(name);
    line.push_str(": ");
    line.push_str(value);
    line
}

/// Is this leaf part's content text to search? `text/*`, `message/*` (e.g.
/// `message/delivery-status`), or no Content-Type at all (which means text/plain).
fn is_textual(part: &MessagePart<'_>) -> bool {
    let ctype = part
        .headers
        .iter()
        .find(|h| h.name == HeaderName::ContentType)
        .and_then(|h| h.value().as_content_type());
    match ctype {
        None => true,
        Some(ct) => {
            ct.c_type.eq_ignore_ascii_case("text") || ct.c_type.eq_ignore_ascii_case("message")
        }
    }
}

/// mail-parser decodes a part labelled `us-ascii` as windows-1252. Mail labelled us-ascii
/// that carries 8-bit bytes is nearly always UTF-8 (and Dovecot reads it so), so for an
/// unencoded part with that label we decode the raw bytes as UTF-8 instead.
fn ascii_declared_as_utf8(part: &MessagePart<'_>, raw: &[u8]) -> Option<String> {
    if part.encoding != mail_parser::Encoding::None {
        return None;
    }
    let charset = part
        .headers
        .iter()
        .find(|h| h.name == HeaderName::ContentType)
        .and_then(|h| h.value().as_content_type())
        .and_then(|ct| ct.attribute("charset"))?;
    if !(charset.eq_ignore_ascii_case("us-ascii") || charset.eq_ignore_ascii_case("ascii")) {
        return None;
    }
    let bytes = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    if bytes.is_ascii() {
        return None;
    }
    Some(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_are_decoded_unfolded_and_kept_in_order() {
        let raw = b"Subject: =?UTF-8?B?SGVsbG8=?= =?UTF-8?Q?_W=C3=B6rld?=\r\n\
From: =?ISO-8859-1?Q?Fran=E7ois?= <f@example.fr>\r\n\
X-Folded: one\r\n two\r\n\
Subject: second\r\n\
X-Space-Before-Colon : yes\r\n\r\nbody Subject: no\r\n";
        let fields = header_fields(raw);
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("Subject", "Hello Wörld"),
                ("From", "François <f@example.fr>"),
                ("X-Folded", "one two"),
                ("Subject", "second"),
                ("X-Space-Before-Colon", "yes"),
            ]
        );
    }

    #[test]
    fn body_skips_binary_parts_and_headers_but_text_keeps_headers() {
        let raw = b"Subject: top-secret\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
preamble-words\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\nK=F6ln\r\n--b\r\n\
Content-Type: application/octet-stream\r\n\r\nbinary-words\r\n--b--\r\nepilogue-words\r\n";
        let body = body_text(raw, false);
        assert_eq!(body.parts, vec!["köln".to_string()]);
        assert!(body.headers.is_empty());
        let text = body_text(raw, true);
        assert!(text.headers.iter().any(|h| h == "subject: top-secret"));
        assert!(text.parts.iter().all(|p| !p.contains("binary-words")));
        assert!(text.parts.iter().all(|p| !p.contains("preamble-words")));
    }

    #[test]
    fn absurdly_deep_nesting_is_searched_as_raw_text_without_overflowing() {
        let mut raw = b"Subject: deep\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
        for _ in 0..50_000 {
            raw.extend_from_slice(b"Content - TYPE: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(b"Subject: x\r\n\r\nhello at the bottom\r\n");
        assert!(content_type_fields(&raw) > MAX_CONTENT_TYPE_FIELDS);
        let body = body_text(&raw, true);
        assert!(body.parts.iter().any(|p| p.contains("hello at the bottom")));
        assert!(body.headers.iter().any(|h| h.contains("subject: deep")));
        assert!(body.parts.iter().all(|p| !p.contains("subject: deep")));
    }

    #[test]
    fn nesting_below_the_limit_is_parsed_as_mime() {
        let mut raw = Vec::new();
        for _ in 0..MAX_CONTENT_TYPE_FIELDS {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(b"Subject: inner-subject\r\n\r\nhello\r\n");
        let body = body_text(&raw, false);
        assert_eq!(body.parts, vec!["hello\r\n".to_string()]);
    }

    #[test]
    fn a_message_without_header_still_has_a_body() {
        let body = body_text(b"\r\nbody only\r\n", false);
        assert!(body.parts.iter().any(|p| p.contains("body only")));
        // One line with no line end is all header (as in Dovecot): TEXT finds it, BODY not.
        let raw = b"no header, no line end";
        assert!(body_text(raw, false).parts.iter().all(|p| p.is_empty()));
        let text = body_text(raw, true);
        assert!(text
            .headers
            .iter()
            .chain(&text.parts)
            .any(|t| t.contains("no line end")));
        assert!(body_text(b"", true).parts.iter().all(|p| p.is_empty()));
    }

    #[test]
    fn us_ascii_label_with_utf8_bytes_reads_as_utf8() {
        let raw = "Content-Type: text/plain; charset=us-ascii\r\n\r\nGrüße ½\r\n".as_bytes();
        assert_eq!(body_text(raw, false).parts, vec!["grüße ½\r\n".to_string()]);
    }
}
