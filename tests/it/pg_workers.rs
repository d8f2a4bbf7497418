//! Many workers on one PostgreSQL database under faults (DESIGN.md §10):
//! three `flowc run --watch` processes share the work of a writer that
//! changes records in multi-row transactions, in random order, while one
//! worker is killed (`kill -9`) and another is stopped (`SIGSTOP`) for
//! longer than the idle-in-transaction timeout and its leases, then
//! continued. Afterwards every change was processed exactly once, each
//! record's changes in commit order, every email sent once, and nothing
//! is left claimed.
//!
//! The rules make processing observable: each change of a contact's score
//! creates a task naming the score that run saw (the writer only ever
//! adds one, so a contact's tasks in id order must read 1, 2, 3, … with
//! no gap, repeat or inversion), writes it back to the row (`seen`) and
//! adds one to its partner's `pings` (read, then written: a lost update
//! between workers shows as a missing ping), so workers and the writer
//! lock the same rows in any order; each created contact gets one task
//! and one email.

use crate::support::pg;
use crate::support::world::World;
use flowc::store::pg::postgres::Client;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RULES: &str = r#"timezone "UTC"

record contact {
  name: text
  email: text
  score: int
  seen: int
  pings: int
  partner: contact?
}

template welcome {
  subject: "Welcome, {{contact.name}}"
  body: "Hello {{contact.name}}."
}

# One task and one email per created contact.
rule welcome
  when contact is created
  create task "created {{contact.score}}" for contact
  send email welcome to contact
end

# Every change of the score: a task naming the score this run saw, that
# score written back to the row, and +1 on the partner's pings (another
# record, which another worker may be writing at the same time).
rule track
  when contact.score changes
  create task "score {{contact.score}}" for contact
  set contact.seen = contact.score
  if contact.partner is not null
    set contact.partner.pings = contact.partner.pings + 1
  end
end
"#;

/// A deterministic pseudo-random sequence (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n.max(1)
    }
}

/// The worker processes; dropping it continues a stopped one and kills
/// them all, whatever happened to the test.
struct Workers {
    children: Vec<Child>,
    logs: Vec<PathBuf>,
}

impl Workers {
    fn signal(&self, i: usize, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.children[i].id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} worker {i}");
    }

    /// Stops worker `i` (`SIGSTOP`) at a moment when one of its sessions
    /// is inside a transaction, holding claims and row locks (tried for up
    /// to `patience`, then stopped wherever it is); whether it was caught
    /// inside one.
    fn stop_inside_a_transaction(
        &self,
        i: usize,
        client: &mut Client,
        rng: &mut Rng,
        patience: Duration,
    ) -> bool {
        let deadline = Instant::now() + patience;
        loop {
            self.signal(i, "-STOP");
            // A statement under way finishes; the transaction stays open.
            std::thread::sleep(Duration::from_millis(30));
            let inside = count(
                client,
                &format!(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE application_name = 'w{i}' AND xact_start IS NOT NULL"
                ),
            ) > 0;
            if inside || Instant::now() >= deadline {
                return inside;
            }
            self.signal(i, "-CONT");
            std::thread::sleep(Duration::from_millis(rng.below(40)));
        }
    }

    /// The end of each worker's output, for failure messages.
    fn tails(&self) -> String {
        let mut out = String::new();
        for (i, log) in self.logs.iter().enumerate() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            out.push_str(&format!("--- worker {i} ({}):\n{tail}\n", log.display()));
        }
        out
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One operation of a writer's transaction.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// A new contact, numbered by the writer, with its partner.
    Insert(u64, Option<i64>),
    /// +1 on the score of a contact created before this transaction.
    Update(i64),
    /// +1 on the score of the k-th contact this transaction created.
    UpdateNew(usize),
}

/// What the writer did.
#[derive(Debug, Default)]
struct Written {
    transactions: usize,
    contacts: usize,
    updates: usize,
    /// Transactions tried again after a deadlock or serialization failure.
    retried: usize,
}

fn retryable(e: &flowc::store::pg::postgres::Error) -> bool {
    use flowc::store::pg::postgres::error::SqlState;
    matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
        || *c == SqlState::T_R_SERIALIZATION_FAILURE)
}

/// Runs one planned transaction; the ids of the contacts it created.
fn apply(client: &mut Client, ops: &[Op]) -> Result<Vec<i64>, flowc::store::pg::postgres::Error> {
    let mut tx = client.transaction()?;
    let mut created = Vec::new();
    for op in ops {
        let id = match *op {
            Op::Insert(n, partner) => {
                let row = tx.query_one(
                    "INSERT INTO contact (name, email, score, seen, pings, partner)
                     VALUES ($1, $2, 0, 0, 0, $3) RETURNING id",
                    &[&format!("w{n}"), &format!("w{n}@example.jp"), &partner],
                )?;
                created.push(row.get::<_, i64>(0));
                continue;
            }
            Op::Update(id) => id,
            Op::UpdateNew(k) => created[k],
        };
        let n = tx.execute("UPDATE contact SET score = score + 1 WHERE id = $1", &[&id])?;
        assert_eq!(n, 1, "contact {id} exists");
    }
    tx.commit()?;
    Ok(created)
}

/// Multi-row transactions in random order until `until`: new contacts,
/// and +1 on random contacts' scores (one contact several times in one
/// transaction, too). A transaction that loses a deadlock is tried again.
fn write(url: &str, seed: u64, until: Instant) -> Written {
    let mut client = crate::pg_store::connect(url);
    let mut rng = Rng(seed);
    let mut contacts: Vec<i64> = Vec::new();
    let mut written = Written::default();
    let mut numbered = 0u64;
    while Instant::now() < until {
        let mut ops = Vec::new();
        let mut new = 0;
        let size = if contacts.is_empty() {
            8
        } else {
            1 + rng.below(6)
        };
        for _ in 0..size {
            if contacts.len() < 8 || rng.below(100) < 2 {
                numbered += 1;
                let partner = (!contacts.is_empty())
                    .then(|| contacts[rng.below(contacts.len() as u64) as usize]);
                ops.push(Op::Insert(numbered, partner));
                new += 1;
            } else if new > 0 && rng.below(4) == 0 {
                ops.push(Op::UpdateNew(rng.below(new as u64) as usize));
            } else {
                let i = rng.below(contacts.len() as u64) as usize;
                ops.push(Op::Update(contacts[i]));
            }
        }
        let created = loop {
            match apply(&mut client, &ops) {
                Ok(created) => break created,
                Err(e) if retryable(&e) => written.retried += 1,
                Err(e) => panic!("the writer failed: {}", flowc::store::pg::error_text(&e)),
            }
        };
        written.transactions += 1;
        written.contacts += created.len();
        written.updates += ops
            .iter()
            .filter(|op| !matches!(op, Op::Insert(..)))
            .count();
        contacts.extend(created);
        std::thread::sleep(Duration::from_millis(rng.below(60)));
    }
    written
}

/// Every `.eml` under `dirs`: Message-ID → how many files, and the
/// recipients.
fn mails(dirs: &[PathBuf]) -> (HashMap<String, usize>, Vec<String>) {
    let mut ids = HashMap::new();
    let mut to = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().extension().is_none_or(|e| e != "eml") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                let lower = line.to_ascii_lowercase();
                if lower.starts_with("message-id:") {
                    *ids.entry(line[11..].trim().to_string()).or_insert(0) += 1;
                } else if lower.starts_with("to:") {
                    to.push(line[3..].trim().to_string());
                }
            }
        }
    }
    (ids, to)
}

fn count(client: &mut Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {}", flowc::store::pg::error_text(&e)))
        .get(0)
}

/// Whether the workers have nothing left to do: no captured change, no
/// unprocessed event, no run still going, every email sent.
fn settled(client: &mut Client) -> bool {
    count(
        client,
        "SELECT (SELECT count(*) FROM flowc.flow_changes)
              + (SELECT count(*) FROM flowc.flow_events WHERE NOT processed)
              + (SELECT count(*) FROM flowc.flow_runs WHERE status IN ('running', 'waiting'))
              + (SELECT count(*) FROM flowc.flow_outbox WHERE status <> 'sent')",
    ) == 0
}

fn spawn_worker(world: &World, url: &str, name: &str, mail: &Path, log: &Path) -> Child {
    let out = std::fs::File::create(log).expect("worker log");
    let err = out.try_clone().expect("worker log");
    let mail = mail.to_string_lossy();
    // Its sessions carry its name, so the test can see its transactions.
    let url = format!("{url}?application_name={name}");
    world
        .command(
            &[
                "run",
                "--db",
                &url,
                "rules",
                "--watch",
                "--interval",
                "1",
                "--mail-dir",
                &mail,
                // Shorter than the stop below: a stopped worker's claims
                // on messages are taken over.
                "--lease",
                "10",
            ],
            &[],
        )
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn flowc run --watch")
}

#[test]
fn many_workers_under_kill_and_stop_process_everything_once_in_order() {
    let name = "many_workers_under_kill_and_stop_process_everything_once_in_order";
    if !crate::support::slow_tests_enabled(name) {
        return;
    }
    let Some(server) = pg::start(name) else {
        return;
    };
    let seed = std::env::var("FLOWC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("{name}: seed {seed} (FLOWC_SEED={seed} repeats the writer's choices)");
    let world = World::files(&[("main.flow", RULES)]);
    let url = server.create_database("workers");
    let out = world.flowc(&["schema", "--db", &url, "--create", "rules"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Installs change capture before anything is written.
    let out = world.flowc(&["run", "--db", &url, "rules"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mail_dirs: Vec<PathBuf> = (0..3).map(|i| world.path(&format!("mail-{i}"))).collect();
    let logs: Vec<PathBuf> = (0..3)
        .map(|i| world.path(&format!("worker-{i}.log")))
        .collect();
    let mut workers = Workers {
        children: (0..3)
            .map(|i| spawn_worker(&world, &url, &format!("w{i}"), &mail_dirs[i], &logs[i]))
            .collect(),
        logs,
    };
    let started = Instant::now();
    let writing = Duration::from_secs(30);
    let writer = {
        let url = url.clone();
        std::thread::spawn(move || write(&url, seed, started + writing))
    };
    let at = |secs: u64| {
        let when = started + Duration::from_secs(secs);
        std::thread::sleep(when.saturating_duration_since(Instant::now()));
    };
    let mut watcher = crate::pg_store::connect(&url);
    let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    at(4);
    // kill -9 in the middle of a unit of work.
    let killed_inside =
        workers.stop_inside_a_transaction(0, &mut watcher, &mut rng, Duration::from_secs(3));
    workers.children[0].kill().expect("kill -9 worker 0");
    let _ = workers.children[0].wait();
    at(8);
    let stopped_inside =
        workers.stop_inside_a_transaction(1, &mut watcher, &mut rng, Duration::from_secs(3));
    let stopped_at = Instant::now();
    eprintln!(
        "{name}: worker 0 killed {} a transaction, worker 1 stopped {} one",
        if killed_inside { "inside" } else { "outside" },
        if stopped_inside { "inside" } else { "outside" },
    );
    // Longer than the sessions' idle-in-transaction timeout (15 s) and the
    // workers' lease on messages (10 s).
    std::thread::sleep(
        (stopped_at + Duration::from_secs(20)).saturating_duration_since(Instant::now()),
    );
    workers.signal(1, "-CONT");
    let written = writer.join().expect("the writer");
    eprintln!(
        "{name}: wrote {written:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut client = crate::pg_store::connect(&url);
    let deadline = Instant::now() + Duration::from_secs(45);
    while !settled(&mut client) {
        assert!(
            Instant::now() < deadline,
            "the workers did not finish within 45 s of the last write\n{}",
            workers.tails()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    eprintln!(
        "{name}: settled {:.1} s after the start",
        started.elapsed().as_secs_f64()
    );
    let tails = workers.tails();

    // The untouched worker is still running: no deadlock, serialization
    // failure or lost race stopped it.
    assert!(
        workers.children[2]
            .try_wait()
            .expect("worker 2's status")
            .is_none(),
        "worker 2 exited\n{tails}"
    );
    // The stopped one too: its session was ended while it was stopped
    // inside a transaction; continued, it connected again and went on.
    assert!(
        workers.children[1]
            .try_wait()
            .expect("worker 1's status")
            .is_none(),
        "worker 1 exited after it was continued\n{tails}"
    );
    if stopped_inside {
        let log = std::fs::read_to_string(&workers.logs[1]).unwrap_or_default();
        assert!(
            log.contains("lost the database connection") && log.contains("connected again"),
            "worker 1 did not connect again\n{tails}"
        );
    }

    // Every change once, each record's in commit order.
    let contacts: BTreeMap<i64, (i64, i64, i64, Option<i64>)> = client
        .query("SELECT id, score, seen, pings, partner FROM contact", &[])
        .expect("contacts")
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
        .collect();
    let scores: BTreeMap<i64, (i64, i64)> = contacts
        .iter()
        .map(|(id, (score, seen, _, _))| (*id, (*score, *seen)))
        .collect();
    // Each partner was pinged once per score change of its contacts.
    let mut pings: BTreeMap<i64, i64> = BTreeMap::new();
    for (score, _, _, partner) in contacts.values() {
        if let Some(p) = partner {
            *pings.entry(*p).or_default() += score;
        }
    }
    assert_eq!(scores.len(), written.contacts, "contacts written");
    let total: i64 = scores.values().map(|(s, _)| s).sum();
    assert_eq!(total as usize, written.updates, "updates written");
    let mut tasks: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for row in client
        .query(
            "SELECT assignee_id, title FROM flowc.flow_tasks ORDER BY id",
            &[],
        )
        .expect("tasks")
    {
        tasks.entry(row.get(0)).or_default().push(row.get(1));
    }
    let mut wrong = Vec::new();
    for (id, (score, seen)) in &scores {
        let expected: Vec<String> = std::iter::once("created 0".to_string())
            .chain((1..=*score).map(|k| format!("score {k}")))
            .collect();
        let seen_by_runs = tasks.get(id).cloned().unwrap_or_default();
        if seen_by_runs != expected {
            wrong.push(format!(
                "contact {id}: {seen_by_runs:?}, expected {expected:?}"
            ));
        }
        let (expected_pings, got_pings) = (pings.get(id).copied().unwrap_or(0), contacts[id].2);
        if got_pings != expected_pings {
            wrong.push(format!(
                "contact {id}: pinged {got_pings} times by its partners' runs, expected {expected_pings}"
            ));
        }
        if seen != score {
            wrong.push(format!(
                "contact {id}: seen {seen}, score {score} (the last change was not processed last)"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} contacts' changes were not processed once each in order:\n{}\n{tails}",
        wrong.len(),
        scores.len(),
        wrong.join("\n")
    );
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM flowc.flow_runs") as usize,
        written.contacts + written.updates,
        "one run per change"
    );
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM flowc.flow_runs WHERE status <> 'done'"
        ),
        0,
        "no run failed:\n{}",
        client
            .query(
                "SELECT id || ' ' || rule || ' ' || subject_id || ': ' || coalesce(error, status)
                 FROM flowc.flow_runs WHERE status <> 'done' ORDER BY id LIMIT 10",
                &[]
            )
            .expect("failed runs")
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Every email once: one per contact in the outbox, sent, unclaimed;
    // one file per Message-ID across the workers' folders.
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM flowc.flow_outbox WHERE status = 'sent' AND worker IS NULL"
        ) as usize,
        written.contacts
    );
    assert_eq!(
        count(
            &mut client,
            "SELECT count(DISTINCT subject_id) FROM flowc.flow_outbox"
        ) as usize,
        written.contacts
    );
    let (ids, to) = mails(&mail_dirs);
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(ids.len(), written.contacts, "one message per contact");
    let mut recipients = to.clone();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), to.len(), "one email per recipient");
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM flowc.flow_changes"),
        0
    );
    let retried: u64 = workers
        .logs
        .iter()
        .flat_map(|log| {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("retried: "))
                .filter_map(|l| l.split(' ').next()?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum();
    drop(workers);
    eprintln!(
        "{name}: passed in {:.1} s; the workers ran {retried} units of work again after losing a race",
        started.elapsed().as_secs_f64()
    );
}

/// A write the database refuses (here: to a row a rule locked) fails that
/// run and nothing else, on PostgreSQL as on SQLite: PostgreSQL aborts the
/// whole transaction on an error, so the write is a savepoint of its own;
/// without it the next statement failed, the worker stopped, and the
/// change stayed in the queue to stop every worker that took it.
#[test]
fn a_write_refused_by_a_lock_fails_only_its_run_on_both_backends() {
    let name = "a_write_refused_by_a_lock_fails_only_its_run_on_both_backends";
    let Some(server) = pg::shared(name) else {
        return;
    };
    let rules = "timezone \"UTC\"\n\
        record contact {\n  name: text\n  score: int\n}\n\
        rule hold\n  when contact is created\n  lock contact\nend\n\
        rule bump\n  when contact is created\n  set contact.score = 1\nend\n\
        rule note\n  when contact is created\n  tag contact \"seen\"\nend\n";
    let world = World::files(&[("main.flow", rules)]);
    let url = server.create_database("refused_write");
    let ok = |db: &str| {
        let out = world.flowc(&["run", "--db", db, "rules"]);
        assert!(
            out.status.success(),
            "flowc run --db {db}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let out = world.flowc(&["schema", "--db", &url, "--create", "rules"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(&url);
    ok("crm.sqlite");
    let insert = "INSERT INTO contact (id, name, score) VALUES (1, 'a', 0), (2, 'b', 0)";
    server.psql(&url, insert);
    world.sql(insert);
    ok(&url);
    ok("crm.sqlite");
    let runs = "SELECT rule || ' ' || subject_id || ' ' || status || coalesce(': ' || error, '') \
                FROM flow_runs ORDER BY subject_id, rule";
    let on_sqlite = world.strings(runs).join("\n");
    let on_pg = server.psql(
        &url,
        &runs.replace("FROM flow_runs", "FROM flowc.flow_runs"),
    );
    assert!(
        on_sqlite.contains("bump 1 failed: the row is locked"),
        "{on_sqlite}"
    );
    assert_eq!(on_pg, on_sqlite);
    assert_eq!(
        server.psql(&url, "SELECT count(*) FROM flowc.flow_changes"),
        "0",
        "every change was consumed"
    );
    assert_eq!(
        server.psql(
            &url,
            "SELECT string_agg(row_id::text, ',' ORDER BY row_id) FROM flowc.flow_tags"
        ),
        "1,2"
    );
}

/// Two workers that both see a sweep due never both run it: the unit of
/// work that runs it holds its schedule (`FOR UPDATE SKIP LOCKED`); the
/// other sees none, and once the first commits, the next due time.
/// Before, both read the same due time and both ran the sweep, the second
/// one's update of the schedule waiting for the first's, then going
/// through.
#[test]
fn two_workers_never_run_the_same_sweep() {
    use flowc::store::Store;
    use flowc::store::tx::Scope;
    let Some(server) = pg::shared("two_workers_never_run_the_same_sweep") else {
        return;
    };
    let url = server.create_database("sweep_race");
    let worker = || flowc::store::pg::Pg::new(crate::pg_store::connect(&url), "flowc");
    let (a, b) = (worker(), worker());
    a.prepare(&flowc::ir::Schema::default())
        .expect("state tables");
    a.ensure_schedule("daily", 100).expect("schedule");
    a.begin(Scope::Transaction).expect("begin");
    assert_eq!(a.schedule_next_at("daily").expect("a"), Some(100));
    b.begin(Scope::Transaction).expect("begin");
    assert_eq!(
        b.schedule_next_at("daily").expect("b"),
        None,
        "a holds the sweep: b must not run it too"
    );
    b.rollback(Scope::Transaction).expect("rollback");
    a.set_schedule_next_at("daily", 200).expect("next");
    a.commit(Scope::Transaction).expect("commit");
    b.begin(Scope::Transaction).expect("begin");
    assert_eq!(b.schedule_next_at("daily").expect("b"), Some(200));
    b.commit(Scope::Transaction).expect("commit");
}

/// A simulation (`--until`, `--now` in the past) needs the database to
/// itself (DESIGN.md §10): refused while a `--watch` worker's heartbeat is
/// younger than its lease, with how many workers and when each was last
/// seen; accepted once the worker is gone. On both backends.
#[test]
fn a_simulation_is_refused_while_a_watching_worker_is_alive() {
    let name = "a_simulation_is_refused_while_a_watching_worker_is_alive";
    let Some(server) = pg::shared(name) else {
        return;
    };
    let world = World::files(&[("main.flow", RULES)]);
    let url = server.create_database("simulation_alone");
    let out = world.flowc(&["schema", "--db", &url, "--create", "rules"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for db in ["crm.sqlite", url.as_str()] {
        let watching = |world: &World| -> i64 {
            let sql = "SELECT count(*) FROM flow_workers WHERE watching";
            if db.contains("://") {
                server
                    .psql(db, &sql.replace("flow_workers", "flowc.flow_workers"))
                    .parse()
                    .unwrap_or(-1)
            } else {
                world.count(sql)
            }
        };
        // flowc's tables, before anything looks at them.
        let out = world.flowc(&["run", "--db", db, "rules"]);
        assert!(
            out.status.success(),
            "{db}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = world.path("watching.log");
        let out = std::fs::File::create(&log).expect("log");
        let mut worker = Workers {
            children: vec![
                world
                    .command(
                        &["run", "--db", db, "rules", "--watch", "--lease", "2"],
                        &[],
                    )
                    .stdout(out.try_clone().expect("log"))
                    .stderr(out)
                    .spawn()
                    .expect("spawn the worker"),
            ],
            logs: vec![log],
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while watching(&world) < 1 {
            assert!(
                Instant::now() < deadline,
                "{db}: the worker never registered\n{}",
                worker.tails()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        for simulation in [["--until", "2099-01-01"], ["--now", "2020-01-01"]] {
            let out = world.flowc(&["run", "--db", db, "rules", simulation[0], simulation[1]]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{db} {simulation:?}: accepted");
            assert!(
                stderr.contains("needs the database to itself, but 1 worker (`flowc run --watch`) is running on it")
                    && stderr.contains("last seen")
                    && stderr.contains("lease 2 s"),
                "{db} {simulation:?}: {stderr}"
            );
        }
        // Work at the wall clock goes on beside it.
        let out = world.flowc(&["run", "--db", db, "rules"]);
        assert!(
            out.status.success(),
            "{db}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Killed, the worker counts until its heartbeat is older than its
        // lease (2 s here).
        worker.children[0].kill().expect("kill");
        let _ = worker.children[0].wait();
        std::thread::sleep(Duration::from_millis(3100));
        let out = world.flowc(&["run", "--db", db, "rules", "--until", "2099-01-01"]);
        assert!(
            out.status.success(),
            "{db}: refused after the worker stopped: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
