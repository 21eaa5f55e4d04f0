//! The arguments of `policy` and `approve` (docs/security.md).

use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand};
use dbcreds::EnvName;
use dbcreds::config::Limit;
use dbcreds::error::InvalidInput;
use dbcreds::policy::Confirm;

use super::values::parse_name;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Set an environment's policy, or the default of production environments
    #[command(after_help = "Examples:
  dbcreds policy set prod --confirm once-per-session --approve-for 15m
  dbcreds policy set prod --allow psql --allow ~/.cargo/bin/myservice
  dbcreds policy set prod --max-unlocked 1h
  dbcreds policy set --production-default --confirm always
  dbcreds policy set prod --allow-any --confirm never     (asks for a confirmation first)

Flags not given keep the values of the policy in force. --allow takes a path,
~/..., or a name looked up on PATH; the agent resolves symbolic links, and
from then on only those executables (as the kernel names the caller's, or
the program `dbcreds exec` runs) get the secret. A change that loosens a
policy in force needs a confirmation (askpass or `dbcreds approve`).")]
    Set(PolicySetArgs),
    /// Show the policy in force for an environment, or the production default
    #[command(after_help = "Examples:
  dbcreds policy show prod
  dbcreds policy show --production-default --json")]
    Show(PolicyShowArgs),
    /// Remove an environment's own policy (it falls back to the production default)
    Remove(PolicyTargetArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["name", "production_default"])))]
pub struct PolicyTargetArgs {
    /// The environment
    #[arg(value_parser = parse_name)]
    pub name: Option<EnvName>,
    /// The default of every production environment without a policy of its own
    #[arg(long)]
    pub production_default: bool,
}

#[derive(Debug, Args)]
pub struct PolicySetArgs {
    #[command(flatten)]
    pub target: PolicyTargetArgs,
    /// When to ask before revealing: never, once-per-session, always
    #[arg(long, value_parser = parse_confirm)]
    pub confirm: Option<Confirm>,
    /// How long a once-per-session approval lasts (e.g. 15m, 1h) [default: 15m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub approve_for: Option<Duration>,
    /// Only this program may receive the secret (repeat for more; replaces the list)
    #[arg(long, value_name = "PATH")]
    pub allow: Vec<String>,
    /// Any program of yours may receive the secret (empties the allow list)
    #[arg(long, conflicts_with = "allow")]
    pub allow_any: bool,
    /// Forget the secret this long after an unlock (e.g. 1h), or never
    #[arg(long, value_name = "DURATION|never", value_parser = parse_limit)]
    pub max_unlocked: Option<Limit>,
    /// Print the policy afterwards as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PolicyShowArgs {
    #[command(flatten)]
    pub target: PolicyTargetArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Approve this pending request
    #[arg(conflicts_with = "deny")]
    pub id: Option<u64>,
    /// Refuse this pending request
    #[arg(long, value_name = "ID")]
    pub deny: Option<u64>,
    /// Print the pending requests as JSON
    #[arg(long)]
    pub json: bool,
}

fn parse_confirm(raw: &str) -> Result<Confirm, InvalidInput> {
    raw.parse()
}

fn bad(flag: &str, why: String) -> InvalidInput {
    InvalidInput::Field {
        field: flag.into(),
        why,
    }
}

fn parse_duration(raw: &str) -> Result<Duration, InvalidInput> {
    match humantime::parse_duration(raw.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(bad(
            "--approve-for",
            format!("'{raw}' is not a duration: use for example 30s, 15m or 1h"),
        )),
    }
}

fn parse_limit(raw: &str) -> Result<Limit, InvalidInput> {
    raw.parse().map_err(|why| bad("--max-unlocked", why))
}
