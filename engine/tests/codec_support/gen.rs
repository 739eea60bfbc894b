//! proptest generators for every command, with values the grammar can carry.

use proptest::prelude::*;
use tidings_engine::command::*;
use tidings_engine::types::{Date, DateTime, Flag, SeqBound, SequenceSet};

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
        6 => prop::collection::vec((seq_bound(), seq_bound()), 1..4).prop_map(|r| SequenceSet::Ranges(r.into())),
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
    (1u8..=28, 1u8..=12, 1900u16..=2100).prop_map(|(day, month, year)| Date { year, month, day })
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
                4 => Some(SectionText::HeaderFields {
                    not,
                    fields: fields.into_iter().map(Into::into).collect(),
                }),
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
        .prop_map(|id| {
            C::Id(id.map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.map(Into::into)))
                    .collect()
            }))
        }),
        (bytes(), bytes()).prop_map(|(username, password)| C::Login {
            username,
            password: password.into(),
        }),
        ("[A-Z][A-Z0-9-]{0,10}", prop::option::of(base64_text())).prop_map(
            |(mechanism, initial)| C::Authenticate {
                mechanism: mechanism.into(),
                initial: initial.map(Into::into),
            }
        ),
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
        (mailbox_name(), status_items()).prop_map(|(mailbox, items)| C::Status { mailbox, items }),
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
    (tag(), command_body()).prop_map(|(tag, body)| Command {
        tag: tag.into(),
        body,
    })
}
