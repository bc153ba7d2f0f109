//! Seed writer: real traffic, captured by a recording proxy, written as
//! inputs of the three targets (the format of common.rs).
//!
//! Run as `LIBDOOR_FUZZ_WRITE_SEEDS=<dir> server -runs=1`. A real door R of
//! this process serves (the server target's procedure). A fake door F has
//! R's name with another nonce, so the library's client code takes it for
//! a door of another process image: calls, door_info and fast-path channel
//! set-ups on F go to this proxy, which records each message and forwards
//! it to R (or to R's manager, with F's descriptor swapped for R's), and
//! records the answers on the way back. The rendezvous requests are
//! captured on a fake listener bound to the name a real attachment had.
//! Only the name layout "fields separated by ':' with a shared nonce
//! field" is assumed; the messages themselves are whatever the library
//! sends today.

use super::common::*;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A recorded descriptor: its kind, and a memfd's size and content.
#[derive(Clone)]
struct FdRec {
    kind: FdKind,
    size: usize,
    content: Vec<u8>,
}

#[derive(Clone)]
struct MsgRec {
    data: Vec<u8>,
    fds: Vec<FdRec>,
}

#[derive(Default)]
struct Capture {
    /// Client to server: first message on the door, then the reply channel.
    call_first: Option<MsgRec>,
    call_rest: Vec<MsgRec>,
    /// Server to client on the reply channel.
    replies: Vec<MsgRec>,
    /// Control requests and their answers, in order.
    ctl_reqs: Vec<MsgRec>,
    ctl_reps: Vec<MsgRec>,
}

fn classify(fd: RawFd) -> FdRec {
    let t = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if t.starts_with("/memfd:") {
        // SAFETY: fstat and pread on a descriptor we hold.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            libc::fstat(fd, &mut st);
            let size = st.st_size as usize;
            let mut buf = vec![0u8; size.min(16 * 1024)];
            let n = libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), 0).max(0) as usize;
            buf.truncate(n);
            while buf.last() == Some(&0) {
                buf.pop();
            }
            let seals = libc::fcntl(fd, libc::F_GET_SEALS);
            let kind = if seals & libc::F_SEAL_SEAL != 0 {
                FdKind::SealedMemfd
            } else if seals & libc::F_SEAL_SHRINK != 0 {
                FdKind::ShrinkSealedMemfd
            } else {
                FdKind::Memfd
            };
            FdRec {
                kind,
                size,
                content: buf,
            }
        }
    } else if t.starts_with("socket:") {
        let kind = match abstract_name(fd, true) {
            Some(n) if n.starts_with(b"ldoor") => FdKind::Door,
            _ => FdKind::SeqPacket,
        };
        FdRec {
            kind,
            size: 0,
            content: Vec::new(),
        }
    } else if t.starts_with("pipe:") {
        FdRec {
            kind: FdKind::Pipe,
            size: 0,
            content: Vec::new(),
        }
    } else {
        FdRec {
            kind: FdKind::DevNull,
            size: 0,
            content: Vec::new(),
        }
    }
}

fn rec(data: &[u8], fds: &[RawFd]) -> MsgRec {
    MsgRec {
        data: data.to_vec(),
        fds: fds.iter().map(|&f| classify(f)).collect(),
    }
}

struct Names {
    r: RawFd,
    fake_door: Vec<u8>,
    real_ctl: Vec<u8>,
    fake_ctl: Vec<u8>,
}

/// Relays one call: `first` arrived on F's server end with `fds`
/// ([reply channel, descriptors...]).
fn relay_call(n: &Names, cap: &mut Capture, first: Vec<u8>, mut fds: Vec<RawFd>) {
    cap.call_first = Some(rec(&first, &fds[1..]));
    let rs = fds.remove(0);
    let (rc2, rs2) = seqpacket_pair();
    // The client's token byte first, so the server finds it at once.
    let dl = Instant::now() + Duration::from_secs(10);
    if let Ok(Got { data: Some(t), .. }) = recv_msg(rs, 16, dl) {
        send_msg(rc2, &t, &[], 0);
    }
    let mut all = vec![rs2];
    all.extend_from_slice(&fds);
    send_msg(n.r, &first, &all, 0);
    close_all(&mut fds);
    // SAFETY: our copy.
    unsafe { libc::close(rs2) };
    let mut client_open = true;
    loop {
        let mut p = [
            libc::pollfd {
                fd: if client_open { rs } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: rc2,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        if unsafe { libc::poll(p.as_mut_ptr(), 2, 20_000) } <= 0 {
            die("seeds: the relayed call stalled");
        }
        let dl = Instant::now() + Duration::from_secs(10);
        if p[0].revents != 0 {
            match recv_msg(rs, 256 * 1024, dl) {
                Ok(Got {
                    data: Some(d),
                    mut fds,
                    ..
                }) => {
                    cap.call_rest.push(rec(&d, &fds));
                    send_msg(rc2, &d, &fds, 0);
                    close_all(&mut fds);
                }
                _ => {
                    client_open = false;
                    // SAFETY: our socket.
                    unsafe { libc::shutdown(rc2, libc::SHUT_WR) };
                }
            }
        }
        if p[1].revents != 0 {
            match recv_msg(rc2, 256 * 1024, dl) {
                Ok(Got {
                    data: Some(d),
                    mut fds,
                    ..
                }) => {
                    cap.replies.push(rec(&d, &fds));
                    send_msg(rs, &d, &fds, 0);
                    close_all(&mut fds);
                }
                _ => break,
            }
        }
    }
    // SAFETY: our sockets.
    unsafe {
        libc::close(rs);
        libc::close(rc2);
    }
}

/// Relays one control connection to R's manager.
fn relay_ctl(n: &Names, cap: &mut Capture, c: RawFd) {
    let dl = Instant::now() + Duration::from_secs(10);
    let Ok(Got {
        data: Some(req),
        mut fds,
        ..
    }) = recv_msg(c, 4096, dl)
    else {
        return;
    };
    cap.ctl_reqs.push(rec(&req, &fds));
    if !fds.is_empty() {
        // F's descriptor out, R's in: same id, the real nonce.
        // SAFETY: closing our copy; duplicating R.
        unsafe {
            libc::close(fds[0]);
            fds[0] = libc::fcntl(n.r, libc::F_DUPFD_CLOEXEC, 0);
        }
    }
    let Some(s) = connect_abstract(&n.real_ctl) else {
        die("seeds: cannot reach the manager");
    };
    send_msg(s, &req, &fds, 0);
    close_all(&mut fds);
    if let Ok(Got {
        data: Some(rep),
        mut fds,
        ..
    }) = recv_msg(s, 4096, dl)
    {
        cap.ctl_reps.push(rec(&rep, &fds));
        send_msg(c, &rep, &fds, 0);
        close_all(&mut fds);
    }
    // SAFETY: our sockets.
    unsafe { libc::close(s) };
}

/// Runs `op` on a thread of its own against F while proxying.
fn capture(n: &Names, op: impl FnOnce(RawFd) + Send) -> Capture {
    let (srv, cli) = seqpacket_pair();
    if !bind_abstract(srv, &n.fake_door) {
        die("seeds: cannot bind the fake door");
    }
    // SAFETY: plain socket calls.
    let ctl = unsafe {
        let s = libc::socket(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        );
        if !bind_abstract(s, &n.fake_ctl) || libc::listen(s, 16) != 0 {
            die("seeds: cannot bind the fake control socket");
        }
        s
    };
    let mut p = [0; 2];
    // SAFETY: p has room for two descriptors.
    unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) };
    let mut cap = Capture::default();
    std::thread::scope(|s| {
        let done = p[1];
        s.spawn(move || {
            op(cli);
            // SAFETY: one byte into our pipe.
            unsafe { libc::write(done, b"x".as_ptr().cast(), 1) };
        });
        loop {
            let mut pf = [srv, ctl, p[0]].map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
            // SAFETY: three valid pollfds.
            if unsafe { libc::poll(pf.as_mut_ptr(), 3, 30_000) } <= 0 {
                die("seeds: the operation stalled");
            }
            if pf[2].revents != 0 {
                break;
            }
            if pf[0].revents != 0
                && let Ok(Got {
                    data: Some(d), fds, ..
                }) = recv_msg(srv, 256 * 1024, Instant::now() + Duration::from_secs(5))
                && !fds.is_empty()
            {
                relay_call(n, &mut cap, d, fds);
            }
            if pf[1].revents != 0 {
                // SAFETY: accept on our listener.
                let c = unsafe {
                    libc::accept4(
                        ctl,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_CLOEXEC,
                    )
                };
                if c >= 0 {
                    relay_ctl(n, &mut cap, c);
                    // SAFETY: our connection.
                    unsafe { libc::close(c) };
                }
            }
        }
    });
    for fd in [srv, cli, ctl, p[0], p[1]] {
        // SAFETY: our descriptors.
        unsafe { libc::close(fd) };
    }
    cap
}

/// One script message from a recorded message: `dest`, an optional
/// special first descriptor, and the descriptors' kind and count.
fn script_msg(out: &mut Vec<u8>, dest: u8, special: bool, m: &MsgRec, skip_fds: usize) {
    let fds = &m.fds[skip_fds.min(m.fds.len())..];
    let mut ctl = dest << 4;
    if special {
        ctl |= 8;
    }
    let mut data = m.data.clone();
    if let Some(f) = fds.first() {
        ctl |= match f.kind {
            FdKind::None => 0,
            FdKind::DevNull => 1,
            FdKind::Pipe => 2,
            FdKind::SeqPacket => 3,
            FdKind::SealedMemfd => 4,
            FdKind::Memfd => 5,
            FdKind::Door => 6,
            FdKind::ShrinkSealedMemfd => 7,
        };
        if fds.len() >= 2 {
            ctl |= 0x40;
        }
        if f.kind.is_memfd() && data.len() % 4 == 0 && data.len() / 4 < 64 {
            let class = MEMFD_SIZES.iter().position(|&s| s >= f.size).unwrap_or(3) as u8;
            data = memfd_msg(&data, class, &f.content);
        }
    }
    // A large chunk of one repeated byte pattern: bit 7 (see common.rs).
    if data.len() > u16::MAX as usize && data.len() % 1024 == 0 {
        let unit = data.len() / 1024;
        if data.chunks(unit).all(|c| c == &data[..unit]) {
            data.truncate(unit);
            ctl |= 0x80;
        }
    }
    put_msg(out, ctl, &data);
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap_or_else(|_| die("seeds: cannot make the directory"));
    std::fs::write(d.join(format!("seed-{name}")), bytes)
        .unwrap_or_else(|_| die("seeds: cannot write"));
}

fn call_op(arg: Vec<u8>, desc: u32, rsize: usize, null_params: bool) -> impl FnOnce(RawFd) + Send {
    move |fd| {
        let mut arg = arg;
        let mut rbuf = vec![0u8; rsize.max(1)];
        // SAFETY: opening /dev/null.
        let dn = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        let mut desc_t = door_desc_t {
            d_attributes: DOOR_DESCRIPTOR | desc,
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
            desc_ptr: if desc != 0 {
                &mut desc_t
            } else {
                std::ptr::null_mut()
            },
            desc_num: (desc != 0) as u32,
            rbuf: rbuf.as_mut_ptr(),
            rsize,
        };
        // SAFETY: a valid door_arg_t, or NULL.
        let r = unsafe {
            door_call(
                fd,
                if null_params {
                    std::ptr::null_mut()
                } else {
                    &mut a
                },
            )
        };
        if r == 0 && !null_params {
            close_results(&a);
            if a.rbuf != rbuf.as_mut_ptr() {
                // SAFETY: mapped for us by the library.
                unsafe { libc::munmap(a.rbuf.cast(), a.rsize) };
            }
        }
        if desc & DOOR_RELEASE == 0 || r != 0 {
            // SAFETY: ours (not released).
            unsafe { libc::close(dn) };
        }
    }
}

/// Writes the seeds of all three targets under `dir`.
pub fn write_all(dir: &Path, r: RawFd) {
    let split =
        |n: &[u8]| -> Vec<Vec<u8>> { n.split(|&c| c == b':').map(|f| f.to_vec()).collect() };
    let name = abstract_name(r, true).unwrap_or_else(|| die("seeds: R has no name"));
    // R's control socket: the listener whose name shares R's nonce field.
    let df = split(&name);
    let pid = format!("{:08x}", std::process::id());
    let mut real_ctl = None;
    let mut nonce_fields = (0, 0);
    for l in listening_names() {
        let cf = split(&l);
        for (i, f) in df.iter().enumerate().skip(1) {
            if f.as_slice() != pid.as_bytes()
                && let Some(j) = cf.iter().position(|g| g == f)
            {
                real_ctl = Some(l.clone());
                nonce_fields = (i, j);
            }
        }
    }
    let real_ctl = real_ctl.unwrap_or_else(|| die("seeds: no control socket"));
    let mut info = door_info_t::default();
    // SAFETY: info is writable.
    unsafe { door_info(r, &mut info) };
    let r_id = info.di_uniquifier;
    let fake = |fields: Vec<Vec<u8>>, i: usize| {
        let mut f = fields;
        f[i] = f[i].iter().map(|_| b'f').collect();
        f.join(&b':')
    };
    let n = Names {
        r,
        fake_door: fake(df.clone(), nonce_fields.0),
        fake_ctl: fake(split(&real_ctl), nonce_fields.1),
        real_ctl: real_ctl.clone(),
    };
    // Calls: (name, argument, descriptor attributes, rsize, NULL params,
    // client-target cfg).
    let small = |b: u8| {
        let mut v = vec![b; 16];
        v[1] = b'x';
        v
    };
    let calls: Vec<(&str, Vec<u8>, u32, usize, bool, u8)> = vec![
        ("echo-desc", small(b'p'), DOOR_DESCRIPTOR, 16, false, 0x11),
        ("empty-desc", small(0), DOOR_DESCRIPTOR, 16, false, 0x11),
        (
            "echo4k-desc",
            vec![1u8; 4096],
            DOOR_DESCRIPTOR,
            4096,
            false,
            0x29,
        ),
        ("big-desc", small(2), DOOR_DESCRIPTOR, 16, false, 0x11),
        (
            "descreply-desc",
            small(3),
            DOOR_DESCRIPTOR,
            4096,
            false,
            0x19,
        ),
        (
            "release",
            small(b'p'),
            DOOR_DESCRIPTOR | DOOR_RELEASE,
            16,
            false,
            0x12,
        ),
        ("nullparams", Vec::new(), 0, 0, true, 0x03),
        (
            "largearg-desc",
            vec![b'p'; 200 * 1024],
            DOOR_DESCRIPTOR,
            16,
            false,
            0x06,
        ),
        ("fast", small(b'p'), 0, 16, false, 0x10),
        ("fast-big", small(2), 0, 4096, false, 0x18),
    ];
    let mut echo_replies = Vec::new();
    let mut info_replies = Vec::new();
    for (tag, arg, desc, rsize, nullp, cfg) in calls {
        let cap = capture(&n, call_op(arg, desc, rsize, nullp));
        if tag == "echo-desc" {
            echo_replies = cap.replies.clone();
        }
        // Server target: first message with the reply channel, the rest
        // on the reply channel; the token byte via cfg bit 1.
        if let Some(first) = &cap.call_first {
            let mut s = vec![0x02u8];
            script_msg(&mut s, 0, true, first, 0);
            for m in &cap.call_rest {
                script_msg(&mut s, 1, false, m, 0);
            }
            write(dir, "server", tag, &s);
            let mut s = vec![0x03u8]; // the same on door B
            script_msg(&mut s, 0, true, first, 0);
            for m in &cap.call_rest {
                script_msg(&mut s, 1, false, m, 0);
            }
            write(dir, "server", &format!("{tag}-b"), &s);
        }
        // Client target: the answers.
        let mut s = vec![cfg];
        for m in &cap.replies {
            script_msg(&mut s, 0, false, m, 0);
        }
        for m in &cap.ctl_reps {
            script_msg(&mut s, 1, false, m, 0);
        }
        write(dir, "client", tag, &s);
        // Control target: the control requests (door first, as special).
        for (i, m) in cap.ctl_reqs.iter().enumerate() {
            let mut s = vec![0u8];
            let mut m = m.clone();
            let seq = m.fds.len() >= 3;
            if seq {
                m.fds.truncate(2); // [door, memfd]; the socket is bit 6
            }
            let mut one = Vec::new();
            script_msg(&mut one, 0, true, &m, 1);
            if seq {
                one[0] |= 0x40;
            } else {
                one[0] &= !0x40;
            }
            s.extend_from_slice(&one);
            replace_u64(&mut s, r_id, ID_TOKEN);
            write(dir, "control", &format!("{tag}-ctl{i}"), &s);
        }
    }
    for (tag, cfg) in [("info", 0x04u8), ("getparam", 0x05u8)] {
        let cap = capture(&n, move |fd| {
            let mut info = door_info_t::default();
            let mut v = 0usize;
            // SAFETY: valid out pointers.
            unsafe {
                if cfg == 4 {
                    door_info(fd, &mut info);
                } else {
                    door_getparam(fd, DOOR_PARAM_DATA_MAX, &mut v);
                }
            }
        });
        let mut s = vec![cfg];
        for m in &cap.ctl_reps {
            script_msg(&mut s, 1, false, m, 0);
        }
        write(dir, "client", tag, &s);
        if cfg == 4 {
            info_replies = cap.ctl_reps.clone();
        }
        for (i, m) in cap.ctl_reqs.iter().enumerate() {
            let mut s = vec![0u8];
            script_msg(&mut s, 0, true, m, 1);
            replace_u64(&mut s, r_id, ID_TOKEN);
            write(dir, "control", &format!("{tag}-ctl{i}"), &s);
        }
    }
    // "By path": the rendezvous' answer (the door), then what the door
    // answers (client target, cfg bit 6).
    if let Some(answer) = rendezvous_seeds(dir, r) {
        let mut s = vec![0x44u8];
        script_msg(&mut s, 1, false, &answer, 0);
        for m in &info_replies {
            script_msg(&mut s, 1, false, m, 0);
        }
        write(dir, "client", "path-info", &s);
        let mut s = vec![0x51u8];
        script_msg(&mut s, 1, false, &answer, 0);
        for m in &echo_replies {
            script_msg(&mut s, 0, false, m, 0);
        }
        write(dir, "client", "path-call", &s);
    }
}

/// Rendezvous requests: attach R to a file, note the listener's name,
/// detach, listen on that name ourselves and record what the library's
/// open-time resolution and fdetach send.
fn rendezvous_seeds(dir: &Path, r: RawFd) -> Option<MsgRec> {
    let tmp: PathBuf = std::env::temp_dir().join(format!("libdoor-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).ok();
    let file = tmp.join("door");
    std::fs::write(&file, b"").ok();
    let path = std::ffi::CString::new(file.to_string_lossy().into_owned()).unwrap();
    let before = listening_names();
    // SAFETY: valid door and path.
    if unsafe { fattach(r, path.as_ptr()) } != 0 {
        die("seeds: fattach failed");
    }
    let rv = listening_names()
        .into_iter()
        .find(|l| !before.contains(l))
        .unwrap_or_else(|| die("seeds: no rendezvous listener"));
    // SAFETY: valid path.
    unsafe { fdetach(path.as_ptr()) };
    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: plain socket calls.
    let l = unsafe {
        let s = libc::socket(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        );
        while !bind_abstract(s, &rv) {
            if Instant::now() > deadline {
                die("seeds: the rendezvous name stayed taken");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        libc::listen(s, 4);
        s
    };
    let mut reqs = Vec::new();
    for op in 0..2 {
        let p2 = path.clone();
        std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: open + door_info, or fdetach, on our path.
                unsafe {
                    if op == 0 {
                        let f = libc::open(p2.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                        let mut info = door_info_t::default();
                        door_info(f, &mut info);
                        libc::close(f);
                    } else {
                        fdetach(p2.as_ptr());
                    }
                }
            });
            if wait_readable(l, Instant::now() + Duration::from_secs(10)) {
                // SAFETY: accept on our listener.
                let c = unsafe {
                    libc::accept4(
                        l,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_CLOEXEC,
                    )
                };
                if let Ok(Got {
                    data: Some(d),
                    mut fds,
                    ..
                }) = recv_msg(c, 4096, Instant::now() + Duration::from_secs(10))
                {
                    reqs.push(d);
                    close_all(&mut fds);
                }
                // SAFETY: our connection.
                unsafe { libc::close(c) };
            }
        });
    }
    // SAFETY: our listener.
    unsafe { libc::close(l) };
    for (i, d) in reqs.iter().enumerate() {
        let mut s = vec![0u8];
        put_msg(&mut s, 0x10, d);
        write(dir, "control", &format!("rendezvous{i}"), &s);
    }
    // The real rendezvous' answer to the open request.
    let mut answer = None;
    // SAFETY: valid door and path.
    if let Some(req) = reqs.first()
        && unsafe { fattach(r, path.as_ptr()) } == 0
    {
        if let Some(c) = connect_abstract(&rv) {
            send_msg(c, req, &[], 0);
            if let Ok(Got {
                data: Some(d),
                mut fds,
                ..
            }) = recv_msg(c, 4096, Instant::now() + Duration::from_secs(10))
            {
                answer = Some(rec(&d, &fds));
                close_all(&mut fds);
            }
            // SAFETY: our connection.
            unsafe { libc::close(c) };
        }
        // SAFETY: valid path.
        unsafe { fdetach(path.as_ptr()) };
    }
    std::fs::remove_dir_all(&tmp).ok();
    answer
}
