#!/bin/sh
# PID 1 of the test guest: load door.ko, run every test program, check the
# module's object counters and the kernel log, unload the module, print
# "kmod-guest: N passed, N failed" and hand the verdict to qemu through the
# isa-debug-exit port.  It must never exit (PID 1 exiting panics the guest,
# which the host reports as "no verdict").
# Settings arrive as environment variables from the kernel command line:
# door_seed, door_fuzz_secs, door_only (comma-separated test names),
# door_bench (1: benchmarks instead of tests).
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# files the tests name by their build-time paths (guest.sh)
[ -d /mirror ] && cp -a /mirror/. /
echo "guest: start"
echo "guest: kernel $(uname -r), cpus $(cat /sys/devices/system/cpu/online)"
export PATH=/bin
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "guest: FAIL $*"; }

if insmod /payload/door.ko; then ok; else bad "insmod door.ko"; fi
mode=$(stat -c '%a %F' /dev/door 2>/dev/null)
if [ "$mode" = "666 character special file" ]; then ok; else bad "/dev/door is '$mode'"; fi

# `make bench-kmod` (door_bench=1, door_only=none: no test runs): each
# benchmark configuration that prints its RESULT line counts as passed.
if [ "${door_bench:-0}" = 1 ] && [ -x /payload/bench/bench-guest.sh ]; then
	echo "guest: --- bench"
	/payload/bench/bench-guest.sh >/tmp/bench.out 2>&1
	cat /tmp/bench.out
	pass=$((pass + $(grep -c '^RESULT' /tmp/bench.out)))
	fail=$((fail + $(grep -c '^FAILED' /tmp/bench.out)))
fi

want() {
	[ -z "$door_only" ] && return 0
	case ",$door_only," in *",$1,"*) return 0 ;; esac
	return 1
}
for t in /payload/tests/t_*; do
	name=$(basename "$t")
	want "$name" || continue
	echo "guest: --- $name"
	timeout 300 "$t" >/tmp/out 2>&1
	rc=$?
	grep -v '^ok \|^--- ' /tmp/out
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' /tmp/out | tail -1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#* passed, }
		f=${f%% failed}
		pass=$((pass + p))
		fail=$((fail + f))
	fi
	if [ "$rc" != 0 ] && { [ -z "$line" ] || [ "$f" = 0 ]; }; then
		bad "$name exited with status $rc"
	fi
done
if want doorfuzz && [ -x /payload/tests/doorfuzz ]; then
	echo "guest: --- doorfuzz seed ${door_seed:-1} for ${door_fuzz_secs:-40}s"
	timeout $((${door_fuzz_secs:-40} + 240)) /payload/tests/doorfuzz \
		"${door_seed:-1}" "${door_fuzz_secs:-40}" >/tmp/out 2>&1
	rc=$?
	tail -20 /tmp/out
	if [ "$rc" = 0 ]; then ok; else bad "doorfuzz exited with status $rc"; fi
	grep -v ' 0$' /sys/kernel/debug/door/stats 2>/dev/null |
		sed "s/^/guest: doorfuzz left: /"
fi

# The compat suite against libdoor.so with the kernel backend. Tests listed
# in SKIP depend on the userspace backend's own machinery: each is named
# with its reason and counts neither as passed nor as failed.
if [ "${door_compat:-0}" = 1 ] && [ -d /payload/compat ]; then
	export LD_LIBRARY_PATH=/payload/lib LIBDOOR_BACKEND=kernel
	ulimit -n 65536 # as on the host: some tests use descriptor numbers above 1024
	export LIBDOOR_TEST_EMULATED=1 # fewer iterations where a test allows
	for t in /payload/compat/t_*; do
		name=$(basename "$t")
		want "$name" || continue
		reason=$(grep "^$name " /payload/compat/SKIP | cut -d' ' -f2-)
		if [ -n "$reason" ]; then
			echo "guest: SKIP $name: $reason"
			continue
		fi
		echo "guest: --- compat $name"
		t0=$(cut -d' ' -f1 /proc/uptime)
		(cd /tmp && timeout 600 "$t" >/tmp/out 2>/tmp/err)
		rc=$?
		t1=$(cut -d' ' -f1 /proc/uptime)
		# every failed check (up to 100), then how the test ended
		grep '^FAIL' /tmp/out | head -100
		grep -v '^ok \|^--- \|^FAIL' /tmp/out | tail -30
		tail -40 /tmp/err
		line=$(tail -1 /tmp/out | grep -E '^[0-9]+ passed, [0-9]+ failed$')
		p=0
		f=0
		if [ -n "$line" ]; then
			p=${line%% passed*}
			f=${line#* passed, }
			f=${f%% failed}
		fi
		if [ -f "/payload/compat/expected/$name.stdout" ]; then
			if cmp -s "/payload/compat/expected/$name.stdout" /tmp/out; then
				p=$((p + 1))
			else
				echo "guest: $name: standard output differs from expected/$name.stdout"
				f=$((f + 1))
			fi
		fi
		pass=$((pass + p))
		fail=$((fail + f))
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			bad "$name exited with status $rc"
		elif [ -z "$line" ] && [ ! -f "/payload/compat/expected/$name.stdout" ]; then
			bad "$name printed no summary line"
		fi
		echo "guest: compat $name: $p passed, $f failed ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s)"
		# What the test left in the module (the leak check at the end
		# says whether it all went away).
		grep -v ' 0$' /sys/kernel/debug/door/stats 2>/dev/null |
			sed "s/^/guest: $name left: /"
	done
	unset LD_LIBRARY_PATH LIBDOOR_BACKEND LIBDOOR_TEST_EMULATED
fi

# Every door object, call and server record is gone once the test processes
# have exited.  A server process's record goes away from a work item after
# its address space is torn down: give it a moment.
stats=/sys/kernel/debug/door/stats
i=0
while [ $i -lt 50 ]; do
	[ -f $stats ] || break
	grep -q -v ' 0$' $stats || break
	sleep 0.2
	i=$((i + 1))
done
if [ -f $stats ]; then
	if grep -q -v ' 0$' $stats; then
		bad "objects left:"
		cat $stats
		# who still holds them: every process but this shell
		for d in /proc/[0-9]*; do
			p=${d#/proc/}
			[ "$p" = 1 ] || [ "$p" = $$ ] && continue
			# kernel threads and zombies have an empty command line
			c=$(tr '\0' ' ' <$d/cmdline 2>/dev/null)
			[ -n "$c" ] || continue
			n=$(grep -E '^(Name|State|PPid):' $d/status | tr -s '\t\n' '  ')
			echo "guest: left process $p: $n wchan $(cat $d/wchan 2>/dev/null)"
		done
	else
		ok
	fi
else
	bad "no $stats"
fi
if rmmod door; then ok; else bad "rmmod door"; fi
if [ -e /dev/door ]; then bad "/dev/door still there after rmmod"; else ok; fi
if dmesg | grep -qE 'BUG:|Oops|WARNING:|Call Trace|general protection'; then
	bad "kernel log shows a bug:"
	dmesg | tail -60
else
	ok
fi
echo "kmod-guest: $pass passed, $fail failed"
# The console is a UART: let it send what is still queued before qemu exits.
sleep 1
if [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]; then code='\020'; else code='\021'; fi
printf "$code" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
poweroff -f
while :; do sleep 1; done
