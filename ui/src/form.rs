//! The environment forms: what the browser posts, turned into an
//! [`Environment`] (add) or a [`Patch`] (edit) by the library's own rules,
//! with every error filed under the field it concerns and worded as the
//! library (and so the CLI) words it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use dbcreds::edit::{self, Patch};
use dbcreds::model::parse_port;
use dbcreds::{DatabaseKind, EnvName, Environment, InvalidInput};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zeroize::Zeroize;

/// Longest password lifetime accepted (100 years), as the CLI's.
pub const MAX_EXPIRES_DAYS: u32 = 36_500;

/// The key of an error that belongs to no one field: shown above the form.
pub const FORM: &str = "form";

/// Errors by field, in the order they were found.
#[derive(Debug, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    /// Files `message` under `field`, unless that field has one already.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    /// Files a model error under the field it names.
    pub fn invalid(&mut self, e: &InvalidInput) {
        self.add(field_of(e), e.to_string());
    }

    /// The error of `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Every error, for the summary above the form.
    pub fn all(&self) -> &[(&'static str, String)] {
        &self.0
    }

    /// No error at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The form field a model error is about.
pub fn field_of(e: &InvalidInput) -> &'static str {
    match e {
        InvalidInput::Name { .. } => "name",
        InvalidInput::Kind(_) => "kind",
        InvalidInput::Port(_) => "port",
        InvalidInput::Field { field, .. } => match field.as_str() {
            "host" => "host",
            "database" => "database",
            "username" => "username",
            "description" => "description",
            "password" => "password",
            "environment name" => "name",
            "password change time" => "password_changed",
            "expiry days" => "expires_days",
            f if f.starts_with("option") => "options",
            _ => FORM,
        },
        _ => FORM,
    }
}

/// A secret field of a form, wiped when it goes.
#[derive(Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret, taken out (the field is left empty).
    pub fn take(&mut self) -> SecretString {
        SecretString::from(std::mem::take(&mut self.0))
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// What the add and edit forms post.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EnvForm {
    pub name: String,
    pub kind: String,
    pub host: String,
    pub port: String,
    pub database: String,
    pub username: String,
    pub password: Secret,
    pub password_repeat: Secret,
    pub password_changed: String,
    pub expires_days: String,
    pub production: Option<String>,
    pub description: String,
    pub options: String,
}

impl EnvForm {
    /// The form for `env` as it stands (no password: that is never sent
    /// to the browser).
    pub fn of(env: &Environment) -> Self {
        Self {
            name: env.name.to_string(),
            kind: env.kind.as_str().into(),
            host: env.host.clone(),
            port: if env.kind.has_server() {
                env.port.to_string()
            } else {
                String::new()
            },
            database: env.database.clone(),
            username: env.username.clone(),
            password_changed: env
                .password_updated_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            expires_days: expires_text(env.expires_days),
            production: env.production.then(|| "on".into()),
            description: env.description.clone(),
            options: options_text(&env.options),
            ..Self::default()
        }
    }

    /// An empty add form: PostgreSQL on localhost, `default_expiry` days.
    pub fn blank(default_expiry: Option<u32>) -> Self {
        Self {
            kind: DatabaseKind::Postgres.as_str().into(),
            host: "localhost".into(),
            expires_days: expires_text(default_expiry),
            ..Self::default()
        }
    }

    pub fn is_production(&self) -> bool {
        self.production.is_some()
    }

    /// Takes the new password out of the form: `None` when none was typed,
    /// an error under `password` when the two fields differ.
    fn take_password(&mut self, errors: &mut Errors) -> Option<SecretString> {
        let first = self.password.take();
        let second = self.password_repeat.take();
        if first.expose_secret() != second.expose_secret() {
            errors.add(
                "password",
                "the two passwords differ; nothing was changed: type the same password in both fields",
            );
            return None;
        }
        (!first.expose_secret().is_empty()).then_some(first)
    }
}

/// `never`, or the number of days.
pub fn expires_text(days: Option<u32>) -> String {
    days.map_or_else(|| "never".into(), |d| d.to_string())
}

/// One `KEY=VALUE` line per option.
pub fn options_text(options: &BTreeMap<String, String>) -> String {
    options.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// The expiry field: `never` (or 0), or 1 to [`MAX_EXPIRES_DAYS`] days.
pub fn parse_expires(raw: &str) -> Result<Option<u32>, InvalidInput> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("never") || t == "0" {
        return Ok(None);
    }
    match t.parse::<u32>() {
        Ok(d) if (1..=MAX_EXPIRES_DAYS).contains(&d) => Ok(Some(d)),
        _ => Err(InvalidInput::Field {
            field: "expiry days".into(),
            why: format!(
                "'{raw}' is not a number of days from 1 to {MAX_EXPIRES_DAYS}; use a number, or `never`"
            ),
        }),
    }
}

/// The options field: one `KEY=VALUE` per line; blank lines and lines
/// with an empty value set nothing.
pub fn parse_options(text: &str) -> Result<BTreeMap<String, String>, InvalidInput> {
    let bad = |why: String| InvalidInput::Field {
        field: "option".into(),
        why,
    };
    let mut out = BTreeMap::new();
    for raw in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((key, value)) = raw.split_once('=') else {
            return Err(bad(format!(
                "'{raw}' has no '=': use KEY=VALUE, for example sslmode=require"
            )));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(bad(format!(
                "'{raw}' has an empty key: use KEY=VALUE, for example sslmode=require"
            )));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(format!(
                "key '{key}' contains white space: use KEY=VALUE, for example sslmode=require"
            )));
        }
        if !value.trim().is_empty() {
            out.insert(key.to_owned(), value.trim().to_owned());
        }
    }
    Ok(out)
}

/// The "password last changed" field: empty, or a date (midnight UTC).
pub fn parse_date(raw: &str) -> Result<Option<DateTime<Utc>>, InvalidInput> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Some(d.and_utc()))
        .ok_or_else(|| InvalidInput::Field {
            field: "password change time".into(),
            why: format!("'{raw}' is not a date: use YYYY-MM-DD, for example 2026-01-31"),
        })
}

/// The port field: empty means the kind's default.
fn port_of(raw: &str, kind: DatabaseKind) -> Result<u16, InvalidInput> {
    if raw.trim().is_empty() {
        return Ok(kind.default_port().unwrap_or(0));
    }
    parse_port(raw)
}

/// A new environment and its password from the add form.
pub fn new_environment(f: &mut EnvForm) -> Result<(Environment, SecretString), Errors> {
    let mut errors = Errors::default();
    let name = EnvName::parse(f.name.trim())
        .map_err(|e| errors.invalid(&e))
        .ok();
    let kind = f
        .kind
        .parse::<DatabaseKind>()
        .map_err(|e| errors.invalid(&e))
        .ok();
    let port = kind.and_then(|k| port_of(&f.port, k).map_err(|e| errors.invalid(&e)).ok());
    let expires = parse_expires(&f.expires_days).map_err(|e| errors.invalid(&e));
    let options = parse_options(&f.options).map_err(|e| errors.invalid(&e));
    let password = f.take_password(&mut errors);
    let (Some(name), Some(kind), Some(port), Ok(expires), Ok(options)) =
        (name, kind, port, expires, options)
    else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut env = Environment::new(name, kind);
    env.host = f.host.trim().to_owned();
    env.port = if kind.has_server() { port } else { 0 };
    env.database = f.database.trim().to_owned();
    env.username = f.username.trim().to_owned();
    env.production = f.is_production();
    env.description = f.description.trim().to_owned();
    env.expires_days = expires;
    env.options = options;
    let password = password.unwrap_or_else(|| SecretString::from(""));
    if let Err(e) = edit::check_new(&env, &password) {
        errors.invalid(&e);
        return Err(errors);
    }
    Ok((env, password))
}

/// The change the edit form asks of `current`: only the fields that
/// differ, so a form left as it was changes nothing.
pub fn patch(f: &mut EnvForm, current: &Environment) -> Result<Patch, Errors> {
    let mut errors = Errors::default();
    let mut p = Patch::default();
    let kind = f
        .kind
        .parse::<DatabaseKind>()
        .map_err(|e| errors.invalid(&e))
        .ok();
    if let Some(kind) = kind.filter(|k| *k != current.kind) {
        p.kind = Some(kind.as_str().into());
    }
    let kind = kind.unwrap_or(current.kind);
    let shown_port = EnvForm::of(current).port;
    if kind.has_server() {
        // Kind changed, port left as it was: the new kind's default (as
        // `dbcreds update --kind` does).
        let keep_default = p.kind.is_some() && f.port.trim() == shown_port;
        if !keep_default {
            match port_of(&f.port, kind) {
                Ok(port) if port != current.port => p.port = Some(u32::from(port)),
                Ok(_) => {}
                Err(e) => errors.invalid(&e),
            }
        }
    }
    for (value, now, slot) in [
        (&f.host, &current.host, &mut p.host),
        (&f.database, &current.database, &mut p.database),
        (&f.username, &current.username, &mut p.username),
        (&f.description, &current.description, &mut p.description),
    ] {
        if value.trim() != now {
            *slot = Some(value.trim().to_owned());
        }
    }
    if f.is_production() != current.production {
        p.production = Some(f.is_production());
    }
    match parse_expires(&f.expires_days) {
        Ok(days) if days != current.expires_days => p.expires_days = Some(days.unwrap_or(0)),
        Ok(_) => {}
        Err(e) => errors.invalid(&e),
    }
    match parse_options(&f.options) {
        Ok(new) => p.options = options_change(&current.options, new),
        Err(e) => errors.invalid(&e),
    }
    match parse_date(&f.password_changed) {
        Ok(at) if f.password_changed.trim() != EnvForm::of(current).password_changed => {
            p.password_changed_at = at;
        }
        Ok(_) => {}
        Err(e) => errors.invalid(&e),
    }
    p.password = f.take_password(&mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    // The agent applies the same rules; applied here first so an error
    // lands next to its field.
    if let Err(e) = p.check().and_then(|()| p.apply(&mut current.clone())) {
        errors.invalid(&e);
        return Err(errors);
    }
    Ok(p)
}

/// The options to send so `old` becomes `new`: changed and added ones,
/// and the removed ones with an empty value.
fn options_change(
    old: &BTreeMap<String, String>,
    new: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut change: BTreeMap<String, String> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| (k.clone(), String::new()))
        .collect();
    change.extend(new.into_iter().filter(|(k, v)| old.get(k) != Some(v)));
    change
}

/// True when the patch changes nothing.
pub fn is_empty(p: &Patch) -> bool {
    p.kind.is_none()
        && p.host.is_none()
        && p.port.is_none()
        && p.database.is_none()
        && p.username.is_none()
        && p.password.is_none()
        && p.production.is_none()
        && p.description.is_none()
        && p.expires_days.is_none()
        && p.options.is_empty()
        && p.password_changed_at.is_none()
}

#[cfg(test)]
mod tests;
