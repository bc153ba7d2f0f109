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
    or_minus_one(if sys::fd_is_open(fildes) { Ok(0) } else { Err(libc::EBADF) })
}
