//! A real browser for the tests of pages: headless Chromium driven by
//! chromedriver through the W3C WebDriver HTTP API (a few JSON requests
//! with ureq; no client crate needed). Debian's `chromium` and
//! `chromium-driver` packages provide both (`.ci/run` installs them).
//!
//! [`Browser::start`] says loudly that a test skips, and how to enable
//! it, when they are missing; under `CI=true` it fails the test instead.
//! Each browser has a fresh profile in a temporary folder and is stopped
//! when dropped. Screenshots go to `target/screenshots/`, for a person to
//! look at.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Standard base64 (WebDriver's screenshots), padding and line breaks
/// ignored.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !matches!(c, b'=' | b'\n' | b'\r')) {
        bits = (bits << 6) | u32::from(value(c)?);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

fn post_json(
    agent: &ureq::Agent,
    url: &str,
    body: &Value,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    agent
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string())
}

fn read_json(response: &mut ureq::http::Response<ureq::Body>) -> Option<Value> {
    let text = response.body_mut().read_to_string().ok()?;
    serde_json::from_str(&text).ok()
}

/// The first of `candidates` (or `$VARIABLE`) that is a file.
fn find(variable: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| {
            let name = candidates.first()?.rsplit('/').next()?;
            let out = Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (!path.is_empty()).then(|| PathBuf::from(path))
        })
}

/// Where screenshots go: `target/screenshots/`.
pub fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots");
    dir
}

/// A headless Chromium with its chromedriver, stopped when dropped.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
    agent: ureq::Agent,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn skip(test: &str, why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}: {test} runs a real browser and must run on CI (.ci/run installs chromium and chromium-driver)"
    );
    // Straight to the process's stderr: the harness captures `eprintln!`
    // of passing tests, and this must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED {test}: {why}; install them with `apt-get install -y chromium chromium-driver` \
         (or set FLOWC_CHROMIUM and FLOWC_CHROMEDRIVER) !!!!!!!!\n"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// A browser for `test`, or `None` (after saying so) when Chromium or
    /// chromedriver is missing.
    pub fn start(test: &str) -> Option<Browser> {
        let Some(chromium) = find(
            "FLOWC_CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        ) else {
            skip(test, "no chromium");
            return None;
        };
        let Some(chromedriver) = find("FLOWC_CHROMEDRIVER", &["/usr/bin/chromedriver"]) else {
            skip(test, "no chromedriver");
            return None;
        };
        let port = free_port();
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", chromedriver.display()));
        let base = format!("http://127.0.0.1:{port}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = agent
                .get(format!("{base}/status"))
                .call()
                .ok()
                .and_then(|mut r| read_json(&mut r))
                .is_some_and(|v| v["value"]["ready"] == json!(true));
            if ready {
                break;
            }
            if let Ok(Some(status)) = driver.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = driver.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("chromedriver exited ({status}): {err}");
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Its stderr is drained so that it never blocks on a full pipe.
        if let Some(mut err) = driver.stderr.take() {
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = err.read_to_end(&mut sink);
            });
        }
        let profile = tempfile::tempdir().expect("a profile folder");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--lang=ja",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut created = post_json(
            &agent,
            &format!("{base}/session"),
            &json!({
                "capabilities": {
                    "alwaysMatch": {
                        "browserName": "chrome",
                        "goog:chromeOptions": {
                            "binary": chromium.to_string_lossy(),
                            "args": args,
                        },
                    },
                },
            }),
        )
        .expect("a WebDriver session");
        let created: Value = read_json(&mut created).expect("session JSON");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        Some(Browser {
            driver,
            base,
            session,
            _profile: profile,
            agent,
        })
    }

    /// A WebDriver command: its `value`, or the error's JSON.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let answer = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => post_json(&self.agent, &url, &body.unwrap_or_else(|| json!({}))),
        };
        let mut answer = answer.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let ok = answer.status().is_success();
        let value: Value =
            read_json(&mut answer).unwrap_or_else(|| panic!("WebDriver {method} {path}: not JSON"));
        let value = value.get("value").cloned().unwrap_or(Value::Null);
        if ok { Ok(value) } else { Err(value) }
    }

    fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.command(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Opens `url` and waits for it to load.
    pub fn open(&self, url: &str) {
        self.must("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.must("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn title(&self) -> String {
        self.must("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML as the browser has it now.
    pub fn source(&self) -> String {
        self.must("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The element `css` selects, if any.
    pub fn find(&self, css: &str) -> Option<String> {
        self.command(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .ok()
        .and_then(|v| v[ELEMENT].as_str().map(str::to_string))
    }

    fn element(&self, css: &str) -> String {
        self.find(css)
            .unwrap_or_else(|| panic!("no element `{css}` on {}:\n{}", self.url(), self.source()))
    }

    /// Every element `css` selects.
    pub fn count(&self, css: &str) -> usize {
        self.must(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .as_array()
        .map_or(0, Vec::len)
    }

    /// Types `text` into the element `css` selects.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.must(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Clicks the element `css` selects (and waits for a page it loads).
    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.must("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// The visible text of the element `css` selects.
    pub fn text(&self, css: &str) -> String {
        let id = self.element(css);
        self.must("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits (up to 20 s) until `done` holds: a click returns before the
    /// page it loads has arrived.
    pub fn wait(&self, what: &str, done: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what}: still {} showing:\n{}",
                self.url(),
                self.source()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the page's URL ends with `end`.
    pub fn wait_url(&self, end: &str) {
        self.wait(&format!("a page at …{end}"), |b| b.url().ends_with(end));
    }

    /// Waits until the page's HTML contains `text`.
    pub fn wait_text(&self, text: &str) {
        self.wait(&format!("a page with `{text}`"), |b| {
            b.source().contains(text)
        });
    }

    /// The browser's cookies for the current page.
    pub fn cookies(&self) -> Vec<Value> {
        self.must("GET", "/cookie", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The text of an open `alert()`, if one is open (a script ran).
    pub fn alert(&self) -> Option<String> {
        self.command("GET", "/alert/text", None)
            .ok()
            .map(|v| v.as_str().unwrap_or_default().to_string())
    }

    /// Saves a screenshot of the whole page as `target/screenshots/NAME.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        // The whole page, not only the window: Chrome DevTools' capture
        // beyond the viewport, through chromedriver.
        let shot = self
            .command(
                "POST",
                "/goog/cdp/execute",
                Some(json!({
                    "cmd": "Page.captureScreenshot",
                    "params": { "format": "png", "captureBeyondViewport": true },
                })),
            )
            .ok()
            .and_then(|v| v["data"].as_str().map(str::to_string))
            .unwrap_or_else(|| {
                self.must("GET", "/screenshot", None)
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            });
        let png = base64_decode(&shot).expect("a base64 PNG");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let path = screenshots().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }
}

/// Whether `path` is a PNG of a reasonable size (not blank: a blank page
/// compresses to a few hundred bytes).
pub fn looks_drawn(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 5_000)
}
