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
//!
//! Nothing a peer does can stall the manager or starve other users: it
//! only reads with MSG_DONTWAIT and writes on non-blocking sockets; a
//! connection that has not sent its request within `CONN_DEADLINE_MS` of
//! being accepted is closed; and connections of other users are capped
//! per uid (`PER_UID`) and in all (`MAX_FOREIGN`), so that its own uid and
//! root always find room. Clients, in turn, wait for a manager or a
//! rendezvous at most `ANSWER_MS`, and a caught signal ends the wait
//! (their side of the protocol is `request.rs`).

use crate::sys::OwnedFd;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use super::door::{self, Attachment, CALL_BIT, CHAN_BIT, Conn, ConnKind, END_BIT, Proc};
use super::wire::{self, HDR_LEN, Hdr, QueryReply};
use crate::abi::*;
use crate::backend::rendezvous::{self, FileKey, listen_on};
use crate::sys::{self, R};

/// Connections the manager holds at once, in all.
const MAX_CONNS: usize = 256;
/// ... of which other users' (neither this process's euid nor root).
const MAX_FOREIGN: usize = 192;
/// ... and of one other user.
const PER_UID: usize = 8;
/// A connection must have sent its request this soon after its accept.
const CONN_DEADLINE_MS: u64 = 1000;
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
    if !super::threads::spawn_daemon(manager_main, ep as usize as *mut libc::c_void) {
        return Err(libc::EAGAIN);
    }
    st.ctl_started = true;
    Ok(())
}

/// Registers an attachment (naming::fattach): the manager serves
/// `listener` (bound to `name`) from now on.
pub fn attach(
    st: &mut Proc,
    key: &FileKey,
    door: OwnedFd,
    covered: OwnedFd,
    listener: OwnedFd,
    name: Vec<u8>,
) -> R<()> {
    if attached_here(st, key) {
        return Err(libc::EBUSY); // another thread of ours won the race
    }
    epoll_add(st.mgr_epfd, listener.as_raw_fd())?;
    st.owned.push(listener.as_raw_fd());
    st.owned.push(door.as_raw_fd());
    st.owned.push(covered.as_raw_fd());
    st.atts.insert(
        listener.as_raw_fd(),
        Attachment {
            _listener: listener,
            covered,
            door: Arc::new(door),
            key: *key,
            name,
        },
    );
    Ok(())
}

/// Moves this process's attachment of the file `key` to `listener`
/// (bound to `name`); the old listener closes.
pub fn relisten(key: &FileKey, listener: OwnedFd, name: Vec<u8>) -> R<()> {
    let old = door::with_proc(|st| {
        let l = st
            .atts
            .iter()
            .find(|(_, a)| a.key.same_file(key))
            .map(|(&l, _)| l)
            .ok_or(libc::EINVAL)?;
        epoll_add(st.mgr_epfd, listener.as_raw_fd())?;
        let Some(mut a) = st.atts.remove(&l) else {
            return Err(libc::EINVAL);
        };
        let new = listener.as_raw_fd();
        st.owned.retain(|&o| o != l);
        st.owned.push(new);
        let old = std::mem::replace(&mut a._listener, listener);
        a.name = name;
        st.atts.insert(new, a);
        Ok(old)
    })?;
    drop(old);
    Ok(())
}

/// Does this process serve an attachment of the file `key`?
pub fn attached_here(st: &Proc, key: &FileKey) -> bool {
    st.atts.values().any(|a| a.key.same_file(key))
}

/// Detaches this process's attachment of the file `key`, if any.
pub fn detach_key(key: &FileKey) -> bool {
    let l = door::with_proc(|st| {
        Ok(st
            .atts
            .iter()
            .find(|(_, a)| a.key.same_file(key))
            .map(|(&l, _)| l))
    });
    match l {
        Ok(Some(l)) => {
            detach(l);
            true
        }
        _ => false,
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
        super::ends::end_gone(token & !END_BIT);
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
    Serve(ConnKind, Option<(Arc<OwnedFd>, FileKey)>),
    Nothing,
}

/// How many connections the manager holds (`Proc::conns.len()`, kept
/// here so that an idle manager need not take the process lock to know
/// there are none).
static CONNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn set_conns(st: &Proc) {
    CONNS.store(st.conns.len(), std::sync::atomic::Ordering::Relaxed);
}

/// Closes the connections whose deadline has passed; returns how many
/// milliseconds until the next deadline (at most `max_ms`). Allocates
/// nothing.
fn expire_conns(now: u64, max_ms: i32) -> i32 {
    if CONNS.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        return max_ms;
    }
    door::with_proc(|st| {
        let Proc { conns, owned, .. } = st;
        let mut next = u64::MAX;
        conns.retain(|&fd, c| {
            if c.deadline <= now {
                owned.retain(|&o| o != fd);
                sys::close_own(fd);
                false
            } else {
                next = next.min(c.deadline);
                true
            }
        });
        CONNS.store(conns.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(if next == u64::MAX {
            max_ms
        } else {
            (((next - now) / 1_000_000) as i32 + 1).min(max_ms)
        })
    })
    .unwrap_or(max_ms)
}

/// May one more connection of `uid` be held? This process's own euid and
/// root only meet the overall cap; other users meet their own caps first,
/// so they can never take the room the owner and root need.
fn admit(st: &Proc, uid: u32) -> bool {
    if st.conns.len() >= MAX_CONNS {
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if uid == 0 || uid == me {
        return true;
    }
    let (mut foreign, mut same) = (0, 0);
    for c in st.conns.values() {
        if c.uid != 0 && c.uid != me {
            foreign += 1;
            same += usize::from(c.uid == uid);
        }
    }
    foreign < MAX_FOREIGN && same < PER_UID
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
    super::threads::started_daemon();
    loop {
        if !crate::sys::fdown::owned(ep) {
            // The application closed our descriptors (closefrom and the
            // like): this manager's process state is retired.
            return std::ptr::null_mut();
        }
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 16];
        // Wakes up once a second when idle, to end the process if only the
        // library's daemon threads are left (illumos does not keep a
        // process alive for them), and at the next connection deadline.
        let wait_ms = expire_conns(sys::now_ns(), 1000);
        // SAFETY: evs is writable for 16 events.
        let n = unsafe { libc::epoll_wait(ep, evs.as_mut_ptr(), 16, wait_ms) };
        if n < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            return std::ptr::null_mut();
        }
        if n == 0 {
            if wait_ms >= 1000 {
                super::threads::exit_if_only_daemons();
            }
            continue;
        }
        for ev in &evs[..n as usize] {
            if ev.u64 & CALL_BIT != 0 {
                client_aborted(ev.u64);
            } else if ev.u64 & CHAN_BIT != 0 {
                super::fast::chan_gone(ev.u64 as u32);
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
        } else if let Some(c) = st.conns.remove(&fd) {
            set_conns(st);
            let att = match c.kind {
                ConnKind::Rendezvous { listener } => {
                    st.atts.get(&listener).map(|a| (a.door.clone(), a.key))
                }
                ConnKind::Query => None,
            };
            Event::Serve(c.kind, att)
        } else {
            Event::Nothing
        })
    })
    .unwrap_or(Event::Nothing);
    match what {
        Event::Accept(kind) => {
            let Some((c, pc)) = sys::accept_peer(fd) else {
                return;
            };
            let c = c.keep();
            let deadline = sys::now_ns() + CONN_DEADLINE_MS * 1_000_000;
            let _ = door::with_proc(|st| {
                if !admit(st, pc.uid) || epoll_add(ep, c).is_err() {
                    sys::close_own(c);
                } else {
                    let conn = Conn {
                        kind,
                        uid: pc.uid,
                        deadline,
                    };
                    st.conns.insert(c, conn);
                    st.owned.push(c);
                    set_conns(st);
                }
                Ok(())
            });
        }
        Event::Serve(kind, att) => {
            match (kind, att) {
                (ConnKind::Query, _) => serve_query(fd, pid, nonce),
                (ConnKind::Rendezvous { listener }, Some((door_fd, key))) => {
                    // For a door served here: an end of the opener's own,
                    // and the procedure and cookie (the opener holds it).
                    let opener_end = |uid: u32| {
                        let id = super::ident::identify_socket(door_fd.as_raw_fd()).ok();
                        let d = id.and_then(|id| door::lookup(id.name.id).filter(|_| id.local));
                        let Some(d) = d else {
                            return (None, None);
                        };
                        let end = door::with_proc(|st| door::new_opener_end(st, &d, uid)).ok();
                        (end, Some((d.proc_ as u64, d.cookie as u64)))
                    };
                    rendezvous::serve(fd, door_fd.as_raw_fd(), &key, opener_end, || {
                        detach(listener)
                    });
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

/// Ends an attachment: its listener and its reference to the door close,
/// and its name is taken off the covered file.
fn detach(listener: RawFd) {
    let gone = door::with_proc(|st| {
        Ok(st.atts.remove(&listener).inspect(|a| {
            let covered = a.covered.as_raw_fd();
            st.owned
                .retain(|&o| o != listener && o != a.door.as_raw_fd() && o != covered);
        }))
    });
    if let Ok(Some(a)) = &gone {
        rendezvous::unpublish(a.covered.as_raw_fd(), &a.name);
    }
    drop(gone);
}

fn serve_query(c: RawFd, pid: i32, nonce: u64) {
    let mut hdr = Hdr::default();
    let mut iov = [libc::iovec {
        iov_base: (&mut hdr as *mut Hdr).cast(),
        iov_len: HDR_LEN,
    }];
    let Ok(mut r) = sys::recv_fds(
        c,
        &mut iov,
        libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC,
        false,
    ) else {
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
        && let Ok(id) = super::ident::identify_socket(r.fds[0])
        && id.name.pid == pid
        && id.name.nonce == nonce
        && id.name.id == hdr.aux
    {
        reply.hdr.status = 0;
        reply.target = pid;
        let p = match door::lookup(hdr.aux) {
            Some(d) => {
                if clone {
                    // Counted against the asker's uid (door::ENDS_PER_UID).
                    let uid = sys::peer_cred(c).map_or(u32::MAX - 1, |pc| pc.uid);
                    match door::with_proc(|st| door::new_end_for(st, &d, uid)) {
                        Ok(c) => give = Some(c),
                        Err(e) => reply.hdr.status = e as u32,
                    }
                }
                if chan {
                    match chan_request(c, &d, id.name.clone, &mut r.fds, hdr.size) {
                        Ok(id) => reply.hdr.aux = id as u64,
                        Err(e) => reply.hdr.status = e as u32,
                    }
                }
                super::ends::settle(&d);
                let info = d.info(pid);
                reply.attrs = info.di_attributes;
                reply.proc_ = info.di_proc;
                reply.cookie = info.di_data;
                d.params()
            }
            None => {
                reply.attrs = (id.name.attrs & DOOR_ATTR_MASK) | DOOR_REVOKED;
                if clone || chan {
                    reply.hdr.status = libc::EBADF as u32;
                }
                let kept = door::revoked(hdr.aux);
                if let Some(k) = kept {
                    reply.proc_ = k.proc_;
                    reply.cookie = k.cookie;
                }
                kept.map(|k| k.params).unwrap_or(door::Params {
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
/// channel socket]. The caller's pid, euid and egid are those of the
/// connection (kernel-attested when it connected); its real and saved ids
/// are the two bytes it queued on the channel socket before asking
/// (`sys::creds::send_ids`, checked by the kernel when sent; the effective
/// ids stand in for any that are missing). Nothing is read from /proc, so
/// an exec racing the request cannot lend its ids. `end`: the clone number
/// of the door end the request came through (`fast::end_closed`).
fn chan_request(c: RawFd, d: &Arc<door::Door>, end: u32, fds: &mut Vec<RawFd>, cap: u64) -> R<u32> {
    if !super::fast::enabled() || cap > super::fast::CAP_MAX as u64 {
        return Err(libc::ENOTSUP);
    }
    let pc = sys::peer_cred(c)?;
    // The channel's socket must be one end of a pair whose other end the
    // requesting process holds: not a listener (always readable), not a
    // connection to a third party (our replies would go there).
    if sys::sock_type(fds[2]) != Ok(libc::SOCK_SEQPACKET)
        || sys::sock_listening(fds[2]) != Ok(false)
        || sys::peer_cred(fds[2]).map(|p| p.pid) != Ok(pc.pid)
    {
        return Err(libc::EINVAL);
    }
    let _ = sys::set_passcred(fds[2]);
    let real = crate::sys::creds::recv_ids(fds[2], pc.pid).unwrap_or((pc.uid, pc.gid));
    let saved = crate::sys::creds::recv_ids(fds[2], pc.pid).unwrap_or((pc.uid, pc.gid));
    let _ = sys::clear_passcred(fds[2]);
    let caller = door::Caller {
        pid: pc.pid,
        euid: pc.uid,
        egid: pc.gid,
        ruid: real.0,
        rgid: real.1,
        suid: saved.0,
        sgid: saved.1,
    };
    let sock = sys::own(fds.remove(2));
    let mem = sys::own(fds.remove(1));
    super::fast::setup(d, end, mem, sock, caller, cap as usize)
}
