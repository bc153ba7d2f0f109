//! Entry points for the preload library (`preload/`, `libdoor_preload.so`).
//! Not part of the Solaris API and not declared in any header: the
//! `__libdoor_` prefix keeps them out of programs' name space. Each one
//! leaves errno as it found it, except `__libdoor_dup` when it fails.

use std::ffi::CStr;

use crate::core::preload::{self, Place};
use crate::sys::{self, doormap, fdown, fdwatch};

/// Runs `f` and puts errno back as it was.
fn keep_errno<T>(f: impl FnOnce() -> T) -> T {
    let e = sys::errno();
    let r = f();
    sys::set_errno(e);
    r
}

/// The preload library is active in this process (it is not called in a
/// secure-execution process).
#[unsafe(no_mangle)]
pub extern "C" fn __libdoor_preload_init() {
    doormap::activate();
}

/// 1 if `fd` is a door descriptor, else 0.
#[unsafe(no_mangle)]
pub extern "C" fn __libdoor_fd_is_door(fd: libc::c_int) -> libc::c_int {
    keep_errno(|| preload::fd_is_door(fd) as libc::c_int)
}

/// 1 if `path` (relative to `dirfd`; `flags` may hold AT_SYMLINK_NOFOLLOW)
/// names a file with a live door attached, else 0.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __libdoor_path_is_door(
    dirfd: libc::c_int,
    path: *const libc::c_char,
    flags: libc::c_int,
) -> libc::c_int {
    if path.is_null() {
        return 0;
    }
    // SAFETY: NUL-terminated, as the caller promises.
    let p = unsafe { CStr::from_ptr(path) };
    let nofollow = flags & libc::AT_SYMLINK_NOFOLLOW != 0;
    keep_errno(|| preload::path_is_door(dirfd, p, nofollow) as libc::c_int)
}

/// The preload library's `open` returned `fd`, opened with `oflags` (not
/// O_PATH): 1 if it is now the door attached to the file, else 0.
#[unsafe(no_mangle)]
pub extern "C" fn __libdoor_opened(fd: libc::c_int, oflags: libc::c_int) -> libc::c_int {
    keep_errno(|| preload::opened(fd, oflags & libc::O_DIRECTORY != 0) as libc::c_int)
}

/// `dup` family on a door: `how` 0 dup(old); 1 dup3(old, arg, flags);
/// 2 fcntl(old, F_DUPFD, arg) (F_DUPFD_CLOEXEC if `flags` has O_CLOEXEC).
/// Returns the new descriptor, -1 with errno, or -2 (errno untouched) if
/// `old` is not a known door: the caller then duplicates it as usual.
#[unsafe(no_mangle)]
pub extern "C" fn __libdoor_dup(
    old: libc::c_int,
    how: libc::c_int,
    arg: libc::c_int,
    flags: libc::c_int,
) -> libc::c_int {
    let place = match how {
        0 => Place::Lowest,
        1 => Place::Exactly(arg, flags),
        2 => Place::AtLeast(arg, flags & libc::O_CLOEXEC != 0),
        _ => return -2,
    };
    let e = sys::errno();
    match preload::dup_door(old, place) {
        None => {
            sys::set_errno(e);
            -2
        }
        Some(Ok(fd)) => {
            sys::set_errno(e);
            fd
        }
        Some(Err(err)) => {
            sys::set_errno(err);
            -1
        }
    }
}

/// The application is about to replace `fd` (dup2, dup3) through the
/// preload library: as libdoor's own wrappers do (async-signal-safe).
#[unsafe(no_mangle)]
pub extern "C" fn __libdoor_fd_closing(fd: libc::c_int) {
    fdwatch::closing(fd);
    fdown::app_closing(fd);
}

/// `fd` has been replaced (the second epoch bump).
#[unsafe(no_mangle)]
pub extern "C" fn __libdoor_fd_closed(fd: libc::c_int) {
    fdwatch::closed(fd);
}

/// In a fork child, before the program runs on: inherited door
/// descriptors get references of their own.
#[unsafe(no_mangle)]
pub extern "C" fn __libdoor_fork_child() {
    keep_errno(preload::fork_child)
}
