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
mod backend;
mod capi;
mod core;
mod sys;

// The folder layering (capi → core → backend → sys), checked by `cargo test`.
#[cfg(test)]
mod layering;
