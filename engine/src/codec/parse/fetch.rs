//! FETCH and STORE: fetch items with body sections and partials, macros, `CHANGEDSINCE`;
//! store operations with `.SILENT` and `UNCHANGEDSINCE` (RFC 9051 §6.4.5-6, RFC 3516, RFC 7162).

use super::core::*;
use super::words as kw;
use crate::command::{CommandBody, FetchAttr, FetchAttrs, Partial, Section, SectionText, StoreOp};

/// `FETCH sequence-set SP (macro / fetch-att / "(" fetch-att *(SP fetch-att) ")")
/// [SP "(" CHANGEDSINCE n ")"]`, after the command name.
pub(crate) fn fetch(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (i, _) = sp(i)?;
    let (i, set) = sequence_set(i)?;
    let (i, _) = sp(i)?;
    let (i, attrs) = if i.first() == Some(&b'(') {
        let (rest, items) = paren_list(i, 1, fetch_att)?;
        (rest, FetchAttrs::Items(items))
    } else {
        let (rest, name) = expect("fetch attribute or macro", fetch_name)(i)?;
        match name.key {
            kw::ALL => (rest, FetchAttrs::All),
            kw::FAST => (rest, FetchAttrs::Fast),
            kw::FULL => (rest, FetchAttrs::Full),
            _ => {
                let (rest, att) = fetch_att(i)?;
                (rest, FetchAttrs::Items(vec![att]))
            }
        }
    };
    let mut changed_since = None;
    let i = match i.strip_prefix(b" ") {
        Some(rest) => {
            let (rest, mods) = paren_list(rest, 1, |i| {
                let (r, name) = expect("fetch modifier", word)(i)?;
                if name.key != kw::CHANGEDSINCE {
                    return error(i, "fetch modifier CHANGEDSINCE");
                }
                let (r, _) = sp(r)?;
                mod_sequence(r, false)
            })?;
            changed_since = mods.last().copied();
            rest
        }
        None => i,
    };
    Ok((
        i,
        CommandBody::Fetch {
            uid,
            set,
            attrs,
            changed_since,
        },
    ))
}

/// A fetch item name: letters, digits and dots (`BODY.PEEK`, `RFC822.SIZE`), upper-cased.
fn fetch_name(i: &[u8]) -> PResult<'_, Word<'_>> {
    word_of(i, |b| FETCH_NAME_CHARS[b as usize], "valid syntax")
}

/// The bytes of a fetch item name, as a lookup rather than a chain of comparisons.
static FETCH_NAME_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric() || b as u8 == b'.';
        b += 1;
    }
    table
};

/// One `fetch-att`.
fn fetch_att(i: &[u8]) -> PResult<'_, FetchAttr> {
    use FetchAttr as A;
    let (rest, name) = expect("fetch attribute", fetch_name)(i)?;
    let has_section = rest.first() == Some(&b'[');
    Ok(match name.key {
        kw::ENVELOPE => (rest, A::Envelope),
        kw::FLAGS => (rest, A::Flags),
        kw::INTERNALDATE => (rest, A::InternalDate),
        kw::RFC822 => (rest, A::Rfc822),
        kw::RFC822_HEADER => (rest, A::Rfc822Header),
        kw::RFC822_SIZE => (rest, A::Rfc822Size),
        kw::RFC822_TEXT => (rest, A::Rfc822Text),
        kw::BODYSTRUCTURE => (rest, A::BodyStructure),
        kw::UID => (rest, A::Uid),
        kw::MODSEQ => (rest, A::ModSeq),
        kw::BODY if !has_section => (rest, A::Body),
        kw::BODY | kw::BODY_PEEK => {
            let (rest, section) = section(rest)?;
            let (rest, partial) = partial(rest)?;
            let peek = name.key == kw::BODY_PEEK;
            (
                rest,
                A::BodySection {
                    peek,
                    section,
                    partial,
                },
            )
        }
        kw::BINARY | kw::BINARY_PEEK => {
            let (rest, section) = section_binary(rest)?;
            let (rest, partial) = partial(rest)?;
            let peek = name.key == kw::BINARY_PEEK;
            (
                rest,
                A::Binary {
                    peek,
                    section,
                    partial,
                },
            )
        }
        kw::BINARY_SIZE => {
            let (rest, section) = section_binary(rest)?;
            (rest, A::BinarySize { section })
        }
        kw::ALL | kw::FAST | kw::FULL => {
            return failure(
                i,
                "fetch attribute (macros ALL, FAST and FULL stand alone, not in a list)",
            )
        }
        _ => return error(i, "fetch attribute"),
    })
}

/// `section`: `[` [section-spec] `]`. Part numbers are non-zero (`BODY[0]` is refused);
/// `MIME` only follows a part number.
fn section(i: &[u8]) -> PResult<'_, Section> {
    let (i, _) = byte(b'[', "\"[\"")(i)?;
    if let Some(rest) = i.strip_prefix(b"]") {
        return Ok((rest, Section::default()));
    }
    let (mut i, part) = section_part(i)?;
    let mut text = None;
    let text_follows = if part.is_empty() {
        true
    } else if let Some(rest) = i.strip_prefix(b".") {
        i = rest;
        true
    } else {
        false
    };
    if text_follows {
        let (rest, t) = section_text(i, !part.is_empty())?;
        text = Some(t);
        i = rest;
    }
    let (i, _) = byte(b']', "\"]\"")(i)?;
    Ok((i, Section { part, text }))
}

/// `section-part`: `nz-number *("." nz-number)`, possibly empty. Stops before a `.` that is
/// not followed by a digit.
fn section_part(mut i: &[u8]) -> PResult<'_, Vec<u32>> {
    let mut part = Vec::new();
    loop {
        match i.first() {
            Some(b'0'..=b'9') => {
                let (rest, n) = expect("part number", nz_number)(i)?;
                part.push(n);
                i = rest;
            }
            _ => return Ok((i, part)),
        }
        match i {
            [b'.', b'0'..=b'9', ..] => i = &i[1..],
            _ => return Ok((i, part)),
        }
    }
}

/// `section-msgtext` or, after a part number, `MIME`.
fn section_text(i: &[u8], after_part: bool) -> PResult<'_, SectionText> {
    let (rest, name) = expect(
        "section text (HEADER, HEADER.FIELDS, TEXT, MIME)",
        fetch_name,
    )(i)?;
    Ok(match name.key {
        kw::HEADER => (rest, SectionText::Header),
        kw::TEXT => (rest, SectionText::Text),
        kw::MIME if after_part => (rest, SectionText::Mime),
        kw::MIME => return failure(i, "a part number before MIME"),
        kw::HEADER_FIELDS | LONG
            if name.key == kw::HEADER_FIELDS || name.is(b"HEADER.FIELDS.NOT") =>
        {
            let (list, _) = sp(rest)?;
            // Lists run to 20 names: check the rest of the command as UTF-8 once (it is
            // ASCII but for a rare literal) rather than each name.
            let text = std::str::from_utf8(list).ok();
            let field = |i| astring_compact_in(i, list, text);
            let (rest, fields) = paren_list(list, 1, expect("header field name", field))?;
            let not = name.key != kw::HEADER_FIELDS;
            (rest, SectionText::HeaderFields { not, fields })
        }
        _ => return error(i, "section text (HEADER, HEADER.FIELDS, TEXT, MIME)"),
    })
}

/// `section-binary`: `[` [section-part] `]`.
fn section_binary(i: &[u8]) -> PResult<'_, Section> {
    let (i, _) = byte(b'[', "\"[\"")(i)?;
    let (i, part) = section_part(i)?;
    let (i, _) = byte(b']', "\"]\" (BINARY takes part numbers only)")(i)?;
    Ok((i, Section { part, text: None }))
}

/// `partial`: `<start.length>`, or leniently `<start>`. The length is non-zero.
fn partial(i: &[u8]) -> PResult<'_, Option<Partial>> {
    let Some(rest) = i.strip_prefix(b"<") else {
        return Ok((i, None));
    };
    let (rest, start) = number(rest)?;
    let (rest, length) = match rest.strip_prefix(b".") {
        Some(r) => {
            let (r, n) = expect("non-zero length", nz_number)(r)?;
            (r, Some(n))
        }
        None => (rest, None),
    };
    let (rest, _) = byte(b'>', "\">\"")(rest)?;
    Ok((rest, Some(Partial { start, length })))
}

/// `STORE sequence-set [SP "(" UNCHANGEDSINCE n ")"] SP ["+"/"-"] FLAGS[.SILENT] SP
/// (flag-list / flag *(SP flag))`, after the command name.
pub(crate) fn store(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (i, _) = sp(i)?;
    let (i, set) = sequence_set(i)?;
    let (mut i, _) = sp(i)?;
    let mut unchanged_since = None;
    if i.first() == Some(&b'(') {
        let (rest, mods) = paren_list(i, 1, |i| {
            let (r, name) = expect("store modifier", word)(i)?;
            if name.key != kw::UNCHANGEDSINCE {
                return error(i, "store modifier UNCHANGEDSINCE");
            }
            let (r, _) = sp(r)?;
            mod_sequence(r, true)
        })?;
        unchanged_since = mods.last().copied();
        (i, _) = sp(rest)?;
    }
    let (rest, op) = match i.first() {
        Some(b'+') => (&i[1..], StoreOp::Add),
        Some(b'-') => (&i[1..], StoreOp::Remove),
        _ => (i, StoreOp::Replace),
    };
    let (rest, name) = expect("FLAGS, +FLAGS or -FLAGS", fetch_name)(rest)?;
    let silent = match name.key {
        kw::FLAGS => false,
        kw::FLAGS_SILENT => true,
        _ => return error(i, "FLAGS, +FLAGS or -FLAGS"),
    };
    let (rest, _) = sp(rest)?;
    let (rest, flags) = if rest.first() == Some(&b'(') {
        flag_list(rest)?
    } else {
        let (mut r, first) = flag(rest)?;
        let mut flags = vec![first];
        while let Some(next) = r.strip_prefix(b" ") {
            let (r2, f) = flag(next)?;
            flags.push(f);
            r = r2;
        }
        (r, flags)
    };
    Ok((
        rest,
        CommandBody::Store {
            uid,
            set,
            op,
            silent,
            flags,
            unchanged_since,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_name_chars_are_letters_digits_and_dots() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b == b'.';
            assert_eq!(FETCH_NAME_CHARS[b as usize], expected, "{b:#04x}");
        }
        let (rest, name) = fetch_name(b"body.peek[1]").unwrap();
        assert_eq!(
            (rest, name.key),
            (&b"[1]"[..], crate::codec::parse::words::BODY_PEEK)
        );
    }
}
