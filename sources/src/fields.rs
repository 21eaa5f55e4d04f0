//! What a fetch brings back, and reading seed 001's JSON shape into it.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;

/// A credential from a source.
#[derive(Debug)]
pub struct Fetched {
    pub password: SecretString,
    /// Non-secret fields the secret carried, by dbcreds' names: `kind`,
    /// `host`, `port`, `database`, `username`, and driver options
    /// (`sslmode`, ...) under their own names. The agent fills only what
    /// the environment does not set.
    pub fields: BTreeMap<String, String>,
    /// A Vault lease to renew and revoke (dynamic credentials).
    pub lease: Option<Lease>,
    /// How long the agent may serve it from memory before fetching again:
    /// the lease duration, a static role's ttl, an IAM token's 15 minutes
    /// (less a margin), a command's `cache_for`; `None` for the agent's
    /// default (KV secrets, Secrets Manager).
    pub valid_for: Option<Duration>,
    /// The source's version of the secret (KV version, AWS VersionId), for
    /// `show` and the audit log; never secret.
    pub version: Option<String>,
}

/// A lease the source gave with a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `database/creds/app-ro/xEPD...`: a handle, not a secret, but the
    /// audit log records only [`Lease::suffix`].
    pub id: String,
    pub renewable: bool,
    pub duration: Duration,
}

impl Lease {
    /// The last 6 characters of the id, like Vault's accessors in logs.
    pub fn suffix(&self) -> &str {
        let n = self.id.len();
        self.id.get(n.saturating_sub(6)..).unwrap_or("")
    }
}

/// The names a password may have in a secret, in order of preference (the
/// `NoPassword` message lists them).
const PASSWORD_NAMES: [&str; 3] = ["password", "pass", "secret"];

/// Other names of dbcreds' fields, as Vault users and AWS's RDS secrets
/// spell them.
const ALIASES: [(&str, &[&str]); 5] = [
    ("host", &["host", "hostname", "address"]),
    ("port", &["port"]),
    ("database", &["database", "dbname", "db"]),
    ("username", &["username", "user"]),
    ("kind", &["engine", "kind", "type"]),
];

/// Reads a JSON object of seed 001's shape: `host`, `port`, `database` or
/// `dbname`, `user` or `username`, `password`, `engine` or `kind`, and any
/// other string field as a driver option. Fails when there is no password.
pub fn from_json_object(
    obj: &serde_json::Map<String, serde_json::Value>,
    what: &str,
) -> Result<(SecretString, BTreeMap<String, String>), crate::SourceError> {
    let password = PASSWORD_NAMES
        .iter()
        .find_map(|k| obj.get(*k).and_then(scalar))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| crate::SourceError::NoPassword {
            what: what.to_owned(),
        })?;
    let mut fields = BTreeMap::new();
    for (name, aliases) in ALIASES {
        if let Some(v) = aliases.iter().find_map(|k| obj.get(*k).and_then(scalar)) {
            let v = if name == "kind" {
                normalise_kind(&v)
            } else {
                v
            };
            fields.insert(name.to_owned(), v);
        }
    }
    for (k, v) in obj {
        let known = PASSWORD_NAMES.contains(&k.as_str())
            || ALIASES.iter().any(|(_, a)| a.contains(&k.as_str()));
        // Only strings become driver options: a nested object or a number
        // under an unknown name is not something a driver takes.
        if let (false, serde_json::Value::String(s)) = (known, v) {
            fields.insert(k.clone(), s.clone());
        }
    }
    Ok((SecretString::from(password), fields))
}

/// A string, or a number written as one (`"port": 5432`).
fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// RDS and Vault name engines their own way; dbcreds knows `postgres`,
/// `mysql` and `mariadb`. Anything else is kept as written, for the agent
/// to reject with its own message.
fn normalise_kind(v: &str) -> String {
    match v.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" | "aurora-postgresql" | "pg" => "postgres".into(),
        "mysql" | "aurora-mysql" | "aurora" => "mysql".into(),
        "mariadb" => "mariadb".into(),
        other => other.to_owned(),
    }
}

/// Overwrites every string in a parsed JSON value (secrets read from a
/// source), before it is dropped: serde_json's strings do not zeroize
/// themselves.
pub(crate) fn zeroize_json(v: &mut serde_json::Value) {
    use zeroize::Zeroize;
    match v {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(a) => a.iter_mut().for_each(zeroize_json),
        serde_json::Value::Object(m) => m.values_mut().for_each(zeroize_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;
    use crate::SourceError;

    fn read(v: serde_json::Value) -> Result<(SecretString, BTreeMap<String, String>), SourceError> {
        match v {
            serde_json::Value::Object(m) => from_json_object(&m, "secret/db/prod"),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn rds_shape() {
        let (pw, f) = read(
            json!({"engine": "aurora-postgresql", "host": "db.example", "port": 5432,
            "dbname": "app", "username": "app_user", "password": "pw1"}),
        )
        .unwrap();
        assert_eq!(pw.expose_secret(), "pw1");
        assert_eq!(f["kind"], "postgres");
        assert_eq!(f["host"], "db.example");
        assert_eq!(f["port"], "5432");
        assert_eq!(f["database"], "app");
        assert_eq!(f["username"], "app_user");
        assert_eq!(f.len(), 5);
    }

    #[test]
    fn aliases_and_options() {
        let (pw, f) = read(
            json!({"pass": "p", "hostname": "h", "port": "3306", "db": "d",
            "user": "u", "kind": "aurora-mysql", "sslmode": "require", "nested": {"a": 1}, "n": 3}),
        )
        .unwrap();
        assert_eq!(pw.expose_secret(), "p");
        assert_eq!(f["kind"], "mysql");
        assert_eq!(f["host"], "h");
        assert_eq!(f["port"], "3306");
        assert_eq!(f["database"], "d");
        assert_eq!(f["username"], "u");
        assert_eq!(f["sslmode"], "require");
        assert!(!f.contains_key("nested") && !f.contains_key("n") && !f.contains_key("pass"));
    }

    #[test]
    fn preferred_names_win() {
        let (pw, f) = read(
            json!({"secret": "s", "password": "p", "address": "a", "host": "h",
            "type": "mariadb"}),
        )
        .unwrap();
        assert_eq!(pw.expose_secret(), "p");
        assert_eq!(f["host"], "h");
        assert_eq!(f["kind"], "mariadb");
        // The unused alias is not repeated as a driver option.
        assert!(!f.contains_key("address") && !f.contains_key("secret"));
    }

    #[test]
    fn no_password() {
        let e = read(json!({"username": "u", "password": ""})).unwrap_err();
        assert!(matches!(e, SourceError::NoPassword { ref what } if what == "secret/db/prod"));
        assert!(e.to_string().contains("password, pass, secret"));
        assert!(matches!(
            read(json!({})),
            Err(SourceError::NoPassword { .. })
        ));
    }
}
