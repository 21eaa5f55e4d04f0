//! `dbcreds export NAME --format F`: credentials in a format other tools
//! read, on stdout. `dbcreds export --all --format json`: every
//! environment as a JSON array, passwords only when asked for.

use std::io::IsTerminal;

use dbcreds::{DatabaseKind, Environment, render};
use secrecy::ExposeSecret;
use serde::Serialize;
use zeroize::Zeroizing;

use super::{check_expiry, credential, services};
use crate::args::{ExportArgs, ExportFormat};
use crate::exit::Failure;
use crate::output;

pub async fn run(a: ExportArgs) -> Result<(), Failure> {
    // Checked here: clap counts `--all`'s default (false) as present, so
    // `requires = "all"` would never fire.
    if a.include_passwords && !a.all {
        return Err(Failure::usage(
            "--include-passwords goes with --all (an export of one environment always holds its password)",
        ));
    }
    if a.pgpass.is_some() && !(a.all && a.format == ExportFormat::PgService) {
        return Err(Failure::usage(
            "--pgpass FILE goes with --all --format pg_service (one environment's line: --format pgpass)",
        ));
    }
    let Some(name) = a.name.as_ref().filter(|_| !a.all) else {
        return export_all(&a).await;
    };
    let cred = credential(name, dbcreds::Purpose::Export).await?;
    check_expiry(cred.environment(), a.require_fresh)?;
    let text = render_export(
        cred.environment(),
        cred.password().expose_secret(),
        a.format,
    )?;
    output::stdout(&text)
}

/// `--all`: a JSON array of [`ExportJson`]; without `--include-passwords`
/// from `List` (works while locked), with it from one `ExportAll`.
async fn export_all(a: &ExportArgs) -> Result<(), Failure> {
    if a.format == ExportFormat::PgService {
        return export_services(a).await;
    }
    if a.format != ExportFormat::Json {
        return Err(Failure::usage(
            "--all writes JSON or pg_service.conf: use --all --format json or pg_service (or export one environment in another format)",
        ));
    }
    let mut client = super::connect().await?;
    let text = if a.include_passwords {
        if std::io::stdout().is_terminal() {
            output::warn(
                "every password is printed on this terminal: redirect the output to a file (or a pipe) instead",
            );
        }
        let all = client.export_all().await?;
        let uris: Vec<Zeroizing<String>> = all
            .iter()
            .map(|c| {
                Zeroizing::new(render::uri(
                    c.environment(),
                    Some(c.password().expose_secret()),
                ))
            })
            .collect();
        let docs: Vec<ExportJson<'_>> = all
            .iter()
            .zip(&uris)
            .map(|(c, uri)| export_doc(c.environment(), Some((c.password().expose_secret(), uri))))
            .collect();
        pretty(&docs)?
    } else {
        let all = client.list().await?;
        let docs: Vec<ExportJson<'_>> = all.iter().map(|e| export_doc(e, None)).collect();
        pretty(&docs)?
    };
    output::stdout(&text)
}

/// `--all --format pg_service`: a section per PostgreSQL environment (no
/// passwords, from `List`, so it works while locked); with `--pgpass FILE`
/// the matching `.pgpass` too, from one `ExportAll`.
async fn export_services(a: &ExportArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let envs = client.list().await?;
    let text = services::pg_service_conf(&envs);
    let others: Vec<&str> = envs
        .iter()
        .filter(|e| e.kind != DatabaseKind::Postgres)
        .map(|e| e.name.as_str())
        .collect();
    if !others.is_empty() {
        output::note(&format!(
            "dbcreds: not PostgreSQL, so not in pg_service.conf: {}",
            others.join(", ")
        ));
    }
    if let Some(file) = &a.pgpass {
        let all = client.export_all().await?;
        crate::files::write_private(file, services::pgpass(&all).as_bytes(), a.force)?;
    }
    output::stdout(&text)
}

/// `value` as pretty JSON and a newline, in memory that is wiped.
fn pretty<T: Serialize + ?Sized>(value: &T) -> Result<Zeroizing<String>, Failure> {
    let mut text = Zeroizing::new(
        serde_json::to_string_pretty(value)
            .map_err(|e| Failure::other(format!("cannot encode JSON: {e}")))?,
    );
    text.push('\n');
    Ok(text)
}

#[derive(Serialize)]
struct ExportJson<'a> {
    name: &'a str,
    kind: &'a str,
    host: &'a str,
    port: u16,
    database: &'a str,
    username: &'a str,
    // Absent from `export --all` without --include-passwords.
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<&'a str>,
    // The rest of the environment, so `dbcreds import --from json` brings
    // back exactly what was exported.
    options: &'a std::collections::BTreeMap<String, String>,
    production: bool,
    description: &'a str,
    expires_days: Option<u32>,
    password_updated_at: Option<String>,
    auth: &'a str,
}

/// The whole output for `format`, ending in a newline.
pub fn render_export(
    env: &Environment,
    password: &str,
    format: ExportFormat,
) -> Result<Zeroizing<String>, Failure> {
    applies(env, format)?;
    let mut out = Zeroizing::new(String::new());
    match format {
        ExportFormat::Uri => out.push_str(&Zeroizing::new(render::uri(env, Some(password)))),
        ExportFormat::Pgpass => out.push_str(&Zeroizing::new(render::pgpass(env, password))),
        ExportFormat::Libpq => out.push_str(&Zeroizing::new(render::libpq(env, password))),
        ExportFormat::Jdbc => out.push_str(&Zeroizing::new(render::jdbc(env, password))),
        ExportFormat::PgService => {
            // A section ends in its own newline.
            return Ok(Zeroizing::new(render::pg_service(env).unwrap_or_default()));
        }
        ExportFormat::Env | ExportFormat::Dotenv => {
            let vars = Zeroizing::new(render::env_vars(env, password));
            let lines: Vec<Zeroizing<String>> = vars
                .iter()
                .map(|(k, v)| {
                    Zeroizing::new(if format == ExportFormat::Env {
                        format!("export {k}={}", render::shell_quote(v))
                    } else {
                        format!("{k}={}", render::dotenv_quote(v))
                    })
                })
                .collect();
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(line);
            }
        }
        ExportFormat::Json => {
            let uri = Zeroizing::new(render::uri(env, Some(password)));
            return pretty(&export_doc(env, Some((password, &uri))));
        }
    }
    out.push('\n');
    Ok(out)
}

/// Refuses a format whose reader could make nothing of `env`: `.pgpass`
/// and libpq strings are PostgreSQL's (and a `.pgpass` line is a
/// password's).
fn applies(env: &Environment, format: ExportFormat) -> Result<(), Failure> {
    let why = match format {
        ExportFormat::Pgpass | ExportFormat::Libpq | ExportFormat::PgService
            if env.kind != DatabaseKind::Postgres =>
        {
            format!("is for PostgreSQL, and '{}' is {}", env.name, env.kind)
        }
        ExportFormat::Pgpass if !env.auth.uses_password() => {
            format!(
                "holds passwords, and '{}' {}",
                env.name,
                env.auth.describe()
            )
        }
        _ => return Ok(()),
    };
    Err(Failure::usage(format!(
        "--format {} {why}: use --format uri, json, env or dotenv",
        format.name()
    )))
}

/// What `--format json` says about `env`; `secret` is its password and
/// the URI with it.
fn export_doc<'a>(env: &'a Environment, secret: Option<(&'a str, &'a str)>) -> ExportJson<'a> {
    ExportJson {
        name: env.name.as_str(),
        kind: env.kind.as_str(),
        host: &env.host,
        port: env.port,
        database: &env.database,
        username: &env.username,
        password: secret.filter(|_| env.auth.uses_password()).map(|(p, _)| p),
        uri: secret.map(|(_, u)| u),
        options: &env.options,
        production: env.production,
        description: &env.description,
        expires_days: env.expires_days,
        password_updated_at: env.password_updated_at.map(crate::output::rfc3339),
        auth: env.auth.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbcreds::{DatabaseKind, EnvName};

    fn env() -> Environment {
        let mut env = Environment::new(EnvName::parse("eu-prod").unwrap(), DatabaseKind::Postgres);
        env.host = "db".into();
        env.database = "app".into();
        env.username = "app".into();
        env
    }

    #[test]
    fn env_lines_are_shell_quoted() {
        let out = render_export(&env(), "it's", ExportFormat::Env).unwrap();
        assert!(
            out.contains("export DBCREDS_EU_PROD_PASSWORD='it'\\''s'\n"),
            "{}",
            *out
        );
        assert!(out.contains("export DBCREDS_EU_PROD_HOST='db'\n"));
        assert!(out.ends_with('\n'));
    }

    #[test]
    fn dotenv_lines_are_double_quoted() {
        let out = render_export(&env(), "a\"$b", ExportFormat::Dotenv).unwrap();
        assert!(
            out.contains("DBCREDS_EU_PROD_PASSWORD=\"a\\\"\\$b\"\n"),
            "{}",
            *out
        );
    }

    #[test]
    fn json_object() {
        let out = render_export(&env(), "p@ss", ExportFormat::Json).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["name"], "eu-prod");
        assert_eq!(v["port"], 5432);
        assert_eq!(v["password"], "p@ss");
        assert_eq!(v["uri"], "postgresql://app:p%40ss@db:5432/app");
        assert_eq!(v["expires_days"], 90);
        assert_eq!(v["production"], false);
        assert_eq!(v["password_updated_at"], serde_json::Value::Null);
    }

    #[test]
    fn json_round_trips_through_import() {
        let mut e = env();
        e.options.insert("sslmode".into(), "require".into());
        e.production = true;
        e.description = "main".into();
        e.expires_days = None;
        e.password_updated_at = chrono::DateTime::from_timestamp(1_700_000_000, 0);
        let out = render_export(&e, "p@ss", ExportFormat::Json).unwrap();
        let batch = crate::import::json::parse(&out).unwrap();
        assert!(batch.skipped.is_empty(), "{:?}", batch.skipped);
        let back = &batch.entries[0];
        assert_eq!(back.environment, e);
        use secrecy::ExposeSecret;
        assert_eq!(back.password.expose_secret(), "p@ss");
    }

    #[test]
    fn a_json_object_without_a_password_has_no_uri_either() {
        let doc = pretty(&[export_doc(&env(), None)]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let v = &v[0];
        assert_eq!(v["name"], "eu-prod");
        assert!(v.get("password").is_none(), "{v}");
        assert!(v.get("uri").is_none(), "{v}");
    }

    #[test]
    fn formats_that_do_not_apply_are_refused() {
        let mut lite = Environment::new(EnvName::parse("lite").unwrap(), DatabaseKind::Sqlite);
        lite.database = "./dev.db".into();
        for f in [ExportFormat::Pgpass, ExportFormat::Libpq] {
            let err = render_export(&lite, "", f).unwrap_err();
            assert!(err.message.contains("PostgreSQL"), "{}", err.message);
        }
        let env_lines = render_export(&lite, "", ExportFormat::Env).unwrap();
        assert!(!env_lines.contains("_PORT"), "{}", *env_lines);
        let mut cert = env();
        cert.auth = dbcreds::Auth::Cert;
        let err = render_export(&cert, "", ExportFormat::Pgpass).unwrap_err();
        assert!(err.message.contains("certificate"), "{}", err.message);
        assert!(
            !render_export(&cert, "", ExportFormat::Libpq)
                .unwrap()
                .contains("password")
        );
    }

    #[test]
    fn one_line_formats() {
        assert_eq!(
            *render_export(&env(), "pw", ExportFormat::Pgpass).unwrap(),
            "db:5432:app:app:pw\n"
        );
        assert_eq!(
            *render_export(&env(), "pw", ExportFormat::Uri).unwrap(),
            "postgresql://app:pw@db:5432/app\n"
        );
    }
}
