//! SEARCH: return options (RFC 4731), `CHARSET`, and every search key of RFC 9051 §6.4.4 plus
//! RFC 3501's (`NEW`, `OLD`, `RECENT`, `UNKEYWORD`...) and CONDSTORE's `MODSEQ`.

use nom::{Err, Parser};

use super::core::*;
use super::words as kw;
use super::Ctx;
use crate::command::{CommandBody, SearchKey};

/// `SEARCH [RETURN (...)] [CHARSET x] key *(SP key)`, after the command name.
pub(crate) fn search<'a>(ctx: &Ctx, i: &'a [u8], uid: bool) -> PResult<'a, CommandBody> {
    let (mut i, _) = sp(i)?;
    let mut ret = None;
    if let Some(rest) = strip_keyword(i, "RETURN") {
        let (rest, _) = sp(rest)?;
        let (rest, opts) = paren_list(rest, 0, expect("search return option", keyword))?;
        for o in &opts {
            if !matches!(o.as_str(), "MIN" | "MAX" | "ALL" | "COUNT" | "SAVE") {
                return failure(rest, format!("a known search return option, not {o}"));
            }
        }
        ret = Some(opts);
        (i, _) = sp(rest)?;
    }
    let mut charset = None;
    if let Some(rest) = strip_keyword(i, "CHARSET") {
        let (rest, _) = sp(rest)?;
        let (rest, cs) = expect("charset", |i| match i.first() {
            Some(b'"') => quoted(i).map(|(r, q)| (r, q.into_owned())),
            _ => atom(i).map(|(r, a)| (r, a.to_vec())),
        })(rest)?;
        let Ok(cs) = String::from_utf8(cs) else {
            return failure(rest, "an ASCII charset name");
        };
        charset = Some(cs);
        (i, _) = sp(rest)?;
    }
    // Strings in a charset the session will refuse are kept lossily, so that it can answer
    // NO [BADCHARSET] rather than this codec BAD.
    let lossy = charset
        .as_deref()
        .is_some_and(|c| !c.eq_ignore_ascii_case("UTF-8") && !c.eq_ignore_ascii_case("US-ASCII"));
    let ctx = Ctx { lossy, ..*ctx };
    // One key stands for itself (no vector for it); more are their AND.
    let (i, first) = search_key(&ctx, i, 0)?;
    let (i, criteria) = match i.strip_prefix(b" ") {
        None => (i, first),
        Some(_) => {
            let (i, keys) = more_search_keys(&ctx, i, 0, first)?;
            (i, SearchKey::And(keys))
        }
    };
    Ok((
        i,
        CommandBody::Search {
            uid,
            charset,
            criteria,
            ret,
        },
    ))
}

/// `keyword` followed by SP or the end of the arguments, case-insensitively.
fn strip_keyword<'a>(i: &'a [u8], word: &str) -> Option<&'a [u8]> {
    let n = word.len();
    if i.len() > n && i[..n].eq_ignore_ascii_case(word.as_bytes()) && i[n] == b' ' {
        Some(&i[n..])
    } else {
        None
    }
}

/// `search-key *(SP search-key)`, stopping before `)` or the end of the line.
fn search_keys<'a>(ctx: &Ctx, i: &'a [u8], depth: usize) -> PResult<'a, Vec<SearchKey>> {
    let (i, first) = search_key(ctx, i, depth)?;
    more_search_keys(ctx, i, depth, first)
}

/// The keys after `first` in `search_keys`.
fn more_search_keys<'a>(
    ctx: &Ctx,
    mut i: &'a [u8],
    depth: usize,
    first: SearchKey,
) -> PResult<'a, Vec<SearchKey>> {
    let mut keys = Vec::with_capacity(4);
    keys.push(first);
    while let Some(rest) = i.strip_prefix(b" ") {
        let (rest, key) = search_key(ctx, rest, depth)?;
        keys.push(key);
        i = rest;
    }
    Ok((i, keys))
}

/// One search key at nesting level `depth`. Only the nesting forms recurse; the leaves are
/// parsed in [`leaf_key`] so that each level of recursion costs a small stack frame.
fn search_key<'a>(ctx: &Ctx, i: &'a [u8], depth: usize) -> PResult<'a, SearchKey> {
    if depth > ctx.max_depth {
        return Err(Err::Failure(PError {
            kind: PErrorKind::TooDeep,
            ..PError::new(
                i,
                format!("search keys nested at most {} deep", ctx.max_depth),
            )
        }));
    }
    match i.first() {
        Some(b'(') => {
            let (rest, keys) = search_keys(ctx, &i[1..], depth + 1)?;
            let (rest, _) = byte(b')', "SP or \")\"")(rest)?;
            return Ok((rest, SearchKey::And(keys)));
        }
        Some(b'0'..=b'9' | b'*' | b'$') => {
            let (rest, set) = sequence_set(i)?;
            return Ok((rest, SearchKey::SequenceSet(set)));
        }
        _ => {}
    }
    let (rest, name) = expect("search key", word)(i)?;
    match name.key {
        kw::NOT => {
            let (rest, key) = search_key(ctx, sp(rest)?.0, depth + 1)?;
            Ok((rest, SearchKey::Not(Box::new(key))))
        }
        kw::OR => {
            let (rest, a) = search_key(ctx, sp(rest)?.0, depth + 1)?;
            let (rest, b) = search_key(ctx, sp(rest)?.0, depth + 1)?;
            Ok((rest, SearchKey::Or(Box::new(a), Box::new(b))))
        }
        _ => leaf_key(ctx, i, rest, name.key),
    }
}

/// A search key that does not nest, named `name` (upper-cased); `rest` follows the name.
#[inline(never)]
fn leaf_key<'a>(ctx: &Ctx, i: &'a [u8], rest: &'a [u8], name: u128) -> PResult<'a, SearchKey> {
    let text = |i| search_string(ctx, i);
    use SearchKey as K;
    let arg = |r| sp(r);
    Ok(match name {
        kw::ALL => (rest, K::All),
        kw::ANSWERED => (rest, K::Answered),
        kw::DELETED => (rest, K::Deleted),
        kw::DRAFT => (rest, K::Draft),
        kw::FLAGGED => (rest, K::Flagged),
        kw::NEW => (rest, K::New),
        kw::OLD => (rest, K::Old),
        kw::RECENT => (rest, K::Recent),
        kw::SEEN => (rest, K::Seen),
        kw::UNANSWERED => (rest, K::Unanswered),
        kw::UNDELETED => (rest, K::Undeleted),
        kw::UNDRAFT => (rest, K::Undraft),
        kw::UNFLAGGED => (rest, K::Unflagged),
        kw::UNSEEN => (rest, K::Unseen),
        kw::BCC | kw::BODY | kw::CC | kw::FROM | kw::SUBJECT | kw::TEXT | kw::TO => {
            let (rest, s) = text(arg(rest)?.0)?;
            let key = match name {
                kw::BCC => K::Bcc(s),
                kw::BODY => K::Body(s),
                kw::CC => K::Cc(s),
                kw::FROM => K::From(s),
                kw::SUBJECT => K::Subject(s),
                kw::TEXT => K::Text(s),
                _ => K::To(s),
            };
            (rest, key)
        }
        kw::BEFORE | kw::ON | kw::SINCE | kw::SENTBEFORE | kw::SENTON | kw::SENTSINCE => {
            let (rest, d) = expect("date (d-Mon-yyyy)", date)(arg(rest)?.0)?;
            let key = match name {
                kw::BEFORE => K::Before(d),
                kw::ON => K::On(d),
                kw::SINCE => K::Since(d),
                kw::SENTBEFORE => K::SentBefore(d),
                kw::SENTON => K::SentOn(d),
                _ => K::SentSince(d),
            };
            (rest, key)
        }
        kw::KEYWORD | kw::UNKEYWORD => {
            let (rest, a) = expect("keyword", atom)(arg(rest)?.0)?;
            let k = ascii_string(a);
            (
                rest,
                if name == kw::KEYWORD {
                    K::Keyword(k)
                } else {
                    K::Unkeyword(k)
                },
            )
        }
        kw::HEADER => {
            let (rest, field) = expect("header field name", astring_utf8)(arg(rest)?.0)?;
            let (rest, value) = text(arg(rest)?.0)?;
            (rest, K::Header(field, value))
        }
        kw::LARGER | kw::SMALLER => {
            // number64 in RFC 9051; sizes past u32::MAX saturate (no message is that large).
            let (rest, n) = number64(arg(rest)?.0)?;
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            (
                rest,
                if name == kw::LARGER {
                    K::Larger(n)
                } else {
                    K::Smaller(n)
                },
            )
        }
        kw::UID => {
            let (rest, set) = sequence_set(arg(rest)?.0)?;
            (rest, K::Uid(set))
        }
        kw::MODSEQ => {
            // MODSEQ [entry-name SP entry-type-req SP] mod-sequence-valzer (RFC 7162).
            let (mut rest, _) = arg(rest)?;
            if rest.first() == Some(&b'"') {
                let (r, entry) = quoted(rest)?;
                let valid = entry.strip_prefix(b"/flags/").is_some_and(|f| {
                    let f = f.strip_prefix(b"\\").unwrap_or(f);
                    !f.is_empty() && f.iter().all(|&b| is_atom_char(b))
                });
                if !valid {
                    return failure(rest, "entry name \"/flags/<flag>\"");
                }
                let (r, _) = sp(r)?;
                let (r, t) = expect("entry type (priv, shared or all)", word)(r)?;
                if !matches!(t.key, kw::PRIV | kw::SHARED | kw::ALL) {
                    return failure(r, "entry type priv, shared or all");
                }
                (rest, _) = sp(r)?;
            }
            let (rest, n) = mod_sequence(rest, true)?;
            (rest, K::ModSeq(n))
        }
        _ => return error(i, "search key"),
    })
}

/// A search string: an astring as UTF-8, or lossily when the charset is one the session will
/// refuse anyway.
fn search_string<'a>(ctx: &Ctx, i: &'a [u8]) -> PResult<'a, String> {
    if ctx.lossy {
        let (rest, s) = expect("search string", astring).parse(i)?;
        return Ok((rest, String::from_utf8_lossy(&s).into_owned()));
    }
    expect("search string", astring_utf8)(i)
}
