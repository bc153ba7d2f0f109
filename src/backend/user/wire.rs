//! What travels between processes: door names (the abstract socket name
//! bound to a door's server end, which every copy of the door descriptor
//! sees through `getpeername`) and message headers. Everything read from
//! a peer is validated here before use.

/// The rendezvous names and messages (backend/rendezvous.rs), and the
/// message header this protocol shares with them.
pub use crate::backend::rendezvous::{HDR_LEN, Hdr, MAGIC, hex, unhex};

/// Prefix of a door's server-end name.
pub const DOOR_PREFIX: &[u8] = b"ldoor1:";
/// Prefix of a process's control socket name.
pub const CTL_PREFIX: &[u8] = b"ldoor1c:";
/// What a door's name says about it: only what a client needs without
/// asking the server, since every local user can read the name in
/// `/proc/net/unix`. The procedure and cookie (`di_proc`, `di_data`) are
/// not here: only a holder of the door learns them, from the server's
/// manager (`QueryReply`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoorName {
    /// The door id (`di_uniquifier`, `d_id`): the local registry's key,
    /// and what a received door's `door_desc_t` shows without a request.
    pub id: u64,
    /// The server process: checked against the pair's `SO_PEERCRED`, and
    /// with `nonce` the address of its control socket.
    pub pid: i32,
    /// Random per process image; tells an exec'd or recycled pid apart.
    pub nonce: u64,
    /// The creation attributes (`DOOR_CREATE_MASK`): what `door_info` and
    /// a received door's `door_desc_t` report when the server cannot be
    /// asked.
    pub attrs: u32,
    /// Which end of the door (each libdoor-made reference has its own).
    pub clone: u32,
    /// 128 random bits chosen for each end: with the other fields all
    /// predictable, they keep another user from binding an end's name
    /// before the server does.
    pub token: [u64; 2],
}

impl DoorName {
    /// `ldoor1:<id>:<pid>:<nonce>:<attrs>:<clone>:<token>` in hex (16, 8,
    /// 16, 8, 8 and 32 digits): 101 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(104);
        v.extend_from_slice(DOOR_PREFIX);
        hex(&mut v, self.id, 16);
        v.push(b':');
        hex(&mut v, self.pid as u32 as u64, 8);
        v.push(b':');
        hex(&mut v, self.nonce, 16);
        v.push(b':');
        hex(&mut v, self.attrs as u64, 8);
        v.push(b':');
        hex(&mut v, self.clone as u64, 8);
        v.push(b':');
        hex(&mut v, self.token[0], 16);
        hex(&mut v, self.token[1], 16);
        v
    }

    pub fn decode(s: &[u8]) -> Option<DoorName> {
        let rest = s.strip_prefix(DOOR_PREFIX)?;
        let mut it = rest.split(|&c| c == b':');
        let mut field = |max: usize| it.next().filter(|f| f.len() <= max);
        let id = unhex(field(16)?)?;
        let pid = unhex(field(8)?)? as u32 as i32;
        let nonce = unhex(field(16)?)?;
        let attrs = unhex(field(8)?)? as u32;
        let clone = unhex(field(8)?)? as u32;
        let t = field(32)?;
        if t.len() != 32 || pid <= 0 || it.next().is_some() {
            return None;
        }
        let token = [unhex(&t[..16])?, unhex(&t[16..])?];
        Some(DoorName {
            id,
            pid,
            nonce,
            attrs,
            clone,
            token,
        })
    }
}

/// The control socket name of a process image.
pub fn ctl_name(pid: i32, nonce: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(40);
    v.extend_from_slice(CTL_PREFIX);
    hex(&mut v, pid as u32 as u64, 8);
    v.push(b':');
    hex(&mut v, nonce, 16);
    v
}

pub const K_CALL: u32 = 1;
pub const K_REPLY: u32 = 2;
pub const K_QUERY: u32 = 3;
pub const K_QUERY_REPLY: u32 = 4;
/// The server accepts a large call: the client may send the data.
pub const K_GO: u32 = 5;
/// Control request: make a new end (a reference of its own) of a door.
pub const K_CLONE: u32 = 6;
/// Control request: set up a fast-path channel (fast.rs).
pub const K_CHAN: u32 = 7;
/// CALL flag, honoured only on the server's own injection channel: this is
/// an unreferenced notification (argp == DOOR_UNREF_DATA).
pub const F_UNREF: u32 = 2;

/// CALL flag: the client passes DOOR_RELEASE descriptors. The server
/// answers K_GO once it has accepted the call; the client closes them and
/// sends one marker byte; only then does the server run the procedure,
/// so the released descriptors are closed by then, as on illumos.
pub const F_RELEASE: u32 = 4;

/// REPLY `aux` bit: the server released descriptors and sends one more
/// byte after closing them; the client returns only after it.
pub const A_TRAILER: u64 = 1;

/// REPLY `aux` bit: the reply carries descriptors. The client says whether
/// its descriptor table took them (one byte on a call's reply channel,
/// `ACK_TAKEN` or `ACK_DROPPED`; in the channel header on the fast path);
/// the server releases its DOOR_RELEASE descriptors only if they were
/// taken, and sends the trailer (`A_TRAILER`) only then.
pub const A_ACK: u64 = 2;
pub const ACK_TAKEN: u8 = 1;
pub const ACK_DROPPED: u8 = 2;
/// How long a server thread waits for a client to say whether it took
/// the descriptors of a reply (a client that says nothing took them).
pub const ACK_MS: i32 = 5000;

/// CALL flag: the client passed `params == NULL`, no results allowed.
pub const F_NO_RESULTS: u32 = 1;

/// Bytes of payload carried by one message.
pub const CHUNK: usize = 128 * 1024;

/// Largest data size a call message may announce (the server refuses a
/// larger header).
pub const MAX_SIZE: u64 = u64::MAX / 2;

/// How long the receiver of one call's (or reply's) descriptors waits, in
/// all, for their servers to make it references of its own.
pub const DESC_MS: u64 = 1000;

/// Data messages of a transfer: one message for up to CHUNK bytes (the
/// header message itself); larger data travels only after the header
/// message, in CHUNK pieces, so the receiver can refuse it (E2BIG,
/// ENOBUFS…) before a byte of it is read from the sender's memory.
fn data_messages(size: usize) -> usize {
    if size <= CHUNK {
        1
    } else {
        1 + size.div_ceil(CHUNK)
    }
}

/// The errno a server reported for a call, as the caller's door_call
/// returns it: a value that is no errno at all (a hostile or broken
/// server) becomes EINTR, as for any server that fails a call mid-way.
pub fn peer_errno(status: u32) -> i32 {
    match status {
        1..=133 => status as i32,
        _ => libc::EINTR,
    }
}

/// Does a transfer of `size` bytes wait for the receiver's go-ahead
/// (K_GO) after its header message?
pub fn needs_go(size: usize) -> bool {
    size > CHUNK
}

/// How many messages carry `size` bytes and `ndesc` descriptors.
pub fn message_count(size: usize, ndesc: usize) -> usize {
    let by_fds = ndesc.div_ceil(crate::sys::FDS_PER_MSG).max(1);
    data_messages(size).max(by_fds)
}

/// The slice of data (offset, len) and of descriptors (start, count)
/// carried by message `i` of a transfer.
pub fn message_part(i: usize, size: usize, ndesc: usize) -> (usize, usize, usize, usize) {
    let (off, len) = if size <= CHUNK {
        if i == 0 { (0, size) } else { (size, 0) }
    } else if i == 0 {
        (0, 0)
    } else {
        let off = ((i - 1) * CHUNK).min(size);
        (off, (size - off).min(CHUNK))
    };
    let fstart = (i * crate::sys::FDS_PER_MSG).min(ndesc);
    let fcount = (ndesc - fstart).min(crate::sys::FDS_PER_MSG);
    (off, len, fstart, fcount)
}

/// Answer to a control query about a door.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct QueryReply {
    pub hdr: Hdr,
    pub attrs: u32,
    pub target: i32,
    pub data_min: u64,
    pub data_max: u64,
    pub desc_max: u64,
    /// The door's procedure and cookie (`di_proc`, `di_data`), told only
    /// to a peer that passed a descriptor of the door.
    pub proc_: u64,
    pub cookie: u64,
}

#[cfg(test)]
mod tests {

    #[test]
    fn peer_errno_is_an_errno() {
        assert_eq!(peer_errno(libc::EMFILE as u32), libc::EMFILE);
        assert_eq!(peer_errno(67_108_864), libc::EINTR);
        assert_eq!(peer_errno(0), libc::EINTR);
        assert_eq!(peer_errno(u32::MAX), libc::EINTR);
    }
    use super::*;
    #[test]
    fn name_roundtrip() {
        let n = DoorName {
            id: u64::MAX - 3,
            pid: 4242,
            nonce: 0xdead_beef,
            attrs: 0x3d3,
            clone: 7,
            token: [u64::MAX, 0x1234],
        };
        let e = n.encode();
        assert_eq!(e.len(), 100);
        assert_eq!(DoorName::decode(&e), Some(n));
        assert_eq!(DoorName::decode(b"ldoor1:zz"), None);
        // A short token, an extra field, a missing field: not a door.
        assert_eq!(DoorName::decode(&e[..e.len() - 1]), None);
        let mut bad = e.clone();
        bad.extend_from_slice(b":1");
        assert_eq!(DoorName::decode(&bad), None);
        let mut bad = e.clone();
        bad[e.len() - 33] = b'0';
        assert_eq!(DoorName::decode(&bad), None);
        // The old format (with procedure and cookie) is not accepted.
        let old = b"ldoor1:0000000000000001:00000010:0000000000000009:\
0000000000001000:0000000000002000:00000000:00000000";
        assert_eq!(DoorName::decode(old), None);
    }
    #[test]
    fn parts_cover_everything() {
        for &(size, nd) in &[
            (0usize, 0usize),
            (5, 0),
            (CHUNK, 0),
            (CHUNK + 1, 3),
            (10, 1024),
            (8 << 20, 251),
        ] {
            let n = message_count(size, nd);
            let (mut d, mut f) = (0, 0);
            for i in 0..n {
                let (off, len, fs, fc) = message_part(i, size, nd);
                assert_eq!(off, d);
                assert_eq!(fs, f);
                d += len;
                f += fc;
            }
            assert_eq!((d, f), (size, nd));
            // Large data never rides in the header message.
            let (_, len0, _, _) = message_part(0, size, nd);
            assert_eq!(len0 > 0, size > 0 && !needs_go(size));
        }
    }
    #[test]
    fn header_check() {
        let h = Hdr::new(K_CALL, 0, 10, 2);
        assert!(h.check(K_CALL, 100).is_ok());
        assert_eq!(h.check(K_REPLY, 100), Err(libc::EPROTO));
        assert_eq!(h.check(K_CALL, 5), Err(libc::EPROTO));
        let mut g = h;
        g.ndesc = 1025;
        assert_eq!(g.check(K_CALL, 100), Err(libc::EPROTO));
    }
}
