//! Advisory lock files that say who holds them: one agent per socket
//! (`agent.lock` beside the socket) and one agent per vault (`vault.lock`
//! beside `vault.db`). The lock dies with its process, so a crashed agent
//! never blocks the next one; the file's text names the holder for the
//! error the next one prints.

use std::fs::{File, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub(crate) struct HeldLock {
    _file: File,
}

/// Why a lock could not be taken.
#[derive(Debug)]
pub(crate) enum LockError {
    /// Another live process holds it; `holder` is the text it wrote.
    Held { holder: String },
    /// The file cannot be opened or written.
    Io { path: PathBuf, source: io::Error },
}

/// Takes the lock at `path` without waiting and writes `holder` into it
/// (for example "PID SOCKET").
pub(crate) fn acquire(path: &Path, holder: &str) -> Result<HeldLock, LockError> {
    let io_err = |source| LockError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = crate::fsutil::open_private(path, false).map_err(io_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(LockError::Held {
                holder: text.trim().to_owned(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io_err(e)),
    }
    file.set_len(0).map_err(io_err)?;
    file.rewind().map_err(io_err)?;
    file.write_all(holder.as_bytes()).map_err(io_err)?;
    Ok(HeldLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_learns_the_holder_and_the_lock_frees_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = acquire(&path, "123 /run/a.sock").unwrap();
        match acquire(&path, "456 /run/b.sock") {
            Err(LockError::Held { holder }) => assert_eq!(holder, "123 /run/a.sock"),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        acquire(&path, "456 /run/b.sock").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "456 /run/b.sock");
    }
}
