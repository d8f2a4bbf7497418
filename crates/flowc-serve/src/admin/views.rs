//! The admin pages and their JSON twins. Each view loads what it shows in
//! one function on a store (on a blocking thread: [`super::Console`]),
//! then renders it as a page (maud) or as JSON; both come from the same
//! data, so the page and `/api/…` always agree.

use super::auth::{self, CSRF_FIELD, CSRF_HEADER, Denied, Who};
use super::layout::{
    self, badge, count, json_answer, json_error, maybe_time, record_link, rule_path, th, th_n, time,
};
use super::{Console, DbFailed, Shared, form};
use crate::App;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use chrono_tz::Tz;
use flowc_check::ir::{RecordDef, RecordId, Schema, Type};
use flowc_runtime::store::Store;
use flowc_runtime::store::admin::{ApprovalRow, History, MessageRow, RunRow, TaskRow, Waiting};
use flowc_runtime::store::backend::RowQuery;
use flowc_runtime::store::outbox::{OutboxError, Pause, Resolution};
use flowc_runtime::store::report::StepCount;
use flowc_runtime::store::stats::RuleStats;
use flowc_runtime::store::suppressions::{self, Reason, Suppression};
use maud::{Markup, PreEscaped, html};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The most rows a list shows (the newest; the rest with `flowc` commands).
pub const LIMIT: usize = 500;

/// Who `flow_suppressions.source` says added an address here.
const SOURCE: &str = "flowc serve (admin)";

/// A page for people, or JSON for programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Face {
    Page,
    Api,
}

fn not_found(face: Face) -> Response {
    match face {
        Face::Page => layout::not_found(),
        Face::Api => json_error(StatusCode::NOT_FOUND, "not found"),
    }
}

fn unavailable(face: Face) -> Response {
    match face {
        Face::Page => layout::unavailable(),
        Face::Api => {
            let mut response = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is not available; try again",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}

/// The answer to a request that is not let in.
async fn denied(face: Face, why: Denied, uri: &Uri) -> Response {
    match (why, face) {
        // Off: as if there were no such path.
        (Denied::Off, _) => crate::pages::not_found(),
        (Denied::Missing, Face::Page) => auth::to_login(uri),
        (Denied::Wrong, Face::Page) => {
            auth::slow_down().await;
            layout::message(
                StatusCode::UNAUTHORIZED,
                "認証できません / Not authorized",
                "Authorization ヘッダーのトークンが違います。",
                "The token in the Authorization header is not right.",
            )
        }
        (_, Face::Api) => {
            if why == Denied::Wrong {
                auth::slow_down().await;
            }
            let mut response = json_error(
                StatusCode::UNAUTHORIZED,
                "authenticate with `Authorization: Bearer $FLOWC_ADMIN_TOKEN` (or log in at /login)",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"flowc\""),
            );
            response
        }
    }
}

/// Loads a view's data (`None`: no such thing, a `404`) and answers it as
/// a page or as JSON.
async fn view<T: Send + 'static>(
    app: &App,
    face: Face,
    headers: &HeaderMap,
    uri: &Uri,
    load: impl FnOnce(&Shared, &dyn Store) -> Result<Option<T>, String> + Send + 'static,
    page: impl FnOnce(&App, &Who, &Uri, T) -> Response,
    json: impl FnOnce(&App, T) -> Value,
) -> Response {
    let who = match auth::check(app, headers) {
        Ok(who) => who,
        Err(why) => return denied(face, why, uri).await,
    };
    match app.console.with_store(load).await {
        Ok(Some(data)) => match face {
            Face::Page => page(app, &who, uri, data),
            Face::Api => json_answer(StatusCode::OK, &json(app, data)),
        },
        Ok(None) => not_found(face),
        Err(DbFailed(_)) => unavailable(face),
    }
}

/// Answers a view that is always there (a list, the dashboard): `load`
/// its data, then `page` or `json` it.
async fn always<T: Send + 'static>(
    app: &App,
    face: Face,
    headers: &HeaderMap,
    uri: &Uri,
    load: fn(&Shared, &dyn Store) -> Result<T, String>,
    page: fn(&App, &Who, &Uri, T) -> Response,
    json: fn(&App, T) -> Value,
) -> Response {
    let load = move |s: &Shared, store: &dyn Store| load(s, store).map(Some);
    view(app, face, headers, uri, load, page, json).await
}

/// The handlers of a view of what a path names: its page and its `/api/`
/// twin, `answer`ed given the path (`$path`, as axum extracts it).
macro_rules! path_view {
    ($page:ident, $api:ident, $path:ty, $answer:ident) => {
        pub async fn $page(
            State(app): State<Arc<App>>,
            headers: HeaderMap,
            uri: Uri,
            path: Result<Path<$path>, PathRejection>,
        ) -> Response {
            $answer(&app, Face::Page, &headers, &uri, path).await
        }

        pub async fn $api(
            State(app): State<Arc<App>>,
            headers: HeaderMap,
            uri: Uri,
            path: Result<Path<$path>, PathRejection>,
        ) -> Response {
            $answer(&app, Face::Api, &headers, &uri, path).await
        }
    };
}

/// The handlers of an [`always`] view: its page and its `/api/` twin.
macro_rules! always_view {
    ($page:ident, $api:ident, $load:ident, $html:ident, $json:ident) => {
        pub async fn $page(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
            always(&app, Face::Page, &headers, &uri, $load, $html, $json).await
        }

        pub async fn $api(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
            always(&app, Face::Api, &headers, &uri, $load, $html, $json).await
        }
    };
}

fn db(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn zone(app: &App) -> Tz {
    app.schema.timezone
}

// ------------------------------------------------------------ record titles

/// The field that names a record's rows on the pages: `name`, `title`,
/// `company` or `email`, else its first text field.
fn title_field(record: &RecordDef) -> Option<usize> {
    ["name", "title", "company", "email"]
        .iter()
        .find_map(|n| {
            record
                .fields
                .iter()
                .position(|f| f.name == *n && f.ty.base == Type::Text)
        })
        .or_else(|| record.fields.iter().position(|f| f.ty.base == Type::Text))
}

fn record_id(schema: &Schema, table: &str) -> Option<RecordId> {
    schema
        .records
        .iter()
        .position(|r| r.name == table)
        .map(|i| RecordId(i as u32))
}

/// Record titles, looked up once each per request.
struct Titles<'a> {
    schema: &'a Schema,
    store: &'a dyn Store,
    queries: HashMap<RecordId, RowQuery>,
    found: HashMap<(String, i64), String>,
}

impl<'a> Titles<'a> {
    fn new(schema: &'a Schema, store: &'a dyn Store) -> Titles<'a> {
        Titles {
            schema,
            store,
            queries: HashMap::new(),
            found: HashMap::new(),
        }
    }

    /// Looks up the title of `table #id` (nothing for a table the project
    /// does not declare, a row that is gone, or one without a title).
    fn add(&mut self, table: &str, id: i64) -> Result<(), String> {
        let key = (table.to_string(), id);
        if self.found.contains_key(&key) {
            return Ok(());
        }
        let Some(record) = record_id(self.schema, table) else {
            return Ok(());
        };
        let def = self.schema.record(record);
        let Some(field) = title_field(def) else {
            return Ok(());
        };
        let query = self
            .queries
            .entry(record)
            .or_insert_with(|| self.store.row_query(def));
        let row = self
            .store
            .load_row(query, self.schema, record, id)
            .map_err(db)?;
        let title = row
            .map(|d| d.row.get(field))
            .and_then(|v| v.to_text(def.fields[field].ty.base, self.schema))
            .unwrap_or_default();
        self.found.insert(key, title);
        Ok(())
    }

    fn done(self) -> HashMap<(String, i64), String> {
        self.found
    }
}

/// The titles a view found.
#[derive(Default)]
struct Named(HashMap<(String, i64), String>);

impl Named {
    fn get(&self, table: &str, id: i64) -> Option<&str> {
        self.0
            .get(&(table.to_string(), id))
            .map(String::as_str)
            .filter(|t| !t.is_empty())
    }

    fn link(&self, table: &str, id: i64) -> Markup {
        record_link(table, id, self.get(table, id))
    }

    fn link_opt(&self, table: Option<&str>, id: Option<i64>) -> Markup {
        match table.zip(id) {
            Some((t, i)) => self.link(t, i),
            None => html! { span.muted { "—" } },
        }
    }

    /// `{"table", "id", "title"}`.
    fn json(&self, table: &str, id: i64) -> Value {
        json!({ "table": table, "id": id, "title": self.get(table, id) })
    }

    fn json_opt(&self, table: Option<&str>, id: Option<i64>) -> Value {
        table.zip(id).map_or(Value::Null, |(t, i)| self.json(t, i))
    }
}

// ------------------------------------------------------------ what a run waits for

/// What a waiting run waits for, in words (both languages).
fn waits_for(w: &Waiting) -> String {
    let name = w.name.as_deref().unwrap_or("?");
    match w.kind.as_deref() {
        Some("time") => "時間 / time".into(),
        Some("until") => "条件が真になるまで / until a condition holds".into(),
        Some("unless") => "時間（条件で終了）/ time, unless a condition holds".into(),
        Some("event") => format!("イベント / event `{name}`"),
        Some("engagement") => {
            let what = if w.clicked == Some(true) {
                "クリック / click"
            } else {
                "開封 / open"
            };
            match (&w.table, w.row) {
                (Some(t), Some(r)) => format!("{what}: {name} ({t} #{r})"),
                _ => format!("{what}: {name}"),
            }
        }
        Some("approval") => match w.approval {
            Some(a) => format!("承認 / approval #{a}"),
            None => "承認 / approval".into(),
        },
        Some(other) => other.to_string(),
        None => "—".into(),
    }
}

fn waiting_json(w: &Waiting) -> Value {
    json!({
        "kind": w.kind,
        "name": w.name,
        "table": w.table,
        "row": w.row,
        "clicked": w.clicked,
        "approval": w.approval,
        "text": waits_for(w),
    })
}

fn run_json(r: &RunRow, titles: &Named, step_label: Option<&str>) -> Value {
    json!({
        "id": r.id,
        "rule": r.rule,
        "record": titles.json(&r.subject_table, r.subject_id),
        "status": r.status,
        "step": r.step,
        "step_label": step_label,
        "started_at": r.started_at,
        "updated_at": r.updated_at,
        "wake_at": r.wake_at,
        "waiting": (r.status == "waiting").then(|| waiting_json(&r.waiting)),
        "error": r.error,
        "converted": r.converted,
    })
}

// ------------------------------------------------------------ `/`: every rule

struct RuleLine {
    name: String,
    record: Option<String>,
    trigger: Option<String>,
    /// Not in the project any more (its runs are in the database).
    gone: bool,
    stats: RuleStats,
    opened: i64,
    clicked: i64,
}

fn zero_stats(rule: &str) -> RuleStats {
    RuleStats {
        rule: rule.to_string(),
        started: 0,
        waiting: 0,
        done: 0,
        failed: 0,
        rejected: 0,
        emails_sent: 0,
        emails_queued: 0,
        emails_failed: 0,
        emails_unconfirmed: 0,
        emails_suppressed: 0,
        conversions: 0,
        problems: 0,
    }
}

fn load_rules(shared: &Shared, store: &dyn Store) -> Result<Vec<RuleLine>, String> {
    let stats = store.report().rule_stats().map_err(db)?;
    let engagement = store.admin().engagement().map_err(db)?;
    let mut lines: Vec<RuleLine> = shared
        .project
        .rules
        .iter()
        .map(|r| RuleLine {
            name: r.name.clone(),
            record: Some(r.record.clone()),
            trigger: Some(r.trigger.clone()),
            gone: false,
            stats: zero_stats(&r.name),
            opened: 0,
            clicked: 0,
        })
        .collect();
    for s in stats {
        match lines.iter_mut().find(|l| l.name == s.rule) {
            Some(line) => line.stats = s,
            None => lines.push(RuleLine {
                name: s.rule.clone(),
                record: None,
                trigger: None,
                gone: true,
                stats: s,
                opened: 0,
                clicked: 0,
            }),
        }
    }
    for e in engagement {
        if let Some(line) = lines.iter_mut().find(|l| l.name == e.rule) {
            line.opened = e.opened;
            line.clicked = e.clicked;
        }
    }
    Ok(lines)
}

fn counts_header() -> Markup {
    html! {
        (th_n("開始", "Started"))
        (th_n("待機中", "Waiting"))
        (th_n("完了", "Done"))
        (th_n("失敗", "Failed"))
        (th_n("送信", "Sent"))
        (th_n("開封", "Opened"))
        (th_n("クリック", "Clicked"))
        (th_n("停止中で未送信", "Suppressed"))
        (th_n("コンバージョン", "Converted"))
    }
}

fn counts_cells(l: &RuleLine) -> Markup {
    let s = &l.stats;
    html! {
        (count(s.started))
        (count(s.waiting))
        (count(s.done))
        (count(s.failed))
        (count(s.emails_sent))
        (count(l.opened))
        (count(l.clicked))
        (count(s.emails_suppressed))
        (count(s.conversions))
    }
}

fn rule_line_json(l: &RuleLine) -> Value {
    let s = &l.stats;
    json!({
        "rule": l.name,
        "record": l.record,
        "trigger": l.trigger,
        "in_project": !l.gone,
        "started": s.started,
        "waiting": s.waiting,
        "done": s.done,
        "failed": s.failed,
        "rejected": s.rejected,
        "sent": s.emails_sent,
        "queued": s.emails_queued,
        "unconfirmed": s.emails_unconfirmed,
        "email_failed": s.emails_failed,
        "opened": l.opened,
        "clicked": l.clicked,
        "suppressed": s.emails_suppressed,
        "converted": s.conversions,
        "problems": s.problems,
    })
}

fn rules_html(_app: &App, who: &Who, _uri: &Uri, lines: Vec<RuleLine>) -> Response {
    layout::page(
        who,
        "/",
        "ルール / Rules",
        html! {
            h1 { "ルール / Rules" }
            p.note {
                "このデータベースのすべての実行の件数です。「停止中で未送信」は配信停止のアドレスのため送らなかったメールです。"
                br;
                span lang="en" { "Counts over every run in this database. Suppressed: email not sent because the address is on the suppression list." }
            }
            @if lines.is_empty() {
                p { "ルールがありません。 / The project has no rules." }
            } @else {
                table {
                    thead { tr { (th("ルール", "Rule")) (th("対象", "Record")) (counts_header()) } }
                    tbody {
                        @for l in &lines {
                            tr {
                                td {
                                    a href=(rule_path(&l.name)) { (l.name) }
                                    @if let Some(trigger) = &l.trigger {
                                        br; small.muted { (trigger) }
                                    }
                                    @if l.gone {
                                        br; small.muted { "プロジェクトにない / no longer in the project" }
                                    }
                                }
                                td { (l.record.as_deref().unwrap_or("—")) }
                                (counts_cells(l))
                            }
                        }
                    }
                }
            }
        },
    )
}

fn rules_json(_app: &App, lines: Vec<RuleLine>) -> Value {
    json!({ "rules": lines.iter().map(rule_line_json).collect::<Vec<_>>() })
}

always_view!(dashboard, rules_api, load_rules, rules_html, rules_json);

// ------------------------------------------------------------ `/rules/NAME`

struct RuleView {
    line: RuleLine,
    svg: Option<String>,
    /// Stable name, label (if the project has the step), counts.
    steps: Vec<(String, Option<String>, StepCount)>,
    waiting: Vec<RunRow>,
    titles: Named,
}

fn load_rule(shared: &Shared, store: &dyn Store, name: &str) -> Result<Option<RuleView>, String> {
    let Some(line) = load_rules(shared, store)?
        .into_iter()
        .find(|l| l.name == name)
    else {
        return Ok(None);
    };
    let rule = shared.project.rules.iter().find(|r| r.name == name);
    let svg = match (&shared.project.chart, rule) {
        (Some(chart), Some(_)) => chart(name, store)?,
        _ => None,
    };
    let mut counts = store.report().step_counts(name).map_err(db)?;
    let mut steps = Vec::new();
    for (step, label) in rule.map_or(&[][..], |r| r.steps.as_slice()) {
        let c = counts
            .iter()
            .position(|c| &c.step == step)
            .map(|i| counts.remove(i))
            .unwrap_or_else(|| StepCount {
                step: step.clone(),
                ..StepCount::default()
            });
        steps.push((step.clone(), Some(label.clone()), c));
    }
    // Steps of older versions that runs still name.
    for c in counts.into_iter().filter(|c| !c.step.is_empty()) {
        steps.push((c.step.clone(), None, c));
    }
    let waiting = store.admin().waiting_runs(name, LIMIT).map_err(db)?;
    let mut titles = Titles::new(&shared.schema, store);
    for r in &waiting {
        titles.add(&r.subject_table, r.subject_id)?;
    }
    Ok(Some(RuleView {
        line,
        svg,
        steps,
        waiting,
        titles: Named(titles.done()),
    }))
}

/// The runs that went through a step, as the chart counts them: the log
/// counts those still waiting there too (a wait logs `waiting` when a run
/// arrives).
fn passed(c: &StepCount) -> i64 {
    (c.passed - c.waiting).max(0)
}

fn step_label<'a>(v: &'a RuleView, step: &str) -> Option<&'a str> {
    v.steps
        .iter()
        .find(|(s, _, _)| s == step)
        .and_then(|(_, label, _)| label.as_deref())
}

fn rule_html(app: &App, who: &Who, _uri: &Uri, v: RuleView) -> Response {
    let zone = zone(app);
    let l = &v.line;
    layout::page(
        who,
        "/",
        &format!("ルール / Rule {}", l.name),
        html! {
            p { a href="/" { "← ルール一覧 / All rules" } }
            h1 { "ルール / Rule " code { (l.name) } }
            @if let (Some(record), Some(trigger)) = (&l.record, &l.trigger) {
                p { "対象 / Record: " code { (record) } " · " code { (trigger) } }
            }
            @if l.gone {
                p.muted { "このルールは今のプロジェクトにありません。 / This rule is no longer in the project." }
            }
            table {
                thead { tr { (counts_header()) } }
                tbody { tr { (counts_cells(l)) } }
            }
            @if let Some(svg) = &v.svg {
                h2 { "フロー図 / Flow chart" }
                p.note { "各ステップの通過数と待機中の数です。 / Each step shows the runs that passed it and those waiting there." }
                div.chart { (PreEscaped(svg)) }
            }
            h2 { "ステップ / Steps" }
            table {
                thead { tr { (th("ステップ", "Step")) (th("名前", "Name")) (th_n("通過", "Passed")) (th_n("待機中", "Waiting")) } }
                tbody {
                    @for (step, label, c) in &v.steps {
                        tr {
                            td { @if let Some(label) = label { code { (label) } } @else { span.muted { "(以前の版 / an older version)" } } }
                            td { code { (step) } }
                            (count(passed(c)))
                            (count(c.waiting))
                        }
                    }
                }
            }
            h2 { "待機中の実行 / Waiting runs (" (v.waiting.len()) ")" }
            @if v.waiting.is_empty() {
                p.muted { "待機中の実行はありません。 / No run is waiting." }
            } @else {
                @if v.waiting.len() >= LIMIT {
                    p.note { "起きるのが早い順に " (LIMIT) " 件まで。 / The first " (LIMIT) " to wake." }
                }
                table {
                    thead { tr {
                        (th("実行", "Run")) (th("レコード", "Record")) (th("ステップ", "Step"))
                        (th("いつまで", "Until")) (th("待っているもの", "Waiting for")) (th("待機開始", "Since"))
                    } }
                    tbody {
                        @for r in &v.waiting {
                            tr {
                                td.n { (r.id) }
                                td { (v.titles.link(&r.subject_table, r.subject_id)) }
                                td {
                                    @if let Some(label) = step_label(&v, &r.step) { code { (label) } br; }
                                    small.muted { (r.step) }
                                }
                                td { (maybe_time(r.wake_at, zone)) }
                                td { (waits_for(&r.waiting)) }
                                td { (time(r.updated_at, zone)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn rule_json(_app: &App, v: RuleView) -> Value {
    let mut out = rule_line_json(&v.line);
    let steps: Vec<Value> = v
        .steps
        .iter()
        .map(|(step, label, c)| {
            json!({ "step": step, "label": label, "passed": passed(c), "waiting": c.waiting })
        })
        .collect();
    let waiting: Vec<Value> = v
        .waiting
        .iter()
        .map(|r| run_json(r, &v.titles, step_label(&v, &r.step)))
        .collect();
    if let Value::Object(map) = &mut out {
        map.insert("steps".into(), Value::Array(steps));
        map.insert("waiting_runs".into(), Value::Array(waiting));
        map.insert("chart".into(), json!(v.svg.is_some()));
    }
    out
}

fn path_text(path: Result<Path<String>, PathRejection>) -> Option<String> {
    path.ok().map(|Path(p)| p)
}

async fn rule(
    app: &App,
    face: Face,
    headers: &HeaderMap,
    uri: &Uri,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let name = path_text(path);
    let load = move |s: &Shared, store: &dyn Store| {
        name.map_or(Ok(None), |name| load_rule(s, store, &name))
    };
    view(app, face, headers, uri, load, rule_html, rule_json).await
}

path_view!(rule_page, rule_api, String, rule);

// ------------------------------------------------------------ `/records/TABLE/ID`

struct Field {
    name: String,
    value: Option<String>,
    refers: Option<(String, i64)>,
}

struct RecordView {
    table: String,
    id: i64,
    /// The row's fields (name, value as text; `None`: null; the row a
    /// reference names); `None` when the row is gone.
    fields: Option<Vec<Field>>,
    /// Fields whose stored value flowc cannot read, with why.
    bad: Vec<(String, String)>,
    history: History,
    titles: Named,
}

fn load_record(
    shared: &Shared,
    store: &dyn Store,
    table: &str,
    id: i64,
) -> Result<Option<RecordView>, String> {
    let schema = &shared.schema;
    let Some(record) = record_id(schema, table) else {
        return Ok(None);
    };
    let def = schema.record(record);
    let row = store
        .load_row(&store.row_query(def), schema, record, id)
        .map_err(db)?;
    let mut history = store.admin().history(table, id, LIMIT).map_err(db)?;
    let lists: Vec<&str> = schema
        .lists
        .iter()
        .filter(|l| l.of == record)
        .map(|l| l.name.as_str())
        .collect();
    history.lists.retain(|m| lists.contains(&m.list.as_str()));
    if row.is_none()
        && history.runs.is_empty()
        && history.messages.is_empty()
        && history.events.is_empty()
        && history.log.is_empty()
        && history.tasks.is_empty()
        && history.approvals.is_empty()
    {
        return Ok(None);
    }
    let (fields, bad) = match &row {
        Some(decoded) => {
            let fields = def
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let value = decoded.row.get(i).to_text(f.ty.base, schema);
                    let refers = match f.ty.base {
                        Type::Record(to) => value
                            .as_deref()
                            .and_then(|v| v.parse::<i64>().ok())
                            .map(|id| (schema.record(to).name.clone(), id)),
                        _ => None,
                    };
                    Field {
                        name: f.name.clone(),
                        value,
                        refers,
                    }
                })
                .collect::<Vec<_>>();
            let bad = decoded
                .bad
                .iter()
                .map(|(f, why)| {
                    let name = def
                        .fields
                        .get(f.index())
                        .map_or_else(String::new, |d| d.name.clone());
                    (name, why.clone())
                })
                .collect();
            (Some(fields), bad)
        }
        None => (None, Vec::new()),
    };
    let mut titles = Titles::new(schema, store);
    titles.add(table, id)?;
    for (t, i) in fields.iter().flatten().filter_map(|f| f.refers.as_ref()) {
        titles.add(t, *i)?;
    }
    for t in &history.tasks {
        titles.add(&t.assignee_table, t.assignee_id)?;
    }
    for a in &history.approvals {
        titles.add(&a.approver_table, a.approver_id)?;
        if let (Some(t), Some(i)) = (&a.subject_table, a.subject_id) {
            titles.add(t, i)?;
        }
    }
    Ok(Some(RecordView {
        table: table.to_string(),
        id,
        fields,
        bad,
        history,
        titles: Named(titles.done()),
    }))
}

fn messages_table(messages: &[MessageRow], titles: &Named, zone: Tz, who: Option<&Who>) -> Markup {
    html! {
        table {
            thead { tr {
                (th("ID", "Id")) (th("状態", "Status")) (th("宛先", "To")) (th("件名", "Subject"))
                (th("テンプレート", "Template")) (th("ルール", "Rule")) (th("作成", "Queued")) (th("送信", "Sent"))
                @if who.is_some() { (th("操作", "Action")) }
            } }
            tbody {
                @for m in messages {
                    tr {
                        td.n { (m.id) }
                        td {
                            (badge(&m.status))
                            @if m.attempts > 0 && m.status != "sent" { br; small.muted { (m.attempts) " 回試行 / attempts" } }
                            @if let Some(e) = &m.last_error { br; small.muted { (e) } }
                        }
                        td {
                            (m.to)
                            @if let (Some(t), Some(i)) = (&m.recipient_table, m.recipient_id) {
                                br; small { (titles.link(t, i)) }
                            }
                        }
                        td { (m.subject) }
                        td { (m.template.as_deref().unwrap_or(&m.kind)) }
                        td { @if let Some(r) = &m.rule { a href=(rule_path(r)) { (r) } } @else { "—" } }
                        td { (time(m.created_at, zone)) }
                        td { (maybe_time(m.sent_at, zone)) }
                        @if let Some(who) = who {
                            td.actions {
                                @if m.status == "unconfirmed" {
                                    (resolve_buttons(who, m.id))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn resolve_buttons(who: &Who, id: i64) -> Markup {
    let action = format!("/outbox/{id}/resolve");
    html! {
        form.inline method="post" action=(action) {
            @if let Some(csrf) = who.csrf() { input type="hidden" name=(CSRF_FIELD) value=(csrf); }
            input type="hidden" name="resolution" value="sent";
            button type="submit" title="届いていた: 送信済みにする / It arrived: mark it sent" { "届いた / Arrived" }
        }
        " "
        form.inline method="post" action=(action) {
            @if let Some(csrf) = who.csrf() { input type="hidden" name=(CSRF_FIELD) value=(csrf); }
            input type="hidden" name="resolution" value="resend";
            button type="submit" title="届いていない: もう一度送る / It did not: send it again" { "再送 / Resend" }
        }
    }
}

fn tasks_table(tasks: &[TaskRow], titles: &Named, zone: Tz) -> Markup {
    html! {
        table {
            thead { tr {
                (th("ID", "Id")) (th("タスク", "Task")) (th("担当", "Assignee")) (th("レコード", "Record"))
                (th("ルール", "Rule")) (th("期限", "Due")) (th("状態", "Status")) (th("作成", "Created"))
            } }
            tbody {
                @for t in tasks {
                    tr {
                        td.n { (t.id) }
                        td { (t.title) }
                        td { (titles.link(&t.assignee_table, t.assignee_id)) }
                        td { (titles.link_opt(t.subject_table.as_deref(), t.subject_id)) }
                        td { @if let Some(r) = &t.rule { a href=(rule_path(r)) { (r) } } @else { "—" } }
                        td.nw { (t.due.as_deref().unwrap_or("—")) }
                        td { (badge(&t.status)) }
                        td { (time(t.created_at, zone)) }
                    }
                }
            }
        }
    }
}

fn approvals_table(approvals: &[ApprovalRow], titles: &Named, zone: Tz) -> Markup {
    html! {
        table {
            thead { tr {
                (th("ID", "Id")) (th("ルール", "Rule")) (th("レコード", "Record")) (th("承認者", "Approver"))
                (th("状態", "Status")) (th("依頼", "Requested")) (th("決定", "Decided")) (th("コメント", "Note"))
            } }
            tbody {
                @for a in approvals {
                    tr {
                        td.n { (a.id) }
                        td { a href=(rule_path(&a.rule)) { (a.rule) } }
                        td { (titles.link_opt(a.subject_table.as_deref(), a.subject_id)) }
                        td { (titles.link(&a.approver_table, a.approver_id)) }
                        td { (badge(&a.status)) }
                        td { (time(a.requested_at, zone)) }
                        td {
                            (maybe_time(a.decided_at, zone))
                            @if let Some(by) = &a.decided_by { br; small.muted { (by) } }
                        }
                        td { (a.note.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

fn record_html(app: &App, who: &Who, _uri: &Uri, v: RecordView) -> Response {
    let zone = zone(app);
    let h = &v.history;
    let title = v.titles.get(&v.table, v.id);
    layout::page(
        who,
        "",
        &format!("{} #{}", v.table, v.id),
        html! {
            h1 {
                code { (v.table) " #" (v.id) }
                @if let Some(title) = title { " " (title) }
            }
            h2 { "項目 / Fields" }
            @match &v.fields {
                Some(fields) => {
                    dl.fields {
                        @for f in fields {
                            dt { (f.name) }
                            dd {
                                @match (&f.value, &f.refers) {
                                    (_, Some((t, i))) => { (v.titles.link(t, *i)) }
                                    (Some(value), None) => { (value) }
                                    (None, None) => { span.muted { "(空 / null)" } }
                                }
                            }
                        }
                    }
                    @for (name, why) in &v.bad {
                        p.error { code { (name) } ": " (why) }
                    }
                }
                None => p.muted { "このレコードは削除されています。 / This row has been deleted." }
            }
            @if !h.tags.is_empty() || !h.lists.is_empty() {
                h2 { "タグとリスト / Tags and lists" }
                p.tags {
                    @for t in &h.tags { span { (badge(&format!("#{}", t.tag))) } }
                    @for l in &h.lists { span { (badge(&format!("list: {}", l.list))) } }
                }
            }
            h2 { "実行 / Runs (" (h.runs.len()) ")" }
            @if h.runs.is_empty() { p.muted { "なし / None" } } @else {
                table {
                    thead { tr {
                        (th("実行", "Run")) (th("ルール", "Rule")) (th("状態", "Status")) (th("ステップ", "Step"))
                        (th("開始", "Started")) (th("更新", "Updated")) (th("待っているもの", "Waiting for"))
                    } }
                    tbody {
                        @for r in &h.runs {
                            tr {
                                td.n { (r.id) }
                                td { a href=(rule_path(&r.rule)) { (r.rule) } @if r.converted { br; small { "コンバージョン / converted" } } }
                                td { (badge(&r.status)) @if let Some(e) = &r.error { br; small.muted { (e) } } }
                                td { code { (r.step) } }
                                td { (time(r.started_at, zone)) }
                                td { (time(r.updated_at, zone)) }
                                td {
                                    @if r.status == "waiting" {
                                        (waits_for(&r.waiting))
                                        @if let Some(w) = r.wake_at { br; small { "〜 / until " (time(w, zone)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "メール / Emails (" (h.messages.len()) ")" }
            @if h.messages.is_empty() { p.muted { "なし / None" } } @else { (messages_table(&h.messages, &v.titles, zone, None)) }
            h2 { "イベント / Events (" (h.events.len()) ")" }
            @if h.events.is_empty() { p.muted { "なし / None" } } @else {
                table {
                    thead { tr { (th("ID", "Id")) (th("イベント", "Event")) (th("日時", "At")) (th("データ", "Data")) (th("処理済み", "Processed")) } }
                    tbody {
                        @for e in &h.events {
                            tr {
                                td.n { (e.id) }
                                td { code { (e.name) } }
                                td { (time(e.at, zone)) }
                                td { pre { (e.data) } }
                                td { @if e.processed { "✓" } @else { "…" } }
                            }
                        }
                    }
                }
            }
            h2 { "タスク / Tasks (" (h.tasks.len()) ")" }
            @if h.tasks.is_empty() { p.muted { "なし / None" } } @else { (tasks_table(&h.tasks, &v.titles, zone)) }
            h2 { "承認 / Approvals (" (h.approvals.len()) ")" }
            @if h.approvals.is_empty() { p.muted { "なし / None" } } @else { (approvals_table(&h.approvals, &v.titles, zone)) }
            h2 { "ログ / Log (" (h.log.len()) ")" }
            @if h.log.is_empty() { p.muted { "なし / None" } } @else {
                table {
                    thead { tr { (th("日時", "At")) (th("実行", "Run")) (th("ルール", "Rule")) (th("ステップ", "Step")) (th("動作", "Action")) (th("内容", "Detail")) } }
                    tbody {
                        @for l in &h.log {
                            tr {
                                td { (time(l.at, zone)) }
                                td.n { @if let Some(r) = l.run { (r) } }
                                td { (l.rule.as_deref().unwrap_or("")) }
                                td { code { (l.step) } }
                                td { (l.action) }
                                td { (l.detail) }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn message_json(m: &MessageRow, titles: &Named) -> Value {
    json!({
        "id": m.id,
        "message_id": m.message_id,
        "run": m.run,
        "rule": m.rule,
        "template": m.template,
        "kind": m.kind,
        "to": m.to,
        "subject": m.subject,
        "status": m.status,
        "attempts": m.attempts,
        "created_at": m.created_at,
        "sent_at": m.sent_at,
        "last_error": m.last_error,
        "recipient": titles.json_opt(m.recipient_table.as_deref(), m.recipient_id),
    })
}

fn task_json(t: &TaskRow, titles: &Named) -> Value {
    json!({
        "id": t.id,
        "title": t.title,
        "assignee": titles.json(&t.assignee_table, t.assignee_id),
        "record": titles.json_opt(t.subject_table.as_deref(), t.subject_id),
        "rule": t.rule,
        "run": t.run,
        "due": t.due,
        "status": t.status,
        "created_at": t.created_at,
    })
}

fn approval_json(a: &ApprovalRow, titles: &Named) -> Value {
    json!({
        "id": a.id,
        "rule": a.rule,
        "run": a.run,
        "record": titles.json_opt(a.subject_table.as_deref(), a.subject_id),
        "approver": titles.json(&a.approver_table, a.approver_id),
        "status": a.status,
        "requested_at": a.requested_at,
        "decided_at": a.decided_at,
        "decided_by": a.decided_by,
        "note": a.note,
    })
}

fn record_json(_app: &App, v: RecordView) -> Value {
    let h = &v.history;
    let fields = v.fields.as_ref().map(|fields| {
        fields
            .iter()
            .map(|f| (f.name.clone(), json!(f.value)))
            .collect::<serde_json::Map<_, _>>()
    });
    json!({
        "record": v.titles.json(&v.table, v.id),
        "fields": fields,
        "deleted": v.fields.is_none(),
        "bad_fields": v.bad.iter().map(|(f, why)| json!({"field": f, "problem": why})).collect::<Vec<_>>(),
        "runs": h.runs.iter().map(|r| run_json(r, &v.titles, None)).collect::<Vec<_>>(),
        "emails": h.messages.iter().map(|m| message_json(m, &v.titles)).collect::<Vec<_>>(),
        "events": h.events.iter().map(|e| json!({
            "id": e.id,
            "name": e.name,
            "data": serde_json::from_str::<Value>(&e.data).unwrap_or(Value::String(e.data.clone())),
            "at": e.at,
            "processed": e.processed,
        })).collect::<Vec<_>>(),
        "tags": h.tags.iter().map(|t| json!({"tag": t.tag, "at": t.at})).collect::<Vec<_>>(),
        "lists": h.lists.iter().map(|l| json!({"list": l.list, "added_at": l.added_at, "run": l.run})).collect::<Vec<_>>(),
        "tasks": h.tasks.iter().map(|t| task_json(t, &v.titles)).collect::<Vec<_>>(),
        "approvals": h.approvals.iter().map(|a| approval_json(a, &v.titles)).collect::<Vec<_>>(),
        "log": h.log.iter().map(|l| json!({
            "id": l.id,
            "at": l.at,
            "run": l.run,
            "rule": l.rule,
            "step": l.step,
            "action": l.action,
            "detail": l.detail,
        })).collect::<Vec<_>>(),
    })
}

async fn record(
    app: &App,
    face: Face,
    headers: &HeaderMap,
    uri: &Uri,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let wanted = path
        .ok()
        .and_then(|Path((table, id))| Some((table, id.parse::<i64>().ok()?)));
    let load = move |s: &Shared, store: &dyn Store| {
        wanted.map_or(Ok(None), |(table, id)| load_record(s, store, &table, id))
    };
    view(app, face, headers, uri, load, record_html, record_json).await
}

path_view!(record_page, record_api, (String, String), record);

// ------------------------------------------------------------ `/approvals`, `/tasks`

struct Listing<T> {
    rows: Vec<T>,
    titles: Named,
}

/// `rows` with the titles of the records they name (`name` adds a row's).
fn listing<T>(
    shared: &Shared,
    store: &dyn Store,
    rows: Vec<T>,
    name: impl Fn(&mut Titles<'_>, &T) -> Result<(), String>,
) -> Result<Listing<T>, String> {
    let mut titles = Titles::new(&shared.schema, store);
    for row in &rows {
        name(&mut titles, row)?;
    }
    Ok(Listing {
        rows,
        titles: Named(titles.done()),
    })
}

/// Adds the title of `table #id` when the row names one.
fn add_some(
    titles: &mut Titles<'_>,
    table: &Option<String>,
    id: Option<i64>,
) -> Result<(), String> {
    match (table, id) {
        (Some(t), Some(i)) => titles.add(t, i),
        _ => Ok(()),
    }
}

fn load_approvals(shared: &Shared, store: &dyn Store) -> Result<Listing<ApprovalRow>, String> {
    let rows = store.admin().approval_list(LIMIT).map_err(db)?;
    listing(shared, store, rows, |titles, a| {
        titles.add(&a.approver_table, a.approver_id)?;
        add_some(titles, &a.subject_table, a.subject_id)
    })
}

/// A list's page: its heading, what stands above the list, then the list
/// (`None` when there is nothing to list) or `none`, saying so.
fn list_page(
    who: &Who,
    path: &str,
    title: &str,
    above: Markup,
    none: &str,
    list: Option<Markup>,
) -> Response {
    layout::page(
        who,
        path,
        title,
        html! {
            h1 { (title) }
            (above)
            @match list {
                Some(list) => (list),
                None => p.muted { (none) },
            }
        },
    )
}

fn approvals_html(app: &App, who: &Who, _uri: &Uri, l: Listing<ApprovalRow>) -> Response {
    let pending = l.rows.iter().filter(|a| a.status == "pending").count();
    list_page(
        who,
        "/approvals",
        "承認 / Approvals",
        html! {
            p { "未決定 / Pending: " strong { (pending) } }
            p.note {
                "決定は承認者へのメールのリンクから、または flowc approvals --approve / --reject で行います。"
                br;
                span lang="en" { "Approvers decide from the link in their email, or with flowc approvals --approve / --reject." }
            }
        },
        "承認の依頼はありません。 / No approval was asked for.",
        (!l.rows.is_empty()).then(|| approvals_table(&l.rows, &l.titles, zone(app))),
    )
}

fn approvals_json(_app: &App, l: Listing<ApprovalRow>) -> Value {
    json!({ "approvals": l.rows.iter().map(|a| approval_json(a, &l.titles)).collect::<Vec<_>>() })
}

always_view!(
    approvals_page,
    approvals_api,
    load_approvals,
    approvals_html,
    approvals_json
);

fn load_tasks(shared: &Shared, store: &dyn Store) -> Result<Listing<TaskRow>, String> {
    let rows = store.admin().task_list(LIMIT).map_err(db)?;
    listing(shared, store, rows, |titles, t| {
        titles.add(&t.assignee_table, t.assignee_id)?;
        add_some(titles, &t.subject_table, t.subject_id)
    })
}

fn tasks_html(app: &App, who: &Who, _uri: &Uri, l: Listing<TaskRow>) -> Response {
    list_page(
        who,
        "/tasks",
        "タスク / Tasks",
        html! {},
        "タスクはありません。 / No task was created.",
        (!l.rows.is_empty()).then(|| tasks_table(&l.rows, &l.titles, zone(app))),
    )
}

fn tasks_json(_app: &App, l: Listing<TaskRow>) -> Value {
    json!({ "tasks": l.rows.iter().map(|t| task_json(t, &l.titles)).collect::<Vec<_>>() })
}

always_view!(tasks_page, tasks_api, load_tasks, tasks_html, tasks_json);

// ------------------------------------------------------------ `/outbox`

struct OutboxView {
    listing: Listing<MessageRow>,
    paused: Option<Pause>,
}

fn load_outbox(shared: &Shared, store: &dyn Store) -> Result<OutboxView, String> {
    let rows = store.admin().message_list(LIMIT).map_err(db)?;
    let paused = store.delivery_paused().map_err(db)?;
    let listing = listing(shared, store, rows, |titles, m| {
        add_some(titles, &m.recipient_table, m.recipient_id)
    })?;
    Ok(OutboxView { listing, paused })
}

/// What `?done=…` after a form says (a fixed set: nothing from the URL
/// is shown).
fn said(uri: &Uri) -> Option<(&'static str, &'static str)> {
    let fields = form::parse(uri.query().unwrap_or("").as_bytes());
    Some(match form::get(&fields, "done")? {
        "sent" => ("送信済みにしました。", "The message was marked sent."),
        "resend" => (
            "もう一度送るように予約しました。",
            "The message was queued to be sent again.",
        ),
        "added" => (
            "アドレスを配信停止にしました。",
            "The address was suppressed.",
        ),
        "removed" => (
            "配信停止を解除しました。",
            "The address gets marketing email again.",
        ),
        _ => return None,
    })
}

fn said_html(uri: &Uri) -> Markup {
    html! {
        @if let Some((ja, en)) = said(uri) {
            p.said role="status" { (ja) " / " span lang="en" { (en) } }
        }
    }
}

fn outbox_html(app: &App, who: &Who, uri: &Uri, v: OutboxView) -> Response {
    let zone = zone(app);
    let unconfirmed = v
        .listing
        .rows
        .iter()
        .filter(|m| m.status == "unconfirmed")
        .count();
    let rows = &v.listing.rows;
    list_page(
        who,
        "/outbox",
        "送信箱 / Outbox",
        html! {
            (said_html(uri))
            @if let Some(p) = &v.paused {
                p.error role="alert" {
                    "配信は " (time(p.since, zone)) " から停止中です / Delivery is paused since " (time(p.since, zone)) ": " (p.error)
                }
            }
            @if unconfirmed > 0 {
                p.error {
                    "未確認のメールが " (unconfirmed) " 通あります。送信中に中断され、届いたかどうかわかりません。受信者に確認して「届いた」か「再送」を選んでください。"
                    br;
                    span lang="en" { (unconfirmed) " unconfirmed: delivery was interrupted mid-hand-over, so they may or may not have arrived. Ask, then choose Arrived or Resend." }
                }
            }
        },
        "メールはありません。 / No message yet.",
        (!rows.is_empty()).then(|| html! {
            @if rows.len() >= LIMIT {
                p.note { "未確認と新しい順に " (LIMIT) " 通まで。 / Unconfirmed first, then the newest " (LIMIT) "." }
            }
            (messages_table(rows, &v.listing.titles, zone, Some(who)))
        }),
    )
}

fn outbox_json(_app: &App, v: OutboxView) -> Value {
    json!({
        "paused": v.paused.map(|p| json!({"since": p.since, "error": p.error})),
        "messages": v.listing.rows.iter().map(|m| message_json(m, &v.listing.titles)).collect::<Vec<_>>(),
    })
}

always_view!(
    outbox_page,
    outbox_api,
    load_outbox,
    outbox_html,
    outbox_json
);

// ------------------------------------------------------------ `/suppressions`

fn load_suppressions(_shared: &Shared, store: &dyn Store) -> Result<Vec<Suppression>, String> {
    store.suppressions().map_err(db)
}

fn suppressions_html(app: &App, who: &Who, uri: &Uri, list: Vec<Suppression>) -> Response {
    let zone = zone(app);
    list_page(
        who,
        "/suppressions",
        "配信停止 / Suppressions",
        html! {
            (said_html(uri))
            p.note {
                "ここにあるアドレスにはお知らせメールを送りません（bounced と complained は取引メールも）。"
                br;
                span lang="en" { "These addresses get no marketing email (bounced and complained: no transactional email either)." }
            }
            form.add method="post" action="/suppressions/add" {
                @if let Some(csrf) = who.csrf() { input type="hidden" name=(CSRF_FIELD) value=(csrf); }
                label { "アドレス / Address" input type="email" name="address" required; }
                label { "理由 / Reason"
                    select name="reason" {
                        @for r in Reason::ALL {
                            option value=(r.as_str()) selected[r == Reason::Manual] { (r.as_str()) }
                        }
                    }
                }
                button.primary type="submit" { "追加 / Add" }
            }
        },
        "配信停止のアドレスはありません。 / No address is suppressed.",
        (!list.is_empty()).then(|| html! {
            table {
                thead { tr { (th("アドレス", "Address")) (th("理由", "Reason")) (th("日時", "Since")) (th("経緯", "Source")) (th("操作", "Action")) } }
                tbody {
                    @for s in &list {
                        tr {
                            td { (s.address) }
                            td { (badge(s.reason.as_str())) }
                            td { (time(s.at, zone)) }
                            td { (s.source.as_deref().unwrap_or("")) }
                            td {
                                form.inline method="post" action="/suppressions/remove" {
                                    @if let Some(csrf) = who.csrf() { input type="hidden" name=(CSRF_FIELD) value=(csrf); }
                                    input type="hidden" name="address" value=(s.address);
                                    button type="submit" { "解除 / Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }),
    )
}

fn suppressions_json(_app: &App, list: Vec<Suppression>) -> Value {
    json!({
        "suppressions": list.iter().map(|s| json!({
            "address": s.address,
            "reason": s.reason.as_str(),
            "at": s.at,
            "source": s.source,
        })).collect::<Vec<_>>()
    })
}

always_view!(
    suppressions_page,
    suppressions_api,
    load_suppressions,
    suppressions_html,
    suppressions_json
);

// ------------------------------------------------------------ writes

/// The clock a person's change is logged at: the engine's (never behind
/// it), else now.
fn clock(store: &dyn Store) -> Result<i64, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok(store.clock().map_err(db)?.unwrap_or(now).max(now))
}

/// What resolving a message did.
enum Resolved {
    Done,
    NoSuchMessage,
    /// It is not unconfirmed (its state).
    NotUnconfirmed(String),
}

fn resolve(store: &dyn Store, id: i64, resolution: Resolution) -> Result<Resolved, String> {
    let at = clock(store)?;
    match store.resolve_message(id, resolution, at) {
        Ok(()) => Ok(Resolved::Done),
        Err(OutboxError::NotFound(_)) => Ok(Resolved::NoSuchMessage),
        Err(OutboxError::NotUnconfirmed { state, .. }) => {
            Ok(Resolved::NotUnconfirmed(state.to_string()))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Suppresses `address`; the reason it had before.
fn suppress(store: &dyn Store, address: &str, reason: Reason) -> Result<Option<Reason>, String> {
    let at = clock(store)?;
    // The store records the change, so that runs waiting on
    // `R is unsubscribed` look again.
    store
        .suppress(address, reason, Some(SOURCE), at)
        .map_err(db)
}

/// Lifts the suppression of `address`; the reason it had (`None`: it
/// was not suppressed).
fn unsuppress(store: &dyn Store, address: &str) -> Result<Option<Reason>, String> {
    let at = clock(store)?;
    store.unsuppress(address, at).map_err(db)
}

fn parse_resolution(text: &str) -> Option<Resolution> {
    match text {
        "sent" => Some(Resolution::Sent),
        "resend" => Some(Resolution::Resend),
        _ => None,
    }
}

fn bad_request_page(ja: &str, en: &str) -> Response {
    layout::message(
        StatusCode::BAD_REQUEST,
        "入力が正しくありません / Bad request",
        ja,
        en,
    )
}

/// The session or token of a form's POST, its CSRF token checked; else
/// the answer.
async fn form_poster(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
    fields: &[(String, String)],
) -> Result<Who, Response> {
    let who = match auth::check(app, headers) {
        Ok(who) => who,
        Err(why) => return Err(denied(Face::Page, why, uri).await),
    };
    if !who.may_post(form::get(fields, CSRF_FIELD)) {
        return Err(layout::forbidden());
    }
    Ok(who)
}

/// The caller of an API POST, with the CSRF header checked for a session.
async fn api_poster(app: &App, headers: &HeaderMap, uri: &Uri) -> Result<Who, Response> {
    let who = match auth::check(app, headers) {
        Ok(who) => who,
        Err(why) => return Err(denied(Face::Api, why, uri).await),
    };
    let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !who.may_post(presented) {
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "a session's POST needs its CSRF token in the X-CSRF-Token header",
        ));
    }
    Ok(who)
}

fn path_id(path: Result<Path<String>, PathRejection>) -> Option<i64> {
    path_text(path).and_then(|p| p.parse().ok())
}

async fn with_store<T: Send + 'static>(
    console: &Console,
    face: Face,
    work: impl FnOnce(&Shared, &dyn Store) -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    console
        .with_store(work)
        .await
        .map_err(|DbFailed(_)| unavailable(face))
}

/// `POST /outbox/ID/resolve` (`resolution=sent|resend`, `csrf`).
pub async fn resolve_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let fields = form::parse(&body);
    if let Err(answer) = form_poster(&app, &headers, &uri, &fields).await {
        return answer;
    }
    let Some(id) = path_id(path) else {
        return layout::not_found();
    };
    let Some(resolution) = form::get(&fields, "resolution").and_then(parse_resolution) else {
        return bad_request_page(
            "resolution は sent か resend です。",
            "resolution must be sent or resend.",
        );
    };
    match with_store(&app.console, Face::Page, move |_, store| {
        resolve(store, id, resolution)
    })
    .await
    {
        Ok(Resolved::Done) => auth::see_other(match resolution {
            Resolution::Sent => "/outbox?done=sent",
            Resolution::Resend => "/outbox?done=resend",
        }),
        Ok(Resolved::NoSuchMessage) => layout::not_found(),
        Ok(Resolved::NotUnconfirmed(state)) => layout::message(
            StatusCode::CONFLICT,
            "未確認ではありません / Not unconfirmed",
            &format!("このメールは {state} です。未確認のメールだけを確定できます。"),
            &format!("This message is {state}: only an unconfirmed message can be resolved."),
        ),
        Err(answer) => answer,
    }
}

/// `POST /api/outbox/ID/resolve` with `{"resolution": "sent"|"resend"}`.
pub async fn resolve_api(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    if let Err(answer) = api_poster(&app, &headers, &uri).await {
        return answer;
    }
    let Some(id) = path_id(path) else {
        return json_error(StatusCode::NOT_FOUND, "not found");
    };
    let resolution = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("resolution")?.as_str().and_then(parse_resolution));
    let Some(resolution) = resolution else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "the body must be {\"resolution\": \"sent\"} or {\"resolution\": \"resend\"}",
        );
    };
    match with_store(&app.console, Face::Api, move |_, store| {
        resolve(store, id, resolution)
    })
    .await
    {
        Ok(Resolved::Done) => json_answer(
            StatusCode::OK,
            &json!({
                "id": id,
                "status": match resolution { Resolution::Sent => "sent", Resolution::Resend => "queued" },
            }),
        ),
        Ok(Resolved::NoSuchMessage) => json_error(
            StatusCode::NOT_FOUND,
            &format!("no message has the id {id}"),
        ),
        Ok(Resolved::NotUnconfirmed(state)) => json_error(
            StatusCode::CONFLICT,
            &format!("message {id} is {state}: only an unconfirmed message can be resolved"),
        ),
        Err(answer) => answer,
    }
}

/// `POST /suppressions/add` (`address`, `reason`, `csrf`).
pub async fn suppress_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let fields = form::parse(&body);
    if let Err(answer) = form_poster(&app, &headers, &uri, &fields).await {
        return answer;
    }
    let address = match suppressions::parse_address(form::get(&fields, "address").unwrap_or("")) {
        Ok(a) => a,
        Err(why) => return bad_request_page("メールアドレスではありません。", &why),
    };
    let Some(reason) = Reason::parse(form::get(&fields, "reason").unwrap_or("manual")) else {
        return bad_request_page(
            "理由は unsubscribed, bounced, complained, manual のどれかです。",
            "The reason is one of unsubscribed, bounced, complained, manual.",
        );
    };
    match with_store(&app.console, Face::Page, move |_, store| {
        suppress(store, &address, reason)
    })
    .await
    {
        Ok(_) => auth::see_other("/suppressions?done=added"),
        Err(answer) => answer,
    }
}

/// `POST /suppressions/remove` (`address`, `csrf`).
pub async fn unsuppress_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let fields = form::parse(&body);
    if let Err(answer) = form_poster(&app, &headers, &uri, &fields).await {
        return answer;
    }
    let address = suppressions::normalize(form::get(&fields, "address").unwrap_or(""));
    match with_store(&app.console, Face::Page, move |_, store| {
        unsuppress(store, &address)
    })
    .await
    {
        Ok(Some(_)) => auth::see_other("/suppressions?done=removed"),
        Ok(None) => layout::message(
            StatusCode::NOT_FOUND,
            "配信停止ではありません / Not suppressed",
            "そのアドレスは配信停止のリストにありません。",
            "That address is not on the suppression list.",
        ),
        Err(answer) => answer,
    }
}

/// `POST /api/suppressions` with `{"address", "reason"?}` (default
/// `manual`).
pub async fn suppress_api(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Err(answer) = api_poster(&app, &headers, &uri).await {
        return answer;
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object: {\"address\": …, \"reason\": …}",
        );
    };
    let address = match suppressions::parse_address(
        fields.get("address").and_then(Value::as_str).unwrap_or(""),
    ) {
        Ok(a) => a,
        Err(why) => return json_error(StatusCode::BAD_REQUEST, &why),
    };
    let reason = match fields.get("reason") {
        None => Some(Reason::Manual),
        Some(r) => r.as_str().and_then(Reason::parse),
    };
    let Some(reason) = reason else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "reason must be unsubscribed, bounced, complained or manual",
        );
    };
    let shown = address.clone();
    match with_store(&app.console, Face::Api, move |_, store| {
        suppress(store, &address, reason)
    })
    .await
    {
        Ok(before) => json_answer(
            StatusCode::OK,
            &json!({
                "address": shown,
                "reason": reason.as_str(),
                "before": before.map(Reason::as_str),
            }),
        ),
        Err(answer) => answer,
    }
}

/// `POST /api/suppressions/remove` with `{"address"}`.
pub async fn unsuppress_api(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Err(answer) = api_poster(&app, &headers, &uri).await {
        return answer;
    }
    let address = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("address")?.as_str().map(suppressions::normalize));
    let Some(address) = address.filter(|a| !a.is_empty()) else {
        return json_error(StatusCode::BAD_REQUEST, "the body must be {\"address\": …}");
    };
    let shown = address.clone();
    match with_store(&app.console, Face::Api, move |_, store| {
        unsuppress(store, &address)
    })
    .await
    {
        Ok(Some(was)) => json_answer(
            StatusCode::OK,
            &json!({ "address": shown, "was": was.as_str() }),
        ),
        Ok(None) => json_error(StatusCode::NOT_FOUND, &format!("{shown} is not suppressed")),
        Err(answer) => answer,
    }
}
