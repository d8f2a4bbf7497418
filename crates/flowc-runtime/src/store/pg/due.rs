//! Claiming due events and timers on PostgreSQL: a unit of work locks the
//! shards it will take due items from (`FOR UPDATE SKIP LOCKED` on
//! `flow_shards`), so that no two workers take the same item and each
//! record's items are handled in time order by one worker at a time.
//!
//! A unit claims the shards of the earliest due items, up to [`SHARDS`] of
//! them, in one statement: it looks at the [`WINDOW`] earliest due timers
//! and events (through the indexes on their due times), and locks their
//! shards, earliest first, skipping those another worker holds. Only when
//! every shard in that window is held does it look at all 256 shards (one
//! index probe each), and take one. A batch then holds the earliest due
//! items of many records, as on SQLite, instead of one shard's few: fewer
//! units of work, each a commit.
//!
//! Timers and events of the claimed shards are then read with statements
//! of their own per case (claimed, or everything for tools and tests), so
//! that each has a plan that uses its index.

use super::conn::Conn;

type R<T> = Result<T, postgres::Error>;

/// How many of the earliest due timers, and of events, a claim looks at.
const WINDOW: i64 = 256;

/// The most shards one unit of work holds: enough for a full batch of
/// due items, few enough that other workers find shards to claim.
const SHARDS: i64 = 64;

/// A set of shards (0–255), `Copy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shards([u64; 4]);

impl Shards {
    pub fn insert(&mut self, shard: i16) {
        let i = usize::from(shard as u8);
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// The shards, ascending.
    pub fn to_vec(self) -> Vec<i16> {
        (0..256u16)
            .filter(|&i| self.0[usize::from(i / 64)] & (1 << (i % 64)) != 0)
            .map(|i| i as i16)
            .collect()
    }
}

/// Locks the shards of the earliest due timers and events (at or before
/// `now`) that no other worker holds; empty when there are none.
pub fn claim(c: &mut Conn, s: &str, now: i64) -> R<Shards> {
    let row = c.query_one(
        &format!(
            "WITH w AS (
               (SELECT shard, wake_at AS first FROM {s}.flow_runs
                WHERE status = 'waiting' AND wake_at <= $1 ORDER BY wake_at LIMIT {WINDOW})
               UNION ALL
               (SELECT shard, floor(extract(epoch FROM at))::bigint FROM {s}.flow_events
                WHERE NOT processed AND at < to_timestamp($1::bigint + 1) ORDER BY at LIMIT {WINDOW})),
             d AS (SELECT shard, min(first) AS first FROM w GROUP BY shard),
             held AS (SELECT s.shard FROM {s}.flow_shards s JOIN d ON d.shard = s.shard
                      ORDER BY d.first, s.shard LIMIT {SHARDS} FOR UPDATE OF s SKIP LOCKED)
             SELECT coalesce((SELECT array_agg(shard) FROM held), '{{}}'::smallint[]),
                    (SELECT count(*) FROM w)"
        ),
        &[&now],
    )?;
    let mut shards = Shards::default();
    for shard in row.try_get::<_, Vec<i16>>(0)? {
        shards.insert(shard);
    }
    let window: i64 = row.try_get(1)?;
    if !shards.is_empty() || window == 0 {
        return Ok(shards);
    }
    // Every shard in the window is held by another worker: the shard
    // whose earliest due item is earliest among the others.
    let row = c.query_opt(
        &format!(
            "SELECT s.shard FROM {s}.flow_shards s
             CROSS JOIN LATERAL (
               SELECT least(
                 (SELECT min(wake_at) FROM {s}.flow_runs r
                   WHERE r.shard = s.shard AND r.status = 'waiting' AND r.wake_at <= $1),
                 (SELECT floor(extract(epoch FROM min(e.at)))::bigint FROM {s}.flow_events e
                   WHERE e.shard = s.shard AND NOT e.processed AND e.at < to_timestamp($1::bigint + 1)))
               AS first) due
             WHERE due.first IS NOT NULL
             ORDER BY due.first, s.shard
             LIMIT 1 FOR UPDATE OF s SKIP LOCKED"
        ),
        &[&now],
    )?;
    if let Some(row) = row {
        shards.insert(row.try_get(0)?);
    }
    Ok(shards)
}

/// Due events (id, second), earliest first, of `shards` (all without).
pub fn events(
    c: &mut Conn,
    s: &str,
    clock: i64,
    limit: usize,
    shards: Option<Shards>,
) -> R<Vec<(i64, i64)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // Event times count in whole seconds, as the engine's clock does: an
    // event stamped 09:00:05.532 (another program's `now()`) is due at
    // 09:00:05, not a second later.
    let rows = match shards {
        None => c.query(
            &format!(
                "SELECT id, floor(extract(epoch FROM at))::bigint FROM {s}.flow_events
                 WHERE NOT processed AND at < to_timestamp($1::bigint + 1)
                 ORDER BY at, id LIMIT $2"
            ),
            &[&clock, &limit],
        )?,
        Some(shards) => c.query(
            &format!(
                "SELECT id, floor(extract(epoch FROM at))::bigint FROM {s}.flow_events
                 WHERE NOT processed AND at < to_timestamp($1::bigint + 1)
                   AND shard = ANY($3::smallint[])
                 ORDER BY at, id LIMIT $2"
            ),
            &[&clock, &limit, &shards.to_vec()],
        )?,
    };
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Due timers (run, wake time), earliest first, of `shards` (all without).
pub fn timers(
    c: &mut Conn,
    s: &str,
    now: i64,
    limit: usize,
    shards: Option<Shards>,
) -> R<Vec<(i64, i64)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match shards {
        None => c.query(
            &format!(
                "SELECT id, wake_at FROM {s}.flow_runs
                 WHERE status = 'waiting' AND wake_at <= $1
                 ORDER BY wake_at, id LIMIT $2"
            ),
            &[&now, &limit],
        )?,
        Some(shards) => c.query(
            &format!(
                "SELECT id, wake_at FROM {s}.flow_runs
                 WHERE status = 'waiting' AND wake_at <= $1 AND shard = ANY($3::smallint[])
                 ORDER BY wake_at, id LIMIT $2"
            ),
            &[&now, &limit, &shards.to_vec()],
        )?,
    };
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
