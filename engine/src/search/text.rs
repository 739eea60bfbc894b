//! Case-insensitive substring matching for SEARCH text keys, on Unicode text.
//! Both sides are folded the same way, so `GRÜSSE`-style comparisons stay symmetric.

/// Folds `s` for case-insensitive comparison: every character is replaced by its Unicode
/// lower-case mapping (`char::to_lowercase`), which covers ASCII, Latin, Greek and Cyrillic
/// case pairs. Applied to both the search term and the message text.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The UTF-8 encodings of the only non-ASCII characters whose [`fold`] contains ASCII:
/// U+0130 (İ, to `i` and a combining dot) and U+212A (the Kelvin sign, to `k`).
pub const ASCII_FROM_NON_ASCII: [&[u8]; 2] = [b"\xC4\xB0", b"\xE2\x84\xAA"];

/// A search term, folded once and matched against already-folded text.
#[derive(Debug, Clone)]
pub struct Needle {
    folded: String,
    /// Built on first use: a search of plain messages by an ASCII term never needs it.
    finder: std::cell::OnceCell<memchr::memmem::Finder<'static>>,
}

impl PartialEq for Needle {
    fn eq(&self, other: &Needle) -> bool {
        self.folded == other.folded
    }
}

impl Eq for Needle {}

impl Needle {
    /// Folds `term` for matching.
    pub fn new(term: &str) -> Needle {
        let folded = fold(term);
        Needle {
            folded,
            finder: std::cell::OnceCell::new(),
        }
    }

    /// Is the term a substring of `folded` (text passed through [`fold`])? The empty term
    /// is a substring of everything.
    pub fn found_in(&self, folded: &str) -> bool {
        self.found_in_folded_bytes(folded.as_bytes())
    }

    /// [`Needle::found_in`] on the bytes of folded text.
    pub fn found_in_folded_bytes(&self, folded: &[u8]) -> bool {
        if self.folded.is_ascii() && self.folded.len() <= SHORT {
            // Folded text has no ASCII upper case, so this is the same test, without
            // building a finder.
            return find_ascii_nocase(folded, self.folded.as_bytes());
        }
        self.finder().find(folded).is_some()
    }

    fn finder(&self) -> &memchr::memmem::Finder<'static> {
        self.finder
            .get_or_init(|| memchr::memmem::Finder::new(self.folded.as_bytes()).into_owned())
    }

    /// The folded term.
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// Is the term found in `bytes` read as (lossy) UTF-8 and folded? Answers only when
    /// that can be decided on the bytes themselves, ASCII case ignored: `None` for a term
    /// with non-ASCII characters, or bytes containing a character whose lower case is ASCII
    /// ([`ASCII_FROM_NON_ASCII`]).
    ///
    /// Why this equals `found_in(&fold(&String::from_utf8_lossy(bytes)))`: lossy decoding
    /// keeps every ASCII byte and turns the rest into non-ASCII characters, and folding
    /// maps ASCII to ASCII and (but for those listed) non-ASCII to non-ASCII; so the ASCII
    /// runs of the folded text are the ASCII runs of `bytes`, lower-cased.
    pub fn found_in_bytes(&self, bytes: &[u8]) -> Option<bool> {
        if !self.folded.is_ascii() {
            return None;
        }
        if !bytes.is_ascii()
            && ASCII_FROM_NON_ASCII
                .iter()
                .any(|seq| memchr::memmem::find(bytes, seq).is_some())
        {
            return None;
        }
        if self.folded.len() > SHORT {
            // Many partial matches of a long term could cost much: match it on a
            // lower-cased copy instead.
            let mut lower = Vec::with_capacity(bytes.len());
            lower.extend(bytes.iter().map(|&b| ascii_lower(b)));
            return Some(self.finder().find(&lower).is_some());
        }
        Some(find_ascii_nocase(bytes, self.folded.as_bytes()))
    }

    /// Is the term found in `text`, which has not been folded yet?
    pub fn found_in_unfolded(&self, text: &str) -> bool {
        self.found_in(&fold(text))
    }
}

/// The longest term [`find_ascii_nocase`] checks candidate by candidate.
const SHORT: usize = 32;

/// Is `needle` (ASCII, lower case, at most [`SHORT`] bytes) in `hay`, ASCII case ignored?
/// Candidates come from a vectorised scan for the needle's least common byte (in either
/// case), each checked in full.
fn find_ascii_nocase(hay: &[u8], needle: &[u8]) -> bool {
    let Some(anchor) = needle
        .iter()
        .enumerate()
        .min_by_key(|&(_, &b)| commonness(b))
        .map(|(i, _)| i)
    else {
        return true;
    };
    if needle.len() > hay.len() {
        return false;
    }
    let b = needle[anchor];
    let upper = b.to_ascii_uppercase();
    // The anchor byte of a match lies in `hay[anchor..hay.len() - tail]`.
    let tail = needle.len() - anchor - 1;
    let Some(window) = hay.get(anchor..hay.len() - tail) else {
        return false;
    };
    let is_match = |at: usize| {
        let start = at;
        hay.get(start..start + needle.len())
            .is_some_and(|cand| cand.iter().zip(needle).all(|(&h, &n)| ascii_lower(h) == n))
    };
    if upper == b {
        memchr::memchr_iter(b, window).any(is_match)
    } else {
        memchr::memchr2_iter(b, upper, window).any(is_match)
    }
}

/// How common byte `b` is in mail text (a rough rank: letters by English frequency, then
/// digits and punctuation, with space and line ends the most common).
fn commonness(b: u8) -> u8 {
    const LETTERS: &[u8; 26] = b"etaoinsrhldcumfpgwybvkxjqz";
    match b {
        b' ' | b'\r' | b'\n' => 255,
        b'a'..=b'z' => {
            let rank = LETTERS.iter().position(|&l| l == b).unwrap_or(0);
            60 - rank as u8 * 2
        }
        b'0'..=b'9' => 20,
        _ => 10,
    }
}

/// `b` with ASCII upper case lowered, branch-free (so loops over it vectorize).
#[inline]
pub fn ascii_lower(b: u8) -> u8 {
    b | (u8::from(b.wrapping_sub(b'A') < 26) << 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_non_ascii_case_are_ignored() {
        assert!(Needle::new("hello world").found_in_unfolded("Say HELLO World!"));
        assert!(Needle::new("GRÜßE").found_in_unfolded("viele grüße aus köln"));
        assert!(Needle::new("привет").found_in_unfolded("ПРИВЕТ, мир"));
        assert!(Needle::new("Köln").found_in_unfolded("KÖLN"));
    }

    #[test]
    fn different_text_does_not_match() {
        assert!(!Needle::new("koln").found_in_unfolded("Köln"));
        assert!(!Needle::new("world").found_in_unfolded("wor ld"));
        assert!(!Needle::new("longer than the text").found_in_unfolded("short"));
    }

    #[test]
    fn only_the_listed_characters_fold_to_ascii() {
        let to_ascii: Vec<Vec<u8>> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| c.to_lowercase().any(|l| l.is_ascii()))
            .map(|c| c.to_string().into_bytes())
            .collect();
        let listed: Vec<Vec<u8>> = ASCII_FROM_NON_ASCII.iter().map(|s| s.to_vec()).collect();
        assert_eq!(to_ascii, listed);
    }

    #[test]
    fn bytes_match_like_their_folded_text() {
        let texts: [&[u8]; 6] = [
            b"Say HELLO World!",
            "Grüße, KELVIN \u{212A}elvin".as_bytes(),
            "\u{130}stanbul".as_bytes(),
            b"bad \xff\xfe utf-8 HeLLo",
            b"split \xE2\x84 k",
            b"",
        ];
        let terms = [
            "hello", "kelvin", "istanbul", "i", "k", "", "grüße", "\u{212A}", "o w",
        ];
        for text in texts {
            let folded = fold(&String::from_utf8_lossy(text));
            for term in terms {
                let needle = Needle::new(term);
                let want = folded.contains(needle.folded());
                assert_eq!(needle.found_in(&folded), want, "{term:?} in {text:?}");
                if let Some(found) = needle.found_in_bytes(text) {
                    assert_eq!(found, want, "{term:?} in {text:?}");
                }
            }
        }
        assert_eq!(
            Needle::new("HELLO").found_in_bytes(b"say hello"),
            Some(true)
        );
        assert_eq!(Needle::new("grüße").found_in_bytes(b"x"), None);
        assert_eq!(Needle::new("k").found_in_bytes("\u{212A}".as_bytes()), None);
    }

    #[test]
    fn byte_search_agrees_with_folding_on_every_substring() {
        let mut long = String::new();
        for i in 0..40 {
            long.push_str(&format!("Word{i} qUoKkA xyz-{} ", i * 7));
        }
        let texts = [
            "The secret word is QUOKKA.\r\nalpha bravo Kilo mike\r\n".to_string(),
            "aaaaaaaaaaAAAAAAAAAAaaaaaaaab eeeee E e".to_string(),
            "Grüße aus KÖLN: ünïcödé täxt, ascii in between ÄÖÜ end".to_string(),
            long,
        ];
        for text in &texts {
            let folded = fold(text);
            let chars: Vec<char> = text.chars().collect();
            for len in [1, 2, 3, 5, 8, 13, 31, 32, 33, 60] {
                for start in (0..chars.len().saturating_sub(len)).step_by(3) {
                    let piece: String = chars[start..start + len].iter().collect();
                    for term in [piece.clone(), piece.to_uppercase(), format!("{piece}!")] {
                        let needle = Needle::new(&term);
                        let want = folded.contains(needle.folded());
                        assert_eq!(needle.found_in(&folded), want, "{term:?}");
                        let decided = needle.folded().is_ascii().then_some(want);
                        assert_eq!(needle.found_in_bytes(text.as_bytes()), decided, "{term:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn ascii_lower_is_to_ascii_lowercase() {
        for b in 0..=255u8 {
            assert_eq!(ascii_lower(b), b.to_ascii_lowercase());
        }
    }

    #[test]
    fn empty_term_matches_any_text() {
        assert!(Needle::new("").found_in_unfolded(""));
        assert!(Needle::new("").found_in_unfolded("x"));
    }
}
