//! Conversions between the wire messages and the model, checking every rule
//! on the way in so neither side trusts the other's input.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use dbcreds_proto::v1;

use crate::error::InvalidInput;
use crate::model::{DatabaseKind, EnvName, Environment, TestResult, check_port};

/// Unix seconds from the wire; 0 means "none".
pub(crate) fn time(secs: i64) -> Option<DateTime<Utc>> {
    if secs == 0 {
        None
    } else {
        Utc.timestamp_opt(secs, 0).single()
    }
}

/// A test result from the wire; `None` without a time (never tested).
pub(crate) fn test_result(t: v1::TestResult) -> Option<TestResult> {
    Some(TestResult {
        at: time(t.at)?,
        ok: t.ok,
        detail: t.detail,
        latency_ms: t.latency_ms,
        reason: t.reason,
        tls: t.tls,
    })
}

fn secs(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(0, |t| t.timestamp())
}

impl TryFrom<v1::Environment> for Environment {
    type Error = InvalidInput;

    fn try_from(m: v1::Environment) -> Result<Self, Self::Error> {
        let kind: DatabaseKind = m.kind.parse()?;
        let port = if kind.has_server() {
            check_port(m.port)?
        } else {
            0
        };
        Ok(Environment {
            name: EnvName::parse(&m.name)?,
            kind,
            host: m.host,
            port,
            database: m.database,
            username: m.username,
            options: m.options.into_iter().collect::<BTreeMap<_, _>>(),
            production: m.production,
            description: m.description,
            created_at: time(m.created_at),
            updated_at: time(m.updated_at),
            password_updated_at: time(m.password_updated_at),
            expires_days: m.expires_days.filter(|d| *d > 0),
            last_test: m.last_test.and_then(test_result),
            rotation: m.rotation.filter(|r| !r.is_empty()),
            auth: m.auth.parse()?,
            password_missing: m.password_missing,
        })
    }
}

impl From<&Environment> for v1::Environment {
    fn from(e: &Environment) -> Self {
        v1::Environment {
            name: e.name.to_string(),
            kind: e.kind.as_str().into(),
            host: e.host.clone(),
            port: e.port.into(),
            database: e.database.clone(),
            username: e.username.clone(),
            options: e.options.clone().into_iter().collect(),
            production: e.production,
            description: e.description.clone(),
            created_at: secs(e.created_at),
            updated_at: secs(e.updated_at),
            password_updated_at: secs(e.password_updated_at),
            expires_days: e.expires_days,
            last_test: e.last_test.as_ref().map(Into::into),
            rotation: e.rotation.clone(),
            auth: e.auth.as_str().into(),
            password_missing: e.password_missing,
        }
    }
}

impl From<&TestResult> for v1::TestResult {
    fn from(t: &TestResult) -> Self {
        v1::TestResult {
            at: t.at.timestamp(),
            ok: t.ok,
            detail: t.detail.clone(),
            latency_ms: t.latency_ms,
            reason: t.reason.clone(),
            tls: t.tls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_field() {
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        env.options.insert("sslmode".into(), "require".into());
        env.created_at = time(1_700_000_000);
        env.expires_days = None;
        let back = Environment::try_from(v1::Environment::from(&env)).unwrap();
        assert_eq!(back, env);
        env.last_test = Some(TestResult {
            at: time(1_700_000_100).unwrap(),
            ok: false,
            detail: "refused".into(),
            latency_ms: 3,
            reason: "unreachable".into(),
            tls: true,
        });
        env.rotation = Some("pending".into());
        env.auth = crate::Auth::Cert;
        env.password_missing = true;
        let back = Environment::try_from(v1::Environment::from(&env)).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn wire_input_is_validated() {
        let mut m = v1::Environment::from(&Environment::new(
            EnvName::parse("prod").unwrap(),
            DatabaseKind::Postgres,
        ));
        m.port = 70000;
        assert!(Environment::try_from(m.clone()).is_err());
        m.port = 5432;
        m.name = "Prod DB!".into();
        assert!(Environment::try_from(m).is_err());
    }
}
