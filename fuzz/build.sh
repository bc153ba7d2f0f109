#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer on stable Rust: the same
# instrumentation flags cargo-fuzz passes (SanitizerCoverage through LLVM
# options, no -Zsanitizer), for the host target only so build scripts stay
# uninstrumented. Binaries: fuzz/target/<triple>/release/{server,client,control,seeds}.
set -eu
cd "$(dirname "$0")"
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks -Cforce-frame-pointers"
cargo build --release --locked --target "$TRIPLE" --bins "$@"
echo "target/$TRIPLE/release"
