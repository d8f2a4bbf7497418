//! Change capture and row locks, both enforced by SQLite triggers so that
//! changes made by any program are seen, and writes to a locked row are
//! refused whoever makes them.
//!
//! For each declared record whose table exists, `flowc run` installs:
//! - `flow_capture_<t>_{insert,update,delete}`: AFTER triggers that append
//!   the row's old and new values to `flow_changes` (a JSON object per row,
//!   written so that no stored value can make the trigger fail: see
//!   [`super::captured`]); an UPDATE that changes no declared field records
//!   nothing; a DELETE also records the last event committed before it;
//! - `flow_lock_<t>_{update,delete}`: BEFORE triggers that abort a write to
//!   a row listed in `flow_locks`;
//! - `flow_odd_<t>_{insert,update,clear,delete}`: AFTER triggers that keep
//!   `flow_odd_rows` listing the rows holding a value in a form flowc does
//!   not read as SQLite compares it (a number stored as text, a date that
//!   is not `YYYY-MM-DD`, a value outside its enum, a null in a non-null
//!   field: see [`canonical_sql`]). A sweep hands those rows to the VM, so
//!   its pushed-down `WHERE` never decides them, at no cost per row scanned.
//!   Installing the triggers lists the rows already there.
//!
//! The triggers are recreated whenever their SQL changes (the declared
//! fields, or a new flowc), all of them and their fingerprints in one
//! transaction: a write made meanwhile by another program is captured by the
//! old triggers or by the new ones, never by neither.

use super::captured::capture_sql;
use super::sql::ident;
use flowc_check::ir::{FieldDef, RecordDef, Schema, Type};
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

/// `json_object('a', <NEW."a" captured>, …)` for the declared fields.
fn json_of(record: &RecordDef, alias: &str) -> String {
    if record.fields.is_empty() {
        return "json_object()".into();
    }
    let parts: Vec<String> = record
        .fields
        .iter()
        .map(|f| {
            format!(
                "'{}', {}",
                f.name.replace('\'', "''"),
                capture_sql(&format!("{alias}.{}", ident(&f.name)))
            )
        })
        .collect();
    format!("json_object({})", parts.join(", "))
}

fn trigger_name(kind: &str, table: &str, op: &str) -> String {
    ident(&format!("flow_{kind}_{table}_{op}"))
}

/// Whether the value `column` (an SQL expression) is stored the way flowc
/// reads it, so that SQLite's comparisons on it mean what flow's do: an int
/// column holds an integer, a decimal one an integer or a finite real, a
/// date one a real date written `YYYY-MM-DD`, an enum one of its values
/// (byte for byte), a text column text; null only where the field is
/// nullable. Two-valued (never NULL), built-in SQL only.
pub fn canonical_sql(schema: &Schema, field: &FieldDef, column: &str) -> String {
    let c = column;
    let stored = match field.ty.base {
        Type::Int | Type::Duration | Type::Record(_) => format!("typeof({c}) = 'integer'"),
        Type::Decimal => format!(
            "(typeof({c}) = 'integer' OR (typeof({c}) = 'real' AND abs({c}) <= 1.7976931348623157e308))"
        ),
        Type::Bool => format!("(typeof({c}) = 'integer' AND ({c} = 0 OR {c} = 1))"),
        Type::Text => format!("typeof({c}) = 'text'"),
        // `date()` gives back the same text only for a real date written
        // `YYYY-MM-DD`: not `2025-1-5`, `2025-02-30` or `next spring`.
        Type::Date => format!("(typeof({c}) = 'text' AND date({c}) IS {c} COLLATE BINARY)"),
        Type::Enum(e) => {
            let values: Vec<String> = schema
                .enum_def(e)
                .values
                .iter()
                .map(|v| format!("{c} = '{}' COLLATE BINARY", v.replace('\'', "''")))
                .collect();
            if values.is_empty() {
                "0".into()
            } else {
                format!("(typeof({c}) = 'text' AND ({}))", values.join(" OR "))
            }
        }
        _ => "1".into(),
    };
    if field.ty.nullable {
        format!("({c} IS NULL OR {stored})")
    } else {
        format!("({c} IS NOT NULL AND {stored})")
    }
}

/// Whether every declared field of the row `alias` is canonical.
fn row_canonical(schema: &Schema, record: &RecordDef, alias: &str) -> String {
    let parts: Vec<String> = record
        .fields
        .iter()
        .map(|f| canonical_sql(schema, f, &format!("{alias}{}", ident(&f.name))))
        .collect();
    if parts.is_empty() {
        "1".into()
    } else {
        parts.join(" AND ")
    }
}

/// The SQL that (re)creates one table's triggers.
pub fn triggers_sql(schema: &Schema, record: &RecordDef) -> String {
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
    for op in ["insert", "update", "clear", "delete"] {
        sql.push_str(&format!(
            "DROP TRIGGER IF EXISTS {};\n",
            trigger_name("odd", t, op)
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
         INSERT INTO flow_changes (tbl, row_id, op, old, new, depth, run_id, events_seq) \
         VALUES ({name_lit}, OLD.id, 'delete', {}, NULL, {context}, \
         (SELECT seq FROM sqlite_sequence WHERE name = 'flow_events')); END;\n",
        trigger_name("capture", t, "delete"),
        json_of(record, "OLD"),
    ));
    let (new_ok, old_ok) = (
        row_canonical(schema, record, "NEW."),
        row_canonical(schema, record, "OLD."),
    );
    let mark =
        format!("INSERT OR IGNORE INTO flow_odd_rows (tbl, row_id) VALUES ({name_lit}, NEW.id)");
    let clear = |row: &str| {
        format!("DELETE FROM flow_odd_rows WHERE tbl = {name_lit} AND row_id = {row}.id")
    };
    for (op, event, when, action) in [
        ("insert", "INSERT", format!("NOT ({new_ok})"), mark.clone()),
        ("update", "UPDATE", format!("NOT ({new_ok})"), mark),
        (
            "clear",
            "UPDATE",
            format!("({new_ok}) AND NOT ({old_ok})"),
            clear("OLD"),
        ),
        ("delete", "DELETE", format!("NOT ({old_ok})"), clear("OLD")),
    ] {
        sql.push_str(&format!(
            "CREATE TRIGGER {} AFTER {event} ON {tbl} WHEN {when} BEGIN {action}; END;\n",
            trigger_name("odd", t, op),
        ));
    }
    // The rows already there.
    sql.push_str(&format!(
        "DELETE FROM flow_odd_rows WHERE tbl = {name_lit};\n\
         INSERT INTO flow_odd_rows (tbl, row_id) SELECT {name_lit}, {id} FROM {tbl} WHERE NOT ({});\n",
        row_canonical(schema, record, ""),
        id = ident("id"),
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

/// One table whose triggers are missing or out of date.
struct Stale {
    table: String,
    sql: String,
    key: String,
    fingerprint: String,
}

/// The declared records whose table exists and whose triggers differ from
/// the SQL this flowc would install.
fn stale(conn: &Connection, schema: &Schema) -> rusqlite::Result<Vec<Stale>> {
    let mut out = Vec::new();
    for record in &schema.records {
        if !table_exists(conn, &record.name)? {
            continue;
        }
        let sql = triggers_sql(schema, record);
        let key = format!("capture:{}", record.name);
        let fingerprint = format!("{:016x}", fnv(&sql));
        if super::state::meta(conn, &key)?.as_deref() != Some(fingerprint.as_str()) {
            out.push(Stale {
                table: record.name.clone(),
                sql,
                key,
                fingerprint,
            });
        }
    }
    Ok(out)
}

/// Installs or refreshes the triggers of every declared record whose table
/// exists, in one transaction with their fingerprints (`BEGIN IMMEDIATE`,
/// or a savepoint inside a transaction already open): if anything fails,
/// the old triggers stay as they were. Returns the tables whose triggers
/// were (re)created.
pub fn install(conn: &Connection, schema: &Schema) -> rusqlite::Result<Vec<String>> {
    // Most runs find everything up to date: no need for the write lock.
    if stale(conn, schema)?.is_empty() {
        return Ok(Vec::new());
    }
    let nested = !conn.is_autocommit();
    conn.execute_batch(if nested {
        "SAVEPOINT flow_capture"
    } else {
        "BEGIN IMMEDIATE"
    })?;
    // Looked at again under the lock: another process may have done it.
    let result = stale(conn, schema).and_then(|stale| {
        for s in &stale {
            conn.execute_batch(&s.sql)?;
            super::state::set_meta(conn, &s.key, &s.fingerprint)?;
        }
        Ok(stale.into_iter().map(|s| s.table).collect())
    });
    match result {
        Ok(changed) => {
            conn.execute_batch(if nested {
                "RELEASE flow_capture"
            } else {
                "COMMIT"
            })?;
            Ok(changed)
        }
        Err(e) => {
            let _ = conn.execute_batch(if nested {
                "ROLLBACK TO flow_capture; RELEASE flow_capture"
            } else {
                "ROLLBACK"
            });
            Err(e)
        }
    }
}

/// FNV-1a: a stable hash for fingerprints stored in the database.
pub fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(text: &str) -> Schema {
        let checked = flowc_check::project::Project::from_texts([("main.flow", text)]).check();
        assert!(!checked.has_errors());
        checked.program.schema
    }

    fn triggers(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name")
            .expect("query");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .expect("triggers")
    }

    const BEFORE: &str = "record a {\n  x: int\n}\nrecord b {\n  y: int\n}\n";
    const AFTER: &str =
        "record a {\n  x: int\n  x2: int?\n}\nrecord b {\n  y: int\n  y2: int?\n}\n";

    fn database() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("tmp");
        let conn = crate::store::state::open(&dir.path().join("db.sqlite")).expect("open");
        conn.execute_batch(
            "CREATE TABLE a (id INTEGER PRIMARY KEY, x INTEGER, x2 INTEGER);
             CREATE TABLE b (id INTEGER PRIMARY KEY, y INTEGER, y2 INTEGER);",
        )
        .expect("tables");
        (dir, conn)
    }

    /// `flow_odd_rows` lists exactly the rows holding a value flowc does
    /// not read as SQLite compares it: those there at install, and then as
    /// any program writes.
    #[test]
    fn odd_rows_are_listed_at_install_and_kept_by_every_write() {
        let dir = tempfile::tempdir().expect("tmp");
        let conn = crate::store::state::open(&dir.path().join("db.sqlite")).expect("open");
        conn.execute_batch(
            "CREATE TABLE job (id INTEGER PRIMARY KEY, rate NUMERIC, due DATE, level TEXT, n INTEGER);
             INSERT INTO job VALUES (1, '9.5', '2025-01-05', 'high', 1), (2, 'n/a', '2025-01-05', 'high', 1),
               (3, 9.5, '2025-1-5', 'high', 1), (4, 9.5, NULL, 'lost', 1), (5, 9.5, NULL, 'low', NULL);",
        )
        .expect("rows");
        let schema = schema(
            "enum level { \"low\", \"high\" }\nrecord job {\n  rate: decimal\n  due: date?\n  level: level\n  n: int\n}\n",
        );
        install(&conn, &schema).expect("install");
        let odd = || -> Vec<i64> {
            conn.prepare("SELECT row_id FROM flow_odd_rows WHERE tbl = 'job' ORDER BY row_id")
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .expect("odd rows")
        };
        // Row 1's '9.5' became a number (NUMERIC affinity); 'n/a' did not.
        assert_eq!(odd(), [2, 3, 4, 5]);
        conn.execute_batch(
            "UPDATE job SET rate = 9.5 WHERE id = 2;
             UPDATE job SET due = '2025-01-05' WHERE id = 3;",
        )
        .expect("fix");
        assert_eq!(odd(), [4, 5], "an outside-enum level, a null int");
        conn.execute_batch(
            "UPDATE job SET level = 'low' WHERE id = 4;
             DELETE FROM job WHERE id = 5;
             INSERT INTO job VALUES (6, CAST(X'FF' AS BLOB), NULL, 'low', 1);",
        )
        .expect("writes");
        assert_eq!(odd(), [6]);
    }

    #[test]
    fn a_failed_refresh_leaves_every_old_trigger_in_place() {
        let (_dir, conn) = database();
        assert_eq!(
            install(&conn, &schema(BEFORE)).expect("install"),
            ["a", "b"]
        );
        let before = triggers(&conn);
        // Per table: 3 capture, 2 lock and 4 odd-row triggers.
        assert_eq!(before.len(), 18);
        let fingerprints = || {
            conn.query_row(
                "SELECT group_concat(value) FROM flow_meta WHERE key LIKE 'capture:%'",
                [],
                |r| r.get::<_, String>(0),
            )
            .expect("fingerprints")
        };
        let old_fingerprints = fingerprints();
        // The refresh fails at its last write (b's fingerprint).
        conn.execute_batch(
            "CREATE TRIGGER fail_b BEFORE UPDATE ON flow_meta WHEN NEW.key = 'capture:b'
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .expect("failing trigger");
        let err = install(&conn, &schema(AFTER)).expect_err("fails");
        assert!(err.to_string().contains("disk full"), "{err}");
        let mut after = triggers(&conn);
        after.retain(|(name, _)| name != "fail_b");
        assert_eq!(after, before, "a's triggers were not refreshed alone");
        assert_eq!(fingerprints(), old_fingerprints);
        assert!(conn.is_autocommit(), "no transaction left open");
        // Once it can, the refresh happens, whole.
        conn.execute_batch("DROP TRIGGER fail_b").expect("drop");
        assert_eq!(install(&conn, &schema(AFTER)).expect("install"), ["a", "b"]);
        assert_eq!(
            install(&conn, &schema(AFTER)).expect("again"),
            Vec::<String>::new()
        );
        conn.execute_batch("INSERT INTO b (y, y2) VALUES (1, 2)")
            .expect("insert");
        let new: String = conn
            .query_row("SELECT new FROM flow_changes", [], |r| r.get(0))
            .expect("captured");
        assert_eq!(new, r#"{"y":1,"y2":2}"#);
    }

    #[test]
    fn inside_an_open_transaction_it_uses_a_savepoint() {
        let (_dir, conn) = database();
        conn.execute_batch("BEGIN").expect("begin");
        assert_eq!(
            install(&conn, &schema(BEFORE)).expect("install"),
            ["a", "b"]
        );
        assert!(!conn.is_autocommit());
        conn.execute_batch("ROLLBACK").expect("rollback");
        assert!(triggers(&conn).is_empty());
    }
}
