//! The config file (`Config::from_file`: TOML with unknown keys refused),
//! its `DBCREDS_*` overrides (`Config::apply_env`), and the values both
//! hold: durations (`Limit`), days (`ExpiresDays`), unlockers, and the
//! other `FromStr` values of options and flags (TLS modes, kinds, ports).

use std::time::Duration;

use dbcreds::DatabaseKind;
use dbcreds::config::{Config, ExpiresDays, Limit};
use dbcreds::model::parse_port;
use dbcreds::tls::TlsMode;
use dbcreds::unlocker::{InitUnlocker, Unlocker};
use dbcreds_fuzz::{Corpus, Gen, fuzz};

const KEYS: &[&str] = &[
    "socket",
    "lock_after",
    "max_unlocked",
    "default_expires_days",
    "unlocker",
    "keyring_timeout",
];

#[test]
fn toml_file() {
    // On tmpfs where there is one: rewriting a file on ext4 makes the close
    // wait for the disk (auto_da_alloc), a hundredfold slower under a busy
    // disk.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let path = dir.path().join("config.toml");
    let seeds = [
        "socket = \"/run/user/1000/dbcreds/agent.sock\"\nlock_after = \"8h\"\nmax_unlocked = \"12h\"\ndefault_expires_days = 90\nunlocker = \"auto\"\nkeyring_timeout = \"10s\"\n",
        "lock_after = \"never\"\ndefault_expires_days = \"never\"\n",
        "max_unlocked = \"0\"\ndefault_expires_days = 0\nunlocker = \"passphrase\"\n",
        "# comment\n\n[section]\nlock_after = '1h 30m'\n",
        "lock_afterr = \"1h\"",
        "default_expires_days = -1\nlock_after = 5\n",
        "socket = '''\nmulti\nline'''\nkeyring_timeout = \"999999999999999999999s\"\n",
        "é = \"😀\"\n",
    ];
    let dict = [
        "=",
        "\"",
        "'",
        "'''",
        "\"\"\"",
        "\n",
        "[",
        "]",
        "[[",
        "]]",
        "{",
        "}",
        ",",
        "#",
        ".",
        "\"8h\"",
        "\"never\"",
        "\"off\"",
        "\"0\"",
        "90",
        "\"auto\"",
        "\"keyring\"",
        "\"passphrase\"",
        "true",
        "1979-05-27T07:32:00Z",
        "inf",
        "nan",
        "\\u00e9",
        "\\",
        "\r\n",
        "\t",
    ];
    let dict: Vec<&str> = dict.iter().chain(KEYS).copied().collect();
    fuzz("config::toml_file", Corpus::text(&seeds, &dict), |b| {
        std::fs::write(&path, b).unwrap();
        match Config::from_file(&path) {
            Ok(cfg) => {
                if let Limit::After(d) = cfg.lock_after {
                    assert!(!d.is_zero());
                }
                true
            }
            Err(e) => {
                let _ = e.to_string();
                false
            }
        }
    });
}

const VARS: &[&str] = &[
    "DBCREDS_SOCK",
    "DBCREDS_LOCK_AFTER",
    "DBCREDS_MAX_UNLOCKED",
    "DBCREDS_DEFAULT_EXPIRES_DAYS",
    "DBCREDS_UNLOCKER",
    "DBCREDS_KEYRING_TIMEOUT",
];

const VALUES: &[&str] = &[
    "",
    "never",
    "off",
    "0",
    "00",
    "0s",
    "8h",
    "30m",
    "2d",
    "1h 30m",
    "1ns",
    "18446744073709551615s",
    "584942417355y",
    "auto",
    "keyring",
    "passphrase",
    "90",
    "-1",
    " 7 ",
];

#[test]
fn env_overrides() {
    let seeds = vec![
        vec![0; 32],
        vec![1, 1, 2, 1, 3, 1, 4, 1, 5, 1, 6, 1],
        vec![0xff; 64],
    ];
    fuzz("config::env_overrides", Corpus::bytes(seeds, &[]), |b| {
        let mut g = Gen::new(b);
        let vals: Vec<Option<String>> = VARS
            .iter()
            .map(|_| match g.below(3) {
                0 => None,
                1 => Some(g.pick(VALUES).to_owned()),
                _ => Some(g.string(40)),
            })
            .collect();
        let mut cfg = Config::default();
        let r = cfg.apply_env(|k| {
            VARS.iter()
                .position(|v| *v == k)
                .and_then(|i| vals[i].clone())
        });
        // Each variable is accepted exactly when its value parses.
        let each_ok = vals[1]
            .as_deref()
            .is_none_or(|v| v.parse::<Limit>().is_ok())
            && vals[2]
                .as_deref()
                .is_none_or(|v| v.parse::<Limit>().is_ok())
            && vals[3]
                .as_deref()
                .is_none_or(|v| v.parse::<ExpiresDays>().is_ok())
            && vals[4]
                .as_deref()
                .is_none_or(|v| !v.is_empty() && v.parse::<InitUnlocker>().is_ok())
            && vals[5]
                .as_deref()
                .is_none_or(|v| v.parse::<Limit>().is_ok());
        assert_eq!(r.is_ok(), each_ok, "{vals:?}: {r:?}");
        if let Err(e) = &r {
            let _ = e.to_string();
        }
        r.is_ok()
    });
}

/// Duration, days, unlocker, TLS mode, kind and port values from any text.
#[test]
fn values() {
    let seeds: Vec<&str> = VALUES
        .iter()
        .copied()
        .chain([
            "disable",
            "VERIFY_IDENTITY",
            "verify_ca",
            "Prefer ",
            "postgresql",
            "SQLite3",
            "5432",
            " 65535",
            "65536",
            "1y 2M 3w 4d 5h 6m 7s 8ms 9us 10ns",
        ])
        .collect();
    let dict = [
        "ns", "us", "µs", "ms", "s", "sec", "m", "min", "h", "hr", "d", "day", "w", "week", "M",
        "month", "y", "year", " ", "never", "off", "-", "_", "0", "9",
    ];
    fuzz("config::values", Corpus::text(&seeds, &dict), |b| {
        let s = String::from_utf8_lossy(b);
        let mut any = false;
        if let Ok(l) = s.parse::<Limit>() {
            any = true;
            if let Some(d) = l.duration() {
                assert!(d > Duration::ZERO, "{s:?} gave a zero limit");
            }
        }
        if let Ok(d) = s.parse::<ExpiresDays>() {
            any = true;
            if let Some(n) = d.0 {
                assert!(
                    n.to_string().parse::<ExpiresDays>() == Ok(d),
                    "{s:?} gave {n} days, which does not parse back"
                );
            }
        }
        if let Ok(u) = s.parse::<InitUnlocker>() {
            any = true;
            assert_eq!(u.as_str().parse::<InitUnlocker>(), Ok(u));
        }
        if let Ok(u) = s.parse::<Unlocker>() {
            any = true;
            assert_eq!(u.as_str().parse::<Unlocker>(), Ok(u));
        }
        if let Ok(m) = s.parse::<TlsMode>() {
            any = true;
            let _ = m.requires_tls();
        }
        if let Ok(k) = s.parse::<DatabaseKind>() {
            any = true;
            assert_eq!(k.as_str().parse::<DatabaseKind>().ok(), Some(k));
        }
        if let Ok(p) = parse_port(&s) {
            any = true;
            assert_ne!(p, 0);
        }
        // The config keys are values too: TOML keys given as text.
        any |= KEYS.contains(&s.as_ref());
        any
    });
}
