//! The userspace backend: AF_UNIX SOCK_SEQPACKET sockets, a manager
//! thread per server process, and a shared-memory fast path.
pub mod client;
pub mod control;
pub mod create;
pub mod door;
pub mod fast;
pub mod naming;
pub mod server;
pub mod unref;
pub mod wire;
