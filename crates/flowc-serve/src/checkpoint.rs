//! The checkpointer: a thread with a connection of its own that copies
//! SQLite's write-ahead log into the database every [`EVERY`] (a
//! `PASSIVE` checkpoint, which never waits for readers or the writer).
//! The request writer's commits leave checkpoints to it
//! ([`Web::leave_checkpoints`]): otherwise the commit that crosses
//! SQLite's threshold copies the whole log while its requests wait (the
//! tracking endpoints' p99 was 46–59 ms with it, 18–22 ms without;
//! docs/performance.md). On PostgreSQL it does nothing.
//!
//! [`Web::leave_checkpoints`]: flowc_runtime::store::web::Web::leave_checkpoints

use crate::writer::Opener;
use std::time::Duration;

/// How often the log is copied.
pub const EVERY: Duration = Duration::from_secs(1);

/// Starts the checkpointer; an error only when the thread cannot start.
/// A failed connection or checkpoint is said and tried again later.
pub fn start(open: Opener) -> Result<(), String> {
    std::thread::Builder::new()
        .name("flowc-serve-checkpoint".into())
        .spawn(move || {
            let mut store = None;
            loop {
                std::thread::sleep(EVERY);
                if store.is_none() {
                    match open() {
                        Ok(s) => store = Some(s),
                        Err(e) => {
                            eprintln!("error: flowc serve: checkpoints: {e}");
                            continue;
                        }
                    }
                }
                if let Some(s) = &store
                    && let Err(e) = s.when_idle()
                {
                    eprintln!("error: flowc serve: checkpoint: {e}");
                    store = None;
                }
            }
        })
        .map(|_| ())
        .map_err(|e| format!("cannot start the checkpoint thread: {e}"))
}
