//! Shared by the codec integration tests: feeding helpers and a corpus of valid commands.
#![allow(dead_code)]

pub mod gen;
pub mod printer;

use tidings_engine::codec::{Decoded, Decoder, Limits};

/// Every item the decoder has ready.
pub fn drain(dec: &mut Decoder) -> Vec<Decoded> {
    std::iter::from_fn(|| dec.next()).collect()
}

/// Feeds each chunk in turn, draining after each; returns every item in order.
pub fn decode_chunks<'a>(
    limits: Limits,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<Decoded> {
    let mut dec = Decoder::new(limits);
    let mut out = Vec::new();
    for chunk in chunks {
        dec.feed(chunk);
        out.extend(drain(&mut dec));
    }
    out
}

/// The RFC 3501 §6.3.11 APPEND example message (310 bytes with CRLF line ends).
pub fn rfc3501_append_message() -> Vec<u8> {
    let text = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\n\
                From: Fred Foobar <foobar@Blurdybloop.COM>\n\
                Subject: afternoon meeting\n\
                To: mooch@owatagu.siam.edu\n\
                Message-Id: <B27397-0100000@Blurdybloop.COM>\n\
                MIME-Version: 1.0\n\
                Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n\
                \n\
                Hello Joe, do you think we can meet at 3:30 tomorrow?\n";
    let msg = text.replace('\n', "\r\n").into_bytes();
    assert_eq!(msg.len(), 310);
    msg
}

/// The client side of RFC 3501 §8 (the sample session).
pub const RFC3501_SECTION8: &[&str] = &[
    "a001 login mrc secret\r\n",
    "a002 select inbox\r\n",
    "a003 fetch 12 full\r\n",
    "a004 fetch 12 body[header]\r\n",
    "a005 store 12 +flags \\deleted\r\n",
    "a006 logout\r\n",
];

/// Command examples from RFC 3501 §6 (without literals; the APPEND one is built apart).
pub const RFC3501_SECTION6: &[&str] = &[
    "abcd CAPABILITY\r\n",
    "a002 NOOP\r\n",
    "A023 LOGOUT\r\n",
    "a001 STARTTLS\r\n",
    "A001 AUTHENTICATE GSSAPI\r\n",
    "a001 LOGIN SMITH SESAME\r\n",
    "A142 SELECT INBOX\r\n",
    "A932 EXAMINE blurdybloop\r\n",
    "A003 CREATE owatagusiam/\r\n",
    "A004 CREATE owatagusiam/blurdybloop\r\n",
    "A682 LIST \"\" *\r\n",
    "A683 DELETE blurdybloop\r\n",
    "A684 RENAME blurdybloop sarasoop\r\n",
    "A685 RENAME foo zowie\r\n",
    "A002 SUBSCRIBE #news.comp.mail.mime\r\n",
    "A002 UNSUBSCRIBE #news.comp.mail.mime\r\n",
    "A101 LIST \"\" \"\"\r\n",
    "A102 LIST #news.comp.mail.misc \"\"\r\n",
    "A103 LIST /usr/staff/jones \"\"\r\n",
    "A202 LIST ~/Mail/ %\r\n",
    "A002 LSUB \"#news.\" \"comp.mail.*\"\r\n",
    "A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
    "FXXZ CHECK\r\n",
    "A341 CLOSE\r\n",
    "A202 EXPUNGE\r\n",
    "A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    "A283 SEARCH TEXT \"string not in mailbox\"\r\n",
    "A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n",
    "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
    "A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
    "A003 COPY 2:4 MEETING\r\n",
    "A999 UID FETCH 4827313:4828442 FLAGS\r\n",
];

/// The commands Thunderbird sent in the seed transcripts (shared/seed), client lines only.
pub const THUNDERBIRD_SEED: &[&str] = &[
    "41 authenticate PLAIN\r\n",
    "42 ID (\"name\" \"Thunderbird\" \"version\" \"139.0.2\")\r\n",
    "43 select \"INBOX\"\r\n",
    "44 UID fetch 1:* (FLAGS)\r\n",
    "45 IDLE\r\n",
    "46 noop\r\n",
    "47 UID fetch 2:* (FLAGS)\r\n",
    "54 UID fetch 2 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
    "55 UID fetch 2 (UID RFC822.SIZE BODY.PEEK[])\r\n",
    "56 UID fetch 2 (UID BODY.PEEK[HEADER.FIELDS (Content-Type Content-Transfer-Encoding)] BODY.PEEK[TEXT]<0.2048>)\r\n",
    "59 UID fetch 3:* (FLAGS)\r\n",
    "60 uid store 2 +Flags (\\Seen)\r\n",
    "3 capability\r\n",
    "4 ID (\"name\" \"Thunderbird\" \"version\" \"139.0.2\")\r\n",
    "5 select \"INBOX\"\r\n",
    "9 uid move 6 \"Trash\"\r\n",
    "87 select \"Trash\"\r\n",
    "91 authenticate LOGIN\r\n",
    "97 logout\r\n",
];

/// Commands for the extensions: one or more per form.
pub const EXTENSIONS: &[&str] = &[
    "e1 ENABLE CONDSTORE\r\n",
    "e2 UNSELECT\r\n",
    "e3 UID EXPUNGE 3000:3002,4\r\n",
    "e4 MOVE 1:3 Archive\r\n",
    "e5 NAMESPACE\r\n",
    "e6 IDLE\r\n",
    "e7 ID NIL\r\n",
    "e8 CREATE Trash (USE (\\Trash))\r\n",
    "e9 LIST (SPECIAL-USE) \"\" *\r\n",
    "e10 LIST \"\" \"%\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n",
    "e11 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"INBOX\" \"Sent*\") RETURN (CHILDREN)\r\n",
    "e12 SELECT INBOX (CONDSTORE)\r\n",
    "e13 FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
    "e14 STORE 1 (UNCHANGEDSINCE 12) +FLAGS.SILENT (\\Seen)\r\n",
    "e15 SEARCH RETURN (MIN MAX COUNT) MODSEQ 5\r\n",
    "e16 UID SEARCH RETURN (SAVE) SINCE 1-Jan-2024\r\n",
    "e17 FETCH $ (UID)\r\n",
    "e18 AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=\r\n",
    "e19 AUTHENTICATE PLAIN =\r\n",
    "e20 FETCH 1 (BINARY[1]<0.100> BINARY.PEEK[2.1] BINARY.SIZE[1])\r\n",
    "e21 APPEND INBOX {11+}\r\nHello world\r\n",
    "e22 APPEND Drafts (\\Draft) \" 7-Jul-1996 02:44:25 -0700\" ~{3+}\r\na\0b\r\n",
    "e23 LOGIN {3}\r\nbob {6+}\r\nsecret\r\n",
    "e24 STATUS Entw&APw-rfe (HIGHESTMODSEQ SIZE DELETED)\r\n",
    "e25 SEARCH OR (UNSEEN FLAGGED) NOT (DELETED OR SMALLER 10 LARGER 20) UID 1:*\r\n",
    "e26 UID SEARCH HEADER Message-ID \"<x@y>\" KEYWORD $Junk UNKEYWORD $NotJunk\r\n",
    "e27 FETCH 1 (BODY[1.2.MIME] BODY[1.HEADER.FIELDS.NOT (X-Spam)] BODY[2.TEXT]<10>)\r\n",
    "e28 EXAMINE \"a b\" (CONDSTORE)\r\n",
    "e29 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
];

/// Every valid command above, as bytes, plus the RFC 3501 APPEND example.
pub fn valid_corpus() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = RFC3501_SECTION8
        .iter()
        .chain(RFC3501_SECTION6)
        .chain(THUNDERBIRD_SEED)
        .chain(EXTENSIONS)
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let mut append = b"A003 APPEND saved-messages (\\Seen) {310}\r\n".to_vec();
    append.extend_from_slice(&rfc3501_append_message());
    append.extend_from_slice(b"\r\n");
    v.push(append);
    v
}

/// Commands every decoder must refuse (the stream stays in sync after each).
pub const INVALID: &[&str] = &[
    "x1 FROBNICATE\r\n",
    "x2 FETCH 1 (FAST)\r\n",
    "x3 FETCH 1 BODY[MIME]\r\n",
    "x4 SELECT\r\n",
    "x5 NOOP extra\r\n",
    "x6 STORE 1 FLAGS.LOUD (\\Seen)\r\n",
    "x7 SEARCH FOO\r\n",
    "x8 LOGIN \"unterminated\r\n",
    "x9 FETCH 0 FLAGS\r\n",
    "x10 COPY 1\r\n",
    "+ NOOP\r\n",
    "\r\n",
    "x11 FROB {5+}\r\ny NOO\r\n",
    "x12 SELECT \"Entw\u{fc}rfe\"\r\n",
    "x13 SEARCH BEFORE 30-Feb-2020\r\n",
    "x14 FETCH 1 (FLAGS\r\n",
];
