//! Unit tests for the MIME structure parser: offsets, broken multiparts, line ends.

use super::*;
use crate::command::{Section, SectionText};

fn sec(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.to_vec(),
        text,
    }
}

#[test]
fn bare_lf_becomes_crlf() {
    assert_eq!(&*normalize_line_endings(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    assert!(matches!(normalize_line_endings(b"a\r\n"), Cow::Borrowed(_)));
}

#[test]
fn partial_clips() {
    let p = |start, length| Some(Partial { start, length });
    assert_eq!(apply_partial(b"hello", p(1, Some(3))), b"ell");
    assert_eq!(apply_partial(b"hello", p(9, Some(3))), b"");
    assert_eq!(apply_partial(b"hello", p(3, None)), b"lo");
    assert_eq!(apply_partial(b"hello", p(0, Some(0))), b"");
}

#[test]
fn nul_is_replaced_for_plain_literals() {
    assert_eq!(&*replace_nul(b"a\0b"), b"a\x80b");
}

#[test]
fn multipart_offsets_give_the_crlf_before_a_delimiter_to_it() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepi\r\n";
    let m = ParsedMessage::parse(raw);
    assert_eq!(&*m.section(raw, &sec(&[1], None)).unwrap(), b"one");
    assert_eq!(
        &*m.section(raw, &sec(&[1], Some(SectionText::Mime))).unwrap(),
        b"Content-Type: text/plain\r\n\r\n"
    );
    assert_eq!(&*m.section(raw, &sec(&[2], None)).unwrap(), b"two");
    assert_eq!(&*m.section(raw, &sec(&[3], None)).unwrap(), b"");
    assert_eq!(&*m.section(raw, &sec(&[1, 1], None)).unwrap(), b"one");
    assert_eq!(
        m.section(raw, &sec(&[], Some(SectionText::Mime))),
        Err(SectionError::MimeWithoutPart)
    );
}
