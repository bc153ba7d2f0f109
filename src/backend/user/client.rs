//! The client side: `door_call` (the fast path when it takes the call,
//! else the socket path below), `door_info` and parameter queries for
//! doors served elsewhere. Recognising a door descriptor is `ident.rs`'s,
//! receiving a reply `reply.rs`'s.
//!
//! A call (slow path): the client makes a fresh reply channel (a socket
//! pair), puts a one-byte token in it, and sends one message on the door
//! descriptor: header + first data chunk + [reply end, descriptors]. The
//! rest of a large transfer follows on the reply channel, and so does the
//! reply. The reply channel's SO_PEERCRED is the calling thread's
//! credentials at the moment of the call, attested by the kernel.

use std::os::fd::{AsRawFd, RawFd};
use std::ptr;

use super::door;
use super::ident;
use super::reply;
use super::request;
use super::wire::{self, DoorName, HDR_LEN, Hdr};
use super::xfer;
use crate::abi::*;
use crate::sys::{self, R};

/// Largest argument a fast-path call carries (1 GiB).
const FAST_MAX: usize = 1 << 30;

/// `door_call` (man/door_call.3c).
pub fn call(fd: RawFd, params: *mut door_arg_t) -> R<()> {
    let mut arg = if params.is_null() {
        None
    } else {
        Some(sys::copy_in(params)?)
    };
    // More data than half the address space: no server stack can hold it,
    // and the wire format refuses it. Calls over FAST_MAX take the socket
    // path, where the server checks the size against its stack before
    // anything is allocated or copied (the fast path would size a shared
    // channel for it first).
    let huge = |size: usize| size as u64 > wire::MAX_SIZE;
    if let Some(a) = &arg
        && a.desc_num == 0
        && a.data_size <= FAST_MAX
    {
        let (data, size) = (a.data_ptr as *const u8, a.data_size);
        if let Some(r) = super::fast::call(fd, arg.as_mut(), data, size, params) {
            // true: the results and *params are already written back.
            if !r? && let Some(a) = &arg {
                sys::copy_out(params, a)?;
            }
            return Ok(());
        }
    }
    let id = ident::identify(fd)?;
    let (data, size, desc, ndesc) = match &arg {
        Some(a) => (
            a.data_ptr as *const u8,
            a.data_size,
            a.desc_ptr as *const door_desc_t,
            a.desc_num as usize,
        ),
        None => (ptr::null(), 0, ptr::null(), 0),
    };
    if id.local {
        // Our own door: check state and limits here, in illumos' order.
        let d = door::lookup(id.name.id).ok_or(libc::EBADF)?;
        let p = d.params();
        if size < p.data_min || size > p.data_max {
            return Err(libc::ENOBUFS);
        }
        if ndesc > 0 && d.attrs.load(std::sync::atomic::Ordering::Relaxed) & DOOR_REFUSE_DESC != 0 {
            return Err(libc::ENOTSUP);
        }
        if ndesc > p.desc_max {
            return Err(libc::ENFILE);
        }
    } else if ident::hung_up(fd) {
        return Err(libc::EBADF);
    }
    if ndesc > DOOR_MAX_DESC || huge(size) {
        return Err(libc::E2BIG);
    }
    let descs = xfer::read_desc_list(desc, ndesc)?;
    if descs
        .iter()
        .any(|d| d.d_attributes & DOOR_DESCRIPTOR == 0 || !sys::fd_is_open(d.fd()))
    {
        xfer::release_descs(
            &descs
                .iter()
                .copied()
                .filter(|d| sys::fd_is_open(d.fd()))
                .collect::<Vec<_>>(),
        );
        return Err(libc::EINVAL);
    }
    let fds: Vec<RawFd> = descs.iter().map(|d| d.fd()).collect();
    // DOOR_RELEASE descriptors are closed inside transact, once the server
    // has accepted the call; they stay open on every earlier error.
    let release: Vec<door_desc_t> = descs
        .iter()
        .copied()
        .filter(|d| d.d_attributes & DOOR_RELEASE != 0)
        .collect();
    let res = transact(fd, arg.as_mut(), data, size, &fds, &release);
    res?;
    if let Some(a) = &arg {
        sys::copy_out(params, a)?;
    }
    Ok(())
}

/// One request/reply exchange on a fresh reply channel.
fn transact(
    fd: RawFd,
    arg: Option<&mut door_arg_t>,
    data: *const u8,
    size: usize,
    fds: &[RawFd],
    release: &[door_desc_t],
) -> R<()> {
    // A caller with no free descriptor still calls, as on illumos: the
    // channel then goes above its limit for the call (sys::Headroom).
    let (rc, rs) = sys::with_headroom(sys::seqpacket_pair)?;
    let _in_flight = InFlight::set(rc.as_raw_fd());
    // A finite receive timeout makes a caught signal interrupt the wait
    // with EINTR even under SA_RESTART: illumos never restarts door_call.
    sys::set_rcvtimeo(rc.as_raw_fd(), 86400 * 365);
    // The token presents this thread's saved ids (door_ucred), checked by
    // the kernel now, while the call is made.
    let ids_gen = super::fast::CRED_GEN.load(std::sync::atomic::Ordering::Acquire);
    sys::creds::send_ids(rc.as_raw_fd(), 1, sys::creds::Held::Saved, ids_gen)?;
    let mut flags = if arg.is_none() { wire::F_NO_RESULTS } else { 0 };
    if !release.is_empty() {
        flags |= wire::F_RELEASE;
    }
    let hdr = Hdr::new(wire::K_CALL, flags, size as u64, fds.len() as u32);
    // From the moment the call is out until its wait ends, a signal stays
    // pending until the wait sees it (recv_head): none is handled unseen.
    let mut sigs = reply::SigBlock::new();
    // First message on the door: header, first chunk, [reply end, fds...].
    let first_fds = fds.len().min(sys::FDS_PER_MSG - 1).min(sys::FDS_PER_MSG);
    let (_, len0, _, fc0) = wire::message_part(0, size, fds.len());
    debug_assert_eq!(first_fds.min(fc0), fc0);
    let mut all = Vec::with_capacity(1 + fc0);
    all.push(rs.as_raw_fd());
    all.extend_from_slice(&fds[..fc0]);
    let mut iov = vec![libc::iovec {
        iov_base: (&hdr as *const Hdr) as *mut _,
        iov_len: HDR_LEN,
    }];
    if len0 > 0 {
        iov.push(libc::iovec {
            iov_base: data as *mut _,
            iov_len: len0,
        });
    }
    match send_blocked(fd, &iov, &all, &sigs) {
        Ok(_) => {}
        // A handled signal while the door's queue is full: no server
        // thread has the call (illumos: EAGAIN while waiting for one).
        Err(libc::EINTR) => return Err(libc::EAGAIN),
        Err(libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN | libc::ENOTSOCK) => {
            return Err(libc::EBADF);
        }
        Err(e) => return Err(e),
    }
    drop(rs);
    if wire::needs_go(size) || !release.is_empty() {
        // The server checks limits and stack fit before we go on.
        let (h, mut r) = reply::recv_head(rc.as_raw_fd(), Some(fd), Some(&mut sigs))?;
        // No answer at this step carries descriptors: a hostile server's
        // are closed here, K_GO or not (they used to stay open with K_GO).
        r.close_fds();
        if h.kind != wire::K_GO {
            return Err(if h.kind == wire::K_REPLY && h.status != 0 {
                wire::peer_errno(h.status)
            } else {
                libc::EINTR
            });
        }
    }
    // Continuations: on the reply channel, which is ours alone.
    let count = wire::message_count(size, fds.len());
    for i in 1..count {
        let (off, len, fs, fc) = wire::message_part(i, size, fds.len());
        static ONE: u8 = 0;
        let iov = if len > 0 {
            libc::iovec {
                iov_base: data.wrapping_add(off) as *mut _,
                iov_len: len,
            }
        } else {
            libc::iovec {
                iov_base: (&ONE as *const u8) as *mut _,
                iov_len: 1,
            }
        };
        match send_blocked(rc.as_raw_fd(), &[iov], &fds[fs..fs + fc], &sigs) {
            Ok(_) => {}
            // Unreadable argument memory: the call is abandoned before the
            // server runs it (it sees a short transfer and drops it).
            Err(libc::EFAULT) => return Err(libc::EFAULT),
            // A handled signal while the server is slow to take the rest:
            // abandoned likewise.
            Err(libc::EINTR) => return Err(libc::EINTR),
            Err(_) => break, // refused early: the reply says why
        }
    }
    if !release.is_empty() {
        // Accepted and transferred: the released descriptors go now,
        // before the server procedure runs.
        xfer::release_descs(release);
        static MARK: u8 = 0;
        let iov = libc::iovec {
            iov_base: (&MARK as *const u8) as *mut _,
            iov_len: 1,
        };
        let _ = send_blocked(rc.as_raw_fd(), &[iov], &[], &sigs);
    }
    let rc = rc.as_raw_fd();
    reply::receive_reply_from(rc, arg, Some(fd), Some(&mut sigs), |took| {
        let b = if took {
            wire::ACK_TAKEN
        } else {
            wire::ACK_DROPPED
        };
        let iov = libc::iovec {
            iov_base: (&b as *const u8) as *mut _,
            iov_len: 1,
        };
        let _ = sys::send_fds(rc, &[iov], &[], true);
    })
}

/// Sends one message of a call while the caller's signals are blocked:
/// without blocking, and while there is no room, sleeps in `ppoll` with the
/// caller's mask, so that a handled signal ends the wait (EINTR) and a
/// signal whose default action stops or ends the process still does so.
fn send_blocked(fd: RawFd, iov: &[libc::iovec], fds: &[RawFd], sigs: &reply::SigBlock) -> R<usize> {
    loop {
        match sys::send_fds_flags(fd, iov, fds, true, libc::MSG_DONTWAIT) {
            Err(libc::EAGAIN) => {}
            r => return r,
        }
        if sigs.interrupted() || sigs.wait_fd(fd, libc::POLLOUT, 1_000_000_000) == libc::EINTR {
            return Err(libc::EINTR);
        }
    }
}

/// The reply channel of this thread's call in progress. door_call is a
/// cancellation point: if the thread is cancelled while it waits, the
/// forced unwind runs no Rust destructor (panic = abort), but thread-local
/// destructors still run at thread exit, and this one closes the channel,
/// which is how the server learns that its client is gone.
struct InFlightSlot(std::cell::Cell<RawFd>);
impl Drop for InFlightSlot {
    fn drop(&mut self) {
        let fd = self.0.replace(-1);
        if fd >= 0 {
            sys::close_own(fd);
        }
    }
}
thread_local! {
    static IN_FLIGHT: InFlightSlot = const { InFlightSlot(std::cell::Cell::new(-1)) };
}
/// Guard: registers the channel for the call's duration; a normal return
/// unregisters it (the OwnedFd then closes it).
struct InFlight;
impl InFlight {
    fn set(fd: RawFd) -> InFlight {
        let _ = IN_FLIGHT.try_with(|s| s.0.set(fd));
        InFlight
    }
}
impl Drop for InFlight {
    fn drop(&mut self) {
        let _ = IN_FLIGHT.try_with(|s| s.0.set(-1));
    }
}

/// What `door_info` and `door_getparam` need to know about a door.
pub struct Status {
    pub info: door_info_t,
    pub params: Option<door::Params>,
}

/// Current state of a door, asking its server when it is elsewhere.
pub fn status(fd: RawFd) -> R<Status> {
    let id = ident::identify(fd)?;
    if id.local {
        return Ok(match door::lookup(id.name.id) {
            Some(d) => Status {
                info: {
                    super::ends::settle(&d);
                    d.info(sys::getpid())
                },
                params: Some(d.params()),
            },
            None => {
                let kept = door::revoked(id.name.id);
                let pc = kept.map_or((0, 0), |k| (k.proc_, k.cookie));
                Status {
                    info: name_info(&id.name, sys::getpid(), DOOR_LOCAL | DOOR_REVOKED, pc),
                    params: kept.map(|k| k.params),
                }
            }
        });
    }
    match request::query(fd, &id.name) {
        Ok(q) => {
            let mut info = name_info(&id.name, q.target, 0, (q.proc_, q.cookie));
            info.di_attributes = q.attrs & DOOR_ATTR_MASK & !DOOR_LOCAL;
            let params = door::Params {
                data_min: q.data_min as usize,
                data_max: q.data_max as usize,
                desc_max: q.desc_max as usize,
            };
            Ok(Status {
                info,
                params: Some(params),
            })
        }
        // The server image is gone (exit or exec): target -1, revoked.
        Err(libc::ECONNREFUSED) | Err(libc::ENOENT) => Ok(Status {
            info: name_info(&id.name, -1, DOOR_REVOKED, ident::recall(&id.name)),
            params: None,
        }),
        Err(_) => {
            let extra = if ident::hung_up(fd) { DOOR_REVOKED } else { 0 };
            Ok(Status {
                info: name_info(&id.name, id.name.pid, extra, ident::recall(&id.name)),
                params: None,
            })
        }
    }
}

/// What a door's name tells, with the procedure and cookie `pc` learnt
/// elsewhere (the name does not carry them).
fn name_info(n: &DoorName, target: i32, extra: u32, pc: (u64, u64)) -> door_info_t {
    door_info_t {
        di_target: target,
        di_proc: pc.0,
        di_data: pc.1,
        di_attributes: (n.attrs & DOOR_ATTR_MASK) | extra,
        di_uniquifier: n.id,
        di_resv: [0; 4],
    }
}
