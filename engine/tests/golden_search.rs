//! SEARCH evaluation against Dovecot 2.3.19's recorded answers (`search.jsonl` in the shared
//! golden corpus): every OK SEARCH record must give the same UIDs as Dovecot.
//!
//! The command parser is written elsewhere, so a small test-only parser below turns the
//! recorded command text into a `SearchKey` for the subset the corpus uses. Of the 73 SEARCH
//! records, covered: all 71 OK ones except `CHARSET ISO-8859-1` (70; see
//! `deliberate_differences`); the NO
//! (`CHARSET x-unknown`) and BAD (`FOOBAR`) records are the session's and parser's job and
//! are only checked as far as `charset_supported` goes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use base64::Engine as _;
use tidings_engine::command::SearchKey;
use tidings_engine::search::{
    charset_supported, header_field_names, matches, needs_content, searchable_fields, MessageView,
};
use tidings_engine::types::{Date, DateTime, Flag, SeqBound, SequenceSet};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/golden")
}

/// The mailbox as Dovecot had it: message NNN has UID NNN and sequence number NNN.
struct Mailbox {
    names: Vec<String>,
    raws: Vec<Vec<u8>>,
    flags: BTreeMap<u32, Vec<Flag>>,
}

/// Stored bytes: bare LF becomes CRLF (Dovecot's choice, which `050-bare-lf` shows).
fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

fn load_mailbox() -> Mailbox {
    let dir = golden_dir().join("messages");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("golden messages directory")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    let raws = names
        .iter()
        .map(|n| to_crlf(&std::fs::read(dir.join(n)).expect("read message")))
        .collect();
    let flags = (1..=names.len() as u32)
        .map(|uid| (uid, Vec::new()))
        .collect();
    Mailbox { names, raws, flags }
}

fn view<'a>(mb: &'a Mailbox, uid: u32) -> MessageView<'a> {
    let i = uid as usize - 1;
    MessageView {
        seq: uid,
        uid,
        flags: &mb.flags[&uid],
        recent: true,
        size: mb.raws[i].len() as u64,
        internal_date: DateTime {
            date: Date {
                year: 2024,
                month: 1,
                day: 1,
            },
            hour: 12,
            minute: 0,
            second: 0,
            zone_minutes: 0,
        },
        raw: &mb.raws[i],
        fields: None,
        max_seq: mb.names.len() as u32,
        max_uid: mb.names.len() as u32,
    }
}

// ---- a tiny tokenizer and SEARCH-key parser for the commands in search.jsonl ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Atom(String),
    Str(String),
    Open,
    Close,
}

fn tokenize(s: &str) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' => i += 1,
            b'(' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' => {
                out.push(Tok::Close);
                i += 1;
            }
            b'"' => {
                let mut v = Vec::new();
                i += 1;
                while b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    v.push(b[i]);
                    i += 1;
                }
                i += 1;
                out.push(Tok::Str(String::from_utf8(v).expect("utf-8 quoted")));
            }
            b'{' => {
                let close = i + s[i..].find('}').expect("literal close");
                let n: usize = s[i + 1..close].parse().expect("literal length");
                let start = close + 3; // `}` CR LF
                out.push(Tok::Str(
                    String::from_utf8(b[start..start + n].to_vec()).expect("utf-8 literal"),
                ));
                i = start + n;
            }
            _ => {
                let start = i;
                while i < b.len() && !b" ()".contains(&b[i]) {
                    i += 1;
                }
                out.push(Tok::Atom(s[start..i].to_string()));
            }
        }
    }
    out
}

fn seq_set(s: &str) -> SequenceSet {
    let bound = |x: &str| {
        if x == "*" {
            SeqBound::Star
        } else {
            SeqBound::Value(x.parse().expect("number"))
        }
    };
    SequenceSet::Ranges(
        s.split(',')
            .map(|r| match r.split_once(':') {
                Some((a, b)) => (bound(a), bound(b)),
                None => (bound(r), bound(r)),
            })
            .collect(),
    )
}

fn date(s: &str) -> Date {
    let mut it = s.split('-');
    let day = it.next().expect("day").parse().expect("day number");
    let mon = it.next().expect("month");
    let month = tidings_engine::types::MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(mon))
        .expect("month name") as u8
        + 1;
    let year = it.next().expect("year").parse().expect("year number");
    Date { year, month, day }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Tok {
        self.pos += 1;
        self.toks[self.pos - 1].clone()
    }
    fn string(&mut self) -> String {
        match self.next() {
            Tok::Atom(a) | Tok::Str(a) => a,
            t => panic!("expected a string, got {t:?}"),
        }
    }
    fn key(&mut self) -> SearchKey {
        use SearchKey as K;
        let atom = match self.next() {
            Tok::Open => {
                let mut keys = Vec::new();
                while self.toks[self.pos] != Tok::Close {
                    keys.push(self.key());
                }
                self.pos += 1;
                return K::And(keys);
            }
            Tok::Atom(a) => a,
            t => panic!("unexpected {t:?}"),
        };
        match atom.to_ascii_uppercase().as_str() {
            "ALL" => K::All,
            "ANSWERED" => K::Answered,
            "FLAGGED" => K::Flagged,
            "SEEN" => K::Seen,
            "UNSEEN" => K::Unseen,
            "RECENT" => K::Recent,
            "NEW" => K::New,
            "SUBJECT" => K::Subject(self.string()),
            "FROM" => K::From(self.string()),
            "TO" => K::To(self.string()),
            "CC" => K::Cc(self.string()),
            "BCC" => K::Bcc(self.string()),
            "BODY" => K::Body(self.string()),
            "TEXT" => K::Text(self.string()),
            "HEADER" => {
                let name = self.string();
                K::Header(name, self.string())
            }
            "KEYWORD" => K::Keyword(self.string()),
            "UNKEYWORD" => K::Unkeyword(self.string()),
            "LARGER" => K::Larger(self.string().parse().expect("number")),
            "SMALLER" => K::Smaller(self.string().parse().expect("number")),
            "BEFORE" => K::Before(date(&self.string())),
            "ON" => K::On(date(&self.string())),
            "SINCE" => K::Since(date(&self.string())),
            "SENTBEFORE" => K::SentBefore(date(&self.string())),
            "SENTON" => K::SentOn(date(&self.string())),
            "SENTSINCE" => K::SentSince(date(&self.string())),
            "NOT" => K::Not(Box::new(self.key())),
            "OR" => {
                let a = self.key();
                K::Or(Box::new(a), Box::new(self.key()))
            }
            "UID" => K::Uid(seq_set(&self.string())),
            _ if atom.starts_with(|c: char| c.is_ascii_digit() || c == '*') => {
                K::SequenceSet(seq_set(&atom))
            }
            other => panic!("search key not in the test parser: {other}"),
        }
    }
}

/// `[UID] SEARCH [CHARSET x] keys...` → (uid form, charset, criteria).
fn parse_search(sent: &str) -> (bool, Option<String>, SearchKey) {
    let mut p = Parser {
        toks: tokenize(sent),
        pos: 0,
    };
    let mut uid = false;
    let mut word = p.string();
    if word.eq_ignore_ascii_case("UID") {
        uid = true;
        word = p.string();
    }
    assert!(word.eq_ignore_ascii_case("SEARCH"), "{sent}");
    let mut charset = None;
    if matches!(&p.toks[p.pos], Tok::Atom(a) if a.eq_ignore_ascii_case("CHARSET")) {
        p.pos += 1;
        charset = Some(p.string());
    }
    let mut keys = Vec::new();
    while p.pos < p.toks.len() {
        keys.push(p.key());
    }
    let key = if keys.len() == 1 {
        keys.pop().expect("one key")
    } else {
        SearchKey::And(keys)
    };
    (uid, charset, key)
}

/// `UID STORE set +FLAGS (...)` / `-FLAGS (...)` applied to the flag table.
fn apply_store(mb: &mut Mailbox, sent: &str) {
    let toks = tokenize(sent);
    let [Tok::Atom(u), Tok::Atom(store), Tok::Atom(set), Tok::Atom(op), Tok::Open, rest @ ..] =
        toks.as_slice()
    else {
        panic!("unexpected setup command {sent}");
    };
    assert!(u == "UID" && store == "STORE", "{sent}");
    let set = seq_set(set);
    let flags: Vec<Flag> = rest
        .iter()
        .filter_map(|t| match t {
            Tok::Atom(a) => Some(Flag::from_atom(a)),
            _ => None,
        })
        .collect();
    let max = mb.names.len() as u32;
    for (uid, have) in mb.flags.iter_mut() {
        if !set.contains(*uid, max) {
            continue;
        }
        for f in &flags {
            match op.as_str() {
                "+FLAGS" if !have.contains(f) => have.push(f.clone()),
                "-FLAGS" => have.retain(|h| h != f),
                _ => {}
            }
        }
    }
}

/// The numbers of the `* SEARCH` line in the untagged responses.
fn recorded_numbers(response: &[u8]) -> BTreeSet<u32> {
    let text = String::from_utf8_lossy(response);
    let line = text
        .split("\r\n")
        .find(|l| l.starts_with("* SEARCH"))
        .expect("a * SEARCH response");
    line["* SEARCH".len()..]
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect()
}

fn records() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(golden_dir().join("search.jsonl")).expect("search.jsonl");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json record"))
        .collect()
}

fn search(mb: &Mailbox, key: &SearchKey) -> BTreeSet<u32> {
    let content = needs_content(key);
    let names = header_field_names(key);
    (1..=mb.names.len() as u32)
        .filter(|&uid| {
            let mut v = view(mb, uid);
            if !content {
                v.raw = b""; // as a caller that skips loading the bytes would
            }
            let hit = matches(key, &v);
            if let Some(names) = &names {
                // The session's path for header-only keys: the store hands over just the
                // named fields, decoded and folded, and no bytes. It must agree.
                let fields = searchable_fields(v.raw, names);
                v.fields = Some(&fields);
                v.raw = b"";
                assert_eq!(
                    matches(key, &v),
                    hit,
                    "fields path differs: {key:?} on {uid}"
                );
            }
            hit
        })
        .collect()
}

#[test]
fn dovecot_search_records() {
    let mut mb = load_mailbox();
    assert_eq!(mb.names.len(), 81);
    let b64 = base64::engine::general_purpose::STANDARD;
    let (mut passed, mut failed, mut skipped) = (0, Vec::new(), Vec::new());
    for rec in records() {
        let sent = rec["sent"].as_str().expect("sent");
        let status = rec["status"].as_str().expect("status");
        if rec["label"] == "setup" {
            if sent.contains("STORE") {
                apply_store(&mut mb, sent);
            }
            continue;
        }
        if status != "OK" {
            // NO [BADCHARSET] and BAD (unknown key) are decided by the session and parser.
            if sent.contains("CHARSET x-unknown") {
                assert!(!charset_supported("x-unknown"));
            }
            skipped.push(format!("{status}: {sent}"));
            continue;
        }
        if sent.contains("CHARSET ISO-8859-1") {
            // Not UTF-8: see `deliberate_differences`. (The JSON also writes its byte 0xF6
            // as the text `\xf6`, so the literal cannot be replayed byte for byte.)
            assert!(!charset_supported("ISO-8859-1"));
            skipped.push(format!("on purpose: {sent:?}"));
            continue;
        }
        let (uid, charset, key) = parse_search(sent);
        if let Some(cs) = &charset {
            assert!(charset_supported(cs), "{sent}");
        }
        let response = b64
            .decode(rec["response_b64"].as_str().expect("response"))
            .expect("base64");
        let expected = recorded_numbers(&response);
        let got = search(&mb, &key);
        let mut ok = got == expected;
        if uid {
            // The `matches` file names name the same messages.
            let names: BTreeSet<String> = rec["matches"]
                .as_array()
                .expect("matches")
                .iter()
                .map(|v| v.as_str().expect("name").to_string())
                .collect();
            let ours: BTreeSet<String> = got
                .iter()
                .map(|&u| mb.names[u as usize - 1].clone())
                .collect();
            ok &= names == ours;
        }
        if ok {
            passed += 1;
        } else {
            failed.push(format!(
                "{sent:?} ({}): dovecot {expected:?}, ours {got:?}",
                rec["label"]
            ));
        }
    }
    eprintln!("golden SEARCH: {passed} passed; skipped: {skipped:#?}");
    assert!(
        failed.is_empty(),
        "{} differ:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(passed, 70, "every OK SEARCH record but the ISO-8859-1 one");
    assert_eq!(skipped.len(), 3);
}

/// Where we answer differently from Dovecot on purpose.
#[test]
fn deliberate_differences() {
    // `CHARSET ISO-8859-1`: Dovecot converts the term; we support only UTF-8 and US-ASCII
    // (the brief's choice; RFC 9051 requires only UTF-8), so the session answers
    // `NO [BADCHARSET (UTF-8 US-ASCII)]` where Dovecot answered `* SEARCH 2 3 6 11 79`.
    assert!(!charset_supported("ISO-8859-1"));
    // The evaluator itself is not the difference: with the term converted to UTF-8 it
    // finds what Dovecot found.
    let mb = load_mailbox();
    let term: String = b"K\xf6ln".iter().map(|&b| char::from(b)).collect();
    let found = search(&mb, &SearchKey::Body(term));
    assert_eq!(found, BTreeSet::from([2, 3, 6, 11, 79]));
}
