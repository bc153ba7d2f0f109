//! Recognising a door descriptor: its peer's door name and the kernel's
//! word on who made the pair (`identify_socket`), a plain descriptor of a
//! file with a door attached swapped for the door first (`resolve`, the
//! client side of the rendezvous of `backend/rendezvous.rs`), and what the
//! servers of doors served elsewhere said of their procedure and cookie.

use std::os::fd::RawFd;

use super::door;
use super::wire::DoorName;
use crate::backend::rendezvous as rdv;
use crate::sys::{self, R};

/// What a descriptor says about itself, if it is a door.
#[derive(Clone, Copy, Debug)]
pub struct Ident {
    pub name: DoorName,
    /// The door is served by this very process image.
    pub local: bool,
}

/// Is `fd` a door? A descriptor opened on a path with a door attached
/// (fattach) is first replaced by the door itself (`resolve`).
pub fn identify(fd: RawFd) -> R<Ident> {
    match identify_socket(fd) {
        Ok(id) => {
            crate::sys::doormap::mark_door(fd);
            Ok(id)
        }
        // Opened under the preload library on a file with no door attached
        // then: it names that file for good, as on illumos.
        Err(e) if crate::sys::doormap::opened_plain(fd) => Err(e),
        Err(_) if !is_socket(fd) => {
            // Another thread may resolve the same descriptor meanwhile:
            // whoever wins, the descriptor is then the door. Resolving
            // takes two descriptors for a moment: a caller with no free
            // slot gets them above its limit (sys::Headroom).
            if !resolve(fd)
                && !sys::has_free_fds(fd, 2)
                && let Some(_h) = sys::Headroom::raise()
            {
                resolve(fd);
            }
            identify_socket(fd)
        }
        // It may have just become the door (resolved by another thread).
        Err(_) => identify_socket(fd),
    }
}

fn is_socket(fd: RawFd) -> bool {
    sys::fstat(fd).map_or(true, |st| st.st_mode & libc::S_IFMT == libc::S_IFSOCK)
}

/// Is `fd` itself a door descriptor? Its peer must carry a door name whose
/// pid is the kernel-attested creator of the socket pair (SO_PEERCRED),
/// and its own address must be unnamed, as the client side of a socket
/// pair is: a connection accepted from a peer that bound a door-shaped
/// name carries its listener's name, and is not a door.
pub fn identify_socket(fd: RawFd) -> R<Ident> {
    if fd < 0 {
        return Err(libc::EBADF);
    }
    let mut buf = [0u8; 108];
    let n = sys::peer_abstract_name(fd, &mut buf).map_err(|_| libc::EBADF)?;
    let name = DoorName::decode(&buf[..n]).ok_or(libc::EBADF)?;
    if !sys::local_unnamed(fd) {
        return Err(libc::EBADF);
    }
    let pc = sys::peer_cred(fd).map_err(|_| libc::EBADF)?;
    if pc.pid != name.pid {
        return Err(libc::EBADF);
    }
    Ok(Ident {
        name,
        local: door::is_ours(&name),
    })
}

/// Has the peer of this socket gone (a door's server end revoked or dead;
/// a reply channel's client abandoned)?
pub fn hung_up(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r == 1 && p.revents & (libc::POLLHUP | libc::POLLERR) != 0
}

/// If `fd` is a descriptor of a file with a door attached, replaces it (same
/// number, same close-on-exec flag) by the door. Returns whether it did.
/// An O_PATH descriptor proves no right to open the file: it is never
/// resolved (door operations on it fail with EBADF, as on a non-door).
pub fn resolve(fd: RawFd) -> bool {
    let Some(f) = rdv::fetch(fd) else {
        return false;
    };
    let id = identify_socket(f.door);
    // Believe what the rendezvous told of the door only if it is the
    // door's own server (an attaching process may serve another's door).
    if let (Ok(id), Some((p, c))) = (&id, f.told)
        && !id.local
        && f.pid == id.name.pid
    {
        remember(&id.name, p, c);
    }
    rdv::install(f.door, fd, id.is_ok())
}

/// Do two door names name the same door (ends may differ, and so may the
/// attributes recorded in them: DOOR_UNREF goes once delivered)?
pub fn same_door(a: &DoorName, b: &DoorName) -> bool {
    a.id == b.id && a.pid == b.pid && a.nonce == b.nonce
}

/// Procedure and cookie of doors served elsewhere, as their servers last
/// told this process (only holders are told: in every control answer, and
/// in the rendezvous' answer to an open): what `door_info` reports once a
/// server has died or does not answer (illumos keeps reporting them after
/// the server's death). Keyed by (pid, nonce, door id); the
/// most recent `KNOWN_MAX`.
#[allow(clippy::type_complexity)]
static KNOWN: std::sync::Mutex<std::collections::VecDeque<((i32, u64, u64), (u64, u64))>> =
    std::sync::Mutex::new(std::collections::VecDeque::new());
const KNOWN_MAX: usize = 256;

/// Runs `f` on the `KNOWN` table unless it stays locked (a fork child whose
/// parent had it locked at the fork never gets it: `None`).
fn with_known<T>(
    f: impl FnOnce(&mut std::collections::VecDeque<((i32, u64, u64), (u64, u64))>) -> T,
) -> Option<T> {
    for _ in 0..64 {
        match KNOWN.try_lock() {
            Ok(mut g) => return Some(f(&mut g)),
            Err(std::sync::TryLockError::Poisoned(p)) => return Some(f(&mut p.into_inner())),
            Err(std::sync::TryLockError::WouldBlock) => std::thread::yield_now(),
        }
    }
    None
}

/// Notes what the server of `n` (itself, never a third party) said of the
/// door's procedure and cookie.
pub fn remember(n: &DoorName, proc_: u64, cookie: u64) {
    let key = (n.pid, n.nonce, n.id);
    with_known(|k| {
        k.retain(|(e, _)| *e != key);
        if k.len() >= KNOWN_MAX {
            k.pop_front();
        }
        k.push_back((key, (proc_, cookie)));
    });
}

pub fn recall(n: &DoorName) -> (u64, u64) {
    let key = (n.pid, n.nonce, n.id);
    with_known(|k| k.iter().rev().find(|(e, _)| *e == key).map(|&(_, v)| v))
        .flatten()
        .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_doors_are_ebadf() {
        let mut p = [0; 2];
        // SAFETY: p holds two ints.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        assert_eq!(identify_socket(p[0]).err(), Some(libc::EBADF));
        assert_eq!(identify_socket(-1).err(), Some(libc::EBADF));
        let (a, _b) = sys::seqpacket_pair().unwrap();
        assert_eq!(identify_socket(sys::raw(&a)).err(), Some(libc::EBADF));
        for fd in p {
            let _ = sys::close(fd);
        }
    }

    #[test]
    fn a_name_claiming_another_process_is_rejected() {
        // A socket pair we made, bound to a door name that claims pid 1:
        // SO_PEERCRED says we created it, so it is not pid 1's door.
        let (a, b) = sys::seqpacket_pair().unwrap();
        let forged = DoorName {
            id: 5,
            pid: 1,
            nonce: 9,
            attrs: 0,
            clone: 0,
            token: [1, 2],
        };
        sys::bind_abstract(sys::raw(&a), &forged.encode()).unwrap();
        assert_eq!(identify_socket(sys::raw(&b)).err(), Some(libc::EBADF));
        // The same name with our own pid is a (remote-looking) door.
        let (c, d) = sys::seqpacket_pair().unwrap();
        let ours = DoorName {
            pid: sys::getpid(),
            id: 6,
            ..forged
        };
        sys::bind_abstract(sys::raw(&c), &ours.encode()).unwrap();
        let id = identify_socket(sys::raw(&d)).unwrap();
        assert_eq!(id.name, ours);
        assert!(!id.local); // not created by this library instance
    }
}
