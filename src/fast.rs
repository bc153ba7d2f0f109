//! The fast path: door calls through shared memory, with a futex hand-off
//! and adaptive spinning (DESIGN §3). The socket path (`client.rs`,
//! `server.rs`) stays the correct fallback for everything the fast path
//! does not take: descriptors, first contact, no idle fast thread.
//!
//! * A **board** per pool (server-made shared memory, mapped by clients):
//!   one slot per idle server thread that waits as a *follower*. A client
//!   claims an idle slot (CAS), names its channel there and wakes the
//!   thread (at most one futex wake). One idle thread of the pool always
//!   waits in `epoll` instead (the *leader*), so socket calls are served.
//! * A **channel** per (client thread, door): client-made shared memory
//!   with a state word, sizes and a data area, plus a socket pair whose
//!   server end tells the server when the client is gone and carries
//!   replies that do not fit (too large, or with descriptors).
//! * **Spinning** only while the peer runs on another CPU (each side
//!   publishes its CPU), for a bounded time; then a futex sleep. Every
//!   futex sleep has a timeout, so a signal ends a client's wait with EINTR
//!   even under SA_RESTART, and a dead server is noticed.
//! * The server copies sizes out of shared memory and validates them before
//!   use; arguments up to `COPY_MAX` are copied into the thread's own
//!   buffer, larger ones are read in place (KNOWN_DIFFERENCES.md).
//! * `LIBDOOR_FASTPATH=0` turns it off.

use crate::sys::OwnedFd;
use std::os::fd::{AsRawFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::abi::*;
use crate::door::{Door, Pool, lock};
use crate::server::Caller;
use crate::sys::{self, R};

pub const SLOTS: usize = 64;
const BOARD_MAGIC: u32 = 0x4442_5244; // "DRBD"
const CHAN_MAGIC: u32 = 0x4448_4344; // "DCHD"
/// Offset of the data area in a channel.
pub const DATA_OFF: usize = 4096;
/// Data capacity of a new channel; grown on demand.
const CAP_MIN: usize = 64 * 1024;
/// Arguments up to this size are copied out of shared memory before the
/// procedure sees them (illumos' own bounce-buffer size, door_max_arg).
pub const COPY_MAX: usize = 16 * 1024;
/// Spin budget while the peer runs on another CPU.
const SPIN_NS: u64 = 50_000;
/// A client's futex sleeps wake up at least this often to check that the
/// server is alive. (A parked server thread sleeps without a timeout: an
/// armed timer costs ~0.3 µs per sleep in a VM; the manager's sweep,
/// `sweep_parked`, wakes a follower that a claim failed to wake.)
const SLEEP_NS: i64 = 200_000_000;
/// A request no server thread has taken after this long is withdrawn and
/// sent on the socket path instead: the board is shared with every client
/// of the pool, and a hostile one can fake idle slots.
const TAKE_NS: u64 = 40_000_000;
/// wait_reply's answer for "withdrawn: use the socket path".
const WITHDRAWN: i32 = -1;

// Slot states.
const S_FREE: u32 = 0;
const S_IDLE: u32 = 1;
const S_CLAIMED: u32 = 2;
// Channel states.
const C_IDLE: u32 = 0;
const C_REQ: u32 = 1;
const C_TAKEN: u32 = 2;
const C_REP: u32 = 3;
const C_DEAD: u32 = 4;
// Channel request flags.
const CF_NO_RESULTS: u32 = 1;

#[repr(C, align(64))]
pub struct Slot {
    state: AtomicU32,
    seq: AtomicU32,
    chan: AtomicU32,
    cpu: AtomicU32,
    sleeping: AtomicU32,
}

#[repr(C)]
pub struct Board {
    magic: u32,
    nslots: u32,
    _pad: [u32; 14],
    slots: [Slot; SLOTS],
}
const BOARD_LEN: usize = size_of::<Board>().div_ceil(4096) * 4096;

#[repr(C, align(64))]
struct ChanHdr {
    magic: u32,
    _version: u32,
    state: AtomicU32,
    flags: AtomicU32,
    cwake: AtomicU32,
    csleep: AtomicU32,
    ccpu: AtomicU32,
    scpu: AtomicU32,
    req_size: AtomicU64,
    rep_size: AtomicU64,
    rep_status: AtomicU32,
    rep_slow: AtomicU32,
}
const _: () = assert!(size_of::<ChanHdr>() <= DATA_OFF);

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
    fn new(fd: RawFd, len: usize) -> R<Map> {
        // SAFETY: mapping a memfd we were given, shared, pre-faulted.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            Err(sys::errno())
        } else {
            Ok(Map { ptr: p.cast(), len })
        }
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
        sys::cvt(libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, SIZE_SEALS))?;
    }
    Ok(fd)
}

/// Is `fd` (from a peer) a memfd of at least `len` bytes whose size is
/// sealed? Only then may we map it and touch it without fault catching.
fn sealed_at_least(fd: RawFd, len: usize) -> bool {
    // SAFETY: F_GET_SEALS on a descriptor we hold.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    seals >= 0
        && seals & (libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL)
            == libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL
        && sys::fstat(fd).is_ok_and(|st| {
            st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_size as usize >= len
        })
}

// ---------------------------------------------------------------------
// Server side.

/// A pool's board, made on the first channel to one of its doors.
pub struct BoardMap {
    map: Map,
    pub fd: OwnedFd,
}
impl BoardMap {
    fn board(&self) -> &Board {
        // SAFETY: the mapping is BOARD_LEN bytes of Board (plain atomics).
        unsafe { &*(self.map.ptr as *const Board) }
    }
}

/// The fast-path part of a pool. What decides who leads lives here, in
/// process memory, never on the shared board a client could scribble on.
pub struct PoolFast {
    pub board: OnceLock<BoardMap>,
    /// Threads waiting in epoll (the leader, and any beyond the slots).
    pub epoll_waiters: AtomicUsize,
    /// Which slots have one of our followers parked in them.
    parked: [AtomicU32; SLOTS],
    /// A promotion request per slot (the follower goes to epoll).
    promote: [AtomicU32; SLOTS],
    /// The slot's seq when its follower parked, and what the manager's
    /// last sweep saw of a follower that looked stuck (1 + seq, 0: none).
    armed_seq: [AtomicU32; SLOTS],
    stuck: [AtomicU32; SLOTS],
}

impl Default for PoolFast {
    fn default() -> Self {
        PoolFast {
            board: OnceLock::new(),
            epoll_waiters: AtomicUsize::new(0),
            parked: [const { AtomicU32::new(0) }; SLOTS],
            promote: [const { AtomicU32::new(0) }; SLOTS],
            armed_seq: [const { AtomicU32::new(0) }; SLOTS],
            stuck: [const { AtomicU32::new(0) }; SLOTS],
        }
    }
}

fn board_of(pool: &Pool) -> R<&BoardMap> {
    if let Some(b) = pool.fast.board.get() {
        return Ok(b);
    }
    let fd = memfd(BOARD_LEN)?;
    let map = Map::new(fd.as_raw_fd(), BOARD_LEN)?;
    // SAFETY: a fresh zeroed mapping of BOARD_LEN bytes.
    unsafe {
        (*(map.ptr as *mut Board)).magic = BOARD_MAGIC;
        (*(map.ptr as *mut Board)).nslots = SLOTS as u32;
    }
    let _ = pool.fast.board.set(BoardMap { map, fd });
    pool.fast.board.get().ok_or(libc::ENOMEM)
}

/// A channel as the server holds it.
pub struct SrvChan {
    pub id: u32,
    map: Map,
    cap: usize,
    pub door: Arc<Door>,
    pub caller: Caller,
    /// Server end of the channel's socket pair.
    pub sock: OwnedFd,
    /// The thread serving a call on this channel, 0 if none. A mutex, so
    /// that chan_gone cannot cancel a thread that has moved on.
    pub serving: Mutex<u64>,
}
impl SrvChan {
    fn hdr(&self) -> &ChanHdr {
        // SAFETY: the mapping starts with a ChanHdr (atomics only).
        unsafe { &*(self.map.ptr as *const ChanHdr) }
    }
    fn data(&self) -> *mut u8 {
        self.map.ptr.wrapping_add(DATA_OFF)
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
        crate::door::bury(std::mem::take(&mut t.slots));
        t.pid = pid;
    }
    t
}

fn chan_by_id(id: u32) -> Option<Arc<SrvChan>> {
    let t = table();
    let i = (id & 0xffff) as usize;
    t.slots.get(i)?.as_ref().filter(|c| c.id == id).cloned()
}

/// The manager's K_CHAN request: map the client's channel, record who it
/// is, and answer with the channel id and the pool's board.
pub fn setup(
    door: &Arc<Door>,
    mem: OwnedFd,
    sock: OwnedFd,
    caller: Caller,
    cap: usize,
) -> R<(u32, RawFd)> {
    let len = DATA_OFF.checked_add(cap).ok_or(libc::EINVAL)?;
    if cap < 16 || !sealed_at_least(mem.as_raw_fd(), len) {
        return Err(libc::EINVAL);
    }
    // The mapping is all we need: the memfd is closed when we return.
    let map = Map::new(mem.as_raw_fd(), len)?;
    let board = board_of(&door.pool)?.fd.as_raw_fd();
    let mut t = table();
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
        caller,
        sock,
        serving: Mutex::new(0),
    });
    crate::control::watch_chan(chan.sock.as_raw_fd(), id);
    t.slots[i] = Some(chan);
    Ok((id, board))
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
    crate::control::unwatch_chan(chan.sock.as_raw_fd());
    let serving = lock(&chan.serving);
    if *serving != 0 && chan.door.attrs.load(Ordering::Relaxed) & DOOR_NO_CANCEL == 0 {
        // SAFETY: the thread is alive: it clears `serving` (under this
        // lock) before it can finish the call or exit.
        unsafe { libc::pthread_cancel(*serving as libc::pthread_t) };
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
        c.hdr().cwake.fetch_add(1, Ordering::Release);
        futex_wake(&c.hdr().cwake);
        crate::control::unwatch_chan(c.sock.as_raw_fd());
    }
}

/// What a parked follower got.
pub enum Parked {
    /// A call on this channel (taken: state is C_TAKEN).
    Call(Arc<SrvChan>),
    /// Go and wait in epoll instead.
    Epoll,
    /// Nothing (spurious or invalid); park again.
    Nothing,
}

thread_local! {
    /// (board address, slot index) this thread uses, and the CPU its last
    /// client ran on (spin only if that differs from ours).
    static MY_SLOT: std::cell::Cell<(usize, usize, u32)> = const { std::cell::Cell::new((0, usize::MAX, u32::MAX)) };
}

/// Frees this thread's slot when it exits.
struct SlotRelease;
impl Drop for SlotRelease {
    fn drop(&mut self) {
        let (b, i, _) = MY_SLOT.with(|c| c.get());
        if b != 0 && i < SLOTS {
            // SAFETY: the board mapping lives as long as its pool; a thread
            // holds its pool (Arc) while it parks on it.
            let board = unsafe { &*(b as *const Board) };
            board.slots[i].state.store(S_FREE, Ordering::Release);
        }
    }
}
thread_local! {
    static SLOT_RELEASE: SlotRelease = const { SlotRelease };
}

thread_local! {
    /// Our slot, already idle since just before our last fast reply
    /// (`pre_arm`): (board address, slot index, seq when armed).
    static PREARMED: std::cell::Cell<Option<(usize, usize, u32)>> = const { std::cell::Cell::new(None) };
}

/// Makes slot `i` idle for this thread: returns the seq a claim will change.
fn arm(pool: &Pool, board: &Board, i: usize) -> u32 {
    let slot = &board.slots[i];
    slot.cpu.store(cpu(), Ordering::Relaxed);
    slot.chan.store(0, Ordering::Relaxed);
    let seq = slot.seq.load(Ordering::Acquire);
    pool.fast.armed_seq[i].store(seq, Ordering::Relaxed);
    pool.fast.promote[i].store(0, Ordering::SeqCst);
    pool.fast.parked[i].store(1, Ordering::SeqCst);
    slot.state.store(S_IDLE, Ordering::SeqCst);
    seq
}

/// A follower about to publish a fast reply makes its slot idle first, so
/// that the client's next call (which may run the moment the reply is out,
/// before this thread is back in `park`) finds it and need not fall back to
/// the socket path. `park` then serves a claim that came in meanwhile.
pub fn pre_arm(pool: &Pool) {
    if !enabled() || pool.fast.epoll_waiters.load(Ordering::SeqCst) == 0 {
        return; // this thread will lead instead
    }
    let Some(bm) = pool.fast.board.get() else {
        return;
    };
    let board = bm.board();
    let base = board as *const Board as usize;
    let (b, i, _) = MY_SLOT.with(|c| c.get());
    if b != base || i >= SLOTS {
        return;
    }
    let seq = arm(pool, board, i);
    PREARMED.with(|c| c.set(Some((base, i, seq))));
}

/// The fast reply `pre_arm` prepared for did not go out (door_return
/// returns an error to the procedure): take the slot back unless a client
/// claimed it already (then the next `park` serves that claim).
pub fn unarm(pool: &Pool) {
    let Some((b, i, _)) = PREARMED.with(|c| c.get()) else {
        return;
    };
    // SAFETY: see SlotRelease.
    let slot = &unsafe { &*(b as *const Board) }.slots[i];
    if slot
        .state
        .compare_exchange(S_IDLE, S_CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
    {
        pool.fast.parked[i].store(0, Ordering::SeqCst);
        pool.fast.promote[i].store(0, Ordering::SeqCst);
        PREARMED.with(|c| c.set(None));
    }
}

/// Parks an idle server thread of `pool` as a follower, if the pool has a
/// board and another thread is its epoll leader. None: wait in epoll.
pub fn park(pool: &Pool) -> Option<Parked> {
    let pre = PREARMED.with(|c| c.take());
    if !enabled() {
        return None;
    }
    let Some(bm) = pool.fast.board.get() else {
        if let Some((b, i, _)) = pre {
            // SAFETY: see SlotRelease.
            unsafe { &*(b as *const Board) }.slots[i]
                .state
                .store(S_FREE, Ordering::Release);
            MY_SLOT.with(|c| c.set((0, usize::MAX, u32::MAX)));
        }
        return None;
    };
    let board = bm.board();
    let base = board as *const Board as usize;
    let (mut b, mut i, last_cpu) = MY_SLOT.with(|c| c.get());
    let armed = match pre {
        Some((pb, pi, seq)) if pb == base && pi == i => Some(seq),
        _ => None,
    };
    if armed.is_none() && pool.fast.epoll_waiters.load(Ordering::SeqCst) == 0 {
        return None; // be the leader
    }
    if armed.is_none() && (b != base || i >= SLOTS) {
        // Take a free slot on this board (giving up one on another board).
        if b != 0 && i < SLOTS {
            // SAFETY: see SlotRelease.
            unsafe { &*(b as *const Board) }.slots[i]
                .state
                .store(S_FREE, Ordering::Release);
        }
        i = (0..SLOTS).find(|&k| {
            board.slots[k]
                .state
                .compare_exchange(S_FREE, S_CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })?;
        b = base;
        MY_SLOT.with(|c| c.set((b, i, last_cpu)));
        SLOT_RELEASE.with(|_| {});
    }
    let slot = &board.slots[i];
    let me = cpu();
    let seq = match armed {
        Some(seq) => seq,
        None => arm(pool, board, i),
    };
    // Leaving for epoll is only allowed while nobody has claimed us: a
    // claim that got in first is served (the next park leads instead).
    let try_leave = |pool: &Pool| {
        let ok = slot
            .state
            .compare_exchange(S_IDLE, S_CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if ok {
            pool.fast.parked[i].store(0, Ordering::SeqCst);
            pool.fast.promote[i].store(0, Ordering::SeqCst);
        }
        ok
    };
    // Dekker with the leader leaving epoll: if it left meanwhile, take its place.
    if pool.fast.epoll_waiters.load(Ordering::SeqCst) == 0 && try_leave(pool) {
        return Some(Parked::Epoll);
    }
    // Spin while the last client ran on another CPU, then sleep.
    if last_cpu != u32::MAX && last_cpu != me {
        spin_while(|| slot.seq.load(Ordering::Acquire) == seq);
    }
    while slot.seq.load(Ordering::Acquire) == seq {
        if pool.fast.promote[i].load(Ordering::SeqCst) != 0
            || pool.fast.epoll_waiters.load(Ordering::SeqCst) == 0
        {
            if try_leave(pool) {
                return Some(Parked::Epoll);
            }
            break; // claimed meanwhile: serve that first
        }
        slot.sleeping.store(1, Ordering::SeqCst);
        if slot.seq.load(Ordering::SeqCst) == seq
            && pool.fast.promote[i].load(Ordering::SeqCst) == 0
        {
            futex_wait(&slot.seq, seq, 0);
        }
        slot.sleeping.store(0, Ordering::Relaxed);
    }
    // Woken: by a promotion (slot still idle: go lead) or by a claim.
    if slot.state.load(Ordering::Acquire) == S_IDLE && try_leave(pool) {
        return Some(Parked::Epoll);
    }
    pool.fast.parked[i].store(0, Ordering::SeqCst);
    pool.fast.promote[i].store(0, Ordering::SeqCst);
    match slot.state.load(Ordering::Acquire) {
        S_CLAIMED => {
            let id = slot.chan.load(Ordering::Acquire);
            // Hold the slot (not idle) while serving.
            let Some(chan) = chan_by_id(id) else {
                return Some(Parked::Nothing);
            };
            if chan
                .hdr()
                .state
                .compare_exchange(C_REQ, C_TAKEN, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                return Some(Parked::Nothing);
            }
            let ccpu = chan.hdr().ccpu.load(Ordering::Relaxed);
            MY_SLOT.with(|c| c.set((b, i, ccpu)));
            chan.hdr().scpu.store(me, Ordering::Relaxed);
            Some(Parked::Call(chan))
        }
        _ => Some(Parked::Nothing),
    }
}

/// The manager's sweep (about once a second): wakes a parked follower whose
/// slot has been claimed, or its seq moved, without the follower waking,
/// and that has stayed so since the previous sweep: its claimer died
/// between claim and wake-up, or a hostile client scribbled on the board.
/// (The follower re-validates whatever it finds; an honest claim completes
/// in nanoseconds, never across two sweeps.)
pub fn sweep_parked(pool: &Pool) {
    let Some(bm) = pool.fast.board.get() else {
        return;
    };
    for i in 0..SLOTS {
        let s = &bm.board().slots[i];
        let seq = s.seq.load(Ordering::Acquire);
        let odd = pool.fast.parked[i].load(Ordering::SeqCst) != 0
            && (s.state.load(Ordering::Acquire) != S_IDLE
                || seq != pool.fast.armed_seq[i].load(Ordering::Relaxed));
        let seen = if odd { seq.wrapping_add(1).max(1) } else { 0 };
        if pool.fast.stuck[i].swap(seen, Ordering::Relaxed) == seen && seen != 0 {
            s.seq.fetch_add(1, Ordering::SeqCst);
            futex_wake(&s.seq);
        }
    }
}

/// The epoll leader is leaving to serve a socket call: hand the role to an
/// idle follower, if any.
pub fn promote(pool: &Pool) {
    let Some(bm) = pool.fast.board.get() else {
        return;
    };
    for i in 0..SLOTS {
        if pool.fast.parked[i].load(Ordering::SeqCst) != 0
            && pool.fast.promote[i]
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            // Wake it whatever the (shared, untrusted) slot says.
            let s = &bm.board().slots[i];
            s.seq.fetch_add(1, Ordering::SeqCst);
            futex_wake(&s.seq);
            return;
        }
    }
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
    Some((size, flags & CF_NO_RESULTS != 0))
}

/// Where the arguments of a fast call are: copied into `buf` when small,
/// in place otherwise.
pub fn args(chan: &SrvChan, size: usize, buf: *mut u8) -> *mut u8 {
    if size == 0 {
        return ptr::null_mut();
    }
    if size <= COPY_MAX {
        // SAFETY: size <= chan.cap (validated) and buf holds >= CHUNK bytes.
        unsafe { ptr::copy_nonoverlapping(chan.data(), buf, size) };
        buf
    } else {
        chan.data()
    }
}

pub fn capacity(chan: &SrvChan) -> usize {
    chan.cap
}

/// Finishes a fast call: the results (in `data`, our memory) go into the
/// channel, the client is woken. EFAULT if `data` is unreadable.
pub fn complete(chan: &SrvChan, data: *const u8, size: usize, readable: bool) -> R<()> {
    let in_chan = (data as usize) >= chan.data() as usize
        && (data as usize).saturating_add(size) <= chan.data() as usize + chan.cap;
    if size > 0 && !std::ptr::eq(data, chan.data()) {
        if readable || in_chan {
            // SAFETY: `data` is known readable for `size` bytes (our own
            // buffer, live stack, or the channel); ranges may overlap.
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

/// Finishes a fast call with an error.
pub fn complete_error(chan: &SrvChan, err: i32) {
    finish(chan, err as u32, 0, 0);
}

fn finish(chan: &SrvChan, status: u32, size: u64, slow: u32) {
    *lock(&chan.serving) = 0;
    let h = chan.hdr();
    h.rep_status.store(status, Ordering::Relaxed);
    h.rep_size.store(size, Ordering::Relaxed);
    h.rep_slow.store(slow, Ordering::Relaxed);
    // cwake first, then state: the client spins on this line and takes it
    // back as soon as it sees REP, so every write to it goes before.
    h.cwake.fetch_add(1, Ordering::SeqCst);
    h.state.store(C_REP, Ordering::SeqCst);
    if h.csleep.load(Ordering::SeqCst) != 0 {
        futex_wake(&h.cwake);
    }
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
    board: Arc<Map>,
    cred_gen: u64,
    /// The descriptor number last checked to name this door, and its
    /// epoch then (-1: none).
    fd: RawFd,
    epoch: u32,
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
    fn board(&self) -> &Board {
        // SAFETY: BOARD_LEN bytes of Board, checked at setup.
        unsafe { &*(self.board.ptr as *const Board) }
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

/// In a fork child the forking thread's channels belong to the parent's
/// thread: drop our copies of the mappings and sockets.
pub fn after_fork_child() {
    let _ = MINE.try_with(|m| {
        if let Ok(mut v) = m.try_borrow_mut() {
            // Inside fork(): close and unmap by hand, free nothing (a free
            // can deadlock on an allocator lock there); the memory of the
            // records is forgotten.
            let old = std::mem::take(&mut *v);
            for c in &old {
                sys::close_own(c.sock.as_raw_fd());
                sys::close_own(c.mem.as_raw_fd());
                // SAFETY: unmapping our copy of the channel mapping; the
                // record that owns it is forgotten below, never dropped.
                unsafe { libc::munmap(c.map.ptr.cast(), c.map.len) };
            }
            std::mem::forget(old);
        }
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

fn new_channel(fd: RawFd, key: (u64, u64), cap: usize) -> R<CliChan> {
    let id = crate::client::identify(fd)?;
    let len = DATA_OFF + cap;
    let mem = memfd(len)?;
    let map = Map::new(mem.as_raw_fd(), len)?;
    // SAFETY: a fresh zeroed mapping of len bytes starting with a ChanHdr.
    unsafe { (*(map.ptr as *mut ChanHdr)).magic = CHAN_MAGIC };
    let (mine, theirs) = sys::seqpacket_pair()?;
    let (chan_id, board_fd) = crate::control::chan_setup(fd, &id.name, &mem, theirs, cap)?;
    if !sealed_at_least(board_fd.as_raw_fd(), BOARD_LEN) {
        return Err(libc::EPROTO);
    }
    let board = Map::new(board_fd.as_raw_fd(), BOARD_LEN)?;
    // SAFETY: BOARD_LEN bytes; only the magic is read here.
    if unsafe { (*(board.ptr as *const Board)).magic } != BOARD_MAGIC {
        return Err(libc::EPROTO);
    }
    Ok(CliChan {
        key,
        id: chan_id,
        map,
        cap,
        sock: mine,
        mem,
        board: Arc::new(board),
        cred_gen: CRED_GEN.load(Ordering::Acquire),
        fd: -1,
        epoch: 0,
    })
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
    if !enabled() {
        return None;
    }
    // Read before any check of the descriptor, so that a close after the
    // check is seen at the next call.
    let epoch = crate::fdwatch::epoch(fd);
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
        if matches!(r, Some(Err(libc::EINTR | libc::EAGAIN))) {
            // Abandoned mid-call: close it now, so the server sees the abort.
            v.remove(pos);
        } else if r.is_none() && crate::client::hung_up(c.sock.as_raw_fd()) {
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
    epoch: Option<u32>,
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
            // (server dead, door revoked or unreachable): one poll.
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
            let cap = size.next_power_of_two().max(CAP_MIN);
            let c = new_channel(fd, key, cap).ok()?;
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
    if size > 0
        && let Err(e) = sys::copy_in_bytes(data, c.map.ptr.wrapping_add(DATA_OFF), size)
    {
        return Some(Err(e));
    }
    let me = cpu();
    h.req_size.store(size as u64, Ordering::Relaxed);
    h.flags.store(
        if arg.is_none() { CF_NO_RESULTS } else { 0 },
        Ordering::Relaxed,
    );
    h.ccpu.store(me, Ordering::Relaxed);
    h.csleep.store(0, Ordering::Relaxed);
    let wake0 = h.cwake.load(Ordering::Acquire);
    h.state.store(C_REQ, Ordering::SeqCst);
    // Claim an idle follower: one that is spinning if there is one (no
    // wake-up needed), else a sleeping one (one futex wake).
    let board = c.board();
    let mut server_cpu = u32::MAX;
    let try_claim = |s: &Slot, want_awake: bool| {
        if s.state.load(Ordering::Relaxed) != S_IDLE
            || (want_awake && s.sleeping.load(Ordering::Relaxed) != 0)
        {
            return None;
        }
        s.state
            .compare_exchange(S_IDLE, S_CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
            .ok()?;
        let cpu = s.cpu.load(Ordering::Relaxed);
        s.chan.store(c.id, Ordering::Release);
        s.seq.fetch_add(1, Ordering::SeqCst);
        if s.sleeping.load(Ordering::SeqCst) != 0 {
            futex_wake(&s.seq);
        }
        Some(cpu)
    };
    let got = board
        .slots
        .iter()
        .find_map(|s| try_claim(s, true))
        .or_else(|| board.slots.iter().find_map(|s| try_claim(s, false)));
    let claimed = got.is_some();
    if let Some(cpu) = got {
        server_cpu = cpu;
    }
    if !claimed {
        // No idle fast thread: withdraw and use the socket path.
        return match h
            .state
            .compare_exchange(C_REQ, C_IDLE, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => None,
            Err(_) => withdrawn_to_none(wait_reply(c, arg, wake0, server_cpu, params)),
        };
    }
    withdrawn_to_none(wait_reply(c, arg, wake0, server_cpu, params))
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
) -> R<bool> {
    let h = c.hdr();
    let me = cpu();
    let posted = now_ns();
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
            return Err(WITHDRAWN);
        }
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
        match futex_wait(&h.cwake, w, nap) {
            libc::EINTR => {
                // A signal: withdraw if no server took the call yet (EAGAIN),
                // otherwise abandon it (EINTR; the server sees our socket go).
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
            libc::ETIMEDOUT
                // Is the server still there?
                if crate::client::hung_up(c.sock.as_raw_fd()) => {
                    return Err(
                        match h.state.compare_exchange(
                            C_REQ,
                            C_DEAD,
                            Ordering::AcqRel,
                            Ordering::Relaxed,
                        ) {
                            Ok(_) => libc::EBADF,
                            Err(_) => libc::EINTR,
                        },
                    );
                }
            _ => {}
        }
    }
    h.csleep.store(0, Ordering::Relaxed);
    let status = h.rep_status.load(Ordering::Acquire);
    let size = h.rep_size.load(Ordering::Acquire) as usize;
    let slow = h.rep_slow.load(Ordering::Acquire) != 0;
    let res = if status != 0 {
        Err(status as i32)
    } else if slow {
        let r = crate::client::receive_reply(c.sock.as_raw_fd(), arg).map(|_| false);
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
        crate::client::place_results(arg, size, params, |dst, n| {
            sys::copy_out_bytes(dst, data, n)
        })
    };
    h.state.store(C_IDLE, Ordering::Release);
    res
}

use std::mem::size_of;
