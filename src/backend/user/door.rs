//! Doors served by this process, their thread pools, and the per-process
//! state that a `fork` child must not inherit.
//!
//! A door is an AF_UNIX SOCK_SEQPACKET socket pair. The library keeps the
//! *server end*, bound to an abstract name that encodes the door
//! (`wire::DoorName`); the *client end* is the descriptor the user holds,
//! dups, passes and inherits. Calls arrive as messages on the server end
//! and are taken by the pool threads, which wait in `epoll_wait` on their
//! pool's epoll set.

use crate::sys::OwnedFd;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::pool::Pool;
use super::wire::DoorName;
use crate::abi::*;
use crate::backend::rendezvous::FileKey;
use crate::sys::{self, R};

pub use crate::backend::Params;

/// Per-door state for `door_xcreate` doors (man/door_xcreate.3c).
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
    /// Tokens of the live server ends. Each end's client side is one
    /// reference to the door (the user's door_create descriptor, a clone
    /// made for a process that received the door, an attachment). Empty
    /// once revoked.
    pub ends: Mutex<Vec<u64>>,
    /// Tokens of the live ends handed to openers of an attached name
    /// (`rendezvous::serve`, through the manager): each opener has an end of its own, so that its
    /// `shutdown(2)` cuts only its own descriptors, but an open is not a
    /// reference (illumos counts openers apart from descriptors, and an
    /// opener's close never fires the unref condition). With the opener's
    /// euid (`ENDS_PER_UID`). Empty once revoked.
    pub openers: Mutex<Vec<(u64, u32)>>,
    /// The clone number (in its name) of each live end, counted or not,
    /// by token.
    pub clones: Mutex<HashMap<u64, u32>>,
    /// Next clone number, for the ends' names.
    pub next_clone: AtomicU32,
    /// An unreferenced notification is queued (not yet taken).
    pub unref_queued: AtomicBool,
    /// The unref condition fired while invocations were active.
    pub unref_delayed: AtomicBool,
    pub pool: Arc<Pool>,
    /// Invocations in progress.
    pub active: AtomicU32,
    pub xcreate: Option<XCreate>,
    pub revoked: AtomicBool,
    /// The `door_info_t` handed to the creation function of a DOOR_PRIVATE
    /// door: it stays valid as long as the door does, so a thread that the
    /// function starts may read it whenever it runs.
    pub crf_info: InfoCell,
}

/// A `door_info_t` at a stable address, written once before the creation
/// function sees it.
pub struct InfoCell(std::cell::UnsafeCell<door_info_t>);
// SAFETY: written only by door_create's thread before any other thread can
// reach the pointer; read-only afterwards.
unsafe impl Sync for InfoCell {}
// SAFETY: plain data.
unsafe impl Send for InfoCell {}
impl InfoCell {
    pub fn ptr(&self) -> *mut door_info_t {
        self.0.get()
    }
}

impl Door {
    pub fn name(&self, st: &Proc, clone: u32) -> DoorName {
        DoorName {
            id: self.id,
            pid: st.pid,
            nonce: st.nonce,
            attrs: self.attrs.load(Ordering::Relaxed) & DOOR_CREATE_MASK,
            clone,
            token: [random_u64(), random_u64()],
        }
    }

    /// References libdoor can count (KNOWN_DIFFERENCES.md, "Unreferenced").
    pub fn refs(&self) -> usize {
        lock(&self.ends).len()
    }

    /// The `door_info_t` this process reports for its own door.
    pub fn info(&self, pid: i32) -> door_info_t {
        let mut a = self.attrs.load(Ordering::Acquire) & DOOR_ATTR_MASK;
        a |= DOOR_LOCAL;
        if self.revoked.load(Ordering::Acquire) {
            a |= DOOR_REVOKED;
        } else if self.refs() == 1 {
            a |= DOOR_IS_UNREF;
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
    /// `fdown::lost_gen` when the state last checked its descriptors.
    pub lost_seen: u64,
    /// The manager thread's epoll set and control listener (-1 until started).
    pub mgr_epfd: RawFd,
    pub ctl_fd: RawFd,
    /// Connections the manager is serving.
    pub conns: HashMap<RawFd, Conn>,
    /// fattach rendezvous listeners of this process, by listener descriptor.
    pub atts: HashMap<RawFd, Attachment>,
    /// Calls in progress, by reply descriptor: (generation, serving thread,
    /// DOOR_NO_CANCEL). The manager cancels the thread if the client aborts.
    pub inflight: HashMap<RawFd, (u32, libc::pthread_t, bool)>,
    pub inflight_gen: u32,
    /// Epoll tokens of server-side sockets: door id, whether it is the
    /// unref injection channel, and the socket.
    pub tokens: HashMap<u64, (u64, bool, Arc<OwnedFd>)>,
    pub next_token: u64,
    /// Next door id: increasing within a process image, from a random start.
    pub next_id: u64,
    /// The most recently revoked doors, so door_getparam and door_info
    /// still answer for them (bounded: REVOKED_KEPT).
    pub revoked: std::collections::VecDeque<Revoked>,
    /// The requester's euid of each live end made on request of another
    /// user (`new_end_for`), by token.
    pub foreign_ends: HashMap<u64, u32>,
}

/// What is kept of a revoked door: its id, parameters, procedure and
/// cookie (illumos' door_info reports the last two for a revoked door).
#[derive(Clone, Copy, Debug)]
pub struct Revoked {
    pub id: u64,
    pub params: Params,
    pub proc_: u64,
    pub cookie: u64,
}

/// The caller of the invocation a thread is serving: every id as the
/// caller held it when it made the call (or set up its fast-path channel),
/// never read later, so that no later program image of the same pid (an
/// exec) and no other process that reused the pid can show through.
#[derive(Clone, Copy, Debug, Default)]
pub struct Caller {
    pub pid: i32,
    pub euid: u32,
    pub egid: u32,
    pub ruid: u32,
    pub rgid: u32,
    pub suid: u32,
    pub sgid: u32,
}

/// What a connection accepted by the manager is for.
#[derive(Clone, Copy, Debug)]
pub enum ConnKind {
    Query,
    Rendezvous { listener: RawFd },
}

/// A connection accepted by the manager, waiting for its request.
#[derive(Clone, Copy, Debug)]
pub struct Conn {
    pub kind: ConnKind,
    /// The connecting process's euid (SO_PEERCRED).
    pub uid: u32,
    /// `sys::now_ns()` past which it is closed unanswered.
    pub deadline: u64,
}

/// One fattach'ed name: its rendezvous listener holds a reference to the
/// door (as namefs holds one on the door's file).
pub struct Attachment {
    pub _listener: OwnedFd,
    /// An O_PATH descriptor of the covered file: while attached, its inode
    /// cannot be freed, so its number cannot be reused by a new file.
    pub covered: OwnedFd,
    pub door: Arc<OwnedFd>,
    pub key: FileKey,
    /// The rendezvous name (published on the covered file, or derived).
    pub name: Vec<u8>,
}

/// Ends kept for one user other than this process's euid or root, made on
/// its request or for its opens of attached names (each costs this process
/// a descriptor while the user keeps its side), that may be live at once;
/// past that, its requests are refused (EAGAIN) and it keeps sharing the
/// reference it has, and its opens share the attachment's end.
pub const ENDS_PER_UID: usize = 256;

/// How many revoked doors keep their parameters for door_getparam.
pub const REVOKED_KEPT: usize = 4096;

/// What is kept of a door this process revoked (recently).
pub fn revoked(id: u64) -> Option<Revoked> {
    lock(&STATE)
        .as_ref()
        .and_then(|p| p.revoked.iter().find(|r| r.id == id).copied())
}

static STATE: Mutex<Option<Proc>> = Mutex::new(None);

pub use crate::sys::{lock, random_u64};

static ATFORK: OnceLock<()> = OnceLock::new();

/// Where a fork child keeps the parent's state it must not use or free
/// (freeing could close descriptors a second time): kept, not leaked, so
/// that it stays reachable (LeakSanitizer sees it referenced).
static GRAVEYARD: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Keeps `v` forever without running its destructor.
pub fn bury<T>(v: T) {
    let p = Box::into_raw(Box::new(v)) as usize;
    lock(&GRAVEYARD).push(p);
}

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
            // this child lives. The state is buried, not dropped, so the
            // numbers are never closed twice.
            for &fd in &old.owned {
                sys::close_own(fd);
            }
            // No allocation or free here: this runs inside fork(), where a
            // malloc can deadlock on an allocator lock (seen under ASan).
            std::mem::forget(old);
        }
    });
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
    let lost = crate::sys::fdown::lost_gen();
    if let Some(p) = g.as_mut()
        && p.lost_seen != lost
    {
        p.lost_seen = lost;
        if p.owned.iter().any(|&fd| !crate::sys::fdown::owned(fd)) {
            // The application closed descriptors of this state (closefrom,
            // close_range, a loop of close from 3 up): its doors are gone.
            // Close what is still ours and start afresh; numbers that are
            // no longer ours are never touched again.
            if let Some(old) = g.take() {
                for &fd in &old.owned {
                    sys::close_own(fd);
                }
                bury(old);
            }
        }
    }
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
            lost_seen: crate::sys::fdown::lost_gen(),
            mgr_epfd: -1,
            ctl_fd: -1,
            conns: HashMap::new(),
            atts: HashMap::new(),
            inflight: HashMap::new(),
            inflight_gen: 0,
            tokens: HashMap::new(),
            next_token: 1,
            next_id: random_u64() >> 2,
            revoked: std::collections::VecDeque::new(),
            foreign_ends: HashMap::new(),
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

/// Creates a door (man/door_create.3c); returns the new descriptor and the door.
/// `start` runs first, with the state held (create.rs starts the manager).
pub fn create(
    proc_: usize,
    cookie: usize,
    attrs: u32,
    xcreate: Option<XCreate>,
    start: impl FnOnce(&mut Proc) -> R<()>,
) -> R<(RawFd, Arc<Door>, bool)> {
    with_proc(|st| {
        start(st)?;
        let private = attrs & DOOR_PRIVATE != 0;
        let pool = if private {
            Pool::new(0)?
        } else {
            st.shared.clone()
        };
        let desc_max = if attrs & DOOR_REFUSE_DESC != 0 {
            0
        } else {
            i32::MAX as usize
        };
        // Ids increase within a process from a random 62-bit start.
        st.next_id += 1;
        let door = Arc::new(Door {
            id: st.next_id,
            proc_,
            cookie,
            attrs: AtomicU32::new(attrs),
            params: Mutex::new(Params {
                data_min: 0,
                data_max: usize::MAX,
                desc_max,
            }),
            ends: Mutex::new(Vec::new()),
            openers: Mutex::new(Vec::new()),
            clones: Mutex::new(HashMap::new()),
            next_clone: AtomicU32::new(0),
            unref_queued: AtomicBool::new(false),
            unref_delayed: AtomicBool::new(false),
            pool: pool.clone(),
            active: AtomicU32::new(0),
            xcreate,
            revoked: AtomicBool::new(false),
            // SAFETY: door_info_t is plain data; all-zero is valid.
            crf_info: InfoCell(std::cell::UnsafeCell::new(unsafe { std::mem::zeroed() })),
        });
        let client = new_end(st, &door)?;
        if private {
            st.owned.push(pool.epfd.as_raw_fd());
        }
        st.doors.insert(door.id, door.clone());
        // The first non-private door of this process starts the pool.
        let first = !private && !st.started;
        if first {
            st.started = true;
        }
        // The user's descriptor: close-on-exec, as on illumos.
        let fd = std::os::fd::IntoRawFd::into_raw_fd(client);
        crate::sys::doormap::mark_door(fd);
        Ok((fd, door, first))
    })
}

/// `new_end` on request of a process running as `uid` (a K_CLONE to the
/// manager): EAGAIN when `uid`, neither this process's euid nor root,
/// holds `ENDS_PER_UID` ends already (these and opener ends together).
pub fn new_end_for(st: &mut Proc, door: &Arc<Door>, uid: u32) -> R<OwnedFd> {
    let foreign = is_foreign(uid);
    if foreign && held_by(st, uid) >= ENDS_PER_UID {
        return Err(libc::EAGAIN);
    }
    let end = new_end(st, door)?;
    if foreign {
        st.foreign_ends.insert(st.next_token - 1, uid);
    }
    Ok(end)
}

/// Neither this process's euid nor root.
fn is_foreign(uid: u32) -> bool {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    uid != 0 && uid != me
}

/// Ends this process keeps for `uid`: opener ends and ends made on its
/// request.
fn held_by(st: &Proc, uid: u32) -> usize {
    let openers: usize = st
        .doors
        .values()
        .map(|d| lock(&d.openers).iter().filter(|&&(_, u)| u == uid).count())
        .sum();
    openers + st.foreign_ends.values().filter(|&&u| u == uid).count()
}

/// Makes a new end of `door`: a socket pair whose server side joins the
/// door's pool and whose client side (returned) is one more reference.
pub fn new_end(st: &mut Proc, door: &Arc<Door>) -> R<OwnedFd> {
    make_end(st, door, None)
}

/// Makes a new end of `door` for an opener of an attached name running as
/// `uid`: served like any end, but not a reference (`Door::openers`).
/// EAGAIN when `uid` holds `ENDS_PER_UID` ends already (opener ends and
/// those made on its request together).
pub fn new_opener_end(st: &mut Proc, door: &Arc<Door>, uid: u32) -> R<OwnedFd> {
    if is_foreign(uid) && held_by(st, uid) >= ENDS_PER_UID {
        return Err(libc::EAGAIN);
    }
    make_end(st, door, Some(uid))
}

fn make_end(st: &mut Proc, door: &Arc<Door>, opener: Option<u32>) -> R<OwnedFd> {
    // Revoke marks the door before it takes the state lock we hold: a
    // door revoked meanwhile gets no new end (it would never be served).
    if door.revoked.load(Ordering::Acquire) {
        return Err(libc::EBADF);
    }
    let (client, server) = sys::seqpacket_pair()?;
    sys::set_passcred(server.as_raw_fd())?;
    let clone = loop {
        let clone = door.next_clone.fetch_add(1, Ordering::Relaxed);
        match sys::bind_abstract(server.as_raw_fd(), &door.name(st, clone).encode()) {
            Ok(()) => break clone,
            // Someone squatted this exact name: take the next number.
            Err(libc::EADDRINUSE) => continue,
            Err(e) => return Err(e),
        }
    };
    let token = st.next_token;
    st.next_token += 1;
    let sfd = server.as_raw_fd();
    door.pool.add(sfd, token)?;
    watch_end(st, sfd, token);
    st.owned.push(sfd);
    st.tokens.insert(token, (door.id, false, Arc::new(server)));
    lock(&door.clones).insert(token, clone);
    match opener {
        None => lock(&door.ends).push(token),
        Some(uid) => lock(&door.openers).push((token, uid)),
    }
    Ok(client)
}

/// The door, kind and socket behind a pool token.
pub fn lookup_token(token: u64) -> Option<(Arc<Door>, bool, Arc<OwnedFd>)> {
    let mut g = lock(&STATE);
    let st = g.as_mut()?;
    let (id, inj, fd) = st.tokens.get(&token)?;
    match st.doors.get(id) {
        Some(d) => Some((d.clone(), *inj, fd.clone())),
        None => {
            // A socket of a door that no longer exists: close it, so that
            // whoever called through it gets EBADF instead of waiting.
            let (_, _, fd) = st.tokens.remove(&token)?;
            st.foreign_ends.remove(&token);
            let raw = fd.as_raw_fd();
            unwatch_end(st, raw);
            st.owned.retain(|&o| o != raw);
            let epfd = st.shared.epfd.as_raw_fd();
            drop(g);
            let mut ev = libc::epoll_event { events: 0, u64: 0 };
            // SAFETY: valid epoll_event (removal from the shared pool, if there).
            unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, raw, &mut ev) };
            drop(fd);
            None
        }
    }
}

/// Registers the unref injection channel of a door (unref.rs).
pub fn add_injector(door: &Arc<Door>, sock: OwnedFd) -> R<u64> {
    with_proc(|st| {
        let token = st.next_token;
        st.next_token += 1;
        door.pool.add(sock.as_raw_fd(), token)?;
        st.owned.push(sock.as_raw_fd());
        st.tokens.insert(token, (door.id, true, Arc::new(sock)));
        Ok(token)
    })
}

/// Forgets a pool token: out of the epoll sets, out of the tables. The
/// socket closes when the last Arc (a receiving thread's) goes.
fn drop_token(st: &mut Proc, pool: &Pool, token: u64) -> Option<Arc<OwnedFd>> {
    st.foreign_ends.remove(&token);
    let (_, _, fd) = st.tokens.remove(&token)?;
    let raw = fd.as_raw_fd();
    pool.remove(raw);
    unwatch_end(st, raw);
    st.owned.retain(|&o| o != raw);
    Some(fd)
}

pub fn remove_injector(door: &Door, token: u64) {
    let fd = with_proc(|st| Ok(drop_token(st, &door.pool, token)))
        .ok()
        .flatten();
    drop(fd);
}

/// What an end's going changed (`end_gone`), for `ends::end_gone` to tell
/// the fast path and the unref queue.
#[derive(Default)]
pub struct EndGone {
    /// The door and clone number of the end that went.
    pub end: Option<(u64, u32)>,
    /// The door nobody holds any more.
    pub unreachable: Option<u64>,
    /// The door whose unref condition now holds.
    pub fire: Option<Arc<Door>>,
}

/// The client side of an end has been closed everywhere: one reference
/// fewer. When that leaves exactly one, the unref condition holds.
pub fn end_gone(token: u64) -> EndGone {
    let mut fire = None;
    let mut unreachable = None;
    let closed;
    let gone_end;
    {
        let mut g = lock(&STATE);
        let Some(st) = g.as_mut() else {
            return EndGone::default();
        };
        let Some(&(id, false, _)) = st.tokens.get(&token) else {
            return EndGone::default();
        };
        let Some(door) = st.doors.get(&id).cloned() else {
            return EndGone::default();
        };
        closed = drop_token(st, &door.pool, token);
        gone_end = lock(&door.clones).remove(&token).map(|c| (door.id, c));
        let mut openers = lock(&door.openers);
        let mut ends = lock(&door.ends);
        let before = openers.len();
        openers.retain(|&(t, _)| t != token);
        // An opener's end going is no change of the reference count.
        if openers.len() == before {
            ends.retain(|&t| t != token);
            if ends.len() == 1 {
                fire = Some(door.clone());
            }
        }
        if ends.is_empty() && openers.is_empty() {
            unreachable = Some(door.id);
        }
    }
    drop(closed);
    EndGone {
        end: gone_end,
        unreachable,
        fire,
    }
}

/// Marks a door revoked and closes its server ends (man/door_revoke.3c). Calls
/// queued on it fail with EBADF; invocations in progress finish.
pub fn revoke(door: &Arc<Door>) {
    door.revoked.store(true, Ordering::Release);
    door.attrs.fetch_or(DOOR_REVOKED, Ordering::AcqRel);
    let mut closed = Vec::new();
    let mut g = lock(&STATE);
    if let Some(st) = g.as_mut() {
        let mut tokens: Vec<u64> = std::mem::take(&mut *lock(&door.ends));
        tokens.extend(lock(&door.openers).drain(..).map(|(t, _)| t));
        lock(&door.clones).clear();
        for t in tokens {
            closed.extend(drop_token(st, &door.pool, t));
        }
        st.doors.remove(&door.id);
        if door.pool.private_id != 0 || door.attrs.load(Ordering::Relaxed) & DOOR_PRIVATE != 0 {
            // Bound threads may keep the private pool open; the fork-child
            // list must not name a descriptor that may be closed later.
            let ep = door.pool.epfd.as_raw_fd();
            st.owned.retain(|&o| o != ep);
        }
        if st.revoked.len() >= REVOKED_KEPT {
            st.revoked.pop_front();
        }
        st.revoked.push_back(Revoked {
            id: door.id,
            params: door.params(),
            proc_: door.proc_ as u64,
            cookie: door.cookie as u64,
        });
    }
    drop(g);
    drop(closed); // closes the server ends unless a receiver holds one this instant
}

// ---------------------------------------------------------------------
// What the manager thread watches (`control.rs` serves the events).

/// Epoll tokens of watched calls carry this bit, a generation in bits
/// 32..62 and the reply descriptor in the low 32 bits.
pub const CALL_BIT: u64 = 1 << 63;

/// Watches the reply channel of a call this thread now serves: if the
/// client aborts (signal, cancellation, death), the manager cancels this
/// thread unless the door has DOOR_NO_CANCEL (illumos signals it).
pub fn watch_call(reply: RawFd, no_cancel: bool) {
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    let _ = with_proc(|st| {
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
    let _ = with_proc(|st| {
        if st.inflight.remove(&reply).is_some() {
            let mut ev = libc::epoll_event { events: 0, u64: 0 };
            // SAFETY: valid epoll_event (ignored by DEL on modern kernels).
            unsafe { libc::epoll_ctl(st.mgr_epfd, libc::EPOLL_CTL_DEL, reply, &mut ev) };
        }
        Ok(())
    });
}

/// Epoll tokens of watched door ends carry this bit.
pub const END_BIT: u64 = 1 << 62;

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

/// Epoll tokens of fast-path channel sockets carry this bit.
pub const CHAN_BIT: u64 = 1 << 61;

/// The manager watches a channel's socket: when the client is gone, the
/// channel goes (fast::chan_gone).
pub fn watch_chan(fd: RawFd, id: u32) {
    let _ = with_proc(|st| {
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
    let _ = with_proc(|st| {
        st.owned.retain(|&o| o != fd);
        unwatch_end(st, fd);
        Ok(())
    });
}
