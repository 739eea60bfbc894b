//! The client command AST: what the codec produces and the session executes.
//! Owned data (no borrows into the input buffer) so a command can outlive its bytes. Short
//! strings that every command has (the tag, header field names) are [`CompactString`]s, kept
//! inline up to 24 bytes: they deref to `&str`, and parsing them costs no allocation.

pub use compact_str::CompactString;

use crate::types::{Date, DateTime, Flag, SequenceSet};

/// A complete client command: its tag and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The tag, as sent (ASCII `tag` chars: any ASTRING-CHAR except `+`).
    pub tag: CompactString,
    pub body: CommandBody,
}

/// A mailbox name, decoded from modified UTF-7 (RFC 3501 §5.1.3) into UTF-8. `INBOX` in any
/// case is normalised to `INBOX`; other names keep their case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxName(pub CompactString);

impl MailboxName {
    /// Builds a name, normalising any case of `INBOX` (and `INBOX/...` prefixes).
    pub fn new(name: impl Into<CompactString>) -> MailboxName {
        let mut name = name.into();
        let b = name.as_bytes();
        let inbox = (b.len() == 5 || b.get(5) == Some(&b'/'))
            && b.get(..5)
                .is_some_and(|h| h != b"INBOX" && h.eq_ignore_ascii_case(b"INBOX"));
        if let Some(head) = name.get_mut(..5).filter(|_| inbox) {
            head.make_ascii_uppercase();
        }
        MailboxName(name)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }
}

/// Bytes that must not reach a log: a password, or a SASL response that holds one. They
/// read as a byte slice; `Debug` prints only their length, so `{:?}` of a command is safe.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} secret bytes>", self.0.len())
    }
}

impl std::ops::Deref for Secret {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Secret {
    fn from(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }
}

/// Every command the engine understands. `uid: true` marks the `UID` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody {
    // Any state.
    Capability,
    Noop,
    Logout,
    /// `ID (...)` or `ID NIL` (RFC 2971); `None` for NIL.
    Id(Option<Vec<(CompactString, Option<CompactString>)>>),

    // Not authenticated.
    StartTls,
    /// `LOGIN user password` (astrings, raw bytes as sent).
    Login {
        username: Vec<u8>,
        password: Secret,
    },
    /// `AUTHENTICATE mech [initial-response]`. The initial response (SASL-IR) is kept as the
    /// base64 text sent; `=` means an empty response. It carries the password for PLAIN.
    Authenticate {
        mechanism: CompactString,
        initial: Option<Secret>,
    },

    // Authenticated.
    Enable(Vec<String>),
    Select {
        mailbox: MailboxName,
        condstore: bool,
    },
    Examine {
        mailbox: MailboxName,
        condstore: bool,
    },
    Create {
        mailbox: MailboxName,
        special_use: Vec<String>,
    },
    Delete {
        mailbox: MailboxName,
    },
    Rename {
        from: MailboxName,
        to: MailboxName,
    },
    Subscribe {
        mailbox: MailboxName,
    },
    Unsubscribe {
        mailbox: MailboxName,
    },
    /// `LIST reference pattern` and the LIST-EXTENDED forms. Patterns are decoded from
    /// modified UTF-7 like mailbox names; `%` and `*` are kept as wildcards.
    List {
        reference: String,
        patterns: Vec<String>,
        /// Selection options, e.g. `SUBSCRIBED`, `SPECIAL-USE` (upper-cased).
        select_options: Vec<String>,
        /// Return options, e.g. `SUBSCRIBED`, `CHILDREN`, `SPECIAL-USE` (upper-cased);
        /// `STATUS (...)` is in `return_status`.
        return_options: Vec<String>,
        return_status: Option<Vec<StatusItem>>,
    },
    Lsub {
        reference: String,
        pattern: String,
    },
    Namespace,
    Status {
        mailbox: MailboxName,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: MailboxName,
        flags: Vec<Flag>,
        date: Option<DateTime>,
        message: Vec<u8>,
        /// Sent as a `~{n}` literal8 (RFC 3516): may contain NUL.
        binary: bool,
    },
    Idle,

    // Selected.
    Check,
    Close,
    Unselect,
    /// `EXPUNGE`, or `UID EXPUNGE set` (UIDPLUS) when `uids` is given.
    Expunge {
        uids: Option<SequenceSet>,
    },
    Search {
        uid: bool,
        charset: Option<String>,
        criteria: SearchKey,
        ret: Option<Vec<String>>,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        attrs: FetchAttrs,
        changed_since: Option<u64>,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        op: StoreOp,
        silent: bool,
        flags: Vec<Flag>,
        unchanged_since: Option<u64>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: MailboxName,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: MailboxName,
    },
}

impl CommandBody {
    /// The command name as a client would write it, for logs and `BAD` texts.
    pub fn name(&self) -> &'static str {
        match self {
            CommandBody::Capability => "CAPABILITY",
            CommandBody::Noop => "NOOP",
            CommandBody::Logout => "LOGOUT",
            CommandBody::Id(_) => "ID",
            CommandBody::StartTls => "STARTTLS",
            CommandBody::Login { .. } => "LOGIN",
            CommandBody::Authenticate { .. } => "AUTHENTICATE",
            CommandBody::Enable(_) => "ENABLE",
            CommandBody::Select { .. } => "SELECT",
            CommandBody::Examine { .. } => "EXAMINE",
            CommandBody::Create { .. } => "CREATE",
            CommandBody::Delete { .. } => "DELETE",
            CommandBody::Rename { .. } => "RENAME",
            CommandBody::Subscribe { .. } => "SUBSCRIBE",
            CommandBody::Unsubscribe { .. } => "UNSUBSCRIBE",
            CommandBody::List { .. } => "LIST",
            CommandBody::Lsub { .. } => "LSUB",
            CommandBody::Namespace => "NAMESPACE",
            CommandBody::Status { .. } => "STATUS",
            CommandBody::Append { .. } => "APPEND",
            CommandBody::Idle => "IDLE",
            CommandBody::Check => "CHECK",
            CommandBody::Close => "CLOSE",
            CommandBody::Unselect => "UNSELECT",
            CommandBody::Expunge { .. } => "EXPUNGE",
            CommandBody::Search { .. } => "SEARCH",
            CommandBody::Fetch { .. } => "FETCH",
            CommandBody::Store { .. } => "STORE",
            CommandBody::Copy { .. } => "COPY",
            CommandBody::Move { .. } => "MOVE",
        }
    }
}

/// A STATUS data item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    Deleted,
    Size,
    HighestModSeq,
}

/// `+FLAGS`, `-FLAGS` or `FLAGS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    Replace,
    Add,
    Remove,
}

/// What FETCH asks for: a macro or a list of items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttrs {
    /// `ALL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`.
    All,
    /// `FAST` = `(FLAGS INTERNALDATE RFC822.SIZE)`.
    Fast,
    /// `FULL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`.
    Full,
    Items(Vec<FetchAttr>),
}

impl FetchAttrs {
    /// The items a macro stands for, or the list itself.
    pub fn expand(&self) -> Vec<FetchAttr> {
        use FetchAttr::*;
        match self {
            FetchAttrs::All => vec![Flags, InternalDate, Rfc822Size, Envelope],
            FetchAttrs::Fast => vec![Flags, InternalDate, Rfc822Size],
            FetchAttrs::Full => vec![Flags, InternalDate, Rfc822Size, Envelope, Body],
            FetchAttrs::Items(items) => items.clone(),
        }
    }
}

/// `<start.length>`; `length` is `None` for the lenient `<start>` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    pub start: u32,
    pub length: Option<u32>,
}

/// One FETCH data item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttr {
    Envelope,
    Flags,
    InternalDate,
    /// `RFC822` (= `BODY[]`, sets \Seen).
    Rfc822,
    /// `RFC822.HEADER` (= `BODY.PEEK[HEADER]`).
    Rfc822Header,
    Rfc822Size,
    /// `RFC822.TEXT` (= `BODY[TEXT]`, sets \Seen).
    Rfc822Text,
    /// `BODY` without a section: the non-extensible body structure.
    Body,
    BodyStructure,
    Uid,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516).
    Binary {
        peek: bool,
        section: Section,
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]`.
    BinarySize {
        section: Section,
    },
    /// `MODSEQ` (RFC 7162).
    ModSeq,
}

/// A body section: a part path (`1.2.3`, empty for the whole message) and an optional text
/// specifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

/// The text part of a section specifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    Header,
    /// `HEADER.FIELDS (...)` or `HEADER.FIELDS.NOT (...)`; field names as sent.
    HeaderFields {
        not: bool,
        fields: Vec<CompactString>,
    },
    Text,
    /// `MIME`: only valid after a part number.
    Mime,
}

/// A SEARCH key (RFC 9051 §6.4.4). Strings are the client's bytes decoded as UTF-8 (the
/// session refuses charsets other than UTF-8 and US-ASCII).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(String),
    Before(Date),
    Body(String),
    Cc(String),
    Deleted,
    Draft,
    Flagged,
    From(String),
    Header(String, String),
    Keyword(String),
    Larger(u32),
    New,
    Not(Box<SearchKey>),
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u32),
    Subject(String),
    Text(String),
    To(String),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// A bare sequence set.
    SequenceSet(SequenceSet),
    /// A parenthesised list, or the implicit AND of the top level.
    And(Vec<SearchKey>),
    /// `MODSEQ n` (RFC 7162; entry names are accepted and ignored).
    ModSeq(u64),
}

#[cfg(test)]
mod tests {
    use super::MailboxName;

    #[test]
    fn inbox_is_normalised_in_any_case() {
        for (given, name) in [
            ("inbox", "INBOX"),
            ("InBox", "INBOX"),
            ("inbox/Sub", "INBOX/Sub"),
            ("INBOX/", "INBOX/"),
            ("inboxes", "inboxes"),
            ("inbox.Sub", "inbox.Sub"),
            ("in", "in"),
            ("Inbo\u{e9}", "Inbo\u{e9}"),
            ("", ""),
        ] {
            assert_eq!(MailboxName::new(given).as_str(), name, "{given:?}");
        }
        assert!(MailboxName::new("iNbOx").is_inbox());
    }
}
