#!/bin/sh
# check-elf.sh - ELF checks of the built library (exported names, SONAME).
#
# Usage: compat-tests/abi/check-elf.sh LIBPATH [REPO_ROOT]
#   LIBPATH    the shared library, e.g. target/release/libdoor.so
#   REPO_ROOT  defaults to the parent of this script's directory's parent
#
# Checks:
#   - the dynamic symbols it defines are exactly abi/symbols.txt
#     (nm -D --defined-only LIBPATH | awk '{print $3}' | sort);
#   - its DT_SONAME is libdoor.so.1.
# Prints one `ok: ...' or `FAIL: ...' line per check and ends with
# `N passed, N failed'; exits 1 if anything failed.

set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 LIBPATH [REPO_ROOT]" >&2
    exit 2
fi
LIB=$1
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "${2:-$here/../..}" && pwd) || exit 2
SYMBOLS="$ROOT/abi/symbols.txt"
SONAME=libdoor.so.1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libdoor-check-elf.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

passed=0
failed=0
ok() {
    echo "ok: $1"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $1"
    [ -s "$tmp/log" ] && head -n 40 "$tmp/log" | sed 's/^/    /'
    failed=$((failed + 1))
}

if [ ! -f "$LIB" ]; then
    : >"$tmp/log"
    fail "$LIB does not exist"
    echo "$passed passed, $failed failed"
    exit 1
fi

# Exported symbols.  Undefined ones (libc imports) are excluded by
# --defined-only; symbol versions (name@VER), if any ever appear, are kept so
# they show up in the diff.
: >"$tmp/log"
if nm -D --defined-only "$LIB" >"$tmp/nm" 2>"$tmp/log"; then
    awk '{print $3}' "$tmp/nm" | LC_ALL=C sort >"$tmp/exported"
    LC_ALL=C sort "$SYMBOLS" >"$tmp/expected"
    if diff -u "$tmp/expected" "$tmp/exported" >"$tmp/log"; then
        ok "exported symbols of $LIB equal abi/symbols.txt ($(wc -l <"$tmp/expected") names)"
    else
        fail "exported symbols of $LIB differ from abi/symbols.txt (- missing, + extra)"
    fi
else
    fail "nm -D --defined-only $LIB"
fi

# SONAME.
: >"$tmp/log"
if readelf -d "$LIB" >"$tmp/dyn" 2>"$tmp/log"; then
    got=$(sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p' "$tmp/dyn")
    if [ "$got" = "$SONAME" ]; then
        ok "SONAME of $LIB is $SONAME"
    else
        echo "SONAME is '${got:-<none>}'" >"$tmp/log"
        fail "SONAME of $LIB is not $SONAME"
    fi
else
    fail "readelf -d $LIB"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
