//! Where a door's server threads wait: the process-wide pool, or the
//! private pool of one DOOR_PRIVATE door. A pool is an epoll set holding
//! every end of every door it serves, and the fast path's server-private
//! board of which thread is parked on which channel (`PoolFast`; the
//! parking itself is `fast.rs`'s). Nothing here is ever in memory a client
//! can see.

use crate::sys::OwnedFd;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize};

use crate::sys::{self, R};

/// Where idle server threads wait: the process-wide pool, or the private
/// pool of one DOOR_PRIVATE door.
pub struct Pool {
    pub epfd: OwnedFd,
    /// Threads parked in epoll_wait on this pool.
    pub idle: AtomicUsize,
    /// The private door's id, 0 for the shared pool.
    pub private_id: u64,
    /// The pool's fast-path board and leader count (fast.rs).
    pub fast: PoolFast,
}

impl Pool {
    pub fn new(private_id: u64) -> R<Arc<Pool>> {
        // SAFETY: epoll_create1 has no pointer arguments.
        let fd = sys::cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Arc::new(Pool {
            epfd: sys::own(fd),
            idle: AtomicUsize::new(0),
            private_id,
            fast: Default::default(),
        }))
    }

    fn ctl(&self, op: i32, fd: RawFd, token: u64) -> R<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLONESHOT) as u32,
            u64: token,
        };
        // SAFETY: ev is a valid epoll_event.
        sys::cvt(unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), op, fd, &mut ev) }).map(|_| ())
    }
    pub fn add(&self, fd: RawFd, token: u64) -> R<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token)
    }
    pub fn rearm(&self, fd: RawFd, token: u64) -> R<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token)
    }
    pub fn remove(&self, fd: RawFd) {
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0);
    }
}

/// Server threads of one pool parked on channels at most.
pub const PARK_SLOTS: usize = 64;

/// One server thread parked on a channel, as the pool records it.
pub struct ParkSlot {
    /// The channel's id (0: slot free).
    pub chan: AtomicU32,
    /// The channel's client (effective uid, from the kernel at setup).
    pub uid: AtomicU32,
    /// The pool asks this thread to go and wait in epoll.
    pub promote: AtomicU32,
}

/// The fast-path part of a pool: which threads wait where. Server-private:
/// nothing here is ever in memory a client can see.
pub struct PoolFast {
    /// Threads waiting in epoll (the leader, and any beyond the parked).
    pub epoll_waiters: AtomicUsize,
    pub parked: [ParkSlot; PARK_SLOTS],
}

impl Default for PoolFast {
    fn default() -> Self {
        PoolFast {
            epoll_waiters: AtomicUsize::new(0),
            parked: [const {
                ParkSlot {
                    chan: AtomicU32::new(0),
                    uid: AtomicU32::new(0),
                    promote: AtomicU32::new(0),
                }
            }; PARK_SLOTS],
        }
    }
}
