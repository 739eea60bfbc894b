//! Domain values shared by the codec, the session and the store: UIDs, flags, sequence sets,
//! mailbox names, dates and the time input. Plain data; no protocol logic beyond validation.

use std::fmt;

use smallvec::SmallVec;

/// A message UID (RFC 9051 §2.3.1.1): non-zero, strictly increasing per mailbox.
pub type Uid = u32;

/// Milliseconds since the Unix epoch, as given by the host. The engine never reads a clock:
/// every timer and every INTERNALDATE default comes from a `now` the host passes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// A timestamp `ms` milliseconds later.
    pub fn plus_millis(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }
    /// Whole seconds since the epoch (floor).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }
}

/// A message flag. System flags are matched case-insensitively on input and written in their
/// canonical case; keywords keep the case the client first used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    Answered,
    Flagged,
    Deleted,
    Seen,
    Draft,
    /// Session flag; never stored, never settable by STORE/APPEND.
    Recent,
    /// A keyword (an atom without a leading backslash), e.g. `$Forwarded`, `Project-X`.
    Keyword(String),
    /// A `\Name` flag that is not one of the system flags above (flag-extension).
    Extension(String),
}

impl Flag {
    /// Parses a flag atom (`\Seen`, `$Junk`, ...). System flags are case-insensitive.
    pub fn from_atom(s: &str) -> Flag {
        if let Some(rest) = s.strip_prefix('\\') {
            match rest.to_ascii_lowercase().as_str() {
                "answered" => Flag::Answered,
                "flagged" => Flag::Flagged,
                "deleted" => Flag::Deleted,
                "seen" => Flag::Seen,
                "draft" => Flag::Draft,
                "recent" => Flag::Recent,
                _ => Flag::Extension(s.to_string()),
            }
        } else {
            Flag::Keyword(s.to_string())
        }
    }

    /// The wire form, e.g. `\Seen`.
    pub fn as_str(&self) -> &str {
        match self {
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Seen => "\\Seen",
            Flag::Draft => "\\Draft",
            Flag::Recent => "\\Recent",
            Flag::Keyword(k) | Flag::Extension(k) => k,
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One end of a sequence range: a number or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqBound {
    Value(u32),
    Star,
}

/// A sequence set (`1:3,7,9:*`) or `$` (the saved search result, RFC 5182).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Ranges as written; a single number is `(n, n)`. `a:b` with `a > b` is allowed. Up to
    /// two are held inline (most sets are one number or one range).
    Ranges(SmallVec<[(SeqBound, SeqBound); 2]>),
    /// `$`.
    Saved,
}

impl SequenceSet {
    /// Does `n` fall in this set, given that `*` stands for `star`? `Saved` matches nothing
    /// here: the session resolves `$` before asking.
    pub fn contains(&self, n: u32, star: u32) -> bool {
        match self {
            SequenceSet::Saved => false,
            SequenceSet::Ranges(ranges) => ranges.iter().any(|&(a, b)| {
                let a = resolve(a, star);
                let b = resolve(b, star);
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                (lo..=hi).contains(&n)
            }),
        }
    }
}

fn resolve(b: SeqBound, star: u32) -> u32 {
    match b {
        SeqBound::Value(v) => v,
        SeqBound::Star => star,
    }
}

/// A calendar date as written in SEARCH keys (`1-Feb-1994`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Days since 1970-01-01 (proleptic Gregorian), for comparisons and conversions.
    pub fn days_from_epoch(self) -> i64 {
        days_from_civil(self.year as i64, self.month as i64, self.day as i64)
    }
    /// The UTC date of a Unix time in seconds shifted by `offset_minutes`.
    pub fn from_unix(secs: i64, offset_minutes: i32) -> Date {
        let local = secs + offset_minutes as i64 * 60;
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        Date {
            year: y as u16,
            month: m as u8,
            day: d as u8,
        }
    }
}

/// A date-time with zone, as in APPEND's INTERNALDATE (`"17-Jul-1996 02:44:25 -0700"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Zone offset from UTC in minutes (`-0700` is -420).
    pub zone_minutes: i16,
}

impl DateTime {
    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.date.days_from_epoch() * 86_400
            + self.hour as i64 * 3600
            + self.minute as i64 * 60
            + self.second as i64
            - self.zone_minutes as i64 * 60
    }

    /// The date-time of a Unix time shown in the given zone.
    pub fn from_unix(secs: i64, zone_minutes: i16) -> DateTime {
        let local = secs + zone_minutes as i64 * 60;
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        let rem = local.rem_euclid(86_400);
        DateTime {
            date: Date {
                year: y as u16,
                month: m as u8,
                day: d as u8,
            },
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            zone_minutes,
        }
    }

    /// The IMAP `date-time` form without quotes: `01-Jan-2024 12:00:00 +0000`.
    pub fn to_imap(&self) -> String {
        let z = self.zone_minutes;
        let sign = if z < 0 { '-' } else { '+' };
        let za = z.unsigned_abs();
        format!(
            "{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}",
            self.date.day,
            MONTHS[(self.date.month as usize).clamp(1, 12) - 1],
            self.date.year,
            self.hour,
            self.minute,
            self.second,
            sign,
            za / 60,
            za % 60
        )
    }
}

/// English month abbreviations as IMAP writes them.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Howard Hinnant's days-from-civil algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A special-use attribute (RFC 6154) a mailbox may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
}

impl SpecialUse {
    /// The LIST attribute, e.g. `\Trash`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }
    /// Parses `\Trash` etc., case-insensitively.
    pub fn from_attr(s: &str) -> Option<SpecialUse> {
        Some(match s.to_ascii_lowercase().as_str() {
            "\\all" => SpecialUse::All,
            "\\archive" => SpecialUse::Archive,
            "\\drafts" => SpecialUse::Drafts,
            "\\flagged" => SpecialUse::Flagged,
            "\\junk" => SpecialUse::Junk,
            "\\sent" => SpecialUse::Sent,
            "\\trash" => SpecialUse::Trash,
            _ => return None,
        })
    }
}

/// The hierarchy delimiter of every mailbox name.
pub const DELIMITER: char = '/';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let d = DateTime {
            date: Date {
                year: 1996,
                month: 7,
                day: 17,
            },
            hour: 2,
            minute: 44,
            second: 25,
            zone_minutes: -420,
        };
        assert_eq!(d.unix_seconds(), 837_596_665);
        let back = DateTime::from_unix(d.unix_seconds(), -420);
        assert_eq!(back, d);
        assert_eq!(d.to_imap(), "17-Jul-1996 02:44:25 -0700");
    }

    #[test]
    fn sequence_set_star_and_reversed_ranges() {
        let s = SequenceSet::Ranges(smallvec::smallvec![
            (SeqBound::Value(5), SeqBound::Value(3)),
            (SeqBound::Value(9), SeqBound::Star),
        ]);
        assert!(s.contains(4, 10));
        assert!(s.contains(10, 10));
        assert!(!s.contains(6, 10));
        assert!(s.contains(9, 2), "9:* with * = 2 is 2:9");
    }
}
