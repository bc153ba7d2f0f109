//! The stack reset behind `door_return`: it never returns on success, so
//! each invocation restarts the server thread at a fixed stack address
//! (its *anchor*) through `jump`, and the stack cannot grow by one frame
//! set per call. Shared by both backends.

use std::ptr;

/// Tells AddressSanitizer, when the program runs under it, that the frames
/// below are abandoned (as its longjmp interceptor does); otherwise their
/// redzones stay poisoned and the next invocation trips over them.
pub fn forget_stack_below() {
    static HOOK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let mut h = HOOK.load(std::sync::atomic::Ordering::Relaxed);
    if h == 1 {
        // SAFETY: dlsym with a valid NUL-terminated name; may return NULL.
        h = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__asan_handle_no_return".as_ptr()) }
            as usize;
        HOOK.store(h, std::sync::atomic::Ordering::Relaxed);
    }
    if h != 0 {
        // SAFETY: ASan's documented `void __asan_handle_no_return(void)`.
        unsafe { std::mem::transmute::<usize, extern "C" fn()>(h)() };
    }
}

/// What illumos' libc lets a door invocation use of a thread's stack
/// below `anchor`: the stack minus a reserve of 1/32 of its size (at most
/// 64 KiB, at least 1 KiB) and 512 bytes of x86 slop.
pub fn usable_stack(anchor: usize) -> usize {
    // SAFETY: attr is initialised by pthread_getattr_np and destroyed.
    let (low, size) = unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return usize::MAX;
        }
        let mut addr: *mut libc::c_void = ptr::null_mut();
        let mut size: usize = 0;
        let r = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if r != 0 {
            return usize::MAX;
        }
        (addr as usize, size)
    };
    if anchor <= low {
        return 0;
    }
    let reserve = (size / 32).clamp(1024, 64 * 1024) + 512;
    (anchor - low).saturating_sub(reserve)
}

/// Sets the stack pointer to `sp`, clears the frame pointer and calls
/// `f(arg)` on that fresh frame. `f` never returns. With no unwind info
/// here, a forced unwind (pthread_exit, cancellation) started below stops
/// at this frame as at the bottom of a thread.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn jump(sp: usize, f: extern "C" fn(usize) -> !, arg: usize) -> ! {
    core::arch::naked_asm!(
        "mov rsp, rdi",
        "xor ebp, ebp",
        "mov rdi, rdx",
        "call rsi",
        "ud2"
    )
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub unsafe extern "C" fn jump(sp: usize, f: extern "C" fn(usize) -> !, arg: usize) -> ! {
    core::arch::naked_asm!(
        "mov sp, x0",
        "mov x29, xzr",
        "mov x30, xzr",
        "mov x0, x2",
        "blr x1",
        "brk #1"
    )
}
