//! `dbcreds init`: create the vault and report how it unlocks.

use dbcreds::Reason;

use super::passphrase::{self, Purpose};
use crate::args::{InitArgs, Unlocker};
use crate::exit::{self, Failure};
use crate::output;

pub async fn run(args: InitArgs) -> Result<(), Failure> {
    // An explicit passphrase vault: get the passphrase before anything else.
    let early = if args.unlocker == Unlocker::Passphrase {
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
    let response = match (args.unlocker, early) {
        (_, Some(pass)) => {
            client
                .init(Unlocker::Passphrase.as_str(), Some(&pass))
                .await?
        }
        (Unlocker::Keyring, None) => client.init(Unlocker::Keyring.as_str(), None).await?,
        _ => match client.init(Unlocker::Auto.as_str(), None).await {
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
                client
                    .init(Unlocker::Passphrase.as_str(), Some(&pass))
                    .await?
            }
            other => other?,
        },
    };

    output::note(&format!(
        "Created the vault {}; it unlocks {}.",
        response.vault_path,
        describe_unlockers(&response.unlockers)
    ));
    if response.unlockers.iter().all(|u| u != "keyring") {
        output::note(
            "After each agent start run `dbcreds unlock`, or set DBCREDS_PASSPHRASE_FILE for services.",
        );
    }
    Ok(())
}

/// "through the OS keyring", "with a passphrase", or both.
pub fn describe_unlockers(unlockers: &[String]) -> String {
    let words: Vec<&str> = unlockers
        .iter()
        .map(|u| match u.as_str() {
            "keyring" => "through the OS keyring",
            "passphrase" => "with a passphrase",
            other => other,
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
            describe_unlockers(&["keyring".into()]),
            "through the OS keyring"
        );
        assert_eq!(
            describe_unlockers(&["keyring".into(), "passphrase".into()]),
            "through the OS keyring or with a passphrase"
        );
    }
}
