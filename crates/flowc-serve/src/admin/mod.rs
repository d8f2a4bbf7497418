//! The admin side of `flowc serve` (DESIGN.md §9): pages for people and
//! the same answers as JSON under `/api/…`, behind `FLOWC_ADMIN_TOKEN`
//! (without it every admin path is a `404`, as if it did not exist).
//!
//! - [`auth`]: Bearer tokens, the login page and its signed session
//!   cookie, CSRF tokens on every form of a session;
//! - [`views`]: the pages and their JSON twins: `/` (every rule with its
//!   counts), `/rules/NAME` (its chart, its steps, who waits where),
//!   `/records/TABLE/ID` (everything flowc did with a record),
//!   `/approvals`, `/tasks`, `/outbox` (resolve unconfirmed messages),
//!   `/suppressions` (add, remove);
//! - [`layout`]: the shared page shell and headers; [`form`]: form bodies.
//!
//! Reads and the few writes (resolving a message, suppressing an address)
//! go through the runtime's typed store operations on a connection of
//! their own, opened per request on a blocking thread (at most
//! [`CONCURRENT`] at once), never the writer's: the admin side never
//! delays the tracking endpoints' group commits. Each write is one short
//! store transaction.

pub mod auth;
pub mod form;
pub mod layout;
pub mod views;

pub use auth::Keys;

use crate::writer::Opener;
use flowc_check::ir::Schema;
use flowc_runtime::store::Store;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// How many admin requests use the database at once (more wait).
pub const CONCURRENT: usize = 4;

/// A rule as the admin pages show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    /// The record it runs for.
    pub record: String,
    /// Its trigger as written (`when contact is created`).
    pub trigger: String,
    /// Its steps in the chart's order: the stable name (as runs and the
    /// log name it) and what the chart shows for it.
    pub steps: Vec<(String, String)>,
}

/// Draws a rule's chart (SVG, one `<svg>` element) with the counts of the
/// database `store` is on; `Ok(None)` for a rule the project lacks.
pub type Chart = Arc<dyn Fn(&str, &dyn Store) -> Result<Option<String>, String> + Send + Sync>;

/// The project as the admin pages show it: its rules, and how to draw
/// one (the command that runs the server knows how: `flowc graph`).
#[derive(Clone, Default)]
pub struct Project {
    pub rules: Vec<Rule>,
    pub chart: Option<Chart>,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("rules", &self.rules)
            .field("chart", &self.chart.is_some())
            .finish()
    }
}

/// What an admin request's database work may use, on its own thread.
pub struct Shared {
    pub schema: Arc<Schema>,
    pub project: Arc<Project>,
}

/// The admin side's state.
pub struct Console {
    pub(crate) keys: Keys,
    /// Cookies get `Secure` (the public URL is https).
    pub(crate) secure_cookies: bool,
    project: Arc<Project>,
    schema: Arc<Schema>,
    open: Opener,
    slots: Arc<Semaphore>,
}

/// The database failed; the message is printed, never shown.
#[derive(Debug)]
pub struct DbFailed(pub String);

impl Console {
    pub fn new(
        keys: Keys,
        secure_cookies: bool,
        project: Project,
        schema: Arc<Schema>,
        open: Opener,
    ) -> Console {
        Console {
            keys,
            secure_cookies,
            project: Arc::new(project),
            schema,
            open,
            slots: Arc::new(Semaphore::new(CONCURRENT)),
        }
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    /// Runs `work` on a blocking thread with a store of its own.
    pub async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Shared, &dyn Store) -> Result<T, String> + Send + 'static,
    ) -> Result<T, DbFailed> {
        let Ok(_slot) = self.slots.clone().acquire_owned().await else {
            return Err(DbFailed("the admin side is stopping".into()));
        };
        let shared = Shared {
            schema: self.schema.clone(),
            project: self.project.clone(),
        };
        let open = self.open.clone();
        let done = tokio::task::spawn_blocking(move || {
            let store = open()?;
            work(&shared, store.as_ref())
        })
        .await;
        match done {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                eprintln!("error: flowc serve: admin: {e}");
                Err(DbFailed(e))
            }
            Err(e) => {
                eprintln!("error: flowc serve: admin: {e}");
                Err(DbFailed(e.to_string()))
            }
        }
    }
}

/// The admin routes (with the app's state; merged into
/// [`crate::server::router`]).
pub fn routes() -> axum::Router<Arc<crate::App>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", get(auth::logout_page).post(auth::logout))
        .route("/", get(views::dashboard))
        .route("/rules/{name}", get(views::rule_page))
        .route("/records/{table}/{id}", get(views::record_page))
        .route("/approvals", get(views::approvals_page))
        .route("/tasks", get(views::tasks_page))
        .route("/outbox", get(views::outbox_page))
        .route("/outbox/{id}/resolve", post(views::resolve_form))
        .route("/suppressions", get(views::suppressions_page))
        .route("/suppressions/add", post(views::suppress_form))
        .route("/suppressions/remove", post(views::unsuppress_form))
        .route("/api/rules", get(views::rules_api))
        .route("/api/rules/{name}", get(views::rule_api))
        .route("/api/records/{table}/{id}", get(views::record_api))
        .route("/api/approvals", get(views::approvals_api))
        .route("/api/tasks", get(views::tasks_api))
        .route("/api/outbox", get(views::outbox_api))
        .route("/api/outbox/{id}/resolve", post(views::resolve_api))
        .route(
            "/api/suppressions",
            get(views::suppressions_api).post(views::suppress_api),
        )
        .route("/api/suppressions/remove", post(views::unsuppress_api))
}
