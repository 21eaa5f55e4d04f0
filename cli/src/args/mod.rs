//! The command line: clap derive definitions, with the model's parsers as
//! value parsers so a bad name, kind or port fails before anything else runs.
//! The verbs and their help are here; each group's arguments are in a
//! submodule, and the value parsers they share in [`values`].

use clap::{Args, Parser, Subcommand};

use crate::exit::exit_code_table;

mod apps;
mod data;
mod env;
mod policy;
mod safety;
mod sources;
mod values;
mod vault;

pub use apps::{ClipboardHoldArgs, CopyArgs, InjectArgs, RunArgs, ServeFilesArgs, SuperviseArgs};
pub use data::{AuditArgs, ImportArgs, ImportSource, RotateArgs, TestArgs};
pub use env::{
    AddArgs, CheckArgs, ExecArgs, ExportArgs, ExportFormat, Field, GetArgs, ListArgs, RemoveArgs,
    ShowArgs, UpdateArgs,
};
pub use policy::{ApproveArgs, PolicyCommand, PolicySetArgs, PolicyTargetArgs};
pub use safety::{BackupArgs, PassphraseCommand, RekeyArgs, RestoreArgs};
pub use sources::{
    LoginMethod, RefreshArgs, SourceAddArgs, SourceCommand, SourceKindArg, SourceListArgs,
    SourceLoginArgs, SourceNameArgs,
};
pub use values::AddAuth;
pub use vault::{InitArgs, StatusArgs, UnlockArgs};

/// Parses the command line. Help and version go to stdout as clap prints
/// them; any other parse error becomes one line on stderr and exit code 2.
pub fn parse() -> Result<Cli, std::process::ExitCode> {
    use clap::error::ErrorKind;
    if let Some(cli) = plain_get(std::env::args_os().skip(1)) {
        return Ok(cli);
    }
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

/// `get NAME [FIELD] [--require-fresh]` with a valid name and field, read
/// without clap: building clap's tree of every verb was an eighth of the
/// instructions of a whole `dbcreds get prod` (docs/performance.md), and
/// `get` is what scripts run in loops. Anything else (`--help`, `--`, a
/// bad name or field, any other flag, a repeated flag) is `None` and goes
/// through clap, which parses or rejects it exactly as before; the unit
/// tests hold both paths to the same result.
fn plain_get(mut args: impl Iterator<Item = std::ffi::OsString>) -> Option<Cli> {
    use clap::ValueEnum;
    if args.next()?.to_str()? != "get" {
        return None;
    }
    let mut positional: [Option<std::ffi::OsString>; 2] = [None, None];
    let mut require_fresh = false;
    for arg in args {
        let a = arg.to_str()?;
        if a.starts_with('-') {
            if a != "--require-fresh" || require_fresh {
                return None;
            }
            require_fresh = true;
        } else {
            *positional.iter_mut().find(|p| p.is_none())? = Some(arg);
        }
    }
    let [name, field] = positional;
    let name = values::parse_name(name?.to_str()?).ok()?;
    let field = match field {
        Some(f) => Field::from_str(f.to_str()?, false).ok()?,
        None => Field::Password,
    };
    Some(Cli {
        version: None,
        command: Command::Get(GetArgs {
            name,
            field,
            require_fresh,
        }),
    })
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

#[derive(Debug, Parser)]
#[command(
    name = "dbcreds",
    version,
    disable_version_flag = true,
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
  dbcreds backup ~/dbcreds-backup.db        one file that restores the vault anywhere

",
        exit_code_table!()
    )
)]
pub struct Cli {
    /// Print version (`-v` as in the Python dbcreds)
    #[arg(short = 'V', visible_short_alias = 'v', long, action = clap::ArgAction::Version)]
    version: Option<bool>,
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
  dbcreds export prod --format json | jq -r .uri
  dbcreds export --all --format json | jq -r '.[].name'           every environment, no passwords
  dbcreds export --all --format json --include-passwords > all.json
  dbcreds export --all --format pg_service --pgpass ~/.pgpass > ~/.pg_service.conf

--all writes a JSON array of what `export NAME --format json` writes, without
the password and URI unless --include-passwords (then every reveal is in the
audit log, and a warning goes to stderr when stdout is a terminal).
`dbcreds import --from json all.json` reads it back.")]
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
carries the user and the database, which no variable can. A ~/.my.cnf
still wins over it.
Every kind: DATABASE_URL, DBCREDS_ENV=NAME and DBCREDS_<NAME>_*.

The command replaces dbcreds (exec), so its exit code and signals are its
own. A missing command exits 127, one that cannot be run 126. Inside
`dbcreds exec` of another environment (DBCREDS_ENV set) dbcreds refuses
(exit code 14) unless --force.

With --mask (the password becomes *** in the command's output; through a
pty on a terminal, so colours stay) or --restart-on-change (the command is
restarted, or sent --signal, when the password changes), dbcreds stays as
the command's parent, passes INT, TERM, HUP, QUIT, USR1, USR2 on and exits
with its code (128+N for a death by signal N).")]
    Exec(ExecArgs),

    /// Run a command with the dbcreds://ENV/FIELD references in its environment resolved
    #[command(after_help = "Examples:
  DB_PASSWORD=dbcreds://prod/password dbcreds run -- ./app
  dbcreds run --env-file .env -- java -jar app.jar     .env: SPRING_DATASOURCE_PASSWORD=dbcreds://prod/password
  dbcreds run --env-file .env --mask -- ./migrate.sh

Every variable of the environment and of the env files (dotenv syntax; later
files win over earlier ones and over the environment) whose value is a
reference dbcreds://ENV/FIELD is replaced by that value; nothing else is added.
FIELD is password (the default), user, host, port, database, uri, jdbc, libpq,
kind, or option/KEY. All are resolved before the command starts, one request
per environment; a missing environment or field fails naming the variable.
DBCREDS_ENV is set when one environment is referenced (removed when several).
Nesting, exit codes and signals as for `exec`.")]
    Run(RunArgs),

    /// Write a template with its {{ dbcreds://ENV/FIELD }} references replaced
    #[command(after_help = "Examples:
  dbcreds inject -i config/database.yml.tpl -o config/database.yml
  dbcreds inject --check -i app.yml.tpl        every reference resolves (no password fetched)
  dbcreds inject < settings.tpl > settings.py

In the template: {{ dbcreds://prod/password }}, or {{ dbcreds://prod/password | json }}
for a quoted JSON/YAML string (also: shell, dotenv). Other {{ ... }} are kept.
FILE is written 0600 through a temporary file and a rename; an existing FILE
keeps a stricter mode, and one open to others is refused (exit code 5) unless
--force.")]
    Inject(InjectArgs),

    /// Copy the password (or one field) to the clipboard, cleared after 45 s
    #[command(after_help = "Examples:
  dbcreds copy prod                  the password; cleared in 45 s unless it changes
  dbcreds copy prod uri --clear-after 2m

The value goes to the clipboard (X11, Wayland with the data-control protocol,
macOS, Windows), marked for clipboard managers to keep out of their history.
A small process of dbcreds (in its own session, non-dumpable) serves it and,
after --clear-after, clears the clipboard if it still holds the value.")]
    Copy(CopyArgs),

    /// Hold a value on the clipboard until a deadline (started by `copy`)
    #[command(hide = true)]
    ClipboardHold(ClipboardHoldArgs),

    /// Keep pg_service.conf, .pgpass and .my.cnf in the runtime directory while the vault is unlocked
    #[command(after_help = "Examples:
  dbcreds serve-files &
  PGSERVICEFILE=$XDG_RUNTIME_DIR/dbcreds/files/pg_service.conf PGPASSFILE=$XDG_RUNTIME_DIR/dbcreds/files/.pgpass psql service=prod
  mariadb --defaults-extra-file=$XDG_RUNTIME_DIR/dbcreds/files/.my.cnf --defaults-group-suffix=_shop

Runs in the foreground. The files (0600, in a 0700 directory, by default
$XDG_RUNTIME_DIR/dbcreds/files) hold every environment: pg_service.conf a
section per PostgreSQL environment (no password), .pgpass the matching
lines, .my.cnf a [client_NAME] group per MySQL/MariaDB environment. They are
rewritten on every change, and removed when the vault locks, when the agent
stops, and when this command ends (INT, TERM, HUP).")]
    ServeFiles(ServeFilesArgs),

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
  dbcreds rotate shop --hosts %,localhost   MySQL/MariaDB: exactly these accounts of the user

The new password is stored as pending before the server is touched, set on
the server (PostgreSQL: ALTER ROLE with a SCRAM-SHA-256 verifier; MariaDB:
SET PASSWORD / ALTER USER with the mysql_native_password hash, so the
password is never in the SQL), verified by logging in, then promoted; the
old one is kept as previous. If the agent dies midway, `--resume` (or the
agent's next unlock) probes the pending, current and previous passwords and
keeps the one the server takes. A failed rotation changes no stored
password. `dbcreds get prod` prints the new password afterwards.

MySQL/MariaDB: one statement changes the account the environment logs in to
and every other account of the user name with the same password (found in
mysql.user, which needs SELECT on it), or those of --hosts; the output names
them. Other accounts are left alone and named.")]
    Rotate(RotateArgs),

    /// Show the audit log: who read, tested or rotated what, and when
    #[command(after_help = "Examples:
  dbcreds audit                      the last 1000 events
  dbcreds audit prod --since 1d
  dbcreds audit --since 2026-01-31T00:00:00Z --json | jq '.[] | select(.outcome != \"ok\")'
  dbcreds audit --decisions          confirmations: approved, refused, timed out, by whom

A reveal is recorded as what it was for: get, get:uri, get:jdbc, get:libpq,
exec or export.

--since takes a duration back from now (30m, 12h, 7d, 2w) or a time
(RFC 3339, or a date YYYY-MM-DD in UTC). Works while the vault is locked.")]
    Audit(AuditArgs),

    /// Write a backup: one file (0600) that the recovery passphrase alone restores, anywhere
    #[command(after_help = "Examples:
  dbcreds backup ~/dbcreds-backup.db            prompts twice for a recovery passphrase
  printf %s \"$RECOVERY\" | dbcreds backup /mnt/usb/dbcreds.db --passphrase-stdin --force

The agent copies the vault while it runs (SQLite VACUUM INTO), so the copy is
consistent, and replaces its unlockers with the recovery passphrase: the file
alone restores the vault on another machine, with no keyring. It checks the
copy opens with that passphrase before it renames it into place. Needs the
vault unlocked. An existing FILE is replaced only with --force (exit code 5).")]
    Backup(BackupArgs),

    /// Restore the vault from a backup (asks for its recovery passphrase)
    #[command(after_help = "Examples:
  dbcreds restore ~/dbcreds-backup.db           a new machine: no vault yet
  dbcreds restore backup.db --force             replace this vault (kept as vault.db.before-restore-<time>)
  printf %s \"$RECOVERY\" | dbcreds restore backup.db --passphrase-stdin --no-keyring

The file is copied and checked first (a dbcreds vault, the passphrase opens
its key, every password opens under it); only then does it replace the vault.
Afterwards the vault is unlocked, unlocks with the recovery passphrase, and
also through the OS keyring when one answers (unless --no-keyring).
A wrong passphrase exits 9, a file that is not a backup 7, an existing vault
without --force 5.")]
    Restore(RestoreArgs),

    /// Add, change or remove the passphrase unlocker (the way in without the keyring)
    #[command(
        subcommand,
        after_help = "Examples:
  dbcreds passphrase add                        prompts twice; the vault must be unlocked
  dbcreds passphrase change                     the current passphrase, then the new one twice
  printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | dbcreds passphrase change --passphrase-stdin
  dbcreds passphrase remove                     only while the OS keyring hands out the key"
    )]
    Passphrase(PassphraseCommand),

    /// Give the vault a new data key: every password re-sealed, crash-safe
    #[command(after_help = "Examples:
  dbcreds rekey                                 a keyring vault: nothing to ask
  dbcreds rekey --passphrase-stdin < ~/.config/dbcreds/pass     a vault with a passphrase

Every password (and the pending and previous ones of rotations) is re-sealed
under a new key, and every unlocker re-wrapped (the keyring gets a new entry,
the passphrase a new salt), in one SQLite transaction: if the agent dies at
any moment, the vault opens with the old key or the new one, never a mix.
Backups written before keep the old key and still restore.")]
    Rekey(RekeyArgs),

    /// Set or show what an environment's secret may be revealed to, and how
    #[command(subcommand)]
    Policy(PolicyCommand),

    /// List the requests waiting for a confirmation, and approve or refuse one
    #[command(after_help = "Examples:
  dbcreds approve                    who asks for what (pid, executable, command line)
  dbcreds approve 7                  let request 7 through
  dbcreds approve --deny 7           refuse it

Run it in another terminal than the request's: the agent takes an answer only
from the dbcreds CLI on a terminal of another session. Used where no askpass
program (DBCREDS_ASKPASS, SSH_ASKPASS) is set, or instead of its dialog.")]
    Approve(ApproveArgs),

    /// Sources: OpenBao/Vault servers and AWS accounts environments' secrets come from
    #[command(subcommand)]
    Source(SourceCommand),

    /// Have the agent fetch an environment's secret from its source again
    #[command(after_help = "Examples:
  dbcreds refresh prod               after a new KV version or AWSCURRENT, or for a new lease

The cached credential is dropped (its lease revoked) and a new one fetched;
watchers (pools, `exec --restart-on-change`) are told.")]
    Refresh(RefreshArgs),

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

    /// Open the web page: environments, tests, rotations, the audit log, in a browser
    #[command(after_help = "Examples:
  dbcreds ui                         opens it in the browser (xdg-open / open)
  dbcreds ui --no-open               prints the link instead
  dbcreds ui --idle-timeout 1h

The page is served by dbcreds-ui (found beside dbcreds, or on PATH, or at
$DBCREDS_UI_BIN) on 127.0.0.1 at a random port, for the one browser that
opens the printed link: the link works once. It stops after the idle time
(default 15m), when the vault is locked other than from the page, when the
agent stops, and on Ctrl-C.")]
    Ui(UiArgs),

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
    #[command(after_help = "Examples:
  dbcreds agent start
  dbcreds agent restart                        after an upgrade
  eval \"$(dbcreds agent --print-env)\"          like ssh-agent: DBCREDS_SOCK for this shell
  eval (dbcreds agent --print-env fish)")]
    Agent(AgentArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, arg_required_else_help = true)]
pub struct AgentArgs {
    /// Start an agent unless one answers, and print the shell commands that
    /// point clients at it (DBCREDS_SOCK, DBCREDS_AGENT_PID), for `eval`
    #[arg(long, value_name = "SHELL", num_args = 0..=1, default_missing_value = "sh")]
    pub print_env: Option<PrintEnvShell>,
    #[command(subcommand)]
    pub command: Option<AgentCommand>,
}

/// The shell `--print-env` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrintEnvShell {
    Sh,
    Csh,
    Fish,
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

#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// Output directory; gets man/ and completions/ subdirectories
    pub dir: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct UiArgs {
    /// Print the link without opening a browser
    #[arg(long)]
    pub no_open: bool,
    /// Stop after this long without a request (30s, 15m, 2h; at most 24h)
    #[arg(long, value_name = "DURATION", value_parser = values::parse_idle_timeout)]
    pub idle_timeout: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
