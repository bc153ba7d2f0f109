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
    let hs = Arc::new(server::Handshake {
        reported: AtomicU32::new(0),
        failed: AtomicU32::new(0),
        decision: AtomicU32::new(0),
    });
    let x = d.xcreate.as_ref().ok_or(libc::EINVAL)?;
    let mut started = 0u32;
    let mut err = 0;
    for _ in 0..nthread {
        let mut info = d.info(sys::getpid());
        let arg = server::start_arg(Some(&hs), d.id, x);
        // SAFETY: the user's creation function, called per its contract.
        let r = unsafe {
            (x.crf)(
                &mut info,
                server::xcreate_start,
                arg,
                crcookie as *mut libc::c_void,
            )
        };
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
        server::futex_wait(&hs.reported, n);
    }
    if err == 0 && hs.failed.load(Ordering::Acquire) > 0 {
        err = libc::EBADF;
    }
    hs.decision
        .store(if err == 0 { 1 } else { 2 }, Ordering::Release);
    server::futex_wake(&hs.decision);
    if err != 0 {
        super::ends::revoke(&d);
        let _ = sys::close(fd);
        return Err(err);
    }
    Ok(fd)
}
