//! The client side: recognising a door descriptor, `door_call`,
//! `door_info` and parameter queries for doors served elsewhere.
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
use super::server;
use super::wire::{self, DoorName, HDR_LEN, Hdr};
use crate::abi::*;
use crate::sys::{self, R};

/// What a descriptor says about itself, if it is a door.
#[derive(Clone, Copy, Debug)]
pub struct Ident {
    pub name: DoorName,
    /// The door is served by this very process image.
    pub local: bool,
}

/// Is `fd` a door? A descriptor opened on a path with a door attached
/// (fattach) is first replaced by the door itself (naming::resolve).
pub fn identify(fd: RawFd) -> R<Ident> {
    match identify_socket(fd) {
        Ok(id) => {
            crate::sys::doormap::mark_door(fd);
            Ok(id)
        }
        // Opened under the preload library on a file with no door attached
        // then: it names that file for good, as on illumos.
        Err(e) if crate::sys::doormap::opened_plain(fd) => Err(e),
        Err(_) if !is_socket(fd) => {
            // Another thread may resolve the same descriptor meanwhile:
            // whoever wins, the descriptor is then the door. Resolving
            // takes two descriptors for a moment: a caller with no free
            // slot gets them above its limit (sys::Headroom).
            if !super::naming::resolve(fd)
                && !sys::has_free_fds(fd, 2)
                && let Some(_h) = sys::Headroom::raise()
            {
                super::naming::resolve(fd);
            }
            identify_socket(fd)
        }
        // It may have just become the door (resolved by another thread).
        Err(_) => identify_socket(fd),
    }
}

fn is_socket(fd: RawFd) -> bool {
    sys::fstat(fd).map_or(true, |st| st.st_mode & libc::S_IFMT == libc::S_IFSOCK)
}

/// Is `fd` itself a door descriptor? Its peer must carry a door name whose
/// pid is the kernel-attested creator of the socket pair (SO_PEERCRED),
/// and its own address must be unnamed, as the client side of a socket
/// pair is: a connection accepted from a peer that bound a door-shaped
/// name carries its listener's name, and is not a door.
pub fn identify_socket(fd: RawFd) -> R<Ident> {
    if fd < 0 {
        return Err(libc::EBADF);
    }
    let mut buf = [0u8; 108];
    let n = sys::peer_abstract_name(fd, &mut buf).map_err(|_| libc::EBADF)?;
    let name = DoorName::decode(&buf[..n]).ok_or(libc::EBADF)?;
    if !sys::local_unnamed(fd) {
        return Err(libc::EBADF);
    }
    let pc = sys::peer_cred(fd).map_err(|_| libc::EBADF)?;
    if pc.pid != name.pid {
        return Err(libc::EBADF);
    }
    Ok(Ident {
        name,
        local: door::is_ours(&name),
    })
}

/// Has the peer of this socket gone (a door's server end revoked or dead;
/// a reply channel's client abandoned)?
pub fn hung_up(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r == 1 && p.revents & (libc::POLLHUP | libc::POLLERR) != 0
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
    match identify_socket(fd) {
        Ok(id) => {
            // Swap this process's copy for a reference of its own, so that
            // closing it counts for unreferenced notifications.
            if let Ok(end) = new_reference_by(fd, &id, Some(dl)) {
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
            } else if hung_up(fd) {
                attrs |= DOOR_REVOKED;
            }
            door_desc_t::new(DOOR_DESCRIPTOR | (attrs & !DOOR_IS_UNREF), fd, door_id)
        }
        Err(_) => door_desc_t::new(DOOR_DESCRIPTOR, fd, 0),
    }
}

/// A new end (a countable reference) of the door `fd`, made by its server.
pub fn new_reference(fd: RawFd, id: &Ident) -> R<sys::OwnedFd> {
    new_reference_by(fd, id, None)
}

/// `new_reference`, its server's answer awaited until `dl` at most (and
/// never longer than `control::ANSWER_MS`). What the server hands over is
/// taken only if it is an end of the very same door (same door name but
/// for the end's number, its creator the door's pid as the kernel says):
/// whoever serves a door-shaped socket cannot swap the holder's descriptor
/// for one of its choosing (EPROTO then).
pub fn new_reference_by(
    fd: RawFd,
    id: &Ident,
    dl: Option<&crate::backend::rendezvous::Deadline>,
) -> R<sys::OwnedFd> {
    let end = if id.local {
        let d = door::lookup(id.name.id).ok_or(libc::EBADF)?;
        door::with_proc(|st| door::new_end(st, &d))?
    } else {
        super::control::clone_end_by(fd, &id.name, dl)?.0
    };
    match identify_socket(end.as_raw_fd()) {
        Ok(e) if same_door(&e.name, &id.name) => Ok(end),
        _ => Err(libc::EPROTO),
    }
}

/// Do two door names name the same door (ends may differ, and so may the
/// attributes recorded in them: DOOR_UNREF goes once delivered)?
pub fn same_door(a: &DoorName, b: &DoorName) -> bool {
    a.id == b.id && a.pid == b.pid && a.nonce == b.nonce
}

/// Procedure and cookie of doors served elsewhere, as their servers last
/// told this process (only holders are told: in every control answer, and
/// in the rendezvous' answer to an open): what `door_info` reports once a
/// server has died or does not answer (illumos keeps reporting them after
/// the server's death). Keyed by (pid, nonce, door id); the
/// most recent `KNOWN_MAX`.
#[allow(clippy::type_complexity)]
static KNOWN: std::sync::Mutex<std::collections::VecDeque<((i32, u64, u64), (u64, u64))>> =
    std::sync::Mutex::new(std::collections::VecDeque::new());
const KNOWN_MAX: usize = 256;

/// Runs `f` on the `KNOWN` table unless it stays locked (a fork child whose
/// parent had it locked at the fork never gets it: `None`).
fn with_known<T>(
    f: impl FnOnce(&mut std::collections::VecDeque<((i32, u64, u64), (u64, u64))>) -> T,
) -> Option<T> {
    for _ in 0..64 {
        match KNOWN.try_lock() {
            Ok(mut g) => return Some(f(&mut g)),
            Err(std::sync::TryLockError::Poisoned(p)) => return Some(f(&mut p.into_inner())),
            Err(std::sync::TryLockError::WouldBlock) => std::thread::yield_now(),
        }
    }
    None
}

/// Notes what the server of `n` (itself, never a third party) said of the
/// door's procedure and cookie.
pub fn remember(n: &DoorName, proc_: u64, cookie: u64) {
    let key = (n.pid, n.nonce, n.id);
    with_known(|k| {
        k.retain(|(e, _)| *e != key);
        if k.len() >= KNOWN_MAX {
            k.pop_front();
        }
        k.push_back((key, (proc_, cookie)));
    });
}

fn recall(n: &DoorName) -> (u64, u64) {
    let key = (n.pid, n.nonce, n.id);
    with_known(|k| k.iter().rev().find(|(e, _)| *e == key).map(|&(_, v)| v))
        .flatten()
        .unwrap_or((0, 0))
}

fn roundup(x: usize, m: usize) -> usize {
    x.div_ceil(m) * m
}

const DS: usize = size_of::<door_desc_t>();

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
    let id = identify(fd)?;
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
    } else if hung_up(fd) {
        return Err(libc::EBADF);
    }
    if ndesc > DOOR_MAX_DESC || huge(size) {
        return Err(libc::E2BIG);
    }
    let descs = server::read_desc_list(desc, ndesc)?;
    if descs
        .iter()
        .any(|d| d.d_attributes & DOOR_DESCRIPTOR == 0 || !sys::fd_is_open(d.fd()))
    {
        server::release_descs(
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
    let mut sigs = super::fast::SigBlock::new();
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
        let (h, mut r) = recv_head(rc.as_raw_fd(), Some(fd), Some(&mut sigs))?;
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
        server::release_descs(release);
        static MARK: u8 = 0;
        let iov = libc::iovec {
            iov_base: (&MARK as *const u8) as *mut _,
            iov_len: 1,
        };
        let _ = send_blocked(rc.as_raw_fd(), &[iov], &[], &sigs);
    }
    let rc = rc.as_raw_fd();
    receive_reply_from(rc, arg, Some(fd), Some(&mut sigs), |took| {
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
fn send_blocked(
    fd: RawFd,
    iov: &[libc::iovec],
    fds: &[RawFd],
    sigs: &super::fast::SigBlock,
) -> R<usize> {
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
fn recv_head(
    rc: RawFd,
    door: Option<RawFd>,
    sigs: Option<&mut super::fast::SigBlock>,
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
                Some(d) if !hung_up(d) => libc::EMFILE,
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

fn receive_reply_from(
    rc: RawFd,
    arg: Option<&mut door_arg_t>,
    door: Option<RawFd>,
    sigs: Option<&mut super::fast::SigBlock>,
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
        .and_then(|_| server::recv_rest_lossy(rc, dest, size, nd, &mut fds, true));
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

/// What `door_info` and `door_getparam` need to know about a door.
pub struct Status {
    pub info: door_info_t,
    pub params: Option<door::Params>,
}

/// Current state of a door, asking its server when it is elsewhere.
pub fn status(fd: RawFd) -> R<Status> {
    let id = identify(fd)?;
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
    match super::control::query(fd, &id.name) {
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
            info: name_info(&id.name, -1, DOOR_REVOKED, recall(&id.name)),
            params: None,
        }),
        Err(_) => {
            let extra = if hung_up(fd) { DOOR_REVOKED } else { 0 };
            Ok(Status {
                info: name_info(&id.name, id.name.pid, extra, recall(&id.name)),
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

use std::mem::size_of;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_doors_are_ebadf() {
        let mut p = [0; 2];
        // SAFETY: p holds two ints.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        assert_eq!(identify_socket(p[0]).err(), Some(libc::EBADF));
        assert_eq!(identify_socket(-1).err(), Some(libc::EBADF));
        let (a, _b) = sys::seqpacket_pair().unwrap();
        assert_eq!(identify_socket(sys::raw(&a)).err(), Some(libc::EBADF));
        for fd in p {
            let _ = sys::close(fd);
        }
    }

    #[test]
    fn a_name_claiming_another_process_is_rejected() {
        // A socket pair we made, bound to a door name that claims pid 1:
        // SO_PEERCRED says we created it, so it is not pid 1's door.
        let (a, b) = sys::seqpacket_pair().unwrap();
        let forged = DoorName {
            id: 5,
            pid: 1,
            nonce: 9,
            attrs: 0,
            clone: 0,
            token: [1, 2],
        };
        sys::bind_abstract(sys::raw(&a), &forged.encode()).unwrap();
        assert_eq!(identify_socket(sys::raw(&b)).err(), Some(libc::EBADF));
        // The same name with our own pid is a (remote-looking) door.
        let (c, d) = sys::seqpacket_pair().unwrap();
        let ours = DoorName {
            pid: sys::getpid(),
            id: 6,
            ..forged
        };
        sys::bind_abstract(sys::raw(&c), &ours.encode()).unwrap();
        let id = identify_socket(sys::raw(&d)).unwrap();
        assert_eq!(id.name, ours);
        assert!(!id.local); // not created by this library instance
    }

    #[test]
    fn result_rounding() {
        assert_eq!(roundup(0, DS), 0);
        assert_eq!(roundup(1, DS), 24);
        assert_eq!(roundup(48, DS), 48);
    }
}
