//! The control socket of a door server process and its manager thread.
//!
//! Every process image that creates a door listens on an abstract
//! SOCK_SEQPACKET name `ldoor1c:<pid>:<nonce>` (close-on-exec, so it
//! vanishes at exit and at exec). A client that needs the live state of a
//! door served elsewhere (`door_info`, `door_getparam`) connects, proves it
//! holds the door by passing its descriptor, and gets the answer from the
//! manager thread, which never runs user code and so answers even when
//! every server thread is busy. "Connection refused" means the server
//! image is gone: `di_target == -1`.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;

use crate::abi::*;
use crate::door::{self, Proc};
use crate::sys::{self, R};
use crate::wire::{self, DoorName, Hdr, QueryReply, HDR_LEN};

const MAX_CONNS: usize = 256;

/// Starts the control socket and manager thread of this process image
/// (called with the process state held, on its first door).
pub fn ensure_started(st: &mut Proc) -> R<()> {
    if st.ctl_started {
        return Ok(());
    }
    // SAFETY: plain socket creation.
    let s = sys::cvt(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })?;
    let s = sys::own(s);
    sys::bind_abstract(s.as_raw_fd(), &wire::ctl_name(st.pid, st.nonce))?;
    // SAFETY: listen on our own socket.
    sys::cvt(unsafe { libc::listen(s.as_raw_fd(), 64) })?;
    // SAFETY: epoll_create1 has no pointer arguments.
    let ep = sys::own(sys::cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?);
    let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: s.as_raw_fd() as u64 };
    // SAFETY: valid epoll_event.
    sys::cvt(unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) })?;
    st.owned.push(s.as_raw_fd());
    st.owned.push(ep.as_raw_fd());
    let boxed = Box::into_raw(Box::new((s, ep, st.pid, st.nonce)));
    if !crate::server::spawn_detached(manager_main, boxed.cast()) {
        // SAFETY: the thread did not start; we still own the box.
        drop(unsafe { Box::from_raw(boxed) });
        return Err(libc::EAGAIN);
    }
    st.ctl_started = true;
    Ok(())
}

extern "C" fn manager_main(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: ensure_started passed ownership of this box.
    let (listener, ep, pid, nonce) = *unsafe { Box::from_raw(arg as *mut (OwnedFd, OwnedFd, i32, u64)) };
    // SAFETY: blocking every signal in this thread only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let lfd = listener.as_raw_fd();
    let mut conns: Vec<RawFd> = Vec::new();
    loop {
        if sys::getpid() != pid {
            break; // cannot happen (threads do not survive fork), but be safe
        }
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 16];
        // SAFETY: evs is writable for 16 events.
        let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), evs.as_mut_ptr(), 16, -1) };
        if n < 0 {
            continue;
        }
        for ev in &evs[..n as usize] {
            let fd = ev.u64 as RawFd;
            if fd == lfd {
                // SAFETY: accept4 with no address output.
                let c = unsafe {
                    libc::accept4(lfd, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
                };
                if c < 0 {
                    continue;
                }
                if conns.len() >= MAX_CONNS {
                    let old = conns.remove(0);
                    let _ = sys::close(old);
                }
                let mut e = libc::epoll_event { events: libc::EPOLLIN as u32, u64: c as u64 };
                // SAFETY: valid epoll_event.
                unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, c, &mut e) };
                conns.push(c);
            } else if conns.contains(&fd) {
                serve_query(fd, pid, nonce);
                conns.retain(|&c| c != fd);
                let _ = sys::close(fd);
            }
        }
    }
    std::ptr::null_mut()
}

fn serve_query(c: RawFd, pid: i32, nonce: u64) {
    let mut hdr = Hdr::default();
    let mut iov = [libc::iovec { iov_base: (&mut hdr as *mut Hdr).cast(), iov_len: HDR_LEN }];
    let Ok(mut r) = sys::recv_fds(c, &mut iov, libc::MSG_DONTWAIT, true) else { return };
    let mut reply = QueryReply { hdr: Hdr::new(wire::K_QUERY_REPLY, libc::EBADF as u32, 0, 0), ..Default::default() };
    let valid = r.len == HDR_LEN && !r.truncated && r.fds.len() == 1 && hdr.check(wire::K_QUERY, 0).is_ok();
    if valid {
        // The asker must hold a descriptor of this very door.
        if let Ok(id) = crate::client::identify(r.fds[0]) {
            if id.name.pid == pid && id.name.nonce == nonce && id.name.id == hdr.aux {
                match door::lookup(hdr.aux) {
                    Some(d) => {
                        let info = d.info(pid);
                        let p = d.params();
                        reply.hdr.status = 0;
                        reply.attrs = info.di_attributes;
                        reply.target = pid;
                        reply.data_min = p.data_min as u64;
                        reply.data_max = p.data_max as u64;
                        reply.desc_max = p.desc_max as u64;
                        let _ = d.active.load(Ordering::Relaxed);
                    }
                    None => {
                        // Revoked: still ours, still alive.
                        reply.hdr.status = 0;
                        reply.attrs = (id.name.attrs & DOOR_ATTR_MASK) | DOOR_REVOKED;
                        reply.target = pid;
                        reply.desc_max = u64::MAX;
                    }
                }
            }
        }
    }
    r.close_fds();
    let iov = [libc::iovec { iov_base: (&reply as *const QueryReply) as *mut _, iov_len: size_of::<QueryReply>() }];
    let _ = sys::send_fds(c, &iov, &[], true);
}

/// Asks the server of `name` about the door `fd`. ECONNREFUSED when the
/// server image no longer exists.
pub fn query(fd: RawFd, name: &DoorName) -> R<QueryReply> {
    // SAFETY: plain socket creation.
    let s = sys::own(sys::cvt(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) })?);
    let tv = libc::timeval { tv_sec: 5, tv_usec: 0 };
    for opt in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
        // SAFETY: tv is a readable timeval.
        unsafe {
            libc::setsockopt(s.as_raw_fd(), libc::SOL_SOCKET, opt, (&tv as *const libc::timeval).cast(), size_of::<libc::timeval>() as u32)
        };
    }
    let (addr, len) = sys::abstract_addr(&wire::ctl_name(name.pid, name.nonce));
    // SAFETY: addr is a valid sockaddr_un of length len.
    sys::retry(|| sys::cvt(unsafe { libc::connect(s.as_raw_fd(), &addr as *const _ as *const libc::sockaddr, len) }))?;
    // Anyone could have bound that name after the server died: believe it
    // only if the kernel says the listener is the door's server process.
    if sys::peer_cred(s.as_raw_fd())?.pid != name.pid {
        return Err(libc::ECONNREFUSED);
    }
    let mut hdr = Hdr::new(wire::K_QUERY, 0, 0, 0);
    hdr.aux = name.id;
    let iov = [libc::iovec { iov_base: (&hdr as *const Hdr) as *mut _, iov_len: HDR_LEN }];
    sys::send_fds(s.as_raw_fd(), &iov, &[fd], true)?;
    let mut q = QueryReply::default();
    let mut iov = [libc::iovec { iov_base: (&mut q as *mut QueryReply).cast(), iov_len: size_of::<QueryReply>() }];
    let mut r = sys::recv_fds(s.as_raw_fd(), &mut iov, 0, true)?;
    r.close_fds();
    if r.len != size_of::<QueryReply>() || q.hdr.check(wire::K_QUERY_REPLY, 0).is_err() {
        return Err(libc::EPROTO);
    }
    if q.hdr.status != 0 {
        return Err(q.hdr.status as i32);
    }
    Ok(q)
}

use std::mem::size_of;
