#!/usr/bin/env bash
# run-tests.sh DIR - run every compat test binary in DIR.
#
# Each binary runs alone under a timeout (TEST_TIMEOUT seconds, default 300)
# and its output is shown as it goes.  Its last line "N passed, N failed" is
# added to the totals; a crash, a timeout or a missing summary line counts as
# one more failure.  A test with expected/NAME.stdout must print exactly that
# on standard output (that comparison is one more check).  The script ends
# with exactly one line "N passed, N failed" for the whole run and exits
# non-zero if anything failed.
set -u

dir=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${TEST_TIMEOUT:-300}
total_pass=0
total_fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

shopt -s nullglob
tests=("$dir"/t_*)
if [ ${#tests[@]} -eq 0 ]; then
    echo "run-tests.sh: no test binaries in $dir" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

for t in "${tests[@]}"; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    name=$(basename "$t")
    echo "=== $name"
    expected="$here/expected/$name.stdout"
    out="$work/$name.out"
    if [ -f "$expected" ]; then
        # Standard output is compared, so keep it apart from stderr.
        timeout -k 10 "$timeout_s" "$t" >"$out" 2>"$work/$name.err"
        rc=$?
        cat "$out"
        cat "$work/$name.err" >&2
    else
        timeout -k 10 "$timeout_s" "$t" 2>&1 | tee "$out"
        rc=${PIPESTATUS[0]}
    fi

    pass=0
    fail=0
    last=$(tail -n 1 "$out")
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        pass=${BASH_REMATCH[1]}
        fail=${BASH_REMATCH[2]}
    fi

    if [ -f "$expected" ]; then
        if diff -u "$expected" "$out" >"$work/$name.diff"; then
            pass=$((pass + 1))
        else
            echo "FAIL $name: standard output differs from expected/$name.stdout:"
            cat "$work/$name.diff"
            fail=$((fail + 1))
        fi
    fi

    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "FAIL $name: timed out after ${timeout_s}s"
        fail=$((fail + 1))
    elif [ "$rc" -gt 128 ]; then
        echo "FAIL $name: killed by signal $((rc - 128))"
        fail=$((fail + 1))
    elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        echo "FAIL $name: exit status $rc without a failed check"
        fail=$((fail + 1))
    elif ! [[ $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]] && ! [ -f "$expected" ]; then
        echo "FAIL $name: no summary line"
        fail=$((fail + 1))
    fi
    echo "=== $name: $pass passed, $fail failed"
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
done

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
