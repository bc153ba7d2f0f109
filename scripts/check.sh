#!/usr/bin/env bash
# Runs every test of libdoor (the README's test command, `make check`, calls
# this). Each stage prints its own results; the totals come last, as one
# line `N passed, N failed`. Exit status is non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOTAL_P=0
TOTAL_F=0
FAILED_STAGES=()
LOG=$(mktemp -d "${TMPDIR:-/tmp}/libdoor-check.XXXXXX")
trap 'rm -rf "$LOG"' EXIT

# stage NAME CMD...: run, show output, add its counts to the totals.
stage() {
    local name=$1; shift
    echo "=== $name"
    "$@" 2>&1 | tee "$LOG/out"
    local rc=${PIPESTATUS[0]}
    local p f line
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$LOG/out" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
        f=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
    elif grep -q '^test result:' "$LOG/out"; then
        p=$(grep '^test result:' "$LOG/out" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | paste -sd+ | bc)
        f=$(grep '^test result:' "$LOG/out" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | paste -sd+ | bc)
    else
        if [ "$rc" -eq 0 ]; then p=1; f=0; else p=0; f=1; fi
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    TOTAL_P=$((TOTAL_P + p))
    TOTAL_F=$((TOTAL_F + f))
    if [ "$f" -ne 0 ]; then FAILED_STAGES+=("$name"); fi
    echo "--- $name: $p passed, $f failed (exit $rc)"
}

stage "cargo fmt" cargo fmt --all --check
stage "cargo clippy" cargo clippy --release --locked -p libdoor -p libdoor-preload --all-targets -- -D warnings
# The door command (its binary only: the library refuses test builds'
# panic=unwind, so the command is tested from the outside, below).
stage "cargo clippy (door command)" cargo clippy --release --locked -p door-tools -- -D warnings
stage "cargo test" cargo test --release --locked -p libdoor -p libdoor-preload
stage "headers and ABI" bash compat-tests/abi/check-headers.sh "$ROOT"
stage "ELF symbols and SONAME" bash compat-tests/abi/check-elf.sh target/release/libdoor.so "$ROOT"
# Every compat test and the demo compile with GCC 14's default errors
# (implicit declarations, incompatible pointer types, int conversions).
gcc14() {
    make -s -C compat-tests gcc14 || return 1
    local flags="-Werror=implicit-function-declaration -Werror=incompatible-pointer-types"
    flags="$flags -Werror=int-conversion -Werror=implicit-int"
    make -s -C demo clean all EXTRA_CFLAGS="$flags" >/dev/null || return 1
}
stage "compile with GCC 14 default errors" gcc14
stage "compat (build tree)" make -s -C compat-tests check
stage "compat (fast path forced off)" env LIBDOOR_FASTPATH=0 make -s -C compat-tests check
stage "compat (ASan+UBSan)" make -s -C compat-tests SANITIZE=1 check
# A short soak (about 40 s): 8 processes x 8 threads of mixed calls, with
# RSS, descriptors and threads sampled and checked for flatness.
# `make soak` is the full run.
stage "soak (short)" make -s -C compat-tests/soak short

# Coverage-guided fuzzing of what a hostile peer sends (fuzz/README.md):
# build the libFuzzer targets, replay the committed corpus, fuzz each
# target for FUZZ_SECONDS (40 by default).
stage "fuzz (libFuzzer)" bash fuzz/check.sh

# Install into a scratch prefix, build the suite through pkg-config only.
inst() {
    local pre=$LOG/prefix
    make -s install PREFIX="$pre" >/dev/null || return 1
    local pc="$pre/lib/pkgconfig"
    PKG_CONFIG_PATH="$pc" pkg-config --exists libdoor || return 1
    make -s -C compat-tests check BUILD="$LOG/build-installed" \
        PRELOAD_SO="$pre/lib/libdoor_preload.so" \
        LIBDOOR_CFLAGS="$(PKG_CONFIG_PATH=$pc pkg-config --cflags libdoor)" \
        LIBDOOR_LIBS="$(PKG_CONFIG_PATH=$pc pkg-config --libs libdoor) -Wl,-rpath,$pre/lib"
}
stage "compat (installed tree via pkg-config)" inst

# The repository is self-contained: no file cites documents that are not
# in it (the project's private notes, their section numbers).
selfcontained() {
    local pat='doors-spec|shared/(reference|DESIGN)|CONVENTIONS(\.md| §| item)|spec §'
    local hits
    hits=$(git ls-files -z | grep -zv '^scripts/check\.sh$' |
        xargs -0 grep -InE "$pat" -- 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "references to documents outside the repository:"
        echo "$hits"
        echo "0 passed, 1 failed"
        return 1
    fi
    echo "1 passed, 0 failed"
}
stage "no references outside the repository" selfcontained

# Every man page lints clean with mandoc (warnings are failures), and every
# alias names a page that documents it.
stage "man pages (mandoc -Tlint)" bash scripts/man-lint.sh

# DESTDIR staging and uninstall leave nothing behind.
destdir() {
    local d=$LOG/dest
    make -s install PREFIX=/usr/local DESTDIR="$d" >/dev/null || return 1
    local want="usr/local/include/door.h usr/local/include/sys/door.h usr/local/include/ucred.h
        usr/local/include/stropts.h usr/local/include/thread.h usr/local/include/synch.h
        usr/local/lib/libdoor.so.1 usr/local/lib/libdoor.so
        usr/local/lib/libdoor.a usr/local/lib/libdoor_preload.so usr/local/lib/pkgconfig/libdoor.pc
        usr/local/lib/debug/usr/local/lib/libdoor.so.1.debug
        usr/local/share/man/man3/door_call.3c usr/local/share/man/man3/door_unbind.3c
        usr/local/share/man/man7/libdoor.7
        usr/local/bin/door usr/local/share/man/man1/door.1"
    local ok=0 bad=0
    for f in $want; do
        if [ -e "$d/$f" ]; then ok=$((ok + 1)); else echo "missing after install: $f"; bad=$((bad + 1)); fi
    done
    # Installed stripped, with a link to the separate debug info.
    if ! readelf -S "$d/usr/local/lib/libdoor.so.1" | grep -q '\.debug_info\|\.symtab' &&
        readelf --string-dump=.gnu_debuglink "$d/usr/local/lib/libdoor.so.1" | grep -q 'libdoor.so.1.debug'; then
        ok=$((ok + 1))
    else
        echo "libdoor.so.1 is not stripped or has no .gnu_debuglink"; bad=$((bad + 1))
    fi
    # Every man page installed, every alias resolves to an installed page.
    local m
    for m in man/*.3c man/*.7; do
        case $m in *.7) s=7 ;; *) s=3 ;; esac
        [ -f "$d/usr/local/share/man/man$s/${m#man/}" ] || { echo "man page not installed: $m"; bad=$((bad + 1)); }
    done
    for m in "$d"/usr/local/share/man/man3/*; do
        if [ -L "$m" ] && [ ! -e "$m" ]; then echo "dangling man link: $m"; bad=$((bad + 1)); fi
    done
    make -s uninstall PREFIX=/usr/local DESTDIR="$d" >/dev/null || bad=$((bad + 1))
    local left
    left=$(find "$d" -type f -o -type l | wc -l)
    if [ "$left" -eq 0 ]; then ok=$((ok + 1)); else echo "left after uninstall:"; find "$d" -type f -o -type l; bad=$((bad + 1)); fi
    echo "$ok passed, $bad failed"
    [ "$bad" -eq 0 ]
}
stage "install/uninstall with DESTDIR" destdir

if [ -d demo ]; then
    stage "demo" make -s -C demo run
    # The textbook door server and client (Solaris sources, built unmodified).
    stage "textbook" make -s -C demo textbook
fi

# The door command: serve, call, info, ls and bench against each other and
# against the demo server, error cases and another user's view included.
# Its man page must be lint-clean.
stage "door command" bash tools/door/tests.sh

# Debian packages: built by dpkg-buildpackage (make deb), then lintian,
# their contents, and a textbook server and client compiled against them
# unpacked into a scratch root (scripts/deb-test.sh).
debbuild() {
    make -s deb >"$LOG/deb.log" 2>&1 || { tail -n 40 "$LOG/deb.log"; return 1; }
    ls target/deb/*.deb
}
stage "Debian packages (make deb)" debbuild
stage "Debian packages: lintian, contents, use" bash scripts/deb-test.sh

echo
if [ ${#FAILED_STAGES[@]} -gt 0 ]; then
    echo "failed stages: ${FAILED_STAGES[*]}"
fi
echo "$TOTAL_P passed, $TOTAL_F failed"
[ "$TOTAL_F" -eq 0 ]
