//! The value parsers the verbs share: the model's rules, so a bad value
//! fails in clap with the model's message.

use std::ffi::OsStr;

use chrono::{DateTime, NaiveDate, Utc};
use clap::builder::{PossibleValue, TypedValueParser};
use dbcreds::error::InvalidInput;
use dbcreds::{Auth, DatabaseKind, EnvName};

/// Longest password lifetime `--expires-days` accepts (100 years).
pub const MAX_EXPIRES_DAYS: u32 = 36_500;

/// `--expires-days`: a number of days, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresDays {
    /// Expires this many days after it is set.
    Days(u32),
    /// Never expires.
    Never,
}

impl ExpiresDays {
    /// As the model holds it: `None` for never.
    pub fn as_option(self) -> Option<u32> {
        match self {
            Self::Days(d) => Some(d),
            Self::Never => None,
        }
    }

    /// As `Patch::expires_days` wants it: 0 for never.
    pub fn as_wire(self) -> u32 {
        self.as_option().unwrap_or(0)
    }
}

/// Parses an environment name with the model's rules.
pub fn parse_name(raw: &str) -> Result<EnvName, InvalidInput> {
    EnvName::parse(raw)
}

fn parse_kind(raw: &str) -> Result<DatabaseKind, InvalidInput> {
    raw.parse()
}

/// Parses `--expires-days`: `never`, or 1 to [`MAX_EXPIRES_DAYS`].
pub fn parse_expires_days(raw: &str) -> Result<ExpiresDays, InvalidInput> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(ExpiresDays::Never);
    }
    match t.parse::<u32>() {
        Ok(d) if (1..=MAX_EXPIRES_DAYS).contains(&d) => Ok(ExpiresDays::Days(d)),
        _ => Err(InvalidInput::Field {
            field: "--expires-days".into(),
            why: format!(
                "'{raw}' is not a number of days from 1 to {MAX_EXPIRES_DAYS}; use a number, or `never`"
            ),
        }),
    }
}

/// Parses `dbcreds ui --idle-timeout`: a duration from 1 s to 24 h (the
/// page must stop some time).
pub fn parse_idle_timeout(raw: &str) -> Result<std::time::Duration, InvalidInput> {
    let bad = |why: String| InvalidInput::Field {
        field: "--idle-timeout".into(),
        why,
    };
    let d = humantime::parse_duration(raw.trim()).map_err(|e| {
        bad(format!(
            "'{raw}' is not a duration ({e}): use for example 30s, 15m or 2h"
        ))
    })?;
    if d < std::time::Duration::from_secs(1) || d > std::time::Duration::from_secs(24 * 3600) {
        return Err(bad(format!("'{raw}' is outside 1s to 24h")));
    }
    Ok(d)
}

/// Parses `--option KEY=VALUE`. The value may be empty (on `update` that
/// removes the option) and may itself contain `=`.
pub fn parse_option(raw: &str) -> Result<(String, String), InvalidInput> {
    let bad = |why: String| InvalidInput::Field {
        field: "--option".into(),
        why,
    };
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
    Ok((key.to_owned(), value.to_owned()))
}

/// The `--kind` parser: the model's parser (so errors carry its message),
/// with the canonical names as possible values for help and completions.
#[derive(Debug, Clone, Copy)]
pub struct KindParser;

impl TypedValueParser for KindParser {
    type Value = DatabaseKind;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Self::Value, clap::Error> {
        TypedValueParser::parse_ref(&parse_kind, cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            DatabaseKind::ALL
                .iter()
                .map(|k| PossibleValue::new(k.as_str())),
        ))
    }
}

/// Parses `--auth`: `password`, `none` or `cert`.
pub fn parse_auth(raw: &str) -> Result<Auth, InvalidInput> {
    raw.parse()
}

/// `add --auth`: a mode, or `rds-iam` (the password is an IAM token a
/// source signs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddAuth {
    Mode(Auth),
    RdsIam,
}

impl AddAuth {
    /// The stored mode: an IAM token is used as a password.
    pub fn mode(self) -> Auth {
        match self {
            Self::Mode(m) => m,
            Self::RdsIam => Auth::Password,
        }
    }
}

pub fn parse_add_auth(raw: &str) -> Result<AddAuth, InvalidInput> {
    if raw.eq_ignore_ascii_case("rds-iam") {
        return Ok(AddAuth::RdsIam);
    }
    raw.parse()
        .map(AddAuth::Mode)
        .map_err(|_| InvalidInput::Field {
            field: "auth".into(),
            why: format!("unknown mode '{raw}': use password, none, cert or rds-iam"),
        })
}

/// Parses `--password-changed`: a day (`2026-03-01`, taken as midnight
/// UTC) or an RFC 3339 time.
pub fn parse_changed_at(raw: &str) -> Result<DateTime<Utc>, InvalidInput> {
    let t = raw.trim();
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| InvalidInput::Field {
            field: "--password-changed".into(),
            why: format!("'{raw}' is not a date: use YYYY-MM-DD, e.g. 2026-03-01"),
        })
}
