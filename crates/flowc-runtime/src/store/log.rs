//! `flow_log`: the audit trail of every step, problem and delivery.

use rusqlite::{Connection, params};

/// One line of the audit trail.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub at: i64,
    pub run: Option<i64>,
    pub rule: Option<String>,
    /// `table #id`.
    pub subject: Option<String>,
    pub step: String,
    pub action: String,
    pub detail: String,
}

/// Appends one line.
pub fn append(conn: &Connection, entry: &Entry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO flow_log (at, run_id, rule, subject, step, action, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        entry.at,
        entry.run,
        entry.rule,
        entry.subject,
        entry.step,
        entry.action,
        entry.detail
    ])?;
    Ok(())
}

/// Lines per multi-row `INSERT` in [`append_all`].
const CHUNK: usize = 32;

/// Appends lines in order: full chunks with one multi-row `INSERT` each
/// (a statement costs more than a row), the rest one by one.
pub fn append_all(conn: &Connection, entries: &[Entry]) -> rusqlite::Result<()> {
    let mut chunks = entries.chunks_exact(CHUNK);
    if chunks.len() > 0 {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?)"; CHUNK].join(", ");
        let sql = format!(
            "INSERT INTO flow_log (at, run_id, rule, subject, step, action, detail) VALUES {rows}"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        for chunk in &mut chunks {
            let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(CHUNK * 7);
            for e in chunk {
                values.extend([
                    &e.at as &dyn rusqlite::ToSql,
                    &e.run,
                    &e.rule,
                    &e.subject,
                    &e.step,
                    &e.action,
                    &e.detail,
                ]);
            }
            stmt.execute(values.as_slice())?;
        }
    }
    for entry in chunks.remainder() {
        append(conn, entry)?;
    }
    Ok(())
}

/// Which lines to read.
#[derive(Clone, Debug, Default)]
pub struct Filter<'a> {
    pub run: Option<i64>,
    pub rule: Option<&'a str>,
    /// Only the last N lines.
    pub tail: Option<i64>,
}

/// The lines that pass `filter`, oldest first.
pub fn read(conn: &Connection, filter: &Filter) -> rusqlite::Result<Vec<Entry>> {
    conn.prepare(
        "SELECT at, run_id, rule, subject, coalesce(step, ''), action, coalesce(detail, '') FROM (
           SELECT * FROM flow_log WHERE (?1 IS NULL OR run_id = ?1) AND (?2 IS NULL OR rule = ?2)
           ORDER BY id DESC LIMIT ?3) ORDER BY id",
    )?
    .query_map(
        params![filter.run, filter.rule, filter.tail.unwrap_or(-1)],
        |r| {
            Ok(Entry {
                at: r.get(0)?,
                run: r.get(1)?,
                rule: r.get(2)?,
                subject: r.get(3)?,
                step: r.get(4)?,
                action: r.get(5)?,
                detail: r.get(6)?,
            })
        },
    )?
    .collect()
}

/// Per step of `rule`: runs waiting there now, and runs that passed it
/// (for `flowc graph --db`).
pub fn step_counts(conn: &Connection, rule: &str) -> rusqlite::Result<Vec<(String, i64, i64)>> {
    let mut out: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    let mut waiting = conn.prepare(
        "SELECT step, count(*) FROM flow_runs WHERE rule = ?1 AND status = 'waiting' GROUP BY step",
    )?;
    for row in waiting.query_map([rule], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (step, n) = row?;
        out.entry(step).or_default().0 = n;
    }
    let mut passed = conn.prepare(
        "SELECT step, count(DISTINCT run_id) FROM flow_log WHERE rule = ?1 AND step != '' AND action != 'failed' GROUP BY step",
    )?;
    for row in passed.query_map([rule], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (step, n) = row?;
        out.entry(step).or_default().1 = n;
    }
    Ok(out.into_iter().map(|(s, (w, p))| (s, w, p)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_in_order_with_their_nulls() {
        let conn = Connection::open_in_memory().expect("memory db");
        crate::store::state::migrate(&conn).expect("migrate");
        let line = |n: i64, run: Option<i64>, detail: &str| Entry {
            at: n,
            run,
            rule: run.map(|_| "welcome".to_string()),
            subject: None,
            step: format!("step{n}"),
            action: "tagged".into(),
            detail: detail.into(),
        };
        let lines = vec![
            line(1, Some(7), "a \"quoted\" 値"),
            line(2, None, ""),
            line(3, Some(i64::MAX), "line\nbreak"),
        ];
        for line in &lines {
            append(&conn, line).expect("append");
        }
        assert_eq!(read(&conn, &Filter::default()).expect("read"), lines);
    }

    /// Lines appended together keep their order and their values, across
    /// full chunks and the rest.
    #[test]
    fn many_lines_append_in_order() {
        let conn = Connection::open_in_memory().expect("memory db");
        crate::store::state::migrate(&conn).expect("migrate");
        let lines: Vec<Entry> = (0..(2 * CHUNK as i64 + 5))
            .map(|n| Entry {
                at: n,
                run: (n % 3 != 0).then_some(n),
                rule: (n % 2 == 0).then(|| format!("rule{n}")),
                subject: Some(format!("contact #{n}")),
                step: String::new(),
                action: if n % 2 == 0 { "done" } else { "tagged" }.into(),
                detail: format!("{n} 値"),
            })
            .collect();
        append_all(&conn, &lines).expect("append");
        append_all(&conn, &[]).expect("nothing");
        assert_eq!(read(&conn, &Filter::default()).expect("read"), lines);
    }
}
