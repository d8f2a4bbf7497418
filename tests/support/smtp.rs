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

impl Server {
    pub fn start(dir: &Path) -> Server {
        Server::start_on(free_port(), dir)
    }

    pub fn start_on(port: u16, dir: &Path) -> Server {
        ensure_aiosmtpd();
        std::fs::create_dir_all(dir).expect("mail dir");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir)
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

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
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
