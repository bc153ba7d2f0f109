//! fattach/fdetach without a kernel mount.
//!
//! `fattach(fd, path)` leaves the covered file's contents and mode alone
//! and makes the calling process listen on an abstract SOCK_SEQPACKET
//! *rendezvous* named `ldoor1r:<128 random bits>`. The name is published
//! in the covered file's extended attribute `user.libdoor.rendezvous`, so
//! only users who may read the file learn it, and nobody can take it
//! first: it is chosen after the fact and at random. A client's plain
//! `open(path)` gives it a descriptor of the regular file (the file's
//! owner and mode decide who may open it); the first door operation on it
//! reads the name through that descriptor (`fgetxattr`), connects, checks
//! that the listener runs as the covered file's owner or root (nobody else
//! can intercept calls), and proves its right to the door by passing that
//! very descriptor (SCM_RIGHTS): the server hands out the door only for a
//! descriptor of the covered file (same device, inode and birth time)
//! opened for reading or writing, not `O_PATH`. The client then `dup3`s
//! the door over the caller's descriptor number.
//!
//! Where the file cannot carry the attribute (a filesystem without user
//! extended attributes, a device or fifo), the name falls back to one
//! derived from the file's identity (`wire::rdv_file_name`), which another
//! user can bind first: that blocks fattach (EBUSY) but still intercepts
//! nothing, as the owner check and the descriptor proof still hold.
//!
//! The rendezvous is served by the manager thread (`control.rs`), which
//! holds one reference to the door per attachment, as namefs does.

use crate::sys::OwnedFd;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, RawFd};

use super::control::Deadline;
use super::wire::{self, HDR_LEN, Hdr, K_ANSWER, K_DETACH, K_OPEN};
use crate::sys::{self, R};

/// The identity of a covered file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
    pub btime: (i64, u32),
    pub uid: u32,
}

impl FileKey {
    /// Same file (the owner may have changed since).
    pub fn same_file(&self, o: &FileKey) -> bool {
        self.dev == o.dev && self.ino == o.ino && self.btime == o.btime
    }
}

fn statx_key(dirfd: RawFd, path: &CStr, flags: i32) -> R<FileKey> {
    // SAFETY: statx is plain old data; zeroed is valid.
    let mut sx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated; sx is writable. The system call,
    // not libc's statx, which the preload library interposes.
    sys::cvt(unsafe {
        libc::syscall(
            libc::SYS_statx,
            dirfd,
            path.as_ptr(),
            flags,
            libc::STATX_BASIC_STATS | libc::STATX_BTIME,
            &mut sx,
        ) as libc::c_int
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

/// The fallback rendezvous name of a file that carries no attribute.
pub fn file_rendezvous_name(k: &FileKey) -> Vec<u8> {
    wire::rdv_file_name(k.dev, k.ino, k.btime)
}

/// `/proc/self/fd/N`: a path that reaches exactly the file `fd` names,
/// even when `fd` is an O_PATH descriptor (the *xattr calls need a path
/// or a descriptor open for I/O).
fn fd_path(fd: RawFd) -> std::ffi::CString {
    std::ffi::CString::new(format!("/proc/self/fd/{fd}")).unwrap_or_default()
}

/// The rendezvous name published on a file. ENODATA or ENOTSUP: none
/// there (the fallback name applies); EBADF for an O_PATH descriptor.
/// `by_path`: read through /proc/self/fd (an O_PATH descriptor of ours).
fn published_name(fd: RawFd, by_path: bool) -> R<Vec<u8>> {
    let mut buf = [0u8; 64];
    // The system calls, not libc's entries: a preloaded library (fakeroot)
    // may keep extended attributes of its own instead of the file's.
    let n = if by_path {
        let p = fd_path(fd);
        // SAFETY: p is NUL-terminated; buf is writable for its length.
        unsafe {
            libc::syscall(
                libc::SYS_getxattr,
                p.as_ptr(),
                wire::RDV_XATTR.as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        }
    } else {
        // SAFETY: as above, on a descriptor.
        unsafe {
            libc::syscall(
                libc::SYS_fgetxattr,
                fd,
                wire::RDV_XATTR.as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        }
    };
    if n < 0 {
        return Err(match sys::errno() {
            libc::EOPNOTSUPP => libc::ENOTSUP,
            e => e,
        });
    }
    // Anyone who may write the file may have written anything there.
    wire::check_rdv_name(&buf[..n as usize])
        .map(|b| b.to_vec())
        .ok_or(libc::EINVAL)
}

/// Publishes `name` on the covered file (an O_PATH descriptor of ours).
fn publish(covered: RawFd, name: &[u8]) -> R<()> {
    let p = fd_path(covered);
    // SAFETY: p and the attribute name are NUL-terminated; name is readable.
    // The system call, as in `published_name`.
    sys::cvt(unsafe {
        libc::syscall(
            libc::SYS_setxattr,
            p.as_ptr(),
            wire::RDV_XATTR.as_ptr(),
            name.as_ptr(),
            name.len(),
            0,
        ) as libc::c_int
    })
    .map(|_| ())
}

/// Removes the published name if it still is `name` (best effort: a file
/// we may no longer write keeps a stale name, which reaches nothing).
pub fn unpublish(covered: RawFd, name: &[u8]) {
    if published_name(covered, true).ok().as_deref() == Some(name) {
        let p = fd_path(covered);
        // SAFETY: both strings are NUL-terminated (the system call, as above).
        unsafe { libc::syscall(libc::SYS_removexattr, p.as_ptr(), wire::RDV_XATTR.as_ptr()) };
    }
}

/// The name a client of the file `fd` (its own descriptor, or ours when
/// `by_path`) should try: the published one, else the fallback (no
/// attribute, a filesystem or file type without user attributes, or one
/// this caller may not read). EBADF: an O_PATH descriptor.
fn rendezvous_of(fd: RawFd, k: &FileKey, by_path: bool) -> R<Vec<u8>> {
    match published_name(fd, by_path) {
        Ok(n) => Ok(n),
        Err(libc::EBADF) => Err(libc::EBADF),
        Err(_) => Ok(file_rendezvous_name(k)),
    }
}

/// Connects to the rendezvous `name`, checking that its listener runs as
/// the covered file's owner (`owner`) or as root: anyone else there is a
/// squatter (EACCES).
fn connect(name: &[u8], owner: u32, dl: &Deadline) -> R<OwnedFd> {
    let s = super::control::connect_until(name, dl)?;
    let pc = sys::peer_cred(s.as_raw_fd())?;
    if pc.uid != owner && pc.uid != 0 {
        return Err(libc::EACCES);
    }
    Ok(s)
}

/// One request on a rendezvous connection; the descriptors of the answer,
/// and the procedure and cookie if the answer told them.
#[allow(clippy::type_complexity)]
fn ask(
    s: &OwnedFd,
    kind: u32,
    proof: &[RawFd],
    dl: &Deadline,
) -> R<(Vec<RawFd>, Option<(u64, u64)>)> {
    let h = Hdr::new(kind, 0, 0, proof.len() as u32);
    let iov = [libc::iovec {
        iov_base: (&h as *const Hdr) as *mut _,
        iov_len: HDR_LEN,
    }];
    super::control::send_until(s.as_raw_fd(), &iov, proof, dl)?;
    let mut a = Hdr::default();
    let mut extra = [0u64; 2];
    let mut iov = [
        libc::iovec {
            iov_base: (&mut a as *mut Hdr).cast(),
            iov_len: HDR_LEN,
        },
        libc::iovec {
            iov_base: extra.as_mut_ptr().cast(),
            iov_len: 16,
        },
    ];
    let mut r = super::control::recv_until(s.as_raw_fd(), &mut iov, dl)?;
    if (r.len != HDR_LEN && r.len != HDR_LEN + 16) || r.truncated || a.check(K_ANSWER, 0).is_err() {
        r.close_fds();
        return Err(libc::EPROTO);
    }
    if a.status != 0 {
        r.close_fds();
        return Err(a.status as i32);
    }
    super::control::wait_closed_until(s.as_raw_fd(), dl);
    let told = (r.len == HDR_LEN + 16).then_some((extra[0], extra[1]));
    Ok((std::mem::take(&mut r.fds), told))
}

/// How long `resolve` waits for a rendezvous' answer.
const RESOLVE_MS: u64 = 500;

/// If `fd` is a descriptor of a file with a door attached, replaces it (same
/// number, same close-on-exec flag) by the door. Returns whether it did.
/// An O_PATH descriptor proves no right to open the file: it is never
/// resolved (door operations on it fail with EBADF, as on a non-door).
pub fn resolve(fd: RawFd) -> bool {
    // SAFETY: F_GETFL takes no pointer.
    let fl = unsafe { crate::sys::fcntl(fd, libc::F_GETFL, 0) };
    if fl < 0 || fl & libc::O_PATH != 0 {
        return false;
    }
    let Ok(k) = key_of_fd(fd) else { return false };
    let Ok(name) = rendezvous_of(fd, &k, false) else {
        return false;
    };
    // A rendezvous is the manager thread of its server, which answers at
    // once: a short bound, and none at all for a server process that
    // recently let one of our requests time out (control::recently_slow),
    // so that the owner of a file whose rendezvous never answers cannot
    // make every open of it wait.
    let dl = Deadline::after_ms(RESOLVE_MS);
    let Ok(s) = connect(&name, k.uid, &dl) else {
        return false;
    };
    let pid = sys::peer_cred(s.as_raw_fd()).map_or(0, |pc| pc.pid);
    if super::control::recently_slow(pid) {
        return false;
    }
    let (fds, told) = match ask(&s, K_OPEN, &[fd], &dl) {
        Ok(a) => a,
        Err(e) => {
            if e == libc::ETIMEDOUT {
                super::control::mark_slow(pid);
            }
            return false;
        }
    };
    if fds.len() != 1 {
        for f in fds {
            sys::close_received(f);
        }
        return false;
    }
    let door = fds[0];
    let id = super::client::identify_socket(door);
    let ok = id.is_ok();
    // Believe what the rendezvous told of the door only if it is the
    // door's own server (an attaching process may serve another's door).
    if let (Ok(id), Some((p, c))) = (&id, told)
        && !id.local
        && sys::peer_cred(s.as_raw_fd()).map(|pc| pc.pid) == Ok(id.name.pid)
    {
        super::client::remember(&id.name, p, c);
    }
    // SAFETY: F_GETFD takes no pointer.
    let cloexec = unsafe { crate::sys::fcntl(fd, libc::F_GETFD, 0) } & libc::FD_CLOEXEC != 0;
    let done = ok && {
        let flags = if cloexec { libc::O_CLOEXEC } else { 0 };
        // SAFETY: replacing the caller's descriptor with the door, which is
        // what the caller's descriptor now names.
        let r = unsafe { crate::sys::fdown::dup3_tracked(door, fd, flags) };
        r == fd
    };
    let _ = sys::close(door);
    done
}

/// Does the file `covered` (an O_PATH descriptor) carry a rendezvous name
/// whose listener is alive and runs as the file's owner or root? (The
/// preload library's `stat`; the name derived from a file without the
/// attribute is not tried.) Never waits: the connection is non-blocking,
/// and a listener whose backlog is full counts as not there, so whoever
/// may write the attribute cannot make a `stat` wait on a socket of theirs.
pub fn attached_alive(covered: RawFd) -> bool {
    let Ok(k) = key_of_fd(covered) else {
        return false;
    };
    let Ok(name) = published_name(covered, true) else {
        return false;
    };
    // SAFETY: plain socket creation.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return false;
    }
    let s = sys::own(fd);
    let (addr, len) = sys::abstract_addr(&name);
    // SAFETY: addr is a valid sockaddr_un of length len.
    let r = unsafe {
        libc::connect(
            s.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            len,
        )
    };
    r == 0 && sys::peer_cred(s.as_raw_fd()).is_ok_and(|pc| pc.uid == k.uid || pc.uid == 0)
}

/// Is something attached to the file (`covered`: our O_PATH descriptor)
/// and alive, served by its owner or root?
fn attached_elsewhere(covered: RawFd, k: &FileKey) -> bool {
    let dl = Deadline::after_ms(super::control::ANSWER_MS);
    let mut names = vec![file_rendezvous_name(k)];
    if let Ok(n) = published_name(covered, true) {
        names.push(n);
    }
    names.iter().any(|n| connect(n, k.uid, &dl).is_ok())
}

/// fattach (man/fattach.3c).
pub fn fattach(fd: RawFd, path: *const libc::c_char) -> R<()> {
    if !sys::fd_is_open(fd) {
        return Err(libc::EBADF);
    }
    let Ok(id) = super::client::identify(fd) else {
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
    // Hold the covered inode (O_PATH needs no permission on the file), and
    // make sure it is still the file we checked.
    // SAFETY: path is NUL-terminated; O_PATH opens nothing for I/O.
    let covered = sys::own(sys::cvt(unsafe {
        libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC)
    })?);
    if key_of_fd(covered.as_raw_fd()).ok() != Some(k) {
        return Err(libc::EBUSY); // replaced under us
    }
    // Something already attached and alive there: EBUSY.
    let ours = super::door::with_proc(|st| Ok(super::control::attached_here(st, &k)))?;
    if ours || attached_elsewhere(covered.as_raw_fd(), &k) {
        return Err(libc::EBUSY);
    }
    // The attachment holds a reference of its own, as namefs does.
    let dup = super::client::new_reference(fd, &id)?;
    // Our own copy of the covered descriptor, to publish the name through
    // once the attachment (which owns `covered`) is registered.
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument.
    let mine = sys::own(sys::cvt(unsafe {
        crate::sys::fcntl(covered.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0)
    })?);
    // A fresh random name. It is registered before it is published, so
    // that of two threads attaching the same file, the loser (EBUSY from
    // `attach`) never overwrites the winner's name.
    let rnd = wire::rdv_name([super::door::random_u64(), super::door::random_u64()]);
    let listener = super::control::listen_on(&rnd)?;
    super::door::with_proc(|st| {
        super::control::ensure_started(st)?;
        super::control::attach(st, &k, dup, covered, listener, rnd.clone())
    })?;
    if publish(mine.as_raw_fd(), &rnd).is_ok() {
        // Another process attaching at the same moment may have written
        // over it: the last writer has the name, the others fail.
        if published_name(mine.as_raw_fd(), true).ok().as_deref() == Some(&rnd[..]) {
            return Ok(());
        }
        super::control::detach_key(&k);
        return Err(libc::EBUSY);
    }
    // The file cannot carry the name: listen on the one derived from it.
    let derived = file_rendezvous_name(&k);
    let r =
        super::control::listen_on(&derived).and_then(|l| super::control::relisten(&k, l, derived));
    if r.is_err() {
        super::control::detach_key(&k);
    }
    r.map_err(|e| {
        if e == libc::EADDRINUSE {
            libc::EBUSY
        } else {
            e
        }
    })
}

/// fdetach (man/fdetach.3c).
pub fn fdetach(path: *const libc::c_char) -> R<()> {
    let path = checked_path(path)?;
    let k = key_of_path(&path)?;
    // Attached by this very process: detach here.
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    match super::door::with_proc(|st| Ok(super::control::attached_here(st, &k))) {
        Ok(true) if euid != 0 && euid != k.uid => return Err(libc::EPERM),
        Ok(true) => {
            return if super::control::detach_key(&k) {
                Ok(())
            } else {
                Err(libc::EINVAL)
            };
        }
        _ => {}
    }
    // SAFETY: path is NUL-terminated; O_PATH opens nothing for I/O.
    let covered = sys::own(sys::cvt(unsafe {
        libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC)
    })?);
    let name = match published_name(covered.as_raw_fd(), true) {
        Ok(n) => n,
        // Cannot read the attribute: only the owner or root could detach.
        Err(libc::EACCES) if euid != 0 && euid != k.uid => return Err(libc::EPERM),
        Err(_) => file_rendezvous_name(&k),
    };
    let dl = Deadline::after_ms(super::control::ANSWER_MS);
    let s = match connect(&name, k.uid, &dl) {
        Ok(s) => s,
        Err(libc::EINTR) => return Err(libc::EINTR),
        Err(_) => return Err(libc::EINVAL),
    };
    ask(&s, K_DETACH, &[], &dl).map(|_| ())
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

/// Does `fd` (a descriptor a rendezvous client passed) prove the right to
/// open the covered file `k`: a descriptor of that very file, opened for
/// reading or writing (not O_PATH)? Never blocks on the file's filesystem
/// (cached attributes only).
fn proves_access(fd: RawFd, k: &FileKey) -> bool {
    // SAFETY: F_GETFL takes no pointer.
    let fl = unsafe { crate::sys::fcntl(fd, libc::F_GETFL, 0) };
    if fl < 0 || fl & libc::O_PATH != 0 || fl & libc::O_ACCMODE == libc::O_ACCMODE {
        return false;
    }
    statx_key(fd, c"", libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC)
        .is_ok_and(|got| got.same_file(k))
}

/// The manager's side of a rendezvous connection: answer one request.
/// `key` is the covered file (its owner owns the attachment).
/// A detach is carried out (by `detach`) before the answer goes out, so
/// that when fdetach returns the name is already free (no EBUSY for an
/// immediate fattach, EINVAL for an immediate second fdetach).
/// `door` is the attachment's own end; `opener_end` makes an end of the
/// door for this opener (its euid given) alone, where it can (the door is
/// served here, and the opener's user holds few).
pub fn serve(
    conn: RawFd,
    door: RawFd,
    key: &FileKey,
    opener_end: impl FnOnce(u32) -> (Option<OwnedFd>, Option<(u64, u64)>),
    detach: impl FnOnce(),
) {
    let mut h = Hdr::default();
    let mut iov = [libc::iovec {
        iov_base: (&mut h as *mut Hdr).cast(),
        iov_len: HDR_LEN,
    }];
    let Ok(mut r) = sys::recv_fds(
        conn,
        &mut iov,
        libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC,
        false,
    ) else {
        return;
    };
    let mut answer = Hdr::new(K_ANSWER, 0, 0, 0);
    let mut give: Vec<RawFd> = Vec::new();
    let mut own = None;
    let mut told = None;
    if r.len != HDR_LEN || r.truncated || r.ctrunc || h.magic != wire::MAGIC {
        answer.status = libc::EPROTO as u32;
    } else if h.kind == K_OPEN {
        if r.fds.len() == 1 && proves_access(r.fds[0], key) {
            if let Ok(pc) = sys::peer_cred(conn) {
                (own, told) = opener_end(pc.uid);
            }
            give.push(own.as_ref().map_or(door, |e| e.as_raw_fd()));
        } else {
            answer.status = libc::EACCES as u32;
        }
    } else if h.kind == K_DETACH && r.fds.is_empty() {
        match sys::peer_cred(conn) {
            Ok(pc) if pc.uid == key.uid || pc.uid == 0 => detach(),
            _ => answer.status = libc::EPERM as u32,
        }
    } else {
        answer.status = libc::EPROTO as u32;
    }
    r.close_fds();
    // With the door, its procedure and cookie when this process serves it
    // (`wire::K_ANSWER`): the opener holds the door now.
    let extra: [u64; 2] = told.map_or([0, 0], |(p, c)| [p, c]);
    let iov = [
        libc::iovec {
            iov_base: (&answer as *const Hdr) as *mut _,
            iov_len: HDR_LEN,
        },
        libc::iovec {
            iov_base: extra.as_ptr() as *mut _,
            iov_len: if told.is_some() { 16 } else { 0 },
        },
    ];
    let _ = sys::send_fds(conn, &iov, &give, false);
    drop(own);
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
        assert!(file_rendezvous_name(&k1).len() < 107);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_an_opened_descriptor_of_the_file_proves_access() {
        let dir = std::env::temp_dir().join(format!("libdoor-ut-pa-{}", sys::getpid()));
        std::fs::create_dir_all(&dir).unwrap();
        let (f, g) = (dir.join("f"), dir.join("g"));
        std::fs::write(&f, b"x").unwrap();
        std::fs::write(&g, b"y").unwrap();
        let c = std::ffi::CString::new(f.to_str().unwrap()).unwrap();
        let k = key_of_path(&c).unwrap();
        let ro = std::fs::File::open(&f).unwrap();
        let wo = std::fs::OpenOptions::new().write(true).open(&f).unwrap();
        let other = std::fs::File::open(&g).unwrap();
        // SAFETY: c is NUL-terminated; O_PATH opens nothing for I/O.
        let opath = sys::own(unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) });
        assert!(proves_access(ro.as_raw_fd(), &k));
        assert!(proves_access(wo.as_raw_fd(), &k));
        assert!(!proves_access(other.as_raw_fd(), &k));
        assert!(!proves_access(opath.as_raw_fd(), &k));
        assert!(!proves_access(-1, &k));
        assert!(!resolve(opath.as_raw_fd()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
