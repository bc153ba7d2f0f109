//! The userspace backend: a door is an AF_UNIX SOCK_SEQPACKET socket
//! pair, served by a thread pool of this process, with a manager thread
//! per server process and a shared-memory fast path.

use std::ffi::CStr;
use std::os::fd::RawFd;

use crate::abi::*;
use crate::backend::{Backend, Params};
use crate::sys::R;
use crate::sys::creds::Creds;

pub mod client;
pub mod control;
pub mod create;
pub mod door;
pub mod ends;
pub mod fast;
pub mod ident;
pub mod naming;
pub mod pool;
pub mod preload;
pub mod reply;
pub mod request;
pub mod server;
pub mod threads;
pub mod unref;
pub mod wire;
pub mod xfer;

/// The userspace backend.
pub struct User;

/// The one instance.
pub static USER: User = User;

/// Registers every fork handler of this backend, once, in a fixed order,
/// when the backend is chosen (`backend::get`'s first call, which holds
/// no lock of the library): the process state's (its prepare handler
/// takes the state lock; its child handler drops the parent's doors),
/// then the library threads' count, the server threads' state and the
/// fast path's channels (child handlers run in this order). Each file
/// also registers its own lazily before its state first exists, for code
/// that reaches it another way, but after this those are no-ops: a
/// handler is never registered with the state lock held (glibc before
/// 2.36 holds its handler lock across a fork's prepare handlers, so that
/// deadlocked against the state's prepare handler), nor at a moment when
/// another thread's fork could leave a child with a registration half
/// done (its once-flag would stay "running" for ever in the child).
pub fn init() {
    door::init_atfork();
    threads::init_atfork();
    server::init_atfork();
    fast::init_atfork();
}

impl Backend for User {
    fn name(&self) -> &'static CStr {
        c"user"
    }

    fn create(&self, proc_: usize, cookie: usize, attrs: u32) -> R<i32> {
        create::create(proc_, cookie, attrs, None)
    }

    fn xcreate(
        &self,
        proc_: usize,
        cookie: usize,
        attrs: u32,
        crf: door_xcreate_server_func_t,
        setupf: Option<door_xcreate_thrsetup_func_t>,
        crcookie: usize,
        nthread: i32,
    ) -> R<i32> {
        create::xcreate(proc_, cookie, attrs, crf, setupf, crcookie, nthread)
    }

    fn call(&self, d: RawFd, params: *mut door_arg_t) -> R<()> {
        client::call(d, params)
    }

    fn door_return(
        &self,
        data: *const u8,
        size: usize,
        desc: *const door_desc_t,
        ndesc: u32,
    ) -> i32 {
        server::door_return(data, size, desc, ndesc)
    }

    fn info(&self, d: RawFd) -> R<door_info_t> {
        Ok(client::status(d)?.info)
    }

    fn bound_info(&self) -> R<door_info_t> {
        let id = server::bound_door().ok_or(libc::EBADF)?;
        door::lookup(id)
            .map(|door| door.info(crate::sys::getpid()))
            .ok_or(libc::EBADF)
    }

    fn revoke(&self, d: RawFd) -> R<()> {
        let id = ident::identify(d)?;
        if !id.local {
            return Err(libc::EPERM);
        }
        if let Some(door) = door::lookup(id.name.id) {
            ends::revoke(&door);
            fast::sweep_dead();
        }
        Ok(())
    }

    fn caller_ids(&self) -> Option<door_cred_t> {
        server::current_caller().map(|(c, _)| door_cred_t {
            dc_euid: c.euid,
            dc_egid: c.egid,
            dc_ruid: c.ruid,
            dc_rgid: c.rgid,
            dc_pid: c.pid,
            dc_resv: [0; 4],
        })
    }

    fn caller_creds(&self) -> Option<Creds> {
        server::current_caller().map(|(caller, reply)| server::caller_creds(&caller, reply))
    }

    fn bind(&self, d: RawFd) -> R<()> {
        let id = ident::identify(d)?;
        if !id.local {
            return Err(libc::EINVAL);
        }
        let door = door::lookup(id.name.id).ok_or(libc::EBADF)?;
        server::bind(&door)
    }

    fn unbind(&self) -> R<()> {
        server::unbind()
    }

    fn params(&self, d: RawFd) -> R<(Option<Params>, u32)> {
        let s = client::status(d)?;
        Ok((s.params, s.info.di_attributes))
    }

    fn set_params(&self, d: RawFd, change: &mut dyn FnMut(&mut Params, u32) -> R<()>) -> R<()> {
        let id = ident::identify(d)?;
        if !id.local {
            return Err(libc::EPERM);
        }
        let door = door::lookup(id.name.id).ok_or(libc::EBADF)?;
        let mut p = door::lock(&door.params);
        change(
            &mut p,
            door.attrs.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    fn set_server_func(&self, f: Option<door_server_func_t>) -> door_server_func_t {
        server::set_server_func(f)
    }

    fn fattach(&self, fd: RawFd, path: *const libc::c_char) -> R<()> {
        naming::fattach(fd, path)
    }

    fn fdetach(&self, path: *const libc::c_char) -> R<()> {
        naming::fdetach(path)
    }

    fn credentials_changed(&self) {
        fast::CRED_GEN.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    fn only_daemons_besides_me(&self, extra: usize) -> bool {
        threads::only_daemons_besides_me(extra)
    }

    fn count_app_daemons_with(&self, count: fn() -> usize) {
        threads::count_app_daemons_with(count);
    }

    fn fd_is_door(&self, fd: RawFd) -> bool {
        preload::fd_is_door(fd)
    }

    fn path_is_door(&self, dirfd: RawFd, path: &CStr, nofollow: bool) -> bool {
        crate::backend::rendezvous::path_attached(dirfd, path, nofollow)
    }

    fn opened(&self, fd: RawFd, directory: bool) -> bool {
        preload::opened(fd, directory)
    }

    fn dup_door(&self, old: RawFd, place: crate::backend::Place) -> Option<R<RawFd>> {
        preload::dup_door(old, place)
    }

    fn preload_fork_child(&self) {
        preload::fork_child()
    }
}
