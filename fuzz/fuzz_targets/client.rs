//! Client side: a hostile door server's replies.
//!
//! A fake server (a thread of this harness) binds a socket pair's server
//! end to a door-format name and listens on the matching control-socket
//! name, both made from a real door's names with another process-image
//! nonce, so the library takes them for a door of another process. Each
//! input is `[cfg][messages...]` (common.rs). cfg bits 0-2 pick the
//! operation (door_call without descriptors (fast path first), with one
//! descriptor, with a DOOR_RELEASE descriptor, with NULL params, door_info,
//! door_getparam, door_call with 200 KiB of arguments, door_call with no
//! result buffer), bit 3 a 4 KiB result buffer instead of 16 bytes, bits
//! 4-5 the argument size, bit 6 "by path": the operation is made on a
//! freshly opened file whose fattach rendezvous name the fake server
//! listens on, so the library first asks that rendezvous for the door.
//! Destination 0 (and 2) messages answer the call on its reply channel;
//! destination 1 (and 3) messages answer control and rendezvous
//! connections, one message per connection, in order. The fake server
//! then closes everything: the operation must return (a result or an
//! errno), never crash or hang, and leave no descriptor behind.
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;

use libfuzzer_sys::fuzz_target;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct State {
    /// The real door's name, split at ':'.
    door_fields: Vec<Vec<u8>>,
    /// The real control socket's name, split at ':'.
    ctl_fields: Vec<Vec<u8>>,
    /// Which field of each holds the process-image nonce.
    door_nonce: usize,
    ctl_nonce: usize,
    id_field: usize,
    /// A file and the rendezvous name an attachment to it had (free now:
    /// the fake server listens there for "by path" inputs).
    path: std::ffi::CString,
    rv_name: Vec<u8>,
    baseline: usize,
}
static STATE: OnceLock<State> = OnceLock::new();
static RUNS: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static ARGS: [u8; 200 * 1024] = [0x41; 200 * 1024];

unsafe extern "C" fn procedure(
    _c: *mut libc::c_void,
    _a: *mut u8,
    _s: usize,
    _d: *mut door_desc_t,
    _n: u32,
) {
    // SAFETY: door_return from a server thread.
    unsafe { door_return(std::ptr::null_mut(), 0, std::ptr::null_mut(), 0) };
}

fn strict_errno() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LIBDOOR_FUZZ_STRICT_ERRNO").is_none_or(|v| v != "0"))
}

fn split(n: &[u8]) -> Vec<Vec<u8>> {
    n.split(|&c| c == b':').map(|f| f.to_vec()).collect()
}

fn join(f: &[Vec<u8>]) -> Vec<u8> {
    f.join(&b':')
}

fn hex_like(template: &[u8], v: u64) -> Vec<u8> {
    let s = format!("{v:0w$x}", w = template.len());
    s.as_bytes()[s.len() - template.len()..].to_vec()
}

fn init() -> State {
    link_library();
    let before = listening_names();
    // SAFETY: creating a door with a valid procedure.
    let d = unsafe { door_create(Some(procedure), std::ptr::null_mut(), 0) };
    if d < 0 {
        die("door_create failed");
    }
    let name = abstract_name(d, true).unwrap_or_else(|| die("door has no peer name"));
    let ctl = listening_names()
        .into_iter()
        .find(|n| !before.contains(n))
        .unwrap_or_else(|| die("no control socket found"));
    let (df, cf) = (split(&name), split(&ctl));
    // The nonce: a field of both names that is not the pid.
    let pid = format!("{:08x}", std::process::id());
    let mut found = None;
    for (i, f) in df.iter().enumerate().skip(1) {
        if let Some(j) = cf.iter().position(|g| g == f)
            && f.as_slice() != pid.as_bytes()
        {
            found = Some((i, j));
            break;
        }
    }
    let (door_nonce, ctl_nonce) = found.unwrap_or_else(|| die("names share no nonce"));
    // The first field after the prefix is the door id.
    let id_field = 1;
    // The rendezvous name of a file: attach, note the new listener, detach.
    let dir = std::env::temp_dir().join(format!("libdoor-fuzz-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|_| die("cannot make the temporary directory"));
    let file = dir.join("door");
    std::fs::write(&file, b"").unwrap_or_else(|_| die("cannot make the attach point"));
    let path = std::ffi::CString::new(file.to_string_lossy().into_owned()).unwrap();
    let before_att = listening_names();
    // SAFETY: a valid door and path.
    if unsafe { fattach(d, path.as_ptr()) } != 0 {
        die("fattach failed");
    }
    let rv_name = listening_names()
        .into_iter()
        .find(|n| !before_att.contains(n))
        .unwrap_or_else(|| die("no rendezvous socket found"));
    // SAFETY: a valid path.
    unsafe { fdetach(path.as_ptr()) };
    // Keep the door open: it keeps the manager (and so the names) alive.
    let st = State {
        path,
        rv_name,
        door_fields: df,
        ctl_fields: cf,
        door_nonce,
        ctl_nonce,
        id_field,
        baseline: 0,
    };
    run_one(&st, &[0x00]);
    std::thread::sleep(Duration::from_millis(50));
    State {
        baseline: fd_count(),
        ..st
    }
}

/// The fake server: answers one call and the control connections by the
/// script, then closes everything when `done` becomes readable.
fn fake_server(srv: RawFd, ctl: RawFd, rv: RawFd, done: RawFd, cli: RawFd, msgs: &[Msg]) {
    let mut call_script: Vec<Msg> = msgs.iter().copied().filter(|m| m.dest() & 1 == 0).collect();
    let mut ctl_script: std::collections::VecDeque<Msg> =
        msgs.iter().copied().filter(|m| m.dest() & 1 == 1).collect();
    loop {
        let mut p = [
            libc::pollfd {
                fd: srv,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: ctl,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: done,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: rv,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: four valid pollfds (a negative fd is ignored).
        let r = unsafe { libc::poll(p.as_mut_ptr(), 4, 60_000) };
        if r <= 0 || p[2].revents != 0 {
            return;
        }
        if p[0].revents != 0 {
            // A call: its first message carries the reply channel first.
            let Ok(mut g) = recv_msg(srv, 256 * 1024, Instant::now() + Duration::from_secs(5))
            else {
                continue;
            };
            if g.data.is_none() {
                return;
            }
            if !g.fds.is_empty() {
                let rs = g.fds.remove(0);
                for m in call_script.drain(..) {
                    let mut fds = Vec::new();
                    make_fds(&m, cli, &mut fds);
                    send_msg(rs, &m.wire(), &fds, libc::MSG_DONTWAIT);
                    close_all(&mut fds);
                }
                // SAFETY: our copy of the reply channel.
                unsafe { libc::close(rs) };
            }
            close_all(&mut g.fds);
        }
        // Control and rendezvous connections take the next answer of the
        // same script, in the order they come.
        for (i, l) in [(1, ctl), (3, rv)] {
            if p[i].revents == 0 {
                continue;
            }
            // SAFETY: accept on our listener.
            let c = unsafe {
                libc::accept4(
                    l,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC,
                )
            };
            if c >= 0 {
                if let Ok(mut g) = recv_msg(c, 4096, Instant::now() + Duration::from_secs(5)) {
                    close_all(&mut g.fds);
                }
                if let Some(m) = ctl_script.pop_front() {
                    let mut fds = Vec::new();
                    make_fds(&m, cli, &mut fds);
                    send_msg(c, &m.wire(), &fds, libc::MSG_DONTWAIT);
                    close_all(&mut fds);
                }
                // SAFETY: our connection.
                unsafe { libc::close(c) };
            }
        }
    }
}

fn operate(fd: RawFd, cfg: u8) {
    let op = cfg & 7;
    let mut small = [0u8; 16];
    let mut big = vec![0u8; 4096];
    let (rbuf, rsize) = if op == 7 {
        (std::ptr::null_mut(), 0)
    } else if cfg & 8 != 0 {
        (big.as_mut_ptr(), big.len())
    } else {
        (small.as_mut_ptr(), small.len())
    };
    let size = match op {
        6 => ARGS.len(),
        _ => [0, 16, 4096, 64 * 1024][((cfg >> 4) & 3) as usize],
    };
    let r;
    match op {
        4 => {
            let mut info = door_info_t::default();
            // SAFETY: info is writable.
            r = unsafe { door_info(fd, &mut info) };
        }
        5 => {
            let mut v = 0usize;
            // SAFETY: v is writable.
            r = unsafe { door_getparam(fd, DOOR_PARAM_DATA_MAX, &mut v) };
        }
        3 => {
            // SAFETY: NULL params is allowed.
            r = unsafe { door_call(fd, std::ptr::null_mut()) };
        }
        _ => {
            let with_desc = op == 1 || op == 2;
            // A memfd with a name of its own: after the call, whether the
            // number still names it tells whether the library released it.
            let tag =
                std::ffi::CString::new(format!("release-{}", NEXT_ID.load(Ordering::Relaxed)))
                    .unwrap();
            // SAFETY: creating a memfd.
            let dn = unsafe { libc::memfd_create(tag.as_ptr(), libc::MFD_CLOEXEC) };
            let mut desc = door_desc_t {
                d_attributes: DOOR_DESCRIPTOR | if op == 2 { DOOR_RELEASE } else { 0 },
                d_data: door_desc_data {
                    d_desc: door_desc_inner {
                        d_descriptor: dn,
                        d_id: 0,
                    },
                },
            };
            let mut a = door_arg_t {
                data_ptr: ARGS.as_ptr() as *mut u8,
                data_size: size,
                desc_ptr: if with_desc {
                    &mut desc
                } else {
                    std::ptr::null_mut()
                },
                desc_num: with_desc as u32,
                rbuf,
                rsize,
            };
            // SAFETY: a valid door_arg_t.
            r = unsafe { door_call(fd, &mut a) };
            let target = std::fs::read_link(format!("/proc/self/fd/{dn}")).ok();
            let still_ours = target.is_some_and(|t| {
                t.to_string_lossy()
                    .starts_with(&format!("/memfd:{}", tag.to_string_lossy()))
            });
            if op != 2 && !still_ours {
                die("door_call closed a descriptor it was not asked to release");
            }
            if still_ours {
                // SAFETY: still ours.
                unsafe { libc::close(dn) };
            }
            if r == 0 {
                check_results(&a, rbuf, rsize);
            }
        }
    }
    if r != 0 {
        let e = errno();
        // A server's status that is no errno comes back as EINTR
        // (wire::peer_errno); LIBDOOR_FUZZ_STRICT_ERRNO=0 relaxes this.
        let plausible = if strict_errno() {
            (1..=133).contains(&e)
        } else {
            e != 0
        };
        if r != -1 || !plausible {
            die(&format!("op {op}: returned {r} with errno {e}"));
        }
    }
}

/// Results must lie in the caller's buffer or in a fresh mapping, and be
/// readable to the last byte.
fn check_results(a: &door_arg_t, rbuf: *mut u8, rsize: usize) {
    let in_buf = a.rbuf == rbuf;
    if in_buf && a.rsize != rsize {
        die("rsize changed but rbuf did not");
    }
    let (base, len) = (a.rbuf as usize, a.rsize);
    let inside =
        |p: usize, n: usize| p >= base && p.checked_add(n).is_some_and(|e| e <= base + len);
    if a.data_size > 0 && !inside(a.data_ptr as usize, a.data_size) {
        die("results outside the result buffer");
    }
    if a.desc_num > 0 && !inside(a.desc_ptr as usize, a.desc_num as usize * 24) {
        die("descriptors outside the result buffer");
    }
    let mut sum = 0u8;
    for i in 0..a.data_size {
        // SAFETY: checked to be inside the result buffer above.
        sum = sum.wrapping_add(unsafe { *a.data_ptr.add(i) });
    }
    std::hint::black_box(sum);
    close_results(a);
    if !in_buf && !a.rbuf.is_null() {
        // SAFETY: the library mapped it for us.
        unsafe { libc::munmap(a.rbuf.cast(), a.rsize) };
    }
}

fn run_one(st: &State, data: &[u8]) {
    let mut inp = Input { d: data };
    let cfg = inp.u8();
    let mut msgs = Vec::new();
    while let Some(m) = inp.msg() {
        if msgs.len() < 16 {
            msgs.push(m);
        }
    }
    // A fresh fake door: unique id, a nonce no real process image has.
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed) | (std::process::id() as u64) << 40;
    let fake_nonce = 0x0f0f_0f0f_0000_0000u64 | std::process::id() as u64;
    let mut df = st.door_fields.clone();
    df[st.id_field] = hex_like(&df[st.id_field], id);
    df[st.door_nonce] = hex_like(&df[st.door_nonce], fake_nonce);
    let mut cf = st.ctl_fields.clone();
    cf[st.ctl_nonce] = hex_like(&cf[st.ctl_nonce], fake_nonce);
    let (srv, cli) = seqpacket_pair();
    if !bind_abstract(srv, &join(&df)) {
        die("cannot bind the fake door name");
    }
    // SAFETY: plain socket calls on descriptors we own.
    let ctl = unsafe {
        let s = libc::socket(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        );
        if !bind_abstract(s, &join(&cf)) || libc::listen(s, 16) != 0 {
            die("cannot bind the fake control name");
        }
        s
    };
    // "By path" (cfg bit 6): the operation opens the file whose
    // rendezvous name the fake server listens on.
    let by_path = cfg & 0x40 != 0;
    let rv = if by_path {
        // SAFETY: plain socket calls on a descriptor we own.
        unsafe {
            let s = libc::socket(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            );
            if !bind_abstract(s, &st.rv_name) || libc::listen(s, 16) != 0 {
                die("cannot bind the rendezvous name");
            }
            s
        }
    } else {
        -1
    };
    let mut p = [0; 2];
    // SAFETY: p has room for two descriptors.
    unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) };
    std::thread::scope(|s| {
        let server = s.spawn(|| fake_server(srv, ctl, rv, p[0], cli, &msgs));
        // The operation runs on its own thread: its fast-path channels go
        // when it exits, so the descriptor count is exact afterwards.
        s.spawn(|| {
            if by_path {
                // SAFETY: opening our file; closing what the number names
                // afterwards (the file, or the door put in its place).
                unsafe {
                    let f = libc::open(st.path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                    operate(f, cfg);
                    libc::close(f);
                }
            } else {
                operate(cli, cfg)
            }
        })
        .join()
        .ok();
        // SAFETY: one byte into our pipe.
        unsafe { libc::write(p[1], b"x".as_ptr().cast(), 1) };
        server.join().ok();
    });
    if rv >= 0 {
        // SAFETY: our listener.
        unsafe { libc::close(rv) };
    }
    for fd in [srv, cli, ctl, p[0], p[1]] {
        // SAFETY: our descriptors.
        unsafe { libc::close(fd) };
    }
}

fuzz_target!(|data: &[u8]| {
    let st = STATE.get_or_init(init);
    run_one(st, data);
    if RUNS.fetch_add(1, Ordering::Relaxed) % 16 == 0 {
        check_fds(st.baseline, "client target");
    }
});
