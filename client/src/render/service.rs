//! Service files: `pg_service.conf` sections (no password: libpq takes it
//! from `.pgpass`) and MySQL/MariaDB option-file groups per environment,
//! for `dbcreds export --format pg_service` and `dbcreds serve-files`.

use crate::model::{DatabaseKind, Environment};

/// The `pg_service.conf` section for a PostgreSQL environment, named after
/// it: `host`, `port`, `dbname`, `user`, and the options libpq knows
/// (`sslmode`, `sslrootcert`, ...; others would make libpq refuse the
/// whole service). `None` for another kind. libpq reads a value to the
/// end of its line, unquoted, and no field may hold a line break.
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment, render};
/// let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
/// env.host = "db".into();
/// env.database = "app".into();
/// env.username = "app".into();
/// env.options.insert("sslmode".into(), "verify-full".into());
/// assert_eq!(
///     render::pg_service(&env).unwrap(),
///     "[prod]\nhost=db\nport=5432\ndbname=app\nuser=app\nsslmode=verify-full\n"
/// );
/// ```
pub fn pg_service(env: &Environment) -> Option<String> {
    if env.kind != DatabaseKind::Postgres {
        return None;
    }
    let mut out = format!(
        "[{}]\nhost={}\nport={}\ndbname={}\nuser={}\n",
        env.name, env.host, env.port, env.database, env.username
    );
    let known = std::iter::once("sslmode").chain(super::LIBPQ_VARS.iter().map(|(k, _)| *k));
    for key in known {
        if let Some(v) = env.options.get(key) {
            out.push_str(&format!("{key}={v}\n"));
        }
    }
    Some(out)
}

/// The option-file groups for a MySQL/MariaDB environment with its
/// password, for a `.my.cnf` that holds several: `[client_NAME]` (and
/// `[client-mariadb_NAME]` for the TLS switches), which a client reads
/// with `--defaults-group-suffix=_NAME`. `None` for another kind.
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment, render};
/// let mut env = Environment::new(EnvName::parse("shop").unwrap(), DatabaseKind::Mariadb);
/// env.username = "web".into();
/// let groups = render::mysql_client_groups(&env, "p\"w").unwrap();
/// assert!(groups.starts_with("[client_shop]\nuser=\"web\"\npassword=\"p\\\"w\"\n"));
/// ```
pub fn mysql_client_groups(env: &Environment, password: &str) -> Option<String> {
    if !matches!(env.kind, DatabaseKind::Mysql | DatabaseKind::Mariadb) {
        return None;
    }
    let name = env.name.as_str();
    let mut out = String::new();
    for line in super::mysql_option_file(env).lines() {
        match line {
            "[client]" => out.push_str(&format!("[client_{name}]\n")),
            "[client-mariadb]" => out.push_str(&format!("[client-mariadb_{name}]\n")),
            l => {
                out.push_str(l);
                out.push('\n');
                if l.starts_with("user=") && env.auth.uses_password() {
                    out.push_str(&format!("password={}\n", super::option_value(password)));
                }
            }
        }
    }
    Some(out)
}
