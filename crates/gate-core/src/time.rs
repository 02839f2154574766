//! Time as a value: the core never reads a clock, every event arrives with [`Now`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// The moment an event is handled, as measured by the daemon.
///
/// `monotonic_ms` drives every timeout (it never jumps); `unix_ms` is only used to stamp records
/// and to derive the calendar date for document-expiry and age rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Now {
    /// Milliseconds on a monotonic clock (e.g. since the daemon started).
    pub monotonic_ms: u64,
    /// Wall-clock milliseconds since the Unix epoch (UTC).
    pub unix_ms: i64,
}

impl Now {
    /// A moment given by both clocks.
    pub const fn new(monotonic_ms: u64, unix_ms: i64) -> Self {
        Self {
            monotonic_ms,
            unix_ms,
        }
    }

    /// The same moment advanced by `ms` milliseconds on both clocks.
    pub const fn after_ms(self, ms: u64) -> Self {
        Self {
            monotonic_ms: self.monotonic_ms.saturating_add(ms),
            unix_ms: self.unix_ms.saturating_add(ms as i64),
        }
    }

    /// The local calendar date at this moment, for a site `utc_offset_minutes` east of UTC.
    pub fn local_date(self, utc_offset_minutes: i32) -> Date {
        let local_ms = self
            .unix_ms
            .saturating_add(i64::from(utc_offset_minutes) * 60_000);
        Date::from_days_since_epoch(local_ms.div_euclid(86_400_000))
    }
}

/// A calendar date (proleptic Gregorian), as printed in a travel document.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    /// Full year, e.g. 2031.
    pub year: i32,
    /// Month 1..=12.
    pub month: u8,
    /// Day of month 1..=31.
    pub day: u8,
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A date that does not exist in the calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidDate {
    /// The year given.
    pub year: i32,
    /// The month given.
    pub month: u8,
    /// The day given.
    pub day: u8,
}

impl fmt::Display for InvalidDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} is not a calendar date",
            self.year, self.month, self.day
        )
    }
}

impl std::error::Error for InvalidDate {}

impl Date {
    /// A checked calendar date.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, InvalidDate> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        if valid {
            Ok(Self { year, month, day })
        } else {
            Err(InvalidDate { year, month, day })
        }
    }

    /// The date `days` days after 1970-01-01 (negative before it).
    pub fn from_days_since_epoch(days: i64) -> Self {
        // Howard Hinnant's civil-from-days algorithm.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self { year, month, day }
    }

    /// Completed years of age on `today` for someone born on `self`.
    pub fn age_on(self, today: Date) -> i32 {
        let mut age = today.year - self.year;
        if (today.month, today.day) < (self.month, self.day) {
            age -= 1;
        }
        age
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(
            Date::from_days_since_epoch(0),
            Date::new(1970, 1, 1).unwrap()
        );
        // 2000-02-29 is day 11016.
        assert_eq!(
            Date::from_days_since_epoch(11_016),
            Date::new(2000, 2, 29).unwrap()
        );
        assert_eq!(
            Date::from_days_since_epoch(-1),
            Date::new(1969, 12, 31).unwrap()
        );
    }

    #[test]
    fn local_date_uses_site_offset() {
        // 2026-11-26T20:00:00Z is already 2026-11-27 in Tokyo (UTC+9).
        let now = Now::new(0, 1_795_723_200_000);
        assert_eq!(now.local_date(0), Date::new(2026, 11, 26).unwrap());
        assert_eq!(now.local_date(9 * 60), Date::new(2026, 11, 27).unwrap());
    }

    #[test]
    fn age_counts_completed_years() {
        let born = Date::new(2010, 6, 15).unwrap();
        assert_eq!(born.age_on(Date::new(2026, 6, 14).unwrap()), 15);
        assert_eq!(born.age_on(Date::new(2026, 6, 15).unwrap()), 16);
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(Date::new(2023, 2, 29).is_err());
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(2024, 13, 1).is_err());
        assert!(Date::new(2024, 4, 31).is_err());
    }
}
