//! Private directories and files. The data directory and the socket
//! directory must be real directories that belong to the agent's user and
//! that nobody else can write to; only then is anything opened in them, so
//! no other user can plant a file or a symbolic link there between a check
//! and an open. Files are opened without following symbolic links anyway.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` (and parents) with mode 0700, or checks an existing one:
/// a directory (not a link to one) owned by us and writable by nobody else.
/// An existing directory is never chmod'ed: it may be shared (`/tmp`), and
/// tightening it would break its other users.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        if std::fs::symlink_metadata(dir).is_err() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let meta = std::fs::symlink_metadata(dir)?;
        if meta.file_type().is_symlink() {
            return Err(io::Error::other(format!(
                "{} is a symbolic link: dbcreds keeps its files only in a real directory of yours; remove the link or choose another path",
                dir.display()
            )));
        }
        if !meta.is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(io::Error::other(format!(
                "{} belongs to uid {}, not to us (uid {me}): remove it or choose another path",
                dir.display(),
                meta.uid()
            )));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(io::Error::other(format!(
                "{} is writable by other users (mode {:o}): use a private directory (`chmod 700` it, or point DBCREDS_HOME/DBCREDS_SOCK elsewhere)",
                dir.display(),
                meta.mode() & 0o7777
            )));
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Opens (creating, mode 0600) `path` for reading and writing or appending,
/// refusing a symbolic link in its place.
pub fn open_private(path: &Path, append: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).read(!append);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            io::Error::other(format!(
                "{} is a symbolic link: remove it (dbcreds never follows links in its directories)",
                path.display()
            ))
        } else {
            e
        }
    })
}

/// Creates `path`, which must not exist (not even as a link), mode 0600.
pub fn create_new_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Flushes `dir`'s entries (a rename or a new file in it) to the disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows has no directory handle to sync; NTFS journals renames.
        let _ = dir;
        Ok(())
    }
}

/// Whether `path` is a symbolic link (dangling or not).
pub fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn shared_and_linked_directories_are_refused_and_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let err = create_private_dir(&shared).unwrap_err().to_string();
        assert!(err.contains("writable by other users"), "{err}");
        let mode = std::fs::metadata(&shared).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o1777, "the directory was chmod'ed");

        let link = root.path().join("link");
        std::os::unix::fs::symlink(&shared, &link).unwrap();
        assert!(
            create_private_dir(&link)
                .unwrap_err()
                .to_string()
                .contains("symbolic link")
        );

        let fresh = root.path().join("a/b");
        create_private_dir(&fresh).unwrap();
        assert_eq!(
            std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn files_are_not_opened_through_a_link() {
        let root = tempfile::tempdir().unwrap();
        let victim = root.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let planted = root.path().join("agent.lock");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let err = open_private(&planted, false).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert!(is_symlink(&planted));
    }
}
