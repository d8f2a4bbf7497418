//! The PostgreSQL test harness itself (support/pg.rs): the server it starts
//! answers, gives each test a database of its own, listens on 127.0.0.1
//! only and runs without fsync; a server of its own goes when dropped.

use crate::support::pg;

#[test]
fn the_shared_server_answers() {
    let Some(pg) = pg::shared("the_shared_server_answers") else {
        return;
    };
    assert_eq!(pg.psql(&pg.url("postgres"), "SELECT 1"), "1");
    assert_eq!(
        pg.url("postgres"),
        format!("postgresql://postgres@127.0.0.1:{}/postgres", pg.port())
    );
}

#[test]
fn each_created_database_is_fresh_and_its_own() {
    let Some(pg) = pg::shared("each_created_database_is_fresh_and_its_own") else {
        return;
    };
    let a = pg.create_database("Each created database: A!");
    let b = pg.create_database("Each created database: A!");
    assert_ne!(a, b);
    let name = |url: &str| url.rsplit('/').next().unwrap().to_string();
    for url in [&a, &b] {
        let database = name(url);
        assert!(database.len() <= 60, "{database}");
        assert!(
            database
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{database}"
        );
        assert_eq!(pg.psql(url, "SELECT current_database()"), database);
    }
    pg.psql(&a, "CREATE TABLE contact (id int PRIMARY KEY, name text)");
    pg.psql(&a, "INSERT INTO contact VALUES (1, 'Ada')");
    assert_eq!(pg.psql(&a, "SELECT id, name FROM contact"), "1|Ada");
    assert_eq!(pg.psql(&b, "SELECT to_regclass('contact') IS NULL"), "t");
    let long = pg.create_database(&"x".repeat(100));
    assert!(name(&long).len() <= 60, "{long}");
    assert_eq!(pg.psql(&long, "SELECT 2"), "2");
}

#[test]
fn the_server_listens_on_localhost_only_without_fsync() {
    let Some(pg) = pg::shared("the_server_listens_on_localhost_only_without_fsync") else {
        return;
    };
    let url = pg.url("postgres");
    assert_eq!(pg.psql(&url, "SHOW listen_addresses"), "127.0.0.1");
    assert_eq!(pg.psql(&url, "SHOW fsync"), "off");
    assert_eq!(pg.psql(&url, "SHOW synchronous_commit"), "off");
    assert_eq!(pg.psql(&url, "SHOW full_page_writes"), "off");
    assert_eq!(
        pg.psql(&url, "SELECT inet_server_addr()::text"),
        "127.0.0.1/32"
    );
}

#[test]
fn a_server_of_its_own_is_gone_when_dropped() {
    let Some(server) = pg::start("a_server_of_its_own_is_gone_when_dropped") else {
        return;
    };
    let url = server.url("postgres");
    assert_eq!(server.psql(&url, "SELECT 1"), "1");
    let dir = server.dir().to_path_buf();
    let port = server.port();
    drop(server);
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on {port}"
    );
}
