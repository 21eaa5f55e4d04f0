//! Memory that held secrets: zeroed when freed, and kept out of swap where
//! the system allows.
//!
//! [`ZeroingAlloc`] is the agent binary's global allocator. Every block is
//! wiped before it goes back to the system allocator, so buffers that
//! carried a password (prost encoding, hyper's write buffers, `String`
//! copies) leave nothing behind once dropped. The cost is one
//! `explicit_bzero` per free (see docs/performance.md for its measurement).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

pub struct ZeroingAlloc;

// SAFETY: delegates every allocation to `System`; `dealloc` only writes
// within the block it is handed before handing it back.
unsafe impl GlobalAlloc for ZeroingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes that the
        // caller gives up; wiping it before freeing is within bounds.
        unsafe {
            wipe(ptr, layout.size());
            System.dealloc(ptr, layout);
        }
    }
    // `realloc` keeps the default: allocate, copy, then `dealloc` (which
    // wipes) the old block. The system's in-place realloc could free the old
    // block unwiped.
}

/// Zeroes `len` bytes at `ptr` in a way the optimizer may not remove.
///
/// # Safety
/// `ptr..ptr+len` must be writable.
unsafe fn wipe(ptr: *mut u8, len: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: the caller guarantees the range is writable.
    unsafe {
        libc::explicit_bzero(ptr.cast(), len);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    // SAFETY: the caller guarantees the range is writable.
    unsafe {
        zeroize::Zeroize::zeroize(std::slice::from_raw_parts_mut(ptr, len));
    }
}

/// Hands the heap's free pages back to the system. glibc keeps what a
/// moment of heavy allocation freed (reading 10,000 rows at open, decrypting
/// every password at unlock, dropping them at lock), so without this the
/// agent's RSS stays at that peak: 52 MB instead of 25 MB with 10,000
/// environments unlocked (docs/performance.md). Those blocks were already
/// wiped by [`ZeroingAlloc`]. Costs a walk of the heap; called only after
/// such moments, never per request.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free, unused heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

static MLOCK_WARNED: AtomicBool = AtomicBool::new(false);

/// Best effort: keeps the pages under `bytes` out of swap. A low
/// `RLIMIT_MEMLOCK` earns one warning, not a failure: the agent still works,
/// the secrets are only swappable.
pub fn lock_in_ram(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    #[cfg(unix)]
    {
        // SAFETY: mlock only changes paging of the pages that hold `bytes`,
        // which we borrow for the call.
        let r = unsafe { rustix::mm::mlock(bytes.as_ptr().cast_mut().cast(), bytes.len()) };
        if let Err(e) = r
            && !MLOCK_WARNED.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                error = %e,
                "cannot lock secret memory in RAM (RLIMIT_MEMLOCK too low?); secrets may reach swap. \
                 Raise the limit (systemd: LimitMEMLOCK=) to avoid it"
            );
        }
    }
}
