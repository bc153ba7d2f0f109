#!/bin/bash
# run.sh - run every benchmark configuration once (called by `make bench` / `make -C benches run`).
# Appends one RESULT (or FAILED/SKIPPED) line per configuration to results/raw.txt, then
# report.py prints the table and writes results/latest.json, and plot.py draws results/latency.png.
set -u
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
OUT=results/raw.txt
mkdir -p results
: > "$OUT"
T0=$(date +%s.%N)

note() { echo "# $*" >> "$OUT"; }
# run KEY... -- COMMAND...: runs one configuration with a time limit; records failure
run() {
	local key=()
	while [ "$1" != "--" ]; do key+=("$1"); shift; done
	shift
	local line
	if line=$(timeout 120 "$@" 2> results/last_stderr.log | grep '^RESULT'); then
		echo "$line" >> "$OUT"
		echo "  ok   ${key[*]}: $(sed -e 's/.* med=\([^ ]*\).*/med=\1/' <<< "$line")" >&2
	else
		echo "FAILED ${key[*]} reason=$(tr '\n ' '|_' < results/last_stderr.log | cut -c1-300)" >> "$OUT"
		echo "  FAIL ${key[*]}: $(head -c 300 results/last_stderr.log)" >&2
	fi
}

note "start $(date -u +%FT%TZ) kernel=$(uname -r) nproc=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
note "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//;s/ /_/g')"
note "reps=${BENCH_REPS:-5} rep_ms=${BENCH_REP_MS:-200} warm_ms=${BENCH_WARM_MS:-300}"

# Optional: the iceoryx2 request-response comparison (a separate Cargo project).
ICE=iceoryx2-rr/target/release/iceoryx2-rr-bench
ICE_OK=0
if [ "${BENCH_ICEORYX2:-1}" = 1 ]; then
	echo "building the iceoryx2 comparison (benches/iceoryx2-rr, first build ~1 min)..." >&2
	B0=$(date +%s)
	if (cd iceoryx2-rr && timeout 300 cargo build --release --locked --quiet) > results/iceoryx2-build.log 2>&1; then
		ICE_OK=1
		note "iceoryx2_build_s=$(($(date +%s) - B0))"
	else
		note "iceoryx2 build failed or timed out; see results/iceoryx2-build.log"
		echo "SKIPPED mech=iceoryx2_event reason=build_failed" >> "$OUT"
		echo "SKIPPED mech=iceoryx2_spin reason=build_failed" >> "$OUT"
		echo "  iceoryx2 comparison not built (see benches/results/iceoryx2-build.log)" >&2
	fi
else
	echo "SKIPPED mech=iceoryx2_event reason=disabled" >> "$OUT"
	echo "SKIPPED mech=iceoryx2_spin reason=disabled" >> "$OUT"
fi

SIZES="0 16 4096 65536 1048576 8388608"
for p in same diff none; do
	echo "placement $p" >&2
	for s in $SIZES; do run lat door "$p" "$s" -- ./doorbench lat door "$p" "$s"; done
	run lat futex "$p" -- ./doorbench lat futex "$p"
	# Spinning needs the peer on another CPU; on one CPU each half trip waits for a scheduler tick.
	[ "$p" = diff ] && run lat spin "$p" -- ./doorbench lat spin "$p"
	run lat pipe "$p" -- ./doorbench lat pipe "$p"
	run lat seqpacket "$p" -- ./doorbench lat seqpacket "$p"
	if [ "$ICE_OK" = 1 ]; then
		run lat iceoryx2_event "$p" -- "$ICE" event "$p"
		[ "$p" = diff ] && run lat iceoryx2_spin "$p" -- "$ICE" spin "$p"
	fi
	run bw memcpy "$p" -- ./doorbench memcpy "$p" 8388608
done
echo "throughput (unpinned)" >&2
for t in 1 2 4 16; do run tput door none "$t" -- ./doorbench tput none "$t"; done

T1=$(date +%s.%N)
note "end $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg) wall_s=$(awk "BEGIN{printf \"%.1f\", $T1 - $T0}")"
rm -f results/last_stderr.log

"$PYTHON" report.py "$OUT" results/latest.json || exit 1
if [ "${BENCH_PLOT:-1}" = 1 ]; then
	# matplotlib if it is installed; plot.py falls back to a hand-written SVG
	# otherwise. Nothing is installed into the user's Python unless asked
	# for with BENCH_PIP=1 (pip install --user matplotlib).
	if ! "$PYTHON" -c 'import matplotlib' 2> /dev/null; then
		if [ "${BENCH_PIP:-0}" = 1 ]; then
			"$PYTHON" -m pip install --user --quiet matplotlib > results/pip.log 2>&1 ||
				echo "pip install matplotlib failed (see benches/results/pip.log)" >&2
		fi
		"$PYTHON" -c 'import matplotlib' 2> /dev/null ||
			echo "matplotlib is not installed (apt-get install python3-matplotlib, or BENCH_PIP=1 to pip-install it for this user); writing an SVG instead of the PNG" >&2
	fi
	"$PYTHON" plot.py results/latest.json results/latency.png || echo "plot failed" >&2
fi
