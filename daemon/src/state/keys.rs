//! Unlocker rows: which keyring entry holds the data key, and finding a
//! vault's unlocker of a kind.

use dbcreds::Unlocker;
use serde::{Deserialize, Serialize};

use crate::keyring;
use crate::vault::UnlockerRow;

/// The `params` of a keyring unlocker row. `{}` (a vault as `init` made
/// it) means the entry `vault:<vault id>`.
#[derive(Default, Serialize, Deserialize)]
struct KeyringParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entry: Option<String>,
}

/// The keyring entry (user name under service `dbcreds`) that holds the
/// data key of vault `vault_id`, as its keyring unlocker row says.
pub(super) fn keyring_entry(row: &UnlockerRow, vault_id: &str) -> String {
    serde_json::from_str::<KeyringParams>(&row.params)
        .ok()
        .and_then(|p| p.entry)
        .unwrap_or_else(|| keyring::default_entry(vault_id))
}

/// A keyring unlocker row naming the entry `entry`.
pub(super) fn keyring_row(entry: &str) -> UnlockerRow {
    let params = KeyringParams {
        entry: Some(entry.to_owned()),
    };
    UnlockerRow {
        kind: Unlocker::Keyring,
        // A struct of one string always serializes.
        params: serde_json::to_string(&params).unwrap_or_else(|_| "{}".into()),
        wrapped_key: None,
    }
}

/// The vault's unlocker of `kind`, if it has one.
pub(super) fn find(unlockers: &[UnlockerRow], kind: Unlocker) -> Option<&UnlockerRow> {
    unlockers.iter().find(|u| u.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_names_the_entry_and_an_old_row_means_the_default_one() {
        let row = keyring_row("vault:abc:0123");
        assert_eq!(keyring_entry(&row, "abc"), "vault:abc:0123");
        let old = UnlockerRow {
            kind: Unlocker::Keyring,
            params: "{}".into(),
            wrapped_key: None,
        };
        assert_eq!(keyring_entry(&old, "abc"), "vault:abc");
        assert!(find(&[old], Unlocker::Passphrase).is_none());
    }
}
