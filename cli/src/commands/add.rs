//! `dbcreds add`: a new environment from flags, with prompts on a terminal
//! for what the flags leave out.

use dbcreds::{Auth, Client, DatabaseKind, Environment, Reason};
use secrecy::{ExposeSecret, SecretString};

use crate::args::AddArgs;
use crate::exit::Failure;
use crate::{output, prompt};

/// Tries at typing a new password twice alike before `add` gives up.
const PASSWORD_TRIES: usize = 3;

pub async fn run(a: AddArgs) -> Result<(), Failure> {
    let interactive = !a.password_stdin && prompt::interactive();
    check_flags(&a, interactive)?;

    // The name is checked before anything is asked: nobody should type a
    // password twice to learn the environment exists.
    let mut client = super::connect().await?;
    if !a.force {
        refuse_existing(&mut client, &a).await?;
    }

    let kind = match a.kind {
        Some(k) => k,
        None if interactive => ask_kind()?,
        None => DatabaseKind::Postgres,
    };
    let mut env = Environment::new(a.name.clone(), kind);
    fill_fields(&mut env, &a, interactive)?;
    env.auth = auth(&a, kind);
    env.production = a.production;
    env.description = a.description.clone().unwrap_or_default();
    env.options.extend(a.options.iter().cloned());
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
    env.password_updated_at = a.password_changed;

    let password = password(&a, &env, interactive)?;
    // The agent enforces the same rules; checked here first so a request
    // it would refuse (or could not read) is never sent.
    dbcreds::edit::check_new(&env, &password)?;
    let saved = client.put(&env, &password, a.force).await?;
    drop(password);
    output::note(&format!(
        "{} {}: {} ({}).",
        if a.force { "Saved" } else { "Added" },
        saved.name,
        dbcreds::render::uri(&saved, None),
        output::password_state(&saved, chrono::Utc::now())
    ));
    if interactive && kind.has_server() && prompt::confirm("Test the connection now?")? {
        super::test::report(&mut client, &saved.name).await?;
    }
    Ok(())
}

/// Everything that can be wrong without a terminal, found before anything
/// is asked or read.
fn check_flags(a: &AddArgs, interactive: bool) -> Result<(), Failure> {
    let kind = a.kind.unwrap_or(DatabaseKind::Postgres);
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
    let needs_password = auth(a, kind).uses_password() && kind.has_server();
    if !interactive && !a.password_stdin && needs_password {
        return Err(Failure::usage(
            "no password given: pipe it in with --password-stdin, run on a terminal to be prompted, or pass --auth none|cert for a login without one",
        ));
    }
    if a.password_stdin && a.auth.is_some_and(|m| !m.uses_password()) {
        return Err(Failure::usage(format!(
            "--auth {} takes no password: drop --password-stdin",
            a.auth.unwrap_or_default()
        )));
    }
    Ok(())
}

/// `AlreadyExists` when the vault has the name already.
async fn refuse_existing(client: &mut Client, a: &AddArgs) -> Result<(), Failure> {
    match client.describe(&a.name).await {
        Ok(_) => Err(Failure::new(
            crate::exit::ALREADY_EXISTS,
            format!(
                "environment '{0}' already exists: pass --force to replace it, or change it with `dbcreds update {0}`",
                a.name
            ),
        )),
        Err(e) if e.reason() == Some(Reason::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The mode the flags ask for; by default a password for servers, none
/// for a SQLite file unless a password is piped in.
fn auth(a: &AddArgs, kind: DatabaseKind) -> Auth {
    match a.auth {
        Some(m) => m,
        None if kind.has_server() || a.password_stdin => Auth::Password,
        None => Auth::None,
    }
}

fn ask_kind() -> Result<DatabaseKind, Failure> {
    let names: Vec<&str> = DatabaseKind::ALL.iter().map(|k| k.as_str()).collect();
    loop {
        let answer = prompt::line(&format!("Kind ({})", names.join(", ")), Some("postgres"))?;
        let answer = if answer.is_empty() {
            "postgres".into()
        } else {
            answer
        };
        match answer.parse() {
            Ok(k) => return Ok(k),
            Err(e) => output::warn(&e.to_string()),
        }
    }
}

/// Host, port, database and user, from the flags or prompts in the order
/// of a connection string.
fn fill_fields(env: &mut Environment, a: &AddArgs, interactive: bool) -> Result<(), Failure> {
    let kind = env.kind;
    if !kind.has_server() {
        env.host = a.host.clone().unwrap_or_default();
        env.database = field(a.database.clone(), "Database file", None)?;
        env.username = a.user.clone().unwrap_or_default();
        return Ok(());
    }
    env.host = field(a.host.clone(), "Host", Some("localhost"))?;
    env.port = match (a.port, kind.default_port()) {
        (Some(p), _) => p,
        (None, Some(default)) if interactive && a.host.is_none() => ask_port(default)?,
        (None, default) => default.unwrap_or(0),
    };
    env.database = field(a.database.clone(), "Database", None)?;
    env.username = field(a.user.clone(), "User", None)?;
    Ok(())
}

fn ask_port(default: u16) -> Result<u16, Failure> {
    loop {
        let answer = prompt::line("Port", Some(&default.to_string()))?;
        if answer.is_empty() {
            return Ok(default);
        }
        match dbcreds::model::parse_port(&answer) {
            Ok(p) => return Ok(p),
            Err(e) => output::warn(&e.to_string()),
        }
    }
}

/// The password: piped in, asked (again on a typo, keeping every field
/// typed so far), or none for a mode without one.
fn password(a: &AddArgs, env: &Environment, interactive: bool) -> Result<SecretString, Failure> {
    if !env.auth.uses_password() {
        return Ok(SecretString::from(""));
    }
    if a.password_stdin {
        return prompt::secret_from_stdin_all();
    }
    if !interactive {
        // SQLite without a terminal: it has no password.
        return Ok(SecretString::from(""));
    }
    for _ in 1..PASSWORD_TRIES {
        match prompt::new_secret(
            &format!("Password for {}: ", env.name),
            "Repeat the password: ",
            "password",
        ) {
            Ok(p) if p.expose_secret().is_empty() && env.kind.has_server() => {
                output::warn("the password is empty: type it again (or pass --auth none)");
            }
            Ok(p) => return Ok(p),
            Err(f) if f.code == crate::exit::USAGE => {
                output::warn("the two passwords differ: type them again");
            }
            Err(f) => return Err(f),
        }
    }
    prompt::new_secret(
        &format!("Password for {}: ", env.name),
        "Repeat the password: ",
        "password",
    )
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
