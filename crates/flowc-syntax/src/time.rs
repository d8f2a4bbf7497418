//! Dates, datetimes and durations as the language sees them.
//!
//! A `date` is a day number (days since 1970-01-01), a `datetime` an instant
//! (seconds since the Unix epoch, UTC), a `duration` a number of seconds.
//! Local time exists only at the edges: parsing, printing, `today`, and
//! schedules, always through the project's time zone.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

const SECONDS_PER_DAY: i64 = 86_400;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// `YYYY-MM-DD` → day number, `None` if not a calendar date.
pub fn parse_date(text: &str) -> Option<i32> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date_to_days(date))
}

pub fn date_to_days(date: NaiveDate) -> i32 {
    (date - epoch()).num_days() as i32
}

pub fn days_to_date(days: i32) -> Option<NaiveDate> {
    epoch().checked_add_signed(chrono::Duration::days(days as i64))
}

/// Day number → `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    match days_to_date(days) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => format!("<day {days}>"),
    }
}

/// ISO weekday of a day number: 1 = Monday … 7 = Sunday.
pub fn weekday(days: i32) -> i64 {
    // 1970-01-01 was a Thursday (4).
    ((days as i64 + 3).rem_euclid(7)) + 1
}

pub fn year_month_day(days: i32) -> Option<(i32, u32, u32)> {
    let d = days_to_date(days)?;
    Some((d.year(), d.month(), d.day()))
}

/// `7d`, `1h30m`, `2w` → seconds. `None` on overflow.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number: i64 = 0;
    let mut digits = false;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = number.checked_mul(10)?.checked_add(d as i64)?;
            digits = true;
            continue;
        }
        let unit = match c {
            'w' => 7 * SECONDS_PER_DAY,
            'd' => SECONDS_PER_DAY,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        if !digits {
            return None;
        }
        total = total.checked_add(number.checked_mul(unit)?)?;
        number = 0;
        digits = false;
    }
    if digits { None } else { Some(total) }
}

/// Seconds → the shortest literal that means them (`90m` → `1h30m`).
pub fn format_duration(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".into();
    }
    let sign = if seconds < 0 { "-" } else { "" };
    let mut rest = seconds.unsigned_abs();
    let mut out = String::from(sign);
    for (unit, size) in [
        ("w", 604_800u64),
        ("d", 86_400),
        ("h", 3600),
        ("m", 60),
        ("s", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// `"09:00"` → seconds after midnight.
pub fn parse_time_of_day(text: &str) -> Option<u32> {
    let time = NaiveTime::parse_from_str(text, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
        .ok()?;
    Some(chrono::Timelike::num_seconds_from_midnight(&time))
}

/// Parses a time zone name such as `Asia/Tokyo` or `UTC`.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// A datetime as users write it: `YYYY-MM-DD` (midnight), `YYYY-MM-DDTHH:MM[:SS]`
/// (both in `zone`), or RFC 3339 with an offset. Returns Unix seconds.
pub fn parse_datetime(text: &str, zone: Tz) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp());
    }
    if let Ok(dt) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%:z") {
        return Some(dt.timestamp());
    }
    if let Some(rest) = text.strip_suffix('Z') {
        let naive = parse_naive(rest)?;
        return Some(naive.and_utc().timestamp());
    }
    let naive = parse_naive(text).or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(NaiveTime::MIN))
    })?;
    local_to_instant(naive, zone)
}

fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
}

/// A local wall-clock time → the instant it names. In a DST gap the time
/// does not exist and the first instant after the gap is used; in an overlap
/// the earlier of the two instants.
pub fn local_to_instant(naive: NaiveDateTime, zone: Tz) -> Option<i64> {
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(dt) => Some(dt.timestamp()),
        chrono::LocalResult::Ambiguous(early, _) => Some(early.timestamp()),
        chrono::LocalResult::None => {
            // Skip forward minute by minute out of the gap (gaps are < 1 day).
            (1..=24 * 60).find_map(|minutes| {
                let later = naive + chrono::Duration::minutes(minutes);
                zone.from_local_datetime(&later)
                    .earliest()
                    .map(|dt| dt.timestamp() - dt.timestamp() % 60)
            })
        }
    }
}

/// The local date of an instant in `zone`, as a day number.
pub fn local_date(instant: i64, zone: Tz) -> i32 {
    match Utc.timestamp_opt(instant, 0) {
        chrono::LocalResult::Single(dt) => date_to_days(dt.with_timezone(&zone).date_naive()),
        _ => (instant.div_euclid(SECONDS_PER_DAY)) as i32,
    }
}

/// An instant printed in `zone` as `YYYY-MM-DDTHH:MM:SS+09:00`.
pub fn format_datetime(instant: i64, zone: Tz) -> String {
    match Utc.timestamp_opt(instant, 0) {
        chrono::LocalResult::Single(dt) => dt
            .with_timezone(&zone)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        _ => format!("<instant {instant}>"),
    }
}

/// Midnight at the start of a local day, as an instant.
pub fn start_of_day(days: i32, zone: Tz) -> Option<i64> {
    local_to_instant(days_to_date(days)?.and_time(NaiveTime::MIN), zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_know_weekdays() {
        let d = parse_date("2024-02-29").expect("leap day");
        assert_eq!(format_date(d), "2024-02-29");
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(weekday(parse_date("2026-11-24").unwrap_or(0)), 2);
        assert_eq!(weekday(0), 4);
        assert_eq!(weekday(-1), 3);
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("7d"), Some(7 * 86_400));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("2w"), Some(14 * 86_400));
        assert_eq!(parse_duration("99999999999999999999d"), None);
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_duration(-86_400), "-1d");
    }

    #[test]
    fn local_times_use_the_zone() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap_or(Tz::UTC);
        let t = parse_datetime("2025-01-01T09:00", tokyo).unwrap_or(0);
        assert_eq!(format_datetime(t, Tz::UTC), "2025-01-01T00:00:00+00:00");
        assert_eq!(parse_datetime("2025-01-01T00:00:00Z", tokyo), Some(t));
        assert_eq!(
            local_date(t - 1, tokyo),
            parse_date("2024-12-31").unwrap_or(0) + 1
        );
    }

    #[test]
    fn a_time_in_a_dst_gap_moves_past_the_gap() {
        let ny: Tz = "America/New_York".parse().unwrap_or(Tz::UTC);
        let t = parse_datetime("2025-03-09T02:30", ny).unwrap_or(0);
        assert_eq!(format_datetime(t, ny), "2025-03-09T03:00:00-04:00");
    }
}
