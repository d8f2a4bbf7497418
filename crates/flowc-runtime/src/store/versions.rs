//! `flow_versions`: every rule version the engine ran, with a snapshot of
//! the project it came from (see `Project::snapshot`).

use rusqlite::{Connection, OptionalExtension, params};

/// Keeps `version` of `rule` with its project snapshot (once).
pub fn remember(
    conn: &Connection,
    version: &str,
    rule: &str,
    project: &str,
    at: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO flow_versions (version, rule, project, seen_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![version, rule, project, at])?;
    Ok(())
}

/// The project snapshot kept with `version` of `rule`.
pub fn project(conn: &Connection, rule: &str, version: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT project FROM flow_versions WHERE version = ?1 AND rule = ?2",
        params![version, rule],
        |r| r.get(0),
    )
    .optional()
}

/// `flow_meta`'s key for the project the engine last opened the database
/// with.
const LAST_PROJECT: &str = "project";

/// Keeps `project` as the last project, unless it is the one kept.
pub fn remember_project(conn: &Connection, project: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO flow_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value <> excluded.value",
    )?
    .execute(params![LAST_PROJECT, project])?;
    Ok(())
}

/// The project the engine last opened the database with.
pub fn last_project(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM flow_meta WHERE key = ?1",
        [LAST_PROJECT],
        |r| r.get(0),
    )
    .optional()
}

/// Every rule name the engine ever ran, by name.
pub fn rule_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT DISTINCT rule FROM flow_versions ORDER BY rule")?
        .query_map([], |r| r.get(0))?
        .collect()
}
