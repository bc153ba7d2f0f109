#![no_main]
#[path = "common.rs"]
mod common;
libfuzzer_sys::fuzz_target!(|_d: &[u8]| { common::link_library(); });
