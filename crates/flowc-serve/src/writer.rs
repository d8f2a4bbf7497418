//! The one writer: a thread that owns a store connection and does every
//! request's database work. Handlers hand it a [`Job`] and wait for the
//! answer; it takes every job waiting (up to [`MAX_BATCH`]), looks up what
//! they need, writes all their writes in one transaction
//! ([`Web::write`]), and only then answers each: every event is committed
//! before its request is answered, and many requests share one commit
//! (group commit). While one batch commits, the next one gathers. The
//! approval page's jobs ([`Job::Direct`], made by [`Writer::direct`]) do
//! their few reads and their one short write themselves, in order with
//! the others.
//!
//! The messages a token names are cached per run: a message never changes
//! once queued, and a run that queued another since is read again when a
//! token names a message its cached list lacks.

use flowc_runtime::mail::token;
use flowc_runtime::store::Store;
use flowc_runtime::store::backend::SqlValue;
use flowc_runtime::store::outbox::OutboxError;
use flowc_runtime::store::suppressions::Reason;
use flowc_runtime::store::web::{Lookup, NewEvent, SentMessage, WebWrite, Written};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one transaction takes.
pub const MAX_BATCH: usize = 512;

/// How many jobs may wait for the writer before handlers wait to hand
/// theirs over.
const QUEUE: usize = 8_192;

/// How many runs' messages the cache keeps (then it starts again).
const CACHED_RUNS: usize = 16_384;

/// How long an `Idempotency-Key` is remembered.
pub const KEY_SECONDS: i64 = 24 * 3600;

/// Opens a store on the database (the writer's own connection; again
/// after the connection is lost).
pub type Opener = Arc<dyn Fn() -> Result<Box<dyn Store>, String> + Send + Sync>;

/// The database failed (the request gets a 5xx; the error is printed).
#[derive(Debug)]
pub struct Failed;

/// A message a token names: its run and [`token::message_key`].
#[derive(Clone, Copy, Debug)]
pub struct Named {
    pub run: i64,
    pub key: [u8; 16],
}

impl Named {
    /// The message a verified token's payload (a message key) names.
    pub fn from_key(payload: &[u8]) -> Option<Named> {
        let key: [u8; 16] = payload.try_into().ok()?;
        let run = i64::from_be_bytes(key[..8].try_into().ok()?);
        Some(Named { run, key })
    }
}

/// What the opt-out page shows of the message whose link was followed.
#[derive(Clone, Debug)]
pub struct OptOut {
    /// The address, as the message went to it.
    pub address: String,
    pub subject: String,
}

/// How a webhook names its record.
#[derive(Clone, Debug)]
pub enum On {
    Id {
        table: String,
        id: i64,
    },
    Field {
        table: String,
        column: String,
        value: Lookup,
    },
}

/// A webhook's event, checked and ready to record.
#[derive(Clone, Debug)]
pub struct Hook {
    pub event: String,
    pub on: On,
    /// A JSON object.
    pub data: String,
    /// Engine time; `None`: now.
    pub at: Option<i64>,
    pub key: Option<String>,
}

/// What recording a webhook's event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookDone {
    /// The event recorded (or, `replayed`, the one an earlier request with
    /// the same `Idempotency-Key` recorded).
    Recorded { event: i64, replayed: bool },
    /// No such row.
    NoRecord,
}

/// A form's submission, converted and ready to write (`crate::forms`).
#[derive(Clone, Debug)]
pub struct Submission {
    pub table: String,
    /// The column that finds the row, and its posted value.
    pub by: String,
    pub key: Lookup,
    /// The posted record fields, converted (the `by` column among them).
    pub values: Vec<(String, SqlValue)>,
    /// Whether `values` hold every required field, so a row can be made.
    pub can_create: bool,
    /// The required fields without a value (empty when `can_create`).
    pub missing: Vec<String>,
    /// The `form_submitted` payload, a JSON object.
    pub data: String,
}

/// What a form's submission did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormDone {
    /// The row found (or made, `created`) and the event recorded on it.
    Saved { row: i64, created: bool, event: i64 },
    /// No row had the key, and required fields were missing to make one.
    Missing,
}

type Reply<T> = oneshot::Sender<Result<T, Failed>>;

/// One request's database work.
pub enum Job {
    /// Records `email_opened` for the message.
    Open(Named, Reply<()>),
    /// Records `email_clicked` for the message's link; answers its URL, or
    /// `None` when the message or link is unknown.
    Click(Named, u16, Reply<Option<String>>),
    /// What the opt-out page shows; `None` for an unknown message.
    OptOutPage(Named, Reply<Option<OptOut>>),
    /// Suppresses the message's address (`unsubscribed`) and records the
    /// event, once; `None` for an unknown message.
    OptOut(Named, Reply<Option<OptOut>>),
    Hook(Box<Hook>, Reply<HookDone>),
    /// A bounce or complaint; answers whether it changed the address's
    /// suppression.
    Report(String, Reason, Reply<bool>),
    /// Finds or makes a form's row and records `form_submitted` on it.
    Form(Box<Submission>, Reply<FormDone>),
    /// Forgets expired `Idempotency-Key`s.
    Housekeeping,
    /// Reads or writes with the writer's store, in order with the other
    /// jobs, given the time events are stamped with (the approval page:
    /// a few reads, one short write). Made by [`Writer::direct`].
    Direct(Box<Direct>),
}

/// The work of a [`Job::Direct`]: it answers its request itself.
pub type Direct = dyn FnOnce(&dyn Store, i64) -> Result<(), OutboxError> + Send;

/// The handlers' end of the writer.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on a store from `open`; an error when the
    /// first connection fails.
    pub fn start(open: Opener) -> Result<Writer, String> {
        // Its commits never checkpoint: the checkpointer thread does.
        let open: Opener = Arc::new(move || {
            let store = open()?;
            store.web().leave_checkpoints().map_err(|e| e.to_string())?;
            Ok(store)
        });
        let (jobs, queue) = mpsc::channel(QUEUE);
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("flowc-serve-writer".into())
            .spawn(move || {
                let store = match open() {
                    Ok(store) => {
                        let _ = ready.send(Ok(()));
                        store
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                Batches {
                    open,
                    store: Some(store),
                    retry_at: None,
                    cache: HashMap::new(),
                }
                .run(queue);
            })
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        match started.recv() {
            Ok(Ok(())) => Ok(Writer { jobs }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the writer thread stopped".into()),
        }
    }

    /// Hands over a job made with a reply channel, and waits for the answer.
    pub async fn ask<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, Failed> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(job(reply)).await.map_err(|_| Failed)?;
        answer.await.map_err(|_| Failed)?
    }

    /// Runs `work` on the writer thread with its store and the time
    /// events are stamped with (now, or the engine's clock where it is
    /// further), and waits for its answer; a database error is said, and
    /// a lost connection opened again, as for every job.
    pub async fn direct<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Store, i64) -> Result<T, OutboxError> + Send + 'static,
    ) -> Result<T, Failed> {
        self.ask(|reply: Reply<T>| {
            Job::Direct(Box::new(move |store: &dyn Store, clock: i64| {
                match work(store, clock) {
                    Ok(answer) => {
                        let _ = reply.send(Ok(answer));
                        Ok(())
                    }
                    Err(e) => {
                        let _ = reply.send(Err(Failed));
                        Err(e)
                    }
                }
            }))
        })
        .await
    }

    /// Hands over a job that needs no answer.
    pub async fn tell(&self, job: Job) {
        let _ = self.jobs.send(job).await;
    }
}

/// Why a job could not be done.
enum Trouble {
    Db(OutboxError),
    /// No connection to the database (connecting again failed).
    NoConnection,
}

impl From<OutboxError> for Trouble {
    fn from(e: OutboxError) -> Trouble {
        Trouble::Db(e)
    }
}

/// The writer thread's state.
struct Batches {
    open: Opener,
    store: Option<Box<dyn Store>>,
    /// When to try connecting again after a failure.
    retry_at: Option<std::time::Instant>,
    cache: HashMap<i64, Arc<[SentMessage]>>,
}

/// What a job becomes before the batch's transaction: a write (owned, so
/// that the batch can borrow it) and how to answer once it is done.
struct Planned {
    write: Option<Owned>,
    answer: Answer,
}

/// An event to record, owned.
struct Event {
    name: Cow<'static, str>,
    table: String,
    row: i64,
    data: String,
    at: i64,
}

impl Event {
    fn new_event(&self) -> NewEvent<'_> {
        NewEvent {
            name: &self.name,
            table: &self.table,
            row: self.row,
            data: &self.data,
            at: self.at,
        }
    }
}

/// A [`WebWrite`], owned.
enum Owned {
    Event(Event),
    Keyed {
        scope: String,
        key: String,
        now: i64,
        event: Event,
    },
    Unsubscribe {
        address: String,
        source: String,
        clock: i64,
        event: Option<Event>,
    },
    Report {
        address: String,
        reason: Reason,
        clock: i64,
    },
    Form {
        submission: Box<Submission>,
        at: i64,
    },
}

impl Owned {
    fn write(&self) -> WebWrite<'_> {
        match self {
            Owned::Event(e) => WebWrite::Event(e.new_event()),
            Owned::Keyed {
                scope,
                key,
                now,
                event,
            } => WebWrite::Keyed {
                scope,
                key,
                used_since: now - KEY_SECONDS,
                now: *now,
                event: event.new_event(),
            },
            Owned::Unsubscribe {
                address,
                source,
                clock,
                event,
            } => WebWrite::Unsubscribe {
                address,
                source,
                clock: *clock,
                event: event.as_ref().map(Event::new_event),
            },
            Owned::Report {
                address,
                reason,
                clock,
            } => WebWrite::Report {
                address,
                reason: *reason,
                source: "POST /bounces",
                clock: *clock,
            },
            Owned::Form { submission, at } => WebWrite::UpsertByField {
                table: &submission.table,
                by: &submission.by,
                key: &submission.key,
                values: &submission.values,
                can_create: submission.can_create,
                event: crate::forms::EVENT,
                data: &submission.data,
                at: *at,
            },
        }
    }
}

/// How a planned job is answered.
enum Answer {
    /// Answered already.
    Done,
    Open(Reply<()>),
    Click(String, Reply<Option<String>>),
    OptOut(OptOut, Reply<Option<OptOut>>),
    Hook(Reply<HookDone>),
    Report(Reply<bool>),
    Form(Reply<FormDone>),
}

impl Answer {
    /// Answers after the batch committed (`Some`: what the job's write
    /// did), or without a write (`None`: nothing to record).
    fn written(self, written: Option<Written>) {
        match (self, written) {
            (Answer::Done, _) => {}
            (Answer::Open(r), _) => drop(r.send(Ok(()))),
            (Answer::Click(url, r), _) => drop(r.send(Ok(Some(url)))),
            (Answer::OptOut(o, r), _) => drop(r.send(Ok(Some(o)))),
            (Answer::Hook(r), Some(Written::Keyed { event, replayed })) => {
                drop(r.send(Ok(HookDone::Recorded { event, replayed })))
            }
            (Answer::Hook(r), Some(Written::Event(event))) => {
                drop(r.send(Ok(HookDone::Recorded {
                    event,
                    replayed: false,
                })))
            }
            (Answer::Report(r), Some(Written::Reported { changed, .. })) => {
                drop(r.send(Ok(changed)))
            }
            (
                Answer::Form(r),
                Some(Written::Upserted {
                    row: Some(row),
                    created,
                    event: Some(event),
                }),
            ) => drop(r.send(Ok(FormDone::Saved {
                row,
                created,
                event,
            }))),
            (Answer::Form(r), Some(Written::Upserted { row: None, .. })) => {
                drop(r.send(Ok(FormDone::Missing)))
            }
            (Answer::Hook(r), _) => drop(r.send(Err(Failed))),
            (Answer::Report(r), _) => drop(r.send(Err(Failed))),
            (Answer::Form(r), _) => drop(r.send(Err(Failed))),
        }
    }

    /// The job's write failed: the request gets a 5xx.
    fn failed(self) {
        match self {
            Answer::Done => {}
            Answer::Open(r) => drop(r.send(Err(Failed))),
            Answer::Click(_, r) => drop(r.send(Err(Failed))),
            Answer::OptOut(_, r) => drop(r.send(Err(Failed))),
            Answer::Hook(r) => drop(r.send(Err(Failed))),
            Answer::Report(r) => drop(r.send(Err(Failed))),
            Answer::Form(r) => drop(r.send(Err(Failed))),
        }
    }
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A message's Message-ID as events name it: without angle brackets.
pub fn bare_message_id(message_id: &str) -> &str {
    message_id
        .strip_prefix('<')
        .and_then(|m| m.strip_suffix('>'))
        .unwrap_or(message_id)
}

fn engagement_data(m: &SentMessage, url: Option<&str>) -> String {
    let mut data = serde_json::Map::new();
    data.insert(
        "template".into(),
        m.template
            .clone()
            .map_or(serde_json::Value::Null, Into::into),
    );
    data.insert("message".into(), bare_message_id(&m.message_id).into());
    if let Some(url) = url {
        data.insert("url".into(), url.into());
    }
    serde_json::Value::Object(data).to_string()
}

impl Batches {
    fn run(mut self, mut queue: mpsc::Receiver<Job>) {
        while let Some(first) = queue.blocking_recv() {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.batch(jobs);
        }
    }

    /// The store, connecting again if the last connection was lost (at
    /// most once a second: the database may be restarting).
    fn store(&mut self) -> Option<&dyn Store> {
        let now = std::time::Instant::now();
        if self.store.is_none() && self.retry_at.is_none_or(|t| now >= t) {
            match (self.open)() {
                Ok(store) => {
                    eprintln!("flowc serve: connected to the database again");
                    self.store = Some(store);
                    self.retry_at = None;
                }
                Err(e) => {
                    eprintln!("error: flowc serve: {e}");
                    self.retry_at = Some(now + std::time::Duration::from_secs(1));
                }
            }
        }
        self.store.as_deref()
    }

    /// Notes a failure; a lost connection is dropped, to open a new one.
    fn failed(&mut self, trouble: &Trouble) {
        match trouble {
            Trouble::Db(e) => {
                eprintln!("error: flowc serve: {e}");
                if e.is_connection_lost() {
                    self.store = None;
                }
            }
            // Said when connecting failed.
            Trouble::NoConnection => {}
        }
    }

    fn batch(&mut self, jobs: Vec<Job>) {
        // A job dropped unanswered (no database, a failed read) gets the
        // writer's failure: its reply channel closes.
        let Ok(clock) = self.clock() else {
            return;
        };
        let mut writes = Vec::with_capacity(jobs.len());
        let mut answers = Vec::with_capacity(jobs.len());
        for job in jobs {
            match self.plan(job, clock) {
                Ok(Planned {
                    write: Some(write),
                    answer,
                }) => {
                    writes.push(write);
                    answers.push(answer);
                }
                Ok(Planned {
                    write: None,
                    answer,
                }) => answer.written(None),
                Err(e) => self.failed(&e),
            }
        }
        if writes.is_empty() {
            return;
        }
        let Some(store) = self.store() else {
            answers.into_iter().for_each(Answer::failed);
            return;
        };
        let batch: Vec<WebWrite> = writes.iter().map(Owned::write).collect();
        match store.web().write(&batch) {
            Ok(done) if done.len() == answers.len() => {
                for (answer, written) in answers.into_iter().zip(done) {
                    answer.written(Some(written));
                }
            }
            Ok(_) => answers.into_iter().for_each(Answer::failed),
            Err(e) => {
                self.failed(&e.into());
                // One write's failure is not the others': each alone.
                for (write, answer) in writes.iter().zip(answers) {
                    let Some(store) = self.store() else {
                        answer.failed();
                        continue;
                    };
                    match store.web().write(&[write.write()]) {
                        Ok(done) => answer.written(done.into_iter().next()),
                        Err(e) => {
                            self.failed(&e.into());
                            answer.failed();
                        }
                    }
                }
            }
        }
    }

    /// The time events are stamped with: now, or the engine's clock where
    /// it is further (after a simulation), so that a run waiting since
    /// then sees them.
    fn clock(&mut self) -> Result<i64, ()> {
        let Some(store) = self.store() else {
            return Err(());
        };
        match store.clock() {
            Ok(clock) => Ok(clock.unwrap_or(i64::MIN).max(wall_clock())),
            Err(e) => {
                self.failed(&OutboxError::from(e).into());
                Err(())
            }
        }
    }

    /// The message a token names, from the cache or the database.
    fn message(&mut self, named: Named) -> Result<Option<SentMessage>, Trouble> {
        let find = |list: &[SentMessage]| {
            list.iter()
                .find(|m| token::message_key_names(&named.key, &m.message_id) == Some(named.run))
                .cloned()
        };
        if let Some(found) = self.cache.get(&named.run).and_then(|l| find(l)) {
            return Ok(Some(found));
        }
        let Some(store) = self.store() else {
            return Err(Trouble::NoConnection);
        };
        let list: Arc<[SentMessage]> = store.web().run_messages(named.run)?.into();
        let found = find(&list);
        if self.cache.len() >= CACHED_RUNS {
            self.cache.clear();
        }
        self.cache.insert(named.run, list);
        Ok(found)
    }

    /// What `job` writes and how it is answered; a job that writes
    /// nothing is answered at once (or, on an error, dropped unanswered).
    fn plan(&mut self, job: Job, clock: i64) -> Result<Planned, Trouble> {
        let done = |answer| Planned {
            write: None,
            answer,
        };
        let event = |name: &'static str, m: &SentMessage, url: Option<&str>| {
            m.recipient.as_ref().map(|(table, row)| Event {
                name: Cow::Borrowed(name),
                table: table.clone(),
                row: *row,
                data: engagement_data(m, url),
                at: clock,
            })
        };
        Ok(match job {
            Job::Open(named, reply) => {
                let m = self.message(named)?;
                Planned {
                    write: m
                        .as_ref()
                        .and_then(|m| event("email_opened", m, None))
                        .map(Owned::Event),
                    answer: Answer::Open(reply),
                }
            }
            Job::Click(named, link, reply) => {
                let m = self.message(named)?;
                let url = m.as_ref().and_then(|m| m.links.get(usize::from(link)));
                let (Some(m), Some(url)) = (&m, url) else {
                    let _ = reply.send(Ok(None));
                    return Ok(done(Answer::Done));
                };
                Planned {
                    write: event("email_clicked", m, Some(url)).map(Owned::Event),
                    answer: Answer::Click(url.clone(), reply),
                }
            }
            Job::OptOutPage(named, reply) => {
                let page = self.message(named)?.map(|m| OptOut {
                    address: m.to,
                    subject: m.subject,
                });
                let _ = reply.send(Ok(page));
                done(Answer::Done)
            }
            Job::OptOut(named, reply) => {
                let Some(m) = self.message(named)? else {
                    let _ = reply.send(Ok(None));
                    return Ok(done(Answer::Done));
                };
                Planned {
                    write: Some(Owned::Unsubscribe {
                        address: m.to.clone(),
                        source: format!("the opt-out link of {}", m.message_id),
                        clock,
                        event: event("unsubscribed", &m, None),
                    }),
                    answer: Answer::OptOut(
                        OptOut {
                            address: m.to,
                            subject: m.subject,
                        },
                        reply,
                    ),
                }
            }
            Job::Hook(hook, reply) => {
                let Some(row) = self.row(&hook.on)? else {
                    let _ = reply.send(Ok(HookDone::NoRecord));
                    return Ok(done(Answer::Done));
                };
                let Hook {
                    event,
                    on,
                    data,
                    at,
                    key,
                } = *hook;
                let (On::Id { table, .. } | On::Field { table, .. }) = on;
                let scope = format!("hooks/{event}");
                let event = Event {
                    name: Cow::Owned(event),
                    table,
                    row,
                    data,
                    at: at.unwrap_or(clock),
                };
                let write = match key {
                    Some(key) => Owned::Keyed {
                        scope,
                        key,
                        now: wall_clock(),
                        event,
                    },
                    None => Owned::Event(event),
                };
                Planned {
                    write: Some(write),
                    answer: Answer::Hook(reply),
                }
            }
            Job::Report(address, reason, reply) => Planned {
                write: Some(Owned::Report {
                    address,
                    reason,
                    clock,
                }),
                answer: Answer::Report(reply),
            },
            Job::Form(submission, reply) => Planned {
                write: Some(Owned::Form {
                    submission,
                    at: clock,
                }),
                answer: Answer::Form(reply),
            },
            Job::Housekeeping => {
                if let Some(store) = self.store() {
                    store.web().forget_keys(wall_clock() - KEY_SECONDS)?;
                }
                done(Answer::Done)
            }
            Job::Direct(work) => {
                let Some(store) = self.store() else {
                    return Err(Trouble::NoConnection);
                };
                work(store, clock)?;
                done(Answer::Done)
            }
        })
    }

    /// The row a webhook names, if it exists.
    fn row(&mut self, on: &On) -> Result<Option<i64>, Trouble> {
        let Some(store) = self.store() else {
            return Err(Trouble::NoConnection);
        };
        let web = store.web();
        match on {
            On::Id { table, id } => Ok(web.record_exists(table, *id)?.then_some(*id)),
            On::Field {
                table,
                column,
                value,
            } => Ok(web.records_where(table, column, value, 1)?.first().copied()),
        }
    }
}
