//! The arguments of the vault and agent verbs: `init`, `unlock`, `status`.

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use dbcreds::{InitUnlocker, Unlocker};

/// `--unlocker`: the library's [`InitUnlocker`], with each value's help
/// for `--help` and the completions.
fn unlocker_parser() -> impl TypedValueParser<Value = InitUnlocker> {
    let value = |u: InitUnlocker, help: &'static str| PossibleValue::new(u.as_str()).help(help);
    PossibleValuesParser::new([
        value(
            InitUnlocker::Auto,
            "The OS keyring if one answers, else a passphrase",
        ),
        value(
            InitUnlocker::Only(Unlocker::Keyring),
            "The OS keyring (Secret Service, Keychain, Credential Manager)",
        ),
        value(
            InitUnlocker::Only(Unlocker::Passphrase),
            "A passphrase (prompted, --passphrase-stdin, or DBCREDS_PASSPHRASE_FILE)",
        ),
    ])
    // Only the values above get here, and each parses.
    .try_map(|v| v.parse::<InitUnlocker>())
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// How the vault is unlocked
    #[arg(long, value_parser = unlocker_parser(), default_value_t = InitUnlocker::Auto)]
    pub unlocker: InitUnlocker,
    /// Read the passphrase from the first line of standard input
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Read the passphrase from the first line of standard input
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}
