//! One module per verb. [`run`] is the only async entry point: it owns the
//! current-thread runtime, created after the arguments are parsed.

use chrono::Utc;
use dbcreds::{Credential, EnvName, Environment, Expiry};

use crate::args::{AgentCommand, Cli, Command};
use crate::exit::{self, Failure};
use crate::output;

mod add;
mod agent;
mod approve;
mod audit;
mod backup;
mod check;
mod child;
mod completions;
mod copy;
mod doctor;
mod exec;
pub(crate) mod export; // render_export: the import fuzz targets round-trip it
mod get;
mod import_;
mod init;
mod inject;
mod keys;
mod list;
mod lock;
mod passphrase;
mod policy;
mod remove;
mod rotate;
mod run;
#[cfg(unix)]
mod serve_files;
mod services;
mod show;
mod sources;
mod status;
mod test;
mod ui;
mod update;

pub(crate) use child::launch_error;
#[cfg(target_os = "linux")]
pub(crate) use get::direct as get_direct;
pub(crate) use get::value as get_value;

/// Runs the parsed command on a current-thread runtime.
#[tokio::main(flavor = "current_thread")]
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Init(a) => init::run(a).await,
        Command::Add(a) => add::run(a).await,
        Command::Get(a) => get::run(a).await,
        Command::Show(a) => show::run(a).await,
        Command::List(a) => list::run(a).await,
        Command::Update(a) => update::run(a).await,
        Command::Remove(a) => remove::run(a).await,
        Command::Export(a) => export::run(a).await,
        Command::Exec(a) => exec::run(a).await,
        Command::Run(a) => run::run(a).await,
        Command::Inject(a) => inject::run(a).await,
        Command::Copy(a) => copy::run(a).await,
        Command::ClipboardHold(a) => copy::hold(a),
        #[cfg(unix)]
        Command::ServeFiles(a) => serve_files::run(a).await,
        #[cfg(not(unix))]
        Command::ServeFiles(_) => Err(Failure::usage("serve-files needs a Unix system")),
        Command::Check(a) => check::run(a).await,
        Command::Import(a) => import_::run(a).await,
        Command::Test(a) => test::run(a).await,
        Command::Rotate(a) => rotate::run(a).await,
        Command::Audit(a) => audit::run(a).await,
        Command::Backup(a) => backup::backup(a).await,
        Command::Restore(a) => backup::restore(a).await,
        Command::Passphrase(c) => keys::passphrase(c).await,
        Command::Rekey(a) => keys::rekey(a).await,
        Command::Policy(c) => policy::run(c).await,
        Command::Approve(a) => approve::run(a).await,
        Command::Source(c) => sources::run(c).await,
        Command::Refresh(a) => sources::refresh(a).await,
        Command::Lock => lock::lock().await,
        Command::Unlock(a) => lock::unlock(a).await,
        Command::Status(a) => status::run(a).await,
        Command::Doctor(a) => doctor::run(a.json).await,
        Command::Ui(a) => ui::run(a),
        Command::Completions(a) => completions::run(a),
        Command::GenerateDocs(a) => completions::generate_docs(&a.dir),
        Command::Agent(a) => match (a.command, a.print_env) {
            (Some(AgentCommand::Start), _) => agent::start().await,
            (Some(AgentCommand::Stop), _) => agent::stop().await,
            (Some(AgentCommand::Restart), _) => agent::restart().await,
            (Some(AgentCommand::Status(a)), _) => status::run(a).await,
            (None, Some(shell)) => agent::print_env(shell).await,
            // clap shows the help first (arg_required_else_help).
            (None, None) => Err(Failure::usage(
                "dbcreds agent needs start, stop, restart, status or --print-env",
            )),
        },
    }
}

/// What the command of a supervised `exec`/`run` gets.
#[cfg(unix)]
pub(crate) use crate::supervise::Launch;

/// What the command of a supervised `exec`/`run` gets.
#[cfg(not(unix))]
pub(crate) struct Launch {
    pub set: Vec<(std::ffi::OsString, zeroize::Zeroizing<String>)>,
    pub remove: Vec<std::ffi::OsString>,
    pub passwords: Vec<zeroize::Zeroizing<String>>,
    pub environments: Vec<EnvName>,
}

/// Runs `program` under the supervision `s` asks for (see
/// [`crate::supervise`]); returns only a failure.
pub(crate) async fn supervised(
    build: impl AsyncFn() -> Result<Launch, Failure>,
    program: std::ffi::OsString,
    args: Vec<std::ffi::OsString>,
    s: &crate::args::SuperviseArgs,
) -> Failure {
    #[cfg(unix)]
    {
        let opts = crate::supervise::Options {
            mask: s.mask,
            restart: s.restart_on_change,
            signal: s.signal,
        };
        crate::supervise::run(build, program, args, opts).await
    }
    #[cfg(not(unix))]
    {
        let _ = (build, program, args, s);
        Failure::usage("--mask and --restart-on-change need a Unix system")
    }
}

/// The credential for `name`: `DBCREDS_<NAME>_*` variables first (then no
/// agent is asked), else the agent, started if none runs; `purpose` is
/// what the agent's audit log records.
pub(crate) async fn credential(
    name: &EnvName,
    purpose: dbcreds::Purpose,
) -> Result<Credential, Failure> {
    credential_for(name, purpose, None).await
}

/// [`credential`] for `dbcreds exec`: the agent is told the program that
/// gets the secret (`child`, resolved), for the policy's allow list.
/// Variables that define the environment need no agent and no policy:
/// they are the caller's own.
pub(crate) async fn credential_for(
    name: &EnvName,
    purpose: dbcreds::Purpose,
    child: Option<&std::path::Path>,
) -> Result<Credential, Failure> {
    use dbcreds::envvars::{Source, finish};
    let overlay = match dbcreds::envvars::source(name)? {
        Source::Vars(cred) => return Ok(*cred),
        Source::Agent(overlay) => overlay,
    };
    let fetched = match dbcreds::Client::connect_or_start().await {
        Ok(client) => fetch_raw(noticing(client), name, purpose, child).await,
        Err(e) => Err(e),
    };
    // The source is down and the agent served its cache: say so.
    if let Some(w) = fetched.as_ref().ok().and_then(|c| c.warning()) {
        output::warn(w);
    }
    Ok(finish(overlay.as_ref(), fetched)?)
}

/// `client`, saying on stderr (once per request) when a request waits for
/// a confirmation.
pub(crate) fn noticing(client: dbcreds::Client) -> dbcreds::Client {
    client.on_approval_wait(|line| output::note(&format!("dbcreds: {line}")))
}

/// The vault's environment `name` without its password, with any
/// `DBCREDS_<NAME>_*` variables laid over it; `true` when variables alone
/// define it.
pub(crate) async fn describe(name: &EnvName) -> Result<(Environment, bool), Failure> {
    use dbcreds::envvars::{Source, finish};
    let overlay = match dbcreds::envvars::source(name)? {
        Source::Vars(cred) => return Ok((cred.environment().clone(), true)),
        Source::Agent(overlay) => overlay,
    };
    let described = match dbcreds::Client::connect_or_start().await {
        Ok(mut client) => client
            .describe(name)
            .await
            .map(|env| Credential::new(env, String::new().into())),
        Err(e) => Err(e),
    };
    let cred = finish(overlay.as_ref(), described)?;
    Ok((cred.environment().clone(), false))
}

/// `Get` through `client`, replacing a stale agent and retrying once when
/// the failure could mean one.
async fn fetch_raw(
    mut client: dbcreds::Client,
    name: &EnvName,
    purpose: dbcreds::Purpose,
    child: Option<&std::path::Path>,
) -> dbcreds::Result<Credential> {
    async fn get(
        c: &mut dbcreds::Client,
        name: &EnvName,
        purpose: dbcreds::Purpose,
        child: Option<&std::path::Path>,
    ) -> dbcreds::Result<Credential> {
        match child {
            Some(child) => c.get_for_child(name, child).await,
            None => c.get_for(name, purpose).await,
        }
    }
    match get(&mut client, name, purpose, child).await {
        // The hot path asks nothing else; only a failure that could mean
        // "an agent of another version" earns a protocol check.
        Err(e) if may_be_stale(&e) => match replace_if_stale(client).await {
            Ok(fresh) => get(&mut noticing(fresh), name, purpose, child).await,
            Err(_) => Err(e),
        },
        other => other,
    }
}

fn may_be_stale(e: &dbcreds::Error) -> bool {
    matches!(e, dbcreds::Error::Protocol(_)) || e.reason() == Some(dbcreds::Reason::Internal)
}

/// Connects to the agent (starting one if none runs) and makes sure it
/// speaks this client's protocol, replacing an agent of another version
/// transparently (as atuin does with its daemon).
pub(crate) async fn connect() -> Result<dbcreds::Client, Failure> {
    Ok(noticing(
        replace_if_stale(dbcreds::Client::connect_or_start().await?).await?,
    ))
}

/// [`connect`] for `init` and `restore`, which make the vault: it starts
/// an agent where none exists yet.
pub(crate) async fn connect_without_vault() -> Result<dbcreds::Client, Failure> {
    Ok(noticing(
        replace_if_stale(dbcreds::Client::connect_or_start_without_vault().await?).await?,
    ))
}

async fn replace_if_stale(mut client: dbcreds::Client) -> Result<dbcreds::Client, Failure> {
    let st = client.status().await?;
    if st.protocol == dbcreds::proto::PROTOCOL {
        return Ok(client);
    }
    output::note(&format!(
        "Replacing the running agent {} (protocol {}) with one of this version (protocol {}).",
        st.agent_version,
        st.protocol,
        dbcreds::proto::PROTOCOL
    ));
    let socket = client.socket().to_owned();
    drop(client);
    agent::terminate(st.pid, &socket, true).await?;
    // An agent ran: its replacement starts whether or not a vault exists.
    Ok(dbcreds::Client::connect_or_start_without_vault().await?)
}

/// Warns on stderr when the password of `env` is past its expiry, or fails
/// with the expired exit code when `require_fresh`.
pub(crate) fn check_expiry(env: &Environment, require_fresh: bool) -> Result<(), Failure> {
    let expiry = env.expiry(Utc::now());
    if !expiry.is_expired() {
        return Ok(());
    }
    let message = expired_message(env, expiry);
    if require_fresh {
        return Err(Failure::new(exit::EXPIRED, message));
    }
    output::warn(&message);
    Ok(())
}

fn expired_message(env: &Environment, expiry: Expiry) -> String {
    format!(
        "the password of '{name}' {expiry}: set a new one with `dbcreds update {name} --password`",
        name = env.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use dbcreds::DatabaseKind;

    #[test]
    fn expiry_warns_or_fails() {
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        env.password_updated_at = Some(Utc::now() - Duration::days(100));
        assert!(check_expiry(&env, false).is_ok());
        let f = check_expiry(&env, true).unwrap_err();
        assert_eq!(f.code, exit::EXPIRED);
        assert!(
            f.message.contains("'prod' expired 10 days ago"),
            "{}",
            f.message
        );
        assert!(f.message.contains("dbcreds update prod --password"));
        env.password_updated_at = Some(Utc::now());
        assert!(check_expiry(&env, true).is_ok());
        env.expires_days = None;
        env.password_updated_at = Some(Utc::now() - Duration::days(1000));
        assert!(check_expiry(&env, true).is_ok());
    }
}
