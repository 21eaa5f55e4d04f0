//! The direct protocol (`dbcreds_proto::direct`, issue 15): `Get` without
//! HTTP/2, beside gRPC on the agent's own socket. Spoken byte by byte here
//! against the real agent (what it answers, refuses, declines and closes),
//! and by `dbcreds get` against a listener of the test's own (which wire
//! the CLI speaks first, and that it goes back to gRPC when told to).

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use dbcreds_tests::*;

const MAGIC: &[u8] = b"DBCREDS\x01";

/// A `GetRequest` for `name` with purpose "get", encoded by hand (fields 1
/// and 2, length-delimited).
fn get_request(name: &str) -> Vec<u8> {
    let mut m = vec![0x0a, name.len() as u8];
    m.extend_from_slice(name.as_bytes());
    m.extend_from_slice(&[0x12, 3]);
    m.extend_from_slice(b"get");
    frame(b'g', &m)
}

fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![kind];
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The next frame from `s`: its kind and payload.
fn read_frame(s: &mut UnixStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).expect("a frame head");
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).expect("a frame payload");
    (head[0], payload)
}

/// A new direct connection's first request, `Get` of `name`: the
/// connection (for more requests) and the answer's kind and payload.
fn first_get(sb: &Sandbox, name: &str) -> (UnixStream, u8, Vec<u8>) {
    let mut s = dial(sb);
    let mut first = MAGIC.to_vec();
    first.extend_from_slice(&get_request(name));
    s.write_all(&first).expect("send");
    let (kind, payload) = read_frame(&mut s);
    (s, kind, payload)
}

fn dial(sb: &Sandbox) -> UnixStream {
    let s = UnixStream::connect(sb.socket()).expect("connect to the agent");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s
}

/// True when the agent closed `s` (end of file, or a reset).
fn closed(s: &mut UnixStream) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return true,
            // An HTTP/2 server may say goodbye (GOAWAY) before closing.
            Ok(_) => continue,
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_agent_answers_and_refuses_on_the_direct_wire_as_on_grpc() {
    let sb = Sandbox::new();
    let _agent = sb.start_agent();
    sb.init_passphrase(PASSPHRASE);
    let password = sb.add_unique("prod");

    let (mut s, kind, reply) = first_get(&sb, "prod");
    assert_eq!(kind, b'o', "{:?}", String::from_utf8_lossy(&reply));
    assert!(
        contains(&reply, password.as_bytes()),
        "no password in the reply"
    );
    assert!(
        contains(&reply, b"db.internal"),
        "no environment in the reply"
    );

    // The same connection takes another request; a refusal carries the
    // gRPC code (5, NOT_FOUND), the reason and the words.
    s.write_all(&get_request("nope")).expect("send");
    let (kind, refusal) = read_frame(&mut s);
    assert_eq!(kind, b'r');
    assert_eq!(refusal[0], 5, "NOT_FOUND");
    let reason_len = usize::from(refusal[1]);
    assert_eq!(&refusal[2..2 + reason_len], b"not_found");
    let message = String::from_utf8_lossy(&refusal[2 + reason_len..]);
    assert!(message.contains("'nope' not found"), "{message}");

    // Both are audited once, as this test process.
    let me = std::process::id();
    let prod = sb.audit_events("prod");
    let ours: Vec<_> = prod.iter().filter(|e| e["client_pid"] == me).collect();
    assert_eq!(ours.len(), 1, "{prod:?}");
    assert!(has_event(&prod, "get", "ok"), "{prod:?}");
    assert!(has_event(&sb.audit_events("nope"), "get", "not_found"));

    // The locked vault is refused in the same words as over gRPC.
    sb.cli(&["lock"]).ok();
    s.write_all(&get_request("prod")).expect("send");
    let (kind, refusal) = read_frame(&mut s);
    assert_eq!(kind, b'r');
    assert_eq!(refusal[0], 9, "FAILED_PRECONDITION");
    let grpc = sb.cli(&["get", "prod"]);
    grpc.code(exit::LOCKED);
    assert!(
        grpc.stderr
            .contains(String::from_utf8_lossy(&refusal[2 + usize::from(refusal[1])..]).as_ref()),
        "{grpc}"
    );
}

#[test]
fn a_get_a_person_must_confirm_is_sent_back_to_grpc_unrecorded() {
    let sb = Sandbox::new().with_env("DBCREDS_APPROVAL_TIMEOUT", "60s");
    let _agent = sb.start_agent();
    sb.init_passphrase(PASSPHRASE);
    sb.add_unique("prod");
    sb.cli(&["policy", "set", "prod", "--confirm", "always"])
        .ok();
    let before = sb.audit_events("prod").len();

    let (_conn, kind, payload) = first_get(&sb, "prod");
    assert_eq!(kind, b'u', "use gRPC");
    assert!(payload.is_empty());
    let pending = sb.json(&["approve"]);
    assert_eq!(pending, serde_json::json!([]), "no request was opened");
    assert_eq!(sb.audit_events("prod").len(), before, "nothing recorded");
}

#[test]
fn a_direct_connection_that_breaks_the_rules_is_closed_and_the_agent_serves_on() {
    let sb = Sandbox::new();
    let _agent = sb.start_agent();
    sb.init_passphrase(PASSPHRASE);
    let password = sb.add_unique("prod");

    let cases: [(&str, Vec<u8>); 4] = [
        ("an unknown kind", frame(b'x', b"")),
        ("a request over 64 KiB", {
            let mut f = vec![b'g'];
            f.extend_from_slice(&(1u32 << 20).to_be_bytes());
            f
        }),
        ("no GetRequest", frame(b'g', &[0xff, 0xff, 0xff])),
        ("hung up mid-frame", vec![b'g', 0, 0]),
    ];
    for (what, bytes) in cases {
        let mut s = dial(&sb);
        let mut all = MAGIC.to_vec();
        all.extend_from_slice(&bytes);
        s.write_all(&all).expect("send");
        if what == "hung up mid-frame" {
            s.shutdown(std::net::Shutdown::Write).expect("shutdown");
        }
        assert!(closed(&mut s), "{what}: still open");
    }
    // Close to the magic is HTTP/2 to the agent, which refuses it.
    let mut s = dial(&sb);
    s.write_all(b"DBCREDS\x02").expect("send");
    assert!(closed(&mut s), "not the magic, not HTTP/2: still open");

    let out = sb.cli(&["get", "prod"]);
    out.ok();
    assert_eq!(out.stdout.trim(), password);
}

/// `dbcreds get` against a listener of the test's: it speaks the direct
/// wire first; a recorded answer of the real agent is printed as is; told
/// to use gRPC, it dials again with HTTP/2's preface.
#[test]
fn dbcreds_get_speaks_the_direct_wire_first_and_goes_back_to_grpc_when_told() {
    let sb = Sandbox::new();
    let _agent = sb.start_agent();
    sb.init_passphrase(PASSPHRASE);
    let password = sb.add_unique("prod");
    let (_conn, kind, recorded) = first_get(&sb, "prod");
    assert_eq!(kind, b'o');

    let fake = sb.root().join("fake.sock");
    let listener = UnixListener::bind(&fake).expect("bind");
    let fake_str = fake.to_str().expect("utf-8 path").to_owned();
    let serve = std::thread::spawn(move || {
        let mut seen = Vec::new();
        // First: answer with the recorded reply.
        let (mut c, _) = listener.accept().expect("accept");
        let mut head = [0u8; 8];
        c.read_exact(&mut head).expect("magic");
        seen.push(head.to_vec());
        let (kind, _) = read_frame(&mut c);
        assert_eq!(kind, b'g');
        c.write_all(&frame(b'o', &recorded)).expect("reply");
        drop(c);
        // Second: "use gRPC", then see what comes next.
        let (mut c, _) = listener.accept().expect("accept");
        c.read_exact(&mut head).expect("magic");
        seen.push(head.to_vec());
        let _ = read_frame(&mut c);
        c.write_all(&frame(b'u', b"")).expect("reply");
        drop(c);
        let (mut c, _) = listener.accept().expect("accept the gRPC dial");
        c.read_exact(&mut head).expect("preface");
        seen.push(head.to_vec());
        // Kept open and unanswered (no agent starts in its place): the
        // CLI gives up on its own.
        (seen, c, listener)
    });

    let out = sb.cli_env(&["get", "prod"], &[("DBCREDS_SOCK", &fake_str)]);
    out.ok();
    assert_eq!(out.stdout.trim(), password, "the recorded answer, printed");
    let fell_back = sb.cli_env(&["get", "prod"], &[("DBCREDS_SOCK", &fake_str)]);
    assert_ne!(
        fell_back.code,
        Some(0),
        "the fake speaks no gRPC: {fell_back}"
    );
    assert!(!fell_back.all().contains(&password), "{fell_back}");
    fell_back.code(exit::AGENT_UNREACHABLE);
    let (seen, _conn, _listener) = serve.join().expect("the fake listener");
    assert_eq!(seen[0], MAGIC);
    assert_eq!(seen[1], MAGIC);
    assert_eq!(&seen[2], b"PRI * HT", "gRPC after `use gRPC`");
}
