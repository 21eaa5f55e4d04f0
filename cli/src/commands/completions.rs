//! `dbcreds completions SHELL`.

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};
use crate::exit::Failure;
use crate::output;

pub fn run(a: CompletionsArgs) -> Result<(), Failure> {
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut Cli::command(), "dbcreds", &mut buf);
    let text = String::from_utf8(buf)
        .map_err(|e| Failure::other(format!("completion script is not UTF-8: {e}")))?;
    output::stdout(&text)
}
