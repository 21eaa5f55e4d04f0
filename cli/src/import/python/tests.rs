//! Unit tests of `import::python`.

use super::*;
use secrecy::ExposeSecret;
use std::collections::HashMap;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

/// environments.json as the Python tool wrote it.
const ENVS: &str = r#"[
  {"name": "dev", "database_type": "postgresql", "description": null,
   "is_production": false, "created_at": "2025-05-31 13:09:48.123456",
   "updated_at": "2025-05-31 13:09:48.123456"},
  {"name": "prod", "database_type": "mysql", "description": "Main shop",
   "is_production": true, "created_at": "2025-05-31 13:09:48.123456",
   "updated_at": "2025-05-31 13:09:48.123456"}
]"#;

fn resolve(envs: &str, meta: Option<&str>, secrets: &[(&str, &str)]) -> Batch {
    let map: HashMap<String, Vec<u8>> = secrets
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect();
    Layout::parse(envs, meta)
        .unwrap()
        .resolve_at(|n| map.get(n.as_str()).cloned(), now())
}

#[test]
fn the_tools_own_layout() {
    let b = resolve(
        ENVS,
        None,
        &[
            (
                "dev",
                r#"{"username": "app", "password": "dev-pw", "environment": "dev",
                    "host": "localhost", "port": 5432, "database": "app", "options": {},
                    "ssl_mode": "require", "password_updated_at": "2026-05-01T10:00:00.5",
                    "password_expires_at": "2026-07-30T10:00:00.5"}"#,
            ),
            (
                "prod",
                r#"{"username": "shop", "password": "prod-pw", "host": "db.internal",
                    "port": "3306", "database": "shop", "password_updated_at": "2026-05-01 10:00:00",
                    "password_expires_at": null}"#,
            ),
        ],
    );
    assert!(b.skipped.is_empty(), "{:?}", b.skipped);
    let dev = &b.entries[0];
    assert_eq!(dev.environment.kind, DatabaseKind::Postgres);
    assert_eq!(dev.password.expose_secret(), "dev-pw");
    assert_eq!(dev.environment.options["sslmode"], "require");
    assert_eq!(dev.environment.expires_days, Some(90));
    assert_eq!(
        dev.environment
            .password_updated_at
            .map(|t| t.timestamp_millis()),
        Some(
            Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0)
                .unwrap()
                .timestamp_millis()
                + 500
        )
    );
    assert_eq!(dev.environment.description, "Imported from Python dbcreds");
    let prod = &b.entries[1];
    assert_eq!(prod.environment.kind, DatabaseKind::Mysql);
    assert!(prod.environment.production);
    assert_eq!(prod.environment.description, "Main shop");
    assert_eq!(prod.environment.port, 3306);
    assert!(prod.notes.iter().any(|n| n.contains("was a string")));
    assert_eq!(prod.environment.expires_days, None);
}

#[test]
fn masked_missing_and_odd_entries_are_reported() {
    let envs = r#"[
      {"name": "masked", "database_type": "postgresql"},
      {"name": "gone", "database_type": "postgresql"},
      {"name": "db2", "database_type": "db2"},
      {"name": "Bad Name", "database_type": "postgresql"},
      {"database_type": "postgresql"},
      "not an object",
      {"name": "noport", "database_type": "DatabaseType.POSTGRESQL"},
      {"name": "badport", "database_type": "postgresql"},
      {"name": "binary", "database_type": "postgresql"},
      {"name": "nohost", "database_type": "postgresql"},
      {"name": "MASKED", "database_type": "postgresql"}
    ]"#;
    let b = resolve(
        envs,
        None,
        &[
            (
                "masked",
                r#"{"username": "u", "password": "**********", "host": "h", "port": 5432}"#,
            ),
            (
                "noport",
                r#"{"username": "u", "password": "pw", "host": "h"}"#,
            ),
            (
                "badport",
                r#"{"username": "u", "password": "pw", "host": "h", "port": "fivefour"}"#,
            ),
            ("nohost", r#"{"username": "u", "password": "pw"}"#),
        ],
    );
    let mut binary = Layout::parse(envs, None).unwrap().resolve_at(
        |n| (n.as_str() == "binary").then(|| vec![0x00, 0xd8]),
        now(),
    );
    let r: Vec<String> = b
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.name.clone().unwrap_or_default(), s.reason))
        .collect();
    let has = |prefix: &str, word: &str| {
        assert!(
            r.iter().any(|l| l.starts_with(prefix) && l.contains(word)),
            "{prefix} / {word}: {r:#?}"
        )
    };
    has("db2: ", "unknown database_type 'db2'");
    has("Bad Name: ", "invalid environment name");
    has(": ", "no \"name\"");
    has(": ", "not a JSON object");
    has("masked: ", "mask");
    has(
        "gone: ",
        "no keyring entry (service 'dbcreds', user 'dbcreds:gone')",
    );
    has("badport: ", "invalid port 'fivefour'");
    has("nohost: ", "no host");
    has("masked: ", "same name");
    assert!(
        binary
            .skipped
            .drain(..)
            .any(|s| s.reason.contains("not text"))
    );
    assert_eq!(b.entries.len(), 1);
    let e = &b.entries[0];
    assert_eq!(e.environment.name.as_str(), "noport");
    assert_eq!(e.environment.port, 5432);
    assert!(e.notes.iter().any(|n| n.contains("no port")));
}

#[test]
fn bare_passwords_use_metadata_json() {
    let meta = r#"{"dbcreds:dev": {"username": "app", "host": "db", "port": 6432,
                    "database": "app", "password_updated_at": "2026-05-01T00:00:00",
                    "password_expires_at": "2026-05-31T00:00:00"}}"#;
    let b = resolve(ENVS, Some(meta), &[("dev", "just-the-password")]);
    let dev = &b.entries[0];
    assert_eq!(dev.password.expose_secret(), "just-the-password");
    assert_eq!(dev.environment.port, 6432);
    assert_eq!(dev.environment.username, "app");
    assert_eq!(dev.environment.expires_days, Some(30));
    // prod has no keyring entry.
    assert!(b.skipped[0].reason.contains("no keyring entry"));
    // An unreadable metadata.json is ignored, not fatal.
    assert!(Layout::parse(ENVS, Some("{")).is_ok());
}

#[test]
fn expiry_variants() {
    let one = r#"[{"name": "x", "database_type": "postgresql"}]"#;
    let run = |blob: &str| {
        let b = resolve(one, None, &[("x", blob)]);
        assert_eq!(b.entries.len(), 1, "{:?}", b.skipped);
        let e = &b.entries[0];
        (
            e.environment.expires_days,
            e.environment.password_updated_at,
            e.notes.clone(),
        )
    };
    let base = r#""username": "u", "password": "pw", "host": "h""#;
    let (d, _, _) = run(&format!("{{{base}, \"password_expires_days\": 45}}"));
    assert_eq!(d, Some(45));
    let (d, _, _) = run(&format!("{{{base}, \"password_expires_days\": \"0\"}}"));
    assert_eq!(d, None);
    let (d, u, n) = run(&format!(
        "{{{base}, \"password_expires_at\": \"2026-07-01T00:00:00\"}}"
    ));
    assert_eq!(d, Some(90));
    assert_eq!(u, Some(Utc.with_ymd_and_hms(2026, 4, 2, 0, 0, 0).unwrap()));
    assert!(n.iter().any(|n| n.contains("90 days before")));
    let (d, u, n) = run(&format!(
        "{{{base}, \"password_updated_at\": \"garbage\", \"password_expires_at\": \"also garbage\"}}"
    ));
    assert_eq!((d, u), (Some(90), None));
    assert!(n.iter().any(|n| n.contains("not a date")));
    let (d, _, _) = run(&format!("{{{base}}}"));
    assert_eq!(d, Some(90));
}

#[test]
fn utf16_entries_from_windows_are_read() {
    let one = r#"[{"name": "x", "database_type": "postgresql"}]"#;
    let json = r#"{"username": "u", "password": "pä", "host": "h"}"#;
    let mut blob: Vec<u8> = json.encode_utf16().flat_map(u16::to_le_bytes).collect();
    blob.extend([0, 0]);
    let b = Layout::parse(one, None)
        .unwrap()
        .resolve_at(|_| Some(blob.clone()), now());
    assert_eq!(b.entries[0].password.expose_secret(), "pä");
    assert!(blob_text(&[0xff]).is_none());
}

#[test]
fn environments_json_shapes() {
    assert!(Layout::parse("3", None).is_err());
    let l = Layout::parse(r#"{"qa": {"database_type": "sqlite"}}"#, None).unwrap();
    assert_eq!(l.names()[0].as_str(), "qa");
    let b = l.resolve_at(
        |_| Some(br#"{"password": "pw", "database": "/srv/qa.db"}"#.to_vec()),
        now(),
    );
    assert_eq!(b.entries[0].environment.kind, DatabaseKind::Sqlite);
}

#[test]
fn example_module() {
    use crate::import::python::Layout;
    let layout = Layout::parse(
        r#"[{"name": "Prod", "database_type": "postgresql",
        "is_production": true}]"#,
        None,
    )
    .unwrap();
    assert_eq!(layout.names()[0].as_str(), "prod");
    let blob = br#"{"username": "app", "password": "pw", "host": "db", "port": 5432,
        "database": "app", "password_updated_at": "2026-01-01T00:00:00",
        "password_expires_at": "2026-03-02T00:00:00"}"#;
    let batch = layout.resolve(|_| Some(blob.to_vec()));
    let env = &batch.entries[0].environment;
    assert!(env.production);
    assert_eq!(env.expires_days, Some(60));
}

#[test]
fn example_keyring_user() {
    let name = "prod".parse().unwrap();
    assert_eq!(crate::import::python::keyring_user(&name), "dbcreds:prod");
}

#[test]
fn example_parse() {
    use crate::import::python::Layout;
    assert!(Layout::parse("{oops", None).is_err());
    let l = Layout::parse(r#"[{"name": "x", "database_type": "db2"}]"#, None).unwrap();
    assert!(l.names().is_empty());
}
