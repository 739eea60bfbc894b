//! The calendar day of an RFC 5322 `Date:` field, for SENTON / SENTSINCE / SENTBEFORE.
//! Lenient about obsolete syntax (RFC 5322 §4.3), strict enough to reject free text.

use crate::types::Date;

/// The day a `Date:` field value names, in the field's own zone (RFC 3501 §6.4.4: the
/// comparison disregards time and timezone). `None` when the value cannot be parsed.
///
/// Accepts `[weekday ","] day month year hour ":" minute [":" second] [zone]`, with comments
/// and any folding whitespace between tokens, 2-digit years (`23` is 2023, `97` is 1997) and
/// 3-digit years (`123` is 2023), as RFC 5322 §4.3 asks. The zone is not needed for the day
/// and is not checked.
pub fn parse_date_field(value: &str) -> Option<Date> {
    let cleaned = strip_comments(value);
    let mut tokens = cleaned
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .peekable();

    // Optional day of week.
    if let Some(first) = tokens.peek() {
        if first.chars().all(|c| c.is_ascii_alphabetic()) {
            if !is_weekday(first) {
                return None;
            }
            tokens.next();
        }
    }
    let day: u8 = number(tokens.next()?, 1, 2)?.try_into().ok()?;
    let month = month_number(tokens.next()?)?;
    let year_text = tokens.next()?;
    let year = match year_text.len() {
        2 => {
            let y = number(year_text, 2, 2)?;
            if y < 50 {
                2000 + y
            } else {
                1900 + y
            }
        }
        3 => 1900 + number(year_text, 3, 3)?,
        _ => number(year_text, 4, 4)?,
    };
    // A time of day must follow: free text that happens to start like a date is not a date.
    let time = tokens.next()?;
    let mut hms = time.split(':');
    let hour = number(hms.next()?, 1, 2)?;
    let minute = number(hms.next()?, 1, 2)?;
    let second = match hms.next() {
        Some(s) => number(s, 1, 2)?,
        None => 0,
    };
    if hms.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let year = u16::try_from(year).ok()?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(Date { year, month, day })
}

/// Removes RFC 5322 comments (nested parentheses, `\` quoting), replacing each by a space.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0u32;
    let mut escaped = false;
    for c in s.chars() {
        if depth > 0 {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '(' {
                depth = depth.saturating_add(1);
            } else if c == ')' {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
        } else if c == '(' {
            depth = 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// A decimal number of `min..=max` ASCII digits.
fn number(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_weekday(s: &str) -> bool {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .any(|d| s.eq_ignore_ascii_case(d))
}

fn month_number(s: &str) -> Option<u8> {
    crate::types::MONTHS
        .iter()
        .position(|m| s.eq_ignore_ascii_case(m))
        .and_then(|i| u8::try_from(i + 1).ok())
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(year: u16, month: u8, day: u8) -> Option<Date> {
        Some(Date { year, month, day })
    }

    #[test]
    fn modern_date_keeps_its_own_day_regardless_of_zone() {
        assert_eq!(
            parse_date_field(" Sun, 31 Dec 2023 23:30:00 -0500 (EST)"),
            d(2023, 12, 31)
        );
        assert_eq!(
            parse_date_field("Mon, 02 Jan 2023 10:01:00 +0000"),
            d(2023, 1, 2)
        );
    }

    #[test]
    fn obsolete_forms_are_accepted() {
        assert_eq!(parse_date_field("5 Jan 23 14:05 EST"), d(2023, 1, 5));
        assert_eq!(parse_date_field("5 Jan 97 14:05 EST"), d(1997, 1, 5));
        assert_eq!(parse_date_field("5 jan 123 14:05"), d(2023, 1, 5));
        assert_eq!(
            parse_date_field(
                "Tue,\r\n  14   Mar 2023\r\n 09:26:53 +0100 (CET, central\r\n european time)"
            ),
            d(2023, 3, 14)
        );
        assert_eq!(
            parse_date_field("(comment (nested)) Tue, 14 Mar 2023 09:26 +0100"),
            d(2023, 3, 14)
        );
    }

    #[test]
    fn garbage_is_not_a_date() {
        assert_eq!(parse_date_field("sometime last tuesday, I think"), None);
        assert_eq!(parse_date_field(""), None);
        assert_eq!(parse_date_field("31 Feb 2023 10:00:00 +0000"), None);
        assert_eq!(parse_date_field("1 Foo 2023 10:00:00 +0000"), None);
        assert_eq!(parse_date_field("1 Jan 2023"), None, "no time of day");
        assert_eq!(parse_date_field("1 Jan 2023 25:00"), None);
        assert_eq!(parse_date_field("Mon, 1 Jan 99999 10:00"), None);
        assert_eq!(parse_date_field("((((("), None);
        assert_eq!(parse_date_field("))) 1 Jan 2023 10:00"), None);
    }
}
