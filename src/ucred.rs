//! `ucred_t`: an opaque credential block with illumos' header shape
//! (as illumos lays it out): eight 32-bit words, then a `prcred` section.

use crate::server::Caller;
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

/// Credentials gathered from wherever they come from.
#[derive(Default, Debug, Clone)]
pub struct Creds {
    pub pid: i32,
    pub uid: [u32; 3], // real, effective, saved
    pub gid: [u32; 3],
    pub groups: Vec<u32>,
}

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

/// Our own credentials.
pub fn own_creds() -> Creds {
    let mut c = Creds {
        pid: sys::getpid(),
        ..Default::default()
    };
    // SAFETY: out-pointers to our locals.
    unsafe {
        libc::getresuid(&mut c.uid[0], &mut c.uid[1], &mut c.uid[2]);
        libc::getresgid(&mut c.gid[0], &mut c.gid[1], &mut c.gid[2]);
        let n = libc::getgroups(0, std::ptr::null_mut());
        if n > 0 {
            c.groups = vec![0; n as usize];
            let m = libc::getgroups(n, c.groups.as_mut_ptr());
            c.groups.truncate(m.max(0) as usize);
        }
    }
    c
}

/// Credentials of process `pid` from /proc/<pid>/status.
pub fn proc_creds(pid: i32) -> R<Creds> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| {
        match e.raw_os_error() {
            Some(libc::ENOENT) => libc::ESRCH,
            Some(e) => e,
            None => libc::EINVAL,
        }
    })?;
    let mut c = Creds {
        pid,
        ..Default::default()
    };
    let nums = |l: &str| -> Vec<u32> {
        l.split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect()
    };
    let mut seen = 0;
    for line in s.lines() {
        if line.starts_with("Uid:") {
            let v = nums(line);
            if v.len() >= 3 {
                c.uid = [v[0], v[1], v[2]];
                seen |= 1;
            }
        } else if line.starts_with("Gid:") {
            let v = nums(line);
            if v.len() >= 3 {
                c.gid = [v[0], v[1], v[2]];
                seen |= 2;
            }
        } else if line.starts_with("Groups:") {
            c.groups = nums(line);
        }
    }
    if seen != 3 {
        return Err(libc::ESRCH);
    }
    Ok(c)
}

/// The credentials of a door caller: pid, euid, egid and groups as the
/// kernel attested them on the call's reply channel, real ids from
/// SCM_CREDENTIALS, saved ids from /proc (see KNOWN_DIFFERENCES.md).
pub fn caller_creds(caller: &Caller, reply: std::os::fd::RawFd) -> Creds {
    if caller.pid == 0 {
        // An unreferenced notification: the server's own credentials, pid 0.
        return Creds {
            pid: 0,
            ..own_creds()
        };
    }
    let saved = proc_creds(caller.pid).ok();
    Creds {
        pid: caller.pid,
        uid: [
            caller.ruid,
            caller.euid,
            saved.as_ref().map_or(caller.euid, |s| s.uid[2]),
        ],
        gid: [
            caller.rgid,
            caller.egid,
            saved.as_ref().map_or(caller.egid, |s| s.gid[2]),
        ],
        groups: sys::peer_groups(reply).unwrap_or_default(),
    }
}

/// Credentials of the peer of a connected socket (getpeerucred).
pub fn peer_creds(fd: std::os::fd::RawFd) -> R<Creds> {
    let pc = sys::peer_cred(fd)?;
    let saved = proc_creds(pc.pid).ok();
    Ok(Creds {
        pid: pc.pid,
        uid: saved
            .as_ref()
            .map_or([pc.uid; 3], |s| [s.uid[0], pc.uid, s.uid[2]]),
        gid: saved
            .as_ref()
            .map_or([pc.gid; 3], |s| [s.gid[0], pc.gid, s.gid[2]]),
        groups: sys::peer_groups(fd).unwrap_or_default(),
    })
}

use std::mem::size_of;
