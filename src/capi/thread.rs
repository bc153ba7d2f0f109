//! `<thread.h>`: Solaris threads (thr_*), mapped onto pthreads by
//! `crate::core::thr`. Like Solaris, these return an error number (0 on success)
//! and leave errno alone, except where noted.

use crate::core::thr;
use crate::sys;

type StartFn = extern "C" fn(*mut libc::c_void) -> *mut libc::c_void;

fn code(r: sys::R<()>) -> i32 {
    r.err().unwrap_or(0)
}

/// Creates a thread running `start(arg)`.
///
/// Solaris: `thr_create(3C)`. `flags`: THR_BOUND and THR_NEW_LWP (every
/// thread is bound here), THR_DETACHED, THR_SUSPENDED (runs at
/// `thr_continue`), THR_DAEMON (does not keep the process alive).
///
/// # Errors
/// EINVAL (no start function, unknown flag, stack smaller than
/// `thr_min_stack()`), EAGAIN, ENOMEM; EFAULT for an unwritable `idp`.
///
/// # Safety
/// `stack_base`, if not NULL, is `stack_size` bytes of memory the thread
/// may use as its stack for its whole life.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_create(
    stack_base: *mut libc::c_void,
    stack_size: usize,
    start: Option<StartFn>,
    arg: *mut libc::c_void,
    flags: libc::c_long,
    idp: *mut u32,
) -> i32 {
    match thr::create(stack_base, stack_size, start, arg, flags) {
        Ok(id) if !idp.is_null() => code(sys::copy_out(idp, &id)),
        Ok(_) => 0,
        Err(e) => e,
    }
}

/// Waits for thread `wait_for` (0: any undetached thread) to end.
///
/// Solaris: `thr_join(3C)`.
///
/// # Errors
/// ESRCH (no such undetached thread, or none at all for 0), EDEADLK
/// (waiting for oneself), EFAULT for an unwritable `departed`/`status`.
///
/// # Safety
/// `departed` and `status` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_join(
    wait_for: u32,
    departed: *mut u32,
    status: *mut *mut libc::c_void,
) -> i32 {
    match thr::join(wait_for) {
        Ok((id, st)) => {
            if !departed.is_null()
                && let Err(e) = sys::copy_out(departed, &id)
            {
                return e;
            }
            if !status.is_null() {
                return code(sys::copy_out(status, &st));
            }
            0
        }
        Err(e) => e,
    }
}

/// Ends the calling thread with `status` for `thr_join`.
///
/// Solaris: `thr_exit(3C)`.
///
/// # Safety
/// As for pthread_exit(3).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn thr_exit(status: *mut libc::c_void) -> ! {
    thr::exit(status)
}

/// The calling thread's id (the main thread is 1).
///
/// Solaris: `thr_self(3C)`.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_self() -> u32 {
    thr::self_id()
}

/// Yields the processor.
///
/// Solaris: `thr_yield(3C)`.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_yield() {
    // SAFETY: sched_yield has no preconditions.
    unsafe { libc::sched_yield() };
}

/// Sends `sig` to thread `id` (0: only check that it exists).
///
/// Solaris: `thr_kill(3C)`.
///
/// # Errors
/// ESRCH (no such thread), EINVAL (bad signal).
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_kill(id: u32, sig: i32) -> i32 {
    code(thr::kill(id, sig))
}

/// Starts a thread created THR_SUSPENDED.
///
/// Solaris: `thr_continue(3C)`.
///
/// # Errors
/// ESRCH (no such thread).
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_continue(id: u32) -> i32 {
    code(thr::resume(id))
}

/// Changes the calling thread's signal mask.
///
/// Solaris: `thr_sigsetmask(3C)`.
///
/// # Errors
/// EINVAL (bad `how` with a set), EFAULT (unreadable set, unwritable oset).
///
/// # Safety
/// `set` and `oset` are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_sigsetmask(
    how: i32,
    set: *const libc::sigset_t,
    oset: *mut libc::sigset_t,
) -> i32 {
    let new = if set.is_null() {
        None
    } else {
        match sys::copy_in(set) {
            Ok(s) => Some(s),
            Err(e) => return e,
        }
    };
    if new.is_some() && ![libc::SIG_BLOCK, libc::SIG_UNBLOCK, libc::SIG_SETMASK].contains(&how) {
        return libc::EINVAL;
    }
    // SAFETY: an all-zero sigset_t is a valid value to be overwritten.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    let np = new.as_ref().map_or(std::ptr::null(), |s| s as *const _);
    // SAFETY: both pointers are to local sigsets (or NULL).
    let r = unsafe { libc::pthread_sigmask(how, np, &mut old) };
    if r != 0 {
        return r;
    }
    if !oset.is_null() {
        return code(sys::copy_out(oset, &old));
    }
    0
}

/// 1 in the main thread, 0 in any other.
///
/// Solaris: `thr_main(3C)`.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_main() -> i32 {
    thr::is_main() as i32
}

/// The calling thread's stack: `ss_sp` is its *high* address, as on
/// Solaris, `ss_size` its size, `ss_flags` 0.
///
/// Solaris: `thr_stksegment(3C)`.
///
/// # Errors
/// EAGAIN (not known), EFAULT (unwritable `ss`).
///
/// # Safety
/// `ss` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_stksegment(ss: *mut libc::stack_t) -> i32 {
    match thr::stack_segment() {
        Ok((hi, size)) => {
            let st = libc::stack_t {
                ss_sp: hi as *mut libc::c_void,
                ss_flags: 0,
                ss_size: size,
            };
            code(sys::copy_out(ss, &st))
        }
        Err(e) => e,
    }
}

/// The smallest stack `thr_create` accepts.
///
/// Solaris: `thr_min_stack(3C)`.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_min_stack() -> usize {
    thr::min_stack()
}

/// The concurrency level last set (0 at first).
///
/// Solaris: `thr_getconcurrency(3C)`.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_getconcurrency() -> i32 {
    thr::concurrency()
}

/// Sets the concurrency hint (every thread runs on its own kernel thread
/// here, so it only changes what `thr_getconcurrency` reports).
///
/// Solaris: `thr_setconcurrency(3C)`.
///
/// # Errors
/// EINVAL (negative).
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_setconcurrency(n: i32) -> i32 {
    code(thr::set_concurrency(n))
}

type Destructor = Option<unsafe extern "C" fn(*mut libc::c_void)>;

/// Creates a thread-specific data key.
///
/// Solaris: `thr_keycreate(3C)`.
///
/// # Errors
/// EAGAIN (no key left), ENOMEM, EFAULT (unwritable `key`).
///
/// # Safety
/// `key` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_keycreate(key: *mut u32, dtor: Destructor) -> i32 {
    let mut k: libc::pthread_key_t = 0;
    // SAFETY: k is a local; dtor is the caller's function or NULL.
    let r = unsafe { libc::pthread_key_create(&mut k, dtor) };
    if r != 0 {
        return r;
    }
    if let Err(e) = sys::copy_out(key, &k) {
        // SAFETY: the key was just created and never handed out.
        unsafe { libc::pthread_key_delete(k) };
        return e;
    }
    0
}

/// `THR_ONCE_KEY`: the initial value of a key for `thr_keycreate_once`.
const ONCE_KEY: u32 = u32::MAX;

/// Creates the key `*key` once, however many threads race here: `*key`
/// must start as THR_ONCE_KEY.
///
/// Solaris: `thr_keycreate_once(3C)`.
///
/// # Errors
/// As `thr_keycreate`.
///
/// # Safety
/// `key` is a valid, aligned `thread_key_t` that every racing thread
/// passes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_keycreate_once(key: *mut u32, dtor: Destructor) -> i32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static ONCE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if key.is_null() || !key.is_aligned() {
        return libc::EFAULT;
    }
    // SAFETY: a valid aligned u32 shared by the racing threads.
    let slot = unsafe { AtomicU32::from_ptr(key) };
    if slot.load(Ordering::Acquire) != ONCE_KEY {
        return 0;
    }
    let _g = crate::sys::lock(&ONCE);
    if slot.load(Ordering::Acquire) != ONCE_KEY {
        return 0;
    }
    let mut k: libc::pthread_key_t = 0;
    // SAFETY: k is a local; dtor is the caller's function or NULL.
    let r = unsafe { libc::pthread_key_create(&mut k, dtor) };
    if r == 0 {
        slot.store(k, Ordering::Release);
    }
    r
}

/// Sets the calling thread's value for `key`.
///
/// Solaris: `thr_setspecific(3C)`.
///
/// # Errors
/// EINVAL (bad key), ENOMEM.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_setspecific(key: u32, value: *mut libc::c_void) -> i32 {
    // SAFETY: pthread_setspecific validates the key.
    unsafe { libc::pthread_setspecific(key, value) }
}

/// Stores the calling thread's value for `key` in `*value`.
///
/// Solaris: `thr_getspecific(3C)`.
///
/// # Errors
/// EINVAL (a key never created), EFAULT (unwritable `value`).
///
/// # Safety
/// `value` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn thr_getspecific(key: u32, value: *mut *mut libc::c_void) -> i32 {
    if key as usize >= 1024 {
        return libc::EINVAL; // PTHREAD_KEYS_MAX on Linux
    }
    // SAFETY: any key number below the maximum may be read.
    let v = unsafe { libc::pthread_getspecific(key) };
    code(sys::copy_out(value, &v))
}
