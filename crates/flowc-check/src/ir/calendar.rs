//! Calendars: which days are business days and when business is open.
//! The checker builds them (weekends, the national holidays, holiday
//! files); the VM, the JIT's runtime calls and the engine ask them.

use chrono_tz::Tz;
use flowc_syntax::time;

/// How far a business-day or business-hour count may reach, in days: a
/// count that would walk further is an overflow, not a long loop.
pub const MAX_BUSINESS_WALK: i64 = 3_000_000;

/// A `calendar` declaration, resolved.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CalendarDef {
    pub name: String,
    /// Closed weekdays: bit 0 is Monday … bit 6 Sunday.
    pub weekends: u8,
    /// Closed dates as day numbers, sorted, without duplicates.
    pub holidays: Vec<i32>,
    /// Open from and until, seconds after local midnight (`from < until`);
    /// `None` when the calendar declares no hours (open all day).
    pub hours: Option<(u32, u32)>,
}

impl CalendarDef {
    /// Whether business is done on `day` (not a weekend, not a holiday).
    pub fn is_business_day(&self, day: i32) -> bool {
        let bit = 1u8 << (time::weekday(day) - 1);
        self.weekends & bit == 0 && self.holidays.binary_search(&day).is_err()
    }

    /// The nearest business day after (`step` 1) or before (`step` -1)
    /// `day`, not `day` itself; `None` past the walk's reach.
    fn business_day_from(&self, day: i32, step: i32) -> Option<i32> {
        let mut d = day;
        for _ in 0..(7 + self.holidays.len()) {
            d = d.checked_add(step)?;
            if self.is_business_day(d) {
                return Some(d);
            }
        }
        None
    }

    /// `next_business_day(d)`: the first business day strictly after `day`.
    pub fn next_business_day(&self, day: i32) -> Option<i32> {
        self.business_day_from(day, 1)
    }

    /// `add_business_days(d, n)`: `n` business days after the last
    /// business day on or before `day` (before it, for negative `n`). A
    /// calendar whose only closed days are Saturday and Sunday gives what
    /// the standard library's Monday-to-Friday version gives.
    pub fn add_business_days(&self, day: i32, n: i64) -> Option<i32> {
        if n.unsigned_abs() > MAX_BUSINESS_WALK as u64 {
            return None;
        }
        let mut d = if self.is_business_day(day) {
            day
        } else {
            self.business_day_from(day, -1)?
        };
        let step = if n < 0 { -1 } else { 1 };
        for _ in 0..n.unsigned_abs() {
            d = self.business_day_from(d, step)?;
        }
        Some(d)
    }

    /// A datetime moved by `n` business days, keeping its local time.
    pub fn add_business_days_local(&self, instant: i64, n: i64, zone: Tz) -> Option<i64> {
        let day = time::local_date(instant, zone);
        let midnight = time::start_of_day(day, zone)?;
        let since_midnight = u32::try_from(instant.checked_sub(midnight)?).ok()?;
        time::at_time_of_day(self.add_business_days(day, n)?, since_midnight, zone)
    }

    /// When the calendar is open on `day`, as instants; `None` on a day
    /// that is not a business day.
    fn open_on(&self, day: i32, zone: Tz) -> Option<(i64, i64)> {
        if !self.is_business_day(day) {
            return None;
        }
        match self.hours {
            Some((from, until)) => Some((
                time::at_time_of_day(day, from, zone)?,
                time::at_time_of_day(day, until, zone)?,
            )),
            None => Some((
                time::start_of_day(day, zone)?,
                time::start_of_day(day.checked_add(1)?, zone)?,
            )),
        }
    }

    /// The instant `seconds` of open time after `instant`: only the hours
    /// the calendar is open count (`wait 4 business hours`). Zero or less
    /// is `instant` itself.
    pub fn add_business_seconds(&self, instant: i64, seconds: i64, zone: Tz) -> Option<i64> {
        if seconds <= 0 {
            return Some(instant);
        }
        let mut at = instant;
        let mut left = seconds;
        let mut day = time::local_date(instant, zone);
        for _ in 0..MAX_BUSINESS_WALK {
            if let Some((open, close)) = self.open_on(day, zone) {
                let from = at.max(open);
                if from < close {
                    let available = close - from;
                    if left <= available {
                        return Some(from + left);
                    }
                    left -= available;
                }
            }
            day = day.checked_add(1)?;
            at = time::start_of_day(day, zone)?;
        }
        None
    }

    /// The first instant at or after `instant` when the calendar is open
    /// (`send during`).
    pub fn next_open(&self, instant: i64, zone: Tz) -> Option<i64> {
        let mut day = time::local_date(instant, zone);
        for _ in 0..(8 + self.holidays.len()) {
            if let Some((open, close)) = self.open_on(day, zone)
                && instant < close
            {
                return Some(instant.max(open));
            }
            day = day.checked_add(1)?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> i32 {
        time::parse_date(text).expect("a date")
    }

    fn business() -> CalendarDef {
        CalendarDef {
            name: "business".into(),
            weekends: 0b110_0000,
            holidays: vec![
                day("2025-04-29"),
                day("2025-05-03"),
                day("2025-05-05"),
                day("2025-05-06"),
            ],
            hours: Some((9 * 3600, 18 * 3600)),
        }
    }

    fn at(text: &str) -> i64 {
        time::parse_datetime(text, chrono_tz::Asia::Tokyo).expect("a datetime")
    }

    #[test]
    fn counts_business_days_around_golden_week() {
        let c = business();
        assert!(!c.is_business_day(day("2025-04-29")));
        assert!(!c.is_business_day(day("2025-04-26")));
        assert!(c.is_business_day(day("2025-04-28")));
        assert_eq!(
            c.add_business_days(day("2025-04-25"), 3),
            Some(day("2025-05-01"))
        );
        assert_eq!(
            c.add_business_days(day("2025-05-01"), -3),
            Some(day("2025-04-25"))
        );
        assert_eq!(
            c.next_business_day(day("2025-05-02")),
            Some(day("2025-05-07"))
        );
        assert_eq!(
            c.add_business_days(day("2025-04-26"), 0),
            Some(day("2025-04-25"))
        );
    }

    #[test]
    fn counts_open_hours_only() {
        let c = business();
        let tz = chrono_tz::Asia::Tokyo;
        let four_hours = 4 * 3600;
        assert_eq!(
            c.add_business_seconds(at("2025-04-25T17:00"), four_hours, tz),
            Some(at("2025-04-28T12:00"))
        );
        // Monday 28th 17:00 → Tuesday is 昭和の日 → Wednesday 12:00.
        assert_eq!(
            c.add_business_seconds(at("2025-04-28T17:00"), four_hours, tz),
            Some(at("2025-04-30T12:00"))
        );
        assert_eq!(
            c.add_business_seconds(at("2025-04-25T14:00"), four_hours, tz),
            Some(at("2025-04-25T18:00"))
        );
        assert_eq!(
            c.next_open(at("2025-05-02T02:00"), tz),
            Some(at("2025-05-02T09:00"))
        );
        assert_eq!(
            c.next_open(at("2025-05-02T18:00"), tz),
            Some(at("2025-05-07T09:00"))
        );
        assert_eq!(
            c.next_open(at("2025-05-02T10:30"), tz),
            Some(at("2025-05-02T10:30"))
        );
    }

    #[test]
    fn a_calendar_closed_every_day_gives_no_answer() {
        let c = CalendarDef {
            weekends: 0b111_1111,
            ..CalendarDef::default()
        };
        assert_eq!(c.next_business_day(day("2025-01-01")), None);
        assert_eq!(c.add_business_days(day("2025-01-01"), 1), None);
    }
}
