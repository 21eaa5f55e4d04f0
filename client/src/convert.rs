//! Conversions between the wire messages and the model, checking every rule
//! on the way in so neither side trusts the other's input.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use dbcreds_proto::v1;

use crate::error::InvalidInput;
use crate::model::{
    CachedCredential, DatabaseKind, EnvName, Environment, SecretSource, TestResult, check_port,
};

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
            source: m.source.map(source_from_wire).transpose()?,
            cached: m.cached.map(cached_from_wire),
        })
    }
}

fn source_from_wire(s: v1::SecretSource) -> Result<SecretSource, InvalidInput> {
    let out = SecretSource {
        kind: s.kind.parse()?,
        source: s.source,
        location: s.location,
        cache_for: (s.cache_for_secs > 0)
            .then(|| std::time::Duration::from_secs(s.cache_for_secs.into())),
    };
    out.check()?;
    Ok(out)
}

fn cached_from_wire(c: v1::CachedCredential) -> CachedCredential {
    CachedCredential {
        fetched_at: time(c.fetched_at),
        refresh_at: time(c.refresh_at),
        valid_until: time(c.valid_until),
        lease: c.lease,
        renewable: c.renewable,
        version: c.version,
        from_source: c.from_source,
    }
}

impl From<&SecretSource> for v1::SecretSource {
    fn from(s: &SecretSource) -> Self {
        v1::SecretSource {
            kind: s.kind.as_str().into(),
            source: s.source.clone(),
            location: s.location.clone(),
            cache_for_secs: s
                .cache_for
                .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
        }
    }
}

impl From<&CachedCredential> for v1::CachedCredential {
    fn from(c: &CachedCredential) -> Self {
        v1::CachedCredential {
            fetched_at: secs(c.fetched_at),
            refresh_at: secs(c.refresh_at),
            valid_until: secs(c.valid_until),
            lease: c.lease.clone(),
            renewable: c.renewable,
            version: c.version.clone(),
            from_source: c.from_source.clone(),
        }
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
            source: e.source.as_ref().map(Into::into),
            cached: e.cached.as_ref().map(Into::into),
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
        let mut src = SecretSource::new(crate::SourceRefKind::Command, "", "op read x");
        src.cache_for = Some(std::time::Duration::from_secs(600));
        env.source = Some(src);
        env.cached = Some(CachedCredential {
            fetched_at: time(1_700_000_200),
            lease: "abc123".into(),
            from_source: vec!["host".into()],
            ..Default::default()
        });
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
