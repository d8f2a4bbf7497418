//! A real PostgreSQL server on 127.0.0.1 for the tests (Debian's
//! `postgresql` package, which `.ci/run` installs when it is missing).
//!
//! The harness starts it itself: `initdb` and `pg_ctl` in a temporary
//! folder (`$TMPDIR/flowc-pg-PID-N`, the data in its `data/`, the log in
//! its `log`, the Unix socket beside them), listening on a free port of
//! 127.0.0.1 only, with `fsync`, `synchronous_commit` and
//! `full_page_writes` off (nothing here needs to survive a power cut). As
//! root, they run as the `postgres` user (`runuser -u postgres -- …`), as
//! PostgreSQL refuses to run as root; otherwise as the current user.
//!
//! The binaries: the folder named by `FLOWC_PG_BIN` when it is set (a
//! folder without `initdb` and `pg_ctl` makes the tests skip, which is how
//! to try the skip by hand: `FLOWC_PG_BIN=/nowhere cargo test …`), else the
//! newest `/usr/lib/postgresql/*/bin` that has both, else `PATH`. `psql`
//! comes from the same folder, else from `PATH`.
//!
//! Without PostgreSQL a test says loudly that it skipped and how to
//! install it; under `CI` it fails instead.
//!
//! [`shared`] gives the test binary one server (a start takes about a
//! second), [`start`] a server of the test's own. Since `pg_ctl` detaches
//! the server from the test process, every server has a watchdog (a `sh`
//! reading a pipe that only the test process holds): when the process
//! ends, however it ends, the watchdog stops the server and removes its
//! folder. Folders of dead processes that escaped it (the watchdog killed
//! too) are swept by the next start.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The folder-name prefix of the servers' temporary folders.
const PREFIX: &str = "flowc-pg-";

static FOLDERS: AtomicUsize = AtomicUsize::new(0);
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// A running PostgreSQL server in a temporary folder; dropping it stops
/// the server and removes the folder.
pub struct Server {
    /// `$TMPDIR/flowc-pg-PID-N`: `data/`, `log` and the Unix socket.
    dir: PathBuf,
    port: u16,
    bin: Bin,
    /// Stops the server and removes `dir` when the test process ends
    /// (EOF on its stdin); killed by `Drop`, which does that itself.
    watchdog: Option<Child>,
}

/// Where the binaries are, and as whom they run.
#[derive(Clone, Debug)]
struct Bin {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    psql: PathBuf,
    /// Running as root: the server runs as `postgres` through `runuser`.
    as_postgres: bool,
}

/// Why there is no server: the binaries are missing, or it did not start.
enum Failure {
    NotFound(String),
    NotStarted(String),
}

/// The test binary's one server, started by the first test that asks;
/// `None` (after saying so, see [`start`]) without PostgreSQL.
pub fn shared(test_name: &str) -> Option<&'static Server> {
    static SHARED: OnceLock<Result<Server, Failure>> = OnceLock::new();
    match SHARED.get_or_init(|| Server::launch(None)) {
        Ok(server) => Some(server),
        Err(failure) => {
            skip(test_name, failure);
            None
        }
    }
}

/// A server of the test's own. `None` when PostgreSQL is not installed or
/// does not start, after saying loudly on stderr that `test_name`
/// skipped; under `CI` it panics with that message instead.
pub fn start(test_name: &str) -> Option<Server> {
    start_with(test_name, None)
}

/// A server of the test's own that also speaks TLS, with this certificate
/// and key (PEM files; copied into the data folder, as the server wants
/// its key private).
pub fn start_tls(test_name: &str, cert: &Path, key: &Path) -> Option<Server> {
    start_with(test_name, Some((cert, key)))
}

fn start_with(test_name: &str, tls: Option<(&Path, &Path)>) -> Option<Server> {
    match Server::launch(tls) {
        Ok(server) => Some(server),
        Err(failure) => {
            skip(test_name, &failure);
            None
        }
    }
}

fn skip(test_name: &str, failure: &Failure) {
    let message = match failure {
        Failure::NotFound(what) => format!(
            "{test_name}: PostgreSQL not found ({what}); install it with \
             `apt-get install -y postgresql` (as .ci/run does)"
        ),
        Failure::NotStarted(why) => format!("{test_name}: PostgreSQL did not start: {why}"),
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{message}\n(under CI a test must not skip)"
    );
    // Straight to the process's stderr: the test harness captures
    // `eprintln!` of passing tests, and this must be seen.
    let _ = writeln!(std::io::stderr(), "SKIPPED {message}");
}

impl Server {
    /// Copies the certificate and key into the data folder as
    /// `server.crt` / `server.key`, owned by the server's user, the key
    /// readable by it alone (PostgreSQL refuses it otherwise).
    fn install_tls(&self, cert: &Path, key: &Path) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt;
        for (from, name, mode) in [(cert, "server.crt", 0o644), (key, "server.key", 0o600)] {
            let to = self.data().join(name);
            std::fs::copy(from, &to).map_err(|e| format!("copying {}: {e}", from.display()))?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("chmod {}: {e}", to.display()))?;
            if self.bin.as_postgres {
                let output = Command::new("chown").arg("postgres:").arg(&to).output();
                check("chown postgres:", output)?;
            }
        }
        Ok(())
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgresql://postgres@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The folder that holds the data, the log and the socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates a fresh database named after `name` (lowercased, other
    /// characters than `[a-z0-9_]` made `_`, at most 60 characters with a
    /// counter that makes it unique) and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let database = database_name(name, n);
        self.psql(
            &self.url("postgres"),
            &format!("CREATE DATABASE \"{database}\""),
        );
        self.url(&database)
    }

    /// Runs `sql` with `psql -v ON_ERROR_STOP=1 -X -q -A -t` against
    /// `database_url` and returns its output, trimmed: unaligned rows
    /// without headers, columns separated by `|`, no command tags. Panics
    /// with psql's stderr when a statement fails.
    pub fn psql(&self, database_url: &str, sql: &str) -> String {
        let output = pg_env(&mut Command::new(&self.bin.psql))
            .args(["-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-d"])
            .arg(database_url)
            .arg("-c")
            .arg(sql)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.bin.psql.display()));
        assert!(
            output.status.success(),
            "psql on {database_url} failed ({}):\n{sql}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.dir.join("log"))
    }

    fn launch(tls: Option<(&Path, &Path)>) -> Result<Server, Failure> {
        let bin = Bin::find().map_err(Failure::NotFound)?;
        sweep_dead(&bin);
        let started = std::time::Instant::now();
        let dir = std::env::temp_dir().join(format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            FOLDERS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::NotStarted(format!("creating {}: {e}", dir.display())))?;
        // From here on, dropping `server` cleans up whatever was done.
        let mut server = Server {
            dir,
            port: 0,
            bin,
            watchdog: None,
        };
        server.watchdog = Some(server.spawn_watchdog().map_err(Failure::NotStarted)?);
        if server.bin.as_postgres {
            let output = Command::new("chown")
                .arg("postgres:")
                .arg(&server.dir)
                .output();
            check("chown postgres:", output).map_err(Failure::NotStarted)?;
        }
        let output = server
            .as_server_user(&server.bin.initdb)
            .arg("-D")
            .arg(server.data())
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
            // No fsync of the new files: a test server need not survive
            // a power cut, and it saves most of initdb's time.
            .arg("--no-sync")
            .output();
        check("initdb", output).map_err(Failure::NotStarted)?;
        let tls_options = match tls {
            Some((cert, key)) => {
                server.install_tls(cert, key).map_err(Failure::NotStarted)?;
                " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
            }
            None => "",
        };
        // The port is free when asked, but another process may take it
        // before the server binds it: then try another.
        let mut attempts = 0;
        loop {
            attempts += 1;
            server.port = free_port();
            let options = format!(
                "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off{tls_options}",
                server.port,
                server.dir.display()
            );
            let output = server
                .as_server_user(&server.bin.pg_ctl)
                .arg("-D")
                .arg(server.data())
                .args(["-w", "-o", &options, "-l"])
                .arg(server.dir.join("log"))
                .arg("start")
                .output();
            match check("pg_ctl start", output) {
                Ok(()) => break,
                Err(why) => {
                    let log = server.log_tail();
                    if attempts < 3 && log.contains("could not bind") {
                        continue;
                    }
                    return Err(Failure::NotStarted(format!(
                        "{why}\n--- the end of its log:\n{log}"
                    )));
                }
            }
        }
        let _ = writeln!(
            std::io::stderr(),
            "PostgreSQL started on 127.0.0.1:{} in {} ms ({})",
            server.port,
            started.elapsed().as_millis(),
            server.dir.display()
        );
        Ok(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `program`, through `runuser -u postgres --` when running as root.
    fn as_server_user(&self, program: &Path) -> Command {
        self.bin.as_server_user(program)
    }

    /// A `sh` that waits for EOF on its stdin, whose other end only this
    /// process holds (Rust's pipes are close-on-exec), then stops the
    /// server and removes the folder. In a process group of its own, so
    /// that a Ctrl-C that ends the tests does not end it first.
    fn spawn_watchdog(&self) -> Result<Child, String> {
        use std::os::unix::process::CommandExt;
        let stop = self.bin.as_server_user(&self.bin.pg_ctl);
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#"read -r _; dir=$1; shift; "$@" >/dev/null 2>&1; rm -rf -- "$dir""#)
            .arg("flowc-pg-watchdog")
            .arg(&self.dir)
            .arg(stop.get_program())
            .args(stop.get_args())
            .arg("stop")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        pg_env(&mut command)
            .spawn()
            .map_err(|e| format!("starting the watchdog (sh): {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        if self.data().join("postmaster.pid").exists() {
            let _ = self
                .as_server_user(&self.bin.pg_ctl)
                .arg("stop")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Bin {
    fn find() -> Result<Bin, String> {
        let dir = match std::env::var_os("FLOWC_PG_BIN").filter(|v| !v.is_empty()) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                if !has_server_tools(&dir) {
                    return Err(format!(
                        "no initdb and pg_ctl in FLOWC_PG_BIN={}",
                        dir.display()
                    ));
                }
                dir
            }
            None => newest_versioned_dir()
                .or_else(|| path_dirs().into_iter().find(|d| has_server_tools(d)))
                .ok_or("no initdb and pg_ctl in /usr/lib/postgresql/*/bin or on PATH")?,
        };
        let psql = Some(dir.join("psql"))
            .filter(|p| p.is_file())
            .or_else(|| {
                path_dirs()
                    .into_iter()
                    .map(|d| d.join("psql"))
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| format!("no psql in {} or on PATH", dir.display()))?;
        let as_postgres = is_root();
        if as_postgres && !path_dirs().iter().any(|d| d.join("runuser").is_file()) {
            return Err("running as root, and no runuser on PATH to run as postgres".into());
        }
        Ok(Bin {
            initdb: dir.join("initdb"),
            pg_ctl: dir.join("pg_ctl"),
            psql,
            as_postgres,
        })
    }

    fn as_server_user(&self, program: &Path) -> Command {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        pg_env(&mut command);
        command.stdin(Stdio::null());
        command
    }
}

fn has_server_tools(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

/// The newest `/usr/lib/postgresql/VERSION/bin` with initdb and pg_ctl.
fn newest_versioned_dir() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version: Vec<u32> = e
                .file_name()
                .to_str()?
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = e.path().join("bin");
            has_server_tools(&bin).then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

/// Whether the effective user is root.
fn is_root() -> bool {
    let from_proc = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            // Uid: real effective saved filesystem
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        });
    from_proc.unwrap_or_else(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    })
}

/// Removes the environment's `PG*` variables (PGHOST, PGOPTIONS, …), so
/// that only the command line says where and how to connect.
fn pg_env(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("PG")) {
            command.env_remove(&name);
        }
    }
    command
}

/// Ok when the command ran and succeeded; else what it said.
fn check(what: &str, output: std::io::Result<Output>) -> Result<(), String> {
    match output {
        Err(e) => Err(format!("{what}: {e}")),
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => {
            let said = [&o.stderr, &o.stdout]
                .map(|s| String::from_utf8_lossy(s).trim().to_string())
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            Err(format!("{what} failed ({}):\n{said}", o.status))
        }
    }
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| format!("(no log: {e})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// `name` made a database name: `[a-z0-9_]`, starting with a letter, with
/// `_N` at the end, 60 characters at most.
fn database_name(name: &str, n: usize) -> String {
    let suffix = format!("_{n}");
    let mut base: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base.insert_str(0, "db_");
    }
    base.truncate(60 - suffix.len());
    base + &suffix
}

/// Stops the servers and removes the folders of test processes that are
/// gone, when their watchdogs did not (once per process; Linux only).
fn sweep_dead(bin: &Bin) {
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(|| {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(PREFIX))
                .and_then(|rest| rest.split_once('-'))
                .and_then(|(pid, _)| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if Path::new("/proc").join(pid.to_string()).exists() {
                continue;
            }
            let data = entry.path().join("data");
            if data.join("postmaster.pid").exists() {
                let _ = bin
                    .as_server_user(&bin.pg_ctl)
                    .args([OsStr::new("stop"), OsStr::new("-D"), data.as_os_str()])
                    .args(["-m", "immediate", "-w"])
                    .output();
            }
            let _ = std::fs::remove_dir_all(entry.path());
        }
    });
}
