//! The door functions above any backend: which backend call each makes,
//! and the rules every backend shares (the attribute checks of door_create
//! and door_xcreate, DOOR_QUERY, the parameter rules, the credential
//! blocks, closing a revoked descriptor).

use std::os::fd::RawFd;

use crate::abi::*;
use crate::backend::{self, Params};
use crate::core::ucred;
use crate::sys::{self, R};

fn check_attrs(attrs: u32) -> R<()> {
    if attrs & !DOOR_CREATE_MASK != 0 || (attrs & DOOR_UNREF != 0 && attrs & DOOR_UNREF_MULTI != 0)
    {
        return Err(libc::EINVAL);
    }
    Ok(())
}

/// `door_create`: DOOR_NO_DEPLETION_CB and DOOR_PRIVCREATE belong to
/// door_xcreate.
pub fn create(proc_: usize, cookie: usize, attrs: u32) -> R<i32> {
    check_attrs(attrs)?;
    if attrs & (DOOR_NO_DEPLETION_CB | DOOR_PRIVCREATE) != 0 {
        return Err(libc::EINVAL);
    }
    backend::get().create(proc_, cookie, attrs)
}

/// `door_xcreate`: always a private door whose threads `crf` creates.
pub fn xcreate(
    proc_: usize,
    cookie: usize,
    attrs: u32,
    crf: Option<door_xcreate_server_func_t>,
    setupf: Option<door_xcreate_thrsetup_func_t>,
    crcookie: usize,
    nthread: i32,
) -> R<i32> {
    if attrs & DOOR_PRIVCREATE != 0 || nthread < 1 {
        return Err(libc::EINVAL);
    }
    let crf = crf.ok_or(libc::EINVAL)?;
    check_attrs(attrs)?;
    let attrs = attrs | DOOR_PRIVATE | DOOR_PRIVCREATE;
    backend::get().xcreate(proc_, cookie, attrs, crf, setupf, crcookie, nthread)
}

/// `door_call`: one fault-catching scope, so its checks are made once per
/// call.
pub fn call(d: RawFd, params: *mut door_arg_t) -> R<()> {
    sys::fault::scope(|| backend::get().call(d, params))
}

/// `door_return`: returns only on failure, with its errno (0: the client
/// could not take the descriptors, errno is left alone).
pub fn door_return(data: *const u8, size: usize, desc: *const door_desc_t, ndesc: u32) -> i32 {
    backend::get().door_return(data, size, desc, ndesc)
}

/// `door_info`; DOOR_QUERY names the door the calling thread serves.
pub fn info(d: RawFd) -> R<door_info_t> {
    if d == DOOR_QUERY {
        return backend::get().bound_info();
    }
    backend::get().info(d)
}

/// `door_revoke`: the door is revoked, then `d` closed.
pub fn revoke(d: RawFd) -> R<i32> {
    backend::get().revoke(d)?;
    sys::close(d).map(|_| 0)
}

/// `door_cred`: dc_resv is left as the caller had it, as libc does.
pub fn cred(info: *mut door_cred_t) -> R<i32> {
    let c = backend::get().caller_ids().ok_or(libc::EINVAL)?;
    let mut out = sys::copy_in(info)?;
    out.dc_euid = c.dc_euid;
    out.dc_egid = c.dc_egid;
    out.dc_ruid = c.dc_ruid;
    out.dc_rgid = c.dc_rgid;
    out.dc_pid = c.dc_pid;
    sys::copy_out(info, &out).map(|_| 0)
}

/// `door_ucred`: fills the caller's ucred if `*info` is one, else stores a
/// new one there.
pub fn ucred(info: *mut *mut libc::c_void) -> R<i32> {
    let existing: *mut libc::c_void = sys::copy_in(info)?;
    let creds = backend::get().caller_creds().ok_or(libc::EINVAL)?;
    if !existing.is_null() {
        // The caller's ucred: written with a checked copy (EFAULT).
        ucred::fill_user(existing.cast(), &creds)?;
        return Ok(0);
    }
    let p = ucred::alloc()?;
    // SAFETY: p is a fresh full-size ucred of ours.
    unsafe { ucred::fill(p, &creds) };
    if let Err(e) = sys::copy_out(info, &(p as *mut libc::c_void)) {
        // SAFETY: freeing what we just allocated.
        unsafe { libc::free(p.cast()) };
        return Err(e);
    }
    Ok(0)
}

/// `door_bind`.
pub fn bind(d: RawFd) -> R<i32> {
    backend::get().bind(d).map(|_| 0)
}

/// `door_unbind`.
pub fn unbind() -> R<i32> {
    backend::get().unbind().map(|_| 0)
}

/// `door_getparam`: a door without limits of its own (served elsewhere,
/// and revoked or never told) reports the widest ones its attributes allow.
pub fn getparam(d: RawFd, param: i32, out: *mut usize) -> R<i32> {
    let (params, attrs) = backend::get().params(d)?;
    let p = params.unwrap_or(Params {
        data_min: 0,
        data_max: usize::MAX,
        desc_max: if attrs & DOOR_REFUSE_DESC != 0 {
            0
        } else {
            i32::MAX as usize
        },
    });
    let v = match param {
        DOOR_PARAM_DESC_MAX => p.desc_max,
        DOOR_PARAM_DATA_MAX => p.data_max,
        DOOR_PARAM_DATA_MIN => p.data_min,
        _ => return Err(libc::EINVAL),
    };
    sys::copy_out(out, &v).map(|_| 0)
}

/// `door_setparam`: the rules for each parameter, applied by the backend
/// under the limits' lock.
pub fn setparam(d: RawFd, param: i32, val: usize) -> R<i32> {
    backend::get()
        .set_params(d, &mut |p, attrs| set_param(p, attrs, param, val))
        .map(|_| 0)
}

fn set_param(p: &mut Params, attrs: u32, param: i32, val: usize) -> R<()> {
    match param {
        DOOR_PARAM_DESC_MAX => {
            if val > i32::MAX as usize {
                return Err(libc::ERANGE);
            }
            if attrs & DOOR_REFUSE_DESC != 0 && val != 0 {
                return Err(libc::ENOTSUP);
            }
            p.desc_max = val;
        }
        DOOR_PARAM_DATA_MIN if val <= p.data_max => p.data_min = val,
        DOOR_PARAM_DATA_MAX if val >= p.data_min => p.data_max = val,
        _ => return Err(libc::EINVAL),
    }
    Ok(())
}

/// `door_server_create`.
pub fn set_server_func(f: Option<door_server_func_t>) -> door_server_func_t {
    backend::get().set_server_func(f)
}

/// `fattach`.
pub fn fattach(fd: RawFd, path: *const libc::c_char) -> R<i32> {
    backend::get().fattach(fd, path).map(|_| 0)
}

/// `fdetach`.
pub fn fdetach(path: *const libc::c_char) -> R<i32> {
    backend::get().fdetach(path).map(|_| 0)
}

/// The process's credentials changed (a set*id call).
pub fn credentials_changed() {
    backend::get().credentials_changed();
}

/// The name of this process's backend.
pub fn backend_name() -> &'static std::ffi::CStr {
    backend::get().name()
}
