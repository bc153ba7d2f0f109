//! Doors served by this process, their thread pools, and the per-process
//! state that a `fork` child must not inherit.
//!
//! A door is an AF_UNIX SOCK_SEQPACKET socket pair. The library keeps the
//! *server end*, bound to an abstract name that encodes the door
//! (`wire::DoorName`); the *client end* is the descriptor the user holds,
//! dups, passes and inherits. Calls arrive as messages on the server end
//! and are taken by the pool threads, which wait in `epoll_wait` on their
//! pool's epoll set.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::abi::*;
use crate::sys::{self, R};
use crate::wire::DoorName;

/// Request limits of a door (spec §4.10).
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub data_min: usize,
    pub data_max: usize,
    pub desc_max: usize,
}

/// Where idle server threads wait: the process-wide pool, or the private
/// pool of one DOOR_PRIVATE door.
pub struct Pool {
    pub epfd: OwnedFd,
    /// Threads parked in epoll_wait on this pool.
    pub idle: AtomicUsize,
    /// The private door's id, 0 for the shared pool.
    pub private_id: u64,
}

impl Pool {
    pub fn new(private_id: u64) -> R<Arc<Pool>> {
        // SAFETY: epoll_create1 has no pointer arguments.
        let fd = sys::cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Arc::new(Pool {
            epfd: sys::own(fd),
            idle: AtomicUsize::new(0),
            private_id,
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

/// Per-door state for `door_xcreate` doors (spec §4.2).
pub struct XCreate {
    pub crf: door_xcreate_server_func_t,
    pub setupf: Option<door_xcreate_thrsetup_func_t>,
    pub crcookie: usize,
}

/// A door served by this process.
pub struct Door {
    pub id: u64,
    pub proc_: usize,
    pub cookie: usize,
    /// Stored flags: creation attributes, REVOKED, and UNREF cleared once
    /// delivered.
    pub attrs: AtomicU32,
    pub params: Mutex<Params>,
    /// The server end; `None` once revoked. Threads clone the Arc only for
    /// the duration of one receive, so revoke closes it promptly.
    pub endpoint: Mutex<Option<Arc<OwnedFd>>>,
    pub pool: Arc<Pool>,
    /// Invocations in progress.
    pub active: AtomicU32,
    pub xcreate: Option<XCreate>,
    pub revoked: AtomicBool,
}

impl Door {
    pub fn name(&self, st: &Proc) -> DoorName {
        DoorName {
            id: self.id,
            pid: st.pid,
            nonce: st.nonce,
            proc_: self.proc_ as u64,
            cookie: self.cookie as u64,
            attrs: self.attrs.load(Ordering::Relaxed) & DOOR_CREATE_MASK,
        }
    }

    /// The `door_info_t` this process reports for its own door.
    pub fn info(&self, pid: i32) -> door_info_t {
        let mut a = self.attrs.load(Ordering::Acquire) & DOOR_ATTR_MASK;
        a |= DOOR_LOCAL;
        if self.revoked.load(Ordering::Acquire) {
            a |= DOOR_REVOKED;
        }
        door_info_t {
            di_target: pid,
            di_proc: self.proc_ as u64,
            di_data: self.cookie as u64,
            di_attributes: a,
            di_uniquifier: self.id,
            di_resv: [0; 4],
        }
    }

    pub fn params(&self) -> Params {
        *lock(&self.params)
    }

    pub fn endpoint(&self) -> Option<Arc<OwnedFd>> {
        lock(&self.endpoint).clone()
    }
}

/// State of this process image as a door server. Recreated in a fork
/// child (doors belong to the parent) and gone at exec (all our
/// descriptors are close-on-exec).
pub struct Proc {
    pub pid: i32,
    pub nonce: u64,
    pub doors: HashMap<u64, Arc<Door>>,
    pub shared: Arc<Pool>,
    /// The first non-private door has started the server-creation function.
    pub started: bool,
    /// The control socket and its manager thread (`control.rs`).
    pub ctl_started: bool,
    /// Every descriptor the state owns, closed at once in a fork child.
    pub owned: Vec<RawFd>,
    /// The manager thread's epoll set and control listener (-1 until started).
    pub mgr_epfd: RawFd,
    pub ctl_fd: RawFd,
    /// Connections the manager is serving.
    pub conns: HashMap<RawFd, crate::control::ConnKind>,
    /// fattach rendezvous listeners of this process, by listener descriptor.
    pub atts: HashMap<RawFd, crate::control::Attachment>,
    /// Calls in progress, by reply descriptor: (generation, serving thread,
    /// DOOR_NO_CANCEL). The manager cancels the thread if the client aborts.
    pub inflight: HashMap<RawFd, (u32, libc::pthread_t, bool)>,
    pub inflight_gen: u32,
    /// Next door id: increasing within a process image, from a random start.
    pub next_id: u64,
    /// Parameters of the most recently revoked doors, so door_getparam
    /// still answers for them (bounded: REVOKED_KEPT).
    pub revoked: std::collections::VecDeque<(u64, Params)>,
}

/// How many revoked doors keep their parameters for door_getparam.
pub const REVOKED_KEPT: usize = 4096;

/// Parameters of a door this process revoked (recently).
pub fn revoked_params(id: u64) -> Option<Params> {
    lock(&STATE)
        .as_ref()
        .and_then(|p| p.revoked.iter().find(|(i, _)| *i == id).map(|(_, p)| *p))
}

static STATE: Mutex<Option<Proc>> = Mutex::new(None);

/// Locks a mutex, ignoring poisoning (we never unwind: panic = abort).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A random 64-bit value from the kernel.
pub fn random_u64() -> u64 {
    let mut v = 0u64;
    loop {
        // SAFETY: v is 8 writable bytes.
        let r = unsafe { libc::getrandom((&mut v as *mut u64).cast(), 8, 0) };
        if r == 8 && v != 0 {
            return v;
        }
    }
}

static ATFORK: OnceLock<()> = OnceLock::new();

thread_local! {
    static FORK_GUARD: std::cell::RefCell<Option<MutexGuard<'static, Option<Proc>>>> =
        const { std::cell::RefCell::new(None) };
}

extern "C" fn atfork_prepare() {
    let g = lock(&STATE);
    FORK_GUARD.with(|f| *f.borrow_mut() = Some(g));
}

extern "C" fn atfork_parent() {
    FORK_GUARD.with(|f| drop(f.borrow_mut().take()));
}

extern "C" fn atfork_child() {
    FORK_GUARD.with(|f| {
        if let Some(mut g) = f.borrow_mut().take()
            && let Some(old) = g.take()
        {
            // The parent's doors are not ours: close our copies of the
            // server ends, pools and control socket now, so that the
            // parent's revoke or death is seen by its clients even while
            // this child lives. The Arcs are forgotten, not dropped, so
            // the numbers are never closed twice.
            for &fd in &old.owned {
                let _ = sys::close(fd);
            }
            std::mem::forget(old);
        }
    });
    crate::server::after_fork_child();
    crate::client::after_fork_child();
}

/// Registers the fork handlers once per process.
pub fn init_atfork() {
    ATFORK.get_or_init(|| {
        // SAFETY: the handlers are plain extern "C" functions.
        unsafe {
            libc::pthread_atfork(
                Some(atfork_prepare),
                Some(atfork_parent),
                Some(atfork_child),
            )
        };
    });
}

/// Runs `f` with this process's server state, creating it on first use.
pub fn with_proc<T>(f: impl FnOnce(&mut Proc) -> R<T>) -> R<T> {
    init_atfork();
    let mut g = lock(&STATE);
    if g.is_none() {
        let shared = Pool::new(0)?;
        let epfd = shared.epfd.as_raw_fd();
        *g = Some(Proc {
            pid: sys::getpid(),
            nonce: random_u64(),
            doors: HashMap::new(),
            shared,
            started: false,
            ctl_started: false,
            owned: vec![epfd],
            mgr_epfd: -1,
            ctl_fd: -1,
            conns: HashMap::new(),
            atts: HashMap::new(),
            inflight: HashMap::new(),
            inflight_gen: 0,
            next_id: random_u64() >> 2,
            revoked: std::collections::VecDeque::new(),
        });
    }
    // SAFETY-free: just set above.
    match g.as_mut() {
        Some(p) => f(p),
        None => Err(libc::ENOMEM),
    }
}

/// This process's (pid, nonce), if it has ever created a door.
pub fn identity() -> Option<(i32, u64)> {
    lock(&STATE).as_ref().map(|p| (p.pid, p.nonce))
}

/// Looks up a door served by this process.
pub fn lookup(id: u64) -> Option<Arc<Door>> {
    lock(&STATE)
        .as_ref()
        .and_then(|p| p.doors.get(&id).cloned())
}

/// Is `name` a door created by this process image?
pub fn is_ours(name: &DoorName) -> bool {
    matches!(identity(), Some((pid, nonce)) if pid == name.pid && nonce == name.nonce)
}

/// Creates a door (spec §4.1); returns the new descriptor and the door.
pub fn create(
    proc_: usize,
    cookie: usize,
    attrs: u32,
    xcreate: Option<XCreate>,
) -> R<(RawFd, Arc<Door>, bool)> {
    with_proc(|st| {
        let (client, server) = sys::seqpacket_pair().map_err(map_fd_err)?;
        sys::set_passcred(server.as_raw_fd())?;
        let private = attrs & DOOR_PRIVATE != 0;
        let pool = if private {
            Pool::new(0).map_err(map_fd_err)?
        } else {
            st.shared.clone()
        };
        let desc_max = if attrs & DOOR_REFUSE_DESC != 0 {
            0
        } else {
            i32::MAX as usize
        };
        // Ids increase within a process from a random start; the name
        // (which contains the id) is bound system-wide, so a live collision
        // with another process's door is refused by bind and skipped.
        let door = loop {
            st.next_id += 1;
            let d = Door {
                id: st.next_id,
                proc_,
                cookie,
                attrs: AtomicU32::new(attrs),
                params: Mutex::new(Params {
                    data_min: 0,
                    data_max: usize::MAX,
                    desc_max,
                }),
                endpoint: Mutex::new(None),
                pool: pool.clone(),
                active: AtomicU32::new(0),
                xcreate: None,
                revoked: AtomicBool::new(false),
            };
            match sys::bind_abstract(server.as_raw_fd(), &d.name(st).encode()) {
                Ok(()) => break d,
                Err(libc::EADDRINUSE) => continue,
                Err(e) => return Err(e),
            }
        };
        let door = Arc::new(Door { xcreate, ..door });
        let sfd = server.as_raw_fd();
        pool.add(sfd, door.id)?;
        st.owned.push(sfd);
        if private {
            st.owned.push(pool.epfd.as_raw_fd());
        }
        *lock(&door.endpoint) = Some(Arc::new(server));
        st.doors.insert(door.id, door.clone());
        // The first non-private door of this process starts the pool.
        let first = !private && !st.started;
        if first {
            st.started = true;
        }
        // The user's descriptor: close-on-exec, as on illumos.
        let fd = std::os::fd::IntoRawFd::into_raw_fd(client);
        Ok((fd, door, first))
    })
}

/// EMFILE/ENFILE pass through; anything else from descriptor creation too.
fn map_fd_err(e: i32) -> i32 {
    e
}

/// Marks a door revoked and closes its server end (spec §4.8). Calls
/// queued on it fail with EBADF; invocations in progress finish.
pub fn revoke(door: &Arc<Door>) {
    door.revoked.store(true, Ordering::Release);
    door.attrs.fetch_or(DOOR_REVOKED, Ordering::AcqRel);
    let ep = lock(&door.endpoint).take();
    let mut g = lock(&STATE);
    if let Some(st) = g.as_mut() {
        if let Some(ep) = &ep {
            let fd = ep.as_raw_fd();
            door.pool.remove(fd);
            st.owned.retain(|&o| o != fd);
        }
        st.doors.remove(&door.id);
        if st.revoked.len() >= REVOKED_KEPT {
            st.revoked.pop_front();
        }
        st.revoked.push_back((door.id, door.params()));
    }
    drop(g);
    drop(ep); // closes the server end unless a receiver holds it this instant
}
