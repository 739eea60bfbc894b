//! SEARCH evaluation: decides whether one message matches a `SearchKey` (RFC 9051 §6.4.4,
//! RFC 3501 §6.4.4). Text keys decode the message with mail-parser; see `content`.

mod content;
mod dates;
mod text;

use std::cell::OnceCell;

use crate::command::SearchKey;
use crate::types::{Date, DateTime, Flag, Uid};

pub use content::{
    body_text, header_fields, plain_text, BodyText, Field, PlainText, MAX_CONTENT_TYPE_FIELDS,
};
pub use dates::parse_date_field;
pub use text::{fold, Needle};

/// What SEARCH needs to know about one message of the selected mailbox.
#[derive(Debug, Clone, Copy)]
pub struct MessageView<'a> {
    /// Its sequence number in the selected view.
    pub seq: u32,
    /// Its UID.
    pub uid: Uid,
    /// Stored flags and keywords (`\Recent` is given by `recent`, not here).
    pub flags: &'a [Flag],
    /// Is it `\Recent` in this session?
    pub recent: bool,
    /// RFC822.SIZE.
    pub size: u64,
    /// INTERNALDATE; ON/SINCE/BEFORE compare its date in its own zone.
    pub internal_date: DateTime,
    /// The stored bytes (CRLF line ends). May be empty when [`needs_content`] is false, or
    /// when `fields` is given and [`header_field_names`] named every field the key needs.
    pub raw: &'a [u8],
    /// The message's header fields, decoded and folded ([`searchable_fields`]), when the
    /// caller has them already (a store's cache): header keys then use these and never parse
    /// `raw`. They must include every field [`header_field_names`] lists for the key.
    pub fields: Option<&'a [Field]>,
    /// The largest sequence number in the view: what `*` means in a sequence set.
    pub max_seq: u32,
    /// The largest UID in the view: what `*` means in `UID` sets.
    pub max_uid: u32,
}

/// Does the message match? `$` (`SequenceSet::Saved`) must be resolved by the caller: here it
/// matches nothing. `MODSEQ` keys match every message here (their value is unknown); use
/// [`matches_with_modseq`] when CONDSTORE is in play.
///
/// Text keys (FROM, TO, CC, BCC, SUBJECT, HEADER, BODY, TEXT) are case-insensitive substring
/// matches on decoded text: RFC 2047 words in header fields, quoted-printable and base64 part
/// bodies converted from their charset to UTF-8. Deterministic; never panics on any bytes.
pub fn matches(key: &SearchKey, msg: &MessageView<'_>) -> bool {
    Evaluation::new(key, msg, None).eval(key)
}

/// [`matches()`], with the message's MODSEQ for `MODSEQ n` keys (true when `modseq >= n`,
/// RFC 7162 §3.1.5).
pub fn matches_with_modseq(key: &SearchKey, msg: &MessageView<'_>, modseq: u64) -> bool {
    Evaluation::new(key, msg, Some(modseq)).eval(key)
}

/// True if evaluating `key` needs the message bytes (so the caller can skip loading them).
pub fn needs_content(key: &SearchKey) -> bool {
    use SearchKey::*;
    match key {
        Bcc(_) | Body(_) | Cc(_) | From(_) | Header(..) | SentBefore(_) | SentOn(_)
        | SentSince(_) | Subject(_) | Text(_) | To(_) => true,
        Not(k) => needs_content(k),
        Or(a, b) => needs_content(a) || needs_content(b),
        And(keys) => keys.iter().any(needs_content),
        _ => false,
    }
}

/// True if evaluating `key` needs the message's size or INTERNALDATE, so a search by flags,
/// UIDs, sequence numbers or text never loads them (text keys load what [`needs_content`]
/// says instead).
pub fn needs_metadata(key: &SearchKey) -> bool {
    use SearchKey::*;
    match key {
        Larger(_) | Smaller(_) | Before(_) | On(_) | Since(_) => true,
        Not(k) => needs_metadata(k),
        Or(a, b) => needs_metadata(a) || needs_metadata(b),
        And(keys) => keys.iter().any(needs_metadata),
        _ => false,
    }
}

/// The header fields a key reads, when header fields are all the content it reads: `Some`
/// (lower-case names, each once; empty for a key that reads no content), or `None` when it
/// needs a message body (BODY, TEXT). With `Some`, the caller may pass just those fields
/// ([`MessageView::fields`]) instead of the message bytes.
pub fn header_field_names(key: &SearchKey) -> Option<Vec<String>> {
    let mut names = Vec::new();
    collect_field_names(key, &mut names).then_some(names)
}

fn collect_field_names(key: &SearchKey, names: &mut Vec<String>) -> bool {
    use SearchKey::*;
    let mut add = |name: &str| {
        let name = name.trim().to_ascii_lowercase();
        if !names.contains(&name) {
            names.push(name);
        }
        true
    };
    match key {
        Body(_) | Text(_) => false,
        Bcc(_) => add("bcc"),
        Cc(_) => add("cc"),
        From(_) => add("from"),
        To(_) => add("to"),
        Subject(_) => add("subject"),
        Header(name, _) => add(name),
        SentBefore(_) | SentOn(_) | SentSince(_) => add("date"),
        Not(k) => collect_field_names(k, names),
        Or(a, b) => collect_field_names(a, names) && collect_field_names(b, names),
        And(keys) => keys.iter().all(|k| collect_field_names(k, names)),
        _ => true,
    }
}

/// The top-level header fields of `raw` whose names are in `names` (lower case, as from
/// [`header_field_names`]), in order, values folded: what [`MessageView::fields`] holds.
pub fn searchable_fields(raw: &[u8], names: &[String]) -> Vec<Field> {
    header_fields(raw)
        .into_iter()
        .filter(|f| names.iter().any(|n| f.name.trim().eq_ignore_ascii_case(n)))
        .map(|f| Field {
            value: fold(&f.value),
            name: f.name,
        })
        .collect()
}

/// Is this charset supported for SEARCH? UTF-8 and US-ASCII, in any case. For any other,
/// the session answers `NO [BADCHARSET (UTF-8 US-ASCII)]`.
pub fn charset_supported(name: &str) -> bool {
    name.eq_ignore_ascii_case("UTF-8") || name.eq_ignore_ascii_case("US-ASCII")
}

/// Does the key use TEXT anywhere (so decoding must keep the headers)?
fn uses_text(key: &SearchKey) -> bool {
    match key {
        SearchKey::Text(_) => true,
        SearchKey::Not(k) => uses_text(k),
        SearchKey::Or(a, b) => uses_text(a) || uses_text(b),
        SearchKey::And(keys) => keys.iter().any(uses_text),
        _ => false,
    }
}

/// One message being evaluated: the decoded content is computed on first use and shared by
/// every key of the criteria.
struct Evaluation<'m, 'a> {
    msg: &'m MessageView<'a>,
    modseq: Option<u64>,
    text_headers: bool,
    /// Top-level header fields, values folded.
    fields: OnceCell<Vec<Field>>,
    body: OnceCell<BodyText>,
    /// The message as its own text, when it needs no decoding (tried before `body`).
    plain: OnceCell<Option<PlainText<'a>>>,
    /// The day of the first Date field, if it parses.
    sent: OnceCell<Option<Date>>,
}

impl<'m, 'a> Evaluation<'m, 'a> {
    fn new(key: &SearchKey, msg: &'m MessageView<'a>, modseq: Option<u64>) -> Self {
        Evaluation {
            msg,
            modseq,
            text_headers: uses_text(key),
            fields: OnceCell::new(),
            body: OnceCell::new(),
            plain: OnceCell::new(),
            sent: OnceCell::new(),
        }
    }

    fn fields(&self) -> &[Field] {
        if let Some(given) = self.msg.fields {
            return given;
        }
        self.fields.get_or_init(|| {
            header_fields(self.msg.raw)
                .into_iter()
                .map(|f| Field {
                    value: fold(&f.value),
                    name: f.name,
                })
                .collect()
        })
    }

    fn body(&self) -> &BodyText {
        self.body
            .get_or_init(|| body_text(self.msg.raw, self.text_headers))
    }

    fn plain(&self) -> Option<&PlainText<'a>> {
        self.plain.get_or_init(|| plain_text(self.msg.raw)).as_ref()
    }

    fn sent(&self) -> Option<Date> {
        *self.sent.get_or_init(|| {
            // With two Date fields the first counts (as Dovecot); a missing or
            // unparsable one is no date at all: no fallback to INTERNALDATE.
            self.fields()
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case("Date"))
                .and_then(|f| parse_date_field(&f.value))
        })
    }

    /// Does any field called `name` (in any case) contain `term`? The empty term matches
    /// every message that has the field, even with an empty value.
    fn field_has(&self, name: &str, term: &str) -> bool {
        let needle = Needle::new(term);
        self.fields()
            .iter()
            .any(|f| f.name.eq_ignore_ascii_case(name.trim()) && needle.found_in(&f.value))
    }

    fn flag(&self, flag: &Flag) -> bool {
        self.msg.flags.contains(flag)
    }

    /// KEYWORD: keywords compare case-insensitively (RFC 9051 §2.3.2); a system flag name
    /// given as a keyword tests that flag.
    fn keyword(&self, name: &str) -> bool {
        match Flag::from_atom(name) {
            Flag::Recent => self.msg.recent,
            Flag::Keyword(k) | Flag::Extension(k) => self.msg.flags.iter().any(|f| match f {
                Flag::Keyword(have) | Flag::Extension(have) => have.eq_ignore_ascii_case(&k),
                _ => false,
            }),
            system => self.flag(&system),
        }
    }

    fn eval(&self, key: &SearchKey) -> bool {
        use SearchKey::*;
        let msg = self.msg;
        let day = msg.internal_date.date;
        match key {
            All => true,
            Answered => self.flag(&Flag::Answered),
            Deleted => self.flag(&Flag::Deleted),
            Draft => self.flag(&Flag::Draft),
            Flagged => self.flag(&Flag::Flagged),
            Seen => self.flag(&Flag::Seen),
            Unanswered => !self.flag(&Flag::Answered),
            Undeleted => !self.flag(&Flag::Deleted),
            Undraft => !self.flag(&Flag::Draft),
            Unflagged => !self.flag(&Flag::Flagged),
            Unseen => !self.flag(&Flag::Seen),
            Keyword(k) => self.keyword(k),
            Unkeyword(k) => !self.keyword(k),
            Recent => msg.recent,
            New => msg.recent && !self.flag(&Flag::Seen),
            Old => !msg.recent,
            Larger(n) => msg.size > u64::from(*n),
            Smaller(n) => msg.size < u64::from(*n),
            Before(d) => day < *d,
            On(d) => day == *d,
            Since(d) => day >= *d,
            SentBefore(d) => self.sent().is_none_or(|s| s < *d),
            SentOn(d) => self.sent() == Some(*d),
            SentSince(d) => self.sent().is_some_and(|s| s >= *d),
            From(s) => self.field_has("From", s),
            To(s) => self.field_has("To", s),
            Cc(s) => self.field_has("Cc", s),
            Bcc(s) => self.field_has("Bcc", s),
            Subject(s) => self.field_has("Subject", s),
            Header(name, s) => self.field_has(name, s),
            Body(s) => {
                let needle = Needle::new(s);
                if let Some(found) = self.plain().and_then(|p| p.body_has(&needle)) {
                    return found;
                }
                self.body().parts.iter().any(|p| needle.found_in(p))
            }
            Text(s) => {
                let needle = Needle::new(s);
                if let Some(plain) = self.plain() {
                    if plain.header_has(&needle) {
                        return true;
                    }
                    if let Some(found) = plain.body_has(&needle) {
                        return found;
                    }
                }
                let body = self.body();
                body.headers.iter().any(|h| needle.found_in(h))
                    || body.parts.iter().any(|p| needle.found_in(p))
            }
            Uid(set) => set.contains(msg.uid, msg.max_uid),
            SequenceSet(set) => set.contains(msg.seq, msg.max_seq),
            ModSeq(n) => self.modseq.is_none_or(|m| m >= *n),
            Not(k) => !self.eval(k),
            Or(a, b) => self.eval(a) || self.eval(b),
            And(keys) => keys.iter().all(|k| self.eval(k)),
        }
    }
}

#[cfg(test)]
mod tests;
