//! Connection strings and export formats: URI, JDBC, libpq key=value,
//! `.pgpass` lines and `DBCREDS_<ENV>_*` variable lines. Pure functions of an
//! [`Environment`] and a password, so the CLI and applications render the
//! same text.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::model::{DatabaseKind, Environment};

/// RFC 3986 unreserved characters stay; everything else in user names,
/// passwords and database names is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

fn query(env: &Environment, sep: char, extra: &[(&str, &str)]) -> String {
    let mut parts: Vec<String> = env
        .options
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    parts.extend(extra.iter().map(|(k, v)| format!("{k}={}", enc(v))));
    if parts.is_empty() {
        String::new()
    } else {
        format!("{sep}{}", parts.join("&"))
    }
}

fn host_port(env: &Environment) -> String {
    // A Unix-socket directory (`/var/run/postgresql`) is percent-encoded,
    // as libpq reads it: a bare path would be taken for the database.
    if env.host.starts_with('/') {
        return format!("{}:{}", enc(&env.host), env.port);
    }
    // Bare IPv6 addresses need brackets inside a URI authority.
    if env.host.contains(':') && !env.host.starts_with('[') {
        format!("[{}]:{}", env.host, env.port)
    } else {
        format!("{}:{}", env.host, env.port)
    }
}

/// The connection URI; with `password` of `None` the password is left out
/// (for display).
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment, render};
/// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Mysql);
/// env.username = "root".into();
/// env.database = "shop".into();
/// assert_eq!(render::uri(&env, None), "mysql://root@localhost:3306/shop");
/// env.kind = DatabaseKind::Postgres;
/// env.port = 5432;
/// env.host = "/var/run/postgresql".into();
/// assert_eq!(
///     render::uri(&env, None),
///     "postgresql://root@%2Fvar%2Frun%2Fpostgresql:5432/shop"
/// );
/// ```
pub fn uri(env: &Environment, password: Option<&str>) -> String {
    let scheme = match env.kind {
        DatabaseKind::Postgres => "postgresql",
        DatabaseKind::Mysql | DatabaseKind::Mariadb => "mysql",
        DatabaseKind::Sqlite => {
            return format!("sqlite://{}{}", env.database, query(env, '?', &[]));
        }
        DatabaseKind::Mssql => "mssql",
        DatabaseKind::Oracle => "oracle",
        DatabaseKind::Snowflake => "snowflake",
    };
    let mut userinfo = enc(&env.username);
    // A certificate or trust login has no password to put in the URI.
    if let Some(pw) = password.filter(|_| env.auth.uses_password()) {
        userinfo.push(':');
        userinfo.push_str(&enc(pw));
    }
    let at = if userinfo.is_empty() { "" } else { "@" };
    format!(
        "{scheme}://{userinfo}{at}{}/{}{}",
        host_port(env),
        enc(&env.database),
        query(env, '?', &[])
    )
}

/// A JDBC URL carrying user and password as properties.
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment, render};
/// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
/// env.username = "app".into();
/// env.database = "app".into();
/// assert_eq!(render::jdbc(&env, "pw"), "jdbc:postgresql://localhost:5432/app?user=app&password=pw");
/// ```
pub fn jdbc(env: &Environment, password: &str) -> String {
    let with_password = [("user", env.username.as_str()), ("password", password)];
    let creds = if env.auth.uses_password() {
        &with_password[..]
    } else {
        &with_password[..1]
    };
    let hp = host_port(env);
    let db = enc(&env.database);
    match env.kind {
        DatabaseKind::Postgres => format!("jdbc:postgresql://{hp}/{db}{}", query(env, '?', creds)),
        DatabaseKind::Mysql => format!("jdbc:mysql://{hp}/{db}{}", query(env, '?', creds)),
        DatabaseKind::Mariadb => format!("jdbc:mariadb://{hp}/{db}{}", query(env, '?', creds)),
        DatabaseKind::Sqlite => format!("jdbc:sqlite:{}", env.database),
        DatabaseKind::Mssql => format!(
            "jdbc:sqlserver://{hp};databaseName={};user={};password={{{}}}",
            env.database,
            env.username,
            password.replace('}', "}}")
        ),
        DatabaseKind::Oracle => format!(
            "jdbc:oracle:thin:{}/\"{}\"@//{hp}/{db}",
            env.username,
            password.replace('"', "")
        ),
        DatabaseKind::Snowflake => format!(
            "jdbc:snowflake://{}/?db={db}{}",
            env.host,
            query(env, '&', creds)
        ),
    }
}

/// Quotes a libpq connection-string value: single quotes when needed, with
/// `\` and `'` backslash-escaped (libpq's rules).
fn libpq_value(v: &str) -> String {
    if !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\')
    {
        return v.to_owned();
    }
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A libpq `key=value` connection string.
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment, render};
/// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
/// env.username = "app".into();
/// env.database = "app".into();
/// assert_eq!(render::libpq(&env, "it's"), r"host=localhost port=5432 dbname=app user=app password='it\'s'");
/// ```
pub fn libpq(env: &Environment, password: &str) -> String {
    let mut pairs = vec![
        ("host", env.host.as_str()),
        ("port", ""),
        ("dbname", env.database.as_str()),
        ("user", env.username.as_str()),
        ("password", password),
    ];
    let port = env.port.to_string();
    pairs[1].1 = &port;
    if !env.auth.uses_password() {
        pairs.pop();
    }
    pairs.extend(env.options.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", libpq_value(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escapes `:` and `\` for a `.pgpass` field.
fn pgpass_field(v: &str) -> String {
    v.replace('\\', "\\\\").replace(':', "\\:")
}

/// One `.pgpass` line: `host:port:database:user:password`.
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment, render};
/// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
/// env.username = "app".into();
/// env.database = "app".into();
/// assert_eq!(render::pgpass(&env, "a:b"), r"localhost:5432:app:app:a\:b");
/// ```
pub fn pgpass(env: &Environment, password: &str) -> String {
    [
        env.host.as_str(),
        &env.port.to_string(),
        &env.database,
        &env.username,
        password,
    ]
    .iter()
    .map(|f| pgpass_field(f))
    .collect::<Vec<_>>()
    .join(":")
}

/// The `DBCREDS_<ENV>_*` variables that define `env` without an agent, as
/// (name, value) pairs. The library reads the same names back.
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment, render};
/// let env = Environment::new(EnvName::parse("ci").unwrap(), DatabaseKind::Postgres);
/// let vars = render::env_vars(&env, "pw");
/// assert!(vars.contains(&("DBCREDS_CI_PASSWORD".to_string(), "pw".to_string())));
/// ```
pub fn env_vars(env: &Environment, password: &str) -> Vec<(String, String)> {
    let stem = env.name.env_var_stem();
    let mut vars = vec![("KIND".to_owned(), env.kind.as_str().to_owned())];
    let mut set = |k: &str, v: String| vars.push((k.to_owned(), v));
    // A file has no host or port: writing them would only be read back
    // as a server's.
    if env.kind.has_server() {
        set("HOST", env.host.clone());
        set("PORT", env.port.to_string());
    }
    set("DATABASE", env.database.clone());
    if env.kind.has_server() || !env.username.is_empty() {
        set("USERNAME", env.username.clone());
    }
    if env.auth.uses_password() {
        set("PASSWORD", password.to_owned());
    } else if env.kind.has_server() {
        set("AUTH", env.auth.as_str().to_owned());
    }
    for (k, v) in &env.options {
        if let Some(suffix) = crate::envvars::option_suffix(k) {
            set(&suffix, v.clone());
        }
    }
    vars.into_iter()
        .map(|(k, v)| (format!("DBCREDS_{stem}_{k}"), v))
        .collect()
}

/// Quotes a value for a POSIX shell: single quotes, with `'` spelled `'\''`.
///
/// ```
/// assert_eq!(dbcreds::render::shell_quote("it's"), r"'it'\''s'");
/// ```
pub fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// Quotes a value for a `.env` file: double quotes, escaping `\`, `"`, `$`
/// and newlines the way dotenv parsers read them back.
///
/// ```
/// assert_eq!(dbcreds::render::dotenv_quote("a\"$b"), r#""a\"\$b""#);
/// ```
pub fn dotenv_quote(v: &str) -> String {
    double_quote(v, '$', "\\$")
}

/// `v` in double quotes with `\`, `"` and `\n` escaped, and `extra` spelled
/// `escape`.
fn double_quote(v: &str, extra: char, escape: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c == extra => out.push_str(escape),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// libpq connection options and the variables libpq reads them from (the
/// PostgreSQL docs, "Environment Variables"). `sslmode` is handled apart.
const LIBPQ_VARS: &[(&str, &str)] = &[
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("sslcrl", "PGSSLCRL"),
    ("sslcrldir", "PGSSLCRLDIR"),
    ("sslsni", "PGSSLSNI"),
    ("sslcompression", "PGSSLCOMPRESSION"),
    ("sslnegotiation", "PGSSLNEGOTIATION"),
    ("ssl_min_protocol_version", "PGSSLMINPROTOCOLVERSION"),
    ("ssl_max_protocol_version", "PGSSLMAXPROTOCOLVERSION"),
    ("channel_binding", "PGCHANNELBINDING"),
    ("gssencmode", "PGGSSENCMODE"),
    ("requirepeer", "PGREQUIREPEER"),
    ("require_auth", "PGREQUIREAUTH"),
    ("krbsrvname", "PGKRBSRVNAME"),
    ("gsslib", "PGGSSLIB"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("application_name", "PGAPPNAME"),
    ("options", "PGOPTIONS"),
    ("target_session_attrs", "PGTARGETSESSIONATTRS"),
    ("load_balance_hosts", "PGLOADBALANCEHOSTS"),
];

/// Every variable [`client_env`] may set, for any kind: a program started
/// for one environment must not inherit another's (a `PGSERVICE`,
/// `PGHOSTADDR` or `PGSSLMODE` left in the shell would send `psql`
/// elsewhere, or weaken TLS).
///
/// ```
/// assert!(dbcreds::render::CLIENT_ENV_VARS.contains(&"PGSERVICE"));
/// ```
pub const CLIENT_ENV_VARS: &[&str] = &[
    "DATABASE_URL",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGSSLSNI",
    "PGSSLCOMPRESSION",
    "PGSSLNEGOTIATION",
    "PGSSLMINPROTOCOLVERSION",
    "PGSSLMAXPROTOCOLVERSION",
    "PGCHANNELBINDING",
    "PGGSSENCMODE",
    "PGREQUIREPEER",
    "PGREQUIREAUTH",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGCONNECT_TIMEOUT",
    "PGAPPNAME",
    "PGOPTIONS",
    "PGTARGETSESSIONATTRS",
    "PGLOADBALANCEHOSTS",
    "MYSQL_HOST",
    "MYSQL_TCP_PORT",
    "MYSQL_PWD",
];

/// The variables database clients read to connect to `env`, for
/// `dbcreds exec`:
///
/// - every kind: `DATABASE_URL` (the URI with the password);
/// - PostgreSQL: `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`,
///   `PGSSLMODE` (the `sslmode` option, else libpq's default `prefer`) and
///   `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`, ... for the libpq options
///   the environment sets;
/// - MySQL and MariaDB: `MYSQL_HOST`, `MYSQL_TCP_PORT`, `MYSQL_PWD`. Their
///   clients read the user name from no variable: see [`mysql_option_file`].
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment, render};
/// let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
/// env.username = "app".into();
/// env.options.insert("sslrootcert".into(), "/etc/ca.pem".into());
/// let vars = render::client_env(&env, "pw");
/// assert!(vars.contains(&("PGPASSWORD".to_string(), "pw".to_string())));
/// assert!(vars.contains(&("PGSSLMODE".to_string(), "prefer".to_string())));
/// assert!(vars.contains(&("PGSSLROOTCERT".to_string(), "/etc/ca.pem".to_string())));
/// ```
pub fn client_env(env: &Environment, password: &str) -> Vec<(String, String)> {
    let mut vars = vec![("DATABASE_URL".to_owned(), uri(env, Some(password)))];
    let mut set = |k: &str, v: &str| vars.push((k.to_owned(), v.to_owned()));
    match env.kind {
        DatabaseKind::Postgres => {
            set("PGHOST", &env.host);
            set("PGPORT", &env.port.to_string());
            set("PGDATABASE", &env.database);
            set("PGUSER", &env.username);
            if env.auth.uses_password() {
                set("PGPASSWORD", password);
            }
            set(
                "PGSSLMODE",
                env.options.get("sslmode").map_or("prefer", String::as_str),
            );
            for (opt, var) in LIBPQ_VARS {
                if let Some(v) = env.options.get(*opt) {
                    set(var, v);
                }
            }
        }
        DatabaseKind::Mysql | DatabaseKind::Mariadb => {
            set("MYSQL_HOST", &env.host);
            set("MYSQL_TCP_PORT", &env.port.to_string());
            if env.auth.uses_password() {
                set("MYSQL_PWD", password);
            }
        }
        _ => {}
    }
    vars
}

/// An option-file value, double-quoted with `\`, `"` and line breaks
/// escaped (MySQL and MariaDB read these escapes; a `#` inside quotes is
/// not a comment).
fn option_value(v: &str) -> String {
    double_quote(v, '\r', "\\r")
}

/// A MySQL/MariaDB option file (`my.cnf`) for `env`, without the password:
/// the `[client]` group with `user`, `host` and `port` (no variable carries
/// the user name, and a file is the only other place every client reads),
/// plus `ssl-ca`, `ssl-cert`, `ssl-key` from the options `ssl-ca`/`sslrootcert`,
/// `ssl-cert`/`sslcert`, `ssl-key`/`sslkey`. An `ssl-mode` (or `sslmode`)
/// option becomes `ssl`/`ssl-verify-server-cert` in the `[client-mariadb]`
/// group MariaDB's clients read, and `loose-ssl-mode` for MySQL's. The
/// database goes in the `[mysql]` group, which only the `mysql`/`mariadb`
/// command-line client reads (both MySQL's and MariaDB's): `mysqldump` and
/// `mysqladmin` read `[client]` too and reject a `database` option there.
/// `dbcreds exec` points `MYSQL_HOME` at the directory holding it; the
/// password travels in `MYSQL_PWD`.
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment, render};
/// let mut env = Environment::new(EnvName::parse("shop").unwrap(), DatabaseKind::Mariadb);
/// env.host = "127.0.0.1".into();
/// env.username = "web#1".into();
/// let cnf = render::mysql_option_file(&env);
/// assert!(cnf.starts_with("[client]\nuser=\"web#1\"\nhost=\"127.0.0.1\"\nport=3306\n"));
/// env.database = "shop".into();
/// assert!(render::mysql_option_file(&env).ends_with("[mysql]\ndatabase=\"shop\"\n"));
/// ```
pub fn mysql_option_file(env: &Environment) -> String {
    let opt = |keys: &[&str]| keys.iter().find_map(|k| env.options.get(*k));
    let mut out = String::from("[client]\n");
    out.push_str(&format!("user={}\n", option_value(&env.username)));
    out.push_str(&format!("host={}\n", option_value(&env.host)));
    out.push_str(&format!("port={}\n", env.port));
    for (name, keys) in [
        ("ssl-ca", &["ssl-ca", "ssl_ca", "sslca", "sslrootcert"][..]),
        ("ssl-cert", &["ssl-cert", "ssl_cert", "sslcert"][..]),
        ("ssl-key", &["ssl-key", "ssl_key", "sslkey"][..]),
    ] {
        if let Some(v) = opt(keys) {
            out.push_str(&format!("{name}={}\n", option_value(v)));
        }
    }
    if let Some(mode) = opt(&["ssl-mode", "ssl_mode", "sslmode"]) {
        let m = mode.to_ascii_uppercase().replace('-', "_");
        let (mysql, mariadb): (&str, &[&str]) = match m.as_str() {
            "DISABLED" | "DISABLE" => ("DISABLED", &["skip-ssl"]),
            "PREFERRED" | "PREFER" | "ALLOW" => ("PREFERRED", &[]),
            "REQUIRED" | "REQUIRE" => ("REQUIRED", &["ssl"]),
            "VERIFY_CA" => ("VERIFY_CA", &["ssl", "ssl-verify-server-cert"]),
            "VERIFY_IDENTITY" | "VERIFY_FULL" => {
                ("VERIFY_IDENTITY", &["ssl", "ssl-verify-server-cert"])
            }
            _ => ("", &[]),
        };
        if env.kind == DatabaseKind::Mysql && !mysql.is_empty() {
            // `loose-`: a MariaDB client reading this warns instead of failing.
            out.push_str(&format!("loose-ssl-mode={mysql}\n"));
        }
        if !mariadb.is_empty() {
            out.push_str("[client-mariadb]\n");
            for line in mariadb {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if !env.database.is_empty() {
        out.push_str(&format!(
            "[mysql]\ndatabase={}\n",
            option_value(&env.database)
        ));
    }
    out
}

mod service;
pub use service::{mysql_client_groups, pg_service};

#[cfg(test)]
mod tests;
