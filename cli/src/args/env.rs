//! The arguments of the verbs that read and change environments.

use clap::{Args, ValueEnum};
use dbcreds::model::parse_port;
use dbcreds::{DatabaseKind, EnvName};

use chrono::{DateTime, Utc};
use dbcreds::Auth;

use super::sources::SecretFromArgs;
use super::values::{
    AddAuth, ExpiresDays, KindParser, parse_add_auth, parse_auth, parse_changed_at,
    parse_expires_days, parse_name, parse_option,
};

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Environment name: 1-50 characters of a-z, 0-9, _ and - (case-folded)
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// Database kind [default: postgres; asked on a terminal]
    #[arg(short, long, visible_alias = "type", visible_short_alias = 't', value_parser = KindParser)]
    pub kind: Option<DatabaseKind>,
    /// Host name or address (Snowflake: the account locator)
    #[arg(long)]
    pub host: Option<String>,
    /// TCP port [default: the kind's default port]
    #[arg(short, long, value_parser = parse_port)]
    pub port: Option<u16>,
    /// Database name (SQLite: the file path)
    #[arg(short, long)]
    pub database: Option<String>,
    /// Login user or role
    #[arg(short, long, alias = "username")]
    pub user: Option<String>,
    /// Read the password from standard input (one trailing newline is dropped)
    #[arg(long)]
    pub password_stdin: bool,
    /// How it logs in: password, none (trust/peer), cert (-o sslcert=… -o sslkey=…), or rds-iam (an IAM token from --source AWS)
    #[arg(long, value_name = "password|none|cert|rds-iam", value_parser = parse_add_auth)]
    pub auth: Option<AddAuth>,
    /// When the password last changed (YYYY-MM-DD), if not today
    #[arg(long, value_name = "DATE", value_parser = parse_changed_at)]
    pub password_changed: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub from: SecretFromArgs,
    /// Mark the environment as production
    #[arg(long)]
    pub production: bool,
    /// Free text shown by `show`
    #[arg(long)]
    pub description: Option<String>,
    /// Driver option KEY=VALUE, for example sslmode=require (repeatable)
    #[arg(short, long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
    pub options: Vec<(String, String)>,
    /// Days until the password counts as expired, or `never` [default: 90]
    #[arg(long, value_name = "N|never", value_parser = parse_expires_days)]
    pub expires_days: Option<ExpiresDays>,
    /// Replace an environment of the same name
    #[arg(long)]
    pub force: bool,
}

/// What `get` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Field {
    /// The password
    Password,
    /// The host
    Host,
    /// The port
    Port,
    /// The database name
    Database,
    /// The login user
    #[value(alias = "username")]
    User,
    /// A connection URI with the password
    #[value(alias = "url")]
    Uri,
    /// The database kind
    Kind,
    /// A JDBC URL with user and password
    Jdbc,
    /// A libpq key=value connection string with the password
    Libpq,
}

impl Field {
    /// The name `get` takes.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_owned())
    }

    /// Whether the printed value contains the password.
    pub fn reveals_password(self) -> bool {
        matches!(self, Self::Password | Self::Uri | Self::Jdbc | Self::Libpq)
    }

    /// What the agent's audit log records for a `get` of this field.
    pub fn purpose(self) -> dbcreds::Purpose {
        match self {
            Self::Uri => dbcreds::Purpose::GetUri,
            Self::Jdbc => dbcreds::Purpose::GetJdbc,
            Self::Libpq => dbcreds::Purpose::GetLibpq,
            _ => dbcreds::Purpose::Get,
        }
    }
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Environment name
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// What to print
    #[arg(value_enum, default_value_t = Field::Password)]
    pub field: Field,
    /// Fail (exit code 11) instead of printing an expired password
    #[arg(long)]
    pub require_fresh: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Environment name
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Environment name
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// New database kind
    #[arg(short, long, visible_alias = "type", visible_short_alias = 't', value_parser = KindParser)]
    pub kind: Option<DatabaseKind>,
    /// New host
    #[arg(long)]
    pub host: Option<String>,
    /// New port
    #[arg(short, long, value_parser = parse_port)]
    pub port: Option<u16>,
    /// New database name
    #[arg(short, long)]
    pub database: Option<String>,
    /// New login user
    #[arg(short, long, alias = "username")]
    pub user: Option<String>,
    /// Mark or unmark as production
    #[arg(long, value_name = "true|false")]
    pub production: Option<bool>,
    /// New description
    #[arg(long)]
    pub description: Option<String>,
    /// Set a driver option KEY=VALUE; an empty VALUE removes it (repeatable)
    #[arg(short, long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
    pub options: Vec<(String, String)>,
    /// Days until the password counts as expired, or `never`
    #[arg(long, value_name = "N|never", value_parser = parse_expires_days)]
    pub expires_days: Option<ExpiresDays>,
    /// Set a new password, prompted on the terminal
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: bool,
    /// How it logs in: password, none or cert (leaving password forgets the password)
    #[arg(long, value_name = "password|none|cert", value_parser = parse_auth)]
    pub auth: Option<Auth>,
    /// Backdate "password last changed" (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = parse_changed_at)]
    pub password_changed: Option<DateTime<Utc>>,
    /// Set a new password read from standard input (one trailing newline is dropped)
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Environment name
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// `export` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A connection URI
    Uri,
    /// `export DBCREDS_<ENV>_*='...'` lines for a POSIX shell
    Env,
    /// `DBCREDS_<ENV>_*="..."` lines for a .env file
    Dotenv,
    /// A JSON object
    Json,
    /// A ~/.pgpass line
    Pgpass,
    /// A libpq key=value connection string
    Libpq,
    /// A JDBC URL
    Jdbc,
    /// A pg_service.conf section (no password; --pgpass FILE with --all writes them)
    #[value(name = "pg_service", alias = "pg-service")]
    PgService,
}

impl ExportFormat {
    /// The name `--format` takes.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_owned())
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Environment name
    #[arg(value_parser = parse_name, required_unless_present = "all")]
    pub name: Option<EnvName>,
    /// Output format
    #[arg(short, long, value_enum)]
    pub format: ExportFormat,
    /// Fail (exit code 11) instead of exporting an expired password
    #[arg(long, conflicts_with = "all")]
    pub require_fresh: bool,
    /// Every environment: a JSON array (--format json; no passwords unless --include-passwords) or pg_service.conf
    #[arg(long, conflicts_with = "name")]
    pub all: bool,
    /// With --all: include each password (and a URI with it); warns on a terminal
    #[arg(long)]
    pub include_passwords: bool,
    /// With --all --format pg_service: also write the matching .pgpass to FILE (0600)
    #[arg(long, value_name = "FILE")]
    pub pgpass: Option<std::path::PathBuf>,
    /// With --pgpass: replace a FILE readable or writable by others (the new one is 0600)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Environment name
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// Run even inside `dbcreds exec` of another environment
    #[arg(long)]
    pub force: bool,
    /// Fail (exit code 11) instead of running with an expired password
    #[arg(long)]
    pub require_fresh: bool,
    #[command(flatten)]
    pub supervise: super::SuperviseArgs,
    /// The command and its arguments, after `--` [default: $SHELL]
    #[arg(last = true, value_name = "CMD", value_parser = clap::value_parser!(std::ffi::OsString))]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// List only passwords that are expired or expire within 14 days (nothing when all are fine)
    #[arg(short, long)]
    pub quiet: bool,
}
