//! Dates, datetimes and durations as the language sees them.
//!
//! A `date` is a day number (days since 1970-01-01), a `datetime` an instant
//! (seconds since the Unix epoch, UTC), a `duration` a number of seconds.
//! Calendar months (`4mo`, `1y`) have no length in seconds: they move a date
//! or a local time by months, clamped to the month's end ([`add_months`]).
//! Local time exists only at the edges: parsing, printing, `today`,
//! schedules, months and `DATE at "HH:MM"`, always through the project's
//! time zone.

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

/// `4mo`, `1y`, `1y6mo` → months. `None` on overflow, for anything else,
/// or for a literal that mixes calendar units with fixed ones (`1mo3d`).
pub fn parse_months(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: i64 = rest[..digits].parse().ok()?;
        let after = &rest[digits..];
        let (per, unit_len) = if after.starts_with("mo") {
            (1, 2)
        } else if after.starts_with('y') {
            (12, 1)
        } else {
            return None;
        };
        total = total.checked_add(number.checked_mul(per)?)?;
        rest = &after[unit_len..];
    }
    (!text.is_empty()).then_some(total)
}

/// Whether a duration literal names calendar units (`mo`, `y`) anywhere.
pub fn is_calendar_literal(text: &str) -> bool {
    text.contains("mo") || text.contains('y')
}

/// Months → the literal that means them: `4mo`, `1y`, `1y6mo`, `-2y`.
pub fn format_months(months: i64) -> String {
    let sign = if months < 0 { "-" } else { "" };
    let n = months.unsigned_abs();
    match (n / 12, n % 12) {
        (0, m) => format!("{sign}{m}mo"),
        (y, 0) => format!("{sign}{y}y"),
        (y, m) => format!("{sign}{y}y{m}mo"),
    }
}

/// The date `months` calendar months after `days` (before, when negative),
/// clamped to the end of a shorter month: 2025-01-31 + 1 month is
/// 2025-02-28, 2024-02-29 + 12 months is 2025-02-28. `None` outside the
/// calendar's range.
pub fn add_months(days: i32, months: i64) -> Option<i32> {
    Some(date_to_days(shift_months(days_to_date(days)?, months)?))
}

fn shift_months(date: NaiveDate, months: i64) -> Option<NaiveDate> {
    let index = i64::from(date.year())
        .checked_mul(12)?
        .checked_add(i64::from(date.month0()))?
        .checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    // The last day of the target month is the day before the next month's first.
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = first_of_next.pred_opt()?.day();
    NaiveDate::from_ymd_opt(year, month, date.day().min(last))
}

/// The instant `months` calendar months after `instant`, keeping the local
/// time of day in `zone` (the date moves as [`add_months`] moves it; a
/// local time that does not exist that day moves past the gap).
pub fn add_months_local(instant: i64, months: i64, zone: Tz) -> Option<i64> {
    let local = Utc.timestamp_opt(instant, 0).single()?.with_timezone(&zone);
    let naive = local.naive_local();
    let date = shift_months(naive.date(), months)?;
    local_to_instant(date.and_time(naive.time()), zone)
}

/// `DATE at "HH:MM"`: the instant of that local time (seconds after
/// midnight) on that date in `zone`.
pub fn at_time_of_day(days: i32, seconds: u32, zone: Tz) -> Option<i64> {
    let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0)?;
    local_to_instant(days_to_date(days)?.and_time(time), zone)
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

    fn ymd(text: &str) -> i32 {
        parse_date(text).unwrap_or(i32::MIN)
    }

    #[test]
    fn months_clamp_to_the_end_of_the_month() {
        let cases = [
            ("2025-01-31", 1, "2025-02-28"),
            ("2024-01-31", 1, "2024-02-29"),
            ("2024-02-29", 12, "2025-02-28"),
            ("2024-02-29", 48, "2028-02-29"),
            ("2025-03-31", -1, "2025-02-28"),
            ("2025-05-31", -4, "2025-01-31"),
            ("2025-12-15", 1, "2026-01-15"),
            ("2026-01-15", -1, "2025-12-15"),
            ("2025-08-31", 4, "2025-12-31"),
            ("2025-10-31", 1, "2025-11-30"),
            ("2025-01-01", -13, "2023-12-01"),
            ("2025-06-15", 0, "2025-06-15"),
        ];
        for (from, months, to) in cases {
            assert_eq!(
                add_months(ymd(from), months),
                Some(ymd(to)),
                "{from} + {months}mo"
            );
        }
        assert_eq!(add_months(0, i64::MAX), None);
        assert_eq!(add_months(0, 12 * 1_000_000), None);
    }

    #[test]
    fn month_literals_parse_and_print() {
        assert_eq!(parse_months("4mo"), Some(4));
        assert_eq!(parse_months("1y"), Some(12));
        assert_eq!(parse_months("1y6mo"), Some(18));
        assert_eq!(parse_months("1mo3d"), None);
        assert_eq!(parse_months("3d"), None);
        assert_eq!(parse_months("99999999999999999999y"), None);
        assert_eq!(format_months(4), "4mo");
        assert_eq!(format_months(24), "2y");
        assert_eq!(format_months(-18), "-1y6mo");
        assert!(is_calendar_literal("1y") && !is_calendar_literal("1m"));
    }

    #[test]
    fn months_keep_the_local_time_of_day() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap_or(Tz::UTC);
        let t = parse_datetime("2025-01-31T10:30", tokyo).unwrap_or(0);
        let later = add_months_local(t, 1, tokyo).unwrap_or(0);
        assert_eq!(format_datetime(later, tokyo), "2025-02-28T10:30:00+09:00");
        // Across a change to summer time the wall-clock time stays.
        let ny: Tz = "America/New_York".parse().unwrap_or(Tz::UTC);
        let t = parse_datetime("2025-02-10T09:00", ny).unwrap_or(0);
        let later = add_months_local(t, 1, ny).unwrap_or(0);
        assert_eq!(format_datetime(later, ny), "2025-03-10T09:00:00-04:00");
        let at = at_time_of_day(ymd("2025-04-01"), 10 * 3600, tokyo).unwrap_or(0);
        assert_eq!(format_datetime(at, tokyo), "2025-04-01T10:00:00+09:00");
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
