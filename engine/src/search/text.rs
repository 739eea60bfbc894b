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

/// A search term, folded once and matched against already-folded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle(String);

impl Needle {
    /// Folds `term` for matching.
    pub fn new(term: &str) -> Needle {
        Needle(fold(term))
    }

    /// Is the term a substring of `folded` (text passed through [`fold`])? The empty term
    /// is a substring of everything.
    pub fn found_in(&self, folded: &str) -> bool {
        folded.contains(self.0.as_str())
    }

    /// Is the term found in `text`, which has not been folded yet?
    pub fn found_in_unfolded(&self, text: &str) -> bool {
        self.found_in(&fold(text))
    }
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
    fn empty_term_matches_any_text() {
        assert!(Needle::new("").found_in_unfolded(""));
        assert!(Needle::new("").found_in_unfolded("x"));
    }
}
