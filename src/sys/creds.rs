//! Where credentials come from: this process, another process by pid
//! (`/proc/<pid>/status`), the peer of a connected socket, and ids a
//! peer presented in a message (`SCM_CREDENTIALS` that the kernel checked).

use crate::sys::{self, R};
use std::cell::Cell;
use std::os::fd::RawFd;

/// Credentials gathered from wherever they come from.
#[derive(Default, Debug, Clone)]
pub struct Creds {
    pub pid: i32,
    pub uid: [u32; 3], // real, effective, saved
    pub gid: [u32; 3],
    pub groups: Vec<u32>,
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

/// Which of the sending thread's ids `send_ids` presents.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Held {
    Real,
    Saved,
}

thread_local! {
    /// This thread's saved uid and gid, and the credential generation
    /// (`cred_gen` of `send_ids`) they were read under (`u64::MAX`: not
    /// read yet).
    static SAVED: Cell<(u64, u32, u32)> = const { Cell::new((u64::MAX, 0, 0)) };
}

fn read_ids(which: Held) -> (u32, u32) {
    let (mut r, mut e, mut s) = (0, 0, 0);
    let (mut rg, mut eg, mut sg) = (0, 0, 0);
    // SAFETY: out-pointers to our locals.
    unsafe {
        libc::getresuid(&mut r, &mut e, &mut s);
        libc::getresgid(&mut rg, &mut eg, &mut sg);
    }
    match which {
        Held::Real => (r, rg),
        Held::Saved => (s, sg),
    }
}

/// Sends one byte `b` on `fd` carrying, as explicit `SCM_CREDENTIALS`, the
/// calling thread's real or saved uid and gid. The kernel accepts explicit
/// credentials only for the sender's own process id and ids it holds (as
/// real, effective or saved id), so whoever reads them with SO_PASSCRED
/// knows the sender held those ids when it sent them. Saved ids are cached
/// per thread while `cred_gen` (the count of libc `set*id` calls) is unchanged;
/// if the kernel refuses a stale value, the ids are read again, and if
/// it still refuses (an id unmapped in the thread's user namespace), the
/// byte goes without credentials (the reader then falls back to what the
/// kernel attested otherwise).
pub fn send_ids(fd: RawFd, b: u8, which: Held, cred_gen: u64) -> R<()> {
    let cached = || {
        SAVED
            .try_with(|c| {
                let (g, u, gi) = c.get();
                (g == cred_gen).then_some((u, gi))
            })
            .ok()
            .flatten()
    };
    let fresh = || {
        let ids = read_ids(which);
        if which == Held::Saved {
            let _ = SAVED.try_with(|c| c.set((cred_gen, ids.0, ids.1)));
        }
        ids
    };
    let first = match which {
        Held::Saved => cached().unwrap_or_else(fresh),
        Held::Real => fresh(),
    };
    // EPERM: an id not held (any more); EINVAL: an id with no mapping in
    // the thread's user namespace (shown as the overflow id).
    match send_one(fd, b, Some(first)) {
        Err(libc::EPERM | libc::EINVAL) => {}
        r => return r,
    }
    let again = fresh();
    match send_one(fd, b, Some(again)) {
        Err(libc::EPERM | libc::EINVAL) => send_one(fd, b, None),
        r => r,
    }
}

/// One byte on `fd`, with explicit credentials (this process, `ids`) if given.
fn send_one(fd: RawFd, b: u8, ids: Option<(u32, u32)>) -> R<()> {
    const SPACE: usize = 64;
    #[repr(C, align(8))]
    struct Buf([u8; SPACE]);
    let mut cbuf = Buf([0; SPACE]);
    let byte = [b];
    let mut iov = libc::iovec {
        iov_base: byte.as_ptr() as *mut _,
        iov_len: 1,
    };
    // SAFETY: msghdr is plain old data.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = &mut iov;
    m.msg_iovlen = 1;
    if let Some((uid, gid)) = ids {
        let uc = libc::ucred {
            pid: sys::getpid(),
            uid,
            gid,
        };
        let len = std::mem::size_of::<libc::ucred>() as u32;
        // SAFETY: CMSG_SPACE is a pure computation; the buffer holds it
        // (CMSG_SPACE(12) is 32 <= SPACE), and CMSG_FIRSTHDR is non-null.
        unsafe {
            m.msg_control = cbuf.0.as_mut_ptr().cast();
            m.msg_controllen = libc::CMSG_SPACE(len) as usize;
            let c = libc::CMSG_FIRSTHDR(&m);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_CREDENTIALS;
            (*c).cmsg_len = libc::CMSG_LEN(len) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::ucred>(), uc);
        }
    }
    loop {
        // SAFETY: m describes one valid iovec and our control buffer.
        let r = unsafe { libc::sendmsg(fd, &m, libc::MSG_NOSIGNAL) };
        if r == 1 {
            return Ok(());
        }
        if r >= 0 {
            return Err(libc::EIO);
        }
        match sys::errno() {
            libc::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// Receives one message of at most a byte from `fd` without waiting (SO_PASSCRED
/// must be on) and returns the uid and gid it presented, if they are
/// `pid`'s: the ids that process held when it sent them. Descriptors that
/// came along are closed.
pub fn recv_ids(fd: RawFd, pid: i32) -> Option<(u32, u32)> {
    let mut b = [0u8; 1];
    let mut iov = [libc::iovec {
        iov_base: b.as_mut_ptr().cast(),
        iov_len: 1,
    }];
    let mut r = sys::recv_fds(fd, &mut iov, libc::MSG_DONTWAIT, true).ok()?;
    r.close_fds();
    match r.cred {
        Some(c) if r.len == 1 && pid > 0 && c.pid == pid => Some((c.uid, c.gid)),
        _ => None,
    }
}
