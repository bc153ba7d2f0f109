//! `<stropts.h>`: isastream (fattach/fdetach live in naming).

use super::or_minus_one;
use crate::sys;

/// Is `fildes` a STREAMS descriptor? Linux has no STREAMS: 0 for any open
/// descriptor (a door is not a stream either).
///
/// Solaris: `isastream(3C)`.
///
/// # Errors
/// `EBADF`: `fildes` is not open.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isastream(fildes: i32) -> i32 {
    or_minus_one(if sys::fd_is_open(fildes) {
        Ok(0)
    } else {
        Err(libc::EBADF)
    })
}

/// Attaches a door descriptor to a name in the filesystem.
///
/// Solaris: `fattach(3C)`.
///
/// # Errors
/// `EBADF` (not open), `EINVAL` (not a door), `ENOENT` (NULL, empty or
/// missing path), `EPERM` (not the owner), `EACCES` (no write permission),
/// `EBUSY` (already attached, or a mount point), `ENOTDIR`, `ELOOP`,
/// `ENAMETOOLONG`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fattach(fildes: i32, path: *const libc::c_char) -> i32 {
    or_minus_one(crate::core::door::fattach(fildes, path))
}

/// Detaches the door attached at `path`.
///
/// Solaris: `fdetach(3C)`.
///
/// # Errors
/// `EINVAL` (nothing attached), `ENOENT`, `EPERM` (not the attachment's
/// owner), `ENOTDIR`, `ELOOP`, `ENAMETOOLONG`, `EACCES`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fdetach(path: *const libc::c_char) -> i32 {
    or_minus_one(crate::core::door::fdetach(path))
}
