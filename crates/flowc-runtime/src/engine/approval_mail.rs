//! The approval email (§9): when a run reaches `require approval from X`,
//! X gets a transactional email with the run's record (every field by
//! name) and the link `PUBLIC/a/TOKEN` deciding it (`--public-url`), or,
//! without one, the `flowc approvals` commands that do. The built-in
//! message (`mail::approval`) unless the project declares a template
//! `approval_request`, which the checker resolved at the step.
//!
//! It is queued like every other email: Message-ID from the run and the
//! step (queued once), delivered, signed and dated by the outbox; never
//! tracked, without opt-out (transactional); not sent to an address that
//! bounced or complained.

use super::env::Context;
use super::run::Run;
use super::steps::{header_safe, outbox_to_run_error};
use super::{Engine, RunError};
use crate::mail::{approval, format};
use flowc_check::ir::{Expr, Message, Step, TemplateKind, Type};

/// The outbox's `kind` of approval email.
const KIND: &str = "approval";

/// The template name the outbox records for approval email (the project's
/// or the built-in one).
const TEMPLATE: &str = "approval_request";

impl Engine {
    /// Queues the approval email to the approver (row `approver` of the
    /// record `from` refers to); a note says why when there is none to
    /// send (no `email` field or address, a bounced address).
    pub(super) fn approval_mail(
        &self,
        run: &Run,
        step: &Step,
        id: i64,
        from: &Expr,
        approver: i64,
        message: Option<&Message>,
    ) -> Result<(), RunError> {
        let Type::Record(record) = from.ty.base else {
            return Ok(());
        };
        let schema = &self.program.schema;
        let table = self.table_name(record).to_string();
        let Some(email_field) = schema.record(record).email_field() else {
            let detail = format!("approval email: `{table}` has no `email` field");
            return self.note(run, step, "skipped", &detail);
        };
        let Some(row) = self.row(record, approver)? else {
            let detail = format!("approval email: {table} #{approver} does not exist");
            return self.note(run, step, "skipped", &detail);
        };
        let address = match row.problem(email_field) {
            Some(_) => None,
            None => row
                .row
                .get(email_field.index())
                .as_str()
                .map(str::trim)
                .map(str::to_string),
        };
        let Some(address) = address.filter(|a| !a.is_empty()) else {
            let detail = format!("approval email: {table} #{approver} has no email address");
            return self.note(run, step, "skipped", &detail);
        };
        header_safe("to", &address)?;
        if let Some(s) = self.db.suppression(&address).map_err(outbox_to_run_error)?
            && s.reason.stops(TemplateKind::Transactional)
        {
            let detail = format!(
                "approval email to {address}: the address is suppressed ({})",
                s.reason
            );
            return self.note(run, step, "suppressed", &detail);
        }
        let message_id = crate::mail::message_id(&self.instance()?, run.id, &step.name, 0);
        let url = self
            .options
            .public_links
            .as_ref()
            .map(|links| links.approval(id, run.id));
        let template = message
            .and_then(|m| m.template)
            .map(|t| &schema.templates[t.index()]);
        let (from_address, reply_to) = self.sender_addresses(template)?;
        let (subject, body, html) = match message {
            Some(message) => {
                let command = format!("flowc approvals approve {id}");
                let cx = format::Render {
                    schema,
                    unsubscribe_url: "",
                    approval_url: url.as_deref().unwrap_or(&command),
                };
                let ctx = Context {
                    recipient: Some(approver),
                    ..run.ctx.clone()
                };
                let eval = |e: &Expr| self.eval(e, &ctx);
                let subject = format::render_text(&message.subject, &cx, eval)?;
                let body = format::render_text(&message.body, &cx, eval)?;
                let html = match &message.html {
                    Some(parts) => Some(format::render_html(parts, &cx, eval)?),
                    None => None,
                };
                (subject, body, html)
            }
            None => {
                let label_of = |r, id| {
                    self.row(r, id)
                        .ok()
                        .flatten()
                        .and_then(|row| approval::label(schema, r, &row))
                };
                let subject = match run.ctx.subject {
                    Some((r, sid)) => match self.row(r, sid)? {
                        Some(row) => approval::show(schema, r, &row, label_of),
                        None => approval::Shown::bare(self.table_name(r), sid),
                    },
                    None => approval::Shown::bare("?", 0),
                };
                let name = approval::label(schema, record, &row);
                let requested_at = approval::when(self.clock.get(), schema.timezone);
                let request = approval::Request {
                    approval: id,
                    rule: &self.rule(run.rule).name,
                    approver: name.as_deref(),
                    subject: &subject,
                    url: url.as_deref(),
                    requested_at: &requested_at,
                };
                (request.subject_line(), request.text(), Some(request.html()))
            }
        };
        header_safe("subject", &subject)?;
        let rule = self.rule(run.rule);
        let inserted = self.db.enqueue_email(&crate::store::outbox::NewMessage {
            message_id: &message_id,
            run_id: run.id,
            rule: &rule.name,
            template: Some(TEMPLATE),
            kind: KIND,
            to: &address,
            from: from_address.as_deref(),
            reply_to: reply_to.as_deref(),
            subject: &subject,
            body: &body,
            html: html.as_deref(),
            list_unsubscribe: None,
            created_at: self.clock.get(),
            not_before: 0,
            subject_table: self.table_name(rule.subject),
            subject_id: run.subject,
            recipient: Some((&table, approver)),
            links: None,
        })?;
        if inserted {
            self.report.borrow_mut().queued += 1;
        }
        self.note(
            run,
            step,
            "queued",
            &format!("approval email #{id} to {address}: {subject}"),
        )
    }
}
