//! Change capture and row locks on PostgreSQL, enforced by triggers so that
//! any program's writes are seen and a locked row refuses everyone's.
//!
//! - `flow_capture` (AFTER INSERT OR UPDATE OR DELETE, per row) appends the
//!   row's declared fields, old and new, as `jsonb` to `flow_changes`, with
//!   the record's shard; an UPDATE that changes no declared field records
//!   nothing. The cascade depth and the writing run come from the
//!   transaction-local settings `flowc.depth` and `flowc.run`.
//! - `flow_lock` (BEFORE UPDATE OR DELETE, per row) and `flow_lock_truncate`
//!   (BEFORE TRUNCATE) refuse to touch a row listed in `flow_locks`, with
//!   SQLSTATE `FL001` and a message naming the rule.
//!
//! No `NOTIFY` (it serialises commits); workers poll. The triggers of a
//! table are recreated when their SQL changes, all tables in one
//! transaction with their fingerprints in `flow_meta`.

use super::super::capture::fnv;
use super::super::sql::ident;
use super::state::schema_name;
use flowc_check::ir::{RecordDef, Schema};
use postgres::Client;

/// The SQLSTATE of a write refused because a rule locked the row.
pub const LOCKED: &str = "FL001";

/// The functions every table's triggers call (`flow_shard` is made by the
/// migrations: `flow_events` computes its shard with it).
fn functions_sql(s: &str) -> String {
    format!(
        r#"
CREATE OR REPLACE FUNCTION {s}.flow_capture() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  old_values jsonb;
  new_values jsonb;
  row_id bigint;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    SELECT coalesce(jsonb_object_agg(key, value), '{{}}') INTO old_values
      FROM jsonb_each(to_jsonb(OLD)) WHERE key = ANY (TG_ARGV);
    row_id := OLD.id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    SELECT coalesce(jsonb_object_agg(key, value), '{{}}') INTO new_values
      FROM jsonb_each(to_jsonb(NEW)) WHERE key = ANY (TG_ARGV);
    row_id := NEW.id;
  END IF;
  IF TG_OP = 'UPDATE' AND old_values = new_values AND OLD.id = NEW.id THEN
    RETURN NULL;
  END IF;
  INSERT INTO {s}.flow_changes (shard, tbl, row_id, op, old, new, depth, run_id)
  VALUES ({s}.flow_shard(TG_TABLE_NAME, row_id), TG_TABLE_NAME, row_id, lower(TG_OP),
          old_values, new_values,
          coalesce(nullif(current_setting('flowc.depth', true), '')::integer, 0),
          nullif(current_setting('flowc.run', true), '')::bigint);
  RETURN NULL;
END
$f$;

CREATE OR REPLACE FUNCTION {s}.flow_lock() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  locked_by text;
BEGIN
  SELECT rule INTO locked_by FROM {s}.flow_locks WHERE tbl = TG_TABLE_NAME AND row_id = OLD.id;
  IF FOUND THEN
    RAISE EXCEPTION 'flowc: % #% is locked by the rule %', TG_TABLE_NAME, OLD.id, locked_by
      USING ERRCODE = '{LOCKED}';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END
$f$;

CREATE OR REPLACE FUNCTION {s}.flow_lock_truncate() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  locked_by text;
BEGIN
  SELECT rule INTO locked_by FROM {s}.flow_locks WHERE tbl = TG_TABLE_NAME LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'flowc: % has rows locked by the rule %', TG_TABLE_NAME, locked_by
      USING ERRCODE = '{LOCKED}';
  END IF;
  RETURN NULL;
END
$f$;
"#
    )
}

/// One table's triggers.
fn triggers_sql(s: &str, record: &RecordDef) -> String {
    let table = ident(&record.name);
    let fields: Vec<String> = record
        .fields
        .iter()
        .map(|f| format!("'{}'", f.name.replace('\'', "''")))
        .collect();
    format!(
        "DROP TRIGGER IF EXISTS flow_capture ON {table};
CREATE TRIGGER flow_capture AFTER INSERT OR UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION {s}.flow_capture({});
DROP TRIGGER IF EXISTS flow_lock ON {table};
CREATE TRIGGER flow_lock BEFORE UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION {s}.flow_lock();
DROP TRIGGER IF EXISTS flow_lock_truncate ON {table};
CREATE TRIGGER flow_lock_truncate BEFORE TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION {s}.flow_lock_truncate();
",
        fields.join(", ")
    )
}

/// Installs or refreshes the triggers of every declared record whose table
/// exists (flowc's tables must be migrated), in one transaction; returns
/// the tables whose triggers were (re)created.
pub fn install(
    client: &mut Client,
    schema: &Schema,
    state_schema: &str,
) -> Result<Vec<String>, String> {
    let s = schema_name(state_schema);
    let functions = functions_sql(&s);
    let err = |e: postgres::Error| super::error_text(&e);
    let mut tx = client.transaction().map_err(err)?;
    let mut installed = Vec::new();
    for record in &schema.records {
        let exists: bool = tx
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&ident(&record.name)],
            )
            .map_err(err)?
            .get(0);
        if !exists {
            continue;
        }
        let sql = triggers_sql(&s, record);
        let key = format!("capture:{}", record.name);
        let fingerprint = format!("{:016x}", fnv(&format!("{functions}{sql}")));
        let current: Option<String> = tx
            .query_opt(
                &format!("SELECT value FROM {s}.flow_meta WHERE key = $1"),
                &[&key],
            )
            .map_err(err)?
            .map(|row| row.get(0));
        if current.as_deref() == Some(fingerprint.as_str()) {
            continue;
        }
        if installed.is_empty() {
            tx.batch_execute(&functions).map_err(err)?;
        }
        tx.batch_execute(&sql).map_err(err)?;
        tx.execute(
            &format!(
                "INSERT INTO {s}.flow_meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            &[&key, &fingerprint],
        )
        .map_err(err)?;
        installed.push(record.name.clone());
    }
    tx.commit().map_err(err)?;
    Ok(installed)
}
