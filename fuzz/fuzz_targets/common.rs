//! Shared by the fuzz targets: the library's C entry points, the input
//! script format, descriptor makers, message I/O with deadlines and the
//! descriptor-leak check.
//!
//! Input script (every target): a few configuration bytes, then messages,
//! each `[ctl: u8][len: u16 little-endian][len bytes]` (a short last
//! message takes what is left). `ctl` says where the message goes and
//! which descriptors ride with it:
//!   bits 0-2  descriptor kind (see `FdKind`; memfd kinds take their
//!             size and content from the message, see `Msg::parts`)
//!   bit 3     the target's special descriptor goes first (the server
//!             target's reply channel, the control target's second door)
//!   bits 4-5  destination (target-specific)
//!   bit 6     two descriptors of the kind instead of one
//!   bit 7     the bytes sent are the message's bytes repeated 1024 times
//! The seeds are real traffic written in this format (`seeds` target).
#![allow(dead_code)]

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

pub use door::abi::*;

unsafe extern "C" {
    pub fn door_create(
        proc_: Option<door_server_procedure_t>,
        cookie: *mut libc::c_void,
        attrs: u32,
    ) -> i32;
    pub fn door_call(d: i32, params: *mut door_arg_t) -> i32;
    pub fn door_return(data: *mut u8, size: usize, desc: *mut door_desc_t, n: u32) -> i32;
    pub fn door_info(d: i32, info: *mut door_info_t) -> i32;
    pub fn door_getparam(d: i32, param: i32, out: *mut usize) -> i32;
    pub fn door_setparam(d: i32, param: i32, val: usize) -> i32;
    pub fn door_revoke(d: i32) -> i32;
    pub fn fattach(d: i32, path: *const libc::c_char) -> i32;
    pub fn fdetach(path: *const libc::c_char) -> i32;
}

/// Makes sure the library's rlib (and so its exported C symbols) is linked.
pub fn link_library() {
    let _ = core::mem::size_of::<door::abi::door_arg_t>();
}

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Reports a failed check and aborts (libFuzzer then saves the input).
/// With LIBDOOR_FUZZ_LOG=<file> the message is also appended there (in
/// `-fork` mode the jobs' own output is not kept).
pub fn die(what: &str) -> ! {
    eprintln!("libdoor-fuzz: {what}");
    if let Some(p) = std::env::var_os("LIBDOOR_FUZZ_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
        {
            let _ = writeln!(f, "pid {}: {what}", std::process::id());
        }
    }
    std::process::abort();
}

// ---------------------------------------------------------------------
// Input parsing.

pub struct Input<'a> {
    pub d: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn u8(&mut self) -> u8 {
        match self.d.split_first() {
            Some((&b, rest)) => {
                self.d = rest;
                b
            }
            None => 0,
        }
    }
    pub fn u16(&mut self) -> u16 {
        self.u8() as u16 | (self.u8() as u16) << 8
    }
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.d.len());
        let (a, b) = self.d.split_at(n);
        self.d = b;
        a
    }
    /// The next message of the script, if any.
    pub fn msg(&mut self) -> Option<Msg<'a>> {
        if self.d.is_empty() {
            return None;
        }
        let ctl = self.u8();
        let len = self.u16() as usize;
        Some(Msg {
            ctl,
            data: self.bytes(len),
        })
    }
}

#[derive(Clone, Copy)]
pub struct Msg<'a> {
    pub ctl: u8,
    pub data: &'a [u8],
}

impl Msg<'_> {
    pub fn kind(&self) -> FdKind {
        FdKind::from(self.ctl & 7)
    }
    pub fn special(&self) -> bool {
        self.ctl & 8 != 0
    }
    pub fn dest(&self) -> u8 {
        (self.ctl >> 4) & 3
    }
    pub fn count(&self) -> usize {
        if self.kind() == FdKind::None {
            0
        } else if self.ctl & 0x40 != 0 {
            2
        } else {
            1
        }
    }
}

/// Stands for "the door's id" in control-target inputs: the seeds carry
/// it where the recorded request had the recorded door's id (ids are
/// random per process), and the control target puts its own door's id
/// wherever these 8 bytes appear, without knowing the request layout.
pub const ID_TOKEN: u64 = 0x1d00_d00d_1d00_d00d;

/// Replaces every occurrence of `from`'s bytes in `data` with `to`'s.
pub fn replace_u64(data: &mut [u8], from: u64, to: u64) {
    let (f, t) = (from.to_le_bytes(), to.to_le_bytes());
    let mut i = 0;
    while i + 8 <= data.len() {
        if data[i..i + 8] == f {
            data[i..i + 8].copy_from_slice(&t);
            i += 8;
        } else {
            i += 1;
        }
    }
}

/// Writes one message of the script format.
pub fn put_msg(out: &mut Vec<u8>, ctl: u8, data: &[u8]) {
    let len = data.len().min(u16::MAX as usize);
    out.push(ctl);
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(&data[..len]);
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FdKind {
    None,
    DevNull,
    Pipe,
    SeqPacket,
    /// A memfd whose size is sealed (shrink, grow, seal).
    SealedMemfd,
    /// A memfd without seals.
    Memfd,
    /// The target's door (a duplicate).
    Door,
    /// A memfd sealed against shrinking only (it can still be sealed more).
    ShrinkSealedMemfd,
}

impl From<u8> for FdKind {
    fn from(v: u8) -> FdKind {
        match v & 7 {
            0 => FdKind::None,
            1 => FdKind::DevNull,
            2 => FdKind::Pipe,
            3 => FdKind::SeqPacket,
            4 => FdKind::SealedMemfd,
            5 => FdKind::Memfd,
            6 => FdKind::Door,
            _ => FdKind::ShrinkSealedMemfd,
        }
    }
}

impl FdKind {
    pub fn is_memfd(self) -> bool {
        matches!(
            self,
            FdKind::SealedMemfd | FdKind::Memfd | FdKind::ShrinkSealedMemfd
        )
    }
}

/// Sizes a memfd can have (bits 6-7 of a memfd message's first byte).
pub const MEMFD_SIZES: [usize; 4] = [4096, 8192, 64 * 1024 + 4096, 256 * 1024 + 4096];

impl<'a> Msg<'a> {
    /// What is sent, and a memfd's (size, content). A message carrying
    /// memfds starts with one byte: bits 0-5 are the sent length in 4-byte
    /// units, bits 6-7 the memfd size (MEMFD_SIZES); the sent bytes follow,
    /// then the memfd's content.
    pub fn parts(&self) -> (&'a [u8], usize, &'a [u8]) {
        if !self.kind().is_memfd() || self.data.is_empty() {
            return (self.data, 4096, &[]);
        }
        let b = self.data[0];
        let rest = &self.data[1..];
        let n = ((b & 0x3f) as usize * 4).min(rest.len());
        (&rest[..n], MEMFD_SIZES[(b >> 6) as usize], &rest[n..])
    }
    /// The bytes sent. With ctl bit 7 they are repeated 1024 times (so a
    /// script can carry full 128 KiB chunks of a large transfer).
    pub fn wire(&self) -> std::borrow::Cow<'a, [u8]> {
        let w = self.parts().0;
        if self.ctl & 0x80 != 0 {
            std::borrow::Cow::Owned(w.repeat(1024))
        } else {
            std::borrow::Cow::Borrowed(w)
        }
    }
}

/// Encodes a memfd message's data (see `Msg::parts`).
pub fn memfd_msg(sent: &[u8], size_class: u8, content: &[u8]) -> Vec<u8> {
    assert!(sent.len() % 4 == 0 && sent.len() / 4 < 64);
    let mut v = vec![(size_class << 6) | (sent.len() / 4) as u8];
    v.extend_from_slice(sent);
    v.extend_from_slice(content);
    v
}

fn memfd(content: &[u8], len: usize, seals: i32) -> RawFd {
    // SAFETY: plain system calls on a descriptor we create.
    unsafe {
        let fd = libc::memfd_create(
            c"fuzz".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        );
        if fd < 0 {
            die("memfd_create failed");
        }
        libc::ftruncate(fd, len as libc::off_t);
        let n = content.len().min(len);
        libc::pwrite(fd, content.as_ptr().cast(), n, 0);
        if seals != 0 {
            libc::fcntl(fd, libc::F_ADD_SEALS, seals);
        }
        fd
    }
}

/// Makes the descriptors a message carries (the caller closes them after
/// sending). `door` is the target's door for `FdKind::Door`.
pub fn make_fds(m: &Msg, door: RawFd, out: &mut Vec<RawFd>) {
    let (_, size, content) = m.parts();
    for _ in 0..m.count() {
        // SAFETY: plain system calls creating descriptors we own.
        let fd = unsafe {
            match m.kind() {
                FdKind::None => -1,
                FdKind::DevNull => {
                    libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC)
                }
                FdKind::Pipe => {
                    let mut p = [0; 2];
                    libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC);
                    libc::close(p[1]);
                    p[0]
                }
                FdKind::SeqPacket => {
                    let mut p = [0; 2];
                    libc::socketpair(
                        libc::AF_UNIX,
                        libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                        0,
                        p.as_mut_ptr(),
                    );
                    libc::close(p[1]);
                    p[0]
                }
                FdKind::SealedMemfd => memfd(
                    content,
                    size,
                    libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL,
                ),
                FdKind::Memfd => memfd(content, size, 0),
                FdKind::ShrinkSealedMemfd => memfd(content, size, libc::F_SEAL_SHRINK),
                FdKind::Door => libc::fcntl(door, libc::F_DUPFD_CLOEXEC, 0),
            }
        };
        if fd >= 0 {
            out.push(fd);
        }
    }
}

pub fn close_all(fds: &mut Vec<RawFd>) {
    for fd in fds.drain(..) {
        // SAFETY: closing descriptors we own.
        unsafe { libc::close(fd) };
    }
}

// ---------------------------------------------------------------------
// Message I/O.

/// Sends one message with SCM_RIGHTS. Returns the sendmsg result.
pub fn send_msg(sock: RawFd, data: &[u8], fds: &[RawFd], flags: i32) -> isize {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut _,
        iov_len: data.len(),
    };
    let mut cbuf = vec![0u64; (fds.len() * 4 + 64) / 8 + 1];
    // SAFETY: msghdr is plain data; the control buffer is large enough
    // for one SCM_RIGHTS message of fds.len() descriptors.
    unsafe {
        let mut m: libc::msghdr = std::mem::zeroed();
        m.msg_iov = &mut iov;
        m.msg_iovlen = 1;
        if !fds.is_empty() {
            let space = libc::CMSG_SPACE((fds.len() * 4) as u32) as usize;
            m.msg_control = cbuf.as_mut_ptr().cast();
            m.msg_controllen = space;
            let c = libc::CMSG_FIRSTHDR(&m);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN((fds.len() * 4) as u32) as usize;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr().cast::<u8>(),
                libc::CMSG_DATA(c),
                fds.len() * 4,
            );
        }
        loop {
            let r = libc::sendmsg(sock, &m, flags | libc::MSG_NOSIGNAL);
            if r < 0 && errno() == libc::EINTR {
                continue;
            }
            return r;
        }
    }
}

/// One received message: its bytes (None at end of file) and descriptors.
pub struct Got {
    pub data: Option<Vec<u8>>,
    pub fds: Vec<RawFd>,
    pub truncated: bool,
}

/// Waits up to `deadline` for `fd` to be readable. False on timeout.
pub fn wait_readable(fd: RawFd, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, left.as_millis().min(60_000) as i32) };
        if r > 0 {
            return true;
        }
        if r == 0 && Instant::now() >= deadline {
            return false;
        }
    }
}

/// Receives one message (MSG_CMSG_CLOEXEC), waiting up to `deadline`.
/// Err(()) on timeout or error.
pub fn recv_msg(sock: RawFd, cap: usize, deadline: Instant) -> Result<Got, i32> {
    if !wait_readable(sock, deadline) {
        return Err(libc::ETIMEDOUT);
    }
    let mut buf = vec![0u8; cap];
    let mut cbuf = vec![0u64; 1024];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: cap,
    };
    // SAFETY: msghdr over our own buffers; CMSG walk bounded by the kernel.
    unsafe {
        let mut m: libc::msghdr = std::mem::zeroed();
        m.msg_iov = &mut iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf.as_mut_ptr().cast();
        m.msg_controllen = cbuf.len() * 8;
        let r = loop {
            let r = libc::recvmsg(sock, &mut m, libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT);
            if r < 0 && errno() == libc::EINTR {
                continue;
            }
            break r;
        };
        if r < 0 {
            return Err(errno());
        }
        let mut fds = Vec::new();
        let mut c = libc::CMSG_FIRSTHDR(&m);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c);
                let n = ((*c).cmsg_len as usize - (data as usize - c as usize)) / 4;
                for i in 0..n {
                    fds.push(std::ptr::read_unaligned(data.cast::<i32>().add(i)));
                }
            }
            c = libc::CMSG_NXTHDR(&m, c);
        }
        let truncated = m.msg_flags & libc::MSG_TRUNC != 0;
        if r == 0 && fds.is_empty() {
            return Ok(Got {
                data: None,
                fds,
                truncated,
            });
        }
        buf.truncate(r as usize);
        Ok(Got {
            data: Some(buf),
            fds,
            truncated,
        })
    }
}

/// Reads and discards messages until end of file, closing any descriptor
/// that arrives. False if `deadline` passes first.
pub fn drain_to_eof(sock: RawFd, deadline: Instant) -> bool {
    drain_counting(sock, deadline).is_some()
}

/// As `drain_to_eof`, returning the messages' (length, descriptors).
pub fn drain_counting(sock: RawFd, deadline: Instant) -> Option<Vec<(usize, usize)>> {
    let mut seen = Vec::new();
    loop {
        match recv_msg(sock, 256 * 1024, deadline) {
            Ok(mut g) => {
                seen.push((g.data.as_ref().map_or(0, |d| d.len()), g.fds.len()));
                close_all(&mut g.fds);
                if g.data.is_none() {
                    return Some(seen);
                }
            }
            Err(libc::ETIMEDOUT) => return None,
            Err(libc::EAGAIN) => continue,
            Err(_) => return Some(seen), // ECONNRESET and the like: the end
        }
    }
}

pub fn seqpacket_pair() -> (RawFd, RawFd) {
    let mut p = [0; 2];
    // SAFETY: p has room for two descriptors.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            p.as_mut_ptr(),
        )
    } != 0
    {
        die("socketpair failed");
    }
    (p[0], p[1])
}

pub fn abstract_addr(name: &[u8]) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: sockaddr_un is plain data.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as u16;
    for (i, &b) in name.iter().enumerate().take(106) {
        a.sun_path[i + 1] = b as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + 1 + name.len().min(106)) as u32;
    (a, len)
}

pub fn bind_abstract(fd: RawFd, name: &[u8]) -> bool {
    let (a, len) = abstract_addr(name);
    // SAFETY: a valid sockaddr_un of length len.
    unsafe { libc::bind(fd, (&a as *const libc::sockaddr_un).cast(), len) == 0 }
}

/// A SOCK_SEQPACKET connection to an abstract name; None if refused.
pub fn connect_abstract(name: &[u8]) -> Option<RawFd> {
    // SAFETY: plain socket calls on a descriptor we own.
    unsafe {
        let s = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            die("socket failed");
        }
        let (a, len) = abstract_addr(name);
        if libc::connect(s, (&a as *const libc::sockaddr_un).cast(), len) != 0 {
            libc::close(s);
            return None;
        }
        Some(s)
    }
}

/// The abstract name a socket is bound to (or its peer's, with `peer`).
pub fn abstract_name(fd: RawFd, peer: bool) -> Option<Vec<u8>> {
    // SAFETY: sockaddr_un is plain data; the kernel fills at most len bytes.
    unsafe {
        let mut a: libc::sockaddr_un = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        let r = if peer {
            libc::getpeername(fd, (&mut a as *mut libc::sockaddr_un).cast(), &mut len)
        } else {
            libc::getsockname(fd, (&mut a as *mut libc::sockaddr_un).cast(), &mut len)
        };
        let n = len as usize - std::mem::size_of::<libc::sa_family_t>();
        if r != 0 || n < 2 || a.sun_path[0] != 0 {
            return None;
        }
        Some(a.sun_path[1..n].iter().map(|&c| c as u8).collect())
    }
}

/// The abstract names of every listening socket this process holds. Lets
/// the targets find the library's control and rendezvous sockets without
/// knowing how their names are made.
pub fn listening_names() -> Vec<Vec<u8>> {
    let mut inodes = std::collections::HashSet::new();
    if let Ok(rd) = std::fs::read_dir("/proc/self/fd") {
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                let t = t.to_string_lossy().into_owned();
                if let Some(i) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(i.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    let Ok(tab) = std::fs::read_to_string("/proc/net/unix") else {
        return out;
    };
    for line in tab.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        // Num RefCount Protocol Flags Type St Inode Path
        if f.len() < 8 || !inodes.contains(f[6]) {
            continue;
        }
        let listening = u32::from_str_radix(f[3], 16).is_ok_and(|v| v & 0x10000 != 0);
        if listening && let Some(p) = f[7].strip_prefix('@') {
            out.push(p.as_bytes().to_vec());
        }
    }
    out
}

// ---------------------------------------------------------------------
// Descriptor counting.

pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Waits (bounded) until the process holds at most `baseline` descriptors;
/// aborts with the list if it does not.
pub fn check_fds(baseline: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = fd_count();
        if n <= baseline {
            return;
        }
        if Instant::now() >= deadline {
            let mut list = String::new();
            if let Ok(rd) = std::fs::read_dir("/proc/self/fd") {
                for e in rd.flatten() {
                    if let Ok(t) = std::fs::read_link(e.path()) {
                        list.push_str(&format!(
                            "  {} -> {}\n",
                            e.file_name().to_string_lossy(),
                            t.display()
                        ));
                    }
                }
            }
            die(&format!(
                "descriptor leak ({what}): {n} open, {baseline} expected\n{list}"
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Does `d` name a live door? (door_info succeeds and is not revoked.)
pub fn door_alive(d: RawFd) -> bool {
    let mut info = door_info_t::default();
    // SAFETY: info is writable.
    unsafe { door_info(d, &mut info) == 0 && info.di_attributes & DOOR_REVOKED == 0 }
}

/// Closes every received descriptor of a door_call's results.
pub fn close_results(a: &door_arg_t) {
    if a.desc_num > 0 && !a.desc_ptr.is_null() {
        for i in 0..a.desc_num as usize {
            // SAFETY: door_call wrote desc_num descriptors at desc_ptr.
            let d = unsafe { std::ptr::read_unaligned(a.desc_ptr.add(i)) };
            if d.d_attributes & DOOR_DESCRIPTOR != 0 {
                // SAFETY: the descriptor is ours now.
                unsafe { libc::close(d.d_data.d_desc.d_descriptor) };
            }
        }
    }
}
