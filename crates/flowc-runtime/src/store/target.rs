//! Where the data is: `--db` names a SQLite file or a PostgreSQL URL
//! (DESIGN.md §10). The password comes from the URL or `PGPASSWORD` and is
//! never shown: every message names the database by [`Target`]'s `Display`,
//! which leaves it out.

use std::fmt;
use std::path::PathBuf;

/// A database flowc is pointed at.
#[derive(Clone, Debug)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres(Box<PgTarget>),
}

/// A PostgreSQL server and database, ready to connect to.
#[derive(Clone)]
pub struct PgTarget {
    pub config: postgres::Config,
    /// The URL without its password.
    shown: String,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgTarget({})", self.shown)
    }
}

impl Target {
    /// A `postgres://` or `postgresql://` URL, or else a SQLite file path.
    pub fn parse(text: &str) -> Result<Target, String> {
        let lower = text.to_ascii_lowercase();
        if !(lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
            return Ok(Target::Sqlite(PathBuf::from(text)));
        }
        // The scheme in lower case (the client's parser wants it so).
        let scheme_end = text.find("://").unwrap_or(0);
        let normal = format!("{}{}", &lower[..scheme_end], &text[scheme_end..]);
        let mut config: postgres::Config = normal.parse().map_err(|e| {
            format!(
                "{}: not a PostgreSQL URL ({e}); expected postgresql://USER@HOST:PORT/DATABASE",
                redact(text)
            )
        })?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        Ok(Target::Postgres(Box::new(PgTarget {
            shown: shown(&config),
            config,
        })))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Sqlite(path) => write!(f, "{}", path.display()),
            Target::Postgres(pg) => write!(f, "{pg}"),
        }
    }
}

impl fmt::Display for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// `postgresql://USER@HOST:PORT/DATABASE`, without the password.
fn shown(config: &postgres::Config) -> String {
    use postgres::config::Host;
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    let database = config.get_dbname().unwrap_or_default();
    format!("postgresql://{user}{}/{database}", hosts.join(","))
}

/// A URL that could not be parsed, with anything between `:` and `@` of
/// its authority hidden (it may be a password).
fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{user}:…@{host}")
        }
        None => authority.to_string(),
    };
    format!("{scheme}://{authority}/{path}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_path_is_a_sqlite_file_and_a_url_a_server() {
        assert!(
            matches!(Target::parse("crm.sqlite"), Ok(Target::Sqlite(p)) if p == Path::new("crm.sqlite"))
        );
        let Ok(Target::Postgres(pg)) = Target::parse("postgresql://sales@db.example.jp:6543/crm")
        else {
            panic!("a PostgreSQL URL");
        };
        assert_eq!(pg.to_string(), "postgresql://sales@db.example.jp:6543/crm");
        assert!(matches!(
            Target::parse("POSTGRES://u@h/d"),
            Ok(Target::Postgres(_))
        ));
    }

    /// The password is used, never shown, not even in a parse error.
    #[test]
    fn the_password_is_never_shown() {
        let Ok(Target::Postgres(pg)) = Target::parse("postgresql://sales:s3cret@db:5432/crm")
        else {
            panic!("a PostgreSQL URL");
        };
        assert_eq!(pg.config.get_password(), Some(&b"s3cret"[..]));
        assert!(!pg.to_string().contains("s3cret"), "{pg}");
        assert!(!format!("{pg:?}").contains("s3cret"));
        let err = Target::parse("postgresql://sales:s3cret@db:notaport/crm")
            .err()
            .unwrap_or_default();
        assert!(err.contains("not a PostgreSQL URL"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
