//! `dbcreds add`: a new environment from flags, with prompts on a terminal
//! for what the flags leave out.

use dbcreds::{Auth, Client, DatabaseKind, Environment, Reason, SecretSource, SourceRefKind};
use secrecy::{ExposeSecret, SecretString};

use crate::args::AddArgs;
use crate::args::AddAuth;
use crate::exit::Failure;
use crate::{output, prompt};

/// Tries at typing a new password twice alike before `add` gives up.
const PASSWORD_TRIES: usize = 3;

pub async fn run(a: AddArgs) -> Result<(), Failure> {
    let source = secret_source(&a)?;
    if let Some(src) = &source {
        check_source_flags(&a, src)?;
    }
    // A sourced secret asks nothing: the flags say it all.
    let interactive = source.is_none() && !a.password_stdin && prompt::interactive();
    if source.is_none() {
        check_flags(&a, interactive)?;
    }

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
    if source.is_some() {
        fill_from_flags(&mut env, &a);
    } else {
        fill_fields(&mut env, &a, interactive)?;
    }
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
    if source.is_some() {
        // The source owns the secret's lifetime.
        env.expires_days = None;
        env.auth = Auth::Password;
    }
    env.source = source;

    let password = if env.source.is_some() {
        SecretString::from("")
    } else {
        password(&a, &env, interactive)?
    };
    // The agent enforces the same rules; checked here first so a request
    // it would refuse (or could not read) is never sent.
    dbcreds::edit::check_new(&env, &password)?;
    let saved = client.put(&env, &password, a.force).await?;
    drop(password);
    let state = match &saved.source {
        Some(src) => format!("password from {src}; fetched by the agent on first use"),
        None => output::password_state(&saved, chrono::Utc::now()),
    };
    // A secret that carries the host fills it at the first fetch: no URI
    // to show before then.
    let uri = if saved.host.is_empty() && saved.kind.has_server() {
        "connection from the secret".to_owned()
    } else {
        dbcreds::render::uri(&saved, None)
    };
    output::note(&format!(
        "{} {}: {uri} ({state}).",
        if a.force { "Saved" } else { "Added" },
        saved.name,
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
    if a.password_stdin && a.auth.is_some_and(|m| !m.mode().uses_password()) {
        return Err(Failure::usage(format!(
            "--auth {} takes no password: drop --password-stdin",
            a.auth.map(AddAuth::mode).unwrap_or_default()
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
    match a.auth.map(AddAuth::mode) {
        Some(m) => m,
        None if kind.has_server() || a.password_stdin => Auth::Password,
        None => Auth::None,
    }
}

/// Where the flags say the secret comes from; `None` for a stored password.
fn secret_source(a: &AddArgs) -> Result<Option<SecretSource>, Failure> {
    let f = &a.from;
    if let Some(cmd) = &f.password_command {
        let mut s = SecretSource::new(SourceRefKind::Command, "", cmd);
        s.cache_for = Some(f.cache_for.unwrap_or(std::time::Duration::from_secs(300)));
        return Ok(Some(s));
    }
    let rds_iam = a.auth == Some(AddAuth::RdsIam);
    let Some(source) = &f.source else {
        if rds_iam {
            return Err(Failure::usage(
                "--auth rds-iam needs --source NAME: an aws source (`dbcreds source add NAME --kind aws`)",
            ));
        }
        return Ok(None);
    };
    if let Some(entry) = source.strip_prefix("pass:") {
        if f.kv.is_some()
            || f.dynamic.is_some()
            || f.static_role.is_some()
            || f.secret.is_some()
            || rds_iam
        {
            return Err(Failure::usage(
                "--source pass:ENTRY takes no --kv, --dynamic, --static, --secret or --auth rds-iam",
            ));
        }
        return Ok(Some(SecretSource::new(SourceRefKind::Pass, "", entry)));
    }
    let (kind, location) = match (&f.kv, &f.dynamic, &f.static_role, &f.secret) {
        (Some(p), ..) => (SourceRefKind::Kv, p.as_str()),
        (_, Some(p), ..) => (SourceRefKind::Dynamic, p.as_str()),
        (_, _, Some(p), _) => (SourceRefKind::Static, p.as_str()),
        (.., Some(id)) => (SourceRefKind::AwsSecret, id.as_str()),
        _ if rds_iam => (SourceRefKind::RdsIam, ""),
        _ => {
            return Err(Failure::usage(format!(
                "--source {source} needs what to read: --kv PATH, --dynamic PATH, --static PATH, --secret ID or --auth rds-iam"
            )));
        }
    };
    Ok(Some(SecretSource::new(kind, source, location)))
}

/// What a sourced environment still needs from the flags: the fields its
/// secret does not carry.
fn check_source_flags(a: &AddArgs, src: &SecretSource) -> Result<(), Failure> {
    if a.password_stdin {
        return Err(Failure::usage(format!(
            "the password comes from {src}: drop --password-stdin"
        )));
    }
    let kind = a.kind.unwrap_or(DatabaseKind::Postgres);
    let mut missing = Vec::new();
    if !src.kind.carries_fields() && kind.has_server() {
        if a.host.is_none() {
            missing.push("--host");
        }
        if a.database.is_none() {
            missing.push("--database");
        }
        let leased_user = matches!(src.kind, SourceRefKind::Dynamic | SourceRefKind::Static);
        if !leased_user && a.user.is_none() {
            missing.push("--user");
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "missing {} (a {} secret does not carry {})",
            missing.join(", "),
            src.kind,
            if missing.len() == 1 { "it" } else { "them" }
        )))
    }
}

/// The fields as the flags give them, empty where the secret fills them.
fn fill_from_flags(env: &mut Environment, a: &AddArgs) {
    env.host = a.host.clone().unwrap_or_default();
    if let Some(p) = a.port {
        env.port = p;
    }
    env.database = a.database.clone().unwrap_or_default();
    env.username = a.user.clone().unwrap_or_default();
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
