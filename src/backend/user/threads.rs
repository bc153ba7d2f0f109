//! The library's own threads: starting them detached, counting those not
//! yet idle (so that `door_create` returns only once they are), and the
//! daemon count (library threads never keep a process alive).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sys::{self, lock};

/// Starts a detached library thread that counts in STARTING until it
/// reports itself idle (`started`/`started_daemon`).
pub fn spawn_starting(
    f: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    arg: *mut libc::c_void,
) -> bool {
    init_atfork();
    STARTING.fetch_add(1, Ordering::AcqRel);
    let ok = sys::threads::spawn_detached(f, arg);
    if !ok {
        STARTING.fetch_sub(1, Ordering::AcqRel);
    }
    ok
}

/// Library-started threads that have not yet reached their first idle
/// wait. `wait_started` lets door_create return only once they have: a
/// thread that is still setting itself up allocates, and a fork() by the
/// application at that moment, under a sanitizer's allocator (which, unlike
/// glibc's, may not be locked across fork), could leave the child's
/// allocator locked for ever.
pub static STARTING: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread still counts in STARTING.
    static COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The calling thread has reached its idle wait (once per thread).
pub fn started() {
    if COUNTED.with(|c| c.replace(false)) {
        started_daemon();
    }
}

/// A daemon started by `spawn_daemon` has reached its idle wait.
pub fn started_daemon() {
    // Saturating: a fork child starts from 0 (atfork_child).
    let _ = STARTING.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
}

/// Counts the calling (just started) thread as starting until `started`.
pub fn starting_thread() {
    COUNTED.with(|c| c.set(true));
}

/// Waits (at most 200 ms) until every library-started thread is idle.
pub fn wait_started() {
    let t0 = sys::now_ns();
    while STARTING.load(Ordering::Acquire) > 0 && sys::now_ns() - t0 < 200_000_000 {
        // SAFETY: a short sleep.
        unsafe { libc::usleep(50) };
    }
}

/// Threads the library started for itself in this process (pid, count).
static DAEMONS: std::sync::Mutex<(i32, usize)> = std::sync::Mutex::new((0, 0));

/// Starts a library-internal (daemon) thread: it never keeps the process
/// alive once every other thread has ended.
pub fn spawn_daemon(
    f: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    arg: *mut libc::c_void,
) -> bool {
    let ok = spawn_starting(f, arg);
    if ok {
        let mut d = lock(&DAEMONS);
        let pid = sys::getpid();
        if d.0 != pid {
            *d = (pid, 0);
        }
        d.1 += 1;
    }
    ok
}

/// Is the calling thread the only thread of the process besides the
/// library's daemons?
pub fn last_user_thread() -> bool {
    sys::threads::live_threads() <= daemon_count() + 1
}

fn daemon_count() -> usize {
    let d = lock(&DAEMONS);
    if d.0 == sys::getpid() { d.1 } else { 0 }
}

/// Would only daemon threads (the library's, and `extra` THR_DAEMON
/// threads of the application) be left once the calling thread ends?
pub fn only_daemons_besides_me(extra: usize) -> bool {
    sys::threads::live_threads() <= daemon_count() + extra + 1
}

/// How many of the application's threads are daemons (THR_DAEMON), told
/// by the thread library before it makes the first one.
static APP_DAEMONS: OnceLock<fn() -> usize> = OnceLock::new();

/// Installs the count of the application's daemon threads.
pub fn count_app_daemons_with(count: fn() -> usize) {
    let _ = APP_DAEMONS.set(count);
}

/// Called by the manager now and then: if only the library's own daemon
/// threads are left, the process ends as it would on illumos.
pub fn exit_if_only_daemons() {
    let app_daemons = APP_DAEMONS.get().map_or(0, |count| count());
    if sys::threads::live_threads() <= daemon_count() + app_daemons {
        // SAFETY: every user thread has ended; exit as illumos would.
        unsafe { libc::exit(0) }
    }
}

static ATFORK: OnceLock<()> = OnceLock::new();

/// In a fork child: the parent's starting threads are not in the child.
extern "C" fn atfork_child() {
    STARTING.store(0, Ordering::Release);
}

/// Registers the fork handler once, before the first thread is counted.
pub fn init_atfork() {
    ATFORK.get_or_init(|| {
        // SAFETY: the handler is a plain extern "C" function.
        unsafe { libc::pthread_atfork(None, None, Some(atfork_child)) };
    });
}
