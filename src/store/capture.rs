//! Change capture and row locks, both enforced by SQLite triggers so that
//! changes made by any program are seen, and writes to a locked row are
//! refused whoever makes them.
//!
//! For each declared record whose table exists, `flowc run` installs:
//! - `flow_capture_<t>_{insert,update,delete}`: AFTER triggers that append
//!   the row's old and new values (as JSON) to `flow_changes`; an UPDATE
//!   that changes no declared field records nothing;
//! - `flow_lock_<t>_{update,delete}`: BEFORE triggers that abort a write to
//!   a row listed in `flow_locks`.
//!
//! The triggers are recreated whenever the declared fields change.

use super::sql::ident;
use crate::ir::{RecordDef, Schema};
use rusqlite::Connection;

/// The message a write to a locked row fails with.
pub const LOCKED: &str = "flowc: this row is locked by a rule";

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
}

/// `json_object('a', NEW."a", …)` for the declared fields.
fn json_of(record: &RecordDef, alias: &str) -> String {
    if record.fields.is_empty() {
        return "json_object()".into();
    }
    let parts: Vec<String> = record
        .fields
        .iter()
        .map(|f| {
            format!(
                "'{}', {alias}.{}",
                f.name.replace('\'', "''"),
                ident(&f.name)
            )
        })
        .collect();
    format!("json_object({})", parts.join(", "))
}

fn trigger_name(kind: &str, table: &str, op: &str) -> String {
    ident(&format!("flow_{kind}_{table}_{op}"))
}

/// The SQL that (re)creates one table's triggers.
pub fn triggers_sql(record: &RecordDef) -> String {
    let t = &record.name;
    let tbl = ident(t);
    let name_lit = format!("'{}'", t.replace('\'', "''"));
    let context = "(SELECT value FROM flow_context WHERE key = 'depth'), (SELECT value FROM flow_context WHERE key = 'run')";
    let changed: Vec<String> = record
        .fields
        .iter()
        .map(|f| format!("OLD.{0} IS NOT NEW.{0}", ident(&f.name)))
        .collect();
    let when_changed = if changed.is_empty() {
        "0".to_string()
    } else {
        changed.join(" OR ")
    };
    let mut sql = String::new();
    for op in ["insert", "update", "delete"] {
        sql.push_str(&format!(
            "DROP TRIGGER IF EXISTS {};\n",
            trigger_name("capture", t, op)
        ));
    }
    for op in ["update", "delete"] {
        sql.push_str(&format!(
            "DROP TRIGGER IF EXISTS {};\n",
            trigger_name("lock", t, op)
        ));
    }
    sql.push_str(&format!(
        "CREATE TRIGGER {} AFTER INSERT ON {tbl} BEGIN \
         INSERT INTO flow_changes (tbl, row_id, op, old, new, depth, run_id) \
         VALUES ({name_lit}, NEW.id, 'insert', NULL, {}, {context}); END;\n",
        trigger_name("capture", t, "insert"),
        json_of(record, "NEW"),
    ));
    sql.push_str(&format!(
        "CREATE TRIGGER {} AFTER UPDATE ON {tbl} WHEN {when_changed} BEGIN \
         INSERT INTO flow_changes (tbl, row_id, op, old, new, depth, run_id) \
         VALUES ({name_lit}, NEW.id, 'update', {}, {}, {context}); END;\n",
        trigger_name("capture", t, "update"),
        json_of(record, "OLD"),
        json_of(record, "NEW"),
    ));
    sql.push_str(&format!(
        "CREATE TRIGGER {} AFTER DELETE ON {tbl} BEGIN \
         INSERT INTO flow_changes (tbl, row_id, op, old, new, depth, run_id) \
         VALUES ({name_lit}, OLD.id, 'delete', {}, NULL, {context}); END;\n",
        trigger_name("capture", t, "delete"),
        json_of(record, "OLD"),
    ));
    for (op, row) in [("update", "OLD"), ("delete", "OLD")] {
        sql.push_str(&format!(
            "CREATE TRIGGER {} BEFORE {} ON {tbl} \
             WHEN EXISTS (SELECT 1 FROM flow_locks WHERE tbl = {name_lit} AND row_id = {row}.id) \
             BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;\n",
            trigger_name("lock", t, op),
            op.to_uppercase(),
        ));
    }
    sql
}

/// Installs or refreshes the triggers of every declared record whose table
/// exists. Returns the tables whose triggers were (re)created.
pub fn install(conn: &Connection, schema: &Schema) -> rusqlite::Result<Vec<String>> {
    let mut changed = Vec::new();
    for record in &schema.records {
        if !table_exists(conn, &record.name)? {
            continue;
        }
        let sql = triggers_sql(record);
        let key = format!("capture:{}", record.name);
        let fingerprint = format!("{:016x}", fnv(&sql));
        if super::state::meta(conn, &key)?.as_deref() == Some(fingerprint.as_str()) {
            continue;
        }
        conn.execute_batch(&sql)?;
        super::state::set_meta(conn, &key, &fingerprint)?;
        changed.push(record.name.clone());
    }
    Ok(changed)
}

/// FNV-1a: a stable hash for fingerprints stored in the database.
pub fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
