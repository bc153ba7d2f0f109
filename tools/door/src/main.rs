//! `door`: list, inspect, call, benchmark and serve doors from a shell.
//! See `door --help` and door(1) (man/door.1).

mod bench;
mod call;
mod ffi;
mod json;
mod ls;
mod serve;
mod target;

use lexopt::prelude::*;

/// Exit codes (documented in `door --help` and door(1)).
pub mod code {
    pub const OK: i32 = 0;
    /// The operation failed for another reason (message on stderr).
    pub const FAILED: i32 = 1;
    /// Bad command line.
    pub const USAGE: i32 = 2;
    /// What was named is not a door (or its door was revoked).
    pub const NOT_A_DOOR: i32 = 3;
    /// It could not be opened: no such file, process or descriptor, or
    /// permission denied.
    pub const ACCESS: i32 = 4;
    /// The server failed the call (EINTR: its thread ended, its process
    /// died, or `door serve`'s command failed).
    pub const SERVER_FAILED: i32 = 5;
}

/// A failure: exit code and message.
pub struct Fail {
    pub code: i32,
    pub msg: String,
}

impl Fail {
    pub fn new(code: i32, msg: String) -> Fail {
        Fail { code, msg }
    }
}

impl From<lexopt::Error> for Fail {
    fn from(e: lexopt::Error) -> Fail {
        Fail::new(code::USAGE, format!("{e} (see door --help)"))
    }
}

pub type Res = Result<(), Fail>;

const HELP: &str = "\
usage: door COMMAND [OPTIONS] [ARGS]

Commands:
  ls                     list the doors attached in this machine's file
                         system that you may see
  info PATH|PID:FD       describe a door (door_info, door_getparam)
  call PATH [--data STR | --file F] [--hex] [--desc FILE]...
                         call a door and print its reply
  bench PATH [--count N] [--size BYTES]
                         measure round trips on a live door
  serve PATH [OPTIONS] -- CMD [ARG]...
                         attach a door at PATH that runs CMD for each call

Every command takes --help; ls, info, call and bench take --json.

Exit status:
  0  success
  1  the operation failed (the message says why)
  2  bad command line
  3  not a door (nothing attached, not a door descriptor, or revoked)
  4  cannot open: no such file, process or descriptor, or permission denied
  5  the server failed the call (its thread or process ended, or the
     command run by door serve failed)

See door(1).
";

fn main() {
    let r = run();
    let c = match r {
        Ok(()) => code::OK,
        Err(f) => {
            if !f.msg.is_empty() {
                eprintln!("door: {}", f.msg);
            }
            f.code
        }
    };
    std::process::exit(c);
}

fn run() -> Res {
    let mut p = lexopt::Parser::from_env();
    let cmd = match p.next()? {
        Some(Value(v)) => v.string()?,
        Some(Long("help")) | Some(Short('h')) => {
            print!("{HELP}");
            return Ok(());
        }
        Some(Long("version")) | Some(Short('V')) => {
            println!("door {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Some(a) => return Err(a.unexpected().into()),
        None => {
            eprint!("{HELP}");
            return Err(Fail::new(code::USAGE, String::new()));
        }
    };
    match cmd.as_str() {
        "ls" => ls::main(p),
        "info" => info(p),
        "call" => call::main(p),
        "bench" => bench::main(p),
        "serve" => serve::main(p),
        "help" => {
            print!("{HELP}");
            Ok(())
        }
        _ => Err(Fail::new(
            code::USAGE,
            format!("unknown command {cmd:?} (see door --help)"),
        )),
    }
}

/// Prints `text` and ends the command successfully (for --help).
pub fn help(text: &str) -> Res {
    print!("{text}");
    std::process::exit(code::OK);
}

/// The one positional argument a command requires.
pub fn need(v: Option<String>, what: &str, usage: &str) -> Result<String, Fail> {
    v.ok_or_else(|| Fail::new(code::USAGE, format!("missing {what}\n{usage}")))
}

const INFO_HELP: &str = "\
usage: door info [--json] PATH|PID:FD

Describes a door: the server process, the door's id, attributes,
procedure and cookie addresses, its size limits (door_getparam) and the
backend. PATH is opened for reading as any client would open it; PID:FD
names descriptor FD of process PID (needs the right to inspect it).
";

fn info(mut p: lexopt::Parser) -> Res {
    let mut json = false;
    let mut what = None;
    while let Some(a) = p.next()? {
        match a {
            Long("json") => json = true,
            Long("help") | Short('h') => return help(INFO_HELP),
            Value(v) if what.is_none() => what = Some(v.string()?),
            a => return Err(a.unexpected().into()),
        }
    }
    let what = need(
        what,
        "PATH or PID:FD",
        "usage: door info [--json] PATH|PID:FD",
    )?;
    let t = target::open(&what)?;
    let f = target::facts(t.fd, &t.label)?;
    let i = f.info;
    if json {
        let attrs: Vec<String> = target::attr_names(i.di_attributes)
            .iter()
            .map(|s| json::esc(s))
            .collect();
        let o = json::Obj::new()
            .str("target", &t.label)
            .num("server_pid", i.di_target)
            .num("door_id", i.di_uniquifier)
            .num("attributes", i.di_attributes)
            .list("attribute_names", &attrs)
            .str("procedure", &format!("{:#x}", { i.di_proc }))
            .str("cookie", &format!("{:#x}", { i.di_data }))
            .raw("data_min", &target::limit_json(f.data_min))
            .raw("data_max", &target::limit_json(f.data_max))
            .raw("desc_max", &target::limit_json(f.desc_max))
            .str("backend", &f.backend);
        println!("{}", o.done());
    } else {
        println!("{}: door", target::shown(&t.label));
        println!("  server pid  {}", { i.di_target });
        println!("  door id     {}", { i.di_uniquifier });
        println!(
            "  attributes  {:#x} {}",
            { i.di_attributes },
            target::attr_text(i.di_attributes)
        );
        println!("  procedure   {:#x}", { i.di_proc });
        println!("  cookie      {:#x}", { i.di_data });
        println!("  data min    {}", target::limit_text(f.data_min));
        println!("  data max    {}", target::limit_text(f.data_max));
        println!("  desc max    {}", target::limit_text(f.desc_max));
        println!("  backend     {}", f.backend);
    }
    Ok(())
}
