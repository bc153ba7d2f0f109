//! `<door.h>`: the door functions.

use super::or_minus_one;
use crate::abi::*;
use crate::core::door as core;
use crate::sys;

/// Creates a door served by the calling process.
///
/// Solaris: `door_create(3C)`.
///
/// # Errors
/// - `EINVAL`: attributes outside DOOR_CREATE_MASK, DOOR_UNREF with
///   DOOR_UNREF_MULTI, or DOOR_NO_DEPLETION_CB/DOOR_PRIVCREATE.
/// - `EMFILE`, `ENFILE`: no descriptor available.
///
/// # Safety
/// `server_procedure` must be a function of the documented type; it is
/// called later from server threads with `cookie`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_create(
    server_procedure: Option<door_server_procedure_t>,
    cookie: *mut libc::c_void,
    attributes: uint_t,
) -> i32 {
    or_minus_one(core::create(
        server_procedure.map_or(0, |p| p as usize),
        cookie as usize,
        attributes,
    ))
}

/// Creates a private door whose threads come from `crf` (Oracle Solaris).
///
/// Solaris: `door_xcreate(3C)`.
///
/// # Errors
/// - `EINVAL`: bad attributes, DOOR_PRIVCREATE, `nthread < 1`, `crf` NULL,
///   or `crf` returned 0 during creation.
/// - `EPIPE`: `crf` returned -1. `EBADF`: a created thread failed to bind.
/// - `EMFILE`: no descriptor available.
///
/// # Safety
/// `crf`/`setupf` must follow the door_xcreate contract: `crf` starts a
/// thread running the given start routine with the given argument and
/// returns 1, 0 (declined) or -1 (failed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_xcreate(
    server_procedure: Option<door_server_procedure_t>,
    cookie: *mut libc::c_void,
    attributes: uint_t,
    crf: Option<door_xcreate_server_func_t>,
    setupf: Option<door_xcreate_thrsetup_func_t>,
    crcookie: *mut libc::c_void,
    nthread: i32,
) -> i32 {
    or_minus_one(core::xcreate(
        server_procedure.map_or(0, |p| p as usize),
        cookie as usize,
        attributes,
        crf,
        setupf,
        crcookie as usize,
        nthread,
    ))
}

/// Invokes a door and waits for its results.
///
/// Solaris: `door_call(3C)`.
///
/// # Errors
/// `EFAULT`, `EBADF`, `ENOBUFS`, `ENOTSUP`, `ENFILE`, `E2BIG`, `EINVAL`,
/// `EINTR`, `EOVERFLOW`, `EMFILE`, `EAGAIN` (man/door_call.3c).
///
/// # Safety
/// `params` is NULL or points to a `door_arg_t` whose pointers describe
/// memory of the stated sizes (unreadable memory gives EFAULT).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_call(d: i32, params: *mut door_arg_t) -> i32 {
    // Our close wrappers are the ones the descriptor checks may trust.
    super::fds::announce();
    or_minus_one(core::call(d, params).map(|_| 0))
}

/// Returns results to the caller and waits for the next invocation.
/// Never returns on success.
///
/// Solaris: `door_return(3C)`.
///
/// # Errors
/// `E2BIG` (results to a caller that allowed none, or more than 1024
/// descriptors), `EFAULT`, `EINVAL`. Returns -1 with errno unchanged when
/// the caller's descriptor table could not take the returned descriptors
/// (the caller got the data; the descriptors stay open here).
///
/// # Safety
/// `data_ptr`/`desc_ptr` describe `data_size` bytes and `num_desc` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_return(
    data_ptr: *mut libc::c_char,
    data_size: usize,
    desc_ptr: *mut door_desc_t,
    num_desc: uint_t,
) -> i32 {
    // The caller's errno, put back when this fails without an errno: the
    // library's own system calls on the way (a receive that would block,
    // an interrupted wait) may have changed it meanwhile.
    let before = sys::errno();
    let e = core::door_return(data_ptr as *const u8, data_size, desc_ptr, num_desc);
    if e == 0 {
        // The client could not take the descriptors: it has the data, and
        // this door_return fails leaving errno as it was, as on illumos.
        sys::set_errno(before);
        return -1;
    }
    or_minus_one(Err(e))
}

/// Describes a door.
///
/// Solaris: `door_info(3C)`.
///
/// # Errors
/// `EBADF` (not a door; DOOR_QUERY from an unbound thread), `EFAULT`.
///
/// # Safety
/// `info` points to a writable `door_info_t` (checked: EFAULT otherwise).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_info(d: i32, info: *mut door_info_t) -> i32 {
    or_minus_one(
        core::info(d)
            .and_then(|i| sys::copy_out(info, &i))
            .map(|_| 0),
    )
}

/// Revokes a door served by this process and closes `d`.
///
/// Solaris: `door_revoke(3C)`.
///
/// # Errors
/// `EBADF` (not a door), `EPERM` (served by another process).
///
/// # Safety
/// None beyond passing an integer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_revoke(d: i32) -> i32 {
    or_minus_one(core::revoke(d))
}

/// The credentials of the current invocation's caller (obsolete API).
///
/// Solaris: `door_cred(3C)`.
///
/// # Errors
/// `EINVAL`: not serving an invocation. `EFAULT`: bad pointer.
///
/// # Safety
/// `info` points to a writable `door_cred_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_cred(info: *mut door_cred_t) -> i32 {
    or_minus_one(core::cred(info))
}

/// The full credentials of the current invocation's caller.
///
/// Solaris: `door_ucred(3C)`.
///
/// # Errors
/// `EINVAL`: not serving an invocation. `EFAULT`: bad pointer. `ENOMEM`.
///
/// # Safety
/// `info` points to a `ucred_t *` that is NULL or a ucred from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_ucred(info: *mut *mut libc::c_void) -> i32 {
    or_minus_one(core::ucred(info))
}

/// Binds the calling thread to a DOOR_PRIVATE door's pool.
///
/// Solaris: `door_bind(3C)`.
///
/// # Errors
/// `EBADF` (not a door), `EINVAL` (not private, or served elsewhere).
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_bind(d: i32) -> i32 {
    or_minus_one(core::bind(d))
}

/// Unbinds the calling thread from its private pool.
///
/// Solaris: `door_unbind(3C)`.
///
/// # Errors
/// `EBADF`: the thread is not bound.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_unbind() -> i32 {
    or_minus_one(core::unbind())
}

/// Reads a door parameter.
///
/// Solaris: `door_getparam(3C)`.
///
/// # Errors
/// `EBADF` (not a door), `EINVAL` (unknown parameter), `EFAULT`.
///
/// # Safety
/// `out` points to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_getparam(d: i32, param: i32, out: *mut usize) -> i32 {
    or_minus_one(core::getparam(d, param, out))
}

/// Sets a door parameter (server only).
///
/// Solaris: `door_setparam(3C)`.
///
/// # Errors
/// `EBADF` (not a door, or revoked), `EPERM` (not the server), `ERANGE`,
/// `ENOTSUP`, `EINVAL` (unknown parameter, or min > max).
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_setparam(d: i32, param: i32, val: usize) -> i32 {
    or_minus_one(core::setparam(d, param, val))
}

/// Installs the process's server-thread creation function; returns the
/// previous one. Cannot fail.
///
/// Solaris: `door_server_create(3C)`.
///
/// # Safety
/// `create_proc` is NULL (restore the default) or a valid function.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn door_server_create(
    create_proc: Option<door_server_func_t>,
) -> Option<door_server_func_t> {
    Some(core::set_server_func(create_proc))
}

/// Which backend serves this process: "user" or "kernel" (libdoor
/// extension).
///
/// # Safety
/// None; the string is static.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn libdoor_backend() -> *const libc::c_char {
    core::backend_name().as_ptr()
}
