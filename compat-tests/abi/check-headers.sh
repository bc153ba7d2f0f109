#!/bin/sh
# check-headers.sh - header ABI checks for libdoor.
#
# Usage: compat-tests/abi/check-headers.sh [REPO_ROOT]
#   REPO_ROOT defaults to the parent of this script's directory's parent.
#   CC and CXX may be overridden (default gcc and g++).
#
# Checks:
#   - each public header (door.h, sys/door.h, ucred.h, stropts.h, thread.h,
#     synch.h) compiles alone, and in a TU that uses its types, as C89
#     -pedantic, C99, C11, C17, C2x and C++11/C++17, with -Wall -Wextra
#     -Werror (-Wstrict-prototypes for C);
#   - all headers together, with glibc's own headers and _GNU_SOURCE;
#   - the DOOR_*/S_*DOOR/S_IFPORT/P_MYID macros equal abi/macros.golden;
#   - layout_dump.c output equals abi/layout.golden;
#   - static_asserts.c and prototypes.c compile (and prototypes.c's check
#     really rejects a wrong prototype).
# Prints one `ok: ...' or `FAIL: ...' line per check and ends with
# `N passed, N failed'; exits 1 if anything failed.

set -u

here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "${1:-$here/../..}" && pwd) || {
    echo "FAIL: repo root ${1:-} not found"
    echo "0 passed, 1 failed"
    exit 1
}
CC=${CC:-gcc}
CXX=${CXX:-g++}
INC="$ROOT/include"
ABI="$ROOT/abi"
SRC="$ROOT/compat-tests/abi"
WARN="-Wall -Wextra -Werror"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libdoor-check-headers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

passed=0
failed=0

ok() {
    echo "ok: $1"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL: $1"
    if [ -s "$tmp/log" ]; then
        head -n 20 "$tmp/log" | sed 's/^/    /'
    fi
    failed=$((failed + 1))
}

# check DESCRIPTION COMMAND...: ok if COMMAND succeeds; its output goes to the log.
check() {
    desc=$1
    shift
    if "$@" >"$tmp/log" 2>&1; then
        ok "$desc"
    else
        fail "$desc"
    fi
}

# --- one TU per header: the bare include, and one that uses the header -----

printf '#include <door.h>\n' >"$tmp/door_h_alone.c"
cat >"$tmp/door_h_use.c" <<'EOF'
#include <door.h>
static void server(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd)
{
    (void)cookie; (void)argp; (void)n; (void)dp; (void)nd;
    (void)door_return((char *)0, 0, (door_desc_t *)0, 0);
}
/* Solaris 2.6-style procedure: size_t n_desc, passed without a cast. */
static void old_server(void *cookie, char *argp, size_t n, door_desc_t *dp, size_t nd)
{
    (void)cookie; (void)argp; (void)n; (void)dp; (void)nd;
}
int use_door_h(void);
int use_door_h(void)
{
    door_arg_t arg;
    struct door_info info;
    door_desc_t desc;
    door_cred_t cred;
    ucred_t *uc = 0;
    door_server_procedure_t *proc = server;
    int d = door_create(proc, (void *)0, DOOR_UNREF | DOOR_REFUSE_DESC);
    int od = door_create(old_server, (void *)0, 0) + door_create(&old_server, (void *)0, 0)
        + door_xcreate(old_server, (void *)0, 0, 0, 0, (void *)0, 0);
    desc.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
    desc.d_data.d_desc.d_descriptor = d;
    arg.data_ptr = 0;
    arg.data_size = 0;
    arg.desc_ptr = &desc;
    arg.desc_num = 1;
    arg.rbuf = 0;
    arg.rsize = 0;
    if (door_info(d, &info) == 0 && (info.di_attributes & DOOR_LOCAL) != 0)
        (void)door_call(d, &arg);
    (void)door_cred(&cred);
    if (door_ucred(&uc) == 0)
        ucred_free(uc);
    return (int)sizeof(struct door_results) + S_ISDOOR(0150000) + (int)cred.dc_pid + od;
}
EOF

printf '#include <sys/door.h>\n' >"$tmp/sys_door_h_alone.c"
cat >"$tmp/sys_door_h_use.c" <<'EOF'
#include <sys/door.h>
int use_sys_door_h(void);
int use_sys_door_h(void)
{
    struct door_desc d;
    door_info_t i;
    door_arg_t a;
    door_return_desc_t r;
    struct door_results res;
    door_ptr_t p = 0;
    door_id_t id = 0;
    d.d_attributes = DOOR_DESCRIPTOR;
    d.d_data.d_desc.d_id = id;
    d.d_data.d_resv[4] = 0;
    i.di_proc = p;
    i.di_attributes = DOOR_ATTR_MASK;
    a.desc_ptr = &d;
    r.desc_ptr = &d;
    r.desc_num = 1;
    res.pc = 0;
    res.door_info = &i;
    return (int)(sizeof d + sizeof a + sizeof r + sizeof res) + DOOR_QUERY + DOOR_PARAM_DATA_MIN
        + (DOOR_UNREF_DATA != 0) + (int)(S_IFDOOR == 0150000) + (S_IFPORT != 0);
}
EOF

printf '#include <ucred.h>\n' >"$tmp/ucred_h_alone.c"
cat >"$tmp/ucred_h_use.c" <<'EOF'
#include <ucred.h>
long use_ucred_h(void);
long use_ucred_h(void)
{
    const gid_t *groups = 0;
    ucred_t *uc = ucred_get(P_MYID);
    const priv_set_t *ps;
    m_label_t *lab;
    bslabel_t *bl;
    zoneid_t z;
    projid_t pj;
    uint_t fl;
    long n;
    if (uc == 0)
        return -1;
    ps = ucred_getprivset(uc, "Effective");
    lab = ucred_getlabel(uc);
    bl = lab;
    z = ucred_getzoneid(uc);
    pj = ucred_getprojid(uc);
    fl = ucred_getpflags(uc, 1);
    n = (long)ucred_geteuid(uc) + (long)ucred_getegid(uc) + ucred_getgroups(uc, &groups)
        + (long)ucred_getpid(uc) + (long)ucred_size() + z + pj + (long)fl
        + (ps != 0) + (bl != 0);
    ucred_free(uc);
    return n + getpeerucred(0, &uc);
}
EOF

printf '#include <stropts.h>\n' >"$tmp/stropts_h_alone.c"
cat >"$tmp/stropts_h_use.c" <<'EOF'
#include <stropts.h>
int use_stropts_h(int fd);
int use_stropts_h(int fd)
{
    int (*io)(int, unsigned long, ...) = ioctl;
    (void)io;
    if (isastream(fd) == 0 && fattach(fd, "/tmp/x") == 0)
        return fdetach("/tmp/x");
    return -1;
}
EOF

# All headers at once, in an awkward order, next to glibc's own headers.
cat >"$tmp/all_h.c" <<'EOF'
#define _GNU_SOURCE 1
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stropts.h>
#include <thread.h>
#include <synch.h>
#include <time.h>
#include <ucred.h>
#include <sys/door.h>
#include <door.h>
#include <sys/door.h>
#include <ucred.h>
#include <stdio.h>
int use_all(void);
int use_all(void)
{
    struct ucred linux_cred; /* glibc's own struct ucred must not clash */
    struct stat st;
    linux_cred.pid = 0;
    st.st_mode = S_IFDOOR | 0600;
    return S_ISDOOR(st.st_mode) && !S_ISREG(st.st_mode) && linux_cred.pid == 0
        && door_revoke(-1) && S_IFMT == 0xF000;
}
EOF

printf '#include <thread.h>\n' >"$tmp/thread_h_alone.c"
cat >"$tmp/thread_h_use.c" <<'EOF'
#include <thread.h>
static void *start(void *arg) { return arg; }
static void dtor(void *v) { (void)v; }
int use_thread_h(void);
int use_thread_h(void)
{
    thread_t t = 0, dep = 0;
    thread_key_t k = THR_ONCE_KEY;
    void *st = 0;
    int r = thr_create((void *)0, 0, start, (void *)0,
        THR_BOUND | THR_NEW_LWP | THR_DETACHED | THR_SUSPENDED | THR_DAEMON, &t);
    r += thr_continue(t) + thr_join(0, &dep, &st) + thr_kill(t, 0) + thr_main();
    r += thr_keycreate(&k, dtor) + thr_keycreate_once(&k, dtor) + thr_setspecific(k, st);
    r += thr_getspecific(k, &st) + thr_getconcurrency() + thr_setconcurrency(2);
    thr_yield();
    return r + (int)thr_self() + (int)THR_MIN_STACK;
}
EOF

printf '#include <synch.h>\n' >"$tmp/synch_h_alone.c"
cat >"$tmp/synch_h_use.c" <<'EOF'
#include <synch.h>
static mutex_t m = DEFAULTMUTEX;
static cond_t cv = DEFAULTCV;
static sema_t sem = DEFAULTSEMA;
static rwlock_t rw = DEFAULTRWLOCK;
int use_synch_h(timestruc_t *ts);
int use_synch_h(timestruc_t *ts)
{
    mutex_t pm;
    int r = mutex_init(&pm, USYNC_PROCESS | LOCK_ERRORCHECK | LOCK_RECURSIVE | LOCK_ROBUST, (void *)0);
    r += mutex_init(&pm, USYNC_THREAD | LOCK_NORMAL | LOCK_PRIO_NONE | LOCK_PRIO_INHERIT, (void *)0);
    r += mutex_init(&pm, USYNC_PROCESS_ROBUST | LOCK_PRIO_PROTECT | LOCK_STALL_NP, (void *)0);
    r += mutex_lock(&m) + mutex_trylock(&m) + mutex_unlock(&m) + mutex_consistent(&pm);
    r += mutex_destroy(&pm) + cond_init(&cv, USYNC_THREAD, (void *)0);
    r += cond_wait(&cv, &m) + cond_timedwait(&cv, &m, ts) + cond_reltimedwait(&cv, &m, ts);
    r += cond_signal(&cv) + cond_broadcast(&cv) + cond_destroy(&cv);
    r += sema_init(&sem, 1U, USYNC_PROCESS, (void *)0) + sema_wait(&sem) + sema_trywait(&sem);
    r += sema_post(&sem) + sema_destroy(&sem);
    r += rwlock_init(&rw, USYNC_THREAD, (void *)0) + rw_rdlock(&rw) + rw_wrlock(&rw);
    r += rw_tryrdlock(&rw) + rw_trywrlock(&rw) + rw_unlock(&rw) + rwlock_destroy(&rw);
    return r;
}
EOF

for h in door_h sys_door_h ucred_h stropts_h thread_h synch_h; do
    for kind in alone use; do
        tu="$tmp/${h}_$kind.c"
        name=$(echo "$h" | sed 's/_h$/.h/; s/^sys_/sys\//')
        for std in c89 c99 c11 c17 c2x; do
            check "$name $kind: $CC -std=$std -pedantic" \
                "$CC" -std="$std" -pedantic -Wstrict-prototypes $WARN -I"$INC" -c "$tu" \
                -o "$tmp/out.o"
        done
        for std in c++11 c++17; do
            check "$name $kind: $CXX -x c++ -std=$std -pedantic" \
                "$CXX" -x c++ -std="$std" -pedantic $WARN -I"$INC" -c "$tu" -o "$tmp/out.o"
        done
    done
done

for std in c89 c11 c2x; do
    check "all headers + glibc headers (_GNU_SOURCE): $CC -std=$std" \
        "$CC" -std="$std" -Wstrict-prototypes $WARN -I"$INC" -c "$tmp/all_h.c" -o "$tmp/out.o"
done
check "all headers + glibc headers (_GNU_SOURCE): $CXX -x c++ -std=c++17" \
    "$CXX" -x c++ -std=c++17 $WARN -I"$INC" -c "$tmp/all_h.c" -o "$tmp/out.o"

# --- macros ----------------------------------------------------------------

macros() {
    "$CC" -dM -E -I"$INC" "$INC/door.h" >"$tmp/dM" || return 1
    grep -E '^#define (DOOR_|S_IFDOOR|S_ISDOOR|S_IFPORT|P_MYID)' "$tmp/dM" | LC_ALL=C sort \
        >"$tmp/macros"
    diff -u "$ABI/macros.golden" "$tmp/macros"
}
check "macros of door.h equal abi/macros.golden" macros

# --- layout ----------------------------------------------------------------

layout() {
    "$CC" -std=c11 -pedantic $WARN -I"$INC" "$SRC/layout_dump.c" -o "$tmp/layout_dump" &&
        "$tmp/layout_dump" >"$tmp/layout" &&
        diff -u "$ABI/layout.golden" "$tmp/layout"
}
check "layout_dump output equals abi/layout.golden" layout

# --- static asserts and prototypes ------------------------------------------

for std in c11 c17 c2x; do
    check "static_asserts.c: $CC -std=$std" \
        "$CC" -std="$std" -pedantic $WARN -I"$INC" -c "$SRC/static_asserts.c" -o "$tmp/out.o"
done

for std in c89 c11; do
    check "prototypes.c: $CC -std=$std -Werror=incompatible-pointer-types" \
        "$CC" -std="$std" -pedantic $WARN -Werror=incompatible-pointer-types -I"$INC" \
        -c "$SRC/prototypes.c" -o "$tmp/out.o"
done

# The prototype check must be able to fail: a wrong type has to be rejected.
cat >"$tmp/bad_proto.c" <<'EOF'
#include <door.h>
int (*const p_bad)(int, door_arg_t *, int) = door_call;
EOF
wrong_proto_rejected() {
    if "$CC" -std=c11 -Werror=incompatible-pointer-types -I"$INC" -c "$tmp/bad_proto.c" \
        -o "$tmp/out.o"; then
        echo "a door_call pointer of the wrong type was accepted"
        return 1
    fi
    return 0
}
check "prototype check rejects a wrong prototype" wrong_proto_rejected

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
