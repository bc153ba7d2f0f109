//! Server side of the socket path: a hostile client's messages on a door
//! descriptor and on the call's reply channel.
//!
//! Two doors of this process serve (A: no attributes; B: DOOR_REFUSE_DESC |
//! DOOR_NO_CANCEL, data_max 64 KiB). Each input is
//! `[cfg][messages...]` (common.rs): cfg bit 0 picks the door, bit 1 puts
//! the one-byte token in the reply channel. Destination 0 sends on the
//! door descriptor, 1 on the reply channel. The special descriptor is the
//! reply channel's server end. After sending, the harness shuts its side
//! for writing, reads what comes back until end of file (deadline), and
//! checks the door still answers a normal call and that no descriptor
//! leaked; every 32 inputs it also makes a call with a descriptor.
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;
#[path = "seeds.rs"]
mod seeds;

use libfuzzer_sys::fuzz_target;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct State {
    doors: [RawFd; 2],
    baseline: usize,
}
static STATE: OnceLock<State> = OnceLock::new();
static RUNS: AtomicUsize = AtomicUsize::new(0);
static BIG: [u8; 200 * 1024] = [0x5a; 200 * 1024];

/// The server procedure: closes what it was given, then answers by the
/// first argument byte ('p': echo, the health check).
unsafe extern "C" fn procedure(
    _cookie: *mut libc::c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    for i in 0..n as usize {
        // SAFETY: the library passes n descriptors at dp.
        let d = unsafe { std::ptr::read_unaligned(dp.add(i)) };
        if d.d_attributes & DOOR_DESCRIPTOR != 0 {
            // SAFETY: the descriptor is ours to close.
            unsafe { libc::close(d.d_data.d_desc.d_descriptor) };
        }
    }
    let first = if size > 0 && argp as usize != DOOR_UNREF_DATA {
        // SAFETY: argp has size bytes.
        unsafe { *argp }
    } else {
        0
    };
    // SAFETY: door_return from a server thread; never returns on success.
    unsafe {
        match first {
            b'p' => door_return(argp, size, std::ptr::null_mut(), 0),
            b => match b % 4 {
                0 => door_return(std::ptr::null_mut(), 0, std::ptr::null_mut(), 0),
                1 => door_return(argp, size.min(4096), std::ptr::null_mut(), 0),
                2 => door_return(BIG.as_ptr() as *mut u8, BIG.len(), std::ptr::null_mut(), 0),
                _ => {
                    let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                    let mut d = door_desc_t {
                        d_attributes: DOOR_DESCRIPTOR | DOOR_RELEASE,
                        d_data: door_desc_data {
                            d_desc: door_desc_inner {
                                d_descriptor: fd,
                                d_id: 0,
                            },
                        },
                    };
                    door_return(argp, size.min(64), &mut d, 1);
                    // Failed (E2BIG: the client wants no results): still ours.
                    libc::close(fd);
                    door_return(std::ptr::null_mut(), 0, std::ptr::null_mut(), 0)
                }
            },
        };
    }
    // door_return failed (e.g. the results did not fit): plain return.
}

/// A normal call on `d`: echo of "p" + counter, optionally with one
/// descriptor (which forces the socket path).
fn health(d: RawFd, with_desc: bool) {
    let n = RUNS.load(Ordering::Relaxed);
    let mut arg = format!("ping {n}").into_bytes();
    let mut rbuf = [0u8; 64];
    let dn = if with_desc {
        // SAFETY: opening /dev/null.
        unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }
    } else {
        -1
    };
    // Not DOOR_RELEASE: a retried call passes the same descriptor again,
    // and it is closed here afterwards.
    let mut desc = door_desc_t {
        d_attributes: DOOR_DESCRIPTOR,
        d_data: door_desc_data {
            d_desc: door_desc_inner {
                d_descriptor: dn,
                d_id: 0,
            },
        },
    };
    let mut a = door_arg_t {
        data_ptr: arg.as_mut_ptr(),
        data_size: arg.len(),
        desc_ptr: if with_desc {
            &mut desc
        } else {
            std::ptr::null_mut()
        },
        desc_num: with_desc as u32,
        rbuf: rbuf.as_mut_ptr(),
        rsize: rbuf.len(),
    };
    // A signal (libFuzzer's SIGALRM timer) interrupts door_call with EINTR
    // or EAGAIN, as on illumos: call again.
    let mut r = -1;
    for _ in 0..100 {
        // SAFETY: a valid door_arg_t.
        r = unsafe { door_call(d, &mut a) };
        if r == 0 || !matches!(errno(), libc::EINTR | libc::EAGAIN) {
            break;
        }
        a.rbuf = rbuf.as_mut_ptr();
        a.rsize = rbuf.len();
    }
    if dn >= 0 {
        // SAFETY: our descriptor (the server closed its own copy).
        unsafe { libc::close(dn) };
    }
    if r != 0 {
        die(&format!(
            "health call failed: errno {} (with descriptor: {with_desc})",
            errno()
        ));
    }
    // SAFETY: door_call set data_ptr/data_size to the results.
    let got = unsafe { std::slice::from_raw_parts(a.data_ptr, a.data_size) };
    if got != arg.as_slice() {
        die("health call: wrong results");
    }
    if a.rbuf != rbuf.as_mut_ptr() {
        die("health call: results not in rbuf");
    }
}

fn trace() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LIBDOOR_FUZZ_TRACE").is_some())
}

fn init() -> State {
    link_library();
    // SAFETY: creating doors with a valid procedure.
    let a = unsafe { door_create(Some(procedure), std::ptr::null_mut(), 0) };
    // SAFETY: as above.
    let b = unsafe {
        door_create(
            Some(procedure),
            std::ptr::null_mut(),
            DOOR_REFUSE_DESC | DOOR_NO_CANCEL,
        )
    };
    if a < 0 || b < 0 {
        die("door_create failed");
    }
    // SAFETY: setting a parameter of our own door.
    unsafe { door_setparam(b, DOOR_PARAM_DATA_MAX, 64 * 1024) };
    // The fast-path channels of this thread and the pools' first threads
    // exist after these calls: they are part of the baseline.
    for d in [a, b] {
        health(d, false);
        health(d, false);
    }
    health(a, true);
    if let Some(dir) = std::env::var_os("LIBDOOR_FUZZ_WRITE_SEEDS") {
        seeds::write_all(std::path::Path::new(&dir), a);
        // SAFETY: ending the process without libFuzzer's exit hooks.
        unsafe { libc::_exit(0) };
    }
    std::thread::sleep(Duration::from_millis(100));
    State {
        doors: [a, b],
        baseline: fd_count(),
    }
}

fuzz_target!(|data: &[u8]| {
    let st = STATE.get_or_init(init);
    let t0 = Instant::now();
    let mut inp = Input { d: data };
    let cfg = inp.u8();
    let door = st.doors[(cfg & 1) as usize];
    let (rc, rs) = seqpacket_pair();
    if cfg & 2 != 0 {
        // SAFETY: one byte from a static.
        unsafe { libc::send(rc, b"\x01".as_ptr().cast(), 1, libc::MSG_DONTWAIT) };
    }
    let mut sent_rs = false;
    let mut n = 0;
    while let Some(m) = inp.msg() {
        n += 1;
        if n > 16 {
            break;
        }
        let mut fds = Vec::new();
        make_fds(&m, door, &mut fds);
        let to = if m.dest() & 1 == 0 { door } else { rc };
        let mut all = Vec::with_capacity(fds.len() + 1);
        // (Never the reply channel's end into its own queue: that cycle
        // only ends when the kernel's garbage collector finds it.)
        if m.special() && to == door {
            all.push(rs);
            sent_rs = true;
        }
        all.extend_from_slice(&fds);
        // Never block on a full queue: a server that stopped reading is
        // caught by the health check below.
        send_msg(to, &m.wire(), &all, libc::MSG_DONTWAIT);
        close_all(&mut fds);
    }
    // SAFETY: our own descriptors.
    unsafe {
        libc::close(rs);
        libc::shutdown(rc, libc::SHUT_WR);
    }
    if sent_rs {
        match drain_counting(rc, Instant::now() + Duration::from_secs(30)) {
            None => die("the server kept the reply channel open for 30 s after the client shut it"),
            Some(seen) if trace() => eprintln!("answers (bytes, descriptors): {seen:?}"),
            Some(_) => {}
        }
    }
    // SAFETY: our own descriptor.
    unsafe { libc::close(rc) };
    let t1 = Instant::now();
    health(door, false);
    if trace() {
        eprintln!(
            "run: send+drain {:?}, health {:?}, input {:02x?}",
            t1 - t0,
            t1.elapsed(),
            &data[..data.len().min(24)]
        );
    }
    let runs = RUNS.fetch_add(1, Ordering::Relaxed);
    if runs % 32 == 0 {
        health(st.doors[0], true);
    }
    check_fds(st.baseline, "server target");
});
