//! `dbcreds backup FILE` and `dbcreds restore FILE`. The agent reads and
//! writes the files; this side asks for the recovery passphrase and says
//! what happened.

use secrecy::{ExposeSecret, SecretString};

use super::init::describe_unlockers;
use crate::args::{BackupArgs, RestoreArgs};
use crate::exit::Failure;
use crate::{output, prompt};

/// How a passphrase is asked for on a terminal.
#[derive(Clone, Copy)]
pub enum Ask {
    /// Once, with this label.
    Once(&'static str),
    /// Twice (a new one), with these labels.
    Twice(&'static str, &'static str),
}

/// A passphrase from the next line of standard input (`from_stdin`), else
/// asked on the terminal; `missing` says what to do when neither is there.
/// `DBCREDS_PASSPHRASE_FILE` is not read: it holds the vault's passphrase,
/// and these are other ones (a recovery passphrase, a new passphrase).
pub fn ask(from_stdin: bool, how: Ask, missing: &str) -> Result<SecretString, Failure> {
    let pass = if from_stdin {
        prompt::secret_from_stdin_line()?
    } else if prompt::interactive() {
        match how {
            Ask::Once(label) => prompt::secret(label)?,
            Ask::Twice(label, again) => prompt::new_secret(label, again, "passphrase")?,
        }
    } else {
        return Err(Failure::usage(missing));
    };
    if pass.expose_secret().is_empty() {
        return Err(Failure::usage(
            "the passphrase is empty: give a non-empty one",
        ));
    }
    Ok(pass)
}

/// "1 environment", "3 environments".
pub fn count(n: u32, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub async fn backup(a: BackupArgs) -> Result<(), Failure> {
    let pass = ask(
        a.passphrase_stdin,
        Ask::Twice(
            "Recovery passphrase for the backup: ",
            "Repeat the recovery passphrase: ",
        ),
        "a recovery passphrase is needed: rerun with --passphrase-stdin, or on a terminal",
    )?;
    let mut client = super::connect().await?;
    let done = client.backup(&a.file, &pass, a.force).await?;
    output::note(&format!(
        "Wrote the backup {} ({}, {} bytes, mode 0600).",
        done.path,
        count(done.environments, "environment"),
        done.bytes
    ));
    output::note(
        "It restores anywhere with the recovery passphrase alone (`dbcreds restore FILE`): keep the passphrase apart from the file.",
    );
    Ok(())
}

pub async fn restore(a: RestoreArgs) -> Result<(), Failure> {
    let pass = ask(
        a.passphrase_stdin,
        Ask::Once("Recovery passphrase of the backup: "),
        "the backup's recovery passphrase is needed: rerun with --passphrase-stdin, or on a terminal",
    )?;
    let mut client = super::connect_without_vault().await?;
    let done = client
        .restore(&a.file, &pass, a.force, !a.no_keyring)
        .await?;
    let written = done
        .backup_created_at
        .map(|t| format!(" (written {})", output::human_time(t)))
        .unwrap_or_default();
    output::note(&format!(
        "Restored {} from {}{written} into {}.",
        count(done.environments, "environment"),
        a.file.display(),
        done.vault_path
    ));
    output::note(&format!(
        "The vault is {}; it unlocks {} (the recovery passphrase).",
        done.state.as_str(),
        describe_unlockers(&done.unlockers)
    ));
    if let Some(why) = &done.keyring_error {
        output::note(&format!(
            "No OS keyring unlocker was added ({why}): after each agent start run `dbcreds unlock` with the recovery passphrase."
        ));
    }
    if let Some(previous) = &done.previous_vault {
        output::note(&format!("The vault it replaced is kept as {previous}."));
    }
    Ok(())
}
