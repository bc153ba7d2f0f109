//! Knowing, without a system call, that a descriptor number still names
//! the door it named at this thread's last call on it.
//!
//! Every close of a descriptor number below `N` bumps that number's epoch
//! before *and* after the system call: libdoor exports `close`, `dup2`,
//! `dup3`, `close_range` and `closefrom` (capi/fds.rs), which bump, do what
//! libc does, and bump again. A fast-path channel remembers the descriptor
//! number and the epoch read *before* the `fstat` that last found the number
//! naming the channel's door socket; while the epoch is unchanged, the
//! number cannot have been closed and reused, so the check is skipped.
//!
//! Why a call can never reach the old door once `close`/`dup2` has
//! returned: let a lookup read epoch `e`, then `fstat` the number and see
//! the old socket. That `fstat` ran before the replacing system call, which
//! runs before the wrapper's second bump; so `e` was read before that bump
//! (the read is an acquire load ahead of the `fstat`; the bump a release
//! read-modify-write after the system call) and the epoch after it is
//! greater than `e`. Epochs only grow (64 bits: they never wrap), so the
//! record `(number, e)` never matches again after the wrapper returns. A
//! lookup that reads the epoch between the two bumps may record either
//! socket against that odd moment's value; the second bump voids that
//! record too. Concurrent closes of one number each bump after their own
//! system call, so the argument holds for each of them.
//!
//! It also needs the channel found from that `fstat` to serve the door of
//! the socket the `fstat` saw, not whatever the number names a moment
//! later: channels are keyed by that socket (device, inode) and set up
//! through a private duplicate checked to be that very socket
//! (`fast::new_channel`).
//!
//! This holds only if those wrappers really are what the process calls:
//! `active` checks that the process-wide definition of `close` is ours (a
//! library preloaded before us, or libdoor loaded RTLD_LOCAL by dlopen, can
//! shadow it); otherwise every call checks with `fstat`. A descriptor closed
//! by a raw system call, bypassing libc, is not seen (KNOWN_DIFFERENCES.md)
//! unless `LIBDOOR_STRICT_FD=1`, which turns epochs off.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Descriptor numbers watched; calls on higher numbers always `fstat`.
pub const N: usize = 4096;
static EPOCH: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];

/// The descriptor `fd` is about to be closed (or replaced): async-signal-
/// safe, as close(2) is.
#[inline]
pub fn closing(fd: libc::c_int) {
    if let Some(e) = usize::try_from(fd).ok().and_then(|i| EPOCH.get(i)) {
        e.fetch_add(1, Ordering::AcqRel);
    }
}

/// The descriptor `fd` has been closed (or replaced): the second bump.
#[inline]
pub fn closed(fd: libc::c_int) {
    closing(fd);
}

/// Every descriptor from `lo` to `hi` (inclusive) is about to be closed.
pub fn closing_range(lo: libc::c_uint, hi: libc::c_uint) {
    let hi = (hi as usize).min(N - 1);
    for e in EPOCH.iter().take(hi + 1).skip(lo as usize) {
        e.fetch_add(1, Ordering::AcqRel);
    }
}

/// `LIBDOOR_STRICT_FD=1`: never trust an epoch; every call checks the
/// descriptor's identity with `fstat`, so a descriptor closed behind our
/// wrappers (a raw system call, libc-internal closes such as `fclose`)
/// and the number reused is never taken for the old door.
fn strict() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LIBDOOR_STRICT_FD").is_some_and(|v| v == "1"))
}

/// The address of libdoor's `close` wrapper, told by the C ABI layer
/// (capi/fds.rs) before its first door call; 0 until then (epochs are not
/// trusted).
static OUR_CLOSE: AtomicUsize = AtomicUsize::new(0);

/// Records the address of libdoor's `close` wrapper.
#[inline]
pub fn set_close_wrapper(addr: usize) {
    if OUR_CLOSE.load(Ordering::Relaxed) != addr {
        OUR_CLOSE.store(addr, Ordering::Release);
    }
}

/// Are our close wrappers the process's `close` (and epochs trusted)?
fn active() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        if strict() {
            return false;
        }
        // SAFETY: dlsym with a valid name; RTLD_DEFAULT searches the global scope.
        let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"close".as_ptr()) } as usize;
        found == OUR_CLOSE.load(Ordering::Acquire)
    })
}

/// The epoch of descriptor number `fd`, if it is watched (read it before
/// checking the descriptor, so that a close in between is noticed later).
#[inline]
pub fn epoch(fd: libc::c_int) -> Option<u64> {
    let e = EPOCH.get(usize::try_from(fd).ok()?)?;
    if !active() {
        return None;
    }
    Some(e.load(Ordering::Acquire))
}
