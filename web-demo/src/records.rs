//! The rows IndexedDbStore keeps in its object stores, and their byte encoding (postcard).
//! Plain Rust with no JS in sight, so the encoding is unit-tested on the host.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tidings_engine::command::MailboxName;
use tidings_engine::mime::ParsedMessage;
use tidings_engine::store::{MailboxId, MessageMeta, NewMessage, StoreError, StoreResult};
use tidings_engine::types::{DateTime, Flag, SpecialUse, Uid};

/// `accounts` row, keyed by the login name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRec {
    pub password: Vec<u8>,
}

/// `mailboxes` row, keyed by the mailbox id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxRec {
    pub id: MailboxId,
    pub account: String,
    pub name: String,
    /// The special-use attribute as written on the wire (`\Trash`), if any.
    pub special_use: Option<String>,
    pub uidvalidity: u32,
    pub uidnext: Uid,
    pub highest_modseq: u64,
    pub recent_mark: Uid,
    /// Keywords in use, in first-use order.
    pub keywords: Vec<String>,
}

impl MailboxRec {
    /// The name as the engine types it.
    pub fn mailbox_name(&self) -> MailboxName {
        MailboxName::new(self.name.as_str())
    }

    /// The special-use attribute, parsed.
    pub fn special_use(&self) -> Option<SpecialUse> {
        self.special_use.as_deref().and_then(SpecialUse::from_attr)
    }

    /// Bumps and returns the mailbox's modseq.
    pub fn bump(&mut self) -> u64 {
        self.highest_modseq += 1;
        self.highest_modseq
    }
}

/// `messages` row, keyed by `[mailboxId, uid]`. The bytes live in `blobs` under the same key.
/// Postcard writes a nested struct as its fields in order, so the encoding is the head's
/// fields followed by the parse, and the head alone can be decoded from the front.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRec {
    pub head: MessageHead,
    /// Parsed once at APPEND time so FETCH never re-parses.
    pub parsed: ParsedMessage,
}

impl MessageRec {
    /// The row for a message being stored (UID and modseq are given on insertion).
    pub fn new(message: &NewMessage) -> MessageRec {
        MessageRec {
            head: MessageHead {
                uid: 0,
                flags: flag_atoms(&message.flags),
                modseq: 0,
                size: message.raw.len() as u64,
                internal_secs: message.internal_date.unix_seconds(),
                internal_zone: message.internal_date.zone_minutes,
            },
            parsed: (*message.parsed).clone(),
        }
    }
}

/// The leading fields of a `messages` row: everything but the parse. What counts, flags,
/// sizes and dates need (STATUS, SELECT, RFC822.SIZE) without decoding every envelope and
/// body structure of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageHead {
    pub uid: Uid,
    /// Stored flags in canonical order, as wire atoms.
    pub flags: Vec<String>,
    pub modseq: u64,
    pub size: u64,
    /// INTERNALDATE as Unix seconds and the zone it was given in.
    pub internal_secs: i64,
    pub internal_zone: i16,
}

impl MessageHead {
    /// Decodes the head of `MessageRec` bytes, ignoring the rest.
    pub fn decode(bytes: &[u8], what: &str) -> StoreResult<MessageHead> {
        postcard::take_from_bytes(bytes)
            .map(|(head, _rest)| head)
            .map_err(|e| StoreError::Backend(format!("corrupt {what} record in IndexedDB: {e}")))
    }

    /// The flags as engine values.
    pub fn flag_values(&self) -> Vec<Flag> {
        self.flags.iter().map(|f| Flag::from_atom(f)).collect()
    }

    /// Stores engine flags.
    pub fn set_flags(&mut self, flags: &[Flag]) {
        self.flags = flag_atoms(flags);
    }

    /// INTERNALDATE as the engine types it.
    pub fn internal_date(&self) -> DateTime {
        DateTime::from_unix(self.internal_secs, self.internal_zone)
    }

    /// What SELECT and `changes_since` report.
    pub fn meta(&self) -> MessageMeta {
        MessageMeta {
            uid: self.uid,
            flags: self.flag_values(),
            modseq: self.modseq,
        }
    }

    /// True if the message carries `flag`.
    pub fn has(&self, flag: &Flag) -> bool {
        self.flags.iter().any(|f| f == flag.as_str())
    }
}

/// `tombstones` row, keyed by `[mailboxId, uid]`: an expunged UID and its expunge modseq.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TombstoneRec {
    pub uid: Uid,
    pub modseq: u64,
}

/// `subscriptions` row, keyed by `[account, name]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRec {
    pub account: String,
    pub name: String,
}

/// Flags as wire atoms (`\Seen`, `$Label`).
pub fn flag_atoms(flags: &[Flag]) -> Vec<String> {
    flags.iter().map(|f| f.as_str().to_string()).collect()
}

/// Encodes a row.
pub fn encode<T: Serialize>(value: &T, what: &str) -> StoreResult<Vec<u8>> {
    postcard::to_allocvec(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode {what} record: {e}")))
}

/// Decodes a row, naming the table when the bytes are not what we wrote.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> StoreResult<T> {
    postcard::from_bytes(bytes)
        .map_err(|e| StoreError::Backend(format!("corrupt {what} record in IndexedDB: {e}")))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use tidings_engine::store::conformance::test_message;

    fn stored(uid: Uid) -> (NewMessage, MessageRec) {
        let msg = test_message("hello", &[Flag::Seen, Flag::Keyword("Work".into())], 3);
        let mut rec = MessageRec::new(&msg);
        rec.head.uid = uid;
        rec.head.modseq = 9;
        (msg, rec)
    }

    #[test]
    fn message_record_round_trips_with_its_parse() {
        let (msg, rec) = stored(7);
        let bytes = encode(&rec, "message").unwrap();
        let back: MessageRec = decode(&bytes, "message").unwrap();
        assert_eq!(back, rec);
        assert_eq!(back.head.internal_date(), msg.internal_date);
        assert_eq!(back.head.flag_values(), msg.flags);
        assert!(back.head.has(&Flag::Seen));
        assert_eq!(back.parsed.envelope(), msg.parsed.envelope());
    }

    #[test]
    fn message_head_is_a_prefix_of_the_record() {
        let (msg, rec) = stored(7);
        let head = MessageHead::decode(&encode(&rec, "message").unwrap(), "message").unwrap();
        assert_eq!(head, rec.head);
        assert_eq!((head.uid, head.modseq), (7, 9));
        assert_eq!(head.size, msg.raw.len() as u64);
    }

    #[test]
    fn garbage_is_a_backend_error_not_a_panic() {
        let err = decode::<MailboxRec>(&[0xff, 0xff, 0xff], "mailbox").unwrap_err();
        assert!(matches!(err, StoreError::Backend(m) if m.contains("mailbox")));
    }

    #[test]
    fn special_use_survives() {
        let rec = MailboxRec {
            id: 1,
            account: "a".into(),
            name: "Trash".into(),
            special_use: Some(SpecialUse::Trash.as_str().into()),
            uidvalidity: 5,
            uidnext: 1,
            highest_modseq: 1,
            recent_mark: 1,
            keywords: vec![],
        };
        assert_eq!(rec.special_use(), Some(SpecialUse::Trash));
    }
}
