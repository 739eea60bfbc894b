//! The client side of the grammar: prints a [`Command`] as a client would send it, choosing
//! atom, quoted string or literal by content.

use tidings_engine::codec::encode_mailbox;
use tidings_engine::command::*;
use tidings_engine::types::{Date, Flag, SeqBound, SequenceSet, MONTHS};

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
        K::Bcc(s) | K::Body(s) | K::Cc(s) | K::From(s) | K::Subject(s) | K::Text(s) | K::To(s) => {
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
        C::Delete { mailbox: m } | C::Subscribe { mailbox: m } | C::Unsubscribe { mailbox: m } => {
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
