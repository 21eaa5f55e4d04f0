//! `dbcreds show NAME`: everything but the password.

use chrono::{DateTime, Utc};
use dbcreds::policy::{PolicyInfo, PolicyTarget};
use dbcreds::{Environment, Expiry};

use crate::args::ShowArgs;
use crate::exit::Failure;
use crate::output::{self, EnvJson, Paint};

pub async fn run(a: ShowArgs) -> Result<(), Failure> {
    let (env, from_vars) = super::describe(&a.name).await?;
    let policy = if from_vars {
        None
    } else {
        policy_of(&env).await
    };
    let now = Utc::now();
    if a.json {
        let mut doc = serde_json::to_value(EnvJson::new(&env, now))
            .map_err(|e| Failure::other(format!("cannot encode JSON: {e}")))?;
        if let (Some(p), Some(map)) = (&policy, doc.as_object_mut()) {
            map.insert("policy".into(), super::policy::json_of(p));
        }
        return output::json(&doc);
    }
    output::stdout(&human(
        &env,
        from_vars,
        policy.as_ref(),
        now,
        output::color_stdout(),
    ))
}

/// What the agent holds from the source: when it was fetched, until when
/// it is served and valid, the lease and version, and which fields the
/// secret filled.
fn cached_words(env: &Environment) -> String {
    let Some(c) = &env.cached else {
        return "nothing yet (the agent fetches it on the next get)".into();
    };
    let mut parts = Vec::new();
    if let Some(t) = c.fetched_at {
        parts.push(format!("fetched {}", output::human_time(t)));
    }
    if let Some(t) = c.valid_until {
        parts.push(format!("valid until {}", output::human_time(t)));
    }
    if !c.lease.is_empty() {
        let renew = if c.renewable { ", renewable" } else { "" };
        parts.push(format!("lease …{}{renew}", c.lease));
    }
    if !c.version.is_empty() {
        parts.push(format!("version {}", c.version));
    }
    if !c.from_source.is_empty() {
        parts.push(format!("{} from the secret", c.from_source.join(", ")));
    }
    parts.join("; ")
}

/// The policy in force, from the agent `describe` reached; `None` from an
/// agent that has no policies (an older one).
async fn policy_of(env: &Environment) -> Option<PolicyInfo> {
    let mut client = dbcreds::Client::connect().await.ok()?;
    client
        .policy(&PolicyTarget::Env(env.name.clone()))
        .await
        .ok()
}

fn human(
    env: &Environment,
    from_vars: bool,
    policy: Option<&PolicyInfo>,
    now: DateTime<Utc>,
    color: bool,
) -> String {
    let mut rows: Vec<(&str, String, Paint)> = vec![
        ("name", env.name.to_string(), Paint::Bold),
        ("kind", env.kind.to_string(), Paint::Plain),
    ];
    if env.kind.has_server() {
        rows.push(("host", env.host.clone(), Paint::Plain));
        rows.push(("port", env.port.to_string(), Paint::Plain));
    }
    rows.push(("database", env.database.clone(), Paint::Plain));
    if env.kind.has_server() || !env.username.is_empty() {
        rows.push(("user", env.username.clone(), Paint::Plain));
    }
    if !env.options.is_empty() {
        let opts: Vec<String> = env
            .options
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rows.push(("options", opts.join(" "), Paint::Plain));
    }
    rows.push((
        "production",
        if env.production { "yes" } else { "no" }.into(),
        if env.production {
            Paint::Red
        } else {
            Paint::Plain
        },
    ));
    if !env.description.is_empty() {
        rows.push(("description", env.description.clone(), Paint::Plain));
    }
    rows.push(("uri", dbcreds::render::uri(env, None), Paint::Plain));
    if from_vars {
        rows.push((
            "source",
            format!(
                "DBCREDS_{}_* variables (no agent asked)",
                env.name.env_var_stem()
            ),
            Paint::Plain,
        ));
    }
    if let Some(src) = &env.source {
        rows.push(("secret from", src.to_string(), Paint::Plain));
        rows.push(("cached", cached_words(env), Paint::Plain));
    }
    if let Some(t) = env.created_at {
        rows.push(("created", output::human_time(t), Paint::Plain));
    }
    if let Some(t) = env.updated_at {
        rows.push(("updated", output::human_time(t), Paint::Plain));
    }
    // Variables carry only the expiry (in this field), not the age.
    if let Some(t) = env.password_updated_at.filter(|_| !from_vars) {
        rows.push((
            "password set",
            format!(
                "{} ({} ago)",
                output::human_time(t),
                output::days(output::age_days(t, now))
            ),
            Paint::Plain,
        ));
    }
    let expiry = env.expiry(now);
    let mut words = expiry.to_string();
    if let (Some(at), false) = (env.password_expires_at(), matches!(expiry, Expiry::Never)) {
        words.push_str(&format!(" ({})", at.format("%Y-%m-%d")));
    }
    rows.push(("expiry", words, output::expiry_paint(expiry)));
    if let Some(t) = &env.last_test {
        let (text, paint) = if t.ok {
            (
                format!(
                    "ok, {}, {} ms{} ({})",
                    t.detail,
                    t.latency_ms,
                    if t.tls { ", TLS" } else { "" },
                    output::human_time(t.at)
                ),
                Paint::Green,
            )
        } else {
            (
                format!(
                    "failed ({}): {} ({})",
                    t.reason,
                    t.detail,
                    output::human_time(t.at)
                ),
                Paint::Red,
            )
        };
        rows.push(("last test", text, paint));
    }
    if let Some(state) = &env.rotation {
        rows.push((
            "rotation",
            format!(
                "unfinished ({state}): run `dbcreds rotate --resume {}`",
                env.name
            ),
            Paint::Yellow,
        ));
    }
    if let Some(p) = policy {
        rows.extend(super::policy::rows(p));
    }

    let width = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (key, value, paint) in rows {
        out.push_str(&format!(
            "{:<width$} {}\n",
            format!("{key}:"),
            paint.apply(&output::printable(&value), color)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use dbcreds::{DatabaseKind, EnvName};

    #[test]
    fn shows_everything_but_the_password() {
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        env.host = "db".into();
        env.database = "app".into();
        env.username = "app".into();
        env.production = true;
        env.options.insert("sslmode".into(), "require".into());
        env.password_updated_at = Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        let now = Utc.with_ymd_and_hms(2026, 4, 3, 0, 0, 0).unwrap();
        let text = human(&env, false, None, now, false);
        assert!(
            text.contains("expiry:       expired 2 days ago (2026-04-01)\n"),
            "{text}"
        );
        assert!(text.contains("production:   yes\n"), "{text}");
        assert!(text.contains("uri:          postgresql://app@db:5432/app?sslmode=require\n"));
        assert!(
            text.contains("password set: 2026-01-01 00:00 UTC (92 days ago)\n"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
    }
}
