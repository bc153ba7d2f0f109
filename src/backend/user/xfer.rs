//! One transfer over a socket (a call, a reply, a channel's large reply):
//! the header, the data in `wire::CHUNK` pieces and the descriptors,
//! sent (`send_transfer`) and received after its first message
//! (`recv_rest`); a caller's descriptor list and its DOOR_RELEASE
//! descriptors.

use std::mem::size_of;
use std::os::fd::RawFd;
use std::ptr;

use super::wire::{self, HDR_LEN, Hdr};
use crate::abi::*;
use crate::sys::{self, R};

/// Reads a caller's descriptor list (EFAULT if unreadable).
pub fn read_desc_list(desc: *const door_desc_t, n: usize) -> R<Vec<door_desc_t>> {
    let mut v: Vec<door_desc_t> = Vec::with_capacity(n);
    if n > 0 {
        sys::copy_in_bytes(
            desc.cast(),
            v.as_mut_ptr().cast(),
            n * size_of::<door_desc_t>(),
        )?;
        // SAFETY: n elements were just written.
        unsafe { v.set_len(n) };
    }
    Ok(v)
}

/// Closes the DOOR_RELEASE descriptors of a list.
pub fn release_descs(descs: &[door_desc_t]) {
    for d in descs {
        if d.d_attributes & DOOR_DESCRIPTOR != 0
            && d.d_attributes & DOOR_RELEASE != 0
            && d.fd() >= 0
        {
            let _ = sys::close(d.fd());
        }
    }
}

/// Sends a header, `size` bytes of data and descriptors as one transfer:
/// the first message carries the header, later ones only payload.
pub fn send_transfer(sock: RawFd, hdr: &Hdr, data: *const u8, size: usize, fds: &[RawFd]) -> R<()> {
    let count = wire::message_count(size, fds.len());
    static ZERO: u8 = 0;
    for i in 0..count {
        let (off, len, fs, fc) = wire::message_part(i, size, fds.len());
        // No heap here: this runs in threads that may be cancelled inside
        // sendmsg, where nothing would free it.
        let mut iov = [libc::iovec {
            iov_base: ptr::null_mut(),
            iov_len: 0,
        }; 2];
        let mut n = 0;
        if i == 0 {
            iov[n] = libc::iovec {
                iov_base: (hdr as *const Hdr) as *mut _,
                iov_len: HDR_LEN,
            };
            n += 1;
        }
        if len > 0 {
            // off+len <= size; data is readable (checked by the caller, or
            // the kernel faults the send cleanly).
            iov[n] = libc::iovec {
                iov_base: data.wrapping_add(off) as *mut _,
                iov_len: len,
            };
            n += 1;
        }
        if n == 0 {
            // A payload-less continuation still needs one byte to carry fds.
            iov[n] = libc::iovec {
                iov_base: (&ZERO as *const u8) as *mut _,
                iov_len: 1,
            };
            n += 1;
        }
        let iov = &iov[..n];
        sys::send_fds(sock, iov, &fds[fs..fs + fc], true)?;
    }
    Ok(())
}

/// Receives the continuation messages of a transfer into `buf` (whose
/// first chunk has already arrived), collecting descriptors into `fds`.
pub fn recv_rest(
    sock: RawFd,
    buf: *mut u8,
    size: usize,
    ndesc: usize,
    fds: &mut Vec<RawFd>,
) -> R<()> {
    recv_rest_lossy(sock, buf, size, ndesc, fds, false).map(|_| ())
}

/// `recv_rest`; with `lossy`, descriptors our table could not take are not
/// an error: every descriptor of the transfer is then closed, the data is
/// still received, and the result is true (some were dropped).
pub fn recv_rest_lossy(
    sock: RawFd,
    buf: *mut u8,
    size: usize,
    ndesc: usize,
    fds: &mut Vec<RawFd>,
    lossy: bool,
) -> R<bool> {
    let mut dropped = false;
    let count = wire::message_count(size, ndesc);
    for i in 1..count {
        let (off, len, _fs, fc) = wire::message_part(i, size, ndesc);
        let mut one = 0u8;
        let mut iov = [libc::iovec {
            // SAFETY: off+len <= size, inside buf.
            iov_base: if len > 0 {
                buf.wrapping_add(off).cast()
            } else {
                (&mut one as *mut u8).cast()
            },
            iov_len: if len > 0 { len } else { 1 },
        }];
        let mut r = sys::recv_fds(sock, &mut iov, 0, true)?;
        let want = if len > 0 { len } else { 1 };
        if r.ctrunc && !lossy {
            r.close_fds();
            return Err(libc::EMFILE);
        }
        if r.len != want || r.truncated || (!r.ctrunc && r.fds.len() != fc) {
            r.close_fds();
            return Err(libc::EPROTO);
        }
        if r.ctrunc || dropped {
            r.close_fds();
            for fd in fds.drain(..) {
                sys::close_received(fd);
            }
            dropped = true;
        }
        fds.append(&mut r.fds);
    }
    Ok(dropped)
}
