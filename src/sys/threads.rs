//! Counting and starting threads: what both backends need to know about
//! the process's threads (a server procedure that returns ends its thread,
//! and the process with it when it was the last one).

/// Threads of this process that have not ended (a main thread that called
/// pthread_exit stays listed as a zombie until the process ends). Runs on
/// the manager's idle tick, so it allocates nothing: under a sanitizer's
/// allocator (which, unlike glibc's, may not be locked across fork()), an
/// allocation racing a fork() of another thread can leave the child's
/// allocator locked for ever.
pub fn live_threads() -> usize {
    // SAFETY: open/getdents64/read/close on stack buffers we own.
    unsafe {
        let dir = libc::open(
            c"/proc/self/task".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if dir < 0 {
            return usize::MAX;
        }
        let mut n = 0;
        let mut buf = [0u8; 4096];
        loop {
            let got = libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), buf.len());
            if got <= 0 {
                break;
            }
            let mut off = 0usize;
            while off < got as usize {
                // linux_dirent64: ino u64, off i64, reclen u16, type u8, name.
                let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
                let name = &buf[off + 19..off + reclen];
                let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                if len > 0 && name[0] != b'.' && !task_is_zombie(&name[..len]) {
                    n += 1;
                }
                off += reclen.max(1);
            }
        }
        libc::close(dir);
        n
    }
}

/// Is task `tid` (decimal digits) of this process a zombie?
fn task_is_zombie(tid: &[u8]) -> bool {
    let mut path = [0u8; 64];
    let pre = b"/proc/self/task/";
    let post = b"/stat\0";
    if pre.len() + tid.len() + post.len() > path.len() {
        return false;
    }
    path[..pre.len()].copy_from_slice(pre);
    path[pre.len()..pre.len() + tid.len()].copy_from_slice(tid);
    path[pre.len() + tid.len()..pre.len() + tid.len() + post.len()].copy_from_slice(post);
    let mut stat = [0u8; 512];
    // SAFETY: a NUL-terminated path and a stack buffer.
    let got = unsafe {
        let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let got = libc::read(fd, stat.as_mut_ptr().cast(), stat.len());
        libc::close(fd);
        got
    };
    if got <= 0 {
        return false;
    }
    let stat = &stat[..got as usize];
    // The state follows the parenthesised command name.
    match stat.iter().rposition(|&b| b == b')') {
        Some(i) => stat[i + 1..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'Z'),
        None => false,
    }
}

/// Starts a detached thread with default attributes.
pub fn spawn_detached(
    f: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    arg: *mut libc::c_void,
) -> bool {
    // SAFETY: attr is initialised before use and destroyed after.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        libc::pthread_attr_init(&mut attr);
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        let mut t: libc::pthread_t = 0;
        let r = libc::pthread_create(&mut t, &attr, f, arg);
        libc::pthread_attr_destroy(&mut attr);
        r == 0
    }
}
