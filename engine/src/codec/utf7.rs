//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): a strict decoder that accepts only the
//! one canonical encoding of each name, and the encoder that produces it.
//!
//! Printable US-ASCII (0x20-0x7e) represents itself, except `&`, written `&-`. Every other
//! character is UTF-16BE in modified BASE64 (`+` and `,`, no padding) between `&` and `-`.

/// Why a name is not valid modified UTF-7. `offset` is the byte offset in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Utf7Error {
    /// A byte outside printable ASCII (8-bit or a control): it must be encoded.
    #[error("byte 0x{byte:02x} at offset {offset} must be written in modified BASE64")]
    NotPrintable { offset: usize, byte: u8 },
    /// `&` without a closing `-`.
    #[error("'&' at offset {offset} is not closed by '-'")]
    Unterminated { offset: usize },
    /// A character outside the modified BASE64 alphabet, or non-zero padding bits.
    #[error("invalid modified BASE64 at offset {offset}")]
    BadBase64 { offset: usize },
    /// The run does not decode to well-formed UTF-16 (odd length, lone surrogate).
    #[error("the run at offset {offset} is not well-formed UTF-16")]
    BadUtf16 { offset: usize },
    /// The run encodes printable ASCII, which must represent itself.
    #[error("the run at offset {offset} encodes printable ASCII")]
    EncodedAscii { offset: usize },
    /// Not the shortest form: a run with extra BASE64 characters, or a run right after another
    /// (they must be one run).
    #[error("the run at offset {offset} is not in shortest form")]
    NotShortest { offset: usize },
}

use compact_str::CompactString;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(b: u8) -> Option<u32> {
    Some(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    } as u32)
}

/// Decodes a mailbox name (or LIST pattern) from modified UTF-7, strictly: only the canonical
/// encoding is accepted.
///
/// ```
/// use tidings_engine::codec::decode_mailbox;
/// assert_eq!(decode_mailbox(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(), "~peter/mail/台北/日本語");
/// assert_eq!(decode_mailbox(b"Tom &- Jerry").unwrap(), "Tom & Jerry");
/// assert!(decode_mailbox(b"&AGE-").is_err()); // "a" must represent itself
/// ```
pub fn decode_mailbox(input: &[u8]) -> Result<String, Utf7Error> {
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    // Where the last encoded run ended: a run starting there should have been merged into it.
    let mut last_run_end = None;
    while i < input.len() {
        let b = input[i];
        if b != b'&' {
            if !(0x20..=0x7e).contains(&b) {
                return Err(Utf7Error::NotPrintable { offset: i, byte: b });
            }
            out.push(b as char);
            i += 1;
            continue;
        }
        let start = i;
        let Some(len) = input[start + 1..].iter().position(|&c| c == b'-') else {
            return Err(Utf7Error::Unterminated { offset: start });
        };
        let end = start + 1 + len; // index of '-'
        i = end + 1;
        if len == 0 {
            out.push('&');
            continue;
        }
        if last_run_end == Some(start) {
            return Err(Utf7Error::NotShortest { offset: start });
        }
        let mut units = Vec::with_capacity(len * 6 / 16);
        let (mut acc, mut bits) = (0u32, 0u32);
        for (k, &c) in input[start + 1..end].iter().enumerate() {
            let v = b64_value(c).ok_or(Utf7Error::BadBase64 {
                offset: start + 1 + k,
            })?;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push((acc >> bits) as u16);
                acc &= (1 << bits) - 1;
            }
        }
        if bits >= 6 {
            return Err(Utf7Error::NotShortest { offset: start });
        }
        if acc != 0 {
            return Err(Utf7Error::BadBase64 { offset: end - 1 });
        }
        for ch in char::decode_utf16(units.iter().copied()) {
            let ch = ch.map_err(|_| Utf7Error::BadUtf16 { offset: start })?;
            if (' '..='~').contains(&ch) {
                return Err(Utf7Error::EncodedAscii { offset: start });
            }
            out.push(ch);
        }
        last_run_end = Some(i);
    }
    Ok(out)
}

/// The bytes that stand for themselves in modified UTF-7: printable ASCII but `&`.
static PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x20;
    while b <= 0x7e {
        table[b] = b != b'&' as usize;
        b += 1;
    }
    table
};

/// [`decode_mailbox`] into a [`CompactString`]: a short name costs no allocation, and one in
/// printable ASCII without `&` (most) is copied as it is.
pub(crate) fn decode_mailbox_compact(input: &[u8]) -> Result<CompactString, Utf7Error> {
    if input.iter().all(|&b| PLAIN[b as usize]) {
        if let Ok(name) = std::str::from_utf8(input) {
            return Ok(CompactString::new(name));
        }
    }
    decode_mailbox(input).map(CompactString::from)
}

/// Encodes a mailbox name into modified UTF-7: the one form [`decode_mailbox`] accepts.
///
/// ```
/// use tidings_engine::codec::encode_mailbox;
/// assert_eq!(encode_mailbox("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
/// assert_eq!(encode_mailbox("Tom & Jerry"), "Tom &- Jerry");
/// ```
pub fn encode_mailbox(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush_run(&mut out, &mut run);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            run.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush_run(&mut out, &mut run);
    out
}

fn flush_run(out: &mut String, run: &mut Vec<u16>) {
    if run.is_empty() {
        return;
    }
    out.push('&');
    let (mut acc, mut bits) = (0u32, 0u32);
    for unit in run.drain(..) {
        acc = (acc << 16) | unit as u32;
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out.push('-');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_decoding_is_the_same() {
        let mut inputs: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b'a', b, b'z']).collect();
        for name in [
            "INBOX",
            "",
            "Tom &- Jerry",
            "&AGE-",
            "~peter/&U,BTFw-",
            "a&b",
            "caf\u{e9}",
        ] {
            inputs.push(name.as_bytes().to_vec());
        }
        inputs.push(b"a-rather-long-mailbox-name/with/levels/2026".to_vec());
        for input in inputs {
            assert_eq!(
                decode_mailbox_compact(&input).map(String::from),
                decode_mailbox(&input),
                "{input:?}"
            );
        }
    }
    use proptest::prelude::*;

    #[test]
    fn rfc_examples() {
        assert_eq!(
            decode_mailbox(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(),
            "~peter/mail/台北/日本語"
        );
        assert_eq!(decode_mailbox(b"&Jjo-!").unwrap(), "☺!");
        assert_eq!(decode_mailbox(b"Entw&APw-rfe").unwrap(), "Entwürfe");
        assert_eq!(decode_mailbox(b"&-").unwrap(), "&");
        assert_eq!(decode_mailbox(b"").unwrap(), "");
        // A supplementary-plane character is a surrogate pair.
        assert_eq!(encode_mailbox("𝄞"), "&2DTdHg-");
        assert_eq!(decode_mailbox(b"&2DTdHg-").unwrap(), "𝄞");
    }

    #[test]
    fn rejects_invalid() {
        use Utf7Error::*;
        assert_eq!(
            decode_mailbox("Entwürfe".as_bytes()),
            Err(NotPrintable {
                offset: 4,
                byte: 0xc3
            })
        );
        assert_eq!(
            decode_mailbox(b"a\tb"),
            Err(NotPrintable { offset: 1, byte: 9 })
        );
        assert_eq!(decode_mailbox(b"&U,BTFw"), Err(Unterminated { offset: 0 }));
        assert_eq!(decode_mailbox(b"x&"), Err(Unterminated { offset: 1 }));
        assert_eq!(decode_mailbox(b"&U.BTFw-"), Err(BadBase64 { offset: 2 }));
        assert_eq!(decode_mailbox(b"&U/BTFw-"), Err(BadBase64 { offset: 2 }));
        // "a" (U+0061) encoded: must represent itself; so must "&".
        assert_eq!(decode_mailbox(b"&AGE-"), Err(EncodedAscii { offset: 0 }));
        assert_eq!(decode_mailbox(b"&ACY-"), Err(EncodedAscii { offset: 0 }));
        // Two adjacent runs must be one.
        assert_eq!(
            decode_mailbox(b"&U,A-&U,A-"),
            Err(NotShortest { offset: 5 })
        );
        // A trailing BASE64 character that carries no whole unit.
        assert_eq!(decode_mailbox(b"&U,BTFwA-"), Err(NotShortest { offset: 0 }));
        // Non-zero padding bits: "&U,B-" decodes U+53F0 with 2 leftover bits = 01.
        assert_eq!(decode_mailbox(b"&U,B-"), Err(BadBase64 { offset: 3 }));
        // A lone high surrogate.
        assert_eq!(decode_mailbox(b"&2DQ-"), Err(BadUtf16 { offset: 0 }));
        // Too short to hold a unit.
        assert_eq!(decode_mailbox(b"&AA-"), Err(NotShortest { offset: 0 }));
    }

    #[test]
    fn a_run_after_ascii_is_fine() {
        assert_eq!(decode_mailbox(b"&AOk-t&AOk-").unwrap(), "été");
    }

    proptest! {
        #[test]
        fn round_trip(s in "\\PC*") {
            let enc = encode_mailbox(&s);
            prop_assert!(enc.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert_eq!(decode_mailbox(enc.as_bytes()).unwrap(), s);
        }

        #[test]
        fn only_canonical_forms_decode(bytes in proptest::collection::vec(
            prop_oneof![Just(b'&'), Just(b'-'), Just(b'A'), Just(b'O'), Just(b'k'), Just(b','), Just(b'a'), any::<u8>()], 0..16)) {
            if let Ok(s) = decode_mailbox(&bytes) {
                let enc = encode_mailbox(&s);
                prop_assert_eq!(enc.as_bytes(), &bytes[..]);
            }
        }
    }
}
