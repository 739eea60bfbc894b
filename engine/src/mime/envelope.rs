//! ENVELOPE (RFC 9051 §7.5.2): the raw header text of the originator, recipient and
//! identification fields, with address lists split Dovecot-style (encoded words undecoded).

use super::header::read_quoted;
use serde::{Deserialize, Serialize};

use super::header::{self, Field};
use super::ParsedMessage;
use crate::response::Value;

/// One ENVELOPE address, or a group start (`mailbox` is the group name, no host) or group end
/// (all `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Display name (or a comment standing in for it), raw: encoded words stay encoded.
    pub name: Option<Vec<u8>>,
    /// Obsolete source route, e.g. `@relay1.example,@relay2.example`.
    pub adl: Option<Vec<u8>>,
    /// Local part, unquoted; the group name for a group start.
    pub mailbox: Option<Vec<u8>>,
    /// Domain; `MISSING_DOMAIN` when the address has none; `None` for group markers.
    pub host: Option<Vec<u8>>,
}

/// The ENVELOPE fields of a message (or of an encapsulated message/rfc822).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Date field text, unparsed (an obsolete or broken date passes through).
    pub date: Option<Vec<u8>>,
    /// Subject text, whitespace runs collapsed, encoded words undecoded.
    pub subject: Option<Vec<u8>>,
    /// From addresses (all From fields, concatenated); empty is NIL.
    pub from: Vec<Address>,
    /// Sender, or From when absent or empty.
    pub sender: Vec<Address>,
    /// Reply-To, or From when absent or empty.
    pub reply_to: Vec<Address>,
    /// To addresses.
    pub to: Vec<Address>,
    /// Cc addresses.
    pub cc: Vec<Address>,
    /// Bcc addresses.
    pub bcc: Vec<Address>,
    /// In-Reply-To field text as written (comments included).
    pub in_reply_to: Option<Vec<u8>>,
    /// Message-ID field text.
    pub message_id: Option<Vec<u8>>,
}

impl ParsedMessage {
    /// The message's `ENVELOPE`.
    pub fn envelope(&self) -> Value {
        self.envelope.to_value()
    }
}

impl Envelope {
    /// Builds the envelope from a header's fields. Unstructured fields come from their last
    /// copy; address fields from all copies, concatenated. An absent or empty Sender or
    /// Reply-To copies From.
    pub(crate) fn from_header(raw: &[u8], fields: &[Field]) -> Envelope {
        let last = |name: &[u8]| {
            fields
                .iter()
                .rev()
                .find(|f| f.name(raw).eq_ignore_ascii_case(name))
                .map(|f| header::unfold(f.raw_value(raw)))
        };
        let addrs = |name: &[u8]| {
            fields
                .iter()
                .filter(|f| f.name(raw).eq_ignore_ascii_case(name))
                .flat_map(|f| parse_addresses(f.raw_value(raw)))
                .collect::<Vec<_>>()
        };
        let from = addrs(b"From");
        let mut sender = addrs(b"Sender");
        if sender.is_empty() {
            sender = from.clone();
        }
        let mut reply_to = addrs(b"Reply-To");
        if reply_to.is_empty() {
            reply_to = from.clone();
        }
        Envelope {
            date: last(b"Date"),
            subject: last(b"Subject").map(|s| header::for_humans(&s)),
            from,
            sender,
            reply_to,
            to: addrs(b"To"),
            cc: addrs(b"Cc"),
            bcc: addrs(b"Bcc"),
            in_reply_to: last(b"In-Reply-To"),
            message_id: last(b"Message-ID"),
        }
    }

    /// The RFC 9051 `envelope` value.
    pub fn to_value(&self) -> Value {
        let list = |a: &[Address]| {
            if a.is_empty() {
                Value::Nil
            } else {
                // `"(" 1*address ")"`: no space between the addresses.
                Value::List(vec![Value::Seq(
                    a.iter()
                        .map(|a| {
                            Value::List(vec![
                                Value::nstr(a.name.as_ref()),
                                Value::nstr(a.adl.as_ref()),
                                Value::nstr(a.mailbox.as_ref()),
                                Value::nstr(a.host.as_ref()),
                            ])
                        })
                        .collect(),
                )])
            }
        };
        Value::List(vec![
            Value::nstr(self.date.as_ref()),
            Value::nstr(self.subject.as_ref()),
            list(&self.from),
            list(&self.sender),
            list(&self.reply_to),
            list(&self.to),
            list(&self.cc),
            list(&self.bcc),
            Value::nstr(self.in_reply_to.as_ref()),
            Value::nstr(self.message_id.as_ref()),
        ])
    }
}

/// An RFC 5322 address token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// Atom or dot-atom (or a domain literal), as written.
    Atom(Vec<u8>),
    /// Quoted string, unescaped.
    Quoted(Vec<u8>),
    /// Comment text, without the parentheses.
    Comment(Vec<u8>),
    Special(u8),
}

fn tokenize(v: &[u8]) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                let mut depth = 0usize;
                let mut text = Vec::new();
                while let Some(&c) = v.get(i) {
                    i += 1;
                    match c {
                        b'\\' => {
                            if let Some(&n) = v.get(i) {
                                text.push(n);
                                i += 1;
                            }
                        }
                        b'(' => {
                            if depth > 0 {
                                text.push(c);
                            }
                            depth += 1;
                        }
                        b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                            text.push(c);
                        }
                        b'\r' | b'\n' => {}
                        _ => text.push(c),
                    }
                }
                toks.push(Tok::Comment(text));
            }
            b'"' => {
                i += 1;
                toks.push(Tok::Quoted(read_quoted(v, &mut i)));
            }
            b'[' => {
                let start = i;
                while let Some(&c) = v.get(i) {
                    i += 1;
                    if c == b']' {
                        break;
                    }
                }
                toks.push(Tok::Atom(v.get(start..i).unwrap_or_default().to_vec()));
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b'\\' | b')' | b']' => {
                toks.push(Tok::Special(b));
                i += 1;
            }
            _ => {
                let start = i;
                while let Some(&c) = v.get(i) {
                    if matches!(
                        c,
                        b' ' | b'\t'
                            | b'\r'
                            | b'\n'
                            | b'('
                            | b')'
                            | b'<'
                            | b'>'
                            | b'@'
                            | b','
                            | b';'
                            | b':'
                            | b'\\'
                            | b'"'
                            | b'['
                            | b']'
                    ) {
                        break;
                    }
                    i += 1;
                }
                toks.push(Tok::Atom(v.get(start..i).unwrap_or_default().to_vec()));
            }
        }
    }
    toks
}

fn is(t: Option<&Tok>, c: u8) -> bool {
    t == Some(&Tok::Special(c))
}

/// Words of a display name joined by single spaces; comments are left out.
fn phrase(toks: &[Tok]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for t in toks {
        let w = match t {
            Tok::Atom(w) | Tok::Quoted(w) => w,
            Tok::Special(c) if *c != b'<' => {
                out.push(*c);
                continue;
            }
            _ => continue,
        };
        if !out.is_empty() && !w.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(w);
    }
    let out = header::for_humans(&out);
    (!out.is_empty()).then_some(out)
}

/// Parses an address list: mailboxes, groups (start and end markers), routes.
pub(crate) fn parse_addresses(v: &[u8]) -> Vec<Address> {
    let toks = tokenize(v);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if is(toks.get(i), b',') || is(toks.get(i), b';') {
            i += 1;
            continue;
        }
        let stop = toks
            .iter()
            .skip(i)
            .position(|t| matches!(t, Tok::Special(b':' | b'<' | b',' | b';')))
            .map(|p| p + i);
        if let Some(k) = stop.filter(|&k| is(toks.get(k), b':')) {
            out.push(Address {
                mailbox: Some(phrase(toks.get(i..k).unwrap_or_default()).unwrap_or_default()),
                ..Address::default()
            });
            i = k + 1;
            while i < toks.len() && !is(toks.get(i), b';') {
                if is(toks.get(i), b',') {
                    i += 1;
                } else {
                    mailbox(&toks, &mut i, &mut out, true);
                }
            }
            i += 1;
            out.push(Address::default());
        } else {
            mailbox(&toks, &mut i, &mut out, false);
        }
    }
    out
}

/// Parses one mailbox from `i`, leaving `i` at the `,` (or `;` in a group) that ends it.
fn mailbox(toks: &[Tok], i: &mut usize, out: &mut Vec<Address>, in_group: bool) {
    let mut angle = false;
    let mut end = toks.len();
    for (k, t) in toks.iter().enumerate().skip(*i) {
        match t {
            Tok::Special(b'<') => angle = true,
            Tok::Special(b'>') => angle = false,
            Tok::Special(b',') if !angle => {
                end = k;
                break;
            }
            Tok::Special(b';') if in_group && !angle => {
                end = k;
                break;
            }
            _ => {}
        }
    }
    let item = toks.get(*i..end).unwrap_or_default();
    *i = end;
    if item.is_empty() {
        return;
    }
    let mut addr = Address::default();
    let spec: &[Tok] = match item.iter().position(|t| is(Some(t), b'<')) {
        Some(lt) => {
            addr.name = phrase(item.get(..lt).unwrap_or_default());
            let inner = item.get(lt + 1..).unwrap_or_default();
            let gt = inner
                .iter()
                .position(|t| is(Some(t), b'>'))
                .unwrap_or(inner.len());
            let mut inner = inner.get(..gt).unwrap_or_default();
            if is(inner.first(), b'@') {
                if let Some(colon) = inner.iter().position(|t| is(Some(t), b':')) {
                    let mut adl = Vec::new();
                    for t in inner.get(..colon).unwrap_or_default() {
                        match t {
                            Tok::Atom(w) | Tok::Quoted(w) => adl.extend_from_slice(w),
                            Tok::Special(c) => adl.push(*c),
                            Tok::Comment(_) => {}
                        }
                    }
                    addr.adl = Some(adl);
                    inner = inner.get(colon + 1..).unwrap_or_default();
                }
            }
            inner
        }
        None => {
            addr.name = item.iter().find_map(|t| match t {
                Tok::Comment(c) if !c.is_empty() => Some(header::for_humans(c)),
                _ => None,
            });
            item
        }
    };
    let at = spec.iter().position(|t| is(Some(t), b'@'));
    let join = |toks: &[Tok]| {
        let mut s = Vec::new();
        for t in toks {
            match t {
                Tok::Atom(w) | Tok::Quoted(w) => s.extend_from_slice(w),
                _ => {}
            }
        }
        s
    };
    let (local, host) = match at {
        Some(at) => (
            join(spec.get(..at).unwrap_or_default()),
            join(spec.get(at + 1..).unwrap_or_default()),
        ),
        None => (join(spec), Vec::new()),
    };
    if local.is_empty() && host.is_empty() && addr.name.is_none() {
        return;
    }
    addr.mailbox = Some(local);
    addr.host = Some(if host.is_empty() {
        b"MISSING_DOMAIN".to_vec()
    } else {
        host
    });
    out.push(addr);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, adl: Option<&str>, mb: Option<&str>, host: Option<&str>) -> Address {
        let o = |s: Option<&str>| s.map(|s| s.as_bytes().to_vec());
        Address {
            name: o(name),
            adl: o(adl),
            mailbox: o(mb),
            host: o(host),
        }
    }

    #[test]
    fn names_quotes_comments_and_missing_domain() {
        let got = parse_addresses(
            br#""The \"Boss\"" <boss@example.com>, jane@example.com (Jane Doe), localonly, "" <e@x.org>"#,
        );
        assert_eq!(
            got,
            vec![
                a(
                    Some("The \"Boss\""),
                    None,
                    Some("boss"),
                    Some("example.com")
                ),
                a(Some("Jane Doe"), None, Some("jane"), Some("example.com")),
                a(None, None, Some("localonly"), Some("MISSING_DOMAIN")),
                a(None, None, Some("e"), Some("x.org")),
            ]
        );
    }

    #[test]
    fn groups_and_routes() {
        let got = parse_addresses(b"A Group: Ann <ann@x.com>;, <@r1.example,@r2.example:u@y.org>");
        assert_eq!(
            got,
            vec![
                a(None, None, Some("A Group"), None),
                a(Some("Ann"), None, Some("ann"), Some("x.com")),
                a(None, None, None, None),
                a(
                    None,
                    Some("@r1.example,@r2.example"),
                    Some("u"),
                    Some("y.org")
                ),
            ]
        );
    }

    #[test]
    fn encoded_words_stay_encoded() {
        let got = parse_addresses(b"=?UTF-8?B?QWxpY2U=?= =?UTF-8?B?IEV4YW1wbGU=?= <a@x.com>");
        assert_eq!(
            got[0].name.as_deref(),
            Some(&b"=?UTF-8?B?QWxpY2U=?= =?UTF-8?B?IEV4YW1wbGU=?="[..])
        );
    }
}
