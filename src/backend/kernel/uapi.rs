//! `repr(C)` mirrors of the `/dev/door` interface
//! (`kmod/include/uapi/linux/libdoor.h`), with compile-time size and
//! offset checks, and the ioctl numbers.

use std::mem::{offset_of, size_of};

pub const VERSION: u32 = 2;
pub const DEVICE: &std::ffi::CStr = c"/dev/door";
/// `DOOR_UAPI_QUERY`: INFO of the door this thread is bound to.
pub const QUERY: i32 = -2;

pub const CALL_NO_RESULTS: u32 = 0x1;
pub const CALL_MAPPED: u32 = 0x100;

pub const INV_UNREF: u32 = 0x1;
pub const INV_POOL_EMPTY: u32 = 0x2;

pub const UCRED_KERNEL: u32 = 0x1;

pub const PARAM_DESC_MAX: u32 = 1;
pub const PARAM_DATA_MAX: u32 = 2;
pub const PARAM_DATA_MIN: u32 = 3;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Desc {
    pub attributes: u32,
    pub descriptor: i32,
    pub id: u64,
    pub resv: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Version {
    pub api: u32,
    pub features: u32,
    pub max_desc: u32,
    pub resv: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Create {
    pub pc: u64,
    pub cookie: u64,
    pub attributes: u32,
    pub fd: i32,
    pub id: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Fd {
    pub fd: i32,
    pub flags: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Info {
    pub fd: i32,
    pub target: i32,
    pub pc: u64,
    pub cookie: u64,
    pub id: u64,
    pub attributes: u32,
    pub resv: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Call {
    pub fd: i32,
    pub flags: u32,
    pub data_ptr: u64,
    pub data_size: u64,
    pub desc_ptr: u64,
    pub desc_num: u32,
    pub resv: u32,
    pub rbuf: u64,
    pub rsize: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Invocation {
    pub door_id: u64,
    pub pc: u64,
    pub cookie: u64,
    pub data_ptr: u64,
    pub data_size: u64,
    pub desc_ptr: u64,
    pub desc_num: u32,
    pub flags: u32,
    pub attributes: u32,
    pub resv: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Return {
    pub data_ptr: u64,
    pub data_size: u64,
    pub desc_ptr: u64,
    pub desc_num: u32,
    pub flags: u32,
    pub area_ptr: u64,
    pub area_size: u64,
    pub inv: Invocation,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Ucred {
    pub euid: u32,
    pub ruid: u32,
    pub suid: u32,
    pub egid: u32,
    pub rgid: u32,
    pub sgid: u32,
    pub pid: i32,
    pub ngroups: u32,
    pub groups_ptr: u64,
    pub groups_cap: u32,
    pub flags: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Param {
    pub fd: i32,
    pub param: u32,
    pub value: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Config {
    pub cancel_signal: u32,
    pub resv: u32,
}

const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | (0xD0 << 8) | nr
}
const R: u64 = 2;
const W: u64 = 1;
const RW: u64 = 3;

pub const IOC_VERSION: u64 = ioc(R, 0x00, size_of::<Version>());
pub const IOC_CREATE: u64 = ioc(RW, 0x01, size_of::<Create>());
pub const IOC_REVOKE: u64 = ioc(W, 0x02, size_of::<Fd>());
pub const IOC_INFO: u64 = ioc(RW, 0x03, size_of::<Info>());
pub const IOC_CALL: u64 = ioc(RW, 0x04, size_of::<Call>());
pub const IOC_RETURN: u64 = ioc(RW, 0x05, size_of::<Return>());
pub const IOC_BIND: u64 = ioc(W, 0x06, size_of::<Fd>());
pub const IOC_UNBIND: u64 = ioc(0, 0x07, 0);
pub const IOC_UCRED: u64 = ioc(RW, 0x08, size_of::<Ucred>());
pub const IOC_GETPARAM: u64 = ioc(RW, 0x09, size_of::<Param>());
pub const IOC_SETPARAM: u64 = ioc(W, 0x0A, size_of::<Param>());
pub const IOC_THREAD_EXIT: u64 = ioc(0, 0x0B, 0);
pub const IOC_CONFIG: u64 = ioc(W, 0x0C, size_of::<Config>());
pub const IOC_OPEN: u64 = ioc(W, 0x0D, size_of::<Fd>());
/// `Fd::flags` of OPEN: the new descriptor is close-on-exec.
pub const FD_CLOEXEC: u32 = 0x1;

// The layouts of libdoor.h, field by field.
const _: () = {
    assert!(size_of::<Desc>() == 24 && offset_of!(Desc, id) == 8 && offset_of!(Desc, resv) == 16);
    // A door_desc_t array is passed to the module as it is.
    assert!(size_of::<crate::abi::door_desc_t>() == size_of::<Desc>());
    assert!(size_of::<Version>() == 16);
    assert!(
        size_of::<Create>() == 32 && offset_of!(Create, fd) == 20 && offset_of!(Create, id) == 24
    );
    assert!(size_of::<Fd>() == 8);
    assert!(
        size_of::<Info>() == 40 && offset_of!(Info, pc) == 8 && offset_of!(Info, attributes) == 32
    );
    assert!(size_of::<Call>() == 56);
    assert!(offset_of!(Call, data_ptr) == 8 && offset_of!(Call, desc_num) == 32);
    assert!(offset_of!(Call, rbuf) == 40 && offset_of!(Call, rsize) == 48);
    assert!(size_of::<Invocation>() == 64 && offset_of!(Invocation, desc_num) == 48);
    assert!(offset_of!(Invocation, attributes) == 56);
    assert!(size_of::<Return>() == 112 && offset_of!(Return, area_ptr) == 32);
    assert!(offset_of!(Return, inv) == 48);
    assert!(size_of::<Ucred>() == 48 && offset_of!(Ucred, groups_ptr) == 32);
    assert!(offset_of!(Ucred, flags) == 44);
    assert!(size_of::<Param>() == 16 && offset_of!(Param, value) == 8);
    assert!(size_of::<Config>() == 8);
    // Two numbers checked against the header's _IOR/_IOWR expansion.
    assert!(IOC_VERSION == 0x8010_D000);
    assert!(IOC_RETURN == 0xC070_D005);
};
