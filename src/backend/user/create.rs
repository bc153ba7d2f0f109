//! `door_create` and `door_xcreate` (man/door_create.3c, man/door_xcreate.3c).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::door::{self, XCreate};
use super::server;
use super::threads;
use crate::abi::*;
use crate::sys::{self, R};

/// door_create: a new door and, for the first shared door, its first thread
/// (`attrs` checked by core).
pub fn create(proc_: usize, cookie: usize, attrs: u32, _x: Option<()>) -> R<i32> {
    let (fd, d, first) = door::create(proc_, cookie, attrs, None, super::control::ensure_started)?;
    start_library_threads(attrs)?;
    threads::wait_started();
    // The creation function runs last, with the door ready, as on illumos:
    // a thread it starts may door_bind (with the descriptor the caller is
    // about to receive) as soon as door_create returns. Only libdoor's own
    // default function's threads are waited for.
    if server::after_create(&d, first) {
        threads::wait_started();
    }
    Ok(fd)
}

/// Starts what a new door needs besides its server threads: the unref
/// thread (for an unref door) and the manager.
fn start_library_threads(attrs: u32) -> R<()> {
    if attrs & (DOOR_UNREF | DOOR_UNREF_MULTI) != 0 {
        super::unref::ensure_thread();
    }
    door::with_proc(super::control::ensure_started)
}

/// The handshake between door_xcreate and the threads its `crf` starts.
pub struct Handshake {
    /// Threads that reported (bound or failed).
    reported: AtomicU32,
    failed: AtomicU32,
    /// 0: undecided, 1: go, 2: abort.
    decision: AtomicU32,
}

/// What each xcreate'd thread receives as its start argument (heap, so a
/// crf that breaks the contract cannot make it read a dead frame).
pub struct StartArg {
    hs: Option<Arc<Handshake>>,
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
            std::ptr::null::<libc::timespec>(),
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
    let bound = door::lookup(a.door_id).is_some_and(|d| server::bind(&d).is_ok());
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
    let _ = server::door_return(std::ptr::null(), 0, std::ptr::null(), 0);
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

/// door_xcreate.
pub fn xcreate(
    proc_: usize,
    cookie: usize,
    attrs: u32,
    crf: door_xcreate_server_func_t,
    setupf: Option<door_xcreate_thrsetup_func_t>,
    crcookie: usize,
    nthread: i32,
) -> R<i32> {
    // attrs, crf and nthread checked by core; attrs has DOOR_PRIVATE and
    // DOOR_PRIVCREATE.
    let x = XCreate {
        crf,
        setupf,
        crcookie,
    };
    let (fd, d, _) = door::create(
        proc_,
        cookie,
        attrs,
        Some(x),
        super::control::ensure_started,
    )?;
    start_library_threads(attrs)?;
    // Our own threads are idle before the application's crf runs (its
    // threads are its own business).
    threads::wait_started();
    let hs = Arc::new(Handshake {
        reported: AtomicU32::new(0),
        failed: AtomicU32::new(0),
        decision: AtomicU32::new(0),
    });
    let x = d.xcreate.as_ref().ok_or(libc::EINVAL)?;
    let mut started = 0u32;
    let mut err = 0;
    for _ in 0..nthread {
        let mut info = d.info(sys::getpid());
        let arg = start_arg(Some(&hs), d.id, x);
        // SAFETY: the user's creation function, called per its contract.
        let r = unsafe { (x.crf)(&mut info, xcreate_start, arg, crcookie as *mut libc::c_void) };
        match r {
            1 => started += 1,
            // The arg box is deliberately leaked: a crf that started a
            // thread anyway must not find freed memory.
            0 => err = libc::EINVAL,
            -1 => err = libc::EPIPE,
            // SAFETY: illumos treats any other value as a fatal bug.
            _ => unsafe { libc::abort() },
        }
        if err != 0 {
            break;
        }
    }
    // Wait until every started thread has reported.
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
        super::ends::revoke(&d);
        let _ = sys::close(fd);
        return Err(err);
    }
    Ok(fd)
}
