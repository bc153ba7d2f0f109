//! fattach/fdetach without a kernel mount (DESIGN §2).
//!
//! `fattach(fd, path)` leaves the covered file alone and makes the calling
//! process listen on an abstract SOCK_SEQPACKET *rendezvous* whose name is
//! derived from the covered file's identity: `(st_dev, st_ino, birth
//! time)`. The birth time makes a deleted-and-recreated file with a
//! recycled inode number a different name. A client's plain `open(path)`
//! gives it a descriptor of the regular file (so the file's owner and mode
//! decide who may open it); the first door operation on it finds the
//! rendezvous from `fstat`, checks that the process listening there runs
//! as the covered file's owner or root (so nobody else can squat the name
//! and intercept calls), receives the real door descriptor and `dup3`s it
//! over the caller's descriptor number.
//!
//! The rendezvous is served by the manager thread (`control.rs`), which
//! holds one reference to the door per attachment, as namefs does.

use crate::sys::OwnedFd;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, RawFd};

use crate::sys::{self, R};
use crate::wire::{self, HDR_LEN, Hdr};

pub const K_OPEN: u32 = 10;
pub const K_DETACH: u32 = 11;
pub const K_ANSWER: u32 = 12;

/// The identity of a covered file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
    pub btime: (i64, u32),
    pub uid: u32,
}

fn statx_key(dirfd: RawFd, path: &CStr, flags: i32) -> R<FileKey> {
    // SAFETY: statx is plain old data; zeroed is valid.
    let mut sx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated; sx is writable.
    sys::cvt(unsafe {
        libc::statx(
            dirfd,
            path.as_ptr(),
            flags,
            libc::STATX_BASIC_STATS | libc::STATX_BTIME,
            &mut sx,
        )
    })?;
    let btime = if sx.stx_mask & libc::STATX_BTIME != 0 {
        (sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec)
    } else {
        (0, 0)
    };
    Ok(FileKey {
        dev: ((sx.stx_dev_major as u64) << 32) | sx.stx_dev_minor as u64,
        ino: sx.stx_ino,
        btime,
        uid: sx.stx_uid,
    })
}

/// Key of an open descriptor.
pub fn key_of_fd(fd: RawFd) -> R<FileKey> {
    statx_key(fd, c"", libc::AT_EMPTY_PATH)
}

/// Key of a path (following symlinks, as open() does).
pub fn key_of_path(path: &CStr) -> R<FileKey> {
    statx_key(libc::AT_FDCWD, path, 0)
}

pub fn rendezvous_name(k: &FileKey) -> Vec<u8> {
    format!(
        "ldoor1a:{:x}:{:x}:{:x}.{:x}",
        k.dev, k.ino, k.btime.0, k.btime.1
    )
    .into_bytes()
}

/// Connects to the rendezvous of `k`, checking that its listener runs as
/// the covered file's owner or as root.
fn connect(k: &FileKey) -> R<OwnedFd> {
    // SAFETY: plain socket creation.
    let s = sys::own(sys::cvt(unsafe {
        libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0)
    })?);
    for opt in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
        sys::set_timeo(s.as_raw_fd(), opt, 5);
    }
    let (addr, len) = sys::abstract_addr(&rendezvous_name(k));
    sys::retry(|| {
        // SAFETY: addr is a valid sockaddr_un of length len.
        sys::cvt(unsafe {
            libc::connect(
                s.as_raw_fd(),
                &addr as *const _ as *const libc::sockaddr,
                len,
            )
        })
    })?;
    let pc = sys::peer_cred(s.as_raw_fd())?;
    if pc.uid != k.uid && pc.uid != 0 {
        return Err(libc::EACCES); // a squatter: not the file's owner
    }
    Ok(s)
}

fn ask(s: &OwnedFd, kind: u32) -> R<Vec<RawFd>> {
    let h = Hdr::new(kind, 0, 0, 0);
    let iov = [libc::iovec {
        iov_base: (&h as *const Hdr) as *mut _,
        iov_len: HDR_LEN,
    }];
    sys::send_fds(s.as_raw_fd(), &iov, &[], true)?;
    let mut a = Hdr::default();
    let mut iov = [libc::iovec {
        iov_base: (&mut a as *mut Hdr).cast(),
        iov_len: HDR_LEN,
    }];
    let mut r = sys::recv_fds(s.as_raw_fd(), &mut iov, libc::MSG_CMSG_CLOEXEC, true)?;
    if r.len != HDR_LEN || a.check(K_ANSWER, 0).is_err() {
        r.close_fds();
        return Err(libc::EPROTO);
    }
    if a.status != 0 {
        r.close_fds();
        return Err(a.status as i32);
    }
    crate::control::wait_closed(s.as_raw_fd());
    Ok(std::mem::take(&mut r.fds))
}

/// If `fd` is a descriptor of a file with a door attached, replaces it (same
/// number, same close-on-exec flag) by the door. Returns whether it did.
pub fn resolve(fd: RawFd) -> bool {
    let Ok(k) = key_of_fd(fd) else { return false };
    let Ok(s) = connect(&k) else { return false };
    let Ok(fds) = ask(&s, K_OPEN) else {
        return false;
    };
    if fds.len() != 1 {
        for f in fds {
            let _ = sys::close(f);
        }
        return false;
    }
    let door = fds[0];
    let ok = crate::client::identify_socket(door).is_ok();
    // SAFETY: F_GETFD takes no pointer.
    let cloexec = unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC != 0;
    let done = ok && {
        let flags = if cloexec { libc::O_CLOEXEC } else { 0 };
        // SAFETY: replacing the caller's descriptor with the door, which is
        // what the caller's descriptor now names (DESIGN §2).
        let r = unsafe { libc::dup3(door, fd, flags) };
        r == fd
    };
    let _ = sys::close(door);
    done
}

/// fattach (spec §4.17).
pub fn fattach(fd: RawFd, path: *const libc::c_char) -> R<()> {
    if !sys::fd_is_open(fd) {
        return Err(libc::EBADF);
    }
    let Ok(id) = crate::client::identify(fd) else {
        return Err(libc::EINVAL); // neither a door nor a stream
    };
    let path = checked_path(path)?;
    let k = key_of_path(&path)?;
    let bytes = path.to_bytes();
    if bytes.starts_with(b"/dev/pts/") || bytes.starts_with(b"/dev/vt") {
        return Err(libc::ENOTSUP);
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 && euid != k.uid {
        return Err(libc::EPERM);
    }
    // SAFETY: path is NUL-terminated.
    if unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::W_OK, libc::AT_EACCESS) } != 0
    {
        return Err(libc::EACCES);
    }
    if is_mount_point(&path) {
        return Err(libc::EBUSY);
    }
    // Something already attached and alive there: EBUSY.
    if connect(&k).is_ok() {
        return Err(libc::EBUSY);
    }
    // The attachment holds a reference of its own, as namefs does.
    let dup = crate::client::new_reference(fd, &id)?;
    // Hold the covered inode (O_PATH needs no permission on the file), and
    // make sure it is still the file we checked.
    // SAFETY: path is NUL-terminated; O_PATH opens nothing for I/O.
    let covered = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    let covered = (covered >= 0).then(|| sys::own(covered));
    if let Some(c) = &covered
        && key_of_fd(c.as_raw_fd()).ok() != Some(k)
    {
        return Err(libc::EBUSY); // replaced under us
    }
    crate::door::with_proc(|st| {
        crate::control::ensure_started(st)?;
        crate::control::attach(st, &k, dup, covered)
    })
}

/// fdetach (spec §4.18).
pub fn fdetach(path: *const libc::c_char) -> R<()> {
    let path = checked_path(path)?;
    let k = key_of_path(&path)?;
    let s = match connect(&k) {
        Ok(s) => s,
        Err(libc::EACCES) | Err(libc::ECONNREFUSED) | Err(libc::ENOENT) => {
            return Err(libc::EINVAL);
        }
        Err(e) => return Err(e),
    };
    ask(&s, K_DETACH).map(|_| ())
}

/// NULL or empty → ENOENT; relative → absolute (ENAMETOOLONG past PATH_MAX).
fn checked_path(path: *const libc::c_char) -> R<std::ffi::CString> {
    if path.is_null() {
        return Err(libc::ENOENT);
    }
    // SAFETY: the caller passes a NUL-terminated string (checked non-NULL).
    let p = unsafe { CStr::from_ptr(path) };
    if p.is_empty() {
        return Err(libc::ENOENT);
    }
    let mut v = p.to_bytes().to_vec();
    if v[0] != b'/' {
        let cwd = std::env::current_dir().map_err(|e| e.raw_os_error().unwrap_or(libc::ENOENT))?;
        let mut c = std::os::unix::ffi::OsStrExt::as_bytes(cwd.as_os_str()).to_vec();
        c.push(b'/');
        c.extend_from_slice(&v);
        v = c;
    }
    if v.len() >= libc::PATH_MAX as usize {
        return Err(libc::ENAMETOOLONG);
    }
    std::ffi::CString::new(v).map_err(|_| libc::EINVAL)
}

fn is_mount_point(path: &CStr) -> bool {
    let mut parent = path.to_bytes().to_vec();
    parent.extend_from_slice(b"/..");
    let Ok(parent) = std::ffi::CString::new(parent) else {
        return false;
    };
    match (key_of_path(path), key_of_path(&parent)) {
        (Ok(a), Ok(b)) => a.dev != b.dev,
        _ => false,
    }
}

/// The manager's side of a rendezvous connection: answer one request.
/// `owner_uid` is the attachment's owner (the covered file's owner).
/// A detach is carried out (by `detach`) before the answer goes out, so
/// that when fdetach returns the name is already free (no EBUSY for an
/// immediate fattach, EINVAL for an immediate second fdetach).
pub fn serve(conn: RawFd, door: RawFd, owner_uid: u32, detach: impl FnOnce()) {
    let mut h = Hdr::default();
    let mut iov = [libc::iovec {
        iov_base: (&mut h as *mut Hdr).cast(),
        iov_len: HDR_LEN,
    }];
    let Ok(mut r) = sys::recv_fds(conn, &mut iov, libc::MSG_DONTWAIT, true) else {
        return;
    };
    r.close_fds();
    let mut answer = Hdr::new(K_ANSWER, 0, 0, 0);
    let mut give: Vec<RawFd> = Vec::new();
    if r.len != HDR_LEN || h.magic != wire::MAGIC {
        answer.status = libc::EPROTO as u32;
    } else if h.kind == K_OPEN {
        give.push(door);
    } else if h.kind == K_DETACH {
        match sys::peer_cred(conn) {
            Ok(pc) if pc.uid == owner_uid || pc.uid == 0 => detach(),
            _ => answer.status = libc::EPERM as u32,
        }
    } else {
        answer.status = libc::EPROTO as u32;
    }
    let iov = [libc::iovec {
        iov_base: (&answer as *const Hdr) as *mut _,
        iov_len: HDR_LEN,
    }];
    let _ = sys::send_fds(conn, &iov, &give, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(checked_path(std::ptr::null()).err(), Some(libc::ENOENT));
        assert_eq!(checked_path(c"".as_ptr()).err(), Some(libc::ENOENT));
        let p = checked_path(c"rel/x".as_ptr()).unwrap();
        assert!(p.to_bytes().starts_with(b"/") && p.to_bytes().ends_with(b"/rel/x"));
        let long = std::ffi::CString::new(vec![b'a'; 5000]).unwrap();
        assert_eq!(checked_path(long.as_ptr()).err(), Some(libc::ENAMETOOLONG));
    }

    #[test]
    fn keys_name_the_file() {
        let dir = std::env::temp_dir().join(format!("libdoor-ut-{}", sys::getpid()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("k");
        std::fs::write(&f, b"x").unwrap();
        let c = std::ffi::CString::new(f.to_str().unwrap()).unwrap();
        let k1 = key_of_path(&c).unwrap();
        let file = std::fs::File::open(&f).unwrap();
        assert_eq!(
            key_of_fd(std::os::fd::AsRawFd::as_raw_fd(&file)).unwrap(),
            k1
        );
        assert!(rendezvous_name(&k1).len() < 107);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
