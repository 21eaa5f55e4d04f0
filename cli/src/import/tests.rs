//! Unit tests of `import`.

use super::*;

#[test]
fn names_are_derived_safely() {
    assert_eq!(derive_name("app").unwrap().as_str(), "app");
    assert_eq!(derive_name("--A__b..c--").unwrap().as_str(), "a__b-c");
    assert_eq!(derive_name(&"x".repeat(80)).unwrap().as_str().len(), 50);
    assert_eq!(derive_name("é-db").unwrap().as_str(), "db");
    assert!(derive_name("").is_none());
    assert!(derive_name("...").is_none());
}

#[test]
fn times_in_every_old_spelling() {
    let want = Utc.with_ymd_and_hms(2025, 5, 31, 13, 9, 48).unwrap();
    for s in [
        "2025-05-31T13:09:48Z",
        "2025-05-31T13:09:48+00:00",
        "2025-05-31T15:09:48+02:00",
        "2025-05-31T13:09:48",
        "2025-05-31 13:09:48",
        "2025-05-31 13:09:48+00:00",
        " 2025-05-31T13:09:48.000 ",
    ] {
        assert_eq!(parse_time(s), Some(want), "{s}");
    }
    assert_eq!(
        parse_time("2025-05-31"),
        Some(Utc.with_ymd_and_hms(2025, 5, 31, 0, 0, 0).unwrap())
    );
    assert_eq!(parse_time(""), None);
    assert_eq!(parse_time("31/05/2025"), None);
}

#[test]
fn future_times_count_from_now() {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut notes = Vec::new();
    assert_eq!(password_time("2030-01-01", "x", now, &mut notes), None);
    assert!(notes[0].contains("future"));
    assert!(password_time("2025-01-01", "x", now, &mut notes).is_some());
    assert_eq!(password_time("soon", "x", now, &mut notes), None);
    assert!(notes[1].contains("not a date"));
}

#[test]
fn masks_are_recognised() {
    assert!(is_masked("**********"));
    assert!(is_masked(" *** "));
    assert!(is_masked("SecretStr('**********')"));
    assert!(!is_masked(""));
    assert!(!is_masked("pa**word"));
}

#[test]
fn finish_checks_what_the_agent_checks() {
    let env = |kind| {
        let mut e = Environment::new(EnvName::parse("x").unwrap(), kind);
        e.username = "u".into();
        e
    };
    let ok = finish(env(DatabaseKind::Postgres), "pw".into(), "o".into(), vec![]);
    assert!(ok.is_ok());
    let r = |e, pw: &str| {
        finish(e, pw.into(), "o".into(), vec![])
            .err()
            .map(|s| s.reason)
            .unwrap_or_default()
    };
    assert!(r(env(DatabaseKind::Postgres), "").contains("no password"));
    assert!(r(env(DatabaseKind::Postgres), "****").contains("mask"));
    assert!(r(env(DatabaseKind::Postgres), &"x".repeat(5000)).contains("4096"));
    let mut no_host = env(DatabaseKind::Postgres);
    no_host.host = " ".into();
    assert!(r(no_host, "pw").contains("no host"));
    let mut no_user = env(DatabaseKind::Mysql);
    no_user.username.clear();
    assert!(r(no_user, "pw").contains("no user"));
    assert!(r(env(DatabaseKind::Sqlite), "pw").contains("file path"));
    let mut lite = env(DatabaseKind::Sqlite);
    lite.database = "/srv/app.db".into();
    assert!(finish(lite, "".into(), "o".into(), vec![]).is_ok());
}

#[test]
fn example_module() {
    use crate::import::pgpass;
    let batch = pgpass::parse("db.internal:5432:app:app:s3cret\n*:*:*:admin:x\n");
    assert_eq!(batch.entries.len(), 1);
    assert_eq!(batch.entries[0].environment.name.as_str(), "app");
    assert!(batch.skipped[0].reason.contains("wildcard"));
}

#[test]
fn example_entry() {
    use crate::import::pgpass;
    let entry = &pgpass::parse("h:5432:db:u:pw\n").entries[0];
    assert_eq!(entry.origin, "line 1");
    assert!(!format!("{entry:?}").contains("pw\""));
}

#[test]
fn example_skipped() {
    use crate::import::pgpass;
    let skipped = &pgpass::parse("only:three:fields\n").skipped[0];
    assert_eq!(skipped.origin, "line 1");
    assert!(skipped.reason.contains("fields"));
}

#[test]
fn example_new() {
    let s = crate::import::Skipped::new(Some("prod".into()), "line 2", "no password");
    assert_eq!(s.name.as_deref(), Some("prod"));
}

#[test]
fn example_batch() {
    let batch = crate::import::Batch::default();
    assert!(batch.entries.is_empty() && batch.skipped.is_empty());
}

#[test]
fn example_rename() {
    use crate::import::pgpass;
    let mut batch = pgpass::parse("h:5432:app:u:pw\n");
    batch.rename(&"prod".parse().unwrap()).unwrap();
    assert_eq!(batch.entries[0].environment.name.as_str(), "prod");

    let mut two = pgpass::parse("h:5432:a:u:pw\nh:5432:b:u:pw\n");
    assert!(two.rename(&"prod".parse().unwrap()).is_err());
}

#[test]
fn example_sourceerror() {
    let err = crate::import::json::parse("not json").unwrap_err();
    assert!(err.to_string().contains("not valid JSON"));
}

#[test]
fn example_derive_name() {
    use crate::import::derive_name;
    assert_eq!(derive_name("My App.DB").unwrap().as_str(), "my-app-db");
    assert!(derive_name("***").is_none());
}

#[test]
fn example_parse_time() {
    use crate::import::parse_time;
    let t = parse_time("2025-05-31 13:09:48.123456").unwrap();
    assert_eq!(t.to_rfc3339(), "2025-05-31T13:09:48.123456+00:00");
    assert!(parse_time("2025-05-31").is_some());
    assert!(parse_time("yesterday").is_none());
}

#[test]
fn example_is_masked() {
    assert!(crate::import::is_masked("**********"));
    assert!(!crate::import::is_masked("a*b"));
}

#[test]
fn example_guess_kind() {
    use dbcreds::DatabaseKind;
    assert_eq!(guess_kind(Some(3306), "db"), DatabaseKind::Mysql);
    assert_eq!(guess_kind(None, "mariadb.internal"), DatabaseKind::Mariadb);
    assert_eq!(guess_kind(Some(6000), "db"), DatabaseKind::Postgres);
}
