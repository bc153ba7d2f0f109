//! Descriptor-closing wrappers: each tells `fdwatch` which descriptor
//! numbers are about to stop naming what they named, does exactly what libc
//! does (same result, same errno; `close` stays a cancellation point), and
//! tells `fdwatch` again once it is done (a lookup racing the system call
//! can have recorded the first bump against the old descriptor).

use crate::sys::{fdown, fdwatch};

#[cfg(target_env = "gnu")]
unsafe extern "C" {
    // glibc's own entry points (exported since 2.2.5): no lookup needed,
    // so the wrappers work from the first instruction, in signal handlers too.
    fn __close(fd: libc::c_int) -> libc::c_int;
    fn __dup2(old: libc::c_int, new: libc::c_int) -> libc::c_int;
}

/// close(2), forwarded after the descriptor's epoch is bumped.
///
/// # Safety
/// As for close(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: libc::c_int) -> libc::c_int {
    fdwatch::closing(fd);
    fdown::app_closing(fd);
    // SAFETY: libc's close, with the caller's argument.
    let r = unsafe { __close(fd) };
    fdwatch::closed(fd);
    r
}

/// Tells `fdwatch` the address of our `close`, so that it can check that
/// this is the `close` the process calls (before its first door call).
pub(crate) fn announce() {
    fdwatch::set_close_wrapper(close as *const () as usize);
}

/// dup2(2): `new` is closed (replaced) first.
///
/// # Safety
/// As for dup2(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: libc::c_int, new: libc::c_int) -> libc::c_int {
    if old != new {
        fdwatch::closing(new);
        fdown::app_closing(new);
    }
    // SAFETY: libc's dup2, with the caller's arguments.
    let r = unsafe { __dup2(old, new) };
    if old != new {
        fdwatch::closed(new);
    }
    r
}

/// dup3(2): `new` is closed (replaced) first.
///
/// # Safety
/// As for dup3(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(
    old: libc::c_int,
    new: libc::c_int,
    flags: libc::c_int,
) -> libc::c_int {
    // SAFETY: as the caller promises.
    unsafe { fdown::dup3_tracked(old, new, flags) }
}

/// close_range(2) (glibc 2.34): the range is closed unless only marked
/// close-on-exec.
///
/// # Safety
/// As for close_range(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close_range(
    lo: libc::c_uint,
    hi: libc::c_uint,
    flags: libc::c_int,
) -> libc::c_int {
    let closes = flags & libc::CLOSE_RANGE_CLOEXEC as libc::c_int == 0 && lo <= hi;
    if closes {
        fdwatch::closing_range(lo, hi);
        fdown::app_closing_range(lo, hi);
    }
    // SAFETY: the close_range system call, as glibc's close_range makes it.
    let r = unsafe { libc::syscall(libc::SYS_close_range, lo, hi, flags) as libc::c_int };
    if closes {
        fdwatch::closing_range(lo, hi);
    }
    r
}

/// closefrom(3) (glibc 2.34): every descriptor from `lo` up is closed.
///
/// # Safety
/// As for closefrom(3).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn closefrom(lo: libc::c_int) {
    let lo = lo.max(0);
    fdwatch::closing_range(lo as libc::c_uint, libc::c_uint::MAX);
    fdown::app_closing_range(lo as libc::c_uint, libc::c_uint::MAX);
    // SAFETY: the close_range system call over [lo, ∞), as glibc tries first.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            lo as libc::c_uint,
            libc::c_uint::MAX,
            0,
        )
    };
    if r == 0 {
        fdwatch::closing_range(lo as libc::c_uint, libc::c_uint::MAX);
        return;
    }
    // Kernels before 5.9: close each open descriptor from lo up.
    // SAFETY: getrlimit into a local; __close on each number (EBADF ignored).
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 {
            rl.rlim_cur.min(1 << 20) as libc::c_int
        } else {
            1 << 16
        };
        for fd in lo..max {
            __close(fd);
        }
    }
    fdwatch::closing_range(lo as libc::c_uint, libc::c_uint::MAX);
}
