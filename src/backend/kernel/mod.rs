//! The kernel backend: doors are objects of the `/dev/door` module
//! (`kmod/`), driven by ioctls on one control descriptor per process.
//! The kernel keeps the doors, their pools of parked server threads, the
//! calls in progress, the callers' credentials and the reference counts;
//! this backend turns the C functions into ioctls and runs the server
//! threads (`server.rs`), whose `door_return` is the module's
//! reply-and-wait.

use std::ffi::CStr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

use crate::abi::*;
use crate::backend::{Backend, Params};
use crate::sys::creds::Creds;
use crate::sys::{self, R};

pub mod attach;
pub mod client;
pub mod server;
pub mod uapi;

/// The kernel backend.
pub struct Kernel;

/// The one instance.
pub static KERNEL: Kernel = Kernel;

/// The control descriptor (`/dev/door`), -1 until opened.
static CTL: AtomicI32 = AtomicI32::new(-1);
/// Its device number, to recognise it again.
static CTL_RDEV: AtomicU64 = AtomicU64::new(0);
static CTL_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
static TOLD: AtomicBool = AtomicBool::new(false);

/// Opens `/dev/door` and checks its interface version: the descriptor
/// (library-owned, close-on-exec, at 256 or above), or None.
fn open_ctl() -> Option<RawFd> {
    let open = || {
        // SAFETY: open of a NUL-terminated path.
        unsafe { libc::open(uapi::DEVICE.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) }
    };
    let mut fd = open();
    if fd < 0 && sys::errno() == libc::EMFILE {
        // A caller at its descriptor limit: the library's descriptor goes
        // above it, as on illumos a door call needs no free slot.
        if let Some(_h) = sys::Headroom::raise() {
            fd = open();
        }
    }
    if fd < 0 {
        return None;
    }
    let fd = sys::own(fd);
    let mut v = uapi::Version::default();
    // SAFETY: the VERSION ioctl writes one struct door_uapi_version.
    let r = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            uapi::IOC_VERSION,
            &mut v,
        )
    };
    if r != 0 || v.api != uapi::VERSION {
        return None;
    }
    if let Ok(st) = sys::fstat(std::os::fd::AsRawFd::as_raw_fd(&fd)) {
        CTL_RDEV.store(st.st_rdev, Ordering::Release);
    }
    Some(fd.keep())
}

/// Is the module there, with the interface this library speaks? Opens
/// the control descriptor for good when it is.
pub fn available() -> bool {
    ctl_open().is_some()
}

fn ctl_open() -> Option<RawFd> {
    let fd = CTL.load(Ordering::Acquire);
    // The application may have closed our descriptor (closefrom): the
    // number is then not ours any more, and a new one is opened.
    if fd >= 0 && sys::fdown::owned(fd) {
        return Some(fd);
    }
    let _g = sys::lock(&CTL_LOCK);
    let fd = CTL.load(Ordering::Acquire);
    if fd >= 0 && sys::fdown::owned(fd) {
        return Some(fd);
    }
    let fd = open_ctl()?;
    CTL.store(fd, Ordering::Release);
    Some(fd)
}

/// The control descriptor; ENOTSUP (with one message on standard error
/// per process) when the module is missing although this backend was
/// asked for (`LIBDOOR_BACKEND=kernel`).
pub fn ctl() -> R<RawFd> {
    match ctl_open() {
        Some(fd) => Ok(fd),
        None => {
            if !TOLD.swap(true, Ordering::AcqRel) {
                let msg = b"libdoor: LIBDOOR_BACKEND=kernel, but /dev/door is missing or speaks another interface version: door calls fail with ENOTSUP\n";
                // SAFETY: write of a static buffer to standard error.
                unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
            }
            Err(libc::ENOTSUP)
        }
    }
}

/// Is `fd` still our `/dev/door` descriptor?
fn is_ctl(fd: RawFd) -> bool {
    sys::fstat(fd).is_ok_and(|st| {
        st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == CTL_RDEV.load(Ordering::Acquire)
    })
}

/// Runs `op` (an ioctl) on the control descriptor. If it fails because
/// that number no longer names `/dev/door` (the application closed every
/// descriptor while another thread of ours was opening it again, so the
/// new one was closed too), the descriptor is opened afresh and `op` runs
/// once more: a failed lookup of the control descriptor had no effect.
pub fn with_ctl(mut op: impl FnMut(RawFd) -> libc::c_int) -> R<()> {
    let fd = ctl()?;
    if op(fd) >= 0 {
        return Ok(());
    }
    let e = sys::errno();
    if !matches!(e, libc::EBADF | libc::ENOTTY) || is_ctl(fd) {
        return Err(e);
    }
    if CTL
        .compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        // The number is not ours any more: forget it without closing it.
        sys::fdown::disown(fd);
    }
    let fd = ctl()?;
    if op(fd) >= 0 {
        Ok(())
    } else {
        Err(sys::errno())
    }
}

/// One ioctl on the control descriptor.
pub fn ioctl<T>(req: u64, arg: *mut T) -> R<()> {
    // SAFETY: `arg` points to the structure `req` reads and writes (or is
    // unused for the argument-less requests).
    with_ctl(|fd| unsafe { libc::ioctl(fd, req, arg) })
}

/// `ctl`'s errno for functions that name a door: without the module no
/// descriptor can be a door.
fn no_door(e: i32) -> i32 {
    if e == libc::ENOTSUP { libc::EBADF } else { e }
}

fn param(d: RawFd, which: u32) -> R<u64> {
    let mut p = uapi::Param {
        fd: d,
        param: which,
        value: 0,
    };
    ioctl(uapi::IOC_GETPARAM, &mut p).map_err(no_door)?;
    Ok(p.value)
}

fn clamp(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl Backend for Kernel {
    fn name(&self) -> &'static CStr {
        c"kernel"
    }

    fn create(&self, proc_: usize, cookie: usize, attrs: u32) -> R<i32> {
        server::create(proc_, cookie, attrs)
    }

    fn xcreate(
        &self,
        proc_: usize,
        cookie: usize,
        attrs: u32,
        crf: door_xcreate_server_func_t,
        setupf: Option<door_xcreate_thrsetup_func_t>,
        crcookie: usize,
        nthread: i32,
    ) -> R<i32> {
        server::xcreate(proc_, cookie, attrs, crf, setupf, crcookie, nthread)
    }

    fn call(&self, d: RawFd, params: *mut door_arg_t) -> R<()> {
        attach::on_door(d, || client::call(d, params))
    }

    fn door_return(
        &self,
        data: *const u8,
        size: usize,
        desc: *const door_desc_t,
        ndesc: u32,
    ) -> i32 {
        server::door_return(data, size, desc, ndesc)
    }

    fn info(&self, d: RawFd) -> R<door_info_t> {
        attach::on_door(d, || client::info(d))
    }

    fn bound_info(&self) -> R<door_info_t> {
        client::info(uapi::QUERY)
    }

    fn revoke(&self, d: RawFd) -> R<()> {
        attach::on_door(d, || server::revoke(d))
    }

    fn caller_ids(&self) -> Option<door_cred_t> {
        let c = server::caller(false)?;
        Some(door_cred_t {
            dc_euid: c.uid[1],
            dc_egid: c.gid[1],
            dc_ruid: c.uid[0],
            dc_rgid: c.gid[0],
            dc_pid: c.pid,
            dc_resv: [0; 4],
        })
    }

    fn caller_creds(&self) -> Option<Creds> {
        server::caller(true)
    }

    fn bind(&self, d: RawFd) -> R<()> {
        attach::on_door(d, || server::bind(d))
    }

    fn unbind(&self) -> R<()> {
        server::unbind()
    }

    fn params(&self, d: RawFd) -> R<(Option<Params>, u32)> {
        let info = self.info(d)?;
        let p = Params {
            data_min: clamp(param(d, uapi::PARAM_DATA_MIN)?),
            data_max: clamp(param(d, uapi::PARAM_DATA_MAX)?),
            desc_max: clamp(param(d, uapi::PARAM_DESC_MAX)?),
        };
        Ok((Some(p), info.di_attributes))
    }

    fn set_params(&self, d: RawFd, change: &mut dyn FnMut(&mut Params, u32) -> R<()>) -> R<()> {
        // Only the door's server may change its limits (the module checks
        // it again when they are stored).
        let (p, attrs) = self.params(d)?;
        if attrs & DOOR_LOCAL == 0 {
            return Err(libc::EPERM);
        }
        if attrs & DOOR_REVOKED != 0 {
            return Err(libc::EBADF);
        }
        let old = p.unwrap_or(Params {
            data_min: 0,
            data_max: usize::MAX,
            desc_max: 0,
        });
        let mut new = old;
        change(&mut new, attrs)?;
        for (which, o, n) in [
            (uapi::PARAM_DATA_MIN, old.data_min, new.data_min),
            (uapi::PARAM_DATA_MAX, old.data_max, new.data_max),
            (uapi::PARAM_DESC_MAX, old.desc_max, new.desc_max),
        ] {
            if o != n {
                let mut p = uapi::Param {
                    fd: d,
                    param: which,
                    value: n as u64,
                };
                ioctl(uapi::IOC_SETPARAM, &mut p).map_err(no_door)?;
            }
        }
        Ok(())
    }

    fn set_server_func(&self, f: Option<door_server_func_t>) -> door_server_func_t {
        server::set_server_func(f)
    }

    fn fattach(&self, fd: RawFd, path: *const libc::c_char) -> R<()> {
        attach::fattach(fd, path)
    }

    fn fdetach(&self, path: *const libc::c_char) -> R<()> {
        attach::fdetach(path)
    }

    fn credentials_changed(&self) {
        // Nothing to do: the module takes the caller's credentials at
        // each call.
    }

    fn only_daemons_besides_me(&self, extra: usize) -> bool {
        sys::threads::live_threads() <= extra + 1 + attach::threads()
    }

    fn count_app_daemons_with(&self, _count: fn() -> usize) {
        // This backend's one daemon thread (the rendezvous of fattach)
        // has no tick that could end the process once only daemons are
        // left.
    }

    // Preload mode: the module's door files are doors to fstat already,
    // and the module counts every reference; only attached paths need
    // the library.

    fn path_is_door(&self, dirfd: RawFd, path: &CStr, nofollow: bool) -> bool {
        crate::backend::rendezvous::path_attached(dirfd, path, nofollow)
    }

    fn opened(&self, fd: RawFd, directory: bool) -> bool {
        attach::opened(fd, directory)
    }
}
