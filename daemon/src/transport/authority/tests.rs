use super::*;

/// A frame: header and payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    frame_header(&mut f, payload.len(), kind, flags, stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// What grpc-core (grpcio 1.85) sends for `unix:///tmp/capx/agent.sock`,
/// as captured: `:path`, then `:authority` as a new literal name with
/// incremental indexing, then `:method POST` and `:scheme http` indexed.
fn grpc_core_block(authority: &[u8]) -> Vec<u8> {
    let mut b = vec![0x40];
    push_string(&mut b, b":path");
    push_string(&mut b, b"/dbcreds.v1.Agent/Status");
    b.push(0x40);
    push_string(&mut b, b":authority");
    push_string(&mut b, authority);
    b.extend_from_slice(&[0x83, 0x86]);
    b
}

/// The fields of a block this module can read (no dynamic table: indexed
/// fields are shown by index).
fn fields(block: &[u8]) -> Vec<(String, String)> {
    let mut i = 0;
    let mut out = Vec::new();
    while i < block.len() {
        let b = block[i];
        if b & 0x80 != 0 {
            let idx = integer(block, &mut i, 7).unwrap();
            out.push((format!("#{idx}"), String::new()));
            continue;
        }
        if b & 0xe0 == 0x20 {
            integer(block, &mut i, 5).unwrap();
            continue;
        }
        let prefix = if b & 0xc0 == 0x40 { 6 } else { 4 };
        let idx = integer(block, &mut i, prefix).unwrap();
        let name = if idx == 0 {
            String::from_utf8(string(block, &mut i).unwrap()).unwrap()
        } else {
            format!("#{idx}")
        };
        let value = String::from_utf8(string(block, &mut i).unwrap()).unwrap();
        out.push((name, value));
    }
    out
}

#[test]
fn grpc_cores_percent_encoded_path_becomes_a_host_name_of_the_same_length() {
    let block = grpc_core_block(b"tmp%2Fcapx%2Fagent.sock");
    let fixed = rewrite_block(&block).expect("rewritten");
    let f = fields(&fixed);
    assert_eq!(
        f[1],
        (":authority".into(), "tmp-2Fcapx-2Fagent.sock".into())
    );
    assert_eq!(f[0].1, "/dbcreds.v1.Agent/Status");
    assert_eq!(f.len(), 4);
    assert_eq!(fixed.len(), block.len());
    // A valid authority is left alone.
    assert_eq!(rewrite_block(&grpc_core_block(b"localhost")), None);
    assert_eq!(rewrite_block(&grpc_core_block(b"localhost:50051")), None);
}

#[test]
fn huffman_coded_paths_and_the_empty_static_entry_are_rewritten() {
    // grpc-java / grpcurl style: the raw path, static name 1, Huffman-coded,
    // without indexing and never indexed.
    for first in [0x01u8, 0x11, 0x41] {
        let coded = huffman::encode(b"/run/user/1000/dbcreds/agent.sock");
        let mut block = vec![first, 0x80 | coded.len() as u8];
        block.extend_from_slice(&coded);
        let fixed = rewrite_block(&block).expect("rewritten");
        assert_eq!(fixed[0], first, "the representation is kept");
        assert_eq!(
            fields(&fixed),
            [("#1".into(), "-run-user-1000-dbcreds-agent.sock".into())]
        );
    }
    // Indexed static 1 (`:authority` = ""): a literal without indexing.
    let fixed = rewrite_block(&[0x82, 0x81, 0x86]).expect("rewritten");
    assert_eq!(fields(&fixed)[1], ("#1".into(), "localhost".into()));
    assert_eq!(fixed[1], 0x01);
    // Other fields, table size updates and long values pass as they are.
    let mut long = vec![0x3f, 0xe1, 0x1f, 0x40];
    push_string(&mut long, b"x-long");
    push_string(&mut long, &[b'a'; 300]);
    assert_eq!(rewrite_block(&long), None);
    let mut with_long = long.clone();
    with_long.push(0x01);
    push_string(&mut with_long, &[b'/'; 200]);
    let fixed = rewrite_block(&with_long).expect("rewritten");
    assert!(fixed.starts_with(&long));
    assert_eq!(fields(&fixed)[1].1, "-".repeat(200));
    // Malformed blocks are not ours to judge.
    assert_eq!(rewrite_block(&[0x01, 0x85, 0xff]), None);
    assert_eq!(rewrite_block(&[0x7f]), None);
}

/// Feeds `input` to a fresh rewriter in pieces of `step` bytes.
fn run(input: &[u8], step: usize) -> Vec<u8> {
    let mut fix = AuthorityFix::default();
    let mut out = Vec::new();
    for piece in input.chunks(step) {
        fix.push(piece, &mut out);
    }
    out
}

fn preface_and_settings() -> Vec<u8> {
    let mut s = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    s.extend(frame(0x4, 0, 0, &[0, 3, 0, 0, 0, 100]));
    s
}

#[test]
fn the_connection_passes_through_except_the_bad_authority() {
    let block = grpc_core_block(b"tmp%2Fcapx%2Fagent.sock");
    let (head, tail) = block.split_at(10);
    // HEADERS (padded, with priority) + CONTINUATION, then DATA.
    let mut headers = vec![2u8, 0, 0, 0, 0, 16];
    headers.extend_from_slice(head);
    headers.extend_from_slice(&[0, 0]);
    let data = frame(0x0, END_STREAM, 1, b"\0\0\0\0\0");
    let mut input = preface_and_settings();
    input.extend(frame(HEADERS, PADDED | PRIORITY, 1, &headers));
    input.extend(frame(CONTINUATION, END_HEADERS, 1, tail));
    input.extend(&data);

    let fixed = rewrite_block(&block).unwrap();
    let mut want = preface_and_settings();
    let mut payload = vec![0, 0, 0, 0, 16];
    payload.extend(&fixed);
    want.extend(frame(HEADERS, PRIORITY | END_HEADERS, 1, &payload));
    want.extend(&data);
    for step in [1, 2, 7, 9, 64, input.len()] {
        assert_eq!(run(&input, step), want, "in pieces of {step}");
    }

    // A good authority: every byte as it came.
    let mut good = preface_and_settings();
    good.extend(frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        1,
        &grpc_core_block(b"localhost"),
    ));
    good.extend(frame(0x6, 0, 0, &[0; 8]));
    for step in [1, 5, good.len()] {
        assert_eq!(run(&good, step), good);
    }
}

#[test]
fn a_big_block_is_split_and_a_confused_stream_is_passed_through() {
    let mut block = grpc_core_block(b"/tmp/x.sock");
    for n in 0..40 {
        block.push(0x00);
        push_string(&mut block, format!("x-pad-{n}").as_bytes());
        push_string(&mut block, &[b'v'; 1000]);
    }
    let mut input = preface_and_settings();
    let (a, b) = block.split_at(16_000);
    input.extend(frame(HEADERS, 0, 3, a));
    input.extend(frame(CONTINUATION, 0, 3, &b[..16_000]));
    input.extend(frame(CONTINUATION, END_HEADERS, 3, &b[16_000..]));
    let out = run(&input, 1000);
    // Read the frames back: HEADERS then CONTINUATIONs, none over 16 KiB,
    // END_HEADERS on the last alone, the block the rewritten one.
    let mut i = preface_and_settings().len();
    let mut got = Vec::new();
    let mut kinds = Vec::new();
    while i < out.len() {
        let len =
            usize::from(out[i]) << 16 | usize::from(out[i + 1]) << 8 | usize::from(out[i + 2]);
        assert!(len <= MAX_FRAME);
        kinds.push((out[i + 3], out[i + 4] & END_HEADERS != 0));
        got.extend_from_slice(&out[i + 9..i + 9 + len]);
        i += 9 + len;
    }
    assert_eq!(got, rewrite_block(&block).unwrap());
    assert_eq!(kinds.first(), Some(&(HEADERS, false)));
    assert_eq!(kinds.last(), Some(&(CONTINUATION, true)));

    // A DATA frame inside a header block: passed on as it came, and so is
    // everything after it.
    let mut bad = preface_and_settings();
    bad.extend(frame(HEADERS, 0, 1, &grpc_core_block(b"/x")));
    bad.extend(frame(0x0, 0, 1, b"zz"));
    bad.extend(frame(HEADERS, END_HEADERS, 3, &grpc_core_block(b"/y")));
    assert_eq!(run(&bad, 3), bad);
}
