//! `dbcreds passphrase add|change|remove` and `dbcreds rekey`.

use dbcreds::{PassphraseAction, Unlocker};

use super::backup::{Ask, ask, count};
use super::init::describe_unlockers;
use super::passphrase::{self, Purpose};
use crate::args::{PassphraseCommand, RekeyArgs};
use crate::exit::Failure;
use crate::output;

const NEW: Ask = Ask::Twice("New vault passphrase: ", "Repeat the passphrase: ");
const NO_TERMINAL: &str = "a passphrase is needed: rerun with --passphrase-stdin, or on a terminal";

pub async fn passphrase(cmd: PassphraseCommand) -> Result<(), Failure> {
    let (what, unlockers) = match cmd {
        PassphraseCommand::Add(a) => {
            let new = ask(a.passphrase_stdin, NEW, NO_TERMINAL)?;
            let mut client = super::connect().await?;
            (
                "Added",
                client.passphrase(PassphraseAction::Add(&new)).await?,
            )
        }
        PassphraseCommand::Change(a) => {
            // With --passphrase-stdin: the current one on the first line,
            // the new one on the second.
            let current = ask(
                a.passphrase_stdin,
                Ask::Once("Current vault passphrase: "),
                NO_TERMINAL,
            )?;
            let new = ask(a.passphrase_stdin, NEW, NO_TERMINAL)?;
            let mut client = super::connect().await?;
            let action = PassphraseAction::Change {
                current: &current,
                new: &new,
            };
            ("Changed", client.passphrase(action).await?)
        }
        PassphraseCommand::Remove => {
            let mut client = super::connect().await?;
            (
                "Removed",
                client.passphrase(PassphraseAction::Remove).await?,
            )
        }
    };
    output::note(&format!(
        "{what} the passphrase unlocker: the vault unlocks {}.",
        describe_unlockers(&unlockers)
    ));
    if !unlockers.contains(&Unlocker::Passphrase) {
        output::note(
            "Without a passphrase, a backup (`dbcreds backup FILE`) is the way back if the keyring entry is lost.",
        );
    }
    Ok(())
}

pub async fn rekey(a: RekeyArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let status = client.status().await?;
    // The new key is wrapped under the passphrase again, so it is needed
    // when the vault has one.
    let pass = if status.unlockers.contains(&Unlocker::Passphrase) {
        Some(passphrase::obtain(
            a.passphrase_stdin,
            Purpose::Existing,
            Failure::usage(
                "this vault has a passphrase, and rekey needs it: rerun with --passphrase-stdin, set DBCREDS_PASSPHRASE_FILE, or run on a terminal",
            ),
        )?)
    } else {
        None
    };
    let done = client.rekey(pass.as_ref()).await?;
    output::note(&format!(
        "Re-keyed the vault: {} re-sealed under a new data key; it unlocks {} as before.",
        count(done.sealed, "password"),
        describe_unlockers(&done.unlockers)
    ));
    output::note(
        "Backups written before hold the old key and still restore with their recovery passphrase.",
    );
    Ok(())
}
