//! What steps produce besides record changes: list memberships, tags,
//! tasks, approvals requested, row locks; and the capture context that
//! tells the triggers which run is writing.

use rusqlite::{Connection, params};

/// Adds `row` to `list`; `false` if it was already a member.
pub fn add_list_member(
    conn: &Connection,
    list: &str,
    row: i64,
    at: i64,
    run: i64,
) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO flow_list_members (list, row_id, added_at, run_id) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![list, row, at, run])?;
    Ok(n > 0)
}

/// Removes `row` from `list`; `false` if it was not a member.
pub fn remove_list_member(conn: &Connection, list: &str, row: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM flow_list_members WHERE list = ?1 AND row_id = ?2")?
        .execute(params![list, row])?;
    Ok(n > 0)
}

/// Whether `row` is a member of `list`.
pub fn is_list_member(conn: &Connection, list: &str, row: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM flow_list_members WHERE list = ?1 AND row_id = ?2)",
    )?
    .query_row(params![list, row], |r| r.get(0))
}

/// Whether a row has a tag.
pub fn has_tag(conn: &Connection, table: &str, row: i64, tag: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM flow_tags WHERE tbl = ?1 AND row_id = ?2 AND tag = ?3)",
    )?
    .query_row(params![table, row, tag], |r| r.get(0))
}

/// Tags a row; `false` if it already had the tag.
pub fn add_tag(
    conn: &Connection,
    table: &str,
    row: i64,
    tag: &str,
    at: i64,
) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO flow_tags (tbl, row_id, tag, at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![table, row, tag, at])?;
    Ok(n > 0)
}

/// Removes a tag; `false` if the row did not have it.
pub fn remove_tag(conn: &Connection, table: &str, row: i64, tag: &str) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM flow_tags WHERE tbl = ?1 AND row_id = ?2 AND tag = ?3")?
        .execute(params![table, row, tag])?;
    Ok(n > 0)
}

/// A task a run creates.
pub struct NewTask<'a> {
    pub run: i64,
    pub rule: &'a str,
    pub title: &'a str,
    pub assignee_table: &'a str,
    pub assignee: i64,
    pub due: Option<&'a str>,
    pub at: i64,
}

pub fn insert_task(conn: &Connection, task: &NewTask) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO flow_tasks (run_id, rule, title, assignee_tbl, assignee_id, due, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        task.run,
        task.rule,
        task.title,
        task.assignee_table,
        task.assignee,
        task.due,
        task.at
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Records a pending approval; returns its id.
pub fn request_approval(
    conn: &Connection,
    run: i64,
    rule: &str,
    approver_table: &str,
    approver: i64,
    at: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO flow_approvals (run_id, rule, approver_tbl, approver_id, status, requested_at) \
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
    )?
    .execute(params![run, rule, approver_table, approver, at])?;
    Ok(conn.last_insert_rowid())
}

/// Locks a row (the lock triggers then refuse every write to it).
pub fn lock(conn: &Connection, table: &str, row: i64, run: i64, at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO flow_locks (tbl, row_id, run_id, locked_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![table, row, run, at])?;
    Ok(())
}

pub fn unlock(conn: &Connection, table: &str, row: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM flow_locks WHERE tbl = ?1 AND row_id = ?2")?
        .execute(params![table, row])?;
    Ok(())
}

/// Tells the capture triggers who is writing: the cascade depth and run
/// they copy into `flow_changes` (0 and none: not a rule).
pub fn set_capture_context(
    conn: &Connection,
    depth: i64,
    run: Option<i64>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE flow_context SET value = CASE key WHEN 'depth' THEN ?1 ELSE ?2 END",
    )?
    .execute(params![depth, run])?;
    Ok(())
}

/// Records a list or tag change (`table` is `list:NAME` or `tag:TABLE`) as
/// a change, so that conditions reading lists and tags are re-checked.
pub fn record_synthetic_change(
    conn: &Connection,
    table: &str,
    row: i64,
    added: bool,
    depth: i64,
    run: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO flow_changes (tbl, row_id, op, depth, run_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        table,
        row,
        if added { "insert" } else { "delete" },
        depth,
        run
    ])?;
    Ok(())
}
