//! Solaris synchronization objects (`<synch.h>`) over glibc's pthreads and
//! POSIX semaphores. Each Solaris object is fixed-size storage holding the
//! glibc object; the functions return an error number, as Solaris does.
//!
//! The objects are used in place (a lock lives in the caller's memory,
//! often memory shared between processes), so unlike door_call's buffers
//! they are not copied: a bad pointer faults as it does on Solaris.

use std::mem::{align_of, size_of};

use crate::sys;

/// Storage of `mutex_t` (see include/synch.h).
#[repr(C, align(8))]
pub struct Mutex([u8; 48]);
/// Storage of `cond_t`.
#[repr(C, align(8))]
pub struct Cond([u8; 48]);
/// Storage of `sema_t`.
#[repr(C, align(8))]
pub struct Sema([u8; 32]);
/// Storage of `rwlock_t`.
#[repr(C, align(8))]
pub struct RwLock([u8; 56]);

const _: () = {
    assert!(size_of::<libc::pthread_mutex_t>() <= size_of::<Mutex>());
    assert!(align_of::<libc::pthread_mutex_t>() <= align_of::<Mutex>());
    assert!(size_of::<libc::pthread_cond_t>() <= size_of::<Cond>());
    assert!(align_of::<libc::pthread_cond_t>() <= align_of::<Cond>());
    assert!(size_of::<libc::sem_t>() <= size_of::<Sema>());
    assert!(align_of::<libc::sem_t>() <= align_of::<Sema>());
    assert!(size_of::<libc::pthread_rwlock_t>() <= size_of::<RwLock>());
    assert!(align_of::<libc::pthread_rwlock_t>() <= align_of::<RwLock>());
    assert!(size_of::<Mutex>() == 48 && size_of::<Cond>() == 48);
    assert!(size_of::<Sema>() == 32 && size_of::<RwLock>() == 56);
};

// The `type` bits of the *_init functions.
pub const USYNC_PROCESS: i32 = 0x01;
pub const LOCK_ERRORCHECK: i32 = 0x02;
pub const LOCK_RECURSIVE: i32 = 0x04;
pub const USYNC_PROCESS_ROBUST: i32 = 0x08;
pub const LOCK_PRIO_INHERIT: i32 = 0x10;
pub const LOCK_PRIO_PROTECT: i32 = 0x20;
pub const LOCK_ROBUST: i32 = 0x40;
const MUTEX_TYPES: i32 = USYNC_PROCESS
    | LOCK_ERRORCHECK
    | LOCK_RECURSIVE
    | USYNC_PROCESS_ROBUST
    | LOCK_PRIO_INHERIT
    | LOCK_PRIO_PROTECT
    | LOCK_ROBUST;

unsafe extern "C" {
    // glibc 2.30 and later; not in the libc crate for every target.
    fn pthread_cond_clockwait(
        cond: *mut libc::pthread_cond_t,
        mutex: *mut libc::pthread_mutex_t,
        clock: libc::clockid_t,
        abstime: *const libc::timespec,
    ) -> libc::c_int;
}

fn pm(m: *mut Mutex) -> *mut libc::pthread_mutex_t {
    m.cast()
}
fn pc(c: *mut Cond) -> *mut libc::pthread_cond_t {
    c.cast()
}
fn ps(s: *mut Sema) -> *mut libc::sem_t {
    s.cast()
}
fn pr(r: *mut RwLock) -> *mut libc::pthread_rwlock_t {
    r.cast()
}

fn pshared(t: i32) -> i32 {
    if t & (USYNC_PROCESS | USYNC_PROCESS_ROBUST) != 0 {
        libc::PTHREAD_PROCESS_SHARED
    } else {
        libc::PTHREAD_PROCESS_PRIVATE
    }
}

/// A null object pointer: EINVAL (Solaris faults; a clean error is kinder).
macro_rules! nonnull {
    ($($p:expr),*) => {
        if $($p.is_null())||* {
            return libc::EINVAL;
        }
    };
}

/// `mutex_init(3C)`: `t` combines USYNC_THREAD/USYNC_PROCESS with the
/// LOCK_* bits; `arg` points to the priority ceiling for LOCK_PRIO_PROTECT.
///
/// # Safety
/// `m` points to writable `mutex_t` storage; `arg`, for LOCK_PRIO_PROTECT,
/// to an int.
pub unsafe fn mutex_init(m: *mut Mutex, t: i32, arg: *mut libc::c_void) -> i32 {
    nonnull!(m);
    if t & !MUTEX_TYPES != 0
        || t & (LOCK_PRIO_INHERIT | LOCK_PRIO_PROTECT) == LOCK_PRIO_INHERIT | LOCK_PRIO_PROTECT
        || (t & LOCK_PRIO_PROTECT != 0 && arg.is_null())
    {
        return libc::EINVAL;
    }
    let kind = if t & LOCK_RECURSIVE != 0 {
        libc::PTHREAD_MUTEX_RECURSIVE
    } else if t & LOCK_ERRORCHECK != 0 {
        libc::PTHREAD_MUTEX_ERRORCHECK
    } else {
        libc::PTHREAD_MUTEX_NORMAL
    };
    // SAFETY: attr is initialised before use and destroyed; m is writable.
    unsafe {
        let mut a: libc::pthread_mutexattr_t = std::mem::zeroed();
        let mut r = libc::pthread_mutexattr_init(&mut a);
        if r != 0 {
            return r;
        }
        r = libc::pthread_mutexattr_settype(&mut a, kind);
        if r == 0 {
            r = libc::pthread_mutexattr_setpshared(&mut a, pshared(t));
        }
        if r == 0 && t & (LOCK_ROBUST | USYNC_PROCESS_ROBUST) != 0 {
            r = libc::pthread_mutexattr_setrobust(&mut a, libc::PTHREAD_MUTEX_ROBUST);
        }
        if r == 0 && t & LOCK_PRIO_INHERIT != 0 {
            r = libc::pthread_mutexattr_setprotocol(&mut a, libc::PTHREAD_PRIO_INHERIT);
        }
        if r == 0 && t & LOCK_PRIO_PROTECT != 0 {
            r = libc::pthread_mutexattr_setprotocol(&mut a, libc::PTHREAD_PRIO_PROTECT);
            if r == 0 {
                r = pthread_mutexattr_setprioceiling(&mut a, *(arg as *const libc::c_int));
            }
        }
        if r == 0 {
            r = libc::pthread_mutex_init(pm(m), &a);
        }
        libc::pthread_mutexattr_destroy(&mut a);
        r
    }
}

unsafe extern "C" {
    fn pthread_mutexattr_setprioceiling(
        attr: *mut libc::pthread_mutexattr_t,
        ceiling: libc::c_int,
    ) -> libc::c_int;
    fn pthread_mutex_consistent(mutex: *mut libc::pthread_mutex_t) -> libc::c_int;
}

/// # Safety
/// `m` is an initialised mutex (or zeros).
pub unsafe fn mutex_destroy(m: *mut Mutex) -> i32 {
    nonnull!(m);
    // SAFETY: as documented.
    unsafe { libc::pthread_mutex_destroy(pm(m)) }
}

/// # Safety
/// `m` is an initialised mutex (or zeros).
pub unsafe fn mutex_lock(m: *mut Mutex) -> i32 {
    nonnull!(m);
    // SAFETY: as documented.
    unsafe { libc::pthread_mutex_lock(pm(m)) }
}

/// # Safety
/// `m` is an initialised mutex (or zeros).
pub unsafe fn mutex_trylock(m: *mut Mutex) -> i32 {
    nonnull!(m);
    // SAFETY: as documented.
    unsafe { libc::pthread_mutex_trylock(pm(m)) }
}

/// # Safety
/// `m` is an initialised mutex (or zeros).
pub unsafe fn mutex_unlock(m: *mut Mutex) -> i32 {
    nonnull!(m);
    // SAFETY: as documented.
    unsafe { libc::pthread_mutex_unlock(pm(m)) }
}

/// # Safety
/// `m` is an initialised robust mutex.
pub unsafe fn mutex_consistent(m: *mut Mutex) -> i32 {
    nonnull!(m);
    // SAFETY: as documented.
    unsafe { pthread_mutex_consistent(pm(m)) }
}

/// `cond_init(3C)`: USYNC_THREAD or USYNC_PROCESS.
///
/// # Safety
/// `c` points to writable `cond_t` storage.
pub unsafe fn cond_init(c: *mut Cond, t: i32, _arg: *mut libc::c_void) -> i32 {
    nonnull!(c);
    if t & !USYNC_PROCESS != 0 {
        return libc::EINVAL;
    }
    // SAFETY: attr is initialised before use and destroyed; c is writable.
    unsafe {
        let mut a: libc::pthread_condattr_t = std::mem::zeroed();
        let mut r = libc::pthread_condattr_init(&mut a);
        if r != 0 {
            return r;
        }
        r = libc::pthread_condattr_setpshared(&mut a, pshared(t));
        if r == 0 {
            r = libc::pthread_cond_init(pc(c), &a);
        }
        libc::pthread_condattr_destroy(&mut a);
        r
    }
}

/// # Safety
/// `c` is an initialised condition variable (or zeros).
pub unsafe fn cond_destroy(c: *mut Cond) -> i32 {
    nonnull!(c);
    // SAFETY: as documented.
    unsafe { libc::pthread_cond_destroy(pc(c)) }
}

/// # Safety
/// `c` and `m` are initialised; `m` is held by the caller.
pub unsafe fn cond_wait(c: *mut Cond, m: *mut Mutex) -> i32 {
    nonnull!(c, m);
    // SAFETY: as documented.
    unsafe { libc::pthread_cond_wait(pc(c), pm(m)) }
}

fn valid(ts: &libc::timespec) -> bool {
    ts.tv_sec >= 0 && (0..1_000_000_000).contains(&ts.tv_nsec)
}

fn etime(r: i32) -> i32 {
    if r == libc::ETIMEDOUT { libc::ETIME } else { r }
}

/// `cond_timedwait(3C)`: until the absolute time `abs` (CLOCK_REALTIME);
/// ETIME when it has passed.
///
/// # Safety
/// As `cond_wait`; `abs` points to a timespec.
pub unsafe fn cond_timedwait(c: *mut Cond, m: *mut Mutex, abs: *const libc::timespec) -> i32 {
    nonnull!(c, m, abs);
    let Ok(ts) = sys::copy_in(abs) else {
        return libc::EFAULT;
    };
    if !valid(&ts) {
        return libc::EINVAL;
    }
    // SAFETY: as documented; ts is a local.
    etime(unsafe { libc::pthread_cond_timedwait(pc(c), pm(m), &ts) })
}

/// `cond_reltimedwait(3C)`: for at most `rel` (measured on CLOCK_MONOTONIC,
/// so setting the clock does not change it); ETIME when it has passed.
///
/// # Safety
/// As `cond_wait`; `rel` points to a timespec.
pub unsafe fn cond_reltimedwait(c: *mut Cond, m: *mut Mutex, rel: *const libc::timespec) -> i32 {
    nonnull!(c, m, rel);
    let Ok(r) = sys::copy_in(rel) else {
        return libc::EFAULT;
    };
    if !valid(&r) {
        return libc::EINVAL;
    }
    // SAFETY: clock_gettime into a local.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let mut sec = now.tv_sec.saturating_add(r.tv_sec);
    let mut nsec = now.tv_nsec + r.tv_nsec;
    if nsec >= 1_000_000_000 {
        nsec -= 1_000_000_000;
        sec = sec.saturating_add(1);
    }
    let abs = libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    };
    // SAFETY: as documented; abs is a local.
    etime(unsafe { pthread_cond_clockwait(pc(c), pm(m), libc::CLOCK_MONOTONIC, &abs) })
}

/// # Safety
/// `c` is an initialised condition variable (or zeros).
pub unsafe fn cond_signal(c: *mut Cond) -> i32 {
    nonnull!(c);
    // SAFETY: as documented.
    unsafe { libc::pthread_cond_signal(pc(c)) }
}

/// # Safety
/// `c` is an initialised condition variable (or zeros).
pub unsafe fn cond_broadcast(c: *mut Cond) -> i32 {
    nonnull!(c);
    // SAFETY: as documented.
    unsafe { libc::pthread_cond_broadcast(pc(c)) }
}

/// `sema_init(3C)`: a semaphore with `count`, USYNC_THREAD or
/// USYNC_PROCESS.
///
/// # Safety
/// `s` points to writable `sema_t` storage.
pub unsafe fn sema_init(s: *mut Sema, count: u32, t: i32, _arg: *mut libc::c_void) -> i32 {
    nonnull!(s);
    if t & !USYNC_PROCESS != 0 || count > i32::MAX as u32 {
        return libc::EINVAL;
    }
    // SAFETY: s is writable sem_t storage.
    sem_call(|| unsafe { libc::sem_init(ps(s), t & USYNC_PROCESS, count) })
}

/// # Safety
/// `s` is an initialised semaphore (or zeros).
pub unsafe fn sema_destroy(s: *mut Sema) -> i32 {
    nonnull!(s);
    // SAFETY: as documented.
    sem_call(|| unsafe { libc::sem_destroy(ps(s)) })
}

/// Runs a sem_* call, returning its errno without touching the caller's.
fn sem_call(f: impl FnOnce() -> libc::c_int) -> i32 {
    let saved = sys::errno();
    let r = if f() == 0 { 0 } else { sys::errno() };
    if r != 0 {
        sys::set_errno(saved);
    }
    r
}

/// `sema_wait(3C)`: EINTR if a signal interrupts the wait.
///
/// # Safety
/// `s` is an initialised semaphore (or zeros).
pub unsafe fn sema_wait(s: *mut Sema) -> i32 {
    nonnull!(s);
    // SAFETY: as documented.
    sem_call(|| unsafe { libc::sem_wait(ps(s)) })
}

/// `sema_trywait(3C)`: EBUSY when the count is 0.
///
/// # Safety
/// `s` is an initialised semaphore (or zeros).
pub unsafe fn sema_trywait(s: *mut Sema) -> i32 {
    nonnull!(s);
    // SAFETY: as documented.
    match sem_call(|| unsafe { libc::sem_trywait(ps(s)) }) {
        libc::EAGAIN => libc::EBUSY,
        r => r,
    }
}

/// `sema_post(3C)`: EOVERFLOW past the largest count.
///
/// # Safety
/// `s` is an initialised semaphore (or zeros).
pub unsafe fn sema_post(s: *mut Sema) -> i32 {
    nonnull!(s);
    // SAFETY: as documented.
    sem_call(|| unsafe { libc::sem_post(ps(s)) })
}

/// `rwlock_init(3C)`: USYNC_THREAD or USYNC_PROCESS.
///
/// # Safety
/// `l` points to writable `rwlock_t` storage.
pub unsafe fn rwlock_init(l: *mut RwLock, t: i32, _arg: *mut libc::c_void) -> i32 {
    nonnull!(l);
    if t & !USYNC_PROCESS != 0 {
        return libc::EINVAL;
    }
    // SAFETY: attr is initialised before use and destroyed; l is writable.
    unsafe {
        let mut a: libc::pthread_rwlockattr_t = std::mem::zeroed();
        let mut r = libc::pthread_rwlockattr_init(&mut a);
        if r != 0 {
            return r;
        }
        r = libc::pthread_rwlockattr_setpshared(&mut a, pshared(t));
        if r == 0 {
            r = libc::pthread_rwlock_init(pr(l), &a);
        }
        libc::pthread_rwlockattr_destroy(&mut a);
        r
    }
}

/// # Safety
/// `l` is an initialised lock (or zeros).
pub unsafe fn rwlock_destroy(l: *mut RwLock) -> i32 {
    nonnull!(l);
    // SAFETY: as documented.
    unsafe { libc::pthread_rwlock_destroy(pr(l)) }
}

/// # Safety
/// `l` is an initialised lock (or zeros).
pub unsafe fn rw_rdlock(l: *mut RwLock) -> i32 {
    nonnull!(l);
    // SAFETY: as documented.
    unsafe { libc::pthread_rwlock_rdlock(pr(l)) }
}

/// # Safety
/// `l` is an initialised lock (or zeros).
pub unsafe fn rw_wrlock(l: *mut RwLock) -> i32 {
    nonnull!(l);
    // SAFETY: as documented.
    unsafe { libc::pthread_rwlock_wrlock(pr(l)) }
}

/// # Safety
/// `l` is an initialised lock (or zeros).
pub unsafe fn rw_tryrdlock(l: *mut RwLock) -> i32 {
    nonnull!(l);
    // SAFETY: as documented.
    unsafe { libc::pthread_rwlock_tryrdlock(pr(l)) }
}

/// # Safety
/// `l` is an initialised lock (or zeros).
pub unsafe fn rw_trywrlock(l: *mut RwLock) -> i32 {
    nonnull!(l);
    // SAFETY: as documented.
    unsafe { libc::pthread_rwlock_trywrlock(pr(l)) }
}

/// # Safety
/// `l` is an initialised lock held by the caller.
pub unsafe fn rw_unlock(l: *mut RwLock) -> i32 {
    nonnull!(l);
    // SAFETY: as documented.
    unsafe { libc::pthread_rwlock_unlock(pr(l)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_objects_work_and_errors_are_solaris() {
        let mut m = Mutex([0; 48]);
        let mut c = Cond([0; 48]);
        let mut s = Sema([0; 32]);
        let mut l = RwLock([0; 56]);
        // SAFETY: zeroed storage is a valid default object of each kind.
        unsafe {
            assert_eq!(mutex_lock(&mut m), 0);
            assert_eq!(mutex_unlock(&mut m), 0);
            assert_eq!(sema_trywait(&mut s), libc::EBUSY);
            assert_eq!(sema_post(&mut s), 0);
            assert_eq!(sema_trywait(&mut s), 0);
            assert_eq!(rw_rdlock(&mut l), 0);
            assert_eq!(rw_trywrlock(&mut l), libc::EBUSY);
            assert_eq!(rw_unlock(&mut l), 0);
            let rel = libc::timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000,
            };
            assert_eq!(mutex_lock(&mut m), 0);
            assert_eq!(cond_reltimedwait(&mut c, &mut m, &rel), libc::ETIME);
            assert_eq!(mutex_unlock(&mut m), 0);
            assert_eq!(mutex_init(&mut m, 0x100, ptr_null()), libc::EINVAL);
        }
    }

    fn ptr_null() -> *mut libc::c_void {
        std::ptr::null_mut()
    }
}
