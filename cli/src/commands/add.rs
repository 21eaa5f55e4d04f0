//! `dbcreds add`: a new environment from flags, with prompts on a terminal
//! for what the flags leave out.

use dbcreds::Environment;
use secrecy::{ExposeSecret, SecretString};

use crate::args::AddArgs;
use crate::exit::Failure;
use crate::{output, prompt};

pub async fn run(a: AddArgs) -> Result<(), Failure> {
    let interactive = !a.password_stdin && prompt::interactive();
    let kind = a.kind;
    let mut env = Environment::new(a.name, kind);

    // Everything that can be wrong without a terminal is found before
    // anything is asked or read.
    let mut missing = Vec::new();
    if kind.has_server() && a.host.is_none() {
        missing.push("--host");
    }
    if a.database.is_none() {
        missing.push("--database");
    }
    if kind.has_server() && a.user.is_none() {
        missing.push("--user");
    }
    if !interactive && !missing.is_empty() {
        return Err(Failure::usage(format!(
            "missing {}: pass {}, or run on a terminal to be prompted",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        )));
    }
    if !interactive && !a.password_stdin && kind.has_server() {
        return Err(Failure::usage(
            "no password given: pipe it in with --password-stdin, or run on a terminal to be prompted",
        ));
    }

    // Prompts come in the order of a connection string: host, database, user.
    if kind.has_server() {
        env.host = field(a.host, "Host", Some("localhost"))?;
        env.port = a.port.or(kind.default_port()).unwrap_or(0);
        env.database = field(a.database, "Database", None)?;
        env.username = field(a.user, "User", None)?;
    } else {
        env.host = a.host.unwrap_or_default();
        env.database = field(a.database, "Database file", None)?;
        env.username = a.user.unwrap_or_default();
    }
    env.production = a.production;
    env.description = a.description.unwrap_or_default();
    env.options.extend(a.options);
    env.expires_days = match a.expires_days {
        Some(e) => e.as_option(),
        // The config's policy (default 90 days); read only by verbs that
        // create environments, never by `get`.
        None => {
            dbcreds::config::Config::load()
                .map_err(|e| Failure::usage(e.to_string()))?
                .default_expires_days
                .0
        }
    };

    let password = if a.password_stdin {
        prompt::secret_from_stdin_all()?
    } else if interactive {
        prompt::new_secret(
            &format!("Password for {}: ", env.name),
            "Repeat the password: ",
            "password",
        )?
    } else {
        // SQLite without a terminal: it has no password.
        SecretString::from("")
    };
    if password.expose_secret().is_empty() && kind.has_server() {
        output::warn(&format!("storing an empty password for '{}'", env.name));
    }

    // The agent enforces the same rules; checked here first so a request
    // it would refuse (or could not read) is never sent.
    dbcreds::edit::check_new(&env, &password)?;
    let mut client = super::connect().await?;
    let saved = client.put(&env, &password, a.force).await?;
    output::note(&format!(
        "{} {}: {} (password {}).",
        if a.force { "Saved" } else { "Added" },
        saved.name,
        dbcreds::render::uri(&saved, None),
        saved.expiry(chrono::Utc::now())
    ));
    Ok(())
}

/// The flag's value, else the answer to a prompt (which must not be empty).
fn field(given: Option<String>, label: &str, default: Option<&str>) -> Result<String, Failure> {
    if let Some(v) = given {
        return Ok(v);
    }
    let answer = prompt::line(label, default)?;
    if answer.is_empty() {
        return Err(Failure::usage(format!(
            "{} is empty: give one (or pass --{})",
            label.to_lowercase(),
            label.split(' ').next().unwrap_or(label).to_lowercase()
        )));
    }
    Ok(answer)
}
