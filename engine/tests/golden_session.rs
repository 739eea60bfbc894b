//! The golden corpus (`shared/testdata/golden`, Dovecot 2.3.19's answers for 81 tricky
//! messages) driven end to end through a real [`Session`]: raw command bytes in, raw response
//! bytes out, exactly as a client sees them.
//!
//! The session is the capture's: LOGIN, CREATE GOLDEN, APPEND every message (synchronizing
//! literals, `~{n}` for the NUL message), SELECT (so every message is `\Recent`), every FETCH
//! record, the setup STOREs, every SEARCH record. The four FETCHes that made Dovecot hang up
//! run afterwards on fresh connections (LOGIN, EXAMINE GOLDEN, the FETCH), as in the capture.
//!
//! How answers are compared (README of the corpus: "RFC" must match, "Choice" may differ):
//! - the tagged status (OK/NO/BAD) and the name of its response code always match;
//! - untagged bytes equal to Dovecot's pass as they are (`byte-exact`);
//! - otherwise both sides are tokenized and compared response by response (`structural`):
//!   FETCH item order is free (Choice), item names are compared case-insensitively (the
//!   HEADER.FIELDS list), ENVELOPE/BODYSTRUCTURE/BODY and BINARY values may differ only in
//!   string form (quoted vs literal vs literal8 is a Choice: same token trees, and the same
//!   bytes outside the strings, see `skeleton`), FLAGS lists are compared as sets; every
//!   other item (UID, RFC822.SIZE, INTERNALDATE, BODY[...] contents, BINARY.SIZE) must be
//!   byte-exact; status responses compare status and code, not their human text.
//! - Our quoted strings must be 7-bit (`quoted_strings_are_7bit`).
//!
//! Where Dovecot has a bug (README "Bug"), or where we differ on purpose, the test asserts our
//! own answer instead and says why: see `KNOWN`, `STRICT_BAD`, `check_bye_record` and the
//! SEARCH section. `GOLDEN_VERBOSE=1` prints every item that matched only structurally.
//!
//! [`Session`]: tidings_engine::session::Session

mod golden_support;
mod support;

use std::collections::BTreeMap;

use base64::Engine as _;
use golden_support::{golden_dir, parse_responses, show, FetchItem, Response, Tok};
use support::store_with;
use tidings_engine::harness::Harness;
use tidings_engine::store::MemoryStore;

const USER: &str = "alice";
const PASS: &str = "pass";
const INTERNALDATE: &str = "01-Jan-2024 12:00:00 +0000";

/// A connection on the bench with its own tag counter.
struct Conn {
    id: usize,
    prefix: &'static str,
    next: u32,
}

/// What one command got back.
struct Answer {
    /// Every untagged byte, in order.
    untagged: Vec<u8>,
    /// The tagged reply: status and response code.
    status: String,
    code: Option<String>,
    /// The tagged line, for messages.
    tagged_line: String,
}

struct Bench {
    h: Harness<MemoryStore>,
}

impl Bench {
    fn connect(&mut self, prefix: &'static str) -> Conn {
        let (id, greeting) = self.h.connect();
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        Conn {
            id,
            prefix,
            next: 1,
        }
    }

    /// Sends `body` (one command, without tag and final CRLF; it may contain synchronizing
    /// literals `{n}\r\n` / `~{n}\r\n`, each of which must be answered with a `+`).
    fn command(&mut self, c: &mut Conn, body: &[u8]) -> Result<Answer, String> {
        let tag = format!("{}{:04}", c.prefix, c.next);
        c.next += 1;
        let mut pieces = split_sync_literals(body);
        pieces[0].splice(0..0, format!("{tag} ").into_bytes());
        if let Some(last) = pieces.last_mut() {
            last.extend_from_slice(b"\r\n");
        }
        let n = pieces.len();
        let mut out = Vec::new();
        for (k, piece) in pieces.into_iter().enumerate() {
            out = self.h.send_raw(c.id, piece);
            if k + 1 < n {
                let ok = matches!(
                    parse_responses(&out).as_deref(),
                    Ok([Response::Continuation(_)])
                );
                if !ok {
                    return Err(format!(
                        "expected a `+` continuation, got {}",
                        shorten(&out)
                    ));
                }
            }
        }
        let start = if out.starts_with(format!("{tag} ").as_bytes()) {
            0
        } else {
            let needle = format!("\r\n{tag} ").into_bytes();
            out.windows(needle.len())
                .rposition(|w| w == needle)
                .map(|p| p + 2)
                .ok_or_else(|| format!("no tagged reply: {}", shorten(&out)))?
        };
        let tagged = parse_responses(&out[start..])?;
        let [Response::Status { status, code, .. }] = tagged.as_slice() else {
            return Err(format!("bad tagged reply: {}", shorten(&out[start..])));
        };
        Ok(Answer {
            untagged: out[..start].to_vec(),
            status: status.clone(),
            code: code.clone(),
            tagged_line: String::from_utf8_lossy(&out[start..])
                .trim_end()
                .to_string(),
        })
    }

    /// A command that must succeed.
    fn ok(&mut self, c: &mut Conn, body: &str) -> Answer {
        let a = self.command(c, body.as_bytes()).unwrap();
        assert_eq!(a.status, "OK", "{body}: {}", a.tagged_line);
        a
    }
}

/// Splits a command at its synchronizing literals: every piece but the last ends with the
/// `{n}\r\n` announcement; the next piece starts with the literal's n bytes.
fn split_sync_literals(body: &[u8]) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < body.len() {
        if body[i] == b'{' {
            let digits = body[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let close = i + 1 + digits;
            if digits > 0 && body[close..].starts_with(b"}\r\n") {
                let n: usize = std::str::from_utf8(&body[i + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                pieces.push(body[start..close + 3].to_vec());
                start = close + 3;
                i = start + n;
                continue;
            }
        }
        i += 1;
    }
    pieces.push(body[start..].to_vec());
    pieces
}

fn shorten(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.len() > 600 {
        let cut = (0..=600).rev().find(|&k| s.is_char_boundary(k)).unwrap();
        format!("{:?}... ({} bytes)", &s[..cut], b.len())
    } else {
        format!("{s:?}")
    }
}

fn records(file: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(golden_dir().join(file)).expect("golden file");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json record"))
        .collect()
}

fn b64(rec: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(rec["response_b64"].as_str().expect("response_b64"))
        .expect("base64")
}

/// The status and code name of a recorded tagged line (`g0086 OK Fetch completed`).
fn recorded_status(rec: &serde_json::Value) -> (String, Option<String>) {
    let status = rec["status"].as_str().expect("status").to_string();
    let code = rec["tagged"].as_str().and_then(|t| {
        let line = format!("{t}\r\n");
        match parse_responses(line.as_bytes()).ok()?.as_slice() {
            [Response::Status { code, .. }] => code.clone(),
            _ => None,
        }
    });
    (status, code)
}

/// A response code's name: `BADCHARSET (UTF-8 US-ASCII)` → `BADCHARSET`.
fn code_name(code: &Option<String>) -> Option<String> {
    code.as_ref()
        .map(|c| c.split(' ').next().unwrap_or("").to_ascii_uppercase())
}

fn check_status(a: &Answer, status: &str, code: &Option<String>) -> Result<(), String> {
    if a.status != status || code_name(&a.code) != code_name(code) {
        return Err(format!(
            "tagged: expected {status}{}, got `{}`",
            code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default(),
            a.tagged_line
        ));
    }
    Ok(())
}

// ---- structural comparison ----------------------------------------------------------------

/// Why a record that is not byte-exact still matches (for the summary).
type Reasons = Vec<String>;

/// A FLAGS list as a set (order carries no meaning; flag names are case-insensitive).
fn flag_set(t: &Tok) -> Option<Vec<String>> {
    let Tok::List(items) = t else { return None };
    let mut v: Vec<String> = items
        .iter()
        .map(|i| match i {
            Tok::Atom(a) => a.to_ascii_uppercase(),
            other => show(other),
        })
        .collect();
    v.sort();
    Some(v)
}

/// A response code with any flag list in it taken as a set.
fn normalize_code(code: &Option<String>) -> Option<String> {
    let c = code.as_ref()?;
    let Some((name, rest)) = c.split_once(' ') else {
        return Some(c.to_ascii_uppercase());
    };
    let rest = rest.trim();
    if name.eq_ignore_ascii_case("PERMANENTFLAGS") {
        let mut flags: Vec<String> = rest
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split(' ')
            .map(str::to_ascii_uppercase)
            .collect();
        flags.sort();
        return Some(format!("PERMANENTFLAGS ({})", flags.join(" ")));
    }
    Some(format!("{} {rest}", name.to_ascii_uppercase()))
}

/// A value's bytes with every string (quoted, literal or literal8) replaced by `S`: what
/// must stay byte-exact when only the string form is free.
fn skeleton(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let lit = if raw[i] == b'~' { i + 1 } else { i };
        if raw.get(lit) == Some(&b'{') {
            let digits = raw[lit + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let close = lit + 1 + digits;
            if digits > 0 && raw[close..].starts_with(b"}\r\n") {
                let n: usize = std::str::from_utf8(&raw[lit + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                out.push(b'S');
                i = close + 3 + n;
                continue;
            }
        }
        if raw[i] == b'"' {
            i += 1;
            while i < raw.len() && raw[i] != b'"' {
                i += if raw[i] == b'\\' { 2 } else { 1 };
            }
            out.push(b'S');
            i += 1;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

fn compare_items(
    ours: &[FetchItem],
    theirs: &[FetchItem],
    why: &mut Reasons,
) -> Result<(), String> {
    let names = |v: &[FetchItem]| -> Vec<String> {
        v.iter().map(|i| i.name.to_ascii_uppercase()).collect()
    };
    let (on, tn) = (names(ours), names(theirs));
    let (mut os, mut ts) = (on.clone(), tn.clone());
    os.sort();
    ts.sort();
    if os != ts {
        return Err(format!("items: expected {tn:?}, got {on:?}"));
    }
    if on != tn {
        why.push("item order".into());
    }
    for t in theirs {
        let key = t.name.to_ascii_uppercase();
        let o = ours
            .iter()
            .find(|o| o.name.to_ascii_uppercase() == key)
            .expect("same names");
        if o.name != t.name {
            why.push("item name case".into());
        }
        if o.raw == t.raw {
            continue;
        }
        let structured = matches!(key.as_str(), "ENVELOPE" | "BODYSTRUCTURE" | "BODY")
            || (key.starts_with("BINARY[") && !key.starts_with("BINARY.SIZE"));
        let same = if key == "FLAGS" {
            flag_set(&o.value) == flag_set(&t.value)
        } else {
            // Same strings, and the same bytes around them (spacing, parentheses, NIL).
            structured && o.value == t.value && skeleton(&o.raw) == skeleton(&t.raw)
        };
        if !same {
            return Err(format!(
                "{}:\n      expected {}\n      got      {}",
                t.name,
                shorten(&t.raw),
                shorten(&o.raw)
            ));
        }
        if std::env::var_os("GOLDEN_VERBOSE").is_some() {
            eprintln!(
                "structural {}:\n  expected {}\n  got      {}",
                t.name,
                shorten(&t.raw),
                shorten(&o.raw)
            );
        }
        let what = if key == "FLAGS" {
            "FLAGS order".to_string()
        } else if key.starts_with("BINARY[") {
            "BINARY literal vs literal8".to_string()
        } else {
            format!("{key} string form")
        };
        why.push(what);
    }
    Ok(())
}

fn compare_response(ours: &Response, theirs: &Response, why: &mut Reasons) -> Result<(), String> {
    match (ours, theirs) {
        (Response::Fetch { seq: os, items: oi }, Response::Fetch { seq: ts, items: ti }) => {
            if os != ts {
                return Err(format!("FETCH number: expected {ts}, got {os}"));
            }
            compare_items(oi, ti, why)
        }
        (
            Response::Status {
                tag: ot,
                status: os,
                code: oc,
                ..
            },
            Response::Status {
                tag: tt,
                status: ts,
                code: tc,
                ..
            },
        ) => {
            if ot != tt || os != ts || normalize_code(oc) != normalize_code(tc) {
                return Err(format!("status: expected {ts} [{tc:?}], got {os} [{oc:?}]"));
            }
            why.push("status text".into());
            Ok(())
        }
        (Response::Data(o), Response::Data(t)) => {
            let is_flags =
                matches!(t.first(), Some(Tok::Atom(a)) if a.eq_ignore_ascii_case("FLAGS"));
            let same = if is_flags && o.len() == 2 && t.len() == 2 {
                o[0] == t[0] && flag_set(&o[1]) == flag_set(&t[1])
            } else {
                o == t
            };
            if !same {
                let s = |v: &[Tok]| v.iter().map(show).collect::<Vec<_>>().join(" ");
                return Err(format!("expected * {}, got * {}", s(t), s(o)));
            }
            why.push("untagged data form".into());
            Ok(())
        }
        _ => Err(format!("expected {theirs:?}, got {ours:?}")),
    }
}

/// Compares untagged output. Ok(None): byte-exact; Ok(Some(reasons)): structurally equal.
fn compare_untagged(ours: &[u8], theirs: &[u8]) -> Result<Option<Reasons>, String> {
    if ours == theirs {
        return Ok(None);
    }
    let o = parse_responses(ours).map_err(|e| format!("our output: {e}: {}", shorten(ours)))?;
    let t = parse_responses(theirs).map_err(|e| format!("recorded: {e}"))?;
    if o.len() != t.len() {
        return Err(format!(
            "{} untagged responses expected, got {}:\n      expected {}\n      got      {}",
            t.len(),
            o.len(),
            shorten(theirs),
            shorten(ours)
        ));
    }
    let mut why = Vec::new();
    for (a, b) in o.iter().zip(&t) {
        compare_response(a, b, &mut why)?;
    }
    why.sort();
    why.dedup();
    Ok(Some(why))
}

// ---- setup --------------------------------------------------------------------------------

fn message_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(golden_dir().join("messages"))
        .expect("golden messages")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
}

/// LOGIN, CREATE GOLDEN, APPEND all messages (checking APPENDUID), SELECT GOLDEN.
fn setup(b: &mut Bench) -> Conn {
    let mut c = b.connect("t");
    b.ok(&mut c, &format!("LOGIN {USER} {PASS}"));
    b.ok(&mut c, "CREATE GOLDEN");
    let names = message_names();
    assert_eq!(names.len(), 81);
    for name in &names {
        let bytes = std::fs::read(golden_dir().join("messages").join(name)).expect("message");
        let literal = if name == "051-nul-byte.eml" { "~" } else { "" };
        let mut cmd = format!(
            "APPEND GOLDEN () \"{INTERNALDATE}\" {literal}{{{}}}\r\n",
            bytes.len()
        )
        .into_bytes();
        cmd.extend_from_slice(&bytes);
        let a = b
            .command(&mut c, &cmd)
            .unwrap_or_else(|e| panic!("APPEND {name}: {e}"));
        assert_eq!(a.status, "OK", "APPEND {name}: {}", a.tagged_line);
        let number: u32 = name[..3].parse().expect("NNN-");
        let code = a.code.clone().unwrap_or_default();
        let words: Vec<&str> = code.split(' ').collect();
        assert!(
            words.len() == 3 && words[0] == "APPENDUID" && words[2] == number.to_string(),
            "APPEND {name}: UID {number} expected, got [{code}]"
        );
    }
    let sel = b.ok(&mut c, "SELECT GOLDEN");
    let text = String::from_utf8_lossy(&sel.untagged);
    assert!(text.contains("* 81 EXISTS\r\n"), "SELECT: {text}");
    assert!(
        text.contains("* 81 RECENT\r\n"),
        "all messages \\Recent in this session, as in the capture: {text}"
    );
    c
}

// ---- records where we answer differently on purpose ------------------------------------

/// FETCH records where Dovecot has a bug (README "Bug", and two more `golden_fetch` found):
/// (message number, sent) → why. For these the test checks our own answer (`check_known`).
const KNOWN: &[(&str, &str)] = &[
    (
        "UID FETCH 74 (BINARY.PEEK[2])",
        "Dovecot bug: BINARY[2] of a base64 message/rfc822 part is sent undecoded; we decode it \
         (RFC 3516)",
    ),
    (
        "UID FETCH 74 (BINARY.SIZE[2])",
        "Dovecot bug: BINARY.SIZE[2] says 0 for the base64 message/rfc822 part; ours is the \
         decoded size",
    ),
    (
        "UID FETCH 15 (BINARY.SIZE[1])",
        "Dovecot bug: BINARY.SIZE of a multipart part is not the length of its own BINARY \
         answer; ours is (RFC 3516)",
    ),
    (
        "UID FETCH 70 (BINARY.SIZE[1])",
        "Dovecot bug: BINARY.SIZE of a multipart part is not the length of its own BINARY \
         answer; ours is (RFC 3516)",
    ),
];

/// FETCH records Dovecot answered leniently where the command is not valid IMAP: our codec
/// keeps to the grammar and answers `BAD` (its own tests assert these refusals), a choice the
/// README allows for the first two ("Choice": nonexistent section; "Choice (lenient)").
const STRICT_BAD: &[(&str, &str)] = &[
    (
        "UID FETCH 1 (BODY.PEEK[0])",
        "`section-part` is `nz-number *(\".\" nz-number)` (RFC 3501/9051): part 0 is a syntax \
         error, not a nonexistent part; Dovecot sends an empty literal",
    ),
    (
        "UID FETCH 1 (BINARY.PEEK[HEADER])",
        "`section-binary` takes part numbers only (RFC 3516); Dovecot returns the header",
    ),
    (
        "UID FETCH 1 (BINARY.PEEK[1.MIME])",
        "`section-binary` takes part numbers only (RFC 3516); Dovecot returns the MIME header",
    ),
    (
        "UID FETCH 1 (BODY.PEEK[TEXT]<0.0>)",
        "the partial length is an `nz-number` (RFC 3501/9051 `\"<\" number \".\" nz-number \
         \">\"`): `<0.0>` is a syntax error; Dovecot sends `{0}` (the README files this under \
         RFC, but the grammar has no zero length)",
    ),
    (
        "UID FETCH 52 (BODY.PEEK[2]<0.0>)",
        "the partial length is an `nz-number`, as above",
    ),
];

/// Our quoted strings are 7-bit without CR/LF (RFC 3501 `QUOTED-CHAR`: this session is
/// IMAP4rev1 and never enabled UTF8=ACCEPT); 8-bit text must go in literals.
fn quoted_strings_are_7bit(b: &[u8]) -> Result<(), String> {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                let close = i + 1 + digits;
                if digits > 0 && b[close..].starts_with(b"}\r\n") {
                    let n: usize = std::str::from_utf8(&b[i + 1..close])
                        .unwrap()
                        .parse()
                        .unwrap();
                    i = close + 3 + n;
                    continue;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    if b.get(i)
                        .is_some_and(|&c| c >= 0x80 || c == b'\r' || c == b'\n' || c == 0)
                    {
                        return Err(format!("8-bit or CR/LF in a quoted string at {i}"));
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The single FETCH of an answer and its item `name` (e.g. `BINARY[1]`).
fn fetched_item(untagged: &[u8], name: &str) -> Result<(u32, Tok), String> {
    let r = parse_responses(untagged)?;
    let [Response::Fetch { seq, items }] = r.as_slice() else {
        return Err(format!(
            "one FETCH response expected: {}",
            shorten(untagged)
        ));
    };
    let it = items
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| format!("no {name} in {}", shorten(untagged)))?;
    Ok((*seq, it.value.clone()))
}

/// Checks our answer to a KNOWN record. `binary` holds the BINARY answers seen so far by
/// (uid, section label), so a BINARY.SIZE can be checked against the BINARY it describes.
fn check_known(
    sent: &str,
    a: &Answer,
    binary: &BTreeMap<(u32, String), usize>,
) -> Result<(), String> {
    check_status(a, "OK", &None)?;
    let uid: u32 = sent.split(' ').nth(2).unwrap().parse().unwrap();
    if sent.contains("BINARY.PEEK[2]") {
        let (_, v) = fetched_item(&a.untagged, "BINARY[2]")?;
        let Tok::Str(data) = v else {
            return Err("BINARY[2] is not a string".into());
        };
        if !data.starts_with(b"From: \"Inner Sender\"") {
            return Err(format!("074 BINARY[2] not decoded: {}", shorten(&data)));
        }
        return Ok(());
    }
    let section = if sent.contains("[2]") { "2" } else { "1" };
    let (_, v) = fetched_item(&a.untagged, &format!("BINARY.SIZE[{section}]"))?;
    let want = binary
        .get(&(uid, section.to_string()))
        .ok_or("BINARY.SIZE before its BINARY")?;
    if v != Tok::Atom(want.to_string()) {
        return Err(format!(
            "BINARY.SIZE[{section}] {} is not the length of BINARY[{section}] ({want})",
            show(&v)
        ));
    }
    if uid == 74 && *want < 200 {
        return Err(format!("074 decoded size {want}"));
    }
    Ok(())
}

/// Remembers the length of every BINARY answer, by (uid, section), for the BINARY.SIZE checks.
fn note_binary(binary: &mut BTreeMap<(u32, String), usize>, uid: u32, untagged: &[u8]) {
    for r in parse_responses(untagged).unwrap_or_default() {
        let Response::Fetch { items, .. } = r else {
            continue;
        };
        for it in items {
            if let (Some(sec), Tok::Str(data)) = (it.name.strip_prefix("BINARY["), &it.value) {
                let sec = sec.split(']').next().unwrap_or_default().to_string();
                if !it.name.contains("]<") {
                    binary.insert((uid, sec), data.len());
                }
            }
        }
    }
}

/// A record Dovecot answered with BYE (055: QP ending in a soft break; 058: base64 without
/// its final padding). We must answer cleanly: decoded leniently, or NO; never BYE.
fn check_bye_record(
    sent: &str,
    a: &Answer,
    binary: &BTreeMap<(u32, String), usize>,
) -> Result<(), String> {
    if a.status != "OK" && a.status != "NO" {
        return Err(format!("expected OK or NO, got `{}`", a.tagged_line));
    }
    let r = parse_responses(&a.untagged)?;
    if r.iter()
        .any(|x| matches!(x, Response::Status { status, .. } if status == "BYE"))
    {
        return Err(format!("BYE sent: {}", shorten(&a.untagged)));
    }
    let uid: u32 = sent.split(' ').nth(2).unwrap().parse().unwrap();
    let binary_len = binary.get(&(uid, "1".to_string()));
    if sent.contains("BINARY.SIZE") {
        // Consistent with the BINARY[1] answer just before: same length, or NO for both.
        return match (binary_len, a.status.as_str()) {
            (None, "NO") => Ok(()),
            (Some(len), "OK") => {
                let (_, v) = fetched_item(&a.untagged, "BINARY.SIZE[1]")?;
                if v == Tok::Atom(len.to_string()) {
                    Ok(())
                } else {
                    Err(format!(
                        "BINARY.SIZE[1] {} but BINARY[1] had {len}",
                        show(&v)
                    ))
                }
            }
            _ => Err(format!(
                "BINARY.SIZE[1] answered `{}`, BINARY[1] had {binary_len:?}",
                a.tagged_line
            )),
        };
    }
    if a.status == "NO" {
        return Ok(());
    }
    let (_, v) = fetched_item(&a.untagged, "BINARY[1]")?;
    let Tok::Str(data) = v else {
        return Err("BINARY[1] is not a string".into());
    };
    let text = String::from_utf8_lossy(&data);
    let decoded = if uid == 55 {
        !data.is_empty() && !text.ends_with('=')
    } else {
        text.contains("world")
    };
    if !decoded {
        return Err(format!("not decoded: {text:?}"));
    }
    Ok(())
}

// ---- the test -----------------------------------------------------------------------------

struct Tally {
    pass: usize,
    total: usize,
    exact: usize,
    structural: BTreeMap<String, usize>,
    deliberate: Vec<String>,
    failures: Vec<String>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            pass: 0,
            total: 0,
            exact: 0,
            structural: BTreeMap::new(),
            deliberate: Vec::new(),
            failures: Vec::new(),
        }
    }

    fn record(&mut self, what: String, r: Result<Option<Reasons>, String>) {
        self.total += 1;
        match r {
            Ok(None) => {
                self.pass += 1;
                self.exact += 1;
            }
            Ok(Some(why)) => {
                self.pass += 1;
                for w in why {
                    *self.structural.entry(w).or_default() += 1;
                }
            }
            Err(e) => self.failures.push(format!("{what}\n    {e}")),
        }
    }
}

fn check_fetch_record(rec: &serde_json::Value, a: &Answer) -> Result<Option<Reasons>, String> {
    let (status, code) = recorded_status(rec);
    check_status(a, &status, &code)?;
    compare_untagged(&a.untagged, &b64(rec))
}

#[test]
fn golden_corpus_through_the_session() {
    let mut b = Bench {
        h: Harness::new(store_with(&[(USER, PASS)])),
    };
    let mut main = setup(&mut b);

    // ---- FETCH ----
    let mut fetch = Tally::new();
    let mut deferred = Vec::new();
    let mut binary: BTreeMap<(u32, String), usize> = BTreeMap::new();
    let fetch_records = records("dovecot-2.3.19.jsonl");
    for (n, rec) in fetch_records.iter().enumerate() {
        if rec["fresh_session"].as_bool() == Some(true) {
            deferred.push((n, rec));
            continue;
        }
        let sent = rec["sent"].as_str().expect("sent");
        let what = format!("FETCH record {n} `{sent}`");
        let a = match b.command(&mut main, sent.as_bytes()) {
            Ok(a) => a,
            Err(e) => {
                fetch.record(what, Err(e));
                continue;
            }
        };
        let uid = rec["uid"].as_u64().expect("uid") as u32;
        note_binary(&mut binary, uid, &a.untagged);
        if let Err(e) = quoted_strings_are_7bit(&a.untagged) {
            fetch.record(what, Err(e));
            continue;
        }
        if let Some((_, why)) = STRICT_BAD.iter().find(|(s, _)| *s == sent) {
            let r = if a.status == "BAD" && a.untagged.is_empty() {
                fetch.deliberate.push(format!("{sent}: BAD: {why}"));
                Ok(Some(vec![
                    "strict grammar: BAD where Dovecot is lenient".into()
                ]))
            } else {
                Err(format!("expected BAD, got `{}`", a.tagged_line))
            };
            fetch.record(what, r);
            continue;
        }
        if let Some((_, why)) = KNOWN.iter().find(|(s, _)| *s == sent) {
            let r = check_known(sent, &a, &binary);
            if r.is_ok() {
                fetch.deliberate.push(format!("{sent}: {why}"));
            }
            fetch.record(
                what,
                r.map(|()| Some(vec!["Dovecot bug, ours checked".into()])),
            );
            continue;
        }
        fetch.record(what, check_fetch_record(rec, &a));
    }

    // ---- STORE setup and SEARCH ----
    let mut search = Tally::new();
    for (n, rec) in records("search.jsonl").iter().enumerate() {
        let sent = rec["sent"].as_str().expect("sent");
        let what = format!("SEARCH record {n} `{sent}`");
        let (status, code) = recorded_status(rec);
        if sent.contains("CHARSET ISO-8859-1") {
            // On purpose: we support only UTF-8 and US-ASCII as SEARCH charsets (RFC 9051
            // requires only UTF-8; clients send UTF-8), so a Latin-1 term is refused with the
            // list of what we take, where Dovecot converted it and answered `* SEARCH 2 3 6 11
            // 79`. (`golden_search` shows the evaluator finds those five with the term in
            // UTF-8.) The JSON writes the literal's byte 0xF6 as the text `\xf6`; the real
            // command had `K` 0xF6 `ln` in a {4} literal, which is what we send.
            let body = sent.replace("\\xf6", "\u{0}");
            let mut body = body.into_bytes();
            for byte in body.iter_mut().filter(|c| **c == 0) {
                *byte = 0xF6;
            }
            let r = b.command(&mut main, &body).and_then(|a| {
                if a.status == "NO"
                    && a.code.as_deref() == Some("BADCHARSET (UTF-8 US-ASCII)")
                    && a.untagged.is_empty()
                {
                    Ok(Some(vec!["CHARSET ISO-8859-1 refused on purpose".into()]))
                } else {
                    Err(format!(
                        "expected NO [BADCHARSET (UTF-8 US-ASCII)], got `{}` after {}",
                        a.tagged_line,
                        shorten(&a.untagged)
                    ))
                }
            });
            if r.is_ok() {
                search.deliberate.push(format!(
                    "{sent:?}: NO [BADCHARSET (UTF-8 US-ASCII)]: only UTF-8/US-ASCII are \
                     supported search charsets"
                ));
            }
            search.record(what, r);
            continue;
        }
        let a = match b.command(&mut main, sent.as_bytes()) {
            Ok(a) => a,
            Err(e) => {
                search.record(what, Err(e));
                continue;
            }
        };
        let r = check_status(&a, &status, &code).and_then(|()| {
            let theirs = b64(rec);
            if rec["label"] == "setup" {
                return compare_untagged(&a.untagged, &theirs);
            }
            compare_search(&a.untagged, &theirs)
        });
        if r.as_ref().is_ok_and(|w| {
            w.as_ref()
                .is_some_and(|w| w.iter().any(|x| x.contains("keyword")))
        }) {
            search.deliberate.push(format!(
                "{sent}: Dovecot announces the searched-for keyword in `* FLAGS` / \
                 `PERMANENTFLAGS`; we do not create keywords merely searched for"
            ));
        }
        search.record(what, r);
    }
    b.ok(&mut main, "LOGOUT");

    // ---- the deferred FETCHes, each on a fresh connection ----
    for (n, rec) in deferred {
        let sent = rec["sent"].as_str().expect("sent");
        let what = format!("FETCH record {n} (fresh session) `{sent}`");
        let mut c = b.connect("f");
        b.ok(&mut c, &format!("LOGIN {USER} {PASS}"));
        b.ok(&mut c, "EXAMINE GOLDEN");
        let r = b.command(&mut c, sent.as_bytes()).and_then(|a| {
            let uid = rec["uid"].as_u64().expect("uid") as u32;
            note_binary(&mut binary, uid, &a.untagged);
            if rec["status"] == "BYE" {
                check_bye_record(sent, &a, &binary)?;
                fetch.deliberate.push(format!(
                    "{sent}: Dovecot sent BYE (bug); we answer {} `{}`",
                    shorten(&a.untagged),
                    a.tagged_line
                ));
                Ok(Some(vec!["Dovecot BYE, ours answered cleanly".into()]))
            } else {
                check_fetch_record(rec, &a)
            }
        });
        fetch.record(what, r);
        b.ok(&mut c, "LOGOUT");
    }

    println!(
        "golden session: FETCH {}/{}, SEARCH {}/{}",
        fetch.pass, fetch.total, search.pass, search.total
    );
    for (name, t) in [("FETCH", &fetch), ("SEARCH", &search)] {
        println!(
            "  {name}: {} byte-exact; structural matches by reason:",
            t.exact
        );
        for (why, count) in &t.structural {
            println!("    {count:5}  {why}");
        }
        for d in &t.deliberate {
            println!("  deliberate: {d}");
        }
    }
    let failures: Vec<&String> = fetch.failures.iter().chain(&search.failures).collect();
    for f in failures.iter().take(12) {
        println!("DIFF {f}");
    }
    assert_eq!(fetch.total, 1437, "every FETCH record replayed");
    assert_eq!(search.total, 80, "every STORE/SEARCH record replayed");
    assert!(
        failures.is_empty(),
        "{} golden records differ; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// SEARCH answers: the `* SEARCH` numbers must be the same; we send no other untagged
/// response. Dovecot sends one more kind: when a SEARCH names a keyword the mailbox has never
/// had (`KEYWORD NeverSet`), it creates it and announces it in `* FLAGS` and
/// `* OK [PERMANENTFLAGS]`. That is its choice (RFC 3501 asks for FLAGS updates only when
/// the set of defined flags changes, and ours does not); we accept exactly that extra.
fn compare_search(ours: &[u8], theirs: &[u8]) -> Result<Option<Reasons>, String> {
    let o = parse_responses(ours).map_err(|e| format!("our output: {e}: {}", shorten(ours)))?;
    let t = parse_responses(theirs).map_err(|e| format!("recorded: {e}"))?;
    let is_search = |r: &Response| matches!(r, Response::Data(v) if v.first() == Some(&Tok::Atom("SEARCH".into())));
    let numbers = |v: &[Response]| -> Option<Vec<Tok>> {
        v.iter().find(|r| is_search(r)).map(|r| match r {
            Response::Data(v) => v[1..].to_vec(),
            _ => unreachable!(),
        })
    };
    if t.is_empty() {
        return if o.is_empty() {
            Ok(None)
        } else {
            Err(format!(
                "no untagged response expected, got {}",
                shorten(ours)
            ))
        };
    }
    let theirs_n = numbers(&t).ok_or("no * SEARCH recorded")?;
    if o.len() != 1 || !is_search(&o[0]) {
        return Err(format!("one * SEARCH expected, got {}", shorten(ours)));
    }
    let ours_n = numbers(&o).unwrap();
    if ours_n != theirs_n {
        let s = |v: &[Tok]| v.iter().map(show).collect::<Vec<_>>().join(" ");
        return Err(format!(
            "* SEARCH: expected {}, got {}",
            s(&theirs_n),
            s(&ours_n)
        ));
    }
    let extra: Vec<&Response> = t.iter().filter(|r| !is_search(r)).collect();
    if extra.is_empty() {
        return Ok(if ours == theirs { None } else { Some(vec![]) });
    }
    let announce = extra.iter().all(|r| match r {
        Response::Data(v) => v.first() == Some(&Tok::Atom("FLAGS".into())),
        Response::Status {
            tag: None, code, ..
        } => code_name(code).as_deref() == Some("PERMANENTFLAGS"),
        _ => false,
    });
    if !announce {
        return Err(format!("unexpected recorded responses: {extra:?}"));
    }
    Ok(Some(vec![
        "new keyword announcement not sent (searched-for keyword)".into(),
    ]))
}

/// The skeleton comparison ignores only the string form: spacing and structure still count.
#[test]
fn skeleton_ignores_string_form_only() {
    assert_eq!(
        skeleton(b"(\"a b\" {1}\r\nx NIL)"),
        skeleton(b"({3}\r\na b \"x\" NIL)")
    );
    assert_eq!(skeleton(b"~{2}\r\nab"), skeleton(b"{2}\r\nab"));
    assert_eq!(skeleton(b"(\"a\\\"b\")"), b"(S)");
    assert_ne!(
        skeleton(b"((\"a\" NIL) (\"b\" NIL))"),
        skeleton(b"((\"a\" NIL)(\"b\" NIL))")
    );
}
