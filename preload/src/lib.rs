//! `libdoor_preload.so`: `LD_PRELOAD` it to give a program what only
//! interposing libc can give (README, "Preload mode"):
//!
//! - the `stat` family reports `S_IFDOOR` for door descriptors and for
//!   paths with a live door attached;
//! - `open` of an attached path yields the door at once, and a descriptor
//!   opened on a file with no door attached names that file for good;
//! - `dup`, `dup2`, `dup3`, `fcntl(F_DUPFD…)` of a door and a `fork` child's
//!   inherited door descriptors each get a reference of their own, so that
//!   unreferenced notifications count descriptors as illumos does.
//!
//! How it stays out of the way:
//! - every wrapper calls the next definition (`dlsym(RTLD_NEXT)`, looked up
//!   once, lazily), so other preloads (fakeroot, libfaketime, sanitizers)
//!   keep working in either order; errno is left as the call left it;
//! - libdoor itself is not loaded until the program meets something that
//!   looks like a door (a socket whose peer has a door's name, a file with
//!   the `user.libdoor.rendezvous` attribute); a program that links libdoor
//!   already has it. A program that never meets a door does, per call: for
//!   `fstat` of a non-socket, one compare; for a path `stat` of a regular
//!   file or directory, one `getxattr` size query; for `open`, one
//!   `fgetxattr` size query; for `dup`/`fork`, nothing;
//! - in a secure-execution process (`getauxval(AT_SECURE)`: set-user-ID,
//!   capabilities) every wrapper only forwards, as the loader would have
//!   ignored the preload;
//! - no allocation and no lock on the paths a signal handler can take,
//!   except the first `dlsym` of a symbol and the one `dlopen` of libdoor.

#![allow(clippy::missing_safety_doc)]

use libc::{c_char, c_int, c_uint, c_void, mode_t};
use std::ptr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Solaris' door file type (`<sys/door.h>`); Linux uses nothing at 0xD000.
const S_IFDOOR: u32 = 0xD000;
const S_IFMT: u32 = 0o170000;
/// The extended attribute libdoor's fattach writes on the covered file.
const RDV_XATTR: &[u8] = b"user.libdoor.rendezvous\0";
/// The abstract socket names of doors' server ends begin with this.
const DOOR_NAME_PREFIX: &[u8] = b"ldoor1:";

fn errno() -> c_int {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

fn set_errno(e: c_int) {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() = e }
}

// ---------------------------------------------------------------------------
// Is the preload active in this process?

/// 0: not known yet, 1: forwarding only (secure execution), 2: active.
static MODE: AtomicU8 = AtomicU8::new(0);

#[inline]
fn active() -> bool {
    match MODE.load(Ordering::Relaxed) {
        2 => true,
        1 => false,
        _ => decide(),
    }
}

#[cold]
fn decide() -> bool {
    // SAFETY: getauxval has no preconditions (async-signal-safe).
    let secure = unsafe { libc::getauxval(libc::AT_SECURE) } != 0;
    MODE.store(if secure { 1 } else { 2 }, Ordering::Relaxed);
    !secure
}

extern "C" fn init() {
    if active() {
        // The program links libdoor already: use it from the start.
        let _ = lib_if_loaded(true);
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = init;

thread_local! {
    /// This thread is inside one of our fix-ups: the libc functions it
    /// calls (and other preloads' wrappers of them, which may call `stat`
    /// again, as fakeroot's `getxattr` does) are only forwarded.
    static BUSY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` unless this thread is already inside a fix-up.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    if BUSY.with(|b| b.replace(true)) {
        return None;
    }
    let r = f();
    BUSY.with(|b| b.set(false));
    Some(r)
}

// ---------------------------------------------------------------------------
// The next definition of each wrapped function.

macro_rules! next {
    ($name:literal, $ty:ty) => {{
        static SLOT: AtomicUsize = AtomicUsize::new(0);
        let mut p = SLOT.load(Ordering::Relaxed);
        if p == 0 {
            // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT searches
            // the objects loaded after this one.
            p = unsafe { libc::dlsym(libc::RTLD_NEXT, concat!($name, "\0").as_ptr().cast()) }
                as usize;
            SLOT.store(p, Ordering::Relaxed);
        }
        if p == 0 {
            None
        } else {
            // SAFETY: the symbol has this C type in every libc that exports it.
            Some(unsafe { std::mem::transmute::<usize, $ty>(p) })
        }
    }};
}

/// The function is missing from the next objects (an older libc).
fn nosys() -> c_int {
    set_errno(libc::ENOSYS);
    -1
}

// ---------------------------------------------------------------------------
// libdoor's entry points for this library (its src/capi/preload.rs).

const L_INIT: usize = 0;
const L_FD_IS_DOOR: usize = 1;
const L_PATH_IS_DOOR: usize = 2;
const L_OPENED: usize = 3;
const L_DUP: usize = 4;
const L_CLOSING: usize = 5;
const L_CLOSED: usize = 6;
const L_FORK_CHILD: usize = 7;
const LIB_NAMES: [&[u8]; 8] = [
    b"__libdoor_preload_init\0",
    b"__libdoor_fd_is_door\0",
    b"__libdoor_path_is_door\0",
    b"__libdoor_opened\0",
    b"__libdoor_dup\0",
    b"__libdoor_fd_closing\0",
    b"__libdoor_fd_closed\0",
    b"__libdoor_fork_child\0",
];
static LIB: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];
/// 0: not looked for, 1: loaded (LIB filled), 2: not available.
static LIB_STATE: AtomicU8 = AtomicU8::new(0);

struct Lib;

impl Lib {
    fn get(&self, i: usize) -> usize {
        LIB[i].load(Ordering::Acquire)
    }
    fn fd_is_door(&self, fd: c_int) -> bool {
        // SAFETY: libdoor's `int __libdoor_fd_is_door(int)`.
        let f: extern "C" fn(c_int) -> c_int =
            unsafe { std::mem::transmute(self.get(L_FD_IS_DOOR)) };
        f(fd) == 1
    }
    fn path_is_door(&self, dirfd: c_int, path: *const c_char, flags: c_int) -> bool {
        // SAFETY: libdoor's `int __libdoor_path_is_door(int, const char *, int)`.
        let f: unsafe extern "C" fn(c_int, *const c_char, c_int) -> c_int =
            unsafe { std::mem::transmute(self.get(L_PATH_IS_DOOR)) };
        // SAFETY: path is the caller's NUL-terminated path.
        unsafe { f(dirfd, path, flags) == 1 }
    }
    fn opened(&self, fd: c_int, oflags: c_int) {
        // SAFETY: libdoor's `int __libdoor_opened(int, int)`.
        let f: extern "C" fn(c_int, c_int) -> c_int =
            unsafe { std::mem::transmute(self.get(L_OPENED)) };
        f(fd, oflags);
    }
    fn dup(&self, old: c_int, how: c_int, arg: c_int, flags: c_int) -> c_int {
        // SAFETY: libdoor's `int __libdoor_dup(int, int, int, int)`.
        let f: extern "C" fn(c_int, c_int, c_int, c_int) -> c_int =
            unsafe { std::mem::transmute(self.get(L_DUP)) };
        f(old, how, arg, flags)
    }
    fn closing(&self, fd: c_int) {
        // SAFETY: libdoor's `void __libdoor_fd_closing(int)`.
        let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(self.get(L_CLOSING)) };
        f(fd)
    }
    fn closed(&self, fd: c_int) {
        // SAFETY: libdoor's `void __libdoor_fd_closed(int)`.
        let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(self.get(L_CLOSED)) };
        f(fd)
    }
    fn fork_child(&self) {
        // SAFETY: libdoor's `void __libdoor_fork_child(void)`.
        let f: extern "C" fn() = unsafe { std::mem::transmute(self.get(L_FORK_CHILD)) };
        f()
    }
}

/// Fills `LIB` from `handle` (RTLD_DEFAULT or libdoor's handle).
fn fill(handle: *mut c_void) -> bool {
    let mut got = [0usize; 8];
    for (g, n) in got.iter_mut().zip(LIB_NAMES) {
        // SAFETY: dlsym with a NUL-terminated name.
        *g = unsafe { libc::dlsym(handle, n.as_ptr().cast()) } as usize;
        if *g == 0 {
            return false;
        }
    }
    for (slot, g) in LIB.iter().zip(got) {
        slot.store(g, Ordering::Release);
    }
    LIB_STATE.store(1, Ordering::Release);
    // SAFETY: libdoor's `void __libdoor_preload_init(void)`.
    let f: extern "C" fn() = unsafe { std::mem::transmute(got[L_INIT]) };
    f();
    true
}

/// libdoor, if this process has it already (linked by the program, or
/// loaded by us). `probe`: look for it once if not known yet.
#[inline]
fn lib_if_loaded(probe: bool) -> Option<Lib> {
    match LIB_STATE.load(Ordering::Acquire) {
        1 => Some(Lib),
        0 if probe => {
            if fill(libc::RTLD_DEFAULT) {
                Some(Lib)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// libdoor, loaded now if need be: from the directory this library was
/// loaded from (they are installed together), else by its soname.
#[cold]
fn lib() -> Option<Lib> {
    if let Some(l) = lib_if_loaded(true) {
        return Some(l);
    }
    if LIB_STATE.load(Ordering::Acquire) == 2 {
        return None;
    }
    let e = errno();
    let mut path = [0u8; 4096];
    let mut handle = ptr::null_mut();
    // SAFETY: dladdr on our own function; dli_fname is a NUL-terminated
    // path owned by the loader.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(lib as *const c_void, &mut info) != 0 && !info.dli_fname.is_null() {
            let me = std::ffi::CStr::from_ptr(info.dli_fname).to_bytes();
            if let Some(slash) = me.iter().rposition(|&c| c == b'/') {
                let want = b"/libdoor.so.1\0";
                if slash + want.len() <= path.len() {
                    path[..slash].copy_from_slice(&me[..slash]);
                    path[slash..slash + want.len()].copy_from_slice(want);
                    handle = libc::dlopen(path.as_ptr().cast(), libc::RTLD_NOW | libc::RTLD_LOCAL);
                }
            }
        }
        if handle.is_null() {
            handle = libc::dlopen(c"libdoor.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        }
    }
    let ok = !handle.is_null() && fill(handle);
    if !ok {
        LIB_STATE.store(2, Ordering::Release);
    }
    set_errno(e);
    if ok { Some(Lib) } else { None }
}

// ---------------------------------------------------------------------------
// Recognising doors.

/// Is the socket `fd` a door? A peer with a door's name, confirmed by libdoor.
fn fd_is_door(fd: c_int) -> bool {
    let e = errno();
    // SAFETY: sockaddr_un is plain data; getpeername writes at most `len`.
    // System calls, not libc's entries, which other preloads may wrap.
    let looks = unsafe {
        let mut sa: libc::sockaddr_un = std::mem::zeroed();
        let mut len = size_of::<libc::sockaddr_un>() as libc::socklen_t;
        let sap: *mut libc::sockaddr_un = &mut sa;
        libc::syscall(
            libc::SYS_getpeername,
            fd,
            sap,
            &mut len as *mut libc::socklen_t,
        ) == 0
            && {
                let off = size_of::<libc::sa_family_t>();
                let n = (len as usize).saturating_sub(off).min(sa.sun_path.len());
                let p = std::slice::from_raw_parts(sa.sun_path.as_ptr().cast::<u8>(), n);
                n > DOOR_NAME_PREFIX.len() && p[0] == 0 && p[1..].starts_with(DOOR_NAME_PREFIX)
            }
            && {
                // A door descriptor's own address is unnamed (the client
                // side of a socket pair); an accepted connection's is its
                // listener's name, whatever name its peer bound.
                let mut own: libc::sockaddr_un = std::mem::zeroed();
                let mut olen = size_of::<libc::sockaddr_un>() as libc::socklen_t;
                let op: *mut libc::sockaddr_un = &mut own;
                libc::syscall(
                    libc::SYS_getsockname,
                    fd,
                    op,
                    &mut olen as *mut libc::socklen_t,
                ) == 0
                    && olen as usize == size_of::<libc::sa_family_t>()
            }
    };
    let yes = looks && lib().is_some_and(|l| l.fd_is_door(fd));
    set_errno(e);
    yes
}

/// Does the file at `path` carry the rendezvous attribute? One size query
/// (through /proc/self/fd for a path relative to a directory descriptor).
fn has_rendezvous(dirfd: c_int, path: *const c_char, nofollow: bool) -> bool {
    // SAFETY: path is the caller's NUL-terminated path.
    let p = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
    let mut buf = [0u8; 512];
    let target: *const c_char = if dirfd == libc::AT_FDCWD || p.first() == Some(&b'/') {
        path
    } else {
        let mut n = 0;
        let mut put = |s: &[u8]| {
            let end = n + s.len();
            if end < buf.len() {
                buf[n..end].copy_from_slice(s);
            }
            n = end;
        };
        put(b"/proc/self/fd/");
        let mut digits = [0u8; 12];
        let mut d = digits.len();
        let mut v = dirfd.max(0) as u32;
        loop {
            d -= 1;
            digits[d] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        put(&digits[d..]);
        put(b"/");
        put(p);
        if n >= buf.len() {
            // Too long to go through /proc/self/fd/DIRFD/PATH here: open
            // the file itself (O_PATH: no permission needed, nothing
            // happens on open) and probe it through /proc/self/fd/N.
            return long_has_rendezvous(dirfd, path, nofollow);
        }
        buf[n] = 0;
        buf.as_ptr().cast()
    };
    // The system call: other preloads' getxattr may call stat (fakeroot's does).
    let nr = if nofollow {
        libc::SYS_lgetxattr
    } else {
        libc::SYS_getxattr
    };
    // SAFETY: a size query (NULL buffer, 0 bytes) on a NUL-terminated path.
    let r = unsafe {
        libc::syscall(
            nr,
            target,
            RDV_XATTR.as_ptr(),
            ptr::null_mut::<c_void>(),
            0usize,
        )
    };
    r > 0
}

/// `has_rendezvous` for a relative path too long to append to
/// /proc/self/fd/DIRFD/.
fn long_has_rendezvous(dirfd: c_int, path: *const c_char, nofollow: bool) -> bool {
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if nofollow {
        flags |= libc::O_NOFOLLOW;
    }
    // SAFETY: the system calls on the caller's NUL-terminated path, then
    // on our own descriptor (closed before returning).
    unsafe {
        let fd = libc::syscall(libc::SYS_openat, dirfd, path, flags, 0) as c_int;
        if fd < 0 {
            return false;
        }
        let mut st: libc::stat = std::mem::zeroed();
        let mut yes = false;
        // Only a regular file or a directory can carry a rendezvous (a
        // symbolic link, met with nofollow, cannot).
        if libc::syscall(libc::SYS_fstat, fd, &mut st as *mut libc::stat) == 0
            && may_cover(st.st_mode)
        {
            let mut buf = [0u8; 32];
            let mut n = 0;
            for &b in b"/proc/self/fd/" {
                buf[n] = b;
                n += 1;
            }
            let mut digits = [0u8; 12];
            let mut d = digits.len();
            let mut v = fd as u32;
            loop {
                d -= 1;
                digits[d] = b'0' + (v % 10) as u8;
                v /= 10;
                if v == 0 {
                    break;
                }
            }
            for &b in &digits[d..] {
                buf[n] = b;
                n += 1;
            }
            buf[n] = 0;
            yes = libc::syscall(
                libc::SYS_getxattr,
                buf.as_ptr(),
                RDV_XATTR.as_ptr(),
                ptr::null_mut::<c_void>(),
                0usize,
            ) > 0;
        }
        libc::syscall(libc::SYS_close, fd);
        yes
    }
}

/// Is `path` (a regular file or directory by its stat) an attached name
/// with a live door?
fn path_is_door(dirfd: c_int, path: *const c_char, flags: c_int) -> bool {
    let e = errno();
    let yes = has_rendezvous(dirfd, path, flags & libc::AT_SYMLINK_NOFOLLOW != 0)
        && lib().is_some_and(|l| l.path_is_door(dirfd, path, flags));
    set_errno(e);
    yes
}

fn may_cover(mode: u32) -> bool {
    let t = mode & S_IFMT;
    t == libc::S_IFREG || t == libc::S_IFDIR
}

// ---------------------------------------------------------------------------
// The stat family.

/// A door descriptor's `struct stat`: type door, size 0.
fn fix_fd(fd: c_int, st: *mut libc::stat) {
    // SAFETY: the next fstat filled *st.
    let st = unsafe { &mut *st };
    if st.st_mode & S_IFMT == libc::S_IFSOCK && guarded(|| fd_is_door(fd)) == Some(true) {
        st.st_mode = (st.st_mode & !S_IFMT) | S_IFDOOR;
        st.st_size = 0;
    }
}

/// An attached name's `struct stat`: type door, size 0, one link; owner,
/// mode bits and times stay the covered file's, as on illumos.
fn fix_path(dirfd: c_int, path: *const c_char, flags: c_int, st: *mut libc::stat) {
    // SAFETY: the next stat filled *st.
    let st = unsafe { &mut *st };
    if may_cover(st.st_mode) && guarded(|| path_is_door(dirfd, path, flags)) == Some(true) {
        st.st_mode = (st.st_mode & !S_IFMT) | S_IFDOOR;
        st.st_size = 0;
        st.st_nlink = 1;
    }
}

fn empty(path: *const c_char) -> bool {
    // SAFETY: a non-NULL path is NUL-terminated; its first byte is readable.
    !path.is_null() && unsafe { *path } == 0
}

type StatFn = unsafe extern "C" fn(*const c_char, *mut libc::stat) -> c_int;
type FstatFn = unsafe extern "C" fn(c_int, *mut libc::stat) -> c_int;
type FstatatFn = unsafe extern "C" fn(c_int, *const c_char, *mut libc::stat, c_int) -> c_int;
type XstatFn = unsafe extern "C" fn(c_int, *const c_char, *mut libc::stat) -> c_int;
type FxstatFn = unsafe extern "C" fn(c_int, c_int, *mut libc::stat) -> c_int;
type FxstatatFn =
    unsafe extern "C" fn(c_int, c_int, *const c_char, *mut libc::stat, c_int) -> c_int;
type StatxFn = unsafe extern "C" fn(c_int, *const c_char, c_int, c_uint, *mut libc::statx) -> c_int;

macro_rules! path_stat {
    ($name:ident, $sym:literal, $flags:expr) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, st: *mut libc::stat) -> c_int {
            let Some(f) = next!($sym, StatFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for stat(2).
            let r = unsafe { f(path, st) };
            if r == 0 && active() {
                fix_path(libc::AT_FDCWD, path, $flags, st);
            }
            r
        }
    };
}
path_stat!(stat, "stat", 0);
path_stat!(stat64, "stat64", 0);
path_stat!(lstat, "lstat", libc::AT_SYMLINK_NOFOLLOW);
path_stat!(lstat64, "lstat64", libc::AT_SYMLINK_NOFOLLOW);

macro_rules! fd_stat {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(fd: c_int, st: *mut libc::stat) -> c_int {
            let Some(f) = next!($sym, FstatFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for fstat(2).
            let r = unsafe { f(fd, st) };
            if r == 0 && active() {
                fix_fd(fd, st);
            }
            r
        }
    };
}
fd_stat!(fstat, "fstat");
fd_stat!(fstat64, "fstat64");

/// After an `fstatat`-style call succeeded: the descriptor or the path.
fn fix_at(dirfd: c_int, path: *const c_char, flags: c_int, st: *mut libc::stat) {
    if flags & libc::AT_EMPTY_PATH != 0 && empty(path) {
        if dirfd != libc::AT_FDCWD {
            fix_fd(dirfd, st);
        }
    } else if !path.is_null() {
        fix_path(dirfd, path, flags, st);
    }
}

macro_rules! at_stat {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            dirfd: c_int,
            path: *const c_char,
            st: *mut libc::stat,
            flags: c_int,
        ) -> c_int {
            let Some(f) = next!($sym, FstatatFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for fstatat(2).
            let r = unsafe { f(dirfd, path, st, flags) };
            if r == 0 && active() {
                fix_at(dirfd, path, flags, st);
            }
            r
        }
    };
}
at_stat!(fstatat, "fstatat");
at_stat!(fstatat64, "fstatat64");

macro_rules! old_xstat {
    ($name:ident, $sym:literal, $flags:expr) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            ver: c_int,
            path: *const c_char,
            st: *mut libc::stat,
        ) -> c_int {
            let Some(f) = next!($sym, XstatFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for glibc's __xstat.
            let r = unsafe { f(ver, path, st) };
            if r == 0 && active() {
                fix_path(libc::AT_FDCWD, path, $flags, st);
            }
            r
        }
    };
}
old_xstat!(__xstat, "__xstat", 0);
old_xstat!(__xstat64, "__xstat64", 0);
old_xstat!(__lxstat, "__lxstat", libc::AT_SYMLINK_NOFOLLOW);
old_xstat!(__lxstat64, "__lxstat64", libc::AT_SYMLINK_NOFOLLOW);

macro_rules! old_fxstat {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(ver: c_int, fd: c_int, st: *mut libc::stat) -> c_int {
            let Some(f) = next!($sym, FxstatFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for glibc's __fxstat.
            let r = unsafe { f(ver, fd, st) };
            if r == 0 && active() {
                fix_fd(fd, st);
            }
            r
        }
    };
}
old_fxstat!(__fxstat, "__fxstat");
old_fxstat!(__fxstat64, "__fxstat64");

macro_rules! old_fxstatat {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            ver: c_int,
            dirfd: c_int,
            path: *const c_char,
            st: *mut libc::stat,
            flags: c_int,
        ) -> c_int {
            let Some(f) = next!($sym, FxstatatFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for glibc's __fxstatat.
            let r = unsafe { f(ver, dirfd, path, st, flags) };
            if r == 0 && active() {
                fix_at(dirfd, path, flags, st);
            }
            r
        }
    };
}
old_fxstatat!(__fxstatat, "__fxstatat");
old_fxstatat!(__fxstatat64, "__fxstatat64");

/// statx(2): `stx_mode` (when the type was asked for and given).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn statx(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mask: c_uint,
    sx: *mut libc::statx,
) -> c_int {
    let Some(f) = next!("statx", StatxFn) else {
        return nosys();
    };
    // SAFETY: the caller's arguments, as for statx(2).
    let r = unsafe { f(dirfd, path, flags, mask, sx) };
    if r != 0 || !active() {
        return r;
    }
    // SAFETY: the next statx filled *sx.
    let sx = unsafe { &mut *sx };
    if sx.stx_mask & libc::STATX_TYPE == 0 {
        return r;
    }
    let mode = sx.stx_mode as u32;
    let door = if flags & libc::AT_EMPTY_PATH != 0 && empty(path) {
        dirfd != libc::AT_FDCWD
            && mode & S_IFMT == libc::S_IFSOCK
            && guarded(|| fd_is_door(dirfd)) == Some(true)
    } else {
        !path.is_null()
            && may_cover(mode)
            && guarded(|| path_is_door(dirfd, path, flags)) == Some(true)
    };
    if door {
        sx.stx_mode = ((mode & !S_IFMT) | S_IFDOOR) as u16;
        sx.stx_size = 0;
        if flags & libc::AT_EMPTY_PATH == 0 || !empty(path) {
            sx.stx_nlink = 1;
        }
    }
    r
}

// ---------------------------------------------------------------------------
// The open family.

/// After an open that succeeded: an attached file becomes its door.
fn opened(fd: c_int, oflags: c_int) {
    if fd < 0 || oflags & libc::O_PATH != 0 || !active() {
        return;
    }
    guarded(|| opened_unguarded(fd, oflags));
}

fn opened_unguarded(fd: c_int, oflags: c_int) {
    let e = errno();
    if let Some(l) = lib_if_loaded(false) {
        l.opened(fd, oflags);
    } else {
        // SAFETY: a size query (NULL buffer, 0 bytes) on a descriptor.
        let has = unsafe {
            libc::syscall(
                libc::SYS_fgetxattr,
                fd,
                RDV_XATTR.as_ptr(),
                ptr::null_mut::<c_void>(),
                0usize,
            )
        } > 0;
        if has && let Some(l) = lib() {
            l.opened(fd, oflags);
        }
    }
    set_errno(e);
}

type OpenFn = unsafe extern "C" fn(*const c_char, c_int, ...) -> c_int;
type OpenatFn = unsafe extern "C" fn(c_int, *const c_char, c_int, ...) -> c_int;
type Open2Fn = unsafe extern "C" fn(*const c_char, c_int) -> c_int;
type Openat2Fn = unsafe extern "C" fn(c_int, *const c_char, c_int) -> c_int;
type CreatFn = unsafe extern "C" fn(*const c_char, mode_t) -> c_int;

// open(2) is variadic; the mode is read as the third integer argument,
// which is where a variadic caller passes it on x86-64 and aarch64 Linux
// (C-variadic definitions are not stable Rust). It is passed on as is.
macro_rules! open_fn {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
            let Some(f) = next!($sym, OpenFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for open(2).
            let fd = unsafe { f(path, flags, mode) };
            opened(fd, flags);
            fd
        }
    };
}
open_fn!(open, "open");
open_fn!(open64, "open64");
open_fn!(__open, "__open");
open_fn!(__open64, "__open64");

macro_rules! openat_fn {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            dirfd: c_int,
            path: *const c_char,
            flags: c_int,
            mode: c_uint,
        ) -> c_int {
            let Some(f) = next!($sym, OpenatFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for openat(2).
            let fd = unsafe { f(dirfd, path, flags, mode) };
            opened(fd, flags);
            fd
        }
    };
}
openat_fn!(openat, "openat");
openat_fn!(openat64, "openat64");

// _FORTIFY_SOURCE's checked opens (no mode: O_CREAT without one aborts there).
macro_rules! open2_fn {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, flags: c_int) -> c_int {
            let Some(f) = next!($sym, Open2Fn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for __open_2.
            let fd = unsafe { f(path, flags) };
            opened(fd, flags);
            fd
        }
    };
}
open2_fn!(__open_2, "__open_2");
open2_fn!(__open64_2, "__open64_2");

macro_rules! openat2_fn {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
            let Some(f) = next!($sym, Openat2Fn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for __openat_2.
            let fd = unsafe { f(dirfd, path, flags) };
            opened(fd, flags);
            fd
        }
    };
}
openat2_fn!(__openat_2, "__openat_2");
openat2_fn!(__openat64_2, "__openat64_2");

macro_rules! creat_fn {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: mode_t) -> c_int {
            let Some(f) = next!($sym, CreatFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for creat(2).
            let fd = unsafe { f(path, mode) };
            opened(fd, libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC);
            fd
        }
    };
}
creat_fn!(creat, "creat");
creat_fn!(creat64, "creat64");

// ---------------------------------------------------------------------------
// The dup family and fork: a reference of its own for each door copy.

/// A door copy made by libdoor, or None: duplicate as usual.
fn door_dup(old: c_int, how: c_int, arg: c_int, flags: c_int) -> Option<c_int> {
    if !active() {
        return None;
    }
    let l = lib_if_loaded(false)?;
    match guarded(|| l.dup(old, how, arg, flags))? {
        -2 => None,
        r => Some(r),
    }
}

type DupFn = unsafe extern "C" fn(c_int) -> c_int;
type Dup2Fn = unsafe extern "C" fn(c_int, c_int) -> c_int;
type Dup3Fn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
type FcntlFn = unsafe extern "C" fn(c_int, c_int, ...) -> c_int;
type ForkFn = unsafe extern "C" fn() -> libc::pid_t;

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup(old: c_int) -> c_int {
    if let Some(r) = door_dup(old, 0, 0, 0) {
        return r;
    }
    let Some(f) = next!("dup", DupFn) else {
        return nosys();
    };
    // SAFETY: the caller's argument, as for dup(2).
    unsafe { f(old) }
}

/// dup2/dup3 through the next definition, with libdoor told that `new`
/// is replaced (its fast path must not take `new` for what it named).
fn replace(new: c_int, call: impl FnOnce() -> c_int) -> c_int {
    let l = if active() { lib_if_loaded(false) } else { None };
    if let Some(l) = &l {
        l.closing(new);
    }
    let r = call();
    if let Some(l) = &l {
        let e = errno();
        l.closed(new);
        set_errno(e);
    }
    r
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    if old != new
        && let Some(r) = door_dup(old, 1, new, 0)
    {
        return r;
    }
    let Some(f) = next!("dup2", Dup2Fn) else {
        return nosys();
    };
    if old == new {
        // SAFETY: the caller's arguments, as for dup2(2).
        return unsafe { f(old, new) };
    }
    // SAFETY: as above.
    replace(new, || unsafe { f(old, new) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    if old != new
        && flags & !libc::O_CLOEXEC == 0
        && let Some(r) = door_dup(old, 1, new, flags)
    {
        return r;
    }
    let Some(f) = next!("dup3", Dup3Fn) else {
        return nosys();
    };
    if old == new {
        // SAFETY: the caller's arguments, as for dup3(2) (EINVAL).
        return unsafe { f(old, new, flags) };
    }
    // SAFETY: as above.
    replace(new, || unsafe { f(old, new, flags) })
}

fn fcntl_dup(fd: c_int, cmd: c_int, arg: usize) -> Option<c_int> {
    if cmd != libc::F_DUPFD && cmd != libc::F_DUPFD_CLOEXEC {
        return None;
    }
    let min = c_int::try_from(arg as i64).ok()?;
    let flags = if cmd == libc::F_DUPFD_CLOEXEC {
        libc::O_CLOEXEC
    } else {
        0
    };
    door_dup(fd, 2, min, flags)
}

// fcntl(2) is variadic: its one optional argument is read as the third
// integer-class argument (an int or a pointer), as a variadic caller
// passes it on x86-64 and aarch64 Linux, and passed on unchanged.
macro_rules! fcntl_fn {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(fd: c_int, cmd: c_int, arg: usize) -> c_int {
            if let Some(r) = fcntl_dup(fd, cmd, arg) {
                return r;
            }
            let Some(f) = next!($sym, FcntlFn) else {
                return nosys();
            };
            // SAFETY: the caller's arguments, as for fcntl(2).
            unsafe { f(fd, cmd, arg) }
        }
    };
}
fcntl_fn!(fcntl, "fcntl");
fcntl_fn!(fcntl64, "fcntl64");

macro_rules! fork_fn {
    ($name:ident, $sym:literal) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name() -> libc::pid_t {
            let Some(f) = next!($sym, ForkFn) else {
                return nosys();
            };
            // SAFETY: as for fork(2).
            let pid = unsafe { f() };
            if pid == 0
                && active()
                && let Some(l) = lib_if_loaded(false)
            {
                // The child, after libc's and everyone's fork handlers: its
                // inherited door descriptors get references of their own.
                guarded(|| l.fork_child());
            }
            pid
        }
    };
}
fork_fn!(fork, "fork");
fork_fn!(__fork, "__fork");
