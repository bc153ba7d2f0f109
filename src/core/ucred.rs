//! `ucred_t`: an opaque credential block with illumos' header shape
//! (as illumos lays it out): eight 32-bit words, then a `prcred` section.

pub use crate::sys::creds::{Creds, own_creds, peer_creds, proc_creds};
use crate::sys::{self, R};

/// Most supplementary groups a ucred holds (Linux's NGROUPS_MAX).
pub const NGROUPS: usize = 65536;

/// `struct ucred_s` as libdoor lays it out.
#[repr(C)]
pub struct Ucred {
    pub uc_size: u32,
    pub uc_credoff: u32,
    pub uc_privoff: u32,
    pub uc_pid: i32,
    pub uc_audoff: u32,
    pub uc_zoneid: i32,
    pub uc_projid: i32,
    pub uc_labeloff: u32,
    pub cr: Prcred,
}

#[repr(C)]
pub struct Prcred {
    pub euid: u32,
    pub ruid: u32,
    pub suid: u32,
    pub egid: u32,
    pub rgid: u32,
    pub sgid: u32,
    pub ngroups: u32,
    pub groups: [u32; NGROUPS],
}

pub const UCRED_SIZE: usize = size_of::<Ucred>();

/// Writes `c` into a ucred block of UCRED_SIZE bytes.
///
/// # Safety
/// `p` must point to UCRED_SIZE writable bytes.
pub unsafe fn fill(p: *mut Ucred, c: &Creds) {
    // SAFETY: the caller provides a full-size block; fields are plain ints.
    unsafe {
        (*p).uc_size = UCRED_SIZE as u32;
        (*p).uc_credoff = std::mem::offset_of!(Ucred, cr) as u32;
        (*p).uc_privoff = 0;
        (*p).uc_pid = c.pid;
        (*p).uc_audoff = 0;
        (*p).uc_zoneid = 0;
        (*p).uc_projid = -1;
        (*p).uc_labeloff = 0;
        let cr = &mut (*p).cr;
        cr.ruid = c.uid[0];
        cr.euid = c.uid[1];
        cr.suid = c.uid[2];
        cr.rgid = c.gid[0];
        cr.egid = c.gid[1];
        cr.sgid = c.gid[2];
        let n = c.groups.len().min(NGROUPS);
        cr.ngroups = n as u32;
        std::ptr::copy_nonoverlapping(c.groups.as_ptr(), cr.groups.as_mut_ptr(), n);
    }
}

/// Writes `c` into a caller's ucred at `p` (assumed full-size, as
/// ucred(3C) says), EFAULT instead of a crash if it is not writable. Only
/// the header, the id words and the groups in use are written.
pub fn fill_user(p: *mut Ucred, c: &Creds) -> R<()> {
    let n = c.groups.len().min(NGROUPS);
    let used = std::mem::offset_of!(Ucred, cr) + std::mem::offset_of!(Prcred, groups) + n * 4;
    let mut v: Vec<u32> = vec![0; UCRED_SIZE / 4];
    let tmp = v.as_mut_ptr() as *mut Ucred;
    // SAFETY: `tmp` is a full-size, 4-aligned block of ours.
    unsafe { fill(tmp, c) };
    sys::copy_out_bytes(p.cast(), tmp as *const u8, used)
}

/// Allocates an uninitialised full-size ucred (freed with `free`).
pub fn alloc() -> R<*mut Ucred> {
    // SAFETY: plain allocation.
    let p = unsafe { libc::malloc(UCRED_SIZE) } as *mut Ucred;
    if p.is_null() {
        Err(libc::ENOMEM)
    } else {
        Ok(p)
    }
}

use std::mem::size_of;
