//! Fault-catching copies: copy bytes between a caller's buffer and ours,
//! answering EFAULT instead of crashing when the caller's range is not
//! mapped (illumos' copyin/copyout contract for `door_call`/`door_return`).
//!
//! The copy is one `rep movsb` in a routine of our own. A SIGSEGV/SIGBUS
//! handler recognises a fault whose instruction pointer lies inside that
//! routine and resumes at its fix-up label, which returns the count of
//! bytes not copied. This is the kernel's exception-table technique in user
//! space; it costs nothing per copy, where a checked system call
//! (`process_vm_readv`) costs over a microsecond on a busy machine.
//!
//! The handler must be invisible to the program:
//! - A fault that is not ours is not handled here at all: the handler puts
//!   the program's previous action back and returns. A real fault then
//!   re-executes and the kernel delivers it natively (the program's own
//!   flags, mask, SA_RESETHAND, siginfo and context; or the default
//!   action); a signal sent by kill()/raise() is sent again to this thread
//!   with the same siginfo (dropped by the kernel if the action is
//!   SIG_IGN). Ours is put back lazily, before the next copy that needs it.
//! - The copy is used only when a fault in it would reach our handler
//!   (`usable`): the thread does not block SIGSEGV or SIGBUS (the kernel
//!   kills a process whose synchronous fault signal is blocked), and the
//!   installed actions are ours. A program that installs its own handler
//!   after ours keeps it: from then on libdoor uses the checked copy.
//!   Callers also use the checked copy when the thread runs off its own
//!   stack (a fiber, or a signal handler on an alternate stack), where a
//!   signal frame might not fit.
//! - These checks cost system calls (one rt_sigprocmask, one rt_sigaction
//!   read per signal), so `door_call` and `door_return` run inside a
//!   `scope`: the checks are made at the first copy of the scope that
//!   needs them and reused for its other copies.
//!
//! Where the routine does not exist (architectures other than x86-64), or
//! the handler could not be installed, `copy` answers None and callers use
//! their checked system call instead.

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod imp {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

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
    /// The actions ours replaced, one per entry of SIGS. Written only while
    /// ours is not installed for that signal (under LOCK); read by our
    /// handler.
    static mut OLD: [std::mem::MaybeUninit<libc::sigaction>; 2] = [
        std::mem::MaybeUninit::zeroed(),
        std::mem::MaybeUninit::zeroed(),
    ];
    /// We installed ours for SIGS[k] and have not taken it down since.
    static INSTALLED: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];
    /// The program replaced ours with its own action: leave it alone.
    static DISPLACED: AtomicBool = AtomicBool::new(false);
    /// Serialises installing (never taken by the handler).
    static LOCK: AtomicBool = AtomicBool::new(false);
    /// Bumped whenever the handler takes ours down: a scope's earlier
    /// verdict is stale then.
    static GEN: AtomicU32 = AtomicU32::new(0);

    fn idx(sig: libc::c_int) -> usize {
        if sig == libc::SIGSEGV { 0 } else { 1 }
    }

    extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let uc = ctx as *mut libc::ucontext_t;
        // SAFETY: the kernel passes a valid siginfo and ucontext to an
        // SA_SIGINFO handler; we read and write only its saved instruction
        // pointer. Only a fault raised by the kernel (si_code > 0) is ours:
        // a signal sent by kill() while the copy runs is the program's.
        unsafe {
            let rip = &mut (*uc).uc_mcontext.gregs[libc::REG_RIP as usize];
            if (*info).si_code > 0 && *rip as usize == libdoor_gcopy_insn as *const () as usize {
                *rip = libdoor_gcopy_fixup as *const () as usize as i64;
                return;
            }
        }
        step_aside(sig, info);
    }

    /// A signal that is not ours: put the program's action back and let
    /// the kernel deliver the signal to it as if we had never been there.
    fn step_aside(sig: libc::c_int, info: *mut libc::siginfo_t) {
        let k = idx(sig);
        INSTALLED[k].store(false, Ordering::SeqCst);
        GEN.fetch_add(1, Ordering::SeqCst);
        // SAFETY: OLD[k] was fully written before ours was installed;
        // sigaction, getpid, gettid and rt_tgsigqueueinfo are
        // async-signal-safe system calls.
        unsafe {
            let old = (*std::ptr::addr_of!(OLD))[k].assume_init_ref();
            libc::sigaction(sig, old, std::ptr::null_mut());
            // si_code > 0: raised by the kernel for a faulting instruction,
            // which runs again on return and faults again. Otherwise it was
            // sent (kill, raise, sigqueue, tgkill): send it again, pending
            // until this handler returns (our action blocks `sig`).
            if (*info).si_code <= 0 && old.sa_sigaction != libc::SIG_IGN {
                libc::syscall(
                    libc::SYS_rt_tgsigqueueinfo,
                    libc::getpid(),
                    libc::syscall(libc::SYS_gettid),
                    sig,
                    info,
                );
            }
        }
    }

    /// The handler currently installed for `sig` (raw system call: the
    /// answer comes from the kernel, not from an interposed sigaction).
    fn current_handler(sig: libc::c_int) -> Option<usize> {
        // The kernel's struct: handler, flags, restorer, mask.
        let mut k = [0usize; 4];
        // SAFETY: rt_sigaction with a NULL new action only writes `k`.
        let r = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                std::ptr::null::<usize>(),
                k.as_mut_ptr(),
                8usize,
            )
        };
        (r == 0).then_some(k[0])
    }

    /// Is the thread's signal mask free of SIGSEGV and SIGBUS?
    fn unblocked() -> bool {
        let mut set = 0u64;
        // SAFETY: reading the mask into a u64 (the kernel's sigset size).
        let r = unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_BLOCK,
                std::ptr::null::<u64>(),
                &mut set as *mut u64,
                8usize,
            )
        };
        let bits = (1u64 << (libc::SIGSEGV - 1)) | (1u64 << (libc::SIGBUS - 1));
        r == 0 && set & bits == 0
    }

    /// Makes sure a fault in the copy routine reaches our handler: true if
    /// it does (ours is installed for both signals, neither is blocked).
    fn usable() -> bool {
        if DISPLACED.load(Ordering::Relaxed) || !unblocked() {
            return false;
        }
        let ours = on_fault as *const () as usize;
        for (k, &sig) in SIGS.iter().enumerate() {
            match current_handler(sig) {
                Some(h) if h == ours => continue,
                None => return false,
                Some(_) => {}
            }
            if !install(k, sig, ours) {
                return false;
            }
        }
        true
    }

    /// Installs ours for SIGS[k], remembering what was there. False if the
    /// program replaced ours (we leave its handler alone for good).
    fn install(k: usize, sig: libc::c_int, ours: usize) -> bool {
        while LOCK
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        let ok = (|| {
            if INSTALLED[k].load(Ordering::SeqCst) {
                // Ours was installed and nobody of ours took it down (the
                // handler clears INSTALLED first): unless another thread
                // just put it back, the program replaced it.
                if current_handler(sig) == Some(ours) {
                    return true;
                }
                DISPLACED.store(true, Ordering::Relaxed);
                return false;
            }
            // SAFETY: sigaction with valid pointers. OLD[k] is written
            // while ours is not installed for `sig`, so our handler cannot
            // be reading it for this signal.
            unsafe {
                let old = (*std::ptr::addr_of_mut!(OLD))[k].as_mut_ptr();
                if libc::sigaction(sig, std::ptr::null(), old) != 0 {
                    return false;
                }
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = ours;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                    return false;
                }
            }
            INSTALLED[k].store(true, Ordering::SeqCst);
            // Interposed sigaction (a sanitizer's) may refuse to install.
            current_handler(sig) == Some(ours)
        })();
        LOCK.store(false, Ordering::Release);
        ok
    }

    thread_local! {
        /// 0: no scope; otherwise a scope: 1 unchecked, 2 usable at
        /// generation SCOPE_GEN, 3 not usable.
        static SCOPE: Cell<u8> = const { Cell::new(0) };
        static SCOPE_GEN: Cell<u32> = const { Cell::new(0) };
    }

    /// Runs `f` as one scope: the checks of `usable` are made at most once
    /// in it (saved and restored, so scopes nest, e.g. a door_call from a
    /// signal handler that interrupted one).
    #[inline]
    pub fn scope<T>(f: impl FnOnce() -> T) -> T {
        let prev = SCOPE.try_with(|s| s.replace(1)).unwrap_or(0);
        let prev_gen = SCOPE_GEN.try_with(|g| g.get()).unwrap_or(0);
        let r = f();
        let _ = SCOPE.try_with(|s| s.set(prev));
        let _ = SCOPE_GEN.try_with(|g| g.set(prev_gen));
        r
    }

    fn usable_here() -> bool {
        match SCOPE.try_with(|s| s.get()).unwrap_or(0) {
            2 if SCOPE_GEN.try_with(|g| g.get()).ok() == Some(GEN.load(Ordering::SeqCst)) => true,
            3 => false,
            0 => usable(),
            _ => {
                let g = GEN.load(Ordering::SeqCst);
                let ok = usable();
                let _ = SCOPE.try_with(|s| s.set(if ok { 2 } else { 3 }));
                let _ = SCOPE_GEN.try_with(|c| c.set(g));
                ok
            }
        }
    }

    /// Copies `len` bytes; Some(true) done, Some(false) a fault (EFAULT),
    /// None if fault catching cannot be used now (the caller then uses a
    /// checked system call).
    ///
    /// # Safety
    /// One of the two ranges may be anything (that is the point); the other
    /// must be valid memory of ours, and the ranges must not overlap.
    #[inline]
    pub unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) -> Option<bool> {
        if !usable_here() {
            return None;
        }
        // SAFETY: the routine touches only [dst, dst+len) and [src, src+len);
        // a fault there is caught and turned into a short count.
        Some(unsafe { libdoor_gcopy(dst, src, len) } == 0)
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod imp {
    /// Runs `f` (nothing to cache here).
    #[inline]
    pub fn scope<T>(f: impl FnOnce() -> T) -> T {
        f()
    }

    /// Fault catching is not implemented here: always None.
    ///
    /// # Safety
    /// None needed; nothing is touched.
    #[inline]
    pub unsafe fn copy(_dst: *mut u8, _src: *const u8, _len: usize) -> Option<bool> {
        None
    }
}

pub use imp::{copy, scope};

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
