//! Environments without a password (`--auth none|cert`, and ones waiting
//! for theirs), every export format against the reader that consumes it,
//! and the `DBCREDS_<ENV>_*` rule, end to end against the real agent and
//! the machine's PostgreSQL (a `trust` rule for `dbcreds_trust` members,
//! from tests/support/databases.sh).

use std::fs;

use dbcreds_tests::{
    DB_HOST, EnvSpec, PgTestRole, Sandbox, bin, exit, pg_superuser, postgres_or_skip, run,
    unique_db_name,
};

/// A PostgreSQL role that logs in on 127.0.0.1 with no password (a member
/// of `dbcreds_trust`), dropped with the value.
struct TrustRole(String);

impl TrustRole {
    fn create() -> Self {
        let name = unique_db_name("trust");
        pg_superuser(&format!("CREATE ROLE {name} LOGIN IN ROLE dbcreds_trust")).ok();
        TrustRole(name)
    }
}

impl Drop for TrustRole {
    fn drop(&mut self) {
        let _ = pg_superuser(&format!("DROP ROLE IF EXISTS {}", self.0));
    }
}

#[test]
fn an_environment_without_a_password_connects_execs_and_tests() {
    if !postgres_or_skip("an_environment_without_a_password_connects_execs_and_tests") {
        return;
    }
    let role = TrustRole::create();
    let sb = Sandbox::with_passphrase_vault();
    let spec = EnvSpec::new("dev")
        .kind("postgres")
        .host(DB_HOST)
        .database("postgres")
        .user(&role.0)
        .auth("none");
    let added = sb.add(&spec);
    added.ok();
    assert!(!added.stderr.contains("empty password"), "{added}");
    assert!(added.stderr.contains("no password: --auth none"), "{added}");

    // No password to print: its own exit code and the way to what there is.
    sb.cli(&["get", "dev"])
        .fails(exit::NO_PASSWORD, &["no password", "get dev uri"]);
    let uri = sb.cli(&["get", "dev", "uri"]);
    uri.ok();
    assert_eq!(
        uri.line(),
        format!("postgresql://{}@127.0.0.1:5432/postgres", role.0)
    );
    // psql takes the URI as it is.
    let mut psql = std::process::Command::new("psql");
    psql.args(["-X", "-w", "-tAc", "select current_user", uri.line()]);
    let out = run(psql, None);
    out.ok();
    assert_eq!(out.line(), role.0);

    // exec gives no PGPASSWORD and psql logs in.
    let out = sb.cli(&["exec", "dev", "--", "sh", "-c", "echo ${PGPASSWORD-unset}"]);
    out.ok();
    assert_eq!(out.line(), "unset");
    let out = sb.exec_psql("dev", "select current_user");
    out.ok();
    assert_eq!(out.line(), role.0);
    // test logs in; check has no expiry to report; rotate refuses.
    sb.cli(&["test", "dev"]).ok();
    let show = sb.show_json("dev");
    assert_eq!(show["auth"], "none");
    assert_eq!(show["expiry"], "never expires");
    assert_eq!(show["last_test"]["ok"], true);
    sb.cli(&["rotate", "dev"])
        .fails(exit::NO_PASSWORD, &["dev"]);
    // A password for a mode without one is refused, saying how to get one.
    sb.cli_stdin(&["update", "dev", "--password-stdin"], "pw\n")
        .fails(exit::USAGE, &["--auth password"]);
}

#[test]
fn a_certificate_environment_carries_its_files_and_no_password() {
    let sb = Sandbox::with_passphrase_vault();
    let spec = EnvSpec::postgres("cert", "db.internal").auth("cert");
    // Without the certificate's files it is refused, naming them.
    sb.add(&spec).fails(exit::USAGE, &["sslcert", "sslkey"]);
    let spec = spec
        .option("sslcert=/etc/dbcreds/client.crt")
        .option("sslkey=/etc/dbcreds/client.key")
        .option("sslmode=verify-full");
    sb.add(&spec).ok();
    let out = sb.cli(&["exec", "cert", "--", "env"]);
    out.ok();
    assert!(
        out.stdout.contains("PGSSLCERT=/etc/dbcreds/client.crt"),
        "{out}"
    );
    assert!(!out.stdout.contains("PGPASSWORD"), "{out}");
    assert!(!out.stdout.contains("DBCREDS_CERT_PASSWORD"), "{out}");
    assert!(out.stdout.contains("DBCREDS_CERT_AUTH=cert"), "{out}");
    let uri = sb.cli(&["get", "cert", "uri"]);
    assert!(
        uri.line()
            .starts_with("postgresql://app@db.internal:5432/app?"),
        "{uri}"
    );
    sb.cli(&["export", "cert", "--format", "pgpass"])
        .fails(exit::USAGE, &["certificate"]);
    // Back to a password: it waits for one until it is given.
    sb.cli(&["update", "cert", "--auth", "password"]).ok();
    sb.cli(&["get", "cert"])
        .fails(exit::NO_PASSWORD, &["update cert --password"]);
    sb.cli_stdin(&["update", "cert", "--password-stdin"], "now-a-pw\n")
        .ok();
    sb.assert_password("cert", "now-a-pw");
}

#[test]
fn password_changed_backdates_the_age() {
    let sb = Sandbox::with_passphrase_vault();
    sb.add_postgres("prod", "db.internal", "pw");
    sb.cli(&["update", "prod", "--password-changed", "2020-01-01"])
        .ok();
    let show = sb.show_json("prod");
    assert_eq!(show["password_updated_at"], "2020-01-01T00:00:00Z");
    assert_eq!(show["expired"], true);
    sb.cli(&["check"]).code(exit::EXPIRED);
    sb.cli(&["update", "prod", "--password-changed", "2999-01-01"])
        .fails(exit::USAGE, &["future"]);
    sb.cli(&["update", "prod", "--password-changed", "yesterday"])
        .fails(exit::USAGE, &["YYYY-MM-DD"]);
}

#[test]
fn sqlite_exports_apply_or_are_refused_and_env_lines_read_back() {
    let sb = Sandbox::with_passphrase_vault();
    let file = sb.root().join("dev.db");
    sb.add(&EnvSpec::sqlite("lite", &file)).ok();
    for format in ["pgpass", "libpq"] {
        sb.cli(&["export", "lite", "--format", format])
            .fails(exit::USAGE, &["PostgreSQL", "sqlite"]);
    }
    let lines = sb.cli(&["export", "lite", "--format", "env"]);
    lines.ok();
    assert!(!lines.stdout.contains("_PORT"), "{lines}");
    // What a shell evaluates is read back by dbcreds, with no agent.
    let script = format!(
        "{}\n{} get lite database",
        lines.stdout,
        bin("dbcreds").display()
    );
    let out = run_in_clean_home(&sb, &script);
    out.ok();
    assert_eq!(out.line(), file.display().to_string());
}

#[test]
fn every_postgres_format_is_read_by_its_consumer() {
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(
        "every_postgres_format_is_read_by_its_consumer",
        "formats",
        &["prod"]
    ));
    // .pgpass: psql finds the password there.
    let pgpass = sb.root().join("pgpass");
    let line = sb.cli(&["export", "prod", "--format", "pgpass"]);
    line.ok();
    fs::write(&pgpass, &line.stdout).expect("write pgpass");
    fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let mut psql = std::process::Command::new("psql");
    psql.env("PGPASSFILE", &pgpass).args([
        "-X",
        "-w",
        "-h",
        DB_HOST,
        "-U",
        &role.name,
        "-d",
        "postgres",
        "-tAc",
        "select current_user",
    ]);
    let out = run(psql, None);
    out.ok();
    assert_eq!(out.line(), role.name);
    // libpq and uri: psql takes the string as its connection.
    for format in ["libpq", "uri"] {
        let conn = sb.cli(&["export", "prod", "--format", format]);
        conn.ok();
        let mut psql = std::process::Command::new("psql");
        psql.env_remove("PGPASSWORD")
            .env("PGPASSFILE", "/nonexistent")
            .args(["-X", "-w", "-tAc", "select current_user", conn.line()]);
        let out = run(psql, None);
        out.ok();
        assert_eq!(out.line(), role.name, "{format}");
    }
    // env: the variables alone define it, for a shell with no agent.
    let lines = sb.cli(&["export", "prod", "--format", "env"]);
    let script = format!(
        "{}\n{} exec prod -- psql -X -w -tAc 'select current_user'",
        lines.stdout,
        bin("dbcreds").display()
    );
    let out = run_in_clean_home(&sb, &script);
    out.ok();
    assert_eq!(out.line(), role.name);
}

/// `sh -c SCRIPT` with a fresh, empty `DBCREDS_HOME` and no agent socket:
/// only the script's variables can define an environment there.
fn run_in_clean_home(sb: &Sandbox, script: &str) -> dbcreds_tests::Output {
    let empty = sb.root().join("empty-home");
    fs::create_dir_all(&empty).expect("mkdir");
    let mut cmd = sb.command("sh");
    cmd.env("DBCREDS_HOME", &empty)
        .env("DBCREDS_SOCK", empty.join("agent.sock"))
        .env("DBCREDS_AGENT_BIN", "/nonexistent/dbcreds-agent")
        .args(["-c", script]);
    run(cmd, None)
}

#[test]
fn partial_variables_overlay_the_vault_and_name_what_is_missing_without_one() {
    let sb = Sandbox::with_passphrase_vault();
    sb.add_postgres("prod", "db.internal", "vault-pw");
    // A partial set overlays the vault's environment field by field.
    let out = sb.cli_env(&["get", "prod", "uri"], &[("DBCREDS_PROD_HOST", "replica")]);
    out.ok();
    assert_eq!(out.line(), "postgresql://app:vault-pw@replica:5432/app");
    let out = sb.cli_env(
        &["get", "prod", "uri"],
        &[("DBCREDS_PROD_OPT_SSLMODE", "require")],
    );
    assert_eq!(
        out.line(),
        "postgresql://app:vault-pw@db.internal:5432/app?sslmode=require"
    );

    // Where the vault has no such environment, the missing ones are named
    // (and the password, which is set, is not).
    sb.cli_env(&["get", "ci"], &[("DBCREDS_CI_PASSWORD", "pw")])
        .fails(
            exit::USAGE,
            &[
                "DBCREDS_CI_HOST",
                "DBCREDS_CI_DATABASE",
                "DBCREDS_CI_USERNAME",
            ],
        );
}

#[test]
fn in_ci_without_a_vault_no_agent_is_started_and_the_variables_say_what_is_missing() {
    let sb = Sandbox::new();
    let vars = [("CI", "true"), ("DBCREDS_CI_HOST", "db")];
    let out = sb.cli_env(&["get", "ci"], &vars);
    out.fails(exit::USAGE, &["DBCREDS_CI_PASSWORD", "DBCREDS_CI_DATABASE"]);
    // Nothing listens: no agent was left behind.
    assert!(!sb.socket().exists(), "an agent was started: {}", sb.logs());
    let out = sb.cli(&["list"]);
    out.fails(exit::NOT_INITIALIZED, &["dbcreds init"]);
    assert!(!sb.socket().exists(), "an agent was started: {}", sb.logs());
    // A complete set works with no agent at all.
    let full = [
        ("DBCREDS_CI_HOST", "db"),
        ("DBCREDS_CI_DATABASE", "app"),
        ("DBCREDS_CI_USER", "app"),
        ("DBCREDS_CI_PASSWORD", "pw"),
    ];
    let out = sb.cli_env(&["get", "ci", "uri"], &full);
    out.ok();
    assert_eq!(out.line(), "postgresql://app:pw@db:5432/app");
}

#[test]
fn the_python_tool_as_it_shipped_is_imported_from_its_metadata() {
    // A real Secret Service with no entry of the tool's: its keyring write
    // always failed.
    let sb = Sandbox::with_keyring_vault();
    let dir = sb.root().join("py");
    fs::create_dir_all(&dir).expect("mkdir");
    // What the tool wrote when its keyring write failed: environments.json
    // and metadata.json (no password anywhere).
    fs::write(
        dir.join("environments.json"),
        r#"[{"name": "prod", "database_type": "postgresql", "description": "", "is_production": true},
            {"name": "shop", "database_type": "mysql", "description": "web", "is_production": false}]"#,
    )
    .expect("write");
    fs::write(
        dir.join("metadata.json"),
        r#"{"dbcreds:prod": {"username": "app", "host": "db.internal", "port": 5432, "database": "app"},
            "dbcreds:shop": {"username": "web", "host": "mysql.internal", "port": "3307", "database": "shop"}}"#,
    )
    .expect("write");
    let out = sb.cli(&["import", "--from", "python", dir.to_str().expect("utf-8")]);
    out.ok();
    let said = format!("{}{}", out.stdout, out.stderr);
    for name in ["prod", "shop"] {
        assert!(
            said.contains(&format!("update {name} --password")),
            "the summary says {name} needs a password:\n{out}"
        );
    }
    let prod = sb.show_json("prod");
    assert_eq!(
        (
            prod["host"].as_str(),
            prod["port"].as_u64(),
            prod["database"].as_str(),
            prod["username"].as_str()
        ),
        (Some("db.internal"), Some(5432), Some("app"), Some("app"))
    );
    assert_eq!(prod["password_missing"], true);
    assert_eq!(prod["production"], true);
    assert_eq!(sb.show_json("shop")["port"], 3307);
    sb.cli(&["get", "prod"])
        .fails(exit::NO_PASSWORD, &["update prod --password"]);
    sb.cli(&["get", "prod", "host"]).ok();
    sb.cli_stdin(&["update", "prod", "--password-stdin"], "pw\n")
        .ok();
    sb.assert_password("prod", "pw");
}

#[test]
fn a_nameless_json_secret_is_imported_under_its_name() {
    let sb = Sandbox::with_passphrase_vault();
    let file = sb.root().join("secret.json");
    fs::write(
        &file,
        r#"{"host": "db.internal", "port": 5432, "database": "app", "user": "app", "password": "s3cret"}"#,
    )
    .expect("write");
    let path = file.to_str().expect("utf-8");
    // Without --name it is skipped, saying how to name it.
    let out = sb.cli(&["import", "--from", "json", path]);
    out.ok();
    assert!(out.stdout.contains("--name"), "{out}");
    sb.cli(&["import", "--from", "json", path, "--name", "prod"])
        .ok();
    sb.assert_password("prod", "s3cret");
}

/// `dbcreds ARGS` on a terminal (util-linux `script` gives it a pty), the
/// terminal's input typed from `typed`, one line per prompt.
fn on_a_terminal(sb: &Sandbox, args: &str, typed: &str) -> dbcreds_tests::Output {
    let mut cmd = sb.command("script");
    cmd.args([
        "-q",
        "-e",
        "-c",
        &format!("{} {args}", bin("dbcreds").display()),
        "/dev/null",
    ]);
    run(cmd, Some(typed.as_bytes()))
}

#[test]
fn interactive_add_checks_the_name_first_and_asks_again_after_a_typo() {
    let sb = Sandbox::with_passphrase_vault();
    sb.add_postgres("prod", "db.internal", "pw");
    // The name is taken: said before any prompt.
    let out = on_a_terminal(&sb, "add prod", "");
    assert_eq!(out.code, Some(exit::ALREADY_EXISTS), "{out}");
    assert!(
        !out.stdout.contains("Password"),
        "asked before refusing:\n{out}"
    );

    // Kind, host, port, database, user; a mistyped repeat asks the password
    // again and keeps every field typed; then no test.
    let typed =
        "mariadb\nshop.internal\n3307\nshop\nweb\nfirst-pw\nfirst-pq\nfirst-pw\nfirst-pw\nn\n";
    let out = on_a_terminal(&sb, "add shop", typed);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("Kind ("), "{out}");
    assert!(out.stdout.contains("Port [3306]"), "{out}");
    assert!(out.stdout.contains("differ: type them again"), "{out}");
    assert!(out.stdout.contains("Test the connection now?"), "{out}");
    let shop = sb.show_json("shop");
    assert_eq!(
        (
            shop["kind"].as_str(),
            shop["host"].as_str(),
            shop["port"].as_u64(),
            shop["database"].as_str(),
            shop["username"].as_str()
        ),
        (
            Some("mariadb"),
            Some("shop.internal"),
            Some(3307),
            Some("shop"),
            Some("web")
        )
    );
    sb.assert_password("shop", "first-pw");
}

/// A role in `dbcreds_cert` and a client certificate for it signed by the
/// test CA of tests/support/databases.sh; the role is dropped with the
/// value.
struct CertRole {
    name: String,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

impl CertRole {
    fn create(dir: &std::path::Path) -> Self {
        let name = unique_db_name("cert");
        pg_superuser(&format!("CREATE ROLE {name} LOGIN IN ROLE dbcreds_cert")).ok();
        let (cert, key, csr) = (
            dir.join("client.crt"),
            dir.join("client.key"),
            dir.join("client.csr"),
        );
        let s = |p: &std::path::Path| p.to_str().expect("utf-8").to_owned();
        // Extensions make it an X.509 v3 certificate (rustls takes no v1).
        let ext = dir.join("client.ext");
        fs::write(
            &ext,
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
        )
        .expect("write");
        dbcreds_tests::run_args(
            "openssl",
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &s(&key),
                "-out",
                &s(&csr),
            ],
        )
        .ok();
        dbcreds_tests::run_args(
            "openssl",
            &[
                "x509",
                "-req",
                "-days",
                "1",
                "-in",
                &s(&csr),
                "-CA",
                "/var/lib/dbcreds-test-ca/ca.crt",
                "-CAkey",
                "/var/lib/dbcreds-test-ca/ca.key",
                "-extfile",
                &s(&ext),
                "-CAcreateserial",
                "-CAserial",
                &s(&dir.join("ca.srl")),
                "-out",
                &s(&cert),
            ],
        )
        .ok();
        fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        CertRole { name, cert, key }
    }
}

impl Drop for CertRole {
    fn drop(&mut self) {
        let _ = pg_superuser(&format!("DROP ROLE IF EXISTS {}", self.name));
    }
}

#[test]
fn a_client_certificate_login_is_taken_by_postgres_through_every_path() {
    if !postgres_or_skip("a_client_certificate_login_is_taken_by_postgres_through_every_path") {
        return;
    }
    let sb = Sandbox::with_passphrase_vault();
    let role = CertRole::create(sb.root());
    let spec = EnvSpec::new("cert")
        .kind("postgres")
        .host(DB_HOST)
        .database("postgres")
        .user(&role.name)
        .auth("cert")
        .option(&format!("sslcert={}", role.cert.display()))
        .option(&format!("sslkey={}", role.key.display()))
        .option("sslmode=require");
    sb.add(&spec).ok();
    // The agent's own login (sqlx) with the certificate.
    let out = sb.cli(&["test", "cert"]);
    out.ok();
    assert!(out.stdout.contains(", TLS"), "{out}");
    // psql through exec (PGSSLCERT/PGSSLKEY, no password) and the URI.
    let out = sb.exec_psql("cert", "select current_user");
    out.ok();
    assert_eq!(out.line(), role.name);
    let uri = sb.cli(&["get", "cert", "uri"]);
    let mut psql = std::process::Command::new("psql");
    psql.env("PGPASSFILE", "/nonexistent").args([
        "-X",
        "-w",
        "-tAc",
        "select current_user",
        uri.line(),
    ]);
    let out = run(psql, None);
    out.ok();
    assert_eq!(out.line(), role.name);
    // Without the certificate the server refuses: it really is the login.
    sb.cli(&[
        "update", "cert", "--auth", "none", "-o", "sslcert=", "-o", "sslkey=",
    ])
    .ok();
    sb.cli(&["test", "cert"]).code(exit::DB_LOGIN_FAILED);
}
