//! Unit tests for the MIME structure parser: offsets, broken multiparts, line ends,
//! encapsulated messages and the envelope rules clients rely on.

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

fn envelope_bytes(raw: &[u8]) -> Vec<u8> {
    ParsedMessage::parse(raw).envelope().to_bytes()
}

#[test]
fn envelope_keeps_encoded_words_and_copies_from() {
    let raw = b"From: =?UTF-8?Q?J=C3=B6rg?= <j@x.de>\r\nSubject: =?utf-8?q?Hi?=\r\nSender:\r\n\r\nbody\r\n";
    assert_eq!(
        envelope_bytes(raw),
        b"(NIL \"=?utf-8?q?Hi?=\" ((\"=?UTF-8?Q?J=C3=B6rg?=\" NIL \"j\" \"x.de\")) \
((\"=?UTF-8?Q?J=C3=B6rg?=\" NIL \"j\" \"x.de\")) ((\"=?UTF-8?Q?J=C3=B6rg?=\" NIL \"j\" \"x.de\")) \
NIL NIL NIL NIL NIL)"
    );
}

#[test]
fn envelope_without_from_has_no_sender_or_reply_to() {
    let raw = b"To: undisclosed-recipients:;\r\nSubject: x\r\n\r\n";
    assert_eq!(
        envelope_bytes(raw),
        b"(NIL \"x\" NIL NIL NIL ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)"
    );
}

#[test]
fn rfc2231_parameters_follow_plain_ones() {
    let raw = b"Content-Type: text/plain; name*1=\"b.txt\"; name*0=\"a\"; charset=utf-8\r\n\r\nx";
    let bs = ParsedMessage::parse(raw).body_structure(false).to_bytes();
    assert_eq!(
        bs,
        b"(\"text\" \"plain\" (\"charset\" \"utf-8\" \"name\" \"ab.txt\") NIL NIL \"7bit\" 1 0)"
    );
}

#[test]
fn digest_parts_default_to_message_rfc822() {
    let raw = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: inner\r\n\r\nhello\r\n--d--\r\n";
    let m = ParsedMessage::parse(raw);
    let bs = m.body_structure(false).to_bytes();
    assert!(
        bs.starts_with(b"((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 23 (NIL \"inner\""),
        "{}",
        String::from_utf8_lossy(&bs)
    );
    assert_eq!(&*m.section(raw, &sec(&[1, 1], None)).unwrap(), b"hello");
    assert_eq!(
        &*m.section(raw, &sec(&[1], Some(SectionText::Header)))
            .unwrap(),
        b"Subject: inner\r\n\r\n"
    );
    assert_eq!(
        &*m.section(raw, &sec(&[1], Some(SectionText::Text))).unwrap(),
        b"hello"
    );
}

#[test]
fn unclosed_multipart_runs_to_the_end() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nlast\r\n";
    let m = ParsedMessage::parse(raw);
    assert_eq!(&*m.section(raw, &sec(&[1], None)).unwrap(), b"last\r\n");
}

#[test]
fn header_fields_end_with_a_blank_line() {
    let raw = b"Subject: s\r\nFrom: f\r\nTo: t\r\n\r\nbody";
    let m = ParsedMessage::parse(raw);
    let fields = |not, names: &[&str]| {
        let text = Some(SectionText::HeaderFields {
            not,
            fields: names.iter().map(|&s| s.into()).collect(),
        });
        m.section(raw, &sec(&[], text)).unwrap().into_owned()
    };
    assert_eq!(
        fields(false, &["to", "SUBJECT"]),
        b"Subject: s\r\nTo: t\r\n\r\n"
    );
    assert_eq!(fields(false, &["X-None"]), b"\r\n");
    assert_eq!(fields(true, &["From"]), b"Subject: s\r\nTo: t\r\n\r\n");
}

#[test]
fn binary_decodes_and_reports_bad_data() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAGhp\r\n--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nzz\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ\r\n--b--\r\n";
    let m = ParsedMessage::parse(raw);
    let one = m.binary(raw, &sec(&[1], None)).unwrap();
    assert_eq!(&*one, b"\0hi");
    assert!(needs_literal8(&one));
    assert!(matches!(
        m.binary(raw, &sec(&[2], None)),
        Err(BinaryError::UnknownCte(_))
    ));
    assert_eq!(m.binary(raw, &sec(&[3], None)), Err(BinaryError::Parse));
    assert_eq!(m.binary_size(raw, &sec(&[1], None)), Ok(3));
}
