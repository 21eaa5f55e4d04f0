//! The Python dbcreds layout (dbcreds 2.x, a Typer CLI over the OS keyring).
//!
//! It kept two things:
//!
//! - `~/.dbcreds/environments.json`: a JSON array of environments, each
//!   `{"name", "database_type", "description", "is_production",
//!   "created_at", "updated_at"}` (pydantic's `model_dump()` through
//!   `json.dump(..., default=str)`: `database_type` is `postgresql`,
//!   `mysql`, `oracle`, `mssql` or `sqlite`; times are naive UTC);
//! - per environment, an OS keyring entry with service `dbcreds` and user
//!   `dbcreds:<name>` whose secret is a JSON object: `username`, `password`
//!   and the credential's other fields (`host`, `port`, `database`,
//!   `options`, `ssl_mode`, `password_updated_at`, `password_expires_at`).
//!   Some versions stored the masked `**********` in place of the password,
//!   and the oldest stored the bare password; then `~/.dbcreds/metadata.json`
//!   (keyed `dbcreds:<name>`) may hold the other fields.
//!
//! Real files hold odd values (a port as a string, a missing field, an
//! unknown `database_type`, a masked password): each environment is taken
//! or skipped on its own, with notes and reasons, and nothing panics.
//!
//! The keyring is read by the agent (the CLI links no keyring code); this
//! module only says which entries to read ([`Layout::names`]) and turns what
//! came back into a [`Batch`] ([`Layout::resolve`]).

use chrono::{DateTime, Duration, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

pub use dbcreds::legacy::{KEYRING_SERVICE, keyring_user};

use super::json::{plain_options, text};
use super::{Batch, Skipped, SourceError, finish, parse_time, password_time};
use dbcreds::model::{
    DEFAULT_EXPIRES_DAYS, DatabaseKind, EnvName, Environment, check_port, parse_port,
};

/// One environment of `environments.json`.
#[derive(Debug, Clone)]
struct PyEnv {
    name: EnvName,
    kind: DatabaseKind,
    description: String,
    production: bool,
    origin: String,
    notes: Vec<String>,
}

/// The parsed `environments.json` (and `metadata.json`, when there is one).
#[derive(Debug, Clone)]
pub struct Layout {
    envs: Vec<PyEnv>,
    skipped: Vec<Skipped>,
    metadata: Map<String, Value>,
}

impl Layout {
    /// Parses `environments.json` (and `metadata.json`). Fails only when
    /// `environments.json` is not JSON or not a list (or map) of
    /// environments; a bad environment is skipped with the reason, and an
    /// unreadable `metadata.json` is ignored (it only fills gaps).
    pub fn parse(
        environments_json: &str,
        metadata_json: Option<&str>,
    ) -> Result<Self, SourceError> {
        let what = "environments.json";
        let doc: Value = serde_json::from_str(environments_json)
            .map_err(|e| SourceError::new(what, format!("it is not valid JSON ({e})")))?;
        // The tool wrote a list; a map keyed by name is taken too.
        let items: Vec<(Option<String>, Value)> = match doc {
            Value::Array(a) => a.into_iter().map(|v| (None, v)).collect(),
            Value::Object(m) => m.into_iter().map(|(k, v)| (Some(k), v)).collect(),
            _ => {
                return Err(SourceError::new(
                    what,
                    "it holds neither a list nor a map of environments",
                ));
            }
        };
        let metadata = metadata_json
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .and_then(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .unwrap_or_default();
        let mut layout = Layout {
            envs: Vec::new(),
            skipped: Vec::new(),
            metadata,
        };
        for (i, (key, item)) in items.into_iter().enumerate() {
            match environment(i, key, item) {
                Ok(env) => {
                    if let Some(first) = layout.envs.iter().find(|e| e.name == env.name) {
                        let why = format!("{} has the same name", first.origin);
                        layout.skipped.push(Skipped::new(
                            Some(env.name.to_string()),
                            env.origin,
                            why,
                        ));
                    } else {
                        layout.envs.push(env);
                    }
                }
                Err(s) => layout.skipped.push(s),
            }
        }
        Ok(layout)
    }

    /// The environments whose keyring entries should be read (service
    /// [`KEYRING_SERVICE`], user [`keyring_user`]).
    pub fn names(&self) -> Vec<EnvName> {
        self.envs.iter().map(|e| e.name.clone()).collect()
    }

    /// Builds the batch from the keyring secrets: `secret(name)` is the
    /// secret of `dbcreds:<name>`, or `None` when there is no such entry.
    pub fn resolve(&self, secret: impl Fn(&EnvName) -> Option<Vec<u8>>) -> Batch {
        self.resolve_at(secret, Utc::now())
    }

    fn resolve_at(
        &self,
        secret: impl Fn(&EnvName) -> Option<Vec<u8>>,
        now: DateTime<Utc>,
    ) -> Batch {
        let mut batch = Batch {
            entries: Vec::new(),
            skipped: self.skipped.clone(),
        };
        for env in &self.envs {
            let blob = secret(&env.name).map(Zeroizing::new);
            let meta = self
                .metadata
                .get(&keyring_user(&env.name))
                .and_then(Value::as_object);
            batch.push(credential(
                env,
                blob.as_deref().map(Vec::as_slice),
                meta,
                now,
            ));
        }
        batch
    }
}

/// The kind for a `database_type`, also as Python may have spelled it
/// (`DatabaseType.POSTGRESQL`).
fn kind(raw: &str) -> Option<DatabaseKind> {
    let t = raw.trim();
    let t = t.strip_prefix("DatabaseType.").unwrap_or(t);
    t.parse().ok()
}

fn environment(i: usize, key: Option<String>, item: Value) -> Result<PyEnv, Skipped> {
    let origin = format!("environments.json entry {}", i + 1);
    let Value::Object(m) = item else {
        return Err(Skipped::new(key, origin, "it is not a JSON object"));
    };
    let raw_name = text(&m, "name").or(key);
    let skip = |why: String| Skipped::new(raw_name.clone(), origin.clone(), why);
    let name = match &raw_name {
        Some(n) => EnvName::parse(n).map_err(|e| skip(e.to_string()))?,
        None => return Err(skip("it has no \"name\"".into())),
    };
    let mut notes = Vec::new();
    let kind = match text(&m, "database_type") {
        Some(t) => kind(&t).ok_or_else(|| {
            skip(format!(
                "unknown database_type '{t}': dbcreds knows postgres, mysql, mariadb, sqlite, mssql, oracle, snowflake"
            ))
        })?,
        None => {
            notes.push("no database_type: taken as postgres".into());
            DatabaseKind::Postgres
        }
    };
    let production = match m.get("is_production") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1"),
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    };
    Ok(PyEnv {
        origin: format!("environment '{name}'"),
        name,
        kind,
        description: text(&m, "description").unwrap_or_default(),
        production,
        notes,
    })
}

fn credential(
    py: &PyEnv,
    blob: Option<&[u8]>,
    meta: Option<&Map<String, Value>>,
    now: DateTime<Utc>,
) -> Result<super::Entry, Skipped> {
    let skip = |why: String| Skipped::new(Some(py.name.to_string()), py.origin.clone(), why);
    let user = keyring_user(&py.name);
    let Some(blob) = blob else {
        // The tool as it shipped never managed to write its keyring entry,
        // but metadata.json kept everything else: that much comes in,
        // waiting for its password.
        if let Some(meta) = meta.filter(|m| m.contains_key("host") || m.contains_key("database")) {
            return metadata_only(py, meta, now);
        }
        return Err(skip(format!(
            "no keyring entry (service '{KEYRING_SERVICE}', user '{user}') and no metadata.json \
             entry: its password was never stored there or was removed; add it with `dbcreds add {}`",
            py.name
        )));
    };
    let Some(text_blob) = blob_text(blob) else {
        return Err(skip(format!("the keyring entry '{user}' is not text")));
    };
    let text_blob = text_blob.as_str();
    let mut notes = py.notes.clone();
    // Fields: metadata.json first, the keyring's JSON over it.
    let mut fields: Map<String, Value> = meta.cloned().unwrap_or_default();
    let password = match serde_json::from_str::<Value>(text_blob) {
        Ok(Value::Object(m)) => {
            let pw = match m.get("password") {
                Some(Value::String(s)) => Zeroizing::new(s.clone()),
                Some(Value::Null) | None => {
                    return Err(skip(format!(
                        "the keyring entry '{user}' holds no password"
                    )));
                }
                Some(_) => {
                    return Err(skip(format!(
                        "the keyring entry '{user}' holds a password that is not a string"
                    )));
                }
            };
            fields.extend(m.into_iter().filter(|(k, _)| k != "password"));
            pw
        }
        // The oldest format: the bare password.
        _ => {
            if fields.is_empty() {
                notes.push(format!(
                    "the keyring entry '{user}' is a bare password and there is no metadata.json entry for it"
                ));
            }
            Zeroizing::new(text_blob.to_owned())
        }
    };

    let env = fields_env(py, &fields, now, &mut notes).map_err(skip)?;
    finish(
        env,
        SecretString::from(password.as_str()),
        py.origin.clone(),
        notes,
    )
}

/// An environment from `metadata.json` alone: every field but the
/// password, which `dbcreds update NAME --password` gives it later.
fn metadata_only(
    py: &PyEnv,
    meta: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<super::Entry, Skipped> {
    let skip = |why: String| Skipped::new(Some(py.name.to_string()), py.origin.clone(), why);
    let mut notes = py.notes.clone();
    let mut env = fields_env(py, meta, now, &mut notes).map_err(skip)?;
    if env.kind.has_server() {
        env.password_missing = true;
        notes.push(format!(
            "needs a password (the Python tool kept none): run `dbcreds update {} --password`",
            py.name
        ));
    }
    finish(env, SecretString::from(""), py.origin.clone(), notes)
}

/// The environment `fields` (metadata.json and the keyring's JSON) describe.
fn fields_env(
    py: &PyEnv,
    fields: &Map<String, Value>,
    now: DateTime<Utc>,
    notes: &mut Vec<String>,
) -> Result<Environment, String> {
    let mut env = Environment::new(py.name.clone(), py.kind);
    env.production = py.production;
    env.description = if py.description.is_empty() {
        "Imported from Python dbcreds".into()
    } else {
        py.description.clone()
    };
    // No default host: a credential without one names no server.
    env.host = text(fields, "host").unwrap_or_default();
    if py.kind.has_server() {
        match fields.get("port") {
            Some(Value::Number(n)) => {
                let p = n.as_u64().and_then(|p| u32::try_from(p).ok()).unwrap_or(0);
                env.port = check_port(p).map_err(|e| e.to_string())?;
            }
            Some(Value::String(s)) => {
                env.port = parse_port(s).map_err(|e| e.to_string())?;
                notes.push(format!("port \"{s}\" was a string"));
            }
            Some(Value::Null) | None => {
                notes.push(format!(
                    "no port: the {} default {} applies",
                    py.kind, env.port
                ));
            }
            Some(other) => return Err(format!("invalid port {other}: use a number")),
        }
    }
    env.database = text(fields, "database").unwrap_or_default();
    env.username = text(fields, "username").unwrap_or_default();
    plain_options(&mut env, fields.get("options"), notes);
    if let Some(mode) = text(fields, "ssl_mode").filter(|m| !m.is_empty()) {
        env.options.entry("sslmode".into()).or_insert(mode);
    }
    expiry(&mut env, fields, now, notes);
    Ok(env)
}

/// The entry's text: UTF-8 (python-keyring on Linux and macOS), else
/// UTF-16LE (what the tool's Windows Credential Manager backend wrote),
/// without trailing NULs.
fn blob_text(blob: &[u8]) -> Option<Zeroizing<String>> {
    if let Ok(t) = std::str::from_utf8(blob) {
        return Some(Zeroizing::new(t.trim_end_matches('\0').to_owned()));
    }
    if !blob.len().is_multiple_of(2) {
        return None;
    }
    let units: Zeroizing<Vec<u16>> = Zeroizing::new(
        blob.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect(),
    );
    String::from_utf16(&units)
        .ok()
        .map(|t| Zeroizing::new(t.trim_end_matches('\0').to_owned()))
}

/// A time field: a string in any of the old spellings, or Unix seconds.
fn time_field(
    fields: &Map<String, Value>,
    key: &str,
    now: DateTime<Utc>,
    notes: &mut Vec<String>,
) -> Option<DateTime<Utc>> {
    match fields.get(key)? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => password_time(s, key, now, notes),
        Value::Number(n) => n.as_i64().and_then(|s| Utc.timestamp_opt(s, 0).single()),
        _ => None,
    }
}

/// Password age and policy. The tool stored `password_expires_at`
/// (`password_updated_at` + the policy's days, or null for "never");
/// its legacy backends stored `password_expires_days`.
fn expiry(
    env: &mut Environment,
    fields: &Map<String, Value>,
    now: DateTime<Utc>,
    notes: &mut Vec<String>,
) {
    let updated = time_field(fields, "password_updated_at", now, notes);
    env.password_updated_at = updated;
    if let Some(v) = fields.get("password_expires_days") {
        match v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(0) => env.expires_days = None,
            Some(d) if d <= 36_500 => env.expires_days = u32::try_from(d).ok(),
            _ => notes.push(format!(
                "password_expires_days {v} is not a number of days: the default {DEFAULT_EXPIRES_DAYS} applies"
            )),
        }
        return;
    }
    match fields.get("password_expires_at") {
        // No key at all (a bare-password entry): the default policy.
        None => {}
        Some(Value::Null) => env.expires_days = None,
        Some(Value::String(s)) if s.trim().is_empty() => env.expires_days = None,
        Some(v) => {
            let at = match v {
                Value::String(s) => parse_time(s),
                Value::Number(n) => n.as_i64().and_then(|s| Utc.timestamp_opt(s, 0).single()),
                _ => None,
            };
            match (at, updated) {
                (Some(at), Some(upd)) if at > upd => {
                    // Whole days, rounded: 89 days 23 hours is a 90-day policy.
                    let days = ((at - upd).num_hours() + 12) / 24;
                    env.expires_days = u32::try_from(days.clamp(1, 36_500)).ok();
                }
                (Some(at), None) => {
                    // Checked: a time at the start of chrono's range has no
                    // 90 days before it (found by fuzzing: it panicked).
                    let set = at.checked_sub_signed(Duration::days(i64::from(DEFAULT_EXPIRES_DAYS)));
                    if let Some(set) = set.filter(|set| *set <= now) {
                        env.password_updated_at = Some(set);
                        notes.push(format!(
                            "no password_updated_at: taken as {DEFAULT_EXPIRES_DAYS} days before password_expires_at"
                        ));
                    }
                }
                _ => notes.push(format!(
                    "password_expires_at {v} cannot be read against password_updated_at: the default {DEFAULT_EXPIRES_DAYS} days apply"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests;
