//! Real command streams parse: the RFC 3501 §8 sample session, the RFC 3501 §6 examples, the
//! Thunderbird commands of the seed transcripts, and the extension forms.

mod codec_support;

use codec_support::*;
use tidings_engine::codec::{Decoded, Decoder, Limits};
use tidings_engine::command::*;
use tidings_engine::types::{Flag, SeqBound, SequenceSet};

fn one(line: &[u8]) -> Command {
    let items: Vec<_> = decode_chunks(Limits::default(), [line])
        .into_iter()
        .filter(|i| *i != Decoded::NeedContinuation)
        .collect();
    match &items[..] {
        [Decoded::Command(c)] => c.clone(),
        other => panic!("{:?} gave {other:?}", String::from_utf8_lossy(line)),
    }
}

#[test]
fn rfc3501_section_8_client_lines() {
    let bodies: Vec<_> = RFC3501_SECTION8
        .iter()
        .map(|l| one(l.as_bytes()).body)
        .collect();
    assert_eq!(
        bodies,
        vec![
            CommandBody::Login {
                username: b"mrc".to_vec(),
                password: b"secret".to_vec().into()
            },
            CommandBody::Select {
                mailbox: MailboxName::new("INBOX"),
                condstore: false
            },
            CommandBody::Fetch {
                uid: false,
                set: SequenceSet::Ranges(vec![(SeqBound::Value(12), SeqBound::Value(12))].into()),
                attrs: FetchAttrs::Full,
                changed_since: None
            },
            CommandBody::Fetch {
                uid: false,
                set: SequenceSet::Ranges(vec![(SeqBound::Value(12), SeqBound::Value(12))].into()),
                attrs: FetchAttrs::Items(vec![FetchAttr::BodySection {
                    peek: false,
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::Header)
                    },
                    partial: None
                }]),
                changed_since: None
            },
            CommandBody::Store {
                uid: false,
                set: SequenceSet::Ranges(vec![(SeqBound::Value(12), SeqBound::Value(12))].into()),
                op: StoreOp::Add,
                silent: false,
                flags: vec![Flag::Deleted],
                unchanged_since: None
            },
            CommandBody::Logout,
        ]
    );
}

#[test]
fn rfc3501_section_6_examples() {
    for line in RFC3501_SECTION6 {
        one(line.as_bytes());
    }
    let mut append = b"A003 APPEND saved-messages (\\Seen) {310}\r\n".to_vec();
    append.extend_from_slice(&rfc3501_append_message());
    append.extend_from_slice(b"\r\n");
    match one(&append).body {
        CommandBody::Append {
            mailbox,
            flags,
            date,
            message,
            binary,
        } => {
            assert_eq!(mailbox.as_str(), "saved-messages");
            assert_eq!(flags, vec![Flag::Seen]);
            assert_eq!(date, None);
            assert_eq!(message, rfc3501_append_message());
            assert!(!binary);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        one(b"A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n").body,
        CommandBody::Search { charset: Some(c), criteria: SearchKey::Text(t), .. } if c == "UTF-8" && t == "XXXXXX"
    ));
}

#[test]
fn extension_forms() {
    for line in EXTENSIONS {
        one(line.as_bytes());
    }
}

#[test]
fn thunderbird_seed_commands() {
    for line in THUNDERBIRD_SEED {
        one(line.as_bytes());
    }
    let c = one(THUNDERBIRD_SEED[7].as_bytes());
    match c.body {
        CommandBody::Fetch {
            uid: true,
            attrs: FetchAttrs::Items(items),
            ..
        } => {
            assert_eq!(items.len(), 4);
            assert!(matches!(&items[3], FetchAttr::BodySection {
                peek: true,
                section: Section { part, text: Some(SectionText::HeaderFields { not: false, fields }) },
                partial: None,
            } if part.is_empty() && fields.len() == 14 && fields[0] == "From" && fields[13] == "Reply-To"));
        }
        other => panic!("{other:?}"),
    }
}

/// The seed conversation as the client sent it, continuation lines included, through one
/// decoder the way a session drives it.
#[test]
fn thunderbird_session_stream() {
    let stream: &[&str] = &[
        "41 authenticate PLAIN\r\n",
        "AGJvYgAwMDAwMDAwMA==\r\n",
        "42 ID (\"name\" \"Thunderbird\" \"version\" \"139.0.2\")\r\n",
        "43 select \"INBOX\"\r\n",
        "44 UID fetch 1:* (FLAGS)\r\n",
        "45 IDLE\r\n",
        "DONE\r\n",
        "46 noop\r\n",
        "60 uid store 2 +Flags (\\Seen)\r\n",
        "91 authenticate LOGIN\r\n",
        "dXNlcjFAdGlvLmNvbQ==\r\n",
        "MDAwMDAwMDA=\r\n",
        "97 logout\r\n",
    ];
    let input = stream.concat();
    let mut dec = Decoder::default();
    let mut tags = Vec::new();
    let mut lines = Vec::new();
    for chunk in input.as_bytes().chunks(5) {
        dec.feed(chunk);
        while let Some(item) = dec.next() {
            match item {
                Decoded::Command(c) => {
                    match &c.body {
                        CommandBody::Idle => dec.expect_line(),
                        CommandBody::Authenticate { mechanism, .. } => {
                            dec.expect_line();
                            if mechanism == "LOGIN" {
                                // A second challenge follows the first answer.
                                tags.push("LOGIN-2".to_string());
                            }
                        }
                        _ => {}
                    }
                    tags.push(c.tag.into());
                }
                Decoded::Line(l) => {
                    if l == b"dXNlcjFAdGlvLmNvbQ==" {
                        dec.expect_line();
                    }
                    lines.push(String::from_utf8(l).unwrap());
                }
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(
        tags,
        ["41", "42", "43", "44", "45", "46", "60", "LOGIN-2", "91", "97"]
    );
    assert_eq!(
        lines,
        [
            "AGJvYgAwMDAwMDAwMA==",
            "DONE",
            "dXNlcjFAdGlvLmNvbQ==",
            "MDAwMDAwMDA="
        ]
    );
}

/// When the shared seed is at hand (a checkout with `shared/` beside it), every tagged client
/// line in its transcripts parses.
#[test]
fn seed_files_when_present() {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let dirs = [
        format!("{manifest}/../../shared/seed"),
        "/work/shared/seed".to_string(),
    ];
    let Some(dir) = dirs.iter().find(|d| std::path::Path::new(d).is_dir()) else {
        eprintln!("no seed directory found; skipped");
        return;
    };
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        for raw in text.lines() {
            let line = match raw.split_once("<<< ") {
                Some((_, l)) => l,
                None => raw,
            };
            let mut words = line.split(' ');
            let (Some(tag), Some(word)) = (words.next(), words.next()) else {
                continue;
            };
            let is_client = !tag.is_empty()
                && tag.bytes().all(|b| b.is_ascii_digit())
                && word.bytes().all(|b| b.is_ascii_alphabetic())
                && ![
                    "OK", "NO", "BAD", "BYE", "FETCH", "EXISTS", "RECENT", "EXPUNGE",
                ]
                .contains(&word);
            if is_client {
                one(format!("{line}\r\n").as_bytes());
                seen += 1;
            }
        }
    }
    assert!(seen >= 20, "only {seen} client lines found in {dir}");
}
