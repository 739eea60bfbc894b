//! Deterministic test messages: each one is rebuilt from the id in its `Message-ID`, so a
//! fetched body can be checked byte for byte without remembering what was appended.

use std::fmt::Write as _;

/// A small, fast, seedable PRNG (xorshift64*), enough for choosing operations.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// What a generated message carries besides its filler.
#[derive(Clone, Copy, Default)]
pub struct Spec {
    /// Approximate total size in bytes (the body is filled up to it).
    pub size: usize,
    /// Put this word in the Subject.
    pub subject_word: Option<&'static str>,
    /// Put this word in the body text.
    pub body_word: Option<&'static str>,
}

/// Builds message `id` (any u64) with the given shape. Same inputs, same bytes.
pub fn build(id: u64, spec: Spec) -> Vec<u8> {
    let mut head = String::with_capacity(512);
    let subject = match spec.subject_word {
        Some(w) => format!("load test {id} {w}"),
        None => format!("load test {id}"),
    };
    let _ = write!(
        head,
        "Return-Path: <sender@example.test>\r\n\
         Message-ID: <load-{id}-{}-{}-{}@example.test>\r\n\
         Date: Mon, 23 Jun 2025 09:06:36 -1000\r\n\
         MIME-Version: 1.0\r\n\
         User-Agent: tidings-load\r\n\
         To: bob@example.test\r\n\
         From: alice <alice@example.test>\r\n\
         Subject: {subject}\r\n\
         Content-Type: text/plain; charset=UTF-8; format=flowed\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n",
        spec.size,
        spec.subject_word.unwrap_or("none"),
        spec.body_word.unwrap_or("none"),
    );
    let mut out = head.into_bytes();
    if let Some(w) = spec.body_word {
        out.extend_from_slice(format!("The secret word is {w}.\r\n").as_bytes());
    }
    let mut rng = Rng::new(id ^ 0x5eed);
    const WORDS: [&str; 16] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa",
    ];
    let mut line_len = 0;
    while out.len() + 2 < spec.size {
        let w = WORDS[rng.below(16) as usize];
        out.extend_from_slice(w.as_bytes());
        line_len += w.len();
        if line_len > 66 {
            out.extend_from_slice(b"\r\n");
            line_len = 0;
        } else {
            out.push(b' ');
            line_len += 1;
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Rebuilds the message a fetched body claims to be (from its Message-ID) and compares.
/// `Ok(())` when equal; otherwise a short reason.
pub fn verify(body: &[u8]) -> Result<(), String> {
    let (id, spec) = parse_id(body).ok_or("no load-test Message-ID in the body")?;
    let want = build(id, spec);
    if want == body {
        Ok(())
    } else {
        let at = want
            .iter()
            .zip(body)
            .position(|(a, b)| a != b)
            .unwrap_or(want.len().min(body.len()));
        Err(format!(
            "message {id}: {} bytes, expected {}, first difference at byte {at}",
            body.len(),
            want.len()
        ))
    }
}

fn word(w: &str) -> Option<&'static str> {
    match w {
        "none" => None,
        "zebra" => Some("zebra"),
        "quokka" => Some("quokka"),
        _ => Some("?"),
    }
}

fn parse_id(body: &[u8]) -> Option<(u64, Spec)> {
    let text = std::str::from_utf8(&body[..body.len().min(400)]).ok()?;
    let i = text.find("Message-ID: <load-")?;
    let rest = &text[i + 18..];
    let rest = &rest[..rest.find('@')?];
    let mut it = rest.split('-');
    let id = it.next()?.parse().ok()?;
    let size = it.next()?.parse().ok()?;
    let subject_word = word(it.next()?);
    let body_word = word(it.next()?);
    Some((
        id,
        Spec {
            size,
            subject_word,
            body_word,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for (id, size) in [(1u64, 100usize), (77, 2048), (5, 20 * 1024)] {
            let spec = Spec {
                size,
                subject_word: Some("zebra"),
                body_word: None,
            };
            let m = build(id, spec);
            assert!(m.len() >= size.min(m.len()));
            assert_eq!(verify(&m), Ok(()));
            let mut bad = m.clone();
            let last = bad.len() - 3;
            bad[last] ^= 1;
            assert!(verify(&bad).is_err());
        }
    }
}
