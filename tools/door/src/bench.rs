//! `door bench`: round-trip latency and calls/s of a live door.

use std::io::Write;
use std::time::{Duration, Instant};

use door::abi::*;
use lexopt::prelude::*;

use crate::{Fail, Res, call::call_failed, code, ffi, help, json, need, target};

const HELP: &str = "\
usage: door bench [--json] [--count N] [--size BYTES] PATH|PID:FD

Calls the door N times (default 10000, after a warm-up of N/10 calls, at
most 1000) with BYTES bytes of argument (default 16) from one thread, and
prints the round-trip latency percentiles and the calls per second. On a
terminal, a progress line is shown on standard error (after the first
call, then every 0.2 s).
";

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p / 100.0).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

pub fn main(mut p: lexopt::Parser) -> Res {
    let mut json_out = false;
    let mut count: usize = 10_000;
    let mut size: usize = 16;
    let mut what = None;
    while let Some(a) = p.next()? {
        match a {
            Long("json") => json_out = true,
            Long("count") | Short('n') => count = p.value()?.parse()?,
            Long("size") | Short('s') => size = p.value()?.parse()?,
            Long("help") | Short('h') => return help(HELP),
            Value(v) if what.is_none() => what = Some(v.string()?),
            a => return Err(a.unexpected().into()),
        }
    }
    let what = need(what, "PATH", "usage: door bench [OPTIONS] PATH|PID:FD")?;
    if count == 0 {
        return Err(Fail::new(code::USAGE, "--count must be at least 1".into()));
    }
    let t = target::open(&what)?;
    let f = target::facts(t.fd, &t.label)?;
    let mut data = vec![0x5au8; size];
    let mut rbuf = vec![0u8; 64 * 1024];
    let mut one = || -> Result<(), Fail> {
        let mut arg = door_arg_t {
            data_ptr: if size == 0 {
                std::ptr::null_mut()
            } else {
                data.as_mut_ptr()
            },
            data_size: size,
            desc_ptr: std::ptr::null_mut(),
            desc_num: 0,
            rbuf: rbuf.as_mut_ptr(),
            rsize: rbuf.len(),
        };
        // SAFETY: arg describes live buffers.
        if unsafe { ffi::door_call(t.fd, &mut arg) } != 0 {
            return Err(call_failed(&t.label, ffi::errno()));
        }
        for i in 0..arg.desc_num as usize {
            // SAFETY: door_call placed desc_num entries at desc_ptr.
            let d = unsafe { *arg.desc_ptr.add(i) };
            if d.d_attributes & DOOR_DESCRIPTOR != 0 {
                // SAFETY: a descriptor given to us.
                unsafe { libc::close(d.d_data.d_desc.d_descriptor) };
            }
        }
        if arg.rbuf != rbuf.as_mut_ptr() {
            // SAFETY: the library mapped a larger result buffer.
            unsafe { libc::munmap(arg.rbuf.cast(), arg.rsize) };
        }
        Ok(())
    };
    for _ in 0..(count / 10).clamp(1, 1000) {
        one()?;
    }
    // SAFETY: isatty has no preconditions.
    let tty = unsafe { libc::isatty(2) } == 1;
    let mut lat: Vec<u64> = Vec::with_capacity(count);
    let start = Instant::now();
    let mut shown = start;
    for i in 0..count {
        let t0 = Instant::now();
        one()?;
        let t1 = Instant::now();
        lat.push((t1 - t0).as_nanos() as u64);
        if tty && (i == 0 || t1 - shown >= Duration::from_millis(200)) {
            shown = t1;
            let rate = (i + 1) as f64 / (t1 - start).as_secs_f64();
            eprint!(
                "\rdoor bench: {}/{} calls, {:.0} calls/s   ",
                i + 1,
                count,
                rate
            );
            let _ = std::io::stderr().flush();
        }
    }
    let total = start.elapsed();
    if tty {
        eprint!("\r\x1b[K");
    }
    lat.sort_unstable();
    let rate = count as f64 / total.as_secs_f64();
    let mean = lat.iter().map(|&v| v as u128).sum::<u128>() / count as u128;
    let ps = [
        ("min", lat[0]),
        ("p50", pct(&lat, 50.0)),
        ("p90", pct(&lat, 90.0)),
        ("p99", pct(&lat, 99.0)),
        ("p99.9", pct(&lat, 99.9)),
        ("max", lat[count - 1]),
    ];
    if json_out {
        let mut o = json::Obj::new()
            .str("target", &t.label)
            .num("calls", count)
            .num("size", size)
            .str("backend", &f.backend)
            .num("seconds", format!("{:.6}", total.as_secs_f64()))
            .num("calls_per_second", format!("{rate:.1}"))
            .num("mean_ns", mean);
        for (k, v) in ps {
            o = o.num(&format!("{}_ns", k.replace('.', "_")), v);
        }
        println!("{}", o.done());
    } else {
        println!(
            "{}: {} calls of {} bytes in {:.3} s ({} backend)",
            crate::target::shown(&t.label),
            count,
            size,
            total.as_secs_f64(),
            f.backend
        );
        let line: Vec<String> = ps.iter().map(|(k, v)| format!("{k} {}", us(*v))).collect();
        println!("  latency (us): {}", line.join("  "));
        println!("  mean {} us, {:.0} calls/s", us(mean as u64), rate);
    }
    Ok(())
}
