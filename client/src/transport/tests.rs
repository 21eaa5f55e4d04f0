use super::*;

#[test]
fn every_rpc_has_a_bound() {
    let t = Timeouts::default();
    assert_eq!(t.for_rpc("/dbcreds.v1.Agent/List"), t.request);
    assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Unlock"), t.slow);
    assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Test"), t.database);
    // An RPC added later gets the generous bound, not none.
    assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Backup"), t.slow);
    assert!(t.slow > DEFAULT_KEYRING_TIMEOUT);
}

#[test]
fn the_slow_bound_follows_the_keyring_timeout() {
    let cfg: crate::config::Config =
        toml::from_str("keyring_timeout = \"40s\"\nagent_timeout = \"1s\"").unwrap();
    let t = Timeouts::from_config(&cfg);
    assert_eq!(t.request, Duration::from_secs(1));
    assert_eq!(t.slow, Duration::from_secs(40) + SLOW_MARGIN);
}
