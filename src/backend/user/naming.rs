//! fattach/fdetach for the userspace backend, over the rendezvous of
//! `backend/rendezvous.rs` (which says how a file names its door). Here:
//! which descriptors prove what, and the attachment's place in the
//! process state: the manager thread (`control.rs`) serves the
//! rendezvous, holding one reference to the door per attachment, as
//! namefs does, and gives each opener an end of the door of its own.

use std::os::fd::{AsRawFd, RawFd};

use crate::backend::rendezvous as rdv;
use crate::sys::{self, R};

/// fattach (man/fattach.3c).
pub fn fattach(fd: RawFd, path: *const libc::c_char) -> R<()> {
    if !sys::fd_is_open(fd) {
        return Err(libc::EBADF);
    }
    let Ok(id) = super::ident::identify(fd) else {
        return Err(libc::EINVAL); // neither a door nor a stream
    };
    let (_, k, covered) = rdv::target(path)?;
    // Something already attached and alive there: EBUSY.
    let ours = super::door::with_proc(|st| Ok(super::control::attached_here(st, &k)))?;
    if ours || rdv::busy_elsewhere(&covered, &k) {
        return Err(libc::EBUSY);
    }
    // The attachment holds a reference of its own, as namefs does.
    let dup = super::request::new_reference(fd, &id)?;
    // Our own copy of the covered descriptor, to publish the name through
    // once the attachment (which owns `covered`) is registered.
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument.
    let mine = sys::own(sys::cvt(unsafe {
        crate::sys::fcntl(covered.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0)
    })?);
    // A fresh random name. It is registered before it is published, so
    // that of two threads attaching the same file, the loser (EBUSY from
    // `attach`) never overwrites the winner's name.
    let rnd = rdv::random_name();
    let listener = rdv::listen_on(&rnd)?;
    super::door::with_proc(|st| {
        super::control::ensure_started(st)?;
        super::control::attach(st, &k, dup, covered, listener, rnd.clone())
    })?;
    rdv::publish_attachment(
        &mine,
        &k,
        &rnd,
        || {
            super::control::detach_key(&k);
        },
        |l, name| super::control::relisten(&k, l, name),
    )
}

/// fdetach (man/fdetach.3c).
pub fn fdetach(path: *const libc::c_char) -> R<()> {
    rdv::fdetach(
        path,
        |k| super::door::with_proc(|st| Ok(super::control::attached_here(st, k))).unwrap_or(false),
        super::control::detach_key,
    )
}
