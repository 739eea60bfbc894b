//! Grammar tests, one group per area, on whole commands.

use super::*;
use crate::command::*;
use crate::types::*;

fn parse(line: &[u8]) -> Result<Command, DecodeError> {
    parse_command(&Ctx::new(8), line)
}

/// Parses `a1 <args>\r\n` and returns the body.
fn ok(args: &str) -> CommandBody {
    ok_bytes(args.as_bytes())
}

fn ok_bytes(args: &[u8]) -> CommandBody {
    let mut line = b"a1 ".to_vec();
    line.extend_from_slice(args);
    line.extend_from_slice(b"\r\n");
    match parse(&line) {
        Ok(cmd) => {
            assert_eq!(cmd.tag, "a1");
            cmd.body
        }
        Err(e) => panic!("{:?} failed: {e:?}", String::from_utf8_lossy(args)),
    }
}

/// Parses `a1 <args>\r\n`, which must be refused; returns the error.
fn bad(args: &str) -> DecodeError {
    bad_bytes(args.as_bytes())
}

fn bad_bytes(args: &[u8]) -> DecodeError {
    let mut line = b"a1 ".to_vec();
    line.extend_from_slice(args);
    line.extend_from_slice(b"\r\n");
    match parse(&line) {
        Ok(cmd) => panic!("{:?} parsed: {cmd:?}", String::from_utf8_lossy(args)),
        Err(e) => {
            assert_eq!(e.tag.as_deref(), Some("a1"), "{e:?}");
            e
        }
    }
}

fn mbox(s: &str) -> MailboxName {
    MailboxName::new(s)
}

fn range(a: u32, b: u32) -> (SeqBound, SeqBound) {
    (SeqBound::Value(a), SeqBound::Value(b))
}

fn set(ranges: &[(u32, u32)]) -> SequenceSet {
    SequenceSet::Ranges(ranges.iter().map(|&(a, b)| range(a, b)).collect())
}

#[test]
fn tags() {
    assert_eq!(parse(b"A.1]x NOOP\r\n").unwrap().tag, "A.1]x");
    for line in [
        &b"+a NOOP\r\n"[..],
        b"a+ NOOP\r\n",
        b"a{ NOOP\r\n",
        b"a* NOOP\r\n",
        b" NOOP\r\n",
        b"\r\n",
        b"a\r\n",
    ] {
        let e = parse(line).unwrap_err();
        assert_eq!(e.tag, None, "{line:?}");
        assert_eq!(e.outcome(), crate::codec::Outcome::Bad);
    }
    assert_eq!(parse(b"\r\n").unwrap_err().message, "Empty command line");
}

#[test]
fn simple_commands_any_case() {
    use CommandBody as C;
    for (s, body) in [
        ("CAPABILITY", C::Capability),
        ("noop", C::Noop),
        ("LogOut", C::Logout),
        ("starttls", C::StartTls),
        ("NAMESPACE", C::Namespace),
        ("idle", C::Idle),
        ("check", C::Check),
        ("CLOSE", C::Close),
        ("unselect", C::Unselect),
        ("expunge", C::Expunge { uids: None }),
    ] {
        assert_eq!(ok(s), body, "{s}");
    }
    bad("NOOP x");
    bad("NOOP ");
    assert!(bad("FROBNICATE").message.contains("known command"));
    let e = parse(b"a1 NOOP\r\nx").unwrap_err();
    assert!(e.message.contains("end of command"), "{e:?}");
}

#[test]
fn line_ends() {
    assert_eq!(parse(b"a NOOP\r\n").unwrap().body, CommandBody::Noop);
    assert!(parse(b"a NOOP\n").is_err());
    assert!(parse(b"a NOOP\r").is_err());
    // A literal one byte too long would swallow the CR: refused, not a message ending in CR.
    assert!(parse(b"a APPEND x {3}\r\nab\r\n").is_err());
    assert!(parse(b"a NOOP").is_err());
}

#[test]
fn login_and_authenticate() {
    assert_eq!(
        ok("LOGIN bob \"p a\\\"ss\""),
        CommandBody::Login {
            username: b"bob".to_vec(),
            password: b"p a\"ss".to_vec().into()
        }
    );
    assert_eq!(
        ok("login {3}\r\nbob {4+}\r\npass"),
        CommandBody::Login {
            username: b"bob".to_vec(),
            password: b"pass".to_vec().into()
        }
    );
    assert_eq!(
        ok_bytes(b"LOGIN bob {4}\r\np\xffss"),
        CommandBody::Login {
            username: b"bob".to_vec(),
            password: b"p\xffss".to_vec().into()
        }
    );
    bad("LOGIN bob");
    bad("LOGIN bob pass extra");
    assert_eq!(
        ok("authenticate plain"),
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: None
        }
    );
    assert_eq!(
        ok("AUTHENTICATE PLAIN AGJvYgAwMDAwMDAwMA=="),
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some(b"AGJvYgAwMDAwMDAwMA==".to_vec().into())
        }
    );
    assert_eq!(
        ok("AUTHENTICATE PLAIN ="),
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some(b"=".to_vec().into())
        }
    );
    bad("AUTHENTICATE PLAIN AGJ");
    bad("AUTHENTICATE PLAIN A=JvYg==");
    bad("AUTHENTICATE PLAIN AGJvY===");
}

#[test]
fn id_and_enable() {
    assert_eq!(
        ok("ID (\"name\" \"Thunderbird\" \"version\" \"139.0.2\")"),
        CommandBody::Id(Some(vec![
            ("name".into(), Some("Thunderbird".into())),
            ("version".into(), Some("139.0.2".into()))
        ]))
    );
    assert_eq!(ok("ID NIL"), CommandBody::Id(None));
    assert_eq!(ok("ID ()"), CommandBody::Id(Some(vec![])));
    assert_eq!(
        ok("ID (\"os\" NIL)"),
        CommandBody::Id(Some(vec![("os".into(), None)]))
    );
    bad("ID (\"name\")");
    bad("ID (name \"x\")");
    bad("ID");
    assert_eq!(
        ok("ENABLE condstore utf8=accept"),
        CommandBody::Enable(vec!["CONDSTORE".into(), "UTF8=ACCEPT".into()])
    );
    bad("ENABLE");
}

#[test]
fn mailbox_commands() {
    assert_eq!(
        ok("SELECT inbox"),
        CommandBody::Select {
            mailbox: mbox("INBOX"),
            condstore: false
        }
    );
    assert_eq!(
        ok("select \"INBOX\" (condstore)"),
        CommandBody::Select {
            mailbox: mbox("INBOX"),
            condstore: true
        }
    );
    assert_eq!(
        ok("EXAMINE {5+}\r\nDraft"),
        CommandBody::Examine {
            mailbox: mbox("Draft"),
            condstore: false
        }
    );
    bad("SELECT INBOX ()");
    bad("SELECT INBOX (QRESYNC)");
    bad("SELECT");
    assert_eq!(
        ok("CREATE Trash (USE (\\Trash))"),
        CommandBody::Create {
            mailbox: mbox("Trash"),
            special_use: vec!["\\Trash".into()]
        }
    );
    assert_eq!(
        ok("CREATE a/b"),
        CommandBody::Create {
            mailbox: mbox("a/b"),
            special_use: vec![]
        }
    );
    assert_eq!(
        ok("create X (use ())"),
        CommandBody::Create {
            mailbox: mbox("X"),
            special_use: vec![]
        }
    );
    bad("CREATE X (USE \\Trash)");
    bad("CREATE X (FOO (\\Trash))");
    assert_eq!(
        ok("DELETE \"a b\""),
        CommandBody::Delete {
            mailbox: mbox("a b")
        }
    );
    assert_eq!(
        ok("SUBSCRIBE x"),
        CommandBody::Subscribe { mailbox: mbox("x") }
    );
    assert_eq!(
        ok("UNSUBSCRIBE x"),
        CommandBody::Unsubscribe { mailbox: mbox("x") }
    );
    assert_eq!(
        ok("RENAME Entw&APw-rfe inbox/old"),
        CommandBody::Rename {
            from: mbox("Entwürfe"),
            to: mbox("INBOX/old")
        }
    );
    bad("RENAME a");
    // Multi-byte names right where "INBOX/" would end must not trip the normalisation.
    assert_eq!(
        ok("DELETE &ZeVnLIqe-x"),
        CommandBody::Delete {
            mailbox: mbox("日本語x")
        }
    );
    assert_eq!(
        ok("DELETE inbox/&ZeVnLIqe-"),
        CommandBody::Delete {
            mailbox: mbox("INBOX/日本語")
        }
    );
    // Mailbox names are strict modified UTF-7.
    for name in ["\"Entwürfe\"", "&AGE-", "a&b", "&Jjo"] {
        let e = bad(&format!("SELECT {name}"));
        assert!(e.message.contains("modified UTF-7"), "{e:?}");
    }
}

#[test]
fn list_forms() {
    let list = |reference: &str,
                patterns: &[&str],
                sel: &[&str],
                ret: &[&str],
                status: Option<Vec<StatusItem>>| CommandBody::List {
        reference: reference.into(),
        patterns: patterns.iter().map(|s| s.to_string()).collect(),
        select_options: sel.iter().map(|s| s.to_string()).collect(),
        return_options: ret.iter().map(|s| s.to_string()).collect(),
        return_status: status,
    };
    assert_eq!(ok("LIST \"\" *"), list("", &["*"], &[], &[], None));
    assert_eq!(ok("LIST \"\" \"%\""), list("", &["%"], &[], &[], None));
    assert_eq!(
        ok("list ~/mail/ %/&ZeVnLIqe-"),
        list("~/mail/", &["%/日本語"], &[], &[], None)
    );
    assert_eq!(
        ok("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX* \"Sent\") RETURN (CHILDREN special-use)"),
        list(
            "",
            &["INBOX*", "Sent"],
            &["SUBSCRIBED", "RECURSIVEMATCH"],
            &["CHILDREN", "SPECIAL-USE"],
            None
        )
    );
    assert_eq!(
        ok("LIST \"\" % RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))"),
        list(
            "",
            &["%"],
            &[],
            &["SPECIAL-USE"],
            Some(vec![StatusItem::Messages, StatusItem::Unseen])
        )
    );
    assert_eq!(
        ok("LIST () \"\" % RETURN ()"),
        list("", &["%"], &[], &[], None)
    );
    bad("LIST (RECURSIVEMATCH) \"\" %");
    bad("LIST (FOO) \"\" %");
    bad("LIST \"\" % RETURN (FOO)");
    bad("LIST \"\" % (CHILDREN)");
    bad("LIST \"\"");
    bad("LIST \"\" ()");
    assert_eq!(
        ok("LSUB \"\" *"),
        CommandBody::Lsub {
            reference: "".into(),
            pattern: "*".into()
        }
    );
}

#[test]
fn status() {
    assert_eq!(
        ok("STATUS blurdybloop (UIDNEXT MESSAGES unseen DELETED SIZE HIGHESTMODSEQ RECENT UIDVALIDITY)"),
        CommandBody::Status {
            mailbox: mbox("blurdybloop"),
            items: vec![
                StatusItem::UidNext,
                StatusItem::Messages,
                StatusItem::Unseen,
                StatusItem::Deleted,
                StatusItem::Size,
                StatusItem::HighestModSeq,
                StatusItem::Recent,
                StatusItem::UidValidity
            ]
        }
    );
    bad("STATUS x ()");
    bad("STATUS x (FOO)");
    bad("STATUS x MESSAGES");
}

#[test]
fn append() {
    let msg = "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\nHello\r\n";
    let body = ok(&format!(
        "APPEND saved-messages (\\Seen $Junk) \"17-Jul-1996 02:44:25 -0700\" {{{}}}\r\n{msg}",
        msg.len()
    ));
    let CommandBody::Append {
        mailbox,
        flags,
        date,
        message,
        binary,
    } = body
    else {
        panic!("{body:?}")
    };
    assert_eq!(mailbox, mbox("saved-messages"));
    assert_eq!(flags, vec![Flag::Seen, Flag::Keyword("$Junk".into())]);
    assert_eq!(date.unwrap().to_imap(), "17-Jul-1996 02:44:25 -0700");
    assert_eq!(message, msg.as_bytes());
    assert!(!binary);

    assert!(
        matches!(ok("APPEND x {0}\r\n"), CommandBody::Append { message, flags, date: None, .. } if message.is_empty() && flags.is_empty())
    );
    assert!(
        matches!(ok("APPEND x () {1+}\r\nm"), CommandBody::Append { message, .. } if message == b"m")
    );
    assert!(
        matches!(ok("APPEND x \" 7-Jul-1996 02:44:25 +0000\" {1}\r\nm"), CommandBody::Append { date: Some(d), .. } if d.date.day == 7)
    );
    assert!(
        matches!(ok_bytes(b"APPEND x ~{3}\r\na\0b"), CommandBody::Append { message, binary: true, .. } if message == b"a\0b")
    );
    bad_bytes(b"APPEND x {3}\r\na\0b");
    bad("APPEND x");
    bad("APPEND x (\\Seen)");
    bad("APPEND x (\\Recent) {1}\r\nm");
    bad("APPEND x \"17-Jul-1996\" {1}\r\nm");
    bad("APPEND x \"bad\" {1}\r\nm");
    bad("APPEND x {1}\r\nm extra");
    bad("APPEND x {1}\r\nm {1}\r\nn");
    bad("APPEND ~{1}\r\nx {1}\r\nm");
}

#[test]
fn fetch_items() {
    use FetchAttr as A;
    let items = |s: &str| match ok(&format!("FETCH 1 {s}")) {
        CommandBody::Fetch { attrs, .. } => attrs,
        other => panic!("{other:?}"),
    };
    let one = |s: &str| match items(s) {
        FetchAttrs::Items(v) if v.len() == 1 => v.into_iter().next().unwrap(),
        other => panic!("{other:?}"),
    };
    let sec = |part: &[u32], text: Option<SectionText>| Section {
        part: part.to_vec(),
        text,
    };
    assert_eq!(items("all"), FetchAttrs::All);
    assert_eq!(items("FAST"), FetchAttrs::Fast);
    assert_eq!(items("Full"), FetchAttrs::Full);
    bad("FETCH 1 (FAST)");
    bad("FETCH 1 (FLAGS ALL)");
    for (s, att) in [
        ("ENVELOPE", A::Envelope),
        ("flags", A::Flags),
        ("INTERNALDATE", A::InternalDate),
        ("RFC822", A::Rfc822),
        ("RFC822.HEADER", A::Rfc822Header),
        ("rfc822.size", A::Rfc822Size),
        ("RFC822.TEXT", A::Rfc822Text),
        ("BODY", A::Body),
        ("BODYSTRUCTURE", A::BodyStructure),
        ("UID", A::Uid),
        ("MODSEQ", A::ModSeq),
    ] {
        assert_eq!(one(s), att, "{s}");
        assert_eq!(one(&format!("({s})")), att, "({s})");
    }
    assert_eq!(
        one("BODY[]"),
        A::BodySection {
            peek: false,
            section: sec(&[], None),
            partial: None
        }
    );
    assert_eq!(
        one("body.peek[HEADER]<0.2048>"),
        A::BodySection {
            peek: true,
            section: sec(&[], Some(SectionText::Header)),
            partial: Some(Partial {
                start: 0,
                length: Some(2048)
            })
        }
    );
    assert_eq!(
        one("BODY[1.2.3.MIME]<5>"),
        A::BodySection {
            peek: false,
            section: sec(&[1, 2, 3], Some(SectionText::Mime)),
            partial: Some(Partial {
                start: 5,
                length: None
            })
        }
    );
    assert_eq!(
        one("BODY[2.TEXT]"),
        A::BodySection {
            peek: false,
            section: sec(&[2], Some(SectionText::Text)),
            partial: None
        }
    );
    assert_eq!(
        one("BODY[4.2]"),
        A::BodySection {
            peek: false,
            section: sec(&[4, 2], None),
            partial: None
        }
    );
    assert_eq!(
        one("BODY.PEEK[HEADER.FIELDS (From \"To\" {2}\r\nCc)]"),
        A::BodySection {
            peek: true,
            section: sec(
                &[],
                Some(SectionText::HeaderFields {
                    not: false,
                    fields: vec!["From".into(), "To".into(), "Cc".into()]
                })
            ),
            partial: None
        }
    );
    assert_eq!(
        one("BODY[1.header.fields.not (X-Spam)]"),
        A::BodySection {
            peek: false,
            section: sec(
                &[1],
                Some(SectionText::HeaderFields {
                    not: true,
                    fields: vec!["X-Spam".into()]
                })
            ),
            partial: None
        }
    );
    assert_eq!(
        one("BINARY[1.2]<0.10>"),
        A::Binary {
            peek: false,
            section: sec(&[1, 2], None),
            partial: Some(Partial {
                start: 0,
                length: Some(10)
            })
        }
    );
    assert_eq!(
        one("BINARY.PEEK[]"),
        A::Binary {
            peek: true,
            section: sec(&[], None),
            partial: None
        }
    );
    assert_eq!(
        one("BINARY.SIZE[3]"),
        A::BinarySize {
            section: sec(&[3], None)
        }
    );
    for s in [
        "BODY[MIME]",
        "BODY[0]",
        "BODY[1.0]",
        "BODY[01]",
        "BODY[1.]",
        "BODY[HEADER.FIELDS]",
        "BODY[HEADER.FIELDS ()]",
        "BODY[TEXT.MIME]",
        "BODY[FOO]",
        "BODY[",
        "BODY.PEEK",
        "BODY<0.1>",
        "BODY[]<0.0>",
        "BODY[]<>",
        "BODY[]<1.2.3>",
        "BINARY[HEADER]",
        "BINARY",
        "BINARY.SIZE",
        "BINARY.SIZE[1]<0.1>",
        "FOO",
        "()",
        "(FLAGS",
        "(FLAGS  UID)",
        "RFC822.FOO",
    ] {
        bad(&format!("FETCH 1 {s}"));
    }
    assert!(bad("FETCH 1 BODY[MIME]")
        .message
        .contains("part number before MIME"));
}

#[test]
fn fetch_forms() {
    assert_eq!(
        ok("UID fetch 1:* (FLAGS)"),
        CommandBody::Fetch {
            uid: true,
            set: SequenceSet::Ranges(smallvec::smallvec![(SeqBound::Value(1), SeqBound::Star)]),
            attrs: FetchAttrs::Items(vec![FetchAttr::Flags]),
            changed_since: None
        }
    );
    assert_eq!(
        ok("FETCH $ (UID) (CHANGEDSINCE 12345)"),
        CommandBody::Fetch {
            uid: false,
            set: SequenceSet::Saved,
            attrs: FetchAttrs::Items(vec![FetchAttr::Uid]),
            changed_since: Some(12345)
        }
    );
    bad("FETCH 1 FLAGS (CHANGEDSINCE 0)");
    bad("FETCH 1 FLAGS (VANISHED)");
    bad("FETCH 1 FLAGS ()");
    bad("FETCH 0 FLAGS");
    bad("FETCH 1,,2 FLAGS");
    bad("FETCH FLAGS");
}

#[test]
fn store_forms() {
    let store = |uid, op, silent, flags: Vec<Flag>, unchanged_since| CommandBody::Store {
        uid,
        set: set(&[(2, 2)]),
        op,
        silent,
        flags,
        unchanged_since,
    };
    assert_eq!(
        ok("uid store 2 +Flags (\\Seen)"),
        store(true, StoreOp::Add, false, vec![Flag::Seen], None)
    );
    assert_eq!(
        ok("STORE 2 -FLAGS.SILENT \\Deleted"),
        store(false, StoreOp::Remove, true, vec![Flag::Deleted], None)
    );
    assert_eq!(
        ok("STORE 2 FLAGS \\Answered $Label1"),
        store(
            false,
            StoreOp::Replace,
            false,
            vec![Flag::Answered, Flag::Keyword("$Label1".into())],
            None
        )
    );
    assert_eq!(
        ok("STORE 2 FLAGS ()"),
        store(false, StoreOp::Replace, false, vec![], None)
    );
    assert_eq!(
        ok("STORE 2 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Flagged)"),
        store(false, StoreOp::Add, true, vec![Flag::Flagged], Some(0))
    );
    for s in [
        "STORE 2 FLAGS",
        "STORE 2 +FLAGS.LOUD (\\Seen)",
        "STORE 2 *FLAGS (\\Seen)",
        "STORE 2 FLAGS (\\Recent)",
        "STORE 2 FLAGS \\*",
        "STORE 2 (FOO 1) FLAGS ()",
        "STORE 2 () FLAGS ()",
        "STORE 2 + FLAGS ()",
        "STORE 2 FLAGS (\\Seen) extra(",
    ] {
        bad(s);
    }
}

#[test]
fn copy_move_expunge() {
    assert_eq!(
        ok("COPY 2:4 MEETING"),
        CommandBody::Copy {
            uid: false,
            set: set(&[(2, 4)]),
            mailbox: mbox("MEETING")
        }
    );
    assert_eq!(
        ok("uid move 6 \"Trash\""),
        CommandBody::Move {
            uid: true,
            set: set(&[(6, 6)]),
            mailbox: mbox("Trash")
        }
    );
    assert_eq!(
        ok("UID EXPUNGE 3000:3002"),
        CommandBody::Expunge {
            uids: Some(set(&[(3000, 3002)]))
        }
    );
    bad("UID EXPUNGE");
    bad("UID NOOP");
    bad("UID");
    bad("COPY 1");
}

#[test]
fn search_keys() {
    use SearchKey as K;
    let d = |y, m, day| Date {
        year: y,
        month: m,
        day,
    };
    let crit = |s: &str| match ok(&format!("SEARCH {s}")) {
        CommandBody::Search { criteria, .. } => criteria,
        other => panic!("{other:?}"),
    };
    for (s, key) in [
        ("ALL", K::All),
        ("answered", K::Answered),
        ("BCC x", K::Bcc("x".into())),
        ("BEFORE 1-Feb-1994", K::Before(d(1994, 2, 1))),
        ("BODY \"a b\"", K::Body("a b".into())),
        ("CC x", K::Cc("x".into())),
        ("DELETED", K::Deleted),
        ("DRAFT", K::Draft),
        ("FLAGGED", K::Flagged),
        ("FROM {5}\r\nSmith", K::From("Smith".into())),
        (
            "HEADER Message-ID \"<x@y>\"",
            K::Header("Message-ID".into(), "<x@y>".into()),
        ),
        ("HEADER X-Foo \"\"", K::Header("X-Foo".into(), "".into())),
        ("KEYWORD $Junk", K::Keyword("$Junk".into())),
        ("LARGER 1024", K::Larger(1024)),
        ("LARGER 99999999999", K::Larger(u32::MAX)),
        ("NEW", K::New),
        ("NOT SEEN", K::Not(Box::new(K::Seen))),
        ("OLD", K::Old),
        ("ON \"29-Feb-2024\"", K::On(d(2024, 2, 29))),
        (
            "OR SEEN FLAGGED",
            K::Or(Box::new(K::Seen), Box::new(K::Flagged)),
        ),
        ("RECENT", K::Recent),
        ("SEEN", K::Seen),
        ("SENTBEFORE 1-Jan-2000", K::SentBefore(d(2000, 1, 1))),
        ("SENTON 01-Jan-2000", K::SentOn(d(2000, 1, 1))),
        ("SENTSINCE 1-jan-2000", K::SentSince(d(2000, 1, 1))),
        ("SINCE 1-Jan-2000", K::Since(d(2000, 1, 1))),
        ("SMALLER 10", K::Smaller(10)),
        ("SUBJECT \"caf\u{e9}\"", K::Subject("café".into())),
        ("TEXT x", K::Text("x".into())),
        ("TO x", K::To("x".into())),
        ("UID 1:5", K::Uid(set(&[(1, 5)]))),
        ("UNANSWERED", K::Unanswered),
        ("UNDELETED", K::Undeleted),
        ("UNDRAFT", K::Undraft),
        ("UNFLAGGED", K::Unflagged),
        ("UNKEYWORD foo", K::Unkeyword("foo".into())),
        ("UNSEEN", K::Unseen),
        (
            "2,4:*",
            K::SequenceSet(SequenceSet::Ranges(smallvec::smallvec![
                range(2, 2),
                (SeqBound::Value(4), SeqBound::Star),
            ])),
        ),
        ("$", K::SequenceSet(SequenceSet::Saved)),
        ("MODSEQ 620162338", K::ModSeq(620162338)),
        (
            "MODSEQ \"/flags/\\\\draft\" all 620162338",
            K::ModSeq(620162338),
        ),
        ("(SEEN)", K::And(vec![K::Seen])),
        (
            "(SEEN (DELETED FLAGGED))",
            K::And(vec![K::Seen, K::And(vec![K::Deleted, K::Flagged])]),
        ),
    ] {
        assert_eq!(crit(s), key, "{s}");
    }
    assert_eq!(
        crit("FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
        K::And(vec![
            K::Flagged,
            K::Since(d(1994, 2, 1)),
            K::Not(Box::new(K::From("Smith".into())))
        ])
    );
    assert_eq!(
        crit("OR (OR SEEN ANSWERED) NOT UID 1"),
        K::Or(
            Box::new(K::And(vec![K::Or(
                Box::new(K::Seen),
                Box::new(K::Answered)
            )])),
            Box::new(K::Not(Box::new(K::Uid(set(&[(1, 1)])))))
        )
    );
    for s in [
        "",
        "FOO",
        "SEEN  DELETED",
        "BEFORE 1994-02-01",
        "BEFORE 30-Feb-1994",
        "NOT",
        "OR SEEN",
        "()",
        "(SEEN",
        "SEEN)",
        "LARGER x",
        "UID",
        "KEYWORD \"x\"",
        "HEADER X",
        "MODSEQ \"/flags/\\\\draft\" 5",
        "MODSEQ \"/flags/\\\\draft\" mine 5",
        "MODSEQ \"/flgs/\\\\draft\" all 5",
        "MODSEQ \"/flags/\" all 5",
        "FUZZY TEXT x",
        "YOUNGER 10",
    ] {
        bad(&format!("SEARCH {s}"));
    }
    bad("SEARCH");
    bad("SEARCH SUBJECT caf\u{e9}");
}

#[test]
fn search_options() {
    assert_eq!(
        ok("UID SEARCH RETURN (MIN max COUNT) CHARSET UTF-8 ALL"),
        CommandBody::Search {
            uid: true,
            charset: Some("UTF-8".into()),
            criteria: SearchKey::All,
            ret: Some(vec!["MIN".into(), "MAX".into(), "COUNT".into()])
        }
    );
    assert_eq!(
        ok("SEARCH RETURN () ALL"),
        CommandBody::Search {
            uid: false,
            charset: None,
            criteria: SearchKey::All,
            ret: Some(vec![])
        }
    );
    assert!(matches!(
        ok("SEARCH CHARSET \"us-ascii\" TEXT x"),
        CommandBody::Search { charset: Some(c), .. } if c == "us-ascii"
    ));
    // Invalid UTF-8 is BAD in UTF-8, kept lossily in a charset the session will refuse.
    bad_bytes(b"SEARCH CHARSET UTF-8 SUBJECT {2}\r\n\xe9t");
    assert!(matches!(
        ok_bytes(b"SEARCH CHARSET ISO-8859-1 SUBJECT {2}\r\n\xe9t"),
        CommandBody::Search { criteria: SearchKey::Subject(s), .. } if s == "\u{fffd}t"
    ));
    bad("SEARCH RETURN (FOO) ALL");
    bad("SEARCH RETURN ALL");
    bad("SEARCH CHARSET ALL");
}

#[test]
fn search_depth_is_bounded() {
    let ctx = Ctx::new(8);
    let deep = |n: usize, open: &str, close: &str| {
        format!("a SEARCH {}ALL{}\r\n", open.repeat(n), close.repeat(n))
    };
    assert!(parse_command(&ctx, deep(8, "(", ")").as_bytes()).is_ok());
    assert!(parse_command(&ctx, deep(8, "NOT ", "").as_bytes()).is_ok());
    for line in [
        deep(9, "(", ")"),
        deep(9, "NOT ", ""),
        deep(9, "OR ALL ", ""),
        deep(100_000, "(", ")"),
    ] {
        let e = parse_command(&ctx, line.as_bytes()).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::TooDeep, "{e:?}");
        assert_eq!(e.tag.as_deref(), Some("a"));
    }
}

#[test]
fn error_messages_name_the_problem() {
    let e = bad("FETCH 1 (FLAGS FOO)");
    assert_eq!(e.message, "FETCH: expected fetch attribute at \"FOO)\"");
    let e = bad("UID FETCH 1:* (FLAGS");
    assert!(e.message.starts_with("UID FETCH: expected"), "{e:?}");
    assert!(e.message.ends_with("at end of line"), "{e:?}");
    let e = bad("SELECT");
    assert_eq!(e.message, "SELECT: expected SP at end of line");
}

#[test]
fn prefix_check() {
    let ctx = Ctx::new(8);
    assert!(check_prefix(&ctx, b"a LOGIN {3}\r\n").is_ok());
    assert!(check_prefix(&ctx, b"a APPEND INBOX (\\Seen) {310}\r\n").is_ok());
    assert!(check_prefix(&ctx, b"a SEARCH SUBJECT {3}\r\n").is_ok());
    assert!(check_prefix(&ctx, b"a LOGIN {3}\r\nbob {4}\r\n").is_ok());
    for p in [
        &b"a NOOP {3}\r\n"[..],
        b"a FOO {3}\r\n",
        b"a FETCH 1 {3}\r\n",
        b"{3}\r\n",
        b"a SELECT x {3}\r\n",
    ] {
        assert!(check_prefix(&ctx, p).is_err(), "{p:?}");
    }
    assert_eq!(check_prefix(&ctx, b"{3}\r\n").unwrap_err().tag, None);
}

#[test]
fn debug_output_of_a_login_hides_the_password() {
    let login = format!("{:?}", ok("LOGIN bob hunter2"));
    assert!(
        login.contains("bob") || login.contains("98, 111, 98"),
        "{login}"
    );
    assert!(!login.contains("hunter2"), "{login}");
    let bytes: Vec<String> = b"hunter2".iter().map(|b| b.to_string()).collect();
    assert!(!login.contains(&bytes.join(", ")), "{login}");
    let sasl = format!("{:?}", ok("AUTHENTICATE PLAIN AGJvYgBodW50ZXIy"));
    assert!(!sasl.contains("AGJvYgBodW50ZXIy"), "{sasl}");
    assert!(sasl.contains("secret bytes"), "{sasl}");
}
