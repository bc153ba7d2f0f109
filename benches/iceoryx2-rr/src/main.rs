//! iceoryx2 request-response round trip between two processes, measured like
//! `benches/doorbench.c` (same placements, warm-up, N, repetitions, output line).
//!
//! usage: iceoryx2-rr-bench event|spin same|diff|none
//!   event  the client sends a 16 B request and notifies an event service; the
//!          server blocks on that event, answers with 16 B and notifies a
//!          second event service, on which the client blocks (the way to wait
//!          for a request or a response without polling in iceoryx2 0.10)
//!   spin   no events: both sides busy-poll `receive()` (iceoryx2's own
//!          benchmarks do this); meaningless when both share one CPU
//!
//! The parent process is the server (pinned first), the forked child is the
//! client; each creates its own iceoryx2 node after the fork.
//! Prints: RESULT kind=lat mech=iceoryx2_<mode> place=.. size=16 N=.. reps=..
//!         med=<ns> min=<ns> cpu_med=<ns> all=.. cpu_all=.. capped=0|1

use iceoryx2::prelude::*;
use std::time::Duration;

#[derive(Debug, Clone, Copy, ZeroCopySend)]
#[repr(C)]
struct Msg {
    seq: u64,
    val: u64,
}

const XORK: u64 = 0x5a5a_5a5a_5a5a_5a5a;
const QUIT: u64 = u64::MAX;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn env_u64(name: &str, def: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(def)
}

fn now_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

fn clock_ns(c: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    if unsafe { libc::clock_gettime(c, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn pin_self(cpu: i32) {
    // SAFETY: plain libc calls on a zeroed cpu_set_t.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu < 0 {
            let n = libc::sysconf(libc::_SC_NPROCESSORS_ONLN);
            for i in 0..n as usize {
                libc::CPU_SET(i, &mut set);
            }
        } else {
            libc::CPU_SET(cpu as usize, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) != 0 {
            eprintln!("iceoryx2-rr: sched_setaffinity({cpu}) failed");
            std::process::exit(2);
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut t = v.to_vec();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = t.len();
    if n % 2 == 1 {
        t[n / 2]
    } else {
        0.5 * (t[n / 2 - 1] + t[n / 2])
    }
}

struct Ports {
    _node: Node<ipc::Service>,
    rr: iceoryx2::service::port_factory::request_response::PortFactory<
        ipc::Service,
        Msg,
        (),
        Msg,
        (),
    >,
    notifier: iceoryx2::port::notifier::Notifier<ipc::Service>,
    listener: iceoryx2::port::listener::Listener<ipc::Service>,
}

/// Node, request-response service and the two event services.
/// `to_server`/`to_client` name the event services; each side notifies one
/// and listens on the other.
fn open(base: &str, server: bool) -> Res<Ports> {
    let node = NodeBuilder::new()
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()?;
    let rr = node
        .service_builder(&format!("{base}/rr").as_str().try_into()?)
        .request_response::<Msg, Msg>()
        .open_or_create()?;
    let ev_srv = node
        .service_builder(&format!("{base}/to_server").as_str().try_into()?)
        .event()
        .open_or_create()?;
    let ev_cli = node
        .service_builder(&format!("{base}/to_client").as_str().try_into()?)
        .event()
        .open_or_create()?;
    let (notifier, listener) = if server {
        (
            ev_cli.notifier_builder().create()?,
            ev_srv.listener_builder().create()?,
        )
    } else {
        (
            ev_srv.notifier_builder().create()?,
            ev_cli.listener_builder().create()?,
        )
    };
    Ok(Ports {
        _node: node,
        rr,
        notifier,
        listener,
    })
}

/// True once the client process has gone (so a dead client never leaves
/// the server waiting forever).
fn client_gone(child: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(child, 0) != 0 }
}

fn serve(base: &str, event: bool, child: i32) -> Res<()> {
    let p = open(base, true)?;
    let server = p.rr.server_builder().create()?;
    let mut idle = 0u64;
    loop {
        let mut got = false;
        while let Some(req) = server.receive()? {
            got = true;
            let m = *req.payload();
            if m.seq == QUIT {
                return Ok(());
            }
            req.send_copy(Msg {
                seq: m.seq,
                val: m.val ^ XORK,
            })?;
            drop(req);
            if event {
                p.notifier.notify()?;
            }
        }
        if !got {
            if event {
                if p.listener.timed_wait(|_| {}, Duration::from_millis(500))? == 0
                    && client_gone(child)
                {
                    return Err("client vanished".into());
                }
            } else {
                std::hint::spin_loop();
                idle += 1;
                if idle.is_multiple_of(1 << 24) && client_gone(child) {
                    return Err("client vanished".into());
                }
            }
        }
    }
}

fn client(base: &str, event: bool, mech: &str, place: &str, server_pid: i32) -> Res<()> {
    let p = open(base, false)?;
    let client = p.rr.client_builder().create()?;
    let mut srv_clock: libc::clockid_t = 0;
    // SAFETY: valid out pointer.
    if unsafe { libc::clock_getcpuclockid(server_pid, &mut srv_clock) } != 0 {
        return Err("clock_getcpuclockid".into());
    }

    // Connect: resend until the server has started and answers.
    let t_conn = now_ns();
    'connect: loop {
        let pending = client.send_copy(Msg { seq: 0, val: 0 })?;
        p.notifier.notify()?;
        let t = now_ns();
        while now_ns() - t < 20_000_000 {
            if pending.receive()?.is_some() {
                break 'connect;
            }
            p.listener.timed_wait(|_| {}, Duration::from_millis(1))?;
        }
        if now_ns() - t_conn > 10_000_000_000 {
            return Err("server did not answer within 10 s".into());
        }
    }

    let rt = |i: u64| -> Res<()> {
        let pending = client.send_copy(Msg { seq: i, val: i * 3 })?;
        if event {
            p.notifier.notify()?;
        }
        loop {
            if let Some(r) = pending.receive()? {
                let m = *r.payload();
                if m.seq != i || m.val != (i * 3) ^ XORK {
                    return Err(format!("bad reply to {i}: {m:?}").into());
                }
                return Ok(());
            }
            if event {
                p.listener.blocking_wait(|_| {})?;
            } else {
                std::hint::spin_loop();
            }
        }
    };

    let reps = env_u64("BENCH_REPS", 5).clamp(1, 64) as usize;
    let warm_ns = env_u64("BENCH_WARM_MS", 300) * 1_000_000;
    let rep_ns = env_u64("BENCH_REP_MS", 200) * 1_000_000;
    let mut i = 0u64;
    let t0 = now_ns();
    let mut t;
    loop {
        i += 1;
        rt(i)?;
        t = now_ns();
        if i >= 20_000 || t - t0 >= warm_ns {
            break;
        }
    }
    let est = (t - t0) as f64 / i as f64;
    let n = ((rep_ns as f64 / est) as u64).clamp(50, 20_000_000);
    let mut lat = Vec::new();
    let mut cpu = Vec::new();
    let mut capped = 0;
    for _ in 0..reps {
        let c0 = clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID);
        let s0 = clock_ns(srv_clock);
        let a = now_ns();
        let mut done = 0u64;
        while done < n {
            i += 1;
            rt(i)?;
            done += 1;
            if done.is_multiple_of(16) && now_ns() - a > 5 * rep_ns {
                capped = 1;
                break;
            }
        }
        let b = now_ns();
        let c1 = clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID);
        let s1 = clock_ns(srv_clock);
        lat.push((b - a) as f64 / done as f64);
        cpu.push(((c1 - c0) + (s1 - s0)) as f64 / done as f64);
    }
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    println!(
        "RESULT kind=lat mech={mech} place={place} size=16 N={n} reps={reps} med={:.1} min={:.1} cpu_med={:.1} all={} cpu_all={} capped={capped}",
        median(&lat),
        lat.iter().cloned().fold(f64::INFINITY, f64::min),
        median(&cpu),
        fmt(&lat),
        fmt(&cpu)
    );
    // Stop the server.
    let _ = client.send_copy(Msg { seq: QUIT, val: 0 })?;
    p.notifier.notify()?;
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 || !matches!(args[1].as_str(), "event" | "spin") {
        eprintln!("usage: iceoryx2-rr-bench event|spin same|diff|none");
        std::process::exit(2);
    }
    let event = args[1] == "event";
    let mech = if event {
        "iceoryx2_event"
    } else {
        "iceoryx2_spin"
    };
    let place = args[2].as_str();
    let (ccpu, scpu) = match place {
        "same" => (0, 0),
        "diff" => (0, 1),
        "none" => (-1, -1),
        _ => {
            eprintln!("placement must be same|diff|none");
            std::process::exit(2);
        }
    };
    set_log_level(LogLevel::Error);
    pin_self(scpu);
    // SAFETY: getpid has no preconditions.
    let server_pid = unsafe { libc::getpid() };
    let base = format!("libdoor-bench-{server_pid}");
    // SAFETY: single-threaded here; nothing iceoryx2-related exists yet.
    let child = unsafe { libc::fork() };
    if child < 0 {
        eprintln!("iceoryx2-rr: fork failed");
        std::process::exit(2);
    }
    if child == 0 {
        pin_self(ccpu);
        let rc = match client(&base, event, mech, place, server_pid) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("iceoryx2-rr: client: {e}");
                1
            }
        };
        std::process::exit(rc);
    }
    let srv = serve(&base, event, child);
    let mut st = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut st, 0) };
    if let Err(e) = srv {
        eprintln!("iceoryx2-rr: server: {e}");
        std::process::exit(1);
    }
    let ok = libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0;
    std::process::exit(if ok { 0 } else { 1 });
}
