//! `door call`: one door_call from the command line.

use std::io::{Read, Write};

use door::abi::*;
use lexopt::prelude::*;

use crate::{Fail, Res, code, ffi, help, json, need, target};

const HELP: &str = "\
usage: door call [--json] [--hex] [--data STR | --file F] [--desc FILE]... PATH|PID:FD

Calls the door once and writes the reply's data to standard output (a hex
dump with --hex). The argument is STR, the contents of F (- for standard
input), or nothing. Each --desc FILE is opened for reading and passed as
a descriptor. Descriptors in the reply are described on standard error
(in the output with --json) and closed.
";

/// Turns a failed door_call's errno into the command's exit.
pub fn call_failed(label: &str, e: i32) -> Fail {
    match e {
        libc::EBADF => Fail::new(
            code::NOT_A_DOOR,
            format!("{}: not a door (or revoked)", crate::target::shown(label)),
        ),
        libc::EINTR => Fail::new(
            code::SERVER_FAILED,
            format!(
                "{}: the server failed the call (EINTR)",
                crate::target::shown(label)
            ),
        ),
        e => Fail::new(
            code::FAILED,
            format!(
                "{}: door_call: {}",
                crate::target::shown(label),
                ffi::strerror(e)
            ),
        ),
    }
}

pub fn hexdump(d: &[u8]) -> String {
    let mut o = String::new();
    for (i, c) in d.chunks(16).enumerate() {
        o.push_str(&format!("{:08x} ", i * 16));
        for j in 0..16 {
            if j == 8 {
                o.push(' ');
            }
            match c.get(j) {
                Some(b) => o.push_str(&format!(" {b:02x}")),
                None => o.push_str("   "),
            }
        }
        o.push_str("  |");
        for &b in c {
            o.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        o.push_str("|\n");
    }
    o
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn main(mut p: lexopt::Parser) -> Res {
    let (mut json_out, mut hexout) = (false, false);
    let mut data: Option<Vec<u8>> = None;
    let mut descs: Vec<String> = Vec::new();
    let mut what = None;
    while let Some(a) = p.next()? {
        match a {
            Long("json") => json_out = true,
            Long("hex") => hexout = true,
            Long("data") | Short('d') => {
                if data.is_some() {
                    return Err(Fail::new(code::USAGE, "give --data or --file once".into()));
                }
                data = Some(p.value()?.string()?.into_bytes());
            }
            Long("file") | Short('f') => {
                if data.is_some() {
                    return Err(Fail::new(code::USAGE, "give --data or --file once".into()));
                }
                let f = p.value()?.string()?;
                let mut v = Vec::new();
                let r = if f == "-" {
                    std::io::stdin().read_to_end(&mut v)
                } else {
                    std::fs::File::open(&f).and_then(|mut h| h.read_to_end(&mut v))
                };
                r.map_err(|e| Fail::new(code::ACCESS, format!("{f}: {e}")))?;
                data = Some(v);
            }
            Long("desc") => descs.push(p.value()?.string()?),
            Long("help") | Short('h') => return help(HELP),
            Value(v) if what.is_none() => what = Some(v.string()?),
            a => return Err(a.unexpected().into()),
        }
    }
    let what = need(what, "PATH", "usage: door call [OPTIONS] PATH|PID:FD")?;
    let mut data = data.unwrap_or_default();
    let t = target::open(&what)?;
    let mut passed: Vec<target::Target> = Vec::new();
    for d in &descs {
        passed.push(target::open_desc(d)?);
    }
    let mut dv: Vec<door_desc_t> = passed
        .iter()
        .map(|t| door_desc_t {
            d_attributes: DOOR_DESCRIPTOR,
            d_data: door_desc_data {
                d_desc: door_desc_inner {
                    d_descriptor: t.fd,
                    d_id: 0,
                },
            },
        })
        .collect();
    let mut rbuf = vec![0u8; 64 * 1024];
    let mut arg = door_arg_t {
        data_ptr: if data.is_empty() {
            std::ptr::null_mut()
        } else {
            data.as_mut_ptr()
        },
        data_size: data.len(),
        desc_ptr: if dv.is_empty() {
            std::ptr::null_mut()
        } else {
            dv.as_mut_ptr()
        },
        desc_num: dv.len() as u32,
        rbuf: rbuf.as_mut_ptr(),
        rsize: rbuf.len(),
    };
    // SAFETY: arg describes live buffers.
    if unsafe { ffi::door_call(t.fd, &mut arg) } != 0 {
        return Err(call_failed(&t.label, ffi::errno()));
    }
    drop(passed);
    let reply: Vec<u8> = if arg.data_size == 0 || arg.data_ptr.is_null() {
        Vec::new()
    } else {
        // SAFETY: door_call placed data_size bytes at data_ptr.
        unsafe { std::slice::from_raw_parts(arg.data_ptr, arg.data_size) }.to_vec()
    };
    let mut got: Vec<(i32, String)> = Vec::new();
    for i in 0..arg.desc_num as usize {
        // SAFETY: door_call placed desc_num entries at desc_ptr.
        let d = unsafe { *arg.desc_ptr.add(i) };
        if d.d_attributes & DOOR_DESCRIPTOR != 0 {
            // SAFETY: the union's descriptor member is the one in use.
            let fd = unsafe { d.d_data.d_desc.d_descriptor };
            got.push((fd, target::kind_of(fd)));
            // SAFETY: the descriptor was given to us.
            unsafe { libc::close(fd) };
        }
    }
    if arg.rbuf != rbuf.as_mut_ptr() {
        // SAFETY: the library mapped a larger result buffer for us.
        unsafe { libc::munmap(arg.rbuf.cast(), arg.rsize) };
    }
    if json_out {
        let ds: Vec<String> = got
            .iter()
            .map(|(fd, k)| json::Obj::new().num("fd", fd).str("type", k).done())
            .collect();
        let mut o = json::Obj::new()
            .str("target", &t.label)
            .num("data_size", reply.len());
        o = match std::str::from_utf8(&reply) {
            Ok(s) => o.str("data", s),
            Err(_) => o.raw("data", "null"),
        };
        println!(
            "{}",
            o.str("data_hex", &hex(&reply))
                .list("descriptors", &ds)
                .done()
        );
    } else {
        let mut out = std::io::stdout().lock();
        let r = if hexout {
            out.write_all(hexdump(&reply).as_bytes())
        } else {
            out.write_all(&reply)
        };
        r.and_then(|_| out.flush())
            .map_err(|e| Fail::new(code::FAILED, format!("standard output: {e}")))?;
        for (fd, k) in &got {
            eprintln!("door: received descriptor {fd}: {k}");
        }
    }
    Ok(())
}
