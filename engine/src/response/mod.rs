//! Server responses on the wire: status lines (tagged, untagged, continuation) with response
//! codes, and compact sequence sets. Data values and string forms live in [`value`].

pub mod value;

pub use value::Value;

use crate::types::Uid;

/// The result of a command or an untagged status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    Bye,
    PreAuth,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::Bye => "BYE",
            Status::PreAuth => "PREAUTH",
        }
    }
}

/// Appends `tag STATUS [code] text\r\n` (or `* STATUS ...` when `tag` is `None`).
pub fn write_status(
    out: &mut Vec<u8>,
    tag: Option<&str>,
    status: Status,
    code: Option<&str>,
    text: &str,
) {
    out.extend_from_slice(tag.unwrap_or("*").as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.as_str().as_bytes());
    if let Some(code) = code {
        out.extend_from_slice(b" [");
        out.extend_from_slice(code.as_bytes());
        out.push(b']');
    }
    out.push(b' ');
    out.extend_from_slice(sanitize_text(text).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `* <data>\r\n`.
pub fn write_untagged(out: &mut Vec<u8>, data: &str) {
    out.extend_from_slice(b"* ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends a continuation request `+ text\r\n`.
pub fn write_continuation(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(sanitize_text(text).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Human text must stay on one line and 7-bit: anything else becomes `?`.
fn sanitize_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(
            text.chars()
                .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
                .collect(),
        )
    }
}

/// Formats ascending numbers as a compact sequence set: `1:3,5,9:10`. Input need not be
/// sorted; duplicates are dropped.
pub fn compact_set(numbers: &[Uid]) -> String {
    let mut v = numbers.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        let mut end = start;
        while i + 1 < v.len() && v[i + 1] == end + 1 {
            i += 1;
            end = v[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let mut out = Vec::new();
        write_status(
            &mut out,
            Some("a1"),
            Status::Ok,
            Some("READ-WRITE"),
            "Select completed.",
        );
        write_status(&mut out, None, Status::Bye, None, "Logging out");
        assert_eq!(
            out,
            b"a1 OK [READ-WRITE] Select completed.\r\n* BYE Logging out\r\n"
        );
    }

    #[test]
    fn text_cannot_break_the_line() {
        let mut out = Vec::new();
        write_status(&mut out, Some("a"), Status::Bad, None, "x\r\ny é");
        assert_eq!(out, b"a BAD x??y ?\r\n");
    }

    #[test]
    fn compact_sets() {
        assert_eq!(compact_set(&[5, 1, 2, 3, 9, 10, 2]), "1:3,5,9:10");
        assert_eq!(compact_set(&[]), "");
        assert_eq!(compact_set(&[7]), "7");
    }
}
