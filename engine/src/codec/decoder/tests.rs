//! Framing tests: literals, continuations, limits, resynchronisation and the special modes.

use super::*;
use crate::codec::Outcome;
use crate::command::{CommandBody, MailboxName};

fn small() -> Limits {
    Limits {
        max_line: 64,
        max_literal: 1000,
        max_small_literal: 100,
        max_depth: 4,
    }
}

/// Feeds `input` in one go and collects every item.
fn run(dec: &mut Decoder, input: &[u8]) -> Vec<Decoded> {
    dec.feed(input);
    std::iter::from_fn(|| dec.next()).collect()
}

/// Feeds `input` one byte at a time, collecting every item.
fn run_bytewise(dec: &mut Decoder, input: &[u8]) -> Vec<Decoded> {
    let mut out = Vec::new();
    for b in input {
        dec.feed(std::slice::from_ref(b));
        out.extend(std::iter::from_fn(|| dec.next()));
    }
    out
}

fn cmd(item: &Decoded) -> (&str, &CommandBody) {
    match item {
        Decoded::Command(c) => (&c.tag, &c.body),
        other => panic!("expected a command, got {other:?}"),
    }
}

fn err(item: &Decoded) -> &DecodeError {
    match item {
        Decoded::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Both feeding styles give the same items; returns them.
fn both(limits: Limits, input: &[u8]) -> Vec<Decoded> {
    let whole = run(&mut Decoder::new(limits), input);
    let bytewise = run_bytewise(&mut Decoder::new(limits), input);
    assert_eq!(
        whole,
        bytewise,
        "chunking changed the result for {:?}",
        String::from_utf8_lossy(input)
    );
    whole
}

#[test]
fn pipelined_commands() {
    let items = both(Limits::default(), b"a NOOP\r\nb CAPABILITY\r\nc LOGOUT\r\n");
    assert_eq!(items.len(), 3);
    assert_eq!(cmd(&items[0]), ("a", &CommandBody::Noop));
    assert_eq!(cmd(&items[1]), ("b", &CommandBody::Capability));
    assert_eq!(cmd(&items[2]), ("c", &CommandBody::Logout));
}

#[test]
fn partial_is_none_and_resumes() {
    let mut dec = Decoder::default();
    dec.feed(b"a NO");
    assert_eq!(dec.next(), None);
    dec.feed(b"OP\r");
    assert_eq!(dec.next(), None);
    dec.feed(b"\n");
    assert_eq!(cmd(&dec.next().unwrap()), ("a", &CommandBody::Noop));
    assert_eq!(dec.next(), None);
    assert_eq!(dec.buffered(), 0);
}

#[test]
fn synchronizing_literal_asks_for_continuation() {
    let mut dec = Decoder::default();
    dec.feed(b"a LOGIN {3}\r\n");
    assert_eq!(dec.next(), Some(Decoded::NeedContinuation));
    assert_eq!(
        dec.pending_literal(),
        Some(&PendingLiteral {
            tag: Some("a".into()),
            command: "LOGIN".into(),
            size: 3
        })
    );
    assert_eq!(dec.next(), None);
    assert_eq!(dec.pending_literal(), None);
    dec.feed(b"bob {4}\r\n");
    assert_eq!(dec.next(), Some(Decoded::NeedContinuation));
    dec.feed(b"pass\r\n");
    let item = dec.next().unwrap();
    assert_eq!(
        cmd(&item).1,
        &CommandBody::Login {
            username: b"bob".to_vec(),
            password: b"pass".to_vec().into()
        }
    );
}

#[test]
fn non_synchronizing_literal_needs_no_continuation() {
    let items = both(Limits::default(), b"a LOGIN {3+}\r\nbob {4+}\r\npass\r\n");
    assert_eq!(items.len(), 1);
    assert!(matches!(cmd(&items[0]).1, CommandBody::Login { .. }));
}

#[test]
fn literal_data_that_looks_like_commands_is_data() {
    let input = b"a LOGIN bob {13+}\r\nb LOGOUT\r\n\r\nx\r\nc NOOP\r\n";
    let items = both(Limits::default(), input);
    assert_eq!(items.len(), 2);
    assert_eq!(
        cmd(&items[0]).1,
        &CommandBody::Login {
            username: b"bob".to_vec(),
            password: b"b LOGOUT\r\n\r\nx".to_vec().into()
        }
    );
    assert_eq!(cmd(&items[1]), ("c", &CommandBody::Noop));
}

#[test]
fn bad_command_is_skipped_to_its_real_end() {
    // The literal's data holds a "command"; the bad command ends after the literal.
    let input = b"a FROB x {10+}\r\nb LOGOUT\r\n y\r\nc NOOP\r\n";
    let items = both(Limits::default(), input);
    assert_eq!(items.len(), 2, "{items:?}");
    let e = err(&items[0]);
    assert_eq!(
        (e.tag.as_deref(), e.kind),
        (Some("a"), DecodeErrorKind::Syntax)
    );
    assert_eq!(cmd(&items[1]), ("c", &CommandBody::Noop));
}

#[test]
fn bad_command_with_synchronizing_literal_is_refused_before_the_literal() {
    // No `+` for a command that is already wrong: the client will not send the literal,
    // so what follows is the next command.
    let items = both(Limits::default(), b"a FETCH 1 {5}\r\nb NOOP\r\n");
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(err(&items[0]).tag.as_deref(), Some("a"));
    assert_eq!(cmd(&items[1]), ("b", &CommandBody::Noop));
}

#[test]
fn empty_line_and_bad_tag_are_untagged() {
    let items = both(Limits::default(), b"\r\n+ NOOP\r\na NOOP\r\n");
    assert_eq!(items.len(), 3);
    for item in &items[..2] {
        let e = err(item);
        assert_eq!((e.tag.as_deref(), e.outcome()), (None, Outcome::Bad));
    }
    assert_eq!(cmd(&items[2]), ("a", &CommandBody::Noop));
}

#[test]
fn long_line_is_bad_and_skipped() {
    let long = format!("a SEARCH SUBJECT {}\r\nb NOOP\r\n", "x".repeat(200));
    let items = both(small(), long.as_bytes());
    assert_eq!(items.len(), 2);
    let e = err(&items[0]);
    assert_eq!(
        (e.tag.as_deref(), e.kind, e.outcome()),
        (Some("a"), DecodeErrorKind::LineTooLong, Outcome::Bad)
    );
    assert_eq!(cmd(&items[1]), ("b", &CommandBody::Noop));

    // The limit counts all lines of a command, and its literals are skipped too.
    let input = format!(
        "a LOGIN {{3+}}\r\nbob {}{{20+}}\r\n{}\r\nb NOOP\r\n",
        "y".repeat(60),
        "z".repeat(20)
    );
    let items = both(small(), input.as_bytes());
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(err(&items[0]).kind, DecodeErrorKind::LineTooLong);
    assert_eq!(cmd(&items[1]), ("b", &CommandBody::Noop));

    // A synchronizing literal ends a skipped command: the client waits for a `+`.
    let input = format!("a LOGIN {} {{3}}\r\nb NOOP\r\n", "y".repeat(80));
    let items = both(small(), input.as_bytes());
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(err(&items[0]).kind, DecodeErrorKind::LineTooLong);
    assert_eq!(cmd(&items[1]), ("b", &CommandBody::Noop));
}

#[test]
fn long_line_memory_stays_bounded() {
    let mut dec = Decoder::new(small());
    dec.feed(b"a NOOP ");
    for _ in 0..10_000 {
        dec.feed(b"xxxxxxxxxx");
        assert_eq!(dec.next(), None);
        assert!(
            dec.buffered() <= 64 + ANNOUNCEMENT_WINDOW,
            "{}",
            dec.buffered()
        );
    }
    dec.feed(b"\r\nb NOOP\r\n");
    let e = dec.next().unwrap();
    assert_eq!(err(&e).tag.as_deref(), Some("a"));
    assert_eq!(cmd(&dec.next().unwrap()), ("b", &CommandBody::Noop));
}

#[test]
fn synchronizing_literal_over_limit_is_no_toobig() {
    let items = both(small(), b"a LOGIN bob {101}\r\nb NOOP\r\n");
    assert_eq!(items.len(), 2);
    let e = err(&items[0]);
    assert_eq!(
        e.kind,
        DecodeErrorKind::LiteralTooBig {
            synchronizing: true
        }
    );
    assert_eq!(
        (e.tag.as_deref(), e.outcome(), e.response_code()),
        (Some("a"), Outcome::No, Some("TOOBIG"))
    );
    assert_eq!(cmd(&items[1]), ("b", &CommandBody::Noop));
}

#[test]
fn non_synchronizing_literal_over_limit_is_skipped_unstored() {
    let mut dec = Decoder::new(small());
    dec.feed(b"a LOGIN bob {100000+}\r\n");
    assert_eq!(dec.next(), None);
    for _ in 0..1000 {
        dec.feed(&[b'x'; 100]);
        assert_eq!(dec.next(), None);
        assert_eq!(dec.buffered(), 0);
    }
    dec.feed(b"\r\nb NOOP\r\n");
    let e = dec.next().unwrap();
    let e = err(&e);
    assert_eq!(
        e.kind,
        DecodeErrorKind::LiteralTooBig {
            synchronizing: false
        }
    );
    assert_eq!(
        (e.tag.as_deref(), e.outcome(), e.response_code()),
        (Some("a"), Outcome::Bad, Some("TOOBIG"))
    );
    assert_eq!(cmd(&dec.next().unwrap()), ("b", &CommandBody::Noop));
}

#[test]
fn small_literals_share_one_budget() {
    let items = both(small(), b"a LOGIN {60+}\r\n");
    assert!(items.is_empty());
    let mut input = b"a LOGIN {60+}\r\n".to_vec();
    input.extend_from_slice(&[b'u'; 60]);
    input.extend_from_slice(b" {41}\r\nb NOOP\r\n");
    let items = both(small(), &input);
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(
        err(&items[0]).kind,
        DecodeErrorKind::LiteralTooBig {
            synchronizing: true
        }
    );
    assert_eq!(cmd(&items[1]), ("b", &CommandBody::Noop));
}

#[test]
fn append_message_has_its_own_limit() {
    let mut input = b"a APPEND INBOX {500+}\r\n".to_vec();
    input.extend_from_slice(&[b'm'; 500]);
    input.extend_from_slice(b"\r\n");
    let items = both(small(), &input);
    assert!(
        matches!(cmd(&items[0]).1, CommandBody::Append { message, .. } if message.len() == 500)
    );

    // The mailbox literal is a small one.
    let items = both(small(), b"a APPEND {500}\r\n");
    assert_eq!(
        err(&items[0]).kind,
        DecodeErrorKind::LiteralTooBig {
            synchronizing: true
        }
    );
    let mut input = b"a APPEND {5+}\r\nDraft ~{300+}\r\n".to_vec();
    input.extend_from_slice(&[0u8; 300]);
    input.extend_from_slice(b"\r\n");
    let items = both(small(), &input);
    assert!(
        matches!(cmd(&items[0]).1, CommandBody::Append { mailbox, binary: true, .. } if *mailbox == MailboxName::new("Draft"))
    );

    // Over the message limit.
    let items = both(small(), b"a append INBOX (\\Seen) {1001}\r\nb NOOP\r\n");
    let e = err(&items[0]);
    assert!(e.message.contains("message of 1001 bytes"), "{e:?}");
    assert_eq!(cmd(&items[1]), ("b", &CommandBody::Noop));

    // Only one message literal per APPEND.
    let mut input = b"a APPEND INBOX {500+}\r\n".to_vec();
    input.extend_from_slice(&[b'm'; 500]);
    input.extend_from_slice(b" {500}\r\n");
    let items = both(small(), &input);
    assert_eq!(
        err(&items[0]).kind,
        DecodeErrorKind::LiteralTooBig {
            synchronizing: true
        }
    );
}

#[test]
fn unreadable_literal_size_is_fatal_and_sticky() {
    let mut dec = Decoder::default();
    dec.feed(b"a LOGIN {99999999999999999999}\r\n");
    let e = dec.next().unwrap();
    let e = err(&e);
    assert_eq!(
        (e.kind, e.outcome()),
        (DecodeErrorKind::Fatal, Outcome::Bye)
    );
    assert!(dec.is_failed());
    dec.feed(b"b NOOP\r\n");
    assert_eq!(dec.next(), None);
    assert_eq!(dec.buffered(), 0);
}

#[test]
fn expect_line_reads_one_raw_line() {
    let mut dec = Decoder::default();
    dec.feed(b"a IDLE\r\nDONE\r\nb AUTHENTICATE PLAIN\r\nAGJvYgAwMDAwMDAwMA==\r\nc NOOP\r\n");
    assert_eq!(cmd(&dec.next().unwrap()).1, &CommandBody::Idle);
    dec.expect_line();
    assert_eq!(dec.next(), Some(Decoded::Line(b"DONE".to_vec())));
    assert!(matches!(
        cmd(&dec.next().unwrap()).1,
        CommandBody::Authenticate { .. }
    ));
    dec.expect_line();
    assert_eq!(
        dec.next(),
        Some(Decoded::Line(b"AGJvYgAwMDAwMDAwMA==".to_vec()))
    );
    assert_eq!(cmd(&dec.next().unwrap()), ("c", &CommandBody::Noop));

    // A raw line is never taken for a literal announcement.
    let mut dec = Decoder::default();
    dec.expect_line();
    dec.feed(b"x {5}\r\n");
    assert_eq!(dec.next(), Some(Decoded::Line(b"x {5}".to_vec())));

    // Too long: an untagged error, then back in sync.
    let mut dec = Decoder::new(small());
    dec.expect_line();
    dec.feed(&[b'A'; 500]);
    assert_eq!(dec.next(), None);
    dec.feed(b"\r\nb NOOP\r\n");
    let e = dec.next().unwrap();
    assert_eq!(
        (err(&e).tag.as_deref(), err(&e).kind),
        (None, DecodeErrorKind::LineTooLong)
    );
    assert_eq!(cmd(&dec.next().unwrap()), ("b", &CommandBody::Noop));
}

#[test]
fn expect_line_after_partial_input() {
    let mut dec = Decoder::default();
    dec.feed(b"a IDLE\r\nDO");
    assert_eq!(cmd(&dec.next().unwrap()).1, &CommandBody::Idle);
    assert_eq!(dec.next(), None);
    dec.expect_line();
    dec.feed(b"NE\r\n");
    assert_eq!(dec.next(), Some(Decoded::Line(b"DONE".to_vec())));
}

#[test]
fn starttls_boundary_drops_buffered_plaintext() {
    let mut dec = Decoder::default();
    dec.feed(b"a STARTTLS\r\nb LOGIN injected x\r\nc NOO");
    assert_eq!(cmd(&dec.next().unwrap()).1, &CommandBody::StartTls);
    assert_eq!(dec.discard_buffered(), b"b LOGIN injected x\r\nc NOO".len());
    assert_eq!(dec.next(), None);
    dec.feed(b"d NOOP\r\n");
    assert_eq!(cmd(&dec.next().unwrap()), ("d", &CommandBody::Noop));
}

#[test]
fn refusing_a_literal_drops_the_command() {
    let mut dec = Decoder::default();
    dec.feed(b"a APPEND INBOX {5}\r\n");
    assert_eq!(dec.next(), Some(Decoded::NeedContinuation));
    assert_eq!(
        dec.pending_literal().map(|p| p.command.as_str()),
        Some("APPEND")
    );
    assert_eq!(dec.refuse_literal(), Some("a".into()));
    assert_eq!(dec.refuse_literal(), None);
    dec.feed(b"b NOOP\r\n");
    assert_eq!(cmd(&dec.next().unwrap()), ("b", &CommandBody::Noop));
}

#[test]
fn too_deep_is_bad() {
    let items = both(
        small(),
        b"a SEARCH NOT NOT NOT NOT NOT ALL\r\nb SEARCH NOT NOT NOT NOT ALL\r\n",
    );
    let e = err(&items[0]);
    assert_eq!(
        (e.tag.as_deref(), e.kind, e.outcome()),
        (Some("a"), DecodeErrorKind::TooDeep, Outcome::Bad)
    );
    assert!(matches!(cmd(&items[1]).1, CommandBody::Search { .. }));
}

#[test]
fn announcement_detection() {
    let a = |s: &[u8]| announcement(s).map(|o| o.map(|a| (a.size, a.sync, a.at)));
    assert_eq!(a(b"a LOGIN {3}\r\n"), Ok(Some((3, true, 8))));
    assert_eq!(a(b"a LOGIN {3+}\r\n"), Ok(Some((3, false, 8))));
    assert_eq!(
        a(b"a LOGIN {3}\n"),
        Ok(None),
        "a literal is announced with CRLF"
    );
    assert_eq!(a(b"a APPEND x ~{3}\r\n"), Ok(Some((3, true, 11))));
    assert_eq!(a(b"{0}\r\n"), Ok(Some((0, true, 0))));
    assert_eq!(a(b"a {}\r\n"), Ok(None));
    assert_eq!(a(b"a 3}\r\n"), Ok(None));
    assert_eq!(a(b"a {+}\r\n"), Ok(None));
    assert_eq!(a(b"a {3}x\r\n"), Ok(None));
    assert_eq!(
        a(b"a {18446744073709551615}\r\n"),
        Ok(Some((u64::MAX, true, 2)))
    );
    assert_eq!(a(b"a {18446744073709551616}\r\n"), Err(()));
    // Only the last ANNOUNCEMENT_WINDOW bytes count.
    let far = format!("a {{{}1}}\r\n", "0".repeat(40));
    assert_eq!(a(far.as_bytes()), Ok(None));
}

#[test]
fn only_the_first_literals_are_checked_before_the_continuation() {
    // Wrong at the second literal: refused before it.
    let items = both(
        Limits::default(),
        b"a SEARCH TEXT {1}\r\nx FOO {1}\r\nb NOOP\r\n",
    );
    assert_eq!(items[0], Decoded::NeedContinuation);
    assert_eq!(err(&items[1]).tag.as_deref(), Some("a"));
    assert_eq!(cmd(&items[2]), ("b", &CommandBody::Noop));

    // Wrong after PREFIX_CHECKS literals: the `+` is given, the command is BAD at its end.
    let mut input = b"a SEARCH".to_vec();
    for _ in 0..PREFIX_CHECKS {
        input.extend_from_slice(b" TEXT {1}\r\nx");
    }
    input.extend_from_slice(b" FOO {1}\r\ny\r\nb NOOP\r\n");
    let items = both(Limits::default(), &input);
    let n = PREFIX_CHECKS + 1;
    assert!(
        items[..n].iter().all(|i| *i == Decoded::NeedContinuation),
        "{items:?}"
    );
    assert_eq!(err(&items[n]).tag.as_deref(), Some("a"));
    assert_eq!(cmd(&items[n + 1]), ("b", &CommandBody::Noop));
}

#[test]
fn find_lf_agrees_with_a_plain_scan() {
    for len in 0..40 {
        for lf in (0..len).map(Some).chain([None]) {
            let mut bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            if let Some(at) = lf {
                bytes[at] = b'\n';
                // A later LF and bytes that differ from LF by one bit do not confuse it.
                bytes.push(b'\n');
                bytes.push(0x0b);
            }
            bytes.extend_from_slice(&[0x8a, 0x0a ^ 0x80]);
            let plain = bytes.iter().position(|&b| b == b'\n');
            assert_eq!(super::find_lf(&bytes), plain, "{bytes:?}");
        }
    }
}
