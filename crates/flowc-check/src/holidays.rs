//! Japan's national holidays (国民の祝日 and 休日: 振替休日, 国民の休日,
//! the moved 2020–2021 Olympic holidays, one-off ceremonies), the `japan`
//! of a calendar's `holidays`.
//!
//! The data is the Cabinet Office's published table, 「国民の祝日」について,
//! <https://www8.cao.go.jp/chosei/shukujitsu/syukujitsu.csv> (1955 to the
//! end of next year), converted from Shift_JIS to UTF-8 and otherwise
//! unchanged. It was taken from the copy that
//! <https://github.com/shogo82148/holidays-jp> keeps up to date with the
//! Cabinet Office's. To update it, download the table again, convert it
//! (`iconv -f CP932 -t UTF-8`, CRLF to LF) and replace `holidays/syukujitsu.csv`.

/// The table as published: a header line, then `YYYY/M/D,名称` lines.
const SYUKUJITSU: &str = include_str!("holidays/syukujitsu.csv");

/// The national holidays as day numbers, sorted, with their names.
pub fn japan() -> Vec<(i32, &'static str)> {
    let mut out: Vec<(i32, &'static str)> = SYUKUJITSU
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (date, name) = line.split_once(',')?;
            let mut parts = date.trim().split('/');
            let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
            let (y, m, d): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
            let day = flowc_syntax::time::parse_date(&format!("{y:04}-{m:02}-{d:02}"))?;
            Some((day, name.trim()))
        })
        .collect();
    out.sort_unstable();
    out.dedup_by_key(|(d, _)| *d);
    out
}

/// The first and last year the table covers.
pub fn japan_years() -> (i32, i32) {
    let days = japan();
    let year = |d: Option<&(i32, &str)>| {
        d.and_then(|(d, _)| flowc_syntax::time::year_month_day(*d))
            .map_or(0, |(y, _, _)| y)
    };
    (year(days.first()), year(days.last()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(date: &str) -> Option<&'static str> {
        let day = flowc_syntax::time::parse_date(date).expect("a date");
        japan().into_iter().find(|(d, _)| *d == day).map(|(_, n)| n)
    }

    #[test]
    fn knows_the_holidays_people_ask_about() {
        assert_eq!(name_of("2025-01-01"), Some("元日"));
        assert_eq!(name_of("2025-04-29"), Some("昭和の日"));
        // 振替休日: こどもの日 (5/5) … 憲法記念日 fell on Saturday 5/3.
        assert_eq!(name_of("2025-05-06"), Some("休日"));
        // 国民の休日 around the 2019 enthronement.
        assert_eq!(name_of("2019-04-30"), Some("休日"));
        assert_eq!(name_of("2019-05-01"), Some("休日（祝日扱い）"));
        assert_eq!(name_of("2019-05-02"), Some("休日"));
        // The Olympic moves of 2020 and 2021.
        assert_eq!(name_of("2020-07-23"), Some("海の日"));
        assert_eq!(name_of("2020-07-24"), Some("スポーツの日"));
        assert_eq!(name_of("2020-08-10"), Some("山の日"));
        assert_eq!(name_of("2021-07-22"), Some("海の日"));
        assert_eq!(name_of("2021-07-23"), Some("スポーツの日"));
        assert_eq!(name_of("2021-08-08"), Some("山の日"));
        assert_eq!(name_of("2021-08-09"), Some("休日"));
        // Not holidays: the usual dates of the moved ones, and a plain day.
        assert_eq!(name_of("2020-07-20"), None);
        assert_eq!(name_of("2020-08-11"), None);
        assert_eq!(name_of("2021-10-11"), None);
        assert_eq!(name_of("2025-04-30"), None);
    }

    #[test]
    fn covers_1955_to_the_table_s_last_year() {
        let (first, last) = japan_years();
        assert_eq!(first, 1955);
        assert!(last >= 2026, "{last}");
        assert!(japan().len() > 1000);
    }
}
