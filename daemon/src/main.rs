//! `dbcreds-agent`: parses flags, hardens the process, sets up logging and
//! hands over to [`dbcreds_agent::run`].

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use dbcreds::config::Limit;
use tracing_subscriber::EnvFilter;

/// Every freed block is wiped first: see `dbcreds_agent::memory`.
#[global_allocator]
static ALLOC: dbcreds_agent::memory::ZeroingAlloc = dbcreds_agent::memory::ZeroingAlloc;

/// The dbcreds agent: unlocks the vault once and serves credentials to the
/// `dbcreds` CLI and to applications over a local socket.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Examples:\n  dbcreds-agent                        # foreground, for systemd/launchd\n  eval \"$(dbcreds-agent --print-env)\"   # start in the background, like ssh-agent -s\n  dbcreds-agent --lock-after 30m --max-unlocked 8h\n\nSignals: TERM/INT lock and exit, USR1 locks, HUP reloads the config.\nEnvironment: DBCREDS_HOME (data directory), DBCREDS_SOCK (socket), DBCREDS_CONFIG (config file),\nDBCREDS_LOG (log filter, e.g. debug), DBCREDS_PASSPHRASE_FILE (unlock a passphrase vault at start).\n\nExit codes (as in `dbcreds --help`): 0 stopped cleanly, 1 other error, 2 bad configuration,\n6 another agent serves the socket or holds the vault, 13 a directory that is not yours alone."
)]
struct Args {
    /// Socket to listen on (default: $DBCREDS_SOCK, $DBCREDS_HOME/agent.sock or $XDG_RUNTIME_DIR/dbcreds/agent.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Lock after this long without a request that uses a secret (e.g. 30m, 8h; 0 or never: off) [default: config lock_after, else 1h].
    #[arg(long, value_name = "DURATION")]
    lock_after: Option<Limit>,
    /// Lock this long after unlocking, however busy (e.g. 12h; 0 or never: off) [default: config max_unlocked, else 12h].
    #[arg(long, value_name = "DURATION")]
    max_unlocked: Option<Limit>,
    /// Start an agent in the background (unless one already serves the
    /// socket) and print the shell commands that point clients at it.
    #[arg(long, value_name = "SHELL", num_args = 0..=1, default_missing_value = "sh")]
    print_env: Option<Shell>,
    /// Print `ready` on stdout once listening.
    #[arg(long)]
    ready_line: bool,
    /// Detach from the terminal: new session, log to the data directory.
    /// Used by the CLI's autostart.
    #[arg(long)]
    detach: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Shell {
    Sh,
    Csh,
    Fish,
}

fn init_logging(detach: bool) {
    let filter = EnvFilter::try_from_env("DBCREDS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if detach {
        let dir = dbcreds::paths::home();
        // Only in a directory that is ours alone, and never through a link;
        // otherwise stderr, and `run` reports what is wrong with the directory.
        if let Ok(file) = dbcreds_agent::fsutil::create_private_dir(&dir)
            .and_then(|()| dbcreds_agent::fsutil::open_private(&dir.join("agent.log"), true))
        {
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
            return;
        }
    }
    use std::io::IsTerminal;
    builder
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// `--print-env`: like `ssh-agent -s`, for `eval`.
fn print_env(shell: Shell, socket: Option<PathBuf>) -> i32 {
    let cfg = match dbcreds::config::Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dbcreds-agent: {e}");
            return dbcreds_agent::run::exit::USAGE;
        }
    };
    let opts = dbcreds_agent::Options {
        socket,
        ..Default::default()
    };
    let socket = dbcreds_agent::run::socket_path(&opts, &cfg);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dbcreds-agent: {e}");
            return 1;
        }
    };
    let pid = rt.block_on(async {
        if dbcreds::Client::connect_to(&socket).await.is_err() {
            // Our own binary, whatever DBCREDS_AGENT_BIN says.
            let me = std::env::current_exe().unwrap_or_else(|_| dbcreds::autostart::agent_binary());
            let s = socket.clone();
            tokio::task::spawn_blocking(move || dbcreds::autostart::start_agent_binary(&me, &s))
                .await
                .map_err(|e| dbcreds::Error::AgentStart(e.to_string()))??;
        }
        let mut client = dbcreds::Client::connect_to(&socket).await?;
        Ok::<u32, dbcreds::Error>(client.status().await?.pid)
    });
    let pid = match pid {
        Ok(p) => p,
        Err(e) => {
            eprintln!("dbcreds-agent: {e}");
            return dbcreds_agent::run::exit::AGENT_BUSY;
        }
    };
    let sock = dbcreds::render::shell_quote(&socket.display().to_string());
    match shell {
        Shell::Sh => println!(
            "DBCREDS_SOCK={sock}; export DBCREDS_SOCK;\nDBCREDS_AGENT_PID={pid}; export DBCREDS_AGENT_PID;\necho Agent pid {pid};"
        ),
        Shell::Csh => println!(
            "setenv DBCREDS_SOCK {sock};\nsetenv DBCREDS_AGENT_PID {pid};\necho Agent pid {pid};"
        ),
        Shell::Fish => println!(
            "set -gx DBCREDS_SOCK {sock};\nset -gx DBCREDS_AGENT_PID {pid};\necho Agent pid {pid};"
        ),
    }
    0
}

fn main() {
    let args = Args::parse();
    if let Some(shell) = args.print_env {
        std::process::exit(print_env(shell, args.socket));
    }
    if args.detach {
        dbcreds_agent::harden::close_inherited_fds();
    }
    // Before anything else exists in memory worth protecting.
    dbcreds_agent::harden::apply();
    #[cfg(unix)]
    let session_ok = !args.detach || rustix::process::setsid().is_ok();
    init_logging(args.detach);
    #[cfg(unix)]
    if !session_ok {
        tracing::warn!(
            "could not start a new session (setsid); the agent shares its starter's session"
        );
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dbcreds-agent: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let opts = dbcreds_agent::Options {
        socket: args.socket,
        ready_line: args.ready_line,
        detach: args.detach,
        lock_after: args.lock_after,
        max_unlocked: args.max_unlocked,
    };
    // On a worker, not on this thread: the accept loop then runs where the
    // connections it spawns run, and a new connection needs no wake-up of
    // another thread (docs/performance.md).
    let code = rt.block_on(async { tokio::spawn(dbcreds_agent::run(opts)).await.unwrap_or(1) });
    // Do not wait for blocking threads (a hung keyring call) on the way out.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    std::process::exit(code);
}
