//! The seed's Thunderbird↔Dovecot transcripts replayed against the engine: same client lines,
//! same untagged data, codes and tagged results (human text may differ).

mod support;

use support::{append, expect, store_with};
use tidings_engine::harness::Harness;

const WORK: &[u8] = include_bytes!("fixtures/seed-work.eml");
const FIRST: &[u8] =
    b"From: alice <alice@localdomain>\r\nTo: bob@localdomain\r\nSubject: Hello\r\n\
Date: Mon, 23 Jun 2025 08:00:00 -1000\r\nMessage-ID: <first@localdomain>\r\n\r\nhello\r\n";

const POST_AUTH_CAPS: &str = "IMAP4rev1 SASL-IR ID ENABLE IDLE UNSELECT CHILDREN NAMESPACE \
UIDPLUS MOVE CONDSTORE LITERAL+ SPECIAL-USE BINARY ESEARCH APPENDLIMIT=<n>";

#[test]
fn thunderbird_login_select_idle_push_fetch_store() {
    let mut h = Harness::new(store_with(&[("bob", "00000000")]));
    // History before the capture: message 1 arrived, was read, and INBOX was selected since,
    // so it is no longer \Recent ("* 0 RECENT" below).
    append(&mut h, "bob", "00000000", "INBOX", "\\Seen", FIRST);
    let (old, _) = h.connect();
    h.send(
        old,
        "o1 LOGIN bob 00000000\r\no2 SELECT INBOX\r\no3 LOGOUT\r\n",
    );

    let (tb, greeting) = h.connect();
    expect(
        &greeting,
        &["* OK [CAPABILITY IMAP4rev1 SASL-IR ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN]"],
    );
    expect(&h.send(tb, "41 authenticate PLAIN\r\n"), &["+ "]);
    let caps = format!("41 OK [CAPABILITY {POST_AUTH_CAPS}] Logged in");
    expect(&h.send(tb, "AGJvYgAwMDAwMDAwMA==\r\n"), &[&caps]);

    expect(
        &h.send(
            tb,
            "42 ID (\"name\" \"Thunderbird\" \"version\" \"139.0.2\")\r\n",
        ),
        &["* ID (\"name\" \"Tidings\" \"version\" \"<any>\")", "42 OK"],
    );
    expect(
        &h.send(tb, "43 select \"INBOX\"\r\n"),
        &[
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]",
            "* 1 EXISTS",
            "* 0 RECENT",
            "* OK [UIDVALIDITY <n>]",
            "* OK [UIDNEXT 2]",
            "43 OK [READ-WRITE]",
        ],
    );
    expect(
        &h.send(tb, "44 UID fetch 1:* (FLAGS)\r\n"),
        &["* 1 FETCH (UID 1 FLAGS (\\Seen))", "44 OK"],
    );
    expect(&h.send(tb, "45 IDLE\r\n"), &["+ idling"]);
    expect(&h.send(tb, "DONE\r\n"), &["45 OK"]);
    expect(&h.send(tb, "46 noop\r\n"), &["46 OK"]);
    expect(
        &h.send(tb, "47 UID fetch 2:* (FLAGS)\r\n"),
        &["* 1 FETCH (UID 1 FLAGS (\\Seen))", "47 OK"],
    );

    // IDLE with the keepalive: our timer fires after two minutes of silence.
    expect(&h.send(tb, "48 IDLE\r\n"), &["+ idling"]);
    h.advance(60_000);
    assert_eq!(h.take(tb), "", "no keepalive before the interval");
    h.advance(60_000);
    expect(&h.take(tb), &["* OK Still here"]);
    expect(&h.send(tb, "DONE\r\n"), &["48 OK"]);
    expect(&h.send(tb, "49 noop\r\n"), &["49 OK"]);
    expect(
        &h.send(tb, "50 UID fetch 2:* (FLAGS)\r\n"),
        &["* 1 FETCH (UID 1 FLAGS (\\Seen))", "50 OK"],
    );

    // New mail arrives from another connection while Thunderbird IDLEs.
    expect(&h.send(tb, "51 IDLE\r\n"), &["+ idling"]);
    append(&mut h, "bob", "00000000", "INBOX", "", WORK);
    expect(&h.take(tb), &["* 2 EXISTS", "* 1 RECENT"]);
    expect(&h.send(tb, "DONE\r\n"), &["51 OK"]);
    expect(&h.send(tb, "52 noop\r\n"), &["52 OK"]);
    expect(
        &h.send(tb, "53 UID fetch 2:* (FLAGS)\r\n"),
        &["* 2 FETCH (UID 2 FLAGS (\\Recent))", "53 OK"],
    );

    let out = h.send(
        tb,
        "54 UID fetch 2 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date \
         Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
    );
    assert_eq!(
        out,
        "* 2 FETCH (UID 2 RFC822.SIZE 621 FLAGS (\\Recent) BODY[HEADER.FIELDS (FROM TO CC BCC \
         SUBJECT DATE MESSAGE-ID PRIORITY X-PRIORITY REFERENCES NEWSGROUPS IN-REPLY-TO \
         CONTENT-TYPE REPLY-TO)] {230}\r\n\
         Message-ID: <157dc58f-fa68-4420-a6ee-5df03682db72@localdomain>\r\n\
         Date: Mon, 23 Jun 2025 09:06:36 -1000\r\n\
         To: bob@localdomain\r\n\
         From: alice <alice@localdomain>\r\n\
         Subject: Work\r\n\
         Content-Type: text/plain; charset=UTF-8; format=flowed\r\n\r\n)\r\n\
         54 OK Fetch completed.\r\n"
    );

    let out = h.send(tb, "55 UID fetch 2 (UID RFC822.SIZE BODY.PEEK[])\r\n");
    let mut want = b"* 2 FETCH (UID 2 RFC822.SIZE 621 BODY[] {621}\r\n".to_vec();
    want.extend_from_slice(WORK);
    want.extend_from_slice(b")\r\n55 OK Fetch completed.\r\n");
    assert_eq!(out.as_bytes(), &want[..]);

    let out = h.send(
        tb,
        "56 UID fetch 2 (UID BODY.PEEK[HEADER.FIELDS (Content-Type Content-Transfer-Encoding)] \
         BODY.PEEK[TEXT]<0.2048>)\r\n",
    );
    assert_eq!(
        out,
        "* 2 FETCH (UID 2 BODY[HEADER.FIELDS (CONTENT-TYPE CONTENT-TRANSFER-ENCODING)] {91}\r\n\
         Content-Type: text/plain; charset=UTF-8; format=flowed\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n BODY[TEXT]<0> {8}\r\nwork\r\n\r\n)\r\n\
         56 OK Fetch completed.\r\n"
    );

    expect(&h.send(tb, "57 IDLE\r\n"), &["+ idling"]);
    expect(&h.send(tb, "DONE\r\n"), &["57 OK"]);
    expect(&h.send(tb, "58 noop\r\n"), &["58 OK"]);
    // The peeks above did not set \Seen.
    expect(
        &h.send(tb, "59 UID fetch 3:* (FLAGS)\r\n"),
        &["* 2 FETCH (UID 2 FLAGS (\\Recent))", "59 OK"],
    );
    expect(
        &h.send(tb, "60 uid store 2 +Flags (\\Seen)\r\n"),
        &["* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))", "60 OK"],
    );
    expect(&h.send(tb, "61 IDLE\r\n"), &["+ idling"]);

    // \Recent belonged to Thunderbird's session only: a later session doesn't see it.
    let (late, _) = h.connect();
    h.send(late, "l1 LOGIN bob 00000000\r\n");
    let out = h.send(late, "l2 SELECT INBOX\r\n");
    assert!(out.contains("* 0 RECENT\r\n"), "{out}");
}

#[test]
fn thunderbird_delete_flows_move_to_trash_then_authenticate_login() {
    let mut h = Harness::new(store_with(&[("user1@tio.com", "00000000")]));
    for i in 1..=6 {
        let msg =
            format!("From: a@b.c\r\nSubject: m{i}\r\nMessage-ID: <m{i}@x>\r\n\r\nbody {i}\r\n");
        append(
            &mut h,
            "user1@tio.com",
            "00000000",
            "INBOX",
            "",
            msg.as_bytes(),
        );
    }

    // First flow: AUTHENTICATE LOGIN, then mark message 6 read and move it to Trash.
    let (c, _) = h.connect();
    expect(&h.send(c, "2 authenticate LOGIN\r\n"), &["+ VXNlcm5hbWU6"]);
    expect(&h.send(c, "dXNlcjFAdGlvLmNvbQ==\r\n"), &["+ UGFzc3dvcmQ6"]);
    let caps = format!("2 OK [CAPABILITY {POST_AUTH_CAPS}] Logged in");
    expect(&h.send(c, "MDAwMDAwMDA=\r\n"), &[&caps]);
    let cap_line = format!("* CAPABILITY {POST_AUTH_CAPS}");
    expect(&h.send(c, "3 capability\r\n"), &[&cap_line, "3 OK"]);
    expect(
        &h.send(
            c,
            "4 ID (\"name\" \"Thunderbird\" \"version\" \"139.0.2\")\r\n",
        ),
        &["* ID (\"name\" \"Tidings\" \"version\" \"<any>\")", "4 OK"],
    );
    expect(
        &h.send(c, "5 select \"INBOX\"\r\n"),
        &[
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]",
            "* 6 EXISTS",
            "* 6 RECENT",
            "* OK [UNSEEN 1]",
            "* OK [UIDVALIDITY <n>]",
            "* OK [UIDNEXT 7]",
            "5 OK [READ-WRITE]",
        ],
    );
    let out = h.send(c, "6 UID fetch 1:* (FLAGS)\r\n");
    assert_eq!(out.matches("FLAGS (\\Recent)").count(), 6, "{out}");
    expect(
        &h.send(c, "7 uid store 6 +Flags (\\Seen)\r\n"),
        &["* 6 FETCH (UID 6 FLAGS (\\Seen \\Recent))", "7 OK"],
    );
    expect(
        &h.send(c, "9 uid move 6 \"Trash\"\r\n"),
        &["* OK [COPYUID <n> 6 1]", "* 6 EXPUNGE", "9 OK"],
    );
    expect(&h.send(c, "10 noop\r\n"), &["10 OK"]);
    expect(
        &h.send(c, "11 UID fetch 7:* (FLAGS)\r\n"),
        &["* 5 FETCH (UID 5 FLAGS (\\Recent))", "11 OK"],
    );
    expect(
        &h.send(
            c,
            "12 UID fetch 6 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject \
             Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
        ),
        &["12 OK"],
    );
    expect(&h.send(c, "13 IDLE\r\n"), &["+ idling"]);

    // Second flow: in Trash, mark read, IDLE; then a new connection logs in with
    // AUTHENTICATE LOGIN and logs out.
    let (t, _) = h.connect();
    h.send(t, "85 LOGIN user1@tio.com 00000000\r\n");
    expect(
        &h.send(
            t,
            "86 ID (\"name\" \"Thunderbird\" \"version\" \"139.0.2\")\r\n",
        ),
        &["* ID (\"name\" \"Tidings\" \"version\" \"<any>\")", "86 OK"],
    );
    let out = h.send(t, "87 select \"Trash\"\r\n");
    assert!(
        out.contains("* 1 EXISTS\r\n") && out.contains("* 1 RECENT\r\n"),
        "{out}"
    );
    // The moved message kept the \Seen set before the move.
    expect(
        &h.send(t, "88 UID fetch 1:* (FLAGS)\r\n"),
        &["* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))", "88 OK"],
    );
    expect(
        &h.send(t, "89 uid store 1 +Flags (\\Seen)\r\n"),
        &["* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))", "89 OK"],
    );
    expect(&h.send(t, "90 IDLE\r\n"), &["+ idling"]);
    expect(&h.send(t, "DONE\r\n"), &["90 OK"]);

    let (n, _) = h.connect();
    expect(&h.send(n, "91 authenticate LOGIN\r\n"), &["+ VXNlcm5hbWU6"]);
    expect(&h.send(n, "dXNlcjFAdGlvLmNvbQ==\r\n"), &["+ UGFzc3dvcmQ6"]);
    let caps = format!("91 OK [CAPABILITY {POST_AUTH_CAPS}] Logged in");
    expect(&h.send(n, "MDAwMDAwMDA=\r\n"), &[&caps]);
    let cap_line = format!("* CAPABILITY {POST_AUTH_CAPS}");
    expect(&h.send(n, "92 capability\r\n"), &[&cap_line, "92 OK"]);
    h.send(
        n,
        "93 ID (\"name\" \"Thunderbird\" \"version\" \"139.0.2\")\r\n",
    );
    let out = h.send(n, "94 select \"Trash\"\r\n");
    assert!(
        out.contains("* 1 EXISTS\r\n") && out.contains("* 0 RECENT\r\n"),
        "{out}"
    );
    expect(
        &h.send(n, "95 UID fetch 1:* (FLAGS)\r\n"),
        &["* 1 FETCH (UID 1 FLAGS (\\Seen))", "95 OK"],
    );
    let out = h.send(
        n,
        "96 UID fetch 1 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject \
         Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
    );
    assert!(
        out.starts_with("* 1 FETCH (UID 1 RFC822.SIZE 56 FLAGS (\\Seen) BODY[HEADER.FIELDS (FROM TO CC BCC SUBJECT DATE MESSAGE-ID PRIORITY X-PRIORITY REFERENCES NEWSGROUPS IN-REPLY-TO CONTENT-TYPE REPLY-TO)] {48}\r\nFrom: a@b.c\r\nSubject: m6\r\nMessage-ID: <m6@x>\r\n\r\n)\r\n"),
        "{out}"
    );
    expect(&h.send(n, "97 logout\r\n"), &["* BYE", "97 OK"]);
    assert!(h.session(n).is_closed());
}
