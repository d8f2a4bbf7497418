//! Approvals by email (§9): the link `PUBLIC/a/TOKEN` in the approval
//! email a `require approval` step sent the approver.
//!
//! - `GET /a/TOKEN` shows the approval (rule, when it was requested, the
//!   approver) and its record (every field by name), with Approve and
//!   Reject buttons and a comment box; it decides nothing, since mail
//!   scanners fetch links. A decided approval shows the decision (who,
//!   when, the comment) and no buttons.
//! - `POST /a/TOKEN` (`decision=approve|reject`, `comment`, and the
//!   form's `check` field) records the decision, who made it (the
//!   approver the link was sent to) and the comment; the engine then
//!   applies it as it does `flowc approvals approve`. A second POST
//!   changes nothing (`409` with the decision).
//!
//! The token names the approval and its run, signed with `FLOWC_SECRET`
//! for this purpose only: it is the capability. The form also carries
//! `check`, a second MAC over the same payload (another purpose) that only
//! the page shows, so that a form on another site cannot decide even if it
//! knows the link; the page's Content-Security-Policy allows forms only to
//! this server, and pages are never framed.
//!
//! Reads and the decision run on the writer thread ([`Writer::direct`]),
//! in order with the other requests' writes; the decision is one short
//! statement (`UPDATE … WHERE status = 'pending'`), so two POSTs racing
//! decide once.
//!
//! [`Writer::direct`]: crate::writer::Writer::direct

use crate::App;
use crate::pages;
use crate::writer::Failed;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use flowc_check::ir::Schema;
use flowc_runtime::mail::approval::{self, Shown};
use flowc_runtime::mail::token::{self, Purpose};
use flowc_runtime::store::Store;
use flowc_runtime::store::approvals::{Approval, DecideError, DecidedBy, Decision, Status};
use flowc_runtime::store::outbox::OutboxError;
use flowc_runtime::store::state::StateError;
use maud::{Markup, html};
use std::sync::Arc;

/// The form field carrying the page's check (see the module's doc).
pub const CHECK_FIELD: &str = "check";

/// The longest comment, in characters.
pub const MAX_COMMENT: usize = 2000;

/// The approval page's tables and notices (inline: the pages load nothing).
const STYLE: &str = "table{border-collapse:collapse;margin:.5rem 0 1rem}\
th{text-align:left;font-weight:normal;color:#555;padding:.2rem 1rem .2rem 0;vertical-align:top}\
td{padding:.2rem 0;white-space:pre-wrap}h2{font-size:1.1rem}\
.notice{background:#fff4d6;padding:.5rem 1rem}textarea{width:100%;font:inherit}";

/// The approval a verified token names.
struct Named {
    approval: i64,
    run: i64,
    payload: Vec<u8>,
}

fn named(app: &App, path: Result<Path<String>, PathRejection>) -> Option<Named> {
    let Path(t) = path.ok()?;
    let payload = token::verify(&app.secret, Purpose::Approval, &t)?;
    let (approval, run) = token::split_approval(&payload)?;
    Some(Named {
        approval,
        run,
        payload,
    })
}

/// The `check` field of the page's form for this approval.
fn check(app: &App, named: &Named) -> String {
    token::make(&app.secret, Purpose::ApprovalForm, &named.payload)
}

/// What the page shows, read on the writer thread.
struct View {
    approval: Approval,
    subject: Shown,
    approver: Shown,
}

/// The approval `approval` of run `run` and its records; `None` when there
/// is no such approval (or it belongs to another run).
fn view(
    store: &dyn Store,
    schema: &Schema,
    approval: i64,
    run: i64,
) -> Result<Option<View>, OutboxError> {
    let Some(found) = store.approval(approval)? else {
        return Ok(None);
    };
    if found.run != run {
        return Ok(None);
    }
    let load = |table: &str, id: i64| -> Result<Shown, OutboxError> {
        Ok(approval::load(store, schema, table, id)
            .map_err(StateError::from)?
            .unwrap_or_else(|| Shown::bare(table, id)))
    };
    let subject = load(&found.subject_table, found.subject)?;
    let approver = load(&found.approver_table, found.approver)?;
    Ok(Some(View {
        approval: found,
        subject,
        approver,
    }))
}

/// `GET /a/TOKEN`: the approval and its record; buttons while it is
/// pending, else its decision. Changes nothing.
pub async fn page(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Some(named) = named(&app, path) else {
        return pages::not_found();
    };
    let schema = app.schema.clone();
    let (approval, run) = (named.approval, named.run);
    match app
        .writer
        .direct(move |store, _| view(store, &schema, approval, run))
        .await
    {
        Ok(Some(view)) => show(&app, &named, &view, StatusCode::OK, None),
        Ok(None) => pages::not_found(),
        Err(Failed) => pages::unavailable(),
    }
}

/// What a POST did.
enum Outcome {
    /// The decision was recorded now.
    Decided,
    /// It was decided (or cancelled) before: nothing changed.
    Already,
    /// The form was refused (the approval exists): nothing changed.
    Refused,
}

/// Why a posted form is refused.
#[derive(Clone, Copy)]
enum Refusal {
    /// Without the page's check: not from the approval page (`403`).
    Unchecked,
    /// Not what the page sends (`400`).
    Bad(&'static str),
}

/// A posted form's fields: `decision`, `comment` and `check`, each at most
/// once (a repeated field is a bad request).
struct Posted {
    decision: Option<String>,
    comment: Option<String>,
    check: Option<String>,
}

fn parse(body: &[u8]) -> Result<Posted, &'static str> {
    let mut posted = Posted {
        decision: None,
        comment: None,
        check: None,
    };
    for (name, value) in form_urlencoded::parse(body) {
        let slot = match &*name {
            "decision" => &mut posted.decision,
            "comment" => &mut posted.comment,
            CHECK_FIELD => &mut posted.check,
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err("a field was sent twice");
        }
    }
    Ok(posted)
}

/// `POST /a/TOKEN`: records the decision (`decision=approve|reject`, an
/// optional `comment`), who made it and when, once.
pub async fn decide(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let Some(named) = named(&app, path) else {
        return pages::not_found();
    };
    let form = form(&app, &named, &body);
    let refusal = form.as_ref().err().copied();
    let schema = app.schema.clone();
    let (approval, run) = (named.approval, named.run);
    let work =
        move |store: &dyn Store, clock: i64| -> Result<Option<(View, Outcome)>, OutboxError> {
            // A token naming no approval is a 404 whatever the form says.
            let Some(before) = view(store, &schema, approval, run)? else {
                return Ok(None);
            };
            let Ok((decision, comment)) = form else {
                return Ok(Some((before, Outcome::Refused)));
            };
            if before.approval.status != Status::Pending {
                return Ok(Some((before, Outcome::Already)));
            }
            // Who decided: the approver the link was sent to, as they are now.
            let who = before.approver.decider();
            let by = DecidedBy {
                who: Some(&who),
                note: comment.as_deref(),
            };
            let outcome = match store
                .decide_approval(approval, decision, clock, by)
                .map_err(StateError::from)?
            {
                Ok(()) => Outcome::Decided,
                Err(DecideError::AlreadyDecided | DecideError::Cancelled) => Outcome::Already,
                Err(DecideError::NoSuchApproval) => return Ok(None),
            };
            Ok(view(store, &schema, approval, run)?.map(|after| (after, outcome)))
        };
    match app.writer.direct(work).await {
        Ok(Some((view, Outcome::Decided))) => show(&app, &named, &view, StatusCode::OK, None),
        Ok(Some((view, Outcome::Already))) => show(
            &app,
            &named,
            &view,
            StatusCode::CONFLICT,
            Some(html! {
                p.notice {
                    "この承認依頼はすでに決定済みです。変更はありません。"
                    br;
                    span lang="en" { "This approval was decided before: nothing changed." }
                }
            }),
        ),
        Ok(Some((_, Outcome::Refused))) => match refusal {
            Some(Refusal::Bad(why)) => bad_request(why),
            _ => forbidden(),
        },
        Ok(None) => pages::not_found(),
        Err(Failed) => pages::unavailable(),
    }
}

/// The decision and comment a posted form makes, or why it is refused:
/// the page's check first, then the decision, then the comment's length.
fn form(app: &App, named: &Named, body: &[u8]) -> Result<(Decision, Option<String>), Refusal> {
    let posted = parse(body).map_err(Refusal::Bad)?;
    let checked = posted
        .check
        .as_deref()
        .and_then(|c| token::verify(&app.secret, Purpose::ApprovalForm, c))
        .is_some_and(|payload| payload == named.payload);
    if !checked {
        return Err(Refusal::Unchecked);
    }
    let decision = match posted.decision.as_deref() {
        Some("approve") => Decision::Approved,
        Some("reject") => Decision::Rejected,
        _ => return Err(Refusal::Bad("decision must be approve or reject")),
    };
    let comment = posted
        .comment
        .map(|c| c.trim().replace("\r\n", "\n"))
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT)
    {
        return Err(Refusal::Bad("the comment is too long"));
    }
    Ok((decision, comment))
}

/// The approval page: the approval, its record, and the form or the
/// decision; `notice` above the decision.
fn show(
    app: &App,
    named: &Named,
    view: &View,
    status: StatusCode,
    notice: Option<Markup>,
) -> Response {
    let zone = app.schema.timezone;
    let a = &view.approval;
    let requested = approval::when(a.requested_at, zone);
    let decided = a.decided_at.map(|t| approval::when(t, zone));
    let body = html! {
        style { (maud::PreEscaped(STYLE)) }
        h1 { "承認のお願い / Approval request" }
        p {
            "ルール " b { (a.rule) } " が、次の " (a.subject_table) " の承認を待っています。"
            br;
            span lang="en" {
                "The rule " b { (a.rule) } " is waiting for an approval of this " (a.subject_table) "."
            }
        }
        table.facts {
            tr { th { "承認依頼 / Approval" } td { "#" (a.id) } }
            tr { th { "依頼日時 / Requested" } td { (requested) } }
            tr { th { "承認者 / Approver" } td { (view.approver.person()) } }
        }
        h2 { (view.subject.title()) }
        @if view.subject.fields.is_empty() {
            p.en lang="en" { "このレコードは読めません (削除されたか、ルールにありません)。 / This record cannot be read (deleted, or no longer in the rules)." }
        } @else {
            table.fields {
                @for field in &view.subject.fields {
                    tr { th { (field.name) } td { (field.value) } }
                }
            }
        }
        @if let Some(notice) = notice {
            (notice)
        }
        @match a.status {
            Status::Pending => {
                form method="post" {
                    input type="hidden" name=(CHECK_FIELD) value=(check(app, named));
                    p {
                        label for="comment" { "コメント (任意) / Comment (optional)" }
                        br;
                        textarea id="comment" name="comment" rows="4" cols="50" maxlength=(MAX_COMMENT) {}
                    }
                    p {
                        button type="submit" name="decision" value="approve" { "承認する / Approve" }
                        " "
                        button type="submit" name="decision" value="reject" { "却下する / Reject" }
                    }
                }
            }
            Status::Approved | Status::Rejected => {
                h2.decision {
                    @if a.status == Status::Approved {
                        "承認されました / Approved"
                    } @else {
                        "却下されました / Rejected"
                    }
                }
                table.facts {
                    tr { th { "決定者 / Decided by" } td.decided-by { (a.decided_by.as_deref().unwrap_or("—")) } }
                    tr { th { "決定日時 / Decided at" } td.decided-at { (decided.as_deref().unwrap_or("—")) } }
                    tr { th { "コメント / Comment" } td.comment { (a.note.as_deref().unwrap_or("—")) } }
                }
            }
            Status::Cancelled => {
                h2.decision { "取り消されました / Cancelled" }
                p {
                    "レコードが削除されたため、この承認依頼は取り消されました。"
                    br;
                    span lang="en" { "Its record was deleted, so this request was cancelled." }
                }
            }
        }
    };
    pages::page(status, "承認のお願い / Approval request", body)
}

/// A form that is not what the page sends.
fn bad_request(why: &str) -> Response {
    pages::page(
        StatusCode::BAD_REQUEST,
        "入力エラー / Bad request",
        html! {
            h1 { "入力エラー / Bad request" }
            p { "フォームの内容を確認して、もう一度お試しください。" }
            p.en lang="en" { "Check the form and try again: " (why) "." }
        },
    )
}

/// A POST without the page's check: not from the approval page.
fn forbidden() -> Response {
    pages::page(
        StatusCode::FORBIDDEN,
        "確認できません / Not accepted",
        html! {
            h1 { "確認できません / Not accepted" }
            p { "メールのリンクから承認ページを開き、ボタンで決定してください。" }
            p.en lang="en" { "Open the approval page from the link in the email and decide with its buttons." }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_read_field_by_field() {
        let posted =
            parse(b"decision=approve&comment=OK+%E9%83%A8%E9%95%B7%20%26+go&check=abc&x=1")
                .expect("parses");
        assert_eq!(posted.decision.as_deref(), Some("approve"));
        assert_eq!(posted.comment.as_deref(), Some("OK 部長 & go"));
        assert_eq!(posted.check.as_deref(), Some("abc"));
        assert!(parse(b"decision=approve&decision=reject").is_err());
        let empty = parse(b"").expect("parses");
        assert!(empty.decision.is_none() && empty.check.is_none());
    }
}
