//! Preload mode's questions (`capi/preload.rs`), passed to the backend.

use std::ffi::CStr;
use std::os::fd::RawFd;

pub use crate::backend::Place;
use crate::backend::get;
use crate::sys::R;

pub fn fd_is_door(fd: RawFd) -> bool {
    get().fd_is_door(fd)
}

pub fn path_is_door(dirfd: RawFd, path: &CStr, nofollow: bool) -> bool {
    get().path_is_door(dirfd, path, nofollow)
}

pub fn opened(fd: RawFd, directory: bool) -> bool {
    get().opened(fd, directory)
}

pub fn dup_door(old: RawFd, place: Place) -> Option<R<RawFd>> {
    get().dup_door(old, place)
}

pub fn fork_child() {
    get().preload_fork_child()
}
