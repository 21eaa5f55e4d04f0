//! RDS IAM tokens are byte for byte what botocore's generate_db_auth_token
//! makes for the same credentials, region, host, port, user and time (its
//! clock frozen with unittest.mock).

mod support {
    pub mod peers;
}

use std::process::Command;
use std::time::{Duration, SystemTime};

use dbcreds_sources::rds_iam;
use support::peers::peers_venv;

const BOTOCORE: &str = r#"
import datetime, sys, unittest.mock
import botocore.session
akid, secret, token, region, host, port, user, epoch = sys.argv[1:9]
at = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).replace(tzinfo=None)
# botocore's SigV4 signers take the time from botocore.auth.get_current_datetime.
with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=at):
    client = botocore.session.Session().create_client(
        "rds", region_name=region, aws_access_key_id=akid, aws_secret_access_key=secret,
        aws_session_token=token or None)
    print(client.generate_db_auth_token(host, int(port), user), end="")
"#;

struct Case {
    session_token: Option<&'static str>,
    region: &'static str,
    host: &'static str,
    port: u16,
    user: &'static str,
    epoch: u64,
}

fn botocore(venv: &std::path::Path, c: &Case) -> String {
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            BOTOCORE,
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ])
        .arg(c.session_token.unwrap_or(""))
        .args([
            c.region,
            c.host,
            &c.port.to_string(),
            c.user,
            &c.epoch.to_string(),
        ])
        // Nothing from this machine's AWS set-up may reach botocore.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "botocore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn tokens_equal_botocore() {
    let Some(venv) = peers_venv() else { return };
    let cases = [
        Case {
            session_token: None,
            region: "us-east-1",
            host: "db.cluster-abc.us-east-1.rds.amazonaws.com",
            port: 5432,
            user: "app_user",
            epoch: 1_704_164_645,
        },
        Case {
            session_token: Some("FQoGZXIvYXdzE/token+with=odd/chars"),
            region: "eu-west-1",
            host: "mysql.internal",
            port: 3306,
            user: "iam@user",
            epoch: 1_790_000_000,
        },
        Case {
            session_token: Some("plain"),
            region: "ap-southeast-2",
            host: "10.1.2.3",
            port: 5439,
            user: "u-1.x~y",
            epoch: 1_600_000_123,
        },
    ];
    for c in &cases {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(c.epoch);
        let ours = rds_iam::token(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            c.session_token,
            c.region,
            c.host,
            c.port,
            c.user,
            at,
        )
        .expect("a well-formed token signs");
        assert_eq!(ours, botocore(&venv, c));
        assert!(ours.contains("X-Amz-Expires=900"));
        assert!(!ours.starts_with("https://"));
    }
}

#[test]
fn a_bad_host_is_refused() {
    let at = SystemTime::UNIX_EPOCH;
    assert!(rds_iam::token("a", "b", None, "us-east-1", "evil/path", 5432, "u", at).is_err());
    assert!(rds_iam::token("a", "b", None, "us-east-1", "", 5432, "u", at).is_err());
}
