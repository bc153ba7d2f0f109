//! Solaris threads (`<thread.h>`) over pthreads.
//!
//! Door servers written for Solaris create their pool threads with
//! `thr_create` and name threads by `thread_t`, a small integer (the main
//! thread is 1). This module keeps the table from `thread_t` to
//! `pthread_t`, and what pthreads does not have: `thr_join(0, …)` (wait
//! for *any* undetached thread), creation suspended until `thr_continue`,
//! and daemon threads (`THR_DAEMON`: the process ends when its last
//! non-daemon thread does). Errors are returned as error numbers, as the
//! Solaris functions do; errno is left alone.

use std::cell::Cell;
use std::sync::{Condvar, Mutex};

use crate::backend;
use crate::sys::lock;
use crate::sys::{self, R};

pub const THR_BOUND: libc::c_long = 0x01;
pub const THR_NEW_LWP: libc::c_long = 0x02;
pub const THR_DETACHED: libc::c_long = 0x40;
pub const THR_SUSPENDED: libc::c_long = 0x80;
pub const THR_DAEMON: libc::c_long = 0x100;
const THR_ALL: libc::c_long = THR_BOUND | THR_NEW_LWP | THR_DETACHED | THR_SUSPENDED | THR_DAEMON;

struct Entry {
    id: u32,
    pt: libc::pthread_t,
    /// Made by thr_create (its exit is seen); false for threads that got an
    /// id by calling thr_self.
    ours: bool,
    detached: bool,
    daemon: bool,
    exited: bool,
    /// A thr_join is reaping it.
    claimed: bool,
    /// Created THR_SUSPENDED and not yet continued.
    suspended: bool,
}

struct Table {
    pid: i32,
    threads: Vec<Entry>,
    /// Live THR_DAEMON threads.
    daemons: usize,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    pid: 0,
    threads: Vec::new(),
    daemons: 0,
});
/// The next thread_t to hand out (1 is the main thread's).
static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(2);

fn next_id() -> u32 {
    loop {
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if id >= 2 {
            return id;
        }
    }
}
/// Signalled when a thread exits or is continued.
static CHANGED: Condvar = Condvar::new();

fn table() -> std::sync::MutexGuard<'static, Table> {
    let mut t = lock(&TABLE);
    let pid = sys::getpid();
    if t.pid != pid {
        // A fork child: only the forking thread exists; it keeps its id.
        let me = MY_ID.with(|c| c.get());
        // SAFETY: pthread_self has no preconditions.
        let pt = unsafe { libc::pthread_self() };
        t.threads.retain(|e| e.id == me);
        for e in t.threads.iter_mut() {
            e.pt = pt;
        }
        t.daemons = 0;
        t.pid = pid;
    }
    t
}

thread_local! {
    /// This thread's thread_t (0: none yet).
    static MY_ID: Cell<u32> = const { Cell::new(0) };
    static EXIT: ExitWatch = const { ExitWatch };
}

/// Runs when a thread made by thr_create ends (returns from its start
/// function, thr_exit, pthread_exit or cancellation).
struct ExitWatch;
impl Drop for ExitWatch {
    fn drop(&mut self) {
        // The main thread ends through exit() (nothing to do) or thr_exit,
        // which calls `ending` itself: glibc runs no thread-local
        // destructor when the main thread calls pthread_exit.
        if !main_thread() {
            ending(MY_ID.try_with(|c| c.get()).unwrap_or(0));
        }
    }
}

/// Thread `id` (the caller) is ending.
fn ending(id: u32) {
    {
        let last_user = {
            let mut t = table();
            let mut daemon = false;
            if let Some(e) = t.threads.iter_mut().find(|e| e.id == id) {
                e.exited = true;
                daemon = e.daemon;
                // Nobody can thr_join a detached thread, nor one that only
                // got an id from thr_self (its exit was not ours to see).
                if e.detached || !e.ours {
                    t.threads.retain(|e| e.id != id);
                }
            }
            if daemon {
                t.daemons = t.daemons.saturating_sub(1);
            }
            CHANGED.notify_all();
            !daemon && t.daemons > 0 && backend::get().only_daemons_besides_me(t.daemons)
        };
        if last_user {
            // The last non-daemon thread is ending: so does the process.
            // SAFETY: exit as the process would on Solaris.
            unsafe { libc::exit(0) };
        }
    }
}

fn main_thread() -> bool {
    // SAFETY: gettid and getpid have no preconditions.
    unsafe { libc::gettid() == libc::getpid() }
}

/// The calling thread's thread_t, given one on first use. Threads made by
/// thr_create have theirs before any of their signal handlers can run, so
/// this is async-signal-safe for them and for the main thread.
pub fn self_id() -> u32 {
    let id = MY_ID.with(|c| c.get());
    if id != 0 {
        return id;
    }
    let id = if main_thread() {
        1
    } else {
        let id = next_id();
        // A thread made by pthread_create: registered if the table is free
        // (never waited for: this may run in a signal handler).
        let Ok(mut t) = TABLE.try_lock() else {
            MY_ID.with(|c| c.set(id));
            return id;
        };
        t.threads.push(Entry {
            id,
            // SAFETY: pthread_self has no preconditions.
            pt: unsafe { libc::pthread_self() },
            ours: false,
            detached: false,
            daemon: false,
            exited: false,
            claimed: false,
            suspended: false,
        });
        id
    };
    MY_ID.with(|c| c.set(id));
    EXIT.with(|_| {});
    id
}

/// thr_exit(3C).
pub fn exit(status: *mut libc::c_void) -> ! {
    let id = self_id();
    if main_thread() {
        ending(id);
    }
    // SAFETY: ends the calling thread; this frame holds nothing to drop.
    unsafe { libc::pthread_exit(status) }
}

struct Start {
    f: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    arg: *mut libc::c_void,
    id: u32,
    /// The creator's signal mask: the thread starts with every signal
    /// blocked and takes this mask once it knows its id.
    mask: libc::sigset_t,
}

extern "C-unwind" fn trampoline(p: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: thr_create passes a boxed Start, ours from now on.
    let s = unsafe { Box::from_raw(p as *mut Start) };
    let (f, arg, id, mask) = (s.f, s.arg, s.id, s.mask);
    drop(s);
    MY_ID.with(|c| c.set(id));
    EXIT.with(|_| {});
    {
        let mut t = table();
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        if let Some(e) = t.threads.iter_mut().find(|e| e.id == id) {
            e.pt = me;
        }
        while t.threads.iter().any(|e| e.id == id && e.suspended) {
            t = CHANGED.wait(t).unwrap_or_else(|p| p.into_inner());
        }
    }
    // SAFETY: restoring the creator's mask from a local copy.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut()) };
    // No destructor lives in this frame: the start function may thr_exit.
    f(arg)
}

/// thr_create(3C).
pub fn create(
    stack_base: *mut libc::c_void,
    stack_size: usize,
    f: Option<extern "C" fn(*mut libc::c_void) -> *mut libc::c_void>,
    arg: *mut libc::c_void,
    flags: libc::c_long,
) -> R<u32> {
    let f = f.ok_or(libc::EINVAL)?;
    if flags & !THR_ALL != 0 {
        return Err(libc::EINVAL);
    }
    if (!stack_base.is_null() || stack_size != 0) && stack_size < min_stack() {
        return Err(libc::EINVAL);
    }
    let detached = flags & THR_DETACHED != 0;
    let daemon = flags & THR_DAEMON != 0;
    if daemon {
        // The backend's manager ends the process when only daemons are left.
        backend::get().count_app_daemons_with(daemons);
    }
    self_id(); // the creator has an id too (the main thread: 1)
    let id = next_id();
    {
        let mut t = table();
        t.threads.push(Entry {
            id,
            pt: 0,
            ours: true,
            detached,
            daemon,
            exited: false,
            claimed: false,
            suspended: flags & THR_SUSPENDED != 0,
        });
        if daemon {
            t.daemons += 1;
        }
    }
    // SAFETY: all-zero sigsets are valid values to fill in.
    let (mut all, mut mask): (libc::sigset_t, libc::sigset_t) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    // SAFETY: local sigsets; the new thread inherits "all blocked".
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut mask);
    }
    let start = Box::into_raw(Box::new(Start { f, arg, id, mask }));
    // SAFETY: attr is initialised before use and destroyed after; the
    // trampoline owns `start` once the thread exists.
    let r = unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        libc::pthread_attr_init(&mut attr);
        if detached {
            libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        }
        let mut r = 0;
        if !stack_base.is_null() {
            r = libc::pthread_attr_setstack(&mut attr, stack_base, stack_size);
        } else if stack_size != 0 {
            r = libc::pthread_attr_setstacksize(&mut attr, stack_size);
        }
        let mut pt: libc::pthread_t = 0;
        if r == 0 {
            let tramp: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void =
                std::mem::transmute(trampoline as extern "C-unwind" fn(_) -> _);
            r = libc::pthread_create(&mut pt, &attr, tramp, start.cast());
        }
        libc::pthread_attr_destroy(&mut attr);
        libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
        if r == 0 {
            let mut t = table();
            if let Some(e) = t.threads.iter_mut().find(|e| e.id == id && e.pt == 0) {
                e.pt = pt;
            }
        }
        r
    };
    if r != 0 {
        // SAFETY: the thread was not created; the box is still ours.
        drop(unsafe { Box::from_raw(start) });
        let mut t = table();
        t.threads.retain(|e| e.id != id);
        if daemon {
            t.daemons -= 1;
        }
        return Err(if r == libc::EPERM { libc::EAGAIN } else { r });
    }
    Ok(id)
}

/// thr_join(3C): (departed id, status).
pub fn join(wait_for: u32) -> R<(u32, *mut libc::c_void)> {
    let me = self_id();
    if wait_for == me {
        return Err(libc::EDEADLK);
    }
    let (id, pt) = {
        let mut t = table();
        if wait_for != 0 {
            let Some(e) = t
                .threads
                .iter_mut()
                .find(|e| e.id == wait_for && !e.detached && !e.claimed)
            else {
                return Err(libc::ESRCH);
            };
            e.claimed = true;
            (e.id, e.pt)
        } else {
            loop {
                let candidates = |e: &Entry| e.ours && !e.detached && !e.claimed && e.id != me;
                if let Some(e) = t.threads.iter_mut().find(|e| candidates(e) && e.exited) {
                    e.claimed = true;
                    break (e.id, e.pt);
                }
                if !t.threads.iter().any(candidates) {
                    return Err(libc::ESRCH);
                }
                t = CHANGED.wait(t).unwrap_or_else(|p| p.into_inner());
            }
        }
    };
    let mut status: *mut libc::c_void = std::ptr::null_mut();
    let main_pt = wait_for == 1;
    let r = if main_pt || pt != 0 {
        // SAFETY: joining a thread that no other thr_join claimed.
        unsafe { libc::pthread_join(pt, &mut status) }
    } else {
        libc::ESRCH
    };
    let mut t = table();
    if r == 0 {
        t.threads.retain(|e| e.id != id);
        Ok((id, status))
    } else {
        if let Some(e) = t.threads.iter_mut().find(|e| e.id == id) {
            e.claimed = false;
        }
        CHANGED.notify_all();
        Err(if r == libc::EDEADLK { r } else { libc::ESRCH })
    }
}

/// The pthread of thread `id`, if it is alive.
fn pthread_of(id: u32) -> Option<libc::pthread_t> {
    if id == self_id() {
        // SAFETY: pthread_self has no preconditions.
        return Some(unsafe { libc::pthread_self() });
    }
    let t = table();
    t.threads
        .iter()
        .find(|e| e.id == id && !e.exited && e.pt != 0)
        .map(|e| e.pt)
}

/// thr_kill(3C).
pub fn kill(id: u32, sig: i32) -> R<()> {
    if !(0..=libc::SIGRTMAX()).contains(&sig) {
        return Err(libc::EINVAL);
    }
    let pt = pthread_of(id).ok_or(libc::ESRCH)?;
    // SAFETY: a live thread (its entry is removed only when it is joined
    // or, detached, when it ends).
    match unsafe { libc::pthread_kill(pt, sig) } {
        0 => Ok(()),
        e => Err(e),
    }
}

/// thr_continue(3C): starts a thread created THR_SUSPENDED.
pub fn resume(id: u32) -> R<()> {
    let mut t = table();
    let e = t
        .threads
        .iter_mut()
        .find(|e| e.id == id && !e.exited)
        .ok_or(libc::ESRCH)?;
    e.suspended = false;
    CHANGED.notify_all();
    Ok(())
}

/// Live THR_DAEMON threads of this process.
pub fn daemons() -> usize {
    table().daemons
}

/// thr_min_stack(3C).
pub fn min_stack() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_THREAD_STACK_MIN) };
    if n > 0 { n as usize } else { 16384 }
}

/// thr_stksegment(3C): (high address, size) of the calling thread's stack.
pub fn stack_segment() -> R<(usize, usize)> {
    // SAFETY: attr is filled by pthread_getattr_np and destroyed after.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return Err(libc::EAGAIN);
        }
        let mut lo: *mut libc::c_void = std::ptr::null_mut();
        let mut size = 0usize;
        let r = libc::pthread_attr_getstack(&attr, &mut lo, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if r != 0 || lo.is_null() {
            return Err(libc::EAGAIN);
        }
        Ok((lo as usize + size, size))
    }
}

static CONCURRENCY: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// thr_setconcurrency(3C): a hint; remembered for thr_getconcurrency.
pub fn set_concurrency(n: i32) -> R<()> {
    if n < 0 {
        return Err(libc::EINVAL);
    }
    CONCURRENCY.store(n, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

pub fn concurrency() -> i32 {
    CONCURRENCY.load(std::sync::atomic::Ordering::Relaxed)
}

/// Is this thread the main thread? (thr_main)
pub fn is_main() -> bool {
    main_thread()
}
