//! The AWS source against a real moto_server per test (Secrets Manager),
//! with the real credential chain. The chain reads the process
//! environment, so each case runs in a child process of this test binary
//! whose environment is only what the case sets (`isolated`): tests in
//! parallel never share AWS variables.

mod support {
    pub mod peers;
}

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use dbcreds_sources::{AwsSpec, SecretRef, Session, SourceError, SourceKind, SourceSpec, Target};
use secrecy::ExposeSecret;
use support::peers::{
    MOTO_ACCESS_KEY, MOTO_REGION, MOTO_SECRET_KEY, Moto, peers_venv, sm_call, unique,
};

/// Set in the child processes: only there do the `child_*` cases run.
const CHILD: &str = "DBCREDS_TEST_AWS_CHILD";

/// Runs the case `name` of this binary in a child with an environment of
/// only PATH, HOME (an empty temp dir), empty AWS config and credentials
/// files, IMDS off, and `env`.
fn isolated(name: &str, env: &[(&str, String)]) {
    let home = std::env::temp_dir().join(unique("dbcreds-aws-home"));
    std::fs::create_dir_all(&home).unwrap();
    let empty = |f: &str| -> PathBuf {
        let p = home.join(f);
        std::fs::write(&p, "").unwrap();
        p
    };
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", empty("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", empty("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(CHILD, "1")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&home);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{name} in a child:\n{text}"
    );
}

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

fn keys() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", MOTO_ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", MOTO_SECRET_KEY.into()),
    ]
}

fn with_moto(moto: &Moto, mut env: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    env.push(("DBCREDS_TEST_MOTO_PORT", moto.port().to_string()));
    env
}

fn moto_port() -> u16 {
    std::env::var("DBCREDS_TEST_MOTO_PORT")
        .unwrap()
        .parse()
        .unwrap()
}

fn session(
    endpoint: Option<String>,
    region: Option<&str>,
    profile: Option<&str>,
    timeout: Option<Duration>,
) -> Session {
    let spec = SourceSpec {
        name: "aws".into(),
        kind: SourceKind::Aws(AwsSpec {
            region: region.map(str::to_owned),
            profile: profile.map(str::to_owned),
            endpoint,
            timeout,
        }),
    };
    Session::open(spec, None).unwrap()
}

fn moto_session() -> Session {
    session(
        Some(format!("http://127.0.0.1:{}", moto_port())),
        Some(MOTO_REGION),
        None,
        None,
    )
}

fn secret(id: &str) -> SecretRef {
    SecretRef::AwsSecret {
        source: "aws".into(),
        id: id.into(),
    }
}

fn rds_json(password: &str) -> String {
    let inner = format!(
        r#"{{"engine":"postgres","host":"prod.cluster.example","port":5432,"dbname":"app","username":"app_user","password":"{password}"}}"#
    );
    format!(
        r#"{{"Name":"prod/pg","SecretString":{}}}"#,
        support::peers::json_string(&inner)
    )
}

// --- the cases, each run by a test below in a child process ------------------------------------

#[tokio::test]
async fn child_reads_an_rds_secret_and_its_new_version() {
    if !in_child() {
        return;
    }
    let port = moto_port();
    let (status, body) = sm_call(port, "CreateSecret", &rds_json("pw-1"));
    assert_eq!(status, 200, "{body}");
    let s = moto_session();
    let f = s
        .fetch(&secret("prod/pg"), &Target::default())
        .await
        .unwrap();
    assert_eq!(f.password.expose_secret(), "pw-1");
    assert_eq!(f.fields["kind"], "postgres");
    assert_eq!(f.fields["host"], "prod.cluster.example");
    assert_eq!(f.fields["port"], "5432");
    assert_eq!(f.fields["database"], "app");
    assert_eq!(f.fields["username"], "app_user");
    let v1 = f.version.clone().expect("a VersionId");

    // A new AWSCURRENT version (the old one becomes AWSPREVIOUS).
    let put = rds_json("pw-2").replace(r#""Name""#, r#""SecretId""#);
    let (status, body) = sm_call(port, "PutSecretValue", &put);
    assert_eq!(status, 200, "{body}");
    let f = s
        .fetch(&secret("prod/pg"), &Target::default())
        .await
        .unwrap();
    assert_eq!(f.password.expose_secret(), "pw-2");
    assert_ne!(f.version.as_deref(), Some(v1.as_str()));
    assert!(s.health().await.reachable);
}

#[tokio::test]
async fn child_a_missing_secret_is_not_found() {
    if !in_child() {
        return;
    }
    match moto_session()
        .fetch(&secret("no/such"), &Target::default())
        .await
    {
        Err(SourceError::NotFound { path, .. }) => assert_eq!(path, "no/such"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn child_no_credentials() {
    if !in_child() {
        return;
    }
    let s = moto_session();
    let e = s
        .fetch(&secret("prod/pg"), &Target::default())
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::AwsCredentials { .. }), "{e:?}");
    let target = Target {
        host: "db.example".into(),
        port: 5432,
        username: "iam_user".into(),
    };
    let e = s
        .fetch(
            &SecretRef::RdsIam {
                source: "aws".into(),
            },
            &target,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::AwsCredentials { .. }), "{e:?}");
    assert!(!s.health().await.reachable);
}

#[tokio::test]
async fn child_a_profile_from_the_shared_credentials_file() {
    if !in_child() {
        return;
    }
    let file = std::env::var("AWS_SHARED_CREDENTIALS_FILE").unwrap();
    std::fs::write(
        &file,
        format!("[dbteam]\naws_access_key_id = {MOTO_ACCESS_KEY}\naws_secret_access_key = {MOTO_SECRET_KEY}\n"),
    )
    .unwrap();
    let config = std::env::var("AWS_CONFIG_FILE").unwrap();
    std::fs::write(
        &config,
        format!("[profile dbteam]\nregion = {MOTO_REGION}\n"),
    )
    .unwrap();
    let (status, body) = sm_call(moto_port(), "CreateSecret", &rds_json("pw-profile"));
    assert_eq!(status, 200, "{body}");
    let s = session(
        Some(format!("http://127.0.0.1:{}", moto_port())),
        None,
        Some("dbteam"),
        None,
    );
    let f = s
        .fetch(&secret("prod/pg"), &Target::default())
        .await
        .unwrap();
    assert_eq!(f.password.expose_secret(), "pw-profile");
}

#[tokio::test]
async fn child_rds_iam_token_from_the_chain() {
    if !in_child() {
        return;
    }
    let s = session(None, Some("eu-west-1"), None, None);
    let r = SecretRef::RdsIam {
        source: "aws".into(),
    };
    let target = Target {
        host: "db.example".into(),
        port: 5432,
        username: "iam_user".into(),
    };
    let f = s.fetch(&r, &target).await.unwrap();
    let token = f.password.expose_secret();
    assert!(
        token.starts_with(
            "db.example:5432/?Action=connect&DBUser=iam_user&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        ),
        "{token}"
    );
    assert!(
        token.contains(&format!("X-Amz-Credential={MOTO_ACCESS_KEY}%2F"))
            && token.contains("%2Feu-west-1%2Frds-db%2F")
    );
    assert!(token.contains("X-Amz-Security-Token=session-token-1"));
    assert_eq!(f.valid_for, Some(Duration::from_secs(14 * 60)));

    let e = s
        .fetch(
            &r,
            &Target {
                host: "db.example".into(),
                port: 0,
                username: String::new(),
            },
        )
        .await
        .unwrap_err();
    match e {
        SourceError::Invalid(m) => assert!(m.contains("port") && m.contains("user"), "{m}"),
        other => panic!("{other:?}"),
    }
    let no_region = session(None, None, None, None);
    assert!(
        matches!(no_region.fetch(&r, &target).await, Err(SourceError::Invalid(m)) if m.contains("region"))
    );
}

#[tokio::test]
async fn child_an_endpoint_that_is_down_is_unreachable() {
    if !in_child() {
        return;
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let s = session(
        Some(format!("http://127.0.0.1:{port}")),
        Some(MOTO_REGION),
        None,
        Some(Duration::from_secs(2)),
    );
    let t = Instant::now();
    let e = s
        .fetch(&secret("prod/pg"), &Target::default())
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::Unreachable { .. }), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

// --- the tests ---------------------------------------------------------------------------------

fn venv() -> Option<PathBuf> {
    if in_child() {
        return None;
    }
    peers_venv()
}

#[test]
fn an_rds_secret_and_its_new_version() {
    let Some(_) = venv() else { return };
    let moto = Moto::start();
    isolated(
        "child_reads_an_rds_secret_and_its_new_version",
        &with_moto(&moto, keys()),
    );
}

#[test]
fn a_missing_secret_is_not_found() {
    let Some(_) = venv() else { return };
    let moto = Moto::start();
    isolated(
        "child_a_missing_secret_is_not_found",
        &with_moto(&moto, keys()),
    );
}

#[test]
fn no_credentials_in_the_chain() {
    let Some(_) = venv() else { return };
    let moto = Moto::start();
    isolated("child_no_credentials", &with_moto(&moto, vec![]));
}

#[test]
fn a_profile_from_the_shared_files() {
    let Some(_) = venv() else { return };
    let moto = Moto::start();
    isolated(
        "child_a_profile_from_the_shared_credentials_file",
        &with_moto(&moto, vec![]),
    );
}

#[test]
fn an_rds_iam_token_from_the_chain() {
    if in_child() {
        return;
    }
    let mut env = keys();
    env.push(("AWS_SESSION_TOKEN", "session-token-1".into()));
    isolated("child_rds_iam_token_from_the_chain", &env);
}

#[test]
fn an_endpoint_that_is_down() {
    if in_child() {
        return;
    }
    isolated("child_an_endpoint_that_is_down_is_unreachable", &keys());
}
