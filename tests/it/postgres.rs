//! `flowc check --db` and `flowc schema` on a real PostgreSQL that the test
//! harness starts (tests/support/pg.rs): the type mapping of DESIGN.md §10,
//! drift named by column, tables created with `--create`, and a password
//! never shown. The commands that need the engine refuse a URL clearly.

use crate::pg_store::connect;
use crate::support::pg;
use std::path::Path;
use std::process::{Command, Output};

fn flowc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("PGPASSWORD")
        .output()
        .expect("flowc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every field type, nullable and not, and a reference.
const SCHEMA: &str = r#"
timezone "Asia/Tokyo"
enum stage { "提案", "受注", "失注" }
record company {
  name: text
}
record contact {
  name: text
  score: int
  rate: decimal?
  vip: bool
  stage: stage
  born: date?
  seen_at: datetime?
  cooldown: duration?
  company: company?
}
"#;

fn project(name: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(name)
        .tempdir()
        .expect("temp dir");
    std::fs::write(dir.path().join("schema.flow"), SCHEMA).expect("write project");
    dir
}

/// The column types `--create` chose, as PostgreSQL names them.
fn column_types(server: &pg::Server, url: &str, table: &str) -> String {
    server.psql(
        url,
        &format!(
            "SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable, ', ' ORDER BY ordinal_position) \
             FROM information_schema.columns WHERE table_name = '{table}'"
        ),
    )
}

#[test]
fn schema_create_makes_the_tables_of_the_type_mapping_and_check_agrees() {
    let Some(server) =
        pg::shared("schema_create_makes_the_tables_of_the_type_mapping_and_check_agrees")
    else {
        return;
    };
    let url = server.create_database("schema_create");
    let dir = project("pg-create");
    let out = flowc(&["schema", "--db", &url, "--create", "."], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "created table \"company\"\ncreated table \"contact\"\n"
    );
    assert_eq!(
        column_types(server, &url, "contact"),
        "id bigint NO, name text NO, score bigint NO, rate numeric YES, vip boolean NO, stage text NO, \
         born date YES, seen_at timestamp with time zone YES, cooldown bigint YES, company bigint YES"
    );
    // `id` is an identity column: other programs insert without it.
    server.psql(&url, "INSERT INTO company (name) VALUES ('株式会社テスト')");
    assert_eq!(server.psql(&url, "SELECT id FROM company"), "1");
    assert_eq!(
        server.psql(
            &url,
            "SELECT count(*) FROM information_schema.table_constraints \
             WHERE table_name = 'contact' AND constraint_type = 'FOREIGN KEY'"
        ),
        "1",
        "the reference is a foreign key"
    );
    let check = flowc(&["check", ".", "--db", &url], dir.path());
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(
        text(&check.stderr).contains("no problems"),
        "{}",
        text(&check.stderr)
    );
    let again = flowc(&["schema", "--db", &url, "--create", "."], dir.path());
    assert_eq!(text(&again.stderr), "every declared table already exists\n");
}

#[test]
fn check_names_each_column_that_drifted_on_postgres() {
    let Some(server) = pg::shared("check_names_each_column_that_drifted_on_postgres") else {
        return;
    };
    let url = server.create_database("drift");
    let dir = project("pg-drift");
    assert!(
        flowc(&["schema", "--db", &url, "--create", "."], dir.path())
            .status
            .success()
    );
    server.psql(
        &url,
        "ALTER TABLE contact ALTER COLUMN score TYPE text; ALTER TABLE contact DROP COLUMN vip; \
         DROP TABLE company CASCADE",
    );
    let out = flowc(
        &["check", ".", "--db", &url, "--format", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let codes: Vec<String> = text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|d| {
            format!(
                "{} {}",
                d["code"].as_str().unwrap_or(""),
                d["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            "E0701 the database has no table `company`",
            "E0703 `contact.score` is declared `int`, but its column is `text`",
            "E0702 the table `contact` has no column `vip`",
        ],
        "{}",
        text(&out.stdout)
    );
}

/// Columns another program made with the types §10 accepts besides its
/// own: `integer`, `smallint`, `varchar`, `double precision`, `real`,
/// `numeric(p,s)`, `timestamp` without zone, an enum type.
#[test]
fn the_accepted_postgres_types_check_clean_and_schema_reads_them() {
    let Some(server) = pg::shared("the_accepted_postgres_types_check_clean_and_schema_reads_them")
    else {
        return;
    };
    let url = server.create_database("accepted");
    server.psql(
        &url,
        "CREATE TYPE stage AS ENUM ('提案', '受注', '失注');
         CREATE TABLE company (id integer PRIMARY KEY, name varchar(80) NOT NULL);
         CREATE TABLE contact (id bigint PRIMARY KEY, name text NOT NULL, score smallint NOT NULL,
           rate numeric(10,2), vip boolean NOT NULL, stage stage NOT NULL, born date,
           seen_at timestamp, cooldown integer, company integer REFERENCES company (id));",
    );
    let dir = project("pg-accepted");
    let check = flowc(&["check", ".", "--db", &url], dir.path());
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let schema = flowc(&["schema", "--db", &url], dir.path());
    assert!(schema.status.success(), "{}", text(&schema.stderr));
    let flow = text(&schema.stdout);
    for line in [
        "record company {\n  name: text\n}",
        "  score: int\n  rate: decimal?\n  vip: bool\n  stage: text\n  born: date?\n  seen_at: datetime?\n  cooldown: int?\n  company: company?\n",
    ] {
        assert!(flow.contains(line), "{line:?} in:\n{flow}");
    }
}

/// A server that cannot be reached: the error says so and names the
/// database, without the password from the URL.
#[test]
fn a_connection_error_never_shows_the_password() {
    let dir = project("pg-unreachable");
    let url = "postgresql://sales:s3cret-pw@127.0.0.1:1/crm";
    for args in [
        vec!["check", ".", "--db", url],
        vec!["schema", "--db", url],
        vec!["run", "--db", url, "."],
        vec!["stats", "--db", url],
        vec!["log", "--db", url],
        vec!["approvals", "--db", url, "approve", "1"],
        vec!["outbox", "--db", url],
        vec!["graph", ".", "--db", url],
    ] {
        let out = flowc(&args, dir.path());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("postgresql://sales@127.0.0.1:1/crm"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("s3cret"), "{args:?}: {stderr}");
        assert!(!text(&out.stdout).contains("s3cret"), "{args:?}");
        // Every one of them works on PostgreSQL: it tried to connect.
        assert!(stderr.contains("cannot connect"), "{args:?}: {stderr}");
    }
}

/// A database with the tables of SCHEMA, flowc's tables and its triggers.
fn captured_database(
    server: &pg::Server,
    name: &str,
) -> (String, flowc::store::pg::postgres::Client) {
    let url = server.create_database(name);
    let dir = project(name);
    assert!(
        flowc(&["schema", "--db", &url, "--create", "."], dir.path())
            .status
            .success()
    );
    let checked = flowc::project::Project::from_texts([("schema.flow", SCHEMA)]).check();
    assert!(!checked.has_errors());
    let mut client = connect(&url);
    flowc::store::pg::state::migrate(&mut client, "flowc").expect("migrate");
    let installed =
        flowc::store::pg::capture::install(&mut client, &checked.program.schema, "flowc")
            .expect("install");
    assert_eq!(installed, ["company", "contact"]);
    // Installing again changes nothing: the fingerprints match.
    let again = flowc::store::pg::capture::install(&mut client, &checked.program.schema, "flowc")
        .expect("install again");
    assert!(again.is_empty(), "{again:?}");
    (url, client)
}

fn changes(server: &pg::Server, url: &str) -> Vec<String> {
    server
        .psql(
            url,
            "SELECT string_agg(concat_ws(' ', op, tbl, row_id, depth, coalesce(run_id::text, '-'), \
             coalesce(old::text, '-'), coalesce(new::text, '-'), shard BETWEEN 0 AND 255), E'\\n' ORDER BY seq) \
             FROM flowc.flow_changes",
        )
        .lines()
        .map(str::to_string)
        .collect()
}

/// Any program's writes are captured with the declared fields' old and new
/// values; an update that changes no declared field records nothing; the
/// depth and run travel in transaction-local settings.
#[test]
fn triggers_capture_every_program_s_writes_on_postgres() {
    let Some(server) = pg::shared("triggers_capture_every_program_s_writes_on_postgres") else {
        return;
    };
    let (url, _client) = captured_database(server, "capture");
    server.psql(&url, "ALTER TABLE contact ADD COLUMN note text");
    server.psql(
        &url,
        "INSERT INTO company (name) VALUES ('東和商事');
         INSERT INTO contact (name, score, rate, vip, stage, born, seen_at, company)
           VALUES ('山田 花子', 10, 12.50, false, '提案', '1990-04-01', '2025-01-02 09:30:00+09', 1);
         UPDATE contact SET note = 'not declared';
         UPDATE contact SET score = 11;
         BEGIN;
         SELECT set_config('flowc.depth', '2', true), set_config('flowc.run', '17', true);
         UPDATE contact SET stage = '受注';
         COMMIT;
         DELETE FROM contact;",
    );
    // jsonb orders keys by length, then bytes; a timestamptz is written in
    // the writing session's time zone (the server's UTC here), with its offset.
    let new = r#"{"vip": false, "born": "1990-04-01", "name": "山田 花子", "rate": 12.50, "score": 10, "stage": "提案", "company": 1, "seen_at": "2025-01-02T00:30:00+00:00", "cooldown": null}"#;
    let updated = new.replace(r#""score": 10"#, r#""score": 11"#);
    let won = updated.replace("提案", "受注");
    assert_eq!(
        changes(server, &url),
        [
            r#"insert company 1 0 - - {"name": "東和商事"} t"#.to_string(),
            format!("insert contact 1 0 - - {new} t"),
            format!("update contact 1 0 - {new} {updated} t"),
            format!("update contact 1 2 17 {updated} {won} t"),
            format!("delete contact 1 0 - {won} - t"),
        ]
    );
}

/// A locked row refuses updates, deletes and TRUNCATE from any program,
/// with SQLSTATE FL001 and the rule's name; other rows are free.
#[test]
fn a_locked_row_is_refused_by_postgres_itself() {
    let Some(server) = pg::shared("a_locked_row_is_refused_by_postgres_itself") else {
        return;
    };
    let (url, mut client) = captured_database(server, "locks");
    server.psql(
        &url,
        "INSERT INTO company (name) VALUES ('a'), ('b');
         INSERT INTO flowc.flow_locks (tbl, row_id, rule) VALUES ('company', 1, 'won_lock');",
    );
    for sql in [
        "UPDATE company SET name = 'x' WHERE id = 1",
        "DELETE FROM company WHERE id = 1",
        "TRUNCATE company CASCADE",
    ] {
        let err = client.batch_execute(sql).expect_err(sql);
        let db = err.as_db_error().expect("a database error");
        assert_eq!(db.code().code(), "FL001", "{sql}");
        assert!(db.message().contains("won_lock"), "{sql}: {}", db.message());
    }
    client
        .batch_execute("UPDATE company SET name = 'y' WHERE id = 2")
        .expect("another row is free");
    server.psql(&url, "DELETE FROM flowc.flow_locks");
    client
        .batch_execute("UPDATE company SET name = 'x' WHERE id = 1")
        .expect("unlocked");
    assert_eq!(
        server.psql(
            &url,
            "SELECT string_agg(name, ',' ORDER BY id) FROM company"
        ),
        "x,y"
    );
}

/// Other programs insert events with only what they know: the id, the time
/// and the payload's default are filled in.
#[test]
fn events_inserted_by_psql_take_their_defaults() {
    let Some(server) = pg::shared("events_inserted_by_psql_take_their_defaults") else {
        return;
    };
    let (url, _client) = captured_database(server, "events");
    server.psql(
        &url,
        "INSERT INTO flowc.flow_events (name, tbl, row_id, data) VALUES ('form_submitted', 'contact', 1, '{\"form\": \"seminar\"}');
         INSERT INTO flowc.flow_events (name, tbl, row_id) VALUES ('email_opened', 'contact', 1);",
    );
    assert_eq!(
        server.psql(
            &url,
            "SELECT string_agg(concat_ws(' ', id, name, data::text, processed, at > now() - interval '1 minute'), E'\\n' ORDER BY id) FROM flowc.flow_events"
        ),
        "1 form_submitted {\"form\": \"seminar\"} f t\n2 email_opened {} f t"
    );
}

/// flowc's tables written by a newer flowc are refused, not misread.
#[test]
fn state_tables_from_a_newer_flowc_are_refused_on_postgres() {
    let Some(server) = pg::shared("state_tables_from_a_newer_flowc_are_refused_on_postgres") else {
        return;
    };
    let (url, mut client) = captured_database(server, "newer");
    server.psql(
        &url,
        "UPDATE flowc.flow_meta SET value = '99' WHERE key = 'schema_version'",
    );
    let err = flowc::store::pg::state::migrate(&mut client, "flowc").expect_err("too new");
    assert!(
        err.contains("version 99, newer than this flowc knows"),
        "{err}"
    );
}

/// Three workers drain the change queue at once: every change is taken
/// exactly once, one record's changes in commit order; a batch whose
/// transaction rolls back is taken again.
#[test]
fn workers_claim_each_change_once_and_each_record_in_order() {
    let Some(server) = pg::shared("workers_claim_each_change_once_and_each_record_in_order") else {
        return;
    };
    let (url, mut client) = captured_database(server, "claims");
    server.psql(
        &url,
        "INSERT INTO company (name) SELECT 'c' || i FROM generate_series(1, 60) i;
         UPDATE company SET name = name || '+';
         UPDATE company SET name = name || '+' WHERE id % 2 = 0;
         UPDATE company SET name = name || '+' WHERE id % 3 = 0;",
    );
    let total: usize = server
        .psql(&url, "SELECT count(*) FROM flowc.flow_changes")
        .parse()
        .expect("count");
    assert_eq!(total, 60 + 60 + 30 + 20);
    // A worker that fails puts its batch back.
    {
        let mut tx = client.transaction().expect("begin");
        let claimed = flowc::store::pg::changes::claim(&mut tx, "flowc", 8)
            .expect("claim")
            .expect("some");
        // One shard's oldest changes: few here (60 records over 256 shards).
        assert!((1..=8).contains(&claimed.changes.len()), "{claimed:?}");
        tx.rollback().expect("rollback");
    }
    assert_eq!(
        server.psql(&url, "SELECT count(*) FROM flowc.flow_changes"),
        total.to_string(),
        "the rolled-back batch is back"
    );
    // A shard is held by one worker until its transaction ends: another
    // worker is handed a different one (the shard's runs are the holder's
    // to change).
    {
        let mut other = connect(&url);
        // Waiting on the holder's rows would hang this one thread: fail instead.
        other
            .batch_execute("SET lock_timeout = '2s'")
            .expect("lock timeout");
        let mut first = client.transaction().expect("begin");
        let held = flowc::store::pg::changes::claim(&mut first, "flowc", 4)
            .expect("claim")
            .expect("some");
        let mut second = other.transaction().expect("begin");
        let next = flowc::store::pg::changes::claim(&mut second, "flowc", 4)
            .expect("claim")
            .expect("another shard has changes");
        assert_ne!(held.shard, next.shard);
        second.rollback().expect("rollback");
        first.rollback().expect("rollback");
    }
    let taken: std::sync::Mutex<Vec<(i64, i64)>> = std::sync::Mutex::default();
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                let mut client = connect(&url);
                loop {
                    let mut tx = client.transaction().expect("begin");
                    let Some(claimed) =
                        flowc::store::pg::changes::claim(&mut tx, "flowc", 4).expect("claim")
                    else {
                        tx.commit().expect("commit");
                        break;
                    };
                    // Recorded before the commit: the next holder of this
                    // shard can only look after it.
                    taken
                        .lock()
                        .expect("lock")
                        .extend(claimed.changes.iter().map(|c| (c.row_id, c.seq)));
                    tx.commit().expect("commit");
                }
            });
        }
    });
    let taken = taken.into_inner().expect("taken");
    let mut seqs: Vec<i64> = taken.iter().map(|&(_, seq)| seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(
        (taken.len(), seqs.len()),
        (total, total),
        "each change once"
    );
    for row in 1..=60 {
        let order: Vec<i64> = taken
            .iter()
            .filter(|&&(r, _)| r == row)
            .map(|&(_, s)| s)
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "company #{row}: {order:?}"
        );
    }
    assert_eq!(
        server.psql(&url, "SELECT count(*) FROM flowc.flow_changes"),
        "0"
    );
}

/// `flowc event` on PostgreSQL: the event lands in `flowc.flow_events`
/// (flowc's tables made if needed); a table or row that does not exist is
/// refused, as on SQLite.
#[test]
fn flowc_event_records_on_postgres_and_refuses_a_missing_row() {
    let Some(server) = pg::shared("flowc_event_records_on_postgres_and_refuses_a_missing_row")
    else {
        return;
    };
    let url = server.create_database("event");
    let dir = project("pg-event");
    assert!(
        flowc(&["schema", "--db", &url, "--create", "."], dir.path())
            .status
            .success()
    );
    server.psql(&url, "INSERT INTO company (name) VALUES ('東和商事')");
    let out = flowc(
        &[
            "event",
            "--db",
            &url,
            "invoice_sent",
            "--on",
            "company:1",
            "--data",
            r#"{"amount": 1200000}"#,
            "--at",
            "2025-01-03T10:00Z",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "event 1: invoice_sent on company #1\n");
    assert_eq!(
        server.psql(
            &url,
            "SELECT concat_ws(' ', name, tbl, row_id, data::text, at = '2025-01-03 10:00+00', processed) FROM flowc.flow_events"
        ),
        r#"invoice_sent company 1 {"amount": 1200000} t f"#
    );
    for (on, why) in [
        ("company:2", "company #2 does not exist"),
        ("compnay:1", "the database has no table `compnay`"),
    ] {
        let out = flowc(
            &["event", "--db", &url, "invoice_sent", "--on", on],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(2), "{on}");
        assert!(
            text(&out.stderr).contains(why),
            "{on}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(
        server.psql(&url, "SELECT count(*) FROM flowc.flow_events"),
        "1"
    );
    // Another schema for flowc's tables, named as the user wrote it.
    let out = flowc(
        &[
            "event",
            "--db",
            &url,
            "paid",
            "--on",
            "company:1",
            "--state-schema",
            "CRM Flow",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        server.psql(
            &url,
            "SELECT string_agg(name, ',') FROM \"CRM Flow\".flow_events"
        ),
        "paid"
    );
    assert_eq!(
        server.psql(&url, "SELECT count(*) FROM flowc.flow_events"),
        "1"
    );
}

/// Values captured on PostgreSQL decode to the types the rules declare
/// (DESIGN.md §10): every accepted column type, `timestamp` without time
/// zone read in the project's zone, `numeric` as the VM's decimal.
#[test]
fn captured_postgres_values_decode_to_the_declared_types() {
    let Some(server) = pg::shared("captured_postgres_values_decode_to_the_declared_types") else {
        return;
    };
    let url = server.create_database("decode");
    let schema_text = "timezone \"Asia/Tokyo\"\nenum stage { \"提案\", \"受注\" }\n\
        record deal {\n  n: int\n  small: int\n  amount: decimal\n  ratio: decimal\n  name: text\n  \
        stage: stage\n  won: bool\n  closes: date\n  local_at: datetime\n  utc_at: datetime\n  wait: duration\n  note: text?\n}\n";
    server.psql(
        &url,
        "CREATE TYPE stage AS ENUM ('提案', '受注');
         CREATE TABLE deal (id bigint PRIMARY KEY, n bigint NOT NULL, small smallint NOT NULL,
           amount numeric(12,2) NOT NULL, ratio double precision NOT NULL, name varchar(40) NOT NULL,
           stage stage NOT NULL, won boolean NOT NULL, closes date NOT NULL,
           local_at timestamp NOT NULL, utc_at timestamptz NOT NULL, wait bigint NOT NULL, note text);",
    );
    let checked = flowc::project::Project::from_texts([("schema.flow", schema_text)]).check();
    assert!(!checked.has_errors());
    let schema = &checked.program.schema;
    let mut client = connect(&url);
    flowc::store::pg::state::migrate(&mut client, "flowc").expect("migrate");
    flowc::store::pg::capture::install(&mut client, schema, "flowc").expect("install");
    server.psql(
        &url,
        "INSERT INTO deal VALUES (7, 9007199254740993, -3, 12000000.50, 0.125, '東和 <b>&\"', '受注', true,
           '2025-03-31', '2025-04-01 09:30:00', '2025-04-01 09:30:00+09', 604800, NULL)",
    );
    let mut tx = client.transaction().expect("begin");
    let claimed = flowc::store::pg::changes::claim(&mut tx, "flowc", 10)
        .expect("claim")
        .expect("the insert");
    let change = &claimed.changes[0];
    let Some(Ok(captured)) = &change.new else {
        panic!("new values: {change:?}");
    };
    let record = &schema.records[0];
    let decoded = flowc::store::rows::decode_captured(schema, record, 7, captured, None);
    assert!(decoded.bad.is_empty(), "{:?}", decoded.bad);
    let shown: Vec<String> = record
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "{}={:?}",
                f.name,
                flowc::store::rows::to_sql(&decoded.row.get(i), f.ty.base, schema)
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            "n=Integer(9007199254740993)",
            "small=Integer(-3)",
            "amount=Real(12000000.5)",
            "ratio=Real(0.125)",
            "name=Text(\"東和 <b>&\\\"\")",
            "stage=Text(\"受注\")",
            "won=Integer(1)",
            "closes=Text(\"2025-03-31\")",
            // Without a zone: 09:30 in the project's zone; with one: the
            // same instant.
            "local_at=Text(\"2025-04-01T09:30:00+09:00\")",
            "utc_at=Text(\"2025-04-01T09:30:00+09:00\")",
            "wait=Integer(604800)",
            "note=Null",
        ]
    );
}

/// `sslmode=require`: the connection is TLS and the server's certificate
/// is verified (against `PGSSLROOTCERT`, else the public roots, which do
/// not know this test CA); without `sslmode` it is not encrypted.
#[test]
fn sslmode_require_speaks_tls_and_verifies_the_server() {
    let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/tls");
    let Some(server) = pg::start_tls(
        "sslmode_require_speaks_tls_and_verifies_the_server",
        &tls.join("cert.pem"),
        &tls.join("key.pem"),
    ) else {
        return;
    };
    let url = server.create_database("tls");
    let target = |url: &str| match flowc::store::target::Target::parse(url) {
        Ok(flowc::store::target::Target::Postgres(pg)) => pg,
        other => panic!("{other:?}"),
    };
    let encrypted = |client: &mut flowc::store::pg::postgres::Client| -> bool {
        client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .expect("pg_stat_ssl")
            .get(0)
    };
    let require = format!("{url}?sslmode=require");
    let ca = tls.join("ca.pem");
    let mut client =
        flowc::store::pg::connect_verifying(&target(&require), Some(&ca)).expect("TLS");
    assert!(encrypted(&mut client));
    let err = flowc::store::pg::connect_verifying(&target(&require), None)
        .err()
        .expect("an unknown CA is refused");
    assert!(err.contains("cannot connect"), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    let mut plain = flowc::store::pg::connect_verifying(&target(&url), None).expect("plain");
    assert!(!encrypted(&mut plain));
    // Through the command line, the CA comes from PGSSLROOTCERT.
    let dir = project("pg-tls");
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["schema", "--db", &require, "--create", "."])
        .current_dir(dir.path())
        .env("PGSSLROOTCERT", &ca)
        .output()
        .expect("flowc runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Three workers take the due events at once: each due event once, none
/// that is not due yet, one record's events in time order; a rolled-back
/// batch is due again.
#[test]
fn workers_claim_each_due_event_once_and_each_record_in_time_order() {
    let Some(server) =
        pg::shared("workers_claim_each_due_event_once_and_each_record_in_time_order")
    else {
        return;
    };
    let (url, _client) = captured_database(server, "event_claims");
    // 40 records, 5 events each, stamped out of insertion order; the last
    // of each is in the future.
    server.psql(
        &url,
        "INSERT INTO flowc.flow_events (name, tbl, row_id, at)
         SELECT 'e' || k, 'contact', r, timestamptz '2025-01-01 00:00+00' + ((5 - k) * 7 + r) * interval '1 minute'
                + CASE WHEN k = 5 THEN interval '1 year' ELSE interval '0' END
         FROM generate_series(1, 40) r, generate_series(1, 5) k;",
    );
    let now = 1_735_776_000; // 2025-01-02 00:00 UTC: all but the future ones
    use flowc::store::Store;
    use flowc::store::tx::Scope;
    let store = |url: &str| flowc::store::pg::Pg::new(connect(url), "flowc");
    {
        let first = store(&url);
        first.begin(Scope::Transaction).expect("begin");
        first.claim_due(now).expect("claim");
        let due = first.due_events(now, 100).expect("due");
        assert!(!due.is_empty());
        for &(seq, _) in &due {
            first.mark_event_processed(seq).expect("mark");
        }
        first.rollback(Scope::Transaction).expect("rollback");
    }
    assert_eq!(
        server.psql(
            &url,
            "SELECT count(*) FROM flowc.flow_events WHERE processed"
        ),
        "0",
        "the rolled-back batch is due again"
    );
    // Three workers, each unit of work one shard's due events (as the
    // engine's): (row, time, id) in the order each took them.
    let taken: std::sync::Mutex<Vec<(i64, i64, i64)>> = std::sync::Mutex::default();
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                let worker = store(&url);
                loop {
                    // A unit of work whose snapshot predates another
                    // worker's commit on the shard it then claims fails
                    // with a serialization failure (REPEATABLE READ) and
                    // is run again, as the engine does.
                    let unit = || -> Result<Vec<(i64, i64, i64)>, flowc::store::DbError> {
                        worker.begin(Scope::Transaction)?;
                        worker.claim_due(now)?;
                        let mut took = Vec::new();
                        for (seq, at) in worker.due_events(now, 3)? {
                            let event = worker.load_event(seq)?.expect("there").expect("readable");
                            worker.mark_event_processed(seq)?;
                            took.push((event.row_id, at, seq));
                        }
                        worker.commit(Scope::Transaction)?;
                        Ok(took)
                    };
                    let took = match unit() {
                        Ok(took) => took,
                        Err(e) if e.is_retryable() => {
                            worker.rollback(Scope::Transaction).expect("rollback");
                            continue;
                        }
                        Err(e) => panic!("{e}"),
                    };
                    let due = took.clone();
                    taken.lock().expect("lock").extend(took);
                    // Nothing claimable: done when nothing is due at all
                    // (other workers may hold the shards that are).
                    if due.is_empty() && worker.due_events(now, 1).expect("left").is_empty() {
                        break;
                    }
                }
            });
        }
    });
    let taken = taken.into_inner().expect("taken");
    let mut ids: Vec<i64> = taken.iter().map(|&(_, _, id)| id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        (taken.len(), ids.len()),
        (160, 160),
        "each due event once, none early"
    );
    for row in 1..=40 {
        let order: Vec<(i64, i64)> = taken
            .iter()
            .filter(|&&(r, _, _)| r == row)
            .map(|&(_, at, id)| (at, id))
            .collect();
        assert_eq!(order.len(), 4, "contact #{row}");
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "contact #{row}: {order:?}"
        );
    }
    assert_eq!(
        server.psql(
            &url,
            "SELECT count(*) FROM flowc.flow_events WHERE NOT processed"
        ),
        "40",
        "the future events wait"
    );
}
