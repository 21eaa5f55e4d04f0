//! Bringing existing credentials in: pure parsers for the places users kept
//! them before dbcreds.
//!
//! - [`python`]: the Python dbcreds layout (`~/.dbcreds/environments.json`
//!   plus the keyring entries it wrote);
//! - [`legacy`]: the `DB_SERVER`/`DB_PORT`/`DB_NAME`/`DB_USER`/`DB_PWD`
//!   variables of the PowerShell profile the Python tool migrated from;
//! - [`pgpass`]: a libpq password file (`~/.pgpass`);
//! - [`json`]: what `dbcreds export --format json` writes, one object or an
//!   array of them.
//!
//! Each parser turns its input into a [`Batch`]: the [`Entry`]s that can
//! become environments and the [`Skipped`] ones with the reason. Nothing
//! here does I/O or talks to the agent, so every odd input is a unit test;
//! the `dbcreds import` command reads the files, asks the agent, and stores
//! the entries.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};

use dbcreds::InvalidInput;
use dbcreds::model::{DatabaseKind, EnvName, Environment, MAX_NAME_LEN};

pub mod json;
pub mod legacy;
pub mod pgpass;
pub mod python;

/// One environment a source yields, ready to be stored.
#[non_exhaustive]
pub struct Entry {
    /// The environment (its `password_updated_at` is set when the source
    /// knows the password's age).
    pub environment: Environment,
    /// The password.
    pub password: SecretString,
    /// Where in the source it came from (`line 3`, `environment 'prod'`).
    pub origin: String,
    /// Odd values that were accepted and how (a port given as a string, a
    /// guessed kind, an unreadable date).
    pub notes: Vec<String>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("environment", &self.environment)
            .field("password", &"[redacted]")
            .field("origin", &self.origin)
            .field("notes", &self.notes)
            .finish()
    }
}

/// A part of the source that does not become an environment, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skipped {
    /// The environment name, when the source gave one.
    pub name: Option<String>,
    /// Where in the source it is.
    pub origin: String,
    /// Why it was not imported, and what to do instead.
    pub reason: String,
}

impl Skipped {
    /// A skipped part of a source.
    pub fn new(name: Option<String>, origin: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            name,
            origin: origin.into(),
            reason: reason.into(),
        }
    }
}

/// What a source yields: entries to import and parts skipped.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Batch {
    /// Environments to store.
    pub entries: Vec<Entry>,
    /// Parts of the source left out, with the reason.
    pub skipped: Vec<Skipped>,
}

impl Batch {
    fn push(&mut self, r: Result<Entry, Skipped>) {
        match r {
            Ok(e) => self.entries.push(e),
            Err(s) => self.skipped.push(s),
        }
    }

    /// Gives the one entry of the batch the name `name` (`--name`). Fails
    /// when the batch does not hold exactly one entry, since one name cannot
    /// name several environments.
    pub fn rename(&mut self, name: &EnvName) -> Result<(), InvalidInput> {
        match self.entries.as_mut_slice() {
            [one] => {
                one.environment.name = name.clone();
                Ok(())
            }
            many => Err(InvalidInput::Field {
                field: "--name".into(),
                why: format!(
                    "it names one environment but the source holds {} importable ones: \
                     leave --name out and the names are taken from the source",
                    many.len()
                ),
            }),
        }
    }

    /// Skips entries whose name an earlier entry already took: the first
    /// one wins, as libpq takes the first matching `.pgpass` line.
    fn drop_duplicate_names(&mut self) {
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut kept = Vec::with_capacity(self.entries.len());
        for e in std::mem::take(&mut self.entries) {
            let name = e.environment.name.to_string();
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                self.skipped.push(Skipped::new(
                    Some(name.clone()),
                    e.origin.clone(),
                    format!("the name '{name}' is taken by {first} of the same source"),
                ));
            } else {
                seen.push((name, e.origin.clone()));
                kept.push(e);
            }
        }
        self.entries = kept;
    }
}

/// A source that cannot be read as a whole (not JSON, not the expected
/// shape). Parts of a readable source that are wrong become [`Skipped`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {why}")]
#[non_exhaustive]
pub struct SourceError {
    /// Which input (`environments.json`, `the JSON file`).
    pub what: String,
    /// What is wrong with it and what was expected.
    pub why: String,
}

impl SourceError {
    fn new(what: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            why: why.into(),
        }
    }
}

/// Turns `raw` into a valid environment name: lower case, every character
/// outside `[a-z0-9_-]` as `-`, runs of `-` folded, at most 50 characters.
/// `None` when nothing usable is left.
pub fn derive_name(raw: &str) -> Option<EnvName> {
    let mut out = String::new();
    for c in raw.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    let mut out: String = out.chars().take(MAX_NAME_LEN).collect();
    while out.ends_with('-') {
        out.pop();
    }
    EnvName::parse(&out).ok()
}

/// The first of `candidates` that is a usable name not yet in `taken`.
fn first_free(candidates: &[String], taken: &BTreeSet<String>) -> Option<EnvName> {
    candidates
        .iter()
        .filter_map(|c| derive_name(c))
        .find(|n| !taken.contains(n.as_str()))
}

/// Reads a timestamp the way old tools wrote them: RFC 3339, Python's
/// `isoformat()` and `str()` of a naive UTC `datetime` (`2025-05-31T13:09:48.123456`,
/// `2025-05-31 13:09:48`), or a bare date. Naive times count as UTC (the
/// Python tool used `datetime.utcnow()`).
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

/// A password age from a source: a time in the future is taken as "now"
/// (a clock skew or a typo must not make a password look fresh for years).
fn password_time(
    raw: &str,
    what: &str,
    now: DateTime<Utc>,
    notes: &mut Vec<String>,
) -> Option<DateTime<Utc>> {
    match parse_time(raw) {
        Some(t) if t > now => {
            notes.push(format!(
                "{what} '{raw}' is in the future: the password's age counts from now"
            ));
            None
        }
        Some(t) => Some(t),
        None => {
            notes.push(format!(
                "{what} '{raw}' is not a date: the password's age counts from now"
            ));
            None
        }
    }
}

/// True for a password the old tool stored masked (`**********`, the
/// `str()` of a pydantic `SecretStr`) instead of the real one.
pub fn is_masked(password: &str) -> bool {
    let p = password.trim();
    !p.is_empty() && (p.chars().all(|c| c == '*' || c == '•') || p == "SecretStr('**********')")
}

/// The checks the agent makes on a stored environment, made early so
/// `--dry-run` reports what the agent would refuse.
fn finish(
    mut environment: Environment,
    password: SecretString,
    origin: String,
    notes: Vec<String>,
) -> Result<Entry, Skipped> {
    let name = Some(environment.name.to_string());
    let skip = |why: String| Skipped::new(name.clone(), origin.clone(), why);
    let pw = password.expose_secret();
    // SQLite files need no password; every server that logs in with one
    // does, unless it is marked as waiting for it.
    if pw.is_empty()
        && environment.kind.has_server()
        && environment.auth.uses_password()
        && !environment.password_missing
    {
        return Err(skip("no password".into()));
    }
    // A SQLite file that comes with a password (SQLCipher's key) logs in
    // with it.
    if !environment.kind.has_server() && !pw.is_empty() {
        environment.auth = dbcreds::Auth::Password;
    }
    if is_masked(pw) {
        return Err(skip(
            "the stored password is a mask ('****'), not the password: add this environment with `dbcreds add`".into(),
        ));
    }
    environment.host = environment.host.trim().to_owned();
    if environment.kind.has_server() {
        if environment.host.is_empty() {
            return Err(skip("no host".into()));
        }
        if environment.username.is_empty() {
            return Err(skip("no user name".into()));
        }
    } else if environment.database.trim().is_empty() {
        return Err(skip(
            "a SQLite environment needs the database file path".into(),
        ));
    }
    // The agent's own bounds (password and field lengths), so `--dry-run`
    // reports what the agent would refuse.
    dbcreds::edit::check_new(&environment, &password).map_err(|e| skip(e.to_string()))?;
    Ok(Entry {
        environment,
        password,
        origin,
        notes,
    })
}

/// Guesses a kind from a port and a host name, as the Python tool's
/// migration did: well-known ports first, then words in the host name,
/// else PostgreSQL.
pub fn guess_kind(port: Option<u16>, host: &str) -> DatabaseKind {
    match port {
        Some(5432) => return DatabaseKind::Postgres,
        Some(3306) => return DatabaseKind::Mysql,
        Some(1433) => return DatabaseKind::Mssql,
        Some(1521) => return DatabaseKind::Oracle,
        _ => {}
    }
    let h = host.to_ascii_lowercase();
    if h.contains("maria") {
        DatabaseKind::Mariadb
    } else if h.contains("mysql") {
        DatabaseKind::Mysql
    } else if h.contains("mssql") || h.contains("sqlserver") {
        DatabaseKind::Mssql
    } else if h.contains("oracle") {
        DatabaseKind::Oracle
    } else {
        DatabaseKind::Postgres
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
