//! A project, a real SQLite file and the built `flowc`, for end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct World {
    pub dir: tempfile::TempDir,
    pub project: PathBuf,
    pub db: PathBuf,
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl World {
    /// A world whose project is a copy of `examples/<name>`.
    pub fn example(name: &str) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = dir.path().join("rules");
        copy_dir(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("examples")
                .join(name),
            &project,
        );
        World::with(dir, project)
    }

    /// A world whose project is the given files.
    pub fn files(files: &[(&str, &str)]) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = dir.path().join("rules");
        for (name, body) in files {
            let path = project.join(name);
            std::fs::create_dir_all(path.parent().unwrap_or(&project)).expect("mkdir");
            std::fs::write(path, body).expect("write");
        }
        World::with(dir, project)
    }

    fn with(dir: tempfile::TempDir, project: PathBuf) -> World {
        let db = dir.path().join("crm.sqlite");
        let world = World { dir, project, db };
        let out = world.flowc(&["schema", "--db", "crm.sqlite", "--create", "rules"]);
        assert!(
            out.status.success(),
            "schema --create: {}",
            text(&out.stderr)
        );
        world
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn flowc(&self, args: &[&str]) -> Output {
        self.flowc_env(args, &[])
    }

    /// `flowc ARGS…` in the world's folder, with these environment
    /// variables (and none of the SMTP ones from the test's environment).
    pub fn flowc_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().expect("flowc runs")
    }

    /// The `flowc ARGS…` command, not started.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_flowc"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1");
        for name in [
            "FLOWC_SMTP_USER",
            "FLOWC_SMTP_PASSWORD",
            "FLOWC_SMTP_TIMEOUT",
            "FLOWC_SMTP_CA",
            "FLOWC_LEASE_SECONDS",
            "FLOWC_DKIM_KEY",
            "FLOWC_DKIM_SELECTOR",
            "FLOWC_DKIM_DOMAIN",
            "FLOWC_SECRET",
        ] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        command
    }

    /// `flowc ARGS…` in the world's folder, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.flowc(args);
        assert!(
            out.status.success(),
            "flowc {args:?}:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// `flowc run --db crm.sqlite rules EXTRA…`, which must succeed.
    pub fn run(&self, extra: &[&str]) -> String {
        let mut args = vec!["run", "--db", "crm.sqlite", "rules"];
        args.extend_from_slice(extra);
        let out = self.flowc(&args);
        assert!(
            out.status.success(),
            "flowc run {extra:?} failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    pub fn conn(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(&self.db).expect("open db");
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .expect("busy timeout");
        conn
    }

    pub fn sql(&self, batch: &str) {
        self.conn()
            .execute_batch(batch)
            .unwrap_or_else(|e| panic!("{batch}: {e}"));
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn strings(&self, sql: &str) -> Vec<String> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        stmt.query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn event(&self, name: &str, on: &str, data: &str, at: Option<&str>) {
        let mut args = vec![
            "event",
            "--db",
            "crm.sqlite",
            name,
            "--on",
            on,
            "--data",
            data,
        ];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        let out = self.flowc(&args);
        assert!(out.status.success(), "flowc event: {}", text(&out.stderr));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read example").flatten() {
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).expect("copy");
        }
    }
}
