//! Files that hold secrets, written by the CLI (`inject -o`, the files of
//! `serve-files`): created 0600 under a temporary name in the same
//! directory (`O_CREAT|O_EXCL|O_NOFOLLOW`), synced, then renamed over the
//! target, so a reader sees the old file or the new one and nobody else can
//! open it in between. An existing file's mode is never loosened.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::exit::{self, Failure};

/// The mode for the new file replacing `path`: 0600, or the existing
/// file's own when that is stricter (no access for group or others). An
/// existing file open to others is refused unless `force` (then 0600).
#[cfg(unix)]
fn mode_for(path: &Path, force: bool) -> Result<u32, Failure> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0o600),
        Err(e) => {
            return Err(Failure::other(format!(
                "cannot inspect {}: {e}",
                path.display()
            )));
        }
    };
    if !meta.file_type().is_file() {
        return Err(Failure::usage(format!(
            "{} is not a regular file (a link, a directory?): give the path of a file",
            path.display()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(mode);
    }
    if force {
        return Ok(0o600);
    }
    Err(Failure::new(
        exit::ALREADY_EXISTS,
        format!(
            "{} exists with mode {mode:04o}, open to others: dbcreds writes secrets only to 0600 files; \
             pass --force to replace it with a 0600 file (or `chmod 600` it)",
            path.display()
        ),
    ))
}

#[cfg(not(unix))]
fn mode_for(_path: &Path, _force: bool) -> Result<u32, Failure> {
    Ok(0o600)
}

/// A name beside `path` that nothing else uses: `.NAME.dbcreds-PID-N`.
fn temp_name(path: &Path, n: u32) -> PathBuf {
    let file = path
        .file_name()
        .map_or_else(|| "out".into(), |f| f.to_string_lossy().into_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    path.with_file_name(format!(
        ".{file}.dbcreds-{}-{nanos}-{n}",
        std::process::id()
    ))
}

#[cfg(unix)]
fn create_exclusive(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .and_then(|f| {
            // The umask may have narrowed 0600; a stricter mode of the file
            // being replaced is kept.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
            Ok(f)
        })
}

#[cfg(not(unix))]
fn create_exclusive(path: &Path, _mode: u32) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Writes `bytes` to `path` as the module says.
pub fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<(), Failure> {
    let mode = mode_for(path, force)?;
    let fail = |what: &str, p: &Path, e: std::io::Error| {
        Failure::other(format!("cannot {what} {}: {e}", p.display()))
    };
    let mut n = 0;
    let (tmp, mut file) = loop {
        let tmp = temp_name(path, n);
        match create_exclusive(&tmp, mode) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(fail("create", &tmp, e)),
        }
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("write", path, e));
    }
    // The rename is durable once the directory is synced.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Where per-user runtime files go: `$XDG_RUNTIME_DIR/dbcreds`, else
/// `/tmp/dbcreds-$UID` (the agent's socket directories).
pub fn runtime_base() -> Option<PathBuf> {
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        let run = PathBuf::from(run);
        if run.is_absolute() {
            return Some(run.join("dbcreds"));
        }
    }
    #[cfg(unix)]
    {
        let uid = rustix::process::getuid().as_raw();
        Some(std::env::temp_dir().join(format!("dbcreds-{uid}")))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Creates `dir` and its missing parents with mode 0700, and checks that
/// every existing one from the runtime base down is ours and closed to
/// others (a `/tmp/dbcreds-$UID` made by someone else must not be used).
/// Those under the runtime base are dbcreds' own and made private; a
/// directory elsewhere (`serve-files --dir`) is the user's: it is checked
/// alone, and refused rather than changed when others may enter it.
#[cfg(unix)]
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let uid = rustix::process::getuid().as_raw();
    let ours = runtime_base().filter(|b| dir.starts_with(b));
    let base = ours.clone().unwrap_or_else(|| dir.to_path_buf());
    let mut p = dir.to_path_buf();
    loop {
        let meta = std::fs::symlink_metadata(&p)?;
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not a directory",
                p.display()
            )));
        }
        if meta.uid() != uid {
            return Err(std::io::Error::other(format!(
                "{} belongs to uid {}, not to you",
                p.display(),
                meta.uid()
            )));
        }
        if meta.mode() & 0o077 != 0 {
            if ours.is_none() {
                return Err(std::io::Error::other(format!(
                    "{} is open to others (mode {:04o}): `chmod 700` it, or choose another",
                    p.display(),
                    meta.mode() & 0o7777
                )));
            }
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700))?;
        }
        if p == base || !p.pop() {
            break;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn new_files_are_0600_and_modes_never_loosen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.yml");
        write_private(&p, b"one", false).unwrap();
        assert_eq!(mode(&p), 0o600);
        assert_eq!(std::fs::read(&p).unwrap(), b"one");

        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400)).unwrap();
        write_private(&p, b"two", false).unwrap();
        assert_eq!(mode(&p), 0o400, "a stricter mode is kept");
        assert_eq!(std::fs::read(&p).unwrap(), b"two");

        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let f = write_private(&p, b"three", false).unwrap_err();
        assert_eq!(f.code, exit::ALREADY_EXISTS);
        assert!(f.message.contains("mode 0644"), "{}", f.message);
        assert_eq!(std::fs::read(&p).unwrap(), b"two", "left as it was");
        write_private(&p, b"three", true).unwrap();
        assert_eq!(mode(&p), 0o600);
        // No temporary file stays behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        // A directory of the user's (outside the runtime base): refused,
        // not changed, when others may enter it.
        let theirs = dir.path().join("open");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            private_dir(&theirs)
                .unwrap_err()
                .to_string()
                .contains("chmod 700")
        );
        assert_eq!(mode(&theirs), 0o755);
        let fresh = dir.path().join("new/files");
        private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        std::fs::remove_dir_all(dir.path().join("new")).unwrap();
        std::fs::remove_dir(&theirs).unwrap();

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert!(write_private(&link, b"x", true).is_err());
    }
}
