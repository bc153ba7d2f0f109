//! `<ucred.h>`: credential accessors.

use super::or_minus_one;
use crate::core::ucred::{self as core, Ucred};
use crate::sys::{self, R};

fn cred_section(uc: *const Ucred) -> R<&'static Ucred> {
    if uc.is_null() {
        return Err(libc::EINVAL);
    }
    // SAFETY: the caller passes a ucred from this library (ucred(3C)
    // contract); we only read its header and cred section.
    let u = unsafe { &*uc };
    if u.uc_credoff == 0 {
        return Err(libc::EINVAL);
    }
    Ok(u)
}

/// The header of a library ucred, None for NULL.
fn header(uc: *const libc::c_void) -> Option<&'static Ucred> {
    // SAFETY: a non-NULL `uc` is a ucred from this library (ucred(3C)
    // contract); only its fixed header is read through this reference.
    unsafe { (uc as *const Ucred).as_ref() }
}

fn id_or_minus_one(r: R<u32>) -> u32 {
    match r {
        Ok(v) => v,
        Err(e) => {
            sys::set_errno(e);
            u32::MAX
        }
    }
}

/// Allocates and fills the credentials of process `pid` (P_MYID: self).
///
/// Solaris: `ucred_get(3C)`.
///
/// # Errors
/// `ESRCH` (no such process), `EACCES`, `ENOMEM`: NULL is returned.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_get(pid: i32) -> *mut libc::c_void {
    let creds = if pid == crate::abi::P_MYID || pid == sys::getpid() {
        Ok(core::own_creds())
    } else if pid <= 0 {
        Err(libc::ESRCH)
    } else {
        core::proc_creds(pid)
    };
    match creds.and_then(|c| {
        let p = core::alloc()?;
        // SAFETY: p is a fresh full-size block.
        unsafe { core::fill(p, &c) };
        Ok(p)
    }) {
        Ok(p) => p.cast(),
        Err(e) => {
            sys::set_errno(e);
            std::ptr::null_mut()
        }
    }
}

/// Frees a ucred.
///
/// Solaris: `ucred_free(3C)`.
///
/// # Safety
/// `uc` is NULL or came from this library's allocators.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_free(uc: *mut libc::c_void) {
    // SAFETY: allocated with malloc by this library (or NULL).
    unsafe { libc::free(uc) }
}

macro_rules! id_getter {
    ($(#[$doc:meta])* $name:ident, $field:ident) => {
        $(#[$doc])*
        ///
        /// # Errors
        /// `EINVAL` (no credential section): `(uid_t)-1`/`(gid_t)-1`.
        ///
        /// # Safety
        /// `uc` is a ucred from this library.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(uc: *const libc::c_void) -> u32 {
            id_or_minus_one(cred_section(uc.cast()).map(|u| u.cr.$field))
        }
    };
}

id_getter!(/// Effective uid. Solaris: `ucred_geteuid(3C)`.
    ucred_geteuid, euid);
id_getter!(/// Real uid. Solaris: `ucred_getruid(3C)`.
    ucred_getruid, ruid);
id_getter!(/// Saved uid. Solaris: `ucred_getsuid(3C)`.
    ucred_getsuid, suid);
id_getter!(/// Effective gid. Solaris: `ucred_getegid(3C)`.
    ucred_getegid, egid);
id_getter!(/// Real gid. Solaris: `ucred_getrgid(3C)`.
    ucred_getrgid, rgid);
id_getter!(/// Saved gid. Solaris: `ucred_getsgid(3C)`.
    ucred_getsgid, sgid);

/// Supplementary groups: returns the count and points `*groups` into the
/// ucred (NULL when there are none).
///
/// Solaris: `ucred_getgroups(3C)`.
///
/// # Errors
/// `EINVAL` (no credential section): -1.
///
/// # Safety
/// `uc` is a ucred from this library; `groups` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_getgroups(uc: *const libc::c_void, groups: *mut *const u32) -> i32 {
    or_minus_one(cred_section(uc.cast()).and_then(|u| {
        let n = u.cr.ngroups as usize;
        let p = if n == 0 {
            std::ptr::null()
        } else {
            u.cr.groups.as_ptr()
        };
        sys::copy_out(groups, &p)?;
        Ok(n as i32)
    }))
}

/// The pid of the process the credentials belong to.
///
/// Solaris: `ucred_getpid(3C)`.
///
/// # Errors
/// `EINVAL` if the pid is unknown (-1).
///
/// # Safety
/// `uc` is a ucred from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_getpid(uc: *const libc::c_void) -> i32 {
    let pid = header(uc).map_or(-1, |u| u.uc_pid);
    or_minus_one(if pid == -1 {
        Err(libc::EINVAL)
    } else {
        Ok(pid)
    })
}

/// The zone id: always the global zone (0) on Linux.
///
/// Solaris: `ucred_getzoneid(3C)`.
///
/// # Safety
/// `uc` is a ucred from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_getzoneid(uc: *const libc::c_void) -> i32 {
    or_minus_one(header(uc).map(|u| u.uc_zoneid).ok_or(libc::EINVAL))
}

/// The project id: Linux has none, so -1 with EINVAL.
///
/// Solaris: `ucred_getprojid(3C)`.
///
/// # Safety
/// `uc` is a ucred from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_getprojid(uc: *const libc::c_void) -> i32 {
    let v = header(uc).map_or(-1, |u| u.uc_projid);
    or_minus_one(if v == -1 { Err(libc::EINVAL) } else { Ok(v) })
}

/// Privilege sets: Linux has no Solaris privilege sets, so the section is
/// absent: NULL with EINVAL.
///
/// Solaris: `ucred_getprivset(3C)`.
///
/// # Safety
/// None (nothing is dereferenced).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_getprivset(
    _uc: *const libc::c_void,
    _which: *const libc::c_char,
) -> *const libc::c_void {
    sys::set_errno(libc::EINVAL);
    std::ptr::null()
}

/// Process flags: section absent, `(uint_t)-1` with EINVAL.
///
/// Solaris: `ucred_getpflags(3C)`.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_getpflags(_uc: *const libc::c_void, _flag: u32) -> u32 {
    id_or_minus_one(Err(libc::EINVAL))
}

/// Trusted Extensions label: not available, NULL with EINVAL.
///
/// Solaris: `ucred_getlabel(3C)`.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_getlabel(_uc: *const libc::c_void) -> *mut libc::c_void {
    sys::set_errno(libc::EINVAL);
    std::ptr::null_mut()
}

/// Size of a full ucred, constant for the life of the system.
///
/// Solaris: `ucred_size(3C)`.
///
/// # Safety
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ucred_size() -> usize {
    core::UCRED_SIZE
}

/// Credentials of the peer of a connected socket.
///
/// Solaris: `getpeerucred(3C)`.
///
/// # Errors
/// `EBADF`, `ENOTSOCK`, `ENOTCONN`, `EFAULT`, `ENOMEM`.
///
/// # Safety
/// `ucp` points to a `ucred_t *` that is NULL or a ucred from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getpeerucred(fd: i32, ucp: *mut *mut libc::c_void) -> i32 {
    or_minus_one((|| {
        let existing: *mut libc::c_void = sys::copy_in(ucp)?;
        let c = core::peer_creds(fd)?;
        if !existing.is_null() {
            // The caller's ucred: written with a checked copy (EFAULT).
            core::fill_user(existing.cast(), &c)?;
            return Ok(0);
        }
        let p = core::alloc()?;
        // SAFETY: a fresh full-size ucred of ours.
        unsafe { core::fill(p, &c) };
        if let Err(e) = sys::copy_out(ucp, &(p as *mut libc::c_void)) {
            // SAFETY: freeing what we just allocated.
            unsafe { libc::free(p.cast()) };
            return Err(e);
        }
        Ok(0)
    })())
}
