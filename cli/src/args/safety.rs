//! The arguments of the verbs that keep the vault safe: `backup`,
//! `restore`, `passphrase add|change|remove`, `rekey`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write (mode 0600)
    pub file: PathBuf,
    /// Read the recovery passphrase from the first line of standard input
    #[arg(long)]
    pub passphrase_stdin: bool,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file to restore (it is read, never changed)
    pub file: PathBuf,
    /// Read the recovery passphrase from the first line of standard input
    #[arg(long)]
    pub passphrase_stdin: bool,
    /// Replace the existing vault (kept beside it as vault.db.before-restore-<time>)
    #[arg(long)]
    pub force: bool,
    /// Do not store the data key in the OS keyring; unlock with the recovery passphrase
    #[arg(long)]
    pub no_keyring: bool,
}

#[derive(Debug, Subcommand)]
pub enum PassphraseCommand {
    /// Add a passphrase unlocker beside the keyring one (needs the vault unlocked)
    Add(PassphraseArgs),
    /// Change the passphrase (asks for the current one first)
    Change(PassphraseArgs),
    /// Remove the passphrase unlocker (refused unless the OS keyring hands out the key)
    Remove,
}

#[derive(Debug, Args)]
pub struct PassphraseArgs {
    /// Read from standard input: the new passphrase on the first line
    /// (change: the current one first, the new one on the second line)
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// Read the vault's passphrase (needed when it has one) from the first line of standard input
    #[arg(long)]
    pub passphrase_stdin: bool,
}
