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
