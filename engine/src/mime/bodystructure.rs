//! BODYSTRUCTURE and BODY (RFC 9051 §7.5.2): the MIME fields of a part, read from its header
//! once, and their rendering as a [`Value`] tree.

use super::header::{self, Field};
use super::{ParsedMessage, Part, PartKind};
use crate::response::Value;

impl ParsedMessage {
    /// `BODYSTRUCTURE` (`extensible` true: with extension data) or `BODY` (false).
    pub fn body_structure(&self, extensible: bool) -> Value {
        part_value(&self.root, extensible)
    }
}

/// Reads the MIME fields of a part from its header fields. The first copy of a field wins.
pub(crate) fn fill_fields(part: &mut Part, raw: &[u8], fields: &[Field], in_digest: bool) {
    let get = |name: &[u8]| {
        fields
            .iter()
            .find(|f| f.name(raw).eq_ignore_ascii_case(name))
            .map(|f| f.raw_value(raw))
    };
    let ctype = get(b"Content-Type")
        .map(|v| header::parse_params(v, true))
        .filter(|c| !c.value.is_empty() && c.sub.as_ref().is_some_and(|s| !s.is_empty()));
    match ctype {
        Some(c) => {
            part.media_type = c.value;
            part.media_subtype = c.sub.unwrap_or_default();
            part.params = if c.params.is_empty() {
                None
            } else {
                Some(c.params)
            };
            if part.media_type.eq_ignore_ascii_case(b"text") && part.params.is_none() {
                part.params = Some(vec![(b"charset".to_vec(), b"us-ascii".to_vec())]);
            }
        }
        None if in_digest => {
            part.media_type = b"message".to_vec();
            part.media_subtype = b"rfc822".to_vec();
        }
        None => {
            part.media_type = b"text".to_vec();
            part.media_subtype = b"plain".to_vec();
            part.params = Some(vec![(b"charset".to_vec(), b"us-ascii".to_vec())]);
        }
    }
    part.encoding = get(b"Content-Transfer-Encoding")
        .map(|v| header::parse_list(v).into_iter().next().unwrap_or_default())
        .filter(|v| !v.is_empty());
    part.id = get(b"Content-ID").map(header::unfold);
    part.description = get(b"Content-Description").map(header::unfold);
    part.md5 = get(b"Content-MD5").map(header::unfold);
    part.location = get(b"Content-Location").map(header::unfold);
    part.language = get(b"Content-Language")
        .map(header::parse_list)
        .filter(|l| !l.is_empty());
    part.disposition = get(b"Content-Disposition")
        .map(|v| header::parse_params(v, false))
        .filter(|d| !d.value.is_empty())
        .map(|d| (d.value, d.params));
}

fn params_value(params: Option<&[(Vec<u8>, Vec<u8>)]>) -> Value {
    match params {
        Some(p) if !p.is_empty() => Value::List(
            p.iter()
                .flat_map(|(k, v)| [Value::str(k), Value::str(v)])
                .collect(),
        ),
        _ => Value::Nil,
    }
}

fn part_value(part: &Part, ext: bool) -> Value {
    let mut items = Vec::new();
    if let PartKind::Multipart(children) = &part.kind {
        // `body-type-mpart = 1*body SP media-subtype`: no space between the parts.
        items.push(Value::Seq(
            children.iter().map(|c| part_value(c, ext)).collect(),
        ));
        items.push(Value::str(&part.media_subtype));
        if ext {
            items.push(params_value(part.params.as_deref()));
            push_common_ext(&mut items, part);
        }
        return Value::List(items);
    }
    items.push(Value::str(&part.media_type));
    items.push(Value::str(&part.media_subtype));
    items.push(params_value(part.params.as_deref()));
    items.push(Value::nstr(part.id.as_ref()));
    items.push(Value::nstr(part.description.as_ref()));
    items.push(Value::str(part.encoding.as_deref().unwrap_or(b"7bit")));
    items.push(Value::Number(part.body_end.saturating_sub(part.body_start)));
    match &part.kind {
        PartKind::Message(env, inner) => {
            items.push(env.to_value());
            items.push(part_value(inner, ext));
            items.push(Value::Number(part.lines));
        }
        _ if part.media_type.eq_ignore_ascii_case(b"text") => {
            items.push(Value::Number(part.lines));
        }
        _ => {}
    }
    if ext {
        items.push(Value::nstr(part.md5.as_ref()));
        push_common_ext(&mut items, part);
    }
    Value::List(items)
}

/// Disposition, language and location: the extension data every part type shares.
fn push_common_ext(items: &mut Vec<Value>, part: &Part) {
    items.push(match &part.disposition {
        Some((kind, params)) => Value::List(vec![Value::str(kind), params_value(Some(params))]),
        None => Value::Nil,
    });
    items.push(match &part.language {
        Some(langs) => Value::List(langs.iter().map(Value::str).collect()),
        None => Value::Nil,
    });
    items.push(Value::nstr(part.location.as_ref()));
}
