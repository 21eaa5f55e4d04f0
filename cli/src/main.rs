//! `dbcreds`: the command-line client of the dbcreds agent.
//!
//! Parses the arguments before anything else, runs one command, and turns a
//! failure into one line on stderr (`dbcreds: <message>`) and an exit code
//! from [`exit`].

use std::process::ExitCode;

mod args;
mod commands;
mod dotenv;
mod exit;
mod files;
mod import;
mod output;
mod prompt;
mod refs;
mod spinner;
#[cfg(unix)]
mod supervise;
mod template;

fn main() -> ExitCode {
    // A static binary must not reach glibc's NSS (see the function).
    if cfg!(target_feature = "crt-static") {
        dbcreds::paths::avoid_nss();
    }
    let cli = match args::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // The common `get` needs no runtime: one request on the direct wire.
    #[cfg(target_os = "linux")]
    if let args::Command::Get(a) = &cli.command
        && let Some(done) = commands::get_direct(a)
    {
        return finish(done);
    }
    finish(commands::run(cli))
}

/// The exit code of a command's result, and its failure on stderr.
fn finish(result: Result<(), exit::Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            output::note(&format!("dbcreds: {failure}"));
            ExitCode::from(failure.code)
        }
    }
}
