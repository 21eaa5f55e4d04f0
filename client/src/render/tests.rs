//! Unit tests of the renderers.

use super::*;
use crate::model::EnvName;

fn pg() -> Environment {
    let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
    env.host = "db.internal".into();
    env.database = "app".into();
    env.username = "app".into();
    env
}

#[test]
fn uri_encodes_every_reserved_character() {
    let u = uri(&pg(), Some("a@b:c/d?e#f%g h"));
    assert_eq!(
        u,
        "postgresql://app:a%40b%3Ac%2Fd%3Fe%23f%25g%20h@db.internal:5432/app"
    );
}

#[test]
fn uri_carries_options_and_ipv6() {
    let mut env = pg();
    env.host = "::1".into();
    env.options.insert("sslmode".into(), "require".into());
    assert_eq!(
        uri(&env, None),
        "postgresql://app@[::1]:5432/app?sslmode=require"
    );
}

#[test]
fn pgpass_escapes_backslash_and_colon() {
    assert_eq!(pgpass(&pg(), r"x\y:z"), r"db.internal:5432:app:app:x\\y\:z");
}

#[test]
fn libpq_quotes_empty_and_spaces() {
    let mut env = pg();
    env.database = String::new();
    let s = libpq(&env, "a b");
    assert!(s.contains("dbname='' "));
    assert!(s.contains("password='a b'"));
}

#[test]
fn client_env_per_kind() {
    let mut env = pg();
    env.options.insert("sslmode".into(), "verify-full".into());
    env.options.insert("sslcert".into(), "/c.pem".into());
    env.options.insert("unknown".into(), "x".into());
    let vars = client_env(&env, "pw");
    let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("PGHOST"), Some("db.internal"));
    assert_eq!(get("PGPORT"), Some("5432"));
    assert_eq!(get("PGDATABASE"), Some("app"));
    assert_eq!(get("PGUSER"), Some("app"));
    assert_eq!(get("PGSSLMODE"), Some("verify-full"));
    assert_eq!(get("PGSSLCERT"), Some("/c.pem"));
    assert!(
        get("DATABASE_URL")
            .unwrap()
            .starts_with("postgresql://app:pw@")
    );
    for (k, _) in &vars {
        assert!(CLIENT_ENV_VARS.contains(&k.as_str()), "{k} not listed");
    }

    let mut my = Environment::new(EnvName::parse("shop").unwrap(), DatabaseKind::Mariadb);
    my.host = "127.0.0.1".into();
    my.username = "web".into();
    let vars = client_env(&my, "p w");
    assert_eq!(
        vars[1..],
        [
            ("MYSQL_HOST".to_string(), "127.0.0.1".to_string()),
            ("MYSQL_TCP_PORT".to_string(), "3306".to_string()),
            ("MYSQL_PWD".to_string(), "p w".to_string()),
        ]
    );
    let lite = Environment::new(EnvName::parse("l").unwrap(), DatabaseKind::Sqlite);
    assert_eq!(client_env(&lite, "x").len(), 1);
}

#[test]
fn option_file_quotes_and_tls() {
    let mut my = Environment::new(EnvName::parse("shop").unwrap(), DatabaseKind::Mysql);
    my.username = "we\"b\\".into();
    my.options.insert("sslrootcert".into(), "/ca.pem".into());
    my.options
        .insert("ssl-mode".into(), "verify_identity".into());
    let cnf = mysql_option_file(&my);
    assert!(cnf.contains("user=\"we\\\"b\\\\\"\n"), "{cnf}");
    assert!(cnf.contains("ssl-ca=\"/ca.pem\"\n"), "{cnf}");
    assert!(cnf.contains("loose-ssl-mode=VERIFY_IDENTITY\n"), "{cnf}");
    assert!(
        cnf.ends_with("[client-mariadb]\nssl\nssl-verify-server-cert\n"),
        "{cnf}"
    );
    my.kind = DatabaseKind::Mariadb;
    my.options.insert("ssl-mode".into(), "disabled".into());
    let cnf = mysql_option_file(&my);
    assert!(!cnf.contains("loose-ssl-mode"), "{cnf}");
    assert!(cnf.ends_with("[client-mariadb]\nskip-ssl\n"), "{cnf}");
}
