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
    Fail::new(code::ACCESS, format!("{label}: {}", ffi::strerror(e)))
}

/// Opens `arg` the way a client of a named door does (`open(path,
/// O_RDONLY)`), or takes a copy of another process's descriptor `PID:FD`:
/// through `/proc/PID/fd/FD` for a file, with `pidfd_getfd` for a socket
/// (both need the right to inspect that process, as `ls -l /proc/PID/fd`
/// or a debugger does).
pub fn open(arg: &str) -> Result<Target, Fail> {
    if let Some((pid, fd)) = parse_pidfd(arg) {
        let p = cstr(&format!("/proc/{pid}/fd/{fd}"))?;
        // SAFETY: p is NUL-terminated.
        let f = unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if f >= 0 {
            return Ok(Target {
                fd: f,
                label: arg.to_string(),
            });
        }
        let e = ffi::errno();
        if e != libc::ENXIO {
            return Err(open_failed(arg, e));
        }
        // A socket (a door's descriptor): copy it out of the process.
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
            Fail::new(code::NOT_A_DOOR, format!("{label}: not a door"))
        } else {
            Fail::new(
                code::FAILED,
                format!("{label}: door_info: {}", ffi::strerror(e)),
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
