//! `<synch.h>`: Solaris mutexes, condition variables, semaphores and
//! readers/writer locks, mapped onto glibc's by `crate::core::synch`. Like
//! Solaris, each returns an error number (0 on success) and leaves errno
//! alone.

use crate::core::synch::{self, Cond, Mutex, RwLock, Sema};

/// Solaris: `mutex_init(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mutex_init(m: *mut Mutex, t: i32, arg: *mut libc::c_void) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::mutex_init(m, t, arg) }
}

/// Solaris: `mutex_destroy(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mutex_destroy(m: *mut Mutex) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::mutex_destroy(m) }
}

/// Solaris: `mutex_lock(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mutex_lock(m: *mut Mutex) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::mutex_lock(m) }
}

/// Solaris: `mutex_trylock(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mutex_trylock(m: *mut Mutex) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::mutex_trylock(m) }
}

/// Solaris: `mutex_unlock(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mutex_unlock(m: *mut Mutex) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::mutex_unlock(m) }
}

/// Solaris: `mutex_consistent(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mutex_consistent(m: *mut Mutex) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::mutex_consistent(m) }
}

/// Solaris: `cond_init(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cond_init(c: *mut Cond, t: i32, arg: *mut libc::c_void) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::cond_init(c, t, arg) }
}

/// Solaris: `cond_destroy(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cond_destroy(c: *mut Cond) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::cond_destroy(c) }
}

/// Solaris: `cond_wait(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cond_wait(c: *mut Cond, m: *mut Mutex) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::cond_wait(c, m) }
}

/// Solaris: `cond_timedwait(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cond_timedwait(
    c: *mut Cond,
    m: *mut Mutex,
    abs: *const libc::timespec,
) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::cond_timedwait(c, m, abs) }
}

/// Solaris: `cond_reltimedwait(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cond_reltimedwait(
    c: *mut Cond,
    m: *mut Mutex,
    rel: *const libc::timespec,
) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::cond_reltimedwait(c, m, rel) }
}

/// Solaris: `cond_signal(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cond_signal(c: *mut Cond) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::cond_signal(c) }
}

/// Solaris: `cond_broadcast(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cond_broadcast(c: *mut Cond) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::cond_broadcast(c) }
}

/// Solaris: `sema_init(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sema_init(
    s: *mut Sema,
    count: u32,
    t: i32,
    arg: *mut libc::c_void,
) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::sema_init(s, count, t, arg) }
}

/// Solaris: `sema_destroy(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sema_destroy(s: *mut Sema) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::sema_destroy(s) }
}

/// Solaris: `sema_wait(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sema_wait(s: *mut Sema) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::sema_wait(s) }
}

/// Solaris: `sema_trywait(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sema_trywait(s: *mut Sema) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::sema_trywait(s) }
}

/// Solaris: `sema_post(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sema_post(s: *mut Sema) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::sema_post(s) }
}

/// Solaris: `rwlock_init(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rwlock_init(l: *mut RwLock, t: i32, arg: *mut libc::c_void) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::rwlock_init(l, t, arg) }
}

/// Solaris: `rwlock_destroy(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rwlock_destroy(l: *mut RwLock) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::rwlock_destroy(l) }
}

/// Solaris: `rw_rdlock(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rw_rdlock(l: *mut RwLock) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::rw_rdlock(l) }
}

/// Solaris: `rw_wrlock(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rw_wrlock(l: *mut RwLock) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::rw_wrlock(l) }
}

/// Solaris: `rw_tryrdlock(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rw_tryrdlock(l: *mut RwLock) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::rw_tryrdlock(l) }
}

/// Solaris: `rw_trywrlock(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rw_trywrlock(l: *mut RwLock) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::rw_trywrlock(l) }
}

/// Solaris: `rw_unlock(3C)`.
///
/// # Safety
/// The object pointers name live objects of their type (see `crate::core::synch`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rw_unlock(l: *mut RwLock) -> i32 {
    // SAFETY: forwarded under the same contract.
    unsafe { synch::rw_unlock(l) }
}
