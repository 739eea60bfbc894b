//! Session rules clients depend on, each driven from raw client bytes to raw server bytes:
//! state validity, EXPUNGE timing, \Seen, STARTTLS, LOGINDISABLED, IDLE pushes, mailbox
//! management answers and their response codes.

mod support;

use support::{append, expect, store_with};
use tidings_engine::harness::Harness;
use tidings_engine::session::{Event, SessionConfig};
use tidings_engine::store::MemoryStore;

fn bench() -> Harness<MemoryStore> {
    Harness::new(store_with(&[("bob", "pw"), ("alice", "pw2")]))
}

fn login(h: &mut Harness<MemoryStore>, user: &str, pass: &str) -> usize {
    let (c, _) = h.connect();
    let out = h.send(c, format!("L LOGIN {user} {pass}\r\n"));
    assert!(out.starts_with("L OK"), "{out}");
    c
}

fn msg(subject: &str) -> Vec<u8> {
    format!("From: a@example.com\r\nSubject: {subject}\r\n\r\nhello {subject}\r\n").into_bytes()
}

#[test]
fn commands_are_refused_in_the_wrong_state() {
    let mut h = bench();
    let (c, _) = h.connect();
    expect(&h.send(c, "a1 SELECT INBOX\r\n"), &["a1 BAD"]);
    expect(&h.send(c, "a2 FETCH 1 FLAGS\r\n"), &["a2 BAD"]);
    expect(
        &h.send(c, "a3 LOGIN bob pw\r\n"),
        &["a3 OK [CAPABILITY <any>]"],
    );
    expect(&h.send(c, "a4 LOGIN bob pw\r\n"), &["a4 BAD"]);
    expect(&h.send(c, "a5 FETCH 1 FLAGS\r\n"), &["a5 BAD"]);
    expect(&h.send(c, "a6 EXPUNGE\r\n"), &["a6 BAD"]);
    // CAPABILITY and NOOP work everywhere.
    expect(&h.send(c, "a7 NOOP\r\n"), &["a7 OK"]);
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    let mut h = bench();
    let (c, _) = h.connect();
    expect(
        &h.send(c, "a LOGIN bob nope\r\n"),
        &["a NO [AUTHENTICATIONFAILED]"],
    );
    expect(
        &h.send(c, "b LOGIN nobody pw\r\n"),
        &["b NO [AUTHENTICATIONFAILED]"],
    );
    assert!(
        h.events(c)
            .iter()
            .filter(|e| **e == Event::AuthFailed)
            .count()
            == 2
    );
    expect(
        &h.send(c, "c AUTHENTICATE PLAIN AGJvYgB4\r\n"),
        &["c NO [AUTHENTICATIONFAILED]"],
    );
    expect(&h.send(c, "d AUTHENTICATE PLAIN\r\n"), &["+ "]);
    expect(&h.send(c, "*\r\n"), &["d BAD"]);
    expect(
        &h.send(c, "e AUTHENTICATE CRAM-MD5\r\n"),
        &["e NO [CANNOT]"],
    );
    // SASL-IR with the right password.
    expect(
        &h.send(c, "f AUTHENTICATE PLAIN AGJvYgBwdw==\r\n"),
        &["f OK [CAPABILITY <any>]"],
    );
}

#[test]
fn expunge_waits_while_fetch_by_sequence_number_runs() {
    let mut h = bench();
    for s in ["one", "two", "three"] {
        append(&mut h, "bob", "pw", "INBOX", "", &msg(s));
    }
    let a = login(&mut h, "bob", "pw");
    let b = login(&mut h, "bob", "pw");
    h.send(a, "s SELECT INBOX\r\n");
    h.send(b, "s SELECT INBOX\r\n");
    // b deletes message 2.
    h.send(b, "d1 STORE 2 +FLAGS.SILENT (\\Deleted)\r\nd2 EXPUNGE\r\n");
    // a's FETCH by sequence number must not see "* 2 EXPUNGE": numbers stay stable.
    let out = h.send(a, "f1 FETCH 1:3 (FLAGS)\r\n");
    assert!(!out.contains("EXPUNGE"), "{out}");
    assert!(out.contains("* 3 FETCH"), "{out}");
    // ...and NOOP delivers it.
    let out = h.send(a, "n1 NOOP\r\n");
    assert!(out.starts_with("* 2 EXPUNGE\r\n"), "{out}");
    // UID FETCH may carry it, and catches up before answering, so its data is current.
    h.send(b, "d3 STORE 1 +FLAGS.SILENT (\\Deleted)\r\nd4 EXPUNGE\r\n");
    let out = h.send(a, "f2 UID FETCH 1:* (FLAGS)\r\n");
    assert!(
        out.starts_with("* 1 EXPUNGE\r\n* 1 FETCH (UID 3 FLAGS (\\Recent))\r\n"),
        "{out}"
    );
    expect(&h.send(a, "f3 FETCH 2 FLAGS\r\n"), &["f3 BAD"]);
}

#[test]
fn idle_pushes_flag_changes_expunges_and_new_mail_from_other_sessions() {
    let mut h = bench();
    append(&mut h, "bob", "pw", "INBOX", "", &msg("one"));
    append(&mut h, "bob", "pw", "INBOX", "", &msg("two"));
    let a = login(&mut h, "bob", "pw");
    let b = login(&mut h, "bob", "pw");
    h.send(a, "s SELECT INBOX\r\n");
    h.send(b, "s SELECT INBOX\r\n");
    expect(&h.send(a, "i IDLE\r\n"), &["+ idling"]);
    h.send(b, "x UID STORE 1 +FLAGS (\\Flagged)\r\n");
    expect(
        &h.take(a),
        &["* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))"],
    );
    h.send(b, "y UID STORE 2 +FLAGS (\\Deleted)\r\nz EXPUNGE\r\n");
    let out = h.take(a);
    assert!(out.ends_with("* 2 EXPUNGE\r\n"), "{out}");
    append(&mut h, "bob", "pw", "INBOX", "", &msg("three"));
    // The IDLE-ing session had the mailbox selected when it arrived: it gets \Recent
    // (RECENT counts message 1, recent since SELECT, and the new one).
    expect(&h.take(a), &["* 2 EXISTS", "* 2 RECENT"]);
    expect(&h.send(a, "DONE\r\n"), &["i OK"]);
    // Alice's account is never pushed into Bob's session.
    let c = login(&mut h, "alice", "pw2");
    h.send(c, "s SELECT INBOX\r\n");
    expect(&h.send(a, "i2 IDLE\r\n"), &["+ idling"]);
    append(&mut h, "alice", "pw2", "INBOX", "", &msg("for alice"));
    assert_eq!(h.take(a), "");
    expect(&h.send(a, "garbage\r\n"), &["i2 BAD"]);
}

#[test]
fn body_sets_seen_but_peek_does_not() {
    let mut h = bench();
    append(&mut h, "bob", "pw", "INBOX", "", &msg("one"));
    let a = login(&mut h, "bob", "pw");
    h.send(a, "s SELECT INBOX\r\n");
    let out = h.send(a, "f1 FETCH 1 (BODY.PEEK[TEXT])\r\n");
    assert!(!out.contains("FLAGS"), "{out}");
    expect(
        &h.send(a, "f2 FETCH 1 (FLAGS)\r\n"),
        &["* 1 FETCH (FLAGS (\\Recent))", "f2 OK"],
    );
    let out = h.send(a, "f3 FETCH 1 (BODY[TEXT])\r\n");
    assert_eq!(
        out,
        "* 1 FETCH (BODY[TEXT] {11}\r\nhello one\r\n FLAGS (\\Seen \\Recent))\r\nf3 OK Fetch completed.\r\n"
    );
    // EXAMINE is read-only: BODY[] does not set \Seen there.
    h.send(a, "u1 STORE 1 -FLAGS (\\Seen)\r\ne EXAMINE INBOX\r\n");
    let out = h.send(a, "f4 FETCH 1 (BODY[TEXT])\r\n");
    assert!(!out.contains("FLAGS"), "{out}");
    expect(
        &h.send(a, "f5 STORE 1 +FLAGS (\\Seen)\r\n"),
        &["f5 NO [READ-ONLY]"],
    );
}

#[test]
fn starttls_stops_reading_plaintext_and_hands_over_to_the_host() {
    let config = SessionConfig {
        starttls_available: true,
        allow_plaintext_auth: false,
        ..Default::default()
    };
    let mut h = Harness::new(store_with(&[("bob", "pw")])).with_config(config);
    let (c, greeting) = h.connect();
    assert!(
        greeting.contains("STARTTLS") && greeting.contains("LOGINDISABLED"),
        "{greeting}"
    );
    assert!(!greeting.contains("AUTH=PLAIN"), "{greeting}");
    expect(
        &h.send(c, "a LOGIN bob pw\r\n"),
        &["a NO [PRIVACYREQUIRED]"],
    );
    // A command pipelined after STARTTLS was sent in the clear: it must not run.
    expect(&h.send(c, "b STARTTLS\r\nc LOGIN bob pw\r\n"), &["b OK"]);
    assert_eq!(h.events(c), vec![Event::StartTls]);
    assert_eq!(h.send(c, ""), "");
}

#[test]
fn selecting_again_closes_the_previous_mailbox_and_uidvalidity_is_per_mailbox() {
    let mut h = bench();
    let a = login(&mut h, "bob", "pw");
    let uv = |out: &str| -> String {
        let i = out.find("[UIDVALIDITY ").expect("UIDVALIDITY");
        out[i + 13..]
            .split(']')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let inbox = uv(&h.send(a, "s1 SELECT INBOX\r\n"));
    let out = h.send(a, "s2 SELECT Trash\r\n");
    assert!(out.starts_with("* OK [CLOSED]"), "{out}");
    let trash = uv(&out);
    assert_ne!(inbox, trash, "UIDVALIDITY must differ per mailbox");
    assert_eq!(
        uv(&h.send(a, "s3 SELECT INBOX\r\n")),
        inbox,
        "UIDVALIDITY must not change"
    );
    // Deleting and re-creating gives a new UIDVALIDITY.
    h.send(a, "c1 CREATE Projects\r\n");
    let first = uv(&h.send(a, "s4 SELECT Projects\r\n"));
    h.send(
        a,
        "u UNSELECT\r\nd DELETE Projects\r\nc2 CREATE Projects\r\n",
    );
    assert_ne!(uv(&h.send(a, "s5 SELECT Projects\r\n")), first);
}

#[test]
fn mailbox_management_answers() {
    let mut h = bench();
    let a = login(&mut h, "bob", "pw");
    expect(&h.send(a, "c1 CREATE Work/2026\r\n"), &["c1 OK"]);
    expect(&h.send(a, "c2 CREATE Work\r\n"), &["c2 NO [ALREADYEXISTS]"]);
    expect(
        &h.send(a, "c3 CREATE inbox\r\n"),
        &["c3 NO [ALREADYEXISTS]"],
    );
    expect(
        &h.send(a, "l1 LIST \"\" \"Work*\"\r\n"),
        &[
            "* LIST (\\HasChildren) \"/\" Work",
            "* LIST (\\HasNoChildren) \"/\" Work/2026",
            "l1 OK",
        ],
    );
    expect(
        &h.send(a, "l2 LIST \"\" \"%\"\r\n"),
        &[
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
            "* LIST (\\HasChildren) \"/\" Work",
            "l2 OK",
        ],
    );
    expect(
        &h.send(a, "l3 LIST \"\" \"\"\r\n"),
        &["* LIST (\\Noselect) \"/\" \"\"", "l3 OK"],
    );
    expect(&h.send(a, "d1 DELETE Work\r\n"), &["d1 NO [INUSE]"]);
    expect(&h.send(a, "d2 DELETE INBOX\r\n"), &["d2 NO [CANNOT]"]);
    expect(&h.send(a, "d3 DELETE Nope\r\n"), &["d3 NO [NONEXISTENT]"]);
    expect(&h.send(a, "r1 RENAME Work Play\r\n"), &["r1 OK"]);
    expect(
        &h.send(a, "l4 LIST \"\" \"Play/*\"\r\n"),
        &["* LIST (\\HasNoChildren) \"/\" Play/2026", "l4 OK"],
    );
    // International names travel in modified UTF-7 both ways.
    expect(&h.send(a, "c4 CREATE \"&ZeVnLIqe-\"\r\n"), &["c4 OK"]);
    expect(
        &h.send(a, "l5 LIST \"\" \"&ZeVnLIqe-\"\r\n"),
        &["* LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-", "l5 OK"],
    );
    expect(&h.send(a, "c5 CREATE \"&Jjo!\"\r\n"), &["c5 BAD"]);
    expect(
        &h.send(a, "s1 STATUS INBOX (MESSAGES UIDNEXT UNSEEN)\r\n"),
        &["* STATUS INBOX (MESSAGES 0 UIDNEXT 1 UNSEEN 0)", "s1 OK"],
    );
    expect(
        &h.send(a, "n NAMESPACE\r\n"),
        &["* NAMESPACE ((\"\" \"/\")) NIL NIL", "n OK"],
    );
}

#[test]
fn rename_inbox_moves_its_messages() {
    let mut h = bench();
    append(&mut h, "bob", "pw", "INBOX", "", &msg("old"));
    let a = login(&mut h, "bob", "pw");
    expect(&h.send(a, "r RENAME INBOX Old\r\n"), &["r OK"]);
    let out = h.send(
        a,
        "s STATUS INBOX (MESSAGES)\r\nt STATUS Old (MESSAGES)\r\n",
    );
    assert!(
        out.contains("* STATUS INBOX (MESSAGES 0)") && out.contains("* STATUS Old (MESSAGES 1)"),
        "{out}"
    );
}

#[test]
fn append_copy_move_codes() {
    let mut h = bench();
    let a = login(&mut h, "bob", "pw");
    let out = h.send(a, "a1 APPEND Nope {5+}\r\nhello\r\n");
    expect(&out, &["a1 NO [TRYCREATE]"]);
    // Bare LF is stored as CRLF (as Dovecot): the size counts the CRs.
    let out = h.send(
        a,
        "a2 APPEND INBOX (\\Flagged $Work) {15+}\r\nSubject: x\n\nhi\n\r\n",
    );
    expect(&out, &["a2 OK [APPENDUID <n> 1]"]);
    h.send(a, "s SELECT INBOX\r\n");
    expect(
        &h.send(a, "f FETCH 1 (FLAGS RFC822.SIZE)\r\n"),
        &[
            "* 1 FETCH (FLAGS (\\Flagged \\Recent $Work) RFC822.SIZE 18)",
            "f OK",
        ],
    );
    expect(&h.send(a, "c1 COPY 1 Nope\r\n"), &["c1 NO [TRYCREATE]"]);
    expect(
        &h.send(a, "c2 COPY 1 Archive\r\n"),
        &["c2 OK [COPYUID <n> 1 1]"],
    );
    expect(&h.send(a, "c3 UID COPY 99 Archive\r\n"), &["c3 OK"]);
    expect(
        &h.send(a, "m1 MOVE 1 Trash\r\n"),
        &["* OK [COPYUID <n> 1 1]", "* 1 EXPUNGE", "m1 OK"],
    );
    let out = h.send(a, "s2 STATUS Archive (MESSAGES)\r\n");
    assert!(out.contains("(MESSAGES 1)"), "{out}");
    expect(&h.send(a, "a3 APPEND INBOX {0+}\r\n\r\n"), &["a3 NO"]);
}

#[test]
fn search_answers_by_sequence_and_uid_and_refuses_unknown_charsets() {
    let mut h = bench();
    for s in ["apple pie", "banana split", "apple crumble"] {
        append(&mut h, "bob", "pw", "INBOX", "", &msg(s));
    }
    let a = login(&mut h, "bob", "pw");
    h.send(a, "s SELECT INBOX\r\nx STORE 2 +FLAGS (\\Seen)\r\n");
    expect(
        &h.send(a, "q1 SEARCH SUBJECT apple\r\n"),
        &["* SEARCH 1 3", "q1 OK"],
    );
    expect(
        &h.send(a, "q2 UID SEARCH UNSEEN BODY crumble\r\n"),
        &["* SEARCH 3", "q2 OK"],
    );
    expect(
        &h.send(a, "q3 SEARCH OR SEEN SUBJECT crumble\r\n"),
        &["* SEARCH 2 3", "q3 OK"],
    );
    expect(
        &h.send(a, "q4 SEARCH CHARSET KOI8-R TEXT x\r\n"),
        &["q4 NO [BADCHARSET (UTF-8 US-ASCII)]"],
    );
    expect(&h.send(a, "q5 SEARCH FOOBAR\r\n"), &["q5 BAD"]);
    expect(
        &h.send(a, "q6 UID SEARCH RETURN (MIN MAX COUNT) SUBJECT apple\r\n"),
        &["* ESEARCH (TAG \"q6\") UID MIN 1 MAX 3 COUNT 2", "q6 OK"],
    );
}

#[test]
fn autologout_before_login_and_idle_keepalive_timing() {
    let mut h = bench();
    let (c, _) = h.connect();
    h.advance(59_000);
    assert_eq!(h.take(c), "");
    h.advance(2_000);
    expect(&h.take(c), &["* BYE"]);
    assert!(h.session(c).is_closed());
    assert!(h.events(c).contains(&Event::Close));
}

#[test]
fn logout_ends_the_session() {
    let mut h = bench();
    let a = login(&mut h, "bob", "pw");
    expect(&h.send(a, "z LOGOUT\r\nafter NOOP\r\n"), &["* BYE", "z OK"]);
    assert!(h.session(a).is_closed());
}

#[test]
fn an_overlong_sasl_line_ends_the_exchange_with_bad() {
    let mut h = bench();
    let (c, _) = h.connect();
    expect(&h.send(c, "a AUTHENTICATE PLAIN\r\n"), &["+ "]);
    let long = format!("{}\r\n", "A".repeat(70 * 1024));
    expect(&h.send(c, long), &["a BAD"]);
    // Back to commands: the session is usable.
    expect(
        &h.send(c, "b LOGIN bob pw\r\n"),
        &["b OK [CAPABILITY <any>]"],
    );
}

#[test]
fn lsub_and_list_subscribed_show_subscriptions_of_deleted_mailboxes() {
    let mut h = bench();
    let a = login(&mut h, "bob", "pw");
    h.send(a, "c CREATE Old\r\ns SUBSCRIBE Old\r\nd DELETE Old\r\n");
    let out = h.send(a, "l LSUB \"\" \"*\"\r\n");
    assert!(out.contains("* LSUB () \"/\" INBOX\r\n"), "{out}");
    assert!(out.contains("* LSUB (\\Noselect) \"/\" Old\r\n"), "{out}");
    let out = h.send(a, "m LIST (SUBSCRIBED) \"\" \"O*\"\r\n");
    expect(
        &out,
        &["* LIST (\\NonExistent \\Subscribed) \"/\" Old", "m OK"],
    );
    expect(
        &h.send(a, "u UNSUBSCRIBE Old\r\nv LSUB \"\" \"O*\"\r\n"),
        &["u OK", "v OK"],
    );
}

#[test]
fn condstore_modseq_changedsince_unchangedsince_and_search() {
    let mut h = bench();
    append(&mut h, "bob", "pw", "INBOX", "", &msg("one"));
    append(&mut h, "bob", "pw", "INBOX", "", &msg("two"));
    let a = login(&mut h, "bob", "pw");
    let b = login(&mut h, "bob", "pw");
    expect(
        &h.send(a, "e ENABLE CONDSTORE\r\n"),
        &["* ENABLED CONDSTORE", "e OK"],
    );
    let out = h.send(a, "s SELECT INBOX\r\n");
    let at = out
        .find("[HIGHESTMODSEQ ")
        .expect("HIGHESTMODSEQ in SELECT");
    let highest: u64 = out[at + 15..]
        .split(']')
        .next()
        .unwrap_or_default()
        .parse()
        .expect("number");
    let out = h.send(a, "f UID FETCH 1:* (FLAGS MODSEQ)\r\n");
    assert_eq!(out.matches(" MODSEQ (").count(), 2, "{out}");

    // Another session flags message 2: only it has changed since `highest`.
    h.send(b, "s SELECT INBOX\r\nx UID STORE 2 +FLAGS (\\Flagged)\r\n");
    let out = h.send(
        a,
        format!("c UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})\r\n"),
    );
    assert!(!out.contains("* 1 FETCH"), "{out}");
    assert!(
        out.contains("* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ ("),
        "{out}"
    );

    // UNCHANGEDSINCE: message 2 changed after `highest`, so only message 1 is stored.
    let out = h.send(
        a,
        format!("u UID STORE 1:2 (UNCHANGEDSINCE {highest}) +FLAGS (\\Seen)\r\n"),
    );
    assert!(
        out.contains("* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ ("),
        "{out}"
    );
    assert!(
        out.ends_with("u OK [MODIFIED 2] Conditional store failed.\r\n"),
        "{out}"
    );

    let out = h.send(a, format!("q SEARCH MODSEQ {}\r\n", highest + 1));
    assert!(out.starts_with("* SEARCH 1 2 (MODSEQ "), "{out}");
    let out = h.send(a, "t STATUS INBOX (HIGHESTMODSEQ)\r\n");
    assert!(out.starts_with("* STATUS INBOX (HIGHESTMODSEQ "), "{out}");
}

#[test]
fn condstore_is_off_until_used() {
    let mut h = bench();
    append(&mut h, "bob", "pw", "INBOX", "", &msg("one"));
    let a = login(&mut h, "bob", "pw");
    let out = h.send(a, "s SELECT INBOX\r\n");
    assert!(!out.contains("HIGHESTMODSEQ"), "{out}");
    let out = h.send(a, "x STORE 1 +FLAGS (\\Seen)\r\n");
    assert!(!out.contains("MODSEQ"), "{out}");
    // SELECT ... (CONDSTORE) turns it on.
    let out = h.send(a, "s2 SELECT INBOX (CONDSTORE)\r\n");
    assert!(out.contains("* OK [HIGHESTMODSEQ "), "{out}");
}

/// The whole message (`BODY[]`, `BODY.PEEK[]<partial>`, `RFC822`) is the stored bytes, a NUL
/// sent as 0x80 (as Dovecot), and a partial counts from the start of the message.
#[test]
fn whole_message_items_are_the_stored_bytes() {
    let mut h = bench();
    let c = login(&mut h, "bob", "pw");
    let append = b"a APPEND INBOX ~{23+}\r\nSubject: nul\r\n\r\nab\0cd\r\n\r\n".to_vec();
    assert!(String::from_utf8_lossy(&h.send_raw(c, append)).contains("a OK"));
    h.send(c, "s SELECT INBOX\r\n");
    let fetch = |h: &mut Harness<MemoryStore>, cmd: &str| h.send_raw(c, cmd.as_bytes());
    let out = fetch(&mut h, "f1 UID FETCH 1 (BODY.PEEK[] RFC822.SIZE)\r\n");
    let want =
        b"* 1 FETCH (UID 1 BODY[] {23}\r\nSubject: nul\r\n\r\nab\x80cd\r\n RFC822.SIZE 23)\r\n";
    assert!(out.starts_with(want), "{}", String::from_utf8_lossy(&out));
    let out = fetch(&mut h, "f2 FETCH 1 (BODY.PEEK[]<14.8>)\r\n");
    let want = b"* 1 FETCH (BODY[]<14> {8}\r\n\r\nab\x80cd\r)\r\n";
    assert!(out.starts_with(want), "{}", String::from_utf8_lossy(&out));
    let out = fetch(&mut h, "f3 FETCH 1 (RFC822)\r\n");
    let want = b"* 1 FETCH (RFC822 {23}\r\nSubject: nul\r\n\r\nab\x80cd\r\n FLAGS (\\Seen";
    assert!(out.starts_with(want), "{}", String::from_utf8_lossy(&out));
}
