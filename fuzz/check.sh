#!/usr/bin/env bash
# The fuzz stage of `make check`: builds the libFuzzer targets, replays
# every committed seed, then fuzzes each target for a bounded time
# (FUZZ_SECONDS, default 40) from a scratch copy of its corpus
# (FUZZ_TARGETS="client" runs only the targets named). A crash,
# descriptor leak, hang (-timeout) or failed build fails the stage. Ends
# with one line `N passed, N failed` (one count per target, plus the build;
# a formatting error counts as a failure).
set -u
cd "$(dirname "$0")"
SECS=${FUZZ_SECONDS:-40}
TARGETS=${FUZZ_TARGETS:-server client control}
pass=0
fail=0
if ! cargo fmt --check; then
    echo "fuzz: cargo fmt --check failed"
    fail=$((fail + 1))
fi
if ! out=$(./build.sh 2>&1); then
    echo "$out" | tail -n 30
    echo "fuzz build failed"
    echo "0 passed, $((fail + 1)) failed"
    exit 1
fi
BIN=$(echo "$out" | tail -n 1)
pass=$((pass + 1))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/libdoor-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for t in $TARGETS; do
    mkdir -p "$WORK/$t" "$WORK/art-$t"
    cp corpus/"$t"/* "$WORK/$t/" 2>/dev/null
    log="$WORK/$t.log"
    secs=$SECS
    # -runs=0 replays the corpus only; then a bounded fuzzing run.
    if "$BIN/$t" -runs=0 -timeout=60 -artifact_prefix="$WORK/art-$t/" "$WORK/$t" >"$log" 2>&1 &&
        { [ "$secs" -eq 0 ] || "$BIN/$t" -max_total_time="$secs" -timeout=60 -rss_limit_mb=4096 \
            -print_final_stats=1 -artifact_prefix="$WORK/art-$t/" "$WORK/$t" >>"$log" 2>&1; }; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
        echo "fuzz $t: ok, ${execs:-?} executions in ${secs} s, $cov"
        pass=$((pass + 1))
    else
        echo "fuzz $t: FAILED"
        grep -E 'libdoor-fuzz|ERROR|SUMMARY|deadly|panicked|Test unit written' "$log" | head -n 20
        mkdir -p artifacts
        for a in "$WORK/art-$t"/*; do
            [ -e "$a" ] || continue
            cp "$a" "artifacts/$t-$(basename "$a")"
            echo "reproducer: fuzz/artifacts/$t-$(basename "$a") (replay: $BIN/$t <file>)"
        done
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
