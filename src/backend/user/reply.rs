//! Waiting for and receiving a door call's reply on its reply channel
//! (the socket path's, and a fast-path call's reply too large for its
//! channel): the caller's signals during the wait (`SigBlock`), placing
//! results and descriptors as illumos does, and the `door_desc_t` a
//! receiver sees for a descriptor it was given.

use std::os::fd::{AsRawFd, RawFd};
use std::ptr;

use super::door;
use super::ident;
use super::request;
use super::wire::{self, HDR_LEN, Hdr};
use super::xfer;
use crate::abi::*;
use crate::sys::{self, R};

/// The caller's signals, blocked from the moment a request is posted until
/// its wait is over, so that a signal cannot be handled unseen while the
/// client spins or between its last look at the channel and its sleep: it
/// stays pending, and the wait sees it (`interrupted`) or sleeps in `ppoll`
/// with the caller's own mask, which a handled signal ends. Synchronous
/// signals (faults of the argument and result copies) stay unblocked.
/// (The socket path uses it too, around its waits for the server.)
pub struct SigBlock {
    old: libc::sigset_t,
    on: bool,
}
impl SigBlock {
    pub fn new() -> SigBlock {
        let mut b = SigBlock {
            // SAFETY: sigset_t is plain data; filled by pthread_sigmask.
            old: unsafe { std::mem::zeroed() },
            on: false,
        };
        b.block();
        b
    }
    /// Blocks the signals again after `restore` (no-op if blocked).
    pub fn block(&mut self) {
        if self.on {
            return;
        }
        // SAFETY: sigset_t is plain data, initialised by sigfillset and
        // filled by pthread_sigmask before use.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut set);
            for s in [
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGILL,
                libc::SIGFPE,
                libc::SIGTRAP,
                libc::SIGSYS,
            ] {
                libc::sigdelset(&mut set, s);
            }
            self.on = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut self.old) == 0;
        }
    }
    /// The caller's mask again: handlers of pending signals run now.
    pub fn restore(&mut self) {
        if self.on {
            self.on = false;
            // SAFETY: the mask saved by new().
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, ptr::null_mut()) };
        }
    }
    /// Is a signal pending that the caller does not block and handles?
    pub fn interrupted(&self) -> bool {
        if !self.on {
            return false;
        }
        // SAFETY: plain data filled by sigpending/sigaction.
        unsafe {
            let mut pend: libc::sigset_t = std::mem::zeroed();
            if libc::sigpending(&mut pend) != 0 {
                return false;
            }
            (1..=64).any(|s| {
                if libc::sigismember(&pend, s) != 1 || libc::sigismember(&self.old, s) == 1 {
                    return false;
                }
                let mut sa: libc::sigaction = std::mem::zeroed();
                libc::sigaction(s, ptr::null(), &mut sa) == 0
                    && sa.sa_sigaction != libc::SIG_DFL
                    && sa.sa_sigaction != libc::SIG_IGN
            })
        }
    }
    /// Sleeps until the channel's socket is readable (a wake-up byte, a
    /// reply: 0), hung up (EPIPE), `ns` pass (ETIMEDOUT), or a signal is
    /// handled (EINTR).
    pub fn sleep(&self, fd: RawFd, ns: i64) -> i32 {
        self.wait_fd(fd, libc::POLLIN, ns)
    }
    /// `sleep` for other poll events (POLLOUT: room to send).
    pub fn wait_fd(&self, fd: RawFd, events: i16, ns: i64) -> i32 {
        let mut p = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: ns / 1_000_000_000,
            tv_nsec: ns % 1_000_000_000,
        };
        let mask: *const libc::sigset_t = if self.on { &self.old } else { ptr::null() };
        // SAFETY: one valid pollfd, a valid timeout and mask.
        let r = unsafe { libc::ppoll(&mut p, 1, &ts, mask) };
        match r {
            0 => libc::ETIMEDOUT,
            r if r > 0 && p.revents & (libc::POLLHUP | libc::POLLERR) != 0 => libc::EPIPE,
            r if r > 0 => 0,
            _ => sys::errno(),
        }
    }
}
impl Drop for SigBlock {
    fn drop(&mut self) {
        self.restore();
    }
}

/// The `door_desc_t` a receiver sees for a descriptor it was given
/// (as on illumos): DOOR_DESCRIPTOR, and for a door its attributes and id.
/// `dl`: the deadline shared by all the descriptors of one call (or
/// reply): a door whose server does not answer by then keeps sharing the
/// sender's reference, so that a sender passing many doors of servers
/// that never answer delays the receiver by one bound in all.
pub fn describe_received(fd: RawFd, dl: &crate::backend::rendezvous::Deadline) -> door_desc_t {
    // Received close-on-exec (sys::recv_fds); the application gets it
    // without the flag, as illumos hands out passed descriptors.
    let _ = sys::set_cloexec(fd, false);
    match ident::identify_socket(fd) {
        Ok(id) => {
            // Swap this process's copy for a reference of its own, so that
            // closing it counts for unreferenced notifications.
            if let Ok(end) = request::new_reference_by(fd, &id, Some(dl)) {
                // SAFETY: replacing the received descriptor (ours) with an
                // equivalent one; no close-on-exec, as received fds have none.
                unsafe { crate::sys::fdown::dup3_tracked(end.as_raw_fd(), fd, 0) };
            }
            crate::sys::doormap::mark_door(fd);
            let (mut attrs, door_id) = (id.name.attrs & DOOR_ATTR_MASK, id.name.id);
            if id.local {
                attrs = match door::lookup(door_id) {
                    Some(d) => d.info(sys::getpid()).di_attributes,
                    None => attrs | DOOR_LOCAL | DOOR_REVOKED,
                };
            } else if ident::hung_up(fd) {
                attrs |= DOOR_REVOKED;
            }
            door_desc_t::new(DOOR_DESCRIPTOR | (attrs & !DOOR_IS_UNREF), fd, door_id)
        }
        Err(_) => door_desc_t::new(DOOR_DESCRIPTOR, fd, 0),
    }
}

fn roundup(x: usize, m: usize) -> usize {
    x.div_ceil(m) * m
}

const DS: usize = size_of::<door_desc_t>();

/// Thread-local landing area for a reply's first message (CHUNK bytes,
/// allocated on a thread's first call, freed when the thread exits).
struct Scratch(*mut u8);
struct ScratchSlot(std::cell::Cell<*mut u8>);
impl Drop for ScratchSlot {
    fn drop(&mut self) {
        // SAFETY: malloc'd by Scratch::get (or null).
        unsafe { libc::free(self.0.get().cast()) };
    }
}
thread_local! {
    static SCRATCH: ScratchSlot = const { ScratchSlot(std::cell::Cell::new(ptr::null_mut())) };
}
impl Scratch {
    fn get() -> R<Scratch> {
        let p = SCRATCH
            .try_with(|c| {
                if c.0.get().is_null() {
                    // SAFETY: plain allocation, owned by the slot.
                    c.0.set(unsafe { libc::malloc(wire::CHUNK) }.cast());
                }
                c.0.get()
            })
            .unwrap_or(ptr::null_mut());
        if p.is_null() {
            Err(libc::ENOMEM)
        } else {
            Ok(Scratch(p))
        }
    }
}

/// Receives the first message of the server's answer (a reply or K_GO),
/// mapping how the channel ended to door_call's errno.
/// `door`: the door descriptor of a socket-path call, to tell why the
/// channel was reset.
/// `sigs`: the caller's signals, blocked since the call went out; the wait
/// for the first message ends with EINTR on a handled signal. They stay
/// blocked (a K_GO is followed by more sending, then the wait for the
/// reply); `receive_reply_from` restores the caller's mask once the
/// reply's first message is in.
pub fn recv_head(
    rc: RawFd,
    door: Option<RawFd>,
    sigs: Option<&mut SigBlock>,
) -> R<(Hdr, sys::Received)> {
    let scratch = Scratch::get()?;
    let mut hdr = Hdr::default();
    let mut iov = [
        libc::iovec {
            iov_base: (&mut hdr as *mut Hdr).cast(),
            iov_len: HDR_LEN,
        },
        libc::iovec {
            iov_base: scratch.0.cast(),
            iov_len: wire::CHUNK,
        },
    ];
    let waited = match sigs {
        None => Ok(()),
        Some(g) => loop {
            if g.interrupted() {
                break Err(libc::EINTR);
            }
            match g.sleep(rc, 1_000_000_000) {
                libc::ETIMEDOUT => {}
                libc::EINTR => break Err(libc::EINTR),
                _ => break Ok(()),
            }
        },
    };
    let mut r = match waited.and_then(|_| sys::recv_fds(rc, &mut iov, 0, false)) {
        Ok(r) => r,
        // Never picked up: the door was revoked or its server died first
        // (the door's server end is gone then). If the door is still
        // served, the server could not even take our channel: its
        // descriptor table is full, which illumos reports as EMFILE.
        Err(libc::ECONNRESET) => {
            return Err(match door {
                Some(d) if !ident::hung_up(d) => libc::EMFILE,
                _ => libc::EBADF,
            });
        }
        // A signal: the call is abandoned. Shut the channel first, so a
        // server thread that has not taken the call yet drops it; then, if
        // our token is still unread, no server thread had taken it: that
        // is EAGAIN (illumos: a signal while waiting for a server thread).
        Err(libc::EINTR | libc::EAGAIN) => {
            // SAFETY: shutdown and ioctl(SIOCOUTQ) on our own socket.
            let queued = unsafe {
                libc::shutdown(rc, libc::SHUT_RDWR);
                let mut n: libc::c_int = 0;
                libc::ioctl(rc, libc::TIOCOUTQ, &mut n);
                n
            };
            return Err(if queued > 0 {
                libc::EAGAIN
            } else {
                libc::EINTR
            });
        }
        Err(e) => return Err(e),
    };
    if r.len == 0 && r.fds.is_empty() {
        return Err(libc::EINTR); // the server took the call and vanished
    }
    if r.len < HDR_LEN || hdr.magic != wire::MAGIC {
        r.close_fds();
        return Err(libc::EINTR); // a server speaking garbage: the call failed
    }
    Ok((hdr, r))
}

/// Places `size` bytes of results (no descriptors), fetched by `read` into
/// a destination, into the caller's buffers by illumos' rules (man/door_call.3c).
/// With `params` non-NULL, `*params` is written back in the same system
/// call as the data (returns true: nothing left to write).
pub fn place_results(
    arg: Option<&mut door_arg_t>,
    size: usize,
    params: *mut door_arg_t,
    read: impl Fn(*mut u8, usize) -> R<()>,
) -> R<bool> {
    let Some(arg) = arg else {
        return if size == 0 {
            Ok(false)
        } else {
            Err(libc::EINTR)
        };
    };
    if size == 0 {
        arg.data_size = 0;
        arg.desc_num = 0;
        return Ok(false);
    }
    let fits = !arg.rbuf.is_null() && size <= arg.rsize;
    let (dest, maplen) = if fits {
        (arg.rbuf, 0)
    } else {
        if size > isize::MAX as usize / 2 {
            return Err(libc::EOVERFLOW);
        }
        let len = roundup(size, 4096);
        // SAFETY: anonymous private mapping, no fixed address.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(libc::EOVERFLOW);
        }
        (p as *mut u8, len)
    };
    let before = *arg;
    arg.data_ptr = dest;
    if !fits {
        arg.rbuf = dest;
        arg.rsize = maplen;
    }
    arg.data_size = size;
    arg.desc_num = 0;
    let r = read(dest, size).and_then(|_| {
        if params.is_null() {
            Ok(false)
        } else {
            sys::copy_out(params, &*arg).map(|_| true)
        }
    });
    if r.is_err() {
        *arg = before;
        if maplen > 0 {
            // SAFETY: unmapping the mapping made above.
            unsafe { libc::munmap(dest.cast(), maplen) };
        }
    }
    r
}

/// Receives a reply (the socket path's reply channel, or a fast-path
/// channel's socket for results too large or with descriptors). `ack`
/// tells the server whether the returned descriptors were taken, when it
/// asks (`wire::A_ACK`).
pub fn receive_reply(rc: RawFd, arg: Option<&mut door_arg_t>, ack: impl FnOnce(bool)) -> R<()> {
    receive_reply_from(rc, arg, None, None, ack)
}

pub fn receive_reply_from(
    rc: RawFd,
    arg: Option<&mut door_arg_t>,
    door: Option<RawFd>,
    sigs: Option<&mut SigBlock>,
    ack: impl FnOnce(bool),
) -> R<()> {
    let scratch = Scratch::get()?;
    let (hdr, mut r) = match sigs {
        Some(g) => {
            let head = recv_head(rc, door, Some(&mut *g));
            // The rest of the transfer runs with the caller's mask (a
            // signal there ends it with EINTR, as before).
            g.restore();
            head?
        }
        None => recv_head(rc, door, None)?,
    };
    let inline = r.len.saturating_sub(HDR_LEN);
    let (size, nd) = (hdr.size as usize, hdr.ndesc as usize);
    // Our descriptor table could not take the returned descriptors (all of
    // them, or only some). As on illumos, the call still succeeds, with
    // the data and without descriptors, and the server keeps its own.
    let mut dropped = r.ctrunc && hdr.status == 0;
    if dropped {
        r.close_fds();
    }
    if r.truncated
        || hdr.check(wire::K_REPLY, isize::MAX as u64 / 2).is_err()
        || (hdr.status == 0
            && (inline != wire::message_part(0, size, nd).1
                || (!dropped && r.fds.len() != nd.min(sys::FDS_PER_MSG))))
    {
        r.close_fds();
        return Err(libc::EINTR); // a server speaking garbage: the call failed
    }
    if hdr.status != 0 {
        r.close_fds();
        return Err(wire::peer_errno(hdr.status));
    }
    let Some(arg) = arg else {
        r.close_fds();
        return if size == 0 && nd == 0 {
            Ok(())
        } else {
            Err(libc::EINTR)
        };
    };
    if size == 0 && nd == 0 {
        arg.data_size = 0;
        arg.desc_num = 0;
        return Ok(());
    }
    // size and nd were bounded by Hdr::check; checked all the same. No
    // room is needed for descriptors already known to be dropped.
    let nd_room = if dropped { 0 } else { nd };
    let data_end = if nd_room == 0 {
        size
    } else {
        roundup(size, DS)
    };
    let Some(needed) = nd_room
        .checked_mul(DS)
        .and_then(|d| data_end.checked_add(d))
    else {
        r.close_fds();
        return Err(libc::EINTR);
    };
    let fits = !arg.rbuf.is_null() && needed <= arg.rsize;
    let (dest, maplen) = if fits {
        (arg.rbuf, 0)
    } else {
        let page = 4096;
        let len = roundup(needed.max(1), page);
        // SAFETY: anonymous private mapping, no fixed address.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            r.close_fds();
            return Err(libc::EOVERFLOW);
        }
        (p as *mut u8, len)
    };
    let unmap = |fds: &mut Vec<RawFd>| {
        for fd in fds.drain(..) {
            sys::close_received(fd);
        }
        if maplen > 0 {
            // SAFETY: unmapping the mapping made above.
            unsafe { libc::munmap(dest.cast(), maplen) };
        }
    };
    let mut fds = std::mem::take(&mut r.fds);
    // First chunk: from scratch into the destination (EFAULT-checked).
    let res = sys::copy_out_bytes(dest, scratch.0, inline)
        .and_then(|_| xfer::recv_rest_lossy(rc, dest, size, nd, &mut fds, true));
    match res {
        Err(e) => {
            unmap(&mut fds);
            return Err(if e == libc::EFAULT {
                libc::EFAULT
            } else {
                libc::EINTR
            });
        }
        Ok(d) => dropped |= d,
    }
    if dropped {
        for fd in fds.drain(..) {
            sys::close_received(fd);
        }
    }
    if hdr.aux & wire::A_ACK != 0 {
        ack(!dropped);
    }
    if hdr.aux & wire::A_TRAILER != 0 && !dropped {
        // The server closes its released descriptors before this byte.
        let mut b = [0u8; 1];
        // SAFETY: one writable byte.
        unsafe { libc::recv(rc, b.as_mut_ptr().cast(), 1, 0) };
    }
    let nd = if dropped { 0 } else { nd };
    let dl = crate::backend::rendezvous::Deadline::after_ms(wire::DESC_MS);
    let descs: Vec<door_desc_t> = fds.iter().map(|&fd| describe_received(fd, &dl)).collect();
    if nd > 0 {
        // SAFETY: dest + data_end .. + nd*DS is inside rbuf/rsize or the map.
        let dp = unsafe { dest.add(data_end) };
        if let Err(e) = sys::copy_out_bytes(dp, descs.as_ptr().cast(), nd * DS) {
            unmap(&mut fds);
            return Err(e);
        }
        arg.desc_ptr = dp.cast();
    }
    if fits || size > 0 {
        arg.data_ptr = dest;
    }
    if !fits {
        arg.rbuf = dest;
        arg.rsize = maplen;
    }
    arg.data_size = size;
    arg.desc_num = nd as u32;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_rounding() {
        assert_eq!(roundup(0, DS), 0);
        assert_eq!(roundup(1, DS), 24);
        assert_eq!(roundup(48, DS), 48);
    }
}
