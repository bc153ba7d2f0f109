//! Unreferenced notifications (DOOR_UNREF, DOOR_UNREF_MULTI: man/door_create.3c).
//!
//! The condition: a door's countable references (its live ends, see
//! `door::Door::ends` and KNOWN_DIFFERENCES.md) drop from two to one. If
//! invocations are active, delivery waits until they finish. The door is
//! then queued for this process's unref thread, which delivers one
//! notification at a time, synchronously, through a normal server thread
//! of the door's pool: it writes a call flagged F_UNREF into the door's
//! private injection channel and waits for the handler's door_return.

use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};

use super::door::{self, Door, lock};
use super::wire::{self, HDR_LEN, Hdr};
use crate::abi::*;
use crate::sys;

struct Queue {
    /// The process the queue and its thread belong to (a fork child starts over).
    pid: i32,
    started: bool,
    doors: VecDeque<Arc<Door>>,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    pid: 0,
    started: false,
    doors: VecDeque::new(),
});
static WAKE: Condvar = Condvar::new();

fn this_process(q: &mut Queue) {
    let pid = sys::getpid();
    if q.pid != pid {
        // A fork child: the parent's queue and thread are not ours.
        super::door::bury(std::mem::take(&mut q.doors));
        q.pid = pid;
        q.started = false;
    }
}

/// Starts the unref thread at the first door with DOOR_UNREF or
/// DOOR_UNREF_MULTI in this process, as illumos does.
pub fn ensure_thread() {
    let mut q = lock(&QUEUE);
    this_process(&mut q);
    if !q.started && super::threads::spawn_daemon(unref_main, std::ptr::null_mut()) {
        q.started = true;
    }
}

/// The reference count of `door` just went from two to one.
pub fn condition(door: &Arc<Door>) {
    if door.attrs.load(Ordering::Acquire) & (DOOR_UNREF | DOOR_UNREF_MULTI) == 0
        || door.revoked.load(Ordering::Acquire)
    {
        return;
    }
    if door.active.load(Ordering::Acquire) > 0 {
        door.unref_delayed.store(true, Ordering::Release);
        return;
    }
    enqueue(door);
}

/// An invocation of `door` ended: deliver a notification that was waiting
/// for the active count to reach zero, if the door is still unreferenced.
pub fn call_done(door: &Arc<Door>) {
    if door.active.load(Ordering::Acquire) == 0
        && door.unref_delayed.swap(false, Ordering::AcqRel)
        && door.refs() == 1
    {
        enqueue(door);
    }
}

fn enqueue(door: &Arc<Door>) {
    // DOOR_UNREF_MULTI: never queued twice at once.
    if door.unref_queued.swap(true, Ordering::AcqRel) {
        return;
    }
    // DOOR_UNREF: one notification only; the flag goes at queue time.
    let prev = door.attrs.fetch_and(!DOOR_UNREF, Ordering::AcqRel);
    if prev & (DOOR_UNREF | DOOR_UNREF_MULTI) == 0 {
        door.unref_queued.store(false, Ordering::Release);
        return;
    }
    let mut q = lock(&QUEUE);
    this_process(&mut q);
    q.doors.push_back(door.clone());
    WAKE.notify_one();
}

extern "C" fn unref_main(_: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: blocking every signal in this thread only, as illumos does.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    super::threads::started_daemon();
    loop {
        let door = {
            let mut q = lock(&QUEUE);
            loop {
                if let Some(d) = q.doors.pop_front() {
                    break d;
                }
                q = match WAKE.wait(q) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
            }
        };
        door.unref_queued.store(false, Ordering::Release);
        deliver(&door);
    }
}

/// One synchronous unreferenced invocation through the door's own pool.
fn deliver(door: &Arc<Door>) {
    if door.revoked.load(Ordering::Acquire) {
        return; // revoked doors fail the upcall silently
    }
    let Ok((inject, pool_side)) = sys::seqpacket_pair() else {
        return;
    };
    let Ok(token) = door::add_injector(door, pool_side) else {
        return;
    };
    let done = (|| {
        let (rc, rs) = sys::seqpacket_pair().ok()?;
        let tok = [1u8];
        let iov = [libc::iovec {
            iov_base: tok.as_ptr() as *mut _,
            iov_len: 1,
        }];
        sys::send_fds(rc.as_raw_fd(), &iov, &[], true).ok()?;
        let hdr = Hdr::new(wire::K_CALL, wire::F_UNREF | wire::F_NO_RESULTS, 0, 0);
        let iov = [libc::iovec {
            iov_base: (&hdr as *const Hdr) as *mut _,
            iov_len: HDR_LEN,
        }];
        sys::send_fds(inject.as_raw_fd(), &iov, &[rs.as_raw_fd()], true).ok()?;
        drop(rs);
        // Wait until the handler returns (or its thread ends).
        let mut h = Hdr::default();
        let mut iov = [libc::iovec {
            iov_base: (&mut h as *mut Hdr).cast(),
            iov_len: HDR_LEN,
        }];
        let mut r = sys::recv_fds(rc.as_raw_fd(), &mut iov, 0, true).ok()?;
        r.close_fds();
        Some(())
    })();
    let _ = done;
    door::remove_injector(door, token);
}
