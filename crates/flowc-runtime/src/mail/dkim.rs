//! DKIM signing (§8): with `FLOWC_DKIM_KEY` (a PEM private key file),
//! `FLOWC_DKIM_SELECTOR` and `FLOWC_DKIM_DOMAIN` all set, every message
//! is signed with lettre's DKIM support before it is handed over (or
//! written to a mail folder). Some but not all of them set is an error at
//! startup. The key is read once and never printed: [`Dkim`]'s `Debug`
//! shows the selector, domain and algorithm only, and no error quotes the
//! file's contents.
//!
//! Keys: RSA in PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN
//! PRIVATE KEY`), and Ed25519 in PKCS#8 (RFC 8463, `openssl genpkey
//! -algorithm ed25519`). Canonicalization is relaxed/relaxed, which
//! survives the whitespace changes relays make.

use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, ObjectIdentifier, PrivateKeyInfo, SecretDocument};

/// The environment variables, in the order messages name them.
pub const KEY_VAR: &str = "FLOWC_DKIM_KEY";
pub const SELECTOR_VAR: &str = "FLOWC_DKIM_SELECTOR";
pub const DOMAIN_VAR: &str = "FLOWC_DKIM_DOMAIN";

/// The headers signed, when the message has them. Listing one a message
/// lacks is allowed (RFC 6376 §5.4) and keeps anyone from adding it later:
/// the opt-out headers (RFC 8058 requires them signed) are listed so.
const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// What signs every message.
pub struct Dkim {
    config: DkimConfig,
    selector: String,
    domain: String,
    algorithm: DkimSigningAlgorithm,
}

impl std::fmt::Debug for Dkim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Dkim {{ selector: {:?}, domain: {:?}, algorithm: {}, key: <hidden> }}",
            self.selector, self.domain, self.algorithm
        )
    }
}

impl Dkim {
    /// The signing configuration from the environment: `None` when none of
    /// the three variables is set (an empty one counts as unset), an error
    /// when only some are, or when the key cannot be read.
    pub fn from_env() -> Result<Option<Dkim>, String> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Dkim::from_vars(
            var(KEY_VAR).map(std::path::PathBuf::from),
            var(SELECTOR_VAR).map(|v| v.to_string_lossy().into_owned()),
            var(DOMAIN_VAR).map(|v| v.to_string_lossy().into_owned()),
        )
    }

    /// [`Dkim::from_env`] with the variables given.
    pub fn from_vars(
        key: Option<std::path::PathBuf>,
        selector: Option<String>,
        domain: Option<String>,
    ) -> Result<Option<Dkim>, String> {
        match (key, selector, domain) {
            (None, None, None) => Ok(None),
            (Some(key), Some(selector), Some(domain)) => {
                let pem = std::fs::read_to_string(&key)
                    .map_err(|e| format!("{KEY_VAR}: {}: {e}", key.display()))?;
                Dkim::new(&pem, &selector, &domain)
                    .map(Some)
                    .map_err(|e| format!("{KEY_VAR}: {}: {e}", key.display()))
            }
            (key, selector, domain) => {
                let missing: Vec<&str> = [
                    (KEY_VAR, key.is_none()),
                    (SELECTOR_VAR, selector.is_none()),
                    (DOMAIN_VAR, domain.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, absent)| absent.then_some(name))
                .collect();
                Err(format!(
                    "DKIM signing needs {KEY_VAR} (a PEM private key file), {SELECTOR_VAR} and \
                     {DOMAIN_VAR} together; {} not set (set all three, or none to send unsigned)",
                    missing.join(" and ")
                ))
            }
        }
    }

    /// Signing with the PEM private key `pem` as `selector._domainkey.domain`.
    /// Errors say what is wrong without quoting the key.
    pub fn new(pem: &str, selector: &str, domain: &str) -> Result<Dkim, String> {
        let selector = selector.trim();
        let domain = domain.trim();
        dns_name(SELECTOR_VAR, selector)?;
        dns_name(DOMAIN_VAR, domain)?;
        let (key, algorithm) = signing_key(pem)?;
        let headers = SIGNED_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect();
        let config = DkimConfig::new(
            selector.to_string(),
            domain.to_string(),
            key,
            headers,
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        );
        Ok(Dkim {
            config,
            selector: selector.to_string(),
            domain: domain.to_string(),
            algorithm,
        })
    }

    /// Adds the `DKIM-Signature` header: the last change to a message.
    pub fn sign(&self, message: &mut lettre::Message) {
        message.sign(&self.config);
    }

    /// Where verifiers look for the public key: `selector._domainkey.domain`.
    pub fn record_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }
}

/// A selector or domain goes into a header as written: DNS labels only.
fn dns_name(what: &str, name: &str) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if name.len() <= 253 && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!(
            "{what}: `{name}` is not a DNS name (letters, digits, `-` and `_` in labels separated by dots)"
        ))
    }
}

/// The key lettre signs with, from a PEM file's text.
fn signing_key(pem: &str) -> Result<(DkimSigningKey, DkimSigningAlgorithm), String> {
    let unusable = |e: &dyn std::fmt::Display| format!("not a usable private key: {e}");
    let rsa = |pkcs1: &str| {
        DkimSigningKey::new(pkcs1, DkimSigningAlgorithm::Rsa)
            .map(|k| (k, DkimSigningAlgorithm::Rsa))
            .map_err(|e| unusable(&e))
    };
    let label = pem
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("-----BEGIN "));
    match label {
        Some("-----BEGIN RSA PRIVATE KEY-----") => rsa(pem),
        Some("-----BEGIN PRIVATE KEY-----") => {
            let (_, document) = SecretDocument::from_pem(pem).map_err(|e| unusable(&e))?;
            let info = PrivateKeyInfo::try_from(document.as_bytes()).map_err(|e| unusable(&e))?;
            if info.algorithm.oid == RSA_ENCRYPTION {
                let key = rsa::RsaPrivateKey::from_pkcs8_der(document.as_bytes())
                    .map_err(|e| unusable(&e))?;
                let pkcs1 = key
                    .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
                    .map_err(|e| unusable(&e))?;
                rsa(&pkcs1)
            } else if info.algorithm.oid == ED25519 {
                // CurvePrivateKey ::= OCTET STRING: the 32-byte seed.
                let seed = match info.private_key {
                    [0x04, 32, seed @ ..] if seed.len() == 32 => seed,
                    _ => return Err(unusable(&"an Ed25519 key's seed is not 32 bytes")),
                };
                DkimSigningKey::new(&base64(seed), DkimSigningAlgorithm::Ed25519)
                    .map(|k| (k, DkimSigningAlgorithm::Ed25519))
                    .map_err(|e| unusable(&e))
            } else {
                Err(format!(
                    "a private key of algorithm {} (DKIM signs with RSA or Ed25519)",
                    info.algorithm.oid
                ))
            }
        }
        Some(other) => Err(format!(
            "a PEM file of {}, not a private key (expected BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY; \
             an encrypted key must be decrypted first)",
            // `-----BEGIN CERTIFICATE-----` names a `CERTIFICATE`.
            other.trim_matches('-').split_once(' ').map_or(other, |(_, label)| label)
        )),
        None => Err("not a PEM file (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)".into()),
    }
}

/// Standard base64 with padding (lettre takes an Ed25519 seed so).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/support/dkim")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn rsa_keys_load_in_pkcs8_and_pkcs1_and_ed25519_in_pkcs8() {
        let pkcs8 = key("rsa.pem");
        let rsa = Dkim::new(&pkcs8, "s1", "example.jp").expect("pkcs8 rsa");
        assert!(matches!(rsa.algorithm, DkimSigningAlgorithm::Rsa));
        let pkcs1 = rsa::RsaPrivateKey::from_pkcs8_pem(&pkcs8)
            .expect("parse")
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .expect("pkcs1");
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        Dkim::new(&pkcs1, "s1", "example.jp").expect("pkcs1 rsa");
        let ed = Dkim::new(&key("ed25519.pem"), "s2", "example.jp").expect("ed25519");
        assert!(matches!(ed.algorithm, DkimSigningAlgorithm::Ed25519));
        assert_eq!(ed.record_name(), "s2._domainkey.example.jp");
    }

    #[test]
    fn a_partial_or_bad_configuration_is_an_error_that_never_quotes_the_key() {
        let e = Dkim::from_vars(None, Some("s1".into()), None).expect_err("partial");
        assert!(
            e.contains("FLOWC_DKIM_KEY and FLOWC_DKIM_DOMAIN not set"),
            "{e}"
        );
        assert!(matches!(Dkim::from_vars(None, None, None), Ok(None)));
        let pem = key("rsa.pem");
        let damaged = pem.replacen('M', "*", 3);
        let e = Dkim::new(&damaged, "s1", "example.jp").expect_err("damaged");
        let body_line = pem.lines().nth(1).unwrap_or_default();
        assert!(!e.contains(body_line), "the key is not quoted: {e}");
        let e = Dkim::new(&pem, "s1; x=y", "example.jp").expect_err("selector");
        assert!(e.contains("FLOWC_DKIM_SELECTOR"), "{e}");
        let cert = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/support/tls/cert.pem"),
        )
        .expect("cert");
        let e = Dkim::new(&cert, "s1", "example.jp").expect_err("a certificate");
        assert!(
            e.contains("a PEM file of CERTIFICATE, not a private key"),
            "{e}"
        );
        let e = Dkim::new("hello", "s1", "example.jp").expect_err("not pem");
        assert!(e.contains("not a PEM file"), "{e}");
        let shown = format!("{:?}", Dkim::new(&pem, "s1", "example.jp").expect("key"));
        assert!(
            !shown.contains(body_line) && shown.contains("<hidden>"),
            "{shown}"
        );
    }
}
