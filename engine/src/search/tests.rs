//! Unit tests for the SEARCH evaluator: flag, set, date and text keys on small messages.
//! The Dovecot golden corpus is exercised by `tests/golden_search.rs`.

use super::*;
use crate::types::{SeqBound, SequenceSet};

const MSG: &[u8] = b"From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.de>\r\n\
To: undisclosed-recipients:;\r\n\
Subject: =?UTF-8?B?SGVsbG8gV29ybGQ=?=\r\n\
Date: Sun, 31 Dec 2023 23:30:00 -0500\r\n\
Date: Mon, 01 Jan 2001 00:00:00 +0000\r\n\
X-Empty:\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Gr=FC=DFe aus K=F6ln, super=\r\ncalifragilistic.\r\n";

fn date(year: u16, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

fn view<'a>(flags: &'a [Flag], raw: &'a [u8]) -> MessageView<'a> {
    MessageView {
        seq: 3,
        uid: 30,
        flags,
        recent: true,
        size: 1000,
        internal_date: DateTime {
            date: date(2024, 1, 1),
            hour: 23,
            minute: 0,
            second: 0,
            zone_minutes: -300,
        },
        raw,
        fields: None,
        max_seq: 5,
        max_uid: 50,
    }
}

fn m(key: SearchKey) -> bool {
    matches(
        &key,
        &view(&[Flag::Seen, Flag::Keyword("$Golden".into())], MSG),
    )
}

fn set(ranges: &[(SeqBound, SeqBound)]) -> SequenceSet {
    SequenceSet::Ranges(ranges.into())
}

use SearchKey as K;

#[test]
fn flags_and_keywords() {
    assert!(m(K::Seen));
    assert!(!m(K::Unseen));
    assert!(!m(K::Flagged));
    assert!(m(K::Unflagged));
    assert!(
        m(K::Keyword("$golden".into())),
        "keywords are case-insensitive"
    );
    assert!(!m(K::Keyword("Project-X".into())));
    assert!(m(K::Unkeyword("Project-X".into())));
    assert!(
        m(K::Keyword("\\Seen".into())),
        "a system flag named as a keyword"
    );
    assert!(m(K::Recent));
    assert!(!m(K::Old));
    assert!(!m(K::New), "NEW is RECENT and UNSEEN");
    assert!(matches(&K::New, &view(&[], b"")));
    assert!(!matches(&K::Deleted, &view(&[], b"")));
    assert!(matches(&K::Deleted, &view(&[Flag::Deleted], b"")));
}

#[test]
fn sizes_are_strict_comparisons() {
    assert!(m(K::Larger(999)));
    assert!(!m(K::Larger(1000)));
    assert!(m(K::Smaller(1001)));
    assert!(!m(K::Smaller(1000)));
}

#[test]
fn uid_and_sequence_sets_with_star() {
    use SeqBound::{Star, Value};
    assert!(m(K::Uid(set(&[(Value(30), Value(30))]))));
    assert!(!m(K::Uid(set(&[(Value(40), Star)]))));
    assert!(m(K::Uid(set(&[(Value(20), Star)]))));
    let mut last = view(&[], b"");
    last.uid = 50;
    let past_end = K::Uid(set(&[(Value(60), Star)]));
    assert!(matches(&past_end, &last), "60:* is 50:60 when * is 50");
    assert!(!m(past_end));
    assert!(m(K::SequenceSet(set(&[(Value(1), Value(3))]))));
    assert!(!m(K::SequenceSet(set(&[(Value(4), Star)]))));
    assert!(
        !m(K::Uid(SequenceSet::Saved)),
        "$ is resolved by the caller"
    );
}

#[test]
fn internal_date_uses_its_own_day() {
    assert!(m(K::On(date(2024, 1, 1))));
    assert!(m(K::Since(date(2024, 1, 1))));
    assert!(!m(K::Since(date(2024, 1, 2))));
    assert!(!m(K::Before(date(2024, 1, 1))));
    assert!(m(K::Before(date(2024, 1, 2))));
}

#[test]
fn sent_dates_use_the_first_date_field_and_its_own_day() {
    assert!(m(K::SentOn(date(2023, 12, 31))));
    assert!(!m(K::SentOn(date(2024, 1, 1))));
    assert!(
        !m(K::SentBefore(date(2002, 1, 1))),
        "the second Date (2001) is ignored"
    );
    assert!(m(K::SentSince(date(2023, 12, 31))));
    assert!(m(K::SentBefore(date(2024, 1, 1))));
}

#[test]
fn missing_date_matches_every_sentbefore_only() {
    let raw = b"Subject: no date\r\n\r\nbody\r\n";
    let v = view(&[], raw);
    assert!(matches(&K::SentBefore(date(1970, 1, 1)), &v));
    assert!(!matches(&K::SentSince(date(1970, 1, 1)), &v));
    assert!(!matches(&K::SentOn(date(2024, 1, 1)), &v));
    let garbage = b"Date: sometime last tuesday\r\n\r\nbody\r\n";
    assert!(matches(
        &K::SentBefore(date(1970, 1, 1)),
        &view(&[], garbage)
    ));
}

#[test]
fn address_and_subject_keys_match_decoded_text() {
    assert!(m(K::From("jörg".into())));
    assert!(m(K::From("JOERG@EXAMPLE".into())));
    assert!(
        !m(K::From("Q=C3=B6".into())),
        "the encoded form is not searched"
    );
    assert!(m(K::To("undisclosed-recipients".into())));
    assert!(m(K::Subject("hello world".into())));
    assert!(!m(K::Subject("SGVsbG8".into())));
    assert!(!m(K::Cc("".into())), "no Cc field at all");
    assert!(!m(K::Bcc("joerg".into())));
}

#[test]
fn header_key_and_empty_value() {
    assert!(m(K::Header("x-empty".into(), "".into())));
    assert!(!m(K::Header("x-empty".into(), "a".into())));
    assert!(!m(K::Header("X-Missing".into(), "".into())));
    assert!(m(K::Header("content-type".into(), "ISO-8859".into())));
}

#[test]
fn body_and_text_decode_transfer_encoding_and_charset() {
    assert!(m(K::Body("grüße aus köln".into())));
    assert!(
        m(K::Body("supercalifragilistic".into())),
        "soft line break removed"
    );
    assert!(!m(K::Body("K=F6ln".into())));
    assert!(!m(K::Body("Hello World".into())), "BODY skips the header");
    assert!(m(K::Text("Hello World".into())), "TEXT includes the header");
    assert!(m(K::Text("köln".into())));
}

#[test]
fn boolean_combinations() {
    assert!(m(K::Or(Box::new(K::Flagged), Box::new(K::Seen))));
    assert!(!m(K::Or(Box::new(K::Flagged), Box::new(K::Deleted))));
    assert!(!m(K::Not(Box::new(K::Seen))));
    assert!(m(K::And(vec![K::Seen, K::Body("köln".into())])));
    assert!(!m(K::And(vec![K::Seen, K::Flagged])));
    assert!(m(K::And(vec![])), "an empty AND matches everything");
    assert!(m(K::Not(Box::new(K::Body("absent-term".into())))));
}

#[test]
fn modseq_only_with_a_known_modseq() {
    let v = view(&[], b"");
    assert!(matches_with_modseq(&K::ModSeq(5), &v, 5));
    assert!(!matches_with_modseq(&K::ModSeq(6), &v, 5));
    assert!(matches(&K::ModSeq(6), &v));
}

#[test]
fn needs_content_only_for_text_and_sent_keys() {
    assert!(!needs_content(&K::And(vec![
        K::Seen,
        K::Not(Box::new(K::Larger(3))),
        K::Or(Box::new(K::Since(date(2024, 1, 1))), Box::new(K::All)),
    ])));
    assert!(needs_content(&K::Not(Box::new(K::SentOn(date(
        2024, 1, 1
    ))))));
    assert!(needs_content(&K::Or(
        Box::new(K::Seen),
        Box::new(K::Header("X".into(), "".into()))
    )));
    assert!(needs_content(&K::And(vec![K::Seen, K::Text("x".into())])));
}

#[test]
fn flag_keys_do_not_touch_the_bytes() {
    // The caller may pass an empty slice when needs_content is false.
    assert!(matches(&K::All, &view(&[], b"")));
    assert!(!matches(&K::Subject("".into()), &view(&[], b"")));
}

#[test]
fn charsets() {
    assert!(charset_supported("utf-8"));
    assert!(charset_supported("US-ASCII"));
    assert!(!charset_supported("ISO-8859-1"));
    assert!(!charset_supported("x-unknown"));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed: u32 = 0x1234_5678;
    let pieces: [&[u8]; 12] = [
        b"\r\n",
        b"\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b"--x\r\n",
        b"--x--",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"=?utf-8?b?",
        b"?=",
        b"Date: 1 Jan 99 10:00\r\n",
        b"\x00\xff\xfe",
        b"Subject: x",
    ];
    let keys = K::And(vec![
        K::Text("x".into()),
        K::Body("y".into()),
        K::SentBefore(date(2000, 1, 1)),
        K::Header("Subject".into(), "".into()),
    ]);
    for _ in 0..400 {
        let mut raw = Vec::new();
        for _ in 0..(seed % 24) {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let i = (seed >> 16) as usize % pieces.len();
            if let Some(p) = pieces.get(i) {
                raw.extend_from_slice(p);
            }
        }
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let _ = matches(&keys, &view(&[], &raw));
    }
}

#[test]
fn only_size_date_and_content_keys_need_per_message_data() {
    use crate::types::Date;
    let d = Date {
        year: 2024,
        month: 1,
        day: 1,
    };
    assert!(!needs_metadata(&SearchKey::And(vec![
        SearchKey::Unseen,
        SearchKey::Undeleted
    ])));
    assert!(!needs_metadata(&SearchKey::Not(Box::new(
        SearchKey::Keyword("$Junk".into())
    ))));
    assert!(needs_metadata(&SearchKey::Larger(10)));
    assert!(needs_metadata(&SearchKey::Or(
        Box::new(SearchKey::Seen),
        Box::new(SearchKey::Since(d))
    )));
    assert!(
        !needs_metadata(&SearchKey::Subject("x".into())),
        "text, not size or date"
    );
}

/// One message in plain form (read from its bytes) and in forms that need decoding: the
/// same text under base64, quoted-printable, Latin-1, RFC 2047 words and a multipart
/// wrapper. BODY and TEXT must give the same answers for terms in the shared text.
mod plain_and_decoded_twins {
    use super::*;

    const HEAD: &str =
        "From: Alice <alice@example.test>\r\nSubject: Greetings from\r\n Cologne\r\n";
    const BODY: &str = "Grüße aus Köln, QUOKKA!\r\nSecond line.\r\n";

    fn plain() -> Vec<u8> {
        format!("{HEAD}Content-Type: text/plain; charset=utf-8\r\n\r\n{BODY}").into_bytes()
    }

    fn twins() -> Vec<(&'static str, Vec<u8>)> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(BODY);
        let qp = "Gr=C3=BC=C3=9Fe aus K=C3=B6ln, QUOKKA!\r\nSecond =\r\nline.\r\n";
        let latin1: Vec<u8> = BODY.chars().map(|c| c as u32 as u8).collect();
        let mut twins = vec![
            (
                "base64",
                format!("{HEAD}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n").into_bytes(),
            ),
            (
                "quoted-printable",
                format!("{HEAD}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{qp}").into_bytes(),
            ),
            (
                "encoded word",
                format!("From: Alice <alice@example.test>\r\nSubject: =?utf-8?q?Greetings_from?=\r\n Cologne\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{BODY}").into_bytes(),
            ),
            (
                "multipart",
                format!("{HEAD}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{BODY}\r\n--b--\r\n").into_bytes(),
            ),
        ];
        let mut latin =
            format!("{HEAD}Content-Type: text/plain; charset=iso-8859-1\r\n\r\n").into_bytes();
        latin.extend_from_slice(&latin1);
        twins.push(("latin-1", latin));
        twins
    }

    fn answers(raw: &[u8], key: &SearchKey) -> bool {
        matches(key, &view(&[], raw))
    }

    #[test]
    fn the_plain_form_takes_the_plain_path_and_the_twins_do_not() {
        assert!(plain_text(&plain()).is_some());
        for (name, raw) in twins() {
            assert!(plain_text(&raw).is_none(), "{name}");
        }
    }

    #[test]
    fn every_form_gives_the_same_answers() {
        let terms = [
            "quokka",
            "QUOKKA!",
            "köln",
            "GRÜSSE",
            "grüße aus",
            "second line",
            "line.\r\n",
            "greetings from cologne",
            "from cologne",
            "from\r\n cologne",
            "subject: greetings",
            "alice@example.test",
            "absent",
            "",
        ];
        let plain = plain();
        for term in terms {
            for key in [
                K::Body(term.into()),
                K::Text(term.into()),
                K::Not(Box::new(K::Text(term.into()))),
                K::Or(
                    Box::new(K::Body("absent".into())),
                    Box::new(K::Text(term.into())),
                ),
                K::And(vec![K::Body(term.into()), K::Text("köln".into())]),
            ] {
                let want = answers(&plain, &key);
                for (name, raw) in twins() {
                    assert_eq!(answers(&raw, &key), want, "{name}: {key:?}");
                }
            }
        }
        // And what those answers are, on the plain form.
        assert!(answers(&plain, &K::Body("quokka".into())));
        assert!(answers(&plain, &K::Body("köln".into())));
        assert!(!answers(&plain, &K::Body("greetings".into())));
        assert!(answers(&plain, &K::Text("greetings from cologne".into())));
        assert!(!answers(&plain, &K::Text("from\r\n cologne".into())));
    }
}
