//! Fuzz targets for the import parsers (`cargo test` with a time budget:
//! `DBCREDS_FUZZ_SECS`, see the `dbcreds-fuzz` crate). Here rather than in
//! `fuzz/` because the CLI is binary-only. Every parser must take any input
//! without a panic, and what it takes in must be what the agent accepts:
//!
//! - `pgpass`: any file; and `render::pgpass` lines split back into the
//!   fields they were made of;
//! - `json`: any file; and `dbcreds export --format json` of any
//!   environment the agent could hold imports back as that environment
//!   (or is skipped for a reason the agent would also refuse it for);
//! - `python`: any `environments.json`, `metadata.json` and keyring blobs;
//! - `legacy`: any `DB_*` variables;
//! - the helpers: `parse_time`, `derive_name`, `is_masked`, `guess_kind`.

use std::collections::BTreeSet;

use chrono::{Datelike, TimeZone, Utc};
use dbcreds::model::{DatabaseKind, EnvName, Environment};
use dbcreds::render;
use dbcreds_fuzz::{Corpus, Gen, fuzz, model};
use secrecy::{ExposeSecret, SecretString};

use super::{Batch, derive_name, guess_kind, is_masked, json, legacy, parse_time, pgpass, python};
use crate::args::ExportFormat;

/// What every batch must satisfy: unique names, and entries the agent's
/// own checks accept.
fn check_batch(b: &Batch) -> bool {
    let mut names = BTreeSet::new();
    for e in &b.entries {
        assert!(
            names.insert(e.environment.name.to_string()),
            "two entries named {}",
            e.environment.name
        );
        dbcreds::edit::check_new(&e.environment, &e.password)
            .expect("an entry passes the agent's checks");
        assert!(!is_masked(e.password.expose_secret()));
    }
    !b.entries.is_empty()
}

#[test]
fn pgpass_file() {
    let seeds = [
        "db.internal:5432:app:app:s3cret\n",
        "# comment\n\nlocalhost:*:app:app:pw\r\n*:5432:*:app:pw\n",
        "h:5432:db:u:pa\\:ss\\\\:ignored\nh:5432:db:u:other\n",
        "h:65536:db:u:pw\nh:0:db:u:pw\nh:x:db:u:pw\nh:5432:db:u:\n",
        "h\\*:5432:d\\*:u:pw\\",
        "é:5432:😀:ß:pw\n::::\n:::\n",
    ];
    let dict = [
        ":",
        "\\",
        "\\:",
        "*",
        "#",
        "\n",
        "\r\n",
        "5432",
        "localhost",
        "::",
        "é",
    ];
    fuzz("import::pgpass_file", Corpus::text(&seeds, &dict), |b| {
        let text = String::from_utf8_lossy(b);
        let batch = pgpass::parse(&text);
        for e in &batch.entries {
            assert_eq!(e.environment.kind, DatabaseKind::Postgres);
        }
        check_batch(&batch)
    });
}

#[test]
fn pgpass_round_trip() {
    let seeds = vec![vec![0; 32], vec![1; 128], (0..=255).collect()];
    fuzz(
        "import::pgpass_round_trip",
        Corpus::bytes(seeds, &[]),
        |b| {
            let mut g = Gen::new(b);
            let env = model::environment(&mut g);
            let pw = g.string(100);
            let line = render::pgpass(&env, &pw);
            let fields = pgpass::split_line(&line).expect("five fields");
            let want = [
                env.host.as_str(),
                &env.port.to_string(),
                &env.database,
                &env.username,
                &pw,
            ];
            for (got, want) in fields.iter().zip(want) {
                assert_eq!(got.as_str(), want, "in {line:?}");
            }
            true
        },
    );
}

#[test]
fn json_file() {
    let seeds = [
        r#"{"name": "prod", "kind": "postgres", "host": "db", "port": 5432, "database": "app",
            "username": "app", "password": "pw", "options": {"sslmode": "require", "n": 1, "b": true, "x": null},
            "production": true, "description": "d", "expires_days": 90,
            "password_updated_at": "2025-01-01T00:00:00Z"}"#,
        r#"[{"name": "a", "host": "h", "user": "u", "password": "p", "port": "6543", "expires_days": "never"},
            {"name": "a", "host": "h", "user": "u", "password": "p"}, 3, null]"#,
        r#"{"environments": [{"name": "l", "kind": "sqlite", "database": "/x.db", "port": {}},
            {"name": "Bad Name", "password": "x"}, {"name": "m", "kind": "mysql", "host": " ", "password": "**"}]}"#,
        r#"{"name": "t", "host": "h", "username": "u", "password": "p", "password_updated_at": -8334601228800,
            "expires_days": 36501}"#,
        r#"{"name": "t", "host": "h", "username": "u", "password": "p", "password_updated_at": 9223372036854775807,
            "port": 18446744073709551616, "expires_days": -1}"#,
        r#"{"environments": 5}"#,
    ];
    let dict = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "null",
        "true",
        "false",
        "0",
        "-1",
        "1e999",
        "\"name\"",
        "\"kind\"",
        "\"type\"",
        "\"host\"",
        "\"port\"",
        "\"database\"",
        "\"username\"",
        "\"user\"",
        "\"password\"",
        "\"options\"",
        "\"production\"",
        "\"description\"",
        "\"expires_days\"",
        "\"password_updated_at\"",
        "\"environments\"",
        "\"never\"",
        "\"sqlite\"",
        "\"postgres\"",
        "\"\\u0000\"",
        "\"\\ud800\"",
    ];
    fuzz("import::json_file", Corpus::text(&seeds, &dict), |b| {
        let text = String::from_utf8_lossy(b);
        match json::parse(&text) {
            Ok(batch) => check_batch(&batch),
            Err(e) => {
                let _ = e.to_string();
                false
            }
        }
    });
}

/// `dbcreds export --format json` of an environment, imported again.
#[test]
fn json_round_trip() {
    let seeds = vec![
        vec![0; 32],
        vec![1; 128],
        vec![0x41; 300],
        (0..=255).collect(),
    ];
    fuzz("import::json_round_trip", Corpus::bytes(seeds, &[]), |b| {
        let mut g = Gen::new(b);
        let mut env = model::environment(&mut g);
        // What the agent can hold: a server's port is never 0; the parts
        // an export leaves out are not compared.
        if env.kind.has_server() && env.port == 0 {
            env.port = 1;
        }
        env.created_at = None;
        env.updated_at = None;
        env.last_test = None;
        env.rotation = None;
        env.expires_days = env.expires_days.filter(|d| *d > 0);
        if g.bool() {
            // Mostly a plausible password age, compared exactly below.
            env.password_updated_at = Utc
                .timestamp_opt(1_000_000_000 + i64::from(g.u32()), 0)
                .single();
        }
        let pw = g.string(100);
        // A SQLite file with a password logs in with it (as `add` and
        // `import` make it).
        if !env.kind.has_server() && !pw.is_empty() {
            env.auth = dbcreds::Auth::Password;
        }
        let out = crate::commands::export::render_export(&env, &pw, ExportFormat::Json)
            .expect("JSON encodes");
        let batch = json::parse(&out).expect("an export is a JSON object");
        assert_eq!(batch.entries.len() + batch.skipped.len(), 1);

        let mut want = env.clone();
        want.host = want.host.trim().to_owned();
        if !want.kind.has_server() {
            want.port = 0;
        }
        let comparable_time = want
            .password_updated_at
            .is_none_or(|t| (1..=9999).contains(&t.year()));
        want.password_updated_at = want.password_updated_at.filter(|t| *t <= Utc::now());
        let password = SecretString::from(pw.clone());
        let needs_password = want.kind.has_server();
        let acceptable = !(is_masked(&pw) || pw.is_empty() && needs_password)
            && if want.kind.has_server() {
                !want.host.is_empty() && !want.username.is_empty()
            } else {
                !want.database.trim().is_empty()
            }
            && want.expires_days.is_none_or(|d| d <= 36_500)
            && dbcreds::edit::check_new(&want, &password).is_ok();
        match batch.entries.first() {
            Some(e) => {
                assert!(acceptable, "imported what the agent refuses: {want:?}");
                let mut got = e.environment.clone();
                if !comparable_time {
                    got.password_updated_at = want.password_updated_at;
                }
                assert_eq!(got, want);
                assert_eq!(e.password.expose_secret(), pw);
            }
            None => assert!(
                !acceptable,
                "skipped an acceptable export ({:?}): {want:?}",
                batch.skipped
            ),
        }
        acceptable
    });
}

/// Input: `environments.json`, then `metadata.json`, then one keyring blob
/// per environment, separated by the bytes FF FE.
#[test]
fn python_layout() {
    let seeds: Vec<Vec<u8>> = [
        &[
            r#"[{"name": "dev", "database_type": "postgresql", "description": null, "is_production": false,
                "created_at": "2025-05-31 13:09:48.123456", "updated_at": "2025-05-31 13:09:48.123456"},
               {"name": "prod", "database_type": "mysql", "is_production": "yes"}]"#,
            r#"{"dbcreds:prod": {"host": "m", "port": 3306, "database": "d", "username": "u"}}"#,
            r#"{"username": "app", "password": "pw", "host": "localhost", "port": 5432, "database": "app",
                "options": {"a": 1}, "ssl_mode": "require", "password_updated_at": "2026-05-01T10:00:00.5",
                "password_expires_at": "2026-07-30T10:00:00.5"}"#,
            "bare-password",
        ][..],
        &[
            r#"{"x": {"database_type": "oracle"}, "y": {"name": "Y Y", "database_type": "sqlserver"}}"#,
            "",
            r#"{"username": "u", "password": "p", "host": "h", "port": "1521", "password_expires_at": -8334601228800}"#,
            r#"{"username": "u", "password": "**********", "host": "h", "password_expires_days": "40000"}"#,
        ][..],
        &[
            r#"[{"name": "a", "database_type": "sqlite"}, {"name": "a"}, 7, {"name": null}]"#,
            "[]",
            r#"{"password": "p", "database": "/x.db", "password_updated_at": 9223372036854775807,
                "password_expires_at": -9223372036854775808}"#,
        ][..],
    ]
    .iter()
    .map(|parts| {
        let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
        parts.join(&[0xff, 0xfe][..])
    })
    .collect();
    // UTF-16LE blobs, as the Windows backend wrote them.
    let mut seeds = seeds;
    let mut utf16 = br#"[{"name": "w"}]"#.to_vec();
    utf16.extend([0xff, 0xfe, 0xff, 0xfe]);
    utf16.extend(
        "{\"password\": \"p\", \"host\": \"h\", \"username\": \"u\"}\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    seeds.push(utf16);
    let dict: &[&[u8]] = &[
        b"\"name\"",
        b"\"database_type\"",
        b"\"postgresql\"",
        b"\"mysql\"",
        b"\"sqlite\"",
        b"\"is_production\"",
        b"\"username\"",
        b"\"password\"",
        b"\"host\"",
        b"\"port\"",
        b"\"database\"",
        b"\"options\"",
        b"\"ssl_mode\"",
        b"\"password_updated_at\"",
        b"\"password_expires_at\"",
        b"\"password_expires_days\"",
        b"\"dbcreds:",
        b"null",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\xff\xfe",
        b"\0",
        b"\x00\xd8",
    ];
    fuzz("import::python_layout", Corpus::bytes(seeds, dict), |b| {
        let mut parts = split(b, &[0xff, 0xfe]);
        let envs = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let meta = parts
            .next()
            .map(|m| String::from_utf8_lossy(m).into_owned());
        let blobs: Vec<&[u8]> = parts.collect();
        let Ok(layout) = python::Layout::parse(&envs, meta.as_deref()) else {
            return false;
        };
        let names = layout.names();
        let batch = layout.resolve(|n| {
            let i = names.iter().position(|x| x == n)?;
            blobs.get(i).map(|b| b.to_vec())
        });
        for e in &batch.entries {
            assert!(names.contains(&e.environment.name));
        }
        check_batch(&batch)
    });
}

fn split<'a>(mut b: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    std::iter::from_fn(move || {
        if b.is_empty() {
            return None;
        }
        match b.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                let head = &b[..i];
                b = &b[i + sep.len()..];
                Some(head)
            }
            None => Some(std::mem::take(&mut b)),
        }
    })
}

const LEGACY_VARS: &[&str] = &[
    "DB_SERVER",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PWD",
    "DB_PWD_EXPIRY",
    "DB_PWD_DATE",
];

#[test]
fn legacy_variables() {
    let seeds = vec![vec![1; 32], vec![2; 32], vec![0; 16], (0..=255).collect()];
    let values = [
        "db.internal",
        "mysql-host",
        "5432",
        "3306",
        "0",
        "65536",
        "app",
        "pw",
        "**********",
        "90",
        "never",
        "36501",
        "2025-05-31",
        "2025-05-31 13:09:48",
        "2999-01-01",
        "-262143-01-01",
        " ",
    ];
    fuzz("import::legacy_variables", Corpus::bytes(seeds, &[]), |b| {
        let mut g = Gen::new(b);
        let vals: Vec<Option<String>> = LEGACY_VARS
            .iter()
            .map(|_| match g.below(3) {
                0 => None,
                1 => Some(g.pick(&values).to_owned()),
                _ => Some(g.string(80)),
            })
            .collect();
        let name = model::name(&mut g);
        let kind = g.bool().then(|| g.pick(&DatabaseKind::ALL));
        let batch = legacy::parse(
            |k| {
                LEGACY_VARS
                    .iter()
                    .position(|v| *v == k)
                    .and_then(|i| vals[i].clone())
            },
            &name,
            kind,
        );
        assert_eq!(batch.entries.len() + batch.skipped.len(), 1);
        if let Some(e) = batch.entries.first() {
            assert_eq!(e.environment.name, name);
            if let Some(k) = kind {
                assert_eq!(e.environment.kind, k);
            }
        }
        check_batch(&batch)
    });
}

/// The shared helpers on any text.
#[test]
fn helpers() {
    let seeds = [
        "2025-05-31T13:09:48.123456",
        "2025-05-31 13:09:48",
        "2025-05-31T13:09:48+02:00",
        "2025-05-31 13:09:48.5-05:00",
        "2025-05-31",
        "+262142-12-31T23:59:59Z",
        "-262143-01-01",
        "Prod DB (EU)!",
        "ÄÖÜ \u{212a}",
        "**********",
        "SecretStr('**********')",
        "mariadb.internal",
    ];
    let dict = [
        "-", ":", "T", " ", ".", "+", "Z", "00", "59", "60", "2025", "9999", "*", "•",
    ];
    fuzz("import::helpers", Corpus::text(&seeds, &dict), |b| {
        let s = String::from_utf8_lossy(b);
        let t = parse_time(&s);
        if let Some(n) = derive_name(&s) {
            // A derived name is valid and derives to itself.
            assert_eq!(EnvName::parse(n.as_str()).ok().as_ref(), Some(&n));
            assert_eq!(derive_name(n.as_str()).as_ref(), Some(&n));
        }
        let _ = is_masked(&s);
        let _ = guess_kind(s.trim().parse().ok(), &s);
        let env = Environment::new(EnvName::parse("x").unwrap(), DatabaseKind::Postgres);
        let _ = env.expiry(t.unwrap_or_else(Utc::now));
        t.is_some()
    });
}

/// The panic `python_layout` found: `password_expires_at` at the start of
/// chrono's range and no `password_updated_at` (`DateTime - TimeDelta`
/// overflowed in `expiry`).
#[test]
fn python_expiry_at_the_start_of_time() {
    for at in [
        "-8334601228800",
        "\"-262143-01-01\"",
        "-9223372036854775808",
    ] {
        let layout =
            python::Layout::parse(r#"[{"name": "x", "database_type": "oracle"}]"#, None).unwrap();
        let blob = format!(
            r#"{{"username": "u", "password": "p", "host": "h", "password_expires_at": {at}}}"#
        );
        let batch = layout.resolve(|_| Some(blob.clone().into_bytes()));
        assert_eq!(batch.entries.len(), 1, "{at}: {:?}", batch.skipped);
    }
}
