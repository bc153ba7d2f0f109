//! A door end or a whole door going: the count in the process state
//! (`door.rs`) changes first, then what hangs on it hears of it: the
//! fast-path channels set up through that end or to that door (`fast.rs`)
//! and the unreferenced notification (`unref.rs`).

use std::os::fd::AsRawFd;
use std::sync::Arc;

use super::door::{self, Door, lock};

/// The client side of an end has been closed everywhere: one reference
/// fewer. When that leaves exactly one, the unref condition holds.
pub fn end_gone(token: u64) {
    let door::EndGone {
        end: gone_end,
        unreachable,
        fire,
    } = door::end_gone(token);
    if let Some((id, end)) = gone_end {
        super::fast::end_closed(id, end);
    }
    if let Some(id) = unreachable {
        // Nobody holds the door any more: its fast-path channels go too.
        super::fast::door_revoked(id);
    }
    if let Some(d) = fire {
        super::unref::condition(&d);
    }
}

/// Accounts now for ends whose client side is already closed everywhere
/// (the manager would notice a moment later), so that door_info reports
/// DOOR_IS_UNREF as soon as a close has returned, as on illumos.
pub fn settle(door: &Arc<Door>) {
    let tokens: Vec<u64> = lock(&door.ends).clone();
    if tokens.len() < 2 {
        return;
    }
    for t in tokens {
        let Some((_, _, fd)) = door::lookup_token(t) else {
            continue;
        };
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let hup = unsafe { libc::poll(&mut p, 1, 0) } == 1
            && p.revents & (libc::POLLHUP | libc::POLLRDHUP) != 0;
        let mut queued: libc::c_int = 0;
        // SAFETY: FIONREAD into an int, on a socket we hold.
        unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut queued) };
        drop(fd);
        if hup && queued == 0 {
            end_gone(t);
        }
    }
}

/// Marks a door revoked and closes its server ends (`door::revoke`), then
/// lets its fast-path channels go.
pub fn revoke(door: &Arc<Door>) {
    door::revoke(door);
    super::fast::door_revoked(door.id);
}
