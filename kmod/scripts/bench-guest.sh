#!/bin/sh
# bench-guest.sh - run inside the test guest by init.sh when door_bench=1
# (`make bench-kmod`): every configuration of benches/doorbench once, door
# calls under the kernel backend next to the userspace backend, the
# floors (futex hand-off, pipe, memcpy) and binder, on the same CPU and on different
# CPUs, all in one boot. Prints doorbench's RESULT lines with a backend=
# field added to door lines; the host turns them into the table
# (kmod/scripts/bench-report.py).
B=/payload/bench/doorbench
run() {
	# run BACKEND ARGS...: one configuration, its RESULT line or a FAILED one
	be=$1
	shift
	out=$(LIBDOOR_BACKEND=$be timeout 300 "$B" "$@" 2>/tmp/bench.err | grep '^RESULT')
	if [ -n "$out" ]; then
		echo "$out" | sed "s/^RESULT /RESULT backend=$be /"
	else
		echo "FAILED backend=$be $* $(head -c 200 /tmp/bench.err | tr '\n' ' ')"
	fi
}
# Debian's binder driver, when guest.sh found it: one /dev/binder.
if [ -f /payload/bench/binder_linux.ko ] && insmod /payload/bench/binder_linux.ko devices=binder; then
	binder=1
else
	binder=0
	echo "BENCHNOTE binder: not available (no binder_linux.ko, or it did not load)"
fi
echo "BENCHNOTE kernel=$(uname -r) cpus=$(cat /sys/devices/system/cpu/online) reps=${BENCH_REPS:-5} rep_ms=${BENCH_REP_MS:-200}"
for p in same diff; do
	for s in 0 16 65536 8388608; do
		run kernel lat door "$p" "$s"
		run user lat door "$p" "$s"
	done
	run none lat futex "$p"
	run none lat pipe "$p"
	[ "$binder" = 1 ] && run none lat binder "$p"
	run none memcpy "$p" 8388608
done
