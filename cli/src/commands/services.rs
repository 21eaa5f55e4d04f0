//! Whole service files from many environments: `pg_service.conf`, a
//! `.pgpass` to match it, and a `.my.cnf` with a group per MySQL/MariaDB
//! environment. Shared by `export --all --format pg_service` and
//! `serve-files`.

use dbcreds::{Credential, DatabaseKind, Environment, render};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

const HEADER: &str =
    "# Written by dbcreds; `psql \"service=NAME\"` with PGSERVICEFILE pointing here.\n";

/// A `pg_service.conf` with a section per PostgreSQL environment.
pub fn pg_service_conf(envs: &[Environment]) -> String {
    let sections: Vec<String> = envs.iter().filter_map(render::pg_service).collect();
    format!("{HEADER}\n{}", sections.join("\n"))
}

/// The `.pgpass` lines of the PostgreSQL environments that log in with a
/// password.
pub fn pgpass(creds: &[Credential]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for c in creds {
        let env = c.environment();
        if env.kind == DatabaseKind::Postgres && env.auth.uses_password() {
            out.push_str(&Zeroizing::new(render::pgpass(
                env,
                c.password().expose_secret(),
            )));
            out.push('\n');
        }
    }
    out
}

/// A `.my.cnf` with `[client_NAME]` groups: a client reads one with
/// `--defaults-extra-file=FILE --defaults-group-suffix=_NAME`.
pub fn my_cnf(creds: &[Credential]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::from(
        "# Written by dbcreds; `mariadb --defaults-extra-file=THIS --defaults-group-suffix=_NAME`.\n",
    ));
    for c in creds {
        if let Some(groups) =
            render::mysql_client_groups(c.environment(), c.password().expose_secret())
        {
            out.push_str(&Zeroizing::new(groups));
        }
    }
    out
}

/// True when `creds` holds an environment of `kind` (another MySQL kind
/// counting as one).
pub fn has_kind(creds: &[Credential], mysql: bool) -> bool {
    creds.iter().any(|c| {
        let k = c.environment().kind;
        if mysql {
            matches!(k, DatabaseKind::Mysql | DatabaseKind::Mariadb)
        } else {
            k == DatabaseKind::Postgres
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbcreds::EnvName;

    fn cred(name: &str, kind: DatabaseKind, pw: &str) -> Credential {
        let mut env = Environment::new(EnvName::parse(name).unwrap(), kind);
        env.host = "db".into();
        env.database = "app".into();
        env.username = "app".into();
        Credential::new(env, pw.to_owned().into())
    }

    #[test]
    fn files_of_many_environments() {
        let creds = [
            cred("prod", DatabaseKind::Postgres, "a:b"),
            cred("shop", DatabaseKind::Mariadb, "s3"),
            cred("lite", DatabaseKind::Sqlite, ""),
        ];
        let envs: Vec<Environment> = creds.iter().map(|c| c.environment().clone()).collect();
        let conf = pg_service_conf(&envs);
        assert!(conf.contains("[prod]\nhost=db\nport=5432\n"), "{conf}");
        assert!(!conf.contains("shop") && !conf.contains("a:b"), "{conf}");
        assert_eq!(*pgpass(&creds), "db:5432:app:app:a\\:b\n");
        let cnf = my_cnf(&creds);
        assert!(
            cnf.contains("[client_shop]\nuser=\"app\"\npassword=\"s3\"\n"),
            "{}",
            *cnf
        );
        assert!(!cnf.contains("prod"), "{}", *cnf);
        assert!(has_kind(&creds, true) && has_kind(&creds, false));
    }
}
