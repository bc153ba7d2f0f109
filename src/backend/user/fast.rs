//! The fast path: door calls through shared memory, with a futex hand-off
//! and adaptive spinning. The socket path (`client.rs`,
//! `server.rs`) stays the correct fallback for everything the fast path
//! does not take: descriptors, first contact, calls larger than `CAP_MAX`.
//!
//! * A **channel** per (client thread, door): client-made shared memory
//!   with a state word, sizes, wake-up words and a data area, plus a socket
//!   pair. Its server end is in the door's pool epoll set (a one-byte
//!   *kick* from the client asks the pool for a thread), tells the manager
//!   when the client is gone, and carries replies that do not fit (too
//!   large, or with descriptors).
//! * Shared memory carries only that client's own data and wake-up words.
//!   Which server thread is idle, and which waits on which channel, is
//!   server-private (`PoolFast`): a client can only ever slow its own calls.
//! * **Hand-off**: after a fast reply the server thread stays *parked on
//!   that channel* for a bounded time (`PARK_NS`): it spins while the
//!   client runs on another CPU, then sleeps on the channel's own futex
//!   word. The channel's `sparked` word tells the client that a thread
//!   waits there (it wakes it directly); otherwise the client kicks the
//!   pool through the channel socket, and the epoll leader takes the call.
//!   At most `PARK_PER_UID` threads of a pool park on channels of one user,
//!   and one idle thread of the pool always waits in `epoll` (a parked
//!   thread is promoted when the leader leaves).
//! * **Spinning** only while the peer runs on another CPU (each side
//!   publishes its CPU), for a bounded time; then a futex sleep. Every
//!   futex sleep has a timeout, so a signal ends a client's wait with EINTR
//!   even under SA_RESTART, and a dead server is noticed.
//! * The server reads sizes from shared memory once, validates them against
//!   its own record of the channel, never maps more than `CAP_MAX`, and
//!   copies the arguments into the thread's own buffer before the
//!   procedure runs: the client cannot change them under it.
//! * Mappings are MADV_DONTFORK and descriptors close-on-exec and closed in
//!   a fork child: no process starts with another's fast-path state.
//! * `LIBDOOR_FASTPATH=0` turns it off.

use crate::sys::OwnedFd;
use std::os::fd::{AsRawFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::door::{Caller, Door, lock};
use super::pool::Pool;
use crate::abi::*;
use crate::sys::{self, R};

const CHAN_MAGIC: u32 = 0x4448_4344; // "DCHD"
/// Offset of the data area in a channel.
pub const DATA_OFF: usize = 4096;
/// Data capacity of a new channel; grown on demand.
const CAP_MIN: usize = 64 * 1024;
/// The largest channel data area: a client never makes, and a server never
/// maps, more. Larger calls take the socket path.
pub const CAP_MAX: usize = 8 * 1024 * 1024;
/// Spin budget while the peer runs on another CPU.
const SPIN_NS: u64 = 50_000;
/// A client's futex sleeps wake up at least this often to check that the
/// server is alive.
const SLEEP_NS: i64 = 200_000_000;
/// How long a server thread stays parked on the channel it last served.
const PARK_NS: u64 = 200_000_000;
/// Wake-ups without a request a parked thread accepts before it leaves (a
/// client can bump its own channel's wake word at will).
const PARK_SPURIOUS: u32 = 64;
/// Server threads of one pool parked on channels of one user at most.
pub const PARK_PER_UID: usize = 8;
/// A request no server thread has taken after this long is withdrawn and
/// sent on the socket path instead (the pool may be busy).
const TAKE_NS: u64 = 40_000_000;
/// wait_reply's answer for "withdrawn: use the socket path".
const WITHDRAWN: i32 = -1;
/// Arguments at least this large, to a server thread parked on another
/// CPU, are copied in pieces of this size while the server copies them out.
const PIPE_CHUNK: usize = 256 * 1024;
/// Channels one other user may hold to this process (each costs us a
/// descriptor and a mapping); a thread keeps at most 32 (MAX_CHANS).
const CHANS_PER_UID: usize = 128;
/// How long a server thread waits for a client that makes no progress
/// filling in its arguments before it drops the call.
const STALL_NS: u64 = 1_000_000_000;
/// How long, at most, it spins (rather than sleeps) in that wait while no
/// progress is made: the client's CPU, which decides, is the client's word.
const STALL_SPIN_NS: u64 = 1_000_000;
/// Pool epoll tokens of channel sockets carry this bit (door ends are
/// numbered from 1 up).
pub const CHAN_TOKEN: u64 = 1 << 62;

// Channel states.
const C_IDLE: u32 = 0;
const C_REQ: u32 = 1;
const C_TAKEN: u32 = 2;
const C_REP: u32 = 3;
const C_DEAD: u32 = 4;
// Channel request flags.
const CF_NO_RESULTS: u32 = 1;

/// The shared header of a channel. Everything in it is written by the
/// client or may be scribbled on by it: the server reads each field once
/// and checks it, and what it decides lives in its own memory.
#[repr(C, align(64))]
struct ChanHdr {
    magic: u32,
    _version: u32,
    state: AtomicU32,
    flags: AtomicU32,
    /// Client wake word (the server bumps it when the reply is out) and
    /// "the client sleeps" (in ppoll on its end of the channel's socket:
    /// the server then sends it a one-byte wake-up).
    cwake: AtomicU32,
    csleep: AtomicU32,
    ccpu: AtomicU32,
    scpu: AtomicU32,
    req_size: AtomicU64,
    rep_size: AtomicU64,
    rep_status: AtomicU32,
    rep_slow: AtomicU32,
    /// A server thread is parked on this channel (a hint for the client
    /// only: it wakes that thread instead of kicking the pool).
    sparked: AtomicU32,
    /// Server wake word (the client bumps it with a request) and "the
    /// parked server thread sleeps on it".
    swake: AtomicU32,
    ssleep: AtomicU32,
    /// How many argument bytes are in the data area so far: a large call
    /// to a server running on another CPU is posted first and filled while
    /// the server copies (`args`). `u64::MAX`: the client gave up (EFAULT).
    req_done: AtomicU64,
    /// A reply with descriptors went over the channel's socket: the server
    /// sets ACK_WAIT, the client answers whether its descriptor table took
    /// them (`wire::ACK_TAKEN`/`ACK_DROPPED`, then a futex wake).
    rep_ack: AtomicU32,
    /// Set by the server when every copy of the door end this channel was
    /// set up through is closed: no call can name the channel again (its
    /// key was that socket), so the client drops it when it next sweeps.
    /// Only a hint for the client, about its own channel.
    end_gone: AtomicU32,
}
const _: () = assert!(size_of::<ChanHdr>() <= DATA_OFF);
const ACK_WAIT: u32 = 0xff;

/// Is the fast path on? (`LIBDOOR_FASTPATH=0` turns it off.)
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LIBDOOR_FASTPATH").is_none_or(|v| v != "0"))
}

fn cpu() -> u32 {
    // SAFETY: sched_getcpu has no preconditions (vDSO).
    unsafe { libc::sched_getcpu() as u32 }
}

/// Sleeps while `word` is `val`, for at most `ns` (0: no limit).
fn futex_wait(word: &AtomicU32, val: u32, ns: i64) -> i32 {
    let ts = libc::timespec {
        tv_sec: ns / 1_000_000_000,
        tv_nsec: ns % 1_000_000_000,
    };
    let tsp: *const libc::timespec = if ns == 0 { ptr::null() } else { &ts };
    // SAFETY: a shared futex on a live word in a mapping we hold; with a
    // timeout, a handled signal ends the wait with EINTR (no restart).
    let r = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, val, tsp) };
    if r == 0 { 0 } else { sys::errno() }
}

/// How long a client naps on its wake word, rather than sleeping in ppoll,
/// while a message other than a wake-up sits on its channel's socket (a
/// reply that is being sent, or a hostile server's junk): a signal that
/// comes meanwhile is noticed after at most this long.
const JUNK_NAP_NS: i64 = 1_000_000;

fn futex_wake(word: &AtomicU32) {
    // SAFETY: a shared futex wake on a live word.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1) };
}

use sys::now_ns;

/// Spins while `busy()` holds, for at most SPIN_NS (the clock is read
/// only every few rounds: in a VM it costs more than a round).
#[inline]
fn spin_while(busy: impl Fn() -> bool) {
    let t0 = now_ns();
    loop {
        for _ in 0..32 {
            if !busy() {
                return;
            }
            std::hint::spin_loop();
        }
        if now_ns() - t0 >= SPIN_NS {
            return;
        }
    }
}

/// A shared mapping of a memfd, unmapped on drop.
pub struct Map {
    ptr: *mut u8,
    len: usize,
}
// SAFETY: the mapping is shared memory accessed only through atomics and
// raw copies; the pointer itself may move between threads.
unsafe impl Send for Map {}
// SAFETY: as above.
unsafe impl Sync for Map {}
impl Map {
    /// Maps `len` bytes of `fd`, shared, left out of fork children.
    /// `populate` pre-faults it: only ever for our own memfd, never for a
    /// peer's (whose size the peer chose).
    fn new(fd: RawFd, len: usize, populate: bool) -> R<Map> {
        let flags = libc::MAP_SHARED | if populate { libc::MAP_POPULATE } else { 0 };
        // SAFETY: mapping a memfd we hold, shared.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(sys::errno());
        }
        // A fork child must not inherit a channel (it could drive it with
        // the parent's credentials).
        // SAFETY: advice on our own fresh mapping.
        if unsafe { libc::madvise(p, len, libc::MADV_DONTFORK) } != 0 {
            let e = sys::errno();
            // SAFETY: our own mapping.
            unsafe { libc::munmap(p, len) };
            return Err(e);
        }
        Ok(Map { ptr: p.cast(), len })
    }
}
impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: our own mapping.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// Seals that make a shared memfd's size permanent: the peer that maps it
/// cannot shrink it under us (which would turn our accesses into SIGBUS).
const SIZE_SEALS: libc::c_int = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

fn memfd(len: usize) -> R<OwnedFd> {
    // SAFETY: memfd_create with a static name.
    let fd = sys::cvt(unsafe {
        libc::memfd_create(
            c"libdoor".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    })?;
    let fd = sys::own(fd);
    // SAFETY: sizing and sealing our own memfd.
    unsafe {
        sys::cvt(libc::ftruncate(fd.as_raw_fd(), len as libc::off_t))?;
        sys::cvt(crate::sys::fcntl(
            fd.as_raw_fd(),
            libc::F_ADD_SEALS,
            SIZE_SEALS,
        ))?;
    }
    Ok(fd)
}

/// Is `fd` (from a peer) a memfd of at least `len` bytes whose size is
/// sealed? Only then may we map it and touch it without fault catching.
fn sealed_at_least(fd: RawFd, len: usize) -> bool {
    // SAFETY: F_GET_SEALS on a descriptor we hold.
    let seals = unsafe { crate::sys::fcntl(fd, libc::F_GET_SEALS, 0) };
    seals >= 0
        && seals & (libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL)
            == libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL
        && sys::fstat(fd).is_ok_and(|st| {
            st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_size as usize >= len
        })
}

// ---------------------------------------------------------------------
// Server side.

/// A channel as the server holds it.
pub struct SrvChan {
    pub id: u32,
    map: Map,
    cap: usize,
    pub door: Arc<Door>,
    /// The door end (its clone number) through which the client set the
    /// channel up (`end_closed`).
    end: u32,
    pub caller: Caller,
    /// Server end of the channel's socket pair.
    pub sock: OwnedFd,
    /// The thread serving a call on this channel, 0 if none. A mutex, so
    /// that chan_gone cannot cancel a thread that has moved on.
    pub serving: Mutex<u64>,
    /// The client is gone or the door revoked: a thread parked here leaves.
    gone: std::sync::atomic::AtomicBool,
    /// Threads between posting a reply in the channel and sending the
    /// client its wake-up byte: a reply over the socket waits for them, so
    /// that no wake-up lands among its messages.
    waking: AtomicU32,
}
impl SrvChan {
    fn hdr(&self) -> &ChanHdr {
        // SAFETY: the mapping starts with a ChanHdr (atomics only).
        unsafe { &*(self.map.ptr as *const ChanHdr) }
    }
    fn data(&self) -> *mut u8 {
        self.map.ptr.wrapping_add(DATA_OFF)
    }
    /// Wakes every thread sleeping on the server wake word (a client may
    /// sleep there too, to steal a single wake-up).
    fn wake_server(&self) {
        let h = self.hdr();
        h.swake.fetch_add(1, Ordering::SeqCst);
        // SAFETY: a shared futex wake on a live word.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                h.swake.as_ptr(),
                libc::FUTEX_WAKE,
                i32::MAX,
            )
        };
    }
    /// Takes a posted request: the only way a call on this channel starts.
    fn take(&self) -> bool {
        !self.gone.load(Ordering::Acquire)
            && self
                .hdr()
                .state
                .compare_exchange(C_REQ, C_TAKEN, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }
}

/// All channels of this process as a server, by id (index | generation).
struct Table {
    pid: i32,
    slots: Vec<Option<Arc<SrvChan>>>,
    generation: u32,
}
static CHANS: Mutex<Table> = Mutex::new(Table {
    pid: 0,
    slots: Vec::new(),
    generation: 0,
});

fn table() -> std::sync::MutexGuard<'static, Table> {
    let mut t = lock(&CHANS);
    let pid = sys::getpid();
    if t.pid != pid {
        // A fork child: the parent's channels are not ours.
        super::door::bury(std::mem::take(&mut t.slots));
        t.pid = pid;
    }
    t
}

fn chan_by_id(id: u32) -> Option<Arc<SrvChan>> {
    let t = table();
    let i = (id & 0xffff) as usize;
    t.slots.get(i)?.as_ref().filter(|c| c.id == id).cloned()
}

/// The manager's K_CHAN request: check the client's channel before it
/// costs anything, map it, record who it is, and put its socket in the
/// door's pool epoll set (for kicks). Answers the channel id.
pub fn setup(
    door: &Arc<Door>,
    end: u32,
    mem: OwnedFd,
    sock: OwnedFd,
    caller: Caller,
    cap: usize,
) -> R<u32> {
    if !(16..=CAP_MAX).contains(&cap) || !sealed_at_least(mem.as_raw_fd(), DATA_OFF + cap) {
        return Err(libc::EINVAL);
    }
    // The mapping is all we need: the memfd is closed when we return. Not
    // pre-faulted: the client chose its size.
    let map = Map::new(mem.as_raw_fd(), DATA_OFF + cap, false)?;
    let mut t = table();
    // Every channel costs this process a descriptor and a mapping: a user
    // other than our own or root gets at most CHANS_PER_UID of them.
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if caller.euid != me && caller.euid != 0 {
        let n = t
            .slots
            .iter()
            .flatten()
            .filter(|c| c.caller.euid == caller.euid)
            .count();
        if n >= CHANS_PER_UID {
            return Err(libc::EAGAIN);
        }
    }
    let i = match t.slots.iter().position(|s| s.is_none()) {
        Some(i) => i,
        None if t.slots.len() < 0xffff => {
            t.slots.push(None);
            t.slots.len() - 1
        }
        None => return Err(libc::EAGAIN),
    };
    t.generation = t.generation.wrapping_add(1) & 0x7fff;
    let id = ((t.generation + 1) << 16) | i as u32;
    let chan = Arc::new(SrvChan {
        id,
        map,
        cap,
        door: door.clone(),
        end,
        caller,
        sock,
        serving: Mutex::new(0),
        gone: std::sync::atomic::AtomicBool::new(false),
        waking: AtomicU32::new(0),
    });
    door.pool
        .add(chan.sock.as_raw_fd(), CHAN_TOKEN | id as u64)?;
    super::door::watch_chan(chan.sock.as_raw_fd(), id);
    t.slots[i] = Some(chan);
    Ok(id)
}

/// The client of a channel is gone (its socket hung up): forget the
/// channel, and cancel a thread still serving a call on it.
pub fn chan_gone(id: u32) {
    let chan = {
        let mut t = table();
        let i = (id & 0xffff) as usize;
        match t.slots.get_mut(i) {
            Some(s) if s.as_ref().is_some_and(|c| c.id == id) => s.take(),
            _ => None,
        }
    };
    let Some(chan) = chan else { return };
    chan.gone.store(true, Ordering::Release);
    chan.wake_server();
    chan.door.pool.remove(chan.sock.as_raw_fd());
    super::door::unwatch_chan(chan.sock.as_raw_fd());
    let serving = lock(&chan.serving);
    if *serving != 0 && chan.door.attrs.load(Ordering::Relaxed) & DOOR_NO_CANCEL == 0 {
        // SAFETY: the thread is alive: it clears `serving` (under this
        // lock) before it can finish the call or exit.
        unsafe { libc::pthread_cancel(*serving as libc::pthread_t) };
    }
}

/// Every copy of the client side of the door end `end` is closed: the
/// channels set up through it can never be named again (their key was
/// that socket), so a client that opens and closes a name over and over
/// would keep one per open. They are marked (`end_gone`), not killed: a
/// call still running on one (its descriptor replaced or closed under it
/// by another thread) completes; the client drops marked channels when it
/// makes its next, and the server's side goes when the client's does.
pub fn end_closed(door_id: u64, end: u32) {
    let t = table();
    for c in t.slots.iter().flatten() {
        if c.door.id == door_id && c.end == end {
            c.hdr().end_gone.store(1, Ordering::Release);
        }
    }
}

/// A door was revoked: its channels are dead (clients fall back to the
/// socket path, which answers EBADF).
pub fn door_revoked(door_id: u64) {
    // Only channels with no call taken become dead (IDLE or REQ → DEAD, so
    // a request not yet taken fails EBADF and can never be taken later);
    // a call already taken completes, as revoke lets invocations finish.
    let dead: Vec<Arc<SrvChan>> = {
        let mut t = table();
        let mut v = Vec::new();
        for s in t.slots.iter_mut() {
            let kill = s.as_ref().is_some_and(|c| {
                c.door.id == door_id
                    && [C_IDLE, C_REQ].iter().any(|&from| {
                        c.hdr()
                            .state
                            .compare_exchange(from, C_DEAD, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok()
                    })
            });
            if kill {
                v.extend(s.take());
            }
        }
        v
    };
    for c in dead {
        c.gone.store(true, Ordering::Release);
        c.wake_server();
        c.hdr().cwake.fetch_add(1, Ordering::Release);
        wake_client(&c);
        c.door.pool.remove(c.sock.as_raw_fd());
        super::door::unwatch_chan(c.sock.as_raw_fd());
    }
}

thread_local! {
    /// The channel this thread will park on after its fast reply, and its
    /// slot in the pool's parked table (`pre_arm`).
    static PREARMED: std::cell::RefCell<Option<(Arc<SrvChan>, usize)>> =
        const { std::cell::RefCell::new(None) };
}

/// A thread about to publish a fast reply on `chan` decides whether it
/// will stay parked on that channel, and if so says so in the channel
/// *before* the reply is out, so that the client's next call (which may
/// run at once) wakes it directly instead of kicking the pool. It parks
/// only while another thread waits in epoll and the client's user has
/// fewer than PARK_PER_UID threads parked in this pool.
pub fn pre_arm(pool: &Pool, chan: &Arc<SrvChan>) {
    if !enabled()
        || chan.gone.load(Ordering::Acquire)
        || pool.fast.epoll_waiters.load(Ordering::SeqCst) == 0
    {
        return;
    }
    let uid = chan.caller.euid;
    let Some(k) = pool.fast.parked.iter().position(|s| {
        s.chan
            .compare_exchange(0, chan.id, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }) else {
        return;
    };
    let slot = &pool.fast.parked[k];
    slot.uid.store(uid, Ordering::SeqCst);
    slot.promote.store(0, Ordering::SeqCst);
    // Counted after taking the slot: two racing threads may both give up,
    // never both exceed the cap.
    let same = pool
        .fast
        .parked
        .iter()
        .filter(|s| s.chan.load(Ordering::SeqCst) != 0 && s.uid.load(Ordering::SeqCst) == uid)
        .count();
    if same > PARK_PER_UID {
        slot.chan.store(0, Ordering::SeqCst);
        return;
    }
    chan.hdr().scpu.store(cpu(), Ordering::Relaxed);
    chan.hdr().sparked.store(1, Ordering::SeqCst);
    PREARMED.with(|p| *p.borrow_mut() = Some((chan.clone(), k)));
}

/// The fast reply `pre_arm` prepared for did not go out: do not park.
pub fn unarm(pool: &Pool) {
    if let Some((chan, k)) = PREARMED.with(|p| p.borrow_mut().take()) {
        chan.hdr().sparked.store(0, Ordering::SeqCst);
        pool.fast.parked[k].chan.store(0, Ordering::SeqCst);
    }
}

/// What a parked thread got.
pub enum Parked {
    /// A call on this channel (taken: state is C_TAKEN).
    Call(Arc<SrvChan>),
    /// Go and wait in epoll.
    Epoll,
}

/// Parks an idle server thread on the channel it just served (`pre_arm`),
/// for at most PARK_NS, and takes that channel's next request. Epoll: wait
/// in epoll instead (not armed, timed out, promoted, the channel is gone).
pub fn park(pool: &Pool) -> Parked {
    let Some((chan, k)) = PREARMED.with(|p| p.borrow_mut().take()) else {
        return Parked::Epoll;
    };
    let slot = &pool.fast.parked[k];
    let h = chan.hdr();
    let me = cpu();
    let leave = || {
        h.sparked.store(0, Ordering::SeqCst);
        slot.chan.store(0, Ordering::SeqCst);
        // Dekker with a client that saw `sparked` before we cleared it: it
        // did not kick, so its request is ours.
        if chan.take() {
            Parked::Call(chan.clone())
        } else {
            Parked::Epoll
        }
    };
    let stop = || {
        slot.promote.load(Ordering::SeqCst) != 0
            || pool.fast.epoll_waiters.load(Ordering::SeqCst) == 0
            || chan.gone.load(Ordering::Acquire)
    };
    // Dekker with the leader leaving epoll (it promotes a registered
    // thread, or finds none and this check sees it gone).
    if stop() {
        return leave();
    }
    let t0 = now_ns();
    let ccpu = h.ccpu.load(Ordering::Relaxed);
    if ccpu != me && ccpu != u32::MAX {
        spin_while(|| h.state.load(Ordering::Acquire) != C_REQ && !stop());
    }
    let mut spurious = 0;
    loop {
        if h.state.load(Ordering::Acquire) == C_REQ && chan.take() {
            h.sparked.store(0, Ordering::SeqCst);
            slot.chan.store(0, Ordering::SeqCst);
            return Parked::Call(chan);
        }
        let elapsed = now_ns() - t0;
        if stop() || elapsed >= PARK_NS || spurious >= PARK_SPURIOUS {
            return leave();
        }
        let w = h.swake.load(Ordering::SeqCst);
        h.ssleep.store(1, Ordering::SeqCst);
        if h.state.load(Ordering::SeqCst) != C_REQ && !stop() {
            futex_wait(&h.swake, w, (PARK_NS - elapsed) as i64);
        }
        h.ssleep.store(0, Ordering::Relaxed);
        spurious += 1;
    }
}

/// The epoll leader is leaving to serve a call: hand the role to a parked
/// thread, if any (it re-validates everything when it wakes).
pub fn promote(pool: &Pool) {
    for s in &pool.fast.parked {
        let id = s.chan.load(Ordering::SeqCst);
        if id != 0
            && s.promote
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            if let Some(c) = chan_by_id(id) {
                c.wake_server();
            }
            return;
        }
    }
}

/// The pool's epoll set says channel `id`'s socket is readable: a kick (the
/// client found no thread parked on it) or the client's hang-up. Drains the
/// kicks, re-arms the socket, and takes the channel's request if one is
/// posted. Called by the thread that just left epoll.
pub fn kicked(pool: &Pool, token: u64) -> Option<Arc<SrvChan>> {
    let chan = chan_by_id((token & 0xffff_ffff) as u32)?;
    let fd = chan.sock.as_raw_fd();
    let mut buf = [0u8; 16];
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n == 0 {
            return None; // the client is gone; the manager forgets the channel
        }
        if n < 0 {
            break;
        }
    }
    let _ = pool.rearm(fd, token);
    if chan.take() { Some(chan) } else { None }
}

/// Reads a fast request: (size, no_results). Validated against the
/// channel's capacity; the client cannot change what we copied.
pub fn request(chan: &SrvChan) -> Option<(usize, bool)> {
    let h = chan.hdr();
    let size = h.req_size.load(Ordering::Acquire) as usize;
    let flags = h.flags.load(Ordering::Acquire);
    if size > chan.cap {
        return None;
    }
    chan.hdr().scpu.store(cpu(), Ordering::Relaxed);
    Some((size, flags & CF_NO_RESULTS != 0))
}

/// Copies the arguments of a fast call (`size`, validated by `request`)
/// into `buf`, this thread's own buffer of at least `size` bytes: what the
/// procedure sees cannot change under it. A client may still be filling
/// them in (`req_done`): copy what is there, wait for the rest (spinning
/// briefly while the client says it runs on another CPU, then sleeping),
/// and drop the call after STALL_NS without progress.
pub fn args(chan: &SrvChan, size: usize, buf: *mut u8) -> R<*mut u8> {
    if size == 0 {
        return Ok(ptr::null_mut());
    }
    let h = chan.hdr();
    let mut at = 0;
    let mut t0 = 0;
    while at < size {
        let done = h.req_done.load(Ordering::Acquire);
        if done > size as u64 {
            return Err(libc::EFAULT); // the client gave up, or scribbles
        }
        let done = done as usize;
        if done > at {
            // SAFETY: at < done <= size <= chan.cap (validated), the mapping
            // is size-sealed, and buf holds at least size bytes.
            unsafe { ptr::copy_nonoverlapping(chan.data().add(at), buf.add(at), done - at) };
            at = done;
            t0 = 0; // progress: the stall clock starts again
            continue;
        }
        let now = now_ns();
        if t0 == 0 {
            t0 = now;
        }
        if now - t0 > STALL_NS || chan.gone.load(Ordering::Acquire) {
            return Err(libc::EINTR);
        }
        if now - t0 < STALL_SPIN_NS && h.ccpu.load(Ordering::Relaxed) != cpu() {
            spin_while(|| h.req_done.load(Ordering::Acquire) as usize == at);
            continue;
        }
        let w = h.swake.load(Ordering::SeqCst);
        h.ssleep.store(1, Ordering::SeqCst);
        if h.req_done.load(Ordering::SeqCst) as usize == at {
            futex_wait(&h.swake, w, 10_000_000);
        }
        h.ssleep.store(0, Ordering::Relaxed);
    }
    Ok(buf)
}

pub fn capacity(chan: &SrvChan) -> usize {
    chan.cap
}

/// Finishes a fast call: the results (in `data`, our memory) go into the
/// channel, the client is woken. EFAULT if `data` is unreadable.
pub fn complete(chan: &SrvChan, data: *const u8, size: usize, readable: bool) -> R<()> {
    if size > 0 {
        if readable {
            // SAFETY: `data` is known readable for `size` bytes (our own
            // buffer or live stack); a procedure may also return a pointer
            // into the channel itself, so ranges may overlap.
            unsafe { ptr::copy(data, chan.data(), size) };
        } else {
            sys::copy_in_bytes(data, chan.data(), size)?;
        }
    }
    finish(chan, 0, size as u64, 0);
    Ok(())
}

/// Finishes a fast call whose reply went over the channel's socket.
pub fn complete_slow(chan: &SrvChan) {
    finish(chan, 0, 0, 1);
}

/// A reply with descriptors is about to go over the channel's socket: the
/// client will say whether it took them (`taken`).
pub fn expect_ack(chan: &SrvChan) {
    chan.hdr().rep_ack.store(ACK_WAIT, Ordering::SeqCst);
}

/// Did the client take the descriptors of the reply just sent? Waits for
/// its answer at most `wire::ACK_MS`; a client that is gone or says
/// nothing took them (a client can only mislead its own call here).
pub fn taken(chan: &SrvChan) -> bool {
    let h = chan.hdr();
    let t0 = now_ns();
    loop {
        let v = h.rep_ack.load(Ordering::SeqCst);
        if v != ACK_WAIT {
            return v != super::wire::ACK_DROPPED as u32;
        }
        if now_ns() - t0 > super::wire::ACK_MS as u64 * 1_000_000
            || chan.gone.load(Ordering::Acquire)
            || super::ident::hung_up(chan.sock.as_raw_fd())
        {
            // A client that answered and then went (or hung up) between
            // the load above and this check has answered: read it again.
            let v = h.rep_ack.load(Ordering::SeqCst);
            return v != super::wire::ACK_DROPPED as u32;
        }
        futex_wait(&h.rep_ack, ACK_WAIT, 10_000_000);
    }
}

/// Finishes a fast call with an error.
pub fn complete_error(chan: &SrvChan, err: i32) {
    finish(chan, err as u32, 0, 0);
}

fn finish(chan: &SrvChan, status: u32, size: u64, slow: u32) {
    *lock(&chan.serving) = 0;
    let h = chan.hdr();
    if slow != 0 {
        // The reply's messages follow on the socket and wake the client
        // themselves; a wake-up for an earlier call on this channel that
        // another thread is still sending must be out before them.
        while chan.waking.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
    } else {
        chan.waking.fetch_add(1, Ordering::SeqCst);
    }
    h.rep_status.store(status, Ordering::Relaxed);
    h.rep_size.store(size, Ordering::Relaxed);
    h.rep_slow.store(slow, Ordering::Relaxed);
    // cwake first, then state: the client spins on this line and takes it
    // back as soon as it sees REP, so every write to it goes before.
    h.cwake.fetch_add(1, Ordering::SeqCst);
    h.state.store(C_REP, Ordering::SeqCst);
    if slow == 0 {
        if h.csleep.load(Ordering::SeqCst) != 0 {
            wake_client(chan);
        }
        chan.waking.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Wakes the client of a channel: it sleeps in ppoll on its end of the
/// channel's socket (so that no signal can slip in between its last look
/// at the channel and its sleep), and one byte wakes it.
fn wake_client(chan: &SrvChan) {
    let b = 0u8;
    // SAFETY: sending one byte from a local on our own socket.
    unsafe {
        libc::send(
            chan.sock.as_raw_fd(),
            (&b as *const u8).cast(),
            1,
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
}

/// Marks the calling thread as serving `chan` (for cancellation).
pub fn serving(chan: &SrvChan) {
    // SAFETY: pthread_self has no preconditions.
    *lock(&chan.serving) = unsafe { libc::pthread_self() } as u64;
}

// ---------------------------------------------------------------------
// Client side.

/// A client's channel to one door.
struct CliChan {
    /// The door descriptor's socket (st_dev, st_ino).
    key: (u64, u64),
    id: u32,
    map: Map,
    cap: usize,
    /// Client end of the channel's socket pair.
    sock: OwnedFd,
    /// The channel's (size-sealed) memfd, held while the channel lives.
    mem: OwnedFd,
    cred_gen: u64,
    /// The descriptor number last checked to name this door, and its
    /// epoch then (-1: none).
    fd: RawFd,
    epoch: u64,
}
impl CliChan {
    fn hdr(&self) -> &ChanHdr {
        // SAFETY: the mapping starts with a ChanHdr.
        unsafe { &*(self.map.ptr as *const ChanHdr) }
    }
    fn dead(&self) -> bool {
        self.hdr().state.load(Ordering::Acquire) == C_DEAD
    }
    /// Made under the current credentials, and large enough for `size`?
    fn fits(&self, gen_now: u64, size: usize) -> bool {
        self.cred_gen == gen_now && self.cap >= size
    }
}
impl Drop for CliChan {
    fn drop(&mut self) {
        fork_fds_forget(self.sock.as_raw_fd());
        fork_fds_forget(self.mem.as_raw_fd());
    }
}

/// Every client-side fast-path descriptor of this process (all threads), as
/// a bitmap a fork child can walk without allocating: the child closes them
/// before user code runs. Descriptors beyond it are not used for channels.
const FORK_FDS: usize = 65536;
static FAST_FDS: [AtomicU64; FORK_FDS / 64] = [const { AtomicU64::new(0) }; FORK_FDS / 64];

fn fork_fds_note(fd: RawFd) -> bool {
    match usize::try_from(fd) {
        Ok(i) if i < FORK_FDS => {
            FAST_FDS[i / 64].fetch_or(1 << (i % 64), Ordering::SeqCst);
            true
        }
        _ => false,
    }
}

fn fork_fds_forget(fd: RawFd) {
    if let Ok(i) = usize::try_from(fd)
        && i < FORK_FDS
    {
        FAST_FDS[i / 64].fetch_and(!(1 << (i % 64)), Ordering::SeqCst);
    }
}

/// Bumped by the set*id wrappers (capi/ids.rs): channels made before a
/// credential change are not used after it.
pub static CRED_GEN: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static MINE: std::cell::RefCell<Vec<CliChan>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// Channels per thread kept at most (least recently made go first).
const MAX_CHANS: usize = 32;

/// In a fork child: every thread's channels belong to the parent. Their
/// mappings are not in the child (MADV_DONTFORK); close every descriptor
/// (all threads', from the bitmap) and forget the forking thread's records.
/// Allocates and frees nothing (an allocator lock may be held in a fork
/// child) and takes no lock.
pub fn after_fork_child() {
    for (w, word) in FAST_FDS.iter().enumerate() {
        let mut bits = word.swap(0, Ordering::SeqCst);
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            sys::close_own((w * 64 + b) as RawFd);
        }
    }
    let _ = MINE.try_with(|m| {
        if let Ok(mut v) = m.try_borrow_mut() {
            // The records are forgotten, never dropped: their descriptors
            // are closed above and their mappings are not in this process.
            std::mem::forget(std::mem::take(&mut *v));
        }
    });
}

static ATFORK: OnceLock<()> = OnceLock::new();

extern "C" fn atfork_child() {
    after_fork_child();
}

/// Registers `after_fork_child` as a fork handler once, before the first
/// channel exists.
pub fn init_atfork() {
    ATFORK.get_or_init(|| {
        // SAFETY: the handler is a plain extern "C" function.
        unsafe { libc::pthread_atfork(None, None, Some(atfork_child)) };
    });
}

/// Drops this thread's channels whose door is gone (a door_revoke by this
/// thread then leaves nothing behind).
pub fn sweep_dead() {
    let _ = MINE.try_with(|m| {
        if let Ok(mut v) = m.try_borrow_mut() {
            v.retain(|c| !c.dead());
        }
    });
}

/// Sets up a channel to the door whose client socket is `key` (the socket
/// that `fd` named when the caller checked it). The number `fd` may be
/// replaced at any moment (dup2 from another thread), so the door is
/// identified and handed to its manager through a private duplicate, made
/// first and checked to be that very socket: the channel then serves the
/// door `key` names, never whatever `fd` names a moment later (else a later
/// call through `fd` naming `key` would reach another door).
fn new_channel(fd: RawFd, key: (u64, u64), cap: usize) -> R<CliChan> {
    // A process that only calls doors forks too: its children must drop
    // the channels (after_fork_child).
    super::door::init_atfork();
    init_atfork();
    let pin = sys::dup_own(fd)?;
    let st = sys::fstat(pin.as_raw_fd())?;
    if (st.st_dev, st.st_ino) != key {
        return Err(libc::EAGAIN); // replaced since the caller's check
    }
    let id = super::ident::identify_socket(pin.as_raw_fd())?;
    let len = DATA_OFF + cap;
    let mem = memfd(len)?;
    let (mine, theirs) = sys::seqpacket_pair()?;
    // Two bytes for the server's manager, presenting this thread's real
    // and saved ids (checked by the kernel now): the door_ucred ids of
    // every call on this channel, with the euid/egid/groups the kernel
    // records for this socket pair.
    let ids_gen = CRED_GEN.load(Ordering::Acquire);
    sys::creds::send_ids(mine.as_raw_fd(), 0, sys::creds::Held::Real, ids_gen)?;
    sys::creds::send_ids(mine.as_raw_fd(), 0, sys::creds::Held::Saved, ids_gen)?;
    if !fork_fds_note(mem.as_raw_fd()) || !fork_fds_note(mine.as_raw_fd()) {
        fork_fds_forget(mem.as_raw_fd());
        return Err(libc::EMFILE);
    }
    let chan = CliChan {
        key,
        id: 0,
        map: Map::new(mem.as_raw_fd(), len, true).inspect_err(|_| {
            fork_fds_forget(mem.as_raw_fd());
            fork_fds_forget(mine.as_raw_fd());
        })?,
        cap,
        sock: mine,
        mem,
        cred_gen: CRED_GEN.load(Ordering::Acquire),
        fd: -1,
        epoch: 0,
    };
    // SAFETY: a fresh zeroed mapping of len bytes starting with a ChanHdr.
    unsafe { (*(chan.map.ptr as *mut ChanHdr)).magic = CHAN_MAGIC };
    let mut chan = chan;
    chan.id = super::request::chan_setup(pin.as_raw_fd(), &id.name, &chan.mem, theirs, cap)?;
    Ok(chan)
}

/// Tries a call on the fast path. None: take the socket path (first call
/// on a door from this thread, descriptors, no idle fast thread, …).
pub fn call(
    fd: RawFd,
    arg: Option<&mut door_arg_t>,
    data: *const u8,
    size: usize,
    params: *mut door_arg_t,
) -> Option<R<bool>> {
    if !enabled() || size > CAP_MAX {
        return None;
    }
    // Read before any check of the descriptor, so that a close after the
    // check is seen at the next call.
    let epoch = crate::sys::fdwatch::epoch(fd);
    MINE.try_with(|m| {
        let mut v = m.try_borrow_mut().ok()?;
        let gen_now = CRED_GEN.load(Ordering::Acquire);
        // A channel that checked this very descriptor number at this epoch:
        // the number still names the same socket (fdwatch.rs), no fstat.
        let quick = epoch.and_then(|e| {
            v.iter()
                .position(|c| c.fd == fd && c.epoch == e && !c.dead() && c.fits(gen_now, size))
        });
        let pos = match quick {
            Some(p) => p,
            None => slow_lookup(&mut v, fd, epoch, size, gen_now)?,
        };
        let c = &v[pos];
        let r = call_on(c, arg, data, size, params);
        if matches!(r, Some(Err(libc::EINTR))) {
            // Abandoned mid-call: close it now, so the server sees the abort.
            // (EAGAIN: withdrawn before any thread took it; the channel is
            // idle and stays.)
            v.remove(pos);
        } else if r.is_none() && super::ident::hung_up(c.sock.as_raw_fd()) {
            // Falling back to the socket path because the server side is
            // gone (dead server, unreachable door): the channel goes now.
            v.remove(pos);
        }
        // A dead or dirty channel is replaced at this thread's next call.
        r
    })
    .ok()
    .flatten()
}

/// Finds (or makes) this thread's channel to the door `fd` names, checking
/// the descriptor with `fstat`; records the descriptor number and epoch
/// for the quick lookup.
fn slow_lookup(
    v: &mut Vec<CliChan>,
    fd: RawFd,
    epoch: Option<u64>,
    size: usize,
    gen_now: u64,
) -> Option<usize> {
    let st = sys::fstat(fd).ok()?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return None;
    }
    let key = (st.st_dev, st.st_ino);
    // Drop channels that are dead, stale or too small for this call.
    v.retain(|c| !(c.dead() || (c.key == key && !c.fits(gen_now, size))));
    let pos = match v.iter().position(|c| c.key == key) {
        Some(p) => p,
        None => {
            // Before adding one, drop channels whose server side is gone
            // (server dead, door revoked or unreachable): one poll; and
            // those whose door end is closed everywhere (`end_gone`).
            let mut pf: Vec<libc::pollfd> = v
                .iter()
                .map(|c| libc::pollfd {
                    fd: c.sock.as_raw_fd(),
                    events: libc::POLLRDHUP,
                    revents: 0,
                })
                .collect();
            let ready = if pf.is_empty() {
                0
            } else {
                // SAFETY: pf is a valid array of pollfds; zero timeout.
                unsafe { libc::poll(pf.as_mut_ptr(), pf.len() as libc::nfds_t, 0) }
            };
            if ready > 0 {
                let mut i = 0;
                v.retain(|_| {
                    let gone =
                        pf[i].revents & (libc::POLLHUP | libc::POLLRDHUP | libc::POLLERR) != 0;
                    i += 1;
                    !gone
                });
            }
            v.retain(|c| c.hdr().end_gone.load(Ordering::Acquire) == 0);
            let cap = size.next_power_of_two().clamp(CAP_MIN, CAP_MAX);
            // At the descriptor limit the channel goes above it
            // (sys::Headroom), as the socket path's reply channel does.
            let c = sys::with_headroom(|| new_channel(fd, key, cap)).ok()?;
            if v.len() >= MAX_CHANS {
                v.remove(0);
            }
            v.push(c);
            v.len() - 1
        }
    };
    let c = &mut v[pos];
    (c.fd, c.epoch) = match epoch {
        Some(e) => (fd, e),
        None => (-1, 0),
    };
    Some(pos)
}

fn call_on(
    c: &CliChan,
    arg: Option<&mut door_arg_t>,
    data: *const u8,
    size: usize,
    params: *mut door_arg_t,
) -> Option<R<bool>> {
    let h = c.hdr();
    if h.state.load(Ordering::Acquire) != C_IDLE {
        return None;
    }
    let me = cpu();
    // Large arguments to a server thread parked on another CPU: post the
    // request first and fill it in while that thread copies it out.
    let piped = size >= 2 * PIPE_CHUNK
        && h.sparked.load(Ordering::SeqCst) != 0
        && h.scpu.load(Ordering::Relaxed) != me;
    if !piped
        && size > 0
        && let Err(e) = sys::copy_in_bytes(data, c.map.ptr.wrapping_add(DATA_OFF), size)
    {
        return Some(Err(e));
    }
    h.req_size.store(size as u64, Ordering::Relaxed);
    h.req_done
        .store(if piped { 0 } else { size as u64 }, Ordering::Relaxed);
    h.flags.store(
        if arg.is_none() { CF_NO_RESULTS } else { 0 },
        Ordering::Relaxed,
    );
    h.ccpu.store(me, Ordering::Relaxed);
    h.csleep.store(0, Ordering::Relaxed);
    let wake0 = h.cwake.load(Ordering::Acquire);
    let mut sigs = super::reply::SigBlock::new();
    h.state.store(C_REQ, Ordering::SeqCst);
    // A server thread parked on this channel: wake it. Otherwise kick the
    // pool through the channel's socket: its epoll leader takes the call.
    let mut server_cpu = u32::MAX;
    let mut kick_failed = false;
    if h.sparked.load(Ordering::SeqCst) != 0 {
        server_cpu = h.scpu.load(Ordering::Relaxed);
        h.swake.fetch_add(1, Ordering::SeqCst);
        if h.ssleep.load(Ordering::SeqCst) != 0 {
            futex_wake(&h.swake);
        }
    } else {
        let b = 0u8;
        // SAFETY: sending one byte from a local.
        let n = unsafe {
            libc::send(
                c.sock.as_raw_fd(),
                (&b as *const u8).cast(),
                1,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        // EAGAIN: kicks are queued already, the server will look.
        kick_failed = n != 1 && sys::errno() != libc::EAGAIN;
    }
    if piped {
        let dst = c.map.ptr.wrapping_add(DATA_OFF);
        let mut at = 0;
        while at < size {
            let n = PIPE_CHUNK.min(size - at);
            let ok = sys::copy_in_bytes(data.wrapping_add(at), dst.wrapping_add(at), n).is_ok();
            at = if ok { at + n } else { usize::MAX };
            h.req_done.store(at as u64, Ordering::Release);
            if h.ssleep.load(Ordering::SeqCst) != 0 {
                h.swake.fetch_add(1, Ordering::SeqCst);
                futex_wake(&h.swake);
            }
            if !ok {
                // The server answers EFAULT (or never took the call).
                let r = wait_reply(c, arg, wake0, server_cpu, params, &mut sigs);
                return match r {
                    Err(WITHDRAWN) => None,
                    _ => Some(Err(libc::EFAULT)),
                };
            }
        }
    }
    // The server side is gone (the kick could not be sent): withdraw and
    // use the socket path, unless a thread took the call meanwhile.
    if kick_failed
        && h.state
            .compare_exchange(C_REQ, C_IDLE, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    {
        return None;
    }
    withdrawn_to_none(wait_reply(c, arg, wake0, server_cpu, params, &mut sigs))
}

/// Consumes the one-byte wake-ups queued on the client's end of a
/// channel's socket (never a reply: those are longer). True if a longer
/// message is left at the head (a reply on its way, or a peer's junk).
fn drain_wakes(fd: RawFd) -> bool {
    let mut b = [0u8; 1];
    loop {
        // SAFETY: peeking into a local buffer; MSG_TRUNC gives the length.
        let n = unsafe {
            libc::recv(
                fd,
                b.as_mut_ptr().cast(),
                1,
                libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            )
        };
        if n != 1 {
            return n > 1;
        }
        // SAFETY: as above, now consuming that one-byte message.
        unsafe { libc::recv(fd, b.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) };
    }
}

fn withdrawn_to_none(r: R<bool>) -> Option<R<bool>> {
    match r {
        Err(WITHDRAWN) => None,
        r => Some(r),
    }
}

fn wait_reply(
    c: &CliChan,
    arg: Option<&mut door_arg_t>,
    mut wake: u32,
    server_cpu: u32,
    params: *mut door_arg_t,
    sigs: &mut super::reply::SigBlock,
) -> R<bool> {
    let h = c.hdr();
    let me = cpu();
    let posted = now_ns();
    let sock = c.sock.as_raw_fd();
    // A message other than a wake-up waits on the socket (ppoll would not
    // sleep).
    let mut junk = false;
    if server_cpu != me && server_cpu != u32::MAX {
        spin_while(|| h.state.load(Ordering::Acquire) != C_REP);
    }
    loop {
        let s = h.state.load(Ordering::Acquire);
        if s == C_REP {
            break;
        }
        if s == C_DEAD {
            return Err(libc::EBADF);
        }
        if s == C_REQ
            && now_ns() - posted > TAKE_NS
            && h.state
                .compare_exchange(C_REQ, C_IDLE, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            // Withdrawn: no server thread will ever run it. A signal
            // handled meanwhile ends the call (as it would have in the
            // sleep); otherwise the socket path sends it afresh.
            return Err(if sigs.interrupted() {
                libc::EAGAIN
            } else {
                WITHDRAWN
            });
        }
        // The server sends a wake-up only after REP and only if it sees
        // csleep, so this look at the state cannot miss both.
        h.csleep.store(1, Ordering::SeqCst);
        let s = h.state.load(Ordering::SeqCst);
        if s == C_REP || s == C_DEAD {
            continue;
        }
        let w = h.cwake.load(Ordering::Acquire);
        if w != wake {
            wake = w;
            continue;
        }
        // While nobody has taken the request, wake up often enough to
        // withdraw it in time.
        let nap = if s == C_REQ { 10_000_000 } else { SLEEP_NS };
        // A handled signal, caught while we looked (it stayed pending:
        // ppoll, which runs it with the caller's mask, returns at once) or
        // while we sleep: withdraw if no server took the call yet (EAGAIN),
        // otherwise abandon it (EINTR; the server sees our socket go).
        let r = if junk {
            // The socket stays readable: nap on the wake word instead,
            // briefly, and look for a signal that came meanwhile.
            let t = futex_wait(&h.cwake, w, nap.min(JUNK_NAP_NS));
            if sigs.interrupted() {
                libc::EINTR
            } else if t == libc::ETIMEDOUT {
                t // (is the server still there?)
            } else {
                0
            }
        } else {
            sigs.sleep(sock, nap)
        };
        if r == 0 {
            // Readable: wake-ups (stale ones of earlier calls included) are
            // consumed before the next look at the state.
            junk = drain_wakes(sock);
        } else if r == libc::EPIPE {
            junk = false;
        }
        match r {
            libc::EINTR => {
                return Err(
                    match h.state.compare_exchange(
                        C_REQ,
                        C_IDLE,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => libc::EAGAIN,
                        Err(_) => libc::EINTR,
                    },
                );
            }
            libc::ETIMEDOUT | libc::EPIPE
                // Is the server still there?
                if super::ident::hung_up(sock) => {
                    match h.state.compare_exchange(
                        C_REQ,
                        C_DEAD,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        // Never taken, or the door was revoked first.
                        Ok(_) | Err(C_DEAD) => return Err(libc::EBADF),
                        // The reply came before the hang-up: take it.
                        Err(C_REP) => {}
                        Err(_) => return Err(libc::EINTR),
                    }
                }
            _ => {}
        }
    }
    sigs.restore();
    h.csleep.store(0, Ordering::Relaxed);
    let status = h.rep_status.load(Ordering::Acquire);
    let size = h.rep_size.load(Ordering::Acquire) as usize;
    let slow = h.rep_slow.load(Ordering::Acquire) != 0;
    let res = if status != 0 {
        Err(super::wire::peer_errno(status))
    } else if slow {
        let _ = drain_wakes(sock);
        let r = super::reply::receive_reply(sock, arg, |took| {
            let v = if took {
                super::wire::ACK_TAKEN
            } else {
                super::wire::ACK_DROPPED
            };
            h.rep_ack.store(v as u32, Ordering::SeqCst);
            futex_wake(&h.rep_ack);
        })
        .map(|_| false);
        if r.is_err() {
            // Part of that reply may still sit in the socket: never reuse
            // this channel (the caller drops channels not left idle).
            h.state.store(C_DEAD, Ordering::Release);
            return r;
        }
        r
    } else if size > c.cap {
        Err(libc::EINTR) // a server writing nonsense
    } else {
        let data = c.map.ptr.wrapping_add(DATA_OFF) as *const u8;
        super::reply::place_results(arg, size, params, |dst, n| {
            sys::copy_out_bytes(dst, data, n)
        })
    };
    h.state.store(C_IDLE, Ordering::Release);
    res
}

use std::mem::size_of;
