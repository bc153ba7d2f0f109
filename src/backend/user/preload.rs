//! What the preload library (`preload/`, `libdoor_preload.so`) asks of the
//! userspace backend: is this descriptor a door, is this path an attached
//! name, turn a descriptor just opened on an attached name into the door,
//! give a `dup` of a door a reference of its own, and give a fork child's
//! door descriptors references of their own. Reached through
//! `backend::Backend` from `core::preload`; the hints it reads and keeps
//! are in `sys::doormap`. Nothing here runs unless the preload library
//! calls it.

use std::os::fd::{AsRawFd, RawFd};

use crate::backend::Place;
use crate::sys::{self, R, doormap};

/// Is `fd` a door descriptor now (a socket whose peer is a door's server
/// end)? Application descriptors only.
pub fn fd_is_door(fd: RawFd) -> bool {
    if crate::sys::fdown::owned(fd) {
        return false;
    }
    let yes = super::ident::identify_socket(fd).is_ok();
    if yes {
        doormap::mark_door(fd);
    }
    yes
}

/// The preload library opened `fd` (not O_PATH). If the file carries a
/// rendezvous name and its door is alive, `fd` becomes the door (same
/// number, same close-on-exec flag); otherwise it stays the file, for
/// good. Returns whether it is the door.
pub fn opened(fd: RawFd, directory: bool) -> bool {
    if !directory && crate::backend::rendezvous::has_name(fd) && super::ident::resolve(fd) {
        doormap::mark_door(fd);
        return true;
    }
    doormap::mark_plain(fd);
    false
}

/// How long a fork child waits, in all, for its doors' servers to make it
/// references of its own.
const FORK_MS: u64 = 200;

/// How long a `dup` of a door waits for its server (a manager thread,
/// which answers at once unless the server is stopped or hostile).
const DUP_MS: u64 = 200;

/// A `dup` of a door gets a reference of its own from the door's server;
/// if the server does not answer within `DUP_MS` (or did not recently:
/// `rendezvous::recently_slow`), or hands over anything but an end of the
/// same door, the duplicate is made as usual and shares the reference.
pub fn dup_door(old: RawFd, place: Place) -> Option<R<RawFd>> {
    if !doormap::is_marked(old) || crate::sys::fdown::owned(old) {
        return None;
    }
    let id = super::ident::identify_socket(old).ok()?;
    let dl = crate::backend::rendezvous::Deadline::after_ms(DUP_MS);
    let end = super::request::new_reference_by(old, &id, Some(&dl)).ok()?;
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
        Place::Exactly(new, flags) => sys::cvt(unsafe { sys::fdown::dup3_tracked(e, new, flags) }),
    };
    drop(end);
    if let Ok(fd) = r {
        doormap::mark_door(fd);
    }
    Some(r)
}

/// In a fork child, before the program's code runs again: every door
/// descriptor the child inherited gets a reference of its own, made by the
/// door's server, so that the child's closes (and its exit) count as
/// illumos counts them. Descriptors whose server does not answer keep
/// sharing the parent's reference, and so do those left when `FORK_MS`
/// have gone by: one bound for all of them, however many doors the child
/// holds and however many of their servers are stopped.
pub fn fork_child() {
    let dl = crate::backend::rendezvous::Deadline::after_ms(FORK_MS);
    for fd in doormap::marked() {
        if crate::sys::fdown::owned(fd) {
            continue;
        }
        let Ok(id) = super::ident::identify_socket(fd) else {
            doormap::unmark(fd);
            continue;
        };
        let Ok(end) = super::request::new_reference_by(fd, &id, Some(&dl)) else {
            continue;
        };
        // SAFETY: F_GETFD takes no argument.
        let fdflags = unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFD) };
        let flags = if fdflags >= 0 && fdflags as libc::c_int & libc::FD_CLOEXEC != 0 {
            libc::O_CLOEXEC
        } else {
            0
        };
        // SAFETY: replacing the child's copy with an equivalent reference
        // of its own, epochs bumped as libdoor's dup3 does.
        unsafe { sys::fdown::dup3_tracked(end.as_raw_fd(), fd, flags) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dup_ignores_unmarked_and_stale() {
        assert!(dup_door(5001, Place::Lowest).is_none());
        // A marked number that is no door any more is duplicated as usual.
        doormap::mark_door(300);
        assert!(dup_door(300, Place::Lowest).is_none());
    }
}
