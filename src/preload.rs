//! What the preload library (`preload/`, `libdoor_preload.so`) asks of
//! libdoor: is this descriptor a door, is this path an attached name, turn
//! a descriptor just opened on an attached name into the door, give a
//! `dup` of a door a reference of its own, and give a fork child's door
//! descriptors references of their own. The exported entry points are in
//! `capi/preload.rs`; nothing here runs unless the preload library calls
//! it (or, for the bit maps below, a door is made or received).
//!
//! Two bit maps over descriptor numbers below `N`, both only hints that are
//! checked before anything is done with them:
//! - `DOORS`: numbers that held a door when libdoor last saw them
//!   (door_create's result, a received door, a resolved open, a door
//!   operation, an fstat that found a door). `dup` and `fork` look only at
//!   these, so a program that never touches a door does no work in them.
//! - `PLAIN`: numbers the preload library opened on a file that had no
//!   door attached at the moment of the `open`. Under the preload library,
//!   such a descriptor names the covered file for good, as on illumos: a
//!   door operation on it is not turned into the door attached since.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::sys::{self, R};

/// Descriptor numbers the hints cover.
pub const N: usize = 4096;
static DOORS: [AtomicU64; N / 64] = [const { AtomicU64::new(0) }; N / 64];
static PLAIN: [AtomicU64; N / 64] = [const { AtomicU64::new(0) }; N / 64];
/// Some number was ever marked in `DOORS` (in this process or a parent).
static ANY_DOOR: AtomicBool = AtomicBool::new(false);
/// The preload library is active in this process (`__libdoor_preload_init`).
static ACTIVE: AtomicBool = AtomicBool::new(false);

fn slot(map: &'static [AtomicU64; N / 64], fd: RawFd) -> Option<(&'static AtomicU64, u64)> {
    let i = usize::try_from(fd).ok().filter(|&i| i < N)?;
    Some((&map[i / 64], 1u64 << (i % 64)))
}

fn set(map: &'static [AtomicU64; N / 64], fd: RawFd, on: bool) {
    if let Some((w, b)) = slot(map, fd) {
        if on {
            if w.load(Ordering::Relaxed) & b == 0 {
                w.fetch_or(b, Ordering::AcqRel);
            }
        } else if w.load(Ordering::Relaxed) & b != 0 {
            w.fetch_and(!b, Ordering::AcqRel);
        }
    }
}

fn get(map: &'static [AtomicU64; N / 64], fd: RawFd) -> bool {
    slot(map, fd).is_some_and(|(w, b)| w.load(Ordering::Acquire) & b != 0)
}

/// The preload library is loaded and active (not a secure-execution process).
pub fn activate() {
    ACTIVE.store(true, Ordering::Release);
}

pub fn active() -> bool {
    ACTIVE.load(Ordering::Acquire)
}

/// `fd` (an application's number) is a door now.
pub fn mark_door(fd: RawFd) {
    if fd >= 0 && (fd as usize) < N {
        set(&DOORS, fd, true);
        set(&PLAIN, fd, false);
        if !ANY_DOOR.load(Ordering::Relaxed) {
            ANY_DOOR.store(true, Ordering::Release);
        }
    }
}

/// The application closes (or replaces) `fd`: async-signal-safe.
#[inline]
pub fn forget(fd: RawFd) {
    set(&PLAIN, fd, false);
}

/// The application closes every number from `lo` to `hi`.
pub fn forget_range(lo: libc::c_uint, hi: libc::c_uint) {
    let hi = (hi as usize).min(N - 1);
    for fd in (lo as usize)..=hi {
        set(&PLAIN, fd as RawFd, false);
    }
}

/// Under the preload library, a descriptor opened on a file without a
/// door stays that file: door operations on it are not resolved.
pub fn opened_plain(fd: RawFd) -> bool {
    active() && get(&PLAIN, fd)
}

/// Is `fd` a door descriptor now (a socket whose peer is a door's server
/// end)? Application descriptors only.
pub fn fd_is_door(fd: RawFd) -> bool {
    if crate::fdown::owned(fd) {
        return false;
    }
    let yes = crate::client::identify_socket(fd).is_ok();
    if yes {
        mark_door(fd);
    }
    yes
}

/// The size of the rendezvous attribute on the file `fd`, if it has one
/// (one `fgetxattr` that reads nothing).
fn has_rendezvous(fd: RawFd) -> bool {
    // SAFETY: a size query: NULL buffer of length 0 (the system call, not
    // another preload's fgetxattr).
    unsafe {
        libc::syscall(
            libc::SYS_fgetxattr,
            fd,
            crate::wire::RDV_XATTR.as_ptr(),
            std::ptr::null_mut::<libc::c_void>(),
            0usize,
        ) > 0
    }
}

/// The preload library opened `fd` (not O_PATH). If the file carries a
/// rendezvous name and its door is alive, `fd` becomes the door (same
/// number, same close-on-exec flag); otherwise it stays the file, for
/// good. Returns whether it is the door.
pub fn opened(fd: RawFd, directory: bool) -> bool {
    if !directory && has_rendezvous(fd) && crate::naming::resolve(fd) {
        mark_door(fd);
        return true;
    }
    set(&PLAIN, fd, true);
    false
}

/// Is the file at `path` (relative to `dirfd`, symbolic links followed
/// unless `nofollow`) an attached name whose door is alive, served by the
/// file's owner or root?
pub fn path_is_door(dirfd: RawFd, path: &std::ffi::CStr, nofollow: bool) -> bool {
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if nofollow {
        flags |= libc::O_NOFOLLOW;
    }
    // SAFETY: the openat system call (not the interposed libc entry: this
    // runs inside the preload library's stat) on a NUL-terminated path.
    let fd = unsafe { libc::syscall(libc::SYS_openat, dirfd, path.as_ptr(), flags, 0) } as RawFd;
    if fd < 0 {
        return false;
    }
    let f = sys::own(fd);
    crate::naming::attached_alive(f.as_raw_fd())
}

/// `dup`-family request: make a new reference of the door `old` and put it
/// at the number the call would have used. `None`: `old` is not a door
/// this knows of (or no reference could be made): the caller does a plain
/// duplicate, which shares `old`'s reference.
pub enum Place {
    /// dup(old): lowest free number.
    Lowest,
    /// fcntl(old, F_DUPFD[_CLOEXEC], min).
    AtLeast(RawFd, bool),
    /// dup2/dup3(old, new, flags).
    Exactly(RawFd, libc::c_int),
}

pub fn dup_door(old: RawFd, place: Place) -> Option<R<RawFd>> {
    if !get(&DOORS, old) || crate::fdown::owned(old) {
        return None;
    }
    let id = crate::client::identify_socket(old).ok()?;
    let end = crate::client::new_reference(old, &id).ok()?;
    let e = end.as_raw_fd();
    let r = match place {
        Place::Lowest => sys::cvt(unsafe {
            // SAFETY: F_DUPFD takes an integer argument; the raw system
            // call keeps the preload library's fcntl out of it.
            libc::syscall(libc::SYS_fcntl, e, libc::F_DUPFD, 0) as libc::c_int
        }),
        Place::AtLeast(min, cloexec) => {
            let cmd = if cloexec {
                libc::F_DUPFD_CLOEXEC
            } else {
                libc::F_DUPFD
            };
            // SAFETY: as above.
            sys::cvt(unsafe { libc::syscall(libc::SYS_fcntl, e, cmd, min) as libc::c_int })
        }
        // SAFETY: libdoor's own dup3 (epochs bumped for `new`).
        Place::Exactly(new, flags) => sys::cvt(unsafe { crate::capi::dup3_wrapper(e, new, flags) }),
    };
    drop(end);
    if let Ok(fd) = r {
        mark_door(fd);
    }
    Some(r)
}

/// In a fork child, before the program's code runs again: every door
/// descriptor the child inherited gets a reference of its own, made by the
/// door's server, so that the child's closes (and its exit) count as
/// illumos counts them. Descriptors whose server does not answer keep
/// sharing the parent's reference.
pub fn fork_child() {
    if !ANY_DOOR.load(Ordering::Acquire) {
        return;
    }
    for (i, w) in DOORS.iter().enumerate() {
        let mut bits = w.load(Ordering::Acquire);
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let fd = (i * 64 + b) as RawFd;
            if crate::fdown::owned(fd) {
                continue;
            }
            let Ok(id) = crate::client::identify_socket(fd) else {
                set(&DOORS, fd, false);
                continue;
            };
            let Ok(end) = crate::client::new_reference(fd, &id) else {
                continue;
            };
            // SAFETY: F_GETFD takes no argument.
            let fdflags = unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFD) };
            let flags = if fdflags >= 0 && fdflags as libc::c_int & libc::FD_CLOEXEC != 0 {
                libc::O_CLOEXEC
            } else {
                0
            };
            // SAFETY: replacing the child's copy with an equivalent
            // reference of its own, through libdoor's dup3.
            unsafe { crate::capi::dup3_wrapper(end.as_raw_fd(), fd, flags) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints() {
        // Numbers out of range are never marked.
        mark_door(-1);
        mark_door(N as RawFd);
        assert!(!get(&DOORS, N as RawFd));
        // A plain-file mark counts only once the preload library is active,
        // and a close forgets it.
        set(&PLAIN, 100, true);
        assert!(!opened_plain(100) || active());
        activate();
        assert!(opened_plain(100));
        forget(100);
        assert!(!opened_plain(100));
        set(&PLAIN, 200, true);
        set(&PLAIN, 201, true);
        forget_range(150, libc::c_uint::MAX);
        assert!(!opened_plain(200) && !opened_plain(201));
        // A door mark clears the plain one; `dup_door` ignores unmarked numbers.
        set(&PLAIN, 300, true);
        mark_door(300);
        assert!(get(&DOORS, 300) && !opened_plain(300));
        assert!(dup_door(301, Place::Lowest).is_none());
        // A marked number that is no door any more is duplicated as usual.
        assert!(dup_door(300, Place::Lowest).is_none());
    }
}
