//! Grammar primitives every command uses (RFC 9051 §9): the error type, SP and CRLF, atoms,
//! strings and literals, numbers, sequence sets, dates, flags and mailbox names.

use std::borrow::Cow;

use compact_str::CompactString;
use nom::error::{ErrorKind, ParseError};
use nom::{Err, IResult};
use smallvec::SmallVec;

use super::words as kw;
use crate::codec::utf7::{decode_mailbox, decode_mailbox_compact};
use crate::command::MailboxName;
use crate::types::{Date, DateTime, Flag, SeqBound, SequenceSet};

/// A parser result over the bytes of one complete command.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, PError>;

/// What kind of failure a [`PError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PErrorKind {
    /// Not the grammar.
    Syntax,
    /// Search keys nested deeper than the limit.
    TooDeep,
    /// The input ended inside a literal's data: only happens when checking the prefix of a
    /// command up to a synchronizing literal, where it means "so far, so good".
    LiteralData,
}

/// A parse error: where (as bytes left to parse, so the furthest error has the fewest) and
/// what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PError {
    pub remaining: usize,
    pub expected: Cow<'static, str>,
    pub kind: PErrorKind,
}

impl PError {
    pub fn new(at: &[u8], expected: impl Into<Cow<'static, str>>) -> PError {
        PError {
            remaining: at.len(),
            expected: expected.into(),
            kind: PErrorKind::Syntax,
        }
    }
}

impl<'a> ParseError<&'a [u8]> for PError {
    fn from_error_kind(input: &'a [u8], kind: ErrorKind) -> Self {
        PError::new(
            input,
            match kind {
                ErrorKind::Digit => "a number",
                ErrorKind::Char => "a delimiter",
                _ => "valid syntax",
            },
        )
    }
    fn append(_: &'a [u8], _: ErrorKind, other: Self) -> Self {
        other
    }
    /// Between alternatives, keep the error that got furthest into the input.
    fn or(self, other: Self) -> Self {
        if other.remaining < self.remaining {
            other
        } else {
            self
        }
    }
}

/// A recoverable error (alternatives may still match) at `at`.
pub(crate) fn error<T>(at: &[u8], expected: impl Into<Cow<'static, str>>) -> PResult<'_, T> {
    Err(Err::Error(PError::new(at, expected)))
}

/// An unrecoverable error at `at`: the input is recognised but invalid.
pub(crate) fn failure<T>(at: &[u8], expected: impl Into<Cow<'static, str>>) -> PResult<'_, T> {
    Err(Err::Failure(PError::new(at, expected)))
}

/// Runs `p`; if it fails without getting past its first byte, says `what` was expected.
pub(crate) fn expect<'a, T>(
    what: &'static str,
    mut p: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> impl FnMut(&'a [u8]) -> PResult<'a, T> {
    move |i: &'a [u8]| match p(i) {
        Err(Err::Error(e)) if e.remaining >= i.len() => error(i, what),
        other => other,
    }
}

/// `ATOM-CHAR`: any CHAR except atom-specials (`(){ %*"\]`, SP and CTLs).
pub(crate) fn is_atom_char(b: u8) -> bool {
    ATOM_CHARS[b as usize]
}

/// [`is_atom_char`] for each byte value: a lookup rather than a chain of comparisons.
static ATOM_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x21;
    while b <= 0x7e {
        table[b] = !matches!(
            b as u8,
            b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']'
        );
        b += 1;
    }
    table
};

/// `ASTRING-CHAR`: `ATOM-CHAR` or `]`.
pub(crate) fn is_astring_char(b: u8) -> bool {
    ASTRING_CHARS[b as usize]
}

/// A `tag` character: any `ASTRING-CHAR` except `+`.
pub(crate) fn is_tag_char(b: u8) -> bool {
    TAG_CHARS[b as usize]
}

/// [`is_astring_char`] for each byte value.
static ASTRING_CHARS: [bool; 256] = {
    let mut table = ATOM_CHARS;
    table[b']' as usize] = true;
    table
};

/// [`is_tag_char`] for each byte value.
static TAG_CHARS: [bool; 256] = {
    let mut table = ASTRING_CHARS;
    table[b'+' as usize] = false;
    table
};

/// `list-char`: `ASTRING-CHAR` or a wildcard.
fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// Consumes one byte `c`.
pub(crate) fn byte(c: u8, what: &'static str) -> impl Fn(&[u8]) -> PResult<'_, ()> {
    move |i: &[u8]| match i.first() {
        Some(&b) if b == c => Ok((&i[1..], ())),
        _ => error(i, what),
    }
}

pub(crate) fn sp(i: &[u8]) -> PResult<'_, ()> {
    byte(b' ', "SP")(i)
}

pub(crate) fn open_paren(i: &[u8]) -> PResult<'_, ()> {
    byte(b'(', "\"(\"")(i)
}

/// The end of a line: CRLF. A bare LF is refused: accepting it would also accept a literal
/// whose announced size is one too large (its data would silently gain the CR).
pub(crate) fn crlf(i: &[u8]) -> PResult<'_, ()> {
    match i.strip_prefix(b"\r\n") {
        Some(rest) => Ok((rest, ())),
        None => error(i, "CRLF"),
    }
}

/// `atom`.
pub(crate) fn atom(i: &[u8]) -> PResult<'_, &[u8]> {
    take_run(i, is_atom_char, "atom")
}

/// An atom used as a keyword, upper-cased (keywords are case-insensitive), as a `String` to
/// keep in the command. To match it against the grammar's words, use [`word`].
pub(crate) fn keyword(i: &[u8]) -> PResult<'_, String> {
    let (rest, a) = atom(i)?;
    Ok((rest, ascii_upper(a)))
}

/// The non-empty run of bytes that satisfy `ok` at the start of `i`, or an error expecting
/// `what`: `expect(what, take_while1(ok))` without nom's generic machinery.
pub(crate) fn take_run<'a>(
    i: &'a [u8],
    ok: impl Fn(u8) -> bool,
    what: &'static str,
) -> PResult<'a, &'a [u8]> {
    let n = i.iter().position(|&b| !ok(b)).unwrap_or(i.len());
    if n == 0 {
        return error(i, what);
    }
    let (run, rest) = i.split_at(n);
    Ok((rest, run))
}

/// An atom as a [`Word`], to match against the grammar's words.
pub(crate) fn word(i: &[u8]) -> PResult<'_, Word<'_>> {
    word_of(i, is_atom_char, "atom")
}

/// The longest non-empty run of bytes that satisfy `ok` (which accepts only ASCII bytes) at
/// the start of `i`, as a [`Word`]; an error expecting `what` if there is none.
pub(crate) fn word_of<'a>(
    i: &'a [u8],
    ok: impl Fn(u8) -> bool,
    what: &'static str,
) -> PResult<'a, Word<'a>> {
    let n = i.iter().position(|&b| !ok(b)).unwrap_or(i.len());
    if n == 0 {
        return error(i, what);
    }
    Ok((&i[n..], Word::prefix(i, n)))
}

/// How many bytes of a [`Word`] its key holds: every word of the grammar but
/// `HEADER.FIELDS.NOT` fits.
const KEY_BYTES: usize = 16;

/// The key of every word longer than [`KEY_BYTES`]: no word of the grammar has it.
pub(crate) const LONG: u128 = 0;

/// The key of a grammar word (upper-case ASCII, 1 to 16 bytes), for constants to match
/// [`Word::key`] against (see `words.rs`).
pub(crate) const fn key(w: &[u8]) -> u128 {
    assert!(!w.is_empty() && w.len() <= KEY_BYTES);
    let mut k = 0;
    let mut n = 0;
    while n < w.len() {
        k |= (w[n].to_ascii_uppercase() as u128) << (8 * n);
        n += 1;
    }
    k
}

/// A word of the input (a command name, fetch item, search key...) to match against the
/// grammar's words, case-insensitively and without allocating: `key` packs its first 16
/// bytes, upper-cased, into an integer (the first byte lowest, zero-padded), so that matching
/// is an integer `match` on the constants in `words.rs`. Longer words have the key [`LONG`];
/// compare them with [`Word::is`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Word<'a> {
    pub key: u128,
    raw: &'a [u8],
}

impl<'a> Word<'a> {
    /// The word `a`.
    pub fn new(a: &'a [u8]) -> Word<'a> {
        Word::prefix(a, a.len())
    }

    /// The word of the first `n` bytes of `i`. Loads 16 bytes at once when `i` has them.
    #[inline(always)]
    fn prefix(i: &'a [u8], n: usize) -> Word<'a> {
        let raw = &i[..n];
        if n > KEY_BYTES {
            return Word { key: LONG, raw };
        }
        // The first 8 and the next 8 bytes, as integers (the first byte lowest): loaded at
        // once when the input has them (the bytes past `n` are masked off), else gathered.
        let gather = |b: &[u8]| b.iter().rev().fold(0, |acc, &b| (acc << 8) | b as u64);
        let load = |b: &[u8]| b.try_into().map_or_else(|_| gather(b), u64::from_le_bytes);
        // Most words fit in the low half: the high one is only read for longer ones.
        let key = if n <= 8 {
            let lo = match i.get(..8) {
                Some(b) => load(b) & (u64::MAX >> (8 * (8 - n))),
                None => gather(raw),
            };
            upper8(lo) as u128
        } else {
            let hi = match i.get(8..KEY_BYTES) {
                Some(b) => load(b) & (u64::MAX >> (8 * (KEY_BYTES - n))),
                None => gather(&raw[8..]),
            };
            (upper8(load(&i[..8])) as u128) | ((upper8(hi) as u128) << 64)
        };
        Word { key, raw }
    }

    /// Whether this is the grammar word `w` (any length), case-insensitively.
    pub fn is(&self, w: &[u8]) -> bool {
        self.raw.eq_ignore_ascii_case(w)
    }
}

/// Upper-cases the ASCII letters among eight bytes at once (SWAR); other bytes, 8-bit ones
/// included, are unchanged. No carry crosses a byte: each sum stays under 0x100.
fn upper8(w: u64) -> u64 {
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let low7 = w & !HIGHS;
    let from_a = low7 + u64::from_ne_bytes([0x80 - b'a'; 8]);
    let past_z = low7 + u64::from_ne_bytes([0x80 - b'z' - 1; 8]);
    let lower = from_a & !past_z & !w & HIGHS;
    w ^ (lower >> 2)
}

/// Upper-cases ASCII bytes into a `String` (atoms are ASCII; other bytes become the Latin-1
/// characters of the same value).
pub(crate) fn ascii_upper(a: &[u8]) -> String {
    let mut s = String::with_capacity(a.len());
    s.extend(a.iter().map(|&b| b.to_ascii_uppercase() as char));
    s
}

/// A lossless `String` from ASCII bytes (other bytes become the Latin-1 characters of the
/// same value).
pub(crate) fn ascii_string(a: &[u8]) -> String {
    let mut s = String::with_capacity(a.len());
    s.extend(a.iter().map(|&b| b as char));
    s
}

/// [`ascii_string`] as a [`CompactString`]: inline (no allocation) up to 24 bytes. For ASCII
/// bytes (tag and atom characters); other bytes that form UTF-8 are taken as UTF-8.
pub(crate) fn ascii_compact(a: &[u8]) -> CompactString {
    match std::str::from_utf8(a) {
        Ok(s) => CompactString::new(s),
        Err(_) => a.iter().map(|&b| b as char).collect(),
    }
}

/// The bytes [`quoted`] stops at: the closing quote, escapes, what a quoted string cannot
/// hold, and 8-bit bytes (to know whether the UTF-8 check is needed).
static QUOTED_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8, b'"' | b'\\' | b'\r' | b'\n' | 0 | 0x80..=0xff);
        b += 1;
    }
    table
};

/// `quoted`: `"..."` with `\"` and `\\` escapes. 8-bit bytes must form UTF-8 (RFC 9051
/// `UTF8-2`..`UTF8-4`); CR, LF and NUL are not allowed.
pub(crate) fn quoted(i: &[u8]) -> PResult<'_, Cow<'_, [u8]>> {
    if i.first() != Some(&b'"') {
        return error(i, "quoted string");
    }
    let mut owned: Option<Vec<u8>> = None;
    // Any 8-bit byte seen: only then is the UTF-8 check needed.
    let mut eight_bit = false;
    let mut j = 1;
    loop {
        // Skip the run of plain bytes up to the next one that needs a look.
        let run = i[j..]
            .iter()
            .position(|&b| QUOTED_STOP[b as usize])
            .map_or(i.len(), |k| j + k);
        if let Some(v) = owned.as_mut() {
            v.extend_from_slice(&i[j..run]);
        }
        j = run;
        match i.get(j) {
            Some(b'"') => {
                let value = match owned {
                    Some(v) => Cow::Owned(v),
                    None => Cow::Borrowed(&i[1..j]),
                };
                if eight_bit && std::str::from_utf8(&value).is_err() {
                    return failure(
                        i,
                        "UTF-8 in a quoted string (send other bytes as a literal)",
                    );
                }
                return Ok((&i[j + 1..], value));
            }
            Some(b'\\') => match i.get(j + 1) {
                Some(&c @ (b'"' | b'\\')) => {
                    owned.get_or_insert_with(|| i[1..j].to_vec()).push(c);
                    j += 2;
                }
                _ => {
                    return failure(
                        &i[j..],
                        "\\\" or \\\\ (only quotes and backslashes can be escaped)",
                    )
                }
            },
            None | Some(b'\r' | b'\n') => return failure(&i[j..], "closing quote"),
            Some(0) => return failure(&i[j..], "no NUL in a quoted string"),
            Some(&c) => {
                eight_bit |= c >= 0x80;
                if let Some(v) = owned.as_mut() {
                    v.push(c);
                }
                j += 1;
            }
        }
    }
}

/// `literal` (`{n}` or `{n+}`) or, when `allow8`, `literal8` (`~{n}`). Returns the data and
/// whether it was a literal8. When the input ends before the data does, fails with
/// [`PErrorKind::LiteralData`].
pub(crate) fn literal_any(i: &[u8], allow8: bool) -> PResult<'_, (&[u8], bool)> {
    let (rest, is8) = match i {
        [b'~', b'{', ..] if allow8 => (&i[2..], true),
        [b'~', b'{', ..] => {
            return failure(i, "literal (literal8 is only allowed for APPEND's message)")
        }
        [b'{', ..] => (&i[1..], false),
        _ => return error(i, "literal"),
    };
    let (rest, len) = number64(rest)?;
    let rest = rest.strip_prefix(b"+").unwrap_or(rest);
    let (rest, _) = byte(b'}', "\"}\"")(rest)?;
    let (rest, _) = crlf(rest)?;
    let Ok(len) = usize::try_from(len) else {
        return failure(i, "literal size");
    };
    if rest.len() < len {
        return Err(Err::Failure(PError {
            remaining: rest.len(),
            expected: "literal data".into(),
            kind: PErrorKind::LiteralData,
        }));
    }
    let (data, rest) = rest.split_at(len);
    if !is8 && data.contains(&0) {
        return failure(
            i,
            "literal without NUL (send binary data as a ~{n} literal8)",
        );
    }
    Ok((rest, (data, is8)))
}

/// `literal`.
pub(crate) fn literal(i: &[u8]) -> PResult<'_, &[u8]> {
    let (rest, (data, _)) = literal_any(i, false)?;
    Ok((rest, data))
}

/// `string`: quoted or literal.
pub(crate) fn string(i: &[u8]) -> PResult<'_, Cow<'_, [u8]>> {
    match i {
        [b'"', ..] => quoted(i),
        [b'{', ..] | [b'~', b'{', ..] => literal(i).map(|(r, d)| (r, Cow::Borrowed(d))),
        _ => error(i, "string"),
    }
}

/// `astring`: `1*ASTRING-CHAR` or a string.
pub(crate) fn astring(i: &[u8]) -> PResult<'_, Cow<'_, [u8]>> {
    match i {
        [b'"' | b'{', ..] | [b'~', b'{', ..] => string(i),
        _ => {
            let (rest, a) = take_run(i, is_astring_char, "astring")?;
            Ok((rest, Cow::Borrowed(a)))
        }
    }
}

/// `nstring`: `NIL` or a string.
pub(crate) fn nstring(i: &[u8]) -> PResult<'_, Option<Cow<'_, [u8]>>> {
    if i.len() >= 3
        && i[..3].eq_ignore_ascii_case(b"NIL")
        && !i.get(3).is_some_and(|&b| is_atom_char(b))
    {
        return Ok((&i[3..], None));
    }
    let (rest, s) = expect("string or NIL", string)(i)?;
    Ok((rest, Some(s)))
}

/// An astring as UTF-8 text; other bytes are a syntax error.
pub(crate) fn astring_utf8(i: &[u8]) -> PResult<'_, String> {
    let (rest, s) = astring(i)?;
    match String::from_utf8(s.into_owned()) {
        Ok(s) => Ok((rest, s)),
        Err(_) => failure(i, "UTF-8 text"),
    }
}

/// An astring as UTF-8 text (as [`astring_utf8`]) in a [`CompactString`], for short names
/// (header fields) within `bytes`, whose UTF-8 check (`text`, if they are UTF-8) was done
/// once for a whole list of them: an astring that lies in `bytes` as it is (an atom, or a
/// quoted string without escapes) is taken from `text` without checking it again.
pub(crate) fn astring_compact_in<'a>(
    i: &'a [u8],
    bytes: &[u8],
    text: Option<&str>,
) -> PResult<'a, CompactString> {
    let (rest, s) = astring(i)?;
    let checked = match (&s, text) {
        (Cow::Borrowed(part), Some(text)) => within(text, bytes, part),
        _ => None,
    };
    let name = match checked {
        Some(name) => CompactString::new(name),
        None => match std::str::from_utf8(&s) {
            Ok(name) => CompactString::new(name),
            Err(_) => return failure(i, "UTF-8 text"),
        },
    };
    Ok((rest, name))
}

/// `part`, a sub-slice of `bytes`, as the same bytes of `text`; `None` unless `text` is
/// `bytes` (the same memory) and `part` lies within it.
fn within<'t>(text: &'t str, bytes: &[u8], part: &[u8]) -> Option<&'t str> {
    if text.as_ptr() != bytes.as_ptr() || text.len() != bytes.len() {
        return None;
    }
    let start = (part.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    text.get(start..start.checked_add(part.len())?)
}

fn digits(i: &[u8]) -> PResult<'_, &[u8]> {
    take_run(i, |b| b.is_ascii_digit(), "number")
}

fn parse_digits(d: &[u8]) -> Option<u64> {
    d.iter().try_fold(0u64, |acc, &b| {
        acc.checked_mul(10)?.checked_add((b - b'0') as u64)
    })
}

/// `number`: a 32-bit unsigned number.
pub(crate) fn number(i: &[u8]) -> PResult<'_, u32> {
    let (rest, d) = digits(i)?;
    match parse_digits(d).and_then(|n| u32::try_from(n).ok()) {
        Some(n) => Ok((rest, n)),
        None => failure(i, "number at most 4294967295"),
    }
}

/// `number64`: a 63-bit unsigned number.
pub(crate) fn number64(i: &[u8]) -> PResult<'_, u64> {
    let (rest, d) = digits(i)?;
    match parse_digits(d).filter(|&n| n <= i64::MAX as u64) {
        Some(n) => Ok((rest, n)),
        None => failure(i, "number at most 9223372036854775807"),
    }
}

/// `nz-number`: a non-zero 32-bit number without leading zeros.
pub(crate) fn nz_number(i: &[u8]) -> PResult<'_, u32> {
    match i.first() {
        Some(b'1'..=b'9') => number(i),
        Some(b'0') => failure(i, "non-zero number"),
        _ => error(i, "non-zero number"),
    }
}

/// `mod-sequence-value` (non-zero) or, when `zero_ok`, `mod-sequence-valzer`.
pub(crate) fn mod_sequence(i: &[u8], zero_ok: bool) -> PResult<'_, u64> {
    let (rest, n) = number64(i)?;
    if n == 0 && !zero_ok {
        return failure(i, "non-zero mod-sequence");
    }
    Ok((rest, n))
}

/// `seq-number`: a non-zero number or `*`. Numbers are read here rather than through
/// [`nz_number`] (which gives the same values and errors): sets are in most commands.
fn seq_number(i: &[u8]) -> PResult<'_, SeqBound> {
    match i.first() {
        Some(b'*') => Ok((&i[1..], SeqBound::Star)),
        Some(b'1'..=b'9') => {
            let n = i
                .iter()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(i.len());
            // Ten digits at most cannot overflow a u64.
            let value = i[..n.min(10)]
                .iter()
                .fold(0u64, |acc, &b| acc * 10 + (b - b'0') as u64);
            match u32::try_from(value) {
                Ok(v) if n <= 10 => Ok((&i[n..], SeqBound::Value(v))),
                _ => failure(i, "number at most 4294967295"),
            }
        }
        _ => {
            let (rest, n) = expect("sequence number or *", nz_number)(i)?;
            Ok((rest, SeqBound::Value(n)))
        }
    }
}

/// `sequence-set`: ranges and numbers separated by commas, or `$` (RFC 5182).
pub(crate) fn sequence_set(i: &[u8]) -> PResult<'_, SequenceSet> {
    if let Some(rest) = i.strip_prefix(b"$") {
        return Ok((rest, SequenceSet::Saved));
    }
    let mut ranges = SmallVec::new();
    let mut rest = i;
    loop {
        let (r, a) = expect("sequence set", seq_number)(rest)?;
        let (r, b) = match r.strip_prefix(b":") {
            Some(r) => seq_number(r)?,
            None => (r, a),
        };
        ranges.push((a, b));
        match r.strip_prefix(b",") {
            Some(r) => rest = r,
            None => return Ok((r, SequenceSet::Ranges(ranges))),
        }
    }
}

fn month(i: &[u8]) -> PResult<'_, u8> {
    let Some(m) = i.get(..3) else {
        return error(i, "month");
    };
    match crate::types::MONTHS
        .iter()
        .position(|name| name.as_bytes().eq_ignore_ascii_case(m))
    {
        Some(n) => Ok((&i[3..], n as u8 + 1)),
        None => error(i, "month (Jan, Feb, ...)"),
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// `n` decimal digits exactly.
fn fixed_digits(i: &[u8], n: usize) -> PResult<'_, u32> {
    match i.get(..n) {
        Some(d) if d.iter().all(u8::is_ascii_digit) => Ok((
            &i[n..],
            d.iter().fold(0, |acc, &b| acc * 10 + (b - b'0') as u32),
        )),
        _ => error(i, "digits"),
    }
}

/// `-month-year` after the day, validated against the calendar.
fn month_year<'a>(i: &'a [u8], day: u32, start: &'a [u8]) -> PResult<'a, Date> {
    let (i, _) = byte(b'-', "\"-\"")(i)?;
    let (i, month) = month(i)?;
    let (i, _) = byte(b'-', "\"-\"")(i)?;
    let (i, year) = expect("4-digit year", |i| fixed_digits(i, 4))(i)?;
    let year = year as u16;
    if day == 0 || day > days_in_month(year, month) as u32 {
        return failure(start, "a day that exists in that month");
    }
    Ok((
        i,
        Date {
            year,
            month,
            day: day as u8,
        },
    ))
}

/// `date-text`: `1-Feb-1994` (day of one or two digits).
fn date_text(i: &[u8]) -> PResult<'_, Date> {
    let (rest, day) = match fixed_digits(i, 2) {
        Ok(r) => r,
        Err(_) => expect("date (d-Mon-yyyy)", |i| fixed_digits(i, 1))(i)?,
    };
    month_year(rest, day, i)
}

/// `date`: `date-text`, optionally in double quotes.
pub(crate) fn date(i: &[u8]) -> PResult<'_, Date> {
    match i.strip_prefix(b"\"") {
        Some(rest) => {
            let (rest, d) = date_text(rest)?;
            let (rest, _) = byte(b'"', "closing quote")(rest)?;
            Ok((rest, d))
        }
        None => date_text(i),
    }
}

/// `date-time`: `"17-Jul-1996 02:44:25 -0700"`. The day may be two digits, a space and a
/// digit (`" 7"`), or (leniently) one digit.
pub(crate) fn date_time(i: &[u8]) -> PResult<'_, DateTime> {
    let start = i;
    let (i, _) = byte(b'"', "date-time in quotes")(i)?;
    let (rest, day) = if let Some(r) = i.strip_prefix(b" ") {
        fixed_digits(r, 1)?
    } else if let Ok(r) = fixed_digits(i, 2) {
        r
    } else {
        expect("day", |i| fixed_digits(i, 1))(i)?
    };
    let (i, date) = month_year(rest, day, start)?;
    let (i, _) = sp(i)?;
    let (i, hour) = fixed_digits(i, 2)?;
    let (i, _) = byte(b':', "\":\"")(i)?;
    let (i, minute) = fixed_digits(i, 2)?;
    let (i, _) = byte(b':', "\":\"")(i)?;
    let (i, second) = fixed_digits(i, 2)?;
    let (i, _) = sp(i)?;
    let (i, sign) = match i.first() {
        Some(b'+') => (&i[1..], 1i16),
        Some(b'-') => (&i[1..], -1i16),
        _ => return error(i, "zone (+hhmm or -hhmm)"),
    };
    let (i, zh) = fixed_digits(i, 2)?;
    let (i, zm) = fixed_digits(i, 2)?;
    let (i, _) = byte(b'"', "closing quote")(i)?;
    if hour > 23 || minute > 59 || second > 60 || zm > 59 {
        return failure(start, "a valid time and zone");
    }
    Ok((
        i,
        DateTime {
            date,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            zone_minutes: sign * (zh * 60 + zm) as i16,
        },
    ))
}

/// `flag`: a system flag, `\Extension` or a keyword atom. `\Recent` cannot be set by a
/// client (RFC 3501 §2.3.2) and is refused; `\*` is not a flag.
pub(crate) fn flag(i: &[u8]) -> PResult<'_, Flag> {
    let (rest, backslash) = match i.strip_prefix(b"\\") {
        Some(r) => (r, true),
        None => (i, false),
    };
    let (rest, a) = take_run(rest, is_atom_char, "flag")?;
    if !backslash {
        return Ok((rest, Flag::Keyword(ascii_string(a))));
    }
    // As `Flag::from_atom`, without building the `\name` string for a system flag.
    let flag = match Word::new(a).key {
        kw::ANSWERED => Flag::Answered,
        kw::FLAGGED => Flag::Flagged,
        kw::DELETED => Flag::Deleted,
        kw::SEEN => Flag::Seen,
        kw::DRAFT => Flag::Draft,
        kw::RECENT => return failure(i, "a flag other than \\Recent (it cannot be set)"),
        _ => Flag::Extension(format!("\\{}", ascii_string(a))),
    };
    Ok((rest, flag))
}

/// `flag-list`: `(` [flag *(SP flag)] `)`.
pub(crate) fn flag_list(i: &[u8]) -> PResult<'_, Vec<Flag>> {
    paren_list(i, 0, flag)
}

/// `"(" item *(SP item) ")"` with at least `min` items (0 or 1).
pub(crate) fn paren_list<'a, T>(
    i: &'a [u8],
    min: usize,
    mut item: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Vec<T>> {
    let mut items = Vec::new();
    let (mut i, _) = open_paren(i)?;
    if min == 0 {
        if let Some(rest) = i.strip_prefix(b")") {
            return Ok((rest, items));
        }
    }
    loop {
        let (rest, it) = item(i)?;
        items.push(it);
        if let Some(rest) = rest.strip_prefix(b")") {
            return Ok((rest, items));
        }
        let (rest, _) = match sp(rest) {
            Ok(r) => r,
            Err(_) => return error(rest, "SP or \")\""),
        };
        i = rest;
    }
}

/// `mailbox`: an astring in modified UTF-7; `INBOX` in any case is normalised.
pub(crate) fn mailbox(i: &[u8]) -> PResult<'_, MailboxName> {
    let (rest, s) = expect("mailbox name", astring)(i)?;
    match decode_mailbox_compact(&s) {
        Ok(name) => Ok((rest, MailboxName::new(name))),
        Err(e) => failure(i, format!("mailbox name in modified UTF-7 ({e})")),
    }
}

/// A mailbox name or reference decoded from modified UTF-7, without INBOX normalisation.
pub(crate) fn mailbox_text(i: &[u8]) -> PResult<'_, String> {
    let (rest, s) = expect("mailbox name", astring)(i)?;
    match decode_mailbox(&s) {
        Ok(name) => Ok((rest, name)),
        Err(e) => failure(i, format!("mailbox name in modified UTF-7 ({e})")),
    }
}

/// `list-mailbox`: a pattern (`%` and `*` are wildcards) in modified UTF-7.
pub(crate) fn list_mailbox(i: &[u8]) -> PResult<'_, String> {
    let (rest, s) = match i {
        [b'"' | b'{', ..] | [b'~', b'{', ..] => string(i)?,
        _ => {
            let (r, a) = take_run(i, is_list_char, "mailbox pattern")?;
            (r, Cow::Borrowed(a))
        }
    };
    match decode_mailbox(&s) {
        Ok(name) => Ok((rest, name)),
        Err(e) => failure(i, format!("mailbox pattern in modified UTF-7 ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T>(r: PResult<'_, T>) -> T {
        match r {
            Ok((rest, v)) => {
                assert!(
                    rest.is_empty(),
                    "left over: {:?}",
                    String::from_utf8_lossy(rest)
                );
                v
            }
            Err(e) => panic!("parse failed: {e:?}"),
        }
    }

    #[test]
    fn strings() {
        assert_eq!(&*ok(astring(b"foo")), b"foo");
        assert_eq!(&*ok(astring(b"fo]o")), b"fo]o");
        assert_eq!(&*ok(astring(b"\"a \\\"b\\\\ c\"")), b"a \"b\\ c");
        assert_eq!(&*ok(astring(b"{3}\r\nx y")), b"x y");
        assert_eq!(&*ok(astring(b"{3+}\r\nx y")), b"x y");
        assert_eq!(&*ok(astring(b"\"\"")), b"");
        assert_eq!(
            &*ok(astring("\"caf\u{e9}\"".as_bytes())),
            "caf\u{e9}".as_bytes()
        );
        assert!(astring(b"\"a\\b\"").is_err(), "only \\\" and \\\\ escapes");
        assert!(astring(b"\"ab").is_err());
        assert!(astring(b"{3}\r\na\0b").is_err(), "NUL only in literal8");
        assert!(
            astring(b"~{3}\r\nabc").is_err(),
            "literal8 is not an astring"
        );
        assert!(astring(b"a(b").map(|(r, _)| r == b"(b").unwrap());
        assert_eq!(ok(nstring(b"nil")), None);
        assert_eq!(ok(nstring(b"\"nil\"")).as_deref(), Some(&b"nil"[..]));
    }

    #[test]
    fn astrings_checked_once_for_a_list() {
        let list: &[u8] = b"(From \"X-\\\"Q\" {3}\r\ncaf \"caf\xc3\xa9\")\r\n";
        for text in [std::str::from_utf8(list).ok(), None] {
            let (_, names) = paren_list(list, 1, |i| astring_compact_in(i, list, text)).unwrap();
            assert_eq!(names, ["From", "X-\"Q", "caf", "caf\u{e9}"]);
        }
        // Not UTF-8: refused whether or not the list was checked as a whole.
        let bad: &[u8] = b"(From {2}\r\n\xff\xfe)\r\n";
        assert!(paren_list(bad, 1, |i| astring_compact_in(i, bad, None)).is_err());
        // A `text` that is not `bytes` itself is never used.
        let (_, name) = astring_compact_in(b"abc", b"abc", Some("xyz")).unwrap();
        assert_eq!(name, "abc");
    }

    #[test]
    fn character_classes() {
        let atom_specials = b"(){ %*\"\\]";
        for b in 0..=255u8 {
            let atom = (0x21..=0x7e).contains(&b) && !atom_specials.contains(&b);
            assert_eq!(is_atom_char(b), atom, "{b:#04x}");
            assert_eq!(is_astring_char(b), atom || b == b']', "{b:#04x}");
            assert_eq!(is_tag_char(b), (atom || b == b']') && b != b'+', "{b:#04x}");
        }
    }

    #[test]
    fn literal_data_missing_is_its_own_kind() {
        match literal(b"{5}\r\nab") {
            Err(Err::Failure(e)) => assert_eq!(e.kind, PErrorKind::LiteralData),
            other => panic!("{other:?}"),
        }
        let (rest, (data, is8)) = literal_any(b"~{3}\r\na\0b", true).unwrap();
        assert!(rest.is_empty() && is8 && data == b"a\0b");
    }

    #[test]
    fn words_upper_case_ascii_letters_only() {
        let all: Vec<u8> = (0..=255).collect();
        for chunk in all.chunks(8) {
            let w = u64::from_ne_bytes(chunk.try_into().unwrap());
            let expected: Vec<u8> = chunk.iter().map(u8::to_ascii_uppercase).collect();
            assert_eq!(upper8(w).to_ne_bytes().to_vec(), expected);
        }
        assert_eq!(ok(word(b"body.peek")).key, key(b"BODY.PEEK"));
        assert_eq!(word(b"uid fetch").unwrap().1.key, kw::UID);
        assert_eq!(ok(word(b"x-sixteen-bytes!")).key, key(b"X-SIXTEEN-BYTES!"));
        let long = b"x-a-capability-name-longer-than-a-key";
        assert_eq!(ok(word(long)).key, LONG);
        assert!(ok(word(long)).is(&long.to_ascii_uppercase()));
        // A word is its own bytes only: what follows it (the rest of a 16-byte load) or a
        // prefix of another word never matches.
        assert_eq!(word(b"FLAGS.SILENT").unwrap().1.key, key(b"FLAGS.SILENT"));
        assert_ne!(word(b"UIDX").unwrap().1.key, kw::UID);
        assert_ne!(word(b"ui").unwrap().1.key, kw::UID);
        assert_ne!(Word::new(b"\xc3\x9cID").key, kw::UID);
        assert_ne!(Word::new(b"U\0ID").key, kw::UID);
        // Loaded or gathered, at the end of the input or not, a word has the same key.
        for w in [
            "uid",
            "Noop",
            "ENVELOPE",
            "rfc822.size",
            "HighestModSeq",
            "x-sixteen-bytes!",
        ] {
            let upper = w.to_ascii_uppercase();
            let expected = key(upper.as_bytes());
            assert_eq!(Word::new(w.as_bytes()).key, expected, "{w}");
            for tail in [" ", " (1 2 3 4 5 6 7 8 9)\r\n", "\r\n"] {
                let input = format!("{w}{tail}");
                assert_eq!(word(input.as_bytes()).unwrap().1.key, expected, "{input:?}");
            }
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(ok(number(b"4294967295")), u32::MAX);
        assert!(number(b"4294967296").is_err());
        assert_eq!(ok(number(b"007")), 7);
        assert!(nz_number(b"0").is_err());
        assert!(nz_number(b"012").is_err());
        assert_eq!(ok(number64(b"9223372036854775807")), i64::MAX as u64);
        assert!(number64(b"9223372036854775808").is_err());
    }

    #[test]
    fn sequence_sets() {
        use SeqBound::*;
        assert_eq!(ok(sequence_set(b"$")), SequenceSet::Saved);
        assert_eq!(
            ok(sequence_set(b"1:3,7,9:*,*:4,*")),
            SequenceSet::Ranges(smallvec::smallvec![
                (Value(1), Value(3)),
                (Value(7), Value(7)),
                (Value(9), Star),
                (Star, Value(4)),
                (Star, Star)
            ])
        );
        assert!(sequence_set(b"0").is_err());
        assert!(sequence_set(b"1:0").is_err());
        assert!(sequence_set(b",1").is_err());
        assert!(sequence_set(b"1,").is_err());
        assert_eq!(sequence_set(b"1:2:3").unwrap().0, b":3");
        // Numbers: the same limits and errors as `nz_number`.
        assert_eq!(
            ok(sequence_set(b"4294967295:1")),
            SequenceSet::Ranges(smallvec::smallvec![(Value(u32::MAX), Value(1))])
        );
        for bad in [
            &b"4294967296"[..],
            b"1:4294967296",
            b"00000000001",
            b"99999999999999999999",
        ] {
            match sequence_set(bad) {
                Err(Err::Failure(e)) if bad.starts_with(b"0") => {
                    assert_eq!(e.expected, "non-zero number")
                }
                Err(Err::Failure(e)) => assert_eq!(e.expected, "number at most 4294967295"),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
            }
        }
        match sequence_set(b"1:x") {
            Err(Err::Error(e)) => assert_eq!(e.expected, "sequence number or *"),
            other => panic!("{other:?}"),
        }
        match sequence_set(b"x") {
            Err(Err::Error(e)) => assert_eq!(e.expected, "sequence set"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dates() {
        let d = |y, m, d| Date {
            year: y,
            month: m,
            day: d,
        };
        assert_eq!(ok(date(b"1-Feb-1994")), d(1994, 2, 1));
        assert_eq!(ok(date(b"01-feb-1994")), d(1994, 2, 1));
        assert_eq!(ok(date(b"\"29-FEB-2024\"")), d(2024, 2, 29));
        assert!(date(b"29-Feb-2023").is_err());
        assert!(date(b"0-Jan-2023").is_err());
        assert!(date(b"1-Foo-2023").is_err());
        assert!(date(b"1-Jan-23").is_err());
        assert!(date(b"\"1-Jan-2023").is_err());

        let dt = ok(date_time(b"\"17-Jul-1996 02:44:25 -0700\""));
        assert_eq!(dt.to_imap(), "17-Jul-1996 02:44:25 -0700");
        assert_eq!(
            ok(date_time(b"\" 7-Jul-1996 02:44:25 +0130\"")).zone_minutes,
            90
        );
        assert_eq!(ok(date_time(b"\"7-Jul-1996 02:44:25 +0000\"")).date.day, 7);
        assert!(date_time(b"\"17-Jul-1996 24:00:00 +0000\"").is_err());
        assert!(date_time(b"\"17-Jul-1996 02:44:25\"").is_err());
        assert!(date_time(b"17-Jul-1996 02:44:25 +0000").is_err());
    }

    #[test]
    fn flags() {
        assert_eq!(ok(flag(b"\\SEEN")), Flag::Seen);
        assert_eq!(ok(flag(b"$Forwarded")), Flag::Keyword("$Forwarded".into()));
        assert_eq!(ok(flag(b"\\Custom")), Flag::Extension("\\Custom".into()));
        assert!(flag(b"\\Recent").is_err());
        assert!(flag(b"\\*").is_err());
        assert_eq!(ok(flag_list(b"()")), vec![]);
        assert_eq!(
            ok(flag_list(b"(\\Seen foo)")),
            vec![Flag::Seen, Flag::Keyword("foo".into())]
        );
        assert!(flag_list(b"(\\Seen  foo)").is_err());
        assert!(flag_list(b"( \\Seen)").is_err());
        assert!(flag_list(b"(\\Seen").is_err());
    }

    #[test]
    fn mailboxes() {
        assert_eq!(ok(mailbox(b"inbox")).as_str(), "INBOX");
        assert_eq!(ok(mailbox(b"\"InBox/Sub\"")).as_str(), "INBOX/Sub");
        assert_eq!(ok(mailbox(b"Entw&APw-rfe")).as_str(), "Entwürfe");
        assert!(mailbox("\"Entwürfe\"".as_bytes()).is_err());
        assert!(mailbox(b"&AGE-").is_err());
        assert_eq!(ok(list_mailbox(b"%/*")), "%/*");
        assert_eq!(ok(list_mailbox(b"\"\"")), "");
    }
}
