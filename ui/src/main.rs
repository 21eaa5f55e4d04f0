//! `dbcreds-ui`: the dbcreds web page, for the people who would rather
//! click than type. Started by `dbcreds ui`.
//!
//! It is a client of the agent like any application (the `dbcreds`
//! library over the agent's socket), serving server-rendered HTML on
//! 127.0.0.1 at a random port to the one browser that holds its session:
//! the URL it prints carries a one-time token, exchanged for an HttpOnly
//! SameSite=Strict cookie ([`guard`]). It stops by itself after an idle
//! time, when the vault is locked from elsewhere, and when the agent stops
//! ([`lifecycle`]).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

mod form;
mod guard;
mod lifecycle;
mod open;
mod pages;
mod peer;
mod server;
mod session;
mod state;

/// How long the page lives without a request unless told otherwise.
const DEFAULT_IDLE: &str = "15m";

#[derive(Debug, Parser)]
#[command(
    name = "dbcreds-ui",
    version,
    about = "The dbcreds web page on 127.0.0.1 (started by `dbcreds ui`)"
)]
struct Args {
    /// Print the URL without opening a browser
    #[arg(long)]
    no_open: bool,
    /// Stop after this long without a request (30s, 15m, 2h)
    #[arg(long, env = "DBCREDS_UI_IDLE_TIMEOUT", value_name = "DURATION",
          default_value = DEFAULT_IDLE, value_parser = parse_idle)]
    idle_timeout: Duration,
}

/// The idle timeout: a duration from 1 s to 24 h (the page must stop some
/// time: "never" is not one).
fn parse_idle(raw: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(raw.trim())
        .map_err(|e| format!("'{raw}' is not a duration ({e}): use for example 30s, 15m or 2h"))?;
    if d < Duration::from_secs(1) || d > Duration::from_secs(24 * 3600) {
        return Err(format!("'{raw}' is outside 1s to 24h"));
    }
    Ok(d)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dbcreds ui: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(server::run(args.idle_timeout, !args.no_open)) {
        Ok(stop) => {
            eprintln!("dbcreds ui: stopped: {stop}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dbcreds ui: {e:#}");
            ExitCode::from(server::exit_code(&e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_timeouts_are_bounded_durations() {
        assert_eq!(parse_idle("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_idle("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_idle("never").unwrap_err().contains("not a duration"));
        assert!(parse_idle("0s").unwrap_err().contains("outside"));
        assert!(parse_idle("2d").unwrap_err().contains("outside"));
    }
}
