//! `dbcreds list`: the environments as a table or JSON. Never a password.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dbcreds::Environment;
use dbcreds::policy::PolicyInfo;

use crate::args::ListArgs;
use crate::exit::Failure;
use crate::output::{self, Cell, EnvJson, Paint};

pub async fn run(a: ListArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let envs = client.list().await?;
    // The policies in force; an agent without them (older) shows none.
    let policies: HashMap<String, PolicyInfo> = match client.policies().await {
        Ok(all) => all
            .environments
            .into_iter()
            .filter_map(|p| Some((p.name.clone()?.to_string(), p)))
            .collect(),
        Err(_) => HashMap::new(),
    };
    let now = Utc::now();
    if a.json {
        let mut docs = Vec::with_capacity(envs.len());
        for e in &envs {
            let mut doc = serde_json::to_value(EnvJson::new(e, now))
                .map_err(|err| Failure::other(format!("cannot encode JSON: {err}")))?;
            if let (Some(p), Some(map)) = (policies.get(e.name.as_str()), doc.as_object_mut()) {
                map.insert("policy".into(), super::policy::json_of(p));
            }
            docs.push(doc);
        }
        return output::json(&docs);
    }
    if envs.is_empty() {
        output::note("No environments yet: add one with `dbcreds add NAME`.");
        return Ok(());
    }
    output::stdout(&table(&envs, &policies, now, output::color_stdout()))
}

const HEADER: [&str; 11] = [
    "NAME",
    "KIND",
    "HOST",
    "PORT",
    "DATABASE",
    "USER",
    "PROD",
    "POLICY",
    "LAST TEST",
    "PASSWORD AGE",
    "EXPIRY",
];

/// The POLICY cell: what restricts the secret, and whether it was forgotten.
fn policy_cell(p: Option<&PolicyInfo>) -> Cell {
    match p {
        Some(p) if p.forgotten => ("forgotten".into(), Paint::Yellow),
        Some(p) if !p.policy.is_open() => (p.policy.summary(), Paint::Yellow),
        _ => ("-".into(), Paint::Plain),
    }
}

fn table(
    envs: &[Environment],
    policies: &HashMap<String, PolicyInfo>,
    now: DateTime<Utc>,
    color: bool,
) -> String {
    let plain = |s: String| -> Cell { (s, Paint::Plain) };
    let dash = || "-".to_string();
    let rows: Vec<Vec<Cell>> = envs
        .iter()
        .map(|e| {
            let expiry = e.expiry(now);
            vec![
                (e.name.to_string(), Paint::Bold),
                plain(e.kind.to_string()),
                plain(if e.kind.has_server() {
                    e.host.clone()
                } else {
                    dash()
                }),
                plain(if e.kind.has_server() {
                    e.port.to_string()
                } else {
                    dash()
                }),
                plain(e.database.clone()),
                plain(if e.username.is_empty() {
                    dash()
                } else {
                    e.username.clone()
                }),
                if e.production {
                    ("yes".into(), Paint::Red)
                } else {
                    plain(String::new())
                },
                policy_cell(policies.get(e.name.as_str())),
                match (&e.last_test, &e.rotation) {
                    (_, Some(state)) => (format!("rotation {state}"), Paint::Yellow),
                    (Some(t), None) if t.ok => (t.summary(), Paint::Green),
                    (Some(t), None) => (t.summary(), Paint::Red),
                    (None, None) => plain(dash()),
                },
                plain(
                    e.password_updated_at
                        .map(|t| output::days(output::age_days(t, now)))
                        .unwrap_or_else(dash),
                ),
                (expiry.to_string(), output::expiry_paint(expiry)),
            ]
        })
        .collect();
    output::table(&HEADER, &rows, color)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use dbcreds::{DatabaseKind, EnvName};

    #[test]
    fn a_row_per_environment() {
        let now = Utc::now();
        let mut prod = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        prod.host = "db.internal".into();
        prod.database = "app".into();
        prod.username = "app".into();
        prod.production = true;
        prod.password_updated_at = Some(now - Duration::days(100));
        let mut local = Environment::new(EnvName::parse("local").unwrap(), DatabaseKind::Sqlite);
        local.database = "./dev.db".into();
        local.expires_days = None;
        let text = table(&[local, prod], &HashMap::new(), now, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("NAME   KIND"), "{text}");
        assert!(lines[1].starts_with("local  sqlite    -  "), "{text}");
        assert!(lines[1].ends_with("never expires"), "{text}");
        assert!(lines[2].contains(" yes "), "{text}");
        assert!(lines[2].contains("100 days"), "{text}");
        assert!(lines[2].ends_with("expired 10 days ago"), "{text}");
    }
}
