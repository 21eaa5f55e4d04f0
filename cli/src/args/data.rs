//! The arguments of `import` and of the verbs that reach the databases or
//! the audit log: `test`, `rotate`, `audit`.

use clap::{Args, ValueEnum};
use dbcreds::error::InvalidInput;
use dbcreds::{DatabaseKind, EnvName};

use super::values::{KindParser, parse_name};

/// Where `import` reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportSource {
    /// The Python dbcreds: DIR/environments.json [~/.dbcreds] and its OS keyring entries
    Python,
    /// The variables DB_SERVER, DB_PORT, DB_NAME, DB_USER, DB_PWD, DB_PWD_EXPIRY, DB_PWD_DATE
    Env,
    /// A libpq password file [$PGPASSFILE, else ~/.pgpass]
    Pgpass,
    /// What `dbcreds export --format json` writes (an object or an array; - for stdin)
    Json,
}

impl ImportSource {
    /// The name `--from` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::Env => "env",
            Self::Pgpass => "pgpass",
            Self::Json => "json",
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where to import from
    #[arg(long, value_enum)]
    pub from: ImportSource,
    /// The directory (python) or file (pgpass, json; - for standard input)
    pub path: Option<std::path::PathBuf>,
    /// Name for the imported environment [--from env: default]; other sources: only when they hold one
    #[arg(long, value_parser = parse_name)]
    pub name: Option<EnvName>,
    /// Kind for --from env [default: guessed from DB_PORT and DB_SERVER]
    #[arg(short, long, value_parser = KindParser)]
    pub kind: Option<DatabaseKind>,
    /// Show what would be imported, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Replace environments that exist already
    #[arg(long)]
    pub overwrite: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Environment name
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Environment name
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// Length of the new password [default: 32]
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=128), conflicts_with = "resume")]
    pub length: Option<u32>,
    /// Characters to draw the new password from [default: A-Z a-z 0-9 - _ .]
    #[arg(long, conflicts_with = "resume")]
    pub alphabet: Option<String>,
    /// Change the password through this environment's (admin) credentials
    #[arg(long, value_name = "ENV", value_parser = parse_name, conflicts_with = "resume")]
    pub admin: Option<EnvName>,
    /// MySQL/MariaDB: change exactly the accounts 'USER'@'HOST' of these hosts
    /// [default: the one the environment logs in to, and every other account
    /// of the user with the same password]
    #[arg(
        long,
        value_name = "HOST,...",
        value_delimiter = ',',
        conflicts_with = "resume"
    )]
    pub hosts: Vec<String>,
    /// Finish or roll back an interrupted rotation instead of starting one
    #[arg(long)]
    pub resume: bool,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this environment
    #[arg(value_parser = parse_name)]
    pub name: Option<EnvName>,
    /// Only events since a duration ago (30m, 12h, 7d) or a time (RFC 3339, YYYY-MM-DD)
    #[arg(long, value_name = "DURATION|TIME", value_parser = parse_since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many events, the newest [default: 1000]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: Option<u32>,
    /// Only the decisions on confirmations (approved, refused, timed out, not allowed)
    #[arg(long)]
    pub decisions: bool,
    /// Print a JSON array
    #[arg(long)]
    pub json: bool,
}

/// Parses `--since`: a duration back from now (`30m`, `12h`, `7d`, `2w`),
/// an RFC 3339 time, or a date (midnight UTC).
pub fn parse_since(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, InvalidInput> {
    use chrono::{DateTime, NaiveDate, Utc};
    let t = raw.trim();
    if let Ok(d) = humantime::parse_duration(t)
        && let Ok(d) = chrono::Duration::from_std(d)
        && let Some(at) = Utc::now().checked_sub_signed(d)
    {
        return Ok(at);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Some(at) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(at.and_utc());
    }
    Err(InvalidInput::Field {
        field: "--since".into(),
        why: format!(
            "'{raw}' is neither a duration (30m, 12h, 7d) nor a time (2026-01-31T00:00:00Z, 2026-01-31)"
        ),
    })
}
