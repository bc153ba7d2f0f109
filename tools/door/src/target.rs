//! Naming a door on the command line (a path, or PID:FD) and describing it.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use door::abi::*;

use crate::ffi;
use crate::{Fail, code};

/// An open descriptor of what the user named, closed on drop.
pub struct Target {
    pub fd: i32,
    pub label: String,
}

impl Drop for Target {
    fn drop(&mut self) {
        // SAFETY: our own descriptor.
        unsafe { libc::close(self.fd) };
    }
}

/// `PID:FD`, when no file of that name exists.
fn parse_pidfd(s: &str) -> Option<(i32, i32)> {
    let (p, f) = s.split_once(':')?;
    let pid: i32 = p.parse().ok()?;
    let fd: i32 = f.parse().ok()?;
    if pid <= 0 || fd < 0 || std::path::Path::new(s).exists() {
        return None;
    }
    Some((pid, fd))
}

fn cstr(s: &str) -> Result<CString, Fail> {
    CString::new(s).map_err(|_| Fail::new(code::USAGE, format!("{s:?}: contains a NUL byte")))
}

fn open_failed(label: &str, e: i32) -> Fail {
    Fail::new(
        code::ACCESS,
        format!("{}: {}", shown(label), ffi::strerror(e)),
    )
}

/// Opens `arg` the way a client of a named door does (`open(path,
/// O_RDONLY)`), or takes a copy of another process's descriptor `PID:FD`.
///
/// Nothing is opened that could act on being opened: the name is first
/// opened with `O_PATH` (which runs no driver and blocks on nothing) and
/// looked at. A regular file or directory is then opened for reading
/// through that very descriptor (`/proc/self/fd/N`: the same file even if
/// the name changed meanwhile), non-blocking and never as a controlling
/// terminal; a socket or a door is copied out of the process with
/// `pidfd_getfd` (`PID:FD` only: both need the right to inspect that
/// process, as `ls -l /proc/PID/fd` or a debugger does); anything else
/// (a FIFO, a device) is refused as not a door. `door ls`, run as root,
/// opens names that other users chose: a FIFO must not hang it, and a
/// device must not be opened on their say-so.
pub fn open(arg: &str) -> Result<Target, Fail> {
    let pidfd_arg = parse_pidfd(arg);
    let path = match pidfd_arg {
        Some((pid, fd)) => format!("/proc/{pid}/fd/{fd}"),
        None => arg.to_string(),
    };
    let p = cstr(&path)?;
    // SAFETY: p is NUL-terminated.
    let opath = unsafe { libc::open(p.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if opath < 0 {
        return Err(open_failed(arg, ffi::errno()));
    }
    let opath = Target {
        fd: opath,
        label: arg.to_string(),
    };
    // SAFETY: stat is plain old data; zeroed is valid; the descriptor is ours.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(opath.fd, &mut st) } != 0 {
        return Err(open_failed(arg, ffi::errno()));
    }
    let kind = st.st_mode & libc::S_IFMT;
    if kind == libc::S_IFREG || kind == libc::S_IFDIR {
        let again = cstr(&format!("/proc/self/fd/{}", opath.fd))?;
        // SAFETY: again is NUL-terminated.
        let f = unsafe {
            libc::open(
                again.as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK,
            )
        };
        if f < 0 {
            return Err(open_failed(arg, ffi::errno()));
        }
        return Ok(Target {
            fd: f,
            label: arg.to_string(),
        });
    }
    // A socket, or the kernel backend's door file (neither can be opened
    // again by name): copy the descriptor itself.
    const S_IFDOOR: libc::mode_t = 0o150000;
    if let (Some((pid, fd)), libc::S_IFSOCK | S_IFDOOR) = (pidfd_arg, kind) {
        // SAFETY: plain system calls with integer arguments.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        if pidfd < 0 {
            return Err(open_failed(arg, ffi::errno()));
        }
        // SAFETY: as above.
        let f = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) } as i32;
        let e = ffi::errno();
        // SAFETY: our own descriptor.
        unsafe { libc::close(pidfd) };
        if f < 0 {
            return Err(open_failed(arg, e));
        }
        return Ok(Target {
            fd: f,
            label: arg.to_string(),
        });
    }
    Err(Fail::new(
        code::NOT_A_DOOR,
        format!(
            "{}: not a door (not opened: {})",
            shown(arg),
            type_name(kind)
        ),
    ))
}

/// A file the user names to be passed (`door call --desc`): any file the
/// user may read, opened as it is (a device, a FIFO too: the user chose
/// it); `PID:FD` as in `open`.
pub fn open_desc(arg: &str) -> Result<Target, Fail> {
    if parse_pidfd(arg).is_some() {
        return open(arg);
    }
    let p = cstr(arg)?;
    // SAFETY: p is NUL-terminated.
    let f = unsafe {
        libc::open(
            p.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY,
        )
    };
    if f < 0 {
        return Err(open_failed(arg, ffi::errno()));
    }
    Ok(Target {
        fd: f,
        label: arg.to_string(),
    })
}

fn type_name(kind: libc::mode_t) -> &'static str {
    match kind {
        libc::S_IFIFO => "a FIFO",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFSOCK => "a socket",
        libc::S_IFLNK => "a symbolic link",
        _ => "not a regular file or directory",
    }
}

/// `s` as it may be shown on a terminal: control characters, backslashes
/// and invalid UTF-8 as escapes (`\x1b`), as `ls -b` does, so that a name
/// another user chose cannot move the cursor or retitle the window.
pub fn shown(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => {
                use std::fmt::Write;
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// What `door_info` and `door_getparam` say about a door.
pub struct Facts {
    pub info: door_info_t,
    pub data_min: Option<usize>,
    pub data_max: Option<usize>,
    pub desc_max: Option<usize>,
    pub backend: String,
}

/// `door_info` of `fd`; EBADF (not a door) becomes the NOT_A_DOOR exit.
pub fn facts(fd: i32, label: &str) -> Result<Facts, Fail> {
    let mut info = door_info_t::default();
    // SAFETY: info is a writable door_info_t.
    if unsafe { ffi::door_info(fd, &mut info) } != 0 {
        let e = ffi::errno();
        return Err(if e == libc::EBADF {
            Fail::new(code::NOT_A_DOOR, format!("{}: not a door", shown(label)))
        } else {
            Fail::new(
                code::FAILED,
                format!("{}: door_info: {}", shown(label), ffi::strerror(e)),
            )
        });
    }
    let param = |p: i32| {
        let mut v = 0usize;
        // SAFETY: v is writable.
        (unsafe { ffi::door_getparam(fd, p, &mut v) } == 0).then_some(v)
    };
    Ok(Facts {
        info,
        data_min: param(DOOR_PARAM_DATA_MIN),
        data_max: param(DOOR_PARAM_DATA_MAX),
        desc_max: param(DOOR_PARAM_DESC_MAX),
        backend: backend_of(fd),
    })
}

/// Which backend a door descriptor belongs to: the userspace backend's
/// doors are sockets whose peer is named `ldoor1:…`.
pub fn backend_of(fd: i32) -> String {
    // SAFETY: sockaddr_un is plain old data; zeroed is valid.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: sa is writable for len bytes.
    let r = unsafe { libc::getpeername(fd, (&mut sa as *mut libc::sockaddr_un).cast(), &mut len) };
    if r == 0 && len as usize > 2 && sa.sun_path[0] == 0 {
        let name: Vec<u8> = sa.sun_path[1..(len as usize - 2)]
            .iter()
            .map(|&c| c as u8)
            .collect();
        if name.starts_with(b"ldoor1:") {
            return "user".into();
        }
    }
    if let Ok(l) = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        && l.as_os_str().as_bytes().starts_with(b"anon_inode:")
    {
        return "kernel".into();
    }
    // SAFETY: the library returns a static string.
    unsafe { std::ffi::CStr::from_ptr(ffi::libdoor_backend()) }
        .to_string_lossy()
        .into_owned()
}

const ATTR_NAMES: &[(u32, &str)] = &[
    (DOOR_UNREF, "DOOR_UNREF"),
    (DOOR_PRIVATE, "DOOR_PRIVATE"),
    (DOOR_LOCAL, "DOOR_LOCAL"),
    (DOOR_REVOKED, "DOOR_REVOKED"),
    (DOOR_UNREF_MULTI, "DOOR_UNREF_MULTI"),
    (DOOR_IS_UNREF, "DOOR_IS_UNREF"),
    (DOOR_REFUSE_DESC, "DOOR_REFUSE_DESC"),
    (DOOR_NO_CANCEL, "DOOR_NO_CANCEL"),
    (DOOR_NO_DEPLETION_CB, "DOOR_NO_DEPLETION_CB"),
    (DOOR_PRIVCREATE, "DOOR_PRIVCREATE"),
    (DOOR_DEPLETION_CB, "DOOR_DEPLETION_CB"),
];

/// The attribute names of `a` (unknown bits in hex), "-" for none.
pub fn attr_names(a: u32) -> Vec<String> {
    let mut v: Vec<String> = ATTR_NAMES
        .iter()
        .filter(|(b, _)| a & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known: u32 = ATTR_NAMES.iter().map(|(b, _)| b).fold(0, |x, y| x | y);
    if a & !known != 0 {
        v.push(format!("{:#x}", a & !known));
    }
    v
}

pub fn attr_text(a: u32) -> String {
    let v = attr_names(a);
    if v.is_empty() {
        "-".into()
    } else {
        v.join("|")
    }
}

pub fn limit_text(v: Option<usize>) -> String {
    match v {
        None => "-".into(),
        Some(usize::MAX) => "unlimited".into(),
        Some(v) => v.to_string(),
    }
}

pub fn limit_json(v: Option<usize>) -> String {
    match v {
        None => "null".into(),
        Some(v) => v.to_string(),
    }
}

/// The kind of file a descriptor names (for received descriptors).
pub fn kind_of(fd: i32) -> String {
    let mut info = door_info_t::default();
    // SAFETY: info is a writable door_info_t.
    if unsafe { ffi::door_info(fd, &mut info) } == 0 {
        return format!("door (id {}, server pid {})", { info.di_uniquifier }, {
            info.di_target
        });
    }
    // SAFETY: stat is plain old data; zeroed is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is writable.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return "invalid".into();
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => "regular file",
        libc::S_IFDIR => "directory",
        libc::S_IFCHR => "character device",
        libc::S_IFBLK => "block device",
        libc::S_IFIFO => "fifo",
        libc::S_IFSOCK => "socket",
        libc::S_IFLNK => "symbolic link",
        _ => "unknown",
    }
    .into()
}
