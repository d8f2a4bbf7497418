//! Webhook signatures (§9): `X-Flowc-Signature: t=UNIX_SECONDS,v1=HEX`,
//! HEX being HMAC-SHA256 with `FLOWC_SECRET` over `"UNIX_SECONDS." +
//! body`, lowercase or uppercase hex. A request is refused when the time
//! is more than [`TOLERANCE`] seconds from the server's, so that a
//! recorded request cannot be replayed later. Several `v1=` entries may be
//! given (while the sender rotates its secret); one must match. Compared
//! in constant time.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The header.
pub const HEADER: &str = "x-flowc-signature";

/// How far a signature's time may be from the server's, in seconds.
pub const TOLERANCE: i64 = 300;

/// The key webhooks are signed with. Its `Debug` hides it.
#[derive(Clone)]
pub struct SigningKey(HmacSha256);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<hidden>)")
    }
}

/// Why a signature is refused (the 401's message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    Missing,
    Malformed,
    /// The signature's time is this many seconds from the server's.
    Stale(i64),
    Wrong,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Missing => write!(
                f,
                "missing X-Flowc-Signature header (t=UNIX_SECONDS,v1=HMAC-SHA256 hex of \"UNIX_SECONDS.\" + body)"
            ),
            Refused::Malformed => write!(
                f,
                "malformed X-Flowc-Signature header: expected t=UNIX_SECONDS,v1=64 hex digits"
            ),
            Refused::Stale(skew) => write!(
                f,
                "the signature's time is {skew} s from the server's; at most {TOLERANCE} s is accepted"
            ),
            Refused::Wrong => write!(f, "the signature does not match the body"),
        }
    }
}

impl SigningKey {
    pub fn new(secret: &[u8]) -> SigningKey {
        // HMAC takes a key of any length.
        SigningKey(HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!()))
    }

    fn mac(&self, t: &str, body: &[u8]) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(t.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The header's value for `body` sent at `t` (what a sender computes).
    pub fn sign(&self, t: i64, body: &[u8]) -> String {
        let tag = self.mac(&t.to_string(), body).finalize().into_bytes();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        format!("t={t},v1={hex}")
    }

    /// Checks `header` against `body` at the server's time `now`.
    pub fn verify(&self, header: Option<&[u8]>, body: &[u8], now: i64) -> Result<(), Refused> {
        let header = header.ok_or(Refused::Missing)?;
        let header = std::str::from_utf8(header).map_err(|_| Refused::Malformed)?;
        let mut t = None;
        let mut tags = Vec::new();
        for part in header.split(',') {
            let (k, v) = part.trim().split_once('=').ok_or(Refused::Malformed)?;
            match k.trim() {
                "t" if t.is_none() => t = Some(v.trim()),
                "t" => return Err(Refused::Malformed),
                "v1" => tags.push(hex(v.trim()).ok_or(Refused::Malformed)?),
                // Other schemes (a later version) are skipped.
                _ => {}
            }
        }
        let t_text = t.ok_or(Refused::Malformed)?;
        if tags.is_empty()
            || t_text.is_empty()
            || t_text.len() > 12
            || !t_text.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Refused::Malformed);
        }
        let t: i64 = t_text.parse().map_err(|_| Refused::Malformed)?;
        let skew = now - t;
        if skew.abs() > TOLERANCE {
            return Err(Refused::Stale(skew.abs()));
        }
        let mac = self.mac(t_text, body);
        if tags.iter().any(|tag| mac.clone().verify_slice(tag).is_ok()) {
            Ok(())
        } else {
            Err(Refused::Wrong)
        }
    }
}

/// 32 bytes from 64 hex digits.
fn hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_bodies_verify_and_anything_else_is_refused() {
        let key = SigningKey::new(b"0123456789abcdef0123456789abcdef");
        let body = br#"{"on": "contact:1"}"#;
        let header = key.sign(1_700_000_000, body);
        let verify = |h: &str, body: &[u8], now| key.verify(Some(h.as_bytes()), body, now);
        assert_eq!(verify(&header, body, 1_700_000_000), Ok(()));
        assert_eq!(verify(&header, body, 1_700_000_300), Ok(()));
        assert_eq!(
            verify(&header, body, 1_700_000_301),
            Err(Refused::Stale(301))
        );
        assert_eq!(
            verify(&header, body, 1_699_999_000),
            Err(Refused::Stale(1000))
        );
        assert_eq!(verify(&header, b"{}", 1_700_000_000), Err(Refused::Wrong));
        assert_eq!(
            verify(
                &header
                    .to_uppercase()
                    .replace("T=", "t=")
                    .replace("V1=", "v1="),
                body,
                1_700_000_000
            ),
            Ok(())
        );
        let other = SigningKey::new(b"another secret, long enough too..");
        assert_eq!(
            other.verify(Some(header.as_bytes()), body, 1_700_000_000),
            Err(Refused::Wrong)
        );
        // One matching signature among several (a rotated secret).
        let both = format!("{header},v1={}", "ab".repeat(32));
        assert_eq!(verify(&both, body, 1_700_000_000), Ok(()));
        for bad in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1700000000,v1=zz",
            "t=1,t=2,v1=00",
        ] {
            assert_eq!(
                verify(bad, body, 1_700_000_000),
                Err(Refused::Malformed),
                "{bad}"
            );
        }
        assert_eq!(key.verify(None, body, 0), Err(Refused::Missing));
        assert_eq!(format!("{key:?}"), "SigningKey(<hidden>)");
    }
}
