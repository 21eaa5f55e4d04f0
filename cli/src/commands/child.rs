//! What `exec` and `run` share about the command they start: the nesting
//! guard, the default command (`$SHELL`), and replacing dbcreds with it
//! (`execvp`) with the shells' exit codes for a command that cannot start.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use dbcreds::EnvName;

use crate::exit::{self, Failure};
use crate::output;

/// The variable that names the environment a process runs in.
pub const DBCREDS_ENV: &str = dbcreds::envvars::CURRENT_ENV;

/// The caller's `DBCREDS_ENV`, when set.
pub fn current_env() -> Option<OsString> {
    std::env::var_os(DBCREDS_ENV).filter(|v| !v.is_empty())
}

/// Refuses to enter environments `names` from inside `dbcreds exec` (or
/// `run`) of another one, where the outer connection's variables would be
/// silently replaced, unless `force`.
pub fn check_nesting(
    current: Option<&OsStr>,
    names: &[EnvName],
    force: bool,
) -> Result<(), Failure> {
    let Some(current) = current else {
        return Ok(());
    };
    let Some(other) = names
        .iter()
        .find(|n| current != OsStr::new(n.as_str()))
        .filter(|_| !force)
    else {
        return Ok(());
    };
    let cur = current.to_string_lossy();
    Err(Failure::new(
        exit::NESTED,
        format!(
            "this shell is already inside `dbcreds exec {cur}` (DBCREDS_ENV={cur}): \
             leave it first, or pass --force to run {other} inside it"
        ),
    ))
}

/// The program and its arguments: `command`, or `$SHELL` (else `/bin/sh`)
/// when it is empty, saying so on a terminal (`what` says what it gets).
pub fn program(command: &[OsString], what: &str) -> (OsString, Vec<OsString>) {
    if let Some((p, rest)) = command.split_first() {
        return (p.clone(), rest.to_vec());
    }
    let shell = std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    if crate::prompt::interactive() {
        output::note(&format!(
            "dbcreds: starting {} with {what}; exit it to leave",
            Path::new(&shell).display(),
        ));
    }
    (shell, Vec::new())
}

/// Where `program` is, as `execvp` would find it: a name with a `/` as it
/// stands (relative to here), any other through `PATH`.
pub fn find_program(program: &OsStr) -> std::io::Result<std::path::PathBuf> {
    let p = std::path::Path::new(program);
    if p.components().count() > 1 || program.to_string_lossy().contains('/') {
        return if p.exists() {
            Ok(p.to_path_buf())
        } else {
            Err(std::io::ErrorKind::NotFound.into())
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(p))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| std::io::ErrorKind::NotFound.into())
}

#[cfg(unix)]
fn is_executable(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &std::path::Path) -> bool {
    p.is_file()
}

/// Turns a failure to start `program` into the shells' exit codes: 127
/// when there is no such command, 126 when it cannot be run.
pub fn launch_error(program: &OsStr, e: &std::io::Error) -> Failure {
    let shown = program.to_string_lossy();
    match e.kind() {
        std::io::ErrorKind::NotFound => Failure::new(
            exit::COMMAND_NOT_FOUND,
            if shown.contains('/') {
                format!("command not found: {shown} does not exist")
            } else {
                format!("command not found: '{shown}' is not on PATH (give its full path?)")
            },
        ),
        std::io::ErrorKind::PermissionDenied => Failure::new(
            exit::COMMAND_NOT_EXECUTABLE,
            format!("cannot run '{shown}': permission denied (is it executable?)"),
        ),
        _ => Failure::new(
            exit::COMMAND_NOT_EXECUTABLE,
            format!("cannot run '{shown}': {e}"),
        ),
    }
}

/// Replaces this process with `cmd`; returns only when that failed.
#[cfg(unix)]
pub fn launch(mut cmd: std::process::Command, program: &OsStr) -> Failure {
    use std::os::unix::process::CommandExt;
    let e = cmd.exec();
    launch_error(program, &e)
}

/// Without exec: runs `cmd`, waits, and exits with its code.
#[cfg(not(unix))]
pub fn launch(mut cmd: std::process::Command, program: &OsStr) -> Failure {
    match cmd.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => launch_error(program, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_rules() {
        let prod = [EnvName::parse("prod").unwrap()];
        assert!(check_nesting(None, &prod, false).is_ok());
        assert!(check_nesting(Some(OsStr::new("prod")), &prod, false).is_ok());
        let f = check_nesting(Some(OsStr::new("staging")), &prod, false).unwrap_err();
        assert_eq!(f.code, exit::NESTED);
        assert!(f.message.contains("DBCREDS_ENV=staging"), "{}", f.message);
        assert!(f.message.contains("--force"), "{}", f.message);
        assert!(check_nesting(Some(OsStr::new("staging")), &prod, true).is_ok());
        // `run` of several: any other than the current one is nesting.
        let both = [prod[0].clone(), EnvName::parse("staging").unwrap()];
        let f = check_nesting(Some(OsStr::new("staging")), &both, false).unwrap_err();
        assert!(f.message.contains("run prod inside"), "{}", f.message);
        assert!(check_nesting(Some(OsStr::new("x")), &[], false).is_ok());
    }

    #[test]
    fn programs_are_found_as_execvp_finds_them() {
        let sh = find_program(OsStr::new("sh")).unwrap();
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        let err = find_program(OsStr::new("no-such-program-here")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(find_program(OsStr::new("./no/such")).is_err());
    }

    #[test]
    fn launch_errors_use_the_shell_codes() {
        let nf = std::io::Error::from(std::io::ErrorKind::NotFound);
        let f = launch_error(OsStr::new("nosuchcmd"), &nf);
        assert_eq!(f.code, exit::COMMAND_NOT_FOUND);
        assert!(f.message.contains("'nosuchcmd' is not on PATH"));
        let f = launch_error(OsStr::new("/x/y"), &nf);
        assert!(f.message.contains("/x/y does not exist"));
        let pd = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(
            launch_error(OsStr::new("./x"), &pd).code,
            exit::COMMAND_NOT_EXECUTABLE
        );
    }
}
