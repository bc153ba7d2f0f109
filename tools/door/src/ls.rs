//! `door ls`: the attached doors this user may see.
//!
//! No new protocol and nothing a user could not already read: a process
//! that attached a door listens on a rendezvous socket (`ldoor1r:` and a
//! random name, or `ldoor1a:` and a name derived from the file), which
//! `/proc/net/unix` lists for everyone, and holds an `O_PATH` descriptor
//! of the covered file. For every process whose descriptors this user may
//! inspect (`/proc/PID/fd`: their own, or all of them as root), the covered
//! files are its O_PATH descriptors whose rendezvous attribute (or derived
//! name) is one of the names it listens on. Each is then opened for reading
//! as any client would (so the file's permissions apply) to ask `door_info`.
//! Rendezvous sockets of processes this user may not inspect are only
//! counted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use door::abi::door_info_t;
use lexopt::prelude::*;

use crate::{Fail, Res, code, help, json, target};

const HELP: &str = "\
usage: door ls [--json]

Lists the doors attached (fattach) in this machine's file system by
processes you may inspect (your own; every process as root): the path,
the attaching process, and, when you may open the path, the server
process, door id, attributes and backend. Attachments of processes you
may not inspect are counted on standard error.
";

/// `O_PATH` in /proc/PID/fdinfo's octal flags.
const O_PATH_FLAG: u32 = 0o10_000_000;
const LISTENING: u32 = 0x10000;

/// Inode -> name of every listening rendezvous socket on this machine.
///
/// `/proc/net/unix` prints abstract names raw, so a name holding a newline
/// can add a line of its own making. Every real socket has its own line,
/// so a made-up line for a real socket's inode shows that inode twice:
/// such inodes are dropped, and a made-up inode matches no descriptor.
fn rendezvous_sockets() -> HashMap<u64, Vec<u8>> {
    let mut m = HashMap::new();
    let mut count: HashMap<u64, u32> = HashMap::new();
    let Ok(text) = std::fs::read("/proc/net/unix") else {
        return m;
    };
    for line in text.split(|&c| c == b'\n').skip(1) {
        let f: Vec<&[u8]> = line
            .split(|&c| c == b' ')
            .filter(|s| !s.is_empty())
            .collect();
        if f.len() < 8 {
            continue;
        }
        let flags = u32::from_str_radix(&String::from_utf8_lossy(f[3]), 16).unwrap_or(0);
        let ino: u64 = String::from_utf8_lossy(f[6]).parse().unwrap_or(0);
        *count.entry(ino).or_default() += 1;
        let Some(name) = f[7].strip_prefix(b"@") else {
            continue;
        };
        if flags & LISTENING != 0
            && (name.starts_with(b"ldoor1r:") || name.starts_with(b"ldoor1a:"))
        {
            m.insert(ino, name.to_vec());
        }
    }
    m.retain(|ino, _| count.get(ino) == Some(&1));
    m
}

fn socket_inode(link: &[u8]) -> Option<u64> {
    let s = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn fd_flags(pid: &str, fd: &str) -> Option<u32> {
    let t = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let l = t.lines().find(|l| l.starts_with("flags:"))?;
    u32::from_str_radix(l["flags:".len()..].trim(), 8).ok()
}

/// The rendezvous name a covered file leads to: its attribute, else the
/// name derived from its identity (as the library computes it).
fn names_of(p: &CString) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    let mut buf = [0u8; 64];
    // SAFETY: p and the attribute name are NUL-terminated; buf is writable.
    let n = unsafe {
        libc::getxattr(
            p.as_ptr(),
            c"user.libdoor.rendezvous".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n > 0 {
        v.push(buf[..n as usize].to_vec());
    }
    // SAFETY: statx is plain old data; zeroed is valid.
    let mut sx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: p is NUL-terminated; sx is writable.
    let r = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            p.as_ptr(),
            0,
            libc::STATX_BASIC_STATS | libc::STATX_BTIME,
            &mut sx,
        )
    };
    if r == 0 {
        let dev = ((sx.stx_dev_major as u64) << 32) | sx.stx_dev_minor as u64;
        let (bs, bn) = if sx.stx_mask & libc::STATX_BTIME != 0 {
            (sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec)
        } else {
            (0, 0)
        };
        v.push(format!("ldoor1a:{dev:x}:{:x}:{bs:x}.{bn:x}", sx.stx_ino).into_bytes());
    }
    v
}

struct Row {
    path: String,
    proc_path: String,
    attached_by: i32,
    facts: Option<(door_info_t, String)>,
    error: Option<String>,
}

pub fn main(mut p: lexopt::Parser) -> Res {
    let mut json_out = false;
    while let Some(a) = p.next()? {
        match a {
            Long("json") => json_out = true,
            Long("help") | Short('h') => return help(HELP),
            a => return Err(a.unexpected().into()),
        }
    }
    let socks = rendezvous_sockets();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut rows: BTreeMap<(String, i32), Row> = BTreeMap::new();
    let procs =
        std::fs::read_dir("/proc").map_err(|e| Fail::new(code::FAILED, format!("/proc: {e}")))?;
    for e in procs.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        let Ok(pidn) = pid.parse::<i32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let mut listens: HashSet<Vec<u8>> = HashSet::new();
        let mut opaths: Vec<String> = Vec::new();
        for f in fds.flatten() {
            let fd = f.file_name().to_string_lossy().into_owned();
            let Ok(link) = std::fs::read_link(f.path()) else {
                continue;
            };
            let link = link.as_os_str().as_bytes();
            if let Some(ino) = socket_inode(link) {
                if let Some(n) = socks.get(&ino) {
                    listens.insert(n.clone());
                    seen.insert(ino);
                }
            } else if fd_flags(&pid, &fd).is_some_and(|fl| fl & O_PATH_FLAG != 0) {
                opaths.push(fd);
            }
        }
        if listens.is_empty() {
            continue;
        }
        for fd in opaths {
            let pp = format!("/proc/{pid}/fd/{fd}");
            let Ok(c) = CString::new(pp.clone()) else {
                continue;
            };
            if !names_of(&c).iter().any(|n| listens.contains(n)) {
                continue;
            }
            let path = std::fs::read_link(&pp)
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or(pp.clone());
            // Messages name /proc/PID/fd/N; the text output shows the path
            // (escaped) there, the JSON output the path as it is.
            let (facts, error) = match target::open(&pp).and_then(|t| target::facts(t.fd, &pp)) {
                Ok(f) => (Some((f.info, f.backend)), None),
                Err(f) => (None, Some(f.msg)),
            };
            rows.insert(
                (path.clone(), pidn),
                Row {
                    path,
                    proc_path: pp,
                    attached_by: pidn,
                    facts,
                    error,
                },
            );
        }
    }
    let hidden = socks.keys().filter(|i| !seen.contains(i)).count();
    if json_out {
        let items: Vec<String> = rows
            .values()
            .map(|r| {
                let mut o = json::Obj::new()
                    .str("path", &r.path)
                    .num("attached_by", r.attached_by);
                match &r.facts {
                    Some((i, b)) => {
                        let names: Vec<String> = target::attr_names(i.di_attributes)
                            .iter()
                            .map(|s| json::esc(s))
                            .collect();
                        o = o
                            .num("server_pid", i.di_target)
                            .num("door_id", i.di_uniquifier)
                            .num("attributes", i.di_attributes)
                            .list("attribute_names", &names)
                            .str("backend", b);
                    }
                    None => {
                        o = o
                            .raw("server_pid", "null")
                            .raw("door_id", "null")
                            .raw("attributes", "null")
                            .str(
                                "error",
                                &r.error
                                    .as_deref()
                                    .unwrap_or("")
                                    .replace(&r.proc_path, &r.path),
                            );
                    }
                }
                o.done()
            })
            .collect();
        println!(
            "{}",
            json::Obj::new()
                .list("doors", &items)
                .num("not_shown", hidden)
                .done()
        );
    } else {
        let w = rows
            .values()
            .map(|r| target::shown(&r.path).chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        println!(
            "{:w$}  {:>7}  {:>7}  {:>20}  {:8}  ATTRIBUTES",
            "PATH", "SERVER", "ATTACH", "DOOR-ID", "BACKEND"
        );
        for r in rows.values() {
            match &r.facts {
                Some((i, b)) => println!(
                    "{:w$}  {:>7}  {:>7}  {:>20}  {:8}  {}",
                    target::shown(&r.path),
                    { i.di_target },
                    r.attached_by,
                    { i.di_uniquifier },
                    b,
                    target::attr_text(i.di_attributes)
                ),
                None => println!(
                    "{:w$}  {:>7}  {:>7}  {:>20}  {:8}  ({})",
                    target::shown(&r.path),
                    "-",
                    r.attached_by,
                    "-",
                    "-",
                    r.error
                        .as_deref()
                        .unwrap_or("")
                        .replace(&r.proc_path, &target::shown(&r.path))
                ),
            }
        }
        if hidden > 0 {
            eprintln!("door: {hidden} more attached door(s) of processes you may not inspect");
        }
    }
    Ok(())
}
