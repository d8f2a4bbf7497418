//! What each step does. A step's effects go into the same transaction as
//! the run's progress; emails go to the outbox, never straight out.

use super::env::Context;
use super::run::{Flow, Run};
use super::{Engine, RunError};
use crate::mail::format;
use crate::store::effects;
use crate::store::runs::Awaited;
use flowc_check::ir::{self, Expr, Message, Part, Recipient, RecordId, Step, StepKind, Type};
use flowc_vm::eval::EvalError;
use flowc_vm::value::Value;

/// Where an email goes: the address, and the record it belongs to (where
/// its opens and clicks are recorded) if it is one.
type Addressee = (String, Option<(RecordId, i64)>);

/// An address, refusing the line breaks that would inject email headers.
pub(super) fn header_safe(what: &str, text: &str) -> Result<(), RunError> {
    if text.contains(['\r', '\n']) {
        return Err(RunError::Eval(EvalError::BadData {
            table: "(email)".into(),
            id: 0,
            column: what.into(),
            message: format!(
                "{text:?} contains a line break, which is not allowed in an email header"
            ),
        }));
    }
    Ok(())
}

impl Engine {
    pub(crate) fn step(&self, run: &Run, step: &Step, pc: &[u32]) -> Result<Flow, RunError> {
        let ctx = &run.ctx;
        match &step.kind {
            StepKind::AddToList { item, list } | StepKind::RemoveFromList { item, list } => {
                let add = matches!(step.kind, StepKind::AddToList { .. });
                let Some(id) = self.reference(item, ctx)? else {
                    self.note(run, step, "skipped", "the record is null")?;
                    return Ok(Flow::Next);
                };
                let name = &self.program.schema.lists[list.index()].name;
                let changed = if add {
                    self.db
                        .add_list_member(name, id, self.clock.get(), run.id)?
                } else {
                    self.db.remove_list_member(name, id)?
                };
                if changed {
                    self.synthetic_change(&format!("list:{name}"), id, add, run)?;
                }
                let record = self.program.schema.lists[list.index()].of;
                let verb = if add {
                    "added to list"
                } else {
                    "removed from list"
                };
                self.note(
                    run,
                    step,
                    verb,
                    &format!("{name}: {} #{id}", self.table_name(record)),
                )?;
                Ok(Flow::Next)
            }
            StepKind::Tag { target, tag } | StepKind::Untag { target, tag } => {
                let add = matches!(step.kind, StepKind::Tag { .. });
                let Some(id) = self.reference(target, ctx)? else {
                    self.note(run, step, "skipped", "the record is null")?;
                    return Ok(Flow::Next);
                };
                let table = self.table_of(target);
                let changed = if add {
                    self.db.add_tag(&table, id, tag, self.clock.get())?
                } else {
                    self.db.remove_tag(&table, id, tag)?
                };
                if changed {
                    self.synthetic_change(&format!("tag:{table}"), id, add, run)?;
                }
                self.note(
                    run,
                    step,
                    if add { "tagged" } else { "untagged" },
                    &format!("{table} #{id}: {tag}"),
                )?;
                Ok(Flow::Next)
            }
            StepKind::Set {
                target,
                record,
                field,
                value,
            } => {
                let v = self.eval(value, ctx)?;
                self.write_field(run, step, target, *record, *field, v)?;
                Ok(Flow::Next)
            }
            StepKind::Assign {
                target,
                record,
                field,
                cases,
                otherwise,
            } => {
                let mut chosen = None;
                for (condition, value) in cases {
                    if self.holds(condition, ctx)? {
                        chosen = Some(value);
                        break;
                    }
                }
                let Some(value) = chosen.or(otherwise.as_ref()) else {
                    self.note(
                        run,
                        step,
                        "skipped",
                        "no `when` matched and there is no `otherwise`",
                    )?;
                    return Ok(Flow::Next);
                };
                let v = self.eval(value, ctx)?;
                self.write_field(run, step, target, *record, *field, v)?;
                Ok(Flow::Next)
            }
            StepKind::SendEmail { to, message, .. } => {
                match self.recipient(to, ctx)? {
                    Some((address, recipient)) => {
                        self.queue(run, step, "email", &address, recipient, message, 0)?
                    }
                    None => {
                        self.note(run, step, "skipped", "the recipient has no email address")?
                    }
                }
                Ok(Flow::Next)
            }
            StepKind::Notify { to, message } => {
                let recipients = match to {
                    ir::NotifyTarget::Role(role) => self.users_with_role(role)?,
                    ir::NotifyTarget::Recipient(r) => self.recipient(r, ctx)?.into_iter().collect(),
                };
                if recipients.is_empty() {
                    match to {
                        // A role nobody has is a mistake to fix, not a quiet
                        // skip: a problem, counted by `flowc stats`.
                        ir::NotifyTarget::Role(role) => {
                            let detail = format!(
                                "nobody to notify: no user with role {role:?} has an email address"
                            );
                            self.problem(
                                run.rule,
                                Some(run.subject),
                                Some(run.id),
                                &step.name,
                                &detail,
                            )
                            .map_err(engine_to_run_error)?;
                        }
                        ir::NotifyTarget::Recipient(_) => {
                            self.note(run, step, "skipped", "nobody to notify")?
                        }
                    }
                }
                for (n, (address, recipient)) in recipients.into_iter().enumerate() {
                    self.queue(run, step, "notify", &address, recipient, message, n)?;
                }
                Ok(Flow::Next)
            }
            StepKind::CreateTask {
                title,
                assignee,
                due,
            } => {
                let title = self.render(title, ctx)?;
                let Some(who) = self.reference(assignee, ctx)? else {
                    self.note(run, step, "skipped", "the assignee is null")?;
                    return Ok(Flow::Next);
                };
                let due = match due {
                    Some(d) => self.eval(d, ctx)?.to_text(d.ty.base, &self.program.schema),
                    None => None,
                };
                let table = self.table_of(assignee);
                let task = effects::NewTask {
                    run: run.id,
                    rule: &self.rule(run.rule).name,
                    title: &title,
                    assignee_table: &table,
                    assignee: who,
                    due: due.as_deref(),
                    at: self.clock.get(),
                };
                self.db.insert_task(&task)?;
                let detail = format!(
                    "{title:?} for {table} #{who}{}",
                    due.map(|d| format!(", due {d}")).unwrap_or_default()
                );
                self.note(run, step, "task created", &detail)?;
                self.report.borrow_mut().tasks += 1;
                Ok(Flow::Next)
            }
            StepKind::Wait(wait) => self.wait_step(run, wait),
            StepKind::If {
                branches,
                otherwise,
            } => {
                for (i, (condition, _)) in branches.iter().enumerate() {
                    if self.holds(condition, ctx)? {
                        return Ok(Flow::Enter(i as u32));
                    }
                }
                let _ = otherwise;
                Ok(Flow::Enter(branches.len() as u32))
            }
            StepKind::RequireApproval { from, message, .. } => {
                let Some(approver) = self.reference(from, ctx)? else {
                    return Err(RunError::Eval(EvalError::Unsupported(
                        "the approver is null".into(),
                    )));
                };
                let table = self.table_of(from);
                let approval = self.db.request_approval(
                    run.id,
                    &self.rule(run.rule).name,
                    &table,
                    approver,
                    self.clock.get(),
                )?;
                self.note(
                    run,
                    step,
                    "approval requested",
                    &format!("#{approval} from {table} #{approver}"),
                )?;
                self.report.borrow_mut().approvals += 1;
                // The approver is told by email (§9).
                self.approval_mail(run, step, approval, from, approver, message.as_ref())?;
                let _ = pc;
                Ok(Flow::Wait {
                    wake_at: None,
                    awaited: Awaited::Approval(approval),
                })
            }
            StepKind::Lock(e) | StepKind::Unlock(e) => {
                let lock = matches!(step.kind, StepKind::Lock(_));
                let Some(id) = self.reference(e, ctx)? else {
                    self.note(run, step, "skipped", "the record is null")?;
                    return Ok(Flow::Next);
                };
                let table = self.table_of(e);
                if lock {
                    self.db.lock_row(&table, id, run.id, self.clock.get())?;
                } else {
                    self.db.unlock_row(&table, id)?;
                }
                self.note(
                    run,
                    step,
                    if lock { "locked" } else { "unlocked" },
                    &format!("{table} #{id}"),
                )?;
                Ok(Flow::Next)
            }
            StepKind::Stop => Ok(Flow::End("stopped".into())),
        }
    }

    pub(super) fn note(
        &self,
        run: &Run,
        step: &Step,
        action: &str,
        detail: &str,
    ) -> Result<(), RunError> {
        self.log(Some(run), &step.name, action, detail)
            .map_err(engine_to_run_error)
    }

    /// The row id a record-valued expression refers to (`None` if null).
    pub(crate) fn reference(&self, e: &Expr, ctx: &Context) -> Result<Option<i64>, RunError> {
        match self.eval(e, ctx)? {
            Value::Ref(id) => Ok(Some(id)),
            _ => Ok(None),
        }
    }

    pub(crate) fn table_of(&self, e: &Expr) -> String {
        match e.ty.base {
            Type::Record(r) => self.table_name(r).to_string(),
            _ => String::new(),
        }
    }

    /// `set R.f = v`: an UPDATE like any other program's, so capture sees it
    /// (with this run's cascade depth) and locks refuse it.
    fn write_field(
        &self,
        run: &Run,
        step: &Step,
        target: &Expr,
        record: RecordId,
        field: ir::FieldId,
        value: Value,
    ) -> Result<(), RunError> {
        let Some(id) = self.reference(target, &run.ctx)? else {
            self.note(run, step, "skipped", "the record is null")?;
            return Ok(());
        };
        if self.deleting.get() == Some((record, id)) {
            // The row is gone; a row in the table with its id is a new one,
            // which nothing meant for the deleted row may reach.
            return Err(RunError::Eval(EvalError::Dangling {
                table: self.table_name(record).to_string(),
                id,
            }));
        }
        let def = self.program.schema.field(record, field);
        if value.is_null() && !def.ty.nullable {
            return Err(RunError::Eval(EvalError::BadData {
                table: self.table_name(record).to_string(),
                id,
                column: def.name.clone(),
                message: "the value is null, but the field is not nullable".into(),
            }));
        }
        let sql_value = crate::store::rows::to_sql(&value, def.ty.base, &self.program.schema);
        self.set_context(run.depth + 1, Some(run.id))?;
        let updated = self
            .db
            .update_field(self.table_name(record), &def.name, id, sql_value);
        self.set_context(0, None)?;
        if !updated? {
            return Err(RunError::Eval(EvalError::Dangling {
                table: self.table_name(record).to_string(),
                id,
            }));
        }
        self.forget_row(record, id);
        let shown = value
            .to_text(def.ty.base, &self.program.schema)
            .unwrap_or_else(|| "null".into());
        self.note(
            run,
            step,
            "set",
            &format!("{} #{id}.{} = {shown}", self.table_name(record), def.name),
        )?;
        Ok(())
    }

    /// Tells the capture triggers who is writing (read back into `flow_changes`).
    pub(crate) fn set_context(&self, depth: i64, run: Option<i64>) -> crate::store::DbResult<()> {
        self.db.set_capture_context(depth, run)
    }

    /// Records a list or tag change as a change, so that waits and
    /// `becomes` conditions that read lists and tags are re-checked.
    fn synthetic_change(
        &self,
        table: &str,
        id: i64,
        added: bool,
        run: &Run,
    ) -> crate::store::DbResult<()> {
        // Only worth recording if some condition reads it.
        if !self.watch_index.contains_key(table) {
            return Ok(());
        }
        self.db
            .record_synthetic_change(table, id, added, run.depth + 1, run.id)
    }

    /// The address an email goes to, and the recipient row if it is a record.
    fn recipient(&self, to: &Recipient, ctx: &Context) -> Result<Option<Addressee>, RunError> {
        let (address, id) = match to {
            Recipient::Record {
                expr,
                record,
                email_field,
            } => {
                let Some(id) = self.reference(expr, ctx)? else {
                    return Ok(None);
                };
                let mut env = super::env::DbEnv { engine: self, ctx };
                let address = flowc_vm::eval::Env::field(&mut env, *record, id, *email_field)?;
                (address, Some((*record, id)))
            }
            Recipient::Address(e) => (self.eval(e, ctx)?, None),
        };
        match address.as_str().map(str::trim) {
            Some(a) if !a.is_empty() => {
                header_safe("to", a)?;
                Ok(Some((a.to_string(), id)))
            }
            _ => Ok(None),
        }
    }

    fn users_with_role(&self, role: &str) -> Result<Vec<Addressee>, RunError> {
        let Some(user) = self.record_named("user") else {
            return Ok(Vec::new());
        };
        let rows = self
            .db
            .users_with_role(&self.program.schema, self.table_name(user), role)?;
        let mut out = Vec::new();
        for (id, email) in rows {
            let email = email.map_err(|message| {
                RunError::Eval(EvalError::BadData {
                    table: self.table_name(user).to_string(),
                    id,
                    column: "email".into(),
                    message,
                })
            })?;
            let email = email.as_str().map(str::to_string);
            if let Some(email) = email.filter(|e| !e.trim().is_empty()) {
                header_safe("to", &email)?;
                out.push((email.trim().to_string(), Some((user, id))));
            }
        }
        Ok(out)
    }

    /// Renders message parts as plain text: each placeholder's value with
    /// its format (`mail::format`), null as nothing unless `| or` says.
    fn render(&self, parts: &[Part], ctx: &Context) -> Result<String, RunError> {
        let cx = self.render_context("");
        Ok(format::render_text(parts, &cx, |e| self.eval(e, ctx))?)
    }

    /// What rendering a message needs besides its values.
    fn render_context<'a>(&'a self, unsubscribe_url: &'a str) -> format::Render<'a> {
        format::Render {
            schema: &self.program.schema,
            unsubscribe_url,
            approval_url: "",
        }
    }

    /// Who an email comes from and where replies go: a template's own
    /// addresses, else the project's `sender`, else (`None`) the engine's
    /// default sender.
    pub(super) fn sender_addresses(
        &self,
        template: Option<&ir::TemplateDef>,
    ) -> Result<(Option<String>, Option<String>), RunError> {
        let sender = self.program.schema.sender.as_ref();
        let (from, reply_to) = match template {
            Some(t) => (t.from.clone(), t.reply_to.clone()),
            None => (None, None),
        };
        let from = from.or_else(|| sender.map(|s| s.from.clone()));
        let reply_to = reply_to.or_else(|| sender.and_then(|s| s.reply_to.clone()));
        for (what, v) in [("from", &from), ("reply_to", &reply_to)] {
            if let Some(v) = v {
                header_safe(what, v)?;
            }
        }
        Ok((from, reply_to))
    }

    /// Where an opt-out by email goes: the sender's `reply_to`, else its
    /// `from`; without a sender, the message's own reply-to, else its from.
    fn opt_out_address(&self, from: Option<&str>, reply_to: Option<&str>) -> Option<String> {
        if let Some(sender) = &self.program.schema.sender {
            return Some(sender.opt_out_address().to_string());
        }
        let address = reply_to.or(from)?;
        let address = match address.split_once('<') {
            Some((_, rest)) => rest.split('>').next().unwrap_or(rest),
            None => address,
        };
        Some(address.trim().to_string()).filter(|a| !a.is_empty())
    }

    /// Puts a rendered email in the outbox, keyed by a Message-ID made from
    /// the run and the step, so that doing the step again cannot queue it twice.
    #[allow(clippy::too_many_arguments)]
    fn queue(
        &self,
        run: &Run,
        step: &Step,
        kind: &str,
        address: &str,
        recipient: Option<(RecordId, i64)>,
        message: &Message,
        n: usize,
    ) -> Result<(), RunError> {
        if self.suppressed(run, step, kind, address, message)? {
            return Ok(());
        }
        let ctx = Context {
            recipient: recipient.map(|(_, id)| id),
            ..run.ctx.clone()
        };
        let template = message
            .template
            .map(|t| &self.program.schema.templates[t.index()]);
        let sender = self.program.schema.sender.as_ref();
        let (from, reply_to) = self.sender_addresses(template)?;
        let rule = self.rule(run.rule);
        let message_id = crate::mail::message_id(&self.instance()?, run.id, &step.name, n);
        // Marketing mail carries the opt-out (§8): `List-Unsubscribe`, and
        // a footer unless the template places `{{unsubscribe_url}}`.
        let marketing = message.kind == ir::TemplateKind::Marketing;
        let opt_out = self.opt_out_address(from.as_deref(), reply_to.as_deref());
        let link = match (&self.options.public_links, marketing) {
            (Some(links), true) => Some(links.unsubscribe(run.id, &message_id)),
            _ => None,
        };
        let unsubscribe_url = match (&link, &opt_out) {
            (Some(link), _) => link.clone(),
            (None, Some(a)) => format!("mailto:{a}?subject=unsubscribe"),
            _ => String::new(),
        };
        let list_unsubscribe = match (marketing, &opt_out) {
            (true, Some(a)) => Some(crate::mail::list_unsubscribe(a, link.as_deref())),
            (true, None) => link.as_ref().map(|l| format!("<{l}>")),
            (false, _) => None,
        };
        if let Some(v) = &list_unsubscribe {
            header_safe("List-Unsubscribe", v)?;
        }
        let cx = self.render_context(&unsubscribe_url);
        let eval = |e: &Expr| self.eval(e, &ctx);
        let subject = format::render_text(&message.subject, &cx, eval)?;
        header_safe("subject", &subject)?;
        let mut body = format::render_text(&message.body, &cx, eval)?;
        let mut html = match &message.html {
            Some(parts) => Some(format::render_html(parts, &cx, eval)?),
            None => None,
        };
        // Engagement tracking (§8): marketing mail with a public URL; the
        // footer (with the opt-out link) comes after, so is never tracked.
        let mut links = None;
        if let (Some(public), true) = (&self.options.public_links, marketing) {
            let tracked =
                crate::mail::tracking::track(public, run.id, &message_id, &body, html.as_deref());
            body = tracked.text;
            html = tracked.html;
            if !tracked.links.is_empty() {
                links = serde_json::to_string(&tracked.links).ok();
            }
        }
        if marketing && !message.places_unsubscribe_url() {
            let footer = format::Footer {
                name: sender.map(|s| s.name()).or(from.as_deref()),
                postal_address: sender.and_then(|s| s.postal_address.as_deref()),
                link: link.as_deref(),
                opt_out: opt_out.as_deref(),
            };
            footer.append_text(&mut body);
            if let Some(html) = &mut html {
                footer.append_html(html);
            }
        }
        let inserted = self.db.enqueue_email(&crate::store::outbox::NewMessage {
            message_id: &message_id,
            run_id: run.id,
            rule: &rule.name,
            template: template.map(|t| t.name.as_str()),
            kind,
            to: address,
            from: from.as_deref(),
            reply_to: reply_to.as_deref(),
            subject: &subject,
            body: &body,
            html: html.as_deref(),
            list_unsubscribe: list_unsubscribe.as_deref(),
            created_at: self.clock.get(),
            not_before: self.send_during(rule),
            subject_table: self.table_name(rule.subject),
            subject_id: run.subject,
            recipient: recipient.map(|(record, id)| (self.table_name(record), id)),
            links: links.as_deref(),
        })?;
        if inserted {
            self.report.borrow_mut().queued += 1;
        }
        let what = template.map_or_else(|| kind.to_string(), |t| format!("{kind} {}", t.name));
        self.note(
            run,
            step,
            "queued",
            &format!("{what} to {address}: {subject}"),
        )?;
        Ok(())
    }

    /// When a message of `rule` may go out: now (0), or, for a rule with
    /// `send during CALENDAR` (§11), the next time the calendar is open;
    /// delivery leaves the message queued until then.
    fn send_during(&self, rule: &ir::RuleDef) -> i64 {
        let now = self.clock.get();
        rule.send_during
            .and_then(|i| self.program.schema.calendars.get(i))
            .and_then(|calendar| calendar.next_open(now, self.program.schema.timezone))
            .filter(|open| *open > now)
            .unwrap_or(0)
    }

    /// Whether `address` gets no email of this step because it is
    /// suppressed (§8); if so the step logs why and sends nothing, and the
    /// run goes on.
    fn suppressed(
        &self,
        run: &Run,
        step: &Step,
        kind: &str,
        address: &str,
        message: &Message,
    ) -> Result<bool, RunError> {
        let template = message
            .template
            .map(|t| &self.program.schema.templates[t.index()]);
        let Some(suppression) = self.db.suppression(address).map_err(outbox_to_run_error)? else {
            return Ok(false);
        };
        // The kind is the checker's: the template's (`transactional` or
        // not), and transactional for every `notify`.
        if !suppression.reason.stops(message.kind) {
            return Ok(false);
        }
        let what = template.map_or_else(|| kind.to_string(), |t| format!("{kind} {}", t.name));
        self.note(
            run,
            step,
            "suppressed",
            &format!(
                "{what} to {address}: the address is suppressed ({})",
                suppression.reason
            ),
        )?;
        Ok(true)
    }

    /// A random id for this database, made once, part of every Message-ID.
    pub(crate) fn instance(&self) -> crate::store::DbResult<String> {
        if let Some(id) = self.db.meta("instance")? {
            return Ok(id);
        }
        let id = crate::mail::random_id();
        self.db.set_meta("instance", &id)?;
        Ok(id)
    }
}

/// A failure of the outbox's tables inside a step fails the run.
pub(super) fn outbox_to_run_error(e: crate::store::outbox::OutboxError) -> RunError {
    use crate::store::outbox::OutboxError;
    use crate::store::state::StateError;
    match e {
        OutboxError::State(StateError::Database(d)) => RunError::Database(d),
        e => RunError::Eval(EvalError::Unsupported(e.to_string())),
    }
}

/// An engine error met inside a step fails the run.
fn engine_to_run_error(e: super::EngineError) -> RunError {
    match e {
        super::EngineError::Database(d) => RunError::Database(d),
        other => RunError::Eval(EvalError::Unsupported(other.to_string())),
    }
}
