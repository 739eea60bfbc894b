//! A FETCH with a big answer pauses with about a MiB of output queued (`Progress::Paused`)
//! and goes on when the host calls `process` again: the session never holds the whole
//! answer, and the answer, its order and its side effects are those of one uninterrupted
//! FETCH.

mod support;

use support::{append, store_with};
use tidings_engine::harness::{block_on, Harness};
use tidings_engine::session::{Progress, Session, SessionConfig};
use tidings_engine::store::MemoryStore;
use tidings_engine::types::Timestamp;

const MESSAGES: usize = 40;
const BODY: usize = 100 * 1024;

fn message(i: usize) -> Vec<u8> {
    let mut m = format!("From: a@example.com\r\nSubject: m{i}\r\n\r\n").into_bytes();
    let line = format!("line of message {i}\r\n");
    while m.len() < BODY {
        m.extend_from_slice(line.as_bytes());
    }
    m
}

/// A harness whose bob has `MESSAGES` messages of ~100 KiB (4 MiB in all) in INBOX.
fn filled() -> Harness<MemoryStore> {
    let mut h = Harness::new(store_with(&[("bob", "pw")]));
    for i in 0..MESSAGES {
        append(&mut h, "bob", "pw", "INBOX", "", &message(i));
    }
    h
}

/// Runs `process` until the session needs input; returns each flush's output.
fn run(s: &mut Session, store: &MemoryStore, now: Timestamp) -> Vec<Vec<u8>> {
    let mut flushes = Vec::new();
    loop {
        let progress = block_on(s.process(store, now));
        flushes.push(s.take_output());
        if progress == Progress::Idle {
            return flushes;
        }
    }
}

/// A session logged in as bob with INBOX selected.
fn selected(store: &MemoryStore, now: Timestamp) -> Session {
    let mut s = Session::new(SessionConfig::default(), now);
    s.handle_input(b"l LOGIN bob pw\r\ns SELECT INBOX\r\n", now);
    let setup = run(&mut s, store, now).concat();
    assert!(find(&setup, b"s OK").is_some());
    s
}

/// Several flushes, none holding more than a MiB plus the message that crossed it.
fn assert_sent_in_parts(flushes: &[Vec<u8>]) {
    assert!(flushes.len() >= 4, "{} flushes", flushes.len());
    for f in flushes {
        let len = f.len();
        assert!(len <= 1024 * 1024 + BODY + 512, "a flush of {len} bytes");
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_big_fetch_is_sent_in_parts_and_later_commands_wait_for_it() {
    let h = filled();
    let store = h.store();
    let now = h.now();
    let mut s = selected(store, now);
    s.handle_input(b"f UID FETCH 1:* (BODY.PEEK[])\r\nn NOOP\r\n", now);
    let flushes = run(&mut s, store, now);
    assert_sent_in_parts(&flushes);
    let all = flushes.concat();
    let mut at = 0;
    for i in 0..MESSAGES {
        let m = message(i);
        let head = format!(
            "* {} FETCH (UID {} BODY[] {{{}}}\r\n",
            i + 1,
            i + 1,
            m.len()
        );
        let found = find(&all[at..], head.as_bytes())
            .unwrap_or_else(|| panic!("no FETCH for message {} after byte {at}", i + 1));
        let body_at = at + found + head.len();
        assert_eq!(&all[body_at..body_at + m.len()], &m[..]);
        at = body_at + m.len();
    }
    let rest = String::from_utf8_lossy(&all[at..]).into_owned();
    let (f_ok, n_ok) = (rest.find("f OK").unwrap(), rest.find("n OK").unwrap());
    assert!(f_ok < n_ok, "NOOP answered inside the FETCH: {rest}");
    assert!(!rest[..f_ok].contains("FETCH"), "{rest}");
}

#[test]
fn pipelined_commands_with_big_answers_pause_between_them() {
    let h = filled();
    let store = h.store();
    let now = h.now();
    let mut s = selected(store, now);
    let pipelined: String = (1..=MESSAGES)
        .map(|uid| format!("f{uid} UID FETCH {uid} (BODY.PEEK[])\r\n"))
        .collect();
    s.handle_input(pipelined.as_bytes(), now);
    let flushes = run(&mut s, store, now);
    assert_sent_in_parts(&flushes);
    let all = String::from_utf8_lossy(&flushes.concat()).into_owned();
    let mut at = 0;
    for uid in 1..=MESSAGES {
        let ok = format!("f{uid} OK");
        at += all[at..]
            .find(&ok)
            .unwrap_or_else(|| panic!("no {ok} in order"));
    }
}

#[test]
fn seen_is_set_on_every_message_across_the_pauses() {
    let mut h = filled();
    let (c, _) = h.connect();
    h.send(c, "l LOGIN bob pw\r\n");
    h.send(c, "s SELECT INBOX\r\n");
    let out = h.send(c, "f FETCH 1:* (BODY[])\r\n");
    assert!(h.pauses(c) >= 3, "{} pauses", h.pauses(c));
    assert!(out.trim_end().ends_with("f OK Fetch completed."));
    assert_eq!(out.matches("\\Seen").count(), MESSAGES);
    let flags = h.send(c, "g FETCH 1:* (FLAGS)\r\n");
    assert_eq!(flags.matches("FLAGS (\\Seen").count(), MESSAGES, "{flags}");
}

#[test]
fn a_session_closed_while_paused_sends_nothing_more() {
    let h = filled();
    let store = h.store();
    let now = h.now();
    let mut s = selected(store, now);
    s.handle_input(b"f FETCH 1:* (BODY.PEEK[])\r\n", now);
    assert_eq!(block_on(s.process(store, now)), Progress::Paused);
    let first = s.take_output();
    assert!(!first.is_empty());
    // Hours later (the client stopped reading): autologout.
    let later = Timestamp(now.0 + 24 * 3600 * 1000);
    s.handle_timeout(later);
    assert!(s.is_closed());
    let bye = s.take_output();
    assert!(String::from_utf8_lossy(&bye).starts_with("* BYE"));
    assert_eq!(block_on(s.process(store, later)), Progress::Idle);
    assert!(s.take_output().is_empty());
}
