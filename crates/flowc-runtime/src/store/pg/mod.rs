//! PostgreSQL (DESIGN.md §10). So far: connecting, reading the user's table
//! definitions (`flowc check --db`, `flowc schema`), creating the tables a
//! project declares (`flowc schema --create`), flowc's own tables for
//! changes, events and locks (`state`) and the triggers that fill and
//! enforce them (`capture`). The engine's operations come next, behind the
//! same typed operations as SQLite's.

pub mod admin;
pub mod baseline;
pub mod capture;
pub mod changes;
pub mod conn;
pub mod ddl;
pub mod due;
pub mod effects;
pub mod events;
pub mod inspect;
pub mod introspect;
pub mod outbox;
pub mod pending;
pub mod report;
pub mod rows;
pub mod runs;
pub mod state;
pub mod store;
pub mod web;

pub use store::Pg;

/// The client crate, for code that holds a connection.
pub use postgres;

use super::target::PgTarget;

/// Connects. With `sslmode=require` the connection is TLS and the server's
/// certificate is verified, against the CA file named by `PGSSLROOTCERT`
/// if set, else the public roots; otherwise (no `sslmode`, or `disable`)
/// it is not encrypted. The error names the database without its password.
pub fn connect(target: &PgTarget) -> Result<postgres::Client, String> {
    let roots = std::env::var_os("PGSSLROOTCERT").map(std::path::PathBuf::from);
    connect_verifying(target, roots.as_deref())
}

/// [`connect`] with the CA file given rather than read from the environment.
pub fn connect_verifying(
    target: &PgTarget,
    ca_file: Option<&std::path::Path>,
) -> Result<postgres::Client, String> {
    let connected = match target.config.get_ssl_mode() {
        postgres::config::SslMode::Require => {
            let tls = tls(ca_file).map_err(|e| format!("{target}: {e}"))?;
            target.config.connect(tls)
        }
        _ => target.config.connect(postgres::NoTls),
    };
    connected.map_err(|e| format!("{target}: cannot connect: {}", error_text(&e)))
}

/// A rustls client that trusts `ca_file`'s certificates, or the public roots.
fn tls(
    ca_file: Option<&std::path::Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("PGSSLROOTCERT {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("PGSSLROOTCERT {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("PGSSLROOTCERT {}: {e}", path.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A PostgreSQL error as one line: the server's message when it sent one,
/// else the client's with its causes (a TLS handshake's says why).
pub fn error_text(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
