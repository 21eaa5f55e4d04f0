//! The arguments of the vault and agent verbs: `init`, `unlock`, `status`.

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use dbcreds::InitUnlocker;

/// `--unlocker`: the library's [`InitUnlocker`], with each value's help
/// for `--help` and the completions.
fn unlocker_parser() -> impl TypedValueParser<Value = InitUnlocker> {
    PossibleValuesParser::new([
        PossibleValue::new("auto").help("The OS keyring if one answers, else a passphrase"),
        PossibleValue::new("keyring")
            .help("The OS keyring (Secret Service, Keychain, Credential Manager)"),
        PossibleValue::new("passphrase")
            .help("A passphrase (prompted, --passphrase-stdin, or DBCREDS_PASSPHRASE_FILE)"),
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
