//! The client side: `door_call` and `door_info` as ioctls. The module
//! applies illumos' checks in illumos' order and places the results
//! itself (at `rbuf` when they fit, else in a new mapping it makes in the
//! caller, the descriptors after the data rounded up to 24 bytes).

use std::os::fd::RawFd;

use super::{ioctl, no_door, uapi};
use crate::abi::*;
use crate::sys::{self, R};

/// `door_call` (man/door_call.3c).
pub fn call(d: RawFd, params: *mut door_arg_t) -> R<()> {
    let arg = if params.is_null() {
        None
    } else {
        Some(sys::copy_in(params)?)
    };
    let mut c = uapi::Call {
        fd: d,
        ..Default::default()
    };
    match &arg {
        Some(a) => {
            c.data_ptr = a.data_ptr as u64;
            c.data_size = a.data_size as u64;
            c.desc_ptr = a.desc_ptr as u64;
            c.desc_num = a.desc_num;
            c.rbuf = a.rbuf as u64;
            c.rsize = a.rsize as u64;
        }
        None => c.flags = uapi::CALL_NO_RESULTS,
    }
    call_ioctl(&mut c)?;
    let Some(mut a) = arg else {
        return Ok(());
    };
    let (size, nd) = (c.data_size as usize, c.desc_num);
    let mapped = c.flags & uapi::CALL_MAPPED != 0;
    if size == 0 && nd == 0 {
        a.data_size = 0;
        a.desc_num = 0;
        return sys::copy_out(params, &a);
    }
    let dest = if mapped { c.rbuf as *mut u8 } else { a.rbuf };
    if nd > 0 {
        let off = size.div_ceil(size_of::<door_desc_t>()) * size_of::<door_desc_t>();
        a.desc_ptr = dest.wrapping_add(off).cast();
    }
    if !mapped || size > 0 {
        a.data_ptr = dest;
    }
    if mapped {
        a.rbuf = dest;
        a.rsize = c.rsize as usize;
    }
    a.data_size = size;
    a.desc_num = nd;
    sys::copy_out(params, &a)
}

/// The CALL ioctl, a cancellation point as door_call is on illumos: the
/// thread takes asynchronous cancellation for the system call only (as
/// glibc does around its own blocking calls), so a pthread_cancel ends the
/// wait (the module sees a handled signal: the call is aborted and its
/// server thread told) and the thread is cancelled then. No retry on
/// EINTR: a caught signal ends a door call (the module restarts the call
/// by itself after a stop).
fn call_ioctl(c: &mut uapi::Call) -> R<()> {
    super::with_ctl(|fd| {
        let mut old = 0;
        // SAFETY: changes this thread's cancellation type; the frames
        // between here and the application hold nothing with a destructor.
        unsafe { sys::pthread_setcanceltype(sys::PTHREAD_CANCEL_ASYNCHRONOUS, &mut old) };
        // SAFETY: CALL reads and writes one struct door_uapi_call.
        let r = unsafe { libc::ioctl(fd, uapi::IOC_CALL, c as *mut uapi::Call) };
        let e = sys::errno();
        // SAFETY: as above.
        unsafe { sys::pthread_setcanceltype(old, std::ptr::null_mut()) };
        if r < 0 {
            // setcanceltype may have changed errno: the ioctl's is wanted.
            sys::set_errno(e);
        }
        r
    })
}

/// `door_info` of `d`, or of the door this thread is bound to
/// (`uapi::QUERY`).
pub fn info(d: RawFd) -> R<door_info_t> {
    let mut i = uapi::Info {
        fd: d,
        ..Default::default()
    };
    ioctl(uapi::IOC_INFO, &mut i).map_err(no_door)?;
    Ok(door_info_t {
        di_target: i.target,
        di_proc: i.pc,
        di_data: i.cookie,
        di_attributes: i.attributes,
        di_uniquifier: i.id,
        di_resv: [0; 4],
    })
}

use std::mem::size_of;
