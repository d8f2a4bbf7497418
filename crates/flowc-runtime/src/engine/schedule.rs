//! When `every …` sweeps are due, in the project's time zone: `every day at
//! "09:00"` means 09:00 local time whatever the offset that day.

use chrono::{Datelike, NaiveTime};
use chrono_tz::Tz;
use flowc_check::ir::Schedule;

/// The first time strictly after `after` that the schedule is due.
pub fn next_after(schedule: Schedule, after: i64, zone: Tz) -> i64 {
    match schedule {
        Schedule::Interval { seconds } => after.saturating_add(seconds.max(1)),
        Schedule::Daily { at } => next_local(after, zone, at, None),
        Schedule::Weekly { weekday, at } => next_local(after, zone, at, Some(weekday)),
    }
}

/// The next local `at` (seconds after midnight) on a matching day.
fn next_local(after: i64, zone: Tz, at: u32, weekday: Option<u32>) -> i64 {
    let today = flowc_syntax::time::local_date(after, zone);
    let time = NaiveTime::from_num_seconds_from_midnight_opt(at, 0).unwrap_or(NaiveTime::MIN);
    for offset in 0..=8 {
        let day = today + offset;
        let Some(date) = flowc_syntax::time::days_to_date(day) else {
            continue;
        };
        if weekday.is_some_and(|w| date.weekday().number_from_monday() != w) {
            continue;
        }
        let Some(instant) = flowc_syntax::time::local_to_instant(date.and_time(time), zone) else {
            continue;
        };
        if instant > after {
            return instant;
        }
    }
    // Unreachable for real zones: some day in any eight has the time.
    after + 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, zone: Tz) -> i64 {
        flowc_syntax::time::parse_datetime(text, zone).unwrap_or(0)
    }

    #[test]
    fn daily_runs_at_local_time() {
        let tokyo: Tz = chrono_tz::Asia::Tokyo;
        let nine = 9 * 3600;
        let s = Schedule::Daily { at: nine };
        assert_eq!(
            next_after(s, at("2025-01-01T08:00", tokyo), tokyo),
            at("2025-01-01T09:00", tokyo)
        );
        assert_eq!(
            next_after(s, at("2025-01-01T09:00", tokyo), tokyo),
            at("2025-01-02T09:00", tokyo)
        );
    }

    #[test]
    fn daily_follows_dst_changes() {
        let ny: Tz = chrono_tz::America::New_York;
        let s = Schedule::Daily { at: 9 * 3600 };
        let before = at("2025-03-08T09:00", ny);
        let next = next_after(s, before, ny);
        assert_eq!(next, at("2025-03-09T09:00", ny));
        assert_eq!(next - before, 23 * 3600, "the DST day is 23 hours long");
    }

    #[test]
    fn weekly_finds_the_weekday() {
        let tokyo: Tz = chrono_tz::Asia::Tokyo;
        let monday = Schedule::Weekly {
            weekday: 1,
            at: 8 * 3600,
        };
        // 2025-01-01 is a Wednesday.
        assert_eq!(
            next_after(monday, at("2025-01-01T00:00", tokyo), tokyo),
            at("2025-01-06T08:00", tokyo)
        );
    }
}
