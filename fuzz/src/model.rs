//! Model values built from fuzz input ([`Gen`]), for the targets here and
//! in the CLI.

use std::collections::BTreeMap;

use crate::Gen;
use chrono::{DateTime, TimeZone, Utc};
use dbcreds::model::TestResult;
use dbcreds::{DatabaseKind, EnvName, Environment};

/// A name that parses: from the input when it gives a valid one.
pub fn name(g: &mut Gen) -> EnvName {
    let raw = g.string(60);
    EnvName::parse(&raw)
        .unwrap_or_else(|_| EnvName::parse(g.pick(&["prod", "dev", "a", "x-1_2"])).unwrap())
}

/// A time anywhere in chrono's range, or none.
pub fn time(g: &mut Gen) -> Option<DateTime<Utc>> {
    if g.bool() {
        None
    } else {
        Utc.timestamp_opt(g.unix_secs(), 0).single()
    }
}

/// Driver options: the known keys in their spellings, and any text.
pub fn options(g: &mut Gen) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for _ in 0..g.below(5) {
        let k = if g.bool() {
            g.pick(&[
                "sslmode",
                "ssl-mode",
                "ssl_mode",
                "SSLMODE",
                "sslrootcert",
                "ssl-ca",
                "sslcert",
                "ssl-cert",
                "sslkey",
                "ssl_key",
                "connect_timeout",
                "connect-timeout",
                "application_name",
            ])
            .to_owned()
        } else {
            g.string(40)
        };
        m.insert(k, g.string(60));
    }
    m
}

/// Any environment the model can hold, fields unchecked.
pub fn environment(g: &mut Gen) -> Environment {
    let kind = g.pick(&DatabaseKind::ALL);
    let mut env = Environment::new(name(g), kind);
    if g.bool() {
        env.host = g.string(260);
    }
    env.port = g.u32() as u16;
    let max = if g.bool() { 60 } else { 1030 };
    env.database = g.string(max);
    env.username = g.string(260);
    env.options = options(g);
    env.production = g.bool();
    let max = if g.bool() { 60 } else { 4100 };
    env.description = g.string(max);
    env.created_at = time(g);
    env.updated_at = time(g);
    env.password_updated_at = time(g);
    env.expires_days = match g.below(3) {
        0 => None,
        _ => Some(g.u32()),
    };
    if g.bool() {
        env.last_test = time(g).map(|at| TestResult {
            at,
            ok: g.bool(),
            detail: g.string(40),
            latency_ms: g.u32(),
            reason: g.string(20),
            tls: g.bool(),
        });
    }
    if g.bool() {
        env.rotation = Some(g.string(10));
    }
    env
}
