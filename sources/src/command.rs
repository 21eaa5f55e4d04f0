//! Password commands: any program that prints a password.

use std::time::Duration;

use crate::{Fetched, SourceError};

pub(crate) async fn run(command: &str, cache_for: Duration) -> Result<Fetched, SourceError> {
    let _ = (command, cache_for);
    Err(SourceError::CommandEmpty)
}
