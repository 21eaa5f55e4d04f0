//! The Python client (`clients/python`), installed by `tests/run` in a
//! fresh venv (`pip install './clients/python[all,test]'`), runs its pytest
//! suite against this sandbox's real agent, a real PostgreSQL role (as
//! `prod` and `dev`, with a `users` table on its search path, for the old
//! tool's README example) and a real MariaDB user (as `shop`).

use std::path::PathBuf;

use dbcreds_tests::{
    MariaTestUser, PASSPHRASE, PgTestRole, bin, in_ci, mariadb_or_skip, pg_superuser, repo_path,
    run, skip,
};

/// The venv `tests/run` made (`DBCREDS_TEST_PYTHON_VENV`), or the default
/// place it makes it.
fn venv() -> Option<PathBuf> {
    let dir = std::env::var_os("DBCREDS_TEST_PYTHON_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("target/python-client-venv"));
    dir.join("bin/python").is_file().then_some(dir)
}

/// A schema the role reads its `users` from, dropped (with the grants
/// that tie it to the role) before the role is.
struct UsersTable(String);

impl UsersTable {
    fn create(role: &str) -> Self {
        let schema = format!("{role}_s");
        pg_superuser(&format!(
            "CREATE SCHEMA {schema}; \
             CREATE TABLE {schema}.users (id int, name text); \
             INSERT INTO {schema}.users VALUES (1, 'ada'), (2, 'grace'); \
             GRANT USAGE ON SCHEMA {schema} TO {role}; \
             GRANT SELECT ON {schema}.users TO {role}; \
             ALTER ROLE {role} SET search_path = {schema}"
        ))
        .ok();
        Self(schema)
    }
}

impl Drop for UsersTable {
    fn drop(&mut self) {
        let _ = pg_superuser(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
    }
}

#[test]
fn the_python_client_passes_its_tests_against_the_real_agent() {
    let test = "the_python_client_passes_its_tests_against_the_real_agent";
    let Some(venv) = venv() else {
        skip(&format!(
            "{test}: no venv with clients/python (tests/run makes it in target/python-client-venv)"
        ));
        return;
    };
    if !mariadb_or_skip(test) {
        return;
    }
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(test, "py", &["prod", "dev"]));
    let _users = UsersTable::create(&role.name);
    let maria = MariaTestUser::create("py", "");
    sb.add(&maria.env("shop")).ok();

    let mut cmd = sb.command(venv.join("bin/python"));
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"])
        .arg(repo_path("clients/python/tests"))
        .env("DBCREDS_TEST_PG_ROLE", &role.name)
        .env("DBCREDS_TEST_PG_PASSWORD", &role.password)
        .env("DBCREDS_TEST_MARIA_USER", &maria.name)
        .env("DBCREDS_TEST_CLI", bin("dbcreds"))
        .env("DBCREDS_TEST_PASSPHRASE", PASSPHRASE)
        .env("DBCREDS_TEST_PROTO", repo_path("proto"))
        .env("PGPASSFILE", "/nonexistent");
    let out = run(cmd, None);
    out.ok();
    let summary = out.stdout.lines().last().unwrap_or_default();
    eprintln!("pytest: {summary}");
    assert!(summary.contains(" passed"), "{out}");
    // Only the root-only test may skip, and only when not root.
    let skipped = summary.contains("skipped");
    assert!(
        !skipped || (!dbcreds_tests::is_root() && summary.contains("1 skipped")),
        "tests were skipped:\n{out}"
    );
    if in_ci() {
        assert!(!skipped, "{out}");
    }
}
