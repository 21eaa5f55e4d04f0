//! Unit tests of the model.

use super::*;
use chrono::{Duration, Utc};

#[test]
fn names_follow_the_rules() {
    assert_eq!(EnvName::parse("PROD").unwrap().as_str(), "prod");
    assert!(EnvName::parse("Prod DB!").is_err());
    assert!(EnvName::parse(&"a".repeat(50)).is_ok());
    assert!(EnvName::parse(&"a".repeat(51)).is_err());
    assert!(EnvName::parse("").is_err());
    assert!(EnvName::parse("é").is_err());
}

#[test]
fn ports_are_bounded() {
    assert!(parse_port("0").is_err());
    assert!(parse_port("70000").is_err());
    assert!(parse_port("abc").is_err());
    assert_eq!(parse_port("65535").unwrap(), 65535);
}

#[test]
fn expiry_boundaries() {
    let now = Utc::now();
    let mut env = Environment::new(EnvName::parse("x").unwrap(), DatabaseKind::Postgres);
    env.password_updated_at = Some(now - Duration::days(80));
    assert_eq!(env.expiry(now), Expiry::Soon { days_left: 10 });
    env.password_updated_at = Some(now - Duration::days(10));
    assert_eq!(env.expiry(now), Expiry::Fresh { days_left: 80 });
    env.password_updated_at = Some(now - Duration::minutes(1));
    assert_eq!(env.expiry(now), Expiry::Fresh { days_left: 90 });
    env.password_updated_at = Some(now - Duration::days(76));
    assert_eq!(env.expiry(now), Expiry::Soon { days_left: 14 });
    env.expires_days = None;
    assert_eq!(env.expiry(now), Expiry::Never);
}
