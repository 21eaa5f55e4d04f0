//! `dbcreds lock` and `dbcreds unlock`.

use dbcreds::{Client, Error, LockState, Reason, Unlocker};
use secrecy::SecretString;

use super::passphrase::{self, Purpose};
use crate::args::UnlockArgs;
use crate::exit::{self, Failure};
use crate::{output, prompt};

/// Tries a terminal user gets at the passphrase before giving up.
const PROMPT_TRIES: usize = 3;

pub async fn lock() -> Result<(), Failure> {
    // Starting an agent only to lock it would be pointless: no agent, no
    // unlocked secrets.
    let mut client = match Client::connect().await {
        Ok(c) => c,
        Err(Error::AgentUnreachable { socket, .. }) => {
            output::note(&format!(
                "No agent runs at {}: nothing is unlocked.",
                socket.display()
            ));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    client.lock().await?;
    output::note("Locked: the agent forgot the key and every password.");
    Ok(())
}

pub async fn unlock(a: UnlockArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let status = client.status().await?;
    if let Some(f) = super::status::unusable_vault(&status) {
        return Err(f);
    }
    match status.state {
        // A passphrase given is still checked: a script piping in a wrong
        // one must not be told it worked.
        LockState::Unlocked if a.passphrase_stdin => {
            let pass = passphrase::obtain(
                true,
                Purpose::Existing,
                Failure::usage("no passphrase on standard input"),
            )?;
            return match client.unlock(Some(&pass)).await {
                Ok(how) if !status.forgotten.is_empty() => done(how),
                Ok(_) => {
                    output::note("The vault is unlocked already (and the passphrase is right).");
                    Ok(())
                }
                Err(e) if e.reason() == Some(Reason::WrongPassphrase) => Err(Failure::new(
                    exit::WRONG_PASSPHRASE,
                    "wrong passphrase (the vault was unlocked already and stays unlocked)",
                )),
                Err(e) => Err(e.into()),
            };
        }
        LockState::Unlocked if status.forgotten.is_empty() => {
            output::note("The vault is unlocked already.");
            return Ok(());
        }
        // Unlocked, but secrets were forgotten after their policy's
        // max_unlocked: an unlocker brings them back, as after a lock.
        LockState::Unlocked => {}
        LockState::Uninitialized => {
            return Err(Failure::new(
                exit::NOT_INITIALIZED,
                "there is no vault yet: run `dbcreds init`",
            ));
        }
        _ => {}
    }
    let has = |u: Unlocker| status.unlockers.contains(&u);
    let keyring_first = !passphrase::given(a.passphrase_stdin)
        && (has(Unlocker::Keyring) || status.unlockers.is_empty());

    let mut keyring_failed = false;
    if keyring_first {
        match client.unlock(None).await {
            Ok(how) => return done(how),
            Err(e)
                if e.reason() == Some(Reason::KeyringUnavailable) && has(Unlocker::Passphrase) =>
            {
                keyring_failed = true;
            }
            Err(e) => return Err(e.into()),
        }
    }

    let missing = if keyring_failed {
        Failure::new(
            exit::KEYRING_UNAVAILABLE,
            "the OS keyring did not answer and no passphrase was given: rerun with --passphrase-stdin or set DBCREDS_PASSPHRASE_FILE",
        )
    } else {
        Failure::usage(
            "the vault needs its passphrase: rerun with --passphrase-stdin, set DBCREDS_PASSPHRASE_FILE, or run on a terminal",
        )
    };
    let prompted = !passphrase::given(a.passphrase_stdin) && prompt::interactive();
    let tries = if prompted { PROMPT_TRIES } else { 1 };
    let mut missing = Some(missing);
    for attempt in 1..=tries {
        let pass: SecretString = passphrase::obtain(
            a.passphrase_stdin,
            Purpose::Existing,
            missing
                .take()
                .unwrap_or_else(|| Failure::usage("no passphrase given")),
        )?;
        match client.unlock(Some(&pass)).await {
            Ok(how) => return done(how),
            Err(e) if e.reason() == Some(Reason::WrongPassphrase) && attempt < tries => {
                output::note("Wrong passphrase, try again.");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Failure::new(exit::WRONG_PASSPHRASE, "wrong passphrase"))
}

fn done(how: Unlocker) -> Result<(), Failure> {
    output::note(&format!("Unlocked {}.", how.describe()));
    Ok(())
}
