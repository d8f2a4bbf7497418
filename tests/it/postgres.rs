//! `flowc check --db` and `flowc schema` on a real PostgreSQL that the test
//! harness starts (tests/support/pg.rs): the type mapping of DESIGN.md §10,
//! drift named by column, tables created with `--create`, and a password
//! never shown. The commands that need the engine refuse a URL clearly.

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
    }
    let run = flowc(&["run", "--db", url, "."], dir.path());
    assert!(
        text(&run.stderr).contains("`flowc run` works on a SQLite file only, so far"),
        "{}",
        text(&run.stderr)
    );
}
