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
    if let Some(pw) = password {
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
    let creds = [("user", env.username.as_str()), ("password", password)];
    let hp = host_port(env);
    let db = enc(&env.database);
    match env.kind {
        DatabaseKind::Postgres => format!("jdbc:postgresql://{hp}/{db}{}", query(env, '?', &creds)),
        DatabaseKind::Mysql => format!("jdbc:mysql://{hp}/{db}{}", query(env, '?', &creds)),
        DatabaseKind::Mariadb => format!("jdbc:mariadb://{hp}/{db}{}", query(env, '?', &creds)),
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
            query(env, '&', &creds)
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
    [
        ("KIND", env.kind.as_str().to_owned()),
        ("HOST", env.host.clone()),
        ("PORT", env.port.to_string()),
        ("DATABASE", env.database.clone()),
        ("USERNAME", env.username.clone()),
        ("PASSWORD", password.to_owned()),
    ]
    .into_iter()
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
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EnvName;

    fn pg() -> Environment {
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        env.host = "db.internal".into();
        env.database = "app".into();
        env.username = "app".into();
        env
    }

    #[test]
    fn uri_encodes_every_reserved_character() {
        let u = uri(&pg(), Some("a@b:c/d?e#f%g h"));
        assert_eq!(
            u,
            "postgresql://app:a%40b%3Ac%2Fd%3Fe%23f%25g%20h@db.internal:5432/app"
        );
    }

    #[test]
    fn uri_carries_options_and_ipv6() {
        let mut env = pg();
        env.host = "::1".into();
        env.options.insert("sslmode".into(), "require".into());
        assert_eq!(
            uri(&env, None),
            "postgresql://app@[::1]:5432/app?sslmode=require"
        );
    }

    #[test]
    fn pgpass_escapes_backslash_and_colon() {
        assert_eq!(pgpass(&pg(), r"x\y:z"), r"db.internal:5432:app:app:x\\y\:z");
    }

    #[test]
    fn libpq_quotes_empty_and_spaces() {
        let mut env = pg();
        env.database = String::new();
        let s = libpq(&env, "a b");
        assert!(s.contains("dbname='' "));
        assert!(s.contains("password='a b'"));
    }
}
