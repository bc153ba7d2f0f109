//! The exported C ABI. The only `#[unsafe(no_mangle)]` items of the crate
//! live here; each body validates and converts, calls the safe core, and
//! maps `R<T>` to the C convention (-1 and errno).

mod door;
mod fds;
mod ids;
mod preload;
mod stropts;
mod synch;
mod thread;
mod ucred;

use crate::sys::{self, R};

/// Maps `R<i32>` to a C return: the value, or -1 with errno set.
pub(crate) fn or_minus_one(r: R<i32>) -> i32 {
    match r {
        Ok(v) => v,
        Err(e) => {
            sys::set_errno(e);
            -1
        }
    }
}
