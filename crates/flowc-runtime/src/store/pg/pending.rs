//! What a connection knows and holds back within a unit of work, so that
//! a unit's work costs few round trips on a server (each statement is
//! one): the engine asks one row at a time (does this contact have the
//! tag? may this rule start a run for it?), and writes one row at a time.
//!
//! **Held back** (written, each kind in one statement over arrays, before
//! any statement that is not marked as leaving them be, and before the
//! unit commits; a rollback forgets them):
//!
//! - the ends (done, rejected, failed) of runs the unit inserted, whose
//!   state the connection knows (no other transaction sees them);
//! - new tags and list memberships of rows whose tags, or lists, the
//!   connection knows (so whether each is new is known without asking).
//!
//! **Known** (read with something the unit reads anyway, and kept up to
//! date with its own writes):
//!
//! - the runs it inserted, and their state;
//! - the tags of a run's subject and the lists of its record it is in, read
//!   with the run (`runs::insert`, `runs::load_many`);
//! - a changed row's run history per rule (active runs, last start: what
//!   re-entry asks), read with its changes (`changes::claim`);
//! - the newest change and event (`Store::activity`), until the unit writes
//!   something that could add one.
//!
//! A statement not run through `Conn::keeping` may read or change any of
//! this: the held-back writes are written before it, and what was known is
//! forgotten. Statements that keep run only where they touch none of it
//! (a step's writes to other tables, the audit trail, a user's row read).
//! Everything is forgotten when the unit ends.
//!
//! What is known is what the unit's own statements would read: read in the
//! unit, from its snapshot, plus its own writes. Under `READ COMMITTED` a
//! row another transaction adds meanwhile (the same tag on the same row,
//! by another worker, at the same moment) is not seen until written: the
//! held-back insert then does nothing (`ON CONFLICT DO NOTHING`), where an
//! immediate one would have waited and said the tag was not new; the only
//! difference is one more "tag added" change, which re-checks conditions
//! once more.

use super::conn::Conn;
use std::collections::{HashMap, HashSet};

type R<T> = Result<T, postgres::Error>;

/// A run inserted in this unit of work, with its state as the connection
/// left it.
#[derive(Clone, Debug)]
struct Known {
    id: i64,
    rule: String,
    subject_tbl: String,
    subject_id: i64,
    status: &'static str,
}

/// An end not written yet.
#[derive(Clone, Debug)]
struct End {
    id: i64,
    status: &'static str,
    at: i64,
    converted: bool,
    error: Option<String>,
}

/// A subject's runs of one rule: how many are active (running or
/// waiting), and when the last one started.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct History {
    pub active: i64,
    pub last: Option<i64>,
}

/// Subjects, (table, row), each with its run history per rule.
pub type Histories = Vec<((String, i64), Vec<(String, History)>)>;

/// What the connection knows and holds back in its unit of work.
#[derive(Default)]
pub struct Pending {
    /// The quoted state schema (one per connection).
    schema: String,
    known: Vec<Known>,
    ends: Vec<End>,
    /// Rows whose tags are all known: (table, row) → tags.
    tags: HashMap<(String, i64), HashSet<String>>,
    /// Tags to insert: table, row, tag, at.
    new_tags: Vec<(String, i64, String, i64)>,
    /// Rows whose memberships in their record's lists are all known:
    /// (table, row) → lists.
    members: HashMap<(String, i64), HashSet<String>>,
    /// Memberships to insert: list, row, at, run.
    new_members: Vec<(String, i64, i64, i64)>,
    /// The program's lists (`Store::prepare`): list → its record's table,
    /// and table → its lists. Kept when the rest is forgotten.
    table_of_list: HashMap<String, String>,
    lists_of: HashMap<String, Vec<String>>,
    /// Subjects whose run history is all known: (table, row).
    histories_of: HashSet<(String, i64)>,
    /// Their history per rule: (table, row, rule).
    histories: HashMap<(String, i64, String), History>,
    /// The newest change and event, while nothing could have added one.
    activity: Option<(i64, i64)>,
}

impl Pending {
    /// Whether nothing is held back.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty() && self.new_tags.is_empty() && self.new_members.is_empty()
    }

    /// Forgets everything: the unit ended (its writes were written or
    /// rolled back).
    pub fn forget(&mut self) {
        *self = Pending {
            schema: std::mem::take(&mut self.schema),
            table_of_list: std::mem::take(&mut self.table_of_list),
            lists_of: std::mem::take(&mut self.lists_of),
            ..Pending::default()
        };
    }

    /// A statement that may read or change anything ran (after the held
    /// back writes were written): forgets what was known.
    pub fn unknow(&mut self) {
        debug_assert!(self.is_empty());
        self.forget();
    }

    fn schema(&mut self, s: &str) {
        if self.schema != s {
            self.forget();
            self.schema = s.to_string();
        }
    }

    /// The program's lists, by the table of their record.
    pub fn lists(&mut self, schema: &flowc_check::ir::Schema) {
        self.table_of_list.clear();
        self.lists_of.clear();
        for list in &schema.lists {
            let table = schema.record(list.of).name.clone();
            self.table_of_list.insert(list.name.clone(), table.clone());
            self.lists_of
                .entry(table)
                .or_default()
                .push(list.name.clone());
        }
    }

    /// The lists of `table`'s record.
    pub fn lists_of(&self, table: &str) -> Vec<String> {
        self.lists_of.get(table).cloned().unwrap_or_default()
    }

    /// Every (table, list) pair of the program.
    pub fn all_lists(&self) -> (Vec<String>, Vec<String>) {
        self.table_of_list
            .iter()
            .map(|(list, table)| (table.clone(), list.clone()))
            .unzip()
    }

    /// A run this unit inserted, in state `status`; its subject's tags and
    /// lists as read with it.
    pub fn inserted(&mut self, s: &str, run: Inserted) {
        self.schema(s);
        let key = (run.table.to_string(), run.subject, run.rule.to_string());
        if self.histories_of.contains(&(key.0.clone(), key.1)) {
            let history = self.histories.entry(key).or_default();
            history.active += i64::from(run.status == "running");
            history.last = history.last.max(Some(run.at));
        }
        self.known.push(Known {
            id: run.id,
            rule: run.rule.to_string(),
            subject_tbl: run.table.to_string(),
            subject_id: run.subject,
            status: run.status,
        });
        self.know_tags(s, run.table, run.subject, run.tags);
        self.know_lists(run.table, run.subject, run.lists);
    }

    /// The tags of a row, read now.
    pub fn know_tags(&mut self, s: &str, table: &str, row: i64, tags: Vec<String>) {
        self.schema(s);
        self.tags
            .entry((table.to_string(), row))
            .or_insert_with(|| tags.into_iter().collect());
    }

    /// The lists of its record a row is in, read now.
    pub fn know_lists(&mut self, table: &str, row: i64, lists: Vec<String>) {
        self.members
            .entry((table.to_string(), row))
            .or_insert_with(|| lists.into_iter().collect());
    }

    /// Whether the row is in the list, if its lists are known.
    pub fn is_member(&self, list: &str, row: i64) -> Option<bool> {
        let table = self.table_of_list.get(list)?;
        self.members
            .get(&(table.clone(), row))
            .map(|lists| lists.contains(list))
    }

    /// Adds the row to the list if its lists are known: `Some(whether it
    /// is new there)`, the insert held back.
    pub fn add_member(&mut self, list: &str, row: i64, at: i64, run: i64) -> Option<bool> {
        let table = self.table_of_list.get(list)?;
        let lists = self.members.get_mut(&(table.clone(), row))?;
        if !lists.insert(list.to_string()) {
            return Some(false);
        }
        self.new_members.push((list.to_string(), row, at, run));
        Some(true)
    }

    /// The run history of these subjects, read now: (table, row) and, per
    /// rule, its history.
    pub fn know_histories(&mut self, s: &str, subjects: Histories) {
        self.schema(s);
        for ((table, row), rules) in subjects {
            if !self.histories_of.insert((table.clone(), row)) {
                continue;
            }
            for (rule, history) in rules {
                self.histories.insert((table.clone(), row, rule), history);
            }
        }
    }

    /// The run history of `rule` on the subject, if known.
    pub fn history(&self, table: &str, row: i64, rule: &str) -> Option<History> {
        if !self.histories_of.contains(&(table.to_string(), row)) {
            return None;
        }
        Some(
            self.histories
                .get(&(table.to_string(), row, rule.to_string()))
                .copied()
                .unwrap_or_default(),
        )
    }

    /// Ends the run `id` if this unit inserted it: `Some(whether it was
    /// running or waiting)` (and so now ends), `None` if it is not known.
    pub fn end(
        &mut self,
        id: i64,
        status: &'static str,
        at: i64,
        converted: bool,
        error: Option<&str>,
    ) -> Option<bool> {
        let run = self.known.iter_mut().rev().find(|k| k.id == id)?;
        if run.status != "running" && run.status != "waiting" {
            return Some(false);
        }
        let was_running = run.status == "running";
        run.status = status;
        let key = (run.subject_tbl.clone(), run.subject_id, run.rule.clone());
        if was_running && let Some(history) = self.histories.get_mut(&key) {
            history.active -= 1;
        }
        self.ends.push(End {
            id,
            status,
            at,
            converted,
            error: error.map(str::to_string),
        });
        Some(true)
    }

    /// Whether the row has the tag, if its tags are known.
    pub fn has_tag(&self, table: &str, row: i64, tag: &str) -> Option<bool> {
        self.tags
            .get(&(table.to_string(), row))
            .map(|tags| tags.contains(tag))
    }

    /// Tags the row if its tags are known: `Some(whether the tag is new)`,
    /// the insert held back.
    pub fn add_tag(&mut self, table: &str, row: i64, tag: &str, at: i64) -> Option<bool> {
        let tags = self.tags.get_mut(&(table.to_string(), row))?;
        if !tags.insert(tag.to_string()) {
            return Some(false);
        }
        self.new_tags
            .push((table.to_string(), row, tag.to_string(), at));
        Some(true)
    }

    /// The newest change and event, if known.
    pub fn activity(&self) -> Option<(i64, i64)> {
        self.activity
    }

    pub fn know_activity(&mut self, activity: (i64, i64)) {
        self.activity = Some(activity);
    }

    /// Something that may add a change or an event was written.
    pub fn changed(&mut self) {
        self.activity = None;
    }

    /// Whether an end waits for a run of `rule` on this subject.
    pub fn ends_run_of(&self, table: &str, subject: i64, rule: &str) -> bool {
        self.ends.iter().any(|e| {
            self.known.iter().any(|k| {
                k.id == e.id && k.subject_id == subject && k.subject_tbl == table && k.rule == rule
            })
        })
    }
}

/// The newest change and event: what the unit knows, while it wrote
/// nothing that could add one (its own writes are what the engine asks
/// about: whether processing an item wrote a change or an event).
pub fn activity(c: &mut Conn, s: &str) -> R<(i64, i64)> {
    if let Some(known) = c.pending.activity() {
        return Ok(known);
    }
    let row = c.keeping().query_one(
        &format!(
            "SELECT (SELECT coalesce(max(seq), 0) FROM {s}.flow_changes),
                    (SELECT coalesce(max(id), 0) FROM {s}.flow_events)"
        ),
        &[],
    )?;
    let activity = (row.try_get(0)?, row.try_get(1)?);
    if c.in_transaction() {
        c.pending.know_activity(activity);
    }
    Ok(activity)
}

/// A run just inserted, for [`Pending::inserted`].
pub struct Inserted<'a> {
    pub id: i64,
    pub rule: &'a str,
    pub table: &'a str,
    pub subject: i64,
    pub status: &'static str,
    pub at: i64,
    /// The subject's tags, and the lists of its record it is in.
    pub tags: Vec<String>,
    pub lists: Vec<String>,
}

/// Writes what `c` holds back, one statement per kind; called by
/// `Conn::flush`, with the held-back writes left alone by these statements.
pub(super) fn write(c: &mut Conn) -> R<()> {
    let s = c.pending.schema.clone();
    let ends = std::mem::take(&mut c.pending.ends);
    let tags = std::mem::take(&mut c.pending.new_tags);
    let members = std::mem::take(&mut c.pending.new_members);
    if !ends.is_empty() {
        let id: Vec<i64> = ends.iter().map(|e| e.id).collect();
        let status: Vec<&str> = ends.iter().map(|e| e.status).collect();
        let at: Vec<i64> = ends.iter().map(|e| e.at).collect();
        let converted: Vec<bool> = ends.iter().map(|e| e.converted).collect();
        let error: Vec<Option<&str>> = ends.iter().map(|e| e.error.as_deref()).collect();
        c.execute(
            &format!(
                "UPDATE {s}.flow_runs r SET status = e.status, wake_at = NULL, updated_at = e.at, \
                 converted = e.converted, error = coalesce(e.error, r.error), \
                 wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, \
                 wait_clicked = NULL, wait_approval = NULL \
                 FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::boolean[], $5::text[]) \
                   AS e (id, status, at, converted, error) \
                 WHERE r.id = e.id AND r.status IN ('running', 'waiting')"
            ),
            &[&id, &status, &at, &converted, &error],
        )?;
    }
    if !tags.is_empty() {
        let table: Vec<&str> = tags.iter().map(|t| t.0.as_str()).collect();
        let row: Vec<i64> = tags.iter().map(|t| t.1).collect();
        let tag: Vec<&str> = tags.iter().map(|t| t.2.as_str()).collect();
        let at: Vec<i64> = tags.iter().map(|t| t.3).collect();
        c.execute(
            &format!(
                "INSERT INTO {s}.flow_tags (tbl, row_id, tag, at) \
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) \
                 ON CONFLICT DO NOTHING"
            ),
            &[&table, &row, &tag, &at],
        )?;
    }
    if !members.is_empty() {
        let list: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
        let row: Vec<i64> = members.iter().map(|m| m.1).collect();
        let at: Vec<i64> = members.iter().map(|m| m.2).collect();
        let run: Vec<i64> = members.iter().map(|m| m.3).collect();
        c.execute(
            &format!(
                "INSERT INTO {s}.flow_list_members (list, row_id, added_at, run_id) \
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) \
                 ON CONFLICT DO NOTHING"
            ),
            &[&list, &row, &at, &run],
        )?;
    }
    Ok(())
}
