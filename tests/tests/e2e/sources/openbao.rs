//! OpenBao (the Vault API) as a source: KV v2 secrets, dynamic database
//! users with leases the agent renews, replaces and revokes, an AppRole
//! login whose policy denies a path, and an outage.

use std::process::Stdio;
use std::time::{Duration, Instant};

use dbcreds_tests::{example, exit, has_event, lines, unique_password};

use super::{Bao, Postgres, add_bao_source, assert_secrets_nowhere, peers_venv, sandbox};

/// Whether `env`'s audit log has an `op` event whose outcome starts with
/// `outcome` (a lease's suffix and time follow it).
fn audited(sb: &dbcreds_tests::Sandbox, env: &str, op: &str, outcome: &str) -> bool {
    sb.audit_events(env).iter().any(|e| {
        e["operation"] == op
            && e["outcome"]
                .as_str()
                .is_some_and(|o| o.starts_with(outcome))
    })
}

/// `dbcreds add ENV --source team --kv PATH`: the secret carries the rest.
fn add_kv(sb: &dbcreds_tests::Sandbox, env: &str, path: &str) {
    sb.cli(&["add", env, "--source", "team", "--kv", path]).ok();
}

/// A KV v2 secret of seed 001's shape at `path`.
fn put_kv(bao: &Bao, path: &str, user: &str, password: &str) {
    bao.bao_ok(&[
        "kv",
        "put",
        path,
        "host=db.team.internal",
        "port=6432",
        "dbname=app",
        &format!("username={user}"),
        &format!("password={password}"),
        "sslmode=require",
    ]);
}

#[test]
fn a_kv_secret_is_an_environment_and_its_new_version_arrives_on_refresh() {
    or_return!(peers_venv());
    let bao = Bao::start_dev();
    let sb = sandbox(&[]);
    add_bao_source(&sb, "team", &bao, "root");
    let (p1, p2) = (unique_password(), unique_password());
    put_kv(&bao, "secret/db/prod", "app", &p1);

    // Only the kind and the path: the secret carries the rest.
    sb.cli(&[
        "add",
        "prod",
        "--source",
        "team",
        "--kv",
        "secret/db/prod",
        "--production",
    ])
    .ok();
    sb.assert_password("prod", &p1);
    assert_eq!(sb.cli(&["get", "prod", "host"]).line(), "db.team.internal");
    let uri = sb.cli(&["get", "prod", "uri"]);
    uri.ok();
    assert!(
        uri.line().starts_with("postgresql://app:")
            && uri
                .line()
                .ends_with("@db.team.internal:6432/app?sslmode=require"),
        "{uri}"
    );
    let show = sb.show_json("prod");
    assert_eq!(show["source"]["kind"], "kv", "{show}");
    assert_eq!(show["source"]["location"], "secret/db/prod");
    assert_eq!(show["cached"]["version"], "1", "{show}");
    let filled = show["cached"]["from_source"].to_string();
    for f in ["host", "port", "database", "username", "sslmode"] {
        assert!(
            filled.contains(f),
            "{f} should come from the secret: {show}"
        );
    }
    let human = sb.cli(&["show", "prod"]);
    assert!(
        human.stdout.contains("kv secret/db/prod (source team)"),
        "{human}"
    );

    // A new version: the cache serves the old one until refreshed.
    put_kv(&bao, "secret/db/prod", "app", &p2);
    sb.assert_password("prod", &p1);
    let refreshed = sb.cli(&["refresh", "prod"]);
    refreshed.ok();
    assert!(refreshed.stderr.contains("version 2"), "{refreshed}");
    sb.assert_password("prod", &p2);

    let events = sb.audit_events("prod");
    assert!(
        has_event(&events, "source-fetch", "ok version 1"),
        "{events:?}"
    );
    assert!(
        has_event(&events, "source-fetch", "ok version 2"),
        "{events:?}"
    );

    // Removing the source it uses is refused; nothing is lost.
    sb.cli(&["source", "remove", "team"])
        .fails(exit::USAGE, &["used by prod"]);
    assert_secrets_nowhere(&sb, "prod", &[&p1, &p2]);
}

#[test]
fn a_kv_secret_is_fetched_again_after_the_cache_ttl() {
    or_return!(peers_venv());
    let bao = Bao::start_dev();
    let sb = sandbox(&[("DBCREDS_SOURCE_CACHE_TTL", "1s")]);
    add_bao_source(&sb, "team", &bao, "root");
    let (p1, p2) = (unique_password(), unique_password());
    put_kv(&bao, "secret/db/prod", "app", &p1);
    add_kv(&sb, "prod", "secret/db/prod");
    sb.assert_password("prod", &p1);
    put_kv(&bao, "secret/db/prod", "app", &p2);
    // The TTL is what is waited for here: a bounded poll of `get`.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = sb.password_of("prod");
        if got == p2 {
            break;
        }
        assert_eq!(got, p1, "neither version");
        assert!(Instant::now() < deadline, "the new version never arrived");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// OpenBao's database engine on the machine's PostgreSQL, a dynamic role
/// `app-ro` with these TTLs, and a sandbox with source `team` (root) and
/// environment `prod` on it.
fn dynamic_setup(
    default_ttl: &str,
    max_ttl: &str,
) -> Option<(Bao, Postgres, dbcreds_tests::Sandbox)> {
    peers_venv()?;
    let pg = Postgres::get()?;
    let bao = Bao::start_dev();
    bao.database_engine(&pg);
    bao.dynamic_role("app-ro", default_ttl, max_ttl);
    let sb = sandbox(&[]);
    add_bao_source(&sb, "team", &bao, "root");
    sb.cli(&[
        "add",
        "prod",
        "--source",
        "team",
        "--dynamic",
        "database/creds/app-ro",
        "--host",
        "127.0.0.1",
        "--port",
        &pg.port.to_string(),
        "--database",
        "postgres",
    ])
    .ok();
    Some((bao, pg, sb))
}

#[test]
fn a_dynamic_user_logs_in_is_renewed_replaced_before_max_ttl_and_revoked_on_lock() {
    let (_bao, pg, sb) = or_return!(dynamic_setup("10s", "40s"));

    // psql through exec: a leased user that PostgreSQL really accepted
    // (its scram rule for dbcreds_test members).
    let out = sb.cli(&[
        "exec",
        "prod",
        "--",
        "psql",
        "-X",
        "-w",
        "-tAc",
        "select current_user",
    ]);
    out.ok();
    let user = out.line().to_owned();
    assert!(user.starts_with("v-"), "{out}");
    assert_eq!(sb.cli(&["get", "prod", "user"]).line(), user);
    let password = sb.password_of("prod");
    assert!(pg.can_login(&user, &password));
    assert!(
        !pg.can_login(&user, "wrong"),
        "the password must be checked"
    );

    // An application pool watches prod: its open watch keeps the lease in
    // use, and it is told when the agent replaces the credential.
    let mut cmd = sb.command(example("pool"));
    cmd.args(["prod", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut app = cmd.spawn().expect("spawn the pool example");
    let lines = lines(app.stdout.take().expect("piped stdout"));
    let next = |what: &str, secs: u64| {
        lines
            .recv_timeout(Duration::from_secs(secs))
            .unwrap_or_else(|_| panic!("the pool example printed no {what}\n{}", sb.logs()))
    };
    assert_eq!(next("first line", 60), format!("connected as {user}"));
    assert_eq!(next("watching line", 30), "watching");
    let status = sb.cli(&["status"]);
    assert!(
        status.stdout.contains("team (openbao)") && status.stdout.contains("prod lease …"),
        "{status}"
    );

    // Past the default TTL twice over: renewed, the same user still logs in.
    std::thread::sleep(Duration::from_secs(20));
    assert!(
        pg.can_login(&user, &password),
        "the lease was not renewed: {:?}\n{}",
        sb.audit_events("prod"),
        sb.logs()
    );
    assert!(audited(&sb, "prod", "source-renew", "ok lease"));

    // Before max_ttl the agent fetches a new user and tells the watcher.
    let line = next("line after the replacement", 40);
    let new_user = line
        .strip_prefix("reconnected as ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(new_user.starts_with("v-") && new_user != user, "{line}");
    assert!(app.wait().expect("wait for the example").success());
    assert_eq!(sb.cli(&["get", "prod", "user"]).line(), new_user);
    let new_password = sb.password_of("prod");
    assert!(pg.can_login(new_user, &new_password));

    // Lock revokes the lease: PostgreSQL no longer knows that user.
    sb.cli(&["lock"]).ok();
    assert!(
        !pg.can_login(new_user, &new_password),
        "lock did not revoke the lease"
    );
    assert!(audited(&sb, "prod", "source-revoke", "ok lease"));
    assert_secrets_nowhere(&sb, "prod", &[&password, &new_password, "root"]);
}

#[test]
fn an_approle_login_whose_policy_denies_a_path_names_it() {
    or_return!(peers_venv());
    let pg = or_return!(Postgres::get());
    let bao = Bao::start_dev();
    bao.database_engine(&pg);
    bao.dynamic_role("app-ro", "1h", "2h");
    bao.policy(
        "dbread",
        "path \"database/creds/app-ro\" { capabilities = [\"read\"] }\n\
         path \"sys/leases/renew\" { capabilities = [\"update\"] }\n\
         path \"sys/leases/revoke\" { capabilities = [\"update\"] }",
    );
    let (role_id, secret_id) = bao.approle("dbtool", &["dbread"]);
    put_kv(&bao, "secret/db/other", "x", &unique_password());
    let sb = sandbox(&[]);
    sb.cli_stdin(
        &[
            "source",
            "add",
            "team",
            "--kind",
            "openbao",
            "--address",
            &bao.address(),
            "--auth",
            "approle",
            "--role-id",
            &role_id,
            "--login-stdin",
        ],
        &secret_id,
    )
    .ok();
    let port = pg.port.to_string();
    let common = [
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--database",
        "postgres",
    ];
    let mut ro = vec![
        "add",
        "ro",
        "--source",
        "team",
        "--dynamic",
        "database/creds/app-ro",
    ];
    ro.extend(common);
    sb.cli(&ro).ok();
    let out = sb.cli(&[
        "exec",
        "ro",
        "--",
        "psql",
        "-X",
        "-w",
        "-tAc",
        "select current_user",
    ]);
    out.ok();
    assert!(out.line().starts_with("v-"), "{out}");

    add_kv(&sb, "other", "secret/db/other");
    sb.cli(&["get", "other"])
        .fails(exit::SOURCE_DENIED, &["secret/db/other", "denied"]);
    add_kv(&sb, "gone", "secret/db/nothing");
    // Denied too: the policy does not reach it (a root token would say 404).
    sb.cli(&["get", "gone"])
        .fails(exit::SOURCE_DENIED, &["secret/db/nothing"]);
    assert_secrets_nowhere(&sb, "ro", &[&secret_id]);
}

#[test]
fn a_down_source_serves_what_is_cached_fails_fast_for_the_rest_and_recovers() {
    or_return!(peers_venv());
    let mut bao = Bao::start_dev();
    // A short cache time, so the next `get` asks the source.
    let sb = sandbox(&[("DBCREDS_SOURCE_CACHE_TTL", "1s")]);
    add_bao_source(&sb, "team", &bao, "root");
    let (p1, p2) = (unique_password(), unique_password());
    put_kv(&bao, "secret/db/prod", "app", &p1);
    add_kv(&sb, "prod", "secret/db/prod");
    add_kv(&sb, "other", "secret/db/other");
    sb.assert_password("prod", &p1);

    bao.kill();
    // Past the cache time, so the agent must try the source.
    std::thread::sleep(Duration::from_millis(1500));
    let got = sb.cli(&["get", "prod"]);
    got.ok();
    assert_eq!(got.line(), p1);
    assert!(
        got.stderr.contains("did not answer") && got.stderr.contains("cache"),
        "{got}"
    );
    let check = sb.cli(&["check"]);
    check.ok();
    assert!(
        check.stderr.contains("source team cannot be used"),
        "{check}"
    );
    // A refresh needs the source: it says so, and keeps what is cached.
    sb.cli(&["refresh", "prod"])
        .fails(exit::SOURCE_UNREACHABLE, &["team"]);
    sb.assert_password("prod", &p1);
    // Nothing cached: a fast, clear failure.
    let started = Instant::now();
    sb.cli(&["get", "other"]).fails(
        exit::SOURCE_UNREACHABLE,
        &["source 'team'", "did not answer"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    // Back (a dev server starts empty: the team writes its secrets again);
    // the agent recovers by itself.
    bao.restart();
    put_kv(&bao, "secret/db/prod", "app", &p1);
    put_kv(&bao, "secret/db/other", "other", &p2);
    sb.assert_password("other", &p2);
    let got = sb.cli(&["get", "prod"]);
    got.ok();
    assert_eq!(got.line(), p1);
    assert!(!got.stderr.contains("did not answer"), "{got}");
}
