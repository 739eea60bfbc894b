//! Header blocks: where a header ends, its fields (split by `mail-parser`, kept as raw byte
//! offsets), unfolding, and the Dovecot-style MIME parameter list parser.

use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, MessageParser};

/// One header field as byte offsets into the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    /// Start of the field name.
    pub start: usize,
    /// Just after the colon.
    pub value_start: usize,
    /// After the field's final line end.
    pub end: usize,
}

impl Field {
    /// The field name as written, without surrounding whitespace.
    pub fn name<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        let colon = self.value_start.saturating_sub(1);
        trim(raw.get(self.start..colon).unwrap_or_default())
    }
    /// The raw value: after the colon up to the end, with the final line end removed.
    pub fn raw_value<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        let v = raw.get(self.value_start..self.end).unwrap_or_default();
        let v = v.strip_suffix(b"\n").unwrap_or(v);
        v.strip_suffix(b"\r").unwrap_or(v)
    }
    /// The whole field, name to final line end.
    pub fn raw<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.start..self.end).unwrap_or_default()
    }
}

/// Splits a header block into fields with `mail-parser`'s header tokenizer, which skips lines
/// without a colon and keeps every field's offsets. `block` starts at `base` in the message.
pub(crate) fn fields(block: &[u8], base: usize) -> Vec<Field> {
    // A non-empty header map makes mail-parser use the default function (skip, no allocation)
    // for every other field; we only want the offsets.
    let conf = MessageParser::new()
        .ignore_header(HeaderName::Subject)
        .default_header_ignore();
    let mut stream = MessageStream::new(block);
    let mut headers = Vec::new();
    stream.parse_headers(&conf, &mut headers);
    headers
        .iter()
        .map(|h| Field {
            start: base + h.offset_field as usize,
            value_start: base + h.offset_start as usize,
            end: base + h.offset_end as usize,
        })
        .collect()
}

/// Unfolds a raw value: CR and LF are dropped, a TAB becomes a space, leading and trailing
/// whitespace goes (Dovecot's ENVELOPE and BODYSTRUCTURE text fields).
pub(crate) fn unfold(v: &[u8]) -> Vec<u8> {
    let out: Vec<u8> = v
        .iter()
        .filter(|&&b| b != b'\r' && b != b'\n')
        .map(|&b| if b == b'\t' { b' ' } else { b })
        .collect();
    trim(&out).to_vec()
}

/// Text "for humans" (subjects, display names), as Dovecot sends it: CR and LF dropped, every
/// run of spaces and TABs becomes one space, no leading or trailing whitespace.
pub(crate) fn for_humans(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    for &b in v {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => {
                if out.last().is_some_and(|&l| l != b' ') {
                    out.push(b' ');
                }
            }
            _ => out.push(b),
        }
    }
    if out.last() == Some(&b' ') {
        out.pop();
    }
    out
}

/// Strips ASCII whitespace from both ends.
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// A parsed `Content-Type` / `Content-Disposition` value: the first token (and the part after
/// `/`, for types) and the parameters in Dovecot's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParamValue {
    pub value: Vec<u8>,
    pub sub: Option<Vec<u8>>,
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A lexical token of a structured MIME header (RFC 2045 tspecials, comments skipped).
#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Word(Vec<u8>),
    Quoted(Vec<u8>),
    Special(u8),
}

fn is_tspecial(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')'
            | b'<'
            | b'>'
            | b'@'
            | b','
            | b';'
            | b':'
            | b'\\'
            | b'"'
            | b'/'
            | b'['
            | b']'
            | b'?'
            | b'='
    )
}

/// Tokenizes a structured value, dropping comments and folding whitespace. Quoted strings lose
/// their quotes and backslash escapes.
fn tokenize(v: &[u8]) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                let mut depth = 0usize;
                while let Some(&c) = v.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            b'"' => {
                i += 1;
                toks.push(Tok::Quoted(read_quoted(v, &mut i)));
            }
            _ if is_tspecial(b) => {
                toks.push(Tok::Special(b));
                i += 1;
            }
            _ => {
                let start = i;
                while let Some(&c) = v.get(i) {
                    if c <= b' ' || c == 0x7f || is_tspecial(c) {
                        break;
                    }
                    i += 1;
                }
                toks.push(Tok::Word(v.get(start..i).unwrap_or_default().to_vec()));
            }
        }
    }
    toks
}

/// Parses `type/subtype; a=b; ...` (or `inline; filename=...` when `with_sub` is false).
/// Plain parameters keep header order; RFC 2231 parameters (`name*...`) follow them with their
/// continuations joined in index order; an extended one keeps its `*` and its raw value.
pub(crate) fn parse_params(v: &[u8], with_sub: bool) -> ParamValue {
    let toks = tokenize(v);
    let mut it = toks.into_iter().peekable();
    let mut out = ParamValue::default();
    if let Some(Tok::Word(w)) = it.peek() {
        out.value = w.clone();
        it.next();
        if with_sub && it.peek() == Some(&Tok::Special(b'/')) {
            it.next();
            if let Some(Tok::Word(w)) = it.peek() {
                out.sub = Some(w.clone());
                it.next();
            }
        }
    }
    // (name, index, extended, value) for RFC 2231 pieces.
    let mut pieces: Vec<(Vec<u8>, u32, bool, Vec<u8>)> = Vec::new();
    loop {
        // Skip to the next `;`.
        match it.next() {
            None => break,
            Some(Tok::Special(b';')) => {}
            Some(_) => continue,
        }
        let Some(Tok::Word(name)) = it.peek() else {
            continue;
        };
        let name = name.clone();
        it.next();
        if it.peek() != Some(&Tok::Special(b'=')) {
            continue;
        }
        it.next();
        let value = match it.peek() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => {
                let w = w.clone();
                it.next();
                w
            }
            _ => Vec::new(),
        };
        match name.iter().position(|&b| b == b'*') {
            None => out.params.push((name, value)),
            Some(star) => {
                let base = name.get(..star).unwrap_or_default().to_vec();
                let rest = name.get(star + 1..).unwrap_or_default();
                let (idx, ext) = if rest.is_empty() {
                    (None, true)
                } else {
                    let (digits, ext) = match rest.strip_suffix(b"*") {
                        Some(d) => (d, true),
                        None => (rest, false),
                    };
                    let idx = std::str::from_utf8(digits)
                        .ok()
                        .and_then(|d| d.parse::<u32>().ok());
                    (idx, ext)
                };
                match idx {
                    Some(idx) => pieces.push((base, idx, ext, value)),
                    None if rest.is_empty() => pieces.push((base, 0, ext, value)),
                    None => out.params.push((name, value)),
                }
            }
        }
    }
    // Join continuations per name, in order of first appearance.
    let mut names: Vec<Vec<u8>> = Vec::new();
    for (n, ..) in &pieces {
        if !names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            names.push(n.clone());
        }
    }
    for n in names {
        let mut parts: Vec<&(Vec<u8>, u32, bool, Vec<u8>)> = pieces
            .iter()
            .filter(|p| p.0.eq_ignore_ascii_case(&n))
            .collect();
        parts.sort_by_key(|p| p.1);
        let ext = parts.first().is_some_and(|p| p.2);
        let mut value = Vec::new();
        for p in parts {
            value.extend_from_slice(&p.3);
        }
        let mut key = n;
        if ext {
            key.push(b'*');
        }
        out.params.push((key, value));
    }
    out
}

/// Splits a comma-separated token list (Content-Language), comments dropped.
pub(crate) fn parse_list(v: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    for t in tokenize(v) {
        match t {
            Tok::Special(b',') => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            Tok::Word(w) | Tok::Quoted(w) => cur.extend_from_slice(&w),
            Tok::Special(c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The content of a quoted string whose opening `"` is just before `*i`: backslash escapes
/// undone, folding CR/LF dropped; `*i` ends after the closing quote (or at the end).
pub(super) fn read_quoted(v: &[u8], i: &mut usize) -> Vec<u8> {
    let mut s = Vec::new();
    while let Some(&c) = v.get(*i) {
        *i += 1;
        match c {
            b'"' => break,
            b'\\' => {
                if let Some(&n) = v.get(*i) {
                    s.push(n);
                    *i += 1;
                }
            }
            b'\r' | b'\n' => {}
            _ => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_raw_offsets_and_skip_colonless_lines() {
        let h = b"Subject: a\r\n b\r\nno colon here\r\nX-Y : z\r\n\r\n";
        let f = fields(h, 0);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name(h), b"Subject");
        assert_eq!(f[0].raw_value(h), b" a\r\n b");
        assert_eq!(f[1].name(h), b"X-Y");
        assert_eq!(f[1].raw(h), b"X-Y : z\r\n");
    }

    #[test]
    fn params_in_dovecot_order() {
        let p = parse_params(
            b"application/octet-stream; name*1=\"ments.bin\"; name*0=\"seg\"; x-plain=after (c)",
            true,
        );
        assert_eq!(p.value, b"application");
        assert_eq!(p.sub.as_deref(), Some(&b"octet-stream"[..]));
        assert_eq!(
            p.params,
            vec![
                (b"x-plain".to_vec(), b"after".to_vec()),
                (b"name".to_vec(), b"segments.bin".to_vec())
            ]
        );
        let p = parse_params(b"attachment; filename*=UTF-8''a%20b", false);
        assert_eq!(
            p.params,
            vec![(b"filename*".to_vec(), b"UTF-8''a%20b".to_vec())]
        );
    }
}
