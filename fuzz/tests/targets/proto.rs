//! The agent's decode paths (`daemon/src/service.rs`), through the public
//! APIs it uses: every request message from raw bytes (prost, as tonic's
//! codec decodes it), names through `EnvName::parse`, environments through
//! the proto → model conversion and `edit::check_new`, updates through
//! `Patch::apply`. What the agent accepts must go back out: the reply's
//! environment must convert back into the same model value on the client
//! (`Environment::try_from(v1::Environment::from(&env)) == env`), and its
//! expiry and TLS settings must compute without a panic. The client's own
//! decode of every reply is a target too.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use dbcreds::edit::{self, Patch};
use dbcreds::proto::v1;
use dbcreds::tls::ConnectSettings;
use dbcreds::unlocker::{InitUnlocker, Unlocker};
use dbcreds::{DatabaseKind, EnvName, Environment, LockState};
use dbcreds_fuzz::{Corpus, Gen, fuzz};
use prost::Message;
use secrecy::SecretString;

use dbcreds_fuzz::model as common;

/// What the agent and its clients do with an environment it stored: the
/// reply's wire form, the client's conversion of it (which must give the
/// same environment back), Check's expiry, the TLS settings of test and
/// rotate, and the renderers the CLI applies to what it gets.
fn after_store(env: &Environment, origin: &str) {
    let wire = v1::Environment::from(env);
    let bytes = wire.encode_to_vec();
    let decoded = v1::Environment::decode(bytes.as_slice()).expect("our own encoding decodes");
    assert_eq!(decoded, wire, "wire round trip ({origin})");
    // A SQLite environment has no port: the client reads 0 whatever the
    // agent kept (an Update that sets one, or that turns a server into
    // SQLite, keeps it in the agent; harmless, and reported).
    let mut expect = env.clone();
    if !expect.kind.has_server() {
        expect.port = 0;
    }
    match Environment::try_from(decoded) {
        Ok(back) => assert_eq!(
            back, expect,
            "the client reads back another environment than the agent stored ({origin})"
        ),
        Err(e) => panic!(
            "the agent stored an environment ({origin}) its clients cannot read: {e}; {env:?}"
        ),
    }
    let now = Utc::now();
    let _ = env.expiry(now);
    let _ = env.password_expires_at().map(|t| t.timestamp());
    let _ = ConnectSettings::from_options(&env.options);
    let _ = dbcreds::render::uri(env, Some("pw"));
}

/// The agent's clock, in the whole seconds the wire carries (the agent
/// stamps with `Utc::now()`; its replies and the vault keep seconds).
fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap()
}

/// The agent's `Put`: decode, convert, check, stamp, store.
fn put(r: v1::PutRequest) -> bool {
    let Some(wire) = r.environment else {
        return false;
    };
    let Ok(mut env) = Environment::try_from(wire) else {
        return false;
    };
    let password = SecretString::from(r.password);
    if edit::check_new(&env, &password).is_err() {
        return false;
    }
    let now = now();
    env.created_at = Some(now);
    env.updated_at = Some(now);
    env.password_updated_at = env.password_updated_at.or(Some(now));
    after_store(&env, "put");
    true
}

/// Environments already in the vault for `Update` to change: one of each
/// shape (server with options, SQLite, no expiry).
fn stored(name: &EnvName, which: usize) -> Environment {
    let kind = [
        DatabaseKind::Postgres,
        DatabaseKind::Sqlite,
        DatabaseKind::Mysql,
    ][which % 3];
    let mut env = Environment::new(name.clone(), kind);
    match kind {
        DatabaseKind::Sqlite => env.database = "/var/lib/app.db".into(),
        _ => {
            env.host = "db.internal".into();
            env.database = "app".into();
            env.username = "app".into();
            env.options.insert("sslmode".into(), "require".into());
        }
    }
    if which % 2 == 1 {
        env.expires_days = None;
    }
    env.created_at = Some(now());
    env.password_updated_at = env.created_at;
    env
}

/// The agent's `Update`: decode, name, patch, password check, apply. The
/// request-to-`Patch` mapping is the one in `daemon/src/service.rs`
/// (private to the agent, so restated here).
fn update(r: v1::UpdateRequest, which: usize) -> bool {
    let Ok(name) = EnvName::parse(&r.name) else {
        return false;
    };
    let Ok(password_changed_at) = r
        .password_changed_at
        .map(edit::password_changed_from_secs)
        .transpose()
    else {
        return false;
    };
    let patch = Patch {
        kind: r.kind,
        host: r.host,
        port: r.port,
        database: r.database,
        username: r.username,
        password: r.password.map(SecretString::from),
        production: r.production,
        description: r.description,
        expires_days: r.expires_days,
        options: r.options.into_iter().collect(),
        auth: r.auth,
        password_changed_at,
    };
    if let Some(p) = &patch.password
        && edit::check_password(p).is_err()
    {
        return false;
    }
    let mut env = stored(&name, which);
    if patch.apply(&mut env).is_err() {
        return false;
    }
    edit::validate(&env).expect("apply checks with validate");
    env.updated_at = Some(now());
    after_store(&env, "update");
    true
}

fn name_ok(raw: &str) -> bool {
    match EnvName::parse(raw) {
        Ok(n) => {
            // ReadLegacyKeyring relies on this: no name spells the vault's
            // own keyring entry.
            assert!(!dbcreds::legacy::keyring_user(&n).starts_with("vault:"));
            true
        }
        Err(_) => false,
    }
}

/// Found by the `update` target: an `Update` of a SQLite environment to a
/// server kind without a port stored port 0, which no client could read
/// back (and which broke `List` for the whole vault).
#[test]
fn update_to_a_server_kind_keeps_a_readable_port() {
    let req = v1::UpdateRequest {
        name: "local".into(),
        kind: Some("postgres".into()),
        host: Some("db".into()),
        ..Default::default()
    };
    let mut env = stored(&EnvName::parse("local").unwrap(), 1);
    let patch = Patch {
        kind: req.kind,
        host: req.host,
        ..Patch::default()
    };
    // Either the agent refuses the patch or its result reads back.
    if patch.apply(&mut env).is_ok() {
        after_store(&env, "update");
    }
}

/// Every other request, selected by the first byte.
fn other_request(kind: u8, b: &[u8]) -> bool {
    macro_rules! decode {
        ($t:ty) => {
            match <$t>::decode(b) {
                Ok(m) => m,
                Err(_) => return false,
            }
        };
    }
    match kind % 15 {
        0 => name_ok(&decode!(v1::GetRequest).name),
        1 => name_ok(&decode!(v1::DescribeRequest).name),
        2 => name_ok(&decode!(v1::RemoveRequest).name),
        3 => name_ok(&decode!(v1::TestRequest).name),
        4 => {
            let r = decode!(v1::RotateRequest);
            name_ok(&r.name) && r.admin.as_deref().is_none_or(name_ok)
        }
        5 => {
            let r = decode!(v1::AuditRequest);
            let _ = r.limit.min(10_000);
            r.name.as_deref().is_none_or(name_ok)
        }
        6 => decode!(v1::WatchRequest).names.iter().all(|n| name_ok(n)),
        7 => name_ok(&decode!(v1::ReadLegacyKeyringRequest).environment),
        8 => decode!(v1::InitRequest)
            .unlocker
            .parse::<InitUnlocker>()
            .is_ok(),
        9 => decode!(v1::UnlockRequest).passphrase.is_some(),
        10 => {
            decode!(v1::StatusRequest);
            true
        }
        11 => {
            decode!(v1::ListRequest);
            decode!(v1::LockRequest);
            true
        }
        12 => {
            decode!(v1::CheckRequest);
            decode!(v1::DiagnoseRequest);
            true
        }
        13 => put(decode!(v1::PutRequest)),
        _ => update(decode!(v1::UpdateRequest), b.len()),
    }
}

fn sample_env() -> v1::Environment {
    let mut env = stored(&EnvName::parse("prod").unwrap(), 0);
    env.last_test = None;
    let mut wire = v1::Environment::from(&env);
    wire.last_test = Some(v1::TestResult {
        at: 1_700_000_000,
        ok: true,
        detail: "PostgreSQL 15.4".into(),
        latency_ms: 3,
        reason: String::new(),
        tls: true,
    });
    wire.rotation = Some("pending".into());
    wire
}

fn tagged(tag: u8, m: &impl Message) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend(m.encode_to_vec());
    v
}

const PROTO_DICT: &[&[u8]] = &[
    b"\x0a\x04prod",
    b"\x12\x08postgres",
    b"\x12\x06sqlite",
    b"\x1a\x02db",
    b"\x20\x00",
    b"\x20\xff\xff\x03",
    b"\x20\xff\xff\xff\xff\x0f",
    b"\x3a\x0b\x0a\x07sslmode\x12\x00",
    b"\x50\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
    b"\x50\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
    b"\x68\x00",
    b"\xa2\x01\x00",
    b"\xaa\x01\x00",
];

#[test]
fn requests() {
    let env = sample_env();
    let seeds = vec![
        tagged(
            0,
            &v1::GetRequest {
                name: "prod".into(),
                purpose: "get:uri".into(),
                child_exe: "/usr/bin/psql".into(),
                approval: Some(v1::Approval { id: 3, defer: true }),
            },
        ),
        tagged(
            4,
            &v1::RotateRequest {
                name: "prod".into(),
                length: 32,
                alphabet: "abc".into(),
                admin: Some("admin".into()),
                resume: true,
                hosts: vec!["%".into(), "localhost".into()],
                approval: None,
            },
        ),
        tagged(
            5,
            &v1::AuditRequest {
                name: Some("prod".into()),
                since: 1,
                limit: 5,
                decisions: true,
            },
        ),
        tagged(
            6,
            &v1::WatchRequest {
                names: vec!["prod".into(), "dev".into()],
                vault_events: true,
            },
        ),
        tagged(
            8,
            &v1::InitRequest {
                unlocker: "passphrase".into(),
                passphrase: Some("x".into()),
            },
        ),
        tagged(
            13,
            &v1::PutRequest {
                environment: Some(env.clone()),
                password: "s3cret".into(),
                replace: true,
                approval: None,
            },
        ),
        tagged(
            14,
            &v1::UpdateRequest {
                name: "prod".into(),
                kind: Some("mysql".into()),
                host: Some("h".into()),
                port: Some(3306),
                password: Some("p".into()),
                expires_days: Some(0),
                options: [("sslmode".to_string(), String::new())].into(),
                ..Default::default()
            },
        ),
        tagged(
            14,
            &v1::UpdateRequest {
                name: "local".into(),
                kind: Some("postgres".into()),
                host: Some("db".into()),
                ..Default::default()
            },
        ),
    ];
    fuzz("proto::requests", Corpus::bytes(seeds, PROTO_DICT), |b| {
        let (tag, rest) = b.split_first().unwrap_or((&13, &[]));
        other_request(*tag, rest)
    });
}

/// Put and Update requests built field by field (edge values everywhere),
/// encoded, then decoded as the agent does.
#[test]
fn structured_put_and_update() {
    let seeds = vec![
        vec![0; 64],
        vec![1; 64],
        vec![0xff; 200],
        (0..=255).collect(),
    ];
    fuzz(
        "proto::structured_put_and_update",
        Corpus::bytes(seeds, &[]),
        |b| {
            let mut g = Gen::new(b);
            if g.bool() {
                let env = common::environment(&mut g);
                let mut wire = v1::Environment::from(&env);
                if g.bool() {
                    wire.name = g.string(60);
                }
                if g.bool() {
                    wire.kind = g.string(12);
                }
                if g.bool() {
                    wire.port = g.u32();
                }
                if g.bool() {
                    wire.created_at = g.unix_secs();
                    wire.password_updated_at = g.unix_secs();
                }
                if g.bool() {
                    wire.last_test = Some(v1::TestResult {
                        at: g.unix_secs(),
                        ..Default::default()
                    });
                }
                let req = v1::PutRequest {
                    environment: Some(wire),
                    password: g.string(5000),
                    replace: g.bool(),
                    approval: None,
                };
                let bytes = req.encode_to_vec();
                put(v1::PutRequest::decode(bytes.as_slice()).unwrap())
            } else {
                let opt = |g: &mut Gen, max| g.bool().then(|| g.string(max));
                let mut options = BTreeMap::new();
                for (k, v) in common::options(&mut g) {
                    options.insert(k, if g.bool() { String::new() } else { v });
                }
                let req = v1::UpdateRequest {
                    name: common::name(&mut g).to_string(),
                    kind: if g.bool() {
                        Some(
                            g.pick(&["postgres", "sqlite", "mysql", "mssql", "pg", "x"])
                                .into(),
                        )
                    } else {
                        None
                    },
                    host: opt(&mut g, 300),
                    port: g.bool().then(|| g.u32()),
                    database: opt(&mut g, 1100),
                    username: opt(&mut g, 300),
                    password: opt(&mut g, 5000),
                    production: g.bool().then(|| g.bool()),
                    description: opt(&mut g, 5000),
                    expires_days: g.bool().then(|| g.u32()),
                    options: options.into_iter().collect(),
                    auth: g
                        .bool()
                        .then(|| g.pick(&["password", "none", "cert", "y"]).into()),
                    // Any i64: years out of range, the future, the past.
                    password_changed_at: g.bool().then(|| {
                        let secs = i64::from(g.u32()) * 4 - i64::from(u32::MAX);
                        if g.bool() {
                            secs
                        } else {
                            secs.wrapping_mul(1 << 20)
                        }
                    }),
                    approval: None,
                };
                let which = g.below(6);
                let bytes = req.encode_to_vec();
                update(v1::UpdateRequest::decode(bytes.as_slice()).unwrap(), which)
            }
        },
    );
}

/// A reply's environments as the client converts them; what converts must
/// convert back unchanged.
fn client_env(m: Option<v1::Environment>) -> bool {
    let Some(m) = m else { return false };
    match Environment::try_from(m) {
        Ok(env) => {
            let back = Environment::try_from(v1::Environment::from(&env))
                .expect("a converted environment converts again");
            assert_eq!(back, env);
            let _ = env.expiry(Utc::now());
            true
        }
        Err(_) => false,
    }
}

/// The client's side: every reply from bytes, converted as the client
/// library does.
#[test]
fn replies() {
    let env = sample_env();
    let seeds = vec![
        tagged(
            0,
            &v1::ListResponse {
                environments: vec![env.clone(), env.clone()],
            },
        ),
        tagged(
            1,
            &v1::GetResponse {
                environment: Some(env.clone()),
                password: "pw".into(),
                warning: String::new(),
            },
        ),
        tagged(
            4,
            &v1::CheckResponse {
                entries: vec![v1::CheckEntry {
                    environment: Some(env.clone()),
                    state: 3,
                    days: 2,
                    expires_at: 1_800_000_000,
                }],
                now: 1,
            },
        ),
        tagged(
            5,
            &v1::StatusResponse {
                agent_version: "0.1.0".into(),
                protocol: 2,
                state: 3,
                unlockers: vec!["keyring".into(), "passphrase".into()],
                pid: 1,
                ..Default::default()
            },
        ),
        tagged(
            6,
            &v1::AuditResponse {
                events: vec![v1::AuditEvent {
                    at: 1,
                    environment: "prod".into(),
                    operation: "get".into(),
                    client_pid: Some(1),
                    ..Default::default()
                }],
                pruned: 3,
                pruned_before: 1,
            },
        ),
    ];
    fuzz("proto::replies", Corpus::bytes(seeds, PROTO_DICT), |b| {
        let (tag, b) = b.split_first().unwrap_or((&0, &[]));
        macro_rules! decode {
            ($t:ty) => {
                match <$t>::decode(b) {
                    Ok(m) => m,
                    Err(_) => return false,
                }
            };
        }
        match tag % 12 {
            0 => decode!(v1::ListResponse)
                .environments
                .into_iter()
                .all(|e| client_env(Some(e))),
            1 => client_env(decode!(v1::GetResponse).environment),
            2 => client_env(decode!(v1::DescribeResponse).environment),
            3 => {
                let put = decode!(v1::PutResponse).environment;
                let upd = decode!(v1::UpdateResponse).environment;
                let rot = decode!(v1::RotateResponse).environment;
                client_env(put) | client_env(upd) | client_env(rot)
            }
            4 => {
                let r = decode!(v1::CheckResponse);
                for e in &r.entries {
                    let _ = e.state();
                }
                r.entries.into_iter().all(|e| client_env(e.environment))
            }
            5 => {
                let r = decode!(v1::StatusResponse);
                let _ = LockState::from(r.state()).as_str();
                r.unlockers.iter().all(|u| u.parse::<Unlocker>().is_ok())
            }
            6 => {
                let r = decode!(v1::AuditResponse);
                r.events
                    .iter()
                    .all(|e| EnvName::parse(&e.environment).is_ok())
            }
            7 => EnvName::parse(&decode!(v1::Change).environment).is_ok(),
            8 => decode!(v1::TestResponse).result.is_some(),
            9 => {
                let i = decode!(v1::InitResponse);
                let u = decode!(v1::UnlockResponse);
                i.unlockers.iter().all(|u| u.parse::<Unlocker>().is_ok())
                    && u.unlocker.parse::<Unlocker>().is_ok()
            }
            10 => !decode!(v1::DiagnoseResponse).checks.is_empty(),
            _ => decode!(v1::ReadLegacyKeyringResponse).secret.is_some(),
        }
    });
}
