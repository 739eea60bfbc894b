//! Round trip: generated commands, printed by the small printer below, decode to themselves.

mod codec_support;

use codec_support::*;
use proptest::prelude::*;
use tidings_engine::codec::{encode_mailbox, Decoded, Limits};
use tidings_engine::command::*;
use tidings_engine::types::{Date, DateTime, Flag, SeqBound, SequenceSet, MONTHS};

// ---------------------------------------------------------------------------------------
// The printer: the client side of the grammar, choosing atom, quoted string or literal by
// content.

mod printer {
    use super::*;

    fn is_atom_char(b: u8) -> bool {
        (0x21..=0x7e).contains(&b) && !b"(){%*\"\\]".contains(&b)
    }

    fn literal(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
        out.extend_from_slice(s);
    }

    /// A `string`: quoted when it can be, else a literal.
    fn string(out: &mut Vec<u8>, s: &[u8]) {
        if s.iter().any(|&b| b == b'\r' || b == b'\n') || std::str::from_utf8(s).is_err() {
            literal(out, s);
        } else {
            out.push(b'"');
            for &b in s {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
    }

    /// An `astring`: an atom when it can be.
    fn astring(out: &mut Vec<u8>, s: &[u8]) {
        let atom_ok = !s.is_empty() && s.iter().all(|&b| is_atom_char(b) || b == b']');
        let looks_nil = s.eq_ignore_ascii_case(b"NIL");
        if atom_ok && !looks_nil {
            out.extend_from_slice(s);
        } else {
            string(out, s);
        }
    }

    fn list_mailbox(out: &mut Vec<u8>, s: &str) {
        let enc = encode_mailbox(s);
        let bare = !enc.is_empty()
            && enc
                .bytes()
                .all(|b| is_atom_char(b) || b == b']' || b == b'%' || b == b'*');
        if bare {
            out.extend_from_slice(enc.as_bytes());
        } else {
            string(out, enc.as_bytes());
        }
    }

    fn mailbox(out: &mut Vec<u8>, m: &MailboxName) {
        astring(out, encode_mailbox(m.as_str()).as_bytes());
    }

    fn seq_set(out: &mut Vec<u8>, s: &SequenceSet) {
        let bound = |b: &SeqBound| match b {
            SeqBound::Value(v) => v.to_string(),
            SeqBound::Star => "*".into(),
        };
        match s {
            SequenceSet::Saved => out.push(b'$'),
            SequenceSet::Ranges(r) => {
                let parts: Vec<String> = r
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            bound(a)
                        } else {
                            format!("{}:{}", bound(a), bound(b))
                        }
                    })
                    .collect();
                out.extend_from_slice(parts.join(",").as_bytes());
            }
        }
    }

    fn join<T>(out: &mut Vec<u8>, items: &[T], mut each: impl FnMut(&mut Vec<u8>, &T)) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            each(out, item);
        }
    }

    fn paren<T>(out: &mut Vec<u8>, items: &[T], each: impl FnMut(&mut Vec<u8>, &T)) {
        out.push(b'(');
        join(out, items, each);
        out.push(b')');
    }

    fn flags(out: &mut Vec<u8>, f: &[Flag]) {
        paren(out, f, |o, f| o.extend_from_slice(f.as_str().as_bytes()));
    }

    fn date(d: &Date) -> String {
        format!("{}-{}-{:04}", d.day, MONTHS[d.month as usize - 1], d.year)
    }

    fn status_item(i: &StatusItem) -> &'static str {
        match i {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
        }
    }

    fn section(out: &mut Vec<u8>, s: &Section) {
        out.push(b'[');
        let part: Vec<String> = s.part.iter().map(u32::to_string).collect();
        out.extend_from_slice(part.join(".").as_bytes());
        if let Some(text) = &s.text {
            if !s.part.is_empty() {
                out.push(b'.');
            }
            match text {
                SectionText::Header => out.extend_from_slice(b"HEADER"),
                SectionText::Text => out.extend_from_slice(b"TEXT"),
                SectionText::Mime => out.extend_from_slice(b"MIME"),
                SectionText::HeaderFields { not, fields } => {
                    out.extend_from_slice(if *not {
                        b"HEADER.FIELDS.NOT "
                    } else {
                        b"HEADER.FIELDS "
                    });
                    paren(out, fields, |o, f| astring(o, f.as_bytes()));
                }
            }
        }
        out.push(b']');
    }

    fn partial(out: &mut Vec<u8>, p: &Option<Partial>) {
        match p {
            Some(Partial {
                start,
                length: Some(l),
            }) => out.extend_from_slice(format!("<{start}.{l}>").as_bytes()),
            Some(Partial {
                start,
                length: None,
            }) => out.extend_from_slice(format!("<{start}>").as_bytes()),
            None => {}
        }
    }

    fn fetch_attr(out: &mut Vec<u8>, a: &FetchAttr) {
        use FetchAttr as A;
        let simple = match a {
            A::Envelope => "ENVELOPE",
            A::Flags => "FLAGS",
            A::InternalDate => "INTERNALDATE",
            A::Rfc822 => "RFC822",
            A::Rfc822Header => "RFC822.HEADER",
            A::Rfc822Size => "RFC822.SIZE",
            A::Rfc822Text => "RFC822.TEXT",
            A::Body => "BODY",
            A::BodyStructure => "BODYSTRUCTURE",
            A::Uid => "UID",
            A::ModSeq => "MODSEQ",
            A::BodySection {
                peek,
                section: s,
                partial: p,
            } => {
                out.extend_from_slice(if *peek { b"BODY.PEEK" } else { b"BODY" });
                section(out, s);
                partial(out, p);
                return;
            }
            A::Binary {
                peek,
                section: s,
                partial: p,
            } => {
                out.extend_from_slice(if *peek { b"BINARY.PEEK" } else { b"BINARY" });
                section(out, s);
                partial(out, p);
                return;
            }
            A::BinarySize { section: s } => {
                out.extend_from_slice(b"BINARY.SIZE");
                section(out, s);
                return;
            }
        };
        out.extend_from_slice(simple.as_bytes());
    }

    fn search_key(out: &mut Vec<u8>, k: &SearchKey) {
        use SearchKey as K;
        let mut kw = |s: &str| out.extend_from_slice(s.as_bytes());
        match k {
            K::All => kw("ALL"),
            K::Answered => kw("ANSWERED"),
            K::Deleted => kw("DELETED"),
            K::Draft => kw("DRAFT"),
            K::Flagged => kw("FLAGGED"),
            K::New => kw("NEW"),
            K::Old => kw("OLD"),
            K::Recent => kw("RECENT"),
            K::Seen => kw("SEEN"),
            K::Unanswered => kw("UNANSWERED"),
            K::Undeleted => kw("UNDELETED"),
            K::Undraft => kw("UNDRAFT"),
            K::Unflagged => kw("UNFLAGGED"),
            K::Unseen => kw("UNSEEN"),
            K::Bcc(s)
            | K::Body(s)
            | K::Cc(s)
            | K::From(s)
            | K::Subject(s)
            | K::Text(s)
            | K::To(s) => {
                let name = match k {
                    K::Bcc(_) => "BCC ",
                    K::Body(_) => "BODY ",
                    K::Cc(_) => "CC ",
                    K::From(_) => "FROM ",
                    K::Subject(_) => "SUBJECT ",
                    K::Text(_) => "TEXT ",
                    _ => "TO ",
                };
                out.extend_from_slice(name.as_bytes());
                astring(out, s.as_bytes());
            }
            K::Before(d) => kw(&format!("BEFORE {}", date(d))),
            K::On(d) => kw(&format!("ON {}", date(d))),
            K::Since(d) => kw(&format!("SINCE \"{}\"", date(d))),
            K::SentBefore(d) => kw(&format!("SENTBEFORE {}", date(d))),
            K::SentOn(d) => kw(&format!("SENTON {}", date(d))),
            K::SentSince(d) => kw(&format!("SENTSINCE {}", date(d))),
            K::Keyword(s) => kw(&format!("KEYWORD {s}")),
            K::Unkeyword(s) => kw(&format!("UNKEYWORD {s}")),
            K::Header(f, v) => {
                out.extend_from_slice(b"HEADER ");
                astring(out, f.as_bytes());
                out.push(b' ');
                astring(out, v.as_bytes());
            }
            K::Larger(n) => kw(&format!("LARGER {n}")),
            K::Smaller(n) => kw(&format!("SMALLER {n}")),
            K::ModSeq(n) => kw(&format!("MODSEQ {n}")),
            K::Uid(s) => {
                out.extend_from_slice(b"UID ");
                seq_set(out, s);
            }
            K::SequenceSet(s) => seq_set(out, s),
            K::Not(k) => {
                out.extend_from_slice(b"NOT ");
                search_key(out, k);
            }
            K::Or(a, b) => {
                out.extend_from_slice(b"OR ");
                search_key(out, a);
                out.push(b' ');
                search_key(out, b);
            }
            K::And(keys) => paren(out, keys, search_key),
        }
    }

    /// Prints a whole command, CRLF included.
    pub fn print(cmd: &Command) -> Vec<u8> {
        use CommandBody as C;
        let mut out = cmd.tag.as_bytes().to_vec();
        out.push(b' ');
        let o = &mut out;
        let uid = |o: &mut Vec<u8>, uid: bool| {
            if uid {
                o.extend_from_slice(b"UID ");
            }
        };
        match &cmd.body {
            C::Capability
            | C::Noop
            | C::Logout
            | C::StartTls
            | C::Namespace
            | C::Idle
            | C::Check
            | C::Close
            | C::Unselect => o.extend_from_slice(cmd.body.name().as_bytes()),
            C::Expunge { uids: None } => o.extend_from_slice(b"EXPUNGE"),
            C::Expunge { uids: Some(s) } => {
                o.extend_from_slice(b"UID EXPUNGE ");
                seq_set(o, s);
            }
            C::Id(None) => o.extend_from_slice(b"ID NIL"),
            C::Id(Some(pairs)) => {
                o.extend_from_slice(b"ID ");
                paren(o, pairs, |o, (k, v)| {
                    string(o, k.as_bytes());
                    o.push(b' ');
                    match v {
                        Some(v) => string(o, v.as_bytes()),
                        None => o.extend_from_slice(b"NIL"),
                    }
                });
            }
            C::Login { username, password } => {
                o.extend_from_slice(b"LOGIN ");
                astring(o, username);
                o.push(b' ');
                astring(o, password);
            }
            C::Authenticate { mechanism, initial } => {
                o.extend_from_slice(format!("AUTHENTICATE {mechanism}").as_bytes());
                if let Some(ir) = initial {
                    o.push(b' ');
                    o.extend_from_slice(ir);
                }
            }
            C::Enable(caps) => o.extend_from_slice(format!("ENABLE {}", caps.join(" ")).as_bytes()),
            C::Select {
                mailbox: m,
                condstore,
            }
            | C::Examine {
                mailbox: m,
                condstore,
            } => {
                o.extend_from_slice(cmd.body.name().as_bytes());
                o.push(b' ');
                mailbox(o, m);
                if *condstore {
                    o.extend_from_slice(b" (CONDSTORE)");
                }
            }
            C::Create {
                mailbox: m,
                special_use,
            } => {
                o.extend_from_slice(b"CREATE ");
                mailbox(o, m);
                if !special_use.is_empty() {
                    o.extend_from_slice(format!(" (USE ({}))", special_use.join(" ")).as_bytes());
                }
            }
            C::Delete { mailbox: m }
            | C::Subscribe { mailbox: m }
            | C::Unsubscribe { mailbox: m } => {
                o.extend_from_slice(cmd.body.name().as_bytes());
                o.push(b' ');
                mailbox(o, m);
            }
            C::Rename { from, to } => {
                o.extend_from_slice(b"RENAME ");
                mailbox(o, from);
                o.push(b' ');
                mailbox(o, to);
            }
            C::List {
                reference,
                patterns,
                select_options,
                return_options,
                return_status,
            } => {
                o.extend_from_slice(b"LIST ");
                if !select_options.is_empty() {
                    o.extend_from_slice(format!("({}) ", select_options.join(" ")).as_bytes());
                }
                astring(o, encode_mailbox(reference).as_bytes());
                o.push(b' ');
                if patterns.len() == 1 {
                    list_mailbox(o, &patterns[0]);
                } else {
                    paren(o, patterns, |o, p| list_mailbox(o, p));
                }
                let mut ret: Vec<String> = return_options.clone();
                if let Some(items) = return_status {
                    let items: Vec<&str> = items.iter().map(status_item).collect();
                    ret.push(format!("STATUS ({})", items.join(" ")));
                }
                if !ret.is_empty() {
                    o.extend_from_slice(format!(" RETURN ({})", ret.join(" ")).as_bytes());
                }
            }
            C::Lsub { reference, pattern } => {
                o.extend_from_slice(b"LSUB ");
                astring(o, encode_mailbox(reference).as_bytes());
                o.push(b' ');
                list_mailbox(o, pattern);
            }
            C::Status { mailbox: m, items } => {
                o.extend_from_slice(b"STATUS ");
                mailbox(o, m);
                o.push(b' ');
                paren(o, items, |o, i| {
                    o.extend_from_slice(status_item(i).as_bytes())
                });
            }
            C::Append {
                mailbox: m,
                flags: f,
                date,
                message,
                binary,
            } => {
                o.extend_from_slice(b"APPEND ");
                mailbox(o, m);
                if !f.is_empty() {
                    o.push(b' ');
                    flags(o, f);
                }
                if let Some(d) = date {
                    o.extend_from_slice(format!(" \"{}\"", d.to_imap()).as_bytes());
                }
                o.push(b' ');
                if *binary {
                    o.push(b'~');
                }
                o.extend_from_slice(format!("{{{}+}}\r\n", message.len()).as_bytes());
                o.extend_from_slice(message);
            }
            C::Search {
                uid: u,
                charset,
                criteria,
                ret,
            } => {
                uid(o, *u);
                o.extend_from_slice(b"SEARCH");
                if let Some(r) = ret {
                    o.extend_from_slice(format!(" RETURN ({})", r.join(" ")).as_bytes());
                }
                if let Some(c) = charset {
                    o.extend_from_slice(format!(" CHARSET {c}").as_bytes());
                }
                o.push(b' ');
                match criteria {
                    SearchKey::And(keys) if keys.len() >= 2 => join(o, keys, search_key),
                    key => search_key(o, key),
                }
            }
            C::Fetch {
                uid: u,
                set,
                attrs,
                changed_since,
            } => {
                uid(o, *u);
                o.extend_from_slice(b"FETCH ");
                seq_set(o, set);
                o.push(b' ');
                match attrs {
                    FetchAttrs::All => o.extend_from_slice(b"ALL"),
                    FetchAttrs::Fast => o.extend_from_slice(b"FAST"),
                    FetchAttrs::Full => o.extend_from_slice(b"FULL"),
                    FetchAttrs::Items(items) if items.len() == 1 => fetch_attr(o, &items[0]),
                    FetchAttrs::Items(items) => paren(o, items, fetch_attr),
                }
                if let Some(m) = changed_since {
                    o.extend_from_slice(format!(" (CHANGEDSINCE {m})").as_bytes());
                }
            }
            C::Store {
                uid: u,
                set,
                op,
                silent,
                flags: f,
                unchanged_since,
            } => {
                uid(o, *u);
                o.extend_from_slice(b"STORE ");
                seq_set(o, set);
                if let Some(m) = unchanged_since {
                    o.extend_from_slice(format!(" (UNCHANGEDSINCE {m})").as_bytes());
                }
                let sign = match op {
                    StoreOp::Replace => "",
                    StoreOp::Add => "+",
                    StoreOp::Remove => "-",
                };
                let suffix = if *silent { ".SILENT" } else { "" };
                o.extend_from_slice(format!(" {sign}FLAGS{suffix} ").as_bytes());
                flags(o, f);
            }
            C::Copy {
                uid: u,
                set,
                mailbox: m,
            }
            | C::Move {
                uid: u,
                set,
                mailbox: m,
            } => {
                uid(o, *u);
                o.extend_from_slice(cmd.body.name().as_bytes());
                o.push(b' ');
                seq_set(o, set);
                o.push(b' ');
                mailbox(o, m);
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

// ---------------------------------------------------------------------------------------
// Generators: every command, with values the grammar can carry.

mod gen {
    use super::*;

    fn tag() -> impl Strategy<Value = String> {
        "[A-Za-z0-9.!#&'/:;<=>?@_|~,$\\]\\[-]{1,8}"
    }

    /// Text without NUL (literals can carry anything else).
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9]{1,8}",
            "[ -~]{0,12}",
            "\\PC{0,8}",
            "[a-z\r\n\"\\\\ ]{0,8}",
        ]
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            text().prop_map(String::into_bytes),
            prop::collection::vec(1u8..=255, 0..16),
        ]
    }

    fn atom() -> impl Strategy<Value = String> {
        "[A-Za-z$][A-Za-z0-9$_.-]{0,10}"
    }

    fn mailbox_name() -> impl Strategy<Value = MailboxName> {
        prop_oneof![
            Just("INBOX".to_string()),
            "(?i)inbox(/[a-z]{1,4})?",
            "[A-Za-z0-9 ./&~#-]{1,12}",
            "\\PC{1,8}",
        ]
        .prop_map(MailboxName::new)
    }

    fn pattern() -> impl Strategy<Value = String> {
        prop_oneof!["[A-Za-z0-9/%*]{0,8}", "\\PC{0,6}"]
    }

    fn seq_bound() -> impl Strategy<Value = SeqBound> {
        prop_oneof![4 => (1u32..).prop_map(SeqBound::Value), 1 => Just(SeqBound::Star)]
    }

    fn seq_set() -> impl Strategy<Value = SequenceSet> {
        prop_oneof![
            6 => prop::collection::vec((seq_bound(), seq_bound()), 1..4).prop_map(SequenceSet::Ranges),
            1 => Just(SequenceSet::Saved),
        ]
    }

    fn flag() -> impl Strategy<Value = Flag> {
        prop_oneof![
            Just(Flag::Seen),
            Just(Flag::Answered),
            Just(Flag::Flagged),
            Just(Flag::Deleted),
            Just(Flag::Draft),
            atom().prop_map(Flag::Keyword),
            "\\\\X[A-Za-z]{1,6}".prop_map(Flag::Extension),
        ]
    }

    fn date() -> impl Strategy<Value = Date> {
        (1u8..=28, 1u8..=12, 1900u16..=2100).prop_map(|(day, month, year)| Date {
            year,
            month,
            day,
        })
    }

    fn date_time() -> impl Strategy<Value = DateTime> {
        (date(), 0u8..24, 0u8..60, 0u8..60, -1439i16..=1439).prop_map(
            |(date, hour, minute, second, zone_minutes)| DateTime {
                date,
                hour,
                minute,
                second,
                zone_minutes,
            },
        )
    }

    fn status_items() -> impl Strategy<Value = Vec<StatusItem>> {
        prop::collection::vec(
            prop::sample::select(vec![
                StatusItem::Messages,
                StatusItem::Recent,
                StatusItem::UidNext,
                StatusItem::UidValidity,
                StatusItem::Unseen,
                StatusItem::Deleted,
                StatusItem::Size,
                StatusItem::HighestModSeq,
            ]),
            1..4,
        )
    }

    fn section(text_ok: bool) -> impl Strategy<Value = Section> {
        let part = prop::collection::vec(1u32..100, 0..3);
        (
            part,
            0u8..5,
            any::<bool>(),
            prop::collection::vec("[A-Za-z-]{1,10}|\\PC{1,4}", 1..3),
        )
            .prop_map(move |(part, t, not, fields)| {
                let text = match t {
                    _ if !text_ok => None,
                    1 => Some(SectionText::Header),
                    2 => Some(SectionText::Text),
                    3 if !part.is_empty() => Some(SectionText::Mime),
                    4 => Some(SectionText::HeaderFields { not, fields }),
                    _ => None,
                };
                Section { part, text }
            })
    }

    fn partial() -> impl Strategy<Value = Option<Partial>> {
        prop::option::of(
            (any::<u32>(), prop::option::of(1u32..))
                .prop_map(|(start, length)| Partial { start, length }),
        )
    }

    fn fetch_attr() -> impl Strategy<Value = FetchAttr> {
        use FetchAttr as A;
        prop_oneof![
            prop::sample::select(vec![
                A::Envelope,
                A::Flags,
                A::InternalDate,
                A::Rfc822,
                A::Rfc822Header,
                A::Rfc822Size,
                A::Rfc822Text,
                A::Body,
                A::BodyStructure,
                A::Uid,
                A::ModSeq,
            ]),
            (any::<bool>(), section(true), partial()).prop_map(|(peek, section, partial)| {
                A::BodySection {
                    peek,
                    section,
                    partial,
                }
            }),
            (any::<bool>(), section(false), partial()).prop_map(|(peek, section, partial)| {
                A::Binary {
                    peek,
                    section,
                    partial,
                }
            }),
            section(false).prop_map(|section| A::BinarySize { section }),
        ]
    }

    fn search_key() -> impl Strategy<Value = SearchKey> {
        use SearchKey as K;
        let leaf = prop_oneof![
            prop::sample::select(vec![
                K::All,
                K::Answered,
                K::Deleted,
                K::Draft,
                K::Flagged,
                K::New,
                K::Old,
                K::Recent,
                K::Seen,
                K::Unanswered,
                K::Undeleted,
                K::Undraft,
                K::Unflagged,
                K::Unseen,
            ]),
            (0u8..7, text()).prop_map(|(k, s)| match k {
                0 => K::Bcc(s),
                1 => K::Body(s),
                2 => K::Cc(s),
                3 => K::From(s),
                4 => K::Subject(s),
                5 => K::Text(s),
                _ => K::To(s),
            }),
            (0u8..6, date()).prop_map(|(k, d)| match k {
                0 => K::Before(d),
                1 => K::On(d),
                2 => K::Since(d),
                3 => K::SentBefore(d),
                4 => K::SentOn(d),
                _ => K::SentSince(d),
            }),
            atom().prop_map(K::Keyword),
            atom().prop_map(K::Unkeyword),
            ("[A-Za-z-]{1,10}", text()).prop_map(|(f, v)| K::Header(f, v)),
            any::<u32>().prop_map(K::Larger),
            any::<u32>().prop_map(K::Smaller),
            (0..=i64::MAX as u64).prop_map(K::ModSeq),
            seq_set().prop_map(K::Uid),
            seq_set().prop_map(K::SequenceSet),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|k| K::Not(Box::new(k))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| K::Or(Box::new(a), Box::new(b))),
                prop::collection::vec(inner, 1..3).prop_map(K::And),
            ]
        })
    }

    fn criteria() -> impl Strategy<Value = SearchKey> {
        prop_oneof![
            search_key(),
            prop::collection::vec(search_key(), 2..4).prop_map(SearchKey::And),
        ]
    }

    fn base64_text() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"=".to_vec()),
            prop::collection::vec(any::<u8>(), 1..20).prop_map(|raw| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .encode(raw)
                    .into_bytes()
            }),
        ]
    }

    fn command_body() -> impl Strategy<Value = CommandBody> {
        use CommandBody as C;
        let simple = prop::sample::select(vec![
            C::Capability,
            C::Noop,
            C::Logout,
            C::StartTls,
            C::Namespace,
            C::Idle,
            C::Check,
            C::Close,
            C::Unselect,
            C::Expunge { uids: None },
        ]);
        let session = prop_oneof![
            prop::option::of(prop::collection::vec(
                (text(), prop::option::of(text())),
                0..3
            ))
            .prop_map(C::Id),
            (bytes(), bytes()).prop_map(|(username, password)| C::Login { username, password }),
            ("[A-Z][A-Z0-9-]{0,10}", prop::option::of(base64_text()))
                .prop_map(|(mechanism, initial)| C::Authenticate { mechanism, initial }),
            prop::collection::vec("[A-Z][A-Z0-9=+-]{0,10}", 1..3).prop_map(C::Enable),
        ];
        let mailboxes = prop_oneof![
            (mailbox_name(), any::<bool>(), any::<bool>()).prop_map(|(mailbox, condstore, ex)| {
                if ex {
                    C::Examine { mailbox, condstore }
                } else {
                    C::Select { mailbox, condstore }
                }
            }),
            (
                mailbox_name(),
                prop::collection::vec("\\\\[A-Z][a-z]{1,8}", 0..3)
            )
                .prop_map(|(mailbox, special_use)| C::Create {
                    mailbox,
                    special_use
                }),
            (0u8..3, mailbox_name()).prop_map(|(k, mailbox)| match k {
                0 => C::Delete { mailbox },
                1 => C::Subscribe { mailbox },
                _ => C::Unsubscribe { mailbox },
            }),
            (mailbox_name(), mailbox_name()).prop_map(|(from, to)| C::Rename { from, to }),
            (
                "[A-Za-z/~]{0,6}",
                prop::collection::vec(pattern(), 1..3),
                prop::sample::subsequence(vec!["SUBSCRIBED", "REMOTE", "SPECIAL-USE"], 0..=3),
                any::<bool>(),
                prop::sample::subsequence(vec!["SUBSCRIBED", "CHILDREN", "SPECIAL-USE"], 0..=3),
                prop::option::of(status_items()),
            )
                .prop_map(
                    |(reference, patterns, sel, recursive, ret, return_status)| {
                        let mut select_options: Vec<String> =
                            sel.into_iter().map(String::from).collect();
                        if recursive && select_options.iter().any(|o| o != "REMOTE") {
                            select_options.push("RECURSIVEMATCH".into());
                        }
                        C::List {
                            reference,
                            patterns,
                            select_options,
                            return_options: ret.into_iter().map(String::from).collect(),
                            return_status,
                        }
                    }
                ),
            ("[A-Za-z/]{0,6}", pattern())
                .prop_map(|(reference, pattern)| C::Lsub { reference, pattern }),
            (mailbox_name(), status_items())
                .prop_map(|(mailbox, items)| C::Status { mailbox, items }),
            (
                mailbox_name(),
                prop::collection::vec(flag(), 0..3),
                prop::option::of(date_time()),
                prop::collection::vec(any::<u8>(), 0..64),
                any::<bool>(),
            )
                .prop_map(|(mailbox, flags, date, mut message, binary)| {
                    if !binary {
                        message.retain(|&b| b != 0);
                    }
                    C::Append {
                        mailbox,
                        flags,
                        date,
                        message,
                        binary,
                    }
                }),
        ];
        let selected = prop_oneof![
            seq_set().prop_map(|s| C::Expunge { uids: Some(s) }),
            (
                any::<bool>(),
                prop::option::of(prop::sample::select(vec![
                    "UTF-8".to_string(),
                    "US-ASCII".into()
                ])),
                criteria(),
                prop::option::of(prop::sample::subsequence(
                    vec!["MIN", "MAX", "ALL", "COUNT", "SAVE"],
                    0..=5
                )),
            )
                .prop_map(|(uid, charset, criteria, ret)| C::Search {
                    uid,
                    charset,
                    criteria,
                    ret: ret.map(|r| r.into_iter().map(String::from).collect()),
                }),
            (
                any::<bool>(),
                seq_set(),
                prop_oneof![
                    Just(FetchAttrs::All),
                    Just(FetchAttrs::Fast),
                    Just(FetchAttrs::Full),
                    prop::collection::vec(fetch_attr(), 1..4).prop_map(FetchAttrs::Items),
                ],
                prop::option::of(1..=i64::MAX as u64),
            )
                .prop_map(|(uid, set, attrs, changed_since)| C::Fetch {
                    uid,
                    set,
                    attrs,
                    changed_since
                }),
            (
                any::<bool>(),
                seq_set(),
                prop::sample::select(vec![StoreOp::Replace, StoreOp::Add, StoreOp::Remove]),
                any::<bool>(),
                prop::collection::vec(flag(), 0..3),
                prop::option::of(0..=i64::MAX as u64),
            )
                .prop_map(|(uid, set, op, silent, flags, unchanged_since)| C::Store {
                    uid,
                    set,
                    op,
                    silent,
                    flags,
                    unchanged_since,
                }),
            (any::<bool>(), any::<bool>(), seq_set(), mailbox_name()).prop_map(
                |(uid, mv, set, mailbox)| if mv {
                    C::Move { uid, set, mailbox }
                } else {
                    C::Copy { uid, set, mailbox }
                }
            ),
        ];
        prop_oneof![1 => simple, 2 => session, 4 => mailboxes, 6 => selected]
    }

    pub fn command() -> impl Strategy<Value = Command> {
        (tag(), command_body()).prop_map(|(tag, body)| Command { tag, body })
    }
}

use gen::command;
use printer::print;

/// Limits roomy enough for anything generated, with the default depth.
const ROOMY: Limits = Limits {
    max_line: 1 << 20,
    max_literal: 1 << 20,
    max_small_literal: 1 << 20,
    max_depth: 64,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printed_commands_decode_to_themselves(cmd in command()) {
        let wire = print(&cmd);
        let items: Vec<_> = decode_chunks(ROOMY, [&wire[..]])
            .into_iter()
            .filter(|i| *i != Decoded::NeedContinuation)
            .collect();
        prop_assert_eq!(items, vec![Decoded::Command(cmd.clone())], "wire: {:?}", String::from_utf8_lossy(&wire));
    }

    #[test]
    fn pipelined_commands_decode_in_order_in_any_chunking(
        cmds in prop::collection::vec(command(), 1..5),
        chunk in 1usize..17,
    ) {
        let wire: Vec<u8> = cmds.iter().flat_map(print).collect();
        let items: Vec<_> = decode_chunks(ROOMY, wire.chunks(chunk))
            .into_iter()
            .filter(|i| *i != Decoded::NeedContinuation)
            .collect();
        let expected: Vec<_> = cmds.into_iter().map(Decoded::Command).collect();
        prop_assert_eq!(items, expected);
    }
}
