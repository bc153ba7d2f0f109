//! Credential-change wrappers. The fast path attests a thread's
//! credentials once, when its channel to a door is set up; these wrappers
//! around libc's set*id functions bump a generation counter so that no
//! channel made before a change is used after it (KNOWN_DIFFERENCES.md,
//! "Credentials"). Each forwards to the next definition (libc's) and
//! returns exactly what it returns, errno included.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sys;

/// Resolves the next definition of `name` once (RTLD_NEXT), 0 if none.
fn next(cache: &AtomicUsize, name: &std::ffi::CStr) -> usize {
    let mut f = cache.load(Ordering::Acquire);
    if f == 0 {
        // SAFETY: dlsym with a valid NUL-terminated name.
        f = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) } as usize;
        cache.store(f, Ordering::Release);
    }
    f
}

fn changed() {
    crate::core::door::credentials_changed();
}

macro_rules! wrap {
    ($(#[$doc:meta])* $name:ident ( $($a:ident : $t:ty),* )) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// As for the libc function of the same name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name($($a: $t),*) -> libc::c_int {
            static REAL: AtomicUsize = AtomicUsize::new(0);
            const NAME: &[u8] = concat!(stringify!($name), "\0").as_bytes();
            // SAFETY: NAME is a literal with exactly one NUL, at its end.
            let f = next(&REAL, unsafe { std::ffi::CStr::from_bytes_with_nul_unchecked(NAME) });
            if f == 0 {
                sys::set_errno(libc::ENOSYS);
                return -1;
            }
            // SAFETY: `f` is libc's definition of this very function.
            let real = unsafe { std::mem::transmute::<usize, unsafe extern "C" fn($($t),*) -> libc::c_int>(f) };
            // SAFETY: forwarding the caller's arguments unchanged.
            let r = unsafe { real($($a),*) };
            changed();
            r
        }
    };
}

wrap!(/// setuid(2), forwarded.
    setuid(uid: libc::uid_t));
wrap!(/// seteuid(2), forwarded.
    seteuid(uid: libc::uid_t));
wrap!(/// setreuid(2), forwarded.
    setreuid(r: libc::uid_t, e: libc::uid_t));
wrap!(/// setresuid(2), forwarded.
    setresuid(r: libc::uid_t, e: libc::uid_t, s: libc::uid_t));
wrap!(/// setgid(2), forwarded.
    setgid(gid: libc::gid_t));
wrap!(/// setegid(2), forwarded.
    setegid(gid: libc::gid_t));
wrap!(/// setregid(2), forwarded.
    setregid(r: libc::gid_t, e: libc::gid_t));
wrap!(/// setresgid(2), forwarded.
    setresgid(r: libc::gid_t, e: libc::gid_t, s: libc::gid_t));
wrap!(/// setgroups(2), forwarded.
    setgroups(n: libc::size_t, list: *const libc::gid_t));
wrap!(/// initgroups(3), forwarded (glibc calls setgroups internally).
    initgroups(user: *const libc::c_char, group: libc::gid_t));
