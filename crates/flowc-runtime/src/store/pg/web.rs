//! [`Web`] on PostgreSQL: the same reads and batches as SQLite's
//! (`store::web`), for several `flowc serve` processes on one database.
//!
//! A batch is one `READ COMMITTED` transaction. What a write decides from
//! a read is made safe against other processes by a lock: a transaction
//! advisory lock on the address for a suppression (two unsubscriptions of
//! one address at once record one event), and the key's primary key for
//! an `Idempotency-Key` (the second request waits for the first's
//! transaction, then finds its row).

use super::super::backend::SqlValue;
use super::super::outbox::Result;
use super::super::sql::ident;
use super::super::suppressions::{Reason, normalize};
use super::super::web::{
    Lookup, NewEvent, SentMessage, Web, WebWrite, Written, decode_links, key_without_event,
    reported_replaces,
};
use super::outbox::{suppress_within, suppression_for_update};
use super::rows::Param;
use super::store::Pg;
use postgres::types::ToSql;
use postgres::{Statement, Transaction};

impl Web for Pg {
    fn run_messages(&self, run: i64) -> Result<Vec<SentMessage>> {
        let s = self.state();
        let rows = self.client().query(
            &format!(
                "SELECT message_id, template, to_addr, subject, recipient_tbl, recipient_id, links
                 FROM {s}.flow_outbox WHERE run_id = $1::bigint ORDER BY id"
            ),
            &[&run],
        )?;
        rows.iter()
            .map(|r| {
                let message_id: String = r.try_get(0)?;
                let table: Option<String> = r.try_get(4)?;
                let id: Option<i64> = r.try_get(5)?;
                let links = decode_links(&message_id, r.try_get(6)?)?;
                Ok(SentMessage {
                    template: r.try_get(1)?,
                    to: r.try_get(2)?,
                    subject: r.try_get(3)?,
                    recipient: table.zip(id),
                    links,
                    message_id,
                })
            })
            .collect()
    }

    fn record_exists(&self, table: &str, id: i64) -> Result<bool> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = $1::bigint)",
            ident(table),
            ident("id")
        );
        Ok(self.client().query_one(&sql, &[&id])?.try_get(0)?)
    }

    fn records_where(
        &self,
        table: &str,
        column: &str,
        value: &Lookup,
        limit: usize,
    ) -> Result<Vec<i64>> {
        let (id, table, column) = (ident("id"), ident(table), ident(column));
        let limit = limit as i64;
        let rows = match value {
            Lookup::Int(i) => self.client().query(
                &format!(
                    "SELECT {id}::bigint FROM {table} WHERE {column} = $1::bigint ORDER BY {id} LIMIT $2::bigint"
                ),
                &[i, &limit],
            )?,
            Lookup::Text(t) => self.client().query(
                &format!(
                    "SELECT {id}::bigint FROM {table} WHERE {column}::text = $1::text ORDER BY {id} LIMIT $2::bigint"
                ),
                &[t, &limit],
            )?,
            Lookup::Address(a) => self.client().query(
                &format!(
                    "SELECT {id}::bigint FROM {table} WHERE lower(btrim({column}::text)) = $1::text
                     ORDER BY {id} LIMIT $2::bigint"
                ),
                &[&normalize(a), &limit],
            )?,
        };
        rows.iter().map(|r| Ok(r.try_get::<_, i64>(0)?)).collect()
    }

    fn write(&self, writes: &[WebWrite]) -> Result<Vec<Written>> {
        let s = self.state().to_string();
        let mut c = self.client();
        let mut tx = c.transaction()?;
        let insert = tx.prepare(&format!(
            "INSERT INTO {s}.flow_events (name, tbl, row_id, data, at)
             VALUES ($1::text, $2::text, $3::bigint, $4::text::jsonb, to_timestamp($5::bigint)) RETURNING id"
        ))?;
        let mut done = Vec::with_capacity(writes.len());
        for write in writes {
            done.push(write_one(&mut tx, &s, &insert, write)?);
        }
        tx.commit()?;
        Ok(done)
    }

    /// PostgreSQL writes its own checkpoints in the background.
    fn leave_checkpoints(&self) -> Result<()> {
        Ok(())
    }

    fn forget_keys(&self, before: i64) -> Result<usize> {
        let s = self.state();
        let n = self.client().execute(
            &format!("DELETE FROM {s}.flow_idempotency_keys WHERE at < $1::bigint"),
            &[&before],
        )?;
        Ok(n as usize)
    }
}

fn record(tx: &mut Transaction, insert: &Statement, e: &NewEvent) -> Result<i64> {
    Ok(tx
        .query_one(insert, &[&e.name, &e.table, &e.row, &e.data, &e.at])?
        .try_get(0)?)
}

/// Locks `address` (normalized) for suppression until the transaction
/// ends, so that what a write reads of it stays true until it commits.
fn lock_address(tx: &mut Transaction, address: &str) -> Result<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('flowc suppression ' || $1::text, 0))",
        &[&address],
    )?;
    Ok(())
}

fn write_one(
    tx: &mut Transaction,
    s: &str,
    insert: &Statement,
    write: &WebWrite,
) -> Result<Written> {
    match write {
        WebWrite::Event(e) => Ok(Written::Event(record(tx, insert, e)?)),
        WebWrite::Keyed {
            scope,
            key,
            used_since,
            now,
            event,
        } => {
            let fresh = tx
                .query_opt(
                    &format!(
                        "INSERT INTO {s}.flow_idempotency_keys AS k (scope, key, at)
                         VALUES ($1::text, $2::text, $3::bigint)
                         ON CONFLICT (scope, key) DO UPDATE SET at = excluded.at, event_id = NULL
                           WHERE k.at < $4::bigint
                         RETURNING 1"
                    ),
                    &[scope, key, now, used_since],
                )?
                .is_some();
            if !fresh {
                let first: Option<i64> = tx
                    .query_one(
                        &format!(
                            "SELECT event_id FROM {s}.flow_idempotency_keys
                             WHERE scope = $1::text AND key = $2::text"
                        ),
                        &[scope, key],
                    )?
                    .try_get(0)?;
                let event = first.ok_or_else(|| key_without_event(scope, key))?;
                return Ok(Written::Keyed {
                    event,
                    replayed: true,
                });
            }
            let id = record(tx, insert, event)?;
            tx.execute(
                &format!(
                    "UPDATE {s}.flow_idempotency_keys SET event_id = $3::bigint
                     WHERE scope = $1::text AND key = $2::text"
                ),
                &[scope, key, &id],
            )?;
            Ok(Written::Keyed {
                event: id,
                replayed: false,
            })
        }
        WebWrite::Unsubscribe {
            address,
            source,
            clock,
            event,
        } => {
            let address = normalize(address);
            lock_address(tx, &address)?;
            if suppression_for_update(tx, s, &address)?.is_some() {
                return Ok(Written::Unsubscribed {
                    changed: false,
                    event: None,
                });
            }
            suppress_within(tx, s, &address, Reason::Unsubscribed, Some(source), *clock)?;
            let event = event.as_ref().map(|e| record(tx, insert, e)).transpose()?;
            Ok(Written::Unsubscribed {
                changed: true,
                event,
            })
        }
        WebWrite::Report {
            address,
            reason,
            source,
            clock,
        } => {
            let address = normalize(address);
            lock_address(tx, &address)?;
            let before = suppression_for_update(tx, s, &address)?.map(|x| x.reason);
            let changed = reported_replaces(before, *reason);
            if changed {
                suppress_within(tx, s, &address, *reason, Some(source), *clock)?;
            }
            Ok(Written::Reported { before, changed })
        }
        WebWrite::UpsertByField {
            table,
            by,
            key,
            values,
            can_create,
            event,
            data,
            at,
        } => {
            lock_key(tx, table, by, key)?;
            let (row, created) = match find_by(tx, table, by, key)? {
                Some(row) => {
                    let sets: Vec<&(String, SqlValue)> =
                        values.iter().filter(|(c, _)| c != by).collect();
                    update_row(tx, table, row, &sets)?;
                    (row, false)
                }
                None if *can_create => (insert_row(tx, table, values)?, true),
                None => {
                    return Ok(Written::Upserted {
                        row: None,
                        created: false,
                        event: None,
                    });
                }
            };
            let event = record(
                tx,
                insert,
                &NewEvent {
                    name: event,
                    table,
                    row,
                    data,
                    at: *at,
                },
            )?;
            Ok(Written::Upserted {
                row: Some(row),
                created,
                event: Some(event),
            })
        }
    }
}

/// Serializes the submissions naming one key of one table until the
/// transaction ends, so that two at once make one row.
fn lock_key(tx: &mut Transaction, table: &str, column: &str, key: &Lookup) -> Result<()> {
    let key = match key {
        Lookup::Int(i) => i.to_string(),
        Lookup::Text(t) => t.clone(),
        Lookup::Address(a) => normalize(a),
    };
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('flowc form ' || $1::text || ' ' || $2::text || ' ' || $3::text, 0))",
        &[&table, &column, &key],
    )?;
    Ok(())
}

/// The lowest id of `table`'s rows whose `column` holds `value`.
fn find_by(tx: &mut Transaction, table: &str, column: &str, value: &Lookup) -> Result<Option<i64>> {
    let (id, table, column) = (ident("id"), ident(table), ident(column));
    let row = match value {
        Lookup::Int(i) => tx.query_opt(
            &format!("SELECT {id}::bigint FROM {table} WHERE {column} = $1::bigint ORDER BY {id} LIMIT 1"),
            &[i],
        )?,
        Lookup::Text(t) => tx.query_opt(
            &format!("SELECT {id}::bigint FROM {table} WHERE {column}::text = $1::text ORDER BY {id} LIMIT 1"),
            &[t],
        )?,
        Lookup::Address(a) => tx.query_opt(
            &format!(
                "SELECT {id}::bigint FROM {table} WHERE lower(btrim({column}::text)) = $1::text ORDER BY {id} LIMIT 1"
            ),
            &[&normalize(a)],
        )?,
    };
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Inserts a row of these columns; its id.
fn insert_row(tx: &mut Transaction, table: &str, columns: &[(String, SqlValue)]) -> Result<i64> {
    let sql = super::rows::insert_sql(table, columns.iter().map(|(n, _)| n.as_str()));
    let values: Vec<Param> = columns.iter().map(|(_, v)| Param::from(v)).collect();
    let params: Vec<&(dyn ToSql + Sync)> =
        values.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    Ok(tx.query_one(&sql, &params)?.try_get(0)?)
}

/// Sets these columns of row `row`.
fn update_row(
    tx: &mut Transaction,
    table: &str,
    row: i64,
    columns: &[&(String, SqlValue)],
) -> Result<()> {
    if columns.is_empty() {
        return Ok(());
    }
    let sql = super::rows::update_sql(table, columns.iter().map(|(n, _)| n.as_str()));
    let values: Vec<Param> = columns.iter().map(|(_, v)| Param::from(v)).collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(values.len() + 1);
    params.push(&row);
    params.extend(values.iter().map(|p| p as &(dyn ToSql + Sync)));
    tx.execute(&sql, &params)?;
    Ok(())
}
