//! Door backends: how doors are made, called and served, behind one
//! interface (`Backend`) that `core` calls.
//!
//! `user` is the userspace backend (sockets, a manager thread, a
//! shared-memory fast path); `kernel` drives the `/dev/door` module with
//! ioctls. `get` chooses one per process. A backend names only `sys` and
//! `abi` below it, never `core` or `capi` above it, nor another backend;
//! what it shares with `core` is the plain data defined here.

use std::ffi::CStr;
use std::os::fd::RawFd;

use crate::abi::{
    door_arg_t, door_cred_t, door_desc_t, door_info_t, door_server_func_t,
    door_xcreate_server_func_t, door_xcreate_thrsetup_func_t,
};
use crate::sys::R;
use crate::sys::creds::Creds;

pub mod kernel;
pub mod rendezvous;
pub mod user;

/// Request limits of a door (the DOOR_PARAM_* values).
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub data_min: usize,
    pub data_max: usize,
    pub desc_max: usize,
}

/// What a backend does. Every method has the validation order and errno
/// of the C function it serves, except for the rules `core` applies
/// before or after it (noted on each).
pub trait Backend: Sync {
    /// The backend's name, as `libdoor_backend()` reports it.
    fn name(&self) -> &'static CStr;

    /// `door_create`: a new door served by this process; its descriptor.
    /// `core` has checked `attrs`.
    fn create(&self, proc_: usize, cookie: usize, attrs: u32) -> R<i32>;

    /// `door_xcreate`. `core` has checked `attrs`, `nthread` and `crf`,
    /// and added DOOR_PRIVATE and DOOR_PRIVCREATE to `attrs`.
    #[allow(clippy::too_many_arguments)]
    fn xcreate(
        &self,
        proc_: usize,
        cookie: usize,
        attrs: u32,
        crf: door_xcreate_server_func_t,
        setupf: Option<door_xcreate_thrsetup_func_t>,
        crcookie: usize,
        nthread: i32,
    ) -> R<i32>;

    /// `door_call` (inside the caller's fault scope).
    fn call(&self, d: RawFd, params: *mut door_arg_t) -> R<()>;

    /// `door_return`: returns only on failure, with its errno (0: the
    /// client could not take the descriptors, errno is left alone).
    fn door_return(
        &self,
        data: *const u8,
        size: usize,
        desc: *const door_desc_t,
        ndesc: u32,
    ) -> i32;

    /// `door_info` of descriptor `d` (not DOOR_QUERY).
    fn info(&self, d: RawFd) -> R<door_info_t>;

    /// `door_info(DOOR_QUERY)`: the door this server thread serves now
    /// (EBADF if none).
    fn bound_info(&self) -> R<door_info_t>;

    /// `door_revoke` up to, not including, closing `d`.
    fn revoke(&self, d: RawFd) -> R<()>;

    /// The ids of the caller of the invocation this thread serves
    /// (`door_cred`), or None outside an invocation.
    fn caller_ids(&self) -> Option<door_cred_t>;

    /// The full credentials of that caller (`door_ucred`).
    fn caller_creds(&self) -> Option<Creds>;

    /// `door_bind`.
    fn bind(&self, d: RawFd) -> R<()>;

    /// `door_unbind`.
    fn unbind(&self) -> R<()>;

    /// The limits of door `d` (None: the door has none, as a door served
    /// elsewhere that did not say) and its attributes (`door_getparam`).
    fn params(&self, d: RawFd) -> R<(Option<Params>, u32)>;

    /// `door_setparam` for the server of door `d` (EPERM otherwise):
    /// `change` is applied to its limits, under their lock, with the
    /// door's attributes.
    fn set_params(&self, d: RawFd, change: &mut dyn FnMut(&mut Params, u32) -> R<()>) -> R<()>;

    /// `door_server_create`: installs `f` and returns the previous one.
    fn set_server_func(&self, f: Option<door_server_func_t>) -> door_server_func_t;

    /// `fattach`.
    fn fattach(&self, fd: RawFd, path: *const libc::c_char) -> R<()>;

    /// `fdetach`.
    fn fdetach(&self, path: *const libc::c_char) -> R<()>;

    /// The process's credentials changed (a set*id call): nothing attested
    /// before may be used after. Async-signal-safe.
    fn credentials_changed(&self);

    /// Are the calling thread, `extra` others and the library's own daemon
    /// threads all the threads of this process?
    fn only_daemons_besides_me(&self, extra: usize) -> bool;

    /// Tells the backend how many of the application's threads are
    /// daemons (THR_DAEMON): when only those and the library's own are
    /// left, the process ends.
    fn count_app_daemons_with(&self, count: fn() -> usize);

    // Preload mode (`libdoor_preload.so`, through `core::preload`). A
    // backend whose doors the kernel already shows as doors needs none of
    // these: the defaults say "not a door" and change nothing.

    /// Is the application's descriptor `fd` a door now?
    fn fd_is_door(&self, _fd: RawFd) -> bool {
        false
    }

    /// Does `path` (relative to `dirfd`) name a file with a live door
    /// attached, served by the file's owner or root?
    fn path_is_door(&self, _dirfd: RawFd, _path: &CStr, _nofollow: bool) -> bool {
        false
    }

    /// The preload library opened `fd` (not O_PATH): make it the door
    /// attached to the file, if there is one; whether it did.
    fn opened(&self, _fd: RawFd, _directory: bool) -> bool {
        false
    }

    /// A `dup` of the door `old` with a reference of its own, at `place`;
    /// `None` when `old` is not a door this backend counts references of.
    fn dup_door(&self, _old: RawFd, _place: Place) -> Option<R<RawFd>> {
        None
    }

    /// In a fork child, before the program runs on: inherited door
    /// descriptors get references of their own.
    fn preload_fork_child(&self) {}
}

/// `dup`-family request: make a new reference of the door `old` and put it
/// at the number the call would have used. `None`: `old` is not a door
/// this knows of (or no reference could be made): the caller does a plain
/// duplicate, which shares `old`'s reference.
pub enum Place {
    /// dup(old): lowest free number.
    Lowest,
    /// fcntl(old, F_DUPFD[_CLOEXEC], min).
    AtLeast(RawFd, bool),
    /// dup2/dup3(old, new, flags).
    Exactly(RawFd, libc::c_int),
}

static CHOSEN: std::sync::OnceLock<&'static dyn Backend> = std::sync::OnceLock::new();

/// The backend of this process, chosen at its first use:
/// `LIBDOOR_BACKEND=user` or `=kernel` forces one (the kernel backend
/// without the module then fails door_create and door_call with ENOTSUP,
/// saying so once on standard error); otherwise the kernel backend when
/// `/dev/door` exists and speaks this library's interface version, else
/// the userspace backend.
#[inline]
pub fn get() -> &'static dyn Backend {
    *CHOSEN.get_or_init(choose)
}

fn choose() -> &'static dyn Backend {
    // SAFETY: getenv of a NUL-terminated name; the value is only read here
    // (no allocation: this may run in any thread at any time).
    let v = unsafe { libc::getenv(c"LIBDOOR_BACKEND".as_ptr()) };
    let forced = if v.is_null() {
        None
    } else {
        // SAFETY: getenv returned a NUL-terminated string.
        Some(unsafe { CStr::from_ptr(v) }.to_bytes())
    };
    let chosen: &'static dyn Backend = match forced {
        Some(b"user") => &user::USER,
        Some(b"kernel") => &kernel::KERNEL,
        _ if kernel::available() => &kernel::KERNEL,
        _ => &user::USER,
    };
    if chosen.name() == c"user" {
        user::init();
    }
    chosen
}
