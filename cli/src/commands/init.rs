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

    let mut client = super::connect_without_vault().await?;
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
    let status = client.status().await?;
    output::note(&lock_timers(
        status.lock_after_secs,
        status.max_unlocked_secs,
    ));
    output::note("Keep a copy that restores anywhere: `dbcreds backup FILE`.");
    Ok(())
}

/// When the agent locks by itself, in words, and how to change it.
fn lock_timers(idle: Option<i64>, cap: Option<i64>) -> String {
    let when = match (idle, cap) {
        (Some(i), Some(c)) => format!(
            "after {} without use, and {} after an unlock at the latest",
            duration(i),
            duration(c)
        ),
        (Some(i), None) => format!("after {} without use", duration(i)),
        (None, Some(c)) => format!("{} after an unlock", duration(c)),
        (None, None) => {
            return "The agent never locks the vault by itself (lock_after and max_unlocked are `never`).".into();
        }
    };
    format!(
        "The agent locks the vault {when} (lock_after, max_unlocked in the config; `never` turns one off)."
    )
}

/// `90` → "1m 30s", `3600` → "1h", `45000` → "12h 30m".
fn duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let parts: Vec<String> = [(h, "h"), (m, "m"), (s, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
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
    fn lock_timers_in_words() {
        assert_eq!(
            lock_timers(Some(3600), Some(12 * 3600)),
            "The agent locks the vault after 1h without use, and 12h after an unlock at the latest (lock_after, max_unlocked in the config; `never` turns one off)."
        );
        assert!(lock_timers(None, None).contains("never locks"));
        assert!(lock_timers(Some(90), None).contains("after 1m 30s without use"));
        assert_eq!(duration(45_000), "12h 30m");
    }

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
