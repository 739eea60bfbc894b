//! The sample session of RFC 3501 §8, replayed against the engine. The RFC's untagged
//! responses may come in any order, so SELECT is compared as a set of lines.

mod support;

use support::{append, expect, store_with};
use tidings_engine::harness::Harness;

/// Message 12 of the sample: headers giving the RFC's ENVELOPE, a 92-line 3028-octet body and
/// padding so RFC822.SIZE is the RFC's 4286.
fn message_12() -> Vec<u8> {
    let mut head = String::from(
        "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
         From: Terry Gray <gray@cac.washington.edu>\r\n\
         Subject: IMAP4rev1 WG mtg summary and minutes\r\n\
         To: imap@cac.washington.edu\r\n\
         cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\
         Message-Id: <B27397-0100000@cac.washington.edu>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n",
    );
    let mut body = String::new();
    for _ in 0..91 {
        body.push_str(&"m".repeat(31));
        body.push_str("\r\n");
    }
    body.push_str(&"e".repeat(23));
    body.push_str("\r\n");
    assert_eq!(body.len(), 3028);
    let pad = 4286 - 3028 - head.len() - "X-Pad: \r\n\r\n".len();
    head.push_str(&format!("X-Pad: {}\r\n\r\n", "p".repeat(pad)));
    let msg = format!("{head}{body}").into_bytes();
    assert_eq!(msg.len(), 4286);
    msg
}

#[test]
fn rfc3501_section_8_sample_session() {
    let mut h = Harness::new(store_with(&[("mrc", "secret")]));
    for i in 1..=16u32 {
        let msg = if i == 12 {
            message_12()
        } else {
            format!("Subject: message {i}\r\n\r\nbody\r\n").into_bytes()
        };
        let (c, _) = h.connect();
        h.send(c, "x LOGIN mrc secret\r\n");
        let mut cmd = format!(
            "y APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {{{}+}}\r\n",
            msg.len()
        )
        .into_bytes();
        cmd.extend_from_slice(&msg);
        cmd.extend_from_slice(b"\r\n");
        assert!(h.send(c, cmd).contains("y OK"));
    }
    // Someone has looked at the mailbox since, so only the next two are \Recent.
    let (c, _) = h.connect();
    h.send(c, "x LOGIN mrc secret\r\nx2 SELECT INBOX\r\nx3 LOGOUT\r\n");
    append(
        &mut h,
        "mrc",
        "secret",
        "INBOX",
        "",
        b"Subject: 17\r\n\r\nnew\r\n",
    );
    append(
        &mut h,
        "mrc",
        "secret",
        "INBOX",
        "",
        b"Subject: 18\r\n\r\nnew\r\n",
    );

    let (s, greeting) = h.connect();
    assert!(greeting.starts_with("* OK "));
    expect(
        &h.send(s, "a001 login mrc secret\r\n"),
        &["a001 OK [CAPABILITY <any>]"],
    );

    let out = h.send(s, "a002 select inbox\r\n");
    let mut got: Vec<&str> = out.split_terminator("\r\n").collect();
    let tagged = got.pop().unwrap_or_default();
    assert!(tagged.starts_with("a002 OK [READ-WRITE]"), "{out}");
    for want in [
        "* 18 EXISTS",
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* 2 RECENT",
        "* OK [UNSEEN 17]",
        "* OK [UIDVALIDITY ",
    ] {
        assert!(
            got.iter().any(|l| l.starts_with(want)),
            "missing {want:?} in\n{out}"
        );
    }

    let out = h.send(s, "a003 fetch 12 full\r\n");
    let expected = "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
        RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \
        \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \
        \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
        ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \
        \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" \
        NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") \
        BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n";
    // Type and parameter names are case-insensitive (RFC 2045); Dovecot sends them as written.
    assert_eq!(
        out.lines().next().unwrap_or_default().to_ascii_lowercase(),
        expected.trim_end().to_ascii_lowercase(),
        "{out}"
    );
    assert!(out.ends_with("a003 OK Fetch completed.\r\n"));

    let out = h.send(s, "a004 fetch 12 body[header]\r\n");
    let header_len = 4286 - 3028;
    assert!(
        out.starts_with(&format!(
            "* 12 FETCH (BODY[HEADER] {{{header_len}}}\r\nDate: Wed, 17 Jul 1996"
        )),
        "{out}"
    );
    // BODY[HEADER] (not PEEK) sets \Seen, which message 12 already had: no FLAGS change.
    assert!(
        out.ends_with("\r\n\r\n)\r\na004 OK Fetch completed.\r\n"),
        "{out}"
    );

    expect(
        &h.send(s, "a005 store 12 +flags \\deleted\r\n"),
        &["* 12 FETCH (FLAGS (\\Deleted \\Seen))", "a005 OK"],
    );
    expect(&h.send(s, "a006 logout\r\n"), &["* BYE", "a006 OK"]);
}
