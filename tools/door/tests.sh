#!/usr/bin/env bash
# Tests of the door command: door serve, call, info, ls and bench against
# each other and against the demo's C server, checking output values and
# exit codes, error cases included. As root, the permission cases run a
# client as uid/gid 65534. Ends with "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOOR=${DOOR:-$ROOT/target/release/door}
DEMO=$ROOT/demo/door_server
T=$(mktemp -d "${TMPDIR:-/tmp}/door-tests.XXXXXX")
chmod 755 "$T"
PASS=0
FAIL=0
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
# expect NAME WANT_RC GREP_PATTERN CMD...: exit code and output (stdout and
# stderr together) must match.
expect() {
    local name=$1 want=$2 pat=$3; shift 3
    local out rc
    out=$("$@" 2>&1 | tr -d '\0'; exit "${PIPESTATUS[0]}"); rc=$?
    if [ "$rc" -ne "$want" ]; then bad "$name" "exit $rc, wanted $want: $out"; return; fi
    if [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$out"; then bad "$name" "output does not match /$pat/: $out"; return; fi
    ok "$name"
}
# Waits (at most 20 s) until PATH is a door.
wait_door() {
    local i
    for i in $(seq 1 200); do
        "$DOOR" info "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
ROOTMODE=0
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then ROOTMODE=1; fi

[ -x "$DOOR" ] || { echo "no $DOOR (run make)"; echo "0 passed, 1 failed"; exit 1; }

# --- command line
expect "--help lists the commands and exit codes" 0 "door serve|serve PATH" "$DOOR" --help
expect "no command: usage, exit 2" 2 "usage: door" "$DOOR"
expect "unknown command: exit 2" 2 "unknown command" "$DOOR" frobnicate
expect "info without PATH: exit 2" 2 "missing PATH" "$DOOR" info
expect "unknown option: exit 2" 2 "invalid option|unexpected" "$DOOR" call --bogus x
expect "serve without CMD: exit 2" 2 "missing CMD" "$DOOR" serve "$T/nocmd"
expect "call --help" 0 "usage: door call" "$DOOR" call --help
expect "--version" 0 "^door [0-9]" "$DOOR" --version

# --- door serve + door call/info/ls/bench
"$DOOR" serve --mode 0644 "$T/upper" -- tr a-z A-Z 2>"$T/upper.log" &
SP=$!; PIDS+=("$SP")
if wait_door "$T/upper"; then ok "door serve attaches a door"; else bad "door serve attaches a door" "$(cat "$T/upper.log")"; fi
expect "call --data returns the command's output" 0 "^HELLO, DOOR$" "$DOOR" call --data "hello, door" "$T/upper"
printf 'from a file' >"$T/arg"
expect "call --file" 0 "^FROM A FILE$" "$DOOR" call --file "$T/arg" "$T/upper"
expect "call --file - (standard input)" 0 "^FROM A FILE$" sh -c "'$DOOR' call --file - '$T/upper' < '$T/arg'"
expect "call --hex" 0 "^00000000  48 45 4c 4c 4f  .*\|HELLO\|$" "$DOOR" call --hex --data hello "$T/upper"
expect "call --json" 0 '"data_size":5,"data":"HELLO","data_hex":"48454c4c4f","descriptors":\[\]' "$DOOR" call --json --data hello "$T/upper"
expect "call with no argument" 0 "^$" "$DOOR" call "$T/upper"
expect "info: server pid" 0 "server pid +$SP\$" "$DOOR" info "$T/upper"
expect "info: attributes" 0 "attributes +0x40 DOOR_REFUSE_DESC" "$DOOR" info "$T/upper"
expect "info: data max from --max-input" 0 "data max +1048576" "$DOOR" info "$T/upper"
expect "info --json" 0 "\"server_pid\":$SP,.*\"attribute_names\":\\[\"DOOR_REFUSE_DESC\"\\].*\"backend\":\"user\"" "$DOOR" info --json "$T/upper"
expect "ls lists it" 0 "^$T/upper +$SP +$SP +[0-9]+ +user +DOOR_REFUSE_DESC$" "$DOOR" ls
expect "ls --json" 0 "\\{\"path\":\"$T/upper\",\"attached_by\":$SP,\"server_pid\":$SP,\"door_id\":[0-9]+,\"attributes\":64," "$DOOR" ls --json
expect "bench --count --json" 0 '"calls":200,"size":16,"backend":"user",.*"p50_ns":[0-9]+' "$DOOR" bench --count 200 --json "$T/upper"
expect "bench text" 0 "latency \\(us\\): min [0-9.]+ +p50 [0-9.]+ +p90" "$DOOR" bench --count 200 --size 8 "$T/upper"
if command -v script >/dev/null; then
    expect "bench on a terminal shows a progress line" 0 "door bench: 1/20 calls" \
        script -qec "'$DOOR' bench --count 20 '$T/upper'" /dev/null
fi
expect "call --desc on a DOOR_REFUSE_DESC door: ENOTSUP, exit 1" 1 "Operation not supported" "$DOOR" call --desc "$T/arg" "$T/upper"
expect "serve where a door is attached: exit 1" 1 "already attached" "$DOOR" serve "$T/upper" -- cat

# --- error cases
expect "info of a plain file: not a door, exit 3" 3 "$T/arg: not a door" "$DOOR" info "$T/arg"
expect "call of a plain file: not a door, exit 3" 3 "not a door" "$DOOR" call --data x "$T/arg"
expect "bench of a plain file: exit 3" 3 "not a door" "$DOOR" bench --count 5 "$T/arg"
expect "info of a missing file: exit 4" 4 "No such file or directory" "$DOOR" info "$T/missing"
expect "info of a missing process: exit 4" 4 "No such file" "$DOOR" info 999999999:3
expect "info PID:FD of a non-door: exit 3" 3 "not a door" "$DOOR" info "$$:1"

# --- commands that fail, time out or say too much
"$DOOR" serve --mode 0644 --timeout 1 --max-output 40 "$T/fail" -- sh -c 'read a; case $a in exit) exit 3;; sleep) sleep 30;; big) head -c 100 /dev/zero;; *) echo "ok $DOOR_CALLER_UID $DOOR_CALLER_PID";; esac' 2>"$T/fail.log" &
FP=$!; PIDS+=("$FP")
wait_door "$T/fail" || bad "second door serve" "$(cat "$T/fail.log")"
expect "caller's credentials in the environment" 0 "^ok $(id -u) [0-9]+$" "$DOOR" call --data x "$T/fail"
expect "command exits 3: the call fails with EINTR, exit 5" 5 "server failed the call \\(EINTR\\)" "$DOOR" call --data exit "$T/fail"
expect "command past --timeout: exit 5" 5 "EINTR" "$DOOR" call --data sleep "$T/fail"
expect "command writes more than --max-output: exit 5" 5 "EINTR" "$DOOR" call --data big "$T/fail"
expect "the door still serves after failed calls" 0 "^ok " "$DOOR" call --data again "$T/fail"
if grep -q "exit status 3" "$T/fail.log" && grep -q "timed out after 1 s" "$T/fail.log" && grep -q "more than 40 bytes" "$T/fail.log"; then
    ok "door serve logs why each call failed"
else
    bad "door serve logs why each call failed" "$(cat "$T/fail.log")"
fi
"$DOOR" serve "$T/nocmd2" -- /nonexistent/cmd 2>"$T/nocmd.log" &
NP=$!; PIDS+=("$NP")
wait_door "$T/nocmd2"
expect "a command that cannot start: exit 5" 5 "EINTR" "$DOOR" call "$T/nocmd2"
kill -TERM "$NP"; wait "$NP"; rc=$?
if [ "$rc" -eq 0 ] && [ ! -e "$T/nocmd2" ]; then ok "SIGTERM: exit 0, the file it created is gone"; else bad "SIGTERM ends door serve" "exit $rc, file $(ls "$T/nocmd2" 2>&1)"; fi

# --- concurrency: with --jobs 1 two overlapping calls both complete
"$DOOR" serve --jobs 1 "$T/one" -- sh -c 'sleep 0.2; cat' 2>"$T/one.log" &
OP=$!; PIDS+=("$OP")
wait_door "$T/one"
"$DOOR" call --data a "$T/one" >"$T/one.a" &
C1=$!
"$DOOR" call --data b "$T/one" >"$T/one.b"
r2=$?
wait "$C1"; r1=$?
if [ "$r1$r2" = 00 ] && [ "$(cat "$T/one.a")" = a ] && [ "$(cat "$T/one.b")" = b ]; then ok "--jobs 1: overlapping calls queue and both answer"; else bad "--jobs 1" "$r1 $r2 $(cat "$T/one.a" "$T/one.b")"; fi

# --- against the demo's C server (a textbook named door)
if [ -x "$DEMO" ]; then
    "$DEMO" "$T/demo" >"$T/demo.log" 2>&1 &
    DP=$!; PIDS+=("$DP")
    if wait_door "$T/demo"; then ok "demo server attached"; else bad "demo server attached" "$(cat "$T/demo.log")"; fi
    expect "call the demo server" 0 "server $DP answers pid [0-9]+ \\(euid $(id -u)\\): \"hi\" received" "$DOOR" call --data hi "$T/demo"
    expect "call the demo server passing a descriptor" 0 "\"x\" received" "$DOOR" call --data x --desc "$T/arg" "$T/demo"
    expect "info of the demo's door" 0 "server pid +$DP\$" "$DOOR" info "$T/demo"
    expect "ls shows the demo's door" 0 "^$T/demo +$DP +$DP +[0-9]+ +user +-$" "$DOOR" ls
    expect "bench the demo server" 0 '"calls":300,' "$DOOR" bench --json --count 300 "$T/demo"
    # PID:FD: find the demo's door descriptor through /proc.
    found=""
    for f in /proc/"$DP"/fd/*; do
        n=${f##*/}
        if "$DOOR" info "$DP:$n" >"$T/pidfd.out" 2>&1; then found=$n; break; fi
    done
    if [ -n "$found" ] && grep -qE "server pid +$DP\$" "$T/pidfd.out"; then ok "info PID:FD of the demo's door ($DP:$found)"; else bad "info PID:FD" "$(cat "$T/pidfd.out")"; fi
    expect "call PID:FD" 0 '"PIDFD" received' "$DOOR" call --data PIDFD "$DP:${found:-3}"
else
    bad "demo server" "no $DEMO (make -C demo)"
fi

# --- a server that returns descriptors and large results (testsrv.c)
if cc -O2 -Wall -I"$ROOT/include" -o "$T/testsrv" "$ROOT/tools/door/testsrv.c" \
    -L"$ROOT/target/release" -ldoor -pthread -Wl,-rpath,"$ROOT/target/release"; then
    "$T/testsrv" "$T/ts" >"$T/ts.log" 2>&1 &
    TP=$!; PIDS+=("$TP")
    wait_door "$T/ts" || bad "testsrv attached" "$(cat "$T/ts.log")"
    "$DOOR" call --data fd "$T/ts" >"$T/fd.out" 2>"$T/fd.err"; rc=$?
    if [ "$rc" -eq 0 ] && [ "$(cat "$T/fd.out")" = two ] &&
        grep -qE "^door: received descriptor [0-9]+: character device$" "$T/fd.err" &&
        grep -qE "^door: received descriptor [0-9]+: door \(id [0-9]+, server pid $TP\)$" "$T/fd.err"; then
        ok "call: reply descriptors' types on standard error"
    else
        bad "call: reply descriptors' types" "exit $rc: $(cat "$T/fd.out" "$T/fd.err")"
    fi
    expect "call --json: reply descriptors" 0 '"data":"two",.*"descriptors":\[\{"fd":[0-9]+,"type":"character device"\},\{"fd":[0-9]+,"type":"door \(id [0-9]+, server pid '"$TP"'\)"\}\]' "$DOOR" call --json --data fd "$T/ts"
    n=$("$DOOR" call --data big "$T/ts" | wc -c)
    if [ "$n" -eq 200000 ]; then ok "call: a 200000-byte reply (beyond the reply buffer)"; else bad "call: large reply" "got $n bytes"; fi
    expect "call --desc twice: the server gets two descriptors" 0 "^2 descriptors, x$" "$DOOR" call --desc "$T/arg" --desc /dev/null --data x "$T/ts"
    expect "call --desc of a missing file: exit 4" 4 "No such file" "$DOOR" call --desc "$T/missing" "$T/ts"
    expect "bench the test server" 0 '"calls":50,' "$DOOR" bench --json --count 50 "$T/ts"
else
    bad "testsrv compiles"
fi

# --- names other users chose: nothing is opened that could act on being
# opened, nothing blocks, nothing reaches the terminal unescaped
mkfifo "$T/fifo"
expect "info of a FIFO: not a door, exit 3, no hang" 3 "not a door \\(not opened: a FIFO\\)" timeout 10 "$DOOR" info "$T/fifo"
expect "info of a device: not a door, exit 3" 3 "not a door \\(not opened: a character device\\)" "$DOOR" info /dev/null
expect "PID:FD of a FIFO held by a process: exit 3, no hang" 3 "not opened: a FIFO" \
    sh -c "exec 7<>'$T/fifo'; timeout 10 '$DOOR' info \$\$:7"
esc=$(printf '%s/esc\033]0;TITLE\007\033[2J' "$T")
: >"$esc"
out=$("$DOOR" info "$esc" 2>&1); rc=$?
if [ "$rc" -eq 3 ] && ! grep -q $'\033' <<<"$out" && grep -qF 'esc\x1b]0;TITLE\x07\x1b[2J: not a door' <<<"$out"; then
    ok "control characters of a path are shown escaped"
else
    bad "control characters of a path are shown escaped" "exit $rc: $(cat -v <<<"$out")"
fi
esc2=$(printf '%s/door\033[31m' "$T")
"$DOOR" serve --mode 0644 "$esc2" -- cat 2>"$T/esc.log" &
PIDS+=($!)
wait_door "$esc2"
out=$("$DOOR" ls 2>&1)
if ! grep -q $'\033' <<<"$out" && grep -qF 'door\x1b[31m ' <<<"$out"; then
    ok "ls shows an attached path with control characters escaped"
else
    bad "ls shows an attached path with control characters escaped" "$(cat -v <<<"$out")"
fi

# --- another user: permissions
if [ "$ROOTMODE" = 1 ]; then
    expect "another user calls a 0644 door; the command sees its uid" 0 "^ok 65534 " as_nobody "$DOOR" call --data x "$T/fail"
    "$DOOR" serve "$T/private" -- cat 2>"$T/private.log" &
    PP=$!; PIDS+=("$PP")
    wait_door "$T/private"
    expect "door serve's default mode is 0600" 0 "^-rw------- " ls -l "$T/private"
    expect "another user cannot call a 0600 door: permission denied, exit 4" 4 "Permission denied" as_nobody "$DOOR" call --data x "$T/private"
    expect "another user cannot door info it: exit 4" 4 "Permission denied" as_nobody "$DOOR" info "$T/private"
    expect "another user cannot take its descriptor by PID:FD: exit 4" 4 "not permitted|Permission denied" as_nobody "$DOOR" info "$PP:3"
    out=$(as_nobody "$DOOR" ls 2>&1); rc=$?
    if [ "$rc" -eq 0 ] && ! grep -q "$T/private" <<<"$out" && ! grep -q "$T/upper" <<<"$out" && grep -q "of processes you may not inspect" <<<"$out"; then
        ok "another user's ls shows no path of root's doors, only a count"
    else
        bad "another user's ls" "exit $rc: $out"
    fi
    expect "another user cannot serve at root's file: exit 4" 4 "fattach .*: (Operation not permitted|Permission denied)" as_nobody "$DOOR" serve "$T/arg" -- cat
else
    echo "skip permission cases (need root and setpriv)"
fi

echo "door-tools: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
