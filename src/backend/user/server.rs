//! Server threads: `door_return`, the dispatch loop, the pools' growth
//! (the server-creation function), `door_bind`/`door_unbind`.
//!
//! Invariant (see ARCHITECTURE.md, Invariants): every frame that calls user code
//! (the server procedure, a creation function) holds no value with a
//! destructor at the call. `dispatch` gets everything it needs as a plain
//! `Invocation` (Copy); the call's owned state lives in the thread's
//! `ServerTls`, reached through a raw pointer.
//!
//! Invariant (bounded stack): `door_return` never returns on success. It
//! resets the stack pointer to the thread's *anchor* (fixed at its first
//! `door_return`) and calls `dispatch` on that fresh frame, so a million
//! invocations use the same stack addresses as the first.

use crate::sys::OwnedFd;
use std::os::fd::{AsRawFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use super::door::{self, Caller, Door, XCreate};
use super::pool::Pool;
use super::threads;
use super::wire::{self, HDR_LEN, Hdr};
use super::xfer;
use crate::abi::*;
use crate::sys::creds::{self, Creds};
use crate::sys::{self, R};

/// The credentials of a door caller (door_ucred). pid, euid, egid and the
/// groups are the kernel's record of the thread that made the call's
/// channel (`SO_PEERCRED`/`SO_PEERGROUPS`); real and saved ids were
/// presented by that thread with its call and checked by the kernel (see
/// `sys::creds::send_ids` and KNOWN_DIFFERENCES.md, "Credentials"). Nothing
/// is read from /proc: what the process does after its call (exec a
/// set-user-ID program, exit and have its pid reused) cannot change them.
pub fn caller_creds(caller: &Caller, reply: std::os::fd::RawFd) -> Creds {
    if caller.pid == 0 {
        // An unreferenced notification: the server's own credentials, pid 0.
        return Creds {
            pid: 0,
            ..creds::own_creds()
        };
    }
    Creds {
        pid: caller.pid,
        uid: [caller.ruid, caller.euid, caller.suid],
        gid: [caller.rgid, caller.egid, caller.sgid],
        groups: sys::peer_groups(reply).unwrap_or_default(),
    }
}

/// The invocation a server thread is serving right now.
/// Where an invocation's results go.
pub enum ReplyTo {
    /// The call's reply channel (one per call; its peer is the waiting client).
    Sock(OwnedFd),
    /// A fast-path channel (fast.rs).
    Fast(Arc<super::fast::SrvChan>),
}

impl ReplyTo {
    /// The socket whose peer is the client (for hang-up checks, groups and
    /// replies that do not fit a fast channel).
    pub fn fd(&self) -> RawFd {
        match self {
            ReplyTo::Sock(f) => f.as_raw_fd(),
            ReplyTo::Fast(c) => c.sock.as_raw_fd(),
        }
    }
}

pub struct Current {
    pub reply: ReplyTo,
    pub door: Arc<Door>,
    pub caller: Caller,
    /// The client passed `params == NULL`: no results allowed.
    pub no_results: bool,
}

/// Per-thread server state. Lives on the heap, reached through `TLS`; freed
/// by the thread-local destructor at thread exit.
pub struct ServerTls {
    /// Stack pointer every invocation starts from; 0 until the thread's
    /// first `door_return`.
    anchor: usize,
    /// Bytes of stack below the anchor that illumos would let arguments
    /// use (`usable_stack`): arguments that would not fit get E2BIG.
    usable: usize,
    /// Private pool this thread is bound to (`door_bind`), with the pid
    /// that bound it (a fork child's copy is invalid, as on illumos).
    bound: Option<(Arc<Pool>, u64, i32)>,
    pub cur: Option<Current>,
    /// The process's shared pool, cached, with the pid it belongs to.
    shared: Option<(Arc<Pool>, i32)>,
    /// The pool this thread already counted itself idle in, just before
    /// its reply went out (as illumos returns the thread to its pool
    /// together with the reply, so a client's next call never finds the
    /// pool depleted because of it).
    pre_idle: Option<Arc<Pool>>,
    /// Argument area: data, then the descriptor array. malloc'd, 16-aligned.
    buf: *mut u8,
    cap: usize,
}

struct TlsBox(*mut ServerTls);
impl Drop for TlsBox {
    fn drop(&mut self) {
        if self.0.is_null() {
            return;
        }
        // SAFETY: allocated by Box::into_raw in tls(); this is the only owner.
        let mut b = unsafe { Box::from_raw(self.0) };
        if let Some(cur) = b.cur.take() {
            // The thread ends while serving: the client gets EINTR.
            finish_current(cur, libc::EINTR);
        }
        // SAFETY: buf was malloc'd (or is null).
        unsafe { libc::free(b.buf.cast()) };
    }
}

thread_local! {
    static TLS: std::cell::UnsafeCell<TlsBox> = const { std::cell::UnsafeCell::new(TlsBox(ptr::null_mut())) };
}

/// This thread's server state, created on first use.
pub fn tls() -> *mut ServerTls {
    TLS.with(|c| {
        // SAFETY: only this thread touches its own slot.
        let slot = unsafe { &mut *c.get() };
        if slot.0.is_null() {
            init_atfork();
            slot.0 = Box::into_raw(Box::new(ServerTls {
                anchor: 0,
                usable: usize::MAX,
                bound: None,
                cur: None,
                shared: None,
                pre_idle: None,
                buf: ptr::null_mut(),
                cap: 0,
            }));
        }
        slot.0
    })
}

/// This thread's server state if it exists (never allocates).
pub fn tls_if_any() -> Option<*mut ServerTls> {
    TLS.try_with(|c| {
        // SAFETY: only this thread touches its own slot.
        let p = unsafe { (*c.get()).0 };
        if p.is_null() { None } else { Some(p) }
    })
    .ok()
    .flatten()
}

/// The caller of the current invocation, if any (door_ucred/door_cred).
/// None once the client has aborted: illumos unlinks the caller then.
pub fn current_caller() -> Option<(Caller, RawFd)> {
    let st = tls_if_any()?;
    // SAFETY: own thread's state.
    let st = unsafe { &*st };
    let cur = st.cur.as_ref()?;
    if super::ident::hung_up(cur.reply.fd()) {
        return None;
    }
    Some((cur.caller, cur.reply.fd()))
}

static ATFORK: OnceLock<()> = OnceLock::new();

extern "C" fn atfork_child() {
    after_fork_child();
}

/// Registers `after_fork_child` as a fork handler once, before any thread
/// has server state.
pub fn init_atfork() {
    ATFORK.get_or_init(|| {
        // SAFETY: the handler is a plain extern "C" function.
        unsafe { libc::pthread_atfork(None, None, Some(atfork_child)) };
    });
}

/// In a fork child, the forking thread's server state belongs to the parent.
pub fn after_fork_child() {
    if let Some(st) = tls_if_any() {
        // SAFETY: own thread's state; the child has no other thread.
        let st = unsafe { &mut *st };
        // Close our copy of the parent's reply channel (dropping it), so
        // the parent's client is not kept waiting by this child.
        if let Some(cur) = st.cur.take() {
            // Inside fork(): no allocation or free (see door::atfork_child).
            std::mem::forget(cur.door);
            match cur.reply {
                ReplyTo::Sock(f) => drop(f),
                ReplyTo::Fast(c) => std::mem::forget(c),
            }
        }
    }
}

// ---------------------------------------------------------------------
// The server-creation function (man/door_server_create.3c).

static SERVER_FUNC: AtomicUsize = AtomicUsize::new(0);

/// The default creation function: one detached thread that parks in the
/// process pool (ignoring `info`, as illumos does).
pub unsafe extern "C" fn default_server_func(_info: *mut door_info_t) {
    threads::spawn_starting(server_thread_main, ptr::null_mut());
}

extern "C" fn server_thread_main(_: *mut libc::c_void) -> *mut libc::c_void {
    threads::starting_thread();
    // SAFETY: disabling cancellation of the calling thread.
    unsafe { sys::pthread_setcancelstate(sys::PTHREAD_CANCEL_DISABLE, ptr::null_mut()) };
    let _ = door_return(ptr::null(), 0, ptr::null(), 0);
    ptr::null_mut()
}

pub fn server_func() -> door_server_func_t {
    match SERVER_FUNC.load(Ordering::Acquire) {
        0 => default_server_func,
        // SAFETY: only ever stores door_server_func_t values.
        f => unsafe { std::mem::transmute::<usize, door_server_func_t>(f) },
    }
}

/// Installs a creation function; returns the previous one.
pub fn set_server_func(f: Option<door_server_func_t>) -> door_server_func_t {
    let prev = server_func();
    SERVER_FUNC.store(f.map_or(0, |f| f as usize), Ordering::Release);
    prev
}

// ---------------------------------------------------------------------
// door_return

/// Ends the current invocation with results and parks for the next.
/// Returns only on failure, with the errno.
pub fn door_return(data: *const u8, size: usize, desc: *const door_desc_t, ndesc: u32) -> i32 {
    let st = tls();
    // SAFETY: own thread's state.
    let anchor = unsafe {
        if (*st).anchor == 0 {
            // Everything below this point is dead once we jump: door_return
            // never returns. Keep a margin for the red zone and align to 16.
            (*st).anchor = (sys::stack_pointer() - 256) & !15;
            (*st).usable = sys::stack::usable_stack((*st).anchor);
        }
        (*st).anchor
    };
    if let Err(e) = crate::sys::fault::scope(|| reply_and_release(st, data, size, desc, ndesc)) {
        return e;
    }
    // SAFETY: own thread's state.
    if let Some((_, _, pid)) = unsafe { &(*st).bound }
        && *pid != sys::getpid()
    {
        return libc::EINVAL; // bound in the parent before fork
    }
    sys::stack::forget_stack_below();
    // SAFETY: anchor is 16-aligned, inside this thread's stack and above
    // every live frame we still need (none: we never return).
    unsafe { sys::stack::jump(anchor, dispatch, st as usize) }
}

/// Stack an invocation needs on illumos: the data and the
/// descriptor array, a door_info_t when a private pool just ran dry, and
/// struct door_results, each aligned to 16.
fn stack_needed(size: usize, ndesc: usize, info: bool) -> usize {
    let a = |x: usize| x.saturating_add(15) & !15;
    a(size)
        .saturating_add(a(ndesc.saturating_mul(size_of::<door_desc_t>())))
        .saturating_add(if info { a(size_of::<door_info_t>()) } else { 0 })
        .saturating_add(64)
}

/// Sends the results (if a client waits) and releases descriptors. All
/// owned values are dropped before this returns (door_return then jumps).
fn reply_and_release(
    st: *mut ServerTls,
    data: *const u8,
    size: usize,
    desc: *const door_desc_t,
    ndesc: u32,
) -> R<()> {
    let n = ndesc as usize;
    if n > DOOR_MAX_DESC {
        return Err(libc::E2BIG);
    }
    let descs = xfer::read_desc_list(desc, n)?;
    // SAFETY: own thread's state.
    let st = unsafe { &mut *st };
    let Some(cur) = st.cur.as_ref() else {
        // No client: discard results, close DOOR_RELEASE descriptors.
        xfer::release_descs(&descs);
        return Ok(());
    };
    if cur.no_results && (size > 0 || n > 0) {
        return Err(libc::E2BIG);
    }
    if descs
        .iter()
        .any(|d| d.d_attributes & DOOR_DESCRIPTOR == 0 || !sys::fd_is_open(d.fd()))
    {
        xfer::release_descs(&descs); // illumos closes the valid DOOR_RELEASE entries
        return Err(libc::EINVAL);
    }
    if size > wire::CHUNK {
        check_readable(data, size)?;
    }
    let fds: Vec<RawFd> = descs.iter().map(|d| d.fd()).collect();
    let mut hdr = Hdr::new(wire::K_REPLY, 0, size as u64, n as u32);
    let releasing = descs.iter().any(|d| d.d_attributes & DOOR_RELEASE != 0);
    if releasing {
        hdr.aux |= wire::A_TRAILER;
    }
    if n > 0 {
        hdr.aux |= wire::A_ACK;
    }
    // Back in the pool before the client can run again. With descriptors,
    // only once the client has said whether it took them: until then this
    // thread is not free (a client slow to answer must not stall the pool
    // by holding a thread counted as idle).
    let pool = pool_of(st);
    let counted = std::cell::Cell::new(false);
    let count_idle = || {
        if let Some(p) = &pool {
            p.idle.fetch_add(1, Ordering::AcqRel);
        }
        counted.set(true);
    };
    let undo = |p: &Option<Arc<Pool>>| {
        if let Some(p) = p
            && counted.get()
        {
            p.idle.fetch_sub(1, Ordering::AcqRel);
        }
    };
    if n == 0 {
        count_idle();
    }
    let Some(cur) = st.cur.as_ref() else {
        undo(&pool);
        return Ok(());
    };
    let r: R<bool> = (|| {
        match &cur.reply {
            ReplyTo::Fast(chan) if n == 0 && size <= super::fast::capacity(chan) => {
                // Results in our own argument area or on this thread's live
                // stack are known readable: no checked copy needed.
                let (a, e) = (data as usize, (data as usize).saturating_add(size));
                let in_buf = a >= st.buf as usize && e <= st.buf as usize + st.cap;
                let in_stack = sys::on_own_stack(a, size) && e <= st.anchor;
                if let Some(p) = &pool {
                    super::fast::pre_arm(p, chan);
                }
                if let Err(e) = super::fast::complete(chan, data, size, in_buf || in_stack) {
                    if let Some(p) = &pool {
                        super::fast::unarm(p);
                    }
                    return Err(e);
                }
            }
            ReplyTo::Fast(chan) => {
                // Too large for the channel, or descriptors: over its socket.
                // The client is told first, so that it reads while we send, so
                // an unreadable buffer must be found before.
                check_readable(data, size)?;
                if n > 0 {
                    super::fast::expect_ack(chan);
                }
                super::fast::complete_slow(chan);
                let _ = xfer::send_transfer(chan.sock.as_raw_fd(), &hdr, data, size, &fds);
                if n > 0 && !super::fast::taken(chan) {
                    return Ok(false);
                }
                if n > 0 {
                    count_idle();
                }
                xfer::release_descs(&descs);
                if releasing {
                    send_mark(chan.sock.as_raw_fd());
                }
            }
            ReplyTo::Sock(sock) => {
                // Stop watching first: once the reply is out the client may
                // close its channel at once, which is not an abort.
                door::unwatch_call(sock.as_raw_fd());
                // EPIPE/ECONNRESET mean the client went away: the results are
                // discarded and door_return succeeds. EFAULT leaves the client
                // waiting (and watched again).
                if let Err(libc::EFAULT) =
                    xfer::send_transfer(sock.as_raw_fd(), &hdr, data, size, &fds)
                {
                    let no_cancel = cur.door.attrs.load(Ordering::Relaxed) & DOOR_NO_CANCEL != 0;
                    door::watch_call(sock.as_raw_fd(), no_cancel);
                    return Err(libc::EFAULT);
                }
                if n > 0 && !taken(sock.as_raw_fd()) {
                    return Ok(false);
                }
                if n > 0 {
                    count_idle();
                }
                xfer::release_descs(&descs);
                if releasing {
                    send_mark(sock.as_raw_fd());
                }
            }
        }
        Ok(true)
    })();
    match r {
        Err(e) => {
            undo(&pool);
            return Err(e);
        }
        Ok(false) => {
            // The client's descriptor table could not take the descriptors:
            // as on illumos, its door_call succeeds without them, and our
            // door_return fails without an errno (0), keeping every
            // descriptor (DOOR_RELEASE ones too). The call is over.
            undo(&pool);
            if let Some(cur) = st.cur.take() {
                cur.door.active.fetch_sub(1, Ordering::AcqRel);
                super::unref::call_done(&cur.door);
            }
            return Err(0);
        }
        Ok(true) => {}
    }
    st.pre_idle = pool;
    if let Some(cur) = st.cur.take() {
        cur.door.active.fetch_sub(1, Ordering::AcqRel);
        super::unref::call_done(&cur.door);
    }
    Ok(())
}

/// After a reply with descriptors on a call's reply channel: did the
/// client take them? It answers one byte (`wire::ACK_DROPPED` if its
/// descriptor table was full); a client that closes its channel, or says
/// nothing within `wire::ACK_MS`, counts as having taken them.
fn taken(sock: RawFd) -> bool {
    let t0 = sys::now_ns();
    loop {
        let left = wire::ACK_MS as i64 - ((sys::now_ns() - t0) / 1_000_000) as i64;
        if left <= 0 {
            return true;
        }
        let mut p = libc::pollfd {
            fd: sock,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, left as i32) };
        if r < 0 && sys::errno() == libc::EINTR {
            continue;
        }
        if r != 1 {
            return true;
        }
        let mut b = 0u8;
        // SAFETY: one writable byte.
        let n = unsafe { libc::recv(sock, (&mut b as *mut u8).cast(), 1, libc::MSG_DONTWAIT) };
        return !(n == 1 && b == wire::ACK_DROPPED);
    }
}

fn send_mark(sock: RawFd) {
    static MARK: u8 = 0;
    let iov = libc::iovec {
        iov_base: (&MARK as *const u8) as *mut _,
        iov_len: 1,
    };
    let _ = sys::send_fds(sock, &[iov], &[], true);
}

/// EFAULT unless every page of [p, p+len) is readable (one byte each).
pub fn check_readable(p: *const u8, len: usize) -> R<()> {
    if len == 0 {
        return Ok(());
    }
    if p.is_null() {
        return Err(libc::EFAULT);
    }
    let page = 4096usize;
    let start = p as usize;
    let mut addr = start & !(page - 1);
    // A range that wraps around cannot be readable.
    let end = start.checked_add(len).ok_or(libc::EFAULT)?;
    let mut sink = [0u8; 1024];
    while addr < end {
        let mut remote: Vec<libc::iovec> = Vec::with_capacity(1024);
        while addr < end && remote.len() < 1024 {
            let a = addr.max(start);
            remote.push(libc::iovec {
                iov_base: a as *mut _,
                iov_len: 1,
            });
            addr += page;
        }
        let local = libc::iovec {
            iov_base: sink.as_mut_ptr().cast(),
            iov_len: remote.len(),
        };
        // SAFETY: reads from our own address space into `sink`.
        let r = unsafe {
            libc::process_vm_readv(
                sys::getpid(),
                &local,
                1,
                remote.as_ptr(),
                remote.len() as u64,
                0,
            )
        };
        if r < 0 && matches!(sys::errno(), libc::ENOSYS | libc::EPERM) {
            return Ok(()); // cannot check here; sendmsg still faults cleanly
        }
        if r != remote.len() as isize {
            return Err(libc::EFAULT);
        }
    }
    Ok(())
}

/// Sends an error reply and ends an invocation (or refuses a call).
pub fn finish_current(cur: Current, err: i32) {
    match &cur.reply {
        ReplyTo::Sock(f) => {
            door::unwatch_call(f.as_raw_fd());
            send_status(f.as_raw_fd(), err);
        }
        ReplyTo::Fast(c) => super::fast::complete_error(c, err),
    }
    cur.door.active.fetch_sub(1, Ordering::AcqRel);
    super::unref::call_done(&cur.door);
}

pub fn send_status(reply: RawFd, err: i32) {
    let hdr = Hdr::new(wire::K_REPLY, err as u32, 0, 0);
    let _ = xfer::send_transfer(reply, &hdr, ptr::null(), 0, &[]);
}

// ---------------------------------------------------------------------
// The stack reset.

/// What dispatch needs to run one invocation: plain values only (POF).
#[derive(Clone, Copy)]
struct Invocation {
    proc_: door_server_procedure_t,
    cookie: *mut libc::c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
    /// The pool had no other idle thread: run the creation function first.
    deplete: Option<Depletion>,
}

#[derive(Clone, Copy)]
enum Depletion {
    Shared,
    Private(door_info_t),
    /// An xcreate'd door: its own `crf`, with a heap start argument.
    X {
        info: door_info_t,
        crf: door_xcreate_server_func_t,
        arg: *mut libc::c_void,
        crcookie: *mut libc::c_void,
    },
}

/// The top frame of every invocation. Waits for a call, runs the creation
/// function when the pool is depleted, runs the procedure. If the
/// procedure returns (instead of calling door_return), the thread ends
/// and the client gets EINTR (as on illumos).
extern "C" fn dispatch(st: usize) -> ! {
    let st = st as *mut ServerTls;
    loop {
        let Some(inv) = take_call(st) else { continue };
        if let Some(d) = inv.deplete {
            run_depletion(d);
        }
        // The count goes in a full 64-bit register, zero-extended: Solaris
        // 2.6-era procedures declare `size_t n_desc` and read all of it.
        // SAFETY: the two procedure types differ only in the width of the
        // last integer argument, which travels in a register either way.
        let proc_ = unsafe {
            std::mem::transmute::<door_server_procedure_t, door_server_procedure_sz_t>(inv.proc_)
        };
        // SAFETY: calling the user's procedure with the arguments it was
        // registered for; argp/dp point into this thread's buffer, valid
        // until its next door_return. No live destructors in this frame.
        unsafe { proc_(inv.cookie, inv.argp, inv.size, inv.dp, inv.n as usize) };
        procedure_returned(st);
    }
}

fn run_depletion(d: Depletion) {
    let f = server_func();
    match d {
        // SAFETY: the user's creation function, called as documented.
        Depletion::Shared => unsafe { f(ptr::null_mut()) },
        Depletion::Private(mut info) => {
            info.di_attributes |= DOOR_DEPLETION_CB;
            // SAFETY: as above; info lives in this frame for the call.
            unsafe { f(&mut info) }
        }
        Depletion::X {
            mut info,
            crf,
            arg,
            crcookie,
        } => {
            info.di_attributes |= DOOR_DEPLETION_CB;
            // SAFETY: the door's own creation function, per its contract.
            // Any return is accepted here (0 = declined); on anything but 1
            // the start argument is leaked rather than freed, in case crf
            // started a thread anyway.
            let _ = unsafe { crf(&mut info, xcreate_start, arg, crcookie) };
        }
    }
}

fn procedure_returned(st: *mut ServerTls) -> ! {
    // SAFETY: own thread's state.
    if let Some(cur) = unsafe { (*st).cur.take() } {
        finish_current(cur, libc::EINTR);
    }
    // The library's own threads (manager, unref) are daemons, as on
    // illumos: if this is the last other thread, the process exits.
    if threads::last_user_thread() {
        // SAFETY: ends the process, as thr_exit of its last thread does.
        unsafe { libc::exit(0) }
    }
    // SAFETY: ends this thread; forced unwinding crosses only POFs and
    // stops at `jump`.
    unsafe { libc::pthread_exit(ptr::null_mut()) }
}

fn pool_of(st: &mut ServerTls) -> Option<Arc<Pool>> {
    let pid = sys::getpid();
    if let Some((pool, _, bpid)) = &st.bound
        && *bpid == pid
    {
        return Some(pool.clone());
    }
    // The shared pool, cached per thread (and per process: a fork child's
    // copy of this thread gets its own).
    if let Some((p, cpid)) = &st.shared
        && *cpid == pid
    {
        return Some(p.clone());
    }
    let p = door::with_proc(|p| Ok(p.shared.clone())).ok()?;
    st.shared = Some((p.clone(), pid));
    Some(p)
}

/// Makes sure the argument area holds `need` bytes, keeping its contents.
/// An argument buffer larger than this is shrunk when its thread goes idle
/// in epoll.
const BUF_KEEP: usize = 1 << 20;

fn reserve(st: &mut ServerTls, need: usize) -> R<()> {
    if need <= st.cap {
        return Ok(());
    }
    let cap = need.next_power_of_two().max(wire::CHUNK);
    // SAFETY: realloc of our own malloc'd buffer (or null).
    let p = unsafe { libc::realloc(st.buf.cast(), cap) };
    if p.is_null() {
        return Err(libc::ENOMEM);
    }
    st.buf = p.cast();
    st.cap = cap;
    Ok(())
}

/// How long a server thread waits for the rest of a client's transfer
/// before dropping the call: a client that stops mid-transfer cannot keep
/// a server thread forever.
const STALL_TIMEOUT_SECS: i64 = 10;
/// How long a server thread waits for, or on, a client around a call's
/// hand-over (the release marker, K_GO, a reply send).
const HANDSHAKE_SECS: i64 = 2;

/// The creation function to run when the pool has just run out of idle
/// threads (man/door_server_create.3c).
fn depletion(door: &Arc<Door>, pool: &Pool, left: usize) -> Option<Depletion> {
    if left != 0 {
        return None;
    }
    if pool.private_id == 0 && door.attrs.load(Ordering::Relaxed) & DOOR_PRIVATE == 0 {
        return Some(Depletion::Shared);
    }
    match door.xcreate.as_ref() {
        Some(_) if door.attrs.load(Ordering::Relaxed) & DOOR_NO_DEPLETION_CB != 0 => None,
        Some(x) => Some(Depletion::X {
            info: door.info(sys::getpid()),
            crf: x.crf,
            arg: start_arg(None, door.id, x),
            crcookie: x.crcookie as *mut libc::c_void,
        }),
        None => Some(Depletion::Private(door.info(sys::getpid()))),
    }
}

/// A fast-path call taken by a follower: checks as for a socket call, then
/// the invocation, its arguments in (or copied from) the channel.
fn take_fast(
    st: &mut ServerTls,
    pool: &Arc<Pool>,
    chan: Arc<super::fast::SrvChan>,
    left: usize,
) -> Option<Invocation> {
    let door = chan.door.clone();
    let Some((size, no_results)) = super::fast::request(&chan) else {
        super::fast::complete_error(&chan, libc::EINVAL);
        return None;
    };
    let p = door.params();
    let err = if door.revoked.load(Ordering::Acquire) {
        libc::EBADF
    } else if size < p.data_min || size > p.data_max {
        libc::ENOBUFS
    } else if stack_needed(
        size,
        0,
        left == 0 && door.attrs.load(Ordering::Relaxed) & DOOR_PRIVATE != 0,
    ) > st.usable
    {
        libc::E2BIG
    } else {
        0
    };
    if err != 0 {
        super::fast::complete_error(&chan, err);
        return None;
    }
    // The arguments are copied into this thread's own buffer, whatever
    // their size: the client can write to the channel at any time.
    if reserve(st, size).is_err() {
        super::fast::complete_error(&chan, libc::ENOMEM);
        return None;
    }
    let argp = match super::fast::args(&chan, size, st.buf) {
        Ok(p) => p,
        Err(e) => {
            super::fast::complete_error(&chan, e);
            return None;
        }
    };
    let deplete = depletion(&door, pool, left);
    door.active.fetch_add(1, Ordering::AcqRel);
    super::fast::serving(&chan);
    // SAFETY: door_create stored a door_server_procedure_t here.
    let proc_ = unsafe { std::mem::transmute::<usize, door_server_procedure_t>(door.proc_) };
    let cookie = door.cookie as *mut libc::c_void;
    let caller = chan.caller;
    st.cur = Some(Current {
        reply: ReplyTo::Fast(chan),
        door,
        caller,
        no_results,
    });
    Some(Invocation {
        proc_,
        cookie,
        argp,
        size,
        dp: ptr::null_mut(),
        n: 0,
        deplete,
    })
}

fn take_call(stp: *mut ServerTls) -> Option<Invocation> {
    // SAFETY: own thread's state; nothing else borrows it now.
    let st = unsafe { &mut *stp };
    let pool = match st.pre_idle.take() {
        Some(p) => p, // counted idle already, just before our reply
        None => {
            let p = pool_of(st)?;
            p.idle.fetch_add(1, Ordering::AcqRel);
            p
        }
    };
    if reserve(st, wire::CHUNK).is_err() {
        pool.idle.fetch_sub(1, Ordering::AcqRel);
        return None;
    }
    // A thread that just served a fast call waits on that channel for a
    // while; every other idle thread waits in epoll.
    threads::started();
    if let super::fast::Parked::Call(chan) = super::fast::park(&pool) {
        let left = pool.idle.fetch_sub(1, Ordering::AcqRel) - 1;
        return take_fast(st, &pool, chan, left);
    }
    if st.cap > BUF_KEEP {
        // A large argument buffer is not kept while idle in epoll.
        // SAFETY: shrinking our own malloc'd buffer.
        let p = unsafe { libc::realloc(st.buf.cast(), wire::CHUNK) };
        if !p.is_null() {
            st.buf = p.cast();
            st.cap = wire::CHUNK;
        }
    }
    if !crate::sys::fdown::owned(pool.epfd.as_raw_fd()) {
        // The application closed this pool's epoll set under us (closefrom,
        // close_range, a daemonize loop): its doors are gone, and the
        // number may name one of the application's files now. This thread
        // has nothing left to serve; it sleeps for good rather than touch
        // that number (door::with_proc starts the process state afresh).
        pool.idle.fetch_sub(1, Ordering::AcqRel);
        loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        }
    }
    pool.fast.epoll_waiters.fetch_add(1, Ordering::SeqCst);
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: ev is one writable epoll_event.
    let n = unsafe { libc::epoll_wait(pool.epfd.as_raw_fd(), &mut ev, 1, -1) };
    let leaders = pool.fast.epoll_waiters.fetch_sub(1, Ordering::SeqCst) - 1;
    let left = pool.idle.fetch_sub(1, Ordering::AcqRel) - 1;
    if n != 1 {
        return None; // a signal while parked: park again (as illumos' libc)
    }
    if leaders == 0 {
        super::fast::promote(&pool); // someone must watch the sockets
    }
    if ev.u64 & super::fast::CHAN_TOKEN != 0 {
        // A fast-path client with no thread parked on its channel.
        let chan = super::fast::kicked(&pool, ev.u64)?;
        return take_fast(st, &pool, chan, left);
    }
    let token = ev.u64;
    let (door, injector, ep) = door::lookup_token(token)?;
    let mut hdr = Hdr::default();
    let mut iov = [
        libc::iovec {
            iov_base: (&mut hdr as *mut Hdr).cast(),
            iov_len: HDR_LEN,
        },
        libc::iovec {
            iov_base: st.buf.cast(),
            iov_len: wire::CHUNK,
        },
    ];
    let got = sys::recv_fds(ep.as_raw_fd(), &mut iov, libc::MSG_DONTWAIT, true);
    let mut r = match got {
        Err(_) => {
            let _ = pool.rearm(ep.as_raw_fd(), token);
            return None;
        }
        // An empty message reads like end of file: believe it only if the
        // peer really is closed (or shut for writing), else it is a
        // malformed message, dropped below.
        Ok(r) if r.len == 0 && r.fds.is_empty() && peer_closed(ep.as_raw_fd()) => {
            // Every copy of this end's client side is closed (and nothing
            // is queued on it any more): one reference fewer.
            pool.remove(ep.as_raw_fd());
            drop(ep);
            if !injector {
                super::ends::end_gone(token);
            }
            return None;
        }
        Ok(r) => r,
    };
    let _ = pool.rearm(ep.as_raw_fd(), token);
    drop(ep);
    // Validate everything the peer sent before trusting any of it.
    let inline = r.len.saturating_sub(HDR_LEN);
    let well_formed = r.len >= HDR_LEN
        && !r.truncated
        && !r.fds.is_empty()
        && hdr.check(wire::K_CALL, wire::MAX_SIZE).is_ok()
        && inline == wire::message_part(0, hdr.size as usize, hdr.ndesc as usize).1
        && sys::sock_type(r.fds[0]) == Ok(libc::SOCK_SEQPACKET);
    if well_formed && r.ctrunc {
        // Our descriptor table could not take what the client passed (the
        // kernel installed the reply channel, first, and dropped the
        // rest): EMFILE, as illumos answers. The token is read first, so
        // that our close is an orderly end for the client.
        let mut tok = [0u8; 1];
        // SAFETY: tok is one writable byte.
        unsafe { libc::recv(r.fds[0], tok.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) };
        send_status(r.fds[0], libc::EMFILE);
    }
    let ok = well_formed && r.fds.len() == 1 + (hdr.ndesc as usize).min(sys::FDS_PER_MSG);
    if !ok || r.ctrunc {
        r.close_fds();
        return None;
    }
    let reply = sys::own(r.fds.remove(0));
    // No client may hold a server thread: every send on the reply channel,
    // and every wait for the client before the procedure runs, is bounded
    // (the client's side is in the same process tree as its call, and
    // answers in microseconds unless it stalls on purpose).
    sys::set_timeo(reply.as_raw_fd(), libc::SO_SNDTIMEO, HANDSHAKE_SECS);
    sys::set_rcvtimeo(reply.as_raw_fd(), HANDSHAKE_SECS);
    let descs_fds = std::mem::take(&mut r.fds);
    let close_all = |fds: &[RawFd]| {
        for &fd in fds {
            sys::close_received(fd);
        }
    };
    // The one-byte token tells the client we picked the call up: if we
    // die now, it sees EOF (EINTR), not ECONNRESET (EBADF). It carries the
    // caller's saved ids (explicit SCM_CREDENTIALS, checked by the kernel
    // when the calling thread sent it), which SO_PASSCRED lets us read.
    // The option goes off again at once: a socket that sends with it on is
    // given an abstract name by the kernel (autobind), at every call.
    let _ = sys::set_passcred(reply.as_raw_fd());
    let (t, tok_ids) = {
        let mut tok = [0u8; 1];
        let mut iov = [libc::iovec {
            iov_base: tok.as_mut_ptr().cast(),
            iov_len: 1,
        }];
        match sys::recv_fds(reply.as_raw_fd(), &mut iov, libc::MSG_DONTWAIT, true) {
            Ok(mut m) => {
                m.close_fds();
                (m.len as isize, m.cred)
            }
            Err(_) => (-1, None),
        }
    };
    let _ = sys::clear_passcred(reply.as_raw_fd());
    if t == 1 && super::ident::hung_up(reply.as_raw_fd()) {
        // The client gave up (a signal: EAGAIN) before we took the call.
        close_all(&descs_fds);
        return None;
    }
    // F_UNREF is believed only on the door's own injection channel.
    let unref = injector && hdr.status & wire::F_UNREF != 0;
    let caller = match (t, r.cred, sys::peer_cred(reply.as_raw_fd())) {
        // An unreferenced notification comes from "the kernel": pid 0 and
        // the server's own credentials, as on illumos.
        (1, _, Ok(pc)) if unref => Caller {
            pid: 0,
            euid: pc.uid,
            egid: pc.gid,
            ruid: pc.uid,
            rgid: pc.gid,
            suid: pc.uid,
            sgid: pc.gid,
        },
        (1, Some(sc), Ok(pc)) if sc.pid == pc.pid && pc.pid > 0 => {
            // Saved ids the token did not present (a client that sent it
            // bare): the effective ids stand in, never a later reading.
            let (suid, sgid) = match tok_ids {
                Some(c) if c.pid == pc.pid => (c.uid, c.gid),
                _ => (pc.uid, pc.gid),
            };
            Caller {
                pid: pc.pid,
                euid: pc.uid,
                egid: pc.gid,
                ruid: sc.uid,
                rgid: sc.gid,
                suid,
                sgid,
            }
        }
        _ => {
            close_all(&descs_fds);
            return None;
        }
    };
    let size = hdr.size as usize;
    let ndesc = hdr.ndesc as usize;
    // Request limits (ENOBUFS, ENOTSUP, ENFILE, in illumos' order), then revocation.
    let err = if door.revoked.load(Ordering::Acquire) {
        libc::EBADF
    } else if unref {
        0 // unref invocations ignore the request limits (as on illumos)
    } else {
        let p = door.params();
        if size < p.data_min || size > p.data_max {
            libc::ENOBUFS
        } else if ndesc > 0 && door.attrs.load(Ordering::Relaxed) & DOOR_REFUSE_DESC != 0 {
            libc::ENOTSUP
        } else if ndesc > p.desc_max {
            libc::ENFILE
        } else if stack_needed(
            size,
            ndesc,
            left == 0 && door.attrs.load(Ordering::Relaxed) & DOOR_PRIVATE != 0,
        ) > st.usable
        {
            libc::E2BIG
        } else {
            0
        }
    };
    if err != 0 {
        close_all(&descs_fds);
        send_status(reply.as_raw_fd(), err);
        return None;
    }
    // The rest of the transfer comes on the reply channel, which only
    // this client writes. A peer that stalls is dropped after a timeout.
    let desc_off = (size + 15) & !15;
    let need = desc_off + ndesc * size_of::<door_desc_t>();
    let mut fds = descs_fds;
    if wire::message_count(size, ndesc) > 1 {
        sys::set_rcvtimeo(reply.as_raw_fd(), STALL_TIMEOUT_SECS);
    }
    if reserve(st, need.max(inline)).is_err() {
        close_all(&fds);
        send_status(reply.as_raw_fd(), libc::E2BIG);
        return None;
    }
    let release = hdr.status & wire::F_RELEASE != 0;
    if wire::needs_go(size) || release {
        let go = Hdr::new(wire::K_GO, 0, 0, 0);
        if xfer::send_transfer(reply.as_raw_fd(), &go, ptr::null(), 0, &[]).is_err() {
            close_all(&fds);
            return None;
        }
    }
    match xfer::recv_rest(reply.as_raw_fd(), st.buf, size, ndesc, &mut fds) {
        Ok(()) => {}
        Err(e) => {
            // EMFILE: we could not take the descriptors. Anything else: the
            // client abandoned the transfer (EFAULT on its side) or stalled.
            close_all(&fds);
            if e == libc::EMFILE {
                send_status(reply.as_raw_fd(), libc::EMFILE);
            }
            return None;
        }
    }
    if release {
        // Wait until the client has closed its released descriptors.
        let mut b = [0u8; 1];
        // SAFETY: one writable byte.
        if unsafe { libc::recv(reply.as_raw_fd(), b.as_mut_ptr().cast(), 1, 0) } != 1 {
            close_all(&fds);
            return None;
        }
    }
    let dp = if ndesc > 0 {
        // SAFETY: need bytes reserved; desc_off is 16-aligned.
        let dp = unsafe { st.buf.add(desc_off) } as *mut door_desc_t;
        // One bound for all of the call's descriptors (reply::describe_received).
        let dl = crate::backend::rendezvous::Deadline::after_ms(wire::DESC_MS);
        for (i, &fd) in fds.iter().enumerate() {
            // SAFETY: i < ndesc, inside the reserved area.
            unsafe { dp.add(i).write(super::reply::describe_received(fd, &dl)) };
        }
        dp
    } else {
        ptr::null_mut()
    };
    let deplete = depletion(&door, &pool, left);
    door.active.fetch_add(1, Ordering::AcqRel);
    // SAFETY: door_create stored a door_server_procedure_t here.
    let proc_ = unsafe { std::mem::transmute::<usize, door_server_procedure_t>(door.proc_) };
    let cookie = door.cookie as *mut libc::c_void;
    let no_cancel = door.attrs.load(Ordering::Relaxed) & DOOR_NO_CANCEL != 0;
    door::watch_call(reply.as_raw_fd(), no_cancel);
    st.cur = Some(Current {
        reply: ReplyTo::Sock(reply),
        door,
        caller,
        no_results: hdr.status & wire::F_NO_RESULTS != 0,
    });
    Some(Invocation {
        proc_,
        cookie,
        argp: if unref {
            DOOR_UNREF_DATA as *mut u8
        } else if size > 0 {
            st.buf
        } else {
            ptr::null_mut()
        },
        size,
        dp,
        n: ndesc as u32,
        deplete,
    })
}

/// Has the peer of `fd` closed (or shut its sending side)?
fn peer_closed(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r == 1 && p.revents & (libc::POLLHUP | libc::POLLRDHUP | libc::POLLERR) != 0
}

// ---------------------------------------------------------------------
// door_xcreate's threads (man/door_xcreate.3c): the start routine handed
// to `crf` and its handshake with door_xcreate (create.rs).

/// The handshake between door_xcreate and the threads its `crf` starts.
pub struct Handshake {
    /// Threads that reported (bound or failed).
    pub reported: AtomicU32,
    pub failed: AtomicU32,
    /// 0: undecided, 1: go, 2: abort.
    pub decision: AtomicU32,
}

/// What each xcreate'd thread receives as its start argument (heap, so a
/// crf that breaks the contract cannot make it read a dead frame).
pub struct StartArg {
    hs: Option<Arc<Handshake>>,
    door_id: u64,
    setupf: Option<door_xcreate_thrsetup_func_t>,
    crcookie: usize,
}

pub fn futex_wait(word: &AtomicU32, val: u32) {
    // SAFETY: futex wait on a live atomic word, private, no timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            sys::FUTEX_WAIT_PRIVATE,
            val,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

pub fn futex_wake(word: &AtomicU32) {
    // SAFETY: futex wake on a live atomic word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            sys::FUTEX_WAKE_PRIVATE,
            i32::MAX,
        )
    };
}

/// Start routine handed to `crf`.
pub extern "C" fn xcreate_start(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: arg is a Box<StartArg> made by `start_arg`; this thread owns it.
    let a = unsafe { Box::from_raw(arg as *mut StartArg) };
    match a.setupf {
        // SAFETY: the user's setup callback with its cookie.
        Some(f) => unsafe { f(a.crcookie as *mut libc::c_void) },
        None => {
            // SAFETY: changes this thread's cancellation state only.
            unsafe {
                sys::pthread_setcancelstate(sys::PTHREAD_CANCEL_DISABLE, std::ptr::null_mut());
                sys::pthread_setcanceltype(sys::PTHREAD_CANCEL_DEFERRED, std::ptr::null_mut());
            }
        }
    }
    let bound = door::lookup(a.door_id).is_some_and(|d| bind(&d).is_ok());
    if let Some(hs) = &a.hs {
        if !bound {
            hs.failed.fetch_add(1, Ordering::AcqRel);
        }
        hs.reported.fetch_add(1, Ordering::AcqRel);
        futex_wake(&hs.reported);
        loop {
            match hs.decision.load(Ordering::Acquire) {
                0 => futex_wait(&hs.decision, 0),
                1 => break,
                _ => return std::ptr::null_mut(),
            }
        }
    } else if !bound {
        return std::ptr::null_mut();
    }
    drop(a);
    let _ = door_return(std::ptr::null(), 0, std::ptr::null(), 0);
    std::ptr::null_mut()
}

/// A start argument for a thread of door `door_id`; `hs` is None for a
/// depletion thread, which needs no handshake.
pub fn start_arg(hs: Option<&Arc<Handshake>>, door_id: u64, x: &XCreate) -> *mut libc::c_void {
    Box::into_raw(Box::new(StartArg {
        hs: hs.cloned(),
        door_id,
        setupf: x.setupf,
        crcookie: x.crcookie,
    }))
    .cast()
}

// ---------------------------------------------------------------------
// Pool start and binding.

/// Called after door_create: starts the pool for the first non-private
/// door, or offers a private door to the creation function.
/// Returns whether it ran libdoor's default function (whose threads
/// door_create waits for).
pub fn after_create(door: &Arc<Door>, first_shared: bool) -> bool {
    let f = server_func();
    let default = f as usize == default_server_func as *const () as usize;
    if door.attrs.load(Ordering::Relaxed) & DOOR_PRIVATE != 0 {
        if door.xcreate.is_none() {
            let info = door.crf_info.ptr();
            // SAFETY: nobody else has seen the door's info cell yet.
            unsafe { info.write(door.info(sys::getpid())) };
            // SAFETY: the user's creation function, with an info that lives
            // as long as the door.
            unsafe { f(info) };
            return default;
        }
    } else if first_shared {
        // SAFETY: as above, with NULL for the shared pool.
        unsafe { f(ptr::null_mut()) };
        return default;
    }
    false
}

/// door_bind (man/door_bind.3c).
pub fn bind(door: &Arc<Door>) -> R<()> {
    if door.attrs.load(Ordering::Relaxed) & DOOR_PRIVATE == 0 {
        return Err(libc::EINVAL);
    }
    // SAFETY: own thread's state.
    let st = unsafe { &mut *tls() };
    st.bound = Some((door.pool.clone(), door.id, sys::getpid()));
    Ok(())
}

/// door_unbind (man/door_bind.3c).
pub fn unbind() -> R<()> {
    let Some(st) = tls_if_any() else {
        return Err(libc::EBADF);
    };
    // SAFETY: own thread's state.
    let st = unsafe { &mut *st };
    match st.bound.take() {
        Some(_) => Ok(()),
        None => Err(libc::EBADF),
    }
}

/// The door this thread is bound to (door_info(DOOR_QUERY)).
pub fn bound_door() -> Option<u64> {
    let st = tls_if_any()?;
    // SAFETY: own thread's state.
    let st = unsafe { &*st };
    st.bound
        .as_ref()
        .filter(|b| b.2 == sys::getpid())
        .map(|b| b.1)
}

use std::mem::size_of;
