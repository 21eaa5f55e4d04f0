//! JSON files: what `dbcreds export --format json` writes (one object), an
//! array of such objects, or `{"environments": [...]}`.
//!
//! Keys read: `name` and `password` (required), `kind` (default postgres),
//! `host`, `port` (a number or a string of one; default: the kind's),
//! `database`, `username` (or `user`), `options` (an object; numbers and
//! booleans become strings), `production`, `description`, `expires_days`
//! (a number, `0`, `null` or `"never"` for no expiry; absent: 90) and
//! `password_updated_at` (RFC 3339, or Unix seconds). Other keys (`uri`,
//! `expiry`, ...) are ignored. Each object is checked on its own: a bad one
//! is skipped with the reason, the others still come in.

use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{Map, Value};

use super::{Batch, Entry, Skipped, SourceError, finish, password_time};
use dbcreds::model::{DatabaseKind, EnvName, Environment, check_port, parse_port};

/// Reads a whole JSON document. Fails only when it is not JSON or holds no
/// objects at all; bad objects are skipped with the reason.
#[cfg(test)]
pub fn parse(text: &str) -> Result<Batch, SourceError> {
    parse_at(text, None, Utc::now())
}

/// [`parse`], with `name` for an object that has no `"name"` (the shape
/// of a secret in a secret store: `host`, `port`, `database`, `user`,
/// `password`).
pub fn parse_named(text: &str, name: Option<&EnvName>) -> Result<Batch, SourceError> {
    parse_at(text, name, Utc::now())
}

fn parse_at(text: &str, name: Option<&EnvName>, now: DateTime<Utc>) -> Result<Batch, SourceError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| SourceError::new("the JSON file", format!("it is not valid JSON ({e})")))?;
    let items: Vec<Value> = match doc {
        Value::Array(items) => items,
        Value::Object(mut m) => match m.remove("environments") {
            Some(Value::Array(items)) => items,
            Some(_) => {
                return Err(SourceError::new(
                    "the JSON file",
                    "\"environments\" is not an array",
                ));
            }
            None => vec![Value::Object(m)],
        },
        _ => {
            return Err(SourceError::new(
                "the JSON file",
                "it holds neither an object nor an array of objects (as `dbcreds export --format json` writes)",
            ));
        }
    };
    let mut batch = Batch::default();
    for (i, item) in items.into_iter().enumerate() {
        let origin = format!("object {}", i + 1);
        batch.push(match item {
            Value::Object(m) => object(&m, origin, name, now),
            _ => Err(Skipped::new(None, origin, "it is not a JSON object")),
        });
    }
    batch.drop_duplicate_names();
    Ok(batch)
}

/// A string field; numbers and booleans are taken as their text.
pub(super) fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Copies an `options` object into `env.options`: strings as they are,
/// numbers and booleans as their text, nulls skipped; anything else is left
/// out with a note.
pub(super) fn plain_options(
    env: &mut Environment,
    options: Option<&Value>,
    notes: &mut Vec<String>,
) {
    let Some(Value::Object(opts)) = options else {
        return;
    };
    for (k, v) in opts {
        match v {
            Value::String(s) => {
                env.options.insert(k.clone(), s.clone());
            }
            Value::Number(_) | Value::Bool(_) => {
                env.options.insert(k.clone(), v.to_string());
            }
            Value::Null => {}
            _ => notes.push(format!("option '{k}' is not a plain value: left out")),
        }
    }
}

fn object(
    m: &Map<String, Value>,
    origin: String,
    fallback: Option<&EnvName>,
    now: DateTime<Utc>,
) -> Result<Entry, Skipped> {
    let raw_name = text(m, "name").or_else(|| fallback.map(ToString::to_string));
    let skip = |why: String| Skipped::new(raw_name.clone(), origin.clone(), why);
    let name = match &raw_name {
        Some(n) => EnvName::parse(n).map_err(|e| skip(e.to_string()))?,
        None => {
            return Err(skip(
                "it has no \"name\": pass --name NAME to give it one".into(),
            ));
        }
    };
    let mut notes = Vec::new();
    // `engine` is the RDS secret's spelling.
    let kind = match text(m, "kind")
        .or_else(|| text(m, "type"))
        .or_else(|| text(m, "engine"))
    {
        Some(k) => k.parse::<DatabaseKind>().map_err(|e| skip(e.to_string()))?,
        None => {
            notes.push("no \"kind\": taken as postgres".into());
            DatabaseKind::Postgres
        }
    };
    let mut env = Environment::new(name, kind);
    // No default host: an object without one names no server.
    env.host = text(m, "host").unwrap_or_default();
    match m.get("port") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if kind.has_server() => {
            let p = n
                .as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(|| skip(format!("invalid port '{n}': use a number from 1 to 65535")))?;
            env.port = check_port(p).map_err(|e| skip(e.to_string()))?;
        }
        Some(Value::String(s)) if kind.has_server() => {
            env.port = parse_port(s).map_err(|e| skip(e.to_string()))?;
        }
        Some(_) if !kind.has_server() => {}
        Some(other) => return Err(skip(format!("invalid port {other}: use a number"))),
    }
    env.database = text(m, "database")
        .or_else(|| text(m, "dbname"))
        .unwrap_or_default();
    env.username = text(m, "username")
        .or_else(|| text(m, "user"))
        .unwrap_or_default();
    plain_options(&mut env, m.get("options"), &mut notes);
    env.production = match m.get("production") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1"),
        _ => false,
    };
    env.description = text(m, "description").unwrap_or_default();
    match m.get("expires_days") {
        None => {}
        Some(Value::Null) => env.expires_days = None,
        Some(v) => env.expires_days = expires_days(v).map_err(skip)?,
    }
    match m.get("password_updated_at") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => match n.as_i64().and_then(|s| Utc.timestamp_opt(s, 0).single()) {
            Some(t) if t <= now => env.password_updated_at = Some(t),
            _ => notes.push(format!(
                "password_updated_at {n} is not a past Unix time: the password's age counts from now"
            )),
        },
        Some(Value::String(s)) => {
            env.password_updated_at = password_time(s, "password_updated_at", now, &mut notes);
        }
        Some(other) => notes.push(format!(
            "password_updated_at {other} is not a date: the password's age counts from now"
        )),
    }
    if let Some(a) = text(m, "auth") {
        env.auth = a
            .parse()
            .map_err(|e: dbcreds::InvalidInput| skip(e.to_string()))?;
    }
    let password = match m.get("password") {
        Some(Value::String(s)) => SecretString::from(s.as_str()),
        // A SQLite file needs none, nor a login without a password.
        Some(Value::Null) | None if !kind.has_server() || !env.auth.uses_password() => {
            SecretString::from("")
        }
        Some(Value::Null) | None => return Err(skip("it has no \"password\"".into())),
        Some(_) => return Err(skip("\"password\" is not a string".into())),
    };
    finish(env, password, origin, notes)
}

/// `expires_days` as a JSON value: a whole number of days (0 = never),
/// `"never"`, or a string of a number.
fn expires_days(v: &Value) -> Result<Option<u32>, String> {
    let bad = || format!("invalid expires_days {v}: use a number of days, or \"never\"");
    let days = match v {
        Value::Number(n) => n.as_u64().ok_or_else(bad)?,
        Value::String(s) if s.eq_ignore_ascii_case("never") => return Ok(None),
        Value::String(s) => s.trim().parse::<u64>().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    match u32::try_from(days) {
        Ok(0) => Ok(None),
        Ok(d) if d <= 36_500 => Ok(Some(d)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn reads_what_export_writes() {
        let text = r#"{
          "name": "eu-prod", "kind": "postgres", "host": "db", "port": 5432,
          "database": "app", "username": "app", "password": "p@ss",
          "uri": "postgresql://app:p%40ss@db:5432/app",
          "options": {"sslmode": "require", "connect_timeout": 5, "x": null, "nested": {"a": 1}},
          "production": true, "description": "main", "expires_days": 30,
          "password_updated_at": "2026-05-01T00:00:00Z"
        }"#;
        let b = parse_at(text, None, now()).unwrap();
        let e = &b.entries[0];
        assert_eq!(e.environment.name.as_str(), "eu-prod");
        assert_eq!(e.password.expose_secret(), "p@ss");
        assert_eq!(e.environment.options["sslmode"], "require");
        assert_eq!(e.environment.options["connect_timeout"], "5");
        assert!(!e.environment.options.contains_key("x"));
        assert!(e.notes[0].contains("nested"));
        assert!(e.environment.production);
        assert_eq!(e.environment.expires_days, Some(30));
        assert_eq!(
            e.environment.password_updated_at,
            Some(Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn arrays_and_wrapped_arrays() {
        let one = r#"{"name": "a", "host": "h", "username": "u", "password": "pw"}"#;
        let b = parse_at(&format!("[{one}, 3]"), None, now()).unwrap();
        assert_eq!(b.entries.len(), 1);
        assert_eq!(b.skipped[0].reason, "it is not a JSON object");
        let b = parse_at(&format!("{{\"environments\": [{one}]}}"), None, now()).unwrap();
        assert_eq!(b.entries.len(), 1);
        assert!(parse_at("\"x\"", None, now()).is_err());
        assert!(parse_at("{\"environments\": 1}", None, now()).is_err());
        assert!(
            parse_at("{", None, now())
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn lenient_values() {
        let b = parse_at(
            r#"[
              {"name": "A", "host": "h", "port": "6432", "user": "u", "password": "pw", "expires_days": "never"},
              {"name": "b", "kind": "sqlite", "database": "/tmp/x.db", "port": 0, "expires_days": 0},
              {"name": "c", "host": "h", "username": "u", "password": "pw", "password_updated_at": 1700000000},
              {"name": "d", "host": "h", "username": "u", "password": "pw", "password_updated_at": "later"}
            ]"#,
            None,
            now(),
        )
        .unwrap();
        assert_eq!(b.skipped, vec![]);
        let a = &b.entries[0].environment;
        assert_eq!((a.name.as_str(), a.port, a.expires_days), ("a", 6432, None));
        assert!(b.entries[0].notes[0].contains("no \"kind\""));
        assert_eq!(b.entries[1].environment.kind, DatabaseKind::Sqlite);
        assert_eq!(b.entries[1].environment.expires_days, None);
        assert_eq!(
            b.entries[2]
                .environment
                .password_updated_at
                .map(|t| t.timestamp()),
            Some(1_700_000_000)
        );
        assert_eq!(b.entries[3].environment.password_updated_at, None);
        assert!(b.entries[3].notes.iter().any(|n| n.contains("not a date")));
    }

    #[test]
    fn bad_objects_are_skipped_with_reasons() {
        let b = parse_at(
            r#"[
              {"host": "h"},
              {"name": "a", "kind": "db2", "password": "pw"},
              {"name": "b", "host": "h", "port": 70000, "username": "u", "password": "pw"},
              {"name": "c", "host": "h", "port": "x", "username": "u", "password": "pw"},
              {"name": "d", "host": "h", "username": "u"},
              {"name": "e", "host": "h", "username": "u", "password": 5},
              {"name": "f", "host": "h", "username": "u", "password": "pw", "expires_days": -1},
              {"name": "g", "host": "h", "username": "u", "password": "**********"},
              {"name": "g", "host": "h", "username": "u", "password": "pw"},
              {"name": "g", "host": "h", "username": "u", "password": "pw2"}
            ]"#,
            None,
            now(),
        )
        .unwrap();
        let r: Vec<&str> = b.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert!(r[0].contains("no \"name\""), "{r:?}");
        assert!(r[1].contains("unknown database kind 'db2'"), "{r:?}");
        assert!(r[2].contains("invalid port '70000'"), "{r:?}");
        assert!(r[3].contains("invalid port 'x'"), "{r:?}");
        assert!(r[4].contains("no \"password\""), "{r:?}");
        assert!(r[5].contains("not a string"), "{r:?}");
        assert!(r[6].contains("expires_days"), "{r:?}");
        assert!(r[7].contains("mask"), "{r:?}");
        assert!(r[8].contains("taken by object 9"), "{r:?}");
        assert_eq!(b.entries.len(), 1);
    }

    #[test]
    fn a_secret_store_shape_takes_its_name_from_the_flag() {
        // Seed 001's shape, and the RDS secret's (engine, dbname).
        let seed =
            r#"{"host": "db", "port": 5432, "database": "app", "user": "app", "password": "pw"}"#;
        let name = EnvName::parse("prod").unwrap();
        let b = parse_at(seed, Some(&name), now()).unwrap();
        assert_eq!(b.skipped, vec![]);
        assert_eq!(b.entries[0].environment.name.as_str(), "prod");
        assert!(
            parse_at(seed, None, now()).unwrap().skipped[0]
                .reason
                .contains("--name")
        );
        let rds = r#"{"engine": "mysql", "host": "db", "port": 3306, "dbname": "shop", "username": "web", "password": "pw"}"#;
        let env = &parse_at(rds, Some(&name), now()).unwrap().entries[0].environment;
        assert_eq!(
            (env.kind, env.database.as_str()),
            (DatabaseKind::Mysql, "shop")
        );
        let cert = r#"{"name": "c", "host": "db", "username": "u", "auth": "cert",
            "options": {"sslcert": "/c.pem", "sslkey": "/k.pem"}}"#;
        let b = parse_at(cert, None, now()).unwrap();
        assert_eq!(b.entries[0].environment.auth, dbcreds::Auth::Cert);
    }

    #[test]
    fn example_module() {
        let batch = crate::import::json::parse(
            r#"{"name": "prod", "kind": "mariadb",
            "host": "db", "port": "3307", "database": "shop", "username": "web",
            "password": "pw", "password_updated_at": "2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let env = &batch.entries[0].environment;
        assert_eq!(env.port, 3307);
        assert!(env.password_updated_at.is_some());
    }

    #[test]
    fn example_parse() {
        let batch = crate::import::json::parse(
            r#"[{"name": "a", "host": "h",
            "username": "u", "password": "pw"}, {"name": "Bad Name!"}]"#,
        )
        .unwrap();
        assert_eq!(batch.entries.len(), 1);
        assert!(batch.skipped[0].reason.contains("invalid environment name"));
    }
}
