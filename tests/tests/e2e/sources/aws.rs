//! AWS as a source: a Secrets Manager secret of the RDS shape against a
//! real moto_server, and RDS IAM tokens signed from the credential chain.
//! The agent finds AWS credentials as any AWS tool does: here, from the
//! environment the sandbox gives it.

use dbcreds_tests::{Sandbox, exit, unique_password};

use super::peers::{MOTO_ACCESS_KEY, MOTO_REGION, Moto};
use super::{assert_secrets_nowhere, peers_venv, sandbox};

/// A secret of the shape RDS writes.
fn rds_secret(password: &str) -> String {
    format!(
        "{{\"engine\":\"postgres\",\"host\":\"shop.cluster-x.eu-west-1.rds.amazonaws.com\",\"port\":5432,\
          \"dbname\":\"shop\",\"username\":\"shop_app\",\"password\":\"{password}\"}}"
    )
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// A secret access key of its own (moto checks no signature), so a search
/// for it finds nothing else.
fn secret_key() -> String {
    format!("aws-secret-{}", dbcreds_tests::token())
}

/// `dbcreds source add aws` for moto's Secrets Manager.
fn add_aws_source(sb: &Sandbox, moto: &Moto) {
    sb.cli(&[
        "source",
        "add",
        "aws",
        "--kind",
        "aws",
        "--region",
        MOTO_REGION,
        "--endpoint",
        &moto.endpoint(),
    ])
    .ok();
}

/// A sandbox whose agent has AWS credentials for moto (the secret key
/// `key`), with source `aws`.
fn aws_sandbox(moto: &Moto, key: &str) -> Sandbox {
    let sb = sandbox(&[
        ("AWS_ACCESS_KEY_ID", MOTO_ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", key),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    add_aws_source(&sb, moto);
    sb
}

#[test]
fn a_secrets_manager_secret_is_an_environment_and_awscurrent_moves_on_refresh() {
    or_return!(peers_venv());
    let moto = Moto::start();
    let key = secret_key();
    let sb = aws_sandbox(&moto, &key);
    let (p1, p2) = (unique_password(), unique_password());
    moto.sm_ok(
        "CreateSecret",
        &format!(
            "{{\"Name\":\"prod/shop\",\"SecretString\":{}}}",
            json_str(&rds_secret(&p1))
        ),
    );
    sb.cli(&["add", "shop", "--source", "aws", "--secret", "prod/shop"])
        .ok();
    sb.assert_password("shop", &p1);
    assert_eq!(
        sb.cli(&["get", "shop", "host"]).line(),
        "shop.cluster-x.eu-west-1.rds.amazonaws.com"
    );
    assert_eq!(sb.cli(&["get", "shop", "user"]).line(), "shop_app");
    assert_eq!(sb.cli(&["get", "shop", "database"]).line(), "shop");

    // A new AWSCURRENT version: served after a refresh.
    moto.sm_ok(
        "PutSecretValue",
        &format!(
            "{{\"SecretId\":\"prod/shop\",\"ClientRequestToken\":\"bbbbbbbb-0000-0000-0000-000000000002\",\"SecretString\":{}}}",
            json_str(&rds_secret(&p2))
        ),
    );
    sb.assert_password("shop", &p1);
    sb.cli(&["refresh", "shop"]).ok();
    sb.assert_password("shop", &p2);
    let show = sb.show_json("shop");
    assert_eq!(
        show["cached"]["version"], "bbbbbbbb-0000-0000-0000-000000000002",
        "{show}"
    );

    // A secret that is not there: its own exit code, naming it.
    sb.cli(&["add", "nope", "--source", "aws", "--secret", "prod/nope"])
        .ok();
    sb.cli(&["get", "nope"])
        .fails(exit::SOURCE_NOT_FOUND, &["prod/nope"]);
    assert_secrets_nowhere(&sb, "shop", &[&p1, &p2, &key]);
}

#[test]
fn without_aws_credentials_the_error_says_how_to_get_them() {
    or_return!(peers_venv());
    let moto = Moto::start();
    // No keys in the environment, no shared files (HOME is the sandbox's),
    // no instance metadata.
    let sb = sandbox(&[("AWS_EC2_METADATA_DISABLED", "true")]);
    add_aws_source(&sb, &moto);
    sb.cli(&["add", "shop", "--source", "aws", "--secret", "prod/shop"])
        .ok();
    sb.cli(&["get", "shop"])
        .fails(exit::AWS_CREDENTIALS, &["AWS credentials", "aws sso login"]);
}

#[test]
fn an_rds_iam_token_is_signed_for_the_environment_host_port_and_user() {
    or_return!(peers_venv());
    let moto = Moto::start();
    let key = secret_key();
    let sb = aws_sandbox(&moto, &key);
    sb.cli(&[
        "add",
        "iam",
        "--source",
        "aws",
        "--auth",
        "rds-iam",
        "--host",
        "shop.cluster-x.eu-west-1.rds.amazonaws.com",
        "--database",
        "shop",
        "--user",
        "iam_app",
    ])
    .ok();
    let token = sb.password_of("iam");
    assert!(
        token.starts_with("shop.cluster-x.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=iam_app&X-Amz-Algorithm=AWS4-HMAC-SHA256"),
        "{token}"
    );
    assert!(
        token.contains("X-Amz-Expires=900") && token.contains("X-Amz-Signature="),
        "{token}"
    );
    // The secret key signs; it is never part of the token.
    assert!(!token.contains(&key));
    assert_secrets_nowhere(&sb, "iam", &[&key]);
    let show = sb.show_json("iam");
    assert_eq!(show["source"]["kind"], "rds-iam", "{show}");
    // Served from the cache until shortly before its 15 minutes end.
    assert_eq!(sb.password_of("iam"), token);
    // Without a user the token cannot be signed: add says what is missing.
    sb.cli(&[
        "add",
        "bad",
        "--source",
        "aws",
        "--auth",
        "rds-iam",
        "--host",
        "h",
        "--database",
        "d",
    ])
    .fails(exit::USAGE, &["--user"]);
}
