//! Names, TLS options, patches and the renderers, on any input.

use std::collections::BTreeMap;

use dbcreds::edit::{self, Patch};
use dbcreds::render;
use dbcreds::tls::ConnectSettings;
use dbcreds::{Credential, DatabaseKind, EnvName, Environment};
use dbcreds_fuzz::{Corpus, Gen, fuzz};
use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};

use dbcreds_fuzz::model as common;

#[test]
fn env_name() {
    let seeds = [
        "prod",
        "Prod",
        "PROD-eu_2",
        "Prod DB!",
        "",
        "a",
        "x".repeat(50).leak(),
        "x".repeat(51).leak(),
        "é",
        "\u{212a}",
        "İstanbul",
        "-",
        "_",
        "dev\n",
    ];
    fuzz(
        "model::env_name",
        Corpus::text(
            &seeds,
            &["-", "_", "A", "z", "0", " ", "é", "\u{212a}", "İ"],
        ),
        |b| {
            let raw = String::from_utf8_lossy(b);
            match EnvName::parse(&raw) {
                Ok(n) => {
                    let s = n.as_str();
                    assert_eq!(s, raw.to_ascii_lowercase());
                    assert!((1..=50).contains(&s.chars().count()), "{s:?}");
                    assert!(
                        s.bytes().all(|c| c.is_ascii_lowercase()
                            || c.is_ascii_digit()
                            || c == b'_'
                            || c == b'-'),
                        "{s:?}"
                    );
                    // Idempotent: the stored form parses to itself.
                    assert_eq!(EnvName::parse(s).unwrap(), n);
                    assert_eq!(s.parse::<EnvName>().unwrap(), n);
                    assert_eq!(n.to_string(), s);
                    let stem = n.env_var_stem();
                    assert!(
                        stem.bytes()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'),
                        "{stem:?}"
                    );
                    true
                }
                Err(e) => {
                    let _ = e.to_string();
                    false
                }
            }
        },
    );
}

/// `ConnectSettings::from_options` and the driver options the agent and
/// applications build from it (`dbcreds-sqlx`).
#[test]
fn tls_options() {
    let seeds = vec![
        vec![0; 16],
        vec![1; 64],
        vec![7; 128],
        (0..=255).rev().collect(),
    ];
    fuzz("model::tls_options", Corpus::bytes(seeds, &[]), |b| {
        let mut g = Gen::new(b);
        let mut options: BTreeMap<String, String> = common::options(&mut g);
        if g.bool() {
            let v = g.pick(&[
                "disable",
                "allow",
                "PREFERRED",
                "require",
                "verify-ca",
                "VERIFY_IDENTITY",
                " verify_full ",
                "maybe",
            ]);
            options.insert(
                g.pick(&["sslmode", "ssl-mode", "SSL_MODE"]).into(),
                v.into(),
            );
        }
        if g.bool() {
            let v = g.pick(&[
                "0",
                "1",
                "300",
                "301",
                " 5 ",
                "-1",
                "1e3",
                "18446744073709551616",
            ]);
            options.insert(
                g.pick(&["connect_timeout", "CONNECT-TIMEOUT"]).into(),
                v.into(),
            );
        }
        let ok = match ConnectSettings::from_options(&options) {
            Ok(s) => {
                assert!((1..=300).contains(&s.connect_timeout.as_secs()));
                true
            }
            Err(e) => {
                assert!(e.to_string().contains("option"), "{e}");
                false
            }
        };
        let mut env = Environment::new(
            EnvName::parse("t").unwrap(),
            g.pick(&[
                DatabaseKind::Postgres,
                DatabaseKind::Mysql,
                DatabaseKind::Mariadb,
            ]),
        );
        env.host = g.string(40);
        env.port = g.u32() as u16;
        env.database = g.string(40);
        env.username = g.string(40);
        env.options = options;
        let cred = Credential::new(env, SecretString::from(g.string(40)));
        let pg = dbcreds_sqlx::pg_options(&cred);
        let my = dbcreds_sqlx::mysql_options(&cred);
        // Each driver refuses the other's kind, and both refuse bad options.
        assert_eq!(pg.is_ok() || my.is_ok(), ok);
        ok
    });
}

/// The inverse of `render::libpq_value` for one `key=value` pair of a
/// conninfo string; returns the value and the rest.
fn libpq_pair<'a>(s: &'a str, key: &str) -> (String, &'a str) {
    let s = s
        .strip_prefix(key)
        .and_then(|s| s.strip_prefix('='))
        .unwrap_or_else(|| panic!("conninfo does not go on with {key}=: {s:?}"));
    let mut out = String::new();
    if let Some(mut rest) = s.strip_prefix('\'') {
        loop {
            let mut chars = rest.chars();
            match chars.next() {
                Some('\\') => {
                    out.push(chars.next().expect("an escape ends the string"));
                    rest = chars.as_str();
                }
                Some('\'') => {
                    let r = chars.as_str();
                    return (out, r.strip_prefix(' ').unwrap_or(r));
                }
                Some(c) => {
                    out.push(c);
                    rest = chars.as_str();
                }
                None => panic!("unterminated quote in conninfo"),
            }
        }
    }
    let end = s.find(' ').unwrap_or(s.len());
    out.push_str(&s[..end]);
    (out, s[end..].strip_prefix(' ').unwrap_or(""))
}

fn unquote_shell(q: &str) -> String {
    let inner = q
        .strip_prefix('\'')
        .and_then(|q| q.strip_suffix('\''))
        .expect("quoted");
    inner.replace(r"'\''", "'")
}

fn unquote_double(q: &str) -> String {
    let inner = q
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .expect("quoted");
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next().expect("escape") {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                c => out.push(c),
            },
            '"' => panic!("a bare quote inside {q:?}"),
            c => out.push(c),
        }
    }
    out
}

/// Every renderer on any environment and password: no panic, and the
/// secret parts parse back where the format has a parser (the URI's user
/// information, libpq conninfo, shell and dotenv quoting). The `.pgpass`
/// line parses back through the importer's parser in the CLI's targets.
#[test]
fn render() {
    let seeds = vec![
        vec![0; 32],
        vec![1; 200],
        vec![0x5a; 400],
        (0..=255).collect(),
    ];
    fuzz("model::render", Corpus::bytes(seeds, &[]), |b| {
        let mut g = Gen::new(b);
        let env = common::environment(&mut g);
        let pw = g.string(200);
        let uri = render::uri(&env, Some(&pw));
        let _ = render::uri(&env, None);
        if env.kind.has_server() {
            let rest = uri.split_once("://").expect("a scheme").1;
            let (userinfo, _) = rest.split_once('@').expect("user information");
            let (user, pass) = userinfo.split_once(':').expect("user:password");
            assert_eq!(
                percent_decode_str(user).decode_utf8().unwrap(),
                env.username
            );
            assert_eq!(percent_decode_str(pass).decode_utf8().unwrap(), pw);
        } else {
            assert!(uri.starts_with("sqlite://"));
        }
        let cred = Credential::new(env.clone(), SecretString::from(pw.clone()));
        assert_eq!(cred.uri().expose_secret(), uri);

        let conninfo = render::libpq(&env, &pw);
        let port = env.port.to_string();
        let mut rest = conninfo.as_str();
        for (key, want) in [
            ("host", env.host.as_str()),
            ("port", &port),
            ("dbname", &env.database),
            ("user", &env.username),
            ("password", &pw),
        ] {
            // A login without a password has no password pair.
            if key == "password" && !env.auth.uses_password() {
                assert!(!rest.contains("password="), "{conninfo:?}");
                continue;
            }
            let (got, r) = libpq_pair(rest, key);
            assert_eq!(got, want, "{key} in {conninfo:?}");
            rest = r;
        }

        let _ = render::jdbc(&env, &pw);
        let _ = render::pgpass(&env, &pw);
        for (k, v) in render::env_vars(&env, &pw) {
            assert!(
                k.bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
            );
            assert_eq!(unquote_shell(&render::shell_quote(&v)), v);
            let dq = render::dotenv_quote(&v);
            assert!(!dq.contains('\n'));
            assert_eq!(unquote_double(&dq), v);
        }
        for (k, _) in render::client_env(&env, &pw) {
            assert!(render::CLIENT_ENV_VARS.contains(&k.as_str()), "{k}");
        }
        // The option file is lines of known keys only: no value breaks out.
        let file = render::mysql_option_file(&env);
        for line in file.lines() {
            let key = line.split('=').next().unwrap_or_default();
            assert!(
                [
                    "[client]",
                    "[client-mariadb]",
                    "[mysql]",
                    "database",
                    "user",
                    "host",
                    "port",
                    "ssl-ca",
                    "ssl-cert",
                    "ssl-key",
                    "loose-ssl-mode",
                    "ssl",
                    "skip-ssl",
                    "ssl-verify-server-cert",
                ]
                .contains(&key),
                "unexpected line {line:?} in {file:?}"
            );
        }
        let _ = env.expiry(chrono::Utc::now()).to_string();
        true
    });
}

/// `Patch::apply` on any stored environment: it succeeds only with a
/// result `validate` accepts, and then every field it set holds its value.
#[test]
fn patch() {
    let seeds = vec![
        vec![0; 64],
        vec![1; 64],
        vec![0xc3; 300],
        (0..=255).collect(),
    ];
    fuzz("model::patch", Corpus::bytes(seeds, &[]), |b| {
        let mut g = Gen::new(b);
        let mut env = common::environment(&mut g);
        if g.bool() {
            // Mostly start from what the agent would have stored.
            env.host = "db".into();
            env.database = "app.db".into();
            env.username = "app".into();
            env.description.truncate(0);
        }
        let opt = |g: &mut Gen, max| g.bool().then(|| g.string(max));
        let mut options = BTreeMap::new();
        for (k, v) in common::options(&mut g) {
            options.insert(k, if g.bool() { String::new() } else { v });
        }
        let patch = Patch {
            kind: g.bool().then(|| {
                g.pick(&[
                    "postgres",
                    "PostgreSQL",
                    "sqlite",
                    "mysql",
                    "mariadb",
                    "oracle",
                    "x",
                    "",
                ])
                .to_owned()
            }),
            host: opt(&mut g, 300),
            port: g.bool().then(|| g.u32()),
            database: opt(&mut g, 1100),
            username: opt(&mut g, 300),
            password: g.bool().then(|| SecretString::from(g.string(5000))),
            production: g.bool().then(|| g.bool()),
            description: opt(&mut g, 5000),
            expires_days: g.bool().then(|| g.u32()),
            options,
            auth: g
                .bool()
                .then(|| g.pick(&["password", "none", "cert", "x", ""]).to_owned()),
            // About 68 years either side of now.
            password_changed_at: g.bool().then(|| {
                chrono::Utc::now()
                    + chrono::Duration::seconds(i64::from(g.u32()) - i64::from(u32::MAX / 2))
            }),
        };
        let mut after = env.clone();
        match patch.apply(&mut after) {
            Ok(()) => {
                edit::validate(&after).expect("apply validates");
                if let Some(h) = &patch.host {
                    assert_eq!(&after.host, h);
                }
                if let Some(p) = patch.port {
                    // A SQLite file has no port: any given one reads as 0.
                    let want = if after.kind.has_server() { p } else { 0 };
                    assert_eq!(u32::from(after.port), want);
                }
                assert!(
                    !after.kind.has_server() || after.port != 0,
                    "a server environment without a port"
                );
                if let Some(d) = patch.expires_days {
                    assert_eq!(after.expires_days, (d > 0).then_some(d));
                }
                for (k, v) in &patch.options {
                    assert_eq!(
                        after.options.get(k).map(String::as_str),
                        (!v.is_empty()).then_some(v.as_str())
                    );
                }
                if let Some(p) = &patch.password {
                    edit::check_password(p).expect("apply checks the password");
                }
                if let Some(t) = patch.password_changed_at {
                    assert!(t <= chrono::Utc::now(), "a password change in the future");
                    assert_eq!(after.password_updated_at, Some(t));
                }
                assert_eq!(after.name, env.name);
                true
            }
            Err(e) => {
                let _ = e.to_string();
                false
            }
        }
    });
}
