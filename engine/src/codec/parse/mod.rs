//! The client command grammar (RFC 3501, RFC 9051 and the extensions in
//! [`crate::command`]) on nom 8, over the bytes of one complete command that the framer found.
//!
//! The grammar runs on whole commands only (literals inline, as on the wire), so every parser
//! is a `complete` one. [`check_prefix`] runs it on the part of a command up to a
//! synchronizing literal to decide whether that literal is worth a `+`.

pub(crate) mod core;
mod fetch;
mod mailbox;
mod search;
mod words;

use nom::Err;

use self::core::*;
use self::words as kw;
use super::error::{DecodeError, DecodeErrorKind};
use crate::command::{Command, CommandBody, CompactString};

/// Parsing settings that reach into the grammar.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    /// Deepest search-key nesting.
    pub max_depth: usize,
    /// Decode search strings lossily (a charset the session refuses).
    pub lossy: bool,
}

impl Ctx {
    pub fn new(max_depth: usize) -> Ctx {
        Ctx {
            max_depth,
            lossy: false,
        }
    }
}

/// The tag at the start of a command line: `1*tag-char` followed by SP.
pub(crate) fn tag_of(line: &[u8]) -> Option<&[u8]> {
    let n = line.iter().position(|&b| !is_tag_char(b))?;
    (n > 0 && line[n] == b' ').then(|| &line[..n])
}

/// Parses one complete command (its lines and literals, CRLF included).
#[cfg(test)]
pub(crate) fn parse_command(ctx: &Ctx, msg: &[u8]) -> Result<Command, DecodeError> {
    parse_into(ctx, msg, Ok, Err)
}

/// [`parse_command`], handing the command or the error to `ok` or `err`: the decoder builds
/// its item in place rather than moving the command out of a `Result` into it.
#[inline]
pub(crate) fn parse_into<T>(
    ctx: &Ctx,
    msg: &[u8],
    ok: impl FnOnce(Command) -> T,
    err: impl FnOnce(DecodeError) -> T,
) -> T {
    let Some(tag) = tag_of(msg) else {
        return err(untagged_error(msg));
    };
    let args = &msg[tag.len() + 1..];
    // As `full_command`, with the CRLF checked here: the body then moves once, into `ok`'s.
    match command_body(ctx, args) {
        Ok((rest, body)) => match end_of_command(rest) {
            None => ok(Command {
                tag: ascii_compact(tag),
                body,
            }),
            Some(e) => err(to_decode_error(Some(ascii_string(tag)), args, &e)),
        },
        Err(Err::Error(e) | Err::Failure(e)) => {
            err(to_decode_error(Some(ascii_string(tag)), args, &e))
        }
        Err(Err::Incomplete(_)) => err(DecodeError::new(
            Some(ascii_string(tag)),
            DecodeErrorKind::Syntax,
            "incomplete command",
        )),
    }
}

/// Checks the part of a command up to (and including) a synchronizing literal's
/// announcement: `Ok` if the grammar accepts a literal there, so the client may send it.
pub(crate) fn check_prefix(ctx: &Ctx, prefix: &[u8]) -> Result<(), DecodeError> {
    let Some(tag) = tag_of(prefix) else {
        return Err(untagged_error(prefix));
    };
    let args = &prefix[tag.len() + 1..];
    let tag = ascii_string(tag);
    match full_command(ctx, args) {
        Err(Err::Failure(e)) if e.kind == PErrorKind::LiteralData => Ok(()),
        Err(Err::Error(e) | Err::Failure(e)) => Err(to_decode_error(Some(tag), args, &e)),
        Ok(_) | Err(Err::Incomplete(_)) => Err(DecodeError::new(
            Some(tag),
            DecodeErrorKind::Syntax,
            "unexpected literal",
        )),
    }
}

fn untagged_error(msg: &[u8]) -> DecodeError {
    let what = if msg.first().is_some_and(|&b| b == b'\r' || b == b'\n') {
        "Empty command line".to_string()
    } else {
        format!("Missing or invalid tag at {}", snippet(msg))
    };
    DecodeError::new(None, DecodeErrorKind::Syntax, what)
}

/// Turns a grammar error into the error the session answers with.
fn to_decode_error(tag: Option<String>, args: &[u8], e: &PError) -> DecodeError {
    let kind = match e.kind {
        PErrorKind::TooDeep => DecodeErrorKind::TooDeep,
        _ => DecodeErrorKind::Syntax,
    };
    let at = &args[args.len().saturating_sub(e.remaining)..];
    let name = command_name(args);
    let message = match name {
        Some(name) => format!("{name}: expected {} at {}", e.expected, snippet(at)),
        None => format!("expected {} at {}", e.expected, snippet(at)),
    };
    DecodeError::new(tag, kind, message)
}

/// The command name (`FETCH`, `UID FETCH`) for messages, if the arguments start with one.
fn command_name(args: &[u8]) -> Option<String> {
    let (rest, name) = keyword(args).ok()?;
    if name == "UID" {
        if let Some(Ok((_, sub))) = rest.strip_prefix(b" ").map(keyword) {
            return Some(format!("UID {sub}"));
        }
    }
    Some(name)
}

/// A short printable excerpt of the input at an error, for messages.
fn snippet(at: &[u8]) -> String {
    if at.is_empty() || at.starts_with(b"\r\n") || at.starts_with(b"\n") {
        return "end of line".into();
    }
    let mut s = String::from("\"");
    for &b in at.iter().take(24) {
        match b {
            b'\r' | b'\n' => break,
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if at.len() > 24 && !at[..24].contains(&b'\n') {
        s.push_str("...");
    }
    s.push('"');
    s
}

/// `command-body CRLF`, nothing after it.
fn full_command<'a>(ctx: &Ctx, i: &'a [u8]) -> PResult<'a, CommandBody> {
    let (rest, body) = command_body(ctx, i)?;
    match end_of_command(rest) {
        None => Ok((&rest[2..], body)),
        Some(e) => Err(Err::Error(e)),
    }
}

/// What follows a command body: `None` if it is the CRLF that ends the command, else the
/// error.
fn end_of_command(rest: &[u8]) -> Option<PError> {
    match rest.strip_prefix(b"\r\n") {
        Some([]) => None,
        Some(after) => Some(PError::new(after, "end of command")),
        None => Some(PError::new(rest, "end of command")),
    }
}

fn command_body<'a>(ctx: &Ctx, i: &'a [u8]) -> PResult<'a, CommandBody> {
    use CommandBody as C;
    let (rest, name) = expect("command name", word)(i)?;
    let done = |b| Ok((rest, b));
    match name.key {
        kw::CAPABILITY => done(C::Capability),
        kw::NOOP => done(C::Noop),
        kw::LOGOUT => done(C::Logout),
        kw::STARTTLS => done(C::StartTls),
        kw::NAMESPACE => done(C::Namespace),
        kw::IDLE => done(C::Idle),
        kw::CHECK => done(C::Check),
        kw::CLOSE => done(C::Close),
        kw::UNSELECT => done(C::Unselect),
        kw::EXPUNGE => done(C::Expunge { uids: None }),
        kw::ID => id(rest),
        kw::LOGIN => login(rest),
        kw::AUTHENTICATE => authenticate(rest),
        kw::ENABLE => enable(rest),
        kw::SELECT => mailbox::select(rest, false),
        kw::EXAMINE => mailbox::select(rest, true),
        kw::CREATE => mailbox::create(rest),
        kw::DELETE | kw::SUBSCRIBE | kw::UNSUBSCRIBE => {
            let (rest, mailbox) = self::core::mailbox(sp(rest)?.0)?;
            Ok((
                rest,
                match name.key {
                    kw::DELETE => C::Delete { mailbox },
                    kw::SUBSCRIBE => C::Subscribe { mailbox },
                    _ => C::Unsubscribe { mailbox },
                },
            ))
        }
        kw::RENAME => {
            let (rest, from) = self::core::mailbox(sp(rest)?.0)?;
            let (rest, to) = self::core::mailbox(sp(rest)?.0)?;
            Ok((rest, C::Rename { from, to }))
        }
        kw::LIST => mailbox::list(rest),
        kw::LSUB => mailbox::lsub(rest),
        kw::STATUS => mailbox::status(rest),
        kw::APPEND => mailbox::append(rest),
        kw::SEARCH => search::search(ctx, rest, false),
        kw::FETCH => fetch::fetch(rest, false),
        kw::STORE => fetch::store(rest, false),
        kw::COPY => copy_move(rest, false, false),
        kw::MOVE => copy_move(rest, false, true),
        kw::UID => {
            let (after, _) = sp(rest)?;
            let (rest, sub) = expect("COPY, MOVE, FETCH, SEARCH, STORE or EXPUNGE", word)(after)?;
            match sub.key {
                kw::COPY => copy_move(rest, true, false),
                kw::MOVE => copy_move(rest, true, true),
                kw::FETCH => fetch::fetch(rest, true),
                kw::SEARCH => search::search(ctx, rest, true),
                kw::STORE => fetch::store(rest, true),
                kw::EXPUNGE => {
                    let (rest, set) = sequence_set(sp(rest)?.0)?;
                    Ok((rest, C::Expunge { uids: Some(set) }))
                }
                _ => failure(
                    after,
                    "COPY, MOVE, FETCH, SEARCH, STORE or EXPUNGE after UID",
                ),
            }
        }
        _ => failure(i, "a known command"),
    }
}

/// `COPY`/`MOVE sequence-set SP mailbox`, after the command name.
fn copy_move(i: &[u8], uid: bool, is_move: bool) -> PResult<'_, CommandBody> {
    let (i, set) = sequence_set(sp(i)?.0)?;
    let (i, mailbox) = self::core::mailbox(sp(i)?.0)?;
    Ok((
        i,
        if is_move {
            CommandBody::Move { uid, set, mailbox }
        } else {
            CommandBody::Copy { uid, set, mailbox }
        },
    ))
}

/// `LOGIN userid SP password`.
fn login(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, user) = expect("user name", astring)(sp(i)?.0)?;
    let (i, pass) = expect("password", astring)(sp(i)?.0)?;
    Ok((
        i,
        CommandBody::Login {
            username: user.into_owned(),
            password: pass.into_owned().into(),
        },
    ))
}

/// `AUTHENTICATE auth-type [SP (base64 / "=")]` (RFC 4959 SASL-IR).
fn authenticate(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, mechanism) = expect("SASL mechanism", atom)(sp(i)?.0)?;
    let mut mechanism = ascii_compact(mechanism);
    mechanism.make_ascii_uppercase();
    let (i, initial) = match i.strip_prefix(b" ") {
        Some(rest) => {
            let (r, ir) = expect("initial response (base64 or =)", base64)(rest)?;
            (r, Some(ir.to_vec().into()))
        }
        None => (i, None),
    };
    Ok((i, CommandBody::Authenticate { mechanism, initial }))
}

/// `base64` (RFC 9051: groups of four, `=` padding at the end only) or a lone `=`.
fn base64(i: &[u8]) -> PResult<'_, &[u8]> {
    let n = i
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='))
        .unwrap_or(i.len());
    let text = &i[..n];
    let body = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let valid = text == b"=" || (n > 0 && n % 4 == 0 && !body.contains(&b'='));
    if !valid {
        return error(i, "base64 (or = for an empty response)");
    }
    Ok((&i[n..], text))
}

/// `ENABLE 1*(SP capability)`; names are upper-cased.
fn enable(mut i: &[u8]) -> PResult<'_, CommandBody> {
    let mut caps = Vec::new();
    while let Some(rest) = i.strip_prefix(b" ") {
        let (rest, cap) = expect("capability name", keyword)(rest)?;
        caps.push(cap);
        i = rest;
    }
    if caps.is_empty() {
        return error(i, "SP and a capability name");
    }
    Ok((i, CommandBody::Enable(caps)))
}

/// `ID ("(" [string SP nstring *(SP string SP nstring)] ")" / NIL)` (RFC 2971). An empty
/// list is accepted as no fields. Text is decoded lossily: it is only for logs.
fn id(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, _) = sp(i)?;
    if i.first() != Some(&b'(') {
        let (rest, nil) = expect("parameter list or NIL", nstring)(i)?;
        if nil.is_some() {
            return error(i, "parameter list or NIL");
        }
        return Ok((rest, CommandBody::Id(None)));
    }
    let (rest, pairs) = paren_list(i, 0, |i| {
        let (r, key) = expect("field name", string)(i)?;
        let (r, value) = expect("field value or NIL", nstring)(sp(r)?.0)?;
        let text = |b: &[u8]| match std::str::from_utf8(b) {
            Ok(s) => CompactString::new(s),
            Err(_) => String::from_utf8_lossy(b).into(),
        };
        Ok((r, (text(&key), value.map(|v| text(&v)))))
    })?;
    Ok((rest, CommandBody::Id(Some(pairs))))
}

#[cfg(test)]
mod tests;
