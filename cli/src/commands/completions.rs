//! `dbcreds completions SHELL`, and the packagers' `dbcreds generate-docs
//! DIR` that writes every completion script and a man page per command,
//! all from the same clap definitions.

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

/// Writes `DIR/man/dbcreds*.1` and `DIR/completions/{dbcreds.bash,_dbcreds,dbcreds.fish}`.
pub fn generate_docs(dir: &std::path::Path) -> Result<(), Failure> {
    use clap_complete::Shell;
    let io =
        |e: std::io::Error| Failure::other(format!("cannot write into {}: {e}", dir.display()));
    let man = dir.join("man");
    let comp = dir.join("completions");
    std::fs::create_dir_all(&man).map_err(io)?;
    std::fs::create_dir_all(&comp).map_err(io)?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd.clone(), &man).map_err(io)?;
    for (shell, file) in [
        (Shell::Bash, "dbcreds.bash"),
        (Shell::Zsh, "_dbcreds"),
        (Shell::Fish, "dbcreds.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "dbcreds", &mut buf);
        std::fs::write(comp.join(file), buf).map_err(io)?;
    }
    Ok(())
}
