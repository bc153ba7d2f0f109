#!/bin/bash
# guest.sh - build the door module and its tests, boot Debian's kernel under
# qemu (software emulation), load the module, run the tests there, unload it,
# and turn the guest's verdict into this script's exit status.
#
# The last line printed is "N passed, N failed" (the guest's totals).
#
# Environment (all optional):
#   KVER       kernel ABI to build and boot (default: the one the
#              linux-headers-amd64 metapackage points at)
#   SEED       fuzzer seed (default: derived from the time; printed)
#   FUZZ_SECS  fuzzer run time inside the guest (default 40)
#   SMP, MEM   guest CPUs (2) and memory in MiB (1024)
#   TIMEOUT    host-side limit on the whole boot in seconds (900)
#   ONLY       space-separated test names to run (default: all)
#   COMPAT     "all" (default): after the module's own tests, run libdoor's
#              compat suite (compat-tests/, against libdoor.so) with
#              LIBDOOR_BACKEND=kernel; "none": do not
#   NO_INSTALL=1  never call apt-get (fail if something is missing)
#   BENCH=1    benchmarks instead of tests (`make bench-kmod`): the guest
#              runs kmod/scripts/bench-guest.sh (benches/doorbench under
#              both backends, futex, pipe, memcpy; BENCH_REPS and
#              BENCH_REP_MS as for `make bench`) and prints RESULT lines
#
# As root it installs what it needs from the Debian archive first:
# qemu-system-x86, linux-headers-amd64, busybox-static, cpio (and a
# compiler).  The kernel image itself is only downloaded and unpacked into
# the build directory, never installed, so no initramfs-tools run and the
# host's /boot stays as it is.  Nothing here needs KVM: the machine's own
# kernel is never asked to load the module.
set -euo pipefail
KMOD=$(cd "$(dirname "$0")/.." && pwd)
B=$KMOD/build
mkdir -p "$B"
log() { printf 'kmod: %s\n' "$*"; }
start_all=$(date +%s.%N)

# ---- 1. packages --------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
dpkg -s linux-headers-amd64 >/dev/null 2>&1 || need+=(linux-headers-amd64)
command -v gcc >/dev/null || need+=(gcc)
dpkg -s gcc-multilib >/dev/null 2>&1 || need+=(gcc-multilib)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
command -v strip >/dev/null || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
	if [ "${NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ]; then
		echo "kmod: missing packages: ${need[*]} (run as root to install them)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
	log "installing: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# --no-install-recommends: recommends would pull in qemu-utils of the
	# same release, which can conflict with a newer qemu-utils from
	# backports already on the machine.
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

KVER=${KVER:-$(dpkg-query -W -f='${Depends}' linux-headers-amd64 |
	sed -E 's/^linux-headers-([^ ,]+).*/\1/')}
KDIR=/lib/modules/$KVER/build
[ -d "$KDIR" ] || { echo "kmod: no headers at $KDIR" >&2; echo "0 passed, 1 failed"; exit 1; }
log "kernel $KVER"

# ---- 2. the kernel to boot (cached in the build directory) --------------
VMLINUX=$B/vmlinux-$KVER
if [ ! -f "$VMLINUX" ]; then
	bz=/boot/vmlinuz-$KVER
	if [ ! -f "$bz" ]; then
		bz=$B/img-$KVER/boot/vmlinuz-$KVER
		if [ ! -f "$bz" ]; then
			log "downloading linux-image-$KVER"
			(cd "$B" && rm -f linux-image-"$KVER"_*.deb &&
				apt-get download -q -o APT::Sandbox::User=root "linux-image-$KVER" >/dev/null)
			rm -rf "$B/img-$KVER"
			# only the kernel is needed, not its modules
			dpkg-deb --fsys-tarfile "$B"/linux-image-"$KVER"_*.deb |
				tar -x -C "$B" --transform "s|^\./boot|img-$KVER/boot|" \
					--wildcards "./boot/vmlinuz-*"
			rm -f "$B"/linux-image-"$KVER"_*.deb
		fi
	fi
	log "extracting the ELF kernel from $bz"
	if ! python3 "$KMOD/scripts/extract-vmlinux.py" "$bz" "$VMLINUX"; then
		# not XZ (newer Debian kernels use zstd): boot the compressed
		# image itself, which only costs the in-guest decompression
		log "booting the compressed image instead"
		cp "$bz" "$VMLINUX"
	fi
fi

# ---- 3. module and guest programs ----------------------------------------
make -s -C "$KMOD" KVER="$KVER" module
P=$B/payload
rm -rf "$P"
mkdir -p "$P/tests"
cp "$KMOD/door.ko" "$P/door.ko"
strip --strip-debug "$P/door.ko"
CFLAGS_T="-O2 -g0 -D_GNU_SOURCE -Wall -Wextra -Werror -static -pthread -I$KMOD/include/uapi -I$KMOD/tests -I$KMOD/../compat-tests"
for src in "$KMOD"/tests/t_*.c "$KMOD"/tests/doorfuzz.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	gcc $CFLAGS_T -o "$P/tests/$name" "$src"
done
# 32-bit callers (the kernel's compat ioctl path): the module's own tests
# again as 32-bit programs (NAME_m32), and the 32-bit side of t_abi32.
if echo 'int main(void){return 0;}' | gcc -m32 -static -x c -o "$B/m32probe" - 2>/dev/null; then
	for name in t_basic t_cred t_desc t_life t_onecopy t_overflow t_release t_signal t_unref; do
		gcc -m32 $CFLAGS_T -o "$P/tests/${name}_m32" "$KMOD/tests/$name.c"
	done
	gcc -m32 $CFLAGS_T -o "$P/tests/abi32-peer" "$KMOD/tests/t_abi32.c"
else
	log "no 32-bit compiler (gcc-multilib): 32-bit callers not tested"
fi

# The compat suite, dynamically linked against libdoor.so, with the shared
# libraries it needs (found with ldd) copied next to it.
COMPAT=${COMPAT:-all}
[ "${BENCH:-0}" = 1 ] && COMPAT=none
ROOT=$(cd "$KMOD/.." && pwd)
if [ "$COMPAT" != none ]; then
	make -s -C "$ROOT" lib >/dev/null
	make -s -C "$ROOT/compat-tests" BUILD="$B/compat" all >/dev/null
	mkdir -p "$P/compat" "$P/lib"
	cp "$B"/compat/t_* "$P/compat/"
	cp "$ROOT/compat-tests/kernel-skip" "$P/compat/SKIP"
	cp -r "$ROOT/compat-tests/expected" "$P/compat/expected"
	cp -L "$ROOT/target/release/libdoor.so" "$P/lib/libdoor.so.1"
fi

# Benchmarks: doorbench against libdoor.so (the userspace backend and the
# kernel backend, chosen per run by LIBDOOR_BACKEND), and Debian's binder
# module (binder_linux.ko, from the same kernel package; cached) for the
# binder comparison.
if [ "${BENCH:-0}" = 1 ]; then
	BINDER=$B/img-$KVER/binder_linux.ko
	if [ ! -f "$BINDER" ]; then
		log "downloading linux-image-$KVER for its binder module"
		(cd "$B" && rm -f linux-image-"$KVER"_*.deb &&
			apt-get download -q -o APT::Sandbox::User=root "linux-image-$KVER" >/dev/null &&
			dpkg-deb --fsys-tarfile linux-image-"$KVER"_*.deb |
			tar -x -O --wildcards "./lib/modules/*/kernel/drivers/android/binder_linux.ko" \
				>"$BINDER.tmp" && [ -s "$BINDER.tmp" ] && mv "$BINDER.tmp" "$BINDER") ||
			log "no binder module: the binder comparison is skipped"
		rm -f "$B"/linux-image-"$KVER"_*.deb "$BINDER.tmp"
	fi
	make -s -C "$ROOT" lib >/dev/null
	rm -f "$ROOT/benches/doorbench"
	make -s -C "$ROOT/benches" doorbench >/dev/null
	mkdir -p "$P/bench" "$P/lib"
	cp "$ROOT/benches/doorbench" "$KMOD/scripts/bench-guest.sh" "$P/bench/"
	[ -f "$BINDER" ] && cp "$BINDER" "$P/bench/"
	cp -L "$ROOT/target/release/libdoor.so" "$P/lib/libdoor.so.1"
fi

# ---- 4. initramfs ----------------------------------------------------------
R=$B/root
rm -rf "$R"
mkdir -p "$R"/{bin,proc,sys,dev,tmp,run}
cp /bin/busybox "$R/bin/busybox"
file_is_static() { ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'INTERP'; }
file_is_static "$R/bin/busybox" || {
	echo "kmod: /bin/busybox is not static (install busybox-static)" >&2
	echo "0 passed, 1 failed"; exit 1; }
ln -s busybox "$R/bin/sh"
cp "$KMOD/scripts/init.sh" "$R/init"
chmod 755 "$R/init"
cp -r "$P" "$R/payload"
if [ "$COMPAT" != none ]; then
	# Files some compat tests name by their build-time paths (set-user-ID
	# and preload helpers, the preload library, expected outputs): the
	# same paths inside the guest (init.sh copies /mirror over / once
	# /tmp is mounted: the tree may lie under /tmp).
	for f in "$B/compat/savedids-helper" "$B/compat/preload" \
		"$ROOT/target/release/libdoor_preload.so" "$ROOT/compat-tests/preload/expected"; do
		mkdir -p "$R/mirror$(dirname "$f")"
		cp -rL "$f" "$R/mirror$f"
	done
fi
if [ -d "$P/lib" ]; then
	# libdoor where the loader looks by default too: helpers run with a
	# clean environment (no LD_LIBRARY_PATH), and doorbench, must find it.
	mkdir -p "$R/usr/lib/x86_64-linux-gnu"
	cp -L "$ROOT/target/release/libdoor.so" "$R/usr/lib/x86_64-linux-gnu/libdoor.so.1"
fi
if [ -d "$P/lib" ]; then
	# the dynamic loader and the C runtime, where the binaries look for them
	for lib in $(ldd "$P"/compat/t_* "$P"/bench/doorbench "$P/lib/libdoor.so.1" "$B"/compat/preload/* \
		"$ROOT/target/release/libdoor_preload.so" 2>/dev/null |
		grep -v ':$' | grep -v libdoor | grep -oE '/[^ ]+\.so[^ ]*' | sort -u); do
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
fi
(cd "$R" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$B/initramfs.cpio.gz"

# ---- 5. boot --------------------------------------------------------------
SEED=${SEED:-$(($(date +%s) % 1000000))}
FUZZ_SECS=${FUZZ_SECS:-40}
SMP=${SMP:-2}
MEM=${MEM:-1024}
TIMEOUT=${TIMEOUT:-900}
append="console=ttyS0 quiet panic=-1 oops=panic panic_on_warn=1 no_timer_check"
# no_timer_check: on a loaded host the emulated timer can look broken to
# the kernel's early IO-APIC check, which then panics at boot.
append+=" softlockup_panic=1 hung_task_panic=1 hung_task_timeout_secs=120"
append+=" door_seed=$SEED door_fuzz_secs=$FUZZ_SECS"
[ -n "${ONLY:-}" ] && append+=" door_only=${ONLY// /,}"
[ "$COMPAT" != none ] && append+=" door_compat=1"
[ "${BENCH:-0}" = 1 ] &&
	append+=" door_bench=1 door_only=none BENCH_REPS=${BENCH_REPS:-5} BENCH_REP_MS=${BENCH_REP_MS:-200}"
log "booting (seed $SEED, fuzz ${FUZZ_SECS}s, smp $SMP)"
start=$(date +%s.%N)
set +e
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m "$MEM" \
	-smp "$SMP" -nographic -no-reboot -nic none -kernel "$VMLINUX" \
	-initrd "$B/initramfs.cpio.gz" -append "$append" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	</dev/null >"$B/serial.log" 2>&1
rc=$?
set -e
end=$(date +%s.%N)
tr -d '\r' <"$B/serial.log" |
	sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' >"$B/serial.txt"
# The guest's own lines (everything after the kernel hands over to init).
sed -n '/guest: start/,$p' "$B/serial.txt" | grep -v 'guest: start' || true
if [ "$rc" != 33 ] && [ "$rc" != 35 ]; then
	echo "--- last 60 lines of the serial console:"
	tail -60 "$B/serial.txt"
fi
line=$(grep -E '^kmod-guest: [0-9]+ passed, [0-9]+ failed$' "$B/serial.txt" | tail -1 || true)
case $rc in
33) verdict=PASS ;;
35) verdict=FAIL ;;
0) verdict="FAIL (the guest stopped without a verdict: panic, oops or warning; see $B/serial.txt)" ;;
124 | 137) verdict="FAIL (no verdict after ${TIMEOUT}s)" ;;
*) verdict="FAIL (qemu exit status $rc)" ;;
esac
awk -v a="$start_all" -v s="$start" -v e="$end" -v v="$verdict" -v seed="$SEED" \
	'BEGIN { printf "kmod: boot %.1fs, total %.1fs, seed %s, verdict %s\n", e - s, e - a, seed, v }'
if [ -n "$line" ] && [ "$rc" = 33 ]; then
	echo "${line#kmod-guest: }"
elif [ -n "$line" ]; then
	p=$(echo "$line" | sed -E 's/^kmod-guest: ([0-9]+) passed, ([0-9]+) failed$/\1/')
	f=$(echo "$line" | sed -E 's/^kmod-guest: ([0-9]+) passed, ([0-9]+) failed$/\2/')
	[ "$f" -gt 0 ] || f=1
	echo "$p passed, $f failed"
else
	echo "0 passed, 1 failed"
fi
[ "$rc" = 33 ] && [ -n "$line" ]
