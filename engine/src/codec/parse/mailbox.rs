//! Commands about mailboxes: SELECT/EXAMINE (CONDSTORE), CREATE (SPECIAL-USE), LIST
//! (LIST-EXTENDED, LIST-STATUS), LSUB, STATUS and APPEND (with literal8).

use super::core::*;
use super::words as kw;
use crate::command::{CommandBody, StatusItem};

/// `SELECT`/`EXAMINE mailbox [SP "(" CONDSTORE ")"]`, after the command name.
pub(crate) fn select(i: &[u8], examine: bool) -> PResult<'_, CommandBody> {
    let (i, _) = sp(i)?;
    let (mut i, mailbox) = mailbox(i)?;
    let mut condstore = false;
    if let Some(rest) = i.strip_prefix(b" ") {
        let (rest, params) = paren_list(rest, 1, expect("select parameter", keyword))?;
        for p in &params {
            if p != "CONDSTORE" {
                return failure(rest, format!("select parameter CONDSTORE, not {p}"));
            }
        }
        condstore = true;
        i = rest;
    }
    let body = if examine {
        CommandBody::Examine { mailbox, condstore }
    } else {
        CommandBody::Select { mailbox, condstore }
    };
    Ok((i, body))
}

/// `CREATE mailbox [SP "(" USE (attrs) ")"]` (RFC 6154), after the command name. The
/// special-use attributes are kept as sent (`\Trash`); the session checks them.
pub(crate) fn create(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, _) = sp(i)?;
    let (mut i, mailbox) = mailbox(i)?;
    let mut special_use = Vec::new();
    if let Some(rest) = i.strip_prefix(b" ") {
        let (rest, params) = paren_list(rest, 1, |i| {
            let (r, name) = expect("create parameter", word)(i)?;
            if name.key != kw::USE {
                return error(i, "create parameter USE");
            }
            let (r, _) = sp(r)?;
            paren_list(r, 0, use_attr)
        })?;
        special_use = params.into_iter().flatten().collect();
        i = rest;
    }
    Ok((
        i,
        CommandBody::Create {
            mailbox,
            special_use,
        },
    ))
}

/// `use-attr`: `\` atom.
fn use_attr(i: &[u8]) -> PResult<'_, String> {
    let Some(rest) = i.strip_prefix(b"\\") else {
        return error(i, "special-use attribute (\\Trash, ...)");
    };
    let (rest, a) = atom(rest)?;
    Ok((rest, format!("\\{}", ascii_string(a))))
}

/// `LIST [SP (select-opts)] SP mailbox SP (list-mailbox / (patterns)) [SP RETURN (opts)]`
/// (RFC 5258, RFC 5819, RFC 6154), after the command name.
pub(crate) fn list(i: &[u8]) -> PResult<'_, CommandBody> {
    let (mut i, _) = sp(i)?;
    let mut select_options = Vec::new();
    if i.first() == Some(&b'(') {
        let (rest, opts) = paren_list(i, 0, expect("list selection option", keyword))?;
        for o in &opts {
            if !matches!(
                o.as_str(),
                "SUBSCRIBED" | "REMOTE" | "RECURSIVEMATCH" | "SPECIAL-USE"
            ) {
                return failure(i, format!("a known selection option, not {o}"));
            }
        }
        if opts.iter().any(|o| o == "RECURSIVEMATCH")
            && !opts
                .iter()
                .any(|o| matches!(o.as_str(), "SUBSCRIBED" | "SPECIAL-USE"))
        {
            return failure(i, "RECURSIVEMATCH with another selection option (RFC 5258)");
        }
        select_options = opts;
        (i, _) = sp(rest)?;
    }
    let (i, reference) = mailbox_text(i)?;
    let (i, _) = sp(i)?;
    let (mut i, patterns) = if i.first() == Some(&b'(') {
        paren_list(i, 1, list_mailbox)?
    } else {
        let (rest, p) = list_mailbox(i)?;
        (rest, vec![p])
    };
    let mut return_options = Vec::new();
    let mut return_status = None;
    if let Some(rest) = i.strip_prefix(b" ") {
        let (rest, word) = expect("RETURN", word)(rest)?;
        if word.key != kw::RETURN {
            return error(i, "RETURN");
        }
        let (rest, _) = sp(rest)?;
        let (rest, opts) = paren_list(rest, 0, |i| {
            let (r, name) = expect("list return option", keyword)(i)?;
            match name.as_str() {
                "SUBSCRIBED" | "CHILDREN" | "SPECIAL-USE" => Ok((r, (name, None))),
                "STATUS" => {
                    let (r, _) = sp(r)?;
                    let (r, items) = status_items(r)?;
                    Ok((r, (name, Some(items))))
                }
                _ => failure(i, format!("a known return option, not {name}")),
            }
        })?;
        for (name, status) in opts {
            match status {
                Some(items) => return_status = Some(items),
                None => return_options.push(name),
            }
        }
        i = rest;
    }
    Ok((
        i,
        CommandBody::List {
            reference,
            patterns,
            select_options,
            return_options,
            return_status,
        },
    ))
}

/// `LSUB mailbox SP list-mailbox`, after the command name.
pub(crate) fn lsub(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, _) = sp(i)?;
    let (i, reference) = mailbox_text(i)?;
    let (i, _) = sp(i)?;
    let (i, pattern) = list_mailbox(i)?;
    Ok((i, CommandBody::Lsub { reference, pattern }))
}

/// `"(" status-att *(SP status-att) ")"`.
fn status_items(i: &[u8]) -> PResult<'_, Vec<StatusItem>> {
    paren_list(i, 1, |i| {
        let (r, name) = expect("status item", word)(i)?;
        let item = match name.key {
            kw::MESSAGES => StatusItem::Messages,
            kw::RECENT => StatusItem::Recent,
            kw::UIDNEXT => StatusItem::UidNext,
            kw::UIDVALIDITY => StatusItem::UidValidity,
            kw::UNSEEN => StatusItem::Unseen,
            kw::DELETED => StatusItem::Deleted,
            kw::SIZE => StatusItem::Size,
            kw::HIGHESTMODSEQ => StatusItem::HighestModSeq,
            _ => {
                return error(
                    i,
                    "status item (MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN, ...)",
                )
            }
        };
        Ok((r, item))
    })
}

/// `STATUS mailbox SP (items)`, after the command name.
pub(crate) fn status(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, _) = sp(i)?;
    let (i, mailbox) = mailbox(i)?;
    let (i, _) = sp(i)?;
    let (i, items) = status_items(i)?;
    Ok((i, CommandBody::Status { mailbox, items }))
}

/// `APPEND mailbox [SP flag-list] [SP date-time] SP (literal / literal8)`, after the command
/// name.
pub(crate) fn append(i: &[u8]) -> PResult<'_, CommandBody> {
    let (i, _) = sp(i)?;
    let (i, mailbox) = mailbox(i)?;
    let (mut i, _) = sp(i)?;
    let mut flags = Vec::new();
    if i.first() == Some(&b'(') {
        let (rest, f) = flag_list(i)?;
        flags = f;
        (i, _) = sp(rest)?;
    }
    let mut date = None;
    if i.first() == Some(&b'"') {
        let (rest, d) = date_time(i)?;
        date = Some(d);
        (i, _) = sp(rest)?;
    }
    let (i, (message, binary)) = expect("message literal", |i| literal_any(i, true))(i)?;
    Ok((
        i,
        CommandBody::Append {
            mailbox,
            flags,
            date,
            message: message.to_vec(),
            binary,
        },
    ))
}
