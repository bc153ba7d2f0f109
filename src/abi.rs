//! Rust mirrors of the types and constants in `include/sys/door.h`,
//! `include/door.h` and `include/ucred.h`, laid out exactly as on
//! illumos amd64. Every size and offset is asserted at
//! compile time; `compat-tests/abi` asserts the same numbers from C.
#![allow(non_camel_case_types)]

use core::mem::{align_of, offset_of, size_of};

/// `typedef unsigned int uint_t;`
pub type uint_t = u32;
/// `typedef unsigned long long door_ptr_t;`
pub type door_ptr_t = u64;
/// `typedef unsigned long long door_id_t;`
pub type door_id_t = u64;
/// `typedef unsigned int door_attr_t;`
pub type door_attr_t = u32;

// ---- door_create attributes ----
pub const DOOR_UNREF: u32 = 0x01;
pub const DOOR_PRIVATE: u32 = 0x02;
pub const DOOR_UNREF_MULTI: u32 = 0x10;
pub const DOOR_REFUSE_DESC: u32 = 0x40;
pub const DOOR_NO_CANCEL: u32 = 0x80;
pub const DOOR_NO_DEPLETION_CB: u32 = 0x100;
// ---- reported attributes ----
pub const DOOR_LOCAL: u32 = 0x04;
pub const DOOR_REVOKED: u32 = 0x08;
pub const DOOR_IS_UNREF: u32 = 0x20;
pub const DOOR_PRIVCREATE: u32 = 0x200;
pub const DOOR_DEPLETION_CB: u32 = 0x400;
// ---- masks ----
pub const DOOR_CREATE_MASK: u32 = 0x3D3;
pub const DOOR_ATTR_MASK: u32 = 0x3FF;
// ---- descriptor tags ----
pub const DOOR_DESCRIPTOR: u32 = 0x10000;
pub const DOOR_RELEASE: u32 = 0x40000;
// ---- sentinels ----
pub const DOOR_QUERY: i32 = -2;

/// The file type of a door (`S_IFDOOR`, illumos <sys/stat.h>), which the
/// module's door files report to `fstat`.
pub const S_IFDOOR: u32 = 0xD000;
/// `#define DOOR_UNREF_DATA ((void *)1)`
pub const DOOR_UNREF_DATA: usize = 1;
// ---- parameters ----
pub const DOOR_PARAM_DESC_MAX: i32 = 1;
pub const DOOR_PARAM_DATA_MAX: i32 = 2;
pub const DOOR_PARAM_DATA_MIN: i32 = 3;
/// `door_max_desc`: most descriptors in one call or one return (illumos' tunable, 1024).
pub const DOOR_MAX_DESC: usize = 1024;
/// `#define P_MYID (-1)`
pub const P_MYID: i32 = -1;

/// ```c
/// struct { int d_descriptor; door_id_t d_id; } d_desc;
/// ```
#[repr(C, packed(4))]
#[derive(Clone, Copy)]
pub struct door_desc_inner {
    pub d_descriptor: i32,
    pub d_id: door_id_t,
}

/// ```c
/// union { struct {...} d_desc; int d_resv[5]; } d_data;
/// ```
#[repr(C, packed(4))]
#[derive(Clone, Copy)]
pub union door_desc_data {
    pub d_desc: door_desc_inner,
    pub d_resv: [i32; 5],
}

/// ```c
/// typedef struct door_desc {
///     door_attr_t d_attributes;
///     union { struct { int d_descriptor; door_id_t d_id; } d_desc;
///             int d_resv[5]; } d_data;
/// } door_desc_t;            /* #pragma pack(4) on amd64 */
/// ```
#[repr(C, packed(4))]
#[derive(Clone, Copy)]
pub struct door_desc_t {
    pub d_attributes: door_attr_t,
    pub d_data: door_desc_data,
}

/// ```c
/// typedef struct door_info {
///     pid_t di_target; door_ptr_t di_proc; door_ptr_t di_data;
///     door_attr_t di_attributes; door_id_t di_uniquifier; int di_resv[4];
/// } door_info_t;            /* #pragma pack(4) on amd64 */
/// ```
#[repr(C, packed(4))]
#[derive(Clone, Copy, Default)]
pub struct door_info_t {
    pub di_target: i32,
    pub di_proc: door_ptr_t,
    pub di_data: door_ptr_t,
    pub di_attributes: door_attr_t,
    pub di_uniquifier: door_id_t,
    pub di_resv: [i32; 4],
}

/// ```c
/// typedef struct door_cred {
///     uid_t dc_euid; gid_t dc_egid; uid_t dc_ruid; gid_t dc_rgid;
///     pid_t dc_pid; int dc_resv[4];
/// } door_cred_t;
/// ```
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct door_cred_t {
    pub dc_euid: u32,
    pub dc_egid: u32,
    pub dc_ruid: u32,
    pub dc_rgid: u32,
    pub dc_pid: i32,
    pub dc_resv: [i32; 4],
}

/// ```c
/// typedef struct door_arg {
///     char *data_ptr; size_t data_size; door_desc_t *desc_ptr;
///     uint_t desc_num; char *rbuf; size_t rsize;
/// } door_arg_t;
/// ```
#[repr(C)]
#[derive(Clone, Copy)]
pub struct door_arg_t {
    pub data_ptr: *mut u8,
    pub data_size: usize,
    pub desc_ptr: *mut door_desc_t,
    pub desc_num: uint_t,
    pub rbuf: *mut u8,
    pub rsize: usize,
}

/// ```c
/// typedef void door_server_procedure_t(void *, char *, size_t, door_desc_t *, uint_t);
/// ```
pub type door_server_procedure_t =
    unsafe extern "C" fn(*mut libc::c_void, *mut u8, usize, *mut door_desc_t, uint_t);
/// A server procedure as Solaris 2.6-era sources declare it, with
/// `size_t n_desc`: libdoor calls every procedure through this type, so
/// that the count is zero-extended to 64 bits whichever way it was declared.
pub type door_server_procedure_sz_t =
    unsafe extern "C" fn(*mut libc::c_void, *mut u8, usize, *mut door_desc_t, usize);
/// `typedef void door_server_func_t(door_info_t *);`
pub type door_server_func_t = unsafe extern "C" fn(*mut door_info_t);
/// `typedef int door_xcreate_server_func_t(door_info_t *, void *(*)(void *), void *, void *);`
pub type door_xcreate_server_func_t = unsafe extern "C" fn(
    *mut door_info_t,
    extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    *mut libc::c_void,
    *mut libc::c_void,
) -> i32;
/// `typedef void door_xcreate_thrsetup_func_t(void *);`
pub type door_xcreate_thrsetup_func_t = unsafe extern "C" fn(*mut libc::c_void);

/// ```c
/// struct door_results {
///     void *cookie; char *data_ptr; size_t data_size; door_desc_t *desc_ptr;
///     size_t desc_num; void (*pc)(void); int nservers; door_info_t *door_info;
/// };
/// ```
/// Public in illumos, read only by libc; mirrored for the layout check.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct door_results {
    pub cookie: *mut libc::c_void,
    pub data_ptr: *mut u8,
    pub data_size: usize,
    pub desc_ptr: *mut door_desc_t,
    pub desc_num: usize,
    pub pc: Option<unsafe extern "C" fn()>,
    pub nservers: i32,
    pub door_info: *mut door_info_t,
}

/// ```c
/// typedef struct door_return_desc { door_desc_t *desc_ptr; uint_t desc_num; } door_return_desc_t;
/// ```
#[repr(C)]
#[derive(Clone, Copy)]
pub struct door_return_desc_t {
    pub desc_ptr: *mut door_desc_t,
    pub desc_num: uint_t,
}

impl door_desc_t {
    pub fn fd(&self) -> i32 {
        // SAFETY: both union members are plain integers; any bit pattern is valid.
        unsafe { self.d_data.d_desc.d_descriptor }
    }
    pub fn new(attrs: u32, fd: i32, id: u64) -> Self {
        door_desc_t {
            d_attributes: attrs,
            d_data: door_desc_data {
                d_desc: door_desc_inner {
                    d_descriptor: fd,
                    d_id: id,
                },
            },
        }
    }
}

// Layout assertions (door_desc_t, door_info_t, door_cred_t, door_arg_t).
const _: () = assert!(size_of::<door_desc_t>() == 24 && align_of::<door_desc_t>() == 4);
const _: () = assert!(offset_of!(door_desc_t, d_attributes) == 0);
const _: () = assert!(offset_of!(door_desc_t, d_data) == 4 && size_of::<door_desc_data>() == 20);
const _: () = assert!(offset_of!(door_desc_inner, d_descriptor) == 0);
const _: () = assert!(offset_of!(door_desc_inner, d_id) == 4); // absolute 8
const _: () = assert!(size_of::<door_info_t>() == 48 && align_of::<door_info_t>() == 4);
const _: () = assert!(offset_of!(door_info_t, di_target) == 0);
const _: () = assert!(offset_of!(door_info_t, di_proc) == 4);
const _: () = assert!(offset_of!(door_info_t, di_data) == 12);
const _: () = assert!(offset_of!(door_info_t, di_attributes) == 20);
const _: () = assert!(offset_of!(door_info_t, di_uniquifier) == 24);
const _: () = assert!(offset_of!(door_info_t, di_resv) == 32);
const _: () = assert!(size_of::<door_cred_t>() == 36 && align_of::<door_cred_t>() == 4);
const _: () = assert!(offset_of!(door_cred_t, dc_euid) == 0);
const _: () = assert!(offset_of!(door_cred_t, dc_egid) == 4);
const _: () = assert!(offset_of!(door_cred_t, dc_ruid) == 8);
const _: () = assert!(offset_of!(door_cred_t, dc_rgid) == 12);
const _: () = assert!(offset_of!(door_cred_t, dc_pid) == 16);
const _: () = assert!(offset_of!(door_cred_t, dc_resv) == 20);
const _: () = assert!(size_of::<door_arg_t>() == 48);
const _: () = assert!(offset_of!(door_arg_t, data_ptr) == 0);
const _: () = assert!(offset_of!(door_arg_t, data_size) == 8);
const _: () = assert!(offset_of!(door_arg_t, desc_ptr) == 16);
const _: () = assert!(offset_of!(door_arg_t, desc_num) == 24);
const _: () = assert!(offset_of!(door_arg_t, rbuf) == 32);
const _: () = assert!(offset_of!(door_arg_t, rsize) == 40);
const _: () = assert!(size_of::<door_results>() == 64 && offset_of!(door_results, pc) == 40);
const _: () =
    assert!(offset_of!(door_results, nservers) == 48 && offset_of!(door_results, door_info) == 56);
const _: () =
    assert!(size_of::<door_return_desc_t>() == 16 && offset_of!(door_return_desc_t, desc_num) == 8);

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rust mirrors print the same dump as compat-tests/abi/layout_dump.c,
    /// and both must equal abi/layout.golden.
    #[test]
    fn layout_matches_golden() {
        macro_rules! ty {
            ($out:ident, $name:expr, $t:ty) => {
                $out.push(format!(
                    "{} size {} align {}",
                    $name,
                    size_of::<$t>(),
                    align_of::<$t>()
                ));
            };
        }
        macro_rules! field {
            ($out:ident, $name:expr, $off:expr, $size:expr) => {
                $out.push(format!("{} {} {}", $name, $off, $size));
            };
        }
        let mut o: Vec<String> = Vec::new();
        ty!(o, "door_ptr_t", door_ptr_t);
        ty!(o, "door_id_t", door_id_t);
        ty!(o, "door_attr_t", door_attr_t);
        ty!(o, "uint_t", uint_t);
        ty!(o, "door_desc_t", door_desc_t);
        let dd = offset_of!(door_desc_t, d_data);
        field!(
            o,
            "door_desc_t.d_attributes",
            offset_of!(door_desc_t, d_attributes),
            4
        );
        field!(o, "door_desc_t.d_data", dd, size_of::<door_desc_data>());
        field!(
            o,
            "door_desc_t.d_data.d_desc",
            dd,
            size_of::<door_desc_inner>()
        );
        field!(
            o,
            "door_desc_t.d_data.d_desc.d_descriptor",
            dd + offset_of!(door_desc_inner, d_descriptor),
            4
        );
        field!(
            o,
            "door_desc_t.d_data.d_desc.d_id",
            dd + offset_of!(door_desc_inner, d_id),
            8
        );
        field!(o, "door_desc_t.d_data.d_resv", dd, 20);
        ty!(o, "door_info_t", door_info_t);
        field!(
            o,
            "door_info_t.di_target",
            offset_of!(door_info_t, di_target),
            4
        );
        field!(
            o,
            "door_info_t.di_proc",
            offset_of!(door_info_t, di_proc),
            8
        );
        field!(
            o,
            "door_info_t.di_data",
            offset_of!(door_info_t, di_data),
            8
        );
        field!(
            o,
            "door_info_t.di_attributes",
            offset_of!(door_info_t, di_attributes),
            4
        );
        field!(
            o,
            "door_info_t.di_uniquifier",
            offset_of!(door_info_t, di_uniquifier),
            8
        );
        field!(
            o,
            "door_info_t.di_resv",
            offset_of!(door_info_t, di_resv),
            16
        );
        ty!(o, "door_cred_t", door_cred_t);
        field!(
            o,
            "door_cred_t.dc_euid",
            offset_of!(door_cred_t, dc_euid),
            4
        );
        field!(
            o,
            "door_cred_t.dc_egid",
            offset_of!(door_cred_t, dc_egid),
            4
        );
        field!(
            o,
            "door_cred_t.dc_ruid",
            offset_of!(door_cred_t, dc_ruid),
            4
        );
        field!(
            o,
            "door_cred_t.dc_rgid",
            offset_of!(door_cred_t, dc_rgid),
            4
        );
        field!(o, "door_cred_t.dc_pid", offset_of!(door_cred_t, dc_pid), 4);
        field!(
            o,
            "door_cred_t.dc_resv",
            offset_of!(door_cred_t, dc_resv),
            16
        );
        ty!(o, "door_arg_t", door_arg_t);
        field!(
            o,
            "door_arg_t.data_ptr",
            offset_of!(door_arg_t, data_ptr),
            8
        );
        field!(
            o,
            "door_arg_t.data_size",
            offset_of!(door_arg_t, data_size),
            8
        );
        field!(
            o,
            "door_arg_t.desc_ptr",
            offset_of!(door_arg_t, desc_ptr),
            8
        );
        field!(
            o,
            "door_arg_t.desc_num",
            offset_of!(door_arg_t, desc_num),
            4
        );
        field!(o, "door_arg_t.rbuf", offset_of!(door_arg_t, rbuf), 8);
        field!(o, "door_arg_t.rsize", offset_of!(door_arg_t, rsize), 8);
        ty!(o, "door_results", door_results);
        field!(
            o,
            "door_results.cookie",
            offset_of!(door_results, cookie),
            8
        );
        field!(
            o,
            "door_results.data_ptr",
            offset_of!(door_results, data_ptr),
            8
        );
        field!(
            o,
            "door_results.data_size",
            offset_of!(door_results, data_size),
            8
        );
        field!(
            o,
            "door_results.desc_ptr",
            offset_of!(door_results, desc_ptr),
            8
        );
        field!(
            o,
            "door_results.desc_num",
            offset_of!(door_results, desc_num),
            8
        );
        field!(o, "door_results.pc", offset_of!(door_results, pc), 8);
        field!(
            o,
            "door_results.nservers",
            offset_of!(door_results, nservers),
            4
        );
        field!(
            o,
            "door_results.door_info",
            offset_of!(door_results, door_info),
            8
        );
        ty!(o, "door_return_desc_t", door_return_desc_t);
        field!(
            o,
            "door_return_desc_t.desc_ptr",
            offset_of!(door_return_desc_t, desc_ptr),
            8
        );
        field!(
            o,
            "door_return_desc_t.desc_num",
            offset_of!(door_return_desc_t, desc_num),
            4
        );
        let golden = include_str!("../abi/layout.golden");
        assert_eq!(o.join("\n") + "\n", golden);
    }
    /// The same dump format as compat-tests/abi/layout_dump.c, checked
    /// against the recorded illumos layout (abi/layout.golden).
    #[test]
    fn desc_roundtrip() {
        let d = door_desc_t::new(DOOR_DESCRIPTOR, 7, 0x1122334455667788);
        assert_eq!(d.fd(), 7);
        // SAFETY: door_desc_t is 24 bytes of plain integers.
        let bytes: [u8; 24] = unsafe { core::mem::transmute(d) };
        assert_eq!(&bytes[0..4], &DOOR_DESCRIPTOR.to_ne_bytes());
        assert_eq!(&bytes[4..8], &7i32.to_ne_bytes());
        assert_eq!(&bytes[8..16], &0x1122334455667788u64.to_ne_bytes());
    }
}
