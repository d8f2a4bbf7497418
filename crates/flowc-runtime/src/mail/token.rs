//! Tokens in the links flowc puts in email (§8, §9): the opt-out link
//! `PUBLIC/u/TOKEN`, the open-tracking image `PUBLIC/o/TOKEN`, tracked
//! links `PUBLIC/c/TOKEN` and the approval link `PUBLIC/a/TOKEN`. `flowc
//! run` makes them and `flowc serve` verifies them, both with this module.
//!
//! A token is the payload (at most [`MAX_PAYLOAD`] bytes) followed by the
//! first 16 bytes of HMAC-SHA256 with `FLOWC_SECRET` over the purpose and
//! the payload, in URL-safe base64 without padding: at most 64 characters,
//! opaque to the reader and unguessable without the secret. Verifying
//! compares in constant time and yields the payload.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The bytes of the MAC a token keeps.
const TAG: usize = 16;

/// The longest payload a token carries (so that a token is at most 64
/// characters).
pub const MAX_PAYLOAD: usize = 32;

/// The variable the secret comes from.
pub const SECRET_VARIABLE: &str = "FLOWC_SECRET";

/// The shortest secret accepted.
pub const MIN_SECRET: usize = 16;

/// What a token is for; a token made for one purpose never verifies for
/// another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `PUBLIC/u/TOKEN`: opt out of marketing email.
    Unsubscribe,
    /// `PUBLIC/o/TOKEN`: the 1×1 image of a marketing message.
    Open,
    /// `PUBLIC/c/TOKEN`: a tracked link of a marketing message.
    Click,
    /// `PUBLIC/a/TOKEN`: the page deciding one approval (its payload:
    /// [`approval_payload`]).
    Approval,
    /// The hidden field the approval page's form carries, made from the
    /// approval token's payload: a form posted from another site lacks it.
    ApprovalForm,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Unsubscribe => b"flowc unsubscribe",
            Purpose::Open => b"flowc open",
            Purpose::Click => b"flowc click",
            Purpose::Approval => b"flowc approval",
            Purpose::ApprovalForm => b"flowc approval form",
        }
    }
}

/// `FLOWC_SECRET`. Never printed: its `Debug` hides it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

impl Secret {
    /// A secret of at least [`MIN_SECRET`] bytes; the error never quotes it.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Secret, String> {
        let secret = secret.into();
        if secret.len() < MIN_SECRET {
            return Err(format!(
                "{SECRET_VARIABLE} is too short: use at least {MIN_SECRET} random characters \
                 (for example `openssl rand -base64 32`)"
            ));
        }
        Ok(Secret(secret))
    }

    /// The secret from `FLOWC_SECRET`; `why` says what needs it.
    pub fn from_env(why: &str) -> Result<Secret, String> {
        match std::env::var_os(SECRET_VARIABLE) {
            Some(v) if !v.is_empty() => Secret::new(v.into_encoded_bytes()),
            _ => Err(format!(
                "{why} needs {SECRET_VARIABLE} in the environment: the key its links' tokens are \
                 signed with (at least {MIN_SECRET} random characters, kept the same across runs \
                 and by `flowc serve`)"
            )),
        }
    }

    fn mac(&self, purpose: Purpose, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        let label = purpose.label();
        mac.update(&[label.len() as u8]);
        mac.update(label);
        mac.update(payload);
        mac
    }
}

/// The token for `payload` (at most [`MAX_PAYLOAD`] bytes: longer ones are
/// a caller's bug and panic).
pub fn make(secret: &Secret, purpose: Purpose, payload: &[u8]) -> String {
    assert!(
        payload.len() <= MAX_PAYLOAD,
        "a token's payload is at most {MAX_PAYLOAD} bytes"
    );
    let tag = secret.mac(purpose, payload).finalize().into_bytes();
    let mut bytes = Vec::with_capacity(payload.len() + TAG);
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&tag[..TAG]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The payload of a token `make` made with this secret and purpose; `None`
/// for anything else (altered, truncated, another purpose or secret).
pub fn verify(secret: &Secret, purpose: Purpose, token: &str) -> Option<Vec<u8>> {
    if token.len() > 64 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    if bytes.len() < TAG || bytes.len() > MAX_PAYLOAD + TAG {
        return None;
    }
    let (payload, tag) = bytes.split_at(bytes.len() - TAG);
    secret
        .mac(purpose, payload)
        .verify_truncated_left(tag)
        .ok()?;
    Some(payload.to_vec())
}

/// The payload that names one message: its run (8 bytes) and the first 8
/// bytes of SHA-256 of its Message-ID, which `flowc serve` finds among the
/// run's messages in `flow_outbox`.
pub fn message_key(run_id: i64, message_id: &str) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&run_id.to_be_bytes());
    key[8..].copy_from_slice(&Sha256::digest(message_id.as_bytes())[..8]);
    key
}

/// The run a [`message_key`] names, and whether it names `message_id`.
pub fn message_key_names(key: &[u8], message_id: &str) -> Option<i64> {
    let key: [u8; 16] = key.try_into().ok()?;
    let run = i64::from_be_bytes(key[..8].try_into().ok()?);
    (message_key(run, message_id) == key).then_some(run)
}

/// What a click token names: a message ([`message_key`]) and which of its
/// tracked links (the index into the message's stored original URLs).
pub fn click_payload(run_id: i64, message_id: &str, link: u16) -> [u8; 18] {
    let mut payload = [0u8; 18];
    payload[..16].copy_from_slice(&message_key(run_id, message_id));
    payload[16..].copy_from_slice(&link.to_be_bytes());
    payload
}

/// A verified click payload split into its message key and link index.
pub fn split_click(payload: &[u8]) -> Option<(&[u8], u16)> {
    if payload.len() != 18 {
        return None;
    }
    let (key, link) = payload.split_at(16);
    Some((key, u16::from_be_bytes([link[0], link[1]])))
}

/// What an approval token names: the approval (8 bytes) and the run
/// waiting for it (8 bytes), both of which must match the stored approval.
pub fn approval_payload(approval: i64, run_id: i64) -> [u8; 16] {
    let mut payload = [0u8; 16];
    payload[..8].copy_from_slice(&approval.to_be_bytes());
    payload[8..].copy_from_slice(&run_id.to_be_bytes());
    payload
}

/// A verified approval payload split into the approval and its run.
pub fn split_approval(payload: &[u8]) -> Option<(i64, i64)> {
    let payload: [u8; 16] = payload.try_into().ok()?;
    let approval = i64::from_be_bytes(payload[..8].try_into().ok()?);
    let run = i64::from_be_bytes(payload[8..].try_into().ok()?);
    Some((approval, run))
}

/// A public base URL (`--public-url`) and the secret of its tokens: what
/// opt-out and tracking links need.
#[derive(Clone, Debug)]
pub struct PublicLinks {
    base: String,
    secret: Secret,
}

impl PublicLinks {
    /// `url` must be an http(s) URL without a query or fragment; a final
    /// `/` is dropped.
    pub fn new(url: &str, secret: Secret) -> Result<PublicLinks, String> {
        let base = url.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"))
            .ok_or_else(|| format!("--public-url `{url}`: expected https://HOST[/PATH]"))?;
        if rest.is_empty()
            || rest.starts_with('/')
            || base.contains(['?', '#', ' ', '<', '>', '"', '\r', '\n'])
            || !base.is_ascii()
        {
            return Err(format!(
                "--public-url `{url}`: expected https://HOST[/PATH], without a query, fragment \
                 or spaces"
            ));
        }
        Ok(PublicLinks {
            base: base.to_string(),
            secret,
        })
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The base URL, without a final `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `PUBLIC/u/TOKEN` for one message.
    pub fn unsubscribe(&self, run_id: i64, message_id: &str) -> String {
        let token = make(
            &self.secret,
            Purpose::Unsubscribe,
            &message_key(run_id, message_id),
        );
        format!("{}/u/{token}", self.base)
    }

    /// `PUBLIC/o/TOKEN`: the open-tracking image of one message.
    pub fn open(&self, run_id: i64, message_id: &str) -> String {
        let token = make(
            &self.secret,
            Purpose::Open,
            &message_key(run_id, message_id),
        );
        format!("{}/o/{token}", self.base)
    }

    /// `PUBLIC/c/TOKEN`: the `link`-th tracked link of one message.
    pub fn click(&self, run_id: i64, message_id: &str, link: u16) -> String {
        let token = make(
            &self.secret,
            Purpose::Click,
            &click_payload(run_id, message_id, link),
        );
        format!("{}/c/{token}", self.base)
    }

    /// `PUBLIC/a/TOKEN`: the page where the approver decides `approval`,
    /// which run `run_id` waits for.
    pub fn approval(&self, approval: i64, run_id: i64) -> String {
        let token = make(
            &self.secret,
            Purpose::Approval,
            &approval_payload(approval, run_id),
        );
        format!("{}/a/{token}", self.base)
    }

    /// Whether `url` is one of flowc's own public links (never tracked).
    pub fn is_own(&self, url: &str) -> bool {
        url.strip_prefix(&self.base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("0123456789abcdef-test-secret").expect("ok")
    }

    #[test]
    fn round_trip() {
        let key = message_key(42, "<42.send-email.0.abc@flowc>");
        let token = make(&secret(), Purpose::Unsubscribe, &key);
        assert!(token.len() <= 64, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let payload = verify(&secret(), Purpose::Unsubscribe, &token).expect("verifies");
        assert_eq!(payload, key);
        assert_eq!(
            message_key_names(&payload, "<42.send-email.0.abc@flowc>"),
            Some(42)
        );
        assert_eq!(
            message_key_names(&payload, "<42.send-email.1.abc@flowc>"),
            None
        );
        let longest = make(&secret(), Purpose::Click, &[7u8; MAX_PAYLOAD]);
        assert_eq!(longest.len(), 64);
        assert_eq!(
            verify(&secret(), Purpose::Click, &longest),
            Some(vec![7u8; MAX_PAYLOAD])
        );
    }

    #[test]
    fn anything_else_fails() {
        let token = make(&secret(), Purpose::Unsubscribe, b"a@example.jp");
        // Every character flipped, one at a time.
        for i in 0..token.len() {
            let mut t = token.clone().into_bytes();
            t[i] = if t[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(t).expect("ok");
            assert_eq!(verify(&secret(), Purpose::Unsubscribe, &t), None, "{t}");
        }
        for n in 0..token.len() {
            assert_eq!(verify(&secret(), Purpose::Unsubscribe, &token[..n]), None);
        }
        assert_eq!(verify(&secret(), Purpose::Open, &token), None);
        let other = Secret::new("another secret, long enough").expect("ok");
        assert_eq!(verify(&other, Purpose::Unsubscribe, &token), None);
        assert_eq!(
            verify(&secret(), Purpose::Unsubscribe, "not a token!"),
            None
        );
        assert_eq!(verify(&secret(), Purpose::Unsubscribe, ""), None);
    }

    #[test]
    fn secrets_are_checked_and_hidden() {
        assert!(
            Secret::new("short")
                .expect_err("refused")
                .contains("FLOWC_SECRET")
        );
        assert_eq!(format!("{:?}", secret()), "Secret(<hidden>)");
        let links = PublicLinks::new("https://mail.example.jp/", secret()).expect("ok");
        assert!(!format!("{links:?}").contains("test-secret"));
        let url = links.unsubscribe(1, "<1.s.0.x@flowc>");
        assert!(url.starts_with("https://mail.example.jp/u/"), "{url}");
        let url = links.approval(3, 48);
        let token = url
            .strip_prefix("https://mail.example.jp/a/")
            .expect("an approval link");
        let payload = verify(&secret(), Purpose::Approval, token).expect("verifies");
        assert_eq!(split_approval(&payload), Some((3, 48)));
        assert_eq!(verify(&secret(), Purpose::ApprovalForm, token), None);
        assert_eq!(verify(&secret(), Purpose::Unsubscribe, token), None);
        assert_eq!(split_approval(&payload[..15]), None);
        for bad in ["mail.example.jp", "https://", "https://a/?q", "ftp://a"] {
            assert!(PublicLinks::new(bad, secret()).is_err(), "{bad}");
        }
    }
}
