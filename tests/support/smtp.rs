//! A real SMTP server (aiosmtpd) on 127.0.0.1 for the tests, installed into
//! `target/py` with pip when the machine does not have it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

static INSTALL: Mutex<()> = Mutex::new(());

fn py_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/py")
}

/// Makes `import aiosmtpd` work, installing it into target/py if needed.
pub fn ensure_aiosmtpd() {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let importable = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .env("PYTHONPATH", py_dir())
        .status()
        .is_ok_and(|s| s.success());
    if importable {
        return;
    }
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(py_dir())
        .arg("aiosmtpd")
        .status()
        .expect("python3 -m pip runs");
    assert!(
        status.success(),
        "installing aiosmtpd into target/py failed"
    );
}

/// Makes `import dkim` (dkimpy, with PyNaCl for Ed25519) work, installing
/// them into target/py like aiosmtpd if needed. Returns false, after saying
/// loudly that `test` skips, when they cannot be had; under `CI=true` that
/// fails the test instead.
pub fn ensure_dkimpy(test: &str) -> bool {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let importable = || {
        Command::new("python3")
            .args(["-c", "import dkim, nacl"])
            .env("PYTHONPATH", py_dir())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if importable() {
        return true;
    }
    let installed = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(py_dir())
        .args(["dkimpy", "pynacl"])
        .status()
        .is_ok_and(|s| s.success());
    if installed && importable() {
        return true;
    }
    let why = "dkimpy (and PyNaCl) could not be installed into target/py with pip";
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}: {test} verifies DKIM signatures with it and must run on CI"
    );
    // Straight to the process's stderr: the harness captures `eprintln!`
    // of passing tests, and this must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED {test}: {why} !!!!!!!!\n"
    );
    false
}

/// Verifies the DKIM signature of the message in `eml` with dkimpy, the
/// public key's TXT record `record` published (in its stead) at `name`
/// (`SELECTOR._domainkey.DOMAIN`): `Ok(())` or `Err(why)`.
pub fn dkim_verify(eml: &Path, name: &str, record: &str) -> Result<(), String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/dkim_verify.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(eml)
        .args([name, record])
        .env("PYTHONPATH", py_dir())
        .output()
        .expect("python3 runs");
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match (out.status.success(), said.as_str()) {
        (true, "pass") => Ok(()),
        _ => Err(format!("{said}{}", String::from_utf8_lossy(&out.stderr))),
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running aiosmtpd, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

/// How a test server behaves beyond the faults chosen by recipient names
/// (see `smtp_server.py`).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Require AUTH with this password.
    pub password: Option<String>,
    /// Offer STARTTLS with the test certificate (`tests/support/tls/`,
    /// issued for 127.0.0.1 by the test CA `ca.pem`).
    pub starttls: bool,
}

/// The test CA that issued the server certificate.
pub fn test_ca() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/tls/ca.pem")
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Server::start_on(free_port(), dir)
    }

    pub fn start_on(port: u16, dir: &Path) -> Server {
        Server::start_with(port, dir, &Options::default())
    }

    pub fn start_with(port: u16, dir: &Path, options: &Options) -> Server {
        ensure_aiosmtpd();
        std::fs::create_dir_all(dir).expect("mail dir");
        let support = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support");
        let mut command = Command::new("python3");
        command
            .arg(support.join("smtp_server.py"))
            .arg(port.to_string())
            .arg(dir);
        if let Some(password) = &options.password {
            command.arg("--auth").arg(password);
        }
        if options.starttls {
            command
                .arg("--tls")
                .arg(support.join("tls/cert.pem"))
                .arg(support.join("tls/key.pem"));
        }
        let mut child = command
            .env("PYTHONPATH", py_dir())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start aiosmtpd");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read");
        assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
        Server {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// How many TCP connections the server accepted.
    pub fn connections(&self) -> usize {
        self.side_file("connections.log").len()
    }

    /// One `tls=0|1 ok=0|1` line per AUTH attempt.
    pub fn auth_attempts(&self) -> Vec<String> {
        self.side_file("auth.log")
    }

    /// Lets the replies held by `slow` and `noreply` recipients go.
    pub fn release(&self) {
        std::fs::write(self.dir.join("release"), "").expect("release");
    }

    fn side_file(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.join(name))
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The bytes of a message as the server received it (`message["raw"]`
    /// names its file).
    pub fn raw(&self, message: &serde_json::Value) -> PathBuf {
        self.dir
            .join(message["raw"].as_str().expect("the message's raw file"))
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        received(&self.dir)
    }

    /// `to | subject` of every message received so far, sorted.
    pub fn summary(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .messages()
            .iter()
            .map(|m| {
                format!(
                    "{} | {}",
                    m["to"].as_str().unwrap_or_default(),
                    m["subject"].as_str().unwrap_or_default()
                )
            })
            .collect();
        lines.sort();
        lines
    }
}

/// Messages an aiosmtpd wrote into `dir`, in arrival order.
pub fn received(dir: &Path) -> Vec<serde_json::Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|t| serde_json::from_str(&t).ok())
        .collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
