//! `dbcreds exec NAME [-- CMD ARGS...]`: runs CMD (or `$SHELL`) with the
//! environment's connection in its environment variables.
//!
//! On Unix the command replaces dbcreds (`execvp`): signals reach it
//! directly, its exit code (or its death by a signal) is what the caller
//! sees, and no dbcreds process lingers holding a password in memory.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use dbcreds::{Credential, DatabaseKind, EnvName, render};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::{check_expiry, credential_for};
use crate::args::ExecArgs;
use crate::exit::{self, Failure};
use crate::output;

/// The variable that names the environment a process runs in.
pub const DBCREDS_ENV: &str = dbcreds::envvars::CURRENT_ENV;

pub async fn run(a: ExecArgs) -> Result<(), Failure> {
    let current = std::env::var_os(DBCREDS_ENV).filter(|v| !v.is_empty());
    check_nesting(current.as_deref(), &a.name, a.force)?;

    let (program, args) = match a.command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => {
            let shell = std::env::var_os("SHELL")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "/bin/sh".into());
            if crate::prompt::interactive() {
                output::note(&format!(
                    "dbcreds: starting {} with the connection of '{}'; exit it to leave",
                    Path::new(&shell).display(),
                    a.name
                ));
            }
            (shell, Vec::new())
        }
    };
    // Found before anything is revealed, and named to the agent resolved
    // (links followed) for the policy's allow list; then exactly that file
    // is run, not whatever PATH finds a second time.
    let found = find_program(&program).map_err(|e| launch_error(&program, &e))?;
    let resolved = std::fs::canonicalize(&found).map_err(|e| launch_error(&program, &e))?;
    let cred = credential_for(&a.name, dbcreds::Purpose::Exec, Some(&resolved)).await?;
    check_expiry(cred.environment(), a.require_fresh)?;

    let mut plan = plan(&cred, current.as_deref().and_then(|c| c.to_str()));
    if matches!(
        cred.environment().kind,
        DatabaseKind::Mysql | DatabaseKind::Mariadb
    ) {
        let dir = write_mysql_option_file(&cred)?;
        plan.set
            .push(("MYSQL_HOME".into(), Zeroizing::new(path_string(&dir)?)));
        plan.set
            .push(("MARIADB_HOME".into(), Zeroizing::new(path_string(&dir)?)));
    } else if let Some(base) = runtime_base() {
        // A MYSQL_HOME left by an outer `dbcreds exec` of a MySQL
        // environment would give its user to this one's clients.
        for var in ["MYSQL_HOME", "MARIADB_HOME"] {
            if std::env::var_os(var).is_some_and(|v| Path::new(&v).starts_with(&base)) {
                plan.remove.push(var.into());
            }
        }
    }

    let mut cmd = std::process::Command::new(&found);
    #[cfg(unix)]
    {
        // argv[0] as typed: wrappers such as Debian's pg_wrapper read it.
        use std::os::unix::process::CommandExt;
        cmd.arg0(&program);
    }
    cmd.args(&args);
    for k in &plan.remove {
        cmd.env_remove(k);
    }
    for (k, v) in &plan.set {
        cmd.env(k, v.as_str());
    }
    drop(cred);
    Err(launch(cmd, &program))
}

/// Refuses to enter environment `name` from inside `dbcreds exec` of
/// another one, where the outer connection's variables would be silently
/// replaced, unless `force`.
fn check_nesting(current: Option<&OsStr>, name: &EnvName, force: bool) -> Result<(), Failure> {
    let Some(current) = current else {
        return Ok(());
    };
    if force || current == OsStr::new(name.as_str()) {
        return Ok(());
    }
    let cur = current.to_string_lossy();
    Err(Failure::new(
        exit::NESTED,
        format!(
            "this shell is already inside `dbcreds exec {cur}` (DBCREDS_ENV={cur}): \
             leave it first, or pass --force to run {name} inside it"
        ),
    ))
}

/// The variables to set and to remove for the child.
#[derive(Default)]
struct Plan {
    set: Vec<(String, Zeroizing<String>)>,
    remove: Vec<String>,
}

/// What the child's environment gets: the database clients' variables for
/// `cred`, `DBCREDS_ENV` and the `DBCREDS_<NAME>_*` variables (so
/// `dbcreds get` and applications linking the library find the same
/// credential inside, with no agent). Every client variable of any kind is
/// removed first, and so are the `DBCREDS_<OUTER>_*` variables of an outer
/// exec, so nothing of another connection leaks in.
fn plan(cred: &Credential, outer: Option<&str>) -> Plan {
    let env = cred.environment();
    let password = cred.password().expose_secret();
    let mut p = Plan::default();
    p.remove
        .extend(render::CLIENT_ENV_VARS.iter().map(|v| (*v).to_owned()));
    // An outer exec's variables go, and so do this environment's own that
    // the child would not get back (a CI job's `_USER` or `_OPT_*`).
    let stems = [
        outer.and_then(|o| EnvName::parse(o).ok()),
        Some(env.name.clone()),
    ];
    for stem in stems
        .iter()
        .flatten()
        .map(|n| format!("DBCREDS_{}_", n.env_var_stem()))
    {
        for suffix in dbcreds::envvars::SUFFIXES {
            p.remove.push(format!("{stem}{suffix}"));
        }
        let options = format!("{stem}{}", dbcreds::envvars::OPTION_PREFIX);
        p.remove.extend(
            std::env::vars_os()
                .filter_map(|(k, _)| k.into_string().ok())
                .filter(|k| k.starts_with(&options)),
        );
    }
    let mut set = |k: String, v: String| p.set.push((k, Zeroizing::new(v)));
    for (k, v) in render::client_env(env, password) {
        set(k, v);
    }
    set(DBCREDS_ENV.into(), env.name.to_string());
    for (k, v) in render::env_vars(env, password) {
        set(k, v);
    }
    // The expiry travels along, so `dbcreds get --require-fresh` inside
    // refuses an expired password as it would outside. A stale one of an
    // earlier exec of the same environment must not stay either.
    let expires = format!("DBCREDS_{}_EXPIRES_AT", env.name.env_var_stem());
    match env.password_expires_at() {
        Some(at) => set(expires, dbcreds::envvars::expires_at_value(at)),
        None => p.remove.push(expires),
    }
    p
}

fn path_string(p: &Path) -> Result<String, Failure> {
    p.to_str().map(str::to_owned).ok_or_else(|| {
        Failure::other(format!(
            "the runtime directory {} is not valid UTF-8: set XDG_RUNTIME_DIR to a plain path",
            p.display()
        ))
    })
}

/// Where per-user runtime files go: `$XDG_RUNTIME_DIR/dbcreds`, else
/// `/tmp/dbcreds-$UID` (the agent's socket directories).
fn runtime_base() -> Option<PathBuf> {
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

/// Writes `<runtime>/mysql/<name>/my.cnf` with the user, host, port and
/// TLS options (no password: that goes in `MYSQL_PWD`) and returns its
/// directory, for `MYSQL_HOME`. It stays after exec (the child reads it
/// whenever it starts a client) and is rewritten on every exec; it lives
/// in the runtime directory, which the system clears at logout.
fn write_mysql_option_file(cred: &Credential) -> Result<PathBuf, Failure> {
    let base = runtime_base().ok_or_else(|| {
        Failure::other("no runtime directory for the MySQL option file: set XDG_RUNTIME_DIR")
    })?;
    let env = cred.environment();
    let dir = base.join("mysql").join(env.name.as_str());
    let fail = |what: &str, p: &Path, e: std::io::Error| {
        Failure::other(format!(
            "cannot {what} {} (for the MySQL user name): {e}",
            p.display()
        ))
    };
    private_dir(&dir).map_err(|e| fail("create", &dir, e))?;
    let text = render::mysql_option_file(env);
    let file = dir.join("my.cnf");
    let tmp = dir.join(format!(".my.cnf.{}", std::process::id()));
    write_new(&tmp, text.as_bytes()).map_err(|e| fail("write", &tmp, e))?;
    // Rename: a client starting meanwhile reads the old file or the new one.
    std::fs::rename(&tmp, &file).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail("write", &file, e)
    })?;
    Ok(dir)
}

#[cfg(unix)]
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Creates `dir` and its missing parents with mode 0700, and checks that
/// every existing one from the runtime base down is ours and closed to
/// others (a `/tmp/dbcreds-$UID` made by someone else must not be used).
#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let uid = rustix::process::getuid().as_raw();
    let base = runtime_base().unwrap_or_else(|| dir.to_path_buf());
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
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700))?;
        }
        if p == base || !p.pop() {
            break;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Where `program` is, as `execvp` would find it: a name with a `/` as it
/// stands (relative to here), any other through `PATH`.
fn find_program(program: &OsStr) -> std::io::Result<PathBuf> {
    let p = Path::new(program);
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
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Turns a failure to start `program` into the shells' exit codes: 127
/// when there is no such command, 126 when it cannot be run.
fn launch_error(program: &OsStr, e: &std::io::Error) -> Failure {
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
fn launch(mut cmd: std::process::Command, program: &OsString) -> Failure {
    use std::os::unix::process::CommandExt;
    let e = cmd.exec();
    launch_error(program, &e)
}

/// Without exec: runs `cmd`, waits, and exits with its code.
#[cfg(not(unix))]
fn launch(mut cmd: std::process::Command, program: &OsString) -> Failure {
    match cmd.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => launch_error(program, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbcreds::Environment;

    fn cred(kind: DatabaseKind) -> Credential {
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), kind);
        env.host = "db".into();
        env.database = "app".into();
        env.username = "app".into();
        Credential::new(env, "p@ss".into())
    }

    fn get<'a>(p: &'a Plan, k: &str) -> Option<&'a str> {
        p.set
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn nesting_rules() {
        let prod = EnvName::parse("prod").unwrap();
        assert!(check_nesting(None, &prod, false).is_ok());
        assert!(check_nesting(Some(OsStr::new("prod")), &prod, false).is_ok());
        let f = check_nesting(Some(OsStr::new("staging")), &prod, false).unwrap_err();
        assert_eq!(f.code, exit::NESTED);
        assert!(f.message.contains("DBCREDS_ENV=staging"), "{}", f.message);
        assert!(f.message.contains("--force"), "{}", f.message);
        assert!(check_nesting(Some(OsStr::new("staging")), &prod, true).is_ok());
    }

    #[test]
    fn postgres_plan() {
        let p = plan(&cred(DatabaseKind::Postgres), Some("staging"));
        assert_eq!(get(&p, "PGPASSWORD"), Some("p@ss"));
        assert_eq!(get(&p, "PGUSER"), Some("app"));
        assert_eq!(get(&p, "PGSSLMODE"), Some("prefer"));
        assert_eq!(get(&p, "DBCREDS_ENV"), Some("prod"));
        assert_eq!(get(&p, "DBCREDS_PROD_PASSWORD"), Some("p@ss"));
        // No password age, no expiry: none exported, any stale one removed.
        assert_eq!(get(&p, "DBCREDS_PROD_EXPIRES_AT"), None);
        assert!(p.remove.iter().any(|r| r == "DBCREDS_PROD_EXPIRES_AT"));
        assert_eq!(
            get(&p, "DATABASE_URL"),
            Some("postgresql://app:p%40ss@db:5432/app")
        );
        for gone in [
            "PGSERVICE",
            "PGHOSTADDR",
            "MYSQL_PWD",
            "DBCREDS_STAGING_PASSWORD",
        ] {
            assert!(p.remove.iter().any(|r| r == gone), "{gone}");
        }
    }

    #[test]
    fn mysql_and_sqlite_plans() {
        let p = plan(&cred(DatabaseKind::Mariadb), None);
        assert_eq!(get(&p, "MYSQL_PWD"), Some("p@ss"));
        assert_eq!(get(&p, "MYSQL_TCP_PORT"), Some("3306"));
        assert_eq!(get(&p, "PGPASSWORD"), None);
        let mut lite = cred(DatabaseKind::Sqlite);
        let mut env = lite.environment().clone();
        env.port = 0;
        lite = Credential::new(env, "x".into());
        let p = plan(&lite, None);
        assert_eq!(get(&p, "DBCREDS_PROD_PORT"), None);
        assert_eq!(get(&p, "DBCREDS_PROD_KIND"), Some("sqlite"));
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
