//! The manager thread: control requests and fattach rendezvous requests
//! from a hostile local process.
//!
//! The harness creates doors A and B, attaches A to a file, and finds the
//! control socket and the rendezvous listener among its own listening
//! sockets (no knowledge of how their names are made). Each input is
//! `[cfg][messages...]` (common.rs): destination 0 (and 2) connects to the
//! control socket, 1 (and 3) to the rendezvous; cfg bit 0 sends all
//! messages of a destination on one connection instead of one connection
//! each. Descriptors: the special bit puts door A first; the kind follows
//! (FdKind::Door is door B, a door the request does not name); bit 6 adds
//! a SOCK_SEQPACKET end after it (so [A, memfd, socket] is a channel
//! request's shape). ID_TOKEN in a message stands for A's door id. After
//! each connection the harness reads until the
//! manager closes it (deadline). A helper process (forked before the
//! library started) checks with door_info, through the real client code,
//! that the manager still answers about A, by descriptor and by path.
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;

use libfuzzer_sys::fuzz_target;
use std::ffi::CString;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

struct State {
    a: RawFd,
    /// A's door id (replaces ID_TOKEN in the inputs).
    a_id: u64,
    b: RawFd,
    ctl: Vec<u8>,
    rv: Mutex<Vec<u8>>,
    path: CString,
    helper: RawFd,
    baseline: usize,
}
static STATE: OnceLock<State> = OnceLock::new();
static HELPER: OnceLock<RawFd> = OnceLock::new();
static RUNS: AtomicUsize = AtomicUsize::new(0);

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

/// The helper process: a client of door A in another process. Requests:
/// `d` + descriptor (the door), `i` (door_info on it), `n` + path
/// (open the path, door_info). Answers `[ok, errno, target(4)]`.
fn helper_main(sock: RawFd) -> ! {
    // SAFETY: plain process calls.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let mut door = -1;
    loop {
        let Ok(g) = recv_msg(sock, 4096, Instant::now() + Duration::from_secs(3600)) else {
            // SAFETY: ending the helper.
            unsafe { libc::_exit(0) };
        };
        let Some(d) = g.data else {
            // SAFETY: ending the helper.
            unsafe { libc::_exit(0) };
        };
        let mut info = door_info_t::default();
        let r = match d.first() {
            Some(b'd') => {
                door = g.fds.first().copied().unwrap_or(-1);
                0
            }
            // SAFETY: info is writable.
            Some(b'i') => unsafe { door_info(door, &mut info) },
            Some(b'n') => {
                let p = CString::new(&d[1..]).unwrap_or_default();
                // SAFETY: opening a path; door_info on the result.
                unsafe {
                    let f = libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                    let r = door_info(f, &mut info);
                    libc::close(f);
                    r
                }
            }
            _ => -1,
        };
        let e = errno();
        let mut out = vec![(r == 0) as u8, e as u8];
        out.extend_from_slice(&info.di_target.to_le_bytes());
        let attrs = info.di_attributes;
        out.extend_from_slice(&attrs.to_le_bytes());
        send_msg(sock, &out, &[], 0);
    }
}

fn ask_helper(h: RawFd, req: &[u8], fds: &[RawFd]) -> (bool, i32, i32, u32) {
    send_msg(h, req, fds, 0);
    match recv_msg(h, 64, Instant::now() + Duration::from_secs(60)) {
        Ok(Got { data: Some(d), .. }) if d.len() == 10 => (
            d[0] == 1,
            d[1] as i32,
            i32::from_le_bytes(d[2..6].try_into().unwrap()),
            u32::from_le_bytes(d[6..10].try_into().unwrap()),
        ),
        _ => die("the helper process did not answer in 60 s"),
    }
}

fn init_helper() -> RawFd {
    // Forked before anything starts a thread or touches the library.
    let (p, c) = seqpacket_pair();
    // SAFETY: fork; the child runs only helper_main.
    match unsafe { libc::fork() } {
        0 => {
            // SAFETY: closing the parent's end in the child.
            unsafe { libc::close(p) };
            helper_main(c)
        }
        pid if pid > 0 => {
            // SAFETY: our copy of the child's end.
            unsafe { libc::close(c) };
            p
        }
        _ => die("fork failed"),
    }
}

fn init() -> State {
    link_library();
    let helper = *HELPER.get_or_init(init_helper);
    let before = listening_names();
    // SAFETY: creating doors with a valid procedure.
    let (a, b) = unsafe {
        (
            door_create(Some(procedure), std::ptr::null_mut(), 0),
            door_create(Some(procedure), std::ptr::null_mut(), DOOR_REFUSE_DESC),
        )
    };
    if a < 0 || b < 0 {
        die("door_create failed");
    }
    let after_create = listening_names();
    let ctl = after_create
        .iter()
        .find(|n| !before.contains(n))
        .cloned()
        .unwrap_or_else(|| die("no control socket found"));
    let dir = std::env::temp_dir().join(format!("libdoor-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|_| die("cannot make the temporary directory"));
    let file = dir.join("door");
    std::fs::write(&file, b"").unwrap_or_else(|_| die("cannot make the attach point"));
    let path = CString::new(file.to_string_lossy().into_owned()).unwrap();
    // SAFETY: a valid door and path.
    if unsafe { fattach(a, path.as_ptr()) } != 0 {
        die(&format!("fattach failed: errno {}", errno()));
    }
    let rv = listening_names()
        .into_iter()
        .find(|n| !after_create.contains(n))
        .unwrap_or_else(|| die("no rendezvous socket found"));
    let (ok, e, _, _) = ask_helper(helper, b"d", &[a]);
    if !ok {
        die(&format!("helper: {e}"));
    }
    let mut info = door_info_t::default();
    // SAFETY: info is writable.
    unsafe { door_info(a, &mut info) };
    let st = State {
        a,
        a_id: info.di_uniquifier,
        b,
        ctl,
        rv: Mutex::new(rv),
        path,
        helper,
        baseline: 0,
    };
    health(&st);
    // A fast-path call on each door from a short-lived thread: the pool's
    // board (kept for the pool's life) exists before the baseline, as the
    // first channel request of an input would make it.
    std::thread::spawn(move || {
        for d in [a, b] {
            let mut buf = [0u8; 8];
            let mut arg = door_arg_t {
                data_ptr: buf.as_mut_ptr(),
                data_size: 1,
                desc_ptr: std::ptr::null_mut(),
                desc_num: 0,
                rbuf: buf.as_mut_ptr(),
                rsize: buf.len(),
            };
            // SAFETY: a valid door_arg_t.
            unsafe { door_call(d, &mut arg) };
        }
    })
    .join()
    .ok();
    // Settle: the same count five times 20 ms apart (at most 5 s).
    let mut last = fd_count();
    let mut same = 0;
    for _ in 0..250 {
        std::thread::sleep(Duration::from_millis(20));
        let n = fd_count();
        same = if n == last { same + 1 } else { 0 };
        last = n;
        if same >= 5 {
            break;
        }
    }
    State {
        baseline: fd_count(),
        ..st
    }
}

/// The manager still answers door_info about A, by descriptor and by path.
/// A failure is asked again once after 6 s before it counts: a fuzz
/// process starved of CPU can miss the rendezvous' 1 s answer bound, and
/// the helper's library then fails fast for 5 s (the documented bounded
/// wait). A manager that really stopped answering fails the second time
/// too. Each retry is printed, and more than MAX_RETRIES in one run fail
/// it: a manager that stalls for seconds again and again is a bug too.
fn health(st: &State) {
    if let Err(first) = health_once(st) {
        let n = HEALTH_RETRIES.fetch_add(1, Ordering::Relaxed) + 1;
        eprintln!("control target: health check retry {n} after: {first}");
        if n > MAX_RETRIES {
            die(&format!(
                "more than {MAX_RETRIES} health check retries: {first}"
            ));
        }
        std::thread::sleep(Duration::from_secs(6));
        if let Err(second) = health_once(st) {
            die(&second);
        }
    }
}

static HEALTH_RETRIES: AtomicUsize = AtomicUsize::new(0);
const MAX_RETRIES: usize = 3;

fn health_once(st: &State) -> Result<(), String> {
    let (ok, e, target, attrs) = ask_helper(st.helper, b"i", &[]);
    if !ok || target != std::process::id() as i32 || attrs & DOOR_REVOKED != 0 {
        return Err(format!(
            "door_info from another process: ok {ok} errno {e} target {target} attrs {attrs:#x}"
        ));
    }
    let mut req = b"n".to_vec();
    req.extend_from_slice(st.path.as_bytes());
    let (ok, e, target, _) = ask_helper(st.helper, &req, &[]);
    if !ok || target != std::process::id() as i32 {
        return Err(format!(
            "door_info by path from another process: ok {ok} errno {e} target {target}"
        ));
    }
    Ok(())
}

fn fds_for(st: &State, m: &Msg, out: &mut Vec<RawFd>) {
    if m.special() {
        // SAFETY: duplicating our door.
        out.push(unsafe { libc::fcntl(st.a, libc::F_DUPFD_CLOEXEC, 0) });
    }
    let one = Msg {
        ctl: m.ctl & 7,
        data: m.data,
    };
    make_fds(&one, st.b, out);
    if m.ctl & 0x40 != 0 {
        let (x, y) = seqpacket_pair();
        // SAFETY: our descriptor.
        unsafe { libc::close(y) };
        out.push(x);
    }
}

/// Reads until the manager closes the connection.
fn finish(c: RawFd, what: &str) {
    // SAFETY: our connection.
    unsafe { libc::shutdown(c, libc::SHUT_WR) };
    match drain_counting(c, Instant::now() + Duration::from_secs(30)) {
        None => die(&format!(
            "the manager kept a {what} connection open for 30 s"
        )),
        Some(seen) if std::env::var_os("LIBDOOR_FUZZ_TRACE").is_some() => {
            eprintln!("{what} answers (bytes, descriptors): {seen:?}")
        }
        Some(_) => {}
    } // SAFETY: our connection.
    unsafe { libc::close(c) };
}

fuzz_target!(|data: &[u8]| {
    let st = STATE.get_or_init(init);
    let mut inp = Input { d: data };
    let cfg = inp.u8();
    let rv = st.rv.lock().unwrap().clone();
    let mut open: [Option<RawFd>; 2] = [None, None];
    let mut touched_rv = false;
    let mut n = 0;
    while let Some(m) = inp.msg() {
        n += 1;
        if n > 8 {
            break;
        }
        let which = (m.dest() & 1) as usize;
        touched_rv |= which == 1;
        let name = if which == 0 { &st.ctl } else { &rv };
        let c = match open[which] {
            Some(c) => c,
            None => match connect_abstract(name) {
                Some(c) => c,
                None => continue, // detached by an earlier message
            },
        };
        let mut fds = Vec::new();
        fds_for(st, &m, &mut fds);
        let mut wire = m.wire().into_owned();
        replace_u64(&mut wire, ID_TOKEN, st.a_id);
        send_msg(c, &wire, &fds, libc::MSG_DONTWAIT);
        close_all(&mut fds);
        if cfg & 1 != 0 {
            open[which] = Some(c);
        } else {
            finish(c, if which == 0 { "control" } else { "rendezvous" });
        }
    }
    for c in open.iter().flatten() {
        finish(*c, "held");
    }
    if touched_rv {
        // A request may have detached A (we are its owner): attach again.
        match connect_abstract(&rv) {
            Some(c) => finish(c, "probe"),
            None => {
                // Detached, or attached again under a new random name that
                // we have not seen yet (EBUSY): either way, learn the name
                // the covered file publishes now.
                // SAFETY: a valid door and path.
                if unsafe { fattach(st.a, st.path.as_ptr()) } != 0 && errno() != libc::EBUSY {
                    die(&format!("fattach again failed: errno {}", errno()));
                }
                let mut buf = [0u8; 128];
                // SAFETY: a NUL-terminated path and attribute name; buf is
                // writable for its length.
                let n = unsafe {
                    libc::getxattr(
                        st.path.as_ptr(),
                        c"user.libdoor.rendezvous".as_ptr(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                    )
                };
                if n > 0 {
                    *st.rv.lock().unwrap() = buf[..n as usize].to_vec();
                }
            }
        }
    }
    let runs = RUNS.fetch_add(1, Ordering::Relaxed);
    if runs % 8 == 0 {
        health(st);
    }
    if runs % 64 == 0 {
        check_fds(st.baseline, "control target");
    }
});
