//! The command line: clap derive definitions, with the model's parsers as
//! value parsers so a bad name, kind or port fails before anything else runs.

use std::ffi::OsStr;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use dbcreds::error::InvalidInput;
use dbcreds::model::parse_port;
use dbcreds::{DatabaseKind, EnvName};

use crate::exit::exit_code_table;

/// Parses the command line. Help and version go to stdout as clap prints
/// them; any other parse error becomes one line on stderr and exit code 2.
pub fn parse() -> Result<Cli, std::process::ExitCode> {
    use clap::error::ErrorKind;
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                Err(std::process::ExitCode::from(
                    u8::try_from(e.exit_code()).unwrap_or(crate::exit::USAGE),
                ))
            }
            _ => {
                let verb = verb_of(std::env::args_os().skip(1));
                crate::output::note(&format!(
                    "dbcreds: {}",
                    crate::exit::clap_message(&e, verb.as_deref())
                ));
                Err(std::process::ExitCode::from(crate::exit::USAGE))
            }
        },
    }
}

/// The verb (and sub-verb) named on the command line, for the `--help` hint.
fn verb_of(args: impl Iterator<Item = std::ffi::OsString>) -> Option<String> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut words: Vec<String> = Vec::new();
    let mut current = &cmd;
    for arg in args {
        let Some(a) = arg.to_str() else { break };
        if a.starts_with('-') {
            continue;
        }
        match current.find_subcommand(a) {
            Some(sub) => {
                words.push(sub.get_name().to_owned());
                current = sub;
            }
            None => break,
        }
    }
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

/// Longest password lifetime `--expires-days` accepts (100 years).
pub const MAX_EXPIRES_DAYS: u32 = 36_500;

#[derive(Debug, Parser)]
#[command(
    name = "dbcreds",
    version,
    about = "Database credentials for named environments, served by the dbcreds agent",
    long_about = "Database credentials for named environments (dev, staging, prod), served by the \
                  per-user dbcreds agent. DBCREDS_<ENV>_HOST/_PORT/_DATABASE/_USERNAME/_PASSWORD/_KIND \
                  variables define an environment without an agent and win over it.",
    arg_required_else_help = true,
    after_help = concat!(
        "Examples:
  dbcreds init                              create the vault and start the agent
  dbcreds add prod --host db.internal --database app --user app
  dbcreds get prod                          the password, nothing else
  psql \"$(dbcreds get prod uri)\"
  eval \"$(dbcreds export prod --format env)\"
  dbcreds list

",
        exit_code_table!()
    )
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the vault, pick and report the unlocker, start the agent
    #[command(after_help = "Examples:
  dbcreds init                                   OS keyring if one answers, else a passphrase
  dbcreds init --unlocker passphrase             always a passphrase (prompted twice)
  printf %s \"$PASS\" | dbcreds init --unlocker passphrase --passphrase-stdin
  DBCREDS_PASSPHRASE_FILE=~/.config/dbcreds/pass dbcreds init")]
    Init(InitArgs),

    /// Add an environment; prompts on a terminal for what the flags leave out
    #[command(after_help = "Examples:
  dbcreds add prod --host db.internal --database app --user app      prompts for the password
  printf %s \"$PW\" | dbcreds add ci --host localhost --database test --user ci --password-stdin
  dbcreds add shop --kind mariadb --host 10.0.0.5 --database shop --user web --option ssl-mode=REQUIRED
  dbcreds add local --kind sqlite --database ./dev.db --password-stdin </dev/null
  dbcreds add prod ... --force                   replace an existing prod")]
    Add(AddArgs),

    /// Print the password (or one field) of an environment, and nothing else
    #[command(after_help = "Examples:
  dbcreds get prod                   the password
  dbcreds get prod uri               postgresql://app:p%40ss@db.internal:5432/app
  dbcreds get prod host
  PGPASSWORD=\"$(dbcreds get prod --require-fresh)\" psql -h db.internal app

DBCREDS_<ENV>_* variables are read first; then no agent is asked.
An expired password is still printed, with a warning on stderr,
unless --require-fresh (exit code 11).")]
    Get(GetArgs),

    /// Show everything about an environment except its password
    #[command(after_help = "Examples:
  dbcreds show prod
  dbcreds show prod --json | jq .expiry")]
    Show(ShowArgs),

    /// List the environments (never their passwords)
    #[command(
        visible_alias = "ls",
        after_help = "Examples:
  dbcreds list
  dbcreds list --json | jq -r '.[] | select(.production) | .name'"
    )]
    List(ListArgs),

    /// Change fields of an environment, or its password
    #[command(after_help = "Examples:
  dbcreds update prod --host db2.internal
  dbcreds update prod --password                 prompts for the new password
  printf %s \"$NEW\" | dbcreds update prod --password-stdin
  dbcreds update prod --option sslmode=verify-full --option sslrootcert=/etc/ssl/ca.pem
  dbcreds update prod --option sslmode=          remove the sslmode option
  dbcreds update prod --expires-days never")]
    Update(UpdateArgs),

    /// Remove an environment and its password
    #[command(
        visible_alias = "rm",
        after_help = "Examples:
  dbcreds remove staging             asks first
  dbcreds remove staging --force     does not ask (needed without a terminal)"
    )]
    Remove(RemoveArgs),

    /// Print an environment's credentials in a format other tools read
    #[command(after_help = "Examples:
  eval \"$(dbcreds export prod --format env)\"      DBCREDS_PROD_* variables in this shell
  dbcreds export prod --format dotenv >> .env
  dbcreds export prod --format pgpass >> ~/.pgpass
  dbcreds export prod --format jdbc
  dbcreds export prod --format json | jq -r .uri")]
    Export(ExportArgs),

    /// Run a command with an environment's connection in its environment
    #[command(after_help = "Examples:
  dbcreds exec prod -- psql -tAc 'select current_user'
  dbcreds exec shop -- mariadb -e 'select current_user()'
  dbcreds exec prod -- ./migrate.sh            DATABASE_URL is set for every kind
  dbcreds exec prod                            a shell ($SHELL) with the connection set

PostgreSQL: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE and
PGSSLROOTCERT/PGSSLCERT/PGSSLKEY (from the options) are set.
MySQL/MariaDB: MYSQL_HOST, MYSQL_TCP_PORT and MYSQL_PWD are set, and
MYSQL_HOME names a my.cnf (in the runtime dir, no password in it) that
carries the user, which no variable can. A ~/.my.cnf still wins over it.
Every kind: DATABASE_URL, DBCREDS_ENV=NAME and DBCREDS_<NAME>_*.

The command replaces dbcreds (exec), so its exit code and signals are its
own. A missing command exits 127, one that cannot be run 126. Inside
`dbcreds exec` of another environment (DBCREDS_ENV set) dbcreds refuses
(exit code 14) unless --force.")]
    Exec(ExecArgs),

    /// List expired and soon-expiring passwords; exit code 11 when any expired
    #[command(after_help = "Examples:
  dbcreds check                      every environment, the worst first
  dbcreds check --quiet              only those expired or expiring within 14 days
  dbcreds check --json | jq '.environments[] | select(.status != \"healthy\")'
  0 8 * * * dbcreds check --quiet    (crontab: mail only when something needs doing)

Exits 0 when no password has expired (expiring ones are listed but do not
fail), 11 when at least one has. No colour unless stdout is a terminal.")]
    Check(CheckArgs),

    /// Import environments from the Python dbcreds, DB_* variables, a .pgpass or a JSON file
    #[command(after_help = "Examples:
  dbcreds import --from python --dry-run        ~/.dbcreds and its keyring entries
  dbcreds import --from python /backup/.dbcreds
  dbcreds import --from env --name legacy       DB_SERVER, DB_PORT, DB_NAME, DB_USER, DB_PWD
  dbcreds import --from pgpass                  $PGPASSFILE or ~/.pgpass
  dbcreds import --from json prod.json --overwrite
  dbcreds export prod --format json | dbcreds import --from json - --name prod-copy

Existing environments are kept unless --overwrite. Parts of the source that
cannot be imported (a wildcard .pgpass line, a masked password, an unknown
database type) are listed with the reason; they do not fail the import.
--from env names its environment `default` unless --name, as the Python
tool's dbcreds-migrate did.")]
    Import(ImportArgs),

    /// Connect to an environment's database (in the agent) and report version and latency
    #[command(after_help = "Examples:
  dbcreds test prod                  PostgreSQL 15.4 (Debian ...), 12 ms, TLS
  dbcreds test prod --json | jq .latency_ms
  dbcreds test prod || echo \"prod is down or the password is wrong\"

The agent connects with the stored credentials and the TLS options
(sslmode, sslrootcert, sslcert, sslkey; connect_timeout, default 5 s); the
password never leaves it. The outcome is stored and shown by `show` and
`list`. Failures have their own exit codes: 15 unreachable, 16 login
refused, 17 TLS failure, 18 no driver for the kind (mssql, oracle,
snowflake), 19 other server error.")]
    Test(TestArgs),

    /// Set a new generated password on the database server and in the vault, crash-safe
    #[command(after_help = "Examples:
  dbcreds rotate prod                       32 random letters, digits and -_.
  dbcreds rotate prod --length 48
  dbcreds rotate prod --admin prod-admin    through an admin role that may ALTER the user
  dbcreds rotate prod --resume              finish or roll back an interrupted rotation

The new password is stored as pending before the server is touched, set on
the server (PostgreSQL: ALTER ROLE with a SCRAM-SHA-256 verifier; MariaDB:
SET PASSWORD / ALTER USER with the mysql_native_password hash, so the
password is never in the SQL), verified by logging in, then promoted; the
old one is kept as previous. If the agent dies midway, `--resume` (or the
agent's next unlock) probes the pending, current and previous passwords and
keeps the one the server takes. A failed rotation changes no stored
password. `dbcreds get prod` prints the new password afterwards.")]
    Rotate(RotateArgs),

    /// Show the audit log: who read, tested or rotated what, and when
    #[command(after_help = "Examples:
  dbcreds audit                      the last 1000 events
  dbcreds audit prod --since 1d
  dbcreds audit --since 2026-01-31T00:00:00Z --json | jq '.[] | select(.outcome != \"ok\")'

--since takes a duration back from now (30m, 12h, 7d, 2w) or a time
(RFC 3339, or a date YYYY-MM-DD in UTC). Works while the vault is locked.")]
    Audit(AuditArgs),

    /// Lock the vault: the agent forgets the key and every password
    Lock,

    /// Unlock the vault through the OS keyring, or with the passphrase
    #[command(after_help = "Examples:
  dbcreds unlock                     OS keyring first, else prompts for the passphrase
  dbcreds unlock --passphrase-stdin < ~/.config/dbcreds/pass
  DBCREDS_PASSPHRASE_FILE=~/.config/dbcreds/pass dbcreds unlock")]
    Unlock(UnlockArgs),

    /// Show the agent's state; never starts an agent
    #[command(after_help = "Examples:
  dbcreds status
  dbcreds status --json | jq -r .state

Exits 6 when no agent answers.")]
    Status(StatusArgs),

    /// Check the setup and say how to fix what is wrong
    #[command(after_help = "Examples:
  dbcreds doctor
  dbcreds doctor --json

Checks the config file, the socket directory's owner and mode, the agent (running, same
version), the vault's integrity and the OS keyring (through the agent), and the login units.
Never starts an agent. Exits 0 when nothing is wrong, 1 otherwise.")]
    Doctor(StatusArgs),

    /// Print a shell completion script
    #[command(after_help = "Examples:
  dbcreds completions bash > ~/.local/share/bash-completion/completions/dbcreds
  dbcreds completions zsh > \"${fpath[1]}/_dbcreds\"
  dbcreds completions fish > ~/.config/fish/completions/dbcreds.fish")]
    Completions(CompletionsArgs),

    /// Write man pages and completion scripts into a directory (for packagers)
    #[command(hide = true)]
    GenerateDocs(GenerateDocsArgs),

    /// Start, stop or inspect the agent
    #[command(subcommand)]
    Agent(AgentCommand),
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Start the agent unless one answers already
    Start,
    /// Stop the running agent (SIGTERM) and wait until it has exited
    Stop,
    /// Stop the running agent, then start a new one (after an upgrade)
    Restart,
    /// Same as `dbcreds status`
    Status(StatusArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Unlocker {
    /// The OS keyring if one answers, else a passphrase
    Auto,
    /// The OS keyring (Secret Service, Keychain, Credential Manager)
    Keyring,
    /// A passphrase (prompted, --passphrase-stdin, or DBCREDS_PASSPHRASE_FILE)
    Passphrase,
}

impl Unlocker {
    /// The name the agent's `Init` expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Keyring => "keyring",
            Self::Passphrase => "passphrase",
        }
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// How the vault is unlocked
    #[arg(long, value_enum, default_value_t = Unlocker::Auto)]
    pub unlocker: Unlocker,
    /// Read the passphrase from the first line of standard input
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Environment name: 1-50 characters of a-z, 0-9, _ and - (case-folded)
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// Database kind
    #[arg(short, long, alias = "type", default_value = "postgres", value_parser = KindParser)]
    pub kind: DatabaseKind,
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
    /// Whether the printed value contains the password.
    pub fn reveals_password(self) -> bool {
        matches!(self, Self::Password | Self::Uri | Self::Jdbc | Self::Libpq)
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
    #[arg(short, long, alias = "type", value_parser = KindParser)]
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
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Environment name
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// Output format
    #[arg(short, long, value_enum)]
    pub format: ExportFormat,
    /// Fail (exit code 11) instead of exporting an expired password
    #[arg(long)]
    pub require_fresh: bool,
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
pub struct UnlockArgs {
    /// Read the passphrase from the first line of standard input
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// Output directory; gets man/ and completions/ subdirectories
    pub dir: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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

/// `--expires-days`: a number of days, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresDays {
    /// Expires this many days after it is set.
    Days(u32),
    /// Never expires.
    Never,
}

impl ExpiresDays {
    /// As the model holds it: `None` for never.
    pub fn as_option(self) -> Option<u32> {
        match self {
            Self::Days(d) => Some(d),
            Self::Never => None,
        }
    }

    /// As `UpdateRequest.expires_days` wants it: 0 for never.
    pub fn as_wire(self) -> u32 {
        self.as_option().unwrap_or(0)
    }
}

/// Parses an environment name with the model's rules.
pub fn parse_name(raw: &str) -> Result<EnvName, InvalidInput> {
    EnvName::parse(raw)
}

fn parse_kind(raw: &str) -> Result<DatabaseKind, InvalidInput> {
    raw.parse()
}

/// Parses `--expires-days`: `never`, or 1 to [`MAX_EXPIRES_DAYS`].
pub fn parse_expires_days(raw: &str) -> Result<ExpiresDays, InvalidInput> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(ExpiresDays::Never);
    }
    match t.parse::<u32>() {
        Ok(d) if (1..=MAX_EXPIRES_DAYS).contains(&d) => Ok(ExpiresDays::Days(d)),
        _ => Err(InvalidInput::Field {
            field: "--expires-days".into(),
            why: format!(
                "'{raw}' is not a number of days from 1 to {MAX_EXPIRES_DAYS}; use a number, or `never`"
            ),
        }),
    }
}

/// Parses `--option KEY=VALUE`. The value may be empty (on `update` that
/// removes the option) and may itself contain `=`.
pub fn parse_option(raw: &str) -> Result<(String, String), InvalidInput> {
    let bad = |why: String| InvalidInput::Field {
        field: "--option".into(),
        why,
    };
    let Some((key, value)) = raw.split_once('=') else {
        return Err(bad(format!(
            "'{raw}' has no '=': use KEY=VALUE, for example sslmode=require"
        )));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(bad(format!(
            "'{raw}' has an empty key: use KEY=VALUE, for example sslmode=require"
        )));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(format!(
            "key '{key}' contains white space: use KEY=VALUE, for example sslmode=require"
        )));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// The `--kind` parser: the model's parser (so errors carry its message),
/// with the canonical names as possible values for help and completions.
#[derive(Debug, Clone, Copy)]
pub struct KindParser;

impl TypedValueParser for KindParser {
    type Value = DatabaseKind;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Self::Value, clap::Error> {
        TypedValueParser::parse_ref(&parse_kind, cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            DatabaseKind::ALL
                .iter()
                .map(|k| PossibleValue::new(k.as_str())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn since_takes_durations_and_times() {
        let now = chrono::Utc::now();
        let d = parse_since("7d").unwrap();
        assert!((now - d - chrono::Duration::days(7)).num_seconds().abs() < 5);
        assert_eq!(
            parse_since("2026-01-31T10:00:00Z").unwrap().to_rfc3339(),
            "2026-01-31T10:00:00+00:00"
        );
        assert_eq!(
            parse_since("2026-01-31").unwrap().to_rfc3339(),
            "2026-01-31T00:00:00+00:00"
        );
        assert!(
            parse_since("yesterday")
                .unwrap_err()
                .to_string()
                .contains("--since")
        );
    }

    #[test]
    fn rotate_resume_takes_no_generation_options() {
        assert!(
            Cli::try_parse_from(["dbcreds", "rotate", "prod", "--resume", "--length", "20"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["dbcreds", "rotate", "prod", "--length", "8"]).is_err());
        let cli = Cli::try_parse_from(["dbcreds", "rotate", "prod", "--admin", "Admin"]).unwrap();
        let Command::Rotate(r) = cli.command else {
            panic!("not rotate")
        };
        assert_eq!(r.admin.unwrap().as_str(), "admin");
    }

    #[test]
    fn expires_days() {
        assert_eq!(parse_expires_days("90"), Ok(ExpiresDays::Days(90)));
        assert_eq!(parse_expires_days("never"), Ok(ExpiresDays::Never));
        assert_eq!(parse_expires_days("NEVER"), Ok(ExpiresDays::Never));
        assert_eq!(parse_expires_days(" 7 "), Ok(ExpiresDays::Days(7)));
        assert_eq!(
            parse_expires_days("36500"),
            Ok(ExpiresDays::Days(MAX_EXPIRES_DAYS))
        );
        for bad in ["0", "-1", "36501", "abc", "", "4294967296"] {
            let err = parse_expires_days(bad).unwrap_err().to_string();
            assert!(err.contains("--expires-days"), "{bad}: {err}");
            assert!(err.contains("never"), "{bad}: {err}");
        }
        assert_eq!(ExpiresDays::Never.as_wire(), 0);
        assert_eq!(ExpiresDays::Days(30).as_wire(), 30);
        assert_eq!(ExpiresDays::Never.as_option(), None);
    }

    #[test]
    fn options() {
        assert_eq!(
            parse_option("sslmode=require"),
            Ok(("sslmode".into(), "require".into()))
        );
        assert_eq!(parse_option("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(
            parse_option("sslmode="),
            Ok(("sslmode".into(), String::new()))
        );
        assert!(parse_option("sslmode").is_err());
        assert!(parse_option("=x").is_err());
        assert!(parse_option("ssl mode=x").is_err());
    }

    #[test]
    fn bad_values_fail_in_the_parser_with_the_model_message() {
        let err = Cli::try_parse_from(["dbcreds", "get", "Prod DB!"]).unwrap_err();
        let msg = crate::exit::clap_message(&err, Some("get"));
        assert!(msg.contains("Prod DB!"), "{msg}");
        assert!(!msg.contains('\n'));

        let err = Cli::try_parse_from(["dbcreds", "add", "x", "--kind", "nosuch"]).unwrap_err();
        let msg = crate::exit::clap_message(&err, Some("add"));
        assert!(msg.starts_with("unknown database kind 'nosuch'"), "{msg}");

        for port in ["0", "70000"] {
            let err = Cli::try_parse_from(["dbcreds", "add", "x", "--port", port]).unwrap_err();
            let msg = crate::exit::clap_message(&err, Some("add"));
            assert!(msg.starts_with(&format!("invalid port '{port}'")), "{msg}");
        }
    }

    #[test]
    fn kind_accepts_aliases_and_defaults() {
        let cli = Cli::try_parse_from(["dbcreds", "add", "x", "--kind", "PostgreSQL"]).unwrap();
        let Command::Add(a) = cli.command else {
            panic!("not add")
        };
        assert_eq!(a.kind, DatabaseKind::Postgres);
        let cli = Cli::try_parse_from(["dbcreds", "add", "x", "--username", "u"]).unwrap();
        let Command::Add(a) = cli.command else {
            panic!("not add")
        };
        assert_eq!(a.kind, DatabaseKind::Postgres);
        assert_eq!(a.user.as_deref(), Some("u"));
    }

    #[test]
    fn get_fields() {
        let cli = Cli::try_parse_from(["dbcreds", "get", "prod", "username"]).unwrap();
        let Command::Get(g) = cli.command else {
            panic!("not get")
        };
        assert_eq!(g.field, Field::User);
        assert_eq!(g.name.as_str(), "prod");
        let cli = Cli::try_parse_from(["dbcreds", "get", "PROD"]).unwrap();
        let Command::Get(g) = cli.command else {
            panic!("not get")
        };
        assert_eq!(g.field, Field::Password);
        assert_eq!(g.name.as_str(), "prod");
    }

    #[test]
    fn clap_usage_errors_become_one_line() {
        let err = Cli::try_parse_from(["dbcreds", "export", "prod"]).unwrap_err();
        let msg = crate::exit::clap_message(&err, Some("export"));
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.contains("--format"), "{msg}");
        assert!(msg.ends_with("(see `dbcreds export --help`)"), "{msg}");
    }
}
