//! How a file names the door attached to it (fattach, fdetach), for both
//! backends: there is no kernel mount.
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
//! the door over the caller's descriptor number (`fetch`, `install`).
//!
//! Where the file cannot carry the attribute (a filesystem without user
//! extended attributes, a device or fifo), the name falls back to one
//! derived from the file's identity (`rdv_file_name`), which another
//! user can bind first: that blocks fattach (EBUSY) but still intercepts
//! nothing, as the owner check and the descriptor proof still hold.
//!
//! What the rendezvous hands out is the backend's business: the userspace
//! backend's manager thread (`user/control.rs`) gives each opener an end
//! of its own; the kernel backend's rendezvous thread (`kernel/attach.rs`)
//! gives the door file itself. Either way the attachment holds one
//! reference to the door, as namefs does. This module also has the
//! bounded socket operations (`Deadline`) both use for it, and the message
//! header the userspace backend's wire protocol shares.

use crate::sys::OwnedFd;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, RawFd};

use crate::sys::{self, R};

// ---------------------------------------------------------------------
// Names and messages

/// Prefix of an fattach rendezvous name: `ldoor1r:` and 32 hex digits of
/// randomness chosen by the attaching process.
pub const RDV_PREFIX: &[u8] = b"ldoor1r:";
/// Prefix of the fallback rendezvous name, derived from the covered file's
/// identity, used only where the file cannot carry `RDV_XATTR`.
pub const RDV_FILE_PREFIX: &[u8] = b"ldoor1a:";
/// The extended attribute of a covered file that holds its rendezvous name.
pub const RDV_XATTR: &std::ffi::CStr = c"user.libdoor.rendezvous";
/// Length of a random rendezvous name.
pub const RDV_LEN: usize = 8 + 32;

/// A random rendezvous name (`RDV_PREFIX` + 32 hex digits).
pub fn rdv_name(r: [u64; 2]) -> Vec<u8> {
    let mut v = Vec::with_capacity(RDV_LEN);
    v.extend_from_slice(RDV_PREFIX);
    hex(&mut v, r[0], 16);
    hex(&mut v, r[1], 16);
    v
}

/// Validates a rendezvous name read from a covered file's attribute (any
/// user who may write the file may have put anything there).
pub fn check_rdv_name(s: &[u8]) -> Option<&[u8]> {
    let rest = s.strip_prefix(RDV_PREFIX)?;
    (rest.len() == 32 && rest.chunks(16).all(|c| unhex(c).is_some())).then_some(s)
}

/// The fallback rendezvous name of a file: (st_dev, st_ino, birth time).
pub fn rdv_file_name(dev: u64, ino: u64, btime: (i64, u32)) -> Vec<u8> {
    let mut v = RDV_FILE_PREFIX.to_vec();
    v.extend_from_slice(format!("{dev:x}:{ino:x}:{:x}.{:x}", btime.0, btime.1).as_bytes());
    v
}

/// Lower-case hexadecimal digits of `v`, `digits` of them.
pub fn hex(out: &mut Vec<u8>, v: u64, digits: usize) {
    for i in (0..digits).rev() {
        let d = ((v >> (i * 4)) & 0xf) as u8;
        out.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
    }
}

/// The value of up to 16 lower-case hexadecimal digits.
pub fn unhex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut v = 0u64;
    for &c in s {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | d as u64;
    }
    Some(v)
}

pub const MAGIC: u32 = 0x444f_4f52; // "DOOR"

/// The fixed header at the start of every first message.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Hdr {
    pub magic: u32,
    pub kind: u32,
    /// CALL: flags; REPLY: 0 or an errno.
    pub status: u32,
    pub ndesc: u32,
    pub size: u64,
    pub aux: u64,
}
pub const HDR_LEN: usize = core::mem::size_of::<Hdr>();
const _: () = assert!(HDR_LEN == 32);

impl Hdr {
    pub fn new(kind: u32, status: u32, size: u64, ndesc: u32) -> Hdr {
        Hdr {
            magic: MAGIC,
            kind,
            status,
            ndesc,
            size,
            aux: 0,
        }
    }

    /// Validates a header received from a peer.
    pub fn check(&self, kind: u32, max_size: u64) -> R<()> {
        if self.magic != MAGIC
            || self.kind != kind
            || self.size > max_size
            || self.ndesc as usize > crate::abi::DOOR_MAX_DESC
        {
            return Err(libc::EPROTO);
        }
        Ok(())
    }
}

/// Rendezvous request: give me the door. Carries exactly one descriptor,
/// the asker's own descriptor of the covered file, opened for reading or
/// writing: the proof that it may open the file.
pub const K_OPEN: u32 = 10;
/// Rendezvous request: detach (the asker must be the owner or root).
pub const K_DETACH: u32 = 11;
/// Rendezvous answer: `status` 0 and the door (K_OPEN), or an errno. A
/// door's answer from its own server is followed by the door's procedure
/// and cookie (two u64s, 16 bytes): the opener holds the door now.
pub const K_ANSWER: u32 = 12;

// ---------------------------------------------------------------------
// Bounded socket operations

/// How long a client waits for the answer of a manager or rendezvous.
pub const ANSWER_MS: u64 = 1000;

/// A listening rendezvous or control socket bound to `name`.
pub fn listen_on(name: &[u8]) -> R<OwnedFd> {
    // SAFETY: plain socket creation.
    let s = sys::own(sys::cvt(unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })?);
    sys::bind_abstract(s.as_raw_fd(), name)?;
    // SAFETY: listen on our own socket.
    sys::cvt(unsafe { libc::listen(s.as_raw_fd(), libc::SOMAXCONN) })?;
    Ok(s)
}

/// A point in time (`sys::now_ns`) by which a peer must have answered.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(u64);

impl Deadline {
    pub fn after_ms(ms: u64) -> Deadline {
        Deadline(sys::now_ns() + ms * 1_000_000)
    }

    /// The earlier of two deadlines.
    pub fn min(self, o: Deadline) -> Deadline {
        Deadline(self.0.min(o.0))
    }

    /// Milliseconds left (rounded up; 0 once passed).
    pub fn left_ms(&self) -> i32 {
        let now = sys::now_ns();
        if now >= self.0 {
            0
        } else {
            ((self.0 - now).div_ceil(1_000_000)).min(i32::MAX as u64) as i32
        }
    }
}

/// SO_SNDTIMEO (which also bounds connect) in milliseconds, at least 1
/// (0 would mean forever).
fn set_send_timeout(fd: RawFd, ms: i32) {
    let ms = ms.max(1) as i64;
    let tv = libc::timeval {
        tv_sec: ms / 1000,
        tv_usec: (ms % 1000) * 1000,
    };
    // SAFETY: tv is a readable timeval of the stated size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&tv as *const libc::timeval).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
}

/// Connects to the abstract `name` by the deadline. ETIMEDOUT when the
/// listener's backlog stays full; EINTR when a signal is caught (a finite
/// socket timeout makes the kernel report it even under SA_RESTART).
pub fn connect_until(name: &[u8], dl: &Deadline) -> R<OwnedFd> {
    // SAFETY: plain socket creation.
    let s = sys::own(sys::cvt(unsafe {
        libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0)
    })?);
    let left = dl.left_ms();
    if left == 0 {
        return Err(libc::ETIMEDOUT);
    }
    set_send_timeout(s.as_raw_fd(), left);
    let (addr, len) = sys::abstract_addr(name);
    // SAFETY: addr is a valid sockaddr_un of length len.
    match sys::cvt(unsafe {
        libc::connect(
            s.as_raw_fd(),
            &addr as *const _ as *const libc::sockaddr,
            len,
        )
    }) {
        Ok(_) => Ok(s),
        Err(libc::EAGAIN) => Err(libc::ETIMEDOUT),
        Err(e) => Err(e),
    }
}

/// Sends one request (with `fds`) by the deadline.
pub fn send_until(s: RawFd, iov: &[libc::iovec], fds: &[RawFd], dl: &Deadline) -> R<()> {
    let left = dl.left_ms();
    if left == 0 {
        return Err(libc::ETIMEDOUT);
    }
    set_send_timeout(s, left);
    match sys::send_fds(s, iov, fds, false) {
        Ok(_) => Ok(()),
        Err(libc::EAGAIN) => Err(libc::ETIMEDOUT),
        Err(e) => Err(e),
    }
}

/// Waits for `s` to become readable by the deadline: ETIMEDOUT, or EINTR
/// when a signal is caught (poll is never restarted).
pub fn poll_in(s: RawFd, dl: &Deadline) -> R<()> {
    let mut p = libc::pollfd {
        fd: s,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    match unsafe { libc::poll(&mut p, 1, dl.left_ms()) } {
        0 => Err(libc::ETIMEDOUT),
        r if r < 0 => Err(sys::errno()),
        _ => Ok(()),
    }
}

/// Receives the one answer by the deadline (descriptors close-on-exec).
pub fn recv_until(s: RawFd, iov: &mut [libc::iovec], dl: &Deadline) -> R<sys::Received> {
    loop {
        poll_in(s, dl)?;
        match sys::recv_fds(s, iov, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC, false) {
            Err(libc::EAGAIN) => continue,
            r => return r,
        }
    }
}

/// How long a client waits, once a peer has answered, for it to close the
/// connection (on top of what is left of the request's deadline).
const CLOSE_MS: u64 = 500;

/// Waits (by the deadline, or `CLOSE_MS` from now if that is later) until
/// the other side has closed the connection, so that when a request
/// returns, the server holds no descriptor for it any more (a caller
/// counting descriptors sees none).
pub fn wait_closed_until(s: RawFd, dl: &Deadline) {
    let min = Deadline::after_ms(CLOSE_MS);
    let dl = &Deadline(dl.0.max(min.0));
    let mut b = [0u8; 16];
    loop {
        // SAFETY: b is a writable buffer.
        let r = unsafe { libc::recv(s, b.as_mut_ptr().cast(), b.len(), libc::MSG_DONTWAIT) };
        if r > 0 {
            continue;
        }
        if r == 0 || sys::errno() != libc::EAGAIN || poll_in(s, dl).is_err() {
            return;
        }
    }
}

/// Server processes (by pid: kernel-attested, so a peer cannot vary it
/// as freely as the names it binds) whose manager or rendezvous recently
/// let a request of this process time out, with when that stops counting
/// (seconds of the monotonic clock): their next requests fail at once, so
/// many doors of one unresponsive process (a hostile one that named
/// sockets like doors, or a stopped one) cost one deadline, not one each.
/// Process-wide and lock-free (usable in a fork child and from any
/// thread): each slot is pid << 32 | until.
static SLOW: [std::sync::atomic::AtomicU64; SLOW_SLOTS] =
    [const { std::sync::atomic::AtomicU64::new(0) }; SLOW_SLOTS];
const SLOW_SLOTS: usize = 64;
const SLOW_S: u64 = 5;

fn now_s() -> u64 {
    sys::now_ns() / 1_000_000_000
}

/// Did the server process `pid` recently fail to answer in time?
pub fn recently_slow(pid: i32) -> bool {
    let now = now_s();
    SLOW.iter().any(|e| {
        let v = e.load(std::sync::atomic::Ordering::Relaxed);
        (v >> 32) as u32 == pid as u32 && now < (v & 0xffff_ffff)
    })
}

/// Notes that the server process `pid` did not answer in time.
pub fn mark_slow(pid: i32) {
    use std::sync::atomic::Ordering::Relaxed;
    let until = (now_s() + SLOW_S) & 0xffff_ffff;
    let v = (pid as u32 as u64) << 32 | until;
    // Its own slot if it has one, else the one that expires first.
    let i = SLOW
        .iter()
        .position(|e| (e.load(Relaxed) >> 32) as u32 == pid as u32)
        .unwrap_or_else(|| {
            (0..SLOW_SLOTS)
                .min_by_key(|&i| SLOW[i].load(Relaxed) & 0xffff_ffff)
                .unwrap_or(0)
        });
    SLOW[i].store(v, Relaxed);
}

// ---------------------------------------------------------------------
// Covered files

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
    rdv_file_name(k.dev, k.ino, k.btime)
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
                RDV_XATTR.as_ptr(),
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
                RDV_XATTR.as_ptr(),
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
    check_rdv_name(&buf[..n as usize])
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
            RDV_XATTR.as_ptr(),
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
        unsafe { libc::syscall(libc::SYS_removexattr, p.as_ptr(), RDV_XATTR.as_ptr()) };
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
    let s = connect_until(name, dl)?;
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
    send_until(s.as_raw_fd(), &iov, proof, dl)?;
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
    let mut r = recv_until(s.as_raw_fd(), &mut iov, dl)?;
    if (r.len != HDR_LEN && r.len != HDR_LEN + 16) || r.truncated || a.check(K_ANSWER, 0).is_err() {
        r.close_fds();
        return Err(libc::EPROTO);
    }
    if a.status != 0 {
        r.close_fds();
        return Err(a.status as i32);
    }
    wait_closed_until(s.as_raw_fd(), dl);
    let told = (r.len == HDR_LEN + 16).then_some((extra[0], extra[1]));
    Ok((std::mem::take(&mut r.fds), told))
}

/// How long `resolve` waits for a rendezvous' answer.
const RESOLVE_MS: u64 = 500;

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

/// Does the file `fd` carry a rendezvous name? (One `fgetxattr` that
/// reads nothing.)
pub fn has_name(fd: RawFd) -> bool {
    // SAFETY: a size query: NULL buffer of length 0 (the system call, not
    // another preload's fgetxattr).
    unsafe {
        libc::syscall(
            libc::SYS_fgetxattr,
            fd,
            RDV_XATTR.as_ptr(),
            std::ptr::null_mut::<libc::c_void>(),
            0usize,
        ) > 0
    }
}

/// Is the file at `path` (relative to `dirfd`, symbolic links followed
/// unless `nofollow`) an attached name whose door is alive, served by the
/// file's owner or root?
pub fn path_attached(dirfd: RawFd, path: &std::ffi::CStr, nofollow: bool) -> bool {
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if nofollow {
        flags |= libc::O_NOFOLLOW;
    }
    // SAFETY: the openat system call (not the interposed libc entry: this
    // runs inside the preload library's stat) on a NUL-terminated path.
    let fd = unsafe { libc::syscall(libc::SYS_openat, dirfd, path.as_ptr(), flags, 0) } as RawFd;
    if fd < 0 {
        return false;
    }
    let f = sys::own(fd);
    attached_alive(f.as_raw_fd())
}

/// Is something attached to the file (`covered`: our O_PATH descriptor)
/// and alive, served by its owner or root?
fn attached_elsewhere(covered: RawFd, k: &FileKey) -> bool {
    let dl = Deadline::after_ms(ANSWER_MS);
    let mut names = vec![file_rendezvous_name(k)];
    if let Ok(n) = published_name(covered, true) {
        names.push(n);
    }
    names.iter().any(|n| connect(n, k.uid, &dl).is_ok())
}

/// NULL or empty → ENOENT; relative → absolute (ENAMETOOLONG past PATH_MAX).
pub fn checked_path(path: *const libc::c_char) -> R<std::ffi::CString> {
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
    if r.len != HDR_LEN || r.truncated || r.ctrunc || h.magic != MAGIC {
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
    // (`K_ANSWER`): the opener holds the door now.
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

/// A fresh random rendezvous name.
pub fn random_name() -> Vec<u8> {
    rdv_name([sys::random_u64(), sys::random_u64()])
}

/// fattach's checks of `path`, in illumos's order, once the caller has
/// checked the descriptor (EBADF, EINVAL): the absolute path, the covered
/// file's identity, and an O_PATH descriptor that holds its inode.
pub fn target(path: *const libc::c_char) -> R<(CString, FileKey, OwnedFd)> {
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
    Ok((path, k, covered))
}

/// Is a door already attached to the file (`covered`, ours), alive and
/// served by the file's owner or root, by another process?
pub fn busy_elsewhere(covered: &OwnedFd, k: &FileKey) -> bool {
    attached_elsewhere(covered.as_raw_fd(), k)
}

/// The last step of fattach, once the attachment is registered under the
/// random name `rnd` and its listener runs: publish the name on the file
/// (`mine`: our O_PATH descriptor of it). Where the file cannot carry it,
/// `relisten` moves the attachment to the name derived from the file.
/// On failure the attachment is undone with `detach`.
pub fn publish_attachment(
    mine: &OwnedFd,
    k: &FileKey,
    rnd: &[u8],
    detach: impl Fn(),
    relisten: impl FnOnce(OwnedFd, Vec<u8>) -> R<()>,
) -> R<()> {
    if publish(mine.as_raw_fd(), rnd).is_ok() {
        // Another process attaching at the same moment may have written
        // over it: the last writer has the name, the others fail.
        if published_name(mine.as_raw_fd(), true).ok().as_deref() == Some(rnd) {
            return Ok(());
        }
        detach();
        return Err(libc::EBUSY);
    }
    // The file cannot carry the name: listen on the one derived from it.
    let derived = file_rendezvous_name(k);
    let r = listen_on(&derived).and_then(|l| relisten(l, derived));
    if r.is_err() {
        detach();
    }
    r.map_err(|e| {
        if e == libc::EADDRINUSE {
            libc::EBUSY
        } else {
            e
        }
    })
}

/// fdetach (man/fdetach.3c): an attachment of this process
/// (`attached_here`) is ended in place by `detach_here` (whether it still
/// was), one of another process through its rendezvous.
pub fn fdetach(
    path: *const libc::c_char,
    attached_here: impl Fn(&FileKey) -> bool,
    detach_here: impl Fn(&FileKey) -> bool,
) -> R<()> {
    let path = checked_path(path)?;
    let k = key_of_path(&path)?;
    if attached_here(&k) {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 && euid != k.uid {
            return Err(libc::EPERM);
        }
        return if detach_here(&k) {
            Ok(())
        } else {
            Err(libc::EINVAL)
        };
    }
    detach_remote(&path, &k)
}

/// fdetach of a file attached by another process: ask its rendezvous.
fn detach_remote(path: &CStr, k: &FileKey) -> R<()> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    // SAFETY: path is NUL-terminated; O_PATH opens nothing for I/O.
    let covered = sys::own(sys::cvt(unsafe {
        libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC)
    })?);
    let name = match published_name(covered.as_raw_fd(), true) {
        Ok(n) => n,
        // Cannot read the attribute: only the owner or root could detach.
        Err(libc::EACCES) if euid != 0 && euid != k.uid => return Err(libc::EPERM),
        Err(_) => file_rendezvous_name(k),
    };
    let dl = Deadline::after_ms(ANSWER_MS);
    let s = match connect(&name, k.uid, &dl) {
        Ok(s) => s,
        Err(libc::EINTR) => return Err(libc::EINTR),
        Err(_) => return Err(libc::EINVAL),
    };
    match ask(&s, K_DETACH, &[], &dl) {
        Ok(_) => Ok(()),
        // The rendezvous went away under us: nothing is attached any more.
        Err(libc::ECONNRESET | libc::EPIPE | libc::EPROTO | libc::ECONNREFUSED) => {
            Err(libc::EINVAL)
        }
        Err(e) => Err(e),
    }
}

/// What a rendezvous handed a client for its descriptor of the file.
pub struct Fetched {
    /// The one descriptor it gave (received, close-on-exec).
    pub door: RawFd,
    /// The door's procedure and cookie, if the rendezvous told them.
    pub told: Option<(u64, u64)>,
    /// The rendezvous' process (kernel-attested).
    pub pid: i32,
}

/// Asks the rendezvous of the file `fd` (the caller's descriptor, not
/// O_PATH) for its door; None when the file has no live rendezvous of its
/// owner or root, or it refused (`fd` proves no access), or did not
/// answer in time.
pub fn fetch(fd: RawFd) -> Option<Fetched> {
    // SAFETY: F_GETFL takes no pointer.
    let fl = unsafe { crate::sys::fcntl(fd, libc::F_GETFL, 0) };
    if fl < 0 || fl & libc::O_PATH != 0 {
        return None;
    }
    let k = key_of_fd(fd).ok()?;
    let name = rendezvous_of(fd, &k, false).ok()?;
    // A rendezvous answers at once: a short bound, and none at all for a
    // server process that recently let one of our requests time out
    // (`recently_slow`), so that the owner of a file whose rendezvous
    // never answers cannot make every open of it wait.
    let dl = Deadline::after_ms(RESOLVE_MS);
    let s = connect(&name, k.uid, &dl).ok()?;
    let pid = sys::peer_cred(s.as_raw_fd()).map_or(0, |pc| pc.pid);
    if recently_slow(pid) {
        return None;
    }
    let (fds, told) = match ask(&s, K_OPEN, &[fd], &dl) {
        Ok(a) => a,
        Err(e) => {
            if e == libc::ETIMEDOUT {
                mark_slow(pid);
            }
            return None;
        }
    };
    if fds.len() != 1 {
        for f in fds {
            sys::close_received(f);
        }
        return None;
    }
    Some(Fetched {
        door: fds[0],
        told,
        pid,
    })
}

/// Puts the door `door` at the caller's number `fd` (keeping its
/// close-on-exec flag) and closes `door`; whether `fd` is the door now.
pub fn install(door: RawFd, fd: RawFd, ok: bool) -> bool {
    // SAFETY: F_GETFD takes no pointer.
    let cloexec = unsafe { crate::sys::fcntl(fd, libc::F_GETFD, 0) } & libc::FD_CLOEXEC != 0;
    let done = ok && {
        let flags = if cloexec { libc::O_CLOEXEC } else { 0 };
        // SAFETY: replacing the caller's descriptor with the door, which is
        // what the caller's descriptor now names.
        let r = unsafe { crate::sys::fdown::dup3_tracked(door, fd, flags) };
        r == fd
    };
    if done {
        let _ = sys::close(door);
    } else {
        // Not a door: whatever the file's owner sent, its last reference
        // may be this one (a lingering socket must not block the caller).
        sys::close_received(door);
    }
    done
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
        assert!(fetch(opath.as_raw_fd()).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
