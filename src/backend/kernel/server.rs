//! Server threads under the kernel backend: `door_create`/`door_xcreate`,
//! `door_return` (the module's reply-and-park ioctl, then the stack reset
//! of `sys::stack`), the dispatch loop, pool growth, revocation, the
//! caller's credentials and the cancellation of a server thread whose
//! client gave up.
//!
//! Invariant (see ARCHITECTURE.md): every frame that calls user code (the
//! server procedure, a creation function) holds no value with a
//! destructor at the call; `dispatch` works from the plain `Invocation`
//! the module wrote into the thread's state.

use std::cell::{Cell, UnsafeCell};
use std::os::fd::RawFd;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};

use super::{ioctl, no_door, uapi};
use crate::abi::*;
use crate::sys::creds::Creds;
use crate::sys::{self, R};

// ---------------------------------------------------------------------
// Per-thread state.

/// Largest argument area a thread maps: the module's largest transfer
/// (1 GiB) and 1024 descriptor records.
const AREA_MAX: usize = (1 << 30) + 1024 * 24 + 4096;
/// What an invocation needs on illumos' server stack besides the data and
/// the descriptor records (struct door_results, a door_info_t for a
/// depletion callback, alignment).
const STACK_OVERHEAD: usize = 64 + 48 + 32;
/// The module's largest reply (DOOR_UAPI_MAX_REPLY).
const MAX_REPLY: usize = 1 << 30;

struct ServerTls {
    /// Stack pointer every invocation starts from; 0 until the thread's
    /// first `door_return`.
    anchor: usize,
    /// Bytes of stack illumos would let arguments use below the anchor.
    usable: usize,
    /// The argument area the module writes invocations into (an
    /// anonymous mapping, populated only where written).
    area: *mut u8,
    area_len: usize,
    /// The module knows this thread as a server thread.
    registered: bool,
    /// The invocation being served (written by the RETURN ioctl).
    inv: uapi::Invocation,
    /// The pid that bound this thread to a private door (door_bind), 0 if
    /// none: in a fork child the binding is the parent's.
    bound_pid: i32,
}

struct TlsBox(*mut ServerTls);
impl Drop for TlsBox {
    fn drop(&mut self) {
        if self.0.is_null() {
            return;
        }
        // SAFETY: allocated by Box::into_raw in tls(); this is the only owner.
        let b = unsafe { Box::from_raw(self.0) };
        if b.registered {
            // The thread ends (pthread_exit, cancellation): a call it
            // serves ends with EINTR, and the module forgets the thread.
            thread_exit();
        }
        if !b.area.is_null() {
            // SAFETY: our own mapping.
            unsafe { libc::munmap(b.area.cast(), b.area_len) };
        }
    }
}

thread_local! {
    static TLS: UnsafeCell<TlsBox> = const { UnsafeCell::new(TlsBox(ptr::null_mut())) };
    /// This thread runs an invocation now (read by the cancellation
    /// signal's handler: a plain const cell, safe there).
    static SERVING: Cell<bool> = const { Cell::new(false) };
    /// This thread still counts in STARTING.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn tls() -> *mut ServerTls {
    TLS.with(|c| {
        // SAFETY: only this thread touches its own slot.
        let slot = unsafe { &mut *c.get() };
        if slot.0.is_null() {
            slot.0 = Box::into_raw(Box::new(ServerTls {
                anchor: 0,
                usable: usize::MAX,
                area: ptr::null_mut(),
                area_len: 0,
                registered: false,
                inv: uapi::Invocation::default(),
                bound_pid: 0,
            }));
        }
        slot.0
    })
}

fn thread_exit() {
    let _ = ioctl(uapi::IOC_THREAD_EXIT, ptr::null_mut::<u8>());
}

// ---------------------------------------------------------------------
// Threads the library starts.

/// Library-started server threads that have not reached their first
/// park: `door_create` returns once they have (no allocation of theirs
/// can then race an application's fork).
static STARTING: AtomicUsize = AtomicUsize::new(0);

fn started() {
    if COUNTED.with(|c| c.replace(false)) {
        let _ = STARTING.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
}

fn wait_started() {
    let t0 = sys::now_ns();
    while STARTING.load(Ordering::Acquire) > 0 && sys::now_ns() - t0 < 200_000_000 {
        // SAFETY: a short sleep.
        unsafe { libc::usleep(50) };
    }
}

extern "C" fn server_thread_main(_: *mut libc::c_void) -> *mut libc::c_void {
    COUNTED.with(|c| c.set(true));
    // SAFETY: disabling cancellation of the calling thread.
    unsafe { sys::pthread_setcancelstate(sys::PTHREAD_CANCEL_DISABLE, ptr::null_mut()) };
    let _ = door_return(ptr::null(), 0, ptr::null(), 0);
    started();
    ptr::null_mut()
}

/// The default creation function: one detached thread that parks in the
/// process pool.
unsafe extern "C" fn default_server_func(_info: *mut door_info_t) {
    STARTING.fetch_add(1, Ordering::AcqRel);
    if !sys::threads::spawn_detached(server_thread_main, ptr::null_mut()) {
        STARTING.fetch_sub(1, Ordering::AcqRel);
    }
}

static SERVER_FUNC: AtomicUsize = AtomicUsize::new(0);

fn server_func() -> door_server_func_t {
    match SERVER_FUNC.load(Ordering::Acquire) {
        0 => default_server_func,
        // SAFETY: only ever stores door_server_func_t values.
        f => unsafe { std::mem::transmute::<usize, door_server_func_t>(f) },
    }
}

/// `door_server_create`: installs `f`, returns the previous one.
pub fn set_server_func(f: Option<door_server_func_t>) -> door_server_func_t {
    let prev = server_func();
    SERVER_FUNC.store(f.map_or(0, |f| f as usize), Ordering::Release);
    prev
}

// ---------------------------------------------------------------------
// This process's doors (only what the module does not keep).

#[derive(Clone, Copy)]
struct XCreate {
    crf: door_xcreate_server_func_t,
    setupf: Option<door_xcreate_thrsetup_func_t>,
    crcookie: usize,
}

struct KDoor {
    id: u64,
    pid: i32,
    x: Option<XCreate>,
    /// For a private door without a creation function of its own: the
    /// door_info_t handed to the server-creation function (lives as long
    /// as the door's entry).
    info: Box<door_info_t>,
    /// A library-owned copy of an xcreate'd door's descriptor, which the
    /// threads its `crf` starts at depletion bind with; -1 for a door with
    /// DOOR_UNREF or DOOR_UNREF_MULTI, whose count that copy would falsify.
    bind_fd: RawFd,
}

static DOORS: std::sync::Mutex<Vec<KDoor>> = std::sync::Mutex::new(Vec::new());

/// The library's bind copies, also in a lock-free table that a fork child
/// closes before user code runs (a child's copies would keep the parent's
/// doors referenced).
const BIND_SLOTS: usize = 256;
static BIND_FDS: [AtomicI32; BIND_SLOTS] = [const { AtomicI32::new(-1) }; BIND_SLOTS];

fn keep_bind_fd(fd: RawFd) -> RawFd {
    for s in BIND_FDS.iter() {
        if s.compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return fd;
        }
    }
    sys::close_own(fd);
    -1
}

fn drop_bind_fd(fd: RawFd) {
    if fd < 0 {
        return;
    }
    for s in BIND_FDS.iter() {
        if s.compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            sys::close_own(fd);
            return;
        }
    }
}

extern "C" fn atfork_child() {
    for s in BIND_FDS.iter() {
        let fd = s.swap(-1, Ordering::AcqRel);
        if fd >= 0 {
            sys::fdown::close_own(fd);
        }
    }
}

fn forget_door(id: u64) {
    let gone: Vec<KDoor> = {
        let mut v = sys::lock(&DOORS);
        let (gone, keep): (Vec<KDoor>, Vec<KDoor>) = v.drain(..).partition(|d| d.id == id);
        *v = keep;
        gone
    };
    for d in gone {
        drop_bind_fd(d.bind_fd);
    }
}

fn info_of(inv: &uapi::Invocation) -> door_info_t {
    door_info_t {
        di_target: sys::getpid(),
        di_proc: inv.pc,
        di_data: inv.cookie,
        di_attributes: (inv.attributes & DOOR_ATTR_MASK) | DOOR_LOCAL,
        di_uniquifier: inv.door_id,
        di_resv: [0; 4],
    }
}

// ---------------------------------------------------------------------
// Process set-up: the cancellation signal.

/// The signal the module sends (si_code SI_KERNEL) to a server thread
/// whose client gave up on its call: the handler cancels the thread if it
/// is still serving (cancellation acts at its next cancellation point,
/// as on illumos; library threads have it disabled). Other deliveries of
/// this signal go to the application's handler.
fn cancel_signal() -> i32 {
    // The module takes signals below the kernel's _NSIG (64) only.
    libc::SIGRTMAX() - 1
}

struct OldAction(UnsafeCell<libc::sigaction>);
// SAFETY: written once, before the handler that reads it is installed.
unsafe impl Sync for OldAction {}
// SAFETY: an all-zero sigaction is a valid value (SIG_DFL, no flags).
static OLD_ACTION: OldAction = OldAction(UnsafeCell::new(unsafe { std::mem::zeroed() }));
static HANDLER_SET: std::sync::Once = std::sync::Once::new();
static CONFIGURED_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_cancel_signal(sig: i32, si: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo.
    let code = unsafe { (*si).si_code };
    if code == libc::SI_KERNEL {
        if SERVING.try_with(|c| c.get()).unwrap_or(false) {
            // SAFETY: cancels the calling thread (deferred: acted on at its
            // next cancellation point, if it has cancellation enabled).
            unsafe { libc::pthread_cancel(libc::pthread_self()) };
        }
        return;
    }
    // SAFETY: OLD_ACTION was written before this handler was installed.
    let old = unsafe { &*OLD_ACTION.0.get() };
    match old.sa_sigaction {
        libc::SIG_IGN => {}
        libc::SIG_DFL => {
            // SAFETY: the default action of this signal (termination).
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
                libc::raise(sig);
            }
        }
        h if old.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: the application's three-argument handler.
            let f = unsafe {
                std::mem::transmute::<
                    usize,
                    extern "C" fn(i32, *mut libc::siginfo_t, *mut libc::c_void),
                >(h)
            };
            f(sig, si, uc)
        }
        h => {
            // SAFETY: the application's one-argument handler.
            let f = unsafe { std::mem::transmute::<usize, extern "C" fn(i32)>(h) };
            f(sig)
        }
    }
}

/// Once per process: the cancellation handler (once per program image)
/// and the module's cancellation signal (once per server process).
fn setup_process() -> R<()> {
    HANDLER_SET.call_once(|| {
        // SAFETY: sigaction with valid structures; OLD_ACTION is written
        // before our handler can run.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_cancel_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(cancel_signal(), ptr::null(), OLD_ACTION.0.get());
            libc::sigaction(cancel_signal(), &sa, ptr::null_mut());
            libc::pthread_atfork(None, None, Some(atfork_child));
        }
    });
    let pid = sys::getpid();
    if CONFIGURED_PID.load(Ordering::Acquire) != pid {
        let mut c = uapi::Config {
            cancel_signal: cancel_signal() as u32,
            resv: 0,
        };
        ioctl(uapi::IOC_CONFIG, &mut c)?;
        CONFIGURED_PID.store(pid, Ordering::Release);
    }
    Ok(())
}

// ---------------------------------------------------------------------
// door_create, door_xcreate, door_revoke.

/// The pid whose process pool has had its first thread started.
static SHARED_STARTED: AtomicI32 = AtomicI32::new(0);

fn new_door(proc_: usize, cookie: usize, attrs: u32) -> R<(RawFd, u64)> {
    setup_process()?;
    let mut c = uapi::Create {
        pc: proc_ as u64,
        cookie: cookie as u64,
        attributes: attrs,
        ..Default::default()
    };
    ioctl(uapi::IOC_CREATE, &mut c)?;
    Ok((c.fd, c.id))
}

/// `door_create` (`attrs` checked by core).
pub fn create(proc_: usize, cookie: usize, attrs: u32) -> R<i32> {
    let (fd, id) = new_door(proc_, cookie, attrs)?;
    let f = server_func();
    let default = f as usize == default_server_func as *const () as usize;
    let pid = sys::getpid();
    if attrs & DOOR_PRIVATE != 0 {
        let info = Box::new(door_info_t {
            di_target: pid,
            di_proc: proc_ as u64,
            di_data: cookie as u64,
            di_attributes: (attrs & DOOR_ATTR_MASK) | DOOR_LOCAL,
            di_uniquifier: id,
            di_resv: [0; 4],
        });
        let p = {
            let mut v = sys::lock(&DOORS);
            v.push(KDoor {
                id,
                pid,
                x: None,
                info,
                bind_fd: -1,
            });
            &mut *v.last_mut().unwrap().info as *mut door_info_t
        };
        // SAFETY: the creation function, with an info that lives as long
        // as the door's entry (a Box does not move with the vector).
        unsafe { f(p) };
    } else if SHARED_STARTED.swap(pid, Ordering::AcqRel) != pid {
        // SAFETY: the creation function, NULL for the process pool.
        unsafe { f(ptr::null_mut()) };
    }
    if default {
        wait_started();
    }
    Ok(fd)
}

/// The handshake between door_xcreate and the threads its `crf` starts.
struct Handshake {
    reported: AtomicU32,
    failed: AtomicU32,
    /// 0: undecided, 1: go, 2: abort.
    decision: AtomicU32,
}

/// What each xcreate'd thread receives as its start argument.
struct StartArg {
    hs: Option<Arc<Handshake>>,
    /// The descriptor to bind with (the caller's, during door_xcreate).
    fd: RawFd,
    door_id: u64,
    setupf: Option<door_xcreate_thrsetup_func_t>,
    crcookie: usize,
}

fn futex_wait(word: &AtomicU32, val: u32) {
    // SAFETY: futex wait on a live atomic word, private, no timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            sys::FUTEX_WAIT_PRIVATE,
            val,
            ptr::null::<libc::timespec>(),
        );
    }
}

fn futex_wake(word: &AtomicU32) {
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

fn bind_fd_of(id: u64) -> RawFd {
    let pid = sys::getpid();
    sys::lock(&DOORS)
        .iter()
        .find(|d| d.id == id && d.pid == pid)
        .map_or(-1, |d| d.bind_fd)
}

/// Start routine handed to `crf`.
extern "C" fn xcreate_start(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: arg is a Box<StartArg> made by `start_arg`; this thread owns it.
    let a = unsafe { Box::from_raw(arg as *mut StartArg) };
    match a.setupf {
        // SAFETY: the user's setup callback with its cookie.
        Some(f) => unsafe { f(a.crcookie as *mut libc::c_void) },
        None => {
            // SAFETY: changes this thread's cancellation state only.
            unsafe {
                sys::pthread_setcancelstate(sys::PTHREAD_CANCEL_DISABLE, ptr::null_mut());
                sys::pthread_setcanceltype(sys::PTHREAD_CANCEL_DEFERRED, ptr::null_mut());
            }
        }
    }
    let fd = if a.fd >= 0 {
        a.fd
    } else {
        bind_fd_of(a.door_id)
    };
    let bound = fd >= 0 && bind(fd).is_ok();
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
                _ => return ptr::null_mut(),
            }
        }
    } else if !bound {
        return ptr::null_mut();
    }
    drop(a);
    let _ = door_return(ptr::null(), 0, ptr::null(), 0);
    ptr::null_mut()
}

fn start_arg(
    hs: Option<&Arc<Handshake>>,
    fd: RawFd,
    door_id: u64,
    x: &XCreate,
) -> *mut libc::c_void {
    Box::into_raw(Box::new(StartArg {
        hs: hs.cloned(),
        fd,
        door_id,
        setupf: x.setupf,
        crcookie: x.crcookie,
    }))
    .cast()
}

/// `door_xcreate` (attrs, crf and nthread checked by core; attrs has
/// DOOR_PRIVATE and DOOR_PRIVCREATE).
pub fn xcreate(
    proc_: usize,
    cookie: usize,
    attrs: u32,
    crf: door_xcreate_server_func_t,
    setupf: Option<door_xcreate_thrsetup_func_t>,
    crcookie: usize,
    nthread: i32,
) -> R<i32> {
    let (fd, id) = new_door(proc_, cookie, attrs)?;
    let x = XCreate {
        crf,
        setupf,
        crcookie,
    };
    let bind_fd = if attrs & (DOOR_UNREF | DOOR_UNREF_MULTI) == 0 {
        sys::dup_own(fd).map_or(-1, |f| keep_bind_fd(f.keep()))
    } else {
        -1
    };
    let pid = sys::getpid();
    sys::lock(&DOORS).push(KDoor {
        id,
        pid,
        x: Some(x),
        info: Box::new(door_info_t {
            di_target: 0,
            di_proc: 0,
            di_data: 0,
            di_attributes: 0,
            di_uniquifier: 0,
            di_resv: [0; 4],
        }),
        bind_fd,
    });
    let hs = Arc::new(Handshake {
        reported: AtomicU32::new(0),
        failed: AtomicU32::new(0),
        decision: AtomicU32::new(0),
    });
    let mut started = 0u32;
    let mut err = 0;
    for _ in 0..nthread {
        let mut info = super::client::info(fd).unwrap_or(door_info_t {
            di_target: pid,
            di_proc: proc_ as u64,
            di_data: cookie as u64,
            di_attributes: attrs | DOOR_LOCAL,
            di_uniquifier: id,
            di_resv: [0; 4],
        });
        let arg = start_arg(Some(&hs), fd, id, &x);
        // SAFETY: the user's creation function, called per its contract.
        let r = unsafe { (x.crf)(&mut info, xcreate_start, arg, crcookie as *mut libc::c_void) };
        match r {
            1 => started += 1,
            // The start argument is leaked on purpose: a crf that started
            // a thread anyway must not find freed memory.
            0 => err = libc::EINVAL,
            -1 => err = libc::EPIPE,
            // SAFETY: illumos treats any other value as a fatal bug.
            _ => unsafe { libc::abort() },
        }
        if err != 0 {
            break;
        }
    }
    loop {
        let n = hs.reported.load(Ordering::Acquire);
        if n >= started {
            break;
        }
        futex_wait(&hs.reported, n);
    }
    if err == 0 && hs.failed.load(Ordering::Acquire) > 0 {
        err = libc::EBADF;
    }
    hs.decision
        .store(if err == 0 { 1 } else { 2 }, Ordering::Release);
    futex_wake(&hs.decision);
    if err != 0 {
        let _ = revoke(fd);
        let _ = sys::close(fd);
        return Err(err);
    }
    Ok(fd)
}

/// `door_revoke` up to closing `d`. The module closes the descriptor it
/// revokes through, so it is given a private copy of `d`, and core closes
/// `d` itself afterwards.
pub fn revoke(d: RawFd) -> R<()> {
    let copy = sys::dup_own(d)?.keep();
    // From here the number is the module's to close.
    sys::fdown::disown(copy);
    let mut info = uapi::Info {
        fd: copy,
        ..Default::default()
    };
    let id = ioctl(uapi::IOC_INFO, &mut info).map(|_| info.id);
    let mut f = uapi::Fd { fd: copy, flags: 0 };
    match ioctl(uapi::IOC_REVOKE, &mut f) {
        Ok(()) => {
            if let Ok(id) = id {
                forget_door(id);
            }
            Ok(())
        }
        Err(e) => {
            sys::raw_close(copy);
            Err(no_door(e))
        }
    }
}

// ---------------------------------------------------------------------
// door_return and dispatch.

fn map_area(st: &mut ServerTls) -> R<()> {
    if !st.area.is_null() {
        return Ok(());
    }
    let mut len = st.usable.clamp(4096, AREA_MAX);
    len = len.div_ceil(4096) * 4096;
    loop {
        // SAFETY: a fresh anonymous mapping, no fixed address.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            st.area = p.cast();
            st.area_len = len;
            return Ok(());
        }
        if len <= 1 << 20 {
            return Err(libc::ENOMEM);
        }
        len /= 4; // a tight RLIMIT_AS: smaller arguments only
    }
}

/// Ends the current invocation with results and parks for the next.
/// Returns only on failure, with the errno.
pub fn door_return(data: *const u8, size: usize, desc: *const door_desc_t, ndesc: u32) -> i32 {
    let saved_errno = sys::errno();
    let st = tls();
    // SAFETY: own thread's state.
    let s = unsafe { &mut *st };
    if s.anchor == 0 {
        // Everything below this point is dead once we jump: door_return
        // never returns. Keep a margin for the red zone and align to 16.
        s.anchor = (sys::stack_pointer() - 256) & !15;
        s.usable = sys::stack::usable_stack(s.anchor);
    }
    if s.bound_pid != 0 && s.bound_pid != sys::getpid() {
        return libc::EINVAL; // bound in the parent before fork
    }
    if size > MAX_REPLY {
        // Larger than any reply can be. An unreadable buffer is EFAULT, as
        // on illumos, where the copy faults first.
        let last = (data as usize).checked_add(size - 1);
        let mut b = 0u8;
        if last.is_none() || sys::copy_in_bytes(last.unwrap_or(0) as *const u8, &mut b, 1).is_err()
        {
            return libc::EFAULT;
        }
    }
    if let Err(e) = map_area(s) {
        return e;
    }
    let mut ur = uapi::Return {
        data_ptr: data as u64,
        data_size: size as u64,
        desc_ptr: desc as u64,
        desc_num: ndesc,
        flags: 0,
        area_ptr: s.area as u64,
        area_size: s.usable.saturating_sub(STACK_OVERHEAD).min(s.area_len) as u64,
        inv: uapi::Invocation::default(),
    };
    let was_serving = SERVING.with(|c| c.replace(false));
    s.registered = true;
    started();
    loop {
        match ioctl(uapi::IOC_RETURN, &mut ur) {
            Ok(()) => break,
            Err(libc::EINTR) => {
                // A signal (its handler has run) while parked: the reply,
                // if any, went out. Park again, as illumos' libc does.
                ur.data_ptr = 0;
                ur.data_size = 0;
                ur.desc_ptr = 0;
                ur.desc_num = 0;
            }
            Err(libc::EMFILE) if ndesc > 0 => {
                // The client had no room for the descriptors: its call
                // succeeded without them, they stay ours, and this
                // door_return fails without setting errno, as on illumos.
                // The invocation is over.
                sys::set_errno(saved_errno);
                return 0;
            }
            Err(e) => {
                // The reply was not delivered: the thread still serves.
                SERVING.with(|c| c.set(was_serving));
                return e;
            }
        }
    }
    s.inv = ur.inv;
    sys::stack::forget_stack_below();
    let anchor = s.anchor;
    // SAFETY: anchor is 16-aligned, inside this thread's stack and above
    // every live frame we still need (none: we never return).
    unsafe { sys::stack::jump(anchor, dispatch, st as usize) }
}

/// What dispatch needs to run one invocation: plain values only.
#[derive(Clone, Copy)]
struct Invocation {
    proc_: door_server_procedure_t,
    cookie: *mut libc::c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
    deplete: Option<Depletion>,
}

#[derive(Clone, Copy)]
enum Depletion {
    Shared,
    Private(door_info_t),
    X {
        info: door_info_t,
        crf: door_xcreate_server_func_t,
        arg: *mut libc::c_void,
        crcookie: *mut libc::c_void,
    },
}

fn depletion(inv: &uapi::Invocation) -> Option<Depletion> {
    if inv.flags & uapi::INV_POOL_EMPTY == 0 {
        return None;
    }
    if inv.attributes & DOOR_PRIVATE == 0 {
        return Some(Depletion::Shared);
    }
    let pid = sys::getpid();
    let x = sys::lock(&DOORS)
        .iter()
        .find(|d| d.id == inv.door_id && d.pid == pid)
        .and_then(|d| d.x);
    match x {
        Some(_) if inv.attributes & DOOR_NO_DEPLETION_CB != 0 => None,
        // Without a descriptor to bind with (a door with DOOR_UNREF), a
        // new thread could not join the door's pool.
        Some(_) if bind_fd_of(inv.door_id) < 0 => None,
        Some(x) => Some(Depletion::X {
            info: info_of(inv),
            crf: x.crf,
            arg: start_arg(None, -1, inv.door_id, &x),
            crcookie: x.crcookie as *mut libc::c_void,
        }),
        None => Some(Depletion::Private(info_of(inv))),
    }
}

fn invocation(st: *mut ServerTls) -> Invocation {
    // SAFETY: own thread's state.
    let inv = unsafe { (*st).inv };
    let unref = inv.flags & uapi::INV_UNREF != 0;
    Invocation {
        // SAFETY: door_create stored a door_server_procedure_t as pc.
        proc_: unsafe { std::mem::transmute::<usize, door_server_procedure_t>(inv.pc as usize) },
        cookie: inv.cookie as usize as *mut libc::c_void,
        argp: if unref {
            DOOR_UNREF_DATA as *mut u8
        } else {
            inv.data_ptr as usize as *mut u8
        },
        size: inv.data_size as usize,
        dp: inv.desc_ptr as usize as *mut door_desc_t,
        n: inv.desc_num,
        deplete: depletion(&inv),
    }
}

/// The top frame of every invocation: runs the creation function when
/// the pool ran dry, then the procedure. If the procedure returns
/// (instead of calling door_return), the thread ends and the client gets
/// EINTR, as on illumos.
extern "C" fn dispatch(st: usize) -> ! {
    let st = st as *mut ServerTls;
    let inv = invocation(st);
    SERVING.with(|c| c.set(true));
    if let Some(d) = inv.deplete {
        run_depletion(d);
    }
    // SAFETY: the two procedure types differ only in the width of the
    // last integer argument, which travels in a register either way.
    let proc_ = unsafe {
        std::mem::transmute::<door_server_procedure_t, door_server_procedure_sz_t>(inv.proc_)
    };
    // SAFETY: the user's procedure with the arguments it was registered
    // for; argp/dp point into this thread's area, valid until its next
    // door_return. No live destructors in this frame.
    unsafe { proc_(inv.cookie, inv.argp, inv.size, inv.dp, inv.n as usize) };
    procedure_returned(st)
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
            // SAFETY: the door's own creation function, per its contract;
            // the start argument is leaked unless a thread took it.
            let _ = unsafe { crf(&mut info, xcreate_start, arg, crcookie) };
        }
    }
}

fn procedure_returned(st: *mut ServerTls) -> ! {
    SERVING.with(|c| c.set(false));
    // SAFETY: own thread's state.
    unsafe { (*st).registered = false };
    thread_exit();
    if sys::threads::live_threads() <= 1 {
        // SAFETY: ends the process, as thr_exit of its last thread does.
        unsafe { libc::exit(0) }
    }
    // SAFETY: ends this thread; forced unwinding crosses only frames
    // without destructors and stops at `jump`.
    unsafe { libc::pthread_exit(ptr::null_mut()) }
}

/// `door_bind`.
pub fn bind(d: RawFd) -> R<()> {
    let mut f = uapi::Fd { fd: d, flags: 0 };
    ioctl(uapi::IOC_BIND, &mut f).map_err(no_door)?;
    // SAFETY: own thread's state.
    unsafe { (*tls()).bound_pid = sys::getpid() };
    Ok(())
}

/// `door_unbind`.
pub fn unbind() -> R<()> {
    let TlsBoxPtr(Some(st)) = tls_if_any() else {
        return ioctl(uapi::IOC_UNBIND, ptr::null_mut::<u8>()).map_err(no_door);
    };
    // SAFETY: own thread's state.
    let st = unsafe { &mut *st };
    if st.bound_pid != 0 && st.bound_pid != sys::getpid() {
        // A fork child's copy of a bound thread: the binding is dropped
        // here (the module never knew this thread).
        st.bound_pid = 0;
        return Ok(());
    }
    st.bound_pid = 0;
    ioctl(uapi::IOC_UNBIND, ptr::null_mut::<u8>()).map_err(no_door)
}

struct TlsBoxPtr(Option<*mut ServerTls>);

fn tls_if_any() -> TlsBoxPtr {
    TlsBoxPtr(
        TLS.try_with(|c| {
            // SAFETY: only this thread touches its own slot.
            let p = unsafe { (*c.get()).0 };
            if p.is_null() { None } else { Some(p) }
        })
        .ok()
        .flatten(),
    )
}

// ---------------------------------------------------------------------
// The caller's credentials.

/// The credentials of the client of the invocation this thread serves
/// (with its groups when `groups`), as the module attests them for this
/// very call; None outside an invocation or once the client gave up.
pub fn caller(groups: bool) -> Option<Creds> {
    let mut buf: Vec<u32> = if groups { vec![0; 64] } else { Vec::new() };
    loop {
        let mut u = uapi::Ucred {
            groups_ptr: buf.as_mut_ptr() as u64,
            groups_cap: buf.len() as u32,
            ..Default::default()
        };
        ioctl(uapi::IOC_UCRED, &mut u).ok()?;
        if groups && u.ngroups as usize > buf.len() {
            buf = vec![0; u.ngroups as usize];
            continue;
        }
        buf.truncate(u.ngroups as usize);
        return Some(Creds {
            pid: if u.flags & uapi::UCRED_KERNEL != 0 {
                0
            } else {
                u.pid
            },
            uid: [u.ruid, u.euid, u.suid],
            gid: [u.rgid, u.egid, u.sgid],
            groups: buf,
        });
    }
}
