//! The C functions of libdoor that the command uses, declared as a C
//! program would see them (the library is linked in as an rlib, so these
//! are the very functions `libdoor.so` exports).

use door::abi::{door_arg_t, door_cred_t, door_desc_t, door_info_t, door_server_procedure_t};

unsafe extern "C" {
    pub fn door_create(
        proc_: Option<door_server_procedure_t>,
        cookie: *mut libc::c_void,
        attributes: u32,
    ) -> i32;
    pub fn door_call(d: i32, params: *mut door_arg_t) -> i32;
    pub fn door_return(
        data_ptr: *mut libc::c_char,
        data_size: usize,
        desc_ptr: *mut door_desc_t,
        num_desc: u32,
    ) -> i32;
    pub fn door_info(d: i32, info: *mut door_info_t) -> i32;
    pub fn door_cred(info: *mut door_cred_t) -> i32;
    pub fn door_getparam(d: i32, param: i32, out: *mut usize) -> i32;
    pub fn door_setparam(d: i32, param: i32, val: usize) -> i32;
    pub fn fattach(fd: i32, path: *const libc::c_char) -> i32;
    pub fn fdetach(path: *const libc::c_char) -> i32;
    pub fn libdoor_backend() -> *const libc::c_char;
}

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub fn strerror(e: i32) -> String {
    std::io::Error::from_raw_os_error(e)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or("")
        .to_string()
}
