//! Where a vault passphrase comes from, in order: `--passphrase-stdin`
//! (the first line of standard input), the file named by
//! `DBCREDS_PASSPHRASE_FILE`, a no-echo prompt on a terminal.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use crate::exit::Failure;
use crate::prompt;

/// The variable naming a file whose first line is the passphrase.
pub const FILE_VAR: &str = "DBCREDS_PASSPHRASE_FILE";

/// Whether the passphrase is being chosen (asked twice) or entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A new vault's passphrase: prompted twice.
    New,
    /// The existing vault's passphrase: prompted once.
    Existing,
}

/// Whether a passphrase is at hand without asking anyone.
pub fn given(from_stdin: bool) -> bool {
    from_stdin || file().is_some()
}

fn file() -> Option<PathBuf> {
    std::env::var_os(FILE_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The passphrase from the first source that has one; `missing` when none
/// does (no flag, no file, no terminal).
pub fn obtain(
    from_stdin: bool,
    purpose: Purpose,
    missing: Failure,
) -> Result<SecretString, Failure> {
    let pass = if from_stdin {
        prompt::secret_from_stdin_line()?
    } else if let Some(path) = file() {
        prompt::secret_from_file(&path)?
    } else if prompt::interactive() {
        match purpose {
            Purpose::New => prompt::new_secret(
                "New vault passphrase: ",
                "Repeat the passphrase: ",
                "passphrase",
            )?,
            Purpose::Existing => prompt::secret("Vault passphrase: ")?,
        }
    } else {
        return Err(missing);
    };
    if pass.expose_secret().is_empty() {
        return Err(Failure::usage(
            "the passphrase is empty: give a non-empty one",
        ));
    }
    Ok(pass)
}
