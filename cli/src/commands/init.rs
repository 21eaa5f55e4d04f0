//! `dbcreds init`: create the vault and report how it unlocks.

use dbcreds::{InitUnlocker, Reason, Unlocker};

use super::passphrase::{self, Purpose};
use crate::args::InitArgs;
use crate::exit::{self, Failure};
use crate::output;

const PASSPHRASE: InitUnlocker = InitUnlocker::Only(Unlocker::Passphrase);

pub async fn run(args: InitArgs) -> Result<(), Failure> {
    // An explicit passphrase vault: get the passphrase before anything else.
    let early = if args.unlocker == PASSPHRASE {
        Some(passphrase::obtain(
            args.passphrase_stdin,
            Purpose::New,
            Failure::usage(
                "a passphrase is needed: rerun with --passphrase-stdin, set DBCREDS_PASSPHRASE_FILE, or run on a terminal",
            ),
        )?)
    } else {
        None
    };

    let mut client = super::connect().await?;
    let created = match (args.unlocker, early) {
        (_, Some(pass)) => client.init(PASSPHRASE, Some(&pass)).await?,
        (keyring @ InitUnlocker::Only(Unlocker::Keyring), None) => {
            client.init(keyring, None).await?
        }
        _ => match client.init(InitUnlocker::Auto, None).await {
            Err(e) if e.reason() == Some(Reason::KeyringUnavailable) => {
                let missing = Failure::new(
                    exit::KEYRING_UNAVAILABLE,
                    "no OS keyring answered and no passphrase given: rerun with --passphrase-stdin or set DBCREDS_PASSPHRASE_FILE",
                );
                if !passphrase::given(args.passphrase_stdin) && crate::prompt::interactive() {
                    output::note(
                        "No OS keyring answered: the vault will be protected by a passphrase.",
                    );
                }
                let pass = passphrase::obtain(args.passphrase_stdin, Purpose::New, missing)?;
                client.init(PASSPHRASE, Some(&pass)).await?
            }
            other => other?,
        },
    };

    output::note(&format!(
        "Created the vault {}; it unlocks {}.",
        created.vault_path,
        describe_unlockers(&created.unlockers)
    ));
    if !created.unlockers.contains(&Unlocker::Keyring) {
        output::note(
            "After each agent start run `dbcreds unlock`, or set DBCREDS_PASSPHRASE_FILE for services.",
        );
    }
    Ok(())
}

/// "through the OS keyring", "with a passphrase", or both. A new vault has
/// "a" passphrase, where `unlock` (with [`Unlocker::describe`]) used "the".
pub fn describe_unlockers(unlockers: &[Unlocker]) -> String {
    let words: Vec<&str> = unlockers
        .iter()
        .map(|u| match u {
            Unlocker::Keyring => u.describe(),
            Unlocker::Passphrase => "with a passphrase",
        })
        .collect();
    if words.is_empty() {
        "with no unlocker the agent reported".into()
    } else {
        words.join(" or ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlockers_in_words() {
        assert_eq!(
            describe_unlockers(&[Unlocker::Keyring]),
            "through the OS keyring"
        );
        assert_eq!(
            describe_unlockers(&[Unlocker::Keyring, Unlocker::Passphrase]),
            "through the OS keyring or with a passphrase"
        );
    }
}
