//! libdoor: the Solaris/illumos Doors API for Linux, as a C-ABI library.
//!
//! See ARCHITECTURE.md for the map of modules and the path of a call.
#![deny(clippy::undocumented_unsafe_blocks)]

// Server procedures may door_return (never returns), pthread_exit or be
// cancelled while our frames are on the stack: unwinding must never run
// Rust landing pads, so the library is only ever built with panic=abort
// (the zlib-rs guard).
#[cfg(not(any(panic = "abort", test, doc)))]
compile_error!("libdoor must be built with panic = \"abort\" (see Cargo.toml)");

pub mod abi;
mod capi;
mod client;
mod control;
mod create;
mod door;
mod fast;
mod fault;
mod fdown;
mod fdwatch;
mod naming;
mod preload;
mod server;
mod sys;
mod thr;
mod ucred;
mod unref;
mod wire;
