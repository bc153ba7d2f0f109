//! Which descriptor numbers the library owns right now.
//!
//! An application may close every descriptor from 3 up under libdoor
//! (`closefrom`, `close_range`, a daemonize loop of `close`) and then open
//! its own files, which get the numbers libdoor used. The library must then
//! never close, or use, one of those numbers again. So every descriptor the
//! library makes or receives for itself is registered here
//! (`sys::OwnedFd`), and the library closes its own descriptors only
//! through `close_own`, which closes a number only while it is still
//! registered. The close-family wrappers (capi/fds.rs) unregister any
//! library descriptor the application closes and count the loss
//! (`lost_gen`), so the process state can notice and start afresh
//! (`door::with_proc`).
//!
//! Numbers from `MAX` up are not tracked: they are taken to be ours (an
//! application closing such a library descriptor is not noticed).

use std::sync::atomic::{AtomicU64, Ordering};

/// Descriptor numbers tracked (the bitmap is 128 KiB of zero pages until
/// touched).
pub const MAX: usize = 1 << 20;
static OWNED: [AtomicU64; MAX / 64] = [const { AtomicU64::new(0) }; MAX / 64];
static LOST: AtomicU64 = AtomicU64::new(0);

fn slot(fd: libc::c_int) -> Option<(&'static AtomicU64, u64)> {
    let i = usize::try_from(fd).ok().filter(|&i| i < MAX)?;
    Some((&OWNED[i / 64], 1u64 << (i % 64)))
}

/// `fd` was just made or received by the library, for itself.
pub fn register(fd: libc::c_int) {
    if let Some((w, b)) = slot(fd) {
        w.fetch_or(b, Ordering::AcqRel);
    }
}

/// Stops owning `fd`; true if it was ours (untracked numbers always are).
pub fn disown(fd: libc::c_int) -> bool {
    match slot(fd) {
        Some((w, b)) => w.fetch_and(!b, Ordering::AcqRel) & b != 0,
        None => fd >= 0,
    }
}

/// Is `fd` a descriptor the library owns now?
pub fn owned(fd: libc::c_int) -> bool {
    match slot(fd) {
        Some((w, b)) => w.load(Ordering::Acquire) & b != 0,
        None => fd >= 0,
    }
}

/// The application is closing (or replacing) `fd`: async-signal-safe.
#[inline]
pub fn app_closing(fd: libc::c_int) {
    super::doormap::forget(fd);
    if let Some((w, b)) = slot(fd)
        && w.load(Ordering::Relaxed) & b != 0
        && w.fetch_and(!b, Ordering::AcqRel) & b != 0
    {
        LOST.fetch_add(1, Ordering::AcqRel);
    }
}

/// The application is closing every descriptor from `lo` to `hi` (inclusive).
pub fn app_closing_range(lo: libc::c_uint, hi: libc::c_uint) {
    super::doormap::forget_range(lo, hi);
    let lo = lo as usize;
    let hi = (hi as usize).min(MAX - 1);
    if lo > hi {
        return;
    }
    let mut lost = 0u32;
    for (wi, w) in OWNED.iter().enumerate().take(hi / 64 + 1).skip(lo / 64) {
        let first = if wi == lo / 64 { lo % 64 } else { 0 };
        let last = if wi == hi / 64 { hi % 64 } else { 63 };
        let mask = (u64::MAX >> (63 - last)) & (u64::MAX << first);
        if w.load(Ordering::Relaxed) & mask != 0 {
            lost += (w.fetch_and(!mask, Ordering::AcqRel) & mask).count_ones();
        }
    }
    if lost > 0 {
        LOST.fetch_add(1, Ordering::AcqRel);
    }
}

/// Changes each time the application closes descriptors of the library.
pub fn lost_gen() -> u64 {
    LOST.load(Ordering::Acquire)
}

/// Closes the library's own descriptor `fd`, unless the application has
/// closed it meanwhile (the number may name one of its files now).
pub fn close_own(fd: libc::c_int) -> bool {
    if !disown(fd) {
        return false;
    }
    crate::sys::fdwatch::closing(fd);
    crate::sys::raw_close(fd);
    crate::sys::fdwatch::closed(fd);
    true
}

/// dup3(2) that tells `fdwatch` and this module that `new` is replaced,
/// as libdoor's exported `dup3` does (the preload library's callers, and
/// the backends, use this one; the system call itself, so no interposed
/// `dup3` runs).
///
/// # Safety
/// As for dup3(2).
pub unsafe fn dup3_tracked(old: libc::c_int, new: libc::c_int, flags: libc::c_int) -> libc::c_int {
    if old != new {
        super::fdwatch::closing(new);
        app_closing(new);
    }
    // SAFETY: the dup3 system call, as glibc's dup3 makes it.
    let r = unsafe { libc::syscall(libc::SYS_dup3, old, new, flags) as libc::c_int };
    if old != new {
        super::fdwatch::closed(new);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_disown_range() {
        register(100);
        register(130);
        assert!(owned(100) && owned(130));
        let g = lost_gen();
        app_closing_range(101, 200);
        assert!(owned(100) && !owned(130));
        assert_eq!(lost_gen(), g + 1);
        app_closing(100);
        assert!(!owned(100));
        assert_eq!(lost_gen(), g + 2);
        // Closing what is not ours counts nothing.
        app_closing(100);
        app_closing_range(500_000, 600_000);
        assert_eq!(lost_gen(), g + 2);
        assert!(!disown(100));
        assert!(disown(MAX as i32)); // untracked: ours
    }
}
