//! The searchable text of one message, decoded with mail-parser: header fields (RFC 2047
//! words decoded, unfolded) and the text of its text parts (transfer-decoded, in UTF-8).

use std::cell::OnceCell;

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MessagePart, PartType};

use super::text::{ascii_lower, fold, Needle};

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
    if may_have_too_many_content_types(raw) && content_type_fields(raw) > MAX_CONTENT_TYPE_FIELDS {
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

/// A message whose searchable text is its own bytes: one part, `text/*` (or no
/// Content-Type), neither base64 nor quoted-printable, in UTF-8 or US-ASCII (or no charset),
/// under a plain header block (see [`plain_text`]). BODY and TEXT search such a message
/// without mail-parser, with the same answers as [`body_text`] gives.
#[derive(Debug)]
pub struct PlainText<'a> {
    /// The whole message.
    raw: &'a [u8],
    /// The header block, up to the blank line.
    block: &'a [u8],
    /// Each header field as `name: value`, folded, as [`body_text`] makes them; joined by
    /// `\n`, which no field line contains. UTF-8. Built when a term needs it.
    header: OnceCell<Vec<u8>>,
    /// The body: everything after the blank line that ends the header.
    body: &'a [u8],
}

impl PlainText<'_> {
    /// Is the term in a header field line (TEXT's share of the header)?
    pub fn header_has(&self, needle: &Needle) -> bool {
        let term = needle.folded();
        // A line never holds a line feed, and the lines are joined by one.
        if term.contains('\n') {
            return false;
        }
        // A term without blanks is found in a field line only within a run of it without
        // blanks, and every such run (the name and its colon, or a piece of a line's text)
        // is in the header block as written, ASCII case aside, when the block is ASCII
        // (folding is then ASCII lower-casing). So a term the block does not hold is in no
        // field line, and the lines need not be built.
        if !term.contains([' ', '\t', '\r'])
            && needle.found_in_bytes(self.block) == Some(false)
            && self.block.is_ascii()
        {
            return false;
        }
        let header = self
            .header
            .get_or_init(|| scan(self.raw, true).map(|s| s.header).unwrap_or_default());
        needle.found_in_folded_bytes(header)
    }

    /// Is the term in the body? `None` when only the decoded text can tell (see
    /// [`Needle::found_in_bytes`]).
    pub fn body_has(&self, needle: &Needle) -> Option<bool> {
        needle.found_in_bytes(self.body)
    }
}

/// What [`scan`] finds in a plain message.
struct Scan<'a> {
    block: &'a [u8],
    /// The field lines, when asked for; otherwise only the Content-Transfer-Encoding one.
    header: Vec<u8>,
    body: &'a [u8],
}

/// `raw` as a [`PlainText`], when its text needs no decoding; `None` sends it to
/// [`body_text`]. To give the same text as mail-parser does, the header block must be
/// plain: CRLF line ends and no other CR, every field line `name:` with a name of printable
/// ASCII, continuation lines only after a field, no `=?` anywhere (no encoded words), no
/// Content-ID or Content-Disposition field, Content-Type and Content-Transfer-Encoding at
/// most once each, and a blank line at its end. A field value is then what mail-parser's
/// unstructured parser makes of it: each line's text with spaces and tabs trimmed, lines
/// joined by one space.
pub fn plain_text(raw: &[u8]) -> Option<PlainText<'_>> {
    let scan = scan(raw, false)?;
    Some(PlainText {
        raw,
        block: scan.block,
        header: OnceCell::new(),
        body: scan.body,
    })
}

/// Checks that `raw` is plain (see [`plain_text`]) and, with `build`, makes its folded field
/// lines.
fn scan(raw: &[u8], build: bool) -> Option<Scan<'_>> {
    // body_text searches a message with too many Content-Type lines as raw text.
    if may_have_too_many_content_types(raw) {
        return None;
    }
    // The header block, each line ended by CRLF, and where the body starts.
    let (block, body_start) = if raw.starts_with(b"\r\n") {
        (&raw[..0], 2)
    } else {
        let at = memchr::memmem::find(raw, b"\n\r\n")?;
        (raw.get(..=at)?, at + 3)
    };
    // Every CR ends a line (checked below with the line ends), and no encoded word.
    let crs = memchr::memchr_iter(b'\r', block).count();
    if memchr::memchr_iter(b'=', block).any(|i| block.get(i + 1) == Some(&b'?')) {
        return None;
    }
    let mut header: Vec<u8> = Vec::with_capacity(block.len() + 64);
    let mut content_type: Option<&[u8]> = None;
    // Where the Content-Transfer-Encoding value is in `header`.
    let mut encoding: Option<(usize, usize)> = None;
    // The field being read: is it the encoding, where its value starts in `header`, does
    // it have text yet.
    let mut in_field = false;
    let mut field_is_encoding = false;
    let mut keep = false;
    let mut value_start = 0;
    let mut has_text = false;
    let mut lines = 0;
    let mut pos = 0;
    for nl in memchr::memchr_iter(b'\n', block) {
        lines += 1;
        let line = block.get(pos..nl)?.strip_suffix(b"\r")?;
        let next = nl + 1;
        if field_is_encoding {
            encoding = Some((value_start, header.len()));
        }
        let text = match line.first() {
            None => return None,
            Some(b' ' | b'\t') => {
                if !in_field {
                    return None;
                }
                line
            }
            Some(_) => {
                let colon = line
                    .iter()
                    .position(|&b| b == b':' || !(0x21..0x7f).contains(&b))?;
                let name = line.get(..colon)?;
                if name.is_empty() || line.get(colon) != Some(&b':') {
                    return None;
                }
                field_is_encoding = name.eq_ignore_ascii_case(b"content-transfer-encoding");
                if field_is_encoding && encoding.is_some() {
                    return None;
                }
                // Without `build`, only the encoding's value is made (it is checked below).
                keep = build || field_is_encoding;
                if keep {
                    if !header.is_empty() {
                        header.push(b'\n');
                    }
                    header.extend(name.iter().map(|&b| ascii_lower(b)));
                    header.extend_from_slice(b": ");
                }
                in_field = true;
                value_start = header.len();
                has_text = false;
                if name.eq_ignore_ascii_case(b"content-type") {
                    // The value with its continuation lines, up to the end of the field.
                    if content_type.is_some() {
                        return None;
                    }
                    let mut end = next;
                    while let Some(b' ' | b'\t') = raw.get(end) {
                        end += memchr::memchr(b'\n', raw.get(end..)?)? + 1;
                    }
                    content_type = Some(raw.get(pos + colon + 1..end)?);
                } else if name.eq_ignore_ascii_case(b"content-id")
                    || name.eq_ignore_ascii_case(b"content-disposition")
                {
                    return None;
                }
                line.get(colon + 1..)?
            }
        };
        // The line's text: what is between its first and last byte other than space or tab
        // (mail-parser also skips CR, which a line holds none of here).
        let blank = |b: &u8| *b == b' ' || *b == b'\t';
        let first = text.iter().position(|b| !blank(b));
        let last = text.iter().rposition(|b| !blank(b));
        if let (Some(first), Some(last), true) = (first, last, keep) {
            let text = text.get(first..=last)?;
            if has_text {
                header.push(b' ');
            }
            has_text = true;
            if text.is_ascii() {
                header.extend(text.iter().map(|&b| ascii_lower(b)));
            } else {
                header.extend_from_slice(fold(&String::from_utf8_lossy(text)).as_bytes());
            }
        }
        pos = next;
    }
    if field_is_encoding {
        encoding = Some((value_start, header.len()));
    }
    if crs != lines {
        return None;
    }
    if let Some((start, end)) = encoding {
        let value = header.get(start..end)?;
        if !value.is_ascii() || value == b"base64" || value == b"quoted-printable" {
            return None;
        }
    }
    if let Some(value) = content_type {
        if !plain_content_type(value) {
            return None;
        }
    }
    Some(Scan {
        block,
        header,
        body: raw.get(body_start..)?,
    })
}

/// Is a Content-Type value (the bytes after the colon, to the end of the field) `text/*`
/// in UTF-8 or US-ASCII or no charset? Only simple values are read (no quotes, comments,
/// escapes or RFC 2231 parameters), with mail-parser's own parser, so the type and charset
/// are the ones its full parse sees.
fn plain_content_type(value: &[u8]) -> bool {
    simple_content_type(value).unwrap_or_else(|| parsed_content_type(value))
}

/// [`plain_content_type`] for the common shape, without a parser: one line, `text/subtype`
/// in lower case, then `; name=value` parameters with lower-case names and token values.
/// `None` for anything else (and for a repeated charset). The property test
/// `simple_content_type_agrees_with_mail_parser` checks it against mail-parser.
fn simple_content_type(value: &[u8]) -> Option<bool> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let skip_blank = |v: &[u8]| -> usize { v.iter().take_while(|b| blank(b)).count() };
    let token =
        |v: &[u8], ok: fn(u8) -> bool| -> usize { v.iter().take_while(|&&b| ok(b)).count() };
    fn lower_token(b: u8) -> bool {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
    }
    let mut rest = value.get(skip_blank(value)..)?.strip_prefix(b"text/")?;
    let subtype = token(rest, |b| lower_token(b) || b == b'.' || b == b'+');
    if subtype == 0 {
        return None;
    }
    rest = rest.get(subtype..)?;
    let mut charset: Option<&[u8]> = None;
    loop {
        rest = rest.get(skip_blank(rest)..)?;
        if rest == b"\r\n" {
            break;
        }
        rest = rest.strip_prefix(b";")?;
        rest = rest.get(skip_blank(rest)..)?;
        let name_len = token(rest, lower_token);
        let name = rest.get(..name_len)?;
        rest = rest.get(name_len..)?.strip_prefix(b"=")?;
        let value_len = token(rest, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+')
        });
        if name_len == 0 || value_len == 0 {
            return None;
        }
        if name == b"charset" {
            if charset.is_some() {
                return None;
            }
            charset = rest.get(..value_len);
        }
        rest = rest.get(value_len..)?;
    }
    Some(charset.is_none_or(|cs| {
        [&b"utf-8"[..], b"utf8", b"us-ascii", b"ascii"]
            .iter()
            .any(|ok| cs.eq_ignore_ascii_case(ok))
    }))
}

/// [`plain_content_type`] through mail-parser's own Content-Type parser.
fn parsed_content_type(value: &[u8]) -> bool {
    let simple = value.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\t' | b'\r' | b'\n' | b'/' | b';' | b'=' | b'-' | b'_' | b'.' | b'+'
            )
    });
    if !simple {
        return false;
    }
    let mut stream = mail_parser::parsers::MessageStream::new(value);
    let parsed = stream.parse_content_type();
    let Some(ct) = parsed.as_content_type() else {
        return false;
    };
    if stream.offset() != value.len() || ct.ctype() != "text" {
        return false;
    }
    match ct.attribute("charset") {
        None => true,
        Some(cs) => ["utf-8", "utf8", "us-ascii", "ascii"]
            .iter()
            .any(|ok| cs.eq_ignore_ascii_case(ok)),
    }
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

/// False when `raw` certainly has at most [`MAX_CONTENT_TYPE_FIELDS`] lines that
/// [`content_type_fields`] counts: each such line holds `content-type:` and a line feed (14
/// bytes), and there must be more of them than the limit; or, for larger input, when it has
/// too few lines.
fn may_have_too_many_content_types(raw: &[u8]) -> bool {
    raw.len() > MAX_CONTENT_TYPE_FIELDS * 14 && line_count(raw) > MAX_CONTENT_TYPE_FIELDS
}

/// How many line feeds `raw` holds (a bound on [`content_type_fields`]). Counted in runs
/// of 255 with a byte-sized counter, which the compiler turns into vector code.
fn line_count(raw: &[u8]) -> usize {
    raw.chunks(255)
        .map(|run| {
            let n = run.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'));
            usize::from(n)
        })
        .sum()
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

    /// What BODY (`text` false) or TEXT answer through mail-parser.
    fn decoded_has(raw: &[u8], term: &str, text: bool) -> bool {
        let needle = Needle::new(term);
        let body = body_text(raw, text);
        body.headers
            .iter()
            .chain(&body.parts)
            .any(|t| needle.found_in(t))
    }

    /// The same through the plain path, when it answers.
    fn plain_has(plain: &PlainText<'_>, term: &str, text: bool) -> Option<bool> {
        let needle = Needle::new(term);
        if text && plain.header_has(&needle) {
            return Some(true);
        }
        plain.body_has(&needle)
    }

    /// Terms drawn from `raw` itself: pieces of every decoded header line and body line,
    /// across line ends, in other cases, plus a few fixed ones.
    fn terms_of(raw: &[u8]) -> Vec<String> {
        let body = body_text(raw, true);
        let mut terms: Vec<String> = ["", " ", "\r\n", "\n", "\r", ": ", "zzz-absent", "k", "i"]
            .map(String::from)
            .to_vec();
        for t in body.headers.iter().chain(&body.parts) {
            let chars: Vec<char> = t.chars().collect();
            for (i, len) in [(0usize, 3usize), (2, 9), (5, 20), (0, 40), (10, 80)] {
                for start in (i..chars.len()).step_by(37) {
                    let piece: String = chars.iter().skip(start).take(len).collect();
                    terms.push(piece.to_uppercase());
                    terms.push(piece);
                }
            }
        }
        terms
    }

    fn assert_same_answers(raw: &[u8], name: &str) -> bool {
        let Some(plain) = plain_text(raw) else {
            return false;
        };
        for term in terms_of(raw) {
            for text in [false, true] {
                if let Some(found) = plain_has(&plain, &term, text) {
                    assert_eq!(
                        found,
                        decoded_has(raw, &term, text),
                        "{name}: {term:?} (TEXT: {text})"
                    );
                }
            }
        }
        true
    }

    /// Stored bytes: bare LF becomes CRLF, as the store keeps them.
    fn crlf(raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &b) in raw.iter().enumerate() {
            if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    }

    #[test]
    fn plain_path_answers_like_mail_parser_on_the_golden_messages() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/testdata/golden/messages");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return; // the shared corpus is not part of every checkout
        };
        let mut plain = Vec::new();
        for entry in entries {
            let path = entry.expect("dir entry").path();
            let raw = crlf(&std::fs::read(&path).expect("read message"));
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if assert_same_answers(&raw, &name) {
                plain.push(name);
            }
        }
        plain.sort();
        assert!(plain.len() >= 10, "plain: {plain:?}");
        assert!(
            plain.contains(&"001-plain-7bit.eml".to_string()),
            "{plain:?}"
        );
    }

    const PLAIN: &[u8] = b"From: Alice <a@example.test>\r\n\
Subject: a long subject\r\n  folded  \t here\r\n\t \r\n\
X-Empty:\r\n\
X-Spaces:   \r\n\
X-Form-Feed: \x0c feed \x0c\r\n\
X-Tight:value\r\n\
X-Tabs: a\tb  \r\n\t c\r\n\
Content-Type: text/plain;\r\n charset=UTF-8; format=flowed\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln, QUOKKA.\r\nsecond line\r\n";

    #[test]
    fn plain_messages_take_the_plain_path_with_the_same_answers() {
        assert!(assert_same_answers(PLAIN, "plain"));
        let plain = plain_text(PLAIN).expect("plain");
        for (term, text, want) in [
            ("subject: a long subject folded  \t here", true, Some(true)),
            ("x-empty: ", true, Some(true)),
            ("x-spaces: ", true, Some(true)),
            ("here x-empty", true, Some(false)),
            ("quokka.\r\nSECOND", false, Some(true)),
            ("köln", false, None),
            ("from: alice", false, Some(false)),
            ("x-tight:value", true, Some(false)),
            ("x-tight: value", true, Some(true)),
            ("a\tb c", true, Some(true)),
            ("a b", true, Some(false)),
        ] {
            assert_eq!(plain_has(&plain, term, text), want, "{term:?}");
            assert_eq!(
                decoded_has(PLAIN, term, text),
                want.unwrap_or(true),
                "{term:?}"
            );
        }
        for (variant, why) in [
            (
                &b"Content-Type: text/html\r\n\r\n<b>Hi</b> there\r\n"[..],
                "html",
            ),
            (
                b"Subject: no content type\r\n\r\nhello\r\n",
                "no content type",
            ),
            (
                b"Content-Type: text/plain; charset=us-ascii\r\n\r\n8-bit \xc3\xa9t\xc3\xa9\r\n",
                "us-ascii label",
            ),
            (
                b"Content-Type: TEXT/PLAIN; CHARSET=UTF8\r\n\r\nbad \xff utf-8\r\n",
                "upper case",
            ),
            (b"\r\nno header at all\r\n", "no header"),
            (
                b"Content-Transfer-Encoding: x-unknown\r\n\r\nencoded? no\r\n",
                "unknown cte",
            ),
            (
                b"Subject: \xc4\xb0stanbul \xe2\x84\xaaelvin\r\n\r\nistanbul \xe2\x84\xaa\r\n",
                "kelvin",
            ),
        ] {
            assert!(assert_same_answers(variant, why), "{why} is plain");
        }
    }

    #[test]
    fn messages_that_need_decoding_take_mail_parser() {
        for (raw, why) in [
            (
                &b"Subject: =?UTF-8?B?SGVsbG8=?=\r\n\r\nbody\r\n"[..],
                "encoded word",
            ),
            (
                b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n",
                "base64",
            ),
            (
                b"Content-Transfer-Encoding: Quoted-Printable\r\n\r\nK=F6ln\r\n",
                "qp",
            ),
            (
                b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nK\xf6ln\r\n",
                "latin-1",
            ),
            (
                b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
                "multipart",
            ),
            (
                b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nx\r\n",
                "message",
            ),
            (b"Content-Type: application/pdf\r\n\r\n%PDF\r\n", "binary"),
            (
                b"Content-Type: text/plain; charset=\"utf-8\"\r\n\r\nx\r\n",
                "quoted parameter",
            ),
            (
                b"Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx\r\n",
                "two types",
            ),
            (b"Content-ID: <a@b>\r\n\r\nx\r\n", "content-id"),
            (b"Subject : spaced\r\n\r\nx\r\n", "space before colon"),
            (b"Subject: bare\nTo: lf\r\n\r\nx\r\n", "bare LF"),
            (b"Subject: no blank line\r\n", "unterminated header"),
            (b" Subject: leading space\r\n\r\nx\r\n", "leading space"),
        ] {
            assert!(plain_text(raw).is_none(), "{why}");
        }
        let mut many = b"Subject: x\r\n\r\n".to_vec();
        for _ in 0..=MAX_CONTENT_TYPE_FIELDS {
            many.extend_from_slice(b"content-type:\n");
        }
        assert!(plain_text(&many).is_none());
        assert_eq!(
            body_text(&many, true).headers,
            vec!["subject: x\r\n\r\n".to_string()]
        );
        // As many lines that are not Content-Type fields: plain.
        let lines = many.len() - 17;
        let mut plain = b"Subject: x\r\n\r\n".to_vec();
        plain.resize(plain.len() + lines, b'\n');
        assert_same_answers(&plain, "many lines");
    }

    proptest::proptest! {
        #[test]
        fn simple_content_type_agrees_with_mail_parser(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    " ", "\t", "text/", "text", "/", "plain", "html", "Plain", "TEXT/", ";", "=",
                    "charset", "Charset", "utf-8", "UTF-8", "utf8", "us-ascii", "ASCII",
                    "iso-8859-1", "format", "flowed", "delsp", "yes", "x.y+z", "\"", "(", "*",
                    "\r\n", "\r\n ", "?", "=?", "_",
                ]),
                0..14,
            )
        ) {
            // Most strings that start with a type are in the simple shape or near it.
            for value in [format!(" {}\r\n", pieces.concat()), format!(" text/{}\r\n", pieces.concat())] {
                if let Some(fast) = simple_content_type(value.as_bytes()) {
                    proptest::prop_assert_eq!(fast, parsed_content_type(value.as_bytes()), "{:?}", value);
                }
            }
        }
    }

    #[test]
    fn simple_content_types_are_read_without_the_parser() {
        for (value, want) in [
            (" text/plain; charset=UTF-8; format=flowed\r\n", Some(true)),
            (" text/plain\r\n", Some(true)),
            ("\ttext/html ;charset=us-ascii \r\n", Some(true)),
            (" text/plain; charset=iso-8859-1\r\n", Some(false)),
            (" text/plain; charset=utf-8; charset=latin1\r\n", None),
            (" Text/Plain\r\n", None),
            (" text/plain; charset=\"utf-8\"\r\n", None),
            (" text/plain;\r\n charset=utf-8\r\n", None),
            (" multipart/mixed; boundary=x\r\n", None),
        ] {
            assert_eq!(simple_content_type(value.as_bytes()), want, "{value:?}");
            if let Some(want) = want {
                assert_eq!(parsed_content_type(value.as_bytes()), want, "{value:?}");
            }
        }
    }

    #[test]
    fn us_ascii_label_with_utf8_bytes_reads_as_utf8() {
        let raw = "Content-Type: text/plain; charset=us-ascii\r\n\r\nGrüße ½\r\n".as_bytes();
        assert_eq!(body_text(raw, false).parts, vec!["grüße ½\r\n".to_string()]);
    }
}
