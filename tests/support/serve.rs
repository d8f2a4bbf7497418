//! A real `flowc serve` process and a real HTTP client for it: what the
//! serve tests share.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
use std::time::{Duration, Instant};

/// A running `flowc serve`, killed when dropped.
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`, as it printed.
    pub base: String,
    /// What it printed up to the line saying where it listens, that line
    /// included.
    pub said: Vec<String>,
    /// What it printed after the line saying where it listens.
    pub lines: Lines,
}

/// Lines a process printed, in order, as they come: an
/// `mpsc::Receiver` that threads may share (as they share a `Served`).
pub struct Lines(Mutex<mpsc::Receiver<String>>);

impl Lines {
    pub fn try_recv(&self) -> Result<String, mpsc::TryRecvError> {
        self.receiver().try_recv()
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Result<String, mpsc::RecvTimeoutError> {
        self.receiver().recv_timeout(timeout)
    }

    fn receiver(&self) -> MutexGuard<'_, mpsc::Receiver<String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Starts `command` (a `flowc serve …`), waiting until it listens.
    pub fn start(mut command: Command) -> Served {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowc serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut said = Vec::new();
        let base = loop {
            match lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    said.push(line.clone());
                    if let Some(url) = line.strip_prefix("flowc serve: listening on ") {
                        break url.trim().to_string();
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        let mut err = String::new();
                        if let Some(mut e) = child.stderr.take() {
                            let _ = e.read_to_string(&mut err);
                        }
                        panic!("flowc serve exited ({status}): {err}");
                    }
                    assert!(Instant::now() < deadline, "flowc serve did not listen");
                }
            }
        };
        // Its stderr is drained so that it never blocks on a full pipe.
        if let Some(mut err) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = err.read_to_end(&mut sink);
            });
        }
        Served {
            child,
            base,
            said,
            lines: Lines(Mutex::new(lines)),
        }
    }

    /// Sends SIGTERM and waits (at most 30 s) for the process to end: its
    /// exit status and what it printed meanwhile.
    pub fn terminate(&mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "flowc serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut printed = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            printed.push(line);
        }
        (status, printed)
    }

    /// GET `path` (or a whole URL) with these headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = agent().get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.call())
    }

    pub fn get(&self, path: &str) -> Answer {
        self.get_with(path, &[])
    }

    /// POST these form fields, encoded as a browser does.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.post(path, "application/x-www-form-urlencoded", form(fields))
    }

    /// POST `body` (text or bytes) as `content_type`.
    pub fn post(&self, path: &str, content_type: &str, body: impl AsRef<[u8]>) -> Answer {
        self.post_with(path, &[("content-type", content_type)], body)
    }

    /// POST `body` with these headers (in this order; the content type
    /// among them, if any).
    pub fn post_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl AsRef<[u8]>,
    ) -> Answer {
        let mut request = agent().post(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.send(body.as_ref()))
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }
}

/// `flowc serve --db DB rules --listen 127.0.0.1:0 EXTRA…` in `world`'s
/// folder with these environment variables (a free port), not started.
pub fn command(
    world: &super::world::World,
    db: &super::db::Db,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Command {
    let db = db.arg();
    let mut args = vec!["serve", "--db", &db, "rules", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    world.command(&args, env)
}

/// A client that follows no redirects and treats no status as an error.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// An answer: status, headers and the body as text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{}: {e}", self.body))
    }
}

pub fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.unwrap_or_else(|e| panic!("request failed: {e}"));
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response
        .body_mut()
        .read_to_vec()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Answer {
        status: response.status().as_u16(),
        headers,
        body,
    }
}

/// `application/x-www-form-urlencoded`, as a browser writes it.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A port free now (for a URL that must be known before the server
/// starts, as links written into mail are).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits (at most a minute) until `done` says so.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The decoded text of every leaf part of a received message (`.eml`),
/// as Python's email package reads it, joined by newlines.
pub fn eml_text(eml: &std::path::Path) -> String {
    let parsed = super::eml::parse(eml);
    let parts: Vec<&str> = parsed["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter_map(|p| p[2].as_str())
        .collect();
    parts.join("\n").replace("\r\n", "\n")
}

/// The .eml at `path` as it is written, with quoted-printable soft breaks
/// and `=3D` undone: enough to read links (headers included).
pub fn eml_raw(path: &std::path::Path) -> String {
    let raw = std::fs::read(path).expect("eml");
    String::from_utf8_lossy(&raw)
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// The distinct tokens of `PREFIX/TOKEN` links in `text`, in order.
pub fn link_tokens(text: &str, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (i, _) in text.match_indices(prefix) {
        let token: String = text[i + prefix.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if !token.is_empty() && !found.contains(&token) {
            found.push(token);
        }
    }
    found
}

/// `X-Flowc-Signature` for `body` signed at `t` (Unix seconds) with
/// `secret`: `t=T,v1=HEX`, HEX the HMAC-SHA256 of `"T." + body`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// Wall-clock Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
