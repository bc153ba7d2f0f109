#!/usr/bin/env bash
# Tests the Debian packages that `make deb` built in target/deb/: lintian
# (errors and warnings fail; overrides are in debian/*.lintian-overrides
# with their reasons), what each package holds, and, unpacked into a
# scratch root with `dpkg -x`, a textbook door server and client compiled
# against them through pkg-config (PKG_CONFIG_SYSROOT_DIR) and run, with
# the packaged door command calling the server. Ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
D=$ROOT/target/deb
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; }
W=$(mktemp -d "${TMPDIR:-/tmp}/libdoor-deb.XXXXXX")
chmod 755 "$W"
SP=""
trap '[ -n "$SP" ] && kill $SP 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT

ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
VER=$(dpkg-parsechangelog -l debian/changelog -S Version)
for p in libdoor1 libdoor-dev door-tools; do
    f=$D/${p}_${VER}_${ARCH}.deb
    if [ -f "$f" ]; then ok "$p built"; else bad "$p built" "no $f (make deb)"; fi
done
KNAME=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' kmod/dkms.conf)
KVERS=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)
DKMS_DEB=$D/door-dkms_${VER}_all.deb
if [ -f "$DKMS_DEB" ]; then ok "door-dkms built"; else bad "door-dkms built" "no $DKMS_DEB (make deb)"; fi
[ "$FAIL" -eq 0 ] || { echo "deb: $PASS passed, $FAIL failed"; exit 1; }

# lintian on the binary packages (it prints info tags with -I).
if out=$(lintian -I --fail-on error,warning "$D"/libdoor_"${VER}"_"${ARCH}".changes 2>&1); then
    ok "lintian: no error or warning"
else
    bad "lintian: no error or warning" "$out"
fi
echo "$out" | grep -v '^running with root' | sed 's/^/     /'

# What each package holds.
has() {
    local pkg=$1; shift
    local list miss=""
    list=$(dpkg -c "$D/${pkg}_${VER}_${ARCH}.deb" | awk '{print $6}')
    for f in "$@"; do grep -qx "./$f" <<<"$list" || miss="$miss $f"; done
    if [ -z "$miss" ]; then ok "$pkg holds $*"; else bad "$pkg holds what it should" "missing:$miss"; fi
}
has libdoor1 "usr/lib/$MA/libdoor.so.1" "usr/lib/$MA/libdoor/libdoor_preload.so"
has libdoor-dev usr/include/door.h usr/include/sys/door.h usr/include/ucred.h usr/include/stropts.h \
    usr/include/thread.h usr/include/synch.h "usr/lib/$MA/libdoor.a" "usr/lib/$MA/libdoor.so" "usr/lib/$MA/pkgconfig/libdoor.pc"
has door-tools usr/bin/door usr/share/man/man1/door.1.gz
KS=usr/src/$KNAME-$KVERS
list=$(dpkg -c "$DKMS_DEB" | awk '{print $6}')
miss=""
for f in dkms.conf door.c compat.h Kbuild include/uapi/linux/libdoor.h; do
    grep -qx "./$KS/$f" <<<"$list" || miss="$miss $f"
done
if [ -z "$miss" ]; then ok "door-dkms holds the module source in /$KS"; else bad "door-dkms holds the module source" "missing:$miss"; fi
if dpkg-deb --ctrl-tarfile "$DKMS_DEB" | tar -xOf - ./postinst 2>/dev/null | grep -q 'dkms'; then
    ok "door-dkms's postinst hands the source to DKMS"
else
    bad "door-dkms's postinst hands the source to DKMS"
fi
if dpkg -c "$D/libdoor1_${VER}_${ARCH}.deb" | awk '{print $6}' | grep -q '^./usr/include\|\.a$'; then
    bad "libdoor1 holds no development files"
else
    ok "libdoor1 holds no development files"
fi
if dpkg -I "$D/libdoor-dev_${VER}_${ARCH}.deb" | grep -q "Depends: libdoor1 (= $VER)"; then
    ok "libdoor-dev depends on libdoor1 (= $VER)"
else
    bad "libdoor-dev depends on libdoor1 (= $VER)" "$(dpkg -I "$D/libdoor-dev_${VER}_${ARCH}.deb")"
fi
if dpkg-deb --ctrl-tarfile "$D/libdoor1_${VER}_${ARCH}.deb" | tar -tf - | grep -q symbols; then
    ok "libdoor1 ships a symbols file"
else
    bad "libdoor1 ships a symbols file"
fi

# Unpack the three into a scratch root and build the demo's textbook
# server and client against them, found only through pkg-config.
R=$W/root
mkdir -p "$R"
for p in libdoor1 libdoor-dev door-tools; do dpkg -x "$D/${p}_${VER}_${ARCH}.deb" "$R"; done
export PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_LIBDIR=$R/usr/lib/$MA/pkgconfig
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
if cf=$(pkg-config --cflags libdoor) && libs=$(pkg-config --libs libdoor) && grep -q "$R/usr/include" <<<"$cf" && grep -q -- "-L$R/usr/lib/$MA" <<<"$libs"; then
    ok "pkg-config finds libdoor in the unpacked root ($cf $libs)"
else
    bad "pkg-config finds libdoor in the unpacked root" "cflags: ${cf:-} libs: ${libs:-}"
fi
if cc -O2 -Wall -o "$W/server" demo/door_server.c $cf $libs && cc -O2 -Wall -o "$W/client" demo/door_client.c $cf $libs; then
    ok "textbook server and client compile against the packages"
else
    bad "textbook server and client compile against the packages"
fi
if cc -O2 -o "$W/client-static" demo/door_client.c $cf "$R/usr/lib/$MA/libdoor.a" $(pkg-config --static --libs-only-l libdoor | sed 's/-ldoor//') \
    && ! readelf -d "$W/client-static" | grep -q 'libdoor\.so'; then
    ok "the client links against the packaged static library"
else
    bad "the client links against the packaged static library"
fi
if readelf -d "$W/server" | grep -q 'NEEDED.*\[libdoor\.so\.1\]' && ! readelf -d "$W/server" | grep -qi 'rpath\|runpath'; then
    ok "the server needs libdoor.so.1 (the SONAME), no rpath"
else
    bad "the server needs libdoor.so.1" "$(readelf -d "$W/server")"
fi
export LD_LIBRARY_PATH=$R/usr/lib/$MA
if ldd "$W/server" | grep -q "$R/usr/lib/$MA/libdoor.so.1"; then ok "the server loads the packaged library"; else bad "the server loads the packaged library" "$(ldd "$W/server")"; fi
"$W/server" "$W/door" >"$W/server.log" 2>&1 &
SP=$!
for i in $(seq 1 200); do grep -q attached "$W/server.log" && break; sleep 0.1; done
out=$("$W/client" "$W/door" "from the package" 2>&1 | tr -d '\0')
if grep -q "server $SP answers pid [0-9]* (euid $(id -u)): \"from the package\" received" <<<"$out"; then
    ok "the packaged client calls the packaged server"
else
    bad "the packaged client calls the packaged server" "$out $(cat "$W/server.log")"
fi
out=$("$W/client-static" "$W/door" "static" 2>&1 | tr -d '\0')
if grep -q '"static" received' <<<"$out"; then ok "the static client calls it"; else bad "the static client calls it" "$out"; fi
out=$("$R/usr/bin/door" call --data "from door-tools" "$W/door" 2>&1 | tr -d '\0')
if grep -q '"from door-tools" received' <<<"$out"; then ok "the packaged door command calls it"; else bad "the packaged door command calls it" "$out"; fi
out=$("$R/usr/bin/door" info "$W/door" 2>&1)
if grep -qE "server pid +$SP$" <<<"$out"; then ok "packaged door info"; else bad "packaged door info" "$out"; fi
# Preload mode from the package: a program that does not link libdoor
# sees the attached path and a door descriptor as doors.
if cc -O2 -o "$W/doortype" compat-tests/preload/doortype.c $cf; then
    out=$(LD_PRELOAD="$R/usr/lib/$MA/libdoor/libdoor_preload.so" "$W/doortype" "$W/door" 2>&1)
    plain=$("$W/doortype" "$W/door" 2>&1)
    if grep -q ': stat: door$' <<<"$out" && grep -q ': open+fstat: door$' <<<"$out" && ! grep -q ': door$' <<<"$plain"; then
        ok "the packaged preload library shows the attached path as a door"
    else
        bad "the packaged preload library shows the attached path as a door" "with: $out
without: $plain"
    fi
else
    bad "doortype compiles against the packages"
fi
if zcat "$R/usr/share/man/man1/door.1.gz" | mandoc -Tlint -W warning; then ok "door.1 from the package is lint-clean"; else bad "door.1 from the package is lint-clean"; fi

# The packaged module source builds against kernel headers, as DKMS builds
# it (same make line as its dkms.conf), when this machine has any (make
# check-kmod installs Debian's; without them this is said, not counted).
KDIR=""
for k in /lib/modules/*/build; do [ -f "$k/Makefile" ] && KDIR=$k && break; done
if [ -n "$KDIR" ]; then
    dpkg -x "$DKMS_DEB" "$W/dkms"
    if out=$(make -C "$KDIR" M="$W/dkms/$KS" modules 2>&1) && [ -f "$W/dkms/$KS/door.ko" ]; then
        ok "door-dkms's source builds door.ko against $KDIR"
    else
        bad "door-dkms's source builds door.ko against $KDIR" "$(tail -n 20 <<<"$out")"
    fi
else
    echo "note: no kernel headers under /lib/modules: door-dkms's build is tried by make check-kmod"
fi

echo "deb: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
