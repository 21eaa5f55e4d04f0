//! What a dropped message leaves in freed memory, seen by an allocator
//! that looks at every block before it is freed: a plain message leaves
//! its secret there, a [`Wiped`] one does not. Its own test binary, so
//! the allocator watches nothing else.

// A global allocator is unsafe by nature; this one only inspects blocks.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use dbcreds_proto::{Wiped, v1};
use prost::Message;

/// Spelled so that it appears in no other block (the literals below are
/// in the binary, not on the heap).
const MARKER: &[u8] = b"wiped-memory-marker-7f3a";

/// Freed blocks that still held [`MARKER`].
static LEAKED: AtomicUsize = AtomicUsize::new(0);

struct Spy;

// SAFETY: every call is passed on to the system allocator unchanged; the
// spy only reads a block it still owns, before freeing it.
unsafe impl GlobalAlloc for Spy {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes.
        let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
        if block.windows(MARKER.len()).any(|w| w == MARKER) {
            LEAKED.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static SPY: Spy = Spy;

fn secret() -> String {
    String::from_utf8(MARKER.to_vec()).unwrap()
}

/// Freed blocks holding the marker while `f` runs.
fn leaks(f: impl FnOnce()) -> usize {
    let before = LEAKED.load(Ordering::SeqCst);
    f();
    LEAKED.load(Ordering::SeqCst) - before
}

// One test function: the harness runs tests on parallel threads, and a
// second test's blocks would show up in this one's count.
#[test]
fn wiped_messages_leave_no_secret_in_freed_memory() {
    // The spy sees what a plain message leaves behind.
    assert_eq!(
        leaks(|| drop(v1::UnlockRequest {
            passphrase: Some(secret()),
        })),
        1
    );

    assert_eq!(
        leaks(|| {
            drop(Wiped(v1::PutRequest {
                environment: Some(v1::Environment::default()),
                password: secret(),
                replace: false,
                approval: None,
            }))
        }),
        0
    );
    assert_eq!(
        leaks(|| drop(Wiped(v1::UpdateRequest {
            name: "prod".into(),
            password: Some(secret()),
            ..Default::default()
        }))),
        0
    );
    assert_eq!(
        leaks(|| drop(Wiped(v1::UnlockRequest {
            passphrase: Some(secret()),
        }))),
        0
    );
    assert_eq!(
        leaks(|| drop(Wiped(v1::InitRequest {
            unlocker: "passphrase".into(),
            passphrase: Some(secret()),
        }))),
        0
    );

    // Encoded, as the codec does, then dropped: the message leaves nothing;
    // the encoded bytes are the encoder's buffer, wiped here by hand.
    assert_eq!(
        leaks(|| {
            let msg = Wiped(v1::PutRequest {
                environment: None,
                password: secret(),
                replace: true,
                approval: None,
            });
            let mut bytes = msg.encode_to_vec();
            drop(msg);
            zeroize::Zeroize::zeroize(&mut bytes);
        }),
        0
    );
}
