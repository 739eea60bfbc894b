//! Generic IMAP data values (NIL, numbers, atoms, strings, lists) and how they are written:
//! the one place that decides atom vs quoted string vs literal.

/// A piece of response data. ENVELOPE, BODYSTRUCTURE, ID and STATUS answers are trees of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Nil,
    Number(u64),
    /// Written as is: the caller guarantees atom syntax (e.g. `\Seen`, `UID`).
    Atom(String),
    /// A string: written quoted when it can be, else as a `{n}` literal.
    Str(Vec<u8>),
    /// A string that must be a literal (bodies).
    Literal(Vec<u8>),
    /// `~{n}` literal8 (RFC 3516), for binary content.
    Literal8(Vec<u8>),
    List(Vec<Value>),
    /// Values written back to back with no space between them: the grammar's `1*address`
    /// in an address list and `1*body` in a multipart body (RFC 3501/9051 formal syntax).
    Seq(Vec<Value>),
}

impl Value {
    /// A string value from text.
    pub fn str(s: impl AsRef<[u8]>) -> Value {
        Value::Str(s.as_ref().to_vec())
    }
    /// `NIL` for `None`, else a string.
    pub fn nstr<S: AsRef<[u8]>>(s: Option<S>) -> Value {
        match s {
            Some(s) => Value::str(s),
            None => Value::Nil,
        }
    }
    /// Appends the wire form of this value to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Value::Nil => out.extend_from_slice(b"NIL"),
            Value::Number(n) => write_number(out, *n),
            Value::Atom(a) => out.extend_from_slice(a.as_bytes()),
            Value::Str(s) => write_string(out, s),
            Value::Literal(s) => write_literal(out, s),
            Value::Literal8(s) => {
                out.push(b'~');
                write_literal(out, s)
            }
            Value::List(items) => {
                out.push(b'(');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    item.write(out);
                }
                out.push(b')');
            }
            Value::Seq(items) => items.iter().for_each(|item| item.write(out)),
        }
    }
    /// The wire form as a fresh buffer (tests, small values).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v);
        v
    }
}

/// Longest string we send quoted; longer ones go as literals so no line grows without bound.
const MAX_QUOTED: usize = 1024;

/// Byte classes for quoted strings: bit 1 marks a byte that needs a backslash (`"` and `\`),
/// bit 2 one that a quoted string cannot hold (8-bit, CR, LF, NUL).
static QUOTED_CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        class[b] = match b as u8 {
            b'"' | b'\\' => 1,
            0 | b'\r' | b'\n' | 0x80..=0xff => 2,
            _ => 0,
        };
        b += 1;
    }
    class
};

/// The classes of the bytes of `s`, or-ed together (see [`QUOTED_CLASS`]).
fn quoted_class(s: &[u8]) -> u8 {
    s.iter().fold(0, |acc, &b| acc | QUOTED_CLASS[b as usize])
}

/// Can `s` be sent as a quoted string? (RFC 9051 `quoted`: 7-bit text without CR, LF, NUL.)
pub fn quotable(s: &[u8]) -> bool {
    s.len() <= MAX_QUOTED && quoted_class(s) & 2 == 0
}

/// Writes `s` as a quoted string (escaping `"` and `\`) or, if it cannot be, a literal.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    let class = if s.len() <= MAX_QUOTED {
        quoted_class(s)
    } else {
        2
    };
    if class & 2 != 0 {
        return write_literal(out, s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    if class == 0 {
        out.extend_from_slice(s);
    } else {
        for &b in s {
            if QUOTED_CLASS[b as usize] == 1 {
                out.push(b'\\');
            }
            out.push(b);
        }
    }
    out.push(b'"');
}

/// Writes `{n}\r\n` followed by the bytes.
pub fn write_literal(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'{');
    write_number(out, s.len() as u64);
    out.extend_from_slice(b"}\r\n");
    out.extend_from_slice(s);
}

/// Writes a number in decimal, without an intermediate `String`.
pub fn write_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Writes `s` as an atom if it is one (and not `NIL`), else as a string.
pub fn write_astring(out: &mut Vec<u8>, s: &[u8]) {
    let is_atom = !s.is_empty()
        && !s.eq_ignore_ascii_case(b"NIL")
        && s.iter().all(|&b| is_atom_char(b) || b == b']');
    if is_atom {
        out.extend_from_slice(s);
    } else {
        write_string(out, s);
    }
}

/// ATOM-CHAR of RFC 9051: any CHAR except atom-specials.
pub fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_in_full_after_what_came_before() {
        let mut out = b"x".to_vec();
        for n in [0, 7, 9, 10, 99, 100, 4_294_967_295, 9_999_999_999, u64::MAX] {
            write_number(&mut out, n);
            out.push(b' ');
        }
        assert_eq!(
            out,
            b"x0 7 9 10 99 100 4294967295 9999999999 18446744073709551615 ".to_vec()
        );
    }

    #[test]
    fn strings_pick_their_form_by_content() {
        assert_eq!(Value::str("Hello").to_bytes(), b"\"Hello\"");
        assert_eq!(Value::str("a\"b\\c").to_bytes(), b"\"a\\\"b\\\\c\"");
        assert_eq!(Value::str("crème").to_bytes(), "{6}\r\ncrème".as_bytes());
        assert_eq!(Value::str("a\r\nb").to_bytes(), b"{4}\r\na\r\nb");
        assert_eq!(Value::Literal8(b"\0".to_vec()).to_bytes(), b"~{1}\r\n\0");
        let l = Value::List(vec![
            Value::Nil,
            Value::Number(7),
            Value::Atom("\\Seen".into()),
        ]);
        assert_eq!(l.to_bytes(), b"(NIL 7 \\Seen)");
        for n in [0, 9, 10, 4_294_967_295, u64::MAX] {
            assert_eq!(Value::Number(n).to_bytes(), n.to_string().as_bytes());
        }
    }

    #[test]
    fn astrings_avoid_nil_and_specials() {
        let mut out = Vec::new();
        write_astring(&mut out, b"INBOX");
        out.push(b' ');
        write_astring(&mut out, b"NIL");
        out.push(b' ');
        write_astring(&mut out, b"my box");
        assert_eq!(out, b"INBOX \"NIL\" \"my box\"");
    }
}
