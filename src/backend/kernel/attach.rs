//! fattach and fdetach for the kernel backend, over the rendezvous of
//! `backend/rendezvous.rs` (which says how a file names its door and how
//! an opener proves its right to it).
//!
//! The first fattach of a process starts its rendezvous thread, which
//! serves every attachment's listener and hands an opener who proves
//! access an open file of the door of its own (the module's OPEN, sent
//! with SCM_RIGHTS): the opener's descriptor then *is* the door, as after
//! `open()` of an attached path on illumos, and like an illumos opener
//! (who holds the door's vnode, not its file) it blocks the unref
//! notification while open and never fires one by its close. Each
//! attachment holds a duplicate of the door's descriptor, the one
//! reference namefs holds on illumos. The thread ends when the last
//! attachment is gone.
//!
//! A descriptor of a covered file becomes the door at its first door
//! operation (`on_door`) or, under the preload library, when it is opened
//! (`opened`).
//!
//! A fork child gets none of this: the descriptors of the parent's
//! attachments are closed in the child before user code runs (they would
//! keep the parent's doors referenced), and the child serves nothing.

use std::cell::UnsafeCell;
use std::os::fd::{AsRawFd, RawFd};

use crate::backend::rendezvous::{self as rdv, FileKey};
use crate::sys::{self, OwnedFd, R};

/// One attached file.
struct Att {
    listener: OwnedFd,
    /// An O_PATH descriptor of the covered file: while attached, its inode
    /// cannot be freed, so its number cannot be reused by a new file.
    covered: OwnedFd,
    /// The attachment's reference to the door.
    door: OwnedFd,
    key: FileKey,
    /// The rendezvous name (published on the covered file, or derived).
    name: Vec<u8>,
}

/// A connection accepted on an attachment's listener, waiting for its
/// one request.
struct Pending {
    conn: OwnedFd,
    listener: RawFd,
    uid: u32,
    /// `sys::now_ns()` past which it is closed unanswered.
    deadline: u64,
}

/// Connections waiting at once, in all, and of one user other than this
/// process's and root (so that no user can keep others out).
const MAX_PENDING: usize = 64;
const PER_UID: usize = 8;
/// A connection must have sent its request this soon after its accept.
const CONN_MS: u64 = 1000;

struct State {
    /// The process these attachments belong to (a fork child's inherited
    /// copy is emptied by `atfork_child`).
    pid: i32,
    atts: Vec<Att>,
    pending: Vec<Pending>,
    /// Wakes the rendezvous thread (an eventfd) when attachments change.
    wake: Option<OwnedFd>,
    running: bool,
    /// The rendezvous thread's id (gettid), while it runs.
    tid: i32,
    /// Bumped when a listener is taken away; `seen` is the value the
    /// thread last built its poll set under (it then holds no reference to
    /// a listener taken away before).
    generation: u64,
    seen: u64,
    /// Which rendezvous thread is the current one: bumped when the
    /// application closed the thread's wake-up descriptor (`recover`).
    epoch: u64,
    /// `fdown::lost_gen` when `recover` last looked.
    lost_seen: u64,
}

/// The state, under a pthread mutex that a fork takes first
/// (`pthread_atfork`), so that the child finds it consistent and unlocked.
struct Locked {
    lock: UnsafeCell<libc::pthread_mutex_t>,
    state: UnsafeCell<State>,
}

// SAFETY: `state` is only reached with `lock` held (`with`).
unsafe impl Sync for Locked {}

static LOCKED: Locked = Locked {
    lock: UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER),
    state: UnsafeCell::new(State {
        pid: 0,
        atts: Vec::new(),
        pending: Vec::new(),
        wake: None,
        running: false,
        tid: 0,
        generation: 0,
        seen: 0,
        epoch: 0,
        lost_seen: 0,
    }),
};

static ATFORK: std::sync::Once = std::sync::Once::new();

fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
    ATFORK.call_once(|| {
        // SAFETY: plain C function pointers with static lifetime.
        unsafe {
            libc::pthread_atfork(
                Some(atfork_prepare),
                Some(atfork_parent),
                Some(atfork_child),
            )
        };
    });
    // SAFETY: the mutex is static and initialised.
    unsafe { libc::pthread_mutex_lock(LOCKED.lock.get()) };
    struct Unlock;
    impl Drop for Unlock {
        fn drop(&mut self) {
            // SAFETY: locked just above by this thread.
            unsafe { libc::pthread_mutex_unlock(LOCKED.lock.get()) };
        }
    }
    let _u = Unlock;
    // SAFETY: the lock is held, so this is the only reference.
    let st = unsafe { &mut *LOCKED.state.get() };
    let pid = sys::getpid();
    if st.pid != pid {
        st.pid = pid;
    }
    recover(st);
    f(st)
}

/// The application closed descriptors of the library (`closefrom`,
/// `close_range`, a loop of `close`): their numbers may name its own
/// files now, so nothing here may use them again (state locked). Each
/// attachment that lost one of its descriptors is forgotten (the numbers
/// still ours are closed). If the wake-up descriptor went, the rendezvous
/// thread cannot be woken through it: it sleeps in `poll` on numbers that
/// are no longer ours, so it is abandoned (a new epoch; the next fattach
/// starts a new thread), woken by a connection to one of the names it
/// still listens on (its `poll` holds those sockets), and ends without
/// touching anything.
fn recover(st: &mut State) {
    let lost = sys::fdown::lost_gen();
    if lost == st.lost_seen {
        return;
    }
    st.lost_seen = lost;
    let ours = |f: &OwnedFd| sys::fdown::owned(f.as_raw_fd());
    let names: Vec<Vec<u8>> = st.atts.iter().map(|a| a.name.clone()).collect();
    let mut i = 0;
    while i < st.atts.len() {
        let a = &st.atts[i];
        if ours(&a.listener) && ours(&a.covered) && ours(&a.door) {
            i += 1;
            continue;
        }
        let a = st.atts.remove(i);
        if ours(&a.covered) {
            rdv::unpublish(a.covered.as_raw_fd(), &a.name);
        }
        drop(a); // closes only the numbers still ours
    }
    let atts = &st.atts;
    st.pending
        .retain(|p| ours(&p.conn) && atts.iter().any(|a| a.listener.as_raw_fd() == p.listener));
    if st.wake.as_ref().is_some_and(ours) {
        st.generation += 1;
        wake(st);
        return;
    }
    st.wake = None;
    if st.running {
        st.epoch += 1;
        st.running = false;
        st.tid = 0;
        for n in &names {
            if rdv::connect_until(n, &rdv::Deadline::after_ms(50)).is_ok() {
                break; // (the connection closes at once; its wake-up stays)
            }
        }
    }
}

extern "C" fn atfork_prepare() {
    // SAFETY: the mutex is static and initialised.
    unsafe { libc::pthread_mutex_lock(LOCKED.lock.get()) };
}

extern "C" fn atfork_parent() {
    // SAFETY: locked by atfork_prepare in this thread.
    unsafe { libc::pthread_mutex_unlock(LOCKED.lock.get()) };
}

extern "C" fn atfork_child() {
    // SAFETY: locked by atfork_prepare before the fork; the child has this
    // one thread, so nothing else reaches the state.
    let st = unsafe { &mut *LOCKED.state.get() };
    // Close the parent's descriptors here (close_own: only numbers that
    // are still the library's), so dropping the emptied records later
    // closes nothing twice.
    for a in &st.atts {
        for fd in [&a.listener, &a.covered, &a.door] {
            sys::close_own(fd.as_raw_fd());
        }
    }
    for p in &st.pending {
        sys::close_own(p.conn.as_raw_fd());
    }
    if let Some(w) = &st.wake {
        sys::close_own(w.as_raw_fd());
    }
    st.atts.clear();
    st.pending.clear();
    st.wake = None;
    st.running = false;
    st.tid = 0;
    st.pid = sys::getpid();
    // SAFETY: locked by atfork_prepare before the fork.
    unsafe { libc::pthread_mutex_unlock(LOCKED.lock.get()) };
}

/// Library threads this module runs now (0 or 1), for
/// `only_daemons_besides_me`.
pub fn threads() -> usize {
    with(|st| usize::from(st.running))
}

/// Takes a listener away (state locked): the thread is woken to drop it
/// from its poll set; `released` waits for that.
fn retire(st: &mut State) -> u64 {
    st.generation += 1;
    wake(st);
    st.generation
}

/// Waits (at most a second) until the rendezvous thread polls no listener
/// retired at or before `generation` (the name is then free to bind again, and
/// nobody can connect to it any more). The thread itself never waits.
fn released(generation: u64) {
    for _ in 0..10_000 {
        let done = with(|st| !st.running || st.seen >= generation || st.tid == sys::gettid());
        if done {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
}

fn wake(st: &State) {
    if let Some(w) = &st.wake {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes to our eventfd.
        unsafe { libc::write(w.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

/// Starts the rendezvous thread if it is not running (state locked).
fn ensure_thread(st: &mut State) -> R<()> {
    if st.running {
        return Ok(());
    }
    if st.wake.is_none() {
        // SAFETY: eventfd takes no pointers.
        let w = sys::cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        st.wake = Some(sys::own(w));
    }
    // The thread's epoch travels as its argument: it is the current
    // thread while the state's epoch is still this one.
    if !sys::threads::spawn_detached(rendezvous_main, st.epoch as usize as *mut libc::c_void) {
        return Err(libc::EAGAIN);
    }
    st.running = true;
    Ok(())
}

/// fattach (man/fattach.3c).
pub fn fattach(fd: RawFd, path: *const libc::c_char) -> R<()> {
    if !sys::fd_is_open(fd) {
        return Err(libc::EBADF);
    }
    if on_door(fd, || super::client::info(fd)).is_err() {
        return Err(libc::EINVAL); // neither a door nor a stream
    }
    let (_, k, covered) = rdv::target(path)?;
    if with(|st| attached_here(st, &k)) || rdv::busy_elsewhere(&covered, &k) {
        return Err(libc::EBUSY);
    }
    // The attachment's reference to the door, and our own copy of the
    // covered descriptor to publish the name through.
    let door = sys::dup_own(fd)?;
    let mine = sys::dup_own(covered.as_raw_fd())?;
    // A fresh random name, registered before it is published, so that of
    // two threads attaching the same file the loser (EBUSY) never
    // overwrites the winner's name.
    let rnd = rdv::random_name();
    let listener = rdv::listen_on(&rnd)?;
    with(|st| {
        if attached_here(st, &k) {
            return Err(libc::EBUSY);
        }
        ensure_thread(st)?;
        st.atts.push(Att {
            listener,
            covered,
            door,
            key: k,
            name: rnd.clone(),
        });
        wake(st);
        Ok(())
    })?;
    rdv::publish_attachment(
        &mine,
        &k,
        &rnd,
        || {
            detach_key(&k);
        },
        |l, name| relisten(&k, l, name),
    )
}

/// fdetach (man/fdetach.3c).
pub fn fdetach(path: *const libc::c_char) -> R<()> {
    rdv::fdetach(path, |k| with(|st| attached_here(st, k)), detach_key)
}

fn attached_here(st: &State, k: &FileKey) -> bool {
    st.atts.iter().any(|a| a.key.same_file(k))
}

/// Moves the attachment of `k` to `listener` (bound to `name`, the name
/// derived from the file, which could not carry the random one).
fn relisten(k: &FileKey, listener: OwnedFd, name: Vec<u8>) -> R<()> {
    let old = with(|st| -> R<u64> {
        let a = st
            .atts
            .iter_mut()
            .find(|a| a.key.same_file(k))
            .ok_or(libc::EINVAL)?;
        let old_fd = a.listener.as_raw_fd();
        drop(std::mem::replace(&mut a.listener, listener));
        a.name = name;
        st.pending.retain(|p| p.listener != old_fd);
        Ok(retire(st))
    })?;
    released(old);
    Ok(())
}

/// Ends this process's attachment of the file `k`, if any.
fn detach_key(k: &FileKey) -> bool {
    detach_where(|a| a.key.same_file(k))
}

/// Ends the attachment that matches: its listener, its reference to the
/// door and its name on the covered file go. Returns once the rendezvous
/// thread polls the listener no more (its name is free again).
fn detach_where(which: impl Fn(&Att) -> bool) -> bool {
    let gone = with(|st| {
        let i = st.atts.iter().position(&which)?;
        Some(take_attachment(st, i))
    });
    match gone {
        Some(generation) => {
            released(generation);
            true
        }
        None => false,
    }
}

/// Whether `uid` may have one more connection waiting.
fn admit(st: &State, uid: u32) -> bool {
    if st.pending.len() >= MAX_PENDING {
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    uid == 0 || uid == me || st.pending.iter().filter(|p| p.uid == uid).count() < PER_UID
}

extern "C" fn rendezvous_main(arg: *mut libc::c_void) -> *mut libc::c_void {
    let epoch = arg as usize as u64;
    // SAFETY: blocks every signal in this thread only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let me = sys::getpid();
    with(|st| {
        if st.epoch == epoch {
            st.tid = sys::gettid();
        }
    });
    loop {
        // What to wait for: the wake-up, each listener, each connection.
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut timeout = -1;
        let go_on = with(|st| {
            if st.epoch != epoch {
                return false; // abandoned by `recover`: nothing here is ours
            }
            if st.pid != me || (st.atts.is_empty() && st.pending.is_empty()) {
                st.running = false;
                st.tid = 0;
                st.wake = None; // no descriptor left behind
                return false;
            }
            st.seen = st.generation;
            let now = sys::now_ns();
            st.pending.retain(|p| p.deadline > now);
            let pfd = |fd: RawFd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            if let Some(w) = &st.wake {
                fds.push(pfd(w.as_raw_fd()));
            }
            fds.extend(st.atts.iter().map(|a| pfd(a.listener.as_raw_fd())));
            fds.extend(st.pending.iter().map(|p| pfd(p.conn.as_raw_fd())));
            if let Some(d) = st.pending.iter().map(|p| p.deadline).min() {
                timeout = (d.saturating_sub(now).div_ceil(1_000_000)).min(1000) as i32;
            }
            true
        });
        if !go_on {
            return std::ptr::null_mut();
        }
        // SAFETY: fds is a valid array of pollfd.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n <= 0 {
            continue;
        }
        for p in fds.iter().filter(|p| p.revents != 0) {
            step(p.fd, epoch);
        }
    }
}

/// Something happened on `fd` (the wake-up, a listener or a connection).
/// All of it under the state's lock (each step is bounded: the sockets are
/// non-blocking), so that a fork never finds a descriptor of ours outside
/// the state, where the child's handler could not close it.
fn step(fd: RawFd, epoch: u64) {
    with(|st| {
        if st.epoch != epoch {
            return None; // the number may be the application's now
        }
        if st.wake.as_ref().is_some_and(|w| w.as_raw_fd() == fd) {
            let mut v = 0u64;
            // SAFETY: reads 8 bytes from our eventfd.
            unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
            return None;
        }
        if st.atts.iter().any(|a| a.listener.as_raw_fd() == fd) {
            if let Some((c, pc)) = sys::accept_peer(fd)
                && admit(st, pc.uid)
            {
                st.pending.push(Pending {
                    conn: c,
                    listener: fd,
                    uid: pc.uid,
                    deadline: sys::now_ns() + CONN_MS * 1_000_000,
                });
            }
            return None;
        }
        let i = st.pending.iter().position(|p| p.conn.as_raw_fd() == fd)?;
        let p = st.pending.remove(i);
        let a = st
            .atts
            .iter()
            .position(|a| a.listener.as_raw_fd() == p.listener)?;
        // (a detach asked for here is this thread's: nothing to wait for)
        let (door, key) = (st.atts[a].door.as_raw_fd(), st.atts[a].key);
        let mut detach = false;
        rdv::serve(
            p.conn.as_raw_fd(),
            door,
            &key,
            |_| (opener_file(door), None),
            || detach = true,
        );
        detach.then(|| take_attachment(st, a))
    });
}

/// Takes attachment `i` out of the state (locked): its name comes off the
/// covered file and its descriptors close, before a fork can copy them.
fn take_attachment(st: &mut State, i: usize) -> u64 {
    let a = st.atts.remove(i);
    let l = a.listener.as_raw_fd();
    st.pending.retain(|p| p.listener != l);
    rdv::unpublish(a.covered.as_raw_fd(), &a.name);
    drop(a);
    retire(st)
}

/// A new open file of the door `door` for one opener (the module's OPEN):
/// it holds the door without taking part in the unref rule, as an
/// illumos opener holds the door's vnode. None: the door file itself is
/// handed out instead.
fn opener_file(door: RawFd) -> Option<OwnedFd> {
    let mut f = super::uapi::Fd {
        fd: door,
        flags: super::uapi::FD_CLOEXEC,
    };
    let ctl = super::ctl().ok()?;
    // SAFETY: OPEN reads one struct door_uapi_fd and returns a descriptor.
    let fd = unsafe { libc::ioctl(ctl, super::uapi::IOC_OPEN, &mut f) };
    (fd >= 0).then(|| sys::own(fd))
}

// ---------------------------------------------------------------------
// The client side

/// Runs `op`, a door operation on `d`; if it fails with EBADF because `d`
/// is a descriptor of a file with a door attached, `d` becomes that door
/// and `op` runs again.
pub fn on_door<T>(d: RawFd, mut op: impl FnMut() -> R<T>) -> R<T> {
    match op() {
        Err(libc::EBADF) if resolve_at_limit(d) => op(),
        r => r,
    }
}

/// `resolve`, which takes two descriptors for a moment: a caller with no
/// free slot gets them above its limit (`sys::Headroom`).
fn resolve_at_limit(d: RawFd) -> bool {
    if resolve(d) {
        return true;
    }
    !sys::has_free_fds(d, 2) && sys::Headroom::raise().is_some_and(|_h| resolve(d))
}

/// Is `fd` a descriptor that may name a covered file (not a door, socket
/// or O_PATH descriptor)?
fn may_be_covered(fd: RawFd) -> bool {
    sys::fstat(fd).is_ok_and(|st| {
        let t = st.st_mode & libc::S_IFMT;
        t != libc::S_IFSOCK && t != crate::abi::S_IFDOOR
    })
}

/// If `fd` is a descriptor of a file with a door attached, replaces it
/// (same number, same close-on-exec flag) by the door; whether it did.
pub fn resolve(fd: RawFd) -> bool {
    if fd < 0 || !may_be_covered(fd) {
        return false;
    }
    let Some(f) = rdv::fetch(fd) else {
        return false;
    };
    // Only a door of the module is installed (a rendezvous of the
    // userspace backend hands out its own kind of door).
    let ok = super::client::info(f.door).is_ok();
    rdv::install(f.door, fd, ok)
}

/// The preload library opened `fd` (not O_PATH): if the file carries a
/// rendezvous name and its door is alive, `fd` becomes the door.
pub fn opened(fd: RawFd, directory: bool) -> bool {
    !directory && rdv::has_name(fd) && resolve(fd)
}
