//! `dbcreds list`: the environments as a table or JSON. Never a password.

use chrono::{DateTime, Utc};
use dbcreds::Environment;

use crate::args::ListArgs;
use crate::exit::Failure;
use crate::output::{self, Cell, EnvJson, Paint};

pub async fn run(a: ListArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let envs = client.list().await?;
    let now = Utc::now();
    if a.json {
        let docs: Vec<EnvJson<'_>> = envs.iter().map(|e| EnvJson::new(e, now)).collect();
        return output::json(&docs);
    }
    if envs.is_empty() {
        output::note("No environments yet: add one with `dbcreds add NAME`.");
        return Ok(());
    }
    output::stdout(&table(&envs, now, output::color_stdout()))
}

const HEADER: [&str; 10] = [
    "NAME",
    "KIND",
    "HOST",
    "PORT",
    "DATABASE",
    "USER",
    "PROD",
    "LAST TEST",
    "PASSWORD AGE",
    "EXPIRY",
];

fn table(envs: &[Environment], now: DateTime<Utc>, color: bool) -> String {
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
        let text = table(&[local, prod], now, false);
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
