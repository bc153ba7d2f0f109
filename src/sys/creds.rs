//! Where credentials come from: this process, another process by pid
//! (`/proc/<pid>/status`), the peer of a connected socket.

use crate::sys::{self, R};

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
