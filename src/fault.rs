//! Fault-catching copies: copy bytes between a caller's buffer and ours,
//! answering EFAULT instead of crashing when the caller's range is not
//! mapped (illumos' copyin/copyout contract for `door_call`/`door_return`).
//!
//! The copy is one `rep movsb` in a routine of our own. A SIGSEGV/SIGBUS
//! handler, installed the first time a copy is needed, recognises a fault
//! whose instruction pointer lies inside that routine and resumes at its
//! fix-up label, which returns the count of bytes not copied. Every other
//! fault goes to the handler that was installed before ours (chained), or
//! gets the default action. This is the kernel's exception-table technique
//! in user space; it costs nothing per copy, where a checked system call
//! (`process_vm_readv`, `pwrite`) costs a few hundred nanoseconds.
//!
//! Where the routine does not exist (architectures other than x86-64), or
//! the handler could not be installed, `copy` answers None and callers use
//! their checked system call instead.

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod imp {
    use std::sync::atomic::{AtomicU8, Ordering};

    // libdoor_gcopy(dst, src, len) -> bytes not copied. `rep movsb` keeps
    // rdi/rsi/rcx current when it faults, so the fix-up just returns rcx.
    std::arch::global_asm!(
        ".pushsection .text.libdoor_gcopy,\"ax\",@progbits",
        ".p2align 4",
        ".globl libdoor_gcopy",
        ".hidden libdoor_gcopy",
        ".type libdoor_gcopy,@function",
        "libdoor_gcopy:",
        "mov rcx, rdx",
        ".globl libdoor_gcopy_insn",
        ".hidden libdoor_gcopy_insn",
        "libdoor_gcopy_insn:",
        "rep movsb",
        "xor eax, eax",
        "ret",
        ".globl libdoor_gcopy_fixup",
        ".hidden libdoor_gcopy_fixup",
        "libdoor_gcopy_fixup:",
        "mov rax, rcx",
        "ret",
        ".size libdoor_gcopy, . - libdoor_gcopy",
        ".popsection",
    );

    unsafe extern "C" {
        fn libdoor_gcopy(dst: *mut u8, src: *const u8, len: usize) -> usize;
        fn libdoor_gcopy_insn();
        fn libdoor_gcopy_fixup();
    }

    const SIGS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];
    /// The handlers ours replaced, one per entry of SIGS (written once,
    /// before ours is installed; read only by our handler).
    static mut OLD: [std::mem::MaybeUninit<libc::sigaction>; 2] = [
        std::mem::MaybeUninit::zeroed(),
        std::mem::MaybeUninit::zeroed(),
    ];
    /// 0: not tried, 1: installing, 2: installed, 3: failed.
    static STATE: AtomicU8 = AtomicU8::new(0);

    extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let uc = ctx as *mut libc::ucontext_t;
        // SAFETY: the kernel passes a valid ucontext to an SA_SIGINFO
        // handler; we read and write only its saved instruction pointer.
        unsafe {
            let rip = &mut (*uc).uc_mcontext.gregs[libc::REG_RIP as usize];
            if *rip as usize == libdoor_gcopy_insn as *const () as usize {
                *rip = libdoor_gcopy_fixup as *const () as usize as i64;
                return;
            }
        }
        chain(sig, info, ctx);
    }

    /// Hands a fault that is not ours to the handler that was there before.
    fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let k = if sig == libc::SIGSEGV { 0 } else { 1 };
        // SAFETY: OLD[k] was fully written before our handler could run.
        let old = unsafe { (*std::ptr::addr_of!(OLD))[k].assume_init_ref() };
        let h = old.sa_sigaction;
        if h == libc::SIG_DFL || h == libc::SIG_IGN {
            // Default action: restore it. A fault re-executes the faulting
            // instruction on return and dies with the usual core dump; a
            // signal sent by kill() is raised again (pending until we return).
            // SAFETY: plain sigaction/raise, both async-signal-safe.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
                if (*info).si_code <= 0 {
                    libc::raise(sig);
                }
            }
        } else if old.sa_flags & libc::SA_SIGINFO != 0 {
            // SAFETY: the previous handler asked for three arguments.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(h) };
            f(sig, info, ctx);
        } else {
            // SAFETY: a one-argument handler.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(h) };
            f(sig);
        }
    }

    fn install() -> bool {
        loop {
            match STATE.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(2) => return true,
                Err(3) => return false,
                Err(_) => std::hint::spin_loop(), // another thread is installing
            }
        }
        let mut ok = true;
        for (k, &sig) in SIGS.iter().enumerate() {
            // SAFETY: sigaction with valid pointers. OLD[k] is written before
            // the handler that reads it is installed (STATE serialises us).
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_fault as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                let old = (*std::ptr::addr_of_mut!(OLD))[k].as_mut_ptr();
                if libc::sigaction(sig, std::ptr::null(), old) != 0
                    || libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0
                {
                    ok = false;
                }
            }
        }
        STATE.store(if ok { 2 } else { 3 }, Ordering::Release);
        ok
    }

    /// Copies `len` bytes; Some(true) done, Some(false) a fault (EFAULT),
    /// None if fault catching is unavailable.
    ///
    /// # Safety
    /// One of the two ranges may be anything (that is the point); the other
    /// must be valid memory of ours, and the ranges must not overlap.
    #[inline]
    pub unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) -> Option<bool> {
        if STATE.load(Ordering::Acquire) != 2 && !install() {
            return None;
        }
        // SAFETY: the routine touches only [dst, dst+len) and [src, src+len);
        // a fault there is caught and turned into a short count.
        Some(unsafe { libdoor_gcopy(dst, src, len) } == 0)
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod imp {
    /// Fault catching is not implemented here: always None.
    ///
    /// # Safety
    /// None needed; nothing is touched.
    #[inline]
    pub unsafe fn copy(_dst: *mut u8, _src: *const u8, _len: usize) -> Option<bool> {
        None
    }
}

pub use imp::copy;

#[cfg(all(test, target_arch = "x86_64", target_os = "linux"))]
mod tests {
    use super::copy;

    #[test]
    fn catches_faults_on_either_side() {
        let pg = 4096;
        // SAFETY: two fresh pages; the second is made inaccessible, both unmapped at the end.
        let p = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                2 * pg,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            ) as *mut u8;
            assert_ne!(p as *mut libc::c_void, libc::MAP_FAILED);
            libc::mprotect(p.add(pg).cast(), pg, libc::PROT_NONE);
            p
        };
        let mut buf = [0u8; 64];
        // SAFETY: every range is either ours or meant to fault.
        unsafe {
            std::ptr::write_bytes(p.add(pg - 32), 7, 32);
            assert_eq!(copy(buf.as_mut_ptr(), p.add(pg - 32), 32), Some(true));
            assert_eq!(buf[..32], [7u8; 32]);
            // Reading past the end of the readable page: a short copy, reported.
            buf = [0; 64];
            assert_eq!(copy(buf.as_mut_ptr(), p.add(pg - 32), 64), Some(false));
            assert_eq!(buf[..32], [7u8; 32]);
            // Writing into the inaccessible page.
            assert_eq!(copy(p.add(pg), buf.as_ptr(), 8), Some(false));
            // A null source.
            assert_eq!(copy(buf.as_mut_ptr(), std::ptr::null(), 8), Some(false));
            libc::munmap(p.cast(), 2 * pg);
        }
    }
}
