//! The one-line summary the demo page shows for a message (subject, sender, date), decoded
//! from the header with mail-parser. Display only: IMAP answers never go through here.

/// What the mailbox view shows for one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Decoded Subject, empty when absent.
    pub subject: String,
    /// `Name <addr>` (or just the address) of the first From address, empty when absent.
    pub from: String,
    /// The Date header as RFC 3339, or empty when absent or unparseable.
    pub date: String,
}

/// Summarises a raw RFC 5322 message. Never fails: missing parts are empty strings.
pub fn summarize(raw: &[u8]) -> Summary {
    let Some(msg) = mail_parser::MessageParser::default().parse_headers(raw) else {
        return Summary::default();
    };
    let from = msg
        .from()
        .and_then(|a| a.first())
        .map(|a| match (a.name(), a.address()) {
            (Some(n), Some(addr)) => format!("{n} <{addr}>"),
            (Some(n), None) => n.to_string(),
            (None, Some(addr)) => addr.to_string(),
            (None, None) => String::new(),
        })
        .unwrap_or_default();
    Summary {
        subject: msg.subject().unwrap_or_default().to_string(),
        from,
        date: msg.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn decodes_subject_and_sender() {
        let raw = b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\n\
                    Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\
                    Date: Fri, 01 Mar 2024 10:00:00 +0100\r\n\r\nbody\r\n";
        let s = summarize(raw);
        assert_eq!(s.subject, "Grüße");
        assert_eq!(s.from, "Jürgen <j@example.org>");
        assert!(s.date.starts_with("2024-03-01T10:00:00"), "{}", s.date);
    }

    #[test]
    fn garbage_gives_empty_fields() {
        let s = summarize(b"\xff\xfe not a message");
        assert_eq!(s.subject, "");
    }
}
