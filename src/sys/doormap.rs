//! Hints for preload mode (`preload/`, `libdoor_preload.so`): two bit maps
//! over descriptor numbers below `N`, both only hints that are checked
//! before anything is done with them:
//! - `DOORS`: numbers that held a door when libdoor last saw them
//!   (door_create's result, a received door, a resolved open, a door
//!   operation, an fstat that found a door). `dup` and `fork` look only at
//!   these, so a program that never touches a door does no work in them.
//! - `PLAIN`: numbers the preload library opened on a file that had no
//!   door attached at the moment of the `open`. Under the preload library,
//!   such a descriptor names the covered file for good, as on illumos: a
//!   door operation on it is not turned into the door attached since.
//!
//! Plain data, here so that the close wrappers (`fdown`) and any backend
//! can update them; what a backend does with a door is in its own folder
//! (`backend/user/preload.rs`).

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Descriptor numbers the hints cover.
pub const N: usize = 4096;
static DOORS: [AtomicU64; N / 64] = [const { AtomicU64::new(0) }; N / 64];
static PLAIN: [AtomicU64; N / 64] = [const { AtomicU64::new(0) }; N / 64];
/// Some number was ever marked in `DOORS` (in this process or a parent).
static ANY_DOOR: AtomicBool = AtomicBool::new(false);
/// The preload library is active in this process (`__libdoor_preload_init`).
static ACTIVE: AtomicBool = AtomicBool::new(false);

fn slot(map: &'static [AtomicU64; N / 64], fd: RawFd) -> Option<(&'static AtomicU64, u64)> {
    let i = usize::try_from(fd).ok().filter(|&i| i < N)?;
    Some((&map[i / 64], 1u64 << (i % 64)))
}

fn set(map: &'static [AtomicU64; N / 64], fd: RawFd, on: bool) {
    if let Some((w, b)) = slot(map, fd) {
        if on {
            if w.load(Ordering::Relaxed) & b == 0 {
                w.fetch_or(b, Ordering::AcqRel);
            }
        } else if w.load(Ordering::Relaxed) & b != 0 {
            w.fetch_and(!b, Ordering::AcqRel);
        }
    }
}

fn get(map: &'static [AtomicU64; N / 64], fd: RawFd) -> bool {
    slot(map, fd).is_some_and(|(w, b)| w.load(Ordering::Acquire) & b != 0)
}

/// The preload library is loaded and active (not a secure-execution process).
pub fn activate() {
    ACTIVE.store(true, Ordering::Release);
}

pub fn active() -> bool {
    ACTIVE.load(Ordering::Acquire)
}

/// `fd` (an application's number) is a door now.
pub fn mark_door(fd: RawFd) {
    if fd >= 0 && (fd as usize) < N {
        set(&DOORS, fd, true);
        set(&PLAIN, fd, false);
        if !ANY_DOOR.load(Ordering::Relaxed) {
            ANY_DOOR.store(true, Ordering::Release);
        }
    }
}

/// The application closes (or replaces) `fd`: async-signal-safe.
#[inline]
pub fn forget(fd: RawFd) {
    set(&PLAIN, fd, false);
}

/// The application closes every number from `lo` to `hi`.
pub fn forget_range(lo: libc::c_uint, hi: libc::c_uint) {
    let hi = (hi as usize).min(N - 1);
    for fd in (lo as usize)..=hi {
        set(&PLAIN, fd as RawFd, false);
    }
}

/// Under the preload library, a descriptor opened on a file without a
/// door stays that file: door operations on it are not resolved.
pub fn opened_plain(fd: RawFd) -> bool {
    active() && get(&PLAIN, fd)
}

/// Was `fd` marked a door (a hint: check before use)?
pub fn is_marked(fd: RawFd) -> bool {
    get(&DOORS, fd)
}

/// `fd` is known not to be a door any more.
pub fn unmark(fd: RawFd) {
    set(&DOORS, fd, false);
}

/// The preload library opened `fd` on a file without a door.
pub fn mark_plain(fd: RawFd) {
    set(&PLAIN, fd, true);
}

/// Every number marked a door, lowest first (none if nothing ever was).
pub fn marked() -> impl Iterator<Item = RawFd> {
    let any = ANY_DOOR.load(Ordering::Acquire);
    DOORS
        .iter()
        .enumerate()
        .filter(move |_| any)
        .flat_map(|(i, w)| {
            let mut bits = w.load(Ordering::Acquire);
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some((i * 64 + b) as RawFd)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints() {
        // Numbers out of range are never marked.
        mark_door(-1);
        mark_door(N as RawFd);
        assert!(!is_marked(N as RawFd));
        // A plain-file mark counts only once the preload library is active,
        // and a close forgets it.
        set(&PLAIN, 100, true);
        assert!(!opened_plain(100) || active());
        activate();
        assert!(opened_plain(100));
        forget(100);
        assert!(!opened_plain(100));
        set(&PLAIN, 200, true);
        set(&PLAIN, 201, true);
        forget_range(150, libc::c_uint::MAX);
        assert!(!opened_plain(200) && !opened_plain(201));
        // A door mark clears the plain one; `dup_door` ignores unmarked numbers.
        set(&PLAIN, 300, true);
        mark_door(300);
        assert!(is_marked(300) && !opened_plain(300));
        assert!(!is_marked(301));
    }
}
