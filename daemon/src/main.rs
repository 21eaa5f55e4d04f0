//! `dbcreds-agent`: parses flags, hardens the process, sets up logging and
//! hands over to [`dbcreds_agent::run`].

use std::path::PathBuf;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The dbcreds agent: unlocks the vault once and serves credentials to the
/// `dbcreds` CLI and to applications over a local socket.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Examples:\n  dbcreds-agent                      # foreground, for systemd/launchd\n  dbcreds-agent --socket /tmp/s.sock\n\nEnvironment: DBCREDS_HOME (data directory), DBCREDS_SOCK (socket), DBCREDS_LOG (log filter, e.g. debug),\nDBCREDS_PASSPHRASE_FILE (unlock a passphrase vault at start)."
)]
struct Args {
    /// Socket to listen on (default: $DBCREDS_SOCK, $DBCREDS_HOME/agent.sock or $XDG_RUNTIME_DIR/dbcreds/agent.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Print `ready` on stdout once listening.
    #[arg(long)]
    ready_line: bool,
    /// Detach from the terminal: new session, log to the data directory.
    /// Used by the CLI's autostart.
    #[arg(long)]
    detach: bool,
}

fn init_logging(detach: bool) {
    let filter = EnvFilter::try_from_env("DBCREDS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if detach {
        let dir = dbcreds::paths::home();
        let _ = dbcreds_agent::fsutil::create_private_dir(&dir);
        if let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("agent.log"))
        {
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
            return;
        }
    }
    builder.with_writer(std::io::stderr).init();
}

fn main() {
    let args = Args::parse();
    // Before anything else exists in memory worth protecting.
    dbcreds_agent::harden::apply();
    if args.detach {
        #[cfg(unix)]
        let _ = rustix::process::setsid();
    }
    init_logging(args.detach);
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
    let code = rt.block_on(dbcreds_agent::run(dbcreds_agent::Options {
        socket: args.socket,
        ready_line: args.ready_line,
        detach: args.detach,
    }));
    // Do not wait for blocking threads (a hung keyring call) on the way out.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    std::process::exit(code);
}
