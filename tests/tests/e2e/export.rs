//! `dbcreds export --format pgpass`, read by a real `psql`.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use dbcreds_tests::{DB_HOST, PgTestRole, run};

#[test]
fn export_pgpass_is_read_by_psql() {
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(
        "export_pgpass_is_read_by_psql",
        "pgpass",
        &["prod"]
    ));
    let out = sb.cli(&["export", "prod", "--format", "pgpass"]);
    out.ok();
    let file = sb.user_home().join("exported.pgpass");
    fs::write(&file, &out.stdout).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();

    let mut cmd = sb.command("psql");
    cmd.env("PGPASSFILE", &file).args([
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
    let out = run(cmd, None);
    out.ok();
    assert_eq!(out.stdout.trim(), role.name, "{out}");
}

/// A Unix-socket host is percent-encoded in the URI (and so in
/// `DATABASE_URL`), the form libpq reads: `psql "$(dbcreds get sock uri)"`
/// reaches the server through the socket directory.
#[test]
fn a_unix_socket_host_gives_a_uri_psql_connects_with() {
    if !dbcreds_tests::postgres_or_skip("a_unix_socket_host_gives_a_uri") {
        return;
    }
    let (sb, _agent) = dbcreds_tests::Sandbox::with_passphrase_file_agent();
    sb.add(
        &dbcreds_tests::EnvSpec::new("sock")
            .host("/var/run/postgresql")
            .database("postgres")
            .user("postgres")
            .password("unused-over-a-trusted-socket"),
    )
    .ok();
    let uri = sb.cli(&["get", "sock", "uri"]);
    uri.ok();
    let uri = uri.stdout.trim_end();
    assert!(
        uri.starts_with("postgresql://postgres:unused-over-a-trusted-socket@%2Fvar%2Frun%2Fpostgresql:5432/postgres"),
        "{uri}"
    );
    let mut psql = std::process::Command::new("psql");
    psql.args(["-X", "-tAc", "select current_database()", uri]);
    let out = run(psql, None);
    out.ok();
    assert_eq!(out.stdout.trim(), "postgres", "{out}");
}
