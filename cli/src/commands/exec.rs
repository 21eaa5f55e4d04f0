//! `dbcreds exec NAME [-- CMD ARGS...]`: runs CMD (or `$SHELL`) with the
//! environment's connection in its environment variables.
//!
//! On Unix the command replaces dbcreds (`execvp`): signals reach it
//! directly, its exit code (or its death by a signal) is what the caller
//! sees, and no dbcreds process lingers holding a password in memory.

use std::path::{Path, PathBuf};

use dbcreds::{Credential, DatabaseKind, EnvName, render};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::child::{self, DBCREDS_ENV};
use super::{check_expiry, credential_for};
use crate::args::ExecArgs;
use crate::exit::Failure;

pub async fn run(a: ExecArgs) -> Result<(), Failure> {
    let current = child::current_env();
    child::check_nesting(current.as_deref(), std::slice::from_ref(&a.name), a.force)?;
    let outer = current.as_deref().and_then(|c| c.to_str());
    let (program, args) = child::program(&a.command, &format!("the connection of '{}'", a.name));
    // Found before anything is revealed, and named to the agent resolved
    // (links followed) for the policy's allow list; then exactly that file
    // is run, not whatever PATH finds a second time.
    let found = child::find_program(&program).map_err(|e| child::launch_error(&program, &e))?;
    let resolved = std::fs::canonicalize(&found).map_err(|e| child::launch_error(&program, &e))?;
    if a.supervise.supervises() {
        return Err(super::supervised(
            async || {
                prepare(&a, outer, &resolved)
                    .await
                    .map(|p| p.into_launch(&a.name))
            },
            found.into_os_string(),
            args,
            &a.supervise,
        )
        .await);
    }
    let plan = prepare(&a, outer, &resolved).await?;
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
    drop(plan);
    Err(child::launch(cmd, &program))
}

/// Reads the credential (for the program `resolved`, which the policy's
/// allow list must name) and works out the child's environment (writing
/// the MySQL option file it needs).
async fn prepare(a: &ExecArgs, outer: Option<&str>, resolved: &Path) -> Result<Plan, Failure> {
    let cred = credential_for(&a.name, dbcreds::Purpose::Exec, Some(resolved)).await?;
    check_expiry(cred.environment(), a.require_fresh)?;
    let mut plan = plan(&cred, outer);
    if matches!(
        cred.environment().kind,
        DatabaseKind::Mysql | DatabaseKind::Mariadb
    ) {
        let dir = write_mysql_option_file(&cred)?;
        plan.set
            .push(("MYSQL_HOME".into(), Zeroizing::new(path_string(&dir)?)));
        plan.set
            .push(("MARIADB_HOME".into(), Zeroizing::new(path_string(&dir)?)));
    } else if let Some(base) = crate::files::runtime_base() {
        // A MYSQL_HOME left by an outer `dbcreds exec` of a MySQL
        // environment would give its user to this one's clients.
        for var in ["MYSQL_HOME", "MARIADB_HOME"] {
            if std::env::var_os(var).is_some_and(|v| Path::new(&v).starts_with(&base)) {
                plan.remove.push(var.into());
            }
        }
    }
    if cred.environment().auth.uses_password() {
        plan.password = Some(Zeroizing::new(cred.password().expose_secret().to_owned()));
    }
    Ok(plan)
}

/// The variables to set and to remove for the child.
#[derive(Default)]
struct Plan {
    set: Vec<(String, Zeroizing<String>)>,
    remove: Vec<String>,
    /// The password in them, for `--mask`.
    password: Option<Zeroizing<String>>,
}

impl Plan {
    /// As the supervisor takes it.
    fn into_launch(self, name: &EnvName) -> super::Launch {
        super::Launch {
            set: self.set.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            remove: self.remove.into_iter().map(Into::into).collect(),
            passwords: self.password.into_iter().collect(),
            environments: vec![name.clone()],
        }
    }
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

/// Writes `<runtime>/mysql/<name>/my.cnf` with the user, host, port and
/// TLS options (no password: that goes in `MYSQL_PWD`) and returns its
/// directory, for `MYSQL_HOME`. It stays after exec (the child reads it
/// whenever it starts a client) and is rewritten on every exec; it lives
/// in the runtime directory, which the system clears at logout.
fn write_mysql_option_file(cred: &Credential) -> Result<PathBuf, Failure> {
    let base = crate::files::runtime_base().ok_or_else(|| {
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
    crate::files::private_dir(&dir).map_err(|e| fail("create", &dir, e))?;
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
}
