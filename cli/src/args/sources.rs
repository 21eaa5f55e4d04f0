//! The arguments of `source` and `refresh`, and the flags of `add` that
//! say where an environment's secret comes from (docs/team.md).

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use dbcreds::EnvName;

use super::values::parse_name;

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add a source: an OpenBao/Vault server or an AWS account
    #[command(after_help = "Examples:
  dbcreds source add team --kind openbao --address https://bao.internal:8200 --auth approle --role-id 8981…
      prompts for the AppRole secret-id (or pipe it in with --login-stdin)
  printf %s \"$VAULT_TOKEN\" | dbcreds source add team --kind vault --address https://vault:8200 --login-stdin
  dbcreds source add aws --kind aws --region eu-west-1 --profile prod

The login secret (token, secret-id, password) is sealed in the vault like a
password; AWS sources use the standard credential chain (environment, shared
config and credentials files, SSO cache, instance metadata) and store none.")]
    Add(Box<SourceAddArgs>),
    /// List the sources (with --check, ask each whether it answers)
    List(SourceListArgs),
    /// Show one source and the environments that use it
    Show(SourceNameArgs),
    /// Remove a source no environment uses
    Remove(SourceNameArgs),
    /// Give a source a new login secret (token, secret-id, password)
    Login(SourceLoginArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKindArg {
    Openbao,
    Vault,
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoginMethod {
    Token,
    Approle,
    Userpass,
}

#[derive(Debug, Args)]
pub struct SourceAddArgs {
    /// Source name: 1-50 characters of a-z, 0-9, _ and -
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// What it is
    #[arg(long)]
    pub kind: SourceKindArg,
    /// openbao/vault: the server's address, e.g. https://bao.internal:8200
    #[arg(long)]
    pub address: Option<String>,
    /// openbao/vault: the namespace
    #[arg(long)]
    pub namespace: Option<String>,
    /// openbao/vault: a PEM file of CA certificates to trust
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// openbao/vault: how the agent logs in [default: token]
    #[arg(long)]
    pub auth: Option<LoginMethod>,
    /// --auth approle: the role id (the secret-id is the login secret)
    #[arg(long)]
    pub role_id: Option<String>,
    /// --auth userpass: the user name (the password is the login secret)
    #[arg(long)]
    pub username: Option<String>,
    /// Where the login method is mounted [default: approle / userpass]
    #[arg(long)]
    pub mount: Option<String>,
    /// aws: the region [default: the AWS configuration's]
    #[arg(long)]
    pub region: Option<String>,
    /// aws: the profile of the shared config files
    #[arg(long)]
    pub profile: Option<String>,
    /// aws: another Secrets Manager endpoint (a VPC endpoint)
    #[arg(long)]
    pub endpoint: Option<String>,
    /// How long one request to the source may take (e.g. 5s)
    #[arg(long, value_parser = parse_secs)]
    pub timeout: Option<Duration>,
    /// Read the login secret from standard input (one trailing newline is dropped)
    #[arg(long)]
    pub login_stdin: bool,
    /// Replace a source of the same name
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SourceListArgs {
    /// Ask each source whether it answers (bounded by its timeout)
    #[arg(long)]
    pub check: bool,
    /// JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SourceNameArgs {
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SourceLoginArgs {
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// Read the login secret from standard input (one trailing newline is dropped)
    #[arg(long)]
    pub login_stdin: bool,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The environment whose secret the agent fetches again
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
}

/// `add`'s flags for a secret that lives in a source.
#[derive(Debug, Args, Default)]
pub struct SecretFromArgs {
    /// The source the secret comes from (see `dbcreds source list`), or pass:ENTRY for the pass store
    #[arg(long, value_name = "NAME|pass:ENTRY")]
    pub source: Option<String>,
    /// A KV secret of the source (e.g. secret/db/prod) with the connection's fields
    #[arg(long, value_name = "PATH", requires = "source", conflicts_with_all = ["dynamic", "static_role", "secret"])]
    pub kv: Option<String>,
    /// A database-engine role of the source (e.g. database/creds/app-ro): a new user per lease
    #[arg(long, value_name = "PATH", requires = "source", conflicts_with_all = ["static_role", "secret"])]
    pub dynamic: Option<String>,
    /// A static database role of the source (e.g. database/static-creds/app)
    #[arg(
        long = "static",
        value_name = "PATH",
        requires = "source",
        conflicts_with = "secret"
    )]
    pub static_role: Option<String>,
    /// An AWS Secrets Manager secret (name or ARN), RDS JSON shape
    #[arg(long, value_name = "ID", requires = "source")]
    pub secret: Option<String>,
    /// A program that prints the password (run with sh -c by the agent)
    #[arg(long, value_name = "CMD", conflicts_with_all = ["source", "password_stdin"])]
    pub password_command: Option<String>,
    /// How long the agent keeps what --password-command printed [default: 5m]
    #[arg(long, value_name = "DURATION", value_parser = parse_secs, requires = "password_command")]
    pub cache_for: Option<Duration>,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if d.as_secs() >= 1 => Ok(d),
        _ => Err(format!(
            "'{s}' is not a duration of a second or more: use e.g. 30s, 10m, 1h"
        )),
    }
}
