//! The legacy variables of the PowerShell profile the Python dbcreds
//! migrated from: `DB_SERVER`, `DB_PORT`, `DB_NAME`, `DB_USER`, `DB_PWD`,
//! and optionally `DB_PWD_EXPIRY` (days; `0` or `never` for no expiry) and
//! `DB_PWD_DATE` (when the password was set).
//!
//! They describe one environment. Its name is the caller's choice; the
//! `dbcreds import --from env` command uses `default`, the name the Python
//! tool's `dbcreds-migrate` gave it. Its kind is the caller's, else guessed
//! from the port and host name as `dbcreds-migrate` did ([`super::guess_kind`]).

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::{Batch, Skipped, finish, guess_kind, password_time};
use dbcreds::model::{DatabaseKind, EnvName, Environment, parse_port};

/// Reads the variables through `var` into an environment called `name`,
/// of `kind` when given (else guessed).
pub fn parse(
    var: impl Fn(&str) -> Option<String>,
    name: &EnvName,
    kind: Option<DatabaseKind>,
) -> Batch {
    parse_at(var, name, kind, Utc::now())
}

fn parse_at(
    var: impl Fn(&str) -> Option<String>,
    name: &EnvName,
    kind: Option<DatabaseKind>,
    now: DateTime<Utc>,
) -> Batch {
    let mut batch = Batch::default();
    let origin = "DB_* variables".to_owned();
    let skip = |why: String| Skipped::new(Some(name.to_string()), origin.clone(), why);
    // An empty variable counts as unset, as in the Python tool.
    let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
    let missing: Vec<&str> = ["DB_SERVER", "DB_NAME", "DB_USER", "DB_PWD"]
        .into_iter()
        .filter(|k| get(k).is_none())
        .collect();
    if !missing.is_empty() {
        batch.skipped.push(skip(format!(
            "{} {} not set (want DB_SERVER, DB_NAME, DB_USER, DB_PWD, and optionally DB_PORT, DB_PWD_EXPIRY, DB_PWD_DATE)",
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        )));
        return batch;
    }
    let host = get("DB_SERVER").unwrap_or_default();
    let mut notes = Vec::new();
    let port = match get("DB_PORT") {
        Some(p) => match parse_port(&p) {
            Ok(p) => Some(p),
            Err(e) => {
                batch.skipped.push(skip(format!("DB_PORT: {e}")));
                return batch;
            }
        },
        None => None,
    };
    let kind = kind.unwrap_or_else(|| {
        let k = guess_kind(port, &host);
        notes.push(format!(
            "kind {k} guessed from {}: pass --kind to choose another",
            match port {
                Some(p) => format!("port {p} and host '{host}'"),
                None => format!("host '{host}'"),
            }
        ));
        k
    });
    let mut env = Environment::new(name.clone(), kind);
    env.host = host;
    if let Some(p) = port.filter(|_| kind.has_server()) {
        env.port = p;
    }
    env.database = get("DB_NAME").unwrap_or_default();
    env.username = get("DB_USER").unwrap_or_default();
    env.description = "Imported from DB_* variables".into();
    if let Some(raw) = get("DB_PWD_EXPIRY") {
        let t = raw.trim();
        if t.eq_ignore_ascii_case("never") {
            env.expires_days = None;
        } else {
            match t.parse::<u32>() {
                Ok(0) => env.expires_days = None,
                Ok(d) if d <= 36_500 => env.expires_days = Some(d),
                _ => notes.push(format!(
                    "DB_PWD_EXPIRY '{raw}' is not a number of days: the default of {} days applies",
                    dbcreds::model::DEFAULT_EXPIRES_DAYS
                )),
            }
        }
    }
    if let Some(raw) = get("DB_PWD_DATE") {
        env.password_updated_at = password_time(&raw, "DB_PWD_DATE", now, &mut notes);
    }
    let password = SecretString::from(get("DB_PWD").unwrap_or_default());
    batch.push(finish(env, password, origin, notes));
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn run(pairs: &[(&str, &str)], kind: Option<DatabaseKind>) -> Batch {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        parse_at(
            |k| map.get(k).cloned(),
            &EnvName::parse("default").unwrap(),
            kind,
            now,
        )
    }

    const FULL: [(&str, &str); 7] = [
        ("DB_SERVER", "sql.internal"),
        ("DB_PORT", "3306"),
        ("DB_NAME", "shop"),
        ("DB_USER", "web"),
        ("DB_PWD", "s3cret"),
        ("DB_PWD_EXPIRY", "30"),
        ("DB_PWD_DATE", "2026-05-01"),
    ];

    #[test]
    fn every_variable() {
        let b = run(&FULL, None);
        let e = &b.entries[0];
        let env = &e.environment;
        assert_eq!(env.kind, DatabaseKind::Mysql);
        assert!(e.notes[0].contains("guessed from port 3306"));
        assert_eq!(
            (env.host.as_str(), env.port, env.database.as_str()),
            ("sql.internal", 3306, "shop")
        );
        assert_eq!(env.username, "web");
        assert_eq!(e.password.expose_secret(), "s3cret");
        assert_eq!(env.expires_days, Some(30));
        assert_eq!(
            env.password_updated_at,
            Some(Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn kind_given_and_port_defaulted() {
        let b = run(
            &[
                ("DB_SERVER", "h"),
                ("DB_NAME", "d"),
                ("DB_USER", "u"),
                ("DB_PWD", "p"),
            ],
            Some(DatabaseKind::Mariadb),
        );
        let e = &b.entries[0];
        assert_eq!(e.environment.port, 3306);
        assert!(e.notes.is_empty());
    }

    #[test]
    fn missing_and_bad_values() {
        let b = run(&[("DB_SERVER", "h"), ("DB_PWD", " ")], None);
        assert!(
            b.skipped[0]
                .reason
                .starts_with("DB_NAME, DB_USER, DB_PWD are not set"),
            "{:?}",
            b.skipped
        );
        let mut bad_port = FULL;
        bad_port[1] = ("DB_PORT", "99999");
        assert!(run(&bad_port, None).skipped[0].reason.contains("DB_PORT"));
        let mut never = FULL;
        never[5] = ("DB_PWD_EXPIRY", "0");
        assert_eq!(run(&never, None).entries[0].environment.expires_days, None);
        let mut odd = FULL;
        odd[5] = ("DB_PWD_EXPIRY", "soon");
        odd[6] = ("DB_PWD_DATE", "2099-01-01");
        let b = run(&odd, None);
        let e = &b.entries[0];
        assert_eq!(e.environment.expires_days, Some(90));
        assert!(e.notes.iter().any(|n| n.contains("DB_PWD_EXPIRY 'soon'")));
        assert!(e.notes.iter().any(|n| n.contains("future")));
        assert_eq!(e.environment.password_updated_at, None);
        let mut masked = FULL;
        masked[4] = ("DB_PWD", "********");
        assert!(run(&masked, None).skipped[0].reason.contains("mask"));
    }

    #[test]
    fn example_module() {
        use crate::import::legacy;
        let vars = [
            ("DB_SERVER", "db"),
            ("DB_PORT", "5432"),
            ("DB_NAME", "app"),
            ("DB_USER", "app"),
            ("DB_PWD", "pw"),
        ];
        let batch = legacy::parse(
            |k| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            },
            &"default".parse().unwrap(),
            None,
        );
        assert_eq!(batch.entries[0].environment.database, "app");
    }

    #[test]
    fn example_parse() {
        use crate::import::legacy;
        let batch = legacy::parse(|_| None, &"default".parse().unwrap(), None);
        assert!(batch.skipped[0].reason.contains("DB_SERVER"));
    }
}
