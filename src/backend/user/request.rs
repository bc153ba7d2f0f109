//! What a process asks a door's server (its manager thread, `control.rs`)
//! about a door it holds: `door_info`/`door_getparam` queries, a new end
//! (a reference of its own), a fast-path channel. Every request is bounded
//! by `ANSWER_MS` in all and interrupted by a caught signal.

use crate::sys::OwnedFd;
use std::mem::size_of;
use std::os::fd::{AsRawFd, RawFd};

use super::door;
use super::ident;
use super::wire::{self, DoorName, HDR_LEN, Hdr, QueryReply};
use crate::backend::rendezvous::{
    ANSWER_MS, Deadline, connect_until, mark_slow, recently_slow, recv_until, send_until,
    wait_closed_until,
};
use crate::sys::{self, R};

/// A new end (a countable reference) of the door `fd`, made by its server.
pub fn new_reference(fd: RawFd, id: &ident::Ident) -> R<sys::OwnedFd> {
    new_reference_by(fd, id, None)
}

/// `new_reference`, its server's answer awaited until `dl` at most (and
/// never longer than `ANSWER_MS`). What the server hands over is
/// taken only if it is an end of the very same door (same door name but
/// for the end's number, its creator the door's pid as the kernel says):
/// whoever serves a door-shaped socket cannot swap the holder's descriptor
/// for one of its choosing (EPROTO then).
pub fn new_reference_by(
    fd: RawFd,
    id: &ident::Ident,
    dl: Option<&crate::backend::rendezvous::Deadline>,
) -> R<sys::OwnedFd> {
    let end = if id.local {
        let d = door::lookup(id.name.id).ok_or(libc::EBADF)?;
        door::with_proc(|st| door::new_end(st, &d))?
    } else {
        clone_end_by(fd, &id.name, dl)?.0
    };
    match ident::identify_socket(end.as_raw_fd()) {
        Ok(e) if ident::same_door(&e.name, &id.name) => Ok(end),
        _ => Err(libc::EPROTO),
    }
}

/// Asks the server of `name` about the door `fd`. ECONNREFUSED when the
/// server image no longer exists.
pub fn query(fd: RawFd, name: &DoorName) -> R<QueryReply> {
    request(fd, name, wire::K_QUERY).map(|(q, _)| q)
}

/// Asks the server of `name` for a new end of the door `fd` (a reference
/// of the caller's own; see KNOWN_DIFFERENCES.md, "Unreferenced"), with
/// the door's state at that moment. It waits until `dl` at most (if that
/// is sooner than `ANSWER_MS` from now).
pub fn clone_end_by(fd: RawFd, name: &DoorName, dl: Option<&Deadline>) -> R<(OwnedFd, QueryReply)> {
    let (q, end) = request_by(&[fd], name, wire::K_CLONE, 0, dl)?;
    Ok((end.ok_or(libc::EPROTO)?, q))
}

/// Sets up a fast-path channel with the server of `name`: passes the
/// channel memory and the server end of its socket pair; gets the channel
/// id.
pub fn chan_setup(fd: RawFd, name: &DoorName, mem: &OwnedFd, sock: OwnedFd, cap: usize) -> R<u32> {
    let fds = [fd, mem.as_raw_fd(), sock.as_raw_fd()];
    let (q, _) = request_with(&fds, name, wire::K_CHAN, cap as u64)?;
    Ok(q.hdr.aux as u32)
}

fn request(fd: RawFd, name: &DoorName, kind: u32) -> R<(QueryReply, Option<OwnedFd>)> {
    request_with(&[fd], name, kind, 0)
}

/// One control request, bounded by `ANSWER_MS` in all (ETIMEDOUT) and
/// interrupted by a caught signal (EINTR).
fn request_with(
    fds: &[RawFd],
    name: &DoorName,
    kind: u32,
    size: u64,
) -> R<(QueryReply, Option<OwnedFd>)> {
    request_by(fds, name, kind, size, None)
}

/// A request that waited this long and timed out marks its server slow
/// (a shorter wait may have been cut by the caller's own deadline).
const SLOW_AFTER_MS: u64 = 200;

fn request_by(
    fds: &[RawFd],
    name: &DoorName,
    kind: u32,
    size: u64,
    until: Option<&Deadline>,
) -> R<(QueryReply, Option<OwnedFd>)> {
    if recently_slow(name.pid) {
        return Err(libc::ETIMEDOUT);
    }
    let start = sys::now_ns();
    let own = Deadline::after_ms(ANSWER_MS);
    let dl = until.map_or(own, |u| u.min(own));
    let r = request_until(fds, name, kind, size, &dl);
    if r.as_ref().err() == Some(&libc::ETIMEDOUT)
        && sys::now_ns().saturating_sub(start) >= SLOW_AFTER_MS * 1_000_000
    {
        mark_slow(name.pid);
    }
    r
}

fn request_until(
    fds: &[RawFd],
    name: &DoorName,
    kind: u32,
    size: u64,
    dl: &Deadline,
) -> R<(QueryReply, Option<OwnedFd>)> {
    let s = connect_until(&wire::ctl_name(name.pid, name.nonce), dl)?;
    // Anyone could have bound that name after the server died: believe it
    // only if the kernel says the listener is the door's server process.
    if sys::peer_cred(s.as_raw_fd())?.pid != name.pid {
        return Err(libc::ECONNREFUSED);
    }
    let mut hdr = Hdr::new(kind, 0, 0, 0);
    hdr.aux = name.id;
    hdr.size = size;
    let iov = [libc::iovec {
        iov_base: (&hdr as *const Hdr) as *mut _,
        iov_len: HDR_LEN,
    }];
    send_until(s.as_raw_fd(), &iov, fds, dl)?;
    let mut q = QueryReply::default();
    let mut iov = [libc::iovec {
        iov_base: (&mut q as *mut QueryReply).cast(),
        iov_len: size_of::<QueryReply>(),
    }];
    let mut r = recv_until(s.as_raw_fd(), &mut iov, dl)?;
    let want = usize::from(kind == wire::K_CLONE && q.hdr.status == 0);
    if r.len != size_of::<QueryReply>()
        || q.hdr.check(wire::K_QUERY_REPLY, 0).is_err()
        || r.fds.len() != want
    {
        r.close_fds();
        return Err(libc::EPROTO);
    }
    if q.hdr.status != 0 {
        return Err(q.hdr.status as i32);
    }
    // The door's server itself answered (its pid checked above).
    ident::remember(name, q.proc_, q.cookie);
    let end = r.fds.pop().map(sys::own);
    wait_closed_until(s.as_raw_fd(), dl);
    Ok((q, end))
}
