//! Shared by the golden-corpus tests (`golden_fetch`, `golden_session`): where the corpus
//! lives, and a tokenizer for IMAP responses that turns them into token trees (quoted strings
//! and literals alike become [`Tok::Str`]: their form is a free choice) and splits a response
//! stream into responses.
#![allow(dead_code)]

use std::path::PathBuf;

/// `shared/testdata/golden`, next to the workspace.
pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/golden")
}

/// A response token tree. Quoted strings and literals are both `Str`: their form is a choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Nil,
    Atom(String),
    Str(Vec<u8>),
    List(Vec<Tok>),
}

/// Reads values from `b` starting at `i`. Every method fails (instead of panicking) on input
/// that is not well-formed, so a test can report a malformed response as a mismatch.
pub struct Lexer<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Result<u8, String> {
        self.b
            .get(self.i)
            .copied()
            .ok_or_else(|| format!("response ends early (at {})", self.i))
    }

    pub fn skip_sp(&mut self) {
        while self.i < self.b.len() && self.b[self.i] == b' ' {
            self.i += 1;
        }
    }

    /// `{n}\r\n` + n bytes, at the `{`.
    fn literal(&mut self) -> Result<Vec<u8>, String> {
        let close = self.b[self.i..]
            .iter()
            .position(|&c| c == b'}')
            .ok_or("literal without `}`")?
            + self.i;
        let n: usize = std::str::from_utf8(&self.b[self.i + 1..close])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("bad literal length")?;
        if self.b.get(close + 1..close + 3) != Some(b"\r\n") {
            return Err("literal length not followed by CRLF".into());
        }
        let start = close + 3;
        let data = self
            .b
            .get(start..start + n)
            .ok_or("literal runs past the end")?;
        self.i = start + n;
        Ok(data.to_vec())
    }

    /// One value: a list, a quoted string, a literal(8), NIL or an atom.
    pub fn value(&mut self) -> Result<Tok, String> {
        self.skip_sp();
        match self.peek()? {
            b'(' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_sp();
                    if self.peek()? == b')' {
                        self.i += 1;
                        return Ok(Tok::List(items));
                    }
                    items.push(self.value()?);
                }
            }
            b'"' => {
                self.i += 1;
                let mut s = Vec::new();
                loop {
                    match self.peek()? {
                        b'"' => break,
                        b'\\' => {
                            self.i += 1;
                            s.push(self.peek()?);
                        }
                        c => s.push(c),
                    }
                    self.i += 1;
                }
                self.i += 1;
                Ok(Tok::Str(s))
            }
            b'{' => Ok(Tok::Str(self.literal()?)),
            b'~' => {
                self.i += 1;
                Ok(Tok::Str(self.literal()?))
            }
            _ => {
                // An atom; a `[` runs to its `]` (section labels contain spaces and parens).
                let start = self.i;
                let mut depth = 0;
                while self.i < self.b.len() {
                    let c = self.b[self.i];
                    match c {
                        b'[' => depth += 1,
                        b']' => depth -= 1,
                        b'\r' | b'\n' => break,
                        b' ' | b'(' | b')' if depth == 0 => break,
                        _ => {}
                    }
                    self.i += 1;
                }
                if self.i == start {
                    return Err(format!("unexpected byte {:?} at {}", self.b[start], start));
                }
                let a = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
                Ok(if a == "NIL" { Tok::Nil } else { Tok::Atom(a) })
            }
        }
    }
}

/// One value filling all of `b`.
pub fn tokenize(b: &[u8]) -> Tok {
    let mut l = Lexer { b, i: 0 };
    let t = l.value().unwrap();
    assert_eq!(l.i, b.len(), "trailing bytes after value");
    t
}

/// One item of a FETCH response: its name, its value, and the value's exact bytes.
#[derive(Debug, Clone)]
pub struct FetchItem {
    pub name: String,
    pub value: Tok,
    pub raw: Vec<u8>,
}

/// The items of a parenthesized FETCH list starting at `b[i]` (the `(`); returns them and the
/// position after the `)`.
pub fn fetch_item_list(b: &[u8], i: usize) -> Result<(Vec<FetchItem>, usize), String> {
    let mut l = Lexer { b, i };
    if l.peek()? != b'(' {
        return Err("FETCH data is not a list".into());
    }
    l.i += 1;
    let mut items = Vec::new();
    // Exactly one space between a name and its value and between items (RFC 9051 grammar).
    loop {
        match l.peek()? {
            b')' => {
                l.i += 1;
                return Ok((items, l.i));
            }
            b' ' if !items.is_empty() => l.i += 1,
            _ if items.is_empty() => {}
            c => {
                return Err(format!(
                    "space or `)` expected after an item, got {:?}",
                    c as char
                ))
            }
        }
        if l.peek()? == b' ' {
            return Err("two spaces between FETCH items".into());
        }
        let name = match l.value()? {
            Tok::Atom(a) => a,
            other => return Err(format!("item name expected, got {}", show(&other))),
        };
        if l.peek()? != b' ' || l.b.get(l.i + 1) == Some(&b' ') {
            return Err(format!("one space expected after {name}"));
        }
        l.i += 1;
        let start = l.i;
        let value = l.value()?;
        items.push(FetchItem {
            name,
            value,
            raw: b[start..l.i].to_vec(),
        });
    }
}

/// The item list of one `* n FETCH (...)\r\n` as (name, value) pairs.
pub fn fetch_items(resp: &[u8]) -> Vec<(String, Tok)> {
    assert!(resp.starts_with(b"* "), "not untagged");
    let open = resp.iter().position(|&c| c == b'(').unwrap();
    let (items, end) = fetch_item_list(resp, open).unwrap();
    assert_eq!(&resp[end..], b"\r\n", "one FETCH response expected");
    items.into_iter().map(|it| (it.name, it.value)).collect()
}

/// One response of a server's output.
#[derive(Debug, Clone)]
pub enum Response {
    /// `tag|* OK|NO|BAD|BYE|PREAUTH [code] text`. `tag` is `None` for `*`.
    Status {
        tag: Option<String>,
        status: String,
        code: Option<String>,
        text: String,
    },
    /// `* 3 FETCH (...)`: the number and the items.
    Fetch { seq: u32, items: Vec<FetchItem> },
    /// Any other untagged data (`* SEARCH 1 2`, `* FLAGS (...)`, `* 81 EXISTS`).
    Data(Vec<Tok>),
    /// `+ text`.
    Continuation(String),
}

impl Response {
    pub fn is_tagged(&self) -> bool {
        matches!(self, Response::Status { tag: Some(_), .. })
    }
}

/// Splits a server's output into responses (every one must end with CRLF).
pub fn parse_responses(b: &[u8]) -> Result<Vec<Response>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let (r, next) = parse_response(b, i).map_err(|e| format!("response at {i}: {e}"))?;
        out.push(r);
        i = next;
    }
    Ok(out)
}

fn line_end(b: &[u8], i: usize) -> Result<usize, String> {
    b[i..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| p + i)
        .ok_or_else(|| "line without CRLF".to_string())
}

fn parse_response(b: &[u8], i: usize) -> Result<(Response, usize), String> {
    let sp = |from: usize| b[from..].iter().position(|&c| c == b' ').map(|p| p + from);
    if b[i..].starts_with(b"+") {
        let end = line_end(b, i)?;
        let text = String::from_utf8_lossy(&b[i + 1..end]).trim().to_string();
        return Ok((Response::Continuation(text), end + 2));
    }
    let first_end = sp(i).ok_or("no space after the tag")?;
    let first = String::from_utf8_lossy(&b[i..first_end]).into_owned();
    let second_end = sp(first_end + 1).unwrap_or(b.len());
    let second_end = second_end.min(line_end(b, first_end + 1)?);
    let second = String::from_utf8_lossy(&b[first_end + 1..second_end]).to_ascii_uppercase();
    if matches!(second.as_str(), "OK" | "NO" | "BAD" | "BYE" | "PREAUTH") {
        let end = line_end(b, i)?;
        let mut rest = String::from_utf8_lossy(&b[second_end..end])
            .trim_start()
            .to_string();
        let mut code = None;
        if rest.starts_with('[') {
            // The code ends at the first `]` outside parentheses.
            let mut depth = 0;
            let at = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    c == ']' && depth == 0
                })
                .map(|(k, _)| k)
                .ok_or("response code without `]`")?;
            code = Some(rest[1..at].to_string());
            rest = rest[at + 1..].trim_start().to_string();
        }
        let tag = (first != "*").then_some(first);
        let r = Response::Status {
            tag,
            status: second,
            code,
            text: rest,
        };
        return Ok((r, end + 2));
    }
    if first != "*" {
        return Err(format!(
            "tagged response without a status: {first} {second}"
        ));
    }
    if second.bytes().all(|c| c.is_ascii_digit()) {
        let after = sp(first_end + 1).ok_or("no space after the number")?;
        if b[after + 1..].len() >= 6 && b[after + 1..after + 6].eq_ignore_ascii_case(b"FETCH") {
            let seq = second.parse().map_err(|_| "bad sequence number")?;
            let (items, end) = fetch_item_list(b, after + 7)?;
            if b.get(end..end + 2) != Some(b"\r\n") {
                return Err("FETCH response not followed by CRLF".into());
            }
            return Ok((Response::Fetch { seq, items }, end + 2));
        }
    }
    let mut l = Lexer {
        b,
        i: first_end + 1,
    };
    let mut toks = Vec::new();
    loop {
        l.skip_sp();
        if b[l.i..].starts_with(b"\r\n") {
            return Ok((Response::Data(toks), l.i + 2));
        }
        toks.push(l.value()?);
    }
}

/// A token tree as text, for failure messages.
pub fn show(t: &Tok) -> String {
    match t {
        Tok::Nil => "NIL".into(),
        Tok::Atom(a) => a.clone(),
        Tok::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
        Tok::List(items) => format!("({})", items.iter().map(show).collect::<Vec<_>>().join(" ")),
    }
}
