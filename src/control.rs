//! The manager thread of a door server process: its control socket and its
//! fattach rendezvous listeners.
//!
//! Every process image that creates a door (or attaches one) listens on an
//! abstract SOCK_SEQPACKET name `ldoor1c:<pid>:<nonce>` (close-on-exec, so
//! it vanishes at exit and at exec). A client that needs the live state of
//! a door served elsewhere (`door_info`, `door_getparam`) connects, proves
//! it holds the door by passing its descriptor, and gets the answer from
//! the manager, which never runs user code and so answers even when every
//! server thread is busy. "Connection refused" means the server image is
//! gone: `di_target == -1`. The same thread accepts on the rendezvous
//! listeners of `naming.rs`.

use crate::sys::OwnedFd;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use crate::abi::*;
use crate::door::{self, Proc};
use crate::naming::{self, FileKey};
use crate::sys::{self, R};
use crate::wire::{self, DoorName, HDR_LEN, Hdr, QueryReply};

const MAX_CONNS: usize = 256;

/// What a connection accepted by the manager is for.
#[derive(Clone, Copy, Debug)]
pub enum ConnKind {
    Query,
    Rendezvous { listener: RawFd },
}

/// One fattach'ed name: its rendezvous listener holds a reference to the
/// door (as namefs holds one on the door's file).
pub struct Attachment {
    pub _listener: OwnedFd,
    /// An O_PATH descriptor of the covered file: while attached, its inode
    /// cannot be freed, so its number cannot be reused by a new file.
    pub _covered: Option<OwnedFd>,
    pub door: Arc<OwnedFd>,
    pub key: FileKey,
}

fn listen_on(name: &[u8]) -> R<OwnedFd> {
    // SAFETY: plain socket creation.
    let s = sys::own(sys::cvt(unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })?);
    sys::bind_abstract(s.as_raw_fd(), name)?;
    // SAFETY: listen on our own socket.
    sys::cvt(unsafe { libc::listen(s.as_raw_fd(), 64) })?;
    Ok(s)
}

fn epoll_add(ep: RawFd, fd: RawFd) -> R<()> {
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: fd as u64,
    };
    // SAFETY: valid epoll_event.
    sys::cvt(unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) }).map(|_| ())
}

/// Starts the control socket and manager thread of this process image
/// (called with the process state held).
pub fn ensure_started(st: &mut Proc) -> R<()> {
    if st.ctl_started {
        return Ok(());
    }
    let s = listen_on(&wire::ctl_name(st.pid, st.nonce))?;
    // SAFETY: epoll_create1 has no pointer arguments.
    let ep = sys::own(sys::cvt(unsafe {
        libc::epoll_create1(libc::EPOLL_CLOEXEC)
    })?);
    epoll_add(ep.as_raw_fd(), s.as_raw_fd())?;
    let ep = ep.keep();
    let ctl = s.keep();
    st.owned.push(ctl);
    st.owned.push(ep);
    st.mgr_epfd = ep;
    st.ctl_fd = ctl;
    if !crate::server::spawn_daemon(manager_main, ep as usize as *mut libc::c_void) {
        return Err(libc::EAGAIN);
    }
    st.ctl_started = true;
    Ok(())
}

/// Registers an attachment (naming::fattach). EBUSY if the name is taken.
pub fn attach(st: &mut Proc, key: &FileKey, door: OwnedFd, covered: Option<OwnedFd>) -> R<()> {
    let l = match listen_on(&naming::rendezvous_name(key)) {
        Ok(l) => l,
        Err(libc::EADDRINUSE) => return Err(libc::EBUSY),
        Err(e) => return Err(e),
    };
    epoll_add(st.mgr_epfd, l.as_raw_fd())?;
    st.owned.push(l.as_raw_fd());
    st.owned.push(door.as_raw_fd());
    if let Some(c) = &covered {
        st.owned.push(c.as_raw_fd());
    }
    st.atts.insert(
        l.as_raw_fd(),
        Attachment {
            _listener: l,
            _covered: covered,
            door: Arc::new(door),
            key: *key,
        },
    );
    Ok(())
}

/// Epoll tokens of watched calls carry this bit, a generation in bits
/// 32..62 and the reply descriptor in the low 32 bits.
const CALL_BIT: u64 = 1 << 63;

/// Watches the reply channel of a call this thread now serves: if the
/// client aborts (signal, cancellation, death), the manager cancels this
/// thread unless the door has DOOR_NO_CANCEL (spec §4.14).
pub fn watch_call(reply: RawFd, no_cancel: bool) {
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    let _ = door::with_proc(|st| {
        if st.mgr_epfd < 0 {
            return Ok(());
        }
        st.inflight_gen = st.inflight_gen.wrapping_add(1) & 0x7fff_ffff;
        let generation = st.inflight_gen;
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLRDHUP | libc::EPOLLHUP) as u32,
            u64: CALL_BIT | ((generation as u64) << 32) | reply as u32 as u64,
        };
        // SAFETY: valid epoll_event.
        if unsafe { libc::epoll_ctl(st.mgr_epfd, libc::EPOLL_CTL_ADD, reply, &mut ev) } == 0 {
            st.inflight.insert(reply, (generation, me, no_cancel));
        }
        Ok(())
    });
}

/// Stops watching a call (before its reply descriptor is closed).
pub fn unwatch_call(reply: RawFd) {
    let _ = door::with_proc(|st| {
        if st.inflight.remove(&reply).is_some() {
            let mut ev = libc::epoll_event { events: 0, u64: 0 };
            // SAFETY: valid epoll_event (ignored by DEL on modern kernels).
            unsafe { libc::epoll_ctl(st.mgr_epfd, libc::EPOLL_CTL_DEL, reply, &mut ev) };
        }
        Ok(())
    });
}

/// Epoll tokens of watched door ends carry this bit.
const END_BIT: u64 = 1 << 62;

/// Has the manager watch a door end for the moment its client side is
/// closed everywhere (one-shot; see `end_hung_up`).
pub fn watch_end(st: &Proc, fd: RawFd, token: u64) {
    if st.mgr_epfd < 0 {
        return;
    }
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLONESHOT) as u32,
        u64: END_BIT | token,
    };
    // SAFETY: valid epoll_event.
    unsafe { libc::epoll_ctl(st.mgr_epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) };
}

pub fn unwatch_end(st: &Proc, fd: RawFd) {
    if st.mgr_epfd >= 0 {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: valid epoll_event.
        unsafe { libc::epoll_ctl(st.mgr_epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }
}

/// Every copy of an end's client side is closed. With no call queued on
/// it, the reference is gone now; otherwise the pool thread that drains
/// the queue sees end-of-file last and reports it then.
fn end_hung_up(token: u64) {
    let Some((_, _, fd)) = door::lookup_token(token & !END_BIT) else {
        return;
    };
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD into an int, on a socket we hold.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut queued) };
    drop(fd);
    if queued == 0 {
        door::end_gone(token & !END_BIT);
    }
}

/// A watched client went away: cancel the thread serving it.
fn client_aborted(token: u64) {
    let fd = token as u32 as RawFd;
    let generation = ((token >> 32) & 0x7fff_ffff) as u32;
    let _ = door::with_proc(|st| {
        if let Some(&(g, thread, no_cancel)) = st.inflight.get(&fd)
            && g == generation
        {
            st.inflight.remove(&fd);
            let mut ev = libc::epoll_event { events: 0, u64: 0 };
            // SAFETY: valid epoll_event.
            unsafe { libc::epoll_ctl(st.mgr_epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
            if !no_cancel {
                // SAFETY: the thread is alive: it unregisters (under this
                // lock) before it can finish the call or exit.
                unsafe { libc::pthread_cancel(thread) };
            }
        }
        Ok(())
    });
}

enum Event {
    Accept(ConnKind),
    Serve(ConnKind, Option<(Arc<OwnedFd>, u32)>),
    Nothing,
}

extern "C" fn manager_main(arg: *mut libc::c_void) -> *mut libc::c_void {
    let ep = arg as usize as RawFd;
    // SAFETY: blocking every signal in this thread only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let Some((pid, nonce)) = door::identity() else {
        return std::ptr::null_mut();
    };
    crate::server::started_daemon();
    loop {
        if !crate::fdown::owned(ep) {
            // The application closed our descriptors (closefrom and the
            // like): this manager's process state is retired.
            return std::ptr::null_mut();
        }
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 16];
        // SAFETY: evs is writable for 16 events.
        // Wakes up once a second when idle, to end the process if only the
        // library's daemon threads are left (illumos does not keep a
        // process alive for them).
        let n = unsafe { libc::epoll_wait(ep, evs.as_mut_ptr(), 16, 1000) };
        if n < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            return std::ptr::null_mut();
        }
        if n == 0 {
            crate::server::exit_if_only_daemons();
            continue;
        }
        for ev in &evs[..n as usize] {
            if ev.u64 & CALL_BIT != 0 {
                client_aborted(ev.u64);
            } else if ev.u64 & CHAN_BIT != 0 {
                crate::fast::chan_gone(ev.u64 as u32);
            } else if ev.u64 & END_BIT != 0 {
                end_hung_up(ev.u64);
            } else {
                handle(ep, ev.u64 as RawFd, pid, nonce);
            }
        }
    }
}

fn handle(ep: RawFd, fd: RawFd, pid: i32, nonce: u64) {
    let what = door::with_proc(|st| {
        Ok(if fd == st.ctl_fd {
            Event::Accept(ConnKind::Query)
        } else if st.atts.contains_key(&fd) {
            Event::Accept(ConnKind::Rendezvous { listener: fd })
        } else if let Some(kind) = st.conns.remove(&fd) {
            let att = match kind {
                ConnKind::Rendezvous { listener } => {
                    st.atts.get(&listener).map(|a| (a.door.clone(), a.key.uid))
                }
                ConnKind::Query => None,
            };
            Event::Serve(kind, att)
        } else {
            Event::Nothing
        })
    })
    .unwrap_or(Event::Nothing);
    match what {
        Event::Accept(kind) => {
            // SAFETY: accept4 with no address output.
            let c = unsafe {
                libc::accept4(
                    fd,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                )
            };
            if c < 0 {
                return;
            }
            let c = sys::own(c).keep();
            let _ = door::with_proc(|st| {
                if st.conns.len() >= MAX_CONNS || epoll_add(ep, c).is_err() {
                    sys::close_own(c);
                } else {
                    st.conns.insert(c, kind);
                    st.owned.push(c);
                }
                Ok(())
            });
        }
        Event::Serve(kind, att) => {
            match (kind, att) {
                (ConnKind::Query, _) => serve_query(fd, pid, nonce),
                (ConnKind::Rendezvous { listener }, Some((door_fd, uid))) => {
                    naming::serve(fd, door_fd.as_raw_fd(), uid, || detach(listener));
                }
                (ConnKind::Rendezvous { .. }, None) => {}
            }
            let _ = door::with_proc(|st| {
                st.owned.retain(|&o| o != fd);
                Ok(())
            });
            sys::close_own(fd);
        }
        Event::Nothing => {}
    }
}

/// Ends an attachment: its listener and its reference to the door close.
fn detach(listener: RawFd) {
    let gone = door::with_proc(|st| {
        Ok(st.atts.remove(&listener).inspect(|a| {
            let covered = a._covered.as_ref().map_or(-1, |c| c.as_raw_fd());
            st.owned
                .retain(|&o| o != listener && o != a.door.as_raw_fd() && o != covered);
        }))
    });
    drop(gone);
}

fn serve_query(c: RawFd, pid: i32, nonce: u64) {
    let mut hdr = Hdr::default();
    let mut iov = [libc::iovec {
        iov_base: (&mut hdr as *mut Hdr).cast(),
        iov_len: HDR_LEN,
    }];
    let Ok(mut r) = sys::recv_fds(c, &mut iov, libc::MSG_DONTWAIT, true) else {
        return;
    };
    let mut reply = QueryReply {
        hdr: Hdr::new(wire::K_QUERY_REPLY, libc::EBADF as u32, 0, 0),
        ..Default::default()
    };
    let clone = hdr.kind == wire::K_CLONE;
    let chan = hdr.kind == wire::K_CHAN;
    let valid = r.len == HDR_LEN
        && !r.truncated
        && r.fds.len() == if chan { 3 } else { 1 }
        && hdr.magic == wire::MAGIC
        && (hdr.kind == wire::K_QUERY || clone || chan);
    let mut give: Option<OwnedFd> = None;
    // The asker must hold a descriptor of this very door.
    if valid
        && let Ok(id) = crate::client::identify_socket(r.fds[0])
        && id.name.pid == pid
        && id.name.nonce == nonce
        && id.name.id == hdr.aux
    {
        reply.hdr.status = 0;
        reply.target = pid;
        let p = match door::lookup(hdr.aux) {
            Some(d) => {
                if clone {
                    match door::with_proc(|st| door::new_end(st, &d)) {
                        Ok(c) => give = Some(c),
                        Err(e) => reply.hdr.status = e as u32,
                    }
                }
                if chan {
                    match chan_request(c, &d, &mut r.fds, hdr.size) {
                        Ok(id) => reply.hdr.aux = id as u64,
                        Err(e) => reply.hdr.status = e as u32,
                    }
                }
                door::settle(&d);
                reply.attrs = d.info(pid).di_attributes;
                d.params()
            }
            None => {
                reply.attrs = (id.name.attrs & DOOR_ATTR_MASK) | DOOR_REVOKED;
                if clone || chan {
                    reply.hdr.status = libc::EBADF as u32;
                }
                door::revoked_params(hdr.aux).unwrap_or(door::Params {
                    data_min: 0,
                    data_max: usize::MAX,
                    desc_max: if id.name.attrs & DOOR_REFUSE_DESC != 0 {
                        0
                    } else {
                        i32::MAX as usize
                    },
                })
            }
        };
        reply.data_min = p.data_min as u64;
        reply.data_max = p.data_max as u64;
        reply.desc_max = p.desc_max as u64;
    }
    r.close_fds();
    let iov = [libc::iovec {
        iov_base: (&reply as *const QueryReply) as *mut _,
        iov_len: size_of::<QueryReply>(),
    }];
    let give: Vec<RawFd> = give.iter().map(|f| f.as_raw_fd()).collect();
    let _ = sys::send_fds(c, &iov, &give, true);
}

/// A client asks for a fast-path channel: `fds` are [door, channel memory,
/// channel socket]. The caller's credentials are those of the connection
/// (kernel-attested when it connected), read ids from /proc.
fn chan_request(c: RawFd, d: &Arc<door::Door>, fds: &mut Vec<RawFd>, cap: u64) -> R<u32> {
    if !crate::fast::enabled() || cap > crate::fast::CAP_MAX as u64 {
        return Err(libc::ENOTSUP);
    }
    let pc = sys::peer_cred(c)?;
    let real = crate::ucred::proc_creds(pc.pid).ok();
    let caller = crate::server::Caller {
        pid: pc.pid,
        euid: pc.uid,
        egid: pc.gid,
        ruid: real.as_ref().map_or(pc.uid, |r| r.uid[0]),
        rgid: real.as_ref().map_or(pc.gid, |r| r.gid[0]),
    };
    if sys::sock_type(fds[2]) != Ok(libc::SOCK_SEQPACKET) {
        return Err(libc::EINVAL);
    }
    let sock = sys::own(fds.remove(2));
    let mem = sys::own(fds.remove(1));
    crate::fast::setup(d, mem, sock, caller, cap as usize)
}

/// Epoll tokens of fast-path channel sockets carry this bit.
const CHAN_BIT: u64 = 1 << 61;

/// The manager watches a channel's socket: when the client is gone, the
/// channel goes (fast::chan_gone).
pub fn watch_chan(fd: RawFd, id: u32) {
    let _ = door::with_proc(|st| {
        if st.mgr_epfd >= 0 {
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLONESHOT) as u32,
                u64: CHAN_BIT | id as u64,
            };
            // SAFETY: valid epoll_event.
            unsafe { libc::epoll_ctl(st.mgr_epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) };
            st.owned.push(fd);
        }
        Ok(())
    });
}

pub fn unwatch_chan(fd: RawFd) {
    let _ = door::with_proc(|st| {
        st.owned.retain(|&o| o != fd);
        unwatch_end(st, fd);
        Ok(())
    });
}

/// Waits (bounded by the socket's timeout) until the other side has closed
/// the connection, so that when a request returns, the server holds no
/// descriptor for it any more (a caller counting descriptors sees none).
pub fn wait_closed(s: RawFd) {
    let mut b = [0u8; 16];
    // SAFETY: b is a writable buffer.
    while unsafe { libc::recv(s, b.as_mut_ptr().cast(), b.len(), 0) } > 0 {}
}

/// Asks the server of `name` about the door `fd`. ECONNREFUSED when the
/// server image no longer exists.
pub fn query(fd: RawFd, name: &DoorName) -> R<QueryReply> {
    request(fd, name, wire::K_QUERY).map(|(q, _)| q)
}

/// Asks the server of `name` for a new end of the door `fd` (a reference
/// of the caller's own; see KNOWN_DIFFERENCES.md, "Unreferenced").
pub fn clone_end(fd: RawFd, name: &DoorName) -> R<OwnedFd> {
    let (_, end) = request(fd, name, wire::K_CLONE)?;
    end.ok_or(libc::EPROTO)
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

fn request_with(
    fds: &[RawFd],
    name: &DoorName,
    kind: u32,
    size: u64,
) -> R<(QueryReply, Option<OwnedFd>)> {
    // SAFETY: plain socket creation.
    let s = sys::own(sys::cvt(unsafe {
        libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0)
    })?);
    for opt in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
        sys::set_timeo(s.as_raw_fd(), opt, 5);
    }
    let (addr, len) = sys::abstract_addr(&wire::ctl_name(name.pid, name.nonce));
    sys::retry(|| {
        // SAFETY: addr is a valid sockaddr_un of length len.
        sys::cvt(unsafe {
            libc::connect(
                s.as_raw_fd(),
                &addr as *const _ as *const libc::sockaddr,
                len,
            )
        })
    })?;
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
    sys::send_fds(s.as_raw_fd(), &iov, fds, true)?;
    let mut q = QueryReply::default();
    let mut iov = [libc::iovec {
        iov_base: (&mut q as *mut QueryReply).cast(),
        iov_len: size_of::<QueryReply>(),
    }];
    let mut r = sys::recv_fds(s.as_raw_fd(), &mut iov, libc::MSG_CMSG_CLOEXEC, true)?;
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
    let end = r.fds.pop().map(sys::own);
    wait_closed(s.as_raw_fd());
    Ok((q, end))
}

use std::mem::size_of;
