//! `door serve PATH -- CMD…`: a door whose procedure runs a command.
//!
//! Each call runs CMD (no shell: `sh -c '…'` for one) with the call's
//! argument on its standard input and returns its standard output. The
//! caller's credentials are in its environment (DOOR_CALLER_PID, _UID,
//! _GID, _EUID, _EGID). A command that cannot be started, exits non-zero,
//! is killed, runs past --timeout or writes more than --max-output fails
//! the call: the procedure returns without door_return, so its thread ends, which the caller sees as EINTR
//! (`door call` exits 5), the way a door server fails a call on illumos.
//! At most --jobs commands run at once; further calls wait for a slot.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use door::abi::*;
use lexopt::prelude::*;

use crate::{Fail, Res, code, ffi, help, need};

const HELP: &str = "\
usage: door serve [OPTIONS] PATH -- CMD [ARG]...

Creates a door, attaches it at PATH (created with --mode if missing,
removed again at exit) and serves it until SIGINT, SIGTERM or SIGHUP.
Each call runs CMD (no shell; use sh -c '...' for one) with the call's
data on standard input and returns what it writes on standard output.
Its standard error is door serve's. The caller's process id and ids are
in DOOR_CALLER_PID, DOOR_CALLER_UID, DOOR_CALLER_GID, DOOR_CALLER_EUID
and DOOR_CALLER_EGID. A command that cannot start, exits non-zero (unless
--ignore-status), is killed, outlasts --timeout or writes more than
--max-output fails the call: the caller's door_call fails with EINTR
(door call exits 5). Calls passing descriptors are refused (ENOTSUP).

Options:
  --mode OCTAL        mode of a PATH created here (default 0600: only
                      you may open, and so call, the door)
  --jobs N            commands running at once (default 4); further
                      calls wait
  --timeout SECS      kill a command after SECS seconds (default 60; 0:
                      no limit)
  --max-input BYTES   largest call argument (default 1048576)
  --max-output BYTES  largest reply (default 16777216)
  --ignore-status     return the output of commands that exit non-zero
";

struct Config {
    argv: Vec<String>,
    timeout: Option<Duration>,
    max_output: usize,
    ignore_status: bool,
    jobs: usize,
}

static CONFIG: OnceLock<Config> = OnceLock::new();
static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

thread_local! {
    /// The reply of this thread's current call: door_return copies it out
    /// before the thread takes its next call, and never returns, so the
    /// procedure's own frame must own nothing.
    static OUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn parse_num(s: &str, what: &str) -> Result<u64, Fail> {
    s.parse()
        .map_err(|_| Fail::new(code::USAGE, format!("{what}: not a number: {s:?}")))
}

pub fn main(mut p: lexopt::Parser) -> Res {
    let mut mode: u32 = 0o600;
    let mut jobs = 4usize;
    let mut timeout = 60u64;
    let mut max_input = 1usize << 20;
    let mut max_output = 16usize << 20;
    let mut ignore_status = false;
    let mut path = None;
    let mut argv: Vec<String> = Vec::new();
    while let Some(a) = p.next()? {
        match a {
            Long("mode") => {
                let v = p.value()?.string()?;
                mode = u32::from_str_radix(&v, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| Fail::new(code::USAGE, format!("--mode: bad mode {v:?}")))?;
            }
            Long("jobs") => jobs = parse_num(&p.value()?.string()?, "--jobs")? as usize,
            Long("timeout") => timeout = parse_num(&p.value()?.string()?, "--timeout")?,
            Long("max-input") => {
                max_input = parse_num(&p.value()?.string()?, "--max-input")? as usize
            }
            Long("max-output") => {
                max_output = parse_num(&p.value()?.string()?, "--max-output")? as usize
            }
            Long("ignore-status") => ignore_status = true,
            Long("help") | Short('h') => return help(HELP),
            Value(v) if path.is_none() => path = Some(v.string()?),
            Value(v) => {
                argv.push(v.string()?);
                for r in p.raw_args()? {
                    argv.push(
                        r.into_string().map_err(|r| {
                            Fail::new(code::USAGE, format!("{r:?}: not valid UTF-8"))
                        })?,
                    );
                }
            }
            a => return Err(a.unexpected().into()),
        }
    }
    let usage = "usage: door serve [OPTIONS] PATH -- CMD [ARG]...";
    let path = need(path, "PATH", usage)?;
    if argv.is_empty() {
        return Err(Fail::new(code::USAGE, format!("missing CMD\n{usage}")));
    }
    if jobs == 0 {
        return Err(Fail::new(code::USAGE, "--jobs must be at least 1".into()));
    }
    let _ = CONFIG.set(Config {
        argv,
        timeout: (timeout > 0).then(|| Duration::from_secs(timeout)),
        max_output,
        ignore_status,
        jobs,
    });
    let cpath = CString::new(path.clone())
        .map_err(|_| Fail::new(code::USAGE, "PATH contains a NUL byte".into()))?;

    // The signals that end the server are taken by sigwait below; every
    // thread the library starts from here on inherits the blocked mask.
    // SAFETY: sigset_t is plain old data, set up by sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a valid sigset_t.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }

    // SAFETY: cpath is NUL-terminated.
    let fd = unsafe {
        libc::open(
            cpath.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
            mode,
        )
    };
    let created = fd >= 0;
    if created {
        // The mode is what was asked for, whatever the umask.
        // SAFETY: our own descriptor.
        unsafe {
            libc::fchmod(fd, mode);
            libc::close(fd);
        }
    } else if ffi::errno() != libc::EEXIST {
        return Err(Fail::new(
            code::ACCESS,
            format!("{path}: {}", ffi::strerror(ffi::errno())),
        ));
    }
    let cleanup = |msg: String, c: i32| {
        if created {
            let _ = std::fs::remove_file(&path);
        }
        Fail::new(c, msg)
    };
    // SAFETY: serve_proc is a door server procedure; no cookie.
    let d = unsafe { ffi::door_create(Some(serve_proc), std::ptr::null_mut(), DOOR_REFUSE_DESC) };
    if d < 0 {
        let e = ffi::errno();
        return Err(cleanup(
            format!("door_create: {}", ffi::strerror(e)),
            code::FAILED,
        ));
    }
    // SAFETY: d is our door.
    unsafe { ffi::door_setparam(d, DOOR_PARAM_DATA_MAX, max_input) };
    // SAFETY: cpath is NUL-terminated; d is our door.
    if unsafe { ffi::fattach(d, cpath.as_ptr()) } != 0 {
        let e = ffi::errno();
        let c = match e {
            libc::EACCES | libc::EPERM | libc::ENOENT => code::ACCESS,
            _ => code::FAILED,
        };
        let why = if e == libc::EBUSY {
            "a door is already attached there".to_string()
        } else {
            ffi::strerror(e)
        };
        return Err(cleanup(format!("fattach {path}: {why}"), c));
    }
    eprintln!(
        "door serve: serving {path} (pid {}); SIGINT, SIGTERM or SIGHUP ends it",
        std::process::id()
    );
    let mut sig = 0;
    // SAFETY: set is valid; sig is writable.
    while unsafe { libc::sigwait(&set, &mut sig) } != 0 {}
    // SAFETY: cpath is NUL-terminated.
    unsafe { ffi::fdetach(cpath.as_ptr()) };
    if created {
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}

/// The door's procedure. Its frame holds only `Copy` values: `door_return`
/// never returns. A failed call returns instead: libdoor then ends this
/// server thread and the caller gets EINTR, as from a thread that exits.
unsafe extern "C" fn serve_proc(
    _cookie: *mut libc::c_void,
    argp: *mut u8,
    size: usize,
    _dp: *mut door_desc_t,
    _n: u32,
) {
    let Some((ptr, len)) = handle(argp, size) else {
        return;
    };
    // SAFETY: ptr/len is this thread's reply buffer, untouched until the
    // thread's next call, which comes after door_return has copied it.
    unsafe { ffi::door_return(ptr.cast(), len, std::ptr::null_mut(), 0) };
}

/// Runs the command for one call; the reply's place in this thread's
/// buffer, or None to fail the call.
fn handle(argp: *mut u8, size: usize) -> Option<(*mut u8, usize)> {
    let cfg = CONFIG.get()?;
    let input: &[u8] = if argp.is_null() || size == 0 {
        &[]
    } else {
        // SAFETY: the library passes `size` readable bytes at argp.
        unsafe { std::slice::from_raw_parts(argp, size) }
    };
    let mut cred = door_cred_t::default();
    // SAFETY: cred is writable.
    unsafe { ffi::door_cred(&mut cred) };
    {
        let mut n = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        while *n >= cfg.jobs {
            n = FREED.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n += 1;
    }
    let r = run(cfg, input, &cred);
    *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
    FREED.notify_one();
    match r {
        Ok(out) => OUT.with(|b| {
            let mut b = b.borrow_mut();
            *b = out;
            Some((b.as_mut_ptr(), b.len()))
        }),
        Err(why) => {
            eprintln!(
                "door serve: call from pid {} (uid {}) failed: {}: {why}",
                cred.dc_pid, cred.dc_ruid, cfg.argv[0]
            );
            None
        }
    }
}

fn set_nonblock(fd: i32) {
    // SAFETY: fcntl with integer arguments.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// Runs the command: input on its stdin, its stdout returned.
fn run(cfg: &Config, input: &[u8], cred: &door_cred_t) -> Result<Vec<u8>, String> {
    let mut child = Command::new(&cfg.argv[0])
        .args(&cfg.argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .env("DOOR_CALLER_PID", cred.dc_pid.to_string())
        .env("DOOR_CALLER_UID", cred.dc_ruid.to_string())
        .env("DOOR_CALLER_GID", cred.dc_rgid.to_string())
        .env("DOOR_CALLER_EUID", cred.dc_euid.to_string())
        .env("DOOR_CALLER_EGID", cred.dc_egid.to_string())
        .spawn()
        .map_err(|e| format!("cannot run: {e}"))?;
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    if let Some(s) = &stdin {
        set_nonblock(s.as_raw_fd());
    }
    set_nonblock(stdout.as_raw_fd());
    let deadline = cfg.timeout.map(|t| Instant::now() + t);
    let mut out = Vec::new();
    let mut written = 0usize;
    if input.is_empty() {
        stdin = None;
    }
    let mut buf = vec![0u8; 64 * 1024];
    let failure = loop {
        let mut pf = [
            libc::pollfd {
                fd: stdout.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: stdin.as_ref().map_or(-1, |s| s.as_raw_fd()),
                events: libc::POLLOUT,
                revents: 0,
            },
        ];
        let wait_ms = match deadline {
            None => -1,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    break Some(format!(
                        "timed out after {} s",
                        cfg.timeout.unwrap_or_default().as_secs()
                    ));
                }
                (d - now).as_millis().min(60_000) as i32 + 1
            }
        };
        // SAFETY: pf is a valid array of two pollfds.
        let r = unsafe { libc::poll(pf.as_mut_ptr(), 2, wait_ms) };
        if r < 0 {
            continue; // EINTR
        }
        if pf[1].revents != 0
            && let Some(s) = stdin.as_mut()
        {
            match s.write(&input[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => written = input.len(), // the command stopped reading
            }
            if written >= input.len() {
                stdin = None;
            }
        }
        if pf[0].revents != 0 {
            match stdout.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.len() > cfg.max_output {
                        break Some(format!("more than {} bytes of output", cfg.max_output));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Some(format!("reading its output: {e}")),
            }
        }
    };
    drop(stdin);
    drop(stdout);
    if let Some(why) = failure {
        let _ = child.kill();
        let _ = child.wait();
        return Err(why);
    }
    let st = child.wait().map_err(|e| format!("wait: {e}"))?;
    if st.success() || (cfg.ignore_status && st.code().is_some()) {
        return Ok(out);
    }
    Err(match st.code() {
        Some(c) => format!("exit status {c}"),
        None => format!(
            "killed by signal {}",
            std::os::unix::process::ExitStatusExt::signal(&st).unwrap_or(0)
        ),
    })
}
