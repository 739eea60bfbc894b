//! Differential test against imap-codec: on a corpus both understand, both accept or both
//! refuse each command, and when both accept they agree on the key fields (tag, command,
//! UID form, mailboxes, sequence sets, flags, fetch items, literal contents).

mod codec_support;

use codec_support::*;
use imap_codec::decode::Decoder as _;
use imap_codec::imap_types::command::{Command as TheirCommand, CommandBody as Their};
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::fetch::MacroOrMessageDataItemNames;
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet as TheirSet};
use imap_codec::CommandCodec;
use tidings_engine::codec::{decode_mailbox, encode_mailbox, Decoded, Limits};
use tidings_engine::command::{Command, CommandBody as Ours, FetchAttrs, MailboxName};
use tidings_engine::types::{SeqBound, SequenceSet};

/// The fields compared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Key {
    tag: String,
    name: String,
    uid: Option<bool>,
    /// Mailbox names as canonical modified UTF-7, INBOX normalised.
    mailboxes: Vec<String>,
    set: Option<Vec<(Option<u32>, Option<u32>)>>,
    flags: Option<Vec<String>>,
    /// FETCH: the number of items, or the macro name.
    fetch: Option<String>,
    /// LOGIN user and password, APPEND message.
    strings: Vec<Vec<u8>>,
}

fn our_set(s: &SequenceSet) -> Vec<(Option<u32>, Option<u32>)> {
    let b = |b: &SeqBound| match b {
        SeqBound::Value(v) => Some(*v),
        SeqBound::Star => None,
    };
    match s {
        SequenceSet::Ranges(r) => r.iter().map(|(x, y)| (b(x), b(y))).collect(),
        SequenceSet::Saved => vec![(Some(0), Some(0))],
    }
}

fn their_set(s: &TheirSet) -> Vec<(Option<u32>, Option<u32>)> {
    let b = |b: &SeqOrUid| match b {
        SeqOrUid::Value(v) => Some(v.get()),
        SeqOrUid::Asterisk => None,
    };
    s.0.as_ref()
        .iter()
        .map(|seq| match seq {
            Sequence::Single(x) => (b(x), b(x)),
            Sequence::Range(x, y) => (b(x), b(y)),
        })
        .collect()
}

fn our_mailbox(m: &MailboxName) -> String {
    encode_mailbox(m.as_str())
}

/// Their mailbox normalised like ours (they keep the bytes as sent).
fn their_mailbox(m: &Mailbox) -> String {
    match m {
        Mailbox::Inbox => "INBOX".into(),
        Mailbox::Other(o) => {
            let raw = o.inner().as_ref();
            match decode_mailbox(raw) {
                Ok(name) => our_mailbox(&MailboxName::new(name)),
                Err(_) => format!("invalid:{}", String::from_utf8_lossy(raw)),
            }
        }
    }
}

/// Their LIST pattern, canonicalised like ours.
fn their_pattern(p: &ListMailbox) -> String {
    let raw = match p {
        ListMailbox::Token(t) => t.as_ref(),
        ListMailbox::String(s) => s.as_ref(),
    };
    match decode_mailbox(raw) {
        Ok(name) => encode_mailbox(&name),
        Err(_) => format!("invalid:{}", String::from_utf8_lossy(raw)),
    }
}

fn our_key(c: &Command) -> Key {
    let mut k = Key {
        tag: c.tag.to_string(),
        name: c.body.name().to_string(),
        ..Key::default()
    };
    match &c.body {
        Ours::Login { username, password } => {
            k.strings = vec![username.clone(), password.0.clone()]
        }
        Ours::Select { mailbox, .. }
        | Ours::Examine { mailbox, .. }
        | Ours::Create { mailbox, .. }
        | Ours::Delete { mailbox }
        | Ours::Subscribe { mailbox }
        | Ours::Unsubscribe { mailbox }
        | Ours::Status { mailbox, .. } => k.mailboxes = vec![our_mailbox(mailbox)],
        Ours::Rename { from, to } => k.mailboxes = vec![our_mailbox(from), our_mailbox(to)],
        Ours::List {
            reference,
            patterns,
            ..
        } => {
            k.mailboxes = vec![our_mailbox(&MailboxName::new(reference.clone()))];
            k.mailboxes
                .extend(patterns.iter().map(|p| encode_mailbox(p)));
        }
        Ours::Lsub { reference, pattern } => {
            k.mailboxes = vec![
                our_mailbox(&MailboxName::new(reference.clone())),
                encode_mailbox(pattern),
            ];
        }
        Ours::Append {
            mailbox,
            flags,
            message,
            ..
        } => {
            k.mailboxes = vec![our_mailbox(mailbox)];
            k.flags = Some(flags.iter().map(|f| f.to_string()).collect());
            k.strings = vec![message.clone()];
        }
        Ours::Expunge { uids } => {
            k.uid = Some(uids.is_some());
            k.set = uids.as_ref().map(our_set);
        }
        Ours::Search { uid, .. } => k.uid = Some(*uid),
        Ours::Fetch {
            uid, set, attrs, ..
        } => {
            k.uid = Some(*uid);
            k.set = Some(our_set(set));
            k.fetch = Some(match attrs {
                FetchAttrs::All => "ALL".into(),
                FetchAttrs::Fast => "FAST".into(),
                FetchAttrs::Full => "FULL".into(),
                FetchAttrs::Items(items) => items.len().to_string(),
            });
        }
        Ours::Store {
            uid, set, flags, ..
        } => {
            k.uid = Some(*uid);
            k.set = Some(our_set(set));
            k.flags = Some(flags.iter().map(|f| f.to_string()).collect());
        }
        Ours::Copy { uid, set, mailbox } | Ours::Move { uid, set, mailbox } => {
            k.uid = Some(*uid);
            k.set = Some(our_set(set));
            k.mailboxes = vec![our_mailbox(mailbox)];
        }
        _ => {}
    }
    k
}

fn their_key(c: &TheirCommand) -> Key {
    let mut k = Key {
        tag: c.tag.inner().to_string(),
        name: c.body.name().to_string(),
        ..Key::default()
    };
    match &c.body {
        Their::Login { username, password } => {
            k.strings = vec![
                username.as_ref().to_vec(),
                password.declassify().as_ref().to_vec(),
            ]
        }
        Their::Select { mailbox, .. }
        | Their::Examine { mailbox, .. }
        | Their::Create { mailbox }
        | Their::Delete { mailbox }
        | Their::Subscribe { mailbox }
        | Their::Unsubscribe { mailbox }
        | Their::Status { mailbox, .. } => k.mailboxes = vec![their_mailbox(mailbox)],
        Their::Rename { from, to } => k.mailboxes = vec![their_mailbox(from), their_mailbox(to)],
        Their::List {
            reference,
            mailbox_wildcard,
        }
        | Their::Lsub {
            reference,
            mailbox_wildcard,
        } => k.mailboxes = vec![their_mailbox(reference), their_pattern(mailbox_wildcard)],
        Their::Append {
            mailbox,
            flags,
            message,
            ..
        } => {
            k.mailboxes = vec![their_mailbox(mailbox)];
            k.flags = Some(flags.iter().map(|f| f.to_string()).collect());
            k.strings = vec![match message {
                LiteralOrLiteral8::Literal(l) => l.as_ref().to_vec(),
                LiteralOrLiteral8::Literal8(l) => l.data.to_vec(),
            }];
        }
        Their::Expunge => k.uid = Some(false),
        Their::ExpungeUid { sequence_set } => {
            k.uid = Some(true);
            k.set = Some(their_set(sequence_set));
        }
        Their::Search { uid, .. } => k.uid = Some(*uid),
        Their::Fetch {
            sequence_set,
            macro_or_item_names,
            uid,
            ..
        } => {
            k.uid = Some(*uid);
            k.set = Some(their_set(sequence_set));
            k.fetch = Some(match macro_or_item_names {
                MacroOrMessageDataItemNames::Macro(m) => format!("{m:?}").to_uppercase(),
                MacroOrMessageDataItemNames::MessageDataItemNames(items) => items.len().to_string(),
            });
        }
        Their::Store {
            sequence_set,
            flags,
            uid,
            ..
        } => {
            k.uid = Some(*uid);
            k.set = Some(their_set(sequence_set));
            k.flags = Some(flags.iter().map(|f| f.to_string()).collect());
        }
        Their::Copy {
            sequence_set,
            mailbox,
            uid,
        }
        | Their::Move {
            sequence_set,
            mailbox,
            uid,
        } => {
            k.uid = Some(*uid);
            k.set = Some(their_set(sequence_set));
            k.mailboxes = vec![their_mailbox(mailbox)];
        }
        _ => {}
    }
    k
}

/// Ours: the command if accepted as one whole command.
fn our_command(line: &[u8]) -> Option<Command> {
    let mut items: Vec<_> = decode_chunks(Limits::default(), [line])
        .into_iter()
        .filter(|i| *i != Decoded::NeedContinuation)
        .collect();
    match items.pop() {
        Some(Decoded::Command(c)) if items.is_empty() => Some(c),
        _ => None,
    }
}

/// Ours: `Some(key)` if accepted.
fn ours(line: &[u8]) -> Option<Key> {
    our_command(line).as_ref().map(our_key)
}

/// Theirs: `Some(key)` if accepted as one whole command.
fn theirs(line: &[u8]) -> Option<Key> {
    match CommandCodec::default().decode(line) {
        Ok((b"", cmd)) => Some(their_key(&cmd)),
        _ => None,
    }
}

/// Whether a command uses something imap-codec (2.0.0-alpha.10, these features) does not
/// implement, so that only we accept it.
fn imap_codec_lacks(cmd: &Command, wire: &[u8]) -> bool {
    use tidings_engine::command::{FetchAttr, SearchKey};
    fn saved(s: &SequenceSet) -> bool {
        *s == SequenceSet::Saved
    }
    fn key_lacks(k: &SearchKey) -> bool {
        match k {
            SearchKey::SequenceSet(s) | SearchKey::Uid(s) => saved(s),
            SearchKey::Not(k) => key_lacks(k),
            SearchKey::Or(a, b) => key_lacks(a) || key_lacks(b),
            SearchKey::And(v) => v.iter().any(key_lacks),
            _ => false,
        }
    }
    // RFC 9051 allows UTF-8 in quoted strings; imap-codec only with ext_utf8.
    if eight_bit_outside_literals(wire) {
        return true;
    }
    match &cmd.body {
        Ours::Create { special_use, .. } => !special_use.is_empty(),
        Ours::List {
            select_options,
            return_options,
            return_status,
            patterns,
            ..
        } => {
            // LIST-EXTENDED beyond the basic form.
            !select_options.is_empty() || !return_options.is_empty() || return_status.is_some() || patterns.len() > 1
        }
        Ours::Search { ret, criteria, .. } => ret.is_some() || key_lacks(criteria),
        Ours::Fetch { set, attrs, .. } => {
            saved(set)
                || attrs.expand().iter().any(|a| {
                    matches!(a, FetchAttr::BodySection { partial: Some(p), .. } | FetchAttr::Binary { partial: Some(p), .. } if p.length.is_none())
                })
        }
        Ours::Store { set, .. } | Ours::Copy { set, .. } | Ours::Move { set, .. } => saved(set),
        Ours::Expunge { uids: Some(set) } => saved(set),
        _ => false,
    }
}

/// Whether a byte over 0x7f appears outside literal data.
fn eight_bit_outside_literals(wire: &[u8]) -> bool {
    let mut i = 0;
    while i < wire.len() {
        if wire[i] >= 0x80 {
            return true;
        }
        if wire[i] == b'\n' {
            let line = &wire[..i];
            let body = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(b) = body.strip_suffix(b"}") {
                let b = b.strip_suffix(b"+").unwrap_or(b);
                let digits = b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
                if digits > 0 && b[..b.len() - digits].ends_with(b"{") {
                    let n: usize = std::str::from_utf8(&b[b.len() - digits..])
                        .unwrap()
                        .parse()
                        .unwrap();
                    i += n;
                }
            }
        }
        i += 1;
    }
    false
}

/// Where we differ from imap-codec on purpose: (command, do we accept it?, why).
const KNOWN_DIVERGENCES: &[(&str, bool, &str)] = &[
    (
        "d1 STATUS Entw&AP-rfe (MESSAGES)\r\n",
        false,
        "mailbox names must be canonical modified UTF-7",
    ),
    (
        "d2 SELECT &AGE-\r\n",
        false,
        "printable ASCII must not be encoded",
    ),
    (
        "d3 UID EXPUNGE 3000:002\r\n",
        false,
        "nz-number has no leading zeros",
    ),
    (
        "d4 AUTHENTICATE PLAIN \r\n",
        false,
        "an empty initial response is sent as =",
    ),
    (
        "d5 APPEND x \"7-Jul-1996 02:44:25 -0700\" {1}\r\nm\r\n",
        true,
        "one-digit day in date-time, leniently",
    ),
    (
        "d6 AUTHENTICATE PLAIN AGJvYgBzZWNyZX7=\r\n",
        true,
        "the initial response is checked for syntax only",
    ),
];

/// Extra lines both must accept.
const BOTH_ACCEPT: &[&str] = &[
    "b1 FETCH 1:3,5,7:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE INTERNALDATE)\r\n",
    "b2 UID STORE 5:7 -FLAGS.SILENT (\\Deleted $Junk)\r\n",
    "b3 STORE 1 FLAGS \\Seen \\Flagged\r\n",
    "b4 SEARCH CHARSET US-ASCII OR FROM alice TO bob SMALLER 100\r\n",
    "b5 SEARCH HEADER Message-ID \"<a@b>\" SENTSINCE \"1-Feb-2020\"\r\n",
    "b6 LIST \"\" \"INBOX/%\"\r\n",
    "b7 APPEND Sent (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}\r\nhello\r\n",
    "b8 SELECT \"Entw&APw-rfe\"\r\n",
    "b9 RENAME \"a\" {1}\r\nb\r\n",
    "b10 LOGIN \"a\\\"b\" \"c\\\\d\"\r\n",
    "b11 ENABLE CONDSTORE IMAP4rev2\r\n",
    "b12 FETCH 4 (BODY.PEEK[1.2.HEADER.FIELDS (Subject)]<0.100> BODY[3.MIME])\r\n",
    "b13 uid copy 1:* Trash\r\n",
    "b14 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)\r\n",
    "b15 ID (\"name\" \"x\" \"os\" NIL)\r\n",
];

/// Extra lines both must refuse.
const BOTH_REFUSE: &[&str] = &[
    "r1 FETCH 1 (BODY[0])\r\n",
    "r2 FETCH 1 BODY[]<0.0>\r\n",
    "r3 STORE 1 +FLAGS\r\n",
    "r4 SEARCH SINCE 1-Feb-94\r\n",
    "r5 SELECT \"x\r\n",
    "r6 LOGIN a b c\r\n",
    "r7 UID FOO 1\r\n",
    "r8 APPEND x (\\Seen) \"17-Jul-1996\" {1}\r\nm\r\n",
    "r9 FETCH * (FLAGS))\r\n",
    "r10 LIST \"\"\r\n",
    "r11 COPY 1:2:3 x\r\n",
    "r12 NOOP\n",
    "r13 LOGIN {3}\r\na\0b c\r\n",
    "r14 SEARCH OR SEEN\r\n",
];

/// Compares one line, honouring what imap-codec lacks.
fn compare(line: &[u8]) {
    let text = String::from_utf8_lossy(line);
    let cmd = our_command(line);
    let theirs = theirs(line);
    if let Some(c) = &cmd {
        if imap_codec_lacks(c, line) {
            assert_eq!(
                theirs, None,
                "{text:?}: imap-codec accepts it after all: update imap_codec_lacks"
            );
            return;
        }
    }
    assert_eq!(cmd.as_ref().map(our_key), theirs, "{text:?}");
}

#[test]
fn corpus_agrees() {
    let mut lines = valid_corpus();
    lines.extend(
        INVALID
            .iter()
            .chain(BOTH_ACCEPT)
            .chain(BOTH_REFUSE)
            .map(|s| s.as_bytes().to_vec()),
    );
    for line in &lines {
        compare(line);
    }
    for line in BOTH_ACCEPT {
        assert!(ours(line.as_bytes()).is_some(), "{line:?}");
    }
    for line in BOTH_REFUSE {
        assert!(ours(line.as_bytes()).is_none(), "{line:?}");
    }
}

#[test]
fn known_divergences_hold() {
    for (line, we_accept, why) in KNOWN_DIVERGENCES {
        let (a, b) = (ours(line.as_bytes()), theirs(line.as_bytes()));
        assert_eq!(
            (a.is_some(), b.is_some()),
            (*we_accept, !we_accept),
            "{line:?} ({why})"
        );
    }
}

/// Generated commands (deterministic seed): printed, both decoders agree.
#[test]
fn generated_commands_agree() {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut compared = 0;
    for _ in 0..3000 {
        let cmd = codec_support::gen::command()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let wire = codec_support::printer::print(&cmd);
        compare(&wire);
        compared += usize::from(!imap_codec_lacks(&cmd, &wire));
    }
    assert!(compared > 1500, "only {compared} commands compared");
}

/// Mutated corpus commands (one byte deleted, inserted or replaced; deterministic): both
/// decoders accept or refuse alike, except for the known divergences.
#[test]
fn mutants_agree() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    let corpus = valid_corpus();
    let bytes = b" ()[]<>{}\"*%.:,0123456789AaZz+-~$\r\n\x80\\&=".to_vec();
    let strat = (
        0..corpus.len(),
        any::<prop::sample::Index>(),
        0u8..3,
        prop::sample::select(bytes),
    );
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..20_000 {
        let (ci, pos, op, byte) = strat.new_tree(&mut runner).unwrap().current();
        let mut line = corpus[ci].clone();
        let pos = pos.index(line.len() - 2);
        match op {
            0 => {
                line.remove(pos);
            }
            1 => line.insert(pos, byte),
            _ => line[pos] = byte,
        }
        if is_known_divergence(&line) {
            continue;
        }
        compare(&line);
    }
}

/// The classes of [`KNOWN_DIVERGENCES`], recognised in a mutated line.
fn is_known_divergence(line: &[u8]) -> bool {
    let their_key = theirs(line);
    // Invalid modified UTF-7 that imap-codec takes as is.
    if their_key
        .as_ref()
        .is_some_and(|k| k.mailboxes.iter().any(|m| m.starts_with("invalid:")))
    {
        return true;
    }
    let text = String::from_utf8_lossy(line);
    // A number with a leading zero where a nz-number belongs.
    let leading_zero = text
        .as_bytes()
        .windows(3)
        .any(|w| b":, .".contains(&w[0]) && w[1] == b'0' && w[2].is_ascii_digit());
    // An empty initial response after SP, or non-canonical base64 (imap-codec decodes it).
    let sasl = text.to_ascii_uppercase().contains("AUTHENTICATE");
    // A one-digit day in an APPEND date-time.
    let one_digit_day = text.contains("\"7-Jul-");
    leading_zero || sasl || one_digit_day
}
