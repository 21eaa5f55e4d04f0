//! `dbcreds check`: which passwords expired or expire within 14 days. Exit
//! code 11 when any expired, so cron can mail or alert on it.

use chrono::{DateTime, Utc};
use dbcreds::{CheckEntry, Client, Expiry, model::EXPIRING_SOON_DAYS};
use serde::Serialize;

use crate::args::CheckArgs;
use crate::exit::{self, Failure};
use crate::output::{self, Cell, Paint};

pub async fn run(a: CheckArgs) -> Result<(), Failure> {
    let mut client = Client::connect_or_start().await?;
    let mut entries = client.check().await?;
    let now = Utc::now();
    entries.sort_by_key(|e| (rank(e), e.environment.name.clone()));
    if a.json {
        output::json(&report(&entries, now))?;
    } else if entries.is_empty() {
        if !a.quiet {
            output::note("No environments yet: add one with `dbcreds add NAME`.");
        }
    } else {
        output::stdout(&text(&entries, a.quiet, output::color_stdout()))?;
    }
    if !a.json {
        warn_sources(&mut client, now).await;
    }
    let expired: Vec<&str> = entries
        .iter()
        .filter(|e| e.expiry.is_expired())
        .map(|e| e.environment.name.as_str())
        .collect();
    match expired.as_slice() {
        [] => Ok(()),
        [one] => Err(Failure::new(
            exit::EXPIRED,
            format!(
                "the password of '{one}' has expired: set a new one with `dbcreds update {one} --password`"
            ),
        )),
        many => Err(Failure::new(
            exit::EXPIRED,
            format!(
                "{} passwords have expired ({}): set new ones with `dbcreds update NAME --password`",
                many.len(),
                many.join(", ")
            ),
        )),
    }
}

/// On stderr: sources that do not answer, and leases that end within 10
/// minutes without a renewal (their max_ttl): the agent fetches new ones,
/// but a connection opened with the old one will be cut.
async fn warn_sources(client: &mut Client, now: chrono::DateTime<Utc>) {
    let Ok(sources) = client.sources(true).await else {
        return;
    };
    for s in sources.iter() {
        if let Some(h) = s.health.as_ref().filter(|h| !h.reachable) {
            output::warn(&format!("source {} cannot be used: {}", s.name, h.detail));
        }
    }
    let Ok(envs) = client.list().await else {
        return;
    };
    for e in envs {
        let Some(c) = &e.cached else { continue };
        if let Some(end) = c
            .valid_until
            .filter(|t| *t - now < chrono::Duration::minutes(10))
            && !c.lease.is_empty()
        {
            output::warn(&format!(
                "the lease of {} (…{}) ends at {}: the agent replaces it before then",
                e.name,
                c.lease,
                end.format("%H:%M:%S UTC")
            ));
        }
    }
}

/// Worst first: waiting for a password, expired, expiring, fresh, never.
fn rank(e: &CheckEntry) -> u8 {
    if e.environment.password_missing {
        return 0;
    }
    1 + match e.expiry {
        Expiry::Expired { .. } => 0,
        Expiry::Soon { .. } => 1,
        Expiry::Fresh { .. } => 2,
        _ => 3,
    }
}

/// The word for a state: `no_password` (waiting for one), `expired`,
/// `expiring` (within 14 days) or `healthy` (more than 14 days left, or
/// never expires).
fn status(e: &CheckEntry) -> &'static str {
    if e.environment.password_missing {
        return "no_password";
    }
    match e.expiry {
        Expiry::Expired { .. } => "expired",
        Expiry::Soon { .. } => "expiring",
        _ => "healthy",
    }
}

fn text(entries: &[CheckEntry], quiet: bool, color: bool) -> String {
    let rows: Vec<Vec<Cell>> = entries
        .iter()
        .filter(|e| !quiet || rank(e) < 3)
        .map(|e| {
            let env = &e.environment;
            let paint = output::expiry_paint(e.expiry);
            vec![
                (status(e).replace('_', " ").to_uppercase(), paint),
                (env.name.to_string(), Paint::Bold),
                (
                    if env.password_missing {
                        format!("not set: `dbcreds update {} --password`", env.name)
                    } else {
                        e.expiry.to_string()
                    },
                    paint,
                ),
                (
                    env.password_expires_at()
                        .map(|t| t.format("%Y-%m-%d").to_string())
                        .unwrap_or_else(|| "-".into()),
                    Paint::Plain,
                ),
                (
                    if env.production { "yes" } else { "" }.to_owned(),
                    Paint::Plain,
                ),
            ]
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let count = |s: &str| entries.iter().filter(|e| status(e) == s).count();
    let mut out = output::table(
        &["STATUS", "NAME", "EXPIRY", "EXPIRES ON", "PROD"],
        &rows,
        color,
    );
    // --quiet: what needs doing, and nothing else (no summary).
    if quiet {
        return out;
    }
    out.push_str(&format!(
        "{} expired, {} expiring within {EXPIRING_SOON_DAYS} days, {} healthy.\n",
        count("expired"),
        count("expiring"),
        count("healthy")
    ));
    if count("no_password") > 0 {
        out.push_str(&format!(
            "{} without a password yet: set it with `dbcreds update NAME --password`.\n",
            count("no_password")
        ));
    }
    out
}

#[derive(Serialize)]
struct Report<'a> {
    checked_at: String,
    soon_days: i64,
    expired: usize,
    expiring: usize,
    healthy: usize,
    environments: Vec<Line<'a>>,
}

#[derive(Serialize)]
struct Line<'a> {
    name: &'a str,
    status: &'static str,
    expiry: String,
    /// Whole days left (negative: days since expiry); null when it never
    /// expires.
    days_left: Option<i64>,
    password_updated_at: Option<String>,
    password_expires_at: Option<String>,
    expires_days: Option<u32>,
    production: bool,
}

fn report(entries: &[CheckEntry], now: DateTime<Utc>) -> Report<'_> {
    let environments: Vec<Line<'_>> = entries
        .iter()
        .map(|e| {
            let env = &e.environment;
            Line {
                name: env.name.as_str(),
                status: status(e),
                expiry: e.expiry.to_string(),
                days_left: match e.expiry {
                    Expiry::Fresh { days_left } | Expiry::Soon { days_left } => Some(days_left),
                    Expiry::Expired { days_ago } => Some(-days_ago),
                    _ => None,
                },
                password_updated_at: env.password_updated_at.map(output::rfc3339),
                password_expires_at: env.password_expires_at().map(output::rfc3339),
                expires_days: env.expires_days,
                production: env.production,
            }
        })
        .collect();
    let count = |s: &str| environments.iter().filter(|l| l.status == s).count();
    Report {
        checked_at: output::rfc3339(now),
        soon_days: EXPIRING_SOON_DAYS,
        expired: count("expired"),
        expiring: count("expiring"),
        healthy: count("healthy"),
        environments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use dbcreds::{DatabaseKind, EnvName, Environment};

    fn entries(now: DateTime<Utc>) -> Vec<CheckEntry> {
        let mk = |name: &str, age: i64, days: Option<u32>| {
            let mut env = Environment::new(EnvName::parse(name).unwrap(), DatabaseKind::Postgres);
            env.password_updated_at = Some(now - Duration::days(age));
            env.expires_days = days;
            CheckEntry::new(env, now)
        };
        let mut out = vec![
            mk("dev", 10, Some(90)),
            mk("prod", 100, Some(90)),
            mk("staging", 80, Some(90)),
            mk("local", 1000, None),
        ];
        out.sort_by_key(|e| (rank(e), e.environment.name.clone()));
        out
    }

    #[test]
    fn worst_first_and_quiet() {
        let now = Utc::now();
        let e = entries(now);
        let t = text(&e, false, false);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("STATUS"), "{t}");
        assert!(lines[1].starts_with("EXPIRED   prod"), "{t}");
        assert!(lines[2].starts_with("EXPIRING  staging"), "{t}");
        assert!(lines[3].starts_with("HEALTHY   dev"), "{t}");
        assert!(lines[4].starts_with("HEALTHY   local"), "{t}");
        assert!(lines[4].contains("never expires"), "{t}");
        assert_eq!(lines[5], "1 expired, 1 expiring within 14 days, 2 healthy.");
        let q = text(&e, true, false);
        // Header, prod, staging: no summary line (issue 10.13).
        assert_eq!(q.lines().count(), 3, "{q}");
        assert!(!q.contains("healthy"), "{q}");
        assert!(!q.contains("dev"));
        assert!(!q.contains('\x1b'));
        assert_eq!(text(&e[2..], true, false), "");
    }

    #[test]
    fn json_report() {
        let now = Utc::now();
        let e = entries(now);
        let v = serde_json::to_value(report(&e, now)).unwrap();
        assert_eq!(v["expired"], 1);
        assert_eq!(v["expiring"], 1);
        assert_eq!(v["healthy"], 2);
        assert_eq!(v["environments"][0]["name"], "prod");
        assert_eq!(v["environments"][0]["status"], "expired");
        assert_eq!(v["environments"][0]["days_left"], -10);
        assert_eq!(v["environments"][3]["days_left"], serde_json::Value::Null);
        assert!(v.to_string().find("password\"").is_none());
    }
}
