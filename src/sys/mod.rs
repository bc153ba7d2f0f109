//! The syscall layer: thin, safe wrappers over `libc`, and the one place
//! where errno is written (`set_errno`). Everything returns `R<T>`, whose
//! error is a plain errno value.

pub mod creds;
pub mod doormap;
pub mod fault;
pub mod fdown;
pub mod fdwatch;
pub mod stack;
pub mod threads;

use std::mem::{MaybeUninit, size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};

/// An errno value.
pub type Errno = i32;
/// Result with an errno as the error.
pub type R<T> = Result<T, Errno>;

/// The only writer of errno in the library (ARCHITECTURE.md, Invariants).
pub fn set_errno(e: Errno) {
    // SAFETY: __errno_location always returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e }
}

/// Locks a mutex, ignoring poisoning (we never unwind: panic = abort).
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Reads this thread's errno.
pub fn errno() -> Errno {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() }
}

/// Maps a libc return value of -1 to `Err(errno)`.
pub fn cvt(r: libc::c_int) -> R<libc::c_int> {
    if r == -1 { Err(errno()) } else { Ok(r) }
}

/// A page that every fork child sees zeroed (MADV_WIPEONFORK), holding the
/// cached pid: no fork, however it is made, can leave a child with its
/// parent's pid (process_vm_* calls use it on our own memory).
fn pid_cell() -> Option<&'static std::sync::atomic::AtomicI32> {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let p = *PAGE.get_or_init(|| {
        // SAFETY: a fresh anonymous page; madvise on our own mapping.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return 0;
            }
            if libc::madvise(p, 4096, libc::MADV_WIPEONFORK) != 0 {
                libc::munmap(p, 4096);
                return 0;
            }
            p as usize
        }
    });
    // SAFETY: a live page, never unmapped, 4-aligned.
    (p != 0).then(|| unsafe { &*(p as *const std::sync::atomic::AtomicI32) })
}

/// This process's pid, cached (glibc's getpid is a system call).
pub fn getpid() -> i32 {
    let cell = pid_cell();
    if let Some(c) = cell {
        let p = c.load(std::sync::atomic::Ordering::Relaxed);
        if p != 0 {
            return p;
        }
    }
    // SAFETY: no preconditions.
    let p = unsafe { libc::getpid() };
    if let Some(c) = cell {
        c.store(p, std::sync::atomic::Ordering::Relaxed);
    }
    p
}

pub fn close(fd: RawFd) -> R<()> {
    // SAFETY: closing an integer fd has no memory-safety preconditions.
    cvt(unsafe { libc::close(fd) }).map(|_| ())
}

/// fcntl(2) by system call: libdoor's own descriptor work never goes
/// through an interposed `fcntl` (the preload library's turns F_DUPFD of a
/// door into a new reference, and may take libdoor's locks to do it).
/// Integer arguments only.
///
/// # Safety
/// `cmd` takes an integer argument (or none).
#[inline]
pub unsafe fn fcntl(fd: RawFd, cmd: libc::c_int, arg: libc::c_int) -> libc::c_int {
    // SAFETY: as the caller promises.
    unsafe { libc::syscall(libc::SYS_fcntl, fd, cmd, arg) as libc::c_int }
}

/// Is `fd` an open descriptor?
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD takes no pointer argument.
    fd >= 0 && unsafe { fcntl(fd, libc::F_GETFD, 0) } != -1
}

pub fn set_cloexec(fd: RawFd, on: bool) -> R<()> {
    // SAFETY: F_GETFD/F_SETFD take integer arguments only.
    let flags = cvt(unsafe { fcntl(fd, libc::F_GETFD, 0) })?;
    let new = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    cvt(unsafe { fcntl(fd, libc::F_SETFD, new) }).map(|_| ())
}

/// An AF_UNIX SOCK_SEQPACKET socket pair, close-on-exec.
pub fn seqpacket_pair() -> R<(OwnedFd, OwnedFd)> {
    let mut sv = [0 as RawFd; 2];
    // SAFETY: sv is a valid array of two ints.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            sv.as_mut_ptr(),
        )
    })?;
    // SAFETY: socketpair succeeded, so both are fresh descriptors we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) })
}

/// Builds a `sockaddr_un` for an abstract name (`name` without the leading NUL).
pub fn abstract_addr(name: &[u8]) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: sockaddr_un is plain old data; all-zero is valid.
    let mut a: libc::sockaddr_un = unsafe { zeroed() };
    a.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let n = name.len().min(a.sun_path.len() - 1);
    for (i, b) in name[..n].iter().enumerate() {
        a.sun_path[i + 1] = *b as libc::c_char;
    }
    let len = (size_of::<libc::sa_family_t>() + 1 + n) as libc::socklen_t;
    (a, len)
}

pub fn bind_abstract(fd: RawFd, name: &[u8]) -> R<()> {
    let (a, len) = abstract_addr(name);
    // SAFETY: a is a valid sockaddr_un of length len.
    cvt(unsafe { libc::bind(fd, &a as *const _ as *const libc::sockaddr, len) }).map(|_| ())
}

/// The abstract peer name of a connected AF_UNIX socket, without the
/// leading NUL. ENOTSOCK and friends are returned as they are.
pub fn peer_abstract_name(fd: RawFd, out: &mut [u8; 108]) -> R<usize> {
    // SAFETY: zeroed sockaddr_un is valid.
    let mut a: libc::sockaddr_un = unsafe { zeroed() };
    let mut len = size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: a/len describe a writable buffer of the right size.
    cvt(unsafe { libc::getpeername(fd, &mut a as *mut _ as *mut libc::sockaddr, &mut len) })?;
    if a.sun_family as i32 != libc::AF_UNIX {
        return Err(libc::ENOTSOCK);
    }
    let plen = (len as usize).saturating_sub(size_of::<libc::sa_family_t>());
    if plen < 1 || a.sun_path[0] != 0 {
        return Err(libc::EINVAL); // unnamed or a filesystem name: not ours
    }
    let n = plen - 1;
    for (o, c) in out.iter_mut().zip(&a.sun_path[1..=n]) {
        *o = *c as u8;
    }
    Ok(n)
}

/// Is the socket's own address unnamed (never bound, not autobound)? Every
/// door end a process holds is: the client side of a socket pair. A
/// connection accepted on a listener always carries the listener's name.
pub fn local_unnamed(fd: RawFd) -> bool {
    // SAFETY: zeroed sockaddr_un is valid.
    let mut a: libc::sockaddr_un = unsafe { zeroed() };
    let mut len = size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: a/len describe a writable buffer of the right size.
    let r = unsafe { libc::getsockname(fd, &mut a as *mut _ as *mut libc::sockaddr, &mut len) };
    r == 0 && a.sun_family as i32 == libc::AF_UNIX && len as usize == size_of::<libc::sa_family_t>()
}

/// SO_PEERCRED of a socket: pid, euid, egid of the peer (for a socketpair,
/// of the process that created the pair).
pub fn peer_cred(fd: RawFd) -> R<libc::ucred> {
    let mut c = MaybeUninit::<libc::ucred>::zeroed();
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: c/len describe a writable ucred.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            c.as_mut_ptr().cast(),
            &mut len,
        )
    })?;
    // SAFETY: zero-initialised and filled by the kernel.
    Ok(unsafe { c.assume_init() })
}

/// SO_PEERGROUPS: the supplementary groups of the peer's credentials.
pub fn peer_groups(fd: RawFd) -> R<Vec<u32>> {
    let mut v: Vec<u32> = vec![0; 64];
    loop {
        let mut len = (v.len() * 4) as libc::socklen_t;
        // SAFETY: v is a writable buffer of len bytes.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                v.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r == 0 {
            v.truncate(len as usize / 4);
            return Ok(v);
        }
        let e = errno();
        if e == libc::ERANGE && (len as usize) / 4 > v.len() {
            v.resize(len as usize / 4, 0);
            continue;
        }
        return Err(e);
    }
}

/// An integer SOL_SOCKET option of `fd`.
fn sockopt_int(fd: RawFd, opt: libc::c_int) -> R<libc::c_int> {
    let mut t: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: t/len describe a writable int.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut t as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(t)
}

/// Is `fd` a listening socket (SO_ACCEPTCONN)?
pub fn sock_listening(fd: RawFd) -> R<bool> {
    sockopt_int(fd, libc::SO_ACCEPTCONN).map(|t| t != 0)
}

pub fn sock_type(fd: RawFd) -> R<i32> {
    sockopt_int(fd, libc::SO_TYPE)
}

pub fn set_passcred(fd: RawFd) -> R<()> {
    passcred(fd, true)
}

/// SO_PASSCRED off again (a socket that sends with it on is autobound).
pub fn clear_passcred(fd: RawFd) -> R<()> {
    passcred(fd, false)
}

fn passcred(fd: RawFd, on: bool) -> R<()> {
    let one: libc::c_int = on as libc::c_int;
    // SAFETY: one is a readable int.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Sets SO_RCVTIMEO. A finite timeout also makes a caught signal end a
/// blocking receive with EINTR even under SA_RESTART (socket(7)).
pub fn set_rcvtimeo(fd: RawFd, secs: i64) {
    set_timeo(fd, libc::SO_RCVTIMEO, secs)
}

/// Sets SO_RCVTIMEO or SO_SNDTIMEO (the latter also bounds connect()).
pub fn set_timeo(fd: RawFd, opt: libc::c_int, secs: i64) {
    let tv = libc::timeval {
        tv_sec: secs,
        tv_usec: 0,
    };
    // SAFETY: tv is a readable timeval of the stated size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&tv as *const libc::timeval).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
}

/// Most descriptors we put in one message (the kernel's SCM_MAX_FD is 253).
pub const FDS_PER_MSG: usize = 250;
const CMSG_BUF: usize = 2048;

#[repr(C, align(8))]
struct CmsgBuf([u8; CMSG_BUF]);

/// Sends one message made of `iov` with `fds` attached (SCM_RIGHTS),
/// never raising SIGPIPE. Retries on EINTR only if `restart`.
pub fn send_fds(fd: RawFd, iov: &[libc::iovec], fds: &[RawFd], restart: bool) -> R<usize> {
    send_fds_flags(fd, iov, fds, restart, 0)
}

/// `send_fds` with extra `sendmsg` flags (MSG_DONTWAIT).
pub fn send_fds_flags(
    fd: RawFd,
    iov: &[libc::iovec],
    fds: &[RawFd],
    restart: bool,
    flags: i32,
) -> R<usize> {
    debug_assert!(fds.len() <= FDS_PER_MSG);
    let mut cbuf = CmsgBuf([0; CMSG_BUF]);
    // SAFETY: msghdr is plain old data.
    let mut m: libc::msghdr = unsafe { zeroed() };
    m.msg_iov = iov.as_ptr() as *mut libc::iovec;
    m.msg_iovlen = iov.len();
    if !fds.is_empty() {
        let bytes = std::mem::size_of_val(fds);
        // SAFETY: CMSG_SPACE is a pure computation.
        let space = unsafe { libc::CMSG_SPACE(bytes as u32) } as usize;
        m.msg_control = cbuf.0.as_mut_ptr().cast();
        m.msg_controllen = space;
        // SAFETY: msg_control points at a buffer large enough for one
        // cmsghdr carrying fds.len() ints (space <= CMSG_BUF as fds <= 250).
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&m);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(bytes as u32) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(c), bytes);
        }
    }
    loop {
        // SAFETY: m describes valid iovecs and control data.
        let r = unsafe { libc::sendmsg(fd, &m, libc::MSG_NOSIGNAL | flags) };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = errno();
        if e == libc::EINTR && restart {
            continue;
        }
        return Err(e);
    }
}

/// What `recv_fds` got.
pub struct Received {
    /// Bytes of payload.
    pub len: usize,
    /// Descriptors that arrived with it; the caller owns them.
    pub fds: Vec<RawFd>,
    /// SCM_CREDENTIALS, if the socket has SO_PASSCRED.
    pub cred: Option<libc::ucred>,
    /// MSG_TRUNC was set: payload was cut.
    pub truncated: bool,
    /// MSG_CTRUNC was set: descriptors were dropped (no room in our table,
    /// or more than the control buffer holds).
    pub ctrunc: bool,
}

impl Received {
    /// Closes every received descriptor (used when a message is rejected).
    pub fn close_fds(&mut self) {
        for fd in self.fds.drain(..) {
            close_received(fd);
        }
    }
}

/// Closes a descriptor a peer sent us and we do not keep. A socket's
/// SO_LINGER is turned off first: the peer chose it, and a lingering close
/// of the last reference would block this thread for as long as it said.
pub fn close_received(fd: RawFd) {
    let off = libc::linger {
        l_onoff: 0,
        l_linger: 0,
    };
    // SAFETY: setsockopt with a valid linger (fails harmlessly on a
    // descriptor that is not a socket).
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&off as *const libc::linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    let _ = close(fd);
}

/// Receives one message into `iov`, collecting descriptors and credentials.
/// `flags` may include MSG_DONTWAIT. Returns `Ok` with len 0 on EOF.
/// Received descriptors are close-on-exec from birth (MSG_CMSG_CLOEXEC,
/// always): one handed to the application loses the flag only then.
pub fn recv_fds(fd: RawFd, iov: &mut [libc::iovec], flags: i32, restart: bool) -> R<Received> {
    let mut cbuf = CmsgBuf([0; CMSG_BUF]);
    // SAFETY: msghdr is plain old data.
    let mut m: libc::msghdr = unsafe { zeroed() };
    m.msg_iov = iov.as_mut_ptr();
    m.msg_iovlen = iov.len();
    m.msg_control = cbuf.0.as_mut_ptr().cast();
    m.msg_controllen = CMSG_BUF;
    let len = loop {
        // SAFETY: m describes writable iovecs and a control buffer.
        let r = unsafe { libc::recvmsg(fd, &mut m, flags | libc::MSG_CMSG_CLOEXEC) };
        if r >= 0 {
            break r as usize;
        }
        let e = errno();
        if e == libc::EINTR && restart {
            continue;
        }
        return Err(e);
    };
    let mut out = Received {
        len,
        fds: Vec::new(),
        cred: None,
        truncated: m.msg_flags & libc::MSG_TRUNC != 0,
        ctrunc: m.msg_flags & libc::MSG_CTRUNC != 0,
    };
    // SAFETY: walking the control buffer the kernel filled, with the
    // CMSG_* macros that bound-check against msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&m);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            let dlen = (*c).cmsg_len as usize - (data as usize - c as usize);
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let n = dlen / size_of::<RawFd>();
                for i in 0..n {
                    out.fds
                        .push(std::ptr::read_unaligned(data.cast::<RawFd>().add(i)));
                }
            } else if (*c).cmsg_level == libc::SOL_SOCKET
                && (*c).cmsg_type == libc::SCM_CREDENTIALS
                && dlen >= size_of::<libc::ucred>()
            {
                out.cred = Some(std::ptr::read_unaligned(data.cast::<libc::ucred>()));
            }
            c = libc::CMSG_NXTHDR(&m, c);
        }
    }
    Ok(out)
}

/// Copies `len` bytes from the caller's address `src` into `dst`, failing
/// with EFAULT (instead of crashing) when the source is not readable.
pub fn copy_in_bytes(src: *const u8, dst: *mut u8, len: usize) -> R<()> {
    if len == 0 {
        return Ok(());
    }
    if on_own_stack(src as usize, len) {
        // SAFETY: the source is inside this thread's live stack.
        unsafe { std::ptr::copy_nonoverlapping(src, dst, len) };
        return Ok(());
    }
    if src.is_null() || (src as usize).checked_add(len).is_none() {
        return Err(libc::EFAULT);
    }
    if on_thread_stack()
        // SAFETY: dst holds len bytes of ours; src is the caller's
        // (checked by the fault-catching copy).
        && let Some(ok) = unsafe { crate::sys::fault::copy(dst, src, len) }
    {
        return if ok { Ok(()) } else { Err(libc::EFAULT) };
    }
    let local = libc::iovec {
        iov_base: dst.cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: src as *mut _,
        iov_len: len,
    };
    // SAFETY: process_vm_readv on ourselves checks the remote range and
    // writes only into `dst`, which the caller guarantees holds len bytes.
    let r = unsafe { libc::process_vm_readv(getpid(), &local, 1, &remote, 1, 0) };
    match r {
        -1 => Err(match errno() {
            libc::ENOSYS | libc::EPERM => return pipe_copy(src, dst, len),
            e => e,
        }),
        n if n as usize == len => Ok(()),
        _ => Err(libc::EFAULT),
    }
}

/// Where process_vm_readv/writev are unavailable (seccomp), copy through a
/// pipe: write() faults with EFAULT on an unreadable source and read() on
/// an unwritable destination, so neither end can crash us.
fn pipe_copy(src: *const u8, dst: *mut u8, len: usize) -> R<()> {
    let mut p = [0; 2];
    // SAFETY: p is a valid array of two ints.
    cvt(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
    let mut off = 0;
    let mut res = Ok(());
    while off < len {
        let n = (len - off).min(4096);
        // SAFETY: write() validates the source range itself.
        let w = unsafe { libc::write(p[1], src.add(off).cast(), n) };
        if w < 0 {
            res = Err(errno());
            break;
        }
        // SAFETY: read() into the caller's dst range.
        let r = unsafe { libc::read(p[0], dst.add(off).cast(), w as usize) };
        if r != w {
            res = Err(libc::EFAULT);
            break;
        }
        off += w as usize;
    }
    let _ = close(p[0]);
    let _ = close(p[1]);
    res
}

thread_local! {
    /// This thread's stack as (lowest, top) address (from
    /// pthread_getattr_np); (0, 0) if unknown, (MAX, MAX) before the first
    /// look.
    static STACK: std::cell::Cell<(usize, usize)> =
        const { std::cell::Cell::new((usize::MAX, usize::MAX)) };
}

fn stack_bounds() -> (usize, usize) {
    STACK
        .try_with(|c| {
            if c.get().0 == usize::MAX {
                // SAFETY: attr is initialised by pthread_getattr_np and destroyed.
                let b = unsafe {
                    let mut attr: libc::pthread_attr_t = zeroed();
                    if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
                        (0, 0)
                    } else {
                        let mut a: *mut libc::c_void = std::ptr::null_mut();
                        let mut n: usize = 0;
                        let r = libc::pthread_attr_getstack(&attr, &mut a, &mut n);
                        libc::pthread_attr_destroy(&mut attr);
                        if r == 0 {
                            (a as usize, a as usize + n)
                        } else {
                            (0, 0)
                        }
                    }
                };
                c.set(b);
            }
            c.get()
        })
        .unwrap_or((0, 0))
}

/// Is the calling thread running on its own stack (not on a fiber's stack
/// or an alternate signal stack)? Only there is a fault-catching copy used:
/// elsewhere the stack may have no room for a signal frame.
#[inline]
pub fn on_thread_stack() -> bool {
    let sp = stack_pointer();
    let (low, top) = stack_bounds();
    sp > low && sp < top
}

/// Is [p, p+len) inside the calling thread's live stack (above the current
/// stack pointer, which is on the thread's own stack)? Such memory is known
/// readable and writable, so it can be copied without a checked system
/// call.
#[inline]
pub fn on_own_stack(p: usize, len: usize) -> bool {
    let sp = stack_pointer();
    let (low, top) = stack_bounds();
    sp > low && sp < top && p >= sp && p.checked_add(len).is_some_and(|e| e <= top)
}

/// CLOCK_MONOTONIC in nanoseconds (vDSO, no system call).
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is writable (vDSO).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Reads a `T` from a caller-supplied pointer, EFAULT if unreadable.
pub fn copy_in<T: Copy>(src: *const T) -> R<T> {
    if on_own_stack(src as usize, size_of::<T>()) {
        // SAFETY: inside this thread's live stack (checked just above).
        return Ok(unsafe { std::ptr::read_unaligned(src) });
    }
    let mut v = MaybeUninit::<T>::uninit();
    copy_in_bytes(src.cast(), v.as_mut_ptr().cast(), size_of::<T>())?;
    // SAFETY: all size_of::<T>() bytes were written; T is a C struct of
    // integers and pointers, valid for any bit pattern.
    Ok(unsafe { v.assume_init() })
}

/// Writes `v` to a caller-supplied pointer, EFAULT if unwritable.
pub fn copy_out<T: Copy>(dst: *mut T, v: &T) -> R<()> {
    if on_own_stack(dst as usize, size_of::<T>()) {
        // SAFETY: inside this thread's live stack (checked just above).
        unsafe { std::ptr::write_unaligned(dst, *v) };
        return Ok(());
    }
    copy_out_bytes(dst.cast(), (v as *const T).cast(), size_of::<T>())
}

/// Copies `len` bytes from our `src` to the caller's address `dst`,
/// failing with EFAULT (instead of crashing) when `dst` is not writable.
pub fn copy_out_bytes(dst: *mut u8, src: *const u8, len: usize) -> R<()> {
    if len == 0 {
        return Ok(());
    }
    if on_own_stack(dst as usize, len) {
        // SAFETY: the destination is inside this thread's live stack.
        unsafe { std::ptr::copy(src, dst, len) };
        return Ok(());
    }
    if dst.is_null() || (dst as usize).checked_add(len).is_none() {
        return Err(libc::EFAULT);
    }
    if on_thread_stack()
        // SAFETY: src holds len bytes of ours; dst is the caller's
        // (checked by the fault-catching copy).
        && let Some(ok) = unsafe { crate::sys::fault::copy(dst, src, len) }
    {
        return if ok { Ok(()) } else { Err(libc::EFAULT) };
    }
    let local = libc::iovec {
        iov_base: src as *mut _,
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: dst.cast(),
        iov_len: len,
    };
    // SAFETY: process_vm_writev on ourselves checks the destination range
    // and reads only `src`, which holds len bytes.
    let r = unsafe { libc::process_vm_writev(getpid(), &local, 1, &remote, 1, 0) };
    match r {
        -1 if matches!(errno(), libc::ENOSYS | libc::EPERM) => pipe_copy(src, dst, len),
        n if n == len as isize => Ok(()),
        _ => Err(libc::EFAULT),
    }
}

/// A descriptor the library made or received for itself: registered with
/// `fdown` while it lives, and closed on drop only if the application has
/// not closed the number meanwhile (`fdown::close_own`).
#[derive(Debug)]
pub struct OwnedFd(RawFd);

impl OwnedFd {
    /// Keeps the descriptor as a bare number that stays registered: close
    /// it with `close_own`.
    pub fn keep(self) -> RawFd {
        let fd = self.0;
        std::mem::forget(self);
        fd
    }
}
impl Drop for OwnedFd {
    fn drop(&mut self) {
        crate::sys::fdown::close_own(self.0);
    }
}
impl AsRawFd for OwnedFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}
impl IntoRawFd for OwnedFd {
    /// Hands the descriptor out of the library (to the application), at
    /// the lowest free number, as a descriptor the kernel just made.
    fn into_raw_fd(self) -> RawFd {
        crate::sys::fdown::disown(self.0);
        lower(self.keep())
    }
}
impl FromRawFd for OwnedFd {
    /// Takes a descriptor the library made or received for itself, moved
    /// up to `FD_FLOOR` or above where the limit allows.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        let fd = lift(fd);
        crate::sys::fdown::register(fd);
        OwnedFd(fd)
    }
}

/// The library's own descriptors live at or above this number when the
/// descriptor limit allows, so that the application's descriptors take the
/// low numbers they would have on illumos, whose door library keeps none
/// (a first `door_create` returns 3, a first `open` after it 4).
pub const FD_FLOOR: RawFd = 256;

pub(crate) fn raw_close(fd: RawFd) {
    // SAFETY: the close system call on a descriptor we own, bypassing
    // libdoor's own close wrapper (nothing of the application's is closed).
    unsafe { libc::syscall(libc::SYS_close, fd) };
}

/// Moves `fd` to `FD_FLOOR` or above (close-on-exec), if it is below and
/// there is room; under a descriptor limit of 256 or less, to the upper
/// half of the table instead; otherwise leaves it.
fn lift(fd: RawFd) -> RawFd {
    if !(0..FD_FLOOR).contains(&fd) {
        return fd;
    }
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument.
    let mut n = unsafe { fcntl(fd, libc::F_DUPFD_CLOEXEC, FD_FLOOR) };
    if n < 0 && errno() == libc::EINVAL {
        // SAFETY: getrlimit into a local.
        let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0 {
            let half = (rl.rlim_cur / 2).min(FD_FLOOR as libc::rlim_t) as RawFd;
            if half > fd {
                // SAFETY: as above.
                n = unsafe { fcntl(fd, libc::F_DUPFD_CLOEXEC, half) };
            }
        }
    }
    if n < 0 {
        return fd;
    }
    raw_close(fd);
    n
}

/// Moves `fd` to the lowest free number if that is lower, keeping its
/// close-on-exec flag.
fn lower(fd: RawFd) -> RawFd {
    // SAFETY: F_GETFD/F_DUPFD take integer arguments.
    unsafe {
        let flags = fcntl(fd, libc::F_GETFD, 0);
        if flags < 0 {
            return fd;
        }
        let cmd = if flags & libc::FD_CLOEXEC != 0 {
            libc::F_DUPFD_CLOEXEC
        } else {
            libc::F_DUPFD
        };
        let n = fcntl(fd, cmd, 0);
        if n < 0 {
            return fd;
        }
        if n < fd {
            raw_close(fd);
            n
        } else {
            raw_close(n);
            fd
        }
    }
}

/// Descriptors the soft `RLIMIT_NOFILE` is raised by while a call at its
/// descriptor limit makes what it needs (`Headroom`).
const HEADROOM: libc::rlim_t = 16;

/// Who holds the raised limit: (holders, the soft and hard limits before,
/// the soft and hard limits set).
static HEADROOM_STATE: std::sync::Mutex<(usize, libc::rlimit, libc::rlimit)> =
    std::sync::Mutex::new((
        0,
        libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        },
        libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        },
    ));

/// A door call from a process with no free descriptor works on illumos
/// (the kernel needs none of the caller's). Here the reply channel, a
/// fast-path channel or the opening of an attached path need a few: while
/// a `Headroom` lives, the soft descriptor limit is `HEADROOM` above what
/// the application set, so the library's descriptors go above the
/// application's limit, where the application never sees them. The limit
/// is put back when the last holder goes (unless the application changed
/// it meanwhile). Fails (None) where the limit cannot be raised: no limit,
/// or the hard limit reached without the privilege to raise it.
pub struct Headroom(());

impl Headroom {
    pub fn raise() -> Option<Headroom> {
        let mut st = HEADROOM_STATE.lock().unwrap_or_else(|e| e.into_inner());
        if st.0 == 0 {
            // SAFETY: getrlimit/setrlimit with valid pointers to locals.
            unsafe {
                let mut old: libc::rlimit = zeroed();
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) != 0
                    || old.rlim_cur == libc::RLIM_INFINITY
                {
                    return None;
                }
                let cur = old.rlim_cur.saturating_add(HEADROOM);
                let new = libc::rlimit {
                    rlim_cur: cur,
                    rlim_max: old.rlim_max.max(cur),
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &new) != 0 {
                    return None;
                }
                st.1 = old;
                st.2 = new;
            }
        }
        st.0 += 1;
        Some(Headroom(()))
    }
}

impl Drop for Headroom {
    fn drop(&mut self) {
        let mut st = HEADROOM_STATE.lock().unwrap_or_else(|e| e.into_inner());
        st.0 -= 1;
        if st.0 == 0 {
            // SAFETY: getrlimit/setrlimit with valid pointers to locals.
            unsafe {
                let mut now: libc::rlimit = zeroed();
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut now) == 0
                    && now.rlim_cur == st.2.rlim_cur
                    && now.rlim_max == st.2.rlim_max
                {
                    libc::setrlimit(libc::RLIMIT_NOFILE, &st.1);
                }
            }
        }
    }
}

/// Runs `f`, and once more with `Headroom` if it failed for want of a free
/// descriptor (EMFILE).
pub fn with_headroom<T>(mut f: impl FnMut() -> R<T>) -> R<T> {
    match f() {
        Err(libc::EMFILE) => {}
        r => return r,
    }
    match Headroom::raise() {
        Some(_h) => f(),
        None => Err(libc::EMFILE),
    }
}

/// Has the process at least `n` free descriptor slots? (`fd`: any open
/// descriptor, duplicated to count.)
pub fn has_free_fds(fd: RawFd, n: usize) -> bool {
    let mut got = [-1 as RawFd; 4];
    let n = n.min(got.len());
    let mut ok = true;
    for g in got.iter_mut().take(n) {
        // SAFETY: F_DUPFD_CLOEXEC takes an integer argument.
        *g = unsafe { fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if *g < 0 {
            ok = errno() != libc::EMFILE;
            break;
        }
    }
    for &g in got.iter().filter(|&&g| g >= 0) {
        raw_close(g);
    }
    ok
}

/// A random 64-bit value from the kernel.
pub fn random_u64() -> u64 {
    let mut v = 0u64;
    loop {
        // SAFETY: v is 8 writable bytes.
        let r = unsafe { libc::getrandom((&mut v as *mut u64).cast(), 8, 0) };
        if r == 8 && v != 0 {
            return v;
        }
    }
}

/// The calling thread's id.
pub fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Accepts one connection on the listening socket `listener` (close-on-
/// exec, non-blocking), with its peer's kernel-attested credentials.
/// A process at its descriptor limit still takes the connection (above the
/// limit, `Headroom`); one that cannot (the hard limit, the system's table
/// full) waits 10 ms before its caller polls the listener again, instead of
/// spinning on a listener that stays readable.
pub fn accept_peer(listener: RawFd) -> Option<(OwnedFd, libc::ucred)> {
    let accept = || {
        // SAFETY: accept4 with no address output.
        unsafe {
            libc::accept4(
                listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            )
        }
    };
    let mut c = accept();
    if c < 0 && matches!(errno(), libc::EMFILE | libc::ENFILE) {
        if let Some(_h) = Headroom::raise() {
            c = accept();
        }
        if c < 0 && matches!(errno(), libc::EMFILE | libc::ENFILE) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    if c < 0 {
        return None;
    }
    let c = own(c);
    let pc = peer_cred(c.as_raw_fd()).ok()?;
    Some((c, pc))
}

/// Owns a raw descriptor number (made or received by the library).
pub fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: callers pass descriptors they exclusively own.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A private duplicate of `fd`, owned by the library (close-on-exec, at
/// `FD_FLOOR` or above where the limit allows): it names the same open file
/// whatever the application does with the number `fd` meanwhile.
pub fn dup_own(fd: RawFd) -> R<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument.
    let mut n = unsafe { fcntl(fd, libc::F_DUPFD_CLOEXEC, FD_FLOOR) };
    if n < 0 && errno() == libc::EINVAL {
        // SAFETY: as above (a descriptor limit of FD_FLOOR or less).
        n = unsafe { fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    }
    Ok(own(cvt(n)?))
}

/// Closes a descriptor kept with `OwnedFd::keep`, unless the application
/// closed that number meanwhile.
pub fn close_own(fd: RawFd) {
    crate::sys::fdown::close_own(fd);
}

#[cfg(test)]
pub fn raw(fd: &OwnedFd) -> RawFd {
    fd.as_raw_fd()
}

/// fstat, returning (st_mode, st_dev, st_ino, st_uid).
pub fn fstat(fd: RawFd) -> R<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: st is a writable struct stat. The system call, not libc's
    // fstat, which the preload library interposes.
    cvt(unsafe { libc::syscall(libc::SYS_fstat, fd, st.as_mut_ptr()) as libc::c_int })?;
    // SAFETY: filled by the kernel.
    Ok(unsafe { st.assume_init() })
}

/// Current stack pointer of the calling thread.
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register, touches no memory.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

// glibc functions and constants the libc crate does not bind for this target.
unsafe extern "C" {
    pub fn pthread_setcancelstate(state: libc::c_int, old: *mut libc::c_int) -> libc::c_int;
    pub fn pthread_setcanceltype(kind: libc::c_int, old: *mut libc::c_int) -> libc::c_int;
}
pub const PTHREAD_CANCEL_DISABLE: libc::c_int = 1;
pub const PTHREAD_CANCEL_DEFERRED: libc::c_int = 0;
pub const PTHREAD_CANCEL_ASYNCHRONOUS: libc::c_int = 1;
pub const FUTEX_WAIT_PRIVATE: libc::c_int = 128;
pub const FUTEX_WAKE_PRIVATE: libc::c_int = 129;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_in_faults_cleanly() {
        assert_eq!(copy_in::<u64>(std::ptr::null()), Err(libc::EFAULT));
        // SAFETY: a fresh inaccessible page, unmapped at the end.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        assert_eq!(copy_in::<u64>(p as *const u64), Err(libc::EFAULT));
        assert_eq!(copy_out::<u64>(p as *mut u64, &7), Err(libc::EFAULT));
        let v = 0x1234_5678_u64;
        assert_eq!(copy_in(&v as *const u64), Ok(v));
        let mut w = 0u64;
        assert_eq!(copy_out(&mut w as *mut u64, &v), Ok(()));
        assert_eq!(w, v);
        // SAFETY: unmapping our own mapping.
        unsafe { libc::munmap(p, 4096) };
    }

    #[test]
    fn pipe_copy_checks_both_ends() {
        let src = [1u8, 2, 3, 4];
        let mut dst = [0u8; 4];
        assert_eq!(pipe_copy(src.as_ptr(), dst.as_mut_ptr(), 4), Ok(()));
        assert_eq!(dst, src);
        assert_eq!(
            pipe_copy(std::ptr::null(), dst.as_mut_ptr(), 4),
            Err(libc::EFAULT)
        );
    }

    #[test]
    fn fds_travel_and_truncation_is_reported() {
        let (a, b) = seqpacket_pair().unwrap();
        let (x, _y) = seqpacket_pair().unwrap();
        let msg = [9u8; 8];
        let iov = [libc::iovec {
            iov_base: msg.as_ptr() as *mut _,
            iov_len: 8,
        }];
        send_fds(raw(&a), &iov, &[raw(&x)], true).unwrap();
        let mut buf = [0u8; 4];
        let mut riov = [libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: 4,
        }];
        let mut r = recv_fds(raw(&b), &mut riov, 0, true).unwrap();
        assert!(r.truncated);
        assert_eq!(r.fds.len(), 1);
        assert_eq!(sock_type(r.fds[0]), Ok(libc::SOCK_SEQPACKET));
        r.close_fds();
        assert!(r.fds.is_empty());
    }
}
