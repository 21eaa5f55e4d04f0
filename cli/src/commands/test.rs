//! `dbcreds test NAME`: the agent connects to the database with the stored
//! credentials and reports the server version and latency. The CLI has no
//! driver: it only asks and prints.

use dbcreds::TestResult;
use serde::Serialize;

use crate::args::TestArgs;
use crate::exit::Failure;
use crate::output;
use crate::spinner::with_spinner;

#[derive(Serialize)]
struct TestJson<'a> {
    name: &'a str,
    ok: bool,
    server_version: &'a str,
    latency_ms: u32,
    tls: bool,
    at: String,
}

pub async fn run(a: TestArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let label = format!("connecting to '{}'...", a.name);
    let r = with_spinner(&label, client.test(&a.name)).await?;
    if a.json {
        return output::json(&TestJson {
            name: a.name.as_str(),
            ok: r.ok,
            server_version: &r.detail,
            latency_ms: r.latency_ms,
            tls: r.tls,
            at: output::rfc3339(r.at),
        });
    }
    output::stdout_line(&human(a.name.as_str(), &r))
}

/// Tests `name` through `client` and prints the outcome (for `add`'s
/// offer to test): a failure is reported, not returned, since the
/// environment was saved either way.
pub async fn report(client: &mut dbcreds::Client, name: &dbcreds::EnvName) -> Result<(), Failure> {
    let label = format!("connecting to '{name}'...");
    match with_spinner(&label, client.test(name)).await {
        Ok(r) => output::stdout_line(&human(name.as_str(), &r)),
        Err(e) => {
            output::warn(&format!(
                "the test failed: {} (the environment is saved; fix it with `dbcreds update {name}`)",
                crate::exit::from_error(&e)
            ));
            Ok(())
        }
    }
}

fn human(name: &str, r: &TestResult) -> String {
    format!(
        "{name}: ok, {}, {} ms, {}",
        r.detail,
        r.latency_ms,
        if r.tls { "TLS" } else { "no TLS" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_version_latency_and_tls() {
        let r = TestResult {
            at: chrono::Utc::now(),
            ok: true,
            detail: "PostgreSQL 15.4".into(),
            latency_ms: 12,
            reason: String::new(),
            tls: true,
        };
        assert_eq!(human("prod", &r), "prod: ok, PostgreSQL 15.4, 12 ms, TLS");
    }
}
